"""One description of results.csv (docs/results-schema.md, version 1) for the analysis side.

Everything that turns a column name into words on a figure lives here: its label, its
unit, whether it is numeric, and which direction is better. The direction is inferred
from the name's suffix, as the schema's naming rules say (`_per_second` higher is
better; `_per_op`, `_per_page` and `ns_*` lower is better); the few columns whose names
carry a unit but that are sizes rather than outcomes (`bytes_per_op`, `pages_per_op`) are
listed as exceptions below, so there is still a single place to look.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Tuple

SCHEMA_VERSION = 1

BASE_COLUMNS: Tuple[str, ...] = (
    "schema_version", "run_id", "family", "workload", "name", "repetition", "repetitions",
    "threads", "status", "valid", "config_ok", "validation", "config_note", "message",
    "iterations", "ns_per_op", "cpu_ns_per_op", "bytes_per_op", "bytes_per_second",
    "pages_per_op", "counters_mode", "counter_run_fraction",
)

STATUS_OK = "ok"
STATUSES: Tuple[str, ...] = ("ok", "invalid", "unvalidated", "not_effective", "skipped", "error")

HIGHER = "higher"
LOWER = "lower"


@dataclass(frozen=True)
class Column:
    name: str
    label: str            # words for an axis, e.g. "throughput"
    unit: str             # stored unit, e.g. "B/s"; "" when dimensionless
    numeric: bool
    direction: Optional[str]  # HIGHER, LOWER or None (not an outcome)


# Columns whose words are better written by hand. `direction` here must agree with the
# suffix rule unless the column is listed in _NOT_AN_OUTCOME.
_KNOWN = {
    "schema_version": ("schema version", "", True),
    "repetition": ("repetition", "", True),
    "repetitions": ("repetitions", "", True),
    "threads": ("threads", "", True),
    "valid": ("result verified", "", True),
    "config_ok": ("configuration observed", "", True),
    "iterations": ("operations timed", "", True),
    "ns_per_op": ("time per operation", "ns", True),
    "cpu_ns_per_op": ("CPU time per operation", "ns", True),
    "bytes_per_op": ("bytes per operation", "B", True),
    "bytes_per_second": ("throughput", "B/s", True),
    "pages_per_op": ("4 KiB pages per operation", "", True),
    "counter_run_fraction": ("counter running fraction", "", True),
    "block_kib": ("block size", "KiB", True),
    "size_kib": ("size", "KiB", True),
    "file_mib": ("file size", "MiB", True),
    "resident_fraction_before": ("fraction of the file resident before a pass", "", True),
}
_NOT_AN_OUTCOME = {"bytes_per_op", "pages_per_op"}

# Name shapes that carry a unit, hence a number (the schema puts units in names).
_NUMERIC_SUFFIXES = ("_per_op", "_per_page", "_per_second", "_kib", "_mib", "_gib", "_bytes",
                     "_ns", "_us", "_ms", "_fraction", "_ratio", "_count", "_pages")
_NUMERIC_PATTERN = re.compile(r"(^ns_)|(_fraction_)")

_SUFFIX_UNITS = {"_kib": "KiB", "_mib": "MiB", "_gib": "GiB", "_bytes": "B", "_ns": "ns",
                 "_us": "µs", "_ms": "ms"}


def direction(name: str) -> Optional[str]:
    """Which way is better for column `name`, from its suffix; None when not an outcome."""
    if name in _NOT_AN_OUTCOME:
        return None
    if name.endswith("_per_second"):
        return HIGHER
    if name.endswith("_per_op") or name.endswith("_per_page") or name.startswith("ns_"):
        return LOWER
    return None


def is_numeric(name: str) -> bool:
    if name in _KNOWN:
        return _KNOWN[name][2]
    return name.endswith(_NUMERIC_SUFFIXES) or bool(_NUMERIC_PATTERN.search(name))


def describe(name: str) -> Column:
    if name in _KNOWN:
        label, unit, numeric = _KNOWN[name]
        return Column(name, label, unit, numeric, direction(name))
    label, unit = name, ""
    for suffix, words in (("_per_op", " per operation"), ("_per_page", " per 4 KiB page"),
                          ("_per_second", " per second")):
        if name.endswith(suffix):
            label = name[: -len(suffix)].replace("_", " ") + words
            break
    else:
        for suffix, suffix_unit in _SUFFIX_UNITS.items():
            if name.endswith(suffix):
                label, unit = name[: -len(suffix)].replace("_", " "), suffix_unit
                break
    return Column(name, label, unit, is_numeric(name), direction(name))


_TIME_STEPS = ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns"))


def display_scale(name: str, values: Iterable[float] = ()) -> Tuple[float, str]:
    """(divisor, unit) to show column `name`: throughput in GiB/s, times in a readable unit."""
    column = describe(name)
    if column.unit == "B/s":
        return float(1 << 30), "GiB/s"
    if column.unit == "ns":
        finite = sorted(v for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v > 0)
        if finite:
            typical = finite[len(finite) // 2]
            for divisor, unit in _TIME_STEPS:
                if typical >= divisor:
                    return divisor, unit
        return 1.0, "ns"
    return 1.0, column.unit


def axis_label(name: str, unit: Optional[str] = None, with_direction: bool = True) -> str:
    """e.g. 'throughput (GiB/s), higher is better'."""
    column = describe(name)
    shown = column.unit if unit is None else unit
    text = column.label + (f" ({shown})" if shown else "")
    if with_direction and column.direction:
        text += f", {column.direction} is better"
    return text


def format_kib(kib: float) -> str:
    """4 -> '4 KiB', 1024 -> '1 MiB', 1536 -> '1536 KiB'."""
    if kib != kib:  # NaN
        return "?"
    for step, unit in ((1 << 20, "GiB"), (1 << 10, "MiB")):
        if kib >= step and kib % step == 0:
            return f"{int(kib // step)} {unit}"
    return f"{kib:g} KiB"


def format_mib(mib: float) -> str:
    return format_kib(mib * 1024)
