"""Paired comparison of the arms of one interleaved run (stats/signed_rank.py, stats/paired.py,
stats/paired_outcome.py, stats/paired_power.py and their text/ and commands/ parts).

Synthetic runs are generated here with a seeded RNG in the format of the `processes` fixture,
plus the columns an interleaved run adds (arm, variant, arm_position) and environment.json's
"interleave" block. No timing is asserted anywhere."""

import json
import math
import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from conftest import FIXTURES
from mapbench_cli.data.files import BadInput
from mapbench_cli import cli
from mapbench_cli.stats import compare, paired, signed_rank

PROCESSES = FIXTURES / "processes"
CASES = ("ceiling/memory_read/pattern:seq/block_kib:4/file_mib:64",
         "read_vs_mmap/method:mmap/pattern:seq/block_kib:64/file_mib:64/cache:warm",
         "read_vs_mmap/method:read/pattern:seq/block_kib:64/file_mib:64/cache:warm")


def _interleaved_rows(rng, slots=10, reps=5, shift=None, drift=2.0, noise=0.02, values=("never", "never"),
                      cases=CASES, run_id="20261204-120000-quick-1", later=0.0):
    """Rows of an interleaved run: per slot a drift factor shared by both arms (up to `drift` x),
    per row a small repetition noise; arm j's time x (1 + shift[case][j]); the arm run at
    position p of its slot x (1 + later) ** p."""
    template = pd.read_csv(PROCESSES / "results.csv", dtype=str, keep_default_na=False).iloc[0].to_dict()
    rows = []
    for c, name in enumerate(cases):
        for slot in range(slots):
            factor = math.exp(rng.uniform(0, math.log(drift)))
            order = rng.permutation(len(values))
            for position, arm in enumerate(order):
                effect = 1 + (shift or {}).get(name, [0] * len(values))[arm]
                for rep in range(reps):
                    t = 1000.0 * (c + 1) * factor * effect * (1 + later) ** position * math.exp(rng.normal(0, noise))
                    row = dict(template, run_id=run_id, name=name, process=str(slot), repetition=str(rep),
                               repetitions=str(reps), ns_per_op=repr(t), cpu_ns_per_op=repr(t * 0.9),
                               bytes_per_second=repr(64e9 / t), arm=str(arm),
                               variant=f"thp.enabled={values[arm]}", arm_position=str(position))
                    row["family"], row["workload"] = name.split("/")[0], name.split("/")[1]
                    rows.append(row)
    return pd.DataFrame(rows)


def _write_run(folder, frame, values=("never", "never"), seed=7):
    folder.mkdir(parents=True)
    frame.to_csv(folder / "results.csv", index=False)
    env = json.loads((PROCESSES / "environment.json").read_text())
    env["interleave"] = {"knob": "thp.enabled", "values": list(values), "seed": seed, "mode": "interleaved"}
    (folder / "environment.json").write_text(json.dumps(env))
    return folder


def _main(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _refused(code, err, command, mentions):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"mapbench {command}: ") and "Traceback" not in err, err
    assert mentions in lines[0], lines[0]


# --- the statistics -------------------------------------------------------------------------

def test_signed_rank_p_values_match_scipy():
    rng = np.random.default_rng(11)
    for n in list(range(1, 26)) + [40, 60]:
        for _ in range(10):
            d = rng.normal(rng.uniform(-1, 1), 1, n)
            expected = scipy.stats.wilcoxon(d, method="exact").pvalue
            assert signed_rank.signed_rank_p(d) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    rows = rng.normal(0.3, 1, (300, 9))
    rows[::5, 2] = np.nan          # a missing pair: that row has 8
    expected = [scipy.stats.wilcoxon(r[np.isfinite(r)], method="exact").pvalue for r in rows]
    assert signed_rank.signed_rank_p_rows(rows) == pytest.approx(expected, rel=1e-9)


