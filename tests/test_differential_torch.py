"""Differential tests against PyTorch: random chains of ops on random shapes (0-d, size-1
axes, broadcasting either way, negative axes, axis tuples, keepdims, scalars on either
side, a tensor used twice, non-contiguous NumPy views as data, fancy indexing with repeated
and negative indices), each run in float64 and float32 by both engines. Values and every
input's gradient must agree (float32 within its precision, keeping float32 throughout),
and a bad shape PyTorch refuses must be refused with a ValueError, TypeError or IndexError.

Where the engine follows NumPy rather than PyTorch (axis=/keepdims=, transpose as a
permutation, NumPy's indexing rules) the PyTorch side is written to mean the same thing.
Seeded: every run checks the same programs; a failing seed replays with `_check(seed)`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_seq as ts

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.numpy_only  # the reference runs on the host

SEEDS = range(120)


# ------------------------------------------------------------------ the two engines
def _reduce(lib, x, name, axis, keepdims):
    """x.<name>(axis, keepdims) in the engine's spelling, or PyTorch's equivalent."""
    if lib == "ts":
        return getattr(x, name)(axis=axis, keepdims=keepdims)
    fn = {"max": torch.amax, "min": torch.amin, "sum": torch.sum, "mean": torch.mean}.get(name)
    if name == "var":
        fn = lambda v, **kw: torch.var(v, unbiased=False, **kw)  # noqa: E731 (÷ n, NumPy's)
    if axis is None:
        out = fn(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, dim=axis, keepdim=keepdims)


def _index(lib, x, index):
    """x[index] by NumPy's rules; on PyTorch through a map of flat positions (its rules
    differ where an int and an array are separated by a slice)."""
    if lib == "ts":
        return x[index]
    flat = np.arange(int(np.prod(x.shape))).reshape(tuple(x.shape))[index]
    return x.reshape(-1)[torch.as_tensor(np.asarray(flat))]


def _lib(lib):
    return ts if lib == "ts" else torch


# Each op: (arity, f(lib, x, y, p)) with p the op's random parameters, and a function
# that draws p for x's shape (and y's shape for a binary op) or None when it does not fit.
UNARY = {
    "exp∘tanh": lambda lib, x, p: x.tanh().exp(),
    "sigmoid": lambda lib, x, p: x.sigmoid(),
    "relu": lambda lib, x, p: x.relu(),
    "abs": lambda lib, x, p: x.abs(),
    "neg": lambda lib, x, p: -x,
    "sqrt": lambda lib, x, p: (x * x + 0.25).sqrt(),
    "log": lambda lib, x, p: (x * x + 0.25).log(),
    "x·x": lambda lib, x, p: x * x,
    "x**c": lambda lib, x, p: x ** p["c"],
    "2**x": lambda lib, x, p: 2.0 ** x.tanh(),
    "1.5-x": lambda lib, x, p: 1.5 - x,
    "1/x": lambda lib, x, p: 1 / (x * x + 0.5),
    "3*x+2": lambda lib, x, p: 3 * x + 2,
    "clone": lambda lib, x, p: x.clone(),
    "x*x+x": lambda lib, x, p: x * x + x,  # one tensor, three uses
    "clip": lambda lib, x, p: x.clip(-0.5, 1.0),  # (PyTorch's clip is its clamp)
}

BINARY = {
    "+": lambda lib, a, b: a + b,
    "-": lambda lib, a, b: a - b,
    "*": lambda lib, a, b: a * b,
    "/": lambda lib, a, b: a / (b * b + 0.5),
    "**": lambda lib, a, b: (a * a + 0.5) ** b.tanh(),
    "maximum": lambda lib, a, b: _lib(lib).maximum(a, b * 0.5 + 0.125),  # (never a tie)
    "where": lambda lib, a, b: _lib(lib).where(a > 0.1, a, b),
}


def _broadcast_partner(rng, shape):
    """A shape that broadcasts with `shape`, smaller or larger."""
    s = [1 if rng.random() < 0.3 else n for n in shape]
    if s and rng.random() < 0.3:  # fewer axes
        return tuple(s[int(rng.integers(len(s) + 1)) :])
    if rng.random() < 0.2 and len(s) < 4:  # more axes
        s.insert(0, int(rng.integers(1, 4)))
    return tuple(s)


def _axis(rng, ndim, tuples=True):
    if ndim == 0 or rng.random() < 0.2:
        return None
    if tuples and rng.random() < 0.3:
        axes = rng.permutation(ndim)[: int(rng.integers(1, ndim + 1))]
        return tuple(int(a) - ndim if rng.random() < 0.5 else int(a) for a in axes)
    a = int(rng.integers(ndim))
    return a - ndim if rng.random() < 0.5 else a


def _fancy_index(rng, shape):
    """ints (negative too), slices with steps, and at most one int array with repeats."""
    parts, arrays = [], 0
    for n in shape[: int(rng.integers(1, len(shape) + 1))]:
        kind = int(rng.integers(4))
        if kind == 0 and n:
            parts.append(int(rng.integers(-n, n)))
        elif kind == 1:
            start, stop = sorted(int(v) for v in rng.integers(-n - 1, n + 2, 2))
            parts.append(slice(start, stop, int(rng.choice([1, 2]))))
        elif kind == 2 and n and not arrays:
            parts.append(rng.integers(-n, n, int(rng.integers(1, 5))))  # repeats likely
            arrays += 1
        else:
            parts.append(slice(None))
    return tuple(parts) if len(parts) > 1 or rng.random() < 0.5 else parts[0]


def _data(rng, shape):
    """float64 values: normal, small integers (ties for max, zeros for relu and abs), or a
    non-contiguous view (a transpose, or every other element of a larger array)."""
    kind = int(rng.integers(4))
    if kind == 0:
        return rng.integers(-2, 3, shape).astype(np.float64)
    if kind == 1 and len(shape) >= 2:
        return rng.standard_normal(shape[::-1]).transpose()
    if kind == 2 and shape:
        big = rng.standard_normal(tuple(2 * n for n in shape))
        return big[tuple(slice(None, None, 2) for _ in shape)]
    return rng.standard_normal(shape)


def _program(seed):
    """(leaves' arrays, steps): each step is f(lib, values) -> a new value, where values
    holds the leaves and then every earlier step's result."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(rng.integers(1, 4)) for _ in range(int(rng.integers(0, 4))))
    leaves, steps, shapes = [_data(rng, shape)], [], [shape]

    def leaf(s):
        leaves.append(_data(rng, s))
        return ("leaf", len(leaves) - 1)

    cur = ("leaf", 0)
    for _ in range(int(rng.integers(2, 7))):
        s = shapes[-1]
        kind = rng.choice(["unary", "binary", "reduce", "softmax", "shape", "index", "matmul",
                           "join"])  # fmt: skip
        if kind in ("softmax", "index", "matmul", "join") and not s:
            kind = "unary"
        if kind == "unary":
            name = list(UNARY)[int(rng.integers(len(UNARY)))]
            # (no negative powers: at an exact 0 they send an inf gradient into relu, whose
            # backward gives NaN where PyTorch's masks it to 0: a known difference)
            p = {"c": int(rng.choice([2, 3, 0])) if rng.random() < 0.7 else 1.5}
            if name == "x**c" and p["c"] == 1.5:  # (a fractional power of a positive base)
                step = lambda lib, x, V, p=p: (x.abs() + 0.5) ** p["c"]  # noqa: E731
            else:
                step = lambda lib, x, V, f=UNARY[name], p=p: f(lib, x, p)  # noqa: E731
            out_shape = s
        elif kind == "binary":
            other = leaf(_broadcast_partner(rng, s)) if rng.random() < 0.8 else cur
            other_shape = s if other is cur else leaves[other[1]].shape
            swap = bool(rng.random() < 0.5)
            f = BINARY[list(BINARY)[int(rng.integers(len(BINARY)))]]

            def step(lib, x, V, f=f, other=other, swap=swap):
                y = V(other)
                return f(lib, y, x) if swap else f(lib, x, y)

            out_shape = tuple(np.broadcast_shapes(s, other_shape))
        elif kind == "reduce":
            name = str(rng.choice(["sum", "mean", "max", "min", "var"]))
            if 0 in s:  # (the others refuse an empty tensor, where PyTorch differs)
                name = "sum"
            axis, keep = _axis(rng, len(s)), bool(rng.random() < 0.5)
            step = lambda lib, x, V, n=name, a=axis, k=keep: _reduce(lib, x, n, a, k)  # noqa: E731
            out_shape = np.empty(s).sum(axis=axis, keepdims=keep).shape
        elif kind == "softmax":
            axis, log = _axis(rng, len(s), tuples=False), bool(rng.random() < 0.5)
            axis = -1 if axis is None else axis
            step = lambda lib, x, V, a=axis, log=log: x.log_softmax(a) if log else x.softmax(a)  # noqa: E731
            out_shape = s
        elif kind == "shape":
            perm = tuple(int(a) for a in rng.permutation(len(s)))
            how = int(rng.integers(4))
            if how == 0:  # a NumPy permutation; PyTorch's permute
                step = lambda lib, x, V, q=perm: x.transpose(*q) if lib == "ts" else x.permute(q)  # noqa: E731
                out_shape = tuple(s[a] for a in perm)
            elif how == 1:
                step = lambda lib, x, V: x.reshape(-1)  # noqa: E731
                out_shape = (int(np.prod(s)),)
            elif how == 2:
                a = int(rng.integers(-len(s) - 1, len(s) + 1))
                step = lambda lib, x, V, a=a: x.unsqueeze(a)  # noqa: E731
                out_shape = np.expand_dims(np.empty(s), a).shape
            else:
                step = lambda lib, x, V: x.squeeze()  # noqa: E731
                out_shape = tuple(n for n in s if n != 1)
        elif kind == "index":
            index = _fancy_index(rng, s)
            step = lambda lib, x, V, i=index: _index(lib, x, i)  # noqa: E731
            out_shape = np.empty(s)[index].shape
        elif kind == "matmul":
            n = s[-1]
            w_shape = [(n, int(rng.integers(1, 4))), (n,), (*s[:-2], n, 2)][int(rng.integers(3))]
            w = leaf(w_shape)
            left = bool(rng.random() < 0.3) and len(w_shape) == 2 and len(s) == 1
            step = lambda lib, x, V, w=w, left=left: (V(w).T @ x) if left else (x @ V(w))  # noqa: E731
            out_shape = (
                np.empty(w_shape).T @ np.empty(s) if left else np.empty(s) @ np.empty(w_shape)
            ).shape
        else:  # join: cat or stack with new leaves and x itself again
            stack, axis = bool(rng.random() < 0.5), int(rng.integers(-len(s), len(s)))
            others = [
                leaf(s) if rng.random() < 0.7 else cur for _ in range(int(rng.integers(1, 3)))
            ]

            def step(lib, x, V, others=others, stack=stack, axis=axis):
                xs = [x] + [V(o) for o in others]
                return (_lib(lib).stack if stack else _lib(lib).cat)(xs, axis)

            k = len(others) + 1
            out_shape = (
                np.stack([np.empty(s)] * k, axis)
                if stack
                else np.concatenate([np.empty(s)] * k, axis)
            )
            out_shape = out_shape.shape
        steps.append((kind, step, cur))
        cur = len(steps) - 1
        shapes.append(tuple(out_shape))
    return leaves, steps


def _run(leaves, steps, lib, dtype):
    """(leaf tensors, final value) for one engine."""
    if lib == "ts":
        xs = [ts.Tensor(a.astype(dtype, copy=False), requires_grad=True) for a in leaves]
    else:
        xs = [torch.tensor(np.array(a), requires_grad=True) for a in leaves]
    values = []

    def V(ref):
        return xs[ref[1]] if isinstance(ref, tuple) else values[ref]

    for _kind, step, src in steps:
        values.append(step(lib, V(src), V))
    return xs, values[-1]


def _check(seed):
    leaves, steps = _program(seed)
    ref_leaves, ref = _run(leaves, steps, "torch", np.float64)
    weights = np.random.default_rng(seed + 1).standard_normal(tuple(ref.shape))
    (ref * torch.tensor(weights)).sum().backward()
    ref_out = ref.detach().numpy()
    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 2e-4)):
        xs, out = _run(leaves, steps, "ts", dtype)
        (out * ts.Tensor(weights.astype(dtype))).sum().backward()
        what = f"seed {seed}, {dtype.__name__}, steps {[k for k, _, _ in steps]}"
        assert out.shape == ref_out.shape, what
        assert out.dtype == dtype, what
        scale = max(1.0, float(np.nanmax(np.abs(ref_out)))) if ref_out.size else 1.0
        np.testing.assert_allclose(
            out.numpy(), ref_out, rtol=rtol, atol=rtol * scale, equal_nan=True, err_msg=what
        )
        for i, (x, r) in enumerate(zip(xs, ref_leaves, strict=True)):
            want = np.zeros_like(leaves[i]) if r.grad is None else r.grad.numpy()
            got = np.zeros_like(leaves[i]) if x.grad is None else x.grad
            assert got.shape == want.shape and (x.grad is None or x.grad.dtype == dtype), what
            scale = max(1.0, float(np.nanmax(np.abs(want)))) if want.size else 1.0
            np.testing.assert_allclose(
                got, want, rtol=rtol, atol=rtol * scale, equal_nan=True, err_msg=f"{what}, leaf {i}"
            )


