"""The speed suite's details that a wrong number would slip past (no real timing): which
statistic each column takes, where each verdict's boundary lies, the documented sizes and
defaults, and what the workers, the runner and the side tools do with their clocks and
options (fake clocks and fake workers stand in for the processes).
"""

from __future__ import annotations

import argparse
import platform
import types
from pathlib import Path

import numpy as np
import pytest

from benchmarks import report, runner, worker, workloads
from benchmarks.workloads import WORKLOADS
from tests.test_benchmarks import _pair, _record, _results

ENGINE_AND_FLOOR = ("tinygrad_seq", "numpy-floor")


# ------------------------------------------------------------------ the report's statistics
def test_aggregate_takes_each_column_from_the_right_rounds():
    recs = [
        _record("tinygrad_seq", "W5", ms, cpu_ms=cpu, rnd=i, rss=rss)
        for i, (ms, cpu, rss) in enumerate(((9.0, 8.0, 3.0), (1.0, 1.0, 7.0), (2.0, 2.5, 5.0)))
    ]
    recs[1]["reps"], recs[2]["cpu_util"] = 12, 0.8
    cell = report.aggregate(recs)[("tinygrad_seq", "W5")]
    assert cell["cpu_median_ms"] == 2.5  # the median (min 1, mean 3.83)
    assert cell["best_ms"] == 1.0  # the lowest per-process median
    assert cell["rss_growth_mib"] == 7.0  # the largest over the rounds
    assert cell["reps"] == 12 and cell["cpu_util"] == 0.8  # the fewest, the lowest
    assert cell["per_round_ms"] == [9.0, 1.0, 2.0]
    # the noise table puts the CPU-time median (2.5) beside the best wall-time round (1.0):
    # its legend must say which clock each one reads, or 17.8 · 57.7 reads as a contradiction
    page = report.render(_results(recs))
    assert "| W5 | 2.50 · 1.00 · " in page
    assert "best round (lowest per-process wall-time median" in page


def test_contended_means_wall_strictly_above_110_percent_of_cpu():
    def rec(wall, cpu):
        return {"status": "ok", "median_ms": wall, "cpu_median_ms": cpu}

    assert report.CONTENDED_RATIO == 1.10  # (the README's "more than 10 %")
    assert not report.contended(rec(report.CONTENDED_RATIO * 10.0, 10.0))  # at the limit
    assert report.contended(rec(12.0, 10.0))  # 1.2 × CPU time
    assert not report.contended(rec(10.5, 10.0))
    page = report.render(_results([_record("tinygrad_seq", "W5", 12.0, cpu_ms=10.0)]))
    assert "| **W5** | 12.0 ⚠ |" in page and "> 1.10× median CPU time" in page


def test_cpu_and_paired_verdicts_meet_a_target_exactly_at_its_limit():
    records = [
        _record("tinygrad_seq", "W4", 16.0, cpu_ms=15.0),  # CPU ratio exactly 1.5
        _record("numpy-floor", "W4", 10.0),
    ]
    pairs = [_pair("W4", {"tinygrad_seq:W4": [15.0] * 3, "numpy-floor:W4": [10.0] * 3})]
    paired = report.aggregate_pairs(pairs)
    cells = report.aggregate(records)
    targets = {t["what"]: t for t in report.targets(cells, ["W4"], paired)}
    row = targets["W4: engine ≤ 1.5× floor"]
    assert row["wall"] == ("1.60×", False)
    assert row["cpu"] == ("1.50×", True)
    assert row["paired"] == ("1.50×", True) and row["processes"] == "1 of 1"


def test_paired_ratios_over_processes_are_their_median():
    pairs = [
        _pair("W4", {"tinygrad_seq:W4": [e] * 3, "numpy-floor:W4": [10.0] * 3})
        for e in (10.0, 12.0, 20.0)  # 1.0, 1.2, 2.0 (mean 1.4)
    ]
    cell = report.aggregate_pairs(pairs)["tinygrad_seq:W4"]
    assert cell["vs_floor"] == pytest.approx(1.2)
    assert cell["median_ms"] == 12.0
    assert cell["vs_floor_spread"] == pytest.approx(1.0 / 1.2)
    assert cell["vs_floor_per_process"] == pytest.approx([1.0, 1.2, 2.0])


