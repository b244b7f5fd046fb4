"""ts.viz.render_graph, the details a reader goes by: the key's labels and text colours, the
heading, number formats, edge widths, the loss's border, where weights and folded ops are
drawn, the order of the steps, and the PNG painter's dashes and text alignment.

Like test_graph_render.py, each test reads the DOT source (or the painted figure) back and
checks what a reader of the picture would see.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from tinygrad_seq.viz import graph_render
from tinygrad_seq.viz.graph_render import NAN_GRAD, VIRIDIS, ZERO_GRAD, graph_to_dot

import tinygrad_seq as ts
from tests.test_graph import unrolled_rnn
from tests.viz.test_graph_render import (
    backward_with_norms,
    painted_without_dot,
    palette_position,
    parse_dot,
)


def _key(dot) -> list[tuple[str, str, str]]:
    """(label, fillcolor, fontcolor) of the colour key's swatches on the log scale."""
    (key,) = [c for c in dot.clusters.values() if c.label == "‖g‖"]
    return [
        (dot.nodes[n]["label"], dot.nodes[n]["fillcolor"], dot.nodes[n]["fontcolor"])
        for n in key.nodes
        if n[6:].isdigit()
    ]


def _heading(source: str) -> str:
    (label,) = re.findall(r'^\tlabel="(.*)"$', source, flags=re.M)
    return label


# ------------------------------------------------------------------ the key and the heading
def test_the_key_pairs_larger_numbers_with_lighter_colours(rng):
    loss, _, _ = unrolled_rnn(rng, T=6)
    swatches = _key(parse_dot(graph_to_dot(backward_with_norms(loss))))
    assert len(swatches) >= 3
    by_colour = sorted(swatches, key=lambda s: palette_position(s[1]))
    values = [float(label) for label, _, _ in by_colour]
    assert values == sorted(values) and values[0] < values[-1] / 10
    # between the picture's smallest and largest norm (2.7e-2 and 2.4), round values evenly
    # apart on the log scale: 1e-1, 3e-1, 1
    inner = values[1:-1]
    assert len(inner) >= 3 and all(float(f"{v:.0e}") == v for v in inner), values
    steps = [math.log10(b / a) for a, b in zip(inner, inner[1:], strict=False)]
    assert max(steps) - min(steps) < 0.1, values


def test_key_text_is_black_on_the_yellow_end_and_white_on_the_dark_end(rng):
    loss, _, _ = unrolled_rnn(rng, T=4)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss)))
    swatches = sorted(_key(dot), key=lambda s: palette_position(s[1]))
    assert swatches[-1][2] == "#000000"  # lightest fill: black text
    assert swatches[0][2] == "#ffffff"  # darkest fill: white text
    assert all(font == graph_render._text_colour(fill) for _, fill, font in swatches)
    # and the nodes drawn in the scale's end colours read the same way
    for attrs in dot.nodes.values():
        if attrs.get("fillcolor") == VIRIDIS[-1]:
            assert attrs["fontcolor"] == "#000000"
        elif attrs.get("fillcolor") == VIRIDIS[0]:
            assert attrs["fontcolor"] == "#ffffff"


def _key_of_scale(scale) -> list[tuple[str, str, str]]:
    """The swatches `_legend` draws for `scale`, bottom first."""
    import graphviz

    dot = graphviz.Digraph()
    graph_render._legend(dot, scale, anchor=None, has_nan=False)
    return _key(parse_dot(dot.source))


@pytest.mark.parametrize(
    "smallest, below_it",
    [
        (0.0098, "1e-2"),  # rounds to the lowest tick's label
        (0.00097, "1e-3"),  # the same under a 1-2-5 key (5e-3, 2e-3, 1e-3)
        (0.00093, "1e-3"),  # "9e-4": another label, but nearly the lowest tick's colour
    ],
)
def test_the_keys_bottom_swatch_is_not_the_lowest_tick_again(smallest, below_it):
    """With a few norms under the scale, the key's bottom swatch reads "≤ ..." in the
    bottom colour. Where the scale's bottom lies just under a tick, the key read
    "1e-2" above "≤ 1e-2" (or "≤ 9e-4") in all but the same colour: one swatch twice. The
    lowest tick now stands for the bottom, in the bottom's colour."""
    hi = 0.0 if smallest > 0.005 else math.log10(0.0051)
    swatches = _key_of_scale(graph_render._Scale(math.log10(smallest), hi, below=True))
    labels = [label for label, _, _ in swatches]
    assert labels[0] == f"≤ {below_it}"
    assert below_it not in labels  # not also drawn as a plain tick
    assert len({fill for _, fill, _ in swatches}) == len(swatches)
    assert swatches[0][1] == VIRIDIS[0]  # the colour the norms under the scale get


