"""Tensor.topk and Tensor.sort: values with a gradient, int64 indices, ties by position."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_pytorch_and_its_gradient_checks(axis, largest, rng):
    torch = pytest.importorskip("torch")
    x = f64(rng, 3, 5, 4)  # (distinct values: no ties, so the indices must agree too)
    for k in (0, 1, 3):
        values, indices = x.topk(k, axis=axis, largest=largest)
        ref = torch.topk(torch.tensor(x.numpy()), k, dim=axis, largest=largest)
        assert values.shape == tuple(ref.values.shape) and indices.dtype == np.int64
        np.testing.assert_array_equal(values.numpy(), ref.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), ref.indices.numpy())
        assert not indices.requires_grad
    assert ts.gradcheck(lambda t: t.topk(3, axis=axis, largest=largest)[0], x)
    values, indices = x.topk(2, axis=axis, largest=largest)
    (values * values).sum().backward()  # 2 v at each chosen position, 0 elsewhere
    expected = np.zeros(x.shape)
    np.put_along_axis(expected, np_of(indices), 2 * values.numpy(), axis=axis % 3)
    np.testing.assert_array_equal(np_of(x.grad), expected)
    assert (np_of(x.grad) != 0).sum() == indices.numpy().size


def test_topk_breaks_ties_by_position_and_puts_nan_first_as_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0, 2.0, np.nan], [5.0, -1.0, 5.0, 5.0, 0.0]])
    x = ts.Tensor(data, requires_grad=True)
    values, indices = x.topk(3)
    np.testing.assert_array_equal(indices.numpy(), [[4, 1, 2], [0, 2, 3]])  # the rule
    np.testing.assert_array_equal(values.numpy(), torch.topk(torch.tensor(data), 3).values)
    values, indices = x.topk(2, largest=False)
    np.testing.assert_array_equal(indices.numpy(), [[0, 3], [1, 4]])
    # tied values each get their own gradient
    x.topk(2, axis=1)[0].sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [[0, 1, 0, 0, 1], [1, 0, 1, 0, 0]])


@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_pytorchs_stable_sort(descending, rng):
    torch = pytest.importorskip("torch")
    data = rng.integers(0, 4, size=(3, 7)).astype(np.float64)  # many ties
    data[1, 2] = np.nan
    for axis in (0, 1):
        values, indices = ts.Tensor(data).sort(axis=axis, descending=descending)
        ref = torch.sort(torch.tensor(data), dim=axis, descending=descending, stable=True)
        np.testing.assert_array_equal(values.numpy(), ref.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), ref.indices.numpy())
    ints = ts.Tensor(rng.integers(0, 3, size=(8,)))  # integer tensors sort too
    ref = torch.sort(torch.tensor(ints.numpy()), descending=descending, stable=True)
    np.testing.assert_array_equal(ints.sort(descending=descending)[1].numpy(), ref.indices)
    x = f64(rng, 4, 3)
    assert ts.gradcheck(lambda t: t.sort(axis=0, descending=descending)[0], x)


def test_topk_and_sort_refuse_bad_arguments_clearly(rng):
    x = f64(rng, 2, 3)
    with pytest.raises(ValueError, match=r"topk: k=4 is out of range .* give 0 <= k <= 3"):
        x.topk(4)
    with pytest.raises(ValueError, match=r"topk: k=-1 is out of range"):
        x.topk(-1)
    with pytest.raises(TypeError, match=r"topk: k must be an int"):
        x.topk(1.5)
    with pytest.raises(ValueError, match=r"topk: axis 2 is out of range .* \(2, 3\)"):
        x.topk(1, axis=2)
    with pytest.raises(TypeError, match=r"topk: dim= is PyTorch's name for NumPy's axis="):
        x.topk(1, dim=0)
    with pytest.raises(ValueError, match=r"a 0-d tensor has no axis"):
        ts.Tensor(1.0).topk(1)
    with pytest.raises(TypeError, match=r"sort: descending must be"):
        x.sort(descending="yes")
    with pytest.raises(ValueError, match=r"sort: a 0-d tensor"):
        ts.Tensor(1.0).sort()
