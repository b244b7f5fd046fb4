"""Attention: the seed's three score functions and multi-head attention, checked against
NumPy references written here from the seed's formulas, by finite differences in float64,
and on masks, weights as distributions, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of
from tinygrad_seq.nn.attention import (
    AdditiveAttention,
    MultiHeadAttention,
    MultiplicativeAttention,
    ScaledDotProductAttention,
    as_mask,
    ids_array,
    masked_softmax,
    scaled_dot_product_attention,
    source_mask,
)

B, TQ, TK, DQ, DK, DV, A = 2, 3, 4, 5, 6, 3, 7


@pytest.fixture(autouse=True)
def float64_weights():
    """Modules built in a test get float64 weights (finite differences need them)."""
    ts.set_default_dtype(np.float64)  # the conftest fixture restores the default afterwards


# ------------------------------------------------------------------ NumPy references
def np_softmax(e: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """α_{t,i} = exp(e_{t,i}) / Σ_j exp(e_{t,j}), over allowed keys; 0 for masked ones."""
    if mask is None:
        mask = np.ones(e.shape, dtype=bool)
    mask = np.broadcast_to(mask, e.shape)
    alpha = np.zeros_like(e)
    for idx in np.ndindex(*e.shape[:-1]):
        allowed = mask[idx]
        if allowed.any():
            z = np.exp(e[idx][allowed] - e[idx][allowed].max())
            alpha[idx][allowed] = z / z.sum()
    return alpha


def np_additive(q, k, v, W_a, U_a, v_a, mask=None):
    """e_{t,i} = v_aᵀ tanh(W_a h_t^dec + U_a h_i^enc), one (t, i) pair at a time."""
    e = np.zeros((q.shape[0], q.shape[1], k.shape[1]))
    for b in range(q.shape[0]):
        for t in range(q.shape[1]):
            for i in range(k.shape[1]):
                e[b, t, i] = v_a @ np.tanh(W_a @ q[b, t] + U_a @ k[b, i])
    alpha = np_softmax(e, mask)
    return np.einsum("bti,bid->btd", alpha, v), alpha


def np_multiplicative(q, k, v, W_a, mask=None):
    """e_{t,i} = h_t^dec W_a h_i^enc."""
    e = np.einsum("btq,qk,bik->bti", q, W_a, k)
    alpha = np_softmax(e, mask)
    return np.einsum("bti,bid->btd", alpha, v), alpha


def np_dot(q, k, v, mask=None):
    """e_{t,i} = h_t^dec · h_i^enc / √d."""
    e = np.einsum("btd,bid->bti", q, k) / np.sqrt(q.shape[-1])
    alpha = np_softmax(e, mask)
    return np.einsum("bti,bid->btd", alpha, v), alpha


def np_multihead(q, k, v, W_Q, W_K, W_V, W_O, b, heads, mask=None):
    """Concat(head_1..head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V), with
    W_i^Q the i-th block of d_k columns; one head and one batch row at a time."""
    b_Q, b_K, b_V, b_O = b
    d_k = W_Q.shape[1] // heads
    Bn, Tq, Tk = q.shape[0], q.shape[1], k.shape[1]
    out = np.zeros((Bn, Tq, W_O.shape[1]))
    weights = np.zeros((Bn, heads, Tq, Tk))
    for n in range(Bn):
        Q, K, V = q[n] @ W_Q + b_Q, k[n] @ W_K + b_K, v[n] @ W_V + b_V
        head_outputs = []
        for i in range(heads):
            cols = slice(i * d_k, (i + 1) * d_k)
            e = Q[:, cols] @ K[:, cols].T / np.sqrt(d_k)
            m = None if mask is None else (mask if mask.ndim == 2 else mask[n])
            alpha = np_softmax(e, m)
            weights[n, i] = alpha
            head_outputs.append(alpha @ V[:, cols])
        out[n] = np.concatenate(head_outputs, axis=1) @ W_O + b_O
    return out, weights


def qkv(rng, dq=DQ, dk=DK, dv=DV, tq=TQ, tk=TK, b=B):
    return f64(rng, b, tq, dq), f64(rng, b, tk, dk), f64(rng, b, tk, dv)


def random_mask(rng, shape) -> np.ndarray:
    mask = rng.random(shape) < 0.6
    mask[..., 0] = True  # every query may attend somewhere (fully masked rows tested apart)
    return mask


# ------------------------------------------------------------------ forward vs references
@pytest.mark.parametrize("masked", [False, True])
def test_additive_matches_reference(rng, masked):
    attn = AdditiveAttention(DQ, DK, A)
    q, k, v = qkv(rng)
    mask = random_mask(rng, (B, TQ, TK)) if masked else None
    c, alpha = attn(q, k, v, mask)
    c_ref, a_ref = np_additive(
        np_of(q), np_of(k), np_of(v), attn.W_a.numpy(), attn.U_a.numpy(), attn.v_a.numpy(), mask
    )
    assert c.shape == (B, TQ, DV) and alpha.shape == (B, TQ, TK)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
def test_multiplicative_matches_reference(rng, masked):
    attn = MultiplicativeAttention(DQ, DK)
    assert attn.W_a.shape == (DQ, DK)
    q, k, v = qkv(rng)
    mask = random_mask(rng, (TQ, TK)) if masked else None
    c, alpha = attn(q, k, v, mask)
    c_ref, a_ref = np_multiplicative(np_of(q), np_of(k), np_of(v), attn.W_a.numpy(), mask)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
def test_scaled_dot_product_matches_reference(rng, masked):
    attn = ScaledDotProductAttention()
    q, k, v = qkv(rng, dq=DK)
    mask = random_mask(rng, (B, 1, TK)) if masked else None  # key padding
    c, alpha = attn(q, k, v, mask)
    c_ref, a_ref = np_dot(np_of(q), np_of(k), np_of(v), mask)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mask_shape", [None, (TQ, TK), (B, TQ, TK)])
def test_multihead_matches_per_head_reference(rng, mask_shape):
    d_model, heads = 6, 3
    mha = MultiHeadAttention(d_model, heads)
    q, k, v = qkv(rng, d_model, d_model, d_model)
    mask = None if mask_shape is None else random_mask(rng, mask_shape)
    out, weights = mha(q, k, v, mask)
    W = [p.numpy() for p in (mha.W_Q, mha.W_K, mha.W_V, mha.W_O)]
    b = [p.numpy() for p in (mha.b_Q, mha.b_K, mha.b_V, mha.b_O)]
    out_ref, w_ref = np_multihead(np_of(q), np_of(k), np_of(v), *W, b, heads, mask)
    assert out.shape == (B, TQ, d_model) and weights.shape == (B, heads, TQ, TK)
    np.testing.assert_allclose(out.numpy(), out_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), w_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mha.last_attention, w_ref, rtol=1e-10, atol=1e-12)


def test_multihead_without_bias_has_no_bias_parameters(rng):
    mha = MultiHeadAttention(4, 2, bias=False)
    assert [n for n, _ in mha.named_parameters()] == ["W_Q", "W_K", "W_V", "W_O"]
    q, k, v = qkv(rng, 4, 4, 4)
    out, _ = mha(q, k, v)
    W = [p.numpy() for p in (mha.W_Q, mha.W_K, mha.W_V, mha.W_O)]
    zeros = [np.zeros(4)] * 4
    out_ref, _ = np_multihead(np_of(q), np_of(k), np_of(v), *W, zeros, 2)
    np.testing.assert_allclose(out.numpy(), out_ref, rtol=1e-10, atol=1e-12)


def test_values_default_to_keys(rng):
    attn = MultiplicativeAttention(DQ, DK)
    q, k, _ = qkv(rng)
    c1, a1 = attn(q, k)
    c2, a2 = attn(q, k, k)
    np.testing.assert_array_equal(c1.numpy(), c2.numpy())
    np.testing.assert_array_equal(a1.numpy(), a2.numpy())


def test_intermediates_carry_the_seed_symbols(rng):
    q, k, v = qkv(rng)
    c, _ = AdditiveAttention(DQ, DK, A)(q, k, v)
    names = {node.name for node in ts.graph.trace(c.sum()).nodes}
    assert {"e_t", "alpha_t", "c_t", "W_a", "U_a", "v_a"} <= names
    mha = MultiHeadAttention(4, 2)
    x = f64(rng, B, TQ, 4)
    out, _ = mha(x, x, x)
    names = {node.name for node in ts.graph.trace(out.sum()).nodes}
    assert {"Q", "K", "V", "e", "alpha", "MultiHead", "W_Q", "W_O"} <= names


# ------------------------------------------------------------------ gradients
# every mask shape the API takes, for query length 2, key length 3, batch 2
MASKS = {
    "none": None,
    "(Tq, Tk)": np.array([[True, False, True], [True, True, False]]),
    "(B, 1, Tk)": np.array([[[True, True, False]], [[True, False, False]]]),
    "(B, Tq, Tk)": np.array([[[True, False, True], [False, True, True]], [[True] * 3] * 2]),
}


@pytest.mark.parametrize("mask", list(MASKS))
def test_gradcheck_additive(rng, mask):
    attn = AdditiveAttention(3, 4, 2)
    q, k, v = qkv(rng, 3, 4, 2, tq=2, tk=3)
    m = MASKS[mask]
    assert ts.gradcheck(lambda *_: attn(q, k, v, m)[0], q, k, v, *attn.parameters())


@pytest.mark.parametrize("mask", list(MASKS))
def test_gradcheck_multiplicative(rng, mask):
    attn = MultiplicativeAttention(3, 4)
    q, k, v = qkv(rng, 3, 4, 2, tq=2, tk=3)
    m = MASKS[mask]
    assert ts.gradcheck(lambda *_: attn(q, k, v, m)[0], q, k, v, *attn.parameters())


def test_gradcheck_scaled_dot_product(rng):
    attn = ScaledDotProductAttention()
    q, k, v = qkv(rng, 3, 3, 2, tq=2, tk=3)
    mask = np.array([[[True, True, False]], [[True, False, False]]])  # key padding (B, 1, Tk)
    assert ts.gradcheck(lambda *_: attn(q, k, v, mask)[0], q, k, v)
    assert ts.gradcheck(lambda *_: attn(q, k, v, mask)[1], q, k)  # the weights themselves


def test_gradcheck_multihead(rng):
    mha = MultiHeadAttention(4, 2)
    q, k, v = qkv(rng, 4, 4, 4, tq=2, tk=3)
    mask = np.tril(np.ones((2, 3), dtype=bool))
    assert ts.gradcheck(lambda *_: mha(q, k, v, mask)[0], q, k, v, *mha.parameters())


@pytest.mark.parametrize(
    ("heads", "bias", "mask"),
    [(1, False, "(B, 1, Tk)"), (4, True, "(B, Tq, Tk)"), (2, False, "none")],
)
def test_gradcheck_multihead_heads_biases_and_masks(rng, heads, bias, mask):
    mha = MultiHeadAttention(4, heads, bias=bias)
    q, k, v = qkv(rng, 4, 4, 4, tq=2, tk=3)
    m = MASKS[mask]
    assert ts.gradcheck(lambda *_: mha(q, k, v, m)[0], q, k, v, *mha.parameters())
    assert ts.gradcheck(lambda *_: mha(q, k, v, m)[1], q, k, mha.W_Q, mha.W_K)  # the weights


def test_gradcheck_through_a_fully_masked_row(rng):
    mha = MultiHeadAttention(4, 2)
    q, k, v = qkv(rng, 4, 4, 4, tq=2, tk=3)
    mask = np.array([[True, True, False], [False, False, False]])
    assert ts.gradcheck(lambda *_: mha(q, k, v, mask)[0], q, k, v, mha.W_Q, mha.W_O)


# ------------------------------------------------------------------ weights and masks
def all_attentions():
    return [
        AdditiveAttention(DK, DK, A),
        MultiplicativeAttention(DK, DK),
        ScaledDotProductAttention(),
    ]


@pytest.mark.parametrize("which", range(3))
def test_weights_are_distributions_zero_where_masked(rng, which):
    attn = all_attentions()[which]
    q, k, v = qkv(rng, DK, DK, DV)
    mask = random_mask(rng, (B, TQ, TK))
    _, alpha = attn(q, k, v, mask)
    a = alpha.numpy()
    assert (a >= 0).all()
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-12)
    assert (a[~mask] == 0.0).all()  # exactly zero, not merely small
    np.testing.assert_array_equal(attn.last_attention, a)


@pytest.mark.parametrize("which", range(4))
def test_fully_masked_row_gives_zero_weights_and_context_without_warnings(rng, which):
    attn = [*all_attentions(), MultiHeadAttention(DK, 2)][which]
    q, k, v = qkv(rng, DK, DK, DK)
    mask = random_mask(rng, (B, TQ, TK))
    mask[1, 2] = False  # query 2 of batch row 1 is padding: it may attend to nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's divide/invalid warnings would fail here
        c, alpha = attn(q, k, v, mask) if which < 3 else attn(q, k, v, mask)
        (c * c).sum().backward()
    a, c = alpha.numpy(), c.numpy()
    assert np.isfinite(a).all() and np.isfinite(c).all()
    assert np.isfinite(np_of(q.grad)).all() and np.isfinite(np_of(k.grad)).all()
    row = a[1, :, 2] if which == 3 else a[1, 2]
    np.testing.assert_array_equal(row, 0.0)
    if which < 3:
        np.testing.assert_array_equal(c[1, 2], 0.0)  # c_t = Σ α v = 0
        np.testing.assert_array_equal(np_of(q.grad)[1, 2], 0.0)
    rows = a.sum(axis=-1)
    rows = rows[1, :, 2] if which == 3 else rows[1, 2]
    np.testing.assert_array_equal(rows, 0.0)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_masked_keys_get_no_weight_however_low_the_allowed_scores(dtype):
    # the allowed keys score −7e9 and −1.4e10, the masked one +3.5e10: a fixed masked
    # score of −1e9 gave the masked key all the weight (PyTorch: [1, 0, 0])
    scale = 1e5 if dtype != np.float16 else 100.0  # (float16 ends at 65504)
    q = np.array([[[scale, 0.0]]], dtype)
    k = np.array([[[-scale, 0.0], [-2 * scale, 0.0], [5 * scale, 0.0]]], dtype)
    v = np.array([[[1.0], [2.0], [100.0]]], dtype)
    mask = np.array([[[True, True, False]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in score − max, no NaN
        c, alpha = ScaledDotProductAttention()(ts.Tensor(q), ts.Tensor(k), ts.Tensor(v), mask)
        _, none = ScaledDotProductAttention()(
            ts.Tensor(q), ts.Tensor(k), ts.Tensor(v), np.zeros((1, 1, 3), bool)
        )
    np.testing.assert_array_equal(alpha.numpy().ravel(), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(c.numpy().ravel(), [1.0])
    np.testing.assert_array_equal(none.numpy(), 0.0)  # a fully masked row: zeros


def test_float16_masked_keys_lose_to_allowed_scores_down_to_its_range_end():
    # half of float16's range (−32752) lost to allowed scores of −40000
    e = ts.Tensor(np.array([[[-40000.0, -50000.0, 30000.0]]], np.float16))
    mask = np.array([[[True, True, False]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alpha = masked_softmax(e, mask)
    np.testing.assert_array_equal(alpha.numpy().ravel(), [1.0, 0.0, 0.0])


def test_mask_forms_agree(rng):
    """(Tq, Tk) broadcast over the batch, (B, 1, Tk) over queries, bool Tensor or array."""
    attn = ScaledDotProductAttention()
    q, k, v = qkv(rng, DK, DK, DV)
    causal = np.tril(np.ones((TQ, TK), dtype=bool))
    full = np.broadcast_to(causal, (B, TQ, TK)).copy()
    a1 = attn(q, k, v, causal)[1].numpy()
    a2 = attn(q, k, v, full)[1].numpy()
    a3 = attn(q, k, v, ts.Tensor(full))[1].numpy()
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(a1, a3)
    padding = np.array([[True, True, False, False], [True, True, True, False]])
    a4 = attn(q, k, v, padding[:, None, :])[1].numpy()
    a5 = attn(q, k, v, np.repeat(padding[:, None, :], TQ, axis=1))[1].numpy()
    np.testing.assert_array_equal(a4, a5)
    # the public functions take a Tensor mask as the modules do (they raised on .any)
    e = ts.Tensor(rng.standard_normal((B, TQ, TK)))
    np.testing.assert_array_equal(
        masked_softmax(e, ts.Tensor(full)).numpy(), masked_softmax(e, full).numpy()
    )
    context, _ = scaled_dot_product_attention(q, k, v, ts.Tensor(full))
    np.testing.assert_array_equal(
        context.numpy(), scaled_dot_product_attention(q, k, v, full)[0].numpy()
    )


def test_all_heads_in_one_batched_product_equal_one_head_at_a_time(rng):
    """Head i uses exactly columns [i·d_k, (i+1)·d_k): changing another head's columns of
    W_Q leaves head i's weights unchanged."""
    mha = MultiHeadAttention(6, 3)
    x = f64(rng, B, TQ, 6, requires_grad=False)
    _, w_before = mha(x, x, x)
    mha.W_Q.data[:, 2:4] += 1.0  # head 1's columns only
    _, w_after = mha(x, x, x)
    np.testing.assert_array_equal(w_before.numpy()[:, [0, 2]], w_after.numpy()[:, [0, 2]])
    assert not np.allclose(w_before.numpy()[:, 1], w_after.numpy()[:, 1])


