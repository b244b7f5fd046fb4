"""The checker's details: every block and every comparison counts, the seed, scale and tol
given are the ones used, names and LaTeX spellings reach the printouts, and the glue
(`ts.symbolic.derive/check`, `tinygrad-seq derive`, the derivations demo) passes on what
it is given. Small made-up derivations and stand-in results keep each test fast.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

import tinygrad_seq as ts
from tests.test_cli import run_cli
from tinygrad_seq import symbolic
from tinygrad_seq.symbolic import checker
from tinygrad_seq.symbolic.checker import (
    Block,
    CheckResult,
    Derivation,
    Equation,
    check_identity,
    engine_jacobian,
    evaluate,
    random_point,
    sigmoid,
    simplify_to_zero,
    to_latex,
    to_pretty,
    vector,
)

X = vector("x{}", "x_{{{}}}", 2)
H = vector("h{}", "h_{{{}}}", 2)  # the name of tanh(x), elementwise
A = vector("a{}", "a_{{{}}}", 2)  # an input that no gradient depends on


def _two_blocks(offsets=(0.0, 0.0), seen=None, **fields) -> Derivation:
    """y = x ⊙ x, h = tanh(x) and s = a: ∂y/∂x = diag(2x), ∂h/∂x = diag(1 − h²).

    The engine adds offsets[k] to block k's Jacobian, and appends each point it is given
    to `seen`."""
    y = X.multiply_elementwise(X)
    h = checker.tanh(X)

    def engine(point):
        if seen is not None:
            seen.append(dict(point))
        xt = ts.Tensor(checker.float64_values(X, point).reshape(1, 2), requires_grad=True)
        (jy,) = engine_jacobian(xt * xt, [xt])
        (jh,) = engine_jacobian(xt.tanh(), [xt])
        return {"dy/dx": jy + offsets[0], "dh/dx": jh + offsets[1]}

    one_minus_h2 = sp.diag(*[1 - sp.tanh(x) ** 2 for x in X])
    return Derivation(
        **{
            "name": "test.two_blocks",
            "title": "two blocks",
            "dims": {"n": 2, "d_model": 2},
            "equations": [
                Equation("y = x ⊙ x", r"y = x \odot x", "y", "y", y),
                Equation("h = tanh(x)", r"h = \tanh(x)", "h", "h", h),
                Equation("s = a", "s = a", "s", "s", A),  # an input no gradient needs
            ],
            "statement": "∂y/∂x = diag(2x), ∂h/∂x = diag(1 − h²)",
            "statement_latex": r"\operatorname{diag}(2x)",
            "blocks": [
                Block("dy/dx", "∂y/∂x", r"\partial y", y.jacobian(X), sp.diag(*(2 * X))),
                Block("dh/dx", "∂h/∂x", r"\partial h", h.jacobian(X), one_minus_h2),
            ],
            "names": {H[i]: sp.tanh(X[i]) for i in range(2)},
            "engine": engine,
            "engine_source": "x * x, x.tanh()",
            **fields,
        }
    )


# ----------------------------------------------------------------- every block, every number
def test_the_two_block_derivation_passes():
    result = check_identity(_two_blocks())
    assert result.passed and result.symbolic_ok is True
    assert set(result.expressions) == {"∂y/∂x", "∂h/∂x"}


def test_a_wrong_first_block_fails_although_the_last_is_right():
    result = check_identity(_two_blocks(), stated={"dy/dx": sp.diag(*(3 * X))})
    assert result.symbolic_ok is False and not result.passed
    assert result.name == "test.two_blocks"  # the derivation's own name, not "(alternative)"


def test_an_engine_wrong_in_the_first_block_only_fails():
    result = check_identity(_two_blocks(offsets=(1e-7, 0.0)))
    assert result.errors["derived vs engine"] == pytest.approx(1e-7, rel=1e-3)
    assert result.errors["stated vs engine"] == pytest.approx(1e-7, rel=1e-3)
    assert result.errors["derived vs stated"] == 0.0
    assert not result.passed
    assert "numeric:  FAILED" in str(result) and "**FAIL**" in result.to_markdown()


def test_an_engine_that_gives_nan_fails():
    result = check_identity(_two_blocks(offsets=(np.nan, 0.0)))
    assert result.symbolic_ok is True
    assert result.numeric_max_error == float("inf") and not result.passed


def test_a_wrong_stated_form_is_measured_against_the_derived_one():
    result = check_identity(_two_blocks(), stated={"dy/dx": sp.diag(*(3 * X))})
    assert result.errors["derived vs stated"] > 1e-3
    assert result.errors["derived vs stated"] == pytest.approx(result.errors["stated vs engine"])


def test_the_tolerance_given_is_the_one_applied():
    d = _two_blocks(offsets=(1e-7, 0.0))
    assert check_identity(d, tol=1e-6).passed and d.check(tol=1e-6).passed
    assert check_identity(d, tol=1e-6).tol == 1e-6
    assert not check_identity(d, tol=1e-8).passed


def test_the_seed_picks_the_point():
    seen: list[dict] = []
    d = _two_blocks(seen=seen)
    d.check(seed=3)
    check_identity(d, seed=0)
    assert seen[0] == random_point(d.variables, seed=3)
    assert seen[1] == random_point(d.variables, seed=0) and seen[0] != seen[1]


def test_the_scale_of_the_point_is_the_derivations():
    seen: list[dict] = []
    check_identity(_two_blocks(seen=seen, scale=1e-3))
    assert 0 < max(abs(v) for v in seen[0].values()) < 1e-2
    variables = _two_blocks().variables
    unit, doubled = random_point(variables, seed=5), random_point(variables, seed=5, scale=2.0)
    assert doubled == {v: 2 * unit[v] for v in variables}


def test_variables_are_the_gradients_then_the_other_inputs():
    # a₁, a₂ sort before x₁, x₂, but no gradient depends on them: they come last
    assert _two_blocks().variables == (*X, *A)


def test_a_stated_form_with_a_symbol_of_its_own_is_checked_not_a_crash():
    z = sp.Symbol("z")
    result = check_identity(_two_blocks(), stated={"dy/dx": sp.diag(*(2 * X)) + z * sp.eye(2)})
    assert result.symbolic_ok is False and result.numeric_max_error > 0 and not result.passed


def test_an_engine_block_of_the_wrong_size_is_a_clear_error():
    d = _two_blocks()
    wrong = replace(d, engine=lambda point: {**d.engine(point), "dh/dx": np.zeros(3)})
    with pytest.raises(ValueError, match="the engine gave"):
        check_identity(wrong)


# ----------------------------------------------------------------- residuals and the result
def test_a_residual_is_written_with_the_names():
    stated = sp.diag(*[1 + sp.tanh(x) ** 2 for x in X])  # the sign of h² flipped
    result = check_identity(_two_blocks(), stated={"dh/dx": stated})
    residual = result.expressions["∂h/∂x"]["residual"]
    assert residual == sp.diag(*[-2 * h**2 for h in H])  # in h, not tanh(x)
    assert result.expressions["∂h/∂x"]["derived"] == sp.diag(*[1 - h**2 for h in H])
    text = str(result)
    assert "∂h/∂x: derived − stated =" in text and "h₁" in text


def test_conditions_count_and_print():
    kept = dict(name="n", title="t", symbolic_ok=True, numeric_max_error=0.0, seconds=0.0)
    result = CheckResult(**kept, expressions={}, conditions={"a bound holds": False})
    assert not result.passed and not bool(result)
    assert "FAILED: a bound holds" in str(result)
    assert CheckResult(**kept, expressions={}, conditions={"a bound holds": True}).passed


def test_simplify_to_zero_says_nonzero_when_no_simplifier_reaches_zero():
    a = sp.Symbol("a")
    half = a - sp.Rational(1, 2)  # zero at the point a = 1/2, but not an identity
    residual, how = simplify_to_zero(half, half, {a: 0.5})
    assert residual != 0 and how == "cancel, simplify: not zero"


def test_simplify_to_zero_tries_its_other_points_before_the_slow_simplifiers():
    a = sp.Symbol("a")
    half = a - sp.Rational(1, 2)  # zero at the first point, not at the second
    residual, how = simplify_to_zero(half, half, {a: 0.5}, [{a: 0.5}, {a: 0.75}])
    assert sp.expand(residual - half) == 0 and how == "cancel; nonzero at a random point"
    assert simplify_to_zero(half, half, {a: 0.5}, [{a: 0.5}])[1] == "cancel, simplify: not zero"


def test_a_wrong_form_whose_residual_is_tiny_at_the_point_fails_fast():
    """At seed 3, ∂L/∂W_hh without the earlier step's δa₂ h₁ᵀ leaves a residual whose first
    row is ~1e-10 at the point (a saturated tanh makes δa₂,₁ tiny there): one point alone
    sent it to SymPy's simplify for many minutes; the checker's other points find it."""
    import signal

    from tinygrad_seq.symbolic import rnn
    from tinygrad_seq.symbolic.checker import hadamard

    d = rnn.bptt_parameter_gradients()
    s = rnn._two_steps(2, 1)
    dh_3 = vector("δh₃,{}", r"\delta h_{{3,{}}}", 2)
    da_3 = hadamard(dh_3, rnn._tanh_prime(s.h_3))
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the check took over 60 s"))
    signal.alarm(60)
    try:
        result = d.with_stated({"W_hh": da_3 * s.h_2.T}).check(seed=3)
    finally:
        signal.alarm(0)
    assert result.symbolic_ok is False and not result.passed
    assert "nonzero at a random point" in result.proof and "simplify" not in result.proof


def test_simplify_to_zero_uses_full_simplify_last():
    a = sp.Symbol("a")
    expr = sp.gamma(a + 1) - a * sp.gamma(a)  # neither cancel nor exponentials see it
    assert simplify_to_zero(expr, expr, {a: 0.4}) == (0, "simplify")


def test_simplify_to_zero_evaluates_what_evaluate_cannot():
    a = sp.Symbol("a")
    expr = sp.sin(a) - a  # no float64 rule for sin: SymPy's evalf finds it nonzero
    assert simplify_to_zero(expr, expr, {a: 0.5})[1] == "cancel; nonzero at a random point"


def test_a_nonzero_residual_is_factored():
    a = sp.Symbol("a")
    expr = a**2 - 2 * a + 1
    residual, _ = simplify_to_zero(expr, expr, {a: 0.5})
    assert residual == (a - 1) ** 2 and residual.is_Pow


def test_evaluate_knows_pi_and_e():
    a = sp.Symbol("a")
    got = evaluate(sp.Matrix([[sp.pi * a, sp.E]]), [a], {a: 2.0})
    np.testing.assert_allclose(got, [[2 * np.pi, np.e]], rtol=1e-15)


# ----------------------------------------------------------------- symbols, printing, LaTeX
def test_sub_writes_t_as_a_subscript():
    assert checker.sub("t-1") == "ₜ₋₁" and checker.sub("t+12") == "ₜ₊₁₂"


def test_latex_spellings_follow_the_element_indices():
    h = vector("hₜ₋₁,{}", "h_{{t-1,{}}}", 2)
    assert [to_latex(e) for e in h] == ["h_{t-1,1}", "h_{t-1,2}"]
    W = checker.matrix("W{}{}", "W_{{{}{}}}", 2, 3)
    assert to_latex(W[0, 2]) == "W_{13}" and to_latex(W[1, 0]) == "W_{21}"
    assert str(W[0, 2]) == "W₁₃"
    assert str(checker.matrix("W{}{}", "W_{{{}{}}}", 10, 10)[0, 9]) == "W₁,₁₀"  # past 9


def test_hadamard_names_itself_on_a_shape_mismatch():
    with pytest.raises(ValueError, match="hadamard: shapes differ"):
        checker.hadamard(sp.zeros(2, 1), sp.zeros(1, 2))


def test_sigmoid_prints_as_sigma():
    x = sp.Symbol("x")
    assert to_latex(sigmoid(x) ** 2) == r"\sigma\left(x\right)^{2}"
    assert to_pretty(sigmoid(x)) == "σ(x)"
    long = sum(sigmoid(sp.Symbol(f"x{k}")) * sp.Symbol(f"y{k}") for k in range(40))
    text = to_pretty(long)  # too many operations to draw: linear text, wrapped
    assert "σ(x0)" in text and "sigmoid" not in text
    assert max(map(len, text.splitlines())) <= checker.PRETTY_WIDTH


def test_a_small_matrix_prints_whole_and_a_large_one_entry_by_entry():
    small = to_pretty(checker.matrix("W{}{}", "W_{{{}{}}}", 3, 3))
    assert "[1,1] = " not in small and small.startswith("⎡W₁₁  W₁₂  W₁₃⎤")
    large = to_pretty(checker.matrix("W{}{}", "W_{{{}{}}}", 5, 5)).splitlines()
    assert len(large) == 25 and large[0] == "[1,1] = W₁₁" and large[-1] == "[5,5] = W₅₅"


def test_a_label_hangs_on_the_middle_row():
    assert checker._hang("y = ", "a\nb\nc") == "    a\ny = b\n    c"


def test_a_wrapped_line_starts_with_its_label_and_a_listing_names_each_entry():
    # a scalar too wide for one line wraps as linear text: its label belongs on the first
    # line, not hung on a continuation line in the middle
    wide = sum(sp.tanh(sp.Symbol(f"a{k}") + sp.Symbol(f"b{k}")) for k in range(8))
    rows = to_pretty(wide, "e = ").splitlines()
    assert len(rows) > 1 and rows[0].startswith("e = ") and "=" not in "".join(rows[1:])
    # a matrix listed entry by entry names each entry after its label, each entry in the
    # same style: one entry too wide to draw makes the others linear text too
    tall = sp.Matrix([[sp.Symbol("x") ** 2, wide], [sp.sqrt(3) * sp.Symbol("y"), 1]])
    listing = to_pretty(tall, "A = ")
    heads = [r.split(" = ")[0] for r in listing.splitlines() if " = " in r]
    assert heads == ["A[1,1]", "A[1,2]", "A[2,1]", "A[2,2]"]
    assert "A[1,1] = x^2" in listing and "A[2,1] = √3·y" in listing and "sqrt" not in listing
    assert max(map(len, listing.splitlines())) <= checker.PRETTY_WIDTH
    assert to_pretty(tall).startswith("[1,1] = x^2")  # no label: the indices alone


def test_the_models_written_out_read_from_their_label():
    # the additive score, one scalar too wide for a line, had its "e = " on the second line;
    # softmax(QKᵀ/√d_k), listed entry by entry, had "A = " in the middle of the listing
    rows = str(symbolic.attention.additive_score_gradients()).splitlines()
    k = next(i for i, r in enumerate(rows) if "written out in elements" in r)
    assert rows[k + 1].strip().startswith("e = v_a₁·tanh(") and " = " not in rows[k + 2]
    text = str(symbolic.attention.scaled_dot_product_gradients())
    assert "A[1,1] = " in text and "A[2,2] = " in text
    assert not any(r.strip().startswith("A = ") and "[" in r for r in text.splitlines())


def test_a_derivation_prints_what_the_seed_says_and_its_notes():
    text = str(_two_blocks(seed_says="h' = 1 - h^2", notes=("a note",)))
    assert "the seed writes: h' = 1 - h^2" in text and "note: a note" in text


def test_markdown_braces_long_subscripts_and_shows_the_derived_form():
    assert checker._latex_subscripts("d_model") == "d_{model}"
    assert checker._latex_subscripts("d_k") == "d_k"
    stated = sp.diag(*[(1 - sp.tanh(x)) * (1 + sp.tanh(x)) for x in X])  # equal, not alike
    md = _two_blocks(blocks=_two_blocks().with_stated({"dh/dx": stated}).blocks).to_markdown()
    assert "$d_{model} = 2$" in md
    assert to_latex(sp.diag(*[1 - h**2 for h in H])) in md
    assert to_latex(sp.diag(*[(1 - h) * (1 + h) for h in H])) not in md


def test_with_stated_can_say_what_it_states():
    d = _two_blocks().with_stated({"dy/dx": sp.diag(*(3 * X))}, statement="∂y/∂x = 3x")
    assert d.title == "stated instead: ∂y/∂x = 3x" and d.statement == "∂y/∂x = 3x"
    assert d.name == "test.two_blocks (alternative)"


def test_show_applies_display_and_readable_applies_tidy():
    d = _two_blocks(display=lambda e: e.subs(H[0], 7), tidy=sp.expand)
    assert d.show(sp.tanh(X[0]) + 1) == 8  # named h₁, then displayed as 7
    assert d.show(sp.Matrix([sp.tanh(X[0])])) == sp.Matrix([7])
    assert d.readable(sp.Matrix([(X[1] + 1) ** 2])) == sp.Matrix([X[1] ** 2 + 2 * X[1] + 1])


# ----------------------------------------------------------------- the engine side
def test_float64_module_leaves_the_default_dtype_as_it_was():
    before = ts.get_default_dtype()
    weights = {"W": np.arange(6.0).reshape(3, 2), "b": np.ones(3)}
    module = checker.float64_module(lambda: ts.nn.Linear(2, 3), weights)
    assert ts.get_default_dtype() == before == np.float32
    assert module.W.dtype == np.float64
    np.testing.assert_array_equal(module.W.numpy(), weights["W"])


# ----------------------------------------------------------------- ts.symbolic's glue
@pytest.fixture
def stand_in_models(monkeypatch):
    """Every model's derive() and check(seed) replaced by instant stand-ins; returns the
    seeds each check was called with, by model."""
    seeds: dict[str, list[int]] = {}
    for model, module in symbolic.MODELS.items():
        seeds[model] = []

        def check(seed=0, model=model):
            seeds[model].append(seed)
            return [_result(f"{model}.first", True)]

        monkeypatch.setattr(module, "derive", lambda model=model: [_StandIn(model)])
        monkeypatch.setattr(module, "check", check)
    return seeds


class _StandIn(SimpleNamespace):
    """A derivation as `tinygrad-seq derive` prints it."""

    def __init__(self, name: str):
        super().__init__(name=name)

    def __str__(self) -> str:
        return f"derivation {self.name}"

    def to_markdown(self) -> str:
        return f"### derivation {self.name}"


def _result(name: str, passed: bool, seconds: float = 1.25) -> CheckResult:
    return CheckResult(
        name=name,
        title=f"{name} stands in",
        symbolic_ok=passed,
        numeric_max_error=0.0,
        seconds=seconds,
        expressions={},
    )


@pytest.mark.numpy_only
def test_derive_and_check_with_no_name_cover_every_model(stand_in_models):
    assert [d.name for d in symbolic.derive()] == list(symbolic.MODELS)
    assert [r.name for r in symbolic.check(seed=4)] == [f"{m}.first" for m in symbolic.MODELS]
    assert all(s == [4] for s in stand_in_models.values())
    symbolic.check("gru", seed=7)
    assert stand_in_models["gru"] == [4, 7]


@pytest.mark.numpy_only
def test_derive_command_on_every_model(capsys, stand_in_models, monkeypatch, tmp_path):
    from tinygrad_seq.demos import derive_cmd

    module = symbolic.MODELS["rnn"]
    extra = [_result("rnn.first", True), _result("rnn.second", False, seconds=2.5)]
    monkeypatch.setattr(module, "check", lambda seed: extra)  # one result past the derivation
    page = tmp_path / "all.md"
    code, out, err = run_cli(capsys, "derive", "--latex", str(page), "--seed", "4")
    assert code == 1 and "FAILED: rnn.second" in err
    for model in symbolic.MODELS:
        assert f" {derive_cmd.TITLES[model]} " in out
    assert "5/6 identities passed" in out
    assert "    1.25  PASS  rnn.first" in out and "    2.50  FAIL  rnn.second" in out
    text = page.read_text(encoding="utf-8")
    assert "(numpy, seed 4)" in text
    assert "### rnn.second stands in" in text  # the extra result's heading
    assert text.endswith("\n")


# ----------------------------------------------------------------- the derivations demo
@pytest.mark.numpy_only
def test_the_derivations_demo_reports_each_result_as_it_is(monkeypatch, tmp_path):
    from tinygrad_seq.demos import derivations_demo
    from tinygrad_seq.demos.common import DemoContext
    from tinygrad_seq.viz import plots

    def stand_in(name, symbolic_ok, error, tol, errors):
        kept = dict(title=name, seconds=0.5, expressions={}, errors=errors)
        return CheckResult(name, symbolic_ok=symbolic_ok, numeric_max_error=error, tol=tol, **kept)

    results = [
        stand_in("good", True, 1e-13, 1e-8, {"derived vs engine": 1e-13}),
        stand_in("wrong", False, 1e-3, 1e-8, {"derived vs engine": 1e-3}),
        stand_in("bound", None, 5e-2, 0.1, {"engine vs J_T⋯J₂ (relative)": 5e-2}),
    ]
    calls, drawn = [], []

    def check(model, seed=0):
        calls.append((model, seed))
        return results

    def figure(path, numbers, tol):
        drawn.append((numbers, tol))
        return Path(path)

    monkeypatch.setattr(symbolic, "MODELS", {"rnn": symbolic.MODELS["rnn"]})
    monkeypatch.setattr(symbolic, "check", check)
    monkeypatch.setattr(symbolic, "derive", lambda: [SimpleNamespace(name="good", statement="s")])
    monkeypatch.setattr(plots, "derivations_figure", figure)
    out = derivations_demo.run(DemoContext(out=tmp_path, seed=3))

    assert calls == [("rnn", 3)]
    n = out["numbers"]
    assert (n["passed"], n["total"]) == (2, 3) and out["headline"].startswith("2/3 ")
    assert [d["passed"] for d in n["identities"]] == [True, False, True]
    assert n["tolerance"] == 1e-8 and drawn[0][1] == 1e-8
    assert n["worst_engine_vs_sympy"] == 1e-3 and n["worst_numeric_error"] == 5e-2
    compared = [d["compared"] for d in n["identities"]]
    assert compared[:2] == [derivations_demo.SYMPY_COMPARISON] * 2
    assert compared[2] == "engine's relative error against the numeric J_T⋯J₂"
    rows = out["tables"][0]["rows"]
    assert [r[1] for r in rows] == ["0 (proved)", "FAILED", "n/a (an inequality)"]
    assert [r[3] for r in rows] == ["pass", "FAIL", "pass"]
    assert n["identities"][0]["statement"] == "s"


def test_an_identity_between_large_terms_is_not_taken_for_nonzero_by_its_rounding():
    # 10¹² tanh(x) and 10¹² (e^{2x} − 1)/(e^{2x} + 1) differ by ~1e-4 in float64: the
    # random-point screen must allow for the terms' size, and the simplifiers prove it
    x = sp.Symbol("x")
    raw = 10**12 * sp.tanh(x) - 10**12 * (sp.exp(2 * x) - 1) / (sp.exp(2 * x) + 1)
    assert checker.simplify_to_zero(raw, raw, {x: 0.7}) == (0, "exp-rewrite + cancel")
    wrong = raw + 10**4  # off by far more than the rounding: found nonzero at once
    _, how = checker.simplify_to_zero(wrong, wrong, {x: 0.7})
    assert how == "cancel; nonzero at a random point"


# ----------------------------------------------------------------- a large block's sample
def test_a_long_entry_prints_its_leading_terms_and_how_many_there_are():
    x = checker.vector("x{}", "x_{{{}}}", 12)
    entry = sp.expand(sum(x) ** 2)  # 78 terms: far past ENTRY_CHARS
    total = len(entry.as_ordered_terms())
    text = checker.sample_entry(entry, "[1,1] = ")
    flat = " ".join(text.split())  # as wrapped to the width
    assert text.startswith("[1,1] = ") and flat.endswith(f"+ … ({total} terms in all)")
    assert len(text) < checker.ENTRY_CHARS + 40
    latex = checker.sample_entry_latex(entry, "E")
    assert latex.startswith(r"\begin{aligned}") and r"+ \cdots" in latex
    assert checker.sample_entry(x[0] + x[1], "[1,1] = ") == "[1,1] = x₁ + x₂"  # short: whole


def test_a_block_with_a_formula_prints_it_and_a_replaced_block_drops_it():
    from tinygrad_seq.symbolic import attention

    d = attention.scaled_dot_product_gradients()
    text = str(d)
    assert "  ∂L/∂Q = δS K / √d_k" in text and "entry [1,1] of 6 (the check compares all 6)" in text
    assert "  ∂L/∂V = Aᵀ δO" in text  # small: printed whole below its formula
    assert "[2,1] =" not in text.split("  ∂L/∂Q = δS K")[1]  # one entry of ∂L/∂Q and ∂L/∂K
    wrong = d.with_stated({"Q": d.blocks[0].stated * 2}, statement="∂L/∂Q doubled")
    assert wrong.blocks[0].formula == "" and wrong.blocks[1].formula == d.blocks[1].formula
    assert "∂L/∂Q = δS K / √d_k" not in str(wrong)  # it would say what is no longer stated
    result = wrong.check()
    assert not result.passed and result.symbolic_ok is False  # as strong as ever


def test_a_long_residual_prints_a_few_entries_and_how_many_there_are():
    from tests.symbolic.test_latex_prose import assert_fits, assert_typesets
    from tinygrad_seq.symbolic import lstm

    d = lstm.derive()[-1]
    block = d.blocks[0]
    result = d.with_stated({block.key: block.stated * 2}).check()
    assert not result.passed and str(result).startswith("[FAIL]")  # as detectable as before
    text, md = str(result), result.to_markdown()
    assert "[1,3] = " in text and "[2,1] = " not in text and "… (6 entries, 6 nonzero)" in text
    assert r"\Delta_{1,3}" in md and r"\Delta_{2,1}" not in md and "(6 entries, 6 nonzero)" in md
    assert_typesets(md)
    assert_fits(md)
