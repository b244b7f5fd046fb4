"""A stand-in for CuPy on the CPU, strict where CuPy is strict: for running the test suite's
CuPy cases without a GPU (``PYTHONPATH=tests/cupy_standin python -m pytest``).

It does not compute on a GPU and proves nothing about CuPy's numerics or speed. What it
catches is the engine treating a GPU array as a NumPy one: its ``ndarray`` is not a
``numpy.ndarray`` (it wraps one), refuses implicit conversion (``__array__`` raises
TypeError, as CuPy's does), refuses NumPy arrays as operands of its ufuncs and functions
(CuPy: "Unsupported type numpy.ndarray"), returns 0-d arrays, never scalars, from
reductions, has no ``.ctypes`` and only three read-only ``flags``. Functions NumPy
dispatches to it (``__array_function__``, ``__array_ufunc__``) run where CuPy has them.

Where CuPy's documented results differ from NumPy's ("Differences between CuPy and NumPy"
in its user guide), it gives CuPy's: integer-array indices past an axis wrap around
(NumPy raises IndexError); a float cast to an integer type saturates (-1.0 to uint8 is 0,
inf to int32 its maximum, NaN 0); ``add.at``/``subtract.at`` with index arrays take only
the dtypes CUDA's atomicAdd does. Where CuPy's result is undefined, it refuses (a
RuntimeError, UndefinedOnGPU): an assignment through integer arrays that reach one
element twice with different values (CuPy stores either one).

Every refusal and dispatch is logged in ``LOG``. Run the real thing where a GPU is at hand.
"""

from __future__ import annotations

import builtins
import sys
import traceback
import types

import numpy as _np

LOG: list = []
STRICT = True  # raise on refusals (as CuPy would)


def _where():
    frames = traceback.extract_stack()[:-3]
    keep = [f for f in frames if "tinygrad_seq" in f.filename]
    return [
        f"tinygrad_seq{f.filename.rsplit('tinygrad_seq', 1)[-1]}:{f.lineno} {f.line}"
        for f in keep[-3:]
    ]


def _log(kind, msg):
    LOG.append((kind, msg, _where()))


def _refuse(msg):
    _log("REFUSED", msg)
    if STRICT:
        raise TypeError(msg)


class UndefinedOnGPU(RuntimeError):
    """What CuPy computes here is undefined (it may differ run to run)."""


def _undefined(msg):
    _log("UNDEFINED", msg)
    if STRICT:
        raise UndefinedOnGPU(msg)


USED = set()


def _used(name, kwargs=()):
    USED.add((name, tuple(sorted(kwargs))))


def _wrap(r):
    if isinstance(r, _np.ndarray):
        return ndarray(r)
    if isinstance(r, _np.generic):
        return ndarray(_np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(x) for x in r)
    return r


def _arg(x, who):
    """An operand of a CuPy function/ufunc."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, _np.ndarray):
        _refuse(f"{who}: Unsupported type {type(x)} (a NumPy array, shape {x.shape})")
        return x
    if isinstance(x, (list, tuple)):
        _refuse(f"{who}: Unsupported type {type(x)}")
        return x
    if x is None or isinstance(x, (bool, int, float, complex, _np.generic)):
        return x
    _refuse(f"{who}: Unsupported type {type(x)}")
    return x


def _index(i):
    if isinstance(i, tuple):
        return tuple(_index(p) for p in i)
    if isinstance(i, ndarray):
        return i._a
    if isinstance(i, _np.ndarray):
        _log("NOTE", f"numpy array used as an index into a cupy array (shape {i.shape})")
        return i
    if isinstance(i, list):
        _log("NOTE", "list used as an index into a cupy array")
    return i


def _wrap_around(shape, index):
    """`index` with its integer-array parts taken modulo their axis's length, as CuPy takes
    them (an index past the axis wraps around; NumPy raises IndexError)."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(
        _np.asarray(p) if isinstance(p, list) and p and not _holds_cupy(p) else p for p in parts
    )

    def spans(p):  # the axes an index part consumes
        if p is None or p is Ellipsis:
            return 0
        if isinstance(p, _np.ndarray) and p.dtype == bool:
            return p.ndim
        return 1

    used = builtins.sum(spans(p) for p in parts)
    out, axis, wrapped = [], 0, False
    for p in parts:
        if p is Ellipsis:
            axis += len(shape) - used
        elif (
            isinstance(p, _np.ndarray)
            and p.dtype.kind in "iu"
            and p.size
            and axis < len(shape)
            and shape[axis]
        ):
            n = shape[axis]
            if (p >= n).any() or (p < -n).any():
                wrapped = True
                p = p % n
        out.append(p)
        axis += spans(p)
    if wrapped:
        _log("NOTE", f"out-of-bounds index array wrapped around (shape {shape})")
    return tuple(out) if isinstance(index, tuple) else out[0]