@pytest.mark.parametrize(
    "smallest, largest, ticks",
    [(0.00951, 0.0201, ["1e-2", "2e-2"]), (9.51, 20.1, ["10", "20"]), (95.1, 201, ["100", "200"])],
)
def test_a_bottom_written_as_the_lowest_tick_is_that_tick_even_a_colour_apart(
    smallest, largest, ticks
):
    """A scale of about a third of a decade: the bottom lies well over half a colour step
    under the lowest tick, but rounds to it ("1e-2" for 0.00951): the key draws it once,
    "≤ 1e-2", not "1e-2" above "≤ 1e-2". Values of 10 to 999 are written out, as the
    ticks are ("10", "100"; not "1e1", "1e2")."""
    swatches = _key_of_scale(
        graph_render._Scale(math.log10(smallest), math.log10(largest), below=True)
    )
    assert [label for label, _, _ in swatches] == [f"≤ {ticks[0]}", *ticks[1:]]
    assert swatches[0][1] == VIRIDIS[0]


def test_a_bottom_nearly_a_colour_step_under_the_lowest_tick_keeps_its_own_swatch():
    """0.0008 under a key of 1e-3, 2e-3, 5e-3: written "8e-4", and almost a whole step of
    the palette darker than 1e-3's colour, so it is a swatch of its own. (The top is the
    largest norm, 5.1e-3, in the place of 5e-3: nearly its colour.)"""
    swatches = _key_of_scale(
        graph_render._Scale(math.log10(0.0008), math.log10(0.0051), below=True)
    )
    assert [label for label, _, _ in swatches] == ["≤ 8e-4", "1e-3", "2e-3", "5.1e-3"]
    assert swatches[0][1] == VIRIDIS[0] != swatches[1][1]


def test_a_key_of_one_value_over_a_few_norms_below_it_has_one_swatch():
    """Norms of one value but for a few far below: every norm is drawn in the top colour,
    and the key drew it twice ("1.2e-2", "≤ 1e-2"), both yellow."""
    one = math.log10(0.0123)
    swatches = _key_of_scale(graph_render._Scale(one, one, below=True))
    assert [(label, fill) for label, fill, _ in swatches] == [("≤ 1.2e-2", VIRIDIS[-1])]


def test_a_bottom_well_under_the_lowest_tick_keeps_its_own_swatch():
    """The usual case (the Transformer's b_K): the bottom is a swatch of its own, below
    the decades."""
    swatches = _key_of_scale(graph_render._Scale(math.log10(0.0021), 0.0, below=True))
    assert [label for label, _, _ in swatches] == ["≤ 2e-3", "1e-2", "1e-1", "1"]
    assert swatches[0][1] == VIRIDIS[0]


def _built(model: str, steps: int):
    """The model `tinygrad-seq graph MODEL --steps STEPS` draws at its default seed 0."""
    from tinygrad_seq.demos.graph_cmd import build

    ts.manual_seed(0)
    built = build(model, steps)
    collapse = 3 if steps > 12 else None  # as the command does past 12 steps
    source = graph_to_dot(built.loss, collapse=collapse, module=built.model, detail="symbols")
    return parse_dot(source)


