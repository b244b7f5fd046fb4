"""The memory demo in detail: its helpers, and what a run reports, with the training replaced
by a stand-in whose accuracies, losses and times are set here (the tour tests train for
real). The stand-in's "training" opens the LSTMs' forget gates, adding 0 to 4 to b_f across
the units, so the gates before and after training differ; the numbers are checked against
the forget gates computed here from the engine's own backward: ∂C_t/∂C_{t−1} = diag(f_t)."""

from __future__ import annotations

import numpy as np
import pytest
from tinygrad_seq.demos import memory
from tinygrad_seq.demos.common import DemoContext
from tinygrad_seq.viz import plots

import tinygrad_seq as ts
from tinygrad_seq import data, train

pytestmark = pytest.mark.numpy_only  # demos' bookkeeping; the backends are tested elsewhere

SEED = 5


def gates_by_backward(model, ids: np.ndarray) -> np.ndarray:
    """f_t (B, T, h) of a SequenceClassifier's LSTM: ∂C_t/∂C_{t−1}, one step at a time."""
    cell = model.rnn.cell
    with ts.no_grad():
        xs = model.embed(ids).numpy()  # (B, T, e)
    B, T, _ = xs.shape
    h = np.zeros((B, cell.hidden_size))
    C = np.zeros((B, cell.hidden_size))
    gates = []
    for t in range(T):
        C_prev = ts.Tensor(C.astype(np.float32), requires_grad=True)
        h_t, C_t = cell(ts.Tensor(xs[:, t]), (ts.Tensor(h.astype(np.float32)), C_prev))
        C_t.sum().backward()  # C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t: the gradient is f_t
        gates.append(C_prev.grad.copy())
        h, C = h_t.numpy(), C_t.numpy()
    return np.stack(gates, axis=1)


def test_the_forget_gates_are_the_cells_own():
    task = data.delay_task(5, 4, seed=0)
    ts.manual_seed(0)
    model = train.SequenceClassifier(len(task.vocab), 4, 8, 6, "lstm")
    model.rnn.cell.b_f.data[:] = np.linspace(-2, 2, 6)  # gates far apart, some near 0 and 1
    ids = task.ids
    np.testing.assert_allclose(
        memory.forget_gates(model, ids), gates_by_backward(model, ids), rtol=1e-5, atol=1e-6
    )


def test_a_run_has_learned_once_its_mean_loss_over_the_window_is_below_the_threshold():
    window = memory.STOP_WINDOW
    assert window == 20 and memory.STOP_LOSS == 0.02
    assert memory.has_learned([0.015] * window)
    assert not memory.has_learned([0.015] * (window - 1))  # too few steps to judge
    assert not memory.has_learned([0.025] * window)
    assert not memory.has_learned([0.4] + [0.0] * (window - 1))  # a mean of 0.02: not below
    assert memory.has_learned([5.0] * 100 + [0.01] * window)  # the last steps only


def test_a_product_under_ten_times_its_start_is_no_opening():
    assert memory._gates_verdict(7e-3, 1e-3, 10) == ("", ": these forget gates did not open.")
    note, verdict = memory._gates_verdict(0.93**10, 0.93**10 / 11, 10)  # f_t 0.93: not near 1
    assert note == " (f_t ≈ 0.93 at each step)" and "though not to near 1" in verdict


