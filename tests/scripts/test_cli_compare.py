"""`mapbench compare` and `mapbench power`: outputs, exit statuses and every kind of bad input.

The CLI is called in-process (cli.main) except where the launcher itself is the contract."""

import csv
import json
import shutil

import pandas as pd
import pytest

from conftest import FIXTURES, run_launcher
from mapbench_cli import cli

PROCESSES = FIXTURES / "processes"   # 3 cases x 8 processes x 5 repetitions, cut from a real run


def _scaled_copy(src, dst, factor, names=None):
    """A copy of run folder `src` whose ns_per_op (and cpu_ns_per_op) are x factor and
    bytes_per_second / factor (only for the cases in `names`, when given)."""
    shutil.copytree(src, dst)
    frame = pd.read_csv(dst / "results.csv", dtype=str, keep_default_na=False)
    rows = frame["name"].isin(names) if names else frame["name"] != ""
    for column, k in (("ns_per_op", factor), ("cpu_ns_per_op", factor), ("bytes_per_second", 1 / factor)):
        values = pd.to_numeric(frame.loc[rows, column], errors="coerce")
        frame.loc[rows, column] = [repr(v * k) if v == v else "" for v in values]
    frame.to_csv(dst / "results.csv", index=False)
    return dst


def _main(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _refused(code, err, *, command="compare", mentions=""):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"mapbench {command}: ")
    assert "Traceback" not in err
    assert mentions in lines[0], lines[0]


def test_run_against_itself_is_no_regression(capsys, tmp_path):
    code, out, _ = _main(capsys, "compare", PROCESSES, PROCESSES, "--csv", tmp_path / "c.csv")
    assert code == 0
    assert "mapbench compare: no regression in time over 3 cases" in out
    result = pd.read_csv(tmp_path / "c.csv")
    assert (result["ratio"] == 1.0).all() and (result["p_value"] == 1.0).all()
    assert set(result["verdict"]) <= {"unchanged", "inconclusive"}


def test_scaled_copy_is_a_regression_with_outputs(capsys, tmp_path):
    # Scaled far beyond the spread of this fixture's process medians (they vary up to 4.7x
    # under the load they were measured in): complete separation, whatever the noise.
    current = _scaled_copy(PROCESSES, tmp_path / "slow", 6.0)
    md, table, png = tmp_path / "s.md", tmp_path / "c.csv", tmp_path / "r.png"
    code, out, _ = _main(capsys, "compare", PROCESSES, current, "--markdown", md, "--csv", table, "--plot", png)
    assert code == 1
    assert out.startswith("mapbench compare: 3 regressions in time over 3 cases")
    assert "instruction counters were unavailable" in out   # this run had software counters only
    text = md.read_text()
    assert "**Result: REGRESSION.**" in text and "### Regressions and improvements" in text
    assert text.count("**regression**") == 6  # time and cpu time, three cases
    result = pd.read_csv(table)
    assert list(result["verdict"]) == ["regression"] * 3
    assert result["ratio"].tolist() == pytest.approx([6.0] * 3)
    assert (result["unit"] == "process").all() and (result["n_base"] == 8).all()
    assert "cpu time_verdict" in result.columns
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_throughput_metric_follows_its_direction(capsys, tmp_path):
    current = _scaled_copy(PROCESSES, tmp_path / "slow", 6.0)
    code, out, _ = _main(capsys, "compare", PROCESSES, current, "--metric", "bytes_per_second")
    assert code == 1 and "3 regressions in bytes_per_second" in out
    code, out, _ = _main(capsys, "compare", current, PROCESSES, "--metric", "bytes_per_second")
    assert code == 0 and "3 improvements" in out


