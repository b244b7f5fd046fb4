"""Bad input gets the documented exception, with a message that names the op and the
shapes involved (never a bare NumPy traceback).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of
from tinygrad_seq.tensor import apply


def names(*parts: object) -> str:
    """A regex matching a message that mentions every part, in order."""
    return ".*".join(re.escape(str(p)) for p in parts)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((2, 3), (4, 5)),
        ((2, 3), (4,)),
        ((4,), (2, 3)),
        ((2, 3, 4), (2, 5, 3)),
        # (..., n, k) @ (k, m) runs as one flattened product, whose reshape let these
        # through with a wrong shape: m = 0, and an empty left operand
        ((2, 3, 4), (2, 0)),
        ((2, 0, 2), (1, 1)),
    ],
)
def test_matmul_inner_axis_mismatch(shape_a, shape_b, rng):
    a, b = f64(rng, *shape_a), f64(rng, *shape_b)
    with pytest.raises(ValueError, match=names("matmul", shape_a, shape_b)):
        a @ b


def test_matmul_batch_axes_mismatch(rng):
    a, b = f64(rng, 2, 3, 4), f64(rng, 3, 4, 5)
    with pytest.raises(ValueError, match=names("matmul", (2, 3, 4), (3, 4, 5), "batch")):
        a @ b


def test_matmul_of_a_0d_tensor(rng):
    with pytest.raises(ValueError, match=names("matmul", (), (2, 3))):
        ts.Tensor(np.float64(2.0)) @ f64(rng, 2, 3)


@pytest.mark.parametrize(
    "op, fn",
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a.abs() ** b),
        ("maximum", ts.maximum),
    ],
)
def test_broadcast_mismatch_names_both_shapes(op, fn, rng):
    a, b = f64(rng, 2, 3), f64(rng, 4, 2)
    with pytest.raises(ValueError, match=names(op, "broadcast", (2, 3), (4, 2))):
        fn(a, b)


def test_broadcast_mismatch_with_a_numpy_operand(rng):
    a = f64(rng, 2, 3)
    with pytest.raises(ValueError, match=names("mul", (2, 3), (3, 2))):
        a * np.ones((3, 2))
    with pytest.raises(ValueError, match=names("add", (3, 2), (2, 3))):
        np.ones((3, 2)) + a


class _ExpInPlace(ts.Function):
    """exp written into its input's buffer: NumPy refuses an integer one."""

    op_name = "exp_in_place"

    def forward(self, x):
        return np.exp(x, out=x)

    def backward(self, g):  # pragma: no cover - the forward fails
        return (g,)


def test_a_numpy_type_error_is_reported_with_the_op_and_its_cause():
    # NumPy raises UFuncTypeError subclasses whose constructors take other arguments: the
    # message must still name the op, the shapes and NumPy's reason
    with pytest.raises(TypeError, match=names("exp_in_place", (2,), "Cannot cast")):
        apply(_ExpInPlace(), ts.Tensor(np.array([1, 2])))
    with pytest.raises(TypeError, match="expected numbers"):
        ts.Tensor(np.ones(3)) + "s"


class _ProjectionWithABug(ts.Function):
    """x W, whose forward multiplies the wrong way round."""

    def forward(self, x, W):
        self.saved = (x, W)
        return W @ x  # the bug: the traceback must reach this line

    def backward(self, g):  # pragma: no cover - the forward fails
        x, W = self.saved
        return (g @ W.T, x.T @ g)


def test_an_error_in_a_users_forward_keeps_the_traceback_down_to_its_line(rng):
    import traceback

    x, W = f64(rng, 2, 3), f64(rng, 3, 5)
    with pytest.raises(ValueError, match=names("_ProjectionWithABug on shapes", (2, 3), (3, 5))):
        _ProjectionWithABug.apply(x, W)  # the engine's message, naming the op and shapes
    try:
        _ProjectionWithABug.apply(x, W)
    except ValueError as e:
        frames = traceback.extract_tb(e.__traceback__)
    # (the array library's own frames may follow, as the CuPy stand-in's do)
    assert any(
        frame.name == "forward"
        and frame.line == "return W @ x  # the bug: the traceback must reach this line"
        for frame in frames
    )
    # the engine's own ops keep their short traceback: NumPy's internals are not the user's
    with pytest.raises(ValueError) as caught:
        x @ x
    assert traceback.extract_tb(caught.value.__traceback__)[-1].filename.endswith("tensor.py")


