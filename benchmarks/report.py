"""Turn the workers' records into the tables of RESULTS.md (pure functions, no timing).

``aggregate`` folds the per-process records of each (engine, workload) cell into one: the
median over rounds of each process's median. ``render`` writes the Markdown page.
"""

from __future__ import annotations

import statistics

from .workloads import WORKLOADS

ENGINE = "tinygrad_seq"
FLOOR = "numpy-floor"
TORCH = "torch"
# A cell is "contended" when its median wall time exceeds its median process-CPU time by
# more than this factor: another process had the CPU while it was timed.
CONTENDED_RATIO = 1.10

# The design's performance targets (medians of the same run)
TARGET_VS_TORCH = 1.0
TARGET_W5_US_PER_OP = 2.0
TARGET_W4_VS_FLOOR = 1.5
TARGET_W4_MEMORY_VS_FLOOR = 2.0
SWITCHES = ("scope", "gradnorms")  # the W4 variants that are recording switches


def contended(rec: dict | None) -> bool:
    """Whether another process visibly took the CPU while this cell was timed."""
    if not rec or rec.get("status") != "ok" or not rec.get("cpu_median_ms"):
        return False
    return rec["median_ms"] > CONTENDED_RATIO * rec["cpu_median_ms"]


def aggregate(records: list[dict]) -> dict[tuple[str, str], dict]:
    """{(engine, workload): cell}; a cell is the median over rounds of per-process medians.

    Any failed round fails the cell (its error is kept). ``round_spread`` is
    (max − min) / median of the per-process medians: this machine's process-to-process noise.
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["engine"], r["workload"]), []).append(r)
    cells = {}
    for key, recs in groups.items():
        bad = [r for r in recs if r.get("status") != "ok"]
        if bad:
            cell = {k: v for k, v in bad[0].items() if k != "traceback_tail"}
            cell["traceback_tail"] = bad[0].get("traceback_tail")
        else:
            meds = [r["median_ms"] for r in recs]
            traced = [r["tracemalloc_peak_mib"] for r in recs if r.get("tracemalloc_peak_mib")]
            cell = {
                "status": "ok",
                "engine": key[0],
                "workload": key[1],
                "median_ms": statistics.median(meds),
                "cpu_median_ms": statistics.median(r["cpu_median_ms"] for r in recs),
                "round_spread": (max(meds) - min(meds)) / statistics.median(meds),
                "best_ms": min(meds),
                "rounds": len(recs),
                "reps": min(r["reps"] for r in recs),
                "cpu_util": min(r["cpu_util"] for r in recs),
                "rss_growth_mib": max(r["rss_growth_mib"] for r in recs),
                "minflt_per_call": statistics.median(r["minflt_per_call"] for r in recs),
                "tracemalloc_peak_mib": statistics.median(traced) if traced else None,
                "grad_rel_diff": max(r["grad_check"]["rel_diff"] for r in recs),
                "loadavg_1min": max(r.get("loadavg_1min", 0.0) for r in recs),
                "info": recs[0].get("info", {}),
            }
        cell["per_round_ms"] = [r.get("median_ms") for r in recs]
        cells[key] = cell
    return cells


def _name(engine: str, workload: str) -> str:
    return f"{engine}:{workload}"


def _median_of(pairs) -> float:
    return statistics.median(pairs)


def pair_stats(rec: dict) -> dict[str, dict]:
    """Per contestant of one paired process (worker.pair_cells): its median ms, and the
    medians over the turns of its time ÷ the floor's, ÷ torch's (the engine's cells),
    ÷ the engine's base workload (a variant), and (time − floor's) per op or step in µs."""
    times, group = rec["times_ms"], rec["group"]
    floor, torch = times.get(_name(FLOOR, group)), times.get(_name(TORCH, group))
    base = times.get(_name(ENGINE, group))
    out = {}
    for name, ts in times.items():
        engine, workload = name.split(":")
        n = WORKLOADS[workload].count()
        st = {"median_ms": statistics.median(ts), "turns": len(ts)}
        if floor and engine != FLOOR:
            st["vs_floor"] = _median_of(a / b for a, b in zip(ts, floor, strict=True))
            if n:
                st["us_above_floor"] = _median_of(
                    (a - b) * 1e3 / n for a, b in zip(ts, floor, strict=True)
                )
        if torch and engine == ENGINE:
            st["vs_torch"] = _median_of(a / b for a, b in zip(ts, torch, strict=True))
        if base and engine == ENGINE and workload != group:
            st["vs_base"] = _median_of(a / b for a, b in zip(ts, base, strict=True))
            if n:
                st["us_added"] = _median_of(
                    (a - b) * 1e3 / n for a, b in zip(ts, base, strict=True)
                )
        out[name] = st
    return out


def pair_summary(rec: dict) -> dict[str, float]:
    """The engine's paired ratios in one process, for the progress log."""
    out = {}
    for name, st in pair_stats(rec).items():
        engine, workload = name.split(":")
        if engine != ENGINE:
            continue
        for key, label in (("vs_floor", "floor"), ("vs_torch", "torch")):
            if key in st:
                out[f"{workload} ÷ {label}"] = st[key]
    return out


