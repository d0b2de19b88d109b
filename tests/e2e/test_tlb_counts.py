"""Where /proc/interrupts has no TLB row (arm64 flushes other CPUs' TLBs by broadcast TLBI,
so there is no IPI to count; here a fake /proc with an arm64-shaped file), scaling's TLB
cells are empty, every row and environment.json say the count is not available here, and
the shootdown rows are not failed for it. environment.json records the base page size."""
import csv
import json
import os
import pathlib
import shutil

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "harness" / "fixtures"


def test_no_tlb_row_is_said_not_counted_as_zero(run_mapbench, tmp_path):
    root = tmp_path / "sysroot"
    shutil.copytree(FIXTURES / "sysroot", root)
    shutil.copy(FIXTURES / "kernel-text" / "interrupts-arm64", root / "proc" / "interrupts")
    result = run_mapbench("--system_root", str(root), "--filter", "^scaling/shootdown/", "--out_dir=run",
                          "--benchmark_repetitions=1", "--benchmark_min_time=0.01")
    assert result.returncode == 0, result.stderr
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["tlb_shootdowns"]["countable"] is False
    assert "TLB shootdown count not available here" in env["tlb_shootdowns"]["note"]
    assert env["memory"]["page_size_bytes"] == os.sysconf("SC_PAGESIZE")
    with open(tmp_path / "run" / "results.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] != "skipped"]  # workers > CPUs
    assert rows
    for row in rows:
        assert row["status"] == "ok", (row["name"], row["config_note"])
        assert "TLB shootdown count not available here" in row["config_note"], row["config_note"]
        assert row["tlb_shootdowns_per_op"] == "", "an empty cell, not a 0"
