"""The shared checker: one gradient identity, derived three ways and compared.

A `Derivation` holds, for small explicit dimensions and matrices of element symbols:

- the model's equations (SymPy expressions of the seed's symbols),
- the *derived* Jacobian or gradient: SymPy's own ``.jacobian`` / ``diff`` of those equations,
- the *stated* closed form, as the seed (or the textbook) writes it,
- the *engine* side: a function that builds the same computation from tinygrad_seq Tensors in
  float64 and reads the Jacobian off the engine's own backward, one backward per output
  coordinate (or, for the gradient of a scalar L = Σ δ ⊙ out, one backward of L).

`check_identity` then (a) has SymPy simplify ``derived − stated`` to zero, and (b) evaluates
derived and stated at a random float64 point and compares both with the engine's Jacobian to
1e-10. It returns a `CheckResult` that prints. Feed it a wrong stated form
(``check_identity(d, stated=...)``) and it says so: the checker can fail.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sympy as sp

import tinygrad_seq as ts

from .latex_prose import prose

TOLERANCE = 1e-10  # max |difference| allowed between derived, stated and engine Jacobians
PRETTY_WIDTH = 100  # a matrix wider than this prints one entry per line
# A block with a closed form of its own (Block.formula) whose derived matrix takes more lines
# than this prints that form and one entry of SymPy's matrix, and that entry, if its text is
# longer than ENTRY_CHARS, as the leading terms of its expansion that fit CUT_CHARS: a page,
# not pages
LISTING_LINES = 8
ENTRY_CHARS = 270
CUT_CHARS = 180
LATEX_ROW_CHARS = 70  # terms per row of a long entry's LaTeX, counted in plain-text characters
# a display formula of the page (derive --latex) whose LaTeX is longer than this is broken into
# rows: pdflatex does not break display math, and a wider line runs off the page
DISPLAY_CHARS = 160
# a failed check's residual (derived − stated) too long to list prints this many nonzero entries
RESIDUAL_ENTRIES = 3

_SUBSCRIPTS = str.maketrans("0123456789-+t", "₀₁₂₃₄₅₆₇₈₉₋₊ₜ")

# LaTeX spelling of every element symbol made by `vector`/`matrix` (SymPy's own would mangle
# names such as "W_hh₁₂"): passed to sympy.latex as symbol_names.
LATEX_NAMES: dict[sp.Symbol, str] = {}


# ------------------------------------------------------------------ symbols
def sub(text: object) -> str:
    """Unicode subscripts for digits, '-', '+' and 't' ("t-1" → "ₜ₋₁")."""
    return str(text).translate(_SUBSCRIPTS)


def symbol(pretty: str, latex: str) -> sp.Symbol:
    """A symbol named for pretty printing, with its LaTeX spelling registered.

    No assumptions (not even real=True): SymPy's assumption queries would cost more time
    than all the algebra here, and no identity needs them.
    """
    s = sp.Symbol(pretty)
    LATEX_NAMES[s] = latex
    return s


def vector(pretty: str, latex: str, n: int) -> sp.Matrix:
    """A column vector (n, 1) of element symbols; names are format strings of the index.

    vector("hₜ₋₁,{}", "h_{{t-1,{}}}", 2) → [hₜ₋₁,₁, hₜ₋₁,₂]ᵀ.
    """
    return sp.Matrix([symbol(pretty.format(sub(i)), latex.format(i)) for i in range(1, n + 1)])


def matrix(pretty: str, latex: str, rows: int, cols: int) -> sp.Matrix:
    """A (rows, cols) matrix of element symbols: matrix("W_hh{}{}", "W_{{hh,{}{}}}", 2, 2).

    Past 9 rows or columns a comma separates the two indices (W₁,₁₁ and W₁₁,₁): run
    together, elements (1, 11) and (11, 1) would be one symbol."""
    comma = "," if max(rows, cols) > 9 else ""
    return sp.Matrix(
        rows,
        cols,
        lambda i, j: symbol(
            pretty.format(sub(i + 1) + comma, sub(j + 1)), latex.format(f"{i + 1}{comma}", j + 1)
        ),
    )


def diag(v: sp.Matrix) -> sp.Matrix:
    """diag(v) for a column (or row) vector v."""
    return sp.diag(*list(v))


def hadamard(a: sp.Matrix, b: sp.Matrix) -> sp.Matrix:
    """a ⊙ b, elementwise, for matrices of the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"hadamard: shapes differ: {a.shape} and {b.shape}")
    return a.multiply_elementwise(b)


