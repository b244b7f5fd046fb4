"""The tour: every demo of the seed's claims, one after another, into one folder.

    tinygrad-seq tour --out tour-out --quick      # about a minute on 2 CPU cores
    open tour-out/index.html

Each demo is a module of this package with a `run(ctx) -> dict` (see `DemoContext` in
`common.py`) and its own subcommand. A demo returns its numbers, its figures and a paragraph
saying what was measured; the tour writes them to `summary.json` (every number) and
`index.html` (every figure, with the seed's claim beside what was measured). A demo whose
parts are missing is recorded as "skipped: ..." and a demo that breaks as "failed: ...";
the others still run.
"""

from __future__ import annotations

import html
import importlib
import json
import os
import platform
import shlex
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

import tinygrad_seq as ts

from .common import (
    DemoContext,
    Skip,
    common_options,
    ensure_dir,
    out_option,
    resolve_size,
    setup,
    single_threaded_blas,
    size_options,
    write_atomic,
    write_json,
)


@dataclass(frozen=True)
class DemoSpec:
    module: str  # module of this package with run(ctx)
    title: str
    claim: str  # what the seed says, in its words where possible


DEMOS: dict[str, DemoSpec] = {
    "fixed-size": DemoSpec(
        "fixed_size",
        "1. Fixed-size inputs: bag-of-words, n-grams, padding",
        'Bag-of-words "completely loses sequential information": "Cat sat on mat" and '
        '"Mat sat on cat" have identical representations. Fixed windows "can\'t capture '
        'dependencies longer than window" and grow the vocabulary exponentially; '
        "truncation loses information and padding wastes computation. An RNN's sequential "
        'processing "inherently captures order information".',
    ),
    "vanishing": DemoSpec(
        "vanishing",
        "2. Vanishing (and exploding) gradients through time",
        "‖∂h_T/∂h_1‖ ≤ ‖W_hh‖^(T−1) Π_{t=2}^{T} ‖tanh′(·)‖: with ‖W_hh‖ = 0.9 and "
        '‖tanh′(·)‖ = 0.3, (0.9)^19 × (0.3)^19 ≈ 0.15 × 10^−10 at T = 20, "essentially zero". '
        "The LSTM's cell path has ∂C_T/∂C_1 = Π_{t=2}^{T} f_t, which does not vanish when "
        "the forget gates stay close to 1; eigenvalues of W_hh below 1 make gradients decay.",
    ),
    "memory": DemoSpec(
        "memory",
        "3. Long-range memory: RNN vs LSTM vs GRU",
        'Vanilla RNNs "can only learn patterns spanning a few time steps (typically 5-10)"; '
        'gated networks "can model dependencies spanning hundreds of time steps" because the '
        "forget gates learn to stay close to 1, so Π f_t along the cell path does not vanish.",
    ),
    "agreement": DemoSpec(
        "agreement",
        '4. "The cat that I saw yesterday was black": the LSTM\'s gates along a sentence',
        'Processing "The cat that I saw yesterday was black", the LSTM remembers "cat" as the '
        'main subject, keeps it through "that I saw yesterday" ("new subject in clause, but '
        'don\'t forget main subject") and at "was" remembers "cat" is the subject: "The LSTM '
        'can maintain "cat" in its cell state across the entire subordinate clause." The '
        "input gate decides how much of C̃_t to add, the forget gate set near 1 preserves it, "
        "the output gate decides what is relevant for the current prediction.",
    ),
    "gru-vs-lstm": DemoSpec(
        "gru_vs_lstm",
        "5. GRU vs LSTM: parameters, accuracy and cost",
        'The GRU has "fewer parameters (2 gates vs 3 gates)" and "often performs '
        'comparably to LSTM with less computational cost".',
    ),
    "bottleneck": DemoSpec(
        "bottleneck",
        "6. The seq2seq bottleneck, and attention easing it",
        '"All information about the input sequence must pass through a single fixed-size '
        'context vector c": quality decreases with input length. With attention, '
        '"performance doesn\'t degrade with input length".',
    ),
    "alignments": DemoSpec(
        "alignments",
        "7. Attention alignments: additive, multiplicative, scaled dot-product",
        "Attention weights α_{t,i} are distributions over the input that show what the "
        'model is "looking at"; attention "automatically learns input-output '
        'correspondences" (the seed\'s table for "The cat sat on the mat" → '
        '"Le chat s\'est assis sur le tapis").',
    ),
    "transformer": DemoSpec(
        "transformer_demo",
        "8. The Transformer: self-attention, positions, heads",
        'Attention "is permutation-invariant": without positional encodings "cat sat on '
        'mat" and "mat on sat cat" are processed identically; sinusoidal encodings '
        "PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(…) fix that. "
        "Different heads capture different relationships.",
    ),
    "complexity": DemoSpec(
        "complexity",
        "9. O(n) vs O(n²): recurrence and an MLP against self-attention",
        "MLP: time O(n × d²), space O(d²), full parallelization. RNN/LSTM: time O(n × d²), "
        "space O(d), no parallelism across time. Attention: time O(n² × d), space O(n²). "
        '"Transformers trade space complexity (O(n²) attention matrix) for parallelization".',
    ),
    "bptt-graphs": DemoSpec(
        "graphs_demo",
        "10. Backpropagation through time, drawn",
        'BPTT "unrolls" the recurrent network across time; gradients must flow backward '
        "through all intermediate steps, and in a vanilla RNN they shrink at every step "
        "while the LSTM's additive cell path carries them.",
    ),
    "derivations": DemoSpec(
        "derivations_demo",
        "11. The gradient identities, derived and checked",
        "∂h_t/∂h_{t−1} = W_hh ⊙ tanh′(·), ∂C_t/∂C_{t−1} = f_t, the softmax's "
        "attention weights, ... — each identity of the seed derived with SymPy and checked "
        "against the engine's own backward.",
    ),
}


