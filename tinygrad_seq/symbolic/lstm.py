"""The LSTM's gradient identities, derived by SymPy and checked against the engine.

    fₜ = σ(W_f [hₜ₋₁, xₜ] + b_f)     iₜ = σ(W_i [hₜ₋₁, xₜ] + b_i)
    C̃ₜ = tanh(W_C [hₜ₋₁, xₜ] + b_C)  oₜ = σ(W_o [hₜ₋₁, xₜ] + b_o)
    Cₜ = fₜ ⊙ Cₜ₋₁ + iₜ ⊙ C̃ₜ          hₜ = oₜ ⊙ tanh(Cₜ)

- `sigmoid_derivative`: σ'(x) = σ(x)(1 − σ(x)), from σ's definition (the rule SymPy then uses).
- `cell_path`: ∂Cₜ/∂Cₜ₋₁ = diag(fₜ) with hₜ₋₁ held fixed: the seed's "∂Cₜ/∂Cₜ₋₁ = fₜ".
- `full_jacobian`: ∂(hₜ, Cₜ)/∂(hₜ₋₁, Cₜ₋₁), all four blocks, with the paths through hₜ₋₁ and
  the gates.
- `two_steps`: ∂Cₜ₊₁/∂Cₜ₋₁ over two steps = fₜ₊₁ fₜ + (the path through hₜ and the gates at
  t + 1); the seed's ∂C_T/∂C₁ = Π fₜ is the first term only (`two_steps_cell_path_only`).
- `parameter_gradients`: ∂L/∂W_f, W_i, W_C, W_o, the biases, hₜ₋₁ and Cₜ₋₁ for a generic
  upstream gradient (δhₜ, δCₜ), i.e. L = δhₜᵀ hₜ + δCₜᵀ Cₜ.

Each W_g (h, h+d) acts on [hₜ₋₁, xₜ]; W_g^h = W_g[:, :h] is the part that multiplies hₜ₋₁.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

import tinygrad_seq as ts

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
    sigmoid,
    symbol,
    tanh,
    vector,
)

ENGINE = "ts.nn.LSTMCell (float64)"
GATES = ("f", "i", "C", "o")


@dataclass(frozen=True)
class _Step:
    """One LSTM step in symbols: inputs, weights, and every intermediate as an expression."""

    h_prev: sp.Matrix
    C_prev: sp.Matrix
    x_t: sp.Matrix
    W: dict[str, sp.Matrix]  # gate -> (h, h+d)
    b: dict[str, sp.Matrix]  # gate -> (h, 1)
    f: sp.Matrix
    i: sp.Matrix
    C_tilde: sp.Matrix
    o: sp.Matrix
    C: sp.Matrix
    h: sp.Matrix
    names: dict[sp.Symbol, sp.Expr]  # fₜ,₁ -> σ(a_f,1), ...
    named: dict[str, sp.Matrix]  # "f" -> the vector of name symbols [fₜ,₁, fₜ,₂], ...


def _weights(hidden: int, inputs: int) -> tuple[dict[str, sp.Matrix], dict[str, sp.Matrix]]:
    W = {
        g: matrix(f"W_{g}{{}}{{}}", f"W_{{{{{g},{{}}{{}}}}}}", hidden, hidden + inputs)
        for g in GATES
    }
    b = {g: vector(f"b_{g}{{}}", f"b_{{{{{g},{{}}}}}}", hidden) for g in GATES}
    return W, b


def _step(
    hidden: int,
    inputs: int,
    h_prev: sp.Matrix,
    C_prev: sp.Matrix,
    x_t: sp.Matrix,
    t: str = "ₜ",
    t_latex: str = "t",
) -> _Step:
    """The six equations in symbols, with h_prev and C_prev given (symbols or expressions)."""
    W, b = _weights(hidden, inputs)
    hx = sp.Matrix.vstack(h_prev, x_t)  # [hₜ₋₁, xₜ]
    f = sigma(W["f"] * hx + b["f"])
    i = sigma(W["i"] * hx + b["i"])
    C_tilde = tanh(W["C"] * hx + b["C"])
    C = hadamard(f, C_prev) + hadamard(i, C_tilde)
    o = sigma(W["o"] * hx + b["o"])
    h = hadamard(o, tanh(C))
    named = {
        "f": vector(f"f{t},{{}}", f"f_{{{{{t_latex},{{}}}}}}", hidden),
        "i": vector(f"i{t},{{}}", f"i_{{{{{t_latex},{{}}}}}}", hidden),
        "C_tilde": vector(f"C̃{t},{{}}", f"\\tilde{{{{C}}}}_{{{{{t_latex},{{}}}}}}", hidden),
        "o": vector(f"o{t},{{}}", f"o_{{{{{t_latex},{{}}}}}}", hidden),
        "C": vector(f"C{t},{{}}", f"C_{{{{{t_latex},{{}}}}}}", hidden),
    }
    values = {"f": f, "i": i, "C_tilde": C_tilde, "o": o, "C": C}
    names = {named[k][n]: values[k][n] for k in named for n in range(hidden)}
    return _Step(h_prev, C_prev, x_t, W, b, f, i, C_tilde, o, C, h, names, named)


def _inputs(hidden: int, inputs: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    h_prev = vector("hₜ₋₁,{}", "h_{{t-1,{}}}", hidden)
    C_prev = vector("Cₜ₋₁,{}", "C_{{t-1,{}}}", hidden)
    x_t = vector("xₜ,{}", "x_{{t,{}}}", inputs)
    return h_prev, C_prev, x_t


def _equations(s: _Step) -> list[Equation]:
    """The seed's six equations, elementwise, each written with the names of earlier ones."""
    n = s.named
    hx = sp.Matrix.vstack(s.h_prev, s.x_t)
    gate = {g: s.W[g] * hx + s.b[g] for g in GATES}
    rows = [
        (
            "fₜ = σ(W_f·[hₜ₋₁, xₜ] + b_f)",
            r"f_t = \sigma(W_f [h_{t-1}, x_t] + b_f)",
            "fₜ",
            "f_t",
            sigma(gate["f"]),
        ),
        (
            "iₜ = σ(W_i·[hₜ₋₁, xₜ] + b_i)",
            r"i_t = \sigma(W_i [h_{t-1}, x_t] + b_i)",
            "iₜ",
            "i_t",
            sigma(gate["i"]),
        ),
        (
            "C̃ₜ = tanh(W_C·[hₜ₋₁, xₜ] + b_C)",
            r"\tilde{C}_t = \tanh(W_C [h_{t-1}, x_t] + b_C)",
            "C̃ₜ",
            r"\tilde{C}_t",
            tanh(gate["C"]),
        ),
        (
            "Cₜ = fₜ ⊙ Cₜ₋₁ + iₜ ⊙ C̃ₜ",
            r"C_t = f_t \odot C_{t-1} + i_t \odot \tilde{C}_t",
            "Cₜ",
            "C_t",
            hadamard(n["f"], s.C_prev) + hadamard(n["i"], n["C_tilde"]),
        ),
        (
            "oₜ = σ(W_o·[hₜ₋₁, xₜ] + b_o)",
            r"o_t = \sigma(W_o [h_{t-1}, x_t] + b_o)",
            "oₜ",
            "o_t",
            sigma(gate["o"]),
        ),
        (
            "hₜ = oₜ ⊙ tanh(Cₜ)",
            r"h_t = o_t \odot \tanh(C_t)",
            "hₜ",
            "h_t",
            hadamard(n["o"], tanh(n["C"])),
        ),
    ]
    return [Equation(*r) for r in rows]


