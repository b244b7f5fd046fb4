"""The Transformer's "Add & normalize", derived by SymPy and checked against the engine.

The seed's encoder and decoder blocks follow every sublayer with "Add & normalize":
z = x + Sublayer(x) (the residual connection), then LayerNorm(z).

- `residual_jacobian`: for z = x + s, s = tanh(W x + c) (a sublayer), ∂z/∂x = I + diag(1 − s²) W.
  The identity matrix passes the gradient through unchanged whatever the sublayer does: the
  Transformer's gradient highway, as diag(fₜ) is the LSTM's and diag(1 − zₜ) the GRU's.
- `layer_norm_gradients`: y = g ⊙ x̂ + b, x̂ = (x − μ)/√(var + ε), μ = mean(x),
  var = mean((x − μ)²); for L = δyᵀ y: ∂L/∂x = (δx̂ − mean(δx̂) − x̂ · mean(δx̂ ⊙ x̂)) / √(var + ε)
  with δx̂ = g ⊙ δy, ∂L/∂g = δy ⊙ x̂, ∂L/∂b = δy. Checked against the engine's fused layer
  norm. (The standard deviation is written √(var + ε), not σ: σ is the seed's sigmoid.)
"""

from __future__ import annotations

from functools import cache

import sympy as sp

import tinygrad_seq as ts

from .checker import (
    Block,
    CheckResult,
    Derivation,
    Equation,
    diag,
    engine_jacobian,
    float64_values,
    hadamard,
    matrix,
    row,
    symbol,
    tanh,
    tensor,
    vector,
)

EPS = sp.Rational(1, 10**5)  # the library's default ε, exactly


# ------------------------------------------------------------------ Add
@cache
def residual_jacobian(d_model: int = 2) -> Derivation:
    """∂z/∂x = I + diag(1 − s²) W for z = x + s, s = tanh(W x + c)."""
    x = vector("x{}", "x_{{{}}}", d_model)
    W = matrix("W{}{}", "W_{{{}{}}}", d_model, d_model)
    c = vector("c{}", "c_{{{}}}", d_model)
    s = vector("s{}", "s_{{{}}}", d_model)  # the name of the sublayer's output
    s_expr = tanh(W * x + c)
    z = x + s_expr
    derived = z.jacobian(x)
    stated = sp.eye(d_model) + diag(s_expr.applyfunc(lambda e: 1 - e**2)) * W

    def engine(point):
        xt = row(x, point, requires_grad=True, name="x")
        sublayer = (xt @ tensor(W, point).T + row(c, point)).tanh()
        (J,) = engine_jacobian(xt + sublayer, [xt])
        return {"dz/dx": J}

    return Derivation(
        name="transformer.residual_jacobian",
        title="Transformer residual (Add): ∂z/∂x = I + ∂Sublayer/∂x",
        dims={"d_model": d_model},
        equations=[
            Equation(
                "s = tanh(W x + c)  (a sublayer)",
                r"s = \tanh(W x + c)",
                "s",
                "s",
                s_expr,
            ),
            Equation("z = x + s", "z = x + s", "z", "z", x + s),
        ],
        statement="∂z/∂x = I + diag(1 − s²) W: the identity, plus the sublayer's Jacobian",
        statement_latex=r"\frac{\partial z}{\partial x} = I + \operatorname{diag}(1 - s^2)\,W",
        blocks=[Block("dz/dx", "∂z/∂x", r"\partial z / \partial x", derived, stated)],
        names={s[i]: s_expr[i] for i in range(d_model)},
        engine=engine,
        engine_source="ts.Tensor ops x + tanh(x Wᵀ + c) (float64)",
        seed_says="Add & normalize (residual connection) after every sublayer",
        notes=[
            "through N residual Adds the Jacobian is Π (I + Jₙ): its expansion always holds "
            "the term I, so a gradient reaches the first layer even when every sublayer's Jₙ "
            "is small. Compare the vanilla RNN's Π diag(1 − hₜ²) W_hh, which has no such term. "
            "(This leaves out the layer norm the seed puts after each Add; each multiplies "
            "the product by its own Jacobian, so the I passes through them, not around.)",
        ],
    )


