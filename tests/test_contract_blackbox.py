"""DESIGN.md's "Public API" read as an outside test would read it: through the public names,
with the keyword names the design writes, and checked against NumPy. The rest of the
contract-as-written black-box pass duplicated tests already here; these are the checks it
added that the mirrored test files did not make."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import assert_greedy_is_teacher_forced_argmax, np_of


def test_every_signature_answers_to_the_keywords_design_writes(tmp_path):
    # An outside test may pass any argument by the name DESIGN.md gives it.
    x = ts.Tensor(data=[[1.0, 2.0, 3.0]], requires_grad=True, dtype=np.float64, name="x")
    y = x.sum(axis=1, keepdims=True) + x.softmax(axis=-1).log_softmax(axis=-1).sum()
    y.backward(grad=np.ones((1, 1)), retain_graph=True)
    assert ts.cat(tensors=[x, x], axis=0).shape == (2, 3)
    assert ts.stack(tensors=[x, x], axis=0).shape == (2, 1, 3)
    F = ts.F
    ids = np.array([[0, 1]])
    logits = ts.Tensor(np.zeros((1, 2, 3)), requires_grad=True)
    F.cross_entropy(logits=logits, targets=ids, ignore_index=0)
    F.layer_norm(x=x, gain=ts.Tensor(np.ones(3)), bias=ts.Tensor(np.zeros(3)), eps=1e-5)
    F.dropout(x=x, p=0.5, training=False)
    F.embedding(ids=ids, table=ts.Tensor(np.eye(3)))
    assert ts.gradcheck(lambda v: v * v, x, eps=1e-6, atol=1e-5, rtol=1e-3)
    with ts.backend.using(name="numpy"):
        pass
    with ts.scope(name="encoder"):
        z = (x * 2).sum()
    import tinygrad_seq.viz  # noqa: F401

    out = ts.viz.render_graph(
        tensor_or_graph=z, path=tmp_path / "g.dot", format="dot", cluster="scope", show_grads=True
    )
    assert out.endswith("g.dot")

    nn = ts.nn
    nn.Linear(3, 2, bias=False)
    nn.Embedding(vocab=5, dim=2)
    nn.MLP(sizes=[3, 4, 2], activation="relu")
    nn.LayerNorm(dim=4)
    xs = ts.Tensor(np.ones((2, 3, 4), np.float32))
    h0 = ts.zeros((2, 5))
    nn.RNNCell(input=4, hidden=5)(x_t=xs[:, 0], h_prev=h0)
    nn.RNN(input=4, hidden=5)(xs=xs, h0=h0)
    nn.LSTMCell(input=4, hidden=5)(xs[:, 0], (h0, h0))
    nn.LSTM(input=4, hidden=5)(xs=xs, state0=(h0, h0))
    nn.GRUCell(input=4, hidden=5, bias=False)(x_t=xs[:, 0], h_prev=h0)
    nn.GRU(input=4, hidden=5)(xs=xs, h0=h0)
    s2s = nn.Seq2Seq(
        src_vocab=7, tgt_vocab=6, emb=3, hidden=4, cell="gru", attention="multiplicative"
    )
    src = np.array([[1, 2, 3]])
    s2s(src=src, tgt_in=np.array([[1, 4]]))
    s2s.greedy_decode(src=src, max_len=2, bos=1, eos=2)
    q = ts.Tensor(np.ones((2, 3, 4), np.float32))
    nn.AdditiveAttention(q_dim=4, k_dim=4, attn_dim=3)(query=q, keys=q, values=None, mask=None)
    nn.MultiplicativeAttention(q_dim=4, k_dim=4)(query=q, keys=q, values=q, mask=None)
    nn.ScaledDotProductAttention()(query=q, keys=q, values=q, mask=np.ones((3, 3), bool))
    nn.MultiHeadAttention(d_model=4, num_heads=2, bias=True)(q=q, k=q, v=q, mask=None)
    nn.sinusoidal_positions(n_positions=3, d_model=4)
    nn.TransformerEncoderLayer(d_model=4, heads=2, d_ff=8, dropout=0.0)(q)
    tr = nn.Transformer(src_vocab=7, tgt_vocab=6, d_model=4, heads=2, d_ff=8, layers=1)
    tr(src=src, tgt_in=np.array([[1, 4]]))
    tr.greedy_decode(src=src, max_len=2, bos=1, eos=2)
    params = tr.parameters()
    ts.optim.SGD(params=params, lr=0.1, momentum=0.5).step()
    ts.optim.Adam(params=params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8).step()
    ts.optim.clip_grad_norm(params=params, max_norm=1.0)
    tr.save(path=tmp_path / "t.npz")
    assert isinstance(nn.Module.load(path=tmp_path / "t.npz"), nn.Transformer)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("attention", [None, "additive", "multiplicative", "dot"])
def test_greedy_decode_is_the_argmax_of_teacher_forcing_on_its_own_output(cell, attention):
    # Every cell and score, not just the ones the seq2seq tests train: greedy_decode returns
    # at most max_len + 1 integer ids per row, starting at bos, each the argmax of forward()
    # fed the prefix, eos repeated once a row ends; .last_attention has one row per step.
    rng = np.random.default_rng(3)
    model = ts.nn.Seq2Seq(9, 7, 3, 4, cell=cell, attention=attention)
    src = rng.integers(0, 9, size=(2, 4))
    bos, eos, max_len = 1, 2, 5
    out = model.greedy_decode(src, max_len=max_len, bos=bos, eos=eos)
    assert np.issubdtype(out.dtype, np.integer)
    assert out.shape[0] == 2 and 2 <= out.shape[1] <= max_len + 1
    assert (out[:, 0] == bos).all()
    if attention is not None:
        alpha = np.asarray(model.last_attention)
        assert alpha.shape == (2, out.shape[1] - 1, 4)
        np.testing.assert_allclose(alpha.sum(-1), 1.0, rtol=1e-5)
    assert_greedy_is_teacher_forced_argmax(model, src, out, eos)


INDEXES = {
    "reversed": (slice(None, None, -1),),
    "negative step": (slice(None), slice(3, 0, -2)),
    "ellipsis, repeated ids": (Ellipsis, np.array([4, 0, 4])),
    "arrays split by a slice": (np.array([0, 2, 0]), slice(None), np.array([1, 1, 3])),
    "arrays after a slice": (slice(None), np.array([0, 2]), np.array([1, 4])),
    "broadcast arrays": (np.array([[0], [2]]), np.array([1, 3])),
    "int, slice, array": (0, slice(None), np.array([1, 1])),
    "new axes": (None, 1, Ellipsis, None),
    "negative ints": (-1, -2, -3),
    "list": ([0, 2],),
    "2-D bool mask": (np.array([[True, False, True, False]] * 3),),
}


@pytest.mark.parametrize("index", INDEXES.values(), ids=INDEXES.keys())
def test_indexing_reads_and_scatters_as_numpy_does(index):
    rng = np.random.default_rng(4)
    data = rng.normal(size=(3, 4, 5))
    x = ts.Tensor(data.copy(), requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y.numpy(), data[index])
    g = rng.normal(size=y.shape)
    y.backward(g)
    expected = np.zeros_like(data)
    np.add.at(expected, index, g)
    np.testing.assert_allclose(np_of(x.grad), expected)


def test_a_model_training_step_leaves_nothing_for_the_cycle_collector():
    # Engine rules: graphs are freed by reference counting alone. Here whole models, an
    # optimizer, recorded gradient norms, scopes and decoding, not only raw ops.
    rng = np.random.default_rng(5)
    src = rng.integers(0, 9, size=(2, 5))
    tgt = rng.integers(0, 7, size=(2, 4))

    def steps():
        s2s = ts.nn.Seq2Seq(9, 7, 4, 6, cell="lstm", attention="additive")
        tr = ts.nn.Transformer(9, 7, 8, 2, 16, 1)
        for model in (s2s, tr):
            opt = ts.optim.Adam(model.parameters())
            loss = ts.F.cross_entropy(model(src, tgt), tgt)
            with ts.graph.record_grad_norms():
                loss.backward()
            ts.graph.trace(loss)
            ts.optim.clip_grad_norm(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            model.greedy_decode(src, max_len=3, bos=1, eos=2)

    steps()  # first calls (lazy imports, caches) out of the way
    while gc.collect():
        pass
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        steps()
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()
