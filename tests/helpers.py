"""Small helpers shared by the tests."""

from __future__ import annotations

import numpy as np

import tinygrad_seq as ts


def f64(rng: np.random.Generator, *shape, requires_grad: bool = True, name=None) -> ts.Tensor:
    """A float64 tensor of standard normal values (for gradient checks)."""
    return ts.Tensor(rng.standard_normal(shape), requires_grad=requires_grad, name=name)


def np_of(x) -> np.ndarray:
    """A NumPy copy of a Tensor or backend array."""
    if isinstance(x, ts.Tensor):
        return x.numpy()
    return ts.backend.to_numpy(x)
