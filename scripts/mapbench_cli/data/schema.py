"""One description of results.csv (docs/results-schema.md, version 1) for the analysis side.

Everything that turns a column name into words on a figure lives here: its label, its
unit, whether it is numeric, and which direction is better. The direction is inferred
from the name's suffix, as the schema's naming rules say (`_per_second` higher is
better; an amount per unit of work — `_per_op`, `_per_page`, `_per_dirty_page`,
`_per_access`, `_per_kib`, `_per_mib`, `_per_gib` — and `ns_*` lower is better). The columns whose names carry
no direction are decided here by hand: the few that are sizes rather than outcomes
(`bytes_per_op`, `pages_per_op`), the observations that describe a setup rather than
measure its cost (`resident_fraction_before`, `busy_cpus`, `eviction_start_s`, ...),
and `read_amplification`. So there is still a single place to look.

Every metric a family declares (`Family::metrics` in benchmarks/*.cc) has its words in
METRICS, or follows one of the generated shapes: `<phase>_ns_per_op`,
`<phase>_<counter>_per_op` and `<phase>_counter_run_fraction` (harness/phases.h), and every counter column
`<counter>_per_op` / `<counter>_per_page`. tests/scripts/test_schema.py reads the
declarations and fails when one is missing.
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

# Which machine a row ran on (written since the harness has --machine_class). Not required:
# data/runs.py fills them for older runs from environment.json (run.hostname, kernel.release,
# run.machine_class), or leaves them empty.
IDENTITY_COLUMNS: Tuple[str, ...] = ("host", "kernel_release", "machine_class")

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
    "total_cpu_ns_per_op": ("CPU time of the process tree per operation", "ns", True),
    "bytes_per_op": ("bytes per operation", "B", True),
    "bytes_per_second": ("throughput", "B/s", True),
    "pages_per_op": ("base pages per operation", "", True),
    "counter_run_fraction": ("counter running fraction", "", True),
    "counters_kernel": ("counters count kernel mode", "", True),
    "steal_fraction": ("share of the host's CPU time stolen while timed", "", True),
    "cpu_wait_fraction": ("share of the timed time waiting for a CPU", "", True),
    "calibration_cpu_ns": ("calibration CPU loop time", "ns", True),
    "calibration_memory_bytes_per_second": ("calibration memory-read rate", "B/s", True),
    "fraction_of_ceiling": ("throughput / calibration memory-read rate", "", True),
    "ns_per_op_per_ceiling": ("time per operation x calibration read rate", "B", True),
    "arm": ("interleaved value (index)", "", True),
    "arm_position": ("position of the value in its round", "", True),
    "host": ("host", "", False),
    "kernel_release": ("kernel release", "", False),
    "machine_class": ("machine class", "", False),
    "block_kib": ("block size", "KiB", True),
    "size_kib": ("size", "KiB", True),
    "file_mib": ("file size", "MiB", True),
    "resident_fraction_before": ("fraction of the file resident before a pass", "", True),
    # crossover parameters
    "file_to_limit": ("file size / memory limit", "", True),
    "limit_mib": ("memory cgroup limit", "MiB", True),
    "readers": ("reader threads", "", True),
}

# The metrics the families declare (Family::metrics), in words: name -> (label, unit).
# The unit is the one stored; display_scale turns "ns" and "B/s" into a readable one.
METRICS = {
    # ceiling
    "huge_page_fraction": ("share of the buffer backed by 2 MiB THP", ""),
    # lifecycle_ipc (map/touch/unmap/grow_ns_per_op: the <phase>_ns_per_op shape)
    "rusage_minor_faults_per_op": ("minor faults per operation (getrusage)", ""),
    "resident_fraction_before": ("fraction of the file resident before a pass", ""),
    # msync
    "sync_ns_per_dirty_page": ("sync time per dirty page", "ns"),
    "pages_dirtied_by_one_store": ("base pages dirtied by one store", ""),
    "file_dirty_pages_before_sync": ("dirty pages of the file before the sync", ""),
    "file_dirty_pages_after_sync": ("dirty pages of the file after the sync", ""),
    "file_writeback_pages_after_sync": ("pages of the file under writeback after the sync", ""),
    "vmstat_nr_dirtied_per_op": ("pages dirtied per operation (vmstat)", ""),
    "vmstat_nr_written_per_op": ("pages written back per operation (vmstat)", ""),
    "device_kib_written_per_op": ("written to the device per operation", "KiB"),
    "device_writes_per_op": ("device write requests per operation", ""),
    "device_flushes_per_op": ("device cache flushes per operation", ""),
    # db_commit (op = one transaction; append/sync_ns_per_op: the <phase>_ns_per_op shape)
    "syncs_per_op": ("sync calls per transaction", ""),
    "ns_per_sync": ("latency of one sync call", "ns"),
    "reported_synced": ("transactions the killed writer reported synced", ""),
    "found_intact": ("transactions found intact in the log after the kill", ""),
    "torn_records": ("torn records after the intact log prefix", ""),
    # page_size
    "fault_ns_per_mib": ("fault time per MiB", "ns"),
    "faults_per_mib": ("page faults per MiB", ""),
    "ns_per_access": ("time per access", "ns"),
    "backing_fraction": ("share of the region backed by the claimed page size", ""),
    # page_size and populate, state:after_idle
    "idle_touch_cpu_ratio": ("first-touch CPU time after idle / steady state", ""),
    "idle_reported_kib": ("free memory reported to the host during the idle", "KiB"),
    # populate
    "map_faults_per_page": ("faults in the mapping call per base page", ""),
    "touch_faults_per_page": ("faults in the first touch per base page", ""),
    # scaling
    "ops_per_second": ("operations per second", ""),
    "pages_per_second": ("base pages per second", ""),
    "busy_cpus": ("CPUs busy (CPU time / wall time)", ""),
    "runqueue_wait_fraction": ("share of the time workers waited for a CPU", ""),
    "tlb_shootdowns_per_op": ("TLB shootdowns per operation", ""),
    "tlb_remote_flushes_per_op": ("remote TLB flushes per operation", ""),
    # sharing
    "access_ns_per_page": ("access time per base page", "ns"),
    "access_minor_faults_per_page": ("minor faults of the access per base page", ""),
    "child_minor_faults_per_op": ("minor faults in the child per operation", ""),
    "child_major_faults_per_op": ("major faults in the child per operation", ""),
    "pmd_mapped_fraction": ("share of the region mapped by 2 MiB entries", ""),
    # crossover
    "steady_bytes_per_second": ("steady-state throughput", "B/s"),
    "read_amplification": ("bytes read from storage per byte served", ""),
    "major_faults_per_gib": ("major faults per GiB served", ""),
    "tlb_shootdowns_per_gib": ("TLB shootdowns per GiB served", ""),
    "cgroup_peak_mib": ("peak memory cgroup usage", "MiB"),
    "eviction_start_s": ("time until the cgroup first evicted pages", "s"),
    # mapping_structures (map/unmap/split/merge_ns_per_op: the <phase>_ns_per_op shape)
    "process_vmas": ("VMAs of the process (/proc/self/maps lines)", ""),
    "ns_per_vma": ("read time per VMA listed", "ns"),
    "page_table_kib_per_gib": ("page-table memory per GiB mapped (VmPTE)", "KiB"),
    # fault_signals
    "fault_ns_per_page": ("time per faulted page, its handling included", "ns"),
    "plain_fault_ns_per_page": ("time per page of the paired plain first-touch fault", "ns"),
    "user_faults_per_page": ("faults delivered to user space per base page (signals, userfaultfd messages)", ""),
    "rusage_minor_faults_per_page": ("minor faults per base page (getrusage)", ""),
    "same_cpu_faults_per_page": ("faults handled on the faulting thread's CPU per base page (userfaultfd)", ""),
}

# series.csv: what a family records per time bucket (docs/results-schema.md), in words:
# name -> (label, unit). Counts are per bucket; usage is at the bucket's end.
SERIES = {
    "bytes_per_second": ("throughput", "B/s"),
    "major_faults": ("major faults per bucket", ""),
    "evicted_pages": ("pages evicted per bucket", ""),
    "cgroup_usage_mib": ("memory cgroup usage", "MiB"),
    "disk_read_bytes": ("read from storage per bucket", "B"),
    "tlb_shootdowns": ("TLB shootdowns per bucket", ""),
}

# The default counters (harness/counters.cc), in words; `--counters` may add others.
COUNTERS = {
    "cycles_user": "user cycles", "cycles_kernel": "kernel cycles",
    "instructions_user": "user instructions", "instructions_kernel": "kernel instructions",
    "dtlb_load_misses": "dTLB load misses", "minor_faults": "minor faults", "major_faults": "major faults",
    "context_switches": "context switches",
}

# Columns with no better direction: sizes, and observations of the setup (what was
# resident, how much was backed, how busy the CPUs were, when eviction began) that
# describe a row rather than rate it. Comparing them is refused (compare --metric).
_NOT_AN_OUTCOME = {
    "bytes_per_op", "pages_per_op",
    "huge_page_fraction", "resident_fraction_before", "backing_fraction", "pmd_mapped_fraction",
    "busy_cpus", "runqueue_wait_fraction", "pages_dirtied_by_one_store", "file_dirty_pages_before_sync",
    "file_dirty_pages_after_sync", "file_writeback_pages_after_sync", "cgroup_peak_mib", "eviction_start_s",
    "idle_touch_cpu_ratio", "idle_reported_kib",
    "steal_fraction", "cpu_wait_fraction", "calibration_cpu_ns", "calibration_memory_bytes_per_second", "arm",
    "arm_position",
    "process_vmas",
    "reported_synced", "found_intact", "torn_records",
}
# Outcomes whose names carry no direction.
_DIRECTIONS = {"read_amplification": LOWER, "fraction_of_ceiling": HIGHER, "ns_per_op_per_ceiling": LOWER}

# An amount spent per unit of work: lower is better.
_COST_SUFFIXES = ("_per_op", "_per_page", "_per_dirty_page", "_per_access", "_per_kib", "_per_mib", "_per_gib")

_PHASE_TIME = re.compile(r"^(?P<phase>[a-z][a-z0-9]*(?:_[a-z0-9]+)*?)_ns_per_op$")
# "page" is the machine's base page (environment memory.page_size_bytes; 4 KiB on x86-64).
_PER = {"op": "operation", "page": "base page"}

# Name shapes that carry a unit, hence a number (the schema puts units in names).
_NUMERIC_SUFFIXES = ("_per_op", "_per_page", "_per_second", "_kib", "_mib", "_gib", "_bytes",
                     "_ns", "_us", "_ms", "_fraction", "_ratio", "_count", "_pages")
_NUMERIC_PATTERN = re.compile(r"(^ns_)|(_fraction_)")

_SUFFIX_UNITS = {"_kib": "KiB", "_mib": "MiB", "_gib": "GiB", "_bytes": "B", "_ns": "ns",
                 "_us": "µs", "_ms": "ms"}


# A phase's counter running fraction (harness/phases.h): an observation, like counter_run_fraction.
_RUN_FRACTION = "_counter_run_fraction"


def _not_an_outcome(name: str) -> bool:
    return name in _NOT_AN_OUTCOME or name.endswith(_RUN_FRACTION)


def direction(name: str) -> Optional[str]:
    """Which way is better for column `name`, from its suffix; None when not an outcome."""
    if _not_an_outcome(name):
        return None
    if name in _DIRECTIONS:
        return _DIRECTIONS[name]
    if name.endswith("_per_second"):
        return HIGHER
    if name.endswith(_COST_SUFFIXES) or name.startswith("ns_"):  # an amount spent per unit of work
        return LOWER
    return None


def decided(name: str) -> bool:
    """Whether the better direction of `name` is known: from its suffix, or set here as
    none at all (not an outcome)."""
    return direction(name) is not None or _not_an_outcome(name)


def _generated_words(name: str) -> Optional[Tuple[str, str]]:
    """(label, unit) of the generated shapes: counter columns and phase metrics."""
    if name.endswith(_RUN_FRACTION):
        return f"counter running fraction in the {name[: -len(_RUN_FRACTION)].replace('_', ' ')} phase", ""
    for per, words in _PER.items():
        suffix = "_per_" + per
        if not name.endswith(suffix):
            continue
        stem = name[: -len(suffix)]
        if stem in COUNTERS:
            return f"{COUNTERS[stem]} per {words}", ""
        if per == "op":
            for counter, counter_words in COUNTERS.items():
                if stem.endswith("_" + counter):
                    phase = stem[: -len(counter) - 1].replace("_", " ")
                    return f"{counter_words} in the {phase} phase per operation", ""
    match = _PHASE_TIME.match(name)
    if match:
        return f"{match.group('phase').replace('_', ' ')} time per operation", "ns"
    return None


def known(name: str) -> bool:
    """Whether `name` has words written for it (rather than made up from its name)."""
    return name in _KNOWN or name in METRICS or _generated_words(name) is not None


def is_numeric(name: str) -> bool:
    if name in _KNOWN:
        return _KNOWN[name][2]
    if name in METRICS:
        return True
    return name.endswith(_NUMERIC_SUFFIXES) or bool(_NUMERIC_PATTERN.search(name))


def describe(name: str) -> Column:
    if name in _KNOWN:
        label, unit, numeric = _KNOWN[name]
        return Column(name, label, unit, numeric, direction(name))
    words = METRICS.get(name) or _generated_words(name)
    if words:
        return Column(name, words[0], words[1], True, direction(name))
    label, unit = name, ""
    match = _PER_ANY.match(name)
    if match:  # an undeclared rate or cost: '<what>[_<unit>]_per_<unit of work>'
        what, per = match.group("what"), match.group("per")
        for suffix, suffix_unit in _SUFFIX_UNITS.items():
            if what == suffix[1:] or what.endswith(suffix):
                what, unit = what[: -len(suffix)] if what != suffix[1:] else "", suffix_unit
                break
        what = what.replace("_", " ").strip()
        if unit in ("ns", "µs", "ms"):
            what = (what + " time").strip()
        label = f"{what or 'amount'} per {_PER_WORDS.get(per, per.replace('_', ' '))}"
    else:
        for suffix, suffix_unit in _SUFFIX_UNITS.items():
            if name.endswith(suffix):
                label, unit = name[: -len(suffix)].replace("_", " "), suffix_unit
                break
    return Column(name, label, unit, is_numeric(name), direction(name))


_PER_ANY = re.compile(r"^(?P<what>.+?)_per_(?P<per>[a-z0-9_]+)$")
_PER_WORDS = {"op": "operation", "page": "base page", "second": "second", "kib": "KiB", "mib": "MiB",
              "gib": "GiB"}


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
