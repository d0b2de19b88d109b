"""export: each format checked against a JSON Schema written from its documentation
(tests/scripts/fixtures/formats/, each citing its source), and the values it carries."""

import json

import jsonschema
import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES, run_launcher

FORMATS = FIXTURES / "formats"
SCHEMAS = {"github-action-benchmark": "github-action-benchmark.schema.json",
           "bencher": "bencher-metric-format.schema.json",
           "google-benchmark": "google-benchmark-1.7.1.schema.json"}
CASE = "ceiling/memory_read/pattern:seq/block_kib:4/file_mib:64"


def schema(fmt):
    return json.loads((FORMATS / SCHEMAS[fmt]).read_text())


def validate(document, fmt):
    jsonschema.validate(document, schema(fmt), cls=jsonschema.Draft7Validator)


def export(tmp_path, fmt, *extra, run=FIXTURES / "good"):
    out = tmp_path / f"{fmt}.json"
    done = run_launcher("export", run, "--format", fmt, "--out", out, *extra)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    return json.loads(text), done


def ok_values(metric, case=CASE):
    f = pd.read_csv(FIXTURES / "good" / "results.csv")
    rows = f[(f["name"] == case) & (f["status"] == "ok")]
    return rows[metric].to_numpy(float)


@pytest.mark.parametrize("fmt", sorted(SCHEMAS))
def test_every_export_matches_its_documented_schema(tmp_path, fmt):
    document, _ = export(tmp_path, fmt)
    validate(document, fmt)


def test_the_schemas_are_not_vacuous():
    with pytest.raises(jsonschema.ValidationError):
        validate([{"name": "x", "unit": "ns", "value": "12"}], "github-action-benchmark")
    with pytest.raises(jsonschema.ValidationError):
        validate({"case": {"latency": {"lower_value": 1.0}}}, "bencher")
    with pytest.raises(jsonschema.ValidationError):
        validate({"context": {}, "benchmarks": []}, "google-benchmark")


def test_the_google_benchmark_schema_accepts_what_the_library_writes():
    """A document Debian's Google Benchmark 1.7.1 wrote through build/mapbench (one case, 3 repetitions)."""
    validate(json.loads((FORMATS / "google-benchmark-sample.json").read_text()), "google-benchmark")


def test_github_action_benchmark_carries_the_median_and_its_interval(tmp_path):
    document, done = export(tmp_path, "github-action-benchmark")
    assert "customSmallerIsBetter" in done.stdout
    entry = next(e for e in document if e["name"] == CASE)
    values = ok_values("ns_per_op")
    assert entry["value"] == pytest.approx(np.median(values)) and entry["unit"] == "ns/op"
    low, high = (float(x) for x in entry["range"].split(" .. "))
    assert low == pytest.approx(values.min(), rel=1e-5) and high == pytest.approx(values.max(), rel=1e-5)
    assert "3 repetitions" in entry["extra"]


def test_github_action_benchmark_follows_the_metrics_direction(tmp_path):
    _, done = export(tmp_path, "github-action-benchmark", "--metric", "bytes_per_second")
    assert "customBiggerIsBetter" in done.stdout
    refused = run_launcher("export", FIXTURES / "good", "--format", "github-action-benchmark",
                           "--metric", "ns_per_op", "--metric", "bytes_per_second")
    assert refused.returncode == 2 and "one direction" in refused.stderr


def test_bencher_has_a_measure_per_metric(tmp_path):
    document, _ = export(tmp_path, "bencher", "--metric", "ns_per_op", "--metric", "cpu_ns_per_op")
    measures = document[CASE]
    assert set(measures) == {"ns-per-op", "cpu-ns-per-op"}
    values = ok_values("cpu_ns_per_op")
    assert measures["cpu-ns-per-op"] == pytest.approx(
        {"value": np.median(values), "lower_value": values.min(), "upper_value": values.max()})


def test_google_benchmark_has_every_repetition_and_the_aggregates(tmp_path):
    document, _ = export(tmp_path, "google-benchmark")
    entries = [b for b in document["benchmarks"] if b["run_name"] == CASE]
    iterations = [b for b in entries if b["run_type"] == "iteration"]
    assert [b["repetition_index"] for b in iterations] == [0, 1, 2]
    assert [b["real_time"] for b in iterations] == pytest.approx(list(ok_values("ns_per_op")))
    assert {b["time_unit"] for b in entries} == {"ns"}
    aggregates = {b["aggregate_name"]: b for b in entries if b["run_type"] == "aggregate"}
    assert sorted(aggregates) == ["cv", "mean", "median", "stddev"]
    assert aggregates["median"]["cpu_time"] == pytest.approx(np.median(ok_values("cpu_ns_per_op")))
    assert aggregates["cv"]["aggregate_unit"] == "percentage"
    total = len(pd.read_csv(FIXTURES / "good" / "results.csv"))
    assert sum(b["run_type"] == "iteration" for b in document["benchmarks"]) == total
    skipped = [b for b in document["benchmarks"] if b.get("error_occurred")]
    assert len(skipped) == 2 and any(b["error_message"].startswith("skipped: ") for b in skipped)
    assert document["context"]["date"] == "2026-11-22T00:49:29Z"


def test_export_writes_to_standard_output_without_out(tmp_path):
    done = run_launcher("export", FIXTURES / "good", "--format", "bencher")
    assert done.returncode == 0, done.stderr
    validate(json.loads(done.stdout), "bencher")


def test_an_interleaved_run_is_refused(tmp_path):
    """Its rows mix a knob's values case by case: a median over them would describe neither."""
    import shutil
    run = tmp_path / "aa"
    shutil.copytree(FIXTURES / "good", run)
    f = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
    f.insert(6, "arm", [str(i % 2) for i in range(len(f))])
    f.to_csv(run / "results.csv", index=False)
    done = run_launcher("export", run, "--format", "bencher")
    assert done.returncode == 2 and "interleaved run" in done.stderr
