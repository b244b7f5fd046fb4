"""The backward pass of tinygrad_seq/autograd.py: iterative (deep graphs), every node after
all its consumers (shared nodes, build order), gradient accumulation, graph release and
retain_graph, detect_anomaly.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import f64, np_of


# ------------------------------------------------------------------ deep graphs
def test_100k_op_chain_backward_needs_no_recursion():
    x = ts.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = x
    for _ in range(50_000):  # 100,000 ops: y ← (y + 0.001) · (1 + 2e−5)
        y = (y + 0.001) * 1.00002
    loss = y.sum()
    loss.backward()
    np.testing.assert_allclose(np_of(x.grad), np.full(2, 1.00002**50_000), rtol=1e-9)
    del loss, y  # freeing a 100,000-deep chain must not overflow the C stack either


def tanh_recurrence_bptt(h0, W, xs, cs):
    """NumPy forward and hand-written backward of L = Σ_t c_t · h_t, h_t = tanh(h_{t−1} W + x_t).

    Returns (L, dL/dh0, dL/dW, [dL/dx_t]).
    """
    hs = [h0]
    for x_t in xs:
        hs.append(np.tanh(hs[-1] @ W + x_t))
    loss = sum((c * h).sum() for c, h in zip(cs, hs[1:], strict=True))
    dW = np.zeros_like(W)
    dxs = [None] * len(xs)
    dh = np.zeros_like(h0)
    for t in reversed(range(len(xs))):
        dh = dh + cs[t]  # ∂L/∂h_t: from the loss at step t and from step t+1
        da = dh * (1 - hs[t + 1] ** 2)  # through tanh
        dW += hs[t].T @ da
        dxs[t] = da
        dh = da @ W.T  # on to h_{t−1}
    return loss, dh, dW, dxs


def test_2000_step_tanh_recurrence_matches_numpy_bptt(rng):
    T, B, H = 2000, 2, 3
    W_np = rng.standard_normal((H, H)) * 0.9
    h0_np = rng.standard_normal((B, H))
    xs_np = [rng.standard_normal((B, H)) * 0.5 for _ in range(T)]
    cs = [rng.standard_normal((B, H)) for _ in range(T)]
    W = ts.Tensor(W_np, requires_grad=True)
    h0 = ts.Tensor(h0_np, requires_grad=True)
    xs = [ts.Tensor(x, requires_grad=True) for x in xs_np]
    h, loss = h0, ts.Tensor(np.float64(0.0))
    for x_t, c_t in zip(xs, cs, strict=True):
        h = (h @ W + x_t).tanh()
        loss = loss + (h * c_t).sum()
    loss.backward()
    ref_loss, ref_dh0, ref_dW, ref_dxs = tanh_recurrence_bptt(h0_np, W_np, xs_np, cs)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(np_of(W.grad), ref_dW, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np_of(h0.grad), ref_dh0, rtol=1e-9, atol=1e-12)
    for t in (0, 1, T // 2, T - 1):
        np.testing.assert_allclose(np_of(xs[t].grad), ref_dxs[t], rtol=1e-9, atol=1e-12)


def test_short_recurrence_gradcheck(rng):
    W, h0, x = f64(rng, 3, 3), f64(rng, 2, 3), f64(rng, 5, 2, 3)

    def run(W, h0, x):
        h = h0
        for t in range(5):
            h = (h @ W + x[t]).tanh()
        return h

    assert ts.gradcheck(run, W, h0, x)


# ------------------------------------------------------------------ shared nodes
def test_node_with_several_consumers_sums_their_gradients(rng):
    x = f64(rng, 4)
    h = x.tanh()
    y = (h * h + h.exp() - h).sum()
    y.backward()
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(np_of(x.grad), (2 * t + np.exp(t) - 1) * (1 - t**2), rtol=1e-12)
    assert ts.gradcheck(lambda a: (a.tanh() * a.tanh() + a.tanh().exp()).sum(), x)


def test_same_tensor_twice_in_one_op(rng):
    x = f64(rng, 3)
    (x * x).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), 2 * x.numpy(), rtol=1e-12)
    h = x.exp()
    x.grad = None
    (h + h).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), 2 * np.exp(x.numpy()), rtol=1e-12)


def test_a_node_runs_after_all_its_consumers_whatever_order_they_were_built_in(rng):
    x = f64(rng, 3)
    a = x.tanh()  # consumed at once by a long path, and much later by three short ones
    long = a
    for _ in range(50):
        long = long * 1.01
    other = (x * 3).exp()  # an unrelated branch, built in between
    loss = (long * a).sum() + other.sum() + a.sum()
    loss.backward()
    t, xs = np.tanh(x.numpy()), x.numpy()
    expected = (2 * 1.01**50 * t + 1) * (1 - t**2) + 3 * np.exp(3 * xs)
    np.testing.assert_allclose(np_of(x.grad), expected, rtol=1e-12)


def test_a_consumer_that_is_never_backpropagated_does_not_hold_up_its_input(rng):
    x = f64(rng, 3)
    h = x.tanh()
    logged = (h * 2).sum()  # e.g. a number printed during training; never backpropagated
    (h * h).sum().backward()
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(np_of(x.grad), 2 * t * (1 - t**2), rtol=1e-12)
    assert logged.item() == pytest.approx(2 * t.sum())


@pytest.mark.parametrize("retain", [False, True])
def test_uses_that_never_send_a_gradient_leave_it_unchanged(rng, retain):
    # each logged value is a recorded use of h that the backward never reaches: the pass
    # must not wait for it, and must still run every node after all its real consumers
    x, W = f64(rng, 1, 3), f64(rng, 3, 3)

    def grads(log: bool) -> list[np.ndarray]:
        x.grad = W.grad = None
        h, logged = x, []
        for t in range(6):
            h = (h @ W).tanh()
            if log:
                logged.append((h * 2).sum())
            if t % 2:
                h = h + h.exp() * 0.5  # h used twice more
        loss = (h * h).sum()
        loss.backward(retain_graph=retain)
        if retain:  # a second pass over the same graph gives the same again
            loss.backward()
        return [np_of(x.grad), np_of(W.grad)]

    for with_logs, without in zip(grads(True), grads(False), strict=True):
        np.testing.assert_allclose(with_logs, without, rtol=1e-12)


def test_a_use_that_never_sends_does_not_hold_up_slices_gathered_below_it(rng):
    # the uncounted path: once the waiting node is counted again, the nodes below it
    # (here h, whose two slices send indexed gradients) keep exact counts
    x = f64(rng, 4)

    def grad(dead_use: bool) -> np.ndarray:
        x.grad = None
        h = x.exp()
        w = (h[:2] * h[2:]).tanh()
        if dead_use:
            _ = w * 7  # recorded, never backpropagated
        w.sum().backward()
        return np_of(x.grad)

    np.testing.assert_allclose(grad(True), grad(False), rtol=1e-12)
    e = np.exp(x.numpy())
    d = 1 - np.tanh(e[:2] * e[2:]) ** 2
    np.testing.assert_allclose(grad(True), np.concatenate([d * e[2:], d * e[:2]]) * e)


def test_a_released_node_found_while_counting_again_is_a_clear_error(rng):
    x = f64(rng, 3)
    h = x.tanh()
    h.sum().backward()  # releases tanh
    q = x.exp()
    a = q * h
    _ = a * 3  # a second use of a, never backpropagated: backward counts again below a
    with pytest.raises(RuntimeError, match="already released.*'tanh'"):
        a.sum().backward()
    x.grad = None
    (q * 2).sum().backward()  # q was counted in the failed pass; that left nothing behind
    np.testing.assert_allclose(np_of(x.grad), 2 * np.exp(x.numpy()), rtol=1e-12)


def test_only_inputs_that_require_grad_get_one(rng):
    x, c = f64(rng, 3), f64(rng, 3, requires_grad=False)
    (x * c + c.exp()).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(np_of(x.grad), c.numpy())


# ------------------------------------------------------------------ backward's contract
def test_backward_with_an_explicit_grad_and_on_a_leaf(rng):
    x = f64(rng, 2, 3)
    g = rng.standard_normal((2, 3))
    (x * 3.0).backward(g)
    np.testing.assert_allclose(np_of(x.grad), 3 * g, rtol=1e-12)
    x.grad = None
    x.backward(ts.Tensor(g))  # a leaf's gradient is the given grad itself
    np.testing.assert_array_equal(np_of(x.grad), g)


def test_backward_grad_list_is_accepted_and_cast(rng):
    x = ts.Tensor(np.ones(2, np.float32), requires_grad=True)
    (x * 2).backward([1.0, 2.0])
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(np_of(x.grad), [2.0, 4.0])


def test_gradients_accumulate_across_backward_calls(rng):
    x = f64(rng, 3)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), 2 + 2 * x.numpy(), rtol=1e-12)


def test_leaf_grad_is_private(rng):
    x, y = f64(rng, 3), f64(rng, 3)
    (x + y).sum().backward()  # Add sends the same array to both inputs
    x.grad += 1.0
    np.testing.assert_array_equal(np_of(y.grad), np.ones(3))


def test_a_matmul_gradient_kept_as_a_leaf_grad_stays_correct(rng):
    # a matrix product's gradients are new arrays, so a leaf keeps its first one without a
    # copy; the same leaf on both sides must still get the sum, and later backwards add
    a = f64(rng, 3, 3)
    (a @ a).sum().backward()
    ones = np.ones((3, 3))
    expected = ones @ a.numpy().T + a.numpy().T @ ones
    np.testing.assert_allclose(np_of(a.grad), expected, rtol=1e-12)
    (a @ a).sum().backward()
    np.testing.assert_allclose(np_of(a.grad), 2 * expected, rtol=1e-12)
    w = f64(rng, 3, 2)
    x = ts.Tensor(rng.standard_normal((4, 3)))
    y = x @ w
    y.sum().backward()
    w.grad += 1.0  # the leaf's own array: nothing else sees the write
    np.testing.assert_allclose(np_of(w.grad), x.numpy().T @ np.ones((4, 2)) + 1.0)


def test_retain_graph_allows_a_second_backward_that_accumulates(rng):
    x = f64(rng, 3)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = np_of(x.grad).copy()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(np_of(x.grad), 2 * first, rtol=1e-12)
    y.backward()
    np.testing.assert_allclose(np_of(x.grad), 3 * first, rtol=1e-12)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_second_backward_without_retain_graph_is_a_clear_error(rng):
    x = f64(rng, 3)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"already released.*retain_graph=True"):
        y.backward()
    np.testing.assert_allclose(np_of(x.grad), 2 * np.exp(x.numpy()), rtol=1e-12)


def test_a_node_that_saved_no_arrays_can_be_backpropagated_through_again(rng):
    # as in PyTorch: a transpose made once and used by two losses, a sum backpropagated
    # twice; the first node that saved arrays still refuses a second pass
    W = f64(rng, 3, 2)
    W_T = W.T
    x1, x2 = ts.Tensor(rng.standard_normal((4, 2))), ts.Tensor(rng.standard_normal((5, 2)))
    (x1 @ W_T).sum().backward()
    (x2 @ W_T).sum().backward()
    expected = (x1.numpy().sum(axis=0)[:, None] + x2.numpy().sum(axis=0)[:, None]).T
    np.testing.assert_allclose(np_of(W.grad), np.broadcast_to(expected, (3, 2)), rtol=1e-12)

    x = f64(rng, 3)
    y = (x + 1.0).reshape(3, 1)[1:].sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(np_of(x.grad), [0.0, 2.0, 2.0])
    z = (x * 2).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="already released.*'sum'"):
        z.backward()
    # a root whose pass freed a node refuses a second pass before adding to any leaf (it
    # would have reached w through the add and the sum first, then stopped at the tanh)
    w = f64(rng, 2)
    loss = x.tanh().sum() + w.sum()
    loss.backward()
    first = np_of(w.grad).copy()
    with pytest.raises(RuntimeError, match="already released"):
        loss.backward()
    np.testing.assert_array_equal(np_of(w.grad), first)


def test_a_long_double_gradient_is_traced_and_its_norm_recorded():
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("long double is float64 on this platform")
    x = ts.Tensor(np.ones(3, np.longdouble), requires_grad=True)
    y = (x * 2).sum()
    with ts.graph.record_grad_norms():
        y.backward()
    g = ts.graph.trace(y)
    assert g.nodes[0].grad_norm == pytest.approx(2 * np.sqrt(3))


def test_backward_into_a_released_shared_subgraph_is_an_error(rng):
    x = f64(rng, 3)
    h = x.tanh()
    (h * 2).sum().backward()
    with pytest.raises(RuntimeError, match="tanh"):
        (h * 3).sum().backward()


def test_a_failed_backward_leaves_no_stale_state(rng):
    x = f64(rng, 2)
    a, h = x.exp(), x.tanh()
    h.sum().backward()  # releases tanh
    b = a * 2
    with pytest.raises(RuntimeError, match="tanh.*detach"):
        (b + h).sum().backward()  # hit the released tanh before b's graph ran
    x.grad = None
    (b * 3).sum().backward()  # b's own graph is intact and must still deliver its gradient
    np.testing.assert_allclose(np_of(x.grad), 6 * np.exp(x.numpy()), rtol=1e-12)


def test_a_backward_that_fails_midway_has_run_and_released_what_came_before(rng):
    # documented (autograd.backward): the nodes run before the released one added their
    # gradients and were freed; the nodes not reached are left as they were
    x = f64(rng, 2)
    h = x.tanh()
    h.sum().backward()  # releases tanh
    x.grad = None
    b, c = x.exp() * 2, x * 5
    with pytest.raises(RuntimeError, match="already released.*'tanh'"):
        (h.sum() + (b + c).sum()).backward()  # b and c's graphs run first, then tanh
    np.testing.assert_allclose(np_of(x.grad), 2 * np.exp(x.numpy()) + 5, rtol=1e-12)
    with pytest.raises(RuntimeError, match="already released"):
        b.sum().backward()


def test_a_backward_that_fails_midway_adds_a_weights_collected_terms_too(rng):
    # a weight used at several steps gets its terms x_tᵀ g_t collected (ProductGrad) and
    # multiplied out at the end of the pass: a pass that fails midway adds them too, as it
    # adds every other gradient of the nodes it ran
    x = f64(rng, 2)
    h = x.tanh()
    h.sum().backward()  # releases tanh
    W = ts.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = ts.Tensor(rng.standard_normal((1, 3)))
    steps = (v @ W) + ((v * 2) @ W) + ((v * 3) @ W)  # three terms for W
    with pytest.raises(RuntimeError, match="already released.*'tanh'"):
        (h.sum() + steps.sum()).backward()  # W's terms run first, then tanh
    expected = 6 * v.numpy().T @ np.ones((1, 4))
    np.testing.assert_allclose(np_of(W.grad), expected, rtol=1e-12)


def _two_weights_then_a_released_node(rng):
    """A graph whose pass runs two weights' matrix products (three terms each), then
    reaches a node an earlier backward released: (loss, W1, W2, v, waiting), with `waiting`
    a node used twice that is still waiting for its second gradient when the pass fails."""
    x = f64(rng, 2)
    h = x.tanh()
    h.sum().backward()  # releases tanh
    W1 = ts.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W2 = ts.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = ts.Tensor(rng.standard_normal((1, 3)))
    waiting = (W1 * 3).sum()
    _logged = waiting * 5  # a second use that never sends
    terms = sum((v * k) @ W for W in (W1, W2) for k in (1, 2, 3))
    return (waiting + h.sum()) + terms.sum(), W1, W2, v, waiting


def test_a_failed_flush_on_the_way_out_loses_only_its_own_weights_terms(rng, monkeypatch):
    from tinygrad_seq import autograd

    loss, W1, W2, v, _ = _two_weights_then_a_released_node(rng)
    flush = autograd._Products.flush

    def flush_fails_for_W2(self):  # out of memory while multiplying out W2's terms
        if self.leaf is W2 and self.xs:
            raise MemoryError("simulated")
        flush(self)

    monkeypatch.setattr(autograd._Products, "flush", flush_fails_for_W2)
    with pytest.raises(RuntimeError, match="already released"):  # the first error, kept
        loss.backward()
    ones = v.numpy().T @ np.ones((1, 4))
    np.testing.assert_allclose(np_of(W1.grad), 6 * ones, rtol=1e-12)  # every term
    # W2: only the term that reached it first (v·3, built last), added as it came
    np.testing.assert_allclose(np_of(W2.grad), 3 * ones, rtol=1e-12)


def test_an_interrupt_while_flushing_on_the_way_out_still_leaves_the_graph_clean(rng, monkeypatch):
    from tinygrad_seq import autograd

    loss, W1, _, _, waiting = _two_weights_then_a_released_node(rng)

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(autograd._Products, "flush", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loss.backward()
    monkeypatch.undo()
    W1.grad = None
    (waiting * 2).backward()  # the bookkeeping was reset before the flush: no stale gradient
    np.testing.assert_allclose(np_of(W1.grad), np.full((3, 4), 6.0), rtol=1e-12)


class _ExtraGradient(ts.Function):
    """A custom op whose static backward (not checked by Function) returns a gradient too
    many."""

    op_name = "extra_gradient"

    def forward(self, x):
        return x * 2

    @staticmethod
    def backward(g):
        return g * 2, g


def test_a_backward_returning_more_gradients_than_inputs_is_named(rng):
    from tinygrad_seq.tensor import apply

    x = f64(rng, 2)
    with pytest.raises(TypeError, match="extra_gradient.backward returned more gradients"):
        apply(_ExtraGradient(), x).sum().backward()


@pytest.mark.parametrize("order", ["index_last", "index_first"])
def test_a_0d_node_indexed_and_used_in_arithmetic(rng, order):
    # s[()] sends an indexed gradient; s * 2 a 0-d one, which NumPy makes a scalar: the
    # indexed one must still add into it, in either order of arrival
    x = f64(rng, 3)
    s = x.sum()
    loss = (s[()] + s * 2.0) if order == "index_last" else (s * 2.0 + s[()])
    loss.backward()
    np.testing.assert_allclose(np_of(x.grad), np.full(3, 3.0), rtol=1e-12)
    x.grad = None
    s = x.sum()
    (s[None].sum() + s * s).backward()
    np.testing.assert_allclose(np_of(x.grad), np.full(3, 1 + 2 * x.numpy().sum()), rtol=1e-12)


class _SendsNothing(ts.Function):
    """A custom op whose backward sends no gradient to its (recorded) input."""

    op_name = "sends_nothing"

    def forward(self, x):
        return x * 1.0

    def backward(self, g):
        return (None,)


def test_a_function_that_sends_no_gradient_does_not_stall_the_backward(rng):
    from tinygrad_seq.tensor import apply

    x = f64(rng, 3)
    h = x.tanh()  # two consumers: the custom op (sends nothing) and the multiply
    loss = (apply(_SendsNothing(), h) + h * 2).sum()
    loss.backward(retain_graph=True)
    expected = 2 * (1 - np.tanh(x.numpy()) ** 2)
    np.testing.assert_allclose(np_of(x.grad), expected, rtol=1e-12)
    loss.backward()  # the counts were left clean: a second pass gives the same again
    np.testing.assert_allclose(np_of(x.grad), 2 * expected, rtol=1e-12)


def test_requires_grad_set_false_on_a_computed_tensor_stops_the_gradient_there(rng):
    x = f64(rng, 2)
    q = x * 2.0
    p = q * 3.0
    p.requires_grad = False  # like p.detach(): nothing flows back through p
    loss = (p + q).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(np_of(x.grad), [2.0, 2.0])  # the q path alone
    loss.backward(retain_graph=True)  # no counts were left behind: the same again
    np.testing.assert_array_equal(np_of(x.grad), [4.0, 4.0])
    x.grad = None
    (p * q).sum().backward()  # only the q factor passes: ∂(p q)/∂q · ∂q/∂x = p · 2 = 12x
    np.testing.assert_allclose(np_of(x.grad), 12 * np_of(x.data), rtol=1e-12)


def test_counting_again_skips_a_computed_tensor_set_to_require_no_gradient(rng):
    """A node counted again (a use that never sends: a logged sum) whose walk meets an input
    set to requires_grad=False: that input never runs, so the nodes below it must not be
    counted as waiting for it (they would wait for good, their leaves left without a
    gradient)."""
    x = f64(rng, 3)
    q = x * 2.0
    p = q * 5.0
    p.requires_grad = False
    both = q * p  # ∂/∂q with p held fixed: p = 10 x, so ∂/∂x = 2 · 10 x
    _logged = both.sum()  # a second use of `both` that never sends
    (both * 1.0).sum().backward()
    assert x.grad is not None, "the node below the input that needs no gradient never ran"
    np.testing.assert_allclose(np_of(x.grad), 20 * np_of(x.data), rtol=1e-12)


def test_a_pass_whose_every_use_sends_walks_the_graph_once(monkeypatch):
    """The uses counted as the graph was built are exact when every one sends: no node waits
    for a use it has not got, so the pass never counts the graph again to go on (_recount
    finds nothing left to run; it is for uses that never send)."""
    from tinygrad_seq import autograd

    pushed = []
    recount = autograd._recount

    def recording(*args):
        pushed.append(recount(*args))
        return pushed[-1]

    monkeypatch.setattr(autograd, "_recount", recording)
    x = ts.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = x.tanh()
    (h * 2.0 + h * 3.0 + h).sum().backward()  # h used three times, each sending
    np.testing.assert_allclose(np_of(x.grad), 6 * (1 - np.tanh(np_of(x.data)) ** 2))
    assert True not in pushed
    h = x.tanh()
    _logged = h.sum()  # a use that never sends: the pass goes on by counting again, once
    (h * 2.0).sum().backward()
    assert pushed.count(True) == 1


def test_requires_grad_set_true_on_integer_data_is_refused_at_once():
    i = ts.Tensor([1, 2])
    with pytest.raises(TypeError, match=r"^requires_grad: only float tensors.*holds int64"):
        i.requires_grad = True  # as the constructor refuses it
    assert i.requires_grad is False


def test_integer_data_written_under_a_leaf_that_requires_grad_fails_at_backward():
    x = ts.Tensor([1.0, 2.0], requires_grad=True)
    x.data = np.array([1, 2])  # (the attribute itself is not checked: it is the hot path)
    with pytest.raises(TypeError, match="int64.*only float tensors"):
        (x * 2).sum().backward()


def test_no_grad_ops_are_not_recorded(rng):
    x = f64(rng, 3)
    with ts.no_grad():
        y = x @ ts.Tensor(np.ones((3, 2)))
    assert y.op is None and not y.requires_grad and y.parents == ()
    z = (y * x[:2]).sum()  # y is a constant here
    z.backward()
    np.testing.assert_array_equal(np_of(x.grad), np.r_[y.numpy(), 0.0])


def test_grad_mode_blocks_nest_and_decorate(rng):
    x = f64(rng, 3)
    with ts.no_grad():
        with ts.enable_grad():
            assert (x * 2).requires_grad
            with ts.no_grad():
                assert not ts.is_grad_enabled()
            assert ts.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert ts.is_grad_enabled()

    @ts.no_grad()
    def doubled(t):
        return t * 2

    assert not doubled(x).requires_grad and not doubled(x).requires_grad  # (each call)
    blocker = ts.no_grad()  # one object, entered twice (nested): each exit closes its own
    with blocker:
        with blocker:
            assert not ts.is_grad_enabled()
        assert not ts.is_grad_enabled()
    assert (x * 2).requires_grad
    with pytest.raises(KeyError), ts.no_grad():
        raise KeyError("inside")
    assert ts.is_grad_enabled()


SWITCHES = {  # each switch: its block, and whether it is back at its default
    "no_grad": (ts.no_grad, lambda: ts.is_grad_enabled()),
    "scope": (lambda: ts.scope("t=1"), lambda: ts.autograd.state.scope == ""),
    "detect_anomaly": (ts.detect_anomaly, lambda: not ts.autograd.state.anomaly),
    "record_grad_norms": (
        ts.graph.record_grad_norms,
        lambda: not ts.autograd.state.record_grad_norms,
    ),
}


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_blocks_of_two_threads_closing_out_of_order_leave_the_default(switch):
    """A opens, B opens, A closes, B closes: B's block found the setting A made, and putting
    that back left it set for good (recording off, a stale scope name, ...)."""
    import threading

    block, at_default = SWITCHES[switch]
    a_opened, a_closed = threading.Event(), threading.Event()
    b_opened = threading.Event()
    waited = []  # each wait's outcome: False would mean the blocks closed in order after all

    def a():
        with block():
            a_opened.set()
            waited.append(b_opened.wait(5))
        a_closed.set()

    def b():
        waited.append(a_opened.wait(5))
        with block():
            b_opened.set()
            waited.append(a_closed.wait(5))

    threads = [threading.Thread(target=f) for f in (a, b)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert waited == [True] * 3 and not any(t.is_alive() for t in threads)
        assert at_default()
    finally:  # a failure here must not leave a setting on for the tests after it
        ts.autograd._grad_blocks.clear()
        for name in ("_open_scopes", "_open_anomaly", "_open_recording"):
            getattr(ts.autograd, name).clear()
        state = ts.autograd.state
        state.grad_enabled, state.scope = True, ""
        state.anomaly = state.record_grad_norms = False


# ------------------------------------------------------------------ detect_anomaly
def test_detect_anomaly_names_the_first_forward_op():
    x = ts.Tensor(np.array([1.0, -1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"forward of 'log'.*1 NaN"):
            x.log().exp()


def test_detect_anomaly_zero_times_inf():
    x = ts.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = ts.Tensor(np.array([np.inf, 1.0]))
    with np.errstate(invalid="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match="'mul'"):
            x * y


def test_detect_anomaly_lets_a_carried_minus_inf_mask_through(rng):
    # a user's −inf attention mask: the addition carries the inf, softmax turns it into an
    # exact 0, and the gradients stay finite: nothing anomalous happened
    scores = ts.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    mask = np.triu(np.full((3, 4), -np.inf), k=1)
    with ts.detect_anomaly():
        attention = (scores + mask).softmax(axis=-1)
        (attention * ts.Tensor(rng.standard_normal((3, 4)))).sum().backward()
    assert np.all(attention.numpy()[np.isinf(mask)] == 0)
    assert np.isfinite(np_of(scores.grad)).all()


def test_detect_anomaly_lets_an_op_that_moves_elements_carry_an_inf(rng):
    mask = np.triu(np.full((3, 3), -np.inf), k=1)  # square: a transpose moves the infs
    scores = ts.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    with ts.detect_anomaly():
        moved = (scores + mask).transpose(1, 0).reshape(9)[::-1]
    assert np.isinf(moved.numpy()).sum() == 3


def test_detect_anomaly_still_flags_an_overflow_and_a_nan_from_inf():
    big = ts.Tensor(np.array([1.0, 1000.0]), requires_grad=True)
    with np.errstate(over="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"forward of 'exp'.*0 NaN and 1 inf"):
            big.exp()  # an inf made from finite numbers
    # an overflow beside an inf the input carries: that inf does not excuse the new one
    both = ts.Tensor(np.array([1000.0, -np.inf]), requires_grad=True)
    with np.errstate(over="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"forward of 'exp'.*0 NaN and 1 inf"):
            both.exp()  # e^1000 overflows; e^−inf = 0 is fine
        with pytest.raises(ts.AnomalyError, match=r"forward of 'mul'.*0 NaN and 2 inf"):
            both * 1e308
    inf = ts.Tensor(np.array([np.inf, 1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"forward of 'sub'.*1 NaN"):
            inf - inf  # inf − inf: a NaN is always an anomaly


def test_detect_anomaly_a_reduction_carries_an_inf_only_from_what_it_reduced():
    x = ts.Tensor(np.array([[-np.inf, 0.0], [1e308, 1e308]]), requires_grad=True)
    with np.errstate(over="ignore"), ts.detect_anomaly():
        for reduce in (lambda t: t.sum(axis=1), lambda t: t.mean(axis=-1, keepdims=True)):
            # row 0's −inf is carried; row 1's overflow is made here and must not pass
            with pytest.raises(ts.AnomalyError, match=r"forward of '(sum|mean)'.*2 inf"):
                reduce(x)
        assert x[0].sum().item() == -np.inf  # carried: no error
        assert x.max(axis=0).numpy()[0] == 1e308


def test_detect_anomaly_matmul_and_log_softmax_carry_infs_row_by_row():
    big = 3e38
    rows = np.array([[-np.inf, 0.0], [big, big]], dtype=np.float32)
    W = ts.Tensor(np.ones((2, 1), np.float32), requires_grad=True)
    with np.errstate(over="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"forward of 'matmul'"):
            ts.Tensor(rows) @ W  # row 1 overflowed: row 0's −inf does not explain it
        with pytest.raises(ts.AnomalyError, match=r"forward of 'log_softmax'"):
            ts.Tensor(
                np.array([[-np.inf, 0.0], [big, -big]], np.float32), requires_grad=True
            ).log_softmax()
        assert (ts.Tensor(rows[:1]) @ W).item() == -np.inf  # carried: no error
        masked = ts.Tensor(np.array([[-np.inf, 0.0], [0.0, 1.0]]), requires_grad=True)
        assert masked.log_softmax().numpy()[0, 0] == -np.inf


def test_detect_anomaly_an_infinite_loss_is_never_carried():
    # −inf logits are masks; a target whose logit is −inf makes the loss infinite
    logits = ts.Tensor(np.array([[0.0, -np.inf, 1.0], [0.0, -np.inf, 1.0]]), requires_grad=True)
    with ts.detect_anomaly():
        assert np.isfinite(ts.F.cross_entropy(logits, np.array([0, 2])).item())
        with pytest.raises(ts.AnomalyError, match=r"forward of 'cross_entropy'.*1 inf"):
            ts.F.cross_entropy(logits, np.array([0, 1]))


def test_detect_anomaly_names_an_input_that_was_already_nan():
    w = ts.Tensor(np.array([np.nan, 1.0]), requires_grad=True, name="W")
    x = ts.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with ts.detect_anomaly():
        with pytest.raises(
            ts.AnomalyError,
            match=r"'mul'.*input 1 \(a leaf 'W' of shape \(2,\)\) already held 1 NaN",
        ):
            x * w
    with ts.detect_anomaly():  # data without a gradient: a constant
        with pytest.raises(ts.AnomalyError, match=r"input 1 \(a constant 'c' \(not recorded\)"):
            x * ts.Tensor(np.array([np.nan, 1.0]), name="c")
    y = x * w  # made outside detect_anomaly(): named as the op that made it
    with ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"'matmul'.*input 0 \(made by 'mul' of shape"):
            y @ x
    with ts.detect_anomaly(), np.errstate(invalid="ignore"):  # made here: the op is named
        with pytest.raises(ts.AnomalyError, match="stopped at the first such op"):
            x * np.inf - np.inf


def test_detect_anomaly_in_backward():
    x = ts.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with np.errstate(divide="ignore"), ts.detect_anomaly():
        y = x.sqrt().sum()  # sqrt(0) = 0 is fine; its gradient 1/(2·0) is not
        with pytest.raises(ts.AnomalyError, match=r"backward of 'sqrt'.*inf"):
            y.backward()
    assert isinstance(ts.AnomalyError("x"), FloatingPointError)


class _SqrtOfItsOwn(ts.Function):
    """y = √x written as a user would: its gradient 1 / (2√x) is inf at 0."""

    def forward(self, x):
        self.saved = ts.backend.array_module(x).sqrt(x)
        return self.saved

    def backward(self, g):
        return (g / (2 * self.saved),)


def _model_with_a_sqrt(x):
    h = x * 2.0
    y = _SqrtOfItsOwn.apply(h)  # the line the anomaly message must point at
    return y.sum()


def _line_of(function, text: str) -> int:
    """The file line number of the line of `function`'s source holding `text`."""
    import inspect

    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


