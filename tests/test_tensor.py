"""The Tensor API of tinygrad_seq/tensor.py: attributes, dtype rules, operators with NumPy
operands, comparisons, constructors and leaving the engine (.numpy, .item, .to, .detach).
"""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of


# ------------------------------------------------------------------ attributes
def test_attributes_of_a_leaf(rng):
    data = rng.standard_normal((2, 3))
    x = ts.Tensor(data, requires_grad=True, name="x")
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == np.float64
    assert x.op is None and x.parents == () and x.grad is None
    assert x.requires_grad and x.name == "x" and x.is_leaf
    assert isinstance(x.data, ts.backend.module(ts.backend.get_backend()).ndarray)


def test_op_and_parents_in_argument_order(rng):
    a, b = f64(rng, 2, 3), f64(rng, 3)
    y = b - a
    assert y.op == "sub" and isinstance(y.parents, tuple)
    assert y.parents[0] is b and y.parents[1] is a
    z = ts.where(np.ones((2, 3), bool), a, b)
    assert z.op == "where" and z.parents == (a, b)
    w = 2.0 * a
    assert w.op == "mul" and w.parents[1] is a and w.parents[0].requires_grad is False
    assert (a @ b.reshape(3, 1)).parents[0] is a


def test_names_and_scopes(rng):
    x = f64(rng, 2)
    y = x.tanh()
    assert y.name is None
    y.name = "h_t"
    assert y.name == "h_t"
    with ts.scope("encoder"), ts.scope("t=3"):
        z = y * 2
    assert z.scope == "encoder/t=3" and y.scope == ""
    with pytest.raises(TypeError, match="Tensor: name must be a string or None, got int"):
        ts.Tensor([1.0], name=7)  # (the renderer failed on it much later)


def test_a_list_of_one_backends_elements(backend):
    a = ts.Tensor([1.0, 2.0])
    parts = [a.data[0], a.data[1]]  # NumPy scalars, or 0-d CuPy arrays
    if backend == "numpy":
        np.testing.assert_array_equal(ts.Tensor(parts).numpy(), [1.0, 2.0])
    else:  # NumPy may not read GPU arrays: the error says what to do
        with pytest.raises(TypeError, match="join them with ts.stack or cupy.stack"):
            ts.Tensor(parts)


def test_scope_gives_its_full_name_and_restores_the_outer_one(rng):
    x = f64(rng, 2)
    with ts.scope("encoder") as outer:
        assert outer == "encoder"
        with pytest.raises(RuntimeError), ts.scope("t=0") as inner:
            assert inner == "encoder/t=0"
            raise RuntimeError("an error inside a step")
        assert (x * 2).scope == "encoder"  # restored after the error
    assert (x * 2).scope == ""
    with pytest.raises(ValueError, match="without '/'"):
        ts.scope("a/b")


def test_scope_object_entered_again_inside_itself_and_as_a_decorator(rng):
    x = f64(rng, 2)
    step = ts.scope("step")
    with step:
        with step:  # one object, entered twice: each exit restores its own entry's scope
            assert (x * 2).scope == "step/step"
        assert (x * 2).scope == "step"
    assert (x * 2).scope == ""

    @ts.scope("layer")
    def depth(n: int) -> list[str]:  # recursive: the decorator enters the same object
        here = [(x * 2).scope]
        return here + depth(n - 1) if n else here

    assert depth(2) == ["layer", "layer/layer", "layer/layer/layer"]
    assert (x * 2).scope == ""


def test_item_and_numpy_copy(rng):
    x = ts.Tensor(np.array([[2.5]]))
    assert x.item() == 2.5 and isinstance(x.item(), float)
    assert isinstance(ts.Tensor([3]).item(), int)
    y = f64(rng, 3)
    copy = y.numpy()
    assert isinstance(copy, np.ndarray)
    copy[0] = 1e9
    assert y.numpy()[0] != 1e9  # .numpy() never aliases the tensor's data
    with pytest.raises(ValueError, match=r"item.*\(3,\)"):
        y.item()


def test_repr_does_not_crash(rng):
    for t in [
        f64(rng, 2, 3, name="W"),
        ts.Tensor(3.0),
        ts.Tensor(np.zeros((100, 100))),
        f64(rng, 2) > 0,
        f64(rng, 2).exp(),
        ts.Tensor(np.arange(4)),
    ]:
        text = repr(t)
        assert text.startswith("Tensor(") and str(t.dtype) in text
    assert "op=exp" in repr(f64(rng, 2).exp())
    assert "name='W'" in repr(f64(rng, 2, name="W"))


