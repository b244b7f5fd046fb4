"""ts.functional (ts.F): softmax, log_softmax, cross_entropy, mse_loss,
binary_cross_entropy_with_logits (each loss's reduction= against PyTorch), layer_norm,
dropout, embedding, one_hot, masks (logsumexp is tested with the ops, in test_ops.py).
Gradients checked in float64; stability checked at logits of ±1e4 with NumPy's
floating-point warnings turned into errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of

F = ts.F


def np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Float64 reference: x − max − log Σ exp(x − max)."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def np_cross_entropy(logits, targets, ignore_index=None) -> float:
    """Float64 reference: mean over non-ignored rows of −log softmax(logits)[target]."""
    logits = logits.reshape(-1, logits.shape[-1]).astype(np.float64)
    targets = targets.reshape(-1)
    keep = np.ones(len(targets), bool) if ignore_index is None else targets != ignore_index
    if not keep.any():
        return 0.0
    logp = np_log_softmax(logits[keep])
    return float(-logp[np.arange(keep.sum()), targets[keep]].mean())


class strict_floats:
    """Context: any NumPy overflow, invalid value or division by zero is an error.

    Underflow stays allowed: exp(−2e4) rounding to exactly 0 is the right answer.
    """

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error")
        self._errstate = np.errstate(over="raise", invalid="raise", divide="raise")
        self._errstate.__enter__()

    def __exit__(self, *exc):
        self._errstate.__exit__(*exc)
        self._warnings.__exit__(*exc)


# ------------------------------------------------------------------ softmax family
def test_softmax_and_log_softmax(rng):
    x = f64(rng, 4, 5)
    np.testing.assert_allclose(F.softmax(x).numpy(), np.exp(np_log_softmax(x.numpy())))
    np.testing.assert_allclose(F.log_softmax(x).numpy(), np_log_softmax(x.numpy()), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x, axis=0).numpy().sum(axis=0), np.ones(5))
    assert ts.gradcheck(F.softmax, x)
    assert ts.gradcheck(F.log_softmax, x)
    assert ts.gradcheck(lambda t: F.softmax(t, axis=0), x)


def test_softmax_gradient_matches_jacobian(rng):
    x = f64(rng, 4)
    g = rng.standard_normal(4)
    F.softmax(x).backward(g)
    p = np.exp(np_log_softmax(x.numpy()))
    jacobian = np.diag(p) - np.outer(p, p)  # ∂p_i/∂x_j
    np.testing.assert_allclose(np_of(x.grad), jacobian.T @ g, rtol=1e-12)


def test_softmax_3d_last_axis(rng):
    x = f64(rng, 2, 3, 4)
    assert ts.gradcheck(F.softmax, x)
    assert ts.gradcheck(F.log_softmax, x)


def test_functional_rejects_non_tensors():
    with pytest.raises(TypeError, match="softmax"):
        F.softmax(np.zeros(3))


# ------------------------------------------------------------------ cross-entropy
def test_cross_entropy_2d(rng):
    logits = f64(rng, 5, 4)
    targets = rng.integers(0, 4, 5)
    loss = F.cross_entropy(logits, targets)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(np_cross_entropy(logits.numpy(), targets), rel=1e-12)
    assert ts.gradcheck(lambda t: F.cross_entropy(t, targets), logits)
    logits.grad = None
    F.cross_entropy(logits, targets).backward()
    onehot = np.eye(4)[targets]
    expected = (np.exp(np_log_softmax(logits.numpy())) - onehot) / 5
    np.testing.assert_allclose(np_of(logits.grad), expected, rtol=1e-12, atol=1e-15)


def test_cross_entropy_3d_and_target_tensor(rng):
    logits = f64(rng, 2, 3, 4)
    targets = ts.Tensor(rng.integers(0, 4, (2, 3)))
    loss = F.cross_entropy(logits, targets)
    expected = np_cross_entropy(logits.numpy(), targets.numpy())
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert ts.gradcheck(lambda t: F.cross_entropy(t, targets), logits)


def test_cross_entropy_of_one_class_or_no_positions_is_zero(rng):
    # V = 1: log_softmax of one score is 0 (only V = 0 is refused, for having no classes)
    for shape in ((3, 1), (2, 2, 1)):
        logits = f64(rng, *shape)
        loss = F.cross_entropy(logits, np.zeros(shape[:-1], np.int64))
        loss.backward()
        assert loss.item() == 0.0
        np.testing.assert_array_equal(np_of(logits.grad), np.zeros(shape))
    # no positions at all (an empty batch, or T = 0) but classes to score: nothing counts,
    # as when every position is ignored, so the loss is 0, not the no-classes error
    for shape in ((0, 5), (2, 0, 5)):
        logits = f64(rng, *shape)
        loss = F.cross_entropy(logits, np.zeros(shape[:-1], np.int64))
        loss.backward()
        assert loss.item() == 0.0 and np_of(logits.grad).shape == shape


def test_cross_entropy_ignore_index(rng):
    logits = f64(rng, 2, 4, 5)
    targets = rng.integers(1, 5, (2, 4))
    targets[0, 2:] = 0
    targets[1, 3] = 0
    loss = F.cross_entropy(logits, targets, ignore_index=0)
    expected = np_cross_entropy(logits.numpy(), targets, ignore_index=0)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert ts.gradcheck(lambda t: F.cross_entropy(t, targets, ignore_index=0), logits)
    logits.grad = None
    F.cross_entropy(logits, targets, ignore_index=0).backward()
    np.testing.assert_array_equal(np_of(logits.grad)[targets == 0], 0.0)


def test_cross_entropy_ignores_a_row_of_minus_inf_logits(rng):
    # a padding row masked with −inf and ignored: its NaN must not reach the loss or the
    # gradient (×0 would keep it: NaN × 0 is NaN)
    logits = f64(rng, 3, 4)
    masked = logits.numpy()
    masked[1] = -np.inf
    masked = ts.Tensor(masked, requires_grad=True)
    targets = np.array([2, -100, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning for the ignored row
        loss = F.cross_entropy(masked, targets, ignore_index=-100)
        loss.backward()
    kept = np.array([0, 2])
    expected = np_cross_entropy(logits.numpy()[kept], targets[kept])
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    grad = np_of(masked.grad)
    np.testing.assert_array_equal(grad[1], 0.0)
    assert np.isfinite(grad).all()


def test_cross_entropy_ignore_index_outside_vocab(rng):
    logits = f64(rng, 4, 3)
    targets = np.array([0, -100, 2, -100])
    loss = F.cross_entropy(logits, targets, ignore_index=-100)
    expected = np_cross_entropy(logits.numpy(), targets, ignore_index=-100)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert ts.gradcheck(lambda t: F.cross_entropy(t, targets, ignore_index=-100), logits)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_padding_ids_out_of_range_are_told_to_be_ignored(rng, loss):
    # PyTorch pads targets with -100, its default ignore_index; here the default is None,
    # so the error names the ignore_index to pass (and the engine's and PyTorch's defaults)
    fn = getattr(F, loss)
    for logits in (f64(rng, 4, 3), f64(rng, 2, 2, 3)):
        scores = logits if loss == "cross_entropy" else logits.log_softmax(axis=-1)
        padded = np.array([0, -100, 2, -100]).reshape(logits.shape[:-1])
        with pytest.raises(ValueError, match=r"pass ignore_index=-100 \(the default, None"):
            fn(scores, padded)
        expected = np_cross_entropy(logits.numpy().reshape(4, 3), padded.ravel(), -100)
        assert fn(scores, padded, ignore_index=-100).item() == pytest.approx(expected)
        high = np.array([0, 3, 2, 3]).reshape(logits.shape[:-1])  # id V as the padding
        with pytest.raises(ValueError, match=r"got ids from 0 to 3; if 3 marks padding, pass "):
            fn(scores, high)
        # an id out of range beside an ignore_index given is a plain mistake: no hint
        with pytest.raises(ValueError, match=r"got ids from -100 to 2( \(logits .*\))?$"):
            fn(scores, padded, ignore_index=-1)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_scores_in_pytorchs_sequence_layout_are_told_to_put_the_classes_last(rng, loss):
    # PyTorch's cross_entropy takes a sequence's logits as (B, V, T); this one as (B, T, V)
    fn = getattr(F, loss)
    scores, targets = f64(rng, 2, 5, 3), rng.integers(0, 5, size=(2, 3))  # (B, V, T)
    with pytest.raises(ValueError, match=r"PyTorch's layout .* x\.transpose\(0, 2, 1\)\)$"):
        fn(scores, targets)
    expected = np_cross_entropy(scores.numpy().transpose(0, 2, 1).reshape(6, 5), targets.ravel())
    if loss == "cross_entropy":
        assert fn(scores.transpose(0, 2, 1), targets).item() == pytest.approx(expected)
    with pytest.raises(ValueError) as caught:  # (B, T, V) beside targets of another shape
        fn(f64(rng, 2, 3, 5), targets[:, :2])
    assert "PyTorch's layout" not in str(caught.value)


def test_cross_entropy_all_ignored_is_zero_with_zero_gradient(rng):
    logits = f64(rng, 3, 4)
    loss = F.cross_entropy(logits, np.full(3, 7), ignore_index=7)
    assert loss.item() == 0.0
    loss.backward()
    np.testing.assert_array_equal(np_of(logits.grad), np.zeros((3, 4)))


# ------------------------------------------------------------------ stability
@pytest.fixture
def softmax_path(kernels):
    """The NumPy path's large-array tricks, and the compiled kernels (conftest's kernels)."""
    return kernels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("low_rows", ["none", "far", "tiny"])
def test_softmax_of_a_large_array_matches_the_per_row_reference(dtype, low_rows, rng, softmax_path):
    # Large arrays take one shift for the whole array (the per-row max is slow in NumPy);
    # a row far below the rest (fully masked at -1e9, or -300 under) must still come out
    # exact, through the per-row shift; and so must a tiny probability (~1e-33, float32's
    # range ends near 1e-45) in a row 30 under the rest, which one shift would flush to 0.
    x_np = (3 * rng.standard_normal((8, 4, 32, 64))).astype(dtype)  # 65,536 elements
    if low_rows == "far":
        x_np[0, 0, 0] = -1e9
        x_np[1, 2, 3] -= 300
    elif low_rows == "tiny":
        x_np[2, 1, 5] -= 30
        x_np[2, 1, 5, 0] -= 70
    e = np.exp(x_np.astype(np.float64) - x_np.max(axis=-1, keepdims=True))
    reference = e / e.sum(axis=-1, keepdims=True)
    with strict_floats():
        p = F.softmax(ts.Tensor(x_np))
    assert p.dtype == dtype
    # (float32 rounds exp's argument: ~80 · 6e-8 relative at the tiny probability)
    np.testing.assert_allclose(p.numpy(), reference, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape", [(8, 32, 64), (2, 8, 64)], ids=["large", "small"])
def test_softmax_backward_of_large_and_small_arrays_is_the_jacobian_product(
    shape, rng, softmax_path
):
    # Large arrays (≥ 16,384 elements) sum g ⊙ y in one contraction; small ones as a
    # product and a sum: both must give y ⊙ (g − Σ g ⊙ y), over the last axis and another.
    x_np = rng.standard_normal(shape)
    g_np = rng.standard_normal(shape)
    for axis in (-1, 1):
        x = ts.Tensor(x_np, requires_grad=True)
        F.softmax(x, axis=axis).backward(ts.Tensor(g_np))
        e = np.exp(x_np - x_np.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        expected = y * (g_np - (g_np * y).sum(axis=axis, keepdims=True))
        np.testing.assert_allclose(np_of(x.grad), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_exact_at_huge_logits(dtype):
    logits_np = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    targets = np.array([1, 2, 0])
    x = ts.Tensor(logits_np, requires_grad=True)
    reference = np_log_softmax(logits_np.astype(np.float64))
    with strict_floats():
        log_p = F.log_softmax(x)
        p = F.softmax(x)
        loss = F.cross_entropy(x, targets)
        loss.backward()
        log_p.sum().backward()
    assert log_p.dtype == p.dtype == loss.dtype == dtype
    for out in (log_p.numpy(), p.numpy(), loss.numpy(), np_of(x.grad)):
        assert np.isfinite(out).all()
    np.testing.assert_allclose(log_p.numpy(), reference, rtol=1e-6)
    np.testing.assert_allclose(p.numpy(), np.exp(reference), rtol=1e-6, atol=0)
    assert loss.item() == pytest.approx(np_cross_entropy(logits_np, targets), rel=1e-6)
    assert loss.item() == pytest.approx((2e4 + 0.0 + np.log(2)) / 3, rel=1e-6)


def test_sigmoid_saturates_exactly_without_warnings():
    x = ts.Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]), requires_grad=True)
    with strict_floats():
        s = x.sigmoid()
        s.sum().backward()
    out = s.numpy()
    assert out[0] == 0.0 and out[-1] == 1.0 and out[2] == 0.5
    assert np.isfinite(np_of(x.grad)).all()
    assert np_of(x.grad)[0] == 0.0 and np_of(x.grad)[-1] == 0.0
    x32 = ts.Tensor(np.array([-1000.0, 1000.0], dtype=np.float32))
    with strict_floats():
        s32 = x32.sigmoid().numpy()
    assert s32.dtype == np.float32 and s32[0] == 0.0 and s32[1] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_relative_precision_for_negative_inputs(dtype):
    # σ(−20) = 2.06e-9: a form that cancels (½(1 + tanh(x/2))) would give 0 in float32
    x_np = np.array([-80.0, -20.0, -5.0, 0.0, 5.0, 20.0], dtype=dtype)
    x = ts.Tensor(x_np, requires_grad=True)
    with np.errstate(all="raise"):  # even underflow: the op silences only its own
        s = x.sigmoid()
        s.sum().backward()
    reference = 1 / (1 + np.exp(-x_np.astype(np.float64)))
    np.testing.assert_allclose(s.numpy(), reference, rtol=1e-6)
    # σ' = σ(1 − σ) from the saved σ, as PyTorch does: exact on the negative side, while
    # for large positive x, 1 − σ rounds to 0 in float32 (absolute error < 1e-8)
    np.testing.assert_allclose(np_of(x.grad), reference * (1 - reference), rtol=1e-5, atol=1e-8)


def test_tanh_and_exp_log_stay_finite_at_large_inputs():
    x = ts.Tensor(np.array([-1e4, 1e4]), requires_grad=True)
    with strict_floats():
        y = x.tanh()
        y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [-1.0, 1.0])
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 0.0])


# ------------------------------------------------------------------ mse and binary cross-entropy
def np_bce_with_logits(x: np.ndarray, t: np.ndarray) -> float:
    """Float64 reference: mean of −[t log σ(x) + (1 − t) log(1 − σ(x))], written directly."""
    p = 1 / (1 + np.exp(-x))
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())


LOSSES = {
    "mse_loss": F.mse_loss,
    "l1_loss": F.l1_loss,
    "bce": F.binary_cross_entropy_with_logits,
}


def test_mse_loss_value_graph_and_gradients(rng):
    prediction, target = f64(rng, 4, 3), f64(rng, 4, 3)
    loss = F.mse_loss(prediction, target)
    assert loss.shape == () and loss.op == "mean"  # written with sub, mul and mean
    diff = prediction.numpy() - target.numpy()
    np.testing.assert_allclose(loss.item(), (diff**2).mean(), rtol=1e-12)
    assert ts.gradcheck(F.mse_loss, prediction, target)  # the target may require grad too
    array_target = rng.standard_normal((4, 3))  # an array target: a constant
    assert ts.gradcheck(lambda p: F.mse_loss(p, array_target), prediction)
    prediction.grad = None
    F.mse_loss(prediction, array_target).backward()
    np.testing.assert_allclose(
        np_of(prediction.grad), 2 * (prediction.numpy() - array_target) / 12, rtol=1e-12
    )


def test_binary_cross_entropy_with_logits_value_and_gradients(rng):
    logits = f64(rng, 5, 2)
    soft = ts.Tensor(rng.uniform(0, 1, (5, 2)), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(logits, soft)
    assert loss.shape == () and loss.op == "binary_cross_entropy_with_logits"
    np.testing.assert_allclose(loss.item(), np_bce_with_logits(logits.numpy(), soft.numpy()))
    assert ts.gradcheck(F.binary_cross_entropy_with_logits, logits, soft)
    labels = rng.random((5, 2)) > 0.5  # booleans: read as 0/1 in the logits' dtype
    assert ts.gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, labels), logits)
    logits.grad = None
    F.binary_cross_entropy_with_logits(logits, labels).backward()
    sigma = 1 / (1 + np.exp(-logits.numpy()))
    np.testing.assert_allclose(np_of(logits.grad), (sigma - labels) / 10, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_with_logits_is_exact_at_huge_logits(dtype):
    x = ts.Tensor(np.array([1e4, -1e4, 30.0, -30.0, 0.0], dtype), requires_grad=True)
    t = np.array([1, 0, 1, 0, 1])
    with strict_floats():
        loss = F.binary_cross_entropy_with_logits(x, t)
        loss.backward()
    assert loss.dtype == dtype and x.grad.dtype == dtype
    # log1p(e^−30) = 9.4e-14 survives (log(1 + e^−30) would round it to 0 in float32)
    expected = (2 * np.log1p(np.exp(-30.0)) + np.log(2.0)) / 5
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)
    tail = np.exp(-30.0) / (1 + np.exp(-30.0))  # σ(−30) = 1 − σ(30), without cancelling
    sigma_minus_t = np.array([0.0, 0.0, -tail, tail, -0.5])  # its last digits kept too
    np.testing.assert_allclose(np_of(x.grad), sigma_minus_t / 5, rtol=1e-6, atol=1e-30)
    wrong = ts.Tensor(np.array([1e4, -1e4], dtype))
    with strict_floats():
        assert F.binary_cross_entropy_with_logits(wrong, [0, 1]).item() == pytest.approx(1e4)


def test_float16_binary_cross_entropy_of_many_elements_stays_finite():
    x = ts.Tensor(np.full(100_000, 2.0, np.float16), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, np.zeros(100_000, int))  # Σ passes 65504
    assert loss.dtype == np.float16 and x.grad is None
    np.testing.assert_allclose(loss.item(), np.log1p(np.exp(2.0)), rtol=1e-3)
    loss.backward()
    assert x.grad.dtype == np.float16
    np.testing.assert_allclose(np_of(x.grad)[:3], 1 / (1 + np.exp(-2.0)) / 100_000, rtol=2e-2)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_refuse_a_broadcast_naming_both_shapes(name):
    what = "logits" if name == "bce" else "predictions"  # each loss names its own input
    with pytest.raises(
        ValueError, match=rf": {what} \(4, 1\) and target \(4,\) must have the same"
    ):
        LOSSES[name](ts.randn(4, 1), np.zeros(4))  # (4, 1) − (4,) would be (4, 4)
    with pytest.raises(ValueError, match=rf": {what} \(3,\) and target \(\) must"):
        LOSSES[name](ts.randn(3), 0.0)


def test_a_learners_usual_target_mistakes_get_what_to_do():
    logits = ts.randn(2, 3)
    one_hot = np.eye(3)[[0, 2]]
    with pytest.raises(TypeError, match=r"^cross_entropy: expected logits .* first .*swap them"):
        F.cross_entropy(np.array([0, 2]), logits)  # (targets, logits): swapped
    with pytest.raises(TypeError, match=r"^nll_loss: expected log_probs .* first"):
        F.nll_loss(np.array([0, 2]), logits.log_softmax())
    with pytest.raises(TypeError, match=r"^cross_entropy: .*got an integer Tensor and .*swap"):
        F.cross_entropy(ts.Tensor(np.array([0, 2])), logits)  # both Tensors, swapped
    with pytest.raises(TypeError, match=r"^cross_entropy: .*got list and a float Tensor: swap"):
        F.cross_entropy([0, 2], logits)
    with pytest.raises(TypeError, match=r"^cross_entropy: .*got int and a float Tensor: swap"):
        F.cross_entropy(2, ts.randn(3))  # one target, swapped with its logits
    with pytest.raises(TypeError, match=r"^cross_entropy: .*got ndarray and a float Tensor: swap"):
        F.cross_entropy(np.array([0, 2], np.uint8), logits)  # unsigned ids are ids too
    # both given as arrays: the logits are to be wrapped (the targets are no float Tensor)
    with pytest.raises(TypeError, match=r"^cross_entropy: expected a Tensor, got ndarray \(wrap"):
        F.cross_entropy(np.array([0, 2]), logits.numpy())
    # float logits given as an array, with one-hot float targets: not swapped, so no "swap
    # them"; the logits are to be wrapped in a Tensor
    with pytest.raises(TypeError, match=r"^cross_entropy: expected a Tensor, got ndarray \(wrap"):
        F.cross_entropy(logits.numpy(), ts.Tensor(one_hot))
    with pytest.raises(TypeError, match=r"^cross_entropy: targets must be integers.*argmax"):
        F.cross_entropy(logits, one_hot)  # float one-hot rows
    with pytest.raises(ValueError, match=r"\(2, 3\) \(one-hot rows\? .*argmax\(axis=-1\)\)$"):
        F.cross_entropy(logits, one_hot.astype(int))  # integer one-hot rows
    with pytest.raises(ValueError, match=r"one-hot rows\?"):
        F.nll_loss(logits.log_softmax(), one_hot.astype(int))
    with pytest.raises(ValueError, match=r"\(3,\)$"):  # not one-hot: no hint
        F.cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"targets \(3,\)$"):  # 1-D logits: argmax gives ()
        F.cross_entropy(ts.randn(3), np.array([0, 1, 0]))
    with pytest.raises(
        TypeError, match=r"^embedding: ids must be integers.*\(convert them: ids\.astype"
    ):
        F.embedding(np.array([0.0, 1.0]), ts.randn(4, 2))
    expected = F.cross_entropy(logits, np.array([0, 2])).item()  # what the hints lead to
    assert F.cross_entropy(logits, one_hot.argmax(axis=-1)).item() == expected


def test_a_number_or_an_array_given_for_a_tensor_is_told_to_wrap_it():
    class DeviceArray:  # (what CuPy's arrays have)
        __cuda_array_interface__ = {"shape": (2,), "typestr": "<f4", "version": 3}

    wrap = r" \(wrap it in a Tensor first: ts\.Tensor\(x\)\)$"
    given = [
        (np.float32(1.0), "float32"),
        (np.int64(1), "int64"),
        (2, "int"),
        ([1.0], "list"),
        (np.ones(2), "ndarray"),
        (DeviceArray(), "DeviceArray"),
    ]
    for value, kind in given:
        with pytest.raises(TypeError, match=rf"^tanh: expected a Tensor, got {kind}{wrap}"):
            F.tanh(value)
    with pytest.raises(TypeError, match=r"^tanh: expected a Tensor, got dict$"):  # no hint
        F.tanh({"x": 1.0})


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_check_their_operands(name):
    loss = LOSSES[name]
    op = {"bce": "binary_cross_entropy_with_logits"}.get(name, name)
    with pytest.raises(TypeError, match=rf"^{op}: expected a Tensor, got ndarray"):
        loss(np.zeros(3), np.zeros(3))
    what = "logits" if name == "bce" else "predictions"  # (an MSE takes no logits)
    with pytest.raises(TypeError, match=rf"^{op}: expected a float tensor of {what}, got .*int64"):
        loss(ts.Tensor(np.arange(3)), np.zeros(3))
    with pytest.raises(TypeError, match=rf"^{op}: target must be numbers"):
        loss(ts.randn(2), ["a", "b"])
    with pytest.raises(ValueError, match=rf"^{op}: .*no elements"):
        loss(ts.randn(0, 3), np.zeros((0, 3)))
    x32 = ts.randn(3)
    assert loss(x32, [0, 1, 1]).dtype == np.float32  # integer targets take its dtype
    assert loss(x32, ts.Tensor(np.array([0.0, 1.0, 1.0], np.float32))).dtype == np.float32


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_a_nan_makes_the_loss_nan(name):
    x = ts.Tensor([0.5, np.nan], requires_grad=True)
    loss = LOSSES[name](x, [1.0, 0.0])
    assert np.isnan(loss.item())
    loss.backward()
    assert np.isnan(np_of(x.grad)[1]) and not np.isnan(np_of(x.grad)[0])
    assert np.isnan(LOSSES[name](ts.Tensor([0.5, 0.5]), [1.0, np.nan]).item())


@pytest.mark.parametrize("targets", [[0.0, 2.0], [-0.5, 1.0]])
def test_binary_cross_entropy_refuses_targets_outside_0_1(targets):
    with pytest.raises(ValueError, match=r"targets must be probabilities in \[0, 1\].*from"):
        F.binary_cross_entropy_with_logits(ts.randn(2), targets)


# ------------------------------------------------------------------ reduction=
REDUCTIONS = ["mean", "sum", "none"]


def _torch_loss(name, x, target, reduction, ignore_index=None):
    """PyTorch's loss `name` of float64 arrays: (value, gradient with respect to x, with
    respect to a float target or None) for a weighted sum of a "none" loss."""
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    soft = target.dtype.kind == "f"
    tt = torch.tensor(target, requires_grad=soft)
    if name == "cross_entropy":
        flat = tx.reshape(-1, x.shape[-1])  # (PyTorch wants the classes on axis 1)
        kw = {} if ignore_index is None else {"ignore_index": ignore_index}
        out = torch.nn.functional.cross_entropy(flat, tt.reshape(-1), reduction=reduction, **kw)
        out = out.reshape(target.shape) if reduction == "none" else out
    elif name == "nll_loss":
        flat = tx.reshape(-1, x.shape[-1])
        kw = {} if ignore_index is None else {"ignore_index": ignore_index}
        out = torch.nn.functional.nll_loss(flat, tt.reshape(-1), reduction=reduction, **kw)
        out = out.reshape(target.shape) if reduction == "none" else out
    elif name in ("mse_loss", "l1_loss"):
        out = getattr(torch.nn.functional, name)(tx, tt, reduction=reduction)
    else:
        out = torch.nn.functional.binary_cross_entropy_with_logits(tx, tt, reduction=reduction)
    weights = torch.tensor(np.linspace(-1.0, 2.0, out.numel()).reshape(out.shape))
    (out * weights).sum().backward()
    return out.detach().numpy(), tx.grad.numpy(), tt.grad.numpy() if soft else None


@pytest.mark.numpy_only  # (the reference runs on the host)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "name, shape, ignore_index",
    [
        ("cross_entropy", (6, 5), None),
        ("cross_entropy", (6, 5), 2),  # an ignore_index inside the vocabulary
        ("cross_entropy", (2, 4, 5), -100),  # (B, T, V), padding outside it
        ("nll_loss", (6, 5), None),
        ("nll_loss", (6, 5), 2),
        ("nll_loss", (2, 4, 5), -100),
        ("mse_loss", (3, 4), None),
        ("l1_loss", (3, 4), None),
        ("binary_cross_entropy_with_logits", (3, 4), None),
    ],
)
def test_loss_reductions_match_pytorch_values_and_gradients(name, shape, ignore_index, reduction):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape) * 3
    if name in ("cross_entropy", "nll_loss"):
        target = rng.integers(0, shape[-1], shape[:-1])
        if ignore_index is not None:
            target.reshape(-1)[[1, 4]] = ignore_index
    else:
        target = rng.uniform(0, 1, shape)
    expected, expected_dx, expected_dt = _torch_loss(name, x, target, reduction, ignore_index)
    logits = ts.Tensor(x, requires_grad=True)
    classes = name in ("cross_entropy", "nll_loss")  # (nll_loss takes any float scores)
    t = target if classes else ts.Tensor(target, requires_grad=True)
    kw = {} if ignore_index is None else {"ignore_index": ignore_index}
    loss = getattr(F, name)(logits, t, reduction=reduction, **kw)
    assert loss.shape == expected.shape
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12, atol=1e-15)
    if reduction == "none" and ignore_index is not None:  # ignored positions: 0, as PyTorch's
        assert (loss.numpy()[target == ignore_index] == 0.0).all()
    weights = np.linspace(-1.0, 2.0, loss.size).reshape(loss.shape)
    (loss * weights).sum().backward()
    np.testing.assert_allclose(logits.grad, expected_dx, rtol=1e-10, atol=1e-15)
    if expected_dt is not None:
        np.testing.assert_allclose(t.grad, expected_dt, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_reductions_gradcheck(reduction, rng):
    logits, targets = f64(rng, 2, 3, 4), rng.integers(0, 4, (2, 3))
    targets[0, 1] = targets[1, 2] = -1
    for ignore_index in (None, -1):
        loss = F.cross_entropy(logits, targets, ignore_index=-1, reduction=reduction)
        assert loss.shape == ((2, 3) if reduction == "none" else ())
        assert ts.gradcheck(
            lambda x, i=ignore_index: F.cross_entropy(
                x, np.abs(targets), ignore_index=i, reduction=reduction
            ),
            logits,
        )
        assert ts.gradcheck(
            lambda x: F.cross_entropy(x, targets, ignore_index=-1, reduction=reduction), logits
        )
    x, soft = f64(rng, 3, 2), ts.Tensor(rng.uniform(0, 1, (3, 2)), requires_grad=True)
    target = f64(rng, 3, 2)
    assert ts.gradcheck(lambda x, t: F.mse_loss(x, t, reduction=reduction), x, target)
    assert ts.gradcheck(lambda x, t: F.l1_loss(x, t, reduction=reduction), x, target)
    for ignore_index in (None, -1):
        ids = targets if ignore_index is not None else np.abs(targets)
        assert ts.gradcheck(
            lambda x, i=ignore_index, ids=ids: F.nll_loss(
                x.log_softmax(), ids, ignore_index=i, reduction=reduction
            ),
            logits,
        )
    assert ts.gradcheck(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction), x, soft
    )


def test_a_sum_is_the_mean_times_the_count_and_none_sums_to_it(rng):
    logits, targets = f64(rng, 7, 3), rng.integers(0, 3, 7)
    targets[[0, 5]] = 9  # two ignored: the mean and the sum count the other five
    each = F.cross_entropy(logits, targets, ignore_index=9, reduction="none")
    total = F.cross_entropy(logits, targets, ignore_index=9, reduction="sum")
    mean = F.cross_entropy(logits, targets, ignore_index=9)
    assert each.numpy()[[0, 5]].tolist() == [0.0, 0.0]
    assert total.item() == pytest.approx(each.numpy().sum(), rel=1e-14)
    assert total.item() == pytest.approx(5 * mean.item(), rel=1e-14)
    # every position ignored: the sum is 0 and so is every loss, with zero gradients
    for reduction in ("sum", "none"):
        loss = F.cross_entropy(logits, np.full(7, 9), ignore_index=9, reduction=reduction)
        loss.sum().backward()
        assert not loss.numpy().any() and not np_of(logits.grad).any()


def test_an_ignored_position_gets_no_gradient_even_from_an_infinite_weight(rng):
    logits, targets = f64(rng, 3, 4), np.array([1, 0, 2])
    each = F.cross_entropy(logits, targets, ignore_index=0, reduction="none")
    each.backward(np.array([1.0, np.inf, 1.0]))  # (0 × inf would be NaN)
    grad = np_of(logits.grad)
    assert (grad[1] == 0.0).all() and np.isfinite(grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_no_elements_sum_to_zero_and_none_gives_them_back(name):
    x = ts.Tensor(np.zeros((0, 3)), requires_grad=True)
    total = LOSSES[name](x, np.zeros((0, 3)), reduction="sum")
    assert total.shape == () and total.item() == 0.0
    each = LOSSES[name](x, np.zeros((0, 3)), reduction="none")
    assert each.shape == (0, 3)
    total.backward()
    assert np_of(x.grad).shape == (0, 3)


def test_float16_reductions_keep_their_dtype():
    x = ts.Tensor(np.full((4, 3), 0.5, np.float16), requires_grad=True)
    for reduction in REDUCTIONS:
        bce = F.binary_cross_entropy_with_logits(x, np.ones((4, 3), int), reduction=reduction)
        ce = F.cross_entropy(x, [0, 1, 2, 0], reduction=reduction)
        assert bce.dtype == ce.dtype == np.float16
        (bce.sum() + ce.sum()).backward()
        assert x.grad.dtype == np.float16


@pytest.mark.parametrize("name", ["cross_entropy", *sorted(LOSSES)])
def test_a_bad_reduction_is_refused_naming_the_loss(name):
    loss = getattr(F, name, None) or LOSSES[name]
    op = {"bce": "binary_cross_entropy_with_logits"}.get(name, name)
    args = (ts.randn(2, 3), [0, 1] if name == "cross_entropy" else np.zeros((2, 3)))
    with pytest.raises(ValueError, match=rf'^{op}: reduction must be "mean", "sum" or "none"'):
        loss(*args, reduction="avg")
    with pytest.raises(TypeError, match=rf"^{op}: reduction must be .*got None"):
        loss(*args, reduction=None)


def test_nll_loss_of_log_softmax_is_cross_entropy(rng):
    logits, targets = f64(rng, 2, 5, 4), rng.integers(0, 4, (2, 5))
    targets[1, 3] = -100
    for reduction in REDUCTIONS:
        nll = F.nll_loss(logits.log_softmax(), targets, ignore_index=-100, reduction=reduction)
        ce = F.cross_entropy(logits, targets, ignore_index=-100, reduction=reduction)
        np.testing.assert_allclose(nll.numpy(), ce.numpy(), rtol=1e-13, atol=1e-15)
    # every position ignored: 0 with a zero gradient, as cross_entropy (not PyTorch's NaN)
    scores = ts.Tensor(np.full((3, 4), -np.inf), requires_grad=True)
    loss = F.nll_loss(scores, np.full(3, 7), ignore_index=7)
    loss.backward()
    assert loss.item() == 0.0 and not np_of(scores.grad).any()
    assert F.nll_loss(ts.zeros(0, 4), np.zeros(0, int), reduction="sum").item() == 0.0


def test_nll_loss_checks_its_operands():
    with pytest.raises(TypeError, match=r"^nll_loss: expected a Tensor, got ndarray"):
        F.nll_loss(np.zeros((2, 3)), [0, 1])
    with pytest.raises(TypeError, match=r"^nll_loss: expected a float tensor .*int64"):
        F.nll_loss(ts.Tensor(np.zeros((2, 3), int)), [0, 1])
    with pytest.raises(TypeError, match=r"^nll_loss: targets must be integers.*astype"):
        F.nll_loss(ts.randn(2, 3), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"^nll_loss: expected log_probs \(N, V\) .*\(2, 3\)"):
        F.nll_loss(ts.randn(2, 3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"^nll_loss: target ids must lie in \[0, 3\)"):
        F.nll_loss(ts.randn(2, 3), [0, 3])
    with pytest.raises(TypeError, match=r"^nll_loss: ignore_index must be an integer"):
        F.nll_loss(ts.randn(2, 3), [0, 1], ignore_index=1.5)


def test_l1_loss_value_graph_and_gradient_at_ties(rng):
    prediction, target = f64(rng, 4, 3), f64(rng, 4, 3)
    loss = F.l1_loss(prediction, target)
    assert loss.shape == () and loss.op == "mean"  # written with sub, abs and mean
    assert loss.item() == pytest.approx(np.abs(prediction.numpy() - target.numpy()).mean())
    tie = ts.Tensor([1.0, 2.0], requires_grad=True)
    F.l1_loss(tie, [1.0, 0.0]).backward()
    assert np_of(tie.grad).tolist() == [0.0, 0.5]  # a zero difference has slope 0


# ------------------------------------------------------------------ label smoothing
@pytest.mark.numpy_only  # (the reference runs on the host)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [None, 2, -100])
@pytest.mark.parametrize("shape", [(6, 5), (2, 4, 5)])
@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0])
def test_label_smoothing_matches_pytorch_values_and_gradients(eps, shape, ignore_index, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape) * 3
    target = rng.integers(0, shape[-1], shape[:-1])
    if ignore_index is not None:
        target.reshape(-1)[[1, 4]] = ignore_index
    tx = torch.tensor(x, requires_grad=True)
    kw = {} if ignore_index is None else {"ignore_index": ignore_index}
    expected = torch.nn.functional.cross_entropy(
        tx.reshape(-1, shape[-1]),
        torch.tensor(target.reshape(-1)),
        reduction=reduction,
        label_smoothing=eps,
        **kw,
    )
    expected = expected.reshape(target.shape) if reduction == "none" else expected
    weights = np.linspace(-1.0, 2.0, expected.numel()).reshape(expected.shape)
    (expected * torch.tensor(weights)).sum().backward()
    logits = ts.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(logits, target, reduction=reduction, label_smoothing=eps, **kw)
    assert loss.shape == tuple(expected.shape)
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    (loss * weights).sum().backward()
    np.testing.assert_allclose(logits.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_label_smoothing_gradcheck(reduction, rng):
    logits, targets = f64(rng, 2, 3, 4), rng.integers(0, 4, (2, 3))
    targets[0, 1] = -1
    for eps, ignore_index in ((0.1, None), (0.3, -1), (1.0, -1)):
        assert ts.gradcheck(
            lambda x, e=eps, i=ignore_index: F.cross_entropy(
                x,
                targets if i is not None else np.abs(targets),
                ignore_index=i,
                reduction=reduction,
                label_smoothing=e,
            ),
            logits,
        )


def test_label_smoothing_of_0_is_the_plain_loss_and_others_are_refused(rng):
    logits, targets = f64(rng, 5, 3), rng.integers(0, 3, 5)
    plain = F.cross_entropy(logits, targets).item()
    assert F.cross_entropy(logits, targets, label_smoothing=0).item() == plain
    assert F.cross_entropy(logits, targets, label_smoothing=np.float32(0.0)).item() == plain
    # ε = 1 spreads each target evenly: the loss is the mean over classes of −log p
    uniform = -np_log_softmax(logits.numpy()).mean()
    assert F.cross_entropy(logits, targets, label_smoothing=1.0).item() == pytest.approx(
        uniform, rel=1e-14
    )
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"^cross_entropy: label_smoothing must be in \["):
            F.cross_entropy(logits, targets, label_smoothing=bad)
    for bad in (True, "0.1", None):
        with pytest.raises(TypeError, match=r"^cross_entropy: label_smoothing must be a real"):
            F.cross_entropy(logits, targets, label_smoothing=bad)


def test_float16_label_smoothing_keeps_its_dtype():
    x = ts.Tensor(np.full((4, 3), 0.5, np.float16), requires_grad=True)
    loss = F.cross_entropy(x, [0, 1, 2, 0], label_smoothing=0.2)
    assert loss.dtype == np.float16 and loss.item() == pytest.approx(np.log(3), rel=1e-3)
    loss.backward()
    smoothed = 0.8 * np.eye(3)[[0, 1, 2, 0]] + 0.2 / 3  # (softmax − smoothed) / 4
    assert x.grad.dtype == np.float16
    np.testing.assert_allclose(np_of(x.grad), (1 / 3 - smoothed) / 4, rtol=1e-3)


# ------------------------------------------------------------------ class weights
def _torch_weighted_loss(torch, name, x, target, weight, ignore_index, reduction, eps):
    """torch.nn.functional's cross_entropy (or nll_loss of log_softmax) of NumPy inputs:
    (loss, logits tensor) with the classes on axis 1 as PyTorch wants them."""
    tx = torch.tensor(x, requires_grad=True)
    scores = tx.permute(0, 2, 1) if x.ndim == 3 else tx
    kw = {"weight": torch.tensor(weight), "reduction": reduction}
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
    t = torch.tensor(target)
    if name == "cross_entropy":
        return torch.nn.functional.cross_entropy(scores, t, label_smoothing=eps, **kw), tx
    return torch.nn.functional.nll_loss(torch.log_softmax(scores, 1), t, **kw), tx


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [None, 2])
@pytest.mark.parametrize("eps", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("shape", [(7, 5), (2, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_class_weights_match_pytorch_values_and_gradients(
    dtype, shape, eps, ignore_index, reduction
):
    """PyTorch's meaning of weight= for every reduction, with ignore_index and
    label_smoothing: (1 − ε) w_t (−log p_t) + (ε/V) Σ_j w_j (−log p_j) at each position,
    the mean over Σ w_t of the counted positions. nll_loss (no smoothing) likewise."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(21)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    target = rng.integers(0, shape[-1], shape[:-1])
    if ignore_index is not None:
        target.reshape(-1)[[0, 3]] = ignore_index
    weight = rng.uniform(0.1, 3.0, shape[-1]).astype(dtype)
    weight[1] = 0.0  # (a class that counts for nothing)
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == np.float64 else {"rtol": 2e-5, "atol": 2e-6}
    as_given = [weight, ts.Tensor(weight), weight.tolist()]
    for name, given in (("cross_entropy", as_given[len(shape) - 2]), ("nll_loss", weight)):
        if name == "nll_loss" and eps:
            continue
        expected, tx = _torch_weighted_loss(
            torch, name, x, target, weight, ignore_index, reduction, eps
        )
        seeds = np.linspace(-1.0, 2.0, expected.numel()).reshape(tuple(expected.shape))
        (expected * torch.tensor(seeds)).sum().backward()
        logits = ts.Tensor(x, requires_grad=True)
        kw = {"ignore_index": ignore_index, "reduction": reduction, "weight": given}
        if name == "cross_entropy":
            loss = F.cross_entropy(logits, target, label_smoothing=eps, **kw)
        else:
            loss = F.nll_loss(logits.log_softmax(), target, **kw)
        assert loss.shape == tuple(expected.shape) and loss.dtype == dtype
        np.testing.assert_allclose(np_of(loss), expected.detach().numpy(), **tol)
        (loss * seeds.astype(dtype)).sum().backward()
        assert logits.grad.dtype == dtype
        np.testing.assert_allclose(np_of(logits.grad), tx.grad.numpy(), **tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_weights_gradcheck(reduction, rng):
    logits, targets = f64(rng, 2, 3, 4), rng.integers(0, 4, (2, 3))
    targets[0, 1] = -1
    weight = np.array([0.5, 2.0, 0.0, 1.5])
    for eps, ignore_index in ((0.0, None), (0.0, -1), (0.3, -1), (1.0, None)):
        t = targets if ignore_index is not None else np.abs(targets)
        assert ts.gradcheck(
            lambda x, e=eps, i=ignore_index, t=t: F.cross_entropy(
                x, t, ignore_index=i, reduction=reduction, label_smoothing=e, weight=weight
            ),
            logits,
        )
    assert ts.gradcheck(
        lambda x: F.nll_loss(
            x.log_softmax(), targets, ignore_index=-1, reduction=reduction, weight=weight
        ),
        logits,
    )


def test_class_weights_of_ones_are_the_plain_loss_and_a_scale_leaves_the_mean(rng):
    logits, targets = f64(rng, 6, 3), rng.integers(0, 3, 6)
    for eps in (0.0, 0.4):
        plain = F.cross_entropy(logits, targets, label_smoothing=eps).item()
        ones = F.cross_entropy(logits, targets, label_smoothing=eps, weight=np.ones(3))
        assert ones.item() == pytest.approx(plain, rel=1e-14)
        w = np.array([0.2, 1.0, 3.0])
        once = F.cross_entropy(logits, targets, label_smoothing=eps, weight=w).item()
        scaled = F.cross_entropy(logits, targets, label_smoothing=eps, weight=7 * w).item()
        summed = F.cross_entropy(logits, targets, label_smoothing=eps, weight=w, reduction="sum")
        assert scaled == pytest.approx(once, rel=1e-14) and once != pytest.approx(plain)
        assert summed.item() == pytest.approx(once * w[targets].sum(), rel=1e-14)


def test_class_weights_of_no_counted_position_give_zero_with_zero_gradient(rng):
    """Every position ignored, or weighted 0: the mean is 0 (PyTorch's is NaN), as for
    cross_entropy without weights; the gradient 0 too, even for a row of −inf logits."""
    scores = rng.standard_normal((3, 4))
    scores[1] = -np.inf
    for name in ("cross_entropy", "nll_loss"):
        for targets, ignore_index in (([7, 7, 7], 7), ([2, 7, 2], 7)):
            logits = ts.Tensor(scores, requires_grad=True)  # (nll_loss: as log-probabilities)
            weight = [1.0, 1.0, 0.0, 1.0]
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                loss = getattr(F, name)(logits, targets, ignore_index=ignore_index, weight=weight)
                loss.backward()
            assert loss.item() == 0.0
            np.testing.assert_array_equal(np_of(logits.grad), np.zeros((3, 4)))


def test_float16_class_weights_keep_the_logits_dtype():
    x = ts.Tensor(np.full((4, 3), 0.5, np.float16), requires_grad=True)
    weight = np.array([1.0, 2.0, 3.0])  # (float64: read in the logits' dtype)
    loss = F.cross_entropy(x, [0, 1, 2, 0], weight=weight, label_smoothing=0.2)
    # each row log 3 · ((1 − ε) w_t + (ε/V) Σ w), over Σ w_t = 7: PyTorch's combination
    expected = np.log(3) * (0.8 * 7 + 4 * (0.2 / 3) * 6) / 7
    assert loss.dtype == np.float16 and loss.item() == pytest.approx(expected, rel=1e-3)
    loss.backward()
    assert x.grad.dtype == np.float16 and np.isfinite(np_of(x.grad)).all()


def test_bad_class_weights_are_clear_errors():
    logits = ts.randn(4, 3)
    for op, x in (("cross_entropy", logits), ("nll_loss", logits.log_softmax())):
        loss = getattr(F, op)
        with pytest.raises(ValueError, match=rf"^{op}: weight must have one entry per class, "):
            loss(x, [0, 1, 2, 0], weight=[1.0, 2.0])
        with pytest.raises(ValueError, match=r"shape \(3,\) for scores \(4, 3\), got shape \(\)"):
            loss(x, [0, 1, 2, 0], weight=2.0)
        for bad in ([1.0, -0.5, 1.0], [1.0, np.nan, 1.0], [np.inf, 1.0, 1.0]):
            with pytest.raises(ValueError, match=rf"^{op}: weight must hold finite numbers >= 0"):
                loss(x, [0, 1, 2, 0], weight=bad)
        for bad in (["a", "b", "c"], [True, False, True], [[1.0], [2.0, 3.0]]):
            with pytest.raises(TypeError, match=rf"^{op}: weight must be numbers, one per class"):
                loss(x, [0, 1, 2, 0], weight=bad)
        with pytest.raises(TypeError, match=rf"^{op}: weight gets no gradient; pass a constant"):
            loss(x, [0, 1, 2, 0], weight=ts.ones(3, requires_grad=True))


# ------------------------------------------------------------------ layer norm
def test_layer_norm(rng):
    x, gain, bias = f64(rng, 2, 3, 5), f64(rng, 5), f64(rng, 5)
    out = F.layer_norm(x, gain, bias, eps=1e-5)
    xv = x.numpy()
    mu, var = xv.mean(-1, keepdims=True), xv.var(-1, keepdims=True)
    expected = gain.numpy() * (xv - mu) / np.sqrt(var + 1e-5) + bias.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)
    assert out.parents == (x, gain, bias)
    assert ts.gradcheck(lambda a, b, c: F.layer_norm(a, b, c), x, gain, bias)


