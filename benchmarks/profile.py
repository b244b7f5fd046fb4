"""Where the engine spends its time on a workload: cProfile, summed per function and per file.

    python -m benchmarks.profile W5                 # top functions and the per-file split
    python -m benchmarks.profile W4 --calls 20 --top 30 --sort cumulative
    python -m benchmarks.profile W3 --dump w3.prof  # for snakeviz / pstats
    python -m benchmarks.profile W5 --loop 10       # no profiler: a target for py-spy, e.g.
    py-spy record -r 500 -f raw -o w5.txt -- python -m benchmarks.profile W5 --loop 10
    python -m benchmarks.profile --collapsed w5.txt # py-spy's samples per line and function

cProfile charges its own overhead to every Python call, so absolute times are inflated
(most for the engine's many tiny calls); the fractions still rank the hot spots. py-spy
samples without that distortion.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def _where(filename: str) -> str:
    """A short label for the file a function lives in."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (NumPy C calls, ufuncs, ...)"
    parts = filename.replace("\\", "/").split("/")
    for package in ("tinygrad_seq", "numpy", "benchmarks"):
        if package in parts:
            i = len(parts) - 1 - parts[::-1].index(package)
            return "/".join(parts[i:])
    return parts[-1]


def summarize(stats: pstats.Stats, top: int, sort: str) -> str:
    """The `top` functions by `sort` ('tottime' or 'cumulative'), and time per file."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1e-12  # Σ own time = profiled time
    rows = []
    per_file: dict[str, float] = {}
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in raw.items():
        where = _where(filename)
        per_file[where] = per_file.get(where, 0.0) + tottime
        rows.append((tottime, cumtime, ncalls, f"{where}:{line}({func})"))
    key = 0 if sort == "tottime" else 1
    rows.sort(key=lambda r: r[key], reverse=True)
    out = [f"{'own %':>6} {'own ms':>9} {'cum ms':>9} {'calls':>9}  function"]
    for tottime, cumtime, ncalls, name in rows[:top]:
        out.append(
            f"{100 * tottime / total:6.1f} {tottime * 1e3:9.1f} {cumtime * 1e3:9.1f} "
            f"{ncalls:9d}  {name}"
        )
    out += ["", "own time per file:"]
    for where, t in sorted(per_file.items(), key=lambda kv: kv[1], reverse=True)[:12]:
        out.append(f"{100 * t / total:6.1f}%  {where}")
    return "\n".join(out)


def summarize_collapsed(path: str, top: int, only: str = "Step.__call__") -> str:
    """Self and inclusive shares from py-spy's raw (collapsed-stack) output.

    Only samples whose stack passes through a frame containing `only` count (the timed
    calls, not start-up). Lines are "frame;frame;... count", a frame "func (file:line)";
    the innermost frame is where the sample was taken, so time inside a NumPy call is
    charged to the Python line that made it: a line doing array math vs. one doing
    bookkeeping is exactly the split the lead needs.
    """
    self_line: dict[str, int] = {}
    self_func: dict[str, int] = {}
    self_file: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            if not any(only in fr for fr in frames):
                continue
            n = int(count)
            total += n
            keys = []
            for fr in frames:
                func, _, loc = fr.rpartition(" (")
                keys.append((fr, func, loc.rsplit(":", 1)[0]))
            leaf, func, file = keys[-1]
            self_line[leaf] = self_line.get(leaf, 0) + n
            self_func[f"{func} ({file})"] = self_func.get(f"{func} ({file})", 0) + n
            self_file[file] = self_file.get(file, 0) + n
            for name in {f"{func} ({file})" for _, func, file in keys}:
                inclusive[name] = inclusive.get(name, 0) + n
    if not total:
        return f"no samples through a frame matching {only!r} in {path}"

    def block(title: str, counts: dict[str, int], k: int) -> list[str]:
        rows = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)[:k]
        return [title] + [f"{100 * n / total:6.1f}%  {name}" for name, n in rows] + [""]

    out = [f"{total} samples in the timed calls", ""]
    out += block("self time by line (NumPy time lands on the line that called it):", self_line, top)
    out += block("self time by function:", self_func, top)
    out += block("inclusive time by function:", inclusive, top)
    out += block("self time by file:", self_file, 10)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    ap.add_argument("workload", nargs="?")
    ap.add_argument("--collapsed", help="summarize py-spy raw output instead of profiling")
    ap.add_argument("--engine", default="tinygrad_seq")
    ap.add_argument("--calls", type=int, default=None, help="profiled calls (default: ~2 s)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--sort", choices=("tottime", "cumulative"), default="tottime")
    ap.add_argument("--dump", help="also write the raw profile here (pstats format)")
    ap.add_argument(
        "--loop",
        type=float,
        default=None,
        help="run unprofiled for this many seconds (for py-spy) and exit",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.collapsed:
        try:
            print(summarize_collapsed(args.collapsed, args.top))
        except OSError as e:  # (a py-spy run that wrote nothing, a typo)
            ap.error(f"cannot read --collapsed {args.collapsed!r}: {e.strerror}")
        return 0
    if args.workload is None:
        ap.error("name a workload (W1 ... W5 or a W4 variant, e.g. W4-fused) or give --collapsed")

    from . import workloads

    step = workloads.make(args.engine, args.workload, seed=args.seed)
    for _ in range(3):  # warm-up
        step()
    t0 = time.perf_counter()
    step()
    one = time.perf_counter() - t0
    if args.loop is not None:
        n = 0
        end = time.perf_counter() + args.loop
        while time.perf_counter() < end:
            step()
            n += 1
        print(f"{args.workload} {args.engine}: {n} calls in {args.loop:.1f} s", file=sys.stderr)
        return 0
    calls = args.calls or max(3, min(500, int(2.0 / max(one, 1e-6))))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        step()
    profiler.disable()
    if args.dump:
        profiler.dump_stats(args.dump)
    stats = pstats.Stats(profiler)
    print(
        f"{args.workload} ({workloads.WORKLOADS[args.workload].title}), {args.engine}: "
        f"{calls} profiled calls; one unprofiled call took {one * 1e3:.2f} ms\n"
    )
    print(summarize(stats, args.top, args.sort))
    return 0


if __name__ == "__main__":
    sys.exit(main())
