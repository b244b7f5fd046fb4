"""Demo 9: backpropagation through time, drawn.

A vanilla RNN and an LSTM (3 inputs, 4 units, batch 2) are unrolled, a loss is taken on the
last step only, and the backward pass runs with `ts.graph.record_grad_norms()`. Their graphs
are rendered with `ts.viz.render_graph` (one cluster per time step, colours = log10 of the
gradient norm reaching each node), and the norms of ∂L/∂h_t (and ∂L/∂C_t) per step are read
from recorded graphs over the RNN's T steps (the drawn LSTM is shorter, to stay legible, so
its norms come from the same LSTM unrolled T steps) and plotted: the colours fade step by
step in the RNN and hold along the LSTM's cell path.
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
    curves = {
        "RNN ‖∂L/∂h_t‖": _norms_by_step(rnn.loss, "h_t"),
        "LSTM ‖∂L/∂h_t‖": _norms_by_step(lstm_long.loss, "h_t"),
        "LSTM ‖∂L/∂C_t‖": _norms_by_step(lstm_long.loss, "C_t"),
    }
    if not all(curves.values()):
        raise RuntimeError("graphs: no gradient norms recorded on the h_t / C_t nodes")

    from tinygrad_seq.viz import plots

    fig = plots.bptt_norms_figure(ctx.figure("bptt_norms.png"), curves, steps)

    decay = {k: _ratio(c[max(c)], c[min(c)]) for k, c in curves.items()}  # last / first
    first_over_last = {k: _ratio(c[min(c)], c[max(c)]) for k, c in curves.items()}
    c0_over_rnn = _ratio(curves["LSTM ‖∂L/∂C_t‖"][0], curves["RNN ‖∂L/∂h_t‖"][0])
    measured = (
        f"Unrolled graphs rendered with {renderer}: the RNN over {steps} steps (first and last "
        f"{collapse} steps drawn, the middle summarised) and the LSTM over {lstm_steps} steps, "
        f"each node coloured by log10 of the gradient norm that reached it. Read from the "
        f"recorded graphs over T = {steps} steps (the drawn RNN's, and the same LSTM's "
        f"unrolled {steps} steps; loss on the last step only): ‖∂L/∂h_t‖ of the "
        f"RNN falls by {decay['RNN ‖∂L/∂h_t‖']:.1e}× from t = {steps - 1} back to t = 0, the "
        f"LSTM's ‖∂L/∂C_t‖ by {decay['LSTM ‖∂L/∂C_t‖']:.1e}× and its ‖∂L/∂h_t‖ by "
        f"{decay['LSTM ‖∂L/∂h_t‖']:.1e}× (random, untrained weights). At t = 0 the LSTM's "
        f"cell state keeps {c0_over_rnn:.3g}× the gradient the RNN's h_0 gets. Each model is the "
        f"one `tinygrad-seq graph rnn|lstm --steps T --seed {ctx.seed}` draws (batch 2, 3 "
        f"inputs, 4 units), so that command reproduces these numbers and pictures."
    )
    return {
        "headline": f"over T = {steps}: RNN ‖∂L/∂h_0‖/‖∂L/∂h_{steps - 1}‖ = "
        f"{first_over_last['RNN ‖∂L/∂h_t‖']:.1e}, "
        f"LSTM ‖∂L/∂C_0‖/‖∂L/∂C_{steps - 1}‖ = {first_over_last['LSTM ‖∂L/∂C_t‖']:.1e} "
        f"({renderer.split(' (')[0]})",
        "measured": measured,
        "figures": [*files, f"img/{fig.name}"],
        "key": {
            "renderer": renderer,
            f"‖∂L/∂h_0‖ / ‖∂L/∂h_{steps - 1}‖, RNN": f"{first_over_last['RNN ‖∂L/∂h_t‖']:.2e}",
            f"‖∂L/∂C_0‖ / ‖∂L/∂C_{steps - 1}‖, LSTM": f"{first_over_last['LSTM ‖∂L/∂C_t‖']:.2e}",
            f"‖∂L/∂h_0‖ / ‖∂L/∂h_{steps - 1}‖, LSTM": f"{first_over_last['LSTM ‖∂L/∂h_t‖']:.2e}",
        },
        "numbers": {
            "steps": steps,
            "lstm_render_steps": lstm_steps,
            "collapse": collapse,
            "renderer": renderer,
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
