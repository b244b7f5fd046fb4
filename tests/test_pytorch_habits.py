"""PyTorch habits that do not carry over get an error that says what to write instead."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts


def test_pytorchs_two_axis_transpose_is_answered_with_the_permutation():
    x = ts.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"swap axes 1 and 2.*transpose\(0, 2, 1\)"):
        x.transpose(1, 2)
    with pytest.raises(ValueError, match=r"swap axes 0 and 2.*transpose\(2, 1, 0\)"):
        x.transpose(0, -1)
    assert x.transpose(0, 2, 1).shape == (2, 4, 3)


@pytest.mark.parametrize("axes", [(1, 1), (5, 1), (0, 1, 1)])
def test_no_swap_is_suggested_where_none_is_meant(axes):
    with pytest.raises(ValueError, match="not a permutation") as caught:
        ts.randn(2, 3, 4).transpose(*axes)
    assert "swap" not in str(caught.value)


def test_a_scalar_refuses_two_axes_plainly():
    with pytest.raises(ValueError, match=r"not a permutation of the 0 axes"):
        ts.Tensor(1.0).transpose(0, 1)


@pytest.mark.numpy_only
@pytest.mark.parametrize("name", ["float64", "Float32"])
def test_a_dtype_given_as_a_backend_points_to_set_default_dtype(name):
    layer = ts.nn.Linear(2, 2)
    lowered = name.lower()
    with pytest.raises(
        ValueError, match=rf"is a dtype.*for {lowered} weights.*set_default_dtype\('{lowered}'\)"
    ):
        layer.to(name)
    with pytest.raises(ValueError, match=r"unknown backend 'torch'") as caught:
        layer.to("torch")
    assert "dtype" not in str(caught.value)


def test_an_op_without_a_name_is_named_after_its_class():
    from tinygrad_seq import ops

    class Doubled(ts.Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g * 2  # not a tuple: the error must say which op

    class LoudTanh(ops.Tanh):  # a subclass of a named op keeps its name
        pass

    x = ts.Tensor([1.0, 2.0], requires_grad=True)
    y = Doubled.apply(x)
    assert y.op == "Doubled" and LoudTanh.op_name == "tanh"
    with pytest.raises(TypeError, match=r"^Doubled\.backward returned a value of type"):
        y.sum().backward()


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_pytorchs_static_ctx_methods_are_refused_where_the_class_is_written(method):
    def forward(self, x):
        return x

    def backward(self, g):
        return (g,)

    def torch_style(ctx, x):
        return x

    methods = {"forward": forward, "backward": backward}
    with pytest.raises(TypeError, match=rf"TorchStyle\.{method} is a staticmethod taking ctx"):
        type("TorchStyle", (ts.Function,), {**methods, method: staticmethod(torch_style)})
    # a static method without ctx works as it is (backward(g) needs no self)
    static = type("Static", (ts.Function,), {**methods, method: staticmethod(lambda x: (x,)[0])})
    assert static.op_name == "Static"


@pytest.mark.parametrize("axes", [(0, 1), (-2, -1)])
def test_a_pytorch_swap_on_a_2d_tensor_warns_that_it_is_numpys_identity(axes):
    x = ts.randn(2, 3)
    with pytest.warns(UserWarning, match=r"leaves it as it is.*x\.T"):
        assert x.transpose(*axes).shape == (2, 3)


def test_a_real_2d_transpose_does_not_warn():
    import warnings

    x = ts.randn(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.transpose(1, 0).shape == x.T.shape == x.transpose().shape == (3, 2)


def test_a_subclass_of_an_unnamed_op_is_named_after_itself_and_a_ufunc_may_be_forward():
    import numpy as np

    class Base(ts.Function):
        def forward(self, x):
            return x

        def backward(self, g):
            return (g,)

    class Derived(Base):
        pass

    class Negate(ts.Function):
        forward = staticmethod(np.negative)  # C code: no parameters to read

        def backward(self, g):
            return (-g,)

    assert (Base.op_name, Derived.op_name, Negate.op_name) == ("Base", "Derived", "Negate")
    x = ts.Tensor([1.0, 2.0], requires_grad=True)
    Negate.apply(x).sum().backward()
    assert ts.backend.to_numpy(x.grad).tolist() == [-1.0, -1.0]


# PyTorch's dim= and keepdim= where the engine takes NumPy's axis= and keepdims=: every
# entry point that takes an axis answers with NumPy's spelling
_TAKES_AXIS_AND_KEEPDIMS = {
    "sum": lambda x, **kw: x.sum(**kw),
    "mean": lambda x, **kw: x.mean(**kw),
    "max": lambda x, **kw: x.max(**kw),
    "min": lambda x, **kw: x.min(**kw),
    "var": lambda x, **kw: x.var(**kw),
    "argmax": lambda x, **kw: x.argmax(**kw),
}
_TAKES_AXIS = {
    "softmax": lambda x, **kw: x.softmax(**kw),
    "log_softmax": lambda x, **kw: x.log_softmax(**kw),
    "F.softmax": lambda x, **kw: ts.F.softmax(x, **kw),
    "F.log_softmax": lambda x, **kw: ts.F.log_softmax(x, **kw),
    "squeeze": lambda x, **kw: x.reshape(2, 1, 3).squeeze(**kw),
    "unsqueeze": lambda x, **kw: x.unsqueeze(**kw),
    "cat": lambda x, **kw: ts.cat([x, x], **kw),
    "stack": lambda x, **kw: ts.stack([x, x], **kw),
}


@pytest.mark.parametrize("name", sorted(_TAKES_AXIS_AND_KEEPDIMS))
def test_pytorchs_dim_and_keepdim_are_answered_with_numpys_spelling(name):
    call = _TAKES_AXIS_AND_KEEPDIMS[name]
    x = ts.randn(2, 3)
    op = name.removeprefix("F.")
    with pytest.raises(TypeError, match=rf"^{op}: dim= is PyTorch's name for NumPy's axis=.*"):
        call(x, dim=1)
    with pytest.raises(
        TypeError,
        match=rf"^{op}: dim= and keepdim= are PyTorch's names for NumPy's axis= and "
        r"keepdims=, which tinygrad_seq takes: write axis=1, keepdims=True$",
    ):
        call(x, dim=1, keepdim=True)
    with pytest.raises(TypeError, match=r"keepdim= is PyTorch's name.*write keepdims=True$"):
        call(x, axis=1, keepdim=True)
    assert call(x, axis=1, keepdims=True).shape == (2, 1)  # what the message says to write
    with pytest.raises(TypeError, match=rf"^{op}\(\) got an unexpected keyword argument 'axes'"):
        call(x, axes=1)  # any other keyword: as Python says it
    with pytest.raises(TypeError, match=rf"^{op}\(\) got an unexpected keyword argument 'dtype'"):
        call(x, dim=1, dtype="float64")  # (PyTorch's sum takes a dtype=), even after a dim=


@pytest.mark.parametrize("name", sorted(_TAKES_AXIS))
def test_pytorchs_dim_is_answered_where_an_op_takes_an_axis(name):
    call = _TAKES_AXIS[name]
    x = ts.randn(2, 3)
    op = name.removeprefix("F.")
    with pytest.raises(TypeError, match=rf"^{op}: dim= is PyTorch's name.*: write axis=1$"):
        call(x, dim=1)
    call(x, axis=1)  # what the message says to write
    with pytest.raises(TypeError, match=rf"^{op}\(\) got an unexpected keyword argument 'keepdim'"):
        call(x, axis=1, keepdim=True)  # (no keepdims here to point to)
    with pytest.raises(TypeError, match=rf"^{op}\(\) got an unexpected keyword argument 'keepdim'"):
        call(x, dim=1, keepdim=True)  # nor when dim= comes first


def test_an_integer_tensor_given_requires_grad_by_hand_is_refused_as_by_the_constructor():
    ids = ts.Tensor(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match=r"only float tensors can require gradients"):
        ids.requires_grad = True  # (PyTorch: "only Tensors of floating point ... can require")
    with pytest.raises(TypeError, match=r"only float tensors can require gradients"):
        ts.Tensor(np.array([1, 2, 3]), requires_grad=True)
    assert ids.requires_grad is False  # left as it was
    ids.requires_grad = False  # (False is always fine)


@pytest.mark.parametrize("value", ["no", "False", None, 2, 0.5, [True]])
def test_requires_grad_set_to_a_non_bool_is_refused_as_by_the_constructor(value):
    x = ts.Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"^requires_grad must be True or False, got"):
        x.requires_grad = value  # "no" or "False" would otherwise read as True
    with pytest.raises(TypeError, match=r"requires_grad must be True or False, got"):
        ts.Tensor([1.0, 2.0], requires_grad=value)
    assert x.requires_grad is False


@pytest.mark.parametrize("value", [True, np.True_, 1])
def test_requires_grad_set_by_hand_is_stored_as_a_bool_and_trains(value):
    x = ts.Tensor([1.0, 2.0], dtype="float64")
    x.requires_grad = value
    assert x.requires_grad is True
    (x * x).sum().backward()
    np.testing.assert_allclose(ts.backend.to_numpy(x.grad), [2.0, 4.0])
    x.requires_grad = np.False_
    assert x.requires_grad is False and not (x * 2.0).requires_grad


def test_numpy_of_tensors_that_require_grad_warns_at_the_users_line_that_the_graph_is_left():
    # np.stack of a list of hidden states returns a plain array: a loss from it would leave
    # the weights without gradients, silently (PyTorch refuses the conversion)
    W = ts.Tensor(np.ones((2, 2)), requires_grad=True)
    hs = [W * 2.0, W * 3.0]
    with pytest.warns(UserWarning, match="no gradient flows back") as caught:
        stacked = np.stack(hs)
    assert isinstance(stacked, np.ndarray) and stacked.shape == (2, 2, 2)
    assert {w.filename for w in caught} == {__file__}  # the user's line, not NumPy's
    with pytest.warns(UserWarning, match=r"np\.asarray\(tensor\)"):
        np.asarray(W)


def test_numpy_of_data_alone_does_not_warn():
    import warnings

    W = ts.Tensor(np.ones((2, 2)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.asarray(W.detach()).shape == (2, 2)
        assert np.asarray(ts.Tensor(np.ones(3))).sum() == 3.0
        assert W.numpy().shape == (2, 2)
        with ts.no_grad():
            assert np.stack([W * 2.0]).shape == (1, 2, 2)  # made without a graph


def test_a_tensor_built_from_a_list_of_graph_tensors_warns_at_the_users_line():
    W = ts.Tensor(np.ones(3), requires_grad=True)
    with pytest.warns(UserWarning, match="ts.stack") as caught:
        built = ts.Tensor([W * 1.0, W * 2.0])
    assert built.is_leaf and not built.requires_grad and built.shape == (2, 3)
    assert {w.filename for w in caught} == {__file__}


@pytest.mark.parametrize("reduce", [np.sum, np.mean, np.max, np.min, np.var])
def test_a_numpy_reduction_of_a_tensor_says_to_call_the_tensors_own(reduce):
    # np.sum(t) calls t.sum(axis=None, out=None, ...): NumPy's own arguments, not the user's
    name = reduce.__name__
    with pytest.raises(
        TypeError, match=rf"takes no .*out=.*np\.{name}\(tensor\).*tensor\.{name}\("
    ):
        reduce(ts.Tensor(np.ones(3), requires_grad=True))
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        getattr(ts.Tensor(np.ones(3)), name)(foo=1)


def test_numpy_asked_not_to_copy_a_tensor_is_told_it_always_copies():
    x = ts.Tensor(np.ones(3))
    with pytest.raises(ValueError, match="always comes out as a copy"):
        np.array(x, copy=False)
    copied = np.array(x)
    copied[0] = 5.0
    assert x.numpy()[0] == 1.0  # the copy is the caller's


@pytest.mark.parametrize("beside_numpy", ["numpy_financial", "numpyro", ""])
def test_the_warning_stops_at_code_beside_numpys_own_folder(beside_numpy):
    # a package whose name starts like NumPy's (numpyro), or any installed package, is the
    # user's code: the warning points at its line, not past it
    import os

    where = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), beside_numpy, "user.py")
    code = compile("np.asarray(W)\n", where, "exec")
    W = ts.Tensor(np.ones(2), requires_grad=True)
    with pytest.warns(UserWarning, match="no gradient flows back") as caught:
        exec(code, {"np": np, "W": W})
    assert [w.filename for w in caught] == [where]


def test_the_warning_points_past_the_librarys_own_files_at_the_users_line():
    # a loss given a list of graph tensors as its target converts it in functional.py:
    # the warning names the user's call, not the library's line
    W = ts.Tensor(np.ones(2), requires_grad=True)
    with pytest.warns(UserWarning, match="no gradient flows back") as caught:
        ts.F.mse_loss(ts.randn(2, 2), [W * 1.0, W * 2.0])
    assert {w.filename for w in caught} == {__file__}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("view", r"x\.reshape\(\*shape\)"),
        ("permute", r"x\.transpose\(\*axes\)"),
        ("numel", r"x\.size is the number of elements"),
        ("masked_fill", r"ts\.where\(mask, value, x\)"),
        ("requires_grad_", r"x\.requires_grad = True"),
        ("cuda", r"x\.to\('cupy'\)"),
        ("add_", r"no in-place methods.*x = x \+ y.*ts\.no_grad\(\), p -= lr \* p\.grad"),
        ("zero_", r"no in-place methods"),
        ("flip", r"x\.flip\(1\) is x\[:, ::-1\]"),
    ],
)
def test_pytorchs_tensor_names_are_answered_with_what_to_write(name, says):
    x = ts.randn(2, 3)
    with pytest.raises(
        AttributeError, match=rf"^Tensor has no '{name}' \(a PyTorch name\): .*{says}"
    ):
        getattr(x, name)
    assert not hasattr(x, name)  # still an AttributeError: hasattr and getattr defaults work


def test_other_missing_names_keep_pythons_own_attribute_error():
    x = ts.randn(2)
    for name in ("no_such_thing", "_private_", "__array_interface__", "_pending"):
        with pytest.raises(AttributeError, match=rf"^'Tensor' object has no attribute '{name}'$"):
            getattr(x, name)
    assert getattr(x, "view", None) is None


def test_the_hints_are_class_attributes_not_a_getattr_hook():
    """A __getattr__ on Tensor would turn off CPython's fast reads of its slots: W5 ran
    ~20 % slower with one. The hints must stay attributes of their own names."""
    assert "__getattr__" not in vars(ts.Tensor)
    assert type(ts.Tensor.__getattribute__) is type(object.__getattribute__)


def test_pytorchs_size_call_is_answered_with_shape_and_size_stays_an_int():
    x = ts.randn(2, 3)
    assert x.size == 6 and isinstance(x.size, int) and x.size + 1 == 7
    for args in ((), (0,)):
        with pytest.raises(TypeError, match=r"number of elements \(6\).*x\.size\(\) is x\.shape"):
            x.size(*args)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("ModuleList", r"assign a plain list or dict: self\.blocks = \[Block"),
        ("ParameterDict", r"assign a plain list or dict"),
        ("ReLU", r"no activation modules: call ts\.F\.relu\(x\)"),
        ("Dropout", r"ts\.F\.dropout\(x, p, self\.training\)"),
        ("CrossEntropyLoss", r"ts\.F\.cross_entropy\(logits, targets\)"),
    ],
)
def test_pytorchs_nn_names_are_answered_with_what_to_write(name, says):
    with pytest.raises(AttributeError, match=rf"^tinygrad_seq\.nn has no '{name}' .*{says}"):
        getattr(ts.nn, name)
    assert not hasattr(ts.nn, name)
    with pytest.raises(AttributeError, match=r"has no attribute 'Nonexistent'$"):
        ts.nn.Nonexistent  # noqa: B018


def test_importing_a_pytorch_nn_name_carries_the_hint():
    """`from tinygrad_seq.nn import ModuleList` says what to write too, as an ImportError
    (what that statement raises for a missing name), while hasattr stays False."""

    def import_module_list():
        from tinygrad_seq.nn import ModuleList  # noqa: F401

    with pytest.raises(ImportError, match=r"^tinygrad_seq\.nn has no 'ModuleList' .*plain list"):
        import_module_list()
    with pytest.raises(ImportError, match=r"^tinygrad_seq\.nn has no 'ReLU' .*ts\.F\.relu"):
        exec("from tinygrad_seq.nn import Linear, ReLU", {})  # (at a module's top level)
    with pytest.raises(ImportError, match=r"^tinygrad_seq\.optim has no 'clip_grad_norm_'"):
        exec("from tinygrad_seq.optim import clip_grad_norm_", {})
    # a statement whose name table is long (IMPORT_FROM after an EXTENDED_ARG)
    many = "".join(f"n{i} = {i}\n" for i in range(300)) + "from tinygrad_seq.nn import Dropout\n"
    with pytest.raises(ImportError, match=r"^tinygrad_seq\.nn has no 'Dropout' .*F\.dropout"):
        exec(many, {})
    with pytest.raises(ImportError, match=r"^cannot import name 'Nonexistent' from"):
        exec("from tinygrad_seq.nn import Nonexistent", {})  # (no hint: Python's own)
    for asked in (
        lambda: getattr(ts.nn, "ModuleList"),  # noqa: B009 (the call, not the attribute)
        lambda: ts.nn.ModuleList,
        lambda: ts.optim.clip_grad_norm_,
    ):
        with pytest.raises(AttributeError, match="PyTorch") as caught:
            asked()
        assert not isinstance(caught.value, ImportError)
    assert not hasattr(ts.nn, "ModuleList") and getattr(ts.nn, "ModuleList", None) is None
    assert __import__("tinygrad_seq.nn", fromlist=["ModuleList"]) is ts.nn  # (as Python's)
    # the ImportError names the module asked, as Python's own "cannot import name" does
    for module, name in (("tinygrad_seq.nn", "ModuleList"), ("tinygrad_seq", "softmax")):
        with pytest.raises(ImportError) as caught:
            exec(f"from {module} import {name}", {})
        assert caught.value.name == module


@pytest.mark.parametrize(
    "name, says",
    [
        ("from_numpy", r"ts\.Tensor\(array\), which on the NumPy backend shares"),
        ("float32", r"dtypes are NumPy's: dtype='float32'"),
        ("device", r"ts\.backend\.set_backend\('cupy'\)"),
        ("softmax", r"x\.softmax\(\.\.\.\), or ts\.F\.softmax"),
        ("max", r"ts\.maximum\(a, b\) is the elementwise one"),
        ("min", r"x\.min\(axis=\.\.\.\) reduces .*ts\.where\(a < b, a, b\)"),
        ("clamp", r"x\.clip\(low, high\)"),
        ("matmul", r"a @ b"),
        ("flip", r"torch\.flip\(x, \[1\]\) is x\[:, ::-1\]"),
    ],
)
def test_pytorchs_top_level_names_are_answered_with_what_to_write(name, says):
    with pytest.raises(AttributeError, match=rf"^tinygrad_seq has no '{name}' .*{says}"):
        getattr(ts, name)
    assert not hasattr(ts, name)
    with pytest.raises(AttributeError, match=r"has no attribute 'Nonexistent'$"):
        ts.Nonexistent  # noqa: B018
    assert ts.nn is ts.__getattr__("nn")  # the lazy subpackages still load
    with pytest.raises(ImportError, match=rf"^tinygrad_seq has no '{name}' .*{says}"):
        exec(f"from tinygrad_seq import {name}", {})


def test_the_top_level_hints_are_for_names_ts_lacks_and_name_what_it_has():
    """A hint for a name ts has would never be read; each ts.F function a hint names exists."""
    import re

    for name, hint in ts._PYTORCH_NAMES.items():
        assert name not in vars(ts), name
        for function in re.findall(r"ts\.F\.(\w+)", hint):
            assert callable(getattr(ts.F, function)), (name, function)


def test_what_the_top_level_hints_say_to_write_runs():
    a, b = ts.Tensor([1.0, 5.0]), ts.Tensor([3.0, 2.0])
    assert ts.maximum(a, b).numpy().tolist() == [3.0, 5.0]
    assert ts.where(a < b, a, b).numpy().tolist() == [1.0, 2.0]
    assert a.clip(0.0, 2.0).numpy().tolist() == [1.0, 2.0]
    assert np.allclose(ts.F.softmax(a).numpy(), a.softmax().numpy())
    if ts.backend.get_backend() == "numpy":  # shares the memory, as torch.from_numpy
        array = np.zeros(2, dtype=np.float32)
        ts.Tensor(array).data[0] = 7.0
        assert array[0] == 7.0


def test_a_plain_list_does_what_pytorchs_module_list_does():
    class Stack(ts.nn.Module):  # the hint's own example, with a Parameter list beside it
        def __init__(self, d, n):
            super().__init__()
            self.blocks = [ts.nn.Linear(d, d) for _ in range(n)]
            self.scales = [ts.nn.Parameter(np.ones(d)) for _ in range(n)]

    names = [name for name, _ in Stack(2, 2).named_parameters()]
    assert names == ["scales.0", "scales.1", "blocks.0.W", "blocks.0.b", "blocks.1.W", "blocks.1.b"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("children", r"model\.modules\(\)"),
        ("named_modules", r"model\.modules\(\)"),
        ("requires_grad_", r"for p in model\.parameters\(\): p\.requires_grad = False"),
        ("register_buffer", r"assign a plain array attribute"),
        ("add_module", r"assign it: self\.name = module"),
        ("cuda", r"model\.to\('cupy'\)"),
        ("double", r"set_default_dtype\('float64'\)"),
        ("half", r"set_default_dtype\('float16'\)"),
        ("apply", r"for m in model\.modules\(\): fn\(m\)"),
    ],
)
def test_pytorchs_module_methods_are_answered_with_what_to_write(name, says):
    layer = ts.nn.Linear(2, 2)
    with pytest.raises(
        AttributeError,
        match=rf"^Linear \(a ts\.nn\.Module\) has no '{name}' \(a PyTorch name\): .*{says}",
    ):
        getattr(layer, name)
    assert not hasattr(layer, name)
    assert getattr(layer, name, None) is None


@pytest.mark.parametrize(
    ("layer", "name", "ours"),
    [
        (lambda: ts.nn.Linear(2, 3), "weight", "W"),
        (lambda: ts.nn.Linear(2, 3), "bias", "b"),
        (lambda: ts.nn.Embedding(5, 3), "weight", "E"),
        (lambda: ts.nn.LayerNorm(3), "weight", "gain"),
    ],
)
def test_pytorchs_weight_names_of_a_layer_say_which_weight_to_read(layer, name, ours):
    # tying an output layer to the embedding, PyTorch's way: emb.weight
    layer = layer()
    who = type(layer).__name__
    with pytest.raises(
        AttributeError, match=rf"^{who} \(a ts\.nn\.Module\) has no '{name}'.*write \.{ours}\b"
    ):
        getattr(layer, name)
    assert getattr(layer, ours) is dict(layer.named_parameters())[ours]
    assert not hasattr(layer, name)


def test_a_layers_own_weight_or_bias_attribute_wins_over_the_hint():
    norm = ts.nn.LayerNorm(3)  # its bias is the seed's and PyTorch's name alike
    assert norm.bias is dict(norm.named_parameters())["bias"]

    class Scaled(ts.nn.Linear):
        def __init__(self, n):
            super().__init__(n, n)
            self.weight = ts.nn.Parameter(np.ones(n))  # a subclass's own weight

    scaled = Scaled(2)
    assert scaled.weight.shape == (2,)
    assert sorted(name for name, _ in scaled.named_parameters()) == ["W", "b", "weight"]


def test_the_module_hints_name_the_models_own_class():
    class MyNet(ts.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = ts.nn.Linear(2, 2)

    for owner in (MyNet(), MyNet):  # on a model and on its class
        with pytest.raises(
            AttributeError, match=r"^MyNet \(a ts\.nn\.Module\) has no 'cuda' .*to\('cupy'\)"
        ):
            owner.cuda()
    with pytest.raises(AttributeError, match=r"^Module has no 'children' \(a PyTorch name\)"):
        ts.nn.Module.children  # noqa: B018


def test_a_models_own_attribute_with_a_pytorch_name_is_its_own():
    class Tree(ts.nn.Module):
        def __init__(self):
            super().__init__()
            self.children = [ts.nn.Linear(2, 2)]  # a name PyTorch's Module has: here, the model's

        def cuda(self):
            return "mine"

    tree = Tree()
    assert len(tree.children) == 1 and tree.cuda() == "mine"
    assert [n for n, _ in tree.named_parameters()] == ["children.0.W", "children.0.b"]


def test_the_module_hints_are_class_attributes_not_a_getattr_hook():
    """A __getattr__ on Module would slow every attribute read of a forward (self.W)."""
    assert "__getattr__" not in vars(ts.nn.Module)


def test_freezing_as_the_hint_says_leaves_the_frozen_weights_alone():
    model = ts.nn.MLP([2, 3, 1])
    frozen = model.parameters()[:2]
    for p in frozen:
        p.requires_grad = False
    before = [p.numpy() for p in frozen]
    opt = ts.optim.SGD(model.parameters(), lr=0.1)
    (model(ts.Tensor(np.ones((4, 2), np.float32))) ** 2).sum().backward()
    opt.step()
    assert all(p.grad is None for p in frozen)
    for p, was in zip(frozen, before, strict=True):
        np.testing.assert_array_equal(p.numpy(), was)


@pytest.mark.parametrize(
    "build, says, write",
    [
        (
            lambda: ts.nn.LSTM(input_size=8, hidden_size=16),
            "ts.nn.LSTM: input_size= and hidden_size= are PyTorch's names for input= and hidden=",
            "ts.nn.LSTM(input=8, hidden=16)",
        ),
        (
            lambda: ts.nn.GRU(8, hidden_size=16, batch_first=True),
            "ts.nn.GRU: hidden_size= is PyTorch's name for hidden=; it takes no batch_first= "
            "(PyTorch's): its inputs are always batch-first, (B, T, d); for time-first xs "
            "(T, B, d) pass xs.transpose(1, 0, 2)",
            "ts.nn.GRU(8, hidden=16)",
        ),
        (
            lambda: ts.nn.LSTM(8, 16, bias=False),
            "ts.nn.LSTM: it takes no bias= (PyTorch's): it always has its biases, as the seed's "
            "equations do (ts.nn.GRU takes bias=False)",
            "ts.nn.LSTM(8, 16)",
        ),
        (
            lambda: ts.nn.Embedding(num_embeddings=10, embedding_dim=4),
            "ts.nn.Embedding: num_embeddings= and embedding_dim= are PyTorch's names for vocab= "
            "and dim=",
            "ts.nn.Embedding(vocab=10, dim=4)",
        ),
        (
            lambda: ts.nn.Linear(in_features=3, out_features=2, device="cpu"),
            "ts.nn.Linear: it takes no device= (PyTorch's): build it, then move it: "
            "model.to('cupy')",
            "ts.nn.Linear(in_features=3, out_features=2)",
        ),
        (
            lambda: ts.nn.MultiHeadAttention(embed_dim=16, num_heads=4),
            "ts.nn.MultiHeadAttention: embed_dim= is PyTorch's name for d_model=",
            "ts.nn.MultiHeadAttention(d_model=16, num_heads=4)",
        ),
        (
            lambda: ts.nn.TransformerEncoderLayer(16, nhead=4, dim_feedforward=32),
            "ts.nn.TransformerEncoderLayer: nhead= and dim_feedforward= are PyTorch's names for "
            "heads= and d_ff=",
            "ts.nn.TransformerEncoderLayer(16, heads=4, d_ff=32)",
        ),
        (
            lambda: ts.nn.LayerNorm(normalized_shape=8, elementwise_affine=True),
            "ts.nn.LayerNorm: normalized_shape= is PyTorch's name for dim=; it takes no "
            "elementwise_affine= (PyTorch's): it always has its gain and bias",
            "ts.nn.LayerNorm(dim=8)",
        ),
    ],
)
def test_pytorchs_constructor_keywords_are_answered_with_what_to_write(build, says, write):
    with pytest.raises(TypeError) as info:
        build()
    message = str(info.value)
    assert message.startswith(says) and message.endswith(f". Write {write}"), message
    model = eval(write, {"ts": ts})  # what the message says to write builds the model
    assert isinstance(model, ts.nn.Module) and model.num_parameters() > 0


def test_a_pytorch_keyword_with_an_argument_missing_gets_the_names_alone():
    names_alone = r"^ts\.nn\.LSTM: input_size= is PyTorch's name for input=$"
    with pytest.raises(TypeError, match=names_alone):
        ts.nn.LSTM(input_size=8)  # (hidden missing: no call to write)
    with pytest.raises(TypeError, match=r"it takes no num_encoder_layers= .*layers= is the"):
        ts.nn.Transformer(10, 10, 16, 4, 32, num_encoder_layers=2)


def test_a_typo_keeps_pythons_message_even_beside_a_pytorch_keyword():
    pythons = r"^LSTM\.__init__\(\) got an unexpected keyword argument "
    with pytest.raises(TypeError, match=pythons + "'hiden'$"):
        ts.nn.LSTM(8, hiden=16)
    with pytest.raises(TypeError, match=pythons + "'hiden_size'$"):
        ts.nn.LSTM(input_size=8, hiden_size=16)  # the typo named, not input_size


def test_a_models_own_constructor_gets_only_the_hints_that_fit_it():
    class Net(ts.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.layer = ts.nn.Linear(n, n)

    with pytest.raises(
        TypeError, match=r"^Net: it takes no device= \(PyTorch's\).* Write Net\(n=3\)$"
    ):
        Net(n=3, device="cuda")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'input_size'"):
        Net(input_size=3)  # (LSTM's names are not Net's)

    class Stacked(ts.nn.LSTM):  # LSTM's constructor: LSTM's hints, the subclass named
        pass

    with pytest.raises(
        TypeError, match=r"^Stacked: input_size= .* Write Stacked\(input=3, hidden=4\)$"
    ):
        Stacked(input_size=3, hidden_size=4)


def test_arguments_to_modules_own_constructor_are_answered_with_what_to_write():
    """Module.__init__ takes none: sizes given to super().__init__ belong to the layers the
    model builds (PyTorch's names among them are named); a class with no __init__ of its own
    is told to write one. The signature shown stays Module()."""
    import inspect

    class Net(ts.nn.Module):
        def __init__(self):
            super().__init__(input_size=8, hidden_size=16)

    with pytest.raises(TypeError) as caught:
        Net()
    assert str(caught.value) == (
        "Net: super().__init__(input_size=8, hidden_size=16): Module.__init__ takes no "
        "arguments. Call super().__init__() first, then give the sizes to the layers the model "
        "builds, e.g. self.lstm = ts.nn.LSTM(input=8, hidden=16) (input_size= is PyTorch's "
        "name for input=; hidden_size= is PyTorch's name for hidden=)"
    )

    class Tall(ts.nn.Module):  # (batch_first= has no name here: it is not said to have one)
        def __init__(self):
            super().__init__(input_size=8, batch_first=True)

    with pytest.raises(TypeError) as caught:
        Tall()
    assert str(caught.value).endswith(
        "ts.nn.LSTM(input=8, hidden=16) (input_size= is PyTorch's name for input=)"
    )

    class Sized(ts.nn.Module):
        def __init__(self, n):
            super().__init__(n)

    with pytest.raises(
        TypeError, match=r"^Sized: super\(\).__init__\(3\): Module.__init__ .*16\)$"
    ):
        Sized(3)

    class Bare(ts.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(
        TypeError, match=r"^Bare\(3, n=4\): Bare defines no __init__ of its own, .*give Bare an"
    ):
        Bare(3, n=4)
    assert Bare()(5) == 5 and Bare().training  # with none, it builds as before
    assert str(inspect.signature(ts.nn.Module)) == "() -> None"


def test_pytorchs_keywords_in_a_subclass_of_ts_nns_layer_are_answered_with_the_super_call():
    class MyLSTM(ts.nn.LSTM):
        def __init__(self, input_size):
            super().__init__(input_size=input_size, hidden_size=16)

    with pytest.raises(
        TypeError,
        match=r"^ts\.nn\.LSTM: input_size= and hidden_size= are PyTorch's names for input= and "
        r"hidden=\. Write super\(\)\.__init__\(input=8, hidden=16\)$",
    ):
        MyLSTM(8)

    class Deep(ts.nn.GRU):
        def __init__(self):
            super().__init__(8, 16, 2)  # PyTorch's num_layers

    with pytest.raises(TypeError, match=r"^ts\.nn\.GRU takes 2 positional .* num_layers"):
        Deep()

    class Typo(ts.nn.LSTM):
        def __init__(self):
            super().__init__(8, hiden=16)

    with pytest.raises(TypeError, match=r"unexpected keyword argument 'hiden'$"):
        Typo()  # (a typo keeps Python's message)


def test_a_models_own_class_named_as_ts_nns_gets_pythons_messages():
    """The tables are ts.nn's classes': a model of one's own called LSTM keeps Python's
    errors for PyTorch's keywords and a third positional argument."""

    class LSTM(ts.nn.Module):
        def __init__(self, input, hidden):
            super().__init__()
            self.cell = ts.nn.LSTMCell(input, hidden)

    with pytest.raises(TypeError, match=r"unexpected keyword argument 'num_layers'$"):
        LSTM(8, 16, num_layers=2)
    with pytest.raises(TypeError, match=r"takes 3 positional arguments but 4 were given$"):
        LSTM(8, 16, 2)


def test_a_constructor_taking_any_keyword_gets_pythons_message_for_what_is_missing():
    class Net(ts.nn.Module):
        def __init__(self, n, **options):
            super().__init__()
            self.layer = ts.nn.Linear(n, n)

    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'n'$"):
        Net(device="cuda")  # (device= would be taken: n is what is missing)
    assert isinstance(Net(2, device="cuda").layer, ts.nn.Linear)


def test_too_many_positional_arguments_elsewhere_keep_pythons_message():
    with pytest.raises(TypeError, match=r"takes from 3 to 4 positional arguments but 5 were"):
        ts.nn.Linear(2, 3, True, 5)
    with pytest.raises(TypeError, match=r"takes from 3 to 4 positional arguments but 5 were"):
        ts.nn.Embedding(10, 4, 0, 1)
    assert ts.nn.Embedding(10, 4, 0).padding_idx == 0  # (PyTorch's third argument too)


def test_the_call_to_write_shortens_a_long_argument_and_hides_the_binding_error():
    with pytest.raises(TypeError) as caught:
        ts.nn.Embedding("a" * 200, embedding_dim=4)
    message = str(caught.value)
    assert message.endswith("...aaaaaaaaaaaaa', dim=4)") and len(message) < 150, message
    assert caught.value.__suppress_context__  # (no "During handling of ..." traceback)


def test_the_constructors_keep_their_own_signatures():
    import inspect

    from tinygrad_seq.nn._pytorch_keywords import KEYWORDS

    for name in KEYWORDS:
        params = inspect.signature(getattr(ts.nn, name)).parameters
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), name
    assert list(inspect.signature(ts.nn.LSTM).parameters) == ["input", "hidden", "forget_bias"]


