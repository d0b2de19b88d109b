"""Work metrics (stats/work.py): a change of behaviour is reported with its own tolerance,
only when the two sides do not overlap; noise and unchanged work are not."""

import numpy as np
import pandas as pd

from mapbench_cli.stats import work


def _side(values_per_process, metric="minor_faults_per_page", name="page_size/fault/x"):
    rows = []
    for process, values in enumerate(values_per_process):
        for v in values:
            rows.append({"name": name, "threads": 1, "run_id": "r", "process": process, metric: v})
    return pd.DataFrame(rows)


def test_which_columns_count_work():
    for yes in ("minor_faults_per_page", "major_faults_per_gib", "tlb_shootdowns_per_op", "device_flushes_per_op",
                "vmstat_nr_written_per_op", "read_amplification", "touch_faults_per_page",
                "child_major_faults_per_op", "faults_per_mib"):
        assert work.is_work_metric(yes), yes
    for no in ("ns_per_op", "bytes_per_second", "context_switches_per_op", "cycles_user_per_op",
               "steal_fraction", "minor_faults"):
        assert not work.is_work_metric(no), no


def test_fault_around_change_is_said_in_pages_per_fault():
    base = _side([[1 / 32] * 3] * 4)
    current = _side([[1 / 16] * 3] * 4)
    found = work.changes(base, current, ["minor_faults_per_page"])
    assert len(found) == 1
    assert found["ratio"].iloc[0] == 2.0
    assert "a fault now maps 16 pages, was 32" in found["words"].iloc[0]


def test_within_tolerance_or_overlapping_is_no_change():
    base = _side([[100.0], [101.0], [99.0]], "tlb_shootdowns_per_op")
    assert work.changes(base, _side([[103.0], [102.0], [104.0]], "tlb_shootdowns_per_op"),
                        ["tlb_shootdowns_per_op"]).empty            # 3 % < 5 %
    rng = np.random.default_rng(1)
    noisy_b = _side([[v] for v in rng.uniform(50, 150, 6)], "tlb_shootdowns_per_op")
    noisy_c = _side([[v] for v in rng.uniform(60, 170, 6)], "tlb_shootdowns_per_op")
    assert work.changes(noisy_b, noisy_c, ["tlb_shootdowns_per_op"]).empty   # the sides overlap
    assert not work.changes(base, _side([[120.0], [121.0]], "tlb_shootdowns_per_op"),
                            ["tlb_shootdowns_per_op"], tolerance=0.05).empty
    assert work.changes(base, _side([[120.0], [121.0]], "tlb_shootdowns_per_op"),
                        ["tlb_shootdowns_per_op"], tolerance=0.25).empty


def test_from_none_to_some():
    found = work.changes(_side([[0.0]] * 3, "major_faults_per_gib"), _side([[8.0]] * 3, "major_faults_per_gib"),
                         ["major_faults_per_gib"])
    assert found["ratio"].iloc[0] == float("inf") and "none before" in found["words"].iloc[0]
