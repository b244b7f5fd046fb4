"""Functions of tensors: softmax, log_softmax, logsumexp, cross-entropy, binary
cross-entropy with logits and layer norm (each one fused, gradient-checked op in ops.py),
nll_loss, mse_loss and l1_loss (written with the primitives), dropout, embedding, one_hot,
masks, the relu/sigmoid/tanh aliases, gelu, the fused rnn_step and sample_logits (a
language model's next token). Imported as ``ts.functional`` and ``ts.F``.
"""

from __future__ import annotations

import math

import numpy as np

from . import backend, ops
from ._checks import as_bool, as_float, as_id_array, as_int, wrap_hint
from .autograd import OpError, no_grad
from .tensor import (
    Tensor,
    _apply1,
    _apply2,
    _leaf,
    apply,
    get_default_dtype,
    multinomial,
    rng,
    where,
)

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy_with_logits",
    "layer_norm",
    "dropout",
    "embedding",
    "causal_mask",
    "padding_mask",
    "relu",
    "sigmoid",
    "tanh",
    "gelu",
    "rnn_step",
    "sample_logits",
]


_REAL = (float, int, np.floating, np.integer)  # float first: the usual p


def _tensor(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}{wrap_hint(x)}")


def softmax(x: Tensor, axis: int = -1, **misnamed) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along `axis`.

    Stable for any finite x (worked out as exp(x_i − max x) / Σ_j exp(x_j − max x): the same value,
    and exp cannot overflow). (PyTorch's dim= is refused with NumPy's spelling, as the Tensor
    methods do.)"""
    return _tensor(x, "softmax").softmax(axis, **misnamed)


def log_softmax(x: Tensor, axis: int = -1, **misnamed) -> Tensor:
    """x_i − log Σ_j exp(x_j) along `axis`.

    Exact even for logits of ±1e4. (PyTorch's dim= is refused with NumPy's spelling, as the Tensor
    methods do.)"""
    return _tensor(x, "log_softmax").log_softmax(axis, **misnamed)


def logsumexp(x: Tensor, axis=None, keepdims: bool = False, **misnamed) -> Tensor:
    """log Σ exp(x) over `axis` (all axes by default), computed stably (x.logsumexp).

    x (..., n, ...) → (..., ...), or (..., 1, ...) with `keepdims`. Worked out as m + log Σ
    exp(x − m), m the max; its gradient is softmax(x). A row of −inf gives −inf, as PyTorch's
    torch.logsumexp (whose dim= and keepdim= are refused with NumPy's spelling)."""
    return _tensor(x, "logsumexp").logsumexp(axis, keepdims, **misnamed)


def relu(x: Tensor) -> Tensor:
    """max(0, x), elementwise (the same as x.relu())."""
    return _tensor(x, "relu").relu()


def sigmoid(x: Tensor) -> Tensor:
    """σ(x) = 1 / (1 + e^−x), elementwise (the same as x.sigmoid())."""
    return _tensor(x, "sigmoid").sigmoid()


def tanh(x: Tensor) -> Tensor:
    """tanh(x), elementwise (the same as x.tanh())."""
    return _tensor(x, "tanh").tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU, x Φ(x), elementwise (the same as x.gelu()): exact, or the tanh approximation.

    One fused node, as PyTorch's gelu:

        approximate="none" (default)  gelu(x) = x Φ(x) = ½ x (1 + erf(x/√2))
        approximate="tanh"            gelu(x) ≈ ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))

    The exact form's erf is the engine's own (Cody's rational approximations, within a few
    units in the last place of float64); the tanh form differs from it by at most ~4.7e-4
    (near x = ±2.7)."""
    return _tensor(x, "gelu").gelu(approximate)


def rnn_step(h: Tensor, x: Tensor, W: Tensor, U: Tensor, b: Tensor) -> Tensor:
    """h_t = tanh(h_{t−1} W + x_t U + b) as one fused, gradient-checked node.

    h (B, H), x (B, I), W (H, H'), U (I, H'), b (H',) -> (B, H'). Right-multiplied, as in
    benchmark W4: the seed's tanh(W_hh h_{t−1} + W_xh x_t + b_h) with W = W_hhᵀ and U =
    W_xhᵀ. From an RNNCell pass ``*cell.weights_T()`` and ``cell.b_h``: its W_hh itself is
    square too, so passing it untransposed gives a wrong h_t with no error. The same as
    ``(h @ W + x @ U + b).tanh()``, which records five nodes per step; this one is faster
    and its graph much smaller on long unrolls (benchmarks W4 vs W4-fused), at the price of
    hiding the pre-activation from the graph. The models in ``ts.nn`` keep the five ops, so
    their graphs show the seed's equation term by term. Its backward reads h, x, W and U
    from the inputs' ``.data`` (to keep its graph small): rebind none of them between the
    forward and the backward.
    """
    args = [_tensor(t, "rnn_step") for t in (h, x, W, U, b)]
    return apply(ops.RNNStep(), *args)


def _not_swapped(scores, targets, op: str, what: str) -> None:
    """A TypeError for integer targets passed first (an array, a list or a Tensor) and the
    float scores second. (Float scores given as an array are not swapped: the TypeError
    for a non-Tensor says to wrap them.)"""
    if not (isinstance(targets, Tensor) and targets.dtype.kind == "f"):
        return
    data = scores.data if isinstance(scores, Tensor) else scores
    dtype = getattr(data, "dtype", None)
    if dtype is None and isinstance(data, list | tuple | int):
        try:
            dtype = np.asarray(data).dtype
        except (TypeError, ValueError):  # (ragged lists: not targets to name here)
            return
    if dtype is None or dtype.kind not in "iu":
        return
    given = "an integer Tensor" if isinstance(scores, Tensor) else type(scores).__name__
    raise TypeError(
        f"{op}: expected {what} (a float Tensor) first and the integer targets second, "
        f"{op}({what}, targets); got {given} and a float Tensor: swap them"
    )


def _one_hot_hint(targets, scores: Tensor) -> str:
    """The hint for targets of the scores' own shape (one-hot rows, not class ids), or for
    scores (B, V, T) beside targets (B, T) (PyTorch's layout for a sequence)."""
    if tuple(targets.shape) == tuple(scores.shape) and scores.ndim >= 2:
        return " (one-hot rows? pass the class ids, targets.argmax(axis=-1))"
    if targets.ndim == 2 and scores.ndim == 3 and scores.shape[::2] == targets.shape:
        return (
            " ((B, V, T), PyTorch's layout for a sequence? this one takes (B, T, V), the "
            "classes last: pass x.transpose(0, 2, 1))"
        )
    return ""


def _ids(ids, op: str, like: Tensor):
    """Integer ids (Tensor, NumPy or CuPy array, list) as an array on `like`'s backend."""
    data = ids.data if isinstance(ids, Tensor) else ids
    xp = backend.array_module(like.data)
    given = data
    if not hasattr(data, "dtype"):
        data = as_id_array(
            data,
            f"{op}: the rows of ids/targets have different lengths; pad them to one length "
            "(data.pad_or_truncate)",
        )
        if data.size == 0:  # np.asarray([]) is float64, but no ids is still integer ids
            data = data.astype(np.intp)
    if data.dtype.kind not in "iu":
        if op == "embedding":
            todo = "convert them: ids.astype('int64'), or ts.Tensor(ids, dtype='int64')"
        else:  # a loss: one-hot rows, probabilities, or whole numbers stored as floats
            todo = (
                "they are class ids, one per position; for one-hot rows pass "
                "targets.argmax(axis=-1), for whole numbers stored as floats "
                "targets.astype('int64')"
            )
        noun = "ids" if op == "embedding" else "targets"
        raise TypeError(f"{op}: {noun} must be integers, got dtype {data.dtype} ({todo})")
    return backend.own_copy(xp.asarray(data), given)  # (backward reads it later)


def cross_entropy(
    logits: Tensor,
    targets,
    ignore_index: int | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    weight: Tensor | np.ndarray | list[float] | None = None,
) -> Tensor:
    """Mean (or sum, or each) over non-ignored positions of −log softmax(logits)[target].

    logits (N, V) with targets (N,), or logits (B, T, V) with targets (B, T). Positions
    whose target equals `ignore_index` (padding) count for nothing; if every position is
    ignored the loss is 0 with a zero gradient (PyTorch's mean gives NaN there).
    `reduction`: "mean" (a 0-d tensor), "sum" (0-d, over the non-ignored positions) or
    "none" (each position's loss, the targets' shape, 0 where ignored), as in PyTorch.
    `label_smoothing` ε in [0, 1], as PyTorch's: each target becomes the distribution
    (1 − ε) one-hot + ε/V, so a position's loss is (1 − ε)(−log p_target) + ε · the mean
    over the V classes of −log p_j. Computed in one fused op, stable for logits of any size
    (its gradient is simply (softmax − target distribution) / N, N the counted positions,
    for the mean).

    `weight` (V,), as PyTorch's: a weight per class (finite, ≥ 0; a Tensor that needs no
    gradient, an array or a list, read in the logits' dtype). A position's loss becomes
    (1 − ε) w_target (−log p_target) + (ε/V) Σ_j w_j (−log p_j), and the mean divides the
    sum by Σ w_target over the non-ignored positions, not by their number (so with
    ε = 0 it is a weighted mean of −log p_target). If that total weight is 0 the mean is
    0 with a zero gradient, as when every position is ignored (PyTorch's gives NaN).
    """
    _not_swapped(logits, targets, "cross_entropy", "logits")
    logits = _tensor(logits, "cross_entropy")
    reduction = _reduction(reduction, "cross_entropy")
    if label_smoothing.__class__ is not float or not 0.0 <= label_smoothing <= 1.0:
        label_smoothing = _label_smoothing(label_smoothing)
    t = _ids(targets, "cross_entropy", logits)
    if weight is not None:
        weight = _class_weights(weight, "cross_entropy", logits)
    if ignore_index is not None:  # (1.5 ignored nothing; True was read as class 1)
        ignore_index = as_int(
            ignore_index, "cross_entropy: ignore_index", "an integer id (the padding id) or None"
        )
    if logits.ndim not in (2, 3) or tuple(t.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"cross_entropy: expected logits (N, V) with targets (N,), or logits (B, T, V) "
            f"with targets (B, T); got logits {tuple(logits.shape)} and targets "
            f"{tuple(t.shape)}{_one_hot_hint(t, logits)}"
        )
    if logits.shape[-1] == 0:  # (no class to score: NumPy's max over it failed deep inside)
        raise ValueError(
            f"cross_entropy: logits {tuple(logits.shape)} have no classes (V = 0); each "
            "position needs a score for at least one class"
        )
    if logits.ndim == 3:
        shape = tuple(logits.shape)
        try:
            loss = _apply1(
                ops.SoftmaxCrossEntropy(
                    t.reshape(-1), ignore_index, reduction, label_smoothing, weight
                ),
                logits.reshape(-1, shape[-1]),
            )
        except OpError as e:  # name the logits as the caller passed them, not flattened
            raise OpError(f"{e} (logits {shape} flattened to rows)") from None
        return loss.reshape(shape[:2]) if reduction == "none" else loss
    return _apply1(
        ops.SoftmaxCrossEntropy(t, ignore_index, reduction, label_smoothing, weight), logits
    )


def _class_weights(weight, op: str, like: Tensor):
    """A loss's per-class `weight` as a constant array (V,) of `like`'s float dtype on its
    backend (a copy), V = like.shape[-1]: finite numbers ≥ 0, or a clear error."""
    if isinstance(weight, Tensor):
        if weight.requires_grad:  # (PyTorch's has no gradient for it either)
            raise TypeError(
                f"{op}: weight gets no gradient; pass a constant: weight.detach(), an array "
                "or a list"
            )
        weight = weight.data
    try:
        w = np.array(backend.host(weight))
    except (TypeError, ValueError):  # (a ragged list)
        w = np.array(None)
    if w.dtype.kind not in "fiu":
        got = type(weight).__name__ + ("" if w.dtype.kind == "O" else f" of dtype {w.dtype}")
        raise TypeError(
            f"{op}: weight must be numbers, one per class (a Tensor, array or list), got {got}"
        )
    v = like.shape[-1]
    if w.shape != (v,):
        raise ValueError(
            f"{op}: weight must have one entry per class, shape ({v},) for scores "
            f"{tuple(like.shape)}, got shape {w.shape}"
        )
    if not (np.isfinite(w) & (w >= 0)).all():
        got = w.tolist() if v <= 10 else f"values from {w.min()} to {w.max()}"
        raise ValueError(f"{op}: weight must hold finite numbers >= 0 (one per class), got {got}")
    dtype = like.dtype if like.dtype.kind == "f" else np.float64
    return backend.array_module(like.data).asarray(w.astype(dtype))


def _label_smoothing(eps) -> float:
    """cross_entropy's label_smoothing as a float in [0, 1], or a clear error."""
    eps = as_float(eps, "cross_entropy: label_smoothing", "a real number in [0, 1]")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must be in [0, 1] (the share of each target "
            f"spread over all classes; 0 for none), got {eps}"
        )
    return float(eps)


def nll_loss(
    log_probs: Tensor,
    targets,
    ignore_index: int | None = None,
    reduction: str = "mean",
    weight: Tensor | np.ndarray | list[float] | None = None,
) -> Tensor:
    """Mean (or sum, or each) over non-ignored positions of −log_probs[target], as PyTorch's.

    log_probs (N, V) with targets (N,), or (B, T, V) with targets (B, T), as for
    cross_entropy: nll_loss(log_softmax(x), t) is cross_entropy(x, t), in four nodes
    (index, negate, mask, sum) instead of one fused op. Positions whose target equals
    `ignore_index` count for nothing; if every position is ignored the mean is 0 with a
    zero gradient (PyTorch's gives NaN). `reduction`: "mean", "sum" (0-d) or "none" (each
    position's loss, the targets' shape, 0 where ignored). `weight` (V,), as PyTorch's: a
    weight per class (finite, ≥ 0) scaling each position's loss, −w_target log_probs[target];
    the mean divides their sum by Σ w_target over the non-ignored positions (0 if that is 0,
    as for cross_entropy).
    """
    op = "nll_loss"
    _not_swapped(log_probs, targets, op, "log_probs")
    log_probs = _tensor(log_probs, op)
    reduction = _reduction(reduction, op)
    if log_probs.dtype.kind != "f":
        raise TypeError(
            f"{op}: expected a float tensor of log-probabilities, got dtype {log_probs.dtype}"
        )
    t = _ids(targets, op, log_probs)
    if weight is not None:
        weight = _class_weights(weight, op, log_probs)
    if ignore_index is not None:
        ignore_index = as_int(
            ignore_index, f"{op}: ignore_index", "an integer id (the padding id) or None"
        )
    shape = tuple(log_probs.shape)
    if log_probs.ndim not in (2, 3) or tuple(t.shape) != shape[:-1]:
        raise ValueError(
            f"{op}: expected log_probs (N, V) with targets (N,), or log_probs (B, T, V) with "
            f"targets (B, T); got log_probs {shape} and targets {tuple(t.shape)}"
            f"{_one_hot_hint(t, log_probs)}"
        )
    xp = backend.array_module(log_probs.data)
    ids = t.reshape(-1)
    keep = None if ignore_index is None else ids != ignore_index
    if keep is not None:
        ids = xp.where(keep, ids, 0)  # (an ignored position reads class 0, then is masked)
    v = shape[-1]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= v):
        raise ValueError(
            f"{op}: target ids must lie in [0, {v}) for log_probs of shape {shape}; got ids "
            f"from {int(ids.min())} to {int(ids.max())}"
            f"{ops.padding_hint(int(ids.min()), int(ids.max()), v, ignore_index)}"
        )
    losses = -log_probs.reshape(-1, v)[xp.arange(ids.size), ids]
    if keep is not None:  # (where, not × keep: an ignored −inf log-probability is no NaN)
        losses = where(keep, losses, 0.0)
    if weight is not None:  # (after the mask: an ignored inf loss times 0 would be NaN)
        w_t = weight[ids]  # each position's target's weight
        if keep is not None:
            w_t = xp.where(keep, w_t, 0)
        losses = losses * _leaf(w_t)
    if reduction == "none":
        return losses.reshape(shape[:-1])
    total = losses.sum()
    if reduction == "sum":
        return total
    if weight is not None:
        return total / (float(w_t.sum()) or 1.0)
    count = ids.size if keep is None else int(keep.sum())
    return total / max(count, 1)


