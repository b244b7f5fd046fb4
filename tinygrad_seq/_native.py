"""The optional compiled helpers (`_native_ext.c`): an aligned allocator and row kernels.

`pip install` compiles `_native_ext.c` when a C compiler is at hand; without one (or with
`TINYGRAD_SEQ_NATIVE=0` set) the engine computes the same things with NumPy alone, and
the results agree to rounding (but for float32 layer norms of numbers beyond ~1e19, whose
squares overflow float32 in NumPy's path, where the kernel sums them in double; and a
layer norm's input changed in place between forward and backward, which the compiled
path reads again, as Mul and MatMul read theirs, where the NumPy path kept x̂). What the
helpers buy, on one Intel Xeon core:

- NumPy's array data in blocks of 4 KiB or more (but zeroed ones, `np.zeros`, which keep
  calloc's free zero pages) start on a 64-byte boundary, where glibc aligns to 16, so
  NumPy's SIMD loops do not straddle cache lines. A NumPy allocator is installed at
  import, for the importing thread's context (NumPy keeps one per context; threads
  started elsewhere keep NumPy's), and only over NumPy's default one: it changes where
  NumPy puts that thread's large arrays, in the library's code and yours, not what they
  hold. The Transformer block of the speed suite (W3) ran ~8 % faster, the LSTM (W2) and
  MLP (W1) ~4 %, and the hand-written NumPy floors as much.
- layer norm and softmax over the last axis, forward and backward, one row at a time
  (ops.LayerNorm, ops.Softmax); relu's backward in one pass (ops.Relu); a bias added to
  every row of a matrix (ops.Add); σ and its backward, and tanh's backward, one call each
  (ops.Sigmoid, ops.Tanh: an LSTM step's gates). For C-contiguous float32 and float64
  arrays on the CPU (σ also takes a 2-D slice of rows); anything else takes the NumPy
  path. Relu's, softmax's and layer norm's backward write into the gradient they were
  given where it is the node's own (autograd.grad_is_yours).
- the exact gelu x Φ(x), with its slope Φ(x) + x φ(x) kept for the backward, one pass in
  double through glibc's vector erfc where libmvec has it (glibc 2.35 on): ~2-3 ms for
  10⁶ elements where the NumPy path's erfc (_special.py) takes ~35 (ops.GeluErf).
- MKL's matrix product called directly, where _mkl.py loaded MKL (`gemm`): ~1 µs a call
  where ctypes costs ~5-10 µs.

`status()` says which is in use and why.
"""

from __future__ import annotations

import os

import numpy as np

# data blocks of at least this many bytes are aligned (smaller ones gain nothing, and
# NumPy's cache of small blocks is faster than an aligned allocation)
MIN_ALIGNED_BYTES = 4096

_reason = ""
try:
    from . import _native_ext as _ext  # the compiled module
except ImportError as error:  # not built: no C compiler when it was installed (or a
    # source checkout used without `pip install -e .` or `setup.py build_ext --inplace`)
    _ext = None
    _here = os.path.dirname(os.path.abspath(__file__))
    _built = [n for n in os.listdir(_here) if n.startswith("_native_ext.") and n[-2:] != ".c"]
    if _built:  # there, but it failed to load (another NumPy's ABI, a missing symbol)
        _reason = f"built but not loadable ({error})"
    elif os.path.isfile(os.path.join(os.path.dirname(_here), "setup.py")):  # a checkout
        _reason = (
            f"not built in this source tree ({_here}; `pip install -e .` builds it here "
            "where a C compiler is at hand, and a copy installed elsewhere is not the one "
            "imported from this folder)"
        )
    else:
        _reason = "not built (no C compiler when tinygrad_seq was installed)"

# the version of _native_ext.c's functions this module calls (its ABI_VERSION): one built
# from another version of the source (a checkout updated but not rebuilt) is not used
ABI_VERSION = 5
if _ext is not None and getattr(_ext, "ABI_VERSION", 1) != ABI_VERSION:
    _reason = (
        f"built from another version of _native_ext.c (ABI {getattr(_ext, 'ABI_VERSION', 1)}, "
        f"this tinygrad_seq needs {ABI_VERSION}): rebuild it with `pip install -e .` or "
        "`python setup.py build_ext --inplace`"
    )
    _ext = None
