"""Demo 3: remembering across a delay — RNN vs LSTM vs GRU, and the LSTM's forget gates.

The task (`data.delay_task`): [s, n_1, ..., n_D, ?] -> s, one of 4 symbols (chance 25%),
with D random distractors in between. Each model (Embedding -> RNN/LSTM/GRU -> Linear on
h_T, `train.SequenceClassifier`) is trained with the same budget at each delay D and tested
on fresh sequences, several times over (runs): whether a model learns a long delay within
the budget depends on its initial weights and data, so one run per model would tell a
different story for each --seed (a vanilla RNN sometimes learns D = 30; an LSTM started at
b_f = 1 sometimes does not). At the quick and tiny sizes a run stops once it has learned
(its training loss below STOP_LOSS on average over STOP_WINDOW steps): the rest of its
budget would change none of the outcomes, and most of the time went there. Then the trained
LSTM's forget gates f_t = σ(W_f·[h_{t−1}, x_t] + b_f) are read along the sequence, and
Π f_t — the cell path's gradient ∂C_T/∂C_1 — compared with the same product before training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, require

# (cell, label, the LSTM's initial forget bias b_f). The LSTM starts with b_f = 1 (f_t ≈ 0.73,
# the library's default, Gers et al. 2000); the GRU gets the same start, b_z = −1
# (1 − z_t ≈ 0.73 of h_{t−1} kept), so both gated models begin able to carry a token. With
# b_z at its random initial value (z_t ≈ 0.5) the GRU waits much longer on the loss plateau:
# 0.5^D of the gradient reaches the first token. The second LSTM starts with b_f = 3
# (f_t ≈ 0.95): at D = 40 the cell path passes 0.73^40 ≈ 3e-6 of the gradient from b_f = 1,
# too little to learn to open the gates from, but 0.95^40 ≈ 0.13 from b_f = 3 (Tallec and
# Ollivier's "chrono" initialisation sets b_f from the delays to bridge).
KINDS = (
    ("rnn", "RNN", None),
    ("lstm", "LSTM, b_f = 1", 1.0),
    ("lstm", "LSTM, b_f = 3", 3.0),
    ("gru", "GRU", None),
)
LSTM_DEFAULT, LSTM_CHRONO = KINDS[1][1], KINDS[2][1]  # the two LSTMs' labels
GRU_UPDATE_BIAS = -1.0
RUN_SEED_STRIDE = 7919  # run r uses seed + r·7919 (its data and its initial weights)
LEARNED = 0.9  # test accuracy from which a run counts as having learned the delay
# A run that stops early (settings' "stop_when_learned") stops once its training loss
# has averaged below STOP_LOSS over the last STOP_WINDOW steps (1,280 sequences at batch 64).
# At the quick size, over seeds 0-4 (180 runs, half of their steps skipped), every run's
# test accuracy was that of the same run trained to the end of its budget, and the best
# LSTM unit's Π f_t moved by 12 % at most (seed 0: 0.263 against 0.273).
STOP_WINDOW, STOP_LOSS = 20, 0.02


def settings(ctx: DemoContext) -> dict[str, Any]:
    """Sizes shared with the GRU-vs-LSTM demo (so the tour trains each model once)."""
    return {
        "delays": ctx.pick(tiny=[5, 15], quick=[5, 15, 30], full=[5, 10, 20, 40, 60]),
        # quick: 300 steps, 400 before: over seeds 0-4, 3 of the 60 counts of runs that
        # learned a delay (4 models × 3 delays × 5 seeds) fell by one run (the LSTM's at
        # D = 15 twice, the GRU's at D = 30 once), none of the RNN's moved
        "steps": ctx.pick(tiny=200, quick=300, full=1200),
        "hidden": 32,
        "embed": 8,
        "batch": 64,
        "lr": 5e-3,
        "train_size": ctx.pick(tiny=1000, quick=2000, full=4000),
        "runs": ctx.pick(tiny=2, quick=3, full=3),
        # the quick sizes stop a run once it has learned (has_learned); the full one spends
        # every run's whole budget
        "stop_when_learned": ctx.pick(tiny=True, quick=True, full=False),
    }


def has_learned(losses: list[float]) -> bool:
    """Whether a run's training loss has averaged below STOP_LOSS over its last
    STOP_WINDOW steps (`train_classifier`'s `stop`)."""
    return len(losses) >= STOP_WINDOW and sum(losses[-STOP_WINDOW:]) < STOP_LOSS * STOP_WINDOW


def train_delay(
    ctx: DemoContext, kind: str, delay: int, forget_bias: float | None = None, run: int = 0
) -> dict[str, Any]:
    """Train `kind` on the delay task at `delay` (cached for this tour); return its record.
    An LSTM starts with b_f = `forget_bias` (the library's 1 when None). Run `run` draws its
    data and initial weights from seed + run·RUN_SEED_STRIDE."""
    data, train_mod = require("tinygrad_seq.data"), require("tinygrad_seq.train")
    cfg = settings(ctx)
    forget_bias = 1.0 if forget_bias is None else forget_bias
    seed = ctx.seed + run * RUN_SEED_STRIDE

    def make() -> dict[str, Any]:
        train = data.delay_task(cfg["train_size"], delay, seed=seed)
        test = data.delay_task(500, delay, seed=seed + 10_000)
        ts.manual_seed(seed)
        # (the GRU starts remembering, b_z = −1, as the LSTM does with b_f = 1)
        model = train_mod.SequenceClassifier(
            len(train.vocab), 4, cfg["embed"], cfg["hidden"], kind,
            forget_bias=forget_bias, update_bias=GRU_UPDATE_BIAS,
        )  # fmt: skip
        label = kind.upper() + (f" b_f={forget_bias:g}" if kind == "lstm" else "")
        label += f" delay {delay}" + (f" run {run + 1}/{cfg['runs']}" if cfg["runs"] > 1 else "")
        with ctx.training_bar(cfg["steps"], label) as callback:
            r = train_mod.train_classifier(
                model,
                train,
                test,
                cfg["steps"],
                cfg["batch"],
                cfg["lr"],
                1.0,
                seed,
                callback,
                stop=has_learned if cfg["stop_when_learned"] else None,
            )
        return {
            "model": model,
            "test_accuracy": r.test_accuracy,
            "train_accuracy": r.train_accuracy,
            "losses": r.losses,
            "seconds": r.seconds,
            "parameters": sum(int(p.data.size) for p in model.parameters()),
            "test": test,
        }

    key = ("delay", kind, delay, cfg["steps"], cfg["hidden"], cfg["train_size"], run)
    if kind == "lstm" and forget_bias != 1.0:
        key += (forget_bias,)
    return ctx.cached(key, make)


def train_runs(
    ctx: DemoContext, kind: str, delay: int, forget_bias: float | None = None
) -> list[dict[str, Any]]:
    """Every run of `kind` at `delay` (settings' "runs" of them), each `train_delay`'s record."""
    return [train_delay(ctx, kind, delay, forget_bias, r) for r in range(settings(ctx)["runs"])]


def count_learned(accuracies) -> int:
    """How many runs learned the delay (test accuracy ≥ LEARNED)."""
    return sum(a >= LEARNED for a in accuracies)


def forget_gates(model, ids: np.ndarray) -> np.ndarray:
    """f_t (B, T, h) of a SequenceClassifier's LSTM on `ids`, from the seed's equation."""
    cell = model.rnn.cell
    with ts.no_grad():
        xs = model.embed(ids)  # (B, T, e)
        hs, _ = model.rnn(xs)  # (B, T, h)
    xs, hs = xs.numpy(), hs.numpy()
    W_f, b_f = cell.W_f.numpy(), cell.b_f.numpy()
    h_prev = np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)  # h_{t−1}, h_0 = 0
    hx = np.concatenate([h_prev, xs], axis=-1)  # [h_{t−1}, x_t]  (B, T, h+e)
    return 1.0 / (1.0 + np.exp(-(hx @ W_f.T + b_f)))  # f_t = σ(W_f·[h_{t−1}, x_t] + b_f)


