"""Attention as the seed writes it: scores e, weights α = softmax(e), context c = Σ α h.

    additive (Bahdanau, 2014)     e_{t,i} = v_aᵀ tanh(W_a h_t^dec + U_a h_i^enc)
    multiplicative (Luong, 2015)  e_{t,i} = h_t^dec W_a h_i^enc, i.e. (h_t^dec)ᵀ (W_a h_i^enc)
    scaled dot-product (Vaswani)  e_{t,i} = h_t^dec · h_i^enc / √d
    weights                       α_{t,i} = exp(e_{t,i}) / Σ_j exp(e_{t,j})
    context                       c_t = Σ_i α_{t,i} h_i^enc

and the Transformer's multi-head attention (Vaswani et al., 2017),
MultiHead(Q, K, V) = Concat(head_1..head_h) W^O with head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V).

Every attention takes a batch of queries at once: query (B, Tq, dq), keys (B, Tk, dk),
values (B, Tk, dv) (the keys themselves when None), and returns the contexts (B, Tq, dv)
and the weights (B, Tq, Tk). A batch of 1 is broadcast against the others' B, as
torch.matmul and F.scaled_dot_product_attention broadcast: one learned query (1, Tq, dq)
reads each of B key sequences (its gradient sums over them). The weights α take the batch
of query and keys: (1, Tq, Tk) where only the values have B.

Two masks, both boolean and both True where attention may look; a key counts only where
both allow it:
    mask       (B, Tq, Tk), (Tq, Tk) or (B, 1, Tk): True where query t may attend to key i.
               A 2-D mask is always (Tq, Tk), the same for every batch row.
    key_mask   (B, Tk), keyword only: True at the real keys, False at padding, as
               ts.F.padding_mask(lengths, Tk) gives. PyTorch's key_padding_mask is the
               opposite (True = ignore) and is refused by name: write key_mask=~it.
Key padding belongs in key_mask, never in a 2-D mask, which would be read as (Tq, Tk)
whenever B == Tq. A mask copied from PyTorch code, True where attention may NOT look, is
refused where it reads so (see "PyTorch's polarity" below), saying what to write. A query
that may attend to nothing (a padding query) gets all-zero weights and a zero context, as
PyTorch's F.scaled_dot_product_attention gives, never NaN.

As in the rest of ts.nn, vectors are rows: the seed's W_a h (a weight times a column
vector) is computed for a whole batch of rows as h @ W_aᵀ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend, ops
from .._checks import as_bool, as_id_array, wrap_hint
from ..functional import padding_mask
from ..tensor import Tensor, _leaf, apply, where  # (_leaf: an array kept on its backend)
from ._pytorch_keywords import forward_keywords_error
from .module import Ids, Mask, Module, check_float, check_sizes, uniform_init

__all__ = [
    "AdditiveAttention",
    "MultiplicativeAttention",
    "ScaledDotProductAttention",
    "MultiHeadAttention",
    "masked_softmax",
    "scaled_dot_product_attention",
]

# Sequence lengths, as source_mask takes them: (B,) integers as a list, array or Tensor.
Lengths = Tensor | np.ndarray | list


def masked_score(dtype) -> float:
    """What a masked score is set to before the softmax: below any score a model computes
    (a fixed −1e9 would outrank any allowed score below −1e9), so exp gives exactly 0
    there; finite, so a row where every key is masked has no NaN (−inf − (−inf)). float32
    and float64: half their most negative number (−1.7e38 in float32), so score − max
    cannot overflow; float16: its most negative, −65504 (its softmax works in float32)."""
    info = np.finfo(dtype)
    return float(info.min) if info.bits < 32 else float(info.min) / 2


# ------------------------------------------------------------------ shared pieces
def matmul(x: Tensor, W: Tensor) -> Tensor:
    """x (..., n) @ W (n, m) or (n,) → (..., m) or (...).

    The leading axes of x are folded into one first, so the backward's weight gradient is
    a single matrix product rather than one per batch row summed afterwards.
    """
    if x.ndim <= 2:
        return apply(ops.MatMul(), x, W)
    lead = x.shape[:-1]
    flat = apply(ops.MatMul(), x.reshape(-1, x.shape[-1]), W)  # (N, m) or (N,)
    return flat.reshape(*lead, *W.shape[1:])


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape)


def _check_tensor(x, who: str, what: str, ndim: int = 3) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: {what} must be a Tensor, got {type(x).__name__}{wrap_hint(x)}")
    check_float(x, who, what)
    if x.ndim != ndim:
        raise ValueError(f"{who}: {what} must have {ndim} axes (B, T, d), got shape {_shape(x)}")


def check_qkv(who: str, query: Tensor, keys: Tensor, values: Tensor) -> int:
    """Check query (B, Tq, dq), keys (B, Tk, dk), values (B, Tk, dv) agree on B and Tk;
    → B. A batch of 1 broadcasts against the others' B, as torch.matmul's batch axes do."""
    _check_tensor(query, who, "query")
    _check_tensor(keys, who, "keys")
    _check_tensor(values, who, "values")
    batches = {query.shape[0], keys.shape[0], values.shape[0]}
    if len(batches - {1}) > 1:
        raise ValueError(
            f"{who}: query, keys and values must share the batch size (a batch of 1 is "
            f"broadcast to the others'); got query {_shape(query)}, keys {_shape(keys)}, "
            f"values {_shape(values)}"
        )
    if keys.shape[1] != values.shape[1]:
        raise ValueError(
            f"{who}: keys and values must have the same length (one value per key); got "
            f"keys {_shape(keys)} and values {_shape(values)}"
        )
    if keys.shape[1] == 0:  # softmax over nothing: no weights that sum to 1
        raise ValueError(f"{who}: there must be at least one key, got keys {_shape(keys)}")
    return max(batches - {1}, default=1)


# ------------------------------------------------------------------ PyTorch's polarity
# PyTorch's boolean masks are True where attention may NOT look (attn_mask, key_padding_mask,
# nn.Transformer's src_mask, tgt_mask, memory_mask); every mask here is True where it may.
# One copied from PyTorch code fits every shape and dtype check and would be read inverted
# without a word, so a mask is refused where, read this way, it makes no sense and looks
# just like one of PyTorch's:
#  - a (Tq, Tk) mask False everywhere: no query may attend to any key. PyTorch's "no
#    masking", torch.zeros(T, T, dtype=torch.bool).
#  - in self-attention, a (T, T) mask under which no position may attend to itself and the
#    last to nothing (each would see only later ones): PyTorch's causal mask,
#    torch.triu(torch.ones(T, T), 1).bool(). A mask without the diagonal (~eye) or a
#    strictly causal one (tril(-1), whose first query sees nothing) still passes.
#  - when B == Tq, a (Tq, Tk) mask with a query that may attend to no key: a (B, Tk)
#    key_padding_mask (nn.MultiheadAttention's 4th argument, where the 4th here is mask)
#    fits that shape, and its rows without padding are all False.
#  - a key mask (B, Tk) with a row of no real key, no row of real keys only, and every row
#    padded on the same side: PyTorch's key_padding_mask of a batch padded to its longest
#    sequence. Read this way: a batch padded past its longest sequence holding an empty one.
# Of the masks over queries and keys only the 2-D one, shared by the batch, is looked at (the
# form PyTorch's attn_mask is mostly written in): one per batch row, (B, Tq, Tk) or (B, 1,
# Tk), is taken as it is, which is how to give any of the above meant as read:
# np.broadcast_to(mask, (B, Tq, Tk)). Each check is a reduction or two over the mask.
def _is_torch(x: Any) -> bool:
    return type(x).__module__.partition(".")[0] == "torch"


def _key_mask_name(what: str) -> str:
    """The key mask's keyword beside a mask's: mask → key_mask, tgt_mask → tgt_key_mask."""
    return what[: -len("mask")] + "key_mask"


def _pytorch_name(key_what: str) -> str:
    """PyTorch's name for a key mask's: key_mask → key_padding_mask, tgt_key_mask →
    tgt_key_padding_mask."""
    return key_what.replace("key_mask", "key_padding_mask")


def _mask_array(mask: Mask, who: str, what: str) -> Any:
    """A mask's array (NumPy or CuPy; a nested list read by NumPy); a torch tensor is a
    TypeError that says what to pass (its polarity is most likely PyTorch's)."""
    data = mask.data if isinstance(mask, Tensor) else mask
    if _is_torch(data):
        raise TypeError(
            f"{who}: {what} is a torch tensor; pass a NumPy array of booleans, True where "
            f"attention may look: {what}=~m.numpy() for PyTorch's boolean masks (True where "
            f"it may not), {what}=(m == 0).numpy() for its float masks (-inf where it may not)"
        )
    return data if hasattr(data, "dtype") else np.asarray(data)


def dtype_hint(data: Any, what: str, true_at: str = "where attention may look") -> str:
    """What to write for a mask that is not boolean (appended to the TypeError): PyTorch's
    additive float mask (0 and -inf) becomes (m == 0); a 0/1 mask could mean either.
    `true_at` says where the mask is True ("at real tokens")."""
    values = backend.to_numpy(data)  # (the error path only)
    if values.dtype.kind not in "fiu" or not values.size:
        return ""
    if ((values == 0) | (values == 1)).all():
        return (
            f"; a 0/1 mask could mean either: {what} is True {true_at}, so write "
            f"{what}=(m == 1) if 1 marks those, {what}=(m == 0) if 1 marks what to hide "
            "(PyTorch's polarity)"
        )
    if values.dtype.kind == "f" and (values <= 0).all():
        return (
            f"; it holds 0 and negatives, as PyTorch's additive float masks do (0 where "
            f"attention may look, -inf where it may not, as nn.Transformer."
            f"generate_square_subsequent_mask(T) gives): write {what}=(m == 0)"
        )
    return ""


def polarity_error(
    data: Any, batch: int, who: str, what: str = "mask", self_attention: bool = False
) -> ValueError | None:
    """The ValueError for a boolean attention mask that reads as one of PyTorch's (True =
    may not attend), None for any other: data (Tq, Tk), (B, Tq, Tk) or (B, 1, Tk). Only a
    2-D mask, shared by the batch, is looked at: one per batch row is taken as it is."""
    if data.ndim != 2 or not data.size:
        return None
    t_query, t_key = data.shape
    # each rule needs a query that may attend to nothing, the last one for the first two: one
    # look at the last row (its last key, for causal and full masks) passes unless B == Tq
    if batch != t_query and (data[-1, -1] or data[-1].any()):
        return None
    if not data.any():
        return ValueError(
            f"{who}: {what} is False everywhere: no query may attend to any key. Here True = "
            "may attend; PyTorch's boolean masks are True where attention may not look, and "
            f"an all-False one there (torch.zeros(T, T, dtype=torch.bool)) means no masking: "
            f"leave {what} out, or negate a PyTorch mask m: {what}=~m"
        )
    if (
        self_attention
        and t_query == t_key > 1
        and not data[-1].any()
        and not data.ravel()[:: t_key + 1].any()  # the diagonal: no position sees itself
    ):
        default = ", or leave it out (the default)" if what == "tgt_mask" else ""
        return ValueError(
            f"{who}: {what} lets no position attend to itself and the last to nothing, so "
            "each would see only later ones: that is PyTorch's causal mask torch.triu(torch."
            "ones(T, T), 1).bool(), True where attention may not look. Here True = may "
            f"attend: write {what}=ts.F.causal_mask({t_query}) for the causal mask{default}; "
            f"{what}=~m for another PyTorch mask m"
        )
    if batch == t_query > 1:
        can_attend = data.any(axis=1)
        if not can_attend.all():
            row = int(backend.to_numpy(~can_attend).argmax())
            key = _key_mask_name(what)
            where = ", where the 4th here is mask" if what == "mask" else ""
            return ValueError(
                f"{who}: {what} of shape {(t_query, t_key)}, read as (Tq, Tk) for every batch "
                f"row, lets query {row} attend to no key. With B == Tq = {batch} a (B, Tk) key "
                "padding mask fits that shape too, and PyTorch's key_padding_mask (True at "
                f"padding; nn.MultiheadAttention's 4th argument{where}) is all False on each "
                "row without padding: key padding goes in "
                f"{key}=, True at real keys: {key}=~{_pytorch_name(key)}. A (Tq, Tk) mask meant "
                f"so goes as (B, Tq, Tk): np.broadcast_to({what}, {(batch, t_query, t_key)})"
            )
    return None


def key_mask_polarity_error(data: Any, who: str, what: str = "key_mask") -> ValueError | None:
    """The ValueError for a boolean key mask (B, Tk) that reads as PyTorch's
    key_padding_mask (True at padding), None for any other."""
    if not data.size or data[:, 0].all() or data[:, -1].all():
        return None  # (every row has a real key, first or last: the padding masks in use)
    has_real = data.any(axis=1)  # (B,)
    if has_real.all() or data.all(axis=1).any():
        return None
    suffix = not (data[:, :-1] & ~data[:, 1:]).any()  # real keys last in every row
    prefix = not (~data[:, :-1] & data[:, 1:]).any()  # real keys first in every row
    if not (suffix or prefix):
        return None
    row = int(backend.to_numpy(~has_real).argmax())
    mask = what[: -len("key_mask")] + "mask"  # key_mask → mask, tgt_key_mask → tgt_mask
    as_mask = f"{mask}={what}[:, None, :]"
    if mask == "tgt_mask":  # (in place of the causal default: keep it)
        as_mask = f"tgt_mask=ts.F.causal_mask(T) & {what}[:, None, :]"
    return ValueError(
        f"{who}: {what} row {row} has no real key and no row has real keys only, each row "
        "padded on one side: that is PyTorch's key_padding_mask, True at padding, whose "
        f"rows without padding are all False. Here {what} is True at real keys, as "
        f"ts.F.padding_mask(lengths, Tk) gives: write {what}=~{_pytorch_name(what)} (a "
        f"batch that does hold an empty sequence can give it as {as_mask})"
    )


def check_mask(
    mask: Mask,
    batch: int,
    t_query: int,
    t_key: int,
    who: str,
    *,
    what: str = "mask",
    self_attention: bool = False,
) -> Any:
    """A boolean mask checked for dtype, shape and PyTorch's polarity; returned as an
    array of the shape it came in, (B, Tq, Tk), (Tq, Tk) or (B, 1, Tk), on its own backend.

    A mask that is not boolean is a TypeError (with what to write for PyTorch's float
    masks); any other shape is a ValueError naming the shapes that would fit; so is a mask
    that reads as one of PyTorch's, True where attention may not look (`polarity_error`).
    `what` names the argument in messages; `self_attention`: queries and keys are one
    sequence, so query t and key t are the same position.
    """
    data = _mask_array(mask, who, what)
    if data.dtype != bool:
        raise TypeError(
            f"{who}: {what} must be boolean (True = may attend), got dtype {data.dtype}"
            f"{dtype_hint(data, what)}"
        )
    shape = _shape(data)
    if shape not in ((t_query, t_key), (batch, t_query, t_key), (batch, 1, t_key)):
        hint = ""
        if shape == (batch, t_key):  # ts.F.padding_mask's (B, T), given as it comes
            hint = (
                "; a key padding mask (B, Tk), as ts.F.padding_mask gives (True = real key), "
                f"goes in {_key_mask_name(what)}= (PyTorch's key_padding_mask, True = ignore, "
                f"is {_key_mask_name(what)}=~key_padding_mask), or give it a query axis: pass "
                f"{what}[:, None, :]"
            )
        raise ValueError(
            f"{who}: {what} of shape {shape} does not fit {t_query} queries and {t_key} keys "
            f"in a batch of {batch}: expected (B, Tq, Tk) = {(batch, t_query, t_key)}, "
            f"(Tq, Tk) = {(t_query, t_key)}, or key padding (B, 1, Tk) = {(batch, 1, t_key)}"
            f"{hint}"
        )
    error = polarity_error(data, batch, who, what, self_attention)
    if error is not None:
        raise error
    return data


def as_mask(
    mask: Mask,
    batch: int,
    t_query: int,
    t_key: int,
    who: str,
    like: Tensor,
    *,
    what: str = "mask",
    self_attention: bool = False,
) -> Any:
    """A boolean mask as a backend array of shape (B, Tq, Tk), (1, Tq, Tk) or (B, 1, Tk).

    Accepts a bool Tensor, NumPy or CuPy array of shape (B, Tq, Tk), (Tq, Tk) or (B, 1, Tk),
    checked by `check_mask`. A 2-D mask is always (Tq, Tk), shared by the batch, even when
    B == Tq: key padding (B, Tk) goes in key_mask= (`as_key_mask`), or here as (B, 1, Tk).
    """
    data = check_mask(mask, batch, t_query, t_key, who, what=what, self_attention=self_attention)
    if data.ndim == 2:
        data = data.reshape(1, t_query, t_key)
    return backend.array_module(like.data).asarray(data)


def check_key_mask(key_mask: Mask, batch: int, t_key: int, who: str, what: str = "key_mask"):
    """A key padding mask checked: boolean (a TypeError if not: a 0/1 mask could mean
    either polarity) of shape exactly (B, Tk) (a ValueError if not), and not one that reads
    as PyTorch's key_padding_mask (`key_mask_polarity_error`); returned as its array."""
    data = _mask_array(key_mask, who, what)
    if data.dtype != bool:
        raise TypeError(
            f"{who}: {what} must be boolean, True at real keys (those that may be "
            f"attended), False at padding, as ts.F.padding_mask(lengths, Tk) gives; got dtype "
            f"{data.dtype}{dtype_hint(data, what, 'at real keys')}"
        )
    if _shape(data) != (batch, t_key):
        raise ValueError(
            f"{who}: {what} must have shape (B, Tk) = {(batch, t_key)}, one flag per key of "
            f"each batch row, got shape {_shape(data)}; a mask over queries and keys goes in "
            "mask="
        )
    error = key_mask_polarity_error(data, who, what)
    if error is not None:
        raise error
    return data


def as_key_mask(key_mask: Mask, batch: int, t_key: int, who: str, like: Tensor) -> Any:
    """A key padding mask (B, Tk), True at real keys, as a backend array (B, 1, Tk).

    Accepts a bool Tensor, NumPy or CuPy array of shape exactly (B, Tk), checked by
    `check_key_mask`.
    """
    data = check_key_mask(key_mask, batch, t_key, who)
    return backend.array_module(like.data).asarray(data).reshape(batch, 1, t_key)


def attention_mask(
    mask: Mask | None,
    key_mask: Mask | None,
    batch: int,
    t_query: int,
    t_key: int,
    who: str,
    like: Tensor,
    self_attention: bool = False,
) -> Any:
    """mask and key_mask checked and joined, True where both allow: a backend array of
    shape (B, Tq, Tk), (1, Tq, Tk) or (B, 1, Tk), or None when both are None.
    `self_attention`: queries and keys are one sequence (see `polarity_error`)."""
    if mask is not None:
        mask = as_mask(mask, batch, t_query, t_key, who, like, self_attention=self_attention)
    if key_mask is None:
        return mask
    key_mask = as_key_mask(key_mask, batch, t_key, who, like)  # (B, 1, Tk)
    return key_mask if mask is None else mask & key_mask


def masked_softmax(e: Tensor, mask: Any = None) -> Tensor:
    """α = softmax(e) over the last axis (keys), exactly 0 where `mask` is False.

    e (..., Tq, Tk); mask a boolean backend array (or a Tensor of one) broadcastable to
    e. A row with no allowed key gets all-zero weights (and zero gradient), not NaN.
    """
    if mask is None:
        return e.softmax(axis=-1)
    if isinstance(mask, Tensor):  # (as the modules take it)
        mask = mask.data
    xp = backend.array_module(e.data)
    fill = _leaf(xp.asarray(masked_score(e.dtype), dtype=e.dtype), name="masked")
    alpha = where(mask, e, fill).softmax(axis=-1)
    if not bool(mask.any(axis=-1).all()):  # some query may attend to nothing
        alpha = where(mask, alpha, 0.0)  # its row was uniform over masked keys: zero it
    return alpha


def scaled_dot_product_attention(
    Q: Tensor, K: Tensor, V: Tensor, mask: Any = None
) -> tuple[Tensor, Tensor]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V, batched over every leading axis.

    Q (..., Tq, d_k), K (..., Tk, d_k), V (..., Tk, d_v) → (context (..., Tq, d_v),
    α (..., Tq, Tk)); `mask` a boolean backend array (or a Tensor of one) broadcastable to
    (..., Tq, Tk).
    """
    d_k = Q.shape[-1]
    e = (Q @ K.transpose(*range(K.ndim - 2), -1, -2)) * (1.0 / math.sqrt(d_k))  # (.., Tq, Tk)
    e.name = "e"
    alpha = masked_softmax(e, mask)  # (..., Tq, Tk)
    alpha.name = "alpha"
    context = alpha @ V  # (..., Tq, d_v)
    context.name = "c"
    return context, alpha


# ------------------------------------------------------------------ token masks
def ids_array(ids: Ids, who: str, what: str, vocab: int | None = None) -> Any:
    """Token ids (integer Tensor, NumPy/CuPy array or nested list) as an array (B, T).

    Ids that are not integers are a TypeError; a shape other than (B, T) with T >= 1 is a
    ValueError (a model has nothing to read or write in an empty sequence), and so, with
    `vocab`, is an id outside [0, vocab), named as `what` (src or tgt_in), not as the
    embedding table it would have reached.
    """
    data = as_id_array(
        ids.data if isinstance(ids, Tensor) else ids,
        f"{who}: {what} rows have different lengths; pad them to one length "
        "(data.pad_or_truncate) and pass the true lengths as src_lengths",
    )
    if data.dtype.kind not in "iu":
        raise TypeError(
            f"{who}: {what} must be integer token ids of shape (B, T), got dtype {data.dtype} "
            f"(shape {tuple(data.shape)})"
        )
    if data.ndim != 2:
        raise ValueError(
            f"{who}: {what} must be integer token ids of shape (B, T), got shape "
            f"{tuple(data.shape)}"
        )
    if data.shape[1] == 0:
        raise ValueError(
            f"{who}: {what} has no tokens (shape {tuple(data.shape)}); each row needs at "
            "least one, T >= 1"
        )
    if vocab is not None and data.size:  # (an empty batch, B = 0, has no id to check)
        low, high = int(data.min()), int(data.max())
        if low < 0 or high >= vocab:
            side = "tgt_vocab" if what.startswith("tgt") else "src_vocab"
            raise ValueError(
                f"{who}: {what} ids must lie in [0, {vocab}) ({side}={vocab}), got ids from "
                f"{low} to {high}; build the model with a larger {side}, or map the ids "
                "through the vocabulary it was built for"
            )
    return data


def check_src_mask(src_mask: Mask, batch: int, t_in: int, who: str) -> Any:
    """`src_mask` checked to be boolean (a TypeError if not) of shape (B, T_in) with a
    True in every row (a ValueError if not: as src_lengths >= 1, every source needs a real
    token); returned as an array. The messages say what to write for PyTorch's masks: its
    src_key_padding_mask is the negation (True at padding, so a row without padding has no
    True), and nn.Transformer's src_mask is an (S, S) attention mask."""
    mask = _mask_array(src_mask, who, "src_mask")
    negate = "PyTorch's src_key_padding_mask (True at padding) is src_mask=~src_key_padding_mask"
    if mask.dtype != bool:
        raise TypeError(
            f"{who}: src_mask must be boolean (True = real token) of shape (B, T_in) = "
            f"{(batch, t_in)}, got dtype {mask.dtype}"
            f"{dtype_hint(mask, 'src_mask', 'at real tokens')}"
        )
    if tuple(mask.shape) != (batch, t_in):
        square = ""
        if tuple(mask.shape) == (t_in, t_in):
            square = (
                "; an (S, S) mask over source positions is PyTorch's nn.Transformer src_mask, "
                "which this model does without (every real source token sees every other): "
                f"leave it out, and give padding as src_lengths= or src_mask; {negate}"
            )
        raise ValueError(
            f"{who}: src_mask must be boolean of shape (B, T_in) = {(batch, t_in)}, True at "
            f"real tokens, got shape {tuple(mask.shape)}{square}"
        )
    if t_in and not bool(mask.any(axis=1).all()):
        row = int(backend.to_numpy(~mask.any(axis=1)).argmax())
        raise ValueError(
            f"{who}: src_mask row {row} has no True (real token); every source needs at "
            f"least one, as src_lengths must be >= 1. src_mask is True at real tokens: "
            f"{negate}, whose rows without padding are all False"
        )
    return mask


def source_mask(
    src: Any, src_lengths: Lengths | None = None, src_mask: Mask | None = None, who: str = "model"
) -> Any:
    """The (B, T_in) boolean mask of real source tokens (True) from lengths or a mask.

    src: the ids array (B, T_in) from `ids_array` (only its shape is read); src_lengths
    (B,) integers in [1, T_in]; src_mask (B, T_in) boolean. → a boolean array (B, T_in),
    or None when neither is given (no padding).
    """
    B, T = src.shape
    if src_lengths is not None and src_mask is not None:
        raise ValueError(f"{who}: give src_lengths or src_mask, not both")
    if src_lengths is not None:
        lengths = backend.host(src_lengths)
        # 2.5 real tokens is no length (nor is True); an empty batch's [] is float64 to NumPy
        if lengths.size and lengths.dtype.kind not in "iu":
            raise TypeError(
                f"{who}: src_lengths must be integers (token counts), got {lengths.dtype}"
            )
        if lengths.shape != (B,):
            raise ValueError(
                f"{who}: src_lengths must have shape ({B},) for src of shape {(B, T)}, got "
                f"shape {lengths.shape}"
            )
        if lengths.min(initial=1) < 1 or lengths.max(initial=0) > T:
            raise ValueError(
                f"{who}: src_lengths must lie in [1, {T}] for src of shape {(B, T)}, got "
                f"values from {lengths.min()} to {lengths.max()}"
            )
        return padding_mask(lengths, T)
    if src_mask is not None:
        return check_src_mask(src_mask, B, T, who)
    return None


class _Attention(Module):
    """The part every score function shares: α = softmax(e), c_t = Σ_i α_{t,i} v_i.

    A subclass defines `project_keys(keys)` (the key-side work, done once per sequence)
    and `scores(query, projected_keys) -> e (B, Tq, Tk)`. A recurrent decoder that asks
    for one query per step calls `project_keys` once and `attend` at each step.
    """

    q_dim: int | None = None
    k_dim: int | None = None

    def _check_widths(self, query: Tensor, keys: Tensor) -> None:
        who = type(self).__name__
        if self.q_dim is not None and query.shape[-1] != self.q_dim:
            raise ValueError(
                f"{who}: expected query with last axis q_dim={self.q_dim}, got query "
                f"{_shape(query)}"
            )
        if self.k_dim is not None and keys.shape[-1] != self.k_dim:
            raise ValueError(
                f"{who}: expected keys with last axis k_dim={self.k_dim}, got keys {_shape(keys)}"
            )

    def project_keys(self, keys: Tensor) -> Tensor:  # pragma: no cover - overridden
        """The key-side work of the scores: keys (B, Tk, dk) → projected keys (B, Tk, a)."""
        raise NotImplementedError

    def scores(self, query: Tensor, projected_keys: Tensor) -> Tensor:  # pragma: no cover
        """query (B, Tq, dq), projected keys (B, Tk, a) → e (B, Tq, Tk)."""
        raise NotImplementedError

    def attend(
        self, query: Tensor, projected_keys: Tensor, values: Tensor, mask: Any = None
    ) -> tuple[Tensor, Tensor]:
        """(c (B, Tq, dv), α (B, Tq, Tk)) from keys already through `project_keys`.

        The step a recurrent decoder takes once per query, after one `project_keys` per
        sequence. Nothing is checked here: `mask` (True = may attend) is None or a boolean
        array of the backend's, (B, Tq, Tk), (1, Tq, Tk) or (B, 1, Tk).
        """
        e = self.scores(query, projected_keys)  # (B, Tq, Tk)
        e.name = "e_t"
        alpha = masked_softmax(e, mask)  # α_{t,i}, each row a distribution over keys
        alpha.name = "alpha_t"
        context = alpha @ values  # c_t = Σ_i α_{t,i} h_i^enc: (B, Tq, dv)
        context.name = "c_t"
        self._last_attention = alpha.data
        return context, alpha

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor | None = None,
        mask: Mask | None = None,
        *,
        key_mask: Mask | None = None,
        **misnamed,
    ) -> tuple[Tensor, Tensor]:
        """(context c (B, Tq, dv), weights α (B, Tq, Tk)) of each query over the keys.

        Shapes: query (B, Tq, dq), keys (B, Tk, dk), values (B, Tk, dv) or None (= keys);
        a batch of 1 is broadcast to the others' B. mask boolean (B, Tq, Tk), (Tq, Tk) or
        (B, 1, Tk), True = may attend; a 2-D mask is always (Tq, Tk). key_mask boolean
        (B, Tk), True = a real key, False = padding (`ts.F.padding_mask(lengths, Tk)`;
        PyTorch's key_padding_mask is its negation). A key counts where both allow it; a
        query with no allowed key gets all-zero weights. Masks that read as PyTorch's (True =
        may not attend) are refused, as by MultiHeadAttention."""
        if misnamed:
            raise forward_keywords_error(self, misnamed)
        values = keys if values is None else values
        who = type(self).__name__
        B = check_qkv(who, query, keys, values)
        self._check_widths(query, keys)
        Tq, Tk = query.shape[1], keys.shape[1]
        mask = attention_mask(mask, key_mask, B, Tq, Tk, who, query, query is keys)
        return self.attend(query, self.project_keys(keys), values, mask)

    @property
    def last_attention(self) -> np.ndarray | None:
        """The weights α (B, Tq, Tk) of the last call, as a NumPy array (for plots)."""
        last = getattr(self, "_last_attention", None)
        return None if last is None else backend.to_numpy(last)


