"""Module and Parameter: weights that know their names, and models made of modules.

A Module finds its parameters by looking at its own attributes: a `Parameter`, a `Module`,
or lists, tuples, deques and dicts holding them (named "layers.0", "heads.query", ...), so
PyTorch's ModuleList and ModuleDict are plain lists and dicts here. A Tensor that requires
grad but is not a Parameter, alone or in a container, and a set holding modules (no order,
so no names) are left out with a warning, as two weights given the same name are refused.
`named_parameters()` lists a module's own parameters first, in the order they were
assigned, then each submodule's the same way.
No registration calls, no metaclass: what you assign in `__init__` is what you get.

`save(path)` writes the weights and, when they are plain values (sizes, names, flags), the
arguments the model was built with; so `model.load(path)` reads weights into a built model
and `Seq2Seq.load(path)` (or `Module.load(path)`) builds the model first.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import functools
import inspect
import io
import json
import math
import numbers
import os
import reprlib
import secrets
import shutil
import sys
import threading
import types
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .. import backend
from .._checks import as_bool, as_int
from ..tensor import (
    Tensor,
    _check_grad_dtype,
    _to_array,
    _use_default_dtype,
    clear_grads,
    get_default_dtype,
    rng,
)
from . import _pytorch_keywords

# Type hints for the models' inputs (each model checks them at run time): token ids as an
# integer Tensor, NumPy (or CuPy) array or nested list; masks as a bool Tensor or array.
Ids = Tensor | np.ndarray | list
Mask = Tensor | np.ndarray


class Parameter(Tensor):
    """A leaf Tensor that requires grad: a weight of a Module."""

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None, dtype: Any = None) -> None:
        arr = _to_array(data, dtype)
        _check_grad_dtype(arr.dtype, "Parameter")
        super().__init__(arr, requires_grad=True, name=name)


def check_float(x: Tensor, who: str, what: str = "input") -> None:
    """A TypeError unless x holds floats: integers meeting float weights would make a
    float64 result (NumPy's promotion) and token ids belong in an Embedding first."""
    if x.data.dtype.kind != "f":
        raise TypeError(
            f"{who}: expected a float {what}, got dtype {x.data.dtype} (token ids go through "
            "an Embedding first; to use other numbers as features, make them float: "
            "Tensor(x, dtype='float32'))"
        )


def check_sizes(who: str, *, at_least: int = 1, **sizes: Any) -> None:
    """A TypeError unless each size is an int, a ValueError unless it is ≥ `at_least`,
    naming the model and the argument (not NumPy's error from deep inside the
    initialisation)."""
    for name, size in sizes.items():
        n = as_int(size, f"{who}: {name}")
        if n < at_least:
            raise ValueError(f"{who}: {name} must be at least {at_least}, got {n}")


def check_token(who: str, name: str, token: Any, vocab: int) -> int:
    """A token id argument (bos, eos) as an int in [0, vocab), or a TypeError/ValueError
    naming it (not an embedding's error about ids, nor 0.5 silently read as 0)."""
    token = as_int(token, f"{who}: {name}", "an int token id")
    if not 0 <= token < vocab:
        raise ValueError(f"{who}: {name} must be a token id in [0, {vocab}), got {token}")
    return token


def check_decode(who: str, max_len: Any, bos: Any, eos: Any, vocab: int) -> tuple[int, int]:
    """greedy_decode's arguments checked: max_len an int ≥ 0, bos and eos token ids (eos
    None: no stop token, every row gets max_len tokens; -1 stands for it, as no argmax is
    ever -1). Returns (bos, eos)."""
    check_sizes(who, at_least=0, max_len=max_len)
    bos = check_token(who, "bos", bos, vocab)
    return bos, -1 if eos is None else check_token(who, "eos", eos, vocab)


@contextlib.contextmanager
def evaluating(module: Module) -> Iterator[None]:
    """Run a block in eval mode (dropout off), then give each submodule its own mode back."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def uniform_init(shape: tuple[int, ...], fan_in: int, name: str | None = None) -> Parameter:
    """U(−1/√fan_in, 1/√fan_in), as PyTorch initialises Linear, RNN, LSTM and GRU weights."""
    bound = 1.0 / np.sqrt(fan_in) if fan_in else 0.0
    values = rng().uniform(-bound, bound, size=shape).astype(get_default_dtype())
    return Parameter(values, name=name)


# what a container of data (not of modules) holds: it is not looked through
_DATA = (numbers.Number, str, bytes, np.ndarray, np.generic, Tensor, type(None))


def _only_data(kinds: set[type]) -> bool:
    """Whether every item of a container whose items' types are `kinds` is data: a number, a
    string, an array or a tensor that is not a Parameter. Decided by the types, gathered in
    C (~15 ms for a list of a million losses), so a training record costs next to nothing
    on every `parameters()`."""
    return all(issubclass(cls, _DATA) and not issubclass(cls, Parameter) for cls in kinds)


def _warn_plain_weights(names: list[str]) -> None:
    """Warn that the Tensors `names` look like weights (leaves that require grad) but are
    not Parameters, so the model leaves them out."""
    shown = ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")
    one = len(names) == 1
    warnings.warn(
        f"attribute{'' if one else 's'} {shown} {'is a Tensor' if one else 'are Tensors'} with "
        "requires_grad=True, "
        f"not {'a ts.nn.Parameter' if one else 'ts.nn.Parameters'}: parameters(), optimizers, "
        f"save and load leave {'it' if one else 'them'} out (as in PyTorch); make "
        f"{'it' if one else 'each'} ts.nn.Parameter(...) to train {'it' if one else 'them'} "
        "with the model",
        UserWarning,
        stacklevel=_caller_outside_this_file(),
    )


def _caller_outside_this_file() -> int:
    """The `stacklevel` that points a warning raised in this file's caller at the first
    frame outside it (the user's `model.parameters()` line, not a line in here)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _held(key: str, value: Any, seen: set[int] | None = None):
    """The parameters and modules in attribute `key`: the value itself, or those inside a
    list, tuple or dict, at any depth ("layers.0", "heads.query.1", ...). A container that
    holds only data (numbers, strings, arrays: a record such as a list of losses) is not
    looked through; one met before (a list holding itself) is skipped."""
    if isinstance(value, Parameter | Module):
        yield key, value
        return
    if isinstance(value, Tensor):
        if value.requires_grad and value._ctx is None:  # a weight, by the look of it
            _warn_plain_weights([key])
        return
    if isinstance(value, dict):
        items, values = value.items(), value.values()
    elif isinstance(value, list | tuple | collections.deque):
        items, values = enumerate(value), value
    elif isinstance(value, set | frozenset):  # no order, so no names for its weights
        if value and not _only_data(set(map(type, value))):
            warnings.warn(
                f"attribute {key!r} is a set holding modules or parameters: a set has no "
                "order, so its weights cannot be named, and parameters(), optimizers, save "
                "and load leave them out; hold them in a list (or a dict, by name)",
                UserWarning,
                stacklevel=_caller_outside_this_file(),
            )
        return
    else:
        return
    seen = set() if seen is None else seen
    if not value or id(value) in seen:
        return
    kinds = set(map(type, values))
    if _only_data(kinds):
        if any(issubclass(cls, Tensor) for cls in kinds):  # a list of weights, not Parameters?
            weights = [
                f"{key}.{k}"
                for k, v in items
                if isinstance(v, Tensor) and v.requires_grad and v._ctx is None
            ]
            if weights:
                _warn_plain_weights(weights)
        return
    seen.add(id(value))
    for k, item in items:
        yield from _held(f"{key}.{k}", item, seen)


def _refuse_clashing_names(module: Module, named: list[tuple[str, Parameter]]) -> None:
    """A ValueError naming two different weights that got the same dotted name (dict keys
    1 and "1", or a key with a dot in it, read alike): state_dict and save would keep
    one of them, and load would give both the same values."""
    names: set[str] = set()
    for name, _ in named:
        if name in names:
            raise ValueError(
                f"{type(module).__name__}: two different weights are both named {name!r} "
                "(dict keys such as 1 and '1', or a key with a dot in it, make the same "
                "dotted name): state_dict and save would keep only one of them. Give them "
                "distinct string keys without dots"
            )
        names.add(name)


# the archive member that holds how to build the saved model (see Module.save); a ':'
# cannot be in a weight's name, made of attribute names and dots
_BUILD = "tinygrad_seq:model"


def _plain(value: Any) -> Any:
    """A constructor argument as a file can hold it (JSON): None, a bool, int, float or
    string, or a list of them (a tuple becomes a list, a NumPy number a Python one); or
    _NOT_PLAIN (an array, a module, a function, NaN...)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _NOT_PLAIN  # (JSON has no NaN)
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items) else items
    return _NOT_PLAIN


_NOT_PLAIN = object()


def _recording_arguments(init, owner: type):
    """`init` (`owner`'s) that first notes the arguments the model is built with (the
    outermost constructor's only: a subclass's super().__init__(...) is part of building
    it). Arguments that do not bind get Python's error, or, for PyTorch's keywords
    (`input_size=`), one that says what to write."""
    signature = inspect.signature(init)
    kinds = {p.kind for p in list(signature.parameters.values())[1:]}
    # rebuilt as Class(**arguments): not for *args, **kwargs or positional-only parameters
    by_name = not kinds & {
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
        inspect.Parameter.POSITIONAL_ONLY,
    }

    @functools.wraps(init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        building = _building.__dict__.setdefault("ids", set())  # (this thread's)
        if id(self) in building:  # a super().__init__(...) inside the outermost
            try:
                signature.bind(self, *args, **kwargs)
            except TypeError:  # (PyTorch's keywords: named as owner's, the call to write)
                pytorchs = _pytorch_keywords.keywords_error(
                    owner, owner, signature, args, kwargs, call="super().__init__"
                ) or _pytorch_keywords.positional_error(owner, owner, signature, args)
                if pytorchs is not None:
                    raise pytorchs from None
            init(self, *args, **kwargs)
            return
        arguments = None  # (None: the file gets the weights only; Class.load says why)
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            pytorchs = _pytorch_keywords.keywords_error(
                type(self), owner, signature, args, kwargs
            ) or _pytorch_keywords.positional_error(type(self), owner, signature, args)
            if pytorchs is not None:
                raise pytorchs from None
            bound = None  # init raises the same error, with its own message
        if bound is not None and by_name:
            bound.apply_defaults()
            given = {k: _plain(v) for k, v in list(bound.arguments.items())[1:]}  # (no self)
            if _NOT_PLAIN not in given.values():
                arguments = given
        # set first (a model may save itself while it is built); None if building fails,
        # as the weights may then be half changed: a file with weights only
        object.__setattr__(self, "_built_with", arguments)
        building.add(id(self))
        try:
            init(self, *args, **kwargs)
        except BaseException:
            object.__setattr__(self, "_built_with", None)
            raise
        finally:
            building.discard(id(self))

    return __init__


# the models whose outermost constructor is running, per thread (kept off the models, so
# a copy made while building is not marked)
_building = threading.local()


def _check_file(target: Any, who: str, method: str) -> None:
    """A TypeError unless `target` is a path (str or os.PathLike) or a binary file object
    with `method` ("read" to load, "write" to save)."""
    if isinstance(target, str | os.PathLike):
        return
    if isinstance(target, io.TextIOBase):  # (NumPy's archive is bytes)
        raise TypeError(f"{who}: the file is open in text mode; open it in binary mode ('b')")
    if callable(getattr(target, method, None)):
        # an open file has both methods, the one its mode does not allow raising
        # io.UnsupportedOperation: asked first, readable() or writable() says which it allows
        able = getattr(target, "writable" if method == "write" else "readable", None)
        if callable(able) and not getattr(target, "closed", False) and not able():
            mode = getattr(target, "mode", None)
            opened = f" (opened {mode!r})" if isinstance(mode, str) else ""
            wanted = "'wb'" if method == "write" else "'rb'"
            raise TypeError(
                f"{who}: {_shown(target)}{opened} is not open for "
                f"{'writing' if method == 'write' else 'reading'}: open it with {wanted}"
            )
        return
    if isinstance(target, bytes | bytearray | memoryview):
        instead = (
            "a weights file's contents? give io.BytesIO(data)"
            if method == "read"
            else "to keep the file in memory, give an io.BytesIO()"
        )
        raise TypeError(
            f"{who} takes a path (str or os.PathLike) or a binary file object, got "
            f"{len(target)} bytes ({instead})"
        )
    raise TypeError(
        f"{who} takes the path of a weights file or a binary file object, which has a "
        f"{method}() method, got {reprlib.repr(target)}"
    )


def _shown(target: str | os.PathLike | io.IOBase) -> str:
    """A weights file as messages name it: its path, or the file object."""
    if isinstance(target, str | os.PathLike):
        return repr(os.fspath(target))
    name = getattr(target, "name", None)  # (an open file's path)
    return f"the file object {name!r}" if isinstance(name, str) else f"the {type(target).__name__}"


def _read_weights(path: str | os.PathLike | io.IOBase, who: str) -> dict[str, np.ndarray]:
    """{name: array} of a file written by Module.save; a clear ValueError for another, and
    a FileNotFoundError naming the path where there is none. A file object is read from
    where it stands, and left open."""
    not_weights = ValueError(
        f"{who}.load: {_shown(path)} is not a weights file written by Module.save (an "
        ".npz archive of named arrays)"
    )
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile):  # not an .npz (or .npy) file
        if isinstance(path, str | os.PathLike):
            raise not_weights from None
        raise ValueError(  # (most often: written, then read without going back to its start)
            f"{who}.load: {_shown(path)} holds no weights file written by Module.save from "
            "its current position on (after model.save(f), call f.seek(0) before loading f)"
        ) from None
    except FileNotFoundError:  # (the same type, with the path and what writes such a file)
        given = os.fspath(path)
        also = ""
        if not given.endswith(".npz") and os.path.exists(given + ".npz"):
            also = f"; there is a {given + '.npz'!r}: np.savez adds .npz, model.save does not"
        raise FileNotFoundError(  # ("[Errno 2] Linear.load: no such file (...): 'path'")
            errno.ENOENT,
            f"{who}.load: no such file (model.save(path) writes a weights file there{also})",
            given,
        ) from None
    if not isinstance(data, np.lib.npyio.NpzFile):  # a single .npy array
        raise not_weights
    with data:
        try:
            return {k: data[k] for k in data.files}
        except (ValueError, OSError, zipfile.BadZipFile) as e:  # an object array, a bad member
            raise ValueError(f"{not_weights} ({e})") from None


def _saved_class(module_name: str, qualname: str, name: str, who: str, path) -> type:
    """The model class `name` ("module:qualname") a file names, found among the modules
    already imported (a file never makes us import one), or a clear TypeError."""
    saved = sys.modules.get(module_name)
    if saved is None:
        raise TypeError(
            f"{who}: {_shown(path)} holds a {qualname} from module {module_name}, "
            "which is not imported: import it first, or build the model and call "
            "model.load(path)"
        )
    for part in qualname.split("."):  # looked up in the namespaces themselves: no
        saved = vars(saved).get(part) if hasattr(saved, "__dict__") else None  # __getattr__
    if not (
        isinstance(saved, type)
        and issubclass(saved, Module)
        and f"{saved.__module__}:{saved.__qualname__}" == name
    ):
        hint = "build the model and call model.load(path)"
        if module_name == "__main__":
            hint = (
                f"it was saved by a script run as __main__: call {qualname}.load(path) on "
                f"the class itself, imported from the script, or {hint}"
            )
        raise TypeError(
            f"{who}: {_shown(path)} names {name}, which is not a model class (a "
            f"Module) defined under that name in that module: {hint}"
        )
    return saved


def _with_doc(fn, doc: str):
    """A copy of the function `fn` with the docstring `doc`."""
    copy = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    copy.__kwdefaults__, copy.__annotations__ = fn.__kwdefaults__, fn.__annotations__
    copy.__qualname__, copy.__doc__ = fn.__qualname__, doc
    return copy


def _write_archive(f: Any, state: dict[str, np.ndarray]) -> None:
    """`state` written into the binary file object `f`, as np.savez writes an .npz: one .npy
    member per weight (the names not passed as keyword arguments, where a weight named
    "file" would clash with them). `f` is left open."""
    with zipfile.ZipFile(f, "w") as archive:
        for name, array in state.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _save_archive(path: str | os.PathLike | io.IOBase, state: dict[str, np.ndarray]) -> None:
    """`state` written as an .npz archive (`_write_archive`) to `path`, or into a binary file
    object where it stands (left open). A path is written beside it under another name, then
    moved over it: an error or an interrupt midway leaves any earlier file there as it was."""
    if not isinstance(path, str | os.PathLike):  # a file object
        _write_archive(path, state)
        return
    given = os.fspath(path)
    path = os.path.realpath(given)  # a symlink's target is written, not the link replaced
    if os.path.isdir(path):  # (os.replace would name the hidden partial file)
        raise IsADirectoryError(
            errno.EISDIR, "a folder, not a file: give the weights file's path", given
        )
    folder, name = os.path.split(path)
    # (not tempfile.mkstemp: its files are private, 0600; this one gets the umask's mode,
    # or the old file's)
    partial = os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        f = open(partial, "xb")  # (closed by the with below)
    except OSError as e:  # a missing or read-only folder: name the file asked for
        raise type(e)(e.errno, e.strerror, given) from None
    try:
        with f:
            _write_archive(f, state)
        if os.path.exists(path):
            shutil.copymode(path, partial)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise


class _ModelOrClassMethod:
    """A method that runs on the model when called on one (`model.load(path)`) and on the
    class when called on it (`Seq2Seq.load(path)`)."""

    def __init__(self, on_model, on_class, doc: str) -> None:
        # copies carry the doc (what help() shows), so that a function shared with another
        # class (Sequential's load reads weights as Module's does) keeps its own
        self.on_model, self.on_class = _with_doc(on_model, doc), _with_doc(on_class, doc)
        self.__doc__ = doc

    def __get__(self, model, cls=None):
        if model is None:
            return types.MethodType(self.on_class, cls)
        return types.MethodType(self.on_model, model)


class Module:
    """Base class of every model: parameters, train/eval, saving and loading."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # (it takes no arguments, as its signature below says: any given are answered with
        # what to write instead of Python's "unexpected keyword argument")
        if args or kwargs:
            raise _pytorch_keywords.module_init_error(type(self), Module, args, kwargs)
        self.training = True

    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)],
        return_annotation=None,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:  # note what each model is built with, for load
            cls.__init__ = _recording_arguments(cls.__dict__["__init__"], cls)

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        """The model's computation; every subclass defines it, and `model(...)` calls it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def __setattr__(self, key: str, value: Any) -> None:
        # a weight replaced by a plain Tensor or array (model.W = ts.Tensor(a)) would drop
        # out of parameters(), optimizers and save without a word: refused, as in PyTorch
        if isinstance(self.__dict__.get(key), Parameter) and not (
            value is None or isinstance(value, Parameter)
        ):
            raise TypeError(
                f"{type(self).__name__}.{key} is a parameter: assigning it a value that is not "
                f"one ({type(value).__name__}) would leave it out of parameters(), optimizers "
                f"and save. Assign ts.nn.Parameter(new_values) (a new weight: make the optimizer "
                f"again), or write the new values into its array: model.{key}.data[...] = "
                f"new_values, then ts.autograd.changed_in_place(model.{key}) (a graph recorded "
                "before the write then refuses its backward, which would use the new values)"
            )
        if isinstance(self.__dict__.get(key), Module) and not (
            value is None or isinstance(value, Module)
        ):  # (likewise a submodule replaced by a Tensor: its weights would drop out)
            raise TypeError(
                f"{type(self).__name__}.{key} is a submodule: assigning it a value that is "
                f"not a Module ({type(value).__name__}) would leave its weights out of "
                "parameters(), optimizers and save. Assign a Module (or None)"
            )
        object.__setattr__(self, key, value)

    # -------------------------------------------------------------- walking the tree
    def _children(self) -> Iterator[tuple[str, Parameter | Module]]:
        if "training" not in self.__dict__:
            raise TypeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                "assigning parameters or submodules"
            )
        for key, value in self.__dict__.items():
            yield from _held(key, value)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) for every parameter, each shared one once.

        With a `prefix`, every name starts with "prefix." ("enc.W"), as in PyTorch."""
        seen: set[int] = set()  # parameters and modules met already (a module may hold
        stack = [(f"{prefix}." if prefix else "", self)]  # its parent: a cycle, walked once)
        out: list[tuple[str, Parameter]] = []
        while stack:
            pre, module = stack.pop(0)
            if id(module) in seen:
                continue
            seen.add(id(module))
            subs = []
            for key, value in module._children():
                name = f"{pre}{key}"
                if isinstance(value, Parameter):
                    if id(value) not in seen:
                        seen.add(id(value))
                        out.append((name, value))
                else:
                    subs.append((name + ".", value))
            stack[0:0] = subs  # then the submodules, depth-first, in assignment order
        if len({name for name, _ in out}) != len(out):
            _refuse_clashing_names(self, out)
        return iter(out)

    def parameters(self) -> list[Parameter]:
        """Every parameter, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, depth-first, each once."""
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield module
            subs = [v for _, v in module._children() if isinstance(v, Module)]
            stack.extend(reversed(subs))  # depth-first, in assignment order

    def num_parameters(self) -> int:
        """How many numbers the model learns."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: `.grad = None`, or zeros written into it.

        Zeros are written in with `set_to_none=False` (as PyTorch's)."""
        clear_grads(self.parameters(), set_to_none, f"{type(self).__name__}.zero_grad")

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and all submodules."""
        mode = as_bool(mode, f"{type(self).__name__}.train: mode")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off)."""
        return self.train(False)

    def to(self, backend_name: str) -> Module:
        """Move every parameter to backend 'numpy' or 'cupy', in place.

        Gradients are dropped (`.grad = None`): they were on the old backend, for the old graph."""
        for p in self.parameters():
            p.data = backend.to_backend(p.data, backend_name)
            p.grad = None
        return self

    # -------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: NumPy copy of the weight}."""
        return {name: p.numpy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> Module:
        """Copy weights in by name, each cast to its parameter's dtype and backend.

        As PyTorch's copies into the existing parameter: float64 weights loaded into a float32 model
        make float32 weights. Every name and shape is checked before anything is copied, so a bad
        state leaves the module untouched.

        A weight of the model missing from `state`, or a name in `state` the model lacks,
        is an error; with `strict=False` (PyTorch's, for a pretrained part of a model) the
        weights both have are loaded, the others left as they are, and a warning names
        them. A shape that differs is an error either way."""
        who = f"load_state_dict into {type(self).__name__}"
        if not isinstance(state, Mapping):
            raise TypeError(
                f"{who}: expected a dict of weight name -> array (as state_dict() returns), "
                f"got {type(state).__name__}"
            )
        strict = as_bool(strict, f"{who}: strict")
        params = dict(self.named_parameters())
        missing = [n for n in params if n not in state]
        # (how to build the model, which save writes beside the weights, is not a weight)
        unexpected = [n for n in state if n not in params and n != _BUILD]
        if (missing or unexpected) and strict:
            raise ValueError(
                f"{who}: missing weights {missing}, unexpected weights {unexpected} (strict="
                "False loads the weights both have)"
            )
        if missing:
            params = {n: p for n, p in params.items() if n in state}
        arrays = {}
        for name, p in params.items():
            value = state[name]
            if isinstance(value, Tensor):
                value = value.data
            try:
                value = backend.to_numpy(value) if hasattr(value, "shape") else np.asarray(value)
            except (TypeError, ValueError) as e:  # e.g. ragged nested lists
                raise TypeError(f"{who}: weight {name!r} cannot be read as an array: {e}") from None
            if value.shape != tuple(p.shape):
                raise ValueError(
                    f"{who}: weight {name!r} has shape {value.shape} in the state but "
                    f"{tuple(p.shape)} in the model"
                )
            if value.dtype.kind not in "biuf":  # complex would lose its imaginary part
                raise TypeError(
                    f"{who}: weight {name!r} cannot be read as {p.dtype} numbers: it holds "
                    f"{value.dtype} values"
                )
            arrays[name] = value.astype(p.dtype, copy=False)
        # Every weight is checked and converted: only now is anything replaced.
        if missing or unexpected:  # (strict=False: said once the rest has passed its checks)
            warnings.warn(
                f"{who} (strict=False): left as they were {missing}, not in the model {unexpected}",
                UserWarning,
                stacklevel=2,
            )
        for name, p in params.items():
            p.data = backend.to_backend(arrays[name], p.backend)
            p.grad = None
        return self

    def save(self, path: str | os.PathLike | io.IOBase) -> None:
        """Write the weights, and how to build the model, to a NumPy .npz file.

        The file is written at `path` exactly (no suffix added), with its class and the arguments it
        was built with, when they are plain values (sizes, names, flags), so `Class.load(path)` can
        rebuild it.

        The file is written beside `path` under another name, then moved over it: an
        error or an interrupt midway leaves any earlier file at `path` as it was. `path` may
        also be a binary file object (io.BytesIO, open(..., "wb")): the archive is written
        into it where it stands (seek(0) before loading from it), and it is left open."""
        _check_file(path, f"{type(self).__name__}.save", "write")
        state = self.state_dict()
        built_with = self.__dict__.get("_built_with")
        if built_with is not None:
            cls = type(self)
            build = {"class": f"{cls.__module__}:{cls.__qualname__}", "arguments": built_with}
            state[_BUILD] = np.array(json.dumps(build))  # (a string array: no pickle)
        _save_archive(path, state)

    def _load_into(self, path: str | os.PathLike | io.IOBase | None = None, *rest: Any) -> Module:
        """Read weights saved by `save` into this built model (checked first); returns it."""
        if rest:
            raise TypeError(
                f"{type(self).__name__}.load takes the path of a weights file only, got "
                f"{len(rest) + 1} arguments"
            )
        if path is None:
            raise TypeError(f"{type(self).__name__}.load needs the path of a weights file")
        _check_file(path, f"{type(self).__name__}.load", "read")
        state = _read_weights(path, type(self).__name__)
        state.pop(_BUILD, None)
        return self.load_state_dict(state)

    def _build_from(cls, path: str | os.PathLike | io.IOBase | None = None, *rest: Any) -> Module:
        """Build the model saved at `path` (its class and arguments, as `save` wrote
        them) and read its weights into it; `cls` is the class asked for (Module: any)."""
        if isinstance(path, Module):  # Module.load(model, path): the method called unbound
            return path._load_into(*rest)
        who = f"{cls.__name__}.load"
        if rest:
            raise TypeError(
                f"{who} takes the path of a weights file only, got {len(rest) + 1} arguments"
            )
        if path is None:
            raise TypeError(f"{who} needs the path of a weights file, got None")
        _check_file(path, who, "read")
        state = _read_weights(path, cls.__name__)
        if _BUILD not in state:
            raise TypeError(
                f"{who}: {_shown(path)} holds weights only, not how to build the model "
                "(its constructor takes *args or **kwargs, which Class(**arguments) cannot "
                "rebuild; or it was built with arguments a file cannot hold, such as an "
                "array or a module; or an older version saved it): build the model first, "
                "then load into it: model.load(path)"
            )
        try:
            build = json.loads(str(state.pop(_BUILD)))
            module_name, _, qualname = build["class"].partition(":")
            arguments = dict(build["arguments"])
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ValueError(
                f"{who}: {_shown(path)} says how to build the model in a form this "
                "version cannot read: build the model and call model.load(path)"
            ) from None
        from_script = module_name == "__main__"  # saved by a script run as `python x.py`
        if from_script and cls is not Module and cls.__qualname__ == qualname:
            # the script's class, asked for by name where it is imported from a module
            # (`from x import Net; Net.load(path)`), in whose __main__ it is not
            saved = cls
        else:
            saved = _saved_class(module_name, qualname, build["class"], who, path)
        if not issubclass(saved, cls):
            raise TypeError(f"{who}: {_shown(path)} holds a {qualname}, not a {cls.__name__}")
        floats = [a.dtype for a in state.values() if a.dtype.kind == "f"]
        dtype = get_default_dtype()
        try:  # built in the widest of the weights' float dtypes, so none is rounded on
            if floats:  # the way in
                _use_default_dtype(max(floats, key=lambda d: d.itemsize))
            model = saved(**arguments)
        except TypeError as e:  # the class changed since the file was saved
            raise TypeError(
                f"{who}: cannot build {qualname} from the saved arguments {arguments}: {e}"
            ) from None
        finally:
            _use_default_dtype(dtype)
        model.load_state_dict(state)
        for name, p in model.named_parameters():  # and each weight in its saved dtype
            kept = state.get(name)
            if kept is not None and kept.dtype.kind == "f" and p.data.dtype != kept.dtype:
                p.data = p.data.astype(kept.dtype)  # (exact: widened from it just above)
        return model

    load = _ModelOrClassMethod(
        _load_into,
        _build_from,
        """Read saved weights into this model, or (called on a class) build the saved model.

        `model.load(path)`: read weights saved by `save` into this built model (every
        name and shape checked first), each cast to the dtype of the weight it replaces,
        as `load_state_dict` does; returns the model. `Seq2Seq.load(path)` or
        `Module.load(path)`: build the saved model (its class must be imported; a model
        saved by a script, whose class lived in `__main__`, loads through that class
        imported from the script: `Net.load(path)`) with the arguments it was saved
        with, then read its weights into it, each in the dtype it was saved in (a
        float64 model comes back float64 whatever the default dtype: the file says what
        the model is); returns it. (The file also says how big a model to build: load
        files you trust, as with any model file.) `path` may also be a binary file object
        (io.BytesIO, open(..., "rb")), read from where it stands and left open.""",
    )

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for name, p in self.named_parameters():
            lines.append(f"  {name}: {tuple(p.shape)}")
        lines.append(f")  # {self.num_parameters():,} parameters")
        return "\n".join(lines)


class _PyTorchName:
    """A Module attribute that PyTorch has and ts.nn spells otherwise: reading it is an
    AttributeError (hasattr is False) that says what to write. A class attribute, not a
    __getattr__ (which would slow every attribute read of a model's forward); a subclass's
    own attribute of that name wins. The message names the model's own class."""

    def __init__(self, name: str, hint: str) -> None:
        self.name, self.hint = name, hint

    def __get__(self, instance, owner=None):
        cls = owner if owner is not None else type(instance)
        who = "Module" if cls is Module else f"{cls.__name__} (a ts.nn.Module)"
        raise AttributeError(f"{who} has no {self.name!r} (a PyTorch name): {self.hint}")


_DTYPE_HINT = (
    "build the model after ts.set_default_dtype('float64') (or 'float32'), or load saved "
    "weights into one built so"
)
_MODULE_PYTORCH_NAMES = {
    "children": "model.modules() is this module and every submodule",
    "named_modules": "model.modules() is this module and every submodule",
    "named_children": "model.modules() is this module and every submodule",
    "apply": "write for m in model.modules(): fn(m) (this module and every submodule, as "
    "PyTorch's apply visits them; an init of the weights: for p in model.parameters())",
    "requires_grad_": "freeze weights with: for p in model.parameters(): p.requires_grad = False",
    "register_parameter": "assign it: self.name = ts.nn.Parameter(...) (setattr for a computed "
    "name); a list or dict attribute of Parameters registers them too",
    "add_module": "assign it: self.name = module (setattr for a computed name); a list or "
    "dict attribute of modules registers them too",
    "register_module": "assign it: self.name = module (setattr for a computed name)",
    "register_buffer": "assign a plain array attribute, self.name = array (not saved: make it "
    "a ts.nn.Parameter with requires_grad = False to save it with the weights)",
    "cuda": "write model.to('cupy')",
    "cpu": "write model.to('numpy')",
    "double": _DTYPE_HINT,
    "float": _DTYPE_HINT,
    "half": "build the model after ts.set_default_dtype('float16'), or load saved weights "
    "into one built so",
}
for _name, _hint in _MODULE_PYTORCH_NAMES.items():
    setattr(Module, _name, _PyTorchName(_name, _hint))
del _name, _hint


# A model class with no __init__ of its own is built with Module's (or a base's): noted too,
# so `Class.load(path)` can rebuild it with no arguments
Module.__init__ = _recording_arguments(Module.__init__, Module)  # type: ignore[method-assign]