def test_signed_rank_with_ties_and_zeros_is_the_exact_permutation_p():
    import itertools
    d = np.array([1.0, 1.0, 2.0, -2.0, 3.0, 3.0, -1.0, 4.0, 0.0])
    nonzero = d[d != 0]
    ranks = scipy.stats.rankdata(np.abs(nonzero))
    w = ranks[nonzero > 0].sum()
    sums = np.array([ranks[list(s)].sum() for s in itertools.product([False, True], repeat=nonzero.size)])
    exact = min(1.0, 2 * min((sums <= w).mean(), (sums >= w).mean()))
    assert signed_rank.signed_rank_p(d) == pytest.approx(exact)
    assert signed_rank.signed_rank_p_rows(d[None, :])[0] == pytest.approx(exact)
    assert signed_rank.signed_rank_p(np.zeros(8)) == 1.0


def test_min_pairs_follows_the_exact_test():
    assert signed_rank.min_pairs(0.05) == 6 and signed_rank.smallest_p(5) > 0.05 > signed_rank.smallest_p(6)
    assert signed_rank.min_pairs(0.01) == 8


def test_hodges_lehmann_interval_covers_the_true_shift():
    rng = np.random.default_rng(5)
    covered, n_sets = 0, 2000
    for _ in range(n_sets):
        d = 0.05 + rng.standard_t(3, 12) * 0.02
        shift = signed_rank.hodges_lehmann(d, 0.95)
        covered += shift.low <= 0.05 <= shift.high
    nominal = signed_rank.hodges_lehmann(np.arange(12.0), 0.95).coverage
    assert nominal >= 0.95
    assert abs(covered / n_sets - nominal) < 0.02
    assert signed_rank.hodges_lehmann([0.1, 0.3], 0.95).coverage < 0.95   # 2 pairs cannot reach 95 %: said


def test_pairing_cancels_a_shared_drift_that_hides_the_shift_from_mann_whitney():
    rng = np.random.default_rng(3)
    name = CASES[0]
    frame = _interleaved_rows(rng, slots=10, shift={name: [0.0, 0.05]}, cases=(name,), values=("never", "always"))
    ok = frame.assign(**{c: pd.to_numeric(frame[c]) for c in ("ns_per_op", "threads", "process")})
    result, _ = paired.compare_arms(ok, "ns_per_op", 1)
    row = result.table.iloc[0]
    assert row["unit"] == "pair" and row["n_pairs"] == 10
    assert row["p_adjusted"] < 0.05 and row["verdict"] == "regression"
    assert row["ratio"] == pytest.approx(1.05, abs=0.02)
    # The same data, unpaired: process medians of each arm, Mann–Whitney as compare does.
    blocks = {arm: compare.blocks_by_case(ok[ok["arm"] == str(arm)], "ns_per_op")[(name, 1.0)] for arm in (0, 1)}
    unpaired = compare.compare_blocks({(name, 1.0): blocks[0]}, {(name, 1.0): blocks[1]}, "ns_per_op")
    assert unpaired.table.iloc[0]["p_adjusted"] > 0.05
    assert unpaired.table.iloc[0]["verdict"] != "regression"


def test_too_few_pairs_is_inconclusive_and_says_why():
    rng = np.random.default_rng(1)
    frame = _interleaved_rows(rng, slots=4, cases=CASES[:1])
    ok = frame.assign(**{c: pd.to_numeric(frame[c]) for c in ("ns_per_op", "threads", "process")})
    row = paired.compare_arms(ok, "ns_per_op", 1)[0].table.iloc[0]
    assert row["verdict"] == "inconclusive" and "too few pairs (4 process slots" in row["note"]
    assert "needs 6" in row["note"] and math.isnan(row["p_value"])
    assert row["ratio_ci_coverage"] == pytest.approx(1 - 2 / 2 ** 4)   # [min, max] of the Walsh averages


# --- compare RUN ------------------------------------------------------------------------------

