"""Models of the seed, one file per family, on the engine's own autograd.

Weights follow the seed's names and shapes; inputs are batch-first; a weight W (out, in)
acts on row vectors as v Wᵀ.
"""

from .gru import GRU, GRUCell
from .linear import MLP, Embedding, LayerNorm, Linear
from .lstm import LSTM, LSTMCell
from .module import Module, Parameter
from .rnn import RNN, RNNCell

__all__ = [
    "Module",
    "Parameter",
    "Linear",
    "Embedding",
    "MLP",
    "LayerNorm",
    "RNNCell",
    "RNN",
    "LSTMCell",
    "LSTM",
    "GRUCell",
    "GRU",
]