class sigmoid(sp.Function):  # noqa: N801  (a SymPy function reads like the math: σ(x))
    """σ(x) = 1 / (1 + e^{−x}).

    SymPy differentiates it by the rule σ'(x) = σ(x)(1 − σ(x)) (`fdiff`), exactly as it
    differentiates tanh by tanh' = 1 − tanh²; `lstm.sigmoid_derivative` checks that rule
    against SymPy's derivative of the definition.
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _latex(self, printer: Any, exp: Any = None) -> str:
        body = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _pretty(self, printer: Any) -> Any:
        return printer._print_Function(self, func_name="σ")


def sigma(v: sp.Matrix) -> sp.Matrix:
    """σ applied elementwise."""
    return v.applyfunc(sigmoid)


def tanh(v: sp.Matrix) -> sp.Matrix:
    """tanh applied elementwise."""
    return v.applyfunc(sp.tanh)


# ------------------------------------------------------------------ printing
def to_latex(expr: Any) -> str:
    """LaTeX of an expression, with the registered spellings of element symbols."""
    return sp.latex(expr, symbol_names=LATEX_NAMES)


def to_pretty(expr: Any, label: str = "") -> str:
    """Unicode pretty print, after `label` (e.g. "hₜ = "). A matrix too wide for a terminal
    prints one entry per line, each entry named ("hₜ[2,1] = ", or "[2,1] = " without a
    label); an entry too wide even alone prints as linear text wrapped to the width, and then
    so do the other entries of its matrix, so that one listing reads in one style."""
    if not isinstance(expr, sp.MatrixBase):
        return _labelled(label, expr)
    if expr.rows * expr.cols <= 16:  # small enough to try as a whole
        text = sp.pretty(expr, use_unicode=True, wrap_line=False)
        if max(map(len, text.splitlines())) + len(label) <= PRETTY_WIDTH:
            return _hang(label, text)
    name = label.removesuffix(" = ")
    entries = [
        (f"{name}[{i + 1},{j + 1}] = ", expr[i, j])
        for i in range(expr.rows)
        for j in range(expr.cols)
    ]
    drawn = all(_pretty_fits(entry_label, e) is not None for entry_label, e in entries)
    return "\n".join(_labelled(entry_label, e, drawn) for entry_label, e in entries)


def _pretty_fits(label: str, expr: Any) -> str | None:
    """`expr` drawn in 2-D if it fits the width beside `label` (and is not too long to read
    that way), else None."""
    if sp.count_ops(expr) > 60:
        return None
    text = sp.pretty(expr, use_unicode=True, wrap_line=False)
    return text if max(map(len, text.splitlines())) <= PRETTY_WIDTH - len(label) else None


def _linear(expr: Any) -> str:
    """`expr` as one line of text in the printout's symbols: σ, √, ^ and ·."""
    text = sp.sstr(expr).replace("sigmoid(", "σ(").replace("**", "^").replace("*", "·")
    text = re.sub(r"sqrt\((\w+)\)", r"√\1", text)  # sqrt(3) → √3
    return text.replace("sqrt(", "√(")


def _labelled(label: str, expr: Any, drawn: bool = True) -> str:
    """`label` then `expr`: 2-D pretty print (label on its middle row) if `drawn` and it fits
    the width, else linear text wrapped to the width, the label on its first line."""
    text = _pretty_fits(label, expr) if drawn else None
    if text is not None:
        return _hang(label, text)
    rows = textwrap.wrap(_linear(expr), PRETTY_WIDTH - len(label), break_on_hyphens=False)
    return "\n".join((label if k == 0 else " " * len(label)) + r for k, r in enumerate(rows))


def _entry_terms(expr: sp.Expr, term_chars: int | None = None) -> tuple[list[sp.Expr], int]:
    """The terms of one entry to print, and how many its expansion has (0 if it is not cut):
    its own terms if its text fits ENTRY_CHARS (and each term `term_chars`, for a page whose
    display math cannot wrap a line), else the leading terms of its expansion that fit
    CUT_CHARS."""
    own = list(sp.Add.make_args(expr)) if expr.is_Add else [expr]
    if len(_linear(expr)) <= ENTRY_CHARS and (
        term_chars is None or all(len(_linear(t)) <= term_chars for t in own)
    ):
        return own, 0
    terms = sp.expand(expr).as_ordered_terms()
    shown, width = [terms[0]], len(_linear(terms[0]))
    for term in terms[1:]:
        width += len(_linear(term)) + 3
        if width > CUT_CHARS:
            break
        shown.append(term)
    return shown, len(terms)


def _signed_sum(parts: Sequence[str]) -> str:
    """Terms' texts joined with + or − as their own signs say ("a", "-b" → "a - b")."""
    out = parts[0]
    for part in parts[1:]:
        out += f" - {part[1:].lstrip()}" if part.startswith("-") else f" + {part}"
    return out


def sample_entry(expr: sp.Expr, label: str) -> str:
    """One entry of a large matrix for the terminal, after `label`: whole if its text fits
    ENTRY_CHARS (drawn as `to_pretty` draws it), else its expansion's leading terms, "+ …"
    and how many terms there are."""
    shown, total = _entry_terms(expr)
    if not total:
        return _labelled(label, expr)
    text = f"{_signed_sum([_linear(t) for t in shown])} + … ({total} terms in all)"
    rows = textwrap.wrap(text, PRETTY_WIDTH - len(label), break_on_hyphens=False)
    return "\n".join((label if k == 0 else " " * len(label)) + r for k, r in enumerate(rows))


def _latex_rows(terms: Sequence[sp.Expr]) -> list[str]:
    """Terms' LaTeX in rows about LATEX_ROW_CHARS wide, each row after the first starting
    with its sign."""
    rows: list[list[sp.Expr]] = [[]]
    width = 0
    for term in terms:
        width += len(_linear(term))
        if rows[-1] and width > LATEX_ROW_CHARS:
            rows.append([])
            width = len(_linear(term))
        rows[-1].append(term)
    lines = [_signed_sum([to_latex(t) for t in row]) for row in rows]
    return [lines[0]] + [line if line.startswith("-") else f"+ {line}" for line in lines[1:]]