def _cell(point, s: _Step):
    """The library's LSTMCell with float64 weights taken from the point."""
    hidden, inputs = s.h_prev.rows, s.x_t.rows
    weights = {f"W_{g}": float64_values(s.W[g], point) for g in GATES}
    weights.update({f"b_{g}": float64_values(s.b[g], point).reshape(-1) for g in GATES})
    return float64_module(lambda: ts.nn.LSTMCell(inputs, hidden), weights)


def _one_minus(v: sp.Matrix) -> sp.Matrix:
    return v.applyfunc(lambda e: 1 - e)


def _sigma_prime(v: sp.Matrix) -> sp.Matrix:
    """σ' as σ ⊙ (1 − σ), for v = σ(a)."""
    return hadamard(v, _one_minus(v))


def _tanh_prime(v: sp.Matrix) -> sp.Matrix:
    """tanh' as 1 − v², for v = tanh(a)."""
    return v.applyfunc(lambda e: 1 - e**2)


# ------------------------------------------------------------------ σ' = σ(1 − σ)
@cache
def sigmoid_derivative() -> Derivation:
    """d/dx σ(x) = σ(x)(1 − σ(x)), with σ(x) = 1/(1 + e⁻ˣ) differentiated by SymPy."""
    x = symbol("x", "x")
    definition = 1 / (1 + sp.exp(-x))
    derived = sp.Matrix([sp.diff(definition, x)])
    # the rule the other identities use: SymPy's derivative of the σ function (its fdiff,
    # σ(1 − σ)), written out with σ(x) = 1/(1 + e⁻ˣ)
    stated = sp.Matrix([sp.diff(sigmoid(x), x).rewrite(sp.exp)])
    sigma_x = symbol("σ(x)", r"\sigma(x)")

    def engine(point):
        xt = ts.Tensor(np.array([point[x]]), requires_grad=True)
        (J,) = engine_jacobian(xt.sigmoid(), [xt])
        return {"dsigma/dx": J}

    return Derivation(
        name="lstm.sigmoid_derivative",
        title="σ'(x) = σ(x)(1 − σ(x))",
        dims={},
        equations=[
            Equation(
                "σ(x) = 1/(1 + e⁻ˣ)",
                r"\sigma(x) = \frac{1}{1 + e^{-x}}",
                "σ(x)",
                r"\sigma(x)",
                sp.Matrix([definition]),
            )
        ],
        statement="σ'(x) = σ(x)(1 − σ(x)); SymPy differentiates σ in the other identities "
        "by this rule",
        statement_latex=r"\sigma'(x) = \sigma(x)\,(1 - \sigma(x))",
        blocks=[Block("dsigma/dx", "dσ(x)/dx", r"\frac{d\sigma(x)}{dx}", derived, stated)],
        names={sigma_x: definition},
        engine=engine,
        engine_source="ts.Tensor.sigmoid (float64)",
    )


