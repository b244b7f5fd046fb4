"""The array-module switch of tinygrad_seq/backend.py, the environment variable, moving
tensors between backends, and `import tinygrad_seq` staying light.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of

HEAVY_MODULES = ("sympy", "graphviz", "matplotlib", "click", "cupy", "tqdm", "torch")
CUPY_WORKS = "cupy" in ts.backend.available()


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (with extra environment variables)."""
    environ = {k: v for k, v in os.environ.items() if k != "TINYGRAD_SEQ_BACKEND"}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=60
    )


# ------------------------------------------------------------------ the switch
def test_available_always_has_numpy():
    names = ts.backend.available()
    assert names[0] == "numpy" and set(names) <= {"numpy", "cupy"}
    assert ts.backend.unavailable_reason("numpy") is None
    assert "unknown backend" in ts.backend.unavailable_reason("jax")


def test_the_active_backend_is_the_fixtures(backend):
    assert ts.backend.get_backend() == backend
    assert ts.backend.xp is ts.backend.module(backend)
    x = ts.Tensor([1.0, 2.0])
    assert isinstance(x.data, ts.backend.xp.ndarray) and x.backend == backend


def test_set_backend_and_using_restore(backend):
    with ts.backend.using("numpy") as xp:
        assert xp is np and ts.backend.get_backend() == "numpy"
        assert isinstance(ts.Tensor([1.0]).data, np.ndarray)
    assert ts.backend.get_backend() == backend
    with pytest.raises(KeyError), ts.backend.using("numpy"):
        raise KeyError("the block failed")
    assert ts.backend.get_backend() == backend
    with pytest.raises(ValueError, match=r"unknown backend 'nope'.*'numpy', 'cupy'"):
        ts.backend.set_backend("nope")
    assert ts.backend.get_backend() == backend  # a failed switch changes nothing
    ts.backend.set_backend("numpy")
    assert ts.backend.get_backend() == "numpy"
    ts.backend.set_backend(backend)


def test_array_helpers(rng):
    a = rng.standard_normal(3)
    assert ts.backend.array_module(a) is np and ts.backend.backend_of(a) == "numpy"
    copy = ts.backend.to_numpy(a)
    copy[0] = 99.0
    assert a[0] != 99.0
    assert isinstance(ts.backend.as_array(np.float64(2.0)), np.ndarray)


def test_to_the_backend_a_tensor_is_on_is_still_a_copy(rng):
    """`to` promises a copy: on CuPy, cupy.asarray handed back the same array."""
    x = f64(rng, 3)
    y = x.to(ts.backend.get_backend())
    y.data[0] = 99.0
    assert np_of(x)[0] != 99.0


def test_tensor_to_numpy(rng):
    x = f64(rng, 2, 3, name="w")
    y = x.to("numpy")
    assert y.backend == "numpy" and isinstance(y.data, np.ndarray)
    assert y.requires_grad and y.name == "w" and y.op is None
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    (y * 2).sum().backward()
    np.testing.assert_array_equal(np_of(y.grad), np.full((2, 3), 2.0))
    assert x.grad is None  # the copy is its own leaf


@pytest.mark.parametrize("target", ["numpy", "cupy"])
def test_to_of_a_computed_tensor_is_recorded_and_sends_the_gradient_back(rng, target):
    if target not in ts.backend.available():
        pytest.skip(f"backend {target!r} unavailable here")
    w = f64(rng, 2, 3, name="w")  # on the active backend
    h = w * 3.0
    h.name = "h"
    moved = h.to(target)
    assert moved.op == "to" and moved.parents == (h,) and moved.name == "h"
    assert moved.backend == target and moved.data is not h.data  # a copy, even in place
    np.testing.assert_array_equal(moved.numpy(), h.numpy())
    (moved * moved).sum().backward()  # ∂/∂w Σ (3w)² = 18 w, on w's own backend
    assert ts.backend.backend_of(w.grad) == w.backend
    np.testing.assert_allclose(np_of(w.grad), 18 * w.numpy(), rtol=1e-12)
    x = f64(rng, 3, 2)
    assert ts.gradcheck(lambda x: (x * x).to(target).tanh(), x)


