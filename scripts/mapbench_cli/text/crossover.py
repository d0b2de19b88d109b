"""The crossover family's findings in words: ratios, intervals, where the crossover falls.
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple


from mapbench_cli.data import schema
from mapbench_cli.stats.crossover import CONFIDENCE, Crossover, MIN_UNITS, MMAP, PREAD, Point, Ratio, TOO_FEW, UNCLEAR

PATTERN_WORDS = {"random": "random", "seq": "sequential"}
HINT_WORDS = {"none": "without a hint", "random": "with MADV_RANDOM", "sequential": "with MADV_SEQUENTIAL"}
HINT_SHORT = {"none": "no hint", "random": "MADV_RANDOM", "sequential": "MADV_SEQUENTIAL"}
# The storage baselines (stats.crossover.BASELINE_ORDER): in a sentence, and short.
METHOD_WORDS = {"odirect_pread": "pread with O_DIRECT", "io_uring_odirect_qd1": "io_uring with O_DIRECT at depth 1",
                "io_uring_odirect_qd32": "io_uring with O_DIRECT at depth 32",
                "io_uring_qd1": "buffered io_uring at depth 1", "io_uring_qd32": "buffered io_uring at depth 32"}
METHOD_SHORT = {"odirect_pread": "O_DIRECT pread", "io_uring_odirect_qd1": "io_uring O_DIRECT QD1",
                "io_uring_odirect_qd32": "io_uring O_DIRECT QD32", "io_uring_qd1": "io_uring QD1",
                "io_uring_qd32": "io_uring QD32"}


def subject_of(variant: str) -> str:
    """What a cell compares with pread, in a sentence: 'mmap with MADV_RANDOM', 'pread with O_DIRECT'."""
    if variant in HINT_WORDS:
        return f"mmap {HINT_WORDS[variant]}"
    return METHOD_WORDS.get(variant, variant)


def name_of(variant: str) -> str:
    """Its short name, as a leader and in titles: 'mmap', 'O_DIRECT pread', 'io_uring O_DIRECT QD32'."""
    return "mmap" if variant in HINT_WORDS else METHOD_SHORT.get(variant, variant)


def short_of(variant: str) -> str:
    """Its short name with mmap's hint: 'mmap no hint', 'mmap MADV_RANDOM', 'io_uring QD1'."""
    return f"mmap {HINT_SHORT[variant]}" if variant in HINT_SHORT else name_of(variant)


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


def describe(crossover: Crossover, subject: str, reads: str, readers: str, name: str = "mmap") -> str:
    """One sentence: where mmap (`subject`, e.g. 'mmap with MADV_RANDOM'; `name` as the
    leader, e.g. 'mmap' or 'O_DIRECT pread') and pread lead."""
    return _sentence([crossover], subject, reads, readers, name)


def describe_many(crossovers: Sequence[Crossover], readers: Sequence[float], subject: str, reads: str,
                  name: str = "mmap") -> str:
    """One sentence for several reader counts whose crossovers have the same shape (the same
    leader at the same ratios): each ratio shown as its range over the reader counts."""
    return _sentence(crossovers, subject, reads, _count_words(readers, "reader"), name)


def _sentence(crossovers: Sequence[Crossover], subject: str, reads: str, who: str, name: str = "mmap") -> str:
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
                f"{name} comes closest at {best.x:g} ({at(best.x)}){clear}.")
    (first_state, first), (last_state, last) = runs[0], runs[-1]
    if kind in ("crossover", "reverse") and first_state != UNCLEAR and last_state != UNCLEAR:
        other = "pread" if first_state == MMAP else name
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
        lead = {MMAP: f"{name} leads", PREAD: "pread leads", UNCLEAR: "no clear winner"}[state]
        where = (f"up to a file/limit ratio of {ps[-1].x:g}" if i == 0 else
                 f"from {ps[0].x:g} on" if i == len(runs) - 1 else f"at {_xs(ps)}")
        shown = ps[-1] if i == 0 else ps[0]
        detail = f" ({at(shown.x)})" if state != UNCLEAR or (len(ps) == 1 and single) else ""
        parts.append(f"{lead} {where}{detail}")
    tail = "; the lead changes more than once: no single crossover" if kind == "mixed" else ""
    return f"{subject} vs pread for {reads} {who}: " + "; ".join(parts) + tail + clear + "."


def headlines(findings: Sequence) -> List[str]:
    """The findings condensed: per pattern and hint, the reader counts whose crossover has
    the same shape share one sentence."""
    out = []
    keyed: Dict[Tuple, list] = {}
    for f in findings:
        keyed.setdefault((f.group.key, f.pattern, f.advice, _shape(f.crossover)), []).append(f)
    for (_, pattern, advice, _), same in keyed.items():
        first = same[0]
        reads = f"{PATTERN_WORDS.get(pattern, pattern)} {schema.format_kib(float(first.group.block_kib))} reads"
        out.append(describe_many([f.crossover for f in same], [f.readers for f in same], subject_of(advice), reads,
                                 name_of(advice)))
    return out
