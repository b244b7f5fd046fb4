"""The speed suite's correctness (no timing): every workload's engine version computes the
floor's loss and gradients, the floor agrees with PyTorch, and the report's tables are
computed right from given records.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import tinygrad_seq as ts
from benchmarks import report, runner, workloads
from benchmarks.workloads import WORKLOADS

ALL = list(WORKLOADS)
ENGINE_AND_FLOOR = ("tinygrad_seq", "numpy-floor")


@pytest.mark.parametrize("workload", ALL)
def test_engine_matches_floor_float64(workload):
    """In float64 the engine and the hand-written backward agree to round-off."""
    w = WORKLOADS[workload]
    floor = workloads.make_floor(w.base or workload, tiny=True, dtype="float64", seed=3)
    engine = workloads.make_engine(workload, tiny=True, dtype="float64", seed=3)
    floor_loss, engine_loss = floor(), engine()
    assert engine_loss == pytest.approx(floor_loss, rel=1e-10)
    rel, where = workloads.compare_grads(engine.grads(), floor.grads(), w.params)
    assert rel < 1e-9, f"{workload}: gradient of {where} differs by {rel:.2e}"


@pytest.mark.parametrize("workload", ALL)
def test_engine_matches_floor_float32(workload):
    """The check the runner applies before timing passes at the suite's dtype."""
    engine = workloads.make_engine(workload, tiny=True)
    result = workloads.check_against_floor(engine, workload, tiny=True)
    assert result["ok"], result
    assert all(g.dtype == np.float32 for g in engine.grads())


