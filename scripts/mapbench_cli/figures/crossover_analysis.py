"""The crossover family's analysis of its rows: groups, cells, findings, and the summary in
words that `plot` prints and `report` links (figures/crossover.py draws the figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import pandas as pd

from mapbench_cli.figures import common as fc
from mapbench_cli.stats import summary as stats
from mapbench_cli.text.words import file_part
from mapbench_cli.stats.crossover import ADVICE_ORDER, VARIANT_ORDER, variant_of, CONFIDENCE, Crossover, FAMILY, MAPPED, METRIC, MMAP, NUMERIC, PARAMS, PATTERN_ORDER, PREAD, Point, REFERENCE, RESAMPLES, Ratio, THROUGHPUT, TOO_FEW, UNCLEAR, find_crossover, ratio_of
from mapbench_cli.text.crossover import HINT_SHORT, HINT_WORDS, PATTERN_WORDS, bounds, describe, headlines, name_of, short_of, subject_of, times


# --- the analysis of a family's rows --------------------------------------------------------------

@dataclass
class Group:
    """The rows of one map: one block size and one fixed size (the file or the limit)."""
    key: Tuple
    block_kib: float
    fixed: str               # "file_mib" or "limit_mib": the size that does not vary with the ratio
    label: str               # e.g. "128 MiB file, memory limit 512 MiB … 32 MiB, 4 KiB reads"
    stem: str                # "" for the only group, else "-<words>"
    rows: pd.DataFrame


@dataclass
class Cell:
    pattern: str
    advice: str              # the variant compared with pread: mmap's hint, or a baseline method
    readers: float
    x: float                 # file_to_limit
    other_mib: float         # the size that varies with x (limit for a fixed file)
    ratio: Optional[Ratio]
    missing: str = ""        # why there is no ratio


@dataclass
class Finding:
    group: Group
    pattern: str
    advice: str
    readers: float
    crossover: Crossover
    sentence: str


@dataclass
class Analysis:
    metric: str
    groups: List[Group]
    cells: Dict[Tuple, List[Cell]]            # group key -> cells
    findings: List[Finding]
    used: pd.DataFrame                        # the ok rows the ratios use
    excluded_notes: List[str]                 # rows left out, by reason
    excluded_count: str                       # '3 rows not plotted (1 error, 2 not_effective)'
    flagged: pd.DataFrame = field(default_factory=pd.DataFrame)
    left_out: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: List[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(c.ratio is not None for cells in self.cells.values() for c in cells)


def _describe_row(row) -> str:
    advice = str(row.get("advice", "") or "none")
    method = str(row.get("method", "?"))
    hint = f" {HINT_SHORT.get(advice, advice)}" if method == MAPPED else ""

    def num(key):
        v = pd.to_numeric(pd.Series([row.get(key)]), errors="coerce").iloc[0]
        return f"{v:g}" if v == v else "?"
    return f"{method}{hint} {row.get('pattern', '?')} file/limit {num('file_to_limit')} readers {num('readers')}"


def why_not_effective(row) -> str:
    """What the harness found wrong in a not_effective crossover row (its config_note holds
    everything observed; the reason is the claim that failed)."""
    note = str(row.get("config_note", "") or "")
    reasons = []
    match = re.search(r"([\d.]+)% resident after eviction", note)
    if match and float(match.group(1)) > 1:
        reasons.append("the file was not cold at the start")
    if "series not written" in note:
        reasons.append("series.csv not written")
    # The eviction claim (the harness's threshold is its own): said when nothing else failed.
    match = re.search(r"(\d+) pages evicted while reading", note)
    ratio = pd.to_numeric(pd.Series([row.get("file_to_limit")]), errors="coerce").iloc[0]
    if match and ratio == ratio and not reasons:
        evicted = int(match.group(1))
        if ratio > 1:
            reasons.append("no eviction although the file is larger than the limit" if evicted == 0 else
                           f"only {evicted} pages evicted although the file is larger than the limit")
        elif ratio <= 0.5 and evicted > 0:
            reasons.append(f"{evicted} pages evicted although the file fits in half the limit")
    return "; ".join(reasons) or fc.short_reason(note, 70)


def _group_rows(data: pd.DataFrame) -> List[Group]:
    by_file = data["file_mib"].nunique() <= data["limit_mib"].nunique()
    fixed = "file_mib" if by_file else "limit_mib"
    keys = ["block_kib", fixed]
    cell = ["pattern", "method", "advice", "readers", "file_to_limit"]
    other = "limit_mib" if fixed == "file_mib" else "file_mib"
    if (data.groupby(keys + cell)[other].nunique() > 1).any():  # both sizes vary at one ratio: one map per pair
        keys = ["block_kib", "file_mib", "limit_mib"]
    groups = []
    for key, rows in data.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        block = fc.kib_label(key[0])
        if len(keys) == 3:
            label = f"{fc.mib_label(key[1])} file, memory limit {fc.mib_label(key[2])}, {block} reads"
        elif fixed == "file_mib":
            limits = sorted(rows["limit_mib"].unique(), reverse=True)
            shown = fc.mib_label(limits[0]) + (f" … {fc.mib_label(limits[-1])}" if len(limits) > 1 else "")
            label = f"{fc.mib_label(key[1])} file, memory limit {shown}, {block} reads"
        else:
            files = sorted(rows["file_mib"].unique())
            shown = fc.mib_label(files[0]) + (f" … {fc.mib_label(files[-1])}" if len(files) > 1 else "")
            label = f"memory limit {fc.mib_label(key[1])}, files {shown}, {block} reads"
        parts = [f"{k}_{v:g}" for k, v in zip(keys, key)]
        groups.append(Group(key, key[0], fixed, label, "-" + file_part("-".join(parts)), rows))
    if len(groups) == 1:
        groups[0].stem = ""
    return groups


def _blocks(rows: pd.DataFrame, metric: str) -> stats.Blocks:
    run = rows["run_id"].astype(str) if "run_id" in rows else pd.Series("", index=rows.index)
    process = rows["process"].fillna(0.0) if "process" in rows else pd.Series(0.0, index=rows.index)
    return [part[metric].to_numpy(dtype=float) for _, part in rows.groupby([run, process], sort=True)]


def _cells(group: Group, metric: str, advices: Sequence[str]) -> List[Cell]:
    other = "limit_mib" if group.fixed == "file_mib" else "file_mib"
    out = []
    data = group.rows
    for (pattern, readers, x), part in data.groupby(["pattern", "readers", "file_to_limit"], sort=True):
        reference = part[part["method"] == REFERENCE]
        other_mib = float(part[other].iloc[0])
        for advice in advices:
            mapped = part[(part["method"] != REFERENCE) & (part["variant"] == advice)]
            # A baseline (O_DIRECT, io_uring) runs at a few ratios only, by design: no "not run" for it.
            if mapped.empty and (reference.empty or advice not in ADVICE_ORDER):
                continue
            if mapped.empty or reference.empty:
                out.append(Cell(pattern, advice, readers, x, other_mib, None,
                                "not run" if mapped.empty else "no pread"))
                continue
            runs = set(reference["run_id"].astype(str)) & set(mapped["run_id"].astype(str))
            if not runs:
                out.append(Cell(pattern, advice, readers, x, other_mib, None, "not in one run"))
                continue
            ref = reference[reference["run_id"].astype(str).isin(runs)]
            mm = mapped[mapped["run_id"].astype(str).isin(runs)]
            label = f"{group.key}/{pattern}/{advice}/{readers:g}/{x:g}"
            out.append(Cell(pattern, advice, readers, x, other_mib, ratio_of(_blocks(ref, metric),
                                                                            _blocks(mm, metric), label)))
    return out


def analyse(rows: pd.DataFrame, ctx) -> Analysis:
    """Every ratio, crossover and sentence of the family's rows (and the rows left out)."""
    fr = fc.split(rows, ctx, FAMILY)
    ok = fc.numeric(fr.ok, NUMERIC)
    notes: List[str] = []
    metric = METRIC
    if METRIC not in ok or not ok[METRIC].notna().any():
        metric = THROUGHPUT
        notes.append(f"no {METRIC} in these rows: the ratios use {THROUGHPUT} (the whole span, not its steady state)")
    if not ok.empty:
        ok = ok.assign(advice=ok["advice"].astype(str).str.strip().replace("", "none") if "advice" in ok else "none")
    usable_mask = fc.has(ok, PARAMS + ["method", metric]) if not ok.empty else pd.Series(dtype=bool)
    if not ok.empty:
        usable_mask &= ok["method"].astype(str).str.strip() != ""
        ok = ok.assign(variant=[variant_of(str(m), str(a)) for m, a in zip(ok["method"], ok["advice"])])
    used = ok[usable_mask] if not ok.empty else ok
    unusable = ok[~usable_mask] if not ok.empty else ok
    # Rows not ok are all left out here, not_effective ones too (a cgroup that did not evict
    # as claimed measured something else): counted by status and reason.
    not_ok = pd.concat([fr.left_out, fr.flagged]) if not fr.flagged.empty else fr.left_out
    if not not_ok.empty and "config_note" in not_ok:
        not_ok = not_ok.copy()
        mask = not_ok["status"] == fc.NOT_EFFECTIVE
        not_ok.loc[mask, "config_note"] = [why_not_effective(r) for _, r in not_ok[mask].iterrows()]
    excluded_notes = fc.left_out_notes(fr, _describe_row, left=not_ok)
    if not unusable.empty:
        excluded_notes.append(f"ok but unusable: {len(unusable)} row{'s' if len(unusable) != 1 else ''} without "
                              f"{metric} or a parameter of the map")
    excluded_count = fc.counted(not_ok)
    groups = _group_rows(used) if not used.empty else []
    advices = fc.ordered(used.loc[used["method"] != REFERENCE, "variant"], VARIANT_ORDER) if not used.empty else []
    cells: Dict[Tuple, List[Cell]] = {}
    findings: List[Finding] = []
    for group in groups:
        cells[group.key] = _cells(group, metric, advices)
        computed = [c for c in cells[group.key] if c.ratio is not None]
        keyed: Dict[Tuple, List[Point]] = {}
        for c in computed:
            keyed.setdefault((c.pattern, c.advice, c.readers), []).append(Point(c.x, c.ratio))
        order = sorted(keyed, key=lambda k: (_rank(k[0], PATTERN_ORDER), k[2], _rank(k[1], VARIANT_ORDER)))
        for pattern, advice, readers in order:
            crossover = find_crossover(keyed[(pattern, advice, readers)])
            reads = f"{PATTERN_WORDS.get(pattern, pattern)} {fc.kib_label(group.block_kib)} reads"
            who = f"with {readers:g} reader{'s' if readers != 1 else ''}"
            findings.append(Finding(group, pattern, advice, readers, crossover,
                                    describe(crossover, subject_of(advice), reads, who, name_of(advice))))
    return Analysis(metric, groups, cells, findings, used, excluded_notes, excluded_count, fr.flagged,
                    fr.left_out, notes)


