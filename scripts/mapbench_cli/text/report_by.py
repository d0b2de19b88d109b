"""`mapbench report RUN... --by host|kernel_release|machine_class`: the machines side by side.

One table per family with one column per value of the identity column (each cell the
median time per operation and its confidence interval over that machine's repetitions),
and the environment settings that differ between the machines, one column per machine
(a machine whose own runs disagree shows their values joined by " | ").
"""

from __future__ import annotations

from typing import Dict, List, Optional

import pandas as pd

from mapbench_cli.data import environment, schema
from mapbench_cli.data.runs import Results
from mapbench_cli.stats import summary as stats
from mapbench_cli.text.report import CONFIDENCE, TIME, _parts
from mapbench_cli.text.tables import Table, number
from mapbench_cli.text.words import file_part

NONE = "(none)"


def shown(value: str) -> str:
    return value if value else NONE


def values_of(frame: pd.DataFrame, by: str) -> List[str]:
    """The column's values in first-seen order ("" for an empty cell)."""
    return list(dict.fromkeys(frame[by].astype(str).str.strip())) if by in frame else [""]


def family_table_by(family: str, rows: pd.DataFrame, by: str, values: List[str]) -> Table:
    """Per case: its varying parameters, then per machine `median [CI]` of the time per operation."""
    keys = ["name", "threads"]
    groups = {v: rows[rows[by].astype(str).str.strip() == v] for v in values}
    summaries = {v: stats.summarize(g, keys, TIME, CONFIDENCE) for v, g in groups.items() if not g.empty}
    cases = list(dict.fromkeys((r["name"], r["threads"]) for s in summaries.values() for _, r in s.iterrows()))
    parsed = {name: _parts(name) for name, _ in cases}
    param_keys: List[str] = []
    for _, params in parsed.values():
        param_keys += [k for k in params if k not in param_keys]
    shown_keys = [k for k in param_keys if len({p.get(k) for _, p in parsed.values()}) > 1] or param_keys[:1]
    workloads = {tuple(w[1:]) for w, _ in parsed.values()}
    medians = [m for s in summaries.values() for m in s["median"].tolist()]
    divisor, unit = schema.display_scale(TIME, medians)
    by_case = {v: {(r["name"], r["threads"]): r for _, r in s.iterrows()} for v, s in summaries.items()}
    headers = (["workload"] if len(workloads) > 1 else []) + shown_keys + [f"{shown(v)} ({unit})" for v in values]
    align = ["l"] * (len(headers) - len(values)) + ["r"] * len(values)
    body = []
    for name, threads in cases:
        words, params = parsed[name]
        cells = (["/".join(words[1:]) or words[0]] if len(workloads) > 1 else []) + [params.get(k, "–") for k in shown_keys]
        for v in values:
            r = by_case.get(v, {}).get((name, threads))
            cells.append("–" if r is None else f"{number(r['median'] / divisor)} "
                                                f"[{number(r['ci_low'] / divisor)}, {number(r['ci_high'] / divisor)}]")
        body.append(cells)
    caption = (f"{family}: median time per operation by {by} with {CONFIDENCE:.0%} confidence intervals of the "
               "median over repetitions")
    return Table(headers, body, align, caption, f"tab:{file_part(family)}-by-{file_part(by)}",
                 ["–: the case did not run (or no usable row) there"])


def environment_by(results: Results, by: str, values: List[str]) -> Optional[Table]:
    """The settings that differ between the machines (one column per value of `by`); None when
    no run has an environment."""
    frame = results.frame
    value_of: Dict[str, str] = {}
    for run_id, value in zip(frame["run_id"].astype(str).str.strip(), frame[by].astype(str).str.strip()):
        value_of.setdefault(run_id, value)
    flats: Dict[str, List[Dict[str, str]]] = {v: [] for v in values}
    for run in results.runs:
        if run.environment is None:
            continue
        for v in dict.fromkeys(value_of.get(i, "") for i in run.run_ids):
            flats.setdefault(v, []).append(environment.flatten(run.environment))
    if not any(flats.values()):
        return None

    def side(flat_list: List[Dict[str, str]]) -> Dict[str, str]:
        keys = set().union(*flat_list) if flat_list else set()
        return {k: " | ".join(dict.fromkeys(f.get(k, "(absent)") for f in flat_list)) for k in keys}

    sides = {v: side(flats.get(v, [])) for v in values}
    keys = sorted(set().union(*sides.values()))
    rows = [["runs"] + [str(len(flats.get(v, []))) for v in values]]
    for key in keys:
        cells = [sides[v].get(key, "(absent)") if flats.get(v) else "(unknown)" for v in values]
        if len(set(cells)) > 1:
            rows.append([key] + cells)
    return Table(["setting"] + [shown(v) for v in values], rows, ["l"] * (1 + len(values)),
                 f"Machines side by side (by {by}): the settings that differ between them", limit=2000)
