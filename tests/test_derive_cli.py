"""`tinygrad-seq derive`: prints each identity and both checks; --latex writes Markdown;
a bad name is a one-line error with exit code 2."""

from __future__ import annotations

import pytest
from tinygrad_seq.demos.cli import main

from tests.symbolic.test_latex_prose import assert_fits, assert_typesets


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(["derive", *args])
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.numpy_only
def test_derive_one_model_with_latex(capsys, tmp_path):
    page = tmp_path / "gru.md"
    code, out, err = run(capsys, "gru", "--latex", str(page), "--seed", "2")
    assert code == 0, err
    assert "gru.direct_term" in out and "gru.step_jacobian" in out
    assert "gru.parameter_gradients" in out
    assert "derived by SymPy" in out and "symbolic: ok" in out and "numeric:  ok" in out
    assert "3/3 identities passed" in out
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Gradient identities") and "$$" in text and "## GRU" in text


@pytest.mark.numpy_only
def test_derive_everything(capsys, tmp_path):
    page = tmp_path / "all.md"
    code, out, err = run(capsys, "--latex", str(page))
    assert code == 0, err
    for model in ("rnn.", "lstm.", "gru.", "attention.", "transformer."):
        assert f"[PASS] {model}" in out
    assert "[FAIL]" not in out
    assert "rnn.vanishing_bound" in out and "(0.9·0.3)^19" in out
    assert "∂hₜ/∂hₜ₋₁" in out and "⊙" in out  # the terminal keeps the seed's symbols
    # the page goes through pandoc + pdflatex as it is: ASCII, every formula balanced
    text = page.read_text(encoding="utf-8")
    assert_typesets(text)
    assert_fits(text)  # the matrices of SymPy's gradients broken into rows a page holds
    assert r"### RNN: $\partial h_{t}/\partial h_{t-1} = " in text
    assert r"$\|\partial h_T/\partial h_{1}\| \leq " in text  # the bound's heading


def test_bad_name_is_one_line_exit_2(capsys):
    code, out, err = run(capsys, "mlp")
    assert code == 2
    assert err.count("\n") == 1 and "mlp" in err and "rnn" in err and "transformer" in err
    assert "Traceback" not in err


def test_latex_into_a_missing_folder_makes_it(capsys, tmp_path):
    code, _, err = run(capsys, "rnn", "--latex", str(tmp_path / "missing" / "x.md"))
    assert code == 0, err
    assert r"\partial" in (tmp_path / "missing" / "x.md").read_text(encoding="utf-8")


def test_latex_where_no_file_can_be_written_is_one_line_exit_2_before_any_work(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = run(capsys, "rnn", "--latex", str(blocker / "x.md"))
    assert code == 2 and err.count("\n") == 1 and "--latex" in err
    assert "Traceback" not in err and out == ""  # no derivation was run first


def test_the_commands_model_names_are_the_packages():
    from tinygrad_seq.demos import derive_cmd

    from tinygrad_seq import symbolic

    assert derive_cmd.MODELS == tuple(symbolic.MODELS)
    assert set(derive_cmd.TITLES) == set(symbolic.MODELS)


@pytest.mark.numpy_only
def test_a_model_name_in_capitals_is_taken_as_the_seed_writes_it(capsys):
    code, out, err = run(capsys, "RNN")  # the seed writes RNN, LSTM, GRU
    assert code == 0, err
    assert "[PASS] rnn." in out and "[FAIL]" not in out


@pytest.mark.parametrize("name", ["slides.tex", "slides.TEX", "slides.pdf"])
def test_latex_into_a_tex_or_pdf_file_is_refused_before_any_work(capsys, tmp_path, name):
    """--latex writes Markdown (with LaTeX math) for pandoc: a .tex file of Markdown would
    make pdflatex fail on its first line, and a .pdf file of it opens as no PDF at all."""
    code, out, err = run(capsys, "rnn", "--latex", str(tmp_path / name))
    assert code == 2 and err.count("\n") == 1 and "--latex" in err, err
    assert "Markdown" in err and ".md" in err and "pandoc" in err
    assert out == "" and not (tmp_path / name).exists()
    # the page to write in the folder given, not in the current one
    page = tmp_path / "slides.md"
    assert f"write it to '{page}', then `pandoc {page} -o {tmp_path / 'slides.pdf'}`" in err


def test_all_names_every_model_as_the_help_says(capsys, monkeypatch):
    """The help says "(default: all)", so `derive all` is what a reader types."""
    from tinygrad_seq import symbolic

    seen = []
    for model, module in symbolic.MODELS.items():
        monkeypatch.setattr(module, "derive", lambda: [])
        monkeypatch.setattr(module, "check", lambda seed, model=model: seen.append(model) or [])
    code, out, err = run(capsys, "all")
    assert code == 0, err
    assert seen == list(symbolic.MODELS)
    code, _, err = run(capsys, "ALL")
    assert code == 0, err
