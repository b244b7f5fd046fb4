"""The Transformer: positions by the seed's formula, blocks against NumPy references,
gradient checks, permutation equivariance without positions, causality, padding, and
bad input."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import assert_greedy_is_teacher_forced_argmax, f64
from tinygrad_seq.nn import (
    PositionalEncoding,
    Transformer,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    sinusoidal_positions,
)
from tinygrad_seq.nn.transformer import FeedForward


@pytest.fixture(autouse=True)
def float64_weights():
    ts.set_default_dtype(np.float64)  # restored by the conftest fixture


# ------------------------------------------------------------------ NumPy references
def np_layer_norm(x, gain, bias, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def np_attention(Q, K, V, mask=None):
    """softmax(Q Kᵀ / √d_k) V for one head of one sequence."""
    e = Q @ K.T / np.sqrt(Q.shape[-1])
    if mask is not None:
        e = np.where(mask, e, -np.inf)
    alpha = np.exp(e - e.max(-1, keepdims=True))
    alpha /= alpha.sum(-1, keepdims=True)
    return alpha @ V


def np_multihead(mha, q, k, v, mask=None):
    """Concat(head_1..head_h) W^O, head i on columns [i·d_k, (i+1)·d_k), per sequence."""
    W_Q, W_K, W_V, W_O = (p.numpy() for p in (mha.W_Q, mha.W_K, mha.W_V, mha.W_O))
    b_Q, b_K, b_V, b_O = (p.numpy() for p in (mha.b_Q, mha.b_K, mha.b_V, mha.b_O))
    d_k = mha.d_k
    out = []
    for n in range(q.shape[0]):
        Q, K, V = q[n] @ W_Q + b_Q, k[n] @ W_K + b_K, v[n] @ W_V + b_V
        m = None if mask is None else (mask if mask.ndim == 2 else mask[n])
        heads = [
            np_attention(Q[:, c], K[:, c], V[:, c], m)
            for c in (slice(i * d_k, (i + 1) * d_k) for i in range(mha.num_heads))
        ]
        out.append(np.concatenate(heads, axis=1) @ W_O + b_O)
    return np.stack(out)


def np_ffn(ffn, x):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2."""
    W_1, b_1, W_2, b_2 = (p.numpy() for p in (ffn.W_1, ffn.b_1, ffn.W_2, ffn.b_2))
    return np.maximum(0, x @ W_1 + b_1) @ W_2 + b_2


def np_ln(norm, x):
    return np_layer_norm(x, norm.gain.numpy(), norm.bias.numpy())


def np_encoder_layer(layer, x, mask=None):
    """Multi-head self-attention, add & normalize, FFN, add & normalize."""
    x = np_ln(layer.norm_1, x + np_multihead(layer.self_attention, x, x, x, mask))
    return np_ln(layer.norm_2, x + np_ffn(layer.ffn, x))


def np_decoder_layer(layer, y, memory):
    """Masked self-attention, add & norm, cross-attention, add & norm, FFN, add & norm."""
    causal = np.tril(np.ones((y.shape[1], y.shape[1]), dtype=bool))
    y = np_ln(layer.norm_1, y + np_multihead(layer.self_attention, y, y, y, causal))
    y = np_ln(layer.norm_2, y + np_multihead(layer.cross_attention, y, memory, memory))
    return np_ln(layer.norm_3, y + np_ffn(layer.ffn, y))


# ------------------------------------------------------------------ positions
@pytest.mark.parametrize("d_model", [6, 7])
def test_sinusoidal_positions_follow_the_seed_formula(d_model):
    PE = sinusoidal_positions(11, d_model)
    assert PE.shape == (11, d_model)
    for pos in range(11):
        for j in range(d_model):
            i = j // 2
            angle = pos / 10000 ** (2 * i / d_model)
            expected = np.sin(angle) if j % 2 == 0 else np.cos(angle)
            assert PE[pos, j] == pytest.approx(expected, abs=1e-15)


def test_positional_encoding_adds_the_table(rng):
    pe = PositionalEncoding(6, max_len=10)
    x = f64(rng, 2, 4, 6)
    np.testing.assert_allclose(pe(x).numpy(), x.numpy() + sinusoidal_positions(4, 6))
    assert pe.parameters() == []
    assert ts.gradcheck(pe, x)
    with pytest.raises(ValueError, match=r"length 11.*max_len=10"):
        pe(f64(rng, 1, 11, 6))


# ------------------------------------------------------------------ blocks vs references
def test_encoder_layer_matches_reference(rng):
    layer = TransformerEncoderLayer(6, 2, 10)
    x = f64(rng, 2, 5, 6)
    np.testing.assert_allclose(layer(x).numpy(), np_encoder_layer(layer, x.numpy()), atol=1e-12)
    mask = np.array([[True] * 5, [True, True, True, False, False]])[:, None, :]
    np.testing.assert_allclose(
        layer(x, mask).numpy(), np_encoder_layer(layer, x.numpy(), mask), atol=1e-12
    )
    assert layer.last_attention.shape == (2, 2, 5, 5)


