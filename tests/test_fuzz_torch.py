"""Differential fuzzing against PyTorch: hypothesis draws small random *programs* and both
engines run each one.

A program is a DAG of 2-12 ops over 1-3 float64 leaves of small random shapes, drawn from
the public ops (+ - * / ** @, unary -, exp expm1 log log1p tanh sigmoid relu sqrt abs erf,
gelu (exact and "tanh"), sum mean max min logsumexp with random axes and keepdims, var and
std with a correction of 0, 1 or 0.5 too, reshape transpose .T flatten, indexing with ints,
slices and int arrays with repeats (lists, NumPy arrays or integer Tensors), split and chunk
(one piece, or several joined or multiplied), astype to float64, softmax and log_softmax,
ts.cat ts.stack ts.where ts.maximum, clip (min > max too), the losses F.mse_loss,
F.binary_cross_entropy_with_logits and F.cross_entropy with each reduction (constant
targets; mse's may be a node, and cross_entropy may ignore a class and weigh the classes
with weight=), and branches computed under ts.no_grad() or through .detach()), with
broadcasting, Python numbers and NumPy arrays on either side, and with results reused by
several later ops, so gradients accumulate through shared nodes. (No float32 round trip:
rounding to float32 at a point where the two engines differ by an ulp of float64 can move
a value by an ulp of float32, far past the tolerance.) The last result and some of those
no later op reads are folded into one scalar by a random weighted sum (the others are dead
ends, which send no gradient back). Every value and every leaf's gradient must agree with
PyTorch's to ~1e-9, and no two leaves' gradients may share memory. Some programs call
backward twice (retain_graph=True first) and expect twice PyTorch's gradients; programs
run with the compiled kernels on and off, and some leaves are weights (k, m) for x @ W, or
(N, 32+, 33) rows large enough for the kernels that only large arrays take.

The programs are drawn with their values in hand (evaluated as they are built), so they stay
where both engines are meant to agree: log, sqrt and fractional powers see positive numbers,
log1p numbers above −0.9, divisors are away from 0, std from 0 (the gradient divides by it),
relu, abs, clip and where's comparison are applied away from their kinks (shifted when a
value is close), max/min/maximum have no ties, and every value stays below 1e3 in size.

CI runs a small deterministic sample (derandomize=True). A long run draws more programs:

    TINYGRAD_SEQ_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_torch.py

A failure prints the program, one op per line (`v3 = relu(v1; c=0.125)`: v0.. are the
leaves, then each step's result), shrunk by hypothesis.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_seq as ts
from tinygrad_seq import _native

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.numpy_only,  # (the reference runs on the host)
    pytest.mark.filterwarnings("ignore:transpose"),  # (a 2-D identity permutation is meant)
]

FUZZ_EXAMPLES = int(os.environ.get("TINYGRAD_SEQ_FUZZ_EXAMPLES", "1000"))
RTOL = 1e-9
LIMIT = 1e3  # no value larger than this (exp of a sum of products overflows otherwise)
MARGIN = 1e-6  # how far (relative to the largest value) from a kink or a tie


# ------------------------------------------------------------------ the interpreter
# Each op is f(lib, xs, p): lib "ts" or "torch", xs the inputs (Tensors of that lib),
# p the op's parameters (numbers, axes, constant arrays). Operands named in p are an int
# (a position in xs), a float (a Python number on that side) or a NumPy array (a constant,
# given to the engine as the array itself, on either side).
def _m(lib):
    return ts if lib == "ts" else torch


def _const(lib, a: np.ndarray):
    return ts.Tensor(a) if lib == "ts" else torch.tensor(a)


def _operand(lib, xs, spec):
    if isinstance(spec, int):
        return xs[spec]
    if isinstance(spec, np.ndarray) and lib == "torch":
        return torch.tensor(spec)
    return spec


def _positive(x, form: str):
    """x itself where it is positive already, else a positive function of it."""
    if form == "raw":
        return x
    if form == "sq":
        return x * x + 0.5
    if form == "exp":
        return x.exp()
    return x.sigmoid()


def _shifted(x, c: float):
    return x if c == 0.0 else x - c


def _binary(symbol):
    def f(lib, xs, p):
        a, b = _operand(lib, xs, p["l"]), _operand(lib, xs, p["r"])
        if symbol == "+":
            return a + b
        if symbol == "-":
            return a - b
        return a * b

    return f


def _div(lib, xs, p):
    a, b = _operand(lib, xs, p["l"]), _operand(lib, xs, p["r"])
    return a / (_positive(b, p["form"]) if isinstance(p["r"], int) else b)


def _pow(lib, xs, p):
    if p["how"] == "const":  # base ** number
        return _positive(xs[0], p["form"]) ** p["c"]
    if p["how"] == "tensor":  # base ** tensor
        return _positive(xs[0], p["form"]) ** xs[1]
    return p["c"] ** xs[0]  # number ** tensor


def _swap_last(lib, x):
    if lib == "torch":
        return x.transpose(-1, -2)
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return x.transpose(*axes)


def _matmul(lib, xs, p):
    a = xs[0]
    if len(xs) == 2:
        return a @ xs[1]
    return a @ (_swap_last(lib, a) if a.ndim >= 2 else a)  # (x @ xᵀ: always fits)


def _reduce(lib, xs, p):
    x, name, axis, keep = xs[0], p["name"], p["axis"], p["keepdims"]
    if p["jitter"] is not None:  # (distinct values where x had ties)
        x = x + _const(lib, p["jitter"])
    c = p.get("correction")  # (var and std: None is the default, 0, dividing by n)
    if lib == "ts":
        kw = {} if c is None else {"correction": c}
        return getattr(x, name)(axis=axis, keepdims=keep, **kw)
    fn = {"max": torch.amax, "min": torch.amin, "sum": torch.sum, "mean": torch.mean}.get(name)
    if name == "logsumexp":  # (its dim is required: all axes as one, for None)
        fn = lambda v, dim=None, **kw: torch.logsumexp(  # noqa: E731
            v if dim is not None else v.reshape(-1), 0 if dim is None else dim, **kw
        )
    if name in ("var", "std"):  # (÷ n − c; PyTorch's default c is 1, NumPy's 0)
        fn = lambda v, **kw: getattr(torch, name)(v, correction=c or 0, **kw)  # noqa: E731
    if axis is None:
        out = fn(x)
        return out.reshape((1,) * x.ndim) if keep else out
    return fn(x, dim=axis, keepdim=keep)


def _transpose(lib, xs, p):
    x, perm = xs[0], p["perm"]
    if lib == "ts":
        return x.T if p["T"] else x.transpose(*perm) if perm is not None else x.transpose()
    return x.permute(perm if perm is not None else tuple(reversed(range(x.ndim))))


def _index(lib, xs, p):
    """x[index] by NumPy's rules; on PyTorch through a map of flat positions (its rules
    differ where an int and an array are separated by a slice)."""
    x, index = xs[0], p["index"]
    if lib == "ts":
        if p["as_tensors"]:  # (the int arrays as integer Tensors)
            wrap = lambda i: ts.Tensor(i) if isinstance(i, np.ndarray) else i  # noqa: E731
            index = tuple(map(wrap, index)) if isinstance(index, tuple) else wrap(index)
        return x[index]
    flat = np.arange(int(np.prod(x.shape))).reshape(tuple(x.shape))[index]
    return x.reshape(-1)[torch.as_tensor(np.array(flat, order="C"))]


def _join(lib, xs, p):
    m = _m(lib)
    return (m.stack if p["stack"] else m.cat)(list(xs), p["axis"])


def _where(lib, xs, p):
    cond = xs[0] > p["t"]
    return _m(lib).where(cond, _operand(lib, xs, p["a"]), _operand(lib, xs, p["b"]))


def _clip(lib, xs, p):
    if lib == "ts":
        return xs[0].clip(p["lo"], p["hi"])
    return torch.clamp(xs[0], p["lo"], p["hi"])


def _pieces(lib, xs, p):
    """Some of the pieces of split or chunk: one, or several (repeats possible) joined
    along the axis or multiplied (when their shapes agree)."""
    x, axis = xs[0], p["axis"]
    if lib == "ts" and p["method"]:
        pieces = getattr(x, p["how"])(p["n"], axis)  # (x.split, x.chunk)
    else:  # (ts.split, ts.chunk; torch.split, torch.chunk)
        pieces = getattr(_m(lib), p["how"])(x, p["n"], axis)
    used = [pieces[k] for k in p["use"]]
    if len(used) == 1:
        return used[0]
    if p["join"] == "mul":
        out = used[0]
        for u in used[1:]:
            out = out * u
        return out
    return _m(lib).cat(used, axis)


def _astype(lib, xs, p):
    if lib == "ts":
        return xs[0].astype(p["dtype"])
    return xs[0].to(torch.float64)


def _loss(lib, xs, p):
    name, red, t = p["name"], p["reduction"], p["target"]
    if lib == "ts":
        F = ts.F
        if name == "mse":
            target = xs[1] if len(xs) == 2 else t if p["as"] == "array" else ts.Tensor(t)
            return F.mse_loss(xs[0], target, reduction=red)
        if name == "bce":
            target = {"array": t, "tensor": ts.Tensor(t), "bool": t.astype(bool)}[p["as"]]
            return F.binary_cross_entropy_with_logits(xs[0], target, reduction=red)
        target = {"array": t, "tensor": ts.Tensor(t), "list": t.tolist()}[p["as"]]
        return F.cross_entropy(
            xs[0], target, ignore_index=p["ignore"], reduction=red, weight=p["weight"]
        )
    F = torch.nn.functional
    if name == "mse":
        target = xs[1] if len(xs) == 2 else torch.tensor(t)
        return F.mse_loss(xs[0], target, reduction=red)
    if name == "bce":
        target = torch.tensor(t.astype(np.float64))
        return F.binary_cross_entropy_with_logits(xs[0], target, reduction=red)
    x = xs[0].permute(0, 2, 1) if xs[0].ndim == 3 else xs[0]  # (PyTorch's classes: axis 1)
    ignore = -100 if p["ignore"] is None else p["ignore"]
    weight = None if p["weight"] is None else torch.tensor(p["weight"])
    return F.cross_entropy(x, torch.tensor(t), weight, ignore_index=ignore, reduction=red)


def _no_grad(lib, xs, p):
    x = xs[0]
    if p["how"] == "detach":
        return x.detach().tanh() * 1.5
    with ts.no_grad() if lib == "ts" else torch.no_grad():
        return x.tanh() * 1.5


OPS = {
    "add": _binary("+"),
    "sub": _binary("-"),
    "mul": _binary("*"),
    "div": _div,
    "pow": _pow,
    "matmul": _matmul,
    "neg": lambda lib, xs, p: -xs[0],
    "exp": lambda lib, xs, p: xs[0].exp(),
    "expm1": lambda lib, xs, p: xs[0].expm1(),
    "log": lambda lib, xs, p: _positive(xs[0], p["form"]).log(),
    "log1p": lambda lib, xs, p: _positive(xs[0], p["form"]).log1p(),
    "erf": lambda lib, xs, p: xs[0].erf(),
    "gelu": lambda lib, xs, p: (
        xs[0].gelu(**p) if lib == "ts" else torch.nn.functional.gelu(xs[0], **p)
    ),
    "sqrt": lambda lib, xs, p: _positive(xs[0], p["form"]).sqrt(),
    "tanh": lambda lib, xs, p: xs[0].tanh(),
    "sigmoid": lambda lib, xs, p: xs[0].sigmoid(),
    "relu": lambda lib, xs, p: _shifted(xs[0], p["c"]).relu(),
    "abs": lambda lib, xs, p: _shifted(xs[0], p["c"]).abs(),
    "reduce": _reduce,
    "softmax": lambda lib, xs, p: xs[0].softmax(p["axis"]),
    "log_softmax": lambda lib, xs, p: xs[0].log_softmax(p["axis"]),
    "reshape": lambda lib, xs, p: xs[0].reshape(*p["shape"]),
    "flatten": lambda lib, xs, p: xs[0].flatten() if lib == "ts" else xs[0].reshape(-1),
    "transpose": _transpose,
    "index": _index,
    "join": _join,
    "where": _where,
    "maximum": lambda lib, xs, p: _m(lib).maximum(xs[0], xs[1]),
    "clip": _clip,
    "pieces": _pieces,
    "astype": _astype,
    "loss": _loss,
    "no_grad": _no_grad,
}


@dataclasses.dataclass
class Step:
    op: str
    args: tuple[int, ...]  # node numbers: the leaves first, then each step's result
    p: dict

    def line(self, out: int) -> str:
        params = "; " + ", ".join(f"{k}={v!r}" for k, v in self.p.items()) if self.p else ""
        return f"v{out} = {self.op}({', '.join(f'v{a}' for a in self.args)}{params})"


@dataclasses.dataclass
class Program:
    leaves: list[np.ndarray]
    steps: list[Step]
    sinks: list[int]  # the nodes no step reads, folded into the loss
    weights: list[np.ndarray]
    twice: bool  # backward(retain_graph=True), then backward again
    compiled: bool  # the compiled kernels on

    def __repr__(self) -> str:
        lines = [f"v{i} = leaf{a.shape}" for i, a in enumerate(self.leaves)]
        lines += [s.line(len(self.leaves) + k) for k, s in enumerate(self.steps)]
        lines.append(f"loss = Σ (v_k * w_k).sum() over k in {self.sinks}")
        lines.append(f"twice={self.twice}, compiled={self.compiled}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # (how hypothesis prints an example)
        printer.text(repr(self))


def run(prog: Program, lib: str):
    """(leaf tensors, every node's value, the scalar loss) for one engine."""
    if lib == "ts":
        leaves = [ts.Tensor(a, requires_grad=True) for a in prog.leaves]
    else:
        leaves = [torch.tensor(np.array(a), requires_grad=True) for a in prog.leaves]
    nodes = list(leaves)
    for step in prog.steps:
        nodes.append(OPS[step.op](lib, [nodes[a] for a in step.args], step.p))
    loss = 0.0
    for k, w in zip(prog.sinks, prog.weights, strict=True):
        loss = loss + (nodes[k] * _const(lib, w)).sum()
    return leaves, nodes, loss


# ------------------------------------------------------------------ drawing programs
REDUCTIONS = ("sum", "mean", "max", "min", "var", "std", "logsumexp")  # (each as often as one op)
LOSSES = ("mse", "bce", "cross_entropy")
CHOICES = [op for op in OPS if op not in ("reduce", "pieces", "loss")]
CHOICES += list(REDUCTIONS) + ["split", "chunk"] + list(LOSSES)
SHIFTS = (0.0, 0.125, -0.125, 0.3, -0.3, 0.55, -0.7, 0.9)


def _scale(v: torch.Tensor) -> float:
    return max(1.0, float(v.abs().max())) if v.numel() else 1.0


def _clear_of(v: torch.Tensor, c: float) -> bool:
    """No element of v within MARGIN of c (a kink or a threshold)."""
    return not v.numel() or float((v - c).abs().min()) > MARGIN * _scale(v)


def _shift(draw, v: torch.Tensor):
    """A shift from SHIFTS (starting at a drawn one) that takes v clear of 0, or None."""
    start = draw(st.integers(0, len(SHIFTS) - 1))
    for c in SHIFTS[start:] + SHIFTS[:start]:
        if _clear_of(v, c):
            return c
    return None


def _form(draw, v: torch.Tensor, raw_ok: bool) -> str:
    forms = (["raw"] if raw_ok else []) + ["sq", "exp", "sigmoid"]
    return draw(st.sampled_from(forms))


def _pick(draw, n: int) -> int:
    """A node, the latest ones likelier (and what hypothesis shrinks towards)."""
    return n - 1 - draw(st.integers(0, n - 1))


def _partner(draw, vals, i: int, fits):
    """A node j (i itself included) with fits(vals[i], vals[j]), latest first."""
    options = [j for j in reversed(range(len(vals))) if fits(vals[i], vals[j])]
    return draw(st.sampled_from(options)) if options else None


def _broadcasts(a, b) -> bool:
    try:
        torch.broadcast_shapes(a.shape, b.shape)
        return True
    except RuntimeError:
        return False


def _matmul_fits(a, b) -> bool:
    if a.ndim == 0 or b.ndim == 0:
        return False
    try:
        torch.matmul(a, b)
        return True
    except RuntimeError:
        return False


def _axis(draw, ndim: int, tuples: bool = True):
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["one", "none", "tuple"] if tuples else ["one"]))
    if kind == "none":
        return None
    if kind == "one":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def _no_ties(v: torch.Tensor, axis) -> bool:
    """The largest and smallest of each reduced group of v are unique, by a margin."""
    if v.ndim == 0:
        return True
    axes = range(v.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = sorted(a % v.ndim for a in axes)
    rest = [a for a in range(v.ndim) if a not in axes]
    groups = v.permute(rest + axes).reshape(*[v.shape[a] for a in rest], -1)
    if groups.shape[-1] < 2:
        return True
    s = groups.sort(dim=-1).values
    gap = min(float((s[..., 1] - s[..., 0]).min()), float((s[..., -1] - s[..., -2]).min()))
    return gap > MARGIN * _scale(v)


def _index_for(draw, shape):
    """ints (negative too), slices with steps, and up to two int arrays (repeats likely),
    selecting at least one element; or None."""
    parts, arrays = [], 0
    n_parts = draw(st.integers(1, len(shape)))
    length = draw(st.integers(1, 4))
    for n in shape[:n_parts]:
        kind = draw(st.sampled_from(["int", "slice", "array", "all"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n, n)))
            parts.append(slice(start, stop, draw(st.sampled_from([None, 1, 2, -1]))))
        elif kind == "array" and arrays < 2:
            ids = draw(st.lists(st.integers(-n, n - 1), min_size=length, max_size=length))
            parts.append(np.array(ids) if draw(st.booleans()) else ids)
            arrays += 1
        else:
            parts.append(slice(None))
    index = tuple(parts) if len(parts) > 1 or draw(st.booleans()) else parts[0]
    if isinstance(index, list):  # (a lone list is an int array, as NumPy reads it)
        index = np.array(index)
    return index if np.empty(shape)[index].size else None


def _reshape_to(draw, shape):
    size = int(np.prod(shape))
    dims, left = [], size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, left + 1) if left % d == 0]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        left //= d
    dims.append(left)
    dims = dims[1:] if dims[0] == 1 and len(dims) > 1 and draw(st.booleans()) else dims
    if draw(st.booleans()):  # (-1 for one axis)
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


