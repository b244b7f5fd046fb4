"""ts.gradcheck itself: it passes correct gradients, catches a wrong one (naming the worst
element's analytic and numeric values), warns on float32, handles non-scalar outputs.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of
from tinygrad_seq.tensor import apply


class WrongSquare(ts.Function):
    """y = x², with a backward that forgets the factor 2 (returns g·x instead of 2g·x)."""

    __slots__ = ()
    op_name = "wrong_square"

    def forward(self, x):
        self.saved = x
        return x * x

    def backward(self, g):
        return (g * self.saved,)


class RightSquare(WrongSquare):
    __slots__ = ()
    op_name = "right_square"

    def backward(self, g):
        return (2 * g * self.saved,)


def test_passes_correct_gradients(rng):
    x, w = f64(rng, 3, 4), f64(rng, 4, 2)
    assert ts.gradcheck(lambda a, b: ((a @ b).tanh() ** 2).sum(), x, w) is True
    assert ts.gradcheck(lambda a: apply(RightSquare(), a).sum(), x) is True


def test_catches_a_wrong_backward_and_names_the_values(rng):
    x = ts.Tensor(np.array([[0.5, -2.0], [1.5, 3.0]]), requires_grad=True, name="x")
    with pytest.raises(ts.GradcheckError) as info:
        ts.gradcheck(lambda a: apply(WrongSquare(), a).sum(), x)
    message = str(info.value)
    assert "x" in message and "(2, 2)" in message
    # The worst element is the largest |x|: analytic x = 3, numeric 2x = 6.
    assert "(1, 1)" in message
    analytic = float(re.search(r"analytic ([-\d.e+]+)", message).group(1))
    numeric = float(re.search(r"numeric ([-\d.e+]+)", message).group(1))
    assert analytic == pytest.approx(3.0, rel=1e-9)
    assert numeric == pytest.approx(6.0, rel=1e-6)
    assert isinstance(info.value, AssertionError)


class NaNSquare(WrongSquare):
    """y = x², with a backward whose gradient is NaN at one element."""

    __slots__ = ()
    op_name = "nan_square"

    def backward(self, g):
        d = 2 * g * self.saved
        d[(0,) * d.ndim] = np.nan
        return (d,)


def test_catches_a_nan_gradient(rng):
    # NaN compares False with any tolerance: the check must count it as a failure
    x = f64(rng, 2, 3, name="x")
    with pytest.raises(ts.GradcheckError, match=r"x.*\(0, 0\): analytic nan"):
        ts.gradcheck(lambda a: apply(NaNSquare(), a).sum(), x)


def test_catches_a_wrong_gradient_in_the_second_input(rng):
    a, b = f64(rng, 3), f64(rng, 3, name="b")
    with pytest.raises(ts.GradcheckError, match=r"\bb\b.*analytic.*numeric"):
        ts.gradcheck(lambda p, q: (p * apply(WrongSquare(), q)).sum(), a, b)


def test_non_scalar_outputs(rng):
    x = f64(rng, 2, 3)
    assert ts.gradcheck(lambda a: a.tanh() * 3, x)
    assert ts.gradcheck(lambda a: a.T @ a, x)
    with pytest.raises(ts.GradcheckError):
        ts.gradcheck(lambda a: apply(WrongSquare(), a), x)


def _matvec_with_one_wrong_row(W, j, scale):
    """y = x W with a backward that scales output j's gradient by `scale` (0: drops it)."""

    class MatVecOneRowWrong(ts.Function):
        __slots__ = ()
        op_name = "matvec_one_row_wrong"

        def forward(self, x):
            return x @ W

        def backward(self, g):
            g = g.copy()
            g[:, j] *= scale
            return (g @ W.T,)

    return MatVecOneRowWrong


