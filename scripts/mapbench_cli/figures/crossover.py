"""crossover: for 4 KiB reads of a file inside a memory cgroup, is mmap faster or slower
than pread — by file size over the cgroup's limit (file_to_limit) and reader threads?

Per figure group (one block size and one fixed size: the file, or the limit):

- `crossover-map`: the crossover map. One heat panel per pattern x mmap hint: the ratio
  of mmap's steady-state throughput to pread's (medians, both measured in the same run)
  over file_to_limit (x) and readers (y), on a diverging colour scale centred on 1 (log),
  each cell annotated with the ratio and its 95% interval; a thick line where the ratio
  crosses 1, hatching where the interval includes 1 (no clear winner).
- `crossover-ratio`: the same ratios as lines against file_to_limit, one per reader
  count, with their intervals: easier to read than colours when the intervals matter.
- `crossover-time-<pattern>`: throughput per 100 ms bucket against time (series.csv) for
  the cases over memory (file_to_limit > 1): one line per method and hint (median of the
  repetitions, their range shaded), the moment the cgroup began evicting marked, the
  steady-state window (what the map uses) shaded.
- the summary in words (`crossover-summary.md` beside the figures, printed by `plot`,
  in `report`'s index): where the crossover falls, per pattern, hint and reader count.

Statistics: a cell's ratio is median(mmap) / median(pread) of steady_bytes_per_second,
pooled over the repetitions and processes of the runs that measured both; its interval is
the percentile bootstrap of stats.ratio_interval (whole processes resampled when each side
has at least two, else repetitions). A side "leads" only where the interval excludes 1;
with fewer than MIN_UNITS samples per side no side is called. Rows whose status is not ok
are left out and counted (by status and reason) in the notes and the summary.

The statistics are in stats/crossover.py, the words in text/crossover.py, the analysis
of the rows in figures/crossover_analysis.py; this module draws.
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.figures import common as fc
from mapbench_cli.text.words import count_range, file_part
from mapbench_cli.stats.crossover import ADVICE_ORDER, VARIANT_ORDER, CONFIDENCE, FAMILY, MAPPED, MIN_UNITS, MMAP, PATTERN_ORDER, PREAD, REFERENCE, THROUGHPUT, TOO_FEW
from mapbench_cli.figures.crossover_analysis import Analysis, Cell, Group, HOW, _rank, analyse
from mapbench_cli.text.crossover import HINT_SHORT, PATTERN_WORDS, bounds, name_of, short_of, times

VARIANT_COLOURS = {("pread", "none"): "#e66101", ("mmap", "none"): "#2ca02c", ("mmap", "random"): "#5e3c99",
                   ("mmap", "sequential"): "#0571b0",
                   # the storage baselines: O_DIRECT magenta, io_uring teal (figures/base.py's method colours)
                   ("odirect_pread", "none"): "#7b3294", ("io_uring_odirect_qd1", "none"): "#c51b7d",
                   ("io_uring_odirect_qd32", "none"): "#de77ae", ("io_uring_qd1", "none"): "#018571",
                   ("io_uring_qd32", "none"): "#5ab4ac"}
CMAP = "PuOr"          # orange below 1 (pread faster), purple above (mmap faster)


# --- figures ------------------------------------------------------------------------------------

def crossover_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    analysis = analyse(rows, ctx)
    fr_given = rows.index
    covered = analysis.used.index.union(analysis.flagged.index).union(analysis.left_out.index).intersection(fr_given)
    if analysis.empty:
        if analysis.used.empty and analysis.left_out.empty and analysis.flagged.empty:
            return [], pd.Index([])
        fr = fc.split(rows, ctx, FAMILY)
        return [fc.nothing_measured(FAMILY, fr, analysis.excluded_notes, ctx)], covered
    out = []
    series = getattr(ctx, "series", None)
    for group in analysis.groups:
        cells = analysis.cells[group.key]
        if not any(c.ratio is not None for c in cells):
            continue
        out.append((f"{FAMILY}-map{group.stem}", _map_figure(analysis, group, cells, ctx)))
        out.append((f"{FAMILY}-ratio{group.stem}", _ratio_figure(analysis, group, cells, ctx)))
        if isinstance(series, pd.DataFrame) and not series.empty:
            for pattern in fc.ordered(group.rows["pattern"], PATTERN_ORDER):
                fig = _time_figure(analysis, group, pattern, series, ctx)
                if fig is not None:
                    out.append((f"{FAMILY}-time-{file_part(pattern)}{group.stem}", fig))
    return out, covered


def _scale_bounds(cells: Sequence[Cell]) -> float:
    spread = [max(c.ratio.ratio, 1 / c.ratio.ratio) for c in cells
              if c.ratio is not None and math.isfinite(c.ratio.ratio) and c.ratio.ratio > 0]
    return float(min(16.0, max(2.0, (max(spread) if spread else 2.0) * 1.05)))  # beyond 16x: the darkest


def _scale_ticks(bound: float) -> List[Tuple[float, str]]:
    ticks = []
    for k in range(-6, 7):
        t = 2.0 ** k
        if 1 / bound <= t <= bound:
            ticks.append((t, "1 (equal)" if k == 0 else f"{t:g}×" if k > 0 else f"1/{1 / t:g}×"))
    if len(ticks) > 7:
        ticks = [t for t in ticks if round(math.log2(t[0])) % 2 == 0]
    return ticks


def _x_label(x: float, other_mib: float) -> str:
    return f"{x:g}\n{fc.mib_label(other_mib)}"


def _axis_words(group: Group) -> str:
    return ("file size / memory limit (the limit below)" if group.fixed == "file_mib"
            else "file size / memory limit (the file below)")


def _common_notes(analysis: Analysis, ctx, extra: Sequence[str] = ()) -> List[str]:
    notes = list(extra) + [HOW]
    if analysis.excluded_count:
        notes.append(f"left out: {analysis.excluded_count}")
    notes += analysis.excluded_notes + analysis.notes + [fc.run_note(ctx)]
    return fc.clean_notes(notes)


def _panels_order(cells: Sequence[Cell]):
    patterns = fc.ordered([c.pattern for c in cells], PATTERN_ORDER)
    advices = fc.ordered([c.advice for c in cells], VARIANT_ORDER)
    return patterns, advices


def _has_baselines(cells: Sequence[Cell]) -> bool:
    return any(c.advice not in ADVICE_ORDER for c in cells)


def _map_figure(analysis: Analysis, group: Group, cells: Sequence[Cell], ctx):
    draw = fc.draw_module()
    patterns, advices = _panels_order(cells)
    xs = sorted({c.x for c in cells})
    readers = sorted({c.readers for c in cells})
    other_of = {c.x: c.other_mib for c in cells}
    bound = _scale_bounds(cells)
    grid = []
    for p_i, pattern in enumerate(patterns):
        row = []
        for advice in advices:
            heat_cells = {}
            for c in cells:
                if c.pattern != pattern or c.advice != advice:
                    continue
                key = (readers.index(c.readers), xs.index(c.x))
                if c.ratio is None:
                    heat_cells[key] = draw.HeatCell(None, c.missing)
                    continue
                r = c.ratio
                clear = r.verdict in (MMAP, PREAD)
                text = f"{times(r.ratio)}\n{bounds(r)}"
                if r.verdict == TOO_FEW:
                    text += f"\nn<{MIN_UNITS}"
                heat_cells[key] = draw.HeatCell(r.ratio, text, hatched=not clear)
            row.append(draw.Heat(
                title=f"{PATTERN_WORDS.get(pattern, pattern)} reads · {short_of(advice)} vs pread",
                xlabel=_axis_words(group), ylabel="reader threads",
                columns=[_x_label(x, other_of[x]) for x in xs], rows=[f"{r:g}" for r in readers],
                cells=heat_cells, cmap=CMAP, vmin=1 / bound, vmax=bound, log=True, boundary=1.0,
                message="" if heat_cells else "not run"))
        if p_i == 0:
            who = "method" if _has_baselines(cells) else "mmap"
            row.append(draw.Scale(f"{who} / pread throughput\n↑ {who} faster · pread faster ↓", CMAP, 1 / bound, bound,
                                  True, _scale_ticks(bound)))
        else:
            row.append(None)
        grid.append(row)
    legend = [draw.Key("ratio crosses 1: the faster method changes (dashed: neither side clear)", "black",
                       "boundary"),
              draw.Key(f"hatched: no clear winner ({CONFIDENCE:.0%} CI includes 1)", "#888888", "hatch")]
    notes = _common_notes(analysis, ctx, [
        "each cell: mmap's steady-state throughput over pread's at that file/limit ratio and reader count "
        f"(bold), its {CONFIDENCE:.0%} interval below (where a cell is too narrow: in crossover-summary.md); "
        "purple: mmap faster, orange: pread faster (log scale, centred on 1)"]
        + (["O_DIRECT and io_uring panels: that method's throughput over pread's, the same way; O_DIRECT reads every "
            "block from the device at any limit (no cache in front of it)"] if _has_baselines(cells) else []))
    chart = draw.Chart(title=f"{FAMILY}: is mmap faster than pread? throughput ratio mmap / pread by file size "
                             f"over memory limit and readers ({group.label})",
                       panels=grid, legend=legend, notes=notes)
    return draw.draw(chart)


def _reader_colours(readers: Sequence[float]) -> Dict[float, str]:
    """Readers are ordered: shades of one sequential scale (viridis), dark for one reader."""
    from mapbench_cli.figures.base import mcolors, plt
    scale = plt.get_cmap("viridis")
    n = len(readers)
    return {r: mcolors.to_hex(scale(0.1 + 0.7 * (i / (n - 1) if n > 1 else 0))) for i, r in enumerate(readers)}


def _range_words(group: Group, cells: Sequence[Cell]) -> str:
    sizes = sorted({c.other_mib for c in cells}, reverse=group.fixed == "file_mib")
    what = "limit" if group.fixed == "file_mib" else "file"
    shown = fc.mib_label(sizes[0]) + (f" … {fc.mib_label(sizes[-1])}" if len(sizes) > 1 else "")
    return f"file size / memory limit\n({what} {shown})"


def _ratio_figure(analysis: Analysis, group: Group, cells: Sequence[Cell], ctx):
    draw = fc.draw_module()
    from mapbench_cli.figures.base import Value
    patterns, advices = _panels_order(cells)
    xs = sorted({c.x for c in cells})
    readers = sorted({c.readers for c in cells})
    colours = _reader_colours(readers)
    grid = []
    any_unclear = False
    for pattern in patterns:
        row = []
        for advice in advices:
            series = []
            for r in readers:
                points = []
                for c in sorted(cells, key=lambda c: c.x):
                    if (c.pattern, c.advice, c.readers) != (pattern, advice, r) or c.ratio is None:
                        continue
                    v = c.ratio
                    unclear = v.verdict not in (MMAP, PREAD)
                    any_unclear |= unclear
                    points.append(draw.Point(c.x, Value(v.ratio, v.low, v.high), flagged=unclear))
                if points:
                    series.append(draw.Series(f"{r:g} reader{'s' if r != 1 else ''}", colours[r], points))
            row.append(draw.Lines(
                title=f"{PATTERN_WORDS.get(pattern, pattern)} reads · {short_of(advice)} vs pread",
                xlabel=_range_words(group, cells),
                ylabel=("mmap / pread throughput (×),\nabove 1: mmap faster" if name_of(advice) == "mmap"
                        else "throughput / pread's (×),\nabove 1: faster than pread"),
                series=series, logx=True, logy=True, reference_y=1.0, xticks=[(x, f"{x:g}") for x in xs],
                message="" if series else "not run"))
        grid.append(row)
    legend = [draw.Key(f"{r:g} reader{'s' if r != 1 else ''}", colours[r], "line") for r in readers]
    if any_unclear:
        legend.append(draw.Key(f"hollow: no clear winner ({CONFIDENCE:.0%} CI includes 1)", "#555555", "hollow"))
    notes = _common_notes(analysis, ctx, [f"error bars: the {CONFIDENCE:.0%} interval of the ratio; "
                                          "the line at 1: equal throughput"])
    chart = draw.Chart(title=f"{FAMILY}: where does mmap stop beating pread? mmap / pread throughput by "
                             f"file/limit ratio ({group.label})",
                       panels=grid, legend=legend, notes=notes)
    return draw.draw(chart)


def _variant_label(method: str, advice: str) -> str:
    if method == MAPPED:
        return f"mmap {HINT_SHORT.get(advice, advice)}"
    return method if method == REFERENCE else short_of(method)


def _variant_colour(method: str, advice: str) -> str:
    return VARIANT_COLOURS.get((method, advice)) or fc.colour(_variant_label(method, advice), FAMILY)


def _throughput_unit(values: Sequence[float]) -> Tuple[float, str]:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    typical = float(np.median(finite)) if finite else 0.0
    return (float(1 << 30), "GiB/s") if typical >= (1 << 30) else (float(1 << 20), "MiB/s")


def time_curves(series: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Throughput per bucket of the given rows' repetitions: one line per (method, advice,
    bucket index) with the median time, and the median, min and max throughput over them.
    Buckets are matched by their order in each repetition (their t_s jitter a little)."""
    keys = rows.assign(process=rows["process"].fillna(0.0) if "process" in rows else 0.0,
                       run_id=rows["run_id"].astype(str))[["run_id", "name", "process", "repetition", "method",
                                                            "advice"]].drop_duplicates()
    points = series[series["series"] == THROUGHPUT].merge(keys, on=["run_id", "name", "process", "repetition"])
    if points.empty:
        return pd.DataFrame(columns=["method", "advice", "bucket", "t_s", "median", "low", "high", "n"])
    points = points.sort_values("t_s")
    points["bucket"] = points.groupby(["run_id", "name", "process", "repetition"]).cumcount()
    out = points.groupby(["method", "advice", "bucket"]).agg(
        t_s=("t_s", "median"), median=("value", "median"), low=("value", "min"), high=("value", "max"),
        n=("value", "size")).reset_index()
    return out


