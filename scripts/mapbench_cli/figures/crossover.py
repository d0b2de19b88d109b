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
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.figures import common as fc
from mapbench_cli.stats import summary as stats
from mapbench_cli.text.words import count_range, file_part

FAMILY = "crossover"
METRIC = "steady_bytes_per_second"
THROUGHPUT = "bytes_per_second"
REFERENCE = "pread"
MAPPED = "mmap"
PARAMS = ["pattern", "block_kib", "file_mib", "limit_mib", "file_to_limit", "readers"]
NUMERIC = ["block_kib", "file_mib", "limit_mib", "file_to_limit", "readers", METRIC, THROUGHPUT,
           "eviction_start_s", "process", "repetition"]
ADVICE_ORDER = ("none", "random", "sequential")
PATTERN_ORDER = ("random", "seq")
PATTERN_WORDS = {"random": "random", "seq": "sequential"}
HINT_WORDS = {"none": "without a hint", "random": "with MADV_RANDOM", "sequential": "with MADV_SEQUENTIAL"}
HINT_SHORT = {"none": "no hint", "random": "MADV_RANDOM", "sequential": "MADV_SEQUENTIAL"}
VARIANT_COLOURS = {("pread", "none"): "#e66101", ("mmap", "none"): "#2ca02c", ("mmap", "random"): "#5e3c99",
                   ("mmap", "sequential"): "#0571b0"}
CMAP = "PuOr"          # orange below 1 (pread faster), purple above (mmap faster)
CONFIDENCE = 0.95
RESAMPLES = 4000
SEED = 0
MIN_UNITS = 3          # per side; fewer and no side is called

MMAP, PREAD, UNCLEAR, TOO_FEW = "mmap", "pread", "unclear", "too_few"


# --- one cell: the ratio, its interval, who leads -------------------------------------------------

@dataclass
class Ratio:
    ratio: float
    low: float
    high: float
    unit: str          # stats.PROCESS or stats.REPETITION: what was resampled
    n_pread: int       # units per side
    n_mmap: int
    pread_median: float
    mmap_median: float
    verdict: str


def verdict_of(low: float, high: float, n_pread: int, n_mmap: int, min_units: int = MIN_UNITS) -> str:
    """Who leads: mmap when the whole interval is above 1, pread when below, else no one."""
    if min(n_pread, n_mmap) < min_units:
        return TOO_FEW
    if low > 1:
        return MMAP
    if high < 1:
        return PREAD
    return UNCLEAR


def ratio_of(pread: stats.Blocks, mmap: stats.Blocks, label: str = "", confidence: float = CONFIDENCE,
             resamples: int = RESAMPLES, seed: int = SEED, min_units: int = MIN_UNITS) -> Ratio:
    """median(mmap) / median(pread) with its bootstrap interval; blocks: one array per process."""
    pread = [np.asarray(b, dtype=float) for b in pread if len(b)]
    mmap = [np.asarray(b, dtype=float) for b in mmap if len(b)]
    if not pread or not mmap:
        raise ValueError("both sides need samples")
    unit = stats.PROCESS if len(pread) >= 2 and len(mmap) >= 2 else stats.REPETITION
    count = (lambda blocks: len(blocks)) if unit == stats.PROCESS else (lambda blocks: sum(b.size for b in blocks))
    p, m = float(np.median(np.concatenate(pread))), float(np.median(np.concatenate(mmap)))
    r = float(stats.ratios(np.array([m]), np.array([p]))[0])
    low, high = stats.ratio_interval(pread, mmap, confidence, resamples, stats.seeded_rng(seed, label), unit)
    return Ratio(r, low, high, unit, count(pread), count(mmap), p, m,
                 verdict_of(low, high, count(pread), count(mmap), min_units))


# --- the crossover along file_to_limit -------------------------------------------------------------

@dataclass
class Point:
    x: float                  # file_to_limit
    ratio: Ratio


@dataclass
class Crossover:
    kind: str                 # mmap_always, pread_always, unclear, crossover, reverse, partial, mixed
    runs: List[Tuple[str, List[Point]]]   # consecutive points with the same leader (MMAP, PREAD, UNCLEAR)


