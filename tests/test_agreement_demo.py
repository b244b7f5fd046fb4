"""The agreement demo ("The cat that I saw yesterday was black"): its helpers, the text it
writes for each outcome, and one quick run whose claims are checked against its own numbers
(the tour tests run it at the tests' size)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from tinygrad_seq.demos import agreement, memory
from tinygrad_seq.demos.common import DemoContext

import tinygrad_seq as ts
from tinygrad_seq import data, train

pytestmark = pytest.mark.numpy_only  # demos' bookkeeping; the backends are tested elsewhere


def test_the_states_are_the_engines_own():
    task = data.agreement_task(6, 5, seed=0)
    ts.manual_seed(0)
    model = train.SequenceClassifier(len(task.vocab), 2, 8, 6, "lstm")
    model.rnn.cell.b_f.data[:] = np.linspace(-2, 2, 6)  # gates far apart
    states = agreement.lstm_states(model, task.ids)
    with ts.no_grad():
        hs, (h_T, C_T) = model.rnn(model.embed(task.ids))
    np.testing.assert_allclose(states["h"], hs.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(states["C"][:, -1], C_T.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(states["f"], memory.forget_gates(model, task.ids), rtol=1e-5)
    # C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t, the write being i_t ⊙ C̃_t
    C_prev = np.concatenate([np.zeros_like(states["C"][:, :1]), states["C"][:, :-1]], axis=1)
    np.testing.assert_allclose(states["C"], states["f"] * C_prev + states["write"], atol=1e-6)
    ts.manual_seed(0)
    rnn = train.SequenceClassifier(len(task.vocab), 2, 8, 6, "rnn")
    with ts.no_grad():
        expected = rnn.rnn(rnn.embed(task.ids))[0].numpy()
    np.testing.assert_array_equal(agreement.rnn_states(rnn, task.ids), expected)


def test_the_carrier_is_the_unit_that_tells_the_number_best_from_subject_to_verb():
    rng = np.random.default_rng(0)
    labels = rng.integers(2, size=400)
    states = rng.standard_normal((400, 6, 3))
    states[:, 0] = 0.5  # the first step, "the", is the same in every sentence: r = 0
    states[:, 1:, 2] += 3 * labels[:, None]  # unit 2 carries it at every step after
    states[:, 1, 0] += 10 * labels  # unit 0 only at the subject
    r = agreement.correlation(states, labels)
    for t in range(1, 6):
        for u in range(3):
            assert r[t, u] == pytest.approx(np.corrcoef(states[:, t, u], labels)[0, 1])
    assert np.all(r[0] == 0)
    unit, r_unit, score = agreement.carrier(states, labels)
    assert unit == 2 and score == pytest.approx(np.abs(r[1:, 2]).mean())
    np.testing.assert_array_equal(r_unit, np.abs(r[:, 2]))


def test_the_example_is_the_seeds_sentence_cut_or_continued():
    assert agreement.example_sentence(4, 0) == "the cat that I saw yesterday ?".split()
    assert agreement.example_sentence(2, 0) == "the cat that I ?".split()
    long = agreement.example_sentence(12, 3)
    assert long[:6] == "the cat that I saw yesterday".split() and long[6] == "and"
    assert len(long) == 12 + 3 and long[-1] == "?"


SEED_LIKE = {  # a unit that does what the seed says
    "clause_length": 8,
    "i_at_subject": 0.9,
    "i_over_clause": 0.1,
    "f_over_clause": 0.97,
    "f_over_clause_by_number": {"singular": 0.97, "plural": 0.96},
    "prod_f_over_clause": 0.76,
    "f_at_clause_subjects": 0.96,
    "share_of_C_written_at_subject": 0.8,
    "mean_write_r_over_clause": 0.1,
    "r_at_verb": 0.99,
    "o_at_verb": 0.9,
    "o_over_clause": 0.3,
}


def test_the_text_says_the_seeds_steps_where_the_unit_takes_them():
    said = " ".join(agreement.seed_steps(SEED_LIKE))
    assert "is 0.90 at the subject and 0.10 on average over the clause: it opens" in said
    assert "stays near 1 across the clause (f_t = 0.97 on average; Π f_t" in said
    assert "it is 0.96, no lower: \"new subject in clause, but don't forget" in said
    assert "80% is what was written at the subject and kept" in said
    assert "the cell holds the subject" in said and "refreshed" not in said
    assert "(|r| = 0.99)" in said and "it opens where the answer is read" in said


def test_the_text_says_what_the_unit_does_where_it_is_not_the_seeds():
    refreshed = dict(
        SEED_LIKE,
        i_at_subject=0.55,
        i_over_clause=0.5,
        f_over_clause=0.75,
        f_over_clause_by_number={"singular": 0.93, "plural": 0.57},
        prod_f_over_clause=0.15,
        f_at_clause_subjects=0.6,
        share_of_C_written_at_subject=0.01,
        mean_write_r_over_clause=0.99,
        r_at_verb=0.6,
        o_at_verb=0.5,
        o_over_clause=0.6,
    )
    said = " ".join(agreement.seed_steps(refreshed))
    assert "it does not open at the subject more than" in said
    assert "is not near 1 across the clause: f_t = 0.75 on average (0.93 after a singular " in said
    assert "over the 9 steps from the subject to the verb is 0.15" in said
    assert "it drops to 0.60" in said and "no lower" not in said
    assert "only 1% is what was written at the subject" in said
    assert "(mean |r| 0.99)" in said and "refreshed at every step" in said
    assert "only weakly (|r| = 0.60)" in said and "where the answer is read" not in said


def test_the_rnn_text_says_whether_it_faded_and_what_every_length_at_once_did():
    ks = [4, 8, 16]
    acc = {"RNN": [1.0, 0.95, 0.5], agreement.MIXED: [1.0, 1.0, 0.98]}
    faded = agreement.rnn_sentence(acc, ks, {"r_at_subject": 0.7, "r_at_verb": 0.05})
    assert "it learned k = 4, 8 and not k = 16." in faded
    assert "|r| = 0.70 at the subject and 0.05 at the verb: it fades" in faded
    assert "the same RNN scores 98% at k = 16: what it lacks" in faded
    acc = {"RNN": [1.0, 1.0, 1.0], agreement.MIXED: [1.0, 1.0, 1.0]}
    held = agreement.rnn_sentence(acc, ks, {"r_at_subject": 0.9, "r_at_verb": 0.8})
    assert "it learned k = 4, 8, 16, every one." in held
    assert "keeps the number: |r| = 0.90 at the subject, 0.80 at the verb" in held
    assert "fades" not in held and "what it lacks" not in held
    acc = {"RNN": [0.5, 0.5, 0.5], agreement.MIXED: [0.5, 0.5, 0.5]}
    assert "it learned none of them and not k = 4, 8, 16." in agreement.rnn_sentence(
        acc, ks, {"r_at_subject": 0.9, "r_at_verb": 0.1}
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The demo at its --quick size, seed 0 (a few seconds)."""
    out = tmp_path_factory.mktemp("agreement")
    ts.manual_seed(0)
    read, real = [], agreement.lstm_states  # (the states the run reads, for recounting)

    def reading(model, ids):
        read.append((ids, real(model, ids)))
        return read[-1][1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(agreement, "lstm_states", reading)
        result = agreement.run(DemoContext(out=out, size="quick", seed=0))
    return out, result, read


def test_the_quick_run_writes_its_figure_and_numbers(quick_run):
    out, result, _ = quick_run
    assert result["figures"] == ["img/agreement.png"]
    assert (out / "img" / "agreement.png").stat().st_size > 5_000
    n = result["numbers"]
    assert n["clause_lengths"] == [4, 8, 16] and n["chance"] == 0.5
    assert set(n["test_accuracy"]) == {"LSTM", "RNN", agreement.MIXED}
    assert all(len(a) == 3 for a in n["test_accuracy"].values())
    assert min(n["test_accuracy"]["LSTM"]) >= 0.9  # the LSTM learns every k
    unit = n["lstm_unit"]
    assert 0 <= unit["unit"] < 16 and len(unit["r_per_step"]) == 16 + 3
    assert unit["r_at_verb"] == unit["r_per_step"][-1]
    assert unit["min_r_over_clause"] == min(unit["r_per_step"][2:-1])
    example = n["example"]
    assert example["sentence"][:6] == "the cat that I saw yesterday".split()
    assert len(example["sentence"]) == 19 and np.shape(example["lstm_C"]) == (2, 19)
    for model, answers in example["answers"].items():
        assert set(answers) <= {"was", "were"}, model
    budget = n["settings"]["steps"]
    for steps in n["steps_trained"]["LSTM"]:
        assert 0 < steps <= budget


def test_the_quick_runs_claims_follow_its_own_numbers(quick_run):
    _, result, _ = quick_run
    n, text = result["numbers"], result["measured"]
    acc, ks, u = n["test_accuracy"], n["clause_lengths"], n["lstm_unit"]
    for j, k in enumerate(ks):
        assert f"k = {k}: LSTM {acc['LSTM'][j]:.0%}, RNN {acc['RNN'][j]:.0%}" in text
    assert f"unit {u['unit']} carries the subject" in text and f"{u['mean_r']:.2f}" in text
    opens = u["i_at_subject"] >= 0.5 and u["i_at_subject"] >= u["i_over_clause"] + 0.2
    assert (": it opens at the subject" in text) == opens
    assert f"is {u['i_at_subject']:.2f} at the subject and {u['i_over_clause']:.2f}" in text
    assert ("stays near 1 across the clause" in text) == (u["f_over_clause"] >= 0.9)
    assert f"f_t = {u['f_over_clause']:.2f} on average" in text
    share = u["share_of_C_written_at_subject"]
    assert f"{share:.0%} is what was written at the subject" in text
    assert ("refreshed at every step" in text) == (share < 0.5)
    holds = acc["LSTM"][-1] >= 0.9 and u["min_r_over_clause"] >= 0.9
    assert ('across the entire subordinate clause" holds here' in text) == holds
    rnn = n["rnn_unit"]
    fades = rnn["r_at_verb"] < 0.5 * rnn["r_at_subject"]
    assert ("it fades within the clause" in text) == fades
    learned = [k for k, a in zip(ks, acc["RNN"], strict=True) if a >= 0.9]
    if learned:
        assert f"it learned k = {', '.join(map(str, learned))}" in text
    mixed = acc[agreement.MIXED][-1]
    assert f"the same RNN scores {mixed:.0%} at k = {ks[-1]}" in text
    assert ("what it lacks" in text) == (acc["RNN"][-1] < 0.9 <= mixed)
    # the key numbers are the text's
    key = result["key"]
    assert key[f"LSTM unit {u['unit']}: share of C_t at the verb written at the subject"] == (
        f"{share:.0%}"
    )
    rows = [v for k, v in key.items() if k.startswith("test accuracy at k=")]
    assert rows == [
        " / ".join(f"{acc[m][j]:.0%}" for m in ("LSTM", "RNN", agreement.MIXED))
        for j in range(len(ks))
    ]
    assert re.search(r"k=16: LSTM \d+%, RNN \d+%", result["headline"])


def test_the_quick_runs_unit_numbers_are_the_seeds_steps_read_off_its_states(quick_run):
    # recounted from the LSTM's states on the test sentences (the run's first reading):
    # "the" at t = 0, the subject at t = 1, the clause at 2 .. T − 2, the verb's place T − 1
    _, result, read = quick_run
    ids, states = read[0]
    u = result["numbers"]["lstm_unit"]
    words = np.array(data.agreement_task(1, 0).vocab.itos)[ids]  # (B, T)
    plural = [pair[1] for pair in data.AGREEMENT_SUBJECTS]
    labels = np.isin(words[:, 1], plural).astype(int)
    assert agreement.carrier(states["C"], labels)[0] == u["unit"]
    f, i, o = (states[name][..., u["unit"]] for name in ("f", "i", "o"))
    write, C = states["write"][..., u["unit"]], states["C"][..., u["unit"]]
    assert u["i_at_subject"] == pytest.approx(i[:, 1].mean())
    assert u["i_over_clause"] == pytest.approx(i[:, 2:-1].mean())
    assert u["f_over_clause"] == pytest.approx(f[:, 2:].mean())  # (Π f_t's steps: the verb's too)
    assert u["o_at_verb"] == pytest.approx(o[:, -1].mean())
    kept = write[:, 1] * np.prod(f[:, 2:], axis=1)  # the subject's write, as it reaches the verb
    share = np.abs(kept).mean() / np.abs(C[:, -1]).mean()
    assert u["share_of_C_written_at_subject"] == pytest.approx(share)
    nouns = [noun for pair in data.AGREEMENT_SUBJECTS for noun in pair]
    own = np.isin(words[:, 2:], [*data.AGREEMENT_PRONOUNS, *nouns])  # the clause's subjects
    assert u["f_at_clause_subjects"] == pytest.approx(f[:, 2:][own].mean())
