"""The printout's Unicode prose as ASCII Markdown for pandoc + pdflatex (derive --latex)."""

from __future__ import annotations

import re

import pytest

from tinygrad_seq.symbolic import rnn, transformer
from tinygrad_seq.symbolic.latex_prose import math, prose


def markdown_math(page: str) -> tuple[list[str], list[str], list[str]]:
    """(display blocks, inline formulas, text outside math) of a Markdown page, read as
    pandoc reads it: $$ on lines of their own, $...$ within a line, \\$ a dollar sign,
    `...` code. Fails on an unclosed $$ block or an odd number of $ in a line."""
    display, inline, outside, block = [], [], [], None
    for number, line in enumerate(page.split("\n"), 1):
        if line == "$$":
            if block is None:
                block = []
            else:
                display.append("\n".join(block))
                block = None
            continue
        if block is not None:
            block.append(line)
            continue
        rest = re.sub(r"`[^`]*`", "", line.replace("\\\\", "").replace("\\$", ""))
        parts = rest.split("$")
        assert len(parts) % 2 == 1, f"line {number}: an unclosed $: {line}"
        inline += parts[1::2]
        outside += parts[0::2]
    assert block is None, "an unclosed $$ block"
    return display, inline, outside


def balanced(tex: str) -> bool:
    """Braces nest, every \\left has its \\right and every \\begin{x} its \\end{x}."""
    depth = 0
    for c in tex.replace("\\{", "").replace("\\}", ""):
        depth += (c == "{") - (c == "}")
        if depth < 0:
            return False
    begins = re.findall(r"\\begin\{(\w+)\}", tex)
    return (
        depth == 0
        and tex.count("\\left") == tex.count("\\right")
        and begins == re.findall(r"\\end\{(\w+)\}", tex)
    )


# a display row's width in glyphs (commands one glyph, sizing and layout none), over which it
# runs off a page: pdflatex does not break display math
DISPLAY_ROW_GLYPHS = 90


def glyphs(row: str) -> int:
    """About how many glyphs a row of display LaTeX sets (a fraction counted at full length)."""
    text = re.sub(
        r"\\(left|right|begin\{\w+\}|end\{\w+\}|operatorname|mathrm|text|textstyle|quad|,)",
        "",
        row,
    )
    return len(re.sub(r"[{}_^&\s]", "", re.sub(r"\\[A-Za-z]+", "x", text)))


def assert_fits(page: str) -> None:
    """No row of display math (a line, or a row of an aligned block) wider than
    DISPLAY_ROW_GLYPHS."""
    display, _, _ = markdown_math(page)
    for tex in display:
        for row in tex.split("\\\\"):
            assert glyphs(row) <= DISPLAY_ROW_GLYPHS, f"{glyphs(row)} glyphs: {row}"