def _gates_verdict(best_after: float, best_before: float, steps: int) -> tuple[str, str]:
    """What Π f_t of the best unit over `steps` steps, before and after training, says of
    its forget gates (the steps the cell path multiplies: not step 1's, which C_0 = 0
    leaves free): a note on the trained unit's f_t, to follow its product, and the verdict,
    to end the sentence."""
    if best_after <= 10 * best_before:
        return "", ": these forget gates did not open."
    per_step = best_after ** (1 / steps)  # the geometric mean of that unit's f_t
    if per_step > 0.95:
        return (
            f" (f_t ≈ {per_step:.3f} at each step)",
            ": the network learned to hold its forget gates near 1 where it must remember.",
        )
    return (
        f" (f_t ≈ {per_step:.2f} at each step)",
        ": training opened its forget gates wider, though not to near 1.",
    )


GATED = {
    LSTM_DEFAULT: "the LSTM at its default b_f = 1",
    LSTM_CHRONO: "the LSTM started at b_f = 3",
    "GRU": "the GRU",
}


def gated_verdict(learned_runs: dict[str, list[int]], delays, n_runs: int) -> str:
    """Whether this run shows the seed's claim at the longest delay, counted in runs that
    learned it: a gated model holds it where it learned the delay in more runs than the
    vanilla RNN (a tie does not). A phrase that follows "the claim ..." (for the key and the
    measured text)."""
    d, rnn = delays[-1], learned_runs["RNN"][-1]

    def runs(k: int) -> str:
        return f"{k} of {n_runs}"

    ahead = [label for label in GATED if learned_runs[label][-1] > rnn]
    behind = [label for label in GATED if label not in ahead]
    if not ahead:
        if rnn == n_runs:
            return (
                f"did not hold at D = {d} in this run: the RNN learned it in every run "
                f"({runs(rnn)}), so this delay does not separate them at this size"
            )
        return (
            f"did not hold at D = {d} in this run: no gated model learned it in more runs "
            f"than the RNN ({runs(rnn)})"
        )
    listed = ", ".join(f"{GATED[label]} ({runs(learned_runs[label][-1])})" for label in ahead)
    text = f"held at D = {d} for {listed}, against the RNN's {runs(rnn)}"
    if behind:
        text += "; not for " + ", ".join(
            f"{GATED[label]} ({runs(learned_runs[label][-1])}, "
            + ("as many as" if learned_runs[label][-1] == rnn else "fewer than")
            + " the RNN)"
            for label in behind
        )
    return text


