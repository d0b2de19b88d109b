"""db_commit: what does making a transaction durable cost, by write path, and how much does
group commit buy?

- `db_commit`: one column per record size; top, log-log against the group size (transactions
  per sync), the time per committed transaction (the append, plus the group's sync shared
  by its transactions), one line per method; bottom, device cache flushes per transaction
  by method, over the dashed line of sync calls per transaction (1/group). The crash check
  (op:crash) is told in the notes: transactions reported synced, found intact and torn, per
  method, and whether any reported-synced transaction was missing.
"""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc

FAMILY = "db_commit"
KEYS = ["op", "method", "group", "record_bytes"]
SYNCS = "syncs_per_op"
FLUSHES = "device_flushes_per_op"
METHOD_ORDER = ("wal_fdatasync", "mmap_msync", "pwrite_sync_file_range")
METHOD_WORDS = {"wal_fdatasync": "WAL: pwrite + fdatasync", "mmap_msync": "mmap store + msync(MS_SYNC)",
                "pwrite_sync_file_range": "pwrite + sync_file_range + fdatasync"}
CRASH_METRICS = ("reported_synced", "found_intact", "torn_records")


def _method(m) -> str:
    return METHOD_WORDS.get(str(m), str(m))


def _describe(row) -> str:
    return (f"{row.get('op', '?')} {row.get('method', '?')} group={fc.number(row.get('group', float('nan')))} "
            f"{fc.number(row.get('record_bytes', float('nan')))} B")


def _bytes_words(b) -> str:
    b = float(b)
    return fc.kib_label(b / 1024) if b >= 1024 and b % 1024 == 0 else f"{b:g} B"


def db_commit_figures(rows: pd.DataFrame, ctx) -> Tuple[List[Tuple[str, object]], pd.Index]:
    fr = fc.split(rows, ctx, FAMILY)
    notes_left = fc.left_out_notes(fr, _describe)
    ok = fc.rows_with(fr.ok, KEYS)
    bad = fc.rows_with(fr.flagged, KEYS)
    if ok.empty and bad.empty:
        if fr.left_out.empty:
            return [], ok.index
        return [fc.nothing_measured(FAMILY, fr, notes_left, ctx)], fr.covered(ok.index)
    rows = pd.concat([ok.assign(_flag=False), bad.assign(_flag=True)])
    rows = fc.numeric(rows, ["group", "record_bytes", SYNCS, FLUSHES] + list(CRASH_METRICS))
    commit = rows[rows["op"].astype(str) == "commit"]
    crash = rows[rows["op"].astype(str) == "crash"]
    crash_left = fr.left_out[fr.left_out["op"].astype(str) == "crash"] if "op" in fr.left_out else fr.left_out
    notes = _crash_notes(crash, crash_left)
    if commit.empty:
        fig = fc.draw_module().note_only(f"{FAMILY}: no commit row measured", "crash check only",
                                         fc.clean_notes(notes + notes_left + [fc.run_note(ctx)]))
        return [(FAMILY, fig)], fr.covered(rows.index.intersection(ok.index))
    return [(FAMILY, _commit_figure(commit, notes, notes_left, ctx))], fr.covered(rows.index.intersection(ok.index))


