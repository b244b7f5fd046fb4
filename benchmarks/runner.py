"""The speed suite's driver: check gradients, time every cell in fresh processes, report.

    python -m benchmarks                       # everything: 3 rounds, 2 s per cell
    python -m benchmarks --quick               # one short round, to see that it all runs
    python -m benchmarks --workloads W4,W5 --engines tinygrad_seq,numpy-floor --rounds 5

First one process runs every engine once per workload and compares its gradients with the
floor's: a mismatch is printed loudly, that cell is not timed, and the exit status is 1.
Then each (engine, workload) cell is timed by a fresh worker process, round after round,
interleaved over the cells so slow drift of the machine hits every column alike; a process
that was visibly descheduled (wall time > 1.1× CPU time) is re-run. Each round also runs, per
workload, one process in which all of that workload's cells take turns call by call: the
ratios of those turns (engine ÷ floor, engine ÷ torch) are immune to the machine's drift
between processes. The tables are printed and written to RESULTS.md (and the raw records to
results.json) in --out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from . import report
from .workloads import ENGINE_ALIASES, ENGINES, WORKLOADS

PACKAGE = __package__ or "benchmarks"
HERE = Path(__file__).resolve().parent
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


def default_out() -> Path:
    """./bench-results: a run never replaces the recorded results in benchmarks/ unless
    asked to (--out benchmarks)."""
    return Path("bench-results")


# glibc's malloc serves big blocks with a fresh mmap and trims the heap after frees, so a
# workload whose temporaries are large pays page faults on every call; these keep freed
# memory in the process instead. Every worker runs with them unless --malloc-default: the
# engine keeps freed memory in its own processes anyway (tinygrad_seq/_malloc.py, at
# import), so without them the floor's and PyTorch's processes alone would pay the faults.
MALLOC_KEEP_ENV = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}


def _worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(THREAD_ENV)
    env.update(extra or {})
    env["PYTHONWARNINGS"] = "ignore"
    if PACKAGE == "benchmarks":  # run from a checkout: the workers import it from here too
        root = str(HERE.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def run_worker(args: list[str], timeout: float, extra_env: dict[str, str] | None = None) -> dict:
    """Run `python -m <package>.worker ARGS` in a fresh process; its one JSON line."""
    cmd = [sys.executable, "-m", f"{PACKAGE}.worker", *args]
    try:
        p = subprocess.run(
            cmd, env=_worker_env(extra_env), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"status": "fail", "error": f"worker timed out after {timeout:.0f} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {
            "status": "fail",
            "error": f"worker died (exit status {p.returncode})",
            "traceback_tail": p.stderr.splitlines()[-8:],
        }
    return json.loads(lines[-1])


def _timing_options(opts: argparse.Namespace, min_reps: int) -> list[str]:
    """The options every timing worker takes, from the runner's."""
    return [
        "--budget",
        str(opts.budget),
        "--warmup",
        str(opts.warmup),
        "--min-reps",
        str(min_reps),
        "--max-reps",
        str(opts.max_reps),
        "--seed",
        str(opts.seed),
        "--backend",
        opts.backend,
    ]


def time_cell(engine: str, workload: str, opts: argparse.Namespace) -> dict:
    """One timing process for a cell, re-run while another process visibly took the CPU."""
    args = ["time", engine, workload, *_timing_options(opts, opts.min_reps)]
    best = run_worker(args, opts.timeout, opts.extra_env)
    attempts = [best]
    while report.contended(best) and len(attempts) <= opts.retries:
        time.sleep(opts.retry_wait)
        rec = run_worker(args, opts.timeout, opts.extra_env)
        attempts.append(rec)
        if rec.get("status") == "ok" and _excess(rec) < _excess(best):
            best = rec
    best.setdefault("engine", engine)
    best.setdefault("workload", workload)
    if len(attempts) > 1:
        best["attempts_ms"] = [a.get("median_ms") for a in attempts]
    return best


def pair_group(group: str, contestants: list[tuple[str, str]], opts: argparse.Namespace) -> dict:
    """One process timing every contestant of `group` in turn (see worker.pair_cells)."""
    names = ",".join(f"{e}:{w}" for e, w in contestants)
    args = ["pair", group, names, *_timing_options(opts, max(opts.min_reps, 10))]
    rec = run_worker(args, opts.timeout, opts.extra_env)
    rec.setdefault("group", group)
    return rec