def test_layer_norm_normalises_each_row(rng):
    x = ts.Tensor(rng.standard_normal((4, 8)) * 10 + 3)
    out = F.layer_norm(x, ts.Tensor(np.ones(8)), ts.Tensor(np.zeros(8)), eps=0.0)
    np.testing.assert_allclose(out.numpy().mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.numpy().std(-1), 1.0, rtol=1e-12)


def test_layer_norm_with_constant_gain_and_bias(rng):
    x = f64(rng, 3, 4)
    gain, bias = ts.Tensor(rng.standard_normal(4)), ts.Tensor(rng.standard_normal(4))
    assert ts.gradcheck(lambda t: F.layer_norm(t, gain, bias), x)
    assert gain.grad is None and bias.grad is None


@pytest.mark.parametrize("wants", ["x", "gain", "bias", "x,bias", "gain,bias", "x,gain,bias"])
def test_layer_norm_gradients_match_pytorch_for_the_inputs_that_want_one(kernels, rng, wants):
    """Each input's gradient against PyTorch's layer_norm in float64, and gradient-checked,
    for every mix of inputs that ask for one (the others get none), on the NumPy path and
    the compiled one; x also as a Fortran-ordered view, which the kernel leaves to NumPy."""
    torch = pytest.importorskip("torch")
    data, gain, bias = (
        rng.standard_normal((6, 7)) * 2 + 1,
        rng.standard_normal(7),
        rng.standard_normal(7),
    )
    g = rng.standard_normal((6, 7))
    for x_data in (data, np.asfortranarray(data)):
        ours = {
            "x": ts.Tensor(x_data, requires_grad="x" in wants),
            "gain": ts.Tensor(gain, requires_grad="gain" in wants),
            "bias": ts.Tensor(bias, requires_grad="bias" in wants),
        }
        theirs = {
            name: torch.tensor(a, requires_grad=name in wants)
            for name, a in (("x", data), ("gain", gain), ("bias", bias))
        }
        out = F.layer_norm(ours["x"], ours["gain"], ours["bias"], eps=1e-5)
        expected = torch.nn.functional.layer_norm(
            theirs["x"], (7,), theirs["gain"], theirs["bias"], eps=1e-5
        )
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-13)
        out.backward(g)
        expected.backward(torch.tensor(g))
        for name in ("x", "gain", "bias"):
            if name in wants:
                want = theirs[name].grad.numpy()
                np.testing.assert_allclose(np_of(ours[name].grad), want, rtol=1e-11, atol=1e-12)
            else:
                assert ours[name].grad is None, name
    variables = [ours[name] for name in ("x", "gain", "bias") if name in wants]

    def fn(*tensors):
        given = dict(zip([n for n in ("x", "gain", "bias") if n in wants], tensors, strict=True))
        return F.layer_norm(*(given.get(n, ours[n]) for n in ("x", "gain", "bias")))

    assert ts.gradcheck(fn, *variables)


