"""Attention: the seed's three score functions and multi-head attention, checked against
NumPy references written here from the seed's formulas, by finite differences in float64,
and on masks, weights as distributions, and bad input."""

from __future__ import annotations

import re
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
    # batch 3 of 2 queries: with B == Tq a (Tq, Tk) mask with an empty query row reads as
    # PyTorch's key_padding_mask and is refused (test_pytorch_polarity_... below)
    q, k, v = qkv(rng, 4, 4, 4, tq=2, tk=3, b=3)
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
    k3, v3 = f64(rng, 3, TK, DK), f64(rng, 3, TK, DV)
    for attn in [*all_attentions(), MultiHeadAttention(DK, 2)]:
        with pytest.raises(ValueError, match=r"batch size \(a batch of 1 is broadcast"):
            attn(q, k3, v3 if not isinstance(attn, MultiHeadAttention) else f64(rng, 3, TK, DK))
    with pytest.raises(ValueError, match=r"batch size.*values \(3, 4, 3\)"):
        ScaledDotProductAttention()(q, k, v3)  # keys and values differ too


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


# ------------------------------------------------------------------ key_mask: key padding
def four_attentions(d=DK):
    """The three seed attentions and multi-head attention, all on width d."""
    return [
        AdditiveAttention(d, d, A),
        MultiplicativeAttention(d, d),
        ScaledDotProductAttention(),
        MultiHeadAttention(d, 2),
    ]


def reference(attn, q, k, v, mask):
    """(context, weights) from the NumPy references above, for a mask broadcast to
    (B, Tq, Tk) (or None)."""
    q, k, v = np_of(q), np_of(k), np_of(v)
    if isinstance(attn, AdditiveAttention):
        return np_additive(q, k, v, attn.W_a.numpy(), attn.U_a.numpy(), attn.v_a.numpy(), mask)
    if isinstance(attn, MultiplicativeAttention):
        return np_multiplicative(q, k, v, attn.W_a.numpy(), mask)
    if isinstance(attn, ScaledDotProductAttention):
        return np_dot(q, k, v, mask)
    W = [p.numpy() for p in (attn.W_Q, attn.W_K, attn.W_V, attn.W_O)]
    b = [p.numpy() for p in (attn.b_Q, attn.b_K, attn.b_V, attn.b_O)]
    return np_multihead(q, k, v, *W, b, attn.num_heads, mask)


@pytest.mark.parametrize("which", range(4))
def test_key_mask_hides_each_rows_padding_where_a_2d_mask_is_read_as_tq_tk(rng, which):
    # batch 3 of 3 queries: a (B, Tk) padding mask passed as `mask` fits (Tq, Tk) and is
    # read so (query t sees row t's keys, in every batch row); as key_mask it hides each
    # batch row's own padding from all of its queries
    attn = four_attentions()[which]
    q, k, v = qkv(rng, DK, DK, DK, tq=3, tk=TK, b=3)
    lengths = [4, 2, 1]
    key_mask = ts.F.padding_mask(lengths, TK)  # (B, Tk) = (3, 4), True at real keys
    c, alpha = attn(q, k, v, key_mask=key_mask)
    full = np.broadcast_to(key_mask[:, None, :], (3, 3, TK))
    c_ref, a_ref = reference(attn, q, k, v, full)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)
    a = alpha.numpy() if which < 3 else alpha.numpy().transpose(1, 0, 2, 3)  # (.., B, Tq, Tk)
    for b, n in enumerate(lengths):
        assert np.all(a[..., b, :, n:] == 0) and np.all(a[..., b, :, :n] > 0)
    # the same mask given as `mask` is the (Tq, Tk) reading: a different result
    _, misread = attn(q, k, v, key_mask)
    assert not np.allclose(misread.numpy(), alpha.numpy())
    # a bool Tensor and the (B, 1, Tk) mask give the same as key_mask, bit for bit
    for same in (attn(q, k, v, key_mask=ts.Tensor(key_mask)), attn(q, k, v, key_mask[:, None])):
        np.testing.assert_array_equal(same[1].numpy(), alpha.numpy())
        np.testing.assert_array_equal(same[0].numpy(), c.numpy())


