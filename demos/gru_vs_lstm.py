"""Demo 5: the GRU against the LSTM — parameters, accuracy, cost.

- Parameter counts of one layer for several sizes: the LSTM has four weight matrices
  (h, h+d) (W_f, W_i, W_C, W_o), the GRU three (W_z, W_r, W_h): the seed's "fewer
  parameters", 3/4 of the LSTM's with or without biases.
- Accuracy on the delay task at each delay, both trained with the same budget, the mean of
  several runs (the runs of the memory demo, reused within a tour).
- Cost: ops recorded per time step in the graph; the forward pass's arithmetic counted from
  its graph (as the complexity demo counts it); and the process's CPU time of one forward +
  backward of the delay task's classifier at fixed sizes (the trained h = 32, and h = 256,
  where the products' arithmetic outweighs each op's fixed cost), the GRU and the LSTM
  taking turns in the same process, several times over: the GRU's time over the LSTM's
  beside it, their median and its spread. (The wall time of whole training runs, which this
  demo once reported, counted every pause of a shared machine: the GRU came out at
  0.65-2.00× the LSTM's from one run to the next.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, nn_class, require
from .complexity import _clock, _flops, time_calls
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


COST_HIDDEN = (32, 256)  # the trained size; a size where the products' arithmetic dominates
MODELS = (("lstm", "LSTM"), ("gru", "GRU"))


class _Pass:
    """One forward + backward of the delay task's classifier (`kind`, hidden size `hidden`,
    as trained otherwise) on one batch at `delay`: the cross-entropy included, the Adam
    update not; the gradients are cleared after each, as a training step clears them."""

    def __init__(self, ctx: DemoContext, cfg: dict[str, Any], kind: str, delay: int, hidden: int):
        data, train_mod = require("tinygrad_seq.data"), require("tinygrad_seq.train")
        self.F = require("tinygrad_seq.functional")
        self.batch = data.delay_task(cfg["batch"], delay, seed=ctx.seed)
        ts.manual_seed(ctx.seed)
        self.model = train_mod.SequenceClassifier(
            len(self.batch.vocab), 4, cfg["embed"], hidden, kind
        )
        self.flops = _flops(ts.graph.trace(self._loss()))  # the forward pass's counted work
        self()  # the warm-up

    def _loss(self) -> ts.Tensor:
        b = self.batch
        return self.F.cross_entropy(self.model(b.ids, b.mask), b.labels)

    def __call__(self) -> None:
        self._loss().backward()
        self.model.zero_grad()

    def time(self, number: int) -> float:
        """Seconds per pass of `number` passes back to back, on complexity's clock (the
        process's CPU time; wall time on the GPU), the garbage collector paused as there."""
        return time_calls(self, number)


def measure_cost(ctx: DemoContext, cfg: dict[str, Any], delays) -> dict[str, Any]:
    """The time of one forward + backward (`_Pass`) of the delay task's classifiers at each
    delay and each of COST_HIDDEN, the GRU's over the LSTM's; and their counted work.

    In each of `rounds` sweeps over every case the GRU and the LSTM run back to back, the
    one that goes first alternating, so that whatever else the machine does in that moment
    falls on both: each round gives one ratio, the GRU's time over the LSTM's beside it. The
    median of those ratios is the measured ratio, and their quartiles its spread. A short
    case times several passes at once (`number`, the same for both models), so that one
    timing lasts about `block` seconds: a single pass of a millisecond or so is at the
    mercy of any interruption. Before a short case's timings each model makes one untimed
    pass: the sweep comes to it from the largest case, whose arrays left the caches cold
    for whichever model went first (at h = 32, D = 5 its ratios then swung from 0.90 to
    1.04 with the order, for a median of 0.95-0.97 once warm); a long case's own first
    moments weigh little."""
    rounds = ctx.pick(tiny=5, quick=11, full=21)
    block = ctx.pick(tiny=0.004, quick=0.01, full=0.02)  # seconds per timing, at least
    cases = [(h, dl) for h in COST_HIDDEN for dl in delays]
    passes = {
        (label, *case): _Pass(ctx, cfg, kind, case[1], case[0])
        for case in cases
        for kind, label in MODELS
    }
    number = {
        case: max(1, math.ceil(block / max(passes[("LSTM", *case)].time(1), 1e-6)))
        for case in cases
    }
    times: dict[tuple[str, int, int], list[float]] = {key: [] for key in passes}
    sweeps = [(r, case) for r in range(rounds) for case in cases]
    for r, case in ctx.progress(sweeps, "gru-vs-lstm: timing"):
        order = MODELS if r % 2 == 0 else MODELS[::-1]
        if number[case] > 1:  # a short case: both warm first (see the docstring)
            for _, label in order:
                passes[(label, *case)]()
        for _, label in order:
            times[(label, *case)].append(passes[(label, *case)].time(number[case]))
    by_h: dict[str, Any] = {}
    for h in COST_HIDDEN:
        least = {label: [1e3 * min(times[(label, h, dl)]) for dl in delays] for _, label in MODELS}
        flops = {label: [passes[(label, h, dl)].flops for dl in delays] for _, label in MODELS}
        ratios = [
            np.asarray(times[("GRU", h, dl)]) / np.asarray(times[("LSTM", h, dl)]) for dl in delays
        ]
        by_h[f"h={h}"] = {
            "least_ms": least,
            "passes_per_timing": [number[(h, dl)] for dl in delays],
            "ratio_median": [float(np.median(r)) for r in ratios],
            "ratio_q1": [float(np.percentile(r, 25)) for r in ratios],
            "ratio_q3": [float(np.percentile(r, 75)) for r in ratios],
            "ratio_min_max": [[float(r.min()), float(r.max())] for r in ratios],
            "forward_flops": flops,
            "work_ratio": [g / m for g, m in zip(flops["GRU"], flops["LSTM"], strict=True)],
        }
    return {
        "clock": _clock()[0],
        "rounds": rounds,
        "batch": cfg["batch"],
        "embed": cfg["embed"],
        "hidden_sizes": list(COST_HIDDEN),
        "delays": list(delays),
        "by_hidden": by_h,
    }


