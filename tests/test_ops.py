"""Every primitive op of tinygrad_seq/ops.py: forward against NumPy, backward against finite
differences (ts.gradcheck) and, where the formula is short, against a hand-derived NumPy
gradient. All gradient comparisons run in float64.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_seq as ts
from tests.helpers import f64, np_of


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """NumPy reference for undoing broadcasting: sum `g` down to `shape`."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


def positive(rng, *shape, requires_grad=True) -> ts.Tensor:
    """A float64 tensor with entries in [0.5, 2] (safe for log, sqrt, division, pow)."""
    return ts.Tensor(rng.uniform(0.5, 2.0, shape), requires_grad=requires_grad)


def away_from_zero(rng, *shape) -> ts.Tensor:
    """A float64 tensor with |entries| in [0.3, 2] (abs and relu are smooth there)."""
    values = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return ts.Tensor(values, requires_grad=True)


# ------------------------------------------------------------------ binary elementwise
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b, g: (g, g)),
    "sub": (lambda a, b: a - b, lambda a, b, g: (g, -g)),
    "mul": (lambda a, b: a * b, lambda a, b, g: (g * b, g * a)),
    "div": (lambda a, b: a / b, lambda a, b, g: (g / b, -g * a / b**2)),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (3, 4)),
        ((3, 1), (1, 4)),
        ((2, 3, 4), (4,)),
        ((4,), (2, 3, 4)),
        ((2, 1, 4), (3, 1)),
        ((), (2, 3)),
    ],
)
def test_binary_op_gradcheck_with_broadcasting(op, shape_a, shape_b, rng):
    fn, _ = BINARY[op]
    a = f64(rng, *shape_a)
    b = positive(rng, *shape_b) if op == "div" else f64(rng, *shape_b)
    out = fn(a, b)
    np.testing.assert_allclose(out.numpy(), fn(a.numpy(), b.numpy()), rtol=1e-12)
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)
    assert ts.gradcheck(fn, a, b)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_op_gradient_matches_numpy_derivation(op, rng):
    fn, grads = BINARY[op]
    a, b = f64(rng, 3, 1), positive(rng, 1, 4)
    g = rng.standard_normal((3, 4))
    fn(a, b).backward(g)
    ga, gb = grads(a.numpy(), b.numpy(), g)
    np.testing.assert_allclose(np_of(a.grad), unbroadcast(ga, (3, 1)), rtol=1e-12)
    np.testing.assert_allclose(np_of(b.grad), unbroadcast(gb, (1, 4)), rtol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: 2.0 - x,
        lambda x: x - 2.0,
        lambda x: 3.0 * x,
        lambda x: x * 3,
        lambda x: x / 3,
        lambda x: 3.0 / x,
        lambda x: 2**x,
        lambda x: 1.5 + x,
        lambda x: x + 1.5,
    ],
    ids=["rsub", "sub", "rmul", "mul", "div", "rdiv", "rpow", "radd", "add"],
)
def test_scalar_on_either_side(fn, rng):
    x = positive(rng, 2, 3)
    out = fn(x)
    np.testing.assert_allclose(out.numpy(), fn(x.numpy()), rtol=1e-12)
    assert ts.gradcheck(fn, x)


def test_leading_added_axes_are_summed_away(rng):
    a, b = f64(rng, 4), f64(rng, 2, 3, 4)
    (a * b).sum().backward()
    np.testing.assert_allclose(np_of(a.grad), b.numpy().sum(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(np_of(b.grad), np.broadcast_to(a.numpy(), (2, 3, 4)))


def test_pow_constant_exponent(rng):
    x = positive(rng, 3, 2)
    for c in (2, 3, 0.5, -1.5, 1):
        out = x**c
        np.testing.assert_allclose(out.numpy(), x.numpy() ** c, rtol=1e-12)
        assert out.op == "pow"
        assert ts.gradcheck(lambda t, c=c: t**c, x)
    from fractions import Fraction  # any real number, read as the others are: x's dtype

    x32 = ts.Tensor(x.numpy().astype(np.float32))
    assert (x32 ** Fraction(1, 2)).dtype == np.float32 == (x32 * Fraction(1, 2)).dtype


def test_pow_zero_has_zero_gradient_even_at_zero():
    x = ts.Tensor(np.array([0.0, 2.0, -1.0]), requires_grad=True)
    with np.errstate(all="raise"):
        (x**0).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), np.zeros(3))


def test_pow_tensor_exponent_and_scalar_base(rng):
    x, y = positive(rng, 3, 2), f64(rng, 3, 2)
    assert ts.gradcheck(lambda a, b: a**b, x, y)
    assert ts.gradcheck(lambda b: 2.5**b, y)
    x.grad = y.grad = None
    (x**y).backward(np.ones((3, 2)))
    xv, yv = x.numpy(), y.numpy()
    np.testing.assert_allclose(np_of(x.grad), yv * xv ** (yv - 1), rtol=1e-12)
    np.testing.assert_allclose(np_of(y.grad), xv**yv * np.log(xv), rtol=1e-12)


def test_pow_tensor_exponent_zero_has_zero_base_gradient_even_at_zero():
    x = ts.Tensor(np.array([0.0, 2.0, 0.0]), requires_grad=True)
    y = ts.Tensor(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    with np.errstate(all="raise"):  # and no warning on the way
        (x**y).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 0.0, 0.0])  # 0⁰, 2⁰, and 2·0¹


def test_matmul_with_an_empty_inner_axis_gives_zeros():
    a = ts.Tensor(np.ones((2, 3, 0)), requires_grad=True)
    b = ts.Tensor(np.ones((0, 4)), requires_grad=True)
    c = a @ b
    np.testing.assert_array_equal(c.numpy(), np.zeros((2, 3, 4)))
    c.sum().backward()
    assert a.grad.shape == (2, 3, 0) and b.grad.shape == (0, 4)


def test_reductions_take_a_list_of_axes_and_0d_tensors_any_axis(rng):
    x = f64(rng, 2, 3)
    assert x.sum(axis=[0, 1]).item() == pytest.approx(x.numpy().sum())
    for method in ("sum", "mean", "max", "logsumexp"):
        for axis in (0, -1, None):
            assert getattr(ts.Tensor(2.5), method)(axis=axis).item() == 2.5


# the elementwise and row-wise ops that compute in floats, whatever their input's dtype
FLOAT_OPS = [
    "sigmoid",
    "softmax",
    "tanh",
    "exp",
    "log_softmax",
    "log1p",
    "expm1",
    "erf",
    "gelu",
    "logsumexp",
]


@pytest.mark.parametrize("method", FLOAT_OPS)
def test_elementwise_and_softmax_on_0d_tensors(method):
    # NumPy returns 0-d results as scalars, which an op must not try to write into
    x = ts.Tensor(np.float64(0.3), requires_grad=True)
    y = getattr(x, method)()
    assert y.shape == ()
    assert ts.gradcheck(lambda t: getattr(t, method)() * t, x)