@pytest.mark.parametrize("scale", [0.0, 1.01])
def test_an_error_in_one_output_elements_gradient_is_caught_wherever_it_is(rng, scale):
    # one random projection vᵀJ let a 1 % error in output 52 of 200 through (its v_j was
    # −0.0045, and 57 of the 200 outputs slipped by at 1 %): the whole Jacobian is compared
    W = ts.backend.xp.asarray(rng.standard_normal((3, 200)))  # on the test's backend
    x = f64(rng, 1, 3)
    for j in (0, 52, 117, 199):
        op = _matvec_with_one_wrong_row(W, j, scale)
        with pytest.raises(ts.GradcheckError, match=rf"of output element \(0, {j}\)"):
            ts.gradcheck(lambda a, op=op: apply(op(), a), x)
    assert ts.gradcheck(lambda a: apply(_matvec_with_one_wrong_row(W, 0, 1.0)(), a), x)


def test_large_output_values_do_not_swamp_the_finite_differences(rng):
    # projecting each output first and differencing the two sums lost a 1e-8 difference
    # in sums near 1e6: a correct tanh(x) + 1e5 failed
    x = f64(rng, 200)
    assert ts.gradcheck(lambda a: a.tanh() + 1e5, x)


def test_outputs_past_the_full_jacobian_size_are_checked_by_projections(rng, monkeypatch):
    import importlib

    module = importlib.import_module("tinygrad_seq.gradcheck")  # (ts.gradcheck: the function)
    monkeypatch.setattr(module, "FULL_JACOBIAN_OUTPUTS", 4)
    x = f64(rng, 2, 3)
    assert ts.gradcheck(lambda a: a.tanh() * 3, x)  # 6 outputs: 8 projections
    with pytest.raises(ts.GradcheckError, match="random projection"):
        ts.gradcheck(lambda a: apply(WrongSquare(), a), x)
    # one backward pass per projection (not per output element, not just one)
    passes = []

    class CountedSquare(RightSquare):
        __slots__ = ()

        def backward(self, g):
            passes.append(g)
            return super().backward(g)

    assert ts.gradcheck(lambda a: apply(CountedSquare(), a), x)
    assert len(passes) == module.PROJECTIONS == 8
    monkeypatch.setattr(module, "FULL_JACOBIAN_OUTPUTS", 6)  # now the whole Jacobian
    passes.clear()
    assert ts.gradcheck(lambda a: apply(CountedSquare(), a), x)
    assert len(passes) == 6


def test_under_no_grad_the_error_says_recording_is_off(rng):
    x = f64(rng, 3)
    with ts.no_grad(), pytest.raises(RuntimeError, match="not being recorded.*no_grad"):
        ts.gradcheck(lambda a: a.tanh(), x)


def test_warns_on_float32_inputs(rng):
    x = ts.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        ts.gradcheck(lambda a: (a * 2).sum(), x, eps=1e-2, atol=1e-2)


