"""Runs from many machines: the identity columns (host, kernel_release, machine_class), how
older runs without them are read, what compare says about the machines, and `mapbench merge`
(one dataset from several run folders, read by plot, compare and report like a run)."""

import csv
import json
import shutil

import pandas as pd
import pytest

from conftest import FIXTURES
from mapbench_cli import cli
from mapbench_cli.data import environment
from mapbench_cli.data.runs import load_runs
from crossover_fixture import make_rows, write_run

GOOD = FIXTURES / "good"            # an older run: no identity columns; its environment says host "vm"
SECOND = FIXTURES / "good_second"   # older still, different columns
PROCESSES = FIXTURES / "processes"
IDENTITY = ["host", "kernel_release", "machine_class"]


def _main(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _refused(code, err, mentions):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert mentions in lines[0], err


def _copy(src, dst, run_id=None, host=None, kernel=None, machine_class=None, with_columns=True):
    """A copy of run folder `src` as another host's run: a new run_id, identity columns set
    (or left out, as an older run), environment.json to match."""
    shutil.copytree(src, dst)
    frame = pd.read_csv(dst / "results.csv", dtype=str, keep_default_na=False)
    if run_id:
        frame["run_id"] = run_id
    if with_columns:
        at = list(frame.columns).index("counter_run_fraction") + 1
        for offset, (column, value) in enumerate(zip(IDENTITY, (host, kernel, machine_class))):
            if column in frame:
                frame[column] = value or ""
            else:
                frame.insert(at + offset, column, value or "")
    frame.to_csv(dst / "results.csv", index=False)
    env_path = dst / "environment.json"
    if env_path.exists():
        env = json.loads(env_path.read_text())
        env.setdefault("run", {})
        if run_id:
            env["run"]["run_id"] = run_id
        if host:
            env["run"]["hostname"] = host
        if kernel:
            env.setdefault("kernel", {})["release"] = kernel
        if machine_class is not None:
            env["run"]["machine_class"] = machine_class
        env_path.write_text(json.dumps(env))
    return dst


# --- identity columns -------------------------------------------------------------------------

def test_an_older_run_gets_its_identity_from_environment_json():
    frame = load_runs([GOOD]).frame
    assert (frame["host"] == "vm").all()
    assert (frame["kernel_release"] == "6.18.44-fc-v445").all()
    assert (frame["machine_class"] == "").all()


def test_an_older_run_without_environment_has_empty_identity(tmp_path):
    (tmp_path / "run").mkdir()
    shutil.copy(GOOD / "results.csv", tmp_path / "run" / "results.csv")
    results = load_runs([tmp_path / "run"])
    for column in IDENTITY:
        assert (results.frame[column] == "").all()


def test_identity_columns_written_by_the_harness_are_kept(tmp_path):
    run = _copy(GOOD, tmp_path / "a", host="node7", kernel="6.1.0-x", machine_class="zen4")
    frame = load_runs([run]).frame
    assert set(frame["host"]) == {"node7"} and set(frame["machine_class"]) == {"zen4"}
    # Concatenated with an older run: each keeps its own.
    frame = load_runs([run, SECOND]).frame
    assert set(frame["host"]) == {"node7", "vm"}


def test_hostname_and_machine_class_are_no_setting_change():
    a = {"run": {"hostname": "a", "machine_class": "x"}, "kernel": {"release": "1"}}
    b = {"run": {"hostname": "b", "machine_class": "y"}, "kernel": {"release": "1"}}
    assert environment.differences([a, b]) == {}
    assert environment.watched_changes([a], [b]) == []


def test_compare_says_in_one_line_when_the_machines_differ(tmp_path, capsys):
    base = _copy(PROCESSES, tmp_path / "base", run_id="base-run", host="node1", machine_class="zen3")
    current = _copy(PROCESSES, tmp_path / "current", run_id="current-run", host="node2", machine_class="zen4")
    code, out, err = _main(capsys, "compare", base, current)
    assert code in (0, 1), err
    lines = [line for line in out.splitlines() if "different machines" in line]
    assert len(lines) == 1, out
    assert "hosts BASE node1 → CURRENT node2" in lines[0]
    assert "machine classes BASE zen3 → CURRENT zen4" in lines[0]
    assert "kernels" not in lines[0]
    assert "hostname" not in out


def test_compare_on_one_host_says_nothing_about_machines(tmp_path, capsys):
    base = _copy(PROCESSES, tmp_path / "base", run_id="base-run", host="node1")
    current = _copy(PROCESSES, tmp_path / "current", run_id="current-run", host="node1")
    code, out, err = _main(capsys, "compare", base, current)
    assert code in (0, 1), err
    assert "different machines" not in out and "hostname" not in out


# --- merge ----------------------------------------------------------------------------------------

def test_merge_concatenates_runs_of_several_hosts(tmp_path, capsys):
    a = _copy(GOOD, tmp_path / "a", run_id="run-a", host="node1", kernel="6.1.0-a", machine_class="zen3")
    b = _copy(GOOD, tmp_path / "b", run_id="run-b", host="node2", kernel="6.1.0-b", machine_class="zen4")
    code, out, err = _main(capsys, "merge", a, b, SECOND, "--out", tmp_path / "merged")
    assert code == 0, err
    assert "merged 3 runs" in out
    merged = tmp_path / "merged"
    rows = list(csv.DictReader(open(merged / "results.csv", newline="")))
    source_rows = sum(len(pd.read_csv(p / "results.csv")) for p in (a, b, SECOND))
    assert len(rows) == source_rows
    header = next(csv.reader(open(merged / "results.csv", newline="")))
    assert set(pd.read_csv(a / "results.csv").columns) | set(pd.read_csv(SECOND / "results.csv").columns) <= set(header)
    by_run = {r["run_id"]: (r["host"], r["kernel_release"], r["machine_class"]) for r in rows}
    assert by_run["run-a"] == ("node1", "6.1.0-a", "zen3")
    assert by_run["run-b"] == ("node2", "6.1.0-b", "zen4")
    assert by_run["20261122-002455-quick-44e8"] == ("vm", "6.18.44-fc-v445", "")  # an older run: from its environment
    # Cells are copied as text: the first row is the first source's first row, unchanged.
    first_source = next(csv.DictReader(open(a / "results.csv", newline="")))
    assert all(rows[0][k] == v for k, v in first_source.items())
    env = json.loads((merged / "environment.json").read_text())
    listed = {r["run_id"]: r for r in env["merged"]["runs"]}
    assert set(listed) == {"run-a", "run-b", "20261122-002455-quick-44e8"}
    assert listed["run-b"]["host"] == "node2" and listed["run-b"]["machine_class"] == "zen4"
    assert listed["run-a"]["environment"]["run"]["hostname"] == "node1"
    assert env["merged"]["hosts"] == ["node1", "node2", "vm"]
    # Read back like a run: one Run per source, each with its own environment.
    results = load_runs([merged])
    assert sorted(i for r in results.runs for i in r.run_ids) == sorted(listed)
    assert {r.environment["run"]["hostname"] for r in results.runs} == {"node1", "node2", "vm"}
    assert len(results.frame) == source_rows


def test_merged_folder_is_read_by_plot_compare_and_report(tmp_path, capsys):
    a = _copy(PROCESSES, tmp_path / "a", run_id="run-a", host="node1")
    b = _copy(PROCESSES, tmp_path / "b", run_id="run-b", host="node2")
    c = _copy(PROCESSES, tmp_path / "c", run_id="run-c", host="node3")
    assert _main(capsys, "merge", a, b, "--out", tmp_path / "ab")[0] == 0
    code, out, err = _main(capsys, "plot", tmp_path / "ab", "--out", tmp_path / "plots")
    assert code == 0, err
    assert list((tmp_path / "plots").glob("*.png"))
    code, out, err = _main(capsys, "compare", tmp_path / "ab", c)
    assert code in (0, 1), err
    assert "hosts BASE node1, node2 → CURRENT node3" in out
    code, out, err = _main(capsys, "report", tmp_path / "ab", "--out", tmp_path / "report")
    assert code == 0, err
    assert (tmp_path / "report" / "index.md").is_file()
    # A merged folder merges again.
    assert _main(capsys, "merge", tmp_path / "ab", c, "--out", tmp_path / "abc")[0] == 0
    env = json.loads((tmp_path / "abc" / "environment.json").read_text())
    assert [r["host"] for r in env["merged"]["runs"]] == ["node1", "node2", "node3"]


def test_merge_carries_series(tmp_path, capsys):
    rows = make_rows()
    write_run(tmp_path / "x", rows)
    write_run(tmp_path / "y", [dict(r, run_id="other-run") for r in rows])
    text = (tmp_path / "x" / "series.csv").read_text()
    (tmp_path / "y" / "series.csv").write_text(text.replace(rows[0]["run_id"], "other-run"))
    env = json.loads((tmp_path / "y" / "environment.json").read_text())
    env.setdefault("run", {})["run_id"] = "other-run"
    (tmp_path / "y" / "environment.json").write_text(json.dumps(env))
    code, out, err = _main(capsys, "merge", tmp_path / "x", tmp_path / "y", "--out", tmp_path / "m")
    assert code == 0, err
    points = len(text.splitlines()) - 1
    assert len((tmp_path / "m" / "series.csv").read_text().splitlines()) == 2 * points + 1
    results = load_runs([tmp_path / "m"], series=True)
    assert len(results.series) == 2 * points


def test_merge_refuses_a_run_id_twice(tmp_path, capsys):
    a = _copy(GOOD, tmp_path / "a", run_id="same", host="node1")
    b = _copy(GOOD, tmp_path / "b", run_id="same", host="node2")
    code, _, err = _main(capsys, "merge", a, b, "--out", tmp_path / "m")
    _refused(code, err, "run_id 'same' is in")
    assert not (tmp_path / "m").exists()


def test_merge_refuses_differing_schema_versions(tmp_path, capsys):
    a = _copy(GOOD, tmp_path / "a", run_id="run-a")
    b = _copy(GOOD, tmp_path / "b", run_id="run-b")
    frame = pd.read_csv(b / "results.csv", dtype=str, keep_default_na=False)
    frame["schema_version"] = "2"
    frame.to_csv(b / "results.csv", index=False)
    code, _, err = _main(capsys, "merge", a, b, "--out", tmp_path / "m")
    _refused(code, err, "schema versions differ")


@pytest.mark.parametrize("bad", ["missing", "no_csv", "truncated"])
def test_merge_refuses_a_missing_or_malformed_csv(tmp_path, capsys, bad):
    a = _copy(GOOD, tmp_path / "a", run_id="run-a")
    if bad == "missing":
        other = tmp_path / "nowhere"
    elif bad == "no_csv":
        other = FIXTURES / "no_csv"
    else:
        other = _copy(GOOD, tmp_path / "b", run_id="run-b")
        text = (other / "results.csv").read_text()
        (other / "results.csv").write_text(text[: len(text) - 40])
    code, _, err = _main(capsys, "merge", a, other, "--out", tmp_path / "m")
    _refused(code, err, "merge:")


def test_merge_refuses_columns_that_cannot_be_aligned(tmp_path, capsys):
    a = _copy(GOOD, tmp_path / "a", run_id="run-a")
    b = _copy(GOOD, tmp_path / "b", run_id="run-b")
    frame = pd.read_csv(b / "results.csv", dtype=str, keep_default_na=False)
    at = list(frame.columns).index("counter_run_fraction") + 1
    for offset, (column, value) in enumerate((("arm", "0"), ("variant", "thp.enabled=always"), ("arm_position", "0"))):
        frame.insert(at + offset, column, value)
    frame.to_csv(b / "results.csv", index=False)
    code, _, err = _main(capsys, "merge", a, b, "--out", tmp_path / "m")
    _refused(code, err, "cannot align the columns")


def test_merge_never_overwrites(tmp_path, capsys):
    a = _copy(GOOD, tmp_path / "a", run_id="run-a")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    code, _, err = _main(capsys, "merge", a, "--out", tmp_path / "m")
    _refused(code, err, "merge never overwrites")
    assert (tmp_path / "m" / "keep.txt").read_text() == "mine"


# --- report --by ----------------------------------------------------------------------------------

def test_report_by_host_puts_the_machines_side_by_side(tmp_path, capsys):
    a = _copy(PROCESSES, tmp_path / "a", run_id="run-a", host="node1", kernel="6.1.0-a")
    b = _copy(PROCESSES, tmp_path / "b", run_id="run-b", host="node2", kernel="6.1.0-b")
    frame = pd.read_csv(b / "results.csv", dtype=str, keep_default_na=False)
    first = frame["name"].iloc[0]
    frame[frame["name"] != first].to_csv(b / "results.csv", index=False)  # one case did not run on node2
    assert _main(capsys, "merge", a, b, "--out", tmp_path / "m")[0] == 0
    code, out, err = _main(capsys, "report", tmp_path / "m", "--out", tmp_path / "r", "--by", "host")
    assert code == 0, err
    tables = sorted(p.name for p in (tmp_path / "r" / "tables").glob("*-by-host.md"))
    assert tables == ["ceiling-by-host.md", "read_vs_mmap-by-host.md"]
    text = (tmp_path / "r" / "tables" / "ceiling-by-host.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| "))
    assert "node1 (" in header and "node2 (" in header
    assert "–" in text  # the case node2 did not run
    env = (tmp_path / "r" / "environment.md").read_text()
    assert "Machines side by side (by host)" in env
    block = env.split("Machines side by side (by host)", 1)[1]
    assert "| kernel.release | 6.1.0-a | 6.1.0-b |" in block
    assert "by host" in (tmp_path / "r" / "index.md").read_text()
    # A bad --by is a usage error.
    with pytest.raises(SystemExit) as e:
        cli.main(["report", str(tmp_path / "m"), "--out", str(tmp_path / "r2"), "--by", "cpu"])
    assert e.value.code == 2