@pytest.mark.parametrize("method", FLOAT_OPS)
@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.bool_])
def test_float_ops_on_integer_tensors_give_numpys_float(method, dtype):
    # integers get no gradient, but the forward works as NumPy's ufuncs do, in the float
    # dtype NumPy's exp gives them (ops that write in place need a float buffer); 6³ is
    # past int8's range, which gelu's cube must not wrap around in
    data = np.array([[1, 0, 2], [0, 1, 6]]).astype(dtype)
    y = getattr(ts.Tensor(data), method)()
    float_data = data.astype(np.float64)
    expected = {
        "sigmoid": 1 / (1 + np.exp(-float_data)),
        "softmax": np.exp(float_data) / np.exp(float_data).sum(-1, keepdims=True),
        "tanh": np.tanh(float_data),
        "exp": np.exp(float_data),
        "log_softmax": float_data - np.log(np.exp(float_data).sum(-1, keepdims=True)),
        "log1p": np.log1p(float_data),
        "expm1": np.expm1(float_data),
        "erf": _erf(float_data),
        "gelu": _gelu(float_data),
        "logsumexp": np.log(np.exp(float_data).sum()),  # (over every axis, by default)
    }[method]
    assert y.dtype == np.exp(data).dtype
    np.testing.assert_allclose(np_of(y), expected, rtol=1e-2 if y.dtype == np.float16 else 1e-7)


def test_pow_tensor_exponent_broadcasts(rng):
    x, y = positive(rng, 3, 1), f64(rng, 4)
    assert ts.gradcheck(lambda a, b: a**b, x, y)


def test_maximum_gradcheck_and_ties_go_to_first(rng):
    a, b = f64(rng, 3, 4), f64(rng, 4)
    assert ts.gradcheck(ts.maximum, a, b)
    x = ts.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = ts.Tensor(np.array([1.0, 5.0, 0.0]), requires_grad=True)
    ts.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(np_of(y.grad), [0.0, 1.0, 0.0])


def test_maximum_with_a_scalar(rng):
    x = away_from_zero(rng, 5)
    out = ts.maximum(x, 0.0)
    np.testing.assert_array_equal(out.numpy(), np.maximum(x.numpy(), 0.0))
    assert ts.gradcheck(lambda t: ts.maximum(t, 0.0), x)
    # a number on either side takes the tensor's dtype (maximum(0, x) was float64)
    x32 = ts.Tensor(x.numpy().astype(np.float32))
    assert ts.maximum(0, x32).dtype == ts.maximum(x32, 0).dtype == np.float32
    np.testing.assert_array_equal(ts.maximum(0.0, x).numpy(), np.maximum(0.0, x.numpy()))


