"""ts.gradcheck in detail: central differences, a missing gradient, outputs with nothing to
check, the float32 warning for any input; and the cached vectors of ones behind the BLAS
sums (backend.sum_last, backend.sum_leading), one per dtype."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of
from tinygrad_seq.tensor import apply


class ForgetsTheGradient(ts.Function):
    """y = 3x, with a backward that returns no gradient for x (as if it were a constant)."""

    __slots__ = ()
    op_name = "forgets_the_gradient"

    def forward(self, x):
        return 3 * x

    def backward(self, g):
        return (None,)


def test_central_differences_are_exact_for_a_quadratic_even_at_a_large_eps():
    # (x + ε)² − (x − ε)² = 4xε: the slope 2x exactly; a one-sided difference reads 2x + ε
    x = ts.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    assert ts.gradcheck(lambda t: t**2, x, eps=0.1)
    assert ts.gradcheck(lambda t: (t**2).sum(), x, eps=0.1, atol=0, rtol=1e-9)


def test_a_missing_gradient_for_an_input_that_matters_fails(rng):
    x = f64(rng, 3, name="x")
    with pytest.raises(ts.GradcheckError, match=r"x .*analytic 0, numeric 3"):
        ts.gradcheck(lambda a: apply(ForgetsTheGradient(), a).sum(), x)
    with pytest.raises(ts.GradcheckError):  # through the Function's own apply too
        ts.gradcheck(lambda a: ForgetsTheGradient.apply(a), x)


def test_an_output_that_depends_on_no_checked_input_is_refused(rng):
    x = f64(rng, 3)
    with pytest.raises(ValueError, match="does not depend on any checked input"):
        ts.gradcheck(lambda a: a.detach().sum(), x)
    with pytest.raises(ValueError, match="which has no gradient"):
        ts.gradcheck(lambda a: a > 0, x)  # a comparison: booleans
    assert x.grad is None


def test_a_float32_input_after_a_float64_one_warns_too(rng):
    x64 = f64(rng, 3)
    y32 = ts.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float32 input"):
        ts.gradcheck(lambda a, b: (a * b).sum(), x64, y32, eps=1e-2, atol=1e-2)


# ------------------------------------------------------------------ backend: sums as BLAS
def test_sums_as_products_keep_the_dtype_of_each_input_whatever_came_before(monkeypatch, xp):
    monkeypatch.setattr(ts.backend, "_ones_cache", {})  # (a width other tests met first)
    rows = np.arange(12.0).reshape(3, 4)
    for dtype in (np.float64, np.float32, np.float64):
        x = xp.asarray(rows, dtype=dtype)
        total = ts.backend.sum_last(x)
        assert total.dtype == dtype
        np.testing.assert_array_equal(np_of(total), rows.sum(-1, keepdims=True))
        column = ts.backend.sum_leading(x, 1)
        assert column.dtype == dtype
        np.testing.assert_array_equal(np_of(column), rows.sum(0))
