"""The Transformer (Vaswani et al., 2017, "Attention Is All You Need"): no recurrence.

    input     = token_embedding + positional_encoding
    PE_{pos,2i}   = sin(pos / 10000^{2i/d_model})
    PE_{pos,2i+1} = cos(pos / 10000^{2i/d_model})

    encoder block                      decoder block
    x = LN(x + MultiHead(x, x, x))     y = LN(y + MultiHead(y, y, y, causal mask))
    x = LN(x + FFN(x))                 y = LN(y + MultiHead(y, enc, enc))   (cross-attention)
                                       y = LN(y + FFN(y))

with FFN(x) = max(0, x W_1 + b_1) W_2 + b_2 and post-LN "Add & normalize", in the seed's
order. Every layer runs inside ts.scope("encoder"/"decoder") and ts.scope(f"layer={i}"),
so a rendered graph shows the blocks.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from .._checks import as_float
from ..autograd import no_grad, scope
from ..tensor import Tensor, _leaf
from ._pytorch_keywords import forward_keywords_error
from .attention import (
    Lengths,
    MultiHeadAttention,
    check_key_mask,
    check_mask,
    check_src_mask,
    ids_array,
    matmul,
    source_mask,
)
from .linear import Embedding, LayerNorm, Linear, check_last_axis
from .module import (
    Ids,
    Mask,
    Module,
    check_decode,
    check_sizes,
    evaluating,
    uniform_init,
)

__all__ = [
    "sinusoidal_positions",
    "PositionalEncoding",
    "FeedForward",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "Transformer",
]


def sinusoidal_positions(n_positions: int, d_model: int) -> np.ndarray:
    """The seed's PE (n_positions, d_model): sin on even columns 2i, cos on odd 2i+1.

    PE_{pos,2i} = sin(pos / 10000^{2i/d_model}), PE_{pos,2i+1} = cos(pos / 10000^{2i/d_model}).
    A NumPy float64 array (wrap it in a Tensor to use it on a backend).
    """
    check_sizes("sinusoidal_positions", at_least=0, n_positions=n_positions)
    check_sizes("sinusoidal_positions", d_model=d_model)
    pos = np.arange(n_positions, dtype=np.float64)[:, None]  # (n, 1)
    two_i = np.arange(0, d_model, 2, dtype=np.float64)[None, :]  # 2i = 0, 2, 4, ...: (1, ⌈d/2⌉)
    angle = pos / 10000.0 ** (two_i / d_model)  # (n, ⌈d/2⌉)
    PE = np.zeros((n_positions, d_model))
    PE[:, 0::2] = np.sin(angle)
    PE[:, 1::2] = np.cos(angle[:, : d_model // 2])  # an odd d_model has one sin column more
    return PE


class PositionalEncoding(Module):
    """x (B, T, d_model) → x + PE[:T]: tells attention where each token sits (no weights)."""

    def __init__(self, d_model: int, max_len: int = 512) -> None:
        super().__init__()
        check_sizes("PositionalEncoding", d_model=d_model, max_len=max_len)
        self.d_model, self.max_len = d_model, max_len
        self._table = sinusoidal_positions(max_len, d_model)  # NumPy float64
        self._on_backend: dict = {}  # (array module, dtype) -> the table there, made once

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, d_model) → x + PE[:T], the same shape."""
        check_last_axis(x, self.d_model, "PositionalEncoding")
        if x.ndim < 2:
            raise ValueError(
                f"PositionalEncoding: x must be (..., T, d_model), got shape {tuple(x.shape)}"
            )
        T = x.shape[-2]
        if T > self.max_len:
            raise ValueError(
                f"PositionalEncoding: sequence of length {T} (input {tuple(x.shape)}) is "
                f"longer than max_len={self.max_len}; build it with a larger max_len"
            )
        xp = backend.array_module(x.data)
        key = (xp.__name__, x.dtype)
        if key not in self._on_backend:  # no host-to-device copy at every call
            self._on_backend[key] = xp.asarray(self._table, dtype=x.dtype)
        PE = _leaf(self._on_backend[key][:T], name="PE")  # (T, d_model), on x's backend
        out = x + PE
        out.name = "x + PE"
        return out