def assert_typesets(page: str) -> None:
    """What pandoc + pdflatex need of a page: ASCII throughout (pdflatex has no glyph for
    ₜ, ⊙, σ, ...), and every formula closed and balanced, an inline one neither starting
    nor ending with a space (else pandoc reads its $ as a dollar sign)."""
    bad = sorted({c for c in page if not c.isascii()})
    assert not bad, f"not ASCII: {''.join(bad)}"
    display, inline, _ = markdown_math(page)
    for tex in display + inline:
        assert balanced(tex), tex
    for tex in inline:
        assert tex and tex == tex.strip(), repr(tex)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "RNN: ∂hₜ/∂hₜ₋₁ = diag(1 − hₜ²) W_hh",
            r"RNN: $\partial h_{t}/\partial h_{t-1} = \operatorname{diag}(1 - h_{t}^{2}) W_{hh}$",
        ),
        ("tanh'(x) = 1 − tanh²(x)", r"$\tanh'(x) = 1 - \tanh^{2}(x)$"),
        ("(1 − hₜ,ᵢ²)·W_hh,ᵢⱼ: row i", r"$(1 - h_{t,i}^{2})\cdot W_{hh,ij}$: row i"),
        ("C̃ₜ and h̄ₜ₋₁", r"$\tilde{C}_{t}$ and $\bar{h}_{t-1}$"),
        ("softmax(QKᵀ/√d_k)V", r"$\operatorname{softmax}(QK^{\top}/\sqrt{d_k})V$"),
        ("‖W_hh‖^(T−1) (T = 20)", r"$\|W_{hh}\|^{(T-1)}$ (T = 20)"),
        ("prints ≈ 0.15 × 10⁻¹⁰ = 1.5e-11", r"prints $\approx 0.15 \times 10^{-10}$ = 1.5e-11"),
        # a list in brackets stays one formula; a bracket closed in the text stays text
        (
            r"∂(hₜ, Cₜ)/∂(hₜ₋₁, Cₜ₋₁), every path",
            r"$\partial(h_{t}, C_{t})/\partial(h_{t-1}, C_{t-1})$, every path",
        ),
        (
            "sums to 0 (Σᵢ αᵢ = 1 cannot change)",
            r"sums to 0 ($\Sigma_{i} \alpha_{i} = 1$ cannot change)",
        ),
        ("is (p − one-hot)/N", "is (p - one-hot)/N"),
        ("(hₜ₋₁ held fixed)", r"($h_{t-1}$ held fixed)"),
        # quotes and the punctuation after a formula are text; a prime is math
        ("the seed's 'W_hh ⊙ tanh'(·)' is", r"the seed's '$W_{hh} \odot \tanh'(\cdot)$' is"),
        ("ε is 10⁻⁵, exactly.", r"$\epsilon$ is $10^{-5}$, exactly."),
        # y_<t, head_i, an ellipsis in a list and a bare tanh' are math too
        (
            "p(y_t | y_<t, x) = softmax(W_o h_t^dec)",
            r"$p(y_t | y_{<t}, x) = \operatorname{softmax}(W_o h_t^{dec})$",
        ),
        (
            "C = Concat(head_1, ..., head_h) W^O, head_i",
            r"$C = \operatorname{Concat}(\mathrm{head}_1, \ldots, \mathrm{head}_h) W^O$, "
            r"$\mathrm{head}_i$",
        ),
        ("and tanh' once per step", r"and $\tanh'$ once per step"),
        # code names and plain words stay as they are; TeX's specials are escaped
        ("see two_steps and rnn.bptt_wrong_order()", "see two_steps and rnn.bptt_wrong_order()"),
        ("costs $5, a \\ b", "costs \\$5, a \\\\ b"),
    ],
)
def test_prose_puts_formulas_in_inline_math(text, expected):
    assert prose(text) == expected
    assert_typesets(prose(text))


def test_a_character_with_no_spelling_still_comes_out_ascii():
    assert math("é ∉ x") == "e ? x"  # NFKD's letter, else a question mark: never a crash
    assert prose("ψ₁").isascii()


def test_the_checker_can_tell_an_unbalanced_page():
    with pytest.raises(AssertionError, match="not ASCII"):
        assert_typesets("### ∂hₜ")
    with pytest.raises(AssertionError, match="unclosed"):
        assert_typesets("a $x_{1} b")
    with pytest.raises(AssertionError):
        assert_typesets("$x_{1$")
    with pytest.raises(AssertionError, match="unclosed"):
        assert_typesets("$$\nx\n")


def test_a_derivations_markdown_is_ascii_and_its_text_keeps_unicode():
    d = rnn.step_jacobian()
    md, text = d.to_markdown(), str(d)
    assert_typesets(md)
    assert r"### RNN: $\partial h_{t}/\partial h_{t-1}" in md
    assert "∂hₜ/∂hₜ₋₁ = diag(1 − hₜ²) W_hh" in text  # the terminal's print is as it was
    result = transformer.residual_jacobian().check()
    assert_typesets(result.to_markdown())
    assert r"$x + \tanh(x W^{\top} + c)$" in result.to_markdown()
    assert "x + tanh(x Wᵀ + c)" in str(result)


def test_the_width_check_can_tell_a_line_that_runs_off_the_page():
    page = rnn.bptt_parameter_gradients().to_markdown()
    assert_fits(page)
    wide = " + ".join(f"W_{{hh,{k}}} h_{{t,{k}}}" for k in range(40))
    with pytest.raises(AssertionError, match="glyphs"):
        assert_fits(f"$$\n{wide}\n$$")
