"""The tour end to end: `tinygrad-seq tour` at the tests' size writes every figure, a
summary.json whose numbers say what the seed says, and an index.html that shows them.

The tour runs once for the module (about a minute on 2 cores); each test reads one demo's
numbers. Training demos are checked with margins, not exact values.
"""

from __future__ import annotations

import json
import re
from html import escape as html_escape

import numpy as np
import pytest
from click.testing import CliRunner
from tinygrad_seq.demos.cli import cli
from tinygrad_seq.demos.tour import DEMOS

import tinygrad_seq as ts

pytestmark = pytest.mark.numpy_only  # one end-to-end run; the backends are tested elsewhere


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """Run the whole tour (size "tiny") into a folder; return (folder, summary)."""
    out = tmp_path_factory.mktemp("tour")
    result = CliRunner().invoke(cli, ["tour", "--out", str(out), "--size", "tiny", "--seed", "0"])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "summary.json").read_text())


def numbers(tour, name: str) -> dict:
    _, summary = tour
    entry = summary["demos"][name]
    assert entry["status"] == "ok", entry.get("traceback", entry["status"])
    return entry["numbers"]


def test_every_demo_ran_and_index_shows_every_figure(tour):
    out, summary = tour
    assert list(summary["demos"]) == list(DEMOS)
    html = (out / "index.html").read_text()
    for name, entry in summary["demos"].items():
        assert entry["status"] == "ok", (name, entry["status"])
        assert entry["figures"], name
        assert html_escape(entry["claim"]) in html
        for fig in entry["figures"]:
            assert (out / fig).stat().st_size > 5_000, fig
            assert f"src='{fig}'" in html, fig
        for value in entry["key"].values():  # the key numbers are printed on the page
            assert html_escape(str(value)) in html


def test_fixed_size_inputs(tour):
    n = numbers(tour, "fixed-size")
    assert n["bow"]["equal"] is True
    assert n["bow"]["vectors"][0] == n["bow"]["vectors"][1]
    assert n["bow"]["the_cat_sat_on_the_mat"]["the"] == 2
    assert n["ngrams"]["trigrams_of_the_cat_sat"] == ["the cat sat"]  # the seed's slip
    assert n["pad_truncate"]["seed_example"][:2] == ["Hello", "world"]
    assert n["pad_truncate"]["seed_example_padded_share"] == 0.8
    acc = n["order_task"]["test_accuracy"]
    assert acc["BoW MLP"] == pytest.approx(0.5, abs=0.02)  # exactly chance by construction
    for model in ("RNN", "LSTM", "GRU"):
        assert acc[model] >= 0.9, (model, acc)
    window = n["windows"]["test_accuracy"]
    assert window[-1] >= 0.9 and window[-1] > window[0] + 0.1  # a wider window sees more
    # the second animal's size alone settles 4 cases in 5 (rank 1 or 5: certain; 2, 4: 3/4)
    assert n["windows"]["last_word_alone"] == pytest.approx(0.8, abs=0.1)
    assert np.all(np.diff(n["ngrams"]["distinct"]) > 0)
    cut, padded = n["pad_truncate"]["fraction_cut"], n["pad_truncate"]["fraction_padded"]
    assert np.all(np.diff(cut) <= 0) and np.all(np.diff(padded) >= 0)


def test_fixed_size_truncation_padding_and_ngrams_are_the_corpus(tour):
    """The shares and counts against the demo's corpus (seed 0), counted here by hand."""
    from tinygrad_seq import data

    n = numbers(tour, "fixed-size")
    pairs = data.translation_task(2000, max_clauses=4, seed=0)
    lengths = pairs.src_lengths
    sentences = [tuple(row[:k]) for row, k in zip(pairs.src, lengths, strict=True)]
    total, count, longest = int(lengths.sum()), len(lengths), int(lengths.max())
    pt = n["pad_truncate"]
    cut, padded = np.array(pt["fraction_cut"]), np.array(pt["fraction_padded"])
    assert list(pt["L"]) == list(range(1, longest + 1))
    # L = 1 keeps one token a sentence; L = longest pads every sentence up to it
    assert cut[0] == pytest.approx(1 - count / total) and cut[-1] == 0
    assert padded[0] == 0 and padded[-1] == pytest.approx(1 - total / (longest * count))
    gaps = np.abs(cut - padded)
    assert gaps[pt["equal_loss_L"] - 1] == gaps.min()  # the L where the two are nearest
    ng = n["ngrams"]
    assert ng["word_vocab"] == len(pairs.src_vocab) - len(data.SPECIALS)
    for k, size in enumerate(ng["n"]):
        grams = {s[i : i + size] for s in sentences for i in range(len(s) - size + 1)}
        assert ng["distinct"][k] == len(grams), size
        assert ng["windows_in_corpus"][k] == sum(max(0, len(s) - size + 1) for s in sentences)
    assert ng["windows_in_corpus"][0] == total  # every token is a window of one


