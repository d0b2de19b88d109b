"""The `plot` subcommand: run folders -> summaries per case -> figures per family.

What each family's figure shows is decided here (which rows, which keys, which labels);
statistics come from stats/, drawing from figures/base.py and charts.py (and draw.py for
the family modules). A family without a figure of its own, and any rows a specific
figure cannot place, get the generic figure: median time per operation per case, so
every future family is plotted from day one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import pandas as pd

from mapbench_cli.data import schema
from mapbench_cli.data.frames import has, numeric_order, ordered, with_throughput
from mapbench_cli.stats import summary as stats
from mapbench_cli.figures.common import FamilySummary
from mapbench_cli.figures.crossover import crossover_figures
from mapbench_cli.figures.crossover_analysis import crossover_summary
from mapbench_cli.figures.db_commit import db_commit_figures
from mapbench_cli.figures.fault_signals import fault_signals_figures
from mapbench_cli.figures.lifecycle_ipc import lifecycle_ipc_figures
from mapbench_cli.figures.mapping_structures import mapping_structures_figures
from mapbench_cli.figures.msync import msync_figures
from mapbench_cli.figures.page_size import page_size_figures
from mapbench_cli.figures.populate import populate_figures
from mapbench_cli.figures.scaling import scaling_figures
from mapbench_cli.figures.sharing import sharing_figures
from mapbench_cli.data.runs import Results
from mapbench_cli.text.words import clean, count_range, file_part

CONFIDENCE = 0.95
GENERIC_CASES_PER_FIGURE = 40
THROUGHPUT = "bytes_per_second"
TIME = "ns_per_op"

METHOD_ORDER = ("read", "pread", "mmap", "mmap_copy", "odirect_pread", "io_uring_qd1")
MAPPING_ORDER = ("none", "", "per_pass", "kept")
ADVICE_ORDER = ("none", "", "sequential", "random", "willneed")
PATTERN_ORDER = ("seq", "random")
CACHE_ORDER = ("warm", "cold")
NO_ADVICE = ("none", "")

RVM_KEYS = ["file_mib", "cache", "pattern", "block_kib", "method", "mapping", "advice"]
CEILING_KEYS = ["workload", "file_mib", "pattern", "block_kib"]
CEILING_REFERENCE_WORKLOAD = "memory_read"


# --- read_vs_mmap variants ---------------------------------------------------------------

def variant_label(method: str, mapping: str, advice: str) -> str:
    """'mmap', 'mmap (kept)', 'mmap +random', 'read' ... distinct for every combination."""
    label = clean(method) or "?"
    if advice not in NO_ADVICE:
        label += f" +{clean(advice)}"
    if mapping == "kept":
        label += " (kept)"
    elif mapping not in ("none", "", "per_pass"):
        label += f" ({clean(mapping)})"
    return label


def variant_order(keys: Iterable[Tuple[str, str, str]]) -> List[Tuple[str, str, str]]:
    def rank(order, v):
        return (order.index(v), "") if v in order else (len(order), str(v))
    return sorted(set(keys), key=lambda k: (rank(METHOD_ORDER, k[0]), rank(MAPPING_ORDER, k[1]), rank(ADVICE_ORDER, k[2])))


def _variant_styles(variants: Sequence[Tuple[str, str, str]], figures) -> Dict[str, object]:
    styles = {}
    for method, mapping, advice in variants:
        label = variant_label(method, mapping, advice)
        modifiers = ([advice] if advice not in NO_ADVICE else []) + (["kept"] if mapping == "kept" else [])
        styles[label] = figures.variant_style(label, method, modifiers)
    return styles


def _value(row, divisor: float, figures):
    return figures.Value(row["median"] / divisor, row["ci_low"] / divisor, row["ci_high"] / divisor)


@dataclass
class Context:
    ok: pd.DataFrame        # every plottable row of every family
    run_note: str
    figures: object         # the figures module (imported late: matplotlib is slow to load)
    frame: Optional[pd.DataFrame] = None  # every row, skipped and not_effective ones too
    series: Optional[pd.DataFrame] = None  # series.csv of the runs (runs.load_series), if any


FigureList = List[Tuple[str, object]]


def read_vs_mmap_figures(rows: pd.DataFrame, ctx: Context) -> Tuple[FigureList, pd.Index]:
    from mapbench_cli.figures import charts  # late: matplotlib
    figures = ctx.figures
    rows = with_throughput(rows)
    usable = rows[has(rows, RVM_KEYS + [THROUGHPUT])]
    if usable.empty:
        return [], usable.index
    summary = stats.summarize(usable, RVM_KEYS, THROUGHPUT, CONFIDENCE)
    divisor, unit = schema.display_scale(THROUGHPUT)
    ylabel = schema.axis_label(THROUGHPUT, unit)

    ceiling_rows = ctx.ok[(ctx.ok["family"] == "ceiling")]
    ceiling = pd.DataFrame()
    if not ceiling_rows.empty:
        ceiling_rows = with_throughput(ceiling_rows)
        ceiling_rows = ceiling_rows[has(ceiling_rows, CEILING_KEYS + [THROUGHPUT])
                                    & (ceiling_rows.get("workload") == CEILING_REFERENCE_WORKLOAD)]
        if not ceiling_rows.empty:
            ceiling = stats.summarize(ceiling_rows, CEILING_KEYS, THROUGHPUT, CONFIDENCE)

    out: FigureList = []
    for file_mib in numeric_order(summary["file_mib"]):
        part = summary[summary["file_mib"] == file_mib]
        size = f"file_mib={file_mib:g} ({schema.format_mib(file_mib)})"
        main = part[part["advice"].isin(NO_ADVICE)]
        ref = ceiling[ceiling["file_mib"] == file_mib] if not ceiling.empty else ceiling
        if not main.empty:
            notes = ["mmap: map, read and unmap inside every timed pass; (kept): mapped once before timing; "
                     "mmap_copy: copies each block into a buffer like read()"]
            baselines = {"odirect_pread", "io_uring_qd1"} & set(main["method"])
            if baselines:
                notes.append("odirect_pread: pread with O_DIRECT into an aligned buffer, every block from the device "
                             "(cold only: the cache plays no part); io_uring_qd1: buffered reads through io_uring, "
                             "one in flight")
            if not ref.empty:
                notes.append(f"ceiling: family ceiling (memory_read of a faulted anonymous buffer, same pattern and "
                             f"block, {schema.format_mib(file_mib)}); grey band: its CI")
            elif not ceiling.empty:
                notes.append(f"no ceiling rows for file_mib={file_mib:g}: no reference line")
            notes += [stats.describe_intervals(main, CONFIDENCE), ctx.run_note]
            spec = _rvm_spec(f"read_vs_mmap: throughput by method and block size, {size}",
                             main, ref, divisor, ylabel, notes, figures)
            out.append((f"read_vs_mmap-file_mib_{file_part(f'{file_mib:g}')}", charts.grouped_bars(spec)))
        # The advice comparison: the mapped methods that were run with hints, per-pass mapping.
        # Only where hints were run (the quick suite samples one block size and cache state).
        hinted = part[~part["advice"].isin(NO_ADVICE)]
        hinted_methods = set(hinted["method"])
        where = set(zip(hinted["pattern"], hinted["cache"], hinted["block_kib"]))
        advice = part[part["method"].isin(hinted_methods) & (part["mapping"] != "kept")
                      & [k in where for k in zip(part["pattern"], part["cache"], part["block_kib"])]]
        if hinted_methods:
            notes = ["+hint: madvise(MADV_<hint>) on the whole mapping right after mmap, inside the timed pass; "
                     "no hint: MADV_NORMAL", stats.describe_intervals(advice, CONFIDENCE), ctx.run_note]
            spec = _rvm_spec(f"read_vs_mmap: madvise hints, {size}", advice, pd.DataFrame(), divisor,
                             ylabel, notes, figures)
            out.append((f"read_vs_mmap-advice-file_mib_{file_part(f'{file_mib:g}')}", charts.grouped_bars(spec)))
    return out, usable.index


def _rvm_spec(title, summary, ceiling, divisor, ylabel, notes, figures):
    from mapbench_cli.figures import charts  # late: matplotlib
    variants = variant_order(zip(summary["method"], summary["mapping"], summary["advice"]))
    labels = [variant_label(*v) for v in variants]
    blocks = numeric_order(summary["block_kib"])
    groups = [schema.format_kib(b) for b in blocks]
    patterns = ordered(summary["pattern"], PATTERN_ORDER)
    caches = ordered(summary["cache"], CACHE_ORDER)
    panels = []
    for pattern in patterns:
        row = []
        for cache in caches:
            cell = summary[(summary["pattern"] == pattern) & (summary["cache"] == cache)]
            if cell.empty:
                row.append(None)
                continue
            panel = charts.Panel(title=f"pattern:{pattern} · cache:{cache}")
            for _, r in cell.iterrows():
                label = variant_label(r["method"], r["mapping"], r["advice"])
                panel.bars[(label, schema.format_kib(r["block_kib"]))] = _value(r, divisor, figures)
            if not ceiling.empty:
                for _, r in ceiling[ceiling["pattern"] == pattern].iterrows():
                    panel.reference[schema.format_kib(r["block_kib"])] = _value(r, divisor, figures)
            row.append(panel)
        panels.append(row)
    return charts.GroupedBars(
        title=title, ylabel=ylabel, xlabel=schema.axis_label("block_kib", "", with_direction=False),
        groups=groups, variants=labels, styles=_variant_styles(variants, figures), panels=panels,
        reference_label="ceiling (memory read)" if not ceiling.empty else "",
        notes=[n for n in notes if n])


def ceiling_figures(rows: pd.DataFrame, ctx: Context) -> Tuple[FigureList, pd.Index]:
    from mapbench_cli.figures import charts  # late: matplotlib
    figures = ctx.figures
    rows = with_throughput(rows)
    usable = rows[has(rows, CEILING_KEYS + [THROUGHPUT])]
    if usable.empty:
        return [], usable.index
    summary = stats.summarize(usable, CEILING_KEYS, THROUGHPUT, CONFIDENCE)
    divisor, unit = schema.display_scale(THROUGHPUT)
    patterns = ordered(summary["pattern"], PATTERN_ORDER)
    blocks = numeric_order(summary["block_kib"])
    panels = []
    for workload in ordered(summary["workload"]):
        row = []
        for file_mib in numeric_order(summary.loc[summary["workload"] == workload, "file_mib"]):
            cell = summary[(summary["workload"] == workload) & (summary["file_mib"] == file_mib)]
            panel = charts.Panel(title=f"{workload} · file_mib={file_mib:g} ({schema.format_mib(file_mib)} buffer)")
            for _, r in cell.iterrows():
                panel.bars[(f"pattern:{r['pattern']}", schema.format_kib(r["block_kib"]))] = _value(r, divisor, figures)
            row.append(panel)
        panels.append(row)
    width = max(len(r) for r in panels)
    panels = [r + [None] * (width - len(r)) for r in panels]
    variants = [f"pattern:{p}" for p in patterns]
    styles = {f"pattern:{p}": figures.BarStyle(f"pattern:{p}", figures.colour_for(p)) for p in patterns}
    spec = charts.GroupedBars(
        title="ceiling: memory read bandwidth by block size and pattern",
        ylabel=schema.axis_label(THROUGHPUT, unit), xlabel=schema.axis_label("block_kib", "", with_direction=False),
        groups=[schema.format_kib(b) for b in blocks], variants=variants, styles=styles, panels=panels,
        notes=[n for n in ["one pass over an already-faulted anonymous buffer with the loop mmap-in-place uses",
                           stats.describe_intervals(summary, CONFIDENCE), ctx.run_note] if n])
    return [("ceiling", charts.grouped_bars(spec))], usable.index


def _colour_key(rows: pd.DataFrame) -> str:
    """The parameter that names what is being compared: `method` if the family has one,
    else the first key of its case names (e.g. `op`), else the workload."""
    candidates = ["method"]
    for name in rows["name"]:
        first = next((part.split(":", 1)[0] for part in str(name).split("/") if ":" in part), None)
        if first:
            candidates.append(first)
        break
    for key in candidates:
        if key in rows and key not in ("workload", "name") and (rows[key].astype(str).str.strip() != "").all():
            return key
    return "workload"


def generic_figures(family: str, rows: pd.DataFrame, ctx: Context, stem: str, what: str = "") -> FigureList:
    """Median time per operation per case, horizontal bars on a log scale."""
    from mapbench_cli.figures import charts  # late: matplotlib
    figures = ctx.figures
    keys = ["workload", "name", "threads"]
    summary = stats.summarize(rows, keys, TIME, CONFIDENCE)
    if summary.empty:
        return []
    colour_key = _colour_key(rows)
    colour_of: Dict[tuple, str] = {}
    for workload, name, threads, value in zip(rows["workload"], rows["name"], rows["threads"],
                                              rows[colour_key].astype(str)):
        colour_of.setdefault((workload, name, str(threads)), value)
    divisor, unit = schema.display_scale(TIME, summary["median"].tolist())
    prefix = family + "/"
    out: FigureList = []
    pages = max(1, math.ceil(len(summary) / GENERIC_CASES_PER_FIGURE))
    for page in range(pages):
        part = summary.iloc[page * GENERIC_CASES_PER_FIGURE:(page + 1) * GENERIC_CASES_PER_FIGURE]
        labels, values, colours, legend = [], [], [], {}
        for _, r in part.iterrows():
            name = r["name"][len(prefix):] if r["name"].startswith(prefix) else r["name"]
            threads = r["threads"]
            if isinstance(threads, float) and threads == threads and threads > 1 and "threads:" not in name:
                name += f" ×{threads:g} threads"
            labels.append(name)
            values.append(figures.Value(r["median"] / divisor, r["ci_low"] / divisor, r["ci_high"] / divisor))
            key = colour_of.get((r["workload"], r["name"], str(r["threads"])), "") or r["workload"]
            colours.append(figures.colour_for(key, family))
            legend[f"{colour_key}:{key}"] = figures.colour_for(key, family)
        suffix = f" ({page + 1}/{pages})" if pages > 1 else ""
        spec = charts.HorizontalBars(
            title=f"{family}: median time per operation{what}{suffix}",
            xlabel=schema.axis_label(TIME, unit), labels=labels, values=values, colours=colours,
            legend=legend if len(legend) > 1 else {},
            notes=[n for n in [stats.describe_intervals(part, CONFIDENCE), ctx.run_note] if n])
        out.append((stem + (f"-{page + 1}" if pages > 1 else ""), charts.horizontal_bars(spec)))
    return out


SPECIFIC: Dict[str, Callable[[pd.DataFrame, Context], Tuple[FigureList, pd.Index]]] = {
    "read_vs_mmap": read_vs_mmap_figures,
    "ceiling": ceiling_figures,
    "populate": populate_figures,
    "page_size": page_size_figures,
    "sharing": sharing_figures,
    "msync": msync_figures,
    "scaling": scaling_figures,
    "lifecycle_ipc": lifecycle_ipc_figures,
    "crossover": crossover_figures,
    "mapping_structures": mapping_structures_figures,
    "db_commit": db_commit_figures,
    "fault_signals": fault_signals_figures,
}

# Families that also answer their question in words (written beside the figures).
SUMMARIES: Dict[str, Callable[[pd.DataFrame, Context], Optional[FamilySummary]]] = {
    "crossover": crossover_summary,
}


def family_summary(family: str, rows: pd.DataFrame, ctx: Context) -> Optional[FamilySummary]:
    return SUMMARIES[family](rows, ctx) if family in SUMMARIES else None


def family_figures(family: str, rows: pd.DataFrame, ctx: Context) -> FigureList:
    """The figures of one family's plottable rows: its own figure(s), then the generic one for
    whatever they cannot place (or for a family without a figure of its own)."""
    made: FigureList = []
    covered = pd.Index([])
    if family in SPECIFIC:
        made, covered = SPECIFIC[family](rows, ctx)
    rest = rows.drop(index=covered)
    if not rest.empty:
        what = " (rows the family figure cannot place)" if family in SPECIFIC else " per case"
        stem = file_part(family) + ("-other" if family in SPECIFIC else "")
        made += generic_figures(family, rest, ctx, stem, what)
    return made


def _repetitions_text(rows: pd.DataFrame) -> str:
    counts = rows.groupby(["name", "threads"], dropna=False).size()
    n = count_range(counts)
    return f"{n} repetition{'' if n == '1' else 's'} per case"


def _run_note(results: Results) -> str:
    ids = [i for run in results.runs for i in run.run_ids]
    if not ids:
        return ""
    shown = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
    return f"run{'s' if len(ids) > 1 else ''}: {shown}"
