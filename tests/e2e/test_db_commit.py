"""db_commit rows: every sync proven on the device, the crash check's counts, tmpfs skipped."""
import os

import pandas as pd
import pytest

QUICK = ["--filter", "^db_commit/", "--benchmark_repetitions=1"]


def test_quick_rows_are_proven_and_the_crash_check_counts(run_mapbench, tmp_path):
    result = run_mapbench(*QUICK, "--out_dir=run")
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    commit = rows[rows["op"] == "commit"]
    crash = rows[rows["op"] == "crash"]
    assert set(commit["method"]) == {"wal_fdatasync", "mmap_msync", "pwrite_sync_file_range"}
    assert len(crash) == 1  # one trial in the quick suite
    for _, row in rows.iterrows():
        assert row["status"] == "ok", f"{row['name']}: {row['validation']} | {row['config_note']}"
    for _, row in commit.iterrows():
        where = f"{row['name']}: {row['validation']}"
        assert row["validation"].startswith("durable after each of"), where
        assert "O_DIRECT read of the group's pages equal to what was committed" in row["validation"], where
        assert row["syncs_per_op"] == pytest.approx(1 / row["group"]), where
        assert row["file_dirty_pages_after_sync"] == 0, where
        if "device write cache: write back" in row["config_note"]:
            assert "write-back cache was flushed during every sync" in row["validation"], where
    row = crash.iloc[0]
    assert row["reported_synced"] >= 1, row["validation"]
    assert row["found_intact"] >= row["reported_synced"], row["validation"]
    assert row["torn_records"] >= 0
    assert "not survival of power loss" in row["validation"]


def test_in_memory_scratch_is_skipped_with_the_reason(run_mapbench, tmp_path):
    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm")
    result = run_mapbench(*QUICK, "--scratch_dir=/dev/shm", "--out_dir=run")
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert set(rows["status"]) == {"skipped"}
    assert rows["message"].str.contains("a sync reaches no device here \\(tmpfs").all()