def test_len_and_bool(rng):
    assert len(f64(rng, 4, 2)) == 4
    assert bool(ts.Tensor([1.0]))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        bool(ts.Tensor([1.0, 2.0]))


# ------------------------------------------------------------------ dtype rules
def test_python_data_becomes_float32_by_default():
    assert ts.get_default_dtype() == np.float32
    assert ts.Tensor(1.5).dtype == np.float32
    assert ts.Tensor([1.0, 2.0]).dtype == np.float32
    assert ts.Tensor([[1, 2.5]]).dtype == np.float32


def test_default_dtype_float64():
    ts.set_default_dtype(np.float64)  # the backend fixture restores float32 afterwards
    assert ts.Tensor([1.0, 2.0]).dtype == np.float64
    assert ts.Tensor(0.5).dtype == np.float64
    assert ts.zeros(2).dtype == ts.ones(2).dtype == ts.randn(2).dtype == np.float64
    assert ts.Tensor(np.ones(2, np.float32)).dtype == np.float32  # arrays keep theirs
    with pytest.raises(TypeError, match="int"):
        ts.set_default_dtype(np.int32)


def test_default_dtype_takes_the_three_float_dtypes_and_names_them_otherwise():
    for name in ("float16", "float32", "float64"):
        ts.set_default_dtype(name)  # (the backend fixture restores float32 afterwards)
        assert ts.get_default_dtype() == np.dtype(name) and ts.randn(2).dtype == np.dtype(name)
    for other, says in (
        (np.longdouble, "An array of another dtype keeps it"),
        ("complex64", "An array of another dtype keeps it"),
        (np.int64, r"Integer token ids keep their own dtype"),
        (bool, r"Integer token ids keep their own dtype"),
    ):
        if np.dtype(other).name == "float64":  # (a platform whose long double is a double)
            continue
        three = r"float32 \(the default\), float64 \(for gradcheck\) or float16\. "
        with pytest.raises(TypeError, match=rf"^set_default_dtype: got .*; .*{three}{says}"):
            ts.set_default_dtype(other)
        assert ts.get_default_dtype() == np.float64  # unchanged by the refusal


def test_a_byte_swapped_default_dtype_is_taken_in_the_machines_byte_order():
    """'>f4' (or '<f8' on a big-endian machine) names float32 too: new tensors get the
    native dtype, so the compiled kernels (native byte order only) keep taking them."""
    swapped = np.dtype(np.float32).newbyteorder("S")
    ts.set_default_dtype(swapped)  # (the backend fixture restores float32 afterwards)
    assert ts.get_default_dtype() == np.dtype(np.float32)
    assert ts.get_default_dtype().isnative and ts.Tensor([1.0]).data.dtype.isnative
    assert ts.nn.Linear(2, 3).W.data.dtype.isnative


def test_a_float16_lstm_runs_forward_and_backward_as_the_float64_one_does():
    """float16 (set_default_dtype's third dtype): an LSTM, softmax and cross_entropy agree
    with the same weights in float64 to float16's precision, every gradient float16."""
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((2, 6, 3))
    targets = np.array([[0, 1, 2, 3, 4, 0], [4, 3, 2, 1, 0, 1]])

    def run(dtype, weights=None):
        ts.set_default_dtype(dtype)
        lstm, head = ts.nn.LSTM(3, 4), ts.nn.Linear(4, 5)
        params = lstm.parameters() + head.parameters()
        if weights is not None:  # the float16 model's weights, exactly, in float64
            for p, w in zip(params, weights, strict=True):
                p.data[...] = w.astype(p.data.dtype)
        hs, _ = lstm(ts.Tensor(xs.astype(dtype)))
        logits = head(hs)  # (B, T, 5)
        probs = logits.softmax(axis=-1)
        loss = ts.F.cross_entropy(logits, targets)
        loss.backward()
        assert probs.dtype == loss.dtype == np.dtype(dtype)
        assert all(p.grad.dtype == np.dtype(dtype) for p in params)
        return [p.data for p in params], probs.numpy(), loss.item(), [p.grad for p in params]

    weights, probs16, loss16, grads16 = run("float16")
    _, probs64, loss64, grads64 = run("float64", weights)
    ts.set_default_dtype("float32")
    assert loss16 == pytest.approx(loss64, rel=2e-3)  # (float16 keeps ~3 digits)
    np.testing.assert_allclose(probs16, probs64, atol=2e-3)
    for g16, g64 in zip(grads16, grads64, strict=True):
        g16, g64 = np_of(g16).astype(np.float64), np_of(g64)
        np.testing.assert_allclose(g16, g64, atol=1e-2 * np.abs(g64).max())