@pytest.mark.filterwarnings("ignore:transpose")  # (a 2-D identity permutation is meant)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_chains_match_pytorch(seed):
    with np.errstate(all="ignore"):  # (x**-1 at 0 and the like: both engines give inf)
        _check(seed)


# ------------------------------------------------------------------ fused functions
@pytest.mark.parametrize("seed", range(40))
def test_cross_entropy_layer_norm_and_embedding_match_pytorch(seed):
    rng = np.random.default_rng(seed)
    F, TF = ts.functional, torch.nn.functional
    shape = tuple(int(n) for n in rng.integers(1, 4, int(rng.integers(1, 3)))) + (4,)
    logits = rng.standard_normal(shape) * rng.choice([1.0, 30.0])
    targets = rng.integers(0, 4, shape[:-1])
    ignore = int(rng.integers(0, 4)) if rng.random() < 0.5 else None
    table, ids = rng.standard_normal((5, 3)), rng.integers(0, 5, (2, 4))  # ids repeat
    gain, bias = rng.standard_normal(4), rng.standard_normal(4)

    ref = [torch.tensor(a, requires_grad=True) for a in (logits, table, gain, bias)]
    flat = ref[0].reshape(-1, 4)
    ce = TF.cross_entropy(
        flat, torch.tensor(targets).reshape(-1), ignore_index=-100 if ignore is None else ignore
    )
    ce = torch.nan_to_num(ce)  # (every position ignored: the engine's loss is 0)
    ln = TF.layer_norm(ref[0], (4,), ref[2], ref[3])
    emb = TF.embedding(torch.tensor(ids), ref[1])
    w_ln, w_emb = rng.standard_normal(ln.shape), rng.standard_normal(emb.shape)
    loss = ce + (ln * torch.tensor(w_ln)).sum() + (emb * torch.tensor(w_emb)).sum()
    loss.backward()

    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 1e-3)):
        mine = [ts.Tensor(a.astype(dtype), requires_grad=True) for a in (logits, table, gain, bias)]
        x, tab, g, b = mine
        out = (
            F.cross_entropy(x, targets, ignore_index=ignore)
            + (
                F.layer_norm(F.dropout(x, 0.5, training=False), g, b)
                * ts.Tensor(w_ln.astype(dtype))
            ).sum()
            + (F.embedding(ids, tab) * ts.Tensor(w_emb.astype(dtype))).sum()
        )
        _assert_matches_torch(out, loss, mine, ref, dtype, rtol)


