"""The GRU-vs-LSTM demo in detail: how it times the two models (with a clock replaced by
times set here, so every ratio, quartile and verdict is known), its helpers, and what a run
reports, with the memory demo's training replaced by its stand-in (the tour tests train and
time for real)."""

from __future__ import annotations

import numpy as np
import pytest
from tinygrad_seq.demos import gru_vs_lstm
from tinygrad_seq.demos.common import DemoContext
from tinygrad_seq.viz import plots

from tests import test_memory_demo
from tinygrad_seq import data, train

pytestmark = pytest.mark.numpy_only  # demos' bookkeeping; the backends are tested elsewhere

# seconds per pass of the LSTM for each (h, D): 4, 2 and 1 passes fill the tiny size's
# 4 ms block
LSTM_SECONDS = {(32, 5): 0.001, (32, 15): 0.002, (256, 5): 0.01, (256, 15): 0.01}
# the GRU's time over the LSTM's in rounds 1..5 (the quartiles: the 2nd and 4th of them)
GRU_RATIOS = {
    (32, 5): [0.7, 0.8, 0.9, 1.0, 1.1],
    (32, 15): [1.1, 1.0, 0.9, 0.8, 0.7],
    (256, 5): [0.74, 0.75, 0.76, 0.77, 0.78],
    (256, 15): [0.76, 0.77, 0.78, 0.79, 0.80],
}


def _case(p) -> tuple[str, int, int]:
    """(model, hidden size, delay) of a _Pass."""
    label = {"lstm": "LSTM", "gru": "GRU"}[p.model.cell_type]
    return label, p.model.rnn.cell.hidden_size, p.batch.ids.shape[1] - 2


@pytest.fixture
def clock(monkeypatch):
    """The timings in the order made: ("pass", ...) for an untimed pass (after the passes
    are built), ("time", ..., number); each timing returns the times set above."""
    events, built = [], []
    timed: dict[tuple, int] = {}
    real_call = gru_vs_lstm._Pass.__call__

    def call(self):
        if built:
            events.append(("pass", *_case(self)))
        real_call(self)

    def time_calls(p, number):
        built.append(True)
        label, h, d = _case(p)
        events.append(("time", label, h, d, number))
        timed[(label, h, d)] = timed.get((label, h, d), 0) + 1
        if label == "LSTM":  # (its first timing is the one that sets `number`)
            return LSTM_SECONDS[(h, d)]
        return LSTM_SECONDS[(h, d)] * GRU_RATIOS[(h, d)][timed[(label, h, d)] - 1]

    monkeypatch.setattr(gru_vs_lstm._Pass, "__call__", call)
    monkeypatch.setattr(gru_vs_lstm, "time_calls", time_calls)
    return events


def _cfg(tmp_path):
    from tinygrad_seq.demos.memory import settings

    return settings(DemoContext(out=tmp_path, size="tiny"))


def test_the_models_take_turns_and_short_cases_run_untimed_first(tmp_path, clock):
    cost = gru_vs_lstm.measure_cost(DemoContext(out=tmp_path, size="tiny"), _cfg(tmp_path), [5, 15])
    cases = [(32, 5), (32, 15), (256, 5), (256, 15)]
    number = {(32, 5): 4, (32, 15): 2, (256, 5): 1, (256, 15): 1}  # ⌈4 ms / one pass⌉
    expected = [("time", "LSTM", h, d, 1) for h, d in cases]  # one pass each, to set `number`
    for r in range(5):
        order = ["LSTM", "GRU"] if r % 2 == 0 else ["GRU", "LSTM"]  # who goes first alternates
        for h, d in cases:
            if number[(h, d)] > 1:  # a short case: each model warm before its timing
                expected += [("pass", label, h, d) for label in order]
            expected += [("time", label, h, d, number[(h, d)]) for label in order]
    assert clock == expected
    assert cost["rounds"] == 5 and cost["hidden_sizes"] == [32, 256]
    assert cost["delays"] == [5, 15] and cost["batch"] == 64 and cost["embed"] == 8
    small, large = cost["by_hidden"]["h=32"], cost["by_hidden"]["h=256"]
    assert small["passes_per_timing"] == [4, 2] and large["passes_per_timing"] == [1, 1]
    assert small["ratio_median"] == pytest.approx([0.9, 0.9])
    assert small["ratio_q1"] == pytest.approx([0.8, 0.8])
    assert small["ratio_q3"] == pytest.approx([1.0, 1.0])
    np.testing.assert_allclose(small["ratio_min_max"], [[0.7, 1.1], [0.7, 1.1]])
    assert large["ratio_median"] == pytest.approx([0.76, 0.78])
    assert small["least_ms"] == {"LSTM": pytest.approx([1, 2]), "GRU": pytest.approx([0.7, 1.4])}
    assert large["least_ms"] == {"LSTM": pytest.approx([10, 10]), "GRU": pytest.approx([7.4, 7.6])}
    verdicts = gru_vs_lstm.cost_verdict(cost)
    assert verdicts == {
        "h=32": "a little less at the median, but not clearly: the middle half of the rounds "
        "reaches 1 at D = 5, 15",
        "h=256": "less by 22–24%, as the seed says",
    }


def test_a_pass_clears_the_gradients_it_made(tmp_path):
    p = gru_vs_lstm._Pass(DemoContext(out=tmp_path, size="tiny"), _cfg(tmp_path), "gru", 5, 8)
    assert p.batch.ids.shape == (64, 7)  # a batch of the delay task at D = 5
    p()
    assert all(param.grad is None for param in p.model.parameters())


