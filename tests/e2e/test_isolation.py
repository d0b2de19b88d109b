"""A case that crashes or hangs becomes an error row; the suite goes on."""
import json
import subprocess

import pandas as pd


def test_crashes_and_hangs_become_error_rows(faulty_binary, tmp_path):
    result = subprocess.run(
        [faulty_binary, "--filter", "^fault_injection/", "--case_timeout=2", "--out_dir=run",
         "--benchmark_repetitions=2", "--benchmark_min_time=0.01"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr  # failed rows: exit 1, results kept
    rows = pd.read_csv(tmp_path / "run" / "results.csv").set_index("fault")
    assert rows.loc["segv", "status"] == "error"
    assert "signal 11" in rows.loc["segv", "message"]
    assert "signal 7" in rows.loc["bus", "message"]  # SIGBUS
    assert "signal 6" in rows.loc["abort", "message"]
    assert "time limit" in rows.loc["hang", "message"]
    ok = rows.loc[["none"]]
    assert len(ok) == 2 and set(ok["status"]) == {"ok"}, "the case after the failures still ran"
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["run"]["complete"] is True
    assert env["run"]["row_status_counts"] == {"error": 4, "ok": 2}
    assert not list(tmp_path.glob(".mapbench-scratch-*"))
    # Google Benchmark's JSON is kept by default; the crashed cases wrote none of theirs.
    gb = json.loads((tmp_path / "run" / "benchmark.json").read_text())
    assert {b["run_name"].split("/")[1] for b in gb["benchmarks"]} == {"fault:none"}
    assert not (tmp_path / "run" / ".benchmark-case.json").exists()


def test_processes_repeat_every_case_in_separate_processes(mapbench_binary, tmp_path):
    result = subprocess.run(
        [mapbench_binary, "--filter", "ceiling/memory_read/pattern:seq/block_kib:1024",
         "--processes=3", "--benchmark_repetitions=2", "--benchmark_min_time=0.01",
         "--out_dir=run", "--benchmark_out=gb.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert sorted(rows["process"].unique()) == [0, 1, 2]
    assert len(rows) == 6
    # Google Benchmark's own JSON keeps every process's runs in one document.
    gb = json.loads((tmp_path / "gb.json").read_text())
    assert sum(b["run_type"] == "iteration" for b in gb["benchmarks"]) == 6


def test_every_run_keeps_google_benchmarks_json(mapbench_binary, tmp_path):
    """benchmark.json in the run folder, as Google Benchmark 1.7.1 writes it (checked against the
    schema the exporter's tests use), every process's repetitions and aggregates in one document."""
    import jsonschema
    from pathlib import Path
    result = subprocess.run(
        [mapbench_binary, "--filter", "ceiling/memory_read/pattern:seq/block_kib:1024",
         "--processes=2", "--benchmark_repetitions=2", "--benchmark_min_time=0.01", "--out_dir=run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    gb = json.loads((tmp_path / "run" / "benchmark.json").read_text())
    schema = Path(__file__).resolve().parents[1] / "scripts/fixtures/formats/google-benchmark-1.7.1.schema.json"
    jsonschema.validate(gb, json.loads(schema.read_text()), cls=jsonschema.Draft7Validator)
    assert sum(b["run_type"] == "iteration" for b in gb["benchmarks"]) == 4
    assert sum(b["run_type"] == "aggregate" for b in gb["benchmarks"]) == 8   # mean, median, stddev, cv x 2
    assert not (tmp_path / "run" / ".benchmark-case.json").exists()
