"""The complexity demo's measurements: counted work, the clock, the timing order, the
position-wise MLP beside the seed's MLP row, and the page saying so when a run's time slopes
contradict the seed's O(n) against O(n²)."""

import gc
import itertools
import time

import numpy as np
import pytest
from tinygrad_seq.demos import complexity
from tinygrad_seq.demos.common import DemoContext

import tinygrad_seq as ts

pytestmark = pytest.mark.numpy_only  # a demo's measurements; the backends are tested elsewhere


def _work(model: str, n: int) -> int:
    layer = complexity._layers()[model]
    return complexity._flops(ts.graph.trace(layer(complexity._input(n))))


def test_a_product_counts_2mkp_with_k_from_its_left_operand():
    x = ts.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    w = ts.Tensor(np.ones((3, 5), np.float32), requires_grad=True)
    y = x @ w  # (2, 5), 3 terms each: 2 · 2 · 3 · 5
    assert complexity._flops(ts.graph.trace(y)) == 60
    z = (y.reshape(5, 2).T).tanh()  # moving values counts nothing, tanh one per element
    assert complexity._flops(ts.graph.trace(z)) == 60 + 10


@pytest.mark.parametrize("model", ["RNN", "LSTM"])
def test_the_recurrent_layers_work_grows_exactly_as_n(model):
    assert _work(model, 64) == 2 * _work(model, 32) == 4 * _work(model, 16)


def test_self_attentions_work_is_its_products_and_softmax_over_n_by_n():
    d = complexity.D_MODEL
    # four n×d by d×d projections (2nd² each) and their biases (nd each); QKᵀ and αV (2n²d
    # each), the 1/√d scale and the softmax (n² each)
    expected = [4 * (2 * n * d * d + n * d) + 2 * (2 * n * n * d) + 2 * n * n for n in (8, 16)]
    assert [_work("self-attention", n) for n in (8, 16)] == expected


def test_the_mlps_work_is_the_rnns_and_its_depth_does_not_grow():
    """The seed's MLP row: O(n × d²) work, as the RNN's, but every position at once."""
    d = complexity.D_MODEL
    # two n×d by d×d products (2nd² each) with their biases (nd each), and tanh between
    expected = [2 * (2 * n * d * d + n * d) + n * d for n in (8, 16, 64)]
    assert [_work("MLP", n) for n in (8, 16, 64)] == expected
    assert [_work("RNN", n) for n in (8, 16, 64)] == expected  # two d×d products a step too
    layers = complexity._layers()

    def depth(model: str, n: int) -> int:
        return complexity._depth(ts.graph.trace(layers[model](complexity._input(n))))

    assert depth("MLP", 8) == depth("MLP", 64) > 0
    assert depth("RNN", 64) > 7 * depth("RNN", 8)


def test_the_mlp_sentence_says_only_what_the_run_showed():
    ns = [256, 512]
    series = {
        "MLP": {"flops": [10, 20], "time_s": [1e-4, 1.5e-4], "depth": [6, 6]},
        "RNN": {"flops": [10, 20], "time_s": [5e-3, 1e-2], "depth": [514, 1026]},
    }
    slopes = {"MLP": {"time": 0.58, "work": 1.0, "memory": 0.97}}
    text = complexity._mlp_sentence(ns, series, slopes, track_memory=True)
    assert "counts exactly the RNN's work at every n" in text
    assert "its depth stays at 6 ops for every n" in text
    assert "at n = 512 it took 0.15 ms to the RNN's 10.0 for the same arithmetic." in text
    assert "Its time slope (0.58) is below 1 at these n" in text
    assert "(slope 0.97)" in text
    series["RNN"]["flops"] = [12, 24]
    slopes["MLP"]["time"] = 0.95
    text = complexity._mlp_sentence(ns, series, slopes, track_memory=False)
    assert "exactly" not in text and "same arithmetic" not in text
    assert "below 1" not in text and "memory" not in text


def test_time_is_cpu_time_not_the_wait_for_a_core():
    """A layer that waits (as a process does while other work has its core) takes no CPU
    time: the wall clock, which the demo used before, counted the wait."""
    x = ts.Tensor(np.ones(3, np.float32), requires_grad=True)
    waiting = lambda x: (time.sleep(0.05), x * 2)[1]  # noqa: E731
    assert complexity._clock()[0] == "CPU time"
    assert complexity._time(waiting, x) < 0.02


