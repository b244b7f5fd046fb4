"""The tour's figures: each plot function writes a readable PNG from plain NumPy data, and
importing the plots module does not import matplotlib."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

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


def _lines(ax) -> dict:
    """The axes' labelled lines (those a key can show), by label."""
    return {line.get_label(): line for line in ax.get_lines() if line.get_label()[0] != "_"}


def _plotted(line, x, y) -> None:
    """The line draws exactly the points (x, y)."""
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float), x)
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), y)


def _heights(ax) -> list[float]:
    """The heights of the axes' bars, in drawing order."""
    return [float(bar.get_height()) for bar in ax.patches]


def _ticks(labels) -> list[str]:
    return [t.get_text() for t in labels]


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


def test_save_returns_the_file_it_wrote(tmp_path):
    from tinygrad_seq.viz import plots

    fig, ax = plots.new_figure()
    ax.plot([0, 1], [1, 0])
    for name, written in [
        ("out/fig", "out/fig.png"),  # matplotlib adds .png: the path says so
        ("out/loss_lr=0.01", "out/loss_lr=0.01.png"),  # ".01" is no picture format
        ("out/fig.svg", "out/fig.svg"),
    ]:
        path = plots.save(fig, tmp_path / name)
        assert path == tmp_path / written and path.is_file()
    _png(tmp_path / "out/loss_lr=0.01.png")
    assert (tmp_path / "out/fig.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match=r"ends in \.bmp, which matplotlib cannot write"):
        plots.save(fig, tmp_path / "out/fig.bmp")  # not written as fig.bmp.png
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "fig.png",
        "fig.svg",
        "loss_lr=0.01.png",
    ]


def complexity_series(ns: list[int]) -> dict[str, dict[str, list[float]]]:
    """Measurements growing as n (the RNN) and n² (self-attention; constant depth)."""
    n = np.array(ns, float)
    return {
        "RNN": {"time_s": list(1e-4 * n), "peak_bytes": list(1e3 * n), "depth": list(2 * n)},
        "self-attention": {
            "time_s": list(1e-6 * n**2),
            "peak_bytes": list(8 * n**2),
            "depth": [13] * len(ns),
        },
    }


def test_complexity_figure(tmp_path):
    from tinygrad_seq.viz import plots

    ns = [16, 32, 64, 128, 256]
    series = complexity_series(ns)
    slopes = {
        "RNN": {"time": 1.0, "memory": 1.0, "depth": 1.0},
        "self-attention": {"time": 2.0, "memory": 2.0, "depth": 0.0},
    }
    _png(plots.complexity_figure(tmp_path / "c.png", ns, series, slopes, 64, 32))
    assert plots.complexity_figure(tmp_path / "c", ns, series, slopes, 64, 32).is_file()


def test_complexity_figure_plots_each_measure_in_its_units(tmp_path, monkeypatch):
    from tinygrad_seq.viz import plots

    ns = [16, 32, 64, 128]
    n = np.array(ns, float)
    series = {
        "RNN": {"time_s": list(1e-4 * n), "peak_bytes": list(2**20 * n), "depth": list(2 * n)},
        "self-attention": {"time_s": list(1e-6 * n**2), "peak_bytes": list(n**2), "depth": [9] * 4},
    }
    slopes = {m: {"time": 1.0, "memory": 1.0, "depth": 1.0} for m in series}
    drawn = []
    save = plots.save
    monkeypatch.setattr(plots, "save", lambda fig, path: drawn.append(fig) or save(fig, path))
    plots.complexity_figure(tmp_path / "c.png", ns, series, slopes, 32, 32)
    (fig,) = drawn
    time_ax, memory_ax, depth_ax = fig.axes
    expected = [
        (time_ax, "(ms)", lambda s: 1e3 * np.array(s["time_s"])),
        (memory_ax, "(MiB)", lambda s: np.array(s["peak_bytes"]) / 2**20),
        (depth_ax, "ops", lambda s: np.array(s["depth"], float)),
    ]
    for ax, unit, values in expected:
        assert unit in ax.get_ylabel()
        lines = {line.get_label().split(":")[0]: line for line in ax.get_lines()}
        for model, s in series.items():
            np.testing.assert_allclose(lines[model].get_xdata(), n)
            np.testing.assert_allclose(lines[model].get_ydata(), values(s))