def _has_index_array(index):
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.any(isinstance(p, (_np.ndarray, list)) for p in parts)


def _check_unique_writes(a, index, value):
    """UndefinedOnGPU where index arrays reach one element of `a` twice with different
    values: CuPy stores any one of them (NumPy the last)."""
    where = _np.arange(a.size).reshape(a.shape)[index].ravel()
    if where.size < 2:
        return
    order = _np.argsort(where, kind="stable")
    where = where[order]
    repeat = where[1:] == where[:-1]
    if not repeat.any():
        return
    values = _np.broadcast_to(_np.asarray(value, dtype=a.dtype), a[index].shape).ravel()[order]
    first, second = values[:-1][repeat], values[1:][repeat]
    same = first == second
    if first.dtype.kind in "fc":
        same |= _np.isnan(first) & _np.isnan(second)
    if not same.all():
        _undefined(
            "assignment through index arrays that reach one element twice with different "
            f"values (element {int(where[1:][repeat][~same][0])} of shape {a.shape}): "
            "CuPy stores either value"
        )


def _saturating_cast(a, dtype):
    """a.astype(dtype) as a GPU converts a float to an integer: clamped to the integer's
    range, NaN to 0 (NumPy's result there depends on the CPU)."""
    dtype = _np.dtype(dtype)
    if a.dtype.kind != "f" or dtype.kind not in "iu":
        return None
    info = _np.iinfo(dtype)
    with _np.errstate(invalid="ignore"):
        clamped = _np.clip(_np.nan_to_num(a, nan=0.0), info.min, info.max)
        out = clamped.astype(dtype)
    # the float nearest a 64-bit maximum rounds past it: saturate that too
    out[clamped >= float(info.max)] = info.max
    return out


# the dtypes CUDA's atomicAdd takes, and so CuPy's add.at with index arrays
_ATOMIC_ADD = tuple(
    _np.dtype(t) for t in ("int32", "uint32", "uint64", "float16", "float32", "float64")
)


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")  # read-only in CuPy

    def __init__(self, a):
        for name, value in (
            ("c_contiguous", a.flags.c_contiguous),
            ("f_contiguous", a.flags.f_contiguous),
            ("owndata", a.flags.owndata),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        _log("REFUSED", f"cupy.ndarray.flags.{name} set (CuPy's flags are read-only)")
        raise AttributeError(f"attribute '{name}' of 'cupy._core.flags.Flags' is not writable")


_METHODS_WRAP = {
    "sum",
    "mean",
    "max",
    "min",
    "any",
    "all",
    "reshape",
    "transpose",
    "swapaxes",
    "copy",
    "ravel",
    "squeeze",
    "nonzero",
    "argmax",
    "argmin",
    "cumsum",
    "clip",
    "repeat",
    "var",
    "std",
    "prod",
    "flatten",
    "view",
    "round",
}


class ndarray:
    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a):
        if not isinstance(a, _np.ndarray):
            raise AssertionError(f"fake cupy wraps ndarrays only, got {type(a)}")
        self._a = a

    # ---- NumPy interop, as CuPy
    def __array__(self, *args, **kwargs):
        _log("REFUSED", "implicit conversion of a cupy array to NumPy (__array__)")
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        _log("UFUNC", f"np.{uf.__name__}.{method}")
        cp = _UFUNCS.get(uf.__name__)
        if cp is None or [x for x in inputs if _foreign(x)]:  # (CuPy: NotImplemented for
            return NotImplemented  # an operand of a type its kernels do not take, a Tensor)
        if "out" in kwargs:
            out = kwargs["out"]
            kwargs["out"] = out[0] if isinstance(out, tuple) else out
        if method == "__call__":
            return cp(*inputs, **kwargs)
        return getattr(cp, method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        name = func.__name__
        mod = func.__module__ or "numpy"
        target = sys.modules[__name__]
        for part in mod.split(".")[1:]:
            target = getattr(target, part, None)
            if target is None:
                break
        f = getattr(target, name, None) if target is not None else None
        _log("ARRFUNC", f"{mod}.{name} -> {'cupy' if f else 'NOT IN CUPY'}")
        if f is None:
            return NotImplemented
        return f(*args, **kwargs)

    # ---- attributes
    shape = property(lambda s: s._a.shape)
    dtype = property(lambda s: s._a.dtype)
    ndim = property(lambda s: s._a.ndim)
    size = property(lambda s: s._a.size)
    nbytes = property(lambda s: s._a.nbytes)
    itemsize = property(lambda s: s._a.itemsize)
    strides = property(lambda s: s._a.strides)
    T = property(lambda s: ndarray(s._a.T))
    flags = property(lambda s: _Flags(s._a))

    def get(self):
        return self._a.copy()

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def tobytes(self):
        return self._a.tobytes()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray(_np.asarray(self._a[i])) for i in range(len(self._a)))

    def __repr__(self):
        return f"cupy.{self._a!r}"

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        _used("ndarray.astype")
        saturated = _saturating_cast(self._a, dtype)
        if saturated is not None:
            return ndarray(saturated)
        if not copy and _np.dtype(dtype) == self.dtype:
            return self
        return ndarray(self._a.astype(dtype))

    def take(self, indices, axis=None, out=None, mode=None):
        _used("ndarray.take")
        n = self.size if axis is None else self.shape[axis]
        i = _np.asarray(indices._a if isinstance(indices, ndarray) else indices)
        if i.dtype.kind in "iu" and n:
            i = i % n  # CuPy's take wraps around
        return _wrap(self._a.take(i, axis=axis))

    def dot(self, b, out=None):
        _used("ndarray.dot")
        return ndarray(_np.asarray(self._a.dot(_arg(b, "ndarray.dot"))))

    def fill(self, v):
        self._a.fill(_arg(v, "fill"))

    def __getattr__(self, name):
        if name in _METHODS_WRAP:
            m = getattr(self._a, name)

            def call(*args, **kwargs):
                _used(f"ndarray.{name}", kwargs)
                args = [
                    _arg(a, f"ndarray.{name}") if isinstance(a, (ndarray, _np.ndarray)) else a
                    for a in args
                ]
                for k, v in list(kwargs.items()):
                    if isinstance(v, (ndarray, _np.ndarray)):
                        kwargs[k] = _arg(v, f"ndarray.{name}")
                return _wrap(m(*args, **kwargs))

            return call
        _log("MISSING", f"ndarray.{name}")
        raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")

    # ---- indexing
    def __getitem__(self, i):
        i = _index(i)
        if _has_index_array(i):
            i = _wrap_around(self.shape, i)
        return _wrap(self._a[i])

    def __setitem__(self, i, v):
        i = _index(i)
        if isinstance(v, _np.ndarray):
            _log("NOTE", "numpy array assigned into a cupy array (host-to-device copy)")
        else:
            v = _arg(v, "setitem")
        if _has_index_array(i):
            i = _wrap_around(self.shape, i)
            _check_unique_writes(self._a, i, v)
        self._a[i] = v


