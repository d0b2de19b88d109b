"""series.csv (runs.load_series): validated as strictly as results.csv, absent without
harm, its points tied to the rows of results.csv. Run folders built in code
(crossover_fixture.py) and the real quick-run fixture (fixtures/families/crossover)."""

import csv
import math
import shutil

import pytest

import crossover_fixture as cf
from conftest import FIXTURES, run_launcher
from mapbench_cli.data.runs import BadInput, load_runs, load_series_csv

REAL = FIXTURES / "families" / "crossover"


# --- series.csv ---------------------------------------------------------------------------------

def _series_run(tmp_path, edit):
    """A good run whose series.csv lines (header first, as lists) `edit` changes in place."""
    folder = cf.write_run(tmp_path / "run", cf.make_rows(readers=(1,), ratios=(0.5, 2.0), repetitions=3))
    path = folder / "series.csv"
    lines = list(csv.reader(path.open(newline="")))
    edit(lines)
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(lines)
    return folder


def _set(column, value, line=1):
    def edit(lines):
        lines[line][cf.SERIES_HEADER.index(column)] = value
    return edit


def _refused(tmp_path, edit, message):
    folder = _series_run(tmp_path, edit)
    with pytest.raises(BadInput) as error:
        load_runs([folder], series=True)
    text = str(error.value)
    assert "series.csv" in text and message in text and "\n" not in text, text
    return folder


@pytest.mark.parametrize("edit, message", [
    (lambda lines: [line.pop(cf.SERIES_HEADER.index("t_s")) for line in lines], "missing column t_s"),
    (lambda lines: lines.__setitem__(slice(1, None), []), "no rows (header only)"),
    (_set("t_s", "0.1s"), "column t_s must hold a finite number, found '0.1s'"),
    (_set("value", ""), "column value must hold a finite number"),
    (_set("value", "nan"), "column value must hold a finite number"),
    (_set("value", "inf", 3), "line 4: column value must hold a finite number"),
    (_set("value", "-5"), "is negative (-5); a count, rate or usage cannot be"),
    (_set("t_s", "-0.1"), "t_s is negative"),
    (_set("repetition", "1.5"), "repetition must be a whole number"),
    (_set("schema_version", "2"), "schema_version '2'"),
    (_set("name", ""), "empty name"),
    (lambda lines: lines.append(list(lines[5])), "a second value of"),
    (lambda lines: lines[-1].pop(), "is truncated"),
    (lambda lines: lines[2].append("extra"), "line 3 has 10 fields, the header has 9"),
])
def test_malformed_series_is_refused_in_one_line(tmp_path, edit, message):
    _refused(tmp_path, edit, message)


def test_malformed_series_through_the_cli_is_exit_2_and_nothing_written(tmp_path):
    folder = _series_run(tmp_path, _set("t_s", "soon"))
    for command in (["plot", folder, "--out", tmp_path / "plots"], ["report", folder, "--out", tmp_path / "paper"]):
        result = run_launcher(*command)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "series.csv: line 2: column t_s must hold a finite number, found 'soon'" in result.stderr
    assert not (tmp_path / "plots").exists()


def test_empty_series_file_is_refused(tmp_path):
    folder = cf.write_run(tmp_path / "run", cf.make_rows(readers=(1,), ratios=(2.0,)))
    (folder / "series.csv").write_text("")
    with pytest.raises(BadInput, match="series.csv: file is empty"):
        load_runs([folder], series=True)


def test_series_of_a_row_not_in_results_is_dropped_with_a_warning(tmp_path):
    def edit(lines):
        for line in lines[1:7]:
            line[cf.SERIES_HEADER.index("repetition")] = "9"
    results = load_runs([_series_run(tmp_path, edit)], series=True)
    assert (results.series["repetition"] != 9).all()
    assert any("6 points of 1 repetition with no row in results.csv" in w for w in results.warnings)


def test_unknown_series_are_kept_and_known_ones_typed(tmp_path):
    folder = _series_run(tmp_path, _set("series", "future_counter_per_bucket"))
    frame = load_series_csv(folder / "series.csv")
    assert "future_counter_per_bucket" in set(frame["series"])
    assert frame["t_s"].dtype == float and frame["value"].dtype == float
    assert set(frame["series"]) >= {"bytes_per_second", "major_faults", "evicted_pages", "cgroup_usage_mib",
                                    "disk_read_bytes", "tlb_shootdowns"}


def test_a_run_without_series_still_plots_other_families(tmp_path):
    run = tmp_path / "good"
    shutil.copytree(FIXTURES / "good", run)
    results = load_runs([run], series=True)
    assert results.series.empty
    result = run_launcher("plot", run, "--out", tmp_path / "plots")
    assert result.returncode == 0 and not list((tmp_path / "plots").glob("crossover*"))


def test_the_real_series_match_their_rows():
    results = load_runs([REAL], series=True)
    assert not results.warnings or all("series.csv" not in w for w in results.warnings)
    rows = results.frame.assign(process=results.frame["process"].astype(float))
    keys = set(map(tuple, rows[["name", "process", "repetition"]].to_numpy()))
    assert set(map(tuple, results.series[["name", "process", "repetition"]].drop_duplicates().to_numpy())) == keys
    assert math.isclose(results.series["t_s"].min(), 0.1, rel_tol=0.1)


def test_series_load_beside_an_older_run_without_a_process_column():
    """good_second predates --processes: its rows have no process column (empty once concatenated)."""
    results = load_runs([FIXTURES / "good_second", REAL], series=True)
    assert len(results.series) == 720 and not results.warnings