# ------------------------------------------------------------------ the seed's scores
class AdditiveAttention(_Attention):
    """Bahdanau: e_{t,i} = v_aᵀ tanh(W_a h_t^dec + U_a h_i^enc).

    W_a (attn_dim, q_dim), U_a (attn_dim, k_dim), v_a (attn_dim,).
    """

    def __init__(self, q_dim: int, k_dim: int, attn_dim: int) -> None:
        super().__init__()
        check_sizes("AdditiveAttention", q_dim=q_dim, k_dim=k_dim, attn_dim=attn_dim)
        self.q_dim, self.k_dim, self.attn_dim = q_dim, k_dim, attn_dim
        self.W_a = uniform_init((attn_dim, q_dim), q_dim, name="W_a")
        self.U_a = uniform_init((attn_dim, k_dim), k_dim, name="U_a")
        self.v_a = uniform_init((attn_dim,), attn_dim, name="v_a")

    def project_keys(self, keys: Tensor) -> Tensor:
        """U_a h_i^enc for every key: (B, Tk, dk) → (B, Tk, attn_dim)."""
        Ua_h = matmul(keys, self.U_a.T)  # U_a h_i^enc for every key, as rows: keys @ U_aᵀ
        Ua_h.name = "U_a h_enc"
        return Ua_h

    def scores(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """e_{t,i} = v_aᵀ tanh(W_a h_t^dec + U_a h_i^enc) for every query and key.

        Shapes: query (B, Tq, dq), projected keys U_a h^enc (B, Tk, attn_dim) → e (B, Tq, Tk)
        (either B may be 1, broadcast to the other's)."""
        B_q, Tq, _ = query.shape
        B_k, Tk, _ = projected_keys.shape
        Wa_s = matmul(query, self.W_a.T).reshape(B_q, Tq, 1, self.attn_dim)  # W_a h_t^dec
        Ua_h = projected_keys.reshape(B_k, 1, Tk, self.attn_dim)  # U_a h_i^enc
        hidden = (Wa_s + Ua_h).tanh()  # (B, Tq, Tk, attn_dim): every (t, i) pair
        return matmul(hidden, self.v_a)  # v_aᵀ tanh(...): (B, Tq, Tk)


class MultiplicativeAttention(_Attention):
    """Luong: e_{t,i} = h_t^dec W_a h_i^enc = (h_t^dec)ᵀ W_a h_i^enc, with W_a (q_dim, k_dim)."""

    def __init__(self, q_dim: int, k_dim: int) -> None:
        super().__init__()
        check_sizes("MultiplicativeAttention", q_dim=q_dim, k_dim=k_dim)
        self.q_dim, self.k_dim = q_dim, k_dim
        self.W_a = uniform_init((q_dim, k_dim), k_dim, name="W_a")

    def project_keys(self, keys: Tensor) -> Tensor:
        """W_a h_i^enc for every key: (B, Tk, dk) → (B, Tk, dq)."""
        Wa_h = matmul(keys, self.W_a.T)  # W_a h_i^enc for every key, as rows: keys @ W_aᵀ
        Wa_h.name = "W_a h_enc"
        return Wa_h

    def scores(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """e_{t,i} = (h_t^dec)ᵀ W_a h_i^enc for every query and key.

        Shapes: query (B, Tq, dq), projected keys W_a h^enc (B, Tk, dq) → e (B, Tq, Tk)."""
        # e_{t,i} = (h_t^dec)ᵀ (W_a h_i^enc): (B, Tq, dq) @ (B, dq, Tk)
        return query @ projected_keys.transpose(0, 2, 1)


class ScaledDotProductAttention(_Attention):
    """e_{t,i} = h_t^dec · h_i^enc / √d: no weights; query and keys must be equally wide."""

    def _check_widths(self, query: Tensor, keys: Tensor) -> None:
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(
                f"ScaledDotProductAttention: query and keys must have the same last axis "
                f"(the dot product needs it); got query {_shape(query)} and keys "
                f"{_shape(keys)}"
            )

    def project_keys(self, keys: Tensor) -> Tensor:
        """No key-side work: keys (B, Tk, d) are used as they are."""
        return keys

    def scores(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """e_{t,i} = h_t^dec · h_i^enc / √d: query (B, Tq, d), keys (B, Tk, d) → e (B, Tq, Tk)."""
        d = query.shape[-1]
        return (query @ projected_keys.transpose(0, 2, 1)) * (1.0 / math.sqrt(d))


# ------------------------------------------------------------------ the Transformer's
class MultiHeadAttention(Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, head_i = Attention(Q W_i^Q, ...).

    W_Q, W_K, W_V, W_O are (d_model, d_model) and multiply from the right, as the seed's
    Q = X W^Q; head i owns columns [i·d_k, (i+1)·d_k) of W_Q, W_K and W_V, with
    d_k = d_model / num_heads. All heads run at once, as one batched matmul. With `bias`
    (the default, as in PyTorch's nn.MultiheadAttention) b_Q, b_K, b_V, b_O (d_model,) are
    added after each product; the seed writes none (bias=False).
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        check_sizes("MultiHeadAttention", d_model=d_model, num_heads=num_heads)
        bias = as_bool(bias, "MultiHeadAttention: bias")
        if num_heads < 1 or d_model % num_heads:
            raise ValueError(
                f"MultiHeadAttention: num_heads must divide d_model so every head gets "
                f"d_k = d_model / num_heads columns; got d_model={d_model}, "
                f"num_heads={num_heads}"
            )
        self.d_model, self.num_heads, self.d_k = d_model, num_heads, d_model // num_heads
        d = d_model
        self.W_Q = uniform_init((d, d), d, "W_Q")
        self.W_K = uniform_init((d, d), d, "W_K")
        self.W_V = uniform_init((d, d), d, "W_V")
        self.W_O = uniform_init((d, d), d, "W_O")
        self.b_Q = uniform_init((d,), d, "b_Q") if bias else None
        self.b_K = uniform_init((d,), d, "b_K") if bias else None
        self.b_V = uniform_init((d,), d, "b_V") if bias else None
        self.b_O = uniform_init((d,), d, "b_O") if bias else None

    def _split_heads(self, X: Tensor) -> Tensor:
        """(B, T, d_model) → (B, heads, T, d_k): head i is columns [i·d_k, (i+1)·d_k)."""
        B, T, _ = X.shape
        return X.reshape(B, T, self.num_heads, self.d_k).transpose(0, 2, 1, 3)

    def forward(
        self,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        mask: Mask | None = None,
        *,
        key_mask: Mask | None = None,
        **misnamed,
    ) -> tuple[Tensor, Tensor]:
        """(out (B, Tq, d_model), weights (B, heads, Tq, Tk)) for queries q, keys k, values v.

        Shapes: q (B, Tq, d_model), k and v (B, Tk, d_model) (a batch of 1 is broadcast to
        the others' B), mask (Tq, Tk), (B, Tq, Tk) or (B, 1, Tk), key_mask (B, Tk) →
        (out (B, Tq, d_model), weights (B, heads, Tq, Tk)).

        Both masks are boolean, True where attention may look, and broadcast over heads: mask
        True = query t may attend to key i (a 2-D mask is always (Tq, Tk)); key_mask True =
        a real key, False = padding (PyTorch's key_padding_mask is its negation). The 4th
        argument is mask, where nn.MultiheadAttention's is key_padding_mask: key padding goes
        in key_mask=.

        A mask that reads as one of PyTorch's (True where attention may not look) is refused
        with what to write: a 2-D mask False everywhere (torch.zeros(T, T, dtype=torch.bool),
        no masking there); in self-attention (q is k), a 2-D mask under which no position may
        attend to itself and the last to nothing (the causal torch.triu(ones, 1).bool()); when
        B == Tq, a 2-D mask with a query that may attend to nothing (a (B, Tk)
        key_padding_mask fits (Tq, Tk) then); a key_mask with a row of no real key, none of
        real keys only, each padded on one side (a key_padding_mask). A float mask (PyTorch's
        additive -inf/0) is a TypeError saying to write (m == 0), a torch tensor one saying to
        pass m.numpy(). A 3-D mask is taken as it is: a 2-D one meant as read goes as
        np.broadcast_to(mask, (B, Tq, Tk))."""
        if misnamed:
            raise forward_keywords_error(self, misnamed)
        B = check_qkv("MultiHeadAttention", q, k, v)
        for what, x in (("query", q), ("keys", k), ("values", v)):
            if x.shape[-1] != self.d_model:
                raise ValueError(
                    f"MultiHeadAttention: expected {what} with last axis d_model="
                    f"{self.d_model}, got {_shape(x)} (query {_shape(q)}, keys {_shape(k)}, "
                    f"values {_shape(v)})"
                )
        Tq, Tk = q.shape[1], k.shape[1]
        mask = attention_mask(mask, key_mask, B, Tq, Tk, "MultiHeadAttention", q, q is k)
        if mask is not None:
            mask = mask.reshape(mask.shape[0], 1, mask.shape[1], Tk)  # broadcast over heads

        Q = matmul(q, self.W_Q)  # Q = X W^Q: (B, Tq, d_model)
        K = matmul(k, self.W_K)  # (B, Tk, d_model)
        V = matmul(v, self.W_V)  # (B, Tk, d_model)
        if self.b_Q is not None:
            Q, K, V = Q + self.b_Q, K + self.b_K, V + self.b_V
        Q.name, K.name, V.name = "Q", "K", "V"
        Q, K, V = self._split_heads(Q), self._split_heads(K), self._split_heads(V)
        heads, alpha = scaled_dot_product_attention(Q, K, V, mask)  # (B, h, Tq, d_k)
        heads.name = "head_i"
        concat = heads.transpose(0, 2, 1, 3).reshape(B, Tq, self.d_model)  # Concat(heads)
        concat.name = "Concat(head_1..head_h)"
        out = matmul(concat, self.W_O)  # Concat(head_1..head_h) W^O
        if self.b_O is not None:
            out = out + self.b_O
        out.name = "MultiHead"
        self._last_attention = alpha.data
        return out, alpha

    @property
    def last_attention(self) -> np.ndarray | None:
        """The weights (B, heads, Tq, Tk) of the last call, as a NumPy array (for plots)."""
        last = getattr(self, "_last_attention", None)
        return None if last is None else backend.to_numpy(last)
