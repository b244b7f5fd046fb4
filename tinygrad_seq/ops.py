"""The primitive ops. Each is one Function: `forward` on arrays, `backward` beside it.

Read each pair as the math: forward computes y = f(x), backward maps the output's gradient
g = ∂L/∂y to ∂L/∂x = g · ∂y/∂x. Ops that broadcast (the elementwise binary ops, where,
layer_norm, rnn_step) may return a gradient in the broadcast shape or another dtype: the
engine sums it back to its input's shape and casts it (autograd.fit_to). Every other op
(`may_broadcast = False`) returns each gradient in its input's shape and dtype, which the
engine does not check; MatMul fits its own off its common path (fit_to again). `saved`
holds exactly what backward needs. `backward` returns None for an input that needs no
gradient, so no work is spent on constants.

Ops work on NumPy or CuPy arrays alike: elementwise work goes through the arrays' own
operators and methods (``x * y``, ``x.sum()``) or through ufuncs, which CuPy arrays also
accept; module-level calls (``zeros``, ``where``, ``add.at``) ask
``backend.array_module(x)`` for the right module.
"""

from __future__ import annotations

import math

import numpy as np

from . import _mkl, _native
from ._special import erf, normal_cdf
from .autograd import (
    Function,
    IndexedGrad,
    OpError,
    ProductGrad,
    fit_to,
    grad_is_yours,
    state,
    transposed_weight,
)
from .backend import array_module, backend_of, one_like, sum_last, to_backend

tanh = np.tanh  # ufuncs dispatch to CuPy through __array_ufunc__
exp = np.exp
log = np.log
sqrt = np.sqrt
reciprocal = np.reciprocal
maximum = np.maximum
minimum = np.minimum
log1p = np.log1p
expm1 = np.expm1


# ------------------------------------------------------------------ elementwise, binary
class Add(Function):
    """x + y, elementwise with NumPy broadcasting."""

    __slots__ = ()
    saves_arrays = False
    op_name = "add"
    elementwise = True

    def forward(self, x, y):
        if y.ndim == 1 and x.size >= _native.MIN_ROW_ADD and _native.can_add_rows(x, y):
            # (the size first: a small add, as an RNN step's bias, pays no call)
            return _native.add_rows(x, y)  # a bias on every row: compiled (_native.py)
        return x + y

    def backward(self, g):  # ∂(x+y)/∂x = ∂(x+y)/∂y = 1
        return g, g


class Sub(Function):
    """x − y, elementwise with NumPy broadcasting."""

    __slots__ = ()
    saves_arrays = False
    op_name = "sub"
    elementwise = True

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        return g, (-g if self.parents[1]._requires_grad else None)


class Mul(Function):
    """x ⊙ y, elementwise with NumPy broadcasting."""

    __slots__ = ()
    op_name = "mul"
    elementwise = True

    def forward(self, x, y):
        self.saved = (x, y)
        return x * y

    def backward(self, g):  # ∂(xy)/∂x = y, ∂(xy)/∂y = x
        x, y = self.saved
        px, py = self.parents
        gy = g * x if py._requires_grad else None
        if not px._requires_grad:
            return None, gy
        if (  # g ⊙ y into g where g is this node's (autograd.grad_is_yours) and large
            state.grad_owned is g  # enough to gain (a scaled attention score's gradient);
            and grad_is_yours(g)  # the quick test first: most Mul nodes own nothing
            and g.size >= _REUSE_MIN
            and y.dtype == g.dtype
            and (y.ndim == 0 or y.shape == g.shape)
        ):
            g *= y
            return g, gy
        return g * y, gy


# Elements from which a product's backward writes into a gradient that is its own: on
# smaller arrays the checks cost about what a new array does.
_REUSE_MIN = 16384


class Div(Function):
    """x / y, elementwise with NumPy broadcasting."""

    __slots__ = ()
    op_name = "div"
    elementwise = True

    def forward(self, x, y):
        out = x / y
        self.saved = (y, out)
        return out

    def backward(self, g):  # ∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = -x/y² = -out/y
        y, out = self.saved
        px, py = self.parents
        gx = g / y if px._requires_grad else None
        # out/y first, not (g/y)·out: where x = 0 and 1/y overflows, that would be ∞ · 0
        gy = -g * (out / y) if py._requires_grad else None
        return gx, gy


class Pow(Function):
    """x ** y for tensors x and y (use PowConst for a constant exponent)."""

    __slots__ = ()
    op_name = "pow"
    elementwise = True

    def forward(self, x, y):
        out = x**y
        self.saved = (x, y, out)
        return out

    def backward(self, g):  # ∂x^y/∂x = y x^(y-1), ∂x^y/∂y = x^y log x (x > 0)
        x, y, out = self.saved
        px, py = self.parents
        gx = None
        if px._requires_grad:  # where y = 0, x^y = 1 has slope 0, x = 0 included (not 0 · ∞)
            with np.errstate(divide="ignore", invalid="ignore"):  # 0^(0−1) = ∞, masked below
                gx = g * array_module(x).where(y == 0, 0, y * x ** (y - 1))
        gy = None
        if py._requires_grad:  # x^y log x: NaN for x < 0 (no real slope), 0 where x = 0
            # and y ≥ 0 (x^y is 0 or 1 there, not 0 · −∞), as in PyTorch
            with np.errstate(divide="ignore", invalid="ignore"):
                gy = g * array_module(x).where((x == 0) & (y >= 0), 0, out * log(x))
        return gx, gy


class PowConst(Function):
    """x ** c for a constant Python number c."""

    __slots__ = ("c",)
    op_name = "pow"
    elementwise = True
    may_broadcast = False

    def __init__(self, c: float) -> None:
        self.c = c

    def forward(self, x):
        self.saved = x
        return x**self.c

    def backward(self, g):  # ∂x^c/∂x = c x^(c-1)
        c = self.c
        if c == 0:  # x⁰ = 1 has gradient 0 everywhere, x = 0 included (not 0 · ∞ = NaN)
            return (array_module(g).zeros_like(self.saved),)
        if c == 2:
            return (g * (2 * self.saved),)
        return (g * (c * self.saved ** (c - 1)),)


class Maximum(Function):
    """Elementwise max(x, y); a tie sends the gradient to x. The smaller side gets no
    gradient at all: backward selects, as `where`'s does, rather than multiplying by a
    0/1 mask, so an inf or NaN arriving there does not become 0 · inf = NaN."""

    __slots__ = ()
    op_name = "maximum"
    elementwise = True

    def forward(self, x, y):
        self.saved = x >= y
        return array_module(x).maximum(x, y)

    def backward(self, g):
        x_wins = self.saved
        zero = g.dtype.type(0)
        xp = array_module(g)
        px, py = self.parents
        return (
            xp.where(x_wins, g, zero) if px._requires_grad else None,
            xp.where(x_wins, zero, g) if py._requires_grad else None,
        )


# ------------------------------------------------------------------ elementwise, unary
class Neg(Function):
    """−x."""

    __slots__ = ()
    saves_arrays = False
    op_name = "neg"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Clone(Function):
    """A copy of x (`x.clone()`): the same values in an array of its own."""

    __slots__ = ()
    saves_arrays = False
    op_name = "clone"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        return x.copy()

    def backward(self, g):  # ∂x/∂x = 1: the gradient passes through
        return (g,)


class ToBackend(Function):
    """A copy of x on another backend ('numpy' or 'cupy', `x.to(name)` of a computed
    tensor); its gradient is copied back to x's backend."""

    __slots__ = ("target", "source")
    saves_arrays = False  # (only the backends' names)
    op_name = "to"
    elementwise = True
    may_broadcast = False
    fresh_grads = True  # a copy, made for x alone

    def __init__(self, target: str) -> None:
        self.target = target

    def forward(self, x):
        self.source = backend_of(x)
        return to_backend(x, self.target)

    def carries_infs(self, out, inputs) -> bool:
        # a copy makes no inf: every one it holds is its input's (compared element by
        # element, the two arrays would be on different backends, which refuse to mix)
        return True

    def backward(self, g):  # the same values on the other side: the gradient passes through
        return (to_backend(g, self.source),)


