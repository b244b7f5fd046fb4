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


def test_two_steps_rejects_its_chain_rule_in_the_wrong_order():
    # At the default size (h = 2) the blocks are matrices: the path through hₜ multiplied
    # in the wrong order, with transposed factors, is a wrong identity the check must
    # reject (with h = 1 every block was 1 × 1 and it passed)
    from tinygrad_seq.symbolic.checker import vector
    from tinygrad_seq.symbolic.lstm import _inputs, _stated_blocks, _step

    d = lstm.two_steps()
    h = d.dims["h"]
    assert h >= 2
    h_prev, C_prev, x_t = _inputs(h, 1)
    s1 = _step(h, 1, h_prev, C_prev, x_t)
    s2 = _step(h, 1, s1.h, s1.C, vector("xₜ₊₁,{}", "x_{{t+1,{}}}", 1), "ₜ₊₁", "t+1")
    b1, b2 = _stated_blocks(s1), _stated_blocks(s2)
    wrong = b1["dC/dC_prev"] * b2["dC/dC_prev"] + b1["dh/dC_prev"].T * b2["dC/dh_prev"].T
    result = d.with_stated({"dC2/dC0": wrong}, name="lstm.two_steps_wrong_order").check()
    assert result.symbolic_ok is False and not result.passed


def test_parameter_gradients_cover_every_weight_and_bias():
    keys = {b.key for b in lstm.parameter_gradients().blocks}
    assert keys == {f"{p}_{g}" for p in "Wb" for g in "fiCo"} | {"h_prev", "C_prev"}


def test_a_wrong_bias_gradient_fails():
    d = lstm.parameter_gradients()
    wrong = {"b_f": d.blocks[[b.key for b in d.blocks].index("b_i")].stated}  # δa_i for δa_f
    result = d.with_stated(wrong, name="lstm.wrong_b_f").check()
    assert not result.passed and result.symbolic_ok is False


def test_sigmoid_derivative_checks_the_rule_sympy_uses(monkeypatch):
    # the other identities differentiate σ by its fdiff rule: a wrong rule must fail here
    from tinygrad_seq.symbolic import checker

    def wrong_rule(self, argindex=1):
        s = checker.sigmoid(self.args[0])
        return s * (1 + s)

    monkeypatch.setattr(checker.sigmoid, "fdiff", wrong_rule)
    lstm.sigmoid_derivative.cache_clear()
    try:
        assert not lstm.sigmoid_derivative().check().passed
    finally:
        lstm.sigmoid_derivative.cache_clear()  # (monkeypatch restores the rule itself)


def test_derive_lists_every_lstm_identity():
    """`tinygrad-seq derive lstm` prints what derive() returns: each identity once, in order."""
    assert [d.name for d in lstm.derive()] == [
        "lstm.sigmoid_derivative",
        "lstm.cell_path",
        "lstm.full_jacobian",
        "lstm.two_steps",
        "lstm.parameter_gradients",
    ]
