"""`tinygrad-seq graph MODEL`: draw a small model's computation graph, coloured by gradient.

    tinygrad-seq graph rnn --steps 20 --collapse 3 --out rnn.svg
    tinygrad-seq graph lstm --steps 4 --out lstm.png

Builds the model small (batch 2, a few units, so the shapes stay readable), runs a forward
pass and a backward pass inside `ts.graph.record_grad_norms()`, and renders the graph with
`ts.viz.render_graph`: one cluster per time step, shared weights drawn once, every node
coloured by log10 of the gradient norm that reached it. The RNN, LSTM and GRU start from
h_0 = 0 (and C_0 = 0) given as inputs that need a gradient (see `_zero_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

import tinygrad_seq as ts

from .common import IntRange, common_options, output_file

BATCH, INPUT, HIDDEN, CLASSES, VOCAB = 2, 3, 4, 3, 6
AUTO_COLLAPSE, AUTO_COLLAPSE_AFTER = 3, 12  # long unrolls: unreadable, and slow to lay out


class WrapSteps(click.ParamType):
    """--wrap: "auto", or how many steps at most on one line (0: one row)."""

    name = "auto|integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        if value.strip().lower() == "auto":
            return "auto"
        try:
            steps = int(value)
        except ValueError:
            steps = -1
        if steps < 0:
            self.fail(f"{value!r} is neither auto nor a whole number of steps (0 or more)")
        return steps


@dataclass
class Built:
    """A model's loss after a forward pass, the model, and a heading for the picture."""

    loss: ts.Tensor
    model: ts.nn.Module
    title: str


def _inputs(steps: int) -> tuple[ts.Tensor, np.ndarray]:
    """xs (B, T, d) floats and one class per row, from the seeded host generator."""
    rng = ts.tensor.rng()
    xs = rng.standard_normal((BATCH, steps, INPUT)).astype(ts.get_default_dtype())
    targets = rng.integers(0, CLASSES, size=BATCH)
    return ts.Tensor(xs, name="x"), targets


