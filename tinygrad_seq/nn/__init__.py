"""Models of the seed, one file per family, on the engine's own autograd.

Weights follow the seed's names and shapes; inputs are batch-first; a weight W (out, in)
acts on row vectors as v Wᵀ.
"""

from .linear import MLP, Embedding, LayerNorm, Linear
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Embedding", "MLP", "LayerNorm"]