# ------------------------------------------------------------------ the cell-state path
@cache
def cell_path(hidden: int = 2, inputs: int = 2) -> Derivation:
    """∂Cₜ/∂Cₜ₋₁ with hₜ₋₁ held fixed = diag(fₜ)."""
    s = _step(hidden, inputs, *_inputs(hidden, inputs))
    derived = s.C.jacobian(s.C_prev)
    stated = diag(s.f)

    def engine(point):
        cell = _cell(point, s)
        C0 = row(s.C_prev, point, requires_grad=True, name="C_prev")
        _, C_t = cell(row(s.x_t, point), (row(s.h_prev, point), C0))
        (J,) = engine_jacobian(C_t, [C0])
        return {"dC/dC_prev": J}

    return Derivation(
        name="lstm.cell_path",
        title="LSTM cell-state path: ∂Cₜ/∂Cₜ₋₁ = diag(fₜ) (hₜ₋₁ held fixed)",
        dims={"h": hidden, "d": inputs},
        equations=_equations(s),
        statement="∂Cₜ/∂Cₜ₋₁ |_(hₜ₋₁ fixed) = diag(fₜ)",
        statement_latex=r"\left.\frac{\partial C_t}{\partial C_{t-1}}\right|_{h_{t-1}} = "
        r"\operatorname{diag}(f_t)",
        blocks=[
            Block("dC/dC_prev", "∂Cₜ/∂Cₜ₋₁", r"\partial C_t / \partial C_{t-1}", derived, stated)
        ],
        names=s.names,
        engine=engine,
        engine_source=ENGINE,
        seed_says="∂Cₜ/∂Cₜ₋₁ = fₜ, and ∂C_T/∂C₁ = Π_{t=2}^{T} fₜ",
        notes=[
            "exact for one step: Cₜ₋₁ enters Cₜ only through fₜ ⊙ Cₜ₋₁ (the gates read "
            "hₜ₋₁, not Cₜ₋₁), so the Jacobian is the diagonal matrix diag(fₜ). Over several "
            "steps Cₜ₋₁ also reaches Cₜ₊₁ through hₜ = oₜ ⊙ tanh(Cₜ) and the gates at "
            "t + 1, so Π fₜ is only the cell path's term (see two_steps)."
        ],
    )