def groups_of(cells: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """{base workload: its cells as (engine, workload)}: what one paired process times."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for w, e in cells:
        groups.setdefault(WORKLOADS[w].base or w, []).append((e, w))
    return groups


def _excess(rec: dict) -> float:
    return rec["median_ms"] / max(rec.get("cpu_median_ms") or rec["median_ms"], 1e-12)


# ------------------------------------------------------------------ machine and versions
def machine_info() -> dict:
    cpu, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    cpu = value.strip()
                elif key.strip() == "flags":
                    flags = [f for f in ("avx2", "avx512f", "fma") if f in value.split()]
                    break
    except OSError:  # not Linux: platform's answer will do
        pass
    return {
        "cpu": cpu + (f" ({' '.join(flags)})" if flags else ""),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg()[0],
    }


def versions(check: dict) -> str:
    import numpy as np

    parts = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        parts[-1] += f" ({blas.get('name')} {blas.get('version')})"
    except Exception:  # noqa: BLE001 - older NumPy: no dict mode
        pass
    info = check.get("info", {})
    if "torch" in info:
        parts.append(f"PyTorch {info['torch']['torch']}")
    import tinygrad_seq

    parts.append(f"tinygrad_seq {tinygrad_seq.__version__}{_git_revision()}")
    from tinygrad_seq import _native

    shared = " (the allocator serves the floor's arrays too where both run in one process)"
    return (
        ", ".join(parts)
        + f"; the engine's large products: {_product_library()}"
        + f"; compiled helpers: {_native.status()}{shared if _native.aligned() else ''}"
    )


def _product_library() -> str:
    """Who multiplies the engine's large matrices: MKL (with its version) or NumPy."""
    from tinygrad_seq import _mkl

    library = _mkl.library()
    if library != "mkl":
        return library
    import importlib.metadata

    return f"MKL {importlib.metadata.version('mkl')} (tinygrad_seq[mkl]; the floor uses NumPy's)"


def _git_revision() -> str:
    """' at commit abc1234' (+ ' with uncommitted changes to the engine or the suite') in a
    checkout, else ''."""
    root = HERE.parent
    if not (root / ".git").exists():
        return ""
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--",
                "tinygrad_seq",
                "benchmarks",
                ":(exclude)benchmarks/*.md",
                ":(exclude)benchmarks/results.json",
            ],  # (its results)
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    if not rev:
        return ""
    return f" at commit {rev}" + (
        " with uncommitted changes to the engine or the suite" if dirty else ""
    )