@pytest.mark.parametrize("data", ["abc", ["a", "b"], [b"x"]])
def test_a_tensor_of_text_is_a_type_error(data):
    with pytest.raises(TypeError, match="expected numbers"):
        ts.Tensor(data)


@pytest.mark.parametrize("make", [ts.zeros, ts.ones, ts.randn])
def test_a_shape_of_floats_is_a_type_error(make):
    with pytest.raises(TypeError, match=r"integers, got \(2.7,\)"):
        make(2.7)


def test_where_errors(rng):
    a = f64(rng, 2, 3)
    with pytest.raises(ValueError, match=names("where", (4,), (2, 3))):
        ts.where(np.ones(4, bool), a, 0.0)
    with pytest.raises(TypeError, match=names("where", "boolean", "float64")):
        ts.where(np.ones((2, 3)), a, 0.0)


def test_reshape_to_an_impossible_shape(rng):
    a = f64(rng, 2, 3)
    # (-2, -3), (-1, -6), (-1, -2): sizes below -1 (NumPy spoke of "one unknown dimension");
    # 6 % -2 == 0 in Python, so (-1, -2) passed the size check by itself
    for shape in [(4, 2), (-1, 4), (-1, -1), (7,), (-2, -3), (-1, -6), (-1, -2)]:
        with pytest.raises(ValueError, match=names("reshape", (2, 3), shape)):
            a.reshape(*shape)


@pytest.mark.parametrize(
    "method, axis",
    [("sum", 2), ("mean", (0, 3)), ("max", -3), ("softmax", 2), ("log_softmax", -5)],
)
def test_bad_axis(method, axis, rng):
    a = f64(rng, 2, 3)
    with pytest.raises(ValueError, match=names(method, "axis", "(2, 3)")):
        getattr(a, method)(axis=axis)


def test_duplicate_axis(rng):
    with pytest.raises(ValueError, match=names("sum", "axis (0, 0)", "twice", (2, 3))):
        f64(rng, 2, 3).sum(axis=(0, 0))
    with pytest.raises(ValueError, match=names("mean", "axis (0, -2)", "twice", (2, 3))):
        f64(rng, 2, 3).mean(axis=(0, -2))  # the same axis, counted from each end


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda: ts.Tensor([1.0], requires_grad="no"), "Tensor: requires_grad"),
        (lambda: ts.Tensor([1.0]).sum(keepdims="no"), "sum: keepdims"),
        (lambda: ts.Tensor([1.0, 2.0]).var(keepdims="no"), "var: keepdims"),
        (lambda: ts.Tensor([1.0, 2.0]).std(keepdims="no"), "std: keepdims"),
        (lambda: (ts.Tensor([1.0], requires_grad=True) * 2).sum().backward(retain_graph="yes"),
         "backward: retain_graph"),
        (lambda: ts.F.dropout(ts.Tensor([1.0]), 0.5, training="no"), "dropout: training"),
        (lambda: ts.nn.Linear(2, 2, bias="no"), "Linear: bias"),
        (lambda: ts.nn.GRUCell(2, 2, bias="no"), "GRUCell: bias"),
        (lambda: ts.nn.MultiHeadAttention(4, 2, bias="no"), "MultiHeadAttention: bias"),
        (lambda: ts.nn.Linear(2, 2).train("no"), "Linear.train: mode"),
    ],
)  # fmt: skip
def test_a_flag_given_a_string_is_a_type_error(call, what):
    # "no" would read as True
    with pytest.raises(TypeError, match=names(what, "True or False, got str")):
        call()


