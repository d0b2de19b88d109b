"""The text of `mapbench report` (commands/report.py): tables, the environment appendix, the
LaTeX figure list and index.md. What goes in the report folder:

    DIR/index.md                     links everything, with the figures' captions
    DIR/figures/<stem>.{pdf,svg,png} one figure per family comparison (figures/plot.py picks the
                                     figure), drawn for a two-column paper: 3.5 in (one
                                     column) or 7 in (both), no text below 7 pt, titles and
                                     notes moved to the captions
    DIR/figures.tex                  \\includegraphics with those captions
    DIR/tables/<family>.{md,tex}     medians with confidence intervals per case (booktabs)
    DIR/environment.{md,tex}         the appendix: every setting that differs between the
                                     runs, then the key settings
    DIR/<family>-summary.md          a family's answer in words (crossover), also in index.md

Several runs are pooled per case (as in plot); when they differ in a setting that shapes
the numbers (kernel, THP, tunings...), the report says so at the top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pandas as pd

from mapbench_cli.data import environment
from mapbench_cli.data import schema
from mapbench_cli.stats import summary as stats
from mapbench_cli.data.runs import Results
from mapbench_cli.data.frames import with_throughput
from mapbench_cli.text.tables import Table, latex_escape, markdown_escape, number, to_markdown
from mapbench_cli.text.words import file_part


CONFIDENCE = 0.95
FIGURE_FORMATS = ("pdf", "svg", "png")
PNG_DPI = 300
TIME = "ns_per_op"
THROUGHPUT = "bytes_per_second"


# --- tables -----------------------------------------------------------------------------------

def _parts(name: str) -> Tuple[List[str], Dict[str, str]]:
    """'fam/work/key:v/k2:w' -> (['fam', 'work'], {'key': 'v', 'k2': 'w'})."""
    words, params = [], {}
    for part in str(name).split("/"):
        if ":" in part:
            k, v = part.split(":", 1)
            params[k] = v
        else:
            words.append(part)
    return words, params


def family_table(family: str, rows: pd.DataFrame) -> Table:
    """Per case: its parameters, n, median time per operation and throughput with their CIs."""
    rows = with_throughput(rows)
    keys = ["name", "threads"]
    time = stats.summarize(rows, keys, TIME, CONFIDENCE)
    has_tp = THROUGHPUT in rows and rows[THROUGHPUT].notna().any()
    tp = stats.summarize(rows[rows[THROUGHPUT].notna()], keys, THROUGHPUT, CONFIDENCE) if has_tp else None
    parsed = {name: _parts(name) for name in time["name"]}
    workloads = {tuple(w[1:]) for w, _ in parsed.values()}
    param_keys: List[str] = []
    for _, params in parsed.values():
        for k in params:
            if k not in param_keys:
                param_keys.append(k)
    constant = {k: parsed[next(iter(parsed))][1].get(k) for k in param_keys
                if len({p.get(k) for _, p in parsed.values()}) == 1}
    shown_keys = [k for k in param_keys if k not in constant]
    threads_vary = time["threads"].nunique() > 1
    divisor, unit = schema.display_scale(TIME, time["median"].tolist())
    tp_div, tp_unit = schema.display_scale(THROUGHPUT)

    headers = (["workload"] if len(workloads) > 1 else []) + shown_keys + (["threads"] if threads_vary else []) \
        + ["n", f"time ({unit})", f"{CONFIDENCE:.0%} CI"]
    align = ["l"] * (len(headers) - 3) + ["r", "r", "r"]
    if tp is not None:
        headers += [f"throughput ({tp_unit})", f"{CONFIDENCE:.0%} CI"]
        align += ["r", "r"]
    tp_by = {} if tp is None else {(r["name"], r["threads"]): r for _, r in tp.iterrows()}
    body = []
    for _, r in time.iterrows():
        words, params = parsed[r["name"]]
        cells = (["/".join(words[1:]) or words[0]] if len(workloads) > 1 else []) + [params.get(k, "–") for k in shown_keys]
        if threads_vary:
            cells.append(f"{r['threads']:g}")
        cells += [str(int(r["n"])), number(r["median"] / divisor),
                  f"[{number(r['ci_low'] / divisor)}, {number(r['ci_high'] / divisor)}]"]
        if tp is not None:
            t = tp_by.get((r["name"], r["threads"]))
            cells += ["–", ""] if t is None else [number(t["median"] / tp_div),
                                                  f"[{number(t['ci_low'] / tp_div)}, {number(t['ci_high'] / tp_div)}]"]
        body.append(cells)
    notes = [stats.describe_intervals(time, CONFIDENCE).replace("error bars", "intervals")]
    if constant:
        notes.append("every row: " + ", ".join(f"{k}={v}" for k, v in constant.items()))
    caption = (f"{family}: median time per operation" + (" and throughput" if tp is not None else "")
               + f" with {CONFIDENCE:.0%} confidence intervals of the median over repetitions")
    return Table(headers, body, align, caption, f"tab:{file_part(family)}", notes)


# --- the environment appendix --------------------------------------------------------------------

def _run_label(results: Results, i: int) -> str:
    run = results.runs[i]
    return ", ".join(run.run_ids) or run.folder.name


def environment_tables(results: Results) -> Tuple[List[Table], List[str]]:
    """(tables, notes): runs, the settings that differ, the key settings."""
    envs = [r.environment for r in results.runs]
    notes = []
    missing = [_run_label(results, i) for i, e in enumerate(envs) if e is None]
    if missing:
        notes.append(f"no readable environment.json for {', '.join(missing)}: its settings are unknown")
    runs = Table(["run", "folder", "suite", "filter", "processes", "repetitions", "started (UTC)", "rows"],
                 [], ["l", "l", "l", "l", "r", "r", "l", "r"], "The runs of this report")
    for i, run in enumerate(results.runs):
        flat = environment.flatten(run.environment)
        start = (run.environment or {}).get("run", {}).get("start_time", "?") if isinstance(run.environment, dict) else "?"
        runs.rows.append([_run_label(results, i), str(run.folder), flat.get("run.suite", "?"),
                          flat.get("run.filter", "") or "(all)", flat.get("run.processes", "1"),
                          flat.get("run.repetitions", "suite default"), str(start), str(run.rows)])
    tables = [runs]
    known = [e for e in envs if e is not None]
    if len(known) > 1:
        diff = environment.differences(envs)
        labels = [_run_label(results, i) for i in range(len(envs))]
        if diff:
            tables.append(Table(["setting"] + labels,
                                [[k] + [v if v is not None else "(absent)" for v in values] for k, values in diff.items()],
                                ["l"] * (1 + len(labels)), "Settings that differ between the runs", limit=2000))
        else:
            notes.append("every recorded setting is the same in all runs")
    if known:
        common, _ = environment.merged(known)
        diff_keys = set(environment.differences(envs)) if len(known) > 1 else set()
        key = [(k, v) for k, v in environment.key_settings(known[0]) if k not in diff_keys]
        title = "Key settings" + (" (the same in every run)" if len(known) > 1 else "")
        tables.append(Table(["setting", "value"], [[k, v] for k, v in key], ["l", "l"], title, limit=2000))
        del common
    return tables, notes


# --- the report ---------------------------------------------------------------------------------

@dataclass
class FigureEntry:
    family: str
    stem: str
    title: str
    notes: List[str]
    width: float
    height: float
    files: List[Path]


@dataclass
class Report:
    out: Path
    figures: List[FigureEntry] = field(default_factory=list)
    tables: List[Tuple[str, Path, Path, Table]] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    summaries: List[Tuple[str, Path, str]] = field(default_factory=list)   # (family, file, markdown)


def _caption(entry: FigureEntry) -> str:
    return ". ".join(t.rstrip(".") for t in [entry.title or entry.stem] + entry.notes if t) + "."


def figures_tex(report: Report) -> str:
    out = ["% generated by mapbench report; needs \\usepackage{graphicx}"]
    for e in report.figures:
        env = "figure*" if e.width > 4 else "figure"
        width = "\\textwidth" if e.width > 4 else "\\columnwidth"
        out += [f"\\begin{{{env}}}[tbp]", "\\centering",
                f"\\includegraphics[width={width}]{{figures/{e.stem}.pdf}}",
                f"\\caption{{{latex_escape(_caption(e))}}}",
                f"\\label{{fig:{''.join(c for c in e.stem if c.isalnum() or c in '-.')}}}",
                f"\\end{{{env}}}", ""]
    return "\n".join(out)


def _md_link(text: str, target: str) -> str:
    return f"[{markdown_escape(text, None)}]({target})"


def index_markdown(report: Report, results: Results, env_tables: Sequence[Table], env_notes: Sequence[str]) -> str:
    ids = [i for run in results.runs for i in run.run_ids]
    out = ["# mapbench report", "",
           f"{len(results.runs)} run{'s' if len(results.runs) != 1 else ''}: "
           + markdown_escape(", ".join(ids) or "?", None) + f" — {len(results.frame)} rows, {len(results.ok)} usable.", ""]
    if report.warnings:
        out += ["**Warnings**", ""] + [f"- {markdown_escape(w, None)}" for w in report.warnings] + [""]
    out += ["## Figures", "",
            "Sized for a two-column paper (3.5 in one column, 7 in across both; text at 7 pt or more). "
            "Each figure as PDF and SVG (vector) and PNG (300 dpi); LaTeX: " + _md_link("figures.tex", "figures.tex")
            + ".", ""]
    family = None
    for e in report.figures:
        if e.family != family:
            family = e.family
            out += [f"### {markdown_escape(family, None)}", ""]
        links = " · ".join(_md_link(p.suffix[1:].upper(), f"figures/{p.name}") for p in e.files)
        out += [f"![{markdown_escape(e.stem, None)}](figures/{e.stem}.png)", "",
                f"*{markdown_escape(_caption(e), None)}* ({e.width:g} × {e.height:.2g} in; {links})", ""]
    if report.summaries:
        out += ["## Findings", ""]
        for fam, path, markdown in report.summaries:
            # The summary's own headings, one level down, under this section.
            body = ["##" + line if line.startswith("#") else line for line in markdown.strip().splitlines()]
            out += body + ["", _md_link(f"{fam} summary (Markdown)", path.name), ""]
    out += ["## Tables", "", "Medians with confidence intervals of the median over repetitions, per case.", ""]
    for fam, md, tex, table in report.tables:
        out += [f"### {markdown_escape(fam, None)}", "",
                _md_link("Markdown", f"tables/{md.name}") + " · " + _md_link("LaTeX (booktabs)", f"tables/{tex.name}"),
                "", "<details><summary>the table</summary>", "", to_markdown(table), "</details>", ""]
    if report.skipped:
        out += ["Not in the report: " + markdown_escape("; ".join(report.skipped), None), ""]
    out += ["## Environment", "", _md_link("Appendix (Markdown)", "environment.md") + " · "
            + _md_link("LaTeX", "environment.tex"), ""]
    diff = [t for t in env_tables if t.caption.startswith("Settings that differ")]
    if diff:
        out.append(f"{len(diff[0].rows)} setting{'s' if len(diff[0].rows) != 1 else ''} differ between the runs "
                   "(listed first in the appendix).")
    out += [f"- {markdown_escape(n, None)}" for n in env_notes]
    return "\n".join(out) + "\n"
