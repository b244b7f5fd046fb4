"""Optimisers: SGD (with momentum, dampening, Nesterov), Adam, AdamW, gradient clipping (by
norm and by value), and learning-rate schedules (StepLR, ExponentialLR, CosineAnnealingLR,
LambdaLR), each with PyTorch's semantics.

Updates run in place on each parameter's array, outside the graph. `state_dict()` and
`load_state_dict()` carry an optimizer's settings and per-weight state (momentum, running
means, step counts), and a schedule's position, across a checkpoint, so training resumes
exactly.
"""

from __future__ import annotations

import copy
import math
import numbers
import operator
from collections.abc import Callable, Iterable

import numpy as np

from . import backend
from ._checks import as_bool, as_float, as_int
from ._hints import missing_name
from .autograd import changed_in_place
from .backend import array_module, backend_of, to_backend, to_numpy
from .tensor import Tensor, clear_grads


def _param_list(params: Iterable[Tensor], who: str) -> list[Tensor]:
    """The parameters as a list, each once (a weight listed twice must not step twice).
    Frozen ones (requires_grad=False) are kept, as long as some are not: they get no
    gradient, so no step."""
    if isinstance(params, Tensor):
        raise TypeError(
            f"{who}: expected an iterable of parameters (e.g. model.parameters()), "
            "got a single Tensor; wrap it in a list"
        )
    if callable(getattr(params, "parameters", None)):  # Adam(model)
        raise TypeError(f"{who}: got a {type(params).__name__}; pass model.parameters()")
    if callable(params):  # Adam(model.parameters)
        raise TypeError(f"{who}: got a method or function; call it: model.parameters()")
    unique: dict[int, Tensor] = {}
    for p in params:
        if not isinstance(p, Tensor):
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[1], Tensor):
                raise TypeError(  # (name, weight) pairs: PyTorch's param groups are not here
                    f"{who}: got (name, weight) pairs, as model.named_parameters() gives; pass "
                    "model.parameters() (the weights alone)"
                )
            raise TypeError(f"{who}: every parameter must be a Tensor, got {type(p).__name__}")
        if p._ctx is not None:  # only leaves accumulate a gradient
            raise TypeError(
                f"{who}: a parameter must be a leaf (a weight), not a tensor computed by '{p.op}'"
            )
        unique.setdefault(id(p), p)
    if not unique:
        raise ValueError(f"{who}: got an empty parameter list")
    if not any(p.requires_grad for p in unique.values()):  # a forgotten requires_grad=True?
        raise TypeError(
            f"{who}: no parameter has requires_grad=True: nothing would ever get a gradient "
            "(make weights with requires_grad=True, or nn.Parameter)"
        )
    return list(unique.values())


def _positive(value, what: str) -> float:
    """`value` as a Python float (a NumPy number or 0-d array too: a NumPy float64 times a
    float32 array would make float64 arrays), or a ValueError unless it is finite and > 0
    (a TypeError unless a number)."""
    number = as_float(value, what)
    if not 0 < number < math.inf:
        raise ValueError(f"{what} must be a finite number > 0, got {value}")
    return number


def _checked_weight_decay(value, who: str) -> float:
    """`value` as a weight decay: a float >= 0 (a Python float, so that a 0-d array cannot
    meet a CuPy weight in the step), or a ValueError (a TypeError unless a number)."""
    decay = as_float(value, f"{who}: weight_decay")
    if not 0.0 <= decay < math.inf:
        raise ValueError(
            f"{who}: weight_decay must be a finite number >= 0 (0 turns it off), got {value}"
        )
    return decay


def _checked_lr(value, who: str, name: str = "lr") -> float:
    """`value` as a learning rate set after the optimizer was made (by hand or by a
    schedule): a Python float >= 0 (0, where a cosine schedule ends, freezes the weights),
    or a ValueError (a TypeError unless a number)."""
    lr = as_float(value, f"{who}: {name}")
    if not 0.0 <= lr < math.inf:
        raise ValueError(f"{who}: {name} must be a finite number >= 0, got {value}")
    return lr


def _checked_initial_lr(value, who: str) -> float | None:
    """`value` as the starting lr of the optimizer's schedules: None (no schedule yet) or a
    learning rate."""
    return None if value is None else _checked_lr(value, who, "initial_lr")


def _checked_momentum(value, who: str) -> float:
    """`value` as SGD's momentum: a float in [0, 1)."""
    momentum = as_float(value, f"{who}: momentum")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"{who}: momentum must be in [0, 1), got {value}")
    return momentum


def _checked_dampening(value, who: str) -> float:
    """`value` as SGD's dampening: a float in [0, 1]."""
    dampening = as_float(value, f"{who}: dampening")
    if not 0.0 <= dampening <= 1.0:
        raise ValueError(
            f"{who}: dampening must be in [0, 1] (the share of each gradient kept out of "
            f"the momentum; 0 for none), got {value}"
        )
    return dampening


