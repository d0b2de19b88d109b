"""`mapbench matrix`: one run per combination of kernel-tuning values, then compare them.

    scripts/mapbench matrix --tune thp.enabled=always,madvise,never [--tune KNOB=...] \\
        [--out DIR] [--binary PATH] -- <mapbench run options>

Each combination runs the binary once with `--tune KNOB=VALUE ...` into its own labelled
run folder (DIR/thp.enabled=always/, ...). The binary owns the tuning: it checks the
knob against its allowlist, needs root, records the change in the run's environment and
restores it afterwards (also after a crash, from its journal). Then the first
combination is compared with each other one, as `mapbench compare` does, and the folder
gets a matrix.json index and compare-<label>.{md,csv,png} files.

With one knob that may change between cases (every knob but the hugetlb pools), the
default `--mode auto` makes one run instead, `--interleave KNOB=V1,V2,...`: the values
take turns case by case and process by process, and the arms are compared in pairs
(docs/sensitivity.md), which sees far smaller changes on a noisy machine. `--mode
whole-run` keeps one run per value; the output and matrix.json say which mode ran.

Exit status: 0 done; 1 a run reported invalid or failed rows; 2 bad input, or a run was
refused (e.g. without root: the binary's own message is passed through).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from mapbench_cli.commands.common import add_statistics_options, options_from
from mapbench_cli.commands.compare import compared, terminal_lines, write_outputs
from mapbench_cli.commands.regress import REPO, default_binary, passthrough
from mapbench_cli.data.files import RESULTS_NAME, BadInput
from mapbench_cli.text.words import clean, quote, show

KNOB = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,79}$")
VALUE = re.compile(r"^[A-Za-z0-9_.:+\[\]-]{1,40}$")
MAX_COMBINATIONS = 64
OWNED_OPTIONS = ("--out_dir", "--tune", "--interleave", "--list_tunings", "--restore_tunings", "--list", "--list_counters", "--help")


@dataclass
class Combination:
    settings: List[Tuple[str, str]]       # (knob, value), in --tune order

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.settings)

    @property
    def folder_name(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.=,:+-]", "_", self.label)[:200]


def add_parser(commands) -> None:
    matrix = commands.add_parser(
        "matrix", help="run the binary once per kernel-tuning combination, then compare them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run mapbench once per combination of --tune values (needs root: the binary applies "
                    "each setting, records it in the run's environment and restores it), each into a "
                    "labelled run folder, then compare the first combination with each other one.",
        epilog="example: scripts/mapbench matrix --tune thp.enabled=always,madvise,never -- "
               "--suite quick --processes 8\nExit status: 0 done, 1 a run reported failed rows, "
               "2 bad input or a run refused (e.g. not root).")
    matrix.add_argument("--tune", action="append", required=True, metavar="KNOB=V1,V2,...",
                        help="a knob and its values (repeatable: every combination is run)")
    matrix.add_argument("--out", metavar="DIR", help="folder for the runs (default results/matrix-<time>)")
    matrix.add_argument("--mode", choices=("auto", "interleaved", "whole-run"), default="auto",
                        help="interleaved: one run alternating the values of one runtime knob, compared in pairs; "
                             "whole-run: one run per combination; auto (default): interleaved when it can be")
    matrix.add_argument("--binary", metavar="PATH", help="the mapbench binary (default build/mapbench beside scripts/)")
    add_statistics_options(matrix, headline=True)
    matrix.add_argument("run_options", nargs=argparse.REMAINDER, metavar="-- RUN_OPTIONS",
                        help="options for every run, after --")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    return matrix_command(args, say=say, warn=warn)


def parse_tunes(tunes: Sequence[str]) -> List[Tuple[str, List[str]]]:
    """['thp.enabled=always,never'] -> [('thp.enabled', ['always', 'never'])], strictly."""
    out: List[Tuple[str, List[str]]] = []
    seen = set()
    for text in tunes:
        knob, sep, values = text.partition("=")
        knob = knob.strip()
        if not sep or not knob:
            raise BadInput(f"--tune {quote(text)}: expected KNOB=VALUE1,VALUE2,...")
        if not KNOB.match(knob):
            raise BadInput(f"--tune {quote(text)}: {quote(knob)} is not a knob name (see the binary's --list_tunings)")
        if knob in seen:
            raise BadInput(f"--tune {quote(knob)} given twice: list its values in one --tune, comma-separated")
        seen.add(knob)
        items = [v.strip() for v in values.split(",")]
        if not values.strip() or any(not v for v in items):
            raise BadInput(f"--tune {quote(text)}: empty value; expected KNOB=VALUE1,VALUE2,...")
        for v in items:
            if not VALUE.match(v):
                raise BadInput(f"--tune {quote(knob)}: value {quote(v)} has characters no knob accepts")
        if len(set(items)) != len(items):
            raise BadInput(f"--tune {quote(knob)}: a value is listed twice")
        out.append((knob, items))
    return out


def combinations(parsed: Sequence[Tuple[str, List[str]]]) -> List[Combination]:
    knobs = [k for k, _ in parsed]
    combos = [Combination(list(zip(knobs, values))) for values in itertools.product(*[v for _, v in parsed])]
    if len(combos) > MAX_COMBINATIONS:
        raise BadInput(f"{len(combos)} combinations: at most {MAX_COMBINATIONS} (each is a whole run)")
    if len(combos) < 2:
        raise BadInput("one combination only: give at least two values to compare (e.g. --tune thp.enabled=always,never)")
    return combos


WHOLE_RUN_ONLY = "whole run only"   # how --list_tunings marks a knob --interleave refuses


def known_knobs(binary: Path, run_options: Sequence[str]) -> Optional[Dict[str, bool]]:
    """The binary's allowlist (from --list_tunings): knob -> may change between cases; None
    when it cannot say."""
    # Only the options that change which knobs exist (the system root, the scratch device).
    relevant = [o for o in run_options if o.split("=", 1)[0] in ("--system_root", "--scratch_dir")]
    try:
        done = subprocess.run([str(binary), *relevant, "--list_tunings"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return {line.split()[0]: WHOLE_RUN_ONLY not in line
            for line in done.stdout.splitlines() if line.strip() and not line.startswith("#")}


def choose_mode(requested: str, parsed: Sequence[Tuple[str, List[str]]], known: Optional[Dict[str, bool]]) -> str:
    """'interleaved' or 'whole-run'; BadInput when interleaving was asked for and cannot be."""
    why_not = ("it takes exactly one knob" if len(parsed) != 1 else
               "the binary cannot say which knobs change between cases" if known is None else
               f"{parsed[0][0]} cannot change between cases ({WHOLE_RUN_ONLY})" if not known.get(parsed[0][0]) else "")
    if requested == "interleaved" and why_not:
        raise BadInput(f"--mode interleaved: {why_not}; use --mode whole-run")
    return "whole-run" if requested == "whole-run" or why_not else "interleaved"


def _run(command: List[str], label: str, say: Callable[[str], None]) -> Tuple[int, str]:
    """Runs one combination; stdout and stderr pass through; returns (status, last stderr line)."""
    say(f"[{label}] running: " + " ".join(clean(c) for c in command))
    try:
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, errors="replace")
    except OSError as e:
        raise BadInput(f"cannot run {show(command[0])}: {e.strerror or e}") from None
    last = ""
    try:
        for line in proc.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.strip():
                last = line.strip()
        proc.wait()
    except KeyboardInterrupt:
        proc.wait()  # the binary restores its tunings on SIGINT: let it finish
        raise
    return proc.returncode, last


def matrix_command(args, say: Callable[[str], None] = print, warn: Callable[[str], None] = print) -> int:
    parsed = parse_tunes(args.tune)
    combos = combinations(parsed)
    run_options = passthrough(args.run_options, OWNED_OPTIONS)
    binary = Path(args.binary) if args.binary else default_binary()
    if not binary.is_file():
        raise BadInput(f"no mapbench binary at {show(binary)}"
                       + ("" if args.binary else " (build it, or pass --binary)"))
    known = known_knobs(binary, run_options)
    if known is not None:
        unknown = [k for k, _ in parsed if k not in known]
        if unknown:
            raise BadInput(f"unknown knob {quote(unknown[0])}: the binary's allowlist has "
                           + (", ".join(list(known)[:12]) + (" …" if len(known) > 12 else "") if known else "no knob"))
    mode = choose_mode(args.mode, parsed, known)
    out = Path(args.out) if args.out else REPO / "results" / f"matrix-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {show(out)}: exists and is not a folder")
    if mode == "interleaved":
        return _interleaved(args, parsed[0], binary, run_options, out, say)
    names = [c.folder_name for c in combos]
    if len(set(names)) != len(names):
        raise BadInput("two combinations give the same folder name; use plainer values")
    taken = [n for n in names if (out / n).exists()]
    if taken:
        raise BadInput(f"{show(out / taken[0])} already exists: choose another --out")
    options = options_from(args)
    _make_folder(out)

    runs: List[Dict[str, object]] = []
    index_path = out / "matrix.json"

    def write_index() -> None:
        index = {"binary": str(binary), "run_options": run_options, "tunes": [[k, v] for k, v in parsed],
                 "mode": "whole-run", "runs": runs}
        index_path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")

    failed_rows = False
    for combo in combos:
        folder = out / combo.folder_name
        command = [str(binary), *[f"--tune={k}={v}" for k, v in combo.settings], f"--out_dir={folder}", *run_options]
        status, last = _run(command, combo.label, say)
        runs.append({"label": combo.label, "settings": dict(combo.settings), "folder": str(folder), "exit": status})
        write_index()
        if status not in (0, 1) or not (folder / RESULTS_NAME).is_file():
            reason = clean(last)[:300] or "no message"
            raise BadInput(f"[{combo.label}] the run was refused or failed (exit status {status}): {reason}")
        if status == 1:
            failed_rows = True
            warn(f"[{combo.label}] some rows are invalid, failed or unvalidated (exit status 1)")

    say("")
    say(f"matrix: {len(combos)} runs in {show(out)} (mode whole-run: one run per combination)")
    for run in runs:
        say(f"  {clean(run['label'])}: {show(run['folder'])}")
    first = runs[0]
    for run in runs[1:]:
        say("")
        say(f"=== {clean(run['label'])} (CURRENT) against {clean(first['label'])} (BASE) ===")
        outcomes = compared([str(first["folder"])], [str(run["folder"])], args.metric, options)
        for line in terminal_lines(outcomes):
            say(line)
        stem = f"compare-{Combination(list(run['settings'].items())).folder_name}"
        title = f"mapbench matrix: {run['label']} against {first['label']}"
        written = write_outputs(outcomes, out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}.png",
                                               title)
        run["compare"] = {"verdicts": {v: sum(o.primary.count(v) for o in outcomes) for v in ("regression", "improvement",
                                                                           "unchanged", "inconclusive")},
                          "files": [str(p) for p in written]}
        write_index()
        for path in written:
            say(f"wrote {show(path)}")
    say(f"index: {show(index_path)}")
    return 1 if failed_rows else 0


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {show(out)}: cannot create: {e.strerror or e}") from None


def _interleaved(args, knob_values: Tuple[str, List[str]], binary: Path, run_options: Sequence[str], out: Path,
                 say: Callable[[str], None]) -> int:
    """One run alternating the knob's values (--interleave), its arms compared in pairs."""
    from mapbench_cli.commands.compare import paired_command
    knob, values = knob_values
    folder = out / "interleaved"
    if folder.exists():
        raise BadInput(f"{show(folder)} already exists: choose another --out")
    _make_folder(out)
    label = f"{knob}={','.join(values)}"
    command = [str(binary), f"--interleave={label}", f"--out_dir={folder}", *run_options]
    status, last = _run(command, label, say)
    index = {"binary": str(binary), "run_options": list(run_options), "tunes": [[knob, values]],
             "mode": "interleaved", "runs": [{"label": label, "folder": str(folder), "exit": status}]}
    index_path = out / "matrix.json"
    index_path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    if status not in (0, 1) or not (folder / RESULTS_NAME).is_file():
        raise BadInput(f"[{label}] the run was refused or failed (exit status {status}): {clean(last)[:300] or 'no message'}")
    say("")
    say(f"matrix: one interleaved run in {show(folder)} (mode interleaved: the values of {knob} took turns "
        "case by case; --mode whole-run for one run per value)")
    paired_command(str(folder), args.metric, options_from(args), str(out / "compare.md"), str(out / "compare.csv"),
                   str(out / "compare.png"), say=say)
    say(f"index: {show(index_path)}")
    return 1 if status == 1 else 0