def _rank(value, order) -> Tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), str(value))


# --- the summary in words ---------------------------------------------------------------------

HOW = ("ratio: median mmap / median pread of the steady-state throughput (steady_bytes_per_second: the median "
       "of the last half of the 100 ms buckets), both measured in the same run; interval: percentile bootstrap "
       f"({RESAMPLES} resamples; whole processes when each side has two or more, else repetitions); a side leads "
       f"only where the {CONFIDENCE:.0%} interval excludes 1")


def summary_lines(analysis: Analysis) -> List[str]:
    """The summary as plain lines (what `plot` prints)."""
    lines = [f"{FAMILY}: is mmap faster than pread? ({analysis.metric}, mmap/pread"
             f"{' and baseline/pread' if _baselines(analysis) else ''}, {CONFIDENCE:.0%} CI)"]
    for group in analysis.groups:
        lines.append(f"  {group.label}:")
        lines += [f"  - {text}" for text in headlines([f for f in analysis.findings if f.group is group])]
        missing = _missing(analysis.cells.get(group.key, []))
        if missing:
            lines.append(f"  - not compared: {missing}")
    if not analysis.groups:
        lines.append("  nothing to compare: no ok row with both methods")
    left = analysis.excluded_count or "no row left out"
    lines.append(f"  left out: {left}")
    lines += [f"    {n}" for n in analysis.excluded_notes]
    lines += [f"  note: {n}" for n in analysis.notes]
    return lines