def _checked_betas(value, who: str) -> tuple[float, float]:
    """`value` as Adam's betas: a pair of floats in [0, 1)."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{who}: betas must be a pair (β1, β2), e.g. (0.9, 0.999), got {value!r}")
    b1, b2 = (as_float(b, f"{who}: each of betas") for b in value)
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
        raise ValueError(f"{who}: betas must be in [0, 1), got {value}")
    return b1, b2


def _setting(name: str, check: Callable, doc: str) -> property:
    """An optimizer setting read and set as an attribute (`opt.lr = 1e-4`, as PyTorch's
    `param_groups[0]["lr"] = 1e-4`), each value set checked by `check(value, class name)`
    and kept, as Python numbers, in the slot `_name`, which `step()` reads (so a check costs
    nothing there). `state_dict()` saves it under `name`."""
    slot = "_" + name

    def get(self):
        return getattr(self, slot)

    def set_(self, value) -> None:  # (setattr, not __dict__[...], which would make CPython
        # keep the attributes in a plain dict, and every read of them in step() slower)
        setattr(self, slot, check(value, type(self).__name__))

    get.__doc__ = doc
    return property(get, set_, doc=doc)


class Optimizer:
    """Holds the parameters; `zero_grad()` clears their gradients."""

    # settings a class gained after its checkpoints were first written, with the value
    # that an older checkpoint, which lacks them, meant
    _added_settings: dict = {}

    lr = _setting(
        "lr",
        _checked_lr,
        'The learning rate (PyTorch\'s `param_groups[0]["lr"]`): set by hand or by a schedule, '
        "it is checked (a number >= 0) and kept as a Python float, as the constructor's.",
    )
    initial_lr = _setting(
        "initial_lr",
        _checked_initial_lr,
        "The lr the first schedule made on the optimizer started from (PyTorch's "
        '`"initial_lr"`), the base of every later one; None before any.',
    )

    # the names of the instance's attributes, in the order first set (see __setattr__)
    _names: tuple[str, ...] = ()

    def __setattr__(self, name: str, value) -> None:
        # Each attribute's name is noted, for state_dict and load_state_dict to go through
        # rather than vars(self): on CPython 3.11, reading an instance's __dict__ turns its
        # attributes into a dict for good, and every later read of one (step() reads its
        # settings and state lists) ~2.5x slower; Adam's step ran ~2.5 % slower after a
        # checkpoint. (A setting, a property, sets its slot: that name is noted.)
        if name not in self._names and not isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, "_names", (*self._names, name))  # (a copy's stays its own)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        object.__setattr__(self, "_names", tuple(n for n in self._names if n != name))

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        lr = _positive(lr, f"{type(self).__name__}: learning rate")
        self.params = _param_list(params, type(self).__name__)
        self.lr = lr
        # saved with the optimizer, so that a schedule can resume from it with last_epoch=
        self.initial_lr = None

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient before the next backward.

        `.grad = None` (as PyTorch's default), or with `set_to_none=False` zeros written into the
        arrays."""
        clear_grads(self.params, set_to_none, f"{type(self).__name__}.zero_grad")

    @property
    def param_groups(self):
        """PyTorch's groups of settings: an AttributeError that says to use `opt.lr`."""
        raise AttributeError(
            f"{type(self).__name__} has no param_groups: its weights share one group of "
            "settings, read and set as attributes (opt.lr = 1e-4); a schedule such as "
            "ts.optim.StepLR sets opt.lr for you"
        )

    def step(self) -> None:  # pragma: no cover - abstract
        """One update of every parameter from its `.grad`; each optimizer defines it."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """A copy of everything the optimizer holds but its weights.

        It holds its settings (`lr`, `momentum`, `betas`, ...) and its per-weight state (a list with
        one entry per weight: momentum, running means, step counts), by attribute name, arrays as
        NumPy copies. Pickle it beside the model's weights; `load_state_dict` resumes from it. A
        subclass's own attributes come along the same way."""
        state = {"optimizer": type(self).__name__}
        for key in self._names:  # (not vars(self): see __setattr__)
            if key != "params":
                state[self._saved_name(key)] = _copied(getattr(self, key), to_numpy)
        return state

    def _saved_name(self, key: str) -> str:
        """The name an attribute is saved under: a setting's, not its slot's (`lr`, not `_lr`)."""
        name = key[1:]
        return (
            name
            if key[:1] == "_" and isinstance(getattr(type(self), name, None), property)
            else key
        )

    def load_state_dict(self, state: dict) -> Optimizer:
        """Take the settings and per-weight state of `state_dict()`; returns the optimizer.

        The state must come from an optimizer of the same class over weights of the same number and
        shapes (each checked first: a bad state leaves this one untouched). Each weight's state
        goes to that weight's backend."""
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict) or "optimizer" not in state:
            raise TypeError(f"{who}: expected the dict of an optimizer's state_dict()")
        if state["optimizer"] != type(self).__name__:
            raise TypeError(
                f"{who}: the state is {state['optimizer']}'s, not {type(self).__name__}'s"
            )
        mine = {self._saved_name(key) for key in self._names if key != "params"}
        added = self._added_settings
        if "initial_lr" in mine:  # (older checkpoints: no schedule's starting lr)
            added = {"initial_lr": None, **added}
        state = {**added, **state}
        theirs = set(state) - {"optimizer"}
        if mine != theirs:
            raise ValueError(
                f"{who}: the state holds {sorted(theirs)}, this optimizer {sorted(mine)}"
            )
        n = len(self.params)
        # set first on a copy (a bad state leaves this one untouched), made attribute by
        # attribute: copy.copy would read vars(self) (see __setattr__)
        loaded = object.__new__(type(self))
        for key in self._names:
            setattr(loaded, key, getattr(self, key))
        for key in sorted(mine):
            value, current = state[key], getattr(self, key)
            if isinstance(current, list) and len(current) == n:  # per-weight state
                if not isinstance(value, list) or len(value) != n:
                    size = len(value) if isinstance(value, list) else type(value).__name__
                    raise ValueError(f"{who}: {key!r} holds {size} entries, for {n} weights")
                value = [
                    _loaded_entry(v, c, p, f"{who}: {key}[{k}]")
                    for k, (v, c, p) in enumerate(zip(value, current, self.params, strict=True))
                ]
            else:
                value = _plain_numbers(_copied(value, lambda a: a.copy()))
            setattr(loaded, key, value)  # (a setting is checked as when set by hand)
        for key in loaded._names:
            setattr(self, key, getattr(loaded, key))
        return self


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as torch.optim.SGD.

        g ← ∇θ + weight_decay · θ          (L2 regularisation added to the gradient)
        v ← momentum · v + (1 − dampening) · g    (v = g at a weight's first step)
        θ ← θ − lr · v                      (nesterov: θ ← θ − lr · (g + momentum · v))

    momentum 0 (the default) is plain θ ← θ − lr · g. `dampening` in [0, 1] scales the
    gradient's share of v (not at the first step, as PyTorch's); `nesterov=True` looks ahead
    along v, and needs momentum > 0 and dampening 0, as PyTorch's does."""

    # (checkpoints written before these settings hold none of them: plain momentum)
    _added_settings = {"weight_decay": 0.0, "dampening": 0.0, "nesterov": False}
    # (set by hand, each is checked alone, as the constructor checks it; nesterov's need of
    # momentum > 0 and dampening 0 is the constructor's, as PyTorch's)
    momentum = _setting("momentum", _checked_momentum, "The momentum, in [0, 1).")
    dampening = _setting(
        "dampening", _checked_dampening, "The share of each gradient kept out of v, in [0, 1]."
    )
    nesterov = _setting(
        "nesterov",
        lambda value, who: as_bool(value, f"{who}: nesterov"),
        "Whether the step looks ahead along v (True or False).",
    )
    weight_decay = _setting(
        "weight_decay", _checked_weight_decay, "The L2 penalty λ added as λθ to the gradient."
    )

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        momentum = _checked_momentum(momentum, "SGD")
        dampening = _checked_dampening(dampening, "SGD")
        nesterov = as_bool(nesterov, "SGD: nesterov")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening 0, got momentum "
                f"{momentum} and dampening {dampening}; give a momentum such as 0.9, or "
                "leave nesterov off"
            )
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
        self.weight_decay = weight_decay  # (checked as it is set)
        self.velocity: list = [None] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its `.grad` (parameters without one are skipped)."""
        lr, momentum, weight_decay = self._lr, self._momentum, self._weight_decay
        dampening, nesterov = self._dampening, self._nesterov
        live = [k for k, p in enumerate(self.params) if p.grad is not None]
        _check_steppable(self.params, live, self.velocity, "momentum (velocity)", "SGD")
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = _checked_grad(p, "SGD")
            if weight_decay:  # ∇(½ λ‖θ‖²) = λθ (a new array: .grad stays the loss's)
                g = g + weight_decay * p.data
            if momentum:
                v = _on_backend_of(self.velocity[k], p.data)
                if v is None:  # (the first step: v = g, undamped, as PyTorch's)
                    v = g.copy()
                elif dampening:
                    v = v * momentum + (1 - dampening) * g
                else:
                    v = v * momentum + g
                self.velocity[k] = v
                g = g + momentum * v if nesterov else v
            p.data -= lr * g
            changed_in_place(p)


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected running means of g and g².

    Here g = ∇θ + weight_decay · θ (L2 regularisation added to the gradient, as in PyTorch).

    Each parameter counts its own steps, the ones where it had a gradient (as PyTorch
    does): a weight first used late gets a full first update, not one damped by the bias
    corrections of steps it sat out.
    """

    _added_settings = {"weight_decay": 0.0}
    betas = _setting("betas", _checked_betas, "The running means' decays (β1, β2), each in [0, 1).")
    eps = _setting(  # (eps = 0 divides 0 by 0 for a zero gradient)
        "eps",
        lambda value, who: _positive(value, f"{who}: eps"),
        "The term added to √v̂ in the step's denominator, > 0.",
    )
    weight_decay = _setting(
        "weight_decay",
        _checked_weight_decay,
        "λ: Adam adds λθ to the gradient, AdamW shrinks θ by lr · λ at each step.",
    )
    # AdamW: the decay shrinks θ itself, apart from the running means (a class setting, so
    # that a state_dict names the class, not a flag)
    decoupled_weight_decay = False
    # the running means of each group of weights stepped together, as flat arrays (see
    # _flat_states)
    _flat: tuple[_FlatState, ...] = ()

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay  # (each checked)
        self.m: list = [None] * len(self.params)
        self.v: list = [None] * len(self.params)
        self.steps = [0] * len(self.params)  # per parameter: the steps it had a gradient

    def step(self) -> None:
        """One update of every parameter from its `.grad` (parameters without one are skipped).

        Weights alike (one dtype, one backend, the same count of steps: every weight of a model
        trained from the start) are updated together, over one flat array holding all their
        numbers: one pass of NumPy calls, not one per weight (for the dozen small weights of
        a demo's LSTM, 0.4x the time), with the same arithmetic on each number. After a weight
        sat a step out, the others go on together, and it alone (or with others of its count)."""
        who, lr = type(self).__name__, self._lr
        weight_decay, decoupled = self._weight_decay, self.decoupled_weight_decay
        live = [k for k, p in enumerate(self.params) if p.grad is not None]
        grads = [_checked_grad(self.params[k], who) for k in live]  # (all before any moves)
        _check_steppable(self.params, live, self.m, "running means (m, v)", who)
        for i, k in enumerate(live):
            p = self.params[k]
            if weight_decay and not decoupled:  # ∇(½ λ‖θ‖²) = λθ, into the running means
                # (a new array: .grad stays the loss's; an array, where NumPy gives a 0-d sum
                # as a scalar)
                grads[i] = array_module(p.data).asarray(grads[i] + weight_decay * p.data)
            if self.m[k] is None:
                xp = array_module(p.data)
                self.m[k] = xp.zeros_like(p.data)
                self.v[k] = xp.zeros_like(p.data)
            else:  # (the model moved to the other backend since: its state goes with it)
                self.m[k] = _on_backend_of(self.m[k], p.data)
                self.v[k] = _on_backend_of(self.v[k], p.data)
            self.steps[k] += 1
        groups = self._groups(live, grads)
        steps: list = [None] * len(live)
        for flat, group in zip(self._flat_states(groups, live), groups, strict=True):
            if flat is None:  # a weight unlike every other: its own arithmetic
                i, k = group[0], live[group[0]]
                steps[i] = self._step_of(self.m[k], self.v[k], grads[i], self.steps[k])
                continue
            # one update over the flat arrays, each weight's share a view
            xp = array_module(flat.m)
            g = xp.concatenate([grads[i] for i in group], axis=None)
            step = self._step_of(flat.m, flat.v, g, self.steps[flat.live[0]])
            for i, (span, shape) in zip(group, flat.shares, strict=True):
                steps[i] = step[span].reshape(shape)
        for k, step in zip(live, steps, strict=True):
            p = self.params[k]
            if weight_decay and decoupled:  # θ ← θ (1 − lr λ), then Adam's step
                p.data *= 1 - lr * weight_decay
            p.data -= step.astype(p.data.dtype, copy=False)
            changed_in_place(p)

    def _step_of(self, m, v, g, t: int):
        """Adam's step (lr / (1 − β1ᵗ)) m / (√(v / (1 − β2ᵗ)) + eps) for gradient g at the
        weight's step t, after the running means m and v take g in (in place)."""
        (b1, b2), lr, eps = self._betas, self._lr, self._eps
        correction1, correction2 = 1 - b1**t, 1 - b2**t
        m *= b1
        m += (1 - b1) * g  # m ← β1 m + (1 − β1) g
        v *= b2
        v += (1 - b2) * (g * g)  # v ← β2 v + (1 − β2) g²
        return (lr / correction1) * m / ((v / correction2) ** 0.5 + eps)

    def _groups(self, live: list[int], grads: list) -> list[list[int]]:
        """The weights `live` (by their positions in it) in groups that one flat update can
        step each: one array class and dtype for gradient and running means (no number
        computed in another precision), and one step count (one bias correction).

        Groups keep the order of `live`; a weight unlike every other is a group of one. (The
        weight's own array needs no check: its gradient and running means are on its backend
        by now, and each weight's step is cast to its dtype apart.)"""
        groups: dict = {}
        steps, ms, vs = self.steps, self.m, self.v
        last_cls = last_dtype = last_t = last_group = None
        for i, k in enumerate(live):
            g, m, v, t = grads[i], ms[k], vs[k], steps[k]
            cls, dtype, shape = g.__class__, g.dtype, g.shape
            if not (
                m.__class__ is cls
                and v.__class__ is cls
                and m.dtype == dtype
                and v.dtype == dtype
                and m.shape == shape
                and v.shape == shape
            ):
                groups[i] = [i]  # (a key no other weight has: a group of its own)
            elif cls is last_cls and dtype == last_dtype and t == last_t:
                last_group.append(i)  # (as the weight before: no key to hash, ~0.15 µs a weight)
            else:
                last_cls, last_dtype, last_t = cls, dtype, t
                last_group = groups.setdefault((cls, dtype, t), [])
                last_group.append(i)
        return list(groups.values())

    def _flat_states(self, groups: list[list[int]], live: list[int]) -> list[_FlatState | None]:
        """For each group of two or more weights, their running means as one flat array each
        (every weight's entry of `m` and `v` a view into them); None for a group of one.

        A group's flat arrays of the last step serve again while it has the same weights and
        every entry is still their view, so in steady training nothing is copied. Otherwise
        new ones are made from the running means so far (after a weight sat a step out, or a
        `load_state_dict`), and the old arrays are let go: a weight that held a view of them
        and is in no new group gets a compact copy of its own share, so that no view keeps
        the whole old array alive."""
        old = {flat.live: flat for flat in self._flat}
        kept: list[_FlatState] = []
        states: list[_FlatState | None] = []
        changed = False
        for group in groups:
            if len(group) < 2:
                states.append(None)
                continue
            members = tuple([live[i] for i in group])
            flat = old.pop(members, None)
            if flat is None or not flat.holds(self.m, self.v):
                flat = _FlatState.of(members, self.m, self.v)
                changed = True
            kept.append(flat)
            states.append(flat)
        for flat in old.values():  # (arrays no group steps now: let them go)
            flat.release(self.m, self.v)
            changed = True
        if changed:
            object.__setattr__(self, "_flat", tuple(kept))  # (not noted: not a setting nor saved)
        return states

    def __getstate__(self) -> dict:
        # A copy (copy.deepcopy, pickle) of the views of the flat running means would be arrays
        # of their own, apart from the copied flat arrays: it makes its own from them instead.
        state = self.__dict__.copy()
        state.pop("_flat", None)
        return state


