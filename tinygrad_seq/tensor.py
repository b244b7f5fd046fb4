"""Tensor: an array, its gradient, and the op that made it.

`apply(fn, *tensors)` is where a Function meets tensors: it runs `fn.forward` on their
arrays, wraps the result, and, when a gradient is wanted, records `fn` as the result's
`_ctx` with the inputs as `fn.parents`. Everything a Tensor method does goes through it.
"""

from __future__ import annotations

import copy
import math
import numbers
import operator
import os
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from . import autograd, backend, ops
from ._checks import as_bool, as_float, as_int
from .autograd import OpError, state

_new = object.__new__
_ndarray = np.ndarray

_default_dtype = np.dtype(np.float32)


_DEFAULT_DTYPES = ("float32", "float64", "float16")


def set_default_dtype(dtype) -> None:
    """Set the float dtype of new tensors: float32 (the default), float64 or float16.

    It is what Python floats and lists become, and the dtype of `randn`, `zeros`, `ones` and every
    new `ts.nn` weight. Call it before building a model: for a float64 model (what `gradcheck`
    wants), `ts.set_default_dtype("float64")` first. float16 models train too, at its precision
    (about 3 significant digits; softmax, layer norm, var and the losses work in float32 and
    round back, so their long sums do not overflow at float16's 65504).
    A NumPy array keeps its own dtype."""
    global _default_dtype
    dt = np.dtype(dtype)
    if dt.name not in _DEFAULT_DTYPES:
        raise TypeError(
            f"set_default_dtype: got {dt}; the default dtype is float32 (the default), float64 "
            "(for gradcheck) or float16. "
            + (
                "Integer token ids keep their own dtype without it: ts.Tensor(np.array(ids))"
                if dt.kind in "iub"
                else "An array of another dtype keeps it: ts.Tensor(array)"
            )
        )
    _default_dtype = np.dtype(dt.name)  # in the machine's byte order ('>f4' is float32 too)


def _use_default_dtype(dtype: np.dtype) -> None:
    """Set the default dtype unchecked: `Module.load` builds a model in its file's widest
    float dtype, whichever that is (a weight made from a long double array, say)."""
    global _default_dtype
    _default_dtype = np.dtype(dtype)


def get_default_dtype() -> np.dtype:
    """The float dtype that Python floats and lists become."""
    return _default_dtype


# ------------------------------------------------------------------ applying an op
def _op_error(fn: autograd.Function, inputs: Sequence[Tensor], error: Exception) -> Exception:
    """Turn a NumPy/CuPy error inside `fn.forward` into one that names the op and shapes."""
    shapes = [tuple(t.data.shape) for t in inputs]
    backends = {backend.backend_of(t.data) for t in inputs}
    if len(backends) > 1:
        names = ", ".join(
            f"{s} on {backend.backend_of(t.data)}" for s, t in zip(shapes, inputs, strict=True)
        )
        return TypeError(
            f"{fn.op_name}: inputs live on different backends ({names}); move them to one "
            "backend first with .to('numpy') or .to('cupy') (no silent host-device copies)"
        )
    describe = getattr(fn, "describe_error", None)
    if describe is not None and isinstance(error, ValueError):
        return ValueError(describe(shapes))
    shown = " and ".join(str(s) for s in shapes)
    if isinstance(error, ValueError) and "broadcast" in str(error):
        return ValueError(
            f"{fn.op_name}: cannot broadcast shapes {shown}: each axis, aligned from the "
            "right, must be equal or 1"
        )
    # the plain built-in class: NumPy's own subclasses (UFuncTypeError, ...) take other
    # constructor arguments
    kind = next(
        k for k in (IndexError, TypeError, ValueError, OverflowError) if isinstance(error, k)
    )
    return kind(f"{fn.op_name} on shapes {shown}: {error}" if shapes else f"{fn.op_name}: {error}")


def _as_output(out, fn: autograd.Function):
    """An op's forward result that is not an array (a NumPy scalar, a number) as one; a
    clear error for a tuple or list, which NumPy would stack into one array whose
    gradient then reaches the inputs summed, silently wrong (PyTorch's Functions may
    return several outputs; here an op has one)."""
    if isinstance(out, tuple | list):
        raise TypeError(
            f"{fn.op_name}.forward returned a {type(out).__name__} of {len(out)}: an op has "
            "one output, a single array (make one op per output, or stack them into one "
            "array and index the result)"
        )
    return backend.as_array(out)


def _wrap(out, fn: autograd.Function, parents: tuple[Tensor, ...], wants_grad: bool) -> Tensor:
    """The Tensor for an op's output; records `fn` (with its inputs) if a gradient is wanted.

    This is the hottest function of the engine: every op passes through it once.
    """
    if out.__class__ is not _ndarray and out.__class__ not in backend.ARRAY_TYPES:
        out = _as_output(out, fn)  # NumPy returns scalars from 0-d ops
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t.name = None
    t.scope = state.scope
    if wants_grad and state.grad_enabled:
        fn.parents = parents
        for p in parents:
            if p._ctx is not None:  # (a leaf's uses are not counted)
                p._uses += 1
        t._grad_out = None
        t._uses = 0
        t._keeps_grad = False
        t._made_at = state.updates  # (see autograd.changed_in_place)
        t._requires_grad = True
        t._ctx = fn
    else:
        t._requires_grad = False
        t._ctx = None
    if state.anomaly:
        fn.site = autograd.call_site()  # for a NaN found later, in backward
        autograd.check_finite(out, f"forward of '{fn.op_name}'", fn, parents)
    return t


def apply(fn: autograd.Function, *inputs: Tensor) -> Tensor:
    """Run op `fn` on tensors: forward on their arrays, and record it for backward."""
    try:
        out = fn.forward(*[x.data for x in inputs])
    except OpError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError) as e:
        error = _op_error(fn, inputs, e)
        if not type(fn).__module__.startswith(f"{__package__}."):
            # an op of the user's own (Function.apply): the traceback goes on down to the
            # line of its forward that failed, which is theirs to fix
            raise error.with_traceback(e.__traceback__.tb_next) from None
        raise error from None
    return _wrap(out, fn, inputs, any(x._requires_grad for x in inputs))


def _apply1(fn: autograd.Function, x: Tensor) -> Tensor:
    """`apply` for one input, without the argument packing (the hot path)."""
    try:
        out = fn.forward(x.data)
    except OpError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError) as e:
        raise _op_error(fn, (x,), e) from None
    return _wrap(out, fn, (x,), x._requires_grad)


def _apply2(fn: autograd.Function, x: Tensor, y: Tensor) -> Tensor:
    """`apply` for two inputs, without the argument packing (the hot path)."""
    try:
        out = fn.forward(x.data, y.data)
    except OpError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError) as e:
        raise _op_error(fn, (x, y), e) from None
    # _wrap, inline (a call fewer on the hottest path; keep the two in step)
    if out.__class__ is not _ndarray and out.__class__ not in backend.ARRAY_TYPES:
        out = _as_output(out, fn)
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t.name = None
    t.scope = state.scope
    if (x._requires_grad or y._requires_grad) and state.grad_enabled:
        fn.parents = (x, y)
        if x._ctx is not None:  # (a leaf's uses are not counted)
            x._uses += 1
        if y._ctx is not None:
            y._uses += 1
        t._grad_out = None
        t._uses = 0
        t._keeps_grad = False
        t._made_at = state.updates  # (see autograd.changed_in_place)
        t._requires_grad = True
        t._ctx = fn
    else:
        t._requires_grad = False
        t._ctx = None
    if state.anomaly:
        fn.site = autograd.call_site()  # for a NaN found later, in backward
        autograd.check_finite(out, f"forward of '{fn.op_name}'", fn, (x, y))
    return t


# ------------------------------------------------------------------ making arrays
# dtype kinds that are not numbers: objects (Python ints beyond int64 too), strings, raw
# bytes, dates and durations
_NOT_NUMBERS = frozenset("OSUVMm")


def _to_array(data, dtype=None):
    """`data` as an array of the right backend and dtype (see Tensor's docstring)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None and np.dtype(dtype).kind == "c":
        raise TypeError(_COMPLEX.format(what=f"a tensor of {np.dtype(dtype)}"))
    backend.notice_cupy(data)
    if data.__class__ in backend.ARRAY_TYPES and data.__class__ is not _ndarray:
        arr = data  # already a CuPy array: stays on the GPU
    elif isinstance(data, np.ndarray | np.generic):
        arr = np.asarray(data)
        if dtype is None and arr.dtype.kind in _NOT_NUMBERS:  # (with a dtype: cast below)
            raise TypeError(
                f"cannot make a tensor from an array of {arr.dtype}: expected numbers (a bool, "
                "integer or float dtype), or pass dtype= to convert it"
            )
        if arr.dtype.kind == "c":
            raise TypeError(_COMPLEX.format(what=f"a tensor from {arr.dtype} data"))
        if dtype is not None and arr.dtype != np.dtype(dtype):
            _check_fits(arr, np.dtype(dtype), data)
            arr = _cast(arr, np.dtype(dtype))  # on the host: CuPy has no object/str dtypes
        if backend.xp is not np:
            arr = backend.xp.asarray(arr)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:
            if "inhomogeneous" in str(e):  # NumPy's words for rows of different lengths
                raise ValueError(
                    f"cannot make a tensor from {type(data).__name__}: its rows have different "
                    "lengths (a tensor is rectangular); pad them to one length, e.g. "
                    "ts.data.pad_or_truncate for token ids"
                ) from None
            raise ValueError(f"cannot make a tensor from {type(data).__name__}: {e}") from None
        except TypeError as e:  # e.g. a list holding CuPy arrays: NumPy may not read them
            hint = (
                " (a list of GPU arrays: join them with ts.stack or cupy.stack first)"
                if isinstance(data, list | tuple)
                else ""
            )
            raise TypeError(f"cannot make a tensor from {type(data).__name__}: {e}{hint}") from None
        if arr.dtype.kind == "O" and arr.size and all(isinstance(v, int) for v in arr.flat):
            raise OverflowError(
                f"cannot make a tensor from {type(data).__name__}: an integer beyond the "
                "int64 range (use a float for huge values)"
            )
        if arr.dtype.kind in _NOT_NUMBERS:  # None, strings, ...: refused, dtype or not
            raise TypeError(_not_numbers(data, arr))
        if dtype is None and arr.dtype.kind == "f":
            arr = arr.astype(_default_dtype)  # Python floats follow the default dtype
        if backend.xp is not np:
            arr = backend.xp.asarray(arr)
    if arr.dtype.kind == "c":  # (a list or a CuPy array: an ndarray was checked above)
        raise TypeError(_COMPLEX.format(what=f"a tensor from {arr.dtype} data"))
    if dtype is not None:
        dt = np.dtype(dtype)
        if arr.dtype != dt:  # (a list or a CuPy array: an ndarray was cast above)
            _check_fits(arr, dt, data)
            arr = _cast(arr, dt)
    return arr


def _not_numbers(data, arr) -> str:
    """The message for data NumPy read as no numbers: what was given, and what is wanted."""
    # (np.str_ is an np.generic but no number; a Decimal or a Fraction is a number, but not
    # one NumPy holds as such)
    odd = next((v for v in arr.flat if not isinstance(v, int | float | np.number | np.bool_)), 0)
    if data is None:
        given = "None"
    elif arr.ndim == 0:  # the data itself: Tensor("abc"), Tensor({...})
        given = f"{type(data).__name__} {data!r}"[:80]
    else:
        odd_kind = "str" if isinstance(odd, str) else type(odd).__name__
        given = f"{type(data).__name__} holding {odd_kind if arr.size else 'nothing'}"
    hint = ""
    if isinstance(odd, str):
        hint = " (words become integer ids through a vocabulary: ts.data.Vocab(words).encode(text))"
    return (
        f"cannot make a tensor from {given}: expected numbers, nested lists of numbers, "
        f"or an array{hint}"
    )


_COMPLEX = (
    "cannot make {what}: tinygrad_seq supports bool, integer and float dtypes, not complex "
    "(take .real, .imag or abs() first)"
)


def _cast(arr, dt):
    try:
        return arr.astype(dt)
    except (TypeError, ValueError) as e:
        message = f"cannot make a tensor of {dt} from {arr.dtype} data: {e}"
        raise TypeError(message) from None


def _check_fits(arr: np.ndarray, dt: np.dtype, data) -> None:
    """An OverflowError for integers that integer `dt` cannot hold ([300] as int8), which a
    cast would wrap around silently; a ValueError for NaN or ±inf made integers (a cast
    gives an arbitrary number). Floats are truncated toward 0, as NumPy and PyTorch do."""
    if dt.kind not in "iu" or arr.dtype.kind not in "iuf" or not arr.size:
        return
    source = f"an array of {arr.dtype}" if hasattr(data, "dtype") else repr(data)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"cannot make a tensor of {dt} from {source} holding NaN or inf")
    info = np.iinfo(dt)
    # as Python numbers, compared exactly (a CuPy 0-d array cannot meet uint64's max); a
    # float truncated toward 0, as the cast does (-0.5 fits an unsigned dtype)
    low, high = arr.min().item(), arr.max().item()
    if int(low) < info.min or int(high) > info.max:  # (int(): also a long double's)
        values = f"the value {low}" if arr.size == 1 else f"values from {low} to {high}"
        raise OverflowError(
            f"cannot make a tensor of {dt} from {source}: {values}, and {dt} holds "
            f"{info.min} to {info.max}"
        )


def _leaf(data, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """A leaf Tensor around an array that is already of the right backend and dtype."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t._requires_grad = requires_grad
    t.name = name
    t.scope = state.scope
    t._ctx = None
    return t


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_outside_numpy() -> int:
    """The `stacklevel` that points a warning raised in Tensor.__array__ at the user's line,
    past NumPy's own frames (np.stack calls np.asarray on each item) and this package's
    (ts.Tensor([h1, h2]) converts its list with NumPy, and so does F.mse_loss a target
    given as a list)."""
    numpy_dir = os.path.dirname(np.__file__) + os.sep  # (not numpyro's, numpy_financial's)
    frame, level = sys._getframe(2), 2  # 1: __array__
    while frame is not None and frame.f_code.co_filename.startswith((numpy_dir, _PACKAGE_DIR)):
        frame, level = frame.f_back, level + 1
    return level