def test_aa_run_gives_no_regression_end_to_end(capsys, tmp_path):
    run = _write_run(tmp_path / "aa", _interleaved_rows(np.random.default_rng(2), slots=12))
    out_csv, md = tmp_path / "c.csv", tmp_path / "s.md"
    code, out, err = _main(capsys, "compare", run, "--csv", out_csv, "--markdown", md)
    assert code == 0, err
    assert out.startswith("mapbench compare: no regression in time over 3 cases")
    assert "paired: 12 process slots, interleaved thp.enabled values" in out.splitlines()[1]
    assert "Wilcoxon signed-rank" in out and "Hodges–Lehmann" in out
    table = pd.read_csv(out_csv)
    assert (table["unit"] == "pair").all() and (table["n_pairs"] == 12).all()
    assert set(table["verdict"]) <= {"unchanged", "inconclusive"}
    assert (table["base_variant"] == "thp.enabled=never").all()
    assert "paired: 12 process slots" in md.read_text()


def test_slowed_arm_is_a_regression_end_to_end(capsys, tmp_path):
    shift = {CASES[1]: [0.0, 0.20]}
    run = _write_run(tmp_path / "ab", _interleaved_rows(np.random.default_rng(4), slots=10, shift=shift,
                                                        values=("always", "never")), values=("always", "never"))
    code, out, err = _main(capsys, "compare", run, "--plot", tmp_path / "r.png")
    assert code == 1, err
    assert "1 regression in time over 3 cases" in out
    assert "BASE arm 0 thp.enabled=always, CURRENT arm 1 thp.enabled=never" in out
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_three_arms_compare_each_with_arm_zero(capsys, tmp_path):
    values = ("always", "madvise", "never")
    shift = {CASES[0]: [0.0, 0.0, 0.3]}
    run = _write_run(tmp_path / "abc", _interleaved_rows(np.random.default_rng(6), slots=8, shift=shift,
                                                         values=values), values=values)
    code, out, _ = _main(capsys, "compare", run, "--csv", tmp_path / "c.csv")
    assert code == 1
    assert out.count("mapbench compare: ") == 2
    table = pd.read_csv(tmp_path / "c.csv")
    assert sorted(set(table["current_arm"])) == [1, 2]
    assert list(table[table["verdict"] == "regression"]["current_variant"]) == ["thp.enabled=never"]


def test_a_missing_arm_drops_that_pair_and_says_so(capsys, tmp_path):
    frame = _interleaved_rows(np.random.default_rng(8), slots=9)
    gone = (frame["name"] == CASES[2]) & (frame["process"] == "3") & (frame["arm"] == "1")
    frame.loc[gone, "status"] = "error"
    frame.loc[gone, "ns_per_op"] = ""
    frame.loc[gone, "message"] = "crashed"
    run = _write_run(tmp_path / "gap", frame)
    code, out, _ = _main(capsys, "compare", run, "--csv", tmp_path / "c.csv")
    assert code == 0
    assert "1 process slot of 1 case had only one of the two arms and gave no pair" in out
    table = pd.read_csv(tmp_path / "c.csv").set_index("name")
    assert table.loc[CASES[2], "n_pairs"] == 8 and table.loc[CASES[0], "n_pairs"] == 9
    assert "5 error" in out   # the rows not compared are counted, as compare does


def test_few_pairs_and_an_order_effect_are_said(capsys, tmp_path):
    run = _write_run(tmp_path / "few", _interleaved_rows(np.random.default_rng(10), slots=5))
    code, out, _ = _main(capsys, "compare", run)
    assert code == 0 and "too few pairs (5 process slots with both arms)" in out
    assert "no Hodges–Lehmann interval reaches 95%, the widest one shown covers 93.8%" in out
    assert "order effect" not in out
    run = _write_run(tmp_path / "order", _interleaved_rows(np.random.default_rng(10), slots=12, later=0.1))
    code, out, _ = _main(capsys, "compare", run)
    said = re.search(r"order effect: in a slot, the arm run later measured ([0-9.]+)x the ns_per_op", out)
    assert said and float(said.group(1)) == pytest.approx(1.1, abs=0.01)
    assert "no regression" in out      # balanced order: the arms' ratios stay near 1