def aggregate_pairs(pairs: list[dict]) -> dict[str, dict]:
    """{"engine:workload": stats}: the median over paired processes of each statistic of
    pair_stats, with the spread ((max − min) / median) of its ratio to the floor."""
    per: dict[str, list[dict]] = {}
    for rec in pairs:
        if rec.get("status") != "ok":
            continue
        for name, st in pair_stats(rec).items():
            per.setdefault(name, []).append(st)
    out = {}
    for name, stats in per.items():
        cell: dict = {"processes": len(stats), "turns": min(st["turns"] for st in stats)}
        for key in ("median_ms", "vs_floor", "vs_torch", "vs_base", "us_above_floor", "us_added"):
            values = [st[key] for st in stats if key in st]
            if values:
                cell[key] = statistics.median(values)
                cell[f"{key}_per_process"] = values
                if key == "vs_floor":
                    cell["vs_floor_spread"] = (max(values) - min(values)) / cell[key]
        out[name] = cell
    return out


def _paired(paired: dict, engine: str, workload: str, key: str) -> float | None:
    return paired.get(_name(engine, workload), {}).get(key)


# ------------------------------------------------------------------ formatting
def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def _ok(cells: dict, engine: str, workload: str) -> dict | None:
    c = cells.get((engine, workload))
    return c if c and c.get("status") == "ok" else None


def _ms(cells: dict, engine: str, workload: str, key: str = "median_ms") -> float | None:
    """A cell's wall-time median (or `key`, e.g. "cpu_median_ms"); None if it did not run."""
    c = _ok(cells, engine, workload)
    return c[key] if c else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _cell_text(cells: dict, engine: str, workload: str, skipped: dict) -> str:
    c = cells.get((engine, workload))
    if engine not in WORKLOADS[workload].engines:
        return "—"
    if c is None:
        return skipped.get(engine, "—")
    if c.get("status") != "ok":
        return f"**{c.get('status', 'fail').upper()}**"
    return fmt_ms(c["median_ms"]) + (" ⚠" if contended(c) else "")


def _floor_workload(workload: str) -> str:
    return WORKLOADS[workload].base or workload


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _cpu_ms(cells: dict, engine: str, workload: str) -> float | None:
    return _ms(cells, engine, workload, "cpu_median_ms")


def main_table(cells: dict, workloads: list[str], engines: list[str], skipped: dict) -> list[str]:
    """Medians (ms) per engine, the engine's ratios to the floor and to torch (from wall
    medians, and from process-CPU medians, which being descheduled does not inflate)."""
    header = (
        ["workload"]
        + [f"{e} ms" for e in engines]
        + ["engine ÷ floor", "engine ÷ torch", "CPU-time ÷ floor", "CPU-time ÷ torch"]
    )
    rows = []
    for w in workloads:
        base = _floor_workload(w)
        ratios = [
            _ratio(_ms(cells, ENGINE, w), _ms(cells, FLOOR, base)),
            _ratio(_ms(cells, ENGINE, w), _ms(cells, TORCH, base)),
            _ratio(_cpu_ms(cells, ENGINE, w), _cpu_ms(cells, FLOOR, base)),
            _ratio(_cpu_ms(cells, ENGINE, w), _cpu_ms(cells, TORCH, base)),
        ]
        rows.append(
            [f"**{w}**"]
            + [_cell_text(cells, e, w, skipped) for e in engines]
            + [fmt_ratio(r) for r in ratios]
        )
    return _table(header, rows)


def _above_floor_us(cells: dict, engine: str, workload: str, key: str) -> float | None:
    """(engine − floor) time per op/step in µs, from `key` medians."""
    ms, floor = _ms(cells, engine, workload, key), _ms(cells, FLOOR, _floor_workload(workload), key)
    if ms is None or floor is None:
        return None
    return (ms - floor) * 1e3 / WORKLOADS[workload].count()


