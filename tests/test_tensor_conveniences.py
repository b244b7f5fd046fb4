"""min, var, argmax, squeeze and unsqueeze: written with the engine's own ops, so each is
checked against NumPy and gradient-checked in float64 here; and what the reductions say
about an empty axis."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts


def f64(rng, *shape):
    return ts.Tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 2), False)])
def test_min_and_var_match_numpy_and_gradcheck(rng, axis, keepdims):
    x = f64(rng, 3, 4, 2)
    a = x.numpy()
    np.testing.assert_allclose(x.min(axis, keepdims).numpy(), a.min(axis, keepdims=keepdims))
    np.testing.assert_allclose(
        x.var(axis, keepdims).numpy(), a.var(axis, keepdims=keepdims), rtol=1e-12
    )
    assert ts.gradcheck(lambda x: x.min(axis, keepdims), x)
    assert ts.gradcheck(lambda x: x.var(axis, keepdims), x)


def test_tied_minima_share_the_gradient():
    x = ts.Tensor(np.array([2.0, -1.0, -1.0, 3.0]), requires_grad=True)
    x.min().backward()
    np.testing.assert_allclose(ts.backend.to_numpy(x.grad), [0.0, 0.5, 0.5, 0.0])


def test_var_divides_by_n_as_numpy_does():
    x = ts.Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    assert x.var().item() == pytest.approx(1.25)  # PyTorch's unbiased var: 5/3


def test_argmax_is_numpys_without_a_gradient(rng):
    x = f64(rng, 3, 5)
    a = x.numpy()
    flat, rows = x.argmax(), x.argmax(axis=1)
    assert flat.item() == a.argmax() and rows.numpy().tolist() == a.argmax(axis=1).tolist()
    assert rows.dtype.kind == "i" and not rows.requires_grad and rows.op is None
    assert ts.Tensor(2.0).argmax(axis=0).item() == 0
    with pytest.raises(TypeError, match="one int or None"):
        x.argmax(axis=(0, 1))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        x.argmax(axis=2)


@pytest.mark.parametrize(
    "shape, axis, expected",
    [((2, 3), 0, (1, 2, 3)), ((2, 3), 2, (2, 3, 1)), ((2, 3), -1, (2, 3, 1)), ((), 0, (1,))],
)
def test_unsqueeze_places_the_new_axis(shape, axis, expected):
    x = ts.Tensor(np.ones(shape), requires_grad=True)
    y = x.unsqueeze(axis)
    assert y.shape == expected and y.op == "reshape"
    y.sum().backward()
    assert ts.backend.to_numpy(x.grad).shape == shape


def test_squeeze_drops_size_one_axes_all_or_named():
    x = ts.Tensor(np.ones((1, 3, 1, 2)), requires_grad=True)
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(0).shape == (3, 1, 2) and x.squeeze((0, -2)).shape == (3, 2)
    assert ts.gradcheck(lambda x: x.squeeze(2) * 2.0, x)
    with pytest.raises(ValueError, match=r"axis 1 has size 3, not 1"):
        x.squeeze(1)
    with pytest.raises(ValueError, match="unsqueeze: axis 5 is out of range"):
        x.unsqueeze(5)


@pytest.mark.parametrize(
    "values, expected",
    [(np.array([7, 0, 5], np.uint8), 0), (np.array([True, False]), False)],
)
def test_min_of_unsigned_and_boolean_tensors(values, expected):
    x = ts.Tensor(values)
    assert x.min().item() == expected and x.min().dtype == values.dtype
    assert x.max().item() == values.max()


def test_squeeze_names_the_axis_as_it_was_given():
    with pytest.raises(ValueError, match=r"axis -2 has size 3"):
        ts.Tensor(np.ones((2, 3, 1))).squeeze(-2)


def test_argmax_keeps_the_axis_as_numpys(rng):
    x = f64(rng, 3, 5)
    kept = x.argmax(axis=1, keepdims=True)
    assert kept.shape == (3, 1)
    assert kept.numpy().tolist() == x.numpy().argmax(axis=1, keepdims=True).tolist()
    assert x.argmax(keepdims=True).shape == (1, 1)


@pytest.mark.parametrize(
    "method, why",
    [
        ("mean", "the mean of no numbers is undefined"),
        ("var", "the variance of no numbers is undefined"),
        ("max", "the max of no numbers is undefined"),
        ("min", "the min of no numbers is undefined"),
        ("argmax", "no element can be the largest"),
    ],
)
def test_reducing_an_empty_axis_is_refused_where_the_result_is_undefined(method, why):
    x = ts.Tensor(np.ones((3, 0)), requires_grad=method != "argmax")
    with pytest.raises(
        ValueError, match=rf"^{method}: the tensor of shape \(3, 0\) has size 0 along axis 1: {why}"
    ):
        getattr(x, method)(axis=1)
    with pytest.raises(
        ValueError, match=rf"^{method}: the tensor of shape \(3, 0\) has no elements"
    ):
        getattr(x, method)()
    # reducing an axis that has elements is fine: nothing to take the mean of is not asked
    assert getattr(x, method)(axis=0).shape == (0,)


def test_the_sum_of_an_empty_axis_is_zero_as_in_numpy_and_pytorch():
    x = ts.Tensor(np.ones((3, 0)), requires_grad=True)
    assert x.sum(axis=1).numpy().tolist() == [0.0, 0.0, 0.0] and x.sum().item() == 0.0
    x.sum().backward()
    assert x.grad.shape == (3, 0)


def test_unsqueeze_without_an_axis_says_it_needs_one():
    with pytest.raises(TypeError, match="unsqueeze: missing axis"):
        ts.Tensor(np.ones(2)).unsqueeze()
