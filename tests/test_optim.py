"""Optimisers: SGD (with momentum) and Adam against hand-written updates, both minimising a
quadratic, weight decay (SGD, Adam, AdamW) against PyTorch, and gradient-norm clipping."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of
from tinygrad_seq.optim import SGD, Adam, AdamW, clip_grad_norm, clip_grad_value


def param(values) -> ts.Tensor:
    return ts.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def quadratic_loss(x: ts.Tensor, target: np.ndarray) -> ts.Tensor:
    """½ Σ a_i (x_i − target_i)²: gradient a ⊙ (x − target), minimum at target."""
    a = np.array([1.0, 3.0, 0.5])
    return (ts.Tensor(a) * (x - ts.Tensor(target)) ** 2).sum() * 0.5


@pytest.mark.parametrize(
    "make",
    [
        lambda p: SGD(p, lr=0.2),
        lambda p: SGD(p, lr=0.1, momentum=0.9),
        lambda p: Adam(p, lr=0.1),
    ],
    ids=["sgd", "sgd-momentum", "adam"],
)
def test_optimisers_minimise_a_quadratic(make):
    target = np.array([1.0, -2.0, 0.5])
    x = param([0.0, 0.0, 0.0])
    opt = make([x])
    for _ in range(300):
        opt.zero_grad()
        quadratic_loss(x, target).backward()
        opt.step()
    np.testing.assert_allclose(x.numpy(), target, atol=1e-3)


def test_sgd_momentum_matches_the_hand_written_update(rng):
    p = param(rng.standard_normal(4))
    opt = SGD([p], lr=0.05, momentum=0.8)
    expected, v = p.numpy(), np.zeros(4)
    for _ in range(4):
        g = rng.standard_normal(4)
        p.grad = ts.backend.array_module(p.data).asarray(g)
        opt.step()
        v = 0.8 * v + g  # v ← μ v + ∇θ
        expected = expected - 0.05 * v  # θ ← θ − lr v
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12)


def test_plain_sgd_is_theta_minus_lr_grad(rng):
    p = param(rng.standard_normal(3))
    before = p.numpy()
    g = rng.standard_normal(3)
    p.grad = ts.backend.array_module(p.data).asarray(g)
    SGD([p], lr=0.3).step()
    np.testing.assert_allclose(p.numpy(), before - 0.3 * g, rtol=1e-12)


def check_adam_by_hand(p, opt, grads, lr, betas, eps) -> None:
    """Step `opt` with each gradient in turn; after each step p must be where Adam's
    update rule, written out in NumPy, puts it."""
    (b1, b2), theta = betas, p.numpy()
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        p.grad = ts.backend.array_module(p.data).asarray(g)
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(p.numpy(), theta, rtol=1e-10, atol=1e-15)


def test_adam_matches_the_hand_written_update(rng):
    p = param(rng.standard_normal(5))
    lr, betas, eps = 0.01, (0.9, 0.999), 1e-8
    grads = [rng.standard_normal(5) for _ in range(5)]
    check_adam_by_hand(p, Adam([p], lr=lr, betas=betas, eps=eps), grads, lr, betas, eps)


def test_adam_counts_each_parameters_own_steps(rng):
    # b first gets a gradient at the 4th step: its first update must be Adam's first
    # update, ±lr·g/(|g| + eps) = lr, whatever the other parameter did before
    a, b = param(np.ones(2)), param(np.ones(2))
    opt = Adam([a, b], lr=0.1)
    for step in range(4):
        a.grad = ts.backend.array_module(a.data).asarray(rng.standard_normal(2))
        b.grad = None if step < 3 else ts.backend.array_module(b.data).asarray([2.0, -3.0])
        opt.step()
    np.testing.assert_allclose(b.numpy(), [1.0 - 0.1, 1.0 + 0.1], rtol=1e-7)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda ps: Adam(ps, lr=0.05),
        lambda ps: Adam(ps, lr=0.05, weight_decay=0.1),
        lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1),
    ],
    ids=["adam", "adam-decay", "adamw"],
)
def test_adam_steps_weights_together_bit_for_bit_as_each_alone(backend, make, dtype, rng):
    """Weights alike are stepped together, over one flat array of all their numbers: each
    weight and its running means come out bit for bit as when it is stepped alone, also
    after a weight sat a step out (its step count then differs: stepped apart)."""
    shapes = [(3, 4), (4,), (), (2, 1, 3)]
    xp = ts.backend.xp
    values = [np.asarray(rng.standard_normal(shape), dtype=dtype) for shape in shapes]
    together = [ts.nn.Parameter(xp.array(v)) for v in values]  # (copies: arrays apart)
    alone = [ts.nn.Parameter(xp.array(v)) for v in values]
    opt, opts = make(together), [make([p]) for p in alone]
    for step in range(5):
        for k, shape in enumerate(shapes):
            g = np.asarray(rng.standard_normal(shape), dtype=dtype)
            sits_out = step == 3 and k == 1
            together[k].grad = None if sits_out else xp.array(g)
            alone[k].grad = None if sits_out else xp.array(g)
        opt.step()
        for each in opts:
            each.step()
        if step == 0:
            assert opt._flat  # (stepped together indeed)
        for k in range(len(shapes)):
            assert together[k].dtype == dtype
            assert np_of(together[k]).tobytes() == np_of(alone[k]).tobytes()
            for mine, its in ((opt.m[k], opts[k].m[0]), (opt.v[k], opts[k].v[0])):
                assert ts.backend.to_numpy(mine).tobytes() == ts.backend.to_numpy(its).tobytes()


def test_adam_steps_weights_of_two_dtypes_each_in_its_own_precision(backend, rng):
    """A float32 and a float64 weight in one Adam are not alike: stepped together over one
    flat float64 array, the float32 weight's running means would turn float64 and its step
    be computed in float64. Each comes out bit for bit as when stepped alone."""
    xp = ts.backend.xp
    values = [rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(4)]
    together = [ts.nn.Parameter(xp.array(v)) for v in values]
    alone = [ts.nn.Parameter(xp.array(v)) for v in values]
    opt, opts = Adam(together, lr=0.05), [Adam([p], lr=0.05) for p in alone]
    for _ in range(3):
        for k, v in enumerate(values):
            g = rng.standard_normal(v.shape).astype(v.dtype)
            together[k].grad, alone[k].grad = xp.array(g), xp.array(g)
        opt.step()
        for each in opts:
            each.step()
    for k, v in enumerate(values):
        assert opt.m[k].dtype == opt.v[k].dtype == v.dtype
        assert np_of(together[k]).tobytes() == np_of(alone[k]).tobytes()
        assert np_of(opt.v[k]).tobytes() == np_of(opts[k].v[0]).tobytes()


@pytest.mark.numpy_only  # (one weight on NumPy, the other on CuPy)
@pytest.mark.skipif("cupy" not in ts.backend.available(), reason="needs CuPy (or its stand-in)")
def test_adam_steps_weights_on_two_backends_each_on_its_own(rng):
    """Weights of one dtype on two backends are not alike: no flat array holds both."""
    values = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    together = [ts.nn.Parameter(v.copy()) for v in values]
    alone = [ts.nn.Parameter(v.copy()) for v in values]
    together[1], alone[1] = together[1].to("cupy"), alone[1].to("cupy")
    opt, opts = Adam(together, lr=0.05), [Adam([p], lr=0.05) for p in alone]
    for _ in range(2):
        for k, v in enumerate(values):
            g = rng.standard_normal(v.shape)
            xp = ts.backend.array_module(together[k].data)
            together[k].grad, alone[k].grad = xp.asarray(g), xp.asarray(g)
        opt.step()
        for each in opts:
            each.step()
    assert ts.backend.backend_of(together[1].data) == "cupy"
    for k in range(len(values)):
        assert np_of(together[k]).tobytes() == np_of(alone[k]).tobytes()


def test_adam_steps_on_when_the_last_weight_sits_a_step_out(backend, rng):
    """The weights stepped together change when one has no gradient: the flat running
    means of the last step, which hold that weight's too, must not serve again (the last
    weight sitting out left the others' entries matching them, one short)."""
    xp = ts.backend.xp
    shapes = [(2,), (3,), (2, 2)]
    together = [ts.nn.Parameter(rng.standard_normal(s)) for s in shapes]
    alone = [ts.nn.Parameter(np_of(p).copy()) for p in together]
    opt, opts = Adam(together, lr=0.1), [Adam([p], lr=0.1) for p in alone]
    for step in range(2):
        for k, shape in enumerate(shapes):
            g = None if (step == 1 and k == 2) else rng.standard_normal(shape)
            together[k].grad = None if g is None else xp.asarray(g)
            alone[k].grad = None if g is None else xp.asarray(g)
        opt.step()
        for each in opts:
            each.step()
    assert opt.steps == [2, 2, 1]
    for k in range(len(shapes)):
        assert np_of(together[k]).tobytes() == np_of(alone[k]).tobytes()