@pytest.mark.parametrize("which", range(4))
@pytest.mark.parametrize("mask_shape", [(TQ, TK), (B, TQ, TK), (B, 1, TK)])
def test_key_mask_and_mask_both_must_allow(rng, which, mask_shape):
    attn = four_attentions()[which]
    q, k, v = qkv(rng, DK, DK, DK)
    mask = random_mask(rng, mask_shape)
    key_mask = rng.random((B, TK)) < 0.6
    key_mask[0] = True
    key_mask[1, 0] = False  # key 0 of row 1 is padding, though `mask` allows it everywhere
    c, alpha = attn(q, k, v, mask, key_mask=key_mask)
    both = np.broadcast_to(mask & key_mask[:, None, :], (B, TQ, TK))
    c_ref, a_ref = reference(attn, q, k, v, both)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)
    a = alpha.numpy() if which < 3 else alpha.numpy()[:, 0]
    assert np.all(a[~both] == 0)
    np.testing.assert_array_equal(a[1, :, 0], 0.0)


def attention_and_width(which: int):
    """One of the four attentions, small, and the width its query, keys and values take."""
    attn = [
        AdditiveAttention(3, 3, 2),
        MultiplicativeAttention(3, 3),
        ScaledDotProductAttention(),
        MultiHeadAttention(4, 2),
    ][which]
    return attn, 4 if which == 3 else 3


@pytest.mark.parametrize("which", range(4))
def test_gradcheck_with_key_mask_and_mask(rng, which):
    attn, d = attention_and_width(which)
    q, k, v = qkv(rng, d, d, d, tq=2, tk=3)
    causal = np.tril(np.ones((2, 3), dtype=bool))
    key_mask = np.array([[True, True, True], [True, False, True]])
    params = list(attn.parameters())
    assert ts.gradcheck(lambda *_: attn(q, k, v, causal, key_mask=key_mask)[0], q, k, v, *params)
    assert ts.gradcheck(lambda *_: attn(q, k, v, key_mask=key_mask)[1], q, k, *params)
    # a padded key's value gets no gradient: no query reads it
    (c, _), q.grad, k.grad, v.grad = attn(q, k, v, key_mask=key_mask), None, None, None
    c.sum().backward()
    np.testing.assert_array_equal(np_of(v.grad)[1, 1], 0.0)
    assert np.all(np_of(v.grad)[0] != 0)


def test_a_key_mask_that_hides_every_key_gives_zero_weights_and_context(rng):
    q, k, v = qkv(rng, DK, DK, DK)
    key_mask = np.array([[True, False, True, True], [False] * TK])  # row 1: no real key
    for attn in four_attentions():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            c, alpha = attn(q, k, v, key_mask=key_mask)
        np.testing.assert_array_equal(alpha.numpy()[1], 0.0)
        if not isinstance(attn, MultiHeadAttention):  # (its output adds b_O to zero heads)
            np.testing.assert_array_equal(c.numpy()[1], 0.0)
        assert np.all(np.isfinite(c.numpy()))


def test_key_mask_must_be_boolean_and_b_by_tk(rng):
    q, k, v = qkv(rng, DK, DK, DK)
    for attn in four_attentions():
        name = type(attn).__name__
        with pytest.raises(TypeError, match=rf"{name}: key_mask must be boolean, True at real"):
            attn(q, k, v, key_mask=np.ones((B, TK)))  # 0/1: which polarity?
        with pytest.raises(TypeError, match=r"got dtype int64"):
            attn(q, k, v, key_mask=ts.Tensor(np.ones((B, TK), dtype=np.int64)))
        for shape in [(B, 1, TK), (TK,), (TK, B), (B, TQ, TK)]:
            with pytest.raises(
                ValueError,
                match=rf"key_mask must have shape \(B, Tk\) = \(2, 4\).*got shape "
                rf"{re.escape(str(shape))}; a mask over queries and keys goes in mask=",
            ):
                attn(q, k, v, key_mask=np.ones(shape, dtype=bool))


