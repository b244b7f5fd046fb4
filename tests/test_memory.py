"""Graphs are freed: by reference counting alone (no cycles, gc switched off), and over many
training-like iterations the process's memory does not grow.
"""

from __future__ import annotations

import contextlib
import gc
import tracemalloc

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq.autograd import Function

T, B, D, H, V = 12, 3, 4, 6, 5


def make_params(rng) -> dict[str, ts.Tensor]:
    """Weights of a small recurrent model (created before any baseline is taken)."""
    shapes = {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,), "W_hy": (H, V), "gain": (H,)}
    return {
        k: ts.Tensor(rng.standard_normal(s) * 0.3, requires_grad=True) for k, s in shapes.items()
    }


def one_iteration(p: dict[str, ts.Tensor], xs: np.ndarray, targets: np.ndarray) -> float:
    """Forward and backward of a small RNN touching most op types; returns the loss."""
    x = ts.Tensor(xs)  # (T, B, D)
    h = ts.zeros(B, H, dtype=np.float64)
    hs = []
    for t in range(T):
        with ts.scope(f"t={t}"):
            h = (x[t] @ p["W_xh"] + h @ p["W_hh"] + p["b_h"]).tanh()  # (B, H)
            h.name = "h_t"
            hs.append(h)
    H_all = ts.stack(hs, axis=1)  # (B, T, H)
    normed = ts.F.layer_norm(H_all, p["gain"], ts.Tensor(np.zeros(H)))
    logits = ts.maximum(normed, -2.0) @ p["W_hy"]  # (B, T, V)
    loss = ts.F.cross_entropy(logits, targets, ignore_index=0)
    loss = loss + ts.cat([hs[0], hs[-1]], axis=0).sigmoid().mean() * 0.1
    loss = loss + ts.where(H_all.detach() > 0, H_all, 0.0).abs().sum() * 1e-3
    loss = loss + softmax_term(logits)
    loss.backward()
    return loss.item()


def softmax_term(logits: ts.Tensor) -> ts.Tensor:
    return (logits.log_softmax(-1)[:, 0, :] * logits.softmax(-1)[:, -1, :]).sum() * 1e-2


def live_engine_objects(generation: int | None = None) -> tuple[int, int]:
    """How many Tensors and Functions are alive (gc-tracked objects, counted).

    With the collector off after a `gc.collect()`, every object made since sits in
    generation 0, so counting that generation alone is exact and cheap.
    """
    tensors = functions = 0
    for o in gc.get_objects(generation):
        if type(o) is ts.Tensor:
            tensors += 1
        # (not isinstance: it reads o.__class__, which warns on some lazily loaded modules)
        elif issubclass(type(o), Function):
            functions += 1
    return tensors, functions


@contextlib.contextmanager
def gc_disabled():
    # until nothing is left: a collection can free more cyclic garbage through the
    # finalizers it runs (a figure an earlier test drew needed two), which would otherwise
    # be found by the check below and blamed on the graph
    while gc.collect():
        pass
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def test_graph_is_freed_by_reference_counting_alone(rng):
    p = make_params(rng)
    xs = rng.standard_normal((T, B, D))
    targets = rng.integers(0, V, (B, T))
    with gc_disabled():
        baseline = live_engine_objects()
        young = live_engine_objects(generation=0)
        for _ in range(200):
            one_iteration(p, xs, targets)
            assert live_engine_objects(generation=0) == young
            for q in p.values():
                q.grad = None
        assert live_engine_objects() == baseline
        assert gc.collect() == 0  # nothing was left for the cycle collector


def test_retained_graph_is_freed_when_dropped(rng):
    x = ts.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    with gc_disabled():
        baseline = live_engine_objects()
        y = (x.tanh() @ x.T).softmax().sum()
        y.backward(retain_graph=True)
        assert live_engine_objects() != baseline
        del y
        assert live_engine_objects() == baseline


def test_graph_freed_after_an_error_in_backward(rng):
    x = ts.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with gc_disabled():
        baseline = live_engine_objects()
        with np.errstate(divide="ignore"), ts.detect_anomaly():
            y = x.sqrt().sum()
            with pytest.raises(ts.AnomalyError):
                y.backward()
        del y
        gc.collect()  # the caught exception's traceback frames form cycles; not the graph
        assert live_engine_objects() == baseline


def test_detach_shares_the_data_instead_of_copying_it(rng):
    x = ts.Tensor(rng.standard_normal(3), requires_grad=True)
    y = x.detach()
    assert not y.requires_grad
    y.data[0] = 5.0  # one array: a write through the detached tensor shows in the original
    assert x.numpy()[0] == 5.0
    h = x * 2
    h.detach().data[1] = 7.0  # (for a recorded result too)
    assert h.numpy()[1] == 7.0


@pytest.mark.numpy_only
def test_memory_does_not_grow_over_200_iterations(rng):
    p = make_params(rng)
    xs = rng.standard_normal((T, B, D))
    targets = rng.integers(0, V, (B, T))

    def step():
        one_iteration(p, xs, targets)
        for q in p.values():
            q.grad = None

    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(20):  # warm-up: caches, interned names, allocator pools
            step()
        warm, _ = tracemalloc.get_traced_memory()
        for _ in range(200):
            step()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One iteration's graph holds ~100 nodes and ~100 KB; leaking it 200 times would add MBs.
    assert after - warm < 64 * 1024, f"traced memory grew by {after - warm} bytes"


@pytest.mark.numpy_only
def test_backward_frees_the_saved_arrays_while_the_graph_is_still_held(rng):
    # Unless retain_graph=True, each node's saved arrays go as it runs: a loss kept after
    # its backward (to log it, or by mistake) holds the graph's nodes, not their arrays.
    # var saves x − μ, a new array of x's size (1 MiB here).
    x = ts.Tensor(rng.standard_normal((256, 512)), requires_grad=True)

    def held_after_backward(retain_graph: bool) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            loss = (x.var(axis=1) * 2.0).sum()
            loss.backward(retain_graph=retain_graph)
            x.grad = None
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert loss.item() > 0  # (the graph is still held here)
        return held

    centred_bytes = x.data.nbytes
    assert held_after_backward(True) - held_after_backward(False) >= 0.9 * centred_bytes