def test_numpy_arrays_keep_their_dtype():
    assert ts.Tensor(np.ones(3)).dtype == np.float64
    assert ts.Tensor(np.ones(3, np.float32)).dtype == np.float32
    assert ts.Tensor(np.float64(2.0)).dtype == np.float64
    assert ts.Tensor(np.ones(3), dtype=np.float32).dtype == np.float32


def test_integers_stay_integer_and_cannot_require_grad():
    ids = ts.Tensor([1, 2, 3])
    assert ids.dtype.kind == "i" and not ids.requires_grad
    assert ts.Tensor(np.arange(3, dtype=np.int32)).dtype == np.int32
    with pytest.raises(TypeError, match="int64"):
        ts.Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="int32"):
        ts.Tensor(np.arange(3, dtype=np.int32), requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        ts.Tensor(np.array([True]), requires_grad=True)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x * 2.5,
        lambda x: 2.5 * x,
        lambda x: x / 3,
        lambda x: 3 / x,
        lambda x: x - 1,
        lambda x: 1.0 - x,
        lambda x: x + np.float64(1.0),
        lambda x: 2**x,
        lambda x: x**2,
        lambda x: x**0.5,
        lambda x: x ** np.float64(2.0),
        lambda x: ts.maximum(x, 0.0),
        lambda x: ts.where(np.array([True, False, True]), x, 0.0),
    ],
)
def test_float32_op_scalar_stays_float32(fn):
    x = ts.Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_float32_result_gradients_stay_float32(rng):
    w = ts.Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    x = ts.Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    loss = ts.F.cross_entropy((x @ w).tanh(), np.array([0, 1, 1, 0]))
    assert loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == (3, 2)


# ------------------------------------------------------------------ operators
def test_numpy_array_on_the_left_gives_a_tensor(rng):
    x = f64(rng, 2, 2)
    a = rng.standard_normal((2, 2))
    xv = x.numpy()
    cases = [
        (a + x, a + xv),
        (a - x, a - xv),
        (a * x, a * xv),
        (a / x, a / xv),
        (np.abs(a) ** x, np.abs(a) ** xv),
        (a @ x, a @ xv),
        (np.float64(2.0) * x, 2.0 * xv),
    ]
    for out, expected in cases:
        assert isinstance(out, ts.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    (a - x).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), -np.ones((2, 2)))


def test_comparisons_give_bool_tensors_without_grad(rng):
    x, y = f64(rng, 3, 4), f64(rng, 4)
    x.data[0, :2] = 0.0  # on the threshold: tells <= from < and >= from >
    x.data[1, 1] = y.data[1]
    xv, yv = x.numpy(), y.numpy()
    cases = [
        (x <= y, xv <= yv),
        (x >= y, xv >= yv),
        (x < 0.0, xv < 0.0),
        (x > 0, xv > 0),
        (x < y, xv < yv),
        (x <= 0.0, xv <= 0.0),
        (x > y, xv > yv),
        (x >= 0, xv >= 0),
        (x == x, np.ones((3, 4), bool)),
        (x != y, xv != yv),
    ]
    for out, expected in cases:
        assert isinstance(out, ts.Tensor)
        assert out.dtype == bool and not out.requires_grad and out.op is None
        np.testing.assert_array_equal(out.numpy(), expected)


def test_tensor_is_hashable_by_identity(rng):
    x, y = f64(rng, 2), f64(rng, 2)
    assert len({x, y, x}) == 2


# ------------------------------------------------------------------ reductions to 0-d
@pytest.mark.parametrize("method", ["sum", "mean", "max"])
def test_reductions_over_every_axis_are_0d(method, rng):
    x = f64(rng, 2, 3, 4)
    for axis in (None, (0, 1, 2), (-1, 0, 1)):
        out = getattr(x, method)(axis=axis)
        assert out.shape == () and out.ndim == 0
        assert out.item() == pytest.approx(getattr(np, method)(x.numpy()))
    out = getattr(ts.Tensor(np.arange(3.0)), method)()
    assert out.shape == ()


