"""The many-machines recipes in ci/: the Slurm array + merge (ci/slurm/), run here through a
stand-in sbatch/srun (tests/scripts/fake_slurm/) and the stand-in binary (fake_mapbench.py),
and the GitHub Actions matrix (ci/github-actions-matrix.yml): parsed, its actions and commands
checked, and its two jobs' shell steps run here with the artifacts copied by hand."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from mapbench_cli import cli

yaml = pytest.importorskip("yaml")  # python3-yaml

FAKE_MAPBENCH = Path(__file__).resolve().parent / "fake_mapbench.py"
FAKE_SLURM = Path(__file__).resolve().parent / "fake_slurm"
SLURM = REPO / "ci" / "slurm"
WORKFLOW = REPO / "ci" / "github-actions-matrix.yml"
KNOWN_ACTIONS = {"actions/checkout@v4", "actions/upload-artifact@v4", "actions/download-artifact@v4"}


@pytest.fixture
def fake_binary(tmp_path):
    path = tmp_path / "bin" / "mapbench"
    path.parent.mkdir()
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_MAPBENCH}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _env(tmp_path, fake_binary, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "SLURM", "MAPBENCH", "GITHUB_"))}
    env.update(PATH=f"{FAKE_SLURM}{os.pathsep}{env.get('PATH', '')}", MAPBENCH=str(fake_binary),
               FAKE_SLURM_STATE=str(tmp_path / "slurm"), TMPDIR=str(tmp_path))
    env.update(extra)
    return env


def _submit(tmp_path, env, tasks=3, *extra):
    shared = tmp_path / "shared"
    done = subprocess.run([str(SLURM / "submit"), str(tasks), str(shared), *extra], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    jobs = json.loads((tmp_path / "slurm" / "jobs.json").read_text()) if (tmp_path / "slurm" / "jobs.json").exists() else {}
    return done, shared, jobs


# --- Slurm --------------------------------------------------------------------------------------

def test_slurm_array_writes_one_folder_per_task_and_the_merge_runs_after(tmp_path, fake_binary):
    done, shared, jobs = _submit(tmp_path, _env(tmp_path, fake_binary), 3, "--partition=bench", "--",
                                 "--processes", "2")
    assert done.returncode == 0, done.stderr
    array, merge = jobs.values()
    assert array["tasks"] == {"0": 0, "1": 0, "2": 0}, array
    assert merge["dependency"] == f"afterok:{list(jobs)[0]}"
    assert merge["tasks"] == {"-": 0}, (tmp_path / "slurm").iterdir()
    folders = sorted(p.name for p in shared.glob("task-*"))
    assert folders == ["task-0", "task-1", "task-2"]
    env = json.loads((shared / "task-1" / "environment.json").read_text())
    assert env["run"]["machine_class"] == "fake-node-1"   # the node's name when no class is given
    assert "--processes" in env["run"]["command_line"]     # flags after -- reach mapbench
    merged = pd.read_csv(shared / "merged" / "results.csv", dtype=str, keep_default_na=False)
    single = pd.read_csv(shared / "task-0" / "results.csv")
    assert len(merged) == 3 * len(single)
    assert sorted(set(merged["machine_class"])) == ["fake-node-0", "fake-node-1", "fake-node-2"]
    listing = json.loads((shared / "merged" / "environment.json").read_text())["merged"]["runs"]
    assert len(listing) == 3 and len({r["run_id"] for r in listing}) == 3
    assert (shared / "report" / "index.md").is_file()


def test_slurm_machine_class_from_the_environment(tmp_path, fake_binary):
    done, shared, jobs = _submit(tmp_path, _env(tmp_path, fake_binary, MAPBENCH_MACHINE_CLASS="zen4"), 2)
    assert done.returncode == 0, done.stderr
    merged = pd.read_csv(shared / "merged" / "results.csv", dtype=str, keep_default_na=False)
    assert set(merged["machine_class"]) == {"zen4"}


def test_slurm_rows_that_failed_still_merge(tmp_path, fake_binary):
    done, shared, jobs = _submit(tmp_path, _env(tmp_path, fake_binary, FAKE_EXIT="1"), 2)
    assert done.returncode == 0, done.stderr
    assert list(jobs.values())[0]["tasks"] == {"0": 0, "1": 0}
    assert (shared / "merged" / "results.csv").is_file()


def test_slurm_a_failed_task_holds_the_merge_back(tmp_path, fake_binary):
    done, shared, jobs = _submit(tmp_path, _env(tmp_path, fake_binary, FAKE_EXIT="2"), 2)
    assert done.returncode == 0, done.stderr  # submitting worked; the jobs did not
    array, merge = jobs.values()
    assert array["tasks"] == {"0": 2, "1": 2}
    assert merge["tasks"] == {"-": "never ran: DependencyNeverSatisfied"}
    assert not (shared / "merged").exists()


def test_slurm_submit_refuses_bad_task_counts(tmp_path, fake_binary):
    for bad in ("0", "x", "-3"):
        done, _, jobs = _submit(tmp_path, _env(tmp_path, fake_binary), bad)
        assert done.returncode == 2 and "TASKS" in done.stderr
        assert not jobs


# --- GitHub Actions -------------------------------------------------------------------------------

def _workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def _run_steps(job):
    return [s for s in job["steps"] if "run" in s]


def _mapbench_flags():
    text = (REPO / "harness" / "run" / "flags.cc").read_text()
    return set(re.findall(r'^\s*\{"([a-z_]+)", (?:"|nullptr)', text, re.M))


def test_workflow_parses_and_calls_what_exists():
    flow = _workflow()
    assert set(flow["jobs"]) == {"run", "merge"}
    run, merge = flow["jobs"]["run"], flow["jobs"]["merge"]
    assert run["runs-on"] == "${{ matrix.label }}" and run["strategy"]["matrix"]["label"]
    assert merge["needs"] == "run"
    flags = _mapbench_flags()
    assert {"suite", "machine_class", "out_dir", "scratch_dir"} <= flags
    for job in (run, merge):
        for step in job["steps"]:
            if "uses" in step:
                assert step["uses"] in KNOWN_ACTIONS, step
            for path in re.findall(r'"\$MAPBENCH_DIR/([^"]+)"', step.get("run", "")):
                assert os.access(REPO / path, os.X_OK), path
            for line in step.get("run", "").splitlines():
                if '"$MAPBENCH"' in line:
                    for flag in re.findall(r"--([a-z_]+)", line):
                        assert flag in flags, flag
                if "scripts/mapbench\" " in line:
                    command = line.split('scripts/mapbench" ', 1)[1].split()[0]
                    assert command in cli.COMMANDS, command
    uploads = [s for s in run["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    downloads = [s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact")]
    assert uploads[0]["with"]["name"] == "mapbench-run-${{ matrix.label }}"
    assert downloads[0]["with"]["pattern"] == "mapbench-run-*"
    assert yaml.safe_load((REPO / "ci" / "github-actions-example.yml").read_text())["jobs"]


def _bash(script, cwd, env, label=None):
    if label is not None:
        env = dict(env, LABEL=label)
        script = script.replace("${{ matrix.label }}", label)
    assert "${{" not in script, script
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_workflow_steps_run_and_merge(tmp_path, fake_binary):
    """The matrix job's run step once per label, the artifacts moved as upload/download would
    (runs/<label> -> runs/mapbench-run-<label>/), then the merge job's run step."""
    flow = _workflow()
    labels = flow["jobs"]["run"]["strategy"]["matrix"]["label"]
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "mapbench").symlink_to(REPO)
    env = _env(tmp_path, fake_binary, **{k: v for k, v in flow["env"].items() if k != "MAPBENCH"},
               RUNNER_TEMP=str(tmp_path))
    suite = next(s for s in flow["jobs"]["run"]["steps"] if s.get("name") == "Run the quick suite")
    for label in labels:
        done = _bash(suite["run"], tmp_path / "ws", env, label)
        assert done.returncode == 0, done.stderr
    (tmp_path / "merge-ws").mkdir()
    (tmp_path / "merge-ws" / "mapbench").symlink_to(REPO)
    for label in labels:
        shutil.copytree(tmp_path / "ws" / "runs" / label, tmp_path / "merge-ws" / "runs" / f"mapbench-run-{label}")
    step = next(s for s in flow["jobs"]["merge"]["steps"] if s.get("name") == "Merge and report")
    done = _bash(step["run"], tmp_path / "merge-ws", env)
    assert done.returncode == 0, done.stderr
    merged = pd.read_csv(tmp_path / "merge-ws" / "merged" / "results.csv", dtype=str, keep_default_na=False)
    assert sorted(set(merged["machine_class"])) == sorted(labels)
    assert (tmp_path / "merge-ws" / "report" / "index.md").is_file()
    # A run step whose binary fails (exit 2) fails the job; exit 1 (rows failed) does not.
    done = _bash(suite["run"], tmp_path / "ws", dict(env, FAKE_EXIT="2"), "other")
    assert done.returncode == 2
    done = _bash(suite["run"], tmp_path / "ws", dict(env, FAKE_EXIT="1"), "third")
    assert done.returncode == 0, done.stderr
