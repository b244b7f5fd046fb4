"""Demo 4: "The cat that I saw yesterday was black" — the LSTM's gates along one sentence.

The seed walks an LSTM through that sentence: "cat" is remembered, the relative clause
"that I saw yesterday" brings a subject of its own ("I") but the main subject is kept, and
at "was" the LSTM remembers "cat" is the subject. The task (`data.agreement_task`): "the",
a subject, singular or plural ("cat" / "cats"), a relative clause of k words with subjects
of its own ("I", "the dogs"), and "?" where the verb goes; the answer is "was" or "were"
(chance 50%). An LSTM and a vanilla RNN (Embedding -> cell -> Linear on h_T,
`train.SequenceClassifier`) are trained with Adam at each clause length k, one model per k,
and tested on fresh sentences; the same RNN is also trained once on every length from 0 to
the longest k at once.

Then the LSTM trained at the longest k is read along its test sentences with the seed's
equations: the unit that carries the subject is the one whose cell state C_t tells singular
from plural best (the mean |r|, Pearson's correlation of C_t with the subject's number over
the test sentences, over the steps from the subject to the verb); its gates f_t, i_t, o_t,
and what each step writes into it, i_t ⊙ C̃_t. Unrolling C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t, the
cell at the verb is the sum of every step's write times the forget gates since: the part
written at the subject is its write times Π f_t over the clause. The RNN's unit is chosen
the same way, from h_t.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, require
from .memory import STOP_LOSS, STOP_WINDOW, has_learned

LEARNED = 0.9  # test accuracy from which a model counts as having learned a clause length
MIXED = "RNN, every k at once"  # the RNN trained on every clause length from 0 to the longest
SEED_CLAUSE = ("that", "I", "saw", "yesterday")  # the seed's clause, k = 4


def settings(ctx: DemoContext) -> dict[str, Any]:
    """The sizes of each run."""
    return {
        "clause_lengths": ctx.pick(tiny=[4, 8], quick=[4, 8, 16], full=[4, 8, 16, 24, 32]),
        "steps": ctx.pick(tiny=150, quick=300, full=600),
        "hidden": 16,
        "embed": 8,
        "batch": 64,
        "lr": 1e-2,
        "train_size": ctx.pick(tiny=1000, quick=2000, full=4000),
        "test_size": ctx.pick(tiny=300, quick=500, full=1000),
        # quick and tiny stop a run once it has learned (the memory demo's rule)
        "stop_when_learned": ctx.pick(tiny=True, quick=True, full=False),
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def lstm_states(model, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Every step's f_t, i_t, C_tilde, C_t, o_t, h_t and write i_t ⊙ C̃_t, each (B, T, h),
    of a SequenceClassifier's LSTM on `ids` (B, T) with no padding, from the seed's six
    equations on the trained weights."""
    cell = model.rnn.cell
    with ts.no_grad():
        xs = model.embed(ids).numpy()  # (B, T, e)
    W = {name: getattr(cell, name).numpy() for name in ("W_f", "W_i", "W_C", "W_o")}
    b = {name: getattr(cell, name).numpy() for name in ("b_f", "b_i", "b_C", "b_o")}
    B, T, _ = xs.shape
    h_t = np.zeros((B, cell.hidden_size), dtype=xs.dtype)  # h_0 = 0
    C_t = np.zeros_like(h_t)  # C_0 = 0
    steps: dict[str, list[np.ndarray]] = {k: [] for k in ("f", "i", "C_tilde", "C", "o", "h")}
    for t in range(T):
        hx = np.concatenate([h_t, xs[:, t]], axis=-1)  # [h_{t−1}, x_t]  (B, h+e)
        f_t = _sigmoid(hx @ W["W_f"].T + b["b_f"])  # f_t = σ(W_f·[h_{t−1}, x_t] + b_f)
        i_t = _sigmoid(hx @ W["W_i"].T + b["b_i"])  # i_t = σ(W_i·[h_{t−1}, x_t] + b_i)
        C_tilde = np.tanh(hx @ W["W_C"].T + b["b_C"])  # C̃_t = tanh(W_C·[h_{t−1}, x_t] + b_C)
        C_t = f_t * C_t + i_t * C_tilde  # C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t
        o_t = _sigmoid(hx @ W["W_o"].T + b["b_o"])  # o_t = σ(W_o·[h_{t−1}, x_t] + b_o)
        h_t = o_t * np.tanh(C_t)  # h_t = o_t ⊙ tanh(C_t)
        for name, value in zip(steps, (f_t, i_t, C_tilde, C_t, o_t, h_t), strict=True):
            steps[name].append(value)
    states = {name: np.stack(values, axis=1) for name, values in steps.items()}
    states["write"] = states["i"] * states["C_tilde"]  # what step t adds to C_t
    return states


