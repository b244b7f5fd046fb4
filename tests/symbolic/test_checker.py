"""The shared checker: it passes a true identity, and it can fail.

A checker that cannot fail proves nothing, so most tests here feed it something wrong: a
wrong stated form (symbolic and numeric checks fail), and a wrong engine (only the numeric
check fails).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import tinygrad_seq as ts
from tinygrad_seq.symbolic import checker
from tinygrad_seq.symbolic.checker import (
    Block,
    CheckResult,
    Derivation,
    Equation,
    check_identity,
    engine_jacobian,
    evaluate,
    sigmoid,
    simplify_to_zero,
    vector,
)


def _square(engine_offset: float = 0.0) -> Derivation:
    """y = x ⊙ x on 2 elements: ∂y/∂x = diag(2x), with the engine's x * x."""
    x = vector("x{}", "x_{{{}}}", 2)
    y = x.multiply_elementwise(x)

    def engine(point):
        xt = ts.Tensor(checker.float64_values(x, point).reshape(1, 2), requires_grad=True)
        (J,) = engine_jacobian(xt * xt, [xt])
        return {"dy/dx": J + engine_offset}

    return Derivation(
        name="test.square",
        title="∂(x⊙x)/∂x = diag(2x)",
        dims={"n": 2},
        equations=[Equation("y = x ⊙ x", r"y = x \odot x", "y", "y", y)],
        statement="∂y/∂x = diag(2x)",
        statement_latex=r"\operatorname{diag}(2x)",
        blocks=[
            Block("dy/dx", "∂y/∂x", r"\partial y/\partial x", y.jacobian(x), sp.diag(*(2 * x)))
        ],
        names={},
        engine=engine,
        engine_source="x * x",
    )


def test_a_true_identity_passes():
    result = check_identity(_square())
    assert isinstance(result, CheckResult)
    assert result.symbolic_ok is True
    assert result.numeric_max_error <= 1e-10
    assert result.passed and bool(result)
    assert result.seconds > 0
    assert "PASS" in str(result) and "test.square" in str(result)


def test_a_wrong_stated_form_fails_both_checks():
    d = _square()
    x = vector("x{}", "x_{{{}}}", 2)
    result = check_identity(d, stated={"dy/dx": sp.diag(*(3 * x))})  # 3x: wrong
    assert result.symbolic_ok is False
    assert result.numeric_max_error > 1e-3
    assert not result.passed
    residual = result.expressions["∂y/∂x"]["residual"]
    assert residual == sp.diag(*(-x))  # 2x − 3x, exactly
    assert "FAIL" in str(result)
    assert "$$" in result.to_markdown()


def test_a_wrong_engine_fails_the_numeric_check_only():
    result = check_identity(_square(engine_offset=1e-7))
    assert result.symbolic_ok is True
    assert result.errors["derived vs stated"] == 0.0
    assert result.errors["derived vs engine"] == pytest.approx(1e-7, rel=1e-3)
    assert not result.passed


def test_engine_jacobian_reads_one_row_per_output_coordinate(rng):
    W = rng.standard_normal((3, 2))
    x = ts.Tensor(rng.standard_normal((1, 2)), requires_grad=True)
    (J,) = engine_jacobian(x @ ts.Tensor(W.T), [x])  # y = x Wᵀ: ∂y/∂x = W
    np.testing.assert_allclose(J, W, atol=1e-15)


def test_evaluate_matches_numpy():
    a, b = sp.symbols("a b")
    m = sp.Matrix([[sp.tanh(a) * b, sigmoid(a) + sp.exp(b) / 2, sp.sqrt(2) * a**2]])
    got = evaluate(m, [a, b], {a: 0.3, b: -1.2})
    want = [np.tanh(0.3) * -1.2, 1 / (1 + np.exp(-0.3)) + np.exp(-1.2) / 2, np.sqrt(2) * 0.09]
    np.testing.assert_allclose(got.reshape(-1), want, rtol=1e-15)


def test_sigmoid_differentiates_as_sigma_times_one_minus_sigma():
    x = sp.Symbol("x")
    assert sp.diff(sigmoid(x), x) == sigmoid(x) * (1 - sigmoid(x))
    assert sp.simplify(sigmoid(x).rewrite(sp.exp) - 1 / (1 + sp.exp(-x))) == 0


def test_simplify_falls_back_when_atoms_are_related():
    a = sp.Symbol("a")
    expr = sp.tanh(a) - (sp.exp(a) - sp.exp(-a)) / (sp.exp(a) + sp.exp(-a))  # zero, but
    assert sp.cancel(expr) != 0  # not to cancel, which takes tanh(a) as an unknown
    residual, how = simplify_to_zero(expr, expr, {a: 0.4})
    assert residual == 0 and how == "exp-rewrite + cancel"


def test_simplify_reports_a_nonzero_residual():
    a = sp.Symbol("a")
    residual, how = simplify_to_zero(sp.tanh(a) - a, sp.tanh(a) - a, {a: 0.5})
    assert residual != 0 and "nonzero" in how


def test_with_stated_rejects_unknown_blocks():
    with pytest.raises(ValueError, match="no block named"):
        _square().with_stated({"nope": sp.zeros(2, 2)})


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="shape"):
        check_identity(_square(), stated={"dy/dx": sp.zeros(1, 2)})


def test_a_derivation_prints_pretty_and_latex():
    d = _square()
    text = str(d)
    assert "∂y/∂x" in text and "derived by SymPy" in text
    md = d.to_markdown()
    assert "$$" in md and r"\operatorname{diag}(2x)" in md


def test_symbolic_is_lazy_and_sympy_free_on_import():
    import subprocess
    import sys

    code = (
        "import sys, tinygrad_seq as ts; assert 'sympy' not in sys.modules; "
        "ts.symbolic; assert 'sympy' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_package_entry_points():
    assert set(ts.symbolic.MODELS) == {"rnn", "lstm", "gru", "attention", "transformer"}
    assert [d.name for d in ts.symbolic.derive("gru")] == [
        "gru.direct_term",
        "gru.step_jacobian",
        "gru.parameter_gradients",
    ]
    with pytest.raises(ValueError, match="no model 'mlp'"):
        ts.symbolic.derive("mlp")
    with pytest.raises(ValueError, match="check: seed must be an integer ≥ 0, got -1"):
        ts.symbolic.check("rnn", seed=-1)
    with pytest.raises(TypeError, match="check: seed must be an integer ≥ 0, got float 1.5"):
        ts.symbolic.check("rnn", seed=1.5)


def test_a_matrix_past_nine_rows_has_one_symbol_per_element():
    # run together, the indices of (1, 11) and (11, 1) named one symbol: the "generic"
    # 11 × 11 matrix was symmetric there, and a correct identity failed against the engine
    W = checker.matrix("W_a{}{}", "W_{{a,{}{}}}", 11, 11)
    assert len(W.free_symbols) == 121 and W[0, 10] != W[10, 0]
    assert len(checker.matrix("W{}{}", "W_{{{}{}}}", 3, 3).free_symbols) == 9
    assert str(checker.matrix("W{}{}", "W_{{{}{}}}", 2, 2)[0, 1]) == "W₁₂"  # as before
