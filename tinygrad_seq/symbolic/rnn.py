"""The vanilla RNN's gradient identities, derived by SymPy and checked against the engine.

    hₜ = tanh(aₜ),  aₜ = W_hh hₜ₋₁ + W_xh xₜ + b_h

- `tanh_derivative`: tanh'(x) = 1 − tanh²(x), from tanh's definition in exponentials.
- `step_jacobian`:  ∂hₜ/∂hₜ₋₁ = diag(1 − hₜ²) W_hh. The seed writes "W_hh ⊙ tanh'(·)"; the
  exact Jacobian scales row i of W_hh by tanh'(aₜ,ᵢ): a row scaling diag(tanh'(aₜ)) W_hh,
  not an elementwise product of a matrix with a vector (`seed_elementwise_reading` shows
  that NumPy's broadcast reading of "⊙", W_hh diag(tanh'(aₜ)), is wrong).
- `bptt_product`:   ∂h_T/∂h₁ = J_T ⋯ J₃ J₂ with J_t = ∂h_t/∂h_{t−1}: later steps on the left
  (the seed's Π leaves the order unsaid; matrices do not commute).
- `bptt_parameter_gradients`: ∂L/∂W_hh = Σₜ δaₜ hₜ₋₁ᵀ (and W_xh, b_h, h₁) through two
  steps that share the weights, δaₜ = (δhₜ + W_hhᵀ δaₜ₊₁) ⊙ (1 − hₜ²): BPTT's sum over time.
- `vanishing_bound`: ‖∂h_T/∂h₁‖ ≤ ‖W_hh‖^{T−1} Π ‖tanh'(aₜ)‖, checked numerically on the
  engine over T = 20 steps, and `worked_example`, the seed's (0.9·0.3)¹⁹.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

import tinygrad_seq as ts

from .checker import (
    TOLERANCE,
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
    sub,
    symbol,
    tanh,
    vector,
)

ENGINE = "ts.nn.RNNCell (float64)"


def _weights(hidden: int, inputs: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    W_xh = matrix("W_xh{}{}", "W_{{xh,{}{}}}", hidden, inputs)  # (h, d)
    W_hh = matrix("W_hh{}{}", "W_{{hh,{}{}}}", hidden, hidden)  # (h, h)
    b_h = vector("b_h{}", "b_{{h,{}}}", hidden)  # (h,)
    return W_xh, W_hh, b_h


def _cell(point, W_xh: sp.Matrix, W_hh: sp.Matrix, b_h: sp.Matrix):
    """The library's RNNCell with float64 weights taken from the point."""
    hidden, inputs = W_xh.shape
    weights = {
        "W_xh": float64_values(W_xh, point),
        "W_hh": float64_values(W_hh, point),
        "b_h": float64_values(b_h, point).reshape(-1),
    }
    return float64_module(lambda: ts.nn.RNNCell(inputs, hidden), weights)


def _RNN_EQUATION(t: str, rhs: sp.Matrix) -> Equation:  # noqa: N802
    """hₜ = tanh(W_hh hₜ₋₁ + W_xh xₜ + b_h) at step t ("t", "2", ...), with its elements."""
    prev = "t-1" if t == "t" else str(int(t) - 1)
    return Equation(
        text=f"h{sub(t)} = tanh(W_hh h{sub(prev)} + W_xh x{sub(t)} + b_h)",
        latex=f"h_{{{t}}} = \\tanh(W_{{hh}} h_{{{prev}}} + W_{{xh}} x_{{{t}}} + b_h)",
        lhs=f"h{sub(t)}",
        lhs_latex=f"h_{{{t}}}",
        rhs=rhs,
    )


def _tanh_prime(h: sp.Matrix) -> sp.Matrix:
    """tanh'(aₜ) = 1 − hₜ² elementwise, for hₜ = tanh(aₜ)."""
    return h.applyfunc(lambda e: 1 - e**2)


