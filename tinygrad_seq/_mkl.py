"""Large matrix products through Intel MKL, when the `mkl` extra is installed.

PyTorch's CPU build multiplies matrices with MKL; NumPy's wheels with OpenBLAS, which on
one Intel Xeon core takes 1.2–1.7× MKL's time on the products of an MLP layer or a
Transformer block (64 × 784 @ 784 × 256: ~0.39 ms against ~0.23 ms; 1024 × 128 @ 128 ×
128: ~0.36 ms against ~0.28 ms). `pip install "tinygrad_seq[mkl]"` puts MKL's library
beside NumPy; then every 2-D float32 or float64 NumPy product given to `product` with at
least MIN_MULTIPLY_ADDS multiply-adds goes to MKL's `cblas_sgemm` / `cblas_dgemm` (the
engine's matmul sends it the products with over 4096 output elements), called from the
optional compiled helpers where they were built (tinygrad_seq/_native_ext.c: ~1 µs a
call) and through ctypes elsewhere. A ctypes call costs ~5-10 µs, more than a small
product takes, so small products (an RNN step's), CuPy arrays, other
dtypes and operands strided along both axes stay with NumPy, as does everything when MKL
is not installed or `TINYGRAD_SEQ_GEMM=numpy` is set.

MKL is used on Intel CPUs only: on an AMD EPYC it ran these products slower than
OpenBLAS. `TINYGRAD_SEQ_GEMM=mkl` (or `set_enabled(True)`) uses it on any CPU.

MKL picks its threads as NumPy's OpenBLAS does (all cores unless MKL_NUM_THREADS or
OMP_NUM_THREADS says otherwise). Its sums may round differently from OpenBLAS's in the
last bits, as any two BLAS libraries do. Unlike NumPy's `@` it does not report overflow
to `np.seterr` (an inf comes back without a warning): `ts.detect_anomaly()` still catches
it.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import platform
import threading

import numpy as np

from . import _native

# Below this many multiply-adds NumPy's own product is as fast or faster: measured on an
# Intel Xeon (AVX-512), 32 × 128 @ 128 × 512 (2.1 M) ran alike both ways (~0.07 ms),
# 64 × 64 @ 64 × 64 in 8 µs through NumPy against 22 through MKL (the call's cost), 64 ×
# 784 @ 784 × 256 (12.8 M) in 0.39 against 0.22 ms. W1 took 0.874× of its all-NumPy time
# with this threshold, 0.876× at 2²², 0.955× at 2²³ (which left its 4.2 M products out).
MIN_MULTIPLY_ADDS = 2**21

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enum values
_LP64 = 0  # MKL_INTERFACE_LP64: 32-bit integer arguments, as declared below
_INT_MAX = 2**31 - 1  # sizes and strides beyond it do not fit those arguments: NumPy's then
_lock = threading.Lock()  # one thread loads (or switches) at a time

_gemm: dict = {}  # dtype -> MKL's cblas_?gemm, once loaded
_status = "not loaded"  # "mkl", "numpy", or "not loaded" (loaded at the first large product)
_reason = ""  # why NumPy multiplies, when it does


def _library_path() -> str | None:
    """The path of MKL's single dynamic library (libmkl_rt) from the `mkl` package."""
    try:
        files = importlib.metadata.files("mkl") or ()
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        name = f.name
        if (
            name.startswith("libmkl_rt.so")
            or name == "libmkl_rt.dylib"
            or (name.startswith("mkl_rt") and name.endswith(".dll"))
        ):
            return str(f.locate())
    return None