class _FlatState:
    """Adam's running means of a group of weights alike, as one flat array each (`m`, `v`):
    `live` (the weights' indices, a tuple), each weight's view of them (`m_views`, `v_views`:
    its entries of Adam's `m` and `v`) and its share of them (`shares`: a slice and the
    weight's shape)."""

    __slots__ = ("live", "m", "v", "m_views", "v_views", "shares")

    def __init__(self, live: tuple[int, ...], m, v) -> None:
        self.live, self.m, self.v = live, m, v
        self.m_views: list = []
        self.v_views: list = []
        self.shares: list[tuple[slice, tuple[int, ...]]] = []

    @classmethod
    def of(cls, live: tuple[int, ...], m: list, v: list) -> _FlatState:
        """The running means `m[k]`, `v[k]` of the weights `live` copied into new flat arrays,
        each entry of `m` and `v` then replaced by its view of them."""
        xp = array_module(m[live[0]])
        flat = cls(
            live,
            xp.concatenate([m[k] for k in live], axis=None),
            xp.concatenate([v[k] for k in live], axis=None),
        )
        start = 0
        for k in live:  # each weight's share of the flat arrays, in its shape
            span, shape = slice(start, start + m[k].size), m[k].shape
            m[k], v[k] = flat.m[span].reshape(shape), flat.v[span].reshape(shape)
            flat.m_views.append(m[k])
            flat.v_views.append(v[k])
            flat.shares.append((span, shape))
            start = span.stop
        return flat

    def holds(self, m: list, v: list) -> bool:
        """Whether every weight's entry of `m` and `v` is still its view of these arrays (a
        `load_state_dict` or an entry set by hand, say, replaces it)."""
        # (map over C functions: this runs at every step, for every weight)
        return all(map(operator.is_, map(m.__getitem__, self.live), self.m_views)) and all(
            map(operator.is_, map(v.__getitem__, self.live), self.v_views)
        )

    def release(self, m: list, v: list) -> None:
        """Give each weight still holding a view of these arrays a copy of its share, so that
        the flat arrays are freed once no group steps them."""
        for k, m_view, v_view in zip(self.live, self.m_views, self.v_views, strict=True):
            if m[k] is m_view:
                m[k] = m_view.copy()
            if v[k] is v_view:
                v[k] = v_view.copy()


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): Adam whose weight decay shrinks the weight itself.

    The decay is θ ← θ (1 − lr · λ) at each step, apart from the running means (decoupled, as
    torch.optim.AdamW). Adam's weight_decay adds λθ to the gradient instead, where the division by
    √v scales it down for weights with large gradients."""

    _added_settings: dict = {}  # (AdamW always had weight_decay)
    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


def _copied(value, copy_array):
    """`value` with every array in it (inside lists, tuples, dicts) replaced by
    `copy_array(array)`; anything else deep-copied."""
    if isinstance(value, backend.ARRAY_TYPES):
        return copy_array(value)
    if isinstance(value, list | tuple):
        return type(value)(_copied(v, copy_array) for v in value)
    if isinstance(value, dict):
        return {k: _copied(v, copy_array) for k, v in value.items()}
    return copy.deepcopy(value)


def _plain_numbers(value):
    """A setting with NumPy numbers (a checkpoint written before settings were read as Python
    floats may hold a float64 lr or momentum, or a 0-d array lr) made Python numbers, also
    inside a tuple (betas): a NumPy float64 would make a float32 weight's state float64."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain_numbers(v) for v in value)
    return value