if _ext is not None and os.environ.get("TINYGRAD_SEQ_NATIVE", "1").strip() == "0":
    _ext, _reason = None, "TINYGRAD_SEQ_NATIVE=0"

enabled = _ext is not None  # the kernels (tests switch them off to compare both paths)
if _ext is not None:  # False where another library's allocator was installed first
    _ext.install_allocator(MIN_ALIGNED_BYTES)

try:  # NumPy 2
    from numpy._core.multiarray import get_handler_name
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import get_handler_name

HANDLER_NAME = "tinygrad_seq_aligned64"


def aligned() -> bool:
    """Whether new large arrays of this thread get 64-byte aligned blocks. NumPy keeps
    its allocator per context: threads started before or after the import begin with
    NumPy's own, and their arrays are correct, just not aligned."""
    return get_handler_name() == HANDLER_NAME


def status() -> str:
    """In words: whether the compiled helpers are in use (in this thread), and why not."""
    if _ext is None:
        return f"NumPy only: compiled helpers {_reason}"
    parts = ["compiled row kernels" + ("" if enabled else " (switched off)")]
    parts.append("64-byte aligned arrays" if aligned() else f"NumPy's {get_handler_name()}")
    return ", ".join(parts)


def set_enabled(on: bool) -> None:
    """Use the compiled kernels (True, when built) or NumPy's (False)."""
    global enabled
    enabled = bool(on) and _ext is not None


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ONE_PASS_SOFTMAX = _ext is not None and hasattr(_ext, "softmax_forward")


def rows_ok(x) -> bool:
    """Whether the row kernels take `x`: a C-contiguous, aligned float32/float64 NumPy
    array in the machine's byte order (a byte-swapped dtype compares unequal to both)
    with at least one element and one axis."""
    return (
        enabled
        and x.__class__ is np.ndarray
        and x.dtype in _FLOATS
        and x.ndim > 0
        and x.size > 0
        and x.flags.c_contiguous
        and x.flags.aligned
    )


def rows_ok_with(g, y) -> bool:
    """Whether the row kernels take g and y together: both as rows_ok asks, one shape."""
    return (
        rows_ok(g)
        and g.dtype == y.dtype
        and g.shape == y.shape
        and y.flags.c_contiguous
        and y.flags.aligned
    )