def test_one_sided_cases_and_changed_environment_are_reported(capsys, tmp_path):
    current = _scaled_copy(PROCESSES, tmp_path / "cur", 1.0)
    frame = pd.read_csv(current / "results.csv", dtype=str, keep_default_na=False)
    frame = frame[~frame["name"].str.contains("block_kib:4/")]
    frame.to_csv(current / "results.csv", index=False)
    env = json.loads((current / "environment.json").read_text())
    env["thp"]["enabled"] = "always"
    env["kernel"]["release"] = "6.99.0-other"
    (current / "environment.json").write_text(json.dumps(env))
    md = tmp_path / "s.md"
    code, out, _ = _main(capsys, "compare", PROCESSES, current, "--markdown", md, "--csv", tmp_path / "c.csv")
    assert code == 0
    assert "only in BASE: ceiling/memory_read/pattern:seq/block_kib:4/file_mib:64 — not run in CURRENT" in out
    assert "THP setting changed: thp.enabled: BASE madvise → CURRENT always" in out
    assert "kernel release changed: kernel.release" in out
    assert "### Warning: Environment changed between BASE and CURRENT" in md.read_text()
    rows = pd.read_csv(tmp_path / "c.csv")
    assert (rows["verdict"] == "missing").sum() == 1


def test_several_runs_per_side_are_pooled(capsys, tmp_path):
    other = _scaled_copy(PROCESSES, tmp_path / "other", 1.0)
    frame = pd.read_csv(other / "results.csv", dtype=str, keep_default_na=False)
    frame["run_id"] = "another-run"
    frame.to_csv(other / "results.csv", index=False)
    code, out, _ = _main(capsys, "compare", "--base", PROCESSES, other, "--current", PROCESSES)
    assert code == 0
    assert "80 samples per case from 16 processes" in out


def test_single_process_runs_fall_back_to_repetitions_and_say_so(capsys):
    code, out, _ = _main(capsys, "compare", FIXTURES / "good", FIXTURES / "good")
    assert code == 0
    assert "single process on a side" in out and "optimistic" in out
    assert "too few samples to be significant: with 3 and 3" in out


def test_formula_in_a_case_name_is_neutralised_in_the_csv(capsys, tmp_path):
    base = _scaled_copy(PROCESSES, tmp_path / "base", 1.0)
    frame = pd.read_csv(base / "results.csv", dtype=str, keep_default_na=False)
    frame["name"] = frame["name"].str.replace("ceiling/", "=HYPERLINK(\"x\")/", regex=False)
    frame.to_csv(base / "results.csv", index=False)
    code, _, _ = _main(capsys, "compare", base, base, "--csv", tmp_path / "c.csv", "--markdown", tmp_path / "s.md")
    assert code == 0
    with open(tmp_path / "c.csv", newline="") as f:
        cells = [row[2] for row in csv.reader(f)][1:]
    assert all(not c.startswith("=") for c in cells) and any(c.startswith("'=HYPERLINK") for c in cells)
    assert '=HYPERLINK(\\"x\\")' not in (tmp_path / "s.md").read_text()  # shown as code, never as a link


