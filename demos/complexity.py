"""Demo 9: O(n) recurrence against O(n²) self-attention, measured on this machine.

For sequence lengths n from 16 up, one forward + backward pass (batch 1, width d = 32) of
  - a vanilla RNN layer and an LSTM layer (n sequential steps of O(d²) work each),
  - a self-attention layer (single-head MultiHeadAttention: Q = X W^Q, ..., softmax(QKᵀ/√d) V,
    whose n×n score and weight matrices are the O(n²) the seed warns about), and
  - a position-wise MLP (d → d → d, tanh, the same weights applied to each of the n
    positions at once: the seed's table's MLP row, O(n × d²) time, O(d²) space, fully
    parallel),
measuring four things:
  - time: the least CPU time of this process over several runs of forward + backward, in
    blocks of back-to-back runs (on a shared machine, wall time also counts the time the
    process waits for a core; other work only ever adds time); wall time on the GPU;
  - work: the arithmetic of the forward pass, counted from its recorded graph (no clock, so
    no noise: the same on every machine and every run);
  - memory: the peak of memory allocated during forward + backward (tracemalloc, which
    sees every NumPy buffer; NumPy backend only);
  - sequential depth: the longest chain of ops in the recorded graph (the steps that must run
    one after another: the seed's "Parallelization: None" vs "Full").
The log-log slope fitted over the larger n (where fixed per-call costs no longer dominate)
is the measured exponent of n.
"""

from __future__ import annotations

import gc
import math
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_seq as ts

from .common import DemoContext, demo_command, log_slope, nn_class

D_MODEL = 32
FIT_FROM = 256  # fit slopes over n >= this
MAX_RUNS = 30  # timed runs per (model, n) at most, the first one included
ROUNDS = 5  # sweeps over every (model, n), each timing a share of its runs back to back
ORDER = ("self-attention", "RNN", "LSTM", "MLP")
LINEAR = ("RNN", "LSTM", "MLP")  # the seed's O(n × d²) rows, set against attention's O(n² × d)
MOVES = frozenset({"reshape", "transpose", "getitem", "cat", "stack"})  # no arithmetic


def _sync() -> None:
    if ts.backend.get_backend() == "cupy":  # GPU work is asynchronous: wait before timing
        ts.backend.module("cupy").cuda.Stream.null.synchronize()


def _layers() -> dict[str, Any]:
    RNN, LSTM = nn_class("RNN", "rnn"), nn_class("LSTM", "lstm")
    MHA, MLP = nn_class("MultiHeadAttention", "attention"), nn_class("MLP", "linear")
    rnn, lstm, mha = RNN(D_MODEL, D_MODEL), LSTM(D_MODEL, D_MODEL), MHA(D_MODEL, 1)
    mlp = MLP([D_MODEL, D_MODEL, D_MODEL])  # (1, n, d) → (1, n, d), each position alone
    return {
        "RNN": lambda x: rnn(x)[0],
        "LSTM": lambda x: lstm(x)[0],
        "self-attention": lambda x: mha(x, x, x)[0],
        "MLP": mlp,
    }


def _depth(graph: ts.graph.Graph) -> int:
    """The longest chain of ops from any input to the graph's root."""
    depth = [0] * len(graph.nodes)
    for parent, child in graph.edges:  # nodes are listed inputs first
        depth[child] = max(depth[child], depth[parent] + 1)
    return depth[-1]


def _flops(graph: ts.graph.Graph) -> int:
    """The arithmetic of the graph's ops, counted from their shapes: a matrix product
    (m × k) @ (k × p) counts 2·m·k·p (a multiply and an add per term), an op that only moves
    values (reshape, transpose, indexing, cat, stack) none, any other op one per output
    element (a rough count for softmax; the exponent of n, not the constant, is the point)."""
    left: dict[int, int] = {}  # node -> its first input (a product's left operand)
    for parent, child in graph.edges:  # in the order of each op's inputs
        left.setdefault(child, parent)
    total = 0
    for node in graph.nodes:
        if node.is_leaf or node.op in MOVES:
            continue
        size = math.prod(node.shape)
        if node.op == "matmul":
            size *= 2 * graph.nodes[left[node.id]].shape[-1]
        total += size
    return total