def test_two_runs_when_either_is_interleaved_are_refused(capsys, tmp_path):
    run = _write_run(tmp_path / "aa", _interleaved_rows(np.random.default_rng(9), slots=6))
    for pair in ((run, PROCESSES), (PROCESSES, run)):
        code, _, err = _main(capsys, "compare", *pair)
        _refused(code, err, "compare", "is an interleaved run (arms of thp.enabled): compare the arms of one run")


def test_ordinary_runs_keep_todays_behaviour(capsys):
    code, out, _ = _main(capsys, "compare", PROCESSES, PROCESSES)
    assert code == 0 and "Mann–Whitney" in out and "paired:" not in out
    with pytest.raises(SystemExit) as info:     # one ordinary run: a usage error, as before
        cli.main(["compare", str(PROCESSES)])
    assert info.value.code == 2


def test_empty_arm_column_is_an_ordinary_run(capsys, tmp_path):
    folder = tmp_path / "plain"
    shutil.copytree(PROCESSES, folder)
    frame = pd.read_csv(folder / "results.csv", dtype=str, keep_default_na=False)
    frame["arm"], frame["variant"], frame["arm_position"] = "", "", ""
    frame.to_csv(folder / "results.csv", index=False)
    code, out, _ = _main(capsys, "compare", PROCESSES, folder)
    assert code == 0 and "Mann–Whitney" in out


# --- power ------------------------------------------------------------------------------------

def test_power_on_an_aa_run(capsys, tmp_path):
    run = _write_run(tmp_path / "aa", _interleaved_rows(np.random.default_rng(12), slots=12, noise=0.01))
    md = tmp_path / "p.md"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = _main(capsys, "power", run, "--processes", "8", "--trials", "40", "--markdown", md)
    assert code == 0, err
    assert "mapbench power (paired)" in out and "false alarm rate per job" in out
    assert "8 of the 12 process slots" in out
    assert "smallest slowdown detected with 80% power, one case slowed alone (threshold 5%)" in out
    assert "smallest slowdown detected with 95% power, every case slowed (threshold 5%)" in out
    assert "(not above the threshold: flagged only when the estimate overshoots it)" in out   # 5 % at 5 %
    # 1 % repetition noise, drift cancelled by pairing: 20 % is found every time.
    line = next(l for l in out.splitlines() if l.strip().startswith("20.0%"))
    assert "3/3 ≥95%" in line
    assert md.read_text().startswith("## mapbench power (paired)")


def test_power_threshold_option_is_used(capsys, tmp_path):
    run = _write_run(tmp_path / "aa", _interleaved_rows(np.random.default_rng(13), slots=8, noise=0.01))
    code, out, _ = _main(capsys, "power", run, "--processes", "8", "--trials", "20", "--threshold", "1",
                         "--slowdowns", "2,5")
    assert code == 0 and "threshold 1%" in out and "not above the threshold" not in out


def test_power_refuses_arms_of_different_values_and_too_many_processes(capsys, tmp_path):
    values = ("always", "never")
    run = _write_run(tmp_path / "ab", _interleaved_rows(np.random.default_rng(14), slots=6, values=values),
                     values=values)
    code, _, err = _main(capsys, "power", run, "--trials", "20")
    _refused(code, err, "power", "not an A/A run")
    aa = _write_run(tmp_path / "aa", _interleaved_rows(np.random.default_rng(15), slots=6))
    code, _, err = _main(capsys, "power", aa, "--trials", "20", "--processes", "8")
    _refused(code, err, "power", "only 6 process slots")


