"""Reverse-mode autodiff: the `Function` node, the recording switches, and the backward pass.

A `Function` is one node of the recorded graph. Its `forward` takes backend arrays and
returns one array; its `backward` takes the gradient of that output and returns one
gradient per input (None where the input needs none). `tensor.apply` runs `forward` and
wraps the result in a Tensor whose `_ctx` is the Function; the Function keeps its inputs in
`parents` (a tuple, so sums and renders are deterministic). A Function never holds its own
output, so a graph has no reference cycles and is freed by reference counting alone.

This module knows tensors only by their attributes (`data`, `grad`, `_requires_grad` (the
slot behind the checked `requires_grad` property), `_ctx`, and the backward pass's own
`_uses`, `_grad_out`, `_owns_grad`, `_pending`), so it sits below tensor.py without
importing it.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import linecache
import math
import numbers
import sys
import threading
import types
from collections.abc import Iterator

import numpy as np

from . import _mkl, _native, backend


def _apply_op(op: Function, *inputs):
    """Run this op on the Tensors `inputs` and record it in the graph; returns its output.

    One object is one node of the graph (it keeps its inputs and saved arrays), so each call
    needs a new one. (`tinygrad_seq.tensor.apply(op, *inputs)`, the built-in ops' way, does
    the same without checking the inputs; their outputs are float where they need a
    gradient.)"""
    # imported at call time: tensor.py sits above this file (and imports it)
    from .tensor import Tensor, apply

    who = type(op).__name__
    try:
        op.parents  # noqa: B018 (set when a call was recorded)
    except AttributeError:
        pass
    else:
        raise RuntimeError(
            f"this {who} object was applied already and is a node of that graph (its "
            f"inputs and saved arrays): make a new one for each call, e.g. {who}().apply(x)"
        )
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            hint = "wrap arrays in ts.Tensor"
            if isinstance(x, numbers.Number):  # a setting such as a scale or a slope
                hint = (
                    f"a setting that gets no gradient goes to the op's constructor, kept "
                    f"as self.<name> for forward and backward: {who}({x!r}).apply(...); "
                    f"or wrap it in ts.Tensor to make it an input"
                )
            raise TypeError(
                f"{who}.apply: input {i} must be a Tensor, got {type(x).__name__} ({hint})"
            )
    out = apply(op, *inputs)
    if out._requires_grad and out.data.dtype.kind not in "fc":
        # integers or booleans (ids, a mask, a count) carry no gradient: as a comparison's
        # output, and as PyTorch's Functions mark them; backward stops here
        out._requires_grad = False
    return out


class _Apply:
    """`Function.apply`: on an op object, `Cube().apply(x)`; on its class, `Cube.apply(x)`,
    a new object each call (for an op whose constructor takes no arguments)."""

    __doc__ = _apply_op.__doc__

    def __get__(self, op, cls=None):
        if op is not None:
            return types.MethodType(_apply_op, op)

        def apply_new(*inputs):
            if inputs and isinstance(inputs[0], cls):  # Function.apply(op, x): unbound
                return _apply_op(*inputs)
            try:
                op = cls()
            except TypeError as e:
                try:  # (the signature only now: reading it costs ~40 µs a call)
                    inspect.signature(cls).bind()
                except TypeError:
                    raise TypeError(
                        f"{cls.__name__}.apply: its constructor needs arguments ({e}): make "
                        f"the op first, {cls.__name__}(...).apply(x)"
                    ) from None
                raise  # the constructor's own error
            return _apply_op(op, *inputs)

        apply_new.__doc__ = _apply_op.__doc__
        return apply_new


class Function:
    """One recorded op: forward on arrays, backward from the output's gradient.

    Subclasses set `saved` in `forward` to exactly what `backward` needs (tinygrad's
    `ctx.save_for_backward`), and return gradients of their inputs' shapes; gradients of
    broadcast inputs may come back in the broadcast shape: the engine sums them down.
    """

    # norms: (‖gradient reaching the node‖, (‖gradient sent to each input‖ or None, ...),
    # the recorded pass's number, whether the pass ran from this node), kept by a backward
    # inside record_grad_norms() for graph pictures; one slot for all four. site: where the
    # user's code made the node, kept inside detect_anomaly() (see call_site); a fourth
    # slot takes no memory (the object's size rounds up to 64 bytes either way)
    __slots__ = ("parents", "saved", "norms", "site")
    op_name = "function"  # a subclass without its own is named after its class
    # True when backward may return a gradient in a broadcast shape (or another dtype)
    # that the engine must sum back to the input's. Ops whose gradients have their inputs'
    # shapes and dtypes by construction (unary, shape ops), or that fit them themselves
    # (MatMul), set False and skip the check; it still runs for every op under
    # detect_anomaly(), and the tests gradcheck every op.
    may_broadcast = True
    # True when output element i depends on input element i alone (after broadcasting):
    # detect_anomaly() then lets an inf through only where an input held one.
    elementwise = False
    # True when every gradient backward returns is a new array made for that input alone
    # (a matrix product's), or the gradient it was handed when that one was its own (see
    # grad_is_yours): a leaf's first gradient is then kept as its .grad, not copied, and a
    # node whose one use sent it may overwrite it.
    fresh_grads = False
    # True when forward saves arrays for backward, which a backward pass frees (then a
    # second backward through the node is refused). Ops that save none, or only shapes
    # and dtypes (add, transpose, reshape, sum, indexing), set False: as in PyTorch, a
    # second backward may run through them (a W.T made once and used by several losses).
    saves_arrays = True

    def forward(self, *arrays):  # pragma: no cover - every op overrides it
        """The op's output array from its input arrays; set `self.saved` for backward."""
        raise NotImplementedError(
            f"{type(self).__name__} defines no forward: an op subclasses Function with its "
            "own forward and backward"
        )

    def backward(self, g):  # pragma: no cover - every op overrides it
        """One gradient per input, each of that input's shape, from the output's gradient `g`."""
        raise NotImplementedError(
            f"{type(self).__name__} defines no backward: an op that is backpropagated "
            "through needs backward(self, g), returning one gradient per input"
        )

    # Cube().apply(x), or Cube.apply(x) for an op whose constructor takes no arguments
    apply = _Apply()

    def carries_infs(self, out, inputs) -> bool:
        """Whether every inf in `out` was carried in by an input (for detect_anomaly()).

        `out` is this op's forward output, and some of the input arrays hold an inf. An
        `elementwise` op carries one only where an input held one (after broadcasting); an op
        that moves elements (reshape, transpose, indexing) whenever any input held one.
        Reductions, matmul, log_softmax and cross-entropy say more precisely (see their classes
        in ops.py)."""
        xp = backend.array_module(out)
        if not self.elementwise:
            return True
        held = None  # where the inputs held an inf, broadcast to out's shape
        for x in inputs:
            if _has_inf(x):
                inf = xp.broadcast_to(xp.isinf(x), out.shape)
                held = inf if held is None else held | inf
        return held is not None and not bool((xp.isinf(out) & ~held).any())

    def __repr__(self) -> str:
        return f"<{self.op_name}>"

    def __init_subclass__(cls, **kwargs) -> None:
        # A Function written outside the engine gets its backward checked to return one
        # gradient per input: the backward pass pairs them with the inputs by index, and a
        # missing one would go unnoticed. The engine's own ops skip the check (a call per
        # node).
        super().__init_subclass__(**kwargs)
        # a user's op without a name of its own takes its class's (`Cube`), so graphs and
        # errors say which op it was; a subclass of a named op keeps that op's name
        named_by = next(k for k in cls.__mro__ if "op_name" in k.__dict__)
        if named_by is Function or named_by.__dict__.get("_named_after_class"):
            cls.op_name, cls._named_after_class = cls.__name__, True
        for method in ("forward", "backward"):
            found = cls.__dict__.get(method)
            if isinstance(found, staticmethod) and _first_parameter(found.__func__) == "ctx":
                raise TypeError(  # PyTorch's form: ctx would be handed the first array
                    f"{cls.__name__}.{method} is a staticmethod taking ctx, as PyTorch's are: "
                    f"here forward(self, *arrays) and backward(self, g) are plain methods, "
                    f"self in ctx's place (save with `self.saved = ...` instead of "
                    f"ctx.save_for_backward)"
                )
        mro = cls.__mro__
        backward_from = next(i for i, k in enumerate(mro) if "backward" in k.__dict__)
        fresh_from = next(i for i, k in enumerate(mro) if "fresh_grads" in k.__dict__)
        if fresh_from > backward_from:
            # a promise about the backward it is written beside: a class whose backward
            # comes from nearer in its bases (its own, or a mixin's: a straight-through
            # relu returning g itself) makes none
            cls.fresh_grads = False
        backward = next(k.__dict__["backward"] for k in cls.__mro__ if "backward" in k.__dict__)
        if (
            isinstance(backward, types.FunctionType)  # not a static or class method
            and not hasattr(backward, "checked_backward")  # inherited, already checked
            and not (backward.__module__ or "").startswith(f"{__package__}.")
        ):
            cls.backward = _one_gradient_per_input(backward)


