"""`mapbench regress` (what ci/regress runs): run a suite, compare it with a stored baseline.

1. Run the binary with --suite/--filter/--processes into a new run folder
   (results/regress-<name>-<UTC time>/), or take an existing one (--run).
2. --update-baseline: store that run folder as results/baselines/<name>/ and stop.
3. Otherwise compare it with the baseline exactly as `mapbench compare` does, print the
   table, write summary.md, compare.csv and compare.png into the run folder, append the
   summary to $GITHUB_STEP_SUMMARY when set, and record run_dir= in $GITHUB_OUTPUT.

Exit status: 0 no regression (or baseline updated), 1 regression, 2 unusable input (no
baseline, no binary, the run could not start).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from mapbench_cli.commands.common import add_statistics_options, check_output, options_from, positive_int
from mapbench_cli.commands.compare import (compared, exit_status, paired_outcomes, terminal_lines,
                                            write_outputs, write_paired_outputs)
from mapbench_cli.data.files import ENVIRONMENT_NAME, RESULTS_NAME, BadInput
from mapbench_cli.text.words import clean, show

SCRIPTS_DIR = Path(__file__).resolve().parents[2]
REPO = SCRIPTS_DIR.parent
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Options regress sets itself: giving them after -- would make the run disagree with its label.
OWNED_OPTIONS = ("--out_dir", "--suite", "--filter", "--processes")


def add_parser(commands) -> None:
    regress = commands.add_parser(
        "regress", help="CI: run a suite, compare it with a stored baseline, write the summary (ci/regress)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the chosen suite with --processes into a new run folder, compare it with the baseline "
                    "run folder results/baselines/<name>/, write the Markdown summary to the run folder (and "
                    "to $GITHUB_STEP_SUMMARY when set). --update-baseline makes the new run the baseline.",
        epilog="Exit status: 0 no regression, 1 regression, 2 unusable input (no baseline, run failed to start).")
    regress.add_argument("--name", default="default", help="baseline name: results/baselines/<name>/ (default 'default')")
    regress.add_argument("--suite", default="quick", help="suite to run (default quick)")
    regress.add_argument("--filter", default="", metavar="REGEX", help="only the cases matching (default all)")
    regress.add_argument("--processes", type=positive_int, default=8, metavar="N",
                         help="processes per case (default 8: the process is the unit of the test, and fewer than 4 "
                              "per side can never be significant; 8 lets one slowed case stand out among dozens)")
    regress.add_argument("--binary", metavar="PATH", help="the mapbench binary (default $MAPBENCH_BINARY, else build/mapbench)")
    regress.add_argument("--results", metavar="DIR", help="results folder (default results/ beside scripts/)")
    regress.add_argument("--run", metavar="RUN_DIR", help="use this existing run folder instead of running the suite")
    regress.add_argument("--update-baseline", action="store_true", help="store the run as the new baseline and exit 0")
    add_statistics_options(regress, headline=True)
    regress.add_argument("run_options", nargs=argparse.REMAINDER, metavar="-- RUN_OPTIONS",
                         help="more options for the binary, after --")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    return regress_command(args, say=say, warn=warn)


def default_binary() -> Path:
    return REPO / "build" / "mapbench"


def find_binary(given: Optional[str]) -> Path:
    """--binary, else $MAPBENCH_BINARY, else build/mapbench beside the scripts folder."""
    candidate = Path(given) if given else Path(os.environ["MAPBENCH_BINARY"]) if os.environ.get("MAPBENCH_BINARY") \
        else default_binary()
    if not candidate.is_file():
        how = "" if given else " (build it: cmake -S . -B build && cmake --build build -j, or pass --binary)"
        raise BadInput(f"no mapbench binary at {show(candidate)}{how}")
    if not os.access(candidate, os.X_OK):
        raise BadInput(f"{show(candidate)}: not executable")
    return candidate


def passthrough(options: Sequence[str], owned: Sequence[str]) -> List[str]:
    """The options after `--`, refusing those the caller sets itself."""
    options = list(options)
    if options and options[0] == "--":
        options = options[1:]
    for option in options:
        name = option.split("=", 1)[0]
        if name in owned:
            raise BadInput(f"{show(name)} is set by this command; use its own option instead of passing it after --")
    return options


def _store_baseline(run_dir: Path, baseline: Path) -> None:
    """Copy the run's results and environment into baseline/, replacing the old one whole."""
    baseline.parent.mkdir(parents=True, exist_ok=True)
    staging = baseline.parent / f".{baseline.name}.new"
    old = baseline.parent / f".{baseline.name}.old"
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    staging.mkdir()
    for name in (RESULTS_NAME, ENVIRONMENT_NAME):
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, staging / name)
    if baseline.exists():
        baseline.rename(old)
    staging.rename(baseline)
    if old.exists():
        shutil.rmtree(old)


