"""fault_signals: what does a fault cost when user space handles it — a SIGSEGV fixed by
mprotect, a SIGBUS beyond the end of a file, a userfaultfd MISSING or write-protect fault
resolved by a handler thread — against a plain first-touch fault the kernel resolves alone?

- `fault_signals`: time per faulted page (one fault each, its handling included) by path,
  one panel per region size, log scale; above each bar the median of its rows' ratio to the
  paired plain first-touch fault measured in the same process (plain_fault_ns_per_page),
  or, for rows without one, to the plain_fault row of the same size. A path that could not
  run here (no userfaultfd, no write-protect feature) stands in its place with the reason.
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc

FAMILY = "fault_signals"
KEYS = ["path", "size_kib"]
FAULT = "fault_ns_per_page"
PAIRED = "plain_fault_ns_per_page"
RATIO = "_to_plain"
SAME_CPU = "same_cpu_faults_per_page"
BASELINE = "plain_fault"
PATH_ORDER = ("plain_fault", "sigsegv", "sigbus", "uffd_missing", "uffd_wp")
PATH_WORDS = {"plain_fault": "plain fault\n(first touch)", "sigsegv": "SIGSEGV\nhandled",
              "sigbus": "SIGBUS\nhandled", "uffd_missing": "uffd\nmissing", "uffd_wp": "uffd\nwrite-protect"}


def _path(path) -> str:
    return PATH_WORDS.get(str(path), str(path))


def _describe(row) -> str:
    return f"{row.get('path', '?')} {fc.number(row.get('size_kib', float('nan')))} KiB"


def fault_signals_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    notes_left = fc.left_out_notes(fr, _describe)
    ok = fc.rows_with(fc.numeric(fr.ok, ["size_kib"]), KEYS + [FAULT])
    bad = fc.rows_with(fc.numeric(fr.flagged, ["size_kib"]), KEYS + [FAULT])
    if ok.empty and bad.empty:
        if fr.left_out.empty:
            return [], ok.index
        return [fc.nothing_measured(FAMILY, fr, notes_left, ctx)], fr.covered(ok.index)
    gone = fc.numeric(fr.left_out, ["size_kib"]) if not fr.left_out.empty else fr.left_out
    return [(FAMILY, _figure(ok, bad, gone, notes_left, ctx))], fr.covered(ok.index)


def _figure(ok, bad, gone, notes_left, ctx):
    draw = fc.draw_module()
    rows = pd.concat([ok.assign(_flag=False), bad.assign(_flag=True)])
    keys = KEYS + ["_flag"]
    summary = fc.summarize(rows, keys, FAULT)
    paired = {}
    if PAIRED in rows:
        with_pair = fc.rows_with(rows, [PAIRED])
        with_pair = with_pair[with_pair[PAIRED] > 0]
        if not with_pair.empty:
            ratios = with_pair.assign(**{RATIO: with_pair[FAULT] / with_pair[PAIRED]})
            paired = fc.lookup(fc.summarize(ratios, keys, RATIO), keys)
    same_cpu = {}
    if SAME_CPU in rows and rows[SAME_CPU].notna().any():
        same_cpu = fc.lookup(fc.summarize(fc.rows_with(rows, [SAME_CPU]), keys, SAME_CPU), keys)
    divisor, unit = fc.time_scale(summary["median"].tolist())
    style = {"page": draw.BarStyle("", "#4c72b0")}
    panels = []
    for size in fc.numeric_order(summary["size_kib"]):
        cell = summary[summary["size_kib"] == size]
        base = cell[(cell["path"] == BASELINE) & ~cell["_flag"].astype(bool)]
        base_median = float(base["median"].iloc[0]) if not base.empty else None
        paths = fc.ordered(cell["path"], PATH_ORDER)
        here = gone[gone["size_kib"] == size] if not gone.empty and "size_kib" in gone and "path" in gone \
            else gone.iloc[0:0]
        for p in here.get("path", pd.Series(dtype=object)):
            if p not in paths:
                paths.append(p)
        paths = fc.ordered(paths, PATH_ORDER)
        bars = {}
        for _, r in sorted(cell.iterrows(), key=lambda ir: bool(ir[1]["_flag"])):
            key = ("page", _path(r["path"]))
            if key in bars:
                continue
            note = ""
            pair = paired.get(tuple(r[k] for k in keys))
            if r["path"] == BASELINE:
                pass
            elif pair is not None:
                note = f"×{fc.number(pair['median'])}"
            elif base_median:
                note = f"×{fc.number(r['median'] / base_median)}*"
            cpu = same_cpu.get(tuple(r[k] for k in keys))
            if cpu is not None:
                note += f"\n{cpu['median'] * 100:.0f}% same CPU"
            bars[key] = draw.Bar(fc.value(r, divisor), note=note, flagged=bool(r["_flag"]))
        for _, r in here.drop_duplicates("name").iterrows():
            bars.setdefault(("page", _path(r.get("path", "?"))),
                            draw.Bar(missing=f"{r['status']}: {fc.short_reason(r.get('message', ''), 30)}"))
        panels.append(draw.Bars(title=f"region of {fc.kib_label(size)}",
                                ylabel=f"time per faulted page ({unit}){fc.LOWER}", xlabel="path",
                                groups=[_path(p) for p in paths], variants=["page"], styles=style,
                                bars=bars, logy=True))
    legend = []
    if not bad.empty:
        legend.append(draw.Key("not effective (hatched)", "#777777", "hatch"))
    notes = ["one access per base page, each one fault: plain: a store to an empty anonymous page; SIGSEGV: a store "
             "to a read-only page, the handler mprotects it read-write and the store retries; SIGBUS: a load beyond "
             "the end of a one-page shared file mapping, the handler jumps back; uffd missing: a load from an empty "
             "registered page, a handler thread answers with UFFDIO_COPY; uffd write-protect: a store to a "
             "write-protected page, the thread lifts the protection",
             "×N above a bar: the median over its rows of time / the paired plain first-touch fault measured after "
             "every pass in the same process (the same memory for SIGSEGV and uffd write-protect); ×N*: no pair, "
             "over the plain fault row's median; every delivery's address, code or flags checked each pass",
             "uffd: % same CPU: median share of faults whose handler thread ran on the faulting thread's CPU "
             "(threads not pinned; a wake-up of another vCPU costs far more than a switch on one)",
             fc.intervals_note(summary)]
    notes += fc.flagged_note(bad, "hatched: the configuration the row claims was not observed")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: the cost of a fault handled in user space, per page (log scale)",
                       panels=[panels], legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)
