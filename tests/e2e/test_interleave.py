"""--interleave on a fake sysfs tree: every (case, process) runs under each value in its
own child, in a seeded balanced order; each row says the value it ran under, and its
case (tuning_echo, test only) confirms it saw that value; the setting is restored after.
The real /sys is never used."""
import csv
import json
import shutil
from collections import Counter, defaultdict

import pytest

from test_tunings import FIXTURE, THP

ECHO = ["--filter", "^tuning_echo/", "--benchmark_repetitions=2", "--benchmark_min_time=0.001"]


@pytest.fixture
def fake_root(tmp_path):
    root = tmp_path / "sysroot"
    shutil.copytree(FIXTURE, root)
    return root


def run(binary, tmp_path, root, *args, out="run"):
    import subprocess
    return subprocess.run([binary, *ECHO, "--system_root", str(root), "--tune_journal", str(tmp_path / "journal"),
                           "--out_dir", str(tmp_path / out), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def rows(tmp_path, out="run"):
    with open(tmp_path / out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_each_row_ran_under_its_value_in_a_balanced_order(faulty_binary, tmp_path, fake_root):
    result = run(faulty_binary, tmp_path, fake_root, "--interleave", "thp.enabled=always,never",
                 "--processes", "4", "--seed", "11")
    assert result.returncode == 0, result.stderr
    table = rows(tmp_path)
    assert len(table) == 3 * 4 * 2 * 2   # cases x processes x values x repetitions
    for row in table:
        assert row["status"] == "ok"
        assert row["variant"] == ("thp.enabled=always", "thp.enabled=never")[int(row["arm"])]
        assert row["config_note"] == row["variant"]   # what the case's own process saw
    first = defaultdict(Counter)
    for row in table:
        if row["arm_position"] == "0":
            first[row["name"]][row["arm"]] += 1
    for name, arms in first.items():   # 2 repetitions per arm and process
        assert arms == Counter({"0": 4, "1": 4}), (name, arms)
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["interleave"]["knob"] == "thp.enabled"
    assert env["interleave"]["values"] == ["always", "never"]
    assert env["interleave"]["seed"] == 11 and env["interleave"]["before"] == "madvise"
    assert env["run"]["complete"] is True
    assert (fake_root / THP).read_text().strip() == "madvise"
    assert not (tmp_path / "journal").exists()

    # The same seed gives the same order. (A fresh tree: a fake sysfs file keeps the plain
    # value restored into it, where the kernel's shows the choices again.)
    shutil.rmtree(fake_root)
    shutil.copytree(FIXTURE, fake_root)
    again = run(faulty_binary, tmp_path, fake_root, "--interleave", "thp.enabled=always,never",
                "--processes", "4", "--seed", "11", out="again")
    assert again.returncode == 0, again.stderr
    order = lambda t: [(r["name"], r["process"], r["arm"]) for r in t]
    assert order(rows(tmp_path, "again")) == order(table)


def test_a_value_may_repeat_for_an_a_a_run(faulty_binary, tmp_path, fake_root):
    result = run(faulty_binary, tmp_path, fake_root, "--interleave", "thp.enabled=never,never", "--processes", "2")
    assert result.returncode == 0, result.stderr
    table = rows(tmp_path)
    assert {r["arm"] for r in table} == {"0", "1"}
    assert {r["variant"] for r in table} == {"thp.enabled=never"}
    assert (fake_root / THP).read_text().strip() == "madvise"


def test_an_ordinary_run_has_no_arm_columns(faulty_binary, tmp_path, fake_root):
    result = run(faulty_binary, tmp_path, fake_root)
    assert result.returncode == 0, result.stderr
    assert not {"arm", "variant", "arm_position"} & set(rows(tmp_path)[0])


@pytest.mark.parametrize("args, mentions", [
    (["--interleave", "hugetlb.2M.nr_hugepages=0,4"], "cannot change between cases"),
    (["--interleave", "kernel.panic=0,1"], "allowlist"),
    (["--interleave", "thp.enabled=always"], "two or more values"),
    (["--interleave", "thp.enabled=always,sometimes"], "sometimes"),
    (["--interleave", "thp.enabled=always,never", "--tune", "thp.enabled=never"], "also given to --tune"),
    (["--interleave", "thp.enabled=always,never", "--interleave", "vm.swappiness=1,2"], "one knob"),
    (["--interleave", "thp.enabled=always,never", "--seed", "x"], "--seed"),
])
def test_bad_interleave_is_refused_in_one_line(faulty_binary, tmp_path, fake_root, args, mentions):
    result = run(faulty_binary, tmp_path, fake_root, *args)
    assert result.returncode == 2, result.stderr
    assert mentions in result.stderr.strip().splitlines()[-1], result.stderr
    assert (fake_root / THP).read_text().strip() == "always [madvise] never"
    assert not (tmp_path / "run" / "results.csv").exists()