def _loaded_entry(value, current, weight: Tensor, where: str):
    """One weight's saved state, checked and put on the weight's backend: an array must have
    the shape of the entry it replaces (the weight's, where that is not an array yet); the
    arrays in a list, tuple or dict (a subclass's entry) go to that backend too."""
    if not isinstance(value, backend.ARRAY_TYPES):
        return _copied(value, lambda a: to_backend(a, backend_of(weight.data)))
    shape = current.shape if isinstance(current, backend.ARRAY_TYPES) else weight.shape
    if tuple(value.shape) != tuple(shape):
        raise ValueError(
            f"{where} has shape {tuple(value.shape)}, where {tuple(shape)} is expected (a "
            "state saved for other weights, or in another order?)"
        )
    return to_backend(value, backend_of(weight.data))  # (a copy)


def _on_backend_of(state, data):
    """An optimizer's array `state` (or None) on `data`'s backend: a model moved with
    `Module.to` after a step keeps its momentum and running means, moved along."""
    if state is None or state.__class__ is data.__class__:  # (the common case, cheaply)
        return state
    return to_backend(state, backend_of(data))


def _check_steppable(params: list[Tensor], live: list[int], state: list, what: str, who: str):
    """A ValueError, before any weight or state changes, for a weight `params[k]` (k in
    `live`) that the step cannot update: its array is read-only (a broadcast view,
    np.frombuffer's), or no longer has the shape of its entry of `state` (SGD's momentum,
    Adam's m, named `what`; Adam's v is made and loaded with m): its .data was replaced by an
    array of another shape after a step. The step would stop midway, the weights before it
    updated and the running state of others moved on, or broadcast the old state into the
    update. (One loop for both checks: ~0.1 µs a weight.)"""
    for k in live:
        data = params[k].data  # (a NumPy scalar, replaced rather than written, and CuPy: no flag)
        if not isinstance(data, np.generic) and not getattr(data.flags, "writeable", True):
            name = params[k].name
            name = f"'{name}'" if name else f"a weight of shape {tuple(data.shape)}"
            raise ValueError(
                f"{who}.step: {name} has a read-only array (a broadcast view, or a read-only "
                "NumPy array), which the step cannot write: give it a writable copy first, "
                "p.data = p.data.copy()"
            )
        entry = state[k]
        if entry is not None and entry.shape != data.shape:
            name = f" ('{params[k].name}')" if params[k].name else ""
            raise ValueError(
                f"{who}.step: parameter {k}{name} has shape {tuple(data.shape)}, its {what} "
                f"shape {tuple(entry.shape)}: its .data was replaced by an array of another "
                f"shape after a step. Give it back an array of shape {tuple(entry.shape)}, or "
                f"start its state afresh with a new optimizer ({who}(model.parameters(), ...))"
            )


