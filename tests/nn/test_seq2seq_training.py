"""Training encoder-decoders on sequence reversal, in the quick (seconds) mode: the seed's
information bottleneck (plain Seq2Seq fades with input length, attention does not) and the
learned alignment (the anti-diagonal). Also the metrics themselves, on oracle models."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq.data import BOS, EOS, PAD, PairData, reverse_task
from tinygrad_seq.nn import Seq2Seq, Transformer
from tinygrad_seq.train_seq2seq import (
    accuracy_by_length,
    antidiagonal_weight,
    batches,
    compare_attention,
    train_pairs,
)

pytestmark = pytest.mark.numpy_only  # training is the same math on every backend


# ------------------------------------------------------------------ the metrics
class Oracle:
    """Decodes every source perfectly (reversal), except the last token when `slip`."""

    def __init__(self, slip: bool = False) -> None:
        self.slip = slip

    def greedy_decode(self, src, max_len, bos, eos, src_lengths):
        out = np.full((len(src), max_len + 1), eos)
        out[:, 0] = bos
        for b, n in enumerate(src_lengths):
            out[b, 1 : n + 1] = src[b, :n][::-1]
            if self.slip:
                out[b, n] = PAD
        return out


def test_accuracy_by_length_scores_tokens_and_eos():
    data = reverse_task(60, 2, 5, 6, seed=1)
    by_length, exact = accuracy_by_length(Oracle(), data)
    assert set(by_length) == {2, 3, 4, 5}
    assert all(a == 1.0 for a in by_length.values()) and exact == 1.0
    by_length, exact = accuracy_by_length(Oracle(slip=True), data)
    for n, a in by_length.items():  # one of the n tokens and EOS is wrong
        assert a == pytest.approx(n / (n + 1))
    assert exact == 0.0


class StopsAfter:
    """Decodes the first `k` tokens of the reversal right, then EOS, which greedy_decode
    repeats to the end of the row."""

    def __init__(self, k: int) -> None:
        self.k = k

    def greedy_decode(self, src, max_len, bos, eos, src_lengths):
        out = Oracle().greedy_decode(src, max_len, bos, eos, src_lengths)
        out[:, 1 + self.k :] = eos
        return out


def test_accuracy_by_length_gives_no_credit_after_the_first_eos():
    data = reverse_task(1, 3, 3, 6, seed=1)  # y_1 y_2 y_3 EOS
    assert accuracy_by_length(StopsAfter(0), data) == ({3: 0.0}, 0.0)  # the EOS fill is no hit
    assert accuracy_by_length(StopsAfter(1), data) == ({3: 0.25}, 0.0)
    assert accuracy_by_length(StopsAfter(3), data) == ({3: 1.0}, 1.0)


class Decodes:
    """Returns a fixed greedy_decode output (cut to max_len + 1 columns)."""

    def __init__(self, out) -> None:
        self.out = np.asarray(out)

    def greedy_decode(self, src, max_len, bos, eos, src_lengths):
        return self.out[:, : max_len + 1]


def test_accuracy_by_length_pools_the_tokens_of_the_pairs_of_one_length():
    # two sources of length 2 whose targets hold 3 and 5 tokens (EOS included): all 3 right
    # in the first, 1 of 5 in the second is 4 of 8 tokens, not the pairs' mean (1 + 0.2) / 2
    tgt = np.array([[BOS, 4, 5, EOS, PAD, PAD], [BOS, 6, 7, 8, 9, EOS]])
    data = PairData(np.array([[4, 5], [6, 7]]), np.array([2, 2]), tgt, np.array([4, 6]), None, None)
    out = np.array([[BOS, 4, 5, EOS, EOS, EOS], [BOS, 6, 4, 4, 4, 4]])
    assert accuracy_by_length(Decodes(out), data) == ({2: 0.5}, 0.5)


class FixedAttention(Seq2Seq):
    """A Seq2Seq whose attention is replaced by a given alignment (for the metric only)."""

    def __init__(self, alpha):
        super().__init__(8, 8, 2, 2, "gru", "dot")
        self.alpha = alpha

    def forward(self, src, tgt_in, src_lengths=None, src_mask=None):
        self._last_attention = self.alpha


def test_antidiagonal_weight_of_perfect_and_uniform_alignments():
    data = reverse_task(20, 2, 6, 4, seed=2)
    B, T_out, T_in = len(data), data.tgt_in.shape[1], data.src.shape[1]
    perfect = np.zeros((B, T_out, T_in))
    uniform = np.zeros((B, T_out, T_in))
    for b, n in enumerate(data.src_lengths):
        perfect[b, np.arange(n), n - 1 - np.arange(n)] = 1.0
        uniform[b, :, :n] = 1.0 / n
    assert antidiagonal_weight(FixedAttention(perfect), data) == pytest.approx(1.0)
    expected = np.mean(1.0 / data.src_lengths)
    assert antidiagonal_weight(FixedAttention(uniform), data) == pytest.approx(expected)


@pytest.mark.parametrize(
    "model, says",
    [
        (lambda: Transformer(14, 14, d_model=4, heads=2, d_ff=8, layers=1), "got a Transformer"),
        (lambda: Seq2Seq(14, 14, 4, 4, "gru"), "got a Seq2Seq without attention"),
    ],
)
def test_antidiagonal_weight_needs_a_seq2seq_with_attention(model, says):
    with pytest.raises(TypeError, match=f"expected a Seq2Seq with attention.*{says}"):
        antidiagonal_weight(model(), reverse_task(4, 2, 4, 4, seed=0))


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("make", ["seq2seq", "transformer"])
def test_training_reduces_the_loss(make):
    data = reverse_task(200, 2, 5, 5, seed=3)
    vocab = 4 + 5
    if make == "seq2seq":
        model = Seq2Seq(vocab, vocab, 8, 16, "gru", "dot")
    else:
        model = Transformer(vocab, vocab, d_model=16, heads=2, d_ff=32, layers=1)
    losses = train_pairs(model, data, steps=40, batch_size=32, lr=0.01)
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    # and the loss is the right one: teacher-forced, the model predicts the next token
    # (tgt_out), not the one it was fed (training on tgt_in learns to copy: 0.13 here)
    with ts.no_grad():
        logits = model(data.src, data.tgt_in, src_lengths=data.src_lengths)
    predicted, real = logits.numpy().argmax(-1), data.tgt_out != PAD
    assert (predicted == data.tgt_out)[real].mean() > 0.5  # 0.72 / 0.77 here; chance 1/9
    out = model.greedy_decode(data.src[:4], 6, BOS, EOS, src_lengths=data.src_lengths[:4])
    assert out.shape[0] == 4 and (out[:, 0] == BOS).all()


def _table(results) -> str:
    lengths = list(results["plain"].accuracy_by_length)
    rows = ["input length   " + " ".join(f"{n:>5d}" for n in lengths)]
    for name, r in results.items():
        rows.append(f"{name:<14} " + " ".join(f"{a:5.2f}" for a in r.accuracy_by_length.values()))
    return "\n".join(rows)


def test_attention_beats_the_bottleneck_and_learns_the_antidiagonal():
    """The seed's claim, measured: plain Seq2Seq decodes short inputs but fades as they get
    longer; with attention it holds up, looking at source position n−1−t for output t."""
    results = compare_attention(cell="lstm", attention="additive", quick=True, seed=0)
    plain, attn = results["plain"], results["attention"]
    test_lengths = np.array(list(attn.accuracy_by_length))
    long = test_lengths[-3:]  # the three longest input lengths
    uniform = np.mean(1.0 / test_lengths)  # what a uniform alignment would put on it
    print("\ntoken accuracy of greedy decoding by input length (reversal, quick mode)")
    print(_table(results))
    print(f"attention weight on the anti-diagonal: {attn.antidiagonal:.2f} (uniform {uniform:.2f})")

    def mean_acc(r, lengths):
        return np.mean([r.accuracy_by_length[int(n)] for n in lengths])

    assert mean_acc(plain, [2, 3]) > 0.9  # the plain model did learn the task...
    assert mean_acc(attn, long) > 0.85  # ...but only attention keeps it on long inputs
    assert mean_acc(attn, long) > mean_acc(plain, long) + 0.2
    assert attn.antidiagonal > 0.5 and attn.antidiagonal > 2.5 * uniform


def _small_reversal():
    data = reverse_task(12, 2, 4, 6, seed=0)
    return data, len(data.src_vocab), len(data.tgt_vocab)


def test_a_batch_larger_than_the_data_uses_all_of_it():
    data, v_src, v_tgt = _small_reversal()
    model = Seq2Seq(v_src, v_tgt, 4, 8, "gru")
    losses = train_pairs(model, data, steps=3, batch_size=64, max_norm=None)
    assert len(losses) == 3 and all(np.isfinite(losses))
    every_pair = {tuple(row[:n]) for row, n in zip(data.src, data.src_lengths, strict=True)}
    stream = batches(data, 64, 0)
    for _ in range(2):  # the whole data, shuffled, each time
        batch = next(stream)
        assert len(batch.src) == len(data)
        got = {tuple(row[:n]) for row, n in zip(batch.src, batch.src_lengths, strict=True)}
        assert got == every_pair


class _CountedShuffles(np.random.Generator):
    """A Generator that counts its shuffles and refuses the 51st: a batches() stream that
    shuffles epoch after epoch without yielding a batch fails a test, rather than hangs it."""

    shuffles = 0

    def permutation(self, x):
        self.shuffles += 1
        if self.shuffles > 50:
            raise AssertionError("batches() shuffled 50 epochs without yielding 50 batches")
        return super().permutation(x)


@pytest.mark.parametrize("batch_size", [11, 12, 13, 1000])
def test_batches_of_any_size_yield_at_once_and_use_every_pair(batch_size):
    """12 pairs: a batch size of the data's size or more yields the whole data every time,
    one shuffle each; 11 leaves one pair over at each epoch's end."""
    data, _, _ = _small_reversal()
    rng = _CountedShuffles(np.random.PCG64(0))
    taken = list(itertools.islice(batches(data, batch_size, rng), 5))
    assert len(taken) == 5 and rng.shuffles == 5
    assert {len(b.src) for b in taken} == {min(batch_size, len(data))}


