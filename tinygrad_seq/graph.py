"""A read-only view of a recorded computation: nodes, edges, scopes.

``trace(loss)`` walks the graph behind a tensor (iteratively, so 100,000-node unrolls are
fine) and returns a `Graph` whose nodes are listed inputs-first. Scopes come from
``ts.scope(name)``; gradient norms appear after a backward run inside
``record_grad_norms()`` (for leaves, the norm of their accumulated ``.grad``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .autograd import _norm, record_grad_norms, scope
from .backend import to_numpy
from .tensor import Tensor

__all__ = ["Node", "Graph", "trace", "scope", "record_grad_norms", "step_of"]

_STEP = re.compile(r"^t=(\d+)$")


def step_of(scope: str) -> tuple[str, int] | None:
    """The outermost time step in a scope path: "encoder/t=3/attn" -> ("encoder", 3).

    None when no component of the path is a step ("t=<int>", as ``ts.scope(f"t={t}")``
    writes it). The first item is the scope that holds the steps (their group).
    """
    if not scope:
        return None
    parts = scope.split("/")
    for k, part in enumerate(parts):
        m = _STEP.match(part)
        if m:
            return "/".join(parts[:k]), int(m.group(1))
    return None


@dataclass(frozen=True)
class Node:
    """One tensor of the graph."""

    id: int
    op: str | None  # None for a leaf
    name: str | None
    shape: tuple[int, ...]
    scope: str
    is_leaf: bool
    requires_grad: bool
    grad_norm: float | None

    @property
    def is_param(self) -> bool:
        """A leaf that requires grad: a weight (or an input being differentiated)."""
        return self.is_leaf and self.requires_grad

    @property
    def is_input(self) -> bool:
        """A leaf that needs no gradient: data, a constant, an initial state."""
        return self.is_leaf and not self.requires_grad

    @property
    def label(self) -> str:
        """What a picture shows: the name if any, else the op (or 'param'/'const' for a leaf)."""
        if self.name:
            return self.name
        if self.op:
            return self.op
        return "param" if self.requires_grad else "const"


@dataclass
class Graph:
    """Nodes (inputs first, the traced tensor last) and edges (parent id, child id).

    `edge_norms[(parent, child)]`: the norm of the gradient the child sent back to that
    parent, recorded by record_grad_norms (a weight used at every step: that step's share
    of its gradient); absent where not recorded, or where the child takes the parent twice.
    """

    nodes: list[Node]
    edges: list[tuple[int, int]]
    tensors: list[Tensor] = field(repr=False, default_factory=list)
    edge_norms: dict[tuple[int, int], float] = field(repr=False, default_factory=dict)

    @property
    def root(self) -> Node:
        """The traced tensor's node (the last one)."""
        return self.nodes[-1]

    def scopes(self) -> list[str]:
        """Every scope that holds a node, in order of first appearance in the trace.

        Each op comes after its inputs, counting ops before leaves: a constant made inside
        step t = 2 (the 1 of 1 − zₜ) is traced before step 0's ops, which would list t = 2
        first."""
        seen: dict[str, None] = {}
        for n in sorted(self.nodes, key=lambda n: n.is_leaf):  # (stable: ops, then leaves)
            if n.scope:
                parts = n.scope.split("/")
                for k in range(1, len(parts) + 1):
                    seen.setdefault("/".join(parts[:k]), None)
        return list(seen)

    def in_scope(self, prefix: str) -> list[Node]:
        """Nodes whose scope is `prefix` or nested inside it.

        "encoder" or "encoder/" gives the encoder's nodes; "" every node, as every scope is
        nested in the top one."""
        prefix = prefix.rstrip("/")
        if not prefix:
            return list(self.nodes)
        return [n for n in self.nodes if n.scope == prefix or n.scope.startswith(prefix + "/")]

    def parameters(self) -> list[Node]:
        """The leaves that require grad (weights), each once, in trace order."""
        return [n for n in self.nodes if n.is_param]

    def consumers(self) -> dict[int, list[int]]:
        """For each node id, the ids of the nodes that take it as an input (with repeats)."""
        out: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for src, dst in self.edges:
            out[src].append(dst)
        return out

    def steps(self) -> dict[str, list[int]]:
        """Time steps per group: {"encoder": [0, 1, 2], ...} (sorted), from ``t=<int>`` scopes."""
        found: dict[str, set[int]] = {}
        for n in self.nodes:
            step = step_of(n.scope)
            if step is not None:
                found.setdefault(step[0], set()).add(step[1])
        return {group: sorted(ts) for group, ts in found.items()}

    def count_ops(self) -> dict[str, int]:
        """How many nodes of each op ('param' and 'const' for the leaves), in trace order."""
        counts: dict[str, int] = {}
        for n in self.nodes:
            key = n.op or ("param" if n.requires_grad else "const")
            counts[key] = counts.get(key, 0) + 1
        return counts

    def __len__(self) -> int:
        return len(self.nodes)


def _norms(t: Tensor, shown) -> tuple | None:
    """(reaching the node, sent to each input, pass, whether it ran from there) on t's node,
    if left by pass `shown`."""
    norms = getattr(t._ctx, "norms", None) if t._ctx is not None else None
    return norms if norms is not None and norms[2] == shown else None


def _grad_norm(t: Tensor, shown) -> float | None:
    if t._ctx is None:
        if t.grad is None:
            return None
        grad = t.grad
        if not hasattr(grad, "ravel"):  # a number set by hand: backward adds it everywhere
            return _norm(to_numpy(grad)) * math.sqrt(t.data.size)
        return _norm(grad)
    norms = _norms(t, shown)
    return None if norms is None else norms[0]


def trace(tensor: Tensor) -> Graph:
    """The graph that computed `tensor`, as plain data.

    It holds the gradient norms of the last backward from `tensor`, where that ran inside
    record_grad_norms()."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"trace: expected a Tensor, got {type(tensor).__name__}")
    own = getattr(tensor._ctx, "norms", None) if tensor._ctx is not None else None
    # the number of the last pass from `tensor`, if it recorded; none where a later pass
    # from another root ran through it (its norms are that root's gradients, not these)
    shown = own[2] if own is not None and own[3] else None
    order: list[Tensor] = []
    index: dict[int, int] = {}
    stack: list[tuple[Tensor, bool]] = [(tensor, False)]
    while stack:  # iterative post-order: parents before children
        t, expanded = stack.pop()
        if id(t) in index:
            continue
        if expanded:
            index[id(t)] = len(order)
            order.append(t)
            continue
        stack.append((t, True))
        for p in reversed(t.parents):
            if id(p) not in index:
                stack.append((p, False))
    nodes = [
        Node(
            id=i,
            op=t.op,
            name=t.name,
            shape=tuple(t.shape),
            scope=t.scope,
            is_leaf=t._ctx is None,
            requires_grad=t.requires_grad,
            grad_norm=_grad_norm(t, shown),
        )
        for i, t in enumerate(order)
    ]
    edges = [(index[id(p)], i) for i, t in enumerate(order) for p in t.parents]
    edge_norms: dict[tuple[int, int], float] = {}
    for i, t in enumerate(order):
        norms = _norms(t, shown)
        if norms is None:
            continue
        sent = norms[1]
        parent_ids = [index[id(p)] for p in t._ctx.parents]
        for parent, norm in zip(parent_ids, sent, strict=True):
            if norm is not None and parent_ids.count(parent) == 1:
                edge_norms[(parent, i)] = norm
    return Graph(nodes=nodes, edges=edges, tensors=order, edge_norms=edge_norms)