def sample_entry_latex(expr: sp.Expr, label: str) -> str:
    """The same entry in LaTeX, after `label`: an aligned block, its terms in rows about
    LATEX_ROW_CHARS wide, ending in + \\cdots if it is cut short (as it is also when one of
    its terms is wider than a row)."""
    shown, total = _entry_terms(expr, LATEX_ROW_CHARS)
    lines = _latex_rows(shown)
    if total:
        lines[-1] += r" + \cdots"
    body = " \\\\\n&\\quad ".join(lines)
    return f"\\begin{{aligned}}\n{label} = {{}} & {body}\n\\end{{aligned}}"


def _whole_terms(expr: sp.Expr, depth: int = 3) -> list[sp.Expr]:
    """The terms of `expr` to write in rows, all of them (its value unchanged): a term wider
    than a row that is a product with a sum in it multiplied out, one level at a time."""
    out: list[sp.Expr] = []
    for term in expr.as_ordered_terms() if expr.is_Add else [expr]:
        expanded = sp.expand(term, deep=False) if depth else term
        if len(_linear(term)) > LATEX_ROW_CHARS and expanded.is_Add:
            out += _whole_terms(expanded, depth - 1)
        else:
            out.append(term)
    return out


def display_latex(expr: Any, lhs: str = "") -> str:
    """`lhs = expr` (or `expr` alone) as display math for a page: as one line if its LaTeX
    is at most DISPLAY_CHARS long, else an aligned block that a page can hold, a matrix one
    entry to a row ("[lhs]_{i,j} = ..."), an entry's terms in rows about LATEX_ROW_CHARS
    wide. Every term is written: the block is the whole expression, not a sample."""
    whole = to_latex(expr)
    if len(lhs) + len(whole) + 3 <= DISPLAY_CHARS:
        return f"{lhs} = {whole}" if lhs else whole
    if isinstance(expr, sp.MatrixBase):
        base = rf"\left[{lhs}\right]" if lhs else r"\left[\,\cdot\,\right]"
        entries = [
            (f"{base}_{{{i + 1}}}" if expr.cols == 1 else f"{base}_{{{i + 1},{j + 1}}}", expr[i, j])
            for i in range(expr.rows)
            for j in range(expr.cols)
        ]
    else:
        entries = [(lhs, expr)]
    rows: list[str] = []
    for label, entry in entries:
        lines = _latex_rows(_whole_terms(entry))
        rows.append(f"{label} &= {lines[0]}" if label else f"& {lines[0]}")
        rows += [f"&\\quad {line}" for line in lines[1:]]
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def display_rows(tex: str) -> str:
    """Hand-written display LaTeX laid out for a page: an aligned block one row to a line,
    and a row that states several equations (a = ...,\\quad b = ...) one equation to a row."""
    if not tex.startswith(r"\begin{aligned}"):
        if len(tex) <= DISPLAY_CHARS or _top_level_eq(tex) is None:
            return tex
        tex = rf"\begin{{aligned}}{_top_level_eq(tex)}\end{{aligned}}"
    body = tex.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}")
    rows: list[str] = []
    for row in body.split("\\\\"):
        parts = row.strip().split(r",\quad ")
        if len(parts) > 1 and all(_top_level_eq(p) for p in parts[1:]):
            rows.append(parts[0])
            rows += [_top_level_eq(p) for p in parts[1:]]  # type: ignore[misc]
        else:
            rows.append(row.strip())
    rows = [piece for row in rows for piece in _split_sum(row)]
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def _split_sum(row: str) -> list[str]:
    """A row longer than DISPLAY_CHARS / 2 broken before the + of its sum (outside braces and
    brackets) into rows about that long, each after the first starting "&\\quad +"."""
    limit = DISPLAY_CHARS // 2
    if len(row) <= limit:
        return [row]
    pieces, depth, start = [], 0, 0
    for k, c in enumerate(row):
        depth += (c in "{([") - (c in "})]")
        if depth == 0 and row.startswith(" + ", k) and k - start > limit:
            pieces.append(row[start:k])
            start = k + 1
    pieces.append(row[start:])
    return [pieces[0]] + [rf"&\quad {p}" for p in pieces[1:]]


def _top_level_eq(part: str) -> str | None:
    """`part` with its first = outside braces and brackets made the alignment point (&=),
    or None if it has none (or already has an alignment point)."""
    if "&" in part:
        return None
    depth = 0
    for k, c in enumerate(part):
        depth += (c in "{([") - (c in "})]")
        if c == "=" and depth == 0:
            return f"{part[:k].rstrip()} &= {part[k + 1 :].lstrip()}"
    return None


