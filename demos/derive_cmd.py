"""`tinygrad-seq derive [rnn|lstm|gru|attention|transformer|all] [--latex FILE]`.

For each gradient identity of the seed: the model's equations, SymPy's derivation, the
stated closed form, and both checks (SymPy simplifies derived − stated to 0; the engine's
backward agrees at a random float64 point). With no name, or `all`, every model. `--latex
FILE` also writes it all as a Markdown page with LaTeX math, in ASCII (the prose's symbols in
inline math), so that pandoc + pdflatex typeset it as it is (a FILE named .tex or .pdf is
refused: it would hold Markdown). Exit code 1 if any check fails.
"""

from __future__ import annotations

import os
import sys
import time
from itertools import zip_longest
from pathlib import Path

import click

from .common import common_options, output_file

# ts.symbolic.MODELS, spelled out: importing it for click.Choice would import SymPy at start-up
MODELS = ("rnn", "lstm", "gru", "attention", "transformer")
TITLES = {
    "rnn": "Vanilla RNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "attention": "Attention",
    "transformer": "Transformer: Add & normalize",
}


class _Console:
    """click.echo that stops printing, quietly, once the reader has gone (`derive | head`):
    the checks still run, --latex is still written and the exit code still says whether
    they passed."""

    def __init__(self) -> None:
        self.reader_gone = False

    def __call__(self, text: str = "") -> None:
        if self.reader_gone:
            return
        try:
            click.echo(text)
        except BrokenPipeError:
            self.reader_gone = True
            # stdout onto /dev/null, so that the flush at exit does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


@click.command(name="derive")
@click.argument("name", required=False, type=click.Choice((*MODELS, "all"), case_sensitive=False))
@click.option(
    "--latex",
    "latex_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the derivations and results to FILE as Markdown with LaTeX math "
    "(ASCII: pandoc + pdflatex typeset it): name it .md, then `pandoc FILE.md -o slides.pdf`.",
)
@common_options
def derive(name: str | None, latex_path: str | None, seed: int, backend: str) -> None:
    """Derive the seed's gradient identities with SymPy and check them against the engine.

    NAME is one of rnn, lstm, gru, attention, transformer, or all (the default). --seed picks
    the random point of the numeric check; --backend the engine's arrays.
    """
    if latex_path is not None:
        suffix = Path(latex_path).suffix.lower()
        if suffix in (".tex", ".pdf"):  # Markdown there: pdflatex (or a PDF reader) chokes
            page_md = Path(latex_path).with_suffix(".md")  # (in the folder given)
            raise click.BadParameter(
                f"{latex_path!r} ends in {suffix}, but the page written is Markdown with LaTeX "
                f"math: write it to {str(page_md)!r}, then `pandoc {page_md} -o "
                f"{page_md.with_suffix('.pdf')}`",
                param_hint="--latex",
            )
        output_file(latex_path, "--latex")  # before the derivations, not after them
    from tinygrad_seq import symbolic  # imports SymPy: only when this command runs

    echo = _Console()
    start = time.perf_counter()
    page = [
        "# Gradient identities of the seed, derived with SymPy",
        "",
        f"Checked symbolically and against the engine's backward ({backend}, seed {seed}).",
        "",
    ]
    summary: list[tuple[str, bool, float]] = []
    for model in (name,) if name and name != "all" else MODELS:
        module = symbolic.MODELS[model]
        echo(f"{'=' * 30} {TITLES[model]} {'=' * 30}")
        page += [f"## {TITLES[model]}", ""]
        derivations = module.derive()
        results = module.check(seed=seed)  # one per derivation, in order, then any extra
        for derivation, result in zip_longest(derivations, results):
            if derivation is not None:
                echo(str(derivation))
                page.append(derivation.to_markdown())
            else:
                page += [f"### {symbolic.latex_prose.prose(result.title)}", ""]
            echo(str(result))
            echo("")
            page.append(result.to_markdown())
            summary.append((result.name, result.passed, result.seconds))

    failed = [n for n, ok, _ in summary if not ok]
    total = time.perf_counter() - start
    echo("seconds per check (symbolic + numeric):")
    for check_name, ok, seconds in summary:
        echo(f"  {seconds:6.2f}  {'PASS' if ok else 'FAIL'}  {check_name}")
    echo(
        f"{len(summary) - len(failed)}/{len(summary)} identities passed "
        f"({total:.1f} s in all, derivations and printing included)"
    )
    if latex_path is not None:
        Path(latex_path).write_text("\n".join(page) + "\n", encoding="utf-8")
        echo(f"wrote {latex_path}")
    if failed:
        click.echo(f"FAILED: {', '.join(failed)}", err=True)
        click.get_current_context().exit(1)


# here the seed draws no data or weights, only the point each identity is checked at
next(
    p for p in derive.params if p.name == "seed"
).help = "Random seed: the point at which each identity is checked numerically."