def test_vanishing_gradients(tour):
    n = numbers(tour, "vanishing")
    at = n["at_T_values"]
    assert n["at_T"] == 20
    assert n["seed_example_T20"] == pytest.approx(0.9**19 * 0.3**19, rel=1e-12)
    assert at["rnn"] < 1e-3 and at["lstm_cell_path"] > 100 * at["rnn"]  # orders of magnitude
    assert at["lstm_cell_path_open"] > 0.1 and at["gru_open"] > 0.1
    assert n["lstm_cell_path_vs_prod_f_max_error"] < 1e-12  # ∂C_T/∂C_1 = diag(Π f_t)
    rnn, bound = np.array(n["rnn"]), np.array(n["rnn_bound"])
    assert np.all(rnn <= bound * (1 + 1e-9))  # the seed's bound holds
    # ...and is the seed's: ‖W_hh‖^{T−1} Π max tanh', with ‖W_hh‖ = 0.9 and 0 < tanh' ≤ 1
    max_tanh_prime = np.array(n["rnn_max_tanh_prime"])
    assert np.all((max_tanh_prime > 0) & (max_tanh_prime <= 1))
    np.testing.assert_allclose(bound[1:] / bound[:-1], 0.9 * max_tanh_prime[: len(bound) - 1])
    assert bound[0] == 1.0  # T = 1: ∂h_1/∂h_1 = I
    assert np.all(np.diff(np.log(rnn)) < 0)  # and the gradient shrinks at every step
    sweep = n["spectral_sweep"]
    ends = [sweep["norms"][f"ρ = {r:g}"][-1] for r in sweep["rho"]]
    assert np.all(np.diff(ends) > 0)
    assert ends[0] < 1e-6 and ends[-1] > 10  # vanishing below ρ = 1, exploding above
    # the reference curves start at T = 1 with the identity: (0.9·x)^(T−1)
    T = np.array(n["T"])
    np.testing.assert_allclose(n["rnn_typical"], (0.9 * n["rnn_mean_tanh_prime"]) ** (T - 1))
    np.testing.assert_allclose(n["seed_line"], 0.27 ** (T - 1))
    assert n["seed_line"][19] == pytest.approx(n["seed_example_T20"], rel=1e-12)
    # "orders of magnitude" are decades
    ratio = at["lstm_cell_path"] / at["rnn"]
    assert at["lstm_over_rnn_orders"] == pytest.approx(np.log10(ratio), rel=1e-12)


def test_lstm_memory_and_forget_gates(tour):
    n = numbers(tour, "memory")
    acc = n["test_accuracy"]
    for model in ("LSTM, b_f = 1", "LSTM, b_f = 3", "GRU"):
        assert min(acc[model]) >= 0.9, (model, acc)  # gated models hold every delay
    assert acc["RNN"][0] >= 0.5  # the short one is learnable by the RNN too (chance 25%)
    # (at this size even the longest delay is short enough for the RNN, so the gated models
    # cannot beat it here; the RNN failing at delay 40 is tested in nn/test_training.py)
    runs, per_run = n["runs"], n["test_accuracy_per_run"]
    assert runs == 2
    for label, by_delay in per_run.items():  # the means and counts are of these runs
        assert all(len(r) == runs for r in by_delay)
        assert acc[label] == pytest.approx([np.mean(r) for r in by_delay])
        assert n["runs_that_learned"][label] == [sum(a >= 0.9 for a in r) for r in by_delay]
    first, second = n["final_loss"]["RNN"][0]
    assert first != second  # each run its own data and initial weights
    budget = n["settings"]["steps"]  # a run stops once it has learned, and only then:
    for label, by_delay in n["steps_trained"].items():
        for trained, accuracies in zip(by_delay, per_run[label], strict=True):
            for steps, accuracy in zip(trained, accuracies, strict=True):
                assert steps == budget or (steps < budget and accuracy >= 0.9), (label, steps)
    assert min(n["steps_trained"]["LSTM, b_f = 3"][0]) < budget  # (some runs do stop)
    gates = n["forget_gates"]
    best_after = gates["prod_f_per_unit_trained"][gates["best_unit"]]
    assert best_after > 10 * max(gates["prod_f_per_unit_init"])
    assert 1 <= gates["run"] <= runs  # counted from 1, as the text counts
    _, summary = tour
    measured = summary["demos"]["memory"]["measured"]
    assert f"(its best run there, run {gates['run']})" in measured
    from tinygrad_seq.demos.memory import gated_verdict

    verdict = gated_verdict(n["runs_that_learned"], n["delays"], runs)
    assert n["gated_verdict"] == verdict and f"the RNN) {verdict}." in measured
    f_t = re.search(r"after training \(f_t ≈ ([0-9.]+) at each step\)", measured)
    assert f_t is not None, measured  # the trained unit's f_t, beside its product:
    steps = len(gates["mean_per_step"]) - 1  # (steps 2..T)
    assert float(f_t.group(1)) == pytest.approx(best_after ** (1 / steps), abs=0.005)


