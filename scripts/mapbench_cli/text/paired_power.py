"""The result of `mapbench power RUN` on an interleaved A/A run (stats/paired_power.py) in
words: terminal lines and Markdown.
"""

from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

from mapbench_cli.stats.paired_power import TARGETS, PairedPower
from mapbench_cli.stats.signed_rank import min_pairs, smallest_p
from mapbench_cli.text.words import clean


def _smallest_text(values: Sequence[float], largest: float) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return f"none of the {len(values)} cases up to {largest:.0%}"
    med = float(np.median(values))
    text = f"median over cases {med:.1%}" if math.isfinite(med) else f"median over cases more than {largest:.0%}"
    text += f"; best {min(finite):.1%}"
    never = len(values) - len(finite)
    return text + (f"; {never} of {len(values)} not even at {largest:.0%}" if never else f"; worst {max(finite):.1%}")


def _short(x: float, largest: float) -> str:
    return f">{largest:.0%}" if math.isinf(x) else f"{x:.1%}"


def lines(r: PairedPower, knob: str, values: Sequence[str]) -> List[str]:
    o = r.options
    n = len(r.cases)
    jobs_alarm = int((r.aa_codes != 0).any(axis=1).sum())
    jobs_fail = int((r.aa_codes == 1).any(axis=1).sum())
    out = [f"mapbench power (paired): {r.metric} ({r.direction} is better), {n} cases, A/A run interleaving "
           f"{clean(knob)}={','.join(clean(v) for v in values)}",
           f"each trial: {r.k} of the {r.slots} process slots (the same for every case, without replacement), arm 1 "
           f"vs arm 0, Wilcoxon signed-rank on the log-ratios of paired process medians; {r.trials} trials; threshold "
           f"{o.threshold:.0%}, alpha {o.alpha:g} after Benjamini–Hochberg over the {n} cases",
           f"with {r.k} pairs the smallest possible p is {smallest_p(r.k):.4f} "
           f"(at least {min_pairs(o.alpha)} pairs are needed for p < {o.alpha:g})"]
    if math.comb(r.slots, r.k) < r.trials:
        out.append(f"note: only {math.comb(r.slots, r.k)} distinct draws of {r.k} of {r.slots} slots: trials repeat; "
                   "run more processes")
    out += ["",
            f"A/A (nothing changed): {int((r.aa_codes != 0).sum())} of {r.aa_codes.size} case comparisons flagged "
            f"({(r.aa_codes != 0).mean():.2%}); {int((r.aa_codes == 1).sum())} as regression, "
            f"{int((r.aa_codes == -1).sum())} as improvement",
            f"  false alarm rate per job (trials with any case flagged): {jobs_alarm} of {r.trials} "
            f"({jobs_alarm / r.trials:.1%}); with a regression flagged (a CI job failing for nothing): {jobs_fail} "
            f"of {r.trials} ({jobs_fail / r.trials:.1%})",
            "",
            "power: fraction of trials reporting the injected slowdown as a regression (median over cases; cases "
            "reaching 80% / 95%)",
            f"  {'slowdown':>8}  {'one case slowed alone':>28}  {'every case slowed':>28}"]
    for si, s in enumerate(r.slowdowns):
        cells = []
        for pw in (r.power_alone[si], r.power_together[si]):
            reach80, reach95 = int((pw >= 0.8).sum()), int((pw >= 0.95).sum())
            cells.append(f"{np.median(pw):>6.2f} ({reach80:>3}/{n} ≥80%, {reach95:>3}/{n} ≥95%)")
        flag = ("  (not above the threshold: flagged only when the estimate overshoots it)"
                if s <= o.threshold + 1e-12 else "")
        out.append(f"  {s:>8.1%}  {cells[0]:>28}  {cells[1]:>28}{flag}")
    largest = max(r.slowdowns)
    out.append("")
    for target in TARGETS:
        for title, pw in (("one case slowed alone", r.power_alone), ("every case slowed", r.power_together)):
            out.append(f"smallest slowdown detected with {target:.0%} power, {title} (threshold {o.threshold:.0%}): "
                       f"{_smallest_text(r.smallest(pw, target), largest)}")
    out += ["", "per case (IQR of the log-ratios over every slot; smallest slowdown at 80% / 95% power, alone):"]
    width = max(len(clean(c)) for c in r.cases)
    aa_case = (r.aa_codes != 0).mean(axis=0)
    s80, s95 = r.smallest(r.power_alone, 0.80), r.smallest(r.power_alone, 0.95)
    out.append(f"  {'case'.ljust(width)}  {'IQR d':>7}  {'A/A flagged':>11}  {'80%':>7}  {'95%':>7}")
    for i, case in enumerate(r.cases):
        out.append(f"  {clean(case).ljust(width)}  {r.spread[i]:>7.3f}  {aa_case[i]:>11.1%}  "
                   f"{_short(s80[i], largest):>7}  {_short(s95[i], largest):>7}")
    return out + r.notes


def markdown(text: Sequence[str]) -> str:
    """The terminal lines as a Markdown section."""
    return "## mapbench power (paired)\n\n```\n" + "\n".join(clean(t) for t in text) + "\n```\n"