def test_flags_take_bools_numpy_bools_and_0_or_1():
    assert ts.Tensor([1.0], requires_grad=np.bool_(True)).requires_grad is True
    assert ts.Tensor([1.0]).sum(keepdims=1).shape == (1,)
    assert ts.nn.Linear(2, 2, bias=0).b is None
    assert ts.nn.Linear(2, 2).train(np.False_).training is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: ts.Tensor([1j, 2.0]),
        lambda: ts.Tensor(np.array([1 + 2j])),
        lambda: ts.Tensor(np.array([1 + 0j]), dtype=np.float32),  # dropped .imag silently
        lambda: ts.Tensor([1.0], dtype=np.complex64),
        lambda: ts.Tensor([1.0, 2.0], requires_grad=True) * np.array([1j, 1j]),
        lambda: (ts.Tensor([1.0, 2.0], requires_grad=True) * 2).backward(np.array([1j, 1j])),
        lambda: (ts.Tensor([1.0, 2.0], requires_grad=True) * 2).backward([1j, 1]),
        lambda: ts.Tensor([1.0, 2.0], requires_grad=True) * 1j,  # a number operand
        lambda: ts.Tensor([1.0, 2.0], requires_grad=True) + np.complex64(1j),
        lambda: ts.Tensor([1.0, 2.0], requires_grad=True) ** 1j,
        lambda: ts.maximum(ts.Tensor([1.0, 2.0], requires_grad=True), 1j),
        lambda: ts.where(np.array([True, False]), ts.Tensor([1.0, 2.0]), 1j),
    ],
)
def test_complex_numbers_are_refused(make):
    # no op defines a complex gradient: w * 1j summed gave w.grad = 0, silently
    with pytest.raises(TypeError, match="not complex.*real, .imag or abs"):
        make()


def test_converting_an_array_to_a_dtype_that_cannot_hold_it():
    # as for lists: a cast would wrap around (300 as uint8 is 44) or make up a number
    with pytest.raises(
        OverflowError, match=names("uint8", "array of int64", "-1 to 300", "0 to 255")
    ):
        ts.Tensor(np.array([300, -1]), dtype=np.uint8)
    with pytest.raises(OverflowError, match=names("int64", "9.22")):
        ts.Tensor(np.array([2.0**63]), dtype=np.int64)
    with pytest.raises(ValueError, match=names("int64", "NaN or inf")):
        ts.Tensor([float("nan")], dtype=np.int64)
    with pytest.raises(ValueError, match=names("int32", "NaN or inf")):
        ts.Tensor(np.array([1.0, np.inf]), dtype=np.int32)
    assert ts.Tensor(np.array([3.5], np.longdouble), dtype=np.int8).numpy().tolist() == [3]
    with pytest.raises(OverflowError, match=names("int8", "300")):
        ts.Tensor(np.array([300], np.longdouble), dtype=np.int8)
    # floats are truncated toward 0, as NumPy and PyTorch do: -0.5 fits uint8
    assert ts.Tensor(np.array([-0.5, 255.9]), dtype=np.uint8).numpy().tolist() == [0, 255]
    assert ts.Tensor([1.5, -2.7], dtype=np.int64).numpy().tolist() == [1, -2]


@pytest.mark.parametrize("axes", [(0, 0), (0, 2), (2, 1), (0, 1, 2), (1,)])
def test_transpose_bad_permutation(axes, rng):
    a = f64(rng, 2, 3)
    with pytest.raises(ValueError, match=names("transpose", axes, "permutation", (2, 3))):
        a.transpose(*axes)


def test_cat_and_stack_errors(rng):
    a, b = f64(rng, 2, 3), f64(rng, 2, 4)
    with pytest.raises(ValueError, match=names("cat", "axis 0", (2, 3), (2, 4))):
        ts.cat([a, b], axis=0)
    with pytest.raises(ValueError, match=names("cat", "axis 2")):
        ts.cat([a, a], axis=2)
    with pytest.raises(ValueError, match=names("stack", (2, 3), (2, 4))):
        ts.stack([a, b])
    with pytest.raises(ValueError, match=names("stack", "axis 3")):
        ts.stack([a, a], axis=3)
    with pytest.raises(ValueError, match="cat: needs at least one tensor"):
        ts.cat([])
    for make in (ts.cat, ts.stack):  # list(a) would split a into its rows, silently
        for single in (a, a.numpy()):
            with pytest.raises(
                TypeError, match=names(make.__name__, "single", "wrap it in a list")
            ):
                make(single)
    with pytest.raises(TypeError, match=names("stack", "sequence of tensors", "int")):
        ts.stack(3)