def _tokens(steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """src, tgt_in and tgt_out token ids, each (B, T)."""
    rng = ts.tensor.rng()
    src = rng.integers(1, VOCAB, size=(BATCH, steps))
    tgt = rng.integers(1, VOCAB, size=(BATCH, steps + 1))
    return src, tgt[:, :-1], tgt[:, 1:]


def _last_step_loss(model: ts.nn.Module, h_T: ts.Tensor, targets: np.ndarray) -> ts.Tensor:
    """L = cross-entropy of a linear read-out of the final state: the gradient must travel
    back through every step to reach the early ones."""
    with ts.scope("readout"):
        logits = model.readout(h_T)
        logits.name = "y_T"
        loss = ts.F.cross_entropy(logits, targets)
    loss.name = "L"
    return loss


def build_mlp(steps: int) -> Built:
    model = ts.nn.MLP([INPUT, HIDDEN, HIDDEN, CLASSES])
    xs, targets = _inputs(1)
    x = xs[:, 0]
    x.name = "x"
    loss = ts.F.cross_entropy(model(x), targets)
    loss.name = "L"
    return Built(loss, model, f"MLP {INPUT}-{HIDDEN}-{HIDDEN}-{CLASSES}, batch {BATCH}")


def _zero_state(name: str) -> ts.Tensor:
    """The seed's initial state h_0 = 0 (B, h) (C_0 = 0 too, for the LSTM), as an input the
    loss is differentiated with respect to.

    The picture then shows how much gradient reaches the start of the unroll, and step 0
    reads as every later step: its [h_0, x_0] is recorded, with x_0 going into it as x_t
    goes into [h_{t-1}, x_t]. A model's own zero state needs no gradient, so there
    [h_0, x_0] joins two constants into a constant, which is not recorded (no gradient
    flows through it): step 0 would show one constant box and no x_0. Asking for these
    gradients here costs the models nothing.
    """
    zeros = np.zeros((BATCH, HIDDEN), dtype=ts.get_default_dtype())
    return ts.Tensor(zeros, requires_grad=True, name=name)


def _recurrent(kind: str, make: Callable[[], ts.nn.Module], title: str) -> Callable[[int], Built]:
    def build(steps: int) -> Built:
        model = _Readout(make())
        xs, targets = _inputs(steps)
        with ts.scope(kind):  # (the zero state in it, where the models make their own)
            h0 = _zero_state("h0")
            state0 = (h0, _zero_state("C0")) if isinstance(model.body, ts.nn.LSTM) else h0
            _, final = model.body(xs, state0)
        h_T = final[0] if isinstance(final, tuple) else final
        loss = _last_step_loss(model, h_T, targets)
        return Built(loss, model, f"{title}, T={steps}, batch {BATCH}, loss on the last step")

    return build


class _Readout(ts.nn.Module):
    """A recurrent body and a Linear read-out of its last hidden state: y_T = W_hy h_T + b_y."""

    def __init__(self, body: ts.nn.Module) -> None:
        super().__init__()
        self.body = body
        self.readout = ts.nn.Linear(HIDDEN, CLASSES)
        # drawn with the seed's names for the output layer (a Linear's are W and b)
        self.readout.W.name, self.readout.b.name = "W_hy", "b_y"


def _seq2seq(attention: str | None) -> Callable[[int], Built]:
    def build(steps: int) -> Built:
        model = ts.nn.Seq2Seq(
            VOCAB, VOCAB, emb=INPUT, hidden=HIDDEN, cell="lstm", attention=attention
        )
        src, tgt_in, tgt_out = _tokens(steps)
        loss = ts.F.cross_entropy(model(src, tgt_in), tgt_out)
        loss.name = "L"
        kind = f"with {attention} attention" if attention else "without attention"
        return Built(loss, model, f"LSTM encoder-decoder {kind}, T_in = T_out = {steps}")

    return build


def build_transformer(steps: int) -> Built:
    model = ts.nn.Transformer(VOCAB, VOCAB, d_model=8, heads=2, d_ff=16, layers=1)
    src, tgt_in, tgt_out = _tokens(steps)
    loss = ts.F.cross_entropy(model(src, tgt_in), tgt_out)
    loss.name = "L"
    return Built(loss, model, f"Transformer, 1 layer, d_model 8, 2 heads, {steps} tokens")


BUILDERS: dict[str, Callable[[int], Built]] = {
    "mlp": build_mlp,
    "rnn": _recurrent("rnn", lambda: ts.nn.RNN(INPUT, HIDDEN), "vanilla RNN"),
    "lstm": _recurrent("lstm", lambda: ts.nn.LSTM(INPUT, HIDDEN), "LSTM"),
    "gru": _recurrent("gru", lambda: ts.nn.GRU(INPUT, HIDDEN), "GRU"),
    "seq2seq": _seq2seq(None),
    "attention": _seq2seq("additive"),
    "transformer": build_transformer,
}


def build(model: str, steps: int) -> Built:
    """Forward `model` ("rnn", "lstm", ...) for `steps` steps, run the backward pass with
    gradient norms recorded, and return the loss (its graph keeps the norms)."""
    if model not in BUILDERS:
        raise ValueError(f"graph: unknown model {model!r}; choose one of {', '.join(BUILDERS)}")
    if steps < 1:
        raise ValueError(f"graph: --steps must be at least 1, got {steps}")
    built = BUILDERS[model](steps)
    with ts.graph.record_grad_norms():
        built.loss.backward()
    return built


@click.command("graph")
@click.argument("model", type=click.Choice(list(BUILDERS), case_sensitive=False), metavar="MODEL")
@click.option(
    "--steps",
    "-T",
    type=IntRange(1, 500),
    default=4,
    show_default=True,
    help="Sequence length: the steps an RNN, LSTM or GRU unrolls, the input (and output) "
    "length of seq2seq and attention, the tokens of the Transformer; the MLP ignores it.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (.svg, .png or .dot). With --format, a name without one of those "
    "suffixes gets the format's added (--format dot --out g.txt writes g.txt.dot); one with "
    "another of them is an error. Missing folders are made.  "
    "[default: MODEL.svg, or MODEL.FORMAT]",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "dot"]),
    default=None,
    help="Output format.  [default: from --out's suffix; svg when --out is not given]",
)
@click.option(
    "--collapse",
    type=IntRange(min=0),
    default=None,
    help="Keep the first and last K steps and summarise the middle ones; 0 draws every "
    f"step.  [default: {AUTO_COLLAPSE} when --steps > {AUTO_COLLAPSE_AFTER}]",
)
@click.option(
    "--detail",
    type=click.Choice(["symbols", "ops"]),
    default="symbols",
    show_default=True,
    help="symbols: the seed's named tensors (h_t, C_t), unnamed ops folded into them; "
    "ops: every recorded op.",
)
@click.option(
    "--wrap",
    type=WrapSteps(),
    default="auto",
    show_default=True,
    help="The most steps on one line: a longer unroll goes on over several lines, one "
    "below the other, its lanes running back from the end of each line to the start of the "
    "next, as does the state edge h_t. auto: past 4 drawn steps, or for a row more than "
    "about 7 times as wide as high, as many lines as keep the picture about twice as wide "
    "as high (two steps a line at least); 0: one row. seq2seq's encoder and decoder wrap "
    "together (auto: 2 to 3 times as wide as high); attention's, and seq2seq's with "
    "collapsed steps (past 12 by default), keep their two rows whatever --wrap says.",
)
@click.option("--no-grads", is_flag=True, help="Draw the graph without gradient colours.")
@click.option(
    "--renderer",
    type=click.Choice(["auto", "dot", "wasm"]),
    default="auto",
    show_default=True,
    help="System Graphviz, WebAssembly Graphviz, or auto.",
)
@common_options
def graph(
    model: str,
    steps: int,
    out: str | None,
    fmt: str | None,
    collapse: int | None,
    detail: str,
    wrap: int | str,
    no_grads: bool,
    renderer: str,
    seed: int,
    backend: str,
) -> None:
    """Render MODEL's computation graph after one forward and backward pass, coloured by
    gradient norm.

    \b
    MODEL is one of
      mlp             an MLP with two hidden layers, on one input
      rnn, lstm, gru  one recurrent layer, unrolled over --steps
      seq2seq         an LSTM encoder-decoder with teacher forcing
      attention       the same seq2seq with additive (Bahdanau) attention
      transformer     one encoder and one decoder layer
    """
    from tinygrad_seq.viz import render_graph, renderer_for
    from tinygrad_seq.viz.graph_render import (
        PNG_MAX_PIXELS,
        _differentiated_inputs,
        collapsed_steps,
    )

    if out is None:
        out = f"{model}.{fmt or 'svg'}"
    if not out:  # Path("") is the current folder, which has no name to add a suffix to
        raise click.BadParameter(
            f"'' names no file; pass one such as {model}.svg", param_hint="--out"
        )
    target = Path(out)
    suffix = target.suffix.lstrip(".").lower()  # as render_graph reads it
    if fmt is None and target.name.lower() in (".svg", ".png", ".dot"):  # all suffix: a
        raise click.BadParameter(  # hidden file with no suffix, to Python's pathlib
            f"{out!r} is a suffix without a name; pass one such as {model}{out}",
            param_hint="--out",
        )
    if fmt is None and suffix not in ("svg", "png", "dot"):
        raise click.BadParameter(
            f"{out!r} does not end in .svg, .png or .dot (or pass --format)", param_hint="--out"
        )
    if fmt is not None and suffix in ("svg", "png", "dot") and suffix != fmt:
        raise click.BadParameter(
            f"{out!r} ends in .{suffix} but --format is {fmt}", param_hint="--out"
        )
    try:  # before the model is built: a renderer that is missing fails at once
        renderer_for(fmt or suffix or "svg", renderer)
    except RuntimeError as e:  # (RendererMissing), in the command line's words
        message = str(e).replace("render_graph: ", "")
        for python, option in (
            ("renderer='auto'", "--renderer auto"),
            ("renderer='dot'", "--renderer dot"),
            ("format='dot'", "--format dot"),
        ):
            message = message.replace(python, option)
        raise click.UsageError(message) from None
    # check the file that will be written: render_graph adds .FORMAT to a name without one of
    # its suffixes (g.txt -> g.txt.dot), so name that file here and pass it on as it is
    if suffix not in ("svg", "png", "dot"):
        target = target.with_name(f"{target.name}.{fmt}")
    output_file(target, "--out")
    if collapse is None:
        collapse = AUTO_COLLAPSE if steps > AUTO_COLLAPSE_AFTER else 0
    built = build(model, steps)
    graph_view = ts.graph.trace(built.loss)
    path = render_graph(
        graph_view,
        target,
        format=fmt,
        show_grads=not no_grads,
        collapse=collapse or None,
        title=built.title,
        module=built.model,
        detail=detail,
        renderer=renderer,
        wrap=wrap,
    )
    fmt_used = path.rsplit(".", 1)[-1].lower()  # (out.SVG is an SVG too)
    used = renderer_for(fmt_used, renderer)
    hidden = [  # numbered as the picture titles its steps: from 1, as the seed counts
        f"{group + ' ' if group else ''}t={steps[0] + 1}..{steps[-1] + 1}"
        for group, steps in collapsed_steps(graph_view, collapse).items()
    ]
    # the weights the picture draws: not the differentiated h0, C0 (drawn as inputs)
    drawn_weights = len(graph_view.parameters()) - len(
        _differentiated_inputs(graph_view, built.model)
    )
    click.echo(
        f"wrote {path}: a graph of {len(graph_view)} recorded nodes, "
        f"{drawn_weights} weights"
        + (f" ({', '.join(hidden)} summarised)" if hidden else "")
        + f"; renderer: {used}"
    )
    # (a PNG drawn from the WebAssembly layout is capped; the system dot's is not)
    if "matplotlib" in used and max(_png_size(path)) >= PNG_MAX_PIXELS:
        click.echo(
            f"  (the PNG was scaled down to {PNG_MAX_PIXELS} pixels on its longer side, so "
            f"its labels are small: --out {Path(path).with_suffix('.svg')} keeps "
            "every label sharp at any zoom)"
        )


def _png_size(path: str) -> tuple[int, int]:
    """(width, height) of a PNG, read from its header (the IHDR chunk follows the
    8-byte signature: length, type, then width and height as big-endian ints)."""
    with open(path, "rb") as f:
        header = f.read(24)
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