class Cast(Function):
    """x as another float dtype (`x.astype(dtype)`); its gradient is cast back to x's."""

    __slots__ = ("dtype", "source")
    saves_arrays = False  # (only the two dtypes)
    op_name = "astype"
    elementwise = True
    may_broadcast = False
    fresh_grads = True  # astype makes a new array

    def __init__(self, dtype) -> None:
        self.dtype = dtype

    def forward(self, x):
        self.source = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):  # the same values, rounded: the gradient passes through, in x's dtype
        return (g.astype(self.source),)


class Exp(Function):
    """eˣ, elementwise."""

    __slots__ = ()
    op_name = "exp"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        out = exp(x)
        self.saved = out
        return out

    def backward(self, g):  # ∂eˣ/∂x = eˣ
        return (g * self.saved,)


class Log(Function):
    """ln x, elementwise (the natural logarithm)."""

    __slots__ = ()
    op_name = "log"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        self.saved = x
        return log(x)

    def backward(self, g):  # ∂log x/∂x = 1/x
        return (g / self.saved,)


class Tanh(Function):
    """tanh x, elementwise."""

    __slots__ = ()
    op_name = "tanh"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        out = tanh(x)
        self.saved = out
        return out

    def backward(self, g):  # tanh'(x) = 1 − tanh²(x)
        y = self.saved
        if _native.enabled:
            gx = _native.tanh_backward(g, y)  # compiled, one call (None: not for these)
            if gx is not None:
                return (gx,)
        g_y2 = y * y
        g_y2 *= g  # in place: one temporary fewer (this runs at every step of an RNN)
        return (g - g_y2,)  # g (1 − y²) as g − g y²: no constant 1 to convert


def _as_float(x):
    """x, or integers and booleans (which get no gradient) as floats, the dtype NumPy's exp
    would give them: ops that work in place in their output need a float buffer."""
    if x.dtype.kind in "fc":
        return x
    return x.astype(np.result_type(x.dtype, np.float16))


class Sigmoid(Function):
    """σ(x) = 1/(1 + e^−x), elementwise."""

    __slots__ = ()
    op_name = "sigmoid"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        # σ(x) = 1/(1 + e^−x), in place after the negation. Below x ≈ −88 (float32) e^−x
        # overflows to inf and σ comes out exactly 0, the right answer: only the warning
        # is silenced (as for e^−x underflowing to 0 above x ≈ 88). NumPy's exp costs
        # ~half its tanh, and unlike ½(1 + tanh(x/2)) this keeps σ's relative precision
        # for negative x (σ(−20) = 2.1e-9, not 0).
        if _native.enabled:
            out = _native.sigmoid(x)  # compiled: one pass, one call (None: not for this x)
            if out is not None:
                self.saved = out
                return out
        x = _as_float(x)
        out = -x
        if not out.ndim:  # NumPy gives a 0-d result as a scalar, which cannot be written into
            out = array_module(x).asarray(out)
        with np.errstate(over="ignore", under="ignore"):
            exp(out, out=out)
        out += one_like(out)  # (a 0-d 1: NumPy converts a Python 1 anew on every call)
        reciprocal(out, out=out)
        self.saved = out
        return out

    def backward(self, g):  # σ'(x) = σ(x)(1 − σ(x))
        s = self.saved
        if _native.enabled:
            d = _native.sigmoid_backward(g, s)  # compiled, one call (None: not for these)
            if d is not None:
                return (d,)
        d = one_like(s) - s
        d *= s  # in place: one new array, not three
        d *= g
        return (d,)


_ZEROS = {}  # dtype → its 0 as a NumPy scalar: NumPy converts a Python 0 anew each call


class Relu(Function):
    """max(x, 0), elementwise."""

    __slots__ = ()
    op_name = "relu"
    elementwise = True
    may_broadcast = False
    fresh_grads = True  # a new array, or g itself when it was this node's (below)

    def forward(self, x):
        # max(x, 0), not x · relu'(x): −inf · 0 would be NaN
        if x.dtype.kind == "b":  # max(False, 0) is False, max(True, 0) True
            y = x.copy()
        else:
            zero = _ZEROS.get(x.dtype)
            if zero is None:
                zero = _ZEROS[x.dtype] = x.dtype.type(0)
            y = maximum(x, zero)
        # The output, which the graph keeps anyway, not a mask: relu'(x) is y > 0 (NaN > 0
        # is False, as x > 0 is). One pass over the data fewer than a float mask made here
        # (W3: ~0.27 ms of a 1024 × 512 relu's forward + backward), and no extra array.
        self.saved = y
        return y

    def backward(self, g):  # relu'(x) = 1 where x > 0, else 0
        # A select, not g · (y > 0): where relu is flat no gradient passes, not even an inf
        # (sqrt(relu(x)) sends one back where x ≤ 0), which 0 · inf would make NaN; as
        # PyTorch's. NaN > 0 is False, so no gradient passes a NaN output either.
        y = self.saved
        mine = grad_is_yours(g)  # then into g itself: no new array to fetch and fill
        if _native.rows_ok_with(g, y):  # compiled: one pass, no mask array
            return (_native.relu_backward(g, y, out=g if mine else None),)
        passes = y > 0
        if mine and g.shape == y.shape:
            array_module(g).copyto(g, 0, where=~passes)
            return (g,)
        return (array_module(g).where(passes, g, g.dtype.type(0)),)


class Sqrt(Function):
    """√x, elementwise."""

    __slots__ = ()
    op_name = "sqrt"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        out = sqrt(x)
        self.saved = out
        return out

    def backward(self, g):  # ∂√x/∂x = 1/(2√x)
        return (g / (2 * self.saved),)


class Abs(Function):
    """|x|, elementwise."""

    __slots__ = ()
    op_name = "abs"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        self.saved = x
        return abs(x)

    def backward(self, g):  # ∂|x|/∂x = sign(x) (0 at 0)
        return (g * np.sign(self.saved),)


class Log1p(Function):
    """ln(1 + x), elementwise, exact for small x (where 1 + x would round x away)."""

    __slots__ = ()
    op_name = "log1p"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        self.saved = x
        return log1p(x)

    def backward(self, g):  # ∂ln(1 + x)/∂x = 1/(1 + x)
        return (g / (1 + self.saved),)


class Expm1(Function):
    """eˣ − 1, elementwise, exact for small x (where eˣ − 1 would cancel to few digits)."""

    __slots__ = ()
    op_name = "expm1"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        out = expm1(x)
        self.saved = out
        return out

    def backward(self, g):  # ∂(eˣ − 1)/∂x = eˣ = out + 1
        return (g * (self.saved + 1),)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


class Erf(Function):
    """erf x = (2/√π) ∫₀ˣ e^(−t²) dt, elementwise (Cody's rational approximations, to a few
    units in the last place of float64: _special.py)."""

    __slots__ = ()
    op_name = "erf"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        x = _as_float(x)  # (an integer x: the float NumPy's exp gives it)
        self.saved = x
        return erf(x)

    def backward(self, g):  # ∂erf x/∂x = (2/√π) e^(−x²)
        x = self.saved
        with np.errstate(over="ignore"):  # x² past the dtype's range: e^(−inf) = 0, right
            return (g * (_TWO_OVER_SQRT_PI * exp(-(x * x))),)


# GELU (Hendrycks & Gimpel): x Φ(x), Φ the standard normal's CDF
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class GeluErf(Function):
    """gelu(x) = x Φ(x) = ½ x (1 + erf(x/√2)), elementwise: the exact form (PyTorch's
    gelu(x), approximate="none"). Φ(x) is computed as ½ erfc(−x/√2), which keeps its
    digits where x ≪ 0 (½ (1 + erf) cancels to 0 below x ≈ −8.3 in float64, where PyTorch's
    gives 0). At ±inf the limits: gelu(−inf) = −0, gelu(inf) = inf, slopes 0 and 1 (PyTorch's
    gives NaN for gelu(−inf) and for both slopes)."""

    __slots__ = ()
    op_name = "gelu"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        x = _as_float(x)
        if _native.enabled:  # compiled, in double, one pass (None: not for this x)
            made = _native.gelu(x, state.grad_enabled)
            if made is not None:
                if not state.grad_enabled:  # (nothing recorded: no slope needed)
                    return made
                out, self.saved = made  # the slope Φ(x) + x φ(x), made with Φ(x)
                return out
        cdf = normal_cdf(x)  # Φ(x)
        self.saved = (x, cdf)
        # −inf read as the lowest finite number: −inf · Φ(−inf) would be −inf · 0 = NaN
        return maximum(x, np.finfo(x.dtype).min) * cdf

    def backward(self, g):  # ∂(x Φ(x))/∂x = Φ(x) + x φ(x), φ(x) = e^(−x²/2) / √(2π)
        if self.saved.__class__ is not tuple:  # the slope, made by the compiled forward
            return (g * self.saved,)
        x, cdf = self.saved
        info = np.finfo(x.dtype)
        x = minimum(maximum(x, info.min), info.max)  # ±inf: φ = 0, and ±inf · 0 is NaN
        with np.errstate(over="ignore"):  # x² past the dtype's range: φ = e^(−inf) = 0
            pdf = exp(-0.5 * (x * x)) * _INV_SQRT_2PI
        return (g * (cdf + x * pdf),)


