"""The README's Python examples run as written (the learner's first contact must work)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tinygrad_seq as ts

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    text = README.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 3


@pytest.mark.numpy_only
@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    code = python_blocks()[index]
    if "self." in code:  # an excerpt of a module, shown for reading
        pytest.skip("excerpt of nn/lstm.py; checked against the file below")
    if "cupy" in code and ts.backend.unavailable_reason("cupy"):
        pytest.skip(f"needs CuPy: {ts.backend.unavailable_reason('cupy')}")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    namespace: dict = {}
    exec(compile(code, f"README block {index}", "exec"), namespace)


def test_lstm_excerpt_matches_the_source():
    excerpt = next(b for b in python_blocks() if "f_t = (hx @ W_f_T" in b)
    source = (README.parent / "tinygrad_seq" / "nn" / "lstm.py").read_text()
    for line in excerpt.strip().splitlines():
        assert line.strip() in source, line