def test_vanishing_figure(tmp_path, figures):
    from tinygrad_seq.viz import plots

    Ts = list(range(1, 31))
    curves = {
        "RNN, ‖W_hh‖ = 0.9": [0.3**t for t in range(30)],
        "LSTM cell path, b_f = 1": [0.7**t for t in range(30)],
    }
    sweep = {f"ρ = {r}": [r**t for t in range(30)] for r in (0.5, 1.0, 1.5)}
    bound, typical, seed = ([c**t for t in range(30)] for c in (0.9, 0.36, 0.27))
    _png(
        plots.vanishing_figure(tmp_path / "v.png", Ts, curves, bound, typical, seed, 0.4, sweep, 20)
    )
    ax, ax2 = figures["v.png"].axes
    assert ax.get_yscale() == ax2.get_yscale() == "log"
    assert ax.get_xlabel() == ax2.get_xlabel() == "T (h_T is T − 1 steps after h_1)"
    assert "Gradient norm through time" in ax.get_title() and "ρ" in ax2.get_title()
    lines = _lines(ax)
    assert len(lines) == 5  # the two curves and the three reference lines
    for label, norms in curves.items():
        _plotted(lines[label], Ts, norms)
    _plotted(lines["seed's bound ‖W_hh‖^(T−1) Π max tanh' (RNN)"], Ts, bound)
    _plotted(lines["(0.9 × mean tanh' 0.40)^(T−1)"], Ts, typical)
    _plotted(lines["seed's example (0.9 × 0.3)^(T−1)"], Ts, seed)
    (point,) = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    _plotted(point, [20], [seed[19]])  # the seed's example, marked at T = 20
    sweep_lines = _lines(ax2)
    assert list(sweep_lines) == list(sweep)
    for label, norms in sweep.items():
        _plotted(sweep_lines[label], Ts, norms)


def test_agreement_figure(tmp_path, figures):
    from tinygrad_seq.viz import plots

    rng = np.random.default_rng(0)
    sentence = "the cat that I saw yesterday ?".split()
    T = len(sentence)
    lstm = {name: rng.random((2, T)) for name in ("C", "f", "i", "o", "write")}
    rnn_h = rng.random((2, T)) * 2 - 1
    answers = {"LSTM": ["was", "were"], "RNN": ["was", "was"]}
    acc = {"LSTM": [1.0, 1.0], "RNN": [1.0, 0.5], "RNN, every k at once": [1.0, 0.95]}
    lstm_numbers = {"share_of_C_written_at_subject": 0.12}
    rnn_numbers = {"r_at_subject": 0.8, "r_at_verb": 0.05}
    _png(
        plots.agreement_figure(
            tmp_path / "a.png",
            sentence,
            lstm,
            3,
            rnn_h,
            5,
            answers,
            [4, 8],
            acc,
            lstm_numbers,
            rnn_numbers,
        )  # fmt: skip
    )
    cell, rnn, gates, accuracy = figures["a.png"].axes[:4]
    # the words along the x axis, the verb's place named
    assert _ticks(cell.get_xticklabels()) == [*sentence[:-1], "? (verb)"]
    lines = _lines(cell)
    _plotted(lines['C_t, "the cat ..." → says was'], range(T), lstm["C"][0])
    _plotted(lines['C_t, "the cats ..." → says were'], range(T), lstm["C"][1])
    np.testing.assert_allclose(_heights(cell)[-T:], lstm["write"][0])
    assert "12% of C_t at the verb was written at the subject" in cell.get_title()
    for name, gate in (("f", "forget"), ("i", "input"), ("o", "output")):
        label = f"{gate} gate {name}_t"
        _plotted(_lines(gates)[label], range(T), lstm[name][0])
    wrong = 'h_t, "the cats ..." → says was, not were'  # a wrong verb is marked so
    _plotted(_lines(rnn)[wrong], range(T), rnn_h[1])
    assert "0.80 at the subject, 0.05 at the verb" in rnn.get_title()
    for label, a in acc.items():
        _plotted(_lines(accuracy)[label], [4, 8], np.array(a) * 100)


