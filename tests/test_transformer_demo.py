"""The Transformer demo in detail: the permutation test, the training budgets' text, and what
a run reports, with the training and the decoding replaced by stand-ins (an untrained model's
attention is still the model's: its numbers are recomputed here from the model itself; the
tour tests train for real)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from tinygrad_seq.demos import bottleneck, transformer_demo
from tinygrad_seq.demos.common import DemoContext
from tinygrad_seq.viz import plots

import tinygrad_seq as ts
from tinygrad_seq import data, train_seq2seq

pytestmark = pytest.mark.numpy_only  # demos' bookkeeping; the backends are tested elsewhere


def test_the_permutation_test_compares_an_encoder_layers_outputs_reordered():
    ts.manual_seed(3)
    perm = transformer_demo._permutation_test(8, 2)
    ts.manual_seed(3)  # the same modules, made in the same order
    vocab = data.Vocab("cat sat on mat".split())
    embed, layer = ts.nn.Embedding(len(vocab), 8), ts.nn.TransformerEncoderLayer(8, 2, 16)
    pe = ts.nn.PositionalEncoding(8)
    a, b = vocab.encode("cat sat on mat")[None], vocab.encode("mat on sat cat")[None]
    with ts.no_grad():
        ya, yb = layer(pe(embed(a))).numpy()[0], layer(pe(embed(b))).numpy()[0]
        za, zb = layer(embed(a)).numpy()[0], layer(embed(b)).numpy()[0]
    reorder = [3, 2, 1, 0]  # "mat on sat cat": the words of "cat sat on mat" backwards
    with_pe, without = perm["with_positions"], perm["without_positions"]
    assert with_pe["permuted_outputs"] == pytest.approx(np.abs(ya[reorder] - yb).max(), rel=1e-6)
    assert with_pe["mean_pooled"] == pytest.approx(np.abs(ya.mean(0) - yb.mean(0)).max(), rel=1e-5)
    assert with_pe["scale"] == pytest.approx(np.abs(ya).mean(), rel=1e-6)
    assert without["scale"] == pytest.approx(np.abs(za).mean(), rel=1e-6)
    assert without["permuted_outputs"] < 1e-5 < with_pe["permuted_outputs"]
    np.testing.assert_allclose(za[reorder], zb, atol=1e-5)
    # the rounding level the figure draws: float32's ε times the largest output
    assert without["rounding"] == pytest.approx(np.finfo(np.float32).eps * np.abs(za).max())
    assert with_pe["rounding"] == pytest.approx(np.finfo(np.float32).eps * np.abs(ya).max())
    assert without["permuted_outputs"] < 16 * without["rounding"]  # equal but for rounding
    assert with_pe["permuted_outputs"] > 1e4 * with_pe["rounding"]


def test_the_budgets_differ_when_the_batch_does():
    cfg = dict(layers=2, d_model=32, steps=200, batch=96, lr=0.005)
    budgets = transformer_demo._budgets(cfg, dict(hidden=32, steps=200, batch=64, lr=0.01), True)
    assert not budgets["same"] and "200 Adam steps of 64 pairs" in budgets["sentence"]
    assert budgets["labels"]["seq2seq + attention"] == "GRU, hidden 32, 200 steps"


class Recorder:
    """train_pairs and accuracy_by_length in place of the real ones: each model trained is
    kept; the model without positions scores 0.5 at every length (exact 0.1), the other 0.9
    (exact 0.4); the losses are 0, 1, ..., steps − 1 (their last 10 average steps − 5.5)."""

    def __init__(self):
        self.trained, self.tested = [], []

    def train_pairs(self, model, pairs, steps, batch, lr, seed, progress):
        self.trained.append(SimpleNamespace(model=model, pairs=pairs, steps=steps, batch=batch))
        return [float(k) for k in range(steps)]

    def accuracy_by_length(self, model, test):
        self.tested.append(test)
        plain = isinstance(model.positions, transformer_demo._NoPositions)
        by_length = {int(n): 0.5 if plain else 0.9 for n in np.unique(test.src_lengths)}
        return by_length, 0.1 if plain else 0.4


def run_transformer(tmp_path, monkeypatch, size="quick", cache=None):
    """transformer_demo.run with the stand-ins; (result, recorder, figure args and kwargs)."""
    recorder, drawn = Recorder(), []
    monkeypatch.setattr(train_seq2seq, "train_pairs", recorder.train_pairs)
    monkeypatch.setattr(train_seq2seq, "accuracy_by_length", recorder.accuracy_by_length)
    monkeypatch.setattr(
        plots, "transformer_figure", lambda path, *a, **k: drawn.append((a, k)) or path
    )
    ctx = DemoContext(out=tmp_path, size=size, seed=2, cache=cache or {})
    result = transformer_demo.run(ctx)
    return result, recorder, drawn[0]


def test_a_run_reads_the_first_encoder_layer_and_the_last_cross_attention(tmp_path, monkeypatch):
    result, recorder, (args, kwargs) = run_transformer(tmp_path, monkeypatch)
    n = result["numbers"]
    cfg = n["settings"]
    assert (cfg["layers"], cfg["d_model"], cfg["heads"], cfg["max_len"]) == (2, 32, 4, 12)
    with_pe, without = recorder.trained
    assert isinstance(with_pe.model.positions, ts.nn.PositionalEncoding)
    assert isinstance(without.model.positions, transformer_demo._NoPositions)
    for model in (with_pe.model, without.model):  # the feed-forward layers: d_ff = 2 d_model
        assert model.encoder_layers[0].ffn.W_1.shape == (32, 64)
        assert len(model.encoder_layers) == len(model.decoder_layers) == 2
    test = recorder.tested[0]
    assert len(recorder.tested) == 2 and recorder.tested[1] is test  # both on the same pairs
    assert len(test.src) == 40 * 11  # 40 pairs per length, as run_reversal draws them
    assert sorted(set(test.src_lengths.tolist())) == list(range(2, 13))
    assert n["lengths"] == list(range(2, 13))
    assert n["token_accuracy"] == {
        "Transformer": [0.9] * 11,
        "Transformer without positions": [0.5] * 11,
    }
    assert n["exact"] == {"with_positions": 0.4, "without_positions": 0.1}
    steps = cfg["steps"]
    assert n["final_loss"] == {"with_positions": steps - 5.5, "without_positions": steps - 5.5}
    assert f"{cfg['layers']} encoder + 2 decoder layers, {steps} Adam steps." in result["measured"]
    assert "(exact sequences 40%)" in result["measured"] and "(exact 10%)" in result["measured"]
    assert result["key"]["exact sequences: with / without positions"] == "40% / 10%"
    level = n["permutation"]["without_positions"]["rounding"]
    assert f"ε × max |output| = {level:.1e}, the figure's dashed line" in result["measured"]

    # the trained model's attention on the longest test source (12 symbols), recomputed
    row = int(np.argmax(test.src_lengths))
    src, tgt_in = test.src[row : row + 1, :12], test.tgt_in[row : row + 1, :13]  # + BOS
    model = with_pe.model
    model.eval()
    with ts.no_grad():
        model(src, tgt_in)
    heads = model.last_attention["encoder"][0][0]  # (4, 12, 12): the first encoder layer
    cross = model.last_attention["cross"][1][0].mean(axis=0)  # (13, 12): the last layer's
    assert n["example_source_length"] == 12
    np.testing.assert_allclose(n["encoder_head_weights"], heads, rtol=1e-6)
    anti = np.mean([cross[t, 11 - t] for t in range(12)])
    assert n["cross_attention_antidiagonal"] == pytest.approx(anti, rel=1e-6)
    assert result["key"]["cross-attention on the anti-diagonal"] == f"{anti:.0%}"
    (PE, lengths_drawn, acc, perm, enc_heads, cross_drawn, labels, chance) = args
    np.testing.assert_array_equal(PE, ts.nn.sinusoidal_positions(64, 32))
    assert lengths_drawn == n["lengths"] and acc == n["token_accuracy"] and perm == n["permutation"]
    np.testing.assert_allclose(enc_heads, heads, rtol=1e-6)
    np.testing.assert_allclose(cross_drawn, cross, rtol=1e-6)
    assert labels == test.src_vocab.decode(src[0]).split()  # each symbol by its own name
    assert chance == 1 / 8  # 8 symbols
    assert kwargs["budgets"] == n["training_budgets"]


def test_the_seq2seq_curves_are_drawn_only_for_the_same_task(tmp_path, monkeypatch):
    """The bottleneck demo's runs, earlier in the tour, drawn beside the Transformer's where
    they learned the same reversal task (a length they were not tested at: a gap)."""
    ctx = DemoContext(out=tmp_path, size="quick", seed=2)
    runs = {
        attention: SimpleNamespace(accuracy_by_length={n: 0.1 * k for k, n in enumerate([2, 3])})
        for attention in (None, "additive")
    }
    cache = {
        (ctx.size, ctx.seed, ctx.backend, *bottleneck.reversal_key(ctx, a)): r
        for a, r in runs.items()
    }
    acc = run_transformer(tmp_path, monkeypatch, cache=dict(cache))[0]["numbers"]["token_accuracy"]
    for label in ("seq2seq", "seq2seq + attention"):
        assert acc[label][:2] == [0.0, 0.1] and np.isnan(acc[label][2:]).all()
    real_sizes = bottleneck.sizes
    longer = lambda ctx: dict(real_sizes(ctx), max_len=14)  # noqa: E731  (another task)
    monkeypatch.setattr(bottleneck, "sizes", longer)
    cache = {
        (ctx.size, ctx.seed, ctx.backend, *bottleneck.reversal_key(ctx, a)): r
        for a, r in runs.items()
    }
    acc = run_transformer(tmp_path, monkeypatch, cache=cache)[0]["numbers"]["token_accuracy"]
    assert set(acc) == {"Transformer", "Transformer without positions"}


def test_the_heads_text_draws_its_lines_at_a_quarter_of_uniform():
    # spread 1.5 against uniform 4: over a quarter of it, different distances
    assert "look at different distances" in transformer_demo._heads_note([1.0, 2.5], 4.0)
    # alike (spread 0.1), but 1.5 from uniform 4, over a quarter of it: not near uniform
    alike = transformer_demo._heads_note([2.5, 2.6], 4.0)
    assert alike.startswith("Its first encoder layer's heads all look nearer than uniform")