# GELU's tanh form (Hendrycks & Gimpel): ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))
_GELU_SCALE = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
_GELU_FLAT = 100.0  # past ±100, u > 35000 and tanh(u) is ±1 in every float dtype


class GeluTanh(Function):
    """gelu(x) ≈ ½ x (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³), elementwise: the tanh
    approximation of x Φ(x) (PyTorch's gelu(x, approximate="tanh")). At ±inf the limits:
    gelu(−inf) = −0, gelu(inf) = inf, slopes 0 and 1 (PyTorch's gives NaN at −inf, where
    −inf · (1 + tanh(−inf)) is −inf · 0, and NaN slopes where x² overflows: |x| past
    ~1.8e19 in float32)."""

    __slots__ = ()
    op_name = "gelu"
    elementwise = True
    may_broadcast = False

    def forward(self, x):
        x = _as_float(x)  # (an integer x: the float NumPy's tanh gives it)
        # x³ past the dtype's range: u = ±inf, tanh ±1, the right answer (x or −0); at
        # x = −inf, x (1 + tanh u) is −inf · 0 = NaN, replaced by the limit −0 below
        with np.errstate(over="ignore", invalid="ignore"):
            # u = x (√(2/π) + √(2/π)·0.044715 x²), in place: one new array, not five
            xp = array_module(x)
            t = x * x
            if not t.ndim:  # NumPy gives a 0-d result as a scalar, which cannot be written into
                t = xp.asarray(t)
            t *= _GELU_SCALE * _GELU_CUBIC
            t += _GELU_SCALE
            t *= x
            tanh(t, out=t)  # t = tanh(u), kept for backward
            out = t + 1
            if not out.ndim:
                out = xp.asarray(out)
            out *= x
        out *= 0.5
        xp.copyto(out, -0.0, where=x == -math.inf)
        self.saved = (x, t)
        return out

    def backward(self, g):  # ½ (1 + t) + ½ x (1 − t²) ∂u/∂x, ∂u/∂x = √(2/π) (1 + 3·0.044715 x²)
        x, t = self.saved
        # x cut to ±100, where 1 − t² is 0 already: x² would overflow (float16 past ±256,
        # float32 past ±1.8e19) and 0 · inf be NaN; at ±inf the slopes are the limits, 0, 1
        x = minimum(maximum(x, -_GELU_FLAT), _GELU_FLAT)
        du = _GELU_SCALE * (1 + (3 * _GELU_CUBIC) * (x * x))
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)


class Clip(Function):
    """min(max(x, low), high), elementwise, for constant bounds (None: no bound on that
    side). The gradient passes where low ≤ x ≤ high, the bounds included (as PyTorch's
    clamp), and nowhere else: not where x lies outside, nor where x is NaN."""

    __slots__ = ("low", "high")
    op_name = "clip"
    elementwise = True
    may_broadcast = False

    def __init__(self, low, high) -> None:
        self.low, self.high = low, high  # numbers in x's dtype, or None

    def forward(self, x):
        low, high = self.low, self.high
        inside = None
        out = x
        if low is not None:
            inside = x >= low
            out = maximum(out, low)  # (NaN stays NaN, as in np.clip)
        if high is not None:
            below_high = x <= high
            inside = below_high if inside is None else inside & below_high
            out = minimum(out, high)
        self.saved = inside
        return out

    def backward(self, g):  # ∂clip(x)/∂x = 1 where low ≤ x ≤ high, else 0
        # a select, not g · mask: where clip is flat no gradient passes, not even an inf
        return (array_module(g).where(self.saved, g, g.dtype.type(0)),)


# ------------------------------------------------------------------ matrix product
_SMALL_PRODUCT = 4096  # output elements (16 KB of float32)


def _product(a, b):
    """a @ b for 2-D a and b. A small product goes through ndarray.dot, which skips
    matmul's generalised-ufunc dispatch: ~0.5 µs a call, a third of an RNN step's h W
    (1 × 32 @ 32 × 32). dot zero-fills its output first, so large products go to
    _mkl.product: MKL's where it is installed and gains, else @."""
    return a.dot(b) if len(a) * b.shape[1] <= _SMALL_PRODUCT else _mkl.product(a, b)  # len: rows


# Multiply-adds per matrix up to which a stack of products copies a transposed right
# operand first (see _stacked_product).
_SMALL_STACKED = 2**19


def _stacked_product(a, b):
    """a @ b for stacked (batched) operands.

    NumPy runs a stack of small products whose right operand is transposed in memory
    (attention's q kᵀ, whose kᵀ is a view) slowly: 64 products of 64 × 32 @ 32 × 64 take
    ~0.32 ms as they are and ~0.23 ms after copying the right operand to C order. The copy
    pays off when each product has at least as many rows m as inner length k (it moves k·n
    numbers for m·k·n multiply-adds) and is small (m·k·n ≤ 2¹⁹); elsewhere, e.g. a
    decoder's one query row (m = 1), it costs more than it saves (measured on a grid of
    m, k, n from 16 to 128)."""
    return a @ (b.copy() if _copy_pays(a, b) else b)


def _copy_pays(a, b) -> bool:
    """Whether _stacked_product copies `b`: a NumPy stack of transposed right operands
    (unit stride down each column) whose products are small and have m ≥ k."""
    return (
        b.__class__ is np.ndarray
        and a.ndim > 1
        and b.ndim > 2
        and b.strides[-2] == b.itemsize
        and b.shape[-1] > 1  # (…, k, 1) has that stride in C order too
        and 1 < b.shape[-2] <= a.shape[-2]
        and a.shape[-2] * a.shape[-1] * b.shape[-1] <= _SMALL_STACKED
    )


# Elements of x and g up to which a weight's gradient term xᵀ g is collected (ProductGrad):
# there the call's overhead is most of its cost; a larger product gains nothing.
_SMALL_TERM = 65536