def _check_grad_dtype(dtype, op: str = "requires_grad") -> None:
    if dtype.kind != "f":  # no op here defines a complex gradient
        raise TypeError(
            f"{op}: only float tensors can require gradients, this one holds {dtype} "
            "(integer data such as token ids stays integer; make it float first if you "
            "need a gradient)"
        )


# PyTorch's tensor names that are not this engine's, with what to write instead (NumPy's
# names, which this engine takes): each a class attribute that raises (below the class;
# not a __getattr__, which would slow every attribute read of every tensor by ~20 %)
_PYTORCH_NAMES = {
    "view": "write x.reshape(*shape)",
    "permute": "write x.transpose(*axes), NumPy's, which takes the whole permutation too",
    "numel": "x.size is the number of elements (NumPy's name, a number, not a method)",
    "dim": "x.ndim is the number of axes",
    "masked_fill": "write ts.where(mask, value, x)",
    "requires_grad_": "set x.requires_grad = True",
    "grad_fn": "x.op names the op that made x, and x.parents are its inputs",
    "t": "write x.T",
    "mm": "write x @ y",
    "bmm": "write x @ y (batched over the leading axes)",
    "matmul": "write x @ y",
    "pow": "write x ** y",
    "neg": "write -x",
    "expand": "no need: the ops broadcast as NumPy's do",
    "contiguous": "no need: drop it",
    "cpu": "write x.to('numpy') for another backend, or x.numpy() for an array",
    "cuda": "write x.to('cupy')",
    "half": "write x.astype(np.float16)",
    "long": "write x.astype(np.int64)",
    "int": "write x.astype(np.int32)",
    "bool": "write x.astype(bool)",
    "type": "write x.astype(dtype); x.dtype is its dtype",
    "norm": "write (x * x).sum().sqrt() (the 2-norm)",
    "flip": "index with a step of -1 on each axis to reverse, as NumPy's slicing does: "
    "x.flip(1) is x[:, ::-1] (the gradient flows back reversed)",
}
_IN_PLACE = (  # PyTorch's in-place methods (a trailing _) that learners reach for
    "add_ sub_ mul_ div_ pow_ neg_ exp_ log_ tanh_ sigmoid_ relu_ sqrt_ abs_ clamp_ clip_ "
    "zero_ fill_ copy_ normal_ uniform_ masked_fill_"
).split()
_IN_PLACE_HINT = (
    "tinygrad_seq has no in-place methods (PyTorch's trailing _): write the new tensor, "
    "x = x + y; a weight changes in place under ts.no_grad(), p -= lr * p.grad"
)


