"""tinygrad_seq: a small, fast, honest tensor + autograd engine, and on it every model of
the history of sequence modeling, from the MLP to the Transformer.

    import tinygrad_seq as ts
    x = ts.Tensor([[1.0, 2.0]], requires_grad=True)
    loss = (x.tanh() ** 2).sum()
    loss.backward()          # x.grad now holds d loss / d x

Importing this package imports NumPy only; graphviz, sympy, matplotlib, click and cupy are
imported by the functions that need them.
"""

import importlib as _importlib
import os as _os

from . import _gc, _malloc, backend, functional, graph
from .autograd import (
    AnomalyError,
    Function,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    scope,
)
from .gradcheck import GradcheckError, gradcheck
from .tensor import (
    Tensor,
    arange,
    cat,
    chunk,
    get_default_dtype,
    get_rng_state,
    manual_seed,
    maximum,
    multinomial,
    ones,
    ones_like,
    randn,
    set_default_dtype,
    set_rng_state,
    split,
    stack,
    where,
    zeros,
    zeros_like,
)

# viz/, demos/ and benchmarks/ sit beside this folder in a source checkout and install as
# tinygrad_seq.viz, tinygrad_seq.demos, tinygrad_seq.benchmarks (pyproject's package-dir).
# When this package is imported from the checkout itself (from the repository root, where
# Python looks first), it finds them there, as the installed copy has them inside.
_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "viz")) and all(
    _os.path.isfile(_os.path.join(_root, *parts))
    for parts in (("pyproject.toml",), ("viz", "__init__.py"), ("demos", "__init__.py"))
):
    __path__.append(_root)

_malloc.tune()  # keep freed memory for reuse: see _malloc.py
_gc.tune()  # graphs have no cycles: collect cycles less often, see _gc.py
F = functional
__version__ = "0.1.0"

_LAZY = ("nn", "optim", "data", "train", "train_seq2seq", "symbolic", "viz", "demos")
# functions of modules that import ts.nn and ts.optim, imported with them on first use
_LAZY_FUNCTIONS = {"save_checkpoint": "checkpoint", "load_checkpoint": "checkpoint"}


# PyTorch's top-level names that ts spells otherwise, with what to write instead
_PYTORCH_NAMES = {
    "from_numpy": "ts.Tensor(array), which on the NumPy backend shares the array's memory as "
    "torch.from_numpy does",
    "as_tensor": "write ts.Tensor(data)",
    **dict.fromkeys(
        ("float32", "float64", "float16", "int64", "int32", "long", "bool"),
        "dtypes are NumPy's: dtype='float32' or np.float32 (ts.set_default_dtype sets the default)",
    ),
    "device": "ts has backends, not devices: ts.backend.set_backend('cupy'), x.to('cupy')",
    "rand": "ts.randn(*shape) draws normal numbers; for uniform ones, "
    "ts.Tensor(np.random.default_rng(seed).random(shape))",
    "randint": "token ids are NumPy integer arrays: np.random.default_rng(seed).integers(low, "
    "high, size)",
    **{
        name: f"call the tensor's method, x.{name}(...), or ts.F.{name}"
        for name in ("softmax", "log_softmax", "relu", "sigmoid", "tanh")
    },
    **{
        name: f"call the tensor's method: x.{name}(...)"
        for name in ("exp", "log", "sqrt", "abs", "sum", "mean")
    },
    "max": "x.max(axis=...) reduces a tensor; ts.maximum(a, b) is the elementwise one",
    "min": "x.min(axis=...) reduces a tensor; ts.where(a < b, a, b) is the elementwise one",
    "clamp": "call the tensor's method x.clip(low, high), NumPy's name",
    "matmul": "write a @ b",
    "cross_entropy": "call ts.F.cross_entropy(logits, targets)",
    "flip": "index with a step of -1 on each axis to reverse: torch.flip(x, [1]) is x[:, ::-1]",
}


def __getattr__(name: str):
    """Import the heavier subpackages on first use (ts.nn, ts.viz, ts.symbolic, ...), and
    ts.save_checkpoint and ts.load_checkpoint with theirs; a
    PyTorch name that ts spells otherwise gets the spelling to write."""
    if name in _LAZY:
        return _importlib.import_module(f".{name}", __name__)
    if name in _LAZY_FUNCTIONS:
        function = getattr(_importlib.import_module(f".{_LAZY_FUNCTIONS[name]}", __name__), name)
        globals()[name] = function  # (found directly from now on)
        return function
    if name in _PYTORCH_NAMES:  # (from tinygrad_seq import softmax: an ImportError)
        from ._hints import missing_name

        raise missing_name(
            __name__, f"tinygrad_seq has no {name!r} (a PyTorch name): {_PYTORCH_NAMES[name]}"
        )
    raise AttributeError(f"module 'tinygrad_seq' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The loaded names and the lazy ones, so tab completion offers ts.nn."""
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_FUNCTIONS))


__all__ = [
    "Tensor",
    "Function",
    "AnomalyError",
    "GradcheckError",
    "arange",
    "backend",
    "cat",
    "chunk",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "F",
    "get_default_dtype",
    "get_rng_state",
    "gradcheck",
    "graph",
    "is_grad_enabled",
    "manual_seed",
    "maximum",
    "multinomial",
    "no_grad",
    "ones",
    "ones_like",
    "randn",
    "scope",
    "set_default_dtype",
    "set_rng_state",
    "split",
    "stack",
    "where",
    "zeros",
    "zeros_like",
    *_LAZY_FUNCTIONS,
    *_LAZY,
]