class MatMul(Function):
    """x @ y with NumPy's rules: batched over leading axes, 1-D operands promoted."""

    __slots__ = ()
    op_name = "matmul"
    may_broadcast = False  # backward fits its gradients to the inputs itself (fit_to)
    fresh_grads = True  # every gradient below is a new product (or a sum, or a view of one)

    def carries_infs(self, out, inputs) -> bool:
        # out[i, j] combines row i of x with column j of y: it carries an inf only from
        # those (a −inf in one row of x does not explain an overflow in another)
        x, y = inputs
        xp = array_module(out)
        x_rows = xp.isinf(x).any(axis=-1) if x.ndim > 1 else xp.isinf(x).any()  # (..., n)
        y_cols = xp.isinf(y).any(axis=-2) if y.ndim > 1 else xp.isinf(y).any()  # (..., m)
        if x.ndim > 1 and y.ndim > 1:
            held = x_rows[..., :, None] | y_cols[..., None, :]
        else:  # a 1-D operand: its one row or column meets every output element
            held = x_rows | y_cols
        return not bool((xp.isinf(out) & ~xp.broadcast_to(held, out.shape)).any())

    def forward(self, x, y):
        self.saved = (x, y)
        if x.ndim == 2 and y.ndim == 2:  # _product, inline: the hot path of every RNN step
            return x.dot(y) if len(x) * y.shape[1] <= _SMALL_PRODUCT else _mkl.product(x, y)
        if y.ndim == 2 and x.ndim > 2 and x.flags.c_contiguous and x.shape[-1] == y.shape[0] > 0:
            # (..., n, k) @ (k, m), as in a Linear layer: one (N, k) @ (k, m) product is
            # ~10 % faster than NumPy's loop of one small product per batch element. The
            # inner sizes are compared here: the reshape alone lets (2, 3, 4) @ (2, 0) or
            # an empty x through with a wrong shape, where @ (below) says they differ
            return _mkl.product(x.reshape(-1, y.shape[0]), y).reshape(*x.shape[:-1], y.shape[1])
        return _stacked_product(x, y)

    def backward(self, g):  # ∂L/∂x = g yᵀ, ∂L/∂y = xᵀ g
        x, y = self.saved
        px, py = self.parents
        if x.ndim == 2 and y.ndim == 2 and x.dtype is y.dtype is g.dtype:
            # the common case: no reshaping, and the products have the inputs' shapes and
            # dtype already
            gx = (
                _product(g, y.T if py._ctx is not None else transposed_weight(y, len(g)))
                if px._requires_grad
                else None
            )
            if not py._requires_grad:
                return gx, None
            # a weight's small term: multiplied out with its others (see ProductGrad)
            if py._ctx is None and x.size + g.size <= _SMALL_TERM:
                return gx, ProductGrad(x, g, y)
            return gx, _product(x.T, g)
        gx, gy = self._batched_backward(g, x, y)
        return (  # back to each input's shape and dtype (broadcast batch axes summed)
            fit_to(gx, px.data) if gx is not None else None,
            fit_to(gy, py.data) if gy is not None else None,
        )

    def _batched_backward(self, g, x, y):
        """(∂L/∂x, ∂L/∂y) for operands with batch axes, 1-D ones, or two dtypes, in the
        shapes and dtype the products give (backward fits them to the inputs)."""
        px, py = self.parents
        x_wants, y_wants = px._requires_grad, py._requires_grad
        if y.ndim == 2 and x.ndim > 2 and y.size:  # (..., n, k) @ (k, m), as in Linear:
            # flattened to one big product each (∂L/∂y: instead of one per batch element
            # and a sum)
            k, m = y.shape
            g2 = g.reshape(-1, m)
            gx = _mkl.product(g2, y.T).reshape(x.shape) if x_wants else None
            if not y_wants:
                return gx, None
            x2 = x.reshape(-1, k)
            if py._ctx is None and x.dtype is g.dtype is y.dtype and x.size + g.size <= _SMALL_TERM:
                return gx, ProductGrad(x2, g2, y)
            return gx, _mkl.product(x2.T, g2)
        if x.ndim == 2 and y.ndim == 2:  # two dtypes (or a wider g)
            return (_product(g, y.T) if x_wants else None), (_product(x.T, g) if y_wants else None)
        if x.ndim == 1 and y.ndim == 1:  # inner product x·y: g is 0-d
            return (g * y if x_wants else None), (g * x if y_wants else None)
        # Promote 1-D operands as matmul does (x: row vector, y: column vector), so the
        # batched formulas below apply; the added axis is dropped again at the end.
        x_was_1d, y_was_1d = x.ndim == 1, y.ndim == 1
        if x_was_1d:
            x, g = x[None, :], g[..., None, :]
        if y_was_1d:
            y, g = y[:, None], g[..., None]
        gx = _stacked_product(g, y.swapaxes(-1, -2)) if x_wants else None
        gy = _stacked_product(x.swapaxes(-1, -2), g) if y_wants else None
        if x_was_1d and gx is not None:
            gx = gx[..., 0, :]
        if y_was_1d and gy is not None:
            gy = gy[..., 0]
        return gx, gy

    def describe_error(self, shapes) -> str:
        a, b = shapes
        inner_a = a[-1] if a else None
        inner_b = (b[-2] if len(b) > 1 else b[0]) if b else None
        if not a or not b:
            return f"matmul needs operands with at least 1 axis, got shapes {a} and {b}"
        if inner_a == inner_b:  # the inner axes agree, so the batch axes are to blame
            return (
                f"matmul: cannot multiply shapes {a} @ {b}: the leading (batch) axes "
                f"{a[:-2]} and {b[:-2]} do not broadcast (aligned from the right, each must "
                "be equal or 1)"
            )
        return (
            f"matmul: cannot multiply shapes {a} @ {b}: the last axis of the left operand "
            f"({inner_a}) must equal the {'second-to-last' if len(b) > 1 else 'only'} axis "
            f"of the right operand ({inner_b}), and leading (batch) axes must broadcast"
        )


# ------------------------------------------------------------------ reductions
def _normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """`axis` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_count(shape: tuple[int, ...], axis) -> int:
    """How many elements each output element of a reduction over `axis` gathers."""
    n = 1
    for a in _normalize_axis(axis, len(shape)):
        n *= shape[a]
    return n


def _reduced_infs(fn, out, inputs) -> bool:
    """carries_infs for a reduction over fn.axis: an inf in an output element is carried
    only when the elements reduced into it held one (a −inf in one row does not explain an
    overflow in another)."""
    xp = array_module(out)
    held = xp.isinf(inputs[0]).any(axis=fn.axis, keepdims=fn.keepdims)
    return not bool((xp.isinf(out) & ~held).any())


class Sum(Function):
    """Σ of x over `axis` (all axes if None), keeping them as size-1 axes if `keepdims`."""

    __slots__ = ("axis", "keepdims")
    saves_arrays = False  # (shapes and dtypes at most)
    op_name = "sum"
    may_broadcast = False

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    carries_infs = _reduced_infs  # (under detect_anomaly)

    def forward(self, x):
        self.saved = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):  # every summed element gets the gradient of the sum
        shape = self.saved
        if not self.keepdims and self.axis is not None:
            g = g.reshape(_keepdims_shape(shape, _normalize_axis(self.axis, len(shape))))
        return (array_module(g).broadcast_to(g, shape),)


class Mean(Function):
    """The mean of x over `axis` (all axes if None), keeping them if `keepdims`."""

    __slots__ = ("axis", "keepdims")
    saves_arrays = False  # (shapes and dtypes at most)
    op_name = "mean"
    may_broadcast = False

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    carries_infs = _reduced_infs  # (under detect_anomaly)

    def forward(self, x):
        self.saved = x.shape
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):  # every averaged element gets 1/n of the gradient
        shape = self.saved
        axes = _normalize_axis(self.axis, len(shape))
        n = 1
        for a in axes:
            n *= shape[a]
        if not self.keepdims:
            g = g.reshape(_keepdims_shape(shape, axes))
        if n > 65504 and g.dtype.itemsize < 4:  # n as a float16 would be ∞: in float32
            g = (g.astype(np.float32) / n).astype(g.dtype)
        else:
            g = g / n
        return (array_module(g).broadcast_to(g, shape),)


class Var(Function):
    """The variance of x over `axis` (all axes if None): Σ (x − μ)² / (n − correction),
    μ the mean; keeping the axes as size-1 axes if `keepdims`. correction 0 divides by n
    (NumPy's default), 1 by n − 1 (PyTorch's); the caller checks that n − correction > 0."""

    __slots__ = ("axis", "keepdims", "correction")
    op_name = "var"
    may_broadcast = False

    def __init__(self, axis=None, keepdims: bool = False, correction: float = 0) -> None:
        self.axis, self.keepdims, self.correction = axis, keepdims, correction

    carries_infs = _reduced_infs  # (under detect_anomaly)

    def _moments(self, x):
        """(x − μ, n − correction, the variance with the reduced axes kept)."""
        if x.dtype.kind != "f":  # integers and booleans: in float64, as NumPy's var
            x = x.astype(np.float64)
        n = reduced_count(x.shape, self.axis)
        wide = x.astype(np.float32) if x.dtype.itemsize < 4 else x  # float16: its sums
        centred = wide - wide.mean(axis=self.axis, keepdims=True)  # overflow past 65504
        dof = n - self.correction
        var = (centred * centred).sum(axis=self.axis, keepdims=True) / dof
        return centred, dof, var

    def _out(self, kept, dtype):
        """A reduced result with the axes kept, as the caller asked, in `dtype`."""
        if not self.keepdims:
            kept = kept.reshape(()) if self.axis is None else kept.squeeze(axis=self.axis)
        return kept.astype(dtype, copy=False)

    def forward(self, x):
        centred, dof, var = self._moments(x)
        self.saved = (centred, dof, x.dtype if x.dtype.kind == "f" else np.dtype(np.float64))
        return self._out(var, self.saved[2])

    def backward(self, g):  # ∂var/∂x = 2 (x − μ) / (n − correction)
        centred, dof, dtype = self.saved
        g = g.reshape(_keepdims_shape(centred.shape, _normalize_axis(self.axis, centred.ndim)))
        gx = centred * (2 / dof)
        gx *= g
        return (gx.astype(dtype, copy=False),)


class Std(Var):
    """The standard deviation of x over `axis`: √var, var as in Var. Where it is 0 (all
    the elements equal) its gradient is 0, as PyTorch's, not 0 · ∞ = NaN."""

    __slots__ = ()
    op_name = "std"

    def forward(self, x):
        centred, dof, var = self._moments(x)
        std = sqrt(var)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        self.saved = (centred, dof, std, dtype)
        return self._out(std, dtype)

    def backward(self, g):  # ∂σ/∂x = (x − μ) / ((n − correction) σ), 0 where σ = 0
        centred, dof, std, dtype = self.saved
        g = g.reshape(std.shape)
        with np.errstate(divide="ignore", invalid="ignore"):  # σ = 0: selected away below
            ratio = g / (dof * std)
        scale = array_module(centred).where(std == 0, ratio.dtype.type(0), ratio)
        gx = centred * scale
        return (gx.astype(dtype, copy=False),)