def test_layer_norm_rejects_wrong_gain_shape(rng):
    x = f64(rng, 3, 4)
    with pytest.raises(ValueError, match=r"layer_norm.*\(4,\).*\(3, 4\).*\(5,\)"):
        F.layer_norm(x, ts.Tensor(np.ones(5)), ts.Tensor(np.zeros(4)))


# ------------------------------------------------------------------ dropout
def test_dropout_mask_scaling(rng):
    x = ts.Tensor(np.ones((200, 50)), requires_grad=True)
    ts.manual_seed(3)
    out = F.dropout(x, p=0.25, training=True)
    values = out.numpy()
    kept = values != 0
    np.testing.assert_allclose(values[kept], 1 / 0.75)  # survivors scaled by 1/(1−p)
    assert abs(kept.mean() - 0.75) < 0.02
    out.sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), values)  # same mask and scale backward


def test_dropout_gradcheck_with_a_fixed_mask(rng):
    x = f64(rng, 4, 5)

    def fn(t):
        ts.manual_seed(11)  # the same mask on every evaluation
        return F.dropout(t, p=0.4, training=True)

    assert ts.gradcheck(fn, x)


def test_dropout_is_identity_in_eval_mode_and_at_p0(rng):
    x = f64(rng, 3, 4)
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0, training=True) is x