def test_a_batch_smaller_than_the_data_takes_each_pair_once_an_epoch():
    data, _, _ = _small_reversal()  # 12 pairs: 3 batches of 4 an epoch
    stream = batches(data, 4, 0)
    epoch = [next(stream) for _ in range(3)]
    assert all(len(b.src) == 4 for b in epoch)
    taken = sorted(tuple(r[:n]) for b in epoch for r, n in zip(b.src, b.src_lengths, strict=True))
    assert taken == sorted(tuple(r[:n]) for r, n in zip(data.src, data.src_lengths, strict=True))
    # each batch trimmed to its own longest pair: no column of padding only
    for b in epoch:
        assert b.src.shape[1] == b.src_lengths.max() and b.tgt.shape[1] == b.tgt_lengths.max()
    assert min(b.src.shape[1] for b in epoch) < data.src.shape[1]  # (some batch was cut)


def test_training_holds_one_graph_at_a_time():
    """A step's loss is let go before the next forward: training for four steps peaks
    at about the memory of one (the two graphs of a held loss took ~1.9x)."""
    import tracemalloc

    data = reverse_task(256, seed=0)
    ts.manual_seed(0)
    model = Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), 16, 32, "lstm", "additive")
    train_pairs(model, data, steps=1)  # Adam's state and the first-call caches

    def peak(steps):
        tracemalloc.start()
        try:
            train_pairs(model, data, steps=steps)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(4) < 1.3 * peak(1)


