import os
import pathlib
import subprocess

import pytest


@pytest.fixture(scope="session")
def mapbench_binary():
    binary = os.environ.get("MAPBENCH_BINARY")
    if not binary:
        source = pathlib.Path(__file__).resolve().parents[2]
        binary = str(source / "build" / "mapbench")
    assert os.access(binary, os.X_OK), f"build mapbench first: {binary}"
    return binary


@pytest.fixture
def run_mapbench(mapbench_binary, tmp_path):
    """Runs mapbench in tmp_path (so results/ and scratch land there)."""

    def run(*args, timeout=120):
        return subprocess.run([mapbench_binary, *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def faulty_binary(mapbench_binary):
    """mapbench plus the test-only fault_injection family."""
    binary = os.environ.get("MAPBENCH_WITH_FAULTS") or str(
        pathlib.Path(mapbench_binary).parent / "tests" / "mapbench_with_faults")
    assert os.access(binary, os.X_OK), f"build mapbench_with_faults first: {binary}"
    return binary