def test_dropout_keeps_dtype(rng):
    x = ts.Tensor(np.ones(10, dtype=np.float32))
    assert F.dropout(x, 0.5, training=True).dtype == np.float32


def test_dropout_rejects_bad_p(rng):
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(f64(rng, 3), p=1.0)
    for p in ("0.5", None, True):
        with pytest.raises(TypeError, match=r"dropout: p must be a real number in \[0, 1\)"):
            F.dropout(f64(rng, 3), p=p)
    assert F.dropout(f64(rng, 3), p=np.float32(0.5)).shape == (3,)  # NumPy scalars are fine


def test_dropout_wants_a_tensor_like_the_other_functions():
    for x in ([1.0, 2.0], np.ones(3)):
        with pytest.raises(TypeError, match="dropout: expected a Tensor"):
            F.dropout(x, 0.5)


# ------------------------------------------------------------------ embedding
def test_embedding_lookup_and_repeated_ids_accumulate(rng):
    table = f64(rng, 5, 3)
    ids = np.array([[1, 4, 1], [1, 0, 2]])
    out = F.embedding(ids, table)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), table.numpy()[ids])
    g = rng.standard_normal((2, 3, 3))
    out.backward(g)
    expected = np.zeros((5, 3))
    np.add.at(expected, ids, g)
    np.testing.assert_allclose(np_of(table.grad), expected, rtol=1e-12)
    np.testing.assert_allclose(np_of(table.grad)[1], g[0, 0] + g[0, 2] + g[1, 0], rtol=1e-12)
    np.testing.assert_array_equal(np_of(table.grad)[3], 0.0)
    assert ts.gradcheck(lambda t: F.embedding(ids, t), table)


