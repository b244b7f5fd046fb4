"""The tour's figures, the details a reader goes by: the vanishing figure's note, the fitted
lines' range and slopes, long bar titles, the heatmaps' labels and numbers, where chance
lines, bar labels, run dots and whiskers sit, and which keys and labels each panel shows.
Like test_plots.py, each test reads the drawn Figure back."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viz import test_plots

pytestmark = pytest.mark.numpy_only  # figures are drawn from host data: one backend is enough


def _fitted_lines(ax) -> list:
    """The dotted black lines a log-log panel draws over its fit range."""
    return [
        line
        for line in ax.get_lines()
        if line.get_linestyle() == ":" and line.get_color() == "black"
    ]


def test_the_vanishing_note_raises_both_factors_to_t_minus_one(tmp_path, figures):
    from tinygrad_seq.viz import plots

    Ts = list(range(1, 11))
    t = np.arange(10)
    curves = {"RNN, ‖W_hh‖ = 0.9": list(0.5**t)}
    seed = list(0.27**t)
    sweep = {"ρ = 1.0": [1.0] * 10}
    plots.vanishing_figure(
        tmp_path / "v.png", Ts, curves, list(0.9**t), list(0.4**t), seed, 0.4, sweep, 5
    )
    ax = figures["v.png"].axes[0]
    (note,) = [text for text in ax.texts if text.get_text().startswith("seed's example")]
    first, second = note.get_text().splitlines()
    assert first == "seed's example at T = 5:"
    assert second.startswith("(0.9)^4 (0.3)^4 ≈ ")  # h_5 is 4 steps after h_1
    value = float(second.rsplit(" ", 1)[1])
    assert value == pytest.approx(seed[4], rel=1e-2) == pytest.approx(0.27**4, rel=1e-2)


def test_the_fitted_line_starts_at_fit_from(tmp_path, figures):
    from tinygrad_seq.viz import plots

    ns = [16, 32, 64, 128, 256]
    series = test_plots.complexity_series(ns)
    slopes = {m: {"time": 1.0, "memory": 1.0, "depth": 1.0} for m in series}
    plots.complexity_figure(tmp_path / "c.png", ns, series, slopes, 64, 32)
    for ax in figures["c.png"].axes:
        fitted = _fitted_lines(ax)
        assert len(fitted) == len(series)  # one per model
        for line in fitted:
            np.testing.assert_allclose(line.get_xdata(), [64, 128, 256])  # n ≥ fit_from


def test_a_slope_that_rounds_to_zero_reads_0_00_not_minus_0_00(tmp_path, figures):
    from tinygrad_seq.viz import plots

    ns = [16, 32, 64, 128]
    n = np.array(ns, float)
    series = {
        "RNN": {"time_s": list(1e-4 * n), "peak_bytes": [], "depth": list(2 * n)},
        "self-attention": {"time_s": list(1e-6 * n**2), "peak_bytes": [], "depth": [9.0] * 4},
    }
    slopes = {
        "RNN": {"time": 1.0, "memory": 1.0, "depth": 1.0},
        "self-attention": {"time": 2.0, "memory": 2.0, "depth": -0.001},
    }
    plots.complexity_figure(tmp_path / "c.png", ns, series, slopes, 32, 32)
    depth = figures["c.png"].axes[-1]
    labels = set(test_plots._lines(depth))
    assert "self-attention: slope 0.00" in labels and "RNN: slope 1.00" in labels
    assert not any("-0.00" in label for label in labels)


def test_a_long_bar_title_wraps_onto_two_lines_and_only_then_is_cut(tmp_path, figures):
    from tinygrad_seq.viz import plots

    two_lines = "LSTM gradients: ∂L/∂W_f, W_i, W_C, W_o, the biases, hₜ₋₁ and the cell state Cₜ₋₁"
    longer = "the vanishing-gradient bound " + " ".join(["term"] * 40)
    ids = [
        {"title": "tanh'", "symbolic_ok": True, "numeric_max_error": 1e-16},
        {"title": two_lines, "symbolic_ok": True, "numeric_max_error": 1e-16},
        {"title": longer, "symbolic_ok": None, "numeric_max_error": 1e-15},
    ]
    plots.derivations_figure(tmp_path / "d.png", ids, 1e-10)
    ax = figures["d.png"].axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == "tanh'"  # a short one as written
    assert ticks[1].count("\n") == 1 and ticks[1].replace("\n", " ") == two_lines  # all of it
    first, second = ticks[2].split("\n")
    assert longer.startswith(first) and second.endswith(" …") and len(second) <= 64


def test_a_bar_title_breaks_after_its_colon_and_never_inside_brackets():
    """Filling the first line to 64 characters broke the tour's titles mid-formula
    ("diag(1" over "− zₜ)") or left one word alone ("hₜ₋₁ and" over "Cₜ₋₁")."""
    from tinygrad_seq.viz.plots import _two_lines

    gru = "GRU direct term: ∂hₜ/∂hₜ₋₁ = diag(1 − zₜ) with zₜ, rₜ, h̃ₜ held fixed"
    assert _two_lines(gru, 64) == gru.replace(": ", ":\n", 1)
    additive = "additive (Bahdanau) score e = v_aᵀ tanh(W_a s + U_a h): ∂e/∂(s, h, W_a, U_a, v_a)"
    assert _two_lines(additive, 64).split("\n") == [
        "additive (Bahdanau) score e = v_aᵀ tanh(W_a s + U_a h):",
        "∂e/∂(s, h, W_a, U_a, v_a)",
    ]
    no_colon = "the gradients of W_z, W_r and W_h, of the three biases and of the last state hₜ₋₁"
    first, second = _two_lines(no_colon, 64).split("\n")
    assert first.endswith(",") and abs(len(first) - len(second)) < 30  # after a comma
    plain = "word " * 20  # no colon, no comma: two lines of about equal length
    first, second = _two_lines(plain.strip(), 64).split("\n")
    assert abs(len(first) - len(second)) <= 5
    assert _two_lines("short", 64) == "short"


def test_the_derivations_figure_keeps_its_names_off_the_edge_and_its_title_centred(
    tmp_path, figures
):
    from tinygrad_seq.viz import plots

    ids = [  # the tour's longest names: wrapped, their first line runs to the left edge
        {
            "title": "multi-head attention: ∂L/∂(W^Q, W^K, W^V, W^O, X, M), head by head",
            "symbolic_ok": True,
            "numeric_max_error": 1e-16,
        },
        {"title": "tanh'(x) = 1 − tanh²(x)", "symbolic_ok": True, "numeric_max_error": 1e-16},
    ]
    plots.derivations_figure(tmp_path / "d.png", ids, 1e-10)
    fig = figures["d.png"]
    fig.canvas.draw()  # (laid out at the figure's own dpi)
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    names = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
    margin = 0.1 * fig.dpi  # a tenth of an inch at least (3 pt, the default, reads as touching)
    assert min(box.x0 for box in names) >= margin
    assert fig._suptitle is not None and not ax.get_title()  # the title is the figure's,
    box = fig._suptitle.get_window_extent(renderer)
    assert (box.x0 + box.x1) / 2 == pytest.approx(fig.bbox.width / 2, abs=1)  # centred on it


def test_heatmap_labels_turn_and_shrink_past_12_columns_and_24_rows():
    from tinygrad_seq.viz import plots

    for cols, rotation, size in ((4, 0, None), (12, 45, None), (13, 90, 6)):
        fig, ax = plots.new_figure()
        plots.heatmap(ax, np.zeros((2, cols)), [f"c{i}" for i in range(cols)], ["a", "b"])
        label = ax.get_xticklabels()[0]
        assert label.get_rotation() == rotation, cols
        assert label.get_fontsize() == (size or plt_default_fontsize()), cols
    for rows, size in ((24, None), (25, 6)):
        fig, ax = plots.new_figure()
        plots.heatmap(ax, np.zeros((rows, 2)), ["x", "y"], [f"r{i}" for i in range(rows)])
        assert ax.get_yticklabels()[0].get_fontsize() == (size or plt_default_fontsize()), rows


def plt_default_fontsize() -> float:
    """The tick labels' size when none is given (matplotlib's rc setting)."""
    from matplotlib import font_manager, rcParams

    return font_manager.FontProperties(size=rcParams["xtick.labelsize"]).get_size_in_points()


def test_heatmap_numbers_up_to_80_cells_larger_up_to_49_and_contrasting():
    from matplotlib import colormaps
    from tinygrad_seq.viz import plots

    for shape, count, size in (((7, 7), 49, 9), ((5, 10), 50, 7), ((8, 10), 80, 7), ((9, 9), 0, 0)):
        fig, ax = plots.new_figure()
        values = np.linspace(0, 1, shape[0] * shape[1]).reshape(shape)
        plots.heatmap(ax, values)
        assert len(ax.texts) == count, shape
        assert {t.get_fontsize() for t in ax.texts} == ({size} if count else set()), shape
    fig, ax = plots.new_figure()
    values = np.linspace(0, 1, 41)[None]  # (1, 41): every shade of viridis, annotated
    plots.heatmap(ax, values, annotate=True)
    cmap = colormaps["viridis"]
    for v, text in zip(values[0], ax.texts, strict=True):
        red, green, blue, _ = cmap(v)
        luma = 0.299 * red + 0.587 * green + 0.114 * blue  # (ITU-R BT.601)
        assert text.get_color() == ("black" if luma > 0.5 else "white"), v


def test_chance_lines_and_bar_labels_sit_where_they_say(tmp_path, figures):
    from tinygrad_seq.viz import plots

    acc = {"seq2seq": [1.0, 0.5], "seq2seq + attention": [1.0, 0.9]}
    plots.bottleneck_figure(tmp_path / "b.png", [2, 3], acc, {"seq2seq": [1.0]}, 32, 0.125)
    ax = figures["b.png"].axes[0]
    (chance,) = [t for t in ax.texts if t.get_text().startswith("chance")]
    assert chance.xy == (0.99, 12.5)  # at the line's height, at the axes' right end
    plots.fixed_size_figure(
        tmp_path / "f.png",
        *test_plots._fixed_size_words(),
        {"BoW MLP": 0.5, "RNN": 0.75},
        {"RNN": [0.7, 0.01]},
        *test_plots._fixed_size_rest(),
    )
    accuracy = figures["f.png"].axes[1]
    for bar, text in zip(accuracy.patches, accuracy.texts, strict=True):
        x, y = text.get_position()
        assert x == pytest.approx(bar.get_x() + bar.get_width() / 2)
        assert y == pytest.approx(bar.get_height() + 1)  # a point above the bar
    assert [t.get_text() for t in accuracy.texts] == ["50%", "75%"]


def test_the_memory_figure_centres_the_runs_on_their_delay_and_keys_each_model_once(
    tmp_path, figures
):
    from tinygrad_seq.viz import plots

    rng = np.random.default_rng(0)
    labels = ["RNN", "LSTM, b_f = 1", "GRU"]
    per_run = {label: [[1.0, 0.5], [0.25, 0.5]] for label in labels}
    acc = {label: [0.75, 0.375] for label in labels}
    losses = {label: [rng.random(20) for _ in range(2)] for label in labels}
    plots.memory_figure(
        tmp_path / "m.png", [10, 60], acc, 0.25, losses, 60, rng.random((12, 8)), 60,
        rng.random((11, 8)), rng.random((11, 8)), 3, per_run=per_run,
    )  # fmt: skip
    accuracy, loss, gates = figures["m.png"].axes[:3]
    dots = [line for line in accuracy.get_lines() if line.get_marker() == "."]
    xs = sorted({float(line.get_xdata()[0]) for line in dots})
    spread = 0.012 * (60 - 10)  # the models side by side, the middle one on the delay
    assert xs == pytest.approx([10 - spread, 10, 10 + spread, 60 - spread, 60, 60 + spread])
    keyed = [line.get_label() for line in loss.get_lines() if line.get_label()[0] != "_"]
    assert sorted(keyed) == sorted([*labels, "ln 4 (guessing)"])  # one entry per model
    # step t (1 = the symbol) centred on its column, unit u on its row
    assert gates.images[0].get_extent() == [0.5, 12.5, 7.5, -0.5]


def test_the_gru_vs_lstm_bars_their_labels_whiskers_and_shades(tmp_path, figures):
    from matplotlib.colors import to_hex
    from tinygrad_seq.viz import plots

    def draw(name, medians, d=32):
        plots.gru_vs_lstm_figure(
            tmp_path / name, [16, 32], d, {"LSTM": [3200, 8320], "GRU": [2400, 6240]}, [5, 10],
            {"LSTM": [1.0, 0.9], "GRU": [0.95, 1.0]}, test_plots._cost([5, 10], medians),
            {"LSTM": 13, "GRU": 14},
        )  # fmt: skip
        return figures[name].axes[:3]

    params, accuracy, cost = draw("g.png", {32: [0.95, 1.1], 256: [0.8, 0.79]}, d=16)
    assert params.get_title() == "Parameters (input size d = 16): GRU = 3/4 LSTM"
    # each delay's two bars either side of its tick, the LSTM's on the left, in whole percent
    centres = [bar.get_x() + bar.get_width() / 2 for bar in accuracy.patches]
    assert centres == pytest.approx([-0.19, 0.81, 0.19, 1.19])
    assert [t.get_text() for t in accuracy.texts] == ["100%", "90%", "95%", "100%"]
    # the whiskers span the middle half of the rounds: q1 to q3, 0.02 either side here
    spans = []
    for container in cost.containers:
        if getattr(container, "errorbar", None) is not None:
            (whiskers,) = container.errorbar.lines[2]
            spans += [(seg[0][1], seg[1][1]) for seg in whiskers.get_segments()]
    medians = [0.95, 1.1, 0.8, 0.79]
    np.testing.assert_allclose(spans, [(m - 0.02, m + 0.02) for m in medians])
    assert cost.get_ylim()[1] == pytest.approx(1.12 * 1.45)  # room above the highest whisker
    keys = [t.get_text() for t in cost.get_legend().get_texts()]
    assert keys.count("counted work (forward FLOPs)") == 1  # one key for both sizes' marks
    shades = [to_hex(bar.get_facecolor()) for bar in cost.patches]
    assert shades == ["#98df8a", "#98df8a", "#2ca02c", "#2ca02c"]  # light: the smaller h
    colours = [t.get_color() for t in cost.texts]
    assert colours == ["black", "black", "white", "white"]  # white on the dark bars only
    cost = draw("one.png", {32: [0.95, 1.1]})[2]  # one size: light bars, black numbers
    assert {t.get_color() for t in cost.texts} == {"black"}


def test_the_transformer_figure_labels_its_bars_and_heads(tmp_path, figures):
    from tinygrad_seq.viz import plots

    perm = {
        "without_positions": {"permuted_outputs": 1e-7, "mean_pooled": 0.0},
        "with_positions": {"permuted_outputs": 2.0, "mean_pooled": 0.05},
    }
    heads = np.full((3, 2, 2), 0.5)
    plots.transformer_figure(
        tmp_path / "t.png", np.zeros((4, 4)), [2, 3], {"Transformer": [1.0, 1.0]}, perm, heads,
        np.full((3, 2), 0.5), ["s0", "s1"], 0.125,
    )  # fmt: skip
    axes = figures["t.png"].axes
    acc_ax, perm_ax = axes[1], axes[2]
    assert acc_ax.get_ylim() == (0, 105)  # a curve at 100 % is not cut by the frame
    # a difference of 0 on the floor, tiny ones in powers of ten, the others in hundredths
    assert [t.get_text() for t in perm_ax.texts] == ["1e-07", "0", "2.00", "0.05"]
    assert perm_ax.get_ylim()[0] == pytest.approx(1e-17)  # no rounding level given
    assert not [line for line in perm_ax.get_lines() if line.get_linestyle() == "--"]
    head_axes = [ax for ax in axes if ax.get_title().startswith("encoder head")]
    assert [ax.get_ylabel() for ax in head_axes] == ["query position", "", ""]


def test_the_permutation_bars_stand_three_decades_below_the_rounding_line(tmp_path, figures):
    """A float32 difference of 4e-07 is rounding: on a floor of 1e-17 its bar stood half as
    tall as a real difference of 2. Given the rounding level, the floor sits three decades
    under it and a dashed line marks it, so the rounding bar ends at the line."""
    from tinygrad_seq.viz import plots

    perm = {
        "without_positions": {"permuted_outputs": 4e-7, "mean_pooled": 1e-7, "rounding": 3e-7},
        "with_positions": {"permuted_outputs": 2.0, "mean_pooled": 0.1, "rounding": 3e-7},
    }
    plots.transformer_figure(
        tmp_path / "t.png", np.zeros((4, 4)), [2, 3], {"Transformer": [1.0, 1.0]}, perm,
        np.full((2, 2, 2), 0.5), np.full((3, 2), 0.5), ["s0", "s1"], 0.125,
    )  # fmt: skip
    perm_ax = figures["t.png"].axes[2]
    assert perm_ax.get_ylim()[0] == pytest.approx(1e-10)  # 10^(floor(log10 3e-7) − 3)
    (line,) = [line for line in perm_ax.get_lines() if line.get_linestyle() == "--"]
    assert list(line.get_ydata()) == [3e-7, 3e-7]
    keys = [t.get_text() for t in perm_ax.get_legend().get_texts()]
    assert sorted(keys) == ["rounding (ε × max |output|)", "with positions", "without positions"]
    heights = [bar.get_height() for bar in perm_ax.patches]
    assert heights == pytest.approx([4e-7, 1e-7, 2.0, 0.1], abs=0)
    assert [t.get_text() for t in perm_ax.texts] == ["4e-07", "1e-07", "2.00", "0.10"]


def test_the_transformer_attention_panels_share_one_colour_scale(tmp_path, figures):
    """A colour means the same α in every head and in the cross-attention (a head on its
    own scale drew its α 0.3 as dark as the cross-attention's 1), and the one colourbar
    says so."""
    from tinygrad_seq.viz import plots

    variants = ("without_positions", "with_positions")
    perm = {key: {"permuted_outputs": 1.0, "mean_pooled": 1.0} for key in variants}
    heads = np.stack([np.full((2, 2), 0.25), np.array([[0.3, 0.7], [0.5, 0.5]])])
    cross = np.array([[0.1, 0.9], [0.6, 0.4], [0.5, 0.5]])
    plots.transformer_figure(
        tmp_path / "t.png", np.zeros((4, 4)), [2, 3], {"Transformer": [1.0, 1.0]}, perm, heads,
        cross, ["s0", "s1"], 0.125,
    )  # fmt: skip
    axes = figures["t.png"].axes
    panels = [a for a in axes if a.get_title().startswith(("encoder head", "cross-attention"))]
    assert len(panels) == 3
    for ax in panels:
        assert ax.images[0].get_clim() == pytest.approx((0.0, 0.9))
    assert panels[-1].get_title() == "cross-attention (mean of heads; max α 0.90)"
    (bar,) = [a for a in axes if "one scale for every panel" in a.get_ylabel()]
    assert bar.get_ylabel().endswith("0 to 0.90")
    assert bar.get_ylim() == pytest.approx((0.0, 0.9))
    assert len(axes) == len(panels) + 5  # PE, accuracy, permutations, PE's colourbar, this one


def test_step_lists_join_runs_of_three_or_more():
    from tinygrad_seq.viz.plots import _step_list

    assert _step_list([0, 1, 2, 5]) == "0–2, 5"
    assert _step_list([3, 4, 7, 8, 9, 10]) == "3, 4, 7–10"
    assert _step_list([6]) == "6"
