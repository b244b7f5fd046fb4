"""The optional compiled helpers (tinygrad_seq/_native_ext.c, through _native.py): the same
results as the NumPy path, to rounding, for everything they take (layer norm, softmax,
relu's backward, a bias added to every row, σ and its backward, tanh's backward; the exact
gelu against math.erfc and PyTorch too), the NumPy path for what they do not take,
gradients checked in float64 both ways, clear errors for bad arguments, and NumPy's large
array blocks aligned to 64 bytes. Tests of the compiled path skip where it was not built.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import _native

pytestmark = pytest.mark.numpy_only  # the kernels take NumPy arrays; CuPy has its own

BUILT = _native._ext is not None
needs_native = pytest.mark.skipif(not BUILT, reason=f"not compiled here: {_native.status()}")

get_handler_name = _native.get_handler_name


@pytest.fixture
def kernels():
    """Kernels on for the test (skips where they were not built); the switch restored."""
    if not BUILT:
        pytest.skip(f"not compiled here: {_native.status()}")
    was = _native.enabled
    _native.set_enabled(True)
    yield
    _native.set_enabled(was)


@pytest.fixture
def counted(kernels, monkeypatch):
    """Kernels on, each wrapper counting its calls."""
    calls = dict.fromkeys(
        ("layer_norm_forward", "layer_norm_backward", "softmax", "softmax_shift",
         "softmax_backward", "relu_backward", "add_rows", "sigmoid", "sigmoid_backward",
         "tanh_backward", "gelu", "scatter_add_rows"), 0)  # fmt: skip
    for name in calls:
        original = getattr(_native, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(_native, name, counting)
    return calls


def both_paths(fn):
    """fn() with the kernels on and with them off (NumPy): (compiled, numpy)."""
    was = _native.enabled
    try:
        _native.set_enabled(True)
        compiled = fn()
        _native.set_enabled(False)
        numpy_path = fn()
    finally:
        _native.set_enabled(was)
    return compiled, numpy_path


def assert_same(a, b, dtype):
    tol = 2e-5 if np.dtype(dtype) == np.float32 else 1e-12
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol, equal_nan=True)


def layer_norm_run(x, gain, bias, g):
    """Output and the gradients of x, gain and bias for upstream gradient g."""
    tx, tg, tb = (ts.Tensor(a.copy(), requires_grad=True) for a in (x, gain, bias))
    y = ts.functional.layer_norm(tx, tg, tb)
    y.backward(g)
    return y.numpy(), tx.grad.copy(), tg.grad.copy(), tb.grad.copy()


SHAPES = [(1, 1), (3, 1), (5, 7), (2, 3, 4), (64, 128)]


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_matches_numpy_path(counted, rng, shape, dtype):
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gain, bias = (rng.standard_normal(shape[-1]).astype(dtype) for _ in range(2))
    g = rng.standard_normal(shape).astype(dtype)
    compiled, numpy_path = both_paths(lambda: layer_norm_run(x, gain, bias, g))
    assert counted["layer_norm_forward"] == counted["layer_norm_backward"] == 1
    assert compiled[0].dtype == numpy_path[0].dtype == dtype
    assert_same(compiled, numpy_path, dtype)


@needs_native
def test_layer_norm_strided_gradient_and_fallbacks(counted, rng):
    x = rng.standard_normal((6, 8))
    gain, bias = rng.standard_normal(8), rng.standard_normal(8)

    def mean_of_norm(x, gain, bias):  # a mean's gradient arrives broadcast (stride 0)
        tx, tg, tb = (ts.Tensor(a.copy(), requires_grad=True) for a in (x, gain, bias))
        ts.functional.layer_norm(tx, tg, tb).mean().backward()
        return tx.grad.copy(), tg.grad.copy(), tb.grad.copy()

    compiled, numpy_path = both_paths(lambda: mean_of_norm(x, gain, bias))
    assert counted["layer_norm_backward"] == 1
    assert_same(compiled, numpy_path, np.float64)
    # a float64 gradient into a float32 layer norm keeps its digits, as the NumPy path;
    # and a kernel switched off between forward and backward changes nothing
    x32, gain32, bias32 = x.astype(np.float32), gain.astype(np.float32), bias.astype(np.float32)
    g64 = rng.standard_normal((6, 8))
    compiled, numpy_path = both_paths(lambda: layer_norm_run(x32, gain32, bias32, g64))
    assert compiled[1].dtype == numpy_path[1].dtype
    assert_same(compiled, numpy_path, np.float32)
    tx = ts.Tensor(x.copy(), requires_grad=True)
    y = ts.functional.layer_norm(tx, ts.Tensor(gain), ts.Tensor(bias))
    _native.set_enabled(False)
    y.backward(g64)
    _native.set_enabled(True)
    assert_same([tx.grad], [numpy_path[1].astype(np.float64)], np.float32)
    # what the kernels do not take goes the NumPy way, with the same results
    for args in (
        (np.asfortranarray(x), gain, bias),  # x not C-contiguous
        (x.astype(np.float32), gain, bias),  # gain and bias of another dtype
        (x.astype(np.float16), gain.astype(np.float16), bias.astype(np.float16)),
    ):
        counted["layer_norm_forward"] = 0
        got = ts.functional.layer_norm(*(ts.Tensor(a) for a in args)).numpy()
        _native.set_enabled(False)
        want = ts.functional.layer_norm(*(ts.Tensor(a) for a in args)).numpy()
        _native.set_enabled(True)
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
        if args[0].dtype != np.float16:  # (float16 is worked out in float32: compiled)
            assert counted["layer_norm_forward"] == 0


def softmax_run(x, g):
    tx = ts.Tensor(x.copy(), requires_grad=True)
    y = tx.softmax(-1)
    y.backward(g)
    return y.numpy(), tx.grad.copy()


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES + [(4, 2, 16, 16)])
def test_softmax_matches_numpy_path(counted, softmax_kind, rng, shape, dtype):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    compiled, numpy_path = both_paths(lambda: softmax_run(x, g))
    assert counted["softmax"] == counted["softmax_backward"] == 1
    assert_same(compiled, numpy_path, dtype)


@pytest.fixture(params=["one pass", "shift, exp, normalize"])
def softmax_kind(request, monkeypatch):
    """The one-pass softmax kernel (where the C library has vector exponentials) and the
    three-step one used elsewhere: both tried wherever this machine has the first."""
    if request.param != "one pass":
        monkeypatch.setattr(_native, "_ONE_PASS_SOFTMAX", False)
    elif not _native._ONE_PASS_SOFTMAX:
        pytest.skip("no vector exponentials in this build: the three-step softmax only")
    return request.param


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_with_infinities_and_nan(counted, softmax_kind, dtype):
    info = np.finfo(dtype)
    x = np.array(
        [
            [0.0, -np.inf, 1.0, -np.inf],  # masked entries: weight 0
            [-np.inf, 2.0, -np.inf, -np.inf],  # one entry left: weight 1
            [np.inf, 0.0, 1.0, 2.0],  # +inf: NaN, as NumPy's path gives
            [np.nan, 0.0, 1.0, 2.0],  # NaN spreads over its row
            [info.max, info.max / 2, -info.max, 0.0],  # huge: no overflow
            [-1e4, -1e4 + 1, -1e4 + 2, -1e4 + 3],  # far below 0: no underflow to 0/0
        ],
        dtype,
    )
    g = np.arange(x.size, dtype=dtype).reshape(x.shape) / 10
    with np.errstate(invalid="ignore", over="ignore"):  # (NumPy's path warns on them)
        compiled, numpy_path = both_paths(lambda: softmax_run(x, g))
    assert counted["softmax"] == 1
    assert counted["softmax_shift"] == (softmax_kind != "one pass")
    assert_same(compiled, numpy_path, dtype)
    y = compiled[0]
    np.testing.assert_allclose(y[:2].sum(-1), 1, rtol=1e-6)
    assert np.isnan(y[3]).all() and not np.isnan(y[[0, 1, 4, 5]]).any()
    np.testing.assert_allclose(y[5], numpy_softmax(x[5].astype(np.float64)), rtol=1e-5)


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [10, 64, 100])
def test_softmax_masked_rows(counted, softmax_kind, rng, dtype, d):
    """Rows filled with the dtype's lowest number, as masks fill them (nn/attention.py),
    which the one-pass kernel sends through its second loop (lanes whose exp would be 0
    kept off the C library's slow path): exactly 0 there, NumPy's path's values elsewhere,
    and its NaN where a row has one."""
    info = np.finfo(dtype)
    x = (rng.standard_normal((3 * d, d)) * 4).astype(dtype)
    x[:d][np.triu(np.ones((d, d), bool), 1)] = info.min  # causal
    x[d : 2 * d, d // 2 :] = info.min  # padded keys
    x[2 * d, :] = info.min  # a row masked throughout: uniform, as NumPy's path gives
    x[2 * d + 1, ::3] = -np.inf
    x[2 * d + 2, 1::2] = info.min
    x[2 * d + 2, 0] = np.nan  # NaN spreads over its masked entries too
    low = -100.0 if dtype == np.float32 else -740.0  # exp subnormal: the slow path stays
    x[2 * d + 3, 1:] = np.linspace(low, -1.0, d - 1)
    x[2 * d + 3, :2] = [0.0, info.min]
    g = rng.standard_normal(x.shape).astype(dtype)
    compiled, numpy_path = both_paths(lambda: softmax_run(x, g))
    assert counted["softmax"] == 1
    assert_same(compiled, numpy_path, dtype)
    y = compiled[0]
    masked = (x == info.min) | (x == -np.inf)
    masked[2 * d] = False
    assert (y[masked & ~np.isnan(y)] == 0).all() and np.isnan(y[2 * d + 2]).all()
    rest = np.ones(len(x), bool)
    rest[2 * d + 2] = False
    np.testing.assert_allclose(y[rest].sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(y[2 * d], 1 / d, rtol=1e-6)


def numpy_softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_and_bias_rows_match_numpy_path(counted, rng, dtype):
    x = rng.standard_normal((40, 64)).astype(dtype)
    x[0, :4] = [0.0, -0.0, np.nan, np.inf]  # relu'(0) = 0; NaN > 0 is False
    b = rng.standard_normal(64).astype(dtype)
    b[:4] = 0  # (so relu sees those four as they are)
    g = rng.standard_normal((40, 64)).astype(dtype)

    def run():
        tx, tb = ts.Tensor(x.copy(), requires_grad=True), ts.Tensor(b.copy(), requires_grad=True)
        y = (tx + tb).relu()
        y.backward(g)
        return y.numpy(), tx.grad.copy(), tb.grad.copy()

    with np.errstate(invalid="ignore"):
        compiled, numpy_path = both_paths(run)
    assert counted["relu_backward"] == counted["add_rows"] == 1
    assert_same(compiled, numpy_path, dtype)
    np.testing.assert_array_equal(compiled[1][0, :4], [0, 0, 0, g[0, 3]])
    # an inf or NaN arriving where relu is flat: no gradient passes on either path (a
    # select, as PyTorch's), where g * (y > 0) would give NaN; where relu passes, it passes
    g[1, :6] = [np.inf, np.nan, -np.inf, np.inf, np.nan, -np.inf]
    x[1, :6] = [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0]
    b[:6] = 0
    compiled, numpy_path = both_paths(run)
    assert_same(compiled, numpy_path, dtype)
    np.testing.assert_array_equal(compiled[1][1, :6], [0, 0, 0, np.inf, np.nan, -np.inf])


@needs_native
def test_compiled_backward_rounds_as_the_numpy_path(kernels, rng):
    """σ's and tanh's backward give the NumPy path's numbers bit for bit, on every CPU (the
    extension is built without fusing a * b + c into one rounding)."""
    for dtype in (np.float32, np.float64):
        y = np.tanh(rng.standard_normal((256, 256))).astype(dtype)
        g = rng.standard_normal((256, 256)).astype(dtype)
        np.testing.assert_array_equal(_native.tanh_backward(g, y), g - (y * y) * g)
        s = (1 / (1 + np.exp(-rng.standard_normal((256, 256))))).astype(dtype)
        np.testing.assert_array_equal(_native.sigmoid_backward(g, s), (1 - s) * s * g)


def test_an_extension_built_from_other_sources_is_not_used():
    """An extension whose functions differ from the ones _native.py calls (a checkout
    updated but not rebuilt) is set aside, with the reason, not called."""
    code = (
        "import sys, types; fake = types.ModuleType('tinygrad_seq._native_ext'); "
        "fake.ABI_VERSION = 1; sys.modules['tinygrad_seq._native_ext'] = fake; "
        "from tinygrad_seq import _native; print(_native._ext is None); print(_native.status())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    unused, status = out.stdout.strip().splitlines()
    assert unused == "True"
    assert "another version" in status and "rebuild" in status


@needs_native
def test_bias_rows_only_where_they_apply(counted, rng):
    cases = [
        (rng.standard_normal((64, 32)), rng.standard_normal(32), 1),  # (N, d) + (d,)
        (rng.standard_normal((4, 16, 32)), rng.standard_normal(32), 1),  # batched rows
        (rng.standard_normal((8, 8)), rng.standard_normal(8), 0),  # small: NumPy's add
        (rng.standard_normal((64, 32)), rng.standard_normal(32).astype(np.float32), 0),
        (rng.standard_normal((32, 64)).T, rng.standard_normal(32), 0),  # x transposed
        (rng.standard_normal((64, 32)), rng.standard_normal((1, 32)), 0),  # a 2-D bias
        (rng.standard_normal(2048), rng.standard_normal(2048), 0),  # two vectors
    ]
    for x, b, calls in cases:
        counted["add_rows"] = 0
        got = (ts.Tensor(x) + ts.Tensor(b)).numpy()
        np.testing.assert_allclose(got, x + b, rtol=1e-6)
        assert counted["add_rows"] == calls, (x.shape, b.shape, b.dtype)


SIGMOID_BUILT = BUILT and hasattr(_native._ext, "sigmoid")  # (needs vector exponentials)


def gates_run(z, g, H):
    """An LSTM step's gate nonlinearities on slices of z (B, 4H): σ on three, tanh on one,
    and the gradient of z for upstream gradient g (B, H) on each."""
    tz = ts.Tensor(z.copy(), requires_grad=True)
    i, f = tz[:, :H].sigmoid(), tz[:, H : 2 * H].sigmoid()
    c_tilde, o = tz[:, 2 * H : 3 * H].tanh(), tz[:, 3 * H :].sigmoid()
    out = i * c_tilde + f * o
    out.backward(g)
    return i.numpy(), f.numpy(), c_tilde.numpy(), o.numpy(), tz.grad.copy()


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("B,H", [(1, 1), (3, 5), (32, 128)])
def test_gates_match_numpy_path(counted, rng, dtype, B, H):
    z = (3 * rng.standard_normal((B, 4 * H))).astype(dtype)
    z[0, 0], z[0, H] = -1000.0, 1000.0  # σ saturates to exactly 0 (i) and 1 (f)
    g = rng.standard_normal((B, H)).astype(dtype)
    compiled, numpy_path = both_paths(lambda: gates_run(z, g, H))
    assert counted["sigmoid"] == 3 and counted["sigmoid_backward"] == 3
    assert counted["tanh_backward"] == 1
    assert_same(compiled, numpy_path, dtype)
    assert compiled[0][0, 0] == 0 and compiled[1][0, 0] == 1
    assert all(a.dtype == dtype for a in compiled)


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_of_infinities_and_nan(kernels, dtype):
    x = np.array([[-np.inf, np.inf, np.nan, -90.0, 90.0, 0.0]], dtype)
    g = np.array([[1.0, 1.0, 1.0, np.inf, np.nan, 2.0]], dtype)

    def run():
        tx = ts.Tensor(x.copy(), requires_grad=True)
        ty = ts.Tensor(x.copy(), requires_grad=True)
        s, t = tx.sigmoid(), ty.tanh()
        s.backward(g)
        t.backward(g)
        return s.numpy(), t.numpy(), tx.grad.copy(), ty.grad.copy()

    with np.errstate(all="ignore"):
        compiled, numpy_path = both_paths(run)
    assert_same(compiled, numpy_path, dtype)
    np.testing.assert_array_equal(compiled[0][0, :2], [0, 1])


@pytest.mark.skipif(not SIGMOID_BUILT, reason="compiled σ not built here (no vector exp)")
def test_sigmoid_kernel_takes_rows_only():
    """What the compiled σ takes (else None, and NumPy runs): float32/float64 ndarrays laid
    out in rows, C-contiguous or 2-D with gaps between rows."""
    z = np.linspace(-3, 3, 8 * 12, dtype=np.float32).reshape(8, 12)
    expected = 1 / (1 + np.exp(-z.astype(np.float64)))
    taken = {
        "C-contiguous": (z, expected),
        "3-D": (z.reshape(2, 4, 12), expected.reshape(2, 4, 12)),
        "a gate's columns": (z[:, 4:8], expected[:, 4:8]),
        "every other row": (z[::2], expected[::2]),
        "one row": (z[0], expected[0]),
        "float64": (z.astype(np.float64), expected),
    }
    for name, (x, want) in taken.items():
        y = _native._ext.sigmoid(x)
        assert y is not None, name
        assert y.flags.c_contiguous and y.dtype == x.dtype and y.shape == x.shape, name
        np.testing.assert_allclose(y, want, rtol=1e-6, err_msg=name)
    swapped = z.astype(z.dtype.newbyteorder())
    unaligned = np.frombuffer(bytearray(4 * 12 + 1), np.float32, offset=1).reshape(4, 3)

    class Sub(np.ndarray):
        pass

    not_taken = {
        "transposed": z.T,
        "every other column": z[:, ::2],
        "reversed rows": z[::-1],
        "3-D with gaps": z.reshape(2, 4, 12)[:, :, :6],
        "0-d": np.float32(1.0),
        "0-d array": np.array(1.0, np.float32),
        "empty": np.empty((0, 4), np.float32),
        "float16": z.astype(np.float16),
        "int": np.arange(6).reshape(2, 3),
        "byte-swapped": swapped,
        "unaligned": unaligned,
        "a subclass": z.view(Sub),
        "a list": [1.0, 2.0],
    }
    for name, x in not_taken.items():
        assert _native._ext.sigmoid(x) is None, name


@needs_native
def test_backward_kernels_take_matching_arrays_only():
    ext = _native._ext
    g = np.ones((4, 6), np.float32)
    y = np.full((4, 6), 0.5, np.float32)
    np.testing.assert_allclose(ext.sigmoid_backward(g, y), 0.25)
    np.testing.assert_allclose(ext.tanh_backward(g, y), 0.75)
    for other in (y[:2], y.astype(np.float64), np.ones((4, 12), np.float32)[:, ::2], y.T,
                  y.reshape(6, 4), np.empty((0,), np.float32), 0.5):  # fmt: skip
        assert ext.sigmoid_backward(g, other) is None
        assert ext.tanh_backward(other, g) is None
    for call in (lambda: ext.tanh_backward(g), lambda: ext.sigmoid_backward(g, y, y)):
        with pytest.raises(TypeError, match="takes 2 arguments"):
            call()


@needs_native
def test_unaligned_arrays_take_the_numpy_path(counted):
    unaligned = np.frombuffer(bytearray(8 * 16 + 1), np.float64, offset=1).reshape(2, 8)
    assert not unaligned.flags.aligned
    unaligned[:] = np.arange(16.0).reshape(2, 8)
    y = ts.Tensor(unaligned).softmax(-1).numpy()
    z = ts.functional.layer_norm(ts.Tensor(unaligned), ts.ones(8, dtype=np.float64),
                                 ts.zeros(8, dtype=np.float64)).numpy()  # fmt: skip
    assert counted["softmax"] == counted["layer_norm_forward"] == 0
    np.testing.assert_allclose(y.sum(-1), 1)
    np.testing.assert_allclose(z.mean(-1), 0, atol=1e-12)


@needs_native
def test_gradcheck_through_the_kernels(kernels, rng):
    x, gain, bias = (ts.Tensor(a, requires_grad=True) for a in (
        rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5)))  # fmt: skip
    assert ts.gradcheck(lambda x, g, b: ts.functional.layer_norm(x, g, b), x, gain, bias)
    assert ts.gradcheck(lambda x: x.softmax(-1), x)
    shifted = ts.Tensor(rng.standard_normal((4, 300)) + 0.5, requires_grad=True)  # ≥ 1024
    row = ts.Tensor(rng.standard_normal(300), requires_grad=True)
    assert ts.gradcheck(lambda x, b: (x + b).relu(), shifted, row)
    z = ts.Tensor(rng.standard_normal((3, 8)), requires_grad=True)
    assert ts.gradcheck(lambda z: z[:, :4].sigmoid() * z[:, 4:].tanh(), z)


def test_gradcheck_numpy_path(rng):
    was = _native.enabled
    _native.set_enabled(False)
    try:
        arrays = rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5)
        x, gain, bias = (ts.Tensor(a, requires_grad=True) for a in arrays)
        assert ts.gradcheck(lambda x, g, b: ts.functional.layer_norm(x, g, b), x, gain, bias)
        assert ts.gradcheck(lambda x: x.softmax(-1), x)
        assert ts.gradcheck(lambda x, b: (x + b).relu(), x, bias)
        z = ts.Tensor(rng.standard_normal((3, 8)), requires_grad=True)
        assert ts.gradcheck(lambda z: z[:, :4].sigmoid() * z[:, 4:].tanh(), z)
    finally:
        _native.set_enabled(was)


@needs_native
def test_bad_arguments_raise_not_crash():
    ext = _native._ext
    x = np.ones((4, 8), np.float32)
    gain, bias = np.ones(8, np.float32), np.zeros(8, np.float32)
    y, h, r = np.empty_like(x), np.empty(4, np.float32), np.empty(4, np.float32)
    ext.layer_norm_forward(x, gain, bias, 1e-5, y, h, r)  # the right arguments work
    np.testing.assert_allclose(y, 0, atol=1e-6)
    np.testing.assert_allclose(h, 1)  # (the means)
    bad = [
        lambda: ext.layer_norm_forward(x.astype(np.float64), gain, bias, 1e-5, y, h, r),
        lambda: ext.layer_norm_forward(x, gain[:4], bias, 1e-5, y, h, r),
        lambda: ext.layer_norm_forward(x, gain, bias, 1e-5, y[:2], h, r),
        lambda: ext.layer_norm_forward(x, gain, bias, 1e-5, y, h[:2], r),
        lambda: ext.layer_norm_forward(x.T, gain[:4], bias[:4], 1e-5, y, h, r),
        lambda: ext.layer_norm_forward(x, gain, bias, "eps", y, h, r),
        lambda: ext.layer_norm_forward(x, gain, bias, 1e-5, y, h),
        lambda: ext.layer_norm_backward(x, x, h, r, gain, np.empty((4, 8), np.int32), None, None),
        lambda: ext.layer_norm_backward(x, x, h, r, gain, y, None),  # 7 arguments, not 8
        lambda: ext.layer_norm_backward(x, x, h, r, gain, y, None, gain[:4].copy()),
        lambda: ext.softmax_shift(x.astype(np.int64), np.empty((4, 8), np.int64)),
        lambda: ext.softmax_shift(np.float32(1.0), y),
        lambda: ext.softmax_normalize(np.ones((2, 2), np.float32)[:, :1]),
        lambda: ext.softmax_backward(x, x, np.empty((3, 8), np.float32)),
        lambda: ext.relu_backward([1.0], x, y),
        lambda: ext.add_rows(x, np.ones(7, np.float32), y),
    ]
    for call in bad:
        with pytest.raises((TypeError, ValueError)):
            call()
    read_only = np.empty_like(x)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ext.add_rows(x, gain, read_only)


# ------------------------------------------------------------------ the allocator
needs_aligned = pytest.mark.skipif(
    not _native.aligned(), reason=f"aligned allocator not in use here: {_native.status()}"
)


@needs_aligned
def test_large_blocks_are_aligned_small_ones_numpys():
    for nbytes in (4096, 4100, 10_000, 131_072, 1 << 22):
        a = np.empty(nbytes, np.uint8)
        assert a.ctypes.data % 64 == 0, nbytes
        assert get_handler_name(a) == "tinygrad_seq_aligned64"
    small = np.ones(3)
    assert small.sum() == 3  # NumPy's own small blocks, through our handler
    # zeros (calloc) come zeroed both sides of the threshold
    for n in (10, 511, 512, 100_000):
        assert not np.zeros(n).any()


@needs_aligned
def test_blocks_survive_resizing_across_the_threshold():
    a = np.arange(10, dtype=np.float64)  # 80 bytes: NumPy's block
    for n in (100, 1000, 20, 5000, 3):  # realloc up past 4 KiB and back down
        a.resize(n, refcheck=False)
        assert (a[: min(n, 10)] == np.arange(min(n, 10))).all()
    held = [np.empty(n, np.uint8) for n in range(4000, 4200)]  # either side of it
    for i, block in enumerate(held):
        block[:] = i % 256
    assert all((block == i % 256).all() for i, block in enumerate(held))
    big = np.random.default_rng(0).standard_normal((300, 300))
    assert np.array_equal(pickle.loads(pickle.dumps(big)), big)


@needs_aligned
def test_other_threads_keep_numpys_allocator():
    """The handler is per context: a new thread starts with NumPy's default (both kinds
    of block are freed by the allocator that made them, whichever thread frees them)."""
    names = []
    made = []

    def work():
        b = np.empty(10_000, np.uint8)
        names.append((get_handler_name(b), _native.aligned(), _native.status()))
        made.append(b)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert names[0][:2] == ("default_allocator", False)
    assert names[0][2].endswith("NumPy's default_allocator")
    assert _native.aligned() and "64-byte aligned arrays" in _native.status()
    del made[:]  # freed here, by its own handler
    assert _native._ext.install_allocator(_native.MIN_ALIGNED_BYTES)  # again: still ours


@pytest.mark.parametrize("value", ["0", " 0\n"])  # (as a shell script or a .env file may set it)
def test_switched_off_by_the_environment(value):
    """TINYGRAD_SEQ_NATIVE=0, spaces around it or not: NumPy's allocator and NumPy's code,
    which set_enabled(True) cannot switch to kernels that were not loaded."""
    code = (
        "import numpy as np, tinygrad_seq as ts\n"
        "from tinygrad_seq import _native\n"
        "try:\n    from numpy._core.multiarray import get_handler_name\n"
        "except ImportError:\n    from numpy.core.multiarray import get_handler_name\n"
        "print(_native.status()); print(get_handler_name(np.empty(100_000)))\n"
        "_native.set_enabled(True); print(_native.enabled)\n"
        "x = ts.Tensor(np.ones((2, 3)), requires_grad=True)\n"
        "print(float(ts.functional.layer_norm(x, ts.ones(3), ts.zeros(3)).sum().item()))\n"
    )
    env = dict(os.environ, TINYGRAD_SEQ_NATIVE=value)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0].startswith("NumPy only")
    if BUILT:  # (elsewhere it says it was not built)
        assert "TINYGRAD_SEQ_NATIVE=0" in out[0]
    assert out[1] == "default_allocator"
    assert out[2] == "False"
    assert float(out[3]) == 0.0


@needs_native
def test_layer_norm_with_a_constant_gain(counted, rng):
    """A gain and bias that want no gradient: the kernel skips the gain's sum."""
    x = rng.standard_normal((4, 6))
    gain, bias = rng.standard_normal(6), rng.standard_normal(6)
    g = rng.standard_normal((4, 6))

    def run():
        tx = ts.Tensor(x.copy(), requires_grad=True)
        y = ts.functional.layer_norm(tx, ts.Tensor(gain), ts.Tensor(bias))
        y.backward(g)
        return y.numpy(), tx.grad.copy()

    compiled, numpy_path = both_paths(run)
    assert counted["layer_norm_backward"] == 1
    assert_same(compiled, numpy_path, np.float64)