def _missing(cells: Sequence[Cell]) -> str:
    out: Dict[str, List[str]] = {}
    for c in cells:
        if c.ratio is None:
            out.setdefault(c.missing, []).append(
                f"{PATTERN_WORDS.get(c.pattern, c.pattern)} {short_of(c.advice)} "
                f"x{c.x:g} r{c.readers:g}")
    return "; ".join(f"{why}: {', '.join(what[:6])}{' …' if len(what) > 6 else ''}" for why, what in out.items())


def summary_markdown(analysis: Analysis, run_note: str = "") -> str:
    out = [f"# {FAMILY}: is mmap faster than pread?", "",
           "For 4 KiB reads of a file inside a memory cgroup: where mmap stops (or starts) beating pread, by file "
           "size over the cgroup's memory limit (file/limit ratio) and reader threads.", "",
           f"How to read it: {HOW}.", ""]
    if run_note:
        out += [f"{run_note}.", ""]
    for group in analysis.groups:
        out += [f"## {group.label}", ""]
        for pattern in fc.ordered([f.pattern for f in analysis.findings if f.group is group], PATTERN_ORDER):
            mine = [f for f in analysis.findings if f.group is group and f.pattern == pattern]
            out += [f"### {PATTERN_WORDS.get(pattern, pattern)} reads", ""]
            out += [f"- {text}" for text in headlines(mine)] + [""]
            if len(mine) > len(headlines(mine)):
                out += ["Per reader count:", ""] + [f"- {f.sentence}" for f in mine] + [""]
        missing = _missing(analysis.cells.get(group.key, []))
        if missing:
            out += [f"Not compared: {missing}.", ""]
        out += _table(analysis.cells.get(group.key, []), group) + [""]
    if not analysis.groups:
        out += ["Nothing to compare: no ok row with both methods.", ""]
    out += ["## Rows left out", ""]
    out += [f"{analysis.excluded_count}:" if analysis.excluded_count else "None: every row is ok."]
    out += [f"- {n}" for n in analysis.excluded_notes]
    out += [""] + [f"Note: {n}" for n in analysis.notes]
    return "\n".join(out).rstrip() + "\n"