_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction, op: str) -> str:
    """A loss's `reduction` argument checked: "mean", "sum" or "none"."""
    if isinstance(reduction, str) and reduction in _REDUCTIONS:
        return reduction
    raise (ValueError if isinstance(reduction, str) else TypeError)(
        f'{op}: reduction must be "mean", "sum" or "none" (how the per-element losses are '
        f"combined), got {reduction!r}"
    )


def _loss_operands(
    prediction, target, op: str, what: str, reduction: str = "mean"
) -> tuple[Tensor, Tensor]:
    """(prediction, target) for a loss that compares them element by element: a float
    prediction Tensor (`what` names it: "predictions", "logits"), and a target (Tensor,
    array, list) of exactly its shape on its backend. Integer or boolean targets (labels)
    are read in the prediction's dtype; a float target keeps its own, as in
    `prediction - target`. No elements is an error for the mean only (a sum of none is
    0, and "none" gives them back empty)."""
    prediction = _tensor(prediction, op)
    if prediction.dtype.kind != "f":
        raise TypeError(f"{op}: expected a float tensor of {what}, got dtype {prediction.dtype}")
    try:
        target = prediction._lift(target)  # (an array or list, on the prediction's backend)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: target must be numbers (a Tensor, array or list): {e}") from None
    if target.dtype.kind in "iub":
        target = Tensor(target.data.astype(prediction.dtype))
    elif target.dtype.kind != "f":
        raise TypeError(f"{op}: expected real-number targets, got dtype {target.dtype}")
    if tuple(target.shape) != tuple(prediction.shape):  # a broadcast would pair every
        raise ValueError(  # prediction with every target, silently: (N, 1) − (N,) is (N, N)
            f"{op}: {what} {tuple(prediction.shape)} and target {tuple(target.shape)} "
            "must have the same shape (they are compared element by element, not "
            "broadcast); reshape one of them"
        )
    if prediction.size == 0 and reduction == "mean":
        raise ValueError(
            f"{op}: {what} and target of shape {tuple(prediction.shape)} have no "
            "elements: the mean of no losses is undefined"
        )
    return prediction, target


