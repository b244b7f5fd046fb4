"""``tinygrad-seq bench``: the speed suite (W1–W5 against the NumPy floor and PyTorch CPU).

The suite lives in the top-level ``benchmarks/`` folder. It is found as the installed
``tinygrad_seq.benchmarks`` package when the install maps it there (as ``viz/`` and ``demos/``
are), or else beside this file in a source checkout (the editable install), so the command
and ``python -m benchmarks`` run the same code and write the same RESULTS.md. (Installed,
the workers import the engine's package first, the floor's and PyTorch's too: see the
benchmarks README on what that changes.)
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path
from types import ModuleType

import click

from .common import FloatRange, IntRange, common_options


def load_suite() -> ModuleType:
    """The suite's runner module: installed, or from the checkout this file belongs to."""
    try:
        return importlib.import_module("tinygrad_seq.benchmarks.runner")
    except ModuleNotFoundError as e:
        if e.name not in ("tinygrad_seq.benchmarks", "tinygrad_seq.benchmarks.runner"):
            raise
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "benchmarks" / "workloads.py").is_file():
        if str(checkout) not in sys.path:
            sys.path.insert(0, str(checkout))
        return importlib.import_module("benchmarks.runner")
    raise click.ClickException(
        "the speed suite is not part of this installation; run it from a source checkout "
        "with `python -m benchmarks` (or `pip install -e .` there)"
    )


def _check_names(text: str | None, known, aliases: dict, option: str) -> None:
    if text is None:
        return
    names = [aliases.get(n.strip(), n.strip()) for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(known)}",
            param_hint=option,
        )


def _check_something_to_time(runner: ModuleType, workloads: str | None, engines: str | None):
    """A usage error unless some chosen workload runs on some chosen engine (the engine's
    variants, W4-fused and the like, have no floor or PyTorch cell)."""
    chosen_w = [w.strip() for w in (workloads or ",".join(runner.WORKLOADS)).split(",")]
    chosen_e = [
        runner.ENGINE_ALIASES.get(e.strip(), e.strip())
        for e in (engines or ",".join(runner.ENGINES)).split(",")
    ]
    on = {e for w in chosen_w if w in runner.WORKLOADS for e in runner.WORKLOADS[w].engines}
    if not on & set(chosen_e):
        raise click.UsageError(
            f"nothing to time: {', '.join(w for w in chosen_w if w)} run(s) on "
            f"{', '.join(sorted(on))} only, not on {', '.join(e for e in chosen_e if e)}"
        )


@click.command("bench")
@click.option(
    "--workloads", default=None, help="Comma list, e.g. W4,W5 or W4-fused (default: all)."
)
@click.option(
    "--engines",
    default=None,
    help="Comma list of tinygrad_seq, numpy-floor, torch (default: all; torch is skipped "
    "when not installed).",
)
@click.option(
    "--rounds",
    type=IntRange(min=1),
    default=None,
    help="Fresh processes per cell (default 3; 1 with --quick).",
)
@click.option(
    "--budget",
    type=FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds of timed repetitions per process (default 2; 0.3 with --quick).",
)
@click.option("--quick", is_flag=True, help="One short round per cell (about a minute).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for RESULTS.md and results.json (default ./bench-results; "
    "--out benchmarks replaces the recorded run in a checkout).",
)
@common_options
def bench(
    workloads: str | None,
    engines: str | None,
    rounds: int | None,
    budget: float | None,
    quick: bool,
    out: str | None,
    seed: int,
    backend: str,
) -> None:
    """Time forward + backward of W1–W5 (and W4's variants W4-scope, W4-fused,
    W4-gradnorms) against the NumPy floor and PyTorch CPU.

    Gradients are checked against the floor first; each cell then runs in several fresh
    processes with single-threaded BLAS, and each workload's cells also take turns in one
    process (ratios the machine's drift cannot skew). Prints the tables and writes
    RESULTS.md.
    """
    runner = load_suite()
    _check_names(workloads, list(runner.WORKLOADS), {}, "--workloads")
    _check_names(engines, list(runner.ENGINES), runner.ENGINE_ALIASES, "--engines")
    if budget is not None and not math.isfinite(budget):
        raise click.BadParameter(f"{budget} is not a number of seconds", param_hint="--budget")
    _check_something_to_time(runner, workloads, engines)
    argv = ["--seed", str(seed), "--backend", backend]
    options = {
        "--workloads": workloads,
        "--engines": engines,
        "--rounds": rounds,
        "--budget": budget,
        "--out": out,
    }
    for flag, value in options.items():
        if value is not None:
            argv += [flag, str(value)]
    if quick:
        argv.append("--quick")
    status = runner.main(argv, prog="tinygrad-seq bench")
    if status:
        raise click.exceptions.Exit(status)