def _assert_adam_as_each_alone(opt, opts) -> None:
    """Every weight of `opt`, and its running means and step count in a state_dict, byte for
    byte as those of its own one-weight optimizer in `opts`."""
    state = opt.state_dict()
    for k, each in enumerate(opts):
        assert np_of(opt.params[k]).tobytes() == np_of(each.params[0]).tobytes()
        its = each.state_dict()
        assert state["steps"][k] == its["steps"][0]
        for key in ("m", "v"):
            mine, theirs = state[key][k], its[key][0]
            assert (mine is None) == (theirs is None)
            if mine is not None:
                assert mine.dtype == theirs.dtype == opt.params[k].dtype
                assert mine.tobytes() == theirs.tobytes()


def _one_weights_state(state: dict, k: int) -> dict:
    """The state_dict of a one-weight optimizer over weight k, cut from a state_dict."""
    return {**state, "m": [state["m"][k]], "v": [state["v"][k]], "steps": [state["steps"][k]]}


@pytest.mark.parametrize("seed", range(12))
def test_adam_in_random_scenarios_steps_bit_for_bit_as_each_weight_alone(backend, seed):
    """Weights sitting out random steps (their step counts then differ), float16, float32 and
    float64 weights together, weight decay, AdamW, lr changes, state loaded both ways, deep
    copies and pickles: every weight and the state_dict come out byte for byte as stepping
    each weight with its own optimizer, after every step, whichever weights are stepped
    together over flat arrays."""
    import pickle

    rng = np.random.default_rng(seed)
    xp = ts.backend.xp
    kind = ["adam", "adam-decay", "adamw"][seed % 3]

    def make(ps):
        if kind == "adam":
            return Adam(ps, lr=0.05)
        return (Adam if kind == "adam-decay" else AdamW)(ps, lr=0.05, weight_decay=0.1)

    shapes = [tuple(rng.integers(1, 4, size=rng.integers(0, 3))) for _ in range(rng.integers(3, 8))]
    dtypes = [rng.choice([np.float16, np.float32, np.float64]) for _ in shapes]
    if seed % 2:  # (half the scenarios: one dtype, so that all may go together)
        dtypes = [dtypes[0]] * len(shapes)
    values = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes, strict=True)]
    opt = make([ts.nn.Parameter(xp.array(v)) for v in values])
    opts = [make([ts.nn.Parameter(xp.array(v))]) for v in values]
    stepped_together = 0
    for _ in range(10):
        for k, (shape, dtype) in enumerate(zip(shapes, dtypes, strict=True)):
            g = None if rng.random() < 0.3 else rng.standard_normal(shape).astype(dtype)
            opt.params[k].grad = None if g is None else xp.array(g)
            opts[k].params[0].grad = None if g is None else xp.array(g)
        if rng.random() < 0.3:
            lr = float(rng.uniform(0.001, 0.1))
            opt.lr = lr
            for each in opts:
                each.lr = lr
        opt.step()
        for each in opts:
            each.step()
        stepped_together += len(opt._flat) > 0
        _assert_adam_as_each_alone(opt, opts)
        change = rng.integers(6)
        if change == 0:  # a checkpoint loaded into a new optimizer over the same weights
            opt = make(opt.params).load_state_dict(opt.state_dict())
        elif change == 1:  # the one-weight optimizers' states loaded into this one, and back
            state = opt.state_dict()
            theirs = [each.state_dict() for each in opts]
            for key in ("m", "v", "steps"):
                state[key] = [its[key][0] for its in theirs]
            opt.load_state_dict(state)
            for k, each in enumerate(opts):
                each.load_state_dict(_one_weights_state(opt.state_dict(), k))
        elif change == 2:  # (with its own weights)
            opt = copy.deepcopy(opt)
        elif change == 3:
            opt = pickle.loads(pickle.dumps(opt))
        _assert_adam_as_each_alone(opt, opts)
    if len(set(dtypes)) == 1:
        assert stepped_together  # (the flat path was taken)


def test_running_means_loaded_in_another_dtype_are_stepped_in_it(backend, rng):
    """A checkpoint may hold running means of another dtype than the weights' (float64 ones
    for float32 weights): such a weight's arithmetic is its own, not the flat float32 one."""
    xp = ts.backend.xp
    values = [rng.standard_normal(s).astype(np.float32) for s in [(3,), (2, 2), (2,)]]
    opt = Adam([ts.nn.Parameter(xp.array(v)) for v in values], lr=0.1)
    opts = [Adam([ts.nn.Parameter(xp.array(v))], lr=0.1) for v in values]
    for step in range(4):
        for k, v in enumerate(values):
            g = rng.standard_normal(v.shape).astype(np.float32)
            opt.params[k].grad, opts[k].params[0].grad = xp.array(g), xp.array(g)
        opt.step()
        for each in opts:
            each.step()
        if step == 1:  # weight 0's m (alone) and weight 1's v (alone) saved as float64
            state = opt.state_dict()
            state["m"][0] = state["m"][0].astype(np.float64)
            state["v"][1] = state["v"][1].astype(np.float64)
            opt.load_state_dict(state)
            for k, each in enumerate(opts):
                each.load_state_dict(_one_weights_state(state, k))
        for k, each in enumerate(opts):
            assert np_of(opt.params[k]).tobytes() == np_of(each.params[0]).tobytes()
            for mine, its in ((opt.m[k], each.m[0]), (opt.v[k], each.v[0])):
                assert mine.dtype == its.dtype
                assert np_of(mine).tobytes() == np_of(its).tobytes()
    assert opt.m[0].dtype == opt.v[1].dtype == np.float64


def test_after_a_weight_sits_out_the_rest_step_on_together(backend, rng):
    """A weight that sat a step out counts a step fewer than the others from then on: the
    others go on over flat arrays of their own (not each alone), and so do weights sharing
    a step count, in groups, while each weight comes out as stepped alone."""
    xp = ts.backend.xp
    shapes = [(2, 3), (3,), (2, 2), (4,), (1,)]
    opt = Adam([ts.nn.Parameter(rng.standard_normal(s)) for s in shapes], lr=0.1)
    opts = [Adam([ts.nn.Parameter(np_of(p).copy())], lr=0.1) for p in opt.params]
    sits_out = {1: {1}, 2: {3}, 4: {1, 3}}  # step: the weights without a gradient
    for step in range(6):
        for k, shape in enumerate(shapes):
            g = None if k in sits_out.get(step, ()) else xp.asarray(rng.standard_normal(shape))
            opt.params[k].grad = None if g is None else g.copy()
            opts[k].params[0].grad = None if g is None else g.copy()
        opt.step()
        for each in opts:
            each.step()
        _assert_adam_as_each_alone(opt, opts)
    assert opt.steps == [6, 4, 6, 4, 6]
    # weights 0, 2 and 4 go together, and so do 1 and 3: no weight alone
    assert sorted(flat.live for flat in opt._flat) == [(0, 2, 4), (1, 3)]
    for flat in opt._flat:  # (each weight's running means: views of its group's arrays)
        assert all(opt.m[k] is view for k, view in zip(flat.live, flat.m_views, strict=True))


def test_the_same_groups_step_on_over_the_same_flat_arrays(backend, rng):
    """While the same weights have gradients, the flat running means are made once, not
    copied again at every step; after one sat out they are made once more, then kept."""
    xp = ts.backend.xp
    opt = Adam([ts.nn.Parameter(rng.standard_normal(s)) for s in [(3,), (2, 2), (2,)]])
    made = []
    for step in range(5):
        for p in opt.params:
            p.grad = xp.asarray(rng.standard_normal(p.shape))
        if step == 2:
            opt.params[0].grad = None
        opt.step()
        made.append(tuple(flat.m for flat in opt._flat))
    assert made[0][0] is made[1][0]  # (steps 0 and 1: all three, the same arrays)
    assert made[2][0] is not made[1][0]  # (step 2: weights 1 and 2 alone, new arrays)
    assert len(made[3]) == len(made[4]) == 1  # (then 1 and 2 together, weight 0 alone)
    assert made[2][0] is made[3][0] is made[4][0]


@pytest.mark.parametrize("moment", ["m", "v"])
def test_a_running_mean_set_by_hand_is_the_one_stepped(backend, rng, moment):
    """An entry of m or v replaced by hand (here v alone, or m alone: a reset of one
    weight's second or first moment) is no longer a view of the flat arrays: the next step
    takes it in, as a one-weight optimizer given the same entry does, not the flat copy."""
    xp = ts.backend.xp
    values = [rng.standard_normal(s) for s in [(3,), (2, 2), (2,)]]
    opt = Adam([ts.nn.Parameter(xp.asarray(v)) for v in values], lr=0.1)
    opts = [Adam([ts.nn.Parameter(xp.asarray(v))], lr=0.1) for v in values]
    for step in range(3):
        for k, v in enumerate(values):
            g = rng.standard_normal(v.shape)
            opt.params[k].grad, opts[k].params[0].grad = xp.asarray(g), xp.asarray(g)
        opt.step()
        for each in opts:
            each.step()
        if step == 0:  # (after one step together: every entry a view of the flat arrays)
            assert len(opt._flat) == 1
            getattr(opt, moment)[1] = xp.full((2, 2), 0.5)
            getattr(opts[1], moment)[0] = xp.full((2, 2), 0.5)
        _assert_adam_as_each_alone(opt, opts)


