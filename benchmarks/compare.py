"""Time this checkout's engine against another git revision's, in one process, turn by turn.

    python -m benchmarks.compare HEAD~1                  # W4 and W5, 20 s each
    python -m benchmarks.compare main --workloads W2,W4 --seconds 30
    python -m benchmarks.compare v0.1 --tiny --seconds 1  # a quick smoke run

The other revision's `tinygrad_seq/` (and its setup.py) comes out of git (`git archive`)
into a temporary folder, where its optional compiled helpers are built, if it has them
(else, or if they do not build there, it runs on NumPy alone: an editable install would
otherwise hand it this checkout's); both versions are imported into this one process
under the same name, one after the other; their workloads (benchmarks/workloads.py, this
checkout's) are built against each, and each version's gradients are checked against the
floor's. Every turn then runs the old engine, the new one and the NumPy floor in a
shuffled order, two calls each with the second timed, as the suite's paired processes do.
A slow phase of the machine (this VM's speed drifts by 10-40 % between processes, and
even bimodally) slows all three alike, so the median of the per-turn ratios new ÷ old
shows a change of a few percent that separate runs of the suite cannot.

Both versions' import-time settings (freed memory kept, the cycle collector's threshold)
apply to the whole process, as in the suite's paired processes.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

PACKAGE = "tinygrad_seq"
ROOT = Path(__file__).resolve().parent.parent


def extract_revision(rev: str, into: Path) -> Path:
    """`git archive` the package (and setup.py, where it has one) at `rev` into `into`;
    return that folder."""
    has_setup = (
        subprocess.run(
            ["git", "cat-file", "-e", f"{rev}:setup.py"], cwd=ROOT, capture_output=True
        ).returncode
        == 0
    )
    try:
        tar = subprocess.run(
            ["git", "archive", "--format=tar", rev, PACKAGE] + (["setup.py"] if has_setup else []),
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
    except FileNotFoundError:
        raise SystemExit("benchmarks.compare needs git on PATH") from None
    except subprocess.CalledProcessError as e:
        message = e.stderr.decode(errors="replace").strip()
        raise SystemExit(f"cannot read {PACKAGE}/ at revision {rev!r}: {message}") from None
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        if hasattr(tarfile, "data_filter"):  # Python ≥ 3.11.4: refuse odd paths and links
            archive.extractall(into, filter="data")
        else:  # pragma: no cover - git's own archive of a folder of source files
            archive.extractall(into)
    return into


def build_native(folder: Path) -> bool:
    """Compile the optional extension of the revision in `folder` in place, where it has
    one; whether it was built (each version must run its own: their C functions differ)."""
    if not (folder / PACKAGE / "_native_ext.c").is_file() or not (folder / "setup.py").is_file():
        return False
    built = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    return built.returncode == 0 and any((folder / PACKAGE).glob("_native_ext.*"))


def _package_modules() -> dict:
    """The package's entries in sys.modules."""
    return {n: m for n, m in sys.modules.items() if n == PACKAGE or n.startswith(PACKAGE + ".")}


def _import_from(folder: Path, numpy_only: bool = False):
    """Import the package found in `folder`, replacing any copy already imported; with
    `numpy_only`, without its compiled helpers (TINYGRAD_SEQ_NATIVE=0 while it imports)."""
    for name in _package_modules():
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    switch = os.environ.get("TINYGRAD_SEQ_NATIVE")
    if numpy_only:
        os.environ["TINYGRAD_SEQ_NATIVE"] = "0"
    try:
        module = importlib.import_module(PACKAGE)
    finally:
        sys.path.pop(0)
        if numpy_only:
            if switch is None:
                del os.environ["TINYGRAD_SEQ_NATIVE"]
            else:
                os.environ["TINYGRAD_SEQ_NATIVE"] = switch
    if not Path(module.__file__).resolve().is_relative_to(folder.resolve()):
        raise RuntimeError(f"imported {module.__file__}, not the copy in {folder}")
    return module


