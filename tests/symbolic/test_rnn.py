"""The vanilla RNN's identities: each check passes, the seed's literal readings do not, and
the seed's worked example is reproduced exactly."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from tinygrad_seq.symbolic import rnn


@pytest.mark.parametrize(
    "derivation", ["tanh_derivative", "step_jacobian", "bptt_product", "bptt_parameter_gradients"]
)
def test_identity_checks(derivation):
    result = getattr(rnn, derivation)().check(seed=3)
    assert result.symbolic_ok is True, str(result)
    assert result.numeric_max_error <= 1e-10, str(result)
    assert result.passed
    assert "RNNCell" in result.engine_source or derivation == "tanh_derivative"


def test_step_jacobian_is_a_row_scaling_of_W_hh():
    d = rnn.step_jacobian()
    derived = d.show(d.blocks[0].derived)
    W_hh = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_hh{'₁₂'[i]}{'₁₂'[j]}"))
    h_t = sp.Matrix([sp.Symbol("hₜ,₁"), sp.Symbol("hₜ,₂")])
    for i in range(2):
        for j in range(2):  # entry (i, j) = (1 − hₜ,ᵢ²) W_hh,ᵢⱼ: row i scaled by tanh'(aₜ,ᵢ)
            assert sp.expand(derived[i, j] - (1 - h_t[i] ** 2) * W_hh[i, j]) == 0


def test_seed_elementwise_reading_row_broadcast_is_right():
    assert rnn.seed_elementwise_reading("row-broadcast").check().passed


@pytest.mark.parametrize("reading", ["column-broadcast", "hadamard-diag"])
def test_seed_elementwise_readings_that_are_wrong_fail(reading):
    result = rnn.seed_elementwise_reading(reading).check()
    assert result.symbolic_ok is False
    assert result.numeric_max_error > 1e-3
    assert not result.passed
    assert "FAIL" in str(result)


def test_unknown_reading_is_a_clear_error():
    with pytest.raises(ValueError, match="reading must be one of"):
        rnn.seed_elementwise_reading("diagonal")


def test_bptt_product_in_the_wrong_order_fails():
    result = rnn.bptt_wrong_order().check()
    assert result.symbolic_ok is False and not result.passed


def test_bptt_parameter_gradients_cover_the_shared_weights():
    d = rnn.bptt_parameter_gradients()
    assert [b.key for b in d.blocks] == ["W_hh", "W_xh", "b_h", "h_1"]
    assert any(x is d for x in rnn.derive())  # `tinygrad-seq derive rnn` shows it


def _sym(name: str) -> sp.Symbol:
    return sp.Symbol(name)


def _W_hh() -> sp.Matrix:
    return sp.Matrix(2, 2, lambda i, j: _sym(f"W_hh{'₁₂'[i]}{'₁₂'[j]}"))


def test_gradients_without_the_path_back_through_time_fail():
    """Each step's local gradient alone, δaₜ = δhₜ ⊙ (1 − hₜ²) with no W_hhᵀ δaₜ₊₁ carried
    back (what treating the steps as independent gives), is wrong for all three weights and
    for h₁."""
    d = rnn.bptt_parameter_gradients()
    h = {t: sp.Matrix([d.names[_sym(f"h{t},{i}")] for i in "₁₂"]) for t in "₂₃"}
    dh = {t: sp.Matrix([_sym(f"δh{t},{i}") for i in "₁₂"]) for t in "₂₃"}
    local = {t: dh[t].multiply_elementwise(h[t].applyfunc(lambda e: 1 - e**2)) for t in "₂₃"}
    h_1 = sp.Matrix([_sym(f"h₁,{i}") for i in "₁₂"])
    x = {t: sp.Matrix([_sym(f"x{t},₁")]) for t in "₂₃"}
    wrong = {
        "W_hh": local["₃"] * h["₂"].T + local["₂"] * h_1.T,
        "W_xh": local["₃"] * x["₃"].T + local["₂"] * x["₂"].T,
        "b_h": local["₃"] + local["₂"],
        "h_1": _W_hh().T * local["₂"],
    }
    for key, stated in wrong.items():
        result = d.with_stated({key: stated}, name=f"rnn.no_path_back[{key}]").check()
        assert result.symbolic_ok is False and not result.passed, key
        assert result.numeric_max_error > 1e-3, key


def test_worked_example_reproduced():
    ex = rnn.worked_example()
    exact = Fraction(9, 10) ** 19 * Fraction(3, 10) ** 19
    assert ex["exact"] == sp.Rational(exact.numerator, exact.denominator)
    assert ex["value"] == pytest.approx(float(exact), rel=1e-15)
    assert ex["value"] == pytest.approx(0.9**19 * 0.3**19, rel=1e-12)
    # the seed prints "≈ 0.15 × 10^-10": within 5 %, but 0.157 truncated, not rounded
    assert ex["seed_value"] == 0.15e-10
    assert abs(ex["relative_difference"]) < 0.05
    assert round(ex["value"] * 1e10, 2) == 0.16


def test_vanishing_bound_holds_on_the_engine():
    result = rnn.vanishing_bound(steps=20, hidden=4, trials=3, seed=1)
    assert result.symbolic_ok is None  # an inequality: numeric only
    assert all(result.conditions.values())
    assert result.numeric_max_error <= 1e-10  # engine vs J_T ⋯ J_2, relative
    assert result.passed
    assert any("(0.9·0.3)^19" in note for note in result.notes)


@pytest.mark.parametrize(("past_the_bound", "holds"), [(1.01, False), (0.99, True)])
def test_the_bound_fails_for_an_engine_gradient_past_it(monkeypatch, past_the_bound, holds):
    """A checker that cannot fail proves nothing: an engine whose ∂h_T/∂h₁ comes out 1 %
    above the bound is caught, and 1 % under it passes that condition."""
    import re

    first = rnn.vanishing_bound(steps=6, hidden=3, trials=1, seed=2)
    ratio = float(re.search(r"ratio ([0-9.e+-]+)\)", first.notes[0]).group(1))  # lhs / bound
    engine_jacobian = rnn.engine_jacobian
    scale = past_the_bound / ratio

    def scaled(*args, **kwargs):
        return [scale * j for j in engine_jacobian(*args, **kwargs)]

    monkeypatch.setattr(rnn, "engine_jacobian", scaled)
    result = rnn.vanishing_bound(steps=6, hidden=3, trials=1, seed=2)
    assert result.conditions == {"bound holds in all 1 trials": holds}
    assert not result.passed  # the engine no longer matches J_T ⋯ J_2 either


def test_derivation_prints_the_seed_statement_and_latex():
    d = rnn.step_jacobian()
    text = str(d)
    assert "W_hh ⊙ tanh'" in text and "diag(1 − hₜ²) W_hh" in text
    md = d.to_markdown()
    assert r"\operatorname{diag}" in md and "W_{hh,11}" in md
    # the vector form, then its elements, each labelled
    assert "written out in elements" in text and "written out in elements" in md


def test_a_scalar_model_is_printed_once():
    """tanh(x) = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ) has no elements to write out: printed again as a
    1×1 matrix, it read as a second model."""
    d = rnn.tanh_derivative()
    md, text = d.to_markdown(), str(d)
    model = md.split("Model:")[1].split("Stated closed form:")[0]
    assert model.count("$$") == 2 and r"\begin{matrix}" not in md
    assert "written out" not in text and "⎡" not in text


def test_the_seed_example_note_keeps_the_seeds_numbers_for_any_run():
    note = next(n for n in rnn.vanishing_bound(steps=5, norm_W=0.5).notes if "worked" in n)
    assert "(0.9·0.3)^19" in note and "1.5700e-11" in note
    assert rnn.worked_example(0.9, 0.3)["exact"] == rnn.worked_example()["exact"]  # floats too


def test_the_bound_is_exact_for_one_hidden_unit():
    """With h = 1 every factor is a scalar: |∂h_T/∂h₁| = |w|^(T−1) Π|tanh'(aₜ)| exactly, so
    the bound's ratio is 1 (an exponent or a step off would make it 0.9 or 1/0.9)."""
    import re

    result = rnn.vanishing_bound(steps=7, hidden=1, trials=2, seed=3)
    ratios = [float(re.search(r"ratio ([0-9.e+-]+)\)", n).group(1)) for n in result.notes[:2]]
    assert ratios == [1.0, 1.0]
    assert "T = 7, h = 1" in result.title
    assert result.passed