def test_repeated_calls_do_not_accumulate_gradients():
    engine = workloads.make_engine("W4", tiny=True)
    engine()
    first = [g.copy() for g in engine.grads()]
    engine()
    for a, b in zip(first, engine.grads(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.numpy_only
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
@pytest.mark.parametrize("workload", ["W1", "W2", "W3", "W4", "W5"])
def test_torch_matches_floor(workload):
    """The floor is the reference, so it must agree with PyTorch's autograd too."""
    step = workloads.make_torch(workload, tiny=True, dtype="float64")
    floor = workloads.make_floor(workload, tiny=True, dtype="float64")
    assert step() == pytest.approx(floor(), rel=1e-10)
    rel, where = workloads.compare_grads(step.grads(), floor.grads(), WORKLOADS[workload].params)
    assert rel < 1e-9, f"{workload}: gradient of {where} differs by {rel:.2e}"


def test_compare_grads_catches_wrong_gradients():
    ref = [np.array([1.0, -2.0]), np.array([[0.5]])]
    assert workloads.compare_grads([r.copy() for r in ref], ref, ("a", "b")) == (0.0, "")
    rel, where = workloads.compare_grads([ref[0], ref[1] * 1.1], ref, ("a", "b"))
    assert where == "b" and rel == pytest.approx(0.1)  # |0.55 − 0.5| / 0.5
    rel, where = workloads.compare_grads([ref[0] * np.nan, ref[1]], ref, ("a", "b"))
    assert math.isinf(rel) and "NaN" in where
    rel, where = workloads.compare_grads([ref[0][:1], ref[1]], ref, ("a", "b"))
    assert math.isinf(rel) and "shape" in where


def test_check_against_floor_flags_a_wrong_engine():
    floor = workloads.make_floor("W4", tiny=True)
    floor()
    wrong = [g * 1.01 for g in floor.grads()]
    step = workloads.Step(lambda: 0.0, lambda: wrong)
    result = workloads.check_against_floor(step, "W4", tiny=True)
    assert not result["ok"] and result["rel_diff"] == pytest.approx(0.01, rel=1e-3)
    # right gradients but a NaN loss (a fused forward broken, its backward not): refused
    nan_loss = workloads.Step(lambda: float("nan"), lambda: floor.grads())
    result = workloads.check_against_floor(nan_loss, "W4", tiny=True)
    assert not result["ok"] and result["where"] == "loss"


def test_render_only_without_results_says_so_in_one_line(tmp_path, capsys):
    assert runner.main(["--render-only", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--render-only needs the results.json of a run in" in err and "Traceback" not in err
    (tmp_path / "results.json").write_text("{not json")
    assert runner.main(["--render-only", "--out", str(tmp_path)]) == 2


# ------------------------------------------------------------------ the report
def _record(engine, workload, ms, cpu_ms=None, rnd=1, traced=None, rss=1.0):
    return {
        "status": "ok",
        "engine": engine,
        "workload": workload,
        "round": rnd,
        "median_ms": ms,
        "cpu_median_ms": ms if cpu_ms is None else cpu_ms,
        "reps": 50,
        "cpu_util": 1.0,
        "rss_growth_mib": rss,
        "minflt_per_call": 0.0,
        "tracemalloc_peak_mib": traced,
        "grad_check": {"rel_diff": 1e-7},
        "loadavg_1min": 0.5,
    }


def _results(records, workloads_=("W4", "W5"), engines=("tinygrad_seq", "numpy-floor", "torch")):
    return {
        "meta": {
            "command": "python -m benchmarks",
            "date": "2026-01-01T00:00:00",
            "total_s": 60.0,
            "machine": {"cpu": "CPU", "cores": 2, "os": "Linux", "loadavg_start": 0.1},
            "versions": "NumPy 2",
            "workloads": list(workloads_),
            "engines": list(engines),
            "skipped_engines": {},
            "rounds": 3,
            "budget": 2.0,
            "warmup": 0.5,
            "min_reps": 10,
            "max_reps": 500,
            "seed": 0,
            "backend": "numpy",
        },
        "check": {"results": {"tinygrad_seq/W4": {"status": "ok", "rel_diff": 0.0}}},
        "records": records,
    }


def test_aggregate_takes_the_median_of_rounds_and_their_spread():
    recs = [_record("tinygrad_seq", "W5", ms, rnd=i) for i, ms in enumerate((9.0, 1.0, 2.0))]
    cell = report.aggregate(recs)[("tinygrad_seq", "W5")]
    assert cell["median_ms"] == 2.0  # (the mean would be 4)
    assert cell["round_spread"] == pytest.approx(4.0)  # (9 − 1) / 2
    assert cell["rounds"] == 3


def test_a_failed_round_fails_the_cell():
    bad = {"status": "fail", "engine": "torch", "workload": "W5", "error": "boom"}
    cells = report.aggregate([_record("torch", "W5", 1.0), bad])
    assert cells[("torch", "W5")]["status"] == "fail"
    page = report.render(_results([_record("tinygrad_seq", "W5", 1.0), bad]))
    assert "**FAIL**" in page and "boom" in page


def test_render_ratios_per_op_and_targets():
    records = [
        _record("tinygrad_seq", "W5", 6.0, traced=1.0),  # 2000 ops: 3 µs/op
        _record("numpy-floor", "W5", 2.0, traced=0.5),  # 1 µs/op: 2 µs/op above the floor
        _record("torch", "W5", 12.0),
        _record("tinygrad_seq", "W4", 30.0, cpu_ms=20.0, traced=3.0),  # contended
        _record("numpy-floor", "W4", 10.0, traced=1.0),
        _record("torch", "W4", 40.0),
    ]
    page = report.render(_results(records))
    w5 = next(line for line in page.splitlines() if line.startswith("| **W5**"))
    assert w5.split(" | ")[1:6] == ["6.00", "2.00", "12.0", "3.00×", "0.50×"]
    w4 = next(line for line in page.splitlines() if line.startswith("| **W4**"))
    assert "30.0 ⚠" in w4 and "2.00×" in w4  # CPU-time ratio 20 / 10
    assert "| W5 | tinygrad_seq | 2000 ops | 3.00 | 2.00 | 2.00 |" in page
    assert "| W4 | tinygrad_seq | 1000 steps | 30.00 | 20.00 | 10.00 |" in page  # CPU: 20 − 10
    assert "W4's floor is the textbook one the target was set against" in page
    targets = {t["what"]: t for t in report.targets(report.aggregate(records), ["W4", "W5"])}
    assert targets["W5: engine ≤ 2 µs per op above the floor"]["wall"] == ("2.00 µs", True)
    assert targets["W4: engine ≤ 1.5× floor"]["wall"] == ("3.00×", False)
    assert targets["W4: engine ≤ 1.5× floor"]["cpu"] == ("2.00×", False)
    memory = targets["W4: graph's peak memory ≤ 2× the floor's (tracemalloc)"]
    assert memory["wall"] == ("3.00×", False)
    assert targets["W5: engine ≤ 1.0× torch"]["wall"] == ("0.50×", True)


def test_render_switch_costs():
    records = [
        _record("tinygrad_seq", "W4", 20.0),
        _record("tinygrad_seq", "W4-scope", 25.0),  # +5 ms over 1000 steps: +5 µs per step
        _record("numpy-floor", "W4", 10.0),
    ]
    page = report.render(_results(records, workloads_=("W4", "W4-scope"), engines=ENGINE_AND_FLOOR))
    assert "| W4-scope | W4 with every step inside" in page
    assert "| 25.0 | 1.25× | +5.00 | +5.00 |" in page


def test_the_fused_variant_gets_the_w4_targets_and_is_not_a_switch():
    records = [
        _record("tinygrad_seq", "W4", 20.0, traced=4.0),
        _record("tinygrad_seq", "W4-fused", 12.0, traced=1.5),
        _record("numpy-floor", "W4", 10.0, traced=1.0),
    ]
    cells = report.aggregate(records)
    targets = {t["what"]: t for t in report.targets(cells, ["W4", "W4-fused"])}
    assert targets["W4-fused: engine ≤ 1.5× floor"]["wall"] == ("1.20×", True)
    memory = targets["W4-fused: graph's peak memory ≤ 2× the floor's (tracemalloc)"]
    assert memory["wall"] == ("1.50×", True) and memory["processes"] == "—"
    assert targets["W4: engine ≤ 1.5× floor"]["wall"] == ("2.00×", False)
    assert report.switches_table(cells, ["W4", "W4-fused"]) == []  # not a recording switch


def _pair(group, times_ms, status="ok"):
    return {"status": status, "group": group, "rounds": 3, "times_ms": times_ms, "round": 1}


def test_paired_ratios_are_medians_of_per_turn_ratios():
    # turn 2 ran in a slow phase of the machine: every contestant took twice as long
    rec = _pair(
        "W4",
        {
            "tinygrad_seq:W4": [20.0, 40.0, 22.0],
            "tinygrad_seq:W4-fused": [12.0, 24.0, 12.0],
            "numpy-floor:W4": [10.0, 20.0, 10.0],
            "torch:W4": [30.0, 60.0, 33.0],
        },
    )
    stats = report.pair_stats(rec)
    engine = stats["tinygrad_seq:W4"]
    assert engine["median_ms"] == 22.0
    assert engine["vs_floor"] == 2.0  # turns: 2.0, 2.0, 2.2 (the ratio of medians: 2.2)
    assert engine["vs_torch"] == pytest.approx(2 / 3)  # 0.667, 0.667, 0.667
    assert engine["us_above_floor"] == 12.0  # (20 − 10) ms, (40 − 20), (22 − 10): per step
    fused = stats["tinygrad_seq:W4-fused"]
    assert fused["vs_floor"] == pytest.approx(1.2) and fused["vs_base"] == pytest.approx(0.6)
    assert fused["us_added"] == -10.0  # 12 − 22 ms over 1000 steps
    assert "vs_torch" not in stats["torch:W4"] and stats["torch:W4"]["vs_floor"] == 3.0
    assert report.pair_summary(rec)["W4-fused ÷ floor"] == pytest.approx(1.2)


def test_paired_processes_in_the_page_and_the_targets():
    records = [
        _record("tinygrad_seq", "W5", 12.0),  # a slow process: its own ratio says 6×
        _record("numpy-floor", "W5", 2.0),
        _record("torch", "W5", 12.0),
    ]
    pairs = [
        _pair("W5", {"tinygrad_seq:W5": [6.0] * 3, "numpy-floor:W5": [2.0] * 3,
                     "torch:W5": [12.0] * 3}),
        _pair("W5", {"tinygrad_seq:W5": [7.0] * 3, "numpy-floor:W5": [2.0] * 3,
                     "torch:W5": [14.0] * 3}),
        _pair("W5", {}, status="fail") | {"error": "worker died"},
    ]  # fmt: skip
    results = _results(records, workloads_=("W5",)) | {"pairs": pairs}
    paired = report.aggregate_pairs(pairs)
    assert paired["tinygrad_seq:W5"]["processes"] == 2
    assert paired["tinygrad_seq:W5"]["vs_floor"] == pytest.approx(3.25)  # median of 3, 3.5
    assert paired["tinygrad_seq:W5"]["vs_floor_spread"] == pytest.approx(0.5 / 3.25)
    targets = {t["what"]: t for t in report.targets(report.aggregate(records), ["W5"], paired)}
    per_op = targets["W5: engine ≤ 2 µs per op above the floor"]
    assert per_op["wall"] == ("5.00 µs", False) and per_op["paired"] == ("2.25 µs", False)
    assert per_op["processes"] == "1 of 2"  # 2.0 µs in the first process, 2.5 in the second
    assert targets["W5: engine ≤ 1.0× torch"]["paired"] == ("0.50×", True)
    assert targets["W5: engine ≤ 1.0× torch"]["processes"] == "2 of 2"
    page = report.render(results)
    assert "## Paired" in page
    assert "| W5 | tinygrad_seq | 2 × 3 | 6.50 | 3.25× | 0.50× | 2.25 | 15% |" in page
    assert "paired" in page and "worker died" in page
    assert "| 2.25 µs | **not met** | 1 of 2 |" in page
    assert "W4's floor is the textbook one" not in page  # (only where W4 is measured)


def test_a_ratio_that_rounds_to_the_limit_shows_a_third_digit():
    records = [_record("tinygrad_seq", "W3", 10.04), _record("torch", "W3", 10.0)]
    (row,) = report.targets(report.aggregate(records), ["W3"])
    assert row["wall"] == ("1.004×", False)  # not "1.00× not met"
    records = [_record("tinygrad_seq", "W3", 10.004), _record("torch", "W3", 10.0)]
    (row,) = report.targets(report.aggregate(records), ["W3"])
    assert row["wall"] == ("1.0004×", False)
    records = [_record("tinygrad_seq", "W3", 9.97), _record("torch", "W3", 10.0)]
    (row,) = report.targets(report.aggregate(records), ["W3"])
    assert row["wall"] == ("0.997×", True)
    records = [_record("tinygrad_seq", "W3", 9.0), _record("torch", "W3", 10.0)]
    (row,) = report.targets(report.aggregate(records), ["W3"])
    assert row["wall"] == ("0.90×", True)


def test_runner_options():
    quick = runner.parse_args(["--quick"], "bench")
    assert (quick.rounds, quick.budget, quick.retries) == (1, 0.3, 0)
    assert quick.extra_env == runner.MALLOC_KEEP_ENV  # every worker keeps freed memory
    assert runner.parse_args(["--malloc-default"], "bench").extra_env == {}
    with pytest.raises(SystemExit):
        runner.parse_args(["--malloc-default", "--malloc-keep"], "bench")
    full = runner.parse_args(["--workloads", "W5,W1", "--engines", "floor,engine"], "bench")
    assert (full.rounds, full.budget) == (3, 2.0)
    assert full.workload_list == ["W1", "W5"]  # table order
    assert full.engine_list == ["tinygrad_seq", "numpy-floor"]
    with pytest.raises(SystemExit):
        runner.parse_args(["--workloads", "W9"], "bench")
    # a run writes to ./bench-results unless told otherwise: never over the recorded run
    assert runner.default_out() == Path("bench-results")


@pytest.mark.numpy_only
def test_runner_end_to_end(tmp_path, capsys):
    """One tiny real run: worker processes, gradient check, RESULTS.md written."""
    status = runner.main(
        [
            "--workloads",
            "W5",
            "--engines",
            "tinygrad_seq,numpy-floor",
            "--quick",
            "--budget",
            "0.02",
            "--out",
            str(tmp_path),
        ],
    )
    assert status == 0, capsys.readouterr().err
    page = (tmp_path / "RESULTS.md").read_text()
    assert "| **W5** |" in page and "✓" in page
    assert "| W5 | tinygrad_seq | 1 × " in page  # the paired process ran too
    assert (tmp_path / "results.json").is_file()
    # --render-only redraws the page from results.json; with --no-write onto stdout only
    (tmp_path / "RESULTS.md").unlink()
    capsys.readouterr()
    assert runner.main(["--render-only", "--no-write", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == page.strip()
    assert not (tmp_path / "RESULTS.md").exists()
    assert runner.main(["--render-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "RESULTS.md").read_text() == page


@pytest.mark.numpy_only
def test_bench_command_rejects_unknown_names_in_one_line(capsys):
    from tinygrad_seq.demos.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--workloads", "W1,W9"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "W9" in err


def test_profile_summarizes_pyspy_samples(tmp_path):
    from benchmarks import profile

    raw = tmp_path / "w.txt"
    raw.write_text(
        "main (p.py:1);Step.__call__ (w.py:2);backward (autograd.py:10) 3\n"
        "main (p.py:1);Step.__call__ (w.py:2);forward (ops.py:5) 1\n"
        "main (p.py:1);import (x.py:1) 100\n"  # start-up: outside the timed calls
    )
    text = profile.summarize_collapsed(str(raw), top=5)
    assert text.startswith("4 samples")
    assert "75.0%  backward (autograd.py:10)" in text
    assert "100.0%  Step.__call__ (w.py)" in text
    with pytest.raises(SystemExit) as exit_info:  # a file py-spy never wrote: one line
        profile.main(["--collapsed", str(tmp_path / "missing.txt")])
    assert exit_info.value.code == 2


def test_peers_page_names_no_interpreter_path():
    from benchmarks import peers

    text = "ran `/opt/venvs/a-b/../x/bin/python3.11` and (/tmp/np1/bin/python), 'py'"
    assert peers.without_paths(text) == "ran `python` and (python), 'py'"
    trace = 'File "/home/u/v/lib/python3.11/site-packages/micrograd/engine.py", line 61'
    assert peers.without_paths(trace) == 'File "site-packages/micrograd/engine.py", line 61'


def test_peers_page_sections():
    from benchmarks import peers

    head, parts = peers.sections("# T\nintro\n\n## Per-op overhead\n\n| a |\n## Failures\nNone.\n")
    assert head == "# T\nintro"
    assert parts == {"Per-op overhead": "| a |", "Failures": "None."}


ROOT = Path(__file__).resolve().parent.parent


def _in_a_git_checkout() -> bool:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return False
    probe = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _in_a_git_checkout(), reason="needs git and a git checkout")
def test_compare_times_a_revision_against_the_checkout(capsys):
    import sys

    import tinygrad_seq
    from benchmarks import compare

    before = sys.modules["tinygrad_seq.tensor"]
    # W4-gradnorms: an engine-only variant races its base's floor
    workloads = "W5,W4,W4-gradnorms"
    assert compare.main(["HEAD", "--workloads", workloads, "--tiny", "--seconds", "0.2"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| W")]
    # the old revision runs its own compiled helpers where this checkout has them built
    # (its C functions may differ), else NumPy alone
    own = "its own compiled helpers" if tinygrad_seq._native._ext is not None else "NumPy only"
    assert f"at HEAD ({own})" in out
    assert [row.split("|")[1].strip() for row in rows] == workloads.split(",")
    for row in rows:
        turns, *ratios = (float(cell) for cell in row.split("|")[2:6])
        assert turns >= 5 and all(0.05 < r < 20 for r in ratios)
    # the package as imported before, not a second copy with classes of its own
    assert sys.modules["tinygrad_seq"] is tinygrad_seq
    assert sys.modules["tinygrad_seq.tensor"] is before


def test_compare_imports_a_revision_without_helpers_on_numpy_alone(tmp_path, monkeypatch):
    import os
    import shutil
    import sys

    from benchmarks import compare

    shutil.copytree(ROOT / "tinygrad_seq", tmp_path / "tinygrad_seq",
                    ignore=shutil.ignore_patterns("_native_ext*", "__pycache__"))  # fmt: skip
    assert not compare.build_native(tmp_path)  # no C source: nothing to build
    monkeypatch.delenv("TINYGRAD_SEQ_NATIVE", raising=False)
    imported = compare._package_modules()
    try:
        copy = compare._import_from(tmp_path, numpy_only=True)
        assert copy._native._ext is None and "TINYGRAD_SEQ_NATIVE=0" in copy._native.status()
        assert "TINYGRAD_SEQ_NATIVE" not in os.environ  # (set for the import only)
    finally:
        for name in compare._package_modules():
            del sys.modules[name]
        sys.modules.update(imported)


@pytest.mark.skipif(not _in_a_git_checkout(), reason="needs git and a git checkout")
def test_compare_refuses_to_time_an_engine_whose_gradients_are_wrong(monkeypatch):
    from benchmarks import compare

    def wrong(step, workload, tiny=False, **kwargs):
        return {"ok": False, "where": "x", "rel_diff": 0.5, "tolerance": 1e-3}

    monkeypatch.setattr(workloads, "check_against_floor", wrong)
    with pytest.raises(SystemExit, match="W5: the old engine's gradients differ .* at x"):
        compare.main(["HEAD", "--workloads", "W5", "--tiny", "--seconds", "0.1"])


@pytest.mark.skipif(not _in_a_git_checkout(), reason="needs git and a git checkout")
def test_compare_rejects_an_unknown_revision_in_one_line():
    from benchmarks import compare

    with pytest.raises(SystemExit, match="cannot read tinygrad_seq/ at revision 'no-such-rev'"):
        compare.main(["no-such-rev", "--tiny", "--seconds", "0.1"])


@pytest.mark.numpy_only
def test_the_versions_line_names_who_multiplies_the_engines_large_products(monkeypatch):
    from tinygrad_seq import _mkl, _native

    line = runner.versions({})
    assert f"the engine's large products: {runner._product_library()}" in line
    assert f"compiled helpers: {_native.status()}" in line
    monkeypatch.setattr(_mkl, "library", lambda: "numpy (TINYGRAD_SEQ_GEMM=numpy)")
    assert runner._product_library() == "numpy (TINYGRAD_SEQ_GEMM=numpy)"
    if _mkl._library_path() is not None:  # the mkl package is installed: its version
        monkeypatch.setattr(_mkl, "library", lambda: "mkl")
        assert runner._product_library().startswith("MKL 20")


@pytest.mark.numpy_only
@pytest.mark.parametrize("workload", ["W2", "W4"])
def test_the_tuned_floor_computes_the_floors_gradients_and_races(workload, capsys):
    from benchmarks import floors

    for dtype in ("float64", "float32"):
        tuned, floor = (
            floors.make_tuned_floor(workload, True, dtype),
            workloads.make_floor(workload, True, dtype),
        )
        assert tuned() == pytest.approx(floor(), rel=1e-6)
        rel, where = workloads.compare_grads(
            tuned.grads(), floor.grads(), WORKLOADS[workload].params
        )
        assert rel < (1e-12 if dtype == "float64" else 1e-5), where
    assert floors.main(["--workloads", workload, "--tiny", "--seconds", "0.2"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| W"))
    turns, _, *ratios = (float(cell) for cell in row.split("|")[2:7])
    assert turns >= 5 and all(0.05 < r < 50 for r in ratios)


def test_the_tuned_floor_checker_fails_on_wrong_gradients(monkeypatch):
    from benchmarks import floors

    made = floors.make_tuned_floor

    def wrong(*args, **kwargs):
        step = made(*args, **kwargs)
        return workloads.Step(step.run, lambda: [g * 1.01 for g in step.grads()])

    monkeypatch.setattr(floors, "make_tuned_floor", wrong)
    with pytest.raises(SystemExit, match="W4: the tuned floor's gradients differ"):
        floors.check("W4", tiny=True)


@pytest.mark.numpy_only
def test_ceiling_times_the_engine_with_ops_made_free(capsys):
    from benchmarks import ceiling
    from tinygrad_seq import ops

    originals = (ops.LayerNorm.forward, ops.Softmax.backward, ops.Add.forward)
    args = ["W3", "--free", "layer_norm,softmax,add", "--tiny", "--seconds", "0.2"]
    assert ceiling.main(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    names = [row.split("|")[1].strip() for row in rows[1:]]
    assert names[:3] == ["engine", "free", "floor"]
    for row in rows[1:]:
        median_ms, to_engine, to_floor = (float(c) for c in row.split("|")[2:5])
        assert median_ms > 0 and 0.01 < to_engine < 100 and 0.01 < to_floor < 100
    # the ops are themselves again afterwards
    assert (ops.LayerNorm.forward, ops.Softmax.backward, ops.Add.forward) == originals
    x = ts.Tensor(np.ones((2, 3)))
    assert np.allclose(ts.functional.layer_norm(x, ts.ones(3), ts.ones(3)).numpy(), 1)


@pytest.mark.numpy_only
def test_ceiling_refuses_ops_it_cannot_make_free(capsys):
    from benchmarks import ceiling

    with pytest.raises(SystemExit):
        ceiling.main(["W3", "--free", "matmul", "--tiny", "--seconds", "0.1"])
    assert "cannot make ['matmul'] free" in capsys.readouterr().err


def test_compare_ratio_is_the_median_of_a_over_b_per_turn():
    from benchmarks import compare

    times = {"a": [2.0, 4.0, 30.0], "b": [1.0, 1.0, 1.0]}
    assert compare.ratio(times, "a", "b") == 4.0  # median of 2, 4, 30: not of the sums
    assert compare.ratio(times, "b", "a") == 0.25


@pytest.mark.numpy_only
def test_a_cell_that_fails_the_gradient_check_is_not_timed(tmp_path, monkeypatch):
    checked = {
        "status": "ok",
        "results": {"tinygrad_seq/W5": {"status": "fail", "rel_diff": 0.5, "where": "x[0]"}},
    }
    timed = []

    def fake_time_cell(engine, workload, opts):
        timed.append((engine, workload))
        return {"status": "fail", "engine": engine, "workload": workload, "error": "not run"}

    monkeypatch.setattr(runner, "run_worker", lambda *a, **k: checked)
    monkeypatch.setattr(runner, "time_cell", fake_time_cell)
    monkeypatch.setattr(runner, "pair_group", lambda *a, **k: {"status": "fail", "error": "-"})
    args = ["--workloads", "W1,W5", "--engines", "tinygrad_seq,numpy-floor", "--quick"]
    runner.main([*args, "--out", str(tmp_path)])
    assert ("tinygrad_seq", "W5") not in timed
    assert ("tinygrad_seq", "W1") in timed and ("numpy-floor", "W5") in timed