def test_agreement_across_a_clause(tour):
    n = numbers(tour, "agreement")
    ks, acc = n["clause_lengths"], n["test_accuracy"]
    assert ks == [4, 8] and all(len(a) == len(ks) for a in acc.values())
    assert min(acc["LSTM"]) >= 0.9  # the LSTM learns the verb's number across the clause
    unit = n["lstm_unit"]
    assert unit["r_at_verb"] >= 0.9  # its unit's C_t tells it at the verb
    # the part of C at the verb written at the subject is a share, and the text gives it
    assert 0 <= unit["share_of_C_written_at_subject"] <= 1.5
    _, summary = tour
    entry = summary["demos"]["agreement"]
    assert f"{unit['share_of_C_written_at_subject']:.0%} is what was written" in entry["measured"]
    assert n["example"]["sentence"][:6] == "the cat that I saw yesterday".split()


def test_gru_has_three_quarters_of_the_lstm_parameters(tour):
    n = numbers(tour, "gru-vs-lstm")
    assert n["gru_over_lstm"] == pytest.approx([0.75] * len(n["hidden_sizes"]))
    d, hs = n["input_size"], n["hidden_sizes"]
    assert n["parameters"]["LSTM"] == [4 * h * (h + d) + 4 * h for h in hs]
    for name, cls in (("LSTM", ts.nn.LSTM), ("GRU", ts.nn.GRU)):  # one more step, more ops:
        ops = []
        for T in (2, 3):
            hs, _ = cls(d, 32)(ts.Tensor(np.zeros((1, T, d), dtype=np.float32)))
            ops.append(sum(1 for node in ts.graph.trace(hs.sum()).nodes if node.op is not None))
        assert n["ops_per_step"][name] == ops[1] - ops[0]
    assert n["ops_per_step"]["GRU"] < n["ops_per_step"]["LSTM"]
    # in the tour the memory demo ran first: its runs are reused, and the text says so
    assert n["runs_trained_here"] == 0 and n["runs_reused_from_memory_demo"] > 0
    from tinygrad_seq.demos.gru_vs_lstm import accuracy_verdict

    assert n["accuracy_verdict"] == accuracy_verdict(n["test_accuracy"], n["delays"])
    _, summary = tour
    assert (
        summary["demos"]["gru-vs-lstm"]["key"]["accuracy, GRU against LSTM"]
        == (n["accuracy_verdict"])
    )
    assert "whose runs these are" in summary["demos"]["gru-vs-lstm"]["measured"]
    cost = n["cost"]  # CPU time of forward + backward, GRU and LSTM taking turns
    assert cost["hidden_sizes"] == [32, 256] and cost["delays"] == n["delays"]
    for entry in cost["by_hidden"].values():
        # the counted work: 3 gate products to 4, plus the embedding, the head and the loss
        assert all(0.74 < w < 0.76 for w in entry["work_ratio"])
        quartiles = (entry["ratio_q1"], entry["ratio_median"], entry["ratio_q3"])
        for q1, m, q3 in zip(*quartiles, strict=True):
            assert 0 < q1 <= m <= q3
    from tinygrad_seq.demos.gru_vs_lstm import cost_verdict

    assert n["cost_verdict"] == cost_verdict(cost)


def test_the_cost_verdict_says_what_the_time_ratios_show():
    from tinygrad_seq.demos.gru_vs_lstm import cost_verdict

    def verdict(q1, median, q3):
        e = {"ratio_q1": q1, "ratio_median": median, "ratio_q3": q3}
        return cost_verdict({"hidden_sizes": [32], "delays": [5, 30], "by_hidden": {"h=32": e}})[
            "h=32"
        ]

    assert verdict([0.78, 0.79], [0.8, 0.8], [0.82, 0.81]) == "less by 20%, as the seed says"
    assert verdict([0.94, 0.95], [0.96, 0.98], [0.97, 0.99]) == "less by 2–4%, as the seed says"
    assert verdict([1.02, 0.9], [1.1, 0.95], [1.2, 0.99]) == (
        "more (at D = 5), against the seed's claim"
    )
    assert verdict([0.9, 0.94], [0.93, 0.96], [1.02, 0.98]).startswith(
        "a little less at the median, but not clearly"
    )
    assert verdict([0.9, 0.94], [1.01, 0.96], [1.05, 0.98]) == "no clear difference"