def _state(verdict: str) -> str:
    return verdict if verdict in (MMAP, PREAD) else UNCLEAR


def find_crossover(points: Sequence[Point]) -> Crossover:
    """Where the leader changes along file_to_limit. `crossover`: mmap leads first, then
    pread (possibly with no clear winner between); `reverse`: the other way; `partial`: one
    side leads where it can be told and no one elsewhere; `mixed`: the lead changes more
    than once (no single crossover)."""
    points = sorted(points, key=lambda p: p.x)
    runs: List[Tuple[str, List[Point]]] = []
    for p in points:
        state = _state(p.ratio.verdict)
        if runs and runs[-1][0] == state:
            runs[-1][1].append(p)
        else:
            runs.append((state, [p]))
    leaders = [s for s, _ in runs if s != UNCLEAR]
    switches = sum(1 for a, b in zip(leaders, leaders[1:]) if a != b)
    if not leaders:
        kind = "unclear"
    elif len(runs) == 1:
        kind = f"{leaders[0]}_always"
    elif switches == 0:
        kind = "partial"
    elif switches == 1:
        kind = "crossover" if leaders[0] == MMAP else "reverse"
    else:
        kind = "mixed"
    return Crossover(kind, runs)


# --- words --------------------------------------------------------------------------------------

def times(r: float) -> str:
    if not math.isfinite(r):
        return "∞×" if r > 0 else "?"
    return f"{r:.2f}×" if 0.1 <= r < 10 else f"{r:.2g}×"


def bounds(r: Ratio) -> str:
    """'1.31–1.52': the interval's ends."""
    def num(v):
        return f"{v:.2f}" if 0.1 <= v < 10 else f"{v:.2g}"
    return f"{num(r.low)}–{num(r.high)}"


def interval(r: Ratio, confidence: float = CONFIDENCE) -> str:
    return f"{confidence:.0%} CI {bounds(r)}"


def _xs(points: Sequence[Point]) -> str:
    xs = [f"{p.x:g}" for p in points]
    return xs[0] if len(xs) == 1 else f"{xs[0]}–{xs[-1]}" if len(xs) > 2 else f"{xs[0]} and {xs[1]}"


def _shape(crossover: Crossover) -> Tuple:
    return (crossover.kind,) + tuple((state, tuple(p.x for p in ps)) for state, ps in crossover.runs)


def _count_words(values: Sequence[float], noun: str) -> str:
    shown = [f"{v:g}" for v in values]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return f"with {listed} {noun}{'s' if len(shown) > 1 or values[0] != 1 else ''}"


def describe(crossover: Crossover, subject: str, reads: str, readers: str) -> str:
    """One sentence: where mmap (`subject`, e.g. 'mmap with MADV_RANDOM') and pread lead."""
    return _sentence([crossover], subject, reads, readers)


def describe_many(crossovers: Sequence[Crossover], readers: Sequence[float], subject: str, reads: str) -> str:
    """One sentence for several reader counts whose crossovers have the same shape (the same
    leader at the same ratios): each ratio shown as its range over the reader counts."""
    return _sentence(crossovers, subject, reads, _count_words(readers, "reader"))


