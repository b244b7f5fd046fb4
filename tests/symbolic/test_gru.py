"""The GRU's identities: the direct term diag(1 − zₜ), the whole step Jacobian, and the
weight, bias and hₜ₋₁ gradients."""

from __future__ import annotations

import pytest
import sympy as sp

import tinygrad_seq as ts
from tinygrad_seq.nn.gru import STEP_NAMES
from tinygrad_seq.symbolic import gru


@pytest.mark.parametrize("derivation", ["direct_term", "step_jacobian", "parameter_gradients"])
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


def test_parameter_gradients_cover_every_weight_and_bias():
    d = gru.parameter_gradients()
    assert {b.key for b in d.blocks} == {f"{p}_{g}" for p in "Wb" for g in "zrh"} | {"h_prev"}
    assert any(x is d for x in gru.derive())


def _stated(d, key):
    return d.blocks[[b.key for b in d.blocks].index(key)].stated


@pytest.mark.parametrize("slip", ["W_h reads hₜ₋₁, not rₜ ⊙ hₜ₋₁", "δz with its sign flipped"])
def test_plausible_slips_fail(slip):
    """Two slips one makes by hand: ∂L/∂W_h = δa_h [hₜ₋₁, xₜ]ᵀ, forgetting that W_h reads
    rₜ ⊙ hₜ₋₁; and δz = δhₜ ⊙ (hₜ₋₁ − h̃ₜ), the sign PyTorch's convention (zₜ and 1 − zₜ
    swapped) gives."""
    d = gru.parameter_gradients()
    if slip.startswith("W_h"):
        hx = sp.Matrix([sp.Symbol("hₜ₋₁,₁"), sp.Symbol("hₜ₋₁,₂"), sp.Symbol("xₜ,₁")])
        wrong = {"W_h": _stated(d, "b_h") * hx.T}  # δa_h [hₜ₋₁, xₜ]ᵀ
    else:
        wrong = {"b_z": -_stated(d, "b_z"), "W_z": -_stated(d, "W_z")}
    result = d.with_stated(wrong, name="gru.slip").check()
    assert not result.passed and result.symbolic_ok is False
    assert result.numeric_max_error > 1e-3


def test_h_prev_gradient_without_the_highway_fails():
    """∂L/∂hₜ₋₁ without its direct term δhₜ ⊙ (1 − zₜ) (the gates' paths alone) is wrong."""
    d = gru.parameter_gradients()
    z = sp.Matrix([d.names[sp.Symbol(f"zₜ,{i}")] for i in "₁₂"])
    dh = sp.Matrix([sp.Symbol(f"δhₜ,{i}") for i in "₁₂"])
    stated = d.blocks[-1].stated - dh.multiply_elementwise(z.applyfunc(lambda e: 1 - e))
    result = d.with_stated({"h_prev": stated}, name="gru.no_highway").check()
    assert not result.passed and result.numeric_max_error > 1e-3


def test_step_jacobian_uses_the_module_with_the_seeds_convention():
    d = gru.step_jacobian()
    assert "GRUCell" in d.engine_source
    assert "(1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙ h̃ₜ" in str(d)


# ------------------------------------------------------------------ the engine side is GRUCell
def _step_with_update(update):
    """GRUCell.step with another update hₜ = update(zₜ, hₜ₋₁, h̃ₜ); the gates as the library's."""

    def step(self, x_t, h_prev, weights_T):
        W_z_T, W_r_T, W_h_T = weights_T
        hx = ts.cat([h_prev, x_t], axis=-1)
        z_t = (hx @ W_z_T + self.b_z).sigmoid()
        r_t = (hx @ W_r_T + self.b_r).sigmoid()
        h_tilde = (ts.cat([r_t * h_prev, x_t], axis=-1) @ W_h_T + self.b_h).tanh()
        h_t = update(z_t, h_prev, h_tilde)
        z_t.name, r_t.name, h_tilde.name, h_t.name = STEP_NAMES
        return h_t

    return step


def test_direct_term_passes_for_the_seeds_update_written_out(monkeypatch):
    # the control for the test below: the same rewritten step, with the seed's update
    seed = _step_with_update(lambda z, h_prev, h_tilde: (1 - z) * h_prev + z * h_tilde)
    monkeypatch.setattr(ts.nn.GRUCell, "step", seed)
    assert gru.direct_term().check(seed=7).passed


def test_direct_term_fails_for_a_grucell_with_pytorchs_convention(monkeypatch):
    pytorch = _step_with_update(lambda z, h_prev, h_tilde: z * h_prev + (1 - z) * h_tilde)
    monkeypatch.setattr(ts.nn.GRUCell, "step", pytorch)
    result = gru.direct_term().check(seed=7)
    assert result.symbolic_ok is True  # the identity itself still holds...
    assert result.errors["derived vs engine"] > 1e-2, str(result)  # ...but not for this cell
    assert not result.passed
    assert "GRUCell" in result.engine_source


def test_direct_term_names_the_gates_it_could_not_hold(monkeypatch):
    unnamed = _step_with_update(lambda z, h_prev, h_tilde: (1 - z) * h_prev + z * h_tilde)

    def step(self, x_t, h_prev, weights_T):
        h_t = unnamed(self, x_t, h_prev, weights_T)
        for node in ts.graph.trace(h_t).tensors:
            if node.name == "h_tilde":
                node.name = None
        return h_t

    monkeypatch.setattr(ts.nn.GRUCell, "step", step)
    with pytest.raises(ValueError, match=r"no node named \['h_tilde'\]"):
        gru.direct_term().check()


def test_the_held_candidate_is_written_with_r_t_and_a_wide_listing_is_not_mislabelled():
    # h̃ₜ was printed with rₜ expanded to its σ(…), and a matrix too wide for one block,
    # listed entry by entry, had its "h̃ₜ = " hung before the "[2,1] = " entry
    small = str(gru.direct_term())
    (line,) = [k for k, row in enumerate(small.splitlines()) if row.strip().startswith("h̃ₜ = tanh")]
    block = "\n".join(small.splitlines()[line : line + 4])
    assert "rₜ,₁" in block and "σ(W_r" not in block
    wide = str(gru.direct_term(hidden=4, inputs=4))
    assert "[1,1] = " in wide  # listed entry by entry
    assert not any("= [" in row for row in wide.splitlines())
