"""The command line's details that the end-to-end tests do not pin down: the seed reaching
each demo, the sizes, the progress bars' silence, the tour's counts, exit codes and index,
and what `graph`, `derive` and `bench` pass on to the code that does the work.

The demos, checks and renderers are stubbed or spied on: these tests are about the command
line around them, and take a few seconds in all.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tinygrad_seq.demos import common, derivations_demo, graphs_demo, vanishing
from tinygrad_seq.demos.common import DemoContext, progress
from tinygrad_seq.demos.tour import DEMOS, write_index

from tests.test_cli import run_cli

pytestmark = pytest.mark.numpy_only  # the command line itself; the backends are tested elsewhere

STUB = {"headline": "stub", "measured": "stub", "figures": []}


@pytest.fixture(autouse=True)
def default_backend(monkeypatch):
    """The commands' --backend default comes from $TINYGRAD_SEQ_BACKEND: not set here."""
    monkeypatch.delenv("TINYGRAD_SEQ_BACKEND", raising=False)


def draws_of(seed: int) -> list[float]:
    """What the engine's generator draws first after ts.manual_seed(seed)."""
    import tinygrad_seq as ts

    ts.manual_seed(seed)
    return ts.tensor.rng().standard_normal(3).tolist()


def recording_demo(seen: list) -> Callable:
    """A demo's run(ctx) that records the engine's first draws and returns at once."""
    import tinygrad_seq as ts

    def run(ctx):
        seen.append(ts.tensor.rng().standard_normal(3).tolist())
        return dict(STUB)

    return run


# ----------------------------------------------------------------------------- common.py


def test_a_demo_run_alone_is_seeded_with_its_seed(capsys, tmp_path, monkeypatch):
    seen: list = []
    monkeypatch.setattr(vanishing, "run", recording_demo(seen))
    code, _, err = run_cli(
        capsys, "vanishing", "--out", str(tmp_path), "--size", "tiny", "--seed", "3"
    )
    assert code == 0, err
    assert seen == [draws_of(3)] and draws_of(3) != draws_of(0)


def test_each_demo_of_the_tour_starts_from_the_seed(capsys, tmp_path, monkeypatch):
    """A demo gives the same numbers in the tour as alone: the second demo does not go on
    from where the first left the generator."""
    seen: list = []
    monkeypatch.setattr(vanishing, "run", recording_demo(seen))
    monkeypatch.setattr(derivations_demo, "run", recording_demo(seen))
    argv = ["tour", "--only", "vanishing,derivations", "--out", str(tmp_path), "--seed", "3"]
    code, _, err = run_cli(capsys, *argv, "--size", "tiny")
    assert code == 0, err
    assert seen == [draws_of(3), draws_of(3)]


@pytest.mark.parametrize("size, expected", [("tiny", 1), ("quick", 2), ("full", 3)])
def test_pick_gives_the_value_for_the_runs_size(tmp_path, size, expected):
    assert DemoContext(out=tmp_path, size=size).pick(tiny=1, quick=2, full=3) == expected


def test_progress_bars_stay_silent_when_stderr_is_not_a_terminal(capsys, tmp_path):
    ctx = DemoContext(out=tmp_path, size="tiny")
    assert list(progress(range(3), "steps")) == [0, 1, 2]
    assert list(ctx.progress(range(3), "steps", total=3)) == [0, 1, 2]
    with ctx.training_bar(3, "LSTM") as callback:
        for step in range(3):
            callback(step, 0.5)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_graph_that_fails_to_build_leaves_no_file_behind(capsys, tmp_path, monkeypatch):
    """--out is checked for writing before the work; the check must not leave an empty
    file there when the work then fails."""
    from tinygrad_seq.demos import graph_cmd

    def broken(model, steps):
        raise RuntimeError("the model broke")

    monkeypatch.setattr(graph_cmd, "build", broken)
    target = tmp_path / "new" / "rnn.dot"
    code, _, err = run_cli(capsys, "graph", "rnn", "--out", str(target))
    assert code == 2 and "the model broke" in err, err
    assert not target.exists()


