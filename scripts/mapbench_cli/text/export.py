"""`export`: one run in the formats other tools read (documents as Python values, ready for json.dump).

- github-action-benchmark (https://github.com/benchmark-action/github-action-benchmark, the
  `customSmallerIsBetter` / `customBiggerIsBetter` tools): a list of {name, unit, value, range,
  extra}, value the median over the repetitions, range its interval;
- Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format):
  {benchmark: {measure: {value, lower_value, upper_value}}}, the median and its interval;
- Google Benchmark 1.7.1's JSON (`--benchmark_out_format=json`): context + one `iteration` entry
  per repetition (a row that did not run is an `error_occurred` entry, as Google Benchmark writes
  a skipped one) + the `mean`, `median`, `stddev` and `cv` aggregates of each case and process.

The interval is the one of plot and compare: the order-statistics interval of the median
(stats/summary.py), whose real coverage is said in `extra` when few repetitions cap it.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from mapbench_cli.data import schema
from mapbench_cli.stats import compare
from mapbench_cli.stats import summary as stats
from mapbench_cli.stats.outcome import Side

GITHUB_ACTION, BENCHER, GOOGLE_BENCHMARK = "github-action-benchmark", "bencher", "google-benchmark"
FORMATS = (GITHUB_ACTION, BENCHER, GOOGLE_BENCHMARK)
TOOLS = {schema.LOWER: "customSmallerIsBetter", schema.HIGHER: "customBiggerIsBetter"}


def _finite(value) -> Optional[float]:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def unit_of(metric: str) -> str:
    """The stored unit from schema.py, per what the metric counts (e.g. 'ns/op'); the name when it has none."""
    column = schema.describe(metric)
    per = {"_per_op": "op", "_per_page": "page", "_per_dirty_page": "dirty page", "_per_access": "access"}
    for suffix, word in per.items():
        if metric.endswith(suffix) and column.unit:
            return f"{column.unit}/{word}"
    return column.unit or metric


def measure_slug(metric: str) -> str:
    """A Bencher measure slug (kebab case, at most 64 characters)."""
    return metric.replace("_", "-")[:64]


def summaries(side: Side, metric: str, confidence: float = 0.95) -> List[dict]:
    """Per case (name, threads), in the run's order: n, median, ci_low, ci_high, coverage."""
    out = []
    for (name, threads), blocks in compare.blocks_by_case(side.ok, metric).items():
        x = np.concatenate(blocks)
        interval = stats.median_ci(x, confidence)
        out.append({"case": compare.case_label(name, threads), "name": name, "threads": threads, "n": int(x.size),
                    "processes": len(blocks), "median": float(np.median(x)), "ci_low": interval.low,
                    "ci_high": interval.high, "coverage": interval.coverage})
    return out


def _extra(s: dict, metric: str, run_id: str) -> str:
    return (f"median of {s['n']} repetitions ({s['processes']} process{'es' if s['processes'] != 1 else ''}); "
            f"range: {s['coverage']:.0%} interval of the median (order statistics)\nmetric {metric}, run {run_id}")


def github_action(side: Side, metric: str, run_id: str, confidence: float = 0.95) -> List[dict]:
    unit = unit_of(metric)
    return [{"name": s["case"], "unit": unit, "value": s["median"],
             "range": f"{s['ci_low']:.6g} .. {s['ci_high']:.6g}", "extra": _extra(s, metric, run_id)}
            for s in summaries(side, metric, confidence)]


def bencher(side: Side, metrics: Sequence[str], confidence: float = 0.95) -> Dict[str, dict]:
    out: Dict[str, dict] = {}
    for metric in metrics:
        for s in summaries(side, metric, confidence):
            out.setdefault(s["case"], {})[measure_slug(metric)] = {
                "value": s["median"], "lower_value": s["ci_low"], "upper_value": s["ci_high"]}
    return out


# --- Google Benchmark -----------------------------------------------------------------------

