"""Shared helpers for the analysis tests: the scripts/ package on sys.path, the launcher, fixtures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
LAUNCHER = SCRIPTS / "mapbench"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def run_launcher(*args, cwd=None, env=None, launcher=LAUNCHER):
    """Run scripts/mapbench as a user would; returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env.pop("MAPBENCH_PYTHON", None)
    full_env.update(env or {})
    return subprocess.run([str(launcher), *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def fixtures():
    return FIXTURES
