"""ts.multinomial and ts.F.sample_logits: draws with the engine's own generator, tested
against the exact distributions with a fixed seed, and replayed with set_rng_state."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of

# chi-square with 4 degrees of freedom exceeds 30 with probability ~5e-6 (and with 11 about
# 8e-4 for 32): far above the statistic of a right sampler, far below a wrong one's
CHI2_LIMIT = {4: 30.0, 11: 32.0}


def chi_square(counts: np.ndarray, probabilities: np.ndarray) -> float:
    """Pearson's statistic of the counts against the expected probabilities (all > 0)."""
    expected = counts.sum() * probabilities
    return float(((counts - expected) ** 2 / expected).sum())


def test_draws_with_replacement_follow_the_weights():
    weights = np.array([1.0, 2.0, 3.0, 0.0, 4.0, 0.5])  # not normalised; one zero
    ts.manual_seed(0)
    ids = ts.multinomial(ts.Tensor(weights), 60_000, replacement=True)
    assert ids.shape == (60_000,) and ids.dtype == np.int64 and not ids.requires_grad
    counts = np.bincount(np_of(ids), minlength=6)
    assert counts[3] == 0  # a zero weight is never drawn
    p = weights / weights.sum()
    keep = p > 0
    assert chi_square(counts[keep], p[keep]) < CHI2_LIMIT[4]
    # the bound has the power to tell: one weight 20 % off is far beyond it
    off = weights[keep] * np.array([1.2, 1.0, 1.0, 1.0, 1.0])
    assert chi_square(counts[keep], off / off.sum()) > 3 * CHI2_LIMIT[4]


def test_draws_without_replacement_are_sequential_draws_from_what_is_left():
    # P(first = i, second = j) = p_i p_j / (1 − p_i): every ordered pair of 4 ids
    weights = np.array([[0.1, 0.2, 0.3, 0.4]] * 20_000)
    ts.manual_seed(1)
    ids = np_of(ts.multinomial(weights, 2))
    assert ids.shape == (20_000, 2) and (ids[:, 0] != ids[:, 1]).all()
    p = weights[0]
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    expected = np.array([p[i] * p[j] / (1 - p[i]) for i, j in pairs])
    counts = np.array([((ids[:, 0] == i) & (ids[:, 1] == j)).sum() for i, j in pairs])
    assert chi_square(counts, expected) < CHI2_LIMIT[11]
    # drawing the second from all four (with replacement's marginals) would be far off
    naive = np.array([p[i] * p[j] for i, j in pairs]) / sum(p[i] * p[j] for i, j in pairs)
    assert chi_square(counts, naive) > 3 * CHI2_LIMIT[11]
    # as many draws as nonzero weights: every one of them, once
    full = np_of(ts.multinomial(ts.Tensor([[0.0, 1.0, 5.0, 2.0]]), 3))
    assert sorted(full[0]) == [1, 2, 3]


def test_weights_near_the_largest_float_are_drawn_as_their_proportions():
    # finite weights whose sum (with replacement's cumulative sums) or whose w / E (without
    # replacement's races) overflows float64: the draws came out all the last id, or
    # favoured the first ones
    big = np.finfo(np.float64).max
    weights = np.array([big / 2, big, big / 2, 0.0])
    p = np.array([0.25, 0.5, 0.25, 0.0])  # (weights / Σ weights, which overflows)
    ts.manual_seed(3)
    ids = np_of(ts.multinomial(weights, 40_000, replacement=True))
    counts = np.bincount(ids, minlength=4)
    assert counts[3] == 0
    assert chi_square(counts[:3], p[:3]) < CHI2_LIMIT[4]
    firsts = np_of(ts.multinomial(np.tile(weights, (40_000, 1)), 1))[:, 0]
    counts = np.bincount(firsts, minlength=4)
    assert counts[3] == 0
    assert chi_square(counts[:3], p[:3]) < CHI2_LIMIT[4]