SEED_REACH = 200  # "hundreds of time steps": the cell path over this many


def seed_scales(delays) -> tuple[str, dict[str, float]]:
    """The seed's two scales beside the delays run: the vanilla RNN's reach, "a few time
    steps (typically 5-10)", and the gated cells', "hundreds of time steps", which these
    delays stop short of. A sentence, and Π f_t over SEED_REACH steps for forget gates held
    at σ(3) and σ(5) (what the cell path would pass back over hundreds of steps)."""
    sigma = {b: 1 / (1 + np.exp(-b)) for b in (3.0, 5.0)}
    passed = {f"b_f={b:g}": float(s**SEED_REACH) for b, s in sigma.items()}
    text = (
        ' The seed puts the vanilla RNN\'s reach at "a few time steps (typically 5-10)" and '
        'says gated cells "can model dependencies spanning hundreds of time steps": the '
        f"delays here, D = {delays[0]} to {delays[-1]}, test the first and stop short of the "
        f"second. Over {SEED_REACH} steps the cell path would pass σ(3)^{SEED_REACH} = "
        f"{passed['b_f=3']:.0e} of the gradient from gates at b_f = 3, and σ(5)^{SEED_REACH} "
        f"= {passed['b_f=5']:.2f} at b_f = 5: hundreds of steps want forget gates started "
        "nearer 1 still."
    )
    return text, passed


