"""Crossover run folders built in code, shaped exactly like the harness writes them
(benchmarks/crossover.cc, harness/series.cc; the header order of a real quick run), with
throughputs chosen by the test so the ratios and crossovers are known in advance.

    rows = make_rows(model)                 # one dict per repetition, every column
    write_run(tmp_path / "run", rows)       # results.csv, series.csv, environment.json

`model(method, advice, pattern, file_to_limit, readers)` gives the steady-state throughput
(bytes/s) of a case; each repetition is that times a small deterministic spread (±`spread`),
so a ratio's interval is narrow unless the test asks otherwise.
"""

import csv
import json
from pathlib import Path

import numpy as np

RUN_ID = "20261122-040000-quick-c0de"
FILE_MIB = 128
RATIOS = (0.25, 0.5, 1.0, 2.0, 4.0)
SPAN_S = 2.0
BUCKET_S = 0.1
BASE = ["schema_version", "run_id", "family", "workload", "name", "process", "repetition", "repetitions", "threads",
        "status", "valid", "config_ok", "validation", "config_note", "message", "iterations", "ns_per_op",
        "cpu_ns_per_op", "bytes_per_op", "bytes_per_second", "pages_per_op", "counters_mode", "counter_run_fraction"]
PARAMS = ["method", "advice", "pattern", "block_kib", "file_mib", "file_to_limit", "limit_mib", "readers"]
METRICS = ["steady_bytes_per_second", "read_amplification", "major_faults_per_gib", "tlb_shootdowns_per_gib",
           "cgroup_peak_mib", "eviction_start_s"]
COUNTERS = ["minor_faults_per_op", "minor_faults_per_page", "major_faults_per_op", "major_faults_per_page",
            "context_switches_per_op", "context_switches_per_page"]
HEADER = BASE + PARAMS + METRICS + COUNTERS
SERIES_HEADER = ["schema_version", "run_id", "family", "name", "process", "repetition", "t_s", "series", "value"]
GIB = 1 << 30


def default_model(method, advice, pattern, ratio, readers):
    """mmap twice as fast while the file fits, pread ahead once it does not (MADV_RANDOM
    holds on up to 1)."""
    if method == "pread":
        return 2e9 if ratio <= 1 else 2e8 / ratio
    if advice == "random":
        return 4e9 if ratio <= 1 else 1e8 / ratio
    return 4e9 if ratio < 1 else 1e9 if ratio == 1 else 2e6


def _ratio_text(r):
    return f"{r:g}"


def name_of(method, advice, pattern, ratio, readers, file_mib=FILE_MIB):
    limit = int(file_mib / ratio)
    return (f"crossover/method:{method}/advice:{advice}/pattern:{pattern}/block_kib:4/file_mib:{file_mib}/"
            f"file_to_limit:{_ratio_text(ratio)}/limit_mib:{limit}/readers:{readers}")


def make_rows(model=default_model, patterns=("random",), advices=("none", "random"), readers=(1, 2), ratios=RATIOS,
              processes=1, repetitions=5, spread=0.02, run_id=RUN_ID, file_mib=FILE_MIB, seed=0, baselines=()):
    """`baselines`: other methods (odirect_pread, io_uring_odirect_qd32, ...) run beside pread
    and mmap, advice none; the model is asked for them too (None: not run there)."""
    rng = np.random.default_rng(seed)
    rows = []
    variants = [("pread", "none")] + [("mmap", a) for a in advices] + [(m, "none") for m in baselines]
    for pattern in patterns:
        for ratio in ratios:
            for r in readers:
                for method, advice in variants:
                    steady = model(method, advice, pattern, ratio, r)
                    if steady is None:
                        continue
                    for p in range(processes):
                        for rep in range(repetitions):
                            value = steady * (1 + spread * rng.uniform(-1, 1))
                            rows.append(_row(method, advice, pattern, ratio, r, p, rep, repetitions, value, run_id,
                                             file_mib))
    return rows


