"""The schema description: directions from suffixes, labels and units, numeric columns."""

import pytest

from mapbench_cli.data import schema


@pytest.mark.parametrize("name, direction", [
    ("bytes_per_second", schema.HIGHER),
    ("ops_per_second", schema.HIGHER),
    ("ns_per_op", schema.LOWER),
    ("cpu_ns_per_op", schema.LOWER),
    ("minor_faults_per_page", schema.LOWER),
    ("dtlb_load_misses_per_op", schema.LOWER),
    ("ns_map", schema.LOWER),
    ("bytes_per_op", None),      # a size, not an outcome
    ("pages_per_op", None),
    ("block_kib", None),
    ("method", None),
])
def test_direction_from_suffix(name, direction):
    assert schema.direction(name) == direction


@pytest.mark.parametrize("name, numeric", [
    ("ns_per_op", True), ("block_kib", True), ("file_mib", True), ("resident_fraction_before", True),
    ("cycles_kernel_per_page", True), ("schema_version", True), ("counter_run_fraction", True),
    ("name", False), ("validation", False), ("method", False), ("message", False),
])
def test_numeric_columns(name, numeric):
    assert schema.is_numeric(name) is numeric


def test_base_columns_follow_the_documented_order():
    assert schema.BASE_COLUMNS[:5] == ("schema_version", "run_id", "family", "workload", "name")
    assert schema.BASE_COLUMNS[-1] == "counter_run_fraction"
    assert len(schema.BASE_COLUMNS) == 22


def test_labels_and_units():
    assert schema.display_scale("bytes_per_second") == (2 ** 30, "GiB/s")
    assert schema.axis_label("bytes_per_second", "GiB/s") == "throughput (GiB/s), higher is better"
    assert schema.axis_label("block_kib", "", with_direction=False) == "block size"
    assert schema.describe("minor_faults_per_page").label == "minor faults per base page"
    assert schema.describe("size_kib").unit == "KiB"


@pytest.mark.parametrize("values, unit", [([500.0], "ns"), ([5e4], "µs"), ([2e6, 3e6], "ms"), ([4e9], "s"), ([], "ns")])
def test_time_display_unit_follows_magnitude(values, unit):
    assert schema.display_scale("ns_per_op", values)[1] == unit


@pytest.mark.parametrize("kib, text", [(4, "4 KiB"), (64, "64 KiB"), (1024, "1 MiB"), (1536, "1536 KiB"),
                                       (1 << 20, "1 GiB")])
def test_format_kib(kib, text):
    assert schema.format_kib(kib) == text


# --- every metric a family declares has words and a direction ---------------------------------

import re  # noqa: E402

from conftest import REPO  # noqa: E402

_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
_LITERALS = re.compile(r'(?:"(?:[^"\\]|\\.)*"\s*)+')  # "a" "b" is one literal in C++: "ab"
_PHASES = re.compile(r"PhaseMetricNames\(\s*\{([^}]*)\}\s*\)")
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*(\{counter\}[a-z0-9_]*)?$")


def _family_blocks(text):
    """The text inside each MAPBENCH_FAMILY( ... ), parentheses matched (string literals skipped)."""
    blocks, start = [], 0
    while True:
        at = text.find("MAPBENCH_FAMILY(", start)
        if at < 0:
            return blocks
        i, depth, in_string = at + len("MAPBENCH_FAMILY("), 1, False
        while depth:
            c = text[i]
            if in_string:
                if c == "\\":
                    i += 1
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            i += 1
        blocks.append(text[at + len("MAPBENCH_FAMILY("): i - 1])
        start = i


