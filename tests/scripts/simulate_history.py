"""The false alarms and the power of history's change-point detection, measured on synthetic
histories (the numbers in docs/history.md). Not a test: run it by hand.

    /usr/bin/python3 tests/scripts/simulate_history.py [--histories 1000] [--penalty 4]
    /usr/bin/python3 tests/scripts/simulate_history.py --suites    # 60-case suites, penalties 4, 8, 12

Each history: RUNS runs of REPS repetitions, every repetition the run's level times
exp(N(0, noise)); optionally a run-to-run offset exp(N(0, run_noise)) shared by a run's
repetitions (what separate runs on a noisy machine add); with a step, the level is 1 + step
from the middle run on. One history is one case, so Benjamini-Hochberg changes nothing here:
a false alarm is any confirmed step (p < alpha) in a history without a step, or one more than
one run away from the true step in a history with one.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from mapbench_cli.stats import changepoint  # noqa: E402


def simulate(histories, runs, reps, noise, run_noise, step, penalty, alpha, seed):
    rng = np.random.default_rng(seed)
    false, found = 0, 0
    for _ in range(histories):
        at = runs // 2
        levels = [(1 + step) if (step and i >= at) else 1.0 for i in range(runs)]
        data = [[lv * np.exp(rng.normal(0, run_noise)) * np.exp(rng.normal(0, noise, reps))] for lv in levels]
        steps, _ = changepoint.detect(data, penalty=penalty, resamples=200, rng=rng)
        confirmed = [s.index for s in steps if s.p_value < alpha]
        near = [i for i in confirmed if abs(i - at) <= 1] if step else []
        found += bool(near)
        false += bool([i for i in confirmed if i not in near])
    return false / histories, found / histories


def _history(step, at, run_noise, rng, runs=30, reps=5, noise=0.05):
    return [[((1 + step) if (step and i >= at) else 1.0) * np.exp(rng.normal(0, run_noise))
             * np.exp(rng.normal(0, noise, reps))] for i in range(runs)]


def suites(penalties=(4, 8, 12), seed=4):
    """Per case and per suite of 60 cases (BH over every candidate), and the power, by penalty."""
    from mapbench_cli.stats import compare
    rng = np.random.default_rng(seed)

    def found(step, at, run_noise, penalty, histories=200):
        return np.mean([any(abs(s.index - at) <= (0 if at == 29 else 1) and s.p_value < 0.05
                            for s in changepoint.detect(_history(step, at, run_noise, rng), penalty=penalty,
                                                        resamples=20, rng=rng)[0]) for _ in range(histories)])
    print("penalty  run-to-run  false alarm/case  suites of 60 with one  10% step  5% step  20% at the last run")
    for penalty in penalties:
        for run_noise in (0.0, 0.02):
            null = [changepoint.detect(_history(0, 0, run_noise, rng), penalty=penalty, resamples=20, rng=rng)[0]
                    for _ in range(600)]
            per_case = np.mean([any(s.p_value < 0.05 for s in steps) for steps in null])
            suite = sum(any(np.nan_to_num(compare.benjamini_hochberg(
                [s.p_value for steps in null[i * 60:(i + 1) * 60] for s in steps]), nan=1.0) < 0.05)
                for i in range(10))
            print(f"{penalty:7g}  {run_noise:10.0%}  {per_case:16.1%}  {suite:15d} of 10  "
                  f"{found(0.10, 15, run_noise, penalty):8.0%}  {found(0.05, 15, run_noise, penalty):7.0%}  "
                  f"{found(0.20, 29, run_noise, penalty):19.0%}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--histories", type=int, default=1000)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--penalty", type=float, default=changepoint.DEFAULT_PENALTY)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--suites", action="store_true", help="suite-level false alarms by penalty instead")
    a = p.parse_args()
    if a.suites:
        suites()
        return
    print(f"{a.histories} histories of {a.runs} runs x {a.reps} repetitions, penalty {a.penalty:g}, alpha {a.alpha:g}")
    print("noise  run-to-run  step   histories with a false alarm  step found (±1 run)  seconds")
    for noise, run_noise in ((0.05, 0.0), (0.05, 0.02)):
        for step in (0.0, 0.05, 0.10):
            t = time.perf_counter()
            false, found = simulate(a.histories, a.runs, a.reps, noise, run_noise, step, a.penalty, a.alpha, a.seed)
            print(f"{noise:5.0%}  {run_noise:10.0%}  {step:4.0%}   {false:28.1%}  "
                  f"{(f'{found:.1%}' if step else '-'):>19}  {time.perf_counter() - t:7.1f}")


if __name__ == "__main__":
    main()
