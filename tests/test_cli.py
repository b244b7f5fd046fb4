"""The `tinygrad-seq` command line: every demo is a subcommand with the shared options, and
bad arguments get a one-line error and exit code 2, never a traceback."""

from __future__ import annotations

import errno
import json
import os
import shlex
from pathlib import Path

import pytest
from tinygrad_seq.demos.cli import COMMANDS, main
from tinygrad_seq.demos.tour import DEMOS

pytestmark = pytest.mark.numpy_only  # the command line itself; the backends are tested elsewhere


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `tinygrad-seq argv...` in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
        raise SystemExit(0)  # main returned normally
    out = capsys.readouterr()
    return exit_info.value.code or 0, out.out, out.err


def test_every_demo_is_a_subcommand_of_the_cli():
    for name, spec in DEMOS.items():
        assert name in COMMANDS, name
        module, attr, _ = COMMANDS[name]
        assert module == f"tinygrad_seq.demos.{spec.module}" and attr == "command"


def test_help_lists_the_tour_and_every_demo(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for name in ["tour", *DEMOS]:
        assert name in out


@pytest.mark.parametrize("name", ["tour", *DEMOS])
def test_each_command_takes_seed_backend_out_and_quick(capsys, name):
    code, out, _ = run_cli(capsys, name, "--help")
    assert code == 0
    for option in ("--seed", "--backend", "--out", "--quick"):
        assert option in out, (name, option)
    assert "--size" not in out  # the tests' sizing knob stays hidden


@pytest.mark.parametrize("name", ["tour", *DEMOS])
def test_quick_says_what_it_does_for_each_command(capsys, name):
    code, out, _ = run_cli(capsys, name, "--help")
    words = " ".join(out.split())  # (click wraps the help to the terminal's width)
    assert code == 0
    if name == "derivations":  # no size to shrink: the help must not promise one
        assert "Small sizes" not in words
        assert "the derivations are the same either way" in words
        assert "--quick only marks the run as quick in summary.json" in words
    else:
        assert "--quick Small sizes and short runs" in words


def test_the_derivations_demo_reads_no_run_size():
    """What its --quick help says: the demo itself does the same work at every size."""
    import inspect

    from tinygrad_seq.demos import derivations_demo

    source = inspect.getsource(derivations_demo)
    assert "ctx.size" not in source and "ctx.pick" not in source


@pytest.mark.parametrize(
    "argv, words",
    [
        (["tour", "--size", "huge"], ["--size", "huge"]),
        (["tour", "--only", "vanishing,nope"], ["nope"]),
        (["tour", "--only", ","], ["--only", "names no demo"]),
        (["bench", "--out", "/proc/none/b", "--quick", "--workloads", "W5"], ["/proc/none"]),
        (["vanishing", "--seed", "abc"], ["--seed", "abc"]),
        (["memory", "--backend", "tpu"], ["--backend", "tpu"]),
        (["complexity", "--frobnicate"], ["--frobnicate"]),
        (["no-such-demo"], ["no-such-demo"]),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(capsys, argv, words):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tinygrad-seq: error:")
    assert "Traceback" not in err + out
    for w in words:
        assert w in lines[0]


@pytest.mark.parametrize(
    "argv, wanted",
    [
        (["--only", "vanishing", "memory"], "--only vanishing,memory"),
        (["--only", "vanishing,", "memory,alignments"], "--only vanishing,memory,alignments"),
        (["vanishing", "memory"], "--only vanishing,memory"),
    ],
)
def test_tour_demo_names_after_a_space_are_answered_with_the_only_to_write(
    capsys, tmp_path, argv, wanted
):
    code, _, err = run_cli(capsys, "tour", *argv, "--out", str(tmp_path / "t"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "unexpected extra argument" in err and err.strip().endswith(wanted), err
    if argv[0] == "--only":
        assert "--only takes one comma-separated list" in err
    assert not (tmp_path / "t").exists()  # refused before any work
    # other leftovers keep click's own words, with no --only to copy
    code, _, err = run_cli(capsys, "tour", "--only", "vanishing", "memory", "nope")
    assert code == 2 and "Got unexpected extra arguments (memory nope)" in err
    assert "--only vanishing" not in err


@pytest.mark.parametrize(
    "argv, words, wanted",
    [
        (["--only", "vanishing", "memory"], "argument (memory)", "--only vanishing,memory"),
        (["vanishing,", "memory"], "arguments (vanishing, memory)", "--only vanishing,memory"),
        (["--only", "vanishing", "vanishing"], "argument (vanishing)", "--only vanishing"),
    ],
    ids=["one-left-over", "a-trailing-comma", "named-twice"],
)
def test_tour_leftover_demo_names_are_counted_and_listed_once(capsys, argv, words, wanted):
    code, _, err = run_cli(capsys, "tour", *argv, "--out", "unused")
    assert code == 2 and f"Got unexpected extra {words}" in err, err
    assert err.strip().endswith(f": {wanted}"), err


def test_tour_leftovers_without_a_demo_name_get_no_only_to_write(capsys):
    code, _, err = run_cli(capsys, "tour", ",", "--out", "unused")
    assert code == 2 and "Got unexpected extra argument (,)" in err, err
    assert "--only" not in err


def test_tour_leftovers_are_not_refused_while_completing_the_command_line():
    """Shell completion parses resiliently (click's resilient_parsing): half-typed
    arguments are no error there, as for any click command."""
    from tinygrad_seq.demos.tour import tour

    ctx = tour.make_context("tour", ["--only", "vanishing", "memory"], resilient_parsing=True)
    assert ctx.params["only"] == "vanishing"


def test_the_bare_command_shows_the_help(capsys):
    code, out, err = run_cli(capsys)
    assert code == 0 and err == ""
    assert "tinygrad-seq tour --out tour-out --quick" in out  # on one line, copyable
    assert all(name in out for name in COMMANDS)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["vanishing", "--seed", "-1"], ["--seed", "-1"]),
        (["graph", "rnn", "--out", "g.pdf"], ["--out", "g.pdf", ".svg"]),
        (["graph"], ["Missing argument 'MODEL'", "mlp, rnn"]),  # click lists them a line each
        (["graph", "rnn", "--format", "png", "--out", "x.svg"], ["ends in .svg", "--format"]),
        (["graph", "rnn", "--format", "dot", "--out", ""], ["--out", "names no file"]),
        (["graph", "rnn", "--out", ".svg"], ["--out", "a suffix without a name", "rnn.svg"]),
        (["vanishing", "--quick", "--out", ""], ["--out", "names no folder"]),
        (["bench", "--budget", "nan"], ["--budget"]),
        (["bench", "--workloads", "W4-fused", "--engines", "numpy-floor"], ["nothing to time"]),
    ],
)
def test_more_bad_arguments_give_one_line_and_exit_2(capsys, argv, words):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out and all(w in err for w in words)


def test_graph_out_where_no_file_can_be_written_is_one_line_exit_2(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = run_cli(capsys, "graph", "rnn", "--out", str(blocker / "g.svg"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--out" in err and "Traceback" not in err + out
    assert f"{str(blocker)!r} is a file, not a folder" in err  # (mkdir said "File exists")
    code, out, err = run_cli(capsys, "derive", "rnn", "--latex", "")
    assert code == 2 and "--latex" in err and "an empty path" in err, err


def test_an_unusable_backend_in_the_environment_does_not_break_the_command_line():
    import subprocess
    import sys

    import tinygrad_seq as ts

    if ts.backend.unavailable_reason("cupy") is None:
        pytest.skip("CuPy works here")
    env = {**os.environ, "TINYGRAD_SEQ_BACKEND": "cupy"}

    def cli(*argv: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "tinygrad_seq.demos.cli", *argv]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert cli("--help").returncode == 0
    failed = cli("derive", "rnn")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1 and "cupy" in failed.stderr.lower()
    assert cli("derive", "rnn", "--backend", "numpy").returncode == 0


def test_an_unusable_backend_is_a_one_line_error(capsys):
    import tinygrad_seq as ts

    if ts.backend.unavailable_reason("cupy") is None:
        pytest.skip("CuPy works here")
    code, out, err = run_cli(capsys, "vanishing", "--backend", "cupy", "--size", "tiny")
    assert code == 2 and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1 and "cupy" in err.lower()


def test_out_that_is_a_file_is_a_usage_error(capsys, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    code, _, err = run_cli(capsys, "vanishing", "--out", str(target), "--size", "tiny")
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_demo_subcommand_writes_its_results_and_merges_into_the_folder(capsys, tmp_path):
    out = tmp_path / "tour"
    code, _, err = run_cli(capsys, "derivations", "--out", str(out), "--size", "tiny")
    assert code == 0, err
    code, _, err = run_cli(capsys, "vanishing", "--out", str(out), "--size", "tiny", "--seed", "3")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["demos"]) == {"derivations", "vanishing"}  # the second run added one
    assert summary["demos"]["vanishing"]["seed"] == 3
    html = (out / "index.html").read_text()
    for entry in summary["demos"].values():
        assert entry["status"] == "ok"
        for fig in entry["figures"]:
            assert (out / fig).stat().st_size > 1000
            assert fig in html


def stub_vanishing(monkeypatch) -> None:
    """Make the vanishing demo instant: these tests are about the files around it."""
    from tinygrad_seq.demos import vanishing

    result = {"headline": "stub", "measured": "stub", "figures": []}
    monkeypatch.setattr(vanishing, "run", lambda ctx: result)


@pytest.mark.parametrize(
    "size_argv, size_options",
    [(["--size", "tiny"], " --size tiny"), (["--quick"], " --quick"), ([], "")],
)
def test_the_index_says_how_to_rerun_a_demo_as_it_ran(
    capsys, tmp_path, monkeypatch, size_argv, size_options
):
    stub_vanishing(monkeypatch)
    argv = ["vanishing", "--out", str(tmp_path), "--seed", "3", "--backend", "numpy"]
    code, _, err = run_cli(capsys, *argv, *size_argv)
    assert code == 0, err
    hint = f"tinygrad-seq vanishing --out DIR --seed 3 --backend numpy{size_options}"
    assert f"<code>{hint}</code>" in (tmp_path / "index.html").read_text()
    command = json.loads((tmp_path / "summary.json").read_text())["meta"]["command"]
    assert command == hint.replace("DIR", shlex.quote(str(tmp_path)))


def test_a_summary_that_cannot_be_read_is_moved_aside_with_a_warning(capsys, tmp_path, monkeypatch):
    stub_vanishing(monkeypatch)
    broken = '{"demos": {"memory": {"status": "ok"}'  # cut short: earlier results in it
    (tmp_path / "summary.json").write_text(broken)
    (tmp_path / "summary.json.bad").write_text("an earlier one")
    code, _, err = run_cli(capsys, "vanishing", "--out", str(tmp_path), "--size", "tiny")
    assert code == 0, err
    aside = tmp_path / "summary.json.bad2"  # the earlier one is kept too
    assert aside.read_text() == broken
    assert (tmp_path / "summary.json.bad").read_text() == "an earlier one"
    (warning,) = [line for line in err.splitlines() if "warning" in line]
    assert "could not be read" in warning and str(aside) in warning
    assert list(json.loads((tmp_path / "summary.json").read_text())["demos"]) == ["vanishing"]


def test_summary_entries_that_are_not_records_are_left_out_with_a_warning(
    capsys, tmp_path, monkeypatch
):
    stub_vanishing(monkeypatch)
    kept = {"status": "ok", "title": "t", "claim": "c", "size": "tiny", "seed": 0}
    summary = {"demos": {"memory": "oops", "derivations": kept, "alignments": [1, 2]}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    code, out, err = run_cli(capsys, "vanishing", "--out", str(tmp_path), "--size", "tiny")
    assert code == 0 and "Traceback" not in err + out, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 2 and "'memory'" in warnings[0] and "'alignments'" in warnings[1]
    demos = json.loads((tmp_path / "summary.json").read_text())["demos"]
    assert list(demos) == ["derivations", "vanishing"] and demos["derivations"] == kept


@pytest.mark.parametrize("name", ["summary.json", "index.html"])
def test_summary_and_index_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch, name):
    from tinygrad_seq.demos.common import write_json
    from tinygrad_seq.demos.tour import write_index

    def write(summary):
        (write_json if name == "summary.json" else write_index)(tmp_path / name, summary)

    write({"demos": {}})
    before = (tmp_path / name).read_text()

    def disk_full(path, text, *args, **kwargs):  # half the text written, then the error
        with open(path, "w") as f:
            f.write(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError):
        write({"demos": {"memory": {"status": "ok", "measured": "x" * 1000}}})
    monkeypatch.undo()
    assert (tmp_path / name).read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_a_missing_part_skips_a_demo_and_a_broken_demo_fails_without_stopping_the_tour(
    capsys, tmp_path, monkeypatch
):
    from tinygrad_seq.demos import common, graphs_demo, vanishing

    def missing(ctx):
        raise common.Skip("needs tinygrad_seq.nn.Something, which is not there yet")

    def broken(ctx):
        raise RuntimeError("something broke")

    monkeypatch.setattr(vanishing, "run", missing)
    monkeypatch.setattr(graphs_demo, "run", broken)
    code, _, err = run_cli(
        capsys,
        "tour",
        "--only",
        "vanishing,bptt-graphs,derivations",
        "--out",
        str(tmp_path),
        "--size",
        "tiny",
    )
    assert code == 1 and "bptt-graphs" in err.splitlines()[-1]
    demos = json.loads((tmp_path / "summary.json").read_text())["demos"]
    assert demos["vanishing"]["status"].startswith("skipped: needs tinygrad_seq.nn.Something")
    assert demos["bptt-graphs"]["status"] == "failed: RuntimeError: something broke"
    assert "Traceback" in demos["bptt-graphs"]["traceback"]
    assert demos["derivations"]["status"] == "ok"  # the tour went on
    html = (tmp_path / "index.html").read_text()
    assert "skipped: needs" in html and "failed: RuntimeError" in html


def test_graph_writes_to_an_upper_case_suffix(capsys, tmp_path):
    out = tmp_path / "rnn.SVG"
    code, stdout, err = run_cli(capsys, "graph", "rnn", "--steps", "2", "--out", str(out))
    assert code == 0, err
    assert out.is_file() and stdout.startswith(f"wrote {out}")


def test_graph_format_adds_its_suffix_and_the_file_written_is_the_one_checked(
    capsys, tmp_path, monkeypatch
):
    from tinygrad_seq.demos import graph_cmd

    argv = ["graph", "rnn", "--steps", "2", "--format", "dot", "--out", str(tmp_path / "g.txt")]
    code, stdout, err = run_cli(capsys, *argv)
    written = tmp_path / "g.txt.dot"
    assert code == 0 and stdout.startswith(f"wrote {written}:"), err
    assert written.read_text().startswith("digraph") and not (tmp_path / "g.txt").exists()
    # g.txt could be written, g.txt.dot cannot: the check before any work must say so
    written.unlink()
    written.mkdir()
    monkeypatch.setattr(graph_cmd, "build", lambda *_: pytest.fail("built before the check"))
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and str(written) in err and "is a folder" in err, err
    assert len(err.strip().splitlines()) == 1


def test_an_img_folder_that_is_a_file_is_named(capsys, tmp_path):
    (tmp_path / "img").write_text("")
    code, out, err = run_cli(capsys, "complexity", "--quick", "--out", str(tmp_path))
    assert code == 2 and str(tmp_path / "img") in err, err


def test_a_folder_where_index_html_goes_is_named(capsys, tmp_path):
    name = "index.html"
    (tmp_path / name).mkdir()
    code, out, err = run_cli(capsys, "vanishing", "--size", "tiny", "--out", str(tmp_path))
    assert code == 2 and f"cannot use {str(tmp_path / name)!r}: a folder is in the way" in err
    assert ".tmp" not in err and not list(tmp_path.glob(".*.tmp"))  # (not the hidden file)


@pytest.mark.parametrize("argv", [["graph", "rnn"], ["derive", "rnn"], ["tour", "--quick"]])
def test_a_bad_backend_in_the_environment_is_named_as_the_environment_variable(
    capsys, monkeypatch, argv
):
    """No --backend was passed, so the error must not blame --backend."""
    monkeypatch.setenv("TINYGRAD_SEQ_BACKEND", "foo")
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-seq: error:"), err
    assert "TINYGRAD_SEQ_BACKEND" in lines[0] and "'foo'" in lines[0]
    assert "--backend'" not in lines[0]  # not "Invalid value for '--backend'"
    code, _, err = run_cli(capsys, *argv[:2], "--backend", "bar")  # a bad --backend still is
    assert code == 2 and "'--backend'" in err and "TINYGRAD_SEQ_BACKEND" not in err


def test_an_unusable_backend_from_the_environment_names_the_variable(capsys, monkeypatch):
    import tinygrad_seq as ts

    if ts.backend.unavailable_reason("cupy") is None:
        pytest.skip("CuPy works here")
    monkeypatch.setenv("TINYGRAD_SEQ_BACKEND", "cupy")
    code, out, err = run_cli(capsys, "derive", "rnn")
    assert code == 2 and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1 and "TINYGRAD_SEQ_BACKEND='cupy'" in err


def test_gru_vs_lstm_alone_does_not_claim_the_memory_demos_runs(capsys, tmp_path):
    """Run on its own, gru-vs-lstm trains its own models: its text must not say they are the
    memory demo's runs (the tour, where they are, is checked in test_tour)."""
    code, _, err = run_cli(capsys, "gru-vs-lstm", "--out", str(tmp_path), "--size", "tiny")
    assert code == 0, err
    entry = json.loads((tmp_path / "summary.json").read_text())["demos"]["gru-vs-lstm"]
    assert "whose runs these are" not in entry["measured"]
    assert "trained here" in entry["measured"]
    assert entry["numbers"]["runs_reused_from_memory_demo"] == 0


def test_version_says_whether_the_compiled_helpers_are_in_use():
    from click.testing import CliRunner
    from tinygrad_seq.demos.cli import cli

    from tinygrad_seq import _native

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("tinygrad-seq ")
    assert _native.status() in result.output


def test_graph_says_when_a_png_was_scaled_down_and_points_to_the_svg(capsys, tmp_path, monkeypatch):
    from tinygrad_seq.viz import graph_render

    argv = ["graph", "rnn", "--steps", "2", "--renderer", "wasm", "--out"]
    code, stdout, err = run_cli(capsys, *argv, str(tmp_path / "full.png"))
    assert code == 0, err
    full_width = int.from_bytes((tmp_path / "full.png").read_bytes()[16:20], "big")
    assert "scaled down" not in stdout  # a small graph: drawn at full size
    monkeypatch.setattr(graph_render, "PNG_MAX_PIXELS", full_width // 2)
    code, stdout, err = run_cli(capsys, *argv, str(tmp_path / "small.png"))
    assert code == 0, err
    small = (tmp_path / "small.png").read_bytes()
    assert max(int.from_bytes(small[16:20], "big"), int.from_bytes(small[20:24], "big")) <= (
        full_width // 2 + 1
    )
    assert f"scaled down to {full_width // 2} pixels" in stdout
    # the SVG to ask for sits where the PNG went, not in the working folder
    assert f"--out {tmp_path / 'small.svg'} keeps" in stdout


@pytest.mark.numpy_only
def test_graph_takes_the_model_name_as_the_seed_writes_it(capsys, tmp_path):
    out = tmp_path / "g.dot"
    code, stdout, err = run_cli(capsys, "graph", "LSTM", "--steps", "2", "--out", str(out))
    assert code == 0, err
    assert "C_t" in out.read_text()  # the LSTM's, not another model's


def test_help_lists_every_command_with_its_line(capsys):
    import re

    code, out, _ = run_cli(capsys, "--help")
    commands = out.split("Commands:")[1]
    for name, (_, _, help_) in COMMANDS.items():  # ("tour" is in the usage text too)
        assert re.search(rf"^  {name} +{re.escape(help_[:20])}", commands, re.M), name


@pytest.mark.parametrize(
    "error, code, says",
    [
        (KeyboardInterrupt(), 1, "tinygrad-seq: aborted"),  # click makes it an Abort
        (TypeError("fn must be a Tensor\nmore"), 2, "tinygrad-seq: error: fn must be a Tensor"),
    ],
)
def test_an_interrupt_and_a_library_type_error_end_without_a_traceback(
    capsys, monkeypatch, error, code, says
):
    from tinygrad_seq.demos import common

    def fail(seed, backend):
        raise error

    monkeypatch.setattr(common, "setup", fail)
    monkeypatch.delenv("TINYGRAD_SEQ_DEBUG", raising=False)
    got, out, err = run_cli(capsys, "derive", "rnn")
    assert got == code and "Traceback" not in err + out
    assert err.strip().splitlines()[-1].startswith(says)


def test_no_grads_draws_the_graph_without_gradient_norms(capsys, tmp_path):
    drawn = {}
    for flags in ([], ["--no-grads"]):
        path = tmp_path / f"g{len(flags)}.dot"
        argv = ["graph", "rnn", "--format", "dot", "--out", str(path), *flags]
        code, _, err = run_cli(capsys, *argv)
        assert code == 0, err
        drawn[bool(flags)] = path.read_text(encoding="utf-8")
    assert "‖g‖" in drawn[False] and "log10 of the gradient norm" in drawn[False]
    assert "‖g‖" not in drawn[True] and "gradient norm" not in drawn[True]


@pytest.mark.parametrize(
    "argv, option, kind",
    [
        (["vanishing", "--seed", "abc"], "--seed", "integer"),
        (["graph", "rnn", "--steps", "3.5"], "--steps", "integer"),
        (["graph", "rnn", "--collapse", "x"], "--collapse", "integer"),
        (["bench", "--rounds", "two"], "--rounds", "integer"),
        (["bench", "--budget", "abc"], "--budget", "number"),
    ],
)
def test_a_number_option_given_no_number_asks_for_a_number_not_a_range(capsys, argv, option, kind):
    """click's ranged types call themselves "integer range": a value that is no number was
    answered "'abc' is not a valid integer range", as if a range (1-5?) were wanted."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert option in err and f"is not a valid {kind}." in err and "range" not in err, err
    code, out, _ = run_cli(capsys, argv[0], "--help")
    assert "INTEGER RANGE" not in out and "FLOAT RANGE" not in out
