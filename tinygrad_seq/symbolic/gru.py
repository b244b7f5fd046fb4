"""The GRU's gradient identities, derived by SymPy and checked against the engine.

The seed's convention (with biases; the seed leaves them out, which is b = 0 here; the
seed's candidate weight W is named W_h):

    zₜ = σ(W_z [hₜ₋₁, xₜ] + b_z)             rₜ = σ(W_r [hₜ₋₁, xₜ] + b_r)
    h̃ₜ = tanh(W_h [rₜ ⊙ hₜ₋₁, xₜ] + b_h)     hₜ = (1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ

- `direct_term`: ∂hₜ/∂hₜ₋₁ with zₜ and h̃ₜ held fixed = diag(1 − zₜ): the GRU's gradient
  highway, open when zₜ ≈ 0 (PyTorch's convention swaps zₜ and 1 − zₜ). The engine side is
  ts.nn.GRUCell's own backward with its gates' gradient stopped, so a GRUCell with PyTorch's
  convention fails it.
- `step_jacobian`: the whole ∂hₜ/∂hₜ₋₁ = diag(1 − zₜ) + the paths through zₜ, h̃ₜ and rₜ;
  `direct_term_only` shows the checker rejecting diag(1 − zₜ) as the whole Jacobian.
- `parameter_gradients`: ∂L/∂W_g, ∂L/∂b_g (g = z, r, h) and ∂L/∂hₜ₋₁ for L = δhₜᵀ hₜ, one
  BPTT step of the GRU in closed form.

W_g^h = W_g[:, :h] is the part of W_g (h, h+d) that multiplies hₜ₋₁ (or rₜ ⊙ hₜ₋₁).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

import tinygrad_seq as ts

from ..nn.gru import STEP_NAMES
from .checker import (
    Block,
    CheckResult,
    Derivation,
    Equation,
    diag,
    engine_gradients,
    engine_jacobian,
    float64_module,
    float64_values,
    hadamard,
    matrix,
    row,
    sigma,
    tanh,
    vector,
)

ENGINE = "ts.nn.GRUCell (float64)"
GATES = ("z", "r", "h")


@dataclass(frozen=True)
class _Step:
    h_prev: sp.Matrix
    h_seen: sp.Matrix  # the hₜ₋₁ the gates and h̃ₜ read: hₜ₋₁, or its held copy h̄ₜ₋₁
    x_t: sp.Matrix
    W: dict[str, sp.Matrix]
    b: dict[str, sp.Matrix]
    z: sp.Matrix
    r: sp.Matrix
    h_tilde: sp.Matrix
    h: sp.Matrix
    names: dict[sp.Symbol, sp.Expr]
    named: dict[str, sp.Matrix]


def _step(hidden: int, inputs: int, gates_read: sp.Matrix | None = None) -> _Step:
    """One GRU step in symbols. `gates_read`: the hₜ₋₁ the gates and h̃ₜ see (default hₜ₋₁
    itself; a separate, held copy for the direct term)."""
    h_prev = vector("hₜ₋₁,{}", "h_{{t-1,{}}}", hidden)
    x_t = vector("xₜ,{}", "x_{{t,{}}}", inputs)
    W = {
        g: matrix(f"W_{g}{{}}{{}}", f"W_{{{{{g},{{}}{{}}}}}}", hidden, hidden + inputs)
        for g in GATES
    }
    b = {g: vector(f"b_{g}{{}}", f"b_{{{{{g},{{}}}}}}", hidden) for g in GATES}
    seen = h_prev if gates_read is None else gates_read
    hx = sp.Matrix.vstack(seen, x_t)  # [hₜ₋₁, xₜ]
    z = sigma(W["z"] * hx + b["z"])
    r = sigma(W["r"] * hx + b["r"])
    h_tilde = tanh(W["h"] * sp.Matrix.vstack(hadamard(r, seen), x_t) + b["h"])
    h = hadamard(z.applyfunc(lambda e: 1 - e), h_prev) + hadamard(z, h_tilde)
    named = {
        "z": vector("zₜ,{}", "z_{{t,{}}}", hidden),
        "r": vector("rₜ,{}", "r_{{t,{}}}", hidden),
        "h_tilde": vector("h̃ₜ,{}", r"\tilde{{h}}_{{t,{}}}", hidden),
    }
    values = {"z": z, "r": r, "h_tilde": h_tilde}
    names = {named[k][n]: values[k][n] for k in named for n in range(hidden)}
    return _Step(h_prev, seen, x_t, W, b, z, r, h_tilde, h, names, named)


def _equations(s: _Step, held: bool = False) -> list[Equation]:
    n = s.named
    seen = "h̄ₜ₋₁" if held else "hₜ₋₁"
    seen_latex = r"\bar h_{t-1}" if held else "h_{t-1}"
    return [
        Equation(
            f"zₜ = σ(W_z·[{seen}, xₜ] + b_z)",
            rf"z_t = \sigma(W_z [{seen_latex}, x_t] + b_z)",
            "zₜ",
            "z_t",
            s.z,
        ),
        Equation(
            f"rₜ = σ(W_r·[{seen}, xₜ] + b_r)",
            rf"r_t = \sigma(W_r [{seen_latex}, x_t] + b_r)",
            "rₜ",
            "r_t",
            s.r,
        ),
        Equation(
            f"h̃ₜ = tanh(W_h·[rₜ ⊙ {seen}, xₜ] + b_h)",
            rf"\tilde h_t = \tanh(W_h [r_t \odot {seen_latex}, x_t] + b_h)",
            "h̃ₜ",
            r"\tilde h_t",
            # with rₜ by name, as the seed writes it (held: the gates' copy h̄ₜ₋₁)
            tanh(s.W["h"] * sp.Matrix.vstack(hadamard(n["r"], s.h_seen), s.x_t) + s.b["h"]),
        ),
        Equation(
            "hₜ = (1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ",
            r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t",
            "hₜ",
            "h_t",
            hadamard(n["z"].applyfunc(lambda e: 1 - e), s.h_prev) + hadamard(n["z"], n["h_tilde"]),
        ),
    ]


def _cell(point, s: _Step):
    """The library's GRUCell with float64 weights taken from the point."""
    hidden, inputs = s.h_prev.rows, s.x_t.rows
    weights = {f"W_{g}": float64_values(s.W[g], point) for g in GATES}
    weights.update({f"b_{g}": float64_values(s.b[g], point).reshape(-1) for g in GATES})
    return float64_module(lambda: ts.nn.GRUCell(inputs, hidden), weights)


