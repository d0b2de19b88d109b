"""page_size: what does the page size behind a mapping buy?

- `page_size-fault`: fault cost per MiB (the first-write phase) by page size and
  mechanism, log scale, steady state beside first touch after idle; above each bar how
  many times cheaper than base pages it is and the faults per MiB it took.
- `page_size-access`: sequential read bandwidth, and the latency of a dependent-load walk
  with one node per base page (TLB reach), with dTLB misses per access where counted.

Every size/mechanism the suite asked for has a place on the x axis: a row that could not
run (no hugetlb pages reserved, an mTHP size disabled) says so in that place; a row whose
region was not backed by the claimed page size (status not_effective) is hatched, with
the fraction that was.
"""

from __future__ import annotations

import math
from typing import Dict, List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc
from mapbench_cli.data import schema
from mapbench_cli.text.words import clean

FAMILY = "page_size"
CONFIG = ["page_kib", "mechanism", "api"]
FAULT_KEYS = CONFIG + ["size_mib", "state"]
READ_KEYS = CONFIG + ["size_mib"]
FAULT_METRIC = "fault_ns_per_mib"
CHASE_METRIC = "ns_per_access"
DTLB = "dtlb_load_misses_per_page"   # per access in the chase: one node per page
MECHANISM_ORDER = ("nohugepage", "mthp", "thp", "shmem_thp", "hugetlb")
MECHANISM_WORDS = {"nohugepage": "base pages", "thp": "THP", "mthp": "mTHP", "shmem_thp": "shmem THP",
                   "hugetlb": "hugetlb"}
STATE_ORDER = ("steady", "after_idle")
STATE_WORDS = {"steady": "steady state", "after_idle": "first touch after 3 s idle"}
STATE_COLOURS = {"steady": "#4c72b0", "after_idle": "#c44e52"}
BASE_PAGE_KIB = 4


def config_label(page_kib, mechanism, api) -> str:
    """'2 MiB\\nTHP', '2 MiB hugetlb\\nmemfd', '4 KiB\\nbase pages'."""
    size = fc.kib_label(float(page_kib)) if _num(page_kib) else clean(page_kib)
    words = MECHANISM_WORDS.get(str(mechanism), clean(mechanism))
    if str(mechanism) == "hugetlb":
        return f"{size} {words}\n{clean(api)}"
    return f"{size}\n{words}"