def test_index_out_of_range(rng):
    a = f64(rng, 2, 3)
    with pytest.raises(IndexError, match=names("getitem", (2, 3), "5")):
        a[5]
    with pytest.raises(IndexError, match=names("getitem", (2, 3))):
        a[0, 0, 0]
    with pytest.raises(IndexError, match=names("getitem", (2, 3), "7")):
        a[np.array([0, 7])]


# ------------------------------------------------------------------ backward
def test_backward_on_a_non_scalar_without_grad(rng):
    y = f64(rng, 2, 3) * 2
    with pytest.raises(ValueError, match=names("backward", "single-element", (2, 3))):
        y.backward()


def test_backward_grad_of_the_wrong_shape(rng):
    y = f64(rng, 2, 3) * 2
    with pytest.raises(ValueError, match=names("backward", (3,), (2, 3))):
        y.backward(np.ones(3))
    with pytest.raises(ValueError, match=names("backward", (3, 2), (2, 3))):
        y.backward(ts.Tensor(np.ones((3, 2))))


def test_backward_on_a_tensor_without_grad(rng):
    with pytest.raises(RuntimeError, match="does not require grad"):
        f64(rng, 3, requires_grad=False).sum().backward()


class WrongShapeGradient(ts.Function):
    """y = 2x whose backward forgets to un-reduce: returns a gradient of the wrong shape."""

    __slots__ = ()
    op_name = "wrong_shape"

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        return (g.sum(axis=0),)


def test_a_function_returning_a_wrong_shape_gradient_is_caught(rng):
    x = f64(rng, 3, 4)
    y = apply(WrongShapeGradient(), x)
    with pytest.raises(RuntimeError, match=names("wrong_shape", (4,), (3, 4))):
        y.sum().backward()


class TooBigGradient(ts.Function):
    """y = 2x whose backward returns a (4, 5) gradient for a (4,) input."""

    __slots__ = ()
    op_name = "too_big"

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        return (np.ones((4, 5)),)


def test_the_wrong_shape_error_names_the_shape_backward_returned(rng):
    # not the (5,) left after the engine summed the leading axis away, trying to fit it
    y = apply(TooBigGradient(), f64(rng, 4))
    with pytest.raises(RuntimeError, match=r"gradient of shape \(4, 5\) for an input of shape"):
        y.sum().backward()


class ForgetsAGradient(ts.Function):
    """x · y whose backward returns the gradient of x only."""

    __slots__ = ()
    op_name = "forgetful_mul"

    def forward(self, x, y):
        self.saved = (x, y)
        return x * y

    def backward(self, g):
        x, y = self.saved
        return (g * y,)  # y's gradient forgotten: zip would have dropped it silently


class ReturnsABareArray(ts.Function):
    """y = 2x whose backward returns an array, not a tuple of one."""

    __slots__ = ()
    op_name = "bare"

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        return 2 * g


def test_a_function_must_return_one_gradient_per_input(rng):
    x, y = f64(rng, 3), f64(rng, 3)
    with pytest.raises(TypeError, match=names("forgetful_mul", "1 gradients", "2 input")):
        apply(ForgetsAGradient(), x, y).sum().backward()
    assert x.grad is None and y.grad is None  # nothing half-accumulated
    with pytest.raises(TypeError, match=names("bare", "type ndarray", "1 input", "(g * 2,)")):
        apply(ReturnsABareArray(), x).sum().backward()


class Twice(ts.Function):
    """y = 2x."""

    __slots__ = ()
    op_name = "twice"

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        return (2 * g,)


class TwicePlus(Twice):
    """y = 2x + z, building its backward on Twice's (which returns one gradient of two)."""

    __slots__ = ()
    op_name = "twice_plus"

    def forward(self, x, z):
        return super().forward(x) + z

    def backward(self, g):
        return (*super().backward(g), g)


class ForgetfulMixin:
    def backward(self, g):
        return (g,)  # forgets the second input


class ForgetsInAMixin(ForgetfulMixin, ts.Function):
    op_name = "mixin_add"

    def forward(self, x, y):
        return x + y


class StaticBackward(ts.Function):
    op_name = "static"

    def forward(self, x):
        return x.copy()

    @staticmethod
    def backward(g):
        return (g,)


