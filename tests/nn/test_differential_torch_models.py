"""Differential tests of whole modules and optimizers against PyTorch.

Each ts.nn module gets random weights, the same weights go into PyTorch (its own module
where the conventions match, loaded through `torch.func.functional_call` from tensors
shaped as ours, so every gradient comes back in our shapes; a few lines of PyTorch where
they do not), and both engines compute a random projection of every output. The outputs
and the gradient of every parameter and every input must agree: in float64 to ~1e-10, and
in float32 (the engine in float32 throughout, the reference in float64 on the same
float32 numbers) to its precision. The optimizers take several steps on the same model
in both engines, their parameters compared after each step.

Conventions where the engine differs from PyTorch, and what the tests compare instead:
- GRU: the seed's h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t with r_t ⊙ h_{t−1} inside the
  candidate's product; PyTorch's nn.GRU swaps z and 1 − z and applies r_t after W_hn h.
  Compared with the seed's equations written in PyTorch.
- Masks: True = may attend (PyTorch's boolean attn_mask: True = may NOT attend).
- A query that may attend to nothing gets zero weights, as F.scaled_dot_product_attention
  (nn.MultiheadAttention gives NaN there, so its tests keep one allowed key per query).
- A padding mask in RNN/LSTM/GRU carries the state through padded steps, so h_T is the
  state after each row's last real token, as with PyTorch's packed sequences (hs differs
  only at the padding, where PyTorch writes zeros: compared at real tokens only).
- cross_entropy with every position ignored is 0 (PyTorch: NaN).
- clip_grad_norm scales by max_norm / (norm + 1e-12) and only when norm > max_norm;
  PyTorch by min(1, max_norm / (norm + 1e-6)): the clipped gradients differ by about
  1e-6 / norm relatively, compared at that tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_seq as ts

torch = pytest.importorskip("torch")
from torch.func import functional_call  # noqa: E402

pytestmark = pytest.mark.numpy_only  # the reference runs on the host

TF = torch.nn.functional
DTYPES = (np.float64, np.float32)
TOL = {np.float64: 1e-10, np.float32: 2e-4}


# ------------------------------------------------------------------ shared pieces
def _build(dtype, make, rng, scale=0.7):
    """A module made by `make()` in `dtype`, its weights redrawn U(−scale, scale) (so a
    LayerNorm's gain and bias are not 1 and 0)."""
    ts.set_default_dtype(dtype)
    model = make()
    state = {n: rng.uniform(-scale, scale, p.shape) for n, p in model.named_parameters()}
    model.load_state_dict(state)
    return model


def _leaves(named):
    """{name: float64 PyTorch leaf requiring grad} from {name: ts.Tensor or array}."""
    return {
        n: torch.tensor(
            np.asarray(v.numpy() if isinstance(v, ts.Tensor) else v, dtype=np.float64),
            requires_grad=True,
        )
        for n, v in named.items()
    }


def _inputs(rng, dtype, **shapes):
    """{name: ts.Tensor of `dtype` requiring grad}, drawn N(0, 1)."""
    return {
        n: ts.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
        for n, s in shapes.items()
    }


def _compare(mine, ref, mine_leaves, ref_leaves, dtype, rng, where=None):
    """Outputs `mine` (ts) and `ref` (torch) agree, and so do the gradients of every leaf
    of a random projection Σ_k Σ w_k ⊙ out_k; `where[k]` (bool array) limits output k's
    comparison and projection to those elements."""
    assert len(mine) == len(ref) and set(mine_leaves) == set(ref_leaves)
    tol = TOL[dtype]
    loss_mine, loss_ref = 0.0, 0.0
    for k, (m, r) in enumerate(zip(mine, ref, strict=True)):
        assert m.dtype == dtype, (k, m.dtype)
        assert tuple(m.shape) == tuple(r.shape), (k, m.shape, r.shape)
        w = rng.standard_normal(tuple(r.shape))
        sel = np.ones(w.shape, bool) if where is None or where[k] is None else where[k]
        w = w * sel
        got, want = m.numpy(), r.detach().numpy()
        np.testing.assert_allclose(got[sel], want[sel], rtol=tol, atol=tol, err_msg=f"output {k}")
        loss_mine = loss_mine + (m * ts.Tensor(w.astype(dtype))).sum()
        loss_ref = loss_ref + (r * torch.tensor(w)).sum()
    loss_mine.backward()
    loss_ref.backward()
    for name, leaf in mine_leaves.items():
        want = ref_leaves[name].grad
        want = np.zeros(leaf.shape) if want is None else want.numpy()
        assert leaf.grad is not None, f"no gradient for {name}"
        assert leaf.grad.dtype == dtype and leaf.grad.shape == want.shape, name
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(
            leaf.grad, want, rtol=tol, atol=tol * scale, err_msg=f"gradient of {name}"
        )
    return loss_mine


def _params(model):
    return dict(model.named_parameters())


def _not_trivial(model, exempt=()):
    """Every parameter's gradient is nonzero somewhere: the comparison tested something.
    (b_K's is zero by the math: q·b_K adds the same to every score of a query.)"""
    for name, p in model.named_parameters():
        if name.rsplit(".", 1)[-1] in exempt:
            continue
        assert np.abs(p.grad).max() > 1e-6, name


# ------------------------------------------------------------------ Linear, MLP, LayerNorm
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_mlp_layernorm_embedding_match_pytorch(dtype):
    rng = np.random.default_rng(1)
    lin = _build(dtype, lambda: ts.nn.Linear(5, 3), rng)
    lin_nb = _build(dtype, lambda: ts.nn.Linear(5, 2, bias=False), rng)
    ln = _build(dtype, lambda: ts.nn.LayerNorm(6), rng)
    emb = _build(dtype, lambda: ts.nn.Embedding(7, 4), rng)
    mlps = {
        a: _build(dtype, lambda a=a: ts.nn.MLP([5, 6, 4, 3], activation=a), rng)
        for a in ("tanh", "relu", "sigmoid")
    }
    x = _inputs(rng, dtype, x=(2, 3, 5), y=(4, 6))
    ids = np.array([[0, 6, 3, 3], [6, 1, 0, 2]])  # repeats: the table's gradient adds up

    mine_leaves = {"x": x["x"], "y": x["y"]}
    for prefix, m in [("lin", lin), ("lin_nb", lin_nb), ("ln", ln), ("emb", emb)] + [
        (f"mlp_{a}", m) for a, m in mlps.items()
    ]:
        mine_leaves.update({f"{prefix}.{n}": p for n, p in m.named_parameters()})
    ref_leaves = _leaves(mine_leaves)
    R = ref_leaves

    mine = [lin(x["x"]), lin_nb(x["x"]), ln(x["y"]), emb(ids)]
    ref = [
        TF.linear(R["x"], R["lin.W"], R["lin.b"]),
        TF.linear(R["x"], R["lin_nb.W"]),
        TF.layer_norm(R["y"], (6,), R["ln.gain"], R["ln.bias"], eps=1e-5),
        TF.embedding(torch.tensor(ids), R["emb.E"]),
    ]
    for a, m in mlps.items():
        mine.append(m(x["x"]))
        h, act = R["x"], getattr(torch, a)
        for i in range(3):
            h = TF.linear(h, R[f"mlp_{a}.layers.{i}.W"], R[f"mlp_{a}.layers.{i}.b"])
            h = act(h) if i < 2 else h  # no activation after the last layer
        ref.append(h)
    _compare(mine, ref, mine_leaves, ref_leaves, dtype, rng)
    assert not np.any(emb.E.grad[[4, 5]])  # rows no id picked


# ------------------------------------------------------------------ RNN, LSTM, GRU
def _torch_rnn_params(R, kind, h, prefix=""):
    """PyTorch's weight_ih, weight_hh, bias_ih, bias_hh from our weights (as tensors made
    from our leaves, so gradients flow back to them). Ours have one bias: PyTorch's second
    is zero. PyTorch stacks the LSTM's gates in the order i, f, g (= C̃), o, each split into
    an input part (our columns h:) and a hidden part (our columns :h) of W·[h_{t−1}, x_t]."""
    if kind == "rnn":
        w_ih, w_hh, b = R[prefix + "W_xh"], R[prefix + "W_hh"], R[prefix + "b_h"]
    else:
        gates = [R[prefix + f"W_{g}"] for g in "ifCo"]
        w_ih = torch.cat([W[:, h:] for W in gates])
        w_hh = torch.cat([W[:, :h] for W in gates])
        b = torch.cat([R[prefix + f"b_{g}"] for g in "ifCo"])
    suffix = "" if prefix == "" else "_l0"
    return {
        "weight_ih" + suffix: w_ih,
        "weight_hh" + suffix: w_hh,
        "bias_ih" + suffix: b,
        "bias_hh" + suffix: torch.zeros_like(b),
    }


def _seed_gru_step(R, x_t, h_prev, prefix="", bias=True):
    """The seed's GRU step, in PyTorch (nn.GRU follows another convention)."""

    def affine(v, g):
        out = v @ R[f"{prefix}W_{g}"].T
        return out + R[f"{prefix}b_{g}"] if bias else out

    hx = torch.cat([h_prev, x_t], -1)
    z_t = torch.sigmoid(affine(hx, "z"))
    r_t = torch.sigmoid(affine(hx, "r"))
    h_tilde = torch.tanh(affine(torch.cat([r_t * h_prev, x_t], -1), "h"))
    return (1 - z_t) * h_prev + z_t * h_tilde


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "gru_nobias"])
def test_recurrent_cells_match_pytorch(kind, dtype):
    rng = np.random.default_rng(2)
    d, h, B = 3, 4, 2
    make = {
        "rnn": lambda: ts.nn.RNNCell(d, h),
        "lstm": lambda: ts.nn.LSTMCell(d, h),
        "gru": lambda: ts.nn.GRUCell(d, h),
        "gru_nobias": lambda: ts.nn.GRUCell(d, h, bias=False),
    }[kind]
    cell = _build(dtype, make, rng)
    inp = _inputs(rng, dtype, x=(B, d), x2=(B, d), h=(B, h), C=(B, h))
    mine_leaves = {**_params(cell), **inp}
    R = _leaves(mine_leaves)
    if kind == "lstm":
        h_t, C_t = cell(inp["x"], (inp["h"], inp["C"]))
        h_0, C_0 = cell(inp["x2"])  # no state: zeros
        mine = [h_t, C_t, h_0, C_0]
        ref_cell = torch.nn.LSTMCell(d, h).double()
        call = lambda *a: functional_call(ref_cell, _torch_rnn_params(R, kind, h), a)  # noqa: E731
        ref = [*call(R["x"], (R["h"], R["C"])), *call(R["x2"])]
    else:
        mine = [cell(inp["x"], inp["h"]), cell(inp["x2"])]
        if kind == "rnn":
            ref_cell = torch.nn.RNNCell(d, h).double()
            params = _torch_rnn_params(R, kind, h)
            ref = [functional_call(ref_cell, params, a) for a in [(R["x"], R["h"]), (R["x2"],)]]
        else:
            bias = kind == "gru"
            zeros = torch.zeros(B, h, dtype=torch.float64)
            ref = [
                _seed_gru_step(R, R["x"], R["h"], bias=bias),
                _seed_gru_step(R, R["x2"], zeros, bias=bias),
            ]
        del mine_leaves["C"]
    _compare(mine, ref, mine_leaves, {n: R[n] for n in mine_leaves}, dtype, rng)
    _not_trivial(cell)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked", [False, True], ids=["full", "padded"])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_sequences_match_pytorch(kind, masked, dtype):
    """RNN and LSTM against nn.RNN / nn.LSTM (with padding: packed sequences); GRU against
    the seed's equations unrolled in PyTorch, padded steps keeping the state."""
    rng = np.random.default_rng(3)
    d, h, B, T = 3, 4, 3, 6
    Model = {"rnn": ts.nn.RNN, "lstm": ts.nn.LSTM, "gru": ts.nn.GRU}[kind]
    model = _build(dtype, lambda: Model(d, h), rng)
    inp = _inputs(rng, dtype, xs=(B, T, d), h0=(B, h), C0=(B, h))
    if kind != "lstm":
        del inp["C0"]
    lengths = np.array([6, 2, 4])
    mask = np.arange(T)[None, :] < lengths[:, None] if masked else None
    mine_leaves = {**_params(model), **inp}
    R = _leaves(mine_leaves)

    if kind == "lstm":
        hs, (h_T, C_T) = model(inp["xs"], (inp["h0"], inp["C0"]), mask=mask)
        mine = [hs, h_T, C_T]
    else:
        hs, h_T = model(inp["xs"], inp["h0"], mask=mask)
        mine = [hs, h_T]

    if kind == "gru":
        h_t, ref_hs = R["h0"], []
        for t in range(T):
            h_new = _seed_gru_step(R, R["xs"][:, t], h_t, prefix="cell.")
            h_t = torch.where(torch.tensor(mask[:, t, None]), h_new, h_t) if masked else h_new
            ref_hs.append(h_t)
        ref = [torch.stack(ref_hs, 1), h_t]
    else:
        Ref = torch.nn.LSTM if kind == "lstm" else torch.nn.RNN
        ref_model = Ref(d, h, batch_first=True).double()
        params = _torch_rnn_params(R, kind, h, prefix="cell.")
        state = (R["h0"][None], R["C0"][None]) if kind == "lstm" else R["h0"][None]
        xs = R["xs"]
        if masked:
            xs = torch.nn.utils.rnn.pack_padded_sequence(
                xs, torch.tensor(lengths), batch_first=True, enforce_sorted=False
            )
        out, last = functional_call(ref_model, params, (xs, state))
        if masked:
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        ref = [out, *(s[0] for s in last)] if kind == "lstm" else [out, last[0]]

    where = [np.broadcast_to(mask[:, :, None], (B, T, h)) if masked else None] + [None] * (
        len(mine) - 1
    )
    _compare(mine, ref, mine_leaves, R, dtype, rng, where)
    _not_trivial(model)
    if masked:  # hs repeats the last real state over the padding
        np.testing.assert_array_equal(hs.numpy()[1, 2:], np.broadcast_to(h_T.numpy()[1], (4, h)))