def test_float32_differences_divide_by_the_step_the_dtype_took():
    # float32 cannot hold 1 ± 1e-3 (nor 3 ± 1e-3) exactly: dividing by 2ε read 2x's slope
    # as ~2.0003 and ~1.9998, and the check failed at a tight tolerance
    x = ts.Tensor(np.array([1.0, 3.0], np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        assert ts.gradcheck(lambda a: a * 2, x, eps=1e-3, atol=0, rtol=1e-6)


def test_no_warning_on_float64_inputs(rng):
    x = f64(rng, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ts.gradcheck(lambda a: (a * 2).sum(), x)


def test_leaves_grads_and_data_as_they_were(rng):
    x = f64(rng, 3)
    before = x.numpy()
    x.grad = ts.backend.array_module(x.data).full(3, 7.0)
    ts.gradcheck(lambda a: (a**3).sum(), x)
    np.testing.assert_array_equal(np_of(x.grad), np.full(3, 7.0))
    np.testing.assert_array_equal(x.numpy(), before)


def test_constant_inputs_are_skipped(rng):
    x, c = f64(rng, 3), f64(rng, 3, requires_grad=False)
    assert ts.gradcheck(lambda a, k: (a * k).exp().sum(), x, c)


def test_an_input_the_output_ignores_gets_zero_gradient(rng):
    x, unused = f64(rng, 3), f64(rng, 2)
    assert ts.gradcheck(lambda a, b: a.sum(), x, unused)


def test_0d_inputs(rng):
    x = ts.Tensor(np.float64(0.7), requires_grad=True)
    assert ts.gradcheck(lambda a: (a * a).tanh(), x)


def test_usage_errors(rng):
    with pytest.raises(ValueError, match="requires_grad"):
        ts.gradcheck(lambda a: a.sum(), f64(rng, 2, requires_grad=False))
    with pytest.raises(TypeError, match="Tensor"):
        ts.gradcheck(lambda a: 3.0, f64(rng, 2))


def test_inputs_that_are_not_tensors_are_told_to_be_wrapped(rng):
    a = rng.standard_normal(3)
    wrap = r"; wrap each one to check: ts\.Tensor\(x, requires_grad=True\)"
    ndarray = r"^gradcheck: inputs must be Tensors \(input 0 is a numpy\.ndarray\)"
    with pytest.raises(TypeError, match=ndarray + wrap):
        ts.gradcheck(lambda x: x.sum(), a)
    with pytest.raises(TypeError, match=r"\(input 0 is a list of numpy\.ndarray\)" + wrap):
        ts.gradcheck(lambda x: x.sum(), [a])
    with pytest.raises(TypeError, match=r"\(input 0 is a float, input 1 is a list of float\)"):
        ts.gradcheck(lambda x, y: x * y, 2.0, [1.0])
    with pytest.raises(TypeError, match=r"^gradcheck: no inputs given"):
        ts.gradcheck(lambda: ts.Tensor(1.0))
    # PyTorch's gradcheck(fn, (x, y)): the Tensors one by one
    x, y = f64(rng, 3), f64(rng, 3)
    with pytest.raises(TypeError, match=r"input 0 is a tuple of Tensors: pass them one by one"):
        ts.gradcheck(lambda p, q: (p * q).sum(), (x, y))
    assert ts.gradcheck(lambda p, q: (p * q).sum(), x, y)  # as the message says
    assert ts.gradcheck(lambda p: p.sum(), ts.Tensor(a, requires_grad=True))  # and wrapped
    # Tensors, none of them requiring grad: the ValueError says how to make one
    with pytest.raises(ValueError, match=r"no input has requires_grad=True.*ts\.Tensor\(x, "):
        ts.gradcheck(lambda p: p.sum(), ts.Tensor(a))
    # ... also beside an array: the Tensor given is one, and it is told how to make it count
    with pytest.raises(ValueError, match=r"no input has requires_grad=True"):
        ts.gradcheck(lambda p, q: p.sum(), ts.Tensor(a), a)
    with pytest.raises(TypeError, match=r"\(input 0 is a list, input 1 is a tuple\)" + wrap):
        ts.gradcheck(lambda p, q: p, [], ())  # (empty: nothing inside to name)
    # a tuple holding a Tensor beside a number: still PyTorch's tuple of inputs
    with pytest.raises(TypeError, match=r"input 0 is a tuple of Tensors: pass them one by one"):
        ts.gradcheck(lambda p, q: (p * q).sum(), (x, 2.0))


def test_an_error_inside_fn_leaves_the_input_unshifted(rng):
    x = f64(rng, 3)
    before = x.numpy()
    calls = []

    def fails_on_the_second_call(a):
        calls.append(1)
        if len(calls) == 2:  # the first finite difference, after the input was moved by eps
            raise RuntimeError("boom")
        return (a * a).sum()

    with pytest.raises(RuntimeError, match="boom"):
        ts.gradcheck(fails_on_the_second_call, x)
    np.testing.assert_array_equal(x.numpy(), before)


def test_weights_fn_closes_over_keep_their_grad(rng):
    x, W = f64(rng, 4, 3), f64(rng, 3, 2)
    W.grad = ts.backend.array_module(W.data).full((3, 2), 5.0)
    assert ts.gradcheck(lambda a: (a @ W).tanh(), x)
    np.testing.assert_array_equal(np_of(W.grad), np.full((3, 2), 5.0))
    V = f64(rng, 3, 2)  # one with no gradient yet stays without
    ts.gradcheck(lambda a: (a @ V).sum(), x)
    assert V.grad is None


def test_a_non_leaf_input_is_refused_not_failed(rng):
    y = f64(rng, 3) * 0.5  # made by an op: backward keeps no gradient on it
    with pytest.raises(ValueError, match="made by 'mul', not a leaf"):
        ts.gradcheck(lambda a: (a * a).sum(), y)


def test_a_read_only_array_and_an_input_passed_twice(rng):
    data = rng.standard_normal(3)
    data.flags.writeable = False
    x = ts.Tensor(data, requires_grad=True)
    own = x.data
    assert ts.gradcheck(lambda a, b: (a * b).sum(), x, x)
    assert x.data is own
    assert x.grad is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"eps": 0}, ValueError, "eps must be a finite number > 0"),
        ({"eps": float("nan")}, ValueError, "eps must be"),
        ({"eps": "1e-6"}, TypeError, "eps must be a number, got str"),
        ({"atol": -1.0}, ValueError, "atol must be a finite number >= 0"),
        ({"rtol": True}, TypeError, "rtol must be a number"),
    ],
)
def test_bad_tolerances_are_named(rng, kwargs, error, match):
    with pytest.raises(error, match=match):
        ts.gradcheck(lambda a: a.sum(), f64(rng, 2), **kwargs)