def test_detect_anomaly_in_backward_names_the_users_line_that_made_the_op():
    # the backward pass runs far from the code that built the graph: the message says
    # where the op was made (the first line outside the engine), as PyTorch's anomaly mode
    # prints the forward's traceback
    x = ts.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    line = _line_of(_model_with_a_sqrt, "_SqrtOfItsOwn.apply(h)")
    with np.errstate(divide="ignore"), ts.detect_anomaly():
        loss = _model_with_a_sqrt(x)
        with pytest.raises(ts.AnomalyError) as caught:
            loss.backward()
    message = str(caught.value)
    assert message.startswith("backward of '_SqrtOfItsOwn' produced 0 NaN and 1 inf")
    assert f"test_autograd.py:{line} in _model_with_a_sqrt: `y = _SqrtOfItsOwn.apply(h)" in (
        message
    )
    # a built-in op made inside a ts.nn model: the user's line, then the model's own
    model = ts.nn.Linear(2, 2)
    model.W.data[...] = 10.0
    model_x = ts.Tensor(np.array([[1e308, 1e308]]))
    with np.errstate(over="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError) as caught:
            model(model_x)  # overflows inside Linear.forward's product
    message = str(caught.value)
    assert message.startswith("forward of 'matmul' produced 0 NaN and 2 inf")
    assert re.search(r"made at \S*test_autograd\.py:\d+ in test_\w+: `model\(model_x\)", message)
    assert re.search(r", through \S*linear\.py:\d+ in forward: `y = x @ self\.W\.T`", message)


def test_detect_anomaly_in_backward_of_an_op_made_outside_it_says_so():
    x = ts.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    loss = x.sqrt().sum()  # recorded without detect_anomaly(): where is not known
    with np.errstate(divide="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"'sqrt' \(made outside detect_anomaly\(\)"):
            loss.backward()


def test_without_detect_anomaly_nan_passes_silently():
    x = ts.Tensor(np.array([0.0, -1.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        y = x.log().sum()
        y.backward()
    assert np.isnan(y.item())
    assert np.isinf(np_of(x.grad)[0]) and np_of(x.grad)[1] == -1.0


def test_graph_is_usable_after_an_anomaly_stopped_backward(rng):
    x = ts.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    y = x.sqrt().sum()
    with np.errstate(divide="ignore"):
        with ts.detect_anomaly(), pytest.raises(ts.AnomalyError):
            y.backward(retain_graph=True)
        y.backward()  # the half-done pass left no stale state behind
    np.testing.assert_array_equal(np_of(x.grad), [np.inf, 0.25])


def test_gradients_meeting_at_a_0d_node_all_count():
    # NumPy returns 0-d results as immutable scalars: accumulating into them in place
    # would drop every contribution after the second.
    x = ts.Tensor(np.array(1.5), requires_grad=True)
    s = x * 2.0  # one 0-d node with four consumers
    loss = s * s + s * 3.0 + s.exp() + s
    loss.backward()
    expected = 2 * (2 * 3.0 + 3.0 + np.exp(3.0) + 1.0)
    assert np.isclose(np_of(x.grad), expected)


def test_slicing_steps_accumulates_into_one_buffer(rng):
    # xs[:, t] for every t sends sparse gradients; they must add up exactly
    xs = f64(rng, 2, 7, 3)
    w = f64(rng, 3)
    total = None
    for t in range(7):
        term = (xs[:, t] * w).tanh() * float(t + 1)
        total = term if total is None else total + term
    total.sum().backward()
    x = np_of(xs)
    expected = (1 - np.tanh(x * np_of(w)) ** 2) * np_of(w) * np.arange(1, 8)[None, :, None]
    np.testing.assert_allclose(np_of(xs.grad), expected, rtol=1e-12)


def test_matmul_with_a_parameter_on_the_right_reaches_the_parameter(rng):
    layer = ts.nn.Linear(3, 2)
    x = ts.Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    (x @ layer.W.T).sum().backward()
    # Σ_nk (x Wᵀ)_nk = Σ_nk Σ_j x_nj W_kj: ∂/∂W_kj = Σ_n x_nj, the same row for each k
    column_sums = x.numpy().sum(axis=0)
    np.testing.assert_allclose(np_of(layer.W.grad), np.stack([column_sums] * 2), rtol=1e-6)
    w2 = ts.nn.Parameter(rng.standard_normal((3, 2)))
    x2 = rng.standard_normal((4, 3))
    (ts.Tensor(x2) @ w2).sum().backward()
    np.testing.assert_allclose(np_of(w2.grad), np.stack([x2.sum(axis=0)] * 2, axis=1), rtol=1e-12)


def _weight_used_at_every_step(rng, T: int, B: int = 2, k: int = 3, m: int = 4):
    """y = Σ_t tanh(x_t W)·c_t with one leaf W: T matmul terms reach the same weight."""
    W = f64(rng, k, m)
    xs = [rng.standard_normal((B, k)) for _ in range(T)]
    cs = [rng.standard_normal((B, m)) for _ in range(T)]
    loss = None
    for x_t, c_t in zip(xs, cs, strict=True):
        term = ((ts.Tensor(x_t) @ W).tanh() * c_t).sum()
        loss = term if loss is None else loss + term
    W_np = W.numpy()
    expected = sum(
        x_t.T @ ((1 - np.tanh(x_t @ W_np) ** 2) * c_t) for x_t, c_t in zip(xs, cs, strict=True)
    )
    return W, loss, expected


@pytest.mark.parametrize("T", [1, 7, 40])
def test_a_weight_used_at_every_step_gets_the_sum_of_its_products(rng, T):
    # the weight's terms x_tᵀ g_t are multiplied out together at the end (Xᵀ G)
    W, loss, expected = _weight_used_at_every_step(rng, T)
    loss.backward()
    np.testing.assert_allclose(np_of(W.grad), expected, rtol=1e-12, atol=1e-12)


def test_collected_weight_products_flush_early_and_add_to_an_existing_grad(rng, monkeypatch):
    from tinygrad_seq import autograd

    monkeypatch.setattr(autograd._Products, "FLUSH_TERMS", 3)  # 40 terms: 13 early flushes
    W, loss, expected = _weight_used_at_every_step(rng, 40)
    W.sum().backward()  # a gradient of ones already there: the products add to it
    loss.backward()
    np.testing.assert_allclose(np_of(W.grad), expected + 1.0, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(autograd._Products, "FLUSH_BYTES", 8)  # every term flushes at once
    W, loss, expected = _weight_used_at_every_step(rng, 5)
    loss.backward()
    np.testing.assert_allclose(np_of(W.grad), expected, rtol=1e-12, atol=1e-12)


def test_a_weight_also_used_elementwise_and_as_a_left_operand_gets_every_term(rng):
    W = f64(rng, 3, 3)
    xs = [f64(rng, 2, 3, requires_grad=False) for _ in range(4)]
    loss = (W * W).sum() + (W @ W).sum()
    for x_t in xs:
        loss = loss + (x_t @ W).sum()
    loss.backward()
    W_np, ones = W.numpy(), np.ones((3, 3))
    expected = 2 * W_np + ones @ W_np.T + W_np.T @ ones
    expected += sum(x_t.numpy().T @ np.ones((2, 3)) for x_t in xs)
    np.testing.assert_allclose(np_of(W.grad), expected, rtol=1e-12)


def test_a_weight_over_batched_inputs_gets_the_sum_of_its_products(rng):
    # (B, S, k) @ (k, m), as a Linear layer on a sequence, twice on the same weight
    W = f64(rng, 3, 2)
    a, b = rng.standard_normal((2, 5, 3)), rng.standard_normal((4, 1, 3))
    ((ts.Tensor(a) @ W).sum() + ((ts.Tensor(b) @ W) ** 2).sum()).backward()
    expected = a.reshape(-1, 3).T @ np.ones((10, 2))
    expected += b.reshape(-1, 3).T @ (2 * (b.reshape(-1, 3) @ W.numpy()))
    np.testing.assert_allclose(np_of(W.grad), expected, rtol=1e-12)


def test_a_weight_of_another_dtype_than_its_input_still_gets_its_gradient(rng):
    W = ts.Tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    x = rng.standard_normal((4, 3))  # float64 input: the product is float64
    ((ts.Tensor(x) @ W).sum() + (ts.Tensor(x) @ W).sum()).backward()
    assert W.grad.dtype == np.float32
    np.testing.assert_allclose(np_of(W.grad), 2 * x.T @ np.ones((4, 2)), rtol=1e-5)


@pytest.mark.parametrize(
    ("x_shape", "w_shape"),
    [
        ((4, 3), (3, 2)),
        ((2, 5, 3), (3, 2)),
        ((2, 1, 4, 3), (5, 3, 2)),
        ((3,), (3, 2)),
        ((3,), (3,)),
    ],
)
def test_matmul_gradients_come_back_in_each_inputs_shape_and_dtype(rng, x_shape, w_shape):
    # MatMul fits its own gradients (no check by the engine): broadcast batch axes summed,
    # 1-D operands' added axes dropped, each gradient in its input's dtype
    x64, w64 = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    x = ts.Tensor(x64.astype(np.float32), requires_grad=True)
    w = ts.Tensor(w64, requires_grad=True)  # float64: the product is float64
    (x @ w).sum().backward()
    x_ref, w_ref = ts.Tensor(x64, requires_grad=True), ts.Tensor(w64, requires_grad=True)
    (x_ref @ w_ref).sum().backward()
    assert (x.grad.shape, x.grad.dtype) == (x_shape, np.float32)
    assert (w.grad.shape, w.grad.dtype) == (w_shape, np.float64)
    np.testing.assert_allclose(np_of(x.grad), np_of(x_ref.grad), rtol=1e-6)
    np.testing.assert_allclose(np_of(w.grad), np_of(w_ref.grad), rtol=1e-6)


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 4, 3)])  # 2-D product, Linear's path
def test_a_leaf_whose_data_changed_shape_before_backward_is_a_clear_error(rng, x_shape):
    W = f64(rng, 3, 2)
    loss = (ts.Tensor(rng.standard_normal(x_shape)) @ W).sum()
    W.data = np.zeros((2, 3))
    with pytest.raises(RuntimeError, match=r"changed shape between the forward"):
        loss.backward()


def test_detect_anomaly_sees_an_inf_weight_gradient():
    W = ts.Tensor(np.ones((2, 2)), requires_grad=True)
    x = ts.Tensor(np.array([[np.inf, 1.0]]))
    loss = (x @ W).sum()
    with np.errstate(invalid="ignore"), ts.detect_anomaly():
        with pytest.raises(ts.AnomalyError, match=r"backward of 'matmul'.*inf"):
            loss.backward()


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("T", [1, 5])
def test_a_bias_added_at_every_step_gets_the_sum_of_its_rows(rng, batch, T):
    # a bias's gradient over a batch is a sum of rows, added at every step
    b = f64(rng, 4)
    x = f64(rng, batch, 4)
    loss = None
    for t in range(T):
        term = ((x + b) * float(t + 1)).tanh().sum()
        loss = term if loss is None else loss + term
    loss.backward()
    xb = x.numpy() + b.numpy()
    per_row = sum((1 - np.tanh(xb * (t + 1)) ** 2) * (t + 1) for t in range(T))
    np.testing.assert_allclose(np_of(b.grad), per_row.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np_of(x.grad), per_row, rtol=1e-12)
    b.grad += 1.0  # b's .grad is its own array: x's gradient does not move
    np.testing.assert_allclose(np_of(x.grad), per_row, rtol=1e-12)


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 4, 3)])  # 2-D product, Linear's path
def test_a_weight_whose_data_changed_dtype_before_backward_still_gets_its_gradient(rng, x_shape):
    W = f64(rng, 3, 2)
    x = rng.standard_normal(x_shape)
    loss = (ts.Tensor(x) @ W).sum() + (ts.Tensor(x) @ W).sum()
    W.data = W.data.astype(np.float32)  # swapped between forward and backward
    loss.backward()
    assert W.grad.dtype == np.float32
    rows = x.reshape(-1, 3)
    np.testing.assert_allclose(np_of(W.grad), 2 * rows.T @ np.ones((len(rows), 2)), rtol=1e-6)


def test_only_small_repeated_weight_terms_are_collected(rng, monkeypatch):
    # a weight used once, or a large product, is multiplied out at once: nothing is kept
    # alive until the end of the pass; from a weight's second small term on they are
    # collected, and the bound counts the bytes of x as well as g
    from tinygrad_seq import autograd

    added, flushed = [], []
    original_add, original_flush = autograd._Products.add, autograd._Products.flush
    monkeypatch.setattr(
        autograd._Products, "add", lambda self, t: (added.append(t), original_add(self, t))
    )
    monkeypatch.setattr(
        autograd._Products,
        "flush",
        lambda self: (flushed.append(len(self.xs)), original_flush(self)),
    )
    once = f64(rng, 3, 2)
    (ts.Tensor(rng.standard_normal((4, 3))) @ once).sum().backward()
    assert added == []
    big = f64(rng, 300, 2)
    x_big = rng.standard_normal((300, 300))  # 90,000 elements: past the size for collecting
    ((ts.Tensor(x_big) @ big).sum() + (ts.Tensor(x_big) @ big).sum()).backward()
    assert added == []
    np.testing.assert_allclose(np_of(big.grad), 2 * x_big.T @ np.ones((300, 2)), rtol=1e-12)
    flushed.clear()
    monkeypatch.setattr(autograd._Products, "FLUSH_BYTES", 2 * (2 * 100 + 2 * 1) * 8)
    wide = f64(rng, 100, 1)  # x (2, 100) is 50× g (2, 1): two terms reach the bound
    xs = [rng.standard_normal((2, 100)) for _ in range(5)]
    sum((ts.Tensor(x) @ wide).sum() for x in xs).backward()
    assert len(added) == 4 and flushed == [2, 2, 0]  # 2 + 2 flushed early, then the end
    expected = sum(x.T @ np.ones((2, 1)) for x in xs)
    np.testing.assert_allclose(np_of(wide.grad), expected, rtol=1e-12)


@pytest.mark.numpy_only  # CuPy keeps the transposed view (cuBLAS reads it at full speed)
def test_a_weights_transpose_is_copied_from_its_third_use_in_a_pass_and_not_kept(rng, monkeypatch):
    from tinygrad_seq import autograd

    W = rng.standard_normal((3, 4))
    assert np.shares_memory(autograd.transposed_weight(W, 2), W)  # outside a pass: a view
    monkeypatch.setattr(autograd.state, "transposes", {})  # as inside a backward pass
    uses = [autograd.transposed_weight(W, 2) for _ in range(4)]
    assert np.shares_memory(uses[0], W) and np.shares_memory(uses[1], W)  # once or twice:
    third = uses[2]  # not copied; from the third use on, one C-ordered copy a pass
    assert not np.shares_memory(third, W) and third.flags.c_contiguous
    np.testing.assert_array_equal(third, W.T)
    assert uses[3] is third
    assert np.shares_memory(autograd.transposed_weight(W, 10_000), W)  # many rows: the view
    big = np.ones((600, 600))  # 2.9 MB: its copy would cost more than it saves
    wide = np.ones((128, 512))  # one row of g times a large weight: the view is faster
    for w, rows in ((big, 32), (wide, 1)):
        assert all(np.shares_memory(autograd.transposed_weight(w, rows), w) for _ in range(4))
    monkeypatch.undo()

    # end to end: a weight changed in place between two passes (an optimiser step) gets
    # the new weight's gradient, and nothing is kept after a pass, even a failed one
    W = f64(rng, 3, 3)
    h0 = f64(rng, 2, 3)
    xs = [rng.standard_normal((2, 3)) for _ in range(4)]
    cs = [np.zeros((2, 3))] * 3 + [np.ones((2, 3))]
    for _ in range(2):
        W.grad = h0.grad = None
        h = h0
        for x_t in xs:
            h = (h @ W + x_t).tanh()
        h.sum().backward()
        _, ref_dh0, ref_dW, _ = tanh_recurrence_bptt(h0.numpy(), W.numpy(), xs, cs)
        np.testing.assert_allclose(np_of(h0.grad), ref_dh0, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(np_of(W.grad), ref_dW, rtol=1e-12, atol=1e-15)
        assert autograd.state.transposes is None
        W.data *= -0.5  # in place, as an optimiser does
    # a pass that fails after the weight's copy was made (the released tanh lies below
    # three products with W) keeps nothing either
    from tinygrad_seq import ops

    copies = []
    real = ops.transposed_weight
    monkeypatch.setattr(
        ops,
        "transposed_weight",
        lambda w, rows: copies.append(not np.shares_memory(out := real(w, rows), w)) or out,
    )
    released = f64(rng, 1, 3).tanh()
    released.sum().backward()
    with pytest.raises(RuntimeError, match="already released"):
        (((released @ W) @ W) @ W).sum().backward()
    assert copies == [False, False, True] and autograd.state.transposes is None


def test_a_number_set_by_hand_as_grad_is_added_to_not_lost(rng):
    # the inline `leaf_grad += g` would rebind a local name for a number: the gradient lost
    x = f64(rng, 3)
    x.grad = 0.5
    (x * 2).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), np.full(3, 2.5))
    w = f64(rng, 2, 3)  # a matmul weight, and an indexed leaf
    w.grad = 1.0
    x = rng.standard_normal((4, 2))
    (ts.Tensor(x) @ w).sum().backward()
    np.testing.assert_allclose(np_of(w.grad), 1.0 + x.T @ np.ones((4, 3)), rtol=1e-12)
    xs = f64(rng, 4)
    xs.grad = 1.0
    (xs[1:3] * 3).sum().backward()
    np.testing.assert_allclose(np_of(xs.grad), [1.0, 4.0, 4.0, 1.0])