def _num(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _config_order(frame: pd.DataFrame) -> List[tuple]:
    configs = {(float(p), str(m), str(a)) for p, m, a in zip(frame["page_kib"], frame["mechanism"], frame["api"])
               if _num(p)}
    rank = {m: i for i, m in enumerate(MECHANISM_ORDER)}
    return sorted(configs, key=lambda c: (c[0], rank.get(c[1], 99), c[1], c[2] != "mmap", c[2]))


def gap_text(row) -> str:
    """What stands in the place of a row that did not run: 'skipped: no hugetlb pages'."""
    message = clean(row.get("message", "") or row.get("validation", ""))
    if "hugetlb pages" in message:
        reason = "no hugetlb pages"
    elif "shmem THP not enabled" in message:
        reason = "shmem THP off"
    elif "THP not enabled" in message:
        reason = "THP size off"
    else:
        reason = fc.short_reason(message, 40).split(" (")[0]
    return f"{clean(row.get('status', 'skipped'))}: {reason}"


def _describe(row) -> str:
    if not _num(row.get("page_kib")):
        return clean(row.get("name", ""))
    return config_label(row["page_kib"], row.get("mechanism"), row.get("api")).replace("\n", " ")


def _prepare(frame: pd.DataFrame, workload: str, keys: List[str]) -> pd.DataFrame:
    part = frame[frame["workload"] == workload] if "workload" in frame else frame.iloc[0:0]
    part = fc.rows_with(part, keys)
    return part.assign(page_kib=part["page_kib"].astype(float), size_mib=part["size_mib"].astype(float)) \
        if not part.empty else part


def page_size_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    workload = fr.left_out["workload"] if "workload" in fr.left_out else pd.Series("", index=fr.left_out.index)
    reading = workload.isin(["seq_read", "chase"])
    # Each figure counts the rows that did not run among its own; the fault figure also any
    # row of a workload this module does not know.
    notes_fault = fc.left_out_notes(fr, _describe, fr.left_out[~reading])
    notes_read = fc.left_out_notes(fr, lambda r: f"{r.get('workload', '')} {_describe(r)}", fr.left_out[reading])
    notes_left = fc.left_out_notes(fr, _describe)
    out = []
    placed = pd.Index([])
    fault_ok = fc.rows_with(_prepare(fr.ok, "fault", FAULT_KEYS), [FAULT_METRIC])
    fault_bad = fc.rows_with(_prepare(fr.flagged, "fault", FAULT_KEYS), [FAULT_METRIC])
    if not fault_ok.empty or not fault_bad.empty:
        out.append((f"{FAMILY}-fault", _fault_figure(fault_ok, fault_bad, _prepare(fr.left_out, "fault", FAULT_KEYS),
                                                     fr, notes_fault, ctx)))
        placed = placed.union(fault_ok.index)
    reads = {w: (_prepare(fr.ok, w, READ_KEYS), _prepare(fr.flagged, w, READ_KEYS), _prepare(fr.left_out, w, READ_KEYS))
             for w in ("seq_read", "chase")}
    reads["seq_read"] = tuple(fc.with_throughput(f) for f in reads["seq_read"])
    if any(not reads[w][0].empty or not reads[w][1].empty for w in reads):
        out.append((f"{FAMILY}-access", _access_figure(reads, fr, notes_read, ctx)))
        placed = placed.union(fc.rows_with(reads["seq_read"][0], [fc.THROUGHPUT]).index)
        placed = placed.union(fc.rows_with(reads["chase"][0], [CHASE_METRIC]).index)
    if not out and not fr.left_out.empty and fr.ok.empty:
        return [fc.nothing_measured(FAMILY, fr, notes_left, ctx)], fr.covered(placed)
    return out, fr.covered(placed) if out else placed


def _bars_for(summary: pd.DataFrame, bad: pd.DataFrame, gone: pd.DataFrame, variant_of, divisor: float,
              note_of, draw) -> Dict[Tuple[str, str], object]:
    """(variant, config label) -> Bar: measured, not effective (hatched, backing shown), or a gap text."""
    bars = {}
    ordered_rows = sorted(summary.iterrows(), key=lambda ir: bool(ir[1].get("_flag", False)))  # ok rows first
    for _, r in ordered_rows:
        key = (variant_of(r), config_label(r["page_kib"], r["mechanism"], r["api"]))
        if key in bars:
            continue
        flagged = bool(r.get("_flag", False))
        note = note_of(r)
        if flagged:
            backing = bad.loc[_same_case(bad, r), "backing_fraction"] if "backing_fraction" in bad \
                else pd.Series([], dtype=float)
            note = (f"{fc.number(100 * backing.min(), 2)}% backed" if backing.notna().any() else "not effective") + \
                (f"\n{note}" if note else "")
        bars[key] = draw.Bar(fc.value(r, divisor), note=note, flagged=flagged)
    for _, r in gone.drop_duplicates("name").iterrows():
        key = (variant_of(r), config_label(r["page_kib"], r["mechanism"], r["api"]))
        bars.setdefault(key, draw.Bar(missing=gap_text(r)))
    return bars


def _same_case(frame: pd.DataFrame, r) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for k in ("page_kib", "mechanism", "api", "size_mib", "state"):
        if k in frame and k in r:
            mask &= frame[k] == r[k]
    return mask


def _fault_figure(ok, bad, gone, fr, notes_left, ctx):
    draw = fc.draw_module()
    rows = pd.concat([ok.assign(_flag=False), bad.assign(_flag=True)])
    keys = FAULT_KEYS + ["_flag"]
    summary = fc.summarize(rows, keys, FAULT_METRIC)
    faults = fc.lookup(fc.summarize(rows, keys, "faults_per_mib"), keys) if "faults_per_mib" in rows else {}
    base = summary[(summary["page_kib"] == BASE_PAGE_KIB) & ~summary["_flag"].astype(bool)]
    base_by = {(r["size_mib"], r["state"]): r["median"] for _, r in base.iterrows()}
    divisor, unit = fc.time_scale(summary["median"].tolist())
    states = fc.ordered(list(summary["state"]) + list(gone.get("state", [])), STATE_ORDER)
    styles = {s: draw.BarStyle(STATE_WORDS.get(s, s), STATE_COLOURS.get(s, fc.colour(s, FAMILY))) for s in states}
    panels = []
    for size in fc.numeric_order(list(summary["size_mib"]) + list(gone.get("size_mib", []))):
        here = summary[summary["size_mib"] == size]
        gone_here = gone[gone["size_mib"] == size] if not gone.empty else gone
        configs = _config_order(pd.concat([here[CONFIG], gone_here[CONFIG]]) if not gone_here.empty else here[CONFIG])

        def note_of(r, size=size):
            parts = []
            ref = base_by.get((size, r["state"])) or base_by.get((size, "steady"))
            if ref and r["page_kib"] != BASE_PAGE_KIB and r["median"] > 0:
                ratio = ref / r["median"]
                parts.append(f"÷{fc.number(ratio)}" if ratio >= 1 else f"×{fc.number(1 / ratio)}")
            f = faults.get(tuple(r[k] for k in keys))
            if f is not None:
                parts.append(f"{fc.number(f['median'])} f/MiB")
            return "\n".join(parts)

        bars = _bars_for(here, bad, gone_here, lambda r: str(r["state"]), divisor, note_of, draw)
        if all(b.value is None for b in bars.values()):
            continue  # nothing ran at this size: the notes say why, no empty panel
        panels.append(draw.Bars(title=f"{fc.mib_label(size)} region", ylabel=f"fault time per MiB ({unit}){fc.LOWER}",
                                xlabel="page size and mechanism", groups=[config_label(*c) for c in configs],
                                variants=states, styles=styles, bars=bars, logy=True))
    legend = [draw.Key(styles[s].label, styles[s].colour) for s in states]
    if not bad.empty:
        legend.append(draw.Key("not backed as claimed (hatched)", "#777777", "hatch"))
    notes = ["fault time: the first write to every base page of a fresh mapping, per MiB (map and unmap "
             "excluded); above a bar: ÷N = N times cheaper than base pages, and faults per MiB (getrusage: "
             "256 for 4 KiB pages, 0.5 for 2 MiB)",
             "solid bars: ≥ 99% of the region backed by the claimed page size (pagemap folio sizes, smaps), "
             "checked every cycle", fc.intervals_note(summary)]
    notes += fc.flagged_note(bad, "hatched: backed by the claimed page size "
                             "for less than 99% of the region")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: fault cost per MiB by page size (log scale)", panels=[panels],
                       legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _access_figure(reads, fr, notes_left, ctx):
    draw = fc.draw_module()
    tp_div, tp_unit = schema.display_scale(fc.THROUGHPUT)
    specs = {"seq_read": (fc.THROUGHPUT, "sequential read", "#55a868"),
             "chase": (CHASE_METRIC, "dependent loads, one per base page", "#8172b2")}
    sizes = fc.numeric_order([s for w in reads for f in reads[w] if not f.empty for s in f["size_mib"]])
    summaries, dtlb_seen = [], False
    grid = []
    for workload, (metric, words, colour) in specs.items():
        row = []
        for size in sizes:
            ok, bad, gone = (f[f["size_mib"] == size] if not f.empty else f for f in reads[workload])
            ok, bad = fc.rows_with(ok, [metric]), fc.rows_with(bad, [metric])
            if ok.empty and bad.empty:
                row.append(None)  # nothing ran: the notes say why, no empty panel
                continue
            rows = pd.concat([ok.assign(_flag=False), bad.assign(_flag=True)])
            keys = READ_KEYS + ["_flag"]
            summary = fc.summarize(rows, keys, metric)
            summaries.append(summary)
            dtlb = {}
            if workload == "chase" and DTLB in rows and rows[DTLB].notna().any():
                dtlb = fc.lookup(fc.summarize(rows, keys, DTLB), keys)
                dtlb_seen = True
            if metric == fc.THROUGHPUT:
                divisor, ylabel = tp_div, f"bandwidth ({tp_unit}){fc.HIGHER}"
            else:
                divisor, unit = fc.time_scale(summary["median"].tolist())
                ylabel = f"time per access ({unit}){fc.LOWER}"

            def note_of(r, dtlb=dtlb, keys=keys):
                d = dtlb.get(tuple(r[k] for k in keys))
                return f"{fc.number(d['median'])} dTLB miss" if d is not None else ""

            configs = _config_order(pd.concat([summary[CONFIG], gone[CONFIG]]) if not gone.empty else summary[CONFIG])
            bars = _bars_for(summary, bad, gone, lambda r, w=workload: w, divisor, note_of, draw)
            row.append(draw.Bars(title=f"{words} · {fc.mib_label(size)} region", ylabel=ylabel,
                                 xlabel="page size and mechanism", groups=[config_label(*c) for c in configs],
                                 variants=[workload], styles={workload: draw.BarStyle(workload, colour)}, bars=bars))
        if any(p is not None for p in row):
            grid.append(row)
    notes = ["sequential read: one pass summing every word of a faulted region; dependent loads: one lap of a "
             "random ring with one node per base page, so with base pages almost every load misses the TLB",
             "above a chase bar: dTLB load misses per access" if dtlb_seen else
             "dTLB misses: not counted in this run (no hardware counters: see the environment's perf.counters)",
             fc.intervals_note(*summaries)] + notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: sequential bandwidth and TLB-bound latency by page size",
                       panels=grid, notes=fc.clean_notes(notes))
    return draw.draw(chart)
