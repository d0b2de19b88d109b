"""--tune on a fake sysfs tree: applied for the run, restored after, on Ctrl-C and
after kill -9 (from the journal), refused without root, never undone by a second
mapbench while the tuned run still runs. The real /sys is never used."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "harness" / "fixtures" / "sysroot"
THP = "sys/kernel/mm/transparent_hugepage/enabled"
SWAPPINESS = "proc/sys/vm/swappiness"
FAST = ["--filter", "ceiling/memory_read/pattern:seq/block_kib:1024",
        "--benchmark_repetitions=1", "--benchmark_min_time=0.01"]
# Slow enough to be interrupted: cold-cache passes over a scratch file.
SLOW = ["--filter", "read_vs_mmap/method:pread/.*cache:cold", "--benchmark_repetitions=5"]
# Runs until the test kills its case process (mapbench_with_faults only).
HANG = ["--filter", "^fault_injection/fault:hang$", "--case_timeout=300"]


@pytest.fixture
def fake_root(tmp_path):
    root = tmp_path / "sysroot"
    shutil.copytree(FIXTURE, root)
    return root


def tune_args(root, tmp_path):
    return ["--system_root", str(root), "--tune_journal", str(tmp_path / "journal"),
            "--tune", "thp.enabled=always", "--tune", "vm.swappiness=10"]


def wait_for_rows(csv, deadline_s=60):
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        if csv.exists() and len(csv.read_text().splitlines()) >= 2:
            return
        time.sleep(0.05)
    raise AssertionError("no row was written in time")


def children_of(pid):
    kids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rfind(")") + 2:].split()[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def wait_for_case_process(process, run_dir, deadline_s=60):
    """The pid of the running case's process, once the run has written its environment."""
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        assert process.poll() is None, "the run ended early"
        if (run_dir / "environment.json").exists() and children_of(process.pid):
            return children_of(process.pid)[0]
        time.sleep(0.05)
    raise AssertionError("the case did not start in time")


def test_tuning_is_applied_recorded_and_restored(run_mapbench, fake_root, tmp_path):
    result = run_mapbench(*FAST, *tune_args(fake_root, tmp_path), "--out_dir=run")
    assert result.returncode == 0, result.stderr
    assert "tuned thp.enabled: madvise -> always" in result.stderr
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    applied = {t["knob"]: t for t in env["tunings_applied"]}
    assert applied["thp.enabled"]["after"] == "always"
    assert applied["vm.swappiness"]["before"] == "60"
    assert env["thp"]["enabled"] == "always", "the environment shows the tuned state"
    assert (fake_root / THP).read_text().strip() == "madvise"
    assert (fake_root / SWAPPINESS).read_text().strip() == "60"
    assert not (tmp_path / "journal").exists()


@pytest.mark.parametrize("tune, says", [
    ("kernel.panic=1", "not in the allowlist"),
    ("thp.enabled=sometimes", "takes one of"),
    ("vm.swappiness=-5", "takes an integer"),
    ("vm.swappiness", "KNOB=VALUE"),
])
def test_bad_tunings_change_nothing(run_mapbench, fake_root, tmp_path, tune, says):
    result = run_mapbench(*FAST, "--system_root", str(fake_root), "--tune_journal",
                          str(tmp_path / "journal"), "--tune", "thp.enabled=never", "--tune", tune)
    assert result.returncode == 2
    assert says in result.stderr
    assert (fake_root / THP).read_text().strip() == "always [madvise] never"
    assert not list(tmp_path.glob("results/*"))


