"""The bytes a recorded graph holds, beside PyTorch's own graph on the same forward.

    python -m benchmarks.graph_memory                     # W4 and W2, table on stdout
    python -m benchmarks.graph_memory --out benchmarks    # also writes MEMORY.md there
    python -m benchmarks.graph_memory --tiny              # the test sizes (a smoke run)

The suite's memory column is tracemalloc's peak, which cannot see PyTorch: its tensors and
graph nodes are C++ allocations. Here each version runs its forward alone and holds what
its backward would need (an engine's loss with the recorded graph; the floor's cache of
h_0 … h_T, or the LSTM's gates), and what that holds is counted in two parts that together
see every byte:

- Python objects of at most 512 bytes, which CPython keeps in arenas of its own (pymalloc):
  counted by tracemalloc, in a forward of their own;
- everything malloc handed out: array buffers (NumPy's and PyTorch's), PyTorch's graph
  nodes, larger Python objects: glibc's ``mallinfo2`` before and after the forward (counted
  as malloc counts it, with its chunk headers; Linux only).

Each (version, workload) runs in a fresh process, warmed up first, and gives the median of
a few forwards. W4 carries the design's memory target (the graph at most 2× the floor's);
the table puts it beside PyTorch's, which records the same five ops per step.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path

# (row label, engine, workload): what the table compares, floor first in each workload
CELLS = {
    "W4": [
        ("numpy-floor", "numpy-floor", "W4"),
        ("tinygrad_seq", "tinygrad_seq", "W4"),
        ("tinygrad_seq, F.rnn_step", "tinygrad_seq", "W4-fused"),
        ("torch", "torch", "W4"),
    ],
    "W2": [
        ("numpy-floor", "numpy-floor", "W2"),
        ("tinygrad_seq", "tinygrad_seq", "W2"),
        ("torch", "torch", "W2"),
    ],
}
PYMALLOC_LIMIT = 512  # CPython serves requests up to this size from its own arenas
REPEATS = 3
TRACEMALLOC_NUMPY_DOMAIN = 389047  # NumPy's buffers in tracemalloc: counted by malloc here


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
        ).split()
    ]


def _malloc_counter():
    """A function giving the bytes malloc has handed out and not had back (glibc's
    mallinfo2: the heap's chunks in use plus mmapped blocks), or None off glibc."""
    name = ctypes.util.find_library("c")
    try:
        mallinfo2 = ctypes.CDLL(name).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    mallinfo2.restype = _MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd

    return in_use


def _traces_kept(forward) -> list:
    """tracemalloc's traces of the blocks that the forward's result holds."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = forward()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    del kept
    return snapshot.traces


def _small_python_bytes(forward) -> int:
    """Bytes of Python objects of at most 512 B that the forward's result holds."""
    return sum(
        t.size
        for t in _traces_kept(forward)
        if t.domain != TRACEMALLOC_NUMPY_DOMAIN and t.size <= PYMALLOC_LIMIT
    )


def _array_bytes(forward) -> int:
    """Bytes of NumPy array values (the buffers, without the array objects) that the
    forward's result holds, as NumPy reports them to tracemalloc."""
    return sum(t.size for t in _traces_kept(forward) if t.domain == TRACEMALLOC_NUMPY_DOMAIN)


def _malloc_bytes(forward, in_use) -> int:
    """Bytes malloc handed out for what the forward's result holds."""
    gc.collect()
    before = in_use()
    kept = forward()
    after = in_use()
    del kept
    return after - before


def measure(engine: str, workload: str, tiny: bool = False) -> dict:
    """Bytes the forward of `workload` in `engine` holds: its Python objects (pymalloc),
    its malloc blocks and their sum, in total and per time step, and the NumPy array values
    among them (medians of REPEATS)."""
    from . import workloads

    in_use = _malloc_counter()
    if in_use is None:
        return {"status": "skip", "why": "needs glibc's mallinfo2 (Linux, glibc 2.33 or later)"}
    step = workloads.make(engine, workload, tiny=tiny)
    if step.forward is None:
        raise ValueError(f"{engine} has no forward of its own for {workload}")
    step()  # warm up: lazily made caches, buffers kept by the allocators
    step()
    small = statistics.median(_small_python_bytes(step.forward) for _ in range(REPEATS))
    big = statistics.median(_malloc_bytes(step.forward, in_use) for _ in range(REPEATS))
    arrays = statistics.median(_array_bytes(step.forward) for _ in range(REPEATS))
    steps = workloads.spec(workload).size(tiny)["T"]
    return {
        "status": "ok",
        "python_objects": small,
        "malloc": big,
        "total": small + big,
        "steps": steps,
        "per_step": (small + big) / steps,
        "array_values_per_step": arrays / steps,
    }


def _run_cell(engine: str, workload: str, tiny: bool) -> dict:
    """`measure` in a fresh process (as the suite's workers run: one BLAS thread)."""
    from .runner import PACKAGE, _worker_env

    cmd = [sys.executable, "-m", f"{PACKAGE}.graph_memory", "--cell", engine, workload]
    if tiny:
        cmd.append("--tiny")
    p = subprocess.run(cmd, env=_worker_env(), capture_output=True, text=True, timeout=600)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = " ".join(p.stderr.strip().splitlines()[-1:]) or f"exit status {p.returncode}"
        return {"status": "fail", "why": tail}
    return json.loads(lines[-1])


def table(results: dict[str, list[tuple[str, dict]]]) -> list[str]:
    """Markdown rows: bytes per step (Python objects + malloc) and the ratio to the floor."""
    lines = [
        "| workload | version | bytes per step | Python objects | malloc | ÷ floor |",
        "|---|---|---|---|---|---|",
    ]
    for workload, rows in results.items():
        floor = next((r for label, r in rows if label == "numpy-floor"), None)
        for label, r in rows:
            if r["status"] != "ok":
                lines.append(f"| {workload} | {label} | {r['status']}: {r['why']} |  |  |  |")
                continue
            n = r["steps"]
            ratio = (
                f"{r['per_step'] / floor['per_step']:.2f}×"
                if floor and floor["status"] == "ok" and label != "numpy-floor"
                else "—"
            )
            lines.append(
                f"| {workload} | {label} | {r['per_step']:.0f} | {r['python_objects'] / n:.0f} "
                f"| {r['malloc'] / n:.0f} | {ratio} |"
            )
    return lines


def values_note(results: dict[str, list[tuple[str, dict]]], tiny: bool = False) -> list[str]:
    """Why W4's op-by-op graph cannot meet the design's memory target (at most 2× the
    floor's), from the measured bytes: the array values it must hold, against the floor's
    bytes in all. [] when W4's floor or engine row did not run."""
    from . import workloads

    rows = dict(results.get("W4", ()))
    floor, ops = rows.get("numpy-floor"), rows.get("tinygrad_seq")
    fused = rows.get("tinygrad_seq, F.rnn_step")
    if not floor or not ops or floor["status"] != "ok" or ops["status"] != "ok":
        return []
    s = workloads.spec("W4").size(tiny)
    each = s["B"] * s["H"] * 4  # one (B, H) float32 array's values
    values = ops["array_values_per_step"]
    n = round(values / each)
    note = (
        f"Why W4's op-by-op graph cannot meet the design's target (at most 2× the floor's): "
        f"the API gives every recorded tensor `.data` and `.parents`, so the graph keeps "
        f"the values of each step's {n} recorded tensors (h W, x_t U, two adds, tanh), "
        f"({s['B']}, {s['H']}) float32 each: {n} × {each} = {n * each} B a step "
        f"(measured: {values:.0f} B of NumPy buffers a step), against the floor's "
        f"{floor['per_step']:.0f} B a step in all (its h_t, array object and buffer): "
        f"{values / floor['per_step']:.2f}× before a byte of bookkeeping."
    )
    if fused and fused["status"] == "ok":
        note += (
            f" One fused node a step, `F.rnn_step`, keeps one such array: "
            f"{fused['per_step'] / floor['per_step']:.2f}× in all."
        )
    return [note]


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.graph_memory",
        description="Bytes a recorded graph holds after the forward (Python objects + malloc), "
        "for the floor, tinygrad_seq and PyTorch, each in a fresh process.",
    )
    parser.add_argument("--workloads", default="W4,W2", help="W4, W2 or both (default W4,W2)")
    parser.add_argument("--tiny", action="store_true", help="the test sizes (a smoke run)")
    parser.add_argument("--out", type=Path, help="write MEMORY.md into this folder")
    parser.add_argument("--cell", nargs=2, metavar=("ENGINE", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cell:
        print(json.dumps(measure(*args.cell, tiny=args.tiny)))
        return 0
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    if not names or any(w not in CELLS for w in names):
        parser.error(f"--workloads: expected some of {', '.join(CELLS)}, got {args.workloads}")
    has_torch = _torch_available()
    results: dict[str, list[tuple[str, dict]]] = {}
    for w in names:
        results[w] = []
        for label, engine, workload in CELLS[w]:
            if engine == "torch" and not has_torch:
                r = {"status": "skip", "why": "torch is not installed"}
            else:
                r = _run_cell(engine, workload, args.tiny)
            results[w].append((label, r))
    lines = table(results)
    note = values_note(results, args.tiny)
    if note:
        lines += ["", *note]
    print("\n".join(lines))
    if args.out:
        _write(args.out, lines, argv)
    return 0


def _write(out: Path, lines: list[str], argv: list[str] | None) -> None:
    import datetime
    import platform

    import numpy as np

    from .runner import _git_revision

    torch_version = "not installed"
    if _torch_available():
        import torch

        torch_version = torch.__version__
    command = " ".join(["python -m benchmarks.graph_memory", *(argv or sys.argv[1:])])
    when = datetime.datetime.now().isoformat(timespec="seconds")
    text = [
        "# Graph memory, beside PyTorch's",
        "",
        f"Generated by `{command}` on {when}: Python {platform.python_version()}, "
        f"NumPy {np.__version__}, PyTorch {torch_version}, tinygrad_seq{_git_revision()}; "
        f"{platform.machine()} Linux.",
        "",
        "Bytes that one forward's result holds, per time step: an engine's loss with its "
        "recorded graph, the floor's cache (h_0 … h_T for W4). *Python objects*: those of "
        "at most 512 B (tracemalloc); *malloc*: every block malloc handed out (glibc's "
        "mallinfo2, with its chunk headers): array buffers, PyTorch's nodes and tensors. "
        "Each cell: a fresh process, the median of 3 forwards. The suite's own memory "
        "target (RESULTS.md) uses tracemalloc's peak over forward + backward, which "
        "cannot see PyTorch.",
        "",
        *lines,
        "",
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "MEMORY.md").write_text("\n".join(text), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
