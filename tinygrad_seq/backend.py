"""The array-module switch: every array the engine holds lives in NumPy or CuPy.

`xp` (read it as ``backend.xp``) is the active array module. Ops never need it for ufuncs
(``a + b``, ``a.sum()``), because arrays carry their own methods; they ask ``array_module(a)``
when they must call a module-level function (``where``, ``zeros``, ``add.at``), so a tensor
made on one backend keeps working after the global switch moves on.

CuPy is imported lazily, the first time it is asked for: importing tinygrad_seq never needs
CUDA.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from types import ModuleType

import numpy as np

# the public switch (ts.backend); the other functions here serve the engine
__all__ = [
    "BACKENDS",
    "set_backend",
    "get_backend",
    "using",
    "available",
    "unavailable_reason",
    "module",
    "array_module",
]

BACKENDS = ("numpy", "cupy")

xp: ModuleType = np  # the active array module
_name = "numpy"
_cupy: ModuleType | None = None
_cupy_error: str | None = None

# Array types the engine accepts as `.data`; cupy.ndarray joins when CuPy loads.
ARRAY_TYPES: tuple[type, ...] = (np.ndarray,)


def _load_cupy() -> ModuleType:
    """Import CuPy and check a GPU is visible; raise a RuntimeError that says which failed."""
    global _cupy, _cupy_error, ARRAY_TYPES
    if _cupy is not None:
        return _cupy
    if _cupy_error is not None:
        raise RuntimeError(_cupy_error)
    try:
        import cupy
    except ImportError as e:
        if getattr(e, "name", None) == "cupy":  # no package named cupy at all
            _cupy_error = (
                f"the 'cupy' backend needs CuPy, which is not installed ({e}). Install the "
                "extra with `pip install '.[gpu]'` in the project's folder (or the "
                "cupy-cudaXXx wheel matching your CUDA driver), or use the 'numpy' backend."
            )
        else:  # installed, but a library it loads is missing (libcuda, the CUDA runtime)
            _cupy_error = (
                f"CuPy is installed but cannot be imported ({type(e).__name__}: {e}): its "
                "wheel must match the CUDA installed here (cupy-cudaXXx), and an NVIDIA "
                "driver must be present; or use the 'numpy' backend."
            )
        raise RuntimeError(_cupy_error) from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        n = 0
        reason = f"({type(e).__name__}: {e})"
    else:
        reason = "(cupy.cuda.runtime.getDeviceCount() returned 0)"
    if n == 0:
        _cupy_error = (
            f"CuPy is installed but no GPU is visible {reason}. The 'cupy' backend needs an "
            "NVIDIA GPU with a working driver; use the 'numpy' backend on this machine."
        )
        raise RuntimeError(_cupy_error)
    _cupy = cupy
    ARRAY_TYPES = (np.ndarray, cupy.ndarray)
    return cupy


def module(name: str) -> ModuleType:
    """The array module for a backend name ('numpy' or 'cupy')."""
    if name == "numpy":
        return np
    if name == "cupy":
        return _load_cupy()
    if isinstance(name, str) and name.strip().lower() in BACKENDS:  # "NumPy", as the
        return module(name.strip().lower())  # environment variable is read
    hint = ""
    if isinstance(name, str) and name.strip().lower().startswith("float"):
        dtype = name.strip().lower()
        hint = (
            f"; {name!r} is a dtype, not a backend: for {dtype} weights build the model "
            f"after ts.set_default_dtype({dtype!r})"
        )
    elif isinstance(name, str) and name.strip().lower().split(":")[0] in _DEVICE_NAMES:
        meant = _DEVICE_NAMES[name.strip().lower().split(":")[0]]  # ("cuda:0" too)
        hint = f"; {name!r} names a device, as in PyTorch: the backend for it is {meant!r}"
    raise ValueError(f"unknown backend {name!r}: expected one of {BACKENDS}{hint}")


# PyTorch's device names, and the backend each means here
_DEVICE_NAMES = {"cuda": "cupy", "gpu": "cupy", "cpu": "numpy"}


def set_backend(name: str) -> None:
    """Make `name` ('numpy' or 'cupy', in any case) the backend for new tensors."""
    global xp, _name
    xp = module(name)
    _name = name.strip().lower()


def get_backend() -> str:
    """The name of the active backend."""
    return _name


@contextlib.contextmanager
def using(name: str) -> Iterator[ModuleType]:
    """Context manager: run the block with backend `name`, then restore the previous one."""
    global xp, _name
    previous = xp, _name  # restored as they were (even an unusable $TINYGRAD_SEQ_BACKEND)
    set_backend(name)
    try:
        yield xp
    finally:
        xp, _name = previous


def available() -> list[str]:
    """The backends that work on this machine: always 'numpy', 'cupy' when a GPU is usable."""
    names = ["numpy"]
    try:
        _load_cupy()
    except RuntimeError:
        pass
    else:
        names.append("cupy")
    return names


def unavailable_reason(name: str) -> str | None:
    """Why backend `name` cannot be used here, or None if it can."""
    try:
        module(name)
    except (RuntimeError, ValueError) as e:
        return str(e)
    return None


def array_module(a: object) -> ModuleType:
    """The array module an array belongs to (NumPy for NumPy arrays and scalars)."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy
    return np