class _ElementCount(int):
    """Tensor.size: an int, the number of elements, as NumPy's; called as PyTorch's
    `x.size()`, whose answer is the shape, it says to write `x.shape` instead."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        raise TypeError(
            f"x.size is NumPy's number of elements ({int(self)}), not a method: PyTorch's "
            "x.size() is x.shape here (x.shape[i] for one axis's length)"
        )


class _PyTorchName:
    """A Tensor attribute that PyTorch has and this engine names otherwise: reading it is
    an AttributeError (so hasattr is False) that says what to write instead."""

    def __init__(self, name: str, hint: str) -> None:
        self.name, self.hint = name, hint

    def __get__(self, instance, owner=None):
        raise AttributeError(f"Tensor has no {self.name!r} (a PyTorch name): {self.hint}")


class Tensor:
    """An n-dimensional array on the active backend, with reverse-mode autodiff.

    `data` may be a Python scalar or (nested) list, a NumPy array or a CuPy array. Python
    floats become the default float dtype (float32; see `set_default_dtype`); a NumPy array
    keeps its dtype (float64 stays float64) and, on the NumPy backend, shares its memory, as
    a Tensor passed as `data` does (for a copy: `Tensor(t.numpy())`);
    integer data stays integer (token ids) and cannot require a gradient. Setting
    `requires_grad = False` on a computed tensor stops backward there, as `detach()` would,
    while the graph still shows it.

    `.data` is the array itself, and the ops of a recorded graph keep the arrays they need
    for backward (a matmul keeps its weight's): a write into it in place (`w.data[...] = v`,
    `w.data -= v`) between a forward and its backward makes that backward compute with the
    new values, and nothing checks the array itself. Change a weight between a backward
    and the next forward, and prefer `with ts.no_grad(): w -= v` (or a `ts.optim` step),
    which notes the change so that a graph recorded before it refuses its backward; after
    a write into `.data`, call `ts.autograd.changed_in_place(w)` to the same end.
    """

    # _uses (how many times recorded ops took it as an input; x * x counts two), _grad_out,
    # _owns_grad, _pending: the backward pass's bookkeeping (autograd.backward). A dict of
    # slots gives each public attribute its docstring (help(), docs/api.md).
    __slots__ = {
        "data": "The backend array (NumPy or CuPy) holding the values.",
        "grad": "The gradient, a backend array of `data`'s shape, after backward; else None.",
        # behind the `requires_grad` property, which checks what it is set to; the engine
        # reads and writes the slot itself (a property read costs ~50 ns more per op)
        "_requires_grad": "",
        "name": "A label for graphs and error messages (None: unnamed).",
        "scope": 'The `ts.scope` path it was made in ("encoder/t=3"; "" outside any).',
        "_ctx": "",
        "_grad_out": "",
        "_owns_grad": "",
        "_uses": "",
        "_pending": "",
        "_keeps_grad": "",  # retain_grad(): set on every recorded node (False) as it is made
        # state.updates when the values were made: set on every recorded node, and on a
        # weight when it is changed in place (see autograd.changed_in_place)
        "_made_at": "",
    }
    __array_ufunc__ = None  # ndarray + Tensor calls Tensor.__radd__ instead of NumPy's add
    __hash__ = object.__hash__  # `==` is elementwise, so identity hashes

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        arr = _to_array(data, dtype)
        if requires_grad is not False:
            requires_grad = as_bool(requires_grad, "Tensor: requires_grad")
        if requires_grad:
            _check_grad_dtype(arr.dtype)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a string or None, got {type(name).__name__}")
        self.data = arr
        self.grad = None
        self._requires_grad = requires_grad
        self.name = name
        self.scope = state.scope
        self._ctx = None

    def __reduce_ex__(self, protocol):
        """copy.deepcopy and pickle: a leaf copies as usual; a recorded result is refused.

        A copy of a recorded result would share its graph node (whose backward would then run twice)
        or duplicate the graph; PyTorch likewise deep-copies only leaves."""
        self._refuse_if_recorded()
        return super().__reduce_ex__(protocol)

    def __copy__(self) -> Tensor:
        """copy.copy: a leaf sharing the data but with a `.grad` of its own.

        A leaf of the same class (a shallow copy): backward adds into `.grad` in place, and a shared
        one would mix two leaves' gradients. A recorded result is refused, as by deepcopy."""
        self._refuse_if_recorded()
        t = _new(self.__class__)
        t.data, t._requires_grad, t.name, t.scope, t._ctx = (
            self.data, self._requires_grad, self.name, self.scope, None
        )  # fmt: skip
        grad = self.grad
        t.grad = grad.copy() if hasattr(grad, "copy") else grad
        return t

    def _refuse_if_recorded(self) -> None:
        if self._ctx is not None:
            raise RuntimeError(
                f"cannot copy or pickle a recorded tensor (the result of "
                f"'{self._ctx.op_name}', which backward runs through): copy t.detach(), a "
                "leaf with the same data, or the leaves it was computed from"
            )

    # -------------------------------------------------------------- attributes
    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor (a leaf's lands in `.grad`).

        Set it as in PyTorch, `x.requires_grad = True`, with the constructor's checks: a
        bool (a string such as "no" would read as True), and True only on float data.
        False on a computed tensor stops backward there, as `detach()` would."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value is not True and value is not False:
            value = as_bool(value, "requires_grad")
        if value and self.data.dtype.kind != "f":
            _check_grad_dtype(self.data.dtype)
        self._requires_grad = value

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape, a tuple of ints."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The array's NumPy dtype (float32 unless set otherwise)."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """The number of elements, an int (NumPy's `size`).

        PyTorch's `x.size()` is `x.shape` here, and calling this says so."""
        return _ElementCount(self.data.size)

    @property
    def op(self) -> str | None:
        """Name of the op that made this tensor; None for a leaf."""
        return None if self._ctx is None else self._ctx.op_name

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The tensors this one was computed from (empty for a leaf)."""
        return () if self._ctx is None else self._ctx.parents

    @property
    def is_leaf(self) -> bool:
        """True unless a recorded op made this tensor (inputs, weights, constants)."""
        return self._ctx is None

    @property
    def backend(self) -> str:
        """'numpy' or 'cupy': where the data lives."""
        return backend.backend_of(self.data)

    def __len__(self) -> int:
        """The length of the first axis (a TypeError for a 0-d tensor)."""
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        """Iterate over the first axis (each item a tensor in the graph)."""
        if not self.data.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="Tensor(", threshold=60)
        extra = [f"dtype={self.dtype}"]
        if self.backend != "numpy":
            extra.append(f"backend={self.backend}")
        if self._ctx is not None:
            extra.append(f"op={self.op}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        if self.name:
            extra.append(f"name={self.name!r}")
        return f"Tensor({body}, {', '.join(extra)})"

    def __bool__(self) -> bool:
        """The truth of a single-element tensor (a ValueError for more elements)."""
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {tuple(self.shape)} is ambiguous; "
                "use .all() on .numpy(), or compare single elements"
            )
        return bool(self.data)

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}": a single-element tensor formats as its number."""
        if not spec:
            return str(self)
        if self.data.size != 1:
            raise TypeError(
                f"format spec {spec!r} needs a single-element tensor, got shape "
                f"{tuple(self.shape)}: format .numpy() or one element"
            )
        return format(self.item(), spec)

    # -------------------------------------------------------------- leaving the engine
    def numpy(self) -> np.ndarray:
        """A NumPy copy of the data (from the GPU if the tensor lives there)."""
        return backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """np.asarray(tensor): the data as a NumPy array (a copy from the GPU).

        Of a tensor that requires grad it warns: a NumPy function (np.stack of a list of hidden
        states, say) returns a plain array, and a loss computed from it leaves the weights without
        gradients (PyTorch refuses it; `.numpy()` says plainly that the data is wanted)."""
        if copy is False:  # NumPy 2's protocol: say so rather than copy anyway
            raise ValueError(
                "np.array(tensor, copy=False): a tensor's data always comes out as a copy "
                "(so writing to it cannot change the tensor behind the graph's back); "
                "tensor.data is the array itself"
            )
        if self._requires_grad:
            warnings.warn(
                "np.asarray(tensor) of a tensor that requires grad: NumPy gets its data "
                "alone, and no gradient flows back through a NumPy function's result. Use "
                "ts.stack / ts.cat and the tensor's own ops to stay in the graph, or "
                "tensor.numpy() (or .detach()) where the data is what you want",
                stacklevel=_caller_outside_numpy(),
            )
        out = backend.to_numpy(self.data)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __float__(self) -> float:
        """The single element as a Python float (`int(x)`: as an int)."""
        return float(self.item())

    def __int__(self) -> int:
        """The single element as a Python int."""
        return int(self.item())

    def item(self) -> float | int | bool:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a single-element tensor, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """A leaf sharing this tensor's data, outside any graph."""
        return _leaf(self.data, False, self.name)

    def clone(self) -> Tensor:
        """A copy with data of its own, recorded: the gradient flows back through it.

        The gradient reaches this tensor, as PyTorch's `clone` (`detach()` shares the data and stops
        it)."""
        return _apply1(ops.Clone(), self)

    def to(self, backend_name: str) -> Tensor:
        """A copy on backend 'numpy' or 'cupy', with the same name.

        A computed tensor's copy is recorded, as PyTorch's `.to(device)`: the gradient flows
        back through it, to this tensor's backend. A leaf's copy is a leaf of its own, with
        the same requires_grad (a weight moved to the GPU is a weight there: its gradient
        lands on the copy, not on this tensor)."""
        _refuse_a_dtype(backend_name)
        if self._ctx is None:
            moved = backend.to_backend(self.data, backend_name)
            return _leaf(moved, self._requires_grad, self.name)
        backend.module(backend_name)  # an unknown or unusable name: the backend's own error
        moved = _apply1(ops.ToBackend(backend_name), self)
        moved.name = self.name
        return moved

    def astype(self, dtype) -> Tensor:
        """This tensor's values in `dtype` (NumPy's astype; PyTorch's `.to(dtype)`).

        To a float dtype the cast is recorded: the gradient flows back through it, cast
        to this tensor's dtype (a float64 weight used in float32 gets a float64 gradient).
        To an integer or bool dtype the result carries no gradient. To an integer dtype
        floats are truncated toward 0, and NaN, inf or a value the dtype cannot hold is an
        error, not wrapped around; to bool every nonzero value is True, NaN too (NumPy's
        and PyTorch's rule). To this tensor's own dtype it returns this tensor, as
        PyTorch's does."""
        dt = _cast_target(dtype, "astype")
        if dt == self.data.dtype:
            return self
        if dt.kind == "f":
            return _apply1(ops.Cast(dt), self)
        try:
            _check_fits(self.data, dt, self.data)
        except (OverflowError, ValueError) as e:
            raise type(e)(f"astype: {e}") from None
        return _leaf(_cast(self.data, dt))

    def float(self) -> Tensor:
        """This tensor as float32: `astype("float32")` (recorded, as PyTorch's .float())."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """This tensor as float64: `astype("float64")` (recorded, as PyTorch's .double())."""
        return self.astype(np.float64)

    def retain_grad(self) -> None:
        """Keep this computed tensor's gradient in `.grad` at every later backward pass.

        It adds up as a leaf's does, as PyTorch's `retain_grad`, for ∂L/∂h_t of a hidden state, say.
        A leaf keeps its gradient anyway, and inside `no_grad()` nothing is recorded, so there it
        does nothing (a function gradcheck also runs unrecorded)."""
        if not state.grad_enabled:
            return
        if not self._requires_grad:
            raise RuntimeError(
                "retain_grad: this tensor does not require grad, so no gradient reaches it "
                "(made from constants, or under no_grad())"
            )
        if self._ctx is not None:
            self._keeps_grad = True
            state.keeps_grads = True

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradient: `.grad = None`, or zeros written into it.

        Zeros are written in with `set_to_none=False` (as PyTorch's optimizers' zero_grad)."""
        clear_grads((self,), set_to_none, "Tensor.zero_grad")

    # -------------------------------------------------------------- autodiff
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf)·grad into `.grad` of every leaf that requires grad.

        `grad` (same shape as self) may be omitted only for a single-element tensor.
        The graph's saved arrays are freed afterwards unless `retain_graph=True`. Its
        tensors stay reachable from this one, values and all (`ts.graph.trace` reads the
        gradient norms after backward), until the last reference to it goes: in a training
        loop, `del loss` after the step, or the next forward holds two graphs at once.
        """
        if retain_graph is not False:
            retain_graph = as_bool(retain_graph, "backward: retain_graph")
        if not self._requires_grad:
            if self.data.dtype.kind not in "fc":  # a count, ids, a mask: no gradient
                raise RuntimeError(
                    f"backward() on a tensor of {self.data.dtype}, which carries no "
                    "gradient: comparisons, argmax and other integer or boolean results "
                    "have none, and neither has what is computed from them. Build the loss "
                    "from float tensors (a mask enters as ts.where(mask, x, 0) or x * mask)"
                )
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a single-element tensor, but this "
                    f"one has shape {tuple(self.shape)}: pass grad= of that shape, or reduce "
                    "it first (e.g. .sum())"
                )
            g = backend.array_module(self.data).ones_like(self.data)
        else:
            g = grad.data if isinstance(grad, Tensor) else grad
            xp = backend.array_module(self.data)
            backend.notice_cupy(g)
            if xp is np and backend.backend_of(g) == "cupy":  # (the other way: copied in)
                raise TypeError(
                    "backward(grad): grad is a CuPy array but the tensor lives on NumPy; "
                    "mixing backends: move one of them (ts.backend.to_numpy(grad))"
                )
            try:
                if getattr(g, "dtype", None) is None and not isinstance(g, str | bytes):
                    g = xp.asarray(g)  # (a list: read first, so complex numbers show)
                complex_ = getattr(g, "dtype", None) is not None and g.dtype.kind == "c"
                if not complex_:
                    g = xp.asarray(g, dtype=self.dtype)
            except (TypeError, ValueError) as e:
                raise TypeError(
                    f"backward(grad): grad must be numbers of shape {tuple(self.shape)} (an "
                    f"array, list or Tensor), got {type(grad).__name__}: {e}"
                ) from None
            if complex_:
                raise TypeError(_COMPLEX.format(what=f"a gradient from {g.dtype} data"))
            if g.shape != self.shape:
                raise ValueError(
                    f"backward(grad): grad has shape {tuple(g.shape)} but the tensor has "
                    f"shape {tuple(self.shape)}; they must match"
                )
        autograd.backward(self, g, retain_graph=retain_graph)

    # -------------------------------------------------------------- operators
    def _lift(self, other) -> Tensor:
        """A scalar, list or array operand as a constant Tensor of a matching dtype, as
        PyTorch reads Python numbers (NumPy scalars count as Python numbers):
        - numbers and lists of them take a float tensor's dtype (x + 0.1 and x + [0.1, 0.2]
          stay float64 for a float64 x, float32 for a float32 one);
        - integers take an integer tensor's (i + 1 stays int32 for an int32 i; a value it
          cannot hold is an OverflowError, not wrapped around);
        - floats meeting an integer or bool tensor are read as float64 (the result's dtype
          in NumPy);
        - arrays keep their own dtype (NumPy's promotion)."""
        if isinstance(other, Tensor):
            return other
        dtype = self.data.dtype
        kind = dtype.kind
        if isinstance(other, numbers.Number) and not isinstance(other, bool | np.bool_):
            xp = backend.array_module(self.data)  # (the operand lives where self does)
            if isinstance(other, numbers.Complex) and not isinstance(other, numbers.Real):
                raise TypeError(_COMPLEX.format(what=f"a tensor from the number {other!r}"))
            if not isinstance(other, numbers.Real):  # a Decimal: not mixed with floats
                raise TypeError(
                    f"cannot combine a tensor with a {type(other).__name__} ({other!r}): "
                    "convert it to float first"
                )
            if kind == "f":
                return _leaf(xp.asarray(other, dtype=dtype))
            if isinstance(other, numbers.Integral):
                value = int(other)
                if kind in "iu":  # int32 + 1 stays int32; a value the dtype cannot hold is
                    info = np.iinfo(dtype)  # refused (a cast would wrap it around)
                    if not info.min <= value <= info.max:
                        raise OverflowError(
                            f"cannot combine a tensor of {dtype} with the integer {value}: "
                            f"{dtype} holds {info.min} to {info.max} (convert the tensor "
                            "to a wider dtype first)"
                        )
                    return _leaf(xp.asarray(value, dtype=dtype))
                return _leaf(xp.asarray(value))  # bool + 1: int64, as in NumPy
            # a float meets integers or bools: read at Python's precision, float64 (NumPy
            # makes the result float64 whatever the float: read as float32, 0.1 was off)
            return _leaf(xp.asarray(other, dtype=np.float64))
        if isinstance(other, list | tuple):
            try:
                list_kind = np.asarray(other).dtype.kind
            except ValueError:  # ragged: Tensor(other) below says so
                list_kind = None
            read_as = None
            if list_kind in ("i", "u", "f"):  # numbers (not bools), read as a scalar is
                if kind == "f" or (kind in "iu" and list_kind != "f"):
                    read_as = dtype
                elif list_kind == "f":
                    read_as = np.float64
            made = Tensor(other, dtype=read_as)
            where = backend.backend_of(self.data)  # on self's backend, not the default one
            return made if backend.backend_of(made.data) == where else made.to(where)
        made = Tensor(other)  # an array (or scalar array): on self's backend too
        where = backend.backend_of(self.data)
        return made if backend.backend_of(made.data) == where else made.to(where)

    def __add__(self, other) -> Tensor:
        """x + y, elementwise with NumPy broadcasting; a Tensor or a number on either side."""
        return _apply2(ops.Add(), self, other if other.__class__ is Tensor else self._lift(other))

    def __radd__(self, other) -> Tensor:
        return _apply2(ops.Add(), self._lift(other), self)

    def __sub__(self, other) -> Tensor:
        """x − y, elementwise with NumPy broadcasting; a Tensor or a number on either side."""
        return _apply2(ops.Sub(), self, other if other.__class__ is Tensor else self._lift(other))

    def __rsub__(self, other) -> Tensor:
        return _apply2(ops.Sub(), self._lift(other), self)

    def __mul__(self, other) -> Tensor:
        """x ⊙ y, elementwise with NumPy broadcasting; a Tensor or a number on either side."""
        return _apply2(ops.Mul(), self, other if other.__class__ is Tensor else self._lift(other))

    def __rmul__(self, other) -> Tensor:
        return _apply2(ops.Mul(), self._lift(other), self)

    def __truediv__(self, other) -> Tensor:
        """x / y, elementwise with NumPy broadcasting; a Tensor or a number on either side."""
        return _apply2(ops.Div(), self, other if other.__class__ is Tensor else self._lift(other))

    def __rtruediv__(self, other) -> Tensor:
        return _apply2(ops.Div(), self._lift(other), self)

    def __pow__(self, other) -> Tensor:
        """xʸ, elementwise; a number exponent is a constant (gradient y xʸ⁻¹ alone)."""
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            if isinstance(other, np.generic):  # a NumPy scalar would promote float32 data
                other = other.item()
            elif not isinstance(other, int | float):  # a Fraction: NumPy would make objects
                other = float(other)
            return _apply1(ops.PowConst(other), self)
        return _apply2(ops.Pow(), self, self._lift(other))

    def __rpow__(self, other) -> Tensor:
        return _apply2(ops.Pow(), self._lift(other), self)

    def __matmul__(self, other) -> Tensor:
        """Matrix product, batched over leading axes (NumPy matmul): (..., n, k) @ (..., k, m)."""
        return _apply2(
            ops.MatMul(), self, other if isinstance(other, Tensor) else self._lift(other)
        )

    def __rmatmul__(self, other) -> Tensor:
        return _apply2(ops.MatMul(), self._lift(other), self)

    def __neg__(self) -> Tensor:
        """−x, elementwise."""
        return _apply1(ops.Neg(), self)

    # In-place operators. A weight (a leaf that requires grad, or a module's Parameter,
    # frozen too) changes in place inside `no_grad()`: the update idiom `p -= lr * p.grad`,
    # as an optimizer's step (a graph recorded before it saved the old array: backpropagate
    # first, as a training step does). Outside no_grad a weight's update could not be
    # recorded, so it is refused. Any other tensor gets a new one, `a += b` meaning
    # `a = a + b`: a graph that saved the old value stays right.
    def __iadd__(self, other) -> Tensor:
        """In place on a weight under `no_grad()` (an update step); else a new tensor, a = a + b."""
        return self._in_place(other, "+=", Tensor.__add__, operator.iadd)

    def __isub__(self, other) -> Tensor:
        return self._in_place(other, "-=", Tensor.__sub__, operator.isub)

    def __imul__(self, other) -> Tensor:
        return self._in_place(other, "*=", Tensor.__mul__, operator.imul)

    def __itruediv__(self, other) -> Tensor:
        return self._in_place(other, "/=", Tensor.__truediv__, operator.itruediv)

    def __ipow__(self, other) -> Tensor:
        return self._in_place(other, "**=", Tensor.__pow__, operator.ipow)

    def _is_weight(self) -> bool:
        """A leaf that requires grad, or a Parameter (a subclass) whatever its flag."""
        return self._ctx is None and (self._requires_grad or self.__class__ is not Tensor)

    def _in_place(self, other, symbol: str, out_of_place, in_place) -> Tensor:
        if not self._is_weight():
            return out_of_place(self, other)
        what, value = self._write_checks(
            symbol, other, "p -= lr * p.grad", f"p = p {symbol[:-1]} ..."
        )
        data = self.data
        try:
            data = in_place(data, value)  # the array itself (a NumPy scalar: a new one)
        except (ValueError, TypeError) as e:
            raise ValueError(
                f"{symbol} on {what}: cannot update it in place with a value of shape "
                f"{tuple(getattr(value, 'shape', ()))} (the result must keep the shape "
                f"{tuple(self.shape)} and dtype {self.dtype}): {e}"
            ) from None
        self.data = data
        autograd.changed_in_place(self)
        return self

    def _write_checks(self, symbol: str, other, update: str, instead: str):
        """For an in-place write into this weight: a name for it in messages and `other`
        as an array on its backend; errors for a write that cannot be done or recorded."""
        what = f"'{self.name}'" if self.name else f"a weight of shape {tuple(self.shape)}"
        if state.grad_enabled and self._requires_grad:
            raise RuntimeError(
                f"{symbol} on {what}, a leaf that requires grad: an in-place change of a weight "
                f"cannot be recorded for backward. For an update step, do it inside "
                f"`with ts.no_grad():` ({update}) or use ts.optim; for a new tensor "
                f"write {instead}"
            )
        value = other.data if isinstance(other, Tensor) else self._lift(other).data
        data = self.data
        if backend.array_module(value) is not backend.array_module(data):
            raise ValueError(
                f"{symbol} on {what}: the value is on backend '{backend.backend_of(value)}', "
                f"the weight on '{backend.backend_of(data)}': move it first (.to(...))"
            )
        if not isinstance(data, np.generic) and not getattr(data.flags, "writeable", True):
            raise ValueError(
                f"{symbol} on {what}: its array is read-only (a broadcast view, or a "
                f"read-only NumPy array): give it a writable copy first, p.data = p.data.copy()"
            )
        return what, value

    def __setitem__(self, index, value) -> None:
        """Write into a weight in place inside `no_grad()` (`emb.E[0] = 0`), as in PyTorch.

        The write is noted, so that a graph recorded before it refuses its backward. Refused on
        any other tensor (a TypeError saying what to write): a computed tensor's write
        could not be recorded for backward."""
        if not self._is_weight():
            raise TypeError(
                "Tensor does not support item assignment (an in-place write cannot be "
                "recorded for backward): build a new tensor instead, e.g. "
                "ts.where(mask, value, x) or ts.cat([...]); a weight (a leaf that requires "
                "grad, or a module's parameter) can be written inside `with ts.no_grad():` "
                "(w[index] = value); to change other numbers outside the graph, write to "
                "the array after backward: x.data[index] = value, then "
                "ts.autograd.changed_in_place(x) (a graph recorded before the write then "
                "refuses its backward, which would otherwise use the new values)"
            )
        what, value = self._write_checks(
            "item assignment", value, "w[index] = value", "ts.where(mask, value, w)"
        )
        data = self.data
        if isinstance(data, np.generic):
            raise TypeError(f"item assignment on {what}: it holds a NumPy scalar, not an array")
        try:
            if _has_mask(index):  # (as index arrays below, a mask of the wrong length
                _check_masks(index, data.shape)  # would pass unchecked)
            unwrapped = _unwrap_index(index, data)
            if data.__class__ is not _ndarray:  # CuPy: see _check_index_bounds, _last_writes
                _check_index_bounds(unwrapped, data.shape)
                unwrapped, value = _last_writes(data, unwrapped, value)
            data[unwrapped] = value
        except (ValueError, TypeError, IndexError) as e:
            shape = f"shape {tuple(self.shape)}, " if self.name else ""
            raise e.__class__(
                f"item assignment on {what} ({shape}dtype {self.dtype}): {e}"
            ) from None
        autograd.changed_in_place(self)

    def __getitem__(self, index) -> Tensor:
        """NumPy indexing (ints, slices, None, int and bool arrays); the gradient scatters back."""
        if index.__class__ is tuple and (  # z[:, :H], xs[:, t]: the hot path, two parts
            # tested one by one (a generator over them costs ~0.6 µs more)
            (len(index) == 2 and index[0].__class__ in _BASIC and index[1].__class__ in _BASIC)
            or all(i.__class__ in _BASIC for i in index)
        ):
            return _apply1(ops.GetItem(index, True), self)
        if (index.dtype.kind == "b") if index.__class__ is _ndarray else _has_mask(index):
            try:
                _check_masks(index, self.data.shape)
            except IndexError as e:
                raise IndexError(f"getitem on shape {tuple(self.data.shape)}: {e}") from None
        unwrapped = _unwrap_index(index, self.data)
        if self.data.__class__ is not _ndarray:
            try:
                _check_index_bounds(unwrapped, self.data.shape)
            except IndexError as e:
                raise IndexError(f"getitem on shapes {tuple(self.data.shape)}: {e}") from None
        return _apply1(ops.GetItem(unwrapped), self)

    # comparisons: boolean tensors, outside the graph
    def _compare(self, other, op, name: str | None = None) -> Tensor:
        other_data = other.data if isinstance(other, Tensor) else other
        name = name or op.__name__
        try:
            if isinstance(other_data, list | tuple | np.ndarray):  # on self's backend
                other_data = backend.array_module(self.data).asarray(other_data)
            if isinstance(other_data, complex | np.complexfloating) or (
                getattr(other_data, "dtype", None) is not None and other_data.dtype.kind == "c"
            ):  # (NumPy orders complex numbers by real part: x < 1j is False, silently)
                raise TypeError(
                    "no comparison with complex numbers: tinygrad_seq supports bool, integer "
                    "and float dtypes (take .real, .imag or abs() first)"
                )
            return _leaf(backend.as_array(op(self.data, other_data)))
        except (ValueError, TypeError) as e:  # as apply does: name the op and the shapes
            kind = ValueError if isinstance(e, ValueError) else TypeError
            try:
                other_shape = tuple(np.shape(other_data))
            except ValueError:  # a ragged list has no shape
                other_shape = "a ragged list"
            shown = f"{tuple(self.data.shape)} and {other_shape}"
            if "broadcast" in str(e):
                raise kind(
                    f"{name}: cannot broadcast shapes {shown}: each axis, aligned from "
                    "the right, must be equal or 1"
                ) from None
            raise kind(f"{name} of a tensor and {type(other).__name__}: {e}") from None

    def __lt__(self, other) -> Tensor:
        """A boolean tensor, elementwise with broadcasting, outside the graph (no gradient)."""
        return self._compare(other, np.less)

    def __le__(self, other) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # masks combined: boolean tensors only, outside the graph like the comparisons
    def _mask_op(self, other, op, symbol: str) -> Tensor:
        other_data = other.data if isinstance(other, Tensor) else other
        if isinstance(other_data, list | tuple | np.ndarray):  # on self's backend
            other_data = backend.array_module(self.data).asarray(other_data)
        if isinstance(other_data, bool | np.bool_):
            other_kind = "b"
        else:
            other_kind = getattr(getattr(other_data, "dtype", None), "kind", None)
        if self.dtype.kind != "b" or other_kind != "b":
            raise TypeError(
                f"{symbol} combines boolean tensors (masks, e.g. x > 0), got {self.dtype} and "
                f"{getattr(other_data, 'dtype', type(other).__name__)}"
            )
        return self._compare(other_data, op, symbol)

    def __and__(self, other) -> Tensor:
        """Masks combined elementwise (boolean tensors only), outside the graph."""
        return self._mask_op(other, np.logical_and, "&")

    __rand__ = __and__

    def __or__(self, other) -> Tensor:
        return self._mask_op(other, np.logical_or, "|")

    __ror__ = __or__

    def __xor__(self, other) -> Tensor:
        return self._mask_op(other, np.logical_xor, "^")

    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        """A boolean mask inverted (boolean tensors only), outside the graph."""
        if self.dtype.kind != "b":
            raise TypeError(f"~ inverts a boolean tensor (a mask), got {self.dtype}")
        return _leaf(backend.as_array(~self.data))

    def __abs__(self) -> Tensor:
        """|x|, elementwise: `x.abs()`."""
        return self.abs()

    # -------------------------------------------------------------- elementwise methods
    def exp(self) -> Tensor:
        """eˣ, elementwise."""
        return _apply1(ops.Exp(), self)

    def log(self) -> Tensor:
        """The natural log, elementwise."""
        return _apply1(ops.Log(), self)

    def tanh(self) -> Tensor:
        """tanh(x), elementwise; its gradient is 1 − tanh²(x)."""
        return _apply1(ops.Tanh(), self)

    def sigmoid(self) -> Tensor:
        """σ(x) = 1 / (1 + e^−x), elementwise."""
        return _apply1(ops.Sigmoid(), self)

    def relu(self) -> Tensor:
        """max(0, x), elementwise."""
        return _apply1(ops.Relu(), self)

    def sqrt(self) -> Tensor:
        """√x, elementwise."""
        return _apply1(ops.Sqrt(), self)

    def abs(self) -> Tensor:
        """|x|, elementwise (gradient sign(x), 0 at 0)."""
        return _apply1(ops.Abs(), self)

    def log1p(self) -> Tensor:
        """ln(1 + x), elementwise, exact where x is tiny (as (1 + x).log() is not)."""
        return _apply1(ops.Log1p(), self)

    def expm1(self) -> Tensor:
        """eˣ − 1, elementwise, exact where x is tiny (as x.exp() − 1 is not)."""
        return _apply1(ops.Expm1(), self)

    def erf(self) -> Tensor:
        """erf x = (2/√π) ∫₀ˣ e^(−t²) dt, elementwise; its gradient is (2/√π) e^(−x²)."""
        return _apply1(ops.Erf(), self)

    def gelu(self, approximate: str = "none") -> Tensor:
        """GELU, x Φ(x), elementwise: exact by default, or the tanh approximation.

        Exact (½ x (1 + erf(x/√2))) by default, or with approximate="tanh" the form ½ x (1 +
        tanh(√(2/π) (x + 0.044715 x³))), as PyTorch's gelu; see ts.F.gelu."""
        return _apply1(_gelu_op(approximate), self)

    def clip(self, min=None, max=None) -> Tensor:  # noqa: A002 (NumPy's and PyTorch's names)
        """x limited to [min, max], elementwise (NumPy's clip; None leaves that side open).

        The bounds are numbers (for bounds that vary by element, use ts.maximum or
        ts.where). The gradient is 1 where min ≤ x ≤ max, the bounds included (as
        PyTorch's clamp), and 0 outside. A NaN in x stays NaN and gets no gradient; a NaN
        bound is a ValueError. With min > max every element is max, as in NumPy.
        """
        if min is None and max is None:
            raise ValueError("clip: give min, max or both (with neither it would do nothing)")
        low = _clip_bound(min, "min", self.dtype)
        high = _clip_bound(max, "max", self.dtype)
        return _apply1(ops.Clip(low, high), self)

    def clamp(self, *args, **kwargs):
        """PyTorch's name for clip: a TypeError that says to write clip."""
        given = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        raise TypeError(
            f"clamp is PyTorch's name for NumPy's clip, which tinygrad_seq takes: write "
            f"x.clip({', '.join(given) or 'min, max'})"
        )

    # -------------------------------------------------------------- reductions
    # (each takes NumPy's axis= and keepdims=; `misnamed` catches PyTorch's dim= and
    # keepdim= to say so: see _misnamed)
    def sum(self, axis=None, keepdims: bool = False, **misnamed) -> Tensor:
        """Sum over `axis` (all axes by default, giving a 0-d tensor).

        The sum over an empty axis is 0."""
        if misnamed:
            raise _misnamed("sum", misnamed)
        if keepdims is not False and keepdims is not True:
            keepdims = as_bool(keepdims, "sum: keepdims")
        return _apply1(ops.Sum(_check_axis(axis, self.shape, "sum"), keepdims), self)

    def mean(self, axis=None, keepdims: bool = False, **misnamed) -> Tensor:
        """Mean over `axis` (all axes by default, giving a 0-d tensor).

        The mean over an empty axis is a ValueError (NumPy's is nan, with a warning)."""
        if misnamed:
            raise _misnamed("mean", misnamed)
        if keepdims is not False and keepdims is not True:
            keepdims = as_bool(keepdims, "mean: keepdims")
        axis = _check_axis(axis, self.shape, "mean")
        if not self.data.size:
            _refuse_empty(
                axis, self.shape, "mean", "the mean of no numbers is undefined (NumPy's is nan)"
            )
        return _apply1(ops.Mean(axis, keepdims), self)

    def max(self, axis=None, keepdims: bool = False, **misnamed) -> Tensor:
        """Max over `axis`.

        Tied maxima share the gradient. The max over an empty axis is a ValueError, as in NumPy."""
        if misnamed:
            raise _misnamed("max", misnamed)
        if keepdims is not False and keepdims is not True:
            keepdims = as_bool(keepdims, "max: keepdims")
        axis = _check_axis(axis, self.shape, "max")
        if not self.data.size:
            _refuse_empty(axis, self.shape, "max", "the max of no numbers is undefined")
        return _apply1(ops.Max(axis, keepdims), self)

    def min(self, axis=None, keepdims: bool = False, **misnamed) -> Tensor:
        """Min over `axis`, as −max(−x) (the graph shows those ops).

        Tied minima share the gradient. The min over an empty axis is a ValueError, as in NumPy."""
        if misnamed:
            raise _misnamed("min", misnamed)
        checked = _check_axis(axis, self.shape, "min")
        if not self.data.size:
            _refuse_empty(checked, self.shape, "min", "the min of no numbers is undefined")
        if self.dtype.kind != "f":  # (−x wraps unsigned integers and refuses booleans)
            keepdims = as_bool(keepdims, "min: keepdims")
            xp = backend.array_module(self.data)
            return Tensor(xp.asarray(xp.min(self.data, axis=checked, keepdims=keepdims)))
        return -((-self).max(axis, keepdims))

    def var(self, axis=None, keepdims: bool = False, correction: float = 0, **misnamed) -> Tensor:
        """Variance over `axis`: Σ (x − mean(x))² / (n − correction).

        Here n is the number of elements reduced. `correction` 0 (the default) divides by n, as
        NumPy's var; 1 divides by n − 1, PyTorch's default (torch.var's `correction=1`, or NumPy's
        ddof=1, which is taken too). Where n − correction ≤ 0 (one element with correction=1) it is
        a ValueError, where PyTorch gives nan or inf with a warning; over an empty axis a
        ValueError, as the mean."""
        correction = _correction("var", correction, misnamed)
        return self._spread(ops.Var, "var", "the variance", axis, keepdims, correction)

    def std(self, axis=None, keepdims: bool = False, correction: float = 0, **misnamed) -> Tensor:
        """Standard deviation over `axis`: √var(axis, keepdims, correction).

        The variance is as in `var` (the default divides by n, as NumPy's std; PyTorch's std
        by n − 1: pass correction=1). Where all the elements reduced are equal it is 0 and so
        is its gradient, as in PyTorch (not √'s 0 · ∞ = nan)."""
        correction = _correction("std", correction, misnamed)
        return self._spread(ops.Std, "std", "the standard deviation", axis, keepdims, correction)

    def _spread(self, op, name: str, what: str, axis, keepdims, correction: float) -> Tensor:
        """var or std (`op`) over `axis`, after checking the arguments."""
        if keepdims is not False and keepdims is not True:
            keepdims = as_bool(keepdims, f"{name}: keepdims")
        axis = _check_axis(axis, self.shape, name)
        if not self.data.size:
            _refuse_empty(axis, self.shape, name, f"{what} of no numbers is undefined")
        n = ops.reduced_count(tuple(self.shape), axis)  # (the count the op divides by)
        if n - correction <= 0:
            raise ValueError(
                f"{name}: correction={correction!r} leaves n − correction = {n - correction!r} "
                f"for the {n} element{'s' if n != 1 else ''} reduced into each result (tensor "
                f"of shape {tuple(self.shape)}, axis={axis!r}); it must be > 0 (PyTorch gives "
                "nan or inf here): reduce over more elements, or pass correction=0"
            )
        return _apply1(op(axis, keepdims, correction), self)

    def logsumexp(self, axis=None, keepdims: bool = False, **misnamed) -> Tensor:
        """log Σ exp(x) over `axis` (all axes by default, giving a 0-d tensor), computed stably.

        x (..., n, ...) → (..., ...), or (..., 1, ...) with `keepdims`, as `sum`. Worked out
        as m + log Σ exp(x − m), m the max, so logits of ±1e4 give exact results; its
        gradient is softmax(x) over `axis`. As PyTorch's torch.logsumexp: a row of −inf gives
        −inf (its gradient nan), a +inf gives +inf, an empty axis −inf (log 0); float16 is
        summed in float32."""
        if misnamed:
            raise _misnamed("logsumexp", misnamed)
        if keepdims is not False and keepdims is not True:
            keepdims = as_bool(keepdims, "logsumexp: keepdims")
        return _apply1(ops.LogSumExp(_check_axis(axis, self.shape, "logsumexp"), keepdims), self)

    def argmax(self, axis: int | None = None, keepdims: bool = False, **misnamed) -> Tensor:
        """Index of the largest element, an integer tensor without a gradient.

        Over the flattened tensor by default, as NumPy's; `keepdims` keeps `axis` with size 1."""
        if misnamed:
            raise _misnamed("argmax", misnamed)
        if isinstance(axis, tuple | list):  # (NumPy's argmax takes one axis)
            raise TypeError(f"argmax: axis must be one int or None, got {axis!r}")
        keepdims = as_bool(keepdims, "argmax: keepdims")
        axis = _check_axis(axis, self.shape, "argmax")  # (None for a 0-d tensor)
        if not self.data.size:
            _refuse_empty(axis, self.shape, "argmax", "no element can be the largest")
        xp = backend.array_module(self.data)
        return Tensor(xp.asarray(xp.argmax(self.data, axis=axis, keepdims=keepdims)))

    def topk(
        self, k: int, axis: int = -1, largest: bool = True, **misnamed
    ) -> tuple[Tensor, Tensor]:
        """The `k` largest (or smallest) elements along `axis`, and where they are.

        x (..., n, ...) → (values (..., k, ...), indices (..., k, ...)), `axis` keeping its
        place, as torch.topk: values from the largest down (with `largest=False`, the k
        smallest, from the smallest up), indices an int64 tensor without a gradient, each
        value's position along `axis`. Ties are broken by position: of equal values, the one
        met first along `axis` comes first (PyTorch leaves their order unspecified); nan
        counts as larger than any number, as in PyTorch. The values' gradient flows back to
        the positions they were taken from; every other element gets 0. `0 <= k <= n`."""
        if misnamed:
            raise _misnamed("topk", misnamed, takes=("axis",))
        return self._ordered("topk", k, axis, as_bool(largest, "topk: largest"))

    def sort(self, axis: int = -1, descending: bool = False, **misnamed) -> tuple[Tensor, Tensor]:
        """The elements sorted along `axis`, and the positions they came from.

        x (..., n, ...) → (values, indices), both of x's shape, as torch.sort with
        `stable=True`: ascending (or with `descending=True`, from the largest down), equal
        values keeping their order, nan counted as the largest number. Indices are an int64
        tensor without a gradient; the values' gradient flows back to where each came from.
        It is `x.topk(n, axis, largest=descending)`."""
        if misnamed:
            raise _misnamed("sort", misnamed, takes=("axis",))
        descending = as_bool(descending, "sort: descending")
        if self.ndim == 0:
            raise ValueError("sort: a 0-d tensor has no axis to sort along; reshape it to (1,)")
        n = self.shape[_check_axis(as_int(axis, "sort: axis"), self.shape, "sort")]
        return self._ordered("sort", n, axis, descending)

    def _ordered(self, op: str, k, axis, largest: bool) -> tuple[Tensor, Tensor]:
        """topk's and sort's work: the first `k` positions in order along `axis`, and the
        values there, taken by indexing (whose backward scatters the gradient back)."""
        k = as_int(k, f"{op}: k", "an int (how many elements to keep)")
        if self.ndim == 0:
            raise ValueError(f"{op}: a 0-d tensor has no axis to pick along; reshape it to (1,)")
        axis = _check_axis(as_int(axis, f"{op}: axis"), self.shape, op) % self.ndim
        n = self.shape[axis]
        if not 0 <= k <= n:
            raise ValueError(
                f"{op}: k={k} is out of range for the {n} elements along axis {axis} of a "
                f"tensor of shape {tuple(self.shape)}: give 0 <= k <= {n}"
            )
        xp = backend.array_module(self.data)
        last = self.data.swapaxes(axis, -1)  # (ordered along the last axis, then put back)
        if largest:  # the stable ascending order of the reversed row, reversed: largest
            # first, equal values by position (nan, sorted last, comes first)
            order = (n - 1) - xp.argsort(last[..., ::-1], axis=-1, kind="stable")[..., ::-1]
        else:
            order = xp.argsort(last, axis=-1, kind="stable")
        indices = order[..., :k].swapaxes(axis, -1).astype(np.int64, copy=False)
        # the values are x[i0, i1, ..., indices, ...], each other axis indexed by its range
        shape = indices.shape
        index = tuple(
            indices
            if a == axis
            else xp.arange(size).reshape([size if b == a else 1 for b in range(len(shape))])
            for a, size in enumerate(shape)
        )
        return _apply1(ops.GetItem(index, False), self), Tensor(indices)

    def softmax(self, axis: int = -1, **misnamed) -> Tensor:
        """exp(x) / Σ exp(x) along `axis`, computed stably."""
        if misnamed:
            raise _misnamed("softmax", misnamed, takes=("axis",))
        return _apply1(ops.Softmax(_check_axis(axis, self.shape, "softmax")), self)

    def log_softmax(self, axis: int = -1, **misnamed) -> Tensor:
        """x − log Σ exp(x) along `axis`, computed stably."""
        if misnamed:
            raise _misnamed("log_softmax", misnamed, takes=("axis",))
        return _apply1(ops.LogSoftmax(_check_axis(axis, self.shape, "log_softmax")), self)

    # -------------------------------------------------------------- shape
    def unsqueeze(self, axis: int | None = None, **misnamed) -> Tensor:
        """A new axis of size 1 at `axis`, as a reshape.

        A negative `axis` counts from the end of the result."""
        if misnamed:  # (axis has a default only so that dim= gets this answer)
            raise _misnamed("unsqueeze", misnamed, takes=("axis",))
        if axis is None:
            raise TypeError("unsqueeze: missing axis, where the new axis of size 1 goes (an int)")
        axis = as_int(axis, "unsqueeze: axis")
        if not -self.ndim - 1 <= axis <= self.ndim:
            raise ValueError(
                f"unsqueeze: axis {axis} is out of range for a tensor of shape "
                f"{tuple(self.shape)}: a new axis goes at -{self.ndim + 1}..{self.ndim}"
            )
        shape = list(self.shape)
        shape.insert(axis % (self.ndim + 1), 1)
        return self.reshape(*shape)

    def squeeze(self, axis=None, **misnamed) -> Tensor:
        """Without the axes of size 1 (all of them, or those named), as a reshape."""
        if misnamed:
            raise _misnamed("squeeze", misnamed, takes=("axis",))
        named = _check_axis(axis, self.shape, "squeeze")
        if named is None:
            drop = {a for a, n in enumerate(self.shape) if n == 1}
        else:
            named = named if isinstance(named, tuple) else (named,)
            drop = {a % self.ndim for a in named}
            wide = [a for a in named if self.shape[a % self.ndim] != 1]
            if wide:  # (NumPy's squeeze refuses one too; PyTorch's leaves the axis)
                raise ValueError(
                    f"squeeze: axis {wide[0]} has size {self.shape[wide[0] % self.ndim]}, not "
                    f"1, in a tensor of shape {tuple(self.shape)}"
                )
        return self.reshape(*[n for a, n in enumerate(self.shape) if a not in drop])

    def reshape(self, *shape) -> Tensor:
        """The same elements in a new shape (`-1` infers one axis)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        try:
            new_size = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
            if (
                shape.count(-1) > 1
                or any(n < -1 for n in shape)  # (NumPy's own message spoke of -1 here)
                or (-1 not in shape and new_size != self.data.size)
                or (-1 in shape and (new_size == 0 or self.data.size % new_size))
            ):
                raise ValueError
        except (ValueError, TypeError):
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {tuple(self.shape)} "
                f"({self.data.size} elements) into shape {shape}"
            ) from None
        return _apply1(ops.Reshape(shape), self)

    def flatten(self, *misnamed_axes, **misnamed) -> Tensor:
        """Every axis in one, in C order (NumPy's flatten), as a reshape: shape (size,).

        A 0-d tensor gives shape (1,)."""
        if misnamed_axes or misnamed:  # (PyTorch's flatten(start_dim, end_dim) keeps axes)
            raise TypeError(
                "flatten() takes no arguments: it joins every axis into one, as NumPy's does; "
                "to keep the first axis (PyTorch's flatten(1)), write x.reshape(x.shape[0], -1)"
            )
        return self.reshape(-1)

    def transpose(self, *axes) -> Tensor:
        """Permute the axes (reverse them when none are given, or None, as in NumPy)."""
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        elif axes == (None,):
            axes = ()
        if not all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"transpose: axes must be integers, got {axes}")
        # `a % ndim` alone would let an out-of-range axis (5 of 2 axes) wrap around silently
        if axes and sorted(a + self.ndim if a < 0 else a for a in axes) != list(range(self.ndim)):
            hint = ""
            i, j = (a % self.ndim for a in axes) if len(axes) == 2 and self.ndim > 2 else (0, 0)
            if i != j and self.ndim > 2 and all(-self.ndim <= a < self.ndim for a in axes):
                swapped = list(range(self.ndim))  # PyTorch's transpose(i, j) swaps two axes
                swapped[i], swapped[j] = j, i
                hint = (
                    f"; to swap axes {i} and {j}, as PyTorch's transpose(i, j) does: "
                    f"transpose{tuple(swapped)}"
                )
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of a "
                f"tensor of shape {tuple(self.shape)} (NumPy's transpose takes all of them)"
                f"{hint}"
            )
        if self.ndim == 2 and len(axes) == 2 and axes[0] % 2 == 0:
            # x.transpose(0, 1) or (-2, -1): NumPy's identity, PyTorch's swap of two axes
            warnings.warn(
                f"transpose{tuple(axes)} of a 2-D tensor leaves it as it is (NumPy's axes are "
                f"the new order, not two axes to swap, as in PyTorch): for the transpose "
                f"write x.T or x.transpose(1, 0)",
                stacklevel=2,
            )
        return _apply1(ops.Transpose(tuple(a % self.ndim for a in axes) or None), self)

    def split(self, sizes, axis: int = 0, **misnamed) -> tuple[Tensor, ...]:
        """Pieces along `axis`, as PyTorch's split: of an int's size each, or of the listed sizes.

        An int is each piece's size (the last piece smaller when it does not divide the axis), a
        list the sizes themselves, which must add up to the axis' length. (NumPy's split reads an
        int as a count of pieces: that is `chunk`.)

        x (..., n, ...) -> a tuple of (..., n_i, ...), Σ n_i = n. Each piece is a slice
        of x (a getitem node), so its gradient goes back into its own part of x, and a
        piece left unused sends none.
        """
        if misnamed:
            raise _misnamed("split", misnamed, takes=("axis",))
        ax, n = _split_axis(self, axis, "split")
        if isinstance(sizes, list | tuple):
            sizes = [as_int(k, "split: each size", "an int >= 0") for k in sizes]
            if any(k < 0 for k in sizes) or sum(sizes) != n:
                raise ValueError(
                    f"split: sizes {sizes} must be >= 0 and add up to {n}, the length of "
                    f"axis {axis} of a tensor of shape {tuple(self.shape)}"
                )
        else:
            size = as_int(sizes, "split: sizes", "an int (each piece's size) or a list of ints")
            if size < 1 and not (size == 0 and n == 0):  # (PyTorch's one exception)
                raise ValueError(
                    f"split: a piece's size must be at least 1, got {size} (for a number of "
                    "pieces, use chunk)"
                )
            sizes = [min(size, n - start) for start in range(0, n, size)] if n else [0]
        return _slices(self, ax, sizes)

    def chunk(self, chunks: int, axis: int = 0, **misnamed) -> tuple[Tensor, ...]:
        """`chunks` pieces along `axis` (the last smaller), as PyTorch's chunk.

        NumPy's array_split count: each of ⌈n / chunks⌉ elements, the last smaller; so fewer pieces
        come back when that size covers the axis sooner (5 elements in 4 chunks: sizes 2, 2, 1). An
        empty axis gives `chunks` empty pieces.

        x (..., n, ...) -> a tuple of at most `chunks` slices (..., n_i, ...), Σ n_i = n.
        """
        if misnamed:
            raise _misnamed("chunk", misnamed, takes=("axis",))
        chunks = as_int(chunks, "chunk: chunks", "an int >= 1 (how many pieces)")
        if chunks < 1:
            raise ValueError(f"chunk: chunks must be at least 1 (how many pieces), got {chunks}")
        ax, n = _split_axis(self, axis, "chunk")
        if n == 0:
            return _slices(self, ax, [0] * chunks)
        size = -(-n // chunks)  # ⌈n / chunks⌉
        return _slices(self, ax, [min(size, n - start) for start in range(0, n, size)])

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        return _apply1(ops.Transpose(None), self)


def _check_axis(axis, shape: tuple[int, ...], op: str):
    """Validate a reduction axis so that errors name the op and the tensor's shape."""
    if axis is None:
        return None
    ndim = len(shape)
    if isinstance(axis, int | np.integer) and not isinstance(axis, bool):
        axes = (axis,)
    elif isinstance(axis, list | tuple):
        axis = axes = tuple(axis)  # a list of axes, too
    else:
        raise TypeError(
            f"{op}: axis must be an int, a tuple of ints or None, got {type(axis).__name__} "
            f"{axis!r}"
        )
    for a in axes:
        if not isinstance(a, int | np.integer) or isinstance(a, bool):  # (x.sum(True): keepdims?)
            raise TypeError(
                f"{op}: axis must be an int, a tuple of ints or None, got {type(a).__name__} {a!r}"
            )
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(
                f"{op}: axis {a} is out of range for a tensor of shape {tuple(shape)} ({ndim} axes)"
            )
    if len(axes) > 1 and len({a % max(ndim, 1) for a in axes}) < len(axes):
        raise ValueError(
            f"{op}: axis {axis} names the same axis twice, for a tensor of shape {tuple(shape)}"
        )
    return axis if ndim else None  # a 0-d tensor has no axis: axis 0 or -1 means all of it


def _split_axis(x: Tensor, axis, op: str) -> tuple[int, int]:
    """(axis counted from 0, its length) for split and chunk, or a clear error."""
    axis = as_int(axis, f"{op}: axis")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"{op}: axis {axis} is out of range for a tensor of shape {tuple(x.shape)} "
            f"({x.ndim} axes)"
        )
    ax = axis % x.ndim
    return ax, x.shape[ax]