# ------------------------------------------------------------------ normalize
LAYER_NORM_TEXT = """y = g ⊙ x̂ + b, x̂ = (x − μ)/√(var + ε), var = mean((x − μ)²);
    for L = δyᵀ y (δy: the upstream gradient):
      δx̂ = g ⊙ δy
      ∂L/∂x = (δx̂ − mean(δx̂) − x̂ · mean(δx̂ ⊙ x̂)) / √(var + ε)
      ∂L/∂g = δy ⊙ x̂,   ∂L/∂b = δy"""

LAYER_NORM_LATEX = (
    r"\begin{aligned}"
    r"\delta\hat x &= g \odot \delta y\\"
    r"\frac{\partial L}{\partial x} &= \frac{1}{\sqrt{\operatorname{var} + \epsilon}}\left("
    r"\delta\hat x - "
    r"\operatorname{mean}(\delta\hat x) - \hat x\,\operatorname{mean}(\delta\hat x \odot "
    r"\hat x)\right)\\"
    r"\frac{\partial L}{\partial g} &= \delta y \odot \hat x,\quad "
    r"\frac{\partial L}{\partial b} = \delta y"
    r"\end{aligned}"
)


@cache
def layer_norm_gradients(d_model: int = 3) -> Derivation:
    """∂L/∂(x, g, b) of layer norm over d_model features, for L = δyᵀ y."""
    x = vector("x{}", "x_{{{}}}", d_model)
    g = vector("g{}", "g_{{{}}}", d_model)  # the gain
    b = vector("b{}", "b_{{{}}}", d_model)  # the bias
    dy = vector("δy{}", r"\delta y_{{{}}}", d_model)  # upstream ∂L/∂y (free symbols)
    mu_name = symbol("μ", r"\mu")
    # the standard deviation, named as it is computed: σ is the seed's sigmoid
    sd_name = symbol("√(var+ε)", r"\sqrt{\operatorname{var} + \epsilon}")
    x_hat = vector("x̂{}", r"\hat x_{{{}}}", d_model)

    mu = sum(x) / d_model
    variance_plus_eps = sum((e - mu) ** 2 for e in x) / d_model + EPS
    sd = sp.sqrt(variance_plus_eps)
    x_hat_expr = (x - sp.ones(d_model, 1) * mu) / sd
    y = hadamard(g, x_hat_expr) + b
    L = (dy.T * y)[0, 0]

    def grad(P: sp.Matrix) -> sp.Matrix:
        return P.applyfunc(lambda p: sp.diff(L, p))

    def mean(v: sp.Matrix) -> sp.Expr:
        return sum(v) / d_model

    d_x_hat = hadamard(g, dy)
    d_x = (
        d_x_hat
        - sp.ones(d_model, 1) * mean(d_x_hat)
        - x_hat_expr * mean(hadamard(d_x_hat, x_hat_expr))
    ) / sd
    blocks = [
        Block(
            "x",
            "∂L/∂x",
            r"\partial L / \partial x",
            grad(x),
            d_x,
            "∂L/∂x = (δx̂ − mean(δx̂) − x̂ · mean(δx̂ ⊙ x̂)) / √(var + ε),  δx̂ = g ⊙ δy",
            r"\frac{\partial L}{\partial x} = \frac{\delta\hat x"
            r" - \operatorname{mean}(\delta\hat x)"
            r" - \hat x\,\operatorname{mean}(\delta\hat x \odot \hat x)}"
            r"{\sqrt{\operatorname{var} + \epsilon}},\quad \delta\hat x = g \odot \delta y",
        ),
        Block(
            "gain",
            "∂L/∂g",
            r"\partial L / \partial g",
            grad(g),
            hadamard(dy, x_hat_expr),
            "∂L/∂g = δy ⊙ x̂",
            r"\frac{\partial L}{\partial g} = \delta y \odot \hat x",
        ),
        Block(
            "bias",
            "∂L/∂b",
            r"\partial L / \partial b",
            grad(b),
            dy,
            "∂L/∂b = δy",
            r"\frac{\partial L}{\partial b} = \delta y",
        ),
    ]

    def engine(point):
        xt = row(x, point, requires_grad=True, name="x")
        gain, bias = (
            ts.Tensor(float64_values(v, point).reshape(-1), requires_grad=True, name=name)
            for v, name in ((g, "gain"), (b, "bias"))
        )
        out = ts.functional.layer_norm(xt, gain, bias, eps=float(EPS))
        (out * row(dy, point)).sum().backward()  # L is one number: one backward
        grads = {"x": xt.grad, "gain": gain.grad, "bias": bias.grad}
        return {k: ts.backend.to_numpy(v) for k, v in grads.items()}

    def display(expr: sp.Expr) -> sp.Expr:  # (var + ε)^(k/2) → √(var + ε)ᵏ: > 0, invertible
        return expr.replace(
            lambda e: e.is_Pow and e.base == variance_plus_eps,
            lambda e: sd_name ** (2 * e.exp),
        )

    names = {mu_name: mu, sd_name: sd}
    names.update({x_hat[i]: x_hat_expr[i] for i in range(d_model)})
    return Derivation(
        name="transformer.layer_norm_gradients",
        title="Transformer layer norm (normalize): ∂L/∂x, ∂L/∂g, ∂L/∂b",
        dims={"d_model": d_model},
        equations=[
            Equation(
                "μ = mean(x)", r"\mu = \frac{1}{d_{model}}\sum_i x_i", "μ", r"\mu", sp.Matrix([mu])
            ),
            Equation(
                "var = mean((x − μ)²)",
                r"\operatorname{var} = \frac{1}{d_{model}}\sum_i (x_i - \mu)^2",
                "var",
                r"\operatorname{var}",
                sp.Matrix([sum((e - mu_name) ** 2 for e in x) / d_model]),
            ),
            Equation(
                "x̂ = (x − μ)/√(var + ε)",
                r"\hat x = \frac{x - \mu}{\sqrt{\operatorname{var} + \epsilon}}",
                "x̂",
                r"\hat x",
                (x - sp.ones(d_model, 1) * mu_name) / sd_name,
            ),
            Equation("y = g ⊙ x̂ + b", r"y = g \odot \hat x + b", "y", "y", hadamard(g, x_hat) + b),
        ],
        statement=LAYER_NORM_TEXT,
        statement_latex=LAYER_NORM_LATEX,
        blocks=blocks,
        names=names,
        engine=engine,
        engine_source="ts.functional.layer_norm (float64, one fused op), one backward of L",
        seed_says="Add & normalize (no formula or gradient stated)",
        display=display,
        notes=[
            "∂L/∂x is δx̂/√(var + ε) with two directions taken out: the mean (shifting every xᵢ "
            "leaves x̂ as it was) and x̂ itself (scaling x − μ leaves x̂ as it was, up to ε). "
            "So the entries of ∂L/∂x sum to 0.",
            "δy is a free symbol, so the identity holds for every upstream gradient; ε is the "
            "library's default 10⁻⁵, exactly. √(var + ε) is the standard deviation (σ, in "
            "the seed, is the sigmoid).",
        ],
    )


# ------------------------------------------------------------------ all of it
def derive() -> list[Derivation]:
    """Every Add & normalize identity as a Derivation."""
    return [residual_jacobian(), layer_norm_gradients()]


def check(seed: int = 0) -> list[CheckResult]:
    """Check every Add & normalize identity."""
    return [d.check(seed=seed) for d in derive()]


__all__ = ["check", "derive", "layer_norm_gradients", "residual_jacobian"]