def cost_verdict(cost: dict[str, Any]) -> dict[str, str]:
    """For each hidden size, what the time ratios say of the seed's "less computational
    cost": less where the upper quartile of the GRU's time over the LSTM's is below 1 at
    every delay, more (against the seed) where the lower quartile is above 1 at some delay,
    else a little less where every median is below 1, and otherwise no clear difference."""
    verdicts = {}
    for h in cost["hidden_sizes"]:
        e = cost["by_hidden"][f"h={h}"]
        more = [d for d, q1 in zip(cost["delays"], e["ratio_q1"], strict=True) if q1 > 1]
        if more:
            where = ", ".join(map(str, more))
            verdicts[f"h={h}"] = f"more (at D = {where}), against the seed's claim"
        elif all(q3 < 1 for q3 in e["ratio_q3"]):
            saved = [100 * (1 - m) for m in e["ratio_median"]]
            verdicts[f"h={h}"] = f"less by {_range(saved, '{:.0f}')}%, as the seed says"
        elif all(m < 1 for m in e["ratio_median"]):
            wide = [d for d, q3 in zip(cost["delays"], e["ratio_q3"], strict=True) if q3 >= 1]
            verdicts[f"h={h}"] = (
                "a little less at the median, but not clearly: the middle half of the rounds "
                f"reaches 1 at D = {', '.join(map(str, wide))}"
            )
        else:
            verdicts[f"h={h}"] = "no clear difference"
    return verdicts


def _range(values, fmt: str = "{:.2f}") -> str:
    """ "0.79–0.81" from the least to the greatest of `values`, or one number if they round
    alike."""
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}–{hi}"


def _cost_sentences(cost: dict[str, Any], verdicts: dict[str, str], ops: dict[str, int]) -> str:
    """The measured paragraph's account of the cost."""
    hs = cost["hidden_sizes"]
    e = {h: cost["by_hidden"][f"h={h}"] for h in hs}
    per_size = "; ".join(
        f"at h = {h}{' (the trained size)' if k == 0 else ''} the GRU's time was "
        f"{_range(e[h]['ratio_median'])}× the LSTM's over the delays: {verdicts[f'h={h}']}"
        for k, h in enumerate(hs)
    )
    work = _range([w for h in hs for w in e[h]["work_ratio"]])
    text = (
        f"Cost: the process's {cost['clock']} of one forward + backward (cross-entropy "
        f"included, the Adam update not) of the same classifiers on a batch of {cost['batch']}, "
        f"the GRU and the LSTM taking turns in {cost['rounds']} rounds, and each round's GRU "
        "time divided by the LSTM time beside it; the numbers are the medians of those "
        "ratios (the table below gives the middle half of the rounds and the least times). "
        f"{per_size[0].upper()}{per_size[1:]}. The GRU's forward pass "
        f"counts {work}× the LSTM's arithmetic (from the graph, as the complexity demo "
        f"counts it: 3 gate products to 4), and a GRU step records {ops['GRU']} ops to the "
        f"LSTM's {ops['LSTM']}."
    )
    small, large = (float(np.median(e[h]["ratio_median"])) for h in (hs[0], hs[-1]))
    if large < small:
        text += (
            f" At h = {hs[0]} each op's fixed cost outweighs its arithmetic, so the time "
            "follows the count of ops more than the work; at "
            f"h = {hs[-1]} the products dominate and the time comes nearer the counted work."
        )
    else:
        text += (
            f" In this run the larger h = {hs[-1]} did not bring the time nearer the counted "
            "work: something besides the computation set these times; rerun it."
        )
    return text


