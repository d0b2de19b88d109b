"""populate rows pin base pages: with a multi-size THP size set to `always` for the run
(mapbench's own --tune on the real sysfs, restored when the run ends) the demand-fault rows
still fault one base page at a time, say so, and are ok. Root only."""
import csv
import json
import os
import pathlib

import pytest

MTHP = pathlib.Path("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled")


def test_populate_rows_keep_base_pages_when_mthp_is_always(run_mapbench, tmp_path):
    if os.geteuid() != 0 or not MTHP.exists():
        pytest.skip("needs root and a 64 KiB mTHP size (hugepages-64kB/enabled)")
    before = MTHP.read_text()
    result = run_mapbench("--filter", "^populate/method:(fault|willneed|populate_read)/backing:anon",
                          "--tune", "mthp.64K.enabled=always", "--tune_journal", str(tmp_path / "journal"),
                          "--benchmark_repetitions=1", "--benchmark_min_time=0.01", "--out_dir=run",
                          timeout=300)
    assert MTHP.read_text() == before, "the tuning is restored"
    assert result.returncode == 0, result.stderr
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert {t["knob"]: t["after"] for t in env["tunings_applied"]} == {"mthp.64K.enabled": "always"}
    with open(tmp_path / "run" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    for row in rows:
        assert row["status"] == "ok", (row["name"], row["config_note"])
        assert "THP off (PR_SET_THP_DISABLE): 4 KiB pages" in row["config_note"], row["config_note"]
        assert abs(float(row["touch_faults_per_page"]) - 1) < 0.01, row["name"]