class FeedForward(Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied at every position alike.

    W_1 (d_model, d_ff), W_2 (d_ff, d_model): right-multiplied, as the seed's Q = X W^Q.
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        check_sizes("FeedForward", d_model=d_model, d_ff=d_ff)
        self.d_model, self.d_ff = d_model, d_ff
        self.W_1 = uniform_init((d_model, d_ff), d_model, "W_1")
        self.b_1 = uniform_init((d_ff,), d_model, "b_1")
        self.W_2 = uniform_init((d_ff, d_model), d_ff, "W_2")
        self.b_2 = uniform_init((d_model,), d_ff, "b_2")

    def forward(self, x: Tensor) -> Tensor:
        check_last_axis(x, self.d_model, "FeedForward")
        hidden = (matmul(x, self.W_1) + self.b_1).relu()  # (B, T, d_ff)
        out = matmul(hidden, self.W_2) + self.b_2  # (B, T, d_model)
        out.name = "FFN"
        return out


# each sublayer's x = LayerNorm(x + Sublayer(x)), named as the seed's blocks list it
ADD_NORM = "Add & normalize"


def _check_layer_sizes(who: str, d_model: int, heads: int, d_ff: int, dropout: float) -> float:
    """The sizes checked; returns dropout as a float (a 0-d array or a Fraction works)."""
    check_sizes(who, d_model=d_model, heads=heads, d_ff=d_ff)
    _check_heads(d_model, heads, who)
    p = as_float(dropout, f"{who}: dropout")
    if not 0 <= p < 1:
        raise ValueError(f"{who}: dropout must be a probability in [0, 1), got {p}")
    return p


def _check_heads(d_model: int, heads: int, who: str) -> None:
    if heads < 1 or d_model % heads:
        raise ValueError(
            f"{who}: heads must divide d_model (each head gets d_model / heads columns); "
            f"got d_model={d_model}, heads={heads}"
        )


def _named(error: Exception, checks) -> Exception:
    """The error to raise for one a layer's attention raised: the first a layer's own checks
    of its masks raise (naming the layer and its argument: tgt_mask, not MultiHeadAttention's
    mask), else the attention's. Run only on the way out of a failed call, so the masks are
    checked once per call, by the attention."""
    try:
        checks()
    except (TypeError, ValueError) as named:
        return named
    return error


class TransformerEncoderLayer(Module):
    """One encoder block: x = LN(x + MultiHead(x, x, x)); x = LN(x + FFN(x)). (B, T, d)."""

    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        dropout = _check_layer_sizes("TransformerEncoderLayer", d_model, heads, d_ff, dropout)
        self.d_model, self.dropout = d_model, dropout
        self.self_attention = MultiHeadAttention(d_model, heads)
        self.norm_1 = LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff)
        self.norm_2 = LayerNorm(d_model)

    def forward(
        self, x: Tensor, mask: Mask | None = None, *, key_mask: Mask | None = None, **misnamed
    ) -> Tensor:
        """x (B, T, d_model) → (B, T, d_model).

        mask (T, T), (B, T, T) or (B, 1, T), True where position t may attend to i (PyTorch's
        boolean src_mask is its negation); key_mask (B, T), True at real tokens, False at
        padding (PyTorch's src_key_padding_mask is its negation). Self-attention looks where
        both allow. A mask that reads as one of PyTorch's is refused, saying what to write:
        all False (torch.zeros(T, T, dtype=torch.bool), no masking there), the causal mask
        torch.triu(ones, 1).bool() (no position sees itself, the last sees nothing), a
        key_mask that is a key_padding_mask (see ts.nn.MultiHeadAttention)."""
        if misnamed:
            raise forward_keywords_error(self, misnamed)
        who = "TransformerEncoderLayer"
        check_last_axis(x, self.d_model, who)

        def checks():  # the masks, named as this layer's arguments
            B, T = x.shape[0], x.shape[-2]
            if mask is not None:
                check_mask(mask, B, T, T, who, self_attention=True)
            if key_mask is not None:
                check_key_mask(key_mask, B, T, who)

        with scope("self_attention"):
            try:  # (attention checks the masks; on an error, `checks` names the one at fault)
                a, _ = self.self_attention(x, x, x, mask, key_mask=key_mask)
            except (TypeError, ValueError) as error:
                raise _named(error, checks) from None
            x = self.norm_1(x + F.dropout(a, self.dropout, self.training))  # add & normalize
            x.name = ADD_NORM
        with scope("ffn"):
            x = self.norm_2(x + F.dropout(self.ffn(x), self.dropout, self.training))
            x.name = ADD_NORM
        return x

    @property
    def last_attention(self) -> np.ndarray | None:
        """Self-attention weights (B, heads, T, T) of the last call."""
        return self.self_attention.last_attention