@needs_native
def test_layer_norm_backward_of_an_unaligned_gradient(counted, rng):
    x = rng.standard_normal((2, 8))
    g = np.frombuffer(bytearray(8 * 16 + 1), np.float64, offset=1).reshape(2, 8)
    g[:] = rng.standard_normal((2, 8))  # C-contiguous, but not aligned: copied first
    assert g.flags.c_contiguous and not g.flags.aligned
    kept = g.copy()
    compiled, numpy_path = both_paths(lambda: layer_norm_run(x, np.ones(8), np.zeros(8), g))
    assert counted["layer_norm_backward"] == 1
    assert_same(compiled, numpy_path, np.float64)
    np.testing.assert_array_equal(g, kept)  # the caller's gradient: read, never written


@needs_native
def test_layer_norm_parameter_gradients_over_many_rows_keep_their_digits(kernels, rng):
    """The gain's and bias's gradients sum g ⊙ x̂ and g over every row, in double: over
    50,000 float32 rows within a few float32 ulps of the float64 sums of the same float32
    numbers (a float32 running sum was ~80 ulps off, float32 sums of 64-row blocks ~36)."""
    x = rng.standard_normal((50_000, 16))
    g = rng.standard_normal((50_000, 16)) + 0.1
    gain, bias = 1 + rng.standard_normal(16) / 4, rng.standard_normal(16)
    float32 = [a.astype(np.float32) for a in (x, gain, bias, g)]
    got = layer_norm_run(*float32)
    want = layer_norm_run(*(a.astype(np.float64) for a in float32))
    for got_grad, want_grad in zip(got[2:], want[2:], strict=True):
        assert got_grad.dtype == np.float32
        ulps = np.abs(got_grad - want_grad) / np.spacing(np.abs(want_grad).astype(np.float32))
        assert ulps.max() <= 8, ulps.max()


