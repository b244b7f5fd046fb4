"""Demo 2: ‖∂h_T/∂h_1‖ against T, measured with the engine's own backward.

The Jacobian J_T = ∂h_T/∂h_1 (h × h) comes from backpropagation: the sequence is run as a
batch of h identical copies, so backward from h_T with the identity matrix as its gradient
puts row k of J_T into row k of h_1's gradient (one backward per T). Its norm is the
spectral norm ‖J_T‖₂, the norm of the seed's bound
    ‖∂h_T/∂h_1‖ ≤ ‖W_hh‖^{T−1} Π_{t=2..T} ‖tanh'(·)‖.
Everything runs in float64.

- Vanilla RNN with ‖W_hh‖₂ = 0.9 (a scaled orthogonal matrix, so its eigenvalues all have
  modulus 0.9), beside the bound and the seed's example (0.9 · 0.3)^{T−1}.
- LSTM along the cell path: ∂C_T/∂C_1 with h_{t−1} held fixed (detached) = diag(Π f_t),
  compared with Π f_t computed from the gates' values; at the usual initialisation
  (b_f = 1, f_t ≈ 0.73) and with the gates open (b_f = 3, f_t ≈ 0.95, what the seed says
  training learns when information must be kept).
- GRU: the full ∂h_T/∂h_1, at initialisation and with the update gate closed (b_z = −3,
  z_t ≈ 0.05, so h_t ≈ h_{t−1}).
- The spectral radius ρ of W_hh swept across 1: below 1 gradients vanish, above 1 they grow
  while tanh stays unsaturated (small inputs) — exploding gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, nn_class

HIDDEN = 32
INPUT = 8
SEED_EXAMPLE = 0.9**19 * 0.3**19  # the seed's (0.9)^19 (0.3)^19 at T = 20


def _orthogonal(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return scale * q * np.sign(np.diag(r))  # every singular value (and |eigenvalue|) = scale


def _set(param: ts.Tensor, value: np.ndarray) -> None:
    param.data[...] = ts.backend.array_module(param.data).asarray(value, dtype=param.data.dtype)


def _batch(x: np.ndarray) -> ts.Tensor:
    """One input step x (d,) as h identical rows (h, d)."""
    return ts.Tensor(np.tile(x, (HIDDEN, 1)))


def _leaf(t: ts.Tensor) -> ts.Tensor:
    return ts.Tensor(t.data.copy(), requires_grad=True)


def _jacobian_norms(leaf: ts.Tensor, states: list[ts.Tensor]) -> tuple[list[float], np.ndarray]:
    """‖∂s_T/∂s_1‖₂ for T = 1..len(states) (states[0] is s_1 = leaf); also the last J."""
    eye = ts.backend.array_module(leaf.data).eye(HIDDEN, dtype=leaf.data.dtype)
    norms, J = [1.0], np.eye(HIDDEN)
    for k, s in enumerate(states[1:], start=2):
        leaf.grad = None
        s.backward(eye, retain_graph=k < len(states))
        J = ts.backend.to_numpy(leaf.grad)  # row i = ∂s_T[i]/∂s_1
        norms.append(float(np.linalg.norm(J, 2)))
    return norms, J


def _rnn(xs: np.ndarray, rho: float, input_scale: float, rng: np.random.Generator):
    """Unroll an RNN with W_hh = ρ·(orthogonal); return norms, Π max tanh', mean tanh'."""
    cell = nn_class("RNNCell", "rnn")(INPUT, HIDDEN)
    _set(cell.W_hh, _orthogonal(rng, HIDDEN, rho))
    _set(cell.W_xh, rng.standard_normal((HIDDEN, INPUT)) * input_scale / np.sqrt(INPUT))
    _set(cell.b_h, np.zeros(HIDDEN))
    with ts.no_grad():
        h1 = cell(_batch(xs[0]))
    h = leaf = _leaf(h1)
    states, dtanh = [leaf], []
    for x in xs[1:]:
        h = cell(_batch(x), h)
        states.append(h)
        dtanh.append(1.0 - ts.backend.to_numpy(h.data[0]) ** 2)  # tanh' = 1 − h_t²
    norms, _ = _jacobian_norms(leaf, states)
    dtanh = np.array(dtanh)  # (T−1, h)
    return norms, dtanh


def _lstm_cell_path(xs: np.ndarray, forget_bias: float, detach_h: bool = True):
    """‖∂C_T/∂C_1‖₂ along the cell path (h_{t−1} detached), and Π f_t from the gates."""
    cell = nn_class("LSTMCell", "lstm")(INPUT, HIDDEN, forget_bias=forget_bias)
    with ts.no_grad():
        h1, C1 = cell(_batch(xs[0]))
    h, C = ts.Tensor(h1.data.copy()), _leaf(C1)
    leaf, states, forget = C, [C], []
    W_f, b_f = ts.backend.to_numpy(cell.W_f.data), ts.backend.to_numpy(cell.b_f.data)
    for x in xs[1:]:
        hx = np.concatenate([ts.backend.to_numpy(h.data[0]), x])  # [h_{t−1}, x_t]
        forget.append(1.0 / (1.0 + np.exp(-(W_f @ hx + b_f))))  # f_t = σ(W_f·[h, x] + b_f)
        h, C = cell(_batch(x), (h.detach() if detach_h else h, C))
        states.append(C)
    norms, J = _jacobian_norms(leaf, states)
    prod_f = np.prod(np.array(forget), axis=0)  # Π f_t per unit
    diag_error = float(np.abs(J - np.diag(prod_f)).max()) if detach_h else None
    return norms, np.array(forget), diag_error


def _gru(xs: np.ndarray, update_bias: float | None):
    cell = nn_class("GRUCell", "gru")(INPUT, HIDDEN)
    if update_bias is not None:
        _set(cell.b_z, np.full(HIDDEN, update_bias))
    with ts.no_grad():
        h1 = cell(_batch(xs[0]))
    h = leaf = _leaf(h1)
    states = [leaf]
    for x in xs[1:]:
        h = cell(_batch(x), h)
        states.append(h)
    return _jacobian_norms(leaf, states)[0]


def run(ctx: DemoContext) -> dict[str, Any]:
    ts.set_default_dtype(np.float64)  # Jacobians down to 1e-30 and below (restored after)
    T_max = ctx.pick(tiny=30, quick=50, full=100)
    rng = np.random.default_rng(ctx.seed)
    xs = rng.standard_normal((T_max, INPUT))
    Ts = list(range(1, T_max + 1))

    curves: dict[str, list[float]] = {}
    jobs = ["rnn", "lstm", "lstm_open", "lstm_full", "gru", "gru_open", "sweep"]
    rhos = [0.5, 0.8, 0.9, 1.0, 1.1, 1.3, 1.6]
    sweep: dict[str, list[float]] = {}
    for job in ctx.progress(jobs, "vanishing: Jacobians"):
        if job == "rnn":
            norms, dtanh = _rnn(xs, 0.9, 1.5, np.random.default_rng(ctx.seed + 1))
            curves["RNN, ‖W_hh‖ = 0.9"] = norms
        elif job == "lstm":
            norms, forget, diag_error = _lstm_cell_path(xs, 1.0)
            curves["LSTM cell path, b_f = 1"] = norms
        elif job == "lstm_open":
            norms, forget_open, _ = _lstm_cell_path(xs, 3.0)
            curves["LSTM cell path, b_f = 3"] = norms
        elif job == "lstm_full":
            lstm_full, _, _ = _lstm_cell_path(xs, 1.0, detach_h=False)
        elif job == "gru":
            curves["GRU, initial gates"] = _gru(xs, None)
        elif job == "gru_open":
            curves["GRU, b_z = −3"] = _gru(xs, -3.0)
        else:
            small = 0.05 * xs  # small inputs: tanh stays in its linear range, tanh' ≈ 1
            for rho in rhos:
                sweep[f"ρ = {rho:g}"] = _rnn(small, rho, 1.0, np.random.default_rng(ctx.seed + 2))[
                    0
                ]

    # the seed's bound for the measured RNN: ‖W_hh‖^{T−1} Π max_k tanh'(a_t)_k
    max_dtanh = dtanh.max(axis=1)
    bound = [1.0] + list(np.cumprod(0.9 * max_dtanh))
    mean_dtanh = float(dtanh.mean())
    typical = [(0.9 * mean_dtanh) ** (T - 1) for T in Ts]
    seed_line = [(0.9 * 0.3) ** (T - 1) for T in Ts]

    at = 20 if T_max >= 20 else T_max
    rnn_20 = curves["RNN, ‖W_hh‖ = 0.9"][at - 1]
    lstm_20 = curves["LSTM cell path, b_f = 1"][at - 1]
    lstm_open_20 = curves["LSTM cell path, b_f = 3"][at - 1]
    gru_20 = curves["GRU, initial gates"][at - 1]
    gru_open_20 = curves["GRU, b_z = −3"][at - 1]
    mean_f = float(forget.mean())
    mean_f_open = float(forget_open.mean())

    from tinygrad_seq.viz import plots

    fig = plots.vanishing_figure(
        ctx.figure("vanishing.png"),
        Ts,
        curves,
        bound,
        typical,
        seed_line,
        mean_dtanh,
        sweep,
        at,
        dashed=("LSTM cell path, b_f = 3", "GRU, b_z = −3"),
    )
    sweep_end = {k: v[-1] for k, v in sweep.items()}
    orders = float(np.log10(lstm_20 / rnn_20))
    measured = (
        f"Spectral norms of the Jacobians from the engine's backward (float64, h = {HIDDEN}). "
        f"Vanilla RNN with ‖W_hh‖ = 0.9: ‖∂h_{at}/∂h_1‖ = {rnn_20:.2e}. Its tanh' averaged "
        f'{mean_dtanh:.2f} over units and steps (the seed\'s "typical 0.1 to 0.5"), so '
        f"(0.9·{mean_dtanh:.2f})^{at - 1} = {typical[at - 1]:.1e}; the seed's example, "
        f"(0.9)^19·(0.3)^19, is {SEED_EXAMPLE:.2e}, and the seed's bound with the measured "
        f"max tanh' per step is {bound[at - 1]:.2e} (the bound holds but is loose: one unit "
        f"near zero makes max tanh' ≈ 1). The LSTM's cell path, ∂C_{at}/∂C_1 = diag(Π f_t) "
        f"(engine vs Π f_t from the gates: max difference {diag_error:.1e}), has norm "
        f"{lstm_20:.2e} at the usual initialisation (mean f_t = {mean_f:.2f}) — "
        f"{orders:.1f} orders of magnitude above the RNN — and {lstm_open_20:.2f} with the "
        f"forget gates open (mean f_t = {mean_f_open:.2f}). The GRU's ‖∂h_{at}/∂h_1‖ is "
        f"{gru_20:.2e} at initialisation and {gru_open_20:.2f} with its update gate closed "
        f"(b_z = −3). Sweeping the spectral radius ρ of W_hh with small inputs: after "
        f"{T_max - 1} steps the norm is "
        + ", ".join(f"{v:.1e} ({k})" for k, v in sweep_end.items())
        + ": vanishing below ρ = 1, exploding above it until tanh saturates."
    )
    return {
        "headline": (
            f"T={at}: RNN {rnn_20:.1e}, LSTM cell path {lstm_20:.1e} ({orders:.1f} orders "
            f"higher), seed example {SEED_EXAMPLE:.2e}"
        ),
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            f"‖∂h_{at}/∂h_1‖ vanilla RNN (‖W_hh‖=0.9)": f"{rnn_20:.2e}",
            "the seed's example (0.9)^19 (0.3)^19": f"{SEED_EXAMPLE:.2e}",
            f"the seed's bound at T={at} (measured max tanh')": f"{bound[at - 1]:.2e}",
            "mean tanh' measured": f"{mean_dtanh:.2f}",
            f"‖∂C_{at}/∂C_1‖ LSTM cell path, b_f = 1 / b_f = 3": (
                f"{lstm_20:.2e} / {lstm_open_20:.2f}"
            ),
            f"‖∂h_{at}/∂h_1‖ GRU initial / b_z = −3": f"{gru_20:.2e} / {gru_open_20:.2f}",
            f"RNN ‖∂h_{T_max}/∂h_1‖ for ρ = " + ", ".join(f"{r:g}" for r in rhos): ", ".join(
                f"{v:.1e}" for v in sweep_end.values()
            ),
        },
        "numbers": {
            "T": Ts,
            "hidden": HIDDEN,
            "at_T": at,
            "rnn": curves["RNN, ‖W_hh‖ = 0.9"],
            "rnn_bound": bound,
            "rnn_max_tanh_prime": max_dtanh.tolist(),  # per step t = 2..T: the bound's factor
            "rnn_typical": typical,
            "rnn_mean_tanh_prime": mean_dtanh,
            "seed_example_T20": SEED_EXAMPLE,
            "seed_line": seed_line,
            "lstm_cell_path": curves["LSTM cell path, b_f = 1"],
            "lstm_cell_path_open": curves["LSTM cell path, b_f = 3"],
            "lstm_all_paths": lstm_full,
            "lstm_cell_path_vs_prod_f_max_error": diag_error,
            "lstm_mean_f": mean_f,
            "lstm_open_mean_f": mean_f_open,
            "gru": curves["GRU, initial gates"],
            "gru_open": curves["GRU, b_z = −3"],
            "at_T_values": {
                "rnn": rnn_20,
                "lstm_cell_path": lstm_20,
                "lstm_cell_path_open": lstm_open_20,
                "gru": gru_20,
                "gru_open": gru_open_20,
                "lstm_over_rnn_orders": orders,
            },
            "spectral_sweep": {"rho": rhos, "norms": sweep, "input_scale": 0.05},
        },
    }


command = demo_command("vanishing")