def _slices(x: Tensor, ax: int, sizes: list[int]) -> tuple[Tensor, ...]:
    """x cut along axis `ax` into consecutive slices of `sizes` (which add up to its
    length): one getitem each, whose backward adds into its own part of x's gradient."""
    lead = (slice(None),) * ax
    pieces, start = [], 0
    for size in sizes:
        pieces.append(_apply1(ops.GetItem(lead + (slice(start, start + size),), True), x))
        start += size
    return tuple(pieces)


def _clip_bound(bound, name: str, dtype: np.dtype):
    """clip's `min` or `max` as a number in a float tensor's dtype (a float32 x stays
    float32), an integer as it is for an integer tensor, None as None; anything else, or
    NaN, a clear error."""
    if bound is None:
        return None
    if isinstance(bound, Tensor) or getattr(bound, "ndim", 0) != 0:
        raise TypeError(
            f"clip: {name} must be a number or None, got {type(bound).__name__}; for bounds "
            "that vary by element use ts.maximum(x, low) or ts.where"
        )
    if isinstance(bound, np.ndarray):  # a 0-d array: its number (an int stays an int)
        bound = bound.item()
    if (
        dtype.kind not in "fc"
        and isinstance(bound, int | np.integer)
        and not isinstance(bound, bool)
    ):
        return int(bound)  # (clip of an integer tensor by integers stays integer)
    value = as_float(bound, f"clip: {name}", "a number or None")
    if value != value:
        raise ValueError(f"clip: {name} is NaN; a bound must be a number (or None for none)")
    return dtype.type(value) if dtype.kind == "f" else value