def _us(x: float | None, sign: str = "") -> str:
    return "—" if x is None else f"{x:{sign}.2f}"


def overhead_table(cells: dict, workloads: list[str], engines: list[str]) -> list[str]:
    """µs per op (W5) / per step (W4), and above the floor: the engine's own bookkeeping."""
    rows = []
    for w in workloads:
        spec = WORKLOADS[w]
        n = spec.count()
        if n is None:
            continue
        for e in engines:
            ms = _ms(cells, e, w)
            if ms is None:
                continue
            rows.append(
                [
                    w,
                    e,
                    f"{n} {spec.per}s",
                    f"{ms * 1e3 / n:.2f}",
                    _us(_above_floor_us(cells, e, w, "median_ms")),
                    _us(_above_floor_us(cells, e, w, "cpu_median_ms")),
                ]
            )
    if not rows:
        return []
    header = [
        "workload",
        "engine",
        "count",
        "µs per op/step",
        "µs above floor",
        "CPU µs above floor",
    ]
    return _table(header, rows)


def paired_table(paired: dict, workloads: list[str], engines: list[str]) -> list[str]:
    """Each cell as timed in its workload's paired processes: medians and per-turn ratios."""
    rows = []
    for w in workloads:
        for e in engines:
            st = paired.get(_name(e, w))
            if st is None:
                continue
            n = WORKLOADS[w].count()
            spread = st.get("vs_floor_spread")
            rows.append(
                [
                    w,
                    e,
                    f"{st['processes']} × {st['turns']}",
                    fmt_ms(st["median_ms"]),
                    fmt_ratio(st.get("vs_floor")),
                    fmt_ratio(st.get("vs_torch")),
                    _us(st.get("us_above_floor")) if n else "",
                    "—" if spread is None else f"{spread:.0%}",
                ]
            )
    if not rows:
        return []
    header = [
        "workload",
        "engine",
        "processes × turns",
        "ms",
        "÷ floor",
        "÷ torch",
        "µs above floor per op/step",
        "spread of ÷ floor",
    ]
    return _table(header, rows)


def switches_table(cells: dict, workloads: list[str], paired: dict | None = None) -> list[str]:
    """The engine's recording switches on W4: what turning each on costs."""
    base, base_cpu = _ms(cells, ENGINE, "W4"), _cpu_ms(cells, ENGINE, "W4")
    rows = []
    for w in workloads:
        spec = WORKLOADS[w]
        if spec.base != "W4" or spec.variant not in SWITCHES:
            continue
        ms, cpu = _ms(cells, ENGINE, w), _cpu_ms(cells, ENGINE, w)
        n = spec.count()
        added = None if ms is None or base is None else (ms - base) * 1e3 / n
        added_cpu = None if cpu is None or base_cpu is None else (cpu - base_cpu) * 1e3 / n
        rows.append(
            [
                w,
                spec.title,
                fmt_ms(ms),
                fmt_ratio(_ratio(ms, base)),
                _us(added, "+"),
                _us(added_cpu, "+"),
                _us(_paired(paired or {}, ENGINE, w, "us_added"), "+"),
            ]
        )
    if not rows:
        return []
    header = [
        "variant",
        "what",
        "ms",
        "÷ W4 (switch off)",
        "µs per step added",
        "CPU µs per step added",
        "paired µs per step added",
    ]
    off = ["W4", "switches off", fmt_ms(base), "1.00×", "0", "0", "0"]
    return _table(header, [off] + rows)


def memory_table(cells: dict, workloads: list[str], engines: list[str]) -> list[str]:
    """Peak RSS growth over the post-import baseline, and one call's tracemalloc peak."""
    rows = []
    for w in workloads:
        rss = []
        for e in engines:
            c = _ok(cells, e, w)
            rss.append(f"{c['rss_growth_mib']:.1f}" if c else "—")
        mine = _ok(cells, ENGINE, w)
        floor = _ok(cells, FLOOR, _floor_workload(w))
        tm_e = mine["tracemalloc_peak_mib"] if mine else None
        tm_f = floor["tracemalloc_peak_mib"] if floor else None
        rows.append(
            [w]
            + rss
            + [
                "—" if tm_e is None else f"{tm_e:.2f}",
                "—" if tm_f is None else f"{tm_f:.2f}",
                fmt_ratio(_ratio(tm_e, tm_f)),
            ]
        )
    header = (
        ["workload"]
        + [f"{e} RSS growth MiB" for e in engines]
        + ["engine traced peak MiB", "floor traced peak MiB", "engine ÷ floor"]
    )
    return _table(header, rows)