class Max(Function):
    """max over axes; tied maxima share the gradient equally (as PyTorch's amax)."""

    __slots__ = ("axis", "keepdims")
    op_name = "max"
    may_broadcast = False

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    carries_infs = _reduced_infs  # (under detect_anomaly)

    def forward(self, x):
        m = x.max(axis=self.axis, keepdims=True)
        is_max = x == m
        # the count in x's dtype: an integer count would make the gradient float64 (but
        # float32 for a float16 x, whose counts end at 65504; backward casts back), in the
        # machine's byte order (a sum refuses a byte-swapped dtype= such as '>f8')
        count_dtype = x.dtype.type if x.dtype.itemsize >= 4 or x.dtype.kind != "f" else np.float32
        self.saved = (is_max, is_max.sum(axis=self.axis, keepdims=True, dtype=count_dtype))
        if self.keepdims:
            return m
        return m.reshape(()) if self.axis is None else m.squeeze(axis=self.axis)

    def backward(self, g):
        is_max, count = self.saved
        g = g.reshape(count.shape)
        gx = g * is_max / count
        return (gx if gx.dtype == g.dtype else gx.astype(g.dtype),)


class LogSumExp(Function):
    """log Σ e^x over `axis` (all axes if None), shifted by the max for safety; keeping the
    axes as size-1 axes if `keepdims`. Its gradient is the softmax of x over those axes."""

    __slots__ = ("axis", "keepdims")
    op_name = "logsumexp"
    may_broadcast = False
    fresh_grads = True  # backward's e^(x − lse) is a new array

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    carries_infs = _reduced_infs  # (under detect_anomaly)

    def forward(self, x):
        x = _as_float(x)
        wide = x.astype(np.float32) if x.dtype.itemsize < 4 else x  # float16: Σ e^x overflows
        # lse = m + log Σ e^(x − m), m the max, so no e^x overflows. A max of ±inf or nan is
        # not shifted by (inf − inf is nan): a row of −infs gives log 0 = −inf, a +inf gives
        # +inf, as PyTorch's; no elements at all give log 0 = −inf too
        with np.errstate(divide="ignore", over="ignore"):
            if wide.size:
                m = wide.max(axis=self.axis, keepdims=True)
                m = array_module(wide).where(array_module(m).isfinite(m), m, m.dtype.type(0))
                log_sum = log(exp(wide - m).sum(axis=self.axis, keepdims=True))
            else:
                m, log_sum = 0, log(wide.sum(axis=self.axis, keepdims=True))
        self.saved = (wide, m, log_sum)
        kept = log_sum + m
        if self.keepdims:
            out = kept
        else:
            out = kept.reshape(()) if self.axis is None else kept.squeeze(axis=self.axis)
        return out.astype(x.dtype, copy=False)

    def backward(self, g):  # ∂ lse/∂x_i = e^(x_i − lse) = softmax(x)_i
        wide, m, log_sum = self.saved
        # as e^((x − m) − log Σ e^(x − m)): exact, where e^(x − lse) with lse = m + log Σ
        # rounded (to ~1e4 in float32, say) would be off by its rounding error
        gx = array_module(wide).asarray(wide - m)  # (a 0-d x gives a scalar, made an array)
        with np.errstate(invalid="ignore"):  # a row of −infs: nan, as PyTorch's
            gx -= log_sum
        exp(gx, out=gx)
        gx *= g.reshape(log_sum.shape)
        return (gx.astype(g.dtype, copy=False),)


# ------------------------------------------------------------------ shape ops
class Reshape(Function):
    """x with a new shape of the same number of elements (a view where NumPy can)."""

    __slots__ = ("shape",)
    saves_arrays = False  # (shapes and dtypes at most)
    op_name = "reshape"
    may_broadcast = False

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.saved = x.shape
        return x.reshape(self.shape)

    def backward(self, g):
        return (g.reshape(self.saved),)


class Transpose(Function):
    """x with its axes permuted by `axes` (reversed if None), as a view."""

    __slots__ = ("axes",)
    saves_arrays = False
    op_name = "transpose"
    may_broadcast = False

    def __init__(self, axes: tuple[int, ...] | None) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):  # undo the permutation
        if self.axes is None:
            return (g.transpose(),)
        return (g.transpose(tuple(int(a) for a in np.argsort(self.axes))),)


def _is_basic_index(index) -> bool:
    """True for ints/slices/None/Ellipsis only: then each element is picked at most once."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, (int, slice, type(None), type(Ellipsis))) and not isinstance(i, bool)
        for i in items
    )


class GetItem(Function):
    """x[index]; backward scatters the gradient back, adding where indices repeat."""

    __slots__ = ("index", "basic")
    saves_arrays = False  # (shapes and dtypes at most)
    op_name = "getitem"
    may_broadcast = False

    def __init__(self, index, basic: bool | None = None) -> None:
        self.index = index
        self.basic = _is_basic_index(index) if basic is None else basic

    def forward(self, x):
        self.saved = (x.shape, x.dtype)
        return x[self.index]

    def backward(self, g):
        # ∂L/∂x is zero except at x[index], where it is g. Rather than a dense zero array
        # per use (quadratic for a loop of xs[:, t] over T steps), hand the engine the
        # nonzero part: it adds it in place into x's gradient buffer.
        shape, dtype = self.saved
        return (IndexedGrad(shape, dtype, self.index, g, self.basic),)


def _in_dtype(g, dtype):
    """g in an input's dtype: a float32 input joined with a float64 one gets float32."""
    return g if g.dtype == dtype else g.astype(dtype)


class Concat(Function):
    """The inputs joined along an existing `axis`."""

    __slots__ = ("axis",)
    saves_arrays = False  # (shapes and dtypes at most)
    op_name = "cat"
    may_broadcast = False

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.saved = [(x.shape[self.axis], x.dtype) for x in xs]
        return array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, g):  # each input gets its own slab of the gradient, in its dtype
        axis = self.axis % g.ndim
        grads, start = [], 0
        lead = (slice(None),) * axis
        for n, dtype in self.saved:
            grads.append(_in_dtype(g[lead + (slice(start, start + n),)], dtype))
            start += n
        return grads


class Stack(Function):
    """The inputs (of one shape) stacked along a new `axis`."""

    __slots__ = ("axis",)
    saves_arrays = False  # (shapes and dtypes at most)
    op_name = "stack"
    may_broadcast = False

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.saved = [x.dtype for x in xs]
        return array_module(xs[0]).stack(xs, axis=self.axis)

    def backward(self, g):  # each input its slice of the gradient, in its dtype
        axis = self.axis % g.ndim
        lead = (slice(None),) * axis
        return [_in_dtype(g[lead + (i,)], dtype) for i, dtype in enumerate(self.saved)]