def test_to_of_a_computed_tensor_checks_the_name_first(rng):
    h = f64(rng, 2) * 2.0
    with pytest.raises(ValueError, match="unknown backend 'tpu'") as leaf_error:
        f64(rng, 2).to("tpu")
    with pytest.raises(ValueError, match="unknown backend 'tpu'") as computed_error:
        h.to("tpu")
    # the backend's own message, as a leaf's copy gives: not an op's error about shapes
    assert str(computed_error.value) == str(leaf_error.value)
    with ts.no_grad():  # not recorded: a plain copy
        assert (f64(rng, 2) * 2.0).to("numpy").op is None


def test_to_does_not_write_into_the_gradient_a_caller_passed(rng):
    # relu below `to` may overwrite a gradient that is its own: the copy `to` sends back
    # is, the caller's gradient is not
    x = ts.Tensor(np.array([[-1.0, 2.0], [3.0, -4.0]]), requires_grad=True)
    moved = (x * 1.0).relu().to("numpy")
    g = np.full((2, 2), 5.0)
    moved.backward(g)
    np.testing.assert_array_equal(g, np.full((2, 2), 5.0))
    np.testing.assert_array_equal(np_of(x.grad), [[0.0, 5.0], [5.0, 0.0]])


def test_to_saves_no_arrays_so_a_second_backward_may_run_through_it(rng):
    # (as through the addition below it, which saves none either)
    w = f64(rng, 3)
    loss = (w + 1.0).to("numpy").sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(np_of(w.grad), np.full(3, 2.0))


STANDIN_TO = """
import numpy as np, cupy, tinygrad_seq as ts
for source, target in (("numpy", "cupy"), ("cupy", "numpy"), ("cupy", "cupy")):
    with ts.backend.using(source):
        w = ts.Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    h = w * 3.0
    moved = h.to(target)
    assert moved.op == "to" and ts.backend.backend_of(moved.data) == target
    with ts.backend.using(target):
        (moved * moved).sum().backward()  # d/dw sum (3w)^2 = 18 w, on w's own backend
    assert ts.backend.backend_of(w.grad) == source, (source, target)
    np.testing.assert_array_equal(ts.backend.to_numpy(w.grad), 18 * w.numpy())
# under detect_anomaly(), the copy's check read the input (one backend's array) with the
# copy's module (the other's), which refused it: a -inf mask moved across raised TypeError
for source, target in (("numpy", "cupy"), ("cupy", "numpy")):
    with ts.backend.using(source):
        mask = ts.Tensor(np.array([0.0, -np.inf]), requires_grad=True)
        nan = ts.Tensor(np.array([1.0, np.nan]), requires_grad=True) * 1.0
    with ts.detect_anomaly():
        moved = (mask + 0.0).to(target)  # the inf is carried, not made: it passes
        assert ts.backend.to_numpy(moved.data).tolist() == [0.0, -np.inf]
        try:
            nan.to(target)
        except ts.AnomalyError as e:  # the NaN named as its input's
            assert "forward of 'to'" in str(e) and "already held 1 NaN" in str(e), e
        else:
            raise AssertionError("a NaN passed detect_anomaly()")
print("ok")
"""


@pytest.mark.numpy_only
def test_to_across_backends_through_the_cupy_stand_in():
    # the gradient goes back to the source backend; detect_anomaly() checks the copy
    if CUPY_WORKS:
        pytest.skip("a real CuPy is here: the cupy cases run on it")
    standin = os.path.join(os.path.dirname(__file__), "cupy_standin")
    result = run_python(STANDIN_TO, PYTHONPATH=standin)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


# ------------------------------------------------------------------ environment variable
@pytest.mark.numpy_only
def test_environment_variable_selects_the_backend():
    code = "import tinygrad_seq as ts; print(ts.backend.get_backend())"
    for value in ("numpy", " NumPy "):
        result = run_python(code, TINYGRAD_SEQ_BACKEND=value)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "numpy"
    # an unusable name does not break the import (nor `tinygrad-seq --help`): the first
    # tensor made says what is wrong, and set_backend can still choose another
    result = run_python(code + "; ts.Tensor([1.0])", TINYGRAD_SEQ_BACKEND="tpu")
    assert result.returncode != 0 and result.stdout.strip() == "tpu"
    assert "TINYGRAD_SEQ_BACKEND: unknown backend 'tpu'" in result.stderr
    assert "numpy" in result.stderr.splitlines()[-1]
    fallback = "import tinygrad_seq as ts; ts.backend.set_backend('numpy'); print(ts.zeros(2))"
    result = run_python(fallback, TINYGRAD_SEQ_BACKEND="tpu")
    assert result.returncode == 0, result.stderr