# ------------------------------------------------------------------ attention
def _masks(rng, B, Tq, Tk):
    """Each mask shape the modules take (True = may attend), and None."""
    full = rng.random((B, Tq, Tk)) < 0.6
    full[:, :, 0] = True
    full[1, 2] = False  # a query that may attend to nothing: zero weights, zero context
    causal = np.tril(np.ones((Tq, Tk), bool))
    padding = (np.arange(Tk) < np.array([Tk, 2])[:, None])[:, None, :]  # (B, 1, Tk)
    return {"none": None, "(B,Tq,Tk)": full, "(Tq,Tk)": causal, "(B,1,Tk)": padding}


def _torch_masked_softmax(e, mask):
    """softmax over keys where mask is True; a row with no True gets zeros."""
    if mask is None:
        return torch.softmax(e, -1)
    m = torch.tensor(np.broadcast_to(mask, e.shape))
    alpha = torch.softmax(e.masked_fill(~m, torch.finfo(e.dtype).min), -1)
    return torch.where(m.any(-1, keepdim=True), alpha, 0.0)


MASK_NAMES = ["none", "(B,Tq,Tk)", "(Tq,Tk)", "(B,1,Tk)"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_name", MASK_NAMES)
@pytest.mark.parametrize("kind", ["additive", "multiplicative", "scaled_dot"])
def test_seed_attentions_match_pytorch(kind, mask_name, dtype):
    rng = np.random.default_rng(4)
    B, Tq, Tk, dq, dk, dv = 2, 3, 4, 5, 6, 2
    if kind == "scaled_dot":
        dk = dq
    make = {
        "additive": lambda: ts.nn.AdditiveAttention(dq, dk, 7),
        "multiplicative": lambda: ts.nn.MultiplicativeAttention(dq, dk),
        "scaled_dot": lambda: ts.nn.ScaledDotProductAttention(),
    }[kind]
    attn = _build(dtype, make, rng)
    mask = _masks(rng, B, Tq, Tk)[mask_name]
    inp = _inputs(rng, dtype, q=(B, Tq, dq), k=(B, Tk, dk), v=(B, Tk, dv))
    mine_leaves = {**_params(attn), **inp}
    R = _leaves(mine_leaves)
    q, k, v = R["q"], R["k"], R["v"]

    context, alpha = attn(inp["q"], inp["k"], inp["v"], mask=mask)
    if kind == "additive":  # e_{t,i} = v_aᵀ tanh(W_a q_t + U_a k_i)
        hidden = torch.tanh((q @ R["W_a"].T)[:, :, None] + (k @ R["U_a"].T)[:, None])
        e = hidden @ R["v_a"]
    elif kind == "multiplicative":  # e_{t,i} = q_tᵀ W_a k_i
        e = q @ R["W_a"] @ k.transpose(1, 2)
    else:
        e = q @ k.transpose(1, 2) / math.sqrt(dq)
    ref_alpha = _torch_masked_softmax(e, mask)
    ref = [ref_alpha @ v, ref_alpha]
    if kind == "scaled_dot":  # and PyTorch's own, which agrees on masks and empty rows
        sdpa_mask = None if mask is None else torch.tensor(mask)
        ref[0] = TF.scaled_dot_product_attention(q, k, v, attn_mask=sdpa_mask)
    keys_as_values, _ = attn(inp["q"], inp["k"], mask=mask)  # values=None: the keys
    _compare([context, alpha, keys_as_values], [*ref, ref_alpha @ k], mine_leaves, R, dtype, rng)
    if mask_name == "(B,Tq,Tk)":
        assert not np.any(alpha.numpy()[1, 2]) and not np.any(context.numpy()[1, 2])


def _torch_mha_params(R, prefix=""):
    """nn.MultiheadAttention's weights from ours: it computes x Wᵀ with W = our W_Qᵀ."""
    W = lambda n: R[prefix + n]  # noqa: E731
    params = {
        "in_proj_weight": torch.cat([W("W_Q").T, W("W_K").T, W("W_V").T]),
        "out_proj.weight": W("W_O").T,
    }
    if prefix + "b_Q" in R:
        params["in_proj_bias"] = torch.cat([W("b_Q"), W("b_K"), W("b_V")])
        params["out_proj.bias"] = W("b_O")
    return params


def _torch_mask_args(mask, heads):
    """Our boolean mask (True = may attend) as nn.MultiheadAttention's arguments (True =
    may not): (Tq, Tk) and (B, Tq, Tk) as attn_mask (one copy per head), (B, 1, Tk) as
    key_padding_mask."""
    if mask is None:
        return {}
    if mask.ndim == 2:
        return {"attn_mask": torch.tensor(~mask)}
    if mask.shape[1] == 1:
        return {"key_padding_mask": torch.tensor(~mask[:, 0])}
    return {"attn_mask": torch.tensor(~mask).repeat_interleave(heads, 0)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_name", MASK_NAMES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_multi_head_attention_matches_pytorch(bias, mask_name, dtype):
    rng = np.random.default_rng(5)
    B, Tq, Tk, d, heads = 2, 3, 4, 8, 2
    mha = _build(dtype, lambda: ts.nn.MultiHeadAttention(d, heads, bias=bias), rng)
    mask = _masks(rng, B, Tq, Tk)[mask_name]
    if mask is not None and mask.shape == (B, Tq, Tk):
        mask[1, 2, 0] = True  # (nn.MultiheadAttention gives NaN for a query with no key)
    inp = _inputs(rng, dtype, q=(B, Tq, d), k=(B, Tk, d), v=(B, Tk, d), x=(B, Tk, d))
    mine_leaves = {**_params(mha), **inp}
    R = _leaves(mine_leaves)
    ref_mha = torch.nn.MultiheadAttention(d, heads, bias=bias, batch_first=True).double()
    params = _torch_mha_params(R)

    def ref_call(q, k, v, mask):
        kw = {"need_weights": True, "average_attn_weights": False, **_torch_mask_args(mask, heads)}
        return functional_call(ref_mha, params, (q, k, v), kw)

    self_mask = None if mask is None else np.tril(np.ones((Tk, Tk), bool))  # causal
    mine = [*mha(inp["q"], inp["k"], inp["v"], mask), *mha(inp["x"], inp["x"], inp["x"], self_mask)]
    ref = [*ref_call(R["q"], R["k"], R["v"], mask), *ref_call(R["x"], R["x"], R["x"], self_mask)]
    assert tuple(mine[1].shape) == (B, heads, Tq, Tk)
    _compare(mine, ref, mine_leaves, R, dtype, rng)
    _not_trivial(mha, exempt=("b_K",))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("query_batch", [3, 1], ids=["query_B", "query_1"])
@pytest.mark.parametrize("kind", ["additive", "multiplicative", "scaled_dot", "multi_head"])
def test_key_mask_and_a_broadcast_query_match_pytorch(kind, query_batch, dtype):
    """key_mask (B, Tk), True at real keys, is PyTorch's key_padding_mask negated, and it
    joins a causal mask (both must allow); batch 3 of 3 queries, where a (B, Tk) mask
    passed as `mask` would be read as (Tq, Tk). A query of batch 1 is broadcast to B, as
    F.scaled_dot_product_attention broadcasts (nn.MultiheadAttention: the query expanded)."""
    rng = np.random.default_rng(8)
    B, Tq, Tk, d, heads = 3, 3, 4, 4, 2
    make = {
        "additive": lambda: ts.nn.AdditiveAttention(d, d, 5),
        "multiplicative": lambda: ts.nn.MultiplicativeAttention(d, d),
        "scaled_dot": lambda: ts.nn.ScaledDotProductAttention(),
        "multi_head": lambda: ts.nn.MultiHeadAttention(d, heads),
    }[kind]
    attn = _build(dtype, make, rng)
    key_mask = np.arange(Tk)[None, :] < np.array([[4], [2], [3]])  # lengths 4, 2, 3
    causal = np.tril(np.ones((Tq, Tk), bool))
    inp = _inputs(rng, dtype, q=(query_batch, Tq, d), k=(B, Tk, d), v=(B, Tk, d))
    mine_leaves = {**_params(attn), **inp}
    R = _leaves(mine_leaves)
    q, k, v = R["q"], R["k"], R["v"]

    mine = attn(inp["q"], inp["k"], inp["v"], causal, key_mask=key_mask)
    both = causal & key_mask[:, None, :]  # (B, Tq, Tk)
    if kind == "multi_head":
        ref_mha = torch.nn.MultiheadAttention(d, heads, batch_first=True).double()
        kw = {
            "key_padding_mask": torch.tensor(~key_mask),
            "attn_mask": torch.tensor(~causal),
            "need_weights": True,
            "average_attn_weights": False,
        }
        args = (q.expand(B, Tq, d), k, v)  # (its query must have the keys' batch)
        ref = functional_call(ref_mha, _torch_mha_params(R), args, kw)
    else:
        if kind == "additive":
            hidden = torch.tanh((q @ R["W_a"].T)[:, :, None] + (k @ R["U_a"].T)[:, None])
            e = hidden @ R["v_a"]
        elif kind == "multiplicative":
            e = q @ R["W_a"] @ k.transpose(1, 2)
        else:
            e = q @ k.transpose(1, 2) / math.sqrt(d)
        alpha = _torch_masked_softmax(e, both)
        ref = [alpha @ v, alpha]
        if kind == "scaled_dot":  # PyTorch's own broadcasts the query's batch of 1 too
            ref[0] = TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(both))
    assert tuple(mine[0].shape) == (B, Tq, d)
    _compare(list(mine), list(ref), mine_leaves, R, dtype, rng)
    weights = mine[1].numpy() if kind != "multi_head" else mine[1].numpy()[:, 0]
    assert np.all(weights[~both] == 0) and np.all(weights[both] > 0)


# ------------------------------------------------------------------ Transformer
def _torch_positions(n, d):
    """The seed's PE written again in PyTorch: sin(pos / 10000^{2i/d}) on column 2i, cos
    on 2i + 1."""
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    col = torch.arange(d)[None, :]
    angle = pos / 10000.0 ** ((2 * (col // 2)).double() / d)
    return torch.where(col % 2 == 0, torch.sin(angle), torch.cos(angle))


@pytest.mark.parametrize("n, d", [(7, 6), (5, 7), (50, 16), (0, 4)])
def test_sinusoidal_positions_match_the_seed_formula(n, d):
    np.testing.assert_allclose(
        ts.nn.sinusoidal_positions(n, d), _torch_positions(n, d).numpy(), rtol=1e-13, atol=1e-13
    )


def _torch_layer_params(R, prefix, decoder):
    """nn.TransformerEncoderLayer / DecoderLayer weights from ours: same post-LN order,
    ReLU FFN; its Linear computes x Wᵀ, ours x W_1, so linear1.weight = W_1ᵀ."""
    attn = [("self_attn.", "self_attention.")]
    norms = ["1", "2", "3"] if decoder else ["1", "2"]
    if decoder:
        attn.append(("multihead_attn.", "cross_attention."))
    params = {}
    for theirs, ours in attn:
        params.update({theirs + n: t for n, t in _torch_mha_params(R, prefix + ours).items()})
    for k in norms:
        params[f"norm{k}.weight"] = R[f"{prefix}norm_{k}.gain"]
        params[f"norm{k}.bias"] = R[f"{prefix}norm_{k}.bias"]
    for k in "12":
        params[f"linear{k}.weight"] = R[f"{prefix}ffn.W_{k}"].T
        params[f"linear{k}.bias"] = R[f"{prefix}ffn.b_{k}"]
    return params


def _torch_layers(d, heads, d_ff):
    kw = {"dropout": 0.0, "activation": "relu", "batch_first": True, "norm_first": False}
    enc = torch.nn.TransformerEncoderLayer(d, heads, d_ff, **kw).double()
    dec = torch.nn.TransformerDecoderLayer(d, heads, d_ff, **kw).double()
    return enc, dec


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
def test_transformer_layers_match_pytorch(padded, dtype):
    """Post-LN encoder and decoder layers against PyTorch's (norm_first=False, ReLU,
    dropout 0), with the decoder's default causal mask and source key padding."""
    rng = np.random.default_rng(6)
    B, T_in, T_out, d, heads, d_ff = 2, 5, 4, 8, 2, 12
    enc = _build(dtype, lambda: ts.nn.TransformerEncoderLayer(d, heads, d_ff), rng)
    dec = _build(dtype, lambda: ts.nn.TransformerDecoderLayer(d, heads, d_ff), rng)
    inp = _inputs(rng, dtype, x=(B, T_in, d), y=(B, T_out, d))
    src_mask = np.arange(T_in)[None, :] < np.array([[T_in], [3]]) if padded else None
    key_mask = None if src_mask is None else src_mask[:, None, :]  # (B, 1, T_in)
    mine_leaves = {
        **{f"enc.{n}": p for n, p in enc.named_parameters()},
        **{f"dec.{n}": p for n, p in dec.named_parameters()},
        **inp,
    }
    R = _leaves(mine_leaves)

    memory = enc(inp["x"], key_mask)
    out = dec(inp["y"], memory, memory_mask=key_mask)  # tgt_mask: causal by default
    if src_mask is not None:  # the same, as key_mask= (B, T_in): bit for bit
        np.testing.assert_array_equal(enc(inp["x"], key_mask=src_mask).numpy(), memory.numpy())
        again = dec(inp["y"], memory, memory_key_mask=src_mask)
        np.testing.assert_array_equal(again.numpy(), out.numpy())

    ref_enc, ref_dec = _torch_layers(d, heads, d_ff)
    pad = {} if src_mask is None else {"src_key_padding_mask": torch.tensor(~src_mask)}
    ref_memory = functional_call(ref_enc, _torch_layer_params(R, "enc.", False), (R["x"],), pad)
    dec_kw = {"tgt_mask": torch.tensor(~np.tril(np.ones((T_out, T_out), bool)))}
    if src_mask is not None:
        dec_kw["memory_key_padding_mask"] = torch.tensor(~src_mask)
    ref_out = functional_call(
        ref_dec, _torch_layer_params(R, "dec.", True), (R["y"], ref_memory), dec_kw
    )
    _compare([memory, out], [ref_memory, ref_out], mine_leaves, R, dtype, rng)
    _not_trivial(enc, exempt=("b_K",))
    _not_trivial(dec, exempt=("b_K",))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_layers_key_masks_match_pytorchs_key_padding_masks(dtype):
    """The layers' key masks (True at real tokens) against PyTorch's *_key_padding_mask
    (True at padding): encoder key_mask with a causal mask beside it, decoder tgt_key_mask
    beside its default causal mask, and memory_key_mask."""
    rng = np.random.default_rng(9)
    B, T_in, T_out, d, heads, d_ff = 3, 5, 4, 8, 2, 12
    enc = _build(dtype, lambda: ts.nn.TransformerEncoderLayer(d, heads, d_ff), rng)
    dec = _build(dtype, lambda: ts.nn.TransformerDecoderLayer(d, heads, d_ff), rng)
    inp = _inputs(rng, dtype, x=(B, T_in, d), y=(B, T_out, d))
    src_real = np.arange(T_in)[None, :] < np.array([[5], [3], [4]])
    tgt_real = np.arange(T_out)[None, :] < np.array([[4], [2], [3]])
    causal_in = np.tril(np.ones((T_in, T_in), bool))
    mine_leaves = {
        **{f"enc.{n}": p for n, p in enc.named_parameters()},
        **{f"dec.{n}": p for n, p in dec.named_parameters()},
        **inp,
    }
    R = _leaves(mine_leaves)

    memory = enc(inp["x"], causal_in, key_mask=src_real)
    out = dec(inp["y"], memory, tgt_key_mask=tgt_real, memory_key_mask=src_real)

    ref_enc, ref_dec = _torch_layers(d, heads, d_ff)
    enc_kw = {"src_mask": torch.tensor(~causal_in), "src_key_padding_mask": torch.tensor(~src_real)}
    ref_memory = functional_call(ref_enc, _torch_layer_params(R, "enc.", False), (R["x"],), enc_kw)
    dec_kw = {
        "tgt_mask": torch.tensor(~np.tril(np.ones((T_out, T_out), bool))),
        "tgt_key_padding_mask": torch.tensor(~tgt_real),
        "memory_key_padding_mask": torch.tensor(~src_real),
    }
    ref_out = functional_call(
        ref_dec, _torch_layer_params(R, "dec.", True), (R["y"], ref_memory), dec_kw
    )
    _compare([memory, out], [ref_memory, ref_out], mine_leaves, R, dtype, rng)
    assert np.all(dec.self_attention.last_attention[1, :, :, 2:] == 0)  # target padding
    assert np.all(dec.cross_attention.last_attention[1, :, :, 3:] == 0)  # source padding


@pytest.mark.parametrize("dtype", DTYPES)
def test_pytorchs_masks_are_refused_and_their_negations_match_pytorch(dtype):
    """The masks a PyTorch decoder layer takes (True = may NOT attend: the causal tgt_mask,
    key padding masks of batches padded to their longest sequence), passed to ours as they
    are, are refused; negated, as the messages say, ours equals PyTorch's given them as
    they are. Likewise nn.MultiheadAttention's 4th argument, key_padding_mask, with
    B == Tq: refused as our 4th, mask; equal as key_mask=~it."""
    rng = np.random.default_rng(11)
    B, T_in, T_out, d, heads, d_ff = 3, 5, 3, 8, 2, 12
    dec = _build(dtype, lambda: ts.nn.TransformerDecoderLayer(d, heads, d_ff), rng)
    inp = _inputs(rng, dtype, y=(B, T_out, d), memory=(B, T_in, d))
    tgt_mask = torch.triu(torch.ones(T_out, T_out), 1).bool()  # PyTorch's causal mask
    memory_mask = torch.tensor(rng.random((T_out, T_in)) < 0.4)
    memory_mask[:, 0] = False  # (each query sees a key: PyTorch gives NaN otherwise)
    tgt_pad = torch.tensor(~(np.arange(T_out) < np.array([[3], [1], [2]])))
    memory_pad = torch.tensor(~(np.arange(T_in) < np.array([[5], [2], [4]])))
    y, memory = inp["y"], inp["memory"]
    refused = [
        ({"tgt_mask": tgt_mask.numpy()}, "tgt_mask lets no position attend to itself"),
        ({"tgt_key_mask": tgt_pad.numpy()}, "tgt_key_mask=~tgt_key_padding_mask"),
        ({"memory_key_mask": memory_pad.numpy()}, "memory_key_mask=~memory_key_padding_mask"),
        ({"memory_mask": np.zeros((T_out, T_in), bool)}, "memory_mask is False everywhere"),
    ]
    for given, says in refused:
        with pytest.raises(ValueError, match=rf"^TransformerDecoderLayer: .*{says}"):
            dec(y, memory, **given)
    float_mask = torch.nn.Transformer.generate_square_subsequent_mask(T_out).numpy()
    with pytest.raises(TypeError, match=r"tgt_mask must be boolean.*write tgt_mask=\(m == 0\)"):
        dec(y, memory, float_mask)

    mine_leaves = {**{f"dec.{n}": p for n, p in dec.named_parameters()}, **inp}
    R = _leaves(mine_leaves)
    out = dec(
        y,
        memory,
        ~tgt_mask.numpy(),
        ~memory_mask.numpy(),
        tgt_key_mask=~tgt_pad.numpy(),
        memory_key_mask=~memory_pad.numpy(),
    )
    np.testing.assert_array_equal(
        dec(y, memory, float_mask == 0, ~memory_mask.numpy()).numpy(),
        dec(y, memory, None, ~memory_mask.numpy()).numpy(),
    )
    _, ref_dec = _torch_layers(d, heads, d_ff)
    kw = {
        "tgt_mask": tgt_mask,
        "memory_mask": memory_mask,
        "tgt_key_padding_mask": tgt_pad,
        "memory_key_padding_mask": memory_pad,
    }
    params = _torch_layer_params(R, "dec.", True)
    ref_out = functional_call(ref_dec, params, (R["y"], R["memory"]), kw)

    # nn.MultiheadAttention(x, x, x, key_padding_mask), B == T: our 4th argument is mask
    mha = dec.self_attention
    x = _inputs(rng, dtype, x=(B, B, d))["x"]
    pad = ~(np.arange(B) < np.array([[B], [2], [1]]))  # True at padding; row 0 all False
    with pytest.raises(ValueError, match=r"lets query 0 attend to no key\. With B == Tq = 3"):
        mha(x, x, x, pad)
    mine_attention = mha(x, x, x, key_mask=~pad)
    R["x"] = _leaves({"x": x})["x"]
    mine_leaves["x"] = x
    ref_attention = functional_call(
        torch.nn.MultiheadAttention(d, heads, batch_first=True).double(),
        _torch_mha_params(R, "dec.self_attention."),
        (R["x"], R["x"], R["x"]),
        {"key_padding_mask": torch.tensor(pad), "need_weights": True},
    )
    ref_weights = ref_attention[1]  # (averaged over heads)
    mine = [out, mine_attention[0], mine_attention[1].mean(axis=1)]
    _compare(mine, [ref_out, ref_attention[0], ref_weights], mine_leaves, R, dtype, rng)
    _not_trivial(dec, exempt=("b_K",))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_and_padded_cross_entropy_match_pytorch(dtype):
    """The whole encoder-decoder (embeddings, sinusoidal positions, two layers each side,
    output layer) and the cross-entropy that ignores padded targets, with source
    lengths hiding source padding."""
    rng = np.random.default_rng(7)
    V_src, V_tgt, d, heads, d_ff, layers, PAD = 9, 7, 8, 2, 12, 2, 0
    B, T_in, T_out = 3, 5, 4
    model = _build(dtype, lambda: ts.nn.Transformer(V_src, V_tgt, d, heads, d_ff, layers), rng)
    src_lengths = np.array([5, 2, 4])
    src = rng.integers(1, V_src, (B, T_in))
    tgt_in = rng.integers(1, V_tgt, (B, T_out))
    targets = rng.integers(1, V_tgt, (B, T_out))
    targets[1, 2:] = PAD
    targets[2, 3] = PAD
    mine_leaves = _params(model)
    R = _leaves(mine_leaves)

    logits = model(src, tgt_in, src_lengths=src_lengths)
    loss = ts.F.cross_entropy(logits, targets, ignore_index=PAD)

    src_pad = torch.tensor(~(np.arange(T_in)[None, :] < src_lengths[:, None]))
    PE = _torch_positions(max(T_in, T_out), d)
    ref_enc, ref_dec = _torch_layers(d, heads, d_ff)
    x = TF.embedding(torch.tensor(src), R["src_embedding.E"]) + PE[:T_in]
    for i in range(layers):
        params = _torch_layer_params(R, f"encoder_layers.{i}.", False)
        x = functional_call(ref_enc, params, (x,), {"src_key_padding_mask": src_pad})
    y = TF.embedding(torch.tensor(tgt_in), R["tgt_embedding.E"]) + PE[:T_out]
    causal = torch.tensor(~np.tril(np.ones((T_out, T_out), bool)))
    for i in range(layers):
        params = _torch_layer_params(R, f"decoder_layers.{i}.", True)
        kw = {"tgt_mask": causal, "memory_key_padding_mask": src_pad}
        y = functional_call(ref_dec, params, (y, x), kw)
    ref_logits = TF.linear(y, R["out.W"], R["out.b"])
    ref_loss = TF.cross_entropy(
        ref_logits.reshape(-1, V_tgt), torch.tensor(targets).reshape(-1), ignore_index=PAD
    )
    _compare([logits, loss], [ref_logits, ref_loss], mine_leaves, R, dtype, rng)
    assert not np.any(model.src_embedding.E.grad[0])  # (no source id is 0)


# ------------------------------------------------------------------ functional
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_log_softmax_layer_norm_and_cross_entropy_match_pytorch(dtype):
    rng = np.random.default_rng(8)
    inp = _inputs(rng, dtype, x=(2, 3, 4), logits=(6, 5), seq=(2, 3, 5), z=(3, 4))
    inp["logits"].data *= 20  # large logits: the stable forms matter
    gain_bias = {
        n: ts.Tensor(rng.standard_normal(4).astype(dtype), requires_grad=True)
        for n in ("gain", "bias")
    }
    inp["z"].data[1] = 0.25  # a constant row: only eps keeps its normalisation finite
    mine_leaves = {**inp, **gain_bias}
    R = _leaves(mine_leaves)
    targets, seq_targets = rng.integers(0, 5, 6), rng.integers(0, 5, (2, 3))
    targets[[1, 4]] = 3  # (ignored below)

    mine, ref = [], []
    for axis in (0, 1, 2, -1, -2):
        mine += [ts.F.softmax(inp["x"], axis=axis), inp["x"].log_softmax(axis=axis)]
        ref += [torch.softmax(R["x"], axis), torch.log_softmax(R["x"], axis)]
    for ignore in (None, 3):
        mine.append(ts.F.cross_entropy(inp["logits"], targets, ignore_index=ignore))
        ref.append(
            TF.cross_entropy(
                R["logits"], torch.tensor(targets), ignore_index=-100 if ignore is None else ignore
            )
        )
    mine.append(ts.F.cross_entropy(inp["seq"], seq_targets, ignore_index=int(seq_targets[0, 0])))
    ref.append(
        TF.cross_entropy(
            R["seq"].reshape(-1, 5),
            torch.tensor(seq_targets).reshape(-1),
            ignore_index=int(seq_targets[0, 0]),
        )
    )
    for eps in (1e-5, 1e-2):
        mine.append(ts.F.layer_norm(inp["z"], gain_bias["gain"], gain_bias["bias"], eps=eps))
        ref.append(TF.layer_norm(R["z"], (4,), R["gain"], R["bias"], eps=eps))
    _compare(mine, ref, mine_leaves, R, dtype, rng)


def test_cross_entropy_with_every_target_ignored_is_zero_where_pytorch_gives_nan():
    logits = ts.Tensor(np.ones((2, 3)), requires_grad=True)
    ref = TF.cross_entropy(
        torch.ones(2, 3, dtype=torch.float64), torch.tensor([1, 1]), ignore_index=1
    )
    assert torch.isnan(ref)  # PyTorch: 0 / 0
    loss = ts.F.cross_entropy(logits, np.array([1, 1]), ignore_index=1)
    loss.backward()
    assert loss.item() == 0.0 and not np.any(logits.grad)


# ------------------------------------------------------------------ optimizers
OPTIMIZERS = {
    "SGD": ({"lr": 0.1}, {"lr": 0.1}),
    "SGD-momentum": ({"lr": 0.1, "momentum": 0.9}, {"lr": 0.1, "momentum": 0.9}),
    "Adam": ({"lr": 0.01}, {"lr": 0.01}),
    "Adam-betas-eps": (
        {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
        {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    ),
    "SGD-momentum-decay": (
        {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
        {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
    ),
    "Adam-decay": ({"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "weight_decay": 0.1}),
    "AdamW": ({"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "weight_decay": 0.1}),
}
# steps on which the parameter `extra` takes part: first used late (Adam counts its steps
# per parameter), then skipped once after use (no momentum step without a gradient)
EXTRA_STEPS = (1, 3, 4)


def _torch_clip(params, max_norm):
    """PyTorch's clip_grad_norm_ with its max_norm adjusted so that it scales by ours,
    max_norm / (norm + 1e-12), not max_norm / (norm + 1e-6) (see the module docstring)."""
    norm = float(torch.nn.utils.clip_grad_norm_(params, math.inf))  # (measures only)
    torch.nn.utils.clip_grad_norm_(params, max_norm * (norm + 1e-6) / (norm + 1e-12))
    return norm


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clip", [None, 1.0], ids=["noclip", "clip"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizers_follow_pytorch_step_by_step(name, clip, dtype):
    rng = np.random.default_rng(9)
    ours_kw, torch_kw = OPTIMIZERS[name]
    mlp = _build(dtype, lambda: ts.nn.MLP([4, 6, 3]), rng)
    extra = ts.nn.Parameter(rng.uniform(-0.5, 0.5, 3).astype(dtype), name="extra")
    mine_params = {**_params(mlp), "extra": extra}
    R = _leaves(mine_params)
    opt = getattr(ts.optim, name.split("-")[0])(list(mine_params.values()), **ours_kw)
    ref_opt = getattr(torch.optim, name.split("-")[0])(list(R.values()), **torch_kw)
    tol = TOL[dtype]
    start = {n: p.numpy().copy() for n, p in mine_params.items()}
    clipped = 0

    for step in range(6):
        x = rng.standard_normal((5, 4))
        targets = rng.integers(0, 3, 5)
        opt.zero_grad()
        ref_opt.zero_grad()
        logits = mlp(ts.Tensor(x.astype(dtype)))
        h = torch.tanh(
            TF.linear(
                torch.tensor(x.astype(dtype).astype(np.float64)), R["layers.0.W"], R["layers.0.b"]
            )
        )
        ref_logits = TF.linear(h, R["layers.1.W"], R["layers.1.b"])
        if step in EXTRA_STEPS:
            logits, ref_logits = logits + extra, ref_logits + R["extra"]
        ts.F.cross_entropy(logits, targets).backward()
        TF.cross_entropy(ref_logits, torch.tensor(targets)).backward()
        assert (extra.grad is None) == (step not in EXTRA_STEPS)
        if clip is not None:
            norm = ts.optim.clip_grad_norm(list(mine_params.values()), clip)
            ref_norm = _torch_clip(list(R.values()), clip)
            np.testing.assert_allclose(norm, ref_norm, rtol=tol)
            clipped += norm > clip
        opt.step()
        ref_opt.step()
        for n, p in mine_params.items():
            assert p.dtype == dtype
            np.testing.assert_allclose(
                p.numpy(), R[n].detach().numpy(), rtol=tol, atol=tol, err_msg=f"{n} step {step}"
            )
    for n, p in mine_params.items():  # every weight took real steps
        assert np.abs(p.numpy() - start[n]).max() > 1e-3, n
    assert clip is None or 0 < clipped < 6  # clipping changed some steps, not all


@pytest.mark.parametrize("max_norm", [0.3, 1e3])
def test_clip_grad_norm_matches_pytorch_up_to_its_epsilon(max_norm):
    rng = np.random.default_rng(10)
    grads = [rng.standard_normal(s) for s in ((3, 4), (4,), (2, 2))]
    mine = [ts.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    ref = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for m, r, g in zip(mine, ref, grads, strict=True):
        m.grad, r.grad = g.copy(), torch.tensor(g)
    norm = ts.optim.clip_grad_norm(mine, max_norm)
    ref_norm = float(torch.nn.utils.clip_grad_norm_(ref, max_norm))
    np.testing.assert_allclose(norm, ref_norm, rtol=1e-13)
    scale = min(1.0, max_norm / (norm + 1e-12))
    for m, r, g in zip(mine, ref, grads, strict=True):
        np.testing.assert_allclose(m.grad, g * scale, rtol=1e-14)  # ours: norm + 1e-12
        np.testing.assert_allclose(m.grad, r.grad.numpy(), rtol=2e-6 / norm)  # PyTorch's 1e-6


def test_the_readmes_lstm_weight_map_trains_as_pytorchs_with_one_bias_per_gate():
    # docs/pytorch.md, "Recurrent weights, beside PyTorch's": W_f = [weight_hh[f], weight_ih[f]],
    # b_f = bias_ih[f] + bias_hh[f]; with bias_hh frozen, Adam steps agree; trained too,
    # PyTorch's summed bias moves twice as far and the runs part
    rng = np.random.default_rng(5)
    d, h, B, T = 3, 4, 2, 5
    ts.set_default_dtype(np.float64)
    model = ts.nn.LSTM(d, h)
    xs = rng.normal(size=(B, T, d))

    def to_torch(freeze_bias_hh):
        ref = torch.nn.LSTM(d, h, batch_first=True).double()
        W = {g: getattr(model.cell, f"W_{g}").numpy() for g in "ifCo"}
        with torch.no_grad():
            ref.weight_ih_l0.copy_(torch.tensor(np.concatenate([W[g][:, h:] for g in "ifCo"])))
            ref.weight_hh_l0.copy_(torch.tensor(np.concatenate([W[g][:, :h] for g in "ifCo"])))
            b = np.concatenate([getattr(model.cell, f"b_{g}").numpy() for g in "ifCo"])
            ref.bias_ih_l0.copy_(torch.tensor(b / 2))  # split between the two: their sum is b
            ref.bias_hh_l0.copy_(torch.tensor(b / 2))
        ref.bias_hh_l0.requires_grad_(not freeze_bias_hh)
        return ref

    def adam_steps_pytorch(ref, steps):
        opt = torch.optim.Adam([p for p in ref.parameters() if p.requires_grad], lr=0.05)
        for _ in range(steps):
            opt.zero_grad()
            (ref(torch.tensor(xs))[0] ** 2).sum().backward()
            opt.step()
        return ref(torch.tensor(xs))[0].detach().numpy()

    frozen, trained = to_torch(True), to_torch(False)
    np.testing.assert_allclose(
        frozen(torch.tensor(xs))[0].detach().numpy(), model(ts.Tensor(xs))[0].numpy(), atol=1e-12
    )
    opt = ts.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(4):
        opt.zero_grad()
        (model(ts.Tensor(xs))[0] ** 2).sum().backward()
        opt.step()
    ours = model(ts.Tensor(xs))[0].numpy()
    np.testing.assert_allclose(adam_steps_pytorch(frozen, 4), ours, atol=1e-10)
    assert np.abs(adam_steps_pytorch(trained, 4) - ours).max() > 1e-3
