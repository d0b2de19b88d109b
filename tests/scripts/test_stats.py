"""Statistics on known inputs: medians and confidence intervals of the median."""

import math

import numpy as np
import pandas as pd
import pytest

from mapbench_cli.stats import summary as stats


def test_median_odd_and_even():
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5


def test_median_ignores_nan_and_refuses_empty():
    assert stats.median([1, float("nan"), 3]) == 2
    with pytest.raises(ValueError):
        stats.median([])
    with pytest.raises(ValueError):
        stats.median([float("nan")])


@pytest.mark.parametrize("n, k, coverage", [
    (1, 1, 0.0),
    (3, 1, 0.75),          # min..max: 1 - 2 / 8
    (5, 1, 0.9375),        # min..max: 1 - 2 / 32, still short of 95 %
    (6, 1, 0.96875),       # first n where min..max reaches 95 %
    (10, 2, 1 - 2 * 11 / 1024),
    (20, 6, 1 - 2 * sum(math.comb(20, i) for i in range(6)) / 2 ** 20),
])
def test_order_statistic_rank_known_values(n, k, coverage):
    got_k, got_coverage = stats.order_statistic_rank(n, 0.95)
    assert got_k == k
    assert got_coverage == pytest.approx(coverage)


def test_order_statistic_rank_is_the_narrowest_reaching_the_level():
    for n in range(6, 60):
        k, coverage = stats.order_statistic_rank(n, 0.95)
        assert coverage >= 0.95
        if k + 1 <= (n + 1) // 2:
            narrower = 1 - 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
            assert narrower < 0.95


def test_median_ci_known_interval():
    interval = stats.median_ci(range(1, 11))  # 1..10
    assert (interval.low, interval.high) == (2, 9)
    assert interval.coverage == pytest.approx(1 - 2 * 11 / 1024)


def test_median_ci_small_samples_report_their_real_coverage():
    interval = stats.median_ci([5.0, 1.0, 3.0])
    assert (interval.low, interval.high) == (1.0, 5.0)
    assert interval.coverage == pytest.approx(0.75)


def test_median_ci_single_sample_is_degenerate():
    interval = stats.median_ci([7.0])
    assert (interval.low, interval.high, interval.coverage) == (7.0, 7.0, 0.0)


def test_median_ci_does_not_depend_on_order():
    values = [9.0, 2.0, 7.0, 4.0, 4.0, 8.0, 1.0, 6.0]
    assert stats.median_ci(values) == stats.median_ci(sorted(values))


@pytest.mark.parametrize("ci", [stats.median_ci, stats.median_ci_bootstrap])
def test_ci_contains_the_median(ci):
    rng = np.random.default_rng(1)
    for n in (2, 3, 5, 8, 13, 40):
        values = rng.lognormal(mean=0, sigma=0.5, size=n)
        interval = ci(values)
        assert interval.low <= np.median(values) <= interval.high


@pytest.mark.parametrize("ci", [stats.median_ci, stats.median_ci_bootstrap])
def test_ci_narrows_with_more_samples(ci):
    rng = np.random.default_rng(2)
    widths = []
    for n in (10, 100, 400):
        interval = ci(rng.normal(loc=100, scale=10, size=n))
        widths.append(interval.high - interval.low)
    assert widths[0] > widths[1] > widths[2]


def test_bootstrap_is_deterministic_for_a_seed():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    assert stats.median_ci_bootstrap(values, seed=7) == stats.median_ci_bootstrap(values, seed=7)


def test_constant_samples_give_a_zero_width_interval():
    interval = stats.median_ci([4.0] * 12)
    assert interval.low == interval.high == 4.0


def test_summarize_groups_and_ignores_missing_values():
    frame = pd.DataFrame({
        "case": ["a", "a", "a", "b", "b", "b", "b"],
        "x": [1.0, 2.0, 3.0, 10.0, 30.0, 20.0, float("nan")],
    })
    summary = stats.summarize(frame, ["case"], "x").set_index("case")
    assert summary.loc["a", "n"] == 3 and summary.loc["b", "n"] == 3
    assert summary.loc["a", "median"] == 2.0 and summary.loc["b", "median"] == 20.0
    assert (summary.loc["b", "ci_low"], summary.loc["b", "ci_high"]) == (10.0, 30.0)
    assert summary.loc["a", "coverage"] == pytest.approx(0.75)


def test_summarize_keeps_groups_with_empty_keys():
    frame = pd.DataFrame({"k": [float("nan"), float("nan"), 1.0], "x": [1.0, 3.0, 5.0]})
    summary = stats.summarize(frame, ["k"], "x")
    assert sorted(summary["n"]) == [1, 2]


def test_describe_intervals_says_when_coverage_falls_short():
    short = pd.DataFrame({"n": [3, 3], "coverage": [0.75, 0.75]})
    assert "75%" in stats.describe_intervals(short)
    enough = pd.DataFrame({"n": [10], "coverage": [0.98]})
    text = stats.describe_intervals(enough)
    assert "95% CI" in text and "only min" not in text