# ------------------------------------------------------------------ property tests
def broadcastable_pair():
    """Two shapes that broadcast together (rank 0 to 3, axes of length 1 to 3)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


PROPERTY_OPS = {
    "add": (lambda a, b: a + b, lambda a, b: (np.ones_like(a + b), np.ones_like(a + b))),
    "sub": (lambda a, b: a - b, lambda a, b: (np.ones_like(a - b), -np.ones_like(a - b))),
    "mul": (lambda a, b: a * b, lambda a, b: (b + 0 * a, a + 0 * b)),
    "div": (lambda a, b: a / b, lambda a, b: (1 / b + 0 * a, -a / b**2)),
    "maximum": (
        lambda a, b: ts.maximum(a, b) if isinstance(a, ts.Tensor) else np.maximum(a, b),
        lambda a, b: ((a >= b) + 0.0 * b, (a < b) + 0.0 * a),
    ),
}


@pytest.mark.parametrize("op", sorted(PROPERTY_OPS))
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(shapes=broadcastable_pair(), seed=st.integers(0, 2**31 - 1))
def test_binary_ops_match_numpy_on_random_broadcastable_shapes(op, shapes, seed):
    fn, local_grads = PROPERTY_OPS[op]
    shape_a, shape_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a_np = rng.standard_normal(shape_a)
    b_np = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1.0, 1.0], shape_b)
    a = ts.Tensor(a_np, requires_grad=True)
    b = ts.Tensor(b_np, requires_grad=True)
    out = fn(a, b)
    expected = fn(a_np, b_np)
    assert out.shape == np.shape(expected) == shapes.result_shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=0)
    g = rng.standard_normal(shapes.result_shape)
    out.backward(g)
    da, db = local_grads(a_np, b_np)
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    np.testing.assert_allclose(np_of(a.grad), unbroadcast(g * da, shape_a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np_of(b.grad), unbroadcast(g * db, shape_b), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ unary elementwise
UNARY = {
    "neg": (lambda x: -x, lambda x: -np.ones_like(x)),
    "exp": (lambda x: x.exp(), np.exp),
    "log": (lambda x: x.log(), lambda x: 1 / x),
    "tanh": (lambda x: x.tanh(), lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "relu": (lambda x: x.relu(), lambda x: (x > 0).astype(float)),
    "sqrt": (lambda x: x.sqrt(), lambda x: 0.5 / np.sqrt(x)),
    "abs": (lambda x: x.abs(), np.sign),
    "clone": (lambda x: x.clone(), np.ones_like),
    "clip": (lambda x: x.clip(-0.8, 1.2), lambda x: ((x >= -0.8) & (x <= 1.2)).astype(float)),
    "log1p": (lambda x: x.log1p(), lambda x: 1 / (1 + x)),
    "expm1": (lambda x: x.expm1(), np.exp),
    "erf": (lambda x: x.erf(), lambda x: 2 / np.sqrt(np.pi) * np.exp(-(x**2))),
    "gelu": (lambda x: x.gelu(), lambda x: _normal_cdf(x) + x * _normal_pdf(x)),
}

_erf = np.vectorize(math.erf, otypes=[float])  # (Python's, to check the engine's own)


def _normal_cdf(x):
    return 0.5 * (1 + _erf(x / np.sqrt(2)))


def _normal_pdf(x):
    return np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)


def _gelu(x):
    return x * _normal_cdf(x)


UNARY_NUMPY = {
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0),
    "sqrt": np.sqrt,
    "abs": np.abs,
    "clone": np.copy,
    "clip": lambda x: np.clip(x, -0.8, 1.2),
    "log1p": np.log1p,
    "expm1": np.expm1,
    "erf": _erf,
    "gelu": _gelu,
}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_op_forward_and_gradient(op, rng):
    fn, derivative = UNARY[op]
    x = positive(rng, 3, 4) if op in ("log", "sqrt", "log1p") else away_from_zero(rng, 3, 4)
    out = fn(x)
    assert out.op == op and out.parents == (x,)
    np.testing.assert_allclose(out.numpy(), UNARY_NUMPY[op](x.numpy()), rtol=1e-12)
    assert ts.gradcheck(fn, x)
    g = rng.standard_normal((3, 4))
    x.grad = None
    fn(x).backward(g)
    np.testing.assert_allclose(np_of(x.grad), g * derivative(x.numpy()), rtol=1e-10)


def test_relu_of_infinities_and_nan_is_max_of_x_and_0():
    # x · relu'(x) would make −inf · 0 = NaN: max(x, 0) is 0 there
    x = ts.Tensor([-np.inf, -1.0, 0.0, 2.0, np.inf, np.nan], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value" warning either
        out = x.relu()
        out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.0, 0.0, 2.0, np.inf, np.nan])
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    for data in (np.array([True, False]), np.array([-3, 4], np.int16)):  # dtypes kept
        out = ts.Tensor(data).relu()
        assert out.dtype == data.dtype
        np.testing.assert_array_equal(out.numpy(), np.maximum(data, 0).astype(data.dtype))


@pytest.mark.parametrize("shape", [(2,), (3, 7), (2, 3, 5)])  # small, rows, odd strides
def test_no_gradient_passes_where_relu_is_flat_not_even_an_inf(shape):
    # sqrt(relu(x)) sends 1 / (2·0) = inf back where x ≤ 0: PyTorch gives 0 there, and so
    # does relu's select (g · relu'(x) would be inf · 0 = NaN and poison the weights)
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape) + 0.5
    data.flat[0], data.flat[-1] = -1.0, 2.0
    for view in (data, data.T.copy().T):  # C order, and a transposed layout
        x = ts.Tensor(view, requires_grad=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            x.relu().sqrt().sum().backward()
        g = np_of(x.grad)
        assert not np.isnan(g).any()
        expected = np.where(view > 0, 0.5 / np.sqrt(np.maximum(view, 1e-300)), 0.0)
        np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_relu_writing_into_its_own_gradient_passes_no_inf_where_flat(kernels):
    # followed by a matrix product, relu's gradient is its own to overwrite (the in-place
    # paths): an inf in it where relu is flat is zeroed there too, not multiplied into NaN
    x = ts.Tensor(np.array([[-1.0, 2.0, 0.0], [3.0, -4.0, 5.0]]), requires_grad=True)
    w = ts.Tensor(np.ones((3, 1)))
    out = x.relu() @ w
    with np.errstate(invalid="ignore"):
        out.backward(np.array([[np.inf], [2.0]]))  # ∂L/∂relu(x) = [[inf] * 3, [2] * 3]
    np.testing.assert_array_equal(np_of(x.grad), [[0.0, np.inf, 0.0], [2.0, 0.0, 2.0]])


def test_maximum_sends_the_smaller_side_no_gradient_not_even_an_inf():
    a = ts.Tensor([1.0, -1.0, 4.0], requires_grad=True)
    b = ts.Tensor([0.0, 0.0, 4.0], requires_grad=True)
    g = np.array([np.inf, -np.inf, np.nan])
    ts.maximum(a, b).backward(g)
    np.testing.assert_array_equal(np_of(a.grad), [np.inf, 0.0, np.nan])  # a tie: to a
    np.testing.assert_array_equal(np_of(b.grad), [0.0, -np.inf, 0.0])


def test_clip_passes_the_gradient_at_the_bounds_as_pytorch_and_none_at_nan_or_outside():
    x = ts.Tensor([-2.0, -1.0, 0.5, 1.0, 2.0, np.nan, -np.inf, np.inf], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no "invalid value" warning for the NaN)
        out = x.clip(-1.0, 1.0)
        out.backward(np.array([np.inf, 1.0, 1.0, 1.0, np.inf, 1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(out.numpy(), [-1.0, -1.0, 0.5, 1.0, 1.0, np.nan, -1.0, 1.0])
    # the bounds included; outside, not even an inf passes (a select, not g · mask)
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])


def test_clip_with_one_bound_and_with_min_above_max(rng):
    x = ts.Tensor(rng.standard_normal(6), requires_grad=True)
    data = x.numpy()
    for kwargs in ({"min": 0.1}, {"max": -0.1}, {"min": 0.5, "max": -0.5}):
        x.grad = None
        out = x.clip(**kwargs)
        low, high = kwargs.get("min"), kwargs.get("max")
        np.testing.assert_array_equal(out.numpy(), np.clip(data, low, high))  # min > max: max
        out.sum().backward()
        inside = (data >= (-np.inf if low is None else low)) & (
            data <= (np.inf if high is None else high)
        )
        np.testing.assert_array_equal(np_of(x.grad), inside.astype(float))
        assert ts.gradcheck(lambda t, kw=kwargs: t.clip(**kw), x)


def test_clip_keeps_the_dtype_and_clips_integers_as_integers():
    x32 = ts.Tensor(np.array([0.5, 2.0, 3.5], np.float32))
    assert x32.clip(1, 3.0).dtype == np.float32  # (Python bounds take the tensor's dtype)
    ids = ts.Tensor(np.array([-3, 4, 9], np.int16))
    clipped = ids.clip(0, 5)
    assert clipped.dtype == np.int16 and np_of(clipped.data).tolist() == [0, 4, 5]
    assert ts.Tensor(2.0).clip(max=1).shape == ()
    assert x32.clip(np.float64(1.0), np.array(3)).numpy().tolist() == [1.0, 2.0, 3.0]
    zero_d = ids.clip(np.array(0), np.array(5))  # 0-d integer arrays: numbers, as 0 and 5
    assert zero_d.dtype == np.int16 and np_of(zero_d.data).tolist() == [0, 4, 5]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, r"^clip: give min, max or both"),
        ({"min": float("nan")}, ValueError, r"^clip: min is NaN"),
        ({"max": "1"}, TypeError, r"^clip: max must be a number or None, got str"),
        ({"min": True}, TypeError, r"^clip: min must be a number or None, got bool"),
        ({"min": np.zeros(3)}, TypeError, r"^clip: min must be a number.*ts\.maximum"),
        ({"max": ts.Tensor(1.0)}, TypeError, r"^clip: max must be a number.*got Tensor"),
    ],
)
def test_clip_refuses_bad_bounds_clearly(kwargs, error, match):
    with pytest.raises(error, match=match):
        ts.Tensor([1.0, 2.0]).clip(**kwargs)


def test_pytorchs_clamp_is_answered_with_numpys_clip():
    x = ts.Tensor([1.0, 2.0])
    with pytest.raises(
        TypeError, match=r"^clamp is PyTorch's name for NumPy's clip.*x\.clip\(0, 1\)$"
    ):
        x.clamp(0, 1)
    with pytest.raises(TypeError, match=r"write x\.clip\(min=0\.5\)$"):
        x.clamp(min=0.5)


def test_flatten_is_a_reshape_of_every_axis(rng):
    x = f64(rng, 2, 3, 4)
    out = x.flatten()
    assert out.shape == (24,) and out.op == "reshape" and out.parents == (x,)
    np.testing.assert_array_equal(out.numpy(), x.numpy().flatten())
    assert ts.gradcheck(lambda t: t.flatten(), x)
    assert ts.gradcheck(lambda t: t.transpose(2, 0, 1).flatten(), x)  # a non-C-order view
    assert ts.Tensor(3.0).flatten().shape == (1,)  # as NumPy's
    assert ts.Tensor(np.zeros((0, 3))).flatten().shape == (0,)
    with pytest.raises(
        TypeError, match=r"^flatten\(\) takes no arguments.*reshape\(x\.shape\[0\], -1\)"
    ):
        x.flatten(1)  # PyTorch's start_dim


# ------------------------------------------------------------------ matmul
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (4, 2)),  # 2-D
        ((2, 3, 4), (2, 4, 5)),  # batched 3-D
        ((2, 2, 3, 4), (2, 2, 4, 3)),  # batched 4-D
        ((2, 3, 4), (4, 5)),  # batch on the left only
        ((4, 5), (2, 5, 3)),  # batch on the right only
        ((2, 1, 3, 4), (3, 4, 2)),  # broadcasting batch axes
        ((4,), (4, 3)),  # 1-D on the left
        ((3, 4), (4,)),  # 1-D on the right
        ((4,), (2, 4, 3)),  # 1-D with a batched right side
        ((2, 3, 4), (4,)),  # batched left with a 1-D right side
        ((4,), (4,)),  # inner product
    ],
)
def test_matmul_gradcheck(shape_a, shape_b, rng):
    a, b = f64(rng, *shape_a), f64(rng, *shape_b)
    out = a @ b
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    assert out.op == "matmul"
    assert ts.gradcheck(lambda x, y: x @ y, a, b)


def test_matmul_gradient_matches_hand_derivation(rng):
    a, b = f64(rng, 2, 3, 4), f64(rng, 4, 5)
    g = rng.standard_normal((2, 3, 5))
    (a @ b).backward(g)
    np.testing.assert_allclose(np_of(a.grad), g @ b.numpy().T, rtol=1e-12)
    expected_b = np.einsum("bij,bik->jk", a.numpy(), g)  # Σ over the batch of aᵀ g
    np.testing.assert_allclose(np_of(b.grad), expected_b, rtol=1e-12)


def test_matmul_flattened_linear_path_handles_views(rng):
    # (..., n, k) @ (k, m) runs as one 2-D product when the left side is contiguous; a
    # transposed (non-contiguous) left side and a non-contiguous output gradient take the
    # other paths and must agree
    a, b = f64(rng, 2, 4, 3), f64(rng, 4, 5)
    left = a.transpose(0, 2, 1)  # (2, 3, 4), not contiguous
    assert not left.data.flags.c_contiguous
    np.testing.assert_allclose((left @ b).numpy(), left.numpy() @ b.numpy(), rtol=1e-12)
    assert ts.gradcheck(lambda x, y: x.transpose(0, 2, 1) @ y, a, b)
    g = rng.standard_normal((2, 5, 3)).transpose(0, 2, 1)  # (2, 3, 5), not contiguous
    c = f64(rng, 2, 3, 4)
    (c @ b).backward(g)
    np.testing.assert_allclose(np_of(c.grad), g @ b.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(np_of(b.grad), np.einsum("bij,bik->jk", c.numpy(), g), rtol=1e-12)


# Stacked products whose right operand (forward, or backward's g @ yᵀ) is a transposed
# view: ops._stacked_product copies it to C order first when that pays (rows ≥ inner
# length, small products) and leaves it alone otherwise; every case must give the plain
# product and its gradients. (left shape, right operand's shape before the transpose)
STACKED = {
    "q kᵀ (copied)": ((2, 3, 5, 4), (2, 3, 6, 4), (0, 1, 3, 2)),
    "kᵀ broadcast over the batch": ((2, 3, 5, 4), (3, 6, 4), (0, 2, 1)),
    "one query row (not copied)": ((2, 3, 1, 4), (2, 3, 6, 4), (0, 1, 3, 2)),
    "a vector on the left": ((4,), (2, 6, 4), (0, 2, 1)),
    "inner length 1": ((2, 5, 1), (2, 6, 1), (0, 2, 1)),
    # α @ v with v a head-split view: backward's g @ vᵀ meets the transposed layout
    "α v, v a view": ((2, 3, 5, 6), (2, 6, 3, 4), (0, 2, 1, 3)),
}


@pytest.mark.parametrize("case", STACKED)
def test_stacked_matmul_with_transposed_operands(case, rng):
    shape_a, shape_b, axes = STACKED[case]
    a, b = f64(rng, *shape_a), f64(rng, *shape_b)
    b_before = b.numpy().copy()
    right = b.transpose(*axes)
    out = a @ right
    np.testing.assert_allclose(out.numpy(), a.numpy() @ right.numpy(), rtol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    a_np, right_np = a.numpy(), right.numpy()
    if a_np.ndim == 1:  # promoted to a row, as matmul does
        expected_a = (g[..., None, :] @ np.swapaxes(right_np, -1, -2))[..., 0, :]
        expected_right = a_np[:, None] @ g[..., None, :]
    else:
        expected_a = g @ np.swapaxes(right_np, -1, -2)
        expected_right = np.swapaxes(a_np, -1, -2) @ g
    while expected_a.ndim > a_np.ndim:
        expected_a = expected_a.sum(axis=0)
    while expected_right.ndim > right_np.ndim:
        expected_right = expected_right.sum(axis=0)
    np.testing.assert_allclose(np_of(a.grad), expected_a, rtol=1e-12)
    inverse = np.argsort(axes)
    np.testing.assert_allclose(np_of(b.grad), expected_right.transpose(*inverse), rtol=1e-12)
    np.testing.assert_array_equal(b.numpy(), b_before)  # the copy never writes back
    assert ts.gradcheck(lambda x, y: x @ y.transpose(*axes), a, b)


def test_stacked_product_copies_a_transposed_right_operand_only_where_it_pays(rng):
    from tinygrad_seq.ops import _copy_pays

    q = rng.standard_normal((2, 64, 32))
    k_t = rng.standard_normal((2, 64, 32)).swapaxes(-1, -2)  # (2, 32, 64), transposed
    assert _copy_pays(q, k_t)  # 64 rows, inner length 32: attention's q kᵀ
    assert not _copy_pays(q[:, :1], k_t)  # one query row: the copy would cost more
    assert not _copy_pays(q, np.ascontiguousarray(k_t))  # already in C order
    assert not _copy_pays(q, rng.standard_normal((2, 32, 1)))  # columns: C order as well
    assert not _copy_pays(q[0].ravel()[:32], k_t)  # a vector on the left
    assert not _copy_pays(q, k_t[0])  # a single 2-D right operand
    large = rng.standard_normal((2, 128, 128))
    assert not _copy_pays(large, large.swapaxes(-1, -2))  # 2²¹ multiply-adds: BLAS copes


def test_matmul_with_a_numpy_operand_on_either_side(rng):
    a = f64(rng, 3, 4)
    w = rng.standard_normal((4, 2))
    np.testing.assert_allclose((a @ w).numpy(), a.numpy() @ w, rtol=1e-12)
    v = rng.standard_normal((5, 3))
    out = v @ a
    assert isinstance(out, ts.Tensor)
    np.testing.assert_allclose(out.numpy(), v @ a.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ reductions
@pytest.mark.parametrize("method", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (1, -1), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(method, axis, keepdims, rng):
    x = f64(rng, 2, 3, 4)
    out = getattr(x, method)(axis=axis, keepdims=keepdims)
    expected = getattr(np, method)(x.numpy(), axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert ts.gradcheck(lambda t: getattr(t, method)(axis=axis, keepdims=keepdims), x)


@st.composite
def shape_and_axes(draw):
    """A shape of rank 1 to 3 and a reduction axis: None, one axis, or a tuple of axes."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    ndim = len(shape)
    axes = draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim))
    axis = draw(st.sampled_from([None, tuple(axes), axes[0] if axes else None]))
    return shape, axis


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=shape_and_axes(), keepdims=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_sum_and_mean_match_numpy_on_random_axes(case, keepdims, seed):
    shape, axis = case
    rng = np.random.default_rng(seed)
    x_np = rng.standard_normal(shape)
    x = ts.Tensor(x_np, requires_grad=True)
    for method in ("sum", "mean"):
        x.grad = None
        out = getattr(x, method)(axis=axis, keepdims=keepdims)
        expected = getattr(np, method)(x_np, axis=axis, keepdims=keepdims)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)
        g = rng.standard_normal(expected.shape)
        out.backward(g)
        g_kept = g if keepdims else np.expand_dims(g, axis) if axis is not None else g
        n = x_np.size // max(expected.size, 1) if method == "mean" else 1
        np.testing.assert_allclose(np_of(x.grad), np.broadcast_to(g_kept / n, shape), rtol=1e-12)


