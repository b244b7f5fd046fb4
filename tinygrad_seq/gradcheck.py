"""Finite-difference gradient checks of any function of Tensors."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np

from . import backend
from ._checks import as_float
from .autograd import no_grad, state
from .graph import trace
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree (the message names the worst element)."""


# Outputs up to this many elements are checked element by element (the whole Jacobian: one
# backward pass per output element); larger ones through PROJECTIONS random vectors.
FULL_JACOBIAN_OUTPUTS = 512
PROJECTIONS = 8


def _check_number(name: str, value, positive: bool) -> None:
    """A finite real number, > 0 if `positive` (eps: a step of 0 divides by 0), else ≥ 0."""
    value = as_float(value, f"gradcheck: {name}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"gradcheck: {name} must be a finite number {bound}, got {value}")


def _check_deterministic(fn, inputs, out: Tensor, eps: float, atol: float) -> None:
    """Refuse an `fn` whose two calls at the same inputs differ (dropout in training mode):
    finite differences of it measure the noise. A difference of δ moves a numeric
    derivative by δ/2ε, so one that alone could exceed atol counts; below the output
    dtype's rounding nothing does."""
    with no_grad():
        again = fn(*inputs)
    first = backend.to_numpy(out.data).astype(np.float64)
    second = backend.to_numpy(again.data).astype(np.float64)
    if first.shape != second.shape:
        raise ValueError(
            f"gradcheck: fn is not deterministic: two calls at the same inputs returned "
            f"shapes {first.shape} and {second.shape}"
        )
    same = (first == second) | (np.isnan(first) & np.isnan(second))  # inf and NaN too
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(first - second))
    largest = float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0))
    finite = np.abs(first[np.isfinite(first)])
    rounding = 8 * np.finfo(out.dtype).eps * float(finite.max(initial=0.0))
    if largest > max(2 * eps * atol, rounding):
        raise ValueError(
            f"gradcheck: fn is not deterministic: two calls at the same inputs differ by up "
            f"to {largest:.3g}, so finite differences would measure that noise. A random op "
            f"(dropout in training mode: call model.eval() first) or state that fn changes "
            f"between calls does this."
        )


def _kind(x: object) -> str:
    """What `x` is, for a message: "numpy.ndarray", "float", "list of numpy.ndarray"."""
    cls = type(x)
    name = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
    if isinstance(x, list | tuple) and x:
        return f"{name} of {_kind(x[0])}"
    return name


