"""ts.graph: trace() as plain data, scopes, steps, weights, and recorded gradient norms."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tests.helpers import np_of
from tinygrad_seq.graph import step_of


def unrolled_rnn(rng: np.random.Generator, T: int, H: int = 3, D: int = 2, B: int = 2):
    """h_t = tanh(x_t W_xhᵀ + h_{t-1} W_hhᵀ + b_h) in scope "rnn/t=<t>"; L = sum(h_T²)."""
    W_xh = ts.Tensor(rng.uniform(-0.5, 0.5, (H, D)), requires_grad=True, name="W_xh")
    W_hh = ts.Tensor(rng.uniform(-0.5, 0.5, (H, H)), requires_grad=True, name="W_hh")
    b_h = ts.Tensor(rng.uniform(-0.5, 0.5, (H,)), requires_grad=True, name="b_h")
    xs = ts.Tensor(rng.standard_normal((B, T, D)), name="x")
    h = ts.Tensor(np.zeros((B, H)), name="h_0")
    with ts.scope("rnn"):
        for t in range(T):
            with ts.scope(f"t={t}"):
                h = (xs[:, t] @ W_xh.T + h @ W_hh.T + b_h).tanh()
                h.name = "h_t"
    loss = (h * h).sum()
    loss.name = "L"
    return loss, h, (W_xh, W_hh, b_h)


def test_step_of_reads_the_outermost_step():
    assert step_of("encoder/t=3/attention") == ("encoder", 3)
    assert step_of("t=0") == ("", 0)
    assert step_of("decoder/t=12") == ("decoder", 12)
    assert step_of("encoder/layer=0") is None
    assert step_of("") is None
    assert step_of("t=x") is None


def test_trace_is_inputs_first_with_edges_forward(rng):
    loss, _, params = unrolled_rnn(rng, T=3)
    g = ts.graph.trace(loss)
    assert g.root.name == "L" and g.root.op == "sum" and g.root.shape == ()
    assert [n.id for n in g.nodes] == list(range(len(g)))
    assert all(src < dst for src, dst in g.edges)
    # every non-leaf has exactly its op's inputs as edges; leaves have none
    parents = {n.id: 0 for n in g.nodes}
    for _, dst in g.edges:
        parents[dst] += 1
    for node, tensor in zip(g.nodes, g.tensors, strict=True):
        assert parents[node.id] == len(tensor.parents)
        assert node.is_leaf == (tensor.op is None)


def test_step_of_takes_the_outermost_step():
    assert step_of("encoder/t=3/attn") == ("encoder", 3)
    assert step_of("outer/t=1/inner/t=2") == ("outer", 1)  # a step holds the inner loop
    assert step_of("t=7") == ("", 7)
    assert step_of("encoder/attn") is None and step_of("") is None


def test_steps_scopes_and_equal_node_counts_per_step(rng):
    T = 12  # past 10: "t=1" must not take in t=10 and t=11
    loss, _, _ = unrolled_rnn(rng, T)
    g = ts.graph.trace(loss)
    assert g.steps() == {"rnn": list(range(T))}
    assert set(g.scopes()) == {"rnn"} | {f"rnn/t={t}" for t in range(T)}
    counts = [len(g.in_scope(f"rnn/t={t}")) for t in range(T)]
    assert len(set(counts)) == 1 and counts[0] > 0
    per_step_ops = [sorted(n.op or "leaf" for n in g.in_scope(f"rnn/t={t}")) for t in range(T)]
    assert all(ops == per_step_ops[0] for ops in per_step_ops)
    # nothing else lives in "rnn": every node there is in exactly one step
    assert sum(counts) == len(g.in_scope("rnn"))
    assert g.in_scope("rnn/") == g.in_scope("rnn")  # a trailing slash names the same scope
    assert g.in_scope("") == list(g.nodes)  # every scope is nested in the top one


def test_parameter_and_input_flags(rng):
    loss, _, params = unrolled_rnn(rng, T=3)
    g = ts.graph.trace(loss)
    # shared by the 3 steps, each listed once
    assert sorted(n.name for n in g.parameters()) == ["W_hh", "W_xh", "b_h"]
    for n in g.parameters():
        assert n.is_param and n.is_leaf and n.requires_grad and not n.is_input
        assert n.scope == ""  # made outside the unroll
    h0 = [n for n in g.nodes if n.name == "h_0"]
    assert len(h0) == 1 and h0[0].is_input and not h0[0].is_param
    consumers = g.consumers()
    W_hh = next(n for n in g.parameters() if n.name == "W_hh")
    users = {step_of(g.nodes[c].scope) for c in consumers[W_hh.id]}
    assert users == {("rnn", t) for t in range(3)}


def test_grad_norms_recorded_only_when_asked(rng):
    loss, h_T, params = unrolled_rnn(rng, T=3)
    loss.backward(retain_graph=True)
    g = ts.graph.trace(loss)
    assert all(n.grad_norm is None for n in g.nodes if not n.is_leaf)
    grads = {p.name: float(np.linalg.norm(np_of(p.grad))) for p in params}
    for n in g.parameters():  # a leaf's norm is that of its accumulated .grad
        assert n.grad_norm == pytest.approx(grads[n.name])

    with ts.graph.record_grad_norms():
        loss.backward()
    g = ts.graph.trace(loss)
    by_id = {n.id: n for n in g.nodes}
    assert g.root.grad_norm == pytest.approx(1.0)  # dL/dL
    # L = sum(h_T * h_T): dL/d(h_T * h_T) = ones, dL/dh_T = 2 h_T
    (mul,) = [by_id[src] for src, dst in g.edges if dst == g.root.id]
    assert mul.grad_norm == pytest.approx(np.sqrt(h_T.data.size))
    h_T_node = next(n for n in g.nodes if n.name == "h_t" and n.scope == "rnn/t=2")
    assert h_T_node.grad_norm == pytest.approx(2 * float(np.linalg.norm(h_T.numpy())), rel=1e-6)


def test_trace_is_iterative_on_long_chains():
    x = ts.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(20_000):  # far past Python's recursion limit
        y = y.tanh()
    g = ts.graph.trace(y)
    assert len(g) == 20_001 and len(g.edges) == 20_000
    assert g.count_ops() == {"param": 1, "tanh": 20_000}


def test_trace_rejects_non_tensors():
    with pytest.raises(TypeError, match="trace: expected a Tensor"):
        ts.graph.trace(np.ones(3))


def _two_losses_through_h():
    """x, and loss1 = Σ 1000 h, loss2 = Σ 0.001 h sharing the node h = tanh(3x)."""
    x = ts.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    h = (x * 3.0).tanh()
    h.name = "h"
    return x, (h * 1000.0).sum(), (h * 0.001).sum()


def _h_norm(loss) -> float | None:
    (node,) = [n for n in ts.graph.trace(loss).nodes if n.label == "h"]
    return node.grad_norm


def test_an_unrecorded_backward_clears_the_norms_an_earlier_one_left():
    # loss2's graph showed, on the node it shares with loss1, ‖∂loss1/∂h‖ = 1414 from an
    # earlier recorded pass, where ‖∂loss2/∂h‖ is 0.0014
    _, loss1, loss2 = _two_losses_through_h()
    with ts.graph.record_grad_norms():
        loss1.backward(retain_graph=True)
    assert _h_norm(loss1) == pytest.approx(1000 * np.sqrt(2))
    loss2.backward()  # not recorded
    assert _h_norm(loss2) is None
    with ts.graph.record_grad_norms():  # recorded again: shown again
        _, _, loss3 = _two_losses_through_h()
        loss3.backward()
    assert _h_norm(loss3) == pytest.approx(0.001 * np.sqrt(2))


def test_an_unrecorded_pass_touches_no_node_but_its_root():
    """Recording off costs nothing a node: a pass that does not record clears its root's
    norms only; the pictures tell the rest apart by the number of the pass that left them."""
    seen = []

    class Probe(ts.autograd.Function):
        op_name = "probe"

        def forward(self, a):
            return a.copy()

        def backward(self, g):
            return (g,)

        @property
        def norms(self):
            return seen[-1] if seen else None

        @norms.setter
        def norms(self, value):  # every store by a pass shows here
            seen.append(value)

    x = ts.Tensor(np.ones((2, 2)), requires_grad=True)
    probe = ts.tensor.apply(Probe(), x)
    with ts.graph.record_grad_norms():
        (probe * 2.0).sum().backward(retain_graph=True)
    assert len(seen) == 1 and seen[0][0] == pytest.approx(4.0)  # ‖∂L/∂probe‖ = ‖2·ones‖
    (probe * 3.0).sum().backward(retain_graph=True)  # not recorded: below its root, the
    # probe is not touched
    assert len(seen) == 1
    loss = (probe * 3.0).sum()
    with ts.graph.record_grad_norms():
        loss.backward(retain_graph=True)
    assert len(seen) == 2
    loss.backward()  # again from the same root, unrecorded: its root is cleared, not the probe
    assert len(seen) == 2
    assert all(n.grad_norm is None for n in ts.graph.trace(loss).nodes if not n.is_leaf)


def test_a_recorded_pass_that_fails_at_its_root_leaves_no_older_norms_showing():
    class Fails(ts.autograd.Function):
        op_name = "fails"

        def forward(self, a):
            return a.sum()

        def backward(self, g):
            if fail:
                raise RuntimeError("boom")
            return (ts.backend.array_module(g).ones((2, 2)) * g,)  # (on g's backend)

    x = ts.Tensor(np.ones((2, 2)), requires_grad=True)
    y = ts.tensor.apply(Fails(), x.tanh())
    fail = False
    with ts.graph.record_grad_norms():
        y.backward(retain_graph=True)
    assert ts.graph.trace(y).root.grad_norm == pytest.approx(1.0)
    fail = True
    with ts.graph.record_grad_norms(), pytest.raises(RuntimeError, match="boom"):
        y.backward(np.float64(100.0), retain_graph=True)
    assert all(n.grad_norm is None for n in ts.graph.trace(y).nodes if not n.is_leaf)


def test_a_picture_shows_its_own_roots_last_recorded_pass():
    _, loss1, loss2 = _two_losses_through_h()
    with ts.graph.record_grad_norms():
        loss1.backward(retain_graph=True)
        loss2.backward(retain_graph=True)  # recorded too, through h: h now holds loss2's
    assert _h_norm(loss1) is None  # loss1's norm on h was replaced: not shown as loss1's
    assert _h_norm(loss2) == pytest.approx(0.001 * np.sqrt(2))
    assert ts.graph.trace(loss1).root.grad_norm == pytest.approx(1.0)  # its own still shown


def test_a_later_pass_through_a_root_hides_the_norms_of_that_roots_own():
    w = ts.Tensor(np.ones(2), requires_grad=True)
    loss1 = (w * 2.0).tanh().sum()
    with ts.graph.record_grad_norms():
        loss1.backward(retain_graph=True)
    assert ts.graph.trace(loss1).root.grad_norm == pytest.approx(1.0)
    loss2 = loss1 * 5.0
    with ts.graph.record_grad_norms():
        loss2.backward()  # through loss1's whole graph: its nodes now hold ∂loss2/∂node
    assert all(n.grad_norm is None for n in ts.graph.trace(loss1).nodes if not n.is_leaf)
    in_loss2 = {n.name or n.op: n.grad_norm for n in ts.graph.trace(loss2).nodes}
    assert in_loss2["mul"] == pytest.approx(1.0) and in_loss2["sum"] == pytest.approx(5.0)


def test_a_hand_set_number_gradient_has_the_norm_backward_adds_with():
    w = ts.Tensor(np.ones((2, 2)), requires_grad=True)
    w.grad = 3.0  # (a number: backward adds it to every element)
    assert ts.graph.trace(w).root.grad_norm == pytest.approx(6.0)  # ‖3 · ones(2, 2)‖
    w.grad = np.array([[3.0, 4.0], [0.0, 0.0]])  # an array: its own norm
    assert ts.graph.trace(w).root.grad_norm == pytest.approx(5.0)


@pytest.mark.parametrize("batch", [1, 2])  # (one row: the norm ‖x‖ ‖g‖ of an outer product)
def test_recorded_edge_norms_are_each_steps_share_of_a_shared_weights_gradient(rng, batch):
    # a weight transposed once and used at every step: the branch into step t is coloured
    # by what step t sent back (its share of ∂L/∂W), not by the gradient reaching the step
    from tinygrad_seq.viz.graph_render import _edge_norm

    W_np = rng.standard_normal((3, 3))
    xs = [rng.standard_normal((batch, 3)) for _ in range(3)]

    def run(weights):  # weights[t] used at step t; h_0 = 0
        h = ts.Tensor(np.zeros((batch, 3)))
        for W_T, x_t in zip(weights, xs, strict=True):
            h = (h @ W_T + x_t).tanh()
        return (h * h).sum()

    W = ts.Tensor(W_np, requires_grad=True)
    W_T = W.T
    with ts.graph.record_grad_norms():
        loss = run([W_T] * 3)
        loss.backward()
    leaf_weight = ts.Tensor(W_np.T.copy(), requires_grad=True)  # a leaf used at every step
    with ts.graph.record_grad_norms():
        leaf_loss = run([leaf_weight] * 3)
        leaf_loss.backward()
    copies = [ts.Tensor(W_np.T.copy(), requires_grad=True) for _ in range(3)]
    run(copies).backward()  # each step's own copy: its .grad is that step's share
    shares = [np.linalg.norm(np_of(c.grad)) for c in copies]
    assert shares[0] == 0.0  # h_0 = 0: step 0 adds nothing to ∂L/∂W
    g = ts.graph.trace(loss)
    ids = {id(t): i for i, t in enumerate(g.tensors)}
    transpose = ids[id(W_T)]
    consumers = g.consumers()
    steps = consumers[transpose]  # the three matmuls, in step order
    assert len(steps) == 3
    drawn = [_edge_norm(g, transpose, dst, consumers) for dst in steps]
    np.testing.assert_allclose(drawn, shares, rtol=1e-12, atol=0)
    assert len(set(drawn)) == 3  # no longer the one gradient reaching every step
    g = ts.graph.trace(leaf_loss)  # its terms are collected (ProductGrad): the same shares
    leaf = [i for i, t in enumerate(g.tensors) if t is leaf_weight][0]
    consumers = g.consumers()
    drawn = [_edge_norm(g, leaf, dst, consumers) for dst in consumers[leaf]]
    np.testing.assert_allclose(drawn, shares, rtol=1e-12, atol=0)


def test_scopes_list_the_steps_in_order_even_when_a_step_makes_a_constant():
    # the 1 of a GRU's 1 − z_t is a leaf made inside the last step, traced first: the
    # scopes came out t=2, t=1, t=0
    from tinygrad_seq.demos import graph_cmd

    ts.manual_seed(0)
    built = graph_cmd.build("gru", 3)
    scopes = ts.graph.trace(built.loss).scopes()
    assert scopes == ["gru", "gru/t=0", "gru/t=1", "gru/t=2", "readout"]


def test_edge_norms_for_per_step_slices_and_for_an_input_sent_nothing(rng):
    # a sliced input's edge is the norm of its slice's gradient (no dense array per step);
    # an input a backward sends None counts as a zero gradient: its edge is 0, not the
    # gradient reaching the node
    from tinygrad_seq.tensor import apply

    class IgnoresItsSecondInput(ts.Function):
        __slots__ = ()
        op_name = "first_of_two"

        def forward(self, a, b):
            return a * 1.0

        def backward(self, g):
            return g, None

    x = ts.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    E = x * 2.0  # a non-leaf used at every step
    c = [rng.standard_normal((2, 4)) for _ in range(3)]
    b = ts.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    with ts.graph.record_grad_norms():
        loss = sum((E[:, t] * c[t]).sum() for t in range(3))
        u = b * 1.0  # used twice: by the op that ignores it, and by a sum
        loss = loss + apply(IgnoresItsSecondInput(), loss, u) + (u * 0.5).sum()
        loss.backward()
    g = ts.graph.trace(loss)
    ids = {id(t): i for i, t in enumerate(g.tensors)}
    for t, dst in enumerate(g.consumers()[ids[id(E)]]):
        assert g.edge_norms[(ids[id(E)], dst)] == pytest.approx(2 * np.linalg.norm(c[t]))
    from tinygrad_seq.viz.graph_render import _edge_norm

    ignored = (ids[id(u)], [d for s, d in g.edges if g.nodes[d].op == "first_of_two"][0])
    assert g.edge_norms[ignored] == 0.0
    assert _edge_norm(g, *ignored, g.consumers()) == 0.0  # not the norm reaching the op


def test_a_scope_that_only_starts_like_a_step_is_no_step():
    assert step_of("dec/t=3x/attn") is None and step_of("dec/at=3") is None
    assert step_of("dec/t=3/attn") == ("dec", 3)


def test_leaves_are_labelled_param_or_const_by_whether_they_learn():
    x = ts.Tensor(np.ones(2), requires_grad=True)
    c = ts.Tensor(np.array([3.0, 4.0]))  # a leaf that learns nothing: a constant
    assert [n.label for n in ts.graph.trace(c * x).nodes] == ["const", "param", "mul"]


def test_consumers_list_an_input_once_per_use():
    x = ts.Tensor(np.ones(2), requires_grad=True)
    assert ts.graph.trace(x * x).consumers() == {0: [1, 1], 1: []}


def test_recording_goes_on_in_the_outer_block_after_an_inner_one_closes():
    x = ts.Tensor(np.ones(3), requires_grad=True)
    with ts.graph.record_grad_norms():
        with ts.graph.record_grad_norms():
            pass
        loss = (x * 2.0).sum()
        loss.backward()
    graph = ts.graph.trace(loss)
    assert graph.root.grad_norm == 1.0
    (leaf,) = [n for n in graph.nodes if n.is_param]
    assert leaf.grad_norm == pytest.approx(2.0 * np.sqrt(3.0))


def test_a_broadcast_inputs_edge_norm_is_that_of_its_summed_gradient(rng):
    # a bias (4,) added to a batch (2, 4) at each step: its share of the gradient is the
    # batch's gradient summed over the rows, as backward adds it into .grad, so its edge
    # shows ‖Σ_rows c_t‖, not the norm of the (2, 4) gradient before summing
    b = ts.Tensor(rng.standard_normal(4), requires_grad=True)
    h = ts.Tensor(rng.standard_normal((2, 4)))
    c = [rng.standard_normal((2, 4)) for _ in range(3)]
    with ts.graph.record_grad_norms():
        loss = sum(((h + b) * c[t]).sum() for t in range(3))
        loss.backward()
    g = ts.graph.trace(loss)
    ids = {id(t): i for i, t in enumerate(g.tensors)}
    consumers = g.consumers()[ids[id(b)]]
    assert len(consumers) == 3
    for t, dst in enumerate(consumers):
        expected = np.linalg.norm(c[t].sum(axis=0))
        assert g.edge_norms[(ids[id(b)], dst)] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(np_of(b.grad), sum(c).sum(axis=0), rtol=1e-12)