def _input(n: int) -> ts.Tensor:
    return ts.Tensor(ts.tensor.rng().standard_normal((1, n, D_MODEL)).astype(np.float32))


def _counts_and_memory(layer, x: ts.Tensor, track_memory: bool) -> dict[str, float]:
    """Sequential depth and counted work of the forward graph, and (NumPy) the peak memory
    of forward + backward."""
    out = layer(x)
    graph = ts.graph.trace(out)
    result: dict[str, float] = {"depth": _depth(graph), "flops": _flops(graph)}
    del graph
    out.sum().backward()  # also the warm-up
    if track_memory:
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            layer(x).sum().backward()
            result["peak_bytes"] = float(tracemalloc.get_traced_memory()[1] - base)
        finally:
            tracemalloc.stop()
    return result


def _clock() -> tuple[str, Callable[[], float]]:
    """What to time with: the process's CPU time, which leaves out the time the process
    waits for a core while other work runs. Wall time counts it: on a busy 2-core machine
    the least wall time of six runs was twice the CPU time or more for the cases long
    enough to be interrupted (the RNN at n = 256: 14.7 ms for 6.7 ms of CPU time) and the
    same for the shortest, which bent the slopes. Wall time on the GPU, whose work the CPU
    time does not see, and on Windows, whose CPU-time clock ticks only every 15.6 ms."""
    if ts.backend.get_backend() == "cupy" or sys.platform == "win32":
        return "wall time", time.perf_counter
    return "CPU time", time.process_time


def time_calls(call, number: int = 1) -> float:
    """Seconds per call of `number` calls of `call()` back to back, on _clock(), with the
    garbage collector paused as timeit does (a collection's cost depends on all else alive
    in the process)."""
    clock = _clock()[1]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _sync()
        t0 = clock()
        for _ in range(number):
            call()
        _sync()
        return (clock() - t0) / number
    finally:
        if was_enabled:
            gc.enable()


def _time(layer, x: ts.Tensor) -> float:
    """Seconds for one forward + backward of `layer` on `x` (see time_calls)."""
    return time_calls(lambda: layer(x).sum().backward())


def _contradiction(slopes: dict[str, dict[str, float]], what: str) -> list[str]:
    """The O(n) layers (recurrent, and the MLP) whose `what` slope is not below
    self-attention's: where this run's measurement contradicts the seed's O(n) against
    O(n²)."""
    att = slopes["self-attention"][what]
    return [m for m in LINEAR if slopes[m][what] >= att]


def _mlp_sentence(ns, series, slopes: dict[str, dict[str, float]], track_memory: bool) -> str:
    """What the position-wise MLP shows beside the seed's MLP row (O(n × d²) time, O(d²)
    space, full parallelization): the RNN's kind of work without its chain of steps."""
    mlp, rnn = series["MLP"], series["RNN"]
    sl = slopes["MLP"]
    same = mlp["flops"] == rnn["flops"]
    text = (
        f" The position-wise MLP (d → d → d, tanh: the seed's MLP row, O(n × d²)) has a work "
        f"slope of {sl['work']:z.2f}"
        + (
            ", and counts exactly the RNN's work at every n (two d × d products a position, "
            "as an RNN step has)"
            if same
            else ""
        )
        + f", but it runs every position at once: its depth stays at {mlp['depth'][-1]} ops "
        f'for every n (the seed\'s "Full" parallelization), and at n = {ns[-1]} it took '
        f"{1e3 * mlp['time_s'][-1]:.2f} ms to the RNN's {1e3 * rnn['time_s'][-1]:.1f}"
        + (" for the same arithmetic." if same else ".")
    )
    if sl["time"] < 0.9:
        text += (
            f" Its time slope ({sl['time']:z.2f}) is below 1 at these n: its few ops' fixed "
            "cost still weighs against its n·d² arithmetic."
        )
    if track_memory:
        text += (
            f" The seed's O(d²) space is its weights, the same at every n; training keeps "
            f"each position's activations, so its measured memory grows as n (slope "
            f"{sl['memory']:z.2f}), as the recurrent layers' does."
        )
    return text