@pytest.mark.numpy_only  # (NumPy frees an array once no view of it is left)
def test_flat_running_means_no_group_steps_are_freed(rng):
    """Once a weight sits a step out, the flat arrays that held every weight's running means
    are replaced; no weight may keep a view of them (holding them all in memory): the weight
    that sat out gets a compact copy of its own."""
    import weakref

    opt = Adam([ts.nn.Parameter(rng.standard_normal(s)) for s in [(50,), (20,), (30,)]])
    for step in range(3):
        for p in opt.params:
            p.grad = rng.standard_normal(p.shape)
        if step == 0:
            old = [weakref.ref(opt._flat[0].m), weakref.ref(opt._flat[0].v)] if opt._flat else []
        if step == 1:
            old = [weakref.ref(opt._flat[0].m), weakref.ref(opt._flat[0].v)]
            opt.params[2].grad = None
        opt.step()
    assert [ref() for ref in old] == [None, None]
    assert opt.m[2].base is None and opt.v[2].base is None  # (a compact copy)
    assert opt.m[2].shape == (30,)
    (flat,) = opt._flat
    assert flat.live == (0, 1) and flat.m.size == 70


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.5, momentum=0.9), lambda ps: Adam(ps)])
@pytest.mark.numpy_only  # (a weight held as a NumPy scalar: NumPy's)
def test_a_weight_held_as_a_numpy_scalar_is_stepped_not_called_read_only(make):
    """A NumPy scalar's flags say it is not writeable, but the step replaces it rather than
    write into it: it is no read-only array."""
    weight = ts.Tensor(2.0, requires_grad=True, dtype=np.float64, name="w")
    weight.data = weight.data * np.float64(1.0)  # by hand: a NumPy scalar, not an array
    assert isinstance(weight.data, np.generic)
    opt = make([weight])
    weight.grad = np.float64(1.0)
    opt.step()
    assert weight.item() < 2.0


def test_a_copy_of_adam_steps_and_shows_its_own_running_means(backend, rng):
    """Weights stepped together keep their running means in shared flat arrays, each
    weight's entry of m and v a view of them: a deep copy, whose entries are arrays of
    their own, must step those (and a state_dict show them), not copied flat arrays."""
    xp = ts.backend.xp
    opt = Adam([ts.nn.Parameter(rng.standard_normal(shape)) for shape in [(2, 3), (3,)]])
    grads = [[xp.asarray(rng.standard_normal(p.shape)) for p in opt.params] for _ in range(3)]

    def step(o, gs):
        for p, g in zip(o.params, gs, strict=True):
            p.grad = g.copy()
        o.step()

    step(opt, grads[0])
    twin = copy.deepcopy(opt)  # (its own weights too)
    for gs in grads[1:]:
        step(opt, gs)
        step(twin, gs)
    mine, its = opt.state_dict(), twin.state_dict()
    for k in range(2):
        assert np_of(twin.params[k]).tobytes() == np_of(opt.params[k]).tobytes()
        assert its["m"][k].tobytes() == mine["m"][k].tobytes()
        assert its["v"][k].tobytes() == mine["v"][k].tobytes()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: Adam(ps, lr=0.1),
        lambda ps: AdamW(ps, lr=0.1),
    ],
    ids=["sgd-momentum", "adam", "adamw"],
)
@pytest.mark.numpy_only  # (read-only arrays are NumPy's)
def test_a_read_only_weight_stops_the_step_before_anything_changes(make):
    """A step that cannot write one weight must not leave the others half stepped: Adam moved
    every weight's running means and step count on before writing any weight, so after the
    error the weights after the read-only one kept their values with their state a step on."""
    first, second = param([1.0, 2.0]), param([3.0, 4.0])
    frozen = np.array([5.0, 6.0])
    frozen.flags.writeable = False  # (np.frombuffer's arrays, np.broadcast_to's views)
    stuck = ts.Tensor(frozen, requires_grad=True, name="W_stuck")
    opt = make([first, stuck, second])
    for p in opt.params:
        p.grad = np.ones(2)
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=r"step: 'W_stuck' has a read-only array.*\.copy\(\)"):
        opt.step()
    after = opt.state_dict()
    for key, value in before.items():
        assert repr(after[key]) == repr(value), key
    assert first.numpy().tolist() == [1.0, 2.0] and second.numpy().tolist() == [3.0, 4.0]
    stuck.data = stuck.data.copy()  # the fix the message names: the step then goes through
    opt.step()
    assert stuck.numpy()[0] < 5.0 and first.numpy()[0] < 1.0 and second.numpy()[0] < 3.0


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: Adam(ps, lr=0.1),
        lambda ps: AdamW(ps, lr=0.1, weight_decay=0.1),
    ],
    ids=["sgd-momentum", "adam", "adamw"],
)
@pytest.mark.parametrize("old, new", [((3,), (2, 3)), ((2, 3), (3,)), ((2, 3), (3, 2))])
def test_a_weight_resized_after_a_step_is_named_before_anything_changes(backend, make, old, new):
    """A weight whose .data is replaced by an array of another shape after a step no longer
    fits its momentum or running means: they were broadcast into the update (SGD's (3,)
    momentum into a (2, 3) weight, silently) or NumPy failed midway ("non-broadcastable
    output operand", Adam's step counts already moved on). The step names the weight and
    both shapes, and changes nothing."""
    xp = ts.backend.xp
    first = ts.nn.Parameter(xp.ones(2))
    resized = ts.nn.Parameter(xp.ones(old))
    resized.name = "W_hh"
    opt = make([first, resized])
    first.grad, resized.grad = xp.ones(2), xp.ones(old)
    opt.step()
    resized.data = xp.ones(new)
    first.grad, resized.grad = xp.ones(2), xp.ones(new)
    before = copy.deepcopy(opt.state_dict())
    weights = [np_of(p).copy() for p in opt.params]
    what = "momentum (velocity)" if isinstance(opt, SGD) else "running means (m, v)"
    with pytest.raises(ValueError) as caught:
        opt.step()
    assert str(caught.value).startswith(
        f"{type(opt).__name__}.step: parameter 1 ('W_hh') has shape {new}, its {what} shape "
        f"{old}: its .data was replaced by an array of another shape after a step. Give it "
        f"back an array of shape {old}, or start its state afresh with a new optimizer"
    )
    after = opt.state_dict()
    for key, value in before.items():
        assert repr(after[key]) == repr(value), key
    for p, w in zip(opt.params, weights, strict=True):
        assert np_of(p).tobytes() == w.tobytes()
    fresh = make(opt.params)  # (what the message says: a new optimizer steps it)
    fresh.step()
    assert resized.shape == new and float(np_of(resized).max()) < 1.0


def test_parameters_without_gradients_are_left_alone():
    used, unused = param([1.0]), param([2.0])
    for opt in (SGD([used, unused], lr=0.1, momentum=0.5), Adam([used, unused], lr=0.1)):
        used.grad = ts.backend.array_module(used.data).asarray([1.0])
        opt.step()
        assert unused.numpy()[0] == 2.0


def test_zero_grad_and_float32_parameters_stay_float32():
    p = ts.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.dtype == np.float32
    opt.zero_grad()
    assert p.grad is None


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_norm_before():
    a, b = param([3.0, 0.0]), param([0.0, 4.0, 0.0])
    xp = ts.backend.array_module(a.data)
    a.grad, b.grad = xp.asarray([3.0, 0.0]), xp.asarray([0.0, 4.0, 12.0])
    norm = clip_grad_norm([a, b], max_norm=2.6)
    assert norm == pytest.approx(13.0)  # √(9 + 16 + 144)
    np.testing.assert_allclose(np_of(a.grad), [0.6, 0.0])  # scaled by 2.6 / 13
    np.testing.assert_allclose(np_of(b.grad), [0.0, 0.8, 2.4])
    total = math.sqrt(float((np_of(a.grad) ** 2).sum() + (np_of(b.grad) ** 2).sum()))
    assert total == pytest.approx(2.6)