@needs_native
@pytest.mark.parametrize("wants", [(True, True), (False, True), (True, False), (False, False)])
def test_layer_norm_between_products_writes_into_its_own_gradient(counted, rng, wants):
    """A layer norm whose gradient comes from a matrix product (its own to overwrite), with
    or without gain and bias gradients (computed in the same pass): as the NumPy path."""
    x, w, v = rng.standard_normal((6, 8)), rng.standard_normal((8, 8)), rng.standard_normal((8, 3))
    gain, bias = 1 + rng.standard_normal(8) / 4, rng.standard_normal(8)

    def run():
        tx, tw, tv = (ts.Tensor(a.copy(), requires_grad=True) for a in (x, w, v))
        tg, tb = ts.Tensor(gain, requires_grad=wants[0]), ts.Tensor(bias, requires_grad=wants[1])
        (ts.functional.layer_norm(tx @ tw, tg, tb) @ tv).sum().backward()
        return [tx.grad, tw.grad, tv.grad] + [t.grad for t in (tg, tb) if t.requires_grad]

    compiled, numpy_path = both_paths(run)
    assert counted["layer_norm_backward"] == 1
    assert_same(compiled, numpy_path, np.float64)
    tx, tw = ts.Tensor(x, requires_grad=True), ts.Tensor(w, requires_grad=True)
    tg, tb = ts.Tensor(gain, requires_grad=True), ts.Tensor(bias, requires_grad=True)
    assert ts.gradcheck(
        lambda x, w, g, b: ts.functional.layer_norm(x @ w, g, b) @ ts.Tensor(v), tx, tw, tg, tb
    )