@pytest.mark.parametrize(
    "model, steps, darkest",
    [
        ("mlp", 1, "h(1)"),  # norms 0.12 to 1: the key read 1, 5e-1, 2e-1
        ("rnn", 20, "h0"),  # the initial state, 1.5e-6: the key stopped at 1e-5
        ("lstm", 4, None),  # the darkest is a branch into o_t at t=0: the key stopped at 1e-2
    ],
)
def test_the_keys_ends_are_the_pictures_darkest_and_lightest_colours(model, steps, darkest):
    """The key's round values lie inside the norms' range and stopped short of its ends:
    `graph mlp` drew h(1) at 1.2e-1 in the darkest violet beside a key whose lowest
    swatch was 2e-1, in blue; `graph rnn --steps 20` drew h0 (1.5e-6) darker than its
    lowest swatch (1e-5). The key's bottom swatch is now the picture's darkest colour,
    labelled with its value, and its top swatch the picture's lightest."""
    dot = _built(model, steps)
    swatches = _key(dot)  # bottom first
    drawn = {a["fillcolor"] for n, a in dot.nodes.items() if "‖g‖" in a.get("label", "")}
    drawn |= {a.get("color") for _, _, a in dot.edges}
    assert VIRIDIS[0] in drawn and VIRIDIS[-1] in drawn  # the scale's ends, in the picture
    assert swatches[0][1] == VIRIDIS[0] and swatches[-1][1] == VIRIDIS[-1]
    assert len({fill for _, fill, _ in swatches}) == len(swatches)  # no colour twice
    values = [float(label) for label, _, _ in swatches]
    assert values == sorted(values) and values[0] < values[1]
    if darkest is not None:
        (node,) = dot.named(darkest)
        assert dot.nodes[node]["fillcolor"] == VIRIDIS[0]
        printed = float(dot.nodes[node]["label"].rsplit(" ", 1)[1])  # "‖g‖ 1.2e-01"
        assert swatches[0][0] == re.sub(r"e([+-])0", r"e\1", f"{printed:.1e}")  # 1.2e-1


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (0.12, 1.0, ["1.2e-1", "2e-1", "5e-1", "1"]),  # the MLP's: a bottom of its own
        (1.0, 2 * 3**0.5, ["1", "2", "3", "3.5"]),  # a top of its own
        (1.0, 35.2, ["1", "3", "10", "35"]),  # 10 to 999 written out, as the round values
        (1.5e-6, 0.22, ["1.5e-6", "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "2.2e-1"]),  # both
        (1.5e-6, 1.1, ["1.5e-6", "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1.1"]),  # 1.1: not 1
        (9.3e-7, 1.0, ["9.3e-7", "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1"]),  # not 1e-6
        (0.001, 1.0, ["1e-3", "1e-2", "1e-1", "1"]),  # ends on round values: no more
        (1.0000000001e-3, 1.02, ["1e-3", "1e-2", "1e-1", "1"]),  # rounded: the same
    ],
)
def test_the_key_runs_from_the_smallest_norm_to_the_largest(lo, hi, expected):
    """Ends that no round value stands for are swatches of their own, labelled with two
    digits; an end nearly the colour of the round value next to it (1.1 against 1, 9.3e-7
    against 1e-6, on a scale of six decades) takes that swatch's place, so that no colour
    shows twice."""
    swatches = _key_of_scale(graph_render._Scale(math.log10(lo), math.log10(hi)))
    assert [label for label, _, _ in swatches] == expected
    assert swatches[0][1] == VIRIDIS[0] and swatches[-1][1] == VIRIDIS[-1]
    assert len({fill for _, fill, _ in swatches}) == len(swatches)


def test_the_heading_says_dark_is_the_smallest_here_and_yellow_the_largest(rng):
    """It said "dark: vanishing": over the MLP's norms, 0.12 to 1, nothing vanishes; the
    colours are relative to the picture's own range."""
    loss, _, _ = unrolled_rnn(rng, T=3)
    heading = _heading(graph_to_dot(backward_with_norms(loss)))
    assert "dark: smallest in this picture, yellow: largest" in heading
    assert "vanishing" not in heading


# ------------------------------------------------------------------ numbers and widths
def test_a_vanishing_node_gradient_is_shown_in_scientific_notation():
    x = ts.Tensor(np.ones(4), requires_grad=True, name="x")
    loss = backward_with_norms((x * 1.5e-5).sum())  # ‖∂L/∂x‖ = 1.5e-5 · √4 = 3e-5
    dot = parse_dot(graph_to_dot(loss))
    (node,) = dot.named("x")
    lines = dot.nodes[node]["label"].split("\\n")
    assert lines[-1] == "‖g‖ 3.0e-05"  # not "‖g‖ 0.0"


def test_the_edge_carrying_the_largest_norm_is_the_thickest(rng):
    loss, _, _ = unrolled_rnn(rng, T=6)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss)))
    coloured = [
        (palette_position(a["color"]), float(a["penwidth"]))
        for _, _, a in dot.visible_edges()
        if "penwidth" in a and a["color"] not in (ZERO_GRAD, NAN_GRAD, graph_render.LANE)
    ]
    assert len(coloured) > 10
    widest = max(coloured, key=lambda e: e[1])
    largest = max(coloured, key=lambda e: e[0])
    assert widest[0] == largest[0]  # the thickest edge is the one with the lightest colour
    thinnest = min(coloured, key=lambda e: e[1])
    assert thinnest[0] == min(p for p, _ in coloured) and thinnest[1] < widest[1]


def test_the_loss_has_a_double_border_and_nothing_else_does(rng):
    loss, _, _ = unrolled_rnn(rng, T=2)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss)))
    (root,) = dot.named("L")
    assert dot.nodes[root].get("peripheries") == "2"
    assert [n for n, a in dot.nodes.items() if "peripheries" in a] == [root]