def test_embedding_with_an_integer_tensor_and_a_list(rng):
    table = f64(rng, 4, 2)
    ids = ts.Tensor([3, 3, 0])
    assert ids.dtype.kind == "i"
    np.testing.assert_array_equal(F.embedding(ids, table).numpy(), table.numpy()[[3, 3, 0]])
    np.testing.assert_array_equal(F.embedding([2], table).numpy(), table.numpy()[[2]])


def test_embedding_of_no_ids_is_empty(rng):
    table = f64(rng, 4, 2)
    out = F.embedding([], table)
    assert out.shape == (0, 2)
    out.sum().backward()
    np.testing.assert_array_equal(np_of(table.grad), np.zeros((4, 2)))


def test_embedding_errors(rng):
    table = f64(rng, 4, 2)
    with pytest.raises(ValueError, match=r"embedding.*\[0, 4\).*\(4, 2\)"):
        F.embedding(np.array([0, 4]), table)
    with pytest.raises(TypeError, match="embedding.*float"):
        F.embedding(np.array([0.0, 1.0]), table)


# ------------------------------------------------------------------ one_hot
@pytest.mark.parametrize("num_classes", [None, -1, 6])
def test_one_hot_is_pytorchs_as_floats_on_the_ids_backend(num_classes, xp):
    torch = pytest.importorskip("torch")
    ids = np.array([[1, 4, 1], [0, 2, 4]])
    ref = torch.nn.functional.one_hot(torch.tensor(ids), -1 if num_classes is None else num_classes)
    for given in (ids, ts.Tensor(ids), ids.tolist(), xp.asarray(ids.astype(np.uint8))):
        out = F.one_hot(given, num_classes)
        assert out.dtype == np.float32 and not out.requires_grad and out.op is None
        assert ts.backend.array_module(out.data) is xp
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
    as_long = F.one_hot(ids, num_classes, dtype="int64")  # (PyTorch's dtype)
    assert as_long.dtype == np.int64
    np.testing.assert_array_equal(as_long.numpy(), ref.numpy())