# PyTorch's names for NumPy's keywords, which the engine takes (docs/pytorch.md, "NumPy's names")
_NUMPY_NAME = {"dim": "axis", "keepdim": "keepdims"}


def _misnamed(op: str, given: dict, takes: tuple[str, ...] = ("axis", "keepdims")) -> TypeError:
    """The TypeError for keywords that `op` does not take: PyTorch's `dim=` and `keepdim=`
    (where `op` takes NumPy's `axis=`, `keepdims=`) are answered with NumPy's spelling,
    any other as Python answers it; NumPy's `out=` (and `dtype=`...), which np.sum(tensor)
    and its kin pass to the method, with the method to write."""
    if "out" in given:  # (every NumPy reduction passes out=, None by default)
        return TypeError(
            f"{op}() takes no {' or '.join(f'{k}=' for k in given)}: a NumPy function "
            f"(np.{op}(tensor)) calls the tensor's own {op} with NumPy's arguments. Write "
            f"tensor.{op}(axis=..., keepdims=...), which records the op for backward, or "
            f"np.{op}(tensor.numpy()) for the number alone"
        )
    for name in given:
        if _NUMPY_NAME.get(name) not in takes:
            return TypeError(f"{op}() got an unexpected keyword argument {name!r}")
    ours = " and ".join(f"{name}=" for name in given)
    numpys = " and ".join(f"{_NUMPY_NAME[name]}=" for name in given)
    write = ", ".join(f"{_NUMPY_NAME[name]}={value!r}" for name, value in given.items())
    are = "are PyTorch's names" if len(given) > 1 else "is PyTorch's name"
    return TypeError(
        f"{op}: {ours} {are} for NumPy's {numpys}, which tinygrad_seq takes: write {write}"
    )


