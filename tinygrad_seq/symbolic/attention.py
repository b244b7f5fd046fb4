"""Attention's gradient identities, derived by SymPy and checked against the engine.

- `softmax_jacobian`: α = softmax(e), ∂α/∂e = diag(α) − ααᵀ (`softmax_wrong_sign` feeds the
  checker diag(α) + ααᵀ, which it rejects).
- `softmax_cross_entropy`: L = −log p_y, p = softmax(o): ∂L/∂oᵢ = pᵢ − δᵢᵧ, the output
  layer's gradient (checked against the engine's fused cross-entropy; not attention, but
  the softmax Jacobian above simplified).
- `scaled_dot_product_gradients`: O = softmax(QKᵀ/√d_k) V, L = Σ δO ⊙ O for a generic
  upstream δO: ∂L/∂V = Aᵀ δO, ∂L/∂Q = δS K/√d_k, ∂L/∂K = δSᵀ Q/√d_k, where row i of
  δS is (diag(αᵢ) − αᵢαᵢᵀ)(δO Vᵀ)ᵢ — the softmax Jacobian again, once per query.
- `additive_score_gradients`: e = v_aᵀ tanh(W_a s + U_a h) (s = h_t^dec, h = h_i^enc),
  with u = tanh(W_a s + U_a h) and δ = v_a ⊙ (1 − u²): ∂e/∂s = W_aᵀ δ, ∂e/∂h = U_aᵀ δ,
  ∂e/∂W_a = δ sᵀ, ∂e/∂U_a = δ hᵀ, ∂e/∂v_a = u.
- `multiplicative_score_gradients`: Luong's e = sᵀ W_a h: ∂e/∂s = W_a h, ∂e/∂h = W_aᵀ s,
  ∂e/∂W_a = s hᵀ.

The softmax is written with exponentials, αᵢ = exp(eᵢ)/Z, Z = Σⱼ exp(eⱼ), and SymPy
differentiates that; for printing (and for the first, fastest simplification) exp(eᵢ) is
written αᵢ·Z, an invertible change of variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

import sympy as sp

import tinygrad_seq as ts

from .checker import (
    Block,
    CheckResult,
    Derivation,
    Equation,
    diag,
    engine_gradients,
    engine_jacobian,
    float64_module,
    float64_values,
    hadamard,
    matrix,
    sub,
    symbol,
    tanh,
    tensor,
    vector,
)


def _exp_as_alpha(bases: Mapping[sp.Expr, sp.Expr]) -> Callable[[sp.Expr], sp.Expr]:
    """A rewrite exp(k·eᵢ) → (αᵢ·Z)^k for printing, `bases` = {eᵢ: αᵢ·Z}."""

    def swap(arg: sp.Expr) -> sp.Expr:
        if arg in bases:
            return bases[arg]
        for base, named in bases.items():
            ratio = arg / base  # SymPy's automatic simplification finds k in k·eᵢ / eᵢ
            if ratio.is_Rational:
                return named**ratio
        return sp.exp(arg)

    return lambda expr: expr.replace(sp.exp, swap)


def _softmax(e: sp.Matrix, alpha: sp.Matrix, Z: sp.Symbol):
    """α = exp(e)/Σ exp(e) for one row of scores; returns (α, names, display bases)."""
    total = sum(sp.exp(x) for x in e)
    values = sp.Matrix(e.shape[0], e.shape[1], [sp.exp(x) / total for x in e])
    names = {alpha[k]: values[k] for k in range(len(e))}
    names[Z] = total
    bases = {e[k]: alpha[k] * Z for k in range(len(e))}
    return values, names, bases


# ------------------------------------------------------------------ softmax
@cache
def softmax_jacobian(n: int = 3) -> Derivation:
    """∂α/∂e = diag(α) − ααᵀ for α = softmax(e), e of length n."""
    e = vector("e{}", "e_{{{}}}", n)
    alpha = vector("α{}", r"\alpha_{{{}}}", n)
    Z = symbol("Z", "Z")
    values, names, bases = _softmax(e, alpha, Z)
    derived = values.jacobian(e)
    stated = diag(values) - values * values.T

    def engine(point):
        scores = ts.Tensor(float64_values(e, point).reshape(1, n), requires_grad=True)
        (J,) = engine_jacobian(scores.softmax(axis=-1), [scores])
        return {"dalpha/de": J}

    return Derivation(
        name="attention.softmax_jacobian",
        title="softmax Jacobian: ∂α/∂e = diag(α) − ααᵀ",
        dims={"n": n},
        equations=[
            Equation(
                "αᵢ = exp(eᵢ) / Σⱼ exp(eⱼ)",
                r"\alpha_i = \frac{\exp(e_i)}{\sum_j \exp(e_j)}",
                "α",
                r"\alpha",
                values,
            )
        ],
        statement="∂αᵢ/∂eⱼ = αᵢ(δᵢⱼ − αⱼ), i.e. ∂α/∂e = diag(α) − ααᵀ",
        statement_latex=r"\frac{\partial \alpha}{\partial e} = \operatorname{diag}(\alpha) - "
        r"\alpha\alpha^\top",
        blocks=[Block("dalpha/de", "∂α/∂e", r"\partial \alpha / \partial e", derived, stated)],
        names=names,
        engine=engine,
        engine_source="ts.Tensor.softmax (float64)",
        seed_says="αₜ,ᵢ = exp(eₜ,ᵢ) / Σⱼ exp(eₜ,ⱼ) (no gradient stated)",
        display=_exp_as_alpha(bases),
        notes=["each row sums to 0 (Σᵢ αᵢ = 1 cannot change), and the matrix is symmetric."],
    )


def softmax_wrong_sign(n: int = 3) -> Derivation:
    """∂α/∂e stated as diag(α) + ααᵀ (a wrong sign), for the checker to reject."""
    d = softmax_jacobian(n)
    alpha = sp.Matrix([d.names[k] for k in d.names if str(k).startswith("α")])
    return d.with_stated(
        {"dalpha/de": diag(alpha) + alpha * alpha.T},
        name="attention.softmax_wrong_sign",
        statement="∂α/∂e = diag(α) + ααᵀ (wrong sign)",
    )


# ------------------------------------------------------------------ the output layer's loss
@cache
def softmax_cross_entropy(n: int = 3, target: int = 1) -> Derivation:
    """∂L/∂oᵢ = pᵢ − δᵢᵧ for L = −log p_y, p = softmax(o), o the logits.

    The logits are o = W_o hₜ^dec + b_o, and pᵢ − δᵢᵧ is the gradient every model's output
    layer starts backpropagation with (the seed's cross-entropy over p(y_t | y_<t, x)). It
    sits here beside the softmax Jacobian it simplifies. `target` is the class index counted
    from 0 (as the engine takes it); the printed y counts from 1, as the element names p₁,
    p₂, ... do."""
    if not 0 <= target < n:
        raise ValueError(f"softmax_cross_entropy: target must be in [0, {n}), got {target}")
    o = vector("o{}", "o_{{{}}}", n)
    p = vector("p{}", "p_{{{}}}", n)
    Z = symbol("Z", "Z")
    values, names, bases = _softmax(o, p, Z)
    loss = -sp.log(values[target])
    derived = sp.Matrix([sp.diff(loss, x) for x in o])
    one_hot = sp.Matrix([int(k == target) for k in range(n)])
    stated = values - one_hot

    def engine(point):
        logits = ts.Tensor(float64_values(o, point).reshape(1, n), requires_grad=True)
        ts.functional.cross_entropy(logits, [target]).backward()
        return {"dL/do": ts.backend.to_numpy(logits.grad).reshape(n, 1)}

    y = target + 1  # element names count from 1: p₁, p₂, ...
    return Derivation(
        name="attention.softmax_cross_entropy",
        title=f"cross-entropy on a softmax: ∂L/∂oᵢ = pᵢ − δᵢᵧ (here y = {y})",
        dims={"n": n},
        equations=[
            Equation(
                "pᵢ = exp(oᵢ) / Σⱼ exp(oⱼ)",
                r"p_i = \frac{\exp(o_i)}{\sum_j \exp(o_j)}",
                "p",
                "p",
                values,
            ),
            Equation(
                f"L = −log p{sub(y)}",
                rf"L = -\log p_{{{y}}}",
                "L",
                "L",
                sp.Matrix([loss]),
            ),
        ],
        statement=f"∂L/∂oᵢ = pᵢ − δᵢᵧ (δᵢᵧ = 1 if i = y, else 0): p minus the one-hot "
        f"target, here y = {y}; o = W_o hₜ^dec + b_o are the output layer's logits",
        statement_latex=r"\frac{\partial L}{\partial o_i} = p_i - \delta_{iy}",
        blocks=[Block("dL/do", "∂L/∂o", r"\partial L / \partial o", derived, stated)],
        names=names,
        engine=engine,
        engine_source="ts.functional.cross_entropy (float64, one fused op)",
        seed_says="p(y_t | y_<t, x) = softmax(W_o h_t^dec + b_o); cross-entropy over the "
        "output sequence (no gradient stated)",
        display=lambda expr: sp.cancel(_exp_as_alpha(bases)(expr)),  # −(p₂ − p₂²)/p₂ → p₂ − 1
        notes=[
            "the softmax Jacobian diag(p) − ppᵀ times −1/p_y on entry y collapses to p minus "
            "the one-hot target, so no Jacobian need be built. The engine fuses softmax and "
            "cross-entropy into one op for that, and for stability: it computes −log p_y as "
            "log Σ exp(o − max o) − (o_y − max o), which neither overflows nor takes log 0. "
            "The entries sum to 0.",
            "the seed sums the loss over the output steps; the engine's cross_entropy takes "
            "the mean over its N counted positions, so its gradient is (p − one-hot)/N "
            "(N = 1 here).",
        ],
    )


# ------------------------------------------------------------------ scaled dot-product
SDPA_TEXT = """O = A V, A = softmax(S) row by row, S = QKᵀ/√d_k; for L = Σ δO ⊙ O:
      ∂L/∂V = Aᵀ δO
      δA = δO Vᵀ,   δSᵢ = (diag(αᵢ) − αᵢαᵢᵀ) δAᵢ   (row i: the softmax Jacobian)
      ∂L/∂Q = δS K / √d_k,   ∂L/∂K = δSᵀ Q / √d_k"""

SDPA_LATEX = (
    r"\begin{aligned}"
    r"\frac{\partial L}{\partial V} &= A^\top \delta O,\quad \delta A = \delta O\,V^\top,\quad "
    r"\delta S_{i} = (\operatorname{diag}(\alpha_i) - \alpha_i\alpha_i^\top)\,\delta A_{i}\\"
    r"\frac{\partial L}{\partial Q} &= \frac{\delta S\,K}{\sqrt{d_k}},\quad "
    r"\frac{\partial L}{\partial K} = \frac{\delta S^\top Q}{\sqrt{d_k}}"
    r"\end{aligned}"
)


def _attention_backward(
    Q: sp.Matrix, K: sp.Matrix, V: sp.Matrix, A: sp.Matrix, dO: sp.Matrix
) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """The stated backward of O = A V, A = softmax(QKᵀ/√d_k) row by row, for an upstream
    δO: (∂L/∂Q, ∂L/∂K, ∂L/∂V), with δSᵢ = (diag(αᵢ) − αᵢαᵢᵀ) δAᵢ, row i's softmax Jacobian."""
    scale = sp.sqrt(Q.cols)  # √d_k
    dA = dO * V.T
    dS = sp.Matrix.vstack(
        *[((diag(A[i, :]) - A[i, :].T * A[i, :]) * dA[i, :].T).T for i in range(A.rows)]
    )
    return dS * K / scale, dS.T * Q / scale, A.T * dO


@cache
def scaled_dot_product_gradients(
    n_q: int = 2, n_k: int = 2, d_k: int = 3, d_v: int = 2
) -> Derivation:
    """∂L/∂Q, ∂L/∂K, ∂L/∂V of softmax(QKᵀ/√d_k)V for L = Σ δO ⊙ O (δO generic).

    d_k differs from the other sizes by default, so an engine that scaled by √n_k, √n_q
    or √d_v instead of √d_k would fail the check."""
    Q = matrix("Q{}{}", "Q_{{{}{}}}", n_q, d_k)
    K = matrix("K{}{}", "K_{{{}{}}}", n_k, d_k)
    V = matrix("V{}{}", "V_{{{}{}}}", n_k, d_v)
    dO = matrix("δO{}{}", r"\delta O_{{{}{}}}", n_q, d_v)
    alpha = matrix("α{}{}", r"\alpha_{{{}{}}}", n_q, n_k)
    Zs = vector("Z{}", "Z_{{{}}}", n_q)
    S = Q * K.T / sp.sqrt(d_k)
    rows, names, bases = [], {}, {}
    for i in range(n_q):
        values, row_names, row_bases = _softmax(S[i, :], alpha[i, :], Zs[i])
        rows.append(values)
        names.update(row_names)
        bases.update(row_bases)
    A = sp.Matrix.vstack(*rows)  # (n_q, n_k)
    out = A * V  # O: (n_q, d_v)
    L = sum(hadamard(dO, out))

    def grad(P: sp.Matrix) -> sp.Matrix:
        return P.applyfunc(lambda p: sp.diff(L, p))

    stated = dict(zip("QKV", _attention_backward(Q, K, V, A, dO), strict=True))
    labels = {
        "Q": ("∂L/∂Q", r"\partial L / \partial Q"),
        "K": ("∂L/∂K", r"\partial L / \partial K"),
        "V": ("∂L/∂V", r"\partial L / \partial V"),
    }
    formulas = {  # each block's closed form, printed above one entry of SymPy's
        "Q": (
            "∂L/∂Q = δS K / √d_k,  row i of δS: (diag(αᵢ) − αᵢαᵢᵀ)(δO Vᵀ)ᵢ",
            r"\frac{\partial L}{\partial Q} = \frac{\delta S\,K}{\sqrt{d_k}},\quad "
            r"\delta S_i = (\operatorname{diag}(\alpha_i) - \alpha_i\alpha_i^\top)\,"
            r"(\delta O\,V^\top)_i",
        ),
        "K": (
            "∂L/∂K = δSᵀ Q / √d_k  (δS as for ∂L/∂Q)",
            r"\frac{\partial L}{\partial K} = \frac{\delta S^\top Q}{\sqrt{d_k}}",
        ),
        "V": ("∂L/∂V = Aᵀ δO", r"\frac{\partial L}{\partial V} = A^\top \delta O"),
    }
    inputs = {"Q": Q, "K": K, "V": V}

    def engine(point):
        # the function multi-head attention runs for every head: the seed's formula
        from tinygrad_seq.nn.attention import scaled_dot_product_attention

        q, k, v = (tensor(inputs[x], point, requires_grad=True, name=x) for x in "QKV")
        context, _ = scaled_dot_product_attention(q, k, v)
        loss = (context * tensor(dO, point)).sum()
        loss.backward()  # L is one number: its gradient is one backward
        return {x: ts.backend.to_numpy(t.grad) for x, t in zip("QKV", (q, k, v), strict=True)}

    return Derivation(
        name="attention.scaled_dot_product_gradients",
        title="scaled dot-product attention: ∂L/∂Q, ∂L/∂K, ∂L/∂V of softmax(QKᵀ/√d_k)V",
        dims={"n_q": n_q, "n_k": n_k, "d_k": d_k, "d_v": d_v},
        equations=[
            Equation(
                "A = softmax(QKᵀ/√d_k) (row-wise)",
                r"A = \operatorname{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)",
                "A",
                "A",
                A,
            ),
            Equation("O = A V", "O = A V", "O", "O", alpha * V),
        ],
        statement=SDPA_TEXT,
        statement_latex=SDPA_LATEX,
        blocks=[Block(x, *labels[x], grad(inputs[x]), stated[x], *formulas[x]) for x in "QKV"],
        names=names,
        engine=engine,
        engine_source=(
            "ts.nn.attention.scaled_dot_product_attention, as multi-head attention runs it "
            "(float64), one backward of L"
        ),
        seed_says="Attention(Q, K, V) = softmax(QKᵀ/√d_k) V (no gradient stated)",
        display=_exp_as_alpha(bases),
        tidy=lambda expr: sp.collect(sp.expand(expr), list(dO)),
        notes=[
            "δO is a matrix of free symbols, so this is the vector-Jacobian product for "
            "every upstream gradient, i.e. the full Jacobian of O."
        ],
    )


# ------------------------------------------------------------------ additive score
ADDITIVE_TEXT = """e = v_aᵀ u, u = tanh(W_a s + U_a h), δ = v_a ⊙ (1 − u²):
      ∂e/∂s = W_aᵀ δ,  ∂e/∂h = U_aᵀ δ,  ∂e/∂W_a = δ sᵀ,  ∂e/∂U_a = δ hᵀ,  ∂e/∂v_a = u"""

ADDITIVE_LATEX = (
    r"\delta = v_a\odot(1-u^2),\ u = \tanh(W_a s + U_a h):\quad "
    r"\frac{\partial e}{\partial s} = W_a^\top\delta,\ "
    r"\frac{\partial e}{\partial h} = U_a^\top\delta,\ "
    r"\frac{\partial e}{\partial W_a} = \delta s^\top,\ "
    r"\frac{\partial e}{\partial U_a} = \delta h^\top,\ "
    r"\frac{\partial e}{\partial v_a} = u"
)


@cache
def additive_score_gradients(q_dim: int = 2, k_dim: int = 2, attn_dim: int = 2) -> Derivation:
    """Gradients of Bahdanau's score e = v_aᵀ tanh(W_a s + U_a h) w.r.t. s, h, W_a, U_a, v_a."""
    s = vector("s{}", "s_{{{}}}", q_dim)  # the decoder state h_t^dec
    h = vector("h{}", "h_{{{}}}", k_dim)  # an encoder state h_i^enc
    W_a = matrix("W_a{}{}", "W_{{a,{}{}}}", attn_dim, q_dim)
    U_a = matrix("U_a{}{}", "U_{{a,{}{}}}", attn_dim, k_dim)
    v_a = vector("v_a{}", "v_{{a,{}}}", attn_dim)
    u_names = vector("u{}", "u_{{{}}}", attn_dim)
    u = tanh(W_a * s + U_a * h)
    e = (v_a.T * u)[0, 0]

    def grad(P: sp.Matrix) -> sp.Matrix:
        return P.applyfunc(lambda p: sp.diff(e, p))

    delta = hadamard(v_a, u.applyfunc(lambda x: 1 - x**2))
    stated = {
        "s": W_a.T * delta,
        "h": U_a.T * delta,
        "W_a": delta * s.T,
        "U_a": delta * h.T,
        "v_a": u,
    }
    inputs = {"s": s, "h": h, "W_a": W_a, "U_a": U_a, "v_a": v_a}
    labels = {
        "s": ("∂e/∂s", r"\partial e / \partial s"),
        "h": ("∂e/∂h", r"\partial e / \partial h"),
        "W_a": ("∂e/∂W_a", r"\partial e / \partial W_a"),
        "U_a": ("∂e/∂U_a", r"\partial e / \partial U_a"),
        "v_a": ("∂e/∂v_a", r"\partial e / \partial v_a"),
    }

    def engine(point):
        weights = {
            "W_a": float64_values(W_a, point),
            "U_a": float64_values(U_a, point),
            "v_a": float64_values(v_a, point).reshape(-1),
        }
        attn = float64_module(lambda: ts.nn.AdditiveAttention(q_dim, k_dim, attn_dim), weights)
        query = ts.Tensor(float64_values(s, point).reshape(1, 1, q_dim), requires_grad=True)
        key = ts.Tensor(float64_values(h, point).reshape(1, 1, k_dim), requires_grad=True)
        score = attn.scores(query, attn.project_keys(key))  # e: (1, 1, 1)
        wrt = [query, key, attn.W_a, attn.U_a, attn.v_a]
        grads = engine_jacobian(score, wrt)  # one output coordinate: one backward
        return {x: g.reshape(-1) for x, g in zip(inputs, grads, strict=True)}

    return Derivation(
        name="attention.additive_score_gradients",
        title="additive (Bahdanau) score e = v_aᵀ tanh(W_a s + U_a h): ∂e/∂(s, h, W_a, U_a, v_a)",
        dims={"q_dim": q_dim, "k_dim": k_dim, "attn_dim": attn_dim},
        equations=[
            Equation(
                "e = v_aᵀ tanh(W_a s + U_a h), s = h_t^dec, h = h_i^enc",
                r"e = v_a^\top \tanh(W_a s + U_a h)",
                "e",
                "e",
                sp.Matrix([e]),
            )
        ],
        statement=ADDITIVE_TEXT,
        statement_latex=ADDITIVE_LATEX,
        blocks=[Block(x, *labels[x], grad(inputs[x]), stated[x]) for x in inputs],
        names={u_names[i]: u[i] for i in range(attn_dim)},
        engine=engine,
        engine_source="ts.nn.AdditiveAttention.scores (float64)",
        seed_says="eₜ,ᵢ = v_aᵀ tanh(W_a hₜ^dec + U_a hᵢ^enc) (no gradient stated)",
    )


# ------------------------------------------------------------------ multiplicative score
MULTIPLICATIVE_TEXT = """e = sᵀ W_a h (s = h_t^dec, h = h_i^enc):
      ∂e/∂s = W_a h,  ∂e/∂h = W_aᵀ s,  ∂e/∂W_a = s hᵀ"""

MULTIPLICATIVE_LATEX = (
    r"\frac{\partial e}{\partial s} = W_a h,\quad "
    r"\frac{\partial e}{\partial h} = W_a^\top s,\quad "
    r"\frac{\partial e}{\partial W_a} = s\,h^\top"
)


@cache
def multiplicative_score_gradients(q_dim: int = 2, k_dim: int = 3) -> Derivation:
    """Gradients of Luong's score e = sᵀ W_a h w.r.t. s, h and W_a.

    q_dim ≠ k_dim by default, so a W_a used the wrong way round cannot pass."""
    s = vector("s{}", "s_{{{}}}", q_dim)  # the decoder state h_t^dec
    h = vector("h{}", "h_{{{}}}", k_dim)  # an encoder state h_i^enc
    W_a = matrix("W_a{}{}", "W_{{a,{}{}}}", q_dim, k_dim)
    e = (s.T * W_a * h)[0, 0]

    def grad(P: sp.Matrix) -> sp.Matrix:
        return P.applyfunc(lambda p: sp.diff(e, p))

    stated = {"s": W_a * h, "h": W_a.T * s, "W_a": s * h.T}
    inputs = {"s": s, "h": h, "W_a": W_a}
    labels = {
        "s": ("∂e/∂s", r"\partial e / \partial s"),
        "h": ("∂e/∂h", r"\partial e / \partial h"),
        "W_a": ("∂e/∂W_a", r"\partial e / \partial W_a"),
    }

    def engine(point):
        weights = {"W_a": float64_values(W_a, point)}
        attn = float64_module(lambda: ts.nn.MultiplicativeAttention(q_dim, k_dim), weights)
        query = ts.Tensor(float64_values(s, point).reshape(1, 1, q_dim), requires_grad=True)
        key = ts.Tensor(float64_values(h, point).reshape(1, 1, k_dim), requires_grad=True)
        score = attn.scores(query, attn.project_keys(key))  # e: (1, 1, 1)
        grads = engine_jacobian(score, [query, key, attn.W_a])  # one output: one backward
        return {x: g.reshape(-1) for x, g in zip(inputs, grads, strict=True)}

    return Derivation(
        name="attention.multiplicative_score_gradients",
        title="multiplicative (Luong) score e = sᵀ W_a h: ∂e/∂(s, h, W_a)",
        dims={"q_dim": q_dim, "k_dim": k_dim},
        equations=[
            Equation(
                "e = sᵀ W_a h, s = h_t^dec, h = h_i^enc",
                r"e = s^\top W_a h",
                "e",
                "e",
                sp.Matrix([e]),
            )
        ],
        statement=MULTIPLICATIVE_TEXT,
        statement_latex=MULTIPLICATIVE_LATEX,
        blocks=[Block(x, *labels[x], grad(inputs[x]), stated[x]) for x in inputs],
        names={},
        engine=engine,
        engine_source="ts.nn.MultiplicativeAttention.scores (float64)",
        seed_says="eₜ,ᵢ = hₜ^dec W_a hᵢ^enc (no gradient stated)",
        notes=[
            "e is linear in each of s, h and W_a: each gradient is the score with that factor "
            "taken out. The engine computes W_a h once per key (project_keys) and then a "
            "dot product per query, so ∂e/∂W_a arrives through that projection."
        ],
    )


# ------------------------------------------------------------------ multi-head
MULTI_HEAD_TEXT = """O = C W^O, C = Concat(head_1, …, head_h), head_i = softmax(Q_i K_iᵀ/√d_k) V_i;
    Q = X W^Q, K = M W^K, V = M W^V; head i owns column block i (d_k wide). For L = Σ δO ⊙ O:
      ∂L/∂W^O = Cᵀ δO,   δC = δO W^Oᵀ,   δhead_i = columns block i of δC
      each head alone: δQ_i, δK_i, δV_i by the scaled dot-product rule (A_i, δhead_i)
      ∂L/∂W^Q = Xᵀ [δQ_1 … δQ_h],  ∂L/∂W^K = Mᵀ [δK_1 … δK_h],  ∂L/∂W^V = Mᵀ [δV_1 … δV_h]
      ∂L/∂X = δQ W^Qᵀ,   ∂L/∂M = δK W^Kᵀ + δV W^Vᵀ   (keys and values both read M)"""

MULTI_HEAD_LATEX = (
    r"\begin{aligned}"
    r"\frac{\partial L}{\partial W^O} &= C^\top \delta O,\quad "
    r"\delta C = \delta O\,W^{O\top} = [\delta\mathrm{head}_1 \cdots \delta\mathrm{head}_h]\\"
    r"\delta V_i &= A_i^\top \delta\mathrm{head}_i,\quad "
    r"\delta S_i = \text{row-wise softmax Jacobian of } \delta\mathrm{head}_i V_i^\top,\quad "
    r"\delta Q_i = \frac{\delta S_i K_i}{\sqrt{d_k}},\quad "
    r"\delta K_i = \frac{\delta S_i^\top Q_i}{\sqrt{d_k}}\\"
    r"\frac{\partial L}{\partial W^Q} &= X^\top [\delta Q_1 \cdots \delta Q_h],\quad "
    r"\frac{\partial L}{\partial W^K} = M^\top [\delta K_1 \cdots \delta K_h],\quad "
    r"\frac{\partial L}{\partial W^V} = M^\top [\delta V_1 \cdots \delta V_h]\\"
    r"\frac{\partial L}{\partial X} &= \delta Q\,W^{Q\top},\quad "
    r"\frac{\partial L}{\partial M} = \delta K\,W^{K\top} + \delta V\,W^{V\top}"
    r"\end{aligned}"
)


@cache
def multi_head_gradients(
    n_q: int = 1, n_k: int = 2, d_model: int = 2, num_heads: int = 2
) -> Derivation:
    """∂L/∂(W^Q, W^K, W^V, W^O, X, M) of multi-head attention (no biases).

    L = Σ δO ⊙ O, with queries from X (n_q, d_model), keys and values from M (n_k, d_model), as
    the decoder's cross-attention reads the encoder's states. The stated form runs each head's
    own scaled dot-product backward and assembles the weight gradients block by block: the
    heads meet only in W^O."""
    if num_heads < 1 or d_model % num_heads:
        raise ValueError(
            f"multi_head_gradients: num_heads must divide d_model; got d_model={d_model}, "
            f"num_heads={num_heads}"
        )
    d_k = d_model // num_heads
    X = matrix("X{}{}", "X_{{{}{}}}", n_q, d_model)
    M = matrix("M{}{}", "M_{{{}{}}}", n_k, d_model)
    W = {w: matrix(f"W_{w}" + "{}{}", f"W^{w}_{{{{{{}}{{}}}}}}", d_model, d_model) for w in "QKVO"}
    dO = matrix("δO{}{}", r"\delta O_{{{}{}}}", n_q, d_model)
    # Q, K, V named element by element: the printed gradients then read in them
    Q_name = matrix("Q{}{}", "Q_{{{}{}}}", n_q, d_model)
    K_name = matrix("K{}{}", "K_{{{}{}}}", n_k, d_model)
    V_name = matrix("V{}{}", "V_{{{}{}}}", n_k, d_model)
    Q, K, V = X * W["Q"], M * W["K"], M * W["V"]
    projections = {Q_name[i]: Q[i] for i in range(len(Q))}
    projections.update({K_name[i]: K[i] for i in range(len(K))})
    projections.update({V_name[i]: V[i] for i in range(len(V))})

    # L written in the projections Q, K, V (as symbols), and in X, M, W^… (for the stated form)
    heads_named, heads, A, alphas, names, bases = [], [], [], [], dict(projections), {}
    for i in range(num_heads):
        cols = slice(i * d_k, (i + 1) * d_k)
        S_named = Q_name[:, cols] * K_name[:, cols].T / sp.sqrt(d_k)
        alpha = matrix(
            f"α{sub(i + 1)}," + "{}{}", rf"\alpha^{{{{({i + 1})}}}}_{{{{{{}}{{}}}}}}", n_q, n_k
        )
        Zs = vector(f"Z{sub(i + 1)}," + "{}", rf"Z^{{{{({i + 1})}}}}_{{{{{{}}}}}}", n_q)
        alphas.append(alpha)
        rows_named, rows = [], []
        for j in range(n_q):
            values, _, _ = _softmax(S_named[j, :], alpha[j, :], Zs[j])
            rows_named.append(values)
            row = values.xreplace(projections)
            rows.append(row)
            names.update({alpha[j, k]: row[k] for k in range(n_k)})
            names[Zs[j]] = sum(sp.exp(s) for s in S_named[j, :]).xreplace(projections)
            bases.update({S_named[j, k]: alpha[j, k] * Zs[j] for k in range(n_k)})
        A.append(sp.Matrix.vstack(*rows))
        heads_named.append(sp.Matrix.vstack(*rows_named) * V_name[:, cols])
        heads.append(A[i] * V[:, cols])  # head_i: (n_q, d_k)
    C = sp.Matrix.hstack(*heads)  # Concat(head_1, ..., head_h): (n_q, d_model)
    L_named = sum(hadamard(dO, sp.Matrix.hstack(*heads_named) * W["O"]))
    C_shown = sp.Matrix.hstack(  # C written in the names α and V, for the model's equations
        *[alphas[i] * V_name[:, i * d_k : (i + 1) * d_k] for i in range(num_heads)]
    )

    # SymPy differentiates L in Q, K, V and W^O, then each projection (Q = X W^Q, ...) in
    # its inputs; the chain rule joins them. (Differentiating L written out in X, M and
    # the weights gives the same, many times slower: every projection is a sum inside exp.)
    dL_dprojection = {q: sp.diff(L_named, q) for q in projections}

    def grad(P: sp.Matrix) -> sp.Matrix:
        def entry(p: sp.Symbol) -> sp.Expr:
            if p in W["O"]:
                return sp.diff(L_named, p).xreplace(projections)
            total = sum(dL_dq * sp.diff(projections[q], p) for q, dL_dq in dL_dprojection.items())
            return total.xreplace(projections)

        return P.applyfunc(entry)

    # the stated form: W^O's backward, then each head's own scaled dot-product backward
    dC = dO * W["O"].T
    dQ, dK, dV = [], [], []
    for i in range(num_heads):
        cols = slice(i * d_k, (i + 1) * d_k)
        dQ_i, dK_i, dV_i = _attention_backward(
            Q[:, cols], K[:, cols], V[:, cols], A[i], dC[:, cols]
        )
        dQ.append(dQ_i)
        dK.append(dK_i)
        dV.append(dV_i)
    dQ, dK, dV = (sp.Matrix.hstack(*parts) for parts in (dQ, dK, dV))
    stated = {
        "W_Q": X.T * dQ,
        "W_K": M.T * dK,
        "W_V": M.T * dV,
        "W_O": C.T * dO,
        "X": dQ * W["Q"].T,
        "M": dK * W["K"].T + dV * W["V"].T,
    }
    inputs = {"W_Q": W["Q"], "W_K": W["K"], "W_V": W["V"], "W_O": W["O"], "X": X, "M": M}
    labels = {
        key: (f"∂L/∂{key.replace('_', '^')}", rf"\partial L / \partial {key.replace('_', '^')}")
        for key in inputs
    }
    blocks_of = {d: (f"[δ{d}_1 … δ{d}_h]", rf"[\delta {d}_1 \cdots \delta {d}_h]") for d in "QKV"}
    Qs, Ks, Vs = blocks_of["Q"], blocks_of["K"], blocks_of["V"]
    formulas = {  # each head's δQ_i, δK_i, δV_i by its own scaled dot-product backward
        "W_Q": (f"Xᵀ {Qs[0]}", rf"X^\top {Qs[1]}"),
        "W_K": (f"Mᵀ {Ks[0]}", rf"M^\top {Ks[1]}"),
        "W_V": (f"Mᵀ {Vs[0]}", rf"M^\top {Vs[1]}"),
        "W_O": ("Cᵀ δO", r"C^\top \delta O"),
        "X": (f"{Qs[0]} W^Qᵀ", rf"{Qs[1]}\,W^{{Q\top}}"),
        "M": (
            f"{Ks[0]} W^Kᵀ + {Vs[0]} W^Vᵀ",
            rf"{Ks[1]}\,W^{{K\top}} + {Vs[1]}\,W^{{V\top}}",
        ),
    }
    formulas = {
        key: (
            f"{labels[key][0]} = {text}",
            rf"\frac{{\partial L}}{{\partial {key.replace('_', '^')}}} = {latex}",
        )
        for key, (text, latex) in formulas.items()
    }

    def engine(point):
        weights = {f"W_{w}": float64_values(W[w], point) for w in "QKVO"}
        mha = float64_module(
            lambda: ts.nn.MultiHeadAttention(d_model, num_heads, bias=False), weights
        )
        x = ts.Tensor(float64_values(X, point)[None], requires_grad=True, name="X")
        m = ts.Tensor(float64_values(M, point)[None], requires_grad=True, name="M")
        out, _ = mha(x, m, m)  # cross-attention: keys and values both from M
        (out * ts.Tensor(float64_values(dO, point)[None])).sum().backward()
        return engine_gradients(mha, X=x, M=m)

    return Derivation(
        name="attention.multi_head_gradients",
        title="multi-head attention: ∂L/∂(W^Q, W^K, W^V, W^O, X, M), head by head",
        dims={"n_q": n_q, "n_k": n_k, "d_model": d_model, "num_heads": num_heads, "d_k": d_k},
        equations=[
            Equation("Q = X W^Q", "Q = X W^Q", "Q", "Q", Q),
            Equation("K = M W^K", "K = M W^K", "K", "K", K),
            Equation("V = M W^V", "V = M W^V", "V", "V", V),
            Equation(
                "C = Concat(head_1, ..., head_h), head_i = softmax(Q_i K_iᵀ/√d_k) V_i",
                r"C = \mathrm{Concat}(\mathrm{head}_1, \ldots, \mathrm{head}_h),\ "
                r"\mathrm{head}_i = \operatorname{softmax}\left("
                r"\frac{Q_i K_i^\top}{\sqrt{d_k}}\right) V_i",
                "C",
                "C",
                C_shown,
            ),
            Equation("O = C W^O", "O = C W^O", "O", "O", C_shown * W["O"]),
        ],
        statement=MULTI_HEAD_TEXT,
        statement_latex=MULTI_HEAD_LATEX,
        blocks=[Block(x, *labels[x], grad(inputs[x]), stated[x], *formulas[x]) for x in inputs],
        names=names,
        engine=engine,
        engine_source="ts.nn.MultiHeadAttention(bias=False) (float64), one backward of L",
        seed_says="MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, "
        "head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V) (no gradient stated)",
        display=_exp_as_alpha(bases),
        tidy=lambda expr: sp.collect(sp.expand(expr), list(dO)),
        notes=[
            "the heads never mix before W^O: head i's gradient is δO through head i's rows of "
            "W^O, and it reaches only head i's columns of W^Q, W^K and W^V. So multi-head "
            "attention's backward is h small scaled dot-product backwards side by side.",
            "M feeds both keys and values, so its gradient is the sum of the two paths.",
            "the default d_k = 1 keeps SymPy's algebra to about a second; the √d_k scale is "
            "checked with d_k = 3 by attention.scaled_dot_product_gradients.",
        ],
    )


# ------------------------------------------------------------------ all of it
def derive() -> list[Derivation]:
    """Every attention identity as a Derivation."""
    return [
        softmax_jacobian(),
        softmax_cross_entropy(),
        scaled_dot_product_gradients(),
        additive_score_gradients(),
        multiplicative_score_gradients(),
        multi_head_gradients(),
    ]


def check(seed: int = 0) -> list[CheckResult]:
    """Check every attention identity."""
    return [d.check(seed=seed) for d in derive()]


__all__ = [
    "additive_score_gradients",
    "check",
    "derive",
    "multi_head_gradients",
    "multiplicative_score_gradients",
    "scaled_dot_product_gradients",
    "softmax_cross_entropy",
    "softmax_jacobian",
    "softmax_wrong_sign",
]