def _build(draw, op: str, vals):
    """(op, args, p) for `op` on nodes drawn from vals (torch float64 values), or None
    where it does not fit them."""
    n = len(vals)
    i = _pick(draw, n)
    x = vals[i]
    if op in ("add", "sub", "mul", "div"):
        kind = draw(st.sampled_from(["nodes", "scalar", "array"]))
        if kind == "nodes":
            j = _partner(draw, vals, i, _broadcasts)
            l_, r_, args = 0, 1, (i, j)
        else:
            if kind == "scalar":
                s = draw(st.sampled_from([0.5, -1.5, 2.0, 3.0]))
            else:  # (of x's shape, or of its last axes: broadcast)
                shape = tuple(x.shape)[draw(st.integers(0, x.ndim)) :]
                rng = np.random.default_rng(draw(st.integers(0, 2**16)))
                s = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
            l_, r_, args = (s, 0, (i,)) if draw(st.booleans()) else (0, s, (i,))
        p = {"l": l_, "r": r_}
        if op == "div" and isinstance(r_, int):
            den = vals[args[r_]]
            p["form"] = _form(draw, den, bool(float(den.abs().min()) > 0.2))
        return op, args, p
    if op == "pow":
        how = draw(st.sampled_from(["const", "tensor", "number base"]))
        positive = bool(float(x.min()) > 0.05)
        if how == "const":
            c = draw(st.sampled_from([2, 3, -1, 0.5, 1.5, 2.5]))
            raw_ok = c in (2, 3) or positive
            return "pow", (i,), {"how": how, "form": _form(draw, x, raw_ok), "c": c}
        if how == "tensor":
            j = _partner(draw, vals, i, _broadcasts)
            return "pow", (i, j), {"how": how, "form": _form(draw, x, positive)}
        return "pow", (i,), {"how": how, "c": draw(st.sampled_from([2.0, 0.5, 3.0]))}
    if op == "matmul":
        if x.ndim == 0:
            return None
        j = _partner(draw, vals, i, _matmul_fits) if draw(st.booleans()) else None
        return "matmul", (i,) if j is None else (i, j), {}
    if op in ("neg", "exp", "expm1", "tanh", "sigmoid", "erf", "flatten"):
        return op, (i,), {}
    if op == "gelu":  # (the default, or approximate= named)
        forms = [{}, {"approximate": "none"}, {"approximate": "tanh"}]
        return op, (i,), draw(st.sampled_from(forms))
    if op == "astype":
        return op, (i,), {"dtype": draw(st.sampled_from([np.float64, "float64", np.dtype("f8")]))}
    if op in ("log", "sqrt"):
        return op, (i,), {"form": _form(draw, x, bool(float(x.min()) > 0.05))}
    if op == "log1p":
        return op, (i,), {"form": _form(draw, x, bool(float(x.min()) > -0.9))}
    if op in ("relu", "abs"):
        c = _shift(draw, x)
        return None if c is None else (op, (i,), {"c": c})
    if op in REDUCTIONS:
        name = op
        axis = _axis(draw, x.ndim)
        p = {"name": name, "axis": axis, "keepdims": draw(st.booleans()), "jitter": None}
        if name in ("max", "min") and not _no_ties(x, axis):
            seed = draw(st.integers(0, 2**16))
            p["jitter"] = 1e-3 * np.random.default_rng(seed).permutation(x.numel()).reshape(
                tuple(x.shape)
            )
            if not _no_ties(x + torch.tensor(p["jitter"]), axis):
                return None
        if name in ("var", "std"):
            axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
            n_reduced = int(np.prod([x.shape[a] for a in axes]))
            fits = [c for c in (None, 0, 1, 0.5) if n_reduced - (c or 0) > 0]
            p["correction"] = draw(st.sampled_from(fits))
            spread = torch.var(x, dim=axis, correction=p["correction"] or 0)
            if name == "std" and float(spread.min()) <= (1e-3 * _scale(x)) ** 2:
                return None  # (√'s kink at 0: the gradient ÷ std)
        return "reduce", (i,), p
    if op in ("split", "chunk"):
        if x.ndim == 0:
            return None
        axis = draw(st.integers(-x.ndim, x.ndim - 1))
        length = x.shape[axis]
        if op == "chunk":
            n = draw(st.integers(1, length + 1))
            count = len(torch.chunk(x, n, axis))
        elif draw(st.booleans()):  # each piece's size
            n = draw(st.integers(1, length + 1))
            count = -(-length // n)
        else:  # the sizes, 0 allowed
            cuts = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
            n = [b - a for a, b in zip([0, *cuts], [*cuts, length], strict=True)]
            count = len(n)
        use = draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=3))
        p = {"how": op, "n": n, "axis": axis, "use": use, "method": draw(st.booleans())}
        p["join"] = draw(st.sampled_from(["cat", "mul"]))
        pieces = torch.split(x, n, axis) if op == "split" else torch.chunk(x, n, axis)
        if len({tuple(pieces[k].shape) for k in use}) > 1:
            p["join"] = "cat"
        return "pieces", (i,), p
    if op in LOSSES:
        red = draw(st.sampled_from(["mean", "sum", "none"]))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        p = {"name": op, "reduction": red}
        if op == "mse":
            if draw(st.booleans()):  # the target a node (it gets a gradient too)
                j = _partner(draw, vals, i, lambda a, b: a.shape == b.shape)
                return "loss", (i, j), {**p, "target": None, "as": "node"}
            target = rng.standard_normal(tuple(x.shape))
            how = draw(st.sampled_from(["array", "tensor"]))
            return "loss", (i,), {**p, "target": target, "as": how}
        if op == "bce":
            how = draw(st.sampled_from(["array", "tensor", "bool", "soft"]))
            if how == "soft":
                target = rng.uniform(0.0, 1.0, tuple(x.shape))
                how = draw(st.sampled_from(["array", "tensor"]))
            else:
                target = rng.integers(0, 2, tuple(x.shape)).astype(np.float64)
            return "loss", (i,), {**p, "target": target, "as": how}
        if x.ndim not in (2, 3):
            return None
        classes = x.shape[-1]
        target = rng.integers(0, classes, tuple(x.shape[:-1]))
        ignore = draw(st.sampled_from([None, 0, classes - 1]))
        if ignore is not None and red == "mean" and bool((target == ignore).all()):
            ignore = None  # (all ignored: PyTorch's mean is NaN, ours 0)
        as_ = draw(st.sampled_from(["array", "tensor", "list"]))
        weight = rng.uniform(0.25, 2.0, classes) if draw(st.booleans()) else None
        p.update(target=target, ignore=ignore, weight=weight)
        return "loss", (i,), {**p, "as": as_}
    if op in ("softmax", "log_softmax"):
        if x.ndim == 0:
            return None
        return op, (i,), {"axis": _axis(draw, x.ndim, tuples=False)}
    if op == "reshape":
        return "reshape", (i,), {"shape": _reshape_to(draw, tuple(x.shape))}
    if op == "transpose":
        how = draw(st.sampled_from(["perm", "reverse", "T"]))
        perm = tuple(draw(st.permutations(range(x.ndim)))) if how == "perm" else None
        return "transpose", (i,), {"perm": perm, "T": how == "T"}
    if op == "index":
        if x.ndim == 0:
            return None
        index = _index_for(draw, tuple(x.shape))
        if index is None:
            return None
        return "index", (i,), {"index": index, "as_tensors": draw(st.booleans())}
    if op == "join":
        stack = draw(st.booleans())
        if x.ndim == 0 and not stack:
            return None
        axis = draw(st.integers(-x.ndim - stack, x.ndim - 1 + stack))
        ax = axis % (x.ndim + stack) if x.ndim + stack else 0

        def fits(a, b):
            if stack or a.ndim != b.ndim:
                return a.shape == b.shape
            pairs = enumerate(zip(a.shape, b.shape, strict=True))
            return all(p == q for k, (p, q) in pairs if k != ax)

        others = [_partner(draw, vals, i, fits) for _ in range(draw(st.integers(1, 3)))]
        return "join", (i, *others), {"stack": stack, "axis": axis}
    if op == "where":
        c = _partner(draw, vals, i, _broadcasts)
        t = _shift(draw, vals[c])
        if t is None:
            return None
        b = _partner(draw, vals, i, lambda a, b: _broadcasts(a, b) and _broadcasts(vals[c], b))
        if not _broadcasts(vals[c], x):
            return None
        a_spec, b_spec = 1, 2
        if draw(st.booleans()):  # a number on one side
            side = draw(st.booleans())
            a_spec, b_spec = (0.25, 1) if side else (1, 0.25)
            return "where", (c, i), {"t": t, "a": a_spec, "b": b_spec}
        return "where", (c, i, b), {"t": t, "a": a_spec, "b": b_spec}
    if op == "maximum":
        j = _partner(draw, vals, i, _broadcasts)
        a, b = torch.broadcast_tensors(x, vals[j])
        if j == i or not _clear_of(a - b, 0.0):
            return None
        return "maximum", (i, j), {}
    if op == "clip":
        bounds = draw(st.sampled_from(["both", "lo", "hi"]))
        lo = draw(st.sampled_from([-0.5, -0.2, 0.1])) if bounds != "hi" else None
        hi = draw(st.sampled_from([0.3, 0.6, 1.2, -0.3])) if bounds != "lo" else None
        if any(b is not None and not _clear_of(x, b) for b in (lo, hi)):
            return None
        return "clip", (i,), {"lo": lo, "hi": hi}
    assert op == "no_grad"
    return "no_grad", (i,), {"how": draw(st.sampled_from(["no_grad", "detach"]))}