def test_time_pauses_the_garbage_collector_and_restores_it():
    x = ts.Tensor(np.ones(3, np.float32), requires_grad=True)
    seen = []

    def layer(x):
        seen.append(gc.isenabled())
        return x * 2

    assert gc.isenabled()
    complexity._time(layer, x)
    assert seen == [False] and gc.isenabled()

    def failing(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        complexity._time(failing, x)
    assert gc.isenabled()


def _fake_run(monkeypatch, tmp_path, seconds, size="tiny"):
    """The demo run with each layer replaced by its name and _time by seconds(model, n);
    returns (result, the order the cases were timed in, what the figure was given)."""
    from tinygrad_seq.viz import plots

    order = []
    drawn = {}

    def fake_time(layer, x):
        order.append((layer, x.shape[1]))
        return seconds(layer, x.shape[1])

    def counts(layer, x, track_memory):
        n = x.shape[1]
        if layer == "self-attention":
            return {"depth": 16, "flops": n * n, "peak_bytes": float(n * n)}
        if layer == "MLP":
            return {"depth": 6, "flops": n, "peak_bytes": float(n)}
        return {"depth": 4 * n, "flops": n, "peak_bytes": float(n)}

    def figure(path, *args, **kwargs):
        drawn.update(kwargs)
        return path

    monkeypatch.setattr(
        complexity, "_layers", lambda: {m: m for m in ("RNN", "LSTM", "self-attention", "MLP")}
    )
    monkeypatch.setattr(complexity, "_time", fake_time)
    monkeypatch.setattr(complexity, "_counts_and_memory", counts)
    monkeypatch.setattr(plots, "complexity_figure", figure)
    result = complexity.run(DemoContext(out=tmp_path, size=size))
    return result, order, drawn


def test_each_cases_runs_go_back_to_back_in_a_few_sweeps(monkeypatch, tmp_path):
    """Runs of other cases in between leave the caches cold (a fixed cost per run, which
    flattened attention's slope): a case's runs come in at most ROUNDS + 1 blocks (the
    first run, then one block per sweep), and every sweep visits every case in turn."""
    result, order, _ = _fake_run(monkeypatch, tmp_path, lambda m, n: 1e-7 if n <= 64 else 1.0)
    blocks = [case for case, _ in itertools.groupby(order)]
    for case in set(order):
        assert blocks.count(case) <= complexity.ROUNDS + 1, case
    runs = result["numbers"]["runs"]
    assert max(runs.values()) == complexity.MAX_RUNS  # the fast cases: a long block each
    longest = max(len(list(g)) for _, g in itertools.groupby(order))
    assert longest >= (complexity.MAX_RUNS - 1) // complexity.ROUNDS


def test_a_run_whose_time_slopes_contradict_the_claim_says_so(monkeypatch, tmp_path):
    # the RNN's time grows as n², attention's as n: the opposite of the seed's claim
    def seconds(model, n):
        return 1e-6 * n * n if model == "RNN" else 1e-4 * n

    result, _, drawn = _fake_run(monkeypatch, tmp_path, seconds)
    assert "In this run the time slopes contradict the seed's claim" in result["measured"]
    assert "the RNN's (2.00)" in result["measured"] and "(1.00)" in result["measured"]
    assert "contradicts the claim" in result["headline"]
    # the LSTM and the MLP: 1.00, not below attention's 1.00 either
    assert result["numbers"]["time_contradicts_claim"] == ["RNN", "LSTM", "MLP"]
    assert drawn["note"].startswith("This run's time slopes contradict it: RNN 2.00, LSTM 1.00")
    # the counted work (no clock) is quoted beside it
    assert "RNN 1.00, LSTM 1.00, MLP 1.00 against self-attention's 2.00" in result["measured"]


def test_a_run_that_bears_the_claim_out_claims_no_contradiction(monkeypatch, tmp_path):
    def seconds(model, n):
        return 1e-6 * n * n if model == "self-attention" else 1e-4 * n

    result, _, drawn = _fake_run(monkeypatch, tmp_path, seconds)
    assert "contradict" not in result["measured"] + result["headline"]
    assert result["numbers"]["time_contradicts_claim"] == [] and drawn["note"] == ""


def test_the_page_names_the_clock_and_the_work(monkeypatch, tmp_path):
    result, _, drawn = _fake_run(monkeypatch, tmp_path, lambda m, n: 1e-4 * n)
    assert result["numbers"]["clock"] == "CPU time"
    assert "Time is the process's CPU time" in result["measured"]
    assert drawn["time_title"] == "Time (least CPU time of several runs)"
    assert "work slope 2.00 vs 1.00" in result["headline"]
    key = result["key"]["fitted work exponent (counted): self-attention / RNN / LSTM / MLP"]
    assert key == "2.00 / 1.00 / 1.00 / 1.00"
    depth = result["key"]["sequential depth at n=512: self-attention / RNN / LSTM / MLP"]
    assert depth == "16 / 2048 / 2048 / 6"
    (table,) = result["tables"]
    assert table["rows"][-1][:2] == ["MLP", "O(n × d²)"] and table["rows"][-1][4] == "O(d²)"


def _series(ns):
    n = np.array(ns, float)
    return {
        "RNN": {
            "time_s": list(1e-4 * n),
            "flops": list(4e3 * n),
            "peak_bytes": list(1e3 * n),
            "depth": list(4 * n),
        },
        "self-attention": {
            "time_s": list(1e-6 * n**2),
            "flops": list(130 * n**2),
            "peak_bytes": list(8 * n**2),
            "depth": [16] * len(ns),
        },
    }


def test_the_figure_shows_the_counted_work_and_any_contradiction(tmp_path, monkeypatch):
    from tinygrad_seq.viz import plots

    ns = [16, 32, 64, 128, 256]
    slopes = {
        "RNN": {"time": 1.0, "work": 1.0, "memory": 1.0, "depth": 1.0},
        "self-attention": {"time": 2.0, "work": 2.0, "memory": 2.0, "depth": 0.0},
    }
    drawn = []
    save = plots.save
    monkeypatch.setattr(plots, "save", lambda fig, path: drawn.append(fig) or save(fig, path))
    note = "This run's time slopes contradict it: RNN 2.10 against self-attention's 1.50"
    plots.complexity_figure(tmp_path / "c.png", ns, _series(ns), slopes, 64, 32, note=note)
    (fig,) = drawn
    time_ax, work_ax, memory_ax, depth_ax = fig.axes
    assert "Work" in work_ax.get_title() and "MFLOP" in work_ax.get_ylabel()
    (attention,) = [line for line in work_ax.get_lines() if "self-attention" in line.get_label()]
    np.testing.assert_allclose(attention.get_ydata(), 130e-6 * np.array(ns, float) ** 2)
    assert "Sequential depth" in depth_ax.get_title() and "memory" in memory_ax.get_ylabel()
    assert fig._suptitle.get_text().endswith("\n" + note)
    assert "The seed: RNN, LSTM and MLP are O(n)" in fig._suptitle.get_text()
    plots.complexity_figure(tmp_path / "d.png", ns, _series(ns), slopes, 64, 32)
    assert "\n" not in drawn[-1]._suptitle.get_text()  # no contradiction, no second line


def test_the_mlps_line_is_dashed_so_the_rnns_shows_beneath_it(tmp_path, monkeypatch):
    """The two count the same work: drawn alike, the MLP's line would hide the RNN's."""
    from tinygrad_seq.viz import plots

    ns = [16, 32, 64, 128, 256]
    series = _series(ns)
    series["MLP"] = {**series["RNN"], "depth": [6] * len(ns)}
    slopes = {m: {"time": 1.0, "work": 1.0, "memory": 1.0, "depth": 1.0} for m in series}
    drawn = []
    save = plots.save
    monkeypatch.setattr(plots, "save", lambda fig, path: drawn.append(fig) or save(fig, path))
    plots.complexity_figure(tmp_path / "c.png", ns, series, slopes, 64, 32)
    work_ax = drawn[0].axes[1]
    lines = {line.get_label().split(":")[0]: line for line in work_ax.get_lines()}
    np.testing.assert_array_equal(lines["MLP"].get_ydata(), lines["RNN"].get_ydata())
    assert lines["MLP"].get_linestyle() == "--" and lines["RNN"].get_linestyle() == "-"
    assert lines["MLP"].get_label() == "MLP: slope 1.00"


def test_each_cases_time_is_the_least_of_its_runs(monkeypatch, tmp_path):
    """Other work only ever adds time: the first run of each case here is twice as slow."""
    seen = set()

    def seconds(model, n):
        first = (model, n) not in seen
        seen.add((model, n))
        return 1e-4 * n * (2 if first else 1)

    result, _, _ = _fake_run(monkeypatch, tmp_path, seconds)
    for model, series in result["numbers"]["series"].items():
        ns = np.array(result["numbers"]["n"], float)
        np.testing.assert_allclose(series["time_s"], 1e-4 * ns, err_msg=model)


def _slopes(attention_time):
    slopes = {m: {"time": 1.0, "work": 1.0} for m in complexity.LINEAR}
    slopes["self-attention"] = {"time": attention_time, "work": 2.0}
    return slopes


def test_the_time_caveats_say_only_what_the_run_showed():
    ns = [256, 512]
    rnn_slower = {"RNN": {"time_s": [2e-3, 4e-3]}, "self-attention": {"time_s": [1e-3, 3e-3]}}
    rnn_faster = {"RNN": {"time_s": [2e-3, 4e-3]}, "self-attention": {"time_s": [3e-3, 9e-3]}}
    flat = complexity._time_caveat(ns, rnn_faster, _slopes(1.2))
    assert "Attention's time slope (1.20) is below 2 at these n" in flat
    assert "(the default run, up to n = 2048, comes closer to 2)" in flat
    assert "still faster" not in flat
    steep = complexity._time_caveat(ns, rnn_slower, _slopes(1.9))
    assert "below 2" not in steep
    assert "At n = 512 self-attention is still faster than the RNN (3.0 against 4.0 ms)" in steep
    assert complexity._time_caveat(ns, rnn_faster, _slopes(1.9)) == ""
