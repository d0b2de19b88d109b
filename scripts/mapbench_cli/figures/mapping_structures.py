"""mapping_structures: what do the kernel's mapping structures cost as a process's VMA count
grows, and how much page-table memory does a GiB mapped need by page size?

- `mapping_structures-vmas`: log-log against the filler VMAs: the time of mmap + munmap of
  one page, a first-touch fault, an mprotect split + merge and MAP_FIXED_NOREPLACE (free and
  occupied address); and the time per VMA listed of reading /proc/self/maps and smaps.
- `mapping_structures-page_tables`: page-table KiB per GiB mapped (VmPTE growth) for base
  pages, THP and hugetlb 2 MiB, one panel per region size; a case that did not run stands in
  its place with the reason.
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc

FAMILY = "mapping_structures"
VMAS = "vmas"
PER_VMA = "ns_per_vma"
TABLES = "page_table_kib_per_gib"
OP_WORDS = {("map_unmap", ""): "mmap + munmap of one page",
            ("fault", ""): "first-touch fault (one base page)",
            ("split_merge", ""): "mprotect split + merge back",
            ("fixed_noreplace", "free"): "MAP_FIXED_NOREPLACE, free address (+ munmap)",
            ("fixed_noreplace", "occupied"): "MAP_FIXED_NOREPLACE, occupied (EEXIST)"}
READ_WORDS = {"maps": "read /proc/self/maps", "smaps": "read /proc/self/smaps"}
MECHANISM_ORDER = ("nohugepage", "thp", "hugetlb")
MECHANISM_WORDS = {"nohugepage": "4 KiB\nbase pages", "thp": "2 MiB\nTHP", "hugetlb": "2 MiB\nhugetlb"}
KNOWN = tuple(OP_WORDS.values()) + tuple(READ_WORDS.values())
BASE_KIB_PER_GIB = 2048  # one 4 KiB PTE table per 2 MiB on x86-64


def _target(frame: pd.DataFrame) -> pd.Series:
    return frame["target"].fillna("").astype(str) if "target" in frame else pd.Series("", index=frame.index)


def _describe(row) -> str:
    parts = [str(row.get("workload", "?"))]
    for key in ("file", "target", "mechanism"):
        v = row.get(key)
        if isinstance(v, str) and v:
            parts.append(v)
    for key, unit in ((VMAS, " VMAs"), ("size_mib", " MiB")):
        v = row.get(key)
        if v is not None and str(v) not in ("", "nan"):
            parts.append(f"{float(v):g}{unit}")
    return " ".join(parts)


def _part(frame: pd.DataFrame, workloads, columns) -> pd.DataFrame:
    if frame.empty or "workload" not in frame:
        return frame.iloc[0:0]
    part = frame[frame["workload"].isin(workloads)]
    part = fc.numeric(part, [c for c in (VMAS, "size_mib", "page_kib") if c in part])
    return fc.rows_with(part, list(columns))


def mapping_structures_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    workload = fr.left_out["workload"] if "workload" in fr.left_out else pd.Series("", index=fr.left_out.index)
    tables = workload == "page_tables"
    notes_vmas = fc.left_out_notes(fr, _describe, fr.left_out[~tables])
    notes_tables = fc.left_out_notes(fr, _describe, fr.left_out[tables])
    ops = ["map_unmap", "fault", "split_merge", "fixed_noreplace"]
    parts = {}
    for name, frame, flag in (("ok", fr.ok, False), ("bad", fr.flagged, True)):
        parts[name] = {"ops": _part(frame, ops, [VMAS, fc.TIME]).assign(_flag=flag),
                       "read": _part(frame, ["maps_read"], [VMAS, "file", PER_VMA]).assign(_flag=flag),
                       "tables": _part(frame, ["page_tables"], ["mechanism", "size_mib", TABLES]).assign(_flag=flag)}
    both = {k: pd.concat([parts["ok"][k], parts["bad"][k]]) for k in parts["ok"]}
    gone_tables = _part(fr.left_out, ["page_tables"], ["mechanism", "size_mib"])
    out = []
    if not both["ops"].empty or not both["read"].empty:
        out.append((f"{FAMILY}-vmas", _vmas_figure(both, notes_vmas, ctx)))
    if not both["tables"].empty:
        out.append((f"{FAMILY}-page_tables", _tables_figure(both["tables"], gone_tables, notes_tables, ctx)))
    placed = pd.Index([])
    for k in parts["ok"]:
        placed = placed.union(parts["ok"][k].index)
    if not out:
        if fr.left_out.empty:
            return [], placed
        return [fc.nothing_measured(FAMILY, fr, notes_vmas + notes_tables, ctx)], fr.covered(placed)
    return out, fr.covered(placed)


def _series(draw, summary, words, divisor):
    series = []
    for i, (key, part) in enumerate(summary.groupby("_series", sort=False)):
        points = [draw.Point(r[VMAS], fc.value(r, divisor), flagged=bool(r["_flag"]))
                  for _, r in part.sort_values(VMAS).iterrows()]
        label = words(key)
        series.append(draw.Series(label, fc.colour(label, FAMILY, KNOWN), points,
                                  marker=draw.MARKERS[i % len(draw.MARKERS)]))
    return series


def _ticks(values):
    return [(v, fc.number(v) if v < 1000 else f"{v / 1024:g}k") for v in fc.numeric_order(values)]


def _vmas_figure(both, notes_left, ctx):
    draw = fc.draw_module()
    panels, summaries, legend = [], [], []
    ops = both["ops"]
    if not ops.empty:
        ops = ops.assign(_series=list(zip(ops["workload"], _target(ops))))
        summary = fc.summarize(ops, ["_series", VMAS, "_flag"], fc.TIME)
        summaries.append(summary)
        order = [k for k in OP_WORDS if k in set(summary["_series"])] + \
            [k for k in dict.fromkeys(summary["_series"]) if k not in OP_WORDS]
        summary = summary.assign(_rank=[order.index(k) for k in summary["_series"]]).sort_values(["_rank", VMAS])
        divisor, unit = fc.time_scale(summary["median"].tolist())
        series = _series(draw, summary, lambda k: OP_WORDS.get(k, " ".join(str(p) for p in k if p)), divisor)
        legend += [draw.Key(s.label, s.colour, "line", s.marker) for s in series]
        panels.append(draw.Lines(title="one operation, by the process's VMA count", xlabel="filler VMAs",
                                 ylabel=f"time per operation ({unit}){fc.LOWER}", series=series,
                                 xticks=_ticks(summary[VMAS])))
    read = both["read"]
    if not read.empty:
        read = read.assign(_series=list(read["file"].astype(str)))
        summary = fc.summarize(read, ["_series", VMAS, "_flag"], PER_VMA)
        summaries.append(summary)
        order = fc.ordered(summary["_series"], tuple(READ_WORDS))
        summary = summary.assign(_rank=[order.index(k) for k in summary["_series"]]).sort_values(["_rank", VMAS])
        divisor, unit = fc.time_scale(summary["median"].tolist())
        series = _series(draw, summary, lambda k: READ_WORDS.get(k, str(k)), divisor)
        legend += [draw.Key(s.label, s.colour, "line", s.marker) for s in series]
        panels.append(draw.Lines(title="reading the process's mappings", xlabel="filler VMAs",
                                 ylabel=f"time per VMA listed ({unit}){fc.LOWER}", series=series,
                                 xticks=_ticks(summary[VMAS])))
    flagged = pd.concat([both["ops"], both["read"]])
    flagged = flagged[flagged["_flag"].astype(bool)]
    if not flagged.empty:
        legend.append(draw.Key("not effective (hollow)", "#555555", "hollow"))
    notes = ["filler: one PROT_NONE reservation with every other page PROT_READ, so each page is a VMA of its "
             "own; the process's own VMAs (about 50) come on top (process_vmas)",
             "per VMA listed: one whole read of the file (open, read, close) over the process's VMA count; "
             "smaps also walks the page tables of every VMA, so big resident mappings weigh on it",
             fc.intervals_note(*summaries)]
    notes += fc.flagged_note(flagged, "hollow: the filler or the case's mapping did not take the claimed shape")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: cost by the process's VMA count (log-log)", panels=[panels],
                       legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _tables_figure(rows, gone, notes_left, ctx):
    draw = fc.draw_module()
    summary = fc.summarize(rows, ["mechanism", "size_mib", "_flag"], TABLES)
    sizes = fc.numeric_order(list(summary["size_mib"]) + list(gone.get("size_mib", [])))
    mechanisms = fc.ordered(list(summary["mechanism"]) + list(gone.get("mechanism", [])), MECHANISM_ORDER)
    groups = [MECHANISM_WORDS.get(m, m) for m in mechanisms]
    style = {"kib": draw.BarStyle("page-table KiB per GiB", "#4c72b0")}
    panels = []
    for size in sizes:
        bars = {}
        here = summary[summary["size_mib"] == size]
        for _, r in sorted(here.iterrows(), key=lambda ir: bool(ir[1]["_flag"])):
            key = ("kib", MECHANISM_WORDS.get(r["mechanism"], r["mechanism"]))
            bars.setdefault(key, draw.Bar(fc.value(r), note=f"{fc.number(r['median'])} KiB",
                                          flagged=bool(r["_flag"])))
        gone_here = gone[gone["size_mib"] == size] if not gone.empty else gone
        for _, r in gone_here.drop_duplicates("name").iterrows():
            reason = "no hugetlb pages" if "hugetlb pages" in str(r.get("message", "")) else \
                fc.short_reason(r.get("message", ""), 30)
            bars.setdefault(("kib", MECHANISM_WORDS.get(r["mechanism"], r["mechanism"])),
                            draw.Bar(missing=f"{r.get('status', 'skipped')}: {reason}"))
        panels.append(draw.Bars(title=f"{fc.mib_label(size)} region, every base page written",
                                ylabel=f"page-table KiB per GiB mapped{fc.LOWER}", xlabel="page size",
                                groups=groups, variants=["kib"], styles=style, bars=bars))
    flagged = rows[rows["_flag"].astype(bool)]
    notes = [f"VmPTE (/proc/self/status) growth between the map and the end of the touch, per GiB; base pages "
             f"need one 4 KiB PTE table per 2 MiB ({BASE_KIB_PER_GIB} KiB per GiB on x86-64) plus upper levels",
             "THP on x86-64 keeps a PTE table deposited per huge page (for a later split), counted in VmPTE: "
             "it saves TLB reach, not page-table memory; hugetlb needs PMD entries only",
             fc.intervals_note(summary)]
    notes += fc.flagged_note(flagged, "hatched: not backed by the claimed page size")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: page-table memory per GiB mapped, by page size", panels=[panels],
                       notes=fc.clean_notes(notes))
    return draw.draw(chart)
