"""Attention's identities: the softmax Jacobian, scaled dot-product, additive and
multiplicative scores, multi-head attention."""

from __future__ import annotations

import pytest
import sympy as sp

from tinygrad_seq.symbolic import attention
from tinygrad_seq.symbolic.checker import matrix, vector

# every identity of ts.symbolic.attention, in the order derive() gives them
IDENTITIES = [
    "softmax_jacobian",
    "softmax_cross_entropy",
    "scaled_dot_product_gradients",
    "additive_score_gradients",
    "multiplicative_score_gradients",
    "multi_head_gradients",
]


@pytest.mark.parametrize("derivation", IDENTITIES)
def test_identity_checks(derivation):
    result = getattr(attention, derivation)().check(seed=11)
    assert result.symbolic_ok is True, str(result)
    assert result.numeric_max_error <= 1e-10, str(result)
    assert result.passed


def test_softmax_jacobian_reads_as_diag_alpha_minus_alpha_alpha_t():
    d = attention.softmax_jacobian()
    derived = d.show(d.blocks[0].derived)
    a = sp.Matrix([sp.Symbol(f"α{s}") for s in "₁₂₃"])
    assert (derived - (sp.diag(*a) - a * a.T)).applyfunc(sp.expand) == sp.zeros(3, 3)


def test_the_wrong_sign_fails():
    result = attention.softmax_wrong_sign().check()
    assert result.symbolic_ok is False
    assert result.numeric_max_error > 1e-3
    assert not result.passed
    assert "FAIL" in str(result)


@pytest.mark.parametrize(("n", "target"), [(3, 0), (4, 3)])
def test_cross_entropy_gradient_is_p_minus_one_hot(n, target):
    d = attention.softmax_cross_entropy(n, target)
    assert d.check(seed=2).passed
    p = sp.Matrix([sp.Symbol(f"p{s}") for s in "₁₂₃₄"[:n]])
    one_hot = sp.Matrix([int(k == target) for k in range(n)])
    assert (d.show(d.blocks[0].derived) - (p - one_hot)).applyfunc(sp.simplify) == sp.zeros(n, 1)
    assert f"−log p{'₁₂₃₄'[target]}" in str(d)  # the seed counts classes from 1


def test_cross_entropy_without_the_one_hot_fails_and_a_bad_target_is_refused():
    d = attention.softmax_cross_entropy()
    p = sp.Matrix(list(d.names.values())[:3])  # p = softmax(o), without the one-hot
    result = d.with_stated({"dL/do": p}, name="attention.ce_without_one_hot").check()
    assert not result.passed and result.numeric_max_error > 1e-3
    with pytest.raises(ValueError, match="target must be in"):
        attention.softmax_cross_entropy(3, 3)


def test_gradients_cover_q_k_v_and_the_additive_parameters():
    assert [b.key for b in attention.scaled_dot_product_gradients().blocks] == ["Q", "K", "V"]
    keys = [b.key for b in attention.additive_score_gradients().blocks]
    assert keys == ["s", "h", "W_a", "U_a", "v_a"]


def test_dropping_the_scale_fails():
    d = attention.scaled_dot_product_gradients()
    unscaled = {"Q": d.blocks[0].stated * sp.sqrt(3)}  # forgot the 1/√d_k
    assert not d.with_stated(unscaled, name="attention.unscaled").check().passed


@pytest.mark.parametrize("wrong", ["n_k", "n_q", "d_v"])
def test_an_engine_scaling_by_another_size_fails(monkeypatch, wrong):
    # d_k differs from every other size by default, so √ of the wrong one is caught
    import math

    from tinygrad_seq.nn import attention as nn_attention

    def scaled_wrongly(Q, K, V, mask=None):
        size = {"n_k": K.shape[-2], "n_q": Q.shape[-2], "d_v": V.shape[-1]}[wrong]
        alpha = ((Q @ K.transpose(-1, -2)) * (1.0 / math.sqrt(size))).softmax(axis=-1)
        return alpha @ V, alpha

    d = attention.scaled_dot_product_gradients()
    assert d.check(seed=0).passed
    monkeypatch.setattr(nn_attention, "scaled_dot_product_attention", scaled_wrongly)
    assert not d.check(seed=0).passed