# ------------------------------------------------------------------ command line
def parse_args(argv: list[str] | None, prog: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Time W1–W5 (forward + backward) in tinygrad_seq, the hand-written NumPy "
        "floor and PyTorch CPU; write RESULTS.md.",
    )
    ap.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma list (default: %(default)s)"
    )
    ap.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma list (default: %(default)s; torch is skipped if not installed)",
    )
    ap.add_argument(
        "--rounds", type=int, default=None, help="fresh processes per cell (default 3, --quick 1)"
    )
    ap.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds of timed repetitions per process (default 2, --quick 0.3)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="one short round per cell: checks that everything runs (~1 min)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for RESULTS.md and results.json (default ./bench-results; "
        "--out benchmarks replaces the recorded run in a checkout)",
    )
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    ap.add_argument(
        "--no-paired",
        dest="paired",
        action="store_false",
        help="skip the paired processes (each workload's cells taking turns in one process)",
    )
    ap.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite RESULTS.md from the results.json in --out (no runs)",
    )
    ap.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    ap.add_argument(
        "--backend",
        default="numpy",
        choices=("numpy", "cupy"),
        help="the engine's backend (the floor and torch stay on the CPU)",
    )
    ap.add_argument(
        "--retries",
        type=int,
        default=None,
        help="re-runs of a contended process (default 1, --quick 0)",
    )
    ap.add_argument(
        "--malloc-default",
        action="store_true",
        help="run the workers with glibc's malloc settings as they are (the default keeps "
        "freed memory in every worker, as the engine does in its own at import; this shows "
        "what the page faults of a fresh mmap per large temporary cost the floor and PyTorch)",
    )
    ap.add_argument("--malloc-keep", action="store_true", help=argparse.SUPPRESS)  # (the default)
    ap.add_argument("--retry-wait", type=float, default=2.0, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--min-reps", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--max-reps", type=int, default=500, help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=600, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    quick = opts.quick
    for name, full, short in (
        ("rounds", 3, 1),
        ("budget", 2.0, 0.3),
        ("retries", 1, 0),
        ("warmup", 0.5, 0.1),
        ("min_reps", 10, 3),
    ):
        if getattr(opts, name) is None:
            setattr(opts, name, short if quick else full)
    if opts.malloc_default and opts.malloc_keep:
        ap.error("--malloc-default and --malloc-keep contradict each other")
    opts.extra_env = {} if opts.malloc_default else MALLOC_KEEP_ENV
    opts.workload_list = _choose(opts.workloads, list(WORKLOADS), "workload", ap)
    engines = [ENGINE_ALIASES.get(e, e) for e in opts.engines.split(",") if e]
    opts.engine_list = _choose(",".join(engines), list(ENGINES), "engine", ap)
    if opts.rounds < 1 or not 0 < opts.budget < math.inf:  # (NaN fails both)
        ap.error("--rounds must be at least 1 and --budget a positive number of seconds")
    if not any(e in WORKLOADS[w].engines for w in opts.workload_list for e in opts.engine_list):
        ap.error(
            f"nothing to time: {', '.join(opts.workload_list)} run(s) on "
            f"{', '.join(sorted({e for w in opts.workload_list for e in WORKLOADS[w].engines}))}"
            f", not on {', '.join(opts.engine_list)}"
        )
    return opts


def _choose(text: str, known: list[str], what: str, ap: argparse.ArgumentParser) -> list[str]:
    chosen = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in known]
    if unknown or not chosen:
        ap.error(
            f"unknown {what} {', '.join(unknown) or '(none given)'}; choose from {', '.join(known)}"
        )
    return [x for x in known if x in chosen]  # table order


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class OutFolderError(OSError):
    """The --out folder cannot be made or written (raised before any timing)."""


