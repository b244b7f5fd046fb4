"""Sequential: layers in order against the same layers composed by hand (values and
gradients, gradient-checked in float64), its weights' names, indexing, saving and loading,
PyTorch's nn.Sequential with the same weights, and the errors for what is not a layer."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of
from tinygrad_seq.nn import Linear, Module, Sequential


def _mlp() -> Sequential:
    return Sequential(Linear(3, 5), ts.Tensor.tanh, Linear(5, 2))


def test_layers_run_in_order_as_the_hand_written_composition(rng):
    seq = _mlp()
    first, second = seq[0], seq[2]
    x = ts.Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    y = seq(x)
    by_hand = second(first(x).tanh())
    assert y.shape == (4, 2)
    np.testing.assert_array_equal(y.numpy(), by_hand.numpy())
    (y * y).sum().backward()
    grads = [np_of(p.grad) for p in seq.parameters()]
    seq.zero_grad()
    (by_hand * by_hand).sum().backward()
    for g, p in zip(grads, seq.parameters(), strict=True):
        np.testing.assert_array_equal(g, np_of(p.grad))


def test_gradcheck_through_every_layer(rng):
    ts.set_default_dtype("float64")
    seq = Sequential(Linear(3, 4), ts.F.relu, Linear(4, 4), ts.Tensor.tanh, Linear(4, 1))
    x = ts.Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    assert ts.gradcheck(lambda x, *weights: seq(x), x, *seq.parameters())


def test_children_are_named_by_position_as_in_pytorch():
    seq = _mlp()
    assert [n for n, _ in seq.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    assert list(seq.state_dict()) == ["0.W", "0.b", "2.W", "2.b"]
    assert seq.num_parameters() == 3 * 5 + 5 + 5 * 2 + 2
    assert [type(m).__name__ for m in seq.modules()] == ["Sequential", "Linear", "Linear"]
    outer = Sequential(seq, ts.Tensor.sigmoid)  # nested: "0.2.W"
    assert [n for n, _ in outer.named_parameters()][-2:] == ["0.2.W", "0.2.b"]
    seq.eval()  # train/eval reach every layer
    assert not seq[0].training and not seq[2].training
    assert "1: Tensor.tanh" in repr(seq) and "0: Linear  W (5, 3), b (5,)" in repr(seq)


def test_indexing_length_iteration_and_slices():
    seq = _mlp()
    assert len(seq) == 3 and len(Sequential()) == 0
    assert seq[1] is ts.Tensor.tanh and seq[-1] is seq[2] and seq[np.int64(0)] is seq[0]
    assert seq[-3] is seq[0]  # -len(seq): the first layer, as a list's
    assert list(seq) == [seq[0], seq[1], seq[2]]
    head = seq[:2]  # a Sequential of the same layers (shared weights), as PyTorch's
    assert isinstance(head, Sequential) and len(head) == 2 and head[0] is seq[0]
    assert [n for n, _ in seq[1:].named_parameters()] == ["1.W", "1.b"]
    x = ts.randn(2, 3)
    np.testing.assert_array_equal(head(x).numpy(), seq[0](x).tanh().numpy())
    assert Sequential()(x) is x  # no layers: the input itself
    with pytest.raises(IndexError, match=r"^Sequential: layer 3 is out of range .* 3 layers"):
        seq[3]
    with pytest.raises(IndexError, match=r"layer -4 is out of range"):
        seq[-4]
    with pytest.raises(TypeError, match=r"^Sequential: a layer is picked by an int .*str '0'"):
        seq["0"]
    with pytest.raises(TypeError, match=r"a layer is picked by an int .*bool True"):
        seq[True]  # (a bool is an int to Python, but not a position)


def test_append_adds_a_layer_at_the_end_and_returns_the_sequential():
    seq = Sequential(Linear(3, 5))
    last = Linear(5, 2)
    assert seq.append(ts.Tensor.tanh).append(last) is seq
    assert len(seq) == 3 and seq[1] is ts.Tensor.tanh and seq[-1] is last
    assert [n for n, _ in seq.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    x = ts.randn(4, 3)
    np.testing.assert_array_equal(seq(x).numpy(), last(seq[0](x).tanh()).numpy())
    assert Sequential().append(seq)[0] is seq  # (another Sequential nests, as any Module)
    with pytest.raises(ValueError, match=r"^Sequential: layer 3 is this Sequential itself"):
        seq.append(seq)
    assert len(seq) == 3


@pytest.mark.parametrize(
    "layer, match",
    [
        (Linear, r"^Sequential: layer 1 is the class Linear, not a layer: build it first"),
        (3, r"^Sequential: layer 1 must be a Module or a function of one tensor .*got int"),
        (Linear(2, 2).forward, r"^Sequential: layer 1 is a method of a Linear \(forward\): its "),
    ],
)
def test_append_refuses_what_is_not_a_layer_and_keeps_the_layers(layer, match):
    seq = Sequential(ts.Tensor.tanh)
    with pytest.raises(TypeError, match=match):
        seq.append(layer)
    assert len(seq) == 1 and list(seq.__dict__).count("1") == 0


def test_save_and_load_into_the_same_layers(tmp_path):
    seq = _mlp()
    x = ts.randn(4, 3)
    path = tmp_path / "seq.npz"
    seq.save(path)
    assert sorted(np.load(path).files) == ["0.W", "0.b", "2.W", "2.b"]
    other = _mlp()  # its own random weights, until it loads
    assert not np.array_equal(other(x).numpy(), seq(x).numpy())
    assert other.load(path) is other
    np.testing.assert_array_equal(other(x).numpy(), seq(x).numpy())
    for (name, p), (_, q) in zip(seq.named_parameters(), other.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    wider = Sequential(Linear(3, 6), ts.Tensor.tanh, Linear(6, 2))  # checked before loading
    with pytest.raises(ValueError, match=r"weight '0.W' has shape \(5, 3\) in the state"):
        wider.load(path)
    with pytest.raises(
        ValueError, match=r"missing weights \['3.W', '3.b'\], unexpected weights \['2.W', '2.b'\]"
    ):
        Sequential(Linear(3, 5), ts.Tensor.tanh, ts.Tensor.tanh, Linear(5, 2)).load(path)


def test_sequential_load_on_the_class_says_to_build_the_layers_first(tmp_path):
    path = tmp_path / "seq.npz"
    _mlp().save(path)
    with pytest.raises(TypeError, match=r"^Sequential.load\(path\) cannot build a Sequential: "):
        Sequential.load(path)
    with pytest.raises(TypeError, match=r"holds weights only.*model.load\(path\)"):
        Module.load(path)
    built = _mlp()  # the method called unbound on a Sequential: loads into it
    assert Sequential.load(built, path) is built
    np.testing.assert_array_equal(built[0].W.numpy(), np.load(path)["0.W"])


class _Net(Module):
    """A model of plain sizes that builds a Sequential inside: saved and rebuilt whole."""

    def __init__(self, d_in: int, hidden: int) -> None:
        super().__init__()
        self.body = Sequential(Linear(d_in, hidden), ts.Tensor.tanh, Linear(hidden, 1))

    def forward(self, x):
        return self.body(x)


def test_a_model_built_from_sizes_with_a_sequential_inside_rebuilds(tmp_path):
    net = _Net(3, 4)
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = Module.load(path)
    assert isinstance(loaded, _Net) and [n for n, _ in loaded.named_parameters()][:2] == [
        "body.0.W",
        "body.0.b",
    ]
    x = ts.randn(2, 3)
    np.testing.assert_array_equal(loaded(x).numpy(), net(x).numpy())


def _our_name(pytorch_name: str) -> str:
    """PyTorch's weight name as ours: "0.weight" is "0.W", "2.bias" is "2.b"."""
    return pytorch_name.replace("weight", "W").replace("bias", "b")