def test_clip_grad_norm_clips_just_above_the_limit_and_not_at_it():
    a = param([0.0, 0.0])
    xp = ts.backend.array_module(a.data)
    a.grad = xp.asarray([0.9, 1.2])  # norm 1.5: only half again the limit
    assert clip_grad_norm([a], max_norm=1.0) == pytest.approx(1.5)
    np.testing.assert_allclose(np_of(a.grad), [0.6, 0.8])  # scaled to norm 1
    a.grad = xp.asarray([0.0, 2.0])  # norm exactly max_norm: left exactly as it is
    assert clip_grad_norm([a], max_norm=2.0) == 2.0
    np.testing.assert_array_equal(np_of(a.grad), [0.0, 2.0])


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    a, b = param([1.0]), param([1.0])
    a.grad = ts.backend.array_module(a.data).asarray([0.5])
    assert clip_grad_norm([a, b], max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_allclose(np_of(a.grad), [0.5])
    assert b.grad is None


def test_clip_grad_value_clips_each_element_in_place_as_pytorch_and_skips_missing_ones(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((3, 4)) * 3, rng.standard_normal(5), np.array(7.5)]
    grads[1][2] = np.nan  # (nan stays nan, as torch's clamp keeps it)
    params = [param(np.zeros(g.shape)) for g in grads] + [param([1.0])]  # (the last: no grad)
    xp = ts.backend.array_module(params[0].data)
    for p, g in zip(params, grads, strict=False):
        p.grad = xp.asarray(g)
    arrays = [p.grad for p in params[:3]]
    twins = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(twins, grads, strict=True):
        t.grad = torch.tensor(g)
    assert clip_grad_value(params, clip_value=1.25) is None
    torch.nn.utils.clip_grad_value_(twins, clip_value=1.25)
    for p, array, t in zip(params, arrays, twins, strict=False):
        assert p.grad is array  # in place: an array kept from before sees the clipped values
        np.testing.assert_array_equal(np_of(p.grad), t.grad.numpy())
    assert np.abs(np_of(params[0].grad)).max() == 1.25 and np_of(params[2].grad) == 1.25
    assert params[3].grad is None


def test_clip_grad_value_keeps_float32_and_refuses_bad_values_clearly():
    w = ts.Tensor(np.zeros(3, np.float32), requires_grad=True)
    w.grad = ts.backend.array_module(w.data).asarray(np.array([-4.0, 0.5, 4.0], np.float32))
    clip_grad_value([w], np.float64(2.0))  # (a NumPy float does not widen it)
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(np_of(w.grad), [-2.0, 0.5, 2.0])
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"clip_grad_value: clip_value must be a number > 0"):
            clip_grad_value([w], bad)
    with pytest.raises(TypeError, match=r"clip_grad_value: clip_value must be a number > 0, got"):
        clip_grad_value([w], "1.0")
    with pytest.raises(TypeError, match=r"clip_grad_value: expected an iterable of parameters"):
        clip_grad_value(w, 1.0)
    np.testing.assert_array_equal(np_of(w.grad), [-2.0, 0.5, 2.0])  # (untouched by those)


def test_clip_grad_value_past_float16s_range_leaves_its_gradient_as_it_is_without_warning():
    # 1e5 is past float16's largest number (65504): every finite gradient is inside, and the
    # bound cast to float16 would overflow (NumPy warns)
    w = ts.Tensor(np.zeros(4, np.float16), requires_grad=True)
    grad = np.array([-np.inf, -6e4, 1.5, np.inf], np.float16)
    w.grad = ts.backend.array_module(w.data).asarray(grad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clip_grad_value([w], 1e5)
    assert w.grad.dtype == np.float16
    np.testing.assert_array_equal(np_of(w.grad), grad)
    clip_grad_value([w], 6e4)  # inside float16's range: clipped as ever
    np.testing.assert_array_equal(np_of(w.grad), np.array([-6e4, -6e4, 1.5, 6e4], np.float16))


def test_clip_grad_value_at_float16s_largest_number_clips_infinities_to_it_as_pytorch():
    # 65504 is float16's largest number, not past it: ±inf is clipped to ±65504, as torch's
    w = ts.Tensor(np.zeros(3, np.float16), requires_grad=True)
    w.grad = ts.backend.array_module(w.data).asarray(np.array([-np.inf, 1.5, np.inf], np.float16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (the bound is a float16 number: no overflow in a cast)
        clip_grad_value([w], 65504.0)
    assert w.grad.dtype == np.float16
    np.testing.assert_array_equal(np_of(w.grad), np.array([-65504, 1.5, 65504], np.float16))
    torch = pytest.importorskip("torch")
    twin = torch.zeros(3, dtype=torch.float16, requires_grad=True)
    twin.grad = torch.tensor([-np.inf, 1.5, np.inf], dtype=torch.float16)
    torch.nn.utils.clip_grad_value_([twin], 65504.0)
    np.testing.assert_array_equal(np_of(w.grad), twin.grad.numpy())


def test_clip_grad_value_clips_a_gradient_set_by_hand_as_a_number():
    # a number set as .grad by hand stands for that number everywhere (as the optimizers read
    # it): clipped, it becomes an array of the weight's shape
    w = ts.Tensor(np.zeros((2, 3)), requires_grad=True)
    w.grad = 5.0
    clip_grad_value([w], 2.0)
    assert w.grad.shape == (2, 3)
    np.testing.assert_array_equal(np_of(w.grad), np.full((2, 3), 2.0))


def test_bad_arguments_are_clear_errors():
    p = param([1.0])
    with pytest.raises(ValueError, match="learning rate must be a finite number > 0"):
        SGD([p], lr=0.0)
    for lr in (float("inf"), float("nan"), -0.1):
        with pytest.raises(ValueError, match="learning rate must be a finite number > 0"):
            SGD([p], lr=lr)
    for lr in ("0.1", None, True):
        with pytest.raises(TypeError, match="learning rate must be a number"):
            Adam([p], lr=lr)
    for eps in (0.0, -1e-8):  # eps = 0 makes a zero gradient's step 0 / 0
        with pytest.raises(ValueError, match="Adam: eps must be a finite number > 0"):
            Adam([p], eps=eps)
    with pytest.raises(ValueError, match="momentum must be in"):
        SGD([p], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="betas"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match="requires_grad=True"):
        SGD([ts.Tensor([1.0])], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        SGD(p, lr=0.1)
    for max_norm in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_norm must be a number > 0"):
            clip_grad_norm([p], max_norm)


def test_clipping_to_an_infinite_norm_measures_it_and_changes_nothing():
    p = ts.Tensor(np.zeros(2, np.float32), requires_grad=True)
    p.grad = np.array([3.0, 4.0], np.float32)
    assert clip_grad_norm([p], float("inf")) == pytest.approx(5.0)  # as in PyTorch
    np.testing.assert_array_equal(np_of(p.grad), [3.0, 4.0])


def test_clipping_scales_a_numpy_scalar_or_integer_gradient_set_by_hand():
    scalar = ts.Tensor(np.array(10.0), requires_grad=True)
    scalar.grad = np.float64(20.0)  # immutable: it must become an array to be scaled
    ints = ts.Tensor(np.zeros(2, np.float32), requires_grad=True)
    ints.grad = np.array([3, 4])  # integers cannot hold the scaled values
    assert clip_grad_norm([scalar], 1.0) == pytest.approx(20.0)
    assert float(scalar.grad) == pytest.approx(1.0)
    assert clip_grad_norm([ints], 1.0) == pytest.approx(5.0)
    assert ints.grad.dtype == np.float32
    np.testing.assert_allclose(np_of(ints.grad), [0.6, 0.8], rtol=1e-6)


def test_clipping_a_norm_whose_squares_overflow_scales_instead_of_zeroing():
    p = ts.Tensor(np.zeros(3, np.float32), requires_grad=True)
    p.grad = np.array([1e20, 1e20, 0], np.float32)  # Σg² overflows float32
    total = ts.optim.clip_grad_norm([p], 1.0)
    assert total == pytest.approx(np.sqrt(2) * 1e20, rel=1e-6)
    np.testing.assert_allclose(np_of(p.grad), [0.70710677, 0.70710677, 0], rtol=1e-6)
    q = ts.Tensor(np.zeros(2), requires_grad=True)
    q.grad = 5.0  # a number set by hand means that number everywhere
    assert ts.optim.clip_grad_norm([q], 1.0) == pytest.approx(np.sqrt(50))


def test_clipping_many_float16_gradients_sums_their_squares_wider():
    """70,000 unit squares pass float16's 65504, as does any |g| ≥ 256 squared: the norm
    came out inf and clipping multiplied every gradient by 1/inf = 0."""
    many = ts.Tensor(np.zeros(70_000, np.float16), requires_grad=True)
    many.grad = ts.backend.xp.ones(70_000, np.float16)
    big = ts.Tensor(np.zeros(2, np.float16), requires_grad=True)
    big.grad = ts.backend.xp.asarray([300.0, 400.0], np.float16)
    total = ts.optim.clip_grad_norm([many], 1.0)
    assert total == pytest.approx(math.sqrt(70_000), rel=1e-3)
    assert many.grad.dtype == np.float16  # scaled in place, in its own dtype
    np.testing.assert_allclose(np_of(many.grad), 1 / total, rtol=1e-3)
    assert ts.optim.clip_grad_norm([big], 1.0) == pytest.approx(500.0, rel=1e-3)
    np.testing.assert_allclose(np_of(big.grad), [0.6, 0.8], rtol=1e-3)


def test_frozen_weights_are_kept_and_mistakes_are_named():
    model = ts.nn.Linear(3, 2)
    model.b.requires_grad = False  # frozen: no gradient, so no step
    assert len(ts.optim.Adam(model.parameters()).params) == 2
    with pytest.raises(TypeError, match="pass model.parameters()"):
        ts.optim.Adam(model)
    with pytest.raises(TypeError, match="call it: model.parameters()"):
        ts.optim.Adam(model.parameters)
    with pytest.raises(TypeError, match=r"\(name, weight\) pairs.*pass model.parameters\(\)"):
        ts.optim.SGD(model.named_parameters(), 0.1)
    with pytest.raises(TypeError, match="must be a Tensor, got tuple"):
        ts.optim.SGD([(model.W,)], 0.1)  # a tuple that is not a pair gets the plain message
    with pytest.raises(TypeError, match="momentum must be a number"):
        ts.optim.SGD(model.parameters(), 0.1, momentum="0.9")
    with pytest.raises(TypeError, match="betas must be a pair"):
        ts.optim.Adam(model.parameters(), betas=0.9)
    with pytest.raises(TypeError, match="max_norm must be a number"):
        ts.optim.clip_grad_norm(model.parameters(), "1")
    with pytest.raises(TypeError, match="must be a leaf"):
        ts.optim.Adam([model.W * 2])


def test_a_gradient_set_by_hand_in_another_shape_is_named_not_broadcast():
    # a (2,) grad on a (2, 2) weight was broadcast into the update without a word
    for make in (lambda ps: ts.optim.SGD(ps, 0.1), lambda ps: ts.optim.Adam(ps)):
        W = ts.Tensor(np.ones((2, 2)), requires_grad=True, name="W")
        opt = make([W])
        for bad in (np.ones(2), np.ones((3, 3))):
            W.grad = bad
            with pytest.raises(ValueError, match=r"gradient of parameter W has shape"):
                opt.step()
        np.testing.assert_array_equal(W.numpy(), 1.0)  # nothing was applied
        W.grad = 0.5  # a number: that number everywhere, as before
        opt.step()
        assert (W.numpy() < 1.0).all()


def test_momentum_takes_a_number_set_by_hand_as_grad():
    # SGD's first momentum step copied the gradient: a Python float has no .copy()
    for shape in ((2, 2), ()):
        W = ts.Tensor(np.ones(shape), requires_grad=True)
        opt = SGD([W], 0.1, momentum=0.9)
        W.grad = 0.5
        opt.step()
        opt.step()  # v = 0.5, then 0.9·0.5 + 0.5 = 0.95: W = 1 − 0.1·(0.5 + 0.95)
        np.testing.assert_allclose(W.numpy(), np.full(shape, 1 - 0.1 * 1.45))


def test_a_list_or_string_set_by_hand_as_grad_is_refused():
    # [1, 2] on a (2, 2) weight was broadcast to both rows; "1" was read as 1.0
    W = ts.Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    for bad in ([1.0, 2.0], "1", True):
        W.grad = bad
        with pytest.raises(TypeError, match="gradient of parameter W is a"):
            SGD([W], 0.1).step()
    np.testing.assert_array_equal(W.numpy(), 1.0)


def test_momentum_keeps_its_own_velocity_and_skips_a_weight_without_a_gradient():
    """The first velocity is a copy of .grad (not the array itself, which a backward
    without zero_grad adds into); a weight with no gradient this step does not move (a
    zero gradient would still step it by the velocity), as in PyTorch."""
    c1, c2 = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    p = ts.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    (p * c1).sum().backward()
    opt.step()
    (p * c2).sum().backward()  # no zero_grad: .grad accumulates in place to c1 + c2
    opt.step()
    v2 = 0.9 * c1 + (c1 + c2)
    np.testing.assert_allclose(np_of(p), np.array([1.0, 2.0]) - 0.1 * c1 - 0.1 * v2)
    moved = np_of(p)
    opt.zero_grad()
    opt.step()  # the weight was not used this time: nothing moves
    np.testing.assert_array_equal(np_of(p), moved)


def test_a_norm_half_a_percent_over_the_limit_is_clipped():
    a = ts.Tensor(np.zeros(2), requires_grad=True)
    a.grad = ts.backend.xp.asarray([0.603, 0.804])  # norm 1.005
    assert clip_grad_norm([a], max_norm=1.0) == pytest.approx(1.005)
    np.testing.assert_allclose(np_of(a.grad), [0.6, 0.8], rtol=1e-9)


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p)])
def test_a_model_moved_between_backends_keeps_its_optimizer_state(backend, make):
    # trained a step on NumPy, moved to the backend under test, trained on: the momentum
    # and running means move with it (CuPy refused NumPy state mixed into its arrays)
    if backend == "numpy":
        pytest.skip("needs a second backend: runs in the cupy case, where a GPU is usable")

    def run(move: bool) -> np.ndarray:
        with ts.backend.using("numpy"):
            ts.manual_seed(0)
            model = ts.nn.Linear(3, 2)
        x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
        opt = make(model.parameters())
        for k in range(3):
            if move and k == 1:
                model.to(backend)
            xs = ts.Tensor(x).to(ts.backend.backend_of(model.W.data))
            opt.zero_grad()
            (model(xs) ** 2).sum().backward()
            opt.step()
        return ts.backend.to_numpy(model.W.data)

    np.testing.assert_allclose(run(move=True), run(move=False), rtol=1e-5)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.5, momentum=0.9), lambda ps: Adam(ps)])
