"""Linear, Embedding, MLP and LayerNorm: the feed-forward building blocks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .._checks import as_bool, wrap_hint
from ..tensor import Tensor, get_default_dtype, rng
from .module import (
    Ids,
    Module,
    Parameter,
    _PyTorchName,
    check_float,
    check_sizes,
    uniform_init,
)

ACTIVATIONS = ("tanh", "relu", "sigmoid")


def check_last_axis(x: Tensor, expected: int, who: str, what: str = "input") -> None:
    """Raise a ValueError naming the shapes if x's last axis is not `expected` wide (and a
    TypeError if x is not a float Tensor)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor {what}, got {type(x).__name__}{wrap_hint(x)}")
    check_float(x, who, what)
    if x.ndim == 0 or x.shape[-1] != expected:
        raise ValueError(
            f"{who}: expected {what} with last axis {expected}, got shape {tuple(x.shape)}"
        )


class Linear(Module):
    """y = x Wᵀ + b, with W (out, in) and b (out,); x (..., in) → y (..., out)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        bias = as_bool(bias, "Linear: bias")
        self.in_features, self.out_features = in_features, out_features
        self.W = uniform_init((out_features, in_features), in_features, name="W")
        self.b = uniform_init((out_features,), in_features, name="b") if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """x (..., in) → y = x Wᵀ + b (..., out)."""
        check_last_axis(x, self.in_features, "Linear")
        y = x @ self.W.T
        return y + self.b if self.b is not None else y


class Embedding(Module):
    """A lookup table E (vocab, dim): ids (...) → vectors (..., dim).

    With `padding_idx` (an id; a negative one counts from the end), as PyTorch's: that row
    of E starts at zeros and gets no gradient from a lookup, so it never trains (set it by
    hand for another padding vector)."""

    def __init__(self, vocab: int, dim: int, padding_idx: int | None = None) -> None:
        super().__init__()
        check_sizes("Embedding", vocab=vocab, dim=dim)
        self.vocab_size, self.dim = vocab, dim
        self.padding_idx = F.check_padding_idx(padding_idx, vocab, "Embedding")
        # N(0, 1) rows, as PyTorch's nn.Embedding
        table = rng().standard_normal((vocab, dim)).astype(get_default_dtype())
        if self.padding_idx is not None:
            table[self.padding_idx] = 0
        self.E = Parameter(table, name="E")

    def forward(self, ids: Ids) -> Tensor:
        """Integer ids (...) → their rows of E (..., dim); padding_idx's send E no gradient."""
        return F.embedding(ids, self.E, self.padding_idx)


class MLP(Module):
    """h⁽ˡ⁾ = σ(W⁽ˡ⁾ h⁽ˡ⁻¹⁾ + b⁽ˡ⁾) for each hidden layer, y = W⁽ᴸ⁾ h⁽ᴸ⁻¹⁾ + b⁽ᴸ⁾ (no σ last).

    `sizes` = [d_in, h_1, ..., d_out]; `activation` is 'tanh', 'relu' or 'sigmoid': the
    seed's σ is any nonlinearity, not necessarily the sigmoid (tanh by default here). Each
    layer is a Linear, computed on rows as h Wᵀ + b.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh") -> None:
        super().__init__()
        if isinstance(sizes, str | bytes) or not hasattr(sizes, "__len__"):
            raise TypeError(
                f"MLP: sizes must be a list of layer widths, e.g. [784, 256, 10], got "
                f"{type(sizes).__name__} {sizes!r}"
            )
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least [d_in, d_out], got sizes {list(sizes)}")
        check_sizes("MLP", **{f"sizes[{i}]": n for i, n in enumerate(sizes)})
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.sizes, self.activation = list(sizes), activation
        self.layers = [Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]

    def forward(self, x: Tensor) -> Tensor:
        """x (..., sizes[0]) → y (..., sizes[-1]), through every layer."""
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = getattr(h, self.activation)()
                h.name = f"h({i + 1})"
        h.name = "y"
        return h


class LayerNorm(Module):
    """Normalise the last axis to mean 0, variance 1, then scale by `gain`, shift by `bias`.

    x (..., dim) → gain ⊙ (x − μ) / √(var + eps) + bias (..., dim), with μ and var the mean
    and variance over the last axis (divided by dim, not dim − 1, as PyTorch's); gain (dim,)
    starts at 1, bias (dim,) at 0.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        check_sizes("LayerNorm", dim=dim)
        self.dim, self.eps = dim, F.check_eps(eps, "LayerNorm")
        dt = get_default_dtype()
        self.gain = Parameter(np.ones(dim, dtype=dt), name="gain")
        self.bias = Parameter(np.zeros(dim, dtype=dt), name="bias")

    def forward(self, x: Tensor) -> Tensor:
        """x (..., dim) → gain ⊙ (x − mean) / √(var + eps) + bias over the last axis."""
        check_last_axis(x, self.dim, "LayerNorm")
        return F.layer_norm(x, self.gain, self.bias, self.eps)


# PyTorch's names of these layers' weights, answered with the seed's (as Module answers
# PyTorch's methods): a tied output layer reads `emb.E`, where PyTorch reads `emb.weight`
for _layer, _names in (
    (Linear, {"weight": "write .W, the weight (out, in), as PyTorch's", "bias": "write .b (out,)"}),
    (Embedding, {"weight": "write .E, the table (vocab, dim), as PyTorch's weight"}),
    (LayerNorm, {"weight": "write .gain (dim,), the scale PyTorch names weight"}),
):
    for _name, _hint in _names.items():
        setattr(_layer, _name, _PyTorchName(_name, _hint))
del _layer, _names, _name, _hint
