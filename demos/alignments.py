"""Demo 7: what attention looks at — α for additive, multiplicative and scaled dot-product.

Three Seq2Seq models (GRU cells) with the seed's three score functions are trained on the
toy translation pairs (`data.translation_task`: "the red cat sees a dog" -> "le chat rouge
voit un chien": word for word, except that a colour moves after its noun). Because the
data are built word by word, every target word has a known source word, so the learned
alignment can be scored: the share of α_t on the right source word, and how often it is
α_t's largest weight. The α of one sentence is drawn for each model beside the seed's own
example table for "The cat sat on the mat" -> "Le chat s'est assis sur le tapis".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, nn_class, require

# The seed's table: rows = decoder steps (French words), columns = "The cat sat on the mat".
SEED_SOURCE = ["The", "cat", "sat", "on", "the", "mat"]
SEED_TARGET = ["Le", "chat", "s'est", "assis", "sur", "le", "tapis"]
SEED_ALPHA = np.array([
    [0.8, 0.1, 0.0, 0.0, 0.1, 0.0],
    [0.1, 0.8, 0.0, 0.0, 0.1, 0.0],
    [0.0, 0.1, 0.7, 0.0, 0.2, 0.0],
    [0.0, 0.0, 0.8, 0.0, 0.2, 0.0],
    [0.0, 0.0, 0.1, 0.8, 0.0, 0.1],
    [0.1, 0.0, 0.0, 0.0, 0.0, 0.9],
    [0.0, 0.0, 0.0, 0.0, 0.1, 0.9],
])  # fmt: skip
KINDS = (
    ("additive", "additive (Bahdanau)"),
    ("multiplicative", "multiplicative (Luong)"),
    ("dot", "scaled dot-product"),
)
EXAMPLE = "the black cat chases a white rat"


def gold_alignment(src_words: list[str], tgt_words: list[str], dictionary: dict) -> list[int]:
    """For each target word, the source position it translates (k-th "le" <- k-th "the")."""
    seen: dict[str, int] = defaultdict(int)
    positions = []
    for w in tgt_words:
        sources = [i for i, s in enumerate(src_words) if dictionary[s] == w]
        positions.append(sources[min(seen[w], len(sources) - 1)])
        seen[w] += 1
    return positions


def _first_row_note(results: dict, src_words: list[str], tgt_words: list[str]) -> str:
    """Why a dot-product model's first output word may look at the last source word."""
    alpha = results["scaled dot-product"]["example_alpha"]
    if int(np.argmax(alpha[0])) != len(src_words) - 1 or len(src_words) < 2:
        return ""
    return (
        "The scaled dot-product model's first word "
        f'"{tgt_words[0]}" looks at the last '
        f'source word "{src_words[-1]}" ({alpha[0, -1]:.2f}): its query is h_0 of the '
        "decoder, which is the encoder's final state, the very annotation of that last word, "
        "and a vector's dot product with itself is large; the additive and multiplicative "
        "scores have weights to learn past it. "
    )


def _colours_sentence(results: dict, src_words: list[str], tgt_words: list[str]) -> str:
    """Whose weights on the example follow the moved colours: each noun and its colour
    swapped (α_t's largest weight on the word that target word t translates), for the
    example's two nouns."""
    moved = [(1, 2), (2, 1), (5, 6), (6, 5)]  # (target row, source word): "chat noir", ...
    follow = [
        label
        for label, r in results.items()
        if all(int(np.argmax(r["example_alpha"][t])) == i for t, i in moved)
    ]
    shown = (
        f'"{tgt_words[1]} {tgt_words[2]}" looks at "{src_words[2]}" then "{src_words[1]}", '
        f'"{tgt_words[5]} {tgt_words[6]}" at "{src_words[6]}" then "{src_words[5]}"'
    )
    where = f'On "{EXAMPLE}" '
    if len(follow) == len(results):
        return f"{where}every model's weights follow the moved colours ({shown}). "
    if not follow:
        return f"{where}no model's largest weights follow both moved colours ({shown} would). "
    others = [label for label in results if label not in follow]
    return (
        f"{where}the weights of the {' and the '.join(follow)} model follow the moved colours "
        f"({shown}); the {' and the '.join(others)} model's largest weights do not. "
    )