# ----------------------------------------------------------------------------- the tour


def stub_three_demos(monkeypatch) -> None:
    """vanishing skipped, bptt-graphs failed, derivations ok, all at once."""

    def missing(ctx):
        raise common.Skip("needs a part that is not there")

    def broken(ctx):
        raise RuntimeError("something broke")

    monkeypatch.setattr(vanishing, "run", missing)
    monkeypatch.setattr(graphs_demo, "run", broken)
    monkeypatch.setattr(derivations_demo, "run", lambda ctx: dict(STUB))


def test_the_tour_counts_ok_skipped_and_failed_demos_apart(capsys, tmp_path, monkeypatch):
    stub_three_demos(monkeypatch)
    only = "vanishing,bptt-graphs,derivations"
    code, _, err = run_cli(capsys, "tour", "--only", only, "--out", str(tmp_path), "--size", "tiny")
    assert code == 1, err
    (wrote,) = [line for line in err.splitlines() if line.startswith("wrote ")]
    assert "(1 ok, 1 skipped, 1 failed;" in wrote


def test_a_skipped_demo_alone_does_not_fail_the_command(capsys, tmp_path, monkeypatch):
    stub_three_demos(monkeypatch)
    code, _, err = run_cli(capsys, "vanishing", "--out", str(tmp_path), "--size", "tiny")
    assert code == 0, err
    assert "(0 ok, 1 skipped, 0 failed;" in err and "tinygrad-seq: failed" not in err


