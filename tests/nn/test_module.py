"""Module: parameter discovery with dotted names, sharing, train/eval, zero_grad, and saving
and loading weights (a bad file is a clear error and leaves the model untouched)."""

from __future__ import annotations

import copy
import errno
import io
import pickle
import sys
import warnings

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of
from tinygrad_seq.nn import LSTM, MLP, Linear, Module, Parameter


class Encoder(Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(3), name="scale")
        self.proj = Linear(3, 4)
        self.blocks = [Linear(4, 4), Linear(4, 4, bias=False)]
        self.rnn = LSTM(4, 2)
        self.not_a_weight = np.zeros(3)  # plain arrays are not parameters
        self.nothing = None

    def forward(self, x):
        return self.proj(x * self.scale)


def test_named_parameters_are_dotted_and_in_order():
    names = [n for n, _ in Encoder().named_parameters()]
    assert names == [
        "scale",
        "proj.W",
        "proj.b",
        "blocks.0.W",
        "blocks.0.b",
        "blocks.1.W",
        *[f"rnn.cell.{w}_{g}" for w in ("W", "b") for g in ("f", "i", "C", "o")],
    ]
    enc = Encoder()
    assert [id(p) for p in enc.parameters()] == [id(p) for _, p in enc.named_parameters()]
    assert enc.num_parameters() == 3 + (12 + 4) + (16 + 4) + 16 + (4 * 2 * 6 + 4 * 2)

    class Outer(Module):  # depth first: a submodule's own submodules before its sibling
        def __init__(self):
            super().__init__()
            self.first = MLP([2, 3, 1])
            self.last = Linear(1, 1)

    names = [name for name, _ in Outer().named_parameters()]
    assert names == [f"first.layers.{k}.{w}" for k in (0, 1) for w in "Wb"] + ["last.W", "last.b"]


