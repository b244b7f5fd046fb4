"""LSTMCell and LSTM: the seed's six equations on [h_{t-1}, x_t], checked against a NumPy
reference written from the seed, by finite differences, with padding masks, over 1000
steps, and in the recorded graph (scopes t=0.. and the seed's symbols)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import assert_padding_repeats_the_last_real_state, f64, np_of
from tinygrad_seq.nn import LSTM, LSTMCell

B, D, H, T = 2, 3, 4, 3
GATES = ("f", "i", "C", "o")


@pytest.fixture(autouse=True)
def float64():
    ts.set_default_dtype(np.float64)  # the conftest fixture restores the default afterwards


def sigma(z):
    return 1 / (1 + np.exp(-z))


def reference_step(x, h_prev, C_prev, W, b):
    """The seed's six equations for one example, column vectors, W/b dicts by gate."""
    hx = np.concatenate([h_prev, x])  # [h_{t-1}, x_t]
    f = sigma(W["f"] @ hx + b["f"])
    i = sigma(W["i"] @ hx + b["i"])
    C_tilde = np.tanh(W["C"] @ hx + b["C"])
    C = f * C_prev + i * C_tilde
    o = sigma(W["o"] @ hx + b["o"])
    h = o * np.tanh(C)
    return h, C


def reference_sequence(xs, h0, C0, cell):
    W = {g: np_of(getattr(cell, f"W_{g}")) for g in GATES}
    b = {g: np_of(getattr(cell, f"b_{g}")) for g in GATES}
    hs, Cs = (
        np.zeros(xs.shape[:2] + (cell.hidden_size,)),
        np.zeros(xs.shape[:2] + (cell.hidden_size,)),
    )
    for n in range(xs.shape[0]):
        h, C = h0[n], C0[n]
        for t in range(xs.shape[1]):
            h, C = reference_step(xs[n, t], h, C, W, b)
            hs[n, t], Cs[n, t] = h, C
    return hs, Cs


# ----------------------------------------------------------------- values
def test_parameters_have_the_seeds_names_and_shapes():
    cell = LSTMCell(D, H)
    shapes = {n: p.shape for n, p in cell.named_parameters()}
    assert shapes == {
        **{f"W_{g}": (H, H + D) for g in GATES},
        **{f"b_{g}": (H,) for g in GATES},
    }


def test_forget_bias_starts_at_one_unless_told_otherwise():
    np.testing.assert_array_equal(LSTMCell(D, H).b_f.numpy(), np.ones(H))
    # LSTM(d, h), as Seq2Seq and the classifier build it, gets the cell's default too
    np.testing.assert_array_equal(LSTM(D, H).cell.b_f.numpy(), np.ones(H))
    np.testing.assert_array_equal(LSTM(D, H, forget_bias=3.0).cell.b_f.numpy(), np.full(H, 3.0))
    assert np.ptp(LSTMCell(D, H).b_i.numpy()) > 0  # the other biases are drawn at random


def test_cell_matches_the_seeds_equations(rng):
    cell = LSTMCell(D, H)
    x, h, C = f64(rng, B, D), f64(rng, B, H), f64(rng, B, H)
    h_t, C_t = cell(x, (h, C))
    expected = [reference_step(np_of(x)[n], np_of(h)[n], np_of(C)[n],
                               {g: np_of(getattr(cell, f"W_{g}")) for g in GATES},
                               {g: np_of(getattr(cell, f"b_{g}")) for g in GATES})
                for n in range(B)]  # fmt: skip
    np.testing.assert_allclose(h_t.numpy(), np.stack([e[0] for e in expected]), rtol=1e-12)
    np.testing.assert_allclose(C_t.numpy(), np.stack([e[1] for e in expected]), rtol=1e-12)
    assert (h_t.name, C_t.name) == ("h_t", "C_t")


