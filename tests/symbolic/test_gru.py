"""The GRU's step Jacobian: the direct term diag(1 − zₜ) and the whole thing."""

from __future__ import annotations

import pytest
import sympy as sp

from tinygrad_seq.symbolic import gru


@pytest.mark.parametrize("derivation", ["direct_term", "step_jacobian"])
def test_identity_checks(derivation):
    result = getattr(gru, derivation)().check(seed=7)
    assert result.symbolic_ok is True, str(result)
    assert result.numeric_max_error <= 1e-10, str(result)
    assert result.passed


def test_direct_term_is_exactly_diag_one_minus_z():
    d = gru.direct_term()
    derived = d.show(d.blocks[0].derived)
    z = [sp.Symbol("zₜ,₁"), sp.Symbol("zₜ,₂")]
    assert derived == sp.diag(1 - z[0], 1 - z[1])


def test_the_direct_term_alone_is_not_the_jacobian():
    result = gru.direct_term_only().check()
    assert result.symbolic_ok is False
    assert result.numeric_max_error > 1e-3
    assert not result.passed


def test_step_jacobian_uses_the_module_with_the_seeds_convention():
    d = gru.step_jacobian()
    assert "GRUCell" in d.engine_source
    assert "(1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ" in str(d)