def test_0d_tensor_backward(rng):
    x = ts.Tensor(np.float64(1.5), requires_grad=True)
    y = (x * x).exp()
    assert y.shape == ()
    y.backward()
    assert np_of(x.grad) == pytest.approx(2 * 1.5 * np.exp(1.5**2))


# ------------------------------------------------------------------ graph switches
def test_no_grad_records_nothing(rng):
    x = f64(rng, 3)
    with ts.no_grad():
        y = (x * 2).tanh().sum()
        assert not ts.is_grad_enabled()
    assert ts.is_grad_enabled()
    assert y.op is None and y.parents == () and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    with ts.no_grad(), ts.enable_grad():
        z = x * 2
    assert z.requires_grad and z.op == "mul"


def test_detach_cuts_the_graph(rng):
    x = f64(rng, 3)
    h = x.tanh()
    d = h.detach()
    assert d.op is None and d.parents == () and not d.requires_grad
    np.testing.assert_array_equal(d.numpy(), h.numpy())
    (h * d).sum().backward()  # d is a constant: ∂(h·d)/∂x = d (1 − h²)
    expected = d.numpy() * (1 - np.tanh(x.numpy()) ** 2)
    np.testing.assert_allclose(np_of(x.grad), expected, rtol=1e-12)


def test_zero_grad(rng):
    x = f64(rng, 2)
    x.sum().backward()
    assert x.grad is not None
    x.zero_grad()
    assert x.grad is None


# ------------------------------------------------------------------ constructors
def test_constructors():
    assert ts.zeros(2, 3).shape == (2, 3) and ts.zeros((2, 3)).numpy().sum() == 0
    assert ts.ones(4).numpy().sum() == 4 and ts.ones(4).dtype == np.float32
    assert ts.zeros(2, dtype=np.float64, requires_grad=True).requires_grad
    np.testing.assert_array_equal(ts.arange(5).numpy(), np.arange(5))
    assert ts.arange(5).dtype.kind == "i"
    assert ts.arange(0.0, 1.0, 0.25).dtype == np.float32
    np.testing.assert_array_equal(ts.arange(2, 8, 3).numpy(), [2, 5])


def test_randn_is_seeded():
    ts.manual_seed(5)
    a = ts.randn(3, 2).numpy()
    ts.manual_seed(5)
    b = ts.randn(3, 2).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 2) and a.dtype == np.float32
    assert ts.tensor.rng().standard_normal() != ts.tensor.rng().standard_normal()


def test_the_generator_state_puts_back_the_draws_that_followed_it():
    """get_rng_state is a copy (drawing on does not change it, nor does editing it change
    the generator); set_rng_state replays randn, initial weights and dropout masks."""
    ts.manual_seed(2)
    ts.randn(4)
    state = ts.get_rng_state()
    before = copy.deepcopy(state)
    draws = ts.randn(3).numpy(), ts.nn.Linear(2, 2).W.numpy()
    mask = ts.F.dropout(ts.ones(64), 0.5, training=True).numpy()
    assert state == before  # the draws left the returned state alone
    ts.set_rng_state(state)
    state["state"]["state"] += 1  # an edit after the call: not the generator's
    np.testing.assert_array_equal(ts.randn(3).numpy(), draws[0])
    np.testing.assert_array_equal(ts.nn.Linear(2, 2).W.numpy(), draws[1])
    np.testing.assert_array_equal(ts.F.dropout(ts.ones(64), 0.5, training=True).numpy(), mask)
    ts.manual_seed(3)  # another seed: other draws, until the state is put back again
    assert not np.array_equal(ts.randn(3).numpy(), draws[0])
    ts.set_rng_state(before)
    np.testing.assert_array_equal(ts.randn(3).numpy(), draws[0])


@pytest.mark.parametrize(
    ("state", "error", "words"),
    [
        (3, TypeError, "must be the dict ts.get_rng_state"),
        ({"bit_generator": "MT19937"}, ValueError, "not a PCG64 generator's"),
        ({"bit_generator": "PCG64", "state": {}}, ValueError, "not a state ts.get_rng_state"),
    ],
)
def test_set_rng_state_refuses_what_get_rng_state_did_not_give(state, error, words):
    ts.manual_seed(0)
    expected = ts.randn(2).numpy()
    ts.manual_seed(0)
    with pytest.raises(error, match=words):
        ts.set_rng_state(state)
    np.testing.assert_array_equal(ts.randn(2).numpy(), expected)  # the generator kept


