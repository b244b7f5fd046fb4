"""Seq2Seq: every cell and attention against a NumPy reference written here from the seed's
equations (one unpadded sequence at a time), gradient checks in float64, padding, the
attention weights, greedy decoding, scopes and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of, watch_modes
from tinygrad_seq.nn import Seq2Seq

CELLS = ("rnn", "lstm", "gru")
ATTENTIONS = (None, "additive", "multiplicative", "dot")
SRC_V, TGT_V, EMB, HID = 6, 7, 3, 4


@pytest.fixture(autouse=True)
def float64_weights():
    ts.set_default_dtype(np.float64)  # restored by the conftest fixture


# ------------------------------------------------------------------ NumPy reference
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_cell(kind: str, cell, x, state):
    """One step of the seed's RNN / LSTM / GRU on column vectors; state h or (h, C)."""
    P = {n: p.numpy() for n, p in cell.named_parameters()}
    if kind == "rnn":  # h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)
        return np.tanh(P["W_hh"] @ state + P["W_xh"] @ x + P["b_h"])
    if kind == "lstm":
        h, C = state
        hx = np.concatenate([h, x])
        f = sigmoid(P["W_f"] @ hx + P["b_f"])
        i = sigmoid(P["W_i"] @ hx + P["b_i"])
        C_tilde = np.tanh(P["W_C"] @ hx + P["b_C"])
        C = f * C + i * C_tilde
        o = sigmoid(P["W_o"] @ hx + P["b_o"])
        return o * np.tanh(C), C
    h = state  # GRU, the seed's convention h_t = (1 − z) h_{t-1} + z h̃
    hx = np.concatenate([h, x])
    z = sigmoid(P["W_z"] @ hx + P["b_z"])
    r = sigmoid(P["W_r"] @ hx + P["b_r"])
    h_tilde = np.tanh(P["W_h"] @ np.concatenate([r * h, x]) + P["b_h"])
    return (1 - z) * h + z * h_tilde


def np_score(model, query, key):
    """e = a(h_{t-1}^dec, h_i^enc) by the seed's three formulas."""
    kind = model.attention_kind
    P = {n: p.numpy() for n, p in model.attention.named_parameters()}
    if kind == "additive":  # v_aᵀ tanh(W_a h^dec + U_a h^enc)
        return P["v_a"] @ np.tanh(P["W_a"] @ query + P["U_a"] @ key)
    if kind == "multiplicative":  # h^dec W_a h^enc
        return query @ P["W_a"] @ key
    return query @ key / np.sqrt(len(key))  # h^dec · h^enc / √d


def np_seq2seq(model, src, tgt_in, lengths):
    """Logits (B, T_out, V), one sequence at a time, over its real source tokens only."""
    kind = model.cell
    E_src, E_tgt = model.src_embedding.E.numpy(), model.tgt_embedding.E.numpy()
    W_o, b_o = model.W_o.numpy(), model.b_o.numpy()
    out = np.zeros((len(src), tgt_in.shape[1], W_o.shape[0]))
    alphas = np.zeros((len(src), tgt_in.shape[1], src.shape[1]))
    for b, n in enumerate(lengths):
        zeros = np.zeros(HID)
        state = (zeros, zeros) if kind == "lstm" else zeros
        h_enc = []
        for x_id in src[b, :n]:  # h_t^enc = f_enc(x_t, h_{t-1}^enc)
            state = np_cell(kind, model.encoder.cell, E_src[x_id], state)
            h_enc.append(state[0] if kind == "lstm" else state)
        c = h_enc[-1]  # c = h_T^enc; the decoder starts from the encoder's final state
        for t, y_id in enumerate(tgt_in[b]):
            h_prev = state[0] if kind == "lstm" else state
            if model.attention is not None:
                e = np.array([np_score(model, h_prev, h_i) for h_i in h_enc])
                alpha = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
                c = sum(a * h_i for a, h_i in zip(alpha, h_enc, strict=True))  # c_t
                alphas[b, t, :n] = alpha
            state = np_cell(kind, model.decoder, np.concatenate([E_tgt[y_id], c]), state)
            h_t = state[0] if kind == "lstm" else state
            features = np.concatenate([h_t, c]) if model.attention is not None else h_t
            out[b, t] = W_o @ features + b_o  # W_o [h_t^dec; c_t] + b_o
    return out, alphas