def noise_table(cells: dict, workloads: list[str], engines: list[str]) -> list[str]:
    """Per cell: CPU-time median, best round, spread, reps, CPU share, page faults, load."""
    rows = []
    for w in workloads:
        row = [w]
        for e in engines:
            c = _ok(cells, e, w)
            if c is None:
                row.append("—")
                continue
            row.append(
                f"{fmt_ms(c['cpu_median_ms'])} · {fmt_ms(c['best_ms'])} · "
                f"{c['round_spread']:.0%} · {c['reps']} · {c['cpu_util']:.2f} · "
                f"{c['minflt_per_call']:.0f} · {c['loadavg_1min']:.1f}"
            )
        rows.append(row)
    return _table(["workload"] + engines, rows)


def grad_table(check: dict, workloads: list[str], engines: list[str]) -> list[str]:
    """The pre-timing gradient check: worst relative difference from the floor."""
    results = check.get("results", {})
    rows = []
    for w in workloads:
        row = [w]
        for e in engines:
            if e == FLOOR:
                row.append("reference")
                continue
            r = results.get(f"{e}/{w}")
            if r is None:
                row.append("—")
            elif r.get("status") == "ok":
                row.append(f"{r['rel_diff']:.0e} ✓")
            elif r.get("status") == "grad-mismatch":
                row.append(f"**{r['rel_diff']:.1e} at {r['where']}** ✗")
            else:
                row.append(f"**{r.get('status', 'fail')}**")
        rows.append(row)
    return _table(["workload"] + engines, rows)


def targets(cells: dict, workloads: list[str], paired: dict | None = None) -> list[dict]:
    """The design's targets, each measured from wall-time and from CPU-time medians of the
    cells, and from the paired processes' per-turn ratios.

    A row: {"what", "wall", "cpu", "paired"}, each value a (text, met) pair, met None where
    this run cannot tell, and "processes": how many of the paired processes met it on
    their own ("3 of 5"; "—" for memory), which shows how firmly the machine's drift lets
    the paired verdict stand. Memory is not a timing: all three give the tracemalloc ratio.
    """
    paired = paired or {}

    def row(
        what: str,
        fmt,
        limit: float,
        wall: float | None,
        cpu: float | None,
        pair: float | None,
        per_process: list[float] | None = None,
    ) -> dict:
        def shown(x):  # a ratio that rounds to the limit gets a third digit: "1.004×"
            if fmt is fmt_ratio and x is not None and x != limit and f"{x:.2f}" == f"{limit:.2f}":
                digits = 3
                while digits < 6 and f"{x:.{digits}f}" == f"{limit:.{digits}f}":
                    digits += 1
                return f"{x:.{digits}f}×"
            return fmt(x)

        return {
            "what": what,
            "wall": (shown(wall), None if wall is None else wall <= limit),
            "cpu": (shown(cpu), None if cpu is None else cpu <= limit),
            "paired": (shown(pair), None if pair is None else pair <= limit),
            "processes": "—"
            if not per_process
            else f"{sum(v <= limit for v in per_process)} of {len(per_process)}",
        }

    out = []
    for w in workloads:
        if WORKLOADS[w].variant:
            continue
        out.append(
            row(
                f"{w}: engine ≤ {TARGET_VS_TORCH:.1f}× torch",
                fmt_ratio,
                TARGET_VS_TORCH,
                _ratio(_ms(cells, ENGINE, w), _ms(cells, TORCH, w)),
                _ratio(_cpu_ms(cells, ENGINE, w), _cpu_ms(cells, TORCH, w)),
                _paired(paired, ENGINE, w, "vs_torch"),
                _paired(paired, ENGINE, w, "vs_torch_per_process"),
            )
        )
    if "W5" in workloads:
        out.append(
            row(
                f"W5: engine ≤ {TARGET_W5_US_PER_OP:.0f} µs per op above the floor",
                lambda x: "—" if x is None else f"{x:.2f} µs",
                TARGET_W5_US_PER_OP,
                _above_floor_us(cells, ENGINE, "W5", "median_ms"),
                _above_floor_us(cells, ENGINE, "W5", "cpu_median_ms"),
                _paired(paired, ENGINE, "W5", "us_above_floor"),
                _paired(paired, ENGINE, "W5", "us_above_floor_per_process"),
            )
        )
    # W4's own targets, and the same for W4-fused (the step as one fused node), both
    # against W4's floor
    for w in ("W4", "W4-fused"):
        if w not in workloads or "W4" not in workloads:
            continue
        out.append(
            row(
                f"{w}: engine ≤ {TARGET_W4_VS_FLOOR}× floor",
                fmt_ratio,
                TARGET_W4_VS_FLOOR,
                _ratio(_ms(cells, ENGINE, w), _ms(cells, FLOOR, "W4")),
                _ratio(_cpu_ms(cells, ENGINE, w), _cpu_ms(cells, FLOOR, "W4")),
                _paired(paired, ENGINE, w, "vs_floor"),
                _paired(paired, ENGINE, w, "vs_floor_per_process"),
            )
        )
        key = "tracemalloc_peak_mib"
        memory = _ratio(_ms(cells, ENGINE, w, key), _ms(cells, FLOOR, "W4", key))
        out.append(
            row(
                f"{w}: graph's peak memory ≤ {TARGET_W4_MEMORY_VS_FLOOR:.0f}× the floor's "
                "(tracemalloc)",
                fmt_ratio,
                TARGET_W4_MEMORY_VS_FLOOR,
                memory,
                memory,
                memory,
            )
        )
    return out