def _checked_grad(p: Tensor, who: str):
    """p.grad as an array of p's shape (a number set by hand: that number everywhere), or
    a ValueError: a gradient set by hand in another shape would be broadcast into the
    update (a (2,) grad on a (2, 2) weight) or fail in NumPy."""
    g = p.grad
    name = p.name or "(unnamed)"
    shape = getattr(g, "shape", None)
    if shape is None and (isinstance(g, bool) or not isinstance(g, numbers.Real)):
        raise TypeError(  # (a list, a string)
            f"{who}: the gradient of parameter {name} is a {type(g).__name__}; set .grad to "
            "an array of the parameter's shape or a number"
        )
    if shape is None or (not shape and p.data.shape):  # a number, or 0-d: everywhere
        return array_module(p.data).full_like(p.data, g)
    if tuple(shape) != tuple(p.data.shape):
        raise ValueError(
            f"{who}: the gradient of parameter {name} has shape {tuple(shape)}, but the "
            f"parameter has shape {tuple(p.data.shape)}"
        )
    if g.__class__ is not p.data.__class__ or g.dtype.kind != "f":
        # a NumPy scalar on a 0-d parameter (immutable: clipping could not scale it in
        # place), or integers set by hand (a float scale cannot be written into them): an
        # array of the parameter's backend and dtype
        return array_module(p.data).asarray(g, dtype=p.data.dtype)
    return g


