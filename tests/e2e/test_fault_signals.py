"""fault_signals rows: every path is ok (one delivery per page, checked) or skipped with its
reason; without privileges the userfaultfd rows open it with UFFD_USER_MODE_ONLY or name
the setting that forbids it. No timing is asserted."""
import os
import shutil
import subprocess

import pandas as pd
import pytest

ONE_REPETITION = ["--filter", "^fault_signals/", "--benchmark_repetitions=1"]
PATHS = {"plain_fault", "sigsegv", "sigbus", "uffd_missing", "uffd_wp"}
DELIVERIES = {"plain_fault": 0, "sigsegv": 1, "sigbus": 1, "uffd_missing": 1, "uffd_wp": 1}


def check_rows(rows):
    assert set(rows["path"]) == PATHS
    for _, row in rows.iterrows():
        where = f"{row['path']}: {row['status']} {row['validation']} | {row['config_note']} | {row['message']}"
        if row["status"] == "skipped":
            assert row["path"].startswith("uffd_"), where  # only userfaultfd may be refused here
            message = str(row["message"])
            assert "vm.unprivileged_userfaultfd" in message or "UFFD_FEATURE_PAGEFAULT_FLAG_WP" in message, where
            continue
        assert row["status"] == "ok" and row["valid"] == 1 and row["config_ok"] == 1, where
        assert row["user_faults_per_page"] == DELIVERIES[row["path"]], where
        assert row["fault_ns_per_page"] > 0 and row["plain_fault_ns_per_page"] > 0, where
        if row["path"] == "plain_fault":
            assert row["rusage_minor_faults_per_page"] >= 1, where
        if row["path"].startswith("uffd_"):
            assert "userfaultfd by " in row["config_note"], where
    return rows


def test_every_path_is_checked_or_skipped_with_its_reason(run_mapbench, tmp_path):
    result = run_mapbench(*ONE_REPETITION, "--out_dir=run")
    assert result.returncode == 0, result.stderr
    rows = check_rows(pd.read_csv(tmp_path / "run" / "results.csv"))
    assert (rows["status"] == "ok").sum() >= 3  # the signal paths run everywhere
    # The handlers were put back after each case: the suite went on, no case crashed.
    assert not (rows["status"] == "error").any()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_unprivileged_uffd_uses_user_mode_only_or_names_the_setting(mapbench_binary, tmp_path):
    os.chmod(tmp_path, 0o777)
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                             mapbench_binary, *ONE_REPETITION, "--out_dir=run"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = check_rows(pd.read_csv(tmp_path / "run" / "results.csv"))
    uffd = rows[rows["path"].str.startswith("uffd_") & (rows["status"] == "ok")]
    with open("/proc/sys/vm/unprivileged_userfaultfd") as f:
        allowed = f.read().strip() == "1"
    for _, row in uffd.iterrows():
        # Not root: the plain syscall is refused unless the sysctl allows it.
        assert allowed or "UFFD_USER_MODE_ONLY" in row["config_note"] or "/dev/userfaultfd" in row["config_note"]