def _correction(op: str, correction, misnamed: dict) -> float:
    """var's and std's `correction` as a number, NumPy's ddof= taken as its other name;
    PyTorch's older unbiased= answered with correction=, other keywords by _misnamed."""
    if "ddof" in misnamed and "out" not in misnamed:  # (np.var(tensor) passes out= too)
        if correction != 0:
            raise TypeError(f"{op}: give correction= or NumPy's ddof=, not both")
        correction = misnamed.pop("ddof")
    if "unbiased" in misnamed and "out" not in misnamed:
        unbiased = misnamed["unbiased"]
        raise TypeError(
            f"{op}: unbiased= is PyTorch's older name: write correction="
            f"{1 if unbiased else 0} (1 divides by n − 1, 0 by n)"
        )
    if misnamed:
        raise _misnamed(op, misnamed)
    if isinstance(correction, int | np.integer) and not isinstance(correction, bool):
        return int(correction)
    value = as_float(correction, f"{op}: correction", "a number (0 divides by n, 1 by n − 1)")
    if not math.isfinite(value):
        raise ValueError(f"{op}: correction must be a finite number, got {correction!r}")
    return value


def _gelu_op(approximate):
    """The gelu Function for PyTorch's `approximate` ("none": exact, "tanh"), or a clear
    error for any other value."""
    if approximate == "none":
        return ops.GeluErf()
    if approximate == "tanh":
        return ops.GeluTanh()
    raise ValueError(
        f'gelu: approximate must be "none" (exact, the default) or "tanh", got {approximate!r}'
    )


