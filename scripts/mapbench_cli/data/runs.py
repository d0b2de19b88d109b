"""Load and validate run folders (results.csv + environment.json) into one pandas frame.

Shared by every subcommand. Nothing here draws or prints: problems with the input raise
BadInput with a one-line message; softer findings are returned as warnings.

Every cell is first read as text (so nothing in a cell is ever interpreted: a cell such as
`=HYPERLINK(...)` stays a string), then the columns the schema calls numeric are parsed
strictly: a non-empty cell that is not a number is bad input.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.data import environment, schema
from mapbench_cli.data.files import ENVIRONMENT_NAME, RESULTS_NAME, BadInput  # noqa: F401  (re-exported)
from mapbench_cli.text.words import clean, quote, show

# No cell the harness writes comes near this; a longer one is refused rather than carried
# into tables, figures and terminals. (The csv module alone stops at 128 KiB.)
MAX_CELL_CHARS = 4096

@dataclass
class Run:
    csv_path: Path
    folder: Path
    rows: int
    run_ids: List[str]
    environment: Optional[dict]


@dataclass
class Results:
    frame: pd.DataFrame                 # every row, typed
    runs: List[Run]
    warnings: List[str] = field(default_factory=list)
    # Every run's series.csv, validated and concatenated (load_runs(series=True)); an
    # empty frame with SERIES_COLUMNS when no run has one.
    series: Optional[pd.DataFrame] = None

    @property
    def ok(self) -> pd.DataFrame:
        """Rows that may be plotted: status ok and not contradicted by valid=0."""
        f = self.frame
        return f[(f["status"] == schema.STATUS_OK) & (f["valid"] != 0)]

    def not_plotted(self, frame: Optional[pd.DataFrame] = None) -> Dict[str, int]:
        """Counts of rows left out, by reason (status, or 'ok but valid=0')."""
        f = self.frame if frame is None else frame
        counts: Dict[str, int] = {}
        for status, n in f.loc[f["status"] != schema.STATUS_OK, "status"].value_counts().items():
            counts[str(status)] = int(n)
        contradicted = int(((f["status"] == schema.STATUS_OK) & (f["valid"] == 0)).sum())
        if contradicted:
            counts["ok but valid=0"] = contradicted
        return counts


def describe_not_plotted(counts: Dict[str, int]) -> str:
    """{'skipped': 2, 'invalid': 1} -> '3 rows not plotted (2 skipped, 1 invalid)'; '' if none."""
    total = sum(counts.values())
    if not total:
        return ""
    order = {s: i for i, s in enumerate(schema.STATUSES)}
    parts = ", ".join(f"{n} {clean(s)}" for s, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
    return f"{total} row{'s' if total != 1 else ''} not plotted ({parts})"


def find_csv(path: Path) -> Path:
    if path.is_dir():
        candidate = path / RESULTS_NAME
        if not candidate.is_file():
            raise BadInput(f"{show(path)}: no {RESULTS_NAME} in this folder (is it a mapbench run folder?)")
        return candidate
    if path.is_file():
        return path
    if path.exists():
        raise BadInput(f"{show(path)}: not a regular file or folder")
    raise BadInput(f"{show(path)}: no such file or folder")


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadInput(f"{show(path)}: cannot read: {e.strerror or e}") from None
    if not data.strip():
        raise BadInput(f"{show(path)}: file is empty (the run wrote no header, no rows)")
    if b"\0" in data:
        raise BadInput(f"{show(path)}: contains NUL bytes; not a results CSV")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadInput(f"{show(path)}: not UTF-8 text (byte {e.start})") from None
    return text


def _check_structure(path: Path, text: str, required: Sequence[str] = schema.BASE_COLUMNS,
                     kind: str = "results") -> Tuple[List[str], List[int]]:
    """Header sanity and one record per line with the header's field count.

    Returns the header and, for each data row (as pandas will number them), the line of
    the file where it ends, for messages. `required`: the columns the file must have;
    `kind`: what it is, for messages ("results", "series").
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    numbered = []
    try:
        for record in reader:
            if record:  # a blank line: pandas skips it too
                numbered.append((reader.line_num, record))
    except csv.Error as e:
        raise BadInput(f"{show(path)}: not a valid CSV (line {reader.line_num}: {e})") from None
    if not numbered:
        raise BadInput(f"{show(path)}: file is empty (the run wrote no header, no rows)")
    header = [c.strip() for c in numbered[0][1]]
    if any(not c for c in header):
        raise BadInput(f"{show(path)}: the header has an empty column name (column {header.index('') + 1})")
    seen = set()
    for c in header:
        if c in seen:
            raise BadInput(f"{show(path)}: the header names column {quote(c)} twice")
        seen.add(c)
    missing = [c for c in required if c not in seen]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise BadInput(f"{show(path)}: not a mapbench {kind} file: missing {'base ' if kind == 'results' else ''}"
                       f"column{'s' if len(missing) > 1 else ''} {shown}")
    body = numbered[1:]
    if not body:
        raise BadInput(f"{show(path)}: no rows (header only): the run recorded no "
                       f"{'result' if kind == 'results' else 'point'}")
    cut = "the file was cut while being written; remove that line to use the other rows"
    for index, (line, record) in enumerate(body):
        long = next((i for i, cell in enumerate(record) if len(cell) > MAX_CELL_CHARS), None)
        if long is not None:
            column = header[long] if long < len(header) else f"field {long + 1}"
            raise BadInput(f"{show(path)}: line {line}: a cell of {len(record[long])} characters in column "
                           f"{quote(column, 40)} (at most {MAX_CELL_CHARS}); not something the harness writes")
        if len(record) != len(header):
            if index == len(body) - 1:
                raise BadInput(f"{show(path)}: line {line} is truncated ({len(record)} of {len(header)} fields); {cut}")
            raise BadInput(f"{show(path)}: line {line} has {len(record)} fields, the header has {len(header)}")
    if not text.endswith(("\n", "\r")):
        raise BadInput(f"{show(path)}: line {body[-1][0]} is truncated (no end of line); {cut}")
    return header, [line for line, _ in body]