def _row(method, advice, pattern, ratio, readers, process, repetition, repetitions, steady, run_id, file_mib):
    limit = int(file_mib / ratio)
    total = steady * SPAN_S * (1.4 if ratio > 1 else 1.0)  # the first buckets are faster
    evicted = ratio > 1
    row = dict.fromkeys(HEADER, "")
    row.update({
        "schema_version": 1, "run_id": run_id, "family": "crossover", "workload": "crossover",
        "name": name_of(method, advice, pattern, ratio, readers, file_mib), "process": process,
        "repetition": repetition, "repetitions": repetitions, "threads": 1, "status": "ok", "valid": 1,
        "config_ok": 1, "validation": f"all {int(total // 4096)} blocks read matched their known sums",
        "config_note": (f"0.0% resident after eviction; cgroup v1 limit {limit} MiB, 0 MiB in use before the fill; "
                        f"{4096 if evicted else 0} pages evicted while reading"),
        "iterations": 1, "ns_per_op": f"{SPAN_S * 1e9:.0f}", "cpu_ns_per_op": 1913385, "bytes_per_op": f"{total:.0f}",
        "bytes_per_second": f"{total / SPAN_S:.10g}", "pages_per_op": f"{total / 4096:.0f}",
        "counters_mode": "software", "counter_run_fraction": 1,
        "method": method, "advice": advice, "pattern": pattern, "block_kib": 4, "file_mib": file_mib,
        "file_to_limit": _ratio_text(ratio), "limit_mib": limit, "readers": readers,
        "steady_bytes_per_second": f"{steady:.10g}", "read_amplification": 1.2 if evicted else 0,
        "major_faults_per_gib": 200 if evicted and method == "mmap" else 0,
        "tlb_shootdowns_per_gib": 50 if method == "mmap" else 0, "cgroup_peak_mib": min(limit, file_mib) + 1.25,
        "eviction_start_s": (0.3 if method == "pread" else 0.5) if evicted else "",
        "minor_faults_per_op": 5, "minor_faults_per_page": 5e-5, "major_faults_per_op": 0, "major_faults_per_page": 0,
        "context_switches_per_op": 26, "context_switches_per_page": 0.00027,
    })
    return row


def series_of(rows, buckets=int(SPAN_S / BUCKET_S)):
    """series.csv lines for each row: faster before eviction, then the row's steady state."""
    lines = []
    for row in rows:
        steady = float(row["steady_bytes_per_second"])
        start = float(row["eviction_start_s"]) if row["eviction_start_s"] != "" else None
        limit = float(row["limit_mib"])
        for k in range(1, buckets + 1):
            t = round(k * BUCKET_S + 0.0001 * k, 6)
            before = start is not None and t <= start + BUCKET_S / 2
            rate = steady * (3 if before else 1)
            points = {"bytes_per_second": rate, "major_faults": 0 if before or start is None else 40,
                      "evicted_pages": 0 if before or start is None else 800,
                      "cgroup_usage_mib": min(limit, FILE_MIB) * (0.75 if before else 1.0),
                      "disk_read_bytes": 0 if start is None else rate * BUCKET_S * 1.2, "tlb_shootdowns": 3}
            for series, value in points.items():
                lines.append([1, row["run_id"], "crossover", row["name"], row["process"], row["repetition"],
                              f"{t:.9g}", series, f"{value:.9g}"])
    return lines


def write_run(folder, rows, series=True, series_lines=None, environment=True):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "results.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([row[c] for c in HEADER])
    if series:
        with open(folder / "series.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(SERIES_HEADER)
            writer.writerows(series_of(rows) if series_lines is None else series_lines)
    if environment:
        run_ids = sorted({r["run_id"] for r in rows})
        (folder / "environment.json").write_text(json.dumps({"run": {
            "run_id": run_ids[0] if run_ids else RUN_ID, "complete": True, "suite": "quick", "processes": 1}}))
    return folder