class Where(Function):
    """where(cond, x, y) with a constant boolean cond."""

    __slots__ = ("cond",)
    saves_arrays = False
    op_name = "where"
    elementwise = True

    def __init__(self, cond) -> None:
        self.cond = cond

    def forward(self, x, y):
        return array_module(x).where(self.cond, x, y)

    def describe_error(self, shapes) -> str:
        a, b = shapes
        return (
            f"where: cannot broadcast cond {tuple(self.cond.shape)} with a {a} and b {b}: "
            "each axis, aligned from the right, must be equal or 1"
        )

    def backward(self, g):
        cond = self.cond
        zero = g.dtype.type(0)
        xp = array_module(g)
        px, py = self.parents
        return (
            xp.where(cond, g, zero) if px._requires_grad else None,
            xp.where(cond, zero, g) if py._requires_grad else None,
        )


# ------------------------------------------------------------------ fused primitives
# Each is measurably faster than its composition from the primitives above (one node
# instead of five to ten) and is gradient-checked like every other op.
# After one shift by the array's max, a row sum of at least e^−14 puts the row's own max
# within 14 + log(row length) of it, so the shift costs the row at most that much of the
# dtype's range: an exp that underflows had a probability below e^(−87 + 14 + log n)
# (~1e-27 in float32, whose normal range ends at e^−87), which the per-row shift would
# keep. Rows that sit lower take the per-row shift.
_SAFE_SUM = float(np.exp(-14.0))


# Elements from which softmax takes its whole-array paths (one shift in forward, one
# contraction in backward): below it their set-up costs more than they save.
_LARGE_SOFTMAX = 16384


class Softmax(Function):
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along `axis`, shifted by the max for safety."""

    __slots__ = ("axis",)
    op_name = "softmax"
    may_broadcast = False
    fresh_grads = True  # a new array, or g itself when it was this node's (below)

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        xp = array_module(x)
        x = _as_float(x)
        if x.size == 0 or x.dtype.itemsize < 4:  # nothing to normalise; or float16, whose
            # sums over a row overflow past 65504: worked out in float32
            y = self.forward(x.astype(np.float32)).astype(x.dtype) if x.size else x.copy()
            self.saved = y
            return y
        if self.axis in (-1, x.ndim - 1) and _native.rows_ok(x):
            y = _native.softmax(x)  # compiled (_native.py): a row at a time
            self.saved = y
            return y
        if (
            x.size >= _LARGE_SOFTMAX
            and self.axis in (-1, x.ndim - 1)
            and x.dtype.kind == "f"
            and x.__class__ is np.ndarray  # (on a GPU the test below would wait for it)
        ):
            # One shift for the whole array: NumPy's max over each short row costs as much
            # as the exp. Softmax is the same for any shift; this one is fine unless a row
            # lies so far below the array's max that its exps underflow, and then (or for
            # NaN or inf) the row sums below tell, and the per-row shift is used instead.
            y = x - x.max()
            xp.exp(y, out=y)
            s = sum_last(y)
            if s.min() >= _SAFE_SUM:
                y /= s
                self.saved = y
                return y
        y = x - x.max(axis=self.axis, keepdims=True)  # shift: exp never overflows
        if not y.ndim:  # a 0-d result comes back as a scalar (softmax of one number: 1)
            y = xp.asarray(y)
        xp.exp(y, out=y)  # in place, as the division below
        y /= self._sum(y)
        self.saved = y
        return y

    def backward(self, g):  # ∂L/∂x = y ⊙ (g − Σ g ⊙ y), i.e. (diag(y) − y yᵀ) g
        y = self.saved
        if not y.ndim:  # softmax of one number is 1 whatever it is
            return (array_module(y).zeros_like(y),)
        mine = grad_is_yours(g)  # then into g itself: no new array to fetch and fill
        if self.axis in (-1, y.ndim - 1) and _native.rows_ok_with(g, y):
            # compiled: the formula, a row at a time
            return (_native.softmax_backward(g, y, out=g if mine else None),)
        if y.size >= _LARGE_SOFTMAX and self.axis in (-1, y.ndim - 1) and y.dtype.kind == "f":
            # Σ g ⊙ y as one contraction, no g ⊙ y array (attention's 16·4 × 64 × 64
            # scores: ~0.48 against ~0.59 ms; on small arrays einsum's set-up costs more)
            if mine and g.shape == y.shape and g.dtype == y.dtype:
                gx = g
                gx -= _row_dots(g, y)
            else:
                gx = g - _row_dots(g, y)
            gx *= y
            return (gx,)
        gx = g * y
        s = self._sum(gx)  # Σ g ⊙ y, then gx's buffer is reused for y ⊙ (g − Σ g ⊙ y)
        array_module(gx).subtract(g, s, out=gx)
        gx *= y
        return (gx,)

    def _sum(self, a):
        """Σ over the softmax axis, kept; over the last axis as one BLAS product."""
        if a.ndim and self.axis in (-1, a.ndim - 1) and a.dtype.kind == "f":
            return sum_last(a)
        return a.sum(axis=self.axis, keepdims=True)


class LogSoftmax(Function):
    """log softmax(x) = x − log Σ e^x along `axis`, shifted by the max for safety."""

    __slots__ = ("axis",)
    op_name = "log_softmax"
    may_broadcast = False

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def carries_infs(self, out, inputs) -> bool:
        # a −inf logit stays −inf (a masked entry); an inf elsewhere came from its own row
        xp = array_module(out)
        held = xp.isinf(inputs[0]).any(axis=self.axis, keepdims=True)
        return not bool((xp.isinf(out) & ~held).any())

    def forward(self, x):
        x = _as_float(x)
        if x.size == 0:  # nothing to normalise
            out = x.copy()
        elif x.dtype.itemsize < 4:  # float16: Σ exp over a long row overflows; in float32
            out = self.forward(x.astype(np.float32)).astype(x.dtype)
        else:
            z = x - x.max(axis=self.axis, keepdims=True)
            out = z - log(exp(z).sum(axis=self.axis, keepdims=True))
        self.saved = out
        return out

    def backward(self, g):  # ∂L/∂x = g − softmax(x) Σ g
        out = self.saved
        if g.dtype.itemsize < 4:  # float16: Σ g over a long row overflows; in float32
            g32, out32 = g.astype(np.float32), out.astype(np.float32)
            return ((g32 - exp(out32) * g32.sum(axis=self.axis, keepdims=True)).astype(g.dtype),)
        return (g - exp(out) * g.sum(axis=self.axis, keepdims=True),)


def padding_hint(lowest: int, highest: int, classes: int, ignore_index: int | None) -> str:
    """What to add to a loss's "target ids must lie in [0, V)" when nothing is ignored: the
    id out of range may be padding. PyTorch pads targets with −100, its default
    ignore_index, where this engine's default (None) ignores nothing."""
    if ignore_index is not None:
        return ""
    if lowest < 0:
        return (
            f"; if {lowest} marks padding, pass ignore_index={lowest} (the default, None, "
            "ignores nothing; PyTorch's is -100)"
        )
    if highest >= classes:
        return f"; if {highest} marks padding, pass ignore_index={highest}"
    return ""


