"""Models of the seed, one file per family, on the engine's own autograd.

Weights follow the seed's names and shapes; inputs are batch-first. A recurrent or linear
weight W (out, in) acts on row vectors as v Wᵀ; the Transformer's W^Q, W^K, W^V, W^O and
its feed-forward W_1, W_2 are (in, out) and multiply from the right, as the seed's
Q = X W^Q.
"""

from .._hints import missing_name
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

# PyTorch's nn names that ts.nn does without, with what to write instead
_PYTORCH_NAMES = {
    **dict.fromkeys(
        ("ModuleList", "ModuleDict", "ParameterList", "ParameterDict"),
        "assign a plain list or dict: self.blocks = [Block(d) for _ in range(n)] registers "
        "every module and Parameter in it (named blocks.0.W, ...)",
    ),
    **dict.fromkeys(
        ("ReLU", "Tanh", "Sigmoid", "GELU"),
        "ts.nn has no activation modules: call ts.F.relu(x) (tanh, sigmoid, gelu) in forward, "
        "or pass the function as a Sequential layer: Sequential(Linear(4, 8), ts.F.relu)",
    ),
    "Dropout": "call ts.F.dropout(x, p, self.training) in forward",
    "CrossEntropyLoss": "call ts.F.cross_entropy(logits, targets)",
    "MSELoss": "call ts.F.mse_loss(prediction, target)",
}


def __getattr__(name: str):
    """PyTorch's nn names that are not ts.nn's get the name or spelling to write."""
    if name in _PYTORCH_NAMES:  # (from tinygrad_seq.nn import ModuleList: an ImportError)
        raise missing_name(
            __name__, f"tinygrad_seq.nn has no {name!r} (a PyTorch name): {_PYTORCH_NAMES[name]}"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
