"""Details of the compiled helpers (tinygrad_seq/_native_ext.c, through _native.py) that
tests/test_native.py leaves open: the kernels' own argument checks (sizes, byte order),
the layouts left to the NumPy path (transposed outputs, a strided bias, 0-d tensors;
Fortran-ordered, reversed and unaligned arrays through every native path), the dispatch
checks themselves, ∂L/∂x written into the gradient given as out=, gradients shared
between two ops, σ on 3-D views, MKL on transposed views, a float32 softmax's sum in
double, and the environment switch's default. Each was found by a mutation of the
kernels or of _native.py that every other test let through.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import _mkl, _native

pytestmark = pytest.mark.numpy_only  # the kernels take NumPy arrays; CuPy has its own

BUILT = _native._ext is not None


def _loadable() -> bool:
    """Whether the extension imports and is of the version _native.py calls (whatever
    TINYGRAD_SEQ_NATIVE says in this process)."""
    try:
        from tinygrad_seq import _native_ext
    except ImportError:
        return False
    return getattr(_native_ext, "ABI_VERSION", 1) == _native.ABI_VERSION


LOADABLE = _loadable()
needs_native = pytest.mark.skipif(not BUILT, reason=f"not compiled here: {_native.status()}")


@pytest.fixture
def compiled():
    """The kernels on for the test (skips where they were not built); the switch restored."""
    if not BUILT:
        pytest.skip(f"not compiled here: {_native.status()}")
    was = _native.enabled
    _native.set_enabled(True)
    yield _native._ext
    _native.set_enabled(was)


def softmax_grad(y, g):
    """softmax's backward in float64: y ⊙ (g − Σ g ⊙ y) over the last axis."""
    y, g = y.astype(np.float64), g.astype(np.float64)
    return y * (g - (g * y).sum(-1, keepdims=True))


