"""Learning-rate schedules (StepLR, ExponentialLR, CosineAnnealingLR, LambdaLR): the lr of
every epoch against torch.optim.lr_scheduler's, training with one against torch.optim, and
a checkpoint that resumes the schedule exactly (dropout too, with the generator's state)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of
from tinygrad_seq.optim import SGD, AdamW, CosineAnnealingLR, ExponentialLR, LambdaLR, StepLR


def _warm_up(epoch):
    return min(1.0, (epoch + 1) / 4) * 0.9**epoch


# (class name, the schedule's arguments after the optimizer), as PyTorch spells them
SCHEDULES = [
    ("StepLR", {"step_size": 3}),  # gamma 0.1
    ("StepLR", {"step_size": 1, "gamma": 0.7}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7}),  # down to 0 at epoch 7, then back up
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 1e-3}),
    ("LambdaLR", {"lr_lambda": _warm_up}),
]
IDS = [f"{name}-{sorted(kwargs.values(), key=str)}" for name, kwargs in SCHEDULES]


def _torch_lrs(torch, name, kwargs, lr, epochs):
    """torch.optim.lr_scheduler's lr after making it and after each of `epochs` steps."""
    weight = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([weight], lr=lr)
    scheduler = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()  # (no gradient: a no-op, but the order PyTorch expects)
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=IDS)
def test_the_lr_of_every_epoch_is_pytorchs(name, kwargs):
    """PyTorch's schedulers multiply the last lr by a ratio each epoch, these evaluate the
    closed form: the same sequence up to rounding, over four cosine half-periods."""
    torch = pytest.importorskip("torch")
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=0.1)
    scheduler = getattr(ts.optim, name)(opt, **kwargs)
    ours = [scheduler.get_last_lr()[0]]
    assert opt.lr == ours[0]  # set at once, as PyTorch's
    for _ in range(30):
        opt.step()
        scheduler.step()
        ours.append(scheduler.get_last_lr()[0])
        assert opt.lr == ours[-1]
    np.testing.assert_allclose(
        ours, _torch_lrs(torch, name, kwargs, 0.1, 30), rtol=1e-12, atol=1e-15
    )
    assert len(set(ours)) > 3  # (a schedule that moved)


def lib_schedules(lib):
    """Where a library keeps its schedules: ts.optim, torch.optim.lr_scheduler."""
    return lib.optim if lib is ts else lib.optim.lr_scheduler


@pytest.mark.parametrize(
    "make_opt, make_scheduler",
    [
        (
            lambda lib, ps: lib.optim.SGD(ps, lr=0.2, momentum=0.9, weight_decay=0.01),
            lambda lib, opt: lib_schedules(lib).StepLR(opt, step_size=2, gamma=0.5),
        ),
        (
            lambda lib, ps: lib.optim.AdamW(ps, lr=0.05),
            lambda lib, opt: lib_schedules(lib).CosineAnnealingLR(opt, T_max=4, eta_min=0.01),
        ),
        (
            lambda lib, ps: lib.optim.Adam(ps, lr=0.05, weight_decay=0.1),
            lambda lib, opt: lib_schedules(lib).LambdaLR(opt, _warm_up),
        ),
        (
            lambda lib, ps: lib.optim.SGD(ps, lr=0.3, momentum=0.5),
            lambda lib, opt: lib_schedules(lib).ExponentialLR(opt, gamma=0.8),
        ),
    ],
    ids=["sgd-steplr", "adamw-cosine", "adam-lambda", "sgd-exponential"],
)
def test_training_with_a_schedule_steps_as_pytorch(make_opt, make_scheduler, rng):
    """Ten epochs of new gradients: the weights after each, on this test's backend, where
    torch.optim and its scheduler put them."""
    torch = pytest.importorskip("torch")
    start = rng.standard_normal((3, 4))
    weight, twin = ts.nn.Parameter(start.copy()), torch.tensor(start, requires_grad=True)
    opt, reference = make_opt(ts, [weight]), make_opt(torch, [twin])
    scheduler, torch_scheduler = make_scheduler(ts, opt), make_scheduler(torch, reference)
    xp = ts.backend.array_module(weight.data)
    for _ in range(10):
        g = rng.standard_normal((3, 4))
        weight.grad, twin.grad = xp.asarray(g), torch.tensor(g)
        opt.step()
        reference.step()
        scheduler.step()
        torch_scheduler.step()
        np.testing.assert_allclose(np_of(weight), twin.detach().numpy(), rtol=1e-10, atol=1e-13)
    assert scheduler.get_last_lr()[0] == pytest.approx(torch_scheduler.get_last_lr()[0])