def batch(rng, B=3, T_in=5, T_out=4):
    src = rng.integers(4, SRC_V, (B, T_in))
    lengths = np.array([T_in, 3, 1][:B])
    src[1, 3:] = 0  # PAD
    src[2, 1:] = 0
    return src, lengths, rng.integers(0, TGT_V, (B, T_out))


# ------------------------------------------------------------------ forward vs reference
@pytest.mark.parametrize("cell,attention", list(itertools.product(CELLS, ATTENTIONS)))
def test_matches_reference(rng, cell, attention):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, cell, attention)
    src, lengths, tgt_in = batch(rng)
    logits = model(src, tgt_in, src_lengths=lengths)
    ref, ref_alpha = np_seq2seq(model, src, tgt_in, lengths)
    assert logits.shape == (3, 4, TGT_V)
    np.testing.assert_allclose(logits.numpy(), ref, rtol=1e-10, atol=1e-12)
    if attention is None:
        assert model.last_attention is None
    else:
        np.testing.assert_allclose(model.last_attention, ref_alpha, rtol=1e-10, atol=1e-12)


def test_src_lengths_may_be_an_array_of_the_backend(rng):
    """A CuPy src_lengths was read through its `.data` (a device pointer, not the numbers)."""
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "gru", "additive")
    src, lengths, tgt_in = batch(rng)
    expected = model(src, tgt_in, src_lengths=lengths).numpy()
    for given in (ts.backend.xp.asarray(lengths), ts.Tensor(lengths)):
        got = model(src, tgt_in, src_lengths=given).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    decoded = model.greedy_decode(src, 3, bos=1, eos=2, src_lengths=ts.backend.xp.asarray(lengths))
    np.testing.assert_array_equal(decoded, model.greedy_decode(src, 3, 1, 2, src_lengths=lengths))


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("cell,attention", list(itertools.product(CELLS, ATTENTIONS)))
def test_gradcheck(rng, cell, attention):
    model = Seq2Seq(5, 5, 2, 3, cell, attention)
    src = np.array([[4, 3, 2], [2, 4, 0], [3, 0, 0]])
    tgt_in = rng.integers(0, 5, (3, 3))
    targets = rng.integers(0, 5, (3, 3))

    def loss(*_):
        logits = model(src, tgt_in, src_lengths=[3, 2, 1])
        return ts.F.cross_entropy(logits, targets, ignore_index=0)

    assert ts.gradcheck(loss, *model.parameters())


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_gradcheck_with_a_source_mask_with_gaps(rng, attention):
    model = Seq2Seq(5, 5, 2, 3, "gru", attention)
    src = np.array([[4, 3, 2], [2, 4, 1]])
    src_mask = np.array([[True, False, True], [True, True, True]])  # not only a padded tail
    tgt_in, targets = rng.integers(0, 5, (2, 2)), rng.integers(0, 5, (2, 2))

    def loss(*_):
        return ts.F.cross_entropy(model(src, tgt_in, src_mask=src_mask), targets)

    assert ts.gradcheck(loss, *model.parameters())


@pytest.mark.parametrize("cell,attention", list(itertools.product(CELLS, ATTENTIONS)))
def test_every_parameter_gets_a_gradient(rng, cell, attention):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, cell, attention)
    src, lengths, tgt_in = batch(rng)
    ts.F.cross_entropy(model(src, tgt_in, src_lengths=lengths), tgt_in).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.abs(ts.backend.to_numpy(p.grad)).sum() > 0, name


@pytest.mark.parametrize("cell", CELLS)
def test_without_attention_the_encoder_builds_no_stack_of_every_h_enc(rng, cell, monkeypatch):
    """Without attention the decoder reads c = h_T^enc alone, so the encoder builds no stack
    of every h_t^enc: unused, it was copied in the forward and made every backward count the
    graph again (autograd's _recount). Logits, gradients and greedy decoding are those of
    the encoder that builds it, bit for bit, with and without source padding."""
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, cell)
    src, lengths, tgt_in = batch(rng)
    gaps = np.array([[True, False, True, True, False]] * 3)  # not only a padded tail
    encode = Seq2Seq._encode

    def with_the_stack(self, src, mask, every_state):  # the encoder as before
        return encode(self, src, mask, every_state=True)

    def run(padding):
        model.zero_grad()
        logits = model(src, tgt_in, **padding)
        ts.F.cross_entropy(logits, tgt_in).backward()
        decoded = model.greedy_decode(src, 4, bos=1, eos=2, **padding)
        return [np_of(logits), decoded] + [np_of(p.grad) for p in model.parameters()]

    recount = ts.autograd._recount

    def refused(waiting, push):  # (called at the end of every pass too, to push nothing)
        if recount(waiting, push):
            raise AssertionError("backward counted the graph again: a node went unused")
        return False

    for padding in ({}, {"src_lengths": lengths}, {"src_mask": gaps}):
        with monkeypatch.context() as patched:
            patched.setattr(Seq2Seq, "_encode", with_the_stack)
            want = run(padding)
        with monkeypatch.context() as patched:
            patched.setattr(ts.autograd, "_recount", refused)
            got = run(padding)
        assert [a.tobytes() for a in got] == [a.tobytes() for a in want], padding