class SoftmaxCrossEntropy(Function):
    """−log softmax(logits)[target] of each counted row: their mean (`reduction` "mean"),
    their sum ("sum"), or each row's own ("none": shape (N,), 0 at an ignored row);
    logits (N, V), targets (N,). With `label_smoothing` ε > 0 each row's target is the
    distribution (1 − ε) onehot + ε/V, and its loss (1 − ε)(−log p_target) + ε · mean_j
    (−log p_j), as PyTorch's.

    With class weights w (V,) (an array of the logits' backend), as PyTorch's: a row's loss
    is (1 − ε) w_target (−log p_target) + (ε/V) Σ_j w_j (−log p_j), and the mean divides
    the sum by Σ w_target over the counted rows (not by their number)."""

    __slots__ = ("targets", "ignore_index", "reduction", "label_smoothing", "weight")
    op_name = "cross_entropy"
    may_broadcast = False

    def __init__(
        self,
        targets,
        ignore_index: int | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        weight=None,
    ) -> None:
        self.targets, self.ignore_index, self.reduction = targets, ignore_index, reduction
        self.label_smoothing, self.weight = label_smoothing, weight

    def carries_infs(self, out, inputs) -> bool:
        # −inf logits are masks; an infinite loss means a target's own logit was −inf (or
        # the row overflowed): never carried, always an anomaly
        return False

    def forward(self, logits):
        if logits.dtype.kind == "f" and logits.dtype.itemsize < 4:  # float16: Σ exp over a
            # long row, or the sum and count of many rows, pass 65504; worked out in float32
            return self.forward(logits.astype(np.float32)).astype(logits.dtype)
        xp = array_module(logits)
        n, v = logits.shape
        t = self.targets
        keep = None if self.ignore_index is None else t != self.ignore_index
        if keep is not None:
            t = xp.where(keep, t, 0)
        if n and (int(t.min()) < 0 or int(t.max()) >= v):
            raise OpError(
                f"cross_entropy: target ids must lie in [0, {v}) for logits of shape "
                f"{tuple(logits.shape)}; got ids from {int(t.min())} to {int(t.max())}"
                f"{padding_hint(int(t.min()), int(t.max()), v, self.ignore_index)}"
            )
        shift = logits.max(axis=1, keepdims=True)
        if keep is None:
            z = logits - shift
        else:
            with np.errstate(invalid="ignore"):  # an ignored row of −inf logits: NaN, dropped
                z = logits - shift
        log_z = log(exp(z).sum(axis=1, keepdims=True))
        if self.weight is not None:
            return self._weighted_forward(z, log_z, t, keep)
        rows = xp.arange(n)
        nll = log_z[:, 0] - z[rows, t]  # −log p(target) = log Σ exp z − z_target
        eps = self.label_smoothing
        if eps:  # + ε · mean_j −log p_j = ε (log Σ exp z − mean_j z_j)
            nll = (1 - eps) * nll + eps * (log_z[:, 0] - z.mean(axis=1))
        count = n if keep is None else int(keep.sum())
        if keep is not None:  # (where, not × keep: an ignored row of −inf logits is NaN)
            nll = xp.where(keep, nll, 0)
        if self.reduction == "mean":
            self.saved = (z, log_z, t, keep, max(count, 1))
            return nll.sum() / max(count, 1)
        self.saved = (z, log_z, t, keep, 1)
        return nll.sum() if self.reduction == "sum" else nll

    def _weighted_forward(self, z, log_z, t, keep):
        """The loss with class weights w: each row's terms scaled by them, the mean over
        Σ w_target (a total weight of 0, every row ignored or weighted 0: a loss of 0)."""
        xp = array_module(z)
        n, v = z.shape
        w = self.weight.astype(z.dtype, copy=False)  # (float16 logits: float32 here)
        w_t = w[t]  # (N,) each row's target's weight, 0 where ignored
        if keep is not None:
            w_t = xp.where(keep, w_t, 0)
        nll = w_t * (log_z[:, 0] - z[xp.arange(n), t])  # w_target · −log p_target
        eps = self.label_smoothing
        if eps:  # + (ε/V) Σ_j w_j (−log p_j) = (ε/V) (Σ_j w_j · log Σ exp z − Σ_j w_j z_j)
            smooth = w.sum() * log_z[:, 0] - z @ w
            nll = (1 - eps) * nll + (eps / v) * smooth
        if keep is not None:  # (where, not × keep: an ignored row of −inf logits is NaN)
            nll = xp.where(keep, nll, 0)
        total_weight = 1
        if self.reduction == "mean":
            total_weight = w_t.sum()
            total_weight = total_weight + (total_weight == 0)  # 0 read as 1 (no host sync)
        self.saved = (z, log_z, t, keep, total_weight, w, w_t)
        if self.reduction == "none":
            return nll
        return nll.sum() / total_weight if self.reduction == "mean" else nll.sum()

    def backward(self, g):  # ∂L/∂logits = (softmax − onehot(target)) / count
        if self.weight is not None:
            return self._weighted_backward(g)
        z, log_z, t, keep, count = self.saved
        xp = array_module(z)
        d = exp(z - log_z)
        eps = self.label_smoothing
        if eps:  # − the smoothed target (1 − ε) onehot + ε/V
            d -= eps / z.shape[1]
            d[xp.arange(len(t)), t] -= 1 - eps
        else:
            d[xp.arange(len(t)), t] -= 1
        return self._scaled(d, g, keep, count)

    def _weighted_backward(self, g):
        # a row's ∂/∂z_j: p_j ((1 − ε) w_t + (ε/V) Σ_k w_k) − (1 − ε) w_t [j = t] − (ε/V) w_j
        z, log_z, t, keep, total_weight, w, w_t = self.saved
        xp = array_module(z)
        d = exp(z - log_z)
        eps, v = self.label_smoothing, z.shape[1]
        if eps:
            d *= ((1 - eps) * w_t + (eps / v) * w.sum())[:, None]
            d -= (eps / v) * w
            d[xp.arange(len(t)), t] -= (1 - eps) * w_t
        else:
            d *= w_t[:, None]
            d[xp.arange(len(t)), t] -= w_t
        return self._scaled(d, g, keep, total_weight)

    def _scaled(self, d, g, keep, count):
        """The gradient `d` of each row's loss times the incoming `g`: each row's own g
        for reduction "none", g / count for the mean (count 1 for the sum)."""
        xp = array_module(d)
        if g.ndim:  # reduction "none": each row scaled by its own loss's gradient
            d *= g.astype(d.dtype)[:, None]
        else:
            d *= g.astype(d.dtype) / count  # (a float16 g: 1/count in float32, not subnormal)
        if keep is not None:  # in place; copyto, not d[~keep] = 0: no sync on a GPU (and
            xp.copyto(d, 0, where=~keep[:, None])  # after the scaling: an ignored row's
            # gradient is 0 even where its g is inf or NaN)
        logits_dtype = self.parents[0].data.dtype
        return (d if d.dtype is logits_dtype else d.astype(logits_dtype),)


class SigmoidBinaryCrossEntropy(Function):
    """−[t log σ(x) + (1 − t) log(1 − σ(x))] of each element: their mean (`reduction`
    "mean"), their sum ("sum"), or each element's own ("none", x's shape); logits x and
    targets t of one shape. Worked out as max(x, 0) − x t + log1p(e^−|x|): the same
    value, and e^−|x| ≤ 1 never overflows, nor does log1p round a small e^−|x| to 0."""

    __slots__ = ("reduction",)
    op_name = "binary_cross_entropy_with_logits"
    may_broadcast = False  # (one shape, checked by the caller; dtypes fitted below)

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, x, t):
        if x.dtype.itemsize < 4:  # float16: the sum of many elements passes 65504; in float32
            out_dtype = np.result_type(x.dtype, t.dtype)
            return self.forward(x.astype(np.float32), t.astype(np.float32)).astype(out_dtype)
        e = exp(-abs(x))  # e^−|x| in (0, 1]
        loss = maximum(x, 0) - x * t + log1p(e)
        self.saved = (x, t, e)
        if self.reduction == "mean":
            return loss.mean()
        return loss.sum() if self.reduction == "sum" else loss

    def backward(self, g):  # ∂L/∂x = (σ(x) − t) / n, ∂L/∂t = −x / n (n = 1 but for "mean")
        x, t, e = self.saved
        px, pt = self.parents
        xp = array_module(x)
        scale = g.astype(x.dtype)  # (in x's dtype: a float16 g over a large n is subnormal)
        if self.reduction == "mean":
            scale = scale / x.size
        gx = gt = None
        if px._requires_grad:  # σ(x) − t from e = e^−|x|: σ is 1/(1 + e) for x ≥ 0, e/(1 + e)
            # below; over the common 1 + e, so that σ(30) − 1 keeps its −e^−30 (as 1/(1 + e)
            # − 1 it would be 0 in float32)
            u = 1 - t
            sigma_minus_t = xp.where(x >= 0, u - t * e, u * e - t) / (1 + e)
            gx = _in_dtype(sigma_minus_t * scale, px.data.dtype)
        if pt._requires_grad:
            gt = _in_dtype(-x * scale, pt.data.dtype)
        return gx, gt


