"""sharing: what does MAP_PRIVATE cost against MAP_SHARED — to read, to write first, and
to write after fork (copy-on-write), on the parent's and the child's side?

- `sharing`: the access each row is about, per base page (the read, the first write, the
  parent's or the child's writes after fork), private beside shared, file and anonymous
  memory apart, log scale; above each bar the faults per page it took (a private write
  after fork copies: one fault per page; a shared one does not).
- `sharing-fork`: the fork call itself: fork copies the page tables of private mappings
  and skips shared ones.
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc

FAMILY = "sharing"
KEYS = ["op", "backing", "mapping", "size_mib"]
ACCESS = "access_ns_per_page"
FAULTS = "access_minor_faults_per_page"
FORK = "fork_ns_per_op"
PMD = "pmd_mapped_fraction"
FORK_TITLES = {"fork_write_parent": "fork before the parent's writes",
               "fork_write_child": "fork before the child's writes"}
OP_ORDER = ("read", "first_write", "fork_write_parent", "fork_write_child")
OP_WORDS = {"read": "read", "first_write": "first write", "fork_write_parent": "fork, then\nparent writes",
            "fork_write_child": "fork, then\nchild writes"}
BACKING_ORDER = ("file", "anon")
BACKING_WORDS = {"file": "file-backed", "anon": "anonymous"}
MAPPING_ORDER = ("private", "shared")
MAPPING_COLOURS = {"private": "#dd8452", "shared": "#4c72b0"}


def _op(op) -> str:
    return OP_WORDS.get(str(op), str(op))


def _describe(row) -> str:
    return f"{row.get('op', '?')} {row.get('backing', '?')} {row.get('mapping', '?')} " \
           f"{fc.number(row.get('size_mib', float('nan')))} MiB"


def sharing_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    notes_left = fc.left_out_notes(fr, _describe)
    ok = fc.rows_with(fr.ok, KEYS + [ACCESS])
    bad = fc.rows_with(fr.flagged, KEYS + [ACCESS])
    if ok.empty and bad.empty:
        if fr.left_out.empty:
            return [], ok.index
        return [fc.nothing_measured(FAMILY, fr, notes_left, ctx)], fr.covered(ok.index)
    out = [(FAMILY, _access_figure(ok, bad, fr.left_out, notes_left, ctx))]
    forks = fc.rows_with(pd.concat([ok.assign(_flag=False), bad.assign(_flag=True)]), [FORK])
    if not forks.empty:
        out.append((f"{FAMILY}-fork", _fork_figure(forks, notes_left, ctx)))
    return out, fr.covered(ok.index)


def _styles(draw, mappings):
    return {m: draw.BarStyle(f"MAP_{str(m).upper()}", MAPPING_COLOURS.get(m, fc.colour(m, FAMILY))) for m in mappings}


def _access_figure(ok, bad, gone, notes_left, ctx):
    draw = fc.draw_module()
    rows = pd.concat([ok.assign(_flag=False), bad.assign(_flag=True)])
    keys = KEYS + ["_flag"]
    summary = fc.summarize(rows, keys, ACCESS)
    faults = fc.lookup(fc.summarize(rows, keys, FAULTS), keys) if FAULTS in rows else {}
    pmd = fc.lookup(fc.summarize(rows, keys, PMD), keys) if PMD in rows else {}
    divisor, unit = fc.time_scale(summary["median"].tolist())
    mappings = fc.ordered(summary["mapping"], MAPPING_ORDER)
    styles = _styles(draw, mappings)
    grid = []
    for size in fc.numeric_order(summary["size_mib"]):
        row = []
        for backing in fc.ordered(summary["backing"], BACKING_ORDER):
            cell = summary[(summary["size_mib"] == size) & (summary["backing"] == backing)]
            ops = fc.ordered(cell["op"], OP_ORDER)
            bars = {}
            for _, r in sorted(cell.iterrows(), key=lambda ir: bool(ir[1]["_flag"])):
                key = (r["mapping"], _op(r["op"]))
                if key in bars:
                    continue
                f = faults.get(tuple(r[k] for k in keys))
                note = fc.number(f["median"]) if f is not None else ""
                p = pmd.get(tuple(r[k] for k in keys))
                if p is not None and p["median"] >= 0.5:
                    note += "\nPMD"
                bars[key] = draw.Bar(fc.value(r, divisor), note=note, flagged=bool(r["_flag"]))
            here = gone[(gone.get("size_mib") == size) & (gone.get("backing") == backing)] \
                if not gone.empty and "size_mib" in gone and "backing" in gone else gone.iloc[0:0]
            for _, r in here.drop_duplicates("name").iterrows():
                label = _op(r.get("op", "?"))
                if label not in [_op(o) for o in ops]:
                    ops.append(r.get("op", "?"))
                bars.setdefault((r.get("mapping", "?"), label),
                                draw.Bar(missing=f"{r['status']}: {fc.short_reason(r.get('message', ''), 30)}"))
            row.append(draw.Bars(title=f"{BACKING_WORDS.get(backing, backing)} · {fc.mib_label(size)}",
                                 ylabel=f"time per base page ({unit}){fc.LOWER}", xlabel="access",
                                 groups=[_op(o) for o in ops], variants=mappings, styles=styles, bars=bars, logy=True))
        grid.append(row)
    legend = [draw.Key(styles[m].label, styles[m].colour) for m in mappings]
    if not bad.empty:
        legend.append(draw.Key("not effective (hatched)", "#777777", "hatch"))
    notes = ["read and first write: map, touch every page, unmap, timed per page touched; after fork: the parent's "
             "(or the child's) store to every page while the other process still maps them, fork itself excluded "
             "(see sharing-fork)",
             "number above a bar: minor faults per base page in that access: ~1 where a page is allocated or "
             "copied, ~0 "
             "where it is already mapped; file reads fault far less than once per page (fault-around); PMD: the "
             "region was mostly mapped with 2 MiB entries (smaps), so a fault covers 512 pages",
             fc.intervals_note(summary)]
    notes += fc.flagged_note(bad, "hatched: the configuration the row claims was not observed")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: MAP_PRIVATE vs MAP_SHARED, cost per page of each access (log scale)",
                       panels=grid, legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _fork_figure(forks, notes_left, ctx):
    draw = fc.draw_module()
    keys = KEYS + ["_flag"]
    summary = fc.summarize(forks, keys, FORK)
    divisor, unit = fc.time_scale(summary["median"].tolist())
    mappings = fc.ordered(summary["mapping"], MAPPING_ORDER)
    styles = _styles(draw, mappings)
    grid = []
    for size in fc.numeric_order(summary["size_mib"]):
        row = []
        for op in fc.ordered(summary["op"], OP_ORDER):
            cell = summary[(summary["size_mib"] == size) & (summary["op"] == op)]
            if cell.empty:
                row.append(None)
                continue
            backings = fc.ordered(cell["backing"], BACKING_ORDER)
            bars = {}
            for _, r in sorted(cell.iterrows(), key=lambda ir: bool(ir[1]["_flag"])):
                bars.setdefault((r["mapping"], BACKING_WORDS.get(r["backing"], r["backing"])),
                                draw.Bar(fc.value(r, divisor), flagged=bool(r["_flag"])))
            row.append(draw.Bars(title=f"{FORK_TITLES.get(op, _op(op))} · {fc.mib_label(size)}".replace("\n", " "),
                                 ylabel=f"fork() time ({unit}){fc.LOWER}", xlabel="backing",
                                 groups=[BACKING_WORDS.get(b, b) for b in backings], variants=mappings,
                                 styles=styles, bars=bars))
        grid.append(row)
    notes = ["fork() of a process holding the mapping, all pages touched; the same call in the rows where the parent "
             "writes afterwards and those where the child does; fork copies the page tables of private mappings "
             "(write-protected for copy-on-write) and skips shared ones (the child faults them in on demand); "
             "the rest is the cost of forking the benchmark process itself",
             fc.intervals_note(summary)] + notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: the cost of fork() with the region mapped private or shared",
                       panels=grid, legend=[draw.Key(styles[m].label, styles[m].colour) for m in mappings],
                       notes=fc.clean_notes(notes))
    return draw.draw(chart)