# ------------------------------------------------------------------ padding and attention
@pytest.mark.parametrize("attention", [None, "additive"])
def test_padding_changes_nothing(rng, attention):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", attention)
    src, lengths, tgt_in = batch(rng)
    logits = model(src, tgt_in, src_lengths=lengths).numpy()
    other = src.copy()
    other[1, 3:], other[2, 1:] = 5, 4  # different tokens where there is only padding
    np.testing.assert_allclose(model(other, tgt_in, src_lengths=lengths).numpy(), logits)
    mask = ts.F.padding_mask(lengths, src.shape[1])
    np.testing.assert_allclose(model(other, tgt_in, src_mask=mask).numpy(), logits)
    alone = model(src[1:2, :3], tgt_in[1:2]).numpy()  # row 1 without any padding
    np.testing.assert_allclose(alone[0], logits[1], atol=1e-12)


@pytest.mark.parametrize("attention", ["additive", "multiplicative", "dot"])
def test_attention_weights_are_distributions_over_real_tokens(rng, attention):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "gru", attention)
    src, lengths, tgt_in = batch(rng)
    model(src, tgt_in, src_lengths=lengths)
    alpha = model.last_attention
    assert alpha.shape == (3, 4, 5)  # (B, T_out, T_in)
    np.testing.assert_allclose(alpha.sum(-1), 1.0)
    assert (alpha[1, :, 3:] == 0).all() and (alpha[2, :, 1:] == 0).all()
    np.testing.assert_allclose(alpha[2, :, 0], 1.0)  # one real token: all weight on it


def test_plain_decoder_sees_the_context_at_every_step(rng):
    """c = h_T^enc enters each decoder step: two sources that differ only in their first
    token give different logits at the last step too."""
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "gru", None)
    src = np.array([[4, 5, 4], [5, 5, 4]])
    tgt_in = np.zeros((2, 6), dtype=np.int64)
    logits = model(src, tgt_in).numpy()
    assert not np.allclose(logits[0, -1], logits[1, -1])


# ------------------------------------------------------------------ greedy decoding
@pytest.mark.parametrize("attention", [None, "dot"])
def test_greedy_decode_agrees_with_teacher_forcing_on_its_own_output(rng, attention):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", attention)
    src, lengths, _ = batch(rng)
    bos, eos = 1, 2
    out = model.greedy_decode(src, max_len=6, bos=bos, eos=eos, src_lengths=lengths)
    assert out.dtype == np.int64 and out.shape[0] == 3 and 2 <= out.shape[1] <= 7
    assert (out[:, 0] == bos).all()
    decode_alpha = model.last_attention
    logits = model(src, out[:, :-1], src_lengths=lengths).numpy()
    for row, pred in zip(out, logits.argmax(-1), strict=True):
        stop = np.flatnonzero(row[1:] == eos)
        n = stop[0] + 1 if stop.size else len(row) - 1
        np.testing.assert_array_equal(pred[:n], row[1 : n + 1])
        assert (row[n + 1 :] == eos).all()
    if attention is not None:
        assert decode_alpha.shape == (3, out.shape[1] - 1, 5)
        np.testing.assert_allclose(decode_alpha[:, :1], model.last_attention[:, :1])


def test_greedy_decode_stops_at_max_len(rng):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "rnn", "additive")
    src, lengths, _ = batch(rng)
    out = model.greedy_decode(src, max_len=3, bos=1, eos=None, src_lengths=lengths)  # no stop
    assert out.shape == (3, 4)
    assert model.greedy_decode(src, max_len=0, bos=1, eos=2).shape == (3, 1)