def test_decoder_layer_matches_reference(rng):
    layer = TransformerDecoderLayer(4, 2, 8)
    y, memory = f64(rng, 2, 3, 4), f64(rng, 2, 5, 4)
    np.testing.assert_allclose(
        layer(y, memory).numpy(), np_decoder_layer(layer, y.numpy(), memory.numpy()), atol=1e-12
    )
    weights = layer.last_attention
    assert weights["self"].shape == (2, 2, 3, 3) and weights["cross"].shape == (2, 2, 3, 5)
    assert (np.triu(weights["self"], k=1) == 0).all()  # causal: no weight on the future


# ------------------------------------------------------------------ gradients
def test_gradcheck_encoder_layer(rng):
    layer = TransformerEncoderLayer(4, 2, 6)
    x = f64(rng, 2, 3, 4)
    mask = np.array([[True, True, True], [True, True, False]])[:, None, :]
    assert ts.gradcheck(lambda *_: layer(x, mask), x, *layer.parameters())


def test_gradcheck_decoder_layer(rng):
    layer = TransformerDecoderLayer(4, 2, 6)
    y, memory = f64(rng, 2, 3, 4), f64(rng, 2, 2, 4)
    assert ts.gradcheck(lambda *_: layer(y, memory), y, memory, *layer.parameters())


def test_gradcheck_transformer_end_to_end(rng):
    model = Transformer(5, 6, d_model=4, heads=2, d_ff=6, layers=1)
    src = rng.integers(0, 5, (2, 3))
    tgt_in = rng.integers(0, 6, (2, 3))
    targets = rng.integers(0, 6, (2, 3))

    def loss(*_):
        return ts.F.cross_entropy(model(src, tgt_in, src_lengths=[3, 2]), targets)

    assert ts.gradcheck(loss, *model.parameters())


def test_gradcheck_two_layers_a_source_mask_and_eval_mode_dropout(rng):
    model = Transformer(5, 6, d_model=4, heads=2, d_ff=6, layers=2, dropout=0.5).eval()
    src, tgt_in = rng.integers(0, 5, (2, 3)), rng.integers(0, 6, (2, 2))
    targets = rng.integers(0, 6, (2, 2))
    src_mask = np.array([[True, False, True], [True, True, True]])

    def loss(*_):
        return ts.F.cross_entropy(model(src, tgt_in, src_mask=src_mask), targets)

    assert ts.gradcheck(loss, *model.parameters())


def test_gradcheck_decoder_layer_with_a_memory_mask(rng):
    layer = TransformerDecoderLayer(4, 2, 6)
    y, memory = f64(rng, 2, 3, 4), f64(rng, 2, 2, 4)
    memory_mask = np.array([[[True, False]], [[True, True]]])  # (B, 1, T_in)
    assert ts.gradcheck(
        lambda *_: layer(y, memory, memory_mask=memory_mask), y, memory, *layer.parameters()
    )


def test_gradcheck_layers_with_key_masks(rng):
    # the layers' key masks (B, T), True at real tokens, beside a causal mask: T = B = 3, so
    # the same (B, T) array passed as `mask` would be read as (T, T)
    enc, dec = TransformerEncoderLayer(4, 2, 6), TransformerDecoderLayer(4, 2, 6)
    x, y = f64(rng, 3, 3, 4), f64(rng, 3, 3, 4)
    real = np.array([[True, True, True], [True, True, False], [True, False, False]])
    causal = ts.F.causal_mask(3)
    assert ts.gradcheck(lambda *_: enc(x, causal, key_mask=real), x, *enc.parameters())
    assert ts.gradcheck(
        lambda *_: dec(y, x, tgt_key_mask=real, memory_key_mask=real[::-1].copy()),
        y,
        x,
        *dec.parameters(),
    )
    expected = np_encoder_layer(enc, x.numpy(), causal & real[:, None, :])
    np.testing.assert_allclose(enc(x, causal, key_mask=real).numpy(), expected, atol=1e-12)
    assert not np.allclose(enc(x, real).numpy(), expected)  # read as (T, T): not the same