def clip_grad_norm(params: Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients so their joint L2 norm is at most `max_norm`.

    Return the norm before clipping (the exploding-gradient remedy of RNN training).
    `max_norm=math.inf` only measures the norm, as in PyTorch. The factor is max_norm / (norm +
    1e-12), where torch.nn.utils.clip_grad_norm_ takes min(1, max_norm / (norm + 1e-6)): a clipped
    step is longer by ~1e-6 / norm relatively, so runs compared step for step drift apart."""
    if not as_float(max_norm, "clip_grad_norm: max_norm") > 0:  # (NaN fails too)
        raise ValueError(f"clip_grad_norm: max_norm must be a number > 0, got {max_norm}")
    grads = []
    for p in _param_list(params, "clip_grad_norm"):
        if p.grad is None:
            continue
        p.grad = _checked_grad(p, "clip_grad_norm")  # (a number by hand: as an array)
        grads.append(p.grad)
    # float16 squared and summed in float32: its squares pass 65504 from |g| = 256 on, and
    # so does the sum of 65,505 unit squares (the norm came out inf, and every gradient 0)
    wide = [g.astype(np.float32) if g.dtype.itemsize < 4 else g for g in grads]
    # one host transfer for the whole sum, not one per parameter
    with np.errstate(over="ignore"):
        total = math.sqrt(float(sum((g * g).sum() for g in wide))) if wide else 0.0
    if total == math.inf:  # the squares overflowed (float32 beyond ~1.8e19): scale first
        top = max(float(abs(g).max()) for g in wide if g.size)
        if top < math.inf:
            total = top * math.sqrt(float(sum(((g / top) ** 2).sum() for g in wide)))
    if total > max_norm:
        scale = max_norm / (total + 1e-12)
        for g in grads:
            g *= scale
    return total


def clip_grad_value(params: Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element into [−clip_value, clip_value], in place.

    PyTorch's torch.nn.utils.clip_grad_value_ (named without its trailing _, as
    clip_grad_norm): each parameter's `.grad` (any shape) is clipped where it is, so the
    optimizer's next step uses the clipped values; parameters without a gradient are
    skipped, and nan stays nan; a clip_value past a gradient dtype's largest number (65504
    for float16) leaves that gradient as it is. Unlike clip_grad_norm it can turn the
    gradient's direction."""
    what = "clip_grad_value: clip_value"
    if not as_float(clip_value, what, "a number > 0") > 0:  # (NaN fails too)
        raise ValueError(f"{what} must be a number > 0, got {clip_value}")
    clip_value = float(clip_value)
    for p in _param_list(params, "clip_grad_value"):
        if p.grad is None:
            continue
        p.grad = _checked_grad(p, "clip_grad_value")  # (a number by hand: as an array)
        if p.grad.dtype.kind == "f" and clip_value > float(np.finfo(p.grad.dtype).max):
            continue  # (every finite value is inside; ±inf clipped would round back to ±inf)
        p.grad.clip(-clip_value, clip_value, out=p.grad)


class LRScheduler:
    """Sets its optimizer's `lr` from the number of `step()` calls so far.

    That count is PyTorch's `last_epoch`: call `scheduler.step()` once per epoch, after
    `optimizer.step()`.

    A subclass gives `lr_at(epoch)`, the learning rate of an epoch as a function of
    `base_lr`: PyTorch's closed forms. As in PyTorch, making a scheduler steps it once: a
    new one (`last_epoch=-1`) sets the lr of epoch 0 at once.

    `base_lr` is the optimizer's `initial_lr` (PyTorch's `param_groups[0]["initial_lr"]`,
    saved in the optimizer's `state_dict()`): the first schedule made on an optimizer records
    there the optimizer's lr of the moment, and every later one starts from it too, as
    PyTorch's `base_lrs` do. So a warm-up and a decay made together share one base, and a
    schedule made after another starts from the first one's starting lr, not from where the
    first left the lr nor from an lr set by hand since; set `opt.initial_lr = None` before
    making it to start from the lr of the moment. (PyTorch's LambdaLR does as this one; its
    StepLR, ExponentialLR and CosineAnnealingLR, worked out recursively from the optimizer's
    lr, keep the lr of the moment at epoch 0 there, StepLR and ExponentialLR scaling it by
    gamma from then on, the cosine joining the closed form from epoch T_max on.) Schedules do
    not compose: each step sets the lr from its own closed form, so of two stepped together
    the last one's holds (PyTorch's recursive ones multiply); write a product of factors as
    one LambdaLR.

    `last_epoch=k` resumes a schedule after epoch k, as PyTorch's: from the optimizer's
    `initial_lr` (load the optimizer's state first), setting the lr of epoch k + 1
    (`last_epoch` becomes k + 1), so the schedule goes on as the run that was saved did.
    (PyTorch's ExponentialLR and CosineAnnealingLR, worked out recursively from the
    optimizer's lr, keep the loaded lr on that step and lag an epoch behind.)
    """

    _not_saved: tuple[str, ...] = ("optimizer",)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        who = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{who}: expected an optimizer such as ts.optim.SGD(...), "
                f"got {type(optimizer).__name__}; pass the optimizer whose lr it should set"
            )
        last_epoch = as_int(
            last_epoch, f"{who}: last_epoch", "an int (the last epoch done; -1 for a new schedule)"
        )
        if last_epoch < -1:
            raise ValueError(
                f"{who}: last_epoch must be -1 (a new schedule) or the last epoch done "
                f"(>= 0, to resume), got {last_epoch}"
            )
        initial_lr = optimizer.initial_lr
        if last_epoch == -1:  # (the first schedule's starting lr, once there was one)
            self.base_lr = optimizer.lr if initial_lr is None else initial_lr
        else:
            if initial_lr is None:
                raise ValueError(
                    f"{who}: last_epoch={last_epoch} resumes a schedule from the lr it "
                    "started with, the optimizer's initial_lr, which this optimizer lacks (no "
                    "schedule was made on it); load the optimizer's state_dict() saved during "
                    "the schedule first, or set opt.initial_lr to the schedule's starting lr"
                )
            self.base_lr = initial_lr
        self.optimizer = optimizer
        self.last_epoch = last_epoch
        self.step()
        if initial_lr is None:  # (after the step: a bad lr_lambda changes nothing)
            optimizer.initial_lr = self.base_lr

    def lr_at(self, epoch: int) -> float:  # pragma: no cover - abstract
        """The schedule's lr at `epoch`, a closed form in `base_lr` (as PyTorch's)."""
        raise NotImplementedError

    def step(self) -> None:
        """Count one epoch and set the optimizer's lr to the schedule's for it."""
        # (the lr first, checked as it is set: a bad lr_lambda leaves all as it was)
        self.optimizer.lr = self.lr_at(self.last_epoch + 1)
        self.last_epoch += 1
        self._last_lr = self.optimizer.lr

    def get_last_lr(self) -> list[float]:
        """The lr the last `step()` set, in a list as PyTorch's.

        One entry per parameter group, and these optimizers have one:
        `scheduler.get_last_lr()[0]`."""
        return [self._last_lr]

    def state_dict(self) -> dict:
        """A copy of the scheduler's settings and position (`last_epoch`), without its optimizer.

        Save it beside the optimizer's `state_dict()`."""
        state = {"scheduler": type(self).__name__}
        for key, value in vars(self).items():
            if key not in self._not_saved:
                state[key] = copy.deepcopy(value)
        return state

    def load_state_dict(self, state: dict) -> LRScheduler:
        """Take the settings and position of `state_dict()`; returns the scheduler.

        The state must come from a scheduler of the same class; the optimizer's lr is set to the one
        it had then."""
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict) or "scheduler" not in state:
            raise TypeError(f"{who}: expected the dict of a scheduler's state_dict()")
        if state["scheduler"] != type(self).__name__:
            raise TypeError(
                f"{who}: the state is {state['scheduler']}'s, not {type(self).__name__}'s"
            )
        mine = {key for key in vars(self) if key not in self._not_saved}
        theirs = set(state) - {"scheduler"}
        if mine != theirs:
            raise ValueError(
                f"{who}: the state holds {sorted(theirs)}, this scheduler {sorted(mine)}"
            )
        vars(self).update((key, copy.deepcopy(state[key])) for key in mine)
        self.optimizer.lr = self._last_lr  # (so it matters not which state loads first)
        return self


