"""The printout's Unicode prose as Markdown that pandoc + pdflatex typeset as it is.

Titles and notes are written once, in Unicode, for the terminal. pdflatex stops at the first
character it has no glyph for (ₜ, ⊙, σ, ‖, ...), so the Markdown page (`derive --latex`)
puts each formula of the prose into inline math, spelled in ASCII LaTeX, and leaves the
words around it as text: `prose("RNN: ∂hₜ/∂hₜ₋₁ = diag(1 − hₜ²) W_hh")` is
"RNN: $\\partial h_{t}/\\partial h_{t-1} = \\operatorname{diag}(1 - h_{t}^{2}) W_{hh}$".
A formula is a run of words with a non-ASCII character or a short subscripted name
(W_hh, d_k, h_t^dec, W^O), and the numbers, operators and single letters between them.
"""

from __future__ import annotations

import re
import unicodedata

GREEK = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\epsilon",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "π": r"\pi",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\phi",
    "ω": r"\omega",
    "Δ": r"\Delta",
    "Π": r"\Pi",
    "Σ": r"\Sigma",
}
SYMBOLS = {
    "−": "-",
    "⊙": r"\odot",
    "∂": r"\partial",
    "·": r"\cdot",
    "⋅": r"\cdot",
    "×": r"\times",
    "‖": r"\|",
    "≤": r"\leq",
    "≥": r"\geq",
    "≈": r"\approx",
    "≠": r"\neq",
    "⋯": r"\cdots",
    "…": r"\ldots",
    "→": r"\to",
    "∞": r"\infty",
    "∈": r"\in",
    "′": "'",
    "ℯ": "e",
}
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₋₊ₜᵢⱼₙₖᵧ", "0123456789-+tijnky", strict=True))
SUPERSCRIPTS = {**dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ⁿˣ", "0123456789-+nx", strict=True)), "ᵀ": r"\top"}
ACCENTS = {"\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar"}

# names typeset upright in math, as LaTeX does sin: \tanh, \operatorname{diag}
_FUNCTIONS = re.compile(r"(?<![\\A-Za-z])(tanh|exp|log|max|min)(?![A-Za-z])")
_OPERATORS = re.compile(
    r"(?<![\\A-Za-z{])(diag|mean|softmax|var|Concat|Attention|MultiHead)(?![A-Za-z])"
)
# W_hh, d_k, h_t^dec, J_T, W^O: a short name with a subscript or superscript reads as math
# (and head_i, y_<t); tanh' alone is the derivative's name
_NAME = re.compile(
    r"(?<![A-Za-z0-9_.])([A-Za-z]{1,2}|head)"
    r"(_<?[A-Za-z0-9]{1,3}(\^[A-Za-z0-9]{1,3})?|\^[A-Za-z0-9]{1,3})(?![A-Za-z0-9_])"
    r"|^(tanh|exp|log)'$"
)
# ASCII words that are math beside math: "=", "+", "0.15", "(1", "x", "tanh'(x)", "diag(1"
_FORMULA = re.compile(
    r"[-+=<>*/|]"
    r"|\.\.\.|[(\[]*(\d+(\.\d+)?|[b-zA-Z]"
    r"|(tanh|exp|log|diag|mean|softmax|max|min|var|Concat|Attention|MultiHead)'?"
    r"(\([A-Za-z0-9]*\)?)?)[)\]]*"
)
_OPERATOR = re.compile(r"[-+=<>*/|−]")  # at either end of a formula, they stay text
_LEADING = "'\""  # quotes stay text, outside the math
_TRAILING = ".,;:'\""


def _kind(core: str) -> str:
    """The kind of a word: "math" (a non-ASCII character or a short subscripted name),
    "formula" (math only beside math) or "text"."""
    if not core.isascii() or _NAME.search(core):
        return "math"
    return "formula" if _FORMULA.fullmatch(core) else "text"


def _split(word: str) -> tuple[str, str, str]:
    """A word as (leading text, core, trailing text): quotes and the punctuation after a
    formula stay outside it; a prime after a letter (tanh') stays in."""
    start = 0
    while start < len(word) and word[start] in _LEADING:
        start += 1
    if re.fullmatch(r"\.\.\.[,;:]?", word[start:]):  # an ellipsis in a list: "h_1, ..., h_n"
        return word[:start], "...", word[start + 3 :]
    end = len(word)
    while end > start and word[end - 1] in _TRAILING:
        if word[end - 1] == "'" and end - 2 >= start and word[end - 2].isalpha():
            break  # a prime
        end -= 1
    return word[:start], word[start:end], word[end:]


def _net(text: str) -> int:
    """Brackets opened minus brackets closed."""
    return text.count("(") + text.count("[") - text.count(")") - text.count("]")


def _words(text: str) -> list[str]:
    """The words of `text`, a bracketed list of formulas kept as one: "∂(hₜ, Cₜ)"."""
    tokens, words, i = text.split(), [], 0
    while i < len(tokens):
        j, net = i, _net(tokens[i])
        if net > 0 and _kind(_split(tokens[i])[1]) != "text":
            while net > 0 and j + 1 < len(tokens) and _kind(_split(tokens[j + 1])[1]) != "text":
                j += 1
                net += _net(tokens[j])
            group = tokens[i : j + 1]
            if net == 0 and any(_kind(_split(w)[1]) == "math" for w in group):
                words.append(" ".join(group))
                i = j + 1
                continue
        words.append(tokens[i])
        i += 1
    return words


def _unmatched(formula: str) -> list[int]:
    """Where `formula` opens a bracket at the start of a word that it does not close, or
    closes one at the end of a word that it did not open: "(Σᵢ αᵢ = 1" → [0]."""
    stack: list[int] = []
    unmatched: list[int] = []
    for k, c in enumerate(formula):
        if c in "([":
            stack.append(k)
        elif c in ")]":
            if stack:
                stack.pop()
            elif k + 1 == len(formula) or formula[k + 1] == " ":
                unmatched.append(k)
    unmatched += [k for k in stack if k == 0 or formula[k - 1] == " "]
    return sorted(unmatched)


def _sqrt(text: str) -> str:
    """√(a + b) → \\sqrt{a + b}, √d_k → \\sqrt{d_k}, innermost first."""
    while True:
        new = re.sub(r"√\(([^()]*)\)", r"\\sqrt{\1}", text)
        new = re.sub(r"√([A-Za-z0-9]+(_[A-Za-z0-9]+)?)", r"\\sqrt{\1}", new)
        if new == text:
            return text.replace("√", r"\surd ")
        text = new


def _fallback(char: str) -> str:
    """A character with no spelling here: its ASCII letters if it has them (é → e), else ?"""
    ascii_part = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return ascii_part or "?"


def math(text: str) -> str:
    """One formula of the printout, in Unicode, as ASCII LaTeX (no $ around it)."""
    text = _OPERATORS.sub(r"\\operatorname{\1}", _FUNCTIONS.sub(r"\\\1", _sqrt(text)))
    text = text.replace("...", "…")
    text = re.sub(r"(?<![A-Za-z])head_", r"\\mathrm{head}_", text)  # head_i
    text = re.sub(r"_<([A-Za-z0-9]+)", r"_{<\1}", text)  # y_<t → y_{<t}
    text = re.sub(r"([_^])([A-Za-z0-9]{2,})", r"\1{\2}", text)  # W_hh → W_{hh}
    text = re.sub(r"\^\(([^()]*)\)", r"^{(\1)}", text)  # ^(T−1) → ^{(T−1)}
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in SUBSCRIPTS or c in SUPERSCRIPTS:
            table, mark = (SUBSCRIPTS, "_") if c in SUBSCRIPTS else (SUPERSCRIPTS, "^")
            run = []
            while i < len(text) and text[i] in table:
                run.append(table[text[i]])
                i += 1
            out.append(f"{mark}{{{''.join(run)}}}")
            continue
        if c in ACCENTS:
            base = out.pop() if out else "{}"
            out.append(f"{ACCENTS[c]}{{{base}}}")
        elif c in GREEK or c in SYMBOLS:
            spelled = GREEK.get(c) or SYMBOLS[c]
            out.append(spelled + " " if spelled[-1].isalpha() else spelled)
        elif c in "%#&$":
            out.append("\\" + c)
        elif c.isascii():
            out.append(c)
        else:
            out.append(_fallback(c))
        i += 1
    latex = "".join(out)
    latex = re.sub(r"(\\[A-Za-z]+) (?=[^A-Za-z]|$)", r"\1", latex)  # "\alpha _" → "\alpha_"
    # hₜ,ᵢ and W_hh,ᵢⱼ: one subscript, h_{t,i} and W_{hh,ij}
    latex = re.sub(r"_(\{[^{}]*)\},_\{([^{}]*\})", r"_\1,\2", latex)
    latex = re.sub(r"_([A-Za-z0-9]),_\{([^{}]*\})", r"_{\1,\2", latex)
    return latex.strip()


def _text(words: str) -> str:
    """Plain text, with the characters Markdown would read as TeX escaped (and − as -)."""
    return words.replace("\\", "\\\\").replace("$", "\\$").replace("−", "-")


def _formula(words: list[str], kinds: list[str]) -> str:
    """A run of math and formula words as Markdown: operators and open brackets at its ends,
    and brackets it does not close, left outside the math."""

    def loose(k: int, outwards: str) -> bool:  # a math word is kept, but not a lone −
        return (kinds[k] != "math" or _OPERATOR.fullmatch(words[k])) and _opens(words[k], outwards)

    first, last = 0, len(words)
    while first < last and loose(first, "left"):
        first += 1
    while last > first and loose(last - 1, "right"):
        last -= 1
    # an aside in brackets after the formula, with no math in it, is text: "(T = 20)"
    for k in range(last - 1, first, -1):
        if kinds[k] == "math":
            break
        if words[k].startswith("(") and _net(" ".join(words[k:last])) == 0:
            last = k
            break
    body = " ".join(words[first:last])
    out, start = [], 0
    for k in [*_unmatched(body), len(body)]:
        part = body[start:k]
        if part.strip():
            pad_left = part[: len(part) - len(part.lstrip())]
            pad_right = part[len(part.rstrip()) :]
            if _kind(part.strip()) == "math":
                out.append(f"{pad_left}${math(part.strip())}${pad_right}")
            else:
                out.append(_text(part))
        out.append(body[k : k + 1])
        start = k + 1
    parts = [_text(" ".join(words[:first])), "".join(out), _text(" ".join(words[last:]))]
    return " ".join(part for part in parts if part)


def _opens(word: str, outwards: str) -> bool:
    """An operator, or a word whose brackets open towards the text outside a formula: "=",
    "(T" at its right end, "2)" at its left."""
    if _OPERATOR.fullmatch(word):
        return True
    return _net(word) > 0 if outwards == "right" else _net(word) < 0


def prose(text: str) -> str:
    """A line of the printout's prose as Markdown for pandoc + pdflatex: every word with a
    non-ASCII character (or a short subscripted name) in inline math, joined with the
    formula-like words around it ("=", "0.15", "(1", "tanh'(x)") into one formula; the rest
    as text. The result is ASCII."""
    pieces: list[tuple[str, str]] = []  # (kind, text): "math", "formula", "text", "space"
    for word in _words(text):
        lead, core, trail = _split(word)
        if pieces:
            pieces.append(("space", " "))
        pieces += [(kind, part) for kind, part in (("text", lead), (_kind(core), core)) if part]
        pieces += [("text", trail)] if trail else []
    out: list[str] = []
    i = 0
    while i < len(pieces):
        if pieces[i][0] not in ("math", "formula"):
            out.append(_text(pieces[i][1]))
            i += 1
            continue
        j = i  # a run of math and formula words, one space apart
        while (
            j + 2 < len(pieces)
            and pieces[j + 1][0] == "space"
            and pieces[j + 2][0] in ("math", "formula")
        ):
            j += 2
        words = [part for kind, part in pieces[i : j + 1] if kind != "space"]
        kinds = [kind for kind, _ in pieces[i : j + 1] if kind != "space"]
        out.append(_formula(words, kinds) if "math" in kinds else _text(" ".join(words)))
        i = j + 1
    return "".join(out)
