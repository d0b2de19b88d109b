"""msync: what does making k dirty pages of a file durable cost, by each route, and what
does MS_ASYNC really do?

- `msync` (one file configuration) or `msync-<file_pages>_<layout>_<folios>` (each):
  log-log against the dirty pages k, one line per method with the no-sync baseline
  dashed: the sync call's latency, the same per dirty page, and the share of the dirtied
  pages the call left dirty (0: written; 1: the call wrote nothing — MS_ASYNC on current
  Linux, like no call at all).
- `msync-folios`: one dirty page with the file cached in 4 KiB against large folios:
  the call's latency and, above each bar, the KiB the device wrote for it (a large folio
  is written whole).
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc
from mapbench_cli.text.words import file_part

FAMILY = "msync"
CONFIG = ["file_pages", "layout", "folios"]
KEYS = ["method"] + CONFIG + ["dirty_pages"]
PER_PAGE = "sync_ns_per_dirty_page"
LEFT_DIRTY = "dirty_share_after_sync"
DEVICE_KIB = "device_kib_written_per_op"
BASELINE = "none"
METHOD_ORDER = ("ms_sync", "ms_sync_invalidate", "ms_async", "fsync", "fdatasync", "sync_file_range",
                "pwrite_fsync", "none")
METHOD_WORDS = {"ms_sync": "msync(MS_SYNC)", "ms_async": "msync(MS_ASYNC)",
                "ms_sync_invalidate": "msync(MS_SYNC|MS_INVALIDATE)", "fsync": "fsync", "fdatasync": "fdatasync",
                "sync_file_range": "sync_file_range (not durable)", "pwrite_fsync": "pwrite + fsync",
                "none": "none (no call: the floor)"}
FOLIO_ORDER = ("small", "large")
FOLIO_WORDS = {"small": "4 KiB folios", "large": "large folios"}
FOLIO_COLOURS = {"small": "#4c72b0", "large": "#c44e52"}
LAYOUT_ORDER = ("contiguous", "spread")


def _method(m) -> str:
    return METHOD_WORDS.get(str(m), str(m))


def _config_words(file_pages, layout, folios) -> str:
    return (f"{fc.number(file_pages)}-page file ({fc.kib_label(4 * float(file_pages))}), {layout} dirty pages, "
            f"{FOLIO_WORDS.get(str(folios), str(folios))}")


def _describe(row) -> str:
    return f"{row.get('method', '?')} k={fc.number(row.get('dirty_pages', float('nan')))} {row.get('folios', '')}"


def msync_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    notes_left = fc.left_out_notes(fr, _describe)
    ok = fc.rows_with(fr.ok, KEYS)
    bad = fc.rows_with(fr.flagged, KEYS)
    if ok.empty and bad.empty:
        if fr.left_out.empty:
            return [], ok.index
        return [fc.nothing_measured(FAMILY, fr, notes_left, ctx)], fr.covered(ok.index)
    rows = pd.concat([ok.assign(_flag=False), bad.assign(_flag=True)])
    rows = _with_left_dirty(rows)
    configs = rows[CONFIG].drop_duplicates()
    curves = [tuple(c) for c in configs.itertuples(index=False)
              if rows.loc[(rows[CONFIG] == pd.Series(c, index=CONFIG)).all(axis=1), "dirty_pages"].nunique() > 1]
    curves.sort(key=lambda c: (c[0], LAYOUT_ORDER.index(c[1]) if c[1] in LAYOUT_ORDER else 9, str(c[1]),
                               FOLIO_ORDER.index(c[2]) if c[2] in FOLIO_ORDER else 9, str(c[2])))
    out = []
    placed = pd.Index([])
    for config in curves:
        part = rows[(rows[CONFIG] == pd.Series(config, index=CONFIG)).all(axis=1)]
        stem = FAMILY if len(curves) == 1 else \
            f"{FAMILY}-{file_part(fc.number(config[0]))}_{file_part(config[1])}_{file_part(config[2])}"
        out.append((stem, _curves_figure(config, part, notes_left, ctx)))
        placed = placed.union(part.index)
    folios = _folio_rows(rows)
    if not folios.empty:
        out.append((f"{FAMILY}-folios", _folios_figure(folios, notes_left, ctx)))
        placed = placed.union(folios.index)
    return out, fr.covered(placed.intersection(ok.index))


def _with_left_dirty(rows: pd.DataFrame) -> pd.DataFrame:
    before, after = "file_dirty_pages_before_sync", "file_dirty_pages_after_sync"
    rows = fc.numeric(rows, [before, after, "pages_dirtied_by_one_store"])
    if before in rows and after in rows:
        share = (rows[after] / rows[before]).where(rows[before] > 0)
        return rows.assign(**{LEFT_DIRTY: share.clip(lower=0, upper=1)})
    return rows.assign(**{LEFT_DIRTY: float("nan")})


def _curves_figure(config, part, notes_left, ctx):
    draw = fc.draw_module()
    keys = ["method", "dirty_pages", "_flag"]
    summaries = {m: fc.summarize(part, keys, m) for m in (fc.TIME, PER_PAGE, LEFT_DIRTY)}
    time_div, time_unit = fc.time_scale(summaries[fc.TIME]["median"].tolist())
    page_div, page_unit = fc.time_scale(summaries[PER_PAGE]["median"].tolist())
    ks = fc.numeric_order(part["dirty_pages"])
    ticks = [(k, fc.number(k)) for k in ks]
    methods = fc.ordered(part["method"], METHOD_ORDER)
    legend = []
    panels = []
    specs = [(fc.TIME, f"sync call latency ({time_unit}){fc.LOWER}", time_div, True, "latency of one call"),
             (PER_PAGE, f"latency per dirty page ({page_unit}){fc.LOWER}", page_div, True, "per dirty page"),
             (LEFT_DIRTY, "share of the k pages still dirty", 1.0, False, "pages the call left dirty")]
    marker = {m: draw.MARKERS[i % len(draw.MARKERS)] for i, m in enumerate(methods)}
    for metric, ylabel, divisor, logy, title in specs:
        summary = summaries[metric]
        series = []
        # The baseline first: the methods drawn over it stay visible where they coincide.
        for method in sorted(methods, key=lambda m: m != BASELINE):
            cell = summary[summary["method"] == method]
            if cell.empty:
                continue
            baseline = method == BASELINE
            colour = "#222222" if baseline else fc.colour(method, FAMILY, METHOD_ORDER)
            points = [draw.Point(r["dirty_pages"], fc.value(r, divisor), flagged=bool(r["_flag"]))
                      for _, r in cell.iterrows()]
            series.append(draw.Series(_method(method), colour, points, dashed=baseline, marker=marker[method]))
        panels.append(draw.Lines(title=title, xlabel="dirty pages k (of the file's pages)", ylabel=ylabel,
                                 series=series, logy=logy, xticks=ticks, ylim=None if logy else (-0.05, 1.08),
                                 message="" if not summary.empty else "not recorded"))
    for method in methods:
        baseline = method == BASELINE
        legend.append(draw.Key(_method(method), "#222222" if baseline else fc.colour(method, FAMILY, METHOD_ORDER),
                               "dashed" if baseline else "line", marker[method]))
    if part["_flag"].any():
        legend.append(draw.Key("not effective (hollow)", "#555555", "hollow"))
    notes = ["latency: the sync call alone (manual time), after k pages were dirtied through the mapping "
             "(pwrite + fsync: by pwrite); msync over the whole mapping, sync_file_range over the dirty span",
             "still dirty: the file's dirty pages after the call over those before it, read from the page cache "
             "(cachestat, or kpageflags/smaps where it is missing); the dirtied pages are then read from the "
             "device with O_DIRECT: right after the call for durable and sync_file_range (written, not "
             "durable) rows, after the check's own fdatasync for MS_ASYNC and none (no promise)",
             _overlap_note(summaries[fc.TIME]), _left_dirty_note(summaries[LEFT_DIRTY]),
             fc.intervals_note(summaries[fc.TIME])]
    notes += fc.flagged_note(part[part["_flag"]], "hollow: the pages one store dirtied do not match the folio size "
                             "the row claims, or a durable call flushed no device cache")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: making k dirty pages durable, by method (log-log) — "
                             f"{_config_words(*config)}",
                       panels=[panels], legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _overlap_note(summary: pd.DataFrame, within: float = 0.2) -> str:
    """Say which methods' latency lines lie on top of each other (within 20% at every k)."""
    curves = {m: dict(zip(part["dirty_pages"], part["median"]))
              for m, part in summary[~summary["_flag"].astype(bool)].groupby("method", sort=False)}
    groups: List[List[str]] = []
    for m in fc.ordered(curves, METHOD_ORDER):
        for g in groups:
            ref = curves[g[0]]
            if set(ref) == set(curves[m]) and all(abs(curves[m][k] / ref[k] - 1) <= within for k in ref if ref[k] > 0):
                g.append(m)
                break
        else:
            groups.append([m])
    close = [g for g in groups if len(g) > 1]
    if not close:
        return ""
    return "lines on top of each other (latency within 20% at every k): " + "; ".join(
        ", ".join(_method(m) for m in g) for g in close)


