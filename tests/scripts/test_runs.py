"""Loading and validation of run folders, imported directly (no subprocess)."""

import shutil

import pytest

from mapbench_cli.data import runs


def test_good_run_loads_with_types(fixtures):
    results = runs.load_runs([fixtures / "good"])
    frame = results.frame
    assert len(results.runs) == 1 and results.runs[0].environment is not None
    assert frame["ns_per_op"].dtype == float and frame["block_kib"].dtype == float
    assert set(frame["family"]) >= {"ceiling", "read_vs_mmap"}
    assert (results.ok["status"] == "ok").all()
    assert results.warnings == []


def test_rows_not_ok_are_counted_not_plotted(fixtures):
    results = runs.load_runs([fixtures / "good"])
    counts = results.not_plotted()
    assert counts == {"invalid": 1, "skipped": 1}
    assert runs.describe_not_plotted(counts) == "2 rows not plotted (1 invalid, 1 skipped)"
    assert len(results.ok) == len(results.frame) - 2


def test_csv_path_is_accepted(fixtures):
    by_folder = runs.load_runs([fixtures / "good"]).frame
    by_file = runs.load_runs([fixtures / "good" / "results.csv"]).frame
    assert by_folder.equals(by_file)


def test_same_file_twice_is_read_once(fixtures):
    results = runs.load_runs([fixtures / "good", fixtures / "good" / "results.csv"])
    assert len(results.runs) == 1
    assert any("read once" in w for w in results.warnings)


def test_runs_concatenate_and_missing_columns_are_empty(fixtures):
    one = runs.load_runs([fixtures / "good"]).frame
    two = runs.load_runs([fixtures / "good_second"]).frame
    both = runs.load_runs([fixtures / "good", fixtures / "good_second"])
    assert len(both.frame) == len(one) + len(two)
    assert len(both.runs) == 2
    assert set(both.frame["run_id"]) == set(one["run_id"]) | set(two["run_id"])
    # good_second has no counter columns: they are NaN for its rows, not an error.
    from_second = both.frame["run_id"].isin(set(two["run_id"]))
    assert both.frame.loc[from_second, "minor_faults_per_op"].isna().all()


def test_formula_cells_in_text_columns_stay_text(fixtures):
    frame = runs.load_runs([fixtures / "formula_text"]).frame
    assert frame["validation"].str.startswith("=HYPERLINK(").any()
    assert frame["message"].str.startswith("@SUM(").any()
    assert frame["config_note"].str.startswith("+cmd").any()


def test_incomplete_run_is_a_warning(tmp_path, fixtures):
    run = tmp_path / "run"
    shutil.copytree(fixtures / "good", run)
    env = (run / "environment.json").read_text().replace('"complete": true', '"complete": false')
    (run / "environment.json").write_text(env)
    results = runs.load_runs([run])
    assert any("did not finish" in w for w in results.warnings)


def test_missing_environment_is_a_warning(tmp_path, fixtures):
    shutil.copy(fixtures / "good" / "results.csv", tmp_path / "results.csv")
    results = runs.load_runs([tmp_path])
    assert any("environment.json" in w for w in results.warnings)


BAD = {
    "empty.csv": "is empty",
    "blank_lines.csv": "is empty",
    "header_only.csv": "no rows",
    "missing_columns.csv": "missing base column",
    "schema_v2.csv": "schema_version '2'",
    "unknown_status.csv": "unknown status",
    "ns_nan.csv": "ns_per_op is missing or NaN",
    "ns_empty.csv": "ns_per_op is missing or NaN",
    "ns_negative.csv": "ns_per_op is -",
    "ns_zero.csv": "ns_per_op is 0",
    "ns_text.csv": "column ns_per_op must hold a number",
    "formula_in_numeric.csv": "column bytes_per_second must hold a number",
    "formula_in_parameter.csv": "column block_kib must hold a number",
    "truncated.csv": "truncated",
    "truncated_no_newline.csv": "truncated",
    "ragged.csv": "fields, the header has",
    "duplicate_column.csv": "twice",
    "binary.csv": "NUL",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inputs_raise_one_line(fixtures, name):
    with pytest.raises(runs.BadInput) as info:
        runs.load_runs([fixtures / "bad" / name])
    message = str(info.value)
    assert "\n" not in message
    assert BAD[name] in message


def test_missing_path_and_folder_without_csv(fixtures, tmp_path):
    with pytest.raises(runs.BadInput, match="no such file or folder"):
        runs.load_runs([tmp_path / "nope"])
    with pytest.raises(runs.BadInput, match="no results.csv"):
        runs.load_runs([fixtures / "no_csv"])


def test_bad_message_names_the_line(fixtures):
    with pytest.raises(runs.BadInput, match=r"line \d+"):
        runs.load_runs([fixtures / "bad" / "ns_negative.csv"])


def test_hostile_cell_is_not_echoed_raw(tmp_path, fixtures):
    text = (fixtures / "bad" / "ns_text.csv").read_text()
    # A terminal escape inside a numeric cell must not reach the terminal as-is.
    (tmp_path / "results.csv").write_text(text.replace(",fast,", ",\x1b]0;owned\x07,", 1))
    with pytest.raises(runs.BadInput) as info:
        runs.load_runs([tmp_path])
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)