def mse_loss(prediction: Tensor, target, reduction: str = "mean") -> Tensor:
    """The mean (or sum, or each) of (prediction − target)² over every element.

    prediction (...) float; target (...) of exactly the same shape: a Tensor (which may
    require grad too), an array or a list. No broadcasting: shapes (N, 1) and (N,) are a
    ValueError, not an (N, N) difference. `reduction`: "mean", "sum" (0-d) or "none"
    (each element's squared error, the prediction's shape), as in PyTorch. Written with
    the primitives (sub, mul, mean), so the graph shows each step. A NaN in either makes
    the loss NaN (as in PyTorch).
    """
    reduction = _reduction(reduction, "mse_loss")
    prediction, target = _loss_operands(prediction, target, "mse_loss", "predictions", reduction)
    difference = prediction - target
    squared = difference * difference
    if reduction == "mean":
        return squared.mean()
    return squared.sum() if reduction == "sum" else squared


def l1_loss(prediction: Tensor, target, reduction: str = "mean") -> Tensor:
    """The mean (or sum, or each) of |prediction − target| over every element.

    prediction (...) float; target (...) of exactly the same shape (a Tensor, which may
    require grad too, an array or a list), as for mse_loss: no broadcasting. `reduction`:
    "mean", "sum" (0-d) or "none" (each element's absolute error), as in PyTorch. Written
    with the primitives (sub, abs, mean); the slope at a zero difference is 0, as
    PyTorch's.
    """
    reduction = _reduction(reduction, "l1_loss")
    prediction, target = _loss_operands(prediction, target, "l1_loss", "predictions", reduction)
    error = (prediction - target).abs()
    if reduction == "mean":
        return error.mean()
    return error.sum() if reduction == "sum" else error