def layer_norm_forward(x, gain, bias, eps):
    """(y, μ, 1/√(var + ε)), μ and 1/√(var + ε) one per row (shape x.shape[:-1])."""
    y = np.empty_like(x)
    mean = np.empty(x.shape[:-1], x.dtype)
    rstd = np.empty(x.shape[:-1], x.dtype)
    _ext.layer_norm_forward(x, gain, bias, float(eps), y, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(g, x, mean, rstd, gain, want_gain: bool, want_bias: bool, out=None):
    """(∂L/∂x, ∂L/∂gain or None, ∂L/∂bias or None), x̂ made again from x, μ and
    1/√(var + ε); ∂L/∂x into `out` (which may be g itself) or a new array."""
    gx = np.empty_like(g) if out is None else out
    g_gain = np.empty_like(gain) if want_gain else None
    g_bias = np.empty_like(gain) if want_bias else None
    _ext.layer_norm_backward(g, x, mean, rstd, gain, gx, g_gain, g_bias)
    return gx, g_gain, g_bias


def softmax(x):
    """softmax over the last axis: in one pass a row where the C library has vector
    exponentials; else shifted here, exponentiated by NumPy, normalised here."""
    if _ONE_PASS_SOFTMAX:
        y = np.empty_like(x)
        _ext.softmax_forward(x, y)
        return y
    y = softmax_shift(x)
    np.exp(y, out=y)
    softmax_normalize(y)
    return y


def softmax_shift(x):
    """x − the max of each row (the last axis), in a new array."""
    y = np.empty_like(x)
    _ext.softmax_shift(x, y)
    return y


def softmax_normalize(y) -> None:
    """Each row of `y` divided by its sum, in place."""
    _ext.softmax_normalize(y)


def softmax_backward(g, y, out=None):
    """y ⊙ (g − Σ g ⊙ y) per row, into `out` (which may be g itself) or a new array."""
    gx = np.empty_like(g) if out is None else out
    _ext.softmax_backward(g, y, gx)
    return gx


def _not_taken(*arrays):
    return None


# σ(x), σ's backward (1 − s)·s·g and tanh's g − y²·g, each one C call that checks its
# arguments and makes its output, or answers None for arrays it does not take (not an
# ndarray, not float32/float64, empty, or not laid out in rows: C-contiguous, or 2-D rows
# with gaps, as an LSTM gate's slice z[:, H:2H]; the backward ones: g and y C-contiguous,
# of one shape and dtype). No Python-level checks: these run on an RNN step's small
# arrays, where NumPy's four calls cost ~5 µs (σ, (32, 128)) and the compiled one ~1.5.
# σ needs the C library's vector exponentials (see softmax): without them, NumPy's.
sigmoid = getattr(_ext, "sigmoid", _not_taken)
sigmoid_backward = getattr(_ext, "sigmoid_backward", _not_taken)
tanh_backward = getattr(_ext, "tanh_backward", _not_taken)

# The exact gelu x Φ(x), one C call, computed in double through glibc's vector erfc and
# rounded once (see _native_ext.c): gelu(x, want_slope) gives x Φ(x), or with want_slope
# (x Φ(x), Φ(x) + x φ(x)), the slope kept for the backward; None for an x it does not take
# (not an ndarray, not float32/float64, not C-contiguous). Where the C library has no
# vector erfc (glibc before 2.35, other systems): always None, and ops.GeluErf uses
# _special.py's erfc.
gelu = getattr(_ext, "gelu", _not_taken)


_sum_squares = getattr(_ext, "sum_squares", _not_taken)


def sum_squares(x) -> float | None:
    """Σ x² in double (a Python float) of a float32/float64 NumPy array laid out in rows,
    one C call; None for other arrays (CuPy's, float16, 0-d, empty, strided) or with the
    kernels off (autograd._norm then uses NumPy)."""
    return _sum_squares(x) if enabled else None


# a @ b through the CBLAS product _mkl.py hands over (MKL's), or None (see _native_ext.c)
gemm = getattr(_ext, "gemm", _not_taken)


_scatter_add_rows = getattr(_ext, "scatter_add_rows", _not_taken)


def scatter_add_rows(buffer, index, values) -> bool:
    """buffer[index[i]] += values[i] along buffer's first axis, for each i in order: NumPy's
    `add.at(buffer, index, values)` (the same additions in the same order, so the same
    bits), one C call where add.at takes ~80 ns an index (an embedding's gradient). True
    if done; False, having written nothing, for arrays the kernel does not take (see
    `scatter_add_rows` in _native_ext.c) or with the kernels off: then call add.at."""
    return enabled and _scatter_add_rows(buffer, index, values) is not None


# below this many elements NumPy's broadcast add is as fast (the call costs the same)
MIN_ROW_ADD = 1024


def can_add_rows(x, b) -> bool:
    """Whether `add_rows` takes x (..., d) and b (d,): both C-contiguous, one float dtype
    (the caller checks first that x has MIN_ROW_ADD elements or more)."""
    return (
        x.ndim > 1
        and b.__class__ is np.ndarray
        and x.shape[-1] == b.shape[0]
        and x.dtype == b.dtype
        and rows_ok(x)
        and b.flags.c_contiguous
        and b.flags.aligned
    )


def add_rows(x, b):
    """x + b, b added to every row of x (NumPy's broadcast, without its per-row loop)."""
    out = np.empty_like(x)
    _ext.add_rows(x, b, out)
    return out


def relu_backward(g, y, out=None):
    """g where relu's output y > 0, else 0 (a select: an inf or NaN in g where y ≤ 0 gives
    0, as in ops.Relu's NumPy path), in one pass, into `out` (which may be g itself) or a
    new array."""
    gx = np.empty_like(g) if out is None else out
    _ext.relu_backward(g, y, gx)
    return gx