def test_sequence_matches_the_reference(rng):
    lstm = LSTM(D, H)
    xs, h0, C0 = f64(rng, B, T, D), f64(rng, B, H), f64(rng, B, H)
    hs, (h_T, C_T) = lstm(xs, (h0, C0))
    ref_hs, ref_Cs = reference_sequence(np_of(xs), np_of(h0), np_of(C0), lstm.cell)
    np.testing.assert_allclose(hs.numpy(), ref_hs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_T.numpy(), ref_hs[:, -1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(C_T.numpy(), ref_Cs[:, -1], rtol=1e-12, atol=1e-14)


def test_default_state_is_zeros(rng):
    lstm = LSTM(D, H)
    xs = f64(rng, B, T, D)
    zeros = ts.zeros(B, H, dtype=np.float64)
    np.testing.assert_allclose(lstm(xs)[0].numpy(), lstm(xs, (zeros, zeros))[0].numpy())


def test_cell_state_gradient_is_the_forget_gate(rng):
    """∂C_t/∂C_{t-1} = f_t, the seed's reason gradients survive."""
    cell = LSTMCell(D, H)
    x, h, C = f64(rng, 1, D), f64(rng, 1, H, requires_grad=False), f64(rng, 1, H)
    _, C_t = cell(x, (h, C))
    f_t = next(n for n in ts.graph.trace(C_t).tensors if n.name == "f_t")
    C_t.sum().backward()
    np.testing.assert_allclose(np_of(C.grad), f_t.numpy(), rtol=1e-12)


# ----------------------------------------------------------------- gradients by finite differences
def test_cell_gradcheck_inputs_state_and_parameters(rng):
    cell = LSTMCell(D, H)
    x, h, C = f64(rng, B, D), f64(rng, B, H), f64(rng, B, H)
    assert ts.gradcheck(lambda *_: ts.cat(cell(x, (h, C)), axis=1), x, h, C, *cell.parameters())


def test_lstm_gradcheck_inputs_state_and_parameters(rng):
    lstm = LSTM(D, H)
    xs, h0, C0 = f64(rng, B, T, D), f64(rng, B, H), f64(rng, B, H)

    def outputs(*_):
        hs, (h_T, C_T) = lstm(xs, (h0, C0))
        return ts.cat([hs.reshape(B, -1), h_T, C_T], axis=1)

    assert ts.gradcheck(outputs, xs, h0, C0, *lstm.parameters())


def test_lstm_gradcheck_with_a_padding_mask(rng):
    lstm = LSTM(D, H)
    xs, h0, C0 = f64(rng, B, T, D), f64(rng, B, H), f64(rng, B, H)
    mask = np.array([[True, False, False], [True, True, True]])

    def outputs(*_):
        hs, (_, C_T) = lstm(xs, (h0, C0), mask=mask)
        return ts.cat([hs.reshape(B, -1), C_T], axis=1)

    assert ts.gradcheck(outputs, xs, h0, C0, *lstm.parameters())


# ----------------------------------------------------------------- variable lengths
def test_masked_batch_matches_each_sequence_run_alone(rng):
    lstm = LSTM(D, H)
    lengths = [4, 1, 3]
    xs = f64(rng, 3, 4, D)  # random values in the padding: only the mask hides them
    _, (h_T, C_T) = lstm(xs, mask=ts.F.padding_mask(lengths, 4))
    for n, length in enumerate(lengths):
        _, (h_alone, C_alone) = lstm(ts.Tensor(xs.numpy()[n : n + 1, :length]))
        np.testing.assert_allclose(h_T.numpy()[n], h_alone.numpy()[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(C_T.numpy()[n], C_alone.numpy()[0], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- long unrolls and graphs
def test_bptt_over_1000_steps(rng):
    lstm = LSTM(2, 3)
    xs = f64(rng, 1, 1000, 2)
    _, (h_T, C_T) = lstm(xs)
    (h_T.sum() + C_T.sum()).backward()
    assert all(np.all(np.isfinite(np_of(p.grad))) for p in lstm.parameters())
    assert all(np.abs(np_of(p.grad)).max() > 0 for p in lstm.parameters())
    # BPTT in two parts: steps s.. from the state at s as a leaf give ∂L/∂(h, C)_s;
    # steps ..s run backward from that gradient give the first part's x_t theirs, which
    # the 1000-step pass delivered through the whole chain
    s, x = 980, xs.numpy()  # (a split near the end: the gradient there has not vanished)
    with ts.no_grad():
        _, (h_s, C_s) = lstm(ts.Tensor(x[:, :s]))
    h_s, C_s = (
        ts.Tensor(h_s.numpy(), requires_grad=True),
        ts.Tensor(C_s.numpy(), requires_grad=True),
    )
    late = ts.Tensor(x[:, s:], requires_grad=True)
    _, (h, C) = lstm(late, state0=(h_s, C_s))
    (h.sum() + C.sum()).backward()
    early = ts.Tensor(x[:, :s], requires_grad=True)
    _, (h_mid, C_mid) = lstm(early)
    (h_mid * ts.Tensor(np_of(h_s.grad)) + C_mid * ts.Tensor(np_of(C_s.grad))).sum().backward()
    np.testing.assert_allclose(np_of(xs.grad)[:, s:], np_of(late.grad), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np_of(xs.grad)[:, :s], np_of(early.grad), rtol=1e-10, atol=1e-14)
    assert np.abs(np_of(early.grad)[:, -1]).max() > 1e-8  # far above atol: a real comparison


def test_graph_shows_every_step_and_the_seeds_symbols(rng):
    lstm = LSTM(D, H)
    _, (h_T, _) = lstm(f64(rng, B, T, D))
    graph = ts.graph.trace(h_T)
    assert {s for s in graph.scopes() if s.startswith("t=")} == {f"t={t}" for t in range(T)}
    for t in range(T):
        names = {n.name for n in graph.in_scope(f"t={t}")}
        assert {"f_t", "i_t", "C_tilde", "C_t", "o_t", "h_t"} <= names
    # the four gates are four products, not one fused matrix
    assert sum(1 for n in graph.in_scope("t=0") if n.op == "matmul") == 4


# ----------------------------------------------------------------- errors
def test_errors_name_expected_and_received_shapes(rng):
    lstm = LSTM(D, H)
    built_with = r"\(B, T, 3\), where 3 is the input= width this LSTM was built with; got shape"
    with pytest.raises(ValueError, match=rf"LSTM: .*{built_with} \(2, 3, 2\).* input=2\)$"):
        lstm(f64(rng, 2, 3, 2))
    with pytest.raises(ValueError, match=r"LSTM.*\(B, T, 3\).*\(3,\)"):
        lstm(f64(rng, 3))
    with pytest.raises(ValueError, match=r"LSTM.*h0.*\(2, 4\).*\(1, 4\)"):
        lstm(f64(rng, 2, 3, D), (f64(rng, 1, H), f64(rng, 2, H)))
    with pytest.raises(ValueError, match=r"LSTM.*C0.*\(2, 4\).*\(2, 3\)"):
        lstm(f64(rng, 2, 3, D), (f64(rng, 2, H), f64(rng, 2, 3)))
    with pytest.raises(TypeError, match=r"LSTM.*pair \(h, C\)"):
        lstm(f64(rng, 2, 3, D), f64(rng, 2, H))
    cell = LSTMCell(D, H)
    with pytest.raises(ValueError, match=r"LSTMCell.*\(B, 3\).*\(2, 7\)"):
        cell(f64(rng, 2, 7))
    with pytest.raises(ValueError, match=r"LSTMCell.*C_prev.*\(2, 4\).*\(2, 5\)"):
        cell(f64(rng, 2, D), (f64(rng, 2, H), f64(rng, 2, 5)))


def test_padded_steps_repeat_the_last_real_state_in_every_output(rng):
    """hs, not only h_T: at a padded step the output is h of the last real token."""
    xs = ts.Tensor(rng.standard_normal((2, 5, 3)).astype(np.float32))
    assert_padding_repeats_the_last_real_state(LSTM(3, 4), xs, [2, 5])


def test_a_state_that_is_not_a_pair_is_refused(rng):
    h = f64(rng, 2, H)
    for state in [(h, h, h), (h,)]:
        with pytest.raises(TypeError, match=r"LSTM: expected state0 as a pair \(h, C\)"):
            LSTM(D, H)(f64(rng, 2, 3, D), state)
        with pytest.raises(TypeError, match=r"LSTMCell: expected state as a pair \(h, C\)"):
            LSTMCell(D, H)(f64(rng, 2, D), state)


@pytest.mark.parametrize("bad", [True, "1.0", None])
def test_forget_bias_must_be_a_number(bad):
    with pytest.raises(TypeError, match="LSTMCell: forget_bias must be a number"):
        LSTMCell(D, H, forget_bias=bad)
    with pytest.raises(TypeError, match="LSTMCell: forget_bias must be a number"):
        LSTM(D, H, forget_bias=bad)