def _cast_target(dtype, op: str) -> np.dtype:
    """`dtype` as a NumPy dtype a tensor may hold (bool, integer or float), or a clear error."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{op}: expected a dtype (np.float32, 'float64', 'int64', ...), got "
            f"{type(dtype).__name__} {dtype!r}"
        ) from None
    if dt.kind == "c":
        raise TypeError(f"{op}: " + _COMPLEX.format(what=f"a tensor of {dt}"))
    if dt.kind not in "biuf":
        raise TypeError(f"{op}: a tensor holds bool, integer or float numbers, not {dt}")
    return dt


def _refuse_a_dtype(name) -> None:
    """to() takes a backend; a dtype there (PyTorch's .to(torch.float64) habit) gets a
    TypeError saying to write astype."""
    if isinstance(name, str) and name.strip().lower() in backend.BACKENDS:
        return
    try:
        dt = np.dtype(name)
    except (TypeError, ValueError):
        return  # not a dtype either: the backend's own error names the choices
    raise TypeError(
        f"to({name!r}): to() moves a tensor to a backend ('numpy' or 'cupy'); for the dtype "
        f"{dt} write x.astype({dt.name!r}) (or .float(), .double())"
    )


def _refuse_empty(axis, shape: tuple[int, ...], op: str, why: str) -> None:
    """A ValueError if reduction `op` over `axis` (checked; None: all) of a tensor of
    `shape` that has no elements would reduce an empty axis (`why`: why that is an
    error); a tensor whose reduced axes are not empty (shape (0, 3), axis 1) passes."""
    axes = range(len(shape)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    empty = next((a for a in axes if shape[a] == 0), None)
    if empty is not None:
        what = "has no elements" if axis is None else f"has size 0 along axis {empty}"
        raise ValueError(f"{op}: the tensor of shape {tuple(shape)} {what}: {why}")


_BASIC = (slice, int)  # index parts that pick each element at most once


def _is_bool_array(i) -> bool:
    return getattr(getattr(i, "dtype", None), "kind", None) == "b"


def _has_mask(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    for i in parts:
        if isinstance(i, Tensor):
            i = i.data
        if _is_bool_array(i) or (isinstance(i, list) and i and _is_bool_list(i)):
            return True
    return False


def _is_bool_list(index: list) -> bool:
    """Whether a (nested) list index is a boolean mask: [True, False], [[True], [False]]."""
    first = index
    while isinstance(first, list) and first:
        first = first[0]
    if not isinstance(first, bool | np.bool_):  # (the common list index: integers)
        return False
    try:
        return np.asarray(index).dtype == bool
    except ValueError:  # ragged: not a mask NumPy would take either
        return False


def _check_masks(index, shape) -> None:
    """NumPy's own check of an index holding boolean masks, before they become index
    arrays (which would let a mask of the wrong length through): the index is tried on a
    view of one byte repeated to `shape`, so no copy of the data is made."""

    def host(i):
        i = i.data if isinstance(i, Tensor) else i
        return backend.to_numpy(i) if hasattr(i, "dtype") else i

    parts = [host(i) for i in (index if isinstance(index, tuple) else (index,))]
    if any(_is_bool_array(p) and p.ndim == 0 for p in parts):
        raise IndexError("a 0-d boolean index is not supported; index with a mask of x's shape")
    probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape, (0,) * len(shape))
    probe[tuple(parts) if isinstance(index, tuple) else parts[0]]  # NumPy's IndexError for
    # a mask of the wrong shape


def _unwrap_index(index, data):
    """An index with Tensors and lists turned into arrays of `data`'s backend."""
    if isinstance(index, tuple):
        parts = []
        for i in index:
            u = _unwrap_index(i, data)
            if isinstance(u, tuple) and not isinstance(i, tuple):
                parts.extend(u)  # a k-D boolean mask spans k axes: splice in its k index arrays
            else:
                parts.append(u)
        return tuple(parts)
    if isinstance(index, Tensor):
        index = index.data
    given, integers = index, False
    if isinstance(index, list):
        index = np.asarray(index)
        if not index.size:  # [] comes out float: NumPy indexes with it as integers
            index = index.astype(np.intp)
    if isinstance(index, np.ndarray) and index.dtype == bool:
        index = index.nonzero()  # masks become index arrays, which add.at accepts
        if backend.array_module(data) is not np:  # (a k-D mask: k arrays, each moved)
            index = tuple(backend.array_module(data).asarray(i) for i in index)
        index = index[0] if len(index) == 1 else index
    elif hasattr(index, "dtype") and index.dtype == bool:
        index = index.nonzero()
        index = index[0] if len(index) == 1 else index
    elif hasattr(index, "dtype"):
        integers = True
    if isinstance(index, np.ndarray) and backend.array_module(data) is not np:
        index = backend.array_module(data).asarray(index)
    # the caller's integers: backward scatters by them later (mask positions are new)
    return backend.own_copy(index, given) if integers else index


def _check_index_bounds(index, shape) -> None:
    """IndexError for an integer index array reaching past its axis: CuPy wraps such
    indices around (a documented difference from NumPy) where NumPy raises."""
    parts = index if isinstance(index, tuple) else (index,)
    used = sum(1 for p in parts if p is not None and p is not Ellipsis)
    axis = 0
    for p in parts:
        if p is None:
            continue
        if p is Ellipsis:
            axis += len(shape) - used
            continue
        if p.__class__ in backend.ARRAY_TYPES and p.dtype.kind in "iu" and p.size:
            n = shape[axis]
            lo, hi = int(p.min()), int(p.max())  # (on a GPU: one wait per index array)
            if lo < -n or hi >= n:
                bad = hi if hi >= n else lo
                raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
        axis += 1


def _last_writes(data, index, value):
    """(index, value) for `data[index] = value` with each element written once, with the
    last of the values meant for it: NumPy's result where index arrays reach an element
    twice (w[[0, 0]] = [1, 2] leaves 2), which CuPy leaves undefined (any one of them).

    Only for an index holding arrays; the element numbers are worked out on the device,
    without waiting for it: index a range by `index`, order the numbers (each made unique
    by its position, so the sort need not be stable), and keep each number's last position.
    An index of arrays alone (`E[ids] = 0`, `w[rows, cols]`) numbers only the entries of
    the axes it indexes (the rows of an embedding, not each of its numbers); any other
    numbers every element."""
    parts = index if isinstance(index, tuple) else (index,)
    if not any(p.__class__ in backend.ARRAY_TYPES for p in parts):
        return index, value  # ints and slices reach each element once
    xp = backend.array_module(data)
    if all(p.__class__ in backend.ARRAY_TYPES for p in parts) and len(parts) <= data.ndim:
        indexed = data.shape[: len(parts)]  # the axes the arrays index; the rest go whole
    else:
        indexed = data.shape
    rest = data.shape[len(indexed) :]
    picked = xp.arange(math.prod(indexed)).reshape(indexed)[index]  # the entries' numbers
    n = picked.size
    if n < 2:
        return index, value
    values = xp.broadcast_to(xp.asarray(value, dtype=data.dtype), picked.shape + rest)
    where = picked.reshape(-1)
    order = xp.argsort(where * n + xp.arange(n))  # by number, then by position
    ordered = where[order]
    last = xp.ones(n, dtype=bool)
    last[:-1] = ordered[1:] != ordered[:-1]
    keep = order[last]  # the position of each number's last write
    return xp.unravel_index(where[keep], indexed), values.reshape((n, *rest))[keep]


def clear_grads(tensors, set_to_none, who: str) -> None:
    """zero_grad's work for Tensor, Module and Optimizer: each `.grad` set to None, or with
    `set_to_none` False, zeros written into the gradients there are (an array kept between
    steps, as PyTorch's set_to_none=False)."""
    if as_bool(set_to_none, f"{who}: set_to_none"):
        for t in tensors:
            t.grad = None
        return
    for t in tensors:
        if t.grad is not None:
            t.grad[...] = 0


for _name, _hint in [*_PYTORCH_NAMES.items(), *((n, _IN_PLACE_HINT) for n in _IN_PLACE)]:
    setattr(Tensor, _name, _PyTorchName(_name, _hint))
del _name, _hint


# ------------------------------------------------------------------ functions
def cat(tensors: Sequence[Tensor], axis: int = 0, **misnamed) -> Tensor:
    """Join tensors along an existing axis."""
    if misnamed:
        raise _misnamed("cat", misnamed, takes=("axis",))
    tensors = _as_tensors(tensors, "cat")
    axis = as_int(axis, "cat: axis")
    ndim = tensors[0].ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"cat: axis {axis} is out of range for tensors with {ndim} axes")
    ax = axis % ndim
    for t in tensors:
        if t.ndim != ndim or any(
            a != b
            for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape, strict=True))
            if i != ax
        ):
            shapes = ", ".join(str(tuple(x.shape)) for x in tensors)
            raise ValueError(f"cat: all shapes must match except along axis {axis}; got {shapes}")
    return apply(ops.Concat(ax), *tensors)