def test_the_draws_replay_with_the_generators_state_and_come_back_on_probs_backend(backend):
    probs = ts.Tensor([[0.2, 0.3, 0.5], [1.0, 1.0, 1.0]])
    state = ts.get_rng_state()
    first = [ts.multinomial(probs, 2).numpy(), ts.multinomial(probs, 5, True).numpy()]
    ts.set_rng_state(state)
    again = [ts.multinomial(probs, 2).numpy(), ts.multinomial(probs, 5, True).numpy()]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert ts.backend.backend_of(ts.multinomial(probs, 1).data) == backend
    # a list has no backend: its ids come on the active one, as ts.F.one_hot's do
    assert ts.backend.backend_of(ts.multinomial([0.5, 0.5]).data) == backend
    with ts.backend.using("numpy"):  # probs's backend, not the active one
        assert ts.backend.backend_of(ts.multinomial(probs, 1).data) == backend


def test_multinomial_refuses_what_is_not_a_distribution_clearly():
    with pytest.raises(ValueError, match=r"finite numbers >= 0, but row 1 holds -0.5 at 2"):
        ts.multinomial(np.array([[1.0, 1.0, 1.0], [1.0, 1.0, -0.5]]))
    with pytest.raises(ValueError, match=r"row 0 holds nan at 1"):
        ts.multinomial(ts.Tensor([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"row 0 holds inf"):
        ts.multinomial(ts.Tensor([np.inf, 1.0]))
    with pytest.raises(ValueError, match=r"row 1 of the weights is all zeros"):
        ts.multinomial(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"3 draws without replacement, but row 0 has only 2"):
        ts.multinomial(np.array([0.0, 1.0, 1.0]), 3)
    with pytest.raises(ValueError, match=r"2 draws without replacement, but row 1 has only 1 "):
        ts.multinomial(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]]), 2)  # (the row with fewest)
    with pytest.raises(ValueError, match=r"num_samples must be at least 1, got 0"):
        ts.multinomial(np.array([1.0, 1.0]), 0)
    with pytest.raises(ValueError, match=r"weights \(V,\) or rows of weights \(B, V\)"):
        ts.multinomial(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match=r"probs must be a Tensor or an array"):
        ts.multinomial("abc")


def test_sample_logits_draws_from_the_tempered_softmax_of_the_top_k(backend):
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    rows = ts.Tensor(np.tile(logits, (30_000, 1)))
    ts.manual_seed(2)
    ids = ts.F.sample_logits(rows, temperature=0.5)
    assert ids.shape == (30_000, 1) and ids.dtype == np.int64
    p = np.array([0.1, 0.2, 0.3, 0.4]) ** 2  # softmax(log p / 0.5) ∝ p²
    counts = np.bincount(np_of(ids)[:, 0], minlength=4)
    assert chi_square(counts, p / p.sum()) < CHI2_LIMIT[4]
    top = np_of(ts.F.sample_logits(rows, top_k=2))[:, 0]  # only ids 2 and 3, as 3 : 4
    counts = np.bincount(top, minlength=4)
    assert counts[:2].sum() == 0
    assert chi_square(counts[2:], np.array([3, 4]) / 7) < CHI2_LIMIT[4]
    state = ts.get_rng_state()  # top_k = V keeps every id: the same draws as without it
    every = np_of(ts.F.sample_logits(rows[:100], top_k=4))
    ts.set_rng_state(state)
    np.testing.assert_array_equal(every, np_of(ts.F.sample_logits(rows[:100])))
    one = ts.F.sample_logits(ts.Tensor(logits))  # one row: one id
    assert one.shape == (1,)
    # it records nothing, and leaves the logits as they were
    x = ts.Tensor(logits, requires_grad=True)
    assert not ts.F.sample_logits(x, 2.0, top_k=1).requires_grad
    assert ts.F.sample_logits(x, top_k=1).item() == 3


def test_sample_logits_refuses_bad_settings_clearly():
    logits = ts.Tensor([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got 0.0"):
        ts.F.sample_logits(logits, temperature=0)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 3\] .* got 4"):
        ts.F.sample_logits(logits, top_k=4)
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got inf"):
        ts.F.sample_logits(logits, temperature=float("inf"))  # (every id as likely)
    with pytest.raises(ValueError, match=r"logits must be float scores .* got shape \(3,\) of int"):
        ts.F.sample_logits(ts.Tensor([0, 1, 2]))  # (ids, not scores)
    with pytest.raises(ValueError, match=r"logits must be float scores \(V,\) or \(B, V\)"):
        ts.F.sample_logits(ts.Tensor(np.zeros((1, 2, 3))))
    with pytest.raises(TypeError, match=r"sample_logits: expected a Tensor"):
        ts.F.sample_logits(np.zeros(3))