def _assert_matches_torch(out, loss, mine, ref, dtype, rtol) -> None:
    """After out.backward(): out's value and dtype, and each input's gradient (dtype, and
    values to rtol, scaled by the largest), against PyTorch's loss and inputs `ref`."""
    out.backward()
    assert out.dtype == dtype
    np.testing.assert_allclose(out.item(), loss.item(), rtol=rtol, atol=rtol)
    for t, r in zip(mine, ref, strict=True):
        assert t.grad.dtype == dtype
        scale = max(1.0, float(np.abs(r.grad.numpy()).max()))
        np.testing.assert_allclose(t.grad, r.grad.numpy(), rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("seed", range(40))
def test_clip_flatten_mse_and_binary_cross_entropy_match_pytorch(seed):
    rng = np.random.default_rng(seed)
    F, TF = ts.functional, torch.nn.functional
    shape = tuple(int(n) for n in rng.integers(1, 4, int(rng.integers(1, 4))))
    x = rng.standard_normal(shape) * rng.choice([1.0, 30.0])
    x.flat[0] = 0.5  # on a bound: both pass the gradient there
    low, high = [(-0.5, 0.5), (None, 0.5), (-0.5, None), (0.5, -0.5)][seed % 4]
    target = rng.standard_normal(shape)
    labels = rng.random(shape) if seed % 2 else (rng.random(shape) > 0.5).astype(np.float64)
    w = rng.standard_normal(int(np.prod(shape)))

    ref = [torch.tensor(a, requires_grad=True) for a in (x, target, labels)]
    clipped = torch.clamp(ref[0], low, high)
    loss = (
        (clipped.flatten() * torch.tensor(w)).sum()
        + TF.mse_loss(ref[0], ref[1])
        + TF.binary_cross_entropy_with_logits(ref[0] * 0.5, ref[2])
    )
    loss.backward()

    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 1e-4)):
        mine = [ts.Tensor(a.astype(dtype), requires_grad=True) for a in (x, target, labels)]
        xt, tt, lt = mine
        out = (
            (xt.clip(low, high).flatten() * ts.Tensor(w.astype(dtype))).sum()
            + F.mse_loss(xt, tt)
            + F.binary_cross_entropy_with_logits(xt * 0.5, lt)
        )
        _assert_matches_torch(out, loss, mine, ref, dtype, rtol)