def _parse_numeric(raw: pd.Series) -> Tuple[pd.Series, pd.Series]:
    """Strictly parse text cells: (values as float, mask of non-empty cells that are not numbers)."""
    raw = raw.str.strip()
    values = pd.to_numeric(raw.where(raw != "", None), errors="coerce").astype(float)
    spelled_nan = raw.str.lower().isin(["nan", "+nan", "-nan"])
    return values, (raw != "") & values.isna() & ~spelled_nan


def load_csv(path: Path) -> pd.DataFrame:
    """Read and validate one results CSV; returns a typed frame (text columns as str)."""
    text = _read_text(path)
    header, lines = _check_structure(path, text)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise BadInput(f"{show(path)}: not a valid CSV ({clean(first)})") from None
    if len(frame) != len(lines):  # the structure check and pandas must agree on the rows
        raise BadInput(f"{show(path)}: pandas read {len(frame)} rows where the CSV has {len(lines)}; not a clean CSV")
    frame.columns = header

    def where(mask: pd.Series) -> str:
        return f"{show(path)}: line {lines[int(np.flatnonzero(mask.to_numpy())[0])]}"

    version = frame["schema_version"].str.strip()
    wrong = pd.to_numeric(version, errors="coerce") != schema.SCHEMA_VERSION  # "1" or "1.0"
    if wrong.any():
        raise BadInput(f"{where(wrong)}: schema_version {quote(version[wrong].iloc[0], 20)}; "
                       f"this tool reads version {schema.SCHEMA_VERSION}")
    status = frame["status"].str.strip()
    unknown = ~status.isin(schema.STATUSES)
    if unknown.any():
        raise BadInput(f"{where(unknown)}: unknown status {quote(status[unknown].iloc[0], 30)} "
                       f"(expected one of {', '.join(schema.STATUSES)})")
    frame["status"] = status
    for column in ("family", "name"):
        frame[column] = frame[column].str.strip()
        empty = frame[column] == ""
        if empty.any():
            raise BadInput(f"{where(empty)}: empty {column}")

    for column in header:
        if schema.is_numeric(column):
            values, bad = _parse_numeric(frame[column])
            if bad.any():
                cell = frame.loc[bad, column].iloc[0]
                raise BadInput(f"{where(bad)}: column {show(column)} must hold a number, found {quote(cell, 40)}")
            frame[column] = values

    ok = frame["status"] == schema.STATUS_OK
    ns = frame["ns_per_op"]
    bad = ok & ~(np.isfinite(ns) & (ns > 0))
    if bad.any():
        value = ns[bad].iloc[0]
        what = ("missing or NaN" if value != value else
                "not finite" if not math.isfinite(value) else f"{value:g}; it must be > 0")
        raise BadInput(f"{where(bad)}: status ok but ns_per_op is {what}")
    bps = frame["bytes_per_second"]
    bad = ok & bps.notna() & ~(np.isfinite(bps) & (bps >= 0))
    if bad.any():
        raise BadInput(f"{where(bad)}: status ok but bytes_per_second is {bps[bad].iloc[0]:g}")
    return frame