@pytest.mark.parametrize(
    "make_scheduler",
    [
        lambda opt: StepLR(opt, step_size=2, gamma=0.5),
        lambda opt: ExponentialLR(opt, gamma=0.7),
        lambda opt: CosineAnnealingLR(opt, T_max=5, eta_min=1e-3),
        lambda opt: LambdaLR(opt, lambda epoch: 1 / (1 + epoch)),  # a lambda: not pickled
    ],
    ids=["step", "exponential", "cosine", "lambda"],
)
def test_a_checkpointed_schedule_resumes_training_exactly(make_scheduler, rng):
    """Saved after three epochs with the model's and the optimizer's state, loaded into a
    model, optimizer and schedule made afresh (other weights, another lr): the next four
    epochs' losses and lrs are the ones of the run that went on, bit for bit."""
    xs, ys = ts.Tensor(rng.standard_normal((8, 3))), ts.Tensor(rng.standard_normal((8, 2)))

    def training(seed, lr):
        ts.manual_seed(seed)
        model = ts.nn.Linear(3, 2)
        opt = AdamW(model.parameters(), lr=lr)
        scheduler = make_scheduler(opt)

        def epoch():
            opt.zero_grad()
            loss = ((model(xs) - ys) ** 2).mean()
            loss.backward()
            opt.step()
            scheduler.step()
            return loss.item(), scheduler.get_last_lr()[0]

        return model, opt, scheduler, epoch

    model, opt, scheduler, epoch = training(seed=0, lr=0.1)
    for _ in range(3):
        epoch()
    saved = pickle.dumps((model.state_dict(), opt.state_dict(), scheduler.state_dict()))
    went_on = [epoch() for _ in range(4)]

    model2, opt2, scheduler2, epoch2 = training(seed=1, lr=0.5)
    model_state, opt_state, scheduler_state = pickle.loads(saved)
    model2.load_state_dict(model_state)
    assert scheduler2.load_state_dict(scheduler_state) is scheduler2  # (before the optimizer's)
    assert opt2.lr == opt_state["lr"] != 0.5  # set by the schedule's state
    opt2.load_state_dict(opt_state)
    assert scheduler2.last_epoch == 3 and scheduler2.base_lr == 0.1
    assert [epoch2() for _ in range(4)] == went_on

    model3, opt3, _, epoch3 = training(seed=1, lr=0.5)  # without the schedule's state
    model3.load_state_dict(model_state)
    opt3.load_state_dict(opt_state)
    assert [epoch3() for _ in range(4)] != went_on


def test_a_checkpoint_with_the_generators_state_resumes_dropout_exactly(rng):
    """Dropout draws its masks from the engine's generator: a checkpoint that carries its
    state (as the README says) resumes bit for bit; one without it draws other masks."""
    xs, ys = ts.Tensor(rng.standard_normal((8, 3))), ts.Tensor(rng.standard_normal((8, 2)))

    def training(seed):
        ts.manual_seed(seed)
        model = ts.nn.Sequential(
            ts.nn.Linear(3, 16), lambda h: ts.F.dropout(h, 0.5), ts.nn.Linear(16, 2)
        )
        opt = AdamW(model.parameters(), lr=0.05)
        scheduler = CosineAnnealingLR(opt, T_max=6)

        def epoch():
            opt.zero_grad()
            loss = ((model(xs) - ys) ** 2).mean()
            loss.backward()
            opt.step()
            scheduler.step()
            return loss.item()

        return model, opt, scheduler, epoch

    model, opt, scheduler, epoch = training(seed=0)
    for _ in range(3):
        epoch()
    states = (model.state_dict(), opt.state_dict(), scheduler.state_dict())
    saved = pickle.dumps((*states, ts.get_rng_state()))
    went_on = [epoch() for _ in range(3)]

    for carry_generator in (True, False):
        model2, opt2, scheduler2, epoch2 = training(seed=1)
        model_state, opt_state, scheduler_state, generator = pickle.loads(saved)
        model2.load_state_dict(model_state)
        opt2.load_state_dict(opt_state)
        scheduler2.load_state_dict(scheduler_state)
        if carry_generator:
            ts.set_rng_state(generator)
            assert [epoch2() for _ in range(3)] == went_on
        else:
            assert [epoch2() for _ in range(3)] != went_on


