"""Synthetic histories: copies of the `good` fixture run with shifted values (a step, noise), one
folder per run with its own run_id, start time and commit in environment.json."""

import json
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from conftest import FIXTURES

STEPPED = "ceiling/memory_read/pattern:seq/block_kib:4/file_mib:64"


def make_history(root: Path, runs: int = 12, step_at: Optional[int] = 6, step: float = 1.3,
                 stepped: Iterable[str] = (STEPPED,), noise: float = 0.01, seed: int = 1,
                 reverse_times: bool = False, columns: Optional[dict] = None, start_time: bool = True) -> list:
    """Write `runs` run folders under root; returns their paths in history order."""
    source = FIXTURES / "good"
    frame = pd.read_csv(source / "results.csv", dtype=str, keep_default_na=False)
    env = json.loads((source / "environment.json").read_text())
    rng = np.random.default_rng(seed)
    stepped = set(stepped)
    paths = []
    for i in range(runs):
        f = frame.copy()
        run_id = f"20261201-{i:06d}-quick-test"
        f["run_id"] = run_id
        for column in ("ns_per_op", "cpu_ns_per_op"):
            values = pd.to_numeric(f[column], errors="coerce")
            factor = np.exp(rng.normal(0, noise, len(f)))
            if step_at is not None and i >= step_at:
                factor = np.where(f["name"].isin(stepped), factor * step, factor)
            f[column] = [("" if np.isnan(v) else repr(float(v))) for v in values * factor]
        f["bytes_per_second"] = ""   # derived again from bytes_per_op / ns_per_op
        for name, value in (columns or {}).items():
            f[name] = value(i) if callable(value) else value
        folder = root / f"run{i:02d}"
        folder.mkdir(parents=True)
        f.to_csv(folder / "results.csv", index=False)
        e = json.loads(json.dumps(env))
        e["run"]["run_id"] = run_id
        hour = (runs - 1 - i) if reverse_times else i
        if start_time:
            e["run"]["start_time"] = f"2026-12-01T{hour:02d}:00:00Z"
        else:
            e["run"].pop("start_time", None)
        e["build"]["git_revision"] = f"c0ffee{i:02d}"
        (folder / "environment.json").write_text(json.dumps(e))
        paths.append(folder)
    return paths