def _time_caveat(ns, series, slopes: dict[str, dict[str, float]]) -> str:
    """Where the measured times do not look like the seed's O(n²) and O(n), and why."""
    att_slope, att_work = slopes["self-attention"]["time"], slopes["self-attention"]["work"]
    note = ""
    against = _contradiction(slopes, "time")
    if against:
        which = " and ".join(f"the {m}'s ({slopes[m]['time']:z.2f})" for m in against)
        note += (
            f" In this run the time slopes contradict the seed's claim: {which} "
            f"{'is' if len(against) == 1 else 'are'} not below self-attention's "
            f"({att_slope:z.2f}). Something besides the computation set these times (other "
            "work on the machine evicting the caches, the processor's clock speed changing "
            "between sizes): rerun it. The counted work, which no clock disturbs, grows as "
            "the seed says: "
            + ", ".join(f"{m} {slopes[m]['work']:z.2f}" for m in LINEAR)
            + f" against self-attention's {att_work:z.2f}."
        )
    if att_slope < 1.7:
        note += (
            f" Attention's time slope ({att_slope:z.2f}) is below 2 at these n: "
            "each op has a fixed cost, and only at larger n does the n×n work outweigh it"
            + (" (the default run, up to n = 2048, comes closer to 2)." if ns[-1] < 2048 else ".")
        )
    rnn, att = series["RNN"]["time_s"], series["self-attention"]["time_s"]
    if rnn[-1] > att[-1]:
        note += (
            f" At n = {ns[-1]} self-attention is still faster than the RNN "
            f"({1e3 * att[-1]:.1f} against {1e3 * rnn[-1]:.1f} ms): the RNN runs n small steps "
            "one after another, each a few ops with that fixed cost, attention a few large "
            "products; its n² term overtakes only at longer sequences."
        )
    return note


MODELS = " / ".join(ORDER)  # how the key names the order of its values


def _per_model(slopes: dict[str, dict[str, float]], what: str) -> str:
    return " / ".join(f"{slopes[m][what]:z.2f}" for m in ORDER)