def _time_figure(analysis: Analysis, group: Group, pattern: str, series: pd.DataFrame, ctx):
    draw = fc.draw_module()
    from mapbench_cli.figures.base import Value
    rows = analysis.used.loc[analysis.used.index.intersection(group.rows.index)]
    rows = rows[(rows["pattern"] == pattern) & (rows["file_to_limit"] > 1)]
    if rows.empty:
        return None
    over = sorted(rows["file_to_limit"].unique())
    readers = sorted(rows["readers"].unique())
    curves = {}
    for x in over:
        for r in readers:
            part = rows[(rows["file_to_limit"] == x) & (rows["readers"] == r)]
            if not part.empty:
                curves[(x, r)] = (part, time_curves(series, part))
    if not any(not c.empty for _, c in curves.values()):
        return None
    divisor, unit = _throughput_unit([v for _, c in curves.values() for v in c["median"]])
    variants = sorted({(m, a) for _, c in curves.values() for m, a in zip(c["method"], c["advice"])},
                      key=lambda v: (0 if v[0] == REFERENCE else 1 if v[0] == MAPPED else 2,
                                     _rank(v[1] if v[0] == MAPPED else v[0], VARIANT_ORDER)))
    grid, evicted_marked, shaded = [], False, False
    other = "limit_mib" if group.fixed == "file_mib" else "file_mib"
    for x in over:
        row = []
        for r in readers:
            if (x, r) not in curves:
                row.append(None)
                continue
            part, curve = curves[(x, r)]
            lines, marks = [], []
            for method, advice in variants:
                c = curve[(curve["method"] == method) & (curve["advice"] == advice)].sort_values("bucket")
                if c.empty:
                    continue
                colour = _variant_colour(method, advice)
                points = [draw.Point(t, Value(m / divisor, lo / divisor, hi / divisor))
                          for t, m, lo, hi in zip(c["t_s"], c["median"], c["low"], c["high"])]
                lines.append(draw.Series(_variant_label(method, advice), colour, points, band=True))
                start = part.loc[(part["method"] == method) & (part["advice"] == advice), "eviction_start_s"] \
                    if "eviction_start_s" in part else pd.Series(dtype=float)
                start = start.dropna()
                if not start.empty:
                    marks.append(draw.Mark(float(start.median()), colour))
                    evicted_marked = True
            ends = sorted(curve.groupby("bucket")["t_s"].median().tolist())
            shade = None
            if len(ends) >= 2:
                half = len(ends) // 2
                shade = (ends[half - 1] if half >= 1 else 0.0, ends[-1])
                shaded = True
            medians = [p.value.median for s in lines for p in s.points]
            logy = bool(medians) and min(medians) > 0 and max(medians) / min(medians) > 8
            size = fc.mib_label(float(part[other].iloc[0]))
            row.append(draw.Lines(
                title=f"file/limit {x:g} ({'limit' if other == 'limit_mib' else 'file'} {size}), "
                      f"{r:g} reader{'s' if r != 1 else ''}",
                xlabel="time since reading began (s)", ylabel=f"throughput per bucket ({unit}),\nhigher is better",
                series=lines, logx=False, logy=logy, marks=marks, shade=shade,
                xlim=(-0.02 * (ends[-1] if ends else 1.0), (ends[-1] if ends else 1.0) * 1.05)))
        grid.append(row)
    legend = [draw.Key(_variant_label(m, a), _variant_colour(m, a), "line") for m, a in variants]
    if evicted_marked:
        legend.append(draw.Key("▼ eviction began (median)", "#555555", "dotted"))
    if shaded:
        legend.append(draw.Key("steady state (last half)", "#ededed"))
    reps = count_range(rows.groupby(["name"]).size())
    notes = _common_notes(analysis, ctx, [
        f"series.csv: throughput of all readers per ~100 ms bucket; line: the median over the repetitions "
        f"({reps} per case), band: their range",
        "only the cases whose file is larger than the memory limit (file/limit > 1); ▼ and dotted line: when the "
        "cgroup first evicted pages (eviction_start_s; at 0: already while the file was being read in); grey: "
        "the steady state, the last half of the buckets, whose median is the map's number"])
    notes = [n for n in notes if n != HOW]
    chart = draw.Chart(title=f"{FAMILY}: throughput over time once the file outgrows the memory limit — "
                             f"{PATTERN_WORDS.get(pattern, pattern)} reads ({group.label})",
                       panels=grid, legend=legend, notes=notes)
    return draw.draw(chart)