def test_a_negative_constant_is_written_with_a_minus_sign():
    x = ts.Tensor(np.ones(2), requires_grad=True, name="x")
    dot = parse_dot(graph_to_dot(backward_with_norms((x * -2.0).sum())))
    constants = [dot.title(n) for n, a in dot.nodes.items() if "constant" in a["label"]]
    assert constants == ["−2"]  # U+2212, not a hyphen


def test_the_collapsed_steps_summary_gives_its_norm_range_smallest_first(rng):
    loss, _, _ = unrolled_rnn(rng, T=10)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss), collapse=2))
    (summary,) = [n for n in dot.nodes if dot.title(n).startswith("…")]
    (line,) = [s for s in dot.nodes[summary]["label"].split("\\n") if s.startswith("‖g‖")]
    low, high = (float(v) for v in re.fullmatch(r"‖g‖ (\S+) … (\S+)", line).groups())
    assert low < high


# ------------------------------------------------------------------ titles and placement
def test_the_transpose_of_a_named_tensor_that_is_no_weight_is_titled_with_a_t():
    x = ts.Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    K = x * 2.0
    K.name = "K_t"
    loss = backward_with_norms((K.T * 3.0).sum())
    dot = parse_dot(graph_to_dot(loss))
    assert len(dot.named("K_t")) == 1 and len(dot.named("K_tᵀ")) == 1
    (node,) = dot.named("K_tᵀ")
    assert dot.nodes[node]["label"].split("\\n")[1] == "3×2"  # the title says the op


def test_a_weight_used_in_a_single_step_is_drawn_outside_that_step(rng):
    loss, _, _ = unrolled_rnn(rng, T=1)
    dot = parse_dot(graph_to_dot(backward_with_norms(loss)))
    assert list(dot.step_clusters()) == ["t=1"]  # the scope t=0, as the seed counts it
    for name in ("W_xh", "W_hh", "b_h"):
        (w,) = dot.named(name)
        assert dot.cluster_path(w) == ["rnn"], name


def test_symbols_never_fold_an_op_into_a_node_of_another_step():
    """Each step ends in an unnamed tanh whose only user is in the next step: folded into
    that user, step t's work would be drawn in step t+1 and the first step left empty."""
    W = ts.Tensor(np.full((2, 2), 0.3), requires_grad=True, name="W")
    h = ts.Tensor(np.ones((1, 2)), name="h_0")
    T = 3
    with ts.scope("rnn"):
        for t in range(T):
            with ts.scope(f"t={t}"):
                h = (h @ W).tanh()
    loss = backward_with_norms((h * h).sum())
    dot = parse_dot(graph_to_dot(loss, detail="symbols"))
    steps = dot.step_clusters()
    assert sorted(steps) == [f"t={t}" for t in range(1, T + 1)]  # drawn counted from 1
    for label, cluster in steps.items():
        assert [dot.title(n) for n in cluster.nodes] == ["tanh"], label
        (node,) = cluster.nodes
        assert "\\nand 1 more op" in dot.nodes[node]["label"]  # its matmul, folded in


def test_twelve_step_clusters_appear_in_time_order(rng):
    loss, _, _ = unrolled_rnn(rng, T=12)
    source = graph_to_dot(backward_with_norms(loss), wrap=0)  # (lines: last to first)
    labels = re.findall(r'label="(t=\d+)\\r"', source)  # (set from the right edge)
    assert labels == [f"t={t}" for t in range(1, 13)]  # t=2 before t=10


# ------------------------------------------------------------------ the PNG painter
@pytest.mark.numpy_only
def test_png_without_dot_paints_a_dashed_input_with_dashes():
    from matplotlib.colors import to_hex

    x = ts.Tensor(np.ones(2), requires_grad=True, name="x")
    ax = painted_without_dot(backward_with_norms((x * 2.0).sum()))
    grey = [p for p in ax.patches if to_hex(p.get_edgecolor()) == "#888888"]
    assert grey and all(p.get_linestyle() == "--" for p in grey)  # the constant's border
    solid = [p for p in ax.patches if to_hex(p.get_edgecolor()) == "#1f1f1f"]
    assert solid and all(p.get_linestyle() == "-" for p in solid)  # the weight's


@pytest.mark.numpy_only
def test_png_without_dot_paints_the_heading_left_aligned():
    x = ts.Tensor(np.ones(2), requires_grad=True, name="x")
    ax = painted_without_dot(backward_with_norms((x * 2.0).sum()))
    (heading,) = [t for t in ax.texts if t.get_text().startswith("colour = log10")]
    assert heading.get_horizontalalignment() == "left"
    left = min(t.get_position()[0] for t in ax.texts)
    assert heading.get_position()[0] == left  # starting at the picture's left edge