def test_the_keyword_hints_name_pytorchs_keywords_and_ts_nns_parameters():
    import inspect

    from tinygrad_seq.nn._pytorch_keywords import ANY_MODULE, KEYWORDS

    torch = pytest.importorskip("torch")
    torch_name = {"MultiHeadAttention": "MultiheadAttention"}
    for name, hints in KEYWORDS.items():
        ours = inspect.signature(getattr(ts.nn, name)).parameters
        cls = getattr(torch.nn, torch_name.get(name, name))
        # (torch.nn.LSTM's own __init__ takes *args, **kwargs: its base's names them, and
        # RNN's nonlinearity= is in its documented arguments)
        theirs = {p for c in cls.__mro__ for p in inspect.signature(c.__init__).parameters}
        for keyword, hint in {**ANY_MODULE, **hints}.items():
            assert keyword not in ours, (name, keyword)  # (else never asked for)
            assert keyword in theirs or f"{keyword}:" in cls.__doc__, (name, keyword)
            if hint.isidentifier():
                assert hint in ours, (name, keyword, hint)


def test_the_bidirectional_hint_runs():
    from tinygrad_seq.nn._pytorch_keywords import KEYWORDS

    assert "ts.cat([hs, hs_back[:, ::-1]], axis=-1)" in KEYWORDS["LSTM"]["bidirectional"]
    xs = ts.randn(2, 5, 3)
    forward, back = ts.nn.LSTM(3, 4), ts.nn.LSTM(3, 4)
    hs, _ = forward(xs)
    hs_back, _ = back(xs[:, ::-1])
    both = ts.cat([hs, hs_back[:, ::-1]], axis=-1)
    assert both.shape == (2, 5, 8)
    # the backward half at step t has read x_t .. x_T: its last step saw only x_T
    last, _ = back(xs[:, 4:5])
    np.testing.assert_allclose(both.numpy()[:, 4, 4:], last.numpy()[:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_the_bidirectional_hint_with_padding_reads_each_row_from_its_last_real_token(cls):
    # reversed, a padded row starts with its padding: with the mask reversed too, those
    # steps keep the zero state, so the backward half at a real token t has read exactly
    # x_{L-1} .. x_t, as the row run alone, unpadded, gives
    from tinygrad_seq.nn._pytorch_keywords import KEYWORDS

    assert "back(xs[:, ::-1], mask=mask[:, ::-1])" in KEYWORDS[cls]["bidirectional"]
    ts.set_default_dtype("float64")
    lengths = np.array([5, 2, 3])
    xs, mask = ts.randn(3, 5, 3), ts.F.padding_mask(lengths, 5)
    forward, back = getattr(ts.nn, cls)(3, 4), getattr(ts.nn, cls)(3, 4)
    hs, _ = forward(xs, mask=mask)
    hs_back, _ = back(xs[:, ::-1], mask=mask[:, ::-1])
    both = ts.cat([hs, hs_back[:, ::-1]], axis=-1).numpy()
    for row, length in enumerate(lengths):
        alone, _ = back(xs[row : row + 1, :length][:, ::-1])
        np.testing.assert_allclose(both[row, :length, 4:], alone.numpy()[0, ::-1], atol=1e-12)
        unpadded, _ = forward(xs[row : row + 1, :length])
        np.testing.assert_allclose(both[row, :length, :4], unpadded.numpy()[0], atol=1e-12)
    # without the mask the padding is read first, and the real steps differ
    unmasked, _ = back(xs[:, ::-1])
    assert not np.allclose(unmasked[:, ::-1].numpy()[1, :2], both[1, :2, 4:])


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_pytorchs_num_layers_as_third_positional_is_refused_not_read_as_an_option(cls):
    """`nn.LSTM(8, 16, 2)` is two layers in PyTorch; ts.nn's options are keyword-only, so
    the 2 is not quietly taken as forget_bias (LSTM), output (RNN) or bias (GRU)."""
    with pytest.raises(TypeError, match=rf"^ts\.nn\.{cls} takes 2 positional .*num_layers"):
        getattr(ts.nn, cls)(8, 16, 2)
    option = {"RNN": "output", "LSTM": "forget_bias", "GRU": "update_bias"}[cls]
    with pytest.raises(TypeError, match=rf"keywords only: .*{option}="):
        getattr(ts.nn, cls)(8, 16, 2)
    model = getattr(ts.nn, cls)(8, 16, **{option: 2.0 if cls != "RNN" else 2})
    xs = ts.randn(1, 3, 8)
    hs = model(xs)[0]
    assert hs.shape == (1, 3, 16)
    if cls == "RNN":  # the readout layer: y_t = W_hy h_t + b_y, 2 wide
        assert model.output(hs).shape == (1, 3, 2)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_cells_options_are_keyword_only(cls):
    with pytest.raises(TypeError, match=rf"^ts\.nn\.{cls} takes 2 positional arguments"):
        getattr(ts.nn, cls)(8, 16, True)


def test_rnncell_given_a_third_positional_says_it_takes_nothing_more():
    """RNNCell has no options: its error says so, not 'its options are keywords only: '
    followed by an empty list."""
    with pytest.raises(TypeError, match=r"bias.*; it takes no other arguments$") as caught:
        ts.nn.RNNCell(8, 16, True)
    assert "keywords only" not in str(caught.value)


def test_what_the_flip_and_apply_hints_say_to_write_runs():
    # x.flip(1) (PyTorch) is x[:, ::-1]: reversed along axis 1, its gradient reversed back
    data = np.arange(6.0).reshape(2, 3)
    x = ts.Tensor(data.copy(), requires_grad=True)
    flipped = x[:, ::-1]
    np.testing.assert_array_equal(flipped.numpy(), np.flip(data, 1))
    (flipped * ts.Tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    np.testing.assert_array_equal(ts.backend.to_numpy(x.grad), [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]])
    # model.apply(fn) (PyTorch) is a loop over model.modules(): the model and each layer
    model = ts.nn.Sequential(ts.nn.Linear(2, 3), ts.Tensor.tanh, ts.nn.Linear(3, 1))
    seen = []
    for m in model.modules():
        seen.append(type(m).__name__)
    assert seen == ["Sequential", "Linear", "Linear"]
