"""Demo 6: the seq2seq bottleneck — accuracy against input length, without and with attention.

Two encoder-decoder models of the same size (`nn.Seq2Seq`, GRU cells) are trained on the
same reversal pairs ([s3 s1 s7] -> s7 s1 s3, lengths mixed) with the seed's teacher-forced
cross-entropy: the plain one must squeeze every source into its context vector
c = h_T^enc; the other attends over every encoder state (additive attention). Both are then
greedy-decoded on fresh pairs, and scored token by token for each source length.

The seed also says attention "adds computational overhead": two fresh models of the same
sizes take training steps in turns on the same batches, and the demo reports the CPU time of
a step (median of the steps) and the forward pass's counted work and recorded ops, with
attention over without, all measured in the same run on this machine.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, require
from .complexity import _clock, _flops, time_calls


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


MODELS = {"seq2seq": None, "seq2seq + attention": "additive"}


def measure_overhead(ctx: DemoContext, cfg: dict[str, Any]) -> dict[str, Any]:
    """What attention adds to a training step, measured in this run on this machine.

    Two fresh Seq2Seq models of the demo's sizes (the plain one and the attentive one; the
    weights, which do not change the cost, are the seed's), each with its own Adam, take
    `rounds` training steps (`train_seq2seq.train_step`: teacher-forced loss, backward,
    clipping, update) in turns, both on the same batch of reversal pairs in each round, the
    one that goes first alternating, so that whatever else the machine does in that moment
    falls on both. Each step is timed on the complexity demo's clock (the process's CPU time;
    wall time on the GPU), the garbage collector paused; the median of each model's steps
    counts, and the time ratio is the attentive median over the plain one. Work and ops are
    those of the forward pass (loss included) on the first batch, counted from its graph as
    the complexity demo counts them. Each model first takes one untimed step (the warm-up)."""
    s2s = require("tinygrad_seq.train_seq2seq")
    data_mod = require("tinygrad_seq.data")
    Seq2Seq = require("tinygrad_seq.nn", "Seq2Seq")
    Adam = require("tinygrad_seq.optim", "Adam")
    rounds = ctx.pick(tiny=9, quick=21, full=41)
    data = data_mod.reverse_task(
        (rounds + 1) * cfg["batch"],
        cfg["min_len"],
        cfg["max_len"],
        cfg["num_symbols"],
        seed=ctx.seed,
    )
    stream = s2s.batches(data, cfg["batch"], ctx.seed)
    first = next(stream)
    vocab = len(data.src_vocab)
    models, opts, flops, ops = {}, {}, {}, {}
    for label, attention in MODELS.items():
        ts.manual_seed(ctx.seed)
        model = Seq2Seq(vocab, vocab, cfg["emb"], cfg["hidden"], CELL, attention)
        model.train()
        graph = ts.graph.trace(s2s.teacher_forced_loss(model, first))
        flops[label] = _flops(graph)
        ops[label] = sum(1 for node in graph.nodes if not node.is_leaf)
        del graph
        models[label], opts[label] = model, Adam(model.parameters(), lr=cfg["lr"])
        s2s.train_step(model, first, opts[label])  # the warm-up
    steps: dict[str, list[float]] = {label: [] for label in MODELS}
    labels = list(MODELS)
    for r in ctx.progress(range(rounds), "bottleneck: step time", total=rounds):
        batch = next(stream)
        for label in labels if r % 2 == 0 else labels[::-1]:
            step = partial(s2s.train_step, models[label], batch, opts[label])
            steps[label].append(time_calls(step))
    median = {label: float(np.median(t)) for label, t in steps.items()}
    plain, attn = labels
    return {
        "clock": _clock()[0],
        "rounds": rounds,
        "step_s": steps,
        "median_step_s": median,
        "time_ratio": median[attn] / median[plain],
        "forward_flops": flops,
        "work_ratio": flops[attn] / flops[plain],
        "recorded_ops": ops,
        "ops_ratio": ops[attn] / ops[plain],
        "first_batch_lengths": {"source": first.src.shape[1], "target": first.tgt.shape[1]},
        "what": "step_s: the process's CPU time (wall time on the GPU) of each training step "
        "(teacher-forced loss, backward, clipping, Adam), the two models taking turns on "
        "the same batches; time_ratio: the attentive model's median over the plain one's; "
        "forward_flops and recorded_ops: the forward pass with its loss on the first batch, "
        "counted from its graph",
    }


def overhead_sentence(o: dict[str, Any]) -> str:
    """The measured paragraph's account of the seed's "attention adds computational
    overhead", from `measure_overhead`'s numbers."""
    (plain, attn), t = list(MODELS), o["median_step_s"]
    text = (
        f' The seed\'s "attention adds computational overhead", measured here: a training '
        f"step took {1e3 * t[attn]:.1f} ms with attention against {1e3 * t[plain]:.1f} ms "
        f"without, {o['time_ratio']:.2f}× the time (median of {o['rounds']} steps each, the "
        f"two models taking turns on the same batches; the process's {o['clock']} on this "
        "machine: another machine or load gives other times)."
    )
    if o["time_ratio"] <= 1:
        text += " In this run attention's step was no slower, against the seed's claim."
    return text + (
        f" Its forward pass records {o['recorded_ops'][attn]} ops to the plain model's "
        f"{o['recorded_ops'][plain]} ({o['ops_ratio']:.2f}×) and counts "
        f"{o['forward_flops'][attn] / 1e6:.2f} MFLOP to {o['forward_flops'][plain] / 1e6:.2f} "
        f"({o['work_ratio']:.2f}×): these counts are the same on every machine."
    )


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
    overhead = measure_overhead(ctx, cfg)

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
    measured += attention_falls_note(a, p, lengths) + overhead_sentence(overhead)
    t = overhead["median_step_s"]
    return {
        "headline": f"length {longest}: plain {p[-1]:.0%} vs attention {a[-1]:.0%} "
        f"(length {short}: {p[0]:.0%} vs {a[0]:.0%}); a step with attention "
        f"{overhead['time_ratio']:.2f}× the time",
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
            f"training step, median {overhead['clock']}: plain / attention (ms)": (
                f"{1e3 * t['seq2seq']:.1f} / {1e3 * t['seq2seq + attention']:.1f} "
                f"({overhead['time_ratio']:.2f}×, this machine)"
            ),
            "forward pass, counted: plain / attention (MFLOP; ops)": (
                f"{overhead['forward_flops']['seq2seq'] / 1e6:.2f} / "
                f"{overhead['forward_flops']['seq2seq + attention'] / 1e6:.2f} "
                f"({overhead['work_ratio']:.2f}×); {overhead['recorded_ops']['seq2seq']} / "
                f"{overhead['recorded_ops']['seq2seq + attention']} ({overhead['ops_ratio']:.2f}×)"
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
            "overhead": overhead,
        },
    }


command = demo_command("bottleneck")