def _wrap(text: str, indent: str, width: int = PRETTY_WIDTH) -> list[str]:
    """A long line of prose wrapped to `width`, continuation lines indented under it."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=" " * (len(indent) + 2),
        break_on_hyphens=False,
    )


def _hang(label: str, text: str) -> str:
    """Put `label` on the baseline of a (possibly multi-line) pretty-printed block."""
    rows = text.splitlines()
    base = max(0, len(rows) // 2)
    pad = " " * len(label)
    return "\n".join((label if k == base else pad) + row for k, row in enumerate(rows))


def _indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line if line else line for line in text.splitlines())


# ------------------------------------------------------------------ the engine side
def float64_values(m: sp.Matrix, point: Mapping[sp.Symbol, float]) -> np.ndarray:
    """The float64 values of a matrix of symbols at `point`, in the matrix's shape."""
    return np.array(
        [[point[m[i, j]] for j in range(m.cols)] for i in range(m.rows)], dtype=np.float64
    )


def row(
    m: sp.Matrix,
    point: Mapping[sp.Symbol, float],
    requires_grad: bool = False,
    name: str | None = None,
) -> ts.Tensor:
    """A column vector of symbols as an engine row vector (1, n) in float64 (batch of one)."""
    values = float64_values(m, point).reshape(1, -1)
    return ts.Tensor(values, requires_grad=requires_grad, name=name)


def tensor(
    m: sp.Matrix,
    point: Mapping[sp.Symbol, float],
    requires_grad: bool = False,
    name: str | None = None,
) -> ts.Tensor:
    """A matrix of symbols as an engine float64 Tensor of the same shape."""
    return ts.Tensor(float64_values(m, point), requires_grad=requires_grad, name=name)


def float64_module(factory: Callable[[], Any], weights: Mapping[str, np.ndarray]) -> Any:
    """Build a ts.nn module with float64 parameters and load `weights` into it by name."""
    previous = ts.get_default_dtype()
    ts.set_default_dtype(np.float64)
    try:
        module = factory()
    finally:
        ts.set_default_dtype(previous)
    return module.load_state_dict(dict(weights))


def engine_gradients(module: Any, **inputs: ts.Tensor) -> dict[str, np.ndarray]:
    """After a backward: {parameter name: its .grad} for `module`, then {key: .grad} for
    each input given by keyword, all as NumPy arrays (the engine's side of a gradient)."""
    out = {name: p.grad for name, p in module.named_parameters()}
    out.update({key: t.grad for key, t in inputs.items()})
    return {key: ts.backend.to_numpy(g) for key, g in out.items()}


def engine_jacobian(output: ts.Tensor, wrt: Sequence[ts.Tensor]) -> list[np.ndarray]:
    """∂output/∂w for each w in `wrt`, from the engine's backward: one per output coordinate.

    Returns one NumPy array (output.size, w.size) per w; row k is the gradient of the k-th
    output coordinate (row-major order), read from `.grad` after `output.backward(e_k)`.
    """
    xp = ts.backend.array_module(output.data)
    n = output.size
    jacobians = [np.zeros((n, w.size)) for w in wrt]
    for k in range(n):
        for w in wrt:
            w.grad = None
        seed = xp.zeros(n, dtype=output.dtype)
        seed[k] = 1.0
        output.backward(seed.reshape(output.shape), retain_graph=k < n - 1)
        for jac, w in zip(jacobians, wrt, strict=True):
            if w.grad is not None:
                jac[k] = ts.backend.to_numpy(w.grad).reshape(-1)
    return jacobians


# ------------------------------------------------------------------ the derivation
def _latex_subscripts(name: str) -> str:
    """d_model → d_{model}: in LaTeX a bare _model would subscript only the m."""
    return re.sub(r"_(\w{2,})", r"_{\1}", name)


@dataclass(frozen=True)
class Equation:
    """One model equation: its vector form (text and LaTeX) and its elements, explicitly."""

    text: str  # "hₜ = tanh(W_hh hₜ₋₁ + W_xh xₜ + b_h)"
    latex: str
    lhs: str  # "hₜ"
    lhs_latex: str  # "h_t"
    rhs: sp.Matrix  # the elements, written with the names of earlier equations


@dataclass(frozen=True)
class Block:
    """One named piece of an identity (a Jacobian block or one parameter's gradient)."""

    key: str  # ascii, for the engine's dict: "dh/dh_prev"
    label: str  # unicode: "∂hₜ/∂hₜ₋₁"
    latex: str  # r"\partial h_t / \partial h_{t-1}"
    derived: sp.Matrix  # SymPy's own jacobian/diff of the model equations
    stated: sp.Matrix  # the closed form
    # the closed form as the identity writes it, for the page ("∂L/∂Q = δS K / √d_k"); with
    # one, a large derived matrix prints as one sample entry below it
    formula: str = ""
    formula_latex: str = ""