@pytest.mark.numpy_only
@pytest.mark.skipif(not CUPY_WORKS, reason="needs a usable CuPy")
def test_environment_variable_selects_cupy():
    code = "import tinygrad_seq as ts; print(ts.backend.get_backend(), ts.Tensor([1.0]).backend)"
    result = run_python(code, TINYGRAD_SEQ_BACKEND="cupy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cupy", "cupy"]


@pytest.mark.numpy_only
@pytest.mark.skipif(CUPY_WORKS, reason="CuPy works on this machine")
def test_environment_variable_asking_for_missing_cupy_says_why():
    result = run_python("import tinygrad_seq as ts; ts.randn(2)", TINYGRAD_SEQ_BACKEND="cupy")
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr and "cupy" in result.stderr.lower()
    assert "not installed" in result.stderr or "no GPU" in result.stderr


@pytest.mark.numpy_only
def test_a_cupy_that_fails_to_import_is_not_called_missing(tmp_path):
    # an installed CuPy whose CUDA libraries are missing: not "not installed"
    fake = tmp_path / "cupy"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise ImportError('libcuda.so.1: cannot open shared object file')\n"
    )
    code = "import tinygrad_seq as ts; ts.backend.set_backend('cupy')"
    result = run_python(code, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    assert result.returncode != 0
    assert "CuPy is installed but cannot be imported" in result.stderr
    assert "libcuda.so.1" in result.stderr and "not installed" not in result.stderr


def test_backend_names_in_any_case(backend):
    ts.backend.set_backend("numpy")
    try:
        ts.backend.set_backend(" NumPy ")  # as $TINYGRAD_SEQ_BACKEND is read
        assert ts.backend.get_backend() == "numpy"
        assert ts.Tensor([1.0]).to("NUMPY").backend == "numpy"
    finally:
        ts.backend.set_backend(backend)


@pytest.mark.numpy_only
def test_import_is_light():
    code = (
        "import sys, tinygrad_seq as ts\n"
        "x = ts.Tensor([[1.0, 2.0]], requires_grad=True)\n"
        "(ts.F.softmax(x @ x.T) * 2).sum().backward()\n"
        "ts.gradcheck(lambda a: a.tanh().sum(), ts.Tensor(x.numpy().astype('float64'), "
        "requires_grad=True))\n"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------ CuPy (GPU machines)
@pytest.mark.skipif(not CUPY_WORKS, reason="needs a usable CuPy")
def test_moving_between_backends_and_mixing_is_an_error(rng):
    x = f64(rng, 2, 3)
    on_gpu, on_cpu = x.to("cupy"), x.to("numpy")
    assert on_gpu.backend == "cupy" and on_cpu.backend == "numpy"
    np.testing.assert_array_equal(on_gpu.numpy(), on_cpu.numpy())
    with pytest.raises(TypeError, match=r"add.*cupy.*numpy|add.*numpy.*cupy"):
        on_gpu + on_cpu
    leaf = on_cpu.detach()
    leaf.requires_grad = True
    with pytest.raises(TypeError, match=r"backward\(grad\): grad is a CuPy array .* NumPy"):
        (leaf * 2).backward(on_gpu.data)  # (a NumPy grad for a CuPy tensor is copied in)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_as_blas_products_match_numpy(dtype, rng):
    xp = ts.backend.xp
    x = xp.asarray(rng.standard_normal((3, 5, 7)).astype(dtype))
    last = ts.backend.sum_last(x)
    assert last.shape == (3, 5, 1) and last.dtype == dtype
    np.testing.assert_allclose(np_of(last), np_of(x).sum(axis=-1, keepdims=True), rtol=1e-5)
    view = x.transpose(0, 2, 1)  # not contiguous: the product still reads it right
    np.testing.assert_allclose(
        np_of(ts.backend.sum_last(view)), np_of(view).sum(axis=-1, keepdims=True), rtol=1e-5
    )
    for n_axes in (1, 2):
        lead = ts.backend.sum_leading(x, n_axes)
        expected = np_of(x).sum(axis=tuple(range(n_axes)))
        assert lead.shape == expected.shape and lead.dtype == dtype
        np.testing.assert_allclose(np_of(lead), expected, rtol=1e-5)


def test_the_cache_of_ones_vectors_stays_bounded():
    x = ts.backend.xp.ones((2, 3), dtype=np.float32)
    for n in range(1, 200):  # row lengths that vary without end (batch × T, say)
        ts.backend.sum_leading(ts.backend.xp.ones((n, 3), dtype=np.float32), 1)
    assert len(ts.backend._ones_cache) <= ts.backend._ONES_CACHED
    np.testing.assert_array_equal(np_of(ts.backend.sum_last(x)), [[3.0], [3.0]])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_one_like_keeps_the_dtype_and_cannot_be_written(dtype):
    x = ts.backend.xp.full((2, 3), 0.5, dtype=dtype)
    one = ts.backend.one_like(x)
    out = one - x * x  # 1 − x², as tanh's backward computes it
    assert out.dtype == dtype and out.shape == (2, 3)
    np.testing.assert_allclose(np_of(out), 0.75)
    if isinstance(one, np.ndarray):  # NumPy: one cached, read-only 0-d array per dtype
        assert one.shape == () and one.dtype == dtype and one is ts.backend.one_like(x)
        with pytest.raises(ValueError):
            one += 1
    y = ts.Tensor(x, requires_grad=True)
    y.sigmoid().sum().backward()  # σ' = σ(1 − σ): the same dtype comes back
    assert y.grad.dtype == dtype


def test_a_cupy_array_made_before_the_backend_was_asked_for_loads_it(monkeypatch):
    # until CuPy was loaded the engine did not know its arrays: Tensor(cupy_array) failed in
    # np.asarray with CuPy's own "implicit conversion" error
    loaded = []

    def load():
        loaded.append(True)
        raise RuntimeError("the 'cupy' backend needs CuPy (stub)")

    monkeypatch.setattr(ts.backend, "_cupy", None)
    monkeypatch.setattr(ts.backend, "_load_cupy", load)
    FakeCupyArray = type("ndarray", (), {"__module__": "cupy._core.core"})
    with pytest.raises(RuntimeError, match="needs CuPy"):
        ts.Tensor(FakeCupyArray())
    with pytest.raises(RuntimeError, match="needs CuPy"):
        ts.backend.to_numpy(FakeCupyArray())
    assert len(loaded) == 2
    ts.backend.notice_cupy(np.ones(2))  # a NumPy array: nothing loaded
    assert len(loaded) == 2


STANDIN_MODELS = """
import numpy as np, cupy, tinygrad_seq as ts
assert not isinstance(cupy.zeros(2), np.ndarray)
try:
    np.asarray(cupy.zeros(2))
except TypeError:
    pass
else:
    raise AssertionError("the stand-in converted a GPU array to NumPy")
ids = np.random.default_rng(0).integers(0, 7, (3, 5))
grads = {}
for name in ("numpy", "cupy"):
    with ts.backend.using(name):
        ts.manual_seed(0)
        s2s = ts.nn.Seq2Seq(7, 7, 4, 6, cell="lstm", attention="additive")
        tr = ts.nn.Transformer(7, 7, d_model=8, heads=2, d_ff=16, layers=1)
        loss = 0
        for model in (s2s, tr):
            logits = model(ids, ids[:, :4], src_lengths=[5, 3, 2])
            loss = loss + ts.F.cross_entropy(logits, ids[:, 1:5], ignore_index=0)
        params = s2s.parameters() + tr.parameters()
        loss.backward()
        grads[name] = [ts.backend.to_numpy(p.grad) for p in params]
        ts.optim.Adam(params).step()
        assert all(ts.backend.backend_of(p.data) == name for p in params)
for a, b in zip(grads["numpy"], grads["cupy"], strict=True):  # (float32: other kernels)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
print("ok")
"""


@pytest.mark.numpy_only
def test_the_cupy_stand_in_runs_the_models_as_numpy_does():
    # tests/cupy_standin refuses what CuPy refuses (implicit conversion, NumPy operands):
    # the models' GPU paths run through it in every CI, without a GPU
    standin = os.path.join(os.path.dirname(__file__), "cupy_standin")
    if CUPY_WORKS:
        pytest.skip("a real CuPy is here: the cupy cases run on it")
    result = run_python(STANDIN_MODELS, PYTHONPATH=standin)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


STANDIN_DIFFERENCES = """
import numpy as np
import cupy

assert "stand-in" in cupy.__doc__
a = cupy.arange(5.0)
# an index array past the axis wraps around (NumPy raises)
assert a[cupy.asarray([1, 7])].tolist() == [1.0, 2.0] and a[[-6]].tolist() == [4.0]
b = cupy.zeros((2, 3))
b[:, [0, 4]] = 1.0
assert b.tolist() == [[1.0, 1.0, 0.0]] * 2
assert a.take(cupy.asarray([5])).tolist() == [0.0]
# two writes of different values to one element: undefined on CuPy, refused here
try:
    b[[0, 0]] = cupy.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
except cupy.UndefinedOnGPU as e:
    assert "element 0 of shape (2, 3)" in str(e), e
else:
    raise AssertionError("a repeated index with different values was taken")
b[[1, 1]] = 7.0  # the same value twice is defined
b[[0, 1], [2, 2]] = cupy.asarray([8.0, 9.0])  # different elements
assert b.tolist() == [[1.0, 1.0, 8.0], [7.0, 7.0, 9.0]]
# a float cast to an integer type saturates, NaN to 0
c = cupy.asarray([-1.0, np.inf, np.nan, 300.0, 2.7]).astype(np.uint8)
assert c.tolist() == [0, 255, 0, 255, 2], c
assert cupy.asarray([np.inf, -np.inf]).astype(np.int64).tolist() == [2**63 - 1, -(2**63)]
# add.at through index arrays takes atomicAdd's dtypes only
for dtype, ok in (("float32", True), ("float64", True), ("int64", False), ("bool", False)):
    try:
        cupy.add.at(cupy.zeros(3, dtype=dtype), cupy.asarray([0, 0]), 1)
    except TypeError as e:
        assert not ok and "scatter_add only supports" in str(e), (dtype, e)
    else:
        assert ok, dtype
counts = cupy.zeros(3, dtype="float32")
cupy.add.at(counts, cupy.asarray([0, 0, 4]), 1.0)  # (repeats add up; 4 wraps to 1)
assert counts.tolist() == [2.0, 1.0, 0.0]
# read-only flags, 0-d reductions, no implicit conversion
try:
    a.flags.writeable = False
except AttributeError:
    pass
else:
    raise AssertionError("a flag was set")
assert type(a.sum()) is cupy.ndarray and a.sum().ndim == 0
try:
    np.asarray(a)
except TypeError:
    pass
else:
    raise AssertionError("implicit conversion to NumPy")
assert cupy.get_array_module(np.zeros(1)) is np and cupy.get_array_module(a) is cupy
print("ok")
"""


@pytest.mark.numpy_only
def test_the_cupy_stand_in_gives_cupys_documented_differences_from_numpy():
    """The stand-in wraps indices past an axis around, saturates float-to-integer casts and
    limits add.at's dtypes as CuPy does, and refuses a write CuPy leaves undefined, so
    that code relying on NumPy's behaviour there fails on it as it would on a GPU."""
    standin = os.path.join(os.path.dirname(__file__), "cupy_standin")
    result = run_python(STANDIN_DIFFERENCES, PYTHONPATH=standin)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_using_restores_the_backend_when_its_block_raises(monkeypatch):
    from tinygrad_seq import backend

    before = object()  # stands for another backend's module, whatever this machine has
    monkeypatch.setattr(backend, "xp", before)
    monkeypatch.setattr(backend, "_name", "before")
    with pytest.raises(KeyError), backend.using("numpy"):
        assert backend.get_backend() == "numpy"
        raise KeyError("inside")
    assert backend.xp is before and backend._name == "before"


@pytest.mark.parametrize(
    ("device", "meant"), [("cuda", "cupy"), ("cuda:0", "cupy"), ("CPU", "numpy")]
)
def test_a_pytorch_device_name_is_answered_with_its_backend(device, meant):
    with pytest.raises(
        ValueError, match=rf"names a device, as in PyTorch: the backend for it is '{meant}'"
    ):
        ts.Tensor([1.0]).to(device)
    with pytest.raises(ValueError, match=rf"unknown backend '{device}'.*the backend for it is"):
        ts.backend.set_backend(device)
    assert "device" not in str(pytest.raises(ValueError, ts.backend.set_backend, "tpu").value)