def _shape(draw, max_ndim: int = 3) -> tuple[int, ...]:
    return tuple(draw(st.lists(st.integers(1, 4), max_size=max_ndim)))


def _partner_shape(draw, base):
    """A shape that broadcasts with base (fewer or more axes, 1s), or any shape."""
    how = draw(st.sampled_from(["same", "broadcast", "any", "weight"]))
    if how == "same":
        return base
    if how == "weight":  # (k, m) for x @ W: a weight leaf, as in a Linear layer
        return (base[-1] if base else 2, draw(st.integers(1, 4)))
    if how == "any":
        return _shape(draw)
    s = [1 if draw(st.booleans()) else d for d in base]
    cut = draw(st.integers(0, len(s)))
    s = s[cut:]
    if len(s) < 3 and draw(st.booleans()):
        s.insert(0, draw(st.integers(1, 3)))
    return tuple(s)


def _leaf(rng, shape, view: bool) -> np.ndarray:
    if view and len(shape) >= 2:  # a non-contiguous view: a transpose
        return rng.standard_normal(shape[::-1]).transpose()
    return rng.standard_normal(shape)


@st.composite
def programs(draw) -> Program:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.integers(0, 9)) == 0:  # (rows of 1024+ elements: the compiled kernels' sizes)
        base = (draw(st.integers(1, 2)), draw(st.integers(32, 40)), 33)[draw(st.integers(0, 1)) :]
    else:
        base = _shape(draw)
    shapes = [base] + [_partner_shape(draw, base) for _ in range(draw(st.integers(0, 2)))]
    leaves = [_leaf(rng, s, draw(st.booleans())) for s in shapes]
    with torch.no_grad():
        vals = [torch.tensor(np.array(a)) for a in leaves]
        live = [True] * len(leaves)  # whether a gradient can reach the node from a leaf
        steps, read = [], set()
        for _ in range(draw(st.integers(2, 12))):
            op = draw(st.sampled_from(CHOICES))
            built = _build(draw, op, vals)
            value = None
            if built is not None:
                op, args, p = built
                value = OPS[op]("torch", [vals[a] for a in args], p)
            if (
                value is None
                or not value.numel()  # (an empty piece of a split: max of it would fail)
                or not bool(value.isfinite().all())
                or _scale(value) > LIMIT
            ):
                op, args, p = "tanh", (_pick(draw, len(vals)),), {}  # (always fits)
                value = vals[args[0]].tanh()
            steps.append(Step(op, args, p))
            vals.append(value)
            differentiable = args[1:] if op == "where" else args  # (not the condition)
            live.append(op != "no_grad" and any(live[a] for a in differentiable))
            read.update(args)
    # the loss reads the last result and some of the others no step reads (the rest are
    # dead ends, whose ops never send a gradient back: the pass must not wait for them)
    last = len(vals) - 1
    sinks = [k for k in range(last) if k not in read and draw(st.integers(0, 3))] + [last]
    if not any(live[k] for k in sinks):
        sinks.insert(0, 0)
    weights = [rng.standard_normal(tuple(vals[k].shape)) for k in sinks]
    compiled = _native._ext is not None and draw(st.booleans())
    return Program(leaves, steps, sinks, weights, draw(st.booleans()), compiled)


