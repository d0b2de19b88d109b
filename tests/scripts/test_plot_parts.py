"""The pieces of `plot` that decide what is shown, and text safety, without drawing."""

import pandas as pd
import pytest

from mapbench_cli.figures import base as figures
from mapbench_cli.figures import plot
from mapbench_cli.data import frames
from mapbench_cli.text import words as text


def test_variant_labels_are_distinct():
    combos = [(m, mp, a) for m in ("read", "pread", "mmap", "mmap_copy") for mp in ("none", "per_pass", "kept")
              for a in ("none", "sequential", "random", "willneed")]
    real = [c for c in combos if (c[0] in ("read", "pread")) == (c[1] == "none")]
    assert len({plot.variant_label(*c) for c in real}) == len(real) == 2 * 4 + 2 * 2 * 4
    assert plot.variant_label("mmap", "kept", "none") == "mmap (kept)"
    assert plot.variant_label("mmap", "per_pass", "random") == "mmap +random"
    assert plot.variant_label("read", "none", "none") == "read"


def test_variant_order_follows_methods_then_mapping_then_advice():
    keys = [("mmap", "per_pass", "random"), ("read", "none", "none"), ("mmap", "kept", "none"),
            ("mmap", "per_pass", "none"), ("future", "none", "none")]
    assert plot.variant_order(keys) == [("read", "none", "none"), ("mmap", "per_pass", "none"),
                                        ("mmap", "per_pass", "random"), ("mmap", "kept", "none"),
                                        ("future", "none", "none")]


def test_storage_baselines_come_after_the_page_cache_methods():
    keys = [("io_uring_qd1", "none", "none"), ("odirect_pread", "none", "none"), ("pread", "none", "none"),
            ("mmap", "per_pass", "none")]
    assert [k[0] for k in plot.variant_order(keys)] == ["pread", "mmap", "odirect_pread", "io_uring_qd1"]
    assert plot.variant_label("odirect_pread", "none", "none") == "odirect_pread"
    # Fixed colours, not spare ones: the same in every family's figures.
    for method in ("odirect_pread", "io_uring_qd1", "io_uring_qd32", "io_uring_odirect_qd1", "io_uring_odirect_qd32"):
        assert figures.colour_for(method, "one family") == figures.colour_for(method, "another")


def test_ordered_puts_preferred_first_then_sorted():
    assert plot.ordered(["random", "zz", "seq", "aa", "seq"], plot.PATTERN_ORDER) == ["seq", "random", "aa", "zz"]


def test_method_colours_are_fixed_and_variants_keep_their_methods_colour():
    assert figures.colour_for("mmap") == figures.colour_for("mmap", "another family")
    assert len({figures.colour_for(m) for m in plot.METHOD_ORDER}) == len(plot.METHOD_ORDER)
    kept = figures.variant_style("mmap (kept)", "mmap", ["kept"])
    hinted = figures.variant_style("mmap +random", "mmap", ["random"])
    plain = figures.variant_style("mmap", "mmap")
    assert kept.colour == hinted.colour == plain.colour
    assert len({kept.hatch, hinted.hatch, plain.hatch}) == 3


def test_unknown_names_get_distinct_stable_colours_within_a_family():
    names = [f"method_{i}" for i in range(10)]
    first = [figures.colour_for(n, "test-scope") for n in names]
    assert len(set(first)) == len(names)
    assert [figures.colour_for(n, "test-scope") for n in names] == first


def test_colour_key_prefers_method_then_first_parameter():
    with_method = pd.DataFrame({"name": ["f/method:a/x:1"], "method": ["a"], "workload": ["f"]})
    assert plot._colour_key(with_method) == "method"
    with_op = pd.DataFrame({"name": ["sharing/op:read/backing:file"], "op": ["read"], "workload": ["sharing"]})
    assert plot._colour_key(with_op) == "op"
    bare = pd.DataFrame({"name": ["lifecycle/x"], "workload": ["lifecycle"]})
    assert plot._colour_key(bare) == "workload"


def test_throughput_is_derived_where_missing():
    frame = pd.DataFrame({"bytes_per_op": [1e9, 1e9], "ns_per_op": [1e9, 5e8], "bytes_per_second": [float("nan"), 7.0]})
    out = frames.with_throughput(frame)
    assert list(out["bytes_per_second"]) == [1e9, 7.0]


@pytest.mark.parametrize("raw, safe", [
    ("read_vs_mmap", "read_vs_mmap"), ("../../etc/passwd", "etc_passwd"), ("a b/c", "a_b_c"), ("", "unnamed"),
])
def test_file_part_is_safe(raw, safe):
    assert text.file_part(raw) == safe


def test_text_is_cleaned_for_terminals_and_figures():
    assert text.clean("ok\x1b]0;x\x07\n") == "ok?]0;x??"
    assert text.figure_text("cost $5$") == r"cost \$5\$"
    assert text.quote("x" * 100, 10) == "'xxxxxxxxx…'"