def load_average() -> Optional[float]:
    """The 1-minute load average, or None where /proc/loadavg cannot be read."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def busy_note(before: Optional[float], after: Optional[float], cpus: Optional[int]) -> str:
    """A warning when other work competed for the CPUs while the suite ran ('' otherwise)."""
    loads = [x for x in (before, after) if x is not None]
    if not loads or not cpus or max(loads) <= cpus:
        return ""
    return (f"the machine was busy while the suite ran (load average {before if before is not None else '?'} before, "
            f"{after if after is not None else '?'} after, on {cpus} CPUs): wall times include waiting for a CPU; "
            "read the cpu time column, or run on a quiet machine")


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(text)


def regress_command(args, say: Callable[[str], None] = print, warn: Callable[[str], None] = print) -> int:
    if not NAME_PATTERN.match(args.name):
        raise BadInput(f"--name {clean(args.name)[:70]!r}: letters, digits, '_', '.', '-' only (it names a folder)")
    results_dir = Path(args.results) if args.results else REPO / "results"
    baseline = results_dir / "baselines" / args.name
    extra = passthrough(args.run_options, OWNED_OPTIONS)
    from mapbench_cli.data.runs import load_runs  # late: pandas
    from mapbench_cli.stats.paired_outcome import loads_interleaved
    # An interleaved run (`-- --interleave KNOB=A,B`, or --run of one) holds both sides: its
    # arms are compared in pairs, and no baseline is read.
    paired = any(o.split("=", 1)[0] == "--interleave" for o in extra) or bool(args.run and
                                                                            loads_interleaved([args.run]))
    if paired and args.update_baseline:
        raise BadInput("an interleaved run compares its own arms: it cannot be stored as a baseline")
    if not args.update_baseline and not paired and not (baseline / RESULTS_NAME).is_file():
        raise BadInput(f"no baseline at {show(baseline)}: make one with ci/regress --update-baseline "
                       f"(same --name, --suite, --filter) and commit it")
    options = options_from(args)
    # Checked early: a bad summary path must not cost a whole run.
    check_output(os.environ.get("GITHUB_STEP_SUMMARY") or None, "$GITHUB_STEP_SUMMARY")

    notes: List[str] = []
    if args.run:
        run_dir = Path(args.run)
        if args.run_options:
            raise BadInput("--run takes an existing run folder: options after -- would not be used")
        load_runs([run_dir])  # refuses a bad folder before anything else
    else:
        binary = find_binary(args.binary)
        run_dir = results_dir / f"regress-{args.name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
        command = [str(binary), f"--suite={args.suite}", f"--processes={args.processes}", f"--out_dir={run_dir}"]
        if args.filter:
            command.append(f"--filter={args.filter}")
        command += extra
        say("running: " + " ".join(clean(c) for c in command))
        before = load_average()
        try:
            code = subprocess.run(command).returncode
        except OSError as e:
            raise BadInput(f"cannot run {show(binary)}: {e.strerror or e}") from None
        busy = busy_note(before, load_average(), os.cpu_count())
        if busy:
            notes.append(busy)
            warn(busy)
        if code not in (0, 1) or not (run_dir / RESULTS_NAME).is_file():
            raise BadInput(f"the run failed (exit status {code}); its messages are above")
        if code == 1:
            notes.append("the run exited with status 1: some rows are invalid, failed or unvalidated (listed below)")
            warn(notes[-1])
    say(f"run folder: {show(run_dir)}")
    if os.environ.get("GITHUB_OUTPUT"):
        _append(os.environ["GITHUB_OUTPUT"], f"run_dir={run_dir}\n")

    if args.update_baseline:
        load_runs([run_dir])
        try:
            _store_baseline(run_dir, baseline)
        except OSError as e:
            raise BadInput(f"cannot store the baseline at {show(baseline)}: {e.strerror or e}") from None
        say(f"baseline updated: {show(baseline)} (from {show(run_dir)}); commit it to keep it")
        return 0

    title = f"mapbench regress ({args.name})"
    summary, csv_path, plot_path = run_dir / "summary.md", run_dir / "compare.csv", run_dir / "compare.png"
    if paired:
        from mapbench_cli.text import paired_compare as text
        outcomes = paired_outcomes(str(run_dir), args.metric, options)
        outcomes[0].notes += notes          # the first note stays the one that says how it paired
        lines = text.terminal(outcomes)
        summary_text = text.markdown(outcomes)
        written = write_paired_outputs(outcomes, summary, csv_path, plot_path)
    else:
        from mapbench_cli.text.compare import markdown
        outcomes = compared([str(baseline)], [str(run_dir)], args.metric, options)
        outcomes[0].notes = notes + outcomes[0].notes
        lines = terminal_lines(outcomes)
        summary_text = "\n".join(markdown(o, title) for o in outcomes)
        written = write_outputs(outcomes, summary, csv_path, plot_path, title)
    for line in lines:
        say(line)
    for path in written:
        say(f"wrote {show(path)}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            _append(step_summary, summary_text)
        except OSError as e:
            raise BadInput(f"$GITHUB_STEP_SUMMARY {show(step_summary)}: cannot write: {e.strerror or e}") from None
        say(f"appended the summary to {show(step_summary)}")
    return exit_status(outcomes)