def test_machine_differences_ignore_a_side_that_does_not_say():
    same = {"host": ["a"], "kernel_release": ["1"], "machine_class": [""]}
    assert environment.machine_differences(same, dict(same)) == ""
    unknown = {"host": [""], "kernel_release": [""], "machine_class": [""]}
    assert environment.machine_differences(same, unknown) == ""
    other = {"host": ["a", "b"], "kernel_release": ["1"], "machine_class": ["zen4"]}
    assert environment.machine_differences(same, other) == "different machines: hosts BASE a → CURRENT a, b"


def _interleaved(src, dst, run_id, values):
    run = _copy(src, dst, run_id=run_id)
    frame = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
    at = list(frame.columns).index("counter_run_fraction") + 1
    for offset, (column, value) in enumerate((("arm", "0"), ("variant", f"thp.enabled={values[0]}"),
                                              ("arm_position", "0"))):
        frame.insert(at + offset, column, value)
    frame.to_csv(run / "results.csv", index=False)
    env = json.loads((run / "environment.json").read_text())
    env["interleave"] = {"knob": "thp.enabled", "values": list(values), "seed": 1, "mode": "interleaved"}
    (run / "environment.json").write_text(json.dumps(env))
    return run


def test_merge_takes_interleaved_runs_of_the_same_arms_only(tmp_path, capsys):
    a = _interleaved(GOOD, tmp_path / "a", "run-a", ["always", "never"])
    b = _interleaved(GOOD, tmp_path / "b", "run-b", ["always", "never"])
    c = _interleaved(GOOD, tmp_path / "c", "run-c", ["always", "madvise"])
    assert _main(capsys, "merge", a, b, "--out", tmp_path / "ab")[0] == 0
    code, _, err = _main(capsys, "merge", a, c, "--out", tmp_path / "ac")
    _refused(code, err, "would mean different values")