def test_one_key_checks_although_v_drops_out_of_the_gradients():
    # With one key softmax is constant (α = 1): V and the scores drop out of the derived
    # forms, yet the engine's side still needs values for them.
    d = attention.scaled_dot_product_gradients(2, 1, 2, 2)
    assert {str(v)[0] for v in d.variables} >= {"Q", "K", "V"}
    result = d.check(seed=3)
    assert result.passed, str(result)


def test_multiplicative_score_without_the_transpose_fails():
    # ∂e/∂h = W_aᵀ s; with a square W_a, W_a s has the right shape: the slip to catch
    d = attention.multiplicative_score_gradients(2, 2)
    assert [b.key for b in d.blocks] == ["s", "h", "W_a"]
    W_a = matrix("W_a{}{}", "W_{{a,{}{}}}", 2, 2)  # the derivation's own symbols
    s = vector("s{}", "s_{{{}}}", 2)
    assert d.check(seed=2).passed
    wrong = d.with_stated({"h": W_a * s}, name="attention.luong_untransposed").check(seed=2)
    assert wrong.symbolic_ok is False and not wrong.passed


def _block(d, key):
    return next(b for b in d.blocks if b.key == key)


def test_multi_head_covers_every_weight_and_both_inputs():
    d = attention.multi_head_gradients()
    assert [b.key for b in d.blocks] == ["W_Q", "W_K", "W_V", "W_O", "X", "M"]
    assert d.dims == {"n_q": 1, "n_k": 2, "d_model": 2, "num_heads": 2, "d_k": 1}
    with pytest.raises(ValueError, match="num_heads must divide d_model"):
        attention.multi_head_gradients(1, 2, 3, 2)


@pytest.mark.parametrize(
    "key, slip",
    [
        ("W_V", lambda m: m[:, [1, 0]]),  # each head's columns filled from the other head
        ("W_O", lambda m: m.T),  # δOᵀ C instead of Cᵀ δO
        ("M", lambda m: 2 * m),  # (any wrong sum of the key and value paths)
    ],
)
def test_multi_head_bookkeeping_slips_fail(key, slip):
    d = attention.multi_head_gradients()
    wrong = {key: slip(_block(d, key).stated)}
    result = d.with_stated(wrong, name=f"attention.slip_{key}").check(seed=4)
    assert result.symbolic_ok is False and not result.passed


def test_multi_head_with_two_columns_a_head_checks_the_scale_and_the_split():
    # d_k = 2 (the default's d_k = 1 makes √d_k = 1 and every split of columns the same):
    # an engine that forgot the 1/√d_k, or split the heads' columns another way, fails here
    d = attention.multi_head_gradients(1, 2, 4, 2)
    assert d.dims["d_k"] == 2
    result = d.check(seed=1)
    assert result.passed, str(result)


@pytest.mark.parametrize("num_heads", [0, -1])
def test_multi_head_refuses_no_heads_and_a_negative_count(num_heads):
    # 2 % -1 == 0, and 2 % 0 divides by zero: the count is checked before it divides
    with pytest.raises(ValueError, match="num_heads must divide d_model"):
        attention.multi_head_gradients(1, 2, 2, num_heads)


def test_derive_lists_every_identity_and_check_passes_its_seed(monkeypatch):
    names = [d.name.split(".")[1] for d in attention.derive()]
    assert names == IDENTITIES

    class Recorder:
        def __init__(self):
            self.seeds = []

        def check(self, seed=0):
            self.seeds.append(seed)
            return seed

    fakes = [Recorder(), Recorder()]
    monkeypatch.setattr(attention, "derive", lambda: fakes)
    assert attention.check(seed=7) == [7, 7]
    assert [f.seeds for f in fakes] == [[7], [7]]
