"""One measurement in a fresh process; prints one JSON line for the runner.

    python -m benchmarks.worker time ENGINE WORKLOAD [--budget S] [--seed N] [--backend B]
    python -m benchmarks.worker pair W4 tinygrad_seq:W4,tinygrad_seq:W4-fused,numpy-floor:W4
    python -m benchmarks.worker check W1,W2,... --engines tinygrad_seq,torch

``time`` warms up, times repetitions for ``--budget`` seconds and reports their median (wall
and process-CPU time), the peak-RSS growth over the post-import baseline, minor page faults
per call, the tracemalloc peak of one call, and finally checks this very process's
gradients against the floor. ``pair`` times several (engine, workload) cells of one group in
this one process, a call of each in turn, for ratios that the machine's drift cannot skew.
``check`` runs each engine once per workload and compares its gradients with the floor's,
before any timing.

BLAS must be single-threaded, and its thread count is fixed when NumPy loads, so the
environment is set here before this module imports NumPy; the runner sets it too, in the
environment of every worker, which is what counts when this runs as
``tinygrad_seq.benchmarks.worker`` (the package, and NumPy with it, is imported first).
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import tracemalloc  # noqa: E402


def _rss_mib() -> float:
    """The process's peak RSS so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _current_rss_mib() -> float:
    """The process's RSS now (MiB): /proc/self/statm where there is one, else the peak."""
    try:
        with open("/proc/self/statm") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return _rss_mib()


def _import_engine(engine: str, backend: str) -> dict:
    """Import what `engine` needs (so the RSS baseline includes it); return its versions."""
    import numpy as np
    import numpy.random  # noqa: F401  (the data is drawn with it: ~7 MiB, every engine alike)

    info = {"numpy": np.__version__}
    if engine == "torch":
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process
            pass
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    elif engine == "tinygrad_seq":
        import tinygrad_seq as ts

        ts.backend.set_backend(backend)
        info.update(tinygrad_seq=ts.__version__, backend=backend)
    return info