def test_the_default_tolerances_catch_a_truncation_error_of_a_third_of_a_percent():
    """Central differences of 0.01 a³ at a = 1 with eps = 0.1: numeric 0.0301, analytic
    0.03, off by 1e-4, past atol + rtol·|numeric| = 1e-5 + 3e-5 (float64)."""
    a = ts.Tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(AssertionError, match="analytic"):
        ts.gradcheck(lambda t: 0.01 * t**3, a, eps=0.1)
    assert ts.gradcheck(lambda t: 0.01 * t**3, a, eps=1e-6)


def test_the_error_names_the_worst_input_not_the_first_that_fails():
    small = ts.Tensor(np.array([0.1, -0.2]), requires_grad=True, name="small")
    large = ts.Tensor(np.array([3.0, 1.0]), requires_grad=True, name="large")
    with pytest.raises(ts.GradcheckError, match=r"^gradcheck failed for large .*\(0,\)"):
        ts.gradcheck(
            lambda p, q: (apply(WrongSquare(), p) + apply(WrongSquare(), q)).sum(), small, large
        )


def test_an_unnamed_input_is_named_by_its_position_among_all_inputs(rng):
    constant, x = ts.Tensor(np.array([2.0, 2.0])), f64(rng, 2)  # only x is checked
    with pytest.raises(ts.GradcheckError, match=r"^gradcheck failed for input 1 "):
        ts.gradcheck(lambda c, a: (c * apply(WrongSquare(), a)).sum(), constant, x)


def test_several_float32_inputs_warn_once(rng):
    a, b = (ts.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True) for _ in "ab")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ts.gradcheck(lambda p, q: (p * q).sum(), a, b, eps=1e-2, atol=1e-2)
    assert [str(w.message)[:25] for w in caught] == ["gradcheck on a float32 in"]


def test_each_element_is_put_back_before_the_next_is_moved():
    """∂(c·x₀x₁)/∂x₁ = c·x₀ = 0 at x₀ = 0; measured with x₀ still moved by −ε it would read
    −c·ε = −1e-3, past atol."""
    x = ts.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    assert ts.gradcheck(lambda a: 1e3 * a[0] * a[1], x)


def test_the_seed_picks_the_projections(rng, monkeypatch):
    import importlib

    module = importlib.import_module("tinygrad_seq.gradcheck")
    monkeypatch.setattr(module, "FULL_JACOBIAN_OUTPUTS", 4)
    x = f64(rng, 2, 3)

    def message(seed):
        with pytest.raises(ts.GradcheckError, match="random projection") as info:
            ts.gradcheck(lambda a: apply(WrongSquare(), a), x, seed=seed)
        return str(info.value)

    assert message(0) == message(0)  # the same projections for the same seed
    assert message(0) != message(1)
