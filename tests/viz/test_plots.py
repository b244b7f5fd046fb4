"""The tour's figures: each plot function writes a readable PNG from plain NumPy data, and
importing the plots module does not import matplotlib."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.numpy_only  # figures are drawn from host data: one backend is enough


def _png(path) -> np.ndarray:
    from matplotlib.image import imread

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    assert image[..., :3].std() > 0.05  # not a blank canvas
    return image


def test_importing_plots_does_not_import_matplotlib():
    code = (
        "import sys, tinygrad_seq, tinygrad_seq.viz, tinygrad_seq.viz.plots; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_heatmap_text_contrasts_with_its_cell(tmp_path):
    from tinygrad_seq.viz import plots

    fig, ax = plots.new_figure()
    plots.heatmap(ax, np.array([[0.0, 1.0]]), ["a", "b"], ["r"], cmap="Blues")
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours[".00"] == "black" and colours["1.0"] == "white"  # light cell, dark cell
    _png(plots.save(fig, tmp_path / "h.png"))


def test_complexity_figure(tmp_path):
    from tinygrad_seq.viz import plots

    ns = [16, 32, 64, 128, 256]
    n = np.array(ns, float)
    series = {
        "RNN": {"time_s": list(1e-4 * n), "peak_bytes": list(1e3 * n), "depth": list(2 * n)},
        "self-attention": {
            "time_s": list(1e-6 * n**2),
            "peak_bytes": list(8 * n**2),
            "depth": [13] * 5,
        },
    }
    slopes = {
        "RNN": {"time": 1.0, "memory": 1.0, "depth": 1.0},
        "self-attention": {"time": 2.0, "memory": 2.0, "depth": 0.0},
    }
    _png(plots.complexity_figure(tmp_path / "c.png", ns, series, slopes, 64, 32))


def test_vanishing_figure(tmp_path):
    from tinygrad_seq.viz import plots

    Ts = list(range(1, 31))
    curves = {
        "RNN, ‖W_hh‖ = 0.9": [0.3**t for t in range(30)],
        "LSTM cell path, b_f = 1": [0.7**t for t in range(30)],
    }
    sweep = {f"ρ = {r}": [r**t for t in range(30)] for r in (0.5, 1.0, 1.5)}
    line = [0.27**t for t in range(30)]
    _png(plots.vanishing_figure(tmp_path / "v.png", Ts, curves, line, line, line, 0.4, sweep, 20))


def test_training_figures(tmp_path):
    from tinygrad_seq.viz import plots

    rng = np.random.default_rng(0)
    losses = {"RNN": list(np.linspace(1.4, 0.1, 50)), "LSTM": list(np.linspace(1.4, 0.01, 50))}
    _png(
        plots.memory_figure(
            tmp_path / "m.png",
            [5, 10],
            {"RNN": [1.0, 0.3], "LSTM": [1.0, 1.0]},
            0.25,
            losses,
            10,
            rng.random((12, 8)),
            10,
            rng.random((11, 8)),
            rng.random((11, 8)) * 0.1,
            3,
        )
    )
    _png(
        plots.bottleneck_figure(
            tmp_path / "b.png",
            [2, 3, 4],
            {"seq2seq": [1.0, 0.8, 0.5], "seq2seq + attention": [1.0, 1.0, 0.9]},
            {"seq2seq": [2.0, 1.0], "seq2seq + attention": [2.0, 0.1]},
            32,
            0.125,
        )
    )
    _png(
        plots.gru_vs_lstm_figure(
            tmp_path / "g.png",
            [16, 32],
            32,
            {"LSTM": [3200, 8320], "GRU": [2400, 6240]},
            [5, 10],
            {"LSTM": [1.0, 0.9], "GRU": [1.0, 1.0]},
            {"LSTM": [10.0, 12.0], "GRU": [8.0, 9.0]},
            {"LSTM": 13, "GRU": 14},
        )
    )


def test_attention_figures(tmp_path):
    from tinygrad_seq.viz import plots

    alpha = np.eye(3)
    _png(
        plots.alignments_figure(
            tmp_path / "a.png",
            np.eye(2),
            ["a", "b"],
            ["x", "y"],
            {"additive": alpha, "dot": alpha},
            list("abc"),
            list("xyz"),
        )
    )
    perm = {
        "without_positions": {"permuted_outputs": 1e-7, "mean_pooled": 0.0},
        "with_positions": {"permuted_outputs": 2.0, "mean_pooled": 0.1},
    }
    _png(
        plots.transformer_figure(
            tmp_path / "t.png",
            np.random.default_rng(0).random((16, 8)),
            [2, 3],
            {"Transformer": [1.0, 0.9]},
            perm,
            np.random.default_rng(1).random((2, 3, 3)),
            np.random.default_rng(2).random((4, 3)),
            ["s0", "s1", "s2"],
            0.125,
        )
    )


def test_fixed_size_and_summary_figures(tmp_path):
    from tinygrad_seq.viz import plots

    _png(
        plots.fixed_size_figure(
            tmp_path / "f.png",
            ["cat", "sat"],
            [1, 1],
            [1, 1],
            "cat sat",
            "sat cat",
            {"BoW MLP": 0.5, "RNN": 1.0},
            {"BoW MLP": [0.7, 0.69], "RNN": [0.7, 0.01]},
            [1, 2],
            [0.6, 1.0],
            [1, 2],
            [10, 50],
            10,
            [1, 2, 3],
            [0.5, 0.2, 0.0],
            [0.0, 0.1, 0.3],
        )
    )
    _png(plots.bptt_norms_figure(tmp_path / "n.png", {"RNN ‖∂L/∂h_t‖": {0: 1e-5, 1: 1.0}}, 2))
    ids = [
        {"title": "tanh'", "symbolic_ok": True, "numeric_max_error": 0.0},
        {"title": "bound", "symbolic_ok": None, "numeric_max_error": 1e-16},
    ]
    _png(plots.derivations_figure(tmp_path / "d.png", ids, 1e-10))
