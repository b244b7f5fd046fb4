"""The LSTM's identities: each check passes; the seed's Π fₜ is only the cell path."""

from __future__ import annotations

import pytest
import sympy as sp

from tinygrad_seq.symbolic import lstm

IDENTITIES = [
    "sigmoid_derivative",
    "cell_path",
    "full_jacobian",
    "two_steps",
    "parameter_gradients",
]


@pytest.mark.parametrize("derivation", IDENTITIES)
def test_identity_checks(derivation):
    result = getattr(lstm, derivation)().check(seed=5)
    assert result.symbolic_ok is True, str(result)
    assert result.numeric_max_error <= 1e-10, str(result)
    assert result.passed


def test_cell_path_is_exactly_diag_f():
    d = lstm.cell_path()
    derived = d.show(d.blocks[0].derived)
    f = [sp.Symbol("fₜ,₁"), sp.Symbol("fₜ,₂")]
    assert derived == sp.diag(*f)


def test_full_jacobian_has_all_four_blocks_and_uses_the_module():
    d = lstm.full_jacobian()
    assert [b.key for b in d.blocks] == ["dh/dh_prev", "dh/dC_prev", "dC/dh_prev", "dC/dC_prev"]
    assert "LSTMCell" in d.engine_source
    dh_dC = d.show(d.blocks[1].derived)
    assert dh_dC[0, 1] == 0 and dh_dC[1, 0] == 0  # ∂hₜ/∂Cₜ₋₁ is diagonal


def test_the_seeds_product_of_forget_gates_is_not_the_whole_derivative():
    result = lstm.two_steps_cell_path_only().check()
    assert result.symbolic_ok is False
    assert result.numeric_max_error > 1e-6
    assert not result.passed


def test_parameter_gradients_cover_every_weight_and_bias():
    keys = {b.key for b in lstm.parameter_gradients().blocks}
    assert keys == {f"{p}_{g}" for p in "Wb" for g in "fiCo"} | {"h_prev", "C_prev"}


def test_a_wrong_bias_gradient_fails():
    d = lstm.parameter_gradients()
    wrong = {"b_f": d.blocks[[b.key for b in d.blocks].index("b_i")].stated}  # δa_i for δa_f
    result = d.with_stated(wrong, name="lstm.wrong_b_f").check()
    assert not result.passed and result.symbolic_ok is False