def _one_minus(v: sp.Matrix) -> sp.Matrix:
    return v.applyfunc(lambda e: 1 - e)


# ------------------------------------------------------------------ the direct term
HELD = STEP_NAMES[:3]  # z_t, r_t, h_tilde: the nodes GRUCell.step names, held fixed here


def _held_nodes(h_t: ts.Tensor) -> dict[str, ts.Tensor]:
    """GRUCell's own zₜ, rₜ, h̃ₜ nodes, found by name in the graph that computed `h_t`."""
    found = {t.name: t for t in ts.graph.trace(h_t).tensors if t.name in HELD}
    missing = [name for name in HELD if name not in found]
    if missing:
        raise ValueError(
            f"gru.direct_term: GRUCell.step made no node named {missing}; it must name its "
            f"gates {list(HELD)} (ts.nn.gru.STEP_NAMES) so that they can be held fixed"
        )
    return found


@cache
def direct_term(hidden: int = 2, inputs: int = 2) -> Derivation:
    """∂hₜ/∂hₜ₋₁ with zₜ, rₜ, h̃ₜ held fixed (they read a copy h̄ₜ₋₁) = diag(1 − zₜ).

    The engine side runs ts.nn.GRUCell itself: its hₜ must be the seed's update, and its own
    backward, stopped at its zₜ, rₜ and h̃ₜ nodes, must give diag(1 − zₜ). A GRUCell with
    PyTorch's convention, hₜ = zₜ ⊙ hₜ₋₁ + (1 − zₜ) ⊙ h̃ₜ, gives diag(zₜ) and fails.
    """
    held = vector("h̄ₜ₋₁,{}", r"\bar h_{{t-1,{}}}", hidden)
    s = _step(hidden, inputs, gates_read=held)
    # differentiate with the gates' copy held, then evaluate where the copy equals hₜ₋₁
    same = dict(zip(held, s.h_prev, strict=True))
    derived = s.h.jacobian(s.h_prev).xreplace(same)
    stated = diag(_one_minus(s.z)).xreplace(same)
    update = s.h.xreplace(same)  # hₜ = (1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ, elementwise
    names = {k: v.xreplace(same) for k, v in s.names.items()}

    def engine(point):
        cell = _cell(point, s)
        h0 = row(s.h_prev, point, requires_grad=True, name="h_prev")
        h_t = cell(row(s.x_t, point), h0)
        for gate in _held_nodes(h_t).values():
            gate.requires_grad = False  # backward stops here: the gate is held fixed
        (J,) = engine_jacobian(h_t, [h0])  # only the direct path hₜ₋₁ → hₜ is left
        return {"dh/dh_prev": J, "h_t": h_t.numpy()}

    return Derivation(
        name="gru.direct_term",
        title="GRU direct term: ∂hₜ/∂hₜ₋₁ = diag(1 − zₜ) with zₜ, rₜ, h̃ₜ held fixed",
        dims={"h": hidden, "d": inputs},
        equations=_equations(s, held=True),
        statement="∂hₜ/∂hₜ₋₁ |_(zₜ, rₜ, h̃ₜ fixed) = diag(1 − zₜ)",
        statement_latex=r"\left.\frac{\partial h_t}{\partial h_{t-1}}\right|_{z_t, r_t, "
        r"\tilde h_t} = \operatorname{diag}(1 - z_t)",
        blocks=[
            Block("dh/dh_prev", "∂hₜ/∂hₜ₋₁", r"\partial h_t / \partial h_{t-1}", derived, stated),
            Block("h_t", "hₜ (the update itself)", "h_t", update, update),
        ],
        names=names,
        engine=engine,
        engine_source=f"{ENGINE}, its backward stopped at its {', '.join(HELD)} nodes",
        seed_says="hₜ = (1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ (no gradient stated)",
        notes=[
            "the gates read a held copy h̄ₜ₋₁ (equal to hₜ₋₁ in value), so only the "
            "(1 − zₜ) ⊙ hₜ₋₁ term carries gradient: the highway is open when zₜ ≈ 0.",
            "the engine runs ts.nn.GRUCell and holds its own zₜ, rₜ, h̃ₜ fixed (their gradient "
            "stopped); hₜ is also compared, so PyTorch's convention zₜ ⊙ hₜ₋₁ + (1 − zₜ) ⊙ h̃ₜ "
            "fails both blocks.",
        ],
    )