class TransformerDecoderLayer(Module):
    """One decoder block: masked self-attention, cross-attention, FFN, each with add & normalize.

    Cross-attention reads the encoder's output; y (B, T_out, d), memory (B, T_in, d) →
    (B, T_out, d)."""

    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        dropout = _check_layer_sizes("TransformerDecoderLayer", d_model, heads, d_ff, dropout)
        self.d_model, self.dropout = d_model, dropout
        self.self_attention = MultiHeadAttention(d_model, heads)
        self.norm_1 = LayerNorm(d_model)
        self.cross_attention = MultiHeadAttention(d_model, heads)
        self.norm_2 = LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff)
        self.norm_3 = LayerNorm(d_model)

    def forward(
        self,
        y: Tensor,
        memory: Tensor,
        tgt_mask: Mask | None = None,
        memory_mask: Mask | None = None,
        *,
        tgt_key_mask: Mask | None = None,
        memory_key_mask: Mask | None = None,
        **misnamed,
    ) -> Tensor:
        """y (B, T_out, d), memory = encoder output (B, T_in, d) → (B, T_out, d).

        Every mask is boolean, True where attention may look: PyTorch's tgt_mask and
        memory_mask, under the same names, are the opposite (True where it may not), and so
        are its key padding masks. tgt_mask (T_out, T_out) or (B, T_out, T_out) defaults to
        the causal mask ts.F.causal_mask(T_out); memory_mask (T_out, T_in), (B, T_out, T_in)
        or (B, 1, T_in). tgt_key_mask (B, T_out) and memory_key_mask (B, T_in): True at real
        tokens, False at padding (the negations of PyTorch's tgt_key_padding_mask and
        memory_key_padding_mask). A mask that reads as one of PyTorch's is refused, saying
        what to write: all False (no masking there), a tgt_mask under which no position sees
        itself and the last sees nothing (PyTorch's causal torch.triu(ones, 1).bool()), a key
        mask that is a key padding mask (see ts.nn.MultiHeadAttention); a float mask (PyTorch's
        -inf/0, as nn.Transformer.generate_square_subsequent_mask gives) is a TypeError."""
        if misnamed:
            raise forward_keywords_error(self, misnamed)
        who = "TransformerDecoderLayer"
        check_last_axis(y, self.d_model, who)
        check_last_axis(memory, self.d_model, who, "memory")
        given_tgt_mask = tgt_mask
        if tgt_mask is None:
            tgt_mask = F.causal_mask(y.shape[1])  # position t sees targets ≤ t only

        def checks():  # the masks, named as this layer's arguments
            B, T_out, T_in = y.shape[0], y.shape[-2], memory.shape[-2]
            B_memory = max(B, memory.shape[0])  # (a batch of 1 is broadcast)
            if given_tgt_mask is not None:
                check_mask(tgt_mask, B, T_out, T_out, who, what="tgt_mask", self_attention=True)
            if tgt_key_mask is not None:
                check_key_mask(tgt_key_mask, B, T_out, who, "tgt_key_mask")
            if memory_mask is not None:
                check_mask(memory_mask, B_memory, T_out, T_in, who, what="memory_mask")
            if memory_key_mask is not None:
                check_key_mask(memory_key_mask, B_memory, T_in, who, "memory_key_mask")

        p, training = self.dropout, self.training
        try:  # (attention checks the masks; on an error, `checks` names the one at fault)
            with scope("self_attention"):
                a, _ = self.self_attention(y, y, y, tgt_mask, key_mask=tgt_key_mask)
                y = self.norm_1(y + F.dropout(a, p, training))
                y.name = ADD_NORM
            with scope("cross_attention"):
                a, _ = self.cross_attention(
                    y, memory, memory, memory_mask, key_mask=memory_key_mask
                )
                y = self.norm_2(y + F.dropout(a, p, training))
                y.name = ADD_NORM
        except (TypeError, ValueError) as error:
            raise _named(error, checks) from None
        with scope("ffn"):
            y = self.norm_3(y + F.dropout(self.ffn(y), p, training))
            y.name = ADD_NORM
        return y

    @property
    def last_attention(self) -> dict[str, np.ndarray | None]:
        """{"self": (B, heads, T_out, T_out), "cross": (B, heads, T_out, T_in)}."""
        return {
            "self": self.self_attention.last_attention,
            "cross": self.cross_attention.last_attention,
        }


