"""ts.save_checkpoint and ts.load_checkpoint: a run stopped and resumed from a checkpoint
goes on bit for bit as one never stopped; a checkpoint that does not fit changes nothing."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

import tinygrad_seq as ts


class CharModel(ts.nn.Module):
    """A small character model: embedding, LSTM, dropout, linear read-out."""

    def __init__(self, vocab: int = 7, dim: int = 5, hidden: int = 6) -> None:
        super().__init__()
        self.embed = ts.nn.Embedding(vocab, dim)
        self.lstm = ts.nn.LSTM(dim, hidden)
        self.out = ts.nn.Linear(hidden, vocab)

    def forward(self, ids):
        hs, _ = self.lstm(self.embed(ids))
        return self.out(ts.F.dropout(hs, 0.3, self.training))  # (B, T, V)


def make_run(seed: int):
    """A model, Adam and a StepLR schedule, built from `seed`."""
    ts.manual_seed(seed)
    model = CharModel()
    optimizer = ts.optim.Adam(model.parameters(), lr=0.05)
    return model, optimizer, ts.optim.StepLR(optimizer, step_size=2, gamma=0.5)


def train(model, optimizer, scheduler, steps) -> None:
    data = np.random.default_rng(3).integers(0, 7, size=(10, 4, 6))  # fixed batches
    for step in steps:
        ids = data[step]
        logits = model(ids[:, :-1])
        loss = ts.F.cross_entropy(logits, ids[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def test_a_resumed_run_is_bit_identical_to_one_never_stopped(tmp_path):
    model, optimizer, scheduler = make_run(0)
    train(model, optimizer, scheduler, range(10))
    uninterrupted = {n: a.tobytes() for n, a in model.state_dict().items()}
    after = ts.randn(3).numpy()  # the generator's next draws

    model, optimizer, scheduler = make_run(0)
    train(model, optimizer, scheduler, range(4))
    path = tmp_path / "run.npz"
    ts.save_checkpoint(path, model, optimizer, scheduler, epoch=4, vocab=list("abcdefg"))
    # a new process, as it were: other weights, other generator state
    model, optimizer, scheduler = make_run(99)
    extra = ts.load_checkpoint(path, model, optimizer, scheduler)
    assert extra == {"epoch": 4, "vocab": list("abcdefg")}
    assert optimizer.lr == scheduler.get_last_lr()[0] == 0.05 * 0.5**2
    train(model, optimizer, scheduler, range(extra["epoch"], 10))
    assert {n: a.tobytes() for n, a in model.state_dict().items()} == uninterrupted
    np.testing.assert_array_equal(ts.randn(3).numpy(), after)


def test_extras_come_back_as_they_were_saved_and_a_file_object_works():
    model = CharModel()
    extra = {
        "epoch": 3,
        "loss": 1.25,
        "best": float("inf"),
        "note": "ok",
        "none": None,
        "flags": (True, 2, "x"),
        "table": {"a": [1, 2.5], "b": {"c": np.arange(3)}},
        "scalar": np.float32(0.5),
        "matrix": np.eye(2, dtype=np.float16),
    }
    f = io.BytesIO()
    ts.save_checkpoint(f, model, **extra)
    f.seek(0)
    back = ts.load_checkpoint(f, CharModel())
    assert back.keys() == extra.keys()
    for key in ("epoch", "loss", "best", "note", "none", "flags"):
        assert back[key] == extra[key] and type(back[key]) is type(extra[key])
    assert back["table"]["a"] == [1, 2.5]
    np.testing.assert_array_equal(back["table"]["b"]["c"], np.arange(3))
    assert back["scalar"] == np.float32(0.5) and back["scalar"].dtype == np.float32
    assert back["matrix"].dtype == np.float16 and (back["matrix"] == np.eye(2)).all()


def test_numpy_float64_extras_come_back_as_numpy_float64_infinite_ones_too():
    # np.float64 is a Python float too, whose repr in NumPy 2 ("np.float64(inf)") float()
    # cannot read: a best loss of np.min(...) = inf was saved but could not be loaded
    extra = {"best": np.float64(np.inf), "worst": np.float64(-np.inf), "mean": np.float64(2.5)}
    f = io.BytesIO()
    ts.save_checkpoint(f, CharModel(), nan=np.float64(np.nan), **extra)
    f.seek(0)
    back = ts.load_checkpoint(f, CharModel())
    for key, value in extra.items():
        assert back[key] == value and type(back[key]) is np.float64
    assert np.isnan(back["nan"]) and type(back["nan"]) is np.float64


def test_infinite_and_nan_python_floats_round_trip_and_the_header_stays_strict_json():
    # JSON has no Infinity or NaN (Python's json writes them, other readers refuse them)
    f = io.BytesIO()
    ts.save_checkpoint(f, CharModel(), best=float("inf"), low=-math.inf, nan=math.nan, lr=0.5)
    f.seek(0)
    with np.load(f, allow_pickle=False) as archive:
        header = str(archive["checkpoint"])

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    json.loads(header, parse_constant=refuse)
    f.seek(0)
    back = ts.load_checkpoint(f, CharModel())
    assert back["best"] == math.inf and back["low"] == -math.inf and back["lr"] == 0.5
    assert math.isnan(back["nan"]) and type(back["nan"]) is float


def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path):
    model, optimizer, scheduler = make_run(0)
    train(model, optimizer, scheduler, range(2))
    path = tmp_path / "run.npz"
    ts.save_checkpoint(path, model, optimizer, scheduler)
    # the model and optimizer fit, the schedule does not: nothing may be loaded
    other, other_optimizer, _ = make_run(1)
    train(other, other_optimizer, ts.optim.StepLR(other_optimizer, 3), range(1))
    wrong_schedule = ts.optim.ExponentialLR(other_optimizer, gamma=0.9)
    weights = {n: a.copy() for n, a in other.state_dict().items()}
    grads = [p.grad for p in other.parameters()]  # (loading weights sets them to None)
    assert all(g is not None for g in grads)
    state = other_optimizer.state_dict()
    rng = ts.get_rng_state()
    with pytest.raises(TypeError, match=r"load_checkpoint: .* nothing was loaded: .*StepLR's"):
        ts.load_checkpoint(path, other, other_optimizer, wrong_schedule)
    for name, array in other.state_dict().items():
        np.testing.assert_array_equal(array, weights[name])
    assert all(p.grad is g for p, g in zip(other.parameters(), grads, strict=True))
    assert other_optimizer.lr == state["lr"]
    for a, b in zip(other_optimizer.state_dict()["m"], state["m"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert ts.get_rng_state() == rng
    # another model: its weights are named, nothing loaded
    with pytest.raises(ValueError, match=r"saved from a CharModel\).*missing weights"):
        ts.load_checkpoint(path, ts.nn.Linear(2, 3))
    bigger = CharModel(hidden=8)
    with pytest.raises(ValueError, match=r"has shape .* in the state but .* in the model"):
        ts.load_checkpoint(path, bigger, ts.optim.Adam(bigger.parameters()))
    sgd = ts.optim.SGD(other.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"the state is Adam's, not SGD's"):
        ts.load_checkpoint(path, other, sgd)
    ts.save_checkpoint(path, other)  # weights alone: no optimizer state to give one
    with pytest.raises(ValueError, match=r"holds no optimizer state .* optimizer=None"):
        ts.load_checkpoint(path, other, other_optimizer)


def test_checkpoints_refuse_what_they_cannot_hold_and_files_they_did_not_write(tmp_path):
    model = CharModel()
    path = tmp_path / "c.npz"
    with pytest.raises(TypeError, match=r"extra 'fn' holds a function, which a checkpoint"):
        ts.save_checkpoint(path, model, fn=lambda epoch: epoch)
    with pytest.raises(TypeError, match=r"extra 'x' holds a Tensor: give its values"):
        ts.save_checkpoint(path, model, x=ts.Tensor([1.0]))
    with pytest.raises(TypeError, match=r"keys that are not strings"):
        ts.save_checkpoint(path, model, table={1: 2})
    assert not path.exists()  # (refused before anything is written)
    with pytest.raises(TypeError, match=r"model must be a ts.nn.Module, got PosixPath"):
        ts.save_checkpoint(model, path)
    optimizer = ts.optim.SGD(model.parameters(), lr=0.1)
    other = ts.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"the scheduler sets the lr of another optimizer"):
        ts.save_checkpoint(path, model, other, ts.optim.StepLR(optimizer, 2))
    model.save(path)
    with pytest.raises(ValueError, match=r"not a checkpoint .* read it with model.load\(path\)"):
        ts.load_checkpoint(path, model)
    with pytest.raises(FileNotFoundError, match=r"load_checkpoint: no such file"):
        ts.load_checkpoint(tmp_path / "missing.npz", model)


def test_any_error_while_loading_puts_everything_back(tmp_path, monkeypatch):
    # an error of another kind (a hand-edited schedule state raising KeyError, say) after the
    # weights and the optimizer are loaded: they are put back, and the error is not renamed
    model, optimizer, scheduler = make_run(0)
    train(model, optimizer, scheduler, range(2))
    path = tmp_path / "run.npz"
    ts.save_checkpoint(path, model, optimizer, scheduler)
    other, other_optimizer, other_scheduler = make_run(1)
    weights = {n: a.copy() for n, a in other.state_dict().items()}
    other_optimizer.lr = 0.02  # set by hand, not the schedule's: the one put back
    lr, rng = other_optimizer.lr, ts.get_rng_state()

    real, calls = other_scheduler.load_state_dict, []

    def broken(state):  # fails once, on the saved state; putting back works
        calls.append(state)
        if len(calls) == 1:
            raise KeyError("last_epoch")
        return real(state)

    monkeypatch.setattr(other_scheduler, "load_state_dict", broken, raising=False)
    with pytest.raises(KeyError) as raised:
        ts.load_checkpoint(path, other, other_optimizer, other_scheduler)
    assert raised.value.args == ("last_epoch",)  # its own message, not one wrapped around it
    monkeypatch.undo()
    assert len(calls) == 2  # the saved state, then the schedule's own put back
    for name, array in other.state_dict().items():
        np.testing.assert_array_equal(array, weights[name])
    assert other_optimizer.lr == lr and ts.get_rng_state() == rng
    assert not any(np.any(m) for m in other_optimizer.state_dict()["m"])  # no saved moments
