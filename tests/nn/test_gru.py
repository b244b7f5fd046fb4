"""GRUCell and GRU: the seed's four equations and its convention
h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t, checked against a NumPy reference, by finite
differences, with padding masks, and in the recorded graph."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import assert_padding_repeats_the_last_real_state, f64, np_of
from tinygrad_seq.nn import GRU, GRUCell

B, D, H, T = 2, 3, 4, 3


@pytest.fixture(autouse=True)
def float64():
    ts.set_default_dtype(np.float64)  # the conftest fixture restores the default afterwards


def sigma(z):
    return 1 / (1 + np.exp(-z))


def reference_step(x, h_prev, cell):
    """The seed's GRU equations for one example, as column vectors."""
    W_z, W_r, W_h = (np_of(cell.W_z), np_of(cell.W_r), np_of(cell.W_h))
    zero = np.zeros(cell.hidden_size)
    b_z, b_r, b_h = (np_of(b) if b is not None else zero for b in (cell.b_z, cell.b_r, cell.b_h))
    z = sigma(W_z @ np.concatenate([h_prev, x]) + b_z)
    r = sigma(W_r @ np.concatenate([h_prev, x]) + b_r)
    h_tilde = np.tanh(W_h @ np.concatenate([r * h_prev, x]) + b_h)
    return (1 - z) * h_prev + z * h_tilde


def reference_sequence(xs, h0, cell):
    hs = np.zeros(xs.shape[:2] + (cell.hidden_size,))
    for n in range(xs.shape[0]):
        h = h0[n]
        for t in range(xs.shape[1]):
            h = hs[n, t] = reference_step(xs[n, t], h, cell)
    return hs


# ----------------------------------------------------------------- values
@pytest.mark.parametrize("bias", [True, False])
def test_parameters_have_the_seeds_names_and_shapes(bias):
    shapes = {n: p.shape for n, p in GRUCell(D, H, bias=bias).named_parameters()}
    expected = {"W_z": (H, H + D), "W_r": (H, H + D), "W_h": (H, H + D)}
    if bias:
        expected |= {"b_z": (H,), "b_r": (H,), "b_h": (H,)}
    assert shapes == expected