@pytest.mark.parametrize(
    ("build", "keyword", "write"),
    [
        (lambda: TransformerEncoderLayer(4, 2, 6), "src_key_padding_mask", "key_mask="),
        (lambda: TransformerEncoderLayer(4, 2, 6), "src_mask", "mask=~src_mask"),
        (lambda: TransformerDecoderLayer(4, 2, 6), "tgt_key_padding_mask", "tgt_key_mask="),
        (lambda: TransformerDecoderLayer(4, 2, 6), "memory_key_padding_mask", "memory_key_mask="),
        (lambda: TransformerDecoderLayer(4, 2, 6), "tgt_is_causal", "defaults to the causal"),
    ],
)
def test_layers_refuse_pytorchs_mask_keywords_with_what_to_write(rng, build, keyword, write):
    layer = build()
    x = f64(rng, 2, 3, 4)
    args = (x,) if isinstance(layer, TransformerEncoderLayer) else (x, x)
    name = type(layer).__name__
    with pytest.raises(TypeError, match=rf"^ts.nn.{name}: it takes no {keyword}= .*{write}"):
        layer(*args, **{keyword: np.zeros((2, 3), bool)})
    with pytest.raises(TypeError, match=rf"^{name}.forward\(\) got an unexpected keyword"):
        layer(*args, key_padding_mask_=None)


def test_transformer_refuses_pytorchs_source_padding_mask_with_the_negation(rng):
    model = Transformer(5, 6, d_model=4, heads=2, d_ff=6, layers=1)
    src, tgt_in = rng.integers(1, 5, (2, 3)), rng.integers(1, 6, (2, 2))
    pad = np.array([[False, False, False], [False, False, True]])  # PyTorch's: True = pad
    with pytest.raises(TypeError, match=r"write src_mask=~src_key_padding_mask \(or give src_l"):
        model(src, tgt_in, src_key_padding_mask=pad)
    with pytest.raises(TypeError, match=r"it takes no tgt_key_padding_mask=.*ignore_index"):
        model(src, tgt_in, tgt_key_padding_mask=pad[:, :2])
    logits = model(src, tgt_in, src_mask=~pad)  # what it says to write
    np.testing.assert_array_equal(logits.numpy(), model(src, tgt_in, src_lengths=[3, 2]).numpy())