def test_tensor_from_tensor_and_lists(rng):
    x = f64(rng, 2)
    assert ts.Tensor(x).dtype == np.float64
    np.testing.assert_array_equal(ts.Tensor([[1, 2], [3, 4]]).numpy(), [[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="cannot make a tensor"):
        ts.Tensor(["a", object()])


def test_to_numpy_backend(rng):
    x = f64(rng, 2, 3, name="x")
    y = x.to("numpy")
    assert isinstance(y.data, np.ndarray) and y.is_leaf
    assert y.requires_grad and y.name == "x" and y.dtype == np.float64
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    y.data[0, 0] = 123.0  # a copy: the original is untouched
    assert x.numpy()[0, 0] != 123.0


def test_numpy_and_python_conversions(rng):
    x = ts.Tensor(rng.standard_normal((2, 3)).astype(np.float32))
    a = np.asarray(x)  # a NumPy array, not an object array of 0-d tensors
    assert a.dtype == np.float32 and a.shape == (2, 3)
    np.testing.assert_array_equal(a, x.numpy())
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert float(ts.Tensor(2.5)) == 2.5 and int(ts.Tensor([3])) == 3
    assert f"{float(x.sum()):.3f}" == f"{a.sum():.3f}"
    with pytest.raises(ValueError, match="single-element"):
        float(x)


def test_a_leaf_copies_and_pickles_and_a_recorded_result_says_to_detach_first(rng):
    x = ts.Tensor(rng.standard_normal(3), requires_grad=True, name="x")
    shallow, deep = copy.copy(x), copy.deepcopy(x)
    loaded = pickle.loads(pickle.dumps(x))
    assert shallow.data is x.data and deep.data is not x.data
    for c in (shallow, deep, loaded):
        np.testing.assert_array_equal(c.numpy(), x.numpy())
        assert c.requires_grad and c.name == "x" and c._ctx is None
    (deep * 2).sum().backward()  # a copy is a leaf of its own
    np.testing.assert_array_equal(np_of(deep.grad), [2.0, 2.0, 2.0])
    assert x.grad is None
    # a shallow copy shares the data, not the gradient backward adds into in place
    x.sum().backward()
    shallow = copy.copy(x)
    (shallow * 3).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(np_of(shallow.grad), [4.0, 4.0, 4.0])
    x.grad = None
    weight = ts.nn.Parameter(np.ones(2), name="W")
    assert type(copy.copy(weight)) is type(copy.deepcopy(weight)) is ts.nn.Parameter
    y = x * 2
    for make_copy in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(RuntimeError, match="recorded tensor.*'mul'.*detach"):
            make_copy(y)
    np.testing.assert_array_equal(copy.copy(y.detach()).numpy(), y.numpy())


def test_complex_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="complex128"):
        ts.Tensor(np.ones(2, dtype=complex), requires_grad=True)


@pytest.mark.parametrize("grad", [True, False])
def test_one_two_and_many_input_ops_make_results_alike(rng, grad):
    # _apply1, _apply2 (which wraps its result inline) and apply must stay in step
    x = ts.Tensor(rng.standard_normal((2, 3)), requires_grad=grad)
    with ts.scope("s"):
        results = {"one": x.tanh(), "two": x + x, "many": ts.stack([x, x, x])}
    if grad:  # each path counts its recorded inputs' uses (a leaf's are not counted)
        h = x * 1.0
        h.tanh(), h + h, ts.stack([h, h, h])
        assert h._uses == 6
    for path, t in results.items():
        state = {slot: getattr(t, slot, "unset") for slot in ts.Tensor.__slots__}
        assert state["grad"] is None and state["name"] is None, path
        assert state["scope"] == "s" and state["_requires_grad"] is grad, path
        if grad:
            assert state["_ctx"].parents and state["_grad_out"] is None, path
            assert state["_uses"] == 0, path
        else:
            assert state["_ctx"] is None, path


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda x: x + [0.1, 0.2], [1.1, 1.2]),
        (lambda x: [0.1, 0.2] + x, [1.1, 1.2]),
        (lambda x: x * [0.1, 0.2], [0.1, 0.2]),
        (lambda x: ts.where(np.array([True, False]), x, [0.1, 0.2]), [1.0, 0.2]),
        (lambda x: ts.cat([x, [0.1, 0.2]]), [1.0, 1.0, 0.1, 0.2]),
        (lambda x: ts.maximum(x * 0.0, [0.1, 0.2]), [0.1, 0.2]),
    ],
)
def test_a_list_operand_takes_the_tensors_dtype_as_a_scalar_does(fn, expected):
    # read in float64 for a float64 tensor: not rounded to the float32 default first
    out = fn(ts.Tensor(np.ones(2), requires_grad=True))
    assert out.dtype == np.float64
    assert out.numpy().tolist() == expected  # exactly the float64 sums and products
    assert fn(ts.Tensor(np.ones(2, np.float32))).dtype == np.float32  # and no widening