def run(ctx: DemoContext) -> dict[str, Any]:
    ns = ctx.pick(
        tiny=[32, 64, 128, 256, 512],
        quick=[16, 32, 64, 128, 256, 512, 1024],
        full=[16, 32, 64, 128, 256, 512, 1024, 2048],
    )
    repeats = ctx.pick(tiny=2, quick=3, full=5)
    track_memory = ts.backend.get_backend() == "numpy"
    layers = _layers()  # ordered: RNN, LSTM, self-attention, MLP
    series: dict[str, dict[str, list[float]]] = {
        m: {"time_s": [], "flops": [], "peak_bytes": [], "depth": []} for m in layers
    }
    jobs = [(m, n) for n in ns for m in layers]
    inputs = {n: _input(n) for n in ns}
    first: dict[tuple[str, int], float] = {}
    for model, n in ctx.progress(jobs, "complexity: graph and memory"):
        counted = _counts_and_memory(layers[model], inputs[n], track_memory)  # (a warm-up)
        for key, value in counted.items():
            series[model][key].append(value)
        first[(model, n)] = _time(layers[model], inputs[n])
    # The least time of a case's runs counts: other work on the machine only ever adds time
    # (to CPU time too: it evicts the caches), so the least is the least disturbed. Fast
    # cases get more runs (up to `budget` seconds of them), so their least is as reliable.
    # A case's runs go back to back, so that all but the first find the caches warm (runs
    # of other cases in between left them cold: a cost the same at every n, which flattened
    # attention's slope), in ROUNDS groups that sweep every case in turn, so that a burst
    # of other work does not disturb all of one case's runs. runs[job] counts every timed
    # run, the first one above included.
    budget = ctx.pick(tiny=0.03, quick=0.2, full=0.5)  # seconds of timing per case, at most
    runs = {
        job: int(min(max(repeats + 1, budget / max(t, 1e-6)), MAX_RUNS)) for job, t in first.items()
    }
    times: dict[tuple[str, int], list[float]] = {job: [first[job]] for job in jobs}
    sweeps = [(r, job) for r in range(ROUNDS) for job in jobs]
    for r, (model, n) in ctx.progress(sweeps, "complexity: timing"):
        more = runs[(model, n)] - 1  # after the first: split as evenly as can be
        for _ in range(more * (r + 1) // ROUNDS - more * r // ROUNDS):
            times[(model, n)].append(_time(layers[model], inputs[n]))
    for model, n in jobs:
        series[model]["time_s"].append(min(times[(model, n)]))

    fit = [i for i, n in enumerate(ns) if n >= FIT_FROM]
    fit_ns = [ns[i] for i in fit]
    slopes: dict[str, dict[str, float]] = {}
    for model, s in series.items():
        slopes[model] = {
            "time": log_slope(fit_ns, [s["time_s"][i] for i in fit]),
            "work": log_slope(fit_ns, [s["flops"][i] for i in fit]),
        }
        if s["peak_bytes"]:
            slopes[model]["memory"] = log_slope(fit_ns, [s["peak_bytes"][i] for i in fit])
        slopes[model]["depth"] = log_slope(fit_ns, [max(s["depth"][i], 1) for i in fit])

    clock = _clock()[0]
    against = _contradiction(slopes, "time")
    att, rnn, lstm = slopes["self-attention"], slopes["RNN"], slopes["LSTM"]
    mlp = slopes["MLP"]
    from tinygrad_seq.viz import plots

    fig = plots.complexity_figure(
        ctx.figure("complexity.png"),
        ns,
        series,
        slopes,
        FIT_FROM,
        D_MODEL,
        time_title=f"Time (least {clock} of several runs)",
        note=(
            "This run's time slopes contradict it: "
            + ", ".join(f"{m} {slopes[m]['time']:z.2f}" for m in against)
            + f" against self-attention's {att['time']:z.2f} (see the text)"
            if against
            else ""
        ),
    )

    seed_rows = {
        "RNN": ("O(n × d²)", "O(d)", "None (sequential)"),
        "LSTM": ("O(n × d²)", "O(d)", "None (sequential)"),
        "self-attention": ("O(n² × d)", "O(n²)", "Full"),
        "MLP": ("O(n × d²)", "O(d²)", "Full"),
    }
    rows = []
    for model, (t_seed, s_seed, p_seed) in seed_rows.items():
        sl = slopes[model]
        mem = f"{sl['memory']:z.2f}" if "memory" in sl else "n/a (GPU)"
        rows.append(
            [model, t_seed, f"{sl['time']:z.2f}", f"{sl['work']:z.2f}"]
            + [s_seed, mem, p_seed, f"{sl['depth']:z.2f}"]
        )
    mem_note = (
        f"Peak memory slopes: attention {att['memory']:z.2f}, RNN {rnn['memory']:z.2f}, "
        f"LSTM {lstm['memory']:z.2f}, MLP {mlp['memory']:z.2f}. "
        if track_memory
        else "Peak memory is measured with tracemalloc on the NumPy backend only. "
    )
    last = -1
    measured = (
        f"Forward + backward, batch 1, d = {D_MODEL}, n = {ns[0]}..{ns[-1]}; slopes fitted on "
        f"log-log axes over n >= {FIT_FROM}. Time is the process's {clock}"
        + (
            " (wall time would also count the time it waits for a core while other work runs)"
            if clock == "CPU time"
            else ""
        )
        + f", best of {repeats + 1} to {MAX_RUNS} runs (more for the fast cases) spread over "
        f"{ROUNDS} sweeps through every case; within a sweep a case's runs go back to back, "
        "so that they find the caches warm (a run right after another case's pays for cold "
        "caches, the same cost at every n, which flattens a slope). Time slopes: "
        f"self-attention {att['time']:z.2f}, RNN {rnn['time']:z.2f}, LSTM {lstm['time']:z.2f}, "
        f"MLP {mlp['time']:z.2f}. "
        "Work, the forward pass's arithmetic counted from its graph (a product of m × k by "
        "k × p matrices counts 2mkp, other ops one per element; no clock, so the same on "
        f"every run), has slopes {att['work']:z.2f}, {rnn['work']:z.2f}, {lstm['work']:z.2f} "
        f"and {mlp['work']:z.2f}: attention's n×n products and softmax grow as n², but at "
        f"d = {D_MODEL} its four projections (n × d by d × d) add work that grows as n, "
        "so at these n even its counted exponent is below 2. "
        + mem_note
        + f"The recurrent layers' sequential depth grows with n (slope {rnn['depth']:z.2f}: "
        f"the RNN's {series['RNN']['depth'][last]} chained ops at n = {ns[last]}, the LSTM's "
        f"{series['LSTM']['depth'][last]}) while self-attention's "
        f"stays at {series['self-attention']['depth'][last]} ops for every n: all positions "
        "run in parallel. Note the seed's O(d) space for the RNN is the state carried at "
        "inference; training by backpropagation through time keeps every step, so its memory "
        "grows as n (slope 1), still one power of n below attention's n×n matrices."
        + _mlp_sentence(ns, series, slopes, track_memory)
        + _time_caveat(ns, series, slopes)
    )
    return {
        "headline": (
            f"time slope attention {att['time']:z.2f} vs RNN {rnn['time']:z.2f}"
            + (" (contradicts the claim: see the text)" if against else "")
            + f"; work slope {att['work']:z.2f} vs {rnn['work']:z.2f}"
            + (
                f"; memory slope {att['memory']:z.2f} vs {rnn['memory']:z.2f}"
                if track_memory
                else ""
            )
        ),
        "measured": measured,
        "figures": [f"img/{fig.name}"],
        "key": {  # every entry is ordered as ORDER: self-attention / RNN / LSTM / MLP
            f"fitted time exponent ({clock}): {MODELS}": _per_model(slopes, "time"),
            f"fitted work exponent (counted): {MODELS}": _per_model(slopes, "work"),
            **(
                {f"fitted peak-memory exponent: {MODELS}": _per_model(slopes, "memory")}
                if track_memory
                else {}
            ),
            f"time at n={ns[-1]}: {MODELS} (ms)": " / ".join(
                f"{series[m]['time_s'][-1] * 1e3:.1f}" for m in ORDER
            ),
            f"forward work at n={ns[-1]}: {MODELS} (MFLOP)": " / ".join(
                f"{series[m]['flops'][-1] / 1e6:.1f}" for m in ORDER
            ),
            f"sequential depth at n={ns[-1]}: {MODELS}": " / ".join(
                str(series[m]["depth"][-1]) for m in ORDER
            ),
        },
        "tables": [
            {
                "caption": "The seed's complexity table beside the measured exponents of n",
                "header": [
                    "model",
                    "seed: time",
                    "measured time slope",
                    "counted work slope",
                    "seed: space",
                    "measured memory slope",
                    "seed: parallelization",
                    "measured depth slope",
                ],
                "rows": rows,
            }
        ],
        "numbers": {
            "n": ns,
            "runs": {f"{m} n={n}": r for (m, n), r in runs.items()},
            "d": D_MODEL,
            "batch": 1,
            "repeats": repeats,
            "fit_from_n": FIT_FROM,
            "clock": clock,
            "rounds": ROUNDS,
            "series": series,
            "slopes": slopes,
            "time_contradicts_claim": against,
            "what": f"time_s: best of repeats+1 to {MAX_RUNS} runs (runs: how many, per case; "
            f"seconds of the process's {clock}, forward+backward); flops: the forward pass's "
            "arithmetic counted from its graph; peak_bytes: tracemalloc peak during "
            "forward+backward above the start; depth: longest chain of ops in the recorded "
            "graph",
        },
    }


command = demo_command("complexity")