def test_clip_of_nan_and_at_the_bounds_matches_pytorch():
    data = np.array([np.nan, -1.0, 1.0, -2.0, 2.0, 0.0, np.inf, -np.inf])
    ref = torch.tensor(data, requires_grad=True)
    torch.clamp(ref, -1.0, 1.0).sum().backward()
    x = ts.Tensor(data, requires_grad=True)
    out = x.clip(-1.0, 1.0)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), torch.clamp(ref, -1.0, 1.0).detach().numpy())
    np.testing.assert_array_equal(x.grad, ref.grad.numpy())


# ------------------------------------------------------------------ bad shapes
BAD = {
    "add": lambda M, a, b: a + b,
    "mul": lambda M, a, b: a * b,
    "pow": lambda M, a, b: a**b,
    "matmul": lambda M, a, b: a @ b,
    "maximum": lambda M, a, b: M.maximum(a, b),
    "where": lambda M, a, b: M.where(a > 0, a, b),
    "cat": lambda M, a, b: M.cat([a, b], -1),
    "stack": lambda M, a, b: M.stack([a, b], 0),
}


@pytest.mark.parametrize("seed", range(300))
def test_shapes_pytorch_refuses_are_refused_with_a_clear_error(seed):
    rng = np.random.default_rng(seed)
    shapes = [tuple(int(n) for n in rng.integers(0, 4, int(rng.integers(1, 4)))) for _ in "ab"]
    name = list(BAD)[seed % len(BAD)]
    a, b = (rng.standard_normal(s) for s in shapes)
    try:
        BAD[name](torch, torch.tensor(a), torch.tensor(b))
    except (RuntimeError, IndexError, ValueError):
        refused = True
    else:
        refused = False
    if not refused:
        return  # (covered by the chains above)
    with pytest.raises((ValueError, TypeError, IndexError), match=name):
        BAD[name](ts, ts.Tensor(a, requires_grad=True), ts.Tensor(b, requires_grad=True))


