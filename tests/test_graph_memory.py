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
@pytest.mark.numpy_only  # tracemalloc sees host buffers: a GPU's arrays are not counted
def test_the_engine_s_unrolled_rnn_holds_more_than_its_fused_step_and_the_floor():
    floor = graph_memory.measure("numpy-floor", "W4", tiny=True)
    ops = graph_memory.measure("tinygrad_seq", "W4", tiny=True)
    fused = graph_memory.measure("tinygrad_seq", "W4-fused", tiny=True)
    assert floor["status"] == ops["status"] == fused["status"] == "ok"
    assert floor["per_step"] < fused["per_step"] < ops["per_step"]  # 5 nodes a step vs 1
    assert ops["total"] == ops["python_objects"] + ops["malloc"]
    assert ops["per_step"] == pytest.approx(ops["total"] / 6)  # tiny W4: T = 6
    # array values: five (2, 4) float32 arrays a step (32 B each), and the loss's (2, 4)
    # square and 0-d sum once; the floor keeps h_0 ... h_6, the fused step one array a step
    assert ops["array_values_per_step"] == pytest.approx((6 * 5 * 32 + 32 + 4) / 6)
    assert floor["array_values_per_step"] == pytest.approx(7 * 32 / 6)
    assert fused["array_values_per_step"] == pytest.approx((6 * 32 + 32 + 4) / 6)


def test_the_note_says_what_the_unrolled_rnn_s_values_alone_cost():
    row = {"status": "ok", "steps": 1000}
    results = {
        "W4": [
            ("numpy-floor", dict(row, per_step=327.0, array_values_per_step=128.1)),
            ("tinygrad_seq", dict(row, per_step=2911.0, array_values_per_step=640.1)),
            ("tinygrad_seq, F.rnn_step", dict(row, per_step=583.0, array_values_per_step=128.1)),
        ]
    }
    (note,) = graph_memory.values_note(results)
    assert "5 recorded tensors" in note and "(1, 32) float32" in note
    assert "5 × 128 = 640 B a step" in note and "327 B a step in all" in note
    assert "1.96× before a byte of bookkeeping" in note and "1.78× in all" in note
    assert graph_memory.values_note({"W4": results["W4"][1:]}) == []  # no floor: no note


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
    assert "5 × 32 = 160 B a step" in text  # the note, at the tiny sizes: (2, 4) float32
    assert "python -m benchmarks.graph_memory --tiny --workloads W4" in text
    assert "| W4 | numpy-floor |" in capsys.readouterr().out


def test_an_unknown_workload_is_a_usage_error():
    with pytest.raises(SystemExit) as e:
        graph_memory.main(["--workloads", "W9"])
    assert e.value.code == 2


def test_small_python_bytes_draw_the_line_at_pymalloc_s_512_bytes():
    # bytes(n) asks for n + 33 bytes: 512 is still pymalloc's, 513 goes to malloc (counted
    # there, not here too)
    assert graph_memory._small_python_bytes(lambda: bytes(479)) >= 512
    assert graph_memory._small_python_bytes(lambda: bytes(480)) < 512
    # small NumPy buffers (480 B each) are malloc's too, whatever their size: NumPy traces
    # them in a domain of its own, which is left out
    arrays = graph_memory._small_python_bytes(lambda: [np.ones(60) for _ in range(200)])
    assert 200 * 40 < arrays < 200 * 480  # the array objects, not their buffers


@needs_mallinfo2
def test_malloc_bytes_count_mmapped_blocks_and_small_heap_chunks():
    in_use = graph_memory._malloc_counter()
    # 40 MiB: past glibc's largest mmap threshold, so an mmapped block (mallinfo2's hblkhd)
    big = graph_memory._malloc_bytes(lambda: np.empty(5 * 2**20), in_use) / 2**20
    assert 39.99 < big < 40.1
    # 2000 buffers of 256 B: chunks of the heap (uordblks), wherever there was room
    small = graph_memory._malloc_bytes(lambda: [np.ones(32) for _ in range(2000)], in_use)
    assert 2000 * 256 <= small < 2000 * 512


class _FakeStep:
    """A Step whose forward hands back a marker, counting the calls of each part."""

    def __init__(self):
        self.runs, self.forwards = 0, 0

    def __call__(self):
        self.runs += 1
        return 0.0

    def forward(self):
        assert self.runs == 2, "measured before the two warm-up steps"
        self.forwards += 1
        return "kept"