def test_a_parameter_without_a_gradient_is_skipped_and_the_rest_step(make):
    frozen, moving = ts.nn.Parameter(np.ones(2)), ts.nn.Parameter(np.ones(2))
    opt = make([frozen, moving])
    moving.grad = ts.backend.xp.ones(2)
    opt.step()
    assert frozen.numpy().tolist() == [1.0, 1.0]
    assert (moving.numpy() < 1).all()


def test_a_parameter_listed_twice_steps_once():
    p = ts.nn.Parameter(np.ones(2))
    opt = SGD([p, p], lr=0.5)
    assert len(opt.params) == 1
    p.grad = ts.backend.xp.ones(2)
    opt.step()
    assert p.numpy().tolist() == [0.5, 0.5]


def test_adam_defaults_are_the_papers(rng):
    """Adam(params) is lr 1e-3, betas (0.9, 0.999), eps 1e-8: checked through the updates,
    with gradients small enough (≈ 1e-8) for eps to count."""
    p = param(rng.standard_normal(4))
    grads = [rng.standard_normal(4) * 10.0 ** rng.integers(-9, 0, size=4) for _ in range(4)]
    check_adam_by_hand(p, Adam([p]), grads, 1e-3, (0.9, 0.999), 1e-8)


def test_adam_takes_betas_of_zero():
    """β = 0 is allowed ([0, 1)): no averaging, each step lr·g/(|g| + eps)."""
    p = param([1.0, 1.0])
    opt = Adam([p], lr=0.1, betas=(0.0, 0.0))
    p.grad = ts.backend.array_module(p.data).asarray([2.0, -0.5])
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1, 1.0 + 0.1], rtol=1e-6)


def test_clip_grad_norm_of_parameters_without_gradients_is_zero():
    a = param([1.0])
    assert clip_grad_norm([a], max_norm=1.0) == 0.0
    assert a.grad is None


def _update_with_the_operator(p, delta):
    with ts.no_grad():
        p -= delta


def _update_the_array_and_say_so(p, delta):
    p.data -= delta
    ts.autograd.changed_in_place(p)


@pytest.mark.parametrize(
    "update", [_update_with_the_operator, _update_the_array_and_say_so], ids=["p -=", "p.data -="]
)
def test_an_optimizer_of_your_own_as_docs_extending_writes_it_is_checked_like_ts_optim(update):
    # docs/extending.md, "Your own optimizer": either way, a graph recorded before the step
    # (through W.T, as the models use their weights) refuses its backward
    W = param([[1.0, 2.0], [3.0, 4.0]])
    x = ts.Tensor(np.array([[0.5, -1.0]]))
    first, second = (x @ W.T).tanh().sum(), (x @ W.T).tanh().sum()
    first.backward()
    update(W, 0.1 * W.grad)
    np.testing.assert_allclose(np_of(W.data), [[1.0, 2.0], [3.0, 4.0]] - 0.1 * np_of(W.grad))
    with pytest.raises(RuntimeError, match="before it was changed in place"):
        second.backward()


def _training(make_opt, seed=0):
    """A small LSTM classifier and its optimizer; `step()` trains once, returns the loss."""
    ts.manual_seed(seed)
    model, readout = ts.nn.LSTM(3, 4), ts.nn.Linear(4, 2)
    opt = make_opt(model.parameters() + readout.parameters())
    rng = np.random.default_rng(0)
    xs, targets = ts.Tensor(rng.standard_normal((5, 6, 3))), np.arange(5) % 2

    def step():
        _, (h_T, _) = model(xs)
        loss = ts.F.cross_entropy(readout(h_T), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return model, readout, opt, step


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: Adam(ps, lr=1e-2),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.05),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda ps: SGD(ps, lr=0.1, momentum=0.8, dampening=0.5),
        lambda ps: Adam(ps, lr=1e-2, weight_decay=0.1),
        lambda ps: AdamW(ps, lr=1e-2, weight_decay=0.2),
    ],
    ids=["adam", "sgd-momentum", "sgd", "sgd-decay", "sgd-nesterov", "sgd-dampening"]
    + ["adam-decay", "adamw"],
)
def test_a_checkpointed_optimizer_resumes_training_exactly(make_opt):
    import pickle

    model, readout, opt, step = _training(make_opt)
    for _ in range(3):
        step()
    saved = pickle.dumps((model.state_dict(), readout.state_dict(), opt.state_dict()))
    went_on = [step() for _ in range(3)]

    # other weights, fresh state and the class's default settings: the state brings them
    model2, readout2, opt2, step2 = _training(lambda ps: type(opt)(ps, lr=0.5), seed=1)
    model_state, readout_state, opt_state = pickle.loads(saved)
    model2.load_state_dict(model_state)
    readout2.load_state_dict(readout_state)
    assert opt2.load_state_dict(opt_state) is opt2
    assert opt2.weight_decay == opt.weight_decay and opt2.lr == opt.lr
    if isinstance(opt, SGD):  # (made with the defaults: the settings came from the state)
        assert (opt2.momentum, opt2.dampening, opt2.nesterov) == (
            opt.momentum,
            opt.dampening,
            opt.nesterov,
        )
    assert [step2() for _ in range(3)] == went_on  # bit for bit

    if isinstance(opt, Adam) or opt.momentum:  # without the optimizer's state: another path
        model3, readout3, _, step3 = _training(make_opt, seed=1)
        model3.load_state_dict(model_state)
        readout3.load_state_dict(readout_state)
        assert [step3() for _ in range(3)] != went_on