@pytest.mark.parametrize(("steps", "seed"), [(5, 3), (20, 3), (40, 9), (5, 53), (20, 13)])
def test_the_bound_at_equality_passes_through_saturated_steps(steps, seed):
    """With one hidden unit the bound holds with equality, and where tanh saturates
    (1 − h² ≈ 1e-7) the engine's g − g h² and the check's 1 − h² differ by ~1e-9 relative:
    rounding, which these runs once reported as FAIL (past a fixed 1e-12 on the bound or
    1e-10 on the engine's error)."""
    result = rnn.vanishing_bound(steps=steps, hidden=1, trials=3, seed=seed)
    assert all(result.conditions.values()) and result.numeric_ok and result.passed
    assert result.tol < 1e-6  # an allowance from the rounding, not a blanket one


@pytest.mark.parametrize("past_the_bound", [1 + 1e-6, 1 + 1e-3])
def test_at_equality_an_engine_just_past_the_bound_still_fails(monkeypatch, past_the_bound):
    """The rounding allowance of a saturated run (~2e-8 here) hides no real violation: an
    engine 1e-6 above the bound (and off J_T ⋯ J₂ by as much) fails both checks."""
    engine_jacobian = rnn.engine_jacobian
    monkeypatch.setattr(
        rnn,
        "engine_jacobian",
        lambda *a, **k: [past_the_bound * j for j in engine_jacobian(*a, **k)],
    )
    result = rnn.vanishing_bound(steps=5, hidden=1, trials=3, seed=3)
    assert result.conditions == {"bound holds in all 3 trials": False}
    assert not result.numeric_ok and not result.passed