def test_training_figures(tmp_path, figures):
    from tinygrad_seq.viz import plots

    rng = np.random.default_rng(0)
    losses = {"RNN": list(np.linspace(1.4, 0.1, 50)), "LSTM": list(np.linspace(1.4, 0.01, 50))}
    acc = {"RNN": [1.0, 0.3], "LSTM": [1.0, 1.0]}
    f_mean, cum_trained = rng.random((12, 8)), rng.random((11, 8))
    cum_init = rng.random((11, 8)) * 0.1
    _png(
        plots.memory_figure(
            tmp_path / "m.png", [5, 10], acc, 0.25, losses, 10, f_mean, 10, cum_trained, cum_init, 3
        )
    )
    accuracy, loss, gates, cell_path = figures["m.png"].axes[:4]
    assert accuracy.get_ylabel() == "test accuracy (%)"
    for label, a in acc.items():
        _plotted(_lines(accuracy)[label], [5, 10], np.array(a) * 100)
    # the chance and guessing lines are named in the keys, where no curve can hide them
    assert "chance 25%" in [text.get_text() for text in accuracy.get_legend().get_texts()]
    assert not accuracy.texts
    assert "ln 4 (guessing)" in [text.get_text() for text in loss.get_legend().get_texts()]
    assert loss.get_title() == "Training at D = 10"
    for label, curve in losses.items():
        _plotted(_lines(loss)[label], np.arange(1, 51), curve)
    np.testing.assert_array_equal(gates.images[0].get_array(), f_mean.T)  # units on the rows
    assert gates.get_title().startswith("Trained LSTM (D = 10)")
    assert len(cell_path.get_lines()) == 2 * 8 + 2  # every unit before and after, and the best
    best = _lines(cell_path)
    _plotted(
        best["highest unit at each T, before training"], np.arange(2, 13), cum_init.max(axis=1)
    )
    _plotted(best["best unit after training (unit 3)"], np.arange(2, 13), cum_trained[:, 3])

    acc = {"seq2seq": [1.0, 0.8, 0.5], "seq2seq + attention": [1.0, 1.0, 0.9]}
    losses = {"seq2seq": [2.0, 1.0], "seq2seq + attention": [2.0, 0.1]}
    _png(plots.bottleneck_figure(tmp_path / "b.png", [2, 3, 4], acc, losses, 32, 0.125))
    ax, ax2 = figures["b.png"].axes
    assert "(size 32)" in ax.get_title() and ax2.get_yscale() == "log"
    assert figures["b.png"]._suptitle.get_text().endswith("with attention it falls less")
    _png(plots.bottleneck_figure(tmp_path / "c.png", [2, 3, 4], acc, losses, 32, 0.125, "a title"))
    assert figures["c.png"]._suptitle.get_text() == "a title"
    for label in acc:
        _plotted(_lines(ax)[label], [2, 3, 4], np.array(acc[label]) * 100)
        _plotted(_lines(ax2)[label], [1, 2], losses[label])
    assert "chance (one symbol) 12.5%" in [text.get_text() for text in ax.texts]

    params = {"LSTM": [3200, 8320], "GRU": [2400, 6240]}
    _png(
        plots.gru_vs_lstm_figure(
            tmp_path / "g.png",
            [16, 32],
            32,
            params,
            [5, 10],
            {"LSTM": [1.0, 0.9], "GRU": [1.0, 1.0]},
            _cost([5, 10], {32: [0.95, 0.97], 256: [0.8, 0.79]}),
            {"LSTM": 13, "GRU": 14},
            "as accurate or more (ahead at D = 10, within 5 points elsewhere)",
        )
    )
    title = figures["g.png"]._suptitle.get_text()
    assert title.endswith(
        "parameters, as accurate or more (ahead at D = 10, within 5 points elsewhere)"
    )
    counts, accuracy, cost = figures["g.png"].axes
    for label, n in params.items():
        _plotted(_lines(counts)[label], [16, 32], n)
    assert _heights(accuracy) == pytest.approx([100, 90, 100, 100])  # LSTM's bars, then GRU's
    # the GRU's time over the LSTM's, one bar per delay for each hidden size
    assert _heights(cost) == pytest.approx([0.95, 0.97, 0.8, 0.79])
    assert _ticks(cost.get_xticklabels()) == ["D = 5", "D = 10"]
    assert "LSTM 13, GRU 14" in cost.get_title()
    keys = [t.get_text() for t in cost.get_legend().get_texts()]
    assert {"CPU time, h = 32", "CPU time, h = 256", "equal cost"} <= set(keys)
    assert "counted work (forward FLOPs)" in keys


def _cost(delays, medians: dict[int, list[float]]) -> dict:
    """gru_vs_lstm_figure's `cost`, as the demo's measure_cost gives it: a median ratio per
    delay for each hidden size, quartiles 0.02 either side, the counted work 0.75."""
    return {
        "clock": "CPU time",
        "rounds": 5,
        "hidden_sizes": list(medians),
        "delays": delays,
        "by_hidden": {
            f"h={h}": {
                "ratio_median": m,
                "ratio_q1": [v - 0.02 for v in m],
                "ratio_q3": [v + 0.02 for v in m],
                "work_ratio": [0.75] * len(m),
            }
            for h, m in medians.items()
        },
    }