class RNNStep(Function):
    """h_t = tanh(h_{t−1} W + x_t U + b): a vanilla RNN step as one node.

    The same math as five primitives (two matmuls, two adds, tanh), but one graph node per
    time step: on a 1000-step RNN with hidden size 32 it runs ~1.3–1.5× faster and its
    graph holds ~5× less memory (benchmarks W4 and W4-fused). h (B, H), x (B, I), W (H, H'),
    U (I, H'), b (H',).
    """

    __slots__ = ()
    op_name = "rnn_step"
    fresh_grads = True  # all five are new arrays (b's is summed over the batch)

    def forward(self, h, x, W, U, b):
        # the shapes checked through the products' (fewer tests than the five inputs',
        # on a node that runs every step): each (B, H'), with a bias of H' (or 1) values
        try:
            pre = _product(h, W)
            from_x = _product(x, U)
            shape = pre.shape
            fits = len(shape) == 2 and from_x.shape == shape and b.ndim == 1
            fits = fits and b.shape[0] in (shape[1], 1)
        except (ValueError, IndexError, TypeError):  # inner sizes differ, or a rank is not 2
            fits = False
        if not fits:
            raise OpError(
                f"rnn_step: expected h (B, H), x (B, I), W (H, H'), U (I, H'), b (H',); got "
                f"shapes {h.shape}, {x.shape}, {W.shape}, {U.shape}, {b.shape}"
            )
        pre += from_x  # in place: the pre-activation is not kept (backward needs h_t)
        pre += b
        h_t = tanh(pre, out=pre)
        # backward's other inputs are the parents' arrays: saving only h_t, not a tuple of
        # five, keeps ~80 bytes less per step of a long unroll. The price: a weight whose
        # .data is rebound between the forward and the backward (load_state_dict, W.data =
        # ...) is read as it is then, where the other ops keep the forward's arrays (a
        # change in place, as an optimiser step makes, stops every op's backward alike:
        # autograd.changed_in_place)
        self.saved = h_t
        return h_t

    def backward(self, g):  # with a = pre-activation: ∂L/∂a = g ⊙ (1 − h_t²)
        h_t = self.saved
        ph, px, pW, pU, pb = self.parents
        h, x, W, U = ph.data, px.data, pW.data, pU.data
        g_h2 = h_t * h_t
        g_h2 *= g
        da = g - g_h2  # g (1 − h_t²) as g − g h_t², as in Tanh
        return (
            _product(da, W.T) if ph._requires_grad else None,  # ∂L/∂h_{t−1} = ∂L/∂a Wᵀ
            _product(da, U.T) if px._requires_grad else None,  # ∂L/∂x_t = ∂L/∂a Uᵀ
            _product(h.T, da) if pW._requires_grad else None,  # ∂L/∂W = h_{t−1}ᵀ ∂L/∂a
            _product(x.T, da) if pU._requires_grad else None,  # ∂L/∂U = x_tᵀ ∂L/∂a
            da if pb._requires_grad else None,  # summed over the batch by the engine
        )


_LONG_ROW = 4096  # elements: longer rows are summed by BLAS, which rounds better


def _row_dots(a, b):
    """Σ over the last axis of a ⊙ b, keeping it: one contraction (~35 µs for 1024 rows of
    128 floats) where a product and a sum make and read a temporary (~70 µs). einsum adds a
    float32 row up one term at a time (relative error ~1e-6 at 65,536 terms, ~6e-5 at 10⁶,
    against ~1e-7 for BLAS's blocked sums), so long rows take the product and BLAS sum."""
    if a.shape[-1] > _LONG_ROW:
        return sum_last(a * b)
    return array_module(a).einsum("...i,...i->...", a, b)[..., None]


class LayerNorm(Function):
    """y = gain ⊙ (x − μ)/√(var + ε) + bias over the last axis."""

    __slots__ = ("eps",)
    op_name = "layer_norm"

    def __init__(self, eps: float = 1e-5) -> None:
        self.eps = eps

    # Means over the last axis are sums as BLAS products (backend.sum_last), ×1/D.
    def forward(self, x, gain, bias):
        x = _as_float(x)  # integers and booleans: their row sums would wrap or OR
        if x.dtype.kind == "f" and x.dtype.itemsize < 4:  # float16: its row sums overflow
            # past 65504; worked out in float32 (backward's float32 gradients are cast back
            # by the engine), the result in the dtype NumPy's promotion gives
            out_dtype = np.result_type(x.dtype, gain.dtype, bias.dtype)
            f32 = np.float32
            return self.forward(x.astype(f32), gain.astype(f32), bias.astype(f32)).astype(out_dtype)
        if _native.rows_ok(x) and _native.rows_ok(gain) and _native.rows_ok(bias):
            d = x.shape[-1]
            if gain.shape == bias.shape == (d,) and gain.dtype == bias.dtype == x.dtype:
                # compiled: one pass a row (_native.py), the same math as below. Saves x
                # and μ, not x̂ (made again in backward): an array fewer to write and keep.
                # Like every op that keeps its inputs (Mul, MatMul), it then reads x as it
                # is at backward: x changed in place in between (an optimiser step between
                # two backwards of one graph) reaches it, where the NumPy path's x̂ would not
                y, mean, rstd = _native.layer_norm_forward(x, gain, bias, self.eps)
                self.saved = (x, rstd, gain, mean)
                return y
        inv_d = 1.0 / x.shape[-1]
        mu = sum_last(x) * inv_d
        x_hat = x - mu
        var = _row_dots(x_hat, x_hat) * inv_d
        rstd = 1.0 / sqrt(var + self.eps)
        x_hat *= rstd  # x̂ = (x − μ)/√(var + ε), in place
        self.saved = (x_hat, rstd, gain)
        y = x_hat * gain
        if np.result_type(y, bias) != y.dtype:  # a wider bias: NumPy's promotion, as a
            return y + bias  # wider gain gets (+= would round it to y's dtype)
        y += bias
        return y

    def backward(self, g):
        if len(self.saved) == 4:  # after the compiled forward: x, 1/√(var + ε), gain, μ
            return self._compiled_backward(g)
        return self._backward(g, *self.saved)

    def _backward(self, g, x_hat, rstd, gain):
        if g.dtype.itemsize < x_hat.dtype.itemsize:  # a float16 forward, worked out in
            g = g.astype(x_hat.dtype)  # float32 (a wider g, as from a float64 gain on
            # float32 x, is kept: its gain's gradient keeps float64's digits)
        px, pg, pb = self.parents
        gx = None
        if px._requires_grad:  # ∂L/∂x = (ĝ − mean ĝ − x̂ mean(ĝ ⊙ x̂)) / √(var + ε), ĝ = g ⊙ gain
            inv_d = 1.0 / g.shape[-1]
            gx = g * gain  # ĝ, then turned into ∂L/∂x in place
            mean_g_x = _row_dots(gx, x_hat) * inv_d
            gx -= sum_last(gx) * inv_d
            gx -= x_hat * mean_g_x
            gx *= rstd
        g_gain = None
        if pg._requires_grad:  # Σ over rows of g ⊙ x̂
            if gain.ndim == 1 and g.shape == x_hat.shape:  # one contraction, no product array
                d = x_hat.shape[-1]
                g_gain = array_module(g).einsum("ij,ij->j", g.reshape(-1, d), x_hat.reshape(-1, d))
            else:
                g_gain = g * x_hat  # summed to the gain's shape by the engine
        return gx, g_gain, (g if pb._requires_grad else None)

    def _compiled_backward(self, g):
        """The backward above, one pass a row (_native.py), after a compiled forward."""
        x, rstd, gain, mean = self.saved
        if g.dtype != x.dtype or not _native.enabled:  # (a wider g keeps its digits, a
            # float16 one is widened: the NumPy path, given the x̂ it would have saved)
            x_hat = (x - mean[..., None]) * rstd[..., None]
            return self._backward(g, x_hat, rstd[..., None], gain)
        px, pg, pb = self.parents
        mine = grad_is_yours(g)  # then ∂L/∂x into g itself (autograd.grad_is_yours)
        if not (g.flags.c_contiguous and g.flags.aligned):  # (a mean's gradient arrives
            g = np.require(g, requirements="CA")  # broadcast, stride 0): a copy, the rows
            mine = True  # (the copy is ours)
        gx, g_gain, g_bias = _native.layer_norm_backward(  # the bias's in the same pass
            g, x, mean, rstd, gain, pg._requires_grad, pb._requires_grad, out=g if mine else None
        )
        return (gx if px._requires_grad else None), g_gain, g_bias