def test_the_gru_verdict_says_what_the_accuracies_show():
    from tinygrad_seq.demos.gru_vs_lstm import accuracy_verdict

    d = [5, 15, 30]
    verdict = lambda lstm, gru: accuracy_verdict({"LSTM": lstm, "GRU": gru}, d)  # noqa: E731
    assert verdict([1, 0.98, 0.97], [1, 1, 0.95]) == (
        "comparable accuracy (within 5 points at every delay)"
    )
    assert verdict([1, 0.93, 0.66], [0.96, 1, 1]) == (  # 4 points behind at D = 5: level
        "as accurate or more (ahead at D = 15, 30, within 5 points elsewhere)"
    )
    assert verdict([1, 1, 0.9], [1, 0.8, 0.9]) == "the LSTM more accurate at D = 15"
    assert verdict([1, 1, 0.6], [1, 0.8, 0.9]) == "the LSTM ahead at D = 15, the GRU at D = 30"


def test_the_transformer_text_says_when_the_seq2seq_budget_differs():
    from tinygrad_seq.demos.transformer_demo import _budgets

    cfg = dict(layers=2, d_model=32, steps=200, batch=96, lr=0.005)
    seq2seq = dict(hidden=32, steps=160, batch=96, lr=0.01)
    other = _budgets(cfg, seq2seq, True)
    assert not other["same"] and "another budget: 160 Adam steps" in other["sentence"]
    assert other["labels"]["Transformer"] == "2+2 layers, d_model 32, 200 steps"
    assert other["labels"]["seq2seq"] == "GRU, hidden 32, 160 steps"
    same = _budgets(cfg, dict(seq2seq, steps=200), True)
    assert same["same"] and "with the same budget" in same["sentence"]
    alone = _budgets(cfg, seq2seq, False)  # no seq2seq curves drawn: nothing to say
    assert alone["same"] and alone["sentence"] == "" and "seq2seq" not in alone["labels"]


def test_lists_of_scores_have_a_verb():
    from tinygrad_seq.demos.fixed_size import _scores

    assert _scores({"RNN": 1.0, "LSTM": 0.98, "GRU": 1.0}) == (
        "the RNN scores 100%, the LSTM 98% and the GRU 100%"
    )
    assert _scores({"RNN": 0.5}) == "the RNN scores 50%"


def test_the_heads_text_claims_different_roles_only_when_measured():
    from tinygrad_seq.demos.transformer_demo import _heads_note

    assert "different distances" in _heads_note([1.0, 3.9, 2.0, 4.1], 4.0)
    near_uniform = _heads_note([3.7, 3.8, 3.4, 3.6], 4.0)
    assert "no clearly different roles" in near_uniform and "3.7, 3.8, 3.4, 3.6" in near_uniform
    local = _heads_note([0.6, 0.7, 0.8, 0.9], 4.0)  # alike, but far from uniform
    assert "all look nearer than uniform" in local and "near uniform" not in local


def test_the_memory_and_bottleneck_texts_follow_their_numbers():
    from tinygrad_seq.demos.bottleneck import attention_falls_note
    from tinygrad_seq.demos.memory import _gates_verdict

    note, verdict = _gates_verdict(0.56, 0.001, 19)
    assert note == " (f_t ≈ 0.970 at each step)"  # 0.970¹⁹ = 0.56: the trained unit's f_t
    assert "near 1 where it must remember" in verdict
    note, verdict = _gates_verdict(0.04, 0.00045, 31)
    assert note == " (f_t ≈ 0.90 at each step)" and "though not to near 1" in verdict
    assert _gates_verdict(1e-4, 2e-5, 31) == ("", ": these forget gates did not open.")
    assert attention_falls_note([0.97, 0.95], [0.9, 0.3], [2, 12]) == ""  # it holds
    eases = attention_falls_note([0.97, 0.99, 0.56], [0.98, 0.97, 0.33], [2, 3, 12])
    assert "from 99% (its best, at length 3) to 56% at length 12" in eases
    assert "eases the bottleneck" in eases and "23 points above" in eases
    falls = attention_falls_note([0.99, 0.4], [0.97, 0.35], [2, 12])
    assert "does not show attention easing" in falls


