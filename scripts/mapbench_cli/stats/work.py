"""Work metrics as regression signals of their own.

Counts of work per unit — faults per page, major faults per GiB, TLB shootdowns per
operation, device writes and flushes per operation, pages dirtied or written back per
operation, bytes read per byte served — barely move between processes even where time
spreads 30 % on a shared VM: they say what the kernel did, not how fast. So `compare`
checks them apart from its time verdict, with a tolerance of their own, and reports a
change of behaviour ("a fault now maps 16 pages, was 32") even when time is too noisy to
call.

A case's work metric changed when the medians of the two sides differ by more than the
tolerance AND every process median of one side lies beyond every process median of the
other (no overlap at all): a counter that is noisy here (context switches, say) cannot
pass both. Pure computation: no printing, no matplotlib.
"""

from __future__ import annotations

import math
import re
from typing import List, Mapping

import numpy as np
import pandas as pd

from mapbench_cli.stats import compare

DEFAULT_TOLERANCE = 0.05

# Faults of every kind, TLB work, device requests, vmstat page counts, read amplification.
_WORK = re.compile(r"(^|_)(faults|tlb_shootdowns|tlb_remote_flushes|device_(writes|flushes|kib_written)"
                   r"|vmstat_nr_(dirtied|written))_per_|^read_amplification$|^pages_dirtied_by_one_store$")


def is_work_metric(column: str) -> bool:
    return bool(_WORK.search(column))


def work_metrics(columns) -> List[str]:
    return [c for c in columns if is_work_metric(c)]


def _medians(blocks: List[np.ndarray]) -> np.ndarray:
    return np.array([np.median(b) for b in blocks if len(b)], dtype=float)


def describe(metric: str, base: float, current: float) -> str:
    """'minor_faults_per_page 0.03125 -> 0.0625 (a fault now maps 16 pages, was 32)'."""
    text = f"{metric} {base:.4g} → {current:.4g}"
    if metric.endswith("faults_per_page") and base > 0 and current > 0:
        text += f" (a fault now maps {1 / current:.3g} pages, was {1 / base:.3g})"
    elif base == 0:
        text += " (none before)"
    elif current == 0:
        text += " (none now)"
    return text


def changes(base: pd.DataFrame, current: pd.DataFrame, metrics: List[str],
            tolerance: float = DEFAULT_TOLERANCE, cases=None) -> pd.DataFrame:
    """One row per (case, metric) whose work changed: name, threads, metric, base, current,
    ratio (current/base, inf from 0), words. `cases` limits the check to those keys."""
    rows = []
    for metric in metrics:
        b_all = compare.blocks_by_case(base, metric)
        c_all = compare.blocks_by_case(current, metric)
        for key in sorted(set(b_all) & set(c_all)):
            if cases is not None and key not in cases:
                continue
            b, c = _medians(b_all[key]), _medians(c_all[key])
            if not len(b) or not len(c):
                continue
            mb, mc = float(np.median(b)), float(np.median(c))
            if mb == mc:
                continue
            ratio = mc / mb if mb > 0 else math.inf
            relative = abs(mc - mb) / max(abs(mb), abs(mc))
            apart = b.max() < c.min() or c.max() < b.min()
            if relative > tolerance and apart:
                rows.append({"name": key[0], "threads": key[1], "metric": metric, "base": mb, "current": mc,
                             "ratio": ratio, "words": describe(metric, mb, mc)})
    return pd.DataFrame(rows, columns=["name", "threads", "metric", "base", "current", "ratio", "words"])
