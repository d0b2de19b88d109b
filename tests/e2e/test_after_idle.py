"""after_idle rows measure a first touch of memory the VM's host took back: where nothing
returns free memory to a host (no virtio balloon with free page reporting, here a fake
sysfs without one) they are skipped with the reason instead of measuring a steady state."""
import csv
import pathlib
import shutil

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "harness" / "fixtures" / "sysroot"


def test_after_idle_rows_skip_without_free_page_reporting(run_mapbench, tmp_path):
    root = tmp_path / "sysroot"
    shutil.copytree(FIXTURE, root)
    shutil.rmtree(root / "sys" / "bus" / "virtio" / "drivers" / "virtio_balloon")
    result = run_mapbench("--suite", "full", "--system_root", str(root), "--out_dir=run",
                          "--filter", r"^(page_size/fault/page_kib:4/|populate/method:fault/backing:anon/).*after_idle")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "run" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["name"].split("/")[0] for r in rows} == {"page_size", "populate"}
    for row in rows:
        assert row["status"] == "skipped", (row["name"], row["config_note"])
        assert "no virtio balloon with free page reporting" in row["message"], row["message"]