# ------------------------------------------------------------------ the full Jacobian
def _stated_blocks(s: _Step) -> dict[str, sp.Matrix]:
    """The four blocks of ∂(hₜ, Cₜ)/∂(hₜ₋₁, Cₜ₋₁) in closed form."""
    hidden = s.h_prev.rows
    Wh = {g: s.W[g][:, :hidden] for g in GATES}  # the columns that multiply hₜ₋₁
    tanh_C = tanh(s.C)
    dC_dh = (
        diag(hadamard(s.C_prev, _sigma_prime(s.f))) * Wh["f"]
        + diag(hadamard(s.C_tilde, _sigma_prime(s.i))) * Wh["i"]
        + diag(hadamard(s.i, _tanh_prime(s.C_tilde))) * Wh["C"]
    )
    dh_dC_t = diag(hadamard(s.o, _tanh_prime(tanh_C)))  # ∂hₜ/∂Cₜ
    return {
        "dh/dh_prev": diag(hadamard(tanh_C, _sigma_prime(s.o))) * Wh["o"] + dh_dC_t * dC_dh,
        "dh/dC_prev": dh_dC_t * diag(s.f),
        "dC/dh_prev": dC_dh,
        "dC/dC_prev": diag(s.f),
    }


FULL_JACOBIAN_TEXT = """the four blocks, with W_g^h = W_g[:, :h] (the columns on hₜ₋₁):
      ∂Cₜ/∂hₜ₋₁ = diag(Cₜ₋₁ ⊙ fₜ ⊙ (1 − fₜ)) W_f^h + diag(C̃ₜ ⊙ iₜ ⊙ (1 − iₜ)) W_i^h
                  + diag(iₜ ⊙ (1 − C̃ₜ²)) W_C^h
      ∂Cₜ/∂Cₜ₋₁ = diag(fₜ)
      ∂hₜ/∂hₜ₋₁ = diag(tanh(Cₜ) ⊙ oₜ ⊙ (1 − oₜ)) W_o^h + diag(oₜ ⊙ (1 − tanh²Cₜ)) ∂Cₜ/∂hₜ₋₁
      ∂hₜ/∂Cₜ₋₁ = diag(oₜ ⊙ (1 − tanh²Cₜ) ⊙ fₜ)"""

FULL_JACOBIAN_LATEX = (
    r"\begin{aligned}"
    r"\frac{\partial C_t}{\partial h_{t-1}} &= \operatorname{diag}(C_{t-1}\odot f_t\odot"
    r"(1-f_t))W_f^h + \operatorname{diag}(\tilde C_t\odot i_t\odot(1-i_t))W_i^h + "
    r"\operatorname{diag}(i_t\odot(1-\tilde C_t^2))W_C^h\\"
    r"\frac{\partial C_t}{\partial C_{t-1}} &= \operatorname{diag}(f_t)\\"
    r"\frac{\partial h_t}{\partial h_{t-1}} &= \operatorname{diag}(\tanh(C_t)\odot o_t\odot"
    r"(1-o_t))W_o^h + \operatorname{diag}(o_t\odot(1-\tanh^2 C_t))"
    r"\frac{\partial C_t}{\partial h_{t-1}}\\"
    r"\frac{\partial h_t}{\partial C_{t-1}} &= \operatorname{diag}(o_t\odot(1-\tanh^2 C_t)"
    r"\odot f_t)"
    r"\end{aligned}"
)


