"""Large NumPy matrix products through Intel MKL (tinygrad_seq/_mkl.py): the same results
as NumPy's in every memory layout, NumPy for everything MKL cannot or need not take, and
the same gradients through the engine either way. Tests of the MKL path skip where the
`mkl` package is not installed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import _mkl, _native

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
pytestmark = pytest.mark.numpy_only  # MKL multiplies NumPy arrays; CuPy has its own BLAS


@contextlib.contextmanager
def _state_kept():
    """The _mkl module's state (who multiplies, why, the loaded routines) as it was."""
    saved = (_mkl._status, _mkl._reason, dict(_mkl._gemm))
    try:
        yield
    finally:
        _mkl._status, _mkl._reason = saved[0], saved[1]
        _mkl._gemm.clear()
        _mkl._gemm.update(saved[2])


def _can_load() -> str:
    """'mkl' when MKL loads on this machine (on any CPU), else NumPy's reason."""
    with _state_kept():
        _mkl.set_enabled(True)
        return _mkl.library()


LOADS = _can_load()
needs_mkl = pytest.mark.skipif(LOADS != "mkl", reason=f"MKL does not load here: {LOADS}")


@pytest.fixture
def restore_state():
    with _state_kept():
        yield


@pytest.fixture(params=["compiled", "ctypes"])
def calls(request, restore_state, monkeypatch):  # (monkeypatch undone first, then the state)
    """MKL in use (on any CPU), called from the compiled helpers or through ctypes, each
    call into it counted (per dtype); the module's state restored afterwards."""
    _mkl.set_enabled(True)
    counts = {F32: 0, F64: 0}
    if request.param == "compiled":
        if _native.gemm is _native._not_taken or not _native.enabled:
            pytest.skip(f"compiled helpers not in use here: {_native.status()}")
        compiled = _native.gemm

        def counting_compiled(a, b):
            out = compiled(a, b)
            if out is not None:
                counts[a.dtype] += 1
            return out

        monkeypatch.setattr(_native, "gemm", counting_compiled)
    else:
        monkeypatch.setattr(_native, "gemm", _native._not_taken)
    for dtype, routine in list(_mkl._gemm.items()):

        def counting(*args, routine=routine, dtype=dtype):
            counts[dtype] += 1
            return routine(*args)

        monkeypatch.setitem(_mkl._gemm, dtype, counting)
    return counts


def _operand(rng, shape, dtype, layout):
    """A `shape` array laid out as `layout` says, with the values of a fresh draw."""
    rows, cols = shape
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "transposed":  # a transposed view: unit stride down the columns
        return rng.standard_normal((cols, rows)).astype(dtype).T
    if layout == "row slice":  # rows further apart than they are long (lda > cols)
        return rng.standard_normal((rows, cols + 7)).astype(dtype)[:, :cols]
    if layout == "column slice":  # a transposed view of a row slice
        return rng.standard_normal((cols, rows + 5)).astype(dtype)[:, :rows].T
    if layout == "strided":  # every other element both ways: MKL cannot read it
        return rng.standard_normal((2 * rows, 2 * cols)).astype(dtype)[::2, ::2]
    raise ValueError(layout)


def _run_fresh(code: str, **env: str) -> str:
    """What `code` prints in a fresh interpreter (NumPy and _mkl imported) with `env` set."""
    out = subprocess.run(
        [sys.executable, "-c", f"import numpy as np; from tinygrad_seq import _mkl; {code}"],
        capture_output=True,
        text=True,
        env=dict(os.environ, **env),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


LAYOUTS = ("C", "transposed", "row slice", "column slice", "strided")


@needs_mkl
@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("layout_b", LAYOUTS)
@pytest.mark.parametrize("layout_a", LAYOUTS)
def test_large_products_match_numpy_in_every_layout(layout_a, layout_b, dtype, calls, rng):
    m, k, n = 160, 128, 112  # 2.3 M multiply-adds: over MIN_MULTIPLY_ADDS
    assert m * k * n >= _mkl.MIN_MULTIPLY_ADDS
    a = _operand(rng, (m, k), dtype, layout_a)
    b = _operand(rng, (k, n), dtype, layout_b)
    got = _mkl.product(a, b)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    assert got.shape == (m, n) and got.dtype == dtype and got.flags.c_contiguous
    tol = 1e-4 if dtype == F32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.sqrt(k))
    through_mkl = "strided" not in (layout_a, layout_b)
    assert calls[dtype] == int(through_mkl)