def render(results: dict) -> str:
    """The whole RESULTS.md page."""
    meta = results["meta"]
    cells = aggregate(results["records"])
    paired = aggregate_pairs(results.get("pairs", []))
    workloads, engines = meta["workloads"], meta["engines"]
    skipped = meta.get("skipped_engines", {})
    lines = [
        "# Speed suite results",
        "",
        f"Generated by `{meta['command']}` on {meta['date']} ({meta['total_s'] / 60:.1f} min).",
        "",
        f"- Machine: {meta['machine']['cpu']}, {meta['machine']['cores']} logical cores, "
        f"{meta['machine']['os']}; load average at start {meta['machine']['loadavg_start']:.2f}, "
        f"at end {meta['machine'].get('loadavg_end', float('nan')):.2f}.",
        f"- Versions: {meta['versions']}.",
        f"- Settings: float32, single-threaded BLAS (OMP/OPENBLAS/MKL_NUM_THREADS=1, "
        f"torch.set_num_threads(1)), backend {meta['backend']}, data seed {meta['seed']}, "
        f"malloc {meta.get('malloc', 'glibc default')}; "
        f"{meta['rounds']} round(s) of fresh processes, interleaved over the cells; each "
        f"process warms up (≥ 3 calls, ≥ {meta['warmup']} s) then times repetitions for "
        f"{meta['budget']} s ({meta['min_reps']}–{meta['max_reps']} reps) and takes their median.",
        "",
        "## Medians (ms per forward + backward)",
        "",
        "Each cell is the median over rounds of each process's median. ⚠ = median wall time "
        f"> {CONTENDED_RATIO:.2f}× median CPU time: another process took the CPU while it ran "
        "(see the noise table's CPU-time medians). The engine's ratios come from the wall "
        "medians and, in the last two columns, from the process-CPU medians, which are not "
        "inflated by sharing the machine.",
        "",
    ]
    lines += main_table(cells, workloads, engines, skipped)
    lines += ["", "Workloads:", ""]
    lines += [f"- **{w}**: {WORKLOADS[w].title}" for w in workloads]

    tg = targets(cells, workloads, paired)
    if tg:
        lines += ["", "## Targets (the performance targets of the design)", ""]
        mark = {True: "met", False: "**not met**", None: "—"}
        lines += [
            "From the cells' wall-time medians, from their CPU-time medians (trust these "
            "when the cells are marked ⚠), and from the paired processes (see below: "
            "ratios of calls made side by side, which the machine's drift between "
            "processes cannot skew). The last column counts the paired processes that met "
            "the target on their own: this VM's slow phases move the engine's ratio to the "
            "floor too, so a verdict that not all processes share is a close call.",
            "",
        ]
        lines += _table(
            ["target", "wall time", "", "CPU time", "", "paired", "", "paired processes"],
            [
                [t["what"]]
                + [x for k in ("wall", "cpu", "paired") for x in (t[k][0], mark[t[k][1]])]
                + [t["processes"]]
                for t in tg
            ],
        )
        if any(t["what"].startswith("W4") for t in tg):
            lines += [
                "",
                "W4's floor is the textbook one the target was set against: a product per "
                "step and weight, `@` on 1 × 32 rows. A tuned floor (`.dot`, stacked weight "
                "gradients; `python -m benchmarks.floors`) takes about a third of its time, "
                "and the engine about 3× the tuned floor's (measured on the Intel VMs): "
                "against the fastest NumPy, the five graph nodes of a step cost about twice "
                "the step's own work.",
            ]

    pt = paired_table(paired, workloads, engines)
    if pt:
        lines += [
            "",
            "## Paired: each workload's cells taking turns in one process",
            "",
            "Per round, one fresh process per workload builds every cell of that workload "
            "(the engine's variants too), warms them up, then gives each a turn, in a "
            "shuffled order, until its budget is spent: two calls back to back, the second "
            "timed (the first warms the caches the others' calls emptied). Ratios are "
            "medians over the turns of "
            "the per-turn ratios, then the median over the processes; the spread is that of "
            "the per-process ratios to the floor. A slow phase of the machine, which moves "
            "a cell's own median by 10–40 % between processes, slows both sides of a turn "
            "alike. All cells share the process, so the engine's import-time settings "
            "(freed memory kept, the cycle collector's threshold) apply to the floor and "
            "torch as well: a stricter comparison than the cells' own processes.",
            "",
        ]
        lines += pt

    ov = overhead_table(cells, workloads, engines)
    if ov:
        lines += [
            "",
            "## Per-op overhead",
            "",
            "Time per elementwise op (W5) or per time step (W4: 5 graph nodes per step), "
            "and the same above the floor's time: the engine's own bookkeeping (on W4 less "
            "what its stacked weight gradients save over the floor's textbook per-step "
            "products: `python -m benchmarks.floors` races a floor that stacks them too).",
            "",
        ]
        lines += ov

    sw = switches_table(cells, workloads, paired)
    if sw:
        lines += [
            "",
            "## Recording switches (engine, W4)",
            "",
            "Off is the default; the rows show what switching each one on costs.",
            "",
        ]
        lines += sw

    lines += [
        "",
        "## Memory",
        "",
        "RSS growth: peak RSS of the worker (ru_maxrss) minus its RSS after imports, the "
        "largest over the rounds (includes the data, the warm-up and every repetition). "
        "Traced peak: the most memory one forward + backward held at once, as tracemalloc "
        "sees it (NumPy buffers and Python objects: the graph plus temporaries; PyTorch's "
        "allocator is invisible to it).",
        "",
    ]
    lines += memory_table(cells, workloads, engines)

    lines += [
        "",
        "## Gradient check (before timing)",
        "",
        "Worst difference of each engine's gradients from the floor's, relative to the "
        f"gradient's size, float32 (tolerance {results['check'].get('tolerance', 1e-3):.0e}). "
        "A cell that fails is not timed. Every timing process also re-checks its own "
        "gradients after timing.",
        "",
    ]
    lines += grad_table(results["check"], workloads, engines)

    lines += [
        "",
        "## Noise",
        "",
        "Cell: CPU-time median ms · best round (lowest per-process wall-time median, ms: "
        "above the CPU time where the machine was shared) · round spread ((max − min) / "
        "median of the per-process wall-time medians) · fewest reps in a process "
        "· lowest CPU share of a process's timed loop (1.00 = never descheduled) · minor page "
        "faults per call · highest 1-min load average seen. Differences between columns "
        "smaller than the round spread are not meaningful. A load average above 1 means "
        "other processes ran beside the worker: on a machine whose logical CPUs share a core "
        "or a cache, that slows a cell without descheduling it, so neither ⚠ nor the CPU "
        "time shows it; the best round is then the least disturbed estimate.",
        "",
    ]
    lines += noise_table(cells, workloads, engines)

    failed = [c for c in cells.values() if c.get("status") != "ok"]
    failed += [
        {"engine": "paired", "workload": r.get("group"), "error": r.get("error")}
        for r in results.get("pairs", [])
        if r.get("status") != "ok"
    ]
    check_fail = {
        k: v
        for k, v in results["check"].get("results", {}).items()
        if v.get("status") not in ("ok", "unavailable")
    }
    if failed or check_fail or skipped:
        lines += ["", "## Failures and skips", ""]
        for name, why in skipped.items():
            lines.append(f"- **{name}** skipped: {why}")
        for key, r in check_fail.items():
            lines.append(
                f"- **{key}** gradient check: {r.get('status')}: {r.get('error') or r.get('where')}"
            )
        for c in failed:
            lines.append(f"- **{c.get('engine')}/{c.get('workload')}**: {c.get('error')}")
    return "\n".join(lines) + "\n"