def test_reduction_gradients_by_hand(rng):
    x = f64(rng, 3, 4)
    x.sum(axis=0).backward(np.arange(4.0))
    np.testing.assert_array_equal(np_of(x.grad), np.tile(np.arange(4.0), (3, 1)))
    x.grad = None
    x.mean(axis=1, keepdims=True).backward(np.ones((3, 1)))
    np.testing.assert_allclose(np_of(x.grad), np.full((3, 4), 0.25))
    x.grad = None
    x.max(axis=1).backward(np.ones(3))
    expected = (x.numpy() == x.numpy().max(axis=1, keepdims=True)).astype(float)
    np.testing.assert_array_equal(np_of(x.grad), expected)


def test_max_ties_share_the_gradient():
    x = ts.Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("dtype", [">f8", ">f4"])
def test_max_of_byte_swapped_data(dtype):
    # data read from a big-endian file: NumPy's sum refused the swapped dtype for the count
    data = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]).astype(dtype)
    x = ts.Tensor(data, requires_grad=True)
    assert x.max().item() == 3.0
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (1, -1), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_matches_pytorch_and_its_gradient_is_the_softmax(axis, keepdims, rng):
    torch = pytest.importorskip("torch")
    x = f64(rng, 2, 3, 4)
    out = x.logsumexp(axis=axis, keepdims=keepdims)
    dims = tuple(range(3)) if axis is None else axis
    ref = torch.logsumexp(torch.tensor(x.numpy()), dim=dims, keepdim=keepdims)
    assert out.shape == tuple(ref.shape) and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-14)
    assert ts.gradcheck(lambda t: t.logsumexp(axis=axis, keepdims=keepdims), x)
    out.sum().backward()  # ∂/∂x Σ lse = softmax over the reduced axes
    kept = x.numpy().max(axis=axis, keepdims=True)
    e = np.exp(x.numpy() - kept)
    np.testing.assert_allclose(np_of(x.grad), e / e.sum(axis=axis, keepdims=True), rtol=1e-13)
    assert np.array_equal(
        ts.F.logsumexp(x, axis, keepdims).numpy(), out.numpy()
    )  # (the function is the method)