def _warn(message: str) -> None:
    click.echo(f"tinygrad-seq: warning: {message}", err=True)


def _load_summary(path: Path) -> dict[str, Any]:
    """The summary already in the folder (so single demos add up to a tour), or a new one.

    One that cannot be read is moved aside rather than overwritten (it may hold earlier
    demos' results), and entries that are not a demo's record are left out; each with a
    warning."""
    if not path.exists():
        return {"demos": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("demos"), dict):
            raise ValueError('not an object with a "demos" object')
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) else str(e).splitlines()[0]
        aside, k = path.with_name(path.name + ".bad"), 1
        while aside.exists():  # an earlier one may be there: keep it too
            k += 1
            aside = path.with_name(f"{path.name}.bad{k}")
        os.replace(path, aside)
        _warn(f"{path} could not be read ({reason}); moved it to {aside}, starting a new one")
        return {"demos": {}}
    for name, entry in list(data["demos"].items()):
        if not isinstance(entry, dict):
            del data["demos"][name]
            _warn(f"{path}: left out demo {name!r}, a {type(entry).__name__}, not a record")
    return data


def _rerun_options(seed: Any, backend: Any, size: Any) -> str:
    """The options that make a demo run again as it ran: seed, backend and size."""
    options = "" if seed is None else f" --seed {seed}"
    options += "" if backend is None else f" --backend {backend}"
    return options + {"quick": " --quick", "tiny": " --size tiny"}.get(size, "")