def _foreign(x):
    """Whether `x` is another library's array-like (it has an __array_ufunc__, as a Tensor
    does): CuPy's kernels do not take it, and NumPy's dispatch may ask it instead."""
    return not isinstance(x, (ndarray, _np.ndarray, _np.generic)) and hasattr(
        type(x), "__array_ufunc__"
    )


def _binop(name, reflected=False, inplace=False):
    def op(self, other):
        uf = _UFUNCS[name]
        if not reflected and not inplace and _foreign(other):
            # CuPy's _should_use_rop: an operand whose __array_ufunc__ is None gets to answer
            # with its reflected operator; one with an __array_ufunc__ of its own, NumPy's
            # ufunc, which asks CuPy's __array_ufunc__ (NotImplemented), then the operand's
            if other.__array_ufunc__ is None:
                return NotImplemented
            return getattr(_np, name)(self, other)
        if inplace:
            return uf(self, other, out=self)
        return uf(other, self) if reflected else uf(self, other)

    return op


for _dunder, _uf in [
    ("add", "add"),
    ("sub", "subtract"),
    ("mul", "multiply"),
    ("truediv", "true_divide"),
    ("floordiv", "floor_divide"),
    ("pow", "power"),
    ("matmul", "matmul"),
    ("mod", "remainder"),
    ("and", "bitwise_and"),
    ("or", "bitwise_or"),
    ("xor", "bitwise_xor"),
]:
    setattr(ndarray, f"__{_dunder}__", _binop(_uf))
    setattr(ndarray, f"__r{_dunder}__", _binop(_uf, reflected=True))
    setattr(ndarray, f"__i{_dunder}__", _binop(_uf, inplace=True))
for _dunder, _uf in [
    ("lt", "less"),
    ("le", "less_equal"),
    ("gt", "greater"),
    ("ge", "greater_equal"),
    ("eq", "equal"),
    ("ne", "not_equal"),
]:
    setattr(ndarray, f"__{_dunder}__", _binop(_uf))