def test_the_bottleneck_figure_title_says_what_the_run_showed():
    from tinygrad_seq.demos.bottleneck import attention_falls_note, bottleneck_title

    # seed 0 at the quick size: attention ends 23 points above the plain model, but falls too
    assert bottleneck_title([0.97, 0.99, 0.56], [0.97, 0.99, 0.33]).endswith(
        "with attention it falls less"
    )
    assert bottleneck_title([1.0, 0.95], [1.0, 0.3]).endswith("with attention it holds")
    assert bottleneck_title([0.99, 0.4], [0.97, 0.35]).endswith("attention did not ease it")
    assert "did not fall" in bottleneck_title([1.0, 0.9], [0.95, 0.9])
    # 10 points or less is none, exactly at 10 too (0.33 - 0.23 == 0.1 in floats)
    assert "did not fall" in bottleneck_title([0.9, 0.9], [0.33, 0.23])
    assert bottleneck_title([0.25, 0.23], [0.9, 0.13]).endswith("attention did not ease it")
    assert bottleneck_title([0.33, 0.23], [0.9, 0.0]).endswith("with attention it holds")
    # attention that holds, but at a level no higher than the plain model's end: no easing
    assert bottleneck_title([0.5, 0.45], [1.0, 0.4]).endswith("attention did not ease it")
    # attention that fell from its best (as attention_falls_note measures it) did not hold,
    # though it ends above where it started
    a, p = [0.5, 0.95, 0.7], [0.9, 0.5, 0.2]
    assert bottleneck_title(a, p).endswith("with attention it falls less")
    assert "Attention's accuracy falls too, from 95%" in attention_falls_note(a, p, [2, 7, 12])


def test_the_bottleneck_demo_titles_its_figure_and_words_a_plain_model_that_did_not_fall(
    tmp_path, monkeypatch
):
    from types import SimpleNamespace

    from tinygrad_seq.demos import bottleneck
    from tinygrad_seq.demos.common import DemoContext
    from tinygrad_seq.viz import plots

    def trained(acc):
        return SimpleNamespace(
            accuracy_by_length={2: acc[0], 12: acc[1]},
            losses=[1.0, 0.5],
            sequence_accuracy=0.5,
            antidiagonal=0.9,
            after_antidiagonal=0.05,
            seconds=1.0,
        )

    titles = []
    monkeypatch.setattr(plots, "bottleneck_figure", lambda path, *a: titles.append(a[-1]) or path)
    for plain, attention, says in [
        (
            [0.9, 0.3],
            [1.0, 0.95],
            "plain seq2seq 90% at length 2 falling to 30% at length 12 "
            "(a drop of 60 points); with attention 100% and 95%.",
        ),
        (
            [0.8, 0.8],
            [1.0, 0.95],
            "plain seq2seq 80% at length 2 and 80% at length 12; with attention 100% and 95%.",
        ),
    ]:
        runs = {None: trained(plain), "additive": trained(attention)}
        monkeypatch.setattr(bottleneck, "train_reversal", lambda ctx, attn, runs=runs: runs[attn])
        measured = bottleneck.run(DemoContext(out=tmp_path, size="tiny"))["measured"]
        assert says in measured
        assert titles[-1] == bottleneck.bottleneck_title(attention, plain)
    assert titles[0].endswith("with attention it holds") and "did not fall" in titles[1]


def test_the_memory_demo_names_each_lstm_by_its_real_forget_bias():
    from tinygrad_seq.demos.memory import KINDS

    lstms = [(label, bias) for kind, label, bias in KINDS if kind == "lstm"]
    assert [label for label, _ in lstms] == ["LSTM, b_f = 1", "LSTM, b_f = 3"]
    for label, bias in lstms:
        assert label == f"LSTM, b_f = {bias:g}"
    # the first is the library's default start, as its label and the demo's text say
    assert np.all(ts.nn.LSTM(3, 4).cell.b_f.numpy() == lstms[0][1])


def test_the_memory_verdict_counts_runs_against_the_rnns():
    from tinygrad_seq.demos.memory import gated_verdict

    def verdict(rnn, lstm, chrono, gru):
        learned = {"RNN": [rnn], "LSTM, b_f = 1": [lstm], "LSTM, b_f = 3": [chrono], "GRU": [gru]}
        return gated_verdict(learned, [30], 3)

    assert verdict(0, 1, 3, 3) == (
        "held at D = 30 for the LSTM at its default b_f = 1 (1 of 3), the LSTM started at "
        "b_f = 3 (3 of 3), the GRU (3 of 3), against the RNN's 0 of 3"
    )
    # seed 5 at the quick size: the default LSTM learned D = 30 in fewer runs than the RNN
    split = verdict(1, 0, 3, 3)
    assert split.startswith("held at D = 30 for the LSTM started at b_f = 3 (3 of 3), the GRU")
    assert split.endswith("; not for the LSTM at its default b_f = 1 (0 of 3, fewer than the RNN)")
    assert "(1 of 3, as many as the RNN)" in verdict(1, 1, 3, 2)  # a tie is not "held"
    assert verdict(1, 1, 0, 1) == (
        "did not hold at D = 30 in this run: no gated model learned it in more runs than the "
        "RNN (1 of 3)"
    )
    assert "the RNN learned it in every run (3 of 3)" in verdict(3, 3, 3, 3)
    # the longest delay is the one judged, for the RNN and the gated models alike
    learned = {"RNN": [3, 0], "LSTM, b_f = 1": [0, 2], "LSTM, b_f = 3": [0, 3], "GRU": [1, 0]}
    assert gated_verdict(learned, [10, 30], 3) == (
        "held at D = 30 for the LSTM at its default b_f = 1 (2 of 3), the LSTM started at "
        "b_f = 3 (3 of 3), against the RNN's 0 of 3; not for the GRU (0 of 3, as many as the RNN)"
    )