def run(ctx: DemoContext) -> dict[str, Any]:
    train_mod = require("tinygrad_seq.train")
    cfg = settings(ctx)
    delays, n_runs = cfg["delays"], cfg["runs"]
    acc: dict[str, list[float]] = {label: [] for _, label, _ in KINDS}  # mean over the runs
    per_run: dict[str, list[list[float]]] = {label: [] for _, label, _ in KINDS}
    records: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for delay in delays:
        for kind, label, forget_bias in KINDS:
            runs = train_runs(ctx, kind, delay, forget_bias)
            records[(label, delay)] = runs
            per_run[label].append([r["test_accuracy"] for r in runs])
            acc[label].append(float(np.mean(per_run[label][-1])))
    learned_runs = {label: [count_learned(a) for a in per_run[label]] for label in per_run}

    # The forget gates of the LSTM (b_f = 1) at the longest delay a run of it learned (else
    # the longest), from its best run there
    longest = delays[-1]
    learned = [d for d, k in zip(delays, learned_runs[LSTM_DEFAULT], strict=True) if k]
    gate_delay = learned[-1] if learned else longest
    gate_runs = records[(LSTM_DEFAULT, gate_delay)]
    gate_run = max(range(n_runs), key=lambda r: gate_runs[r]["test_accuracy"])
    lstm = gate_runs[gate_run]
    test = lstm["test"]
    f_trained = forget_gates(lstm["model"], test.ids[:200])  # (B, T, h)
    ts.manual_seed(ctx.seed + gate_run * RUN_SEED_STRIDE)  # the same model before training
    fresh = train_mod.SequenceClassifier(len(test.vocab), 4, cfg["embed"], cfg["hidden"], "lstm")
    f_init = forget_gates(fresh, test.ids[:200])
    # Π f_t from step 2 to T: the cell path ∂C_T/∂C_1 (per unit, averaged over sequences)
    prod_trained = np.exp(np.log(f_trained[:, 1:]).sum(axis=1)).mean(axis=0)  # (h,)
    prod_init = np.exp(np.log(f_init[:, 1:]).sum(axis=1)).mean(axis=0)
    top = int(np.argmax(prod_trained))
    cum_trained = np.exp(np.cumsum(np.log(f_trained[:, 1:]), axis=1)).mean(axis=0)  # (T−1, h)
    cum_init = np.exp(np.cumsum(np.log(f_init[:, 1:]), axis=1)).mean(axis=0)
    # over steps 2..T, the ones the cell path multiplies (step 1's gate meets C_0 = 0)
    mean_f_per_unit = f_trained[:, 1:].mean(axis=(0, 1))  # (h,)

    from tinygrad_seq.viz import plots

    fig = plots.memory_figure(
        ctx.figure("memory.png"),
        delays,
        acc,
        0.25,
        {label: [r["losses"] for r in records[(label, longest)]] for _, label, _ in KINDS},
        longest,
        f_trained.mean(axis=0),
        gate_delay,
        cum_trained,
        cum_init,
        top,
        batch=cfg["batch"],
        per_run=per_run,
        stopped=cfg["stop_when_learned"],
        gate_model=LSTM_DEFAULT,  # the lower panels' LSTM: the upper ones show two
    )
    T = f_trained.shape[1]
    default, chrono = LSTM_DEFAULT, LSTM_CHRONO

    def result(label: str, k: int) -> str:  # "66% (2 of 3)": the runs that learned it
        if n_runs == 1:
            return f"{acc[label][k]:.0%}"
        return f"{acc[label][k]:.0%} ({learned_runs[label][k]} of {n_runs})"

    f_note, verdict = _gates_verdict(float(prod_trained[top]), float(prod_init.max()), T - 1)
    if cfg["stop_when_learned"]:
        budget = (
            f"up to {cfg['steps']} Adam steps per run (a run stops once it has learned: its "
            f"training loss below {STOP_LOSS:g} on average over {STOP_WINDOW} steps)"
        )
    else:
        budget = f"{cfg['steps']} Adam steps per run"
    measured = (
        f"Test accuracy on fresh sequences (chance 25%), {budget}, hidden size {cfg['hidden']}"
        + (
            f", the mean of {n_runs} runs each with its own data and initial weights (in "
            f"brackets: the runs that learned the delay, reaching {LEARNED:.0%})"
            if n_runs > 1
            else ""
        )
        + ": "
        + "; ".join(
            f"D = {d}: RNN {result('RNN', k)}, LSTM {result(default, k)}, the LSTM started at "
            f"b_f = 3 {result(chrono, k)}, GRU {result('GRU', k)}"
            for k, d in enumerate(delays)
        )
        + f". In the LSTM trained at D = {gate_delay}"
        + (f" (its best run there, run {gate_run + 1})" if n_runs > 1 else "")
        + (" (the longest delay it learned)" if gate_delay != longest else "")
        + f", the mean forget gate is {float(f_trained.mean()):.2f} (it starts at "
        f"{float(f_init.mean()):.2f}); {int((mean_f_per_unit > 0.9).sum())} of "
        f"{cfg['hidden']} units keep f_t > 0.9 on average over steps 2 to T. Along the cell "
        "path, Π f_t over the "
        f"{T - 1} steps (= ∂C_T/∂C_1 for that unit) is {float(prod_trained[top]):.2g} for the "
        f"best unit after training{f_note} against {float(prod_init.max()):.2g} for the best "
        f"unit before{verdict}"
    )
    short = [k for k, n in enumerate(learned_runs[LSTM_DEFAULT]) if n < n_runs]  # not every run
    if short:
        k = short[-1]  # the longest such delay
        d = delays[k]
        measured += (
            f" Within this budget the LSTM started at b_f = 1 learned D = {d} in "
            f"{learned_runs[default][k]} of {n_runs} runs: its forget gates start near 0.73, so "
            f"the cell path passes about 0.73^D of the gradient ({0.73**d:.0e} at D = {d}), "
            f"too little for a run to count on to learn to hold them open. Started at b_f = 3 "
            f"(f_t ≈ 0.95, "
            f"0.95^{d} ≈ {0.95**d:.2f}) the same LSTM learned it in {learned_runs[chrono][k]} "
            f"of {n_runs}: the gates must start near 1 to learn to stay there (Tallec and "
            "Ollivier's chrono initialisation sets b_f from the delays to bridge)."
        )
    if n_runs > 1:
        counts = learned_runs["RNN"]
        measured += (
            " The vanilla RNN, whose gradient to the first token shrinks at every step (the "
            "vanishing demo), learned "
            + ", ".join(
                f"D = {d} in {n} of {n_runs} runs" for d, n in zip(delays, counts, strict=True)
            )
            + (
                ": now and then a run finds a way, but not reliably."
                if any(0 < n < n_runs for n in counts)
                else "."
            )
        )
    verdict = gated_verdict(learned_runs, delays, n_runs)
    measured += (
        " The seed's claim that gated cells remember where the vanilla RNN does not "
        f"(counted as a gated model learning the delay in more runs than the RNN) {verdict}."
    )
    measured += (
        " Both gated models start remembering: the LSTM's forget-gate bias b_f = 1 (the "
        "library's default) and the GRU's update-gate bias b_z = −1 (1 − z_t ≈ 0.73), the same "
        "start; with b_z at its random initial value (z_t ≈ 0.5) the GRU sits far longer on "
        "the loss plateau."
    )
    scales, passed = seed_scales(delays)
    measured += scales
    mean_of = f"mean of {n_runs} runs" if n_runs > 1 else "one run"
    return {
        "headline": f"D={longest}: RNN {acc['RNN'][-1]:.0%}, LSTM {acc[default][-1]:.0%} (b_f = "
        f"3: {acc[chrono][-1]:.0%}), GRU {acc['GRU'][-1]:.0%} ({mean_of}; chance 25%); "
        f"best-unit Π f_t {float(prod_trained[top]):.2g} at D={gate_delay}",
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {
            **{
                f"test accuracy at D={d}, {mean_of} (runs that learned it): RNN / "
                "LSTM (b_f = 1) / LSTM (b_f = 3) / GRU": " / ".join(
                    f"{acc[label][k]:.0%} ({learned_runs[label][k]})" for _, label, _ in KINDS
                )
                for k, d in enumerate(delays)
            },
            f"gated vs the vanilla RNN at D={longest} (runs that learned it)": verdict,
            f"LSTM mean f_t at D={gate_delay}: before / after training": (
                f"{float(f_init.mean()):.2f} / {float(f_trained.mean()):.2f}"
            ),
            f"best unit's Π f_t over {T - 1} steps: before / after training": (
                f"{float(prod_init.max()):.2g} / {float(prod_trained[top]):.2g}"
            ),
        },
        "numbers": {
            "delays": delays,
            "chance": 0.25,
            "runs": n_runs,
            "learned_from": LEARNED,
            "initial_gate_biases": {
                "LSTM b_f": 1.0,
                "the second LSTM's b_f": 3.0,
                "GRU b_z": GRU_UPDATE_BIAS,
            },
            "settings": cfg,
            "test_accuracy": acc,
            "test_accuracy_per_run": per_run,
            "runs_that_learned": learned_runs,
            "gated_verdict": verdict,
            f"cell_path_over_{SEED_REACH}_steps": passed,
            "train_accuracy": {
                label: [
                    float(np.mean([r["train_accuracy"] for r in records[(label, d)]]))
                    for d in delays
                ]
                for _, label, _ in KINDS
            },
            "seconds": {
                label: [sum(r["seconds"] for r in records[(label, d)]) for d in delays]
                for _, label, _ in KINDS
            },
            "final_loss": {
                label: [[r["losses"][-1] for r in records[(label, d)]] for d in delays]
                for _, label, _ in KINDS
            },
            "steps_trained": {  # each run's steps (fewer than the budget: it stopped)
                label: [[len(r["losses"]) for r in records[(label, d)]] for d in delays]
                for _, label, _ in KINDS
            },
            "forget_gates": {
                "delay": gate_delay,
                "run": gate_run + 1,  # counted from 1, as the text and the figure count
                "mean_trained": float(f_trained.mean()),
                "mean_init": float(f_init.mean()),
                "mean_per_unit": mean_f_per_unit,
                "mean_per_step": f_trained.mean(axis=(0, 2)),
                "prod_f_per_unit_trained": prod_trained,
                "prod_f_per_unit_init": prod_init,
                "best_unit": top,
                "units_above_0.9": int((mean_f_per_unit > 0.9).sum()),
            },
        },
    }


command = demo_command("memory")