def declared_metrics():
    """{family: [metric column names]} from benchmarks/*.cc: the string literals of each
    Family's initializer after its name (the summary has spaces, so it is not one), the
    PhaseMetricNames({...}) phases expanded as harness/phases.cc does, and '{counter}'
    expanded for each default counter."""
    out = {}
    for path in sorted((REPO / "benchmarks").glob("*.cc")):
        for block in _family_blocks(path.read_text()):
            block = re.sub(r"^\s*//[^\n]*", "", block, flags=re.M)
            block = _LITERALS.sub(lambda m: '"' + "".join(_LITERAL.findall(m.group(0))) + '" ', block)
            names = []
            for phases in _PHASES.findall(block):
                for phase in _LITERAL.findall(phases):
                    names += [f"{phase}_ns_per_op", f"{phase}_{{counter}}_per_op", f"{phase}_counter_run_fraction"]
            literals = [s for s in _LITERAL.findall(_PHASES.sub("", block)) if _METRIC_NAME.match(s)]
            family, metrics = literals[0], literals[1:]
            expanded = []
            for name in names + metrics:
                expanded += [name.replace("{counter}", c) for c in schema.COUNTERS] if "{counter}" in name else [name]
            out[family] = expanded
    return out


def test_the_declarations_are_found():
    declared = declared_metrics()
    assert {"ceiling", "read_vs_mmap", "populate", "page_size", "sharing", "msync", "scaling",
            "lifecycle_ipc"} <= set(declared)
    assert declared["ceiling"] == ["huge_page_fraction"]
    assert "fault_ns_per_mib" in declared["page_size"] and "ns_per_access" in declared["page_size"]
    assert "touch_dtlb_load_misses_per_op" in declared["page_size"]
    assert "dirty_ns_per_op" in declared["msync"] and "device_flushes_per_op" in declared["msync"]
    assert all(name == name.strip() and " " not in name for names in declared.values() for name in names)


@pytest.mark.parametrize("family, name", [(f, n) for f, names in sorted(declared_metrics().items()) for n in names])
def test_every_declared_metric_has_a_label_and_a_direction(family, name):
    assert schema.known(name), f"{family} declares {name}: give it words in schema.METRICS"
    column = schema.describe(name)
    assert column.label and "_" not in column.label and column.label != name, column
    assert column.numeric
    assert schema.decided(name), (f"{family} declares {name}: its suffix gives no better direction; add it to "
                                  "schema._DIRECTIONS, or to schema._NOT_AN_OUTCOME if it describes the setup")


@pytest.mark.parametrize("name, label, unit, direction", [
    ("fault_ns_per_mib", "fault time per MiB", "ns", schema.LOWER),
    ("ns_per_access", "time per access", "ns", schema.LOWER),
    ("steady_bytes_per_second", "steady-state throughput", "B/s", schema.HIGHER),
    ("read_amplification", "bytes read from storage per byte served", "", schema.LOWER),
    ("major_faults_per_gib", "major faults per GiB served", "", schema.LOWER),
    ("touch_minor_faults_per_op", "minor faults in the touch phase per operation", "", schema.LOWER),
    ("map_ns_per_op", "map time per operation", "ns", schema.LOWER),
    ("touch_counter_run_fraction", "counter running fraction in the touch phase", "", None),
    ("resident_fraction_before", "fraction of the file resident before a pass", "", None),
    ("eviction_start_s", "time until the cgroup first evicted pages", "s", None),
])
def test_metric_words(name, label, unit, direction):
    column = schema.describe(name)
    assert (column.label, column.unit, column.direction) == (label, unit, direction)


def test_time_metrics_are_shown_in_a_readable_unit():
    assert schema.display_scale("fault_ns_per_mib", [2.5e5]) == (1e3, "µs")
    assert schema.axis_label("fault_ns_per_mib", "µs") == "fault time per MiB (µs), lower is better"
    assert schema.display_scale("steady_bytes_per_second") == (2 ** 30, "GiB/s")


def test_an_undeclared_name_still_reads_as_words_but_is_not_decided():
    assert schema.describe("foo_ns_per_mib").label == "foo time per MiB"
    assert not schema.known("widgets_per_fortnight") and not schema.decided("widgets_per_fortnight")