class StandIn:
    """In place of train.train_classifier: records each call, trains nothing but an LSTM's
    b_f (0 to 4 added across the units), and returns the accuracy `accuracy[label][k][run]`
    at the k-th delay."""

    def __init__(self, accuracy: dict[str, list[list[float]]], delays: list[int]):
        self.accuracy, self.delays = accuracy, delays
        self.calls: dict[tuple[str, int, int], dict] = {}

    def __call__(self, model, train_set, test_set, steps, batch, lr, clip, seed, callback, stop):
        cell = model.rnn.cell
        label = {"rnn": "RNN", "gru": "GRU"}.get(model.cell_type)
        if label is None:
            label = f"LSTM, b_f = {float(cell.b_f.numpy()[0]):g}"
        delay, run = train_set.ids.shape[1] - 2, (seed - SEED) // memory.RUN_SEED_STRIDE
        start = {"b_z": cell.b_z.numpy().copy()} if label == "GRU" else {}
        if model.cell_type == "lstm":
            cell.b_f.data += np.linspace(0.0, 4.0, cell.hidden_size)  # "training" opens gates
        losses = list(np.linspace(1.4, 0.01 * (run + 1), 10 + delay + run))
        key = (label, delay, run)
        assert key not in self.calls, key  # each model trained once
        self.calls[key] = dict(
            model=model, train=train_set, test=test_set, seed=seed, stop=stop, start=start,
            steps=steps, batch=batch,
        )  # fmt: skip
        accuracy = self.accuracy[label][self.delays.index(delay)][run]
        return train.TrainResult(model, accuracy - 0.05, accuracy, losses, 1.0 + run + delay)


def run_memory(tmp_path, monkeypatch, accuracy):
    """memory.run at the tiny size with the stand-in; (result, stand-in, figure args)."""
    cfg = memory.settings(DemoContext(out=tmp_path, size="tiny"))
    assert cfg["delays"] == [5, 15] and cfg["runs"] == 2
    stand_in = StandIn(accuracy, cfg["delays"])
    drawn = []
    monkeypatch.setattr(train, "train_classifier", stand_in)
    monkeypatch.setattr(plots, "memory_figure", lambda path, *a, **k: drawn.append((a, k)) or path)
    result = memory.run(DemoContext(out=tmp_path, size="tiny", seed=SEED))
    return result, stand_in, drawn[0]


# the LSTM at b_f = 1 learns D = 5 in one run of two and D = 15 in none; 0.9 counts as learned
SHORT_ONLY = {
    "RNN": [[0.9, 0.95], [0.85, 0.3]],
    "LSTM, b_f = 1": [[0.95, 0.5], [0.6, 0.7]],
    "LSTM, b_f = 3": [[1.0, 1.0], [1.0, 0.92]],
    "GRU": [[1.0, 1.0], [0.9, 0.2]],
}
# every run of every gated model learns both delays; the LSTM's best run at D = 15 is run 2
EVERY_RUN = {
    "RNN": [[1.0, 1.0], [0.2, 0.3]],
    "LSTM, b_f = 1": [[1.0, 1.0], [0.9, 0.97]],
    "LSTM, b_f = 3": [[1.0, 1.0], [1.0, 1.0]],
    "GRU": [[1.0, 1.0], [0.95, 1.0]],
}


@pytest.mark.parametrize("accuracy", [SHORT_ONLY, EVERY_RUN], ids=["short-only", "every-run"])
def test_a_run_reports_what_each_model_and_run_did(tmp_path, monkeypatch, accuracy):
    result, stand_in, _ = run_memory(tmp_path, monkeypatch, accuracy)
    n = result["numbers"]
    assert len(stand_in.calls) == 4 * 2 * 2  # every model, delay and run, each trained once
    for (label, delay, run), call in stand_in.calls.items():
        seed = SEED + run * 7919
        # its own data, tested on fresh sequences from another seed; stopped once learned
        assert np.array_equal(call["train"].ids, data.delay_task(1000, delay, seed=seed).ids)
        assert np.array_equal(call["test"].ids, data.delay_task(500, delay, seed=seed + 10_000).ids)
        assert call["seed"] == seed and call["stop"] is memory.has_learned
        assert call["steps"] == 200 and call["batch"] == 64
        if label == "GRU":  # started remembering: b_z = −1 (1 − z_t ≈ 0.73)
            assert np.all(call["start"]["b_z"] == -1.0)
    assert {label for label, _, _ in stand_in.calls} == set(accuracy)  # both LSTMs trained
    biases = n["initial_gate_biases"]
    assert (biases["LSTM b_f"], biases["the second LSTM's b_f"], biases["GRU b_z"]) == (1, 3, -1)

    delays = [5, 15]
    for label, by_delay in accuracy.items():
        assert n["test_accuracy_per_run"][label] == by_delay
        assert n["test_accuracy"][label] == pytest.approx([np.mean(r) for r in by_delay])
        assert n["runs_that_learned"][label] == [sum(a >= 0.9 for a in r) for r in by_delay]
        losses = [[np.linspace(1.4, 0.01 * (r + 1), 10 + d + r) for r in range(2)] for d in delays]
        np.testing.assert_allclose(n["final_loss"][label], [[x[-1] for x in ls] for ls in losses])
        assert n["steps_trained"][label] == [[10 + d, 11 + d] for d in delays]
        assert n["seconds"][label] == pytest.approx([(1 + d) + (2 + d) for d in delays])
        assert n["train_accuracy"][label] == pytest.approx([np.mean(r) - 0.05 for r in by_delay])