def test_one_hot_follows_the_default_dtype_and_mixes_with_float_tensors(rng):
    ts.set_default_dtype("float64")  # (the fixture restores it)
    logits = f64(rng, 3, 4)
    picked = (logits * F.one_hot([2, 0, 3], 4)).sum(axis=-1)
    assert picked.dtype == np.float64
    np.testing.assert_array_equal(picked.numpy(), logits.numpy()[[0, 1, 2], [2, 0, 3]])
    assert F.one_hot([], 3).shape == (0, 3)


def test_one_hot_refuses_ids_out_of_range_and_bad_arguments_clearly():
    with pytest.raises(
        ValueError,
        match=r"ids must lie in \[0, 3\) for num_classes=3; got ids up "
        r"to 3 \(pass num_classes=4 or more\)",
    ):
        F.one_hot([0, 3], 3)
    with pytest.raises(
        ValueError, match=r"one_hot: ids must be class indices >= 0, got ids from -1"
    ):
        F.one_hot(np.array([0, -1]), 5)
    with pytest.raises(ValueError, match=r"one_hot: no ids to count the classes from: pass num_cl"):
        F.one_hot([])
    with pytest.raises(ValueError, match=r"one_hot: num_classes must be >= 1 .*got 0"):
        F.one_hot([0], 0)
    with pytest.raises(TypeError, match=r"one_hot: num_classes must be an int >= 1 .*float 2.0"):
        F.one_hot([0], 2.0)
    with pytest.raises(TypeError, match=r"one_hot: ids must be integers, got dtype float64 \(con"):
        F.one_hot(np.array([0.0, 1.0]), 2)
    with pytest.raises(TypeError, match=r"one_hot: dtype must be a NumPy dtype .* got 'floaty'"):
        F.one_hot([0], 2, dtype="floaty")
    with pytest.raises(ValueError, match="one_hot: the rows of ids have different lengths"):
        F.one_hot([[0, 1], [1]], 2)


# ------------------------------------------------------------------ masks
def test_causal_and_padding_masks():
    np.testing.assert_array_equal(F.causal_mask(3), np.tril(np.ones((3, 3), bool)))
    mask = F.padding_mask([2, 0, 3], 3)
    np.testing.assert_array_equal(mask, [[1, 1, 0], [0, 0, 0], [1, 1, 1]])
    assert mask.dtype == bool
    np.testing.assert_array_equal(F.padding_mask(np.array([1]), np.int64(2)), [[True, False]])
    assert F.padding_mask([], 3).shape == (0, 3)
    on_backend = F.padding_mask(ts.backend.xp.asarray([2, 0, 3]), 3)  # (CuPy: read on the host)
    np.testing.assert_array_equal(on_backend, mask)
    np.testing.assert_array_equal(F.padding_mask(ts.Tensor([2, 0, 3]), 3), mask)


@pytest.mark.parametrize(
    "lengths, max_len, error, match",
    [
        ([1, 2], 2.5, ValueError, r"max_len must be a length \(an int ≥ 0\), got 2.5"),
        ([1, 2], -1, ValueError, "max_len must be a length"),
        ([1.5, 2], 3, TypeError, "lengths must be integers"),
        ([True, False], 3, TypeError, "lengths must be integers"),
        ([[1], [2]], 3, ValueError, r"lengths must be .* shape \(B,\), got shape \(2, 1\)"),
        (2, 3, ValueError, r"lengths must be .* shape \(B,\), got shape \(\)"),
        ([1, 4], 3, ValueError, r"lengths must lie in \[0, 3\].*from 1 to 4"),
        ([-1, 2], 3, ValueError, r"lengths must lie in \[0, 3\].*from -1 to 2"),
    ],
)
def test_padding_mask_checks_its_inputs(lengths, max_len, error, match):
    with pytest.raises(error, match=f"padding_mask: {match}"):
        F.padding_mask(lengths, max_len)


# ------------------------------------------------------------------ fused RNN step
def _rnn_inputs(rng, batch=3, d_in=2, hidden=4):
    h, x = f64(rng, batch, hidden), f64(rng, batch, d_in)
    return h, x, f64(rng, hidden, hidden), f64(rng, d_in, hidden), f64(rng, hidden)


@pytest.mark.parametrize("batch", [1, 3])  # batch 1: W4's one-row step
def test_rnn_step_gradcheck_all_five_inputs(rng, batch):
    assert ts.gradcheck(F.rnn_step, *_rnn_inputs(rng, batch=batch))