@needs_mkl
@pytest.mark.parametrize(
    "a_shape, b_shape, dtype",
    [
        ((32, 64), (64, 64), F32),  # small: a ctypes call costs more than it saves
        ((160, 128), (128, 112), np.dtype(np.float16)),  # no half-precision gemm
        ((160, 128), (128, 112), np.dtype(np.int64)),  # integers: NumPy's exact product
        ((1, 4096), (4096, 1024), F32),  # one row: large, read as it is
    ],
)
def test_what_numpy_keeps(a_shape, b_shape, dtype, calls, rng):
    a = (rng.standard_normal(a_shape) * 3).astype(dtype)
    b = (rng.standard_normal(b_shape) * 3).astype(dtype)
    got = _mkl.product(a, b)
    # MKL and OpenBLAS sum in different orders (and MKL's kernel depends on the CPU): an
    # entry near 0 of a 4096-term float32 sum differs by far more than 1e-5 of itself, so
    # the absolute tolerance is relative to the sum's scale, 9·√k for entries of scale 3
    rtol = 1e-3 if dtype.itemsize < 4 else 1e-5
    np.testing.assert_allclose(got, a @ b, rtol=rtol, atol=rtol * 9 * np.sqrt(a_shape[1]))
    large = a_shape[0] * a_shape[1] * b_shape[1] >= _mkl.MIN_MULTIPLY_ADDS
    assert sum(calls.values()) == int(large and dtype in (F32, F64))


def test_strides_beyond_32_bit_integers_are_left_to_numpy():
    # a view whose rows lie 2³¹ floats apart: MKL's 32-bit lda would wrap (never read here)
    base = np.zeros(8, np.float32)
    for ld in (2**31 + 8, 2**32 + 8):
        rows = np.lib.stride_tricks.as_strided(base, (2, 8), (ld * 4, 4))
        assert _mkl._layout(rows) is None and _mkl._layout(rows.T) is None
    assert _mkl._layout(np.lib.stride_tricks.as_strided(base, (2, 8), ((2**31 - 1) * 4, 4)))


@needs_mkl
def test_a_64_bit_interface_layer_in_the_environment_is_overridden():
    printed = _run_fresh(
        "a = np.arange(300 * 300, dtype=np.float32).reshape(300, 300) % 7; "
        "assert _mkl.library() == 'mkl'; "
        "assert np.array_equal(_mkl.product(a, a), a @ a); print('same')",
        MKL_INTERFACE_LAYER="ILP64",  # MKL would read 64-bit integers: a crash, unless set
        TINYGRAD_SEQ_GEMM="mkl",
    )
    assert printed == "same"


def test_switching_off_while_another_thread_loads_wins(monkeypatch, restore_state):
    loading = threading.Event()
    find = _mkl._library_path

    def slow_find():
        loading.set()
        time.sleep(0.3)  # set_enabled(False) is called meanwhile, and waits for the lock
        return find()

    monkeypatch.setattr(_mkl, "_library_path", slow_find)
    monkeypatch.setenv("TINYGRAD_SEQ_GEMM", "mkl")
    _mkl._status = "not loaded"
    a = np.ones((256, 256), np.float32)
    worker = threading.Thread(target=_mkl.product, args=(a, a))
    worker.start()
    assert loading.wait(5)
    switcher = threading.Thread(target=_mkl.set_enabled, args=(False,))
    switcher.start()
    worker.join(5)
    switcher.join(5)
    assert _mkl.library() == "numpy (turned off by set_enabled(False))"


def test_addresses_are_those_of_the_first_element():
    a = np.arange(24.0).reshape(4, 6)
    read_only = a.copy()
    read_only.flags.writeable = False
    views = (a, a.T, a[1:], a[:, 2:], a[::2, ::3], np.asfortranarray(a), read_only, read_only.T)
    for view in views:
        assert _mkl._address(view) == view.__array_interface__["data"][0]


@needs_mkl
def test_read_only_operands(calls, rng):
    a = rng.standard_normal((160, 128)).astype(np.float32)
    rows_of_b_transposed = rng.standard_normal((112, 128)).astype(np.float32)
    a.flags.writeable = rows_of_b_transposed.flags.writeable = False
    b = rows_of_b_transposed.T  # a transposed view, read-only too
    assert not b.flags.writeable
    np.testing.assert_allclose(_mkl.product(a, b), a @ b, rtol=1e-4, atol=1e-4)
    assert calls[F32] == 1


