"""Every test runs once per backend: 'numpy' always, 'cupy' where a GPU is usable
(elsewhere the cupy cases skip and say why). A test that only makes sense on one backend
is marked ``@pytest.mark.numpy_only``.
"""

from __future__ import annotations

import collections
import os

# Small matrices run faster on one BLAS thread than on several fighting over 2 cores;
# set before NumPy loads its BLAS (an explicit setting in the environment wins).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tinygrad_seq as ts  # noqa: E402

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


@pytest.fixture(params=["NumPy path", "compiled kernels"])
def kernels(request, backend):
    """Each op's NumPy code, and the compiled kernels (_native.py) that replace it where
    they were built (they take NumPy arrays only)."""
    from tinygrad_seq import _native

    compiled = request.param == "compiled kernels"
    if compiled and (backend != "numpy" or _native._ext is None):
        pytest.skip(f"compiled kernels not used here ({backend}): {_native.status()}")
    was = _native.enabled
    _native.set_enabled(compiled)
    yield request.param
    _native.set_enabled(was)


def pytest_terminal_summary(terminalreporter):
    """Say why tests were skipped, one line per reason (most are the CuPy cases)."""
    counts: collections.Counter = collections.Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        counts[reason if len(reason) <= 110 else reason[:107] + "..."] += 1
    if counts:
        terminalreporter.write_sep("-", "skipped tests, by reason")
        for reason, n in counts.most_common():
            terminalreporter.write_line(f"{n:5d}  {reason}")