def test_shared_parameters_and_modules_are_counted_once():
    class Tied(Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = Linear(2, 2)
            self.b = self.a  # the same module under two names
            self.c = Linear(2, 2)
            self.c.W = self.a.W  # one weight used twice

    tied = Tied()
    params = tied.parameters()
    assert len(params) == 3  # a.W, a.b, c.b
    assert len({id(p) for p in params}) == 3
    assert tied.num_parameters() == 4 + 2 + 2
    opt = ts.optim.SGD(params + [tied.c.W], lr=0.1)
    assert len(opt.params) == 3  # listed twice, stepped once


def test_forgetting_super_init_is_a_clear_error():
    class Broken(Module):
        def __init__(self) -> None:
            self.w = Parameter(np.ones(2))

    with pytest.raises(TypeError, match=r"super\(\).__init__\(\)"):
        Broken().parameters()


def test_a_plain_tensor_that_requires_grad_is_not_a_parameter(tmp_path):
    # as docs/extending.md's "Your own model" says, and as in PyTorch: only Parameters register
    class Half(Module):
        def __init__(self) -> None:
            super().__init__()
            self.W = Parameter(np.ones(2), name="W")
            self.V = ts.Tensor(np.ones(2), requires_grad=True, name="V")

    half = Half()
    with pytest.warns(UserWarning, match=r"attribute 'V' is a Tensor with requires_grad=True, not"):
        assert [n for n, _ in half.named_parameters()] == ["W"]
    with pytest.warns(UserWarning, match="'V' is a Tensor"):  # and as it saves
        half.save(tmp_path / "half.npz")
    assert "V" not in np.load(tmp_path / "half.npz").files
    assert "W" in np.load(tmp_path / "half.npz").files


def test_only_a_leaf_that_requires_grad_is_warned_of():
    class Kept(Module):
        def __init__(self) -> None:
            super().__init__()
            self.W = Parameter(np.ones(2))
            self.data_in = ts.Tensor(np.ones(2))  # data: needs no gradient
            self.h = self.W * 2.0  # a computed tensor (a cached state), not a weight
            self.forgot = ts.Tensor(np.ones(2), requires_grad=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Kept().parameters()
    assert [str(w.message).split(" is ")[0] for w in caught] == ["attribute 'forgot'"]
    assert caught[0].filename == __file__  # the line that gathered the parameters


def test_a_list_of_parameters_is_registered_too():
    class Gates(Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias = Parameter(np.zeros(2))
            self.weights = [Parameter(np.ones(2)), Parameter(np.ones(3))]
            self.mixed = (Linear(2, 2), Parameter(np.ones(1)))

    gates = Gates()
    names = [n for n, _ in gates.named_parameters()]
    assert names == ["bias", "weights.0", "weights.1", "mixed.1", "mixed.0.W", "mixed.0.b"]
    assert gates.num_parameters() == 2 + 2 + 3 + 1 + 4 + 2


def test_plain_tensors_that_require_grad_in_a_list_or_dict_are_warned_of(tmp_path):
    # PyTorch's ParameterList habit with plain tensors: without the warning they would
    # silently get no optimizer step and no place in the saved file
    class Held(Module):
        def __init__(self) -> None:
            super().__init__()
            self.W = Parameter(np.ones(2))
            self.gates = [ts.Tensor(np.ones(2), requires_grad=True) for _ in range(2)]
            self.heads = {"q": ts.Tensor(np.ones(2), requires_grad=True), "k": Linear(2, 2)}
            self.cache = [ts.Tensor(np.ones(2)), self.W * 2.0]  # data and a computed tensor

    held = Held()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = [n for n, _ in held.named_parameters()]
    assert names == ["W", "heads.k.W", "heads.k.b"]
    said = sorted(str(w.message) for w in caught)
    assert len(said) == 2, said
    assert said[0].startswith("attribute 'heads.q' is a Tensor with requires_grad=True, not a")
    assert said[1].startswith(
        "attributes 'gates.0', 'gates.1' are Tensors with requires_grad=True, not "
        "ts.nn.Parameters: parameters(), optimizers, save and load leave them out"
    )
    assert {w.filename for w in caught} == {__file__}  # the line that gathered them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        held.save(tmp_path / "held.npz")
    assert len(caught) == 2  # as it saves, too
    weights = set(np.load(tmp_path / "held.npz").files) - {"tinygrad_seq:model"}  # (how to
    assert sorted(weights) == ["W", "heads.k.W", "heads.k.b"]  # build it is no weight)


def test_a_list_of_parameters_or_a_record_of_losses_is_not_warned_of():
    class Fine(Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = [Parameter(np.ones(2)), Parameter(np.ones(3))]
            self.layer = Linear(2, 2)
            x = ts.Tensor(np.ones((1, 2)))
            self.losses = [(self.layer(x) ** 2).sum() for _ in range(3)]  # computed: no weights
            self.inputs = {"x": x, "ids": np.arange(3)}

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(Fine().parameters()) == 4


def test_a_deque_of_modules_is_registered_as_a_list():
    import collections

    class Queue(Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = collections.deque([Linear(2, 2), Linear(2, 1, bias=False)])

    assert [n for n, _ in Queue().named_parameters()] == ["layers.0.W", "layers.0.b", "layers.1.W"]


def test_a_set_of_modules_is_warned_of_as_it_has_no_names():
    class Unordered(Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = {Linear(2, 2)}
            self.stop_words = {"a", "the"}  # a set of data is fine

    with pytest.warns(UserWarning, match=r"attribute 'layers' is a set .*hold them in a list") as w:
        assert Unordered().parameters() == []
    assert len(w) == 1 and w[0].filename == __file__


@pytest.mark.parametrize(
    "heads",
    [
        lambda: {1: Linear(2, 2), "1": Linear(2, 2)},
        lambda: {"a.W": Parameter(np.ones((2, 2))), "a": Linear(2, 2)},
    ],
)
def test_two_weights_with_the_same_dotted_name_are_refused(heads, tmp_path):
    # state_dict would keep one of them, and load would give both the same values
    class Clash(Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = heads()

    clash = Clash()
    for call in (clash.parameters, clash.state_dict, lambda: clash.save(tmp_path / "c.npz")):
        with pytest.raises(ValueError, match=r"^Clash: two different weights are both named"):
            call()
    assert not (tmp_path / "c.npz").exists()


def test_a_shared_weight_under_two_names_is_still_one_weight():
    class Tied(Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = ts.nn.Embedding(5, 3)
            self.out = Linear(3, 5, bias=False)
            self.out.W = self.emb.E  # weight tying: one weight, named where first met

    tied = Tied()
    assert [n for n, _ in tied.named_parameters()] == ["emb.E"]
    assert tied.out.W is tied.emb.E


def test_train_and_eval_reach_every_submodule():
    enc = Encoder()
    modules = list(enc.modules())
    assert len(modules) == 1 + 1 + 2 + 2  # enc, proj, blocks.0, blocks.1, rnn, rnn.cell
    assert enc.eval() is enc
    assert not any(m.training for m in modules)
    enc.train()
    assert all(m.training for m in modules)


def test_zero_grad_clears_every_gradient(rng):
    mlp = MLP([3, 5, 2])
    mlp(ts.Tensor(rng.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    assert all(p.grad is not None for p in mlp.parameters())
    mlp.zero_grad()
    assert all(p.grad is None for p in mlp.parameters())


# ----------------------------------------------------------------- saving and loading
def test_state_dict_is_a_copy(rng):
    lin = Linear(2, 3)
    state = lin.state_dict()
    assert set(state) == {"W", "b"} and all(isinstance(v, np.ndarray) for v in state.values())
    state["W"][:] = 7.0
    assert not np.any(lin.W.numpy() == 7.0)


def test_save_and_load_round_trip(tmp_path, rng):
    ts.manual_seed(1)
    enc = Encoder()
    path = tmp_path / "weights.npz"
    enc.save(path)
    ts.manual_seed(2)
    other = Encoder()
    assert not np.allclose(other.proj.W.numpy(), enc.proj.W.numpy())
    assert other.load(path) is other
    for (name, p), (name2, q) in zip(enc.named_parameters(), other.named_parameters(), strict=True):
        assert name == name2
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert q.dtype == p.dtype and q.backend == ts.backend.get_backend()
    x = ts.Tensor(rng.standard_normal((2, 3)).astype(np.float32))
    np.testing.assert_array_equal(enc(x).numpy(), other(x).numpy())
    # loaded weights are the model's own copies: changing the state afterwards changes nothing
    state = enc.state_dict()
    other.load_state_dict(state)
    state["proj.W"][...] = 0
    assert np.any(other.proj.W.numpy() != 0)


def _unchanged(model: Module, before: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(p.numpy(), before[n]) for n, p in model.named_parameters())


def test_loading_a_file_with_a_missing_weight_names_it_and_changes_nothing(tmp_path):
    enc = Encoder()
    state = {n: v + 1 for n, v in enc.state_dict().items()}
    del state["blocks.1.W"]
    np.savez(tmp_path / "partial.npz", **state)
    before = enc.state_dict()
    with pytest.raises(ValueError, match=r"missing weights \['blocks.1.W'\]"):
        enc.load(tmp_path / "partial.npz")
    assert _unchanged(enc, before)


def test_loading_a_mis_shaped_weight_names_it_and_changes_nothing(tmp_path):
    enc = Encoder()
    state = {n: v + 1 for n, v in enc.state_dict().items()}
    state["rnn.cell.W_o"] = np.zeros((2, 5))
    np.savez(tmp_path / "bad.npz", **state)
    before = enc.state_dict()
    with pytest.raises(ValueError, match=r"'rnn.cell.W_o'.*\(2, 5\).*\(2, 6\)"):
        enc.load(tmp_path / "bad.npz")
    assert _unchanged(enc, before)


def test_unexpected_and_unreadable_weights_are_errors(tmp_path):
    lin = Linear(2, 2)
    before = lin.state_dict()
    with pytest.raises(ValueError, match=r"unexpected weights \['extra'\]"):
        lin.load_state_dict({**before, "extra": np.zeros(1)})
    with pytest.raises(TypeError, match="'b' cannot be read as float32"):
        lin.load_state_dict({"W": np.zeros((2, 2)), "b": np.array(["a", "b"])})
    with pytest.raises(TypeError, match="'W' cannot be read as float32 numbers: it holds complex"):
        lin.load_state_dict({"W": np.ones((2, 2)) * 1j, "b": np.zeros(2)})  # (not dropped)
    with pytest.raises(TypeError, match="'W' cannot be read as an array"):
        lin.load_state_dict({"W": [[1, 2], [3]], "b": [0, 0]})  # ragged
    for not_a_dict in (None, list(lin.named_parameters())):
        with pytest.raises(TypeError, match="expected a dict of weight name -> array"):
            lin.load_state_dict(not_a_dict)
    assert _unchanged(lin, before)


@pytest.mark.parametrize("kind", ["garbage", "npy", "empty"])
def test_loading_a_file_that_is_not_a_weights_file_says_so(tmp_path, kind):
    path = tmp_path / "weights.npz"
    if kind == "garbage":
        path.write_bytes(b"not a zip file")
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.ones(3))
    else:
        path.write_bytes(b"")
    lin = Linear(2, 2)
    before = lin.state_dict()
    with pytest.raises(ValueError, match="not a weights file written by Module.save"):
        lin.load(path)
    assert _unchanged(lin, before)


def test_loading_a_missing_file_names_it_and_what_writes_one(tmp_path):
    missing = tmp_path / "model.npz"
    lin = Linear(2, 2)
    before = lin.state_dict()
    for load, who in ((lin.load, "Linear"), (Linear.load, "Linear"), (Module.load, "Module")):
        with pytest.raises(FileNotFoundError) as error:  # (still what except OSError catches)
            load(missing)
        assert error.value.errno == errno.ENOENT and error.value.filename == str(missing)
        assert str(error.value) == (
            f"[Errno 2] {who}.load: no such file (model.save(path) writes a weights file "
            f"there): '{missing}'"
        )
    assert _unchanged(lin, before)
    # np.savez's habit: it adds .npz to a name without one, which model.save does not
    np.savez(tmp_path / "weights", W=np.ones((2, 2)))
    with pytest.raises(FileNotFoundError, match=r"there is a '.*weights\.npz': np\.savez adds"):
        lin.load(tmp_path / "weights")
    lin.save(tmp_path / "saved")  # what the message says writes one: written where it says
    assert Linear.load(tmp_path / "saved").W.shape == (2, 2)


def test_save_and_load_go_through_a_binary_file_object_too(tmp_path):
    """As np.savez and np.load do (and torch.save / torch.load): written where the file
    stands and read from where it stands, each left open; the archive is the same one a
    path gets."""
    model = MLP([2, 3, 1])
    buffer = io.BytesIO()
    model.save(buffer)
    assert not buffer.closed and buffer.tell() == len(buffer.getvalue()) > 0
    with pytest.raises(ValueError, match=r"MLP.load: the BytesIO holds no weights file .*seek"):
        MLP.load(buffer)  # at its end, where save left it
    buffer.seek(0)
    again = MLP.load(buffer)  # built from the file object, as from a path
    assert not buffer.closed
    for (name, p), (_, q) in zip(model.named_parameters(), again.named_parameters(), strict=True):
        np.testing.assert_array_equal(np_of(p), np_of(q), err_msg=name)
    buffer.seek(0)
    built = MLP([2, 3, 1])
    assert built.load(buffer) is built
    np.testing.assert_array_equal(np_of(built.layers[0].W), np_of(model.layers[0].W))
    model.save(tmp_path / "by_path.npz")
    with open(tmp_path / "by_path.npz", "rb") as f:
        by_path = dict(np.load(f))
    buffer.seek(0)
    by_file = dict(np.load(buffer))
    assert by_file.keys() == by_path.keys()
    for name in by_path:
        np.testing.assert_array_equal(by_file[name], by_path[name], err_msg=name)
    with open(tmp_path / "opened.npz", "wb") as f:  # an open file, then read by its path
        model.save(f)
    assert MLP.load(tmp_path / "opened.npz").layers[0].W.shape == (3, 2)


def test_save_and_load_refuse_bytes_and_text_files_saying_what_to_give(tmp_path):
    model = Linear(2, 3)
    buffer = io.BytesIO()
    model.save(buffer)
    contents = buffer.getvalue()
    for load in (model.load, Linear.load):
        with pytest.raises(TypeError, match=rf"^Linear.load takes a path .* got {len(contents)} "):
            load(contents)
        with pytest.raises(
            TypeError, match=r"a weights file's contents\? give io.BytesIO\(data\)\)$"
        ):
            load(contents)
    assert Linear.load(io.BytesIO(contents)).W.shape == (3, 2)  # as the message says
    with pytest.raises(TypeError, match=r"^Linear.save takes a path .*give an io.BytesIO\(\)\)$"):
        model.save(b"weights.npz")
    with pytest.raises(TypeError, match=r"^Linear.load takes the path .* got \[1, 2\]$"):
        Linear.load([1, 2])
    with open(tmp_path / "w.npz", "w") as text:
        with pytest.raises(TypeError, match=r"^Linear.save: the file is open in text mode"):
            model.save(text)


def test_save_and_load_refuse_an_object_they_cannot_write_or_read():
    """A file object must have the method the call needs, and the error says which: save
    writes, load reads."""

    class ReadsOnly:
        def read(self, size=-1):
            return b""

    class WritesOnly:
        def write(self, data):
            return len(data)

    model = Linear(2, 3)
    with pytest.raises(TypeError, match=r"^Linear.save takes .* has a write\(\) method, got <"):
        model.save(ReadsOnly())
    for load in (model.load, Linear.load):
        with pytest.raises(TypeError, match=r"^Linear.load takes .* has a read\(\) method, got <"):
            load(WritesOnly())


def test_save_and_load_refuse_a_file_opened_the_other_way_saying_how_to_open_it(tmp_path):
    """A file opened 'rb' has a write() method too, which raises io.UnsupportedOperation
    midway: save says to open it with 'wb' before writing anything (and load of a file
    opened 'wb', to open it with 'rb'); the file is left as it was."""
    model = Linear(2, 3)
    path = tmp_path / "w.npz"
    model.save(path)
    before = path.read_bytes()
    with open(path, "rb") as f:
        with pytest.raises(TypeError) as caught:
            model.save(f)
    assert str(caught.value) == (
        f"Linear.save: the file object {str(path)!r} (opened 'rb') is not open for writing: "
        "open it with 'wb'"
    )
    assert path.read_bytes() == before
    for load in (model.load, Linear.load):
        with open(tmp_path / "new.npz", "wb") as f:
            with pytest.raises(TypeError, match=r"\(opened 'wb'\) is not open for reading: .*'rb'"):
                load(f)
    with open(path, "r+b") as f:  # (both ways: each works)
        assert Linear.load(f).W.shape == (3, 2)
        f.seek(0)
        model.save(f)


def test_a_file_object_that_holds_no_weights_is_named_in_the_error(tmp_path):
    """An open file is named by its path, as a path is; a BytesIO, which has none, by its
    class."""
    (tmp_path / "notes.txt").write_bytes(b"not a weights file")
    for load in (Linear(2, 3).load, Linear.load):
        with open(tmp_path / "notes.txt", "rb") as f:
            with pytest.raises(ValueError) as caught:
                load(f)
        assert str(caught.value).startswith(
            f"Linear.load: the file object {str(tmp_path / 'notes.txt')!r} holds no weights"
        )
        with pytest.raises(ValueError, match=r"^Linear.load: the BytesIO holds no weights"):
            load(io.BytesIO(b"not a weights file"))


def test_load_state_dict_accepts_tensors(rng):
    lin = Linear(2, 2)
    W = rng.standard_normal((2, 2)).astype(np.float32)
    lin.load_state_dict({"W": ts.Tensor(W), "b": np.zeros(2)})
    np.testing.assert_array_equal(np_of(lin.W), W)
    assert lin.W.grad is None and lin.W.requires_grad


def test_load_state_dict_clears_the_gradients_of_the_old_weights(rng):
    lin = Linear(2, 2)
    lin(ts.Tensor(rng.standard_normal((3, 2)).astype(np.float32))).sum().backward()
    assert lin.W.grad is not None and lin.b.grad is not None
    lin.load_state_dict({n: v + 1 for n, v in lin.state_dict().items()})
    assert lin.W.grad is None and lin.b.grad is None  # they were for the weights replaced


def test_repr_lists_weights_and_count():
    text = repr(Linear(2, 3))
    assert "W: (3, 2)" in text and "b: (3,)" in text and "9 parameters" in text


def test_constructors_take_the_keyword_names_of_the_design():
    """DESIGN.md spells the sizes `input`, `hidden` and `vocab`; keyword calls work with them."""
    nn = ts.nn
    for cls in (nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.RNN, nn.LSTM, nn.GRU):
        model = cls(input=3, hidden=5)
        assert (model.input_size, model.hidden_size) == (3, 5), cls.__name__
    assert nn.Embedding(vocab=7, dim=4).E.shape == (7, 4)
    lstm = nn.LSTMCell(input=3, hidden=5)
    assert lstm.W_f.shape == (5, 5 + 3)  # (h, h + d), acting on [h_{t-1}, x_t]


_NN = ts.nn
_BAD_SIZES = [  # (constructor, arguments, the argument named in the error)
    (lambda n: _NN.Linear(n, 3), "in_features"),
    (lambda n: _NN.Linear(3, n), "out_features"),
    (lambda n: _NN.Embedding(n, 3), "vocab"),
    (lambda n: _NN.MLP([2, n, 3]), r"sizes\[1\]"),
    (lambda n: _NN.LayerNorm(n), "dim"),
    (lambda n: _NN.RNN(n, 3), "input"),
    (lambda n: _NN.RNN(2, 3, output=n), "output"),
    (lambda n: _NN.LSTM(3, n), "hidden"),
    (lambda n: _NN.GRU(3, n), "hidden"),
    (lambda n: _NN.AdditiveAttention(n, 2, 3), "q_dim"),
    (lambda n: _NN.MultiplicativeAttention(2, n), "k_dim"),
    (lambda n: _NN.MultiHeadAttention(n, 1), "d_model"),
    (lambda n: _NN.Transformer(5, 5, 4, 2, 8, layers=1, max_len=n), "max_len"),
    (lambda n: _NN.Seq2Seq(5, n, 4, 4), "tgt_vocab"),
]


@pytest.mark.parametrize("make, argument", _BAD_SIZES)
@pytest.mark.parametrize("size", [0, -2])
def test_a_size_below_1_names_the_model_and_the_argument(make, argument, size):
    # not NumPy's "negative dimensions" from inside the initialisation, nor an empty model
    with pytest.raises(ValueError, match=rf"{argument} must be at least 1, got {size}"):
        make(size)


@pytest.mark.parametrize("make, argument", _BAD_SIZES[:3])
def test_a_size_that_is_not_an_int_is_a_type_error(make, argument):
    for size in (2.0, "3", True):
        with pytest.raises(TypeError, match=rf"{argument} must be an int"):
            make(size)


def test_transformer_dropout_must_be_a_probability():
    for dropout in (-0.1, 1.0, 2.0):
        with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\)"):
            _NN.Transformer(5, 5, 4, 2, 8, layers=1, dropout=dropout)
    for dropout in ("0.1", None, True):
        with pytest.raises(TypeError, match=r"dropout must be a number"):
            _NN.Transformer(5, 5, 4, 2, 8, layers=1, dropout=dropout)


def test_sizes_and_rates_may_be_numpy_scalars_or_0d_arrays(rng):
    # as read from a config file: NumPy integers, 0-d arrays
    model = _NN.Transformer(
        np.int64(5), np.array(5), 4, 2, 8, layers=np.array(1), dropout=np.array(0.1)
    )
    assert _NN.Linear(np.array(3), np.int32(4))(ts.Tensor(np.ones((2, 3)))).shape == (2, 4)
    ts.optim.SGD(model.parameters(), lr=np.array(0.1))
    ts.optim.Adam(model.parameters(), lr=np.float32(1e-3), eps=np.array(1e-8))
    empty = _NN.Transformer(5, 5, 4, 2, 8, layers=0)  # no layers: a baseline
    src, tgt = rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 2))
    assert empty(src, tgt).shape == (2, 2, 5)
    with pytest.raises(ValueError, match="layers must be at least 0, got -1"):
        _NN.Transformer(5, 5, 4, 2, 8, layers=-1)


def test_causal_mask_of_a_negative_length_is_an_error():
    with pytest.raises(ValueError, match="causal_mask: n must be a length"):
        ts.F.causal_mask(-1)
    assert ts.F.causal_mask(0).shape == (0, 0)


def test_modules_in_dicts_and_nested_lists_are_registered():
    class Heads(Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = {"query": Linear(2, 2), "more": [[Linear(2, 1)], None, "not a weight"]}

    names = [n for n, _ in Heads().named_parameters()]
    assert names == ["heads.query.W", "heads.query.b", "heads.more.0.0.W", "heads.more.0.0.b"]
    assert len(list(Heads().modules())) == 3


def test_modules_after_data_in_a_container_are_registered():
    # (name, module) pairs, and a dict whose first value is a number: the rule once looked
    # only at a container's first item, and dropped these weights from parameters()
    class Mixed(Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = [("enc", Linear(2, 2)), ("dec", Linear(2, 1))]
            self.heads = {"scale": 0.5, "proj": Linear(2, 2)}

    names = [n for n, _ in Mixed().named_parameters()]
    assert names == [
        "blocks.0.1.W", "blocks.0.1.b", "blocks.1.1.W", "blocks.1.1.b", "heads.proj.W",
        "heads.proj.b",
    ]  # fmt: skip
    assert sorted(Mixed().state_dict()) == sorted(names)


def test_named_parameters_with_a_prefix_are_dotted():
    assert [n for n, _ in Linear(2, 2).named_parameters("enc")] == ["enc.W", "enc.b"]
    mlp = MLP([2, 3, 1])
    assert [n for n, _ in mlp.named_parameters(prefix="head")][0] == "head.layers.0.W"


def test_a_module_holding_its_parent_is_walked_once():
    class Child(Module):
        def __init__(self, parent) -> None:
            super().__init__()
            self.parent = parent  # a cycle: parent -> child -> parent
            self.W = Parameter(np.ones(2, np.float32))

    class Parent(Module):
        def __init__(self) -> None:
            super().__init__()
            self.child = Child(self)

    net = Parent()
    assert [n for n, _ in net.named_parameters()] == ["child.W"]
    assert len(list(net.modules())) == 2
    assert net.eval().child.training is False


def test_saving_keeps_the_old_file_until_the_new_one_is_whole(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    Linear(3, 2).save(path)
    old = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", full_disk)
    with pytest.raises(OSError, match="No space"):
        Linear(3, 2).save(path)
    assert path.read_bytes() == old  # the earlier weights are intact
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]  # no partial file left


def test_saving_to_a_folder_names_the_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match="a folder, not a file") as error:
        Linear(3, 2).save(tmp_path)
    assert error.value.filename == str(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no partial file left


def test_weights_named_like_savez_arguments_round_trip(tmp_path):
    class Odd(Module):
        def __init__(self) -> None:
            super().__init__()
            self.file = Parameter(np.arange(3, dtype=np.float32))
            self.allow_pickle = Parameter(np.ones(2, np.float32))

    Odd().save(tmp_path / "odd.npz")
    other = Odd()
    other.file.data[:] = 0
    other.load(tmp_path / "odd.npz")
    np.testing.assert_array_equal(np_of(other.file.data), [0, 1, 2])


def test_load_on_the_class_builds_the_saved_model(tmp_path, rng):
    # DESIGN's Module.load(path): the file holds the class and the arguments it was built with
    path = tmp_path / "s2s.npz"
    model = ts.nn.Seq2Seq(10, 12, 6, 8, cell="gru", attention="additive")
    model.save(path)
    src, tgt_in = rng.integers(1, 10, (2, 4)), rng.integers(1, 12, (2, 3))
    for cls in (ts.nn.Seq2Seq, Module):  # the class itself, or any: Module
        rebuilt = cls.load(path)
        assert type(rebuilt) is ts.nn.Seq2Seq and rebuilt is not model
        np.testing.assert_array_equal(rebuilt(src, tgt_in).numpy(), model(src, tgt_in).numpy())
    with pytest.raises(TypeError, match=r"Linear.load: .* holds a Seq2Seq, not a Linear"):
        Linear.load(path)
    # sizes given as a tuple and NumPy ints come back; float64 weights stay float64
    ts.set_default_dtype(np.float64)
    try:
        mlp = ts.nn.MLP((4, np.int64(8), 2), activation="relu")
    finally:
        ts.set_default_dtype(np.float32)
    mlp.save(path)
    again = ts.nn.MLP.load(path)
    for (name, p), (_, q) in zip(mlp.named_parameters(), again.named_parameters(), strict=True):
        assert q.dtype == np.float64, name
        np.testing.assert_array_equal(q.numpy(), p.numpy())
    x = ts.Tensor(rng.standard_normal((3, 4)))
    np.testing.assert_array_equal(again(x).numpy(), mlp(x).numpy())  # relu, not tanh


class _NoInit(Module):  # (at module level: the class form finds classes by name)
    def forward(self, x):
        return x.tanh()


class _InheritedInit(Linear):  # built with Linear's constructor
    pass


class _MixedDtypes(Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = ts.nn.Parameter(np.ones(1, np.float32))  # float32 whatever the default
        self.lin = Linear(3, 3)  # in the default dtype


def test_load_on_the_class_of_models_without_an_init_of_their_own(tmp_path):
    _NoInit().save(tmp_path / "n.npz")
    assert type(Module.load(tmp_path / "n.npz")) is _NoInit
    ts.nn.ScaledDotProductAttention().save(tmp_path / "a.npz")  # no weights, no arguments
    assert type(Module.load(tmp_path / "a.npz")) is ts.nn.ScaledDotProductAttention
    model = _InheritedInit(3, 5, bias=False)
    model.save(tmp_path / "i.npz")
    again = _InheritedInit.load(tmp_path / "i.npz")
    assert type(again) is _InheritedInit and again.W.shape == (5, 3) and again.b is None
    np.testing.assert_array_equal(again.W.numpy(), model.W.numpy())


def test_load_on_the_class_keeps_each_weight_in_its_saved_dtype(tmp_path):
    ts.set_default_dtype(np.float64)
    try:
        model = _MixedDtypes()
    finally:
        ts.set_default_dtype(np.float32)
    model.save(tmp_path / "m.npz")
    again = _MixedDtypes.load(tmp_path / "m.npz")
    assert again.scale.dtype == np.float32 and again.lin.W.dtype == np.float64
    np.testing.assert_array_equal(again.lin.W.numpy(), model.lin.W.numpy())  # not rounded


class _LongDouble(Module):
    def __init__(self, n: int = 2) -> None:
        super().__init__()
        self.W = Parameter(np.full((n, n), 1 / 3, np.longdouble))
        self.lin = Linear(n, n)


@pytest.mark.numpy_only
def test_load_on_the_class_builds_in_a_dtype_set_default_dtype_refuses(tmp_path):
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("long double is a double here")
    model = _LongDouble()
    model.save(tmp_path / "m.npz")
    again = _LongDouble.load(tmp_path / "m.npz")
    assert again.W.dtype == np.longdouble and ts.get_default_dtype() == np.float32
    np.testing.assert_array_equal(again.W.numpy(), model.W.numpy())  # not rounded


def test_load_into_a_model_casts_to_its_dtype_as_load_state_dict_does(tmp_path):
    # the two forms of load agree with load_state_dict on what a dtype is: a weight takes
    # the dtype of the model it goes into, and Class.load builds the model the file holds
    ts.set_default_dtype(np.float64)
    try:
        wide = Linear(3, 2)
    finally:
        ts.set_default_dtype(np.float32)
    wide.save(tmp_path / "wide.npz")
    narrow = Linear(3, 2)  # float32
    assert narrow.load(tmp_path / "wide.npz") is narrow
    assert narrow.W.dtype == np.float32 and narrow.b.dtype == np.float32
    np.testing.assert_array_equal(narrow.W.numpy(), wide.W.numpy().astype(np.float32))
    by_state = Linear(3, 2).load_state_dict(wide.state_dict())
    np.testing.assert_array_equal(by_state.W.numpy(), narrow.W.numpy())
    rebuilt = Linear.load(tmp_path / "wide.npz")  # the file's model, float64 as saved
    assert rebuilt.W.dtype == np.float64
    np.testing.assert_array_equal(rebuilt.W.numpy(), wide.W.numpy())
    for doc in (Module.load.__doc__, narrow.load.__doc__, Module.load_state_dict.__doc__):
        assert "dtype" in doc


def test_load_on_the_class_of_a_model_built_from_objects_says_to_build_it(tmp_path):
    class Wrapper(Module):
        def __init__(self, inner: Module) -> None:  # a module: no file can hold it
            super().__init__()
            self.inner = inner

    model = Wrapper(Linear(2, 3))
    assert [n for n, _ in model.named_parameters()] == ["inner.W", "inner.b"]
    model.save(tmp_path / "w.npz")
    with pytest.raises(TypeError, match=r"weights only.*build the model first.*model\.load"):
        Wrapper.load(tmp_path / "w.npz")
    assert Wrapper(Linear(2, 3)).load(tmp_path / "w.npz").inner.W.shape == (3, 2)
    with pytest.raises(TypeError, match=r"MLP.load needs the path of a weights file, got None"):
        ts.nn.MLP.load(None)


class _Layers(Module):  # sizes as *args: plain numbers, but not rebuilt by name
    def __init__(self, *sizes: int) -> None:
        super().__init__()
        self.layers = [Linear(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]


def test_load_on_the_class_of_a_model_whose_constructor_takes_args_says_why(tmp_path):
    # its arguments are plain ints, so "arguments a file cannot hold" alone misled
    _Layers(2, 3, 4).save(tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"weights only.*takes \*args or \*\*kwargs.*model\.load"):
        _Layers.load(tmp_path / "m.npz")
    assert _Layers(2, 3, 4).load(tmp_path / "m.npz").layers[1].W.shape == (4, 3)


def test_load_on_the_class_imports_nothing_a_file_names(tmp_path, monkeypatch):
    import json
    import types
    import zipfile

    from tinygrad_seq.nn.module import _BUILD

    def file_naming(cls: str):
        path = tmp_path / "w.npz"
        with zipfile.ZipFile(path, "w") as archive:
            with archive.open(f"{_BUILD}.npy", "w") as member:
                build = {"class": cls, "arguments": {}}
                np.lib.format.write_array(member, np.array(json.dumps(build)))
        return path

    with pytest.raises(TypeError, match=r"a Evil from module not_imported_yet, which is not"):
        Module.load(file_naming("not_imported_yet:Evil"))  # only imported classes count
    assert "not_imported_yet" not in sys.modules
    with pytest.raises(TypeError, match=r"names os:system, which is not a model class"):
        Module.load(file_naming("os:system"))
    import json.decoder  # a class under its own name, but not a Module

    with pytest.raises(TypeError, match=r"names json\.decoder:JSONDecoder, which is not a model"):
        Module.load(file_naming("json.decoder:JSONDecoder"))
    # a module's __getattr__ (a lazy import, as tinygrad_seq's own) is never asked
    asked = []
    lazy = types.ModuleType("lazy_package")
    lazy.__getattr__ = lambda name: asked.append(name)
    monkeypatch.setitem(sys.modules, "lazy_package", lazy)
    with pytest.raises(TypeError, match=r"names lazy_package:sub.Model, which is not a model"):
        Module.load(file_naming("lazy_package:sub.Model"))
    assert asked == []
    # a class found under another name than its own is refused too
    monkeypatch.setattr(lazy, "Alias", Linear, raising=False)
    with pytest.raises(TypeError, match=r"names lazy_package:Alias, which is not a model class"):
        Module.load(file_naming("lazy_package:Alias"))


class _SavedByAScript(Module):  # (at module level, as a script's own class would be)
    def __init__(self, n: int) -> None:
        super().__init__()
        self.lin = Linear(n, 2)


def test_a_model_a_script_saved_loads_through_its_class_imported_elsewhere(tmp_path, monkeypatch):
    # `python train.py` saves a model whose class lives in __main__; an evaluation script
    # that does `from train import Net` then loads it with Net.load(path)
    path = tmp_path / "m.npz"
    monkeypatch.setattr(_SavedByAScript, "__module__", "__main__")
    model = _SavedByAScript(3)
    model.save(path)
    monkeypatch.undo()
    assert not hasattr(sys.modules["__main__"], "_SavedByAScript")
    loaded = _SavedByAScript.load(path)
    assert type(loaded) is _SavedByAScript and loaded.lin.W.shape == (2, 3)
    np.testing.assert_array_equal(loaded.lin.W.numpy(), model.lin.W.numpy())
    with pytest.raises(TypeError, match=r"saved by a script.*: call _SavedByAScript\.load\(path\)"):
        Module.load(path)  # which class? Module cannot tell: the message says what to do
    with pytest.raises(TypeError, match=r"names __main__:_SavedByAScript, which is not"):
        Linear.load(path)  # another class is not taken for it


def test_a_class_of_the_same_name_in_another_module_is_not_taken_for_the_saved_one(
    tmp_path, monkeypatch
):
    # only a script's __main__ class is looked for by the name of the class asked
    path = tmp_path / "m.npz"
    monkeypatch.setattr(_SavedByAScript, "__module__", "json")  # imported, holds no such class
    _SavedByAScript(3).save(path)
    monkeypatch.undo()
    with pytest.raises(TypeError, match=r"names json:_SavedByAScript, which is not a model"):
        _SavedByAScript.load(path)


def test_files_that_say_how_to_build_load_into_built_models_too(tmp_path):
    path = tmp_path / "m.npz"
    model = MLP([2, 3, 1])
    model.save(path)
    again = MLP([2, 3, 1])
    again.load_state_dict(dict(np.load(path)))  # the build entry is not a weight
    assert Module.load(again, path) is again  # the method called unbound, as before
    np.testing.assert_array_equal(np_of(again.layers[0].W.data), np_of(model.layers[0].W.data))
    with pytest.raises(TypeError, match="takes the path of a weights file only"):
        MLP.load(path, path)


class Snapshot(Module):  # (at module level: Class.load finds classes by their names)
    def __init__(self, n: int) -> None:
        super().__init__()
        self.lin = Linear(n, n)
        self.snap = copy.deepcopy(self) if n == 2 else None  # a copy made while building


class Checkpointed(Module):  # saves itself while it is built
    def __init__(self, n: int, path: str) -> None:
        super().__init__()
        self.lin = Linear(n, n)
        self.save(path)


def test_a_model_saved_while_it_is_built_can_be_rebuilt(tmp_path):
    path = str(tmp_path / "c.npz")
    built = Checkpointed(2, path)
    loaded = Checkpointed.load(path)  # (rebuilding saves again: the file's weights win)
    for name, w in built.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], w)


def test_a_model_built_again_saves_its_latest_arguments(tmp_path):
    model = MLP([2, 3, 1], activation="tanh")
    model.__init__([2, 3, 1], activation="relu")  # built again: a reset
    model.save(tmp_path / "m.npz")
    assert MLP.load(tmp_path / "m.npz").activation == "relu"
    with pytest.raises(ValueError):
        model.__init__([2, 3, 1], activation="no such")  # failed: its weights may be half
    model.save(tmp_path / "m.npz")  # changed, so the file holds them only
    with pytest.raises(TypeError, match="weights only"):
        MLP.load(tmp_path / "m.npz")
    assert MLP([2, 3, 1]).load(tmp_path / "m.npz").layers[0].W.shape == (3, 2)

    first = Snapshot(2)
    first.snap.__init__(5)  # the copy is not marked as being built: it records 5
    first.snap.save(tmp_path / "s.npz")
    assert Snapshot.load(tmp_path / "s.npz").lin.W.shape == (5, 5)


def test_positional_only_arguments_save_the_weights_only(tmp_path):
    class Positional(Module):
        def __init__(self, n, /) -> None:
            super().__init__()
            self.lin = Linear(n, n)

    Positional(2).save(tmp_path / "p.npz")
    with pytest.raises(TypeError, match="weights only"):
        Positional.load(tmp_path / "p.npz")


def test_save_through_a_symlink_writes_its_target_and_keeps_the_mode(tmp_path):
    import os

    target = tmp_path / "run3.npz"
    Linear(3, 2).save(target)
    os.chmod(target, 0o640)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    Linear(3, 2).save(link)
    assert link.is_symlink() and (os.stat(target).st_mode & 0o777) == 0o640
    with pytest.raises(FileNotFoundError) as error:
        Linear(3, 2).save(tmp_path / "no-folder" / "w.npz")
    assert error.value.filename.endswith("no-folder/w.npz")  # the path asked for


def test_records_are_not_looked_through_and_a_list_holding_itself_is_fine(monkeypatch):
    from tinygrad_seq.nn import module

    class Logged(Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = Linear(2, 2)
            self.losses = [0.5] * 1_000_000  # a training record
            self.loop = []
            self.loop.append(self.loop)

    model = Logged()
    visited = []  # every value the walk looks at (it recurses through module._held)
    real = module._held
    monkeypatch.setattr(module, "_held", lambda key, *a: visited.append(key) or real(key, *a))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layer.W", "layer.b"]
    assert len(visited) < 100, visited[:20]  # not a million losses, one by one


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: ts.nn.Linear(3, 2), (2, 3)),
        (lambda: ts.nn.LayerNorm(3), (2, 3)),
        (lambda: ts.nn.RNN(3, 4), (2, 5, 3)),
        (lambda: ts.nn.LSTMCell(3, 4), (2, 3)),
        (lambda: ts.nn.GRU(3, 4), (2, 5, 3)),
        (lambda: ts.nn.TransformerEncoderLayer(4, 2, 8), (2, 5, 4)),
    ],
)
def test_integer_inputs_to_float_layers_are_refused_not_promoted_to_float64(make, shape):
    # NumPy would make int64 @ float32 a float64 result; token ids belong in an Embedding
    model = make()
    with pytest.raises(TypeError, match="expected a float .*got dtype int64.*Embedding"):
        model(ts.Tensor(np.ones(shape, np.int64)))
    out = model(ts.Tensor(np.ones(shape, np.float32)))  # the same numbers as floats work
    first = out[0] if isinstance(out, tuple) else out
    assert first.dtype == np.float32


def test_integer_queries_to_attention_are_refused():
    attend = ts.nn.ScaledDotProductAttention()
    keys = ts.Tensor(np.ones((1, 2, 3), np.float32))
    with pytest.raises(TypeError, match="ScaledDotProductAttention: expected a float query"):
        attend(ts.Tensor(np.ones((1, 2, 3), np.int64)), keys)


def test_loading_wider_weights_keeps_the_model_dtype():
    lin = Linear(2, 2)  # float32
    weights = {name: np.full(p.shape, 0.25, np.float64) for name, p in lin.named_parameters()}
    lin.load_state_dict(weights)
    assert lin.W.dtype == np.float32 and lin.b.dtype == np.float32
    assert np_of(lin.W).tolist() == [[0.25, 0.25], [0.25, 0.25]]


def test_loading_a_transposed_weight_is_refused():
    """Same number of elements, other shape: W (3, 2) given as (2, 3) must not be taken."""
    model = Linear(2, 3)
    state = model.state_dict()
    before = model.W.numpy().copy()
    state["W"] = state["W"].T
    with pytest.raises(ValueError, match="shape"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.W.numpy(), before)


def test_moving_a_model_drops_its_gradients():
    model = Linear(2, 3)
    model(ts.Tensor(np.ones((1, 2), dtype=np.float32))).sum().backward()
    assert model.W.grad is not None
    model.to("numpy")
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "replacement", [lambda a: ts.Tensor(a), lambda a: a, lambda a: ts.nn.Linear(2, 3)]
)
def test_a_weight_replaced_by_something_not_a_parameter_is_refused(replacement):
    # it would drop out of parameters(), optimizers and save without a word (PyTorch refuses)
    model = ts.nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"Linear\.W is a parameter.*ts\.nn\.Parameter"):
        model.W = replacement(np.ones((3, 2), dtype=np.float32))
    assert [name for name, _ in model.named_parameters()] == ["W", "b"]


def test_a_weight_replaced_by_a_parameter_or_none_or_written_into_is_taken():
    model = ts.nn.Linear(2, 3)
    model.W.data[...] = 1.0
    assert model.W.numpy().sum() == 6.0
    model.W = ts.nn.Parameter(np.zeros((3, 2), dtype=np.float32))
    model.b = None
    assert [name for name, _ in model.named_parameters()] == ["W"]
    assert model.W.numpy().sum() == 0.0
    copied = pickle.loads(pickle.dumps(model))  # unpickling sets no attribute one by one
    assert [name for name, _ in copied.named_parameters()] == ["W"]
    model.note = "anything else is free"


def test_a_script_class_named_module_is_not_taken_for_the_library_s(tmp_path):
    class Net(_SavedByAScript):
        pass

    Net.__module__, Net.__qualname__ = "__main__", "Module"  # a script's own "Module"
    path = tmp_path / "m.npz"
    Net(3).save(path)
    with pytest.raises(TypeError, match=r"saved by a script.*: call Module\.load\(path\)"):
        Module.load(path)


def test_an_attribute_that_is_a_plain_tensor_may_be_replaced_by_anything():
    # only parameters are guarded: a plain Tensor (a constant, a mask) is no weight
    model = ts.nn.Linear(2, 3)
    model.mask = ts.Tensor(np.ones(3))
    model.mask = np.zeros(3)
    model.mask = ts.Tensor(np.ones(2))
    assert model.mask.shape == (2,) and [n for n, _ in model.named_parameters()] == ["W", "b"]


def test_a_submodule_replaced_by_something_not_a_module_is_refused():
    model = ts.nn.MLP([2, 3, 2])
    model.head = ts.nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"MLP\.head is a submodule.*not a Module \(Tensor\)"):
        model.head = ts.Tensor(np.ones((3, 2), dtype=np.float32))
    model.head = ts.nn.Linear(3, 4)  # another module, or None, is taken
    assert "head.W" in dict(model.named_parameters())
    model.head = None
    assert not any(name.startswith("head.") for name, _ in model.named_parameters())


def test_strict_false_loads_the_weights_both_have_and_names_the_others():
    """PyTorch's strict=False: a pretrained part goes in, the rest stays, and a warning
    names what was left and what the state had beyond the model (nothing lost unseen)."""
    enc = Encoder()
    before = enc.state_dict()
    state = {n: v + 1 for n, v in before.items()}
    del state["blocks.1.W"]
    state["head.W"] = np.zeros(3)  # not the model's
    with pytest.warns(
        UserWarning, match=r"left as they were \['blocks.1.W'\], not in the model \['head.W'\]"
    ):
        assert enc.load_state_dict(state, strict=False) is enc
    for name, p in enc.named_parameters():
        expected = before[name] if name == "blocks.1.W" else before[name] + 1
        np.testing.assert_array_equal(p.numpy(), expected, err_msg=name)
    with pytest.raises(ValueError, match=r"missing weights \['blocks.1.W'\].*strict=False"):
        enc.load_state_dict(state)
    bad = dict(state, **{"blocks.0.W": np.zeros((1, 1))})
    with pytest.raises(ValueError, match="has shape"):
        enc.load_state_dict(bad, strict=False)  # a shape still has to match
    with pytest.raises(TypeError, match="strict"):
        enc.load_state_dict(before, strict="no")
