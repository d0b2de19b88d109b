"""msync rows: what each method promises, proven after the call alone, by each page-state method."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pandas as pd
import pytest

# One dirty page of a 256-page file in 4 KiB folios: every method, 8 calls each.
ONE_PAGE = ["--filter", "^msync/.*/dirty_pages:1/.*folios:small", "--benchmark_repetitions=1"]
PROMISES = {"none": "none", "ms_async": "none", "sync_file_range": "written_no_flush",
            "ms_sync": "durable", "ms_sync_invalidate": "durable", "fsync": "durable",
            "fdatasync": "durable", "pwrite_fsync": "durable"}


def check_rows(rows, page_state):
    assert set(rows["method"]) == set(PROMISES)
    for _, row in rows.iterrows():
        where = f"{row['method']}: {row['validation']} | {row['config_note']}"
        assert row["status"] == "ok", where
        assert row["durability"] == PROMISES[row["method"]], where
        assert f"page state: {page_state}" in row["config_note"], where
        promise = row["durability"]
        if promise == "durable":
            assert row["validation"].startswith("durable, after the call alone"), where
            if "device write cache: write back" in row["config_note"]:
                assert "write-back cache was flushed during every call" in row["validation"], where
                assert row["device_flushes_per_op"] >= 1, where
        elif promise == "written_no_flush":
            assert row["validation"].startswith("written, not durable"), where
        else:
            assert row["validation"].startswith("no durability promised"), where
            assert "after the check's own fdatasync" in row["validation"], where
        assert "O_DIRECT read" in row["validation"], where
    # What each call left: MS_ASYNC and no call leave the page dirty, the others none.
    left = rows.set_index("method")["file_dirty_pages_after_sync"]
    assert left["ms_async"] == 1 and left["none"] == 1
    assert all(left[m] == 0 for m, p in PROMISES.items() if p != "none")


def kernel_at_least(major, minor):
    release = os.uname().release.split("-")[0].split(".")
    return (int(release[0]), int(release[1])) >= (major, minor)


@pytest.mark.parametrize("page_state", ["auto", "cachestat", "kpageflags", "smaps"])
def test_each_page_state_method_proves_the_rows(run_mapbench, tmp_path, page_state):
    if page_state == "cachestat" and not kernel_at_least(6, 5):
        pytest.skip("cachestat needs Linux 6.5")
    if page_state == "kpageflags" and os.geteuid() != 0:
        pytest.skip("kpageflags needs root")
    flag = [] if page_state == "auto" else [f"--page_state={page_state}"]  # auto: the default
    result = run_mapbench(*ONE_PAGE, *flag, "--out_dir=run")
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    used = page_state if page_state != "auto" else ("cachestat" if kernel_at_least(6, 5) else "kpageflags")
    check_rows(rows, used)
    if page_state == "smaps":
        assert rows["validation"].str.contains("smaps, which cannot see writeback").all()
        assert rows["file_writeback_pages_after_sync"].isna().all()  # unknown, not 0
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["run"]["page_state"] == page_state


def test_a_bad_page_state_is_refused(run_mapbench):
    result = run_mapbench(*ONE_PAGE, "--page_state=mincore")
    assert result.returncode == 2
    assert "--page_state must be auto, cachestat, kpageflags or smaps" in result.stderr


def test_without_root_kpageflags_skips_and_smaps_works(mapbench_binary):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to switch to an unprivileged user")
    base = pathlib.Path(tempfile.mkdtemp(prefix="mapbench-msync-noroot-"))
    try:
        os.chmod(base, 0o777)

        def run(page_state):
            return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                   mapbench_binary, *ONE_PAGE, f"--page_state={page_state}",
                                   f"--out_dir={page_state}", "--tune_journal", str(base / "journal")],
                                  cwd=base, capture_output=True, text=True, timeout=120)

        refused = run("kpageflags")
        if refused.returncode == 126 or "mapbench:" not in refused.stderr:
            pytest.skip("the build directory is not reachable by an unprivileged user")
        rows = pd.read_csv(base / "kpageflags" / "results.csv")
        assert set(rows["status"]) == {"skipped"}, rows[["status", "message"]]
        assert rows["message"].str.contains("--page_state=kpageflags").all()
        assert rows["message"].str.contains("needs root").all()
        smaps = run("smaps")
        assert smaps.returncode == 0, smaps.stderr
        check_rows(pd.read_csv(base / "smaps" / "results.csv"), "smaps")
    finally:
        shutil.rmtree(base)


def test_in_memory_scratch_is_skipped_with_the_reason(run_mapbench, tmp_path):
    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm")
    result = run_mapbench("--filter", "^msync/method:fsync/dirty_pages:1/.*folios:small",
                          "--benchmark_repetitions=1", "--scratch_dir=/dev/shm", "--out_dir=run")
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert set(rows["status"]) == {"skipped"}
    assert rows["message"].str.contains("durability cannot be shown: tmpfs").all()


@pytest.mark.parametrize("cache, status", [("write back", "not_effective"), ("write through", "ok")])
def test_a_durable_call_that_flushes_nothing_is_not_effective_on_a_write_back_cache(
        run_mapbench, tmp_path, cache, status):
    if not kernel_at_least(6, 5):
        pytest.skip("the fake root hides /proc from kpageflags and smaps: needs cachestat (Linux 6.5)")
    # A fake /sys whose device stat never moves: no flush is ever seen during a call.
    dev = os.stat(tmp_path).st_dev
    block = tmp_path / "sysroot" / "sys" / "dev" / "block" / f"{os.major(dev)}:{os.minor(dev)}"
    (block / "queue").mkdir(parents=True)
    (block / "stat").write_text("  100 0 800 1 200 0 1600 2 0 3 4 0 0 0 0 50 5\n")
    (block / "queue" / "write_cache").write_text(cache + "\n")
    result = run_mapbench("--filter", "^msync/method:(fsync|sync_file_range)/dirty_pages:1/.*folios:small",
                          "--benchmark_repetitions=1", "--system_root", str(tmp_path / "sysroot"),
                          "--page_state=cachestat", "--out_dir=run")
    rows = pd.read_csv(tmp_path / "run" / "results.csv").set_index("method")
    assert rows.loc["fsync", "status"] == status, rows.loc["fsync", "config_note"]
    assert rows.loc["fsync", "valid"] == 1  # the bytes were on the device: not invalid
    if status == "not_effective":
        assert "durable claimed, but 8 of 8 calls completed no device cache flush" in rows.loc["fsync", "config_note"]
    else:
        assert "write-through: no flush needed" in rows.loc["fsync", "validation"]
    # sync_file_range promises no flush: the same device leaves it ok either way.
    assert rows.loc["sync_file_range", "status"] == "ok"
    assert result.returncode == 0, result.stderr