@pytest.mark.numpy_only  # (the subprocess runs every backend's cases itself)
@pytest.mark.skipif(not BUILT, reason="not built: every other test already runs without it")
def test_the_numpy_paths_pass_the_engine_and_model_tests():
    """The NumPy code the kernels replace stays right: the engine's and the models' tests
    again with TINYGRAD_SEQ_NATIVE=0 (a bug there, e.g. relu's in-place backward, passed
    every test while the kernels ran)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = ["test_ops.py", "test_autograd.py", "test_functional.py", "test_tensor.py"]
    files += ["test_gradcheck.py", "nn"]
    env = dict(os.environ, TINYGRAD_SEQ_NATIVE="0")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-x", "-p", "no:cacheprovider"]
        + [os.path.join("tests", f) for f in files],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # (~12 s here: a hang fails, not stalls the suite)
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    import re

    assert re.search(r"\b[1-9]\d* passed", run.stdout) and " failed" not in run.stdout


@needs_native
@pytest.mark.parametrize(
    "g",
    [
        np.linspace(-1, 1, 1000, dtype=np.float32),
        np.full((2, 3), 1e-25, np.float32),  # squares below float32's range: summed in double
        np.full((2, 3), 1e20, np.float32),  # and above it
        np.full((3, 7), 1e200),  # float64 squares past double's range: NumPy's scaled path
        np.array([1e-170, 2e-170]),
        np.arange(40.0).reshape(5, 8)[:, 2:7],  # rows with gaps (a gate's slice)
        np.zeros((4, 5), np.float32),
        np.linspace(-1, 1, 5000, dtype=np.float32),  # past _NATIVE_SQUARES: NumPy's dot
    ],
)
@pytest.mark.filterwarnings("ignore:overflow encountered in dot:RuntimeWarning")
def test_gradient_norms_agree_on_both_paths_and_with_the_true_norm(kernels, monkeypatch, g):
    from tinygrad_seq.autograd import _NATIVE_SQUARES, _norm

    calls = []
    original = _native.sum_squares
    monkeypatch.setattr(
        _native,
        "sum_squares",
        lambda x: calls.append(x) or original(x),  # counted
    )
    compiled, numpy_path = both_paths(lambda: _norm(g))
    big = np.asarray(g, np.float64)
    top = float(np.abs(big).max())
    expected = top * float(np.sqrt(((big / top) ** 2).sum())) if top else 0.0
    assert compiled == pytest.approx(expected, rel=1e-12 if g.dtype == np.float64 else 1e-6)
    assert numpy_path == pytest.approx(expected, rel=1e-5, abs=0)
    assert bool(calls) == (g.size <= _NATIVE_SQUARES)  # (the call answers for both paths)


@needs_native
def test_sum_squares_takes_float_rows_and_answers_none_for_the_rest(kernels):
    x = np.arange(24.0).reshape(4, 6)
    assert _native.sum_squares(x) == float((x * x).sum())
    assert _native.sum_squares(x.astype(np.float32)) == float((x * x).sum())
    assert _native.sum_squares(x[:, 1:4]) == float((x[:, 1:4] ** 2).sum())  # gaps
    assert _native.sum_squares(x[::2]) == float((x[::2] ** 2).sum())  # every other row
    for other in (x.T, x[:, ::2], x.astype(np.float16), np.float64(2.0), np.zeros(0), [1.0]):
        assert _native.sum_squares(other) is None
    assert np.isnan(_native.sum_squares(np.array([1.0, np.nan])))
    assert _native.sum_squares(np.array([np.inf, 1.0], np.float32)) == np.inf
    _native.set_enabled(False)
    assert _native.sum_squares(x) is None  # kernels off: NumPy's path


# ------------------------------------------------------------- the exact gelu, compiled
GELU_BUILT = _native.gelu is not _native._not_taken
needs_gelu = pytest.mark.skipif(not GELU_BUILT, reason="compiled gelu not built (no vector erfc)")


def _gelu_points(n=20_000, seed=0):
    """float64 points over Cody's ranges and the libmvec erfc's, the left tail into Φ's
    subnormals (x < −37.5), huge magnitudes, and the edges."""
    rng = np.random.default_rng(seed)
    huge = 10.0 ** rng.uniform(-310, 308, n) * np.where(rng.random(n) < 0.5, -1, 1)
    edges = [0.0, -0.0, 0.6629, -0.6629, 5.657, -5.657, -0.7518, -37.5, -38.4, 38.5]
    edges += [5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308]
    parts = [rng.uniform(-0.8, 0.8, n), rng.uniform(-7, 7, n), rng.uniform(-40, 40, n)]
    parts += [np.linspace(-38.6, -30, n), rng.standard_normal(n), huge, np.array(edges)]
    return np.concatenate(parts)


def _gelu_reference(x):
    """x Φ(x) and Φ(x) + x φ(x) in float64 from math.erfc (−x/√2 rounded as the engine
    rounds it), for finite float64 x, and the scale of the slope's two terms."""
    cdf = np.array([0.5 * math.erfc(-v * math.sqrt(0.5)) for v in x])
    with np.errstate(over="ignore", under="ignore"):
        x_pdf = x * (np.exp(-0.5 * (x * x)) / math.sqrt(2 * math.pi))
    return x * cdf, cdf + x_pdf, np.maximum(cdf, np.abs(x_pdf))