def _keep_grad(t, g) -> None:
    """retain_grad(): add g into t.grad, as a leaf's; a copy, since the pass may write into
    g, and an array even where NumPy made g a scalar."""
    if t.grad is None:
        t.grad = backend.as_array(g.copy())
    else:
        t.grad = backend.as_array(t.grad + g)


def _first_parameter(function) -> str | None:
    """The name of `function`'s first parameter (None if it takes none, or is not Python
    code: a NumPy ufunc as a static forward)."""
    code = getattr(function, "__code__", None)
    return code.co_varnames[0] if code is not None and code.co_argcount else None


def _one_gradient_per_input(backward):
    """`backward`, raising a clear TypeError unless it returns a tuple or list of one
    gradient (or None) per input, each an array; and a clear error for a `self.saved`
    that forward never set."""

    @functools.wraps(backward)
    def checked(self, g):
        try:
            grads = backward(self, g)
        except AttributeError as e:
            if e.name != "saved" or e.obj is not self:
                raise
            raise AttributeError(  # (Python's own says only "no attribute 'saved'")
                f"{self.op_name}.backward reads self.saved, which its forward did not set: "
                "in forward, set self.saved = ... to what backward needs (the input arrays "
                "it reads, e.g. self.saved = x)"
            ) from None
        parents = getattr(self, "parents", None)  # None: called by hand, not by the engine
        # checked once, outermost: a subclass's backward may build on super().backward
        if parents is None or type(self).backward is not checked:
            return grads
        if not isinstance(grads, tuple | list) or len(grads) != len(parents):
            got = (
                f"{len(grads)} gradients"
                if isinstance(grads, tuple | list)
                else f"a value of type {type(grads).__name__}"
            )
            raise TypeError(
                f"{self.op_name}.backward returned {got} for {len(parents)} input(s): return "
                "a tuple with one gradient per input, in order (None for an input that needs "
                "none), e.g. `return (g * 2,)` for one input"
            )
        for i, gp in enumerate(grads):
            # the pass reads each gradient's shape and dtype and adds arrays in place: a
            # number or list fails there on an attribute, and a Tensor fails or passes by
            # the graph's shape (added into a leaf's .grad it works, into a node's not)
            if gp is not None and not isinstance(gp, _GRADIENT_TYPES + backend.ARRAY_TYPES):
                hint = "its array, .data" if hasattr(gp, "_ctx") else "an array"
                raise TypeError(
                    f"{self.op_name}.backward returned a {type(gp).__name__} as the gradient "
                    f"of input {i}: return {hint} (of the input's shape, or one that "
                    "broadcasting sums down to it), or None"
                )
        return grads

    checked.checked_backward = backward
    return checked


class OpError(ValueError):
    """Bad input an op detected itself; its message already names the op and the shapes."""


_ndarray = np.ndarray  # the inline leaf update below is for arrays only (in place)
_RELEASED = object()  # marks a tensor whose Function's saved arrays a backward freed
_COUNTED = object()  # marks a tensor whose consumers backward's _recount counted


class IndexedGrad:
    """A gradient that is zero except at `index` (what indexing sends back).

    The engine adds it in place into the gradient buffer of the indexed tensor, so a
    loop over `xs[:, t]` costs one buffer, not one dense zero array per step.
    """

    __slots__ = ("shape", "dtype", "index", "values", "basic")

    def __init__(self, shape, dtype, index, values, basic: bool) -> None:
        self.shape, self.dtype, self.index = shape, dtype, index
        self.values, self.basic = values, basic

    def add_to(self, buffer) -> None:
        """buffer += this gradient, in place."""
        if self.basic:  # each element picked at most once
            buffer[self.index] += self.values
        elif not _native.scatter_add_rows(buffer, self.index, self.values):
            # repeated indices must accumulate: add.at, where the compiled loop (rows
            # picked by an array of ids, as an embedding's) does not take the arrays
            backend.array_module(buffer).add.at(buffer, self.index, self.values)

    def dense(self):
        """This gradient as a full array (a fresh one, safe to modify)."""
        buffer = backend.array_module(self.values).zeros(self.shape, dtype=self.dtype)
        if self.basic:  # written, not added: cheaper, and the buffer is zero there anyway
            buffer[self.index] = self.values
        else:
            self.add_to(buffer)
        return buffer


