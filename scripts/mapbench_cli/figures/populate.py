"""populate: is populating a mapping up front cheaper than faulting it in, and where does
the time go?

- `populate` (one size) or `populate-size_mib_<n>` (each size): per method, the map
  (mmap + populate call), touch (first access of every page) and unmap phases stacked,
  anonymous and file-backed side by side, with the faults per page the touch phase took
  above each stack (the row's own validation: ~0 after populating).
- `populate-per_mib` (when several sizes ran): time per MiB against the size, log-log,
  one line per method: whether a method's cost is linear in the size.
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc
from mapbench_cli.text.words import file_part

FAMILY = "populate"
KEYS = ["method", "backing", "size_mib", "state"]
PHASES = ["map", "touch", "unmap"]
PHASE_COLUMNS = [f"{p}_ns_per_op" for p in PHASES]
TOTAL = "phases_ns_per_op"
PER_MIB = "ns_per_mib"
METHOD_ORDER = ("fault", "willneed", "populate_read", "populate_write", "map_populate", "map_locked", "mlock")
BACKING_ORDER = ("anon", "file")
STATE_ORDER = ("steady", "after_idle")
BACKING_WORDS = {"anon": "anonymous private, first write", "file": "file (page cache), shared, first read"}
PHASE_WORDS = {"map": "map: mmap + populate call", "touch": "touch: first access of every page",
               "unmap": "unmap: munmap"}
PHASE_COLOURS = {"map": "#4c72b0", "touch": "#dd8452", "unmap": "#8c8c8c"}


def _category(method: str, state: str) -> str:
    return method if state in ("steady", "") else f"{method}\n({state.replace('_', ' ')})"


def _describe(row) -> str:
    return f"{row.get('method', '?')} {row.get('backing', '?')} {fc.number(row.get('size_mib', float('nan')))} MiB"


def populate_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    ok = fc.rows_with(fr.ok, KEYS + PHASE_COLUMNS)
    flagged = fc.rows_with(fr.flagged, KEYS + PHASE_COLUMNS)
    skipped = fr.left_out
    notes_left = fc.left_out_notes(fr, _describe)
    if ok.empty and flagged.empty:
        if skipped.empty:
            return [], ok.index
        return [fc.nothing_measured(FAMILY, fr, notes_left, ctx)], fr.covered(ok.index)
    out = []
    sizes = fc.numeric_order(pd.concat([ok["size_mib"], flagged["size_mib"]]))
    for size in sizes:
        stem = FAMILY if len(sizes) == 1 else f"{FAMILY}-size_mib_{file_part(fc.number(size))}"
        out.append((stem, _phases_figure(size, ok, flagged, skipped, notes_left, ctx)))
    steady = ok[ok["state"].isin(["steady", ""])]
    if steady["size_mib"].nunique() > 1:
        out.append((f"{FAMILY}-per_mib", _per_mib_figure(ok, flagged, notes_left, ctx)))
    return out, fr.covered(ok.index.union(flagged.index))


def _phases_figure(size, ok, flagged, skipped, notes_left, ctx):
    draw = fc.draw_module()
    part = ok[ok["size_mib"] == size]
    bad = flagged[flagged["size_mib"] == size]
    gone = skipped[skipped["size_mib"] == size] if "size_mib" in skipped else skipped.iloc[0:0]
    styles = {p: draw.BarStyle(PHASE_WORDS[p], PHASE_COLOURS[p]) for p in PHASES}
    panels, totals_all = [], []
    backings = fc.ordered(list(part["backing"]) + list(bad["backing"]) + list(gone.get("backing", [])), BACKING_ORDER)
    for backing in backings:
        rows = pd.concat([part[part["backing"] == backing].assign(_flag=False),
                          bad[bad["backing"] == backing].assign(_flag=True)])
        rows = fc.with_total(rows, PHASE_COLUMNS, TOTAL)
        rows["_category"] = [_category(m, s) for m, s in zip(rows["method"], rows["state"])]
        keys = ["_category", "_flag"]
        medians = {c: fc.summarize(rows, keys, c) for c in PHASE_COLUMNS + [TOTAL, "touch_faults_per_page"]}
        totals = medians[TOTAL]
        totals_all.append(totals)
        divisor, unit = fc.time_scale(totals["median"].tolist())
        methods = [(m, s) for m in fc.ordered(rows["method"], METHOD_ORDER)
                   for s in fc.ordered(rows["state"], STATE_ORDER)
                   if ((rows["method"] == m) & (rows["state"] == s)).any()]
        categories = [_category(m, s) for m, s in methods]
        panel = draw.Stacked(title=f"{backing}: {BACKING_WORDS.get(backing, backing)}",
                             ylabel=f"time ({unit}){fc.LOWER}", xlabel="method",
                             categories=categories, layers=PHASES, styles=styles, heights={})
        for c in categories:
            flag = not (rows.loc[rows["_category"] == c, "_flag"] == False).any()  # noqa: E712
            total = totals[(totals["_category"] == c) & (totals["_flag"] == flag)]
            if total.empty:
                continue
            panel.totals[c] = fc.value(total.iloc[0], divisor)
            # The median total split in proportion to the phases' medians: the stack's top is
            # the median its error bar belongs to.
            parts = {}
            for phase, column in zip(PHASES, PHASE_COLUMNS):
                m = medians[column]
                cell = m[(m["_category"] == c) & (m["_flag"] == flag)]
                if not cell.empty:
                    parts[phase] = max(0.0, float(cell.iloc[0]["median"]))
            whole = sum(parts.values())
            for phase, share in parts.items():
                panel.heights[(c, phase)] = panel.totals[c].median * (share / whole if whole > 0 else 0.0)
            faults = medians["touch_faults_per_page"]
            for _, r in faults[(faults["_category"] == c) & (faults["_flag"] == flag)].iterrows():
                panel.notes[c] = fc.number(r["median"])
            panel.flagged[c] = flag
        here = gone[gone["backing"] == backing] if "backing" in gone else gone.iloc[0:0]
        for _, r in here.drop_duplicates("name").iterrows():
            c = _category(str(r.get("method", "?")), str(r.get("state", "")))
            if c not in panel.categories:
                panel.categories.append(c)
            panel.missing[c] = f"{r['status']}: {fc.short_reason(r.get('message', ''), 40)}"
        panels.append(panel)
    legend = [draw.Key(PHASE_WORDS[p], PHASE_COLOURS[p]) for p in PHASES]
    if not bad.empty:
        legend.append(draw.Key("not effective (hatched)", "#777777", "hatch"))
    notes = ["one operation: map, touch, unmap; stack height: the median operation, split in proportion to "
             "the median of each phase; error bar: the whole operation's "
             + (fc.intervals_note(*totals_all).replace("error bars: ", "") or "–"),
             "number above a stack: faults per base page in the touch phase (getrusage, median): ~0 means the "
             "call populated the mapping; a file mapping faults far less than once per page (fault-around, "
             "large folios)"]
    notes += fc.flagged_note(bad, "hatched stacks: the touch faults did not "
                             "match the method's promise, or the file was not fully cached")
    notes += notes_left + [fc.run_note(ctx)]
    state = "steady state, memory recycled at once" if (part["state"] == "steady").all() else \
        "steady state, and first touch after 3 s idle"
    chart = draw.Chart(title=f"{FAMILY}: map, first touch and unmap of {fc.mib_label(size)} by method — {state}",
                       panels=[panels], legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _per_mib_figure(ok, flagged, notes_left, ctx):
    draw = fc.draw_module()
    rows = pd.concat([ok.assign(_flag=False), flagged.assign(_flag=True)])
    rows = rows.assign(**{PER_MIB: rows[fc.TIME] / rows["size_mib"]})
    summary = fc.summarize(rows, ["backing", "method", "state", "size_mib", "_flag"], PER_MIB)
    divisor, unit = fc.time_scale(summary["median"].tolist())
    sizes = fc.numeric_order(summary["size_mib"])
    panels = []
    legend = {}
    for backing in fc.ordered(summary["backing"], BACKING_ORDER):
        part = summary[summary["backing"] == backing]
        series = []
        for method in fc.ordered(part["method"], METHOD_ORDER):
            for state in fc.ordered(part.loc[part["method"] == method, "state"], STATE_ORDER):
                cell = part[(part["method"] == method) & (part["state"] == state)]
                label = method if state in ("steady", "") else f"{method} ({state.replace('_', ' ')})"
                colour = fc.colour(method, FAMILY, METHOD_ORDER)
                points = [draw.Point(r["size_mib"], fc.value(r, divisor), flagged=bool(r["_flag"]))
                          for _, r in cell.iterrows()]
                marker = "o" if state in ("steady", "") else "s"
                series.append(draw.Series(label, colour, points, marker=marker))
                legend.setdefault(label, draw.Key(label, colour, "line", marker))
        panels.append(draw.Lines(title=f"{backing}: {BACKING_WORDS.get(backing, backing)}",
                                 xlabel="mapping size", ylabel=f"time per MiB ({unit}){fc.LOWER}", series=series,
                                 xticks=[(s, fc.mib_label(s)) for s in sizes]))
    keys = list(legend.values())
    if not flagged.empty:
        keys.append(draw.Key("not effective", "#555555", "hollow"))
    notes = ["whole map–touch–unmap operation (ns_per_op) divided by the size; flat line: cost linear in the size",
             fc.intervals_note(summary)] + notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: cost per MiB against mapping size, by method (log-log)",
                       panels=[panels], legend=keys, notes=fc.clean_notes(notes))
    return draw.draw(chart)