ndarray.__neg__ = lambda s: _UFUNCS["negative"](s)
ndarray.__abs__ = lambda s: _UFUNCS["absolute"](s)
ndarray.__invert__ = lambda s: _UFUNCS["invert"](s)
ndarray.__pos__ = lambda s: s.copy()
ndarray.__hash__ = None
ndarray.__module__ = "cupy"
ndarray.__qualname__ = ndarray.__name__ = "ndarray"


def _note_scalar_promotion(name, args):
    """Note a NumPy scalar wider than the float array it meets: NumPy 2 (NEP 50) widens
    the result to the scalar's dtype, CuPy before NEP 50 (v13) keeps the array's."""
    widest = builtins.max(
        (x.dtype.itemsize for x in args if isinstance(x, ndarray) and x.dtype.kind == "f"),
        default=None,
    )
    for x in args:
        if widest is not None and isinstance(x, _np.floating) and x.dtype.itemsize > widest:
            _log("NOTE", f"cupy.{name}: a NumPy {x.dtype} scalar meets a narrower float array")


class ufunc:
    def __init__(self, u):
        self._u = u
        self.__name__ = u.__name__

    def __call__(self, *args, out=None, **kwargs):
        _used(f"ufunc cupy.{self.__name__}", tuple(kwargs) + (("out",) if out is not None else ()))
        a = [_arg(x, f"cupy.{self.__name__}") for x in args]
        _note_scalar_promotion(self.__name__, args)
        for k, v in list(kwargs.items()):
            if isinstance(v, (ndarray, _np.ndarray)):
                kwargs[k] = _arg(v, f"cupy.{self.__name__}")
        if out is not None:
            if isinstance(out, tuple):
                out = out[0]
            if not isinstance(out, ndarray):
                _refuse(f"cupy.{self.__name__}: out must be a cupy.ndarray, got {type(out)}")
            self._u(*a, out=out._a, **kwargs)
            return out
        return _wrap(self._u(*a, **kwargs))

    def at(self, a, indices, b=None):
        _used(f"cupy.{self.__name__}.at")
        if not isinstance(a, ndarray):
            _refuse(f"cupy.{self.__name__}.at: a must be a cupy array")
        if self.__name__ not in (
            "add",
            "subtract",
            "maximum",
            "minimum",
            "bitwise_or",
            "bitwise_and",
            "bitwise_xor",
        ):
            raise NotImplementedError(f"cupy.{self.__name__}.at")
        if isinstance(indices, _np.generic) or (
            isinstance(indices, tuple) and builtins.any(isinstance(i, _np.generic) for i in indices)
        ):
            _log("NOTE", f"cupy.{self.__name__}.at with a NumPy scalar in the index: {indices!r}")
        indices = _index(indices)
        if _has_index_array(indices):
            indices = _wrap_around(a.shape, indices)
            if self.__name__ in ("add", "subtract") and a.dtype not in _ATOMIC_ADD:
                raise TypeError(
                    f"cupy.{self.__name__}.at: scatter_add only supports int32, float16, "
                    f"float32, float64, uint32, uint64, as data type (got {a.dtype})"
                )
        self._u.at(a._a, indices, _arg(b, f"cupy.{self.__name__}.at") if b is not None else None)

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False):
        return _wrap(self._u.reduce(_arg(a, "reduce"), axis=axis, dtype=dtype, keepdims=keepdims))


_UFUNCS = {n: ufunc(getattr(_np, n)) for n in dir(_np) if isinstance(getattr(_np, n), _np.ufunc)}
globals().update(_UFUNCS)
divide = _UFUNCS["true_divide"]
abs = _UFUNCS["absolute"]  # noqa: A001


# ---- creation
def _holds_cupy(a):
    return builtins.any(
        isinstance(x, ndarray) or (isinstance(x, (list, tuple)) and _holds_cupy(x)) for x in a
    )


def _from_host(a, dtype=None, copy=True):
    if isinstance(a, ndarray):
        r = a._a.astype(dtype) if dtype is not None else (a._a.copy() if copy else a._a)
        return ndarray(r) if (copy or dtype is not None) else a
    if isinstance(a, (list, tuple)) and _holds_cupy(a):
        # real CuPy accepts a list of cupy arrays; note it
        _log("NOTE", "cupy.array/asarray of a list holding cupy arrays")
        a = _np.array([_from_host(x)._a if isinstance(x, (list, tuple, ndarray)) else x for x in a])
    r = _np.array(a, dtype=dtype, copy=True)
    if r.dtype.kind in "OUSV":
        raise ValueError(f"Unsupported dtype {r.dtype}")
    return ndarray(r)