@dataclass(frozen=True)
class Derivation:
    """A gradient identity on small explicit dimensions: equations, derived and stated forms.

    `names` gives the seed's names to pieces of the equations ({hₜ,₁: tanh(aₜ,₁), fₜ,₁:
    σ(a_f,₁), ...}); derived and stated forms are printed, and their difference simplified,
    with those pieces written as the names. `engine(point)` returns {block key: array}
    computed by tinygrad_seq at the float64 `point` {symbol: value}.
    """

    name: str
    title: str
    dims: Mapping[str, int]
    equations: Sequence[Equation]
    statement: str  # the stated closed form, in words and symbols
    statement_latex: str
    blocks: Sequence[Block]
    names: Mapping[sp.Symbol, sp.Expr]
    engine: Callable[[Mapping[sp.Symbol, float]], Mapping[str, np.ndarray]]
    engine_source: str
    seed_says: str = ""  # the seed's own statement, when it has one
    notes: Sequence[str] = ()
    scale: float = 1.0  # the random point is N(0, scale²) in every symbol
    # a further rewrite for printing, after the names (attention writes exp(eᵢ) as αᵢ·Z);
    # it must be an invertible change of variables, since residuals are simplified in it
    display: Callable[[sp.Expr], sp.Expr] | None = None
    tidy: Callable[[sp.Expr], sp.Expr] | None = None  # printing only (e.g. expand + collect)

    @property
    def variables(self) -> tuple[sp.Symbol, ...]:
        """Every free symbol of the forms and definitions, in a fixed order.

        The free symbols of the derived and stated forms and the names' definitions come first; then
        any other input of the model's equations. (A gradient need not depend on every input: with
        one key, softmax is constant and V drops out of it, but the engine's side still needs a
        value for V. Put last, they leave the random point of the others as it was.)"""
        free: set[sp.Symbol] = set()
        for b in self.blocks:
            free |= b.derived.free_symbols | b.stated.free_symbols
        for definition in self.names.values():
            free |= definition.free_symbols
        inputs: set[sp.Symbol] = set()
        for equation in self.equations:
            inputs |= equation.rhs.free_symbols
        inputs -= free | set(self.names)  # (names stand for expressions, not inputs)
        key = sp.default_sort_key
        return tuple(sorted(free, key=key)) + tuple(sorted(inputs, key=key))

    def show(self, expr: Any) -> Any:
        """`expr` written with the seed's names (hₜ for tanh(aₜ), fₜ for σ(a_f), ...)."""
        named = expr.xreplace({definition: name for name, definition in self.names.items()})
        if self.display is None:
            return named
        if isinstance(named, sp.MatrixBase):
            return named.applyfunc(self.display)
        return self.display(named)

    def readable(self, expr: Any) -> Any:
        """`show(expr)`, tidied for printing by the derivation's `tidy` (if any)."""
        shown = self.show(expr)
        if self.tidy is None:
            return shown
        return shown.applyfunc(self.tidy) if isinstance(shown, sp.MatrixBase) else self.tidy(shown)

    def with_stated(
        self, stated: Mapping[str, sp.Matrix], name: str | None = None, statement: str | None = None
    ) -> Derivation:
        """The same derivation with other stated forms for the given blocks (e.g. a wrong one)."""
        unknown = set(stated) - {b.key for b in self.blocks}
        if unknown:
            raise ValueError(
                f"with_stated({self.name}): no block named {sorted(unknown)}; blocks are "
                f"{[b.key for b in self.blocks]}"
            )
        blocks = [  # a replaced block's formula no longer says what it states
            replace(b, stated=stated[b.key], formula="", formula_latex="") if b.key in stated else b
            for b in self.blocks
        ]
        return replace(
            self,
            blocks=blocks,
            name=name or f"{self.name} (alternative)",
            title=f"stated instead: {statement}" if statement else self.title,
            statement=statement or self.statement,
        )

    def check(self, seed: int = 0, tol: float = TOLERANCE) -> CheckResult:
        """Run `check_identity` on this derivation."""
        return check_identity(self, seed=seed, tol=tol)

    def _written_out(self, eq: Equation) -> sp.Matrix | sp.Expr | None:
        """An equation's elements, as SymPy differentiates them, to print below its vector
        form: a 1×1 right-hand side as the scalar it is, and None for a scalar definition
        on no dimensions (tanh(x) = ..., σ(x) = ...), whose elements are the equation itself:
        printed twice, once as a 1×1 matrix, it read as a second model."""
        if eq.rhs.shape != (1, 1):
            return eq.rhs
        return eq.rhs[0, 0] if self.dims else None

    def _derived(self, b: Block) -> sp.Matrix | sp.Expr:
        """A block's derived form, readable: a 1×1 one (d tanh(x)/dx) as its one entry."""
        shown = self.readable(b.derived)
        return shown[0, 0] if shown.shape == (1, 1) else shown

    def __str__(self) -> str:
        dims = "".join(f"; {k} = {v}" for k, v in self.dims.items())
        out = [self.title, f"  [{self.name}{dims}]", "  model:"]
        for eq in self.equations:
            elements = self._written_out(eq)
            if elements is None:
                out.append(f"    {eq.text}")
                continue
            out.append(f"    {eq.text}, written out in elements:")
            out.append(_indent(to_pretty(elements, f"{eq.lhs} = "), "      "))
        out.append(f"  stated: {self.statement}")
        if self.seed_says:
            out += _wrap(self.seed_says, "  the seed writes: ")
        for note in self.notes:
            out += _wrap(note, "  note: ")
        for b in self.blocks:
            derived = self._derived(b)
            if not b.formula:
                out.append(f"  {b.label}, derived by SymPy (written with the seed's names):")
                out.append(_indent(to_pretty(derived), "    "))
                continue
            out.append(f"  {b.formula}")  # the identity first, then SymPy's evidence
            if not self._large(b, derived):
                out.append("    derived by SymPy (written with the seed's names):")
                out.append(_indent(to_pretty(derived), "      "))
                continue
            out += _wrap(f"derived by SymPy (seed's names), {self._sample(b)}:", "    ")
            out.append(_indent(sample_entry(derived[0, 0], "[1,1] = "), "      "))
        return "\n".join(out)

    @staticmethod
    def _large(b: Block, derived: Any) -> bool:
        """Whether a block prints its formula and one sample entry, not its whole matrix."""
        return (
            bool(b.formula)
            and isinstance(derived, sp.MatrixBase)
            and to_pretty(derived).count("\n") >= LISTING_LINES
        )

    def _sample(self, b: Block) -> str:
        """Which entry a block's sample is: "entry [1,1] of 6 (the check compares all 6)"."""
        n = b.derived.rows * b.derived.cols
        return f"entry [1,1] of {n} (the check compares all {n})"

    def to_markdown(self) -> str:
        """A Markdown section with the equations and derived forms in LaTeX.

        All ASCII, for pandoc + pdflatex: the prose's symbols go in inline math (see
        `latex_prose`)."""
        dims = ", ".join(f"${_latex_subscripts(k)} = {v}$" for k, v in self.dims.items())
        where = f" on {dims}" if dims else ""
        out = [f"### {prose(self.title)}", "", f"`{self.name}`{where}.", "", "Model:", ""]
        for eq in self.equations:
            out += ["$$", display_rows(eq.latex), "$$", ""]
            elements = self._written_out(eq)
            if elements is not None:
                out += [
                    "written out in elements, as SymPy differentiates it:",
                    "",
                    "$$",
                    display_latex(elements, eq.lhs_latex),
                    "$$",
                    "",
                ]
        out += ["Stated closed form:", "", "$$", display_rows(self.statement_latex), "$$", ""]
        if self.seed_says:
            out += [f"The seed writes: {prose(self.seed_says)}", ""]
        out += [f"- {prose(note)}" for note in self.notes] + ([""] if self.notes else [])
        for b in self.blocks:
            derived = self._derived(b)
            if b.formula_latex:
                out += ["$$", display_rows(b.formula_latex), "$$", ""]
            if not self._large(b, derived):
                out += [f"Derived by SymPy, ${b.latex}$:", "", "$$"]
                out += [display_latex(derived, b.latex), "$$", ""]
                continue
            label = rf"\left[{b.latex}\right]_{{1,1}}"
            shown, total = _entry_terms(derived[0, 0], LATEX_ROW_CHARS)
            cut = f", its first {len(shown)} of {total} terms" if total else ""
            out += [
                f"Derived by SymPy, ${b.latex}$: {prose(self._sample(b))}{cut}:",
                "",
                "$$",
                sample_entry_latex(derived[0, 0], label),
                "$$",
                "",
            ]
        return "\n".join(out)