def _load_environment(folder: Path, warnings: List[str]) -> Optional[dict]:
    path = folder / ENVIRONMENT_NAME
    if not path.is_file():
        warnings.append(f"{show(folder)}: no {ENVIRONMENT_NAME}; the run's environment is unknown")
        return None
    try:
        env = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        warnings.append(f"{show(path)}: unreadable ({clean(str(e))[:80]}); the run's environment is unknown")
        return None
    if not isinstance(env, dict):
        warnings.append(f"{show(path)}: not a JSON object; the run's environment is unknown")
        return None
    run = env.get("run")
    if isinstance(run, dict) and run.get("complete") is False:
        warnings.append(f"{show(folder)}: the run did not finish (run.complete is false); using the rows it wrote")
    return env


def load_runs(paths: Sequence[os.PathLike], series: bool = False) -> Results:
    """Load run folders or CSV paths, validate each, and concatenate them. With `series`,
    each run folder's series.csv too (Results.series), validated as strictly."""
    if not paths:
        raise BadInput("no run folder given")
    warnings: List[str] = []
    frames, runs, seen = [], [], {}
    for given in paths:
        csv_path = find_csv(Path(given))
        real = csv_path.resolve()
        if real in seen:
            warnings.append(f"{show(given)} is the same file as {show(seen[real])}; read once")
            continue
        seen[real] = given
        frame = load_csv(csv_path)
        folder = csv_path.parent
        run_ids = sorted(set(frame["run_id"].str.strip()) - {""})
        env = _load_environment(folder, warnings)
        sources = environment.merged_sources(env)
        if sources is None:
            runs.append(Run(csv_path, folder, len(frame), run_ids, env))
        else:  # a merged dataset: each of its runs keeps its own environment
            ids = frame["run_id"].str.strip()
            runs += [Run(csv_path, folder, int((ids == rid).sum()), [rid], source) for rid, source in sources]
        known = environment.identity(env)
        missing = {c: known[c] for c in schema.IDENTITY_COLUMNS if c not in frame.columns}
        if missing:  # an older run: its environment says, or nothing
            frame = pd.concat([frame, pd.DataFrame(missing, index=frame.index)], axis=1)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    # Columns one run lacks are empty: text columns become "", numeric ones stay NaN.
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].fillna("")
    results = Results(frame=frame, runs=runs, warnings=warnings)
    if series:
        results.series = load_series(results)
    return results


# --- series.csv ---------------------------------------------------------------------------------

SERIES_NAME = "series.csv"
SERIES_COLUMNS: Tuple[str, ...] = ("schema_version", "run_id", "family", "name", "process", "repetition", "t_s",
                                   "series", "value")
SERIES_KEY = ["run_id", "name", "process", "repetition"]
SERIES_ARM = "arm"   # an interleaved run's series.csv ends with it, as its results.csv rows carry one


def _series_key(frame: pd.DataFrame) -> List[str]:
    """What ties a point to its row: the arm too when the run interleaved."""
    return SERIES_KEY + ([SERIES_ARM] if SERIES_ARM in frame else [])


def series_path(run: Run) -> Optional[Path]:
    """The run's series.csv, if it has one (only beside a file named results.csv)."""
    if run.csv_path.name != RESULTS_NAME:
        return None
    path = run.folder / SERIES_NAME
    return path if path.exists() else None