def test_the_summary_command_reruns_only_the_demos_chosen(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(vanishing, "run", lambda ctx: dict(STUB))
    monkeypatch.setattr(derivations_demo, "run", lambda ctx: dict(STUB))
    argv = ["tour", "--only", "vanishing,derivations", "--out", str(tmp_path), "--seed", "2"]
    code, _, err = run_cli(capsys, *argv, "--size", "tiny")
    assert code == 0, err
    command = json.loads((tmp_path / "summary.json").read_text())["meta"]["command"]
    assert command == (
        f"tinygrad-seq tour --only vanishing,derivations --out {shlex.quote(str(tmp_path))}"
        " --seed 2 --backend numpy --size tiny"
    )


TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: <boom>\n'


def index_of(tmp_path, demos: dict) -> str:
    summary = {"meta": {"python": "3", "numpy": "2"}, "demos": demos}
    write_index(tmp_path / "index.html", summary)
    return (tmp_path / "index.html").read_text()


def test_the_index_badges_each_demo_with_its_status(tmp_path):
    html = index_of(
        tmp_path,
        {
            "vanishing": {"status": "failed: RuntimeError: <boom>", "traceback": TRACEBACK},
            "memory": {"status": "skipped: needs a part"},
            "derivations": {"status": "ok"},
        },
    )
    assert "<span class='status failed'>failed: RuntimeError: &lt;boom&gt;</span>" in html
    assert "<span class='status skipped'>skipped: needs a part</span>" in html
    assert "<span class='status ok'>ok</span>" in html
    assert html.count("class='status ok'") == 1


def test_the_index_shows_a_failed_demos_traceback(tmp_path):
    from html import escape

    html = index_of(tmp_path, {"vanishing": {"status": "failed: boom", "traceback": TRACEBACK}})
    assert f"<pre>{escape(TRACEBACK)}</pre>" in html


def test_the_index_keeps_demos_this_version_does_not_know_after_the_others(tmp_path):
    html = index_of(
        tmp_path,
        {
            "retired-demo": {"status": "ok", "title": "An old demo", "claim": "an old claim"},
            "vanishing": {"status": "ok", "title": "Vanishing"},
        },
    )
    assert "<section id='retired-demo'><h2>An old demo" in html and "an old claim" in html
    assert html.index("<section id='vanishing'>") < html.index("<section id='retired-demo'>")
    assert "retired-demo" not in DEMOS


def test_the_index_sets_each_tables_header_apart_and_notes_only_drawings(tmp_path):
    html = index_of(
        tmp_path,
        {
            "vanishing": {"status": "ok", "figures": ["img/v.png"], "key": {"a": "1"}},
            "bptt-graphs": {"status": "ok", "figures": ["img/b.svg", "img/b.png"]},
        },
    )
    assert "<tr><th>quantity</th><th>value</th></tr><tr><td>a</td><td>1</td></tr>" in html
    vanishing, bptt = html.split("<section id='bptt-graphs'>")
    assert "click one to open it at full size" in bptt and "full size" not in vanishing


def test_a_demo_that_changes_the_default_dtype_leaves_the_next_one_float32(
    capsys, tmp_path, monkeypatch
):
    import tinygrad_seq as ts

    seen = []

    def float64_demo(ctx):
        ts.set_default_dtype("float64")
        raise RuntimeError("broke in float64")

    monkeypatch.setattr(vanishing, "run", float64_demo)
    monkeypatch.setattr(
        derivations_demo, "run", lambda ctx: seen.append(ts.get_default_dtype()) or dict(STUB)
    )
    argv = ["tour", "--only", "vanishing,derivations", "--out", str(tmp_path), "--size", "tiny"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 1 and "failed: vanishing" in err
    assert seen == [np.float32] and ts.get_default_dtype() == np.float32


def test_a_demo_named_twice_runs_once(capsys, tmp_path, monkeypatch):
    seen: list = []
    monkeypatch.setattr(vanishing, "run", recording_demo(seen))
    argv = ["tour", "--only", "vanishing, vanishing", "--out", str(tmp_path), "--size", "tiny"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert len(seen) == 1 and "(1 ok, 0 skipped, 0 failed;" in err


def test_the_summary_says_mixed_when_the_folders_demos_ran_on_other_backends(
    capsys, tmp_path, monkeypatch
):
    earlier = {"status": "ok", "size": "tiny", "seed": 0, "backend": "cupy"}
    (tmp_path / "summary.json").write_text(json.dumps({"demos": {"memory": earlier}}))
    monkeypatch.setattr(vanishing, "run", lambda ctx: dict(STUB))
    code, _, err = run_cli(capsys, "vanishing", "--out", str(tmp_path), "--size", "tiny")
    assert code == 0, err
    meta = json.loads((tmp_path / "summary.json").read_text())["meta"]
    assert meta["backend"] == "mixed (see each section)"
    assert (meta["size"], meta["seed"]) == ("tiny", 0)


def test_each_demo_is_timed_alone_and_the_tour_as_a_whole(capsys, tmp_path, monkeypatch):
    import time

    def busy(ctx):  # 0.3 s of CPU time, and of wall time
        start = time.process_time()
        while time.process_time() - start < 0.3:
            pass
        return dict(STUB)

    monkeypatch.setattr(vanishing, "run", busy)
    monkeypatch.setattr(derivations_demo, "run", lambda ctx: dict(STUB))
    argv = ["tour", "--only", "vanishing,derivations", "--out", str(tmp_path), "--size", "tiny"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    first, second = summary["demos"]["vanishing"], summary["demos"]["derivations"]
    assert first["cpu_seconds"] >= 0.3 and first["seconds"] >= 0.3
    assert second["cpu_seconds"] < 0.25  # its own CPU time, not the first demo's too
    assert summary["meta"]["seconds"] >= 0.3 and summary["meta"]["cpu_seconds"] >= 0.3


def test_the_tour_says_how_each_demo_ended_as_it_goes(capsys, tmp_path, monkeypatch):
    from contextlib import contextmanager

    from tinygrad_seq.demos import tour

    @contextmanager
    def blas():
        yield "as the test set it"

    monkeypatch.setattr(tour, "single_threaded_blas", blas)
    stub_three_demos(monkeypatch)
    only = "vanishing,bptt-graphs,derivations"
    code, _, err = run_cli(capsys, "tour", "--only", only, "--out", str(tmp_path), "--size", "tiny")
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert [line.split(" (")[0] for line in lines] == [
        "[1/3] vanishing",
        "[2/3] bptt-graphs",
        "[3/3] derivations",
    ]
    assert lines[0].endswith("s): skipped: needs a part that is not there")
    assert lines[1].endswith("s): failed: RuntimeError: something broke")
    assert lines[2].endswith("s): stub")  # an ok demo: its headline
    meta = json.loads((tmp_path / "summary.json").read_text())["meta"]
    assert meta["blas_threads"] == "as the test set it"


# ----------------------------------------------------------------------------- cli.py, derive


def fake_result(name: str, passed: bool):
    from tinygrad_seq.symbolic.checker import CheckResult

    return CheckResult(
        name=name,
        title="a stand-in identity",
        symbolic_ok=passed,
        numeric_max_error=0.0,
        seconds=0.0,
        expressions={},
    )


@pytest.fixture
def rnn_checks(monkeypatch):
    """Make `derive rnn` instant: no derivations, and check(seed) recorded; returns
    (calls, results) where `results` is what check returns (the test may change it)."""
    from tinygrad_seq import symbolic

    calls: list[dict] = []
    results = [fake_result("rnn.first", True)]

    def check(**kwargs):
        calls.append(kwargs)
        return results

    monkeypatch.setattr(symbolic.MODELS["rnn"], "derive", lambda: [])
    monkeypatch.setattr(symbolic.MODELS["rnn"], "check", check)
    return calls, results


def test_derive_passes_its_seed_to_the_checks(capsys, rnn_checks):
    calls, _ = rnn_checks
    code, out, err = run_cli(capsys, "derive", "rnn", "--seed", "2")
    assert code == 0, err
    assert calls == [{"seed": 2}] and "1/1 identities passed" in out


def test_derive_exits_1_when_a_check_fails(capsys, rnn_checks):
    _, results = rnn_checks
    results.append(fake_result("rnn.second", False))
    code, out, err = run_cli(capsys, "derive", "rnn")
    assert code == 1, err
    assert "1/2 identities passed" in out and "FAILED: rnn.second" in err


def test_a_multi_line_error_is_reported_on_one_line(capsys, monkeypatch):
    from tinygrad_seq import symbolic

    def check(seed):
        raise ValueError("the first line says what\nand the second line says more")

    monkeypatch.setattr(symbolic.MODELS["rnn"], "derive", lambda: [])
    monkeypatch.setattr(symbolic.MODELS["rnn"], "check", check)
    code, _, err = run_cli(capsys, "derive", "rnn")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-seq: error:"), err
    assert "the first line says what" in lines[0] and "second line" not in err


# ----------------------------------------------------------------------------- graph


def step_clusters(dot: str) -> list[int]:
    return [int(t) for t in re.findall(r'label="t=(\d+)(?:\\r)?"', dot)]  # (\r: from the right)


def test_graph_draws_every_step_up_to_12_and_collapses_from_13(capsys, tmp_path):
    for steps, drawn in [(12, list(range(1, 13))), (13, [1, 2, 3, 11, 12, 13])]:  # from 1
        out = tmp_path / f"rnn{steps}.dot"
        code, _, err = run_cli(capsys, "graph", "rnn", "--steps", str(steps), "--out", str(out))
        assert code == 0, err
        # (sorted: a wrapped unroll declares its lines last line first)
        assert sorted(step_clusters(out.read_text())) == drawn, steps


def test_graph_defaults_to_4_steps_of_named_symbols(capsys, tmp_path):
    default, explicit = tmp_path / "default.dot", tmp_path / "explicit.dot"
    code, _, err = run_cli(capsys, "graph", "rnn", "--out", str(default))
    assert code == 0, err
    argv = ["graph", "rnn", "--steps", "4", "--detail", "symbols", "--out", str(explicit)]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    dot = default.read_text()
    assert dot == explicit.read_text()
    assert step_clusters(dot) == [1, 2, 3, 4]
    assert 'label="matmul' not in dot  # the ops are folded into the symbols


def test_graph_passes_the_renderer_chosen_to_render_graph(capsys, tmp_path, monkeypatch):
    import tinygrad_seq.viz as viz

    seen: list[dict] = []

    def spy(graph_view, target, **kwargs):
        seen.append(kwargs)
        return str(target)

    monkeypatch.setattr(viz, "render_graph", spy)
    out = tmp_path / "rnn.dot"
    code, _, err = run_cli(capsys, "graph", "rnn", "--renderer", "wasm", "--out", str(out))
    assert code == 0, err
    assert [kw["renderer"] for kw in seen] == ["wasm"]


# ----------------------------------------------------------------------------- bench


def test_bench_forwards_seed_and_quick_and_the_runners_failure(capsys, tmp_path, monkeypatch):
    from tinygrad_seq.demos.bench_cmd import load_suite

    runner = load_suite()
    seen: list[list[str]] = []

    def main(argv, prog="python -m benchmarks"):
        seen.append(list(argv))
        return 1  # e.g. a gradient mismatch

    monkeypatch.setattr(runner, "main", main)
    argv = ["bench", "--seed", "5", "--quick", "--workloads", "W5", "--out", str(tmp_path)]
    code, _, err = run_cli(capsys, *argv)
    assert code == 1, err
    (forwarded,) = seen
    assert forwarded[forwarded.index("--seed") + 1] == "5" and "--quick" in forwarded
    assert forwarded[forwarded.index("--workloads") + 1] == "W5"


@pytest.mark.numpy_only
def test_graph_says_which_steps_it_summarised(capsys, tmp_path):
    out = str(tmp_path / "g.dot")
    for argv, said in (
        # numbered as the picture numbers its steps, from 1 (the scopes t=3..16)
        (["rnn", "--steps", "20"], "(rnn t=4..17 summarised)"),
        (["rnn", "--steps", "8", "--collapse", "2"], "(rnn t=3..6 summarised)"),
        (["rnn", "--steps", "7", "--collapse", "3"], None),  # one hidden step: drawn
        (["rnn", "--steps", "20", "--collapse", "0"], None),
        (["attention", "--steps", "9", "--collapse", "3"], "(encoder t=4..6, decoder t=4..6"),
        (["transformer", "--steps", "20"], None),  # positions, not steps: nothing hidden
    ):
        code, printed, err = run_cli(capsys, "graph", *argv, "--out", out)
        assert code == 0, err
        assert "recorded nodes" in printed
        assert (said in printed) if said else ("summarised" not in printed), (argv, printed)
        summary_drawn = "steps …" in Path(out).read_text()
        assert summary_drawn == (said is not None), argv


def test_graph_help_says_what_each_model_is(capsys):
    code, printed, _ = run_cli(capsys, "graph", "--help")
    assert code == 0
    flat = " ".join(printed.split())
    assert "attention the same seq2seq with additive (Bahdanau) attention" in flat
    assert "the tokens of the Transformer" in flat
    # which encoder-decoders --wrap wraps, and which keep their two rows
    assert "seq2seq's encoder and decoder wrap together" in flat
    assert "attention's, and seq2seq's with collapsed steps" in flat


def test_the_closing_line_says_when_the_page_keeps_earlier_runs_demos(
    capsys, tmp_path, monkeypatch
):
    """A demo run into a folder that holds a tour's results counts its own demo (1 ok) and
    says the page shows the others too, so "1 ok" does not read as all the page holds."""
    stub_three_demos(monkeypatch)
    code, _, err = run_cli(capsys, "derivations", "--out", str(tmp_path), "--size", "tiny")
    assert code == 0, err
    assert "(1 ok, 0 skipped, 0 failed;" in err and "earlier runs" not in err
    code, _, err = run_cli(capsys, "vanishing", "--out", str(tmp_path), "--size", "tiny")
    assert code == 0, err
    (wrote,) = [line for line in err.splitlines() if line.startswith("wrote ")]
    assert "(0 ok, 1 skipped, 0 failed;" in wrote
    assert "the page also shows 1 demo(s) from earlier runs in it)" in wrote