def test_memory_target_is_twice_the_floor():
    assert report.TARGET_W4_MEMORY_VS_FLOOR == 2.0
    what = "W4: graph's peak memory ≤ 2× the floor's (tracemalloc)"
    for traced, verdict in ((2.0, True), (2.2, False)):
        records = [
            _record("tinygrad_seq", "W4", 12.0, traced=traced),
            _record("numpy-floor", "W4", 10.0, traced=1.0),
        ]
        targets = {t["what"]: t for t in report.targets(report.aggregate(records), ["W4"])}
        assert targets[what]["wall"][1] is verdict, traced


def test_cpu_time_ratios_to_torch_come_from_cpu_medians():
    records = [
        _record("tinygrad_seq", "W4", 30.0, cpu_ms=20.0),
        _record("numpy-floor", "W4", 10.0, cpu_ms=10.0),
        _record("torch", "W4", 40.0, cpu_ms=10.0),
    ]
    page = report.render(_results(records, workloads_=("W4",)))
    w4 = next(line for line in page.splitlines() if line.startswith("| **W4**"))
    # wall ÷ floor, wall ÷ torch, CPU ÷ floor, CPU ÷ torch
    assert w4.split(" | ")[4:8] == ["3.00×", "0.75×", "2.00×", "2.00× |"]
    targets = {t["what"]: t for t in report.targets(report.aggregate(records), ["W4"])}
    torch = targets["W4: engine ≤ 1.0× torch"]
    assert torch["wall"] == ("0.75×", True) and torch["cpu"] == ("2.00×", False)


def test_the_page_header_names_the_machine_and_the_settings():
    results = _results([_record("tinygrad_seq", "W5", 2.0)], workloads_=("W5",))
    results["meta"]["machine"] |= {"cpu": "Xeon (avx2)", "os": "Linux 6.1", "loadavg_end": 0.7}
    results["meta"] |= {"versions": "Python 3.11, NumPy 2.1", "budget": 1.5, "warmup": 0.25}
    page = report.render(results)
    machine = next(line for line in page.splitlines() if line.startswith("- Machine:"))
    assert "Xeon (avx2)" in machine and "2 logical cores" in machine and "Linux 6.1" in machine
    assert "at start 0.10" in machine and "at end 0.70" in machine
    assert "- Versions: Python 3.11, NumPy 2.1." in page
    settings = next(line for line in page.splitlines() if line.startswith("- Settings:"))
    for part in (
        "backend numpy",
        "data seed 0",
        "3 round(s)",
        "≥ 0.25 s",
        "for 1.5 s",
        "(10–500 reps)",
    ):
        assert part in settings, part


# ------------------------------------------------------------------ the runner
def test_runner_defaults_are_the_documented_ones():
    full = runner.parse_args([], "bench")
    assert (full.rounds, full.budget, full.warmup, full.retries) == (3, 2.0, 0.5, 1)
    assert (full.min_reps, full.max_reps, full.seed, full.paired) == (10, 500, 0, True)
    quick = runner.parse_args(["--quick"], "bench")
    assert (quick.warmup, quick.min_reps, quick.max_reps) == (0.1, 3, 500)


def test_worker_environment_pins_blas_to_one_thread(monkeypatch):
    names = (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    )
    for name in names:  # the runner's own environment asks for more threads
        monkeypatch.setenv(name, "4")
    env = runner._worker_env({"EXTRA": "1"})
    for name in names:
        assert env[name] == "1", name
    assert env["EXTRA"] == "1" and env["PYTHONWARNINGS"] == "ignore"


@pytest.mark.numpy_only
def test_machine_info_and_versions_name_every_field():
    info = runner.machine_info()
    assert set(info) >= {"cpu", "cores", "os", "python", "loadavg_start"}
    assert info["python"] == platform.python_version()
    line = runner.versions({"info": {"torch": {"torch": "9.9"}}})
    assert line.startswith(f"Python {platform.python_version()}, NumPy {np.__version__}")
    assert "PyTorch 9.9" in line and "tinygrad_seq " in line


