"""Finite-difference gradient checks of any function of Tensors."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import numpy as np

from . import backend
from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree (the message names the worst element)."""


def _projected(out: Tensor, v) -> float:
    """Σ out ⊙ v as a Python float."""
    return float((out.data * v).sum())


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare backward's gradients of `fn(*inputs)` with central finite differences.

    Every input with `requires_grad=True` is checked, element by element. A non-scalar
    output is reduced to Σ out ⊙ v with a fixed random v (a vector-Jacobian product, so
    every output element takes part). Returns True, or raises GradcheckError naming the
    worst element's analytic and numeric values. Use float64 inputs: float32 rounding
    swamps the finite differences (a warning says so).
    """
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True; nothing to check")
    for t in checked:
        if t.dtype != np.float64:
            warnings.warn(
                f"gradcheck on a {t.dtype} input: finite differences need float64 to be "
                "reliable (expect spurious failures)",
                stacklevel=2,
            )
            break

    saved_grads = [t.grad for t in checked]
    try:
        for t in checked:
            t.grad = None
        out = fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        xp = backend.array_module(out.data)
        if out.data.size == 1:
            v = xp.ones_like(out.data)
        else:
            v = xp.asarray(np.random.default_rng(seed).standard_normal(out.shape), out.dtype)
        if not out.requires_grad:
            raise ValueError("gradcheck: fn's output does not depend on any checked input")
        out.backward(v)
        analytic = [
            backend.to_numpy(t.grad) if t.grad is not None else np.zeros(t.shape) for t in checked
        ]

        worst = None  # (excess, input number, index, analytic, numeric)
        for k, t in enumerate(checked):
            numeric = np.zeros(t.shape)
            for idx in itertools.product(*(range(n) for n in t.shape)):
                original = t.data[idx].copy() if t.ndim else t.data.copy()
                with no_grad():
                    t.data[idx] = original + eps
                    f_plus = _projected(fn(*inputs), v)
                    t.data[idx] = original - eps
                    f_minus = _projected(fn(*inputs), v)
                    t.data[idx] = original
                numeric[idx] = (f_plus - f_minus) / (2 * eps)
            excess = np.abs(analytic[k] - numeric) - (atol + rtol * np.abs(numeric))
            # NaN or inf on either side is a failure (NaN compares False with everything)
            excess = np.where(np.isfinite(excess), excess, np.inf)
            if excess.size and excess.max() > 0:
                i = np.unravel_index(int(excess.argmax()), excess.shape)
                if worst is None or excess[i] > worst[0]:
                    worst = (excess[i], k, i, analytic[k][i], numeric[i])
        if worst is not None:
            _, k, i, a, n = worst
            position = next(j for j, x in enumerate(inputs) if x is checked[k])
            name = checked[k].name or f"input {position}"
            raise GradcheckError(
                f"gradcheck failed for {name} (shape {tuple(checked[k].shape)}) at index "
                f"{tuple(int(j) for j in i)}: analytic {a:.10g}, numeric {n:.10g} "
                f"(|diff| {abs(a - n):.3g} > atol {atol} + rtol {rtol} * |numeric|)"
            )
        return True
    finally:
        for t, g in zip(checked, saved_grads, strict=True):
            t.grad = g