def test_the_gradient_count_check_leaves_correct_functions_alone(rng):
    x, z = f64(rng, 3), f64(rng, 3)
    apply(TwicePlus(), x, z).sum().backward()  # the inner super().backward is not checked
    np.testing.assert_array_equal(np_of(x.grad), 2.0)
    np.testing.assert_array_equal(np_of(z.grad), 1.0)
    assert Twice().backward(np.ones(2))[0].tolist() == [2.0, 2.0]  # by hand, outside a graph
    apply(StaticBackward(), x).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), 3.0)
    with pytest.raises(TypeError, match=names("mixin_add", "1 gradients", "2 input")):
        apply(ForgetsInAMixin(), x, z).sum().backward()


class ForgetsToSave(ts.Function):
    """x² whose forward forgets `self.saved = x`."""

    op_name = "forgets_to_save"

    def forward(self, x):
        return x * x

    def backward(self, g):
        return (2 * g * self.saved,)


def test_a_backward_that_reads_saved_which_forward_never_set_says_so(rng):
    x = f64(rng, 3)
    with pytest.raises(AttributeError, match=names("forgets_to_save.backward", "did not set")):
        ForgetsToSave.apply(x).sum().backward()


class GradientOfType(ts.Function):
    """2x whose backward returns its gradient as whatever `make` makes of the array."""

    op_name = "gradient_of_type"

    def __init__(self, make):
        self.make = make

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        return (self.make(2 * g),)


@pytest.mark.parametrize(
    "make, kind, hint",
    [
        (lambda g: float(g.sum()), "float", "an array"),
        (lambda g: g.tolist(), "list", "an array"),
        (ts.Tensor, "Tensor", "its array, .data"),
    ],
    ids=["a number", "a list", "a Tensor"],
)
@pytest.mark.parametrize("through", ["leaf", "node"])
def test_a_gradient_that_is_not_an_array_is_refused(rng, make, kind, hint, through):
    # a number or list failed on a missing .shape; a Tensor passed into a leaf's .grad and
    # failed inside NumPy on the way to a computed input
    x = f64(rng, 3)
    y = GradientOfType(make).apply(x if through == "leaf" else x * 1.0)
    with pytest.raises(TypeError, match=names("gradient_of_type", f"a {kind} as the", hint)):
        (y * 3.0).sum().backward()


def test_numpy_scalars_and_none_are_gradients(rng):
    # 0-d arithmetic gives NumPy scalars, and None means no gradient: both still pass
    s, x = ts.Tensor(np.float64(2.0), requires_grad=True), f64(rng, 3)
    GradientOfType(lambda g: np.float64(g)).apply(s).backward()
    assert float(np_of(s.grad)) == 2.0
    GradientOfType(lambda g: None).apply(x).sum().backward()
    assert x.grad is None


def test_a_function_without_backward_says_so(rng):
    class ForwardOnly(ts.Function):
        def forward(self, x):
            return x.copy()

    with pytest.raises(NotImplementedError, match=names("ForwardOnly defines no backward")):
        ForwardOnly.apply(f64(rng, 3)).sum().backward()


class TwoOutputs(ts.Function):
    """x and 2x as two outputs, as a PyTorch Function may return them."""

    op_name = "two_outputs"

    def forward(self, x):
        return x, 2 * x

    def backward(self, g):
        return (g,)


@pytest.mark.parametrize("how", ["instance", "class"])
def test_a_forward_that_returns_a_tuple_is_refused(rng, how):
    # NumPy stacked the two into one (2, 3) array, whose gradient then reached x summed
    # over the stacked axis: x.grad was [2, 2, 2] for (x + 2x).sum(), silently
    x = f64(rng, 3)
    with pytest.raises(TypeError, match=names("two_outputs.forward", "tuple of 2", "one output")):
        TwoOutputs().apply(x) if how == "instance" else TwoOutputs.apply(x)


# ------------------------------------------------------------------ dtypes and data
@pytest.mark.parametrize(
    "data, dtype",
    [(np.arange(3), "int64"), (np.arange(3, dtype=np.int32), "int32"), ([1, 2], "int64")],
)
def test_requires_grad_on_integer_data(data, dtype):
    with pytest.raises(TypeError, match=names("requires_grad", dtype)):
        ts.Tensor(data, requires_grad=True)