class ProductGrad:
    """A weight's gradient xᵀ g from a matrix product x @ W, not yet multiplied out.

    An RNN uses its weights at every time step, so each weight gets one such term per step.
    The backward pass multiplies a weight's first term out at once (a weight used once
    keeps nothing alive) and collects the others, multiplied out together at the end:
    Σ_t x_tᵀ g_t = Xᵀ G, with X and G the x_t and g_t stacked row by row. One product with
    a long inner axis replaces T small products and T in-place sums (each ~0.5 µs of NumPy
    call overhead on small arrays, and BLAS runs faster on the long inner axis). MatMul
    sends one only for a small term (ops._SMALL_TERM); a large product gains nothing.
    """

    __slots__ = ("x", "g", "weight")

    def __init__(self, x, g, weight) -> None:
        self.x, self.g = x, g  # (N, k) and (N, m): the gradient is x.T @ g, (k, m)
        self.weight = weight  # the weight's array in the forward: its shape and dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.weight.shape

    @property
    def dtype(self):
        return self.weight.dtype

    def dense(self):
        """This gradient as a full array (a fresh one, safe to modify)."""
        return _mkl.product(self.x.T, self.g)


# what a backward may return for an input besides an array (of ARRAY_TYPES) and None: a
# NumPy scalar (0-d arithmetic gives those), and the engine's own lazy gradients (a
# subclass of MatMul or GetItem may pass super().backward's on)
_GRADIENT_TYPES = (np.generic, IndexedGrad, ProductGrad)


class _Products:
    """The ProductGrads one leaf received in a backward pass, multiplied out together."""

    __slots__ = ("leaf", "xs", "gs", "nbytes")
    # Multiplied out early past this many terms or bytes of x and g: bounds the memory the
    # collected terms keep alive to ~1 MiB a weight.
    FLUSH_TERMS = 256
    FLUSH_BYTES = 2**20

    def __init__(self, leaf) -> None:
        self.leaf, self.xs, self.gs, self.nbytes = leaf, [], [], 0

    def add(self, term: ProductGrad) -> None:
        self.xs.append(term.x)
        self.gs.append(term.g)
        self.nbytes += term.x.nbytes + term.g.nbytes
        if self.nbytes >= self.FLUSH_BYTES or len(self.gs) >= self.FLUSH_TERMS:
            self.flush()

    def flush(self) -> None:
        """Add Xᵀ G into the leaf's .grad and start collecting afresh."""
        xs, gs = self.xs, self.gs
        if not xs:
            return
        self.xs, self.gs, self.nbytes = [], [], 0
        if len(xs) == 1:
            total = _mkl.product(xs[0].T, gs[0])
        else:
            xp = backend.array_module(gs[0])
            total = _mkl.product(xp.concatenate(xs).T, xp.concatenate(gs))
        _accumulate_leaf(self.leaf, total, fresh=True)


def transposed_weight(w, rows: int):
    """wᵀ, for a weight's share g wᵀ of a gradient (g with `rows` rows): the transposed
    view at first, a C-ordered copy from the weight's third use in a backward pass on,
    kept until the pass ends, where such a copy pays.

    An RNN multiplies the gradient by W_hᵀ at every step. OpenBLAS (measured on an Intel
    Xeon with AVX-512) multiplies a g of 8 to 256 rows by a C-ordered matrix 10–40 %
    faster than by a transposed view (g (32 × 512) times W_hᵀ (512 × 128): ~63 µs against
    ~104 µs), and the copy (~70 µs for W_h) is paid once a pass, not once a step. Where it
    does not pay, the view is kept: a weight used once or twice; a weight over 1 MiB (its
    copy costs more than it saves: a 1024 × 4096 one ~43 ms); more than 256 rows (both
    layouts run alike); fewer than 8 rows unless the weight is small (4096 elements: an
    RNN step of batch 1, 1.7 against 2.1 µs; for one row and a 128 × 512 weight the view
    is faster). The arrays are the forward's own, which no optimiser step changes inside a
    pass (a hook that changed a weight in place mid-pass would see the copy made before);
    outside a pass (`state.transposes` is None) nothing is kept, nor for a pass of another
    thread (`state.transposes_of`). 2-D NumPy weights only (MatMul's common case)."""
    transposes = state.transposes
    if (
        transposes is None
        or state.transposes_of is not _this_thread.pass_token
        or w.__class__ is not _ndarray
        or rows > _ROWS_FOR_COPY
        or w.nbytes > _BYTES_FOR_COPY
        or (rows < _FEW_ROWS and w.size > _SMALL_WEIGHT)
    ):
        return w.T  # (cuBLAS reads a transposed operand at full speed: CuPy keeps the view)
    entry = transposes.get(id(w))
    if entry is None:  # [w (which keeps its id unique), its uses, its copy]
        transposes[id(w)] = [w, 1, None]
        return w.T
    if entry[2] is None:
        entry[1] += 1
        if entry[1] < 3:
            return w.T
        entry[2] = np.ascontiguousarray(w.T)
    return entry[2]


_ROWS_FOR_COPY = 256  # beyond this many rows of g both layouts multiply alike
_FEW_ROWS = 8  # below this many rows the copy pays for small weights only
_SMALL_WEIGHT = 4096  # elements
_BYTES_FOR_COPY = 2**20


# ---------------------------------------------------------------- recording switches
class _State:
    """Global recording switches, read on the hot path (one attribute load each)."""

    __slots__ = (
        "grad_enabled",
        "scope",
        "anomaly",
        "record_grad_norms",
        "transposes",
        "transposes_of",
        "grad_owned",
        "owned_by",
        "keeps_grads",
        "updates",
    )

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope = ""  # "encoder/t=3": tags every tensor made inside ts.scope(...)
        self.anomaly = False
        self.record_grad_norms = False
        self.transposes = None  # during a backward pass: see transposed_weight
        self.grad_owned = None  # inside one op's backward: its g, if its own (grad_is_yours)
        # the token of the pass that set each of the two above: two threads' passes at once
        # share this object, and each trusts only what its own pass set
        self.transposes_of = self.owned_by = None
        self.keeps_grads = False  # True once any tensor asked for retain_grad()
        # how many in-place updates of weights ran so far (see changed_in_place): a tensor
        # keeps the count from when its values were made (`_made_at`), a recorded node's
        # when it was computed, a weight's when it was last changed in place
        self.updates = 0


state = _State()


def changed_in_place(weight) -> None:
    """Note that `weight`'s array was just changed in place (`p -= lr * p.grad` under
    no_grad, an optimizer step). PyTorch's version counter, cheaply: a node recorded
    before the change that saved arrays refuses to backpropagate (its saved copy of the
    weight is the changed array: its gradients would be wrong, silently). `p -= ...` under
    no_grad and the optimizers call it; a write into `p.data` itself (`p.data[i] = v`) is
    not seen, so call it after one."""
    state.updates += 1
    weight._made_at = state.updates  # its values are new


