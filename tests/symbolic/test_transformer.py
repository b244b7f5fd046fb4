"""The Transformer's Add & normalize: the residual's Jacobian and layer norm's gradients."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import tinygrad_seq as ts
from tests.symbolic.test_latex_prose import assert_typesets
from tinygrad_seq.symbolic import transformer


@pytest.mark.parametrize("derivation", ["residual_jacobian", "layer_norm_gradients"])
def test_identity_checks(derivation):
    result = getattr(transformer, derivation)().check(seed=5)
    assert result.symbolic_ok is True, str(result)
    assert result.numeric_max_error <= 1e-10, str(result)
    assert result.passed


@pytest.mark.parametrize("slip", ["without its I", "columns scaled"])
def test_plausible_residual_slips_fail(slip):
    """∂z/∂x stated as the sublayer's Jacobian alone (a block without its residual), or
    with tanh' scaling W's columns, I + W diag(1 − s²) (the RNN's broadcast slip)."""
    d = transformer.residual_jacobian()
    if slip == "without its I":
        wrong = d.blocks[0].stated - sp.eye(2)
    else:
        W = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W{'₁₂'[i]}{'₁₂'[j]}"))
        s = sp.Matrix([d.names[sp.Symbol(f"s{i}")] for i in "₁₂"])
        wrong = sp.eye(2) + W * sp.diag(*[1 - e**2 for e in s])
    result = d.with_stated({"dz/dx": wrong}, name="transformer.residual_slip").check()
    assert not result.passed and result.symbolic_ok is False
    assert result.numeric_max_error > 1e-3


def test_layer_norm_gradients_cover_x_gain_and_bias_and_x_sums_to_zero():
    d = transformer.layer_norm_gradients()
    assert [b.key for b in d.blocks] == ["x", "gain", "bias"]
    dx = d.blocks[0].stated
    assert sp.cancel(sum(dx)) == 0  # shifting every xᵢ leaves x̂ (and so L) as it was


@pytest.mark.parametrize(
    "slip",
    ["no mean(δx̂) term", "no x̂·mean(δx̂ ⊙ x̂) term", "var + ε for its root", "∂L/∂g without /sd"],
)
def test_plausible_layer_norm_slips_fail(slip):
    d = transformer.layer_norm_gradients()
    names = {str(k): v for k, v in d.names.items()}
    sd = names["√(var+ε)"]  # the standard deviation (σ is the sigmoid's name)
    x_hat = sp.Matrix([names[f"x̂{i}"] for i in "₁₂₃"])
    dy = sp.Matrix([sp.Symbol(f"δy{i}") for i in "₁₂₃"])
    g = sp.Matrix([sp.Symbol(f"g{i}") for i in "₁₂₃"])
    d_x_hat = g.multiply_elementwise(dy)
    mean_d = sum(d_x_hat) / 3
    mean_dx = sum(d_x_hat.multiply_elementwise(x_hat)) / 3
    ones = sp.ones(3, 1)
    wrong = {
        "no mean(δx̂) term": (d_x_hat - x_hat * mean_dx) / sd,
        "no x̂·mean(δx̂ ⊙ x̂) term": (d_x_hat - ones * mean_d) / sd,
        "var + ε for its root": (d_x_hat - ones * mean_d - x_hat * mean_dx) / sd**2,
        "∂L/∂g without /sd": dy.multiply_elementwise(x_hat * sd),  # δy ⊙ (x − μ)
    }[slip]
    key = "gain" if "∂L/∂g" in slip else "x"
    result = d.with_stated({key: wrong}, name="transformer.layer_norm_slip").check()
    assert not result.passed and result.symbolic_ok is False
    assert result.numeric_max_error > 1e-3


def test_layer_norm_identity_holds_for_the_kernels_on_a_long_row():
    """The closed form, evaluated in NumPy, against the engine's fused layer norm on a row
    long enough for the compiled kernels (when built): the identity is not only for d = 3."""
    rng = np.random.default_rng(0)
    d = 5000
    x, g, b, dy = (rng.standard_normal((1, d)) for _ in range(4))
    xt = ts.Tensor(x, requires_grad=True)
    gain, bias = ts.Tensor(g[0], requires_grad=True), ts.Tensor(b[0], requires_grad=True)
    (ts.functional.layer_norm(xt, gain, bias) * ts.Tensor(dy)).sum().backward()
    sd = np.sqrt(x.var() + 1e-5)
    x_hat = (x - x.mean()) / sd
    d_x_hat = g * dy
    stated = (d_x_hat - d_x_hat.mean() - x_hat * (d_x_hat * x_hat).mean()) / sd
    np.testing.assert_allclose(ts.backend.to_numpy(xt.grad), stated, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ts.backend.to_numpy(gain.grad), (dy * x_hat)[0], rtol=1e-9)
    np.testing.assert_allclose(ts.backend.to_numpy(bias.grad), dy[0])


def test_layer_norm_prints_its_closed_forms_and_one_entry_of_sympys():
    """∂L/∂x, expanded by SymPy, filled a page: the identity comes first, then entry [1,1]
    (whole, as it fits) as the evidence; the check still compares every entry."""
    d = transformer.layer_norm_gradients()
    text = str(d)
    formula = "  ∂L/∂x = (δx̂ − mean(δx̂) − x̂ · mean(δx̂ ⊙ x̂)) / √(var + ε),  δx̂ = g ⊙ δy\n"
    x_block = text.split(formula)[1]
    x_block = x_block.split("  ∂L/∂g = δy ⊙ x̂")[0]
    assert "entry [1,1] of 3 (the check compares all 3)" in x_block
    assert "[1,1] = δy₁·" in x_block and "[2,1] =" not in x_block
    assert "/σ" not in text and "σ =" not in text  # √(var + ε): σ is the seed's sigmoid
    md = d.to_markdown()
    assert r"\frac{\partial L}{\partial x} &= \frac{\delta\hat x" in md
    assert r"\left[\partial L / \partial x\right]_{1,1}" in md
    assert "its first" in md and r"\cdots" in md  # display math cannot wrap: cut short
    assert_typesets(md)
    residual = d.check(seed=1).expressions["∂L/∂x"]["residual"]
    assert residual.shape == (3, 1) and all(e == 0 for e in residual)  # every entry checked


def test_derive_lists_both_identities_and_check_passes_its_seed(monkeypatch):
    assert [d.name for d in transformer.derive()] == [
        "transformer.residual_jacobian",
        "transformer.layer_norm_gradients",
    ]
    seeds = []

    class Recorder:
        def check(self, seed=0):
            seeds.append(seed)
            return seed

    monkeypatch.setattr(transformer, "derive", lambda: [Recorder(), Recorder()])
    assert transformer.check(seed=9) == [9, 9] and seeds == [9, 9]


def test_the_derivations_eps_is_the_librarys_default_exactly():
    """The engine is called with eps=EPS, so any EPS would check: it must be the default the
    library's layer norm uses (the derivation says so), as an exact rational."""
    import inspect

    default = inspect.signature(ts.functional.layer_norm).parameters["eps"].default
    assert transformer.EPS == sp.Rational(1, 10**5) and float(transformer.EPS) == default
    assert ts.nn.LayerNorm(3).eps == default