def _baselines(analysis: Analysis) -> bool:
    """Whether the storage baselines (O_DIRECT, io_uring) are among the cells."""
    return any(c.advice not in ADVICE_ORDER for cells in analysis.cells.values() for c in cells)


def _table(cells: Sequence[Cell], group: Group) -> List[str]:
    other = "limit" if group.fixed == "file_mib" else "file"
    baselines = any(c.advice not in ADVICE_ORDER for c in cells)
    vs, ratio, n = (("vs pread", "ratio to pread", "n (pread, other)") if baselines
                    else ("mmap hint", "mmap/pread", "n (pread, mmap)"))
    rows = [f"| pattern | readers | file/limit | {other} | {vs} | {ratio} | "
            + f"{CONFIDENCE:.0%} CI | {n} | leads |",
            "| --- | ---: | ---: | ---: | --- | ---: | --- | --- | --- |"]
    for c in sorted(cells, key=lambda c: (_rank(c.pattern, PATTERN_ORDER), c.readers, _rank(c.advice, VARIANT_ORDER),
                                          c.x)):
        if c.ratio is None:
            cells_ = ["–", "", "", c.missing]
        else:
            r = c.ratio
            lead = {MMAP: name_of(c.advice), PREAD: "pread", UNCLEAR: "no clear winner",
                    TOO_FEW: "too few samples"}[r.verdict]
            cells_ = [times(r.ratio), f"{bounds(r)}",
                      f"{r.n_pread}, {r.n_mmap} {'processes' if r.unit == stats.PROCESS else 'repetitions'}", lead]
        rows.append(f"| {PATTERN_WORDS.get(c.pattern, c.pattern)} | {c.readers:g} | {c.x:g} | "
                    f"{fc.mib_label(c.other_mib)} | {short_of(c.advice) if baselines else HINT_SHORT.get(c.advice, c.advice)} | "
                    + " | ".join(cells_) + " |")
    return rows


def crossover_summary(rows: pd.DataFrame, ctx) -> Optional[fc.FamilySummary]:
    analysis = analyse(rows, ctx)
    return fc.FamilySummary(f"{FAMILY}-summary", summary_lines(analysis),
                            summary_markdown(analysis, fc.run_note(ctx)))
