"""The five workloads of the speed suite, each written three times with the same math.

For every workload this file holds, side by side:

- ``make_data``: seeded float64 parameters and inputs (every version casts them to its dtype);
- the engine version, through tinygrad_seq's public API only;
- the floor: a hand-written NumPy forward and backward (no autograd). It keeps the op
  structure the engine runs in the forward (the same per-step matmuls, no hoisting of
  ``x_t U`` out of the loop), so "engine time − floor time" is the engine's own
  bookkeeping; except that W2's and W4's backward is the textbook one, a small product per
  step and weight, which the engine's stacked weight gradients beat (benchmarks/floors.py
  races a floor that stacks them too);
- the PyTorch CPU eager version (only built when torch is importable).

Each ``make_*`` returns a `Step`: calling it runs one forward + backward from fresh
gradients and returns the loss; ``step.grads()`` gives the gradients of that call as NumPy
arrays in the order ``WORKLOADS[id].params``, so the versions can be compared.

Variants of W4 measure the engine's recording switches: ``W4-scope`` runs every time step
inside ``ts.scope(f"t={t}")``, ``W4-gradnorms`` runs the backward inside
``ts.graph.record_grad_norms()``; ``W4-fused`` writes each step as one fused node,
``F.rnn_step``. Only the engine has them; they are compared with W4's floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LN_EPS = 1e-5
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Workload:
    """One row of the table: what it computes, at full and at test ("tiny") size."""

    id: str
    kind: str  # mlp | lstm | transformer | rnn | chain
    title: str
    sizes: dict
    tiny: dict
    params: tuple[str, ...]
    variant: str | None = None  # "scope" | "gradnorms" | "fused" (engine only)
    base: str | None = None  # the workload a variant modifies
    engines: tuple[str, ...] = ("tinygrad_seq", "numpy-floor", "torch")
    per: str | None = None  # what "µs per ..." divides by: "op" (W5) or "step" (W4)

    def size(self, tiny: bool = False) -> dict:
        return self.tiny if tiny else self.sizes

    def count(self, tiny: bool = False) -> int | None:
        """Ops (W5) or time steps (W4) per call, for the µs-per-op table."""
        s = self.size(tiny)
        if self.per == "op":
            return s["n_ops"]
        if self.per == "step":
            return s["T"]
        return None


_MLP = ("W1", "b1", "W2", "b2", "W3", "b3")
_LSTM = ("W_x", "W_h", "b")
_ENCODER = (
    "W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O", "b_O",
    "gain1", "bias1", "W_1", "b_1", "W_2", "b_2", "gain2", "bias2",
)  # fmt: skip
_RNN = ("W", "U", "b")
_W4_SIZES = {"T": 1000, "B": 1, "I": 32, "H": 32}
_W4_TINY = {"T": 6, "B": 2, "I": 3, "H": 4}

_ALL = (
    Workload(
        id="W1",
        kind="mlp",
        title="MLP 784-256-256-10, batch 64, tanh, softmax cross-entropy",
        sizes={"N": 64, "sizes": (784, 256, 256, 10)},
        tiny={"N": 4, "sizes": (6, 5, 4, 3)},
        params=_MLP,
    ),
    Workload(
        id="W2",
        kind="lstm",
        title="LSTM cell loop, T 50, batch 32, input 64, hidden 128, loss sum(h_T²)",
        sizes={"T": 50, "B": 32, "I": 64, "H": 128},
        tiny={"T": 3, "B": 2, "I": 4, "H": 5},
        params=_LSTM,
    ),
    Workload(
        id="W3",
        kind="transformer",
        title="post-LN Transformer encoder block, batch 16, seq 64, d 128, 4 heads, FFN 512, "
        "loss mean",
        sizes={"B": 16, "S": 64, "D": 128, "heads": 4, "F": 512},
        tiny={"B": 2, "S": 3, "D": 8, "heads": 2, "F": 12},
        params=_ENCODER,
    ),
    Workload(
        id="W4",
        kind="rnn",
        title="vanilla RNN h_t = tanh(h W + x_t U + b), T 1000, batch 1, hidden 32, loss sum(h_T²)",
        sizes=_W4_SIZES,
        tiny=_W4_TINY,
        params=_RNN,
        per="step",
    ),
    Workload(
        id="W5",
        kind="chain",
        title="2000 chained elementwise ops (+a, ·b, tanh) on a 4×4 tensor, loss sum",
        sizes={"n_ops": 2000, "shape": (4, 4)},
        tiny={"n_ops": 30, "shape": (2, 3)},
        params=("x",),
        per="op",
    ),
    Workload(
        id="W4-scope",
        kind="rnn",
        title="W4 with every step inside ts.scope(f't={t}')",
        sizes=_W4_SIZES,
        tiny=_W4_TINY,
        params=_RNN,
        variant="scope",
        base="W4",
        engines=("tinygrad_seq",),
        per="step",
    ),
    Workload(
        id="W4-fused",
        kind="rnn",
        title="W4 with each step one fused node, F.rnn_step (PyTorch column: its W4)",
        sizes=_W4_SIZES,
        tiny=_W4_TINY,
        params=_RNN,
        variant="fused",
        base="W4",
        engines=("tinygrad_seq",),
        per="step",
    ),
    Workload(
        id="W4-gradnorms",
        kind="rnn",
        title="W4 with backward inside ts.graph.record_grad_norms()",
        sizes=_W4_SIZES,
        tiny=_W4_TINY,
        params=_RNN,
        variant="gradnorms",
        base="W4",
        engines=("tinygrad_seq",),
        per="step",
    ),
)
WORKLOADS: dict[str, Workload] = {w.id: w for w in _ALL}

# Larger workloads for a GPU (benchmarks/gpu.py): the same kinds at sizes where a GPU pays off.
GPU_WORKLOADS: dict[str, Workload] = {
    w.id: w
    for w in (
        Workload(
            id="G1",
            kind="transformer",
            title="post-LN Transformer encoder block, batch 64, seq 512, d 512, 8 heads, "
            "FFN 2048, loss mean",
            sizes={"B": 64, "S": 512, "D": 512, "heads": 8, "F": 2048},
            tiny={"B": 2, "S": 5, "D": 16, "heads": 4, "F": 24},
            params=_ENCODER,
        ),
        Workload(
            id="G2",
            kind="lstm",
            title="LSTM cell loop, T 100, batch 256, input 1024, hidden 1024, loss sum(h_T²)",
            sizes={"T": 100, "B": 256, "I": 1024, "H": 1024},
            tiny={"T": 4, "B": 3, "I": 5, "H": 6},
            params=_LSTM,
        ),
    )
}


def spec(workload: str) -> Workload:
    """The Workload named `workload` (CPU suite or GPU suite)."""
    if workload in WORKLOADS:
        return WORKLOADS[workload]
    return GPU_WORKLOADS[workload]


ENGINES = ("tinygrad_seq", "numpy-floor", "torch")
ENGINE_ALIASES = {"engine": "tinygrad_seq", "ts": "tinygrad_seq", "floor": "numpy-floor"}


def chain_op(i: int) -> str:
    """Op i of the W5 chain: add a, multiply by b, tanh, repeating."""
    return ("add", "mul", "tanh")[i % 3]


# ------------------------------------------------------------------ data
def make_data(workload: str, tiny: bool = False, seed: int = DEFAULT_SEED) -> dict:
    """{'params': {name: float64 array}, 'inputs': {name: array}} for a workload.

    Weights are scaled by 1/sqrt(fan_in) so activations stay O(1); biases are small.
    """
    w = spec(workload)
    s = w.size(tiny)
    rng = np.random.default_rng(seed)

    def normal(*shape, scale=1.0):
        return scale * rng.standard_normal(shape)

    p: dict[str, np.ndarray] = {}
    x: dict[str, np.ndarray] = {}
    if w.kind == "mlp":
        n0, n1, n2, n3 = s["sizes"]
        x["x"] = normal(s["N"], n0)
        x["y"] = rng.integers(0, n3, size=s["N"]).astype(np.int64)
        for layer, (fan_in, fan_out) in enumerate(((n0, n1), (n1, n2), (n2, n3)), start=1):
            p[f"W{layer}"] = normal(fan_in, fan_out, scale=1 / math.sqrt(fan_in))
            p[f"b{layer}"] = normal(fan_out, scale=0.1)
    elif w.kind == "lstm":
        T, B, d_in, H = s["T"], s["B"], s["I"], s["H"]
        x["x"] = normal(T, B, d_in)
        # the four gates side by side along the last axis, in the order i, f, g, o
        p["W_x"] = normal(d_in, 4 * H, scale=1 / math.sqrt(d_in + H))
        p["W_h"] = normal(H, 4 * H, scale=1 / math.sqrt(d_in + H))
        p["b"] = normal(4 * H, scale=0.1)
    elif w.kind == "transformer":
        B, S, D, F = s["B"], s["S"], s["D"], s["F"]
        x["x"] = normal(B, S, D)
        for n in "QKVO":
            p[f"W_{n}"] = normal(D, D, scale=1 / math.sqrt(D))
            p[f"b_{n}"] = normal(D, scale=0.1)
        # gains away from 1: with gain 1 and bias 0 the gradient of mean(LN(u)) is exactly 0
        p["gain1"] = 1 + normal(D, scale=0.1)
        p["bias1"] = normal(D, scale=0.1)
        p["W_1"] = normal(D, F, scale=1 / math.sqrt(D))
        p["b_1"] = normal(F, scale=0.1)
        p["W_2"] = normal(F, D, scale=1 / math.sqrt(F))
        p["b_2"] = normal(D, scale=0.1)
        p["gain2"] = 1 + normal(D, scale=0.1)
        p["bias2"] = normal(D, scale=0.1)
    elif w.kind == "rnn":
        T, B, d_in, H = s["T"], s["B"], s["I"], s["H"]
        x["x"] = normal(T, B, d_in)
        p["W"] = normal(H, H, scale=0.9 / math.sqrt(H))  # spectral radius < 1: h_T stays O(1)
        p["U"] = normal(d_in, H, scale=1 / math.sqrt(d_in))
        p["b"] = normal(H, scale=0.1)
    elif w.kind == "chain":
        shape = s["shape"]
        p["x"] = normal(*shape)
        # a ≈ 0 and b ≈ 1 keep the chain's gradient away from 0 and from denormals
        x["a"] = normal(*shape, scale=0.01)
        x["b"] = 1 + normal(*shape, scale=0.01)
    p = {name: p[name] for name in w.params}
    return {"params": p, "inputs": x}


def _cast(data: dict, dtype) -> tuple[list[np.ndarray], dict]:
    dt = np.dtype(dtype)
    params = [v.astype(dt) for v in data["params"].values()]
    inputs = {k: v if v.dtype.kind in "iu" else v.astype(dt) for k, v in data["inputs"].items()}
    return params, inputs


class Step:
    """One forward + backward of a workload: ``step()`` → loss; ``step.grads()`` → arrays.

    ``step.forward()``, where a version has one, runs the forward alone and returns what the
    backward would need (an engine's loss with its recorded graph, the floor's cache): the
    graph-memory measurement (benchmarks/graph_memory.py) holds it while it counts bytes.
    """

    def __init__(
        self,
        run: Callable[[], float],
        grads: Callable[[], list[np.ndarray]],
        forward: Callable[[], object] | None = None,
    ):
        self.run = run
        self.grads = grads
        self.forward = forward

    def __call__(self) -> float:
        return self.run()


# ------------------------------------------------------------------ the engine
def make_engine(
    workload: str, tiny: bool = False, dtype: str = "float32", seed: int = DEFAULT_SEED
) -> Step:
    """The workload in tinygrad_seq, through its public API (on the active backend)."""
    import tinygrad_seq as ts

    w = spec(workload)
    s = w.size(tiny)
    arrays, inputs = _cast(make_data(workload, tiny, seed), dtype)
    params = [ts.Tensor(a, requires_grad=True) for a in arrays]
    F = ts.functional

    if w.kind == "mlp":
        x, y = ts.Tensor(inputs["x"]), inputs["y"]
        W1, b1, W2, b2, W3, b3 = params

        def loss_fn():
            h1 = (x @ W1 + b1).tanh()  # (N, n1)
            h2 = (h1 @ W2 + b2).tanh()  # (N, n2)
            return F.cross_entropy(h2 @ W3 + b3, y)

    elif w.kind == "lstm":
        W_x, W_h, b = params
        xs = [ts.Tensor(x_t) for x_t in inputs["x"]]  # T tensors (B, I)
        B, H = s["B"], s["H"]
        zeros = np.zeros((B, H), np.dtype(dtype))

        def loss_fn():
            h, c = ts.Tensor(zeros), ts.Tensor(zeros)
            for x_t in xs:
                z = x_t @ W_x + h @ W_h + b  # (B, 4H): the four gates' pre-activations
                i = z[:, :H].sigmoid()
                f = z[:, H : 2 * H].sigmoid()
                g = z[:, 2 * H : 3 * H].tanh()
                o = z[:, 3 * H :].sigmoid()
                c = f * c + i * g
                h = o * c.tanh()
            return (h * h).sum()

    elif w.kind == "transformer":
        W_Q, b_Q, W_K, b_K, W_V, b_V, W_O, b_O, g1, be1, W_1, b_1, W_2, b_2, g2, be2 = params
        x = ts.Tensor(inputs["x"])  # (B, S, D)
        B, S, D, nh = s["B"], s["S"], s["D"], s["heads"]
        d_k = D // nh
        scale = 1 / math.sqrt(d_k)

        def heads(t):  # (B, S, D) -> (B, nh, S, d_k)
            return t.reshape(B, S, nh, d_k).transpose(0, 2, 1, 3)

        def loss_fn():
            q, k, v = heads(x @ W_Q + b_Q), heads(x @ W_K + b_K), heads(x @ W_V + b_V)
            att = F.softmax((q @ k.transpose(0, 1, 3, 2)) * scale, axis=-1)  # (B, nh, S, S)
            a = (att @ v).transpose(0, 2, 1, 3).reshape(B, S, D) @ W_O + b_O  # (B, S, D)
            y = F.layer_norm(x + a, g1, be1, eps=LN_EPS)
            f = (y @ W_1 + b_1).relu() @ W_2 + b_2
            z = F.layer_norm(y + f, g2, be2, eps=LN_EPS)
            return z.mean()

    elif w.kind == "rnn":
        W, U, b = params
        xs = [ts.Tensor(x_t) for x_t in inputs["x"]]  # T tensors (B, I)
        h0 = np.zeros((s["B"], s["H"]), np.dtype(dtype))

        if w.variant == "scope":

            def loss_fn():
                h = ts.Tensor(h0)
                for t, x_t in enumerate(xs):
                    with ts.scope(f"t={t}"):
                        h = (h @ W + x_t @ U + b).tanh()
                return (h * h).sum()

        elif w.variant == "fused":

            def loss_fn():
                h = ts.Tensor(h0)
                for x_t in xs:
                    h = F.rnn_step(h, x_t, W, U, b)  # the same step as one graph node
                return (h * h).sum()

        else:

            def loss_fn():
                h = ts.Tensor(h0)
                for x_t in xs:
                    h = (h @ W + x_t @ U + b).tanh()  # (B, H)
                return (h * h).sum()

    elif w.kind == "chain":
        (x,) = params
        a, bb = ts.Tensor(inputs["a"]), ts.Tensor(inputs["b"])
        ops = [chain_op(i) for i in range(s["n_ops"])]

        def loss_fn():
            y = x
            for op in ops:
                if op == "add":
                    y = y + a
                elif op == "mul":
                    y = y * bb
                else:
                    y = y.tanh()
            return y.sum()

    else:  # pragma: no cover - WORKLOADS lists every kind above
        raise ValueError(f"unknown workload kind {w.kind!r}")

    record = ts.graph.record_grad_norms if w.variant == "gradnorms" else None

    def run() -> float:
        for p in params:
            p.grad = None
        loss = loss_fn()
        if record is None:
            loss.backward()
        else:
            with record():
                loss.backward()
        return float(loss.item())

    def grads() -> list[np.ndarray]:
        return [ts.backend.to_numpy(p.grad) for p in params]

    return Step(run, grads, loss_fn)


# ------------------------------------------------------------------ the NumPy floor
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free, one transcendental


def lstm_floor_forward(xs, W_x, W_h, b) -> tuple[np.ndarray, list[tuple]]:
    """W2's forward in NumPy (gates side by side in the order i, f, g, o): h_T and, per
    step, what the backward needs (h_{t−1}, c_{t−1}, i, f, g, o, tanh c_t)."""
    B, H = xs[0].shape[0], W_h.shape[0]
    h = np.zeros((B, H), W_h.dtype)
    c = np.zeros((B, H), W_h.dtype)
    cache = []
    for x_t in xs:
        z = x_t @ W_x + h @ W_h + b
        i = _sigmoid(z[:, :H])
        f = _sigmoid(z[:, H : 2 * H])
        g = np.tanh(z[:, 2 * H : 3 * H])
        o = _sigmoid(z[:, 3 * H :])
        h_prev, c_prev = h, c
        c = f * c_prev + i * g
        tanh_c = np.tanh(c)
        h = o * tanh_c
        cache.append((h_prev, c_prev, i, f, g, o, tanh_c))
    return h, cache


def make_floor(
    workload: str, tiny: bool = False, dtype: str = "float32", seed: int = DEFAULT_SEED
) -> Step:
    """The workload as hand-written NumPy forward and backward passes (the floor)."""
    w = spec(workload)
    if w.variant is not None:
        raise ValueError(f"{workload} is an engine-only variant; the floor is {w.base}")
    s = w.size(tiny)
    dt = np.dtype(dtype)
    P, inputs = _cast(make_data(workload, tiny, seed), dtype)
    G: list = [None] * len(P)
    forward = None  # the forward alone, for the graph-memory measurement (W2, W4)

    if w.kind == "mlp":
        x, y = inputs["x"], inputs["y"]
        N = x.shape[0]
        rows = np.arange(N)

        def run() -> float:
            W1, b1, W2, b2, W3, b3 = P
            h1 = np.tanh(x @ W1 + b1)
            h2 = np.tanh(h1 @ W2 + b2)
            logits = h2 @ W3 + b3
            z = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(z)
            total = e.sum(axis=1, keepdims=True)
            loss = (np.log(total[:, 0]) - z[rows, y]).mean()
            # backward: ∂L/∂logits = (softmax − onehot) / N
            d_logits = e / total
            d_logits[rows, y] -= 1.0
            d_logits *= 1.0 / N
            G[4], G[5] = h2.T @ d_logits, d_logits.sum(axis=0)
            d_a2 = (d_logits @ W3.T) * (1.0 - h2 * h2)
            G[2], G[3] = h1.T @ d_a2, d_a2.sum(axis=0)
            d_a1 = (d_a2 @ W2.T) * (1.0 - h1 * h1)
            G[0], G[1] = x.T @ d_a1, d_a1.sum(axis=0)
            return float(loss)

    elif w.kind == "lstm":
        xs = list(inputs["x"])  # T arrays (B, I), split once outside the timed call (as
        B, H = s["B"], s["H"]  # the engine's inputs are)

        def forward():
            return lstm_floor_forward(xs, *P)

        def run() -> float:
            W_x, W_h, b = P
            h, cache = lstm_floor_forward(xs, W_x, W_h, b)
            loss = (h * h).sum()
            # backward through time
            dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)
            dz = np.empty((B, 4 * H), dt)
            dh = 2.0 * h
            dc = np.zeros((B, H), dt)
            for t in range(len(xs) - 1, -1, -1):
                h_prev, c_prev, i, f, g, o, tanh_c = cache[t]
                dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
                dz[:, :H] = dc * g * i * (1.0 - i)
                dz[:, H : 2 * H] = dc * c_prev * f * (1.0 - f)
                dz[:, 2 * H : 3 * H] = dc * i * (1.0 - g * g)
                dz[:, 3 * H :] = dh * tanh_c * o * (1.0 - o)
                dW_x += xs[t].T @ dz
                dW_h += h_prev.T @ dz
                db += dz.sum(axis=0)
                dh = dz @ W_h.T
                dc = dc * f
            G[0], G[1], G[2] = dW_x, dW_h, db
            return float(loss)

    elif w.kind == "transformer":
        B, S, D, nh = s["B"], s["S"], s["D"], s["heads"]
        d_k = D // nh
        scale = 1.0 / math.sqrt(d_k)
        X = inputs["x"].reshape(B * S, D)

        def ln_forward(u, gain, bias):
            centred = u - u.mean(axis=-1, keepdims=True)
            rstd = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + LN_EPS)
            u_hat = centred * rstd
            return u_hat * gain + bias, (u_hat, rstd)

        def ln_backward(d_out, gain, cache):
            u_hat, rstd = cache
            d_hat = d_out * gain
            d_u = rstd * (
                d_hat
                - d_hat.mean(axis=-1, keepdims=True)
                - u_hat * (d_hat * u_hat).mean(axis=-1, keepdims=True)
            )
            return d_u, (d_out * u_hat).sum(axis=0), d_out.sum(axis=0)

        def split(t):  # (B·S, D) -> (B, nh, S, d_k)
            return t.reshape(B, S, nh, d_k).transpose(0, 2, 1, 3)

        def merge(t):  # (B, nh, S, d_k) -> (B·S, D)
            return t.transpose(0, 2, 1, 3).reshape(B * S, D)

        def run() -> float:
            W_Q, b_Q, W_K, b_K, W_V, b_V, W_O, b_O, g1, be1, W_1, b_1, W_2, b_2, g2, be2 = P
            q, k, v = split(X @ W_Q + b_Q), split(X @ W_K + b_K), split(X @ W_V + b_V)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            att = e / e.sum(axis=-1, keepdims=True)
            heads_out = merge(att @ v)
            y, ln1 = ln_forward(X + (heads_out @ W_O + b_O), g1, be1)
            pre = y @ W_1 + b_1
            hidden = np.maximum(pre, 0.0)
            z, ln2 = ln_forward(y + (hidden @ W_2 + b_2), g2, be2)
            loss = z.mean()
            # backward
            dz = np.full((B * S, D), 1.0 / z.size, dt)
            du2, G[14], G[15] = ln_backward(dz, g2, ln2)
            G[12], G[13] = hidden.T @ du2, du2.sum(axis=0)
            d_pre = (du2 @ W_2.T) * (pre > 0)
            G[10], G[11] = y.T @ d_pre, d_pre.sum(axis=0)
            dy = du2 + d_pre @ W_1.T
            du1, G[8], G[9] = ln_backward(dy, g1, ln1)
            G[6], G[7] = heads_out.T @ du1, du1.sum(axis=0)
            d_heads = split(du1 @ W_O.T)
            d_att = d_heads @ v.transpose(0, 1, 3, 2)
            dv = att.transpose(0, 1, 3, 2) @ d_heads
            d_scores = att * (d_att - (d_att * att).sum(axis=-1, keepdims=True)) * scale
            dq = d_scores @ k
            dk = d_scores.transpose(0, 1, 3, 2) @ q
            for j, d4 in ((0, dq), (2, dk), (4, dv)):
                d2 = merge(d4)
                G[j], G[j + 1] = X.T @ d2, d2.sum(axis=0)
            return float(loss)

    elif w.kind == "rnn":
        xs = list(inputs["x"])  # T arrays (B, I), split once outside the timed call
        B, H = s["B"], s["H"]

        def forward() -> list[np.ndarray]:  # h_0 .. h_T: all the backward reads
            W, U, b = P
            h = np.zeros((B, H), dt)
            hs = [h]
            for x_t in xs:
                h = np.tanh(h @ W + x_t @ U + b)
                hs.append(h)
            return hs

        def run() -> float:
            W, U, b = P
            hs = forward()
            h = hs[-1]
            loss = (h * h).sum()
            dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
            dh = 2.0 * h
            for t in range(len(xs) - 1, -1, -1):
                da = dh * (1.0 - hs[t + 1] * hs[t + 1])  # through tanh
                dW += hs[t].T @ da
                dU += xs[t].T @ da
                db += da.sum(axis=0)
                dh = da @ W.T
            G[0], G[1], G[2] = dW, dU, db
            return float(loss)

    elif w.kind == "chain":
        a, bb = inputs["a"], inputs["b"]
        ops = [chain_op(i) for i in range(s["n_ops"])]

        def run() -> float:
            y = P[0]
            tanh_outs = []
            for op in ops:
                if op == "add":
                    y = y + a
                elif op == "mul":
                    y = y * bb
                else:
                    y = np.tanh(y)
                    tanh_outs.append(y)
            loss = y.sum()
            g = np.ones_like(y)
            for op in reversed(ops):
                if op == "mul":
                    g = g * bb
                elif op == "tanh":
                    t = tanh_outs.pop()
                    g = g * (1.0 - t * t)
            G[0] = g
            return float(loss)

    else:  # pragma: no cover
        raise ValueError(f"unknown workload kind {w.kind!r}")

    return Step(run, lambda: list(G), forward)


# ------------------------------------------------------------------ PyTorch CPU eager
def make_torch(
    workload: str,
    tiny: bool = False,
    dtype: str = "float32",
    seed: int = DEFAULT_SEED,
    device: str = "cpu",
) -> Step:
    """The workload in PyTorch eager (idiomatic: F.cross_entropy, F.layer_norm), on the
    CPU or, with device="cuda", on a GPU."""
    import torch
    import torch.nn.functional as TF

    w = spec(workload)
    if w.variant is not None:
        raise ValueError(f"{workload} is an engine-only variant; torch runs {w.base}")
    s = w.size(tiny)
    dt = getattr(torch, dtype)
    arrays, inputs = _cast(make_data(workload, tiny, seed), dtype)
    params = [torch.tensor(a, requires_grad=True, device=device) for a in arrays]
    inp = {k: torch.from_numpy(v).to(device) for k, v in inputs.items()}

    if w.kind == "mlp":
        x, y = inp["x"], inp["y"]
        W1, b1, W2, b2, W3, b3 = params

        def loss_fn():
            h1 = torch.tanh(x @ W1 + b1)
            h2 = torch.tanh(h1 @ W2 + b2)
            return TF.cross_entropy(h2 @ W3 + b3, y)

    elif w.kind == "lstm":
        W_x, W_h, b = params
        xs = list(inp["x"])  # T tensors (B, I), split once outside the timed call
        B, H = s["B"], s["H"]

        def loss_fn():
            h = torch.zeros(B, H, dtype=dt, device=device)
            c = torch.zeros(B, H, dtype=dt, device=device)
            for x_t in xs:
                z = x_t @ W_x + h @ W_h + b
                i = torch.sigmoid(z[:, :H])
                f = torch.sigmoid(z[:, H : 2 * H])
                g = torch.tanh(z[:, 2 * H : 3 * H])
                o = torch.sigmoid(z[:, 3 * H :])
                c = f * c + i * g
                h = o * torch.tanh(c)
            return (h * h).sum()

    elif w.kind == "transformer":
        W_Q, b_Q, W_K, b_K, W_V, b_V, W_O, b_O, g1, be1, W_1, b_1, W_2, b_2, g2, be2 = params
        x = inp["x"]
        B, S, D, nh = s["B"], s["S"], s["D"], s["heads"]
        d_k = D // nh
        scale = 1.0 / math.sqrt(d_k)

        def heads(t):
            return t.reshape(B, S, nh, d_k).transpose(1, 2)

        def loss_fn():
            q, k, v = heads(x @ W_Q + b_Q), heads(x @ W_K + b_K), heads(x @ W_V + b_V)
            att = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)
            a = (att @ v).transpose(1, 2).reshape(B, S, D) @ W_O + b_O
            y = TF.layer_norm(x + a, (D,), g1, be1, LN_EPS)
            f = torch.relu(y @ W_1 + b_1) @ W_2 + b_2
            return TF.layer_norm(y + f, (D,), g2, be2, LN_EPS).mean()

    elif w.kind == "rnn":
        W, U, b = params
        xs = list(inp["x"])  # T tensors (B, I), split once outside the timed call
        B, H = s["B"], s["H"]

        def loss_fn():
            h = torch.zeros(B, H, dtype=dt, device=device)
            for x_t in xs:
                h = torch.tanh(h @ W + x_t @ U + b)
            return (h * h).sum()

    elif w.kind == "chain":
        (x,) = params
        a, bb = inp["a"], inp["b"]
        ops = [chain_op(i) for i in range(s["n_ops"])]

        def loss_fn():
            y = x
            for op in ops:
                if op == "add":
                    y = y + a
                elif op == "mul":
                    y = y * bb
                else:
                    y = torch.tanh(y)
            return y.sum()

    else:  # pragma: no cover
        raise ValueError(f"unknown workload kind {w.kind!r}")

    def run() -> float:
        for p in params:
            p.grad = None
        loss = loss_fn()
        loss.backward()
        return float(loss.item())

    return Step(run, lambda: [p.grad.cpu().numpy() for p in params], loss_fn)


MAKERS: dict[str, Callable[..., Step]] = {
    "tinygrad_seq": make_engine,
    "numpy-floor": make_floor,
    "torch": make_torch,
}


def make(
    engine: str,
    workload: str,
    tiny: bool = False,
    dtype: str = "float32",
    seed: int = DEFAULT_SEED,
) -> Step:
    """The `Step` of `workload` in `engine` ('tinygrad_seq', 'numpy-floor' or 'torch')."""
    engine = ENGINE_ALIASES.get(engine, engine)
    if engine not in MAKERS:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; expected one of {', '.join(WORKLOADS)}")
    return MAKERS[engine](workload, tiny=tiny, dtype=dtype, seed=seed)


# ------------------------------------------------------------------ gradient agreement
def compare_grads(
    grads: list[np.ndarray], reference: list[np.ndarray], names: tuple[str, ...]
) -> tuple[float, str]:
    """Worst relative gradient difference and the parameter where it occurs.

    Each parameter's max |difference| is divided by its reference's max |gradient|; a
    parameter whose true gradient is ~0 (the key bias of attention: softmax ignores a shift)
    is measured on the scale of the largest gradient of the workload instead.
    """
    if len(grads) != len(reference):
        raise ValueError(f"expected {len(reference)} gradients, got {len(grads)}")
    scales = [float(np.max(np.abs(r))) if r.size else 0.0 for r in reference]
    floor = 1e-3 * max(scales + [1e-30])
    worst, where = 0.0, ""
    for name, g, r, sc in zip(names, grads, reference, scales, strict=True):
        if g is None or tuple(np.shape(g)) != tuple(r.shape):
            shape = None if g is None else tuple(np.shape(g))
            return math.inf, f"{name}: gradient shape {shape}, expected {tuple(r.shape)}"
        diff = float(np.max(np.abs(np.asarray(g, np.float64) - r))) if r.size else 0.0
        rel = diff / max(sc, floor)
        if math.isnan(rel):
            return math.inf, f"{name}: NaN in the gradient"
        if rel > worst:
            worst, where = rel, name
    return worst, where


# How far an engine's gradients may be from the floor's, relative to the gradient's size
# (see compare_grads). float32 round-off over W5's 2000-op chain reaches ~1e-4.
GRAD_TOLERANCE = {"float32": 1e-3, "float64": 1e-9}


def check_against_floor(
    step: Step,
    workload: str,
    tiny: bool = False,
    dtype: str = "float32",
    seed: int = DEFAULT_SEED,
) -> dict:
    """Run `step` and the floor once each; return their loss and worst gradient difference.

    The result has ``ok`` (within GRAD_TOLERANCE[dtype]), ``rel_diff``, ``where`` (the
    parameter with the worst difference), ``loss`` and ``floor_loss``.
    """
    w = spec(workload)
    floor = make_floor(w.base or workload, tiny=tiny, dtype=dtype, seed=seed)
    floor_loss = floor()
    loss = step()
    rel, where = compare_grads(step.grads(), floor.grads(), w.params)
    loss_rel = abs(loss - floor_loss) / max(abs(floor_loss), 1e-30)
    tol = GRAD_TOLERANCE[dtype]
    if not loss_rel <= tol and rel <= tol:  # (a NaN loss fails too: NaN <= tol is False)
        rel, where = loss_rel, "loss"
    return {
        "ok": bool(rel <= tol),  # (False for a NaN)
        "rel_diff": rel,
        "where": where,
        "loss": loss,
        "floor_loss": floor_loss,
        "tolerance": tol,
    }