# ------------------------------------------------------------------ bad input
def test_num_heads_must_divide_d_model():
    with pytest.raises(ValueError, match=r"d_model=6, num_heads=4"):
        MultiHeadAttention(6, 4)


def test_mismatched_d_model_is_named(rng):
    mha = MultiHeadAttention(4, 2)
    q, k, v = qkv(rng, 4, 5, 4)
    with pytest.raises(ValueError, match=r"keys with last axis d_model=4, got \(2, 4, 5\)"):
        mha(q, k, v)


def test_key_value_length_mismatch(rng):
    q, k, _ = qkv(rng, DK, DK, DV)
    v = f64(rng, B, TK + 1, DV)
    for attn in [*all_attentions(), MultiHeadAttention(DK, 2)]:
        with pytest.raises(ValueError, match=r"same length.*\(2, 4, 6\).*\(2, 5, "):
            attn(q, k, v if not isinstance(attn, MultiHeadAttention) else f64(rng, B, 5, DK))


def test_batch_mismatch(rng):
    q, k, v = qkv(rng, DK, DK, DV)
    with pytest.raises(ValueError, match="batch size"):
        ScaledDotProductAttention()(q, k[:1], v[:1])


def test_mask_of_the_wrong_shape(rng):
    q, k, v = qkv(rng, DK, DK, DK)
    for attn in [*all_attentions(), MultiHeadAttention(DK, 2)]:
        with pytest.raises(ValueError, match=r"mask of shape \(4, 3\).*\(2, 3, 4\)"):
            attn(q, k, v, np.ones((TK, TQ), dtype=bool))