def test_a_grad_set_by_hand_to_a_list_is_a_clear_error(rng):
    x = f64(rng, 3)
    x.grad = [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match=r"\.grad holds a list: it must be None or an array"):
        (x * 2).sum().backward()


@pytest.mark.parametrize(
    "g",
    [
        np.array(-3.0),  # 0-d
        np.float64(2.5),  # a NumPy scalar
        np.arange(12.0).reshape(3, 4)[:, ::2],  # not contiguous
        np.full((4, 4), 300.0, np.float16),  # squares past float16's range
        np.linspace(-1, 1, 1000, dtype=np.float32),
        np.full((2, 3), 1e-25, np.float32),  # squares below float32's range (a vanished RNN
        np.array([3e-30, -4e-30], np.float32),  # gradient): its norm is not 0
        np.full((2, 3), 1e20, np.float32),  # squares past float32's range: not inf
        np.array([1e-170, 2e-170]),  # and float64's
        np.zeros(5, np.float32),
    ],
)
@pytest.mark.filterwarnings("ignore:overflow encountered in dot:RuntimeWarning")  # (1e20)
def test_recorded_gradient_norm_is_the_euclidean_norm(g):
    from tinygrad_seq.autograd import _norm

    big = np.asarray(g, np.float64)
    top = float(np.abs(big).max()) if big.size else 0.0
    expected = top * float(np.sqrt(((big / top) ** 2).sum())) if top else 0.0
    assert _norm(g) == pytest.approx(expected, rel=1e-5, abs=0)