def test_a_list_operand_of_a_matmul_takes_the_tensors_dtype():
    x = ts.Tensor(np.eye(2), requires_grad=True)
    assert (x @ [0.1, 0.2]).dtype == np.float64
    assert ([0.1, 0.2] @ x).numpy().tolist() == [0.1, 0.2]


def test_values_a_dtype_cannot_hold_are_refused_not_wrapped():
    with pytest.raises(OverflowError, match="int8 holds -128 to 127"):
        ts.Tensor([300], dtype="int8")
    with pytest.raises(OverflowError, match="uint8 holds 0 to 255"):
        ts.Tensor([-1], dtype="uint8")
    with pytest.raises(OverflowError, match="beyond the int64 range"):
        ts.Tensor(2**70)


@pytest.mark.parametrize(
    "array",
    [np.array(["a", "b"]), np.array([1, None], dtype=object), np.array(["2020-01-01"], "M8[D]")],
)
def test_arrays_that_are_not_numbers_are_refused(array):
    with pytest.raises(TypeError, match="expected numbers"):
        ts.Tensor(array)


def test_with_a_dtype_none_and_strings_are_still_refused_and_object_arrays_cast():
    for data in ([None, 1.0], ["1", "2"]):
        with pytest.raises(TypeError, match="expected numbers"):
            ts.Tensor(data, dtype="float32")
    with pytest.raises(TypeError, match="holding NoneType"):  # the odd one named, not int
        ts.Tensor([1, None])
    cast = ts.Tensor(np.array([1.0, 2.0], dtype=object), dtype=np.float32)
    assert cast.dtype == np.float32 and cast.numpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "data, message",
    [
        ("abc", "from str 'abc': expected numbers"),  # not "str holding NoneType"
        (None, "from None: expected numbers"),
        ({"a": 1}, "from dict {'a': 1}: expected numbers"),
        (["the", "cat"], "from list holding str: expected numbers"),
    ],
)
def test_data_that_is_no_numbers_is_named_as_given(data, message):
    with pytest.raises(TypeError, match=re.escape(message)) as info:
        ts.Tensor(data)
    assert "NoneType" not in str(info.value)
    assert ("ts.data.Vocab" in str(info.value)) == isinstance(data, str | list)


def test_long_data_that_is_no_numbers_is_named_in_a_line():
    with pytest.raises(TypeError, match=r"^cannot make a tensor from str 'aaa+: expected") as info:
        ts.Tensor("a" * 1000)
    assert len(str(info.value)) < 250


def test_rows_of_different_lengths_are_named_with_what_to_do():
    with pytest.raises(ValueError, match=r"rows have different lengths.*pad_or_truncate"):
        ts.Tensor([[1.0, 2.0], [3.0]])


def test_creation_arguments_are_checked():
    with pytest.raises(TypeError, match="randn: dtype must be a float dtype"):
        ts.randn(4, dtype=np.int64)
    with pytest.raises(ValueError, match="sizes >= 0"):
        ts.zeros(-1)
    with pytest.raises(ValueError, match="step must not be 0"):
        ts.arange(0, 3, 0)
    with pytest.raises(TypeError, match="cat: axis must be an int"):
        ts.cat([ts.ones(2), ts.ones(2)], axis=None)


def test_a_boolean_mask_of_the_wrong_length_is_refused_as_numpy_does():
    x = ts.Tensor(np.arange(6.0).reshape(2, 3))
    # a nested list is a mask too ([[True], [False]] was read as integer indices)
    for index in (np.array([True, False, False]), (slice(None), [True, False]), [[True], [False]]):
        with pytest.raises(IndexError, match="boolean index did not match"):
            x[index]
    with pytest.raises(IndexError, match="0-d boolean index"):
        x[ts.Tensor(1.0) > 0]
    assert x[np.array([False, True])].numpy().tolist() == [[3.0, 4.0, 5.0]]