def test_ctrl_c_restores(mapbench_binary, fake_root, tmp_path):
    process = subprocess.Popen([mapbench_binary, *SLOW, *tune_args(fake_root, tmp_path), "--out_dir=run"],
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_rows(tmp_path / "run" / "results.csv")
    assert (fake_root / THP).read_text().strip() == "always"
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert (fake_root / THP).read_text().strip() == "madvise"
    assert (fake_root / SWAPPINESS).read_text().strip() == "60"
    assert not (tmp_path / "journal").exists()


@pytest.mark.parametrize("next_start", [["--restore_tunings"], [*FAST, "--out_dir=next"]],
                         ids=["restore_tunings", "untuned_run"])
def test_kill_9_is_restored_at_next_start(mapbench_binary, run_mapbench, fake_root, tmp_path,
                                          next_start):
    process = subprocess.Popen([mapbench_binary, *SLOW, *tune_args(fake_root, tmp_path), "--out_dir=run"],
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_rows(tmp_path / "run" / "results.csv")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert (fake_root / THP).read_text().strip() == "always", "kill -9 leaves it changed"
    assert (tmp_path / "journal").exists()
    journal = ["--system_root", str(fake_root), "--tune_journal", str(tmp_path / "journal")]
    listing = run_mapbench("--list", *journal)
    assert listing.returncode == 0, listing.stderr
    assert (fake_root / THP).read_text().strip() == "always", "listing has no side effects"
    result = run_mapbench(*next_start, *journal)
    assert result.returncode == 0, result.stderr
    assert "restored from a previous run's journal" in result.stderr
    assert (fake_root / THP).read_text().strip() == "madvise"
    assert (fake_root / SWAPPINESS).read_text().strip() == "60"
    assert not (tmp_path / "journal").exists()


def test_a_running_tuned_run_keeps_its_settings(faulty_binary, run_mapbench, fake_root, tmp_path):
    journal = tmp_path / "journal"
    same = ["--system_root", str(fake_root), "--tune_journal", str(journal)]
    first = subprocess.Popen([faulty_binary, *HANG, *tune_args(fake_root, tmp_path), "--out_dir=first"],
                             cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    case = None
    try:
        case = wait_for_case_process(first, tmp_path / "first")
        written = journal.read_text()
        assert written.startswith(f"owner pid={first.pid} start="), written
        holds = f"another mapbench (pid {first.pid}) holds the tunings journal {journal}"

        def unchanged():
            assert (fake_root / THP).read_text().strip() == "always"
            assert (fake_root / SWAPPINESS).read_text().strip() == "10"
            assert journal.read_text() == written

        for listing in (["--list"], ["--list_tunings"]):
            result = run_mapbench(*listing, *same)
            assert result.returncode == 0, result.stderr
            assert result.stderr == "", "listing neither replays nor warns"
            unchanged()
        untuned = run_mapbench(*FAST, *same, "--out_dir=untuned")
        assert untuned.returncode == 0, untuned.stderr
        assert f"mapbench: warning: {holds}; its tunings stay applied during this run" in \
            untuned.stderr.splitlines()
        unchanged()
        # (the fake THP file lost its "[...]" choices when written: tune an integer knob)
        tuned = run_mapbench(*FAST, *same, "--tune", "vm.swappiness=30", "--out_dir=tuned")
        assert tuned.returncode == 2
        assert f"mapbench: {holds}; not starting a tuned run" in tuned.stderr.splitlines()
        assert "mapbench: tuned " not in tuned.stderr
        assert not (tmp_path / "tuned").exists()
        unchanged()
        restore = run_mapbench("--restore_tunings", *same)
        assert restore.returncode == 2
        assert restore.stderr == f"mapbench: {holds}; not restoring it\n"
        unchanged()
        assert first.poll() is None, "the tuned run ran throughout"
    finally:
        if case:
            os.kill(case, signal.SIGKILL)  # the run records an error row and ends as usual
        else:
            first.kill()
        _, stderr = first.communicate(timeout=60)
    assert first.returncode == 1, stderr
    assert (fake_root / THP).read_text().strip() == "madvise"
    assert (fake_root / SWAPPINESS).read_text().strip() == "60"
    assert not journal.exists()


def test_without_root_nothing_changes(mapbench_binary):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to switch to an unprivileged user")
    # pytest's tmp_path is private to root: use a tree an unprivileged user can read.
    base = pathlib.Path(tempfile.mkdtemp(prefix="mapbench-noroot-"))
    try:
        root = base / "sysroot"
        shutil.copytree(FIXTURE, root)
        for path in [base, *base.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(base, 0o777)
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 mapbench_binary, *FAST, "--system_root", str(root),
                                 "--tune_journal", str(base / "journal"), "--tune", "thp.enabled=never"],
                                cwd=base, capture_output=True, text=True, timeout=60)
        if result.returncode == 126 or "mapbench:" not in result.stderr:
            pytest.skip("the build directory is not reachable by an unprivileged user")
        assert result.returncode == 2, result.stderr
        assert "needs root" in result.stderr and "nothing was changed" in result.stderr
        assert (root / THP).read_text().strip() == "always [madvise] never"
        assert not (base / "journal").exists()
    finally:
        shutil.rmtree(base)