def _sentence(crossovers: Sequence[Crossover], subject: str, reads: str, who: str) -> str:
    runs, kind = crossovers[0].runs, crossovers[0].kind
    single = len(crossovers) == 1

    def at(x: float) -> str:
        found = [p.ratio for c in crossovers for _, ps in c.runs for p in ps if p.x == x]
        if single:
            return f"ratio {times(found[0].ratio)}, {interval(found[0])}"
        values = sorted(r.ratio for r in found)
        low, high = times(values[0]), times(values[-1])
        return f"ratio {low if low == high else low[:-1] + '–' + high}"

    points = [p for _, ps in runs for p in ps]
    span = f"{points[0].x:g}–{points[-1].x:g}" if len(points) > 1 else f"{points[0].x:g}"
    clear = "" if single else f"; where a side leads, every {CONFIDENCE:.0%} CI excludes 1"
    if kind == "unclear":
        too_few = all(p.ratio.verdict == TOO_FEW for c in crossovers for _, ps in c.runs for p in ps)
        why = f"fewer than {MIN_UNITS} samples per side" if too_few else f"every {CONFIDENCE:.0%} CI includes 1"
        return (f"No clear winner between {subject} and pread for {reads} {who} at any file/limit ratio "
                f"measured ({span}): {why}.")
    if kind == "mmap_always":
        weakest = min(points, key=lambda p: p.ratio.ratio)
        return (f"{subject} beats pread for {reads} {who} at every file/limit ratio measured ({span}); "
                f"its smallest lead is at {weakest.x:g} ({at(weakest.x)}){clear}.")
    if kind == "pread_always":
        best = max(points, key=lambda p: p.ratio.ratio)
        return (f"pread beats {subject} for {reads} {who} at every file/limit ratio measured ({span}); "
                f"mmap comes closest at {best.x:g} ({at(best.x)}){clear}.")
    (first_state, first), (last_state, last) = runs[0], runs[-1]
    if kind in ("crossover", "reverse") and first_state != UNCLEAR and last_state != UNCLEAR:
        other = "pread" if first_state == MMAP else "mmap"
        head = f"{subject} beats pread" if first_state == MMAP else f"pread beats {subject}"
        text = f"{head} for {reads} up to a file/limit ratio of {first[-1].x:g} {who} ({at(first[-1].x)}); "
        middle = [p for _, ps in runs[1:-1] for p in ps]
        if middle:
            text += f"no clear winner at {_xs(middle)}; from {last[0].x:g} on {other} leads ({at(last[0].x)})"
        else:
            text += f"beyond it {other} leads (at {last[0].x:g}: {at(last[0].x)})"
        return text + clear + "."
    parts = []
    for i, (state, ps) in enumerate(runs):
        lead = {MMAP: "mmap leads", PREAD: "pread leads", UNCLEAR: "no clear winner"}[state]
        where = (f"up to a file/limit ratio of {ps[-1].x:g}" if i == 0 else
                 f"from {ps[0].x:g} on" if i == len(runs) - 1 else f"at {_xs(ps)}")
        shown = ps[-1] if i == 0 else ps[0]
        detail = f" ({at(shown.x)})" if state != UNCLEAR or (len(ps) == 1 and single) else ""
        parts.append(f"{lead} {where}{detail}")
    tail = "; the lead changes more than once: no single crossover" if kind == "mixed" else ""
    return f"{subject} vs pread for {reads} {who}: " + "; ".join(parts) + tail + clear + "."


def headlines(findings: Sequence["Finding"]) -> List[str]:
    """The findings condensed: per pattern and hint, the reader counts whose crossover has
    the same shape share one sentence."""
    out = []
    keyed: Dict[Tuple, List[Finding]] = {}
    for f in findings:
        keyed.setdefault((f.group.key, f.pattern, f.advice, _shape(f.crossover)), []).append(f)
    for (_, pattern, advice, _), same in keyed.items():
        first = same[0]
        subject = f"mmap {HINT_WORDS.get(advice, 'with ' + advice)}"
        reads = f"{PATTERN_WORDS.get(pattern, pattern)} {fc.kib_label(first.group.block_kib)} reads"
        out.append(describe_many([f.crossover for f in same], [f.readers for f in same], subject, reads))
    return out


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
    advice: str
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
            mapped = part[(part["method"] == MAPPED) & (part["advice"] == advice)]
            if mapped.empty and reference.empty:
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
        usable_mask &= ok["method"].isin([REFERENCE, MAPPED])
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
    advices = fc.ordered(used.loc[used["method"] == MAPPED, "advice"], ADVICE_ORDER) if not used.empty else []
    cells: Dict[Tuple, List[Cell]] = {}
    findings: List[Finding] = []
    for group in groups:
        cells[group.key] = _cells(group, metric, advices)
        computed = [c for c in cells[group.key] if c.ratio is not None]
        keyed: Dict[Tuple, List[Point]] = {}
        for c in computed:
            keyed.setdefault((c.pattern, c.advice, c.readers), []).append(Point(c.x, c.ratio))
        order = sorted(keyed, key=lambda k: (_rank(k[0], PATTERN_ORDER), k[2], _rank(k[1], ADVICE_ORDER)))
        for pattern, advice, readers in order:
            crossover = find_crossover(keyed[(pattern, advice, readers)])
            subject = f"mmap {HINT_WORDS.get(advice, 'with ' + advice)}"
            reads = f"{PATTERN_WORDS.get(pattern, pattern)} {fc.kib_label(group.block_kib)} reads"
            who = f"with {readers:g} reader{'s' if readers != 1 else ''}"
            findings.append(Finding(group, pattern, advice, readers, crossover,
                                    describe(crossover, subject, reads, who)))
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
    lines = [f"{FAMILY}: is mmap faster than pread? ({analysis.metric}, mmap/pread, {CONFIDENCE:.0%} CI)"]
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
                f"{PATTERN_WORDS.get(c.pattern, c.pattern)} {HINT_SHORT.get(c.advice, c.advice)} "
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


