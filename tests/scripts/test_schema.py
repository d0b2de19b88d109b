"""The schema description: directions from suffixes, labels and units, numeric columns."""

import pytest

from mapbench_cli import schema


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
    assert schema.describe("minor_faults_per_page").label == "minor faults per 4 KiB page"
    assert schema.describe("size_kib").unit == "KiB"


@pytest.mark.parametrize("values, unit", [([500.0], "ns"), ([5e4], "µs"), ([2e6, 3e6], "ms"), ([4e9], "s"), ([], "ns")])
def test_time_display_unit_follows_magnitude(values, unit):
    assert schema.display_scale("ns_per_op", values)[1] == unit


@pytest.mark.parametrize("kib, text", [(4, "4 KiB"), (64, "64 KiB"), (1024, "1 MiB"), (1536, "1536 KiB"),
                                       (1 << 20, "1 GiB")])
def test_format_kib(kib, text):
    assert schema.format_kib(kib) == text
