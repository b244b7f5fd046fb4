"""Demo 5: the seq2seq bottleneck — accuracy against input length, without and with attention.

Two encoder-decoder models of the same size (`nn.Seq2Seq`, GRU cells) are trained on the
same reversal pairs ([s3 s1 s7] -> s7 s1 s3, lengths mixed) with the seed's teacher-forced
cross-entropy: the plain one must squeeze every source into its context vector
c = h_T^enc; the other attends over every encoder state (additive attention). Both are then
greedy-decoded on fresh pairs, and scored token by token for each source length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import DemoContext, demo_command, require


def sizes(ctx: DemoContext) -> dict[str, Any]:
    return ctx.pick(
        # tiny: by ~100 steps attention has only begun to pull ahead (its accuracy at length
        # 10 then ranges 56-84 % over seeds and CPUs); by 140 it is settled (85-94 %)
        tiny=dict(
            min_len=2, max_len=10, num_symbols=8, emb=16, hidden=32, steps=140, batch=96, lr=0.01
        ),
        quick=dict(
            min_len=2, max_len=12, num_symbols=8, emb=16, hidden=32, steps=160, batch=96, lr=0.01
        ),
        full=dict(
            min_len=2, max_len=24, num_symbols=10, emb=32, hidden=64, steps=1500, batch=64, lr=0.005
        ),
    )


CELL = "gru"


def train_reversal(ctx: DemoContext, attention: str | None):
    """A Seq2Seq trained on reversal (cached for the tour); a train_seq2seq.PairResult."""
    train_mod = require("tinygrad_seq.train_seq2seq", "run_reversal")
    cfg = sizes(ctx)

    def make():
        label = f"seq2seq{' + ' + attention if attention else ''}"
        with ctx.training_bar(cfg["steps"], label) as callback:
            return train_mod(
                attention, CELL, ctx.size != "full", ctx.seed, progress=callback, **cfg
            )

    return ctx.cached(reversal_key(ctx, attention), make)


def reversal_key(ctx: DemoContext, attention: str | None) -> tuple:
    return ("reversal", attention, CELL, tuple(sorted(sizes(ctx).items())))


def attention_falls_note(attention, plain, lengths) -> str:
    """When attention's own accuracy falls more than 10 points below its best: what the run
    shows of the seed's "doesn't degrade with input length" (nothing when it holds).
    Accuracies by length, at `lengths`."""
    a, p, longest = attention, plain, lengths[-1]
    best = int(np.argmax(a))
    if a[best] - a[-1] <= 0.1:
        return ""
    note = (
        f" Attention's accuracy falls too, from {a[best]:.0%} (its best, at length "
        f"{lengths[best]}) to {a[-1]:.0%} at length "
    )
    if a[-1] > p[-1] + 0.1:
        note += (
            f"{longest}: at this size it eases the bottleneck rather than removing it, "
            f"{(a[-1] - p[-1]) * 100:.0f} points above the plain model there."
        )
    else:
        note += (
            f"{longest}, and at this size no more than 10 points above the plain model's "
            f"{p[-1]:.0%} there: this run does not show attention easing the bottleneck."
        )
    return note + " Small runs like these end differently from seed to seed."


def bottleneck_title(attention, plain) -> str:
    """The figure's title: what this run showed of the seed's claim, by the accuracies at the
    shortest and the longest length, and attention's from its best as `attention_falls_note`
    measures it (a fall or a lead of 10 points or less is none)."""
    a, p = attention, plain
    if p[0] - p[-1] <= 0.1:
        return "Seq2seq: in this run the plain model's accuracy did not fall with input length"
    if a[-1] <= p[-1] + 0.1:
        return "Seq2seq: accuracy falls with input length; in this run attention did not ease it"
    if max(a) - a[-1] <= 0.1:
        return "Seq2seq: accuracy falls with input length; with attention it holds"
    return "Seq2seq: accuracy falls with input length; with attention it falls less"


def run(ctx: DemoContext) -> dict[str, Any]:
    cfg = sizes(ctx)
    plain = train_reversal(ctx, None)
    attn = train_reversal(ctx, "additive")
    lengths = sorted(plain.accuracy_by_length)
    acc = {
        "seq2seq": [plain.accuracy_by_length[n] for n in lengths],
        "seq2seq + attention": [attn.accuracy_by_length[n] for n in lengths],
    }
    losses = {"seq2seq": plain.losses, "seq2seq + attention": attn.losses}

    from tinygrad_seq.viz import plots

    fig = plots.bottleneck_figure(
        ctx.figure("bottleneck.png"),
        lengths,
        acc,
        losses,
        cfg["hidden"],
        1 / cfg["num_symbols"],
        bottleneck_title(acc["seq2seq + attention"], acc["seq2seq"]),
    )
    short, longest = lengths[0], lengths[-1]
    p, a = acc["seq2seq"], acc["seq2seq + attention"]
    drop = p[0] - p[-1]
    measured = (
        f"Reversal of {cfg['min_len']}–{cfg['max_len']} random symbols ({cfg['num_symbols']} "
        f"symbols), GRU encoder-decoder, hidden size {cfg['hidden']}, {cfg['steps']} Adam "
        f"steps each on the same pairs. Token accuracy of greedy decoding on fresh pairs: "
        f"plain seq2seq {p[0]:.0%} at length {short} "
        + (f"falling to {p[-1]:.0%}" if drop > 0 else f"and {p[-1]:.0%}")
        + f" at length {longest}"
        + (f" (a drop of {drop * 100:.0f} points)" if drop > 0 else "")
        + f"; with attention {a[0]:.0%} and "
        f"{a[-1]:.0%}. "
        f"Exact-match rate over all lengths: plain {plain.sequence_accuracy:.0%}, attention "
        f"{attn.sequence_accuracy:.0%}. Attention's weights: {attn.antidiagonal:.0%} of the "
        f"mass on the anti-diagonal (the source token being produced) and "
        f"{attn.after_antidiagonal:.0%} on the position after it, whose left-to-right "
        "encoder state read that token one step before: the alignment is the reversal's."
    )
    measured += attention_falls_note(a, p, lengths)
    return {
        "headline": f"length {longest}: plain {p[-1]:.0%} vs attention {a[-1]:.0%} "
        f"(length {short}: {p[0]:.0%} vs {a[0]:.0%})",
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            f"token accuracy at length {short}: plain / attention": f"{p[0]:.0%} / {a[0]:.0%}",
            f"token accuracy at length {longest}: plain / attention": f"{p[-1]:.0%} / {a[-1]:.0%}",
            "exact-match sequences: plain / attention": (
                f"{plain.sequence_accuracy:.0%} / {attn.sequence_accuracy:.0%}"
            ),
            "attention mass on the anti-diagonal / the position after it": (
                f"{attn.antidiagonal:.0%} / {attn.after_antidiagonal:.0%}"
            ),
        },
        "numbers": {
            "lengths": lengths,
            "token_accuracy": acc,
            "settings": cfg,
            "cell": CELL,
            "sequence_accuracy": {
                "seq2seq": plain.sequence_accuracy,
                "seq2seq + attention": attn.sequence_accuracy,
            },
            "antidiagonal_weight": attn.antidiagonal,
            "after_antidiagonal_weight": attn.after_antidiagonal,
            "final_loss": {k: float(np.mean(v[-10:])) for k, v in losses.items()},
            "seconds": {"seq2seq": plain.seconds, "seq2seq + attention": attn.seconds},
        },
    }


command = demo_command("bottleneck")
