"""A weight changed in place after a graph used it: that graph's backward refuses to run
(its saved arrays hold the new values), as PyTorch's version counter makes it do."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts


def _weight(name="W"):
    ts.manual_seed(0)
    return ts.Tensor(ts.randn(3, 3).data, requires_grad=True, name=name)


def _x():
    return ts.Tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32))


def _sub_in_place(W):
    with ts.no_grad():
        W -= 0.1


def _sgd_step(W):
    W.grad = np.ones_like(W.data)
    ts.optim.SGD([W], lr=0.1).step()


def _adam_step(W):
    W.grad = np.ones_like(W.data)
    ts.optim.Adam([W], lr=0.1).step()


@pytest.mark.parametrize("update", [_sub_in_place, _sgd_step, _adam_step])
def test_backward_after_the_weight_changed_in_place_is_refused(update):
    W = _weight()
    loss = (_x() @ W).tanh().sum()
    update(W)
    with pytest.raises(RuntimeError, match=r"'matmul'.*'W' before it was changed in place"):
        loss.backward()


def test_the_message_names_an_unnamed_weight_by_its_shape():
    W = ts.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    loss = (_x() @ W).sum()
    _sub_in_place(W)
    with pytest.raises(RuntimeError, match=r"a weight of shape \(3, 4\)"):
        loss.backward()


def test_an_op_that_saved_no_arrays_does_not_mind():
    # the gradient of W + 1, of W.T and of W.clone() does not read W's values: still right
    # after a change
    W = _weight()
    loss = ((W + 1.0).T * 2.0).sum() + W.clone().sum()
    _sub_in_place(W)
    loss.backward()
    np.testing.assert_allclose(ts.backend.to_numpy(W.grad), np.full((3, 3), 3.0))


def test_the_train_loop_order_never_trips_it_and_matches_fresh_tensors():
    W = _weight()
    opt = ts.optim.SGD([W], lr=0.1)
    x = _x()
    for _ in range(3):
        opt.zero_grad()
        (x @ W).tanh().sum().backward()
        opt.step()
    # the same three steps with a new tensor for each step's weight
    w = _weight().numpy()
    for _ in range(3):
        fresh = ts.Tensor(w, requires_grad=True)
        (x @ fresh).tanh().sum().backward()
        w = w - 0.1 * ts.backend.to_numpy(fresh.grad)
    np.testing.assert_allclose(W.numpy(), w, rtol=1e-6)


def test_a_graph_recorded_after_the_change_runs_while_the_older_one_refuses():
    W = _weight()
    old = (_x() @ W).sum()
    _sub_in_place(W)
    new = (_x() @ W).sum()
    new.backward()
    assert W.grad is not None
    with pytest.raises(RuntimeError, match="changed in place"):
        old.backward()


def test_half_a_graph_recorded_before_the_change_is_caught():
    W = _weight()
    h = (_x() @ W).tanh()  # recorded with the old W
    _sub_in_place(W)
    loss = (h @ W).sum()  # with the new one
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_retained_graph_refuses_a_second_backward_after_an_update():
    W = _weight()
    loss = (_x() @ W).tanh().sum()
    loss.backward(retain_graph=True)
    first = W.grad.copy()
    _sgd_step(W)
    W.grad = None
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    assert first.shape == (3, 3)


def test_changing_another_model_s_weight_leaves_this_graph_alone():
    W, other = _weight(), _weight("other")
    loss = (_x() @ W).tanh().sum()
    _sub_in_place(other)
    loss.backward()
    reference = _weight()
    (_x() @ reference).tanh().sum().backward()
    np.testing.assert_allclose(ts.backend.to_numpy(W.grad), ts.backend.to_numpy(reference.grad))


def test_the_fused_rnn_step_which_reads_its_inputs_at_backward_is_caught():
    ts.manual_seed(1)
    W = ts.Tensor(ts.randn(4, 4).data, requires_grad=True)
    U = ts.Tensor(ts.randn(3, 4).data, requires_grad=True)
    b = ts.Tensor(np.zeros(4, np.float32), requires_grad=True)
    h = ts.F.rnn_step(ts.zeros(2, 4), ts.randn(2, 3), W, U, b)
    loss = ts.F.rnn_step(h, ts.randn(2, 3), W, U, b).sum()
    _sub_in_place(U)
    with pytest.raises(RuntimeError, match="'rnn_step'"):
        loss.backward()


def test_a_model_trained_with_its_optimizer_over_several_steps_is_unaffected():
    ts.manual_seed(0)
    rnn = ts.nn.RNN(3, 4)
    opt = ts.optim.Adam(rnn.parameters(), lr=1e-2)
    xs = ts.randn(2, 5, 3)
    for _ in range(3):
        opt.zero_grad()
        hs, _ = rnn(xs)
        (hs**2).mean().backward()
        opt.step()
    assert all(p.grad is not None for p in rnn.parameters())


def test_a_graph_recorded_between_two_updates_runs():
    # W changed, then the graph, then another weight: nothing the graph saved has changed
    W, other = _weight(), _weight("other")
    _sub_in_place(W)
    loss = (_x() @ W).tanh().sum()
    _sub_in_place(other)
    loss.backward()
    fresh = ts.Tensor(W.numpy(), requires_grad=True)
    (_x() @ fresh).tanh().sum().backward()
    np.testing.assert_allclose(ts.backend.to_numpy(W.grad), ts.backend.to_numpy(fresh.grad))


@pytest.mark.parametrize(
    "forward", [lambda x, W: x @ W, lambda x, W: W @ x.T], ids=["second input", "first input"]
)
def test_the_weight_is_caught_as_either_input_of_the_op(forward):
    W = _weight()
    loss = forward(_x(), W).sum()
    _sub_in_place(W)
    with pytest.raises(RuntimeError, match=r"'matmul'.*'W'"):
        loss.backward()


@pytest.mark.parametrize(
    "forward",
    [lambda x, W: (x @ W).tanh().sum(), lambda x, W: (x @ W.tanh()).sum()],
    ids=["two-input op reads W", "one-input op reads W"],
)
def test_a_graph_recorded_after_each_step_runs(forward):
    # each step's new graph is stamped with the updates so far, whichever op reads W
    W = _weight()
    opt = ts.optim.SGD([W], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        forward(_x(), W).backward()
        opt.step()
    assert W.grad is not None


def test_a_failed_in_place_update_changes_nothing_and_the_graph_still_runs():
    W = _weight()
    loss = (_x() @ W).sum()
    with ts.no_grad(), pytest.raises(ValueError, match="cannot update it in place"):
        W -= np.ones((5, 5), np.float32)
    loss.backward()
    assert W.grad is not None


@pytest.mark.parametrize("optimizer", [ts.optim.SGD, ts.optim.Adam], ids=["SGD", "Adam"])
@pytest.mark.parametrize("used", [0, 1], ids=["first weight used", "second weight used"])
def test_an_optimizer_step_marks_every_weight_it_changed(optimizer, used):
    weights = [_weight("W"), _weight("V")]
    loss = (_x() @ weights[used]).tanh().sum()
    for w in weights:
        w.grad = np.ones_like(w.data)
    optimizer(weights, lr=0.1).step()
    with pytest.raises(RuntimeError, match=f"'{weights[used].name}' before it was changed"):
        loss.backward()


@pytest.mark.parametrize("optimizer", [ts.optim.SGD, ts.optim.Adam], ids=["SGD", "Adam"])
def test_a_weight_the_step_skipped_for_want_of_a_grad_is_not_marked(optimizer):
    W, skipped = _weight("W"), _weight("skipped")
    loss = (_x() @ skipped).tanh().sum()
    W.grad = np.ones_like(W.data)
    optimizer([W, skipped], lr=0.1).step()  # skipped.grad is None: left as it was
    loss.backward()
    assert skipped.grad is not None


def test_a_second_backward_after_a_refused_one_says_the_refused_one_freed_nodes():
    # the refused backward ran (and freed) the nodes above the matmul before it stopped
    W = _weight()
    loss = ((_x() @ W).tanh() * 2.0).sum()
    _sub_in_place(W)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    with pytest.raises(RuntimeError, match="one stopped by an error frees the nodes"):
        loss.backward()


@pytest.mark.parametrize(
    "view",
    [lambda W: W.T, lambda W: W[0], lambda W: W.reshape(9)[:3], lambda W: W.T[1:].T],
    ids=["W.T", "W[0]", "a slice of a reshape", "a view of a view"],
)
def test_a_view_of_the_weight_made_before_the_change_is_caught(view):
    # the product saved the view's array, which is W's memory: it changed with W
    W = _weight()
    loss = (_x()[:, :2] @ view(W).reshape(3, -1)[:2]).tanh().sum()
    _sub_in_place(W)
    with pytest.raises(RuntimeError, match=r"'matmul'.*'W' before it was changed in place"):
        loss.backward()


@pytest.mark.parametrize(
    "model, run",
    [
        (lambda: ts.nn.Linear(3, 3), lambda m, xs: m(xs[:, 0]).tanh().sum()),
        (lambda: ts.nn.RNN(3, 3), lambda m, xs: m(xs)[1].sum()),
        (lambda: ts.nn.LSTM(3, 3), lambda m, xs: m(xs)[1][1].sum()),
    ],
    ids=["Linear", "RNN", "LSTM"],
)
def test_a_model_s_graph_made_before_a_step_is_caught(model, run):
    # every nn model multiplies by W.T: the step changes what that view's products saved
    ts.manual_seed(0)
    m = model()
    xs = ts.randn(2, 4, 3)
    first, second = run(m, xs), run(m, xs)
    opt = ts.optim.SGD(m.parameters(), lr=0.1)
    first.backward()
    opt.step()
    with pytest.raises(RuntimeError, match="before it was changed in place"):
        second.backward()


def test_a_new_array_made_from_the_weight_is_not_its_view():
    # (W + 1) is new memory: the product's saved copy of it is still right after W changes
    W = _weight()
    loss = (_x() * (W + 1.0).T[0]).sum()
    expected = _x().numpy().sum(axis=0)
    _sub_in_place(W)
    loss.backward()
    np.testing.assert_allclose(ts.backend.to_numpy(W.grad)[:, 0], expected, rtol=1e-6)


def test_a_write_into_data_followed_by_changed_in_place_is_caught():
    # what the Tensor docstring, docs/pytorch.md and the item-assignment error say to do after
    # writing into .data, which no check sees by itself
    W = _weight()
    loss = (_x() @ W).tanh().sum()
    W.data[0] = 0.0
    ts.autograd.changed_in_place(W)
    with pytest.raises(RuntimeError, match=r"'matmul'.*'W' before it was changed in place"):
        loss.backward()


def test_a_write_into_data_between_backward_and_forward_gives_the_new_gradients():
    W = _weight()
    (_x() @ W).tanh().sum().backward()
    W.data[0] = 0.0  # after backward, before the next forward: nothing to refuse
    ts.autograd.changed_in_place(W)
    W.grad = None
    x = ts.Tensor(_x().data, requires_grad=True)
    (x @ W).tanh().sum().backward()
    W_new = W.numpy()
    assert (W_new[0] == 0).all()
    h = _x().numpy() @ W_new
    expected = (1 - np.tanh(h) ** 2) @ W_new.T  # from the new values
    np.testing.assert_allclose(ts.backend.to_numpy(x.grad), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "refused",
    [
        lambda: ts.Tensor(np.ones(2)).__setitem__(0, 1.0),
        lambda: setattr(ts.nn.Linear(2, 2), "W", ts.Tensor(np.ones((2, 2)))),
    ],
)
def test_the_errors_that_suggest_writing_into_data_say_to_note_it(refused):
    with pytest.raises(TypeError, match=r"\.data\[.*then ts\.autograd\.changed_in_place\("):
        refused()
