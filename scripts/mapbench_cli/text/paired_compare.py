"""`mapbench compare RUN` on one interleaved run (stats/paired_outcome.py) as text: the
terminal lines and the CSV of every arm against arm 0. text/compare.py words each Outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pandas as pd

from mapbench_cli.stats.outcome import Outcome
from mapbench_cli.text import compare as two_runs


def terminal(outcomes: List[Outcome]) -> List[str]:
    """Every arm's comparison, a blank line between them."""
    lines: List[str] = []
    for i, outcome in enumerate(outcomes):
        if i:
            lines.append("")
        lines += with_paired_line(two_runs.terminal(outcome), outcome)
    return lines


def markdown(outcomes: List[Outcome]) -> str:
    return "\n".join(two_runs.markdown(o, title(o)) for o in outcomes)


def with_paired_line(lines: List[str], outcome: Outcome) -> List[str]:
    """The terminal lines with the "paired: ..." note moved up, under the headline."""
    note = outcome.notes[0]
    rest = [line for line in lines if line.strip() != note]
    if rest and rest[-1] == "Notes:":
        rest.pop()
    return rest[:1] + [note] + rest[1:]


def title(outcome: Outcome) -> str:
    (_, base), (_, current) = outcome.arms
    return f"mapbench compare {current} vs {base}"


def csv_frame(outcomes: List[Outcome]) -> pd.DataFrame:
    frames = []
    for o in outcomes:
        f = two_runs.csv_frame(o)
        (base_arm, base), (current_arm, current) = o.arms
        for i, (column, value) in enumerate((("base_arm", base_arm), ("base_variant", base),
                                             ("current_arm", current_arm), ("current_variant", current))):
            f.insert(i, column, two_runs._csv_safe(value))
        frames.append(f)
    return pd.concat(frames, ignore_index=True, sort=False)


def write_csv(outcomes: List[Outcome], path: Path) -> None:
    csv_frame(outcomes).to_csv(path, index=False, float_format="%.10g")
