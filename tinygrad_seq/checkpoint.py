"""One-file checkpoints: a model's weights, its optimizer's and schedule's state, the random
generator's state (dropout's masks) and values of your own (the epoch, the vocabulary), so a
run stopped and resumed goes on exactly as one never stopped.

The file is an .npz archive, as `Module.save` writes, without pickle: the weights are its
members "model/<name>", every other array a member "state/<n>", and a JSON member
"checkpoint" describes the rest (numbers, strings, lists, tuples, dicts, None), each array
named where it belongs.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

from . import backend
from .nn.module import Module, _check_file, _save_archive, _shown
from .optim import LRScheduler, Optimizer
from .tensor import Tensor, get_rng_state, set_rng_state

_FORMAT = "tinygrad_seq checkpoint"
_VERSION = 1
_HEADER = "checkpoint"  # the archive member (a 0-d string array) holding the JSON
_ALLOWED = (
    "numbers, strings, None, NumPy arrays and lists, tuples and dicts (with str keys) of them"
)


def save_checkpoint(
    path: str | os.PathLike | io.IOBase,
    model: Module,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    **extra: Any,
) -> None:
    """Write a model's weights and everything a resumed run needs to one .npz file.

    That is the weights, the optimizer's and schedule's state, the random generator's state
    and the `extra` values (epoch=3, vocab=chars). `load_checkpoint` reads it back into a
    model, optimizer and schedule built as these were, and the run goes on as if it had not
    stopped: the same dropout masks (the generator behind `ts.randn` and dropout is saved)
    and the same updates. `extra` values may be numbers, strings, None, NumPy arrays and
    lists, tuples and dicts (with str keys) of them; anything else is a TypeError, before a
    file is written (the file holds no pickle). As `Module.save`: written at `path` exactly,
    beside it first and then moved over it (an earlier file stays whole if writing fails),
    or into a binary file object where it stands, which is left open."""
    who = "save_checkpoint"
    _check_parts(who, model, optimizer, scheduler)  # (first: save_checkpoint(model, path))
    _check_file(path, who, "write")
    encoder = _Encoder(who)
    header = {
        "format": _FORMAT,
        "version": _VERSION,
        "model": type(model).__name__,
        "optimizer": encoder.encode(optimizer and optimizer.state_dict(), "the optimizer"),
        "scheduler": encoder.encode(scheduler and scheduler.state_dict(), "the schedule"),
        "rng": encoder.encode(get_rng_state(), "the generator's state"),
        "extra": {name: encoder.encode(value, f"extra {name!r}") for name, value in extra.items()},
    }
    members = {f"model/{name}": array for name, array in model.state_dict().items()}
    members.update(encoder.arrays)
    members[_HEADER] = np.array(json.dumps(header))  # (a string array: no pickle)
    _save_archive(path, members)


def load_checkpoint(
    path: str | os.PathLike | io.IOBase,
    model: Module,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
) -> dict[str, Any]:
    """Read a checkpoint of `save_checkpoint` into the model, optimizer and schedule.

    Returns the `extra` values saved with it, as a dict. The generator behind `ts.randn` and
    dropout is set to the state it had when saved. The model, optimizer and schedule must be
    built as the saved ones were: the same weight names and shapes (each weight cast to the
    model's dtype), the same optimizer and schedule classes (a LambdaLR made with its
    function again). Give `optimizer=None` to read the weights alone (for generating text,
    say). A file or a part that does not fit is a ValueError or TypeError, and then nothing
    is changed: not the weights, not the optimizer, the schedule nor the generator."""
    who = "load_checkpoint"
    _check_parts(who, model, optimizer, scheduler)  # (first: load_checkpoint(model, path))
    _check_file(path, who, "read")
    weights, header, arrays = _read(path, who)
    decoder = _Decoder(arrays, who, path)
    saved = {}
    for part, given in (("optimizer", optimizer), ("scheduler", scheduler)):
        if given is None:
            continue
        if header.get(part) is None:
            raise ValueError(
                f"{who}: {_shown(path)} holds no {part} state (it was saved without one): "
                f"load it with {part}=None"
            )
        saved[part] = decoder.decode(header[part])
    rng_state = decoder.decode(header.get("rng"))
    extra = {name: decoder.decode(value) for name, value in header.get("extra", {}).items()}

    # Everything is read; now each part is loaded, checked as it goes, and on an error the
    # parts already loaded are put back as they were.
    kept = [(p, p.data, p.grad) for p in model.parameters()]
    kept_optimizer = None if optimizer is None else optimizer.state_dict()
    kept_scheduler = None if scheduler is None else scheduler.state_dict()
    kept_rng = get_rng_state()
    try:
        model.load_state_dict(weights)
        if optimizer is not None:
            optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        set_rng_state(rng_state)
    except Exception as e:  # (any error: a hand-edited file may raise a KeyError, say)
        for p, data, grad in kept:
            p.data, p.grad = data, grad
        if scheduler is not None:  # (before the optimizer: loading a schedule sets its lr)
            scheduler.load_state_dict(kept_scheduler)
        if optimizer is not None:
            optimizer.load_state_dict(kept_optimizer)
        set_rng_state(kept_rng)
        if not isinstance(e, (TypeError, ValueError)):
            raise
        saved_model = header.get("model")
        of = f" (saved from a {saved_model})" if saved_model != type(model).__name__ else ""
        raise type(e)(f"{who}: {_shown(path)}{of} does not fit, nothing was loaded: {e}") from None
    return extra


def _check_parts(who: str, model, optimizer, scheduler) -> None:
    """A TypeError unless the model is a Module, the optimizer one of ts.optim's (or None)
    and the scheduler a schedule of it (or None)."""
    if not isinstance(model, Module):
        raise TypeError(
            f"{who}: model must be a ts.nn.Module, got {type(model).__name__} (the "
            f"arguments are {who}(path, model, optimizer=None, scheduler=None))"
        )
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{who}: optimizer must be a ts.optim optimizer or None, got {type(optimizer).__name__}"
        )
    if scheduler is not None:
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(
                f"{who}: scheduler must be a ts.optim schedule (StepLR, ...) or None, got "
                f"{type(scheduler).__name__}"
            )
        if optimizer is None or scheduler.optimizer is not optimizer:
            raise ValueError(
                f"{who}: the scheduler sets the lr of another optimizer than the one given "
                "(or none was given): pass the optimizer it was made with"
            )


def _read(path, who: str) -> tuple[dict, dict, dict]:
    """(weights, header, other arrays) of a checkpoint file, or a clear error."""
    not_one = f"{who}: {_shown(path)} is not a checkpoint written by ts.save_checkpoint"
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(
            2, f"{who}: no such file (ts.save_checkpoint(path, ...) writes one)", os.fspath(path)
        ) from None
    except (ValueError, EOFError, zipfile.BadZipFile):
        raise ValueError(f"{not_one} (an .npz archive)") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{not_one} (an .npz archive)")
    with archive:
        if _HEADER not in archive.files:
            hint = ""
            if "__build__" in archive.files or all("/" not in f for f in archive.files):
                hint = (
                    ": it holds weights alone, as model.save writes them; read it with "
                    "model.load(path)"
                )
            raise ValueError(f"{not_one}{hint}")
        try:
            members = {name: archive[name] for name in archive.files}
            header = json.loads(str(members.pop(_HEADER)))
        except (ValueError, OSError, zipfile.BadZipFile) as e:
            raise ValueError(f"{not_one} ({e})") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise ValueError(not_one)
    if header.get("version") != _VERSION:
        raise ValueError(
            f"{who}: {_shown(path)} is a checkpoint of format version {header.get('version')!r}, "
            f"which this version (reading version {_VERSION}) cannot read"
        )
    weights = {n[len("model/") :]: a for n, a in members.items() if n.startswith("model/")}
    arrays = {n: a for n, a in members.items() if not n.startswith("model/")}
    return weights, header, arrays


class _Encoder:
    """Values made JSON: each array set aside as a member "state/<n>" and named in its place
    ({"array": name}), a tuple as {"tuple": [...]}, a dict as {"dict": {...}}."""

    def __init__(self, who: str) -> None:
        self.who, self.arrays = who, {}

    def encode(self, value, where: str):
        if value is None or isinstance(value, bool | int | str):
            return value
        # (a NumPy scalar before float: np.float64 is a float whose repr, "np.float64(inf)",
        # float() cannot read back; as an array it comes back as the np.float64 it was)
        if isinstance(value, float) and not isinstance(value, np.generic):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, Tensor):
            raise TypeError(f"{self.who}: {where} holds a Tensor: give its values, tensor.numpy()")
        if isinstance(value, (np.generic, *backend.ARRAY_TYPES)):
            array = backend.to_numpy(value)
            if array.dtype.kind not in "biufcSU":
                raise TypeError(
                    f"{self.who}: {where} holds an array of {array.dtype} objects, which a "
                    f"checkpoint cannot hold without pickle: give {_ALLOWED}"
                )
            name = f"state/{len(self.arrays)}"
            self.arrays[name] = array
            return {"array": name, "scalar": isinstance(value, np.generic)}
        if isinstance(value, list):
            return [self.encode(v, where) for v in value]
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v, where) for v in value]}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(
                    f"{self.who}: {where} holds a dict with keys that are not strings: give "
                    "str keys (a JSON object's)"
                )
            return {"dict": {k: self.encode(v, where) for k, v in value.items()}}
        raise TypeError(
            f"{self.who}: {where} holds a {type(value).__name__}, which a checkpoint cannot "
            f"hold without pickle: give {_ALLOWED}"
        )


class _Decoder:
    """The values `_Encoder` wrote, arrays taken from the archive's members."""

    def __init__(self, arrays: dict, who: str, path) -> None:
        self.arrays, self.who, self.path = arrays, who, path

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "tuple" in value:
            return tuple(self.decode(v) for v in value["tuple"])
        if "dict" in value:
            return {k: self.decode(v) for k, v in value["dict"].items()}
        if "float" in value:
            return float(value["float"])
        if value.get("array") in self.arrays:
            array = self.arrays[value["array"]]
            return array[()] if value.get("scalar") else array
        raise ValueError(
            f"{self.who}: {_shown(self.path)} is damaged: it names a member {value!r} it lacks"
        )