# ------------------------------------------------------------------ the whole Jacobian
STEP_TEXT = """∂hₜ/∂hₜ₋₁ = diag(1 − zₜ)                                          (direct)
                 + diag((h̃ₜ − hₜ₋₁) ⊙ zₜ ⊙ (1 − zₜ)) W_z^h                     (through zₜ)
                 + diag(zₜ ⊙ (1 − h̃ₜ²)) W_h^h diag(rₜ)                        (through h̃ₜ)
                 + diag(zₜ ⊙ (1 − h̃ₜ²)) W_h^h diag(hₜ₋₁ ⊙ rₜ ⊙ (1 − rₜ)) W_r^h  (through rₜ)"""

STEP_LATEX = (
    r"\frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(1 - z_t) + "
    r"\operatorname{diag}((\tilde h_t - h_{t-1})\odot z_t\odot(1 - z_t))\,W_z^h + "
    r"\operatorname{diag}(z_t\odot(1-\tilde h_t^2))\,W_h^h\left(\operatorname{diag}(r_t) + "
    r"\operatorname{diag}(h_{t-1}\odot r_t\odot(1-r_t))\,W_r^h\right)"
)


def _stated_step(s: _Step) -> sp.Matrix:
    hidden = s.h_prev.rows
    Wh = {g: s.W[g][:, :hidden] for g in GATES}
    sig_z = hadamard(s.z, _one_minus(s.z))
    sig_r = hadamard(s.r, _one_minus(s.r))
    tanh_prime = s.h_tilde.applyfunc(lambda e: 1 - e**2)
    return (
        diag(_one_minus(s.z))
        + diag(hadamard(s.h_tilde - s.h_prev, sig_z)) * Wh["z"]
        + diag(hadamard(s.z, tanh_prime))
        * Wh["h"]
        * (diag(s.r) + diag(hadamard(s.h_prev, sig_r)) * Wh["r"])
    )


