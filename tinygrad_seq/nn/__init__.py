"""Models of the seed, one file per family, on the engine's own autograd.

Weights follow the seed's names and shapes; inputs are batch-first. A recurrent or linear
weight W (out, in) acts on row vectors as v Wᵀ; the Transformer's W^Q, W^K, W^V, W^O and
its feed-forward W_1, W_2 are (in, out) and multiply from the right, as the seed's
Q = X W^Q.
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
from .sequential import Sequential
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
    "Sequential",
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