def test_greedy_decode_runs_in_eval_mode_and_gives_the_mode_back(rng):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "gru", "dot")  # built in training mode
    modes = watch_modes(model.encoder)
    model.greedy_decode(batch(rng)[0], max_len=2, bos=1, eos=None)
    assert modes == [False] and model.training
    model.eval().greedy_decode(batch(rng)[0], max_len=2, bos=1, eos=None)
    assert modes == [False, False] and not model.training


@pytest.mark.parametrize("attention", [None, "dot"])
def test_greedy_decode_fills_finished_rows_with_eos_and_stops_when_all_are_done(rng, attention):
    # An untrained model never emits EOS: the logits of each step are scripted instead.
    # Row 0 says EOS at step 1 and then (ignored) other tokens; row 1 says EOS at step 3.
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", attention)
    src, lengths, _ = batch(rng)
    src, lengths = src[:2], lengths[:2]
    bos, eos = 1, 2
    script = np.array([[5, eos, 4, 5, 4, 5], [5, 4, 5, eos, 4, 5]])
    steps = []

    def scripted_logits(features):
        assert features.shape[0] == 2  # one step of the batch: (B, features)
        logits = np.zeros((2, TGT_V))
        logits[np.arange(2), script[:, len(steps)]] = 1.0
        steps.append(len(steps))
        return ts.Tensor(logits)

    model._logits = scripted_logits
    out = model.greedy_decode(src, max_len=6, bos=bos, eos=eos, src_lengths=lengths)
    np.testing.assert_array_equal(
        out,
        [
            [bos, 5, eos, eos, eos],  # EOS-filled after its EOS, whatever the logits say
            [bos, 5, 4, 5, eos],  # the last row to finish: decoding stopped there
        ],
    )
    assert len(steps) == 4  # no step after every row was done
    if attention is not None:  # one row of weights per decoded step
        assert model.last_attention.shape == (2, 4, src.shape[1])


@pytest.mark.parametrize("attention", [None, "dot"])
def test_greedy_decode_of_an_empty_batch_is_the_bos_column_alone(attention):
    """No row to wait for: every row has ended before the first step, as a batch whose rows
    all end at step t stops there. With eos=None each row has max_len tokens, none here."""
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", attention)
    steps = []
    real_logits = model._logits
    model._logits = lambda features: steps.append(features.shape) or real_logits(features)
    empty = np.zeros((0, 5), dtype=np.int64)
    out = model.greedy_decode(empty, max_len=4, bos=1, eos=2)
    assert out.shape == (0, 1) and out.dtype == np.int64 and steps == []
    if attention is not None:  # no step decoded: no row of weights
        assert model.last_attention.shape == (0, 0, 5)
    out = model.greedy_decode(empty, max_len=4, bos=1, eos=None)
    assert out.shape == (0, 5) and len(steps) == 4


# ------------------------------------------------------------------ graphs
def test_steps_run_inside_scopes_with_the_seed_symbols(rng):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", "additive")
    src, lengths, tgt_in = batch(rng)
    graph = ts.graph.trace(model(src, tgt_in, src_lengths=lengths).sum())
    assert graph.steps() == {"encoder": [0, 1, 2, 3, 4], "decoder": [0, 1, 2, 3]}
    names = {n.name for n in graph.in_scope("decoder/t=2")}
    assert {"e_t", "alpha_t", "c_t", "h_t^dec", "[y_prev; c_t]"} <= names
    assert {"c", "h_enc"} <= {n.name for n in graph.nodes}  # (attention reads h^enc)


@pytest.mark.parametrize("attention", [None, "additive"])
def test_each_decoder_step_names_each_symbol_once(rng, attention):
    # a picture (detail="symbols") labels nodes by name: two nodes "c_t" in one step (the
    # context (B, 1, h) and its reshape to (B, h)) read as two different tensors, and the
    # output layer's input [h_t^dec; c_t] was an unnamed "cat" among named nodes
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", attention)
    src, lengths, tgt_in = batch(rng)
    graph = ts.graph.trace(model(src, tgt_in, src_lengths=lengths).sum())
    step = [n for n in graph.in_scope("decoder/t=2") if n.name]
    names = [n.name for n in step]
    assert len(names) == len(set(names)), sorted(names)
    if attention is not None:
        (c_t,) = [n for n in step if n.name == "c_t"]
        assert c_t.shape == (src.shape[0], HID)
        ops = {n.name: n.op for n in step}
        assert ops.get("[h_t^dec; c_t]") == "cat", ops