def test_a_state_dict_is_a_copy_in_numpy(backend):
    _, _, opt, step = _training(lambda ps: Adam(ps, lr=1e-2))
    step()
    state = opt.state_dict()
    assert state["optimizer"] == "Adam" and state["lr"] == 1e-2 and state["steps"][0] == 1
    assert all(type(m) is np.ndarray for m in state["m"])
    before = state["m"][0].copy()
    step()
    np.testing.assert_array_equal(state["m"][0], before)  # the optimizer's went on alone
    opt.load_state_dict(state)
    assert opt.steps[0] == 1 and ts.backend.backend_of(opt.m[0]) == backend
    assert state["betas"] == (0.9, 0.999) and opt.betas == (0.9, 0.999)  # tuples stay tuples


def test_a_bad_state_is_refused_and_leaves_the_optimizer_untouched():
    _, _, opt, step = _training(lambda ps: Adam(ps, lr=1e-2))
    step()
    good = opt.state_dict()
    m0 = opt.m[0]
    with pytest.raises(TypeError, match="^Adam.load_state_dict: the state is SGD's, not Adam's$"):
        opt.load_state_dict(SGD(opt.params, lr=0.1).state_dict())
    with pytest.raises(TypeError, match="state_dict"):
        opt.load_state_dict({"m": good["m"]})
    fewer = dict(good, m=good["m"][:-1])
    with pytest.raises(ValueError, match=f"'m' holds {len(opt.params) - 1} entries, for"):
        opt.load_state_dict(fewer)
    swapped = dict(good, v=[good["v"][-1], *good["v"][1:-1], good["v"][0]])
    with pytest.raises(ValueError, match=r"v\[0\] has shape \(2,\), where \(4, 7\) is expected"):
        opt.load_state_dict(swapped)
    with pytest.raises(ValueError, match="the state holds"):
        opt.load_state_dict({k: v for k, v in good.items() if k != "eps"})
    with pytest.raises(ValueError, match="the state holds"):
        opt.load_state_dict(dict(good, amsgrad=True))  # a key this optimizer lacks
    assert opt.m[0] is m0 and opt.steps[0] == 1  # nothing taken


def test_a_subclass_state_comes_along():
    class RMSprop(ts.optim.Optimizer):  # as in docs/extending.md
        def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
            super().__init__(params, lr)
            self.alpha, self.eps = alpha, eps
            self.mean_sq = [np.zeros_like(p.data) for p in self.params]

        @ts.no_grad()
        def step(self):
            for p, s in zip(self.params, self.mean_sq, strict=True):
                if p.grad is not None:
                    s *= self.alpha
                    s += (1 - self.alpha) * p.grad**2
                    p -= self.lr * p.grad / (np.sqrt(s) + self.eps)

    model, readout, opt, step = _training(RMSprop)
    step()
    saved = (model.state_dict(), readout.state_dict(), opt.state_dict())
    assert saved[2]["alpha"] == 0.99 and saved[2]["mean_sq"][0].any()
    went_on = [step() for _ in range(2)]
    model2, readout2, opt2, step2 = _training(RMSprop, seed=1)
    model2.load_state_dict(saved[0])
    readout2.load_state_dict(saved[1])
    opt2.load_state_dict(saved[2])
    assert [step2() for _ in range(2)] == went_on


def test_a_subclass_numpy_number_setting_of_a_checkpoint_loads_as_a_python_number():
    """As the built-in settings: a subclass's own NumPy float (a float64 one would make a
    float32 weight's state float64), also inside a tuple, loads as a Python float."""

    class Scaled(SGD):
        def __init__(self, params, lr=0.1, scale=1.0, pair=(1.0, 2.0)):
            super().__init__(params, lr)
            self.scale, self.pair = scale, pair

    opt = Scaled([ts.nn.Parameter(np.ones(2, np.float32))])
    old = {**opt.state_dict(), "scale": np.float64(0.5), "pair": (np.float32(0.25), 3)}
    opt.load_state_dict(old)
    assert type(opt.scale) is float and opt.scale == 0.5
    assert opt.pair == (0.25, 3) and [type(v) for v in opt.pair] == [float, int]


def test_saving_and_loading_leave_the_attributes_out_of_a_dict(monkeypatch):
    """state_dict and load_state_dict go through the attribute names the optimizer noted,
    never vars(self) or copy.copy (each reads the instance's __dict__, which on CPython
    3.11 leaves every later attribute read in step() slower); what they save is what
    vars() would give: a subclass's attributes, not a deleted one, a copy's own."""
    _, _, opt, step = _training(lambda ps: Adam(ps, lr=1e-2))
    step()
    opt.extra = [1.0]
    opt.gone = 2.0
    del opt.gone
    expected = {opt._saved_name(k) for k in vars(Adam(opt.params))} - {"params", "_names"}

    def refused(*args):
        raise AssertionError("read the instance's __dict__")

    monkeypatch.setattr(ts.optim, "vars", refused, raising=False)
    monkeypatch.setattr(ts.optim.copy, "copy", refused)
    state = opt.state_dict()
    assert set(state) == expected | {"optimizer", "extra"}
    opt.load_state_dict(state)
    assert opt.steps[0] == 1 and opt.extra == [1.0] and not hasattr(opt, "gone")
    monkeypatch.undo()
    twin = copy.copy(opt)
    twin.only_here = 3
    assert "only_here" not in opt.state_dict() and twin.state_dict()["only_here"] == 3


def _arrays(value):
    """Every array in `value` (inside lists, tuples and dicts)."""
    if isinstance(value, ts.backend.ARRAY_TYPES):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [a for v in value for a in _arrays(v)]
    return []


class _RowScaled(ts.optim.Optimizer):
    """Momentum kept in a dict per weight, a step size per row of each weight (an array of
    another shape than the weight's), a tuple per weight, and a list that is a setting."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, lr)
        self.schedule = [1.0, 0.5, 0.25]  # a list, but not one entry per weight
        self.t = 0
        self.state = [{"v": None, "steps": 0} for _ in self.params]
        # (made at once: an entry still None is checked against the weight's shape)
        self.rows = [ts.backend.array_module(p.data).zeros(p.shape[:1]) for p in self.params]
        self.last = [None] * len(self.params)

    @ts.no_grad()
    def step(self):
        factor = self.schedule[min(self.t, len(self.schedule) - 1)]
        self.t += 1
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            s, g = self.state[k], p.grad
            s["v"] = g.copy() if s["v"] is None else 0.9 * s["v"] + g
            s["steps"] += 1
            g2 = (g * g).reshape(p.shape[0], -1).sum(axis=1)
            self.rows[k] = 0.9 * self.rows[k] + g2
            scale = (1 / (1 + self.rows[k] ** 0.5)).reshape((-1,) + (1,) * (len(p.shape) - 1))
            self.last[k] = (factor, scale)
            p -= self.lr * factor * s["v"] * scale


def test_a_subclass_state_in_lists_tuples_and_dicts_resumes_on_the_weights_backend(backend):
    model, readout, opt, step = _training(_RowScaled)
    assert len(opt.params) != len(opt.schedule)
    step()
    saved = (model.state_dict(), readout.state_dict(), opt.state_dict())
    assert all(type(a) is np.ndarray for a in _arrays(saved[2]))  # NumPy copies, however nested
    went_on = [step() for _ in range(3)]
    model2, readout2, opt2, step2 = _training(_RowScaled, seed=1)
    model2.load_state_dict(saved[0])
    readout2.load_state_dict(saved[1])
    opt2.load_state_dict(saved[2])
    assert all(ts.backend.backend_of(a) == backend for a in _arrays([opt2.state, opt2.last]))
    assert opt2.schedule == [1.0, 0.5, 0.25] and opt2.state[0]["steps"] == 1
    saved[2]["schedule"][0] = 9.0  # the loaded optimizer holds copies, nested ones too
    saved[2]["state"][0]["v"][...] = 0.0
    assert opt2.schedule[0] == 1.0 and np_of(opt2.state[0]["v"]).any()
    assert [step2() for _ in range(3)] == went_on


# torch.optim's own settings, and the same gradients by hand: weight decay as PyTorch has it
TORCH_TWINS = [
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 1.0, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.6, "nesterov": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.3}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {}),  # the defaults: lr 1e-3, weight_decay 1e-2
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "name, settings", TORCH_TWINS, ids=[f"{n}-{sorted(s)}" for n, s in TORCH_TWINS]
)
def test_weight_decay_steps_as_pytorchs(name, settings, dtype, rng):
    """Eight steps, each with new gradients, one where a weight has none (it is skipped:
    no decay either): every weight, after every step, where torch.optim puts it."""
    torch = pytest.importorskip("torch")
    start = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(4).astype(dtype)]
    ours = [ts.Tensor(a, requires_grad=True) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    opt = getattr(ts.optim, name)(ours, **settings)
    reference = getattr(torch.optim, name)(theirs, **settings)
    xp = ts.backend.array_module(ours[0].data)
    tol = {"rtol": 1e-10, "atol": 1e-13} if dtype == np.float64 else {"rtol": 2e-5, "atol": 1e-6}
    for step in range(8):
        for k, (p, t) in enumerate(zip(ours, theirs, strict=True)):
            g = None if (step == 2 and k == 1) else rng.standard_normal(p.shape).astype(dtype)
            p.grad = None if g is None else xp.asarray(g)
            t.grad = None if g is None else torch.tensor(g)
        opt.step()
        reference.step()
        for p, t in zip(ours, theirs, strict=True):
            assert p.dtype == dtype
            np.testing.assert_allclose(np_of(p), t.detach().numpy(), **tol)
            if t.grad is not None:  # the decay went into the step, not into .grad
                np.testing.assert_array_equal(np_of(p.grad), t.grad.numpy())


def test_adamw_decays_the_weight_itself_and_adam_the_gradient():
    """With a zero gradient Adam's L2 term is all of g, so its first step is a full
    lr-sized step (g / √v = ±1), whatever λ; AdamW's is θ · lr · λ and nothing more."""
    a, w = param([2.0, -4.0]), param([2.0, -4.0])
    adam, adamw = Adam([a], lr=0.1, weight_decay=0.01), AdamW([w], lr=0.1, weight_decay=0.01)
    for p, opt in ((a, adam), (w, adamw)):
        p.grad = ts.backend.array_module(p.data).zeros(2)
        opt.step()
    np.testing.assert_allclose(a.numpy(), [2.0 - 0.1, -4.0 + 0.1], rtol=1e-6)
    np.testing.assert_allclose(w.numpy(), [2.0 * 0.999, -4.0 * 0.999], rtol=1e-12)