def test_a_loaded_schedule_sets_the_optimizers_lr_and_keeps_its_own_copy():
    opt = SGD([ts.nn.Parameter(np.zeros(2))], lr=1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        scheduler.step()
    state = scheduler.state_dict()
    assert state["scheduler"] == "StepLR" and "optimizer" not in state
    assert state["last_epoch"] == 3 and state["_last_lr"] == 0.125

    fresh = SGD([ts.nn.Parameter(np.zeros(2))], lr=1.0)
    loaded = StepLR(fresh, step_size=1, gamma=0.5).load_state_dict(state)
    assert fresh.lr == 0.125 and loaded.get_last_lr() == [0.125]
    state["last_epoch"] = 99  # the loaded scheduler holds its own copy
    loaded.step()
    assert fresh.lr == 0.0625 and loaded.last_epoch == 4


def test_a_bad_schedule_state_is_refused_and_leaves_the_scheduler_untouched():
    opt = SGD([ts.nn.Parameter(np.zeros(2))], lr=1.0)
    scheduler = CosineAnnealingLR(opt, T_max=10)
    scheduler.step()
    with pytest.raises(TypeError, match="^CosineAnnealingLR.load_state_dict: the state is"):
        scheduler.load_state_dict(StepLR(opt, step_size=2).state_dict())
    with pytest.raises(TypeError, match="expected the dict of a scheduler's state_dict()"):
        scheduler.load_state_dict(opt.state_dict())
    partial = {k: v for k, v in scheduler.state_dict().items() if k != "eta_min"}
    with pytest.raises(ValueError, match=r"the state holds \['T_max', '_last_lr'"):
        scheduler.load_state_dict(partial)
    lambda_state = LambdaLR(opt, _warm_up).state_dict()
    assert "lr_lambda" not in lambda_state and lambda_state["scheduler"] == "LambdaLR"


def test_bad_schedule_arguments_are_clear_errors():
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=0.1)
    for bad in (0, -2):
        with pytest.raises(ValueError, match="StepLR: step_size must be at least 1 epoch"):
            StepLR(opt, step_size=bad)
    for bad in (2.5, "3", None):
        with pytest.raises(TypeError, match=r"StepLR: step_size must be an int \(epochs\)"):
            StepLR(opt, step_size=bad)
    for bad in (0.0, -0.5, float("nan")):
        with pytest.raises(ValueError, match="StepLR: gamma must be a finite number > 0"):
            StepLR(opt, 2, gamma=bad)
    for bad in (0.0, -0.5, float("inf")):
        with pytest.raises(ValueError, match="ExponentialLR: gamma must be a finite number > 0"):
            ExponentialLR(opt, gamma=bad)
    with pytest.raises(TypeError, match="ExponentialLR: gamma must be a number, got str"):
        ExponentialLR(opt, "0.9")
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'gamma'"):
        ExponentialLR(opt)  # (no default, as PyTorch's)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be at least 1 epoch"):
        CosineAnnealingLR(opt, T_max=0)
    for bad in (-1e-3, math.inf):
        with pytest.raises(ValueError, match="eta_min must be a finite number >= 0"):
            CosineAnnealingLR(opt, 10, eta_min=bad)
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda must be a function of the epoch"):
        LambdaLR(opt, [_warm_up])
    with pytest.raises(ValueError, match=r"LambdaLR: lr_lambda\(0\) returned -1"):
        LambdaLR(opt, lambda epoch: -1)
    assert opt.initial_lr is None  # (a schedule that failed is no first schedule)
    schedule = LambdaLR(opt, lambda epoch: 1.0 if epoch < 1 else "0.5")
    with pytest.raises(TypeError, match=r"lr_lambda\(1\) must be a number"):
        schedule.step()
    assert opt.lr == 0.1 and schedule.last_epoch == 0  # the step that failed did nothing
    with pytest.raises(TypeError, match="StepLR: expected an optimizer such as ts.optim.SGD"):
        StepLR(opt.params, step_size=2)
    assert opt.lr == 0.1


def test_a_warm_up_from_zero_steps_nothing_then_the_lr_rises():
    """A factor of 0 is allowed (PyTorch's warm-ups start there): an lr of 0 steps by 0."""
    w = ts.nn.Parameter(np.ones(2))
    opt = SGD([w], lr=0.5)
    scheduler = LambdaLR(opt, lambda epoch: epoch / 2)
    assert opt.lr == 0.0
    w.grad = ts.backend.xp.ones(2)
    opt.step()
    assert w.numpy().tolist() == [1.0, 1.0]
    scheduler.step()
    opt.step()
    assert opt.lr == 0.25 and w.numpy().tolist() == [0.75, 0.75]


