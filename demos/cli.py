"""The ``tinygrad-seq`` command line.

Each subcommand lives in its own module and is imported only when it runs, so
``tinygrad-seq --help`` stays fast and a broken demo cannot break the others. Bad arguments
get a one-line error and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

# name -> (module, attribute, one-line help). Add a demo by adding a line here.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "tour": (
        "tinygrad_seq.demos.tour",
        "tour",
        "Run every demo; write figures, summary.json, index.html.",
    ),
    "fixed-size": (
        "tinygrad_seq.demos.fixed_size",
        "command",
        "Demo 1: bag-of-words, n-grams, padding vs an RNN.",
    ),
    "vanishing": (
        "tinygrad_seq.demos.vanishing",
        "command",
        "Demo 2: ‖∂h_T/∂h_1‖ against T: RNN, LSTM, GRU.",
    ),
    "memory": (
        "tinygrad_seq.demos.memory",
        "command",
        "Demo 3: the long-delay task, RNN vs LSTM vs GRU.",
    ),
    "agreement": (
        "tinygrad_seq.demos.agreement",
        "command",
        "Demo 4: was or were? An LSTM's gates along the seed's sentence.",
    ),
    "gru-vs-lstm": (
        "tinygrad_seq.demos.gru_vs_lstm",
        "command",
        "Demo 5: GRU vs LSTM parameters, accuracy and cost.",
    ),
    "bottleneck": (
        "tinygrad_seq.demos.bottleneck",
        "command",
        "Demo 6: seq2seq accuracy vs length, with and without attention.",
    ),
    "alignments": (
        "tinygrad_seq.demos.alignments",
        "command",
        "Demo 7: attention weights as heatmaps, three scores.",
    ),
    "transformer": (
        "tinygrad_seq.demos.transformer_demo",
        "command",
        "Demo 8: Transformer, positional encodings, heads.",
    ),
    "complexity": (
        "tinygrad_seq.demos.complexity",
        "command",
        "Demo 9: O(n) recurrence vs O(n²) self-attention, measured.",
    ),
    "bptt-graphs": (
        "tinygrad_seq.demos.graphs_demo",
        "command",
        "Demo 10: unrolled BPTT graphs with gradient colours.",
    ),
    "derivations": (
        "tinygrad_seq.demos.derivations_demo",
        "command",
        "Demo 11: the gradient identities, derived and checked.",
    ),
    "graph": (
        "tinygrad_seq.demos.graph_cmd",
        "graph",
        "Render a model's computation graph to a file.",
    ),
    "derive": (
        "tinygrad_seq.demos.derive_cmd",
        "derive",
        "Derive and check the gradient identities with SymPy.",
    ),
    "bench": (
        "tinygrad_seq.demos.bench_cmd",
        "bench",
        "Time the engine against the NumPy floor (and PyTorch).",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--version: the version, and whether the compiled helpers are in use (and why not)."""
    if not value or ctx.resilient_parsing:
        return
    import tinygrad_seq
    from tinygrad_seq import _native

    click.echo(f"tinygrad-seq {tinygrad_seq.__version__}; {_native.status()}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, and whether the compiled helpers are in use, and exit.",
)
def cli() -> None:
    """tinygrad_seq: see why each step of sequence modeling's history happened.

    \b
    Start with
        tinygrad-seq tour --out tour-out --quick
    then open tour-out/index.html in a browser.

    Every command takes --seed and --backend (numpy or cupy); `COMMAND --help` says more.
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; usage errors print one line and exit with code 2."""
    try:
        status = cli.main(args=argv, prog_name="tinygrad-seq", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("tinygrad-seq: aborted", err=True)
        sys.exit(1)
    except click.exceptions.NoArgsIsHelpError as e:  # bare `tinygrad-seq`: the help
        click.echo(e.format_message())
        sys.exit(0)
    except click.ClickException as e:
        # one line: click lists a missing argument's choices one per line
        message = " ".join(part.strip() for part in e.format_message().splitlines())
        click.echo(f"tinygrad-seq: error: {message}", err=True)
        sys.exit(2)
    except OSError as e:  # a file or folder that cannot be read or written
        if os.environ.get("TINYGRAD_SEQ_DEBUG"):
            raise
        where = f" {e.filename!r}" if e.filename else ""
        click.echo(f"tinygrad-seq: error: cannot use{where}: {e.strerror or e}", err=True)
        sys.exit(2)
    except UnicodeEncodeError as e:  # (a ValueError) stdout in cp1252, as on Windows
        if os.environ.get("TINYGRAD_SEQ_DEBUG"):
            raise
        click.echo(
            f"tinygrad-seq: error: the output's encoding ({sys.stdout.encoding or e.encoding}) "
            f"cannot write "
            f"{e.object[e.start : e.end]!r}: set PYTHONIOENCODING=utf-8 (or PYTHONUTF8=1) "
            "and run it again",
            err=True,
        )
        sys.exit(2)
    except (ValueError, TypeError, RuntimeError) as e:
        # bad input discovered by the library (an unusable backend, a bad size, ...)
        if os.environ.get("TINYGRAD_SEQ_DEBUG"):
            raise  # the full traceback, for developers
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        click.echo(f"tinygrad-seq: error: {message} (TINYGRAD_SEQ_DEBUG=1 shows where)", err=True)
        sys.exit(2)
    if isinstance(status, int) and status:  # a command's ctx.exit(n)
        sys.exit(status)


if __name__ == "__main__":  # python -m tinygrad_seq.demos.cli
    main()
