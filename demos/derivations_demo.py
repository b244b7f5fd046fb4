"""Demo 11: the seed's gradient identities, derived with SymPy and checked against the engine.

Runs `ts.symbolic.check()` for every model (RNN, LSTM, GRU, attention, the Transformer's
Add & normalize): each identity is
derived from the model's equations on small explicit dimensions, SymPy simplifies
derived − stated to zero, and both are compared with the engine's own backward at a random
float64 point. The figure shows each check's largest numeric disagreement against the
tolerance; the seed's worked example (0.9)^19 (0.3)^19 is computed exactly.
"""

from __future__ import annotations

from typing import Any

from .common import DemoContext, demo_command, require

SYMPY_COMPARISON = "max |engine backward − SymPy derivative|"  # as viz.plots labels it


def _compared(result: Any) -> str:
    """What a check's numeric error measures: the engine against SymPy's derivative, or, for
    a statement with no SymPy derivative (the vanishing-gradient inequality), the comparison
    its `errors` names (there: the engine's relative error against the product J_T⋯J₂)."""
    if result.symbolic_ok is not None or not result.errors:
        return SYMPY_COMPARISON
    name = ", ".join(result.errors)  # e.g. "engine vs J_T⋯J₂ (relative)"
    if name.startswith("engine vs ") and name.endswith(" (relative)"):
        return f"engine's relative error against the numeric {name[10:-11]}"
    return name


def run(ctx: DemoContext) -> dict[str, Any]:
    check, derive, models = require("tinygrad_seq.symbolic", "check", "derive", "MODELS")
    rnn_sym = require("tinygrad_seq.symbolic.rnn")
    results = []
    for model in ctx.progress(list(models), "derivations: SymPy"):
        results.extend(check(model, seed=ctx.seed))
    statements = {d.name: d.statement for d in derive()}
    example = rnn_sym.worked_example() if hasattr(rnn_sym, "worked_example") else None

    rows, numbers = [], []
    for r in results:
        compared = _compared(r)
        engine_error = f"{r.numeric_max_error:.1e}"
        if compared != SYMPY_COMPARISON:
            engine_error += f" ({compared})"
        symbolic_word = {True: "0 (proved)", False: "FAILED", None: "n/a (an inequality)"}[
            r.symbolic_ok
        ]
        rows.append(
            [
                r.title,
                symbolic_word,
                engine_error,
                "pass" if r.passed else "FAIL",
                f"{r.seconds:.2f}",
            ]
        )
        numbers.append(
            {
                "name": r.name,
                "title": r.title,
                "statement": statements.get(r.name, ""),
                "symbolic_ok": r.symbolic_ok,
                "numeric_max_error": r.numeric_max_error,
                "compared": compared,
                "tolerance": r.tol,
                "passed": bool(r.passed),
                "seconds": r.seconds,
                "conditions": r.conditions,
                "notes": list(r.notes),
            }
        )
    passed = sum(1 for r in results if r.passed)
    worst = max(r.numeric_max_error for r in results)
    vs_sympy = [r.numeric_max_error for r in results if _compared(r) == SYMPY_COMPARISON]
    worst_vs_sympy = max(vs_sympy, default=0.0)
    others = "".join(
        f"; for {r.title} the number is the {_compared(r)}: {r.numeric_max_error:.1e}"
        for r in results
        if _compared(r) != SYMPY_COMPARISON
    )
    tol = results[0].tol if results else 1e-10

    from tinygrad_seq.viz import plots

    fig = plots.derivations_figure(ctx.figure("derivations.png"), numbers, tol)
    ex_text = ""
    key_example = {}
    if example is not None:
        ex_text = (
            f" The seed's worked example (0.9)^19 (0.3)^19 is exactly {example['exact']} = "
            f"{example['value']:.3e}; the seed writes 0.15 × 10^-10 "
            f"({example['relative_difference']:+.1%})."
        )
        key_example = {"(0.9)^19 (0.3)^19, exact": f"{example['value']:.4e}"}
    measured = (
        f"{passed} of {len(results)} identities pass: SymPy reduces derived − stated to 0 for "
        f"{sum(1 for r in results if r.symbolic_ok)} of them (the vanishing-gradient bound is an "
        f"inequality, checked numerically), and the engine's backward agrees with the derived "
        f"Jacobians to at worst {worst_vs_sympy:.1e} (tolerance {tol:.0e}) in float64{others}."
        + ex_text
        + " Where the seed is loose the derivation gives the exact form: the RNN step "
        "Jacobian is diag(1 − h_t²) W_hh (the seed writes W_hh ⊙ tanh'(·)), and "
        "∂C_t/∂C_{t−1} = diag(f_t) holds along the cell path with h_{t−1} held fixed."
    )
    return {
        "headline": f"{passed}/{len(results)} identities pass; "
        f"engine vs SymPy at worst {worst_vs_sympy:.1e}",
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            "identities passing": f"{passed} / {len(results)}",
            "largest engine-vs-SymPy difference": f"{worst_vs_sympy:.1e}",
            **key_example,
        },
        "tables": [
            {
                "caption": "Each identity: SymPy's residual, the engine's disagreement (with "
                "SymPy's derivative unless the cell names another comparison)",
                "header": [
                    "identity",
                    "derived − stated",
                    "engine's max error",
                    "check",
                    "seconds",
                ],
                "rows": rows,
            }
        ],
        "numbers": {
            "identities": numbers,
            "passed": passed,
            "total": len(results),
            "worst_numeric_error": worst,
            "worst_engine_vs_sympy": worst_vs_sympy,
            "tolerance": tol,
            "worked_example": None
            if example is None
            else {
                "exact": str(example["exact"]),
                "value": example["value"],
                "seed_value": example["seed_value"],
                "relative_difference": example["relative_difference"],
            },
        },
    }


command = demo_command("derivations")