def load_series_csv(path: Path) -> pd.DataFrame:
    """Read and validate one series.csv (docs/results-schema.md); a typed frame of
    SERIES_COLUMNS. Refused with one line, as results.csv is, when it is malformed."""
    if not path.is_file():
        raise BadInput(f"{show(path)}: not a regular file")
    text = _read_text(path)
    header, lines = _check_structure(path, text, SERIES_COLUMNS, "series")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    if len(frame) != len(lines):
        raise BadInput(f"{show(path)}: pandas read {len(frame)} rows where the CSV has {len(lines)}; not a clean CSV")
    frame.columns = header
    frame = frame[list(SERIES_COLUMNS) + ([SERIES_ARM] if SERIES_ARM in header else [])]

    def where(mask: pd.Series) -> str:
        return f"{show(path)}: line {lines[int(np.flatnonzero(mask.to_numpy())[0])]}"

    version = frame["schema_version"].str.strip()
    wrong = pd.to_numeric(version, errors="coerce") != schema.SCHEMA_VERSION
    if wrong.any():
        raise BadInput(f"{where(wrong)}: schema_version {quote(version[wrong].iloc[0], 20)}; "
                       f"this tool reads version {schema.SCHEMA_VERSION}")
    for column in ("run_id", "family", "name", "series"):
        frame[column] = frame[column].str.strip()
    for column in ("family", "name", "series"):
        empty = frame[column] == ""
        if empty.any():
            raise BadInput(f"{where(empty)}: empty {column}")
    for column in ("process", "repetition", "t_s", "value") + ((SERIES_ARM,) if SERIES_ARM in frame else ()):
        values, bad = _parse_numeric(frame[column])
        bad |= ~np.isfinite(values)  # an empty cell, NaN or inf: every point is a finite number
        if bad.any():
            cell = frame.loc[bad, column].iloc[0]
            raise BadInput(f"{where(bad)}: column {column} must hold a finite number, found {quote(cell, 40)}")
        frame[column] = values
    for column in ("process", "repetition") + ((SERIES_ARM,) if SERIES_ARM in frame else ()):
        bad = (frame[column] < 0) | (frame[column] != np.floor(frame[column]))
        if bad.any():
            raise BadInput(f"{where(bad)}: {column} must be a whole number >= 0, found {frame.loc[bad, column].iloc[0]:g}")
    bad = frame["t_s"] < 0
    if bad.any():
        raise BadInput(f"{where(bad)}: t_s is negative ({frame.loc[bad, 't_s'].iloc[0]:g})")
    known = frame["series"].isin(list(schema.SERIES))
    bad = known & (frame["value"] < 0)
    if bad.any():
        raise BadInput(f"{where(bad)}: {frame.loc[bad, 'series'].iloc[0]} is negative "
                       f"({frame.loc[bad, 'value'].iloc[0]:g}); a count, rate or usage cannot be")
    repeated = frame.duplicated(_series_key(frame) + ["series", "t_s"], keep="first")
    if repeated.any():
        r = frame[repeated].iloc[0]
        raise BadInput(f"{where(repeated)}: a second value of {quote(r['series'], 40)} at t_s={r['t_s']:g} for "
                       f"{quote(r['name'], 80)} process {r['process']:g} repetition {r['repetition']:g}")
    return frame


def load_series(results: Results) -> pd.DataFrame:
    """Every run's series.csv (validated), concatenated; the points that belong to no row of
    results.csv (a run cut between the two files) are dropped with a warning in
    results.warnings. No series.csv anywhere: an empty frame."""
    frames, read = [], set()
    for run in results.runs:
        path = series_path(run)
        if path is not None and path.resolve() not in read:  # a merged dataset's runs share one
            read.add(path.resolve())
            frames.append(load_series_csv(path))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("process", "repetition", "t_s", "value") else object)
                             for c in SERIES_COLUMNS})
    series = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    rows = results.frame
    keys = pd.DataFrame({
        "run_id": rows["run_id"].astype(str).str.strip(),
        "name": rows["name"],
        "process": pd.to_numeric(rows["process"], errors="coerce").fillna(0.0) if "process" in rows else 0.0,
        "repetition": rows["repetition"].astype(float),
    })
    key = SERIES_KEY
    if SERIES_ARM in series:
        key = _series_key(series)
        keys[SERIES_ARM] = pd.to_numeric(rows[SERIES_ARM], errors="coerce") if SERIES_ARM in rows else np.nan
    keys = keys.drop_duplicates()
    matched = series.merge(keys.assign(_row=True), on=key, how="left")["_row"].notna().to_numpy()
    if not matched.all():
        orphans = series[~matched]
        reps = orphans.drop_duplicates(key)
        results.warnings.append(
            f"{SERIES_NAME}: {len(orphans)} point{'s' if len(orphans) != 1 else ''} of {len(reps)} "
            f"repetition{'s' if len(reps) != 1 else ''} with no row in {RESULTS_NAME} (first: {clean(reps['name'].iloc[0])} "
            f"process {reps['process'].iloc[0]:g} repetition {reps['repetition'].iloc[0]:g}); not drawn")
        series = series[matched].reset_index(drop=True)
    return series