# PyTorch's masks under the layers' names (tgt_mask, memory_mask) say where attention may
# NOT look: the ones that read so are refused, named as the layer's arguments
def test_the_layers_refuse_masks_that_read_as_pytorchs_naming_their_arguments(rng):
    enc, dec = TransformerEncoderLayer(4, 2, 6), TransformerDecoderLayer(4, 2, 6)
    x, y = f64(rng, 2, 5, 4), f64(rng, 2, 3, 4)  # B = 2, T_in = 5, T_out = 3
    torch_causal = np.triu(np.ones((3, 3), dtype=bool), 1)  # torch.triu(ones, 1).bool()
    right = ts.F.padding_mask([3, 2], 3)
    cases = [
        (
            lambda: dec(y, x, torch_causal),
            r"^TransformerDecoderLayer: tgt_mask lets no position attend to itself and the "
            r"last to nothing.*write tgt_mask=ts.F.causal_mask\(3\) for the causal mask, or "
            r"leave it out \(the default\); tgt_mask=~m",
        ),
        (
            lambda: dec(y, x, None, np.zeros((3, 5), dtype=bool)),
            r"^TransformerDecoderLayer: memory_mask is False everywhere.*leave memory_mask out",
        ),
        (
            lambda: dec(y, x, tgt_key_mask=~right),
            r"^TransformerDecoderLayer: tgt_key_mask row 0 has no real key.*write "
            r"tgt_key_mask=~tgt_key_padding_mask \(a batch that does hold an empty sequence "
            r"can give it as tgt_mask=ts.F.causal_mask\(T\) & tgt_key_mask\[:, None, :\]\)$",
        ),
        (
            lambda: dec(y, x, memory_key_mask=~ts.F.padding_mask([5, 3], 5)),
            r"^TransformerDecoderLayer: memory_key_mask row 0 .*write "
            r"memory_key_mask=~memory_key_padding_mask \(.* as memory_mask=memory_key_mask",
        ),
        (  # one target sequence (B = 1) read against the memory of each of 2 sources
            lambda: dec(y[:1], x, memory_key_mask=~ts.F.padding_mask([5, 3], 5)),
            r"^TransformerDecoderLayer: memory_key_mask row 0 has no real key.*write "
            r"memory_key_mask=~memory_key_padding_mask",
        ),
        (
            lambda: enc(x, np.triu(np.ones((5, 5), dtype=bool), 1)),
            r"^TransformerEncoderLayer: mask lets no position attend to itself.*"
            r"mask=ts.F.causal_mask\(5\)",
        ),
        (
            lambda: enc(x, key_mask=np.zeros((2, 5), dtype=bool)),
            r"^TransformerEncoderLayer: key_mask row 0 has no real key",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(
        TypeError,
        match=r"^TransformerDecoderLayer: tgt_mask must be boolean \(True = may attend\), got "
        r"dtype float64; it holds 0 and negatives.*write tgt_mask=\(m == 0\)$",
    ):
        dec(y, x, np.where(ts.F.causal_mask(3), 0.0, -np.inf))  # PyTorch's additive mask
    # what the messages say to write gives the layer's own default and padding
    np.testing.assert_array_equal(dec(y, x, ~torch_causal).numpy(), dec(y, x).numpy())
    np.testing.assert_array_equal(
        dec(y, x, tgt_key_mask=right).numpy(),
        dec(y, x, ts.F.causal_mask(3) & right[:, None, :]).numpy(),
    )
    # an error of the attention's that is not a mask's keeps its own words
    with pytest.raises(ValueError, match=r"^MultiHeadAttention: query, keys and values must"):
        dec(y, f64(rng, 3, 5, 4))


def test_transformer_src_mask_that_reads_as_pytorchs_says_what_to_write(rng):
    model = Transformer(5, 6, d_model=4, heads=2, d_ff=6, layers=1)
    src, tgt_in = rng.integers(1, 5, (2, 3)), rng.integers(1, 6, (2, 2))
    pad = np.array([[False, False, False], [False, False, True]])  # PyTorch's: True = pad
    with pytest.raises(
        ValueError,
        match=r"^Transformer: src_mask row 0 has no True \(real token\).*PyTorch's "
        r"src_key_padding_mask \(True at padding\) is src_mask=~src_key_padding_mask, whose "
        r"rows without padding are all False$",
    ):
        model(src, tgt_in, src_mask=pad)
    # nn.Transformer's src_mask is an (S, S) attention mask: no masking is all False
    with pytest.raises(
        ValueError,
        match=r"got shape \(3, 3\); an \(S, S\) mask over source positions is PyTorch's "
        r"nn.Transformer src_mask, which this model does without",
    ):
        model(src, tgt_in, src_mask=np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"src_mask row 0 has no True"):  # B == S: (2, 2)
        model(src[:, :2], tgt_in, src_mask=np.zeros((2, 2), dtype=bool))
    with pytest.raises(TypeError, match=r"src_mask is True at real tokens, so write src_mask="):
        model(src, tgt_in, src_mask=(~pad).astype(np.float32))
    with pytest.raises(ValueError, match=r"^Seq2Seq: src_mask row 0 has no True.*~src_key_pad"):
        ts.nn.Seq2Seq(5, 6, 4, 4)(src, tgt_in, src_mask=pad)
    logits = model(src, tgt_in, src_mask=~pad)  # what it says to write
    np.testing.assert_array_equal(logits.numpy(), model(src, tgt_in, src_lengths=[3, 2]).numpy())


# ------------------------------------------------------------------ structure
def test_encoder_without_positions_is_permutation_equivariant(rng):
    layers = [TransformerEncoderLayer(8, 2, 16) for _ in range(2)]
    x = f64(rng, 2, 6, 8, requires_grad=False)
    perm = rng.permutation(6)

    def encode(x):
        for layer in layers:
            x = layer(x)
        return x.numpy()

    np.testing.assert_allclose(encode(x[:, perm]), encode(x)[:, perm], atol=1e-12)

    positions = PositionalEncoding(8)  # the seed's fix: add where each token sits
    with_pos = encode(positions(x))
    assert not np.allclose(encode(positions(x[:, perm])), with_pos[:, perm], atol=1e-3)


def test_transformer_encoder_sees_order_through_positions(rng):
    model = Transformer(9, 9, d_model=8, heads=2, d_ff=16, layers=2)
    src = rng.integers(0, 9, (2, 6))
    perm = np.array([5, 4, 3, 2, 1, 0])
    out, out_perm = model.encode(src).numpy(), model.encode(src[:, perm]).numpy()
    assert not np.allclose(out_perm, out[:, perm], atol=1e-3)


def test_decoder_is_causal(rng):
    model = Transformer(7, 8, d_model=8, heads=2, d_ff=16, layers=2)
    src = rng.integers(0, 7, (3, 5))
    tgt_in = rng.integers(0, 8, (3, 6))
    logits = model(src, tgt_in).numpy()
    for t in range(5):
        changed = tgt_in.copy()
        changed[:, t + 1 :] = rng.integers(0, 8, changed[:, t + 1 :].shape)
        changed[:, t + 1] = (tgt_in[:, t + 1] + 1) % 8  # surely different
        other = model(src, changed).numpy()
        np.testing.assert_allclose(other[:, : t + 1], logits[:, : t + 1], atol=1e-12)
        assert not np.allclose(other[:, t + 1], logits[:, t + 1])


def test_source_padding_is_invisible(rng):
    model = Transformer(7, 8, d_model=8, heads=2, d_ff=16, layers=1)
    src = rng.integers(1, 7, (2, 5))
    tgt_in = rng.integers(0, 8, (2, 4))
    lengths = np.array([5, 3])
    logits = model(src, tgt_in, src_lengths=lengths).numpy()
    src2 = src.copy()
    src2[1, 3:] = (src[1, 3:] + 2) % 7  # change only the padding of row 1
    np.testing.assert_allclose(model(src2, tgt_in, src_lengths=lengths).numpy(), logits, atol=1e-12)
    mask = ts.F.padding_mask(lengths, 5)
    np.testing.assert_allclose(model(src2, tgt_in, src_mask=mask).numpy(), logits, atol=1e-12)
    cross = model.last_attention["cross"][0]  # (B, heads, T_out, T_in)
    assert (cross[1, :, :, 3:] == 0).all()
    np.testing.assert_allclose(cross.sum(-1), 1.0)


def test_layers_run_inside_scopes(rng):
    model = Transformer(5, 5, d_model=4, heads=2, d_ff=8, layers=2)
    logits = model(rng.integers(0, 5, (1, 3)), rng.integers(0, 5, (1, 2)))
    scopes = ts.graph.trace(logits.sum()).scopes()
    for s in (
        "encoder/layer=0/self_attention",
        "encoder/layer=1/ffn",
        "decoder/layer=0/self_attention",
        "decoder/layer=1/cross_attention",
        "decoder/layer=1/ffn",
    ):
        assert s in scopes


def test_each_sublayer_ends_in_the_seeds_add_and_normalize(rng):
    """Graphs name each sublayer's LayerNorm(x + Sublayer(x)) as the seed's blocks list it:
    the encoder block's two, the decoder block's three, each in its sublayer's scope."""
    x, memory = ts.randn(2, 3, 4), ts.randn(2, 5, 4)
    encoded = TransformerEncoderLayer(4, 2, 8)(x)
    decoded = TransformerDecoderLayer(4, 2, 8)(x, memory)
    for out, sublayers in (
        (encoded, ["self_attention", "ffn"]),
        (decoded, ["self_attention", "cross_attention", "ffn"]),
    ):
        named = [n for n in ts.graph.trace(out.sum()).nodes if n.name == "Add & normalize"]
        assert [n.op for n in named] == ["layer_norm"] * len(sublayers)
        assert sorted(n.scope for n in named) == sorted(sublayers)


def test_greedy_decode_agrees_with_teacher_forcing_on_its_own_output(rng):
    model = Transformer(6, 7, d_model=8, heads=2, d_ff=16, layers=1)
    src = rng.integers(0, 6, (4, 5))
    bos, eos = 0, 1
    out = model.greedy_decode(src, max_len=6, bos=bos, eos=eos)
    assert out.dtype.kind == "i" and out.shape[0] == 4 and out.shape[1] <= 7
    assert (out[:, 0] == bos).all()
    assert_greedy_is_teacher_forced_argmax(model, src, out, eos)


def test_greedy_decode_reads_no_source_padding(rng):
    """With src_lengths, what stands in a row's padding changes neither the decoded ids nor
    their agreement with teacher forcing under the same lengths."""
    model = Transformer(6, 7, d_model=8, heads=2, d_ff=16, layers=1)
    src, lengths = rng.integers(2, 6, (4, 5)), np.array([5, 2, 3, 1])
    out = model.greedy_decode(src, max_len=6, bos=0, eos=None, src_lengths=lengths)
    other = src.copy()
    for row, n in enumerate(lengths):
        other[row, n:] = (src[row, n:] + 1) % 6  # only the padding differs
    np.testing.assert_array_equal(
        model.greedy_decode(other, max_len=6, bos=0, eos=None, src_lengths=lengths), out
    )
    forced = model(src, out[:, :-1], src_lengths=lengths).numpy().argmax(-1)
    np.testing.assert_array_equal(forced, out[:, 1:])


def test_greedy_decode_fills_finished_rows_with_eos_and_stops_when_all_are_done(rng):
    # An untrained model never emits EOS: the next-token logits are scripted instead.
    # Row 0 says EOS at step 1 and then (ignored) other tokens; row 1 says EOS at step 3.
    model = Transformer(6, 7, d_model=8, heads=2, d_ff=16, layers=1)
    bos, eos = 0, 1
    script = np.array([[5, eos, 4, 5, 4, 5], [5, 4, 5, eos, 4, 5]])
    prefixes = []

    def scripted_decode(tgt_in, memory, src_mask=None):
        prefixes.append(np.array(tgt_in))
        step = tgt_in.shape[1] - 1
        logits = np.zeros((*tgt_in.shape, 7))
        logits[np.arange(2), -1, script[:, step]] = 1.0
        return ts.Tensor(logits)

    model.decode = scripted_decode
    out = model.greedy_decode(rng.integers(0, 6, (2, 5)), max_len=6, bos=bos, eos=eos)
    np.testing.assert_array_equal(
        out,
        [
            [bos, 5, eos, eos, eos],  # EOS-filled after its EOS, whatever the logits say
            [bos, 5, 4, 5, eos],  # the last row to finish: decoding stopped there
        ],
    )
    assert len(prefixes) == 4  # no step after every row was done
    for step, prefix in enumerate(prefixes):  # each step was fed the output so far
        np.testing.assert_array_equal(prefix, out[:, : step + 1])


# ------------------------------------------------------------------ bad input
def test_heads_must_divide_d_model():
    for make in (TransformerEncoderLayer, TransformerDecoderLayer):
        with pytest.raises(ValueError, match=r"d_model=6, heads=4"):
            make(6, 4, 8)
    with pytest.raises(ValueError, match=r"d_model=6, heads=4"):
        Transformer(5, 5, 6, 4, 8, 1)


def test_layer_input_width_is_checked(rng):
    with pytest.raises(ValueError, match=r"last axis 4, got shape \(2, 3, 5\)"):
        TransformerEncoderLayer(4, 2, 8)(f64(rng, 2, 3, 5))
    with pytest.raises(ValueError, match=r"memory with last axis 4, got shape \(2, 3, 6\)"):
        TransformerDecoderLayer(4, 2, 8)(f64(rng, 2, 3, 4), f64(rng, 2, 3, 6))


def test_bad_ids_and_batches(rng):
    model = Transformer(5, 5, d_model=4, heads=2, d_ff=8, layers=1)
    with pytest.raises(TypeError, match=r"Transformer: src must be integer token ids.*float64"):
        model(rng.random((2, 3)), rng.integers(0, 5, (2, 3)))
    with pytest.raises(ValueError, match=r"Transformer: tgt_in must be .*\(B, T\).*\(2, 3, 1\)"):
        model(rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 3, 1)))
    with pytest.raises(ValueError, match=r"batch size.*\(3, 2\)"):
        model(rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (3, 2)))
    with pytest.raises(ValueError, match=r"src_lengths must lie in \[1, 3\]"):
        model(rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 2)), src_lengths=[3, 4])
    with pytest.raises(ValueError, match=r"Transformer: src_mask row 0 has no True"):
        model.encode(rng.integers(0, 5, (2, 3)), np.array([[False] * 3, [True] * 3]))
    with pytest.raises(TypeError, match=r"src_lengths must be integers"):
        model(rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 2)), src_lengths=[2.5, 2])
    with pytest.raises(ValueError, match=r"^Transformer: src ids .*\(src_vocab=5\).* 5 to 5"):
        model(np.full((2, 3), 5), rng.integers(0, 5, (2, 2)))
    with pytest.raises(ValueError, match=r"^Transformer: tgt_in ids .*\(tgt_vocab=5\)"):
        model(rng.integers(0, 5, (2, 3)), np.full((2, 2), 5))
    with pytest.raises(ValueError, match=r"^Transformer: src ids"):
        model.greedy_decode(np.full((2, 3), 5), 2, bos=1, eos=2)