def build(
    folders: dict[str, Path], workload: str, tiny: bool, numpy_only: frozenset = frozenset()
) -> dict:
    """One step per engine version (each built while its version is `tinygrad_seq`; those
    labelled in `numpy_only` without compiled helpers), plus the floor."""
    from benchmarks import workloads

    steps = {}
    for label, folder in folders.items():
        _import_from(folder, numpy_only=label in numpy_only)
        try:
            steps[label] = workloads.make_engine(workload, tiny=tiny)
        except Exception as e:  # e.g. an old revision without an op the workload uses
            raise SystemExit(
                f"{workload} does not build against the {label} engine: {type(e).__name__}: {e}"
            ) from None
        # a change that broke the math must not pass for a speed-up
        check = workloads.check_against_floor(steps[label], workload, tiny=tiny)
        if not check["ok"]:
            raise SystemExit(
                f"{workload}: the {label} engine's gradients differ from the floor's at "
                f"{check['where']} ({check['rel_diff']:.2g} > {check['tolerance']:g})"
            )
    # an engine-only variant (W4-scope, W4-gradnorms, W4-fused) races its base's floor
    steps["floor"] = workloads.make_floor(workloads.spec(workload).base or workload, tiny=tiny)
    return steps


def race(steps: dict, seconds: float, seed: int = 0) -> dict[str, list[float]]:
    """Turns of every step in a shuffled order, for `seconds`; seconds per timed call."""
    names = list(steps)
    for name in names:  # warm-up
        for _ in range(3):
            steps[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random(seed)
    perf = time.perf_counter
    start = perf()
    while perf() - start < seconds or len(times[names[0]]) < 5:
        order.shuffle(names)
        for name in names:
            steps[name]()  # untimed: warm caches again after the others' calls
            t0 = perf()
            steps[name]()
            times[name].append(perf() - t0)
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over turns of a's time ÷ b's."""
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description="Time this checkout's engine against another git revision's, turn by "
        "turn in one process, beside the NumPy floor.",
    )
    parser.add_argument("revision", help="the git revision to compare with (HEAD~1, main, ...)")
    parser.add_argument("--workloads", default="W4,W5", help="comma-separated (default W4,W5)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per workload (default 20)")
    parser.add_argument("--tiny", action="store_true", help="the test sizes (a smoke run)")
    args = parser.parse_args(argv)

    from benchmarks import workloads

    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in workloads.WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; known: {sorted(workloads.WORKLOADS)}")
    imported = _package_modules()
    try:
        with tempfile.TemporaryDirectory(prefix="tinygrad-seq-compare-") as tmp:
            folders = {"old": extract_revision(args.revision, Path(tmp)), "new": ROOT}
            numpy_only = frozenset() if build_native(folders["old"]) else frozenset({"old"})
            # what each version runs with, as imported (TINYGRAD_SEQ_NATIVE=0 holds for both)
            old_has = _import_from(folders["old"], "old" in numpy_only)._native._ext is not None
            new_has = _import_from(ROOT)._native._ext is not None
            print(
                f"old: {PACKAGE} at {args.revision} "
                f"({'its own compiled helpers' if old_has else 'NumPy only'}); "
                f"new: this checkout ({'compiled helpers' if new_has else 'NumPy only'}); "
                f"{args.seconds:g} s each"
            )
            print("| workload | turns | new ÷ old | old ÷ floor | new ÷ floor |")
            print("|---|---|---|---|---|")
            for w in names:
                times = race(build(folders, w, args.tiny, numpy_only), args.seconds)
                print(
                    f"| {w} | {len(times['new'])} | {ratio(times, 'new', 'old'):.3f} "
                    f"| {ratio(times, 'old', 'floor'):.3f} | {ratio(times, 'new', 'floor'):.3f} |",
                    flush=True,
                )
    finally:  # the package as imported before: one copy of its classes and state again
        for name in _package_modules():
            del sys.modules[name]
        sys.modules.update(imported)
    return 0


if __name__ == "__main__":
    sys.exit(main())
