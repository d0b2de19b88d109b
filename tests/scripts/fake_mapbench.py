"""A stand-in for the mapbench binary, for tests of `matrix` and `regress` (standard library only).

It accepts the binary's flags, never touches the system, and writes a tiny valid run folder
(results.csv + environment.json) with deterministic numbers. Driven by the environment:

  FAKE_LOG=FILE         append each command line (JSON) to FILE
  FAKE_NOT_ROOT=1       refuse any --tune as the real binary does without root (exit 2)
  FAKE_SCALE=VALUE=F    multiply ns_per_op by F when a --tune value (or --filter, or the
                        --interleave value of the row's arm) equals VALUE
  FAKE_EXIT=N           exit with N after writing the run (1: "some rows failed")
  FAKE_PROCESSES=N      processes per case when --processes is not given (default 6)
  FAKE_HOST=NAME        the host its rows and environment.json name (default: this host's name)

Every row carries the identity columns (host, kernel_release, machine_class from
--machine_class); an untuned run's run_id is "fake-<out_dir's name>", so runs differ.
"""

import csv
import json
import os
import socket
import sys

KNOBS = [("thp.enabled", "always|madvise|never", "THP for anonymous memory"),
         ("thp.defrag", "always|defer|defer+madvise|madvise|never", "THP defrag"),
         ("vm.swappiness", "0-200", "swap preference"),
         ("hugetlb.2M.nr_hugepages", "integer 0..100", "hugetlb pool (whole run only: not with --interleave)")]
BASE = ["schema_version", "run_id", "family", "workload", "name", "process", "repetition", "repetitions", "threads",
        "status", "valid", "config_ok", "validation", "config_note", "message", "iterations", "ns_per_op",
        "cpu_ns_per_op", "bytes_per_op", "bytes_per_second", "pages_per_op", "counters_mode", "counter_run_fraction",
        "host", "kernel_release", "machine_class", "pattern", "block_kib", "file_mib"]


def option(args, name, default=None):
    for i, a in enumerate(args):
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
        if a == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
    return default


def main(args):
    if os.environ.get("FAKE_LOG"):
        with open(os.environ["FAKE_LOG"], "a") as log:
            log.write(json.dumps(args) + "\n")
    if "--list_tunings" in args:
        for name, allowed, text in KNOBS:
            print(f"{name}  [{allowed}]  {text}")
        return 0
    tunes = [a.split("=", 1)[1] for a in args if a.startswith("--tune=")]
    interleave = option(args, "interleave")
    arms = [(i, f"{interleave.split('=', 1)[0]}={v}") for i, v in enumerate(interleave.split("=", 1)[1].split(","))] \
        if interleave else [(None, "")]
    print("mapbench: counters: software", file=sys.stderr)
    if (tunes or interleave) and os.environ.get("FAKE_NOT_ROOT"):
        knob = (tunes or [interleave])[0].split("=")[0]
        print(f"mapbench: --{'tune' if tunes else 'interleave'} {knob} needs root: cannot write /sys/kernel/mm/transparent_hugepage/enabled "
              "(Permission denied); nothing was changed", file=sys.stderr)
        return 2
    out = option(args, "out_dir")
    if not out:
        print("mapbench: fake binary needs --out_dir", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    processes = int(option(args, "processes", os.environ.get("FAKE_PROCESSES", "6")))
    reps = int(option(args, "benchmark_repetitions", "3"))
    scale, scaled_value = 1.0, None
    if os.environ.get("FAKE_SCALE"):
        value, factor = os.environ["FAKE_SCALE"].rsplit("=", 1)
        if any(t.split("=", 1)[1] == value for t in tunes) or option(args, "filter") == value:
            scale = float(factor)
        scaled_value = (value, float(factor))
    run_id = ("fake-" + "-".join(t.replace("=", "_") for t in tunes) if tunes
              else "fake-" + os.path.basename(os.path.normpath(out)))
    host, machine_class = os.environ.get("FAKE_HOST") or socket.gethostname(), option(args, "machine_class", "")
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(BASE + (["arm", "variant", "arm_position"] if interleave else []))
        for c, block in enumerate((4, 64, 1024)):
            name = f"ceiling/memory_read/pattern:seq/block_kib:{block}/file_mib:64"
            for p in range(processes):
                for position, (arm, variant) in enumerate(arms if p % 2 == 0 else arms[::-1]):
                    arm_scale = scaled_value[1] if scaled_value and variant.endswith("=" + scaled_value[0]) else 1.0
                    for r in range(reps):
                        ns = 1e6 * (c + 1) * (1 + 0.01 * ((p * 7 + r * 3) % 5)) * scale * arm_scale
                        w.writerow([1, run_id, "ceiling", "memory_read", name, p, r, reps, 1, "ok", 1, "",
                                    "checksum matched every pass", "", "", 10, f"{ns:.1f}", f"{ns * 0.9:.1f}",
                                    67108864, f"{67108864 / ns * 1e9:.1f}", 16384, "software", 1, host, "6.1.0-fake",
                                    machine_class, "seq", block, 64]
                                   + ([arm, variant, position] if interleave else []))
    env = {"run": {"run_id": run_id, "suite": option(args, "suite", "quick"), "filter": option(args, "filter", ""),
                   "processes": processes, "complete": True, "command_line": ["mapbench"] + args,
                   "hostname": host, "machine_class": machine_class},
           "kernel": {"release": "6.1.0-fake"}, "cpu": {"model": "Fake CPU", "logical_cpus": 2},
           "thp": {"enabled": "madvise", "defrag": "madvise"}, "perf": {"mode": "software"},
           "tunings_applied": [{"knob": t.split("=", 1)[0], "before": "madvise", "requested": t.split("=", 1)[1],
                                "after": t.split("=", 1)[1]} for t in tunes]}
    if interleave:
        knob, values = interleave.split("=", 1)
        env["interleave"] = {"knob": knob, "values": values.split(","), "seed": 1, "mode": "interleaved"}
    for t in tunes:
        knob, value = t.split("=", 1)
        if knob.startswith("thp."):
            env["thp"][knob[4:]] = value
    with open(os.path.join(out, "environment.json"), "w") as f:
        json.dump(env, f, indent=1)
    print(f"results: {out}/results.csv")
    return int(os.environ.get("FAKE_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
