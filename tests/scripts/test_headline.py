"""compare/regress without --metric: each family on the headline column its benchmark declares
(environment.json "families"; stats/headline.py). Synthetic runs in the format of the
`processes` fixture; no timing is asserted."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES
from mapbench_cli import cli
from test_paired import _interleaved_rows, _main, _refused, _write_run

PROCESSES = FIXTURES / "processes"
READ = "read_vs_mmap/method:mmap/pattern:seq/block_kib:64/file_mib:64/cache:warm"
CROSS = "crossover/method:mmap/pattern:random/ratio:2/readers:1/hint:none"
DECLARED = {"read_vs_mmap": {"headline": "ns_per_op"}, "crossover": {"headline": "steady_bytes_per_second"}}


def _rows(rng, run_id, steady_factor=1.0, time_factor=1.0, processes=8, reps=3):
    """READ and CROSS rows; CROSS's steady state x steady_factor, its whole-span time x time_factor."""
    template = pd.read_csv(PROCESSES / "results.csv", dtype=str, keep_default_na=False).iloc[0].to_dict()
    rows = []
    for name in (READ, CROSS):
        for p in range(processes):
            for rep in range(reps):
                noise = float(np.exp(rng.normal(0, 0.01)))
                crossover = name == CROSS
                t = 1000.0 * noise * (time_factor if crossover else 1.0)
                row = dict(template, run_id=run_id, name=name, process=str(p), repetition=str(rep),
                           repetitions=str(reps), ns_per_op=repr(t), cpu_ns_per_op=repr(0.9 * t),
                           bytes_per_second=repr(4096e9 / t),
                           steady_bytes_per_second=repr(1e9 * noise * steady_factor) if crossover else "")
                row["family"], row["workload"] = name.split("/")[0], name.split("/")[0]
                rows.append(row)
    return pd.DataFrame(rows)


def _run(folder, frame, families=DECLARED):
    folder.mkdir(parents=True)
    frame.to_csv(folder / "results.csv", index=False)
    env = json.loads((PROCESSES / "environment.json").read_text())
    if families is not None:
        env["families"] = families
    (folder / "environment.json").write_text(json.dumps(env))
    return folder


def test_crossover_is_judged_on_its_steady_state_and_the_rest_on_time(capsys, tmp_path):
    rng = np.random.default_rng(1)
    base = _run(tmp_path / "b", _rows(rng, "20261204-000000-quick-b"))
    # The steady state 30 % slower while the fixed span's time stays: only the headline sees it.
    current = _run(tmp_path / "c", _rows(rng, "20261204-000001-quick-c", steady_factor=0.7))
    out_csv = tmp_path / "c.csv"
    code, out, err = _main(capsys, "compare", base, current, "--csv", out_csv, "--plot", tmp_path / "p.png")
    assert code == 1, err
    assert out.startswith("mapbench compare: 1 regression over 2 cases in 2 comparisons "
                          "(ns_per_op, steady_bytes_per_second):")
    assert "no regression in time over 1 case" in out
    assert "1 regression in steady_bytes_per_second over 1 case" in out
    assert "each family on its headline metric: ns_per_op (read_vs_mmap); steady_bytes_per_second (crossover)" in out
    table = pd.read_csv(out_csv)
    verdicts = dict(zip(table["metric"], table["verdict"]))
    assert verdicts == {"ns_per_op": "unchanged", "steady_bytes_per_second": "regression"}
    assert {p.name for p in tmp_path.glob("p-*.png")} == {"p-ns_per_op.png", "p-steady_bytes_per_second.png"}

    # --metric still compares every case on the one column named.
    code, out, err = _main(capsys, "compare", base, current, "--metric", "ns_per_op")
    assert code == 0 and "no regression in time over 2 cases" in out, err


def test_time_alone_changing_in_crossover_is_no_regression_of_its_headline(capsys, tmp_path):
    rng = np.random.default_rng(2)
    base = _run(tmp_path / "b", _rows(rng, "20261204-000000-quick-b"))
    current = _run(tmp_path / "c", _rows(rng, "20261204-000001-quick-c", time_factor=1.5))
    code, out, err = _main(capsys, "compare", base, current)
    assert code == 0, err
    assert "no regression in steady_bytes_per_second over 1 case" in out
    # The time moved: it is still shown, as a companion.
    assert "time ratio" in out


def test_runs_without_declarations_compare_time_everywhere(capsys, tmp_path):
    rng = np.random.default_rng(3)
    base = _run(tmp_path / "b", _rows(rng, "20261204-000000-quick-b"), families=None)
    current = _run(tmp_path / "c", _rows(rng, "20261204-000001-quick-c", steady_factor=0.7), families=None)
    code, out, err = _main(capsys, "compare", base, current)
    assert code == 0, err
    assert out.startswith("mapbench compare: no regression in time over 2 cases")
    assert "headline" not in out

    # One side declaring is enough: the other was recorded before declarations.
    declared = _run(tmp_path / "d", _rows(rng, "20261204-000002-quick-d", steady_factor=0.7))
    code, out, err = _main(capsys, "compare", base, declared)
    assert code == 1 and "1 regression in steady_bytes_per_second" in out, err


def test_runs_that_declare_different_headlines_are_refused(capsys, tmp_path):
    rng = np.random.default_rng(4)
    base = _run(tmp_path / "b", _rows(rng, "20261204-000000-quick-b"))
    other = dict(DECLARED, crossover={"headline": "ns_per_op"})
    current = _run(tmp_path / "c", _rows(rng, "20261204-000001-quick-c"), families=other)
    code, out, err = _main(capsys, "compare", base, current)
    _refused(code, err, "compare", "different headline columns for crossover")


def test_a_group_without_common_cases_is_said_and_the_others_compared(capsys, tmp_path):
    rng = np.random.default_rng(5)
    base = _run(tmp_path / "b", _rows(rng, "20261204-000000-quick-b"))
    frame = _rows(rng, "20261204-000001-quick-c")
    current = _run(tmp_path / "c", frame[frame["family"] != "crossover"])
    code, out, err = _main(capsys, "compare", base, current)
    assert code == 0, err
    assert "no regression in time over 1 case" in out
    assert "crossover: 1 case only in BASE, not compared" in out


# --- regress: the arms of an interleaved run ---------------------------------------------------

def test_regress_compares_the_arms_of_an_interleaved_run_without_a_baseline(capsys, tmp_path):
    shift = {"read_vs_mmap/method:mmap/pattern:seq/block_kib:64/file_mib:64/cache:warm": [0.0, 0.25]}
    run = _write_run(tmp_path / "ab", _interleaved_rows(np.random.default_rng(6), slots=10, shift=shift,
                                                        values=("always", "never")), values=("always", "never"))
    results = tmp_path / "results"   # no baselines/ in it
    code, out, err = _main(capsys, "regress", "--run", run, "--results", results)
    assert code == 1, err
    assert "1 regression in time over 3 cases" in out and "paired: 10 process slots" in out
    assert (run / "summary.md").is_file() and (run / "compare.csv").is_file()
    assert pd.read_csv(run / "compare.csv")["unit"].eq("pair").all()

    code, out, err = _main(capsys, "regress", "--run", run, "--results", results, "--update-baseline")
    _refused(code, err, "regress", "cannot be stored as a baseline")
    assert not (results / "baselines").exists()
