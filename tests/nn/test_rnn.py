"""RNNCell and RNN: the seed's h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), checked against a
NumPy reference (forward and a hand-written BPTT), by finite differences, with padding
masks, over 1000 steps, and in the recorded graph."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of
from tinygrad_seq.nn import RNN, RNNCell

B, D, H, T = 2, 3, 4, 3


@pytest.fixture(autouse=True)
def float64():
    ts.set_default_dtype(np.float64)  # the conftest fixture restores the default afterwards


def weights(rnn: RNN | RNNCell) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cell = rnn.cell if isinstance(rnn, RNN) else rnn
    return np_of(cell.W_xh), np_of(cell.W_hh), np_of(cell.b_h)


# ----------------------------------------------------------------- the reference, from the seed
def reference_forward(xs, h0, W_xh, W_hh, b_h):
    """hs (B, T, h): h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), one column vector at a time."""
    batch, steps, _ = xs.shape
    hs = np.zeros((batch, steps, W_hh.shape[0]))
    for b in range(batch):
        h = h0[b]
        for t in range(steps):
            h = np.tanh(W_hh @ h + W_xh @ xs[b, t] + b_h)
            hs[b, t] = h
    return hs


def reference_bptt(xs, h0, W_xh, W_hh, hs, G):
    """Gradients of L = Σ_t G_t · h_t by backpropagation through time, written out."""
    dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dxs = np.zeros_like(xs)
    dh = np.zeros_like(h0)  # ∂L/∂h_t arriving from step t+1
    for t in reversed(range(xs.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else h0
        dh = dh + G[:, t]  # h_t feeds the loss directly and the next step
        da = dh * (1 - hs[:, t] ** 2)  # through tanh: tanh' = 1 − h_t²
        dW_hh += da.T @ h_prev  # Σ_b da_b h_{t-1,b}ᵀ
        dW_xh += da.T @ xs[:, t]
        db_h += da.sum(axis=0)
        dxs[:, t] = da @ W_xh
        dh = da @ W_hh  # ∂h_t/∂h_{t-1} = diag(tanh') W_hh
    return dxs, dh, dW_xh, dW_hh, db_h


# ----------------------------------------------------------------- values
def test_cell_parameters_have_the_seeds_names_and_shapes():
    cell = RNNCell(D, H)
    assert {n: p.shape for n, p in cell.named_parameters()} == {
        "W_xh": (H, D),
        "W_hh": (H, H),
        "b_h": (H,),
    }


def test_cell_matches_the_seed_equation(rng):
    cell = RNNCell(D, H)
    x, h = f64(rng, B, D), f64(rng, B, H)
    W_xh, W_hh, b_h = weights(cell)
    expected = np.stack([np.tanh(W_hh @ np_of(h)[b] + W_xh @ np_of(x)[b] + b_h) for b in range(B)])
    h_t = cell(x, h)
    np.testing.assert_allclose(h_t.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert h_t.name == "h_t"


def test_cell_without_state_starts_from_zeros(rng):
    cell = RNNCell(D, H)
    x = f64(rng, B, D)
    np.testing.assert_allclose(cell(x).numpy(), cell(x, ts.zeros(B, H, dtype=np.float64)).numpy())


def test_forward_and_bptt_match_the_numpy_reference(rng):
    rnn = RNN(D, H)
    xs, h0 = f64(rng, B, T, D), f64(rng, B, H)
    G = rng.standard_normal((B, T, H))
    hs, h_T = rnn(xs, h0)
    expected = reference_forward(np_of(xs), np_of(h0), *weights(rnn))
    np.testing.assert_allclose(hs.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_T.numpy(), expected[:, -1], rtol=1e-12, atol=1e-12)

    (hs * ts.Tensor(G)).sum().backward()
    W_xh, W_hh, _ = weights(rnn)
    dxs, dh0, dW_xh, dW_hh, db_h = reference_bptt(np_of(xs), np_of(h0), W_xh, W_hh, expected, G)
    for got, want in [
        (xs.grad, dxs),
        (h0.grad, dh0),
        (rnn.cell.W_xh.grad, dW_xh),
        (rnn.cell.W_hh.grad, dW_hh),
        (rnn.cell.b_h.grad, db_h),
    ]:
        np.testing.assert_allclose(np_of(got), want, rtol=1e-10, atol=1e-12)


def test_output_layer_is_y_t_equals_W_hy_h_t_plus_b_y(rng):
    rnn = RNN(D, H, output=5)
    hs, _ = rnn(f64(rng, B, T, D))
    ys = rnn.output(hs)
    W_hy, b_y = np_of(rnn.W_hy), np_of(rnn.b_y)
    assert W_hy.shape == (5, H) and b_y.shape == (5,)
    expected = np.einsum("oh,bth->bto", W_hy, hs.numpy()) + b_y
    np.testing.assert_allclose(ys.numpy(), expected, rtol=1e-12, atol=1e-12)
    # a module's own parameters first, then its submodules' (as PyTorch orders them)
    assert [n for n, _ in rnn.named_parameters()] == [
        "W_hy",
        "b_y",
        "cell.W_xh",
        "cell.W_hh",
        "cell.b_h",
    ]


# ----------------------------------------------------------------- gradients by finite differences
def test_cell_gradcheck_inputs_state_and_parameters(rng):
    cell = RNNCell(D, H)
    x, h = f64(rng, B, D), f64(rng, B, H)
    assert ts.gradcheck(lambda *_: cell(x, h), x, h, *cell.parameters())


def test_rnn_gradcheck_inputs_state_and_parameters(rng):
    rnn = RNN(D, H, output=2)
    xs, h0 = f64(rng, B, T, D), f64(rng, B, H)

    def outputs(*_):
        hs, h_T = rnn(xs, h0)
        return ts.cat([rnn.output(hs).reshape(B, -1), h_T], axis=1)

    assert ts.gradcheck(outputs, xs, h0, *rnn.parameters())


def test_rnn_gradcheck_with_a_padding_mask(rng):
    rnn = RNN(D, H)
    xs, h0 = f64(rng, B, T, D), f64(rng, B, H)
    mask = np.array([[True, True, False], [True, True, True]])
    assert ts.gradcheck(lambda *_: rnn(xs, h0, mask=mask)[0], xs, h0, *rnn.parameters())


# ----------------------------------------------------------------- variable lengths
def test_masked_batch_matches_each_sequence_run_alone(rng):
    rnn = RNN(D, H)
    lengths = [2, 5, 4]
    xs = f64(rng, 3, 5, D)  # the padding holds random values: the mask alone must hide them
    mask = ts.F.padding_mask(lengths, 5)
    hs, h_T = rnn(xs, mask=mask)
    for b, n in enumerate(lengths):
        _, alone = rnn(ts.Tensor(xs.numpy()[b : b + 1, :n]))
        np.testing.assert_allclose(h_T.numpy()[b], alone.numpy()[0], rtol=1e-12, atol=1e-12)
        # over the padding, hs repeats the last real state
        np.testing.assert_allclose(hs.numpy()[b, n:], np.repeat(alone.numpy(), 5 - n, axis=0))


def test_padded_steps_get_no_gradient_and_mask_may_be_a_tensor(rng):
    rnn = RNN(D, H)
    xs = f64(rng, 2, 4, D)
    mask = ts.Tensor(np.array([[True, True, False, False], [True, True, True, True]]))
    _, h_T = rnn(xs, mask=mask)
    h_T.sum().backward()
    grad = np_of(xs.grad)
    assert np.all(grad[0, 2:] == 0)
    assert np.all(np.abs(grad[0, :2]).sum(axis=-1) > 0)
    assert np.all(np.abs(grad[1]).sum(axis=-1) > 0)


# ----------------------------------------------------------------- long unrolls and graphs
def stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_bptt_over_1000_steps_without_recursion(rng):
    rnn = RNN(D, H)
    xs = f64(rng, 1, 1000, D)
    _, h_T = rnn(xs)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(stack_depth() + 200)  # far fewer frames than the 1000 steps
    try:
        (h_T * h_T).sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    for g in (xs.grad, rnn.cell.W_hh.grad, rnn.cell.W_xh.grad, rnn.cell.b_h.grad):
        assert np.all(np.isfinite(np_of(g)))
    # the gradient reaching x_1 from h_1000 has vanished, as the seed says
    assert np.abs(np_of(xs.grad)[0, 0]).max() < 1e-6 * np.abs(np_of(xs.grad)[0, -1]).max()


def test_graph_has_one_scope_per_step_with_the_seeds_names(rng):
    rnn = RNN(D, H)
    _, h_T = rnn(f64(rng, B, T, D))
    graph = ts.graph.trace(h_T)
    assert {s for s in graph.scopes() if s.startswith("t=")} == {f"t={t}" for t in range(T)}
    for t in range(T):
        names = {n.name for n in graph.in_scope(f"t={t}")}
        assert "h_t" in names
    leaves = {n.name for n in graph.nodes if n.is_param}
    assert {"W_xh", "W_hh", "b_h"} <= leaves


def test_scopes_nest_under_an_outer_scope(rng):
    rnn = RNN(D, H)
    with ts.scope("encoder"):
        _, h_T = rnn(f64(rng, B, 2, D))
    assert "encoder/t=1" in ts.graph.trace(h_T).scopes()


# ----------------------------------------------------------------- errors
def test_errors_name_expected_and_received_shapes(rng):
    rnn = RNN(D, H)
    built_with = r"\(B, T, 3\), where 3 is the input= width this RNN was built with; got shape"
    with pytest.raises(ValueError, match=rf"RNN: .*{built_with} \(2, 3, 5\).* input=5\)$"):
        rnn(f64(rng, 2, 3, 5))  # wrong input width: the model's input= and the way out
    with pytest.raises(ValueError, match=r"RNN.*\(B, T, 3\).*\(2, 3\)"):
        rnn(f64(rng, 2, 3))  # wrong rank
    with pytest.raises(ValueError, match=r"RNN.*h0.*\(2, 4\).*\(2, 5\)"):
        rnn(f64(rng, 2, 3, D), f64(rng, 2, 5))
    with pytest.raises(ValueError, match=r"RNN.*mask.*\(2, 3\).*\(2, 4\)"):
        rnn(f64(rng, 2, 3, D), mask=np.ones((2, 4), dtype=bool))
    with pytest.raises(TypeError, match="RNN: mask must be boolean"):
        rnn(f64(rng, 2, 3, D), mask=np.ones((2, 3)))
    with pytest.raises(ValueError, match="no steps"):
        rnn(f64(rng, 2, 0, D))
    with pytest.raises(ValueError, match="no output layer"):
        rnn.output(f64(rng, 2, H))
    cell = RNNCell(D, H)
    way_out = r"\(2, 4\) \(give it 3 features per step, or build the model with input=4\)$"
    with pytest.raises(ValueError, match=rf"RNNCell.*\(B, 3\).*3 is the input= width.*{way_out}"):
        cell(f64(rng, 2, 4))
    with pytest.raises(ValueError, match=r"RNNCell.*\(B, 3\).*\(3,\)"):
        cell(f64(rng, 3))
    with pytest.raises(ValueError, match=r"RNNCell.*h_prev.*\(2, 4\).*\(3, 4\)"):
        cell(f64(rng, 2, D), f64(rng, 3, H))
    with pytest.raises(TypeError, match=r"RNN: expected xs as a Tensor.*ndarray \(wrap it in a"):
        rnn(np.zeros((2, 3, D)))
    with pytest.raises(TypeError, match=r"RNNCell: expected x_t as a Tensor.*list \(wrap it in a"):
        cell([[0.0] * D])
    with pytest.raises(TypeError, match=r"RNN: expected h0 as a Tensor.*ndarray \(wrap it in a"):
        rnn(f64(rng, 2, 3, D), np.zeros((2, H)))
    with pytest.raises(TypeError, match=r"RNN: expected h0 as a Tensor.*got tuple$"):
        rnn(f64(rng, 2, 3, D), (f64(rng, 2, H), f64(rng, 2, H)))  # an LSTM's (h, C): no hint


@pytest.mark.parametrize("model", [ts.nn.RNN, ts.nn.LSTM, ts.nn.GRU])
def test_a_sequence_without_its_batch_axis_is_told_each_change_it_needs(model, rng):
    """A 2-D xs (T, d) of the right width needs a batch axis alone; of the wrong width, a
    batch axis and then the width, in that order (the width alone would not do)."""
    recurrent = model(D, H)
    name = model.__name__
    ours = rf"{name}: .*\(B, T, 3\), where 3 is the input= width this {name} was built with"
    alone = r"got shape \(5, 3\) \(a single sequence\? add a batch axis: xs.reshape\(1, 5, 3\)\)$"
    with pytest.raises(ValueError, match=rf"{ours}; {alone}") as right_width:
        recurrent(f64(rng, 5, D))
    assert "features per step" not in str(right_width.value)  # the width is right
    both = (
        r"got shape \(5, 6\) \(a single sequence\? it needs two changes: a batch axis, "
        r"xs.reshape\(1, 5, 6\), and 3 features per step, not 6 \(or a model built with "
        r"input=6\)\)$"
    )
    with pytest.raises(ValueError, match=rf"{ours}; {both}"):
        recurrent(f64(rng, 5, 6))
    hs, _ = recurrent(f64(rng, 5, D).reshape(1, 5, D))  # the first hint's way out runs
    assert hs.shape == (1, 5, H)


def test_output_layer_starts_in_the_bounds_of_its_input_the_hidden_state():
    """W_hy (o, h) and b_y (o,) ~ U(−1/√h, 1/√h), as a Linear(h, o): with h = 16, o = 400
    every entry is within 0.25 (not 1/√400 = 0.05, the bound of the output's width)."""
    rnn = RNN(2, 16, output=400)
    for p in (rnn.W_hy, rnn.b_y):
        a = np.abs(np_of(p))
        assert a.max() <= 0.25 and a.max() > 0.2


def test_output_layer_names_the_width_it_expects(rng):
    rnn = RNN(D, H, output=2)
    with pytest.raises(ValueError, match=r"RNN.output: expected .*\(\.\.\., 4\), got \(2, 5\)"):
        rnn.output(f64(rng, 2, H + 1))
    with pytest.raises(ValueError, match=r"RNN.output: .*got \(\)"):
        rnn.output(ts.Tensor(np.float64(1.0)))


@pytest.mark.parametrize("model", [RNN, RNNCell])
def test_an_integer_initial_state_is_refused(rng, model):
    """An int64 h0 would turn a float32 model's outputs float64 by NumPy's promotion."""
    net = model(D, H)
    h0 = ts.Tensor(np.zeros((2, H), dtype=np.int64))
    x = f64(rng, 2, 3, D) if model is RNN else f64(rng, 2, D)
    expected = r"RNN(Cell)?: expected a float h(0|_prev), got dtype int64"
    with pytest.raises(TypeError, match=expected):
        net(x, h0)


def test_a_flag_where_a_tensor_is_expected_is_not_told_to_wrap_it(rng):
    """True or np.True_ is a flag passed in the wrong place, not data: no "wrap it" advice,
    which an array or a list gets."""
    rnn = RNN(D, H)
    for flag in (True, np.True_):
        with pytest.raises(TypeError, match=r"RNN: expected xs as a Tensor.*got (bool|bool_)$"):
            rnn(flag)
    with pytest.raises(TypeError, match=r"got list \(wrap it in a Tensor first"):
        rnn([[[0.0] * D]])
