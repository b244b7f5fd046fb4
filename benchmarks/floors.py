"""The recurrent floors (W2, W4) written a second way, raced turn by turn against the engine.

    python -m benchmarks.floors                         # W2 and W4, 20 s each
    python -m benchmarks.floors --workloads W4 --seconds 60
    python -m benchmarks.floors --tiny --seconds 1      # a quick smoke run

The suite's floor (`workloads.make_floor`) is the textbook hand-written backpropagation
through time, as peers-bench's numpy-floor writes it too: each weight's gradient grows by
one small product per time step (dW += h_{t−1}ᵀ δ_t). The engine's backward does less
there: it collects a weight's per-step terms and multiplies them out together
(`autograd.ProductGrad`: one product over the stacked steps), multiplies δ_t by a
C-ordered copy of Wᵀ (`autograd.transposed_weight`), and uses `ndarray.dot` for the tiny
per-step products. So on W2 and W4, *engine − floor* is the engine's bookkeeping minus
what those save.

The *tuned floor* here does all of that by hand too (and splits the inputs into steps
once, untimed, as the engine's workload wraps them into tensors once): the fastest plain
NumPy this suite knows for the same math. Engine ÷ tuned floor is then the cost of the
graph alone. Its gradients are checked against the suite's floor before any timing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

from .compare import race, ratio  # noqa: E402
from .workloads import (  # noqa: E402
    DEFAULT_SEED,
    GRAD_TOLERANCE,
    Step,
    _cast,
    compare_grads,
    lstm_floor_forward,
    make_data,
    make_engine,
    make_floor,
    spec,
)

WORKLOADS = ("W2", "W4")


def make_tuned_floor(
    workload: str, tiny: bool = False, dtype: str = "float32", seed: int = DEFAULT_SEED
) -> Step:
    """W2 or W4 in NumPy, with the weight gradients stacked as the engine's backward does."""
    w = spec(workload)
    if workload not in WORKLOADS:
        raise ValueError(f"a tuned floor exists for {', '.join(WORKLOADS)}, not {workload}")
    s = w.size(tiny)
    dt = np.dtype(dtype)
    P, inputs = _cast(make_data(workload, tiny, seed), dtype)
    G: list = [None] * len(P)
    xs = inputs["x"]  # (T, B, d)
    x_steps = list(xs)  # split once, untimed (the engine's workload wraps them once)
    X = xs.reshape(-1, xs.shape[-1])  # (T·B, d): every step's input, stacked (a view)
    B, H = s["B"], s["H"]

    if w.kind == "rnn":

        def run() -> float:
            W, U, b = P
            h = np.zeros((B, H), dt)
            hs = [h]
            for x_t in x_steps:
                h = np.tanh(h.dot(W) + x_t.dot(U) + b)
                hs.append(h)
            loss = (h * h).sum()
            W_T = np.ascontiguousarray(W.T)
            deltas = [None] * len(x_steps)  # δ_t = ∂L/∂a_t, a_t the pre-activation
            dh = 2.0 * h
            for t in range(len(x_steps) - 1, -1, -1):
                delta = dh * (1.0 - hs[t + 1] * hs[t + 1])
                deltas[t] = delta
                dh = delta.dot(W_T)
            D = np.concatenate(deltas)  # (T·B, H)
            G[0] = np.concatenate(hs[:-1]).T @ D  # Σ_t h_{t−1}ᵀ δ_t as one product
            G[1] = X.T @ D
            G[2] = D.sum(axis=0)
            return float(loss)

    else:  # the LSTM of W2: gates side by side in the order i, f, g, o

        def run() -> float:
            W_x, W_h, b = P
            h, cache = lstm_floor_forward(x_steps, W_x, W_h, b)  # the floor's own forward
            loss = (h * h).sum()
            W_h_T = np.ascontiguousarray(W_h.T)
            T = len(x_steps)
            dZ = np.empty((T, B, 4 * H), dt)  # every step's ∂L/∂z, stacked
            dh = 2.0 * h
            dc = np.zeros((B, H), dt)
            for t in range(T - 1, -1, -1):
                h_prev, c_prev, i, f, g, o, tanh_c = cache[t]
                dz = dZ[t]
                dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
                dz[:, :H] = dc * g * i * (1.0 - i)
                dz[:, H : 2 * H] = dc * c_prev * f * (1.0 - f)
                dz[:, 2 * H : 3 * H] = dc * i * (1.0 - g * g)
                dz[:, 3 * H :] = dh * tanh_c * o * (1.0 - o)
                dh = dz @ W_h_T
                dc = dc * f
            D = dZ.reshape(T * B, 4 * H)
            G[0] = X.T @ D
            G[1] = np.concatenate([step[0] for step in cache]).T @ D
            G[2] = D.sum(axis=0)
            return float(loss)

    return Step(run, lambda: list(G))


def check(workload: str, tiny: bool, dtype: str = "float32") -> float:
    """The tuned floor's worst relative gradient difference from the suite's floor (a
    SystemExit past the suite's tolerance)."""
    tuned, floor = make_tuned_floor(workload, tiny, dtype), make_floor(workload, tiny, dtype)
    tuned(), floor()
    rel, where = compare_grads(tuned.grads(), floor.grads(), spec(workload).params)
    if rel > GRAD_TOLERANCE[dtype]:
        raise SystemExit(f"{workload}: the tuned floor's gradients differ at {where} ({rel:.2g})")
    return rel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.floors",
        description="Race the engine, the suite's floor and a tuned floor (weight gradients "
        "stacked as the engine's backward does) on W2 and W4, turn by turn in one process.",
    )
    parser.add_argument("--workloads", default="W2,W4", help="W2, W4 or both (default W2,W4)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per workload (default 20)")
    parser.add_argument("--tiny", action="store_true", help="the test sizes (a smoke run)")
    args = parser.parse_args(argv)
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown or not names:
        parser.error(f"--workloads: expected some of {', '.join(WORKLOADS)}, got {args.workloads}")
    print("| workload | turns | gradients vs floor | tuned ÷ floor | engine ÷ floor "
          "| engine ÷ tuned |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for w in names:
        rel = check(w, args.tiny)
        steps = {
            "engine": make_engine(w, args.tiny),
            "floor": make_floor(w, args.tiny),
            "tuned": make_tuned_floor(w, args.tiny),
        }
        times = race(steps, args.seconds)
        print(
            f"| {w} | {len(times['engine'])} | {rel:.1e} | {ratio(times, 'tuned', 'floor'):.3f} "
            f"| {ratio(times, 'engine', 'floor'):.3f} | {ratio(times, 'engine', 'tuned'):.3f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