def test_a_padding_mask_as_padding_mask_gives_it_is_told_to_get_a_query_axis(rng):
    # ts.F.padding_mask(lengths, Tk) is (B, Tk): passed as it comes, the error says how to
    # make it the key padding (B, 1, Tk), which then works
    q, k, v = qkv(rng, DK, DK, DK)
    pad = ts.F.padding_mask([TK, 2], TK)  # (B, Tk) = (2, 4)
    for attn in [*all_attentions(), MultiHeadAttention(DK, 2)]:
        with pytest.raises(ValueError, match=r"mask of shape \(2, 4\).*pass mask\[:, None, :\]"):
            attn(q, k, v, pad)
        _, weights = attn(q, k, v, pad[:, None, :])
        assert np.all(np_of(weights)[1, ..., 2:] == 0) and np.all(np_of(weights)[0] > 0)
    with pytest.raises(ValueError, match=r"mask of shape \(4, 3\)") as caught:
        all_attentions()[0](q, k, v, np.ones((TK, TQ), dtype=bool))
    assert "padding_mask" not in str(caught.value)  # a shape that is not (B, Tk): no hint


def test_mask_must_be_boolean(rng):
    q, k, v = qkv(rng, DK, DK, DV)
    with pytest.raises(TypeError, match="boolean"):
        ScaledDotProductAttention()(q, k, v, np.ones((TQ, TK)))