def test_get_last_lr_is_the_schedules_even_after_the_lr_is_set_by_hand():
    """As PyTorch's: get_last_lr() answers what the last step() set, not the optimizer's lr
    of the moment."""
    torch = pytest.importorskip("torch")
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    scheduler.step()
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    t_scheduler = torch.optim.lr_scheduler.StepLR(t_opt, step_size=1, gamma=0.5)
    t_opt.step()
    t_scheduler.step()
    opt.lr = t_opt.param_groups[0]["lr"] = 0.3
    assert scheduler.get_last_lr() == t_scheduler.get_last_lr() == [0.5]


def test_lr_lambda_is_called_once_an_epoch_as_pytorchs():
    """get_last_lr() is the lr the step set, not lr_lambda asked again (it may count, or
    draw)."""
    torch = pytest.importorskip("torch")
    ours, theirs = [], []
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=1.0)
    scheduler = LambdaLR(opt, lambda epoch: ours.append(epoch) or 0.5**epoch)
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    t_scheduler = torch.optim.lr_scheduler.LambdaLR(
        t_opt, lambda epoch: theirs.append(epoch) or 0.5**epoch
    )
    for _ in range(3):
        t_opt.step()
        scheduler.step()
        t_scheduler.step()
        assert scheduler.get_last_lr() == t_scheduler.get_last_lr() == [opt.lr]
    assert ours == theirs == [0, 1, 2, 3]


def test_a_numpy_float32_lr_gives_python_float_lrs_in_float64():
    """The base lr is read as a Python float: the schedule's lrs are worked out in float64,
    not rounded to float32 at each epoch as np.float32(0.1) * 0.1 would be."""
    base = np.float32(0.1)
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=base)
    scheduler = StepLR(opt, step_size=1, gamma=0.1)
    for epoch in range(1, 4):
        scheduler.step()
        (lr,) = scheduler.get_last_lr()
        assert type(lr) is float and type(opt.lr) is float
        assert lr == float(base) * 0.1**epoch


def _resumed_lrs(lib, name, kwargs, done, epochs):
    """The lrs of a schedule run `done` epochs, its optimizer's state saved, then resumed
    in a new optimizer (made with another lr) from that state with last_epoch=done: the lr
    the resumed schedule sets when made, then after each of `epochs` steps; and the lrs of
    the run that went on, epoch by epoch, for comparison."""

    def make_weight():
        return ts.nn.Parameter(np.zeros(1)) if lib is ts else lib.zeros(1, requires_grad=True)

    opt = lib.optim.SGD([make_weight()], lr=0.1)
    scheduler = getattr(lib_schedules(lib), name)(opt, **kwargs)
    for _ in range(done):
        opt.step()
        scheduler.step()
    saved = opt.state_dict()
    went_on = []
    for _ in range(epochs + 1):
        opt.step()
        scheduler.step()
        went_on.append(scheduler.get_last_lr()[0])
    resumed_opt = lib.optim.SGD([make_weight()], lr=0.5)
    resumed_opt.load_state_dict(saved)
    resumed = getattr(lib_schedules(lib), name)(resumed_opt, **kwargs, last_epoch=done)
    assert resumed.last_epoch == done + 1  # (made, it steps once, as a new one does)
    lrs = [resumed.get_last_lr()[0]]
    for _ in range(epochs):
        resumed_opt.step()
        resumed.step()
        lrs.append(resumed.get_last_lr()[0])
    return lrs, went_on


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=IDS)
def test_a_schedule_resumed_with_last_epoch_goes_on_as_pytorchs(name, kwargs):
    """PyTorch's resume: load the optimizer's state (which holds the schedule's starting
    lr), then make the schedule with last_epoch: it sets the lr of the next epoch, from the
    starting lr, not from the optimizer's lr of the moment. The same lrs as the run that
    went on (bit for bit: the closed forms), which are PyTorch's; PyTorch's resumed StepLR
    and LambdaLR give them too. Its resumed ExponentialLR and CosineAnnealingLR do not: their
    recursive forms keep the loaded lr on the resuming step, and so lag an epoch (the cosine
    from eta_min stays there until the next period)."""
    torch = pytest.importorskip("torch")
    ours, went_on = _resumed_lrs(ts, name, kwargs, done=5, epochs=12)
    assert ours == went_on and len(set(ours)) > 2
    theirs_resumed, theirs_went_on = _resumed_lrs(torch, name, kwargs, done=5, epochs=12)
    np.testing.assert_allclose(ours, theirs_went_on, rtol=1e-12, atol=1e-15)
    if name == "ExponentialLR":  # theirs an epoch behind: the loaded lr, then ours
        assert theirs_resumed[0] == pytest.approx(0.1 * kwargs["gamma"] ** 5)
        np.testing.assert_allclose(theirs_resumed[1:], ours[:-1], rtol=1e-12, atol=1e-15)
    elif name != "CosineAnnealingLR":
        np.testing.assert_allclose(ours, theirs_resumed, rtol=1e-12, atol=1e-15)