def test_integer_zeros_cannot_require_grad():
    with pytest.raises(TypeError, match="int"):
        ts.zeros(2, dtype=np.int64, requires_grad=True)


# ------------------------------------------------------------------ functional
def test_cross_entropy_target_out_of_range(rng):
    logits = f64(rng, 2, 3)
    with pytest.raises(ValueError, match=names("cross_entropy", "[0, 3)", (2, 3), "3")):
        ts.F.cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match=names("cross_entropy", "[0, 3)", (2, 3), "-1")):
        ts.F.cross_entropy(logits, np.array([-1, 0]))
    logits3 = f64(rng, 2, 3, 4)
    with pytest.raises(ValueError, match=names("cross_entropy", "[0, 4)", (2, 3, 4))):
        ts.F.cross_entropy(logits3, np.array([[0, 1, 4], [0, 0, 0]]))


def test_cross_entropy_shape_and_dtype_errors(rng):
    logits = f64(rng, 2, 3)
    with pytest.raises(ValueError, match=names("cross_entropy", (2, 3), (3,))):
        ts.F.cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=names("cross_entropy", (4,), (4,))):
        ts.F.cross_entropy(f64(rng, 4), np.array([0, 1, 2, 3]))
    with pytest.raises(TypeError, match=names("cross_entropy", "integers", "float64")):
        ts.F.cross_entropy(logits, np.array([0.0, 1.0]))
    # no classes at all (V = 0): named, not NumPy's max over an empty axis or a reshape's
    for shape in ((0, 0), (2, 0, 0)):
        with pytest.raises(ValueError, match=names("cross_entropy", shape, "no classes")):
            ts.F.cross_entropy(f64(rng, *shape), np.zeros(shape[:-1], np.int64))


def test_bad_ignore_index_ragged_ids_and_layer_norm_eps_are_named(rng):
    logits = f64(rng, 2, 3)
    for bad in (1.5, True, "0"):  # 1.5 ignored nothing; True was read as class 1
        with pytest.raises(TypeError, match=names("cross_entropy: ignore_index", "integer")):
            ts.F.cross_entropy(logits, np.array([0, 1]), ignore_index=bad)
    for ok in (np.int64(1), np.array(1)):  # NumPy integers and 0-d integer arrays
        assert np.isfinite(ts.F.cross_entropy(logits, [0, 1], ignore_index=ok).item())
    with pytest.raises(ValueError, match=names("embedding", "different lengths", "pad")):
        ts.nn.Embedding(5, 2)([[1, 2], [3]])
    with pytest.raises(ValueError, match=names("cross_entropy", "different lengths")):
        ts.F.cross_entropy(f64(rng, 2, 2, 3), [[1], [2, 0]])
    bad_eps = ((-1.0, ValueError), (float("nan"), ValueError), ("1e-5", TypeError))
    for bad, kind in (*bad_eps, (np.True_, TypeError)):
        with pytest.raises(kind, match=names("LayerNorm: eps")):
            ts.nn.LayerNorm(4, eps=bad)
        with pytest.raises(kind, match=names("layer_norm: eps")):
            ts.F.layer_norm(f64(rng, 2, 4), ts.Tensor(np.ones(4)), ts.Tensor(np.zeros(4)), bad)
    assert ts.nn.LayerNorm(4, eps=0).eps == 0.0


def test_an_integer_initial_state_is_refused_like_integer_inputs(rng):
    # an int64 h0 turned a float32 model's outputs into float64
    xs = ts.Tensor(rng.standard_normal((2, 3, 4)), dtype="float32")
    h0 = ts.Tensor(np.zeros((2, 5), np.int64))
    for model, state in (
        (ts.nn.RNN(4, 5), h0),
        (ts.nn.GRU(4, 5), h0),
        (ts.nn.LSTM(4, 5), (h0, ts.Tensor(np.zeros((2, 5), np.float32)))),
    ):
        with pytest.raises(TypeError, match=names("expected a float h0", "int64")):
            model(xs, state)


# ------------------------------------------------------------------ backends
def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match=names("unknown backend", "jax", "numpy", "cupy")):
        ts.backend.set_backend("jax")
    with pytest.raises(ValueError, match="unknown backend"):
        ts.Tensor([1.0]).to("tpu")