class Transformer(Module):
    """Encoder-decoder Transformer: logits (B, T_out, tgt_vocab) for src and tgt_in ids.

    Logits for src (B, T_in) and the shifted target tgt_in (B, T_out), trained with teacher forcing
    like Seq2Seq.

    Token embeddings (one table each side) plus sinusoidal positions; `layers` encoder and
    `layers` decoder blocks; a Linear to the target vocabulary.
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        d_model: int,
        heads: int,
        d_ff: int,
        layers: int,
        dropout: float = 0.0,
        max_len: int = 512,
    ) -> None:
        super().__init__()
        check_sizes("Transformer", src_vocab=src_vocab, tgt_vocab=tgt_vocab, max_len=max_len)
        check_sizes("Transformer", at_least=0, layers=layers)  # 0: embeddings and output
        _check_layer_sizes("Transformer", d_model, heads, d_ff, dropout)
        self.src_vocab, self.tgt_vocab, self.d_model = src_vocab, tgt_vocab, d_model
        self.src_embedding = Embedding(src_vocab, d_model)
        self.tgt_embedding = Embedding(tgt_vocab, d_model)
        self.positions = PositionalEncoding(d_model, max_len)
        self.encoder_layers = [
            TransformerEncoderLayer(d_model, heads, d_ff, dropout) for _ in range(layers)
        ]
        self.decoder_layers = [
            TransformerDecoderLayer(d_model, heads, d_ff, dropout) for _ in range(layers)
        ]
        self.out = Linear(d_model, tgt_vocab)

    def encode(self, src: Ids, src_mask: Mask | None = None) -> Tensor:
        """src ids (B, T_in) → encoder output (B, T_in, d_model); src_mask (B, T_in) bool."""
        src = ids_array(src, "Transformer", "src", self.src_vocab)
        B, T_in = src.shape
        key_mask = None  # src_mask (B, T_in), True at real tokens: the keys' padding mask
        if src_mask is not None:
            key_mask = check_src_mask(src_mask, B, T_in, "Transformer")
        with scope("encoder"):
            x = self.positions(self.src_embedding(src))  # (B, T_in, d_model)
            for i, layer in enumerate(self.encoder_layers):
                with scope(f"layer={i}"):
                    x = layer(x, key_mask=key_mask)
                    x.name = "h_enc"
        return x

    def decode(self, tgt_in: Ids, memory: Tensor, src_mask: Mask | None = None) -> Tensor:
        """The decoder: logits (B, T_out, V) for tgt_in ids and the encoder's output.

        Shapes: tgt_in ids (B, T_out), encoder output (B, T_in, d), src_mask (B, T_in) bool → logits
        (B, T_out, V)."""
        tgt_in = ids_array(tgt_in, "Transformer", "tgt_in", self.tgt_vocab)
        if not isinstance(memory, Tensor):
            raise TypeError(
                f"Transformer: memory must be the encoder output, a Tensor (B, T_in, "
                f"{self.d_model}), got {type(memory).__name__}"
            )
        if memory.ndim != 3 or memory.shape[1] == 0:
            raise ValueError(
                f"Transformer: memory must be the encoder output (B, T_in, {self.d_model}) "
                f"with T_in >= 1, got shape {tuple(memory.shape)}"
            )
        if tgt_in.shape[0] != memory.shape[0]:
            raise ValueError(
                f"Transformer: src and tgt_in must share the batch size; got tgt_in "
                f"{tuple(tgt_in.shape)} for encoder output {tuple(memory.shape)}"
            )
        B, T_in = memory.shape[0], memory.shape[1]
        key_mask = None  # src_mask (B, T_in), True at real tokens: the memory's padding mask
        if src_mask is not None:
            key_mask = check_src_mask(src_mask, B, T_in, "Transformer")
        with scope("decoder"):
            y = self.positions(self.tgt_embedding(tgt_in))  # (B, T_out, d_model)
            causal = F.causal_mask(tgt_in.shape[1])
            for i, layer in enumerate(self.decoder_layers):
                with scope(f"layer={i}"):
                    y = layer(y, memory, causal, memory_key_mask=key_mask)
                    y.name = "h_dec"
            logits = self.out(y)  # (B, T_out, tgt_vocab)
            logits.name = "logits"
        return logits

    def forward(
        self,
        src: Ids,
        tgt_in: Ids,
        src_lengths: Lengths | None = None,
        src_mask: Mask | None = None,
        **misnamed,
    ) -> Tensor:
        """src (B, T_in), tgt_in (B, T_out) ids → logits (B, T_out, tgt_vocab).

        Source padding is hidden from attention by src_lengths (B,) or src_mask (B, T_in),
        True at real tokens: PyTorch's src_key_padding_mask is its negation, and its
        nn.Transformer's src_mask, an (S, S) attention mask with True where attention may not
        look, is another thing under the same name, which this model does without. A src_mask
        with a row of no True (a key padding mask's row without padding) or of shape (S, S) is
        refused, saying what to write.
        """
        if misnamed:
            raise forward_keywords_error(self, misnamed)
        src = ids_array(src, "Transformer", "src")
        mask = source_mask(src, src_lengths, src_mask, "Transformer")
        return self.decode(tgt_in, self.encode(src, mask), mask)

    def greedy_decode(
        self,
        src: Ids,
        max_len: int,
        bos: int,
        eos: int | None,
        src_lengths: Lengths | None = None,
        src_mask: Mask | None = None,
    ) -> np.ndarray:
        """Generate by always taking the likeliest next token, from `bos`.

        It runs until every row has produced `eos` or `max_len` tokens. → NumPy int64
        (B, ≤ max_len + 1), starting with `bos`; a finished row is filled with `eos` after its
        first `eos` (`eos=None`: no stop token, max_len tokens each). An empty batch (B = 0)
        has no row to wait for: (0, 1), the `bos` column alone ((0, max_len + 1) with
        `eos=None`). Runs in eval mode (no dropout; the model's mode is given back)."""
        who = "Transformer.greedy_decode"
        bos, eos = check_decode(who, max_len, bos, eos, self.tgt_vocab)
        positions = getattr(self.positions, "max_len", None)  # (None: positions replaced)
        if positions is not None and max_len > positions:  # (the last token is not fed back)
            raise ValueError(
                f"{who}: max_len={max_len} needs {max_len} positions, but the model was built "
                f"with max_len={positions}"
            )
        src = ids_array(src, "Transformer", "src")
        mask = source_mask(src, src_lengths, src_mask, "Transformer")
        B = src.shape[0]
        out = np.full((B, 1), bos, dtype=np.int64)
        done = np.zeros(B, dtype=bool)
        for layer in self.decoder_layers:  # max_len 0 decodes nothing: no stale weights
            layer.self_attention._last_attention = None
            layer.cross_attention._last_attention = None
        with no_grad(), evaluating(self):
            memory = self.encode(src, mask)
            for _ in range(max_len):
                if eos >= 0 and done.all():  # every row has ended (an empty batch: at once)
                    break
                logits = self.decode(out, memory, mask)  # (B, t, V): the whole prefix again
                next_ids = backend.to_numpy(logits.data[:, -1].argmax(axis=-1)).astype(np.int64)
                next_ids[done] = eos
                out = np.concatenate([out, next_ids[:, None]], axis=1)
                done |= next_ids == eos
        return out

    @property
    def last_attention(self) -> dict[str, list]:
        """The attention weights of the last call, per layer.

        {"encoder": [(B, h, T_in, T_in)], "decoder_self": [(B, h, T_out, T_out)],
        "cross": [(B, h, T_out, T_in)]}."""
        return {
            "encoder": [layer.last_attention for layer in self.encoder_layers],
            "decoder_self": [layer.self_attention.last_attention for layer in self.decoder_layers],
            "cross": [layer.cross_attention.last_attention for layer in self.decoder_layers],
        }