def test_last_epoch_needs_the_optimizers_starting_lr_and_is_checked():
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=0.1)
    assert opt.initial_lr is None and opt.state_dict()["initial_lr"] is None
    with pytest.raises(ValueError, match=r"^StepLR: last_epoch=3 resumes a schedule from the"):
        StepLR(opt, step_size=2, last_epoch=3)
    assert opt.lr == 0.1 and opt.initial_lr is None  # (nothing changed)
    for bad in (-2, -10):
        with pytest.raises(ValueError, match=r"^CosineAnnealingLR: last_epoch must be -1 \(a new"):
            CosineAnnealingLR(opt, T_max=4, last_epoch=bad)
    for bad in (1.5, "3", True, None):
        with pytest.raises(TypeError, match=r"^LambdaLR: last_epoch must be an int \(the last"):
            LambdaLR(opt, _warm_up, last_epoch=bad)
    StepLR(opt, step_size=2, gamma=0.5)  # a new schedule records where it started
    assert opt.initial_lr == 0.1 and opt.state_dict()["initial_lr"] == 0.1
    opt.initial_lr = np.float64(0.3)  # set by hand (a Python float), a resume starts there
    assert type(opt.initial_lr) is float
    resumed = StepLR(opt, step_size=2, gamma=0.5, last_epoch=np.int64(2))  # (NumPy's int)
    assert resumed.base_lr == 0.3 and opt.lr == 0.3 * 0.5 and resumed.last_epoch == 3


def test_an_optimizer_checkpoint_from_before_initial_lr_still_loads():
    opt = SGD([ts.nn.Parameter(np.zeros(2))], lr=0.2, momentum=0.9)
    StepLR(opt, step_size=1)
    old = {k: v for k, v in opt.state_dict().items() if k != "initial_lr"}
    fresh = SGD([ts.nn.Parameter(np.zeros(2))], lr=0.5)
    StepLR(fresh, step_size=1)
    assert fresh.initial_lr == 0.5
    assert fresh.load_state_dict(old).initial_lr is None and fresh.lr == 0.2
    with pytest.raises(ValueError, match="lacks"):  # (no starting lr to resume from)
        StepLR(fresh, step_size=1, last_epoch=4)


def _second_schedule(lib, first, second, done, epochs, lr=0.1, by_hand=None):
    """The lrs of a schedule `second` made on an optimizer after `done` epochs of a schedule
    `first` (and after `opt.lr = by_hand`, if given): (initial_lr, base_lr, lrs), the lr
    after making it and after each of `epochs` steps. `lib` is ts or torch."""
    is_torch = lib is not ts
    weight = lib.zeros(1, requires_grad=True) if is_torch else ts.nn.Parameter(np.zeros(1))
    opt = lib.optim.SGD([weight], lr=lr)
    schedules = lib.optim.lr_scheduler if is_torch else lib.optim
    scheduler = getattr(schedules, first[0])(opt, **first[1])
    for _ in range(done):
        opt.step()
        scheduler.step()
    if by_hand is not None:
        if is_torch:
            opt.param_groups[0]["lr"] = by_hand
        else:
            opt.lr = by_hand
    scheduler = getattr(schedules, second[0])(opt, **second[1])
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    if is_torch:
        return opt.param_groups[0]["initial_lr"], scheduler.base_lrs[0], lrs
    return opt.initial_lr, scheduler.base_lr, lrs


SECOND_SCHEDULES = [
    ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.8}),
    ("CosineAnnealingLR", {"T_max": 4}),
    ("LambdaLR", {"lr_lambda": _warm_up}),
]


