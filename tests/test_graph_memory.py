"""benchmarks/graph_memory.py: the bytes a forward's graph holds, counted so that PyTorch's
C++ allocations are seen too (Python objects by tracemalloc, the rest by malloc)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import graph_memory, workloads

needs_mallinfo2 = pytest.mark.skipif(
    graph_memory._malloc_counter() is None, reason="needs glibc's mallinfo2 (Linux)"
)


@pytest.mark.parametrize("engine", ["numpy-floor", "tinygrad_seq", "torch"])
@pytest.mark.parametrize("workload", ["W2", "W4"])
def test_each_version_s_forward_returns_what_its_backward_reads(engine, workload):
    if engine == "torch":
        pytest.importorskip("torch")
    step = workloads.make(engine, workload, tiny=True)
    kept = step.forward()
    T = workloads.spec(workload).size(True)["T"]
    if engine == "numpy-floor" and workload == "W4":
        assert len(kept) == T + 1  # h_0 .. h_T
        step()
        h_T = kept[-1]
        assert np.isclose(step.run(), float((h_T * h_T).sum()), rtol=1e-5)
    elif engine == "numpy-floor":
        h_T, cache = kept
        assert len(cache) == T
    else:  # the engine's and PyTorch's loss, with its graph: its backward still runs
        kept.backward()
        assert all(g is not None for g in step.grads())


def test_the_floor_s_run_still_matches_the_engine_after_its_forward_was_split_out():
    floor, engine = (
        workloads.make_floor("W4", True, "float64"),
        workloads.make_engine("W4", True, "float64"),
    )
    assert floor() == pytest.approx(engine(), rel=1e-12)
    rel, where = workloads.compare_grads(floor.grads(), engine.grads(), ("W", "U", "b"))
    assert rel < 1e-10, where


@needs_mallinfo2
def test_malloc_bytes_count_the_buffers_a_forward_keeps():
    in_use = graph_memory._malloc_counter()
    kept_mib = graph_memory._malloc_bytes(lambda: np.ones(2**18), in_use) / 2**20  # 2 MiB
    assert 1.99 < kept_mib < 2.1
    # a temporary the forward frees is not counted
    assert abs(graph_memory._malloc_bytes(lambda: float(np.ones(2**18).sum()), in_use)) < 4096


def test_small_python_bytes_count_small_objects_and_not_numpy_buffers():
    counted = graph_memory._small_python_bytes(lambda: [object() for _ in range(1000)])
    assert 16_000 <= counted < 40_000  # 1000 objects of 16 B, plus the list's slots
    assert graph_memory._small_python_bytes(lambda: np.ones(2**16)) < 1024  # buffer: malloc's


@needs_mallinfo2
def test_the_engine_s_unrolled_rnn_holds_more_than_its_fused_step_and_the_floor():
    floor = graph_memory.measure("numpy-floor", "W4", tiny=True)
    ops = graph_memory.measure("tinygrad_seq", "W4", tiny=True)
    fused = graph_memory.measure("tinygrad_seq", "W4-fused", tiny=True)
    assert floor["status"] == ops["status"] == fused["status"] == "ok"
    assert floor["per_step"] < fused["per_step"] < ops["per_step"]  # 5 nodes a step vs 1
    assert ops["total"] == ops["python_objects"] + ops["malloc"]
    assert ops["per_step"] == pytest.approx(ops["total"] / 6)  # tiny W4: T = 6


def test_the_table_gives_bytes_per_step_and_the_ratio_to_the_floor():
    ok = {"status": "ok", "steps": 10, "python_objects": 1000, "malloc": 2000}
    floor = dict(ok, total=3000, per_step=300.0)
    engine = dict(ok, python_objects=4000, malloc=5000, total=9000, per_step=900.0)
    rows = graph_memory.table(
        {
            "W4": [
                ("numpy-floor", floor),
                ("tinygrad_seq", engine),
                ("torch", {"status": "skip", "why": "torch is not installed"}),
            ]
        }
    )
    assert rows[2] == "| W4 | numpy-floor | 300 | 100 | 200 | — |"
    assert rows[3] == "| W4 | tinygrad_seq | 900 | 400 | 500 | 3.00× |"
    assert "skip: torch is not installed" in rows[4]


@needs_mallinfo2
def test_the_command_writes_memory_md(tmp_path, capsys):
    assert graph_memory.main(["--tiny", "--workloads", "W4", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "MEMORY.md").read_text(encoding="utf-8")
    assert "| W4 | tinygrad_seq, F.rnn_step |" in text
    assert "python -m benchmarks.graph_memory --tiny --workloads W4" in text
    assert "| W4 | numpy-floor |" in capsys.readouterr().out


def test_an_unknown_workload_is_a_usage_error():
    with pytest.raises(SystemExit) as e:
        graph_memory.main(["--workloads", "W9"])
    assert e.value.code == 2
