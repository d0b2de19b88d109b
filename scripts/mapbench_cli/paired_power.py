"""`mapbench power RUN` on an interleaved A/A run: how often the paired test cries wolf, and
how small a slowdown it catches, measured on real pairs.

The run interleaves two arms of the *same* value (`--interleave thp.enabled=never,never`),
so every difference between them is noise. Per process slot and case, the pair is the
log-ratio of the two arms' medians (paired.py). Each trial draws k of the P process slots
without replacement — the same slots for every case, as one CI job would have run them —
and tests arm 1 against arm 0 with the signed-rank test, Benjamini–Hochberg over the
cases and the threshold, exactly as `compare RUN` does:

- A/A: every case flagged is a false alarm; the rate that matters to CI is the fraction of
  trials (jobs) with any case flagged;
- power: a slowdown s injected into arm 1 (time x (1 + s), throughput / (1 + s): the
  log-ratio moves by log(1 + s)), for one case alone (each case in turn, the others
  untouched) and for every case together, over a grid of s; reported: the smallest s
  detected in at least 80 % and 95 % of the trials. The threshold is part of the rule (the
  Hodges–Lehmann ratio must exceed 1 + threshold): a slowdown at or below --threshold is
  flagged only when noise pushes its estimate past the threshold, so the power reported
  there is not a property to rely on; lower --threshold to measure small slowdowns.

Hooked from cli.main (one line): power.py handles every run that is not interleaved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli import compare, paired, power
from mapbench_cli.compare import Options
from mapbench_cli.compare_report import check_metric, check_output, load_side
from mapbench_cli.paired_compare import interleave_of
from mapbench_cli.runs import BadInput, load_runs
from mapbench_cli.text import clean

TARGETS = (0.80, 0.95)
DEFAULT_SLOWDOWNS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.10, 0.15, 0.20, 0.30, 0.50)
POWER_DEFAULT_SLOWDOWNS = "2,5,7.5,10,15,20,30,50,100"   # cli.py's --slowdowns default: replaced by ours


def wants_paired(args) -> bool:
    try:
        return paired.is_interleaved(load_runs(args.runs).frame)
    except BadInput:
        return False


@dataclass
class SlotMatrix:
    cases: List[compare.CaseKey]
    slots: List[Tuple[str, float]]
    d: np.ndarray                 # cases x slots: log(median arm 1 / median arm 0), NaN where no pair


def slot_matrix(frame: pd.DataFrame, metric: str, arm: int = 1) -> SlotMatrix:
    pairs = paired.pairs_by_case(frame, metric, arm)
    slots = sorted(set(s for p in pairs.values() for s in p.slots))
    where = {s: i for i, s in enumerate(slots)}
    d = np.full((len(pairs), len(slots)), np.nan)
    for c, p in enumerate(pairs.values()):
        d[c, [where[s] for s in p.slots]] = p.log_ratios
    return SlotMatrix(list(pairs), slots, d)


@dataclass
class PairedPower:
    metric: str
    direction: str
    options: Options
    k: int
    slots: int
    trials: int
    cases: List[str]
    aa_codes: np.ndarray                  # trials x cases
    slowdowns: List[float]
    power_alone: np.ndarray               # slowdowns x cases
    power_together: np.ndarray
    spread: np.ndarray                    # per case: IQR of the log-ratios over every slot
    notes: List[str] = field(default_factory=list)

    def smallest(self, power_: np.ndarray, target: float) -> List[float]:
        out = []
        for c in range(power_.shape[1]):
            hits = [s for s, p in zip(self.slowdowns, power_[:, c]) if p >= target]
            out.append(min(hits) if hits else math.inf)
        return out


def _tested(d: np.ndarray, needed: int) -> Tuple[np.ndarray, np.ndarray]:
    """trials x cases x k log-ratios -> (p-values, Hodges–Lehmann ratios), each trials x cases."""
    t, c, k = d.shape
    flat = d.reshape(t * c, k)
    n = np.isfinite(flat).sum(axis=1)
    p = paired.signed_rank_p_rows(flat)
    p = np.where(n >= needed, p, 1.0).reshape(t, c)   # too few pairs: never significant
    ratio = np.exp(paired.hodges_lehmann_rows(flat)).reshape(t, c)
    return p, ratio


def analyse(m: SlotMatrix, metric: str, direction: str, options: Options, k: int, trials: int,
            slowdowns: Sequence[float]) -> PairedPower:
    rng = np.random.default_rng(options.seed)
    needed = paired.min_pairs(options.alpha)
    picks = np.array([rng.choice(len(m.slots), size=k, replace=False) for _ in range(trials)])
    drawn = np.transpose(m.d[:, picks], (1, 0, 2))          # trials x cases x k
    ones = np.ones((trials, len(m.cases)))

    def verdicts(p, ratio):
        return compare.verdict_codes(compare.benjamini_hochberg_rows(p), ratio, ones, direction, options)

    null_p, null_ratio = _tested(drawn, needed)
    aa = verdicts(null_p, null_ratio)
    alone = np.zeros((len(slowdowns), len(m.cases)))
    together = np.zeros((len(slowdowns), len(m.cases)))
    for si, s in enumerate(slowdowns):
        shift = math.log(1 + s) if direction == compare.schema.LOWER else -math.log(1 + s)
        p_s, ratio_s = _tested(drawn + shift, needed)
        together[si] = (verdicts(p_s, ratio_s) == 1).mean(axis=0)
        for c in range(len(m.cases)):
            p, ratio = null_p.copy(), null_ratio.copy()
            p[:, c], ratio[:, c] = p_s[:, c], ratio_s[:, c]
            alone[si, c] = (verdicts(p, ratio)[:, c] == 1).mean()
    q1, q3 = np.nanquantile(m.d, [0.25, 0.75], axis=1)
    return PairedPower(metric, direction, options, k, len(m.slots), trials,
                       [compare.case_label(*key) for key in m.cases], aa, list(slowdowns), alone, together, q3 - q1)


# --- presenting ---------------------------------------------------------------------------

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
           f"with {r.k} pairs the smallest possible p is {paired.smallest_p(r.k):.4f} "
           f"(at least {paired.min_pairs(o.alpha)} pairs are needed for p < {o.alpha:g})"]
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


def power_command(args, say: Callable[[str], None] = print) -> int:
    if args.trials < power.MIN_TRIALS:
        raise BadInput(f"--trials {args.trials}: at least {power.MIN_TRIALS} resampled comparisons are needed "
                       "for a rate")
    slowdowns = (list(DEFAULT_SLOWDOWNS) if args.slowdowns == POWER_DEFAULT_SLOWDOWNS
                 else power._slowdowns(args.slowdowns))
    md = check_output(args.markdown, "--markdown")
    side = load_side(args.runs, "RUN")
    direction = check_metric(args.metric, [side])
    block = interleave_of(side.envs)
    labels = paired.variant_labels(side.results.frame, block)
    values = [labels[a].split("=", 1)[-1] for a in sorted(labels)]
    knob = block.get("knob") or labels[min(labels)].split("=", 1)[0]
    if len(set(values)) > 1:
        raise BadInput(f"RUN is not an A/A run: its arms ran {', '.join(clean(labels[a]) for a in sorted(labels))}; "
                       f"power needs arms of the same value (--interleave {clean(knob)}={values[0]},{values[0]})")
    from mapbench_cli.cli import options_from
    options = options_from(args)
    m = slot_matrix(side.ok, args.metric)
    if not m.cases:
        raise BadInput("no case has values in both arm 0 and arm 1")
    if args.processes > len(m.slots):
        raise BadInput(f"--processes {args.processes}: the run has only {len(m.slots)} process slots with both arms; "
                       f"ask for at most {len(m.slots)}, or run more")
    result = analyse(m, args.metric, direction, options, args.processes, args.trials, slowdowns)
    if len(labels) > 2:
        result.notes.append(f"note: {len(labels)} arms; power tests arm 1 against arm 0 only")
    if args.processes < paired.min_pairs(options.alpha):
        result.notes.append(f"note: {args.processes} pairs can never reach p < {options.alpha:g}: nothing is ever "
                            f"flagged; use --processes {paired.min_pairs(options.alpha)} or more")
    ignored = [f"--{name} {getattr(args, name)}" for name in ("split", "unit") if getattr(args, name, "auto") != "auto"]
    if ignored:
        result.notes.append(f"note: {' and '.join(ignored)} {'do' if len(ignored) > 1 else 'does'} not apply to an "
                            "interleaved run: trials draw process slots, the same for both arms")
    fewer = [(compare.case_label(*key), int(n)) for key, n in zip(m.cases, np.isfinite(m.d).sum(axis=1))
             if n < len(m.slots)]
    if fewer:
        lack = "cases lack" if len(fewer) != 1 else "case lacks"
        result.notes.append(f"note: {len(fewer)} {lack} a pair in some slots (e.g. {clean(fewer[0][0])}: "
                            f"{fewer[0][1]} of {len(m.slots)}): their trials have fewer than {args.processes} pairs, "
                            "and less power")
    result.notes += [f"warning: {w}" for w in side.results.warnings]
    text = lines(result, knob, values)
    for line in text:
        say(line)
    if md:
        try:
            md.write_text("## mapbench power (paired)\n\n```\n" + "\n".join(clean(t) for t in text) + "\n```\n",
                          encoding="utf-8")
        except OSError as e:
            raise BadInput(f"--markdown {md}: cannot write: {e.strerror or e}") from None
        say(f"wrote {md}")
    return 0