def _changed_input(t):
    """The input of node `t` changed in place after `t` was recorded, if `t`'s op saved
    arrays (which may be that input's: its gradients would use the new values), or None.
    An op that saved none (an addition, a transpose) does not mind: its gradient does not
    read the values."""
    fn = t._ctx
    if not fn.saves_arrays:
        return None
    made = t._made_at
    for p in fn.parents:
        # (on a leaf, set only once it was changed in place; an input computed in the graph
        # was made before t, so only a weight changed since can have a later count)
        if getattr(p, "_made_at", 0) > made:
            return p
        if p._ctx is not None and (weight := _viewed_weight(p, made)) is not None:
            return weight
    return None


def _viewed_weight(p, made):
    """The weight that computed tensor `p`'s array is a view of (W.T, W[0], a reshape),
    if that weight was changed in place after count `made`, or None. Every nn model
    multiplies by W.T, made before the products that save it: its array is W's memory,
    so W's change reaches the saved copy as surely as if W itself were the input. Walks
    down through ops that save no arrays (views are among them), following the inputs
    whose memory the array shares; run only for graphs made before an update."""
    stack = [p]
    while stack:
        q = stack.pop()
        fn = q._ctx
        if fn is None:  # a leaf whose memory p's array shares
            if getattr(q, "_made_at", 0) > made:
                return q
            continue
        if fn.saves_arrays:  # (a view op saves none; an op that saves makes new arrays)
            continue
        data = q.data
        may_share = backend.array_module(data).may_share_memory
        stack.extend(  # (an array of the other backend, .to's input, shares none)
            r for r in fn.parents if r.data.__class__ is data.__class__ and may_share(data, r.data)
        )
    return None


def _changed_error(t, p) -> RuntimeError:
    what = f"'{p.name}'" if p.name else f"a weight of shape {tuple(p.data.shape)}"
    return RuntimeError(
        f"backward through op '{t._ctx.op_name}', which used {what} before it was changed "
        "in place (an optimizer step, or p -= ... or p[i] = ... under no_grad): the op saved that "
        "weight's array for its gradients, and the array now holds the new values, so "
        "the gradients would be wrong. Call backward before updating the weights, or run "
        "the forward again after the update. The nodes this backward ran before it got "
        "here have already added their gradients to the leaves' .grad."
    )


class _ThisThread(threading.local):
    pass_token = None  # the token of this thread's running backward pass (None: none runs)


_this_thread = _ThisThread()
_recorded_passes = itertools.count(1)  # numbers each backward inside record_grad_norms()


def grad_is_yours(g) -> bool:
    """Inside an op's `backward(g)`: whether the engine handed it `g` as this node's alone,
    so backward may write its result into g rather than into a new array (relu's
    g ⊙ (y > 0) on a Transformer's 1024 × 512 hidden layer: ~145 µs in place against ~220
    into a new array, whose memory must be fetched before it is written). True when the
    only use of the node's output sent a gradient made for it alone (`Function.fresh_grads`:
    a matrix product's), or when the node's uses summed into a buffer the pass made; never
    for the gradient a caller passed to backward() (a pass run inside an op's backward, as
    gradient checkpointing does, owns none of the g it was given), nor for any other array
    (another op's backward called by hand inside this one gets False for its own g; given
    this node's own g, True: pass it a copy if you read g afterwards). Outside the
    engine's backward pass: False."""
    return (
        g is not None
        and state.grad_owned is g
        and state.owned_by is _this_thread.pass_token  # (this thread's pass's g)
    )


# The open no_grad / enable_grad blocks, oldest first: the newest one's mode is in force.
# Each block takes itself out when it closes, wherever it stands, so two threads whose
# blocks close out of order (A opens, B opens, A closes, B closes) leave recording on once
# all are closed; a block that put back the mode it found would leave it off for good.
_grad_blocks: list[tuple[object, bool]] = []
_grad_blocks_lock = threading.Lock()


class _GradMode(contextlib.ContextDecorator):
    """A no_grad / enable_grad block: a context manager, or a decorator (each call of the
    function one block)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._open: list[tuple[object, bool]] = []  # this object's open blocks (re-entered)

    def __enter__(self) -> None:
        block = (object(), self.enabled)  # (a token: equal modes are still two blocks)
        with _grad_blocks_lock:
            _grad_blocks.append(block)
            self._open.append(block)
            state.grad_enabled = self.enabled

    def __exit__(self, *exc) -> None:
        with _grad_blocks_lock:
            block = self._open.pop()
            for i in range(len(_grad_blocks) - 1, -1, -1):
                if _grad_blocks[i] is block:
                    del _grad_blocks[i]
                    break
            state.grad_enabled = _grad_blocks[-1][1] if _grad_blocks else True


def no_grad() -> _GradMode:
    """Context manager (or decorator): ops inside record no graph (inference, optimiser updates).

    One global switch, as the others: another thread's ops inside it record none either."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager (or decorator): record a graph again inside a `no_grad` block."""
    return _GradMode(True)


def is_grad_enabled() -> bool:
    """Whether ops record a graph right now."""
    return state.grad_enabled


# One item per open scope / detect_anomaly / record_grad_norms block, of any thread
# (list.append and list.pop are atomic): each block puts back the setting it found, but
# the last to close puts back the default, so blocks of two threads that close out of
# order (A opens, B opens, A closes, B closes) cannot leave a setting on for good.
_open_scopes: list[None] = []
_open_anomaly: list[None] = []
_open_recording: list[None] = []


