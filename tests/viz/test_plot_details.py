"""The tour's figures, the details a reader goes by: the vanishing figure's note, the fitted
lines' range and slopes, and long bar titles. Like test_plots.py, each test reads the
drawn Figure back."""

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