def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """The mean (or sum, or each) over every element of −[t log σ(x) + (1 − t) log(1 − σ(x))].

    logits x (...) float; target t (...) of exactly the same shape, probabilities in [0, 1]
    (0/1 labels, bools, or soft labels; a Tensor, an array or a list). `reduction`: "mean",
    "sum" (0-d) or "none" (each element's loss, x's shape), as in PyTorch. One fused op,
    stable for logits of any size: max(x, 0) − x t + log1p(e^−|x|), whose gradient is
    simply (σ(x) − t) / n for the mean. Targets outside [0, 1] are a ValueError; a NaN in
    either makes the loss NaN (as in PyTorch).
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(reduction, op)
    logits, target = _loss_operands(logits, target, op, "logits", reduction)
    t = target.data
    # (NaN passes both tests: the loss says so; no targets leave nothing to check)
    low, high = (float(t.min()), float(t.max())) if t.size else (0.0, 0.0)
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{op}: targets must be probabilities in [0, 1] (0/1 labels or soft labels), "
            f"got values from {low} to {high}"
        )
    return _apply2(ops.SigmoidBinaryCrossEntropy(reduction), logits, target)


def layer_norm(x: Tensor, gain: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """gain ⊙ (x − mean) / sqrt(var + eps) + bias over the last axis.

    One fused op; var divides by D, not D − 1, as PyTorch's.

    x (..., D), gain (D,), bias (D,) → (..., D).
    """
    x = _tensor(x, "layer_norm")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(
            f"layer_norm: x must have a last axis of at least one element to normalise over, "
            f"got shape {tuple(x.shape)}"
        )
    d = x.shape[-1]
    for name, p in (("gain", gain), ("bias", bias)):
        if not isinstance(p, Tensor) or tuple(p.shape) != (d,):
            shape = tuple(p.shape) if isinstance(p, Tensor) else type(p).__name__
            raise ValueError(
                f"layer_norm: {name} must be a Tensor of shape ({d},) to match the last axis "
                f"of x {tuple(x.shape)}, got {shape}"
            )
    return apply(ops.LayerNorm(check_eps(eps, "layer_norm")), x, gain, bias)


def check_eps(eps, who: str) -> float:
    """layer_norm's eps as a float ≥ 0, or a clear error (a negative eps gave NaN on a
    constant row; a string failed deep inside NumPy). 0 is allowed, as in PyTorch: a
    constant row then divides 0 by 0."""
    if isinstance(eps, bool | np.bool_):
        raise TypeError(f"{who}: eps must be a real number ≥ 0, got {type(eps).__name__} {eps}")
    if eps.__class__ is not float and not isinstance(eps, _REAL):
        eps = as_float(eps, f"{who}: eps", "a real number ≥ 0")
    if not 0.0 <= eps < math.inf:
        raise ValueError(
            f"{who}: eps must be a finite number ≥ 0 (added to the variance), got {eps}"
        )
    return float(eps)  # (a NumPy float64 would make a float32 layer's statistics float64)


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1−p) (training only)."""
    x = _tensor(x, "dropout")
    # a tuple isinstance first, not numbers.Real: dropout runs in every layer's forward
    if p.__class__ is not float and (not isinstance(p, _REAL) or isinstance(p, bool)):
        p = as_float(p, "dropout: p", "a real number in [0, 1)")  # a Fraction, a 0-d array
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if training is not True and training is not False:
        training = as_bool(training, "dropout: training")
    if not training or p == 0.0:
        return x
    if x.data.dtype.kind != "f":
        raise TypeError(
            f"dropout: expected a float tensor, got dtype {x.data.dtype} (its kept values "
            "are scaled by 1/(1−p), which integers cannot hold)"
        )
    keep = rng().random(tuple(x.shape)) >= p  # drawn on the host: same masks on every backend
    scale = (keep / (1.0 - p)).astype(x.dtype)
    return x * _leaf(backend.array_module(x.data).asarray(scale))  # on x's backend


