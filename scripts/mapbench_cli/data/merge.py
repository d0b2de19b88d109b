"""`mapbench merge`: several run folders (from several hosts) concatenated into one dataset.

The merged folder is read like a run: results.csv holds every row (the union of the
columns, empty where a run had none, the identity columns filled for older runs),
series.csv every run's series (when one has any), and environment.json lists each
source run with its host, kernel and machine class and keeps its whole environment
("merged.runs"), so compare and report still see each run's own settings
(data/runs.py expands it). Cells are copied as text, never reformatted.

Refused with one line (BadInput): a missing or malformed CSV (as strictly as every
command reads one), schema versions that differ, column sets that cannot be aligned
(an interleaved run beside another knob's or a plain run), a run_id in two inputs, an
output folder that already holds something.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from mapbench_cli.data import environment, runs, schema
from mapbench_cli.data.files import ENVIRONMENT_NAME, RESULTS_NAME, BadInput
from mapbench_cli.text.words import quote, show

ARM_COLUMNS = ("arm", "variant", "arm_position")


@dataclass
class Source:
    given: str
    csv_path: Path
    header: List[str]
    env: Optional[dict]
    entries: List[dict]                 # one per run_id: the merged environment's listing
    series: Optional[Path] = None       # its series.csv, checked


def _records(text: str) -> Tuple[List[str], List[List[str]]]:
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    return [c.strip() for c in rows[0]], rows[1:]


def _schema_versions(path: Path, text: str) -> List[str]:
    """The distinct schema_version cells of a CSV, read before the strict check so that a
    mismatch between runs is named as one."""
    header, records = _records(text)
    if "schema_version" not in header:
        return []
    i = header.index("schema_version")
    return sorted({r[i].strip() for r in records if i < len(r)})


def _read_source(given: str, warnings: List[str]) -> Source:
    csv_path = runs.find_csv(Path(given))
    frame = runs.load_csv(csv_path)  # the strict check: one line for a malformed file
    header = [str(c) for c in frame.columns]
    folder = csv_path.parent
    env = runs._load_environment(folder, warnings)
    ids = [i.strip() for i in frame["run_id"].astype(str)]
    if any(not i for i in ids):
        raise BadInput(f"{show(csv_path)}: a row without a run_id; runs from several hosts could not be told apart")
    counts: Dict[str, int] = {}
    for i in ids:
        counts[i] = counts.get(i, 0) + 1
    sources = dict(environment.merged_sources(env) or [])
    entries = []
    for run_id, rows in counts.items():
        source_env = sources.get(run_id, env if not sources else None)
        # An older run has no identity columns: its environment says (or nothing).
        known = environment.identity(source_env)
        row_ids = {c: frame[c].astype(str).str.strip()[frame["run_id"].str.strip() == run_id].iloc[0]
                   for c in schema.IDENTITY_COLUMNS if c in frame.columns}
        entries.append({"run_id": run_id, **{c: row_ids.get(c, known[c]) for c in schema.IDENTITY_COLUMNS},
                        "rows": rows, "source": str(folder), "environment": source_env})
    series = runs.series_path(runs.Run(csv_path, folder, len(frame), list(counts), env))
    if series is not None:
        runs.load_series_csv(series)  # as strict as plot and report are
    return Source(given, csv_path, header, env, entries, series)


def _aligned_columns(sources: Sequence[Source]) -> List[str]:
    """The union of the headers, first-seen order, identity columns after the base ones."""
    interleaved = [s for s in sources if any(c in s.header for c in ARM_COLUMNS)]
    if interleaved and len(interleaved) != len(sources):
        plain = next(s for s in sources if s not in interleaved)
        raise BadInput(f"cannot align the columns: {show(interleaved[0].given)} is an interleaved run (arm, variant) "
                       f"and {show(plain.given)} is not; merge interleaved runs only with each other")
    arms: Dict[str, str] = {}  # "knob=A,B" -> the first input interleaving it
    for s in interleaved:
        block = environment.interleave_of([e for _, e in environment.merged_sources(s.env) or [(None, s.env)]])
        values = block.get("values") if isinstance(block.get("values"), list) else ["?"]
        arms.setdefault(f"{block.get('knob', '?')}={','.join(str(v) for v in values)}", s.given)
    if len(arms) > 1:
        (a, ga), (b, gb) = list(arms.items())[:2]
        raise BadInput(f"cannot align the columns: {show(ga)} interleaves {quote(a)}, {show(gb)} {quote(b)}: "
                       "arm 0, 1, ... would mean different values")
    columns: List[str] = []
    seen = set()
    for s in sources:
        for c in s.header:
            if c not in seen:
                seen.add(c)
                columns.append(c)
    missing = [c for c in schema.IDENTITY_COLUMNS if c not in seen]
    if missing:
        after = "total_cpu_ns_per_op" if "total_cpu_ns_per_op" in seen else next(
            c for c in reversed(columns) if c in schema.BASE_COLUMNS)
        at = columns.index(after) + 1
        columns[at:at] = missing
    return columns


def _check_duplicates(sources: Sequence[Source]) -> None:
    owner: Dict[str, str] = {}
    for s in sources:
        for entry in s.entries:
            if entry["run_id"] in owner:
                raise BadInput(f"run_id {quote(entry['run_id'])} is in {show(owner[entry['run_id']])} and in "
                               f"{show(s.given)}: a run merged twice, or copies that kept their run_id")
            owner[entry["run_id"]] = s.given


def merge(paths: Sequence[str], out: Path) -> Tuple[Dict[str, int], List[str]]:
    """Writes the merged dataset into `out` (new or empty). Returns (counts: runs, rows,
    series points, columns) and warnings."""
    if len(paths) < 1:
        raise BadInput("no run folder given")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{show(out)}: already exists and is not an empty folder; merge never overwrites")
    warnings: List[str] = []
    versions: Dict[str, str] = {}
    for given in paths:
        path = runs.find_csv(Path(given))
        for v in _schema_versions(path, runs._read_text(path)):
            versions.setdefault(v, given)
    if len(versions) > 1:
        shown = ", ".join(f"{show(g)} has {quote(v, 20)}" for v, g in versions.items())
        raise BadInput(f"schema versions differ ({shown}); merge runs of one schema version")
    sources = [_read_source(given, warnings) for given in paths]
    _check_duplicates(sources)
    columns = _aligned_columns(sources)
    out.mkdir(parents=True, exist_ok=True)

    counts = {"runs": sum(len(s.entries) for s in sources), "rows": 0, "series_points": 0, "columns": len(columns)}
    # One source in memory at a time: its text is read again (checked above) and written out.
    with _Output(out / RESULTS_NAME) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for s in sources:
            header, records = _records(runs._read_text(s.csv_path))
            index = {c: i for i, c in enumerate(header)}
            by_run = {e["run_id"]: e for e in s.entries}
            rid = index["run_id"]
            picks = [(index.get(c), c in schema.IDENTITY_COLUMNS, c) for c in columns]
            for record in records:
                writer.writerow([record[i] if i is not None else by_run[record[rid].strip()][c] if identity else ""
                                 for i, identity, c in picks])
            counts["rows"] += len(records)

    with_series = [s for s in sources if s.series is not None]
    if with_series:
        with _Output(out / runs.SERIES_NAME) as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(runs.SERIES_COLUMNS)
            for s in with_series:
                header, records = _records(runs._read_text(s.series))
                order = [header.index(c) for c in runs.SERIES_COLUMNS]
                writer.writerows([record[i] for i in order] for record in records)
                counts["series_points"] += len(records)

    entries = [e for s in sources for e in s.entries]
    complete = all(isinstance(e["environment"], dict) and e["environment"].get("run", {}).get("complete") is not False
                   for e in entries)
    merged_env = {
        "run": {"run_id": out.resolve().name, "complete": complete, "command_line": ["mapbench", "merge", *paths]},
        environment.MERGED_KEY: {
            "schema_version": schema.SCHEMA_VERSION,
            "columns": len(columns),
            "hosts": sorted({e["host"] for e in entries}),
            "kernel_releases": sorted({e["kernel_release"] for e in entries}),
            "machine_classes": sorted({e["machine_class"] for e in entries}),
            "runs": entries,
        },
    }
    _write(out / ENVIRONMENT_NAME, json.dumps(merged_env, indent=2, sort_keys=False) + "\n")
    return counts, warnings


class _Output:
    """A file written under a temporary name, fsynced, then renamed into place."""

    def __init__(self, path: Path):
        self.path, self.temporary = path, path.with_name(path.name + ".tmp")

    def __enter__(self):
        try:
            self.file = open(self.temporary, "w", encoding="utf-8", newline="")
        except OSError as e:
            raise BadInput(f"{show(self.path)}: cannot write: {e.strerror or e}") from None
        return self.file

    def __exit__(self, kind, value, trace):
        try:
            if kind is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if kind is None:
                os.replace(self.temporary, self.path)
            else:
                os.unlink(self.temporary)
        except OSError as e:
            raise BadInput(f"{show(self.path)}: cannot write: {e.strerror or e}") from None
        return False


def _write(path: Path, text: str) -> None:
    with _Output(path) as f:
        f.write(text)
