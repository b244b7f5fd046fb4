"""min, var, argmax, squeeze, unsqueeze, clone, zeros_like and ones_like: each checked
against NumPy and, where it has a gradient, gradient-checked in float64 here; and what the
reductions say about an empty axis."""

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
    with pytest.raises(TypeError, match=r"argmax: keepdims must be True or False, got str 'no'"):
        x.argmax(axis=1, keepdims="no")  # (NumPy would read any string as True)


def test_clone_is_a_recorded_copy_whose_gradient_flows_back(rng):
    x = f64(rng, 2, 3)
    y = x.clone()
    assert y.op == "clone" and y.parents == (x,) and y.requires_grad
    assert y.dtype == x.dtype and y.data is not x.data
    y.data[0, 0] = 100.0  # its own memory, unlike detach()
    assert x.numpy()[0, 0] != 100.0 and x.detach().data is x.data
    assert ts.gradcheck(lambda x: x.clone() * x, x)
    ids = ts.Tensor(np.array([3, 1, 2]))
    copied = ids.clone()  # integers too, without a gradient
    assert copied.dtype == ids.dtype and not copied.requires_grad
    assert copied.numpy().tolist() == [3, 1, 2]


@pytest.mark.parametrize("factory, value", [(ts.zeros_like, 0.0), (ts.ones_like, 1.0)])
def test_zeros_like_and_ones_like_take_shape_dtype_and_backend(factory, value, backend):
    x = ts.Tensor(np.ones((2, 3), np.float64))
    made = factory(x)
    assert made.shape == (2, 3) and made.dtype == np.float64 and made.backend == backend
    assert (made.numpy() == value).all() and not made.requires_grad
    assert factory(ts.Tensor(np.ones(4, np.int32))).dtype == np.int32  # as NumPy's
    assert factory(np.ones((3, 1), np.float32)).shape == (3, 1)  # an array too
    assert factory(x, dtype="float32").dtype == np.float32
    weights = factory(x, requires_grad=True)
    assert weights.requires_grad and weights.is_leaf
    with pytest.raises(TypeError, match="only float tensors can require gradients"):
        factory(ts.Tensor(np.ones(2, np.int64)), requires_grad=True)
    name = factory.__name__
    with pytest.raises(TypeError, match=rf"^{name}: expected a Tensor or an array, got tuple"):
        factory((2, 3))  # (the shape goes to ts.zeros / ts.ones)

    class Table:  # a shape but no dtype, as a pandas DataFrame: not an array
        shape = (2, 3)

    with pytest.raises(TypeError, match=rf"^{name}: expected a Tensor or an array, got Table"):
        factory(Table())


_UNDEFINED_ON_EMPTY = [
    ("mean", "the mean of no numbers is undefined"),
    ("var", "the variance of no numbers is undefined"),
    ("max", "the max of no numbers is undefined"),
    ("min", "the min of no numbers is undefined"),
    ("argmax", "no element can be the largest"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
@pytest.mark.parametrize("method, why", _UNDEFINED_ON_EMPTY)
def test_reducing_an_empty_axis_is_refused_where_the_result_is_undefined(method, why, dtype):
    # integer tensors too (token ids: min, max and argmax take their own path there)
    grad = method != "argmax" and dtype == np.float64
    x = ts.Tensor(np.ones((3, 0), dtype), requires_grad=grad)
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


@pytest.mark.parametrize("method, why", _UNDEFINED_ON_EMPTY[:4])
def test_the_empty_axis_is_found_among_several_and_named_alike_however_given(method, why):
    x = ts.Tensor(np.ones((3, 0)))
    # axis 0 has elements, axis 1 none; a list of axes reads as the tuple, and an axis is
    # named as it was given
    for axis, named in [((0, 1), 1), ((1, 0), 1), ([0, 1], 1), ((0, -1), -1), (-1, -1)]:
        with pytest.raises(ValueError, match=rf"^{method}: .* size 0 along axis {named}: {why}"):
            getattr(x, method)(axis=axis)


def test_the_sum_of_an_empty_axis_is_zero_as_in_numpy_and_pytorch():
    x = ts.Tensor(np.ones((3, 0)), requires_grad=True)
    assert x.sum(axis=1).numpy().tolist() == [0.0, 0.0, 0.0] and x.sum().item() == 0.0
    x.sum().backward()
    assert x.grad.shape == (3, 0)


def test_unsqueeze_without_an_axis_says_it_needs_one():
    with pytest.raises(TypeError, match="unsqueeze: missing axis"):
        ts.Tensor(np.ones(2)).unsqueeze()
