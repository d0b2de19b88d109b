"""history: the change-point statistics on synthetic data, and the command's behaviour."""

import itertools
import math

import numpy as np
import pytest

from conftest import run_launcher
from history_fixture import STEPPED, make_history
from mapbench_cli.stats import changepoint
from mapbench_cli.stats import history as stats


def _runs(levels, reps=5, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return [[level * np.exp(rng.normal(0, noise, reps))] for level in levels]


def _brute_force(y, beta):
    """The exact optimum by trying every set of change points (small n only)."""
    n = len(y)
    best, best_points = math.inf, []
    for k in range(n):
        for points in itertools.combinations(range(1, n), k):
            bounds = [0, *points, n]
            cost = sum(float(np.sum((y[a:b] - np.mean(y[a:b])) ** 2)) for a, b in zip(bounds, bounds[1:]))
            if cost + beta * k < best - 1e-12:
                best, best_points = cost + beta * k, list(points)
    return best_points


def test_pelt_finds_the_exact_optimum():
    rng = np.random.default_rng(3)
    for trial in range(20):
        y = rng.normal(0, 1, 9) + np.where(np.arange(9) >= rng.integers(1, 9), rng.normal(0, 3), 0)
        assert changepoint.pelt(y, 4.0) == _brute_force(y, 4.0), trial


def test_a_ten_percent_step_is_found_where_it_happened():
    runs = _runs([1.0] * 15 + [1.1] * 15)
    steps, sigma = changepoint.detect(runs)
    assert [s.index for s in steps] == [15]
    s = steps[0]
    assert s.p_value < 1e-6 and s.ci_low < 1.1 < s.ci_high and 1.05 < s.ratio < 1.15
    assert (s.n_before, s.n_after) == (15, 15)
    assert 0.005 < sigma < 0.05


def test_a_step_at_the_last_run_is_a_candidate():
    steps, _ = changepoint.detect(_runs([1.0] * 29 + [1.3]))
    assert [s.index for s in steps] == [29]


def test_pure_noise_rarely_gives_a_confirmed_step():
    """The measured rate (docs/history.md) is about 2 % per history of 30 runs; allow 4 in 60."""
    alarms = 0
    for seed in range(60):
        steps, _ = changepoint.detect(_runs([1.0] * 30, seed=seed), resamples=50)
        alarms += any(s.p_value < 0.05 for s in steps)
    assert alarms <= 4


def test_a_constant_history_has_no_step():
    runs = [[np.full(5, 7.0)] for _ in range(10)]
    steps, sigma = changepoint.detect(runs)
    assert steps == [] and sigma == changepoint.SIGMA_FLOOR


def test_the_robust_noise_ignores_one_step():
    y = np.log(np.r_[np.full(20, 1.0), np.full(20, 2.0)]) + np.random.default_rng(0).normal(0, 0.02, 40)
    assert 0.01 < changepoint.robust_sigma(y) < 0.04


def test_history_names_the_run_and_commit_of_the_step(tmp_path):
    paths = make_history(tmp_path, runs=12, step_at=6)
    history = stats.run([str(p) for p in paths], "ns_per_op")
    found = history.steps
    assert [c.key[0] for c, _ in found] == [STEPPED]
    case, step = found[0]
    assert step.run.run_id == "20261201-000006-quick-test" and step.run.commit == "c0ffee06"
    assert step.previous.run_id == "20261201-000005-quick-test"
    assert step.direction == stats.WORSE and 1.2 < step.step.ratio < 1.4
    assert case.family == "ceiling" and len(case.medians) == 12


def test_runs_are_ordered_by_start_time_unless_asked(tmp_path):
    paths = make_history(tmp_path, runs=10, step_at=5, reverse_times=True)
    by_time = stats.run([str(p) for p in paths], "ns_per_op")
    assert [r.run_id for r in by_time.runs][0] == "20261201-000009-quick-test"
    (_, step), = by_time.steps
    assert step.direction == stats.BETTER and step.run.run_id == "20261201-000004-quick-test"
    given = stats.run([str(p) for p in paths], "ns_per_op", stats.Options(order=stats.ORDER_GIVEN))
    (_, step), = given.steps
    assert step.direction == stats.WORSE and step.run.run_id == "20261201-000005-quick-test"


def test_throughput_steps_point_the_other_way(tmp_path):
    paths = make_history(tmp_path, runs=10, step_at=5, step=1.3)
    history = stats.run([str(p) for p in paths], "bytes_per_second")
    (_, step), = history.steps
    assert step.step.ratio < 1 and step.direction == stats.WORSE


def test_host_and_kernel_columns_label_the_runs_when_present(tmp_path):
    paths = make_history(tmp_path, runs=4, step_at=None,
                         columns={"host": lambda i: f"node{i}", "kernel_release": "6.99.0-test"})
    history = stats.run([str(p) for p in paths], "ns_per_op")
    assert history.runs[2].label == "git c0ffee02, kernel 6.99.0-test, host node2"


def test_the_command_prints_the_steps_and_draws_a_figure_per_family(tmp_path):
    paths = make_history(tmp_path / "runs", runs=12, step_at=6)
    out = tmp_path / "figures"
    done = run_launcher("history", *paths, "--out", out, "--csv", tmp_path / "steps.csv")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "1 step in 1 of" in text and "20261201-000006-quick-test" in text and "git c0ffee06" in text
    assert "worse" in text
    assert sorted(p.name for p in out.iterdir()) == ["history-ceiling-ns_per_op.png",
                                                   "history-populate-ns_per_op.png",
                                                   "history-read_vs_mmap-ns_per_op.png"]
    assert (tmp_path / "steps.csv").read_text().count("\n") == 2


@pytest.mark.parametrize("runs, options, words", [
    (1, [], "at least 2 runs"),
    (3, ["--metric", "resident_fraction_before"], "not an outcome"),
    (3, ["--no-start"], "no run.start_time"),
])
def test_unusable_input_is_one_line_and_exit_2(tmp_path, runs, options, words):
    paths = make_history(tmp_path, runs=runs, step_at=None, start_time="--no-start" not in options)
    done = run_launcher("history", *paths, *[o for o in options if o != "--no-start"], "--no-plot")
    assert done.returncode == 2, done.stdout + done.stderr
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
