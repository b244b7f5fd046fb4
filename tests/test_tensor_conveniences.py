"""min, var, std, argmax, squeeze, unsqueeze, split, chunk, clone, astype, zeros_like and
ones_like: each checked against NumPy (split and chunk against PyTorch) and, where it has a
gradient, gradient-checked in float64 here; and what the reductions say about an empty axis."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts


def f64(rng, *shape):
    return ts.Tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 2), False)])
def test_min_and_var_match_numpy_and_gradcheck(rng, axis, keepdims):
    x = f64(rng, 3, 4, 2)
    a = x.numpy()
    np.testing.assert_allclose(x.min(axis, keepdims).numpy(), a.min(axis, keepdims=keepdims))
    np.testing.assert_allclose(
        x.var(axis, keepdims).numpy(), a.var(axis, keepdims=keepdims), rtol=1e-12
    )
    assert ts.gradcheck(lambda x: x.min(axis, keepdims), x)
    assert ts.gradcheck(lambda x: x.var(axis, keepdims), x)


def test_tied_minima_share_the_gradient():
    x = ts.Tensor(np.array([2.0, -1.0, -1.0, 3.0]), requires_grad=True)
    x.min().backward()
    np.testing.assert_allclose(ts.backend.to_numpy(x.grad), [0.0, 0.5, 0.5, 0.0])


def test_var_divides_by_n_as_numpy_does():
    x = ts.Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    assert x.var().item() == pytest.approx(1.25)  # PyTorch's unbiased var: 5/3


@pytest.mark.parametrize("method", ["var", "std"])
@pytest.mark.parametrize("correction", [0, 1, 0.5, 2])
@pytest.mark.parametrize(
    "axis, keepdims", [(None, False), (0, False), (-1, True), ((0, 2), False), ((2, 0), True)]
)
def test_var_and_std_with_a_correction_match_numpy_and_gradcheck(
    rng, method, correction, axis, keepdims
):
    x = f64(rng, 3, 4, 3)
    expected = getattr(np, method)(x.numpy(), axis=axis, keepdims=keepdims, ddof=correction)
    out = getattr(x, method)(axis, keepdims, correction=correction)
    assert out.op == method and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert ts.gradcheck(lambda x: getattr(x, method)(axis, keepdims, correction=correction), x)


@pytest.mark.parametrize("method", ["var", "std"])
def test_var_and_std_of_a_broadcast_sum_gradcheck_both_inputs(rng, method):
    x, y = f64(rng, 2, 3, 4), f64(rng, 3, 1)
    assert ts.gradcheck(lambda x, y: getattr(x + y, method)(axis=(0, 2), correction=1), x, y)


def test_var_by_hand_and_its_gradient_2_x_minus_mean_over_n_minus_1():
    x = ts.Tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    v = x.var(correction=1)
    assert v.item() == pytest.approx(5 / 3)  # PyTorch's default
    v.backward()
    np.testing.assert_allclose(ts.backend.to_numpy(x.grad), [-1.0, -1 / 3, 1 / 3, 1.0])
    assert x.var(ddof=1).item() == pytest.approx(5 / 3)  # NumPy's name for it
    assert x.std(correction=1).item() == pytest.approx(np.sqrt(5 / 3))


def test_std_of_equal_elements_is_0_with_gradient_0_not_nan():
    x = ts.Tensor(np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]]), requires_grad=True)
    s = x.std(axis=1, correction=1)
    np.testing.assert_allclose(s.numpy(), [0.0, 1.0])
    s.sum().backward()
    np.testing.assert_allclose(ts.backend.to_numpy(x.grad), [[0, 0, 0], [-0.5, 0, 0.5]])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("method", ["var", "std"])
def test_var_and_std_keep_a_float_dtype_and_float16_does_not_overflow(method, dtype):
    x = ts.Tensor((np.arange(4096) % 7 * 60.0).astype(dtype), requires_grad=True)
    out = getattr(x, method)(correction=1)
    assert out.dtype == dtype
    expected = getattr(np, method)(np.arange(4096) % 7 * 60.0, ddof=1)
    np.testing.assert_allclose(out.item(), expected, rtol=1e-3)  # (Σ (x − μ)² ≈ 5e6 > 65504)
    out.backward()
    assert x.grad.dtype == dtype and np.isfinite(ts.backend.to_numpy(x.grad)).all()


def test_var_and_std_of_integers_are_float64_as_numpys():
    x = ts.Tensor(np.array([1, 2, 4], np.int32))
    assert x.var().dtype == x.std().dtype == np.float64
    np.testing.assert_allclose(x.std(correction=1).item(), np.std([1, 2, 4], ddof=1))
    small = np.array([100, -3, 7, 120, 1], np.int8)  # worked out in float64 too, not float32
    for method in ("var", "std"):
        out = getattr(ts.Tensor(small), method)()
        assert out.dtype == np.float64
        np.testing.assert_allclose(out.item(), getattr(np, method)(small), rtol=1e-14)


@pytest.mark.parametrize("method", ["var", "std"])
def test_a_correction_that_leaves_no_degrees_of_freedom_is_refused(method):
    x = ts.Tensor(np.ones((2, 1)), requires_grad=True)
    with pytest.raises(
        ValueError,
        match=rf"^{method}: correction=1 leaves n − correction = 0 for the 1 element reduced "
        r"into each result \(tensor of shape \(2, 1\), axis=1\); it must be > 0",
    ):
        getattr(x, method)(axis=1, correction=1)
    with pytest.raises(ValueError, match="n − correction = -1 for the 2 elements"):
        getattr(x, method)(correction=3)
    assert getattr(x, method)(axis=0, correction=1).shape == (1,)  # 2 elements: fine
    row = ts.Tensor(np.arange(3.0).reshape(1, 3))  # over both axes: 1 · 3 elements, not 1
    expected = getattr(np, method)(np.arange(3.0), ddof=2)
    assert getattr(row, method)(axis=(0, 1), correction=2).item() == pytest.approx(expected)


@pytest.mark.parametrize("method", ["var", "std"])
def test_var_and_std_answer_pytorchs_and_numpys_spellings(method):
    x = ts.Tensor(np.arange(6.0).reshape(2, 3))
    fn = getattr(x, method)
    with pytest.raises(
        TypeError,
        match=rf"^{method}: unbiased= is PyTorch's older name: "
        r"write correction=1",
    ):
        fn(unbiased=True)
    with pytest.raises(TypeError, match="write correction=0"):
        fn(unbiased=False)
    with pytest.raises(TypeError, match=rf"^{method}: give correction= or NumPy's ddof=, not both"):
        fn(ddof=1, correction=1)
    with pytest.raises(TypeError, match=rf"^{method}: dim= is PyTorch's name for NumPy's axis="):
        fn(dim=1, correction=1)
    with pytest.raises(TypeError, match=rf"^{method}: correction must be a number"):
        fn(correction="1")
    with pytest.raises(ValueError, match=rf"^{method}: correction must be a finite number"):
        fn(correction=float("nan"))
    np.testing.assert_allclose(
        fn(axis=1, ddof=1).numpy(),
        getattr(np, method)(np.arange(6.0).reshape(2, 3), axis=1, ddof=1),
    )


# ------------------------------------------------------------------ astype
@pytest.mark.parametrize(
    "source, target", [(np.float64, np.float32), (np.float32, np.float64), (np.float32, np.float16)]
)
def test_astype_between_floats_is_recorded_and_casts_the_gradient_back(rng, source, target):
    x = ts.Tensor(rng.standard_normal((2, 3)).astype(source), requires_grad=True)
    y = x.astype(target)
    assert y.dtype == target and y.op == "astype" and y.parents == (x,)
    np.testing.assert_array_equal(y.numpy(), x.numpy().astype(target))
    (y * y).sum().backward()
    assert x.grad.dtype == source
    expected = (2 * x.numpy().astype(target)).astype(source)
    np.testing.assert_array_equal(ts.backend.to_numpy(x.grad), expected)


def test_astype_sends_a_computed_input_its_gradient_in_its_own_dtype():
    """A float16 node read in float32 gets a float16 gradient (as PyTorch's), rounded there:
    not the float32 one the cast was handed."""
    h = ts.Tensor(np.array([1.0, 2.0], np.float16), requires_grad=True)
    y = h * 1.0  # (float16, not a leaf: nothing casts its gradient but the cast itself)
    y.retain_grad()
    weights = np.array([0.1, 0.3], np.float32)
    (y.astype(np.float32) * ts.Tensor(weights)).sum().backward()
    assert y.grad.dtype == h.grad.dtype == np.float16
    np.testing.assert_array_equal(ts.backend.to_numpy(y.grad), weights.astype(np.float16))


def test_astype_gradcheck_through_float32_and_back(rng):
    # float32 rounds each value to ~6e-8: differences over steps of 1e-3 see the slope
    x = f64(rng, 3, 2)
    assert ts.gradcheck(
        lambda x: x.astype(np.float32).tanh().double() * x, x, eps=1e-3, atol=1e-3, rtol=1e-3
    )


def test_float_and_double_and_the_same_dtype_returns_the_tensor_itself(rng):
    x = f64(rng, 2)
    assert x.double() is x and x.astype("float64") is x  # as PyTorch's .double()
    f = x.float()
    assert f.dtype == np.float32 and f.op == "astype" and f.double().dtype == np.float64


@pytest.mark.parametrize("target", [np.int64, np.int8, np.bool_])
def test_astype_to_integers_or_bool_carries_no_gradient(target):
    x = ts.Tensor(np.array([-1.7, 0.0, 2.9]), requires_grad=True)
    y = x.astype(target)
    assert y.dtype == target and not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), np.array([-1.7, 0.0, 2.9]).astype(target))
    back = y.astype(np.float64)  # integers made float again: a constant, no gradient
    assert back.dtype == np.float64 and not back.requires_grad


def test_astype_refuses_what_a_cast_would_garble_and_what_is_not_a_dtype():
    with pytest.raises(ValueError, match="^astype: cannot make a tensor of int64 .* NaN or inf"):
        ts.Tensor(np.array([1.0, np.nan])).astype(np.int64)
    with pytest.raises(OverflowError, match="^astype: .*the value 300.0, and int8 holds"):
        ts.Tensor(np.array([300.0])).astype(np.int8)
    with pytest.raises(TypeError, match="^astype: cannot make a tensor of complex128"):
        ts.Tensor([1.0]).astype(complex)
    with pytest.raises(TypeError, match="^astype: a tensor holds bool, integer or float"):
        ts.Tensor([1.0]).astype(str)
    with pytest.raises(TypeError, match=r"^astype: expected a dtype \(np.float32"):
        ts.Tensor([1.0]).astype("flaot32")


@pytest.mark.parametrize("dtype", [np.float64, "float32", "int64"])
def test_to_a_dtype_says_to_write_astype(dtype):
    x = ts.Tensor([1.0], requires_grad=True)
    with pytest.raises(
        TypeError,
        match=r"to\(.*\): to\(\) moves a tensor to a backend .* "
        r"write x\.astype\(",
    ):
        x.to(dtype)
    assert x.to("numpy").dtype == x.dtype  # a backend still moves it


def test_argmax_is_numpys_without_a_gradient(rng):
    x = f64(rng, 3, 5)
    a = x.numpy()
    flat, rows = x.argmax(), x.argmax(axis=1)
    assert flat.item() == a.argmax() and rows.numpy().tolist() == a.argmax(axis=1).tolist()
    assert rows.dtype.kind == "i" and not rows.requires_grad and rows.op is None
    assert ts.Tensor(2.0).argmax(axis=0).item() == 0
    with pytest.raises(TypeError, match="one int or None"):
        x.argmax(axis=(0, 1))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        x.argmax(axis=2)


@pytest.mark.parametrize(
    "shape, axis, expected",
    [((2, 3), 0, (1, 2, 3)), ((2, 3), 2, (2, 3, 1)), ((2, 3), -1, (2, 3, 1)), ((), 0, (1,))],
)
def test_unsqueeze_places_the_new_axis(shape, axis, expected):
    x = ts.Tensor(np.ones(shape), requires_grad=True)
    y = x.unsqueeze(axis)
    assert y.shape == expected and y.op == "reshape"
    y.sum().backward()
    assert ts.backend.to_numpy(x.grad).shape == shape


def test_squeeze_drops_size_one_axes_all_or_named():
    x = ts.Tensor(np.ones((1, 3, 1, 2)), requires_grad=True)
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(0).shape == (3, 1, 2) and x.squeeze((0, -2)).shape == (3, 2)
    assert ts.gradcheck(lambda x: x.squeeze(2) * 2.0, x)
    with pytest.raises(ValueError, match=r"axis 1 has size 3, not 1"):
        x.squeeze(1)
    with pytest.raises(ValueError, match="unsqueeze: axis 5 is out of range"):
        x.unsqueeze(5)


@pytest.mark.parametrize(
    "values, expected",
    [(np.array([7, 0, 5], np.uint8), 0), (np.array([True, False]), False)],
)
def test_min_of_unsigned_and_boolean_tensors(values, expected):
    x = ts.Tensor(values)
    assert x.min().item() == expected and x.min().dtype == values.dtype
    assert x.max().item() == values.max()


def test_squeeze_names_the_axis_as_it_was_given():
    with pytest.raises(ValueError, match=r"axis -2 has size 3"):
        ts.Tensor(np.ones((2, 3, 1))).squeeze(-2)


def test_argmax_keeps_the_axis_as_numpys(rng):
    x = f64(rng, 3, 5)
    kept = x.argmax(axis=1, keepdims=True)
    assert kept.shape == (3, 1)
    assert kept.numpy().tolist() == x.numpy().argmax(axis=1, keepdims=True).tolist()
    assert x.argmax(keepdims=True).shape == (1, 1)
    with pytest.raises(TypeError, match=r"argmax: keepdims must be True or False, got str 'no'"):
        x.argmax(axis=1, keepdims="no")  # (NumPy would read any string as True)


def test_clone_is_a_recorded_copy_whose_gradient_flows_back(rng):
    x = f64(rng, 2, 3)
    y = x.clone()
    assert y.op == "clone" and y.parents == (x,) and y.requires_grad
    assert y.dtype == x.dtype and y.data is not x.data
    y.data[0, 0] = 100.0  # its own memory, unlike detach()
    assert x.numpy()[0, 0] != 100.0 and x.detach().data is x.data
    assert ts.gradcheck(lambda x: x.clone() * x, x)
    ids = ts.Tensor(np.array([3, 1, 2]))
    copied = ids.clone()  # integers too, without a gradient
    assert copied.dtype == ids.dtype and not copied.requires_grad
    assert copied.numpy().tolist() == [3, 1, 2]


@pytest.mark.parametrize("factory, value", [(ts.zeros_like, 0.0), (ts.ones_like, 1.0)])
def test_zeros_like_and_ones_like_take_shape_dtype_and_backend(factory, value, backend):
    x = ts.Tensor(np.ones((2, 3), np.float64))
    made = factory(x)
    assert made.shape == (2, 3) and made.dtype == np.float64 and made.backend == backend
    assert (made.numpy() == value).all() and not made.requires_grad
    assert factory(ts.Tensor(np.ones(4, np.int32))).dtype == np.int32  # as NumPy's
    assert factory(np.ones((3, 1), np.float32)).shape == (3, 1)  # an array too
    assert factory(x, dtype="float32").dtype == np.float32
    weights = factory(x, requires_grad=True)
    assert weights.requires_grad and weights.is_leaf
    with pytest.raises(TypeError, match="only float tensors can require gradients"):
        factory(ts.Tensor(np.ones(2, np.int64)), requires_grad=True)
    name = factory.__name__
    with pytest.raises(TypeError, match=rf"^{name}: expected a Tensor or an array, got tuple"):
        factory((2, 3))  # (the shape goes to ts.zeros / ts.ones)

    class Table:  # a shape but no dtype, as a pandas DataFrame: not an array
        shape = (2, 3)

    with pytest.raises(TypeError, match=rf"^{name}: expected a Tensor or an array, got Table"):
        factory(Table())


_UNDEFINED_ON_EMPTY = [
    ("mean", "the mean of no numbers is undefined"),
    ("var", "the variance of no numbers is undefined"),
    ("std", "the standard deviation of no numbers is undefined"),
    ("max", "the max of no numbers is undefined"),
    ("min", "the min of no numbers is undefined"),
    ("argmax", "no element can be the largest"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
@pytest.mark.parametrize("method, why", _UNDEFINED_ON_EMPTY)
def test_reducing_an_empty_axis_is_refused_where_the_result_is_undefined(method, why, dtype):
    # integer tensors too (token ids: min, max and argmax take their own path there)
    grad = method != "argmax" and dtype == np.float64
    x = ts.Tensor(np.ones((3, 0), dtype), requires_grad=grad)
    with pytest.raises(
        ValueError, match=rf"^{method}: the tensor of shape \(3, 0\) has size 0 along axis 1: {why}"
    ):
        getattr(x, method)(axis=1)
    with pytest.raises(
        ValueError, match=rf"^{method}: the tensor of shape \(3, 0\) has no elements"
    ):
        getattr(x, method)()
    # reducing an axis that has elements is fine: nothing to take the mean of is not asked
    assert getattr(x, method)(axis=0).shape == (0,)


@pytest.mark.parametrize("method, why", _UNDEFINED_ON_EMPTY[:5])
def test_the_empty_axis_is_found_among_several_and_named_alike_however_given(method, why):
    x = ts.Tensor(np.ones((3, 0)))
    # axis 0 has elements, axis 1 none; a list of axes reads as the tuple, and an axis is
    # named as it was given
    for axis, named in [((0, 1), 1), ((1, 0), 1), ([0, 1], 1), ((0, -1), -1), (-1, -1)]:
        with pytest.raises(ValueError, match=rf"^{method}: .* size 0 along axis {named}: {why}"):
            getattr(x, method)(axis=axis)


def test_the_sum_of_an_empty_axis_is_zero_as_in_numpy_and_pytorch():
    x = ts.Tensor(np.ones((3, 0)), requires_grad=True)
    assert x.sum(axis=1).numpy().tolist() == [0.0, 0.0, 0.0] and x.sum().item() == 0.0
    x.sum().backward()
    assert x.grad.shape == (3, 0)


def test_unsqueeze_without_an_axis_says_it_needs_one():
    with pytest.raises(TypeError, match="unsqueeze: missing axis"):
        ts.Tensor(np.ones(2)).unsqueeze()


# ------------------------------------------------------------------ split and chunk
SPLITS = [  # (shape, how, argument, axis): PyTorch's split by size or sizes, and chunk
    ((7, 3), "split", 3, 0),  # 3, 3, 1
    ((7, 3), "split", 7, 0),  # one piece
    ((7, 3), "split", 10, 0),  # a size past the end: one piece, as in PyTorch
    ((2, 7), "split", [2, 0, 5], -1),  # an empty piece in the list
    ((2, 3, 4), "split", (1, 3), 2),
    ((5, 2), "chunk", 4, 0),  # ⌈5/4⌉ = 2: sizes 2, 2, 1, three pieces not four
    ((6, 2), "chunk", 4, 0),  # 2, 2, 2
    ((2, 6), "chunk", 3, 1),
    ((3, 2), "chunk", 5, 0),  # more chunks than elements: 1, 1, 1
    ((3, 4), "chunk", 2, -2),  # the first axis counted from the end
    ((0, 2), "chunk", 3, 0),  # an empty axis: three empty pieces
    ((0, 2), "split", 2, 0),  # one empty piece
    ((0, 2), "split", 0, 0),  # size 0 is allowed on an empty axis only, as in PyTorch
]


@pytest.mark.numpy_only  # (the reference runs on the host)
@pytest.mark.parametrize("shape, how, arg, axis", SPLITS)
def test_split_and_chunk_match_pytorch_values_and_gradients(shape, how, arg, axis, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape)
    x = ts.Tensor(a, requires_grad=True)
    ours = getattr(x, how)(arg, axis=axis)
    t = torch.tensor(a, requires_grad=True)
    theirs = getattr(t, how)(list(arg) if isinstance(arg, tuple) else arg, dim=axis)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine.numpy(), ref.detach().numpy())
    # every other piece used, each with its own weight: the rest of x gets no gradient
    weights = [rng.standard_normal(p.shape) for p in ours]
    used = range(0, len(ours), 2)
    sum(((ours[i] * weights[i]).sum() for i in used), ts.Tensor(0.0)).backward()
    sum(((theirs[i] * torch.tensor(weights[i])).sum() for i in used), torch.tensor(0.0)).backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_split_gradcheck_when_only_some_pieces_are_used(rng):
    x = f64(rng, 4, 7)
    # the first and last of four pieces of one axis, sizes 2, 1, 3, 1: the middle ones
    # send no gradient; the last piece reused
    assert ts.gradcheck(lambda x: (p := x.split([2, 1, 3, 1], axis=1))[0].tanh().sum() * p[3], x)
    assert ts.gradcheck(lambda x: ts.split(x, 3)[1] * 2.0, x)  # rows 3..4 only (sizes 3, 1)
    assert ts.gradcheck(lambda x: x.chunk(3, axis=-1)[2].exp(), x)  # columns 6.. only
    x.grad = None
    a, _, c = ts.chunk(x, 3, axis=1)  # sizes 3, 3, 1
    (a.sum() + 2 * c.sum()).backward()
    expected = np.zeros((4, 7))
    expected[:, :3], expected[:, 6:] = 1.0, 2.0
    np.testing.assert_array_equal(np.asarray(ts.backend.to_numpy(x.grad)), expected)


def test_split_pieces_are_slices_of_x_in_the_graph(rng):
    x = ts.Tensor(rng.standard_normal((6, 2)), requires_grad=True)
    pieces = x.split(2)
    assert [p.op for p in pieces] == ["getitem"] * 3 and all(p.parents == (x,) for p in pieces)
    assert ts.cat(list(pieces)).numpy().tolist() == x.numpy().tolist()
    assert ts.split(x, [6])[0].shape == (6, 2) and len(x.chunk(1)) == 1


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: x.split(0), ValueError, r"^split: a piece's size must be at least 1, got 0"),
        (lambda x: x.split(-2), ValueError, r"^split: a piece's size must be at least 1"),
        (
            lambda x: x.split([2, 2]),
            ValueError,
            r"^split: sizes \[2, 2\] must be >= 0 and add up "
            r"to 6, the length of axis 0 of a tensor of shape \(6, 2\)",
        ),
        (lambda x: x.split([7, -1]), ValueError, r"^split: sizes \[7, -1\] must be >= 0"),
        (lambda x: x.split(1.5), TypeError, r"^split: sizes must be an int .* or a list"),
        (lambda x: x.split([1.0, 5]), TypeError, r"^split: each size must be an int >= 0"),
        (lambda x: x.split(True), TypeError, r"^split: sizes must be an int"),
        (lambda x: x.split(2, axis=2), ValueError, r"^split: axis 2 is out of range .*\(6, 2\)"),
        (lambda x: x.split(2, dim=1), TypeError, r"^split: dim= is PyTorch's name .* axis=1"),
        (lambda x: x.chunk(0), ValueError, r"^chunk: chunks must be at least 1"),
        (lambda x: x.chunk(2.0), TypeError, r"^chunk: chunks must be an int >= 1"),
        (lambda x: x.chunk(2, axis=-3), ValueError, r"^chunk: axis -3 is out of range"),
        (lambda x: ts.split(x.numpy(), 2), TypeError, r"^split: expected a Tensor, got ndarray"),
        (lambda x: ts.chunk([1, 2], 2), TypeError, r"^chunk: expected a Tensor, got list"),
        (lambda x: ts.Tensor(1.0).split(1), ValueError, r"^split: axis 0 is out of range .*\(\)"),
    ],
)
def test_split_and_chunk_refuse_bad_arguments_naming_them(call, error, match):
    with pytest.raises(error, match=match):
        call(ts.Tensor(np.ones((6, 2))))