# ------------------------------------------------------------------ the result
@dataclass
class CheckResult:
    """What `check` found: symbolic (SymPy) and numeric (engine) agreement, and the time.

    `symbolic_ok` is None for a statement that is not an identity (an inequality), which is
    checked numerically only; `conditions` holds any further named pass/fail facts.
    """

    name: str
    title: str
    symbolic_ok: bool | None
    numeric_max_error: float
    seconds: float
    expressions: dict[str, dict[str, Any]]  # block label -> {"derived", "stated", "residual"}
    errors: dict[str, float] = field(default_factory=dict)  # per comparison, max |Δ|
    engine_source: str = ""
    tol: float = TOLERANCE
    proof: str = ""  # how SymPy reached zero (or why it did not)
    conditions: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def numeric_ok(self) -> bool:
        """Whether the engine's gradients agree with SymPy's to `tol` (and are finite)."""
        return bool(np.isfinite(self.numeric_max_error) and self.numeric_max_error <= self.tol)

    @property
    def passed(self) -> bool:
        """Symbolic check not failed, numeric check within `tol`, and every condition met."""
        return self.symbolic_ok is not False and self.numeric_ok and all(self.conditions.values())

    def __bool__(self) -> bool:
        return self.passed

    def _symbolic_line(self) -> str:
        if self.symbolic_ok is None:
            return f"symbolic: n/a ({self.proof})"
        verdict = "ok, simplifies to 0" if self.symbolic_ok else "FAILED, does not simplify to 0"
        return f"symbolic: {verdict} ({self.proof})"

    def _numeric_line(self) -> str:
        parts = ", ".join(f"{k} {v:.1e}" for k, v in self.errors.items())
        verdict = "ok" if self.numeric_ok else "FAILED"
        return (
            f"numeric:  {verdict}, max |Δ| = {self.numeric_max_error:.2e} "
            f"(tol {self.tol:.0e}; {parts}); engine: {self.engine_source}"
        )

    def __str__(self) -> str:
        head = "PASS" if self.passed else "FAIL"
        out = [
            f"[{head}] {self.name}: {self.title}  ({self.seconds:.2f} s)",
            *_wrap(self._symbolic_line(), "  "),
            *_wrap(self._numeric_line(), "  "),
        ]
        for name, ok in self.conditions.items():
            out.append(f"  {'ok' if ok else 'FAILED'}: {name}")
        for label, residual in self._residuals():
            out.append(f"  {label}: derived − stated =")
            shown, more = _residual_sample(residual)
            if not shown:
                out.append(_indent(to_pretty(residual), "    "))
                continue
            for (i, j), entry in shown:
                out.append(_indent(sample_entry(entry, f"[{i},{j}] = "), "    "))
            out.append(f"    {more}")
        for note in self.notes:
            out += _wrap(note, "  ")
        return "\n".join(out)

    def to_markdown(self) -> str:
        """The result as Markdown (residuals in LaTeX)."""
        head = "PASS" if self.passed else "FAIL"
        out = [
            f"**{head}** `{self.name}` ({self.seconds:.2f} s)",
            "",
            f"- {prose(self._symbolic_line())}",
            f"- {prose(self._numeric_line())}",
        ]
        out += [
            f"- {'ok' if ok else 'FAILED'}: {prose(name)}" for name, ok in self.conditions.items()
        ]
        out += [f"- {prose(note)}" for note in self.notes]
        out.append("")
        for label, residual in self._residuals():
            out += [prose(f"Residual Δ = derived − stated for {label}:"), ""]
            shown, more = _residual_sample(residual)
            if not shown:
                out += ["$$", display_latex(residual, r"\Delta"), "$$", ""]
                continue
            for (i, j), entry in shown:
                out += ["$$", sample_entry_latex(entry, rf"\Delta_{{{i},{j}}}"), "$$", ""]
            out += [prose(more), ""]
        return "\n".join(out)

    def _residuals(self) -> list[tuple[str, Any]]:
        """(block label, residual) of each block whose residual is not zero."""
        out = []
        for label, exprs in self.expressions.items():
            residual = exprs.get("residual")
            if residual is not None and any(e != 0 for e in residual):
                out.append((label, residual))
        return out