def reference_softmax(x):
    e = np.exp(x.astype(np.float64) - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ------------------------------------------------------------ the kernels' own checks
@needs_native
def test_kernels_refuse_arrays_of_the_wrong_size(compiled):
    """A too-small output or input raises, and nothing past it is written or read (the
    arrays are views into a larger buffer, whose tail must stay as it was)."""
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    buf = np.full(64, 7.0, np.float32)
    short = buf[:16]  # C-contiguous, 16 elements where 32 are needed
    kernels = [compiled.softmax_shift] + [getattr(compiled, "softmax_forward", None)]
    for kernel in filter(None, kernels):
        with pytest.raises(ValueError, match="expected 32 elements"):
            kernel(x, short)
        np.testing.assert_array_equal(buf, 7.0)
    g = np.ones((4, 8), np.float32)
    mean, rstd = np.zeros(4, np.float32), np.ones(4, np.float32)
    gain, gx = np.ones(8, np.float32), np.empty((4, 8), np.float32)
    with pytest.raises(ValueError, match="x: expected 32 elements"):
        compiled.layer_norm_backward(g, short, mean, rstd, gain, gx, None, None)
    with pytest.raises(ValueError, match="second argument: expected 32 elements"):
        compiled.softmax_backward(g, short, gx)


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_refuse_byte_swapped_arrays(compiled, dtype):
    """Arrays in the other byte order (their dtype's number the same as the native one)
    raise, whichever argument they are: the kernels would read their bytes as numbers."""
    x = np.linspace(-2, 2, 24).astype(dtype).reshape(3, 8)
    swapped = x.astype(x.dtype.newbyteorder())
    b, out = np.ones(8, dtype), np.empty_like(x)
    calls = {
        "add_rows x": lambda: compiled.add_rows(swapped, b, out),
        "add_rows b": lambda: compiled.add_rows(x, b.astype(b.dtype.newbyteorder()), out),
        "relu_backward y": lambda: compiled.relu_backward(x, swapped, out),
        "softmax_shift x": lambda: compiled.softmax_shift(swapped, out),
        "softmax_normalize y": lambda: compiled.softmax_normalize(swapped),
        "layer_norm_forward x": lambda: compiled.layer_norm_forward(
            swapped, b, b, 1e-5, out, np.empty(3, dtype), np.empty(3, dtype)
        ),
    }
    for name, call in calls.items():
        try:
            call()
        except ValueError as error:
            assert "native-byte-order" in str(error), name
        else:
            pytest.fail(f"{name}: a byte-swapped array was taken")


# ------------------------------------------------- layouts the NumPy path keeps
@pytest.mark.parametrize("op", ["relu", "softmax"])
def test_backward_of_an_op_on_a_transposed_view(kernels, rng, op):
    """The op's saved output is laid out as its transposed input (not C-contiguous): its
    backward takes the NumPy path, with a C-contiguous upstream gradient."""
    a = rng.standard_normal((16, 40))
    g = rng.standard_normal((40, 16))
    ta = ts.Tensor(a, requires_grad=True)
    y = ta.T.relu() if op == "relu" else ta.T.softmax(-1)
    y.backward(g)
    if op == "relu":
        np.testing.assert_allclose(y.numpy(), np.maximum(a.T, 0))
        want = g * (a.T > 0)
    else:
        np.testing.assert_allclose(y.numpy(), reference_softmax(a.T), rtol=1e-12)
        want = softmax_grad(reference_softmax(a.T), g)
    np.testing.assert_allclose(ta.grad, want.T, rtol=1e-10, atol=1e-12)


def test_a_strided_bias_added_to_every_row(kernels, rng):
    """A bias that is a strided view (every other element of a longer vector) on a matrix
    large enough for the compiled row add: NumPy's broadcast, both values and gradients."""
    x = rng.standard_normal((64, 32))
    long = rng.standard_normal(64)
    tx, tlong = ts.Tensor(x, requires_grad=True), ts.Tensor(long, requires_grad=True)
    bias = tlong[::2]
    assert x.size >= _native.MIN_ROW_ADD and bias.data.strides == (16,)
    y = tx + bias
    np.testing.assert_allclose(y.numpy(), x + long[::2])
    g = rng.standard_normal((64, 32))
    y.backward(g)
    np.testing.assert_allclose(tx.grad, g)
    want = np.zeros(64)
    want[::2] = g.sum(0)
    np.testing.assert_allclose(tlong.grad, want, rtol=1e-12)


@pytest.mark.parametrize("op", ["relu", "softmax"])
def test_ops_on_a_zero_dim_tensor(kernels, op):
    """A 0-d tensor (no last axis for a row kernel): the NumPy path, forward and backward."""
    t = ts.Tensor(np.array(2.5), requires_grad=True)
    y = t.relu() if op == "relu" else t.softmax(-1)
    y.backward()
    assert float(y.item()) == (2.5 if op == "relu" else 1.0)
    assert float(np.asarray(t.grad)) == (1.0 if op == "relu" else 0.0)


def _laid_out(a, layout):
    """A copy of `a`'s values in the given memory layout: "C", "Fortran" (column-major),
    "reversed" (negative strides on every axis) or "unaligned" (C order, one byte off)."""
    if layout == "C":
        return a.copy()
    if layout == "Fortran":
        return np.asfortranarray(a)
    if layout == "reversed":
        flipped = (slice(None, None, -1),) * a.ndim
        return a[flipped].copy()[flipped]
    out = np.frombuffer(bytearray(a.nbytes + 1), a.dtype, offset=1).reshape(a.shape)
    out[...] = a
    return out


_erf = np.vectorize(math.erf, otypes=[float])


def _layout_cases(x, gain, bias):
    """(op on Tensors, its output, ∂L/∂inputs for upstream g) per native path, in NumPy."""
    inv = 1 / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    x_hat = (x - x.mean(-1, keepdims=True)) * inv
    s, t, y = 1 / (1 + np.exp(-x)), np.tanh(x), reference_softmax(x)
    cdf, pdf = 0.5 * (1 + _erf(x / math.sqrt(2))), np.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    def layer_norm_grads(g):
        gh = g * gain
        gx = inv * (gh - gh.mean(-1, keepdims=True) - x_hat * (gh * x_hat).mean(-1, keepdims=True))
        return gx, (g * x_hat).sum(0), g.sum(0)

    return {
        "softmax": (lambda a: a.softmax(-1), y, lambda g: (softmax_grad(y, g),)),
        "layer_norm": (
            lambda a, w, b: ts.F.layer_norm(a, w, b),
            gain * x_hat + bias,
            layer_norm_grads,
        ),
        "relu": (lambda a: a.relu(), np.maximum(x, 0), lambda g: (np.where(x > 0, g, 0.0),)),
        "sigmoid": (lambda a: a.sigmoid(), s, lambda g: (g * s * (1 - s),)),
        "tanh": (lambda a: a.tanh(), t, lambda g: (g * (1 - t * t),)),
        "gelu": (lambda a: a.gelu(), x * cdf, lambda g: (g * (cdf + x * pdf),)),
        "bias_rows": (lambda a, b: a + b, x + bias, lambda g: (g, g.sum(0))),
    }


@pytest.mark.parametrize("layout", ["C", "Fortran", "reversed", "unaligned"])
@pytest.mark.parametrize(
    "op", ["softmax", "layer_norm", "relu", "sigmoid", "tanh", "gelu", "bias_rows"]
)
def test_every_native_path_on_each_layout_gives_the_numpy_formula(kernels, rng, op, layout):
    """Inputs and upstream gradient Fortran-ordered, with negative strides, or unaligned
    (which the kernels' checks leave to NumPy) and C-ordered (which they take), through
    each op the kernels serve, on both paths: the forward and every gradient as the NumPy
    formula's (the bias add: a bias (d,) on a matrix past MIN_ROW_ADD elements)."""
    x = rng.standard_normal((40, 32)) * 2
    gain, bias, g = (
        1 + rng.standard_normal(32) / 4,
        rng.standard_normal(32),
        rng.standard_normal((40, 32)),
    )
    assert x.size >= _native.MIN_ROW_ADD
    fn, want_out, want_grads = _layout_cases(x, gain, bias)[op]
    inputs = {"layer_norm": (x, gain, bias), "bias_rows": (x, bias)}.get(op, (x,))
    # (the bias add: the bias laid out, on a C-ordered x, so that the bias's layout alone
    # decides; a Fortran-ordered vector is C-ordered, so there x is the Fortran one)
    laid = [op != "bias_rows" or (a.ndim == 1) != (layout == "Fortran") for a in inputs]
    tensors = [
        ts.Tensor(_laid_out(a, layout if lay else "C"), requires_grad=True)
        for a, lay in zip(inputs, laid, strict=True)
    ]
    if layout != "C":  # (the layout reached the op: a Tensor keeps its array's)
        assert not all(t.data.flags.c_contiguous and t.data.flags.aligned for t in tensors)
    out = fn(*tensors)
    np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-12, atol=1e-13)
    out.backward(_laid_out(g, layout))
    for tensor, want in zip(tensors, want_grads(g), strict=True):
        np.testing.assert_allclose(np.asarray(tensor.grad), want, rtol=1e-10, atol=1e-12)