def test_recorded_norms_of_a_vanishing_float32_gradient_are_not_zero():
    # 25 steps of h ← tanh(0.1 h): the gradient shrinks ~10× a step; 24 steps from the
    # loss it is ~1e-24 an element, whose square underflows float32 while the value does not
    x = ts.Tensor(np.full((1, 3), 0.5, np.float32), requires_grad=True)
    hs = [x]
    for _ in range(25):
        hs.append((hs[-1] * 0.1).tanh())
    loss = hs[-1].sum()
    with ts.graph.record_grad_norms():
        loss.backward()
    g = ts.graph.trace(loss)
    by_tensor = {id(t): n for t, n in zip(g.tensors, g.nodes, strict=True)}
    assert 1e-26 < by_tensor[id(hs[1])].grad_norm < 1e-22


def test_a_numpy_gradient_set_by_hand_on_a_leaf_of_the_backend_is_added_into():
    """As the optimisers accept one: on CuPy, backward's in-place sum was numpy += cupy."""
    p = ts.Tensor(np.ones(3), requires_grad=True)
    p.grad = np.array([1.0, 2.0, 3.0])  # e.g. restored from a checkpoint
    (p * 2).sum().backward()
    assert ts.backend.backend_of(p.grad) == ts.backend.backend_of(p.data)
    np.testing.assert_array_equal(np_of(p.grad), [3.0, 4.0, 5.0])