def test_query_width_is_checked(rng):
    q, k, v = qkv(rng, DQ + 1, DK, DV)
    with pytest.raises(ValueError, match=r"q_dim=5, got query \(2, 3, 6\)"):
        AdditiveAttention(DQ, DK, A)(q, k, v)
    with pytest.raises(ValueError, match=r"q_dim=5, got query \(2, 3, 6\)"):
        MultiplicativeAttention(DQ, DK)(q, k, v)
    with pytest.raises(ValueError, match=r"k_dim=7, got keys \(2, 4, 6\)"):
        MultiplicativeAttention(DQ + 1, DK + 1)(q, k, v)
    with pytest.raises(ValueError, match=r"same last axis.*\(2, 3, 6\).*\(2, 4, 5\)"):
        ScaledDotProductAttention()(q, f64(rng, B, TK, DK - 1))


def test_inputs_must_be_batched_sequences(rng):
    with pytest.raises(ValueError, match=r"3 axes.*\(3, 6\)"):
        ScaledDotProductAttention()(f64(rng, 3, 6), f64(rng, B, TK, 6))


def test_dtype_mistakes_are_type_errors_and_shape_mistakes_value_errors():
    ids = np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(TypeError, match=r"who: src must be integer token ids.*float64"):
        ids_array(ids.astype(float), "who", "src")
    with pytest.raises(ValueError, match=r"who: src must be .*\(B, T\), got shape \(3,\)"):
        ids_array(ids[0], "who", "src")
    with pytest.raises(ValueError, match=r"who: src has no tokens \(shape \(2, 0\)\)"):
        ids_array(ids[:, :0], "who", "src")
    assert ids_array([[1, 2, 3]], "who", "src").shape == (1, 3)
    with pytest.raises(TypeError, match=r"who: src_mask must be boolean.*float64"):
        source_mask(ids, src_mask=np.ones((2, 3)), who="who")
    with pytest.raises(ValueError, match=r"who: src_mask .*\(2, 3\).*got shape \(3, 2\)"):
        source_mask(ids, src_mask=np.ones((3, 2), dtype=bool), who="who")
    like = ts.Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(TypeError, match=r"who: mask must be boolean"):
        as_mask(np.ones((3, 4)), 2, 3, 4, "who", like)
    with pytest.raises(ValueError, match=r"who: mask of shape \(2, 4\)"):
        as_mask(np.ones((2, 4), dtype=bool), 2, 3, 4, "who", like)


def test_attention_over_no_keys_is_a_clear_error():
    from tinygrad_seq.nn import ScaledDotProductAttention

    with pytest.raises(ValueError, match="at least one key"):
        ScaledDotProductAttention()(ts.Tensor(np.ones((1, 2, 4))), ts.Tensor(np.ones((1, 0, 4))))
