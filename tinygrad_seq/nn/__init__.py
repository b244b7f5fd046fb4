"""Models of the seed, one file per family, on the engine's own autograd.

Weights follow the seed's names and shapes; inputs are batch-first; a weight W (out, in)
acts on row vectors as v Wᵀ.
"""

from .attention import (
    AdditiveAttention,
    MultiHeadAttention,
    MultiplicativeAttention,
    ScaledDotProductAttention,
)
from .gru import GRU, GRUCell
from .linear import MLP, Embedding, LayerNorm, Linear
from .lstm import LSTM, LSTMCell
from .module import Module, Parameter
from .rnn import RNN, RNNCell
from .seq2seq import Seq2Seq
from .transformer import (
    PositionalEncoding,
    Transformer,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    sinusoidal_positions,
)

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
    "AdditiveAttention",
    "MultiplicativeAttention",
    "ScaledDotProductAttention",
    "MultiHeadAttention",
    "sinusoidal_positions",
    "PositionalEncoding",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "Transformer",
    "Seq2Seq",
]
