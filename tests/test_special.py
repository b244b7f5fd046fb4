"""erf, erfc and Φ (tinygrad_seq/_special.py) against Python's math.erf and math.erfc, in
units in the last place (ulp), over every range of Cody's approximations and their edges."""

from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import _special

EDGES = [0.0, -0.0, 0.46875, -0.46875, 4.0, -4.0, 26.5, 27.3, 5e-324, -5e-324, 1e-300]
EDGES += [1e-17, 1.7976931348623157e308, -1.7976931348623157e308, np.inf, -np.inf, np.nan]


def _points(n=40_000, seed=0):
    """n float64 points over each range (|x| ≤ 0.46875, ≤ 4, ≤ 28), normal draws, tiny to
    huge magnitudes, and the edges above."""
    rng = np.random.default_rng(seed)
    magnitudes = 10.0 ** rng.uniform(-310, 308, n)
    return np.concatenate(
        [
            rng.uniform(-0.5, 0.5, n),
            rng.uniform(-4.5, 4.5, n),
            rng.uniform(-28.0, 28.0, n),
            rng.standard_normal(n),
            np.where(rng.random(n) < 0.5, -magnitudes, magnitudes),
            np.array(EDGES),
        ]
    )


def _ulps(got, expected):
    """|got − expected| in units in the last place of `expected`; 0 where they are equal
    (NaN and NaN too)."""
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    err = np.abs(got - expected) / np.spacing(np.abs(np.where(same, 1.0, expected)))
    return np.where(same, 0.0, err)


@pytest.mark.parametrize(
    "name, reference, max_ulps",
    [("erf", math.erf, 6), ("erfc", math.erfc, 8), ("normal_cdf", None, 8)],
)
def test_erf_erfc_and_normal_cdf_are_within_a_few_ulp_of_math(name, reference, max_ulps, xp):
    if reference is None:  # Φ(x) = ½ erfc(−x/√2), with −x/√2 rounded as the engine's
        reference = lambda v: 0.5 * math.erfc(-v * math.sqrt(0.5))  # noqa: E731
    x = _points()
    expected = np.array([reference(v) for v in x])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warning anywhere
        got = ts.backend.to_numpy(getattr(_special, name)(xp.asarray(x)))
    assert got.dtype == np.float64 and got.shape == x.shape
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    ulps = _ulps(got, expected)
    assert ulps.max() <= max_ulps, f"{ulps.max()} ulp at x = {x[ulps.argmax()]!r}"
    # odd and exact where it must be: the sign of zero, ±1 and 0, 2 at the ends
    exact = np.isin(expected, [0.0, 1.0, -1.0, 2.0]) | (x == 0)
    np.testing.assert_array_equal(got[exact], expected[exact])
    assert np.array_equal(np.signbit(got[exact]), np.signbit(expected[exact]))


def test_erf_in_float32_and_float16_is_float64s_rounded_once(xp):
    x64 = np.clip(_points(10_000, seed=1), -6e4, 6e4)
    for dtype in (np.float32, np.float16):
        x = x64.astype(dtype)
        got = ts.backend.to_numpy(_special.erf(xp.asarray(x)))
        assert got.dtype == dtype
        expected = np.array([math.erf(float(v)) for v in x]).astype(dtype)  # correctly rounded
        np.testing.assert_array_equal(got, expected)


def test_erf_keeps_shapes_and_takes_0d_and_empty_arrays(xp):
    assert float(_special.erf(xp.asarray(0.5))) == pytest.approx(math.erf(0.5), rel=1e-15)
    assert _special.erf(xp.asarray(0.5)).shape == ()
    assert _special.erfc(xp.zeros((0, 3))).shape == (0, 3)
    x = np.linspace(-5, 5, 24).reshape(2, 3, 4)
    got = ts.backend.to_numpy(_special.erf(xp.asarray(x)))
    np.testing.assert_allclose(got, np.vectorize(math.erf)(x), rtol=1e-15, atol=0)


def test_on_a_gpu_array_no_range_is_asked_about_nor_selected(backend, xp, monkeypatch):
    """`if mask.any()` or `y[mask]` waits for the device at every call: on a GPU array
    every range is computed and merged by `where` (the NumPy path skips unused ranges)."""
    if backend == "numpy":
        pytest.skip("the NumPy path asks, to skip unused ranges")
    gpu_array = type(xp.zeros(1))
    select = gpu_array.__getitem__

    def host_sync(*args):
        raise AssertionError("a host sync: the device's answer was waited for")

    def getitem(self, index):
        if getattr(index, "dtype", None) == np.bool_:
            host_sync()
        return select(self, index)

    x = _points(2_000, seed=2)
    on_gpu = xp.asarray(x)
    monkeypatch.setattr(gpu_array, "__bool__", host_sync)
    monkeypatch.setattr(gpu_array, "__getitem__", getitem)
    got = {name: getattr(_special, name)(on_gpu) for name in ("erf", "erfc", "normal_cdf")}
    t = ts.Tensor(on_gpu, requires_grad=True)
    y = t.gelu()
    y.backward(xp.ones_like(on_gpu))  # the gelu op's forward and backward too
    monkeypatch.undo()
    for name, values in got.items():  # the same numbers as the NumPy path's
        np.testing.assert_array_equal(ts.backend.to_numpy(values), getattr(_special, name)(x))


class _NotNumPy(types.ModuleType):
    """NumPy under another module object, so that `array_module(x) is not np` and
    _special.py takes its GPU branches on NumPy arrays; records the names it is asked."""

    def __init__(self):
        super().__init__("not_numpy")
        self.asked = set()

    def __getattr__(self, name):
        self.asked.add(name)
        return getattr(np, name)


@pytest.mark.numpy_only
def test_the_gpu_branches_run_on_numpy_arrays_give_the_numpy_paths_numbers(monkeypatch):
    """The GPU-only code (every range computed and merged by `where`: _erfc_positive's far
    range, _may_hold's yes) checked without a GPU or the CuPy stand-in: on NumPy arrays
    seen as another module's, within a few ulp of math.erf/erfc and bit for bit the NumPy
    path's numbers."""
    x = _points(5_000, seed=3)
    numpy_path = {name: getattr(_special, name)(x) for name in ("erf", "erfc", "normal_cdf")}
    not_numpy = _NotNumPy()
    monkeypatch.setattr(_special, "array_module", lambda array: not_numpy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warning on this path
        gpu_branch = {name: getattr(_special, name)(x) for name in numpy_path}
    assert {"where", "maximum"} <= not_numpy.asked  # (the merge by where was taken)
    references = {
        "erf": (math.erf, 6),
        "erfc": (math.erfc, 8),
        "normal_cdf": (lambda v: 0.5 * math.erfc(-v * math.sqrt(0.5)), 8),
    }
    for name, (reference, max_ulps) in references.items():
        got = gpu_branch[name]
        expected = np.array([reference(v) for v in x])
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        ulps = _ulps(got, expected)
        assert ulps.max() <= max_ulps, f"{name}: {ulps.max()} ulp at x = {x[ulps.argmax()]!r}"
        np.testing.assert_array_equal(got, numpy_path[name])
    far = np.abs(x) > 4
    assert 1_000 < far.sum() < x.size  # the far range is among those checked