class StepLR(LRScheduler):
    """lr = base_lr · gamma^⌊epoch / step_size⌋.

    The lr is multiplied by `gamma` every `step_size` epochs (torch.optim.lr_scheduler.StepLR)."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size = as_int(step_size, "StepLR: step_size", "an int (epochs)")
        if self.step_size < 1:
            raise ValueError(f"StepLR: step_size must be at least 1 epoch, got {step_size}")
        self.gamma = _positive(gamma, "StepLR: gamma")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        """base_lr · gamma^⌊epoch / step_size⌋."""
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr · gamma^epoch.

    The lr is multiplied by `gamma` every epoch (torch.optim.lr_scheduler.ExponentialLR),
    from the optimizer's starting lr as every schedule here (see LRScheduler)."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _positive(gamma, "ExponentialLR: gamma")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        """base_lr · gamma^epoch."""
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + ½ (base_lr − eta_min)(1 + cos(π · epoch / T_max)).

    That is half a cosine from base_lr down to eta_min over T_max epochs, then back up over the next
    T_max, and so on (torch.optim.lr_scheduler.CosineAnnealingLR)."""

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        self.T_max = as_int(T_max, "CosineAnnealingLR: T_max", "an int (epochs)")
        if self.T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be at least 1 epoch, got {T_max}")
        self.eta_min = as_float(eta_min, "CosineAnnealingLR: eta_min")
        if not 0.0 <= self.eta_min < math.inf:
            raise ValueError(
                f"CosineAnnealingLR: eta_min must be a finite number >= 0, got {eta_min}"
            )
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        """eta_min + ½ (base_lr − eta_min)(1 + cos(π · epoch / T_max))."""
        cosine = 1 + math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * cosine / 2


