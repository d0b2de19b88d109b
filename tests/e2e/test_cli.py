"""End-to-end behaviour of build/mapbench: bad input, a tiny real run, Ctrl-C."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pandas as pd
import pytest

# One small, fast case: sequential read of a warm 16 MiB anonymous buffer.
TINY = ["--filter", "ceiling/memory_read/pattern:seq/block_kib:1024",
        "--benchmark_repetitions=2", "--benchmark_min_time=0.01"]


@pytest.mark.parametrize("args, says", [
    (["--suite=huge"], "--suite must be quick or full"),
    (["--nonsense"], "unknown flag"),
    (["--filter=("], "not a valid regular expression"),
    (["--filter=no_such_case"], "no case matches"),
    (["--counters=no_such_event"], "--list_counters"),
    (["--counters=cycles,,x"], "empty entry"),
    (["--scratch_dir=/no/such/dir", *TINY], "/no/such/dir"),
    (["--out_dir=/proc/mapbench-cannot", *TINY], "cannot create results directory"),
    (["--benchmark_nonsense=1", *TINY], "unrecognized"),
    (["--machine_class=a,b", *TINY], "no comma"),
    (["--machine_class", "x" * 65, *TINY], "at most 64 characters"),
])
def test_bad_input_is_refused_with_one_line_before_running(run_mapbench, tmp_path, args, says):
    result = run_mapbench(*args)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("results/*/results.csv")), "nothing may run"
    assert not list(tmp_path.glob(".mapbench-scratch-*")), "no scratch left behind"


def test_list_shows_cases_with_parameters(run_mapbench):
    result = run_mapbench("--list", "--filter", "read_vs_mmap")
    assert result.returncode == 0
    lines = [l for l in result.stdout.splitlines() if not l.startswith("#")]
    assert lines and all(l.startswith("read_vs_mmap/method:") for l in lines)
    assert any("cache:cold" in l and "advice:random" in l for l in lines)


def test_tiny_run_writes_csv_and_environment(run_mapbench, tmp_path):
    result = run_mapbench(*TINY)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "results" / "latest"
    rows = pd.read_csv(run_dir / "results.csv")
    assert len(rows) == 2
    assert set(rows["status"]) == {"ok"}
    assert (rows["schema_version"] == 1).all()
    assert rows["run_id"].nunique() == 1
    assert (rows["ns_per_op"] > 0).all() and (rows["bytes_per_second"] > 0).all()
    assert rows["block_kib"].tolist() == [1024, 1024]  # parameters are columns
    env = json.loads((run_dir / "environment.json").read_text())
    assert env["run"]["complete"] is True
    assert env["run"]["run_id"] == rows["run_id"][0]
    for key in ("kernel", "cpu", "memory", "thp", "hugetlb", "vm", "scratch", "perf",
                "virtualization", "build"):
        assert key in env
    assert env["perf"]["mode"] == rows["counters_mode"][0]
    assert env["perf"]["counters_kernel"] == rows["counters_kernel"][0]
    assert str(run_dir / "results.csv").endswith("results.csv") and "results:" in result.stdout
    assert not list(tmp_path.glob(".mapbench-scratch-*"))


def test_every_row_names_its_machine(run_mapbench, tmp_path):
    result = run_mapbench(*TINY, "--machine_class", "dev vm")
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "results" / "latest"
    rows = pd.read_csv(run_dir / "results.csv", dtype=str, keep_default_na=False)
    env = json.loads((run_dir / "environment.json").read_text())
    assert set(rows["host"]) == {os.uname().nodename} == {env["run"]["hostname"]}
    assert set(rows["kernel_release"]) == {os.uname().release} == {env["kernel"]["release"]}
    assert set(rows["machine_class"]) == {"dev vm"} == {env["run"]["machine_class"]}


def test_counters_none_leaves_counter_cells_empty(run_mapbench, tmp_path):
    result = run_mapbench(*TINY, "--counters=none", "--out_dir=run")
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert set(rows["counters_mode"]) == {"none"}
    assert not any(c.endswith("_per_page") and c != "pages_per_op" for c in rows.columns)


def test_refused_kernel_counting_leaves_no_false_zero(mapbench_binary):
    """A normal user under perf_event_paranoid >= 2: counters that need kernel mode are
    empty (never 0), the both-mode ones count user mode only and every row says so."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to switch to an unprivileged user")
    paranoid = pathlib.Path("/proc/sys/kernel/perf_event_paranoid").read_text().strip()
    if int(paranoid) < 2:
        pytest.skip(f"perf_event_paranoid={paranoid}: a normal user may count kernel mode")
    base = pathlib.Path(tempfile.mkdtemp(prefix="mapbench-noroot-"))
    try:
        os.chmod(base, 0o777)
        # A case with phases too: their per-phase counters follow the same rule.
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", mapbench_binary,
             "--filter", "ceiling/memory_read/pattern:seq/block_kib:1024|"
                         "populate/method:fault/backing:anon/size_mib:16/state:steady",
             "--benchmark_repetitions=1", "--benchmark_min_time=0.01", "--out_dir", str(base / "run")],
            cwd=base, capture_output=True, text=True, timeout=120)
        if result.returncode == 126 or "mapbench:" not in result.stderr:
            pytest.skip("the build directory is not reachable by an unprivileged user")
        assert result.returncode == 0, result.stderr
        rows = pd.read_csv(base / "run" / "results.csv")
        perf = json.loads((base / "run" / "environment.json").read_text())["perf"]
    finally:
        shutil.rmtree(base)
    assert len(rows) == 2 and set(rows["status"]) == {"ok"}
    # context-switches:u always reads 0 (the kernel switches tasks in kernel mode): empty instead.
    assert rows["context_switches_per_op"].isna().all(), rows["context_switches_per_op"].tolist()
    assert "kernel counting refused by perf_event_paranoid=" + paranoid in result.stderr
    statuses = {c["column"]: c for c in perf["counters"]}
    for column, status in statuses.items():
        cells = [c for c in rows.columns if c == column + "_per_op" or c.endswith("_" + column + "_per_op")]
        assert cells, column
        if not status["available"]:
            assert rows[cells].isna().all().all(), f"{column} could not count: {status['detail']}"
        assert "kernel" not in status["modes"], status
    # context-switches:u would always read 0: it must be empty instead, with the reason.
    assert not statuses["context_switches"]["available"]
    assert "kernel mode only" in statuses["context_switches"]["detail"]
    assert statuses["minor_faults"]["available"] and statuses["minor_faults"]["user_only"]
    assert (rows["counters_kernel"] == 0).all() and perf["counters_kernel"] == 0
    assert set(rows["counters_user_only"]) == {" ".join(perf["counters_user_only"])}
    assert "minor_faults" in perf["counters_user_only"]
    populate = rows[rows["family"] == "populate"]
    assert (populate["touch_counter_run_fraction"] == 1).all()  # software counters: never multiplexed