def test_logsumexp_is_exact_for_large_logits_in_every_float_dtype():
    for dtype, big in ((np.float64, 1e4), (np.float32, 1e4), (np.float16, 6e4)):
        x = ts.Tensor(np.array([[big, big], [-big, -big]], dtype), requires_grad=True)
        out = x.logsumexp(axis=1)
        assert out.dtype == dtype
        # big + log 2, rounded to the dtype (in float16, 60000.69 rounds to 60000)
        expected = np.array([big, -big], np.float64) + np.log(2.0)
        np.testing.assert_allclose(np_of(out), expected.astype(dtype), rtol=0)
        out.sum().backward()
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(np_of(x.grad), 0.5)
    n = 70_000  # a float16 row summed past 65504: worked out in float32
    x = ts.Tensor(np.zeros(n, np.float16))
    assert x.logsumexp().item() == pytest.approx(np.log(n), rel=1e-3)


def test_logsumexp_of_infinite_and_empty_rows_is_pytorchs():
    torch = pytest.importorskip("torch")
    inf = np.inf
    data = np.array([[-inf, -inf], [1.0, 2.0], [inf, 1.0], [-inf, 0.0]])
    x = ts.Tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no "invalid value" or "divide by zero" warnings)
        out = x.logsumexp(axis=1)
        out.backward(np.ones(4))
    ref = torch.tensor(data, requires_grad=True)
    ref_out = torch.logsumexp(ref, dim=1)
    ref_out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), ref_out.detach().numpy())  # −inf, ., inf, 0
    assert out.numpy()[0] == -inf and out.numpy()[2] == inf
    # nan where torch's is (assert_allclose holds nan equal to nan)
    np.testing.assert_allclose(np_of(x.grad), ref.grad.numpy(), rtol=1e-15)
    for shape, axis in (((0, 3), 0), ((2, 0), 1), ((0,), None)):
        empty = ts.Tensor(np.zeros(shape))
        expected = torch.logsumexp(torch.zeros(shape), dim=axis if axis is not None else 0)
        np.testing.assert_array_equal(empty.logsumexp(axis).numpy(), expected.numpy())


def test_logsumexp_under_detect_anomaly_passes_the_infs_its_rows_held_not_one_made_elsewhere(xp):
    from tinygrad_seq.ops import LogSumExp

    inf = np.inf
    data = np.array([[1.0, 2.0], [-inf, -inf], [inf, 0.0]])
    with ts.detect_anomaly():  # a row of −inf gives −inf, a +inf +inf: carried, not made
        out = ts.Tensor(data).logsumexp(axis=1)
    assert out.numpy()[1] == -inf and out.numpy()[2] == inf
    # an inf in row 0, whose elements held none (an overflow), is not explained by row 1's
    fn, x = LogSumExp(axis=1), xp.asarray(data[:2])
    assert fn.carries_infs(xp.asarray([2.3, -inf]), [x])
    assert not fn.carries_infs(xp.asarray([inf, -inf]), [x])
    assert not LogSumExp(axis=1, keepdims=True).carries_infs(xp.asarray([[inf], [-inf]]), [x])