def rnn_states(model, ids: np.ndarray) -> np.ndarray:
    """h_t (B, T, h) of a SequenceClassifier's vanilla RNN on `ids` (B, T)."""
    with ts.no_grad():
        hs, _ = model.rnn(model.embed(ids))
    return hs.numpy()


def correlation(states: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Pearson's r (T, h) of each unit's value at each step, states (B, T, h), with the
    labels (B,) (0 singular, 1 plural); 0 where a unit does not vary (the first step)."""
    y = (labels - labels.mean()) / labels.std()
    centred = states - states.mean(axis=0)
    spread = states.std(axis=0)
    r = np.zeros(spread.shape)
    varies = spread > 1e-12
    r[varies] = (centred * y[:, None, None]).mean(axis=0)[varies] / spread[varies]
    return r


def carrier(states: np.ndarray, labels: np.ndarray) -> tuple[int, np.ndarray, float]:
    """The unit that carries the subject's number: the highest mean |r| over the steps from
    the subject (t = 1) to the verb (the last). Returns (unit, its |r| at every step (T,),
    that mean)."""
    r = np.abs(correlation(states, labels))  # (T, h)
    score = r[1:].mean(axis=0)  # (h,)
    unit = int(np.argmax(score))
    return unit, r[:, unit], float(score[unit])


def example_sentence(k: int, seed: int) -> list[str]:
    """The seed's sentence with its clause cut or continued to k words: "the cat that I saw
    yesterday and ... ?" ("?" where "was" goes)."""
    data = require("tinygrad_seq.data")
    clause = list(SEED_CLAUSE[:k])
    if k > len(SEED_CLAUSE):
        clause += data.agreement_clause(k - len(SEED_CLAUSE), seed, begin="and")
    return ["the", "cat", *clause, "?"]


def _train(ctx: DemoContext, kind: str, lengths: list[int], label: str) -> dict[str, Any]:
    """Train `kind` on clauses of `lengths` (one drawn per sentence); its model, losses, time."""
    data, train_mod = require("tinygrad_seq.data"), require("tinygrad_seq.train")
    cfg = settings(ctx)
    train_set = data.agreement_task(cfg["train_size"], lengths, seed=ctx.seed)
    # a held-out check while training, of the longest clauses (train_classifier's "test")
    check = data.agreement_task(200, max(lengths), seed=ctx.seed + 20_000)
    ts.manual_seed(ctx.seed)
    model = train_mod.SequenceClassifier(len(train_set.vocab), 2, cfg["embed"], cfg["hidden"], kind)
    with ctx.training_bar(cfg["steps"], label) as callback:
        r = train_mod.train_classifier(
            model,
            train_set,
            check,
            cfg["steps"],
            cfg["batch"],
            cfg["lr"],
            1.0,
            ctx.seed,
            callback,
            stop=has_learned if cfg["stop_when_learned"] else None,
        )
    return {"model": model, "losses": r.losses, "seconds": r.seconds}


def seed_steps(n: dict[str, Any]) -> list[str]:
    """What the LSTM's carrying unit did, set beside the seed's walk-through, one sentence
    per claim, each said as the numbers `n` (run's "lstm_unit" numbers) show it."""
    said = []
    i_sub, i_clause = n["i_at_subject"], n["i_over_clause"]
    i_opens = i_sub >= 0.5 and i_sub >= i_clause + 0.2
    said.append(
        f"Its input gate i_t is {i_sub:.2f} at the subject and {i_clause:.2f} on average over "
        "the clause"
        + (
            ': it opens at the subject, the seed\'s "cat: remember the main subject".'
            if i_opens
            else ": it does not open at the subject more than at the clause's words, where "
            'the seed has it decide "how much to remember about this new entity" at "cat".'
        )
    )
    f_clause, prod_f = n["f_over_clause"], n["prod_f_over_clause"]
    by_number = n["f_over_clause_by_number"]
    k = n["clause_length"]
    apart = (
        f" ({by_number['singular']:.2f} after a singular subject, {by_number['plural']:.2f} "
        "after a plural one)"
        if abs(by_number["singular"] - by_number["plural"]) >= 0.1
        else ""
    )
    if f_clause >= 0.9:
        f_text = (
            f"Its forget gate stays near 1 across the clause (f_t = {f_clause:.2f} on "
            f"average{apart}; Π f_t from the subject to the verb = {prod_f:.2g})"
        )
    else:
        f_text = (
            f"Its forget gate is not near 1 across the clause: f_t = {f_clause:.2f} on "
            f"average{apart}, and Π f_t over the {k + 1} steps from the subject to the verb is "
            f"{prod_f:.2g}"
        )
    f_at = n["f_at_clause_subjects"]
    if f_at >= f_clause - 0.05:
        f_text += (
            f'; at the clause\'s own subjects ("I", "the dogs") it is {f_at:.2f}, no lower: '
            '"new subject in clause, but don\'t forget main subject".'
        )
    else:
        f_text += (
            f'; at the clause\'s own subjects ("I", "the dogs") it drops to {f_at:.2f}, the '
            "seed's \"when encountering a new subject, forget information about the previous "
            'subject", here for a subject the verb does not agree with.'
        )
    said.append(f_text)
    share, write_r = n["share_of_C_written_at_subject"], n["mean_write_r_over_clause"]
    if share >= 0.5:
        said.append(
            f"Of its C_t at the verb, {share:.0%} is what was written at the subject and kept "
            "by the forget gates since (its write times Π f_t): the cell holds the subject."
        )
    else:
        said.append(
            f"Of its C_t at the verb, only {share:.0%} is what was written at the subject and "
            "kept by the forget gates since (its write times Π f_t). The rest was written "
            "during the clause: at every word the write i_t ⊙ C̃_t tells the subject's number "
            f"again (mean |r| {write_r:.2f}), since C̃_t reads h_{{t−1}}, which carries it. The "
            "cell is refreshed at every step, where the seed tells of a subject written once "
            "and held; this is what the training found at this size."
        )
    r_verb, o_verb, o_clause = n["r_at_verb"], n["o_at_verb"], n["o_over_clause"]
    read = (
        f"At the verb its C_t tells singular from plural (|r| = {r_verb:.2f})"
        if r_verb >= 0.9
        else f"At the verb its C_t tells singular from plural only weakly (|r| = {r_verb:.2f})"
    )
    read += f", and its output gate is o_t = {o_verb:.2f} there ({o_clause:.2f} over the clause)"
    read += (
        ': it opens where the answer is read, "what information is relevant for current '
        'prediction".'
        if o_verb >= o_clause + 0.1
        else "."
    )
    said.append(read)
    return said


def rnn_sentence(acc: dict[str, list[float]], ks: list[int], rnn_unit: dict[str, float]) -> str:
    """The vanilla RNN against the seed's "a few time steps (typically 5-10)", and its unit
    at the longest k: faded or held, said as its numbers show it."""
    learned = [k for k, a in zip(ks, acc["RNN"], strict=True) if a >= LEARNED]
    missed = [k for k in ks if k not in learned]
    K = ks[-1]
    text = (
        'The seed gives the vanilla RNN "a few time steps (typically 5-10)": trained at one '
        "clause length each, it learned "
        + (f"k = {', '.join(map(str, learned))}" if learned else "none of them")
        + (f" and not k = {', '.join(map(str, missed))}" if missed else ", every one")
        + "."
    )
    r_sub, r_verb = rnn_unit["r_at_subject"], rnn_unit["r_at_verb"]
    if r_verb < 0.5 * r_sub:
        text += (
            f" Its best unit at k = {K} (chosen as the LSTM's, from h_t) tells the number "
            f"with |r| = {r_sub:.2f} at the subject and {r_verb:.2f} at the verb: it fades "
            "within the clause."
        )
    else:
        text += (
            f" Its best unit at k = {K} (chosen as the LSTM's, from h_t) keeps the number: "
            f"|r| = {r_sub:.2f} at the subject, {r_verb:.2f} at the verb."
        )
    mixed = acc[MIXED][-1]
    if acc["RNN"][-1] < LEARNED <= mixed:
        text += (
            f" Trained on every clause length from 0 to {K} at once, the same RNN scores "
            f"{mixed:.0%} at k = {K}: what it lacks at k = {K} alone is a gradient to learn "
            "from (the vanishing demo), not a way to hold the number once learned, which "
            "the short clauses teach it."
        )
    else:
        text += (
            f" Trained on every clause length from 0 to {K} at once, the same RNN scores "
            f"{mixed:.0%} at k = {K}."
        )
    return text


def run(ctx: DemoContext) -> dict[str, Any]:
    data = require("tinygrad_seq.data")
    train_mod = require("tinygrad_seq.train")
    cfg = settings(ctx)
    ks = cfg["clause_lengths"]
    K = ks[-1]
    tests = {k: data.agreement_task(cfg["test_size"], k, seed=ctx.seed + 10_000 + k) for k in ks}
    acc: dict[str, list[float]] = {"LSTM": [], "RNN": [], MIXED: []}
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, label in (("lstm", "LSTM"), ("rnn", "RNN")):
        for k in ks:
            runs[(label, k)] = _train(ctx, kind, [k], f"agreement: {label} k={k}")
            acc[label].append(train_mod.accuracy(runs[(label, k)]["model"], tests[k]))
    mixed = _train(ctx, "rnn", list(range(K + 1)), f"agreement: RNN k=0..{K}")
    acc[MIXED] = [train_mod.accuracy(mixed["model"], tests[k]) for k in ks]

    # The LSTM trained at the longest k, read along its test sentences
    test = tests[K]
    labels = test.labels
    lstm = runs[("LSTM", K)]["model"]
    states = lstm_states(lstm, test.ids)  # each (B, T, h); T = K + 3, verb at T − 1
    u, r_C, score = carrier(states["C"], labels)
    T = K + 3
    clause = slice(2, T - 1)  # the clause's words
    after = slice(2, T)  # every step after the subject, the verb's too: the ones Π f_t spans
    f_u, i_u, o_u = states["f"][..., u], states["i"][..., u], states["o"][..., u]
    write_u, C_u = states["write"][..., u], states["C"][..., u]
    words = np.array(test.vocab.itos)[test.ids]  # (B, T)
    nouns = [noun for pair in data.AGREEMENT_SUBJECTS for noun in pair]
    subject_words = np.isin(words, [*data.AGREEMENT_PRONOUNS, *nouns])
    subject_words[:, :2] = False  # the clause's own subjects, not the sentence's
    kept = write_u[:, 1] * np.prod(f_u[:, after], axis=1)  # the subject's write, at the verb
    write_r = np.abs(correlation(states["write"][..., u : u + 1], labels))[:, 0]  # (T,)
    lstm_unit = {
        "unit": u,
        "clause_length": K,
        "mean_r": score,
        "r_per_step": r_C,
        "r_at_verb": float(r_C[-1]),
        "min_r_over_clause": float(r_C[clause].min()),
        "i_at_subject": float(i_u[:, 1].mean()),
        "i_over_clause": float(i_u[:, clause].mean()),
        "f_over_clause": float(f_u[:, after].mean()),
        "f_over_clause_by_number": {
            "singular": float(f_u[labels == 0][:, after].mean()),
            "plural": float(f_u[labels == 1][:, after].mean()),
        },
        "prod_f_over_clause": float(np.prod(f_u[:, after], axis=1).mean()),
        "f_at_clause_subjects": float(f_u[subject_words].mean()),
        "o_at_verb": float(o_u[:, -1].mean()),
        "o_over_clause": float(o_u[:, clause].mean()),
        "mean_write_r_over_clause": float(write_r[clause].mean()),
        "share_of_C_written_at_subject": float(np.abs(kept).mean() / np.abs(C_u[:, -1]).mean()),
        "C_at_verb": {
            "singular": float(C_u[labels == 0, -1].mean()),
            "plural": float(C_u[labels == 1, -1].mean()),
        },
    }
    rnn_h = rnn_states(runs[("RNN", K)]["model"], test.ids)
    v, r_h, rnn_score = carrier(rnn_h, labels)
    rnn_unit = {
        "unit": v,
        "mean_r": rnn_score,
        "r_per_step": r_h,
        "r_at_subject": float(r_h[1]),
        "r_at_verb": float(r_h[-1]),
    }

    # One sentence, the seed's, singular and plural: the same words but "cat" / "cats"
    sentence = example_sentence(K, ctx.seed)
    plural = [sentence[0], "cats", *sentence[2:]]
    ids = np.stack([test.vocab.encode(sentence), test.vocab.encode(plural)])  # (2, T)
    one = lstm_states(lstm, ids)
    rnn_one = rnn_states(runs[("RNN", K)]["model"], ids)
    verbs = data.AGREEMENT_VERBS
    with ts.no_grad():
        answers = {
            label: [verbs[c] for c in runs[(label, K)]["model"](ids).numpy().argmax(axis=-1)]
            for label in ("LSTM", "RNN")
        }

    from tinygrad_seq.viz import plots

    fig = plots.agreement_figure(
        ctx.figure("agreement.png"),
        sentence,
        {name: one[name][:, :, u] for name in ("C", "f", "i", "o", "write")},
        u,
        rnn_one[:, :, v],
        v,
        answers,
        ks,
        acc,
        lstm_unit,
        rnn_unit,
    )

    said = seed_steps(lstm_unit)
    lstm_learned = acc["LSTM"][-1] >= LEARNED
    holds = lstm_learned and lstm_unit["min_r_over_clause"] >= 0.9
    budget = (
        f"up to {cfg['steps']} Adam steps (a run stops once it has learned: its training loss "
        f"below {STOP_LOSS:g} on average over {STOP_WINDOW} steps)"
        if cfg["stop_when_learned"]
        else f"{cfg['steps']} Adam steps"
    )
    measured = (
        'Each sentence is "the", a subject, singular or plural, a relative clause of k words '
        'with subjects of its own ("I", "the dogs"), and "?" where the verb goes; the '
        'model must answer "was" or "were" (chance 50%). One LSTM and one vanilla RNN per k, '
        f"hidden size {cfg['hidden']}, {budget}, one run each; test accuracy on fresh "
        "sentences: "
        + "; ".join(
            f"k = {k}: LSTM {acc['LSTM'][j]:.0%}, RNN {acc['RNN'][j]:.0%}" for j, k in enumerate(ks)
        )
        + f". In the LSTM trained at k = {K}, unit {u} carries the subject: of the "
        f"{cfg['hidden']} units its C_t tells singular from plural best, a mean |r| of "
        f"{score:.2f} (Pearson's r of C_t with the subject's number over the {len(labels)} "
        "test sentences, averaged over the steps from the subject to the verb). "
        + " ".join(said)
        + ' The seed\'s "The LSTM can maintain "cat" in its cell state across the entire '
        'subordinate clause" '
        + (
            f"holds here: |r| stays at {lstm_unit['min_r_over_clause']:.2f} or more at every "
            "word of the clause"
            if holds
            else (
                f"does not hold here: the LSTM scored {acc['LSTM'][-1]:.0%} at k = {K}"
                if not lstm_learned
                else f"holds only in part: |r| falls to {lstm_unit['min_r_over_clause']:.2f} "
                "within the clause"
            )
        )
        + ", though the way it does so is not the seed's, as said. "
        + rnn_sentence(acc, ks, rnn_unit)
    )
    if holds and lstm_unit["share_of_C_written_at_subject"] >= 0.5:
        measured = measured.replace(", though the way it does so is not the seed's, as said", "")
    return {
        "headline": (
            f"k={K}: LSTM {acc['LSTM'][-1]:.0%}, RNN {acc['RNN'][-1]:.0%} (trained on every k: "
            f"{acc[MIXED][-1]:.0%}); LSTM unit {u}: i_t {lstm_unit['i_at_subject']:.2f} at the "
            f"subject, f_t {lstm_unit['f_over_clause']:.2f} over the clause, "
            f"{lstm_unit['share_of_C_written_at_subject']:.0%} of C at the verb written at the "
            "subject"
        ),
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            **{
                f"test accuracy at k={k}: LSTM / RNN / RNN trained on every k": " / ".join(
                    f"{acc[label][j]:.0%}" for label in ("LSTM", "RNN", MIXED)
                )
                for j, k in enumerate(ks)
            },
            f"LSTM unit {u} (k={K}): i_t at the subject / over the clause": (
                f"{lstm_unit['i_at_subject']:.2f} / {lstm_unit['i_over_clause']:.2f}"
            ),
            f"LSTM unit {u}: f_t over the clause, Π f_t": (
                f"{lstm_unit['f_over_clause']:.2f}, {lstm_unit['prod_f_over_clause']:.2g}"
            ),
            f"LSTM unit {u}: share of C_t at the verb written at the subject": (
                f"{lstm_unit['share_of_C_written_at_subject']:.0%}"
            ),
            f"RNN unit {v} (k={K}): |r| at the subject / at the verb": (
                f"{rnn_unit['r_at_subject']:.2f} / {rnn_unit['r_at_verb']:.2f}"
            ),
        },
        "numbers": {
            "clause_lengths": ks,
            "chance": 0.5,
            "learned_from": LEARNED,
            "settings": cfg,
            "test_accuracy": acc,
            "lstm_unit": lstm_unit,
            "rnn_unit": rnn_unit,
            "example": {
                "sentence": sentence,
                "answers": answers,  # for "cat" and "cats"
                "lstm_C": one["C"][:, :, u],
                "lstm_f": one["f"][0, :, u],
                "lstm_i": one["i"][0, :, u],
                "lstm_o": one["o"][0, :, u],
                "rnn_h": rnn_one[:, :, v],
            },
            "steps_trained": {
                label: [len(runs[(label, k)]["losses"]) for k in ks] for label in ("LSTM", "RNN")
            }
            | {MIXED: len(mixed["losses"])},
            "seconds": {
                label: [runs[(label, k)]["seconds"] for k in ks] for label in ("LSTM", "RNN")
            }
            | {MIXED: mixed["seconds"]},
        },
    }


command = demo_command("agreement")
