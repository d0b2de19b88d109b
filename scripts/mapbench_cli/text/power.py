"""The result of `mapbench power` (stats/power.py) in words: terminal lines and Markdown.
"""

from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

from mapbench_cli.stats import compare
from mapbench_cli.text.words import clean
from mapbench_cli.stats.power import TARGET_POWER, PowerResult

# --- presenting -------------------------------------------------------------------------------

def _smallest_text(values: Sequence[float], largest: float) -> str:
    finite = [v for v in values if math.isfinite(v)]
    never = len(values) - len(finite)
    if not finite:
        return f"none of the {len(values)} cases reached {TARGET_POWER:.0%} power up to {largest:.0%}"
    med = float(np.median([v if math.isfinite(v) else math.inf for v in values]))
    med_text = f"{med:.1%}" if math.isfinite(med) else f"more than {largest:.0%}"
    text = f"median over cases {med_text}; best {min(finite):.1%}"
    if never:
        text += f"; {never} of {len(values)} case{'s' if len(values) != 1 else ''} not even at {largest:.0%}"
    else:
        text += f"; worst {max(finite):.1%}"
    return text


def lines(r: PowerResult) -> List[str]:
    o = r.options
    out = [f"mapbench power: {r.metric} ({r.direction} is better), {len(r.cases)} cases from {len(r.runs)} run"
           f"{'s' if len(r.runs) != 1 else ''}",
           f"each resampled comparison: {r.k} processes per side = {r.samples_per_side} samples per side, "
           f"test on {'process medians' if r.unit == compare.PROCESS else 'repetitions'}, "
           f"split {r.split}; {r.trials} trials ({r.distinct_splits} distinct splits for the poorest case); "
           f"threshold {o.threshold:.0%}, alpha {o.alpha:g} after Benjamini–Hochberg over the {len(r.cases)} cases"]
    if r.trials > r.distinct_splits:
        out.append(f"note: only {r.distinct_splits} distinct splits: trials repeat some; run more processes or runs")
    if r.skipped:
        out.append(f"left out (too few processes): {len(r.skipped)} case{'s' if len(r.skipped) != 1 else ''}")
    reg, imp = int((r.aa_codes == 1).sum()), int((r.aa_codes == -1).sum())
    failing = int((r.aa_codes == 1).any(axis=1).sum())
    out += ["",
            f"A/A (nothing changed): {r.aa_flagged} of {r.aa_codes.size} case comparisons flagged = "
            f"{r.aa_rate:.2%} of cases (target: at most 5%); {reg} as regression, {imp} as improvement",
            f"  comparisons with at least one case flagged: {r.aa_trials_with_alarm} of {r.trials} "
            f"({r.aa_trials_with_alarm / r.trials:.1%}); with a regression flagged (a CI job failing for nothing): "
            f"{failing} of {r.trials} ({failing / r.trials:.1%})",
            "",
            f"power: fraction of trials reporting the injected slowdown as a regression "
            f"(median over cases; cases reaching {TARGET_POWER:.0%})",
            f"  {'slowdown':>8}  {'one case slowed alone':>24}  {'every case slowed':>20}"]
    n = len(r.cases)
    for si, s in enumerate(r.slowdowns):
        a, t = r.power_alone[si], r.power_together[si]
        out.append(f"  {s:>8.1%}  {np.median(a):>11.2f} ({int((a >= TARGET_POWER).sum()):>3}/{n:<3} ≥95%)"
                   f"  {np.median(t):>7.2f} ({int((t >= TARGET_POWER).sum()):>3}/{n:<3} ≥95%)")
    largest = max(r.slowdowns)
    out += ["",
            f"smallest slowdown detected with {TARGET_POWER:.0%} power, one case slowed alone: "
            f"{_smallest_text(r.smallest(r.power_alone), largest)}",
            f"smallest slowdown detected with {TARGET_POWER:.0%} power, every case slowed: "
            f"{_smallest_text(r.smallest(r.power_together), largest)}",
            "", "per case (noise of the pooled data; smallest slowdown at 95% power, alone / together):"]
    alone, together = r.smallest(r.power_alone), r.smallest(r.power_together)
    aa_case = (r.aa_codes != 0).mean(axis=0)
    width = max(len(clean(c)) for c in r.cases)
    out.append(f"  {'case'.ljust(width)}  {'IQR/med':>7}  {'proc spread':>11}  {'A/A flagged':>11}  {'alone':>7}  {'together':>8}")
    for i, case in enumerate(r.cases):
        nz = r.noise.iloc[i]
        out.append(f"  {clean(case).ljust(width)}  {nz['iqr_over_median']:>7.1%}  {nz['process_median_spread']:>10.2f}x"
                   f"  {aa_case[i]:>11.1%}  {_short(alone[i], largest):>7}  {_short(together[i], largest):>8}")
    return out + r.notes


def _short(x: float, largest: float) -> str:
    return f">{largest:.0%}" if math.isinf(x) else f"{x:.1%}"


def markdown(r: PowerResult) -> str:
    text = lines(r)
    return ("## mapbench power\n\n```\n" + "\n".join(clean(t) for t in text) + "\n```\n")