def test_logsumexp_refuses_pytorchs_names_and_bad_axes_clearly(rng):
    x = f64(rng, 2, 3)
    with pytest.raises(TypeError, match=r"logsumexp: dim= is PyTorch's name for NumPy's axis="):
        x.logsumexp(dim=1)
    with pytest.raises(TypeError, match=r"keepdim= is PyTorch's name for NumPy's keepdims="):
        ts.F.logsumexp(x, 1, keepdim=True)
    with pytest.raises(ValueError, match=r"logsumexp: axis 2 is out of range .* \(2, 3\)"):
        x.logsumexp(axis=2)
    with pytest.raises(TypeError, match="logsumexp: keepdims must be"):
        x.logsumexp(axis=1, keepdims="yes")
    with pytest.raises(TypeError, match=r"logsumexp: expected a Tensor, got ndarray"):
        ts.F.logsumexp(x.numpy())


# ------------------------------------------------------------------ shape ops
def test_reshape(rng):
    x = f64(rng, 2, 3, 4)
    for shape in [(6, 4), (4, -1), (24,), (2, 12, 1), ((3, 8),)]:
        out = x.reshape(*shape)
        target = shape[0] if isinstance(shape[0], tuple) else shape
        np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(target))
        assert ts.gradcheck(lambda t, s=shape: t.reshape(*s), x)


@pytest.mark.parametrize("axes", [(), (None,), (1, 0, 2), (2, 0, 1), (-1, 0, 1), ((0, 2, 1),)])
def test_transpose(axes, rng):
    x = f64(rng, 2, 3, 4)
    out = x.transpose(*axes)
    perm = axes[0] if axes and isinstance(axes[0], tuple) else (axes or None)
    perm = None if perm == (None,) else perm  # transpose(None) reverses, as NumPy's
    np.testing.assert_array_equal(out.numpy(), x.numpy().transpose(perm))
    assert ts.gradcheck(lambda t: t.transpose(*axes), x)


def test_transpose_refuses_axes_that_are_not_integers(rng):
    x = f64(rng, 2, 3)
    for axes in ((0.0, 1), (None, 0), (True, False)):
        with pytest.raises(TypeError, match="transpose: axes must be integers"):
            x.transpose(*axes)


def test_T(rng):
    x = f64(rng, 3, 4)
    np.testing.assert_array_equal(x.T.numpy(), x.numpy().T)
    assert ts.gradcheck(lambda t: t.T, x)
    y = f64(rng, 2, 3, 4)
    assert y.T.shape == (4, 3, 2)
    assert ts.gradcheck(lambda t: t.T, y)


# ------------------------------------------------------------------ indexing
INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "negative slice step": slice(None, None, -2),
    "tuple of int and slice": (0, slice(None, 2)),
    "None": (None, slice(None), 1),
    "ellipsis": (Ellipsis, 2),
    "int array": np.array([0, 2]),
    "negative int array": np.array([-1, 0]),
    "list": [2, 0],
    "pairs of int arrays": (np.array([0, 2]), np.array([1, 3])),
    "int array after slice": (slice(None), np.array([3, 1])),
    "bool mask 1-D": np.array([True, False, True]),
    "bool mask 2-D": np.arange(12).reshape(3, 4) % 3 == 0,
    "bool mask on axis 1": (slice(None), np.array([True, False, False, True])),
}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_getitem(name, rng):
    index = INDICES[name]
    x = f64(rng, 3, 4)
    out = x[index]
    np.testing.assert_array_equal(out.numpy(), x.numpy()[index])
    assert out.op == "getitem"
    assert ts.gradcheck(lambda t: t[index], x)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_getitem_2d_bool_mask_inside_a_tuple(as_tensor, rng):
    x = f64(rng, 3, 4, 2)
    mask_np = rng.standard_normal((3, 4)) > 0
    mask = ts.Tensor(mask_np) if as_tensor else mask_np
    for index, np_index in [((mask, 1), (mask_np, 1)), ((mask,), (mask_np,))]:
        np.testing.assert_array_equal(x[index].numpy(), x.numpy()[np_index])
        assert ts.gradcheck(lambda t, i=index: t[i], x)


def test_a_numpy_mask_becomes_index_arrays_of_the_tensors_backend(rng):
    """A k-D NumPy mask turns into k index arrays on the host; on CuPy each is moved to the
    GPU once, where the forward and the backward's add.at both use it (kept on the host,
    CuPy copied them over at each of the two)."""
    x = f64(rng, 3, 4)
    for mask in (np.arange(12).reshape(3, 4) % 3 == 0, np.array([True, False, True])):
        out = x[mask]
        index = out._ctx.index
        parts = index if isinstance(index, tuple) else (index,)
        assert len(parts) == mask.ndim
        assert all(ts.backend.backend_of(p) == x.backend for p in parts), parts
        np.testing.assert_array_equal(out.numpy(), x.numpy()[mask])


def test_getitem_with_an_integer_tensor_index(rng):
    x = f64(rng, 4, 2)
    idx = ts.Tensor(np.array([3, 1, 3]))
    np.testing.assert_array_equal(x[idx].numpy(), x.numpy()[[3, 1, 3]])
    assert ts.gradcheck(lambda t: t[idx], x)


def test_getitem_with_an_empty_list_selects_nothing(rng):
    # [] comes out of np.asarray as float64; NumPy indexes with it as an empty int index
    x = f64(rng, 3, 2)
    y = x[[]]
    assert y.shape == x.numpy()[[]].shape == (0, 2)
    y.sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), 0.0)


def test_getitem_with_a_bool_tensor_mask(rng):
    x = f64(rng, 5)
    mask = x > 0.0
    assert mask.dtype == bool
    np.testing.assert_array_equal(x[mask].numpy(), x.numpy()[x.numpy() > 0])
    x[mask].sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), (x.numpy() > 0).astype(float))


def test_getitem_repeated_indices_accumulate(rng):
    x = f64(rng, 4, 3)
    x[np.array([1, 1, 3, 1])].sum().backward()
    expected = np.zeros((4, 3))
    expected[1], expected[3] = 3.0, 1.0
    np.testing.assert_array_equal(np_of(x.grad), expected)
    x.grad = None
    x[[0, 0], [2, 2]].sum().backward()
    expected = np.zeros((4, 3))
    expected[0, 2] = 2.0
    np.testing.assert_array_equal(np_of(x.grad), expected)


def test_getitem_basic_slices_scatter_back(rng):
    x = f64(rng, 3, 4)
    g = rng.standard_normal((2, 2))
    x[1:, ::2].backward(g)
    expected = np.zeros((3, 4))
    expected[1:, ::2] = g
    np.testing.assert_array_equal(np_of(x.grad), expected)