def _tracemalloc_peak(step) -> float | None:
    """Peak bytes (MiB) that one call holds at once, as tracemalloc sees them.

    NumPy reports its array buffers to tracemalloc and Python objects are traced anyway,
    so for the engine and the floor this is the memory of the graph plus temporaries.
    PyTorch's allocator is invisible to tracemalloc: None for torch.
    """
    gc.collect()
    tracemalloc.start()
    try:
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def time_cell(args: argparse.Namespace) -> dict:
    from . import workloads

    rec: dict = {"engine": args.engine, "workload": args.workload, "pid": os.getpid()}
    rec["info"] = _import_engine(args.engine, args.backend)
    rec["rss_after_import_mib"] = _current_rss_mib()
    t0 = time.perf_counter()
    step = workloads.make(args.engine, args.workload, seed=args.seed)
    rec["setup_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    step()
    rec["first_call_ms"] = (time.perf_counter() - t0) * 1e3
    # warm-up: >= 3 calls and >= --warmup seconds (the virtual CPU needs time to settle)
    warm: list[float] = []
    while len(warm) < 3 or sum(warm) < args.warmup:
        t0 = time.perf_counter()
        step()
        warm.append(time.perf_counter() - t0)
        if warm[-1] > 1.0:
            break
    estimate = statistics.median(warm)
    reps = int(min(args.max_reps, max(args.min_reps, args.budget / max(estimate, 1e-9))))
    rec["warmup_reps"] = len(warm)

    gc.collect()
    wall, cpu = [], []
    perf, proc = time.perf_counter, time.process_time
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    cpu0, wall0 = proc(), perf()
    for _ in range(reps):
        c0 = proc()
        t0 = perf()
        step()
        t1 = perf()
        cpu.append(proc() - c0)
        wall.append(t1 - t0)
    # CPU seconds per wall second: well below 1 means another process took the core
    rec["cpu_util"] = (proc() - cpu0) / (perf() - wall0)
    rec["minflt_per_call"] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / reps
    rec["loadavg_1min"] = os.getloadavg()[0]
    ms = sorted(t * 1e3 for t in wall)
    rec.update(
        status="ok",
        reps=reps,
        median_ms=statistics.median(ms),
        min_ms=ms[0],
        p25_ms=ms[len(ms) // 4],
        p75_ms=ms[(3 * len(ms)) // 4],
        cpu_median_ms=statistics.median(cpu) * 1e3,
    )
    rec["peak_rss_mib"] = _rss_mib()
    rec["rss_growth_mib"] = rec["peak_rss_mib"] - rec["rss_after_import_mib"]
    rec["tracemalloc_peak_mib"] = None if args.engine == "torch" else _tracemalloc_peak(step)
    # the gradients this process timed must be the floor's, or the timing does not count
    check = workloads.check_against_floor(step, args.workload, seed=args.seed)
    rec["grad_check"] = check
    _fail_on_mismatch(rec, check, "")
    return rec


def _fail_on_mismatch(rec: dict, check: dict, what: str) -> None:
    """Mark `rec` failed if `check` (workloads.check_against_floor) found other gradients."""
    if not check["ok"]:
        rec["status"] = "grad-mismatch"
        rec["error"] = (
            f"{what}gradient differs from the floor's: relative {check['rel_diff']:.2e} at "
            f"{check['where']} (tolerance {check['tolerance']:.0e})"
        )


def pair_cells(args: argparse.Namespace) -> dict:
    """Every contestant of one workload group in this one process, called in turn.

    A contestant is an (engine, workload) pair sharing one base workload: e.g. the engine's
    W4 and W4-fused beside the floor's and torch's W4. Each round (a turn) runs every
    contestant in a shuffled order, so a slow phase of the machine (this VM's speed drifts
    by 10-40 % over seconds) hits all of them alike; the runner then takes per-turn ratios.
    A contestant's turn is two calls back to back, and only the second is timed: the first
    refills the caches the others' calls emptied, so each timed call runs warm, as the
    repetitions of a cell's own process do.
    """
    import random

    from . import workloads

    contestants = [c.split(":") for c in args.contestants.split(",")]
    rec: dict = {"group": args.group, "pid": os.getpid(), "info": {}}
    steps = {}
    for engine, workload in contestants:
        rec["info"].update(_import_engine(engine, args.backend))
        steps[f"{engine}:{workload}"] = workloads.make(engine, workload, seed=args.seed)
    names = list(steps)
    warm: list[float] = []  # seconds per round
    while len(warm) < 3 or sum(warm) < args.warmup:
        t0 = time.perf_counter()
        for name in names:
            steps[name]()
        warm.append(time.perf_counter() - t0)
    per_round = 2 * statistics.median(warm)  # two calls per contestant per turn
    rounds = int(min(args.max_reps, max(args.min_reps, args.budget / max(per_round, 1e-9))))

    gc.collect()
    times: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random()  # each process its own order (--seed is the data's)
    perf = time.perf_counter
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            steps[name]()  # untimed: back to warm caches after the other contestants
            t0 = perf()
            steps[name]()
            times[name].append((perf() - t0) * 1e3)
    rec.update(status="ok", rounds=rounds, times_ms=times, loadavg_1min=os.getloadavg()[0])
    for name, step in steps.items():  # the timed gradients must be the floor's
        engine, workload = name.split(":")
        if engine == "numpy-floor":
            continue
        check = workloads.check_against_floor(step, workload, seed=args.seed)
        _fail_on_mismatch(rec, check, f"{name}: ")
    return rec


def check_all(args: argparse.Namespace) -> dict:
    """Each engine once per workload, gradients against the floor (float32, full size)."""
    from . import workloads

    out: dict = {"status": "ok", "results": {}}
    for engine in args.engines.split(","):
        try:
            out.setdefault("info", {})[engine] = _import_engine(engine, args.backend)
        except ImportError as e:
            out["results"][engine] = {"status": "unavailable", "error": str(e)}
    for workload in args.workloads.split(","):
        for engine in args.engines.split(","):
            if out["results"].get(engine, {}).get("status") == "unavailable":
                continue
            if engine not in workloads.WORKLOADS[workload].engines or engine == "numpy-floor":
                continue
            key = f"{engine}/{workload}"
            try:
                step = workloads.make(engine, workload, seed=args.seed, tiny=args.tiny)
                res = workloads.check_against_floor(step, workload, seed=args.seed, tiny=args.tiny)
                res["status"] = "ok" if res["ok"] else "grad-mismatch"
            except Exception as e:  # noqa: BLE001 - reported, and the cell is not timed
                res = {
                    "status": "fail",
                    "error": f"{type(e).__name__}: {e}"[:500],
                    "traceback_tail": traceback.format_exc().splitlines()[-8:],
                }
            out["results"][key] = res
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("engine")
    t.add_argument("workload")
    t.add_argument("--budget", type=float, default=2.0, help="seconds of timed repetitions")
    t.add_argument("--warmup", type=float, default=0.5, help="minimum seconds of warm-up")
    t.add_argument("--min-reps", type=int, default=10)
    t.add_argument("--max-reps", type=int, default=500)
    pr = sub.add_parser("pair")
    pr.add_argument("group", help="the base workload the contestants share, e.g. W4")
    pr.add_argument("contestants", help="comma list of ENGINE:WORKLOAD")
    pr.add_argument("--budget", type=float, default=2.0, help="seconds of timed rounds")
    pr.add_argument("--warmup", type=float, default=0.5, help="minimum seconds of warm-up")
    pr.add_argument("--min-reps", type=int, default=10, help="fewest rounds")
    pr.add_argument("--max-reps", type=int, default=500, help="most rounds")
    c = sub.add_parser("check")
    c.add_argument("workloads")
    c.add_argument("--engines", default="tinygrad_seq,torch")
    c.add_argument("--tiny", action="store_true")
    for p in (t, pr, c):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--backend", default="numpy")
    args = ap.parse_args(argv)
    try:
        run = {"time": time_cell, "pair": pair_cells, "check": check_all}[args.cmd]
        rec = run(args)
    except BaseException as e:  # noqa: BLE001 - everything goes back to the runner as JSON
        rec = {
            "status": "fail",
            "error": f"{type(e).__name__}: {e}"[:500],
            "traceback_tail": traceback.format_exc().splitlines()[-8:],
        }
        if args.cmd == "time":
            rec.update(engine=args.engine, workload=args.workload)
        elif args.cmd == "pair":
            rec.update(group=args.group)
    sys.stdout.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