def _opts(**kw):
    base = {
        "retries": 1,
        "retry_wait": 0.0,
        "timeout": 1.0,
        "extra_env": {},
        "budget": 0.5,
        "warmup": 0.25,
        "min_reps": 7,
        "max_reps": 99,
        "seed": 4,
        "backend": "numpy",
    }
    return argparse.Namespace(**(base | kw))


def test_a_contended_process_is_rerun_and_the_least_contended_kept(monkeypatch):
    runs = iter([30.0, 22.0, 25.0])  # wall ms, CPU 20 ms each: 1.5×, then 1.1×, then 1.25×
    calls = []

    def fake(args, timeout, extra_env=None):
        calls.append(args)
        return {"status": "ok", "median_ms": next(runs), "cpu_median_ms": 20.0}

    monkeypatch.setattr(runner, "run_worker", fake)
    rec = runner.time_cell("tinygrad_seq", "W5", _opts(retries=2))
    assert len(calls) == 2  # the second run was not contended: no third
    assert rec["median_ms"] == 22.0 and rec["attempts_ms"] == [30.0, 22.0]
    runs = iter([30.0, 26.0, 24.0])  # contended every time: every retry, the best kept
    calls.clear()
    rec = runner.time_cell("tinygrad_seq", "W5", _opts(retries=2))
    assert len(calls) == 3 and rec["median_ms"] == 24.0
    runs = iter([30.0, 40.0])
    rec = runner.time_cell("tinygrad_seq", "W5", _opts(retries=1))
    assert rec["median_ms"] == 30.0  # a worse retry does not replace it
    # every timing worker gets the runner's options
    args = calls[0]
    assert args[:3] == ["time", "tinygrad_seq", "W5"]
    pairs = dict(zip(args[3::2], args[4::2], strict=True))
    assert pairs == {
        "--budget": "0.5",
        "--warmup": "0.25",
        "--min-reps": "7",
        "--max-reps": "99",
        "--seed": "4",
        "--backend": "numpy",
    }


@pytest.mark.numpy_only
def test_runner_runs_every_round_and_passes_its_options(monkeypatch, capsys):
    calls = []

    def fake(args, timeout, extra_env=None):
        calls.append(args)
        if args[0] == "check":
            return {
                "status": "ok",
                "results": {"tinygrad_seq/W5": {"status": "ok", "rel_diff": 1e-7}},
            }
        if args[0] == "pair":
            names = args[2].split(",")
            return {
                "status": "ok",
                "group": args[1],
                "rounds": 3,
                "times_ms": {n: [2.0, 2.0, 2.0] for n in names},
            }
        return _record(args[1], args[2], 4.0) | {"round": None}

    monkeypatch.setattr(runner, "run_worker", fake)
    argv = [
        "--workloads",
        "W5",
        "--engines",
        "tinygrad_seq,numpy-floor",
        "--quick",
        "--rounds",
        "2",
        "--budget",
        "0.3",
        "--no-write",
    ]
    assert runner.main(argv) == 0
    kinds = [a[0] for a in calls]
    assert kinds == ["check", "time", "time", "pair", "time", "time", "pair"]
    for args in calls[1:]:
        opts = dict(zip(args[3::2], args[4::2], strict=True))
        assert opts["--warmup"] == "0.1" and opts["--budget"] == "0.3"
        # --quick's 3 repetitions per process; a paired process takes at least 10 turns
        assert opts["--min-reps"] == ("10" if args[0] == "pair" else "3")
    page = capsys.readouterr().out
    assert "| W5 | tinygrad_seq | 2 × 3 |" in page  # two paired processes


# ------------------------------------------------------------------ the worker's clocks
class _Clock:
    """A fake `time` module: each fake step advances wall and CPU time by what it costs."""

    def __init__(self):
        self.wall = self.cpu = 0.0
        self.last = None

    def perf_counter(self):
        return self.wall

    def process_time(self):
        return self.cpu

    def spend(self, seconds, cpu_share=0.5):
        self.wall += seconds
        self.cpu += seconds * cpu_share


def _args(**kw):
    base = {
        "engine": "numpy-floor",
        "workload": "W5",
        "backend": "numpy",
        "seed": 0,
        "budget": 0.02,
        "warmup": 0.01,
        "min_reps": 10,
        "max_reps": 500,
    }
    return argparse.Namespace(**(base | kw))