@cache
def full_jacobian(hidden: int = 2, inputs: int = 1) -> Derivation:
    """∂(hₜ, Cₜ)/∂(hₜ₋₁, Cₜ₋₁): SymPy's jacobian of the stacked state, in four blocks."""
    s = _step(hidden, inputs, *_inputs(hidden, inputs))
    full = sp.Matrix.vstack(s.h, s.C).jacobian(sp.Matrix.vstack(s.h_prev, s.C_prev))
    H = hidden
    derived = {
        "dh/dh_prev": full[:H, :H],
        "dh/dC_prev": full[:H, H:],
        "dC/dh_prev": full[H:, :H],
        "dC/dC_prev": full[H:, H:],
    }
    stated = _stated_blocks(s)
    labels = {
        "dh/dh_prev": ("∂hₜ/∂hₜ₋₁", r"\partial h_t / \partial h_{t-1}"),
        "dh/dC_prev": ("∂hₜ/∂Cₜ₋₁", r"\partial h_t / \partial C_{t-1}"),
        "dC/dh_prev": ("∂Cₜ/∂hₜ₋₁", r"\partial C_t / \partial h_{t-1}"),
        "dC/dC_prev": ("∂Cₜ/∂Cₜ₋₁", r"\partial C_t / \partial C_{t-1}"),
    }

    def engine(point):
        cell = _cell(point, s)
        h0 = row(s.h_prev, point, requires_grad=True, name="h_prev")
        C0 = row(s.C_prev, point, requires_grad=True, name="C_prev")
        h_t, C_t = cell(row(s.x_t, point), (h0, C0))
        J_h, J_C = engine_jacobian(ts.cat([h_t, C_t], axis=-1), [h0, C0])  # rows: (hₜ, Cₜ)
        return {
            "dh/dh_prev": J_h[:H],
            "dh/dC_prev": J_C[:H],
            "dC/dh_prev": J_h[H:],
            "dC/dC_prev": J_C[H:],
        }

    return Derivation(
        name="lstm.full_jacobian",
        title="LSTM step Jacobian ∂(hₜ, Cₜ)/∂(hₜ₋₁, Cₜ₋₁), every path",
        dims={"h": hidden, "d": inputs},
        equations=_equations(s),
        statement=FULL_JACOBIAN_TEXT,
        statement_latex=FULL_JACOBIAN_LATEX,
        blocks=[Block(k, *labels[k], derived[k], stated[k]) for k in labels],
        names=s.names,
        engine=engine,
        engine_source=ENGINE,
        seed_says="∂Cₜ/∂Cₜ₋₁ = fₜ (the cell path only)",
        notes=[
            "only ∂Cₜ/∂Cₜ₋₁ is as simple as the seed says; hₜ₋₁ reaches Cₜ through all "
            "three of fₜ, iₜ, C̃ₜ, and hₜ through those and oₜ."
        ],
    )


# ------------------------------------------------------------------ two steps
@cache
def two_steps(hidden: int = 2, inputs: int = 1) -> Derivation:
    """∂Cₜ₊₁/∂Cₜ₋₁ over two steps: fₜ₊₁ fₜ plus the path through hₜ and the gates.

    h = 2 by default: with h = 1 every block is 1 × 1, and a product in the wrong order or a
    transposed factor would pass."""
    h_prev, C_prev, x_t = _inputs(hidden, inputs)
    s1 = _step(hidden, inputs, h_prev, C_prev, x_t)
    x_next = vector("xₜ₊₁,{}", "x_{{t+1,{}}}", inputs)
    s2 = _step(hidden, inputs, s1.h, s1.C, x_next, "ₜ₊₁", "t+1")
    derived = s2.C.jacobian(C_prev)
    blocks1, blocks2 = _stated_blocks(s1), _stated_blocks(s2)
    # chain rule through the full state (hₜ, Cₜ): J₂[C-row] · J₁[column Cₜ₋₁]
    stated = blocks2["dC/dC_prev"] * blocks1["dC/dC_prev"] + (
        blocks2["dC/dh_prev"] * blocks1["dh/dC_prev"]
    )
    names = {**s1.names, **s2.names}

    def engine(point):
        cell = _cell(point, s1)  # the same weights at both steps
        h0 = row(h_prev, point)
        C0 = row(C_prev, point, requires_grad=True, name="C_prev")
        state = cell(row(x_t, point), (h0, C0))
        _, C2 = cell(row(x_next, point), state)
        (J,) = engine_jacobian(C2, [C0])
        return {"dC2/dC0": J}

    return Derivation(
        name="lstm.two_steps",
        title="LSTM over two steps: ∂Cₜ₊₁/∂Cₜ₋₁ = diag(fₜ₊₁) diag(fₜ) + ∂Cₜ₊₁/∂hₜ · ∂hₜ/∂Cₜ₋₁",
        dims={"h": hidden, "d": inputs, "steps": 2},
        equations=_equations(s1),
        statement="∂Cₜ₊₁/∂Cₜ₋₁ = diag(fₜ₊₁) diag(fₜ) + ∂Cₜ₊₁/∂hₜ · diag(oₜ ⊙ (1 − tanh²Cₜ) ⊙ fₜ)",
        statement_latex=r"\frac{\partial C_{t+1}}{\partial C_{t-1}} = "
        r"\operatorname{diag}(f_{t+1})\operatorname{diag}(f_t) + "
        r"\frac{\partial C_{t+1}}{\partial h_t}\operatorname{diag}(o_t\odot(1-\tanh^2 C_t)"
        r"\odot f_t)",
        blocks=[
            Block("dC2/dC0", "∂Cₜ₊₁/∂Cₜ₋₁", r"\partial C_{t+1} / \partial C_{t-1}", derived, stated)
        ],
        names=names,
        engine=engine,
        engine_source=ENGINE + ", two steps",
        seed_says="∂C_T/∂C₁ = Π_{t=2}^{T} fₜ",
        notes=[
            "the seed's product Π fₜ is the first term only: it holds along the cell "
            "path, with each hₜ held fixed; ts.symbolic.lstm.two_steps_cell_path_only() shows "
            "the checker rejecting it as the whole derivative."
        ],
    )