# ------------------------------------------------------------------ bad input
def test_bad_arguments():
    with pytest.raises(ValueError, match="cell must be one of"):
        Seq2Seq(5, 5, 2, 3, cell="transformer")
    with pytest.raises(ValueError, match="attention must be one of"):
        Seq2Seq(5, 5, 2, 3, attention="bahdanau")


@pytest.mark.parametrize(
    "kwargs, hint",
    [
        ({"attention": "bahdanau"}, "Bahdanau's score is attention='additive'"),
        ({"attention": "Bahdanau"}, "Bahdanau's score is attention='additive'"),
        ({"attention": "concat"}, "Luong's 'concat' score is attention='additive'"),
        ({"attention": "luong"}, "'general' score, sᵀ W_a h, is attention='multiplicative'"),
        ({"attention": "general"}, "Luong's 'general' score is attention='multiplicative'"),
        ({"attention": "scaled_dot"}, "the scaled dot-product score is attention='dot'"),
        ({"attention": "Additive"}, "attention='additive'"),
        ({"cell": "LSTM"}, "cell='lstm'"),
        ({"cell": "transformer"}, "ts.nn.Transformer"),
    ],
)
def test_a_name_from_the_papers_or_in_capitals_is_answered_with_the_one_to_write(kwargs, hint):
    """A lecture says "Bahdanau attention" and "Luong's general score", and the seed writes
    LSTM and GRU in capitals: the error names the argument that means it."""
    with pytest.raises(ValueError, match="must be one of") as error:
        Seq2Seq(5, 5, 2, 3, **kwargs)
    assert hint in str(error.value)
    with pytest.raises(ValueError, match=r"got 'rnnn'$"):  # no hint where none fits
        Seq2Seq(5, 5, 2, 3, cell="rnnn")
    with pytest.raises(ValueError, match=r"got 3$"):
        Seq2Seq(5, 5, 2, 3, attention=3)


def test_bad_inputs(rng):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "gru", "additive")
    src, lengths, tgt_in = batch(rng)
    with pytest.raises(ValueError, match=r"batch size.*\(3, 5\).*\(2, 4\)"):
        model(src, tgt_in[:2])
    with pytest.raises(TypeError, match=r"Seq2Seq: src must be integer token ids.*float64"):
        model(src.astype(float), tgt_in)
    with pytest.raises(ValueError, match=r"Seq2Seq: tgt_in must be .* shape \(B, T\).*\(4,\)"):
        model(src, tgt_in[0])
    with pytest.raises(ValueError, match=r"src_lengths must lie in \[1, 5\].*from 1 to 6"):
        model(src, tgt_in, src_lengths=[5, 6, 1])
    with pytest.raises(ValueError, match=r"src_lengths must lie in \[1, 5\].*from 0 to 5"):
        model(src, tgt_in, src_lengths=[5, 0, 1])  # a source needs a real token to encode
    with pytest.raises(ValueError, match=r"src_lengths must have shape \(3,\).*\(2,\)"):
        model(src, tgt_in, src_lengths=[5, 1])
    with pytest.raises(TypeError, match=r"src_lengths must be integers.*float64"):
        model(src, tgt_in, src_lengths=[2.5, 2, 1])  # not rounded to 3 real tokens
    # an id past a vocabulary is named as src or tgt_in, not as the table it would reach
    with pytest.raises(ValueError, match=rf"^Seq2Seq: src ids .*\(src_vocab={SRC_V}\).*{SRC_V} to"):
        model(np.full_like(src, SRC_V), tgt_in)
    with pytest.raises(ValueError, match=rf"^Seq2Seq: tgt_in ids .*\(tgt_vocab={TGT_V}\)"):
        model(src, np.full_like(tgt_in, TGT_V))
    with pytest.raises(ValueError, match=r"^Seq2Seq: src ids .* from -1 to"):
        model.greedy_decode(np.full_like(src, -1), 3, bos=1, eos=2)
    with pytest.raises(ValueError, match=r"src_mask must be boolean of shape.*\(3, 5\).*\(3, 4\)"):
        model(src, tgt_in, src_mask=np.ones((3, 4), dtype=bool))
    with pytest.raises(TypeError, match=r"src_mask must be boolean.*int64"):
        model(src, tgt_in, src_mask=np.ones((3, 5), dtype=np.int64))
    empty_row = np.ones((3, 5), dtype=bool)
    empty_row[1] = False  # as src_lengths 0, which is refused: no real token to attend to
    with pytest.raises(ValueError, match=r"Seq2Seq: src_mask row 1 has no True"):
        model(src, tgt_in, src_mask=empty_row)
    with pytest.raises(ValueError, match="not both"):
        model(src, tgt_in, src_lengths=lengths, src_mask=np.ones((3, 5), dtype=bool))


