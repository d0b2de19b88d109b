"""`compare DATASET --by host|kernel_release|machine_class`: the machines of one dataset (a merged
one, or several runs) side by side: the first value (BASE) against each of the others
(CURRENT), each family on its headline column unless a metric is given, as two runs compare.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from mapbench_cli.data.runs import BadInput
from mapbench_cli.stats import headline, outcome as two_runs
from mapbench_cli.stats.compare import Options
from mapbench_cli.stats.outcome import Outcome
from mapbench_cli.text.words import clean

COLUMNS = ("host", "kernel_release", "machine_class")


def run(paths: Sequence[str], by: str, metric: Optional[str], options: Options = Options()) -> List[Outcome]:
    whole = two_runs.load_side(paths, "DATASET")
    two_runs.refuse_interleaved([whole])
    frame = whole.results.frame
    if by not in frame:
        raise BadInput(f"--by {by}: the runs have no {by} column (recorded since the identity columns; "
                       "`mapbench merge` fills it from environment.json)")
    labels = frame[by].fillna("").astype(str).str.strip()
    values = [v for v in dict.fromkeys(labels) if v]
    if len(values) < 2:
        said = f"only {clean(values[0])}" if values else "none"
        raise BadInput(f"--by {by}: the rows name {said}; comparing needs two or more")
    steal = None if metric is None else options.max_steal   # headline.compare leaves steal out per group
    base = two_runs.rows_of(whole, labels == values[0], "BASE", [f"{by} {values[0]}"], steal)
    outcomes: List[Outcome] = []
    for value in values[1:]:
        current = two_runs.rows_of(whole, labels == value, "CURRENT", [f"{by} {value}"], steal)
        outcomes += (headline.compare(base, current, options) if metric is None
                     else [two_runs.compare_sides(base, current, metric, options)])
    return outcomes