def test_the_alignments_text_says_whose_weights_follow_the_colours():
    from tinygrad_seq.demos.alignments import EXAMPLE, _colours_sentence

    src = EXAMPLE.split()  # the black cat chases a white rat
    tgt = "le chat noir chasse un rat blanc".split()
    follows = np.eye(7)[[0, 2, 1, 3, 4, 6, 5]]  # row t: one-hot on the word it translates
    diagonal = np.eye(7)  # word for word: the colours not moved
    both = {"additive": {"example_alpha": follows}, "dot": {"example_alpha": follows}}
    assert "every model's weights follow the moved colours" in _colours_sentence(both, src, tgt)
    mixed = {"additive": {"example_alpha": follows}, "dot": {"example_alpha": diagonal}}
    text = _colours_sentence(mixed, src, tgt)
    assert "the weights of the additive model follow" in text
    assert "the dot model's largest weights do not" in text
    none = {"dot": {"example_alpha": diagonal}}
    assert "no model's largest weights follow" in _colours_sentence(none, src, tgt)
    assert (
        '("chat noir" looks at "cat" then "black", "rat blanc" at "rat" then "white" would)'
        in _colours_sentence(none, src, tgt)
    )
    first_only = np.eye(7)[[0, 2, 1, 3, 4, 5, 6]]  # "chat noir" moved, "rat blanc" not
    half = {"dot": {"example_alpha": first_only}}
    assert "no model's largest weights follow both" in _colours_sentence(half, src, tgt)
    # each target row's largest weight counts (not each source column's)
    soft = follows.copy()
    soft[0], soft[2] = [0.5, 0.45, 0.05, 0, 0, 0, 0], [0, 0.4, 0.3, 0.3, 0, 0, 0]
    rows = {"dot": {"example_alpha": soft}}
    assert "every model's weights follow" in _colours_sentence(rows, src, tgt)


def test_attention_eases_the_bottleneck(tour):
    n = numbers(tour, "bottleneck")
    plain, attention = n["token_accuracy"]["seq2seq"], n["token_accuracy"]["seq2seq + attention"]
    assert attention[-1] > plain[-1] + 0.15  # attention wins at the longest input
    assert plain[0] > plain[-1] + 0.2  # the plain model falls as inputs grow


def test_attention_adds_computational_overhead(tour):
    _, summary = tour
    o = numbers(tour, "bottleneck")["overhead"]
    models = ["seq2seq", "seq2seq + attention"]
    assert list(o["step_s"]) == list(o["median_step_s"]) == models
    for label, steps in o["step_s"].items():
        assert len(steps) == o["rounds"] and o["median_step_s"][label] == np.median(steps)
    t, f, ops = o["median_step_s"], o["forward_flops"], o["recorded_ops"]
    assert o["time_ratio"] == t[models[1]] / t[models[0]] > 1
    assert o["work_ratio"] == f[models[1]] / f[models[0]] > 1
    assert o["ops_ratio"] == ops[models[1]] / ops[models[0]] > 1
    entry = summary["demos"]["bottleneck"]
    assert f"{o['time_ratio']:.2f}× the time" in entry["measured"] + entry["headline"]


def test_learned_alignments(tour):
    n = numbers(tour, "alignments")
    mass = {label: r["mass_on_gold"] for label, r in n["results"].items()}
    assert max(mass.values()) > 0.6, mass  # uniform attention would put ~1/5 there
    assert all(v > 0.3 for v in mass.values()), mass
    table = np.array(n["seed_table"]["alpha"])
    assert table.shape == (7, 6) and np.allclose(table.sum(axis=1), 1.0)
    assert np.array_equal(n["seed_table"]["row_sums"], table.sum(axis=1))  # one per row
    _, summary = tour
    assert summary["demos"]["alignments"]["key"]["best score function here"] == max(
        mass, key=mass.get
    )
    # the example: each colour after its noun, and row t of α the one producing word t
    assert n["example"]["target"] == "le chat noir chasse un rat blanc".split()
    gold = [0, 2, 1, 3, 4, 6, 5]
    best = np.array(n["results"][max(mass, key=mass.get)]["example_alpha"])
    assert np.mean([best[t, i] for t, i in enumerate(gold)]) > 0.5