def two_steps_cell_path_only(hidden: int = 2, inputs: int = 1) -> Derivation:
    """The seed's ∂Cₜ₊₁/∂Cₜ₋₁ = fₜ₊₁ fₜ stated as the whole two-step derivative (wrong)."""
    d = two_steps(hidden, inputs)
    f_t = [d.names[s] for s in d.names if str(s).startswith("fₜ,")]
    f_next = [d.names[s] for s in d.names if str(s).startswith("fₜ₊₁,")]
    return d.with_stated(
        {"dC2/dC0": diag(sp.Matrix(f_next)) * diag(sp.Matrix(f_t))},
        name="lstm.two_steps_cell_path_only",
        statement="∂Cₜ₊₁/∂Cₜ₋₁ = diag(fₜ₊₁) diag(fₜ) (the seed's Π fₜ)",
    )


# ------------------------------------------------------------------ parameter gradients
PARAMETER_GRADIENTS_TEXT = """for L = δhₜᵀ hₜ + δCₜᵀ Cₜ (upstream δhₜ = ∂L/∂hₜ, δCₜ = ∂L/∂Cₜ):
      δC = δCₜ + δhₜ ⊙ oₜ ⊙ (1 − tanh²Cₜ)              (all of ∂L/∂Cₜ)
      δa_o = δhₜ ⊙ tanh(Cₜ) ⊙ oₜ ⊙ (1 − oₜ)     δa_f = δC ⊙ Cₜ₋₁ ⊙ fₜ ⊙ (1 − fₜ)
      δa_i = δC ⊙ C̃ₜ ⊙ iₜ ⊙ (1 − iₜ)           δa_C = δC ⊙ iₜ ⊙ (1 − C̃ₜ²)
      ∂L/∂W_g = δa_g [hₜ₋₁, xₜ]ᵀ,  ∂L/∂b_g = δa_g            (g = f, i, C, o)
      ∂L/∂hₜ₋₁ = Σ_g (W_g^h)ᵀ δa_g,  ∂L/∂Cₜ₋₁ = δC ⊙ fₜ"""

PARAMETER_GRADIENTS_LATEX = (
    r"\begin{aligned}"
    r"\delta C &= \delta C_t + \delta h_t\odot o_t\odot(1-\tanh^2 C_t)\\"
    r"\delta a_o &= \delta h_t\odot\tanh(C_t)\odot o_t\odot(1-o_t),\quad "
    r"\delta a_f = \delta C\odot C_{t-1}\odot f_t\odot(1-f_t)\\"
    r"\delta a_i &= \delta C\odot\tilde C_t\odot i_t\odot(1-i_t),\quad "
    r"\delta a_C = \delta C\odot i_t\odot(1-\tilde C_t^2)\\"
    r"\frac{\partial L}{\partial W_g} &= \delta a_g\,[h_{t-1}, x_t]^\top,\quad "
    r"\frac{\partial L}{\partial b_g} = \delta a_g\\"
    r"\frac{\partial L}{\partial h_{t-1}} &= {\textstyle\sum_g} (W_g^h)^\top \delta a_g,\quad "
    r"\frac{\partial L}{\partial C_{t-1}} = \delta C\odot f_t"
    r"\end{aligned}"
)


