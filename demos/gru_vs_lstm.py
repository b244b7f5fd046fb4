"""Demo 4: the GRU against the LSTM — parameters, accuracy, cost.

- Parameter counts of one layer for several sizes: the LSTM has four weight matrices
  (h, h+d) (W_f, W_i, W_C, W_o), the GRU three (W_z, W_r, W_h): the seed's "fewer
  parameters", 3/4 of the LSTM's with or without biases.
- Accuracy on the delay task at each delay, both trained with the same budget, the mean of
  several runs (the runs of the memory demo, reused within a tour).
- Cost: ops recorded per time step in the graph, and measured training time per step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, nn_class
from .memory import settings, train_runs

NO_BIAS = "GRU, no biases (the seed's equations)"


def _ops_per_step(seq_cls, d: int, h: int) -> int:
    """Ops recorded inside one time step's scope ("t=1") of a 3-step unroll."""
    xs = ts.Tensor(np.zeros((1, 3, d), dtype=np.float32))
    hs, _ = seq_cls(d, h)(xs)
    graph = ts.graph.trace(hs.sum())
    return sum(1 for n in graph.in_scope("t=1") if n.op is not None)


def _verdict_sentence(verdict: str) -> str:
    """The verdict in the measured paragraph, against the seed's "often performs
    comparably"."""
    sentence = f"the seed says the GRU often performs comparably; here: {verdict}"
    if verdict.startswith("as accurate or more"):
        sentence += (
            "; where the LSTM fell behind, the memory demo's LSTM started at b_f = 3 shows "
            "how much of the gap its forget gates' start explains"
        )
    return sentence


def _provenance(reused: int, runs: int) -> str:
    """Where the trained runs came from: the memory demo earlier in this tour, or here."""
    if reused == runs:
        return "as in the memory demo, whose runs these are (reused from earlier in this tour)."
    if reused == 0:
        return (
            "as in the memory demo; these runs were trained here, with the memory demo's "
            "settings and seed (no memory demo ran before this one)."
        )
    return (
        f"as in the memory demo; {reused} of these {runs} runs are the memory demo's from "
        "earlier in this tour, the rest were trained here with its settings and seed."
    )


CLOSE = 0.05  # accuracies this close count as "comparable"


def accuracy_verdict(acc: dict[str, list[float]], delays) -> str:
    """What the mean accuracies say of the seed's "often performs comparably", in a few
    words (a title's end); within CLOSE counts as level."""
    gap = np.asarray(acc["GRU"]) - np.asarray(acc["LSTM"])
    within = f"within {CLOSE * 100:.0f} points"
    if np.all(np.abs(gap) <= CLOSE):
        return f"comparable accuracy ({within} at every delay)"
    lstm_ahead = ", ".join(str(d) for d, g in zip(delays, gap, strict=True) if g < -CLOSE)
    gru_ahead = ", ".join(str(d) for d, g in zip(delays, gap, strict=True) if g > CLOSE)
    if not lstm_ahead:
        return f"as accurate or more (ahead at D = {gru_ahead}, {within} elsewhere)"
    if gru_ahead:
        return f"the LSTM ahead at D = {lstm_ahead}, the GRU at D = {gru_ahead}"
    return f"the LSTM more accurate at D = {lstm_ahead}"


