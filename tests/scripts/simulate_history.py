"""The false alarms and the power of history's change-point detection, measured on synthetic
histories (the numbers in docs/history.md). Not a test: run it by hand.

    /usr/bin/python3 tests/scripts/simulate_history.py [--histories 1000] [--penalty 4]

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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--histories", type=int, default=1000)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--penalty", type=float, default=changepoint.DEFAULT_PENALTY)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
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
