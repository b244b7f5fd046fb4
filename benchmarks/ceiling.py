"""How much could faster kernels for some ops buy? Race the engine against itself with
those ops made free.

    python -m benchmarks.ceiling W3 --free layer_norm,softmax
    python -m benchmarks.ceiling W2 --free sigmoid,tanh --seconds 30
    python -m benchmarks.ceiling W3 --free layer_norm --tiny --seconds 1  # a smoke run

For the turns of the "free" contestant only, each op named in `--free` is replaced by one
that costs next to nothing: its forward hands back an input of the output's shape (its
first input for a unary op, a layer norm or a softmax), and its backward passes the
gradient straight back to that input (zeros, made once, to any other). No compiled or
fused kernel for those ops can do better, so the free contestant's time is a floor for
what such a kernel could reach; what is left between it and PyTorch is the rest of the
engine's.

Every turn runs the engine, the engine with the free ops, the NumPy floor and PyTorch
(when it is installed) in a shuffled order, as `benchmarks.compare` does, and the table
gives medians of per-turn ratios. The free contestant's numbers are wrong by design and
its gradients are not checked; the plain engine's are, against the floor's.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

# ops whose output has the shape of one of their inputs (so handing that input back keeps
# the rest of the graph's shapes); the others (matmul, sum, reshape, ...) cannot be made
# free this way
_SHAPE_KEEPING = (
    "abs", "exp", "log", "neg", "relu", "sigmoid", "sqrt", "tanh", "pow",
    "layer_norm", "softmax", "log_softmax",
    "add", "sub", "mul", "div", "maximum",
)  # fmt: skip


def free_ops() -> dict[str, list[type]]:
    """op name -> the Function classes with that name that can be made free."""
    from tinygrad_seq import autograd, ops

    found: dict[str, list[type]] = {}
    for value in vars(ops).values():
        if (
            isinstance(value, type)
            and issubclass(value, autograd.Function)
            and value.op_name in _SHAPE_KEEPING
        ):
            found.setdefault(value.op_name, []).append(value)
    return found


_zeros: dict = {}


def _zeros_like(a):
    key = (a.shape, a.dtype)
    z = _zeros.get(key)
    if z is None:
        z = _zeros[key] = np.zeros(a.shape, a.dtype)
    return z


def _free_forward(self, *inputs):
    # the input the output takes its shape from: the first, unless another broadcasts it
    keep = 0
    if len(inputs) > 1:
        shape = np.broadcast_shapes(*(x.shape for x in inputs))
        keep = next((i for i, x in enumerate(inputs) if x.shape == shape), None)
        if keep is None:  # e.g. (3, 1) + (1, 4): no input to hand back
            raise ValueError(
                f"{self.op_name} broadcasts its inputs {[x.shape for x in inputs]} to {shape}: "
                "it cannot be made free here"
            )
    self.saved = keep
    return inputs[keep]


def _free_backward(self, g):
    keep = self.saved
    return tuple(g if i == keep else _zeros_like(p.data) for i, p in enumerate(self.parents))


@contextlib.contextmanager
def made_free(classes: list[type]):
    """Within the block, the ops of `classes` cost next to nothing (and compute nothing)."""
    originals = [(c, c.__dict__.get("forward"), c.__dict__.get("backward")) for c in classes]
    for c in classes:
        c.forward, c.backward = _free_forward, _free_backward
    try:
        yield
    finally:
        for c, forward, backward in originals:
            for name, method in (("forward", forward), ("backward", backward)):
                if method is None:  # inherited: drop the override
                    delattr(c, name)
                else:
                    setattr(c, name, method)


def free_step(step, classes: list[type]):
    """`step` run with `classes` made free for the length of each call."""

    def run():
        with made_free(classes):
            return step()

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ceiling",
        description="Time a workload with some ops made free (forward hands its input back, "
        "backward passes the gradient through) beside the engine as it is, the NumPy floor "
        "and PyTorch: the most that faster kernels for those ops could buy.",
    )
    parser.add_argument("workload", help="W1 … W5")
    parser.add_argument(
        "--free", required=True, help="comma-separated op names, e.g. layer_norm,softmax"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="default 20")
    parser.add_argument("--tiny", action="store_true", help="the test sizes (a smoke run)")
    args = parser.parse_args(argv)

    from benchmarks import workloads
    from benchmarks.compare import race, ratio

    if args.workload not in workloads.WORKLOADS:
        parser.error(f"unknown workload {args.workload!r}; known: {sorted(workloads.WORKLOADS)}")
    available = free_ops()
    names = [n.strip() for n in args.free.split(",") if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown or not names:
        parser.error(
            f"cannot make {unknown or 'nothing'} free; ops that keep an input's shape: "
            f"{', '.join(sorted(available))}"
        )
    classes = [c for n in names for c in available[n]]

    engine = workloads.make_engine(args.workload, tiny=args.tiny)
    check = workloads.check_against_floor(engine, args.workload, tiny=args.tiny)
    if not check["ok"]:
        raise SystemExit(f"{args.workload}: the engine's gradients differ from the floor's")
    base = workloads.spec(args.workload).base or args.workload  # (W4-fused: W4's floor)
    steps = {
        "engine": engine,
        "free": free_step(workloads.make_engine(args.workload, tiny=args.tiny), classes),
        "floor": workloads.make_floor(base, tiny=args.tiny),
    }
    has_torch = importlib.util.find_spec("torch") is not None
    if has_torch:
        import torch

        torch.set_num_threads(1)  # single-threaded, as the suite times it
        steps["torch"] = workloads.make("torch", base, tiny=args.tiny)
    times = race(steps, args.seconds)
    turns = len(times["engine"])
    print(f"{args.workload}, {', '.join(names)} made free; {turns} turns of {args.seconds:g} s")
    print("| contestant | median ms | ÷ engine | ÷ floor |" + (" ÷ torch |" if has_torch else ""))
    print("|---|---|---|---|" + ("---|" if has_torch else ""))
    for name in steps:
        row = (
            f"| {name} | {statistics.median(times[name]) * 1e3:.3f} "
            f"| {ratio(times, name, 'engine'):.3f} | {ratio(times, name, 'floor'):.3f} |"
        )
        if has_torch:
            row += f" {ratio(times, name, 'torch'):.3f} |"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