def _context(env: Optional[dict], run_id: str) -> dict:
    env = env if isinstance(env, dict) else {}
    run, cpu, build = (env.get(k) if isinstance(env.get(k), dict) else {} for k in ("run", "cpu", "build"))
    command = run.get("command_line") if isinstance(run.get("command_line"), list) else []
    load = env.get("load_avg")
    return {
        "date": str(run.get("start_time") or ""),
        "host_name": str(run.get("hostname") or ""),
        "executable": str(command[0]) if command else "",
        "num_cpus": int(cpu.get("logical_cpus") or 0),
        "mhz_per_cpu": int(cpu.get("mhz") or 0),
        "cpu_scaling_enabled": cpu.get("scaling_governor") not in (None, "", "performance"),
        "caches": [],
        "load_avg": load if isinstance(load, list) else [],
        "library_build_type": "release" if str(build.get("build_type", "")).lower() == "release" else "debug",
        "mapbench_run_id": run_id,
        "mapbench_note": "exported from results.csv by `scripts/mapbench export`; library_build_type is "
                         "mapbench's build, not Google Benchmark's; caches and load_avg are not recorded",
    }


def _entry(base: dict, real: float, cpu: float, iterations: float, counters: Dict[str, float]) -> dict:
    entry = dict(base, iterations=int(iterations) if math.isfinite(iterations) else 0, real_time=real,
                 cpu_time=cpu, time_unit="ns")
    entry.update({k: v for k, v in counters.items() if v is not None})
    return entry


def _aggregate(values: np.ndarray, name: str) -> Optional[float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    mean = float(np.mean(values))
    stddev = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return {"mean": mean, "median": float(np.median(values)), "stddev": stddev,
            "cv": stddev / mean if mean else 0.0}[name]


AGGREGATES = ("mean", "median", "stddev", "cv")


def google_benchmark(side: Side, metrics: Sequence[str], run_id: str) -> dict:
    frame = side.results.frame
    ok_index = set(side.ok.index)
    counters = [m for m in dict.fromkeys(["bytes_per_second", *metrics]) if m not in ("ns_per_op", "cpu_ns_per_op")
                and m in side.ok]
    benchmarks: List[dict] = []
    families = list(dict.fromkeys(frame["family"]))
    instance: Dict[str, List[str]] = {}
    has_process = "process" in frame
    for (name, threads), case in frame.groupby([frame["name"], frame["threads"].astype(float).fillna(1.0)],
                                               sort=False):
        family = str(case["family"].iloc[0])
        instances = instance.setdefault(family, [])
        instances.append(name)
        processes = case.groupby(case["process"].astype(float).fillna(0.0)) if has_process else [(0.0, case)]
        for _, rows in processes:
            base = {"name": name, "family_index": families.index(family),
                    "per_family_instance_index": len(instances) - 1, "run_name": name, "run_type": "iteration",
                    "repetitions": int(len(rows)), "threads": int(threads)}
            measured = []
            for i, (index, row) in enumerate(rows.iterrows()):
                entry = dict(base, repetition_index=i)
                if index not in ok_index:
                    why = str(row.get("message") or row.get("validation") or row.get("config_note") or "")
                    entry.update(error_occurred=True, error_message=f"{row['status']}: {why}".rstrip(": "))
                    benchmarks.append(entry)
                    continue
                ok = side.ok.loc[index]
                real, cpu = _finite(ok.get("ns_per_op")), _finite(ok.get("cpu_ns_per_op"))
                values = {c: _finite(ok.get(c)) for c in counters}
                entry = _entry(entry, real if real is not None else 0.0, cpu if cpu is not None else 0.0,
                               float(ok.get("iterations", 0)), values)
                benchmarks.append(entry)
                measured.append((real, cpu, values))
            if len(measured) < 2:
                continue
            real = np.array([m[0] if m[0] is not None else np.nan for m in measured])
            cpu = np.array([m[1] if m[1] is not None else np.nan for m in measured])
            for aggregate in AGGREGATES:
                values = {c: _aggregate(np.array([m[2][c] if m[2][c] is not None else np.nan for m in measured]),
                                        aggregate) for c in counters}
                entry = dict(base, name=f"{name}_{aggregate}", run_type="aggregate", aggregate_name=aggregate,
                             aggregate_unit="percentage" if aggregate == "cv" else "time")
                benchmarks.append(_entry(entry, _aggregate(real, aggregate) or 0.0, _aggregate(cpu, aggregate) or 0.0,
                                         float(len(measured)), values))
    env = side.envs[0] if side.envs else None
    return {"context": _context(env, run_id), "benchmarks": benchmarks}


def frame_run_id(frame: pd.DataFrame) -> str:
    ids = sorted(set(frame["run_id"].astype(str).str.strip()) - {""}) if "run_id" in frame else []
    return ",".join(ids[:3])