def test_transformer_positions(tour):
    n = numbers(tour, "transformer")
    perm = n["permutation"]
    assert perm["without_positions"]["permuted_outputs"] < 1e-5  # equivariant: same vectors
    assert perm["without_positions"]["mean_pooled"] < 1e-5  # pooled: identical
    assert perm["with_positions"]["permuted_outputs"] > 1e-2
    acc = n["token_accuracy"]
    assert acc["Transformer"][-1] > acc["Transformer without positions"][-1]
    reach, length = n["encoder_head_mean_distance"], n["example_source_length"]
    assert len(reach) == n["settings"]["heads"]
    weights = np.array(n["encoder_head_weights"])  # (heads, n, n), rows sum to 1
    assert weights.shape == (len(reach), length, length)
    np.testing.assert_allclose(weights.sum(axis=-1), 1, rtol=1e-5)
    for head, r in zip(weights, reach, strict=True):  # Σ_j α_ij |i − j|, mean over i
        expected = np.mean(
            [sum(head[i, j] * abs(i - j) for j in range(length)) for i in range(length)]
        )
        assert r == pytest.approx(expected, rel=1e-5)
    # uniform weights over n keys: mean |i − j| = (n² − 1) / (3n)
    assert n["uniform_mean_distance"] == pytest.approx((length**2 - 1) / (3 * length))


def test_complexity_slopes(tour):
    n = numbers(tour, "complexity")
    slopes = n["slopes"]
    # counted work, memory (tracemalloc, deterministic) and graph depth; time slopes are
    # printed, not tested (tests/test_complexity_demo.py tests how they are taken)
    assert slopes["RNN"]["work"] == pytest.approx(1) == slopes["LSTM"]["work"]
    assert 1.8 < slopes["self-attention"]["work"] < 2
    assert 1.6 < slopes["self-attention"]["memory"] < 2.4
    assert 0.8 < slopes["RNN"]["memory"] < 1.2 and 0.8 < slopes["LSTM"]["memory"] < 1.2
    assert 0.95 < slopes["RNN"]["depth"] < 1.05
    assert abs(slopes["self-attention"]["depth"]) < 0.05
    # the position-wise MLP (the seed's MLP row): O(n) work and memory, attention's depth
    assert slopes["MLP"]["work"] == pytest.approx(1)
    assert slopes["MLP"]["work"] < slopes["self-attention"]["work"]
    assert 0.8 < slopes["MLP"]["memory"] < 1.2 < slopes["self-attention"]["memory"]
    assert abs(slopes["MLP"]["depth"]) < 0.05 < slopes["RNN"]["depth"]
    series = n["series"]
    assert series["MLP"]["flops"] == series["RNN"]["flops"]  # the same arithmetic, and
    assert series["MLP"]["depth"][-1] < series["RNN"]["depth"][-1] / 100  # not one step a time


def test_bptt_graphs(tour):
    out, _ = tour
    n = numbers(tour, "bptt-graphs")
    ratios = n["first_over_last"]
    assert ratios["RNN ‖∂L/∂h_t‖"] < ratios["LSTM ‖∂L/∂C_t‖"]
    # t counted as the seed counts it: "0" the initial state h_0, "T" the last output h_T
    norms = n["grad_norms"]
    T = n["steps"]
    for label, curve in norms.items():
        assert sorted(map(int, curve)) == list(range(T + 1)), label
        assert ratios[label] == pytest.approx(curve["0"] / curve[str(T)]), label
    h0 = norms["RNN ‖∂L/∂h_t‖"]["0"]
    assert n["lstm_C0_over_rnn_h0"] == pytest.approx(norms["LSTM ‖∂L/∂C_t‖"]["0"] / h0)
    for name in ("bptt_rnn.svg", "bptt_lstm.svg"):
        assert "<svg" in (out / "img" / name).read_text()[:2000]
    section = (out / "index.html").read_text().split("<section id='bptt-graphs'>")[1]
    assert "click one to open it at full size" in section.split("</section>")[0]