def _ok_check(step, workload, **kwargs):
    return {"ok": True, "rel_diff": 0.0, "where": "", "tolerance": 1e-3}


@pytest.mark.numpy_only
def test_the_worker_warms_up_then_takes_medians_of_wall_and_cpu_time(monkeypatch):
    clock = _Clock()
    calls = []

    def step():
        calls.append(1)
        # every 5th call is slow (11 ms); the rest take 1 ms: median 1, mean 3
        clock.spend(0.011 if len(calls) % 5 == 0 else 0.001)
        return 0.0

    monkeypatch.setattr(worker, "time", clock)
    monkeypatch.setattr(workloads, "make", lambda *a, **k: workloads.Step(step, list))
    monkeypatch.setattr(workloads, "check_against_floor", _ok_check)
    rec = worker.time_cell(_args(warmup=0.02, budget=0.0205))
    assert rec["status"] == "ok"
    assert rec["warmup_reps"] == 9  # calls 2-10 (1 ms, 11 ms on every 5th): ≥ 0.02 s
    assert rec["median_ms"] == pytest.approx(1.0)
    assert rec["cpu_median_ms"] == pytest.approx(0.5)  # process time, not wall time
    assert rec["cpu_util"] == pytest.approx(0.5)
    assert rec["reps"] == 20  # 0.02 s ÷ the warm-up's median call
    # fewer than --min-reps fit in the budget: --min-reps all the same
    rec = worker.time_cell(_args(budget=0.002, min_reps=7))
    assert rec["reps"] == 7