@needs_gelu
def test_compiled_gelu_in_float64_is_within_a_few_ulp_of_math_erfc(kernels):
    x = _gelu_points()
    y, slope = _native.gelu(x, True)
    assert y.dtype == slope.dtype == np.float64
    np.testing.assert_array_equal(_native.gelu(x, False), y)  # (the same y without the slope)
    y_ref, slope_ref, scale = _gelu_reference(x)
    tiny = np.finfo(np.float64).tiny
    finite = np.isfinite(y_ref)
    assert np.array_equal(y[~finite], y_ref[~finite])  # (±inf · Φ: x Φ(x) past the range)
    normal = finite & (np.abs(y_ref) >= tiny * np.maximum(np.abs(x), 1))  # Φ(x) ≥ tiny
    with np.errstate(over="ignore"):  # (the spacing past the largest double: inf)
        ulps = np.abs(y - y_ref)[normal] / np.spacing(np.abs(y_ref[normal]))
    assert ulps.max() <= 4, f"{ulps.max()} ulp at x = {x[normal][ulps.argmax()]!r}"
    # subnormal Φ(x) (x < −37.5), of few digits: within a few of its last place, times x
    far = finite & ~normal
    assert (np.abs(y - y_ref)[far] <= 4 * 5e-324 * np.maximum(np.abs(x[far]), 1)).all()
    assert np.array_equal(np.signbit(y), np.signbit(y_ref))  # −0 for x ≤ −38.5 and x = −0
    # the slope: within a few ulp of its larger term (the two cancel near x ≈ −0.7518)
    err = np.abs(slope - slope_ref) / np.spacing(np.maximum(scale, tiny))
    assert err.max() <= 8, f"{err.max()} ulp at x = {x[err.argmax()]!r}"


