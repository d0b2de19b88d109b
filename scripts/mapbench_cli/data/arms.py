"""The arms of an interleaved run (`mapbench --interleave KNOB=A,B`) as results of their own,
for what draws one set of figures per value (plot, report): pooled, the arms would read as
repetitions of one setting."""

from __future__ import annotations

from typing import List, Tuple

import pandas as pd

from mapbench_cli.data.runs import SERIES_ARM, Results


def by_arm(results: Results) -> List[Tuple[str, Results]]:
    """[(label, results)]: [("", results)] for an ordinary run; else one entry per arm, labelled
    "arm<i>-<knob=value>", its rows and its series points only."""
    frame = results.frame
    arms = pd.to_numeric(frame[SERIES_ARM], errors="coerce") if SERIES_ARM in frame else pd.Series(dtype=float)
    numbers = sorted(int(a) for a in arms.dropna().unique())
    if len(numbers) < 2:
        return [("", results)]
    parts = []
    for arm in numbers:
        rows = frame[arms == arm]
        variants = [v for v in rows.get("variant", pd.Series(dtype=str)).astype(str).unique() if v]
        series = results.series
        if series is not None and SERIES_ARM in series:
            series = series[series[SERIES_ARM] == arm]
        label = f"arm{arm}" + (f"-{variants[0]}" if variants else "")
        parts.append((label, Results(rows, results.runs, results.warnings, series)))
    return parts