@cache
def parameter_gradients(hidden: int = 2, inputs: int = 1) -> Derivation:
    """∂L/∂(W_g, b_g, hₜ₋₁, Cₜ₋₁) for L = δhₜᵀ hₜ + δCₜᵀ Cₜ: SymPy's diff of L, per element."""
    s = _step(hidden, inputs, *_inputs(hidden, inputs))
    dh = vector("δhₜ,{}", r"\delta h_{{t,{}}}", hidden)  # upstream ∂L/∂hₜ
    dC_up = vector("δCₜ,{}", r"\delta C_{{t,{}}}", hidden)  # upstream ∂L/∂Cₜ (later steps)
    L = (dh.T * s.h + dC_up.T * s.C)[0, 0]

    def grad(P: sp.Matrix) -> sp.Matrix:
        return P.applyfunc(lambda p: sp.diff(L, p))

    hx = sp.Matrix.vstack(s.h_prev, s.x_t)
    tanh_C = tanh(s.C)
    dC = dC_up + hadamard(dh, hadamard(s.o, _tanh_prime(tanh_C)))
    delta = {
        "f": hadamard(dC, hadamard(s.C_prev, _sigma_prime(s.f))),
        "i": hadamard(dC, hadamard(s.C_tilde, _sigma_prime(s.i))),
        "C": hadamard(dC, hadamard(s.i, _tanh_prime(s.C_tilde))),
        "o": hadamard(dh, hadamard(tanh_C, _sigma_prime(s.o))),
    }
    blocks = []
    for g in GATES:
        blocks.append(
            Block(
                f"W_{g}",
                f"∂L/∂W_{g}",
                rf"\partial L / \partial W_{g}",
                grad(s.W[g]),
                delta[g] * hx.T,
            )
        )
    for g in GATES:
        blocks.append(
            Block(f"b_{g}", f"∂L/∂b_{g}", rf"\partial L / \partial b_{g}", grad(s.b[g]), delta[g])
        )
    d_h_prev = sum((s.W[g][:, :hidden].T * delta[g] for g in GATES), sp.zeros(hidden, 1))
    blocks.append(
        Block("h_prev", "∂L/∂hₜ₋₁", r"\partial L / \partial h_{t-1}", grad(s.h_prev), d_h_prev)
    )
    blocks.append(
        Block(
            "C_prev",
            "∂L/∂Cₜ₋₁",
            r"\partial L / \partial C_{t-1}",
            grad(s.C_prev),
            hadamard(dC, s.f),
        )
    )

    def engine(point):
        cell = _cell(point, s)
        h0 = row(s.h_prev, point, requires_grad=True, name="h_prev")
        C0 = row(s.C_prev, point, requires_grad=True, name="C_prev")
        h_t, C_t = cell(row(s.x_t, point), (h0, C0))
        loss = (h_t * row(dh, point)).sum() + (C_t * row(dC_up, point)).sum()
        loss.backward()  # L is one number: its gradient is one backward
        return engine_gradients(cell, h_prev=h0, C_prev=C0)

    return Derivation(
        name="lstm.parameter_gradients",
        title="LSTM gradients: ∂L/∂W_f, W_i, W_C, W_o, the biases, hₜ₋₁ and Cₜ₋₁",
        dims={"h": hidden, "d": inputs},
        equations=_equations(s),
        statement=PARAMETER_GRADIENTS_TEXT,
        statement_latex=PARAMETER_GRADIENTS_LATEX,
        blocks=blocks,
        names=s.names,
        engine=engine,
        engine_source=ENGINE + ", one backward of L",
        notes=[
            "δhₜ and δCₜ are free symbols, so the identity holds for every upstream "
            "gradient: it is the vector-Jacobian product of the step, i.e. one BPTT step."
        ],
    )


# ------------------------------------------------------------------ all of it
def derive() -> list[Derivation]:
    """Every LSTM identity as a Derivation."""
    return [sigmoid_derivative(), cell_path(), full_jacobian(), two_steps(), parameter_gradients()]


def check(seed: int = 0) -> list[CheckResult]:
    """Check every LSTM identity."""
    return [d.check(seed=seed) for d in derive()]


__all__ = [
    "cell_path",
    "check",
    "derive",
    "full_jacobian",
    "parameter_gradients",
    "sigmoid_derivative",
    "two_steps",
    "two_steps_cell_path_only",
]