def _residual_sample(residual: Any) -> tuple[list[tuple[tuple[int, int], sp.Expr]], str]:
    """A residual too long to list whole (as `Derivation` lists a large gradient: more than
    LISTING_LINES lines): its first RESIDUAL_ENTRIES nonzero entries, numbered from 1, and the
    line that says how many there are ("… (16 entries, 12 nonzero)"); else ([], "")."""
    if not isinstance(residual, sp.MatrixBase) or to_pretty(residual).count("\n") < LISTING_LINES:
        return [], ""
    nonzero = [
        ((i + 1, j + 1), residual[i, j])
        for i in range(residual.rows)
        for j in range(residual.cols)
        if residual[i, j] != 0
    ]
    n = residual.rows * residual.cols
    return nonzero[:RESIDUAL_ENTRIES], f"… ({n} entries, {len(nonzero)} nonzero)"


# ------------------------------------------------------------------ checking
_FUNCTIONS: dict[type, Callable[[float], float]] = {
    sp.tanh: np.tanh,
    sp.exp: np.exp,
    sigmoid: lambda x: 1.0 / (1.0 + np.exp(-x)),
}


def evaluate(
    m: sp.Matrix, variables: Sequence[sp.Symbol], point: Mapping[sp.Symbol, float]
) -> np.ndarray:
    """A SymPy matrix evaluated in float64 at `point` (every free symbol must be in it).

    A direct walk of each expression tree, shared subexpressions computed once (lambdify
    would first rebuild every expression with dummy symbols, which costs seconds here).
    """
    memo: dict[sp.Basic, float] = {v: float(point[v]) for v in variables}

    def value(e: sp.Basic) -> float:
        if e in memo:
            return memo[e]
        if e.is_Number or e.is_NumberSymbol:
            out = float(e)
        else:
            args = [value(a) for a in e.args]
            if e.is_Add:
                out = float(np.sum(args))
            elif e.is_Mul:
                out = float(np.prod(args))
            elif e.is_Pow:
                out = float(args[0] ** args[1])
            elif e.func in _FUNCTIONS:
                out = float(_FUNCTIONS[e.func](args[0]))
            else:
                raise TypeError(f"evaluate: no float64 rule for {e.func.__name__} in {e}")
        memo[e] = out
        return out

    return np.array(
        [[value(m[i, j]) for j in range(m.cols)] for i in range(m.rows)], dtype=np.float64
    )


def random_point(
    variables: Sequence[sp.Symbol], seed: int | Sequence[int] = 0, scale: float = 1.0
) -> dict[sp.Symbol, float]:
    """A seeded N(0, scale²) float64 value for every symbol (`seed` as NumPy's default_rng
    takes it: an int, or a list of ints for a stream of its own)."""
    values = np.random.default_rng(seed).normal(0.0, scale, size=len(variables))
    return {v: float(x) for v, x in zip(variables, values, strict=True)}


def _tidy(residual: sp.Expr, max_ops: int = 60) -> sp.Expr:
    """A nonzero residual factored for reading, when it is small enough to factor quickly."""
    return sp.factor(residual) if sp.count_ops(residual) <= max_ops else residual