def test_measure_warms_up_twice_and_takes_the_median_of_the_forwards(monkeypatch):
    step = _FakeStep()
    monkeypatch.setattr(workloads, "make", lambda engine, workload, tiny: step)
    monkeypatch.setattr(graph_memory, "_malloc_counter", lambda: lambda: 0)
    small, big = iter([100, 700, 300]), iter([5000, 1000, 3000])
    values = iter([60, 120, 600])

    def small_bytes(forward):
        assert forward() == "kept"  # the forward alone, not the whole step
        return next(small)

    def malloc_bytes(forward, in_use):
        assert forward() == "kept"
        return next(big)

    def array_bytes(forward):
        assert forward() == "kept"
        return next(values)

    monkeypatch.setattr(graph_memory, "_small_python_bytes", small_bytes)
    monkeypatch.setattr(graph_memory, "_malloc_bytes", malloc_bytes)
    monkeypatch.setattr(graph_memory, "_array_bytes", array_bytes)
    r = graph_memory.measure("tinygrad_seq", "W4", tiny=True)
    assert (step.runs, step.forwards) == (2, 3 * graph_memory.REPEATS)
    assert (r["python_objects"], r["malloc"], r["total"]) == (300, 3000, 3300)  # medians
    assert r["steps"] == 6 and r["per_step"] == 550.0
    assert r["array_values_per_step"] == 20.0  # the median, 120 B, over 6 steps


def test_measure_refuses_a_version_without_a_forward_and_skips_off_glibc(monkeypatch):
    monkeypatch.setattr(graph_memory, "_malloc_counter", lambda: lambda: 0)
    with pytest.raises(ValueError, match="numpy-floor has no forward of its own for W1"):
        graph_memory.measure("numpy-floor", "W1", tiny=True)  # (the MLP's floor has none)
    monkeypatch.undo()

    def no_libc(name):
        raise OSError(f"cannot load {name}")

    monkeypatch.setattr(graph_memory.ctypes, "CDLL", no_libc)
    assert graph_memory._malloc_counter() is None
    r = graph_memory.measure("tinygrad_seq", "W4", tiny=True)
    assert r["status"] == "skip" and "mallinfo2" in r["why"]


def test_a_cell_runs_in_a_worker_process_and_reads_its_last_json_line(monkeypatch):
    import subprocess

    calls = []

    def fake_run(stdout, stderr="", returncode=0):
        def run(cmd, env=None, **kwargs):
            calls.append((cmd, env))
            return subprocess.CompletedProcess(cmd, returncode, stdout, stderr)

        return run

    lines = 'noise\n{"status": "ok", "n": 1}\n{"status": "ok", "n": 2}\n'
    monkeypatch.setattr(graph_memory.subprocess, "run", fake_run(lines))
    assert graph_memory._run_cell("tinygrad_seq", "W4", tiny=True) == {"status": "ok", "n": 2}
    cmd, env = calls[-1]
    assert cmd[1:] == ["-m", "benchmarks.graph_memory", "--cell", "tinygrad_seq", "W4", "--tiny"]
    assert env is not None and env["OMP_NUM_THREADS"] == "1"  # as the suite's workers run
    graph_memory._run_cell("torch", "W2", tiny=False)
    assert calls[-1][0][-3:] == ["--cell", "torch", "W2"]
    # a worker that failed, even after printing a line; one that printed none
    failed = fake_run('{"status": "ok"}\n', "Traceback ...\nValueError: boom", returncode=1)
    monkeypatch.setattr(graph_memory.subprocess, "run", failed)
    assert graph_memory._run_cell("torch", "W2", False) == {
        "status": "fail",
        "why": "ValueError: boom",
    }
    monkeypatch.setattr(graph_memory.subprocess, "run", fake_run("nothing\n"))
    assert graph_memory._run_cell("torch", "W2", False) == {
        "status": "fail",
        "why": "exit status 0",
    }


def test_the_table_gives_no_ratio_where_the_floor_did_not_run():
    engine = {"status": "ok", "steps": 2, "python_objects": 10, "malloc": 30, "per_step": 20.0}
    rows = graph_memory.table(
        {"W2": [("numpy-floor", {"status": "fail", "why": "boom"}), ("tinygrad_seq", engine)]}
    )
    assert rows[2] == "| W2 | numpy-floor | fail: boom |  |  |  |"
    assert rows[3] == "| W2 | tinygrad_seq | 20 | 5 | 15 | — |"


def test_main_runs_torch_only_where_it_is_installed_and_a_cell_with_its_sizes(monkeypatch, capsys):
    ran = []
    ok = {"status": "ok", "steps": 1, "python_objects": 1, "malloc": 1, "per_step": 2.0}
    monkeypatch.setattr(
        graph_memory, "_run_cell", lambda engine, workload, tiny: ran.append(engine) or ok
    )
    for installed in (True, False):
        ran.clear()
        monkeypatch.setattr(graph_memory, "_torch_available", lambda installed=installed: installed)
        assert graph_memory.main(["--workloads", "W2"]) == 0
        torch_row = capsys.readouterr().out.splitlines()[-1]
        assert ("torch" in ran) is installed
        assert torch_row.startswith("| W2 | torch |")
        assert ("skip: torch is not installed" in torch_row) is not installed
    with pytest.raises(SystemExit) as e:  # a list of no workloads at all
        graph_memory.main(["--workloads", ","])
    assert e.value.code == 2
    # --cell: the one measurement, in this process, as the worker runs it
    monkeypatch.setattr(graph_memory, "measure", lambda engine, workload, tiny: [engine, tiny])
    assert graph_memory.main(["--tiny", "--cell", "numpy-floor", "W4"]) == 0
    assert capsys.readouterr().out.strip() == '["numpy-floor", true]'