@needs_native
def test_the_dispatch_checks_refuse_what_the_kernels_cannot_take(compiled, rng):
    """rows_ok (softmax, layer norm) answers no for what is not a float32/float64 ndarray of at
    least one axis; rows_ok_with (relu's and softmax's backward) and can_add_rows (the bias add)
    no for a pair the kernels cannot pair element for element: another dtype (the kernel would
    raise), another shape of the same size (it checks sizes only, and would pair the wrong
    rows), not C-ordered or unaligned (it would raise), an ndarray subclass (a masked array's
    mask would be ignored); yes for a fitting pair, whose results are the NumPy formula's. The
    engine fits each gradient to its node's shape and dtype and keeps exact ndarrays, so only
    these direct calls reach the refused pairs."""
    g, y = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    assert _native.rows_ok(y) and _native.rows_ok(y.astype(np.float32))
    for name, other in {
        "float16": y.astype(np.float16),
        "0-d": np.array(1.0),
        "a masked array": np.ma.masked_array(y, mask=y > 0),
        "a list": [1.0, 2.0],
    }.items():
        assert not _native.rows_ok(other), name
    assert _native.rows_ok_with(g, y) and _native.rows_ok_with(y, g)
    np.testing.assert_array_equal(_native.relu_backward(g, y), np.where(y > 0, g, 0.0))
    s = reference_softmax(y)
    np.testing.assert_allclose(_native.softmax_backward(g, s), softmax_grad(s, g), rtol=1e-12)
    others = {
        "float32": y.astype(np.float32),
        "another shape": y.reshape(6, 4),
        "Fortran": _laid_out(y, "Fortran"),
        "reversed": _laid_out(y, "reversed"),
        "unaligned": _laid_out(y, "unaligned"),
        "every other column": np.repeat(y, 2, axis=1)[:, ::2],
    }
    for name, other in others.items():
        assert not _native.rows_ok_with(g, other), name
        assert not _native.rows_ok_with(other, g), name
    x, b = rng.standard_normal((64, 32)), rng.standard_normal(32)
    assert _native.can_add_rows(x, b)
    np.testing.assert_array_equal(_native.add_rows(x, b), x + b)
    biases = {
        "float32": b.astype(np.float32),
        "another length": rng.standard_normal(16),
        "reversed": _laid_out(b, "reversed"),
        "unaligned": _laid_out(b, "unaligned"),
        "a masked array": np.ma.masked_array(b, mask=b > 0),
    }
    for name, other in biases.items():
        assert not _native.can_add_rows(x, other), name
    for name, other in {"Fortran": _laid_out(x, "Fortran"), "a vector": x[0]}.items():
        assert not _native.can_add_rows(other, x[0]), name