def test_rnn_step_equals_the_five_primitives(rng):
    h, x, W, U, b = _rnn_inputs(rng)
    fused = F.rnn_step(h, x, W, U, b)
    assert fused.op == "rnn_step" and fused.parents == (h, x, W, U, b)
    fused.sum().backward()
    grads = [np_of(t.grad).copy() for t in (h, x, W, U, b)]
    for t in (h, x, W, U, b):
        t.grad = None
    composed = (h @ W + x @ U + b).tanh()
    composed.sum().backward()
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12)
    for got, t in zip(grads, (h, x, W, U, b), strict=True):
        np.testing.assert_allclose(got, np_of(t.grad), rtol=1e-12)


def test_rnn_step_unrolls_into_one_node_per_step(rng):
    _, _, W, U, b = _rnn_inputs(rng)
    h = ts.Tensor(np.zeros((3, 4)))
    xs = [ts.Tensor(rng.standard_normal((3, 2))) for _ in range(6)]  # constants: no grad
    for x_t in xs:
        h = F.rnn_step(h, x_t, W, U, b)
    graph = ts.graph.trace(h.sum())
    assert sum(n.op == "rnn_step" for n in graph.nodes) == 6
    h.sum().backward()
    assert all(t.grad is not None for t in (W, U, b))


def test_rnn_step_names_the_expected_shapes(rng):
    h, x, W, U, b = _rnn_inputs(rng)
    with pytest.raises(ValueError, match=r"rnn_step: expected h \(B, H\).*\(3, 4\)"):
        F.rnn_step(h, x, W, U, b.reshape(1, 4))
    with pytest.raises(ValueError, match=r"rnn_step: expected h \(B, H\)"):
        F.rnn_step(h, x, U, W, b)  # W and U swapped: the products do not fit
    with pytest.raises(ValueError, match=r"rnn_step: expected h \(B, H\)"):
        F.rnn_step(h, x, W, U, ts.Tensor(np.zeros(W.shape[1] + 1)))  # a bias of another width
    one = ts.Tensor(np.full(1, 0.3), requires_grad=True)  # one bias for every unit: broadcast
    assert ts.gradcheck(lambda one: F.rnn_step(h, x, W, U, one), one)
    with pytest.raises(ValueError, match=r"rnn_step: expected h \(B, H\)"):
        F.rnn_step(h, ts.cat([x, x]), W, U, b)  # x's batch is not h's
    with pytest.raises(TypeError, match="rnn_step: expected a Tensor"):
        F.rnn_step(h.numpy(), x, W, U, b)


def test_float16_softmax_of_a_large_array_is_as_exact_as_row_by_row():
    # the one-shift-for-the-whole-array path assumes float32's range; float16's ends at
    # e^−9.7, so a row 16 below the array's max lost most of its precision there
    n = 10000
    x = np.stack([np.zeros(n), -16 + np.linspace(0, 1, n)]).astype(np.float16)
    together = F.softmax(ts.Tensor(x)).numpy().astype(np.float64)
    alone = F.softmax(ts.Tensor(x[1:])).numpy().astype(np.float64)
    np.testing.assert_allclose(together[1:], alone, rtol=2e-3)


def test_float16_layer_norm_matches_float64_on_long_rows(rng):
    # float16 row sums overflow past 65504 (D σ² here): worked out in float32 instead
    x = (rng.standard_normal((2, 4096)) * 5 + 20).astype(np.float16)
    gain, bias = np.ones(4096, np.float16), np.zeros(4096, np.float16)
    xt = ts.Tensor(x, requires_grad=True)
    out = ts.F.layer_norm(xt, ts.Tensor(gain), ts.Tensor(bias))
    assert out.dtype == np.float16
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out.numpy(), expected, atol=2e-2)
    w = rng.standard_normal((2, 4096))  # a loss whose gradient is not ~0 (Σ y² is ~D)
    (out * ts.Tensor(w.astype(np.float16))).sum().backward()
    assert xt.grad.dtype == np.float16
    x64t = ts.Tensor(x64, requires_grad=True)  # the float64 gradient, gradient-checked
    ln64 = ts.F.layer_norm(x64t, ts.Tensor(np.ones(4096)), ts.Tensor(np.zeros(4096)))
    (ln64 * ts.Tensor(w.astype(np.float16).astype(np.float64))).sum().backward()
    scale = np.abs(np_of(x64t.grad)).max()
    np.testing.assert_allclose(
        np_of(xt.grad).astype(np.float64), np_of(x64t.grad), atol=0.02 * scale
    )


def test_float16_cross_entropy_of_many_rows_or_a_long_row_matches_float64(rng):
    # float16's sum of 70,000 row losses, its count 70,000 and 1/count all overflow or
    # underflow (the loss was NaN, the gradient zero): worked out in float32 instead
    for n, v in ((70_000, 4), (3, 70_000)):
        logits = rng.standard_normal((n, v)).astype(np.float16)
        targets = rng.integers(0, v, n)
        x = ts.Tensor(logits, requires_grad=True)
        loss = F.cross_entropy(x, ts.Tensor(targets))
        loss.backward()
        assert loss.dtype == np.float16 and x.grad.dtype == np.float16
        x64 = logits.astype(np.float64)
        log_p = x64 - np.log(np.exp(x64).sum(1, keepdims=True))
        expected = -log_p[np.arange(n), targets].mean()
        assert loss.item() == pytest.approx(expected, rel=2e-3)
        d = np.exp(log_p)
        d[np.arange(n), targets] -= 1
        # float16 keeps ~3 digits; 1/70,000 of a gradient is a subnormal, with fewer
        np.testing.assert_allclose(np_of(x.grad), d / n, rtol=0, atol=3e-3 * np.abs(d / n).max())


def test_layer_norm_without_a_last_axis_to_normalise_is_a_clear_error():
    for shape in ((2, 0), ()):
        with pytest.raises(ValueError, match="layer_norm: x must have a last axis of at least"):
            ts.F.layer_norm(ts.Tensor(np.ones(shape)), ts.Tensor(np.ones(0)), ts.Tensor(np.ones(0)))


def test_dropout_refuses_integer_tensors_when_it_would_scale_them():
    # 1/(1 − p) cast to an integer is 1: the kept values would not be scaled
    ids = ts.Tensor(np.full(10, 10))
    with pytest.raises(TypeError, match="dropout: expected a float tensor, got dtype int64"):
        ts.F.dropout(ids, 0.3)
    assert ts.F.dropout(ids, 0.3, training=False) is ids  # nothing to scale: as it is
    assert ts.F.dropout(ids, 0.0) is ids


def test_layer_norm_of_integers_and_booleans_is_that_of_their_values():
    # row sums in the input's dtype would wrap (uint8: 200 + 200 + 200 + 100 = 188) or OR
    gain, bias = ts.Tensor(np.ones(4, np.float32)), ts.Tensor(np.zeros(4, np.float32))
    for data in ([[200, 200, 200, 100]], [[True, True, True, False]]):
        values = np.array(data, np.float64)
        expected = (values - values.mean()) / np.sqrt(values.var() + 1e-5)
        for dtype in (np.uint8, np.int16, np.int64, bool):
            if dtype is bool and values.max() > 1:
                continue
            out = ts.F.layer_norm(ts.Tensor(np.array(data, dtype)), gain, bias)
            np.testing.assert_allclose(out.numpy(), expected, rtol=2e-3, err_msg=str(dtype))


def test_layer_norm_op_whose_gain_stretches_a_last_axis_of_one(rng):
    # The op broadcasts like NumPy (F.layer_norm refuses such a gain: this is the op
    # itself): x (3, 1) with a (8,) gain normalises to 0s, and the gradients have the
    # inputs' shapes.
    from tinygrad_seq import ops
    from tinygrad_seq.tensor import apply

    x, gain, bias = f64(rng, 3, 1), f64(rng, 8), f64(rng, 8)
    assert ts.gradcheck(lambda a, b, c: apply(ops.LayerNorm(), a, b, c), x, gain, bias)


def test_row_sums_of_long_float32_rows_round_as_blas_does(rng):
    from tinygrad_seq import ops

    for length in (ops._LONG_ROW, 65536):
        a = rng.standard_normal((3, length)).astype(np.float32)
        exact = (a.astype(np.float64) ** 2).sum(-1)
        got = ops._row_dots(a, a)[:, 0]
        assert np.abs(got / exact - 1).max() < 1e-6  # einsum's float32 sum: 1.5e-6 at 65,536


def test_layer_norm_dtypes_follow_numpy_promotion():
    gain, bias = ts.Tensor(np.ones(3, np.float32)), ts.Tensor(np.zeros(3, np.float32))
    for data in (np.array([[1, 2, 3]], np.int16), np.array([[True, False, True]])):
        out = ts.F.layer_norm(ts.Tensor(data), gain, bias)  # small integers: still floats
        assert out.dtype.kind == "f"
        assert abs(out.numpy()).max() > 0.5
    x16 = ts.Tensor(np.array([[1.0, 2.0, 3.0]], np.float16))
    assert ts.F.layer_norm(x16, gain, bias).dtype == np.float32  # float16 with float32 params
    x = ts.Tensor(np.array([[1.0, 2.0, 4.0]], np.float32))
    wide_gain, wide_bias = ts.Tensor(np.full(3, 1 + 1e-9)), ts.Tensor(np.full(3, 1e-9))
    for g, b in ((wide_gain, bias), (gain, wide_bias), (wide_gain, wide_bias)):
        out = ts.F.layer_norm(x, g, b)
        assert out.dtype == np.float64  # as x * g + b: the wider of gain and bias wins
        assert out.numpy()[0, 0] != np.float32(out.numpy()[0, 0])  # with float64's digits
    int_bias = ts.Tensor(np.zeros(3, np.int32))  # NumPy: float32 with int32 is float64
    assert ts.F.layer_norm(x, gain, int_bias).dtype == np.result_type(np.float32, np.int32)


def test_layer_norm_with_a_float64_gain_on_float32_x_keeps_float64_gradients(rng):
    # y is float64 there (NumPy's promotion), so its gradient is too: the gain's gradient
    # must not pass through float32 on the way (it was ~1e-7 off)
    x = ts.Tensor(rng.standard_normal((3, 5)).astype(np.float32))
    gain, bias = f64(rng, 5), f64(rng, 5)
    out = ts.F.layer_norm(x, gain, bias)
    assert out.dtype == np.float64
    (out * out).sum().backward()
    y = np_of(out.data)
    x_hat = (y - np_of(bias.data)) / np_of(gain.data)  # the forward's x̂, to float64's digits
    assert gain.grad.dtype == np.float64
    np.testing.assert_allclose(np_of(gain.grad), (2 * y * x_hat).sum(0), rtol=1e-10)