# ------------------------------------------------------------------ tanh' = 1 − tanh²
@cache
def tanh_derivative() -> Derivation:
    """d/dx tanh(x) = 1 − tanh²(x), with tanh(x) = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ) differentiated by SymPy."""
    x = symbol("x", "x")
    definition = (sp.exp(x) - sp.exp(-x)) / (sp.exp(x) + sp.exp(-x))
    derived = sp.Matrix([sp.diff(definition, x)])
    tanh_x = symbol("tanh(x)", r"\tanh(x)")  # the name of the definition, for printing
    stated = sp.Matrix([1 - definition**2])  # 1 − tanh²(x), tanh(x) by its definition

    def engine(point):
        xt = ts.Tensor(np.array([point[x]]), requires_grad=True)
        (J,) = engine_jacobian(xt.tanh(), [xt])
        return {"dtanh/dx": J}

    return Derivation(
        name="rnn.tanh_derivative",
        title="tanh'(x) = 1 − tanh²(x)",
        dims={},
        equations=[
            Equation(
                "tanh(x) = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ)",
                r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
                "tanh(x)",
                r"\tanh(x)",
                sp.Matrix([definition]),
            )
        ],
        statement="tanh'(x) = 1 − tanh²(x)",
        statement_latex=r"\tanh'(x) = 1 - \tanh^2(x)",
        blocks=[Block("dtanh/dx", "d tanh(x)/dx", r"\frac{d\tanh(x)}{dx}", derived, stated)],
        names={tanh_x: definition},
        engine=engine,
        engine_source="ts.Tensor.tanh (float64)",
        seed_says="tanh'(x) = 1 − tanh²(x), in (0, 1]",
    )


# ------------------------------------------------------------------ one step
@cache
def step_jacobian(hidden: int = 2, inputs: int = 2) -> Derivation:
    """∂hₜ/∂hₜ₋₁ = diag(1 − hₜ²) W_hh, derived as SymPy's jacobian of hₜ = tanh(aₜ)."""
    W_xh, W_hh, b_h = _weights(hidden, inputs)
    h_prev = vector("hₜ₋₁,{}", "h_{{t-1,{}}}", hidden)
    x_t = vector("xₜ,{}", "x_{{t,{}}}", inputs)
    h_t = vector("hₜ,{}", "h_{{t,{}}}", hidden)  # the name of tanh(aₜ)
    a_t = W_hh * h_prev + W_xh * x_t + b_h
    h_t_expr = tanh(a_t)

    derived = h_t_expr.jacobian(h_prev)
    stated = diag(_tanh_prime(h_t_expr)) * W_hh

    def engine(point):
        cell = _cell(point, W_xh, W_hh, b_h)
        h0 = row(h_prev, point, requires_grad=True, name="h_prev")
        (J,) = engine_jacobian(cell(row(x_t, point), h0), [h0])
        return {"dh/dh_prev": J}

    return Derivation(
        name="rnn.step_jacobian",
        title="RNN: ∂hₜ/∂hₜ₋₁ = diag(1 − hₜ²) W_hh",
        dims={"h": hidden, "d": inputs},
        equations=[_RNN_EQUATION("t", h_t_expr)],
        statement="∂hₜ/∂hₜ₋₁ = diag(tanh'(aₜ)) W_hh = diag(1 − hₜ²) W_hh  "
        "(row i of W_hh scaled by 1 − hₜ,ᵢ²)",
        statement_latex=r"\frac{\partial h_t}{\partial h_{t-1}} = "
        r"\operatorname{diag}\!\left(1 - h_t^{2}\right) W_{hh}",
        blocks=[
            Block("dh/dh_prev", "∂hₜ/∂hₜ₋₁", r"\partial h_t / \partial h_{t-1}", derived, stated)
        ],
        names={h_t[i]: h_t_expr[i] for i in range(hidden)},
        engine=engine,
        engine_source=ENGINE,
        seed_says="∂hₜ/∂hₜ₋₁ = W_hh ⊙ tanh'(W_hh hₜ₋₁ + W_xh xₜ + b_h), "
        "⊙ = element-wise multiplication",
        notes=[
            "entry (i, j) is (1 − hₜ,ᵢ²)·W_hh,ᵢⱼ: tanh'(aₜ,ᵢ) scales row i of W_hh. The seed's "
            "'W_hh ⊙ tanh'(·)' is right only if the vector tanh'(aₜ) is broadcast down the "
            "columns (each row by its own factor), i.e. diag(tanh'(aₜ)) W_hh; NumPy's "
            "broadcast W_hh * tanh'(aₜ) scales columns instead, W_hh diag(tanh'(aₜ)), "
            "which is wrong: ts.symbolic.rnn.seed_elementwise_reading() shows the checker "
            "rejecting that reading.",
        ],
    )


