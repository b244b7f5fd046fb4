"""Long Short-Term Memory (Hochreiter & Schmidhuber, 1997): a gated, additive memory cell.

The seed's six equations, on the concatenation [h_{t-1}, x_t]:

    f_t = σ(W_f·[h_{t-1}, x_t] + b_f)        forget gate
    i_t = σ(W_i·[h_{t-1}, x_t] + b_i)        input gate
    C̃_t = tanh(W_C·[h_{t-1}, x_t] + b_C)     candidate values
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t          cell state
    o_t = σ(W_o·[h_{t-1}, x_t] + b_o)        output gate
    h_t = o_t ⊙ tanh(C_t)                    hidden state

Each W is (h, h+d) and acts on row vectors as [h_{t-1}, x_t] @ Wᵀ. The four gates are four
separate products here, as in the seed, so a graph of one step shows each of them.
Because C_t is a sum, ∂C_t/∂C_{t-1} = diag(f_t) for one step (the gates read h_{t-1}, not
C_{t-1}). Over many steps Π f_t is the cell path's term; the paths through h_t add more (see
ts.symbolic.lstm.two_steps). Forget gates near 1 keep the cell path open, so the gradient
flows back through many steps instead of vanishing.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import scope
from ..tensor import Tensor, cat, get_default_dtype, stack, where
from .module import Mask, Module, Parameter, check_sizes, uniform_init
from .rnn import check_sequence, check_step_input, initial_state, step_masks

STEP_NAMES = ("f_t", "i_t", "C_tilde", "C_t", "o_t", "h_t")


class LSTMCell(Module):
    """One LSTM step: `cell(x_t (B, d), (h_prev, C_prev) (B, h) each) -> (h_t, C_t)`.

    Weights W_f, W_i, W_C, W_o (h, h+d) and biases b_f, b_i, b_C, b_o (h,), initialised
    U(−1/√h, 1/√h) except b_f, which starts at `forget_bias` (1 by default): a common choice
    (Gers et al., 2000; Jozefowicz et al., 2015) that starts the cell mostly remembering,
    f_t ≈ σ(1) ≈ 0.73, instead of halving its memory at every step. Long delays want more:
    σ(1)⁴⁰ ≈ 4·10⁻⁶, while b_f = 3 gives σ(3)⁴⁰ = 0.9526⁴⁰ ≈ 0.14 (see `train.run_delay_task`).
    """

    def __init__(self, input: int, hidden: int, *, forget_bias: float = 1.0) -> None:
        super().__init__()
        check_sizes("LSTMCell", input=input, hidden=hidden)
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real):
            raise TypeError(
                f"LSTMCell: forget_bias must be a number, got {type(forget_bias).__name__} "
                f"{forget_bias!r}"
            )
        self.input_size, self.hidden_size = input, hidden
        h, d = hidden, input
        self.W_f = uniform_init((h, h + d), h, name="W_f")
        self.W_i = uniform_init((h, h + d), h, name="W_i")
        self.W_C = uniform_init((h, h + d), h, name="W_C")
        self.W_o = uniform_init((h, h + d), h, name="W_o")
        self.b_f = Parameter(np.full(h, forget_bias, dtype=get_default_dtype()), name="b_f")
        self.b_i = uniform_init((h,), h, name="b_i")
        self.b_C = uniform_init((h,), h, name="b_C")
        self.b_o = uniform_init((h,), h, name="b_o")

    def forward(
        self, x_t: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        """x_t (B, d), (h_prev, C_prev) (B, h) each or None (zeros) → (h_t, C_t) (B, h) each."""
        B = check_step_input(x_t, self.input_size, "LSTMCell")
        h_prev, C_prev = _split_state(state, "LSTMCell", "state")
        h_prev = initial_state(h_prev, B, self.hidden_size, x_t, "LSTMCell", "h_prev")
        C_prev = initial_state(C_prev, B, self.hidden_size, x_t, "LSTMCell", "C_prev")
        return self.step(x_t, h_prev, C_prev, self.weights_T())

    def weights_T(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """W_fᵀ, W_iᵀ, W_Cᵀ, W_oᵀ (h+d, h): transposed once per sequence, not at every step."""
        return self.W_f.T, self.W_i.T, self.W_C.T, self.W_o.T

    def step(
        self,
        x_t: Tensor,
        h_prev: Tensor,
        C_prev: Tensor,
        weights_T: tuple[Tensor, Tensor, Tensor, Tensor],
    ) -> tuple[Tensor, Tensor]:
        """(h_t, C_t) (B, h) each from x_t (B, d), h_prev and C_prev (B, h); shapes already checked.

        Every tensor of the step is named with the seed's symbol, so graphs show them.
        """
        W_f_T, W_i_T, W_C_T, W_o_T = weights_T
        # fmt: off
        hx = cat([h_prev, x_t], axis=-1)          # [h_{t-1}, x_t]  (B, h+d)
        f_t = (hx @ W_f_T + self.b_f).sigmoid()   # f_t = σ(W_f·[h_{t-1}, x_t] + b_f)
        i_t = (hx @ W_i_T + self.b_i).sigmoid()   # i_t = σ(W_i·[h_{t-1}, x_t] + b_i)
        C_tilde = (hx @ W_C_T + self.b_C).tanh()  # C̃_t = tanh(W_C·[h_{t-1}, x_t] + b_C)
        C_t = f_t * C_prev + i_t * C_tilde        # C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t
        o_t = (hx @ W_o_T + self.b_o).sigmoid()   # o_t = σ(W_o·[h_{t-1}, x_t] + b_o)
        h_t = o_t * C_t.tanh()                    # h_t = o_t ⊙ tanh(C_t)
        # fmt: on
        hx.name = "[h_prev, x_t]"
        f_t.name, i_t.name, C_tilde.name, C_t.name, o_t.name, h_t.name = STEP_NAMES
        return h_t, C_t


class LSTM(Module):
    """An LSTM over a whole sequence.

    `lstm(xs (B, T, d), state0 = (h0, C0) or None, mask (B, T) bool = None)
    -> (hs (B, T, h), (h_T, C_T))`. With a mask, padded steps (False) leave h and C
    unchanged, so (h_T, C_T) is each sequence's state after its own last real token
    (padded inputs must be finite, as for RNN).
    """

    def __init__(self, input: int, hidden: int, *, forget_bias: float = 1.0) -> None:
        super().__init__()
        check_sizes("LSTM", input=input, hidden=hidden)
        self.input_size, self.hidden_size = input, hidden
        self.cell = LSTMCell(input, hidden, forget_bias=forget_bias)

    def forward(
        self, xs: Tensor, state0: tuple[Tensor, Tensor] | None = None, mask: Mask | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """xs (B, T, d), state0 (h0, C0) or None, mask (B, T) bool → (hs (B, T, h), (h_T, C_T))."""
        hs: list[Tensor] = []
        h_T, C_T = self._unroll(xs, state0, mask, hs)
        return stack(hs, axis=1), (h_T, C_T)  # (B, T, h), ((B, h), (B, h))

    def _last_state(
        self, xs: Tensor, state0: tuple[Tensor, Tensor] | None = None, mask: Mask | None = None
    ) -> Tensor:
        """h_T (B, h) alone, as RNN._last_state: no stack of every h_t, and no C_T."""
        return self._unroll(xs, state0, mask, cell_state=False)[0]

    def _unroll(
        self,
        xs: Tensor,
        state0: tuple[Tensor, Tensor] | None,
        mask: Mask | None,
        hs: list | None = None,
        cell_state: bool = True,
    ) -> tuple[Tensor, Tensor | None]:
        """(h_T, C_T) (B, h) each for forward's arguments, every h_t appended to `hs` when
        given. Without `cell_state`, C_T is None: the last step's padding mask is not applied
        to C, whose result nothing would use (backward would count the graph again)."""
        B, T = check_sequence(xs, self.input_size, "LSTM")
        h_t, C_t = _split_state(state0, "LSTM", "state0")
        h_t = initial_state(h_t, B, self.hidden_size, xs, "LSTM", "h0")
        C_t = initial_state(C_t, B, self.hidden_size, xs, "LSTM", "C0")
        keep = step_masks(mask, B, T, xs, "LSTM")
        cell, weights_T = self.cell, self.cell.weights_T()
        for t in range(T):
            with scope(f"t={t}"):
                x_t = xs[:, t]  # (B, d)
                x_t.name = "x_t"
                h_new, C_new = cell.step(x_t, h_t, C_t, weights_T)  # (B, h) each
                if keep[t] is not None:  # padding: keep h_{t-1} and C_{t-1}
                    h_new = where(keep[t], h_new, h_t)
                    h_new.name = "h_t (masked)"
                    if cell_state or t < T - 1:
                        C_new = where(keep[t], C_new, C_t)
                        C_new.name = "C_t (masked)"
                h_t, C_t = h_new, C_new
            if hs is not None:
                hs.append(h_t)
        return h_t, (C_t if cell_state else None)  # (B, h), (B, h) or None


def _split_state(state, who: str, what: str) -> tuple[Tensor | None, Tensor | None]:
    """(h, C) from None or a pair; anything else is a clear error."""
    if state is None:
        return None, None
    if not isinstance(state, tuple | list) or len(state) != 2:
        raise TypeError(
            f"{who}: expected {what} as a pair (h, C) of (B, h) tensors, or None; "
            f"got {type(state).__name__}"
        )
    return state[0], state[1]
