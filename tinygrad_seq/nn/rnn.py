"""The vanilla RNN of the seed (Elman, 1990): one hidden state carried through time.

    h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)
    y_t = W_hy h_t + b_y

Inputs are row vectors in batches, so W v is written v @ Wᵀ: x_t (B, d) @ W_xhᵀ (d, h).
`RNN` runs `RNNCell` over a batch-first sequence xs (B, T, d), each step t inside
`ts.scope(f"t={t}")` ("t=0", "t=1", ...), and backpropagation through time is the
engine's ordinary backward over the unrolled graph.

This file also holds the checks and the padding mask shared by LSTM and GRU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import backend
from .._checks import wrap_hint
from ..autograd import scope
from ..tensor import Tensor, _leaf, stack, where
from .module import Mask, Module, check_float, check_sizes, uniform_init

if TYPE_CHECKING:  # for a type hint only: gru.py imports this file
    from .gru import GRUCell

# --------------------------------------------------------------------------- checks
# Shared by every recurrent module (RNN, LSTM, GRU): clear errors before any arithmetic.


def _built_with(input_size: int, who: str) -> str:
    """Where a step's expected width comes from: the model's own input= size."""
    return f"where {input_size} is the input= width this {who} was built with"


def _width_hint(x: Tensor, ndim: int, input_size: int) -> str:
    """For an input of the right rank but the wrong width: the two ways to make them agree."""
    if x.ndim != ndim:
        return ""
    width = x.shape[-1]
    return f" (give it {input_size} features per step, or build the model with input={width})"


def _missing_batch_hint(xs: Tensor, input_size: int) -> str:
    """For a 2-D xs (T, width), read as one sequence without its batch axis: that axis to
    add, and then, where the width is wrong too, the second change it needs."""
    if xs.ndim != 2:
        return ""
    steps, width = xs.shape
    if width == input_size:
        return f" (a single sequence? add a batch axis: xs.reshape(1, {steps}, {width}))"
    return (
        f" (a single sequence? it needs two changes: a batch axis, xs.reshape(1, {steps}, "
        f"{width}), and {input_size} features per step, not {width} (or a model built with "
        f"input={width}))"
    )


def check_step_input(x_t: Tensor, input_size: int, who: str) -> int:
    """Check that x_t is (B, input_size); return B."""
    if not isinstance(x_t, Tensor):
        raise TypeError(
            f"{who}: expected x_t as a Tensor of shape (B, {input_size}), got "
            f"{type(x_t).__name__}{wrap_hint(x_t)}"
        )
    check_float(x_t, who, "x_t")
    if x_t.ndim != 2 or x_t.shape[1] != input_size:
        raise ValueError(
            f"{who}: expected x_t of shape (B, {input_size}) (one step of a batch), "
            f"{_built_with(input_size, who)}; got shape {tuple(x_t.shape)}"
            f"{_width_hint(x_t, 2, input_size)}"
        )
    return x_t.shape[0]


def check_sequence(xs: Tensor, input_size: int, who: str) -> tuple[int, int]:
    """Check that xs is (B, T, input_size) with T >= 1; return (B, T)."""
    if not isinstance(xs, Tensor):
        raise TypeError(
            f"{who}: expected xs as a Tensor of shape (B, T, {input_size}), got "
            f"{type(xs).__name__}{wrap_hint(xs)}"
        )
    check_float(xs, who, "sequence xs")
    if xs.ndim != 3 or xs.shape[2] != input_size:
        raise ValueError(
            f"{who}: expected a batch-first sequence xs of shape (B, T, {input_size}), "
            f"{_built_with(input_size, who)}; got shape {tuple(xs.shape)}"
            f"{_missing_batch_hint(xs, input_size) or _width_hint(xs, 3, input_size)}"
        )
    if xs.shape[1] == 0:
        raise ValueError(f"{who}: the sequence has no steps (xs of shape {tuple(xs.shape)})")
    return xs.shape[0], xs.shape[1]


def initial_state(
    state: Tensor | None, batch: int, hidden: int, like: Tensor, who: str, what: str
) -> Tensor:
    """`state` checked to be (B, hidden), or zeros of that shape (the seed's h_0 = 0)."""
    if state is None:
        xp = backend.array_module(like.data)
        return _leaf(xp.zeros((batch, hidden), dtype=like.dtype), name=what)  # like's backend
    if not isinstance(state, Tensor):
        raise TypeError(
            f"{who}: expected {what} as a Tensor of shape ({batch}, {hidden}), "
            f"got {type(state).__name__}{wrap_hint(state)}"
        )
    if tuple(state.shape) != (batch, hidden):
        raise ValueError(
            f"{who}: expected {what} of shape ({batch}, {hidden}) (batch, hidden), got shape "
            f"{tuple(state.shape)}"
        )
    check_float(state, who, what)  # (an int64 state made a float32 model's outputs float64)
    return state


def step_masks(mask: Mask | None, batch: int, steps: int, like: Tensor, who: str) -> list:
    """The (B, T) padding mask as one entry per step: a (B, 1) boolean array on `like`'s
    backend, or None where every sequence has a real token (nothing to mask there).

    True marks a real token; at a False (padding) step the state is carried over unchanged.
    """
    if mask is None:
        return [None] * steps
    data = mask.data if isinstance(mask, Tensor) else mask
    if not hasattr(data, "dtype"):
        raise TypeError(
            f"{who}: expected mask as a bool Tensor or array of shape "
            f"({batch}, {steps}), got {type(mask).__name__}"
        )
    if data.dtype != bool:
        raise TypeError(f"{who}: mask must be boolean (True = real token), got dtype {data.dtype}")
    if tuple(data.shape) != (batch, steps):
        raise ValueError(
            f"{who}: expected mask of shape ({batch}, {steps}) to match xs (B, T), got shape "
            f"{tuple(data.shape)}"
        )
    full = backend.to_numpy(data).all(axis=0)  # (T,): steps without padding, on the host
    cond = backend.array_module(like.data).asarray(data)[:, :, None]  # (B, T, 1)
    return [None if full[t] else cond[:, t] for t in range(steps)]


def unroll(
    cell: RNNCell | GRUCell, xs: Tensor, h_t: Tensor, keep: list, hs: list | None = None
) -> Tensor:
    """Backpropagation through time's forward half: `cell.step` over xs (B, T, d), one step
    per ts.scope("t=…"), carrying h from step to step. A step whose `keep` mask (from
    step_masks) is False for a row leaves that row's h unchanged (padding).
    Returns h_T (B, h), and appends every h_t (B, h) to `hs` when given (the caller stacks
    them). Used by RNN and GRU, whose state is h alone.
    """
    weights_T = cell.weights_T()  # transposed once, shared by every step
    for t in range(xs.shape[1]):
        with scope(f"t={t}"):
            x_t = xs[:, t]  # (B, d)
            x_t.name = "x_t"
            h_new = cell.step(x_t, h_t, weights_T)  # (B, h)
            if keep[t] is not None:  # padding: keep h_{t-1}
                h_new = where(keep[t], h_new, h_t)
                h_new.name = "h_t (masked)"
            h_t = h_new
        if hs is not None:
            hs.append(h_t)
    return h_t  # (B, h)


# --------------------------------------------------------------------------- the model
class RNNCell(Module):
    """One step of the vanilla RNN: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h).

    Weights as the seed names them: W_xh (h, d), W_hh (h, h), b_h (h,), initialised
    U(−1/√h, 1/√h). `cell(x_t (B, d), h_prev (B, h) or None) -> h_t (B, h)`.
    """

    def __init__(self, input: int, hidden: int) -> None:
        super().__init__()
        check_sizes("RNNCell", input=input, hidden=hidden)
        self.input_size, self.hidden_size = input, hidden
        h, d = hidden, input
        self.W_xh = uniform_init((h, d), h, name="W_xh")
        self.W_hh = uniform_init((h, h), h, name="W_hh")
        self.b_h = uniform_init((h,), h, name="b_h")

    def forward(self, x_t: Tensor, h_prev: Tensor | None = None) -> Tensor:
        """x_t (B, d), h_prev (B, h) (None: zeros) → h_t (B, h)."""
        B = check_step_input(x_t, self.input_size, "RNNCell")
        h_prev = initial_state(h_prev, B, self.hidden_size, x_t, "RNNCell", "h_prev")
        return self.step(x_t, h_prev, self.weights_T())

    def weights_T(self) -> tuple[Tensor, Tensor]:
        """W_hhᵀ (h, h) and W_xhᵀ (d, h): transposed once per sequence, not at every step."""
        return self.W_hh.T, self.W_xh.T

    def step(self, x_t: Tensor, h_prev: Tensor, weights_T: tuple[Tensor, Tensor]) -> Tensor:
        """h_t from x_t (B, d) and h_prev (B, h), shapes already checked."""
        W_hh_T, W_xh_T = weights_T
        # h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), with W v written v @ Wᵀ
        h_t = (h_prev @ W_hh_T + x_t @ W_xh_T + self.b_h).tanh()  # (B, h)
        h_t.name = "h_t"
        return h_t


class RNN(Module):
    """The vanilla RNN over a whole sequence, with an optional output layer y_t = W_hy h_t + b_y.

    `rnn(xs (B, T, d), h0 (B, h) = zeros, mask (B, T) bool = None) -> (hs (B, T, h), h_T (B, h))`.
    With `output=o`, `rnn.output(hs)` gives ys (B, T, o) (W_hy (o, h), b_y (o,)).
    With a mask, padded steps (False) leave the state unchanged, so h_T is each sequence's
    state after its own last real token (and hs repeats that state over the padding).
    Padded inputs must still be finite numbers (a PAD embedding is): each step is computed
    for the whole batch and its padded rows dropped, and a NaN there would reach the
    weights' gradients as 0 · NaN.
    """

    def __init__(self, input: int, hidden: int, *, output: int | None = None) -> None:
        super().__init__()
        check_sizes("RNN", input=input, hidden=hidden)
        if output is not None:
            check_sizes("RNN", output=output)
        self.input_size, self.hidden_size, self.output_size = input, hidden, output
        self.cell = RNNCell(input, hidden)
        if output is not None:
            self.W_hy = uniform_init((output, hidden), hidden, name="W_hy")
            self.b_y = uniform_init((output,), hidden, name="b_y")

    def forward(
        self, xs: Tensor, h0: Tensor | None = None, mask: Mask | None = None
    ) -> tuple[Tensor, Tensor]:
        """xs (B, T, d), h0 (B, h) or None, mask (B, T) bool or None → (hs (B, T, h), h_T)."""
        hs: list[Tensor] = []
        h_T = self._last_state(xs, h0, mask, hs)
        return stack(hs, axis=1), h_T  # (B, T, h), (B, h)

    def _last_state(
        self, xs: Tensor, h0: Tensor | None = None, mask: Mask | None = None, hs: list | None = None
    ) -> Tensor:
        """h_T (B, h) alone, for xs (B, T, d), h0 and mask as forward's; each h_t is appended to
        `hs` when given. A model that reads h_T alone calls this, not forward: the stack of
        every h_t, unused, would be copied in the forward and make backward count the graph
        again (autograd's _recount)."""
        B, T = check_sequence(xs, self.input_size, "RNN")
        h_t = initial_state(h0, B, self.hidden_size, xs, "RNN", "h0")
        keep = step_masks(mask, B, T, xs, "RNN")
        return unroll(self.cell, xs, h_t, keep, hs)

    def output(self, h: Tensor) -> Tensor:
        """y_t = W_hy h_t + b_y for every h_t at once: h (..., h) -> y (..., o)."""
        if self.output_size is None:
            raise ValueError(
                "RNN.output: this RNN has no output layer; build it with "
                "RNN(input, hidden, output=o)"
            )
        if not isinstance(h, Tensor) or h.ndim == 0 or h.shape[-1] != self.hidden_size:
            shape = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
            raise ValueError(
                f"RNN.output: expected hidden states of shape (..., "
                f"{self.hidden_size}), got {shape}"
            )
        y = h @ self.W_hy.T + self.b_y
        y.name = "y_t"
        return y