# ------------------------------------------------------------------ joining and selecting
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat(axis, rng):
    shapes = {0: [(1, 3), (2, 3), (3, 3)], 1: [(2, 1), (2, 2), (2, 3)], -1: [(2, 2), (2, 1)]}
    xs = [f64(rng, *s) for s in shapes[axis]]
    out = ts.cat(xs, axis=axis)
    np.testing.assert_array_equal(out.numpy(), np.concatenate([x.numpy() for x in xs], axis))
    assert out.parents == tuple(xs)
    assert ts.gradcheck(lambda *ts_: ts.cat(ts_, axis=axis), *xs)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis, rng):
    xs = [f64(rng, 2, 3) for _ in range(3)]
    out = ts.stack(xs, axis=axis)
    np.testing.assert_array_equal(out.numpy(), np.stack([x.numpy() for x in xs], axis))
    assert out.parents == tuple(xs)
    assert ts.gradcheck(lambda *ts_: ts.stack(ts_, axis=axis), *xs)


def test_cat_with_a_constant_part(rng):
    x = f64(rng, 2, 3)
    c = ts.Tensor(rng.standard_normal((1, 3)))
    ts.cat([c, x], axis=0).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), np.ones((2, 3)))
    assert c.grad is None


def test_where(rng):
    a, b = f64(rng, 3, 4), f64(rng, 4)
    cond = rng.standard_normal((3, 4)) > 0
    out = ts.where(cond, a, b)
    np.testing.assert_array_equal(out.numpy(), np.where(cond, a.numpy(), b.numpy()))
    assert ts.gradcheck(lambda x, y: ts.where(cond, x, y), a, b)
    a.grad = b.grad = None
    ts.where(cond, a, b).sum().backward()
    np.testing.assert_array_equal(np_of(a.grad), cond.astype(float))
    np.testing.assert_array_equal(np_of(b.grad), (~cond).sum(axis=0).astype(float))


def test_where_with_a_bool_tensor_and_a_scalar(rng):
    x = f64(rng, 5)
    out = ts.where(x > 0, x, 0.0)
    np.testing.assert_array_equal(out.numpy(), np.where(x.numpy() > 0, x.numpy(), 0.0))
    assert out.dtype == np.float64
    assert ts.gradcheck(lambda t: ts.where(t.detach() > 0, t, 0.0), x)