BAD = {
    "empty.csv": "is empty", "schema_v2.csv": "schema_version '2'", "ns_nan.csv": "ns_per_op is missing or NaN",
    "ns_negative.csv": "ns_per_op is -", "formula_in_numeric.csv": "must hold a number",
    "long_field.csv": "a cell of 5009 characters", "mixed_units.csv": "found '16.5 ms'", "truncated.csv": "truncated",
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("side", ["BASE", "CURRENT"])
def test_bad_input_on_either_side_is_refused(capsys, tmp_path, name, side):
    bad = FIXTURES / "bad" / name
    pair = (bad, PROCESSES) if side == "BASE" else (PROCESSES, bad)
    md = tmp_path / "s.md"
    code, out, err = _main(capsys, "compare", *pair, "--markdown", md)
    _refused(code, err, mentions=f"{side}: ")
    assert BAD[name] in err
    assert not md.exists()


@pytest.mark.parametrize("args, mentions", [
    (["--metric", "block_kib"], "not an outcome"),
    (["--metric", "method"], "not a numeric column"),
    (["--metric", "dtlb_load_misses_per_op"], "no column dtlb_load_misses_per_op"),
    (["--metric", "instructions_per_op"], "no instructions_user_per_op"),
    (["--metric", "cycles_user_per_op"], "no column cycles_user_per_op"),
    (["--plot", "out.gif"], "unknown format"),
    (["--markdown", "/no/such/folder/x.md"], "does not exist"),
])
def test_unusable_options_are_refused(capsys, tmp_path, args, mentions):
    code, _, err = _main(capsys, "compare", PROCESSES, PROCESSES, *args)
    _refused(code, err, mentions=mentions)


def test_missing_file_and_no_case_in_common(capsys, tmp_path):
    code, _, err = _main(capsys, "compare", tmp_path / "nope", PROCESSES)
    _refused(code, err, mentions="no such file or folder")
    code, _, err = _main(capsys, "compare", FIXTURES / "good_second", PROCESSES)
    _refused(code, err, mentions="no case in common")


def test_metric_in_another_unit_on_one_side_is_mixed_units(capsys, tmp_path):
    base = _scaled_copy(PROCESSES, tmp_path / "b", 1.0)
    current = _scaled_copy(PROCESSES, tmp_path / "c", 1.0)
    for folder, column in ((base, "sync_ns_per_op"), (current, "sync_us_per_op")):
        frame = pd.read_csv(folder / "results.csv", dtype=str, keep_default_na=False)
        frame[column] = "5"
        frame.to_csv(folder / "results.csv", index=False)
    code, _, err = _main(capsys, "compare", base, current, "--metric", "sync_ns_per_op")
    _refused(code, err, mentions="mixed units")


def test_negative_counter_is_refused(capsys, tmp_path):
    base = _scaled_copy(PROCESSES, tmp_path / "b", 1.0)
    frame = pd.read_csv(base / "results.csv", dtype=str, keep_default_na=False)
    frame.loc[3, "minor_faults_per_op"] = "-4"
    frame.to_csv(base / "results.csv", index=False)
    code, _, err = _main(capsys, "compare", base, PROCESSES, "--metric", "minor_faults_per_op")
    _refused(code, err, mentions="minor_faults_per_op is negative")


def test_usage_errors():
    for args in (["compare"], ["compare", "a"], ["compare", "a", "b", "c"], ["compare", "a", "b", "--base", "c"],
                 ["compare", "a", "b", "--threshold", "x"], ["compare", "a", "b", "--alpha", "2"]):
        with pytest.raises(SystemExit) as info:
            cli.main(args)
        assert info.value.code == 2


def test_launcher_contract_exit_statuses(tmp_path):
    """Through scripts/mapbench: 0, 1 and 2 with one line on stderr."""
    slow = _scaled_copy(PROCESSES, tmp_path / "slow", 6.0)
    assert run_launcher("compare", PROCESSES, PROCESSES).returncode == 0
    assert run_launcher("compare", PROCESSES, slow).returncode == 1
    bad = run_launcher("compare", FIXTURES / "bad" / "schema_v2.csv", PROCESSES)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


# --- power ------------------------------------------------------------------------------------

def test_power_on_a_real_run(capsys, tmp_path):
    md = tmp_path / "p.md"
    code, out, _ = _main(capsys, "power", PROCESSES, "--processes", "3", "--trials", "20", "--slowdowns", "10,1000",
                         "--metric", "cpu_ns_per_op", "--markdown", md)
    assert code == 0
    assert "A/A (nothing changed):" in out and "of 60 case comparisons flagged" in out
    assert "split random" in out  # one run: processes are split at random
    assert "smallest slowdown detected with 95% power" in out
    assert md.read_text().startswith("## mapbench power")


@pytest.mark.parametrize("args, mentions", [
    (["--trials", "5"], "at least 20"),
    (["--slowdowns", "ten"], "comma list of percentages"),
    (["--processes", "5"], "no case has enough processes"),
])
def test_power_refuses_what_it_cannot_measure(capsys, args, mentions):
    code, _, err = _main(capsys, "power", PROCESSES, *args)
    _refused(code, err, command="power", mentions=mentions)


def test_power_needs_processes(capsys):
    code, _, err = _main(capsys, "power", FIXTURES / "good_second")
    _refused(code, err, command="power", mentions="--processes")


def test_time_and_instructions_side_by_side(capsys, tmp_path):
    """Where the PMU counted, instructions (user + kernel) get their own ratio and verdict."""
    def with_counters(folder, kernel):
        frame = pd.read_csv(folder / "results.csv", dtype=str, keep_default_na=False)
        frame["instructions_user_per_op"] = [str(1000 + i % 3) for i in range(len(frame))]
        frame["instructions_kernel_per_op"] = [str(kernel + i % 5) for i in range(len(frame))]
        frame.to_csv(folder / "results.csv", index=False)
        return folder
    base = with_counters(_scaled_copy(PROCESSES, tmp_path / "b", 1.0), 5000)
    current = with_counters(_scaled_copy(PROCESSES, tmp_path / "c", 1.0), 7000)   # +33 % instructions
    md = tmp_path / "s.md"
    code, out, _ = _main(capsys, "compare", base, current, "--markdown", md, "--csv", tmp_path / "c.csv")
    assert code == 0                      # time did not change: exit status follows --metric only
    assert "instructions ratio" in out and "instruction counters were unavailable" not in out
    assert "| instructions ratio |" in md.read_text()
    rows = pd.read_csv(tmp_path / "c.csv")
    assert (rows["instructions_verdict"] == "regression").all()
    assert rows["instructions_ratio"].tolist() == pytest.approx([8003 / 6003] * 3, rel=1e-3)  # user + kernel
    code, out, _ = _main(capsys, "compare", base, current, "--metric", "instructions_per_op")
    assert code == 1 and "3 regressions in instructions" in out


def _with_counter_scope(src, dst, user_only):
    """A copy of `src` whose rows say kernel counting was refused (counters_kernel 0) and
    which counters counted user mode only, as a run without CAP_PERFMON writes them."""
    shutil.copytree(src, dst)
    frame = pd.read_csv(dst / "results.csv", dtype=str, keep_default_na=False)
    frame["counters_kernel"] = "0" if user_only else "1"
    frame["counters_user_only"] = user_only
    frame.to_csv(dst / "results.csv", index=False)
    return dst


def test_user_only_counter_is_not_compared_with_user_and_kernel(capsys, tmp_path):
    full = _with_counter_scope(PROCESSES, tmp_path / "full", "")
    user = _with_counter_scope(PROCESSES, tmp_path / "user", "minor_faults major_faults")
    for base, current in ((full, user), (user, full)):
        code, _, err = _main(capsys, "compare", base, current, "--metric", "minor_faults_per_page")
        _refused(code, err, mentions="counts it in user mode only")
    # Time is not a counter: still compared, and the same scope on both sides is fine.
    assert _main(capsys, "compare", full, user)[0] == 0
    assert _main(capsys, "compare", user, user, "--metric", "minor_faults_per_page")[0] == 0
    # A counter that is user-only on neither side (context switches here) is comparable.
    assert _main(capsys, "compare", full, user, "--metric", "context_switches_per_op")[0] == 0


def test_a_change_of_work_is_reported_beside_a_noisy_time(capsys, tmp_path):
    """Faults per page doubled in every process: a behaviour change, said in words, while
    time (unchanged here) gives no verdict on it; the exit status follows time alone."""
    current = tmp_path / "more_faults"
    shutil.copytree(PROCESSES, current)
    frame = pd.read_csv(current / "results.csv", dtype=str, keep_default_na=False)
    name = frame["name"].iloc[0]
    rows = frame["name"] == name
    values = pd.to_numeric(frame.loc[rows, "minor_faults_per_page"], errors="coerce")
    frame.loc[rows, "minor_faults_per_page"] = [repr(v * 2 + 0.5) for v in values]
    frame.to_csv(current / "results.csv", index=False)
    md = tmp_path / "s.md"
    code, out, _ = _main(capsys, "compare", PROCESSES, current, "--markdown", md)
    assert code == 0
    assert "Behaviour changed: work per unit" in out and "minor_faults_per_page" in out
    assert "Behaviour changed" in md.read_text()
    code, out, _ = _main(capsys, "compare", PROCESSES, current, "--work-tolerance", "900")
    assert "Behaviour changed" not in out


def test_rows_under_steal_are_flagged_or_left_out(capsys, tmp_path):
    runs = []
    for label, steal in (("a", "0.2"), ("b", "0")):
        run = tmp_path / label
        shutil.copytree(PROCESSES, run)
        frame = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
        frame["steal_fraction"] = ["0"] * (len(frame) - 10) + [steal] * 10
        frame.to_csv(run / "results.csv", index=False)
        runs.append(run)
    code, out, _ = _main(capsys, "compare", *runs)
    assert code == 0 and "BASE: 10 of" in out and "--max-steal leaves them out" in out
    code, out, _ = _main(capsys, "compare", *runs, "--max-steal", "10")
    assert code == 0 and "BASE: 10 ok rows left out" in out and "CURRENT: 10" not in out