@cache
def step_jacobian(hidden: int = 2, inputs: int = 2) -> Derivation:
    """∂hₜ/∂hₜ₋₁ of the GRU: SymPy's jacobian against the four-term closed form."""
    s = _step(hidden, inputs)
    derived = s.h.jacobian(s.h_prev)
    stated = _stated_step(s)

    def engine(point):
        cell = _cell(point, s)
        h0 = row(s.h_prev, point, requires_grad=True, name="h_prev")
        (J,) = engine_jacobian(cell(row(s.x_t, point), h0), [h0])
        return {"dh/dh_prev": J}

    return Derivation(
        name="gru.step_jacobian",
        title="GRU step Jacobian ∂hₜ/∂hₜ₋₁: direct term diag(1 − zₜ) + the gates' paths",
        dims={"h": hidden, "d": inputs},
        equations=_equations(s),
        statement=STEP_TEXT,
        statement_latex=STEP_LATEX,
        blocks=[
            Block("dh/dh_prev", "∂hₜ/∂hₜ₋₁", r"\partial h_t / \partial h_{t-1}", derived, stated)
        ],
        names=s.names,
        engine=engine,
        engine_source=ENGINE,
        seed_says="hₜ = (1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ (no gradient stated)",
        notes=[
            "diag(1 − zₜ) is the whole Jacobian only when the gates' paths vanish "
            "(e.g. zₜ = 0 exactly); ts.symbolic.gru.direct_term_only() shows the checker "
            "rejecting it."
        ],
    )


def direct_term_only(hidden: int = 2, inputs: int = 2) -> Derivation:
    """The whole GRU Jacobian stated as diag(1 − zₜ) alone (wrong: drops the gates' paths)."""
    d = step_jacobian(hidden, inputs)
    z = sp.Matrix([d.names[k] for k in d.names if str(k).startswith("zₜ,")])
    return d.with_stated(
        {"dh/dh_prev": diag(_one_minus(z))},
        name="gru.direct_term_only",
        statement="∂hₜ/∂hₜ₋₁ = diag(1 − zₜ) (the direct term alone)",
    )


# ------------------------------------------------------------------ parameter gradients
PARAMETER_GRADIENTS_TEXT = """for L = δhₜᵀ hₜ (δhₜ: the upstream gradient),
    a_g the pre-activation of gate g (g = z, r, h; a_h that of h̃ₜ), δa_g = ∂L/∂a_g,
    W_g^h = W_g[:, :h] the columns that read hₜ₋₁ (or rₜ ⊙ hₜ₋₁):
      δh̃ = δhₜ ⊙ zₜ,   δz = δhₜ ⊙ (h̃ₜ − hₜ₋₁)
      δa_h = δh̃ ⊙ (1 − h̃ₜ²),   δa_z = δz ⊙ zₜ ⊙ (1 − zₜ)
      δa_r = ((W_h^h)ᵀ δa_h) ⊙ hₜ₋₁ ⊙ rₜ ⊙ (1 − rₜ)
      ∂L/∂W_z = δa_z [hₜ₋₁, xₜ]ᵀ,  ∂L/∂W_r = δa_r [hₜ₋₁, xₜ]ᵀ,  ∂L/∂W_h = δa_h [rₜ ⊙ hₜ₋₁, xₜ]ᵀ
      ∂L/∂b_g = δa_g
      ∂L/∂hₜ₋₁ = δhₜ ⊙ (1 − zₜ) + (W_z^h)ᵀ δa_z + (W_r^h)ᵀ δa_r + ((W_h^h)ᵀ δa_h) ⊙ rₜ"""

PARAMETER_GRADIENTS_LATEX = (
    r"\begin{aligned}"
    r"\delta \tilde h &= \delta h_t \odot z_t,\quad "
    r"\delta z = \delta h_t \odot (\tilde h_t - h_{t-1})\\"
    r"\delta a_h &= \delta \tilde h \odot (1 - \tilde h_t^2),\quad "
    r"\delta a_z = \delta z \odot z_t \odot (1 - z_t),\quad "
    r"\delta a_r = ((W_h^h)^\top \delta a_h) \odot h_{t-1} \odot r_t \odot (1 - r_t)\\"
    r"\frac{\partial L}{\partial W_z} &= \delta a_z\,[h_{t-1}, x_t]^\top,\quad "
    r"\frac{\partial L}{\partial W_r} = \delta a_r\,[h_{t-1}, x_t]^\top,\quad "
    r"\frac{\partial L}{\partial W_h} = \delta a_h\,[r_t \odot h_{t-1}, x_t]^\top,\quad "
    r"\frac{\partial L}{\partial b_g} = \delta a_g\\"
    r"\frac{\partial L}{\partial h_{t-1}} &= \delta h_t \odot (1 - z_t) + (W_z^h)^\top "
    r"\delta a_z + (W_r^h)^\top \delta a_r + ((W_h^h)^\top \delta a_h) \odot r_t"
    r"\end{aligned}"
)