def simplify_to_zero(
    named: sp.Expr,
    raw: sp.Expr,
    point: Mapping[sp.Symbol, float],
    also_at: Sequence[Mapping[sp.Symbol, float]] = (),
) -> tuple[sp.Expr, str]:
    """Simplify one entry of derived − stated; return (simplified, how SymPy got there).

    `named` is the entry written with the seed's names (hₜ for tanh(aₜ), ...), `raw` the same
    entry in the primitive symbols. First `cancel` on `named`: a rational function whose
    generators are the symbols and names taken as independent unknowns; zero there proves
    zero. If that leaves something, and `raw` is not zero at the random `point` either
    (beyond 1e-9 of the size of its terms: an identity between terms of 1e12 rounds to
    about 1e-4), it is not an identity: return the cancelled `named` residual at once.
    The points of `also_at` are tried too: at one point a wrong residual can come out tiny
    (a factor 1 − h² of a saturated tanh), and SymPy's simplifiers can then take many
    minutes to say it is not zero. Otherwise `cancel` `raw`, then rewrite it in exponentials
    (exp(a)·exp(b) = exp(a + b) relations), then SymPy's full `simplify`.
    """
    cancelled = sp.cancel(named)
    if cancelled == 0:
        return cancelled, "cancel"
    terms = raw.args if raw.is_Add else (raw,)
    for at in (point, *also_at):
        try:
            values = evaluate(sp.Matrix([terms]), list(at), at)[0]
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            values = np.array([complex(t.evalf(subs=dict(at))) for t in terms])
        value, scale = abs(values.sum()), float(np.abs(values).sum())
        # certainly not zero (beyond the rounding of terms this large): no slow simplifiers
        if not value <= 1e-9 * max(1.0, scale):
            return _tidy(cancelled), "cancel; nonzero at a random point"
    if sp.cancel(raw) == 0:
        return sp.S.Zero, "cancel"
    if sp.cancel(sp.expand(raw.rewrite(sp.exp), power_exp=True)) == 0:
        return sp.S.Zero, "exp-rewrite + cancel"
    if sp.simplify(raw) == 0:
        return sp.S.Zero, "simplify"
    return _tidy(cancelled), "cancel, simplify: not zero"


def check_identity(
    derivation: Derivation,
    stated: Mapping[str, sp.Matrix] | None = None,
    seed: int = 0,
    tol: float = TOLERANCE,
) -> CheckResult:
    """Check one identity symbolically (SymPy) and numerically (the engine).

    (a) SymPy simplifies derived − stated to 0; (b) at a random float64 point, derived, stated and
    the engine's backward agree to `tol`.

    `stated` replaces the derivation's stated form for the named blocks (to show the
    checker failing on a wrong identity).
    """
    start = time.perf_counter()
    d = derivation.with_stated(stated, name=derivation.name) if stated else derivation
    variables = d.variables
    point = random_point(variables, seed, d.scale)
    # two more points, only to find a wrong residual fast (see simplify_to_zero)
    probes = [random_point(variables, [seed, k], d.scale) for k in (1, 2)]

    # (a) symbolic: derived − stated, written with the seed's names, simplified entry by entry
    symbolic_ok, how, expressions = True, set(), {}
    for b in d.blocks:
        if b.derived.shape != b.stated.shape:
            raise ValueError(
                f"check({d.name}): block {b.key}: derived has shape {b.derived.shape} but "
                f"stated has shape {b.stated.shape}"
            )
        residual = sp.zeros(*b.derived.shape)
        for i in range(b.derived.rows):
            for j in range(b.derived.cols):
                raw = b.derived[i, j] - b.stated[i, j]
                residual[i, j], method = simplify_to_zero(d.show(raw), raw, point, probes)
                how.add(method)
        symbolic_ok = symbolic_ok and all(e == 0 for e in residual)
        expressions[b.label] = {
            "derived": d.show(b.derived),
            "stated": d.show(b.stated),
            "residual": residual,
        }

    # (b) numeric: derived and stated (evaluated by `evaluate`) against the engine's own Jacobian
    engine = d.engine(point)
    errors = {"derived vs engine": 0.0, "stated vs engine": 0.0, "derived vs stated": 0.0}
    for b in d.blocks:
        got = np.asarray(engine[b.key], dtype=np.float64)
        if got.size != b.derived.rows * b.derived.cols:
            raise ValueError(
                f"check({d.name}): block {b.key}: the engine gave {got.shape} values, the "
                f"derivation has shape {b.derived.shape}"
            )
        got = got.reshape(b.derived.shape)
        derived_value = evaluate(b.derived, variables, point)
        stated_value = evaluate(b.stated, variables, point)
        pairs = {
            "derived vs engine": (derived_value, got),
            "stated vs engine": (stated_value, got),
            "derived vs stated": (derived_value, stated_value),
        }
        for key, (a, c) in pairs.items():
            err = float(np.max(np.abs(a - c))) if np.all(np.isfinite(a - c)) else float("inf")
            errors[key] = max(errors[key], err)
    return CheckResult(
        name=d.name,
        title=d.title,
        symbolic_ok=symbolic_ok,
        numeric_max_error=max(errors.values()),
        seconds=time.perf_counter() - start,
        expressions=expressions,
        errors=errors,
        engine_source=d.engine_source,
        tol=tol,
        proof=", ".join(sorted(how)),
    )