def test_weight_decay_is_off_by_default_and_checked():
    p = param([1.0])
    assert SGD([p], lr=0.1).weight_decay == 0.0 and Adam([p]).weight_decay == 0.0
    assert AdamW([p]).weight_decay == 1e-2 and AdamW([p]).lr == 1e-3  # torch's defaults
    from_numpy = SGD([p], lr=0.1, weight_decay=np.array(0.5))  # (a 0-d array, as lr takes)
    assert type(from_numpy.weight_decay) is float
    p.grad = ts.backend.array_module(p.data).zeros(1)
    from_numpy.step()  # (on CuPy too: a float, not a NumPy array, meets the weight)
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 * 0.5], rtol=1e-12)
    for make in (
        lambda wd: SGD([p], lr=0.1, weight_decay=wd),
        lambda wd: Adam([p], weight_decay=wd),
        lambda wd: AdamW([p], weight_decay=wd),
    ):
        for bad in (-0.1, float("inf"), float("nan")):
            with pytest.raises(ValueError, match=r"weight_decay must be a finite number >= 0"):
                make(bad)
        for bad in ("0.1", None, True):
            with pytest.raises(TypeError, match=r"weight_decay must be a number, got"):
                make(bad)
    with pytest.raises(ValueError, match=r"^AdamW: weight_decay must be .*, got -1$"):
        AdamW([p], weight_decay=-1)
    with pytest.raises(ValueError, match=r"^AdamW: betas must be in"):  # its own name
        AdamW([p], betas=(1.0, 0.9))


def test_a_checkpoint_from_before_weight_decay_loads_as_no_decay():
    _, _, opt, step = _training(lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1))
    step()
    old = {k: v for k, v in opt.state_dict().items() if k != "weight_decay"}
    assert opt.load_state_dict(old).weight_decay == 0.0 and opt.momentum == 0.9
    adamw = AdamW(opt.params)  # (AdamW never lacked it: its state must hold it)
    old = {k: v for k, v in adamw.state_dict().items() if k != "weight_decay"}
    with pytest.raises(ValueError, match="the state holds"):
        adamw.load_state_dict(old)
    with pytest.raises(TypeError, match="^AdamW.load_state_dict: the state is Adam's, not"):
        adamw.load_state_dict(Adam(opt.params).state_dict())


def test_an_sgd_checkpoint_from_before_dampening_and_nesterov_loads_as_plain_momentum():
    """A state saved before SGD had dampening= and nesterov= (and weight_decay=) meant
    plain momentum: it loads as dampening 0, nesterov off, and training resumes as the run
    that went on, bit for bit, into an SGD made with other settings."""
    model, readout, opt, step = _training(lambda ps: SGD(ps, lr=0.1, momentum=0.9))
    step()
    weights = (model.state_dict(), readout.state_dict())
    new_keys = ("dampening", "nesterov", "weight_decay")
    old = {k: v for k, v in opt.state_dict().items() if k not in new_keys}
    went_on = [step() for _ in range(3)]
    for settings in ({"dampening": 0.5, "weight_decay": 0.1}, {"nesterov": True}):
        model2, readout2, opt2, step2 = _training(
            lambda ps, s=settings: SGD(ps, lr=0.5, momentum=0.5, **s), seed=1
        )
        model2.load_state_dict(weights[0])
        readout2.load_state_dict(weights[1])
        opt2.load_state_dict(old)
        assert (opt2.momentum, opt2.dampening, opt2.nesterov, opt2.weight_decay) == (
            0.9,
            0.0,
            False,
            0.0,
        )
        assert [step2() for _ in range(3)] == went_on


def test_sgd_dampening_and_nesterov_are_checked():
    p = param([1.0])
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"^SGD: dampening must be in \[0, 1\]"):
            SGD([p], lr=0.1, momentum=0.9, dampening=bad)
    with pytest.raises(TypeError, match=r"^SGD: dampening must be a number, got str"):
        SGD([p], lr=0.1, dampening="0.1")
    for settings in ({}, {"momentum": 0.0}, {"momentum": 0.9, "dampening": 0.1}):
        with pytest.raises(
            ValueError, match=r"^SGD: nesterov=True needs momentum > 0 and dampening 0, got"
        ):
            SGD([p], lr=0.1, nesterov=True, **settings)
    with pytest.raises(TypeError, match=r"^SGD: nesterov must be True or False, got str"):
        SGD([p], lr=0.1, momentum=0.9, nesterov="yes")
    opt = SGD([p], lr=0.1, momentum=np.float32(0.5), dampening=np.float64(0.25))
    assert (opt.momentum, opt.dampening, opt.nesterov) == (0.5, 0.25, False)
    assert type(opt.momentum) is float and type(opt.dampening) is float  # (NumPy's: floats)
    assert SGD([p], lr=0.1, momentum=0.9, nesterov=np.bool_(True)).nesterov is True


@pytest.mark.parametrize("who", ["optimizer", "module", "tensor"])
def test_zero_grad_set_to_none_false_writes_zeros_into_the_kept_arrays(who):
    model = ts.nn.Linear(3, 2)
    opt = ts.optim.SGD(model.parameters(), lr=0.1)
    model(ts.Tensor(np.ones((4, 3)))).sum().backward()
    kept = [p.grad for p in model.parameters()]
    clear = {"optimizer": opt.zero_grad, "module": model.zero_grad, "tensor": None}[who]
    if clear is None:
        for p in model.parameters():
            p.zero_grad(set_to_none=False)
    else:
        clear(set_to_none=False)
    for p, array in zip(model.parameters(), kept, strict=True):
        assert p.grad is array and not array.any()  # the same arrays, now zeros
    model(ts.Tensor(np.ones((4, 3)))).sum().backward()  # accumulates into them
    np.testing.assert_allclose(np_of(model.b.grad), [4.0, 4.0])
    opt.zero_grad()  # PyTorch's default, set_to_none=True
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(TypeError, match="set_to_none"):
        opt.zero_grad(set_to_none="no")


def test_pytorchs_param_groups_and_clip_grad_norm__say_what_to_write():
    opt = ts.optim.Adam([ts.nn.Parameter(np.zeros(2))])
    with pytest.raises(AttributeError, match=r"Adam has no param_groups.*opt\.lr = 1e-4"):
        opt.param_groups  # noqa: B018
    assert "param_groups" not in opt.state_dict()
    with pytest.raises(AttributeError, match=r"write ts\.optim\.clip_grad_norm\(params, max_norm"):
        ts.optim.clip_grad_norm_  # noqa: B018
    with pytest.raises(AttributeError, match=r"write ts\.optim\.clip_grad_value\(params, clip_v"):
        ts.optim.clip_grad_value_  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        ts.optim.nothing_here  # noqa: B018


