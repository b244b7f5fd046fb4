"""The GPU benchmark's pieces that run anywhere: its larger workloads at tiny sizes, the
report, and a clear refusal where CuPy is unusable (the timings need a GPU)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import tinygrad_seq as ts
from benchmarks import gpu
from benchmarks.workloads import GPU_WORKLOADS, check_against_floor, make_engine


@pytest.mark.parametrize("workload", sorted(GPU_WORKLOADS))
def test_larger_workloads_match_the_floor_at_tiny_size(workload, backend):
    step = make_engine(workload, tiny=True, dtype="float64")
    result = check_against_floor(step, workload, tiny=True, dtype="float64")
    assert result["ok"], result


@pytest.mark.numpy_only
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
@pytest.mark.parametrize("workload", sorted(GPU_WORKLOADS))
def test_larger_workloads_match_torch_at_tiny_size(workload):
    from benchmarks.workloads import compare_grads, make_torch, spec

    ours = make_engine(workload, tiny=True, dtype="float64")
    ref = make_torch(workload, tiny=True, dtype="float64")
    assert np.isclose(ours(), ref())
    rel, where = compare_grads(ours.grads(), ref.grads(), spec(workload).params)
    assert rel < 1e-9, where


@pytest.mark.numpy_only
def test_records_in_the_checkout_but_not_in_site_packages(tmp_path, monkeypatch):
    from pathlib import Path

    assert gpu._default_out() == Path(gpu.__file__).resolve().parent / "gpu"  # a checkout
    installed = tmp_path / "site-packages" / "tinygrad_seq" / "benchmarks" / "gpu.py"
    installed.parent.mkdir(parents=True)
    monkeypatch.setattr(gpu, "__file__", str(installed))
    assert gpu._default_out() == Path("gpu-results")


@pytest.mark.numpy_only
def test_refuses_clearly_without_cupy(capsys):
    reason = ts.backend.unavailable_reason("cupy")
    if reason is None:
        pytest.skip("CuPy is usable here: the benchmark would run")
    assert gpu.main(["--workloads", "G1"]) == 2
    assert "needs the cupy backend" in capsys.readouterr().err


@pytest.mark.numpy_only
def test_report_from_results():
    results = {
        "command": "python -m benchmarks.gpu",
        "date": "2026-01-01T00:00:00",
        "machine": {"python": "3.12", "numpy": "2", "gpu": "a GPU", "cupy": "14"},
        "workloads": ["W1", "G1"],
        "checks": {
            "W1": {"floor_tiny_f64": {"rel_diff": 1e-12, "ok": True}},
            "G1": {
                "floor_tiny_f64": {"rel_diff": 1e-12, "ok": True},
                "torch_full_f32": {"rel_diff": 2e-6, "ok": True},
            },
        },
        "timings": {
            "W1": {"numpy": {"median_s": 0.002}, "cupy": {"median_s": 0.004}},
            "G1": {
                "numpy": {"median_s": 30.0},
                "cupy": {"median_s": 0.5},
                "torch-cuda": {"median_s": 0.2},
            },
        },
    }
    text = gpu.render(results)
    assert "| **G1** | 3e+04 | 500 | 200 | 60.0× | 2.50× |" in text
    assert "G1: CuPy ≥ 10× faster than NumPy | 60.0× | met |" in text
    assert "G1: CuPy ≤ 2× PyTorch CUDA | 2.50× | **not met** |" in text
    assert "| **W1** | 2 | 4 | — | 0.5× | — |" in text