@needs_mkl
def test_mixed_dtypes_and_empty_products(calls, rng):
    a = rng.standard_normal((160, 128)).astype(np.float32)
    b = rng.standard_normal((128, 112))  # float64: NumPy promotes, MKL is not asked
    np.testing.assert_allclose(_mkl.product(a, b), a @ b, rtol=1e-6)
    assert _mkl.product(np.ones((0, 5000), np.float32), np.ones((5000, 600), np.float32)).shape == (
        0,
        600,
    )
    assert sum(calls.values()) == 0


def _mlp_gradients(rng_seed: int) -> list[np.ndarray]:
    """Float64 gradients of a model whose products are large: a 2-D layer, a 3-D input
    through a (k, m) weight (the reshaped path), and a weight used twice (collected
    terms, multiplied out at the end)."""
    rng = np.random.default_rng(rng_seed)
    x = ts.Tensor(rng.standard_normal((4, 64, 96)), dtype="float64")  # (B, S, d)
    W_in = ts.Tensor(rng.standard_normal((96, 128)) * 0.1, requires_grad=True, dtype="float64")
    W_h = ts.Tensor(rng.standard_normal((128, 128)) * 0.1, requires_grad=True, dtype="float64")
    W_out = ts.Tensor(rng.standard_normal((256, 128)) * 0.1, requires_grad=True, dtype="float64")
    h = (x @ W_in).tanh().reshape(256, 128)  # (B·S, 128)
    h = (h @ W_h).tanh() @ W_h  # W_h twice
    loss = ((h.T @ W_out) ** 2).sum()  # (128, 256) @ (256, 128)
    loss.backward()
    return [t.grad for t in (W_in, W_h, W_out)]


