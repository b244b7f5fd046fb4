"""Seq2Seq (Sutskever et al., 2014): an encoder RNN reads the source, a decoder writes the target.

    encoder     h_t^enc = f_enc(x_t, h_{t-1}^enc),      c = h_T^enc
    decoder     h_t^dec = f_dec(y_{t-1}, h_{t-1}^dec, c)
    output      p(y_t | y_{<t}, x) = softmax(W_o h_t^dec + b_o)

and with attention (Bahdanau et al., 2014), a fresh context at every decoder step:

    e_{t,i} = a(h_{t-1}^dec, h_i^enc),   α_t = softmax(e_t),   c_t = Σ_i α_{t,i} h_i^enc
    h_t^dec = f_dec(y_{t-1}, h_{t-1}^dec, c_t)
    output    softmax(W_o [h_t^dec; c_t] + b_o)

The query is the previous state h_{t-1}^dec, where the seed writes a(h_t^dec, h_i^enc): with
the seed's f_dec above that is circular, since h_t^dec needs c_t, which needs the scores
e_{t,i}. Bahdanau et al. query with the previous state, which is known before step t begins.
(Luong et al. avoid the circle the other way: they query with h_t^dec and use c_t only in
the output, W_o [h_t^dec; c_t].)

f_enc and f_dec are RNN, LSTM or GRU cells. The decoder takes the context by concatenation
(its cell's input is [embedding(y_{t-1}); c], or c_t) and starts from the encoder's final
state. Training uses teacher forcing: y_{t-1} is the true previous token. Encoder steps run
inside ts.scope("encoder") and ts.scope(f"t={t}"), decoder steps inside ts.scope("decoder")
and ts.scope(f"t={t}").
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import no_grad, scope
from ..tensor import Tensor, cat, stack
from .attention import (
    AdditiveAttention,
    Lengths,
    MultiplicativeAttention,
    ScaledDotProductAttention,
    ids_array,
    matmul,
    source_mask,
)
from .gru import GRU, GRUCell
from .linear import Embedding
from .lstm import LSTM, LSTMCell
from .module import (
    Ids,
    Mask,
    Module,
    check_decode,
    check_sizes,
    evaluating,
    uniform_init,
)
from .rnn import RNN, RNNCell

__all__ = ["Seq2Seq"]

CELLS = {"rnn": (RNN, RNNCell), "lstm": (LSTM, LSTMCell), "gru": (GRU, GRUCell)}
ATTENTIONS = (None, "additive", "multiplicative", "dot")
# the papers' names for the scores, answered with the argument that means each
_ATTENTION_NAMES = {
    "bahdanau": "Bahdanau's score is attention='additive'",
    "concat": "Luong's 'concat' score is attention='additive'",
    "luong": "Luong's 'general' score, sᵀ W_a h, is attention='multiplicative'",
    "general": "Luong's 'general' score is attention='multiplicative'",
    "scaled": "the scaled dot-product score is attention='dot'",
    "scaled_dot": "the scaled dot-product score is attention='dot'",
    "scaled-dot": "the scaled dot-product score is attention='dot'",
}


def _hint(argument: str, value: object, names: tuple) -> str:
    """What to write instead of `value`: the same name in lower case, or the paper's name's."""
    if not isinstance(value, str):
        return ""
    if value.lower() in names:
        return f" (names are lower case: {argument}={value.lower()!r})"
    if argument == "attention" and value.lower() in _ATTENTION_NAMES:
        return f" ({_ATTENTION_NAMES[value.lower()]})"
    if argument == "cell" and value.lower() == "transformer":
        return " (a Transformer is a model of its own: ts.nn.Transformer)"
    return ""


class Seq2Seq(Module):
    """Encoder-decoder over RNN/LSTM/GRU cells, with or without attention.

    `model(src (B, T_in), tgt_in (B, T_out)) -> logits (B, T_out, tgt_vocab)` under teacher
    forcing; `greedy_decode(src, max_len, bos, eos)` generates. Source padding is given by
    `src_lengths` (B,) or `src_mask` (B, T_in): padded steps leave the encoder state
    unchanged (so c = h_T^enc is each row's state after its last real token) and get no
    attention. With attention, `.last_attention` holds α (B, T_out, T_in) of the last call.
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        emb: int,
        hidden: int,
        cell: str = "lstm",
        attention: str | None = None,
    ) -> None:
        super().__init__()
        check_sizes("Seq2Seq", src_vocab=src_vocab, tgt_vocab=tgt_vocab, emb=emb, hidden=hidden)
        if cell not in CELLS:
            raise ValueError(
                f"Seq2Seq: cell must be one of {tuple(CELLS)}, got {cell!r}"
                + _hint("cell", cell, tuple(CELLS))
            )
        if attention not in ATTENTIONS:
            raise ValueError(
                f"Seq2Seq: attention must be one of {ATTENTIONS}, got {attention!r}"
                + _hint("attention", attention, ATTENTIONS)
            )
        self.src_vocab, self.tgt_vocab, self.emb, self.hidden = src_vocab, tgt_vocab, emb, hidden
        self.cell, self.attention_kind = cell, attention
        Encoder, DecoderCell = CELLS[cell]
        self.src_embedding = Embedding(src_vocab, emb)
        self.tgt_embedding = Embedding(tgt_vocab, emb)
        self.encoder = Encoder(emb, hidden)
        self.decoder = DecoderCell(emb + hidden, hidden)  # input [embedding(y_{t-1}); c_t]
        if attention == "additive":
            self.attention = AdditiveAttention(hidden, hidden, hidden)
        elif attention == "multiplicative":
            self.attention = MultiplicativeAttention(hidden, hidden)
        elif attention == "dot":
            self.attention = ScaledDotProductAttention()
        else:
            self.attention = None
        out_in = 2 * hidden if attention else hidden  # [h_t^dec; c_t] or h_t^dec
        self.W_o = uniform_init((tgt_vocab, out_in), out_in, "W_o")
        self.b_o = uniform_init((tgt_vocab,), out_in, "b_o")
        self._last_attention = None

    # -------------------------------------------------------------- the two halves
    def encode(
        self, src: Ids, mask: Mask | None = None
    ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """The encoder: h^enc (B, T_in, h) and its final state, for src ids (B, T_in).

        Shapes: src ids (B, T_in), mask (B, T_in) bool → (h^enc (B, T_in, h), the final state:
        h_T^enc (B, h), or (h_T, C_T) for an LSTM): c = h_T^enc."""
        return self._encode(src, mask, every_state=True)

    def _encode(
        self, src: Ids, mask: Mask | None, every_state: bool
    ) -> tuple[Tensor | None, Tensor | tuple[Tensor, Tensor]]:
        """encode's (h^enc, final state), or (None, final state) without `every_state`.

        Without attention the decoder reads c = h_T^enc alone: a stack of every h_t^enc would
        be copied in the forward for nothing, and since it never sends a gradient, every
        backward would count the graph again (autograd's _recount)."""
        hs = None
        with scope("encoder"):
            x = self.src_embedding(src)  # (B, T_in, emb)
            x.name = "x"
            # each step in scope "encoder/t=..."
            if every_state:
                hs, final = self.encoder(x, None, mask)  # h^enc (B, T_in, h), final state
                hs.name = "h_enc"
            elif self.cell == "lstm":
                final = self.encoder._unroll(x, None, mask)  # (h_T, C_T): the decoder's start
            else:
                final = self.encoder._last_state(x, None, mask)  # h_T (B, h)
        return hs, final

    def _start(self, src: Ids, src_lengths: Lengths | None, src_mask: Mask | None):
        """Encode and set up everything the decoder steps share."""
        src = ids_array(src, "Seq2Seq", "src", self.src_vocab)
        mask = source_mask(src, src_lengths, src_mask, "Seq2Seq")
        # every h_t^enc where attention reads them; without, c = h_T^enc alone
        h_enc, state = self._encode(src, mask, every_state=self.attention is not None)
        h_T = state[0] if self.cell == "lstm" else state  # c = h_T^enc
        h_T.name = "c"
        memory = None
        with scope("decoder"):  # the decoder's work done once for all its steps
            if self.attention is not None:
                B, T_in = src.shape
                projected = self.attention.project_keys(h_enc)  # key-side work, once
                key_mask = None
                if mask is not None:
                    key_mask = backend.array_module(h_enc.data).asarray(mask).reshape(B, 1, T_in)
                memory = (h_enc, projected, key_mask)
            weights_T = self.decoder.weights_T()
        return src, state, h_T, memory, weights_T

    def _step(self, y_prev: Tensor, state, c: Tensor, memory, weights_T):
        """One decoder step: (new state, features for W_o, α_t (B, 1, T_in) or None)."""
        h_prev = state[0] if self.cell == "lstm" else state
        alpha_t = None
        if memory is not None:  # c_t = Σ_i α_{t,i} h_i^enc, from the query h_{t-1}^dec
            # (not the seed's h_t^dec: that one is computed from c_t, so it cannot pick c_t)
            h_enc, projected, key_mask = memory
            B = h_prev.shape[0]
            query = h_prev.reshape(B, 1, self.hidden)
            c_t, alpha_t = self.attention.attend(query, projected, h_enc, key_mask)
            c_t.name = None  # (B, 1, h): one c_t a step in pictures, the (B, h) one below
            c = c_t.reshape(B, self.hidden)
            c.name = "c_t"
        # the decoder cell's input (not the seed's x_t, the source token the encoder reads)
        dec_in = cat([y_prev, c], axis=-1)  # [embedding(y_{t-1}); c_t]: (B, emb + h)
        dec_in.name = "[y_prev; c_t]" if memory is not None else "[y_prev; c]"
        if self.cell == "lstm":  # h_t^dec = f_dec(y_{t-1}, h_{t-1}^dec, c_t)
            state = self.decoder.step(dec_in, state[0], state[1], weights_T)
            h_t = state[0]
        else:
            state = h_t = self.decoder.step(dec_in, state, weights_T)
        h_t.name = "h_t^dec"
        features = h_t
        if memory is not None:  # W_o's input, Luong's [h_t^dec; c_t]
            features = cat([h_t, c], axis=-1)
            features.name = "[h_t^dec; c_t]"
        return state, features, alpha_t

    def _logits(self, features: Tensor) -> Tensor:
        """W_o h_t^dec + b_o (or W_o [h_t^dec; c_t] + b_o) for every step at once."""
        logits = matmul(features, self.W_o.T) + self.b_o
        logits.name = "logits"
        return logits

    # -------------------------------------------------------------- public
    def forward(
        self,
        src: Ids,
        tgt_in: Ids,
        src_lengths: Lengths | None = None,
        src_mask: Mask | None = None,
    ) -> Tensor:
        """Teacher forcing: logits (B, T_out, tgt_vocab) for src and tgt_in ids.

        src (B, T_in), tgt_in (B, T_out) (BOS, y_1, ...) ids → logits (B, T_out, tgt_vocab), the
        scores of y_1 ... y_{T_out}."""
        src, state, c, memory, weights_T = self._start(src, src_lengths, src_mask)
        tgt_in = ids_array(tgt_in, "Seq2Seq", "tgt_in", self.tgt_vocab)
        if tgt_in.shape[0] != src.shape[0]:
            raise ValueError(
                f"Seq2Seq: src and tgt_in must share the batch size; got src "
                f"{tuple(src.shape)} and tgt_in {tuple(tgt_in.shape)}"
            )
        features, alphas = [], []
        with scope("decoder"):
            y = self.tgt_embedding(tgt_in)  # (B, T_out, emb), all steps at once
            y.name = "y"
            for t in range(tgt_in.shape[1]):
                with scope(f"t={t}"):
                    # out_t: [h_t^dec; c_t] (or h_t^dec), the input of W_o
                    state, out_t, alpha_t = self._step(y[:, t], state, c, memory, weights_T)
                features.append(out_t)
                alphas.append(alpha_t)
            logits = self._logits(stack(features, axis=1))  # (B, T_out, V)
        self._keep_attention(alphas, tuple(src.shape))
        return logits

    def greedy_decode(
        self,
        src: Ids,
        max_len: int,
        bos: int,
        eos: int | None,
        src_lengths: Lengths | None = None,
        src_mask: Mask | None = None,
    ) -> np.ndarray:
        """Generate by feeding back the likeliest token, from `bos`.

        It runs until every row has produced `eos` or `max_len` tokens. → NumPy int64
        (B, ≤ max_len + 1) starting with `bos`; after its first `eos` a row is filled with `eos`
        (`eos=None`: no stop token, max_len tokens each). An empty batch (B = 0) has no row to
        wait for: (0, 1), the `bos` column alone ((0, max_len + 1) with `eos=None`). Runs in
        eval mode (the model's mode is given back)."""
        bos, eos = check_decode("Seq2Seq.greedy_decode", max_len, bos, eos, self.tgt_vocab)
        with no_grad(), evaluating(self):
            src, state, c, memory, weights_T = self._start(src, src_lengths, src_mask)
            B = src.shape[0]
            out = [np.full(B, bos, dtype=np.int64)]
            done = np.zeros(B, dtype=bool)
            alphas = []
            with scope("decoder"):
                for t in range(max_len):
                    if eos >= 0 and done.all():  # every row has ended (an empty batch: at once)
                        break
                    with scope(f"t={t}"):
                        y_prev = self.tgt_embedding(out[-1])  # (B, emb)
                        state, out_t, alpha_t = self._step(y_prev, state, c, memory, weights_T)
                        logits = self._logits(out_t)  # (B, V)
                    alphas.append(alpha_t)
                    next_ids = backend.to_numpy(logits.data.argmax(axis=-1)).astype(np.int64)
                    next_ids[done] = eos
                    out.append(next_ids)
                    done |= next_ids == eos
        self._keep_attention(alphas, tuple(src.shape))
        return np.stack(out, axis=1)

    def _keep_attention(self, alphas: list, src_shape: tuple[int, int]) -> None:
        if self.attention is None:
            self._last_attention = None
            return
        if not alphas:  # nothing decoded (max_len 0): no rows, one column per source token
            self._last_attention = np.zeros((src_shape[0], 0, src_shape[1]))
            return
        xp = backend.array_module(alphas[0].data)
        self._last_attention = xp.concatenate([a.data for a in alphas], axis=1)

    @property
    def last_attention(self) -> np.ndarray | None:
        """α (B, T_out, T_in) of the last forward or greedy_decode (None without attention).

        Row t is where the decoder looked while producing y_t."""
        last = self._last_attention
        return None if last is None else backend.to_numpy(last)
