"""Every test runs once per backend: 'numpy' always, 'cupy' where a GPU is usable
(elsewhere the cupy cases skip and say why). A test that only makes sense on one backend
is marked ``@pytest.mark.numpy_only``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts

BACKENDS = ("numpy", "cupy")


def pytest_configure(config):
    config.addinivalue_line("markers", "numpy_only: runs on the NumPy backend only")


@pytest.fixture(params=BACKENDS, autouse=True)
def backend(request):
    """The backend this test runs on (active for the whole test)."""
    name = request.param
    if name != "numpy" and request.node.get_closest_marker("numpy_only"):
        pytest.skip("NumPy-only test")
    reason = ts.backend.unavailable_reason(name)
    if reason is not None:
        pytest.skip(f"backend {name!r} unavailable: {reason}")
    default_dtype = ts.get_default_dtype()
    ts.manual_seed(0)
    with ts.backend.using(name):
        yield name
    ts.set_default_dtype(default_dtype)


@pytest.fixture
def xp(backend):
    """The array module of the active backend."""
    return ts.backend.module(backend)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