@needs_mkl
def test_engine_gradients_agree_through_mkl_and_numpy(calls):
    through_mkl = _mlp_gradients(0)
    assert calls[F64] >= 8  # forward and backward products took the MKL path
    _mkl.set_enabled(False)
    through_numpy = _mlp_gradients(0)
    for got, expected in zip(through_mkl, through_numpy, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_turned_off_everything_goes_through_numpy(restore_state, rng):
    _mkl.set_enabled(False)
    assert _mkl.library() == "numpy (turned off by set_enabled(False))"
    a, b = rng.standard_normal((160, 128)), rng.standard_normal((128, 112))
    np.testing.assert_allclose(_mkl.product(a, b), a @ b, rtol=1e-12)


def test_without_the_package_numpy_multiplies_and_says_why(monkeypatch, restore_state):
    monkeypatch.setattr(_mkl, "_library_path", lambda: None)
    _mkl.set_enabled(True)
    assert _mkl._status == "numpy" and not _mkl._gemm
    assert "pip install" in _mkl.library() and "[mkl]" in _mkl.library()


def test_a_library_that_fails_to_load_leaves_numpy(monkeypatch, restore_state, tmp_path):
    broken = tmp_path / "libmkl_rt.so.3"
    broken.write_bytes(b"not a library")
    monkeypatch.setattr(_mkl, "_library_path", lambda: str(broken))
    _mkl.set_enabled(True)
    assert _mkl.library().startswith("numpy (MKL could not be loaded")
    a = np.ones((200, 200), np.float32)
    np.testing.assert_array_equal(_mkl.product(a, a), np.full((200, 200), 200, np.float32))


def test_only_intel_cpus_get_it_unless_asked(monkeypatch, restore_state):
    monkeypatch.delenv("TINYGRAD_SEQ_GEMM", raising=False)
    monkeypatch.setattr(_mkl, "_cpu_vendor", lambda: "AuthenticAMD")
    _mkl._status = "not loaded"
    assert _mkl.library() == (
        "numpy (not an Intel CPU (AuthenticAMD); TINYGRAD_SEQ_GEMM=mkl forces MKL)"
    )
    monkeypatch.setenv("TINYGRAD_SEQ_GEMM", "mkl")
    _mkl._status = "not loaded"
    assert _mkl.library() == LOADS  # asked for: loaded whatever the vendor


def test_the_cpu_vendor_is_read():
    assert isinstance(_mkl._cpu_vendor(), str)
    if os.path.exists("/proc/cpuinfo"):
        assert _mkl._cpu_vendor() in open("/proc/cpuinfo").read()


def test_the_environment_variable_turns_it_off():
    printed = _run_fresh(
        "a = np.ones((256, 256), np.float32); "
        "assert (_mkl.product(a, a) == 256).all(); print(_mkl.library())",
        TINYGRAD_SEQ_GEMM="numpy",
    )
    assert printed == "numpy (TINYGRAD_SEQ_GEMM=numpy)"


@needs_mkl
def test_the_demos_single_threaded_blas_covers_mkl_loaded_inside_it():
    # threadpoolctl limits only libraries already loaded: MKL, loaded lazily at the first
    # large product inside the block, kept every core while the summary said one thread
    pytest.importorskip("threadpoolctl")
    code = (
        "from threadpoolctl import threadpool_info; "
        "from tinygrad_seq.demos.common import single_threaded_blas; "
        "import tinygrad_seq as ts\n"
        "with single_threaded_blas():\n"
        "    ts.randn(1024, 64) @ ts.randn(64, 64)\n"
        "    print(_mkl.library(), [i['num_threads'] for i in threadpool_info() "
        "if i['internal_api'] == 'mkl'])"
    )
    env = {v: "" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    assert _run_fresh(code, TINYGRAD_SEQ_GEMM="mkl", **env) == "mkl [1]"


@pytest.mark.skipif(_native._ext is None, reason=f"not compiled here: {_native.status()}")
def test_compiled_gemm_takes_what_cblas_reads_only(restore_state, rng):
    """The compiled call into MKL answers None (NumPy multiplies) for what CBLAS cannot
    read, and for everything once no routine is set; bad calls raise."""
    ext = _native._ext
    a = rng.standard_normal((8, 4)).astype(np.float32)
    b = rng.standard_normal((4, 6)).astype(np.float32)

    class Sub(np.ndarray):
        pass

    refused = [
        (a.astype(np.float64), b),  # two dtypes
        (a.astype(np.float16), b.astype(np.float16)),
        (a.astype(np.int32), b.astype(np.int32)),
        (a[:, :3], b),  # inner sizes differ
        (a[0], b),  # 1-D
        (a[None], b),  # 3-D
        (a[::2, ::2], b[::2]),  # strided both ways
        (a[:, :0], b[:0]),  # k = 0
        (a.view(Sub), b),
        (a.astype(a.dtype.newbyteorder()), b),
        ([[1.0]], [[1.0]]),
    ]
    for x, y in refused:
        assert ext.gemm(x, y) is None
    with pytest.raises(TypeError, match="2 arguments"):
        ext.gemm(a)
    with pytest.raises(TypeError, match="2 arguments"):
        ext.set_gemm(0)
    with pytest.raises(TypeError):
        ext.set_gemm("sgemm", 0)
    ext.set_gemm(0, 0)  # no routine: nothing is taken
    try:
        assert ext.gemm(a, b) is None
    finally:
        if LOADS == "mkl":
            _mkl.set_enabled(True)  # (sets the routines again)
    if LOADS == "mkl":
        got = ext.gemm(a, b)
        np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-6)
        assert got.flags.c_contiguous and got.dtype == np.float32


@needs_mkl
@pytest.mark.skipif(_native._ext is None, reason=f"not compiled here: {_native.status()}")
def test_routines_switched_by_another_thread_mid_call_do_not_crash():
    """gemm reads the routines once, with the GIL held, before it releases the GIL for the
    product: another thread's set_gemm(0, 0) meanwhile must not leave it calling NULL."""
    printed = _run_fresh(
        "import ctypes, sys, threading, time; from tinygrad_seq import _native; "
        "sys.setswitchinterval(1e-6); assert _mkl.library() == 'mkl'; ext = _native._ext; "
        "s, d = (ctypes.cast(_mkl._gemm[np.dtype(t)], ctypes.c_void_p).value "
        "for t in (np.float32, np.float64)); a = np.ones((1, 1), np.float32); "
        "stop = time.time() + 1.0\n"
        "def toggle():\n"
        "    while time.time() < stop: ext.set_gemm(0, 0); ext.set_gemm(s, d)\n"
        "t = threading.Thread(target=toggle); t.start(); taken = 0\n"
        "while time.time() < stop: taken += ext.gemm(a, a) is not None\n"
        "t.join(); print('taken' if taken else 'none taken')",
        TINYGRAD_SEQ_GEMM="mkl",
    )
    assert printed == "taken"