# ------------------------------------------------------------------ fused primitives
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_methods(axis, rng):
    x = f64(rng, 3, 4)
    z = x.numpy() - x.numpy().max(axis=axis, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(x.softmax(axis).numpy(), p, rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax(axis).numpy(), np.log(p), rtol=1e-12)
    assert ts.gradcheck(lambda t: t.softmax(axis), x)
    assert ts.gradcheck(lambda t: t.log_softmax(axis), x)


@pytest.mark.parametrize("method", ["sum", "mean", "max", "softmax", "log_softmax", "logsumexp"])
def test_numpy_integer_axis(method, rng):
    x = f64(rng, 2, 3)
    axis = np.int64(1)
    np.testing.assert_array_equal(
        getattr(x, method)(axis=axis).numpy(), getattr(x, method)(axis=1).numpy()
    )
    assert ts.gradcheck(lambda t: getattr(t, method)(axis=axis), x)


# ------------------------------------------------------------------ trusted gradients
# Ops with may_broadcast = False return gradients the backward pass does not check: each
# must come back in its input's shape and dtype, float32 included (an integer count or a
# Python float must not widen it to float64).
UNCHECKED = {
    "neg": lambda x: -x,
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: x.abs(),
    "clip": lambda x: x.clip(0.7, 1.5),
    "clip_low": lambda x: x.clip(0.7),
    "pow_const": lambda x: x**3,
    "sum": lambda x: x.sum(axis=1),
    "mean": lambda x: x.mean(axis=(0, 2)),
    "max": lambda x: x.max(axis=1),
    "max_all": lambda x: x.max(),
    "logsumexp": lambda x: x.logsumexp(axis=(0, 2), keepdims=True),
    "logsumexp_all": lambda x: x.logsumexp(),
    "softmax": lambda x: x.softmax(axis=-1),
    "log_softmax": lambda x: x.log_softmax(axis=1),
    "reshape": lambda x: x.reshape(6, 5),
    "transpose": lambda x: x.transpose(2, 0, 1),
    "getitem": lambda x: x[:, 1:],
    "getitem_fancy": lambda x: x[[0, 0, 1]],
    "cat": lambda x: ts.cat([x, x * 2], axis=1),
    "stack": lambda x: ts.stack([x, x * 2]),
    "matmul_2d": lambda x: x.reshape(6, 5) @ x.reshape(5, 6),
    "matmul_linear": lambda x: x @ x[0].T,
    "matmul_stacked": lambda x: x @ x.transpose(0, 2, 1),
    "cross_entropy": lambda x: ts.functional.cross_entropy(x.reshape(6, 5), [0, 1, 2, 3, 4, 0]),
}


@pytest.mark.parametrize("op", sorted(UNCHECKED))
def test_unchecked_gradients_have_their_inputs_shape_and_dtype(op, rng):
    x = ts.Tensor(rng.uniform(0.5, 2.0, (2, 3, 5)).astype(np.float32), requires_grad=True)
    out = UNCHECKED[op](x)
    fn = out._ctx
    assert not fn.may_broadcast, f"{fn.op_name} is checked by the engine: test it elsewhere"
    g = ts.backend.array_module(out.data).ones(out.shape, dtype=np.float32)
    for parent, grad in zip(fn.parents, fn.backward(g), strict=True):
        if grad is None:
            continue
        assert (tuple(grad.shape), grad.dtype) == (parent.shape, np.float32), fn.op_name


def test_cat_and_stack_send_each_input_its_own_dtype():
    x32 = ts.Tensor(np.ones(2, np.float32), requires_grad=True).tanh()
    x64 = ts.Tensor(np.ones(2), requires_grad=True)
    for joined in (ts.cat([x32, x64]), ts.stack([x32, x64])):
        grads = joined._ctx.backward(np.ones(joined.shape))  # a float64 gradient
        assert [g.dtype for g in grads] == [np.float32, np.float64]


def test_maximum_and_div_spend_nothing_on_a_constant():
    x = ts.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    g = ts.backend.array_module(x.data).ones(2)
    assert ts.maximum(x, 1.5)._ctx.backward(g)[1] is None
    assert ts.maximum(1.5, x)._ctx.backward(g)[0] is None  # the constant on the left
    assert (1.0 / x)._ctx.backward(g)[0] is None


def test_div_gradient_of_a_zero_numerator_over_a_tiny_denominator_is_zero_not_nan():
    # ∂(a/b)/∂b = −a/b² = 0 at a = 0, though 1/b overflows float32 (∞ · 0 would be NaN)
    a = ts.Tensor(np.array([0.0], np.float32), requires_grad=True)
    b = ts.Tensor(np.array([1e-39], np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1/b overflowing is real: a's gradient is ∞
        (a / b).backward(np.ones(1, np.float32))
    assert np_of(b.grad).tolist() == [0.0]
    assert np.isinf(np_of(a.grad)).all()


def test_pow_exponent_gradient_follows_pytorch_at_negative_and_zero_bases():
    # x^y log x has no real value for x < 0 (NaN, not a silent 0); at x = 0 it is 0 for
    # y ≥ 0 and −∞ for y < 0
    x = ts.Tensor(np.array([-2.0, 0.0, 0.0, 3.0]), requires_grad=True)
    y = ts.Tensor(np.array([2.0, 2.0, -1.0, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's forward warns of 0^−1 = ∞ (it is)
        out = x**y
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the backward's masked values warn of nothing
        out.backward(np.ones(4))
    got = np_of(y.grad)
    assert np.isnan(got[0]) and got[1] == 0.0 and got[2] == -np.inf
    assert got[3] == pytest.approx(9 * np.log(3.0))


def test_float16_reductions_over_more_than_65504_elements():
    # a count or a row sum past float16's largest number (65504) would be ∞ there
    n = 70_000
    x = ts.Tensor(np.ones(n, np.float16), requires_grad=True)
    x.mean().backward()
    np.testing.assert_allclose(np_of(x.grad), 1 / n, rtol=1e-2)
    z = ts.Tensor(np.zeros(n, np.float16), requires_grad=True)
    z.max().backward()
    assert z.grad.dtype == np.float16
    np.testing.assert_allclose(np_of(z.grad), 1 / n, rtol=1e-2)  # ties share it equally
    for fn, expected in ((lambda t: t.softmax(), 1 / n), (lambda t: t.log_softmax(), -np.log(n))):
        x = ts.Tensor(np.zeros((1, n), np.float16), requires_grad=True)
        out = fn(x)
        assert out.dtype == np.float16
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-2)
        out.backward(np.ones(out.shape, np.float16))  # Σ g over the row: n, past float16's
        assert x.grad.dtype == np.float16
        np.testing.assert_allclose(np_of(x.grad), 0.0, atol=1e-3)


def test_float16_mean_gradient_is_accurate_for_huge_counts():
    # 1/n as a float16 is a subnormal, off by up to 80 %: the division is made in float32
    for n in (1_000_000, 30_000_000):
        x = ts.Tensor(np.ones(n, np.float16), requires_grad=True)
        x.mean().backward(np.array(1024, np.float16))  # (a loss scale, as in float16 training)
        np.testing.assert_allclose(np_of(x.grad)[:3], 1024 / n, rtol=2e-3)


def test_softmax_of_an_empty_axis_is_empty_as_in_pytorch():
    for fn in (lambda t: t.softmax(), lambda t: t.log_softmax()):
        x = ts.Tensor(np.ones((3, 0)), requires_grad=True)
        out = fn(x)
        assert out.shape == (3, 0)
        out.sum().backward()
        assert x.grad.shape == (3, 0)


def test_pow_gradients_at_zero_to_the_zero_follow_pytorch():
    # 0⁰ = 1: ∂/∂y = xʸ log x is 1 · (−∞) as written, 0 in PyTorch (as at x = 0, y > 0);
    # ∂/∂x = y xʸ⁻¹ is 0 · ∞ as written, 0 in PyTorch
    x = ts.Tensor(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    y = ts.Tensor(np.array([0.0, 1.0, 0.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        (x**y).sum().backward()
    np.testing.assert_array_equal(np_of(y.grad), [0.0, 0.0, np.log(2.0)])
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 1.0, 0.0])


def test_abs_gradient_is_zero_at_zero_and_relu_of_bools_is_a_new_array():
    x = ts.Tensor(np.array([0.0, -0.0, 1.5, -2.0]), requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 0.0, 1.0, -1.0])
    b = ts.Tensor(np.array([True, False]))
    assert not ts.backend.array_module(b.data).shares_memory(b.relu().data, b.data)


# ------------------------------------------------------------------ the large-array paths
def _directional_check(fn, inputs, rng, eps=1e-6) -> None:
    """∇L·v of the engine against (L(x + εv) − L(x − εv)) / 2ε for L = Σ w ⊙ fn(inputs), in
    one random direction v over every input at once: a finite-difference check that stays
    cheap on arrays too large for a full Jacobian (the paths taken only past a size)."""
    out = fn(*inputs)
    w = rng.standard_normal(out.shape)
    (out * ts.Tensor(w)).sum().backward()
    directions = [rng.standard_normal(x.shape) for x in inputs]
    analytic = sum(
        float((np_of(x.grad) * v).sum()) for x, v in zip(inputs, directions, strict=True)
    )
    saved = [x.numpy() for x in inputs]

    def loss_at(sign):
        with ts.no_grad():
            shifted = [
                ts.Tensor(s + sign * eps * v) for s, v in zip(saved, directions, strict=True)
            ]
            return float((fn(*shifted).numpy() * w).sum())

    numeric = (loss_at(1) - loss_at(-1)) / (2 * eps)
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-6 * abs(numeric) + 1e-8)


# 20,480 elements, and rows past 4096 (the row kernels' long-row path): past every size at
# which an op changes path
LARGE, LONG_ROWS = (160, 128), (5, 4100)


@pytest.mark.parametrize("shape", [LARGE, LONG_ROWS], ids=["160x128", "5x4100"])
@pytest.mark.parametrize("own_g", [False, True])
@pytest.mark.parametrize(
    "name",
    ["mul", "square", "softmax", "log_softmax", "relu", "tanh", "sigmoid", "matmul", "layer_norm"],
)
def test_large_array_paths_against_finite_differences(rng, name, own_g, shape, kernels):
    """Each op as it is, and (own_g) followed by a matrix product, whose gradient is the
    op's own to write its result into (the in-place paths); on the NumPy path and with
    the compiled kernels."""
    x, y = f64(rng, *shape), f64(rng, *shape)
    cases = {
        "mul": (lambda a, b: a * b, [x, y]),
        "square": (lambda a: a * a, [x]),
        "softmax": (lambda a: a.softmax(axis=-1), [x]),
        "log_softmax": (lambda a: a.log_softmax(axis=-1), [x]),
        "relu": (lambda a: (a * 1.5).relu(), [x]),
        "tanh": (lambda a: (a * 0.5).tanh(), [x]),
        "sigmoid": (lambda a: a.sigmoid(), [x]),
        "matmul": (lambda a, b: a @ b.T, [x, y]),
        "layer_norm": (
            lambda a, g, b: ts.F.layer_norm(a, g, b),
            [x, f64(rng, shape[1]), f64(rng, shape[1])],
        ),
    }
    fn, inputs = cases[name]
    if own_g:
        op = fn
        product = ts.Tensor(rng.standard_normal((op(*inputs).shape[-1], 64)))
        fn = lambda *a: op(*a) @ product  # noqa: E731
    _directional_check(fn, inputs, rng)
