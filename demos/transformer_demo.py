"""Demo 8: the Transformer — the same reversal task, positions, permutations, heads.

- A Transformer (`nn.Transformer`: post-LN encoder and decoder layers, sinusoidal positions)
  is trained on the bottleneck demo's reversal pairs, and a copy of it without positional
  encodings (its `positions` replaced by the identity) with the same budget.
- The positional encodings PE(pos, 2i) = sin(pos/10000^(2i/d)), PE(pos, 2i+1) = cos(...),
  drawn as an image.
- Permutation: an encoder layer without positions is fed "cat sat on mat" and "mat on sat
  cat"; its outputs are the same vectors permuted (so any pooled summary is identical), while
  with positions added they differ. Measured as max |difference|.
- The trained model's self-attention heads (encoder, layer 1) and its cross-attention on one
  source, as heatmaps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, nn_class, require


def sizes(ctx: DemoContext) -> dict[str, Any]:
    return ctx.pick(
        tiny=dict(
            min_len=2,
            max_len=10,
            num_symbols=8,
            d_model=32,
            heads=4,
            layers=1,
            steps=100,
            batch=96,
            lr=0.005,
        ),
        quick=dict(
            min_len=2,
            max_len=12,
            num_symbols=8,
            d_model=32,
            heads=4,
            layers=2,
            steps=200,
            batch=96,
            lr=0.005,
        ),
        full=dict(
            min_len=2,
            max_len=24,
            num_symbols=10,
            d_model=64,
            heads=4,
            layers=2,
            steps=1500,
            batch=64,
            lr=0.002,
        ),
    )


class _NoPositions(ts.nn.Module):
    """Stands in for PositionalEncoding: x -> x (the ablation)."""

    def forward(self, x: ts.Tensor) -> ts.Tensor:
        return x


def _train(ctx: DemoContext, cfg: dict[str, Any], positions: bool, train, test):
    tr = require("tinygrad_seq.train_seq2seq")
    Transformer = nn_class("Transformer", "transformer")
    vocab = 4 + cfg["num_symbols"]
    ts.manual_seed(ctx.seed)
    model = Transformer(
        vocab, vocab, cfg["d_model"], cfg["heads"], 2 * cfg["d_model"], cfg["layers"]
    )
    if not positions:
        model.positions = _NoPositions()
    label = "Transformer" + ("" if positions else " without positions")
    with ctx.training_bar(cfg["steps"], label) as callback:
        losses = tr.train_pairs(
            model, train, cfg["steps"], cfg["batch"], cfg["lr"], seed=ctx.seed, progress=callback
        )
    by_length, exact = tr.accuracy_by_length(model, test)
    return model, losses, by_length, exact


def _heads_note(reach: list[float], uniform: float) -> str:
    """What the first encoder layer's heads measured say of "different heads capture
    different relationships": how far each looks, against uniform weights."""
    values = ", ".join(f"{r:.1f}" for r in reach)
    measured = f"the mean |i − j| under each head's weights is {values}"
    if max(reach) - min(reach) > 0.25 * uniform:
        return (
            f"Its first encoder layer's heads look at different distances: {measured} "
            f"(uniform weights: {uniform:.1f})."
        )
    if all(abs(r - uniform) <= 0.25 * uniform for r in reach):
        return (
            "Its first encoder layer's heads show no clearly different roles here: "
            f"{measured}, near uniform weights' {uniform:.1f}."
        )
    side = "nearer" if max(reach) < uniform else "farther"
    return (
        f"Its first encoder layer's heads all look {side} than uniform weights would "
        f"({uniform:.1f}), and at similar distances: {measured}."
    )


