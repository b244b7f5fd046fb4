"""Demo 10: backpropagation through time, drawn.

A vanilla RNN and an LSTM (3 inputs, 4 units, batch 2) are unrolled, a loss is taken on the
last step only, and the backward pass runs with `ts.graph.record_grad_norms()`. Their graphs
are rendered with `ts.viz.render_graph` (one cluster per time step, colours = log10 of the
gradient norm reaching each node), and the norms of ∂L/∂h_t (and ∂L/∂C_t) are read from
recorded graphs over the RNN's T steps (the drawn LSTM is shorter, to stay legible, so its
norms come from the same LSTM unrolled T steps) and plotted: the colours fade step by step in
the RNN and hold along the LSTM's cell path.

The states are counted as the seed counts them: h_0 = 0 is the initial state (C_0 = 0 the
LSTM's), drawn as the `h0` (`C0`) box the graph command gives a gradient to, and h_t the
state after t inputs, which the pictures draw in their step t (numbered from 1, as the
seed numbers them; the models' scope t=k, counted from 0, is drawn as t=k+1), the last
one h_T. The ratios compare the initial state with the last
output: ‖∂L/∂h_0‖ / ‖∂L/∂h_T‖, all the way back through the T steps.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, require


def _norms_by_step(loss: ts.Tensor, name: str) -> dict[int, float]:
    """‖∂L/∂x‖ of every node called `name`, by its time step (scope ".../t=k")."""
    out: dict[int, float] = {}
    for node in ts.graph.trace(loss).nodes:
        m = re.search(r"t=(\d+)$", node.scope)
        if node.name == name and m and node.grad_norm is not None:
            out[int(m.group(1))] = node.grad_norm
    return dict(sorted(out.items()))


def _norms_by_state(loss: ts.Tensor, name: str, initial: str) -> dict[int, float]:
    """‖∂L/∂x_t‖ counted as the seed counts the states: t = 0 is the initial state (the
    leaf called `initial`, "h0" or "C0"), t = k + 1 the node called `name` that step t=k
    outputs (h_{k+1}), up to h_T."""
    starts = [
        n.grad_norm
        for n in ts.graph.trace(loss).nodes
        if n.name == initial and n.grad_norm is not None
    ]
    if len(starts) != 1:
        raise RuntimeError(
            f"graphs: {len(starts)} gradient norms recorded on the initial state {initial}, not one"
        )
    return {0: starts[0], **{k + 1: v for k, v in _norms_by_step(loss, name).items()}}


def _ratio(a: float, b: float) -> float:
    """a / b, where b = 0 reads as the limit: inf for a > 0, NaN for 0 / 0 (no ratio). A
    gradient that vanished to exactly 0 at t = 0 fell by an infinite factor."""
    if b == 0:
        return math.inf if a > 0 else math.nan
    return a / b


def run(ctx: DemoContext) -> dict[str, Any]:
    graph_cmd = require("tinygrad_seq.demos.graph_cmd", "build")
    viz = require("tinygrad_seq.viz")
    render_graph = require("tinygrad_seq.viz", "render_graph")
    steps = ctx.pick(tiny=8, quick=20, full=30)
    lstm_steps = ctx.pick(tiny=4, quick=4, full=6)  # an LSTM step is wide: keep it legible
    collapse = 3

    def build(model: str, T: int):
        """The model `tinygrad-seq graph MODEL --steps T --seed SEED` draws: each one seeded
        afresh, so its weights and inputs (and every number below) are the command's, not
        dependent on which models were built before it."""
        ts.manual_seed(ctx.seed)
        return graph_cmd(model, T)

    rnn = build("rnn", steps)
    lstm = build("lstm", lstm_steps)
    lstm_long = build("lstm", steps)
    renderer = viz.renderer_for("svg")
    files = []
    for built, name, k in ((rnn, "bptt_rnn", collapse), (lstm, "bptt_lstm", None)):
        render_graph(
            built.loss,
            ctx.figure(f"{name}.svg"),
            collapse=k,
            detail="symbols",
            module=built.model,
            title=built.title,
        )
        files.append(f"img/{name}.svg")
    # t as the seed counts: 0 the initial state (the pictures' h0, C0), T the last output
    curves = {
        "RNN ‖∂L/∂h_t‖": _norms_by_state(rnn.loss, "h_t", "h0"),
        "LSTM ‖∂L/∂h_t‖": _norms_by_state(lstm_long.loss, "h_t", "h0"),
        "LSTM ‖∂L/∂C_t‖": _norms_by_state(lstm_long.loss, "C_t", "C0"),
    }
    if not all(len(c) == steps + 1 for c in curves.values()):
        raise RuntimeError("graphs: no gradient norms recorded on the h_t / C_t nodes")

    from tinygrad_seq.viz import plots

    fig = plots.bptt_norms_figure(ctx.figure("bptt_norms.png"), curves, steps)

    T = steps
    decay = {k: _ratio(c[T], c[0]) for k, c in curves.items()}  # last output / initial state
    first_over_last = {k: _ratio(c[0], c[T]) for k, c in curves.items()}
    c0_over_rnn = _ratio(curves["LSTM ‖∂L/∂C_t‖"][0], curves["RNN ‖∂L/∂h_t‖"][0])
    measured = (
        f"Unrolled graphs rendered with {renderer}: the RNN over {steps} steps (first and last "
        f"{collapse} steps drawn, the middle summarised) and the LSTM over {lstm_steps} steps, "
        f"each node coloured by log10 of the gradient norm that reached it. The states are "
        f"counted as in the seed: h_0 = 0 is the initial state (drawn as the h0 box, and the "
        f"LSTM's C_0 = 0 as C0) and h_t is the state after t inputs, drawn in the step "
        f"titled t = 1 … T: the last, t = {T}, outputs h_{T} = h_T, which the loss "
        f"reads. Read from the recorded graphs over T = {T} steps (the drawn RNN's, and the "
        f"same LSTM's unrolled {T} steps): from the last output h_{T} back to the initial "
        f"state h_0, ‖∂L/∂h_t‖ of the RNN falls by {decay['RNN ‖∂L/∂h_t‖']:.1e}×, the LSTM's "
        f"‖∂L/∂C_t‖ by {decay['LSTM ‖∂L/∂C_t‖']:.1e}× and its ‖∂L/∂h_t‖ by "
        f"{decay['LSTM ‖∂L/∂h_t‖']:.1e}× (random, untrained weights). The LSTM's initial cell "
        f"state C_0 gets {c0_over_rnn:.3g}× the gradient the RNN's initial state h_0 gets. Each "
        f"model is the one `tinygrad-seq graph rnn|lstm --steps T --seed {ctx.seed}` draws "
        f"(batch 2, 3 inputs, 4 units), so that command reproduces these numbers and pictures."
    )
    return {
        "headline": f"over T = {T}: ‖∂L/∂h_0‖/‖∂L/∂h_{T}‖ (initial state / last output) = "
        f"{first_over_last['RNN ‖∂L/∂h_t‖']:.1e} in the RNN, "
        f"‖∂L/∂C_0‖/‖∂L/∂C_{T}‖ = {first_over_last['LSTM ‖∂L/∂C_t‖']:.1e} in the LSTM "
        f"({renderer.split(' (')[0]})",
        "measured": measured,
        "figures": [*files, f"img/{fig.name}"],
        "key": {
            "renderer": renderer,
            f"‖∂L/∂h_0‖ / ‖∂L/∂h_{T}‖, RNN (initial state / last output)": (
                f"{first_over_last['RNN ‖∂L/∂h_t‖']:.2e}"
            ),
            f"‖∂L/∂C_0‖ / ‖∂L/∂C_{T}‖, LSTM (initial / last cell state)": (
                f"{first_over_last['LSTM ‖∂L/∂C_t‖']:.2e}"
            ),
            f"‖∂L/∂h_0‖ / ‖∂L/∂h_{T}‖, LSTM (initial state / last output)": (
                f"{first_over_last['LSTM ‖∂L/∂h_t‖']:.2e}"
            ),
        },
        "numbers": {
            "steps": steps,
            "lstm_render_steps": lstm_steps,
            "collapse": collapse,
            "renderer": renderer,
            # by t as the seed and the pictures count: "0" the initial state h0 (C0), "k" what
            # the step drawn as t=k (scope t=k−1) outputs
            "grad_norms": {k: {str(t): v for t, v in c.items()} for k, c in curves.items()},
            "first_over_last": first_over_last,
            "lstm_C0_over_rnn_h0": c0_over_rnn,
            "graph_nodes": {
                "rnn": len(ts.graph.trace(rnn.loss).nodes),
                "lstm": len(ts.graph.trace(lstm.loss).nodes),
            },
            "mean_log10_decay_per_step": {
                k: float(np.log10(v) / (len(curves[k]) - 1)) for k, v in decay.items()
            },
        },
    }


command = demo_command("bptt-graphs")