def embedding(ids, table: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `table` (V, D) picked by integer `ids` (any shape) → (*ids.shape, D).

    With `padding_idx` (an id; a negative one counts from the end), as PyTorch's: the
    positions holding it get table[padding_idx] as it is, but send it no gradient."""
    table = _tensor(table, "embedding")
    if table.ndim != 2:
        raise ValueError(f"embedding: table must be (vocab, dim), got {tuple(table.shape)}")
    idx = _ids(ids, "embedding", table)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= table.shape[0]):
        raise ValueError(
            f"embedding: ids must lie in [0, {table.shape[0]}) for a table of shape "
            f"{tuple(table.shape)}; got ids from {int(idx.min())} to {int(idx.max())}"
        )
    vectors = table[idx]
    if padding_idx is None:
        return vectors
    pad = check_padding_idx(padding_idx, table.shape[0], "embedding")
    pad_row = _leaf(table.data[pad].copy())  # (D,): its value, as a constant
    return where((idx == pad)[..., None], pad_row, vectors)


def check_padding_idx(padding_idx, vocab: int, who: str) -> int | None:
    """`padding_idx` as an id in [0, vocab) (a negative one counted from the end, as
    PyTorch's), or None; a TypeError or ValueError naming `who` otherwise."""
    if padding_idx is None:
        return None
    what = f"{who}: padding_idx"
    padding_idx = as_int(padding_idx, what, "an int (the padding id) or None")
    if not -vocab <= padding_idx < vocab:
        raise ValueError(
            f"{what} must lie in [-{vocab}, {vocab}) for a vocabulary of {vocab} (a negative "
            f"one counts from the end, -1 the last id), got {padding_idx}"
        )
    return padding_idx % vocab


def one_hot(ids, num_classes: int | None = None, dtype=None) -> Tensor:
    """Integer `ids` (...) → one-hot rows (..., num_classes): 1 at each id, 0 elsewhere.

    `ids` is an integer Tensor, NumPy or CuPy array or a (nested) list; the result is on
    their backend (a list's: the active one) and carries no gradient. `num_classes` defaults
    to max(ids) + 1 (PyTorch's -1 means the same); every id must lie in [0, num_classes).
    `dtype` defaults to the default float dtype (float32, see `ts.set_default_dtype`), ready
    to multiply with float tensors; PyTorch's one_hot gives int64: pass dtype="int64"."""
    data = ids.data if isinstance(ids, Tensor) else ids
    if hasattr(data, "dtype"):
        backend.notice_cupy(data)
        xp = backend.array_module(data)
    else:
        data = as_id_array(
            data,
            "one_hot: the rows of ids have different lengths; pad them to one length "
            "(data.pad_or_truncate)",
        )
        xp = backend.xp
        if data.size == 0:  # np.asarray([]) is float64, but no ids is still integer ids
            data = data.astype(np.intp)
    if data.dtype.kind not in "iu":
        raise TypeError(
            f"one_hot: ids must be integers, got dtype {data.dtype} (convert them: "
            "ids.astype('int64'))"
        )
    try:
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"one_hot: dtype must be a NumPy dtype such as 'float32' or 'int64', got {dtype!r}"
        ) from None
    if data.size and int(data.min()) < 0:
        raise ValueError(
            f"one_hot: ids must be class indices >= 0, got ids from {int(data.min())} to "
            f"{int(data.max())} (map the negative ones to a class first)"
        )
    if num_classes is not None:
        num_classes = as_int(num_classes, "one_hot: num_classes", "an int >= 1 (or None)")
    if num_classes is None or num_classes == -1:  # (-1: PyTorch's default)
        if data.size == 0:
            raise ValueError(
                "one_hot: no ids to count the classes from: pass num_classes= (the row length)"
            )
        num_classes = int(data.max()) + 1
    if num_classes < 1:
        raise ValueError(
            f"one_hot: num_classes must be >= 1 (or None: max(ids) + 1), got {num_classes}"
        )
    if data.size and int(data.max()) >= num_classes:
        raise ValueError(
            f"one_hot: ids must lie in [0, {num_classes}) for num_classes={num_classes}; got "
            f"ids up to {int(data.max())} (pass num_classes={int(data.max()) + 1} or more)"
        )
    rows = xp.asarray(data)[..., None] == xp.arange(num_classes)  # (..., num_classes)
    return Tensor(rows.astype(dtype))


def causal_mask(n: int) -> np.ndarray:
    """(n, n) boolean mask, True where query i may attend to key j (j ≤ i)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"causal_mask: n must be a length (an int ≥ 0), got {n!r}")
    return np.tril(np.ones((n, n), dtype=bool))


def padding_mask(lengths, max_len: int) -> np.ndarray:
    """(B, max_len) boolean mask, True at real positions, False at padding.

    lengths (B,): integer token counts in [0, max_len]; max_len an int ≥ 0. It is what
    attention's key_mask= takes (and a recurrent layer's mask=); PyTorch's
    key_padding_mask is its negation (True at padding).
    """
    if isinstance(max_len, bool) or not isinstance(max_len, int | np.integer) or max_len < 0:
        raise ValueError(f"padding_mask: max_len must be a length (an int ≥ 0), got {max_len!r}")
    lengths = backend.host(lengths)
    if lengths.ndim != 1:
        raise ValueError(
            f"padding_mask: lengths must be one count per sequence, shape (B,), got shape "
            f"{lengths.shape}"
        )
    if lengths.size and lengths.dtype.kind not in "iu":  # 2.5 real tokens is no length
        raise TypeError(
            f"padding_mask: lengths must be integers (token counts), got {lengths.dtype}"
        )
    if lengths.size and (lengths.min() < 0 or lengths.max() > max_len):
        raise ValueError(
            f"padding_mask: lengths must lie in [0, {max_len}] (max_len), got values from "
            f"{lengths.min()} to {lengths.max()}"
        )
    return np.arange(max_len)[None, :] < lengths[:, None]


def sample_logits(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """Draw one id per row from softmax(logits / temperature): a language model's next token.

    logits (V,) or (B, V) → int64 ids (1,) or (B, 1), ready to append to the ids (B, T) of
    a generate loop, drawn by `ts.multinomial` (the generator behind `randn` and dropout, so
    `ts.manual_seed` replays a sample). A `temperature` below 1 sharpens the distribution,
    above 1 flattens it; with `top_k`, only the k largest logits of each row can be drawn
    (logits tied with the k-th largest too, as nanoGPT's generate). No gradient is recorded.
    For greedy decoding, take `logits.argmax(-1)` instead."""
    logits = _tensor(logits, "sample_logits")
    temperature = as_float(temperature, "sample_logits: temperature", "a number > 0")
    if not 0.0 < temperature < math.inf:
        raise ValueError(
            f"sample_logits: temperature must be a finite number > 0, got {temperature} (for "
            "the most likely id, take logits.argmax(-1))"
        )
    if logits.ndim not in (1, 2) or logits.dtype.kind != "f":
        raise ValueError(
            f"sample_logits: logits must be float scores (V,) or (B, V), got shape "
            f"{tuple(logits.shape)} of {logits.dtype}"
        )
    with no_grad():
        scaled = logits.detach() / temperature
        if top_k is not None:
            top_k = as_int(top_k, "sample_logits: top_k", "an int >= 1 or None")
            if not 1 <= top_k <= logits.shape[-1]:
                raise ValueError(
                    f"sample_logits: top_k must be in [1, {logits.shape[-1]}] (the number "
                    f"of logits in a row), got {top_k}"
                )
            kth = scaled.topk(top_k)[0][..., -1:]  # (B, 1): the k-th largest of each row
            scaled = where(scaled < kth, -math.inf, scaled)
        return multinomial(scaled.softmax(-1), 1)