def test_an_existing_run_folder_is_never_overwritten(run_mapbench):
    assert run_mapbench(*TINY, "--out_dir=run").returncode == 0
    again = run_mapbench(*TINY, "--out_dir=run")
    assert again.returncode == 2
    assert "already holds a run" in again.stderr


def test_ctrl_c_keeps_finished_rows_and_removes_scratch(mapbench_binary, tmp_path):
    # Cold-cache cases evict and re-read a scratch file: slow enough to interrupt.
    process = subprocess.Popen(
        [mapbench_binary, "--filter", "read_vs_mmap/method:pread/.*cache:cold",
         "--benchmark_repetitions=3", "--out_dir=run"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    csv = tmp_path / "run" / "results.csv"
    deadline = time.time() + 60
    while time.time() < deadline:
        if csv.exists() and len(csv.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    assert list(tmp_path.glob(".mapbench-scratch-*/file-*")), "scratch file should exist mid-run"
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGINT
    rows = pd.read_csv(csv)
    assert len(rows) >= 1 and set(rows["status"]) <= {"ok", "not_effective"}
    assert csv.read_text().endswith("\n"), "no partial row"
    assert not list(tmp_path.glob(".mapbench-scratch-*")), "scratch removed on Ctrl-C"
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["run"]["complete"] is False


@pytest.fixture
def small_tmpfs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_full_disk_is_a_recorded_skip_and_the_run_goes_on(run_mapbench, tmp_path, small_tmpfs):
    result = run_mapbench("--scratch_dir", str(small_tmpfs), "--out_dir=run",
                          "--filter", "read_vs_mmap/method:pread/pattern:seq/block_kib:64/.*warm|"
                                      "ceiling/memory_read/pattern:seq/block_kib:1024",
                          "--benchmark_repetitions=1", "--benchmark_min_time=0.01")
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    skipped = rows[rows["family"] == "read_vs_mmap"]
    assert len(skipped) >= 1 and set(skipped["status"]) == {"skipped"}
    assert skipped["message"].str.contains("not enough disk").all()
    assert set(rows[rows["family"] == "ceiling"]["status"]) == {"ok"}, "the suite goes on"
    assert not list(small_tmpfs.iterdir()), "nothing left in the scratch filesystem"


def test_scratch_of_a_killed_run_is_removed_at_the_next_start(mapbench_binary, run_mapbench, tmp_path):
    process = subprocess.Popen(
        [mapbench_binary, "--filter", "read_vs_mmap/method:pread/.*cache:cold",
         "--benchmark_repetitions=3", "--out_dir=killed"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    csv = tmp_path / "killed" / "results.csv"
    deadline = time.time() + 60
    while time.time() < deadline and not (csv.exists() and len(csv.read_text().splitlines()) >= 2):
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=30)
    left = list(tmp_path.glob(".mapbench-scratch-*"))
    assert left, "kill -9 leaves the scratch directory"
    rows = pd.read_csv(csv)  # every finished row is readable
    assert len(rows) >= 1
    assert json.loads((tmp_path / "killed" / "environment.json").read_text())["run"]["complete"] is False
    result = run_mapbench(*TINY)
    assert result.returncode == 0, result.stderr
    assert "left by a run that was killed" in result.stderr
    assert not list(tmp_path.glob(".mapbench-scratch-*"))
