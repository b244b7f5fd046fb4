"""The tour's figures, drawn with matplotlib (imported inside each function, Agg canvas).

Every function takes plain NumPy data and a path, writes one PNG and returns the path (the
data comes from the demos: `summary.json` keeps their numbers, not every curve). Nothing
here touches pyplot's global state: figures are `matplotlib.figure.Figure` objects on an
Agg canvas, safe in scripts, tests and threads, with no display needed.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

PathLike = str | os.PathLike
# picture and document suffixes matplotlib does not write (other dotted names get .png)
_OTHER_FORMATS = ("bmp", "ico", "html")

# One colour per model family, the same in every figure.
COLORS = {
    "MLP": "#7f7f7f",
    "BoW MLP": "#7f7f7f",
    "RNN": "#d62728",
    "LSTM": "#1f77b4",
    "LSTM, b_f = 1": "#1f77b4",  # (the memory demo's two LSTMs: the library's default b_f)
    "LSTM, b_f = 3": "#17becf",
    "GRU": "#2ca02c",
    "seq2seq": "#d62728",
    "seq2seq + attention": "#1f77b4",
    "Transformer": "#9467bd",
    "self-attention": "#9467bd",
}


def new_figure(
    nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (6.4, 4.2), **kwargs: Any
):
    """A Figure on an Agg canvas and its axes (squeezed like pyplot.subplots)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


def save(fig, path: PathLike, dpi: int = 110) -> Path:
    """Write the figure and return the path written.

    The format is PNG, or the format its suffix names (.svg, .pdf, ...); a path without a picture
    suffix gets .png added ("loss_lr=0.01")."""
    path = Path(path)
    suffix = path.suffix.lstrip(".").lower()
    if suffix not in fig.canvas.get_supported_filetypes():
        if suffix in _OTHER_FORMATS:  # out.bmp: not a name to add .png to silently
            raise ValueError(
                f"save: path {str(path)!r} ends in .{suffix}, which matplotlib cannot write; "
                "use .png, .svg or .pdf"
            )
        suffix = "png"
        path = path.with_name(path.name + ".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=suffix, dpi=dpi)
    return path


def heatmap(
    ax,
    matrix: np.ndarray,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    annotate: bool | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    cmap: str = "viridis",
    colorbar: bool = True,
):
    """Draw `matrix` (rows = ylabels, columns = xlabels) on `ax`; numbers in cells if small.

    `matrix` is 2-D, (rows, cols): a NumPy or CuPy array or a Tensor (its data is drawn),
    such as one row's attention weights `weights[0]` (Tq, Tk); a label list has one label per
    row or column."""
    from tinygrad_seq import backend

    # copied to the host: a Tensor's data (np.asarray would warn that it leaves the graph),
    # a CuPy array (which refuses np.asarray)
    matrix = np.asarray(backend.host(matrix), dtype=float)
    if matrix.ndim != 2:
        raise ValueError(
            f"heatmap: expected a 2-D matrix (rows, columns), got shape {matrix.shape}; draw "
            "one 2-D slice of it, e.g. weights[0] of attention weights (B, Tq, Tk)"
        )
    rows, cols = matrix.shape
    for labels, count, name, what in (
        (xlabels, cols, "xlabels", "column"),
        (ylabels, rows, "ylabels", "row"),
    ):
        if labels is not None and len(labels) != count:
            raise ValueError(
                f"heatmap: {len(labels)} {name} for a matrix of {count} {what}s; "
                f"give one label per {what}"
            )
    im = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    many = 12  # past this many columns, labels stand upright and small (past twice as many
    # rows, small): no overlaps
    if xlabels is not None:
        ax.set_xticks(
            range(cols),
            labels=list(xlabels),
            rotation=90 if cols > many else 45 if cols > 4 else 0,
            ha="right" if 4 < cols <= many else "center",
            fontsize=6 if cols > many else None,
        )
    if ylabels is not None:
        ax.set_yticks(range(rows), labels=list(ylabels), fontsize=6 if rows > 2 * many else None)
    if annotate is None:
        annotate = rows * cols <= 80
    if annotate:
        for r in range(rows):
            for c in range(cols):
                v = matrix[r, c]
                red, green, blue, _ = im.cmap(im.norm(v))
                light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5  # text must contrast
                ax.text(
                    c,
                    r,
                    f"{v:.2f}".lstrip("0") if 0 <= v < 1 else f"{v:.1f}",
                    ha="center",
                    va="center",
                    fontsize=9 if rows * cols <= 49 else 7,  # (larger where cells are)
                    color="black" if light else "white",
                )
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.85)
    return im


# the MLP counts exactly the RNN's work: dashed, so that the RNN's line shows where they meet
LOGLOG_STYLES = {"MLP": "s--"}


def _loglog_panel(
    ax,
    ns,
    ys: dict[str, Sequence[float]],
    slopes: dict[str, float],
    fit_from: int,
    ylabel: str,
    title: str,
    scale: float = 1.0,
) -> None:
    """One log-log panel: a line per model, its fitted slope in the legend, and guides."""
    ns = np.asarray(ns, float)
    for model, y in ys.items():
        y = np.asarray(y, float) * scale
        if not len(y):
            continue
        label = model
        if model in slopes:
            k = slopes[model]
            label = f"{model}: slope {abs(k) if abs(k) < 5e-3 else k:.2f}"  # no "-0.00"
        style = LOGLOG_STYLES.get(model, "o-")
        ax.loglog(ns, y, style, color=COLORS.get(model), label=label, lw=1.8, ms=4)
        fit = ns >= fit_from
        if fit.sum() >= 2:  # the fitted line, drawn over the fitted range
            k, c = np.polyfit(np.log(ns[fit]), np.log(y[fit]), 1)
            ax.loglog(ns[fit], np.exp(c) * ns[fit] ** k, ":", color="black", lw=1.2)
    ax.axvspan(fit_from, ns.max(), color="#f3f3f3", zorder=0, label=f"fit range n ≥ {fit_from}")
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def complexity_figure(
    path: PathLike,
    ns: Sequence[int],
    series: dict[str, dict[str, list]],
    slopes: dict[str, dict[str, float]],
    fit_from: int,
    d_model: int,
    time_title: str = "Time (best of several runs)",
    note: str = "",
) -> Path:
    """Time, counted work, peak memory and sequential depth against n, log-log.

    Slopes are fitted (work and memory where the series hold them: "flops", "peak_bytes").
    `note`, if any, goes under the title (where this run's measurements contradict it)."""
    get = lambda key: {m: s.get(key, []) for m, s in series.items()}  # noqa: E731
    panels = [
        ("time_s", "time", "forward + backward time (ms)", time_title, 1e3),
        (
            "flops",
            "work",
            "forward-pass arithmetic (MFLOP, counted)",
            "Work (counted in the graph: no clock)",
            1e-6,
        ),
        (
            "peak_bytes",
            "memory",
            "peak memory during forward + backward (MiB)",
            "Peak memory (tracemalloc)",
            1 / 2**20,
        ),
        (
            "depth",
            "depth",
            "longest chain of ops in the graph",
            "Sequential depth (what cannot run in parallel)",
            1.0,
        ),
    ]
    panels = [p for p in panels if p[0] in ("time_s", "depth") or any(get(p[0]).values())]
    grid = (2, 2) if len(panels) == 4 else (1, len(panels))
    fig, axes = new_figure(*grid, size=(5.0 * grid[1], 4.2 * grid[0]))
    for ax, (key, slope, ylabel, title, scale) in zip(np.ravel(axes), panels, strict=True):
        fitted = {m: s[slope] for m, s in slopes.items() if slope in s}
        _loglog_panel(ax, ns, get(key), fitted, fit_from, ylabel, title, scale=scale)
    title = (
        "The seed: RNN, LSTM and MLP are O(n), self-attention O(n²). Measured exponents of n "
        f"(d = {d_model}, batch 1)"
    )
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=11)
    return save(fig, path)