def test_a_padding_mask_given_as_mask_is_told_about_key_mask(rng):
    q, k, v = qkv(rng, DK, DK, DK)
    pad = ts.F.padding_mask([TK, 2], TK)  # (B, Tk) = (2, 4), not (Tq, Tk) = (3, 4)
    for attn in four_attentions():
        with pytest.raises(
            ValueError, match=r"goes in key_mask= \(PyTorch's key_padding_mask, True = ignore, "
        ):
            attn(q, k, v, pad)
        np.testing.assert_array_equal(
            attn(q, k, v, key_mask=pad)[1].numpy(), attn(q, k, v, pad[:, None, :])[1].numpy()
        )


PYTORCH_MASK_KEYWORDS = [
    (
        "key_padding_mask",
        r"key_padding_mask is True where attention may not look; key_mask= "
        r"here is True at real keys.*write key_mask=~key_padding_mask",
    ),
    (
        "attn_mask",
        r"attn_mask is True where attention may not look; mask= here is True "
        r"where a query may attend: write mask=~attn_mask",
    ),
    ("is_causal", r"mask=ts.F.causal_mask\(T\)"),
]


@pytest.mark.parametrize(("keyword", "says"), PYTORCH_MASK_KEYWORDS)
def test_pytorchs_mask_keywords_are_refused_with_the_negation_to_write(rng, keyword, says):
    # PyTorch's key_padding_mask is True at padding: taken here as it is, it would hide
    # the real keys; refused by name, with the negation to write
    q, k, v = qkv(rng, DK, DK, DK)
    pad = ~ts.F.padding_mask([TK, 2], TK)  # PyTorch's polarity: True = ignore
    for attn in four_attentions():
        name = type(attn).__name__
        with pytest.raises(
            TypeError,
            match=rf"ts.nn.{name}: it takes no {keyword}= "
            rf"\(PyTorch's\): .*{says}",
        ):
            attn(q, k, v, **{keyword: pad})
    # what the message says to write runs, and hides row 1's last two keys
    _, alpha = MultiHeadAttention(DK, 2)(q, k, v, key_mask=~pad)
    assert np.all(alpha.numpy()[1, ..., 2:] == 0) and np.all(alpha.numpy()[0] > 0)


def test_other_unknown_forward_keywords_get_pythons_message(rng):
    q, k, v = qkv(rng, DK, DK, DK)
    for attn in four_attentions():
        name = type(attn).__name__
        with pytest.raises(
            TypeError, match=rf"^{name}.forward\(\) got an unexpected keyword argument 'kee_mask'$"
        ):
            attn(q, k, v, kee_mask=np.ones((B, TK), bool), key_padding_mask=None)

    class Mine(MultiHeadAttention):  # a subclass keeps the hints, under its own name
        pass

    with pytest.raises(TypeError, match=r"^Mine: it takes no key_padding_mask= \(PyTorch's\)"):
        Mine(DK, 2)(q, k, v, key_padding_mask=np.ones((B, TK), bool))