def test_gradcheck_feed_forward(rng):
    ffn = FeedForward(3, 5)
    x = f64(rng, 2, 2, 3)
    assert ts.gradcheck(lambda *_: ffn(x), x, *ffn.parameters())
    W_1, b_1, W_2, b_2 = (p.numpy() for p in ffn.parameters())
    expected = np.maximum(0, x.numpy() @ W_1 + b_1) @ W_2 + b_2  # max(0, x W_1 + b_1) W_2 + b_2
    np.testing.assert_allclose(ffn(x).numpy(), expected, atol=1e-12)


def test_dropout_only_while_training(rng):
    layer = TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = f64(rng, 2, 5, 8, requires_grad=False)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())  # fresh masks each call
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
    np.testing.assert_allclose(layer(x).numpy(), np_encoder_layer(layer, x.numpy()), atol=1e-12)


def test_greedy_decode_rejects_a_negative_max_len(rng):
    model = Transformer(5, 5, d_model=4, heads=2, d_ff=8, layers=1)
    with pytest.raises(ValueError, match=r"greedy_decode: max_len must be at least 0, got -1"):
        model.greedy_decode(rng.integers(0, 5, (2, 3)), -1, bos=1, eos=2)
    assert model.greedy_decode(rng.integers(0, 5, (2, 3)), 0, bos=1, eos=2).shape == (2, 1)
    with pytest.raises(TypeError, match=r"Transformer.greedy_decode: max_len must be an int"):
        model.greedy_decode(rng.integers(0, 5, (2, 3)), 2.5, bos=1, eos=2)
    s2s = ts.nn.Seq2Seq(5, 5, 4, 4)
    with pytest.raises(TypeError, match=r"Seq2Seq.greedy_decode: max_len must be an int"):
        s2s.greedy_decode(rng.integers(0, 5, (2, 3)), 2.5, bos=1, eos=2)