READINGS = ("row-broadcast", "column-broadcast", "hadamard-diag")


def seed_elementwise_reading(
    reading: str = "column-broadcast", hidden: int = 2, inputs: int = 2
) -> Derivation:
    """The seed's "W_hh ⊙ tanh'(aₜ)" read literally, as a stated form for the checker.

    - "row-broadcast":    W_hh ⊙ (tanh'(aₜ) 1ᵀ): row i times tanh'(aₜ,ᵢ) = diag(tanh') W_hh (right)
    - "column-broadcast": W_hh ⊙ (1 tanh'(aₜ)ᵀ), NumPy's W_hh * v: column j times tanh'(aₜ,ⱼ)
      = W_hh diag(tanh') (wrong)
    - "hadamard-diag":    W_hh ⊙ diag(tanh'(aₜ)): only the diagonal survives (wrong)
    """
    d = step_jacobian(hidden, inputs)
    W_hh = _weights(hidden, inputs)[1]
    (h_t_expr,) = [sp.Matrix([d.names[n] for n in d.names])]
    g = _tanh_prime(h_t_expr)  # (h, 1)
    ones = sp.ones(hidden, 1)
    forms = {
        "row-broadcast": hadamard(W_hh, g * ones.T),
        "column-broadcast": hadamard(W_hh, ones * g.T),
        "hadamard-diag": hadamard(W_hh, diag(g)),
    }
    if reading not in forms:
        raise ValueError(
            f"seed_elementwise_reading: reading must be one of {READINGS}, got {reading!r}"
        )
    text = {
        "row-broadcast": "W_hh ⊙ (tanh'(aₜ) 1ᵀ)",
        "column-broadcast": "W_hh ⊙ (1 tanh'(aₜ)ᵀ) = W_hh diag(tanh'(aₜ))",
        "hadamard-diag": "W_hh ⊙ diag(tanh'(aₜ))",
    }[reading]
    return d.with_stated(
        {"dh/dh_prev": forms[reading]},
        name=f"rnn.seed_elementwise_reading[{reading}]",
        statement=f"∂hₜ/∂hₜ₋₁ = {text}",
    )


# ------------------------------------------------------------------ over steps
@dataclass(frozen=True)
class _TwoSteps:
    """h₂ = tanh(W_hh h₁ + W_xh x₂ + b_h), h₃ likewise from h₂: the symbols, h₂ and h₃ as
    expressions of h₁, x₂, x₃ and the weights, their names, and the two equations."""

    W_xh: sp.Matrix
    W_hh: sp.Matrix
    b_h: sp.Matrix
    h_1: sp.Matrix
    x_2: sp.Matrix
    x_3: sp.Matrix
    h_2: sp.Matrix  # expressions
    h_3: sp.Matrix
    names: dict[sp.Symbol, sp.Expr]
    equations: list[Equation]


def _two_steps(hidden: int, inputs: int) -> _TwoSteps:
    W_xh, W_hh, b_h = _weights(hidden, inputs)
    h_1 = vector("h₁,{}", "h_{{1,{}}}", hidden)
    x_2 = vector("x₂,{}", "x_{{2,{}}}", inputs)
    x_3 = vector("x₃,{}", "x_{{3,{}}}", inputs)
    h_2, h_3 = (
        vector(f"h{s},{{}}", f"h_{{{{{t},{{}}}}}}", hidden) for s, t in (("₂", 2), ("₃", 3))
    )
    h_2_expr = tanh(W_hh * h_1 + W_xh * x_2 + b_h)
    h_3_expr = tanh(W_hh * h_2_expr + W_xh * x_3 + b_h)
    names = {h_2[i]: h_2_expr[i] for i in range(hidden)}
    names.update({h_3[i]: h_3_expr[i] for i in range(hidden)})
    equations = [
        _RNN_EQUATION("2", h_2_expr),
        _RNN_EQUATION("3", tanh(W_hh * h_2 + W_xh * x_3 + b_h)),  # with h₂ by name
    ]
    return _TwoSteps(W_xh, W_hh, b_h, h_1, x_2, x_3, h_2_expr, h_3_expr, names, equations)