def asarray(a, dtype=None, order=None):
    _used("cupy.asarray", (("dtype",) if dtype is not None else ()))
    if isinstance(a, ndarray):
        if dtype is None or _np.dtype(dtype) == a.dtype:
            return a
        return ndarray(a._a.astype(dtype))
    return _from_host(a, dtype)


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    _used("cupy.array")
    return _from_host(a, dtype, copy=True)


def ascontiguousarray(a, dtype=None):
    return ndarray(_np.ascontiguousarray(_arg(a, "ascontiguousarray"), dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None):
    if isinstance(a, ndarray):
        return a._a.copy()
    return _np.asarray(a)


def _maker(name):
    f = getattr(_np, name)

    def make(*args, **kwargs):
        _used(f"cupy.{name}", kwargs)
        return ndarray(_np.asarray(f(*args, **kwargs)))

    make.__name__ = name
    return make


for _n in ("zeros", "ones", "empty", "full", "arange", "eye", "tril", "triu", "linspace"):
    globals()[_n] = _maker(_n)


def _like(name):
    f = getattr(_np, name)

    def make(a, *args, **kwargs):
        _used(f"cupy.{name}", kwargs)
        args = [
            _arg(x, f"cupy.{name}") if isinstance(x, (ndarray, _np.ndarray)) else x for x in args
        ]
        return ndarray(f(_arg(a, f"cupy.{name}"), *args, **kwargs))

    make.__name__ = name
    return make


for _n in ("zeros_like", "ones_like", "empty_like", "full_like"):
    globals()[_n] = _like(_n)


def _generic(name):
    f = getattr(_np, name)

    def call(*args, **kwargs):
        def conv(x):
            if (
                isinstance(x, (list, tuple))
                and x
                and builtins.any(isinstance(y, (ndarray, _np.ndarray)) for y in x)
            ):
                return [_arg(y, f"cupy.{name}") for y in x]
            if isinstance(x, (ndarray, _np.ndarray)):
                return _arg(x, f"cupy.{name}")
            return x

        _used(f"cupy.{name}", kwargs)
        args = [conv(x) for x in args]
        kwargs = {k: conv(v) for k, v in kwargs.items()}
        return _wrap(f(*args, **kwargs))

    call.__name__ = name
    return call


for _n in (
    "where",
    "concatenate",
    "stack",
    "einsum",
    "broadcast_to",
    "sum",
    "mean",
    "max",
    "min",
    "argsort",
    "unravel_index",
    "sign",
    "reshape",
    "transpose",
    "squeeze",
    "expand_dims",
    "any",
    "all",
    "argmax",
    "nonzero",
    "cumsum",
    "tensordot",
    "outer",
    "vstack",
    "hstack",
    "pad",
    "unique",
    "take_along_axis",
    "count_nonzero",
    "shares_memory",
    "may_share_memory",
):
    if hasattr(_np, _n):
        globals()[_n] = _generic(_n)


def copyto(dst, src, casting="same_kind", where=True):
    _used("cupy.copyto", ("where",))
    if not isinstance(dst, ndarray):
        _refuse("cupy.copyto: dst must be a cupy array")
    w = where._a if isinstance(where, ndarray) else _arg(where, "copyto where")
    _np.copyto(dst._a, _arg(src, "copyto src"), casting=casting, where=w)


def result_type(*arrays_and_dtypes):
    return _np.result_type(*[a.dtype if isinstance(a, ndarray) else a for a in arrays_and_dtypes])


def shape(a):
    return a.shape


def ndim(a):
    return a.ndim


def isscalar(x):
    return _np.isscalar(x)


def get_array_module(*args):
    return sys.modules[__name__] if builtins.any(isinstance(a, ndarray) for a in args) else _np


float16, float32, float64 = _np.float16, _np.float32, _np.float64
int8, int16, int32, int64, intp = _np.int8, _np.int16, _np.int32, _np.int64, _np.intp
uint8, bool_, dtype, newaxis, inf, nan = _np.uint8, _np.bool_, _np.dtype, None, _np.inf, _np.nan
iinfo, finfo, errstate = _np.iinfo, _np.finfo, _np.errstate

linalg = types.ModuleType("cupy.linalg")
linalg.norm = lambda x, *a, **k: _wrap(_np.linalg.norm(_arg(x, "linalg.norm"), *a, **k))
cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    Stream=types.SimpleNamespace(null=types.SimpleNamespace(synchronize=lambda: None)),
)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    _log("MISSING", f"cupy.{name} (not in the stand-in)")
    raise AttributeError(f"module 'cupy' has no attribute '{name}' (stand-in)")