def _cost_table(cost: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for h in cost["hidden_sizes"]:
        e = cost["by_hidden"][f"h={h}"]
        for k, dl in enumerate(cost["delays"]):
            rows.append(
                [
                    h,
                    dl,
                    f"{e['least_ms']['LSTM'][k]:.2f}",
                    f"{e['least_ms']['GRU'][k]:.2f}",
                    f"{e['ratio_median'][k]:.2f}",
                    f"{e['ratio_q1'][k]:.2f}–{e['ratio_q3'][k]:.2f}",
                    f"{e['work_ratio'][k]:.3f}",
                ]
            )
    return {
        "caption": f"Forward + backward, batch {cost['batch']}: {cost['clock']} in "
        f"{cost['rounds']} rounds, the GRU and the LSTM taking turns",
        "header": [
            "hidden h",
            "delay D",
            "LSTM least (ms)",
            "GRU least (ms)",
            "GRU ÷ LSTM, median of the rounds",
            "middle half",
            "counted work GRU ÷ LSTM",
        ],
        "rows": rows,
    }


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
    trained_params: dict[str, int] = {}
    runs, reused = 0, 0  # runs the memory demo already made in this tour are reused
    for delay in delays:
        for kind, label in MODELS:
            cached_before = len(ctx.cache)
            recs = train_runs(ctx, kind, delay)
            runs += len(recs)
            reused += len(recs) - (len(ctx.cache) - cached_before)
            acc[label].append(float(np.mean([r["test_accuracy"] for r in recs])))
            trained_params[label] = recs[0]["parameters"]
    cost = measure_cost(ctx, cfg, delays)
    cost_verdicts = cost_verdict(cost)

    from tinygrad_seq.viz import plots

    verdict = accuracy_verdict(acc, delays)
    fig = plots.gru_vs_lstm_figure(
        ctx.figure("gru_vs_lstm.png"), sizes, d, params, delays, acc, cost, ops, verdict
    )
    last = {
        h: cost["by_hidden"][f"h={h}"]["ratio_median"][-1] for h in cost["hidden_sizes"]
    }  # at the longest delay
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
        + f" ({_verdict_sentence(verdict)}). Both gated models start remembering (LSTM "
        "b_f = 1, GRU b_z = −1), "
        + _provenance(reused, runs)
        + " "
        + _cost_sentences(cost, cost_verdicts, ops)
    )
    return {
        "headline": f"GRU/LSTM parameters {ratio[0]:.2f}; accuracy at D={delays[-1]}: "
        f"LSTM {acc['LSTM'][-1]:.0%}, GRU {acc['GRU'][-1]:.0%}; CPU time GRU/LSTM at "
        f"D={delays[-1]}: " + ", ".join(f"{last[h]:.2f} (h={h})" for h in cost["hidden_sizes"]),
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "tables": [_cost_table(cost)],
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
            **{
                f"{cost['clock']} GRU / LSTM at h={h}, D = "
                + ", ".join(map(str, delays))
                + " (median of the rounds)": " / ".join(
                    f"{m:.2f}" for m in cost["by_hidden"][f"h={h}"]["ratio_median"]
                )
                for h in cost["hidden_sizes"]
            },
            "forward work (counted) GRU / LSTM": _range(
                [w for e in cost["by_hidden"].values() for w in e["work_ratio"]], "{:.3f}"
            ),
            "time, GRU against LSTM": "; ".join(f"{k}: {v}" for k, v in cost_verdicts.items()),
        },
        "numbers": {
            "input_size": d,
            "hidden_sizes": sizes,
            "parameters": params,
            "gru_over_lstm": ratio,
            "ops_per_step": ops,
            "delays": delays,
            "test_accuracy": acc,
            "classifier_parameters": trained_params,
            "accuracy_verdict": verdict,
            "cost": cost,
            "cost_verdict": cost_verdicts,
            "runs_reused_from_memory_demo": reused,
            "runs_trained_here": runs - reused,
        },
    }


command = demo_command("gru-vs-lstm")