def test_comparison_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"less: cannot broadcast shapes \(2,\) and \(3,\)"):
        _ = ts.Tensor([1.0, 2.0]) < ts.Tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="backward\\(grad\\): grad must be numbers"):
        (ts.Tensor([1.0], requires_grad=True) * 2).sum().backward("ab")


def test_format_abs_and_mask_operators():
    x = ts.Tensor([1.0, -2.0], requires_grad=True)
    loss = (x * x).sum()
    assert f"{loss:.2f}" == "5.00" and f"{loss}" == str(loss)
    with pytest.raises(TypeError, match="single-element"):
        f"{x:.2f}"
    abs(x).sum().backward()
    assert x.grad.tolist() == [1.0, -1.0]
    positive, small = x > 0, x < 2
    assert (positive & small).numpy().tolist() == [True, False]
    assert (positive | ~small).numpy().tolist() == [True, False]
    assert (np.array([True, True]) ^ positive).numpy().tolist() == [False, True]
    with pytest.raises(TypeError, match="boolean"):
        ~x


def test_number_like_arguments_and_mask_operands():
    from fractions import Fraction

    x = ts.Tensor(np.ones(3), requires_grad=True)
    assert ts.F.dropout(x, Fraction(1, 10)).shape == (3,)
    assert ts.F.dropout(x, np.array(0.1)).shape == (3,)
    assert ts.cat([x, x], axis=np.array(0)).shape == (6,)
    assert ts.gradcheck(lambda a: (a * a).sum(), x, eps=np.array(1e-6))
    mask = x > 0
    for other in (2, 0.5, [1, 0, 1]):
        with pytest.raises(TypeError, match="combines boolean tensors"):
            _ = mask & other
    assert (mask & [True, False, True]).numpy().tolist() == [True, False, True]
    with pytest.raises(ValueError, match="less of a tensor and list"):  # not a crash inside
        _ = x < [[1, 2], [3]]


def test_an_integer_tensor_and_a_python_int_keep_the_tensors_dtype():
    # NumPy's rule (NEP 50): a Python int adapts to the array; it does not widen to int64
    i = ts.Tensor(np.array([1, 2], np.int32))
    for out in (i + 1, 1 + i, i * 2, i - np.int64(3)):
        assert out.dtype == np.int32
    assert (i + 1).numpy().tolist() == [2, 3]
    assert (i + 1.5).dtype == np.float64  # a float still makes floats, as in NumPy
    assert (i + [1, 2]).dtype == np.int32  # a list of ints too
    assert (i + [0.1]).numpy().tolist() == [1.1, 2.1]  # floats read as float64, not float32
    assert (i + 0.1).numpy().tolist() == [1.1, 2.1]
    small = ts.Tensor(np.array([1], np.int8))
    for big in (1000, np.int64(1000)):  # refused, not wrapped around to -24
        with pytest.raises(OverflowError, match="integer 1000: int8 holds -128 to 127"):
            small + big
    with pytest.raises(TypeError, match="not complex"):  # no op defines complex gradients
        ts.Tensor(np.array([1, 2], np.int32)) + np.complex64(1 + 1j)


def test_a_float_or_bool_axis_is_a_clear_type_error():
    for axis in (1.0, (1.0,), True, (0, False)):  # (x.sum(True) meant keepdims=True?)
        with pytest.raises(TypeError, match="sum: axis must be an int, a tuple of ints or None"):
            ts.Tensor(np.ones((2, 3))).sum(axis=axis)


def test_an_overflow_in_a_forward_names_the_op():
    with pytest.raises(OverflowError, match="pow on shapes"):
        ts.Tensor(np.array([2], np.int8)) ** 300


def test_comparisons_and_mask_operators_take_lists_on_every_backend():
    # a list went to the ufunc as it was: CuPy refuses lists (arithmetic already moved them)
    x = ts.Tensor(np.arange(3.0))
    np.testing.assert_array_equal((x > [0, 1, 1]).numpy(), [False, False, True])
    np.testing.assert_array_equal((x == (0.0, 1.0, 0.0)).numpy(), [True, True, False])
    np.testing.assert_array_equal(((x > 0) & [True, False, True]).numpy(), [False, False, True])
    np.testing.assert_array_equal(((x > 0) | [True, False, False]).numpy(), [True, True, True])