@needs_gelu
def test_compiled_gelu_in_float32_is_float64s_rounded(kernels):
    x = np.clip(_gelu_points(seed=1), -3e38, 3e38).astype(np.float32)
    y, slope = _native.gelu(x, True)
    assert y.dtype == slope.dtype == np.float32
    y_ref, slope_ref, _ = _gelu_reference(x.astype(np.float64))
    with np.errstate(over="ignore"):  # (x Φ(x) past float32's range: inf, as rounded)
        y_ref, slope_ref = y_ref.astype(np.float32), slope_ref.astype(np.float32)
    # within a unit of float32's last place (0 measured here: the double result is within
    # a few of its own last place, 2⁻²⁹ of float32's), the slope near its zero included
    for got, want in ((y, y_ref), (slope, slope_ref)):
        ulps = np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want))
        assert ulps.max() <= 1, f"{ulps.max()} ulp at x = {x[ulps.argmax()]!r}"
        assert np.array_equal(np.signbit(got), np.signbit(want))


@needs_gelu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_gelu_at_infinities_nan_and_zeros(kernels, dtype):
    x = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, -1e30, 1e30], dtype)
    y, slope = _native.gelu(x, True)
    np.testing.assert_array_equal(y, np.array([-0.0, np.inf, np.nan, -0.0, 0.0, -0.0, 1e30], dtype))
    np.testing.assert_array_equal(np.signbit(y), [True, False, False, True, False, True, False])
    np.testing.assert_array_equal(slope, np.array([0.0, 1.0, np.nan, 0.5, 0.5, 0.0, 1.0], dtype))