def _commit_figure(part, crash_notes, notes_left, ctx):
    draw = fc.draw_module()
    keys = ["method", "group", "record_bytes", "_flag"]
    times = fc.summarize(part, keys, fc.TIME)
    flushes = fc.summarize(part, keys, FLUSHES) if FLUSHES in part else fc.summarize(part.iloc[0:0], keys, FLUSHES)
    syncs = fc.summarize(part, keys, SYNCS)
    divisor, unit = fc.time_scale(times["median"].tolist())
    methods = fc.ordered(part["method"], METHOD_ORDER)
    marker = {m: draw.MARKERS[i % len(draw.MARKERS)] for i, m in enumerate(methods)}
    groups = fc.numeric_order(part["group"])
    ticks = [(g, fc.number(g)) for g in groups]
    top, bottom = [], []
    for rec in fc.numeric_order(part["record_bytes"]):
        series = []
        for m in methods:
            cell = times[(times["method"] == m) & (times["record_bytes"] == rec)]
            if cell.empty:
                continue
            points = [draw.Point(r["group"], fc.value(r, divisor), flagged=bool(r["_flag"]))
                      for _, r in cell.sort_values("group").iterrows()]
            series.append(draw.Series(_method(m), fc.colour(m, FAMILY, METHOD_ORDER), points, marker=marker[m]))
        top.append(draw.Lines(title=f"{_bytes_words(rec)} records: time per committed transaction",
                              xlabel="group commit: transactions per sync",
                              ylabel=f"time per transaction ({unit}){fc.LOWER}", series=series, xticks=ticks))
        lower = []
        ideal = syncs[syncs["record_bytes"] == rec].groupby("group", as_index=False)["median"].median()
        if not ideal.empty:
            from mapbench_cli.figures.base import Value
            lower.append(draw.Series("sync calls per transaction (1/group)", "#222222",
                                     [draw.Point(r["group"], Value(r["median"], r["median"], r["median"]))
                                      for _, r in ideal.sort_values("group").iterrows()], dashed=True))
        for m in methods:
            cell = flushes[(flushes["method"] == m) & (flushes["record_bytes"] == rec)]
            if cell.empty:
                continue
            points = [draw.Point(r["group"], fc.value(r), flagged=bool(r["_flag"]))
                      for _, r in cell.sort_values("group").iterrows() if r["median"] > 0]
            if points:
                lower.append(draw.Series(_method(m), fc.colour(m, FAMILY, METHOD_ORDER), points, marker=marker[m]))
        bottom.append(draw.Lines(title=f"{_bytes_words(rec)} records: device cache flushes per transaction",
                                 xlabel="group commit: transactions per sync",
                                 ylabel=f"flushes per transaction{fc.LOWER}", series=lower, xticks=ticks,
                                 message="" if lower else "not recorded"))
    legend = [draw.Key(_method(m), fc.colour(m, FAMILY, METHOD_ORDER), "line", marker[m]) for m in methods]
    legend.append(draw.Key("sync calls per transaction (1/group)", "#222222", "dashed"))
    if part["_flag"].any():
        legend.append(draw.Key("not effective (hollow)", "#555555", "hollow"))
    notes = ["one operation = one committed transaction: its record appended (pwrite, or a store into the "
             "MAP_SHARED log), plus, for the transaction that closes a group, the group's sync; a 4 MiB log "
             "preallocated by writing it, so no sync needs block allocation",
             "every sync was checked before any other: no page of the log left dirty, the group's pages read "
             "back from the device with O_DIRECT equal to what was committed, each record's checksum intact, "
             "and a device cache flush completed during the sync on a write-back cache",
             _speedup_note(times), _flush_note(flushes, syncs)]
    notes += crash_notes
    notes.append(fc.intervals_note(times))
    notes += fc.flagged_note(part[part["_flag"]], "hollow: a sync completed no device cache flush on a "
                             "write-back cache")
    notes += notes_left + [fc.run_note(ctx)]
    chart = draw.Chart(title=f"{FAMILY}: making a transaction durable, by write path and group size (log-log)",
                       panels=[top, bottom], legend=legend, notes=fc.clean_notes(notes))
    return draw.draw(chart)


def _speedup_note(times: pd.DataFrame) -> str:
    """How much the largest group saves per transaction against group 1, per method and record size."""
    parts = []
    ok = times[~times["_flag"].astype(bool)]
    for (m, rec), cell in ok.groupby(["method", "record_bytes"], sort=False):
        by = dict(zip(cell["group"], cell["median"]))
        if 1 in by and len(by) > 1:
            g = max(by)
            if by[g] > 0:
                parts.append(f"{m} {_bytes_words(rec)}: {fc.number(by[1] / by[g])}x at group {fc.number(g)}")
    return ("group commit, time per transaction at group 1 over the largest group: " + "; ".join(parts)) if parts else ""


def _flush_note(flushes: pd.DataFrame, syncs: pd.DataFrame) -> str:
    """Say where the device flushed once per sync: those lines lie on the dashed one."""
    if flushes.empty or syncs.empty:
        return ""
    keys = ["method", "group", "record_bytes"]
    both = flushes.merge(syncs, on=keys, suffixes=("_flush", "_sync"))
    if both.empty:
        return ""
    per_sync = both["median_flush"] / both["median_sync"]
    if ((per_sync - 1).abs() <= 0.01).all():
        return "every method's device completed one cache flush per sync: the flush lines lie on the dashed line"
    return ("device cache flushes per sync: " + ", ".join(
        f"{m} group {fc.number(g)}: {fc.number(v)}" for m, g, v in zip(both["method"], both["group"], per_sync)))


def _crash_notes(crash: pd.DataFrame, crash_left: pd.DataFrame) -> List[str]:
    """The crash check's outcome in words: what was reported synced, found, torn; what failed."""
    lines = []
    if not crash.empty and all(c in crash for c in CRASH_METRICS):
        trials = crash["iterations"] if "iterations" in crash else pd.Series(1.0, index=crash.index)
        total = {c: float((crash[c] * trials).sum()) for c in CRASH_METRICS}
        by_method = trials.groupby(crash["method"]).sum()
        methods = ", ".join(f"{m} {fc.number(by_method[m])}" for m in fc.ordered(by_method.index, METHOD_ORDER))
        cases = crash.groupby(["method", "group", "record_bytes"]).ngroups
        lines.append(f"crash check (writer SIGKILLed at a seeded point, log read back with O_DIRECT): in "
                     f"{fc.number(trials.sum())} trial(s) of {cases} case(s) ({methods}), every one of the "
                     f"{fc.number(total['reported_synced'])} transactions reported synced was found whole and in "
                     f"order; {fc.number(total['found_intact'] - total['reported_synced'])} more were intact beyond "
                     f"the last report (written, not yet reported), {fc.number(total['torn_records'])} torn "
                     "record(s) after them")
        lines.append("the crash check proves ordering and torn-record detection after a process crash, not "
                     "survival of power loss: a SIGKILL loses no page cache")
    failed = crash_left[crash_left["status"].astype(str) == "invalid"] if not crash_left.empty else crash_left
    if not failed.empty:
        lines.append(f"crash check FAILED in {failed['name'].nunique()} case(s): "
                     + fc.short_reason(failed.iloc[0].get("validation", ""), 160))
    return lines