# ------------------------------------------------------------------ newer ops
@pytest.mark.parametrize("seed", range(30))
def test_log1p_expm1_erf_gelu_var_std_and_astype_match_pytorch(seed):
    rng = np.random.default_rng(seed)
    TF = torch.nn.functional
    shape = tuple(int(n) for n in rng.integers(2, 5, int(rng.integers(1, 4))))
    bias_shape = shape[-int(rng.integers(1, len(shape) + 1)) :]  # broadcast over leading axes
    axis = _axis(rng, len(shape))
    correction = [0, 1, 0.5][seed % 3]
    x = rng.standard_normal(shape) * rng.choice([0.01, 1.0, 4.0])
    b = rng.standard_normal(bias_shape)
    w = rng.standard_normal(shape)

    ref = [torch.tensor(a, requires_grad=True) for a in (x, b)]
    xr, br = ref
    h = TF.gelu(xr + br) + TF.gelu(xr, approximate="tanh") + (xr * xr).log1p() + xr.erf()
    h = h + (xr * 0.5).expm1()
    dims = axis if axis is None or isinstance(axis, tuple) else (axis,)
    spread = (
        torch.var(h, dim=dims, correction=correction)
        + torch.std(h.double() * 2, dim=dims, keepdim=True, correction=correction).sum()
    )
    loss = (h * torch.tensor(w)).sum() + spread.sum()
    loss.backward()

    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 2e-4)):
        mine = [ts.Tensor(a.astype(dtype), requires_grad=True) for a in (x, b)]
        xt, bt = mine
        h = ts.F.gelu(xt + bt) + ts.F.gelu(xt, approximate="tanh") + (xt * xt).log1p()
        h = h + xt.erf() + (xt * 0.5).expm1()
        # (a float32 h: made float64 and the result cast back, both casts recorded)
        std = (h.double() * 2).std(axis, keepdims=True, correction=correction).astype(dtype)
        spread = h.var(axis, correction=correction) + std.sum()
        out = (h * ts.Tensor(w.astype(dtype))).sum() + spread.sum()
        _assert_matches_torch(out, loss, mine, ref, dtype, rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_and_exact_gelu_match_pytorch_from_tiny_to_huge_and_at_inf_and_nan(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.standard_normal(2000) * 3,
            rng.uniform(-40, 40, 2000),
            np.sign(rng.standard_normal(200)) * 10.0 ** rng.uniform(-30, 30, 200),
            [0.0, -0.0, 1e-38, -1e-38, 0.46875, 4.0, -4.0, 1e38, -1e38, np.inf, -np.inf, np.nan],
        ]
    ).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).tiny  # (below tiny: subnormals)
    finite = np.isfinite(x)
    for name in ("erf", "gelu"):
        # PyTorch in float64 on the same values: in float32 it computes gelu's
        # ½ x (1 + erf(x/√2)) in float32, whose 1 + erf loses digits where x < 0 (the
        # engine's float32 is float64's, rounded once)
        ref = torch.tensor(x.astype(np.float64), requires_grad=True)
        r = ref.erf() if name == "erf" else torch.nn.functional.gelu(ref)  # (exact: default)
        r.backward(torch.tensor(g.astype(np.float64)))
        mine = ts.Tensor(x, requires_grad=True)
        out = mine.erf() if name == "erf" else ts.F.gelu(mine)
        out.backward(g)
        assert out.dtype == dtype and mine.grad.dtype == dtype
        got, grad = out.numpy(), ts.backend.to_numpy(mine.grad)
        expected, expected_grad = r.detach().numpy(), ref.grad.numpy()
        keep = finite
        if name == "gelu":
            # PyTorch's gelu is NaN at −inf (−inf · 0) and its slope NaN at ±inf: the
            # engine gives the limits; in the left tail, where 1 + erf cancels to 0 (from
            # x ≈ −8.3 in float64), x Φ(x) from erfc rather than PyTorch's 0 (below)
            assert got[x == -np.inf] == 0 and grad[x == -np.inf] == 0
            assert got[x == np.inf] == np.inf and grad[x == np.inf] == g[x == np.inf]
        # within one rounding of x's dtype, plus PyTorch's own: its 1 + erf(x/√2) for gelu
        # is off by up to ~eps·|x| (float64's eps) where x < 0
        slack = 4 * np.finfo(np.float64).eps * np.abs(x.astype(np.float64)) + tiny
        for mine_, theirs, rtol in ((got, expected, 2 * eps), (grad, expected_grad, 64 * eps)):
            mine_, theirs = mine_[keep].astype(np.float64), theirs[keep]
            assert (np.abs(mine_ - theirs) <= rtol * np.abs(theirs) + slack[keep]).all()
        zeros = keep & (got == 0)
        assert np.array_equal(np.signbit(got[zeros]), np.signbit(expected[zeros]))
        assert np.isnan(got[np.isnan(x)]).all() and np.isnan(grad[np.isnan(x)]).all()
        if name == "erf":
            assert (grad[~finite & ~np.isnan(x)] == 0).all()  # e^(−inf) = 0, as PyTorch's
            np.testing.assert_array_equal(got[np.isinf(x)], np.sign(x[np.isinf(x)]))
    # gelu's left tail, where PyTorch's cancels: x · ½ erfc(−x/√2) by Python's math.erfc
    left = finite & (x < 0) & (x > -1e4)
    # (−x/√2 rounded as the engine rounds it: e^(−t²) turns one rounding of t into ~2t²)
    tail = [v * 0.5 * math.erfc(v * -math.sqrt(0.5)) for v in x[left].astype(float)]
    np.testing.assert_allclose(got[left], tail, rtol=16 * eps, atol=tiny)  # (erfc: ≤ 8 ulp)


def test_std_of_equal_elements_and_a_cast_to_integers_match_pytorch():
    data = np.array([[1.5, 1.5, 1.5], [0.0, 1.0, 3.0]])
    ref = torch.tensor(data, requires_grad=True)
    torch.std(ref, dim=1).sum().backward()  # PyTorch's default correction is 1
    x = ts.Tensor(data, requires_grad=True)
    out = x.std(axis=1, correction=1)
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), torch.std(ref, dim=1).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, ref.grad.numpy(), rtol=1e-12)  # row 0: zeros, not nan
    as_ints = ts.Tensor(np.array([-1.7, 2.9])).astype(np.int64)
    expected = torch.tensor([-1.7, 2.9]).to(torch.int64)
    assert as_ints.numpy().tolist() == expected.tolist()  # truncated toward 0, as PyTorch
    assert not as_ints.requires_grad