def test_attention_figures(tmp_path, figures):
    from tinygrad_seq.viz import plots

    seed_alpha = np.array([[0.9, 0.1], [0.2, 0.8]])
    learned = {"additive": np.eye(3), "dot": np.eye(3)[::-1]}
    _png(
        plots.alignments_figure(
            tmp_path / "a.png",
            seed_alpha,
            ["a", "b"],
            ["x", "y"],
            learned,
            list("abc"),
            list("xyz"),
        )
    )
    seed_ax, *learned_axes, _colorbar = figures["a.png"].axes
    assert seed_ax.get_title() == "The seed's example table"
    # α_{t,i} typeset (mathtext), not shown as raw braces; the cells' numbers readable
    assert r"$\alpha_{t,i}$" in figures["a.png"]._suptitle.get_text()
    assert {t.get_fontsize() for t in seed_ax.texts} == {9}
    np.testing.assert_array_equal(seed_ax.images[0].get_array(), seed_alpha)
    assert _ticks(seed_ax.get_xticklabels()) == ["a", "b"]  # source along x
    assert _ticks(seed_ax.get_yticklabels()) == ["x", "y"]  # decoder steps down the rows
    for ax, (label, alpha) in zip(learned_axes, learned.items(), strict=True):
        assert ax.get_title() == f"Learned: {label}"
        np.testing.assert_array_equal(ax.images[0].get_array(), alpha)
        assert _ticks(ax.get_xticklabels()) == list("abc")

    perm = {
        "without_positions": {"permuted_outputs": 1e-7, "mean_pooled": 0.0},
        "with_positions": {"permuted_outputs": 2.0, "mean_pooled": 0.1},
    }
    PE = np.random.default_rng(0).random((16, 8))
    heads = np.random.default_rng(1).random((2, 3, 3))
    cross = np.random.default_rng(2).random((4, 3))
    _png(
        plots.transformer_figure(
            tmp_path / "t.png",
            PE,
            [2, 3],
            {"Transformer": [1.0, 0.9]},
            perm,
            heads,
            cross,
            ["s0", "s1", "s2"],
            0.125,
        )
    )
    pe_ax, acc_ax, perm_ax, _pe_colorbar, head_1, head_2, cross_ax, _ = figures["t.png"].axes
    np.testing.assert_array_equal(pe_ax.images[0].get_array(), PE)
    assert pe_ax.get_title().endswith("d_model = 8")
    _plotted(_lines(acc_ax)["Transformer"], [2, 3], [100, 90])
    assert "budget" not in acc_ax.get_title()
    plots.transformer_figure(
        tmp_path / "t2.png", PE, [2, 3], {"Transformer": [1.0, 0.9], "seq2seq": [0.9, 0.5]},
        perm, heads, cross, ["s0", "s1", "s2"], 0.125,
        budgets={"Transformer": "2+2 layers, 200 steps", "seq2seq": "GRU, 160 steps"},
        same_budget=False,
    )  # fmt: skip
    budgets_ax = figures["t2.png"].axes[1]  # each curve's key says how it was trained
    assert set(_lines(budgets_ax)) == {
        "Transformer (2+2 layers, 200 steps)",
        "seq2seq (GRU, 160 steps)",
    }
    assert "another training budget" in budgets_ax.get_title()
    # without positions, then with; a difference of exactly 0 sits on the log axis' floor
    assert _heights(perm_ax) == pytest.approx([1e-7, 1e-17, 2.0, 0.1], abs=0)
    assert _ticks(perm_ax.get_xticklabels()) == ["permuted outputs", "mean-pooled"]
    for h, ax in enumerate((head_1, head_2)):
        np.testing.assert_array_equal(ax.images[0].get_array(), heads[h])
        assert ax.get_title().startswith(f"encoder head {h + 1} (max α {heads[h].max():.2f})")
    np.testing.assert_array_equal(cross_ax.images[0].get_array(), cross)
    assert _ticks(cross_ax.get_yticklabels()) == ["y1", "y2", "y3", "EOS"]


def _fixed_size_words() -> tuple:
    """fixed_size_figure's bag-of-words arguments: vocabulary, two count vectors, texts."""
    return ["cat", "sat"], [1, 1], [1, 1], "cat sat", "sat cat"


def _fixed_size_rest() -> tuple:
    """fixed_size_figure's arguments after the accuracies and losses: windows (and the last
    word alone), n-grams, padding."""
    return (
        *([1, 2], [0.6, 1.0], 0.8),
        *([1, 2], [10, 50], 10),
        *([1, 2, 3], [0.5, 0.2, 0.0], [0.0, 0.1, 0.3]),
    )


def test_fixed_size_and_summary_figures(tmp_path, figures):
    from tinygrad_seq.viz import plots

    losses = {"BoW MLP": [0.7, 0.69], "RNN": [0.7, 0.01]}
    _png(
        plots.fixed_size_figure(
            tmp_path / "f.png",
            *_fixed_size_words(),
            {"BoW MLP": 0.5, "RNN": 1.0},
            losses,
            *_fixed_size_rest(),
        )
    )
    words, accuracy, loss, window, ngrams, cut = figures["f.png"].axes
    assert _ticks(words.get_xticklabels()) == ["cat", "sat"] and _heights(words) == [1, 1, 1, 1]
    assert _heights(accuracy) == pytest.approx([50, 100])
    assert _ticks(accuracy.get_xticklabels()) == ["BoW MLP", "RNN"]
    for label, curve in losses.items():
        _plotted(_lines(loss)[label], [1, 2], curve)
    assert loss.get_yscale() == ngrams.get_yscale() == "log"
    _plotted(_lines(window)["MLP on one-hot of the last n tokens"], [1, 2], [60, 100])
    assert _lines(window)["the last word alone: 80%"].get_ydata()[0] == pytest.approx(80)
    _plotted(_lines(ngrams)["distinct n-grams in the corpus"], [1, 2], [10, 50])
    _plotted(_lines(ngrams)["possible n-grams ($10^n$)"], [1, 2], [10, 100])
    assert "exponentially ($10^n$)" in ngrams.get_title()  # the possible ones, not those seen
    assert "finite corpus" in ngrams.get_title()
    plots.fixed_size_figure(
        tmp_path / "w.png",
        *_fixed_size_words(),
        {"BoW MLP": 0.5, "RNN": 1.0},
        losses,
        *_fixed_size_rest(),
        [40, 38],
    )
    windows_line = _lines(figures["w.png"].axes[4])[
        "n-token windows in the corpus (the most it can hold)"
    ]
    _plotted(windows_line, [1, 2], [40, 38])
    # each share says what it is a share of: tokens cut of all tokens, padding of all slots
    _plotted(_lines(cut)["tokens cut (lost), % of all tokens"], [1, 2, 3], [50, 20, 0])
    _plotted(_lines(cut)["slots padded (wasted), % of all slots"], [1, 2, 3], [0, 10, 30])
    assert cut.get_ylabel() == "share cut or padded (%)"

    _png(plots.bptt_norms_figure(tmp_path / "n.png", {"RNN ‖∂L/∂h_t‖": {0: 1e-5, 1: 1.0}}, 2))
    (ax,) = figures["n.png"].axes
    assert ax.get_title().startswith("BPTT through 2 steps") and ax.get_yscale() == "log"
    assert list(_lines(ax)) == ["RNN ‖∂L/∂h_t‖"]  # every norm on the scale: no frame markers
    _plotted(_lines(ax)["RNN ‖∂L/∂h_t‖"], [0, 1], [1e-5, 1.0])

    ids = [
        {"title": "tanh'", "symbolic_ok": True, "numeric_max_error": 0.0},
        {"title": "bound", "symbolic_ok": None, "numeric_max_error": 1e-16},
    ]
    _png(plots.derivations_figure(tmp_path / "d.png", ids, 1e-10))
    (ax,) = figures["d.png"].axes
    from matplotlib.colors import to_hex

    rows = dict(zip(_ticks(ax.get_yticklabels()), ax.get_yticks(), strict=True))
    assert rows == {"tanh'": 1, "bound": 0}  # the first identity on top
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == pytest.approx([1e-19, 1e-16], abs=0)  # an error of 0: on the floor
    assert [to_hex(bar.get_facecolor()) for bar in ax.patches] == ["#2ca02c", "#7f7f7f"]
    assert {"exactly 0", "1.0e-16", "tolerance 1e-10"} <= {t.get_text().strip() for t in ax.texts}