def test_index_target_and_mask_arrays_are_kept_as_they_were_at_the_forward():
    # backward reads them after the forward; a caller's buffer refilled in between (a batch
    # of ids or targets reused in a loop) must not change the gradient (PyTorch refuses it)
    table = ts.Tensor(np.zeros((3, 2)), requires_grad=True)
    ids = np.array([0, 1])
    e = ts.F.embedding(ids, table)
    ids[:] = 2
    e.sum().backward()
    np.testing.assert_array_equal(np_of(table.grad), [[1, 1], [1, 1], [0, 0]])

    x = ts.Tensor(np.zeros(3), requires_grad=True)
    idx = np.array([0, 0])
    y = x[idx]
    idx[:] = 2
    y.sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [2, 0, 0])

    logits = ts.Tensor(np.zeros((2, 3)), requires_grad=True)
    targets = np.array([0, 1])
    loss = ts.F.cross_entropy(logits, targets)
    targets[:] = 2
    loss.backward()
    np.testing.assert_allclose(np_of(logits.grad), [[-1 / 3, 1 / 6, 1 / 6], [1 / 6, -1 / 3, 1 / 6]])

    w = ts.Tensor(np.ones(2), requires_grad=True)
    mask = np.array([True, False])
    out = ts.where(mask, w, 0.0)
    mask[:] = [False, True]
    out.sum().backward()
    np.testing.assert_array_equal(np_of(w.grad), [1, 0])

    # a 0-d index array (a view into a reused buffer), and an array subclass whose
    # np.asarray is a new object sharing its memory (a memmap's)
    buf = np.array([1, 2])
    x.grad = None
    y = x[buf[..., 0]]
    buf[0] = 2
    y.backward()
    np.testing.assert_array_equal(np_of(x.grad), [0, 1, 0])

    class Buffer(np.ndarray):
        pass

    w.grad = None
    mask = np.array([True, False]).view(Buffer)
    out = ts.where(mask, w, 0.0)
    mask[:] = [False, True]
    out.sum().backward()
    np.testing.assert_array_equal(np_of(w.grad), [1, 0])
    targets = np.array([0, 1]).view(Buffer)
    logits.grad = None
    loss = ts.F.cross_entropy(logits, targets)
    targets[:] = 2
    loss.backward()
    np.testing.assert_allclose(np_of(logits.grad), [[-1 / 3, 1 / 6, 1 / 6], [1 / 6, -1 / 3, 1 / 6]])


def test_ones_and_zeros_take_the_dtype_asked_for():
    for make in (ts.ones, ts.zeros):
        assert make(2, dtype=np.float64).dtype == np.float64
        assert make(2, dtype=np.float32).dtype == np.float32


def test_a_bool_tensor_plus_an_int_counts_as_numpy_does():
    t = ts.Tensor(np.array([True, False])) + 1
    np.testing.assert_array_equal(np_of(t.data), [2, 1])
    assert t.dtype == np.int64


def test_repr_says_requires_grad_only_of_a_leaf_and_detach_keeps_the_name():
    x = ts.Tensor(np.ones(2), requires_grad=True, name="x")
    assert "requires_grad=True" in repr(x)
    y = x * 2.0
    assert "requires_grad" not in repr(y) and "op=mul" in repr(y)
    d = x.detach()
    assert d.name == "x" and not d.requires_grad and "requires_grad" not in repr(d)


def test_an_index_past_the_end_is_an_index_error_naming_its_axis_on_every_backend():
    """NumPy raises for it; CuPy would wrap it to 0, so the engine checks (below)."""
    xp = ts.backend.xp
    t = ts.Tensor(np.arange(3.0))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        t[xp.asarray([3])]
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 3"):
        t.reshape(1, 3)[..., xp.asarray([0, 5])]
    np.testing.assert_array_equal(np_of(t[xp.asarray([2, -3])].data), [2.0, 0.0])


@pytest.mark.numpy_only  # the helper itself, on NumPy arrays: CI has no GPU to reach it
def test_index_bounds_are_checked_per_axis_as_numpy_would():
    """The check CuPy needs (it wraps an index past the end to 0 where NumPy raises),
    run here on NumPy arrays: the last valid index passes, one past it is named by axis."""
    from tinygrad_seq.tensor import _check_index_bounds

    _check_index_bounds(np.array([2, -3]), (3,))  # the first and last, from both ends
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        _check_index_bounds(np.array([3]), (3,))
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0"):
        _check_index_bounds(np.array([-4]), (3,))
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 3"):
        _check_index_bounds((Ellipsis, np.array([0, 5])), (1, 3))
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 2 with size 4"):
        _check_index_bounds((0, None, Ellipsis, np.array([4])), (2, 5, 4))