@pytest.mark.parametrize("second", SECOND_SCHEDULES, ids=[n for n, _ in SECOND_SCHEDULES])
@pytest.mark.parametrize("by_hand", [None, 0.3], ids=["after-a-schedule", "lr-set-by-hand"])
def test_a_second_schedule_keeps_the_first_ones_initial_lr_as_pytorchs(second, by_hand):
    """PyTorch records initial_lr once (setdefault) and every schedule on the optimizer takes
    it as base_lrs: so do these, new or resumed. PyTorch's LambdaLR gives the same lrs; its
    recursive StepLR, ExponentialLR and CosineAnnealingLR start from the lr of the moment
    instead (as the docstring says): StepLR and ExponentialLR go on scaling that lr, the
    cosine joins the closed form at epoch T_max."""
    torch = pytest.importorskip("torch")
    first = ("StepLR", {"step_size": 1, "gamma": 0.5})
    initial, base, ours = _second_schedule(ts, first, second, 5, 9, by_hand=by_hand)
    t_initial, t_base, theirs = _second_schedule(torch, first, second, 5, 9, by_hand=by_hand)
    assert initial == base == t_initial == t_base == 0.1
    name, kwargs = second
    closed_form = _torch_lrs(torch, name, kwargs, lr=0.1, epochs=9)  # (a first schedule's)
    np.testing.assert_allclose(ours, closed_form, rtol=1e-12, atol=1e-15)
    the_moment = 0.1 * 0.5**5 if by_hand is None else by_hand
    if name == "LambdaLR":
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    elif name in ("StepLR", "ExponentialLR"):
        factor = (lambda e: 0.5 ** (e // 2)) if name == "StepLR" else (lambda e: 0.8**e)
        expected = [the_moment * factor(epoch) for epoch in range(10)]
        np.testing.assert_allclose(theirs, expected, rtol=1e-12)
        assert ours[0] == 0.1 != theirs[0]
    else:
        assert theirs[0] == the_moment != ours[0]
        np.testing.assert_allclose(ours[4:], theirs[4:], rtol=1e-12, atol=1e-15)


def test_schedules_made_together_share_the_optimizers_starting_lr():
    """A warm-up and a decay made one after the other (PyTorch's usual pair) both start
    from the optimizer's lr, as PyTorch's base_lrs: not the decay from the warm-up's first
    lr. Stepped together, the last one stepped sets the lr (they do not compose)."""
    torch = pytest.importorskip("torch")
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=0.1)
    factor = lambda epoch: min(1.0, (epoch + 1) / 3)  # noqa: E731
    warm_up = LambdaLR(opt, factor)
    assert opt.lr == pytest.approx(0.1 / 3)
    decay = CosineAnnealingLR(opt, T_max=6)
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    t_warm_up = torch.optim.lr_scheduler.LambdaLR(t_opt, factor)
    t_decay = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=6)
    assert warm_up.base_lr == decay.base_lr == opt.initial_lr == 0.1
    assert t_warm_up.base_lrs == t_decay.base_lrs == [0.1]
    warm_up.step()
    decay.step()
    assert opt.lr == decay.lr_at(1) == pytest.approx(0.05 * (1 + math.cos(math.pi / 6)))


def test_a_new_schedule_starts_from_the_lr_of_the_moment_once_initial_lr_is_cleared():
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=0.1)
    first = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        first.step()
    opt.initial_lr = None  # as deleting PyTorch's param_groups[0]["initial_lr"]
    second = StepLR(opt, step_size=1, gamma=0.5)
    assert second.base_lr == opt.initial_lr == opt.lr == 0.0125
    second.step()
    assert opt.lr == 0.00625


def test_a_second_schedule_resumed_with_last_epoch_goes_on_as_the_saved_run():
    """The optimizer's state holds the first schedule's starting lr, the base of the second
    too: resumed from it, the second goes on as it did."""
    opt = SGD([ts.nn.Parameter(np.zeros(1))], lr=0.1)
    first = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        first.step()
    second = CosineAnnealingLR(opt, T_max=5)
    for _ in range(2):
        second.step()
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    went_on = []
    for _ in range(4):
        second.step()
        went_on.append(opt.lr)
    fresh = SGD([ts.nn.Parameter(np.zeros(1))], lr=0.7).load_state_dict(saved)
    resumed = CosineAnnealingLR(fresh, T_max=5, last_epoch=2)
    lrs = [fresh.lr]
    for _ in range(3):
        resumed.step()
        lrs.append(fresh.lr)
    assert lrs == went_on and fresh.initial_lr == 0.1