def test_empty_sequences_name_the_model_and_the_shape(rng):
    model = Transformer(5, 5, d_model=4, heads=2, d_ff=8, layers=1)
    src, tgt_in = rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 2))
    empty = np.zeros((2, 0), dtype=np.int64)
    with pytest.raises(ValueError, match=r"Transformer: src has no tokens \(shape \(2, 0\)\)"):
        model(empty, tgt_in)
    with pytest.raises(ValueError, match=r"Transformer: tgt_in has no tokens \(shape \(2, 0\)\)"):
        model(src, empty)
    with pytest.raises(ValueError, match=r"Transformer: src has no tokens \(shape \(2, 0\)\)"):
        model.encode(empty)
    memory = model.encode(src)
    with pytest.raises(ValueError, match=r"Transformer: tgt_in has no tokens \(shape \(2, 0\)\)"):
        model.decode(empty, memory)
    with pytest.raises(ValueError, match=r"memory .*T_in >= 1, got shape \(2, 0, 4\)"):
        model.decode(tgt_in, memory[:, :0])
    with pytest.raises(TypeError, match=r"Transformer: memory must be the encoder output"):
        model.decode(tgt_in, memory.numpy())


def test_encode_and_decode_check_src_mask_as_forward_does(rng):
    model = Transformer(5, 5, d_model=4, heads=2, d_ff=8, layers=1)
    src, tgt_in = rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 2))
    mask = np.array([[True, True, True], [True, False, False]])
    memory = model.encode(src, mask)
    logits = model.decode(tgt_in, memory, mask)
    np.testing.assert_allclose(logits.numpy(), model(src, tgt_in, src_mask=mask).numpy())
    # a nested list is a mask too, as in forward
    np.testing.assert_allclose(model.encode(src, mask.tolist()).numpy(), memory.numpy())
    np.testing.assert_allclose(model.decode(tgt_in, memory, mask.tolist()).numpy(), logits.numpy())
    for call in (
        lambda m: model(src, tgt_in, src_mask=m),
        lambda m: model.encode(src, m),
        lambda m: model.decode(tgt_in, memory, m),
    ):
        with pytest.raises(TypeError, match=r"Transformer: src_mask must be boolean.*int64"):
            call(mask.astype(np.int64))
        with pytest.raises(ValueError, match=r"Transformer: src_mask .*\(2, 3\).*\(2, 2\)"):
            call(mask[:, :2])


