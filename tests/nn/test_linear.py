"""Linear, Embedding, MLP and LayerNorm: values against NumPy, gradients by finite
differences, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of
from tinygrad_seq.nn import MLP, Embedding, LayerNorm, Linear
from tinygrad_seq.nn.linear import check_last_axis
from tinygrad_seq.nn.module import uniform_init


@pytest.fixture(autouse=True)
def float64():
    ts.set_default_dtype(np.float64)  # the conftest fixture restores the default afterwards


def test_uniform_init_bounds_and_dtype():
    p = uniform_init((200, 50), fan_in=25, name="W")
    values = p.numpy()
    assert p.name == "W" and p.requires_grad and p.dtype == np.float64
    assert np.abs(values).max() <= 1 / 5 and np.abs(values).max() > 0.19  # U(−1/√25, 1/√25)


def test_linear_is_x_W_transpose_plus_b(rng):
    lin = Linear(3, 2)
    assert lin.W.shape == (2, 3) and lin.b.shape == (2,)
    x = f64(rng, 4, 3)
    np.testing.assert_allclose(lin(x).numpy(), x.numpy() @ lin.W.numpy().T + lin.b.numpy())
    x3 = f64(rng, 2, 5, 3)  # any leading axes
    np.testing.assert_allclose(lin(x3).numpy(), x3.numpy() @ lin.W.numpy().T + lin.b.numpy())


def test_linear_without_bias(rng):
    lin = Linear(3, 2, bias=False)
    assert [n for n, _ in lin.named_parameters()] == ["W"]
    x = f64(rng, 4, 3)
    np.testing.assert_allclose(lin(x).numpy(), x.numpy() @ lin.W.numpy().T)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(4, 3), (2, 4, 3), (3,)])  # rows, a batch of them, one
def test_linear_gradcheck(rng, bias, x_shape):
    lin = Linear(3, 2, bias=bias)
    x = f64(rng, *x_shape)
    assert ts.gradcheck(lambda *_: lin(x), x, *lin.parameters())


def test_linear_rejects_the_wrong_width(rng):
    with pytest.raises(
        ValueError, match=r"Linear: expected input with last axis 3, got shape \(4, 5\)"
    ):
        Linear(3, 2)(f64(rng, 4, 5))
    with pytest.raises(
        TypeError, match=r"Linear: expected a Tensor.*ndarray \(wrap it in a Tensor"
    ):
        Linear(3, 2)(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"who: expected state with last axis 2"):
        check_last_axis(f64(rng, 3), 2, "who", "state")


def test_embedding_looks_up_rows_and_scatters_gradients(rng):
    emb = Embedding(5, 3)
    ids = np.array([[0, 4, 4], [2, 0, 4]])
    out = emb(ids)
    np.testing.assert_array_equal(out.numpy(), emb.E.numpy()[ids])
    out.sum().backward()
    counts = np.bincount(ids.ravel(), minlength=5)[:, None] * np.ones((1, 3))
    np.testing.assert_array_equal(np_of(emb.E.grad), counts)  # repeated ids accumulate
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 5\)"):
        emb(np.array([5]))


def test_embedding_gradcheck(rng):
    emb = Embedding(4, 2)
    ids = ts.Tensor(np.array([[1, 3], [3, 3]]))
    assert ts.gradcheck(lambda *_: emb(ids), emb.E)


@pytest.mark.parametrize("padding_idx", [0, 3, -1, -5])
def test_embedding_padding_idx_is_pytorchs_zero_row_that_never_trains(padding_idx, rng):
    torch = pytest.importorskip("torch")
    ts.manual_seed(3)
    plain = Embedding(5, 3)
    ts.manual_seed(3)
    emb = Embedding(5, 3, padding_idx=padding_idx)
    pad = padding_idx % 5  # (a negative one counts from the end, as PyTorch's)
    assert emb.padding_idx == pad and plain.padding_idx is None
    np.testing.assert_array_equal(np_of(emb.E)[pad], 0.0)
    others = np.arange(5) != pad  # drawn as without a padding_idx
    np.testing.assert_array_equal(np_of(emb.E)[others], np_of(plain.E)[others])
    ref = torch.nn.Embedding(5, 3, padding_idx=padding_idx, dtype=torch.float64)
    assert ref.padding_idx == pad
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(np_of(emb.E)))
    ids = np.array([[pad, 1, pad], [0, 2, 4], [pad, pad, 3]])
    g = rng.standard_normal((3, 3, 3))
    out, ref_out = emb(ids), ref(torch.tensor(ids))
    out.backward(g)
    ref_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.numpy(), ref_out.detach().numpy())
    np.testing.assert_allclose(np_of(emb.E.grad), ref.weight.grad.numpy(), rtol=1e-15)
    np.testing.assert_array_equal(np_of(emb.E.grad)[pad], 0.0)  # the row gets no gradient
    # The other rows' gradients against finite differences, with the padding row held fixed
    # (a nudge to it moves the output, which its zero gradient says nothing of, by design)
    others = ts.Tensor(np.delete(np_of(emb.E), pad, axis=0), requires_grad=True)

    def lookup(others):
        table = ts.cat([others[:pad], ts.zeros(1, 3), others[pad:]], axis=0)
        return ts.F.embedding(ids, table, padding_idx=padding_idx)

    assert ts.gradcheck(lookup, others)


def test_embedding_padding_row_stays_put_through_training_and_a_save(rng, tmp_path):
    emb = Embedding(6, 4, padding_idx=2)
    with ts.no_grad():
        emb.E[2] = 0.5  # another padding vector, set by hand: looked up as it is
    ids = np.array([[2, 1, 5], [2, 2, 0]])
    np.testing.assert_array_equal(emb(ids).numpy()[1, :2], 0.5)
    opt = ts.optim.Adam(emb.parameters(), lr=0.1)
    before = np_of(emb.E)
    for _ in range(3):
        opt.zero_grad()
        (emb(ids) ** 2).sum().backward()
        opt.step()
    after = np_of(emb.E)
    np.testing.assert_array_equal(after[2], 0.5)  # never trains
    assert np.all(after[[0, 1, 5]] != before[[0, 1, 5]])  # the rows looked up do
    np.testing.assert_array_equal(after[[3, 4]], before[[3, 4]])  # (the others get 0)
    emb.save(tmp_path / "emb.npz")
    loaded = Embedding.load(tmp_path / "emb.npz")
    assert loaded.padding_idx == 2
    np.testing.assert_array_equal(np_of(loaded.E), after)
    functional = ts.F.embedding(ids, loaded.E, padding_idx=-4)  # (2, counted from the end)
    np.testing.assert_array_equal(functional.numpy(), loaded(ids).numpy())


def test_embedding_padding_idx_out_of_range_or_not_an_int_is_refused_clearly():
    for bad in (5, -6, 100):
        with pytest.raises(ValueError, match=r"^Embedding: padding_idx must lie in \[-5, 5\) for"):
            Embedding(5, 2, padding_idx=bad)
    for bad in (1.0, True, "0"):
        with pytest.raises(TypeError, match=r"^Embedding: padding_idx must be an int \(the pad"):
            Embedding(5, 2, padding_idx=bad)
    table = ts.Tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"^embedding: padding_idx must lie in \[-3, 3\)"):
        ts.F.embedding([0], table, padding_idx=3)
    # PyTorch's other names still get ours, the padding id carried into the call to write
    with pytest.raises(
        TypeError, match=r"Write ts\.nn\.Embedding\(vocab=9, dim=4, padding_idx=0\)$"
    ):
        ts.nn.Embedding(num_embeddings=9, embedding_dim=4, padding_idx=0)


def test_mlp_is_the_seeds_stack_without_a_last_activation(rng):
    mlp = MLP([3, 5, 4, 2], activation="tanh")
    x = f64(rng, 6, 3)
    h = x.numpy()
    for i, layer in enumerate(mlp.layers):
        h = h @ layer.W.numpy().T + layer.b.numpy()  # h⁽ˡ⁾ = σ(W⁽ˡ⁾ h⁽ˡ⁻¹⁾ + b⁽ˡ⁾)
        if i < 2:
            h = np.tanh(h)
    y = mlp(x)
    np.testing.assert_allclose(y.numpy(), h, rtol=1e-12)
    assert y.name == "y"
    assert [n for n, _ in mlp.named_parameters()][:2] == ["layers.0.W", "layers.0.b"]


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_mlp_gradcheck(rng, activation):
    mlp = MLP([3, 4, 5, 2], activation=activation)  # two hidden layers
    x = f64(rng, 5, 3)
    assert ts.gradcheck(lambda *_: mlp(x), x, *mlp.parameters())


def test_mlp_bad_arguments():
    with pytest.raises(ValueError, match="at least"):
        MLP([3])
    with pytest.raises(ValueError, match="activation"):
        MLP([3, 2], activation="gelu")


def test_layer_norm_normalises_the_last_axis(rng):
    ln = LayerNorm(4)
    x = f64(rng, 3, 4)
    xp = ts.backend.array_module(ln.gain.data)
    ln.gain.data[:] = xp.asarray(rng.standard_normal(4))
    ln.bias.data[:] = xp.asarray(rng.standard_normal(4))
    v = x.numpy()
    x_hat = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(x).numpy(), x_hat * ln.gain.numpy() + ln.bias.numpy())
    assert ts.gradcheck(lambda *_: ln(x), x, ln.gain, ln.bias)
    with pytest.raises(ValueError, match=r"LayerNorm.*last axis 4"):
        ln(f64(rng, 3, 5))


def test_layer_norm_adds_its_eps_to_the_variance(rng):
    ln = LayerNorm(4, eps=1.0)  # large enough to move every output visibly
    x = f64(rng, 3, 4)
    v = x.numpy()
    x_hat = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1.0)
    np.testing.assert_allclose(ln(x).numpy(), x_hat)  # gain 1, bias 0
    assert ts.gradcheck(lambda *_: ln(x), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_and_linear_take_the_default_dtype(dtype):
    previous = ts.get_default_dtype()
    ts.set_default_dtype(dtype)
    try:
        assert Embedding(5, 3).E.dtype == dtype
        layer = Linear(2, 3)
        assert layer.W.dtype == dtype and layer.b.dtype == dtype
    finally:
        ts.set_default_dtype(previous)


def test_linear_bias_bound_comes_from_the_inputs_as_in_pytorch():
    """b ~ U(−1/√in, 1/√in): for Linear(400, 50) every |b| ≤ 0.05 (not 1/√50 ≈ 0.14)."""
    ts.manual_seed(0)
    b = np.abs(Linear(400, 50).b.numpy())
    assert b.max() <= 0.05 and b.max() > 0.04


def test_mlp_is_tanh_by_default():
    ts.manual_seed(0)
    mlp = MLP([2, 3, 1])
    x = np.array([[0.5, -1.5]], dtype=np.float32)
    (W1, b1), (W2, b2) = ((layer.W.numpy(), layer.b.numpy()) for layer in mlp.layers)
    expected = np.tanh(x @ W1.T + b1) @ W2.T + b2
    np.testing.assert_allclose(np_of(mlp(ts.Tensor(x)).data), expected, rtol=1e-5)


def test_linear_weight_bound_comes_from_the_inputs_as_in_pytorch():
    """W ~ U(−1/√in, 1/√in): for Linear(400, 4) every |W| ≤ 0.05 (not 1/√4 = 0.5)."""
    W = np.abs(Linear(400, 4).W.numpy())
    assert W.max() <= 0.05 and W.max() > 0.045


def test_linear_and_layer_norm_refuse_a_0d_input():
    for module, who in [(Linear(3, 2), "Linear"), (LayerNorm(3), "LayerNorm")]:
        expected = rf"{who}: expected input with last axis 3, got shape \(\)"
        with pytest.raises(ValueError, match=expected):
            module(ts.Tensor(np.float64(1.0)))


def test_mlp_names_its_hidden_layers_from_one(rng):
    """h(1), h(2) as the seed numbers them (h⁽⁰⁾ is the input), then y."""
    y = MLP([3, 5, 4, 2])(f64(rng, 6, 3))
    names = [t.name for t in ts.graph.trace(y).tensors if t.op is not None]
    assert "h(1)" in names and "h(2)" in names and "h(0)" not in names and "h(3)" not in names
    assert y.name == "y"
