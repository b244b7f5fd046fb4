"""Edges of the primitive ops that a gradient check cannot see: which input a constant
operand's gradient is skipped for, result shapes, error messages, the dtype each backward
hands back, and detect_anomaly telling a carried (masked) inf from a new one, row by row.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of


# ------------------------------------------------------------------ where
def test_where_sends_the_gradient_to_whichever_operand_is_a_tensor():
    cond = np.array([True, False, True, False])
    y = ts.Tensor(np.arange(4.0), requires_grad=True)
    ts.where(cond, np.zeros(4), y).sum().backward()  # a constant x: y still gets ~cond
    np.testing.assert_array_equal(np_of(y.grad), [0.0, 1.0, 0.0, 1.0])
    x = ts.Tensor(np.arange(4.0), requires_grad=True)
    ts.where(cond, x, np.zeros(4)).sum().backward()  # a constant y: x gets cond
    np.testing.assert_array_equal(np_of(x.grad), [1.0, 0.0, 1.0, 0.0])


# ------------------------------------------------------------------ reductions
def test_max_over_an_axis_keeps_the_other_axes_of_size_one():
    x = ts.Tensor(np.array([[[1.0, 5.0, 2.0]], [[7.0, 0.0, 3.0]]]), requires_grad=True)
    out = x.max(axis=2)  # (2, 1, 3) → (2, 1): the size-1 axis 1 stays
    assert out.shape == (2, 1)
    np.testing.assert_array_equal(np_of(out), [[5.0], [7.0]])
    row = ts.Tensor(np.array([[1.0, 4.0, 2.0]]), requires_grad=True)
    assert row.max(axis=1).shape == (1,)
    assert row.max(axis=-1, keepdims=True).shape == (1, 1)
    row.max(axis=1).sum().backward()
    np.testing.assert_array_equal(np_of(row.grad), [[0.0, 1.0, 0.0]])


# ------------------------------------------------------------------ error messages
def test_matmul_mismatch_names_the_right_operands_inner_axis():
    a = ts.Tensor(np.ones((3, 4)))
    cases = [
        (ts.Tensor(np.ones(5)), "the only axis of the right operand (5)"),
        (ts.Tensor(np.ones((5, 2))), "the second-to-last axis of the right operand (5)"),
    ]
    for b, says in cases:
        with pytest.raises(ValueError, match=re.escape(says)):
            a @ b


# ------------------------------------------------------------------ backward dtypes
def test_float16_reductions_and_cross_entropy_hand_back_float16_gradients(xp):
    # ops that do not broadcast must return each gradient in its input's dtype (the
    # engine does not cast it), though they work in float32 inside
    x = ts.Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], np.float16), requires_grad=True)
    (gx,) = x.max(axis=1)._ctx.backward(xp.ones(2, dtype=xp.float16))
    assert gx.dtype == np.float16
    np.testing.assert_array_equal(np_of(gx), [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])  # ties share
    big = ts.Tensor(np.ones(70_000, np.float16), requires_grad=True)  # count past 65504
    (gm,) = big.mean()._ctx.backward(xp.ones((), dtype=xp.float16))
    assert gm.dtype == np.float16
    np.testing.assert_allclose(np_of(gm)[:3], 1 / 70_000, rtol=1e-2)
    logits = ts.Tensor(np.zeros((2, 4), np.float16), requires_grad=True)
    loss = ts.F.cross_entropy(logits, np.array([1, 3]))
    (gl,) = loss._ctx.backward(xp.ones((), dtype=xp.float16))
    assert gl.dtype == np.float16
    expected = np.full((2, 4), 0.125)
    expected[[0, 1], [1, 3]] -= 0.5
    np.testing.assert_allclose(np_of(gl), expected, rtol=1e-3)


def test_float16_log_softmax_gradient_sums_each_row_alone(xp):
    # worked out in float32, g − softmax(x) Σ g over each row (the axis), not over all
    # rows: rows whose gradients differ show it
    data = np.array([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]])
    g = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, -3.0]])
    x = ts.Tensor(data.astype(np.float16), requires_grad=True)
    (gx,) = x.log_softmax(axis=1)._ctx.backward(xp.asarray(g, dtype=xp.float16))
    assert gx.dtype == np.float16
    p = np.exp(data) / np.exp(data).sum(axis=1, keepdims=True)
    expected = g - p * g.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np_of(gx).astype(np.float64), expected, atol=2e-3)


def test_concat_applied_with_a_negative_axis_sends_each_input_its_slab(rng):
    # ts.cat hands Concat a normalised axis; the op made directly keeps its −1
    from tinygrad_seq import ops

    a = ts.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = ts.Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    out = ops.Concat(-1).apply(a, b)
    c = rng.standard_normal((2, 5))
    (out * ts.Tensor(c)).sum().backward()
    np.testing.assert_array_equal(np_of(a.grad), c[:, :3])
    np.testing.assert_array_equal(np_of(b.grad), c[:, 3:])


# ------------------------------------------------------------------ detect_anomaly
def test_detect_anomaly_lets_reductions_over_an_axis_carry_a_masked_row():
    # row 0 holds −inf (a mask); row 1 is finite: its own −inf is carried, nothing new
    masked = np.array([[-np.inf, 1.0], [1.0, 2.0]])
    all_masked = np.array([[-np.inf, -np.inf], [1.0, 2.0]])
    with ts.detect_anomaly():
        for fn, data, expected in (
            (lambda t: t.sum(axis=1), masked, [-np.inf, 3.0]),
            (lambda t: t.mean(axis=1), masked, [-np.inf, 1.5]),
            (lambda t: t.max(axis=1), all_masked, [-np.inf, 2.0]),
        ):
            out = fn(ts.Tensor(data, requires_grad=True))
            np.testing.assert_array_equal(np_of(out), expected)


def test_detect_anomaly_lets_matmul_carry_an_inf_column_of_the_right_operand():
    x = ts.Tensor(np.ones((2, 2)), requires_grad=True)
    w = ts.Tensor(np.array([[1.0, np.inf], [1.0, 1.0]]), requires_grad=True)
    with ts.detect_anomaly():
        out = x @ w  # column 1 of every row meets w's inf: carried, not an anomaly
    np.testing.assert_array_equal(np_of(out), [[2.0, np.inf], [2.0, np.inf]])


def test_detect_anomaly_lets_log_softmax_carry_a_mask_in_any_row():
    data = np.zeros((3, 3))
    data[1, 0] = -np.inf  # a masked entry in row 1, column 0
    with ts.detect_anomaly():
        out = ts.Tensor(data, requires_grad=True).log_softmax()
    got = np_of(out)
    assert got[1, 0] == -np.inf
    np.testing.assert_allclose(got[1, 1:], -np.log(2.0))
    np.testing.assert_allclose(got[[0, 2]], -np.log(3.0))


# ------------------------------------------------------------------ add (compiled rows)
def test_adding_a_one_element_vector_to_a_large_matrix_broadcasts(kernels):
    # large enough for the compiled bias-add; a (1,) vector is no bias row for it
    x = np.arange(64 * 32, dtype=np.float32).reshape(64, 32)
    b = np.array([2.0], np.float32)
    out = ts.Tensor(x) + ts.Tensor(b)
    assert out.shape == (64, 32) and out.dtype == np.float32
    np.testing.assert_array_equal(np_of(out), x + b)