@needs_gelu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_gelu_agrees_with_the_numpy_path_and_pytorch(kernels, rng, dtype):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((64, 33)) * 3).astype(dtype)
    x[0, :4] = [-9.0, -30.0, 9.0, 30.0]
    g = rng.standard_normal(x.shape).astype(dtype)

    def run():
        t = ts.Tensor(x, requires_grad=True)
        y = t.gelu()
        y.backward(g)
        return y.numpy(), t.grad.copy()

    compiled, numpy_path = both_paths(run)
    assert all(a.dtype == dtype for a in compiled)
    eps = float(np.finfo(dtype).eps)
    for ours, theirs in zip(compiled, numpy_path, strict=True):  # to rounding, tails too
        np.testing.assert_allclose(ours, theirs, rtol=8 * eps, atol=8 * eps * np.abs(g).max())
    ref = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.gelu(ref)  # (PyTorch's exact form, in x's dtype)
    expected.backward(torch.tensor(g))
    # PyTorch's ½ x (1 + erf) in x's dtype cancels where x < 0 (0 at −30, where ours is
    # −30 · 4.9e-198): absolute slack there, a few roundings of x's dtype times |x| (|g x|)
    slack = 8 * eps * (1 + np.abs(x))
    theirs = expected.detach().numpy()
    assert (np.abs(compiled[0] - theirs) <= 4 * eps * np.abs(theirs) + slack).all()
    theirs = ref.grad.numpy()
    assert (np.abs(compiled[1] - theirs) <= 8 * eps * np.abs(theirs) + slack * np.abs(g)).all()