@cache
def bptt_product(hidden: int = 2, inputs: int = 1) -> Derivation:
    """∂h₃/∂h₁ = J₃ J₂ (J_t = diag(1 − h_t²) W_hh): the chain rule through two steps."""
    s = _two_steps(hidden, inputs)
    W_xh, W_hh, b_h, h_1, x_2, x_3 = s.W_xh, s.W_hh, s.b_h, s.h_1, s.x_2, s.x_3
    h_2_expr, h_3_expr = s.h_2, s.h_3

    def J(h_t_expr: sp.Matrix) -> sp.Matrix:
        return diag(_tanh_prime(h_t_expr)) * W_hh

    derived = h_3_expr.jacobian(h_1)
    stated = J(h_3_expr) * J(h_2_expr)

    def engine(point):
        cell = _cell(point, W_xh, W_hh, b_h)
        h1 = row(h_1, point, requires_grad=True, name="h_1")
        h3 = cell(row(x_3, point), cell(row(x_2, point), h1))
        (Jac,) = engine_jacobian(h3, [h1])
        return {"dh3/dh1": Jac}

    return Derivation(
        name="rnn.bptt_product",
        title="RNN through time: ∂h₃/∂h₁ = J₃ J₂, J_t = diag(1 − h_t²) W_hh",
        dims={"h": hidden, "d": inputs, "T": 3},
        equations=s.equations,
        statement="∂h_T/∂h₁ = Π_{t=T..2} ∂h_t/∂h_{t−1} = J_T ⋯ J₂ (later steps on the left); "
        "here T = 3",
        statement_latex=r"\frac{\partial h_T}{\partial h_1} = J_T J_{T-1}\cdots J_2,\quad "
        r"J_t = \operatorname{diag}\!\left(1 - h_t^{2}\right) W_{hh}\quad (T = 3)",
        blocks=[Block("dh3/dh1", "∂h₃/∂h₁", r"\partial h_3 / \partial h_1", derived, stated)],
        names=s.names,
        engine=engine,
        engine_source=ENGINE,
        seed_says="∂h_T/∂h₁ = Π_{t=2}^{T} ∂h_t/∂h_{t−1} = Π_{t=2}^{T} W_hh ⊙ tanh'(·)",
        notes=[
            "the product is ordered: J_T ⋯ J₂, the latest step's Jacobian leftmost. "
            "J₂ J₃ (the order Π_{t=2}^{T} suggests when written left to right) differs "
            "(ts.symbolic.rnn.bptt_wrong_order() shows the checker rejecting it)."
        ],
    )


def bptt_wrong_order(hidden: int = 2, inputs: int = 1) -> Derivation:
    """∂h₃/∂h₁ stated as J₂ J₃ (earliest step on the left): a wrong form for the checker."""
    d = bptt_product(hidden, inputs)
    W_hh = _weights(hidden, inputs)[1]
    defs = list(d.names.values())
    h_2_expr, h_3_expr = sp.Matrix(defs[:hidden]), sp.Matrix(defs[hidden:])
    J2, J3 = (diag(_tanh_prime(h)) * W_hh for h in (h_2_expr, h_3_expr))
    return d.with_stated(
        {"dh3/dh1": J2 * J3}, name="rnn.bptt_wrong_order", statement="∂h₃/∂h₁ = J₂ J₃ (wrong order)"
    )


# ------------------------------------------------------------------ shared weights
BPTT_GRADIENTS_TEXT = """one W_hh, W_xh, b_h at every step; for L = δh₂ᵀ h₂ + δh₃ᵀ h₃ (T = 3),
    δhₜ the loss's direct gradient on hₜ (not through later steps), δaₜ = ∂L/∂aₜ with
    aₜ = W_hh hₜ₋₁ + W_xh xₜ + b_h the pre-activation, Σₜ over t = 2, 3:
      δa₃ = δh₃ ⊙ (1 − h₃²),   δa₂ = (δh₂ + W_hhᵀ δa₃) ⊙ (1 − h₂²)
      ∂L/∂W_hh = Σₜ δaₜ hₜ₋₁ᵀ,   ∂L/∂W_xh = Σₜ δaₜ xₜᵀ,   ∂L/∂b_h = Σₜ δaₜ
      ∂L/∂h₁ = W_hhᵀ δa₂"""