def run(ctx: DemoContext) -> dict[str, Any]:
    LSTMCell, GRUCell = nn_class("LSTMCell", "lstm"), nn_class("GRUCell", "gru")
    d = 32
    sizes = [16, 32, 64, 128, 256]
    params = {
        "LSTM": [LSTMCell(d, h).num_parameters() for h in sizes],
        "GRU": [GRUCell(d, h).num_parameters() for h in sizes],
        NO_BIAS: [GRUCell(d, h, bias=False).num_parameters() for h in sizes],
    }
    ratio = [g / m for g, m in zip(params["GRU"], params["LSTM"], strict=True)]
    LSTM, GRU = nn_class("LSTM", "lstm"), nn_class("GRU", "gru")
    ops = {"LSTM": _ops_per_step(LSTM, d, 32), "GRU": _ops_per_step(GRU, d, 32)}

    cfg = settings(ctx)
    delays = cfg["delays"]
    acc: dict[str, list[float]] = {"LSTM": [], "GRU": []}
    ms_per_step: dict[str, list[float]] = {"LSTM": [], "GRU": []}
    trained_params: dict[str, int] = {}
    runs, reused = 0, 0  # runs the memory demo already made in this tour are reused
    for delay in delays:
        for kind, label in (("lstm", "LSTM"), ("gru", "GRU")):
            cached_before = len(ctx.cache)
            recs = train_runs(ctx, kind, delay)
            runs += len(recs)
            reused += len(recs) - (len(ctx.cache) - cached_before)
            acc[label].append(float(np.mean([r["test_accuracy"] for r in recs])))
            ms_per_step[label].append(
                float(np.mean([1e3 * r["seconds"] / len(r["losses"]) for r in recs]))
            )
            trained_params[label] = recs[0]["parameters"]

    from tinygrad_seq.viz import plots

    verdict = accuracy_verdict(acc, delays)
    fig = plots.gru_vs_lstm_figure(
        ctx.figure("gru_vs_lstm.png"), sizes, d, params, delays, acc, ms_per_step, ops, verdict
    )
    time_ratio = float(np.mean(ms_per_step["GRU"]) / np.mean(ms_per_step["LSTM"]))
    measured = (
        f"One layer with input size {d}: the GRU has {ratio[0]:.2f}× the LSTM's parameters at "
        f"every size ({params['GRU'][1]:,} vs {params['LSTM'][1]:,} at hidden 32; "
        f"{params[NO_BIAS][1]:,} without biases as the seed "
        f"writes it). The classifiers trained on the delay task have "
        f"{trained_params['GRU']:,} (GRU) and {trained_params['LSTM']:,} (LSTM) parameters in "
        "all. Test accuracy"
        + (f" (the mean of {cfg['runs']} runs)" if cfg["runs"] > 1 else "")
        + ": "
        + "; ".join(
            f"D = {dl}: LSTM {acc['LSTM'][k]:.0%}, GRU {acc['GRU'][k]:.0%}"
            for k, dl in enumerate(delays)
        )
        + f" ({_verdict_sentence(verdict)})"
        + f". A GRU step records {ops['GRU']} ops against the LSTM's {ops['LSTM']}, and a "
        f"training step took {time_ratio:.2f}× the LSTM's time on average (measured wall time "
        "on this machine). Both gated models start remembering (LSTM b_f = 1, GRU b_z = −1), "
        + _provenance(reused, runs)
    )
    return {
        "headline": f"GRU/LSTM parameters {ratio[0]:.2f}; accuracy at D={delays[-1]}: "
        f"LSTM {acc['LSTM'][-1]:.0%}, GRU {acc['GRU'][-1]:.0%}",
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            "parameters GRU / LSTM (one layer, any size)": f"{ratio[0]:.3f}",
            "parameters at h=32, d=32: LSTM / GRU / GRU without biases": (
                f"{params['LSTM'][1]:,} / {params['GRU'][1]:,} / {params[NO_BIAS][1]:,}"
            ),
            **{
                f"delay task D={dl}: LSTM / GRU": f"{acc['LSTM'][k]:.0%} / {acc['GRU'][k]:.0%}"
                for k, dl in enumerate(delays)
            },
            "accuracy, GRU against LSTM": verdict,
            "ops per time step: LSTM / GRU": f"{ops['LSTM']} / {ops['GRU']}",
            "training time per step GRU / LSTM": f"{time_ratio:.2f}",
        },
        "numbers": {
            "input_size": d,
            "hidden_sizes": sizes,
            "parameters": params,
            "gru_over_lstm": ratio,
            "ops_per_step": ops,
            "delays": delays,
            "test_accuracy": acc,
            "ms_per_training_step": ms_per_step,
            "classifier_parameters": trained_params,
            "time_ratio_gru_over_lstm": time_ratio,
            "accuracy_verdict": verdict,
            "runs_reused_from_memory_demo": reused,
            "runs_trained_here": runs - reused,
        },
    }


command = demo_command("gru-vs-lstm")