class scope:  # lower case, as contextlib.suppress: it reads as a function call
    """Context manager: tag every tensor made inside with `name` (nested: "encoder/t=3").

    `with ts.scope("t=3") as full:` gives the full name; `@ts.scope("encoder")` runs every
    call of a function inside it. A class rather than a generator function: an RNN enters
    one per time step, and this costs ~0.55 µs to enter and leave, not ~1.3. Like the other
    switches it is one global setting, not one per thread (once every scope is closed it
    is "" again, however two threads' scopes interleaved)."""

    __slots__ = ("name", "_previous")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"scope name must be a non-empty string without '/', got {name!r}")
        self.name = name
        self._previous: list[str] = []  # a stack: one object may be entered again inside

    def __enter__(self) -> str:
        previous = state.scope
        self._previous.append(previous)
        _open_scopes.append(None)
        state.scope = full = f"{previous}/{self.name}" if previous else self.name
        return full

    def __exit__(self, *exc_info) -> None:
        previous = self._previous.pop()
        _open_scopes.pop()
        state.scope = previous if _open_scopes else ""

    def __call__(self, func):
        """As a decorator: each call of `func` runs inside this scope."""

        @functools.wraps(func)
        def scoped(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return scoped


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Context manager: raise at the first op whose forward or backward makes NaN or inf.

    A forward that only carries an inf its inputs held (x + a −inf mask) is let through.
    The error names the line of the caller's code that made the op (and the line of ts.nn
    or ts.F inside which it was made), for a NaN found in backward too, if the op was
    recorded inside detect_anomaly()."""
    previous = state.anomaly
    state.anomaly = True
    _open_anomaly.append(None)
    try:
        yield
    finally:
        _open_anomaly.pop()
        state.anomaly = previous if _open_anomaly else False


@contextlib.contextmanager
def record_grad_norms() -> Iterator[None]:
    """Context manager: a backward inside stores each node's gradient norm (for renders).

    `graph.trace(t)` shows the norms of the last backward run from t: none if that one was
    not recorded (t's node is cleared), and none on a node whose norms a later recorded
    backward from another root (through a shared node) replaced; each recorded pass numbers
    its norms, so the two are told apart. A leaf's norm is always its current `.grad`'s.
    Record the backward you mean to show."""
    previous = state.record_grad_norms
    state.record_grad_norms = True
    _open_recording.append(None)
    try:
        yield
    finally:
        _open_recording.pop()
        state.record_grad_norms = previous if _open_recording else False


class AnomalyError(FloatingPointError):
    """An op produced NaN or inf while `detect_anomaly()` was on."""


def _is_core(module: str) -> bool:
    """Whether `module` is the engine itself (tensors, ops, the backward pass), whose lines
    say nothing about which op of a model went wrong."""
    return module in _CORE_MODULES or module.startswith(f"{__package__}._")


_CORE_MODULES = frozenset(f"{__package__}.{name}" for name in ("autograd", "tensor", "ops"))


def call_site() -> tuple[tuple[str, int, str], ...]:
    """Where the op being recorded was made: (file, line, function) of the first frame
    outside this package (the user's line), after that of the package's own code above the
    engine (a line of ts.nn's LSTM, or of ts.F) when the op was made in there. Read inside
    detect_anomaly() only: walking the frames costs about a microsecond."""
    frame = sys._getframe(1)
    inside = ()
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        here = (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        if module != __package__ and not module.startswith(f"{__package__}."):
            return (*inside, here)
        if not inside and not _is_core(module):
            inside = (here,)
        frame = frame.f_back
    return inside


def describe_site(fn: Function) -> str:
    """ " (made at FILE:LINE in FUNCTION: `code`)" for an op recorded inside detect_anomaly(),
    "" for one made outside it."""
    sites = getattr(fn, "site", None)
    if not sites:
        return ""
    shown = []
    for filename, line, function in reversed(sites):  # the user's line first
        code = linecache.getline(filename, line).strip()
        shown.append(f"{filename}:{line} in {function}" + (f": `{code}`" if code else ""))
    return f" (made at {', through '.join(shown)})"


def check_finite(array, where: str, fn: Function | None = None, inputs=()) -> None:
    """Raise AnomalyError naming `where` if `array` holds NaN or inf.

    With op `fn` and its input Tensors `inputs`: infs the inputs carried in pass (a −inf
    attention mask added to the scores is carried, not made, by the addition; which ones
    count as carried is `fn.carries_infs`), and a NaN that an input already held is named
    as coming from that input, not from `fn`. NaN is otherwise always an anomaly, and so is
    an inf made from finite numbers (an overflow)."""
    if array.__class__ is IndexedGrad:
        array = array.values
    elif array.__class__ is ProductGrad:
        array = array.dense()
    xp = backend.array_module(array)
    if bool(xp.isfinite(array).all()):
        return
    n_nan = int(xp.isnan(array).sum())
    n_inf = int(xp.isinf(array).sum())
    arrays = [x.data for x in inputs]
    if not n_nan and fn is not None and any(_has_inf(x) for x in arrays):
        if fn.carries_infs(array, arrays):
            return
    made = f"{where} produced {n_nan} NaN and {n_inf} inf values (shape {tuple(array.shape)})"
    if fn is not None:
        made += describe_site(fn)
    for i, x in enumerate(inputs):
        # (an input's own module: `to` reads one backend's array and makes another's)
        isnan = backend.array_module(x.data).isnan if n_nan else None
        if n_nan and _is_float(x.data) and bool(isnan(x.data).any()):
            n_in = int(isnan(x.data).sum())
            raise AnomalyError(
                f"{made}, but its input {i} ({_describe(x)}) already held {n_in} NaN: "
                "it was NaN before this op (data, or a weight that became NaN outside "
                "detect_anomaly(), e.g. in an optimizer step after a NaN gradient)"
            )
    raise AnomalyError(f"{made}; detect_anomaly() stopped at the first such op")


def _is_float(x) -> bool:
    return getattr(x, "dtype", None) is not None and x.dtype.kind in "fc"


def _has_inf(x) -> bool:
    return _is_float(x) and bool(backend.array_module(x).isinf(x).any())


def _describe(t) -> str:
    """A Tensor in an anomaly message: "a leaf 'W_hh' of shape (4, 4)" (a weight), "a
    constant" (data, or a result made without recording), or the op that made it."""
    name = f" '{t.name}'" if t.name else ""
    if t._ctx is not None:
        what = f"made by '{t._ctx.op_name}'{name}"
    else:
        what = f"a leaf{name}" if t._requires_grad else f"a constant{name} (not recorded)"
    return f"{what} of shape {tuple(t.data.shape)}"


# ---------------------------------------------------------------- broadcasting undone
def _sum(g, axis, keepdims: bool = False):
    """g.sum(axis), skipping NumPy's Python-level wrapper (a microsecond per call)."""
    if g.__class__ is np.ndarray:
        return np.add.reduce(g, axis=axis, keepdims=keepdims)
    return g.sum(axis=axis, keepdims=keepdims)


def sum_to(g, shape: tuple[int, ...]):
    """Sum `g` down to `shape`, undoing NumPy broadcasting (added leading axes too)."""
    extra = g.ndim - len(shape)
    if extra and g.shape[extra:] == shape:  # a bias added to a batch: the common case
        if extra == 1 and g.shape[0] == 1:  # a batch of one: the sum is a reshape
            return g.reshape(shape)
        if g.size >= 16384 and g.dtype.kind == "f" and g.flags.c_contiguous:
            return backend.sum_leading(g, extra)  # one BLAS product, see backend.py
        return _sum(g, tuple(range(extra)) if extra > 1 else 0)
    stretched = tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if stretched:  # axes that were 1 in `shape` and got broadcast
        g = _sum(g, stretched, keepdims=True)
    if extra:  # leading axes that broadcasting added
        g = _sum(g, tuple(range(extra)))
    return g


def _fit_gradient(g, parent, fn: Function):
    """Make an op's gradient match its input: unbroadcast, cast; else a clear error."""
    data = parent.data
    if g.__class__ is _ndarray and not state.anomaly:
        # a bias added to a batch of one, as at every step of an RNN: a reshape (each
        # shape read once: ~0.2 µs a read)
        g_shape, shape = g.shape, data.shape
        if (
            len(g_shape) == len(shape) + 1
            and g_shape[0] == 1
            and g_shape[1:] == shape
            and g.dtype is data.dtype
        ):
            return g.reshape(shape)
    returned = tuple(g.shape)  # (for the error: fit_to may have summed part of it down)
    g = fit_to(g, data)
    if g.shape != data.shape:
        raise RuntimeError(
            f"{fn.op_name}.backward returned a gradient of shape {returned} for an input of "
            f"shape {tuple(data.shape)}, which broadcasting cannot explain"
        )
    if state.anomaly:
        where = f"backward of '{fn.op_name}'"
        if getattr(fn, "site", None) is None:  # recorded outside detect_anomaly()
            where += " (made outside detect_anomaly(): run the forward inside it to see where)"
        check_finite(g, where, fn)
    return g


def fit_to(g, data):
    """Gradient g (of a broadcast result) as one for the array `data`: summed over the
    axes broadcasting added or stretched (sum_to), in data's dtype. A ProductGrad that
    fits is kept as it is; one whose weight changed shape or dtype since the forward is
    multiplied out first. (A shape broadcasting cannot explain stays: callers check.)"""
    if g.__class__ is ProductGrad:
        if g.shape == data.shape and g.dtype == data.dtype:
            return g
        g = g.dense()
    if g.shape != data.shape and g.ndim >= data.ndim:
        g = sum_to(g, data.shape)
    if g.dtype is not data.dtype and g.dtype != data.dtype:
        g = g.astype(data.dtype)
    return g


# ---------------------------------------------------------------- the backward pass
def backward(root, grad, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) · grad into every leaf's `.grad` that requires grad.

    Iterative (no recursion), in Kahn's order: a node runs once every recorded use of it
    that leads here has sent its gradient. The uses were counted as the graph was built
    (`_uses`: x * x counts two), so when every use sends, the pass walks the graph once,
    with no first pass to count consumers (HIPS/autograd's toposort walks it twice):
    - a node used once (most nodes of a chain or an unrolled RNN) is ready as soon as
      that op sends its gradient;
    - a node used more than once counts down the uses still to send (`_pending`).
    A use that never sends (a logged `h.mean()`, another loss not backpropagated, a
    consumer set to requires_grad=False) would leave its input waiting forever. So when
    no node is ready but some wait, the rest of the graph is counted again through the
    nodes still to run (`_recount`, the first pass of old, over what is left): those counts
    are exact, and the pass completes.

    Unless `retain_graph`, each node's saved arrays are freed as it runs. A node that saved
    none, such as an addition or a transpose, can be backpropagated through again (a W.T
    shared by two losses), but a root whose pass freed any node refuses a second pass at
    once, before it adds to a leaf. A pass that
    fails midway (an op's backward raises, detect_anomaly stops it, or it reaches a node
    an earlier backward released) has already added the gradients of the nodes it ran to
    the leaves' `.grad` (a weight's collected terms too, unless multiplying them out runs
    out of memory as well) and freed those nodes; the rest of the graph is left as it was.

    The pass keeps its gradients and counts on the graph's tensors, not its Functions
    (`_grad_out`, `_owns_grad`, `_pending`): every tensor is of one class, so Python's
    attribute caches hit, where Functions are of many (Add, Mul, ...).
    """
    if root._ctx is None:  # a leaf: d(root)/d(root) = grad
        _accumulate_leaf(root, grad)
        return
    if root._grad_out is _RELEASED:
        raise _released(root)
    products = {}  # id(leaf) -> _Products: a weight's terms, multiplied out at the end
    # A pass run inside an op's backward (recomputing a checkpointed forward) starts with
    # no gradient owned: the outer node's g is not this pass's. It gives the outer pass its
    # state back at the end; what another thread's pass set it leaves alone (given back
    # after that pass moved on, a g it had owned would let its next node handed the same
    # array, as an add hands one g to both inputs, write into a gradient not its alone).
    token = object()
    outer_token, _this_thread.pass_token = _this_thread.pass_token, token
    outer_transposes, outer_transposes_of = state.transposes, state.transposes_of
    outer_owned, outer_owned_by = state.grad_owned, state.owned_by
    state.transposes, state.transposes_of = {}, token  # (see transposed_weight)
    state.grad_owned = None
    parents, i = (), 0  # the running node's inputs and the next one's index: for the except
    try:
        record = state.record_grad_norms
        # Norms carry the number of the recorded pass that left them, and a picture of a
        # graph shows only those of the last pass from its root (graph.trace). Every pass
        # clears its root's first (one that fails there, or does not record, then shows
        # none); an unrecorded pass touches no other node.
        if getattr(root._ctx, "norms", None) is not None:
            root._ctx.norms = None
        if record:
            pass_number = next(_recorded_passes)
        check_all = state.anomaly
        keep = state.keeps_grads
        updates = state.updates  # a node made since the last in-place update has this
        root._grad_out = grad
        root._owns_grad = False  # (the caller's: never written into)
        released = False  # whether the pass freed a node's saved arrays
        ready = [root]  # nodes all of whose consumers have sent their gradient
        push, pop = ready.append, ready.pop
        waiting = []  # nodes used more than once, as their first gradient came
        while ready or (waiting and _recount(waiting, push)):
            t = pop()
            fn = t._ctx
            g = t._grad_out
            if t._made_at != updates and (changed := _changed_input(t)) is not None:
                raise _changed_error(t, changed)
            if record:
                reaching = _norm(g)
            if keep and t._keeps_grad:  # retain_grad()
                _keep_grad(t, g)
            if t._owns_grad:  # g is this node's alone: its backward may write into it
                state.grad_owned, state.owned_by = g, token
                grads = fn.backward(g)
                state.grad_owned = None
            else:
                grads = fn.backward(g)
            if record:  # and what went back along each input edge (a weight's share, per step)
                grads = tuple(grads)
                sent = tuple(map(_sent_norm, grads, fn.parents))
                fn.norms = (reaching, sent, pass_number, t is root)
            if retain_graph or not fn.saves_arrays:
                t._grad_out = None
            else:  # free what backward needed; mark the node so a 2nd backward fails clearly
                fn.saved = None
                t._grad_out = _RELEASED
                released = True
            check = fn.may_broadcast or check_all
            # each input with its gradient, paired by index (zip's iterator objects cost
            # ~0.1 µs a node)
            parents = fn.parents
            i = 0
            for gp in grads:
                p = parents[i]
                i += 1
                if not p._requires_grad:  # a constant, or a node whose gradient stops here
                    continue  # (requires_grad set False by hand)
                if gp is None:
                    if p._ctx is None:  # a leaf that gets no gradient here
                        continue
                    # a Function sent nothing to a recorded input (zero gradient): count it
                    # as sent, or that input would wait for it
                    gp = backend.array_module(p.data).zeros_like(p.data)
                if check and (
                    check_all or gp.shape != p.data.shape or gp.dtype is not p.data.dtype
                ):
                    gp = _fit_gradient(gp, p, fn)
                if p._ctx is None:  # a leaf: its .grad accumulates
                    if gp.__class__ is ProductGrad:
                        collected = products.get(id(p))
                        if collected is None:  # the first term: multiplied out now, so
                            # a weight used once keeps nothing alive until the end
                            products[id(p)] = _Products(p)
                            _accumulate_leaf(p, gp.dense(), fresh=True)
                        else:  # the next ones: collected, multiplied out together
                            collected.add(gp)
                        continue
                    leaf_grad = p.grad
                    if leaf_grad.__class__ is _ndarray and gp.__class__ is _ndarray:
                        try:
                            leaf_grad += gp  # the common case, inline (in place: an array)
                        except (ValueError, TypeError):  # (NumPy's casting error is a TypeError)
                            _check_hand_set_grad(p)
                            raise
                    else:
                        _accumulate_leaf(p, gp, fn.fresh_grads)
                    continue
                acc = p._grad_out
                if acc is None:  # the first gradient to arrive
                    if p._uses == 1:  # its one use sent it: ready (nothing will add to it)
                        if gp.__class__ is IndexedGrad:
                            p._grad_out, p._owns_grad = gp.dense(), True
                        else:  # its own if made for it alone (and an array: NumPy
                            # gives 0-d results as immutable scalars)
                            p._grad_out = gp
                            p._owns_grad = fn.fresh_grads and gp.ndim > 0
                        push(p)
                    else:  # keep it as it is, and wait for the other uses
                        if gp.__class__ is IndexedGrad:
                            p._grad_out, p._owns_grad = gp.dense(), True
                        else:
                            p._grad_out, p._owns_grad = gp, False  # may be shared: no writes
                        p._pending = p._uses - 1  # the uses still to send
                        waiting.append(p)
                    continue
                if acc is _COUNTED:  # the first gradient, its uses counted again (_recount);
                    # kept apart from the branch above: one test fewer for every other node
                    p._grad_out, p._owns_grad = (
                        (gp.dense(), True) if gp.__class__ is IndexedGrad else (gp, False)
                    )
                    p._pending -= 1
                    if p._pending == 0:
                        push(p)
                    continue
                if acc is _RELEASED:
                    raise _released(p)
                if p._owns_grad:  # our own buffer: add in place
                    if gp.__class__ is IndexedGrad:
                        gp.add_to(acc)
                    else:
                        acc += gp
                else:  # a shared array: add into a new buffer we then own
                    if gp.__class__ is IndexedGrad:  # (a 0-d acc may be a NumPy scalar,
                        acc = backend.array_module(acc).array(acc)  # which array() makes
                        gp.add_to(acc)  # a writable copy of)
                    else:
                        acc = acc + gp
                    # (NumPy gives 0-d results as immutable scalars: never add into those)
                    p._grad_out, p._owns_grad = acc, acc.ndim > 0
                p._pending -= 1
                if p._pending == 0:
                    push(p)
        for collected in products.values():
            collected.flush()
        if released:  # a second backward from this root would stop at a released node
            root._grad_out = _RELEASED  # after adding to some leaves: refuse it here, whole
    except BaseException as error:
        _reset(root)  # undo the bookkeeping, so a later backward is not misled
        # the weight terms of the nodes that ran are theirs too (see the docstring): added
        # as well, so a failed pass leaves every leaf with the same nodes' gradients
        for collected in products.values():
            with contextlib.suppress(Exception):  # (out of memory: that weight's are lost)
                collected.flush()
        if (  # parents[i] ran past the end: more gradients than inputs
            error.__class__ is IndexError
            and i == len(parents)
            and error.__traceback__.tb_next is None  # raised here, not in a call below
        ):
            raise TypeError(
                f"{fn.op_name}.backward returned more gradients than the op has inputs "
                f"({len(parents)}): return one per input, in order (None for an input that "
                "gets no gradient)"
            ) from None
        raise
    finally:
        _this_thread.pass_token = outer_token
        nested = outer_token is not None  # (inside an op of this thread's own pass)
        if nested and outer_transposes_of is outer_token:
            state.transposes, state.transposes_of = outer_transposes, outer_token
        else:
            state.transposes = state.transposes_of = None
        if nested and outer_owned_by is outer_token:
            state.grad_owned, state.owned_by = outer_owned, outer_token
        else:
            state.grad_owned = state.owned_by = None


def _recount(waiting, push) -> bool:
    """Count again, for every node still to run, its uses still to send; push the
    waiting nodes that then wait for none. True if one was pushed.

    Backward's way past uses that never send (see backward): called when no node is ready
    while some wait, it walks down from the waiting nodes that hold a gradient through the
    nodes still to run, as the first pass of a two-pass backward would. Nodes reached that
    have no gradient yet are marked `_COUNTED`, so their first gradient keeps the new
    count. The counts are exact from then on (every op sends one gradient per recorded
    input), so a pass calls this at most once."""
    live = [t for t in waiting if t._grad_out is not None and t._grad_out is not _RELEASED]
    waiting.clear()
    for t in live:
        t._pending = 0
    stack = live[:]
    while stack:
        t = stack.pop()
        for p in t._ctx.parents:
            if p._ctx is None or not p._requires_grad:
                continue
            g = p._grad_out
            if g is None:  # reached the first time: no gradient yet
                p._grad_out, p._pending = _COUNTED, 0
                stack.append(p)
            elif g is _RELEASED:
                raise _released(p)
            p._pending += 1
    pushed = False
    for t in live:
        if t._pending == 0:
            push(t)
            pushed = True
    return pushed


def _released(t) -> RuntimeError:
    return RuntimeError(
        f"backward through a graph that was already released (at op "
        f"'{t._ctx.op_name}'): its saved arrays were freed by an earlier backward (one "
        "stopped by an error frees the nodes it ran through too). Pass retain_graph=True "
        "to the first backward to backpropagate twice, or detach() a tensor carried over "
        "from an earlier graph (a hidden state between batches). The nodes this backward "
        "ran before it got here have already added their gradients to the leaves' .grad: "
        "zero those before trying again."
    )


def _reset(root) -> None:
    """Clear what a failed backward left on the graph below `root`: the gradients waiting
    there and `_recount`'s marks (released nodes stay released)."""
    seen = set()
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._grad_out is not _RELEASED:
            t._grad_out = None
        stack.extend(p for p in t._ctx.parents if p._ctx is not None)


def _accumulate_leaf(leaf, g, fresh: bool = False) -> None:
    """leaf.grad += g. The first time, g itself if `fresh` (made for this leaf alone, as a
    matrix product's gradients are: see Function.fresh_grads), else a private copy (g may
    be shared with other nodes). A number set by hand as .grad counts as an array full of it."""
    grad = leaf.grad
    if grad is not None and not hasattr(grad, "dtype"):  # set by hand, not by backward
        if not isinstance(grad, numbers.Number):
            raise TypeError(
                f"a leaf's .grad holds a {type(grad).__name__}: it must be None or an array "
                "of the leaf's shape for backward to add into (set it to None, or call "
                "zero_grad(), to clear it)"
            )
        xp = backend.array_module(leaf.data)
        leaf.grad = xp.full(leaf.data.shape, grad, dtype=leaf.data.dtype)
    elif grad is not None and backend.array_module(grad) is not backend.array_module(leaf.data):
        # an array of the other backend set by hand (a NumPy one on a CuPy leaf, as the
        # optimizers accept): moved to the leaf's, as the gradient added into it lives there
        leaf.grad = backend.to_backend(grad, backend.backend_of(leaf.data))
    if g.__class__ is IndexedGrad:
        if leaf.grad is None:
            leaf.grad = g.dense()
        else:  # (added in place by index: NumPy would cast into an integer .grad)
            _check_hand_set_grad(leaf)
            if leaf.grad.__class__ not in backend.ARRAY_TYPES:  # a NumPy scalar (0-d leaf)
                leaf.grad = backend.array_module(leaf.data).array(leaf.grad)
            g.add_to(leaf.grad)
    elif leaf.grad is None:
        data = leaf.data
        if data.dtype.kind != "f":
            raise TypeError(
                f"a leaf of dtype {data.dtype} has requires_grad=True: only float "
                "tensors can hold gradients (make it float first)"
            )
        # Checked here, once a leaf and pass: ops with may_broadcast False return their
        # gradients in their inputs' shapes and dtypes as of the forward, which a leaf's
        # new .data may no longer have.
        if g.shape != data.shape:
            raise RuntimeError(
                f"a gradient of shape {tuple(g.shape)} for a leaf of shape "
                f"{tuple(data.shape)}: the leaf's .data changed shape between the forward "
                "and this backward (or a Function with may_broadcast = False returned a "
                "gradient of the wrong shape)"
            )
        if fresh and g.dtype is data.dtype and g.ndim:  # (a 0-d one may be a NumPy scalar)
            leaf.grad = g
        else:
            leaf.grad = backend.array_module(g).array(g, dtype=leaf.data.dtype, copy=True)
    else:
        try:
            leaf.grad += g  # rebinds the attribute: right for a NumPy scalar too
        except (ValueError, TypeError):
            _check_hand_set_grad(leaf)
            raise


def _check_hand_set_grad(leaf) -> None:
    """A clear error for a .grad of the wrong shape or dtype set by hand, which backward
    cannot add into (called after NumPy refused to, or before an add by index)."""
    if leaf.grad.dtype.kind != "f":
        raise TypeError(
            f"a leaf's .grad holds {leaf.grad.dtype} values: backward adds float gradients "
            "into it, so it must be None or a float array (set it to None, or call "
            "zero_grad(), to clear it)"
        )
    if tuple(leaf.grad.shape) != tuple(leaf.data.shape):
        raise ValueError(
            f"a leaf's .grad has shape {tuple(leaf.grad.shape)} but the leaf has shape "
            f"{tuple(leaf.data.shape)}: backward adds into .grad, so it must be None or of "
            "the leaf's shape (set it to None, or call zero_grad(), to clear it)"
        )


def _sent_norm(gp, p) -> float | None:
    """The norm of the gradient a node sends its input p (record_grad_norms): in p's shape,
    as the engine adds it (0 where backward sent None); None where p needs no gradient, and
    where p has no other use (then it is p's own gradient norm, recorded anyway: not
    worked out twice)."""
    if not p._requires_grad or (p._ctx is not None and p._uses == 1):
        return None
    if gp is None:  # nothing sent: the engine counts it as a zero gradient
        return 0.0
    if gp.__class__ is IndexedGrad and gp.basic:  # each element picked once: its values'
        return _norm(gp.values)  # norm, without a dense array per step (xs[:, t] in a loop)
    if gp.__class__ is ProductGrad and len(gp.x) == 1:  # ‖xᵀ g‖ = ‖x‖ ‖g‖ for one row
        return _norm(gp.x) * _norm(gp.g)
    if gp.__class__ is ProductGrad or gp.__class__ is IndexedGrad:
        gp = gp.dense()
    if gp.shape != p.data.shape:  # a broadcast input's gradient, summed down as backward does
        gp = sum_to(gp, p.data.shape)
    return _norm(gp)


def _norm(g) -> float:
    """The Euclidean norm of a float array, as a Python float (host copy of one number).

    √(g·g) as one dot product (BLAS): 2–4× faster than √Σ g², which squares into a new
    array first. Where the squares may have left the dtype's range, the norm is worked out
    again wider: in float32, elements below ~1e-19 square to 0 and above ~1.8e19 to inf,
    and a gradient vanishing through a long RNN must show its 1e-32, not 0. Float32 data
    is then summed in float64, which holds all its squares; float64 data past 1e±150 is
    scaled by its largest |gᵢ| first. (Not np.errstate around every product: that costs
    ~2.4 µs a call. NumPy warns once of an overflow in the first product: an exploding
    gradient.) The compiled helper sums the squares of a small float32/float64 array in
    double in one call (~0.2 µs where the NumPy path takes ~2): float32 squares then always
    hold, float64 ones are checked as above."""
    if g.size <= _NATIVE_SQUARES and (squares := _native.sum_squares(g)) is not None:
        if g.dtype.itemsize == 4 or _SQUARES_IN_RANGE[8][0] < squares < _SQUARES_IN_RANGE[8][1]:
            return math.sqrt(squares)  # (NaN and inf pass through sqrt as they are)
    flat = g.ravel()
    if flat.dtype.itemsize < 4:  # float16 squares overflow past 256: sum them wider
        flat = flat.astype(np.float32)
    squares = float(flat.dot(flat))
    low, high = _SQUARES_IN_RANGE.get(flat.dtype.itemsize, _SQUARES_IN_RANGE[8])
    if low < squares < high:
        return math.sqrt(squares)
    if flat.dtype.itemsize < 8:
        wide = flat.astype(np.float64)
        return math.sqrt(float(wide.dot(wide)))
    biggest = float(abs(flat).max()) if flat.size else 0.0
    if biggest == 0.0 or not math.isfinite(biggest):  # all zero, or an inf or NaN held
        return biggest
    scaled = flat / biggest
    return biggest * math.sqrt(float(scaled.dot(scaled)))


# Sums of squares that float32 / float64 hold without doubt: outside, a square may have
# underflowed (the smallest normal float32 is ~1.2e-38, float64 ~2.2e-308) or overflowed
_SQUARES_IN_RANGE = {4: (1e-30, 1e37), 8: (1e-290, 1e300)}
# Elements up to which _norm sums squares in the compiled helper: beyond, NumPy's dot (BLAS,
# vectorised) is faster than its four strict-order sums in double
_NATIVE_SQUARES = 4096
