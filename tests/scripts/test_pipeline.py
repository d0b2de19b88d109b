"""End to end with the real binary on a tiny case: run -> compare -> regress.

The binary is $MAPBENCH_BINARY (ctest sets it), else build/mapbench of this checkout; the
test is skipped only when there is none.

No timing is asserted. A run compared with itself has identical samples, so it is never a
regression. A copy slowed by 1.2x is a regression whenever the process medians of the run
itself spread less than 1.2x (then the two sides separate completely); on a loaded machine
they can spread more (here up to 4x under load), and then the same copy is honestly not
significant — so the test also slows a copy beyond the spread it measured, which compare
must always flag. Six processes per side, because the process is the unit of the test and
fewer than four per side can never reach p < 0.05 (see stats/compare.py).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, run_launcher

BINARY = Path(os.environ.get("MAPBENCH_BINARY") or REPO / "build" / "mapbench")
CASE = "ceiling/memory_read/pattern:seq/block_kib:1024"
PROCESSES = 6

pytestmark = pytest.mark.skipif(not BINARY.is_file(), reason=f"no mapbench binary at {BINARY}")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline") / "run"
    done = subprocess.run([str(BINARY), f"--filter={CASE}", "--benchmark_repetitions=3", "--benchmark_min_time=0.01",
                           f"--processes={PROCESSES}", f"--out_dir={folder}", f"--scratch_dir={folder.parent}"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return folder


def _scaled(run, dst, factor):
    """A copy whose times are x factor and throughput / factor."""
    shutil.copytree(run, dst)
    frame = pd.read_csv(dst / "results.csv", dtype=str, keep_default_na=False)
    for column, k in (("ns_per_op", factor), ("cpu_ns_per_op", factor), ("bytes_per_second", 1 / factor)):
        frame[column] = [repr(float(v) * k) if v else "" for v in frame[column]]
    frame.to_csv(dst / "results.csv", index=False)
    return dst


def _spread(run):
    """max/min of the process medians of ns_per_op (the unit compare tests)."""
    frame = pd.read_csv(run / "results.csv")
    medians = frame[frame["status"] == "ok"].groupby("process")["ns_per_op"].median()
    assert len(medians) == PROCESSES
    return float(medians.max() / medians.min())


def test_the_run_is_what_compare_expects(run):
    frame = pd.read_csv(run / "results.csv")
    assert set(frame["status"]) == {"ok"} and frame["name"].nunique() == 1
    assert sorted(frame["process"].unique()) == list(range(PROCESSES))


def test_a_run_compared_with_itself_is_no_regression(run, tmp_path):
    result = run_launcher("compare", run, run, "--csv", tmp_path / "c.csv")
    assert result.returncode == 0, result.stderr
    assert "no regression" in result.stdout.splitlines()[0]
    assert pd.read_csv(tmp_path / "c.csv")["verdict"].iloc[0] in ("unchanged", "inconclusive")


def test_a_slowed_copy_is_a_regression(run, tmp_path):
    spread = _spread(run)
    slow = _scaled(run, tmp_path / "x1.2", 1.2)
    result = run_launcher("compare", run, slow, "--csv", tmp_path / "c.csv", "--markdown", tmp_path / "s.md")
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr
    verdict = pd.read_csv(tmp_path / "c.csv")["verdict"].iloc[0]
    assert verdict != "improvement"
    if spread < 1.19:  # the sides separate completely: it must be found
        assert result.returncode == 1 and verdict == "regression", (spread, result.stdout)
        assert "**Result: REGRESSION.**" in (tmp_path / "s.md").read_text()
    # Beyond the spread of this very run, the separation is complete whatever the noise.
    factor = max(1.2, 1.25 * spread)
    slower = _scaled(run, tmp_path / "beyond", factor)
    result = run_launcher("compare", run, slower, "--csv", tmp_path / "c2.csv")
    assert result.returncode == 1, (factor, result.stdout)
    row = pd.read_csv(tmp_path / "c2.csv").iloc[0]
    assert row["verdict"] == "regression" and row["ratio"] == pytest.approx(factor)


def test_ci_regress_against_a_baseline(run, tmp_path):
    results = tmp_path / "results"
    regress = REPO / "ci" / "regress"
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")}
    done = subprocess.run([str(regress), "--results", str(results), "--update-baseline", "--run", str(run)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    same = subprocess.run([str(regress), "--results", str(results), "--run", str(run)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert same.returncode == 0, same.stdout + same.stderr
    slower = _scaled(run, tmp_path / "slower", max(1.2, 1.25 * _spread(run)))
    worse = subprocess.run([str(regress), "--results", str(results), "--run", str(slower)],
                           capture_output=True, text=True, env=env, timeout=300)
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "**Result: REGRESSION.**" in (slower / "summary.md").read_text()


SYSROOT = REPO / "tests" / "harness" / "fixtures" / "sysroot"


@pytest.mark.skipif(not SYSROOT.is_dir(), reason="no fake sysfs tree")
def test_matrix_with_the_real_binary_on_a_fake_sysfs(tmp_path):
    """The real binary applies, records and restores each value — in a copy of the harness's
    fake /proc and /sys tree, never the machine's."""
    root = tmp_path / "sysroot"
    shutil.copytree(SYSROOT, root)
    out = tmp_path / "matrix"
    result = run_launcher("matrix", "--mode", "whole-run", "--tune", "vm.swappiness=10,100", "--out", out, "--binary", BINARY, "--",
                          f"--system_root={root}", f"--tune_journal={tmp_path / 'journal'}", f"--filter={CASE}",
                          "--benchmark_repetitions=1", "--benchmark_min_time=0.01", "--processes=2",
                          f"--scratch_dir={tmp_path}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for value in ("10", "100"):
        env = json.loads((out / f"vm.swappiness={value}" / "environment.json").read_text())
        assert [(t["knob"], t["after"]) for t in env["tunings_applied"]] == [("vm.swappiness", value)]
    assert (out / "compare-vm.swappiness=100.md").is_file()
    assert (root / "proc" / "sys" / "vm" / "swappiness").read_text().strip() == "60"  # restored
    assert not (tmp_path / "journal").exists()