def run_tour(
    names: list[str],
    out: str | Path,
    size: str = "quick",
    seed: int = 0,
    backend: str = "numpy",
    echo: bool = True,
) -> dict[str, Any]:
    """Run the demos `names` in order into folder `out`; return the summary (also written).

    Each demo starts from the same seed, so a demo gives the same numbers alone as in the
    tour. summary.json and index.html are rewritten after every demo.
    """
    for name in names:
        if name not in DEMOS:
            raise click.BadParameter(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    out = Path(out)
    try:
        ensure_dir(out / "img")
    except OSError as e:
        where = e.filename or out  # (out/img may be the file in the way)
        raise click.UsageError(f"cannot write to --out {str(where)!r}: {e.strerror}") from None
    summary_path = out / "summary.json"
    summary = _load_summary(summary_path)
    if len(names) == 1:
        command = f"tinygrad-seq {names[0]}"
    else:  # (--only when not every demo ran: rerunning the command reruns these)
        only = "" if set(names) == set(DEMOS) else f" --only {','.join(names)}"
        command = f"tinygrad-seq tour{only}"
    summary["meta"] = {
        "command": f"{command} --out {shlex.quote(str(out))}" + _rerun_options(seed, backend, size),
        "size": size,
        "seed": seed,
        "backend": backend,
        "python": platform.python_version(),
        "numpy": __import__("numpy").__version__,
        "tinygrad_seq": ts.__version__,
        "machine": platform.machine(),
    }
    ctx = DemoContext(out=out, size=size, seed=seed, backend=backend)
    with single_threaded_blas() as blas:
        summary["meta"]["blas_threads"] = blas
        _run_demos(names, ctx, summary, summary_path, out, echo)
    return summary


def _run_demos(
    names: list[str],
    ctx: DemoContext,
    summary: dict[str, Any],
    summary_path: Path,
    out: Path,
    echo: bool,
) -> None:
    seed, backend, size = ctx.seed, ctx.backend, ctx.size
    started, cpu_started = time.perf_counter(), time.process_time()
    for k, name in enumerate(names, 1):
        spec = DEMOS[name]
        setup(seed, backend)
        dtype = ts.get_default_dtype()
        t0, cpu0 = time.perf_counter(), time.process_time()
        try:
            module = importlib.import_module(f"{__package__}.{spec.module}")
            result = module.run(ctx)
            entry = {"status": "ok", **result}
        except Skip as e:
            entry = {"status": f"skipped: {e}"}
        except Exception as e:  # a broken demo must not stop the tour
            first_line = next((line for line in str(e).splitlines() if line.strip()), "")
            entry = {
                "status": f"failed: {type(e).__name__}: {first_line}",
                "traceback": traceback.format_exc(),
            }
        finally:
            ts.set_default_dtype(dtype)
        entry.update(
            title=spec.title,
            claim=spec.claim,
            seconds=round(time.perf_counter() - t0, 2),
            cpu_seconds=round(time.process_time() - cpu0, 2),
            size=size,
            seed=seed,
            backend=backend,
        )
        summary["demos"][name] = entry
        for key in ("size", "seed", "backend"):  # the folder's, not only this command's
            summary["meta"][key] = _run_wide(summary, key)
        summary["meta"]["seconds"] = round(time.perf_counter() - started, 2)
        summary["meta"]["cpu_seconds"] = round(time.process_time() - cpu_started, 2)
        write_json(summary_path, summary)
        write_index(out / "index.html", summary)
        if echo:
            line = entry.get("headline", "") if entry["status"] == "ok" else entry["status"]
            click.echo(
                f"[{k}/{len(names)}] {name} ({entry['seconds']:.1f} s, CPU "
                f"{entry['cpu_seconds']:.1f} s): {line}",
                err=True,
            )


def run_and_report(names: list[str], out: str, size: str, seed: int, backend: str) -> None:
    """run_tour, then say where the results are; exit code 1 if a demo failed."""
    summary = run_tour(names, out, size, seed, backend)
    statuses = {n: summary["demos"][n]["status"] for n in names}
    failed = [n for n, s in statuses.items() if s.startswith("failed")]
    skipped = [n for n, s in statuses.items() if s.startswith("skipped")]
    # the folder keeps earlier runs' demos: say so, or "1 ok" reads as all the page holds
    earlier = len(summary["demos"]) - len(names)
    kept = f"; the page also shows {earlier} demo(s) from earlier runs in it" if earlier else ""
    click.echo(
        f"wrote {Path(out) / 'index.html'} and summary.json "
        f"({len(names) - len(failed) - len(skipped)} ok, {len(skipped)} skipped, "
        f"{len(failed)} failed; {summary['meta']['seconds']:.0f} s, CPU "
        f"{summary['meta']['cpu_seconds']:.0f} s{kept})",
        err=True,
    )
    if failed:
        click.echo(f"tinygrad-seq: failed: {', '.join(failed)} (see summary.json)", err=True)
        raise SystemExit(1)  # (click's ctx.exit is swallowed by main's standalone_mode=False)


class _TourCommand(click.Command):
    """The tour's command: demo names left over after its options (`--only vanishing memory`,
    a space where a comma belongs) are answered with the --only to write."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        allowed, ctx.allow_extra_args = ctx.allow_extra_args, True  # see the leftovers first
        try:
            rest = super().parse_args(ctx, args)
        finally:
            ctx.allow_extra_args = allowed
        if rest and not allowed and not ctx.resilient_parsing:
            s = "s" if len(rest) > 1 else ""
            message = f"Got unexpected extra argument{s} ({' '.join(rest)})"  # (click's words)
            extra = [n.strip() for a in rest for n in a.split(",") if n.strip()]
            if extra and all(n in DEMOS for n in extra):  # demo names: say how to pass them
                only = ctx.params.get("only")
                named = [n.strip() for n in (only or "").split(",") if n.strip()]
                wanted = ",".join(dict.fromkeys(named + extra))
                how = (
                    "--only takes one comma-separated list, without spaces"
                    if only is not None
                    else "to run only these demos, write"
                )
                message += f"; {how}: --only {wanted}"
            ctx.fail(message)
        return rest


@click.command(
    cls=_TourCommand,
    name="tour",
    help="Run every demo of the seed's claims; write OUT/index.html, OUT/summary.json and "
    "the figures in OUT/img/. --quick takes about a minute on 2 CPU cores.",
)
@common_options
@out_option("tour-out", "Output folder (figures, summary.json, index.html).")
@size_options
@click.option(
    "--only",
    default=None,
    metavar="NAMES",
    help=f"Comma-separated demos to run (default all): {', '.join(DEMOS)}.",
)
def tour(
    seed: int, backend: str, out: str, quick: bool, size: str | None, only: str | None
) -> None:
    names = list(DEMOS)
    if only is not None:
        names = list(dict.fromkeys(n.strip() for n in only.split(",") if n.strip()))  # once each
        unknown = [n for n in names if n not in DEMOS]
        if unknown or not names:
            raise click.BadParameter(
                f"unknown demo(s) {', '.join(unknown)}; choose from {', '.join(DEMOS)}"
                if unknown
                else f"names no demo; choose from {', '.join(DEMOS)}",
                param_hint="--only",
            )
    run_and_report(names, out, resolve_size(quick, size), seed, backend)


# ----------------------------------------------------------------------------- index.html

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; font-size: 0.9rem; }
section { border-top: 1px solid #ddd; margin-top: 2rem; padding-top: 1rem; }
blockquote { margin: 0.5rem 0; padding: 0.4rem 0.8rem; background: #f6f6f2;
             border-left: 4px solid #b9a; }
.status { font-size: 0.8rem; padding: 0.1rem 0.4rem; border-radius: 0.3rem; margin-left: 0.5rem;
          vertical-align: middle; }
.ok { background: #d9f2d9; } .skipped { background: #f2ecd0; } .failed { background: #f6d3d3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4rem 0; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.92rem; }
td, th { border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }
th { background: #f0f0f0; } caption { text-align: left; font-weight: 600; padding: 0.2rem 0; }
pre { background: #f8f8f8; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
"""


def _table(caption: str, header: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><caption>{e(caption)}</caption><tr>{head}</tr>{body}</table>"


MIXED = "mixed (see each section)"


def _run_wide(summary: dict[str, Any], key: str) -> Any:
    """The sections' size, seed or backend, or MIXED when demos in the folder ran with
    different ones (each command adds its demos to what earlier ones wrote there)."""
    demos = summary.get("demos", {})
    values = {str(d.get(key)): d.get(key) for d in demos.values()}
    if not values:
        return summary.get("meta", {}).get(key)
    return next(iter(values.values())) if len(values) == 1 else MIXED


def write_index(path: Path, summary: dict[str, Any]) -> None:
    """index.html: for each demo, the seed's claim, what was measured, figures, numbers."""
    e = html.escape
    meta = summary.get("meta", {})
    demos = summary.get("demos", {})

    def run_wide(key: str) -> str:
        return str(_run_wide(summary, key))

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>tinygrad_seq tour</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>The history of sequence modeling, measured</h1>",
        "<p class='meta'>Each section quotes what the seed text claims, then what this run "
        "measured with tinygrad_seq. Every number is in <a href='summary.json'>summary.json"
        f"</a>. Run: size {e(run_wide('size'))}, seed {e(run_wide('seed'))}, "
        f"backend {e(run_wide('backend'))}, Python {e(str(meta.get('python')))}, "
        f"NumPy {e(str(meta.get('numpy')))}.</p>",
    ]
    for name in [n for n in DEMOS if n in demos] + [n for n in demos if n not in DEMOS]:
        d = demos[name]
        status = str(d.get("status", "?"))
        kind = status.split(":")[0]
        parts.append(
            f"<section id='{e(name)}'><h2>{e(str(d.get('title', name)))}"
            f"<span class='status {e(kind)}'>{e(status)}</span></h2>"
        )
        parts.append(f"<blockquote><b>The seed:</b> {e(str(d.get('claim', '')))}</blockquote>")
        if d.get("measured"):
            parts.append(f"<p><b>Measured:</b> {e(str(d['measured']))}</p>")
        for fig in d.get("figures", []):
            alt = f"{d.get('title', name)}: {d.get('headline', '')}".rstrip(": ")
            parts.append(f"<a href='{e(fig)}'><img src='{e(fig)}' alt='{e(alt)}'></a>")
        if any(str(fig).endswith(".svg") for fig in d.get("figures", [])):
            # the graphs are far wider than the page: shrunk to fit, their labels are tiny
            parts.append(
                "<p class='meta'>The drawings are wider than this page: click one to open it "
                "at full size.</p>"
            )
        key = d.get("key") or {}
        if key:
            parts.append(
                _table("Key numbers", ["quantity", "value"], [[k, v] for k, v in key.items()])
            )
        for t in d.get("tables", []):
            parts.append(_table(t["caption"], t["header"], t["rows"]))
        if d.get("traceback"):
            parts.append(f"<pre>{e(d['traceback'])}</pre>")
        parts.append(
            f"<p class='meta'>{e(name)}: {d.get('seconds', '?')} s, size {e(str(d.get('size')))}"
            f", seed {e(str(d.get('seed')))}, backend {e(str(d.get('backend')))}. Rerun alone: "
            f"<code>tinygrad-seq {e(name)} --out DIR"
            f"{e(_rerun_options(d.get('seed'), d.get('backend'), d.get('size')))}</code></p>"
            "</section>"
        )
    parts.append("</body></html>\n")
    write_atomic(path, "\n".join(parts))
