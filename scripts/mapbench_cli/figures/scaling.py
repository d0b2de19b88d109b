"""scaling: how do page faults, mmap/munmap churn and TLB shootdowns scale with CPUs —
threads in one address space against processes in separate ones?

- `scaling`: one panel per workload and size. fault and churn: aggregate throughput
  against the number of workers, threads (one address space) and processes (separate
  ones) as two lines, each with its ideal linear scaling from one worker dashed.
  shootdown: the munmap's latency against the CPUs that had touched the region, with the
  TLB shootdowns per munmap beside each point.

Rows whose workers did not really run in parallel (they waited for a CPU more than 10% of
the time: other load), or a shootdown row that saw no shootdown, are status not_effective:
drawn hollow, never as a clean point.
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc

FAMILY = "scaling"
WORKLOAD_ORDER = ("fault", "churn", "shootdown")
SPACE_ORDER = ("shared", "separate")
SPACE_WORDS = {"shared": "threads (one address space)", "separate": "processes (separate address spaces)"}
SPACE_COLOURS = {"shared": "#4c72b0", "separate": "#dd8452"}
PER_ROW = 3   # panels per row of the figure
SHOOTDOWNS = "tlb_shootdowns_per_op"
MUNMAP = "munmap_ns_per_op"
NUMERIC = ["workers", "region_kib", "pages", SHOOTDOWNS, MUNMAP, "ops_per_second", "pages_per_second", "busy_cpus"]
# workload -> (size column, metric, y words, panel words, throughput?)
SPECS = {
    "fault": ("region_kib", "pages_per_second", "base pages faulted per second",
              "parallel page faults: map, write and read every page, unmap", True),
    "churn": ("region_kib", "ops_per_second", "map + touch + unmap per second",
              "mmap/munmap churn (mmap_lock)", True),
    "shootdown": ("pages", MUNMAP, "munmap latency", "munmap with the region in other CPUs' TLBs", False),
}


def _describe(row) -> str:
    return f"{row.get('workload', '?')} {row.get('space', '')} workers={row.get('workers', '?')}"


def scaling_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    notes_left = fc.left_out_notes(fr, _describe)
    ok, bad = (fc.numeric(f, NUMERIC) for f in (fr.ok, fr.flagged))
    usable = []
    for frame, flag in ((ok, False), (bad, True)):
        for workload, (size, metric, *_rest) in SPECS.items():
            part = frame[frame["workload"] == workload] if "workload" in frame else frame.iloc[0:0]
            part = fc.rows_with(part, ["space", "workers", size, metric])
            if not part.empty:
                usable.append(part.assign(_flag=flag, _size=part[size], _metric=part[metric]))
    if not usable:
        if fr.left_out.empty and bad.empty:
            return [], pd.Index([])
        return [fc.nothing_measured(FAMILY, fr, notes_left, ctx)], fr.covered(pd.Index([]))
    data = pd.concat(usable)
    fig = _figure(data, bad, notes_left, ctx)
    return [(FAMILY, fig)], fr.covered(data.index.intersection(ok.index))


def _figure(data, bad, notes_left, ctx):
    draw = fc.draw_module()
    keys = ["workload", "_size", "space", "workers", "_flag"]
    summary = fc.summarize(data, keys, "_metric")
    shootdowns = fc.lookup(fc.summarize(data, keys, SHOOTDOWNS), keys) if SHOOTDOWNS in data else {}
    grid, legend_spaces = [], []
    for workload in fc.ordered(summary["workload"], WORKLOAD_ORDER):
        size_col, metric, words, title, throughput = SPECS[workload]
        row = []
        for size in fc.numeric_order(summary.loc[summary["workload"] == workload, "_size"]):
            cell = summary[(summary["workload"] == workload) & (summary["_size"] == size)]
            if throughput:
                divisor, scale_words = fc.rate_scale(cell["median"].tolist())
                ylabel = f"{words}" + (f" ({scale_words})" if scale_words else "") + fc.HIGHER
            else:
                divisor, unit = fc.time_scale(cell["median"].tolist())
                ylabel = f"{words} ({unit}){fc.LOWER}"
            series = []
            for space in fc.ordered(cell["space"], SPACE_ORDER):
                part = cell[cell["space"] == space]
                colour = SPACE_COLOURS.get(space, fc.colour(space, FAMILY))
                points = []
                for _, r in part.sort_values("workers").iterrows():
                    if (r["_flag"] and not part[(part["workers"] == r["workers"]) & ~part["_flag"].astype(bool)].empty):
                        continue  # an ok point exists for this count: the not-effective one adds nothing
                    sd = shootdowns.get(tuple(r[k] for k in keys))
                    shown = sd is not None and (workload == "shootdown" or sd["median"] >= 0.05)
                    note = f"{fc.number(sd['median'])} sd" if shown else ""
                    points.append(draw.Point(r["workers"], fc.value(r, divisor), flagged=bool(r["_flag"]), note=note))
                if not points:
                    continue
                series.append(draw.Series(SPACE_WORDS.get(space, space), colour, points))
                if space not in legend_spaces:
                    legend_spaces.append(space)
                one = [p for p in points if p.x == 1]
                if throughput and one and len(points) > 1:
                    top = max(p.x for p in points)
                    series.append(draw.Series(f"ideal {space}", colour, dashed=True, points=[
                        draw.Point(1, _scaled(one[0].value, 1)), draw.Point(top, _scaled(one[0].value, top))]))
            workers = fc.numeric_order(cell["workers"])
            size_words = fc.kib_label(size) + " region" if size_col == "region_kib" else \
                f"{fc.number(size)} page{'s' if size != 1 else ''}"
            row.append(draw.Lines(title=f"{workload}: {size_words}", xlabel="workers (CPUs)", ylabel=ylabel,
                                  series=series, logx=False, logy=False,
                                  xticks=[(w, fc.number(w)) for w in workers]))
        grid += row
    grid = [grid[i:i + PER_ROW] for i in range(0, len(grid), PER_ROW)]
    legend = [draw.Key(SPACE_WORDS.get(s, s), SPACE_COLOURS.get(s, fc.colour(s, FAMILY)), "line")
              for s in legend_spaces]
    legend.append(draw.Key("ideal linear scaling from 1 worker", "#555555", "dashed"))
    if summary["_flag"].astype(bool).any():
        legend.append(draw.Key("not effective (hollow)", "#555555", "hollow"))
    notes = ["fault: " + SPECS["fault"][3] + "; churn: 16 KiB map, one write, unmap per op; throughput is the "
             "aggregate of all workers (ops of all of them over the wall time)",
             "shootdown: helper threads pinned to the other CPUs read every page, then the benchmark thread "
             "unmaps; sd: TLB shootdown interrupts per op (/proc/interrupts, system-wide; shown on fault and churn "
             "from 0.05 per op)",
             fc.intervals_note(summary)]
    notes += fc.flagged_note(bad, "hollow points: the workers did not run in parallel as claimed (they waited for "
                             "a CPU more than 10% of the time: other load), or a multi-CPU shootdown saw none")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: throughput against workers, threads vs processes; munmap against CPUs",
                       panels=grid, legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _scaled(value, factor: float):
    from mapbench_cli.figures.base import Value
    return Value(value.median * factor, value.median * factor, value.median * factor)
