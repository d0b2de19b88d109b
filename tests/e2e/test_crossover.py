"""The crossover family end to end: memory cgroups made per case and never left behind,
every read checked, series.csv keyed like results.csv."""
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pandas as pd
import pytest

# Random reads of the quick suite's 128 MiB file: fitting (0.5) and twice the limit (2).
SMALL = ["--filter", "^crossover/method:(pread|mmap)/advice:(none|random)/.*file_to_limit:(0.5|2)/.*readers:1$",
         "--benchmark_repetitions=2"]


def memory_cgroup_dir():
    """This process's memory cgroup directory (v1 memory hierarchy, else v2), or None."""
    lines = pathlib.Path("/proc/self/cgroup").read_text().splitlines()
    v1 = [line.split(":", 2)[2] for line in lines if "memory" in line.split(":")[1].split(",")]
    v2 = [line.split(":", 2)[2] for line in lines if line.startswith("0::")]
    for mount in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = mount.partition(" - ")
        root, point = fields.split()[3:5]
        fstype, _, options = tail.split()[:3]
        for path, wanted in ((v1, fstype == "cgroup" and "memory" in options.split(",")),
                             (v2 if not v1 else [], fstype == "cgroup2")):
            if path and wanted and root == "/":
                return pathlib.Path(point + path[0].rstrip("/"))
    return None


@pytest.fixture
def cgroups():
    base = memory_cgroup_dir()
    if base is None or os.geteuid() != 0:
        pytest.skip("needs root and a memory cgroup controller")
    return base


def left_behind(base):
    return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.startswith("mapbench-"))


def test_rows_are_checked_and_series_match_them(run_mapbench, tmp_path, cgroups):
    before = left_behind(cgroups)
    result = run_mapbench(*SMALL, "--out_dir=run", timeout=300)
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(rows) == 12 and set(rows["status"]) == {"ok"}, rows[["name", "status", "message"]]
    assert rows["validation"].str.match(r"all \d+ blocks read matched their known sums").all()
    assert (rows["cgroup_peak_mib"] <= rows["limit_mib"] + 1).all(), "the limit held"
    over = rows[rows["file_to_limit"] == 2]
    fits = rows[rows["file_to_limit"] == 0.5]
    assert over["eviction_start_s"].notna().all(), "a file twice the limit forces eviction"
    assert fits["eviction_start_s"].isna().all(), "a file half the limit is never evicted"
    assert (fits["read_amplification"] < 0.01).all(), "a cached file is not read again"

    series = pd.read_csv(tmp_path / "run" / "series.csv")
    assert list(series.columns) == ["schema_version", "run_id", "family", "name", "process", "repetition",
                                    "t_s", "series", "value"]
    assert set(series["series"]) >= {"bytes_per_second", "major_faults", "evicted_pages", "cgroup_usage_mib",
                                     "disk_read_bytes"}
    keys = set(map(tuple, rows[["name", "process", "repetition"]].values))
    assert set(map(tuple, series[["name", "process", "repetition"]].drop_duplicates().values)) == keys
    usage = series[series["series"] == "cgroup_usage_mib"].merge(rows[["name", "limit_mib"]].drop_duplicates())
    assert (usage["value"] <= usage["limit_mib"] + 1).all()
    assert left_behind(cgroups) == before, "no cgroup left behind"


def start_in_a_case(binary, cwd, cgroups):
    """Starts a long crossover run and returns it once a case sits in its cgroup."""
    process = subprocess.Popen([binary, *SMALL[:2], "--benchmark_repetitions=200", "--out_dir=run"],
                               cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mine = cgroups / f"mapbench-{process.pid}"
    deadline = time.time() + 60
    while time.time() < deadline and not mine.exists():
        time.sleep(0.01)
    assert mine.exists(), "a case runs inside its own cgroup"
    return process, mine


def test_ctrl_c_mid_case_removes_the_cgroup(mapbench_binary, tmp_path, cgroups):
    process, mine = start_in_a_case(mapbench_binary, tmp_path, cgroups)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGINT
    assert not mine.exists()


def test_a_killed_runs_cgroup_is_removed_at_the_next_start(mapbench_binary, run_mapbench, tmp_path, cgroups):
    process, mine = start_in_a_case(mapbench_binary, tmp_path, cgroups)
    process.kill()
    process.wait(timeout=30)
    time.sleep(0.5)  # the case process dies with its parent
    assert mine.exists(), "kill -9 leaves the cgroup"
    result = run_mapbench("--restore_tunings")
    assert result.returncode == 0, result.stderr
    assert not mine.exists()


def test_without_root_the_cases_skip_and_say_why(mapbench_binary):
    if os.geteuid() != 0 or not shutil.which("setpriv") or memory_cgroup_dir() is None:
        pytest.skip("needs root to switch to an unprivileged user, and a memory controller")
    base = pathlib.Path(tempfile.mkdtemp(prefix="mapbench-noroot-"))
    try:
        os.chmod(base, 0o777)
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 mapbench_binary, "--filter", SMALL[1], "--benchmark_repetitions=1",
                                 "--out_dir", str(base / "run"), "--scratch_dir", str(base)],
                                cwd=base, capture_output=True, text=True, timeout=120)
        if result.returncode == 126 or "mapbench:" not in result.stderr:
            pytest.skip("the build directory is not reachable by an unprivileged user")
        assert result.returncode == 0, result.stderr
        rows = pd.read_csv(base / "run" / "results.csv")
        assert set(rows["status"]) == {"skipped"}
        assert rows["message"].str.contains("needs root").all(), rows["message"].tolist()
    finally:
        shutil.rmtree(base)
