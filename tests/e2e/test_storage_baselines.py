"""The storage baselines of read_vs_mmap (benchmarks/read_vs_mmap.cc): O_DIRECT pread and
io_uring rows are ok and checksummed on a disk filesystem; on tmpfs the O_DIRECT rows are
skipped with the reason while io_uring (buffered) still runs. Behaviour only."""
import subprocess

import pandas as pd
import pytest

CASES = ["--filter", "read_vs_mmap/method:(odirect_pread|io_uring_qd1)/", "--benchmark_repetitions=1",
         "--benchmark_min_time=0.01"]


def _rows(folder):
    rows = pd.read_csv(folder / "results.csv")
    return rows[rows["family"] == "read_vs_mmap"]


def test_direct_and_io_uring_rows_are_validated_on_disk(run_mapbench, tmp_path):
    result = run_mapbench("--out_dir=run", *CASES)
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path / "run")
    assert set(rows["method"]) == {"odirect_pread", "io_uring_qd1"}
    if "io_uring_queue_init" in " ".join(rows["message"].fillna("")):
        pytest.skip("io_uring disabled here: " + rows["message"].dropna().iloc[0])
    assert set(rows["status"]) == {"ok"}, rows[["name", "status", "message"]]
    assert rows["validation"].str.contains("matched every pass").all()
    direct = rows[rows["method"] == "odirect_pread"]
    assert direct["config_note"].str.contains("O_DIRECT, alignment").all()
    assert set(direct["cache"]) == {"cold"}


@pytest.fixture
def tmpfs(tmp_path):
    mount_point = tmp_path / "shm"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_on_tmpfs_direct_rows_are_skipped_with_the_reason(run_mapbench, tmp_path, tmpfs):
    result = run_mapbench("--scratch_dir", str(tmpfs), "--out_dir=run", *CASES)
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path / "run")
    direct = rows[rows["method"] == "odirect_pread"]
    assert len(direct) >= 1 and set(direct["status"]) == {"skipped"}
    # Refused at open (before Linux 6.6) or accepted with no device behind it (6.6+).
    assert direct["message"].str.contains("refuses O_DIRECT|tmpfs keeps files in memory").all(), direct["message"]
    uring = rows[rows["method"] == "io_uring_qd1"]
    assert set(uring["status"]) <= {"ok", "skipped"} and len(uring) >= 1
