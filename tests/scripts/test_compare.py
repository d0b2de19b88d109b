"""compare's statistics on synthetic data, imported directly (no subprocess)."""

import math

import numpy as np
import pandas as pd
import pytest

from mapbench_cli.stats import compare
from mapbench_cli.data import schema
from mapbench_cli.stats.compare import Options


def _lognormal_cases(n_cases, n, seed, sigma=0.1, scale=1.0):
    rng = np.random.default_rng(seed)
    return {(f"family/case:{i}", 1.0): scale * 1000 * rng.lognormal(0, sigma, size=n) for i in range(n_cases)}


def _blocks(n_cases, processes, reps, seed, scale=1.0, between=0.05, within=0.03):
    """Each case: `processes` blocks of `reps`, with a per-process offset (between) and noise (within)."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n_cases):
        out[(f"family/case:{i}", 1.0)] = [scale * 1000 * rng.lognormal(rng.normal(0, between), within, size=reps)
                                          for _ in range(processes)]
    return out


# --- Benjamini-Hochberg ----------------------------------------------------------------------

def test_bh_matches_a_hand_computed_example():
    # m = 8; p_(i) * m / i = .008 .032 .104 .082 .0672 .08 .0846 .205, then the running
    # minimum from the largest down: .008 .032 .0672 .0672 .0672 .08 .0846 .205
    p = [0.041, 0.001, 0.205, 0.039, 0.008, 0.042, 0.074, 0.06]
    expected = [0.0672, 0.008, 0.205, 0.0672, 0.032, 0.0672, 8 * 0.074 / 7, 0.08]
    assert compare.benjamini_hochberg(p) == pytest.approx(expected)


def test_bh_small_example_and_cap_at_one():
    assert compare.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert compare.benjamini_hochberg([0.9, 0.8]) == pytest.approx([0.9, 0.9])
    assert compare.benjamini_hochberg([0.6, 0.7, 0.99]).max() <= 1.0


def test_bh_keeps_nan_out_of_the_count():
    out = compare.benjamini_hochberg([0.01, float("nan"), 0.04])
    assert math.isnan(out[1])
    assert out[[0, 2]] == pytest.approx([0.02, 0.04])  # m = 2, not 3


def test_bh_rows_agrees_with_bh():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=(20, 13))
    rows = compare.benjamini_hochberg_rows(p)
    for i in range(20):
        assert rows[i] == pytest.approx(compare.benjamini_hochberg(p[i]))


# --- Mann-Whitney and the pieces -------------------------------------------------------------

def test_mann_whitney_exact_small_sample():
    assert compare.mann_whitney_p([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]) == pytest.approx(2 / 924)
    assert compare.mann_whitney_p([5.0] * 4, [5.0] * 4) == 1.0


def test_smallest_p():
    assert compare.smallest_p(3, 3) == pytest.approx(0.1)
    assert compare.smallest_p(6, 6) == pytest.approx(2 / 924)
    assert compare.smallest_p(1, 5) == pytest.approx(1 / 3)
    assert compare.smallest_p(0, 5) == 1.0


def test_ratio_edge_cases():
    assert compare.ratio(0.0, 0.0) == 1.0
    assert math.isinf(compare.ratio(3.0, 0.0))
    assert compare.ratio(6.0, 3.0) == 2.0


def test_ratio_interval_contains_the_ratio_and_is_seeded():
    rng = np.random.default_rng(5)
    x, y = rng.lognormal(0, 0.2, 30), 1.3 * rng.lognormal(0, 0.2, 30)
    r = np.median(y) / np.median(x)
    a = compare.ratio_interval([x], [y], rng=np.random.default_rng(1), unit=compare.REPETITION)
    b = compare.ratio_interval([x], [y], rng=np.random.default_rng(1), unit=compare.REPETITION)
    assert a == b and a[0] <= r <= a[1]


# --- whole comparisons ------------------------------------------------------------------------

def test_a_a_comparison_of_identical_distributions_flags_nothing():
    base, current = _lognormal_cases(40, 20, seed=1), _lognormal_cases(40, 20, seed=3)
    result = compare.compare_samples(base, current, "ns_per_op")
    assert result.count(compare.REGRESSION) == 0 and result.count(compare.IMPROVEMENT) == 0
    assert set(result.table["verdict"]) <= {compare.UNCHANGED, compare.INCONCLUSIVE}


def test_a_a_false_alarms_stay_rare_over_many_comparisons():
    """Identical distributions, 20 comparisons of 15 cases: BH keeps the comparisons with any
    flag near alpha (one expected at most), and the flagged cases far below 5 %."""
    fast = Options(resamples=50)
    flagged_cases, comparisons_with_flag = 0, 0
    for seed in range(20):
        result = compare.compare_samples(_lognormal_cases(15, 15, seed=100 + seed, sigma=0.03),
                                         _lognormal_cases(15, 15, seed=200 + seed, sigma=0.03), "ns_per_op", fast)
        n = result.count(compare.REGRESSION) + result.count(compare.IMPROVEMENT)
        flagged_cases += n
        comparisons_with_flag += n > 0
    assert comparisons_with_flag <= 2
    assert flagged_cases / (20 * 15) < 0.01


def test_a_scaled_copy_is_flagged_as_regression():
    base = _lognormal_cases(10, 15, seed=1, sigma=0.05)
    current = {k: 1.2 * v for k, v in base.items()}
    result = compare.compare_samples(base, current, "ns_per_op")
    assert result.count(compare.REGRESSION) == 10
    assert result.table["ratio"].to_numpy() == pytest.approx(1.2)
    assert (result.table["ratio_ci_low"] > 1.05).all()


def test_scaled_copy_with_process_blocks_is_flagged():
    base = _blocks(6, processes=8, reps=3, seed=4)
    current = {k: [1.2 * b for b in blocks] for k, blocks in base.items()}
    result = compare.compare_blocks(base, current, "ns_per_op")
    assert set(result.table["unit"]) == {compare.PROCESS}
    assert (result.table["n_base"] == 8).all() and (result.table["samples_base"] == 24).all()
    assert result.count(compare.REGRESSION) == 6


def test_repetitions_of_differing_processes_raise_false_alarms_process_medians_do_not():
    """The reason the process is the unit: big offsets between processes, small noise inside."""
    base = _blocks(30, processes=4, reps=5, seed=10, between=0.15, within=0.01)
    current = _blocks(30, processes=4, reps=5, seed=11, between=0.15, within=0.01)
    by_process = compare.compare_blocks(base, current, "ns_per_op")
    naive = compare.compare_blocks(base, current, "ns_per_op", Options(unit=compare.REPETITION))
    flagged = lambda c: c.count(compare.REGRESSION) + c.count(compare.IMPROVEMENT)  # noqa: E731
    assert flagged(by_process) == 0
    assert flagged(naive) > 5


def test_small_change_below_threshold_is_not_a_regression():
    base = _lognormal_cases(5, 40, seed=1, sigma=0.005)
    current = {k: 1.03 * v for k, v in base.items()}
    result = compare.compare_samples(base, current, "ns_per_op")
    assert result.count(compare.REGRESSION) == 0
    assert (result.table["verdict"] == compare.UNCHANGED).all()
    assert result.table["note"].str.contains("within the 5% threshold").all()


def test_threshold_option_changes_the_verdict():
    base = _lognormal_cases(3, 30, seed=1, sigma=0.01)
    current = {k: 1.08 * v for k, v in base.items()}
    assert compare.compare_samples(base, current, "ns_per_op").count(compare.REGRESSION) == 3
    strict = compare.compare_samples(base, current, "ns_per_op", Options(threshold=0.10))
    assert strict.count(compare.REGRESSION) == 0


def test_faster_is_an_improvement():
    base = _lognormal_cases(4, 15, seed=1, sigma=0.05)
    current = {k: v / 1.3 for k, v in base.items()}
    assert compare.compare_samples(base, current, "ns_per_op").count(compare.IMPROVEMENT) == 4


@pytest.mark.parametrize("factor, verdict", [(1 / 1.2, compare.REGRESSION), (1.2, compare.IMPROVEMENT)])
def test_direction_for_throughput(factor, verdict):
    """bytes_per_second is higher-is-better: less throughput is the regression."""
    assert schema.direction("bytes_per_second") == schema.HIGHER
    base = _lognormal_cases(4, 15, seed=2, sigma=0.05, scale=1e6)
    current = {k: factor * v for k, v in base.items()}
    result = compare.compare_samples(base, current, "bytes_per_second")
    assert result.direction == schema.HIGHER
    assert (result.table["verdict"] == verdict).all()
    assert result.table["worse_factor"].to_numpy() == pytest.approx(1 / factor)


def test_too_few_samples_is_inconclusive():
    base = {("a", 1.0): [1.0, 1.1], ("b", 1.0): [1.0, 1.1, 1.2]}
    current = {("a", 1.0): [2.0, 2.1], ("b", 1.0): [2.0, 2.1, 2.2]}
    table = compare.compare_samples(base, current, "ns_per_op").table.set_index("name")
    assert table.loc["a", "verdict"] == compare.INCONCLUSIVE and "too few" in table.loc["a", "note"]
    assert math.isnan(table.loc["a", "p_value"])
    # three against three can never reach p < 0.05: said, not hidden
    assert table.loc["b", "verdict"] == compare.INCONCLUSIVE
    assert "smallest possible p is 0.100" in table.loc["b", "note"]


def test_cases_on_one_side_are_listed():
    base = {("a", 1.0): [1, 2, 3], ("b", 1.0): [1, 2, 3]}
    current = {("a", 1.0): [1, 2, 3], ("c", 1.0): [1, 2, 3]}
    result = compare.compare_samples(base, current, "ns_per_op")
    assert list(result.table["name"]) == ["a"]
    assert result.only_base == [("b", 1.0)] and result.only_current == [("c", 1.0)]


def test_zero_medians_do_not_break_the_ratio():
    base = {("faults", 1.0): [0.0] * 6}
    same = compare.compare_samples(base, {("faults", 1.0): [0.0] * 6}, "major_faults_per_op")
    assert same.table["ratio"].iloc[0] == 1.0 and same.table["p_value"].iloc[0] == 1.0
    worse = compare.compare_samples(base, {("faults", 1.0): [3.0] * 6}, "major_faults_per_op")
    assert math.isinf(worse.table["ratio"].iloc[0])
    assert worse.table["verdict"].iloc[0] == compare.REGRESSION


def test_metric_without_direction_is_refused():
    with pytest.raises(ValueError):
        compare.compare_samples({("a", 1.0): [1, 2, 3]}, {("a", 1.0): [1, 2, 3]}, "block_kib")


def test_the_same_input_gives_the_same_table():
    base, current = _lognormal_cases(5, 10, seed=1), _lognormal_cases(5, 10, seed=2)
    a = compare.compare_samples(base, current, "ns_per_op").table
    b = compare.compare_samples(base, current, "ns_per_op").table
    pd.testing.assert_frame_equal(a, b)


def test_a_case_interval_does_not_depend_on_the_other_cases():
    base, current = _lognormal_cases(5, 10, seed=1), _lognormal_cases(5, 10, seed=2)
    key = next(iter(base))
    alone = compare.compare_samples({key: base[key]}, {key: current[key]}, "ns_per_op").table.iloc[0]
    among = compare.compare_samples(base, current, "ns_per_op").table.iloc[0]
    assert (alone["ratio_ci_low"], alone["ratio_ci_high"]) == (among["ratio_ci_low"], among["ratio_ci_high"])


def test_verdict_codes_agree_with_decide():
    rng = np.random.default_rng(9)
    options = Options()
    for direction in (schema.LOWER, schema.HIGHER):
        p = rng.uniform(0, 0.1, 200)
        r = rng.uniform(0.8, 1.25, 200)
        codes = compare.verdict_codes(p, r, np.ones(200), direction, options)
        for pi, ri, code in zip(p, r, codes):
            verdict, _ = compare.decide(pi, ri, (0.5, 2.0), direction, options, 10, 10)
            assert {1: compare.REGRESSION, -1: compare.IMPROVEMENT}.get(code, verdict) == verdict


def test_blocks_by_case_groups_runs_and_processes():
    frame = pd.DataFrame({
        "name": ["a"] * 6 + ["b"] * 2, "threads": [1.0] * 8, "run_id": ["r1"] * 4 + ["r2"] * 2 + ["r1"] * 2,
        "process": [0, 0, 1, 1, 0, 0, 0, 0], "ns_per_op": [1, 2, 3, 4, 5, float("nan"), 7, 8]})
    blocks = compare.blocks_by_case(frame, "ns_per_op")
    assert [list(b) for b in blocks[("a", 1.0)]] == [[1, 2], [3, 4], [5]]
    assert [list(b) for b in blocks[("b", 1.0)]] == [[7, 8]]
    no_process = frame.drop(columns=["process"])
    assert len(compare.blocks_by_case(no_process, "ns_per_op")[("a", 1.0)]) == 2  # one per run


def test_with_instructions_sums_user_and_kernel():
    frame = pd.DataFrame({"instructions_user_per_op": [1.0, 2.0], "instructions_kernel_per_op": [10.0, float("nan")]})
    out = compare.with_instructions(frame)
    assert out["instructions_per_op"].iloc[0] == 11.0 and math.isnan(out["instructions_per_op"].iloc[1])
    assert "instructions_per_op" not in compare.with_instructions(pd.DataFrame({"x": [1]}))
