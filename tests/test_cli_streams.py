"""The command line and its output streams: a reader that leaves early (`| head`) and a
terminal that cannot show the math's characters (cp1252, as on Windows)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.numpy_only  # about the process's streams, not the arrays


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "tinygrad_seq.demos.cli", *argv]


def test_derive_piped_into_head_still_writes_its_latex_page(tmp_path):
    page = tmp_path / "rnn.md"
    with subprocess.Popen(
        _cli("derive", "rnn", "--latex", str(page)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    ) as reader:
        first = reader.stdout.readline()
        reader.stdout.close()  # the reader goes away, as `head -1` does
        err = reader.stderr.read().decode()
        code = reader.wait(timeout=300)
    assert b"Vanilla RNN" in first
    assert code == 0 and "Traceback" not in err and "Broken pipe" not in err, err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Gradient identities") and "rnn.vanishing_bound" in text


def test_an_encoding_without_the_math_characters_says_how_to_fix_it():
    done = subprocess.run(
        _cli("derive", "rnn"),
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "cp1252"},
        timeout=300,
    )
    err = done.stderr.decode("cp1252")
    assert done.returncode == 2 and "Traceback" not in err
    assert "(cp1252) cannot write" in err and "PYTHONIOENCODING=utf-8" in err


def test_any_command_whose_reader_left_before_it_wrote_stops_quietly(tmp_path):
    out = str(tmp_path / "g.dot")
    with subprocess.Popen(
        _cli("graph", "rnn", "--out", out), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as reader:
        reader.stdout.close()  # gone before the command starts writing (its imports take long)
        err = reader.stderr.read().decode()
        code = reader.wait(timeout=300)
    assert code == 1 and err == "", err  # (click's own handling of a closed pipe)
    assert (tmp_path / "g.dot").exists()  # the work was done; only its report went nowhere