def _budgets(cfg: dict[str, Any], seq2seq: dict[str, Any], drawn: bool) -> dict[str, Any]:
    """How each curve of the accuracy panel was trained, for its key ("labels"); whether the
    bottleneck demo's seq2seq curves, when `drawn`, had the Transformer's budget ("same");
    and a sentence for the measured text that says so (empty when none are drawn)."""
    steps, batch = cfg["steps"], cfg["batch"]
    model = f"{cfg['layers']}+{cfg['layers']} layers, d_model {cfg['d_model']}"
    labels = {
        "Transformer": f"{model}, {steps} steps",
        "Transformer without positions": f"the same, {steps} steps",
    }
    if not drawn:
        return {"labels": labels, "same": True, "sentence": ""}
    s_steps, s_batch = seq2seq["steps"], seq2seq["batch"]
    rnn = f"GRU, hidden {seq2seq['hidden']}, {s_steps} steps"
    labels |= {"seq2seq": rnn, "seq2seq + attention": rnn}
    same = (s_steps, s_batch) == (steps, batch)
    if same:
        sentence = (
            f" The figure's dotted curves are the bottleneck demo's seq2seq models (GRU, hidden "
            f"{seq2seq['hidden']}), trained on the same task with the same budget: {steps} "
            f"Adam steps of {batch} pairs."
        )
    else:
        sentence = (
            f" The figure's dotted curves are the bottleneck demo's seq2seq models (GRU, hidden "
            f"{seq2seq['hidden']}), trained on the same task with another budget: {s_steps} "
            f"Adam steps of {s_batch} pairs (learning rate {seq2seq['lr']:g}), against the "
            f"Transformer's {steps} of {batch} (learning rate {cfg['lr']:g}). They show "
            "where those models ended, not a comparison at equal training."
        )
    return {"labels": labels, "same": same, "sentence": sentence}


def _permutation_test(d_model: int, heads: int) -> dict[str, float]:
    """Encoder outputs for "cat sat on mat" vs "mat on sat cat", without and with PE."""
    nn = ts.nn
    vocab = require("tinygrad_seq.data", "Vocab")("cat sat on mat".split())
    a = vocab.encode("cat sat on mat")[None]
    b = vocab.encode("mat on sat cat")[None]
    perm = [list(a[0]).index(t) for t in b[0]]  # b = a[perm]
    embed = nn.Embedding(len(vocab), d_model)
    layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model)
    pe = nn.PositionalEncoding(d_model)
    with ts.no_grad():
        out = {}
        for with_pe in (False, True):
            xa, xb = embed(a), embed(b)
            if with_pe:
                xa, xb = pe(xa), pe(xb)
            ya, yb = layer(xa).numpy()[0], layer(xb).numpy()[0]  # (4, d)
            out[with_pe] = {
                "permuted_outputs": float(np.abs(ya[perm] - yb).max()),
                "mean_pooled": float(np.abs(ya.mean(0) - yb.mean(0)).max()),
                "scale": float(np.abs(ya).mean()),
                # what rounding alone leaves: the float type's ε times the largest output
                "rounding": float(np.finfo(ya.dtype).eps * np.abs(ya).max()),
            }
    return {"without_positions": out[False], "with_positions": out[True]}


