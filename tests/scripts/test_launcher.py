"""scripts/mapbench finds an interpreter with matplotlib, pandas and numpy, from any cwd."""

import os
import stat

from conftest import FIXTURES, LAUNCHER, run_launcher


def _fake_python(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def test_launcher_is_executable():
    assert os.access(LAUNCHER, os.X_OK)


def test_runs_from_another_directory(tmp_path):
    result = run_launcher("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "plot" in result.stdout


def test_python3_on_path_without_packages_is_not_used_first(tmp_path):
    # A python3 on PATH that cannot import anything (as pyenv's does here) must not win
    # over an interpreter that can: the launcher tries /usr/bin/python3 first.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_python(bin_dir, "python3", "exit 1")
    result = run_launcher("--help", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    if os.access("/usr/bin/python3", os.X_OK):
        assert result.returncode == 0, result.stderr


def test_works_through_a_symlink(tmp_path):
    link = tmp_path / "mapbench"
    link.symlink_to(LAUNCHER)
    result = run_launcher("plot", FIXTURES / "good", "--out", tmp_path / "out", launcher=link, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "ceiling.png").is_file()


def test_no_usable_interpreter_gives_one_clear_line(tmp_path):
    fake = _fake_python(tmp_path, "python-without-matplotlib", "exit 1")
    result = run_launcher("plot", FIXTURES / "good", env={"MAPBENCH_PYTHON": str(fake)})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "ci/install-deps" in lines[0] and "python3-matplotlib" in lines[0]
    assert result.stdout == ""


def test_missing_interpreter_gives_the_same_line(tmp_path):
    result = run_launcher("--help", env={"MAPBENCH_PYTHON": str(tmp_path / "nope")})
    assert result.returncode == 2
    assert "ci/install-deps" in result.stderr


def test_explicit_interpreter_is_used(tmp_path):
    marker = tmp_path / "used"
    fake = _fake_python(tmp_path, "python", f'touch "{marker}"; exec /usr/bin/python3 "$@"')
    result = run_launcher("--help", env={"MAPBENCH_PYTHON": str(fake)})
    assert result.returncode == 0, result.stderr
    assert marker.exists()


def test_a_stray_module_in_the_cwd_cannot_shadow_pandas(tmp_path):
    (tmp_path / "pandas.py").write_text("raise SystemExit('shadowed pandas imported')\n")
    result = run_launcher("plot", FIXTURES / "good", "--out", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