def _cpu_vendor() -> str:
    """The CPU's vendor string ('GenuineIntel', 'AuthenticAMD', ...), or what the platform
    module says of the processor where /proc/cpuinfo is missing."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor()


def _load(force: bool = False) -> None:
    """Find and load MKL once; afterwards `_status` says who multiplies. `force`: on any
    CPU (and whatever TINYGRAD_SEQ_GEMM says)."""
    global _status, _reason
    choice = os.environ.get("TINYGRAD_SEQ_GEMM", "").strip().lower()
    if not force and choice == "numpy":
        _status, _reason = "numpy", "TINYGRAD_SEQ_GEMM=numpy"
        return
    if not force and choice != "mkl":
        vendor = _cpu_vendor()
        if "intel" not in vendor.lower():
            _status = "numpy"
            _reason = f"not an Intel CPU ({vendor or 'unknown'}); TINYGRAD_SEQ_GEMM=mkl forces MKL"
            return
    path = _library_path()
    if path is None:
        _status, _reason = (
            "numpy",
            'MKL is not installed (pip install ".[mkl]" in the project\'s folder)',
        )
        return
    try:
        lib = ctypes.CDLL(path)
        # 32-bit integers whatever MKL_INTERFACE_LAYER says (ILP64 would read 64-bit ones)
        if lib.MKL_Set_Interface_Layer(_LP64) != _LP64:
            raise OSError("MKL refused the LP64 interface layer")
        c_int, pointer = ctypes.c_int, ctypes.c_void_p
        for dtype, name, real in (
            (np.dtype(np.float32), "cblas_sgemm", ctypes.c_float),
            (np.dtype(np.float64), "cblas_dgemm", ctypes.c_double),
        ):
            gemm = getattr(lib, name)
            # order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
            gemm.argtypes = [c_int] * 6 + [real, pointer, c_int, pointer, c_int]
            gemm.argtypes += [real, pointer, c_int]
            gemm.restype = None
            _gemm[dtype] = gemm
    except (OSError, AttributeError) as e:  # a broken install: NumPy multiplies
        _gemm.clear()
        _status, _reason = "numpy", f"MKL could not be loaded: {e}"
        return
    _status = "mkl"
    set_gemm = getattr(_native._ext, "set_gemm", None)
    if set_gemm is not None:  # the compiled helpers call them without ctypes' ~4 µs
        address = ctypes.cast  # (MKL stays loaded: `lib` lives on in the functions)
        set_gemm(
            address(_gemm[np.dtype(np.float32)], ctypes.c_void_p).value,
            address(_gemm[np.dtype(np.float64)], ctypes.c_void_p).value,
        )


def _load_once() -> None:
    with _lock:
        if _status == "not loaded":  # (another thread may have loaded it meanwhile)
            _load()


def library() -> str:
    """Who multiplies the large NumPy products: 'mkl' or 'numpy (why)'."""
    if _status == "not loaded":
        _load_once()
    return "mkl" if _status == "mkl" else f"numpy ({_reason})"


def set_enabled(enabled: bool) -> None:
    """Route large products through MKL (if it loads, on any CPU) or through NumPy alone."""
    global _status, _reason
    with _lock:
        _gemm.clear()
        if enabled:
            _status = "not loaded"
            _load(force=True)
        else:
            _status, _reason = "numpy", "turned off by set_enabled(False)"


def _layout(a) -> tuple[int, int] | None:
    """(transpose flag, leading dimension) under which MKL reads the 2-D array `a` as it
    lies in memory, or None if it cannot (strided along both axes, or a leading dimension
    past 32-bit integers)."""
    item = a.itemsize
    rows_step, cols_step = a.strides
    if cols_step == item and rows_step % item == 0 and rows_step >= a.shape[1] * item:
        layout = _NO_TRANS, rows_step // item  # rows apart by lda elements
    elif rows_step == item and cols_step % item == 0 and cols_step >= a.shape[0] * item:
        layout = _TRANS, cols_step // item  # a transposed view of a row-major array
    else:
        return None
    return layout if layout[1] <= _INT_MAX else None


_char_at = ctypes.c_char.from_buffer
_address_of = ctypes.addressof


def _address(a) -> int:
    """The address of a's first element. Through the buffer protocol where it can (~0.8
    µs: a writable array contiguous one way or the other), else `a.ctypes.data` (~2–5 µs,
    it builds a helper object)."""
    try:
        if a.flags.c_contiguous:
            return _address_of(_char_at(a))
        if a.flags.f_contiguous:
            return _address_of(_char_at(a.T))  # the same first element, in C order
    except TypeError:  # read-only memory: no writable buffer to export
        pass
    return a.ctypes.data


def product(a, b):
    """a @ b for 2-D NumPy arrays: through MKL when it is loaded and the product is large
    enough to gain, else NumPy's. MKL is called from the compiled helpers where they were
    built (_native.py; the same function, without a ctypes call), else through ctypes."""
    m, k = a.shape
    n = b.shape[1]
    if m * n * k >= MIN_MULTIPLY_ADDS and _status != "numpy":
        if _status == "not loaded":
            _load_once()
        if _native.enabled and _status == "mkl":
            out = _native.gemm(a, b)  # None where it does not take them: as below
            if out is not None:
                return out
        gemm = _gemm.get(a.dtype)
        if (
            gemm is not None
            and max(m, n, k) <= _INT_MAX
            and b.dtype is a.dtype
            and a.__class__ is b.__class__ is np.ndarray
            and a.flags.aligned
            and b.flags.aligned
            and b.shape[0] == k
        ):
            layout_a, layout_b = _layout(a), _layout(b)
            if layout_a is not None and layout_b is not None:
                out = np.empty((m, n), a.dtype)
                gemm(
                    _ROW_MAJOR, layout_a[0], layout_b[0], m, n, k, 1.0,
                    _address(a), layout_a[1], _address(b), layout_b[1],
                    0.0, _address(out), n,
                )  # fmt: skip
                return out
    return a @ b
