"""Paired comparison of the arms of one interleaved run (paired.py, paired_compare.py, paired_power.py).

Synthetic runs are generated here with a seeded RNG in the format of the `processes` fixture,
plus the columns an interleaved run adds (arm, variant, arm_position) and environment.json's
"interleave" block. No timing is asserted anywhere."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from conftest import FIXTURES
from mapbench_cli import cli, compare, paired

PROCESSES = FIXTURES / "processes"
CASES = ("ceiling/memory_read/pattern:seq/block_kib:4/file_mib:64",
         "read_vs_mmap/method:mmap/pattern:seq/block_kib:64/file_mib:64/cache:warm",
         "read_vs_mmap/method:read/pattern:seq/block_kib:64/file_mib:64/cache:warm")


def _interleaved_rows(rng, slots=10, reps=5, shift=None, drift=2.0, noise=0.02, values=("never", "never"),
                      cases=CASES, run_id="20261204-120000-quick-1"):
    """Rows of an interleaved run: per slot a drift factor shared by both arms (up to `drift` x),
    per row a small repetition noise; arm j's time x (1 + shift[case][j])."""
    template = pd.read_csv(PROCESSES / "results.csv", dtype=str, keep_default_na=False).iloc[0].to_dict()
    rows = []
    for c, name in enumerate(cases):
        for slot in range(slots):
            factor = math.exp(rng.uniform(0, math.log(drift)))
            order = rng.permutation(len(values))
            for position, arm in enumerate(order):
                effect = 1 + (shift or {}).get(name, [0] * len(values))[arm]
                for rep in range(reps):
                    t = 1000.0 * (c + 1) * factor * effect * math.exp(rng.normal(0, noise))
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
            assert paired.signed_rank_p(d) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    rows = rng.normal(0.3, 1, (300, 9))
    rows[::5, 2] = np.nan          # a missing pair: that row has 8
    expected = [scipy.stats.wilcoxon(r[np.isfinite(r)], method="exact").pvalue for r in rows]
    assert paired.signed_rank_p_rows(rows) == pytest.approx(expected, rel=1e-9)


def test_signed_rank_with_ties_and_zeros_is_the_exact_permutation_p():
    import itertools
    d = np.array([1.0, 1.0, 2.0, -2.0, 3.0, 3.0, -1.0, 4.0, 0.0])
    nonzero = d[d != 0]
    ranks = scipy.stats.rankdata(np.abs(nonzero))
    w = ranks[nonzero > 0].sum()
    sums = np.array([ranks[list(s)].sum() for s in itertools.product([False, True], repeat=nonzero.size)])
    exact = min(1.0, 2 * min((sums <= w).mean(), (sums >= w).mean()))
    assert paired.signed_rank_p(d) == pytest.approx(exact)
    assert paired.signed_rank_p_rows(d[None, :])[0] == pytest.approx(exact)
    assert paired.signed_rank_p(np.zeros(8)) == 1.0


def test_min_pairs_follows_the_exact_test():
    assert paired.min_pairs(0.05) == 6 and paired.smallest_p(5) > 0.05 > paired.smallest_p(6)
    assert paired.min_pairs(0.01) == 8


def test_hodges_lehmann_interval_covers_the_true_shift():
    rng = np.random.default_rng(5)
    covered, n_sets = 0, 2000
    for _ in range(n_sets):
        d = 0.05 + rng.standard_t(3, 12) * 0.02
        shift = paired.hodges_lehmann(d, 0.95)
        covered += shift.low <= 0.05 <= shift.high
    nominal = paired.hodges_lehmann(np.arange(12.0), 0.95).coverage
    assert nominal >= 0.95
    assert abs(covered / n_sets - nominal) < 0.02
    assert paired.hodges_lehmann([0.1, 0.3], 0.95).coverage < 0.95   # 2 pairs cannot reach 95 %: said


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