# ------------------------------------------------------------------ the check
def _assert_close(got, want, what: str) -> None:
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def check(prog: Program) -> None:
    """Run prog in both engines: every value, and the leaves' gradients."""
    ref_leaves, ref_nodes, ref_loss = run(prog, "torch")
    ref_loss.backward()
    was = _native.enabled
    _native.set_enabled(prog.compiled)
    try:
        leaves, nodes, loss = run(prog, "ts")
        assert loss.shape == () and loss.dtype == np.float64
        loss.backward(retain_graph=prog.twice)
        if prog.twice:
            loss.backward()
    finally:
        _native.set_enabled(was)
    _assert_close(loss.numpy(), ref_loss.detach().numpy(), "loss")
    for k in range(len(nodes)):
        assert nodes[k].shape == tuple(ref_nodes[k].shape), f"v{k}'s shape"
        _assert_close(nodes[k].numpy(), ref_nodes[k].detach().numpy(), f"v{k}")
    times = 2.0 if prog.twice else 1.0
    for k, (x, r) in enumerate(zip(leaves, ref_leaves, strict=True)):
        if r.grad is None:  # (read only through no_grad or detach, or not at all)
            assert x.grad is None or not np.any(x.grad), f"v{k} has a gradient"
            continue
        assert x.grad is not None and x.grad.shape == x.shape, f"v{k}'s gradient"
        assert x.grad.dtype == np.float64
        _assert_close(x.grad, times * r.grad.numpy(), f"gradient of v{k}")
        for other in leaves:  # (a gradient shares no memory: an in-place update of one
            # leaf, or of its gradient, must not change another's)
            assert not np.shares_memory(x.grad, other.data), f"v{k}'s gradient is data"
            if other is not x and other.grad is not None:
                assert not np.shares_memory(x.grad, other.grad), f"v{k}'s gradient is shared"


@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(prog=programs())
def test_random_programs_match_pytorch(prog):
    check(prog)