BPTT_GRADIENTS_LATEX = (
    r"\begin{aligned}"
    r"\delta a_3 &= \delta h_3 \odot (1 - h_3^2),\quad "
    r"\delta a_2 = (\delta h_2 + W_{hh}^\top \delta a_3) \odot (1 - h_2^2)\\"
    r"\frac{\partial L}{\partial W_{hh}} &= {\textstyle\sum_t} \delta a_t\, h_{t-1}^\top,\quad "
    r"\frac{\partial L}{\partial W_{xh}} = {\textstyle\sum_t} \delta a_t\, x_t^\top,\quad "
    r"\frac{\partial L}{\partial b_h} = {\textstyle\sum_t} \delta a_t,\quad "
    r"\frac{\partial L}{\partial h_1} = W_{hh}^\top \delta a_2"
    r"\end{aligned}"
)


@cache
def bptt_parameter_gradients(hidden: int = 2, inputs: int = 1) -> Derivation:
    """∂L/∂(W_hh, W_xh, b_h, h₁) through two steps that share the weights.

    BPTT's sum over time, Σₜ δaₜ hₜ₋₁ᵀ, derived by SymPy's diff of L and checked against the engine.
    """
    s = _two_steps(hidden, inputs)
    W_xh, W_hh, b_h, h_1, x_2, x_3 = s.W_xh, s.W_hh, s.b_h, s.h_1, s.x_2, s.x_3
    h_2_expr, h_3_expr = s.h_2, s.h_3
    dh_2 = vector("δh₂,{}", r"\delta h_{{2,{}}}", hidden)  # upstream ∂ℓ/∂h₂ (free symbols)
    dh_3 = vector("δh₃,{}", r"\delta h_{{3,{}}}", hidden)
    L = (dh_2.T * h_2_expr + dh_3.T * h_3_expr)[0, 0]

    def grad(P: sp.Matrix) -> sp.Matrix:
        return P.applyfunc(lambda p: sp.diff(L, p))

    da_3 = hadamard(dh_3, _tanh_prime(h_3_expr))  # backward from the last step ...
    da_2 = hadamard(dh_2 + W_hh.T * da_3, _tanh_prime(h_2_expr))  # ... into the one before
    blocks = [
        Block(
            "W_hh",
            "∂L/∂W_hh",
            r"\partial L / \partial W_{hh}",
            grad(W_hh),
            da_3 * h_2_expr.T + da_2 * h_1.T,
        ),
        Block(
            "W_xh",
            "∂L/∂W_xh",
            r"\partial L / \partial W_{xh}",
            grad(W_xh),
            da_3 * x_3.T + da_2 * x_2.T,
        ),
        Block("b_h", "∂L/∂b_h", r"\partial L / \partial b_h", grad(b_h), da_3 + da_2),
        Block("h_1", "∂L/∂h₁", r"\partial L / \partial h_1", grad(h_1), W_hh.T * da_2),
    ]

    def engine(point):
        cell = _cell(point, W_xh, W_hh, b_h)
        h1 = row(h_1, point, requires_grad=True, name="h_1")
        h2 = cell(row(x_2, point), h1)
        h3 = cell(row(x_3, point), h2)
        loss = (h2 * row(dh_2, point)).sum() + (h3 * row(dh_3, point)).sum()
        loss.backward()  # one backward through both steps: the engine's BPTT
        return engine_gradients(cell, h_1=h1)

    return Derivation(
        name="rnn.bptt_parameter_gradients",
        title="RNN weights through time: ∂L/∂W_hh = Σₜ δaₜ hₜ₋₁ᵀ (and W_xh, b_h, h₁)",
        dims={"h": hidden, "d": inputs, "T": 3},
        equations=s.equations,
        statement=BPTT_GRADIENTS_TEXT,
        statement_latex=BPTT_GRADIENTS_LATEX,
        blocks=blocks,
        names=s.names,
        engine=engine,
        engine_source=ENGINE + ", one backward of L through both steps",
        seed_says="Parameter Sharing: Same weight matrices W_hh, W_xh, W_hy used at every time "
        "step (no gradient stated)",
        notes=[
            "a weight used at every step gets the sum of each step's gradient: that sum is "
            "what makes BPTT 'through time'. δa₂ carries δa₃ back through W_hhᵀ, so a later "
            "loss's share in an early step is multiplied by W_hhᵀ and tanh' once per step "
            "between them: it shrinks when ‖W_hh‖·max tanh' < 1 (vanishing) and can grow "
            "otherwise (exploding).",
            "δh₂ and δh₃ are free symbols, so the identity holds for every loss on h₂ and h₃.",
        ],
    )