@pytest.mark.numpy_only  # (the reference runs on the host)
def test_matches_pytorchs_sequential_with_the_same_weights(rng):
    torch = pytest.importorskip("torch")
    ts.set_default_dtype("float64")
    seq = _mlp()
    ref = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    ).double()
    ours = seq.state_dict()
    ref.load_state_dict({k: torch.tensor(ours[_our_name(k)]) for k in ref.state_dict()})
    x = rng.standard_normal((4, 3))
    y = seq(ts.Tensor(x))
    y_ref = ref(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    y_ref.sum().backward()
    for (name, p), (ref_name, q) in zip(
        seq.named_parameters(), ref.named_parameters(), strict=True
    ):
        assert name == _our_name(ref_name)
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "layer, match",
    [
        (Linear, r"^Sequential: layer 1 is the class Linear, not a layer: build it first"),
        (3, r"^Sequential: layer 1 must be a Module or a function of one tensor .*got int"),
        (ts.randn(2), r"layer 1 must be a Module .*got Tensor"),
        (Linear(2, 2).forward, r"^Sequential: layer 1 is a method of a Linear \(forward\): its "),
    ],
)
def test_what_is_not_a_layer_is_refused_naming_its_position(layer, match):
    with pytest.raises(TypeError, match=match):
        Sequential(ts.Tensor.tanh, layer)


def test_sequential_load_has_its_own_docstring_and_module_load_keeps_its():
    # Sequential's load reads weights with Module's function: giving it Sequential's
    # docstring must not change what help(model.load) says for every other model
    assert ts.nn.Sequential.load.__doc__.startswith("Read weights saved by `save` into this Seq")
    assert ts.nn.Linear(2, 3).load.__doc__ == ts.nn.Module.load.__doc__
    assert "build the saved model" in ts.nn.Module.load.__doc__.splitlines()[0]


def test_repr_ends_with_the_number_of_weights_not_of_tensors():
    assert repr(_mlp()).endswith(")  # 32 parameters")  # 3·5 + 5 + 5·2 + 2
    wide = Sequential(Linear(100, 100), ts.Tensor.tanh)
    assert repr(wide).endswith(")  # 10,100 parameters")
