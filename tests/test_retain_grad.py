"""retain_grad: a computed tensor keeps ∂L/∂itself in .grad, as PyTorch's does."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts


def np_of(a):
    return ts.backend.to_numpy(a)


def _unrolled(cell, xs, h, cut_at=None):
    """h_t for every step of `cell` over xs; with `cut_at`, the state entering that step is
    replaced by a leaf of the same value (the gradient there, read off a leaf)."""
    states, leaf = [], None
    for t in range(xs.shape[1]):
        if t == cut_at:
            leaf = h = ts.Tensor(h.numpy(), requires_grad=True)
        h = cell(xs[:, t], h)
        states.append(h)
    return states, leaf


def test_each_hidden_state_keeps_the_gradient_a_leaf_in_its_place_would_get(rng):
    previous = ts.get_default_dtype()
    ts.set_default_dtype("float64")
    try:
        ts.manual_seed(0)
        cell = ts.nn.RNNCell(3, 4)
    finally:
        ts.set_default_dtype(previous)
    xs = ts.Tensor(rng.standard_normal((2, 6, 3)))
    h0 = ts.Tensor(np.zeros((2, 4)))
    states, _ = _unrolled(cell, xs, h0)
    for h in states:
        h.retain_grad()
    (states[-1] ** 2).sum().backward()
    for k in (1, 3, 5):  # ∂L/∂h_{k-1} from a leaf standing for h_{k-1}
        cut_states, leaf = _unrolled(cell, xs, h0, cut_at=k)
        (cut_states[-1] ** 2).sum().backward()
        np.testing.assert_allclose(np_of(states[k - 1].grad), np_of(leaf.grad), rtol=1e-12)
    norms = [np.linalg.norm(np_of(h.grad)) for h in states]
    assert norms[0] < norms[-1]  # (the teaching point: earlier states get less of it)


def test_a_node_used_twice_keeps_the_sum_and_the_root_its_seed():
    x = ts.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    z = y * y + y  # two uses of y, plus one
    z.retain_grad()
    seed = np.array([1.0, 0.5])
    z.backward(seed)
    np.testing.assert_allclose(np_of(y.grad), seed * (2 * np.array([3.0, -6.0]) + 1))
    np.testing.assert_allclose(np_of(z.grad), seed)
    assert np_of(z.grad) is not seed  # a copy: the caller's array is not kept
    assert (y * 1.0).grad is None


def test_retained_gradients_add_up_over_passes_as_a_leafs_do():
    x = ts.Tensor(np.array([0.5, 1.5]), requires_grad=True)
    h = x.tanh()
    h.retain_grad()
    loss = (h * 2.0).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(np_of(h.grad), [4.0, 4.0])
    untouched = (x.exp() * 2.0).sum()  # a node that did not ask keeps no gradient
    untouched.backward()
    assert untouched.grad is None


def test_a_leaf_needs_nothing_and_a_constant_has_no_gradient_to_keep():
    w = ts.Tensor(np.ones(2), requires_grad=True)
    w.retain_grad()  # a leaf keeps its gradient anyway
    (w * 2.0).sum().backward()
    np.testing.assert_allclose(np_of(w.grad), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        ts.Tensor(np.ones(2)).retain_grad()


def test_unrecorded_calls_ignore_it_so_gradcheck_can_run_such_a_function():
    def fn(x):
        h = x * 2.0
        h.retain_grad()  # called again, unrecorded, by gradcheck's finite differences
        return (h * h).sum()

    x = ts.Tensor(np.array([0.5, -1.5]), requires_grad=True)
    assert ts.gradcheck(fn, x)
    with ts.no_grad():
        ts.Tensor(np.ones(2)).retain_grad()  # nothing recorded: nothing to keep, no error


def test_a_retained_0d_gradient_is_an_array():
    x = ts.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    s = x.sum()
    s.retain_grad()
    (s * 3.0).backward()
    (s * 3.0).backward()
    assert isinstance(s.grad, ts.backend.ARRAY_TYPES) and s.grad.shape == ()
    assert float(s.grad) == 6.0


@pytest.mark.parametrize("op", ["relu", "softmax"])
def test_a_node_that_writes_into_its_own_gradient_keeps_the_one_it_got(op, rng):
    # t's one use (a matrix product) hands it a gradient of its own, which t's backward
    # may overwrite with its result (relu zeroes it where t is 0): t.grad must be ∂L/∂t
    # as it arrived, not what backward left in that array
    a = ts.Tensor(rng.standard_normal((8, 6)), requires_grad=True)
    v = ts.Tensor(rng.standard_normal((6, 3)))
    t = a.relu() if op == "relu" else a.softmax(axis=-1)
    t.retain_grad()
    (t @ v).sum().backward()
    expected = np.ones((8, 3)) @ np_of(v.data).T  # ∂L/∂t = 1 vᵀ, in every entry
    np.testing.assert_allclose(np_of(t.grad), expected, rtol=1e-12)


def test_a_float32_node_added_to_a_float64_one_keeps_a_float32_gradient():
    # a + y is float64, and so is the gradient the addition hands back; a's share is cast
    # to a's dtype on the way (as PyTorch's a.grad is float32), not passed down as float64
    x = ts.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = ts.Tensor(np.array([0.5, 0.25]), requires_grad=True)
    a = x * 2.0
    a.retain_grad()
    ((a + y) * 3.0).sum().backward()
    assert a.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_array_equal(np_of(a.grad), [3.0, 3.0])
    np.testing.assert_array_equal(np_of(x.grad), [6.0, 6.0])