def test_greedy_decode_runs_without_dropout_and_gives_the_mode_back():
    ts.manual_seed(8)
    model = Transformer(10, 6, 8, 2, 16, 2, dropout=0.5)  # built in training mode
    src = np.random.default_rng(8).integers(0, 10, (2, 5))
    first = model.greedy_decode(src, 8, 0, 1)
    assert all(np.array_equal(first, model.greedy_decode(src, 8, 0, 1)) for _ in range(3))
    assert model.training
    np.testing.assert_array_equal(first, model.eval().greedy_decode(src, 8, 0, 1))


def test_greedy_decode_checks_its_arguments_before_decoding():
    model = Transformer(10, 6, 8, 2, 16, 1, max_len=5)
    src = np.ones((2, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="max_len=6 needs 6 positions.*built with max_len=5"):
        model.greedy_decode(src, 6, 0, 1)
    assert model.greedy_decode(src, 5, 0, None).shape == (2, 6)  # 5 positions fed: fits
    with pytest.raises(TypeError, match="bos must be an int token id, got float"):
        model.greedy_decode(src, 3, 0.5, 1)
    with pytest.raises(ValueError, match=r"eos must be a token id in \[0, 6\), got 99"):
        model.greedy_decode(src, 3, 0, 99)


def test_greedy_decode_of_an_empty_batch_is_the_bos_column_alone():
    """No row to wait for: every row has ended before the first step, as a batch whose rows
    all end at step t stops there. With eos=None each row has max_len tokens, none here."""
    model = Transformer(10, 6, 8, 2, 16, 1)
    prefixes = []
    real_decode = model.decode
    model.decode = lambda tgt_in, *rest: prefixes.append(tgt_in.shape) or real_decode(tgt_in, *rest)
    empty = np.zeros((0, 5), dtype=np.int64)
    out = model.greedy_decode(empty, max_len=4, bos=0, eos=1)
    assert out.shape == (0, 1) and out.dtype == np.int64 and prefixes == []
    out = model.greedy_decode(empty, max_len=4, bos=0, eos=None)
    assert out.shape == (0, 5) and prefixes == [(0, 1), (0, 2), (0, 3), (0, 4)]


def test_greedy_decode_of_nothing_leaves_no_stale_decoder_weights():
    model = Transformer(10, 6, 8, 2, 16, 1)
    model(np.ones((3, 4), dtype=np.int64), np.ones((3, 2), dtype=np.int64))
    model.greedy_decode(np.ones((2, 5), dtype=np.int64), 0, 0, 1)
    weights = model.last_attention
    assert weights["encoder"][0].shape == (2, 2, 5, 5)
    assert weights["decoder_self"] == [None] and weights["cross"] == [None]


def test_layer_inputs_and_settings_are_checked():
    with pytest.raises(ValueError, match=r"x must be \(\.\.\., T, d_model\)"):
        PositionalEncoding(4)(ts.Tensor(np.ones(4)))
    with pytest.raises(ValueError, match="FeedForward: expected input with last axis 4"):
        FeedForward(4, 8)(ts.Tensor(np.ones((2, 3, 5))))
    with pytest.raises(TypeError, match="n_positions must be an int"):
        sinusoidal_positions(3.5, 4)
    # a dropout that is a 0-d array passes the check and works in training, too
    out = Transformer(10, 6, 8, 2, 16, 1, dropout=np.array(0.1))([[1, 2]], [[0, 1]])
    assert out.shape == (1, 2, 6)


def test_greedy_decode_gives_each_submodule_its_own_mode_back():
    model = Transformer(10, 6, 8, 2, 16, 1, dropout=0.1).train()
    model.encoder_layers[0].eval()
    model.greedy_decode(np.ones((1, 3), dtype=np.int64), 2, 0, 1)
    assert model.training and not model.encoder_layers[0].training


def test_positional_encoding_follows_each_inputs_dtype():
    """The table is cached per backend and dtype: one PositionalEncoding called in float64
    then float32 must give each its own dtype (and float64 its unrounded table)."""
    pe = PositionalEncoding(4, max_len=8)
    x64 = ts.Tensor(np.zeros((1, 3, 4)))
    x32 = ts.Tensor(np.zeros((1, 3, 4), np.float32))
    assert pe(x64).dtype == np.float64
    assert pe(x32).dtype == np.float32
    np.testing.assert_array_equal(pe(x64).numpy()[0], sinusoidal_positions(3, 4))


def test_source_and_target_have_their_own_embeddings_even_for_one_vocabulary():
    model = Transformer(7, 7, 8, 2, 16, 1)
    assert model.src_embedding is not model.tgt_embedding
    names = [name for name, _ in model.named_parameters()]
    assert "src_embedding.E" in names and "tgt_embedding.E" in names


def test_positions_default_to_512_of_them():
    assert PositionalEncoding(4).max_len == 512
    assert Transformer(7, 7, 8, 2, 16, 1).positions.max_len == 512


def test_an_empty_batch_passes_the_vocabulary_check():
    # B = 0 has no id to check against the vocabulary (min() of an empty array would raise)
    model = Transformer(5, 6, 8, 2, 16, 1)
    logits = model(np.zeros((0, 3), dtype=np.int64), np.zeros((0, 2), dtype=np.int64))
    assert logits.shape == (0, 2, 6)


@pytest.mark.parametrize("lengths", [np.zeros(0, dtype=np.int64), []])
def test_an_empty_batch_may_come_with_its_lengths(lengths):
    # B = 0 lengths have no minimum or maximum to check (and [] is float64 to NumPy)
    model = Transformer(5, 6, 8, 2, 16, 1)
    src = np.zeros((0, 3), dtype=np.int64)
    logits = model(src, np.zeros((0, 2), dtype=np.int64), src_lengths=lengths)
    assert logits.shape == (0, 2, 6)
    assert model.greedy_decode(src, 3, bos=1, eos=2, src_lengths=lengths).shape[0] == 0


def test_last_attention_holds_every_layers_weights(rng):
    model = Transformer(7, 7, 8, 2, 16, layers=2)
    src, tgt_in = rng.integers(0, 7, (3, 5)), rng.integers(0, 7, (3, 4))
    model(src, tgt_in)
    weights = model.last_attention
    shapes = {"encoder": (3, 2, 5, 5), "decoder_self": (3, 2, 4, 4), "cross": (3, 2, 4, 5)}
    for kind, shape in shapes.items():
        assert len(weights[kind]) == 2 and all(w.shape == shape for w in weights[kind])
    for i in range(2):
        encoder, decoder = model.encoder_layers[i], model.decoder_layers[i]
        np.testing.assert_array_equal(weights["encoder"][i], encoder.last_attention)
        np.testing.assert_array_equal(weights["decoder_self"][i], decoder.last_attention["self"])
        np.testing.assert_array_equal(weights["cross"][i], decoder.last_attention["cross"])
    assert not np.allclose(weights["encoder"][0], weights["encoder"][1])  # two layers' own