def test_a_lower_quartile_of_exactly_1_is_not_more_cost():
    def verdict(q1, median, q3):
        e = {"ratio_q1": q1, "ratio_median": median, "ratio_q3": q3}
        return gru_vs_lstm.cost_verdict({"hidden_sizes": [32], "delays": [5], "by_hidden": {
            "h=32": e
        }})["h=32"]  # fmt: skip

    assert verdict([1.0], [1.02], [1.05]) == "no clear difference"
    assert verdict([1.01], [1.02], [1.05]) == "more (at D = 5), against the seed's claim"


def test_where_the_runs_came_from():
    assert gru_vs_lstm._provenance(4, 4).endswith("(reused from earlier in this tour).")
    assert "these runs were trained here" in gru_vs_lstm._provenance(0, 4)
    assert gru_vs_lstm._provenance(1, 4) == (
        "as in the memory demo; 1 of these 4 runs are the memory demo's from earlier in this "
        "tour, the rest were trained here with its settings and seed."
    )


def test_a_run_reports_parameters_accuracy_and_cost(tmp_path, monkeypatch, clock):
    """The memory demo's training replaced by its stand-in: every run learns D = 5; at
    D = 15 the LSTM's runs score 0.6 and 0.8, the GRU's 1.0 and 0.9."""
    accuracy = {
        "LSTM, b_f = 1": [[1.0, 1.0], [0.6, 0.8]],
        "GRU": [[1.0, 1.0], [1.0, 0.9]],
    }
    stand_in = test_memory_demo.StandIn(accuracy, [5, 15])
    drawn = []
    monkeypatch.setattr(test_memory_demo, "SEED", 0)
    monkeypatch.setattr(train, "train_classifier", stand_in)
    monkeypatch.setattr(plots, "gru_vs_lstm_figure", lambda path, *a: drawn.append(a) or path)
    result = gru_vs_lstm.run(DemoContext(out=tmp_path, size="tiny"))
    n, measured, key = result["numbers"], result["measured"], result["key"]
    assert len(stand_in.calls) == 2 * 2 * 2  # two models, two delays, two runs: trained here
    assert n["runs_trained_here"] == 8 and n["runs_reused_from_memory_demo"] == 0
    sizes = [16, 32, 64, 128, 256]
    assert n["parameters"] == {
        "LSTM": [4 * h * (h + 32) + 4 * h for h in sizes],
        "GRU": [3 * h * (h + 32) + 3 * h for h in sizes],
        gru_vs_lstm.NO_BIAS: [3 * h * (h + 32) for h in sizes],
    }
    assert "(6,240 vs 8,320 at hidden 32; 6,144 without biases as the seed writes it)" in measured
    vocab = len(data.delay_task(1, 5).vocab)  # embedding, recurrent layer, head 32 -> 4
    assert n["classifier_parameters"] == {
        "LSTM": vocab * 8 + 4 * 32 * 40 + 4 * 32 + 32 * 4 + 4,
        "GRU": vocab * 8 + 3 * 32 * 40 + 3 * 32 + 32 * 4 + 4,
    }
    assert n["test_accuracy"] == {"LSTM": [1.0, 0.7], "GRU": [1.0, 0.95]}
    assert "D = 5: LSTM 100%, GRU 100%; D = 15: LSTM 70%, GRU 95%" in measured
    verdict = "as accurate or more (ahead at D = 15, within 5 points elsewhere)"
    assert n["accuracy_verdict"] == verdict
    assert "how much of the gap its forget gates' start explains" in measured
    clock_name = n["cost"]["clock"]
    assert result["headline"].endswith(f"{clock_name} GRU/LSTM at D=15: 0.90 (h=32), 0.78 (h=256)")
    assert (
        "At h = 32 (the trained size) the GRU's time was 0.90× the LSTM's over the delays: a "
        "little less at the median" in measured
    )
    assert (
        "at h = 256 the GRU's time was 0.76–0.78× the LSTM's over the delays: less by" in measured
    )
    assert "in 5 rounds" in measured and "At h = 32 each op's fixed cost outweighs" in measured
    assert key[f"{clock_name} GRU / LSTM at h=256, D = 5, 15 (median of the rounds)"] == (
        "0.76 / 0.78"
    )
    (table,) = result["tables"]
    assert table["rows"][0][:6] == [32, 5, "1.00", "0.70", "0.90", "0.80–1.00"]
    assert table["rows"][3][:6] == [256, 15, "10.00", "7.60", "0.78", "0.77–0.79"]
    (args,) = drawn
    assert args[:2] == (sizes, 32) and args[2] == n["parameters"] and args[3] == [5, 15]
    assert args[4] == n["test_accuracy"] and args[-1] == n["accuracy_verdict"]


def test_a_slower_large_h_says_something_else_set_the_times():
    cost = {
        "clock": "CPU time",
        "rounds": 5,
        "batch": 64,
        "hidden_sizes": [32, 256],
        "by_hidden": {
            f"h={h}": {"ratio_median": [m], "work_ratio": [0.75]}
            for h, m in ((32, 0.8), (256, 0.9))
        },
    }
    text = gru_vs_lstm._cost_sentences(cost, {"h=32": "x", "h=256": "y"}, {"GRU": 9, "LSTM": 12})
    assert "did not bring the time nearer the counted work" in text
    assert "a GRU step records 9 ops to the LSTM's 12" in text


def test_a_gap_of_exactly_5_points_is_comparable():
    verdict = gru_vs_lstm.accuracy_verdict({"LSTM": [0.05], "GRU": [0.1]}, [5])  # 0.1 − 0.05
    assert verdict == "comparable accuracy (within 5 points at every delay)"
    ahead = gru_vs_lstm.accuracy_verdict({"LSTM": [0.05], "GRU": [0.125]}, [5])
    assert ahead == "as accurate or more (ahead at D = 5, within 5 points elsewhere)"
