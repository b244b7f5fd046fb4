"""The bottleneck, alignments, fixed-size and bptt-graphs demos in detail: their helpers,
and what a run reports, with the training (the layout) replaced by stand-ins (the tour
tests run them for real)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from tinygrad_seq.demos import alignments, bottleneck, fixed_size
from tinygrad_seq.demos.common import DemoContext
from tinygrad_seq.viz import plots

import tinygrad_seq as ts
from tinygrad_seq import data
from tinygrad_seq.nn import Module

pytestmark = pytest.mark.numpy_only  # demos' bookkeeping; the backends are tested elsewhere


# ------------------------------------------------------------------ bottleneck
def _reversal_run(losses, antidiagonal, after):
    return SimpleNamespace(
        accuracy_by_length={2: 0.9, 12: 0.3},
        losses=losses,
        sequence_accuracy=0.4,
        antidiagonal=antidiagonal,
        after_antidiagonal=after,
        seconds=1.0,
    )


def test_the_bottleneck_run_reports_its_two_models(tmp_path, monkeypatch):
    runs = {
        None: _reversal_run([5.0] * 10 + [1.0] * 10, 0.1, 0.2),
        "additive": _reversal_run([4.0] * 10 + [0.5] * 10, 0.9, 0.05),
    }
    trained, drawn = [], []
    monkeypatch.setattr(
        bottleneck, "train_reversal", lambda ctx, attn: trained.append(attn) or runs[attn]
    )
    monkeypatch.setattr(plots, "bottleneck_figure", lambda path, *a: drawn.append(a) or path)
    n = bottleneck.run(DemoContext(out=tmp_path, size="tiny"))["numbers"]
    assert trained == [None, "additive"]  # the plain model, then additive attention
    lengths, _, _, hidden, chance, _ = drawn[0]
    assert lengths == [2, 12] and hidden == 32 and chance == 1 / 8  # 8 symbols: chance 1/8
    assert n["final_loss"] == {"seq2seq": 1.0, "seq2seq + attention": 0.5}  # the last 10
    assert n["antidiagonal_weight"] == 0.9 and n["after_antidiagonal_weight"] == 0.05
    assert set(n["overhead"]) >= {"median_step_s", "time_ratio", "forward_flops", "work_ratio"}


def test_the_overhead_is_measured_in_turns_on_the_same_batches(tmp_path, monkeypatch):
    """Both models step on each round's batch, the first alternating; each step is timed
    alone; the medians and ratios are those of the recorded numbers."""
    from tinygrad_seq import train_seq2seq

    ctx = DemoContext(out=tmp_path, size="tiny")
    cfg = bottleneck.sizes(ctx)
    calls, timed = [], []
    real_step = train_seq2seq.train_step
    monkeypatch.setattr(
        train_seq2seq,
        "train_step",
        lambda model, batch, opt: (
            calls.append((model.attention is not None, batch)) or real_step(model, batch, opt)
        ),
    )
    real_time = bottleneck.time_calls
    monkeypatch.setattr(bottleneck, "time_calls", lambda f: timed.append(f) or real_time(f))
    traced, real_trace = [], ts.graph.trace
    monkeypatch.setattr(ts.graph, "trace", lambda t: traced.append(real_trace(t)) or traced[-1])
    o = bottleneck.measure_overhead(ctx, cfg)
    rounds = o["rounds"]
    assert len(timed) == 2 * rounds and len(calls) == 2 + 2 * rounds  # (one warm-up each)
    turns = calls[2:]
    for r in range(rounds):
        first, second = turns[2 * r], turns[2 * r + 1]
        assert first[1] is second[1]  # the same batch
        assert first[0] == (r % 2 == 1) and second[0] != first[0]  # who goes first alternates
    assert len({id(batch) for _, batch in turns}) == rounds  # a fresh batch each round
    for label, steps in o["step_s"].items():
        assert len(steps) == rounds and o["median_step_s"][label] == np.median(steps)
    plain, attention = "seq2seq", "seq2seq + attention"
    t, f, n = o["median_step_s"], o["forward_flops"], o["recorded_ops"]
    assert o["time_ratio"] == t[attention] / t[plain]
    assert o["work_ratio"] == f[attention] / f[plain] > 1
    assert o["ops_ratio"] == n[attention] / n[plain] > 1
    for label, graph in zip((plain, attention), traced, strict=True):  # ops, not leaves
        assert n[label] == sum(not node.is_leaf for node in graph.nodes) < len(graph.nodes)
    assert o["clock"] == "CPU time"


def test_the_overhead_sentence_says_what_the_run_measured():
    o = {
        "median_step_s": {"seq2seq": 0.0071, "seq2seq + attention": 0.0132},
        "time_ratio": 1.859,
        "rounds": 21,
        "clock": "CPU time",
        "recorded_ops": {"seq2seq": 464, "seq2seq + attention": 690},
        "ops_ratio": 1.487,
        "forward_flops": {"seq2seq": 31.6e6, "seq2seq + attention": 40.4e6},
        "work_ratio": 1.278,
    }
    text = bottleneck.overhead_sentence(o)
    assert "a training step took 13.2 ms with attention against 7.1 ms without, 1.86× " in text
    assert "median of 21 steps each" in text and "CPU time on this machine" in text
    assert "records 690 ops to the plain model's 464 (1.49×)" in text
    assert "counts 40.40 MFLOP to 31.60 (1.28×)" in text
    assert "no slower" not in text
    for ratio in (0.98, 1.0):  # (the same time is no overhead either)
        o["time_ratio"] = ratio
        assert "In this run attention's step was no slower, against the seed's claim." in (
            bottleneck.overhead_sentence(o)
        )


def test_a_fall_of_exactly_ten_points_is_no_fall():
    # as bottleneck_title counts it (0.33 − 0.23 is 0.1 in floats)
    assert bottleneck.attention_falls_note([0.33, 0.23], [0.3, 0.1], [2, 12]) == ""
    assert bottleneck.attention_falls_note([0.34, 0.23], [0.3, 0.1], [2, 12]) != ""


# ------------------------------------------------------------------ alignments
def test_the_kth_repeated_target_word_aligns_with_the_kth_source_word():
    src = "the cat sees the dog".split()
    tgt = [data.TRANSLATION_DICTIONARY[w] for w in src]
    assert alignments.gold_alignment(src, tgt, data.TRANSLATION_DICTIONARY) == [0, 1, 2, 3, 4]


def test_the_first_row_note_is_for_a_first_word_that_looks_at_the_last_source_word():
    src, tgt = alignments.EXAMPLE.split(), "le chat noir chasse un rat blanc".split()
    last, first = np.eye(7)[[6, 2, 1, 3, 4, 6, 5]], np.eye(7)[[0, 2, 1, 3, 4, 6, 5]]
    note = alignments._first_row_note({"scaled dot-product": {"example_alpha": last}}, src, tgt)
    assert note.startswith('The scaled dot-product model\'s first word "le" looks at the last')
    assert 'source word "rat" (1.00)' in note
    looks_first = {"scaled dot-product": {"example_alpha": first}}
    assert alignments._first_row_note(looks_first, src, tgt) == ""


def test_alignments_are_scored_on_fresh_pairs(tmp_path, monkeypatch):
    from tinygrad_seq import train_seq2seq

    seeds = []
    translation_task = data.translation_task

    def recorded(n, **kwargs):
        seeds.append(kwargs["seed"])
        return translation_task(n, **kwargs)

    monkeypatch.setattr(data, "translation_task", recorded)
    monkeypatch.setattr(train_seq2seq, "train_pairs", lambda *a, **k: [1.0])  # untrained
    monkeypatch.setattr(plots, "alignments_figure", lambda path, *a: path)
    alignments.run(DemoContext(out=tmp_path, size="tiny", seed=3))
    assert seeds == [3, 10_003]  # training pairs, then test pairs from another seed


class _LooksAtTheFirstWord(Module):
    """A stand-in Seq2Seq whose every α_t puts all its weight on the first source word."""

    def __init__(self, *args):
        super().__init__()

    def forward(self, src, tgt_in, src_lengths=None):
        self.last_attention = np.zeros((len(src), tgt_in.shape[1], src.shape[1]))
        self.last_attention[:, :, 0] = 1.0
        return None

    def greedy_decode(self, src, max_len, bos, eos, src_lengths=None):
        return np.full((len(src), max_len + 1), eos)  # an empty translation for every pair


def test_alignments_score_every_target_word_of_every_pair(tmp_path, monkeypatch):
    """Word for word, each source word is translated once, and every pair's first target
    word ("le", "un") translates its first source word: α all on that word puts it on the
    right word for one target word a pair, pairs / words of the 300 test pairs."""
    from tinygrad_seq import nn, train_seq2seq

    monkeypatch.setattr(nn, "Seq2Seq", _LooksAtTheFirstWord)
    monkeypatch.setattr(train_seq2seq, "train_pairs", lambda *a, **k: [1.0])
    monkeypatch.setattr(plots, "alignments_figure", lambda path, *a: path)
    results = alignments.run(DemoContext(out=tmp_path, size="tiny", seed=3))["numbers"]["results"]
    test = data.translation_task(300, max_clauses=1, seed=10_003)
    expected = 300 / int(test.src_lengths.sum())  # (about 1/6: 5 to 7 words a pair)
    assert len(results) == len(alignments.KINDS) == 3
    for r in results.values():
        assert r["mass_on_gold"] == pytest.approx(expected, rel=1e-12)
        assert r["argmax_on_gold"] == pytest.approx(expected, rel=1e-12)
        assert r["exact_translations"] == 0.0
        assert np.array_equal(r["example_alpha"], np.eye(7)[[0] * 7])  # the example's 7 rows


# ------------------------------------------------------------------ fixed size
def test_the_window_holds_the_last_n_tokens_left_padded():
    net = fixed_size._window_classifier(6, 3, 4)
    seen = []

    class Spy(Module):  # in place of the MLP: what it would be given
        def forward(self, x):
            seen.append(x.numpy())
            return x

    net.mlp = Spy()
    ids = np.array([[1, 2, 3, 4], [2, 5, 0, 0]])
    net(ids, mask=ids > 0)
    window = seen[0].reshape(2, 3, 6).argmax(axis=-1)
    assert window.tolist() == [[2, 3, 4], [data.PAD, 2, 5]]


def test_the_order_tasks_windows_are_scored_on_pairs_not_seen_in_training(tmp_path, monkeypatch):
    from tinygrad_seq import train

    scored = []

    def classifier(net, train_set, test_set, *args, **kwargs):
        scored.append((train_set, test_set))
        return SimpleNamespace(test_accuracy=0.5)

    monkeypatch.setattr(
        train, "run_order_task", lambda *a, **k: SimpleNamespace(test_accuracy=0.5, losses=[1.0])
    )
    monkeypatch.setattr(train, "train_classifier", classifier)
    monkeypatch.setattr(plots, "fixed_size_figure", lambda path, *a: path)
    fixed_size.run(DemoContext(out=tmp_path, size="tiny"))
    train_set, test_set = scored[0]
    seen = {row.tobytes() for row in train_set.ids}
    assert len(test_set.ids) > 0 and len(test_set.ids) % 2 == 0  # whole pairs kept
    assert not any(row.tobytes() in seen for row in test_set.ids)
    fresh = data.order_task(200, seed=10_000)
    assert len(test_set.ids) < len(fresh.ids)  # some pairs had a sentence seen in training


def test_the_seeds_fixed_size_examples_come_out_as_the_seed_gives_them():
    ex = fixed_size.seed_examples(data)
    assert ex["counts"] == {"the": 2, "cat": 1, "sat": 1, "on": 1, "mat": 1}
    # the seed's three trigrams "from 'The cat sat'" are the first three of the whole sentence;
    # "The cat sat" alone is one trigram
    seed_list = ["the cat sat", "cat sat on", "sat on the"]
    assert ex["trigrams_of_the_cat_sat_on_the_mat"] == [*seed_list, "on the mat"]
    assert ex["trigrams_of_the_cat_sat"] == ["the cat sat"]
    pad = data.SPECIALS[data.PAD]
    assert ex["padded_hello_world"] == ["Hello", "world"] + [pad] * 8
    assert ex["padded_share"] == 0.8


def test_a_test_pair_with_either_sentence_seen_in_training_is_dropped():
    vocab = data.Vocab("the cat dog".split())
    ids = np.array([[4, 5], [4, 6], [5, 6], [6, 5], [5, 5], [6, 6]])
    mask, labels = np.ones_like(ids, bool), np.array([0, 1, 0, 1, 0, 1])
    test = data.SequenceData(ids, mask, labels, vocab)
    train = data.SequenceData(ids[:1], mask[:1], labels[:1], vocab)  # the first sentence only
    kept = fixed_size._unseen(test, train)
    assert kept.ids.tolist() == ids[2:].tolist() and kept.labels.tolist() == [0, 1, 0, 1]


# ------------------------------------------------------------------ bptt-graphs
def test_the_bptt_graphs_text_numbers_the_steps_as_its_pictures_do(tmp_path, monkeypatch):
    """The text says the last step is titled t = T, as the RNN picture titles it (counted
    from 1, as the seed counts the states), with the T steps of its numbers."""
    import tinygrad_seq.viz
    from tinygrad_seq.demos import graphs_demo
    from tinygrad_seq.viz.graph_render import graph_to_dot

    from tests.viz.test_graph_render import parse_dot

    drawn = {}

    def as_dot(loss, path, **options):  # the DOT source only: no layout, quick
        drawn[path.stem] = parse_dot(graph_to_dot(loss, **options))
        return path

    monkeypatch.setattr(tinygrad_seq.viz, "render_graph", as_dot)
    monkeypatch.setattr(plots, "bptt_norms_figure", lambda path, curves, steps: path)
    result = graphs_demo.run(DemoContext(tmp_path, size="tiny", seed=0))
    T = result["numbers"]["steps"]
    last = max(int(label[2:]) for label in drawn["bptt_rnn"].step_clusters())
    assert last == T
    said = " ".join(result["measured"].split())
    assert f"titled t = 1 … T: the last, t = {T}, outputs h_{T} = h_T" in said