def test_a_node_counted_again_does_not_take_a_gradient_it_shares():
    """After _recount (a use that never sends: a logged mean), the first gradient to reach
    a node is kept as it came, shared: y + y sends one array to y twice, and k + a one
    array to k and a. Owning it, the next arrival added into the sibling's gradient."""
    x = ts.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    a = y + y
    _logged = a.mean()
    a.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [4.0, 4.0, 4.0])
    x.grad = None
    c = np.array([1.0, -2.0, 0.5])
    k = x * 5.0
    y = x * 2.0
    w = k + (y + y)
    _logged = w.mean()
    (w * c).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), 9.0 * c)  # 5 + 2 · 2


class _SendsNothing(ts.Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (None,)


def test_an_input_sent_no_gradient_counts_as_zero_and_the_graph_below_it_runs():
    x = ts.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = ts.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    h = x * 2.0  # used once: by the op that sends nothing
    (ts.tensor.apply(_SendsNothing(), h) + w).sum().backward()
    np.testing.assert_array_equal(np_of(w.grad), [1.0, 1.0])
    assert x.grad is not None, "the graph below a zero gradient did not run"
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 0.0])


@pytest.mark.parametrize("shape", [(256, 128), (8, 64, 64)])  # one, two leading axes
def test_a_bias_gradient_over_a_large_batch_is_the_exact_row_sum(rng, shape):
    """Past 16,384 elements sum_to sums the leading axes as one BLAS product."""
    x = ts.Tensor(rng.standard_normal(shape), requires_grad=True)
    b = ts.Tensor(rng.standard_normal(shape[-1]), requires_grad=True)
    g = rng.standard_normal(shape)
    (x + b).backward(g)
    lead = tuple(range(len(shape) - 1))
    np.testing.assert_allclose(np_of(b.grad), g.sum(axis=lead), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(np_of(x.grad), g)


# ------------------------------------------------------------ gradients a node may reuse
class _Probe(ts.autograd.Function):
    """x unchanged; its backward notes whether the gradient it got was its own."""

    op_name = "probe"
    seen: list = []

    def forward(self, x):
        return x

    def backward(self, g):
        _Probe.seen.append(ts.autograd.grad_is_yours(g))
        return (g,)


def _probe(t):
    return ts.tensor.apply(_Probe(), t)


@pytest.mark.parametrize(
    "build, owned",
    [
        (lambda x, w: (_probe(x @ w) @ w).sum(), True),  # its one use: a matmul (fresh)
        (lambda x, w: _probe(x @ w).relu().sum(), True),  # relu makes its gradient anew
        (lambda x, w: (_probe(x @ w) * 2.0).sum(), False),  # a product's is not marked so
        (lambda x, w: (_probe(x @ w) + x).sum(), False),  # an add shares g with x
        (lambda x, w: _probe(x @ w).sum(), False),  # a sum's gradient is a broadcast view
        (lambda x, w: (_probe(x @ w) @ w + _probe(x @ w).relu() @ w).sum(), True),
        (lambda x, w: (lambda p: (p @ w + p @ w).sum())(_probe(x @ w)), True),  # two uses,
        # summed into a buffer the pass made
        (lambda x, w: (lambda p: (p + p).sum())(_probe(x @ w)), True),
    ],
)
def test_a_node_gets_its_gradient_as_its_own_only_when_no_one_else_holds_it(rng, build, owned):
    x = ts.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = ts.Tensor(rng.standard_normal((4, 4)), requires_grad=True)
    _Probe.seen = []
    build(x, w).backward()
    assert _Probe.seen and all(seen is owned for seen in _Probe.seen), _Probe.seen
    assert ts.autograd.grad_is_yours(x.data) is False  # outside a backward pass


def test_the_gradient_passed_to_backward_is_never_written_into(rng):
    x = ts.Tensor(rng.standard_normal((8, 16)), requires_grad=True)
    w = ts.Tensor(rng.standard_normal((16, 16)), requires_grad=True)
    for make in (lambda: (x @ w).relu(), lambda: (x @ w) * 3.0, lambda: (x @ w).softmax(-1),
                 lambda: _probe((x @ w).relu())):  # fmt: skip
        g = rng.standard_normal((8, 16))
        kept = g.copy()
        _Probe.seen = []
        make().backward(g)
        np.testing.assert_array_equal(g, kept)
        assert not any(_Probe.seen)


@pytest.mark.parametrize("op", ["relu", "softmax", "scale", "sigmoid", "tanh"])
def test_ops_that_reuse_their_gradient_give_the_same_gradients(rng, op, monkeypatch):
    """Each op after a matmul (whose gradient it may overwrite) and after an add (whose
    gradient it must not): float64 gradcheck. (A product reuses only large gradients:
    made to reuse these small ones here.)"""
    monkeypatch.setattr(ts.ops, "_REUSE_MIN", 0)
    apply = {
        "relu": lambda t: t.relu(),
        "softmax": lambda t: t.softmax(-1),
        "scale": lambda t: t * 0.125,
        "sigmoid": lambda t: t.sigmoid(),
        "tanh": lambda t: t.tanh(),
    }[op]
    x = ts.Tensor(rng.standard_normal((5, 6)), requires_grad=True)
    w = ts.Tensor(rng.standard_normal((6, 6)), requires_grad=True)
    v = ts.Tensor(rng.standard_normal((6, 3)), requires_grad=True)

    def f(x, w, v):  # the op's gradient comes from v's matmul (its own) and is shared by
        h = apply(x @ w)  # the add below with x @ w's other use
        return (h @ v).sum() + (h * (x @ w)).sum()

    assert ts.gradcheck(f, x, w, v)


@pytest.mark.parametrize("op", ["relu", "softmax", "scale", "layer_norm"])
def test_large_gradients_shared_by_two_consumers_are_not_written_into(rng, op):
    """An add hands one gradient to both its inputs: neither node below may write into it,
    at sizes where every op that can reuse its gradient does (the answer: twice one
    input's gradient, exactly)."""
    apply = {
        "relu": lambda t: t.relu(),
        "softmax": lambda t: t.softmax(-1),
        "scale": lambda t: t * 0.5,
        "layer_norm": lambda t: ts.functional.layer_norm(t, ts.ones(256), ts.zeros(256)),
    }[op]
    x = ts.Tensor(rng.standard_normal((128, 64)), requires_grad=True)
    w = ts.Tensor(rng.standard_normal((64, 256)) / 8, requires_grad=True)
    v = ts.Tensor(rng.standard_normal((256, 8)), requires_grad=True)
    ((apply(x @ w) + apply(x @ w)) @ v).sum().backward()
    twice = x.grad.copy()
    x.grad = None
    (apply(x @ w) @ v).sum().backward()
    np.testing.assert_allclose(np_of(twice), 2 * np_of(x.grad), rtol=1e-12, atol=1e-12)


def test_a_subclass_with_its_own_backward_makes_no_fresh_gradient_promise(rng):
    """A straight-through relu (backward hands g on unchanged) must not tell the node below
    that g is its own: fresh_grads goes with the backward it was declared beside."""

    class StraightThrough(ts.ops.Relu):
        op_name = "straight_through"

        def backward(self, g):
            return (g,)

    assert ts.ops.Relu.fresh_grads and not StraightThrough.fresh_grads
    x = ts.Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    w = ts.Tensor(rng.standard_normal((5, 6)), requires_grad=True)
    g = rng.standard_normal((4, 6))
    kept = g.copy()
    ts.tensor.apply(StraightThrough(), (x @ w).relu()).backward(g)
    np.testing.assert_array_equal(g, kept)


def test_a_0d_gradient_is_never_handed_over_as_writable(rng):
    """NumPy gives 0-d results as immutable scalars: relu's gradient of a 0-d node is not
    marked the node's own, and a 0-d leaf still gets an array as its .grad."""
    x = ts.Tensor(np.float64(1.5), requires_grad=True)
    _Probe.seen = []
    _probe(x * 2.0).relu().backward()
    assert _Probe.seen == [False]
    arrays = ts.backend.ARRAY_TYPES  # (not a NumPy scalar: an ndarray, or CuPy's)
    assert x.grad.__class__ in arrays and x.grad.shape == () and float(x.grad) == 2.0
    y = ts.Tensor(np.float64(0.5), requires_grad=True)
    y.relu().backward()
    assert y.grad.__class__ in arrays and float(y.grad) == 1.0


def test_a_backward_pass_inside_an_ops_backward_owns_none_of_the_outer_gradient(rng):
    """An op that recomputes its forward in backward and runs a backward pass through it
    with the g it was handed (gradient checkpointing): the inner pass must not treat that g,
    its own root's, as any inner node's to write into, though the outer node owns it."""
    seen = []

    class Recompute(ts.autograd.Function):
        op_name = "recompute"

        def forward(self, x):
            self.saved = x
            return np.maximum(x, 0) + 3.0 * x

        def backward(self, g):
            seen.append(ts.autograd.grad_is_yours(g))
            with ts.enable_grad():
                xd = ts.Tensor(self.saved.copy(), requires_grad=True)
                (xd.relu() + xd * 3.0).backward(g)  # an add hands g to both terms
                seen.append(ts.autograd.grad_is_yours(g))  # (the outer pass's again)
            return (xd.grad,)

    x = ts.Tensor(rng.standard_normal((256, 64)), requires_grad=True)  # 256 × 128 products:
    w = ts.Tensor(rng.standard_normal((64, 128)), requires_grad=True)  # large enough for a
    v = ts.Tensor(rng.standard_normal((128, 8)), requires_grad=True)  # product to reuse g
    (ts.tensor.apply(Recompute(), x @ w) @ v).sum().backward()
    nested = x.grad.copy()
    assert seen == [True, True]
    x.grad = None
    (((x @ w).relu() + (x @ w) * 3.0) @ v).sum().backward()
    np.testing.assert_allclose(np_of(nested), np_of(x.grad), rtol=1e-12, atol=1e-12)


def test_a_pass_in_another_thread_gives_back_no_gradient_it_did_not_own(rng):
    """A backward pass in a second thread that starts while one of this thread's nodes owns
    its g and ends after that node is done must not hand that g back as owned: the next
    node given the same array (an add sends one g to both inputs) would write into it."""
    import threading

    inside, finish, seen = threading.Event(), threading.Event(), []

    class Wait(ts.autograd.Function):  # the other thread's op: its backward waits for us
        op_name = "wait"

        def forward(self, x):
            return x.copy()

        def backward(self, g):
            inside.set()
            finish.wait(10)
            return (g,)

    def other_pass():
        ts.tensor.apply(Wait(), ts.Tensor(np.ones(3), requires_grad=True)).sum().backward()

    other = threading.Thread(target=other_pass)

    class Fork(ts.autograd.Function):  # a + b, whose g (owned) goes on to both inputs
        op_name = "fork"

        def forward(self, a, b):
            return a + b

        def backward(self, g):
            seen.append(ts.autograd.grad_is_yours(g))
            other.start()  # its pass begins while this node owns g
            inside.wait(10)
            return g, g

    class Probe(ts.autograd.Function):
        op_name = "probe"

        def forward(self, a):
            return a.copy()

        def backward(self, g):
            finish.set()  # the other pass ends now, after the fork is done
            other.join(10)
            seen.append(ts.autograd.grad_is_yours(g))
            return (g,)

    x = ts.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    v = ts.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    a, b = ts.tensor.apply(Probe(), x * 2.0), ts.tensor.apply(Probe(), x * 3.0)
    (ts.tensor.apply(Fork(), a, b) @ v).sum().backward()
    assert not other.is_alive()
    assert seen == [True, False, False]  # the fork's own g; then the probes': shared
    np.testing.assert_allclose(np_of(x.grad), 5.0 * np_of(v).sum(axis=1)[None, :].repeat(4, 0))


def test_a_gradient_owned_in_one_thread_is_not_another_threads(rng):
    import threading

    seen = []

    class Look(ts.autograd.Function):
        op_name = "look"

        def forward(self, a):
            return a.copy()

        def backward(self, g):
            seen.append(ts.autograd.grad_is_yours(g))
            other = threading.Thread(target=lambda: seen.append(ts.autograd.grad_is_yours(g)))
            other.start()
            other.join(10)
            return (g,)

    x = ts.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = ts.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    (ts.tensor.apply(Look(), x @ v) @ v.T).sum().backward()  # a product's fresh g: owned
    assert seen == [True, False]  # this pass's, not the other thread's (which runs none)


def test_a_backward_from_a_mixin_drops_the_fresh_gradient_promise_too(rng):
    class PassThrough:  # a plain mixin: its backward hands g on unchanged
        def backward(self, g):
            return (g,)

    class StraightThrough(PassThrough, ts.ops.Relu):
        op_name = "straight_through_mixin"

    class Declared(ts.ops.Relu):  # a backward of its own, declared fresh: kept
        fresh_grads = True

        def backward(self, g):
            return (g * (self.saved > 0),)

    assert not StraightThrough.fresh_grads and Declared.fresh_grads
    assert ts.ops.Relu.fresh_grads and not type("Sub", (StraightThrough,), {}).fresh_grads
    x = ts.Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    g = rng.standard_normal((4, 5))
    kept = g.copy()
    ts.tensor.apply(StraightThrough(), x.relu()).backward(g)
    np.testing.assert_array_equal(g, kept)


def test_an_integer_output_of_a_function_carries_no_gradient(rng):
    # as a comparison's, and as PyTorch's Functions mark theirs: integers and booleans
    # (ids, a mask) cannot require a gradient, so none flows back through this op's
    # backward (it was called before, as a straight-through estimator, and the ids
    # tensor said requires_grad=True, which no integer Tensor may)
    class Positive(ts.Function):
        def forward(self, x):
            return (x > 0).astype(np.int64)

        def backward(self, g):
            return (g,)

    x = ts.Tensor(rng.standard_normal(5), requires_grad=True)
    ids = Positive.apply(x)
    assert ids.dtype == np.int64 and not ids.requires_grad
    with pytest.raises(RuntimeError, match="which carries no gradient"):
        ids.sum().backward()
    (ids * x).sum().backward()  # the product's own path only: ∂/∂x = ids
    np.testing.assert_array_equal(np_of(x.grad), np_of(ids.data).astype(np.float64))


def test_a_float_or_complex_output_of_a_function_keeps_its_gradient():
    # only integers and booleans are cut from the graph
    class ToComplex(ts.Function):
        def forward(self, x):
            return x.astype(np.complex128)

        def backward(self, g):
            return (g.real,)

    class ToFloat32(ToComplex):
        def forward(self, x):
            return x.astype(np.float32)

    x = ts.Tensor(np.ones(3), requires_grad=True)
    assert ToComplex.apply(x).requires_grad and ToFloat32.apply(x).requires_grad
    with ts.no_grad():
        assert not ToFloat32.apply(x).requires_grad


def test_a_function_applies_itself_to_tensors(rng):
    class Square(ts.Function):
        op_name = "square"

        def forward(self, x):
            self.saved = x
            return x * x

        def backward(self, g):
            return (2 * self.saved * g,)

    x = ts.Tensor(rng.standard_normal(3), requires_grad=True)
    y = Square().apply(x)  # as tinygrad_seq.tensor.apply(Square(), x)
    assert y.op == "square" and y.parents == (x,)
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), 2 * np_of(x.data))
    z = Square.apply(x)  # on the class: a new op object each call, as PyTorch's
    assert z.op == "square" and z._ctx is not y._ctx
    # one object is one node: applied again it would rewire the first result's graph
    square = Square()
    square.apply(x)
    with pytest.raises(RuntimeError, match="Square object was applied already.*Square\\(\\)"):
        square.apply(x)
    with pytest.raises(TypeError, match="Square.apply: input 0 must be a Tensor, got ndarray"):
        Square().apply(np.ones(3))
    # a number is a setting more often than an input: the message says where settings go
    with pytest.raises(TypeError, match=r"input 1 .* got float .*constructor.*Square\(0\.5\)"):
        Square.apply(x, 0.5)
    with pytest.raises(TypeError, match=r"^square: .*forward\(\) missing 1 required"):
        Square.apply()  # no inputs: no "on shapes :" with nothing after it

    class Scale(ts.Function):
        def __init__(self, k):
            self.k = k

        def forward(self, x):
            return x * self.k

        def backward(self, g):
            return (g * self.k,)

    with pytest.raises(TypeError, match=r"Scale.apply: its constructor needs arguments"):
        Scale.apply(x)
    np.testing.assert_allclose(Scale(2.0).apply(x).numpy(), 2 * x.numpy())
    # called unbound, as a plain method would be: the op object first
    np.testing.assert_allclose(ts.Function.apply(Scale(3.0), x).numpy(), 3 * x.numpy())
    with pytest.raises(TypeError, match="Square.apply: input 0 must be a Tensor, got Scale"):
        Square.apply(Scale(3.0), x)  # another class's op: not this class's apply

    class BadInit(Square):
        def __init__(self):
            raise TypeError("a bug inside __init__")

    with pytest.raises(TypeError, match="^a bug inside __init__$"):  # its own error
        BadInit.apply(x)