def test_the_trials_weights_have_the_spectral_norm_asked_for(monkeypatch):
    """‖W_hh‖₂ = norm_W (the 2-norm, not the Frobenius norm, which is larger for h > 1)."""
    import numpy as np

    seen = []
    float64_module = rnn.float64_module

    def spy(make, weights):
        seen.append(weights["W_hh"].copy())
        return float64_module(make, weights)

    monkeypatch.setattr(rnn, "float64_module", spy)
    rnn.vanishing_bound(steps=4, hidden=4, trials=2, norm_W=0.7, seed=0)
    assert len(seen) == 2
    for W in seen:
        assert np.linalg.norm(W, 2) == pytest.approx(0.7, rel=1e-12)
        assert np.linalg.norm(W) > 0.75  # so a Frobenius normalisation would be caught


def test_the_engine_error_is_relative_to_the_product(monkeypatch):
    """An engine 0.1 % off J_T ⋯ J₂ reports 1e-3, however small the product has vanished to
    (an absolute error would read ~1e-3 · 0.9¹⁹ Π tanh' and pass)."""
    engine_jacobian = rnn.engine_jacobian
    monkeypatch.setattr(
        rnn, "engine_jacobian", lambda *a, **k: [1.001 * j for j in engine_jacobian(*a, **k)]
    )
    result = rnn.vanishing_bound(steps=20, hidden=3, trials=1, seed=0)
    assert result.numeric_max_error == pytest.approx(1e-3, rel=1e-6)
    assert not result.passed


def test_check_passes_its_seed_to_the_bound(monkeypatch):
    seeds = []
    monkeypatch.setattr(rnn, "derive", lambda: [])
    monkeypatch.setattr(rnn, "vanishing_bound", lambda seed=0: seeds.append(seed) or "bound")
    assert rnn.check(seed=7) == ["bound"] and seeds == [7]


def test_worked_example_relative_difference_is_the_seeds_error_over_the_exact_value():
    ex = rnn.worked_example()
    exact = 1.5700428990820816e-11  # (0.9·0.3)^19
    assert ex["relative_difference"] == pytest.approx((1.5e-11 - exact) / exact, rel=1e-9)
    assert ex["relative_difference"] == pytest.approx(-0.04461, abs=1e-5)


def test_a_unit_saturated_to_exactly_one_has_no_rounding_allowance():
    """A unit with hₜ = ±1 exactly (tanh saturated in float64) has 1 − hₜ² = 0 in the
    engine and the check alike: the rounding allowance skips it rather than dividing by 0
    (a ZeroDivisionError ended vanishing_bound(norm_W=30))."""
    hs = [np.array([1.0, 0.5]), np.array([-1.0, 0.0])]
    eps = float(np.finfo(np.float64).eps)
    expected = eps * (2 / 0.75 + 2 + 2) + eps * (2 / 1.0 + 2 + 2)
    assert rnn._product_rounding(hs, 2) == pytest.approx(expected)
    assert rnn._product_rounding([np.array([1.0, -1.0])], 2) == pytest.approx(eps * 4)
    result = rnn.vanishing_bound(steps=5, hidden=4, trials=1, norm_W=30.0, seed=0)
    assert result.conditions == {"bound holds in all 1 trials": True}