def run(ctx: DemoContext) -> dict[str, Any]:
    data = require("tinygrad_seq.data")
    train_pairs = require("tinygrad_seq.train_seq2seq", "train_pairs")
    Seq2Seq = nn_class("Seq2Seq", "seq2seq")
    cfg = ctx.pick(
        tiny=dict(steps=100, hidden=32, emb=16, batch=64, lr=0.01, pairs=2000, clauses=1),
        quick=dict(steps=150, hidden=32, emb=16, batch=64, lr=0.01, pairs=3000, clauses=1),
        full=dict(steps=800, hidden=64, emb=32, batch=64, lr=0.005, pairs=6000, clauses=2),
    )
    train = data.translation_task(cfg["pairs"], max_clauses=cfg["clauses"], seed=ctx.seed)
    test = data.translation_task(300, max_clauses=cfg["clauses"], seed=ctx.seed + 10_000)
    src_vocab, tgt_vocab = train.src_vocab, train.tgt_vocab
    dictionary = data.TRANSLATION_DICTIONARY

    # the example sentence, and the gold alignment of every test pair
    ex_src_words = EXAMPLE.split()
    ex_tgt_words = [dictionary[w] for w in ex_src_words]
    ex_tgt_words = (
        ex_tgt_words[:1]
        + [ex_tgt_words[2], ex_tgt_words[1]]
        + ex_tgt_words[3:5]
        + [ex_tgt_words[6], ex_tgt_words[5]]
    )  # the colours move after their nouns
    ex_src = src_vocab.encode(ex_src_words)[None]
    ex_tgt = tgt_vocab.encode(ex_tgt_words, bos=True, eos=True)[None]

    results: dict[str, dict[str, Any]] = {}
    for kind, label in KINDS:
        ts.manual_seed(ctx.seed)
        model = Seq2Seq(len(src_vocab), len(tgt_vocab), cfg["emb"], cfg["hidden"], "gru", kind)
        with ctx.training_bar(cfg["steps"], f"alignments: {kind}") as callback:
            losses = train_pairs(
                model,
                train,
                cfg["steps"],
                cfg["batch"],
                cfg["lr"],
                seed=ctx.seed,
                progress=callback,
            )
        model.eval()
        with ts.no_grad():
            model(test.src, test.tgt_in, src_lengths=test.src_lengths)
        alpha = model.last_attention  # (N, T_out, T_in)
        on_gold, argmax_hits, total = 0.0, 0, 0
        for b in range(len(test)):
            n_src, n_tgt = int(test.src_lengths[b]), int(test.tgt_lengths[b]) - 2
            src_words = src_vocab.decode(test.src[b, :n_src]).split()
            tgt_words = tgt_vocab.decode(test.tgt[b, 1 : n_tgt + 1]).split()
            gold = gold_alignment(src_words, tgt_words, dictionary)
            for t, i in enumerate(gold):  # row t of α produces target word t
                on_gold += alpha[b, t, i]
                argmax_hits += int(np.argmax(alpha[b, t, :n_src]) == i)
                total += 1
        with ts.no_grad():
            model(ex_src, ex_tgt[:, :-1])
        example_alpha = model.last_attention[0][: len(ex_tgt_words)]  # (7, 7)
        decoded = model.greedy_decode(
            test.src, test.tgt.shape[1] - 1, data.BOS, data.EOS, src_lengths=test.src_lengths
        )
        exact = np.mean(
            [
                tgt_vocab.decode(decoded[b]) == tgt_vocab.decode(test.tgt[b])
                for b in range(len(test))
            ]
        )
        results[label] = {
            "example_alpha": example_alpha,
            "mass_on_gold": on_gold / total,
            "argmax_on_gold": argmax_hits / total,
            "exact_translations": float(exact),
            "final_loss": float(np.mean(losses[-10:])),
        }

    from tinygrad_seq.viz import plots

    fig = plots.alignments_figure(
        ctx.figure("alignments.png"),
        SEED_ALPHA,
        SEED_SOURCE,
        SEED_TARGET,
        {label: r["example_alpha"] for label, r in results.items()},
        ex_src_words,
        ex_tgt_words,
    )
    seed_rows = SEED_ALPHA.sum(axis=1)
    measured = (
        f"Trained {cfg['steps']} Adam steps each on {cfg['pairs']} toy pairs (up to "
        f"{cfg['clauses']} clause{'s' if cfg['clauses'] > 1 else ''}); "
        f"scored on 300 fresh pairs under teacher forcing. Share of α_t on the source word "
        "that target word t translates (argmax on it; exact greedy translations): "
        + "; ".join(
            f"{label} {r['mass_on_gold']:.0%} ({r['argmax_on_gold']:.0%}; "
            f"{r['exact_translations']:.0%})"
            for label, r in results.items()
        )
        + ". "
        + _colours_sentence(results, ex_src_words, ex_tgt_words)
        + _first_row_note(results, ex_src_words, ex_tgt_words)
        + "The seed's table is drawn as given: its rows sum to "
        + ", ".join(f"{v:.1f}" for v in seed_rows)
        + '; its row for "le" puts 0.9 on "mat" although its comment says it focuses on '
        '"the".'
    )
    best = max(results.items(), key=lambda kv: kv[1]["mass_on_gold"])
    return {
        "headline": "α mass on the right source word: "
        + ", ".join(f"{label.split()[0]} {r['mass_on_gold']:.0%}" for label, r in results.items()),
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            **{
                f"{label}: α on the aligned word / argmax right / exact translations": " / ".join(
                    f"{r[k]:.0%}" for k in ("mass_on_gold", "argmax_on_gold", "exact_translations")
                )
                for label, r in results.items()
            },
            "best score function here": best[0],
        },
        "numbers": {
            "settings": cfg,
            "example": {"source": ex_src_words, "target": ex_tgt_words},
            "results": results,
            "seed_table": {
                "source": SEED_SOURCE,
                "target": SEED_TARGET,
                "alpha": SEED_ALPHA,
                "row_sums": seed_rows,
            },
        },
    }


command = demo_command("alignments")