def test_empty_sequences_name_the_model_and_the_shape(rng):
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", "additive")
    src, _, tgt_in = batch(rng)
    with pytest.raises(ValueError, match=r"Seq2Seq: tgt_in has no tokens \(shape \(3, 0\)\)"):
        model(src, tgt_in[:, :0])
    with pytest.raises(ValueError, match=r"Seq2Seq: src has no tokens \(shape \(3, 0\)\)"):
        model(src[:, :0], tgt_in)
    with pytest.raises(ValueError, match=r"Seq2Seq: src has no tokens \(shape \(3, 0\)\)"):
        model.greedy_decode(src[:, :0], max_len=3, bos=1, eos=2)


def test_greedy_decode_checks_bos_eos_and_keeps_attention_shapes():
    model = Seq2Seq(10, 10, 4, 8, "gru", "dot")
    with pytest.raises(TypeError, match="Seq2Seq.greedy_decode: bos must be an int"):
        model.greedy_decode([[1, 2, 3]], 3, 0.5, 1)
    with pytest.raises(ValueError, match=r"eos must be a token id in \[0, 10\)"):
        model.greedy_decode([[1, 2, 3]], 3, 0, 10)
    assert model.greedy_decode([[1, 2, 3]], 0, 0, 1).tolist() == [[0]]
    assert model.last_attention.shape == (1, 0, 3)  # no output rows, one column per token


def test_ragged_ids_are_a_clear_error():
    with pytest.raises(ValueError, match="rows have different lengths; pad them"):
        Seq2Seq(10, 10, 4, 8, "gru")([[1, 2], [3]], [[0, 1], [0, 1]])


def test_seq2seq_defaults_to_an_lstm_and_additive_attention_of_the_hidden_size():
    model = Seq2Seq(5, 6, 4, 8)
    assert model.cell == "lstm" and isinstance(model.encoder, ts.nn.LSTM)
    attentive = Seq2Seq(5, 6, 4, 8, attention="additive")
    assert attentive.attention.v_a.shape == (8,)  # attn_dim = hidden, not emb


def test_an_empty_batch_passes_the_vocabulary_check():
    # B = 0 has no id to check against the vocabulary (min() of an empty array would raise)
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "lstm", "additive")
    logits = model(np.zeros((0, 4), dtype=np.int64), np.zeros((0, 3), dtype=np.int64))
    assert logits.shape == (0, 3, TGT_V)


@pytest.mark.parametrize("lengths", [np.zeros(0, dtype=np.int64), []])
def test_an_empty_batch_may_come_with_its_lengths(lengths):
    # B = 0 lengths have no minimum or maximum to check (and [] is float64 to NumPy)
    model = Seq2Seq(SRC_V, TGT_V, EMB, HID, "gru", "dot")
    src = np.zeros((0, 4), dtype=np.int64)
    logits = model(src, np.zeros((0, 3), dtype=np.int64), src_lengths=lengths)
    assert logits.shape == (0, 3, TGT_V) and model.last_attention.shape == (0, 3, 4)
    assert model.greedy_decode(src, 3, bos=1, eos=2, src_lengths=lengths).shape[0] == 0


def test_source_and_target_have_their_own_embeddings_even_for_one_vocabulary(rng):
    model = Seq2Seq(SRC_V, SRC_V, EMB, HID, "gru")
    assert model.src_embedding is not model.tgt_embedding
    names = [name for name, _ in model.named_parameters()]
    assert "src_embedding.E" in names and "tgt_embedding.E" in names
    src, lengths, tgt_in = batch(rng)
    model(src, np.minimum(tgt_in, SRC_V - 1), src_lengths=lengths).sum().backward()
    # each table learns from its own side only: a target-only id moves no source row
    src_rows = np.abs(model.src_embedding.E.grad).sum(axis=1)
    assert (src_rows[np.setdiff1d(np.arange(SRC_V), src)] == 0).all()