@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_the_seeds_equations(rng, bias):
    cell = GRUCell(D, H, bias=bias)
    x, h = f64(rng, B, D), f64(rng, B, H)
    expected = np.stack([reference_step(np_of(x)[n], np_of(h)[n], cell) for n in range(B)])
    h_t = cell(x, h)
    np.testing.assert_allclose(h_t.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert h_t.name == "h_t"


def test_seed_convention_z_near_zero_keeps_the_state(rng):
    """z_t = 0 keeps h_{t-1}; z_t = 1 takes the candidate h̃_t (PyTorch has it the other way)."""
    cell = GRUCell(D, H)
    x, h = f64(rng, B, D), f64(rng, B, H)
    cell.b_z.data[:] = -60.0  # σ(−60) ≈ 1e−26: the update gate is shut
    np.testing.assert_allclose(cell(x, h).numpy(), h.numpy(), rtol=1e-12)
    cell.b_z.data[:] = 60.0  # wide open: h_t is the candidate
    h_t = cell(x, h)
    h_tilde = next(n for n in ts.graph.trace(h_t).tensors if n.name == "h_tilde")
    np.testing.assert_allclose(h_t.numpy(), h_tilde.numpy(), rtol=1e-12)


def test_sequence_matches_the_reference(rng):
    gru = GRU(D, H)
    xs, h0 = f64(rng, B, T, D), f64(rng, B, H)
    hs, h_T = gru(xs, h0)
    expected = reference_sequence(np_of(xs), np_of(h0), gru.cell)
    np.testing.assert_allclose(hs.numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_T.numpy(), expected[:, -1], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- gradients by finite differences
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck_inputs_state_and_parameters(rng, bias):
    cell = GRUCell(D, H, bias=bias)
    x, h = f64(rng, B, D), f64(rng, B, H)
    assert ts.gradcheck(lambda *_: cell(x, h), x, h, *cell.parameters())


def test_gru_gradcheck_inputs_state_and_parameters(rng):
    gru = GRU(D, H)
    xs, h0 = f64(rng, B, T, D), f64(rng, B, H)
    assert ts.gradcheck(lambda *_: gru(xs, h0)[0], xs, h0, *gru.parameters())


@pytest.mark.parametrize("bias", [True, False])
def test_gru_gradcheck_with_a_padding_mask(rng, bias):
    gru = GRU(D, H, bias=bias)
    xs, h0 = f64(rng, B, T, D), f64(rng, B, H)
    mask = ts.Tensor(np.array([[True, True, False], [True, False, False]]))
    assert ts.gradcheck(lambda *_: gru(xs, h0, mask=mask)[1], xs, h0, *gru.parameters())


# ----------------------------------------------------------------- variable lengths
def test_masked_batch_matches_each_sequence_run_alone(rng):
    gru = GRU(D, H)
    lengths = [3, 5]
    xs = f64(rng, 2, 5, D)
    _, h_T = gru(xs, mask=ts.F.padding_mask(lengths, 5))
    for n, length in enumerate(lengths):
        _, alone = gru(ts.Tensor(xs.numpy()[n : n + 1, :length]))
        np.testing.assert_allclose(h_T.numpy()[n], alone.numpy()[0], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- long unrolls and graphs
def test_bptt_over_1000_steps(rng):
    gru = GRU(2, 3)
    xs = f64(rng, 1, 1000, 2)
    _, h_T = gru(xs)
    h_T.sum().backward()
    assert all(np.all(np.isfinite(np_of(p.grad))) for p in gru.parameters())
    assert all(np.abs(np_of(p.grad)).max() > 0 for p in gru.parameters())
    # BPTT in two parts (see the LSTM's test): ∂L/∂h_s from the second part, then the
    # first part's x_t from it, as the 1000-step pass gave them
    s, x = 980, xs.numpy()  # (a split near the end: the gradient there has not vanished)
    with ts.no_grad():
        _, h_s = gru(ts.Tensor(x[:, :s]))
    h_s = ts.Tensor(h_s.numpy(), requires_grad=True)
    late = ts.Tensor(x[:, s:], requires_grad=True)
    gru(late, h0=h_s)[1].sum().backward()
    early = ts.Tensor(x[:, :s], requires_grad=True)
    (gru(early)[1] * ts.Tensor(np_of(h_s.grad))).sum().backward()
    np.testing.assert_allclose(np_of(xs.grad)[:, s:], np_of(late.grad), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np_of(xs.grad)[:, :s], np_of(early.grad), rtol=1e-10, atol=1e-14)
    assert np.abs(np_of(early.grad)[:, -1]).max() > 1e-8  # far above atol: a real comparison


def test_graph_shows_every_step_and_the_seeds_symbols(rng):
    gru = GRU(D, H)
    _, h_T = gru(f64(rng, B, T, D))
    graph = ts.graph.trace(h_T)
    assert {s for s in graph.scopes() if s.startswith("t=")} == {f"t={t}" for t in range(T)}
    for t in range(T):
        assert {"z_t", "r_t", "h_tilde", "h_t"} <= {n.name for n in graph.in_scope(f"t={t}")}


# ----------------------------------------------------------------- errors
def test_errors_name_expected_and_received_shapes(rng):
    gru = GRU(D, H)
    built_with = r"\(B, T, 3\), where 3 is the input= width this GRU was built with; got shape"
    with pytest.raises(ValueError, match=rf"GRU: .*{built_with} \(2, 3, 4\).* input=4\)$"):
        gru(f64(rng, 2, 3, 4))
    with pytest.raises(ValueError, match=r"GRU.*\(B, T, 3\).*\(2, 3, 3, 3\)"):
        gru(f64(rng, 2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"GRU.*h0.*\(2, 4\).*\(4,\)"):
        gru(f64(rng, 2, 3, D), f64(rng, H))
    with pytest.raises(ValueError, match=r"GRU.*mask.*\(2, 3\).*\(3,\)"):
        gru(f64(rng, 2, 3, D), mask=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match=r"GRUCell.*\(B, 3\).*\(2, 1\)"):
        GRUCell(D, H)(f64(rng, 2, 1))


def test_the_sequence_gru_passes_bias_false_to_its_cell():
    gru = GRU(3, 4, bias=False)
    names = [name for name, _ in gru.named_parameters()]
    assert names and not any(name.split(".")[-1].startswith("b_") for name in names)
    assert any(name.split(".")[-1].startswith("b_") for name, _ in GRU(3, 4).named_parameters())


def test_padded_steps_repeat_the_last_real_state_in_every_output(rng):
    xs = ts.Tensor(rng.standard_normal((2, 5, 3)).astype(np.float32))
    assert_padding_repeats_the_last_real_state(GRU(3, 4), xs, [3, 5])


def test_update_bias_starts_b_z_there_and_leaves_the_other_weights_as_without_it():
    """A number sets every entry of b_z; the other weights are the same draws as a cell
    built without it (b_z is drawn first all the same), so the two differ in b_z alone."""
    ts.manual_seed(3)
    plain = GRU(D, H)
    ts.manual_seed(3)
    shut = GRU(D, H, update_bias=-1.5)
    np.testing.assert_array_equal(shut.cell.b_z.numpy(), np.full(H, -1.5))
    assert not np.allclose(plain.cell.b_z.numpy(), -1.5)
    for (name, a), (_, b) in zip(plain.named_parameters(), shut.named_parameters(), strict=True):
        if name != "cell.b_z":
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    # z_t = σ(−1.5) ≈ 0.18 at zero inputs and state: the step keeps 82 % of h_{t−1}
    for p in shut.parameters():
        if p.name != "b_z":
            p.data[...] = 0
    h0 = ts.Tensor(np.ones((B, H)))
    _, h_T = shut(ts.Tensor(np.zeros((B, 1, D))), h0)
    np.testing.assert_allclose(h_T.numpy(), np.full((B, H), 1 - sigma(-1.5)))


def test_update_bias_survives_save_and_class_load(tmp_path):
    model = GRU(D, H, update_bias=-1.0)
    model.save(tmp_path / "gru.npz")
    loaded = GRU.load(tmp_path / "gru.npz")
    np.testing.assert_array_equal(loaded.cell.b_z.numpy(), np.full(H, -1.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"update_bias": "-1"}, TypeError, "update_bias must be a number or None, got str"),
        ({"update_bias": True}, TypeError, "update_bias must be a number or None, got bool"),
        ({"update_bias": float("nan")}, ValueError, "update_bias must be finite"),
        ({"update_bias": -1.0, "bias": False}, ValueError, "needs the biases"),
    ],
)
@pytest.mark.parametrize("cls", [GRU, GRUCell])
def test_bad_update_bias_is_a_clear_error(cls, kwargs, error, words):
    with pytest.raises(error, match=words):
        cls(D, H, **kwargs)


def test_the_sequence_classifier_passes_update_bias_to_its_gru():
    from tinygrad_seq.train import SequenceClassifier

    model = SequenceClassifier(10, 2, 4, H, "gru", update_bias=-2.0)
    np.testing.assert_array_equal(model.rnn.cell.b_z.numpy(), np.full(H, -2.0))