@cache
def parameter_gradients(hidden: int = 2, inputs: int = 1) -> Derivation:
    """∂L/∂(W_z, W_r, W_h, b_z, b_r, b_h, hₜ₋₁) for L = δhₜᵀ hₜ.

    SymPy's diff of L, per element, against the closed forms of one GRU backward step."""
    s = _step(hidden, inputs)
    dh = vector("δhₜ,{}", r"\delta h_{{t,{}}}", hidden)  # upstream ∂L/∂hₜ
    L = (dh.T * s.h)[0, 0]

    def grad(P: sp.Matrix) -> sp.Matrix:
        return P.applyfunc(lambda p: sp.diff(L, p))

    def slope(gate: sp.Matrix) -> sp.Matrix:  # σ' = σ(1 − σ), by the gate's value
        return hadamard(gate, _one_minus(gate))

    hx = sp.Matrix.vstack(s.h_prev, s.x_t)
    rhx = sp.Matrix.vstack(hadamard(s.r, s.h_prev), s.x_t)
    W_h_h = {g: s.W[g][:, :hidden] for g in GATES}  # W_g^h: the columns that read hₜ₋₁
    delta = {"h": hadamard(hadamard(dh, s.z), s.h_tilde.applyfunc(lambda e: 1 - e**2))}
    delta["z"] = hadamard(hadamard(dh, s.h_tilde - s.h_prev), slope(s.z))
    d_rh = W_h_h["h"].T * delta["h"]  # ∂L/∂(rₜ ⊙ hₜ₋₁)
    delta["r"] = hadamard(hadamard(d_rh, s.h_prev), slope(s.r))
    reads = {"z": hx, "r": hx, "h": rhx}
    blocks = [
        Block(
            f"W_{g}",
            f"∂L/∂W_{g}",
            rf"\partial L / \partial W_{g}",
            grad(s.W[g]),
            delta[g] * reads[g].T,
        )
        for g in GATES
    ]
    blocks += [
        Block(f"b_{g}", f"∂L/∂b_{g}", rf"\partial L / \partial b_{g}", grad(s.b[g]), delta[g])
        for g in GATES
    ]
    d_h_prev = (
        hadamard(dh, _one_minus(s.z))  # the direct term: the highway of direct_term
        + W_h_h["z"].T * delta["z"]
        + W_h_h["r"].T * delta["r"]
        + hadamard(d_rh, s.r)
    )
    blocks.append(
        Block("h_prev", "∂L/∂hₜ₋₁", r"\partial L / \partial h_{t-1}", grad(s.h_prev), d_h_prev)
    )

    def engine(point):
        cell = _cell(point, s)
        h0 = row(s.h_prev, point, requires_grad=True, name="h_prev")
        h_t = cell(row(s.x_t, point), h0)
        (h_t * row(dh, point)).sum().backward()  # L is one number: one backward
        return engine_gradients(cell, h_prev=h0)

    return Derivation(
        name="gru.parameter_gradients",
        title="GRU gradients: ∂L/∂W_z, W_r, W_h, the biases and hₜ₋₁",
        dims={"h": hidden, "d": inputs},
        equations=_equations(s),
        statement=PARAMETER_GRADIENTS_TEXT,
        statement_latex=PARAMETER_GRADIENTS_LATEX,
        blocks=blocks,
        names=s.names,
        engine=engine,
        engine_source=ENGINE + ", one backward of L",
        seed_says="zₜ = σ(W_z·[hₜ₋₁, xₜ]), rₜ = σ(W_r·[hₜ₋₁, xₜ]), "
        "h̃ₜ = tanh(W·[rₜ ⊙ hₜ₋₁, xₜ]), hₜ = (1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ; no biases (b_g are "
        "the module's) and no gradient stated",
        notes=[
            "δhₜ is a free symbol, so the identity holds for every upstream gradient: it is "
            "the vector-Jacobian product of the step, i.e. one BPTT step.",
            "the reset gate's gradient comes only through h̃ₜ, and only where hₜ₋₁ ≠ 0: "
            "rₜ multiplies hₜ₋₁ before W_h sees it.",
        ],
    )


# ------------------------------------------------------------------ all of it
def derive() -> list[Derivation]:
    """Every GRU identity as a Derivation."""
    return [direct_term(), step_jacobian(), parameter_gradients()]


def check(seed: int = 0) -> list[CheckResult]:
    """Check every GRU identity."""
    return [d.check(seed=seed) for d in derive()]


__all__ = [
    "check",
    "derive",
    "direct_term",
    "direct_term_only",
    "parameter_gradients",
    "step_jacobian",
]