def _nothing_to_check(inputs: tuple) -> Exception:
    """The error for a gradcheck none of whose inputs is a Tensor that requires grad: what
    was given instead (arrays, PyTorch's tuple of inputs, no inputs, constant Tensors)."""
    wrap = "wrap each one to check: ts.Tensor(x, requires_grad=True) (float64, as gradcheck wants)"
    if not inputs:
        return TypeError(f"gradcheck: no inputs given: gradcheck(fn, *inputs); {wrap}")
    for k, x in enumerate(inputs):
        if isinstance(x, list | tuple) and any(isinstance(t, Tensor) for t in x):
            return TypeError(
                f"gradcheck: input {k} is a {type(x).__name__} of Tensors: pass them one by "
                "one, gradcheck(fn, x, y), not in a list or tuple (PyTorch's gradcheck(fn, "
                "(x, y))); fn is called as fn(x, y)"
            )
    if not any(isinstance(x, Tensor) for x in inputs):  # arrays, numbers, lists of them
        given = ", ".join(f"input {k} is a {_kind(x)}" for k, x in enumerate(inputs))
        return TypeError(f"gradcheck: inputs must be Tensors ({given}); {wrap}")
    return ValueError(
        "gradcheck: no input has requires_grad=True; nothing to check: make the inputs to "
        "check with ts.Tensor(x, requires_grad=True) (a Tensor without it is held constant)"
    )


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare backward's gradients of `fn(*inputs)` with central finite differences.

    Every input with `requires_grad=True` is checked, element by element, against every
    output element: the whole Jacobian ∂out/∂input, its rows from one backward pass per
    output element, its columns from (out(x + ε) − out(x − ε)) / 2ε (divided by
    the step the input's dtype could take, which float32 rounds). An output of more
    than FULL_JACOBIAN_OUTPUTS (512) elements is checked through PROJECTIONS (8) fixed
    random vectors v instead (vᵀJ, one backward pass each), which can miss an error
    confined to a few of its elements: check a smaller case for those. Returns True, or
    raises GradcheckError naming the worst entry's analytic and numeric values. Use float64
    inputs: float32 rounding swamps the finite differences (a warning says so). Checked
    inputs must be leaves.

    A function whose two calls at the same inputs differ (dropout in training mode) is
    refused with a ValueError: finite differences of it would measure the noise.

    It leaves no trace: the inputs' arrays are perturbed in copies, and every leaf's
    `.grad` (the inputs' and those of weights `fn` uses) is as it was afterwards, even
    when `fn` raises.
    """
    if not callable(fn):
        raise TypeError(
            f"gradcheck: the first argument is the function to check, got "
            f"{type(fn).__name__} {fn!r}: gradcheck(fn, *inputs)"
        )
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise _nothing_to_check(inputs)
    _check_number("eps", eps, positive=True)
    eps = float(eps)  # (a 0-d NumPy array would not combine with a CuPy element)
    _check_number("atol", atol, positive=False)
    _check_number("rtol", rtol, positive=False)
    for k, t in enumerate(checked):
        if t._ctx is not None:  # backward keeps no .grad on it: the check would see zeros
            raise ValueError(
                f"gradcheck: checked input {k} was made by '{t._ctx.op_name}', not a leaf, so "
                "backward keeps no gradient on it; check a leaf instead, e.g. "
                "ts.Tensor(y.data.copy(), requires_grad=True)"
            )
    for t in checked:
        if t.dtype != np.float64:
            warnings.warn(
                f"gradcheck on a {t.dtype} input: finite differences need float64 to be "
                "reliable (expect spurious failures)",
                stacklevel=2,
            )
            break

    # Nothing the check does may outlast it: the inputs' arrays are perturbed in copies (a
    # read-only array works too, and an error midway leaves no input shifted by eps), and
    # every leaf's .grad (the inputs' and those of weights fn closes over, which backward
    # adds into) is put back as it was.
    saved_data: dict[int, tuple[Tensor, object]] = {}  # id -> (tensor, its own array)
    saved_grads: dict[int, tuple[Tensor, object]] = {}  # id -> (tensor, its .grad)
    try:
        for t in checked:
            if id(t) not in saved_data:  # (an input passed twice is copied once)
                saved_data[id(t)] = (t, t.data)
                saved_grads[id(t)] = (t, t.grad)
                t.grad = None
                t.data = t.data.copy()
        out = fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        if not out.requires_grad:
            if not state.grad_enabled:
                raise RuntimeError(
                    "gradcheck: gradients are not being recorded (called inside ts.no_grad()); "
                    "call it outside, or inside ts.enable_grad()"
                )
            if out.dtype.kind != "f":  # a comparison, an argmax: no gradient to check
                raise ValueError(
                    f"gradcheck: fn returned a {out.dtype} tensor, which has no gradient "
                    "(comparisons and integer results have none): return a float tensor"
                )
            raise ValueError("gradcheck: fn's output does not depend on any checked input")
        _check_deterministic(fn, inputs, out, eps, atol)
        xp = backend.array_module(out.data)
        n_out = out.data.size
        full = n_out <= FULL_JACOBIAN_OUTPUTS
        if full:  # the rows of the identity: backward with each gives a row of J
            V = np.eye(n_out)
        else:
            V = np.random.default_rng(seed).standard_normal((PROJECTIONS, n_out))
        # the leaves backward adds into (weights fn uses too)
        for leaf in trace(out).tensors:
            if leaf._ctx is None and leaf.requires_grad and id(leaf) not in saved_grads:
                saved_grads[id(leaf)] = (leaf, leaf.grad)
                leaf.grad = None
        analytic = [np.zeros((len(V), *t.shape)) for t in checked]  # [k][r] = (vᵣᵀ J)_k
        for r, v in enumerate(V):
            for leaf, _ in saved_grads.values():
                leaf.grad = None
            out.backward(xp.asarray(v.reshape(out.shape), out.dtype), retain_graph=r < len(V) - 1)
            for k, t in enumerate(checked):
                if t.grad is not None:
                    analytic[k][r] = backend.to_numpy(t.grad)

        worst = None  # (excess, input number, index, row, analytic, numeric)
        for k, t in enumerate(checked):
            numeric = np.zeros((len(V), *t.shape))
            for idx in itertools.product(*(range(n) for n in t.shape)):
                original = t.data[idx].copy() if t.ndim else t.data.copy()
                with no_grad():
                    t.data[idx] = original + eps
                    x_plus = float(backend.to_numpy(t.data[idx]))
                    f_plus = backend.to_numpy(fn(*inputs).data).astype(np.float64)
                    t.data[idx] = original - eps
                    x_minus = float(backend.to_numpy(t.data[idx]))
                    f_minus = backend.to_numpy(fn(*inputs).data).astype(np.float64)
                    t.data[idx] = original
                # divided by the step the input's dtype could take (float32 at x = 1
                # rounds x ± 1e-3 by up to ~5 %), not the one asked for
                step = (x_plus - x_minus) or 2 * eps
                # the difference first, then the projection: a large output's rounding
                # would swamp the difference of two projections
                column = (f_plus - f_minus).reshape(-1) / step  # ∂out/∂x[idx]
                numeric[(slice(None), *idx)] = column if full else V @ column
            excess = np.abs(analytic[k] - numeric) - (atol + rtol * np.abs(numeric))
            # NaN or inf on either side is a failure (NaN compares False with everything)
            excess = np.where(np.isfinite(excess), excess, np.inf)
            if excess.size and excess.max() > 0:
                r, *i = np.unravel_index(int(excess.argmax()), excess.shape)
                i = tuple(i)
                if worst is None or excess[(r, *i)] > worst[0]:
                    worst = (excess[(r, *i)], k, i, r, analytic[k][(r, *i)], numeric[(r, *i)])
        if worst is not None:
            _, k, i, r, a, n = worst
            position = next(j for j, x in enumerate(inputs) if x is checked[k])
            name = checked[k].name or f"input {position}"
            if n_out == 1:
                which = ""
            elif full:
                which = (
                    f" of output element {tuple(int(j) for j in np.unravel_index(r, out.shape))}"
                )
            else:
                which = f" of random projection {r} of the output"
            raise GradcheckError(
                f"gradcheck failed for {name} (shape {tuple(checked[k].shape)}) at index "
                f"{tuple(int(j) for j in i)}{which}: analytic {a:.10g}, numeric {n:.10g} "
                f"(|diff| {abs(a - n):.3g} > atol {atol} + rtol {rtol} * |numeric|)"
            )
        return True
    finally:
        for t, data in saved_data.values():
            t.data = data
        for t, grad in saved_grads.values():
            t.grad = grad