# ------------------------------------------------------------------ the bound
SEED_WORKED_VALUE = 0.15e-10  # the seed prints "≈ 0.15 × 10^{-10}"


def worked_example(norm_W: str = "0.9", norm_tanh_prime: str = "0.3", steps: int = 20) -> dict:
    """The seed's example: T = 20, ‖W_hh‖ = 0.9, ‖tanh'‖ = 0.3 → (0.9)¹⁹ (0.3)¹⁹, exactly.

    Returns {"exact": a SymPy Rational, "value": float, "seed_value": 0.15e-10,
    "relative_difference": (seed − exact)/exact, "two_significant": the value rounded}.
    """
    # str first: a float 0.9 is 0.9000000000000000222..., a Rational with 50 digits
    factor = sp.Rational(str(norm_W)) * sp.Rational(str(norm_tanh_prime))
    exact = factor ** (steps - 1)
    value = float(exact)
    return {
        "exact": exact,
        "value": value,
        "seed_value": SEED_WORKED_VALUE,
        "relative_difference": (SEED_WORKED_VALUE - value) / value,
        "two_significant": float(f"{value:.1e}"),
    }


def _product_rounding(hs: list[np.ndarray], hidden: int) -> float:
    """A first-order bound on the relative rounding error of J_T ⋯ J₂ in float64.

    Each factor diag(1 − hₜ²) W_hh is computed from the same float hₜ by the engine
    (g − g hₜ²) and by the check (1 − hₜ²): rounding hₜ² costs at most ε hₜ², which relative
    to 1 − hₜ² is ε hₜ²/(1 − hₜ²), large where tanh saturates (1 − hₜ² ≈ 1e-7 gives ~2e-9);
    two roundings more, and the `hidden`-term sums of the product with W_hh, add ε each.
    Over T − 1 steps the relative errors add. A true violation of the bound or an engine
    error larger than this cannot hide in it. A unit saturated to hₜ = ±1 exactly has
    1 − hₜ² = 0 on both sides, no rounding: only the others count.
    """
    eps = float(np.finfo(np.float64).eps)
    total = 0.0
    for h in hs:
        slopes = 1 - h**2
        slopes = slopes[slopes > 0]
        total += eps * ((2 / float(np.min(slopes)) if slopes.size else 0.0) + hidden + 2)
    return total