def test_batches_take_a_seed_or_a_generator_and_refuse_bad_arguments_at_once():
    data, _, _ = _small_reversal()
    by_seed = next(batches(data, 4, 7))
    by_generator = next(batches(data, 4, np.random.default_rng(7)))
    np.testing.assert_array_equal(by_seed.src, by_generator.src)
    with pytest.raises(ValueError, match="batches: batch_size"):
        batches(data, 0, 7)  # when called, not at the first batch
    with pytest.raises(TypeError, match="seed must be an int or a numpy.random.Generator"):
        batches(data, 4, "seven")


@pytest.mark.parametrize(("batch_size", "error"), [(0, ValueError), (2.5, TypeError)])
def test_a_bad_batch_size_is_named(batch_size, error):
    data, v_src, v_tgt = _small_reversal()
    with pytest.raises(error, match="train_pairs: batch_size"):
        train_pairs(Seq2Seq(v_src, v_tgt, 4, 8, "gru"), data, steps=3, batch_size=batch_size)
    with pytest.raises(error, match="accuracy_by_length: batch_size"):
        accuracy_by_length(Seq2Seq(v_src, v_tgt, 4, 8, "gru"), data, batch_size=batch_size)


def test_antidiagonal_weight_records_no_graph_and_keeps_the_mode():
    data, v_src, v_tgt = _small_reversal()
    model = Seq2Seq(v_src, v_tgt, 4, 8, "gru", "dot").train()
    recording = []
    forward = model.forward

    def watched(*args, **kwargs):
        recording.append((ts.autograd.state.grad_enabled, model.training))
        return forward(*args, **kwargs)

    model.forward = watched
    share = antidiagonal_weight(model, data)
    assert recording == [(False, False)]  # no graph, in eval mode
    assert 0 < share < 1
    assert model.training
    assert model.last_attention is not None


class _Aligned:
    """A model whose attention puts all its weight one source position after the
    anti-diagonal (as a trained left-to-right encoder-decoder does)."""

    training = False

    def __init__(self, data) -> None:
        B, T_out, T_in = len(data), data.tgt_in.shape[1], data.src.shape[1]
        self.last_attention = np.zeros((B, T_out, T_in))
        for b, n in enumerate(data.src_lengths):
            for t in range(1, n):
                self.last_attention[b, t, n - t] = 1.0
            self.last_attention[b, 0, n - 1] = 1.0  # (no later position at t = 0)

    def eval(self):
        return self

    def modules(self):
        return iter([self])

    def train(self, mode=True):
        return self

    def __call__(self, *args, **kwargs):
        return None


def test_antidiagonal_weight_at_an_offset():
    data, _, _ = _small_reversal()
    model = _Aligned(data)
    after = np.mean([(n - 1) / n for n in data.src_lengths])  # every step but t = 0
    assert antidiagonal_weight(model, data, offset=1) == pytest.approx(after)
    on_diagonal = np.mean([1 / n for n in data.src_lengths])  # only t = 0 of n steps
    assert antidiagonal_weight(model, data) == pytest.approx(on_diagonal)
    # parts of one attention: the shares at two offsets never add up to more than all of it
    assert on_diagonal + after == pytest.approx(1.0)
