"""gradcheck refuses a function whose two calls at the same point differ (dropout on)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq.gradcheck import _check_deterministic


def _float64_layer(**kwargs):
    previous = ts.get_default_dtype()
    ts.set_default_dtype("float64")
    try:
        ts.manual_seed(0)
        return ts.nn.TransformerEncoderLayer(4, 2, 8, **kwargs)
    finally:
        ts.set_default_dtype(previous)


def test_dropout_in_training_mode_is_named_and_eval_mode_checks():
    layer = _float64_layer(dropout=0.1)
    x = ts.Tensor(np.random.default_rng(0).standard_normal((1, 3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"not deterministic.*model\.eval\(\)"):
        ts.gradcheck(lambda x: layer(x), x)
    assert x.grad is None  # and it left no trace
    layer.eval()
    assert ts.gradcheck(lambda x: layer(x), x)


def _drifting(step: float):
    """x·1 plus a drift that grows by `step` on every call: state fn changes."""
    calls = []

    def fn(x):
        calls.append(None)
        return x * 1.0 + step * len(calls)

    return fn


def test_a_drift_that_would_move_a_numeric_derivative_is_refused():
    x = ts.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"differ by up to 1e-09"):
        ts.gradcheck(_drifting(1e-9), x)


def test_differences_at_the_outputs_rounding_are_not_noise():
    x = ts.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    out = x * 1.0
    _check_deterministic(lambda x: x * (1.0 + 2e-16), (x,), out, 1e-6, 1e-5)  # no raise
    _check_deterministic(_drifting(1e-12), (x,), out, 1e-6, 1e-5)  # below 2·ε·atol = 2e-11


def test_the_same_inf_or_nan_twice_is_the_same_result():
    x = ts.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    values = np.array([np.inf, np.nan, -np.inf])
    out = ts.Tensor(values)
    _check_deterministic(lambda x: ts.Tensor(values.copy()), (x,), out, 1e-6, 1e-5)
    with pytest.raises(ValueError, match="differ by up to inf"):
        _check_deterministic(lambda x: ts.Tensor(np.zeros(3)), (x,), out, 1e-6, 1e-5)


def test_a_drift_just_past_what_atol_allows_is_refused():
    # 1e-10 moves a numeric derivative by 1e-10 / 2ε = 5e-5, past atol = 1e-5
    x = ts.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"differ by up to 1e-10"):
        _check_deterministic(_drifting(1e-10), (x,), x * 1.0, 1e-6, 1e-5)


def test_a_float32_outputs_rounding_is_not_noise():
    """Two float32 results one rounding (~6e-8 here) apart, as a reordered sum gives, are
    far above 2·ε·atol = 2e-11 but within the output dtype's rounding."""
    x = ts.Tensor(np.array([0.5, -1.0], dtype=np.float32), requires_grad=True)
    out = x * 1.0
    nudged = np.float32(1 + 2**-23)
    assert (out * nudged).numpy()[0] != out.numpy()[0]
    _check_deterministic(lambda x: x * nudged, (x,), out, 1e-6, 1e-5)  # no raise
