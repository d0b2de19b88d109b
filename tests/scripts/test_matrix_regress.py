"""`mapbench matrix` and `mapbench regress` (ci/regress) against a fake binary.

The fake (fake_mapbench.py) writes tiny valid run folders and never touches the system: no
test here tunes a real kernel setting or runs the real suite."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_launcher
from mapbench_cli import cli
from mapbench_cli.commands import matrix
from mapbench_cli.data.runs import BadInput

FAKE = Path(__file__).resolve().parent / "fake_mapbench.py"


@pytest.fixture
def fake(tmp_path):
    """An executable stand-in for build/mapbench; FAKE_* variables steer it (see fake_mapbench.py)."""
    path = tmp_path / "bin" / "mapbench"
    path.parent.mkdir()
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake_env(monkeypatch, tmp_path):
    log = tmp_path / "calls.jsonl"
    for name in ("FAKE_NOT_ROOT", "FAKE_SCALE", "FAKE_EXIT", "FAKE_PROCESSES", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT",
                 "MAPBENCH_BINARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAKE_LOG", str(log))
    return log


def _calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _main(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _refused(code, err, command, mentions):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and lines and lines[-1].startswith(f"mapbench {command}: ") and mentions in lines[-1], err
    assert "Traceback" not in err


# --- matrix: parsing and labels -------------------------------------------------------------

def test_parse_tunes_and_combinations():
    parsed = matrix.parse_tunes(["thp.enabled=always,madvise,never", "vm.swappiness= 10 ,60"])
    assert parsed == [("thp.enabled", ["always", "madvise", "never"]), ("vm.swappiness", ["10", "60"])]
    combos = matrix.combinations(parsed)
    assert len(combos) == 6
    assert combos[0].label == "thp.enabled=always,vm.swappiness=10"
    assert combos[-1].folder_name == "thp.enabled=never,vm.swappiness=60"


@pytest.mark.parametrize("tunes, mentions", [
    (["thp.enabled"], "expected KNOB=VALUE1"),
    (["thp.enabled="], "empty value"),
    (["thp.enabled=always,,never"], "empty value"),
    (["=always"], "expected KNOB=VALUE1"),
    (["../../etc=1,2"], "not a knob name"),
    (["thp.enabled=al ways,never"], "characters no knob accepts"),
    (["thp.enabled=$(reboot),never"], "characters no knob accepts"),
    (["thp.enabled=always,always"], "listed twice"),
    (["thp.enabled=always", "thp.enabled=never"], "given twice"),
])
def test_bad_tunes_are_refused(tunes, mentions):
    with pytest.raises(BadInput, match=mentions.replace("(", r"\(").replace("$", r"\$")):
        matrix.combinations(matrix.parse_tunes(tunes))


def test_a_single_combination_or_too_many_is_refused():
    with pytest.raises(BadInput, match="at least two values"):
        matrix.combinations(matrix.parse_tunes(["thp.enabled=always"]))
    many = [f"k{i}=a,b" for i in range(7)]
    with pytest.raises(BadInput, match="128 combinations"):
        matrix.combinations(matrix.parse_tunes(many))


# --- matrix: runs ------------------------------------------------------------------------------

def test_matrix_runs_each_combination_into_a_labelled_folder(capsys, tmp_path, fake, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_SCALE", "never=1.5")
    out = tmp_path / "m"
    code, stdout, _ = _main(capsys, "matrix", "--mode", "whole-run", "--tune", "thp.enabled=always,madvise,never", "--out", out,
                            "--binary", fake, "--", "--suite", "quick", "--processes", "6")
    assert code == 0
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == ["thp.enabled=always", "thp.enabled=madvise", "thp.enabled=never"]
    calls = [c for c in _calls(fake_env) if "--list_tunings" not in c]
    assert [c[:2] for c in calls] == [["--tune=thp.enabled=always", f"--out_dir={out}/thp.enabled=always"],
                                      ["--tune=thp.enabled=madvise", f"--out_dir={out}/thp.enabled=madvise"],
                                      ["--tune=thp.enabled=never", f"--out_dir={out}/thp.enabled=never"]]
    assert all(c[2:] == ["--suite", "quick", "--processes", "6"] for c in calls)
    index = json.loads((out / "matrix.json").read_text())
    assert [r["label"] for r in index["runs"]] == ["thp.enabled=always", "thp.enabled=madvise", "thp.enabled=never"]
    assert index["runs"][1]["compare"]["verdicts"]["regression"] == 0
    assert index["runs"][2]["compare"]["verdicts"]["regression"] == 3   # the fake made `never` 1.5x slower
    for label in ("thp.enabled=madvise", "thp.enabled=never"):
        for suffix in ("md", "csv", "png"):
            assert (out / f"compare-{label}.{suffix}").is_file()
    assert "thp.enabled: BASE always → CURRENT never" in stdout
    assert f"thp.enabled=never: {out}/thp.enabled=never" in stdout


def test_matrix_passes_the_binarys_root_refusal_through(capsys, tmp_path, fake, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_NOT_ROOT", "1")
    code, _, err = _main(capsys, "matrix", "--tune", "thp.enabled=always,never", "--out", tmp_path / "m",
                         "--binary", fake)
    _refused(code, err, "matrix", "needs root")
    assert "nothing was changed" in err.splitlines()[-1]
    assert len([c for c in _calls(fake_env) if "--list_tunings" not in c]) == 1   # stopped at the first refusal


@pytest.mark.parametrize("args, mentions", [
    (["--tune", "thp.enable=always,never"], "unknown knob 'thp.enable'"),
    (["--tune", "thp.enabled=always,never", "--", "--out_dir=x"], "--out_dir is set by this command"),
    (["--tune", "thp.enabled=always,never", "--", "--tune=vm.swappiness=1"], "--tune is set by this command"),
    (["--tune", "thp.enabled=always,never", "--binary", "/no/such/mapbench"], "no mapbench binary"),
])
def test_matrix_bad_input(capsys, tmp_path, fake, fake_env, args, mentions):
    if "--binary" not in args:
        args = args[:2] + ["--binary", str(fake)] + args[2:]
    code, _, err = _main(capsys, "matrix", "--out", tmp_path / "m", *args)
    _refused(code, err, "matrix", mentions)
    assert not [c for c in _calls(fake_env) if "--list_tunings" not in c]   # nothing ran


def test_matrix_refuses_to_overwrite_a_run(capsys, tmp_path, fake, fake_env):
    (tmp_path / "m" / "thp.enabled=never").mkdir(parents=True)
    code, _, err = _main(capsys, "matrix", "--mode", "whole-run", "--tune", "thp.enabled=always,never",
                         "--out", tmp_path / "m", "--binary", fake)
    _refused(code, err, "matrix", "already exists")


def test_matrix_run_with_failed_rows_exits_1(capsys, tmp_path, fake, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_EXIT", "1")
    code, _, err = _main(capsys, "matrix", "--mode", "whole-run", "--tune", "thp.enabled=always,never",
                         "--out", tmp_path / "m", "--binary", fake)
    assert code == 1 and "some rows are invalid" in err


def test_matrix_through_the_launcher(tmp_path, fake, fake_env):
    result = run_launcher("matrix", "--mode", "whole-run", "--tune", "vm.swappiness=10,60", "--out", tmp_path / "m",
                          "--binary", fake, env={"FAKE_LOG": str(fake_env)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m" / "vm.swappiness=60" / "results.csv").is_file()


def test_matrix_interleaves_one_runtime_knob_and_compares_in_pairs(capsys, tmp_path, fake, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_SCALE", "never=1.5")
    out = tmp_path / "m"
    code, stdout, _ = _main(capsys, "matrix", "--tune", "thp.enabled=always,never", "--out", out, "--binary", fake,
                            "--", "--processes", "6")
    assert code == 0
    calls = [c for c in _calls(fake_env) if "--list_tunings" not in c]
    assert calls == [["--interleave=thp.enabled=always,never", f"--out_dir={out}/interleaved", "--processes", "6"]]
    assert "mode interleaved" in stdout and "paired: 6 process slots" in stdout
    assert "3 regressions" in stdout   # never is 1.5x slower in every slot
    assert json.loads((out / "matrix.json").read_text())["mode"] == "interleaved"
    for suffix in ("md", "csv"):
        assert (out / f"compare.{suffix}").is_file()


@pytest.mark.parametrize("tunes", [["thp.enabled=always,never", "vm.swappiness=10,60"],
                                   ["hugetlb.2M.nr_hugepages=0,8"]])
def test_matrix_runs_whole_runs_when_it_cannot_interleave(capsys, tmp_path, fake, fake_env, tunes):
    args = [a for t in tunes for a in ("--tune", t)]
    code, stdout, _ = _main(capsys, "matrix", *args, "--out", tmp_path / "m", "--binary", fake)
    assert code == 0 and "mode whole-run" in stdout
    assert not any("--interleave" in " ".join(c) for c in _calls(fake_env))
    code, _, err = _main(capsys, "matrix", "--mode", "interleaved", *args, "--out", tmp_path / "n", "--binary", fake)
    _refused(code, err, "matrix", "use --mode whole-run")


# --- regress ------------------------------------------------------------------------------

def _regress(capsys, results, fake, *args):
    return _main(capsys, "regress", "--results", results, "--binary", fake, "--processes", "6", *args)


def test_regress_baseline_then_no_regression_then_regression(capsys, tmp_path, fake, fake_env, monkeypatch):
    results = tmp_path / "results"
    code, out, _ = _regress(capsys, results, fake, "--update-baseline", "--filter", "ceiling/")
    assert code == 0 and "baseline updated" in out
    baseline = results / "baselines" / "default"
    assert sorted(p.name for p in baseline.iterdir()) == ["environment.json", "results.csv"]

    summary, output = tmp_path / "step.md", tmp_path / "gh_output"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    code, out, _ = _regress(capsys, results, fake, "--filter", "ceiling/")
    assert code == 0 and "no regression in time" in out
    run_dir = Path(output.read_text().strip().split("=", 1)[1])
    assert run_dir.parent == results and run_dir.name.startswith("regress-default-")
    for name in ("summary.md", "compare.csv", "compare.png", "results.csv"):
        assert (run_dir / name).is_file()
    assert summary.read_text().startswith("## mapbench regress (default): no regression")
    calls = [c for c in _calls(fake_env)]
    assert calls[-1][:4] == ["--suite=quick", "--processes=6", f"--out_dir={run_dir}", "--filter=ceiling/"]

    monkeypatch.setenv("FAKE_SCALE", "ceiling/=1.3")  # the fake slows the runs filtered this way
    code, out, _ = _regress(capsys, results, fake, "--filter", "ceiling/")
    assert code == 1 and "3 regressions in time" in out
    assert summary.read_text().count("## mapbench regress (default)") == 2   # appended, not overwritten
    assert "**Result: REGRESSION.**" in summary.read_text()


def test_regress_with_interleave_compares_the_arms_of_its_run_without_a_baseline(capsys, tmp_path, fake, fake_env,
                                                                                  monkeypatch):
    monkeypatch.setenv("FAKE_SCALE", "never=1.5")
    results = tmp_path / "results"
    code, out, _ = _regress(capsys, results, fake, "--", "--interleave", "thp.enabled=always,never")
    assert code == 1 and "paired: 6 process slots" in out and "3 regressions in time" in out
    assert not (results / "baselines").exists()
    (run_dir,) = results.glob("regress-default-*")
    assert "thp.enabled=never" in (run_dir / "summary.md").read_text()


def test_regress_without_baseline_is_refused_before_running(capsys, tmp_path, fake, fake_env):
    code, _, err = _regress(capsys, tmp_path / "results", fake)
    _refused(code, err, "regress", "no baseline at")
    assert not _calls(fake_env)


def test_regress_with_an_existing_run_and_a_named_baseline(capsys, tmp_path, fake, fake_env):
    results = tmp_path / "results"
    run = tmp_path / "run"
    subprocess.run([str(fake), f"--out_dir={run}"], check=True, capture_output=True)
    code, _, _ = _regress(capsys, results, fake, "--name", "nightly-1", "--update-baseline", "--run", run)
    assert code == 0 and (results / "baselines" / "nightly-1" / "results.csv").is_file()
    code, out, _ = _regress(capsys, results, fake, "--name", "nightly-1", "--run", run)
    assert code == 0 and (run / "summary.md").is_file()


@pytest.mark.parametrize("args, mentions", [
    (["--name", "../escape"], "letters, digits"),
    (["--update-baseline", "--", "--out_dir=x"], "--out_dir is set by this command"),
    (["--update-baseline", "--binary", "/no/such/binary"], "no mapbench binary"),
    (["--update-baseline", "--run", "/no/such/run"], "no such file or folder"),
])
def test_regress_bad_input(capsys, tmp_path, fake, fake_env, args, mentions):
    code, _, err = _main(capsys, "regress", "--results", tmp_path / "r", *(
        args if "--binary" in args else ["--binary", str(fake), *args]))
    _refused(code, err, "regress", mentions)


def test_regress_run_that_cannot_start_exits_2(capsys, tmp_path, fake, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_NOT_ROOT", "1")
    code, _, err = _regress(capsys, tmp_path / "r", fake, "--update-baseline", "--", "--tune=thp.enabled=never")
    _refused(code, err, "regress", "the run failed (exit status 2)")


def test_ci_regress_script_runs_the_same_command(tmp_path, fake):
    env = dict(os.environ, FAKE_LOG=str(tmp_path / "log"))
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.pop("GITHUB_OUTPUT", None)
    done = subprocess.run([str(REPO / "ci" / "regress"), "--results", str(tmp_path / "r"), "--binary", str(fake),
                           "--update-baseline"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "baselines" / "default" / "results.csv").is_file()


def test_gitignore_lets_a_baseline_be_committed():
    def ignored(path):
        return subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "--no-index", path]).returncode == 0
    if subprocess.run(["git", "-C", str(REPO), "rev-parse"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    assert not ignored("results/baselines/default/results.csv")
    assert not ignored("results/baselines/default/environment.json")
    assert ignored("results/20261122-010611-quick-6b47/results.csv")
    assert ignored("results/regress-default-20261122-012227/summary.md")


def test_busy_machine_note():
    from mapbench_cli.commands import regress
    assert regress.busy_note(0.5, 1.9, 2) == ""
    assert "busy" in regress.busy_note(0.5, 8.2, 2) and "8.2 after, on 2 CPUs" in regress.busy_note(0.5, 8.2, 2)
    assert regress.busy_note(None, None, 2) == ""
