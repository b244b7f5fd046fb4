"""In-place operators: a weight updates in place inside no_grad; elsewhere a += b is a + b."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of


def _trained_linear():
    ts.manual_seed(0)
    layer = ts.nn.Linear(3, 2)
    (layer(ts.randn(4, 3)) ** 2).sum().backward()
    return layer


def test_the_manual_update_idiom_changes_each_weight_in_place():
    layer, twin = _trained_linear(), _trained_linear()
    weights = list(layer.parameters())
    with ts.no_grad():
        for p in layer.parameters():
            p -= 0.1 * p.grad
    ts.optim.SGD(twin.parameters(), lr=0.1).step()
    assert [id(p) for p in layer.parameters()] == [id(p) for p in weights]
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]
    for mine, reference in zip(layer.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(ts.backend.to_numpy(mine.data), reference.numpy(), rtol=1e-6)
        assert mine.requires_grad and mine.grad is not None


@pytest.mark.parametrize(
    "update, expected",
    [
        (lambda p: p.__iadd__(2.0), lambda w: w + 2.0),
        (lambda p: p.__isub__(ts.Tensor(np.full(2, 0.5, np.float32))), lambda w: w - 0.5),
        (lambda p: p.__imul__(np.float32(3.0)), lambda w: w * 3.0),
        (lambda p: p.__itruediv__([2.0, 4.0]), lambda w: w / np.array([2.0, 4.0])),
    ],
)
def test_every_in_place_operator_on_a_weight_inside_no_grad(update, expected):
    weight = ts.Tensor(np.arange(1.0, 7.0, dtype=np.float32).reshape(3, 2), requires_grad=True)
    before = weight.numpy().copy()
    with ts.no_grad():
        assert update(weight) is weight
    np.testing.assert_allclose(weight.numpy(), expected(before), rtol=1e-6)
    assert weight.dtype == np.float32 and weight.is_leaf and weight.requires_grad


def test_an_in_place_update_of_a_weight_that_would_be_recorded_is_refused():
    layer = _trained_linear()
    before = layer.W.numpy().copy()
    with pytest.raises(RuntimeError, match=r"-= on 'W'.*ts\.no_grad\(\)"):
        layer.W -= 0.1 * layer.W.grad
    np.testing.assert_array_equal(layer.W.numpy(), before)
    unnamed = ts.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\+= on a weight of shape \(2,\)"):
        unnamed += 1.0


def test_a_weight_keeps_its_shape_and_says_so():
    weight = ts.Tensor(np.ones((2, 2), np.float32), requires_grad=True, name="W")
    with ts.no_grad(), pytest.raises(ValueError, match=r"\(3, 2, 2\).*keep the shape \(2, 2\)"):
        weight += np.ones((3, 2, 2))
    np.testing.assert_array_equal(weight.numpy(), np.ones((2, 2)))


def test_a_computed_tensor_gets_a_new_tensor_and_backward_sees_both_terms():
    x = ts.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    first = y
    y += x  # y = 2x + x
    assert y is not first and y.op == "add"
    np.testing.assert_array_equal(first.numpy(), [2.0, -4.0, 6.0])
    y.sum().backward()
    np.testing.assert_allclose(ts.backend.to_numpy(x.grad), [3.0, 3.0, 3.0])


def test_a_tensor_without_grad_is_not_changed_behind_its_other_names():
    source = np.array([1.0, 2.0])
    t = ts.Tensor(source)  # shares `source` on the NumPy backend
    alias = t
    with ts.no_grad():
        t *= 10.0
    np.testing.assert_array_equal(t.numpy(), [10.0, 20.0])
    np.testing.assert_array_equal(alias.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(source, [1.0, 2.0])


def test_item_assignment_points_to_where_and_the_array():
    t = ts.Tensor(np.zeros(3))
    with pytest.raises(TypeError, match=r"item assignment.*ts\.where.*x\.data\[index\] = value"):
        t[0] = 1.0


def test_a_frozen_weight_is_updated_in_place_and_stays_a_parameter():
    layer = ts.nn.Linear(2, 2)
    layer.W.requires_grad = False  # frozen: no gradient, still a weight of the module
    before = layer.W.numpy().copy()
    with ts.no_grad():
        layer.W -= 1.0
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]
    np.testing.assert_allclose(layer.W.numpy(), before - 1.0)
    layer.W *= 2.0  # nothing to record for a frozen weight: in place outside no_grad too
    np.testing.assert_allclose(layer.W.numpy(), (before - 1.0) * 2.0)


def test_power_updates_in_place_too():
    weight = ts.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    with ts.no_grad():
        weight **= 2
    np.testing.assert_allclose(ts.backend.to_numpy(weight.data), [4.0, 9.0])


@pytest.mark.numpy_only
def test_a_weight_held_as_a_numpy_scalar_is_still_updated():
    weight = ts.Tensor(2.0, requires_grad=True)
    weight.data = weight.data * np.float32(0.5)  # by hand: a NumPy scalar, not an array
    with ts.no_grad():
        weight -= 0.25
    assert weight.item() == pytest.approx(0.75)


@pytest.mark.numpy_only
def test_a_read_only_weight_says_so():
    weight = ts.Tensor(np.broadcast_to(np.ones(3, np.float32), (2, 3)), requires_grad=True)
    with ts.no_grad(), pytest.raises(ValueError, match=r"read-only.*p\.data = p\.data\.copy"):
        weight += 1.0


def test_item_assignment_writes_a_weight_in_place_inside_no_grad():
    emb = ts.nn.Embedding(5, 3)
    table = emb.E.data  # the same array afterwards: written, not replaced
    before = emb.E.numpy().copy()
    with ts.no_grad():
        emb.E[0] = 0.0  # PyTorch's idiom for a padding row
        emb.E[ts.Tensor(np.array([2, 4]))] = ts.Tensor(np.full(3, 7.0, np.float32))
        emb.E[1, :2] = [1.5, 2.5]
    expected = before.copy()
    expected[0] = 0.0
    expected[[2, 4]] = 7.0
    expected[1, :2] = [1.5, 2.5]
    assert emb.E.data is table and emb.E.dtype == np.float32
    np.testing.assert_array_equal(emb.E.numpy(), expected)
    assert [name for name, _ in emb.named_parameters()] == ["E"]


def test_item_assignment_matches_pytorch_with_a_boolean_mask():
    torch = pytest.importorskip("torch")
    values = np.arange(12.0).reshape(3, 4) - 5.0
    ours = ts.Tensor(values.copy(), requires_grad=True)
    theirs = torch.tensor(values.copy(), requires_grad=True)
    with ts.no_grad():
        ours[ours.data > 0] = -1.0
        ours[:, 1] = ts.Tensor(np.array([9.0, 8.0, 7.0]))
    with torch.no_grad():
        theirs[theirs > 0] = -1.0
        theirs[:, 1] = torch.tensor([9.0, 8.0, 7.0], dtype=torch.float64)
    np.testing.assert_array_equal(ts.backend.to_numpy(ours.data), theirs.detach().numpy())


def test_item_assignment_is_noted_so_an_earlier_graph_refuses_its_backward():
    w = ts.Tensor(np.ones((2, 2)), requires_grad=True, name="w")
    loss = (w * w).sum()
    with ts.no_grad():
        w[0, 0] = 3.0
    with pytest.raises(RuntimeError, match=r"'w' before it was changed in place.*p\[i\] = "):
        loss.backward()
    (w * w).sum().backward()  # a graph recorded after the write uses the new value
    np.testing.assert_allclose(ts.backend.to_numpy(w.grad), [[6.0, 2.0], [2.0, 2.0]])


def test_item_assignment_on_a_weight_outside_no_grad_is_refused():
    w = ts.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"item assignment on a weight of shape \(3,\).*no_grad"):
        w[0] = 2.0
    np.testing.assert_array_equal(ts.backend.to_numpy(w.data), [1.0, 1.0, 1.0])


def test_item_assignment_on_a_frozen_parameter_needs_no_no_grad():
    layer = ts.nn.Linear(2, 2)
    layer.b.requires_grad = False
    layer.b[1] = 4.0  # nothing to record for a frozen weight, as `layer.W *= 2.0`
    assert layer.b.numpy()[1] == 4.0


@pytest.mark.parametrize(
    "computed", [lambda w: w * 2.0, lambda w: ts.Tensor(np.ones(3))], ids=["node", "constant"]
)
def test_item_assignment_on_a_tensor_that_is_not_a_weight_is_refused(computed):
    w = ts.Tensor(np.ones(3), requires_grad=True)
    t = computed(w)
    with ts.no_grad(), pytest.raises(TypeError, match=r"ts\.where.*inside `with ts\.no_grad"):
        t[0] = 5.0
    np.testing.assert_array_equal(t.numpy(), np.ones(3) * (2.0 if t._ctx else 1.0))


def test_item_assignment_errors_name_the_weight_and_keep_numpys_reason():
    w = ts.Tensor(np.zeros((2, 2)), requires_grad=True, name="W_hh")
    with ts.no_grad():
        with pytest.raises(IndexError, match=r"on 'W_hh' \(shape \(2, 2\), dtype float64\).*5"):
            w[5] = 1.0
        with pytest.raises(ValueError, match=r"on 'W_hh'.*broadcast.*\(3,\)"):
            w[0] = np.ones(3)
    np.testing.assert_array_equal(ts.backend.to_numpy(w.data), np.zeros((2, 2)))


def test_item_assignment_past_an_axis_is_an_index_error_on_every_backend():
    """NumPy raises for an index array past the axis; CuPy wraps it around (w[[0, 3]] on
    3 elements would write w[0] twice), so the engine checks first, as for reading."""
    xp = ts.backend.xp
    w = ts.Tensor(np.zeros((2, 3)), requires_grad=True, name="w")
    with ts.no_grad():
        with pytest.raises(IndexError, match=r"on 'w'.*index 3 is out of bounds for axis 1"):
            w[:, [0, 3]] = 1.0
        with pytest.raises(IndexError, match=r"on 'w'.*index -3 is out of bounds for axis 0"):
            w[xp.asarray([-3]), xp.asarray([0])] = ts.Tensor([1.0])
        w[[-1], [-3]] = 4.0  # (from the end, within the axis: taken)
    np.testing.assert_array_equal(np_of(w.data), [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    ("index", "value"),
    [
        ([0, 0, 2], np.arange(12.0).reshape(3, 4)),
        ((slice(None), [1, 3, 1]), np.array([[7.0, 8.0, 9.0]])),
        (([1, 1, 1], [3, 3, 0]), np.array([5.0, 6.0, 2.0])),
        ((np.array([[0, 2], [0, 2]]), 0), np.array([[-1.0, -2.0], [-3.0, -4.0]])),
        ([2, 2], 3.0),  # one value for both: the same either way
        (([1, 1], [2, 2]), np.array([5.0, 6.0])),  # (the fewest writes that can clash)
    ],
    ids=["rows", "columns", "pairs", "2-D ids", "a scalar", "one element twice"],
)
def test_item_assignment_through_a_repeated_index_keeps_the_last_value(index, value):
    """NumPy's result (the last of the values meant for an element) on every backend: CuPy
    leaves which one it stores undefined, so the engine writes each element once."""
    expected = np.zeros((3, 4))
    expected[index] = value
    w = ts.Tensor(np.zeros((3, 4)), requires_grad=True)
    with ts.no_grad():
        w[index] = ts.Tensor(value) if isinstance(value, np.ndarray) else value
    np.testing.assert_array_equal(np_of(w.data), expected)


def test_item_assignment_through_random_repeated_arrays_matches_numpy():
    """Index arrays over the leading axes (numbered by entry of those axes alone: an
    embedding's rows), broadcast against each other, negative, beside the axes they leave
    whole, or mixed with an int or a slice: NumPy's result, the last value of each element,
    on every backend."""
    rng = np.random.default_rng(0)
    for case in range(200):
        shape = tuple(int(s) for s in rng.integers(1, 4, size=rng.integers(1, 4)))
        k = int(rng.integers(1, len(shape) + 1))
        length = int(rng.integers(1, 6))
        arrays = [rng.integers(-shape[a], shape[a], size=length) for a in range(k)]
        if k > 1 and case % 3 == 0:  # broadcast: one array a column
            arrays[0] = arrays[0][:, None]
        index = tuple(arrays) if k > 1 or case % 2 else arrays[0]
        if case % 5 == 0 and len(shape) > k:  # an int after the arrays: every element numbered
            index = (*arrays, int(rng.integers(0, shape[k])))
        if case % 7 == 0 and len(shape) > k:  # a slice before them
            axes = range(1, min(k + 1, len(shape)))
            index = (slice(None), *[rng.integers(-shape[a], shape[a], size=length) for a in axes])
        expected = np.zeros(shape)
        value = rng.standard_normal(expected[index].shape)
        expected[index] = value
        w = ts.Tensor(np.zeros(shape), requires_grad=True)
        with ts.no_grad():
            w[index] = ts.Tensor(value)
        np.testing.assert_array_equal(np_of(w.data), expected, err_msg=f"{shape} {index}")


def test_item_assignment_with_a_mask_of_the_wrong_length_is_an_index_error():
    """As reading through it is (NumPy's own check): turned into index arrays first, a mask
    shorter than its axis wrote the elements it reached and said nothing."""
    w = ts.Tensor(np.zeros(3), requires_grad=True, name="w")
    with ts.no_grad():
        for mask in (np.array([True, False]), ts.Tensor(np.array([False, True, True, True]))):
            with pytest.raises(IndexError, match=r"on 'w'.*boolean index did not match"):
                w[mask] = 1.0
        w[np.array([False, True, True])] = 2.0
    np.testing.assert_array_equal(np_of(w.data), [0.0, 2.0, 2.0])


def test_item_assignment_outside_no_grad_names_the_item_assignment_to_write():
    w = ts.Tensor(np.ones(3), requires_grad=True, name="w")
    with pytest.raises(RuntimeError) as caught:
        w[0] = 2.0
    message = str(caught.value)
    assert "`with ts.no_grad():` (w[index] = value)" in message, message
    assert message.endswith("for a new tensor write ts.where(mask, value, w)"), message


def test_item_assignment_takes_tensors_as_index_and_mask():
    """A Tensor of ids or a boolean Tensor (a comparison's result) as the index, as PyTorch's
    `w[w < 0] = 0`: on CuPy, whose arrays take no Tensor, it is the Tensor's array."""
    w = ts.Tensor(np.array([-1.0, 2.0, -3.0, 4.0]), requires_grad=True)
    with ts.no_grad():
        w[w < 0] = 0.0
        w[ts.Tensor(np.array([1, 3]))] = ts.Tensor(np.array([7.0, 8.0]))
    np.testing.assert_array_equal(w.numpy(), [0.0, 7.0, 0.0, 8.0])


@pytest.mark.numpy_only
def test_item_assignment_into_a_weight_held_as_a_numpy_scalar_says_so():
    weight = ts.Tensor(2.0, requires_grad=True)
    weight.data = weight.data * np.float32(0.5)  # by hand: a NumPy scalar, not an array
    with ts.no_grad(), pytest.raises(TypeError, match=r"holds a NumPy scalar, not an array"):
        weight[()] = 3.0
    assert weight.item() == 1.0


@pytest.mark.numpy_only  # (the weight on NumPy, the value on the other backend)
@pytest.mark.skipif("cupy" not in ts.backend.available(), reason="needs CuPy (or its stand-in)")
def test_a_write_from_another_backend_names_both_and_changes_nothing():
    w = ts.Tensor(np.ones(2), requires_grad=True, name="w")
    with ts.backend.using("cupy"):
        value = ts.Tensor(np.array([5.0, 6.0]))
    with ts.no_grad():
        with pytest.raises(ValueError, match=r"item assignment on 'w'.*'cupy'.*'numpy'.*\.to"):
            w[:] = value
        with pytest.raises(ValueError, match=r"-= on 'w'.*'cupy'.*'numpy'.*\.to"):
            w -= value
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0])