# ------------------------------------------------------------------ a batch of 1, broadcast
@pytest.mark.parametrize("which", range(4))
@pytest.mark.parametrize("single", ["query", "keys and values"])
def test_a_batch_of_one_broadcasts_against_the_others(rng, which, single):
    """One learned query (1, Tq, d) read against B key sequences gives what the query
    repeated B times gives, and its gradient is the sum of the repeated copies'; likewise
    one key sequence shared by B queries."""
    attn = four_attentions()[which]
    q, k, v = qkv(rng, DK, DK, DK)  # B = 2
    if single == "query":
        q = f64(rng, 1, TQ, DK)
    else:
        k, v = f64(rng, 1, TK, DK), f64(rng, 1, TK, DK)
    args = (q, k, v)
    # each input repeated to batch B, a leaf of its own (so no gradient is shared)
    tiled = [ts.Tensor(np.repeat(t.numpy(), B // t.shape[0], axis=0), True) for t in args]
    key_mask = np.array([[True, True, True, False], [True, False, True, True]])
    causal = np.tril(np.ones((TQ, TK), dtype=bool))
    c, alpha = attn(*args, causal, key_mask=key_mask)
    c_ref, a_ref = reference(attn, *tiled, causal & key_mask[:, None])
    assert c.shape == (B, TQ, DK) and alpha.shape[0] == B
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(c_ref.shape)
    (c * w).sum().backward()
    (attn(*tiled, causal, key_mask=key_mask)[0] * w).sum().backward()
    for mine, copies in zip(args, tiled, strict=True):
        assert mine.grad.shape == mine.shape
        want = np_of(copies.grad).sum(axis=0, keepdims=True) if len(mine) == 1 else copies.grad
        np.testing.assert_allclose(np_of(mine.grad), np_of(want), rtol=1e-10, atol=1e-12)
    assert np.abs(np_of(args[0 if single == "query" else 2].grad)).max() > 1e-3  # (not trivial)


@pytest.mark.parametrize("which", range(4))
def test_gradcheck_a_broadcast_query(rng, which):
    attn, d = attention_and_width(which)
    q = f64(rng, 1, 2, d)  # one query sequence for a batch of 3
    k, v = f64(rng, 3, 3, d), f64(rng, 3, 3, d)
    key_mask = np.array([[True, True, False], [True, True, True], [False, True, True]])
    params = list(attn.parameters())
    assert ts.gradcheck(lambda *_: attn(q, k, v, key_mask=key_mask)[0], q, k, v, *params)
    assert ts.gradcheck(lambda *_: attn(k, q, q)[0], q, k, *params)  # keys and values of 1


# ------------------------------------------------------------------ PyTorch's polarity
# PyTorch's boolean masks are True where attention may NOT look. The masks that read so,
# and would make no sense read this way, are refused with what to write; every mask that
# lets each query attend somewhere passes, as does any 3-D mask.
def pytorch_causal(T):
    """PyTorch's causal attn_mask, torch.triu(torch.ones(T, T), 1).bool(): True above the
    diagonal (the future, hidden), False on it."""
    return np.triu(np.ones((T, T), dtype=bool), 1)


@pytest.mark.parametrize("which", range(4))
def test_pytorchs_causal_mask_in_self_attention_is_refused(rng, which, xp):
    attn = four_attentions()[which]
    name = type(attn).__name__
    x = f64(rng, B, 4, DK)
    theirs = pytorch_causal(4)
    # read as True = may attend: no position sees itself, the last sees nothing
    for given in (theirs, ts.Tensor(theirs), xp.asarray(theirs)):
        with pytest.raises(
            ValueError,
            match=rf"^{name}: mask lets no position attend to itself and the last to nothing.*"
            r"PyTorch's causal mask torch.triu\(torch.ones\(T, T\), 1\).bool\(\).*write "
            r"mask=ts.F.causal_mask\(4\) for the causal mask; mask=~m for another",
        ):
            attn(x, x, x, given)
    # what it says to write: the causal mask, which ~theirs is
    c, alpha = attn(x, x, x, ~theirs)
    c_ref, a_ref = reference(attn, x, x, x, ts.F.causal_mask(4))
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    # only self-attention is known to want the diagonal: keys of their own pass it
    k = f64(rng, B, 4, DK)
    _, alpha = attn(x, k, k, theirs)
    np.testing.assert_allclose(alpha.numpy(), reference(attn, x, k, k, theirs)[1], atol=1e-12)


@pytest.mark.parametrize("which", range(4))
def test_a_2d_mask_false_everywhere_is_refused_a_3d_one_taken(rng, which):
    attn = four_attentions()[which]
    q, k, v = qkv(rng, DK, DK, DK)
    # PyTorch's "no masking", torch.zeros(T, T, dtype=torch.bool): here it hides every key
    with pytest.raises(
        ValueError,
        match=rf"^{type(attn).__name__}: mask is False everywhere: no query may attend to any "
        r"key.*means no masking: leave mask out, or negate a PyTorch mask m: mask=~m$",
    ):
        attn(q, k, v, np.zeros((TQ, TK), dtype=bool))
    _, alpha = attn(q, k, v, np.zeros((B, TQ, TK), dtype=bool))  # per batch row: as given
    np.testing.assert_array_equal(alpha.numpy(), 0.0)


@pytest.mark.parametrize("which", range(4))
def test_a_key_padding_mask_as_the_4th_argument_is_refused_when_b_equals_tq(rng, which):
    # PyTorch's nn.MultiheadAttention(q, k, v, key_padding_mask): (B, Tk), True at padding,
    # fits (Tq, Tk) when B == Tq, and its row without padding allows no key
    attn = four_attentions()[which]
    q, k, v = qkv(rng, DK, DK, DK, tq=3, b=3)
    theirs = ~ts.F.padding_mask([4, 2, 3], TK)  # (B, Tk) = (3, 4), row 0 all False
    with pytest.raises(
        ValueError,
        match=r"mask of shape \(3, 4\), read as \(Tq, Tk\) for every batch row, lets query 0 "
        r"attend to no key\. With B == Tq = 3 .*key padding goes in key_mask=, True at real "
        r"keys: key_mask=~key_padding_mask\. A \(Tq, Tk\) mask meant so goes as \(B, Tq, Tk\): "
        r"np.broadcast_to\(mask, \(3, 3, 4\)\)$",
    ):
        attn(q, k, v, theirs)
    c, alpha = attn(q, k, v, key_mask=~theirs)  # what it says to write
    c_ref, a_ref = reference(attn, q, k, v, np.broadcast_to(~theirs[:, None, :], (3, 3, TK)))
    np.testing.assert_allclose(alpha.numpy(), a_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    # a (Tq, Tk) mask meant as read, given per batch row: taken as it is
    meant = np.broadcast_to(theirs, (3, 3, TK))
    np.testing.assert_allclose(
        attn(q, k, v, meant)[1].numpy(), reference(attn, q, k, v, meant)[1], atol=1e-12
    )
    # B != Tq: the same 2-D mask with an empty row is a (Tq, Tk) mask, taken as it is
    q2, k2, v2 = qkv(rng, DK, DK, DK, tq=3, b=2)
    _, alpha = attn(q2, k2, v2, theirs)
    np.testing.assert_allclose(alpha.numpy(), reference(attn, q2, k2, v2, theirs)[1], atol=1e-12)


@pytest.mark.parametrize("which", range(4))
def test_a_key_padding_mask_given_as_key_mask_is_refused(rng, which):
    attn = four_attentions()[which]
    q, k, v = qkv(rng, DK, DK, DK, tq=3, b=3)
    for lengths in ([4, 2, 3], [4, 4, 4]):  # padded to the longest; no padding at all
        theirs = ~ts.F.padding_mask(lengths, TK)  # True at padding: the longest row all False
        with pytest.raises(
            ValueError,
            match=r"key_mask row 0 has no real key and no row has real keys only.*PyTorch's "
            r"key_padding_mask.*write key_mask=~key_padding_mask \(a batch that does hold an "
            r"empty sequence can give it as mask=key_mask\[:, None, :\]\)$",
        ):
            attn(q, k, v, key_mask=theirs)
    # left padding, read as PyTorch's, is refused too; the escape is taken as it is
    theirs = ~ts.F.padding_mask([4, 2, 3], TK)[:, ::-1]
    with pytest.raises(ValueError, match=r"key_mask row 0 has no real key"):
        attn(q, k, v, key_mask=theirs)
    _, alpha = attn(q, k, v, theirs[:, None, :])
    a = alpha.numpy() if which < 3 else alpha.numpy()[:, 0]
    np.testing.assert_array_equal(a[0], 0.0)  # row 0 read as it says: no real key
    np.testing.assert_allclose(a[1:].sum(axis=-1), 1.0)


def valid_masks(rng, b, tq, tk):
    """Masks that are right under True = may attend and must pass: the library's own, and
    random ones in which every query may attend somewhere (2-D and 3-D), or with empty
    rows where that is plausible."""
    masks = []
    for _ in range(20):
        m = rng.random((tq, tk)) < rng.uniform(0.1, 0.9)
        m[np.arange(tq), rng.integers(0, tk, tq)] = True  # each query sees some key
        masks.append(m)
        masks.append(rng.random((b, tq, tk)) < 0.5)  # per batch row: anything, empty rows too
    masks.append(np.zeros((b, 1, tk), dtype=bool))
    if tq == tk:
        masks += [
            ts.F.causal_mask(tq),
            ts.F.causal_mask(tq).T.copy(),  # anti-causal
            ~np.eye(tq, dtype=bool),  # no position sees itself, every one sees others
            np.ones((tq, tq), dtype=bool),
            np.eye(tq, dtype=bool),
        ]
        if b != tq:
            masks.append(np.tril(np.ones((tq, tq), dtype=bool), -1))  # strictly causal
            # every query but the last sees key 1 alone (position 1 sees itself), the last
            # none: no query sees key 0, but the diagonal is not empty
            only_one = np.zeros((tq, tq), dtype=bool)
            only_one[:-1, 1] = True
            masks.append(only_one)
    return masks


def valid_key_masks(rng, b, tk):
    """Key masks right under True = real key: ts.F.padding_mask's, left padded, an empty
    row beside a full one, holes; and random ones."""
    lengths = rng.integers(1, tk + 1, b)
    lengths[0] = tk
    masks = [ts.F.padding_mask(lengths, tk), ts.F.padding_mask(lengths, tk)[:, ::-1].copy()]
    with_empty = ts.F.padding_mask(np.r_[tk, np.zeros(b - 1, int)], tk)
    masks += [with_empty, with_empty[:, ::-1].copy()]
    masks.append(np.array([[True, False, True, True], [False] * 4, [False, True, False, False]]))
    for _ in range(20):
        m = rng.random((b, tk)) < 0.5
        m[np.arange(b), rng.integers(0, tk, b)] = True
        masks.append(m)
    return masks


@pytest.mark.parametrize("which", range(4))
@pytest.mark.parametrize(("b", "tq"), [(3, 4), (4, 4), (2, 4)], ids=["B<Tq", "B=Tq", "B<<Tq"])
def test_masks_right_under_our_polarity_all_pass(rng, which, b, tq):
    attn = four_attentions()[which]
    x = f64(rng, b, tq, DK)
    for mask in valid_masks(rng, b, tq, tq):  # self-attention: queries are the keys
        _, alpha = attn(x, x, x, mask)
        np.testing.assert_allclose(
            alpha.numpy(), reference(attn, x, x, x, mask)[1], rtol=1e-10, atol=1e-12
        )
    q, k = f64(rng, b, tq, DK), f64(rng, b, TK, DK)
    for mask in valid_masks(rng, b, tq, TK):
        attn(q, k, k, mask)
    for key_mask in valid_key_masks(rng, 3, TK):
        q3, k3 = f64(rng, 3, tq, DK), f64(rng, 3, TK, DK)
        _, alpha = attn(q3, k3, k3, key_mask=key_mask)
        full = np.broadcast_to(key_mask[:, None, :], (3, tq, TK))
        np.testing.assert_allclose(
            alpha.numpy(), reference(attn, q3, k3, k3, full)[1], rtol=1e-10, atol=1e-12
        )


def test_pytorchs_float_masks_and_torch_tensors_get_what_to_write(rng):
    torch = pytest.importorskip("torch")
    x = f64(rng, B, 4, DK)
    additive = torch.nn.Transformer.generate_square_subsequent_mask(4)  # 0 and -inf
    for attn in four_attentions():
        name = type(attn).__name__
        for given in (additive.numpy(), ts.Tensor(additive.numpy().astype(np.float64))):
            with pytest.raises(
                TypeError,
                match=rf"^{name}: mask must be boolean \(True = may attend\), got dtype float"
                r"(32|64); it holds 0 and negatives, as PyTorch's additive float masks do.*"
                r"write mask=\(m == 0\)$",
            ):
                attn(x, x, x, given)
        with pytest.raises(TypeError, match=r"a 0/1 mask could mean either: mask is True where"):
            attn(x, x, x, np.tril(np.ones((4, 4))))
        with pytest.raises(TypeError, match=r"key_mask is True at real keys, so write key_m"):
            attn(x, x, x, key_mask=np.ones((B, 4), dtype=np.int64))
        for given in (additive, additive == 0):
            with pytest.raises(
                TypeError,
                match=rf"^{name}: mask is a torch tensor; pass a NumPy array of booleans.*"
                r"mask=~m.numpy\(\) for PyTorch's boolean masks.*mask=\(m == 0\).numpy\(\)",
            ):
                attn(x, x, x, given)
        with pytest.raises(TypeError, match=rf"^{name}: key_mask is a torch tensor"):
            attn(x, x, x, key_mask=torch.zeros(B, 4, dtype=torch.bool))
        # what the message says to write is the causal mask
        np.testing.assert_array_equal(
            attn(x, x, x, (additive == 0).numpy())[1].numpy(),
            attn(x, x, x, ts.F.causal_mask(4))[1].numpy(),
        )