def _whole_ticks(axis) -> None:
    """Ticks at whole numbers only (1, 2, 5 or 10 apart): time steps, units."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def _chance(
    ax, value: float, label: str = "chance", unit: str = "%", in_legend: bool = False
) -> None:
    """A dashed horizontal line at `value` (same units as the axis), labelled at its right
    end, or (in_legend: behind bars, where a label on the plot would sit on a bar) in the
    axes' legend."""
    text = f"{label} {value:g}{unit}"
    if in_legend:
        ax.axhline(value, color="black", ls="--", lw=1, zorder=3, label=text)
        return
    ax.axhline(value, color="black", ls="--", lw=1)
    ax.annotate(
        text,
        (0.99, value),
        xycoords=("axes fraction", "data"),
        va="bottom",
        ha="right",
        fontsize=8,
    )


def _bar_labels(ax, names, values, fmt="{:.0%}", scale=100.0) -> None:
    bars = ax.bar(names, [v * scale for v in values], color=[COLORS.get(n, "#888") for n in names])
    for b, v in zip(bars, values, strict=True):
        ax.text(
            b.get_x() + b.get_width() / 2, v * scale + 1, fmt.format(v), ha="center", fontsize=9
        )


def fixed_size_figure(
    path: PathLike,
    words,
    v1,
    v2,
    s1: str,
    s2: str,
    accuracy: dict[str, float],
    losses: dict[str, list[float]],
    windows,
    window_acc,
    last_word,
    ngram_n,
    distinct,
    word_vocab: int,
    Ls,
    cut,
    padded,
    ngram_windows=None,
) -> Path:
    """Demo 1's figure: what fixed-size inputs lose (bag of words, windows, n-grams).

    Identical BoW vectors; order-task accuracy and loss; windows (beside `last_word`, the
    accuracy of a guess from the last word alone); n-grams, the distinct ones in the corpus
    beside the word_vocab^n possible and (`ngram_windows`, if given) the corpus's n-token
    windows, the most distinct ones it can hold; truncation vs padding."""
    fig, axes = new_figure(2, 3, size=(15, 8.4))
    ax = axes[0, 0]
    x = np.arange(len(words))
    ax.bar(x - 0.2, v1, 0.4, label=f'"{s1}"', color="#1f77b4")
    ax.bar(x + 0.2, v2, 0.4, label=f'"{s2}"', color="#ff7f0e", hatch="//")
    ax.set_xticks(x, labels=words)
    ax.set_ylim(0, max(max(v1), max(v2)) * 1.4)
    ax.set_ylabel("count in the sentence")
    ax.set_title("Bag-of-words: two sentences, one vector", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    names = list(accuracy)
    _bar_labels(ax, names, [accuracy[n] for n in names])
    ax.set_ylim(0, 125)  # the key above bars of 100 %
    ax.set_yticks(range(0, 101, 20))
    _chance(ax, 50.0, in_legend=True)
    ax.legend(fontsize=8, loc="upper center")
    ax.set_ylabel("test accuracy on unseen sentences (%)")
    ax.set_title(
        'Order task: "the cat sat on the dog" — is the first\nanimal the smaller? '
        "(BoW cannot tell)",
        fontsize=10,
    )

    ax = axes[0, 2]
    # ln 2 in the key, a thin line under the curves: the BoW MLP's loss stays on it
    ax.axhline(
        np.log(2), color="black", ls=(0, (4, 3)), lw=0.8, zorder=1, label="ln 2 (a coin flip)"
    )
    for name, loss in losses.items():
        flat = name.startswith("BoW")  # drawn thicker, over the ln 2 line it follows
        ax.plot(
            np.arange(1, len(loss) + 1),
            loss,
            color=COLORS.get(name),
            label=name,
            lw=2.2 if flat else 1.3,
            alpha=0.8 if flat else 1.0,
            zorder=2,
        )
    ax.set_yscale("log")
    ax.set_xlabel("training step (Adam, batch 32)")
    ax.set_ylabel("cross-entropy loss (nats, log scale)")
    ax.set_title("Order task: training loss", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    ax.plot(
        windows,
        np.asarray(window_acc) * 100,
        "o-",
        color="#8c564b",
        label="MLP on one-hot of the last n tokens",
    )
    ax.axhline(
        last_word * 100,
        color="#8c564b",
        ls=":",
        lw=1.2,
        label=f"the last word alone: {last_word:.0%}",
    )
    _chance(ax, 50.0, in_legend=True)
    ax.set_ylim(0, 105)
    ax.set_xlabel("window size n (tokens)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Fixed window: it sees only the last n tokens", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")

    ax = axes[1, 1]
    ax.semilogy(ngram_n, distinct, "s-", color="#17becf", label="distinct n-grams in the corpus")
    ax.semilogy(
        ngram_n,
        [float(word_vocab) ** n for n in ngram_n],
        ":",
        color="#17becf",
        label=f"possible n-grams (${word_vocab}^n$)",
    )
    if ngram_windows is not None:
        ax.semilogy(
            ngram_n,
            ngram_windows,
            "--",
            color="#7f7f7f",
            label="n-token windows in the corpus (the most it can hold)",
        )
    ax.set_xlabel("n (tokens per window)")
    ax.set_ylabel("number of n-grams (log scale)")
    ax.set_title(
        f"n-grams: the possible ones grow exponentially (${word_vocab}^n$);\n"
        "the distinct ones in a finite corpus grow ever more slowly",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)

    ax = axes[1, 2]
    cut_label = "tokens cut (lost), % of all tokens"
    ax.plot(Ls, np.asarray(cut) * 100, "-", color="#d62728", label=cut_label)
    pad_label = "slots padded (wasted), % of all slots"
    ax.plot(Ls, np.asarray(padded) * 100, "-", color="#7f7f7f", label=pad_label)
    ax.set_xlabel("fixed length L (tokens)")
    ax.set_ylabel("share cut or padded (%)")
    ax.set_title("Truncate or pad to L: every L loses something", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.suptitle("Fixed-size inputs for an MLP, and what each loses", fontsize=12)
    return save(fig, path)


def vanishing_figure(
    path: PathLike,
    Ts,
    curves: dict[str, list[float]],
    bound,
    typical,
    seed_line,
    mean_dtanh: float,
    sweep: dict[str, list[float]],
    at: int,
    dashed: Sequence[str] = (),
) -> Path:
    """Demo 2: Jacobian norms against T (log scale) per model, and the ρ sweep."""
    fig, (ax, ax2) = new_figure(1, 2, size=(13, 6.6))
    Ts = np.asarray(Ts)
    # The gates-open curves (LSTM b_f = 3, GRU b_z = -3) nearly coincide: each gets its own
    # marker, and their dashes are staggered, so that where one lies on the other both show
    open_styles = [((0, (6, 4)), "s"), ((5, (6, 4)), "^"), ((2, (2, 2)), "D"), ((0, (1, 2)), "v")]
    every = max(len(Ts) // 8, 1)
    k_open = 0
    for label, norms in curves.items():
        family = label.split(",")[0].split()[0]  # "LSTM cell path, b_f = 3" -> "LSTM"
        if label in dashed:
            ls, marker = open_styles[k_open % len(open_styles)]
            start = (k_open * every) // 2  # markers of overlapping curves side by side
            ax.semilogy(
                Ts,
                norms,
                ls=ls,
                lw=2,
                marker=marker,
                ms=6,
                markevery=(start, every),
                mfc="white",
                color=COLORS.get(family),
                label=label,
            )
            k_open += 1
        else:
            ax.semilogy(Ts, norms, ls="-", lw=2, color=COLORS.get(family), label=label)
    ax.semilogy(
        Ts,
        bound,
        ":",
        color=COLORS["RNN"],
        lw=1.5,
        label="seed's bound ‖W_hh‖^(T−1) Π max tanh' (RNN)",
    )
    ax.semilogy(
        Ts,
        typical,
        "-.",
        color=COLORS["RNN"],
        lw=1,
        label=f"(0.9 × mean tanh' {mean_dtanh:.2f})^(T−1)",
    )
    ax.semilogy(Ts, seed_line, "--", color="black", lw=1, label="seed's example (0.9 × 0.3)^(T−1)")
    seed_at = seed_line[at - 1]
    ax.plot([at], [seed_at], "ko")
    # the text in the lower left corner, which every curve has left by then (they all start
    # at 1 for T = 1 and fall), with an arrow to the point
    ax.annotate(
        f"seed's example at T = {at}:\n(0.9)^{at - 1} (0.3)^{at - 1} ≈ {seed_at:.2e}",
        (at, seed_at),
        xytext=(0.03, 0.05),
        textcoords="axes fraction",
        fontsize=8,
        ha="left",
        va="bottom",
        bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#999999", "lw": 0.6},
        arrowprops={"arrowstyle": "->", "color": "black", "lw": 0.8, "shrinkB": 4},
    )
    ax.axvline(at, color="#999", lw=0.8)
    ax.set_xlabel("T (h_T is T − 1 steps after h_1)")
    ax.set_ylabel("‖∂h_T/∂h_1‖₂  (for the LSTM ‖∂C_T/∂C_1‖₂), log scale")
    ax.set_title("Gradient norm through time, from the engine's backward", fontsize=10)
    ax.set_ylim(max(min(min(v) for v in curves.values()), 1e-40) / 10, 10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2)

    from matplotlib import colormaps

    cmap = colormaps["coolwarm"]
    for k, (label, norms) in enumerate(sweep.items()):
        ax2.semilogy(Ts, norms, color=cmap(k / max(len(sweep) - 1, 1)), lw=2, label=label)
    ax2.axhline(1.0, color="black", lw=0.8)
    ax2.set_xlabel("T (h_T is T − 1 steps after h_1)")
    ax2.set_ylabel("‖∂h_T/∂h_1‖₂, log scale")
    ax2.set_title("Vanilla RNN: spectral radius ρ of W_hh (small inputs)", fontsize=10)
    ax2.grid(True, which="major", alpha=0.3)
    ax2.legend(
        fontsize=8,
        title="W_hh = ρ · orthogonal",
        title_fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.11),
        ncol=4,
    )
    fig.suptitle("Vanishing and exploding gradients (float64, hidden size 32)", fontsize=12)
    return save(fig, path)


def memory_figure(
    path: PathLike,
    delays,
    acc: dict[str, list[float]],
    chance: float,
    losses: dict[str, list[float]],
    longest: int,
    f_mean: np.ndarray,
    gate_delay: int,
    cum_trained: np.ndarray,
    cum_init: np.ndarray,
    top: int,
    batch: int = 32,
    per_run: dict[str, list[list[float]]] | None = None,
    stopped: bool = False,
    gate_model: str = "LSTM",
) -> Path:
    """Demo 3: accuracy vs delay; losses; forget gates over time; Π f_t along the cell path.

    `acc` holds each model's mean accuracy per delay, `per_run` (optional) every run's, drawn
    as dots beside the mean; `losses` one curve per model, or a list of curves (one per run).
    `stopped`: the runs stopped once they had learned. The losses' axis says so (a curve
    that ends early would look cut off), and their key goes above the plateau: below it,
    where it goes otherwise, a run solved late ends. `gate_model` names the model whose
    forget gates the lower panels show ("LSTM, b_f = 1"): the upper ones may show two LSTMs.
    """
    from matplotlib.lines import Line2D

    fig, axes = new_figure(2, 2, size=(12, 8.6))
    ax = axes[0, 0]
    # Curves often coincide (all at 100 %): nested markers and line widths keep each one
    # visible on the others, the widest drawn first. (line style, width, marker, size, fill)
    styles = {
        "LSTM": ("-", 5.0, "s", 13, "white"),
        "LSTM, b_f = 1": ("-", 5.0, "s", 13, "white"),
        "LSTM, b_f = 3": ((0, (1, 1)), 3.5, "D", 10, "white"),
        "GRU": ((0, (4, 2)), 2.5, "^", 8, None),
        "RNN": ("-", 1.2, "o", 4, None),
    }
    order = sorted(acc, key=lambda name: -styles.get(name, ("-", 2.0))[1])
    for label in order:
        ls, width, marker, size, face = styles.get(label, ("-", 2.0, "o", 5, None))
        ax.plot(
            delays,
            np.asarray(acc[label]) * 100,
            ls=ls,
            lw=width,
            marker=marker,
            ms=size,
            mew=2 if face else 1,
            mfc=face or COLORS.get(label),
            color=COLORS.get(label),
            label=label,
        )
    # the chance line in the key: a label at its end would sit on the runs' dots there
    _chance(ax, chance * 100, in_legend=True)
    handles, labels = ax.get_legend_handles_labels()
    keep = [labels.index(n) for n in acc if n in labels]  # the key in the data's order
    keep += [k for k, n in enumerate(labels) if n.startswith("chance")]
    handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
    n_runs = len(per_run[next(iter(per_run))][0]) if per_run else 1
    if n_runs > 1:  # each run a dot, the models side by side around each delay
        spread = 0.012 * (max(delays) - min(delays) or 1)
        for i, label in enumerate(acc):
            offset = (i - (len(acc) - 1) / 2) * spread
            for d, runs in zip(delays, per_run[label], strict=True):
                ax.plot(
                    [d + offset] * len(runs),
                    np.asarray(runs) * 100,
                    ls="none",
                    marker=".",
                    ms=7,
                    alpha=0.75,
                    color=COLORS.get(label),
                    zorder=5,
                )
        handles.append(Line2D([], [], ls="none", marker=".", ms=7, color="#555555"))
        labels.append(f"one run (lines: the mean of {n_runs})")
    ax.set_ylim(0, 105)
    ax.set_xticks(delays)
    ax.set_xlabel("delay D (distractor tokens between the symbol and the question)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Remember the first token across D steps", fontsize=10)
    # three columns fit the key under the chance line, where no model's mean falls
    ax.legend(handles, labels, fontsize=8, markerscale=0.7, ncol=3, loc="lower left")

    ax = axes[0, 1]
    for label, curves in losses.items():
        if len(curves) and np.ndim(curves[0]) == 0:  # one curve
            curves = [curves]
        for r, loss in enumerate(curves):
            ax.plot(
                np.arange(1, len(loss) + 1),
                loss,
                color=COLORS.get(label),
                label=label if r == 0 else None,
                lw=1,
                alpha=1.0 if len(curves) == 1 else 0.7,
            )
    # in the key: a label on the line would sit on the curves that stay at guessing
    ax.axhline(np.log(4), color="black", ls="--", lw=1, zorder=3, label="ln 4 (guessing)")
    stop_note = "; a run stops once it has learned" if stopped else ""
    ax.set_xlabel(f"training step (Adam, batch {batch}{stop_note})")
    ax.set_ylabel("cross-entropy loss (nats)")
    n_curves = max(len(c) if len(c) and np.ndim(c[0]) else 1 for c in losses.values())
    runs_note = f" (each run a line: {n_curves} per model)" if n_curves > 1 else ""
    ax.set_title(f"Training at D = {longest}{runs_note}", fontsize=10)
    if stopped:  # above the plateau: a run solved late ends where the key would go below it
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.3 * (high - low))
        ax.legend(fontsize=8, loc="upper right", ncol=3)
    else:  # below the plateau and above the solved curves
        ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 0.08))

    ax = axes[1, 0]
    im = ax.imshow(
        f_mean.T,
        aspect="auto",
        cmap="magma",
        vmin=0,
        vmax=1,
        extent=(0.5, f_mean.shape[0] + 0.5, f_mean.shape[1] - 0.5, -0.5),
    )
    fig.colorbar(im, ax=ax, label="forget gate f_t (mean over test sequences)")
    _whole_ticks(ax.xaxis)  # time steps and units are whole numbers
    _whole_ticks(ax.yaxis)
    ax.set_xlabel("time step t (1 = the symbol to remember)")
    ax.set_ylabel("LSTM unit")
    ax.set_title(f"Trained {gate_model} (D = {gate_delay}): forget gates f_t", fontsize=10)

    ax = axes[1, 1]
    steps = np.arange(2, cum_trained.shape[0] + 2)
    ax.semilogy(steps, cum_init, color="#bbbbbb", lw=0.8)
    ax.semilogy(steps, cum_trained, color=COLORS["LSTM"], lw=0.6, alpha=0.6)
    ax.semilogy(
        steps,
        cum_init.max(axis=1),
        color="#777777",
        lw=2,
        ls="--",
        label="highest unit at each T, before training",
    )
    ax.semilogy(
        steps,
        cum_trained[:, top],
        color=COLORS["LSTM"],
        lw=2.5,
        label=f"best unit after training (unit {top})",
    )
    ax.set_xlabel("T (time step)")
    _whole_ticks(ax.xaxis)
    ax.set_ylabel("Π f_t over t = 2..T  (= ∂C_T/∂C_1 per unit, log scale)")
    ax.set_title(f"The cell path's gradient ({gate_model}): thin lines = every unit", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    thin = [  # the thin lines, one per unit, have no label of their own
        Line2D([], [], color="#bbbbbb", lw=0.8, label="each unit before training"),
        Line2D([], [], color=COLORS["LSTM"], lw=0.6, alpha=0.6, label="each unit after training"),
    ]
    ax.legend(handles=[handles[0], thin[0], handles[1], thin[1]], fontsize=8, loc="lower left")
    # (a neutral title: whether the gates learned to stay open is what the panels measure)
    fig.suptitle("Memory across D steps: RNN, LSTM, GRU, and the LSTM's forget gates", fontsize=12)
    return save(fig, path)


def _sentence_axis(ax, words: Sequence[str]) -> None:
    """Tokens written out along the x axis (the last, "?", marked as the verb's place), the
    subject's and the verb's columns shaded."""
    ticks = [*words[:-1], f"{words[-1]} (verb)"]
    ax.set_xticks(range(len(words)), ticks, rotation=60, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(words) - 0.4)
    ax.axvspan(0.5, 1.5, color="#fff2b3", zorder=0)  # the subject
    ax.axvspan(len(words) - 1.5, len(words) - 0.5, color="#dff2df", zorder=0)  # the verb


def agreement_figure(
    path: PathLike,
    sentence: Sequence[str],
    lstm: dict[str, np.ndarray],
    lstm_unit: int,
    rnn_h: np.ndarray,
    rnn_unit: int,
    answers: dict[str, list[str]],
    clause_lengths: Sequence[int],
    acc: dict[str, list[float]],
    lstm_numbers: dict[str, Any],
    rnn_numbers: dict[str, Any],
) -> Path:
    """Demo 4: an LSTM unit's C_t and gates, an RNN unit's h_t, accuracy against k.

    The two units along the seed's sentence, and accuracy against the clause length k.

    `sentence`: its T words ("the cat that I saw yesterday ... ?"). `lstm` holds, for the
    LSTM's carrying unit, "C" and "write" (i_t ⊙ C̃_t) as (2, T) arrays, row 0 the sentence
    with "cat" and row 1 with "cats", and "f", "i", "o" (2, T) (row 0 drawn); `rnn_h` (2, T)
    the RNN unit's h_t on the same two. `answers[model]`: its verb for the two. `acc[label]`:
    accuracy per clause length. `lstm_numbers`, `rnn_numbers`: the demo's numbers of the two
    units (the titles quote them).
    """
    fig, axes = new_figure(2, 2, size=(12, 8.6))
    steps = np.arange(len(sentence))

    def _said(answer: str, right: str) -> str:  # the model's verb, marked where it is wrong
        return f"says {answer}" if answer == right else f"says {answer}, not {right}"

    plural = [sentence[0], "cats", *sentence[2:]]
    cat, cats = " ".join(sentence[:2]), " ".join(plural[:2])  # "the cat", "the cats"
    blue, red = COLORS["LSTM"], COLORS["RNN"]

    ax = axes[0, 0]
    _sentence_axis(ax, sentence)
    ax.bar(steps, lstm["write"][0], width=0.6, color=blue, alpha=0.25,
           label='written at step t, i_t ⊙ C̃_t ("cat")')  # fmt: skip
    ax.plot(steps, lstm["C"][0], color=blue, lw=2.5, marker="o", ms=4,
            label=f'C_t, "{cat} ..." → {_said(answers["LSTM"][0], "was")}')  # fmt: skip
    ax.plot(steps, lstm["C"][1], color=blue, lw=1.5, ls="--", marker="o", ms=3, mfc="white",
            label=f'C_t, "{cats} ..." → {_said(answers["LSTM"][1], "were")}')  # fmt: skip
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel(f"cell state C_t of unit {lstm_unit}")
    ax.set_title(
        f"LSTM unit {lstm_unit}: {lstm_numbers['share_of_C_written_at_subject']:.0%} of C_t at "
        "the verb was written at the subject",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="best")

    ax = axes[1, 0]
    _sentence_axis(ax, sentence)
    for name, label, style in (
        ("f", "forget gate f_t", dict(color=blue, lw=2.5, marker="s", ms=4)),
        ("i", "input gate i_t", dict(color="#ff7f0e", lw=2, marker="^", ms=4)),
        ("o", "output gate o_t", dict(color="#7f7f7f", lw=1.2, ls=":", marker=".", ms=5)),
    ):
        ax.plot(steps, lstm[name][0], label=label, **style)
    ax.axhline(1, color="black", lw=0.6, ls="--")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel(f"gates of unit {lstm_unit}")
    ax.set_title(f'Its gates along "{" ".join(sentence[:6])} ..."', fontsize=10)
    ax.legend(fontsize=8, loc="lower left", ncol=3)

    ax = axes[0, 1]
    _sentence_axis(ax, sentence)
    ax.plot(steps, rnn_h[0], color=red, lw=2.5, marker="o", ms=4,
            label=f'h_t, "{cat} ..." → {_said(answers["RNN"][0], "was")}')  # fmt: skip
    ax.plot(steps, rnn_h[1], color=red, lw=1.5, ls="--", marker="o", ms=3, mfc="white",
            label=f'h_t, "{cats} ..." → {_said(answers["RNN"][1], "were")}')  # fmt: skip
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylim(-1.08, 1.08)
    ax.set_ylabel(f"hidden state h_t of unit {rnn_unit}")
    ax.set_title(
        f"Vanilla RNN (k = {clause_lengths[-1]}), unit {rnn_unit}: |r| "
        f"{rnn_numbers['r_at_subject']:.2f} at the subject, {rnn_numbers['r_at_verb']:.2f} at "
        "the verb",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="lower left")

    ax = axes[1, 1]
    styles = {
        "LSTM": dict(color=blue, lw=4, marker="s", ms=11, mfc="white", mew=2),
        "RNN": dict(color=red, lw=1.5, marker="o", ms=5),
    }
    for label, values in acc.items():
        style = styles.get(label, dict(color=red, lw=1.5, ls="--", marker="o", ms=7, mfc="white"))
        ax.plot(clause_lengths, np.asarray(values) * 100, label=label, **style)
    _chance(ax, 50.0)
    ax.set_ylim(0, 105)
    ax.set_xticks(list(clause_lengths))
    ax.set_xlabel("clause length k (words between the subject and the verb)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Was or were? One model per k (open circles: one RNN for every k)",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(
        '"The cat that I saw yesterday was ...": what an LSTM and a vanilla RNN keep of the '
        "subject",
        fontsize=12,
    )
    return save(fig, path)


def gru_vs_lstm_figure(
    path: PathLike,
    sizes,
    d: int,
    params: dict[str, list[int]],
    delays,
    acc: dict[str, list[float]],
    cost: dict[str, Any],
    ops: dict[str, int],
    verdict: str = "",
) -> Path:
    """Demo 5's figure: the GRU against the LSTM in parameters, accuracy and cost.

    Parameters against hidden size; accuracy per delay; the GRU's cost over the LSTM's per
    delay.

    `cost` is the demo's `measure_cost`: for each hidden size ("h=32": ...) the median of
    the paired CPU-time ratios GRU / LSTM per delay ("ratio_median"), its quartiles
    ("ratio_q1", "ratio_q3", the whiskers) and the counted work's ratio ("work_ratio"), with
    "hidden_sizes", "rounds" and "clock". `verdict` ends the title: what the accuracies
    measured here say ("as accurate here").
    """
    fig, axes = new_figure(1, 3, size=(15, 4.6))
    ax = axes[0]
    styles = {"LSTM": "o-", "GRU": "s-"}
    for label, counts in params.items():
        family = label.split(",")[0]
        main = label in styles
        ax.loglog(
            sizes,
            counts,
            styles.get(label, ":"),
            # the bias-free count lies almost on the GRU's line: dark, thin and on top
            color=COLORS.get(family) if main else "black",
            lw=2 if main else 1.2,
            zorder=2 if main else 3,
            label=label,
            base=2,
        )
    for h, lstm, gru in zip(sizes, params["LSTM"], params["GRU"], strict=True):
        ax.annotate(
            f"{gru / lstm:.2f}×",
            (h, gru),
            xytext=(0, -14),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            color=COLORS["GRU"],
        )
    lowest = min(min(counts) for counts in params.values())
    ax.set_ylim(bottom=lowest / 2)  # room for the ratio under the first point
    ax.set_xlabel("hidden size h")
    ax.set_ylabel("parameters in one layer (log scale)")
    ax.set_title(f"Parameters (input size d = {d}): GRU = 3/4 LSTM", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)

    x = np.arange(len(delays))
    ax = axes[1]
    for k, (label, v) in enumerate(acc.items()):
        values = np.asarray(v) * 100
        bars = ax.bar(x + (k - 0.5) * 0.38, values, 0.38, color=COLORS.get(label), label=label)
        for b, value in zip(bars, values, strict=True):
            ax.text(
                b.get_x() + b.get_width() / 2,
                value,
                f"{value:.0f}%",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xticks(x, labels=[f"D = {dl}" for dl in delays])
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Delay task: accuracy with the same training budget", fontsize=10)
    # the bars reach 100 %: the key above them, the chance line in it
    ax.set_ylim(0, 125)
    ax.set_yticks(range(0, 101, 20))
    _chance(ax, 25.0, in_legend=True)
    ax.legend(fontsize=8, loc="upper center", ncol=3)

    ax = axes[2]
    hs = cost["hidden_sizes"]
    width = 0.8 / len(hs)
    shades = ["#98df8a", COLORS["GRU"], "#1a6e1a"]  # light to dark: small h to large
    top = 1.0
    for k, h in enumerate(hs):
        e = cost["by_hidden"][f"h={h}"]
        median = np.asarray(e["ratio_median"], dtype=float)
        q1, q3 = np.asarray(e["ratio_q1"], float), np.asarray(e["ratio_q3"], float)
        pos = x + (k - (len(hs) - 1) / 2) * width
        bars = ax.bar(
            pos,
            median,
            width,
            yerr=[median - q1, q3 - median],
            capsize=3,
            color=shades[min(k, len(shades) - 1)],
            label=f"{cost['clock']}, h = {h}",
            error_kw={"lw": 1},
        )
        dark = k == len(hs) - 1 and k > 0
        for b, value in zip(bars, median, strict=True):  # inside, clear of the lines
            ax.text(
                b.get_x() + b.get_width() / 2,
                value * 0.45,
                f"{value:.2f}×",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
        ax.plot(
            pos,
            e["work_ratio"],
            "_",
            color="black",
            ms=14,
            mew=2,
            label="counted work (forward FLOPs)" if k == 0 else None,
        )
        top = max(top, float(q3.max()))
    ax.axhline(1.0, color="black", ls="--", lw=1, label="equal cost")
    ax.set_xticks(x, labels=[f"D = {dl}" for dl in delays])
    ax.set_ylabel(
        f"GRU ÷ LSTM, forward + backward\n(median of {cost['rounds']} paired runs; "
        "whiskers: middle half)"
    )
    ax.set_title(
        f"Cost, GRU ÷ LSTM (ops per time step: LSTM {ops['LSTM']}, GRU {ops['GRU']})",
        fontsize=10,
    )
    ax.set_ylim(0, top * 1.45)  # room for the labels and the key
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    fig.suptitle(
        "GRU vs LSTM: 3/4 of the parameters" + (f", {verdict}" if verdict else ""), fontsize=12
    )
    return save(fig, path)


def bottleneck_figure(
    path: PathLike,
    lengths,
    acc: dict[str, list[float]],
    losses: dict[str, list[float]],
    hidden: int,
    chance: float,
    title: str = "Seq2seq: accuracy falls with input length; with attention it falls less",
) -> Path:
    """Demo 6's figure: token accuracy against source length, plain vs attention.

    Beside it the training losses. `title`: the figure's, what the run showed (the demo's
    `bottleneck_title`)."""
    fig, (ax, ax2) = new_figure(1, 2, size=(12, 4.6))
    for label, a in acc.items():
        ax.plot(lengths, np.asarray(a) * 100, "o-", color=COLORS.get(label), lw=2, label=label)
    _chance(ax, chance * 100, "chance (one symbol)")
    ax.set_ylim(0, 105)
    ax.set_xlabel("source length (symbols)")
    ax.set_ylabel("token accuracy of greedy decoding (%)")
    ax.set_title(f"Reversal: the context vector c (size {hidden}) is a bottleneck", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, alpha=0.3)
    for label, loss in losses.items():
        ax2.semilogy(np.arange(1, len(loss) + 1), loss, color=COLORS.get(label), lw=1, label=label)
    ax2.set_xlabel("training step (Adam)")
    ax2.set_ylabel("teacher-forced cross-entropy (nats, log scale)")
    ax2.set_title("Training loss", fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(True, which="major", alpha=0.3)
    fig.suptitle(title, fontsize=12)
    return save(fig, path)


def alignments_figure(
    path: PathLike,
    seed_alpha: np.ndarray,
    seed_src,
    seed_tgt,
    learned: dict[str, np.ndarray],
    src_words,
    tgt_words,
) -> Path:
    """Demo 7: the seed's α table as a heatmap, beside the learned α of each score."""
    n = 1 + len(learned)
    fig, axes = new_figure(1, n, size=(4.3 * n, 4.6))
    heatmap(
        axes[0],
        seed_alpha,
        seed_src,
        seed_tgt,
        title="The seed's example table",
        xlabel="source (English)",
        ylabel="decoder step (French)",
        colorbar=False,
        cmap="Blues",
    )
    for ax, (label, alpha) in zip(axes[1:], learned.items(), strict=True):
        heatmap(
            ax,
            alpha,
            src_words,
            tgt_words,
            title=f"Learned: {label}",
            xlabel="source (toy English)",
            ylabel="decoder step (toy French)",
            colorbar=ax is axes[-1],
            cmap="Blues",
        )
    fig.suptitle(
        r"Attention weights $\alpha_{t,i}$: where each output word looks (rows sum to 1)",
        fontsize=12,
    )
    return save(fig, path)


def _step_list(steps: Sequence[int]) -> str:
    """Time steps as runs: [0, 1, 2, 5] -> "0–2, 5"."""
    runs: list[list[int]] = []
    for t in steps:
        if runs and t == runs[-1][-1] + 1:
            runs[-1].append(t)
        else:
            runs.append([t])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def bptt_norms_figure(path: PathLike, curves: dict[str, dict[int, float]], steps: int) -> Path:
    """Demo 10: ‖∂L/∂h_t‖ (and ‖∂L/∂C_t‖) for t = 0..T, read from the recorded graphs.

    t as the seed counts it: 0 is the initial state (the graphs' h0, C0), t the state after t
    inputs, which the graphs draw in their step t (the models' scope t − 1).

    A norm the log axis cannot place is still drawn, as a hollow marker on the axes' frame:
    0 on the bottom edge (▼), inf (▲) and NaN (✕) on the top one; the legend names those
    steps. The norms on the scale keep a margin from the frame, so that none reads as one.
    """
    from matplotlib.transforms import blended_transform_factory

    fig, ax = new_figure(1, 1, size=(7.5, 4.4))
    at_edge = blended_transform_factory(ax.transData, ax.transAxes)  # x: step, y: axes 0..1
    placed = False  # some norm is on the log scale
    marked = False  # and some drawn on the frame
    for label, c in curves.items():
        family = label.split()[0]
        ts = list(c)
        norms = np.asarray(list(c.values()), dtype=float)
        on_scale = np.isfinite(norms) & (norms > 0)
        placed = placed or bool(on_scale.any())
        (line,) = ax.semilogy(
            ts,
            np.where(on_scale, norms, np.nan),  # a gap in the line where a norm is off the scale
            "o-" if "C_t" in label else "s--",
            ms=3,
            color=COLORS.get(family),
            lw=2 if "C_t" in label else 1.3,
            label=label,
        )
        off_scale = (
            ("0", norms == 0, 0.0, "v", "bottom"),
            ("inf", np.isinf(norms), 1.0, "^", "top"),
            ("NaN", np.isnan(norms), 1.0, "X", "top"),
        )
        for value, where, y, marker, side in off_scale:
            if where.any():
                marked = True
                hit = [t for t, w in zip(ts, where, strict=True) if w]
                ax.plot(
                    hit,
                    [y] * len(hit),
                    marker,
                    ms=7,
                    mfc="white",
                    color=line.get_color(),
                    transform=at_edge,
                    clip_on=False,
                    label=f"{label} = {value} at t = {_step_list(hit)} (on the {side} edge)",
                )
    if not placed:  # nothing on the log scale: give it a range to draw the markers against
        ax.set_ylim(1e-1, 1e1)
    ax.margins(y=0.08)
    _whole_ticks(ax.xaxis)  # time steps are whole numbers
    ax.set_xlabel(
        "t, as the seed counts: h_t, C_t are the states after t inputs; the loss reads h_T\n"
        "(t = 0: the initial state, the graphs' h0 and C0; the graphs draw h_t in their step t)"
    )
    ax.set_ylabel("gradient norm reaching the node (log scale)")
    ax.set_title(
        f"BPTT through {steps} steps: gradient norms recorded during backward",
        fontsize=10,
        pad=10 if marked else None,  # clear of the markers on the top edge
    )
    ax.grid(True, which="major", alpha=0.3)
    if marked:  # below the axes: inside, it could hide the markers on the frame
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    elif curves:
        ax.legend(fontsize=8)
    return save(fig, path)


SYMPY_COMPARISON = "max |engine backward − SymPy derivative|"


def _two_lines(text: str, width: int) -> str:
    """`text` as it is when it fits `width` characters, else broken once at the space that
    reads best: outside brackets, after a colon, else after a comma, else where the two lines
    are nearest in length (filling the first line broke "diag(1 − zₜ)" and left "Cₜ₋₁" alone
    on the second); a text that two lines of `width` cannot hold is cut with " …"."""
    if len(text) <= width:
        return text
    depth, best, best_key = 0, None, None
    for i, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if char != " " or i > width or len(text) - i - 1 > width:
            continue
        before = text[i - 1]
        key = (depth > 0, before != ":", before != ",", abs(2 * i + 1 - len(text)))
        if best_key is None or key < best_key:
            best, best_key = i, key
    if best is None:
        return "\n".join(textwrap.wrap(text, width, max_lines=2, placeholder=" …"))
    return text[:best] + "\n" + text[best + 1 :]


def derivations_figure(path: PathLike, identities: list[dict[str, Any]], tol: float) -> Path:
    """Demo 11: each identity's engine error (log scale) against the tolerance.

    An identity's bar is `SYMPY_COMPARISON` unless its dict says otherwise under "compared"
    (the vanishing-gradient inequality has no SymPy derivative: its bar is the engine's
    relative error against a numeric product); such bars name what they measure beside them.
    """
    n = len(identities)
    fig, ax = new_figure(1, 1, size=(11, 0.42 * n + 1.6))
    # the identities' names run to the left edge: a margin there (constrained layout's
    # default, 3 pt, has the longest touch it)
    fig.get_layout_engine().set(w_pad=0.15)
    floor = 1e-19
    errors = [max(float(d["numeric_max_error"]), floor) for d in identities]
    colours = [
        {True: "#2ca02c", None: "#7f7f7f", False: "#d62728"}[d["symbolic_ok"]] for d in identities
    ]
    y = np.arange(n)[::-1]
    ax.barh(y, errors, color=colours, left=floor / 10)
    ax.set_xscale("log")
    ax.set_xlim(floor / 10, 1e-6)
    ax.axvline(tol, color="black", ls="--", lw=1)
    ax.annotate(  # at the top of the axes whatever the bar count (y in axes fractions)
        f"tolerance {tol:.0e}",
        (tol, 1.0),
        xycoords=ax.get_xaxis_transform(),
        xytext=(4, -3),
        textcoords="offset points",
        fontsize=8,
        va="top",
    )
    # a long title on two lines rather than cut: its end often names what is checked
    labels = [_two_lines(d["title"], 64) for d in identities]
    ax.set_yticks(y, labels=labels, fontsize=8)
    footnotes: dict[str, str] = {}  # comparison -> its mark, for bars not against SymPy
    for yi, d, e in zip(y, identities, errors, strict=True):
        text = "exactly 0" if d["numeric_max_error"] == 0 else f"{d['numeric_max_error']:.1e}"
        compared = d.get("compared") or SYMPY_COMPARISON
        if compared != SYMPY_COMPARISON:  # not an engine-vs-SymPy number: mark it
            mark = footnotes.setdefault(compared, "†‡§¶"[len(footnotes) % 4])
            text += f" {mark} (not vs SymPy)"
        ax.text(e, yi, f" {text}", va="center", fontsize=7)
    xlabel = f"{SYMPY_COMPARISON} at a random float64 point (log scale)"
    for compared, mark in footnotes.items():
        xlabel += f"\n{mark} this bar is not against SymPy: it is the {compared}"
    ax.set_xlabel(xlabel)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color="#2ca02c", label="SymPy: derived − stated = 0"),
            Patch(color="#7f7f7f", label="an inequality (numeric check only)"),
        ],
        fontsize=8,
        loc="lower right",
    )
    fig.suptitle(  # over the whole figure: the names at the left are half of it
        "The seed's gradient identities, derived with SymPy and checked against the engine",
        fontsize=11,
    )
    return save(fig, path)


def transformer_figure(
    path: PathLike,
    PE: np.ndarray,
    lengths,
    acc: dict[str, list[float]],
    perm: dict[str, dict[str, float]],
    enc_heads: np.ndarray,
    cross: np.ndarray,
    src_labels,
    chance: float,
    budgets: dict[str, str] | None = None,
    same_budget: bool = True,
) -> Path:
    """Demo 8: PE image; accuracy by length; permutation test; heads and cross-attention.

    `enc_heads` (heads, n, n) and `cross` (n + 1, n) are drawn on one colour scale, 0 to
    the largest weight among them, with one colourbar. `budgets` adds to each accuracy
    curve's key how it was trained ("2+2 layers, 200 steps"); with `same_budget` False the
    panel's title says that the budgets differ."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 9), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1])
    a0, a1, a2 = top.subplots(1, 3, width_ratios=[1.2, 1.2, 0.9])
    im = a0.imshow(PE, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
    top.colorbar(im, ax=a0, shrink=0.85)
    a0.set_xlabel("dimension (even 2i: sin, odd 2i+1: cos)")
    a0.set_ylabel("position pos")
    a0.set_title(
        f"Sinusoidal positional encodings PE(pos, ·), d_model = {PE.shape[1]}", fontsize=10
    )

    styles = {
        "Transformer": ("o-", COLORS["Transformer"]),
        "Transformer without positions": ("o--", "#c5b0d5"),
        "seq2seq": (":", COLORS["seq2seq"]),
        "seq2seq + attention": (":", COLORS["seq2seq + attention"]),
    }
    budgets = budgets or {}
    for label, a in acc.items():
        style, colour = styles.get(label, ("-", None))
        key = f"{label} ({budgets[label]})" if label in budgets else label
        a1.plot(lengths, np.asarray(a) * 100, style, color=colour, lw=2, label=key)
    _chance(a1, chance * 100)
    a1.set_ylim(0, 105)
    a1.set_xlabel("source length (symbols)")
    a1.set_ylabel("token accuracy of greedy decoding (%)")
    a1.set_title(
        "Reversal, the same task as the bottleneck demo"
        + ("" if same_budget else "\n(dotted: its seq2seq models, another training budget)"),
        fontsize=10,
    )
    a1.legend(fontsize=7.5, loc="lower left")
    a1.grid(True, alpha=0.3)

    names = ["permuted outputs", "mean-pooled"]
    keys = ["permuted_outputs", "mean_pooled"]
    x = np.arange(2)
    # Bars on a log scale stand on an arbitrary floor: on one at 1e-17, a float32 rounding
    # difference of 4e-07 stood half as tall as a real one of 2. With the rounding level
    # known, the floor sits three decades below it and a line marks it, so a bar that ends
    # at the line reads as "equal but for rounding".
    rounding = perm["without_positions"].get("rounding")
    floor = 1e-17 if rounding is None else 10.0 ** (np.floor(np.log10(rounding)) - 3)
    for k, (variant, colour) in enumerate(
        (("without_positions", "#c5b0d5"), ("with_positions", COLORS["Transformer"]))
    ):
        measured = [perm[variant][key] for key in keys]
        v = [max(m, floor) for m in measured]  # a 0 stands on the floor, labelled 0
        bars = a2.bar(x + (k - 0.5) * 0.38, v, 0.38, color=colour, label=variant.replace("_", " "))
        for b, value, m in zip(bars, v, measured, strict=True):
            a2.text(
                b.get_x() + b.get_width() / 2,
                value * 1.5,
                "0" if m == 0 else f"{m:.0e}" if m < 1e-3 else f"{m:.2f}",
                ha="center",
                fontsize=8,
            )
    if rounding is not None:
        a2.axhline(rounding, color="black", ls="--", lw=1, label="rounding (ε × max |output|)")
    a2.set_yscale("log")
    a2.set_ylim(floor, 1e5)  # headroom for the legend
    a2.set_xticks(x, labels=names)
    a2.set_ylabel("max |difference| between the encodings\nof two orders of one sentence")
    a2.set_title("Self-attention is permutation-equivariant\nwithout positions", fontsize=10)
    a2.legend(fontsize=8, loc="upper center", ncol=2)

    heads = enc_heads.shape[0]
    axes = bottom.subplots(1, heads + 1)
    # One colour scale for every attention panel, so that a colour means the same α in
    # each: on scales of their own, a head's darkest cell (α 0.3) looked as dark as the
    # cross-attention's α 1 beside its colourbar.
    top_alpha = float(max(enc_heads.max(), cross.max()))
    top_alpha = top_alpha if np.isfinite(top_alpha) and top_alpha > 0 else 1.0
    for h in range(heads):
        heatmap(
            axes[h],
            enc_heads[h],
            src_labels,
            src_labels,
            title=f"encoder head {h + 1} (max α {enc_heads[h].max():.2f})",
            xlabel="key position",
            ylabel="query position" if h == 0 else "",
            annotate=False,
            colorbar=False,
            cmap="Purples",
            vmax=top_alpha,
        )
    out_labels = [f"y{t + 1}" for t in range(cross.shape[0] - 1)] + ["EOS"]
    im = heatmap(
        axes[-1],
        cross,
        src_labels,
        out_labels,
        title=f"cross-attention (mean of heads; max α {cross.max():.2f})",
        xlabel="source position",
        ylabel="output step",
        annotate=False,
        colorbar=False,
        cmap="Purples",
        vmax=top_alpha,
    )
    bottom.colorbar(
        im,
        ax=list(axes),
        shrink=0.85,
        pad=0.01,
        label=f"attention weight α: one scale for every panel, 0 to {top_alpha:.2f}",
    )
    bottom.suptitle(
        "Trained Transformer on one source: self-attention heads (the first encoder layer) and "
        "the decoder's cross-attention (its last layer), on one colour scale",
        fontsize=10,
    )
    fig.suptitle("The Transformer: positions, permutations, heads", fontsize=12)
    return save(fig, path)