def run(ctx: DemoContext) -> dict[str, Any]:
    data = require("tinygrad_seq.data")
    sinusoidal = nn_class("sinusoidal_positions", "transformer")
    cfg = sizes(ctx)
    rng = np.random.default_rng(ctx.seed)
    lo, hi, k = cfg["min_len"], cfg["max_len"], cfg["num_symbols"]
    train = data.reverse_task(max(20 * cfg["batch"], 2000), lo, hi, k, seed=rng)
    per_length = 200 if ctx.size == "full" else 40  # as train_seq2seq.run_reversal draws them
    test = data.reverse_task(per_length * (hi - lo + 1), lo, hi, k, seed=rng)

    model, losses, acc_pe, exact_pe = _train(ctx, cfg, True, train, test)
    _, losses_no, acc_no, exact_no = _train(ctx, cfg, False, train, test)
    lengths = sorted(acc_pe)
    acc = {
        "Transformer": [acc_pe[n] for n in lengths],
        "Transformer without positions": [acc_no[n] for n in lengths],
    }
    from .bottleneck import reversal_key
    from .bottleneck import sizes as bottleneck_sizes

    seq2seq_cfg = bottleneck_sizes(ctx)
    same_task = all(seq2seq_cfg[k] == cfg[k] for k in ("min_len", "max_len", "num_symbols"))
    for attention, label in ((None, "seq2seq"), ("additive", "seq2seq + attention")):
        rec = ctx.peek(reversal_key(ctx, attention))  # the bottleneck demo's run, this tour
        if rec is not None and same_task:
            acc[label] = [rec.accuracy_by_length.get(n, np.nan) for n in lengths]
    budgets = _budgets(cfg, seq2seq_cfg, any(label.startswith("seq2seq") for label in acc))

    perm = _permutation_test(cfg["d_model"], cfg["heads"])
    PE = sinusoidal(64, cfg["d_model"])  # the formula's picture: 64 positions, the model's d

    # attention of the trained model on one long test source
    row = int(np.argmax(test.src_lengths))
    n = int(test.src_lengths[row])
    src, tgt_in = test.src[row : row + 1, :n], test.tgt_in[row : row + 1, : n + 1]
    model.eval()
    with ts.no_grad():
        model(src, tgt_in)
    att = model.last_attention
    enc_heads = att["encoder"][0][0]  # (heads, n, n), the first encoder layer
    cross = att["cross"][-1][0].mean(axis=0)  # (n+1, n), last layer, mean over heads
    t = np.arange(n)
    cross_anti = float(cross[t, n - 1 - t].mean())
    # how far each head looks: Σ α_ij |i − j| averaged over queries i, beside uniform weights'
    distance = np.abs(t[:, None] - t[None, :])  # (n, n)
    head_reach = [float((a * distance).sum(axis=-1).mean()) for a in enc_heads]
    uniform_reach = float(distance.mean())

    from tinygrad_seq.viz import plots

    fig = plots.transformer_figure(
        ctx.figure("transformer.png"),
        PE,
        lengths,
        acc,
        perm,
        enc_heads,
        cross,
        [f"s{i - 4}" for i in src[0]],
        1 / k,
        budgets=budgets["labels"],
        same_budget=budgets["same"],
    )
    wo, wi = perm["without_positions"], perm["with_positions"]
    measured = (
        f"Reversal of {lo}–{hi} symbols, d_model {cfg['d_model']}, {cfg['heads']} heads, "
        f"{cfg['layers']} encoder + {cfg['layers']} decoder layers, {cfg['steps']} Adam steps. "
        f"Its token accuracy by greedy decoding is {acc['Transformer'][0]:.0%} at length "
        f"{lengths[0]} and {acc['Transformer'][-1]:.0%} at length {lengths[-1]} (exact "
        f"sequences {exact_pe:.0%}); the same model without positional encodings scores "
        f"{acc['Transformer without positions'][0]:.0%} and "
        f"{acc['Transformer without positions'][-1]:.0%} (exact {exact_no:.0%}): its encoder "
        f'cannot tell the source order. An encoder layer without positions maps "mat on sat '
        f'cat" to exactly the permuted outputs of "cat sat on mat" (max difference '
        f"{wo['permuted_outputs']:.1e}; mean-pooled {wo['mean_pooled']:.1e}: rounding, which "
        f"leaves up to ε × max |output| = {wo['rounding']:.1e}, the figure's dashed line); "
        f"with positions "
        f"they differ by {wi['permuted_outputs']:.2f} (pooled {wi['mean_pooled']:.2f}; outputs "
        f"are ~{wi['scale']:.2f} in size). The trained model's cross-attention puts "
        f"{cross_anti:.0%} of its weight on the anti-diagonal of a length-{n} source. "
        + _heads_note(head_reach, uniform_reach)
        + budgets["sentence"]
    )
    return {
        "headline": f"accuracy at length {lengths[-1]}: {acc['Transformer'][-1]:.0%} with "
        f"positions, {acc['Transformer without positions'][-1]:.0%} without; "
        f"permutation diff {wo['permuted_outputs']:.0e} vs "
        f"{wi['permuted_outputs']:.2f}",
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            f"token accuracy at length {lengths[-1]}: with / without positions": " / ".join(
                f"{acc[m][-1]:.0%}" for m in ("Transformer", "Transformer without positions")
            ),
            "exact sequences: with / without positions": f"{exact_pe:.0%} / {exact_no:.0%}",
            "max |enc(permuted) − permuted enc|: without / with PE": (
                f"{wo['permuted_outputs']:.1e} / {wi['permuted_outputs']:.2f}"
            ),
            "cross-attention on the anti-diagonal": f"{cross_anti:.0%}",
        },
        "numbers": {
            "settings": cfg,
            "lengths": lengths,
            "token_accuracy": acc,
            "exact": {"with_positions": exact_pe, "without_positions": exact_no},
            "final_loss": {
                "with_positions": float(np.mean(losses[-10:])),
                "without_positions": float(np.mean(losses_no[-10:])),
            },
            "permutation": perm,
            "training_budgets": budgets["labels"],
            "cross_attention_antidiagonal": cross_anti,
            "encoder_head_mean_distance": head_reach,
            "encoder_head_weights": ts.backend.to_numpy(enc_heads).tolist(),  # (heads, n, n)
            "uniform_mean_distance": uniform_reach,
            "example_source_length": n,
        },
    }


command = demo_command("transformer")