def test_power_with_missing_pairs_and_a_throughput_metric(capsys, tmp_path):
    frame = _interleaved_rows(np.random.default_rng(3), slots=10, noise=0.01)
    gone = (frame["name"] == CASES[2]) & frame["process"].isin(["3", "4", "5", "6"]) & (frame["arm"] == "1")
    frame.loc[gone, ["status", "ns_per_op", "bytes_per_second"]] = ["error", "", ""]
    run = _write_run(tmp_path / "gap", frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # a row with fewer pairs is no numpy warning
        code, out, err = _main(capsys, "power", run, "--metric", "bytes_per_second", "--trials", "20",
                               "--split", "random")
    assert code == 0, err
    assert "bytes_per_second (higher is better)" in out
    assert "1 case lacks a pair in some slots" in out and "6 of 10" in out
    assert "--split random does not apply" in out


def test_max_steal_leaves_out_rows_of_an_interleaved_run(capsys, tmp_path):
    frame = _interleaved_rows(np.random.default_rng(5), slots=8)
    frame["steal_fraction"] = "0"
    frame.loc[frame.index[:7], "steal_fraction"] = "0.3"
    run = _write_run(tmp_path / "aa", frame)
    code, out, _ = _main(capsys, "compare", run)
    assert code == 0 and "RUN: 7 of" in out and "--max-steal leaves them out" in out
    code, out, _ = _main(capsys, "compare", run, "--max-steal", "10")
    assert code == 0 and "RUN: 7 ok rows left out" in out
    # power on the same A/A run leaves them out too, and says so
    code, out, _ = _main(capsys, "power", run, "--processes", "6", "--trials", "20", "--max-steal", "10")
    assert code == 0 and "RUN: 7 ok rows left out" in out
    code, out, _ = _main(capsys, "power", run, "--processes", "6", "--trials", "20")
    assert code == 0 and "RUN: 7 of" in out


# --- plot, report and series.csv of an interleaved run: the arms kept apart ---------------------

def _series_lines(frame, arm_column=True):
    """One point per row of `frame`: value = 100 + its arm, keyed like the harness writes them."""
    head = "schema_version,run_id,family,name,process,repetition,t_s,series,value" + (",arm" if arm_column else "")
    lines = [head]
    for _, r in frame.iterrows():
        cells = ["1", r["run_id"], r["family"], f'"{r["name"]}"', r["process"], r["repetition"], "0.1",
                 "bytes_per_second", str(100 + int(r["arm"]))] + ([r["arm"]] if arm_column else [])
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def test_series_points_of_two_arms_are_told_apart_by_their_arm(tmp_path):
    from mapbench_cli.data.arms import by_arm
    from mapbench_cli.data.runs import load_runs
    frame = _interleaved_rows(np.random.default_rng(8), slots=2, reps=2, values=("always", "never"))
    run = _write_run(tmp_path / "ab", frame, values=("always", "never"))
    (run / "series.csv").write_text(_series_lines(frame))
    results = load_runs([run], series=True)
    assert len(results.series) == len(frame) and not results.warnings
    parts = by_arm(results)
    assert [label for label, _ in parts] == ["arm0-thp.enabled=always", "arm1-thp.enabled=never"]
    for arm, (_, part) in enumerate(parts):
        assert (part.frame["arm"].astype(int) == arm).all()
        assert (part.series["value"] == 100 + arm).all() and len(part.series) == len(frame) // 2

    # Without the arm column (a run before this), the same points collide: refused in one line.
    (run / "series.csv").write_text(_series_lines(frame, arm_column=False))
    with pytest.raises(BadInput, match="a second value of 'bytes_per_second'"):
        load_runs([run], series=True)


def test_plot_and_report_draw_each_arm_apart(capsys, tmp_path):
    frame = _interleaved_rows(np.random.default_rng(9), slots=3, reps=2, values=("always", "never"))
    run = _write_run(tmp_path / "ab", frame, values=("always", "never"))
    code, out, err = _main(capsys, "plot", run)
    assert code == 0, err
    assert "interleaved run: one set of figures per value" in out
    for arm in ("arm0-thp.enabled_always", "arm1-thp.enabled_never"):
        assert list((run / "plots" / arm).glob("*.png")), arm
    assert not list((run / "plots").glob("*.png"))   # nothing pooled at the top

    code, out, err = _main(capsys, "report", run, "--out", tmp_path / "paper")
    assert code == 0, err
    index = (tmp_path / "paper" / "index.md").read_text()
    assert "one report per value" in index and "arm1-thp.enabled_never/index.md" in index
    assert (tmp_path / "paper" / "arm0-thp.enabled_always" / "index.md").is_file()