@needs_native
def test_backward_kernels_write_into_the_gradient_they_are_given(compiled, rng):
    """Given out=g (a gradient that is the node's own, autograd.grad_is_yours), relu's,
    softmax's and layer norm's backward write ∂L/∂x into g itself, no new array."""
    x, g = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    y = np.maximum(x, 0)
    want = np.where(y > 0, g, 0.0)
    given = g.copy()
    assert _native.relu_backward(given, y, out=given) is given
    np.testing.assert_array_equal(given, want)
    s = reference_softmax(x)
    given = g.copy()
    assert _native.softmax_backward(given, s, out=given) is given
    np.testing.assert_allclose(given, softmax_grad(s, g), rtol=1e-12)
    gain, bias = 1 + rng.standard_normal(7) / 4, rng.standard_normal(7)
    _, mean, rstd = _native.layer_norm_forward(x, gain, bias, 1e-5)
    given = g.copy()
    gx, g_gain, g_bias = _native.layer_norm_backward(
        given, x, mean, rstd, gain, True, True, out=given
    )
    assert gx is given
    expected = _layout_cases(x, gain, bias)["layer_norm"][2](g)
    for got, want in zip((gx, g_gain, g_bias), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------ a gradient shared by two ops
@pytest.mark.parametrize("op", ["relu", "softmax", "layer_norm"])
def test_a_gradient_shared_with_another_op_is_not_overwritten(kernels, rng, op):
    """x's op and y both receive the sum's one upstream gradient: the op's backward (which
    may write into a gradient that is its own) leaves y's, and the caller's, unchanged."""
    x, y = rng.standard_normal((8, 32)), rng.standard_normal((8, 32))
    gain, bias = rng.standard_normal(32), rng.standard_normal(32)
    g = rng.standard_normal((8, 32))
    kept = g.copy()
    tx, ty = ts.Tensor(x, requires_grad=True), ts.Tensor(y, requires_grad=True)
    if op == "relu":
        out = tx.relu()
    elif op == "softmax":
        out = tx.softmax(-1)
    else:
        out = ts.functional.layer_norm(tx, ts.Tensor(gain), ts.Tensor(bias))
    (out + ty).backward(g)
    np.testing.assert_array_equal(g, kept)
    np.testing.assert_array_equal(ty.grad, kept)
    if op == "relu":
        np.testing.assert_allclose(tx.grad, kept * (x > 0))
    elif op == "softmax":
        np.testing.assert_allclose(tx.grad, softmax_grad(reference_softmax(x), kept), atol=1e-12)


# ------------------------------------------------------------------------------- σ
SIGMOID_BUILT = BUILT and hasattr(_native._ext, "sigmoid")  # (needs vector exponentials)


@pytest.mark.skipif(not SIGMOID_BUILT, reason=f"compiled σ not in use here: {_native.status()}")
def test_sigmoid_of_a_3d_view_with_gaps(compiled, rng):
    """A 3-D view whose second axis is unit-stride (a 2-D slice reshaped to (2, 6, 1)) is
    not rows the kernel can step through: None, and σ through the engine is right."""
    z = rng.standard_normal((8, 12)).astype(np.float32)
    view = z[:2, :6].reshape(2, 6, 1)
    assert not view.flags.c_contiguous and view.strides[1] == view.itemsize
    assert compiled.sigmoid(view) is None
    got = ts.Tensor(z)[:2, :6].reshape(2, 6, 1).sigmoid().numpy()
    want = 1 / (1 + np.exp(-z[:2, :6].astype(np.float64)))
    np.testing.assert_allclose(got, want.reshape(2, 6, 1), rtol=1e-6)


# ------------------------------------------------------------------ MKL's product
@contextlib.contextmanager
def _mkl_loaded():
    """MKL loaded (the compiled call into it set), the _mkl module's state restored after;
    skips where it does not load."""
    saved = (_mkl._status, _mkl._reason, dict(_mkl._gemm))
    try:
        _mkl.set_enabled(True)
        loads = _mkl.library()
        if loads != "mkl":
            pytest.skip(f"MKL does not load here: {loads}")
        yield
    finally:
        _mkl._status, _mkl._reason = saved[0], saved[1]
        _mkl._gemm.clear()
        _mkl._gemm.update(saved[2])


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_gemm_takes_transposed_views_wider_than_tall(compiled, rng, dtype):
    """a = Xᵀ with fewer rows than columns (leading dimension = its rows), and b likewise:
    CBLAS reads both transposed, so the compiled call takes them."""
    with _mkl_loaded():
        a = rng.standard_normal((48, 8)).astype(dtype).T  # (8, 48), lda = 8
        b = rng.standard_normal((64, 48)).astype(dtype).T  # (48, 64), ldb = 48
        got = compiled.gemm(a, b)
        assert got is not None
        assert got.shape == (8, 64) and got.dtype == dtype and got.flags.c_contiguous
        tol = 1e-5 if dtype == np.float32 else 1e-12
        want = a.astype(np.float64) @ b.astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


# ------------------------------------------------------------------------- softmax
@needs_native
def test_a_long_float32_softmax_row_is_summed_in_double(compiled, rng):
    """One float32 row of 4 M numbers: its sum of exponentials in double keeps every
    softmax within float32 rounding of float64's (a float32 sum was ~6e-6 off)."""
    x = rng.standard_normal((1, 1 << 22)).astype(np.float32)
    y = ts.Tensor(x).softmax(-1).numpy()
    want = reference_softmax(x)
    assert np.abs(y / want - 1).max() < 2e-6


# ------------------------------------------------- rows added at repeated indices
@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
@pytest.mark.parametrize("shape", [(64, 32), (7,), (3, 4, 2), (0,)])
def test_scatter_add_rows_gives_add_at_bit_for_bit(compiled, rng, dtype, index_dtype, shape):
    """The compiled add.at along the first axis: repeated and negative ids, rows of one
    number or of a (2, 3) block, each the same bits as NumPy's (the same additions in the
    same order)."""
    for row in [(8,), (), (2, 3)]:
        table = rng.standard_normal((13, *row)).astype(dtype)
        ids = rng.integers(-13, 13, shape).astype(index_dtype)
        values = rng.standard_normal((*shape, *row)).astype(dtype)
        want, got = table.copy(), table.copy()
        np.add.at(want, ids, values)
        assert _native.scatter_add_rows(got, ids, values)
        assert got.tobytes() == want.tobytes()


@needs_native
def test_scatter_add_rows_leaves_other_arrays_to_add_at(compiled):
    """Arrays the loop does not take come back False with nothing written: an id out of
    range (add.at then raises NumPy's IndexError), values of another shape or dtype, values
    that overlap the table, 16-bit ids, a strided or read-only table, a tuple of indices."""
    table = np.zeros((3, 2), np.float32)
    ids, ones = np.array([0, 2]), np.ones((2, 2), np.float32)
    read_only = np.zeros((3, 2), np.float32)
    read_only.flags.writeable = False
    refused = {
        "id past the end": (table, np.array([0, 3]), ones),
        "id before the start": (table, np.array([-4, 0]), ones),
        "values too wide": (table, ids, np.ones((2, 3), np.float32)),
        "values float64": (table, ids, ones.astype(np.float64)),
        "values overlap": (table, ids, table[:2]),
        "int16 ids": (table, ids.astype(np.int16), ones),
        "strided table": (np.zeros((3, 4), np.float32)[:, ::2], ids, ones),
        "read-only table": (read_only, ids, ones),
        "a tuple of indices": (table, (ids, np.array([0, 1])), np.ones(2, np.float32)),
        "a list of ids": (table, [0, 2], ones),
    }
    for name, (buffer, index, values) in refused.items():
        assert _native.scatter_add_rows(buffer, index, values) is False, name
        assert not buffer.any(), name
    with pytest.raises(IndexError):  # the engine's gradient of an out-of-range id: NumPy's
        ts.autograd.IndexedGrad((3, 2), np.float32, np.array([0, 3]), ones, False).add_to(table)
    _native.set_enabled(False)
    assert _native.scatter_add_rows(table, ids, ones) is False  # the kernels off: add.at's
    assert not table.any()


# ------------------------------------------------------------- the switch's default
@pytest.mark.skipif(not LOADABLE, reason=f"not compiled here: {_native.status()}")
def test_the_kernels_are_on_unless_switched_off():
    """With TINYGRAD_SEQ_NATIVE unset, an extension that loads is used (were it not,
    every compiled-path test would skip rather than fail)."""
    code = (
        "from tinygrad_seq import _native; "
        "print(_native._ext is not None, _native.enabled, _native.status())"
    )
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_SEQ_NATIVE"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("True True compiled row kernels"), out.stdout
