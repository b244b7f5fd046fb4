"""SymPy derivations of the seed's gradient identities, checked against the engine.

One module per model (`rnn`, `lstm`, `gru`, `attention`, and `transformer` for its
"Add & normalize"); each has a `derive()` that returns
its identities as `Derivation`s (the model's equations, SymPy's own Jacobian of them, the
stated closed form) and a `check()` that returns a `CheckResult` per identity: SymPy
simplifies derived − stated to 0 on small explicit dimensions, and the engine's backward
agrees with both at a random float64 point to 1e-10.

    import tinygrad_seq as ts
    for result in ts.symbolic.check("lstm"):
        print(result)

This package imports SymPy; `import tinygrad_seq` does not import it (ts.symbolic loads on
first use).
"""

from __future__ import annotations

from .._checks import as_int
from . import attention, checker, gru, latex_prose, lstm, rnn, transformer
from .checker import CheckResult, Derivation, check_identity

MODELS = {"rnn": rnn, "lstm": lstm, "gru": gru, "attention": attention, "transformer": transformer}


def _modules(name: str | None):
    if name is None:
        return list(MODELS.values())
    if name not in MODELS:
        raise ValueError(f"ts.symbolic: no model {name!r}; choose one of {', '.join(MODELS)}")
    return [MODELS[name]]


def derive(name: str | None = None) -> list[Derivation]:
    """The identities of one model, or of all, as Derivations.

    Models: "rnn", "lstm", "gru", "attention", "transformer" (None: all of them)."""
    return [d for module in _modules(name) for d in module.derive()]


def check(name: str | None = None, seed: int = 0) -> list[CheckResult]:
    """Check the identities of one model, or of all.

    One CheckResult each. `seed` (an integer ≥ 0) draws the random point of the numerical check."""
    seed = as_int(seed, "ts.symbolic.check: seed", "an integer ≥ 0")
    if seed < 0:
        raise ValueError(f"ts.symbolic.check: seed must be an integer ≥ 0, got {seed}")
    return [r for module in _modules(name) for r in module.check(seed=seed)]


__all__ = [
    "MODELS",
    "CheckResult",
    "Derivation",
    "attention",
    "check",
    "check_identity",
    "checker",
    "derive",
    "gru",
    "latex_prose",
    "lstm",
    "rnn",
    "transformer",
]