def _writable_folder(out: Path) -> None:
    """Make `out` (and its parents); an OutFolderError naming it unless files can be
    written there."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutFolderError(e.errno, e.strerror, e.filename) from None
    if not os.access(out, os.W_OK):
        raise OutFolderError(errno.EACCES, "the folder is not writable", str(out))


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    opts = parse_args(argv, prog)
    if opts.render_only:
        out = opts.out or default_out()
        try:
            results = json.loads((out / "results.json").read_text())
        except (OSError, ValueError) as e:  # missing, unreadable or not JSON: one line
            log(f"error: --render-only needs the results.json of a run in {out}: {e}")
            return 2
        page = report.render(results)
        if opts.no_write:  # the page on stdout, the folder untouched
            print(page)
            return 0
        (out / "RESULTS.md").write_text(page)
        log(f"wrote {out / 'RESULTS.md'} from {out / 'results.json'}")
        return 0
    if not opts.no_write:  # a folder that cannot be written fails now, not after the run
        _writable_folder(opts.out or default_out())  # (an OSError naming it)
    t_start = time.perf_counter()
    workloads, engines = opts.workload_list, opts.engine_list
    skipped: dict[str, str] = {}
    if "torch" in engines and importlib.util.find_spec("torch") is None:
        skipped["torch"] = (
            'PyTorch is not installed (pip install ".[bench]" in the project\'s folder)'
        )
    run_engines = [e for e in engines if e not in skipped]
    # a W4 variant needs W4's floor to compare and W4's engine cell for its ratio
    cells = [(w, e) for w in workloads for e in run_engines if e in WORKLOADS[w].engines]
    if not cells:  # only engines that are not installed
        log(f"error: nothing to time: {'; '.join(skipped.values())}")
        return 2
    machine = machine_info()
    n_proc = len(cells) * opts.rounds
    n_pair = sum(len(m) > 1 for m in groups_of(cells).values()) * opts.rounds if opts.paired else 0
    minutes = (n_proc + n_pair) * (opts.budget + opts.warmup + 1.5) / 60
    log(
        f"{prog}: {len(cells)} cells × {opts.rounds} round(s) = {n_proc} timing processes "
        f"and {n_pair} paired ones, ~{minutes:.1f} min on {machine['cores']} cores"
    )

    # 1. gradients against the floor, before any timing
    check_engines = [e for e in run_engines if e != report.FLOOR]
    check = {"results": {}}
    if check_engines:
        log("checking gradients against the floor ...")
        check = run_worker(
            [
                "check",
                ",".join(workloads),
                "--engines",
                ",".join(check_engines),
                "--seed",
                str(opts.seed),
                "--backend",
                opts.backend,
            ],
            opts.timeout,
        )
        if check.get("status") != "ok":
            log(f"ERROR: the gradient check itself failed: {check.get('error')}")
            for line in check.get("traceback_tail") or []:
                log("    " + line)
            return 1
    from .workloads import GRAD_TOLERANCE

    check["tolerance"] = GRAD_TOLERANCE["float32"]
    bad = {k: v for k, v in check["results"].items() if v.get("status") != "ok"}
    for key, r in bad.items():
        if r.get("status") == "unavailable":
            skipped[key] = r.get("error", "unavailable")
            continue
        why = r.get("error") or f"{r['rel_diff']:.2e} relative difference at {r['where']}"
        log(f"\n!!! GRADIENT CHECK FAILED for {key}: {why}\n!!! this cell will not be timed.\n")
    cells = [(w, e) for w, e in cells if f"{e}/{w}" not in bad and e not in skipped]

    # 2. timing rounds, interleaved over the cells; then, per round, each workload group in
    # one process whose contestants take turns (paired ratios)
    records: list[dict] = []
    pairs: list[dict] = []
    groups = groups_of(cells) if opts.paired else {}
    for rnd in range(1, opts.rounds + 1):
        for w, e in cells:
            rec = time_cell(e, w, opts)
            rec["round"] = rnd
            records.append(rec)
            if rec.get("status") == "ok":
                flag = " ⚠ contended" if report.contended(rec) else ""
                log(
                    f"[round {rnd}/{opts.rounds}] {w:<13} {e:<13} "
                    f"{report.fmt_ms(rec['median_ms']):>7} ms (CPU "
                    f"{report.fmt_ms(rec['cpu_median_ms'])}, {rec['reps']} reps){flag}"
                )
            else:
                log(
                    f"[round {rnd}/{opts.rounds}] {w:<13} {e:<13} "
                    f"{rec.get('status', 'fail').upper()}: {rec.get('error')}"
                )
        for group, members in groups.items():
            if len(members) < 2:
                continue
            rec = pair_group(group, members, opts)
            rec["round"] = rnd
            pairs.append(rec)
            if rec.get("status") == "ok":
                summary = report.pair_summary(rec)
                log(
                    f"[round {rnd}/{opts.rounds}] {group:<13} paired, {rec['rounds']} turns: "
                    + ", ".join(f"{k} {report.fmt_ratio(v)}" for k, v in summary.items())
                )
            else:
                log(
                    f"[round {rnd}/{opts.rounds}] {group:<13} paired "
                    f"{rec.get('status', 'fail').upper()}: {rec.get('error')}"
                )

    machine["loadavg_end"] = os.getloadavg()[0]
    results = {
        "meta": {
            "command": " ".join([prog, *argv]),
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "total_s": time.perf_counter() - t_start,
            "machine": machine,
            "versions": versions(check),
            "workloads": workloads,
            "engines": engines,
            "skipped_engines": skipped,
            "rounds": opts.rounds,
            "budget": opts.budget,
            "warmup": opts.warmup,
            "min_reps": opts.min_reps,
            "max_reps": opts.max_reps,
            "seed": opts.seed,
            "backend": opts.backend,
            "malloc": "glibc's defaults in the floor's and PyTorch's own processes (the "
            "engine's keep freed memory, set at its import)"
            if opts.malloc_default
            else "freed memory kept in every worker ("
            + ", ".join(f"{k}={v}" for k, v in MALLOC_KEEP_ENV.items())
            + "; the engine's import lowers the mmap threshold to glibc's maximum, 32 MiB, "
            "in the processes that import it)",
        },
        "check": check,
        "records": records,
        "pairs": pairs,
    }
    page = report.render(results)
    print(page)
    if not opts.no_write:
        out = opts.out or default_out()
        out.mkdir(parents=True, exist_ok=True)
        (out / "RESULTS.md").write_text(page)
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        log(f"wrote {out / 'RESULTS.md'} and {out / 'results.json'}")
    hard_failures = [v for v in bad.values() if v.get("status") != "unavailable"]
    failed = [r for r in records + pairs if r.get("status") != "ok"]
    return 1 if hard_failures or failed else 0