def test_cupy_where_unavailable_says_why():
    if "cupy" in ts.backend.available():
        pytest.skip("CuPy works on this machine")
    before = ts.backend.get_backend()
    with pytest.raises(RuntimeError, match="(not installed|no GPU)"):
        ts.backend.set_backend("cupy")
    with pytest.raises(RuntimeError, match="cupy"):
        ts.Tensor([1.0]).to("cupy")
    assert ts.backend.get_backend() == before


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ts.manual_seed("a"), (TypeError, "manual_seed: seed must be an int >= 0, got")),
        (lambda: ts.manual_seed(-1), (ValueError, "manual_seed: seed must be an int >= 0, got -1")),
        (lambda: ts.arange("5"), (TypeError, "arange: stop must be a number, got str '5'")),
        (lambda: ts.nn.MLP(5), (TypeError, "MLP: sizes must be a list of layer widths")),
        (lambda: ts.gradcheck(3, ts.Tensor([1.0], requires_grad=True)),
         (TypeError, "gradcheck: the first argument is the function to check, got int")),
        (lambda: ts.Tensor([1.0]) * __import__("decimal").Decimal("0.5"),
         (TypeError, "cannot combine a tensor with a Decimal (Decimal('0.5')): convert it")),
        (lambda: ts.Tensor([__import__("fractions").Fraction(1, 2), 1]),
         (TypeError, "cannot make a tensor from list holding Fraction")),
        (lambda: ts.Function.apply(ts.Tensor([1.0])),
         (NotImplementedError, "Function defines no forward")),
    ],
)  # fmt: skip
def test_arguments_of_the_wrong_kind_are_named(call, message):
    kind, text = message
    with pytest.raises(kind, match=re.escape(text)):
        call()


def test_a_hand_set_grad_of_the_wrong_shape_or_dtype_is_named(rng):
    w = ts.Tensor(rng.standard_normal(3), requires_grad=True)
    for loss in (lambda: (w * 2).sum(), lambda: (w @ np.ones((3, 2))).sum()):
        w.grad = np.ones(2)  # backward adds into it
        with pytest.raises(ValueError, match=names(".grad has shape (2,)", "leaf has shape (3,)")):
            loss().backward()
        w.grad = np.zeros(3, dtype=np.int64)
        with pytest.raises(TypeError, match=names(".grad holds int64 values", "float array")):
            loss().backward()
    scalar = ts.Tensor(np.float64(2.0), requires_grad=True)
    scalar.grad = np.float64(1.0)  # a NumPy scalar as a 0-d leaf's .grad, added by index
    scalar[()].backward()
    assert float(scalar.grad) == 2.0
    table = ts.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    ids = np.array([1, 1, 2])
    for bad, error in ((np.zeros((4, 2), np.int64), TypeError), (np.zeros((5, 2)), ValueError)):
        table.grad = bad  # added into by index: NumPy would cast or index silently
        with pytest.raises(error, match=r"a leaf's \.grad"):
            (ts.F.embedding(ids, table) * 0.5).sum().backward()


def test_gradcheck_of_a_comparison_says_it_has_no_gradient(rng):
    x = ts.Tensor(rng.standard_normal(2), requires_grad=True)
    with pytest.raises(ValueError, match="gradcheck: fn returned a bool tensor.*no gradient"):
        ts.gradcheck(lambda a: a > 0, x)


def test_comparisons_with_complex_numbers_are_refused():
    # NumPy orders complex numbers by their real part: x < 1j was False, silently
    x = ts.Tensor([1.0, 2.0])
    for compare in (lambda: x < 1j, lambda: x == np.array([1j, 2]), lambda: x >= [1j, 2]):
        with pytest.raises(TypeError, match="no comparison with complex numbers"):
            compare()
    assert (x < 1.5).numpy().tolist() == [True, False]


def test_backward_of_an_integer_result_says_integers_carry_no_gradient():
    x = ts.Tensor(np.ones(3), requires_grad=True)
    for integer in ((x > 0).sum(), x.argmax()):
        with pytest.raises(RuntimeError, match=r"of (int64|bool), which carries no gradient"):
            integer.backward()
    with pytest.raises(RuntimeError, match="no input of the computation had requires_grad"):
        ts.Tensor(np.ones(3)).sum().backward()  # a float result without a graph: the other