def stack(tensors: Sequence[Tensor], axis: int = 0, **misnamed) -> Tensor:
    """Join same-shape tensors along a new axis."""
    if misnamed:
        raise _misnamed("stack", misnamed, takes=("axis",))
    tensors = _as_tensors(tensors, "stack")
    axis = as_int(axis, "stack: axis")
    first = tensors[0].shape
    if any(t.shape != first for t in tensors):
        shapes = ", ".join(str(tuple(x.shape)) for x in tensors)
        raise ValueError(f"stack: all tensors must have the same shape; got {shapes}")
    ndim = len(first) + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"stack: axis {axis} is out of range for a result with {ndim} axes")
    return apply(ops.Stack(axis % ndim), *tensors)


def split(x: Tensor, sizes, axis: int = 0, **misnamed) -> tuple[Tensor, ...]:
    """`x.split(sizes, axis)`: pieces along `axis`, as PyTorch's torch.split.

    An int `sizes` is each piece's size (the last piece smaller), a list the sizes
    themselves."""
    return _tensor_arg(x, "split").split(sizes, axis, **misnamed)


def chunk(x: Tensor, chunks: int, axis: int = 0, **misnamed) -> tuple[Tensor, ...]:
    """`x.chunk(chunks, axis)`: at most `chunks` pieces, as PyTorch's torch.chunk.

    The pieces have ⌈n / chunks⌉ elements along `axis` (n the axis' length), the last
    smaller."""
    return _tensor_arg(x, "chunk").chunk(chunks, axis, **misnamed)


def _tensor_arg(x, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{op}: expected a Tensor, got {type(x).__name__} (wrap an array in ts.Tensor)"
        )
    return x


def where(cond, a, b) -> Tensor:
    """Elementwise `a` where `cond` is true, else `b`; the gradient flows to the chosen side."""
    cond_data = cond.data if isinstance(cond, Tensor) else cond
    if isinstance(a, Tensor):
        like = a
    elif isinstance(b, Tensor):
        like = b
    else:
        like = Tensor(a)
    xp = backend.array_module(like.data)
    given = cond_data
    cond_data = xp.asarray(cond_data)
    if cond_data.dtype != bool:
        raise TypeError(f"where: cond must be boolean, got {cond_data.dtype}")
    cond_data = backend.own_copy(cond_data, given)  # (backward picks by it later)
    return _apply2(ops.Where(cond_data), like._lift(a), like._lift(b))


def maximum(a: Tensor, b) -> Tensor:
    """Elementwise maximum of `a` and `b`, with broadcasting.

    A tie sends the gradient to `a`. A number on either side takes the tensor's dtype (maximum(0, x)
    stays float32 for a float32 x)."""
    if not isinstance(a, Tensor):
        a = b._lift(a) if isinstance(b, Tensor) else Tensor(a)
    return _apply2(ops.Maximum(), a, a._lift(b))


def _as_tensors(tensors, op: str) -> list[Tensor]:
    """Tensors as they are; lists and arrays among them as constants, lists taking the
    first tensor's float dtype (as x + [0.1] does)."""
    if isinstance(tensors, Tensor) or hasattr(tensors, "dtype"):  # list() would split rows
        raise TypeError(
            f"{op}: expected a sequence of tensors (e.g. [a, b]), got a single "
            f"{type(tensors).__name__}; wrap it in a list"
        )
    try:
        tensors = list(tensors)
    except TypeError:
        raise TypeError(
            f"{op}: expected a sequence of tensors (e.g. [a, b]), got {type(tensors).__name__}"
        ) from None
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    if like is None:
        return [Tensor(t) for t in tensors]
    return [like._lift(t) if not isinstance(t, Tensor) else t for t in tensors]


def _shape_arg(shape) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"a shape is made of integers, got {shape}")
    if any(n < 0 for n in shape):
        raise ValueError(f"a shape is made of sizes >= 0, got {shape}")
    return tuple(int(n) for n in shape)


def _float_dtype(dtype):
    return np.dtype(dtype) if dtype is not None else _default_dtype


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros on the active backend."""
    return Tensor(
        backend.xp.zeros(_shape_arg(shape), dtype=_float_dtype(dtype)), requires_grad=requires_grad
    )


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones on the active backend."""
    return Tensor(
        backend.xp.ones(_shape_arg(shape), dtype=_float_dtype(dtype)), requires_grad=requires_grad
    )


def _like(like, op: str):
    """The array that `zeros_like` or `ones_like` copies the shape, dtype and backend of."""
    if isinstance(like, Tensor):
        return like.data
    if hasattr(like, "shape") and hasattr(like, "dtype"):  # a NumPy or CuPy array
        backend.notice_cupy(like)
        return like
    raise TypeError(f"{op}: expected a Tensor or an array, got {type(like).__name__}")


def _filled_like(like, value, dtype, requires_grad: bool, op: str) -> Tensor:
    data = _like(like, op)
    xp = backend.array_module(data)
    return Tensor(
        xp.full(data.shape, value, dtype=data.dtype if dtype is None else dtype),
        requires_grad=requires_grad,
    )


def zeros_like(like, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros with the shape, dtype and backend of `like`.

    `like` is a Tensor or an array; the result has its dtype unless `dtype` is given, on its backend
    (as NumPy's and PyTorch's zeros_like)."""
    return _filled_like(like, 0, dtype, requires_grad, "zeros_like")


def ones_like(like, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones with the shape, dtype and backend of `like`.

    `like` is a Tensor or an array; the result has its dtype unless `dtype` is given, on its backend
    (as NumPy's and PyTorch's ones_like)."""
    return _filled_like(like, 1, dtype, requires_grad, "ones_like")


_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind `randn`, `nn` initialisation and dropout (an int >= 0)."""
    global _rng
    seed = as_int(seed, "manual_seed: seed", "an int >= 0")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be an int >= 0, got {seed}")
    _rng = np.random.default_rng(seed)


def get_rng_state() -> dict:
    """The state of the generator behind `randn`, `nn` initialisation and dropout.

    It is a dict of plain values (a copy) that `set_rng_state` puts back, so a checkpoint resumed in
    a new process draws the same dropout masks as the run it continues."""
    return copy.deepcopy(_rng.bit_generator.state)


def set_rng_state(state: dict) -> None:
    """Put back a state from `get_rng_state`: the draws that follow are those that followed it.

    A state that is not one (another generator's, an edited one) is a ValueError."""
    global _rng
    if not isinstance(state, dict):
        raise TypeError(
            f"set_rng_state: state must be the dict ts.get_rng_state() gave, got "
            f"{type(state).__name__}"
        )
    kind = type(_rng.bit_generator)
    if state.get("bit_generator") != kind.__name__:
        raise ValueError(
            f"set_rng_state: state is not a {kind.__name__} generator's (its "
            f"'bit_generator' is {state.get('bit_generator')!r}): give what "
            "ts.get_rng_state() returned"
        )
    generator = kind()
    try:
        generator.state = copy.deepcopy(state)  # (a copy: the dict stays the caller's)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"set_rng_state: not a state ts.get_rng_state() gave ({e})") from None
    _rng = np.random.Generator(generator)


def rng() -> np.random.Generator:
    """The engine's random generator (NumPy, on the host, so both backends agree)."""
    return _rng


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples (drawn on the host, so every backend gets the same values)."""
    dt = _float_dtype(dtype)
    if dt.kind != "f":  # normal samples cut to integers are not normal samples
        raise TypeError(f"randn: dtype must be a float dtype, got {dt}")
    data = _rng.standard_normal(_shape_arg(shape)).astype(dt)
    return Tensor(data, requires_grad=requires_grad)


def multinomial(probs, num_samples: int = 1, replacement: bool = False) -> Tensor:
    """Draw category ids from rows of weights, with the generator behind `randn` and dropout.

    probs (V,) or (B, V) → int64 ids (num_samples,) or (B, num_samples), as torch.multinomial:
    each row holds weights >= 0 (any positive total, not necessarily 1), id j drawn with
    probability w_j / Σ w. Without replacement (the default, PyTorch's) a row's draws are
    distinct, made one after another, each from the ids not drawn yet (num_samples at most
    the row's number of nonzero weights); with `replacement=True` they are independent. A
    negative, nan or infinite weight, or a row of zeros, is a ValueError. Drawn on the host,
    as randn's numbers are, so every backend gets the same ids (returned on `probs`'s
    backend), and `ts.manual_seed` or `ts.set_rng_state` replays them."""
    who = "multinomial"
    data = probs.data if isinstance(probs, Tensor) else probs
    if isinstance(data, list | tuple):
        data = np.asarray(data)
    if not isinstance(data, backend.ARRAY_TYPES):
        raise TypeError(
            f"{who}: probs must be a Tensor or an array of weights (V,) or (B, V), got "
            f"{type(probs).__name__}"
        )
    weights = backend.to_numpy(data)
    if weights.dtype.kind not in "iuf":
        raise TypeError(f"{who}: probs must hold numbers (weights), got dtype {weights.dtype}")
    if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise ValueError(
            f"{who}: probs must be weights (V,) or rows of weights (B, V) with V >= 1, got "
            f"shape {weights.shape}"
        )
    num_samples = as_int(num_samples, f"{who}: num_samples", "an int >= 1")
    replacement = as_bool(replacement, f"{who}: replacement")
    if num_samples < 1:
        raise ValueError(f"{who}: num_samples must be at least 1, got {num_samples}")
    rows = weights.reshape(-1, weights.shape[-1]).astype(np.float64)  # (B, V)
    bad = ~np.isfinite(rows) | (rows < 0)
    if bad.any():
        b, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{who}: the weights must be finite numbers >= 0, but row {b} holds {rows[b, j]} "
            f"at {j} (ts.F.softmax(logits) gives valid probabilities)"
        )
    nonzero = (rows > 0).sum(axis=1)
    if (nonzero == 0).any():
        raise ValueError(
            f"{who}: row {int(np.argmin(nonzero))} of the weights is all zeros: nothing to draw"
        )
    if not replacement and num_samples > nonzero.min():
        b = int(np.argmin(nonzero))
        raise ValueError(
            f"{who}: {num_samples} draws without replacement, but row {b} has only "
            f"{nonzero[b]} nonzero weight{'s' if nonzero[b] > 1 else ''}: ask for fewer, or "
            "pass replacement=True"
        )
    # each row over its largest weight (> 0: no row is all zeros), the same distribution:
    # weights near the float64 maximum would overflow the cumulative sums and w / E to inf
    rows = rows / rows.max(axis=1, keepdims=True)
    if replacement:  # the first j whose cumulative weight passes u · Σ w, u uniform in [0, 1)
        cumulative = np.cumsum(rows, axis=1)
        u = _rng.random((len(rows), num_samples)) * cumulative[:, -1:]
        ids = np.stack(
            [np.searchsorted(c, v, side="right") for c, v in zip(cumulative, u, strict=True)]
        )
        # (u · Σ w rounded up to Σ w would give V: the last nonzero weight's id instead)
        last = rows.shape[1] - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)
        ids = np.minimum(ids, last[:, None])
    else:  # w_j / E_j, E_j ~ Exp(1): the largest is id j with probability w_j / Σ w, and
        # the order of the rest is that of drawing again from those left (exponential races)
        keys = rows / _rng.standard_exponential(rows.shape)
        ids = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    ids = ids.astype(np.int64).reshape((*weights.shape[:-1], num_samples))
    return Tensor(backend.to_backend(ids, backend.backend_of(data)))  # (on probs's backend)


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """Evenly spaced values, as NumPy's arange (integers stay integer)."""
    if stop is None:
        start, stop = 0, start
    for what, value in (("start", start), ("stop", stop), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"arange: {what} must be a number, got {type(value).__name__} {value!r}"
            )
    if step == 0:
        raise ValueError("arange: step must not be 0")
    data = np.arange(start, stop, step)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype.kind == "f":
        data = data.astype(_default_dtype)
    return Tensor(data)