def _gate_numbers(stand_in, delay: int, run: int):
    """Π f_t over steps 2..T per unit (mean over the 200 sequences), f_t's means, and the
    fresh model's, for the LSTM (b_f = 1) trained at `delay` in `run`."""
    call = stand_in.calls[("LSTM, b_f = 1", delay, run)]
    ids = call["test"].ids[:200]
    trained = gates_by_backward(call["model"], ids)  # (B, T, h)
    ts.manual_seed(SEED + run * 7919)  # the same model before training
    fresh = train.SequenceClassifier(len(call["test"].vocab), 4, 8, 32, "lstm")
    init = gates_by_backward(fresh, ids)
    return trained, init, np.prod(trained[:, 1:], axis=1).mean(0), np.prod(init[:, 1:], 1).mean(0)


@pytest.mark.parametrize(
    "accuracy, delay, run",
    [(SHORT_ONLY, 5, 0), (EVERY_RUN, 15, 1)],  # the longest delay it learned, its best run
    ids=["short-only", "every-run"],
)
def test_the_forget_gates_are_read_from_the_best_run_at_the_longest_delay_learned(
    tmp_path, monkeypatch, accuracy, delay, run
):
    result, stand_in, (args, kwargs) = run_memory(tmp_path, monkeypatch, accuracy)
    g = result["numbers"]["forget_gates"]
    assert (g["delay"], g["run"]) == (delay, run + 1)
    measured = result["measured"]
    assert f"In the LSTM trained at D = {delay} (its best run there, run {run + 1})" in measured
    learned_note = "(the longest delay it learned)" in measured
    assert learned_note == (delay != 15)
    trained, init, prod_trained, prod_init = _gate_numbers(stand_in, delay, run)
    np.testing.assert_allclose(g["prod_f_per_unit_trained"], prod_trained, rtol=1e-4)
    np.testing.assert_allclose(g["prod_f_per_unit_init"], prod_init, rtol=1e-4)
    assert g["best_unit"] == int(np.argmax(prod_trained))
    assert g["mean_trained"] == pytest.approx(trained.mean(), rel=1e-5)
    assert g["mean_init"] == pytest.approx(init.mean(), rel=1e-5)
    np.testing.assert_allclose(g["mean_per_unit"], trained[:, 1:].mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(g["mean_per_step"], trained.mean(axis=(0, 2)), rtol=1e-5)
    assert g["units_above_0.9"] == int((trained[:, 1:].mean(axis=(0, 1)) > 0.9).sum())
    assert 0 < g["units_above_0.9"] < 32  # (b_f = 3 after "training": some units above)
    key = result["key"]
    assert key[f"LSTM mean f_t at D={delay}: before / after training"] == (
        f"{init.mean():.2f} / {trained.mean():.2f}"
    )
    steps = trained.shape[1] - 1
    assert key[f"best unit's Π f_t over {steps} steps: before / after training"] == (
        f"{prod_init.max():.2g} / {prod_trained.max():.2g}"
    )
    # the figure: the losses at the longest delay, every run's; the gates, then the products
    (delays, acc, chance, losses, longest, f_mean, gate_delay, cum_trained, cum_init, top) = args
    assert delays == [5, 15] and longest == 15 and gate_delay == delay and chance == 0.25
    for label in accuracy:
        for r in range(2):
            np.testing.assert_allclose(losses[label][r], np.linspace(1.4, 0.01 * (r + 1), 25 + r))
    np.testing.assert_allclose(f_mean, trained.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(cum_trained[-1], prod_trained, rtol=1e-4)  # Π over every step
    np.testing.assert_allclose(cum_init[-1], prod_init, rtol=1e-4)
    assert cum_trained.shape == (steps, 32) and top == g["best_unit"]
    assert kwargs["batch"] == 64 and kwargs["stopped"] is True
    assert kwargs["gate_model"] == "LSTM, b_f = 1"  # the lower panels' LSTM, of the two
    assert kwargs["per_run"] == result["numbers"]["test_accuracy_per_run"]


def test_the_text_says_which_delay_the_default_lstm_missed_and_how_often_the_rnn_learned(
    tmp_path, monkeypatch
):
    measured = run_memory(tmp_path, monkeypatch, SHORT_ONLY)[0]["measured"]
    # the longest delay not learned in every run: D = 15, in none of the runs
    assert (
        "Within this budget the LSTM started at b_f = 1 learned D = 15 in 0 of 2 runs: its "
        "forget gates start near 0.73, so the cell path passes about 0.73^D of the gradient "
        "(9e-03 at D = 15)" in measured
    )
    assert "(f_t ≈ 0.95, 0.95^15 ≈ 0.46) the same LSTM learned it in 2 of 2:" in measured
    # the RNN learned D = 5 in both runs and D = 15 in none: no run "now and then"
    assert "learned D = 5 in 2 of 2 runs, D = 15 in 0 of 2 runs." in measured
    assert "now and then" not in measured
    assert "D = 5: RNN 92% (2 of 2), LSTM 72% (1 of 2)" in measured
    every = run_memory(tmp_path, monkeypatch, EVERY_RUN)[0]["measured"]
    assert "Within this budget" not in every  # the default LSTM learned every delay every run


def test_the_text_sets_the_delays_beside_the_seeds_two_scales(tmp_path, monkeypatch):
    result = run_memory(tmp_path, monkeypatch, SHORT_ONLY)[0]
    measured, passed = result["measured"], result["numbers"]["cell_path_over_200_steps"]
    assert '"a few time steps (typically 5-10)"' in measured
    assert "the delays here, D = 5 to 15, test the first and stop short of the second" in measured
    sigmoid = {b: 1 / (1 + np.exp(-b)) for b in (3, 5)}  # f_t held at σ(b_f), 200 steps
    assert passed["b_f=3"] == pytest.approx(sigmoid[3] ** 200, rel=1e-12)  # 6.0e-05
    assert passed["b_f=5"] == pytest.approx(sigmoid[5] ** 200, rel=1e-12)  # 0.26
    assert "σ(3)^200 = 6e-05 of the gradient from gates at b_f = 3, and σ(5)^200 = 0.26" in measured


def test_the_full_size_spends_every_runs_whole_budget(tmp_path, monkeypatch):
    cfg = memory.settings(DemoContext(out=tmp_path, size="full"))
    assert cfg["stop_when_learned"] is False and cfg["steps"] == 1200
    stand_in = StandIn({label: [[1.0] * 3] * 5 for _, label, _ in memory.KINDS}, cfg["delays"])
    monkeypatch.setattr(train, "train_classifier", stand_in)
    monkeypatch.setattr(plots, "memory_figure", lambda path, *a, **k: path)
    measured = memory.run(DemoContext(out=tmp_path, size="full", seed=SEED))["measured"]
    assert len(stand_in.calls) == 4 * 5 * 3
    assert all(call["stop"] is None for call in stand_in.calls.values())
    assert "1200 Adam steps per run," in measured and "a run stops" not in measured