# ------------------------------------------------------------------ nothing hidden, nothing cut
def _texts_inside_axes(fig) -> None:
    """Every label drawn in an axes lies inside it (none cut off by the frame)."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        for text in ax.texts:
            if text.get_text().strip():
                box = text.get_window_extent(renderer)
                assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, text.get_text()
                assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, text.get_text()


def _crosses(line, box, samples: int = 40) -> bool:
    """Whether the drawn line passes through the display-space box."""
    xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
    for (x0, y0), (x1, y1) in zip(xy[:-1], xy[1:], strict=True):
        for f in np.linspace(0, 1, samples):
            if box.contains(x0 + f * (x1 - x0), y0 + f * (y1 - y0)):
                return True
    return False


def test_vanishing_figure_keeps_the_note_clear_and_coinciding_curves_apart(tmp_path, figures):
    from tinygrad_seq.viz import plots

    Ts = list(range(1, 51))
    t = np.arange(50)
    curves = {
        "RNN, ‖W_hh‖ = 0.9": list(0.5**t),
        "LSTM cell path, b_f = 1": list(0.8**t),
        "LSTM cell path, b_f = 3": list(0.97**t),
        "GRU, b_z = −3": list(0.97**t * 1.02),  # on top of the LSTM's: the review's case
    }
    sweep = {f"ρ = {r}": list(r**t) for r in (0.5, 1.0, 1.5)}
    plots.vanishing_figure(
        tmp_path / "v.png",
        Ts,
        curves,
        list(0.9**t),
        list(0.4**t),
        list(0.27**t),
        0.45,
        sweep,
        20,
        dashed=("LSTM cell path, b_f = 3", "GRU, b_z = −3"),
    )
    fig = figures["v.png"]
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    lstm, gru = lines["LSTM cell path, b_f = 3"], lines["GRU, b_z = −3"]
    assert lstm.get_marker() != gru.get_marker()  # both show where they coincide
    assert lstm.get_markevery() != gru.get_markevery()
    assert lstm.get_linestyle() == gru.get_linestyle() == "--"
    (note,) = [text for text in ax.texts if text.get_text().startswith("seed's example")]
    box = note.get_window_extent(fig.canvas.get_renderer())
    crossing = [line.get_label() for line in ax.get_lines() if _crosses(line, box)]
    assert crossing == []  # no curve strikes through the note
    _texts_inside_axes(fig)


def test_bar_charts_keep_chance_off_the_bars_and_show_tenths_of_ms(tmp_path, figures):
    from tinygrad_seq.viz import plots

    plots.gru_vs_lstm_figure(
        tmp_path / "g.png",
        [16, 32, 64, 128, 256],
        32,
        {
            "LSTM": [3200, 8320, 24832, 82432, 295936],
            "GRU": [2400, 6240, 18624, 61824, 221952],
            "GRU, no biases (the seed's equations)": [2304, 6144, 18432, 61440, 221184],
        },
        [5, 15, 30],
        {"LSTM": [1.0, 1.0, 1.0], "GRU": [1.0, 1.0, 1.0]},
        _cost([5, 15, 30], {32: [0.93, 0.97, 1.01], 256: [0.8, 0.8, 0.79]}),
        {"LSTM": 18, "GRU": 16},
    )
    fig = figures["g.png"]
    params, accuracy, cost = fig.axes[:3]
    assert not any(text.get_text().startswith("chance") for text in accuracy.texts)
    assert "chance 25%" in [text.get_text() for text in accuracy.get_legend().get_texts()]
    labels = [text.get_text() for text in cost.texts]  # each ratio on its bar, in hundredths
    assert labels == ["0.93×", "0.97×", "1.01×", "0.80×", "0.80×", "0.79×"]
    ratios = [text.get_text() for text in params.texts]
    assert ratios.count("0.75×") == 5
    _texts_inside_axes(fig)  # the first ratio, under the lowest point, included

    plots.fixed_size_figure(
        tmp_path / "f.png",
        *_fixed_size_words(),
        {"BoW MLP": 0.5, "RNN": 1.0, "LSTM": 1.0, "GRU": 1.0},
        {"BoW MLP": [0.7, 0.69, 0.695], "RNN": [0.7, 0.3, 0.01]},
        *_fixed_size_rest(),
    )
    fig = figures["f.png"]
    accuracy, loss = fig.axes[1], fig.axes[2]
    assert not any(text.get_text().startswith("chance") for text in accuracy.texts)
    assert not any("ln 2" in text.get_text() for text in loss.texts)
    assert "ln 2 (a coin flip)" in [text.get_text() for text in loss.get_legend().get_texts()]
    lines = {line.get_label(): line for line in loss.get_lines()}
    # the BoW MLP's loss stays at ln 2: its curve is drawn over the line, and wider
    assert lines["BoW MLP"].get_zorder() > lines["ln 2 (a coin flip)"].get_zorder()
    assert lines["BoW MLP"].get_linewidth() > lines["ln 2 (a coin flip)"].get_linewidth()
    _texts_inside_axes(fig)


def test_the_memory_figure_shows_every_run_beside_the_mean(tmp_path, figures):
    from tinygrad_seq.viz import plots

    rng = np.random.default_rng(0)
    per_run = {"RNN": [[1.0, 0.5, 0.75], [0.25, 0.5, 0.3]], "GRU": [[1.0] * 3, [1.0, 0.9, 1.0]]}
    acc = {label: [float(np.mean(r)) for r in runs] for label, runs in per_run.items()}
    runs = {label: [rng.random(20) for _ in range(3)] for label in per_run}  # (arrays)
    plots.memory_figure(
        tmp_path / "m.png", [5, 30], acc, 0.25, runs, 30, rng.random((12, 8)), 30,
        rng.random((11, 8)), rng.random((11, 8)) * 0.1, 3, per_run=per_run,
    )  # fmt: skip
    accuracy, loss = figures["m.png"].axes[:2]
    for label, a in acc.items():  # the mean as the line
        _plotted(_lines(accuracy)[label], [5, 30], np.array(a) * 100)
    dots = [
        line
        for line in accuracy.get_lines()
        if line.get_marker() == "." and line.get_label()[0] == "_"
    ]
    assert len(dots) == 2 * 2  # a column of dots per model and delay: every run's accuracy
    got = sorted(tuple(np.round(d.get_ydata(), 6)) for d in dots)
    want = sorted(tuple(np.round(np.array(r) * 100, 6)) for v in per_run.values() for r in v)
    assert got == want
    assert "one run (lines: the mean of 3)" in [
        t.get_text() for t in accuracy.get_legend().get_texts()
    ]
    curves = [line for line in loss.get_lines() if len(line.get_xdata()) == 20]
    assert len(curves) == 2 * 3  # a loss curve per run
    assert loss.get_title() == "Training at D = 30 (each run a line: 3 per model)"
    plots.memory_figure(
        tmp_path / "s.png", [5, 30], acc, 0.25, runs, 30, rng.random((12, 8)), 30,
        rng.random((11, 8)), rng.random((11, 8)) * 0.1, 3, per_run=per_run, stopped=True,
    )  # fmt: skip
    stopped = figures["s.png"].axes[1]  # the runs stopped once they had learned: it says so,
    assert stopped.get_title() == loss.get_title()
    assert stopped.get_xlabel() == "training step (Adam, batch 32; a run stops once it has learned)"
    # and the key goes above the plateau, where no curve ends
    assert (
        stopped.get_legend().get_window_extent().y0 > stopped.transData.transform((0, np.log(4)))[1]
    )


def test_time_steps_get_whole_ticks_and_the_memory_key_explains_every_line(tmp_path, figures):
    from tinygrad_seq.demos.memory import KINDS
    from tinygrad_seq.viz import plots

    MEMORY_LABELS = [label for _, label, _ in KINDS]  # the demo's, in its order
    assert MEMORY_LABELS == ["RNN", "LSTM, b_f = 1", "LSTM, b_f = 3", "GRU"]

    steps = 20
    norms = {"RNN ‖∂L/∂h_t‖": {t: 10.0 ** (t - steps) for t in range(steps)}}
    plots.bptt_norms_figure(tmp_path / "n.png", norms, steps)
    rng = np.random.default_rng(0)
    plots.memory_figure(
        tmp_path / "m.png",
        [5, 15, 30],
        {label: [1.0, 1.0, 0.5 if label == "RNN" else 1.0] for label in MEMORY_LABELS},
        0.25,
        {label: [1.4, 0.9 if label == "RNN" else 0.0] for label in MEMORY_LABELS},
        30,
        rng.random((12, 8)),
        30,
        rng.random((11, 8)),
        rng.random((11, 8)) * 0.1,
        3,
    )
    memory = figures["m.png"].axes
    heat, cells = memory[2], memory[3]
    for ax in (figures["n.png"].axes[0], heat, cells):
        ticks = [x for x in ax.get_xticks() if ax.get_xlim()[0] <= x <= ax.get_xlim()[1]]
        assert ticks and all(float(x).is_integer() for x in ticks), ticks
    key = [text.get_text() for text in cells.get_legend().get_texts()]
    assert {"each unit before training", "each unit after training"} <= set(key)
    # curves that coincide (all at 100 %) stay visible: nested markers, widest drawn first
    acc = {line.get_label(): line for line in memory[0].get_lines() if line.get_marker()}
    widest_first = ("LSTM, b_f = 1", "LSTM, b_f = 3", "GRU", "RNN")
    sizes = [acc[name].get_markersize() for name in widest_first]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4
    drawn = [line.get_label() for line in memory[0].get_lines()]
    assert [drawn.index(name) for name in widest_first] == sorted(
        drawn.index(name) for name in widest_first
    )
    # the two LSTMs apart by colour too
    assert acc["LSTM, b_f = 1"].get_color() != acc["LSTM, b_f = 3"].get_color()
    # while the key lists the models in the data's order, the chance line after them; each
    # LSTM is named by its forget-gate bias (a bare "LSTM" beside "LSTM, b_f = 3" reads as
    # an LSTM without one)
    key = [text.get_text() for text in memory[0].get_legend().get_texts()]
    assert key == [*MEMORY_LABELS, "chance 25%"]
    # the lower panels show one of the two LSTMs of the upper ones: their titles say which
    plots.memory_figure(
        tmp_path / "g.png", [5, 30], {"RNN": [1.0, 0.5]}, 0.25, {"RNN": [1.4, 0.9]}, 30,
        rng.random((12, 8)), 30, rng.random((11, 8)), rng.random((11, 8)) * 0.1, 3,
        gate_model="LSTM, b_f = 1",
    )  # fmt: skip
    heat, cells = figures["g.png"].axes[2], figures["g.png"].axes[3]
    assert heat.get_title() == "Trained LSTM, b_f = 1 (D = 30): forget gates f_t"
    assert cells.get_title().startswith("The cell path's gradient (LSTM, b_f = 1)")


def test_derivations_figure_says_which_bar_is_not_against_sympy(tmp_path, figures):
    """The vanishing-gradient bound has no SymPy derivative: its bar is the engine's relative
    error against the numeric J_T⋯J₂, and the figure must not call it an engine-vs-SymPy
    difference."""
    from tinygrad_seq.viz import plots

    compared = "engine's relative error against the numeric J_T⋯J₂"
    ids = [
        {"title": "tanh'", "symbolic_ok": True, "numeric_max_error": 1e-16},
        {"title": "bound", "symbolic_ok": None, "numeric_max_error": 4e-15, "compared": compared},
    ]
    plots.derivations_figure(tmp_path / "d.png", ids, 1e-10)
    ax = figures["d.png"].axes[0]
    label = ax.get_xlabel()
    assert "SymPy" in label.splitlines()[0] and compared in label
    bar_texts = {t.get_text().strip(): t for t in ax.texts}
    assert "1.0e-16" in bar_texts  # an engine-vs-SymPy bar: just the number
    (bound,) = [t for t in bar_texts if t.startswith("4.0e-15")]
    assert "not vs SymPy" in bound
    renderer = figures["d.png"].canvas.get_renderer()
    box, frame = bar_texts[bound].get_window_extent(renderer), ax.get_window_extent(renderer)
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1  # the mark is not cut off


def test_only_an_error_of_exactly_zero_reads_exactly_zero(tmp_path, figures):
    # an error below the axis floor (1e-19) is drawn on the floor, but its number is shown
    from tinygrad_seq.viz import plots

    ids = [
        {"title": "zero", "symbolic_ok": True, "numeric_max_error": 0.0},
        {"title": "tiny", "symbolic_ok": True, "numeric_max_error": 3e-25},
    ]
    plots.derivations_figure(tmp_path / "d.png", ids, 1e-10)
    bar_texts = [t.get_text().strip() for t in figures["d.png"].axes[0].texts]
    assert "exactly 0" in bar_texts and "3.0e-25" in bar_texts


def test_derivations_figure_shows_its_tolerance_label_with_one_bar_or_many(tmp_path, figures):
    # the label hung from the top bar's edge: with one bar that lay above the axes, unseen
    from tinygrad_seq.viz import plots

    for n in (1, 12):
        ids = [
            {"title": f"identity {i}", "symbolic_ok": True, "numeric_max_error": 1e-16}
            for i in range(n)
        ]
        plots.derivations_figure(tmp_path / f"d{n}.png", ids, 1e-10)
        fig = figures[f"d{n}.png"]
        ax = fig.axes[0]
        (label,) = [t for t in ax.texts if t.get_text().startswith("tolerance")]
        renderer = fig.canvas.get_renderer()
        box, frame = label.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert label.get_visible() and label.get_text() == "tolerance 1e-10"
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1 and frame.x0 <= box.x0 <= frame.x1


def test_bptt_norms_figure_shows_steps_whose_norm_is_zero_nan_or_inf(tmp_path, figures):
    """A log axis cannot place 0, NaN or inf and matplotlib leaves such points out without
    a word: the figure said "through 7 steps" and showed 2. They are markers on the frame
    now (0 at the bottom, NaN and inf at the top), and the legend names their steps."""
    from tinygrad_seq.viz import plots

    steps = 7
    norms = {"RNN ‖∂L/∂h_t‖": {0: 0.0, 1: np.nan, 2: np.inf, 3: 0.1, 4: 0.0, 5: 0.0, 6: 0.2}}
    plots.bptt_norms_figure(tmp_path / "b.png", norms, steps)
    ax = figures["b.png"].axes[0]
    key = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "RNN ‖∂L/∂h_t‖ = 0 at t = 0, 4, 5 (on the bottom edge)" in key
    assert "RNN ‖∂L/∂h_t‖ = NaN at t = 1 (on the top edge)" in key
    assert "RNN ‖∂L/∂h_t‖ = inf at t = 2 (on the top edge)" in key
    drawn = set()  # (step, where): a point on the log scale, or a marker on the frame
    for line in ax.get_lines():
        on_frame = "edge" in line.get_label()
        for t, y in line.get_xydata():
            if np.isfinite(y):
                drawn.add((int(t), {0.0: "bottom", 1.0: "top"}[y] if on_frame else "scale"))
    assert drawn == {
        (0, "bottom"), (4, "bottom"), (5, "bottom"), (1, "top"), (2, "top"),
        (3, "scale"), (6, "scale"),
    }  # fmt: skip
    _texts_inside_axes(figures["b.png"])
    _png(tmp_path / "b.png")
    # no norm on the scale at all: the markers still have an axis to sit on, and no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.bptt_norms_figure(tmp_path / "z.png", {"RNN ‖∂L/∂h_t‖": {0: 0.0, 1: 0.0}}, 2)
    _png(tmp_path / "z.png")
    # three or more steps in a row are written as a run
    runs = {"RNN ‖∂L/∂h_t‖": {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.1, 4: 0.0, 5: 0.0, 6: 0.2}}
    plots.bptt_norms_figure(tmp_path / "r.png", runs, steps)
    key = [text.get_text() for text in figures["r.png"].axes[0].get_legend().get_texts()]
    assert "RNN ‖∂L/∂h_t‖ = 0 at t = 0–2, 4, 5 (on the bottom edge)" in key


def test_bptt_demo_ratios_survive_a_zero_norm():
    """The demo divided by the first step's norm: a gradient that vanished to exactly 0
    raised ZeroDivisionError. It fell by an infinite factor; 0 / 0 is no ratio at all."""
    from tinygrad_seq.demos.graphs_demo import _ratio

    assert _ratio(1e-3, 0.1) == pytest.approx(1e-2)
    assert _ratio(0.5, 0.0) == math.inf
    assert math.isnan(_ratio(0.0, 0.0))


def test_heatmap_says_what_it_expected_of_its_matrix_and_labels(tmp_path):
    """A teacher's first heatmap is often a model's attention weights as they come, (B, Tq, Tk)
    and a Tensor, with a label list of the wrong length: each gets the heatmap's own error,
    not matplotlib's ("Invalid shape (1, 5, 7) for image data", "FixedLocator locations")."""
    from tinygrad_seq.viz import plots

    import tinygrad_seq as ts

    weights = ts.Tensor(np.full((1, 2, 3), 1 / 3), requires_grad=True)  # (B, Tq, Tk)
    fig, ax = plots.new_figure()
    with pytest.raises(ValueError, match=r"heatmap: .*2-D.*\(1, 2, 3\).*\[0\]"):
        plots.heatmap(ax, weights)
    with pytest.raises(ValueError, match=r"heatmap: 2 xlabels for a matrix of 3 columns"):
        plots.heatmap(ax, weights[0], xlabels=["a", "b"])
    with pytest.raises(ValueError, match=r"heatmap: 3 ylabels for a matrix of 2 rows"):
        plots.heatmap(ax, weights[0], ylabels=["x", "y", "z"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Tensor is drawn from its data, without a warning
        plots.heatmap(ax, weights[0], xlabels=["a", "b", "c"], ylabels=["x", "y"])
    assert sorted(t.get_text() for t in ax.texts) == [".33"] * 6
    _png(plots.save(fig, tmp_path / "h.png"))


@pytest.mark.parametrize("name", ["numpy", "cupy"])
def test_heatmap_draws_an_array_of_either_backend_from_host_memory(name):
    """A raw array of either backend (a CuPy one refuses np.asarray) is drawn as a Tensor is:
    copied to the host, its numbers in the cells."""
    from tinygrad_seq.viz import plots

    import tinygrad_seq as ts

    reason = ts.backend.unavailable_reason(name)
    if reason is not None:
        pytest.skip(f"backend {name!r} unavailable: {reason}")
    xp = ts.backend.module(name)
    fig, ax = plots.new_figure()
    image = plots.heatmap(ax, xp.asarray(np.array([[0.25, 0.75]])), ["a", "b"], ["r"])
    np.testing.assert_array_equal(np.asarray(image.get_array()), [[0.25, 0.75]])
    assert [t.get_text() for t in ax.texts] == [".25", ".75"]