def test_compare_by_host_puts_each_machine_against_the_first(tmp_path, capsys):
    a = _copy(PROCESSES, tmp_path / "a", run_id="run-a", host="node1")
    b = _copy(PROCESSES, tmp_path / "b", run_id="run-b", host="node2")
    c = _copy(PROCESSES, tmp_path / "c", run_id="run-c", host="node3")
    slow = pd.read_csv(c / "results.csv", dtype=str, keep_default_na=False)
    slow["ns_per_op"] = (slow["ns_per_op"].astype(float) * 3).map(repr)   # node3 is 3x slower everywhere
    slow.to_csv(c / "results.csv", index=False)
    assert _main(capsys, "merge", a, b, c, "--out", tmp_path / "m")[0] == 0
    code, out, err = _main(capsys, "compare", tmp_path / "m", "--by", "host", "--csv", tmp_path / "c.csv",
                           "--plot", tmp_path / "p.png")
    assert code == 1, err
    assert out.startswith("mapbench compare: ") and "in 2 comparisons" in out.splitlines()[0]
    assert "BASE:    host node1" in out and "CURRENT: host node2" in out and "CURRENT: host node3" in out
    node2 = out[out.index("CURRENT: host node2"):out.index("CURRENT: host node3")]
    assert "regression" not in node2.split("\n")[0]
    assert out.count("no regression in time") == 1 and "regressions in time" in out
    table = pd.read_csv(tmp_path / "c.csv")
    assert set(table["verdict"]) >= {"regression"}
    assert {p.name for p in tmp_path.glob("p-*.png")} == {"p-host_node2.png", "p-host_node3.png"}

    code, _, err = _main(capsys, "compare", a, "--by", "host")
    _refused(code, err, "the rows name only node1")
    with pytest.raises(SystemExit) as usage:
        cli.main(["compare", str(a), str(b), "--by", "host", "--base", str(a)])
    assert usage.value.code == 2 and "without --base/--current" in capsys.readouterr().err