def own_copy(array, given):
    """`array`, made by asarray from the caller's `given`, as an op's own: a copy where it may
    still be the caller's memory (asarray returns an array as it is, and an ndarray
    subclass's, a memmap's, as a new view of it), so that a later change to `given` (a
    batch buffer refilled in a loop) cannot reach what backward reads. One already new
    (made from a list or a number, or moved to the other backend) is returned as it is."""
    if (
        hasattr(given, "dtype")
        and not isinstance(given, np.generic)  # (NumPy scalars cannot change)
        and array_module(given) is array_module(array)
    ):
        return array.copy()
    return array


def backend_of(a: object) -> str:
    """'cupy' for a CuPy array, else 'numpy'."""
    return "cupy" if _cupy is not None and isinstance(a, _cupy.ndarray) else "numpy"


def notice_cupy(a: object) -> None:
    """Load CuPy when one of its arrays arrives before the backend was asked for (a user's
    own cupy.asarray): until then the engine would not know it as an array."""
    if _cupy is None and type(a).__module__.partition(".")[0] == "cupy":
        _load_cupy()


def to_numpy(a: object) -> np.ndarray:
    """A NumPy copy of an array from either backend."""
    notice_cupy(a)
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.array(a, copy=True)


def host(a: object) -> np.ndarray:
    """A Tensor, list, number, NumPy or CuPy array as a NumPy array (ids, lengths): an array
    copied to the host (NumPy refuses to convert a CuPy one implicitly), a Tensor's data
    likewise (known by its `numpy` method: this module sits below tensor.py), the others
    read as `np.asarray` reads them."""
    if callable(getattr(a, "numpy", None)):  # a Tensor
        return a.numpy()
    return to_numpy(a) if hasattr(a, "dtype") else np.asarray(a)


def to_backend(a: object, name: str) -> object:
    """`a` copied to backend `name` (a copy even where it already lives there)."""
    target = module(name)
    if target is np:
        return to_numpy(a)
    return target.array(a, copy=True)  # (asarray would hand back a CuPy array itself)


def as_array(a: object) -> object:
    """`a` as an array of its own backend (NumPy scalars become 0-d arrays)."""
    if a.__class__ in ARRAY_TYPES:
        return a
    return np.asarray(a)


# ---------------------------------------------------------------- sums as BLAS products
# NumPy reduces an array along its last axis one short row at a time, and along its first
# axis one row-add at a time; a matrix-vector product with a vector of ones does the same
# sum in one BLAS call: 5–7× faster for the (rows, 64–512) blocks of softmax and layer
# norm, 1.5–3× for bias gradients. Float arrays only (a product of booleans is an OR).
_ones_cache: dict = {}
_ONES_CACHED = 32  # vectors kept at most: a model meets a few row lengths, not hundreds


def _ones(n: int, like) -> object:
    """A cached vector of n ones with `like`'s dtype and backend."""
    key = (n, like.dtype, like.__class__)
    ones = _ones_cache.get(key)
    if ones is None:
        if len(_ones_cache) >= _ONES_CACHED:  # sizes that vary without end (batch × T)
            _ones_cache.clear()
        ones = _ones_cache[key] = array_module(like).ones(n, dtype=like.dtype)
    return ones


def sum_last(x):
    """Σ over the last axis, keeping it (as `x.sum(-1, keepdims=True)`): x @ 1."""
    return (x @ _ones(x.shape[-1], x))[..., None]


def sum_leading(g, n_axes: int):
    """Σ over the first `n_axes` axes of a C-contiguous `g`: 1ᵀ g on its rows."""
    rows = 1
    for n in g.shape[:n_axes]:
        rows *= n
    return (_ones(rows, g) @ g.reshape(rows, -1)).reshape(g.shape[n_axes:])


# ---------------------------------------------------------------- the constant 1
# NumPy converts a Python number operand anew on every ufunc call (`1 - s`): ~0.3 µs, as
# much as subtracting two 4 × 4 arrays. A 0-d array of the other operand's dtype it takes
# as it is, and the result keeps that dtype.
_one_numpy: dict = {}


def one_like(x) -> object:
    """1 as a read-only 0-d NumPy array of x's dtype (for `one_like(s) - s`); a plain 1
    for anything else (CuPy hands a Python scalar to its kernel as it is)."""
    if x.__class__ is not np.ndarray:
        return 1
    one = _one_numpy.get(x.dtype)
    if one is None:
        one = np.ones((), x.dtype)
        one.flags.writeable = False
        _one_numpy[x.dtype] = one
    return one


class _Unusable:
    """Stands in for the array module when $TINYGRAD_SEQ_BACKEND names one that cannot be
    used here: importing still works (so does `tinygrad-seq --help`, and set_backend can
    pick another), and the first tensor made raises the reason."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __getattr__(self, name: str):
        raise type(self._error)(f"TINYGRAD_SEQ_BACKEND: {self._error}")


_env = os.environ.get("TINYGRAD_SEQ_BACKEND", "").strip().lower()
if _env:
    try:
        set_backend(_env)
    except (RuntimeError, ValueError) as e:
        xp, _name = _Unusable(e), _env  # type: ignore[assignment]