def test_cross_entropy_over_a_square_batch_of_steps_reads_targets_by_position(rng):
    """(B, T, V) logits with B == T: a mix-up of the batch and time axes keeps every shape."""
    logits = rng.standard_normal((3, 3, 5))
    targets = np.array([[0, 1, 2], [3, 4, 0], [1, 1, 4]])
    x = ts.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, targets)
    loss.backward()
    flat, t = logits.reshape(9, 5), targets.reshape(9)
    p = np.exp(flat - flat.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    assert loss.item() == pytest.approx(-np.log(p[np.arange(9), t]).mean(), rel=1e-12)
    p[np.arange(9), t] -= 1.0  # (softmax − one-hot) / N
    np.testing.assert_allclose(np_of(x.grad), (p / 9).reshape(3, 3, 5), rtol=1e-10, atol=1e-14)


def test_embedding_refuses_negative_ids():
    table = ts.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    with pytest.raises(ValueError, match="ids must lie in"):
        F.embedding(np.array([0, -1]), table)  # NumPy would read −1 as the last row


def test_causal_mask_refuses_a_bool_for_its_length():
    with pytest.raises(ValueError, match="causal_mask: n must be a length"):
        ts.functional.causal_mask(True)


# ------------------------------------------------------------------ gelu
def test_gelu_is_x_times_the_normal_cdf_by_default_and_gradchecks_on_broadcast_inputs(rng):
    x = ts.Tensor(rng.standard_normal((2, 3, 4)) * 3, requires_grad=True)
    shift = f64(rng, 4)
    erf = np.vectorize(math.erf, otypes=[float])
    expected = 0.5 * x.numpy() * (1 + erf(x.numpy() / math.sqrt(2)))  # x Φ(x)
    out = ts.F.gelu(x)
    assert out.op == "gelu" and out.shape == (2, 3, 4)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(x.gelu().numpy(), ts.F.gelu(x, approximate="none").numpy())
    assert ts.gradcheck(lambda x, s: ts.F.gelu(x + s), x, shift)
    assert ts.gradcheck(lambda x, s: (x * s).erf(), x, shift)


def test_gelu_and_its_gradient_match_pytorch_in_float64_on_each_path(kernels, rng):
    """x Φ(x) and the gradient g (Φ(x) + x φ(x)) against PyTorch's exact gelu in float64,
    and gradient-checked, on the NumPy path (GeluErf's own backward) and the compiled one;
    also as a transposed view, which the kernel leaves to NumPy."""
    torch = pytest.importorskip("torch")
    data = np.concatenate([rng.standard_normal(203) * 3, np.linspace(-9, 9, 37)]).reshape(12, 20)
    for view in (data, data.T):
        x = ts.Tensor(view, requires_grad=True)
        g = rng.standard_normal(view.shape)
        out = ts.F.gelu(x)
        out.backward(g)
        ref = torch.tensor(view, requires_grad=True)
        expected = torch.nn.functional.gelu(ref)
        expected.backward(torch.tensor(g))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(np_of(x.grad), ref.grad.numpy(), rtol=1e-13, atol=1e-15)
    small = ts.Tensor(rng.standard_normal((3, 4)) * 2, requires_grad=True)
    assert ts.gradcheck(lambda t: ts.F.gelu(t), small)
    assert ts.gradcheck(lambda t: ts.F.gelu(t.T), small)


def test_gelu_tanh_form_is_the_tanh_formula_and_gradchecks_on_broadcast_inputs(rng):
    x = ts.Tensor(rng.standard_normal((2, 3, 4)) * 3, requires_grad=True)
    shift = f64(rng, 4)
    expected = (
        0.5
        * x.numpy()
        * (1 + np.tanh(np.sqrt(2 / np.pi) * (x.numpy() + 0.044715 * x.numpy() ** 3)))
    )
    out = ts.F.gelu(x, approximate="tanh")
    assert out.op == "gelu" and out.shape == (2, 3, 4)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(x.gelu("tanh").numpy(), out.numpy())
    assert np.abs(out.numpy() - ts.F.gelu(x).numpy()).max() < 4.8e-4  # (the two forms)
    assert ts.gradcheck(lambda x, s: ts.F.gelu(x + s, approximate="tanh"), x, shift)


def test_gelu_tanh_form_tails_are_x_and_0_without_overflow():
    values = np.array([-1e13, -30.0, 0.0, 30.0, 1e4, 1e13], np.float32)
    x = ts.Tensor(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (x³ overflows float32 at 1e13: tanh(±inf) is ±1)
        out = ts.F.gelu(x, approximate="tanh")
        out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), [-0.0, -0.0, 0.0, 30.0, 1e4, values[-1]])
    np.testing.assert_array_equal(ts.backend.to_numpy(x.grad), [0.0, 0.0, 0.5, 1.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_gelu_tanh_form_at_infinities_is_its_limits_and_elsewhere_pytorchs(dtype):
    """gelu(−inf) = −0 with slope 0, gelu(inf) = inf with slope 1, NaN stays NaN (PyTorch's
    tanh gelu is NaN at −inf: −inf · (1 + tanh(−inf)) = −inf · 0); everywhere else, from
    tiny to huge, PyTorch's values and (where its are not NaN) slopes."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    finite = np.concatenate(
        [rng.standard_normal(500) * 4, [0.0, -0.0, -5.0, -9.0, -30.0, 30.0]]
        + ([] if dtype == np.float16 else [[-1e4, 1e4, -1e30, 1e30]])
    ).astype(dtype)
    x = ts.Tensor(np.concatenate([finite, np.array([-np.inf, np.inf, np.nan], dtype)]))
    x.requires_grad = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no inf · 0 on the way)
        out = ts.F.gelu(x, approximate="tanh")
        out.sum().backward()
    got, grad = out.numpy(), np_of(x.grad)
    assert out.dtype == dtype and got[-3] == 0.0 and np.signbit(got[-3])
    np.testing.assert_array_equal(got[-2:], [np.inf, np.nan])
    np.testing.assert_array_equal(grad[-3:], [0.0, 1.0, np.nan])
    ref = torch.tensor(finite.astype(np.float64), requires_grad=True)
    expected = torch.nn.functional.gelu(ref, approximate="tanh")
    expected.sum().backward()
    # within a few roundings of x's dtype, absolute ones scaled by |x| in the left tail,
    # where 1 + tanh(u) cancels in that dtype (against PyTorch's in float64)
    eps = float(np.finfo(dtype).eps)
    slack = 16 * eps * (1 + np.abs(finite.astype(np.float64)))
    n = len(finite)
    theirs, theirs_grad = expected.detach().numpy(), ref.grad.numpy()
    assert (np.abs(got[:n] - theirs) <= 16 * eps * np.abs(theirs) + slack).all()
    assert (np.abs(grad[:n] - theirs_grad) <= 16 * eps * np.abs(theirs_grad) + slack).all()
    assert np.array_equal(np.signbit(got[:n]), np.signbit(theirs))
    for value, limit, slope in ((-np.inf, -0.0, 0.0), (-2.0, None, None)):  # 0-d too
        scalar = ts.Tensor(np.array(value, dtype), requires_grad=True)
        y = ts.F.gelu(scalar, approximate="tanh")
        y.backward()
        want = torch.nn.functional.gelu(
            torch.tensor(value, dtype=torch.float64), approximate="tanh"
        )
        want = want.item() if limit is None else limit
        assert y.shape == () and y.item() == pytest.approx(want, rel=16 * eps)
        if slope is not None:
            assert np.signbit(y.item()) and np_of(scalar.grad) == slope


@pytest.mark.parametrize(("dtype", "big"), [(np.float16, [300.0, 6e4]), (np.float32, [2e19, 1e30])])
def test_gelu_tanh_form_slopes_stay_0_and_1_where_x_squared_overflows(dtype, big):
    # x² passes float16's 65504 from |x| = 256 on, float32's range from 1.8e19: the
    # slope's x (1 − t²) · ∂u/∂x must be 0 there, not 0 · inf = NaN
    values = np.array([-big[1], -big[0], big[0], big[1]], dtype)
    x = ts.Tensor(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts.F.gelu(x, approximate="tanh").sum().backward()
    np.testing.assert_array_equal(ts.backend.to_numpy(x.grad), [0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tails_are_x_and_0_and_infinities_their_limits(dtype):
    values = np.array([-np.inf, -1e30, -40.0, -10.0, -0.0, 0.0, 40.0, 1e30, np.inf, np.nan])
    x = ts.Tensor(values.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or inf · 0 on the way
        out = ts.F.gelu(x)
        out.sum().backward()
    got, grad = out.numpy(), ts.backend.to_numpy(x.grad)
    # x Φ(x) at −10 is −10 · 7.62e-24 (1 + erf(x/√2) would cancel to 0 there)
    assert got[3] == pytest.approx(-10 * 0.5 * math.erfc(10 / math.sqrt(2)), rel=1e-6)
    assert grad[3] == pytest.approx(-7.6184e-22, rel=1e-4)  # Φ(x) + x φ(x)
    got[3] = grad[3] = 0.0
    expected = [-0.0, -0.0, -0.0, 0.0, -0.0, 0.0, 40.0, 1e30, np.inf, np.nan]
    np.testing.assert_array_equal(got, np.array(expected, dtype))
    assert np.array_equal(np.signbit(got[:6]), np.signbit(expected[:6]))
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.0, np.nan])


def test_gelu_names_the_forms_it_offers():
    x = ts.Tensor([1.0])
    with pytest.raises(ValueError, match='^gelu: approximate must be "none" .* or "tanh", got'):
        ts.F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="^gelu: approximate must be .*, got None"):
        x.gelu(approximate=None)
    with pytest.raises(TypeError, match="^gelu: expected a Tensor, got list"):
        ts.F.gelu([1.0])