class LambdaLR(LRScheduler):
    """lr = base_lr · lr_lambda(epoch), for a function of the epoch of your own.

    For example a warm-up `lambda epoch: min(1.0, (epoch + 1) / 100)`
    (torch.optim.lr_scheduler.LambdaLR). The function is not in `state_dict()` (it may be a lambda,
    which pickle refuses): make the scheduler with it again, then load the state."""

    _not_saved = ("optimizer", "lr_lambda")

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable[[int], float], last_epoch: int = -1
    ) -> None:
        if not callable(lr_lambda):
            raise TypeError(
                "LambdaLR: lr_lambda must be a function of the epoch returning the lr's "
                f"factor, e.g. lambda epoch: 0.95 ** epoch; got {type(lr_lambda).__name__}"
            )
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        """base_lr · lr_lambda(epoch), the factor checked to be finite and ≥ 0."""
        factor = self.lr_lambda(epoch)
        what = f"LambdaLR: lr_lambda({epoch})"
        if not 0.0 <= as_float(factor, what, "a number (the lr's factor)") < math.inf:
            raise ValueError(f"{what} returned {factor}; the lr's factor must be finite and >= 0")
        return self.base_lr * float(factor)


_PYTORCH_NAMES = {  # PyTorch's in-place spellings -> the call to write
    "clip_grad_norm_": "clip_grad_norm(params, max_norm)",
    "clip_grad_value_": "clip_grad_value(params, clip_value)",
}


def __getattr__(name: str):
    """PyTorch's in-place spellings (clip_grad_norm_, clip_grad_value_) get the name to write."""
    if name in _PYTORCH_NAMES:  # (from tinygrad_seq.optim import clip_grad_norm_ too)
        raise missing_name(
            __name__,
            f"tinygrad_seq.optim has no {name!r}, PyTorch's name: write "
            f"ts.optim.{_PYTORCH_NAMES[name]} (it also clips in place)",
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