@pytest.mark.parametrize(
    "lr", [np.float32(0.25), np.float64(0.25), np.array(0.25), np.int64(1), 0.25]
)
def test_a_numpy_number_lr_becomes_a_python_float(lr):
    """The settings are read as Python floats: a NumPy float64 lr or momentum would make a
    float32 weight's momentum float64 (and a 0-d array lr is no number to print)."""
    for opt in (
        SGD([param([1.0])], lr=lr, momentum=np.float64(0.5)),
        Adam([param([1.0])], lr=lr, eps=np.float32(1e-6)),
        AdamW([param([1.0])], lr=lr),
    ):
        assert type(opt.lr) is float and opt.lr == float(lr)
        assert type(opt.state_dict()["lr"]) is float
    assert type(opt.eps) is float and type(Adam([param([1.0])], eps=np.float32(1e-6)).eps) is float
    w = ts.nn.Parameter(np.ones(3, np.float32))
    opt = SGD([w], lr=np.float64(0.5), momentum=np.float64(0.5))
    for _ in range(2):
        w.grad = ts.backend.array_module(w.data).ones(3, np.float32)
        opt.step()
    assert w.dtype == np.float32 and opt.velocity[0].dtype == np.float32
    np.testing.assert_array_equal(np_of(w), np.full(3, 1 - 0.5 - 0.5 * 1.5, np.float32))


def test_numpy_number_settings_of_an_older_checkpoint_load_as_python_floats():
    """A checkpoint written when settings were kept as given may hold a NumPy float64 lr or
    momentum (or a 0-d array lr): loaded, they are Python floats, so a float32 weight's
    momentum stays float32, as for an optimizer made with them."""
    w = ts.nn.Parameter(np.ones(3, np.float32))
    opt = SGD([w], lr=0.1, momentum=0.9)
    old = opt.state_dict()
    old.update(lr=np.array(0.5), momentum=np.float64(0.5))
    opt.load_state_dict(old)
    assert type(opt.lr) is float and type(opt.momentum) is float
    for _ in range(2):
        w.grad = ts.backend.array_module(w.data).ones(3, np.float32)
        opt.step()
    assert opt.velocity[0].dtype == np.float32
    np.testing.assert_array_equal(np_of(w), np.full(3, 1 - 0.5 - 0.5 * 1.5, np.float32))
    adam = Adam([w])
    old = adam.state_dict()
    old.update(betas=(np.float64(0.8), np.float32(0.9)), eps=np.float64(1e-6))
    adam.load_state_dict(old)
    assert adam.betas == (0.8, float(np.float32(0.9))) and type(adam.eps) is float
    assert all(type(b) is float for b in adam.betas)


@pytest.mark.parametrize(
    "lr", [np.float64(0.25), np.float32(0.25), np.array(0.25), np.int64(1), 0.25, 0]
)
def test_an_lr_set_by_hand_is_a_python_float_as_the_constructors(lr):
    """opt.lr = np.float64(...) (a value read off a NumPy schedule) is read as a Python
    float, as the constructor reads it: a float64 lr would make a float32 weight's momentum
    float64. An lr of 0 is allowed here (a cosine schedule ends there)."""
    w = ts.nn.Parameter(np.ones(3, np.float32))
    opt = SGD([w], lr=0.1, momentum=0.5)
    opt.lr = lr
    assert type(opt.lr) is float and opt.lr == float(lr)
    assert type(opt.state_dict()["lr"]) is float
    for _ in range(2):
        w.grad = ts.backend.array_module(w.data).ones(3, np.float32)
        opt.step()
    assert w.dtype == np.float32 and opt.velocity[0].dtype == np.float32
    expected = 1 - float(lr) - float(lr) * 1.5  # v = g, then v = 0.5 v + g
    np.testing.assert_allclose(np_of(w), np.full(3, expected, np.float32), rtol=1e-6)


def test_an_lr_set_by_hand_from_a_tensor_is_its_number():
    opt = Adam([param([1.0])])
    opt.lr = ts.Tensor(np.float64(0.5))
    assert type(opt.lr) is float and opt.lr == 0.5


def test_bad_settings_set_by_hand_are_refused_as_the_constructors_and_change_nothing():
    p = param([1.0])
    sgd = SGD([p], lr=0.1, momentum=0.5, dampening=0.25)
    adam = AdamW([p], lr=0.2, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)
    before = (sgd.state_dict(), adam.state_dict())
    bad_values = [
        (sgd, "lr", "0.1", TypeError, r"^SGD: lr must be a number, got str '0\.1'$"),
        (sgd, "lr", None, TypeError, r"^SGD: lr must be a number, got NoneType"),
        (sgd, "lr", True, TypeError, r"^SGD: lr must be a number, got bool"),
        (sgd, "lr", -0.1, ValueError, r"^SGD: lr must be a finite number >= 0, got -0\.1$"),
        (sgd, "lr", float("nan"), ValueError, r"^SGD: lr must be a finite number >= 0, got nan"),
        (adam, "lr", math.inf, ValueError, r"^AdamW: lr must be a finite number >= 0, got inf"),
        (adam, "lr", ts.Tensor([0.1, 0.2]), TypeError, r"^AdamW: lr must be a number, got Tensor"),
        (sgd, "momentum", 1.0, ValueError, r"^SGD: momentum must be in \[0, 1\), got 1\.0$"),
        (sgd, "momentum", "0.9", TypeError, r"^SGD: momentum must be a number"),
        (sgd, "dampening", 2, ValueError, r"^SGD: dampening must be in \[0, 1\]"),
        (sgd, "nesterov", "yes", TypeError, r"^SGD: nesterov must be True or False"),
        (sgd, "weight_decay", -1, ValueError, r"^SGD: weight_decay must be a finite number >= 0"),
        (adam, "betas", 0.9, TypeError, r"^AdamW: betas must be a pair \(β1, β2\)"),
        (adam, "betas", (0.9, 0.99, 0.5), TypeError, r"^AdamW: betas must be a pair"),
        (adam, "betas", (0.9, 1.0), ValueError, r"^AdamW: betas must be in \[0, 1\)"),
        (adam, "eps", 0.0, ValueError, r"^AdamW: eps must be a finite number > 0"),
        (adam, "weight_decay", math.nan, ValueError, r"^AdamW: weight_decay must be a finite"),
        (adam, "initial_lr", -1.0, ValueError, r"^AdamW: initial_lr must be a finite"),
    ]
    for opt, name, value, error, message in bad_values:
        with pytest.raises(error, match=message):
            setattr(opt, name, value)
    assert (sgd.state_dict(), adam.state_dict()) == before  # nothing changed


def test_settings_set_by_hand_are_python_numbers_that_step_and_save_by_their_names():
    w = ts.nn.Parameter(np.ones(2, np.float32))
    opt = Adam([w], lr=0.1)
    opt.betas, opt.eps, opt.weight_decay = [np.float64(0.5), np.float32(0.25)], np.array(1e-3), 1
    assert opt.betas == (0.5, 0.25) and type(opt.eps) is float and opt.weight_decay == 1.0
    assert all(type(b) is float for b in opt.betas) and type(opt.weight_decay) is float
    w.grad = ts.backend.array_module(w.data).full(2, 2.0, np.float32)
    opt.step()  # g = 2 + 1·1 = 3; m̂ = g, v̂ = g²: a step of lr · 3 / (3 + eps)
    assert opt.m[0].dtype == np.float32
    np.testing.assert_allclose(np_of(w), np.full(2, 1 - 0.1 * 3 / (3 + 1e-3)), rtol=1e-6)
    state = opt.state_dict()
    assert {"lr", "betas", "eps", "weight_decay", "initial_lr"} <= set(state)
    assert not any(key.startswith("_") for key in state)
    fresh = Adam([ts.nn.Parameter(np.ones(2, np.float32))]).load_state_dict(state)
    assert (fresh.lr, fresh.betas, fresh.eps, fresh.weight_decay) == (0.1, (0.5, 0.25), 1e-3, 1.0)
    sgd = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    sgd.nesterov, sgd.momentum, sgd.dampening = np.bool_(False), np.float64(0.5), 0.5
    assert (sgd.nesterov, sgd.momentum, sgd.dampening) == (False, 0.5, 0.5)
    assert type(sgd.momentum) is float and sgd.nesterov is False


def test_a_state_with_a_bad_setting_is_refused_and_leaves_the_optimizer_untouched():
    """load_state_dict checks each setting as setting it by hand does, before taking any."""
    _, _, opt, step = _training(lambda ps: SGD(ps, lr=0.1, momentum=0.9))
    step()
    good = opt.state_dict()
    velocity = opt.velocity
    for key, bad, error in (("lr", -0.5, ValueError), ("momentum", "0.9", TypeError)):
        with pytest.raises(error, match=rf"^SGD: {key} must be"):
            opt.load_state_dict({**good, key: bad, "velocity": [None] * len(opt.params)})
        assert opt.velocity is velocity and (opt.lr, opt.momentum) == (0.1, 0.9)
    schedule_end = {**good, "lr": 0.0}  # (an lr of 0, as a cosine schedule leaves it)
    assert opt.load_state_dict(schedule_end).lr == 0.0