def vanishing_bound(
    steps: int = 20,
    hidden: int = 4,
    inputs: int = 2,
    trials: int = 3,
    norm_W: float = 0.9,
    seed: int = 0,
) -> CheckResult:
    """‖∂h_T/∂h₁‖₂ ≤ ‖W_hh‖₂^{T−1} Π_{t=2}^{T} ‖tanh'(aₜ)‖, on the engine.

    For `trials` random RNNs with ‖W_hh‖₂ = norm_W, runs the library's RNNCell T − 1 steps
    from h₁, reads ∂h_T/∂h₁ off the engine's backward (one per output coordinate), compares
    it with the product J_T ⋯ J₂ of the closed-form step Jacobians (relative error), and
    checks the bound with ‖tanh'(aₜ)‖ = ‖diag(tanh'(aₜ))‖₂ = maxᵢ tanh'(aₜ,ᵢ).
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    worst_rel, worst_rounding, holds, lines = 0.0, 0.0, True, []
    for trial in range(trials):
        W_hh = rng.standard_normal((hidden, hidden))
        W_hh *= norm_W / np.linalg.norm(W_hh, 2)  # spectral norm exactly norm_W
        weights = {
            "W_xh": rng.standard_normal((hidden, inputs)),
            "W_hh": W_hh,
            "b_h": 0.5 * rng.standard_normal(hidden),
        }
        cell = float64_module(lambda: ts.nn.RNNCell(inputs, hidden), weights)
        h_1 = ts.Tensor(rng.standard_normal((1, hidden)), requires_grad=True, name="h_1")
        h_t, hs = h_1, []
        for _ in range(2, steps + 1):
            h_t = cell(ts.Tensor(rng.standard_normal((1, inputs))), h_t)
            hs.append(h_t.numpy().reshape(-1))
        (jac,) = engine_jacobian(h_t, [h_1])
        product = np.eye(hidden)
        for h in hs:  # J_T ⋯ J₂: each new step multiplies on the left
            product = (np.diag(1 - h**2) @ W_hh) @ product
        rel = float(np.max(np.abs(jac - product)) / np.max(np.abs(product)))
        worst_rel = max(worst_rel, rel)
        rounding = _product_rounding(hs, hidden)
        worst_rounding = max(worst_rounding, rounding)
        lhs = float(np.linalg.norm(jac, 2))
        rhs = float(
            np.linalg.norm(W_hh, 2) ** (steps - 1) * np.prod([np.max(1 - h**2) for h in hs])
        )
        # both sides carry the rounding of T − 1 factors: with one hidden unit they are equal
        holds = holds and lhs <= rhs * (1 + 2 * rounding)
        lines.append(
            f"trial {trial}: ‖∂h_T/∂h₁‖₂ = {lhs:.3e} ≤ bound {rhs:.3e} "
            f"(ratio {lhs / rhs:.2e}); engine vs J_T⋯J₂ relative error {rel:.1e}"
        )
    ex = worked_example()  # the seed's own numbers, whatever this run's T and ‖W_hh‖
    n_W, n_g, T = sp.symbols("‖W_hh‖ ‖tanh'‖ T", positive=True)
    notes = lines + [
        f"the seed's worked example: (0.9·0.3)^19 = {ex['exact']} "
        f"= {ex['value']:.4e}; the seed prints ≈ 0.15 × 10⁻¹⁰ = 1.5e-11, "
        f"{100 * ex['relative_difference']:+.1f}% off: 0.157 × 10⁻¹⁰ truncated, not rounded "
        f"(two significant figures give {ex['two_significant']:.1e}).",
        "it is an upper bound (≤), not an estimate (≈); the trials show how loose it can be. "
        "With ‖tanh'‖ read as the vector 2-norm instead of the max, it is looser still.",
    ]
    return CheckResult(
        name="rnn.vanishing_bound",
        title=f"‖∂h_T/∂h₁‖ ≤ ‖W_hh‖^(T−1) Π‖tanh'(aₜ)‖ (T = {steps}, h = {hidden})",
        symbolic_ok=None,
        numeric_max_error=worst_rel,
        seconds=time.perf_counter() - start,
        expressions={
            "bound": {"stated": n_W ** (T - 1) * n_g ** (T - 1), "worked example": ex["exact"]}
        },
        errors={"engine vs J_T⋯J₂ (relative)": worst_rel},
        engine_source=ENGINE,
        tol=max(TOLERANCE, 2 * worst_rounding),
        proof="an inequality, checked numerically on the engine",
        conditions={f"bound holds in all {trials} trials": holds},
        notes=notes,
    )


# ------------------------------------------------------------------ all of it
def derive() -> list[Derivation]:
    """Every RNN identity as a Derivation (the bound is numeric: see `vanishing_bound`)."""
    return [tanh_derivative(), step_jacobian(), bptt_product(), bptt_parameter_gradients()]


def check(seed: int = 0) -> list[CheckResult]:
    """Check every RNN identity, and the vanishing-gradient bound."""
    return [d.check(seed=seed) for d in derive()] + [vanishing_bound(seed=seed)]


__all__ = [
    "bptt_parameter_gradients",
    "bptt_product",
    "bptt_wrong_order",
    "check",
    "derive",
    "seed_elementwise_reading",
    "step_jacobian",
    "tanh_derivative",
    "vanishing_bound",
    "worked_example",
]