@pytest.mark.numpy_only
def test_a_timing_process_with_wrong_gradients_fails_its_cell(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(worker, "time", clock)
    step = workloads.Step(lambda: clock.spend(0.001), list)
    monkeypatch.setattr(workloads, "make", lambda *a, **k: step)

    def wrong(step, workload, **kwargs):
        return {"ok": False, "rel_diff": 0.5, "where": "x", "tolerance": 1e-3}

    monkeypatch.setattr(workloads, "check_against_floor", wrong)
    rec = worker.time_cell(_args())
    assert rec["status"] == "grad-mismatch" and "relative 5.00e-01 at x" in rec["error"]


@pytest.mark.numpy_only
def test_a_paired_turn_times_the_second_call_of_each_contestant(monkeypatch):
    clock = _Clock()

    def make(engine, workload, seed=0, **kwargs):
        name = f"{engine}:{workload}"

        def step():  # 5 ms after another contestant's call (cold caches), else 1 ms
            clock.spend(0.001 if clock.last == name else 0.005)
            clock.last = name

        return workloads.Step(step, list)

    monkeypatch.setattr(worker, "time", clock)
    monkeypatch.setattr(workloads, "make", make)
    monkeypatch.setattr(workloads, "check_against_floor", _ok_check)
    names = "numpy-floor:W4,tinygrad_seq:W4,tinygrad_seq:W4-fused"
    args = _args(group="W4", contestants=names, budget=0.001, min_reps=12)
    rec = worker.pair_cells(args)
    assert rec["status"] == "ok" and rec["rounds"] == 12
    for name, times in rec["times_ms"].items():
        assert times == pytest.approx([1.0] * 12), name


# ------------------------------------------------------------------ workloads
def test_workload_sizes_are_the_documented_ones():
    sizes = {w: WORKLOADS[w].sizes for w in ("W1", "W2", "W3", "W4", "W5")}
    assert sizes == {
        "W1": {"N": 64, "sizes": (784, 256, 256, 10)},
        "W2": {"T": 50, "B": 32, "I": 64, "H": 128},
        "W3": {"B": 16, "S": 64, "D": 128, "heads": 4, "F": 512},
        "W4": {"T": 1000, "B": 1, "I": 32, "H": 32},
        "W5": {"n_ops": 2000, "shape": (4, 4)},
    }
    for variant in ("W4-scope", "W4-fused", "W4-gradnorms"):
        assert WORKLOADS[variant].sizes == sizes["W4"], variant
    # the README's table names the same sizes
    readme = (Path(runner.__file__).parent / "README.md").read_text()
    for w in ("W1", "W2", "W3", "W4", "W5"):
        assert f"| {w} | {WORKLOADS[w].title} |" in readme, w


def test_gradient_tolerance_is_1e3_and_a_few_tenths_of_a_percent_fail():
    assert workloads.GRAD_TOLERANCE == {"float32": 1e-3, "float64": 1e-9}
    floor = workloads.make_floor("W4", tiny=True)
    floor()
    wrong = [g * 1.002 for g in floor.grads()]  # 0.2 % off
    result = workloads.check_against_floor(
        workloads.Step(floor.run, lambda: wrong), "W4", tiny=True
    )
    assert not result["ok"] and result["tolerance"] == 1e-3
    assert result["rel_diff"] == pytest.approx(0.002, rel=1e-2)


def test_a_near_zero_gradient_is_measured_on_a_thousandth_of_the_largest():
    ref = [np.array([10.0, -4.0]), np.array([0.0, 1e-9])]
    rel, where = workloads.compare_grads([ref[0], np.array([0.05, 0.0])], ref, ("W", "b_K"))
    assert where == "b_K" and rel == pytest.approx(5.0)  # 0.05 ÷ (1e-3 × 10)


# ------------------------------------------------------------------ compare, floors, ceiling
def test_compare_prints_new_over_old_and_each_over_the_floor(monkeypatch, tmp_path, capsys):
    from benchmarks import compare

    native = types.SimpleNamespace(_native=types.SimpleNamespace(_ext=None))
    monkeypatch.setattr(compare, "extract_revision", lambda rev, into: tmp_path)
    monkeypatch.setattr(compare, "build_native", lambda folder: False)
    monkeypatch.setattr(compare, "_import_from", lambda folder, numpy_only=False: native)
    monkeypatch.setattr(compare, "build", lambda *a, **k: {})
    times = {"old": [4.0, 4.0, 8.0], "new": [2.0, 3.0, 2.0], "floor": [1.0, 1.0, 1.0]}
    monkeypatch.setattr(compare, "race", lambda steps, seconds: times)
    assert compare.main(["HEAD~1", "--workloads", "W4", "--tiny", "--seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "| workload | turns | new ÷ old | old ÷ floor | new ÷ floor |" in out
    # new ÷ old per turn: 0.5, 0.75, 0.25 → 0.5; old ÷ floor 4; new ÷ floor 2
    assert "| W4 | 3 | 0.500 | 4.000 | 2.000 |" in out


def test_race_warms_up_each_step_and_runs_at_least_five_turns():
    from benchmarks import compare

    calls = {"a": 0, "b": 0}

    def counter(name):
        def step():
            calls[name] += 1

        return step

    times = compare.race({"a": counter("a"), "b": counter("b")}, seconds=0.0)
    assert [len(t) for t in times.values()] == [5, 5]
    assert calls == {"a": 3 + 2 * 5, "b": 3 + 2 * 5}  # warm-up, then two calls per turn


def test_the_tuned_floor_must_match_within_the_suites_tolerance(monkeypatch):
    from benchmarks import floors

    made = floors.make_tuned_floor

    def wrong(*args, **kwargs):
        step = made(*args, **kwargs)
        return workloads.Step(step.run, lambda: [g * 1.002 for g in step.grads()])

    monkeypatch.setattr(floors, "make_tuned_floor", wrong)
    with pytest.raises(SystemExit, match="W4: the tuned floor's gradients differ"):
        floors.check("W4", tiny=True)


def test_floors_table_columns(monkeypatch, capsys):
    from benchmarks import floors

    times = {"engine": [6.0] * 5, "floor": [3.0] * 5, "tuned": [1.0] * 5}
    monkeypatch.setattr(floors, "check", lambda w, tiny: 2e-7)
    for name in ("make_engine", "make_floor", "make_tuned_floor"):
        monkeypatch.setattr(floors, name, lambda *a, **k: None)
    monkeypatch.setattr(floors, "race", lambda steps, seconds: times)
    assert floors.main(["--workloads", "W4", "--tiny", "--seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "| tuned ÷ floor | engine ÷ floor | engine ÷ tuned |" in out
    assert "| W4 | 5 | 2.0e-07 | 0.333 | 2.000 | 6.000 |" in out


def test_ceiling_rows_give_each_contestant_over_the_engine_and_the_floor(monkeypatch, capsys):
    import importlib.util

    from benchmarks import ceiling, compare

    times = {"engine": [0.004] * 5, "free": [0.001] * 5, "floor": [0.002] * 5}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)  # no torch
    monkeypatch.setattr(workloads, "make_engine", lambda *a, **k: lambda: 0.0)
    monkeypatch.setattr(workloads, "make_floor", lambda *a, **k: lambda: 0.0)
    monkeypatch.setattr(workloads, "check_against_floor", _ok_check)
    monkeypatch.setattr(compare, "race", lambda steps, seconds: times)
    assert ceiling.main(["W5", "--free", "tanh", "--tiny", "--seconds", "0"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert rows[0] == "| contestant | median ms | ÷ engine | ÷ floor |"
    assert rows[1:] == [
        "| engine | 4.000 | 1.000 | 2.000 |",
        "| free | 1.000 | 0.250 | 0.500 |",
        "| floor | 2.000 | 0.500 | 1.000 |",
    ]


# ------------------------------------------------------------------ peers
def test_peers_page_keeps_its_sections_in_order_and_passes_the_engines(monkeypatch, tmp_path):
    import subprocess

    from benchmarks import peers

    (tmp_path / "peers").mkdir()
    (tmp_path / "peers" / "run.py").write_text("")
    driver_page = (
        "# Peer results\nintro line\n\n## Failures\nNone.\n\n## Per-op overhead (µs)\n| a |\n\n"
        "## Not kept\nx\n\n## Round spread\n| s |\n\n## Cross-engine agreement\n| c |\n"
    )
    seen = []

    def fake_run(cmd, env=None, **kwargs):
        seen.append(cmd)
        out = Path(cmd[cmd.index("--out") + 1])
        (out / "RESULTS.md").write_text(driver_page)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(peers.subprocess, "run", fake_run)
    monkeypatch.setattr(peers, "_git_revision", lambda: " at commit abc1234")
    monkeypatch.setattr(peers, "_product_library", lambda: "numpy")
    assert peers.main([str(tmp_path / "peers"), "--out", str(tmp_path / "o")]) == 0
    engines = seen[0][seen[0].index("--engines") + 1].split(",")
    assert engines[:2] == ["torch", "numpy-floor"] and engines[-1] == "tinygrad_seq"
    page = (tmp_path / "o" / "PEERS.md").read_text()
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Per-op overhead (µs)",
        "## Cross-engine agreement",
        "## Round spread",
        "## Failures",
    ]
    assert "intro line" in page and "--no-malloc-variant" not in page
    assert (
        peers.main(
            [str(tmp_path / "peers"), "--engines", "mygrad,torch", "--out", str(tmp_path / "o")]
        )
        == 0
    )
    assert seen[1][seen[1].index("--engines") + 1] == "mygrad,torch"  # the user's order


# ------------------------------------------------------------------ the GPU report
def test_gpu_speedup_target_is_met_at_exactly_ten_times():
    from benchmarks import gpu

    results = {
        "command": "python -m benchmarks.gpu",
        "date": "2026-01-01T00:00:00",
        "machine": {"python": "3.12", "numpy": "2"},
        "workloads": ["G2"],
        "checks": {},
        "timings": {
            "G2": {
                "numpy": {"median_s": 0.010},
                "cupy": {"median_s": 0.001},
                "torch-cuda": {"median_s": 0.0005},
            }
        },
    }
    text = gpu.render(results)
    assert "| G2: CuPy ≥ 10× faster than NumPy | 10.0× | met |" in text
    assert "| G2: CuPy ≤ 2× PyTorch CUDA | 2.00× | met |" in text


def test_gpu_time_step_warms_up_then_takes_the_median_of_reps(monkeypatch):
    from benchmarks import gpu

    clock = _Clock()
    costs = iter([0.5, 0.2] + [0.001, 0.001, 0.010] * 3)  # warm-up calls, then timed ones
    calls = []

    def step():
        calls.append(1)
        clock.spend(next(costs))

    monkeypatch.setattr(gpu, "time", clock)
    timing = gpu.time_step(step, reps=9, warmup=2)
    assert len(calls) == 11 and timing["reps"] == 9
    assert timing["median_s"] == pytest.approx(0.001)  # (the mean would be 0.004)
    assert timing["min_s"] == pytest.approx(0.001)