def test_bptt_graphs_are_what_the_graph_command_draws(tour, tmp_path):
    """The section's models are `tinygrad-seq graph rnn|lstm --steps T --seed 0`'s (the
    README quotes that command's numbers): the same norms, the same LSTM picture, whatever
    the section built before each one. Its h_0 and C_0 are the pictures' h0 and C0 boxes,
    the initial states (its h_0 was the output of the step drawn as t=0, a box of another
    norm), and its h_t for t ≥ 1 the h_t the step drawn as t=t−1 outputs."""
    from tinygrad_seq.demos import graph_cmd
    from tinygrad_seq.demos.graphs_demo import _norms_by_step

    import tinygrad_seq as ts

    out, _ = tour
    n = numbers(tour, "bptt-graphs")
    for label, model, name, initial in (
        ("RNN ‖∂L/∂h_t‖", "rnn", "h_t", "h0"),
        ("LSTM ‖∂L/∂h_t‖", "lstm", "h_t", "h0"),
        ("LSTM ‖∂L/∂C_t‖", "lstm", "C_t", "C0"),
    ):
        ts.manual_seed(0)  # as the command's --seed 0
        loss = graph_cmd.build(model, n["steps"]).loss
        (box,) = [node for node in ts.graph.trace(loss).nodes if node.name == initial]
        expected = {0: box.grad_norm}
        expected.update({t + 1: v for t, v in _norms_by_step(loss, name).items()})
        got = {int(t): v for t, v in n["grad_norms"][label].items()}
        assert got == pytest.approx(expected, rel=1e-6), label
    picture = tmp_path / "lstm.svg"
    argv = ["graph", "lstm", "--steps", str(n["lstm_render_steps"]), "--out", str(picture)]
    result = CliRunner().invoke(cli, [*argv, "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert picture.read_text() == (out / "img" / "bptt_lstm.svg").read_text()


def test_derivations(tour):
    n = numbers(tour, "derivations")
    assert n["passed"] == n["total"] > 10
    assert n["worst_numeric_error"] < n["tolerance"]
    assert n["worst_engine_vs_sympy"] <= n["worst_numeric_error"]
    # the inequality has no SymPy derivative: its number says what it was compared with
    (bound,) = [d for d in n["identities"] if d["symbolic_ok"] is None]
    assert "SymPy" not in bound["compared"] and "J_T⋯J₂" in bound["compared"]
    assert all("SymPy" in d["compared"] for d in n["identities"] if d["symbolic_ok"])
    assert n["worked_example"]["value"] == pytest.approx(0.9**19 * 0.3**19, rel=1e-12)


def test_the_index_header_says_mixed_when_the_sections_were_run_differently(tmp_path):
    from tinygrad_seq.demos.tour import write_index

    section = {"status": "ok", "title": "t", "claim": "c", "size": "quick", "backend": "numpy"}
    summary = {
        "meta": {"size": "quick", "seed": 3, "backend": "numpy"},  # the last command's
        "demos": {"vanishing": {**section, "seed": 0}, "memory": {**section, "seed": 3}},
    }
    write_index(tmp_path / "index.html", summary)
    header = (tmp_path / "index.html").read_text().split("<section")[0]
    assert "seed mixed (see each section)" in header and "size quick" in header


def test_the_summary_says_mixed_when_commands_ran_with_different_seeds(tmp_path):
    runner = CliRunner()
    for seed in ("0", "1"):
        argv = ["derivations", "--out", str(tmp_path), "--size", "tiny", "--seed", seed]
        result = runner.invoke(cli, argv)
        assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "summary.json").read_text())["meta"]
    assert meta["seed"] == 1 and meta["size"] == "tiny"  # one demo: its latest run
    result = runner.invoke(cli, ["vanishing", "--out", str(tmp_path), "--size", "tiny"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "summary.json").read_text())["meta"]
    assert meta["seed"] == "mixed (see each section)" and meta["size"] == "tiny"


def test_complexity_times_each_case_as_often_as_it_says(monkeypatch, tmp_path):
    """The first timing counts among the runs: no case is timed more than the text says."""
    from collections import Counter

    from tinygrad_seq.demos import complexity
    from tinygrad_seq.demos.common import DemoContext
    from tinygrad_seq.viz import plots

    timed = Counter()

    def fake_time(layer, x):  # fast at small n (many runs fit the budget), slow at large n
        n = x.shape[1]
        timed[(id(layer), n)] += 1
        return 1e-7 if n <= 64 else 1.0

    monkeypatch.setattr(complexity, "_time", fake_time)
    counts = {"depth": 1, "flops": 1, "peak_bytes": 1.0}
    monkeypatch.setattr(complexity, "_counts_and_memory", lambda *_: counts)
    monkeypatch.setattr(plots, "complexity_figure", lambda path, *_, **__: path)
    result = complexity.run(DemoContext(out=tmp_path, size="tiny"))
    low, high = map(int, re.search(r"best of (\d+) to (\d+) runs", result["measured"]).groups())
    assert low == result["numbers"]["repeats"] + 1
    assert sorted(set(timed.values())) == [low, high]  # slow cases and fast ones
    assert sorted(result["numbers"]["runs"].values()) == sorted(timed.values())


def test_the_claims_write_the_seeds_math_in_its_symbols():
    # the page sets each claim beside measurements written ‖∂h/∂h‖, Π f_t, α, O(n²): the
    # claims read as the seed's equations, not as ASCII stand-ins for them
    stand_ins = ("||", "<=", "prod ", "(.)", "alpha", "^2", "dh_", "dC_", "->")
    for name, spec in DEMOS.items():
        for text in (spec.title, spec.claim):
            assert not [s for s in stand_ins if s in text], (name, text)
    assert "‖∂h_T/∂h_1‖ ≤ ‖W_hh‖^(T−1)" in DEMOS["vanishing"].claim
    assert "W_hh ⊙ tanh′(·)" in DEMOS["derivations"].claim