def _table(cells: Sequence[Cell], group: Group) -> List[str]:
    other = "limit" if group.fixed == "file_mib" else "file"
    rows = ["| pattern | readers | file/limit | " + other + " | mmap hint | mmap/pread | "
            + f"{CONFIDENCE:.0%} CI | n (pread, mmap) | leads |",
            "| --- | ---: | ---: | ---: | --- | ---: | --- | --- | --- |"]
    for c in sorted(cells, key=lambda c: (_rank(c.pattern, PATTERN_ORDER), c.readers, _rank(c.advice, ADVICE_ORDER),
                                          c.x)):
        if c.ratio is None:
            cells_ = ["–", "", "", c.missing]
        else:
            r = c.ratio
            lead = {MMAP: "mmap", PREAD: "pread", UNCLEAR: "no clear winner", TOO_FEW: "too few samples"}[r.verdict]
            cells_ = [times(r.ratio), f"{bounds(r)}",
                      f"{r.n_pread}, {r.n_mmap} {'processes' if r.unit == stats.PROCESS else 'repetitions'}", lead]
        rows.append(f"| {PATTERN_WORDS.get(c.pattern, c.pattern)} | {c.readers:g} | {c.x:g} | "
                    f"{fc.mib_label(c.other_mib)} | {HINT_SHORT.get(c.advice, c.advice)} | " + " | ".join(cells_) + " |")
    return rows


def crossover_summary(rows: pd.DataFrame, ctx) -> Optional[fc.FamilySummary]:
    analysis = analyse(rows, ctx)
    return fc.FamilySummary(f"{FAMILY}-summary", summary_lines(analysis),
                            summary_markdown(analysis, fc.run_note(ctx)))


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
    advices = fc.ordered([c.advice for c in cells], ADVICE_ORDER)
    return patterns, advices


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
                title=f"{PATTERN_WORDS.get(pattern, pattern)} reads · mmap {HINT_SHORT.get(advice, advice)} vs pread",
                xlabel=_axis_words(group), ylabel="reader threads",
                columns=[_x_label(x, other_of[x]) for x in xs], rows=[f"{r:g}" for r in readers],
                cells=heat_cells, cmap=CMAP, vmin=1 / bound, vmax=bound, log=True, boundary=1.0,
                message="" if heat_cells else "not run"))
        if p_i == 0:
            row.append(draw.Scale("mmap / pread throughput\n↑ mmap faster · pread faster ↓", CMAP, 1 / bound, bound,
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
        "purple: mmap faster, orange: pread faster (log scale, centred on 1)"])
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
                title=f"{PATTERN_WORDS.get(pattern, pattern)} reads · mmap {HINT_SHORT.get(advice, advice)} vs pread",
                xlabel=_range_words(group, cells), ylabel="mmap / pread throughput (×),\nabove 1: mmap faster",
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
    return method if method != MAPPED else f"mmap {HINT_SHORT.get(advice, advice)}"


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
                      key=lambda v: (0 if v[0] == REFERENCE else 1, _rank(v[1], ADVICE_ORDER)))
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
