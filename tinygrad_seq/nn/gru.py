"""Gated Recurrent Unit (Cho et al., 2014): the LSTM's gates merged, no separate cell state.

The seed's four equations (with biases, which `bias=False` drops as the seed writes them):

    z_t = σ(W_z·[h_{t-1}, x_t] + b_z)                 update gate
    r_t = σ(W_r·[h_{t-1}, x_t] + b_r)                 reset gate
    h̃_t = tanh(W_h·[r_t ⊙ h_{t-1}, x_t] + b_h)        candidate hidden state
    h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t             hidden state

In the seed's convention z_t = 1 takes the candidate and z_t = 0 keeps h_{t-1} unchanged
(PyTorch swaps the roles of z_t and 1 − z_t). The seed writes the candidate's weight as
plain W; it is W_h here (h for the candidate h̃_t), and b_h is the candidate's bias, not
the RNN's. Each W is (h, h+d) and acts on row vectors as [h_{t-1}, x_t] @ Wᵀ.
"""

from __future__ import annotations

import math
import numbers

from .._checks import as_bool
from ..tensor import Tensor, cat, stack
from .module import Mask, Module, check_sizes, uniform_init
from .rnn import check_sequence, check_step_input, initial_state, step_masks, unroll

STEP_NAMES = ("z_t", "r_t", "h_tilde", "h_t")


class GRUCell(Module):
    """One GRU step: `cell(x_t (B, d), h_prev (B, h) or None) -> h_t (B, h)`.

    Weights W_z, W_r, W_h (h, h+d) and, with `bias`, b_z, b_r, b_h (h,), all initialised
    U(−1/√h, 1/√h), except b_z when `update_bias` is a number: every entry starts there.
    A negative one starts the update gate nearly shut, z_t = σ(b_z) < ½, so h_{t-1} is
    mostly kept (the GRU's counterpart of the LSTM's forget bias; b_z = −1 keeps 73 % a step
    as b_f = 1 does). The other weights get the same random values either way.
    """

    def __init__(
        self, input: int, hidden: int, *, bias: bool = True, update_bias: float | None = None
    ) -> None:
        super().__init__()
        check_sizes("GRUCell", input=input, hidden=hidden)
        bias = as_bool(bias, "GRUCell: bias")
        update_bias = _checked_update_bias(update_bias, bias, "GRUCell")
        self.input_size, self.hidden_size = input, hidden
        h, d = hidden, input
        self.W_z = uniform_init((h, h + d), h, name="W_z")
        self.W_r = uniform_init((h, h + d), h, name="W_r")
        self.W_h = uniform_init((h, h + d), h, name="W_h")
        self.b_z = uniform_init((h,), h, name="b_z") if bias else None
        if update_bias is not None:  # (drawn first all the same: the draws after it stay put)
            self.b_z.data[...] = update_bias
        self.b_r = uniform_init((h,), h, name="b_r") if bias else None
        self.b_h = uniform_init((h,), h, name="b_h") if bias else None

    def forward(self, x_t: Tensor, h_prev: Tensor | None = None) -> Tensor:
        """x_t (B, d), h_prev (B, h) (None: zeros) → h_t (B, h)."""
        B = check_step_input(x_t, self.input_size, "GRUCell")
        h_prev = initial_state(h_prev, B, self.hidden_size, x_t, "GRUCell", "h_prev")
        return self.step(x_t, h_prev, self.weights_T())

    def weights_T(self) -> tuple[Tensor, Tensor, Tensor]:
        """W_zᵀ, W_rᵀ, W_hᵀ (h+d, h): transposed once per sequence, not at every step."""
        return self.W_z.T, self.W_r.T, self.W_h.T

    def step(self, x_t: Tensor, h_prev: Tensor, weights_T: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """h_t (B, h) from x_t (B, d) and h_prev (B, h); shapes already checked."""
        W_z_T, W_r_T, W_h_T = weights_T
        b_z, b_r, b_h = self.b_z, self.b_r, self.b_h  # None without bias
        hx = cat([h_prev, x_t], axis=-1)  # [h_{t-1}, x_t]  (B, h+d)
        # fmt: off
        z_t = _affine(hx, W_z_T, b_z).sigmoid()     # z_t = σ(W_z·[h_{t-1}, x_t] + b_z)
        r_t = _affine(hx, W_r_T, b_r).sigmoid()     # r_t = σ(W_r·[h_{t-1}, x_t] + b_r)
        rhx = cat([r_t * h_prev, x_t], axis=-1)     # [r_t ⊙ h_{t-1}, x_t]
        h_tilde = _affine(rhx, W_h_T, b_h).tanh()   # h̃_t = tanh(W_h·[r_t ⊙ h_{t-1}, x_t] + b_h)
        h_t = (1 - z_t) * h_prev + z_t * h_tilde    # h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
        # fmt: on
        hx.name, rhx.name = "[h_prev, x_t]", "[r_t*h_prev, x_t]"
        z_t.name, r_t.name, h_tilde.name, h_t.name = STEP_NAMES
        return h_t


class GRU(Module):
    """A GRU over a whole sequence.

    `gru(xs (B, T, d), h0 (B, h) = zeros, mask (B, T) bool = None) -> (hs (B, T, h), h_T)`.
    With a mask, padded steps (False) leave the state unchanged, so h_T is each sequence's
    state after its own last real token (padded inputs must be finite, as for RNN).
    """

    def __init__(
        self, input: int, hidden: int, *, bias: bool = True, update_bias: float | None = None
    ) -> None:
        super().__init__()
        check_sizes("GRU", input=input, hidden=hidden)
        _checked_update_bias(update_bias, as_bool(bias, "GRU: bias"), "GRU")
        self.input_size, self.hidden_size = input, hidden
        self.cell = GRUCell(input, hidden, bias=bias, update_bias=update_bias)

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
        """h_T (B, h) alone, as RNN._last_state: no stack of every h_t (each appended to `hs`
        when given)."""
        B, T = check_sequence(xs, self.input_size, "GRU")
        h_t = initial_state(h0, B, self.hidden_size, xs, "GRU", "h0")
        keep = step_masks(mask, B, T, xs, "GRU")
        return unroll(self.cell, xs, h_t, keep, hs)


def _checked_update_bias(update_bias, bias: bool, who: str) -> float | None:
    """`update_bias` as a float, or None; a clear error for a non-number, or without b_z."""
    if update_bias is None:
        return None
    if isinstance(update_bias, bool) or not isinstance(update_bias, numbers.Real):
        raise TypeError(
            f"{who}: update_bias must be a number or None, got {type(update_bias).__name__} "
            f"{update_bias!r}"
        )
    if not bias:
        raise ValueError(f"{who}: update_bias={update_bias!r} needs the biases: drop bias=False")
    if not math.isfinite(update_bias):
        raise ValueError(f"{who}: update_bias must be finite, got {update_bias!r}")
    return float(update_bias)


def _affine(v: Tensor, W_T: Tensor, b: Tensor | None) -> Tensor:
    """v @ Wᵀ + b, or v @ Wᵀ without a bias."""
    return v @ W_T if b is None else v @ W_T + b