def _left_dirty_note(summary: pd.DataFrame) -> str:
    """Which methods left every dirtied page dirty, and which left none, at every k."""
    if summary.empty:
        return ""
    by = summary[~summary["_flag"].astype(bool)].groupby("method", sort=False)["median"]
    every = [m for m, v in by if (v >= 0.99).all()]
    none = [m for m, v in by if (v <= 0.01).all()]
    parts = []
    if every:
        parts.append("left every dirtied page dirty (wrote nothing): "
                     + ", ".join(_method(m) for m in fc.ordered(every, METHOD_ORDER)))
    if none:
        parts.append("left none: " + ", ".join(_method(m) for m in fc.ordered(none, METHOD_ORDER)))
    return "; ".join(parts)


def _folio_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows at the smallest k where a (file_pages, contiguous-first layout) ran with both folio sizes."""
    both = rows.groupby(["file_pages", "layout", "dirty_pages"])["folios"].nunique()
    both = both[both > 1]
    if both.empty:
        return rows.iloc[0:0]
    picks = []
    for (file_pages, layout), part in both.groupby(level=[0, 1]):
        k = min(part.index.get_level_values(2))
        picks.append((file_pages, layout, k))
    mask = pd.Series(False, index=rows.index)
    for file_pages, layout, k in picks:
        mask |= (rows["file_pages"] == file_pages) & (rows["layout"] == layout) & (rows["dirty_pages"] == k)
    return rows[mask]


def _folios_figure(rows, notes_left, ctx):
    draw = fc.draw_module()
    keys = ["file_pages", "layout", "dirty_pages", "folios", "method", "_flag"]
    summary = fc.summarize(rows, keys, fc.TIME)
    device = fc.lookup(fc.summarize(rows, keys, DEVICE_KIB), keys) if DEVICE_KIB in rows else {}
    divisor, unit = fc.time_scale(summary["median"].tolist())
    folios = fc.ordered(summary["folios"], FOLIO_ORDER)
    styles = {f: draw.BarStyle(FOLIO_WORDS.get(f, f), FOLIO_COLOURS.get(f, fc.colour(f, FAMILY))) for f in folios}
    panels = []
    for (file_pages, layout, k), cell in summary.groupby(["file_pages", "layout", "dirty_pages"], sort=True):
        methods = [m for m in fc.ordered(cell["method"], METHOD_ORDER)
                   if cell.loc[cell["method"] == m, "folios"].nunique() > 1]
        bars = {}
        for _, r in sorted(cell.iterrows(), key=lambda ir: bool(ir[1]["_flag"])):
            if r["method"] not in methods:
                continue
            d = device.get(tuple(r[k2] for k2 in keys))
            note = f"{fc.number(d['median'])} KiB" if d is not None else ""
            bars.setdefault((r["folios"], _method(r["method"]).replace(" (no call: the floor)", "")),
                            draw.Bar(fc.value(r, divisor), note=note, flagged=bool(r["_flag"])))
        panels.append(draw.Bars(title=f"k={fc.number(k)} of {fc.number(file_pages)} pages, {layout}",
                                ylabel=f"sync call latency ({unit}){fc.LOWER}", xlabel="method",
                                groups=[_method(m).replace(" (no call: the floor)", "") for m in methods],
                                variants=folios, styles=styles, bars=bars, logy=True))
    notes = ["the same store to one page, the file cached in 4 KiB folios or in large ones; number above a bar: "
             "KiB the block device wrote during the call (diskstats): a dirty large folio is written whole",
             fc.intervals_note(summary)] + notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: one dirty page in 4 KiB vs large page-cache folios (log scale)",
                       panels=[panels], legend=[draw.Key(styles[f].label, styles[f].colour) for f in folios],
                       notes=fc.clean_notes(notes))
    return draw.draw(chart)