@needs_gelu
def test_compiled_gelu_gradchecks_and_keeps_no_slope_without_grad(kernels, rng):
    x = ts.Tensor(rng.standard_normal((3, 7)) * 3, requires_grad=True)
    assert ts.gradcheck(lambda x: x.gelu(), x)
    assert ts.gradcheck(lambda x: (x * 0.2 - 0.75).gelu(), x)  # around the slope's zero
    with ts.no_grad():
        y = x.gelu()
    np.testing.assert_array_equal(y.numpy(), x.gelu().numpy())


@needs_gelu
def test_gelu_takes_the_compiled_path_and_its_slope(counted, rng):
    """With the kernels on, gelu is the compiled one (the bits of _native.gelu, which in
    float32 differ from NumPy's float32 erfc in the last place here and there) and its
    backward multiplies by the slope that call made."""
    x = (rng.standard_normal((40, 50)) * 3).astype(np.float32)
    t = ts.Tensor(x, requires_grad=True)
    y = t.gelu()
    y.backward(np.ones_like(x))
    assert counted["gelu"] == 1
    out, slope = _native.gelu(x, True)
    assert y.numpy().tobytes() == out.tobytes() and t.grad.tobytes() == slope.tobytes()


@needs_native
def test_repeated_ids_gradients_take_the_compiled_loop(counted, rng):
    """An embedding's gradient, ids repeating: the compiled add.at (the same bits)."""
    table = ts.Tensor(rng.standard_normal((5, 4)), requires_grad=True)
    ids = np.array([[0, 3, 3], [1, 0, 3]])
    g = rng.standard_normal((2, 3, 4))
    ts.F.embedding(ids, table).backward(g)
    assert counted["scatter_add_rows"] == 1
    want = np.zeros((5, 4))
    np.add.at(want, ids, g)
    assert table.grad.tobytes() == want.tobytes()


@needs_gelu
def test_compiled_gelu_takes_float_arrays_in_order_only(kernels, rng):
    """Others (float16, a transposed view, non-arrays) get None: NumPy's path runs, and the
    op's results agree; a broadcast gradient (a sum's) is taken by the saved slope."""
    x = rng.standard_normal((5, 6))
    assert _native.gelu(x.T, True) is None and _native.gelu(x.astype(np.float16), True) is None
    assert _native.gelu([1.0], False) is None and _native.gelu(x.astype(np.int64), False) is None
    assert _native.gelu(np.zeros((0, 3)), True)[0].shape == (0, 3)
    y0 = _native.gelu(np.array(-1.5), False)
    assert y0.shape == () and y0 == pytest.approx(-1.5 * 0.5 * math.erfc(1.5 / math.sqrt(2)))
    with pytest.raises(TypeError, match="gelu takes 2 arguments"):
        _native.gelu(x)
    for data in (x.T, x.astype(np.float16), np.array(0.75)):
        t = ts.Tensor(data, requires_grad=True)
        t.gelu().sum().backward()
        compiled_grad = t.grad.copy()
        with_numpy = ts.Tensor(data, requires_grad=True)
        _native.set_enabled(False)
        with_numpy.gelu().sum().backward()
        _native.set_enabled(True)
        tol = 1e-3 if data.dtype == np.float16 else 1e-14
        np.testing.assert_allclose(compiled_grad, with_numpy.grad, rtol=tol, atol=tol)
