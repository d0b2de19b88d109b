"""`mapbench report RUN_DIR... --out DIR`: what goes in the paper, from one command.

Figures through figures/plot.py's choice of figure, drawn in the paper layout; tables, the
environment appendix and index.md through text/report.py (its docstring lists the files).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional, Sequence

from mapbench_cli.data.files import BadInput
from mapbench_cli.text.words import clean, file_part, show


def add_parser(commands) -> None:
    report = commands.add_parser(
        "report", help="paper-ready figures (PDF, SVG, PNG), tables (Markdown, LaTeX) and an environment appendix",
        description="One figure per family comparison in PDF, SVG and PNG sized for a two-column paper, tables "
                    "of medians with confidence intervals in Markdown and LaTeX (booktabs), an environment "
                    "appendix, and an index.md linking it all. Several runs are pooled per case.")
    report.add_argument("runs", nargs="+", metavar="RUN_DIR")
    report.add_argument("--out", required=True, metavar="DIR", help="folder for the report")
    report.add_argument("--by", choices=("host", "kernel_release", "machine_class"),
                        help="the machines side by side: per family also a table with one column per host (kernel, "
                             "machine class), and the settings that differ between them (e.g. a merged dataset)")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    return report_command(args.runs, args.out, say=say, warn=warn, by=args.by)


def report_command(paths: Sequence[str], out_dir: str, say: Callable[[str], None] = print,
                   warn: Optional[Callable[[str], None]] = None, by: Optional[str] = None) -> int:
    from mapbench_cli.data import environment  # late: pandas
    from mapbench_cli.data.runs import describe_not_plotted, load_runs
    from mapbench_cli.text.tables import markdown_escape
    results = load_runs(paths, series=True)
    ok = results.ok
    if ok.empty:
        raise BadInput(f"nothing to report: no row has status ok; {describe_not_plotted(results.not_plotted())}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{show(out)}: exists and is not a folder; give --out a folder")
    warnings = list(results.warnings)
    envs = [r.environment for r in results.runs]
    watched = sorted(k for k in environment.differences(envs) if environment.watched_label(k)) if len(envs) > 1 else []
    if watched:
        text = (f"the runs differ in {', '.join(watched[:5])}{' …' if len(watched) > 5 else ''}: their repetitions "
                "are pooled in every figure and table; report one configuration at a time, or compare them "
                "with `mapbench compare` / `mapbench matrix`")
        if by:
            text = (f"the runs differ in {', '.join(watched[:5])}{' …' if len(watched) > 5 else ''}: the figures and "
                    f"the pooled tables mix them; the tables by {by} keep each {by} apart")
        warnings.append(text)
    for w in warnings:
        if warn:
            warn(w)

    from mapbench_cli.data.arms import by_arm
    parts = by_arm(results)
    if len(parts) == 1:
        return _write_report(results, out, warnings, say, by)
    _make_folders(out)
    lines = ["# mapbench report: an interleaved run, one report per value", ""]
    for label, part in parts:
        _write_report(part, out / file_part(label), warnings, say, by)
        lines.append(f"- [{markdown_escape(label, None)}]({file_part(label)}/index.md)")
    lines += ["", "`mapbench compare RUN` tests the values against each other, in pairs."]
    try:
        (out / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as e:
        raise BadInput(f"{show(out)}: cannot write the report: {e.strerror or e}") from None
    say(f"report: {out / 'index.md'} ({len(parts)} reports, one per value)")
    return 0


def _make_folders(*folders: Path) -> None:
    try:
        for sub in folders:
            sub.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"{show(folders[0])}: cannot create the report folder: {e.strerror or e}") from None


def _write_report(results, out: Path, warnings: Sequence[str], say: Callable[[str], None],
                  by: Optional[str] = None) -> int:
    """The report of `results` in `out`: figures, tables (also one per family by `by`), environment, index.md."""
    from mapbench_cli.data.runs import describe_not_plotted
    from mapbench_cli.text import report_by
    by_values = report_by.values_of(results.frame, by) if by else []
    from mapbench_cli.figures import base as figures  # late: matplotlib is only needed once the input is good
    from mapbench_cli.figures import plot
    from mapbench_cli.text.report import (FIGURE_FORMATS, PNG_DPI, FigureEntry, Report, environment_tables,
                                          family_table, figures_tex, index_markdown)
    from mapbench_cli.text.tables import latex_escape, markdown_escape, to_latex, to_markdown
    _make_folders(out, out / "figures", out / "tables")
    report = Report(out)
    report.warnings += warnings
    ok = results.ok
    ctx = plot.Context(ok=ok, run_note=plot._run_note(results), figures=figures, frame=results.frame,
                       series=results.series)
    try:
        with figures.use_layout(figures.PAPER):
            for family in plot.ordered(results.frame["family"]):
                rows = ok[ok["family"] == family]
                if rows.empty:
                    report.skipped.append(f"{clean(family)}: "
                                          + describe_not_plotted(results.not_plotted(
                                              results.frame[results.frame["family"] == family])))
                    continue
                for stem, fig in plot.family_figures(family, rows, ctx):
                    entry = FigureEntry(family, stem, getattr(fig, "mapbench_title", ""),
                                        list(getattr(fig, "mapbench_notes", [])), fig.get_figwidth(),
                                        fig.get_figheight(), [])
                    entry.files = figures.save(fig, out / "figures", stem, FIGURE_FORMATS, dpi=PNG_DPI)
                    report.figures.append(entry)
                    say(f"{out / 'figures' / stem}.{{pdf,svg,png}} ({entry.width:g} in wide)")
                summary = plot.family_summary(family, rows, ctx)
                if summary is not None:
                    path = out / f"{file_part(summary.stem)}.md"
                    path.write_text(summary.markdown, encoding="utf-8")
                    report.summaries.append((family, path, summary.markdown))
                    say(str(path))
                table = family_table(family, rows)
                md, tex = out / "tables" / f"{file_part(family)}.md", out / "tables" / f"{file_part(family)}.tex"
                md.write_text(to_markdown(table), encoding="utf-8")
                tex.write_text(to_latex(table), encoding="utf-8")
                report.tables.append((family, md, tex, table))
                say(f"{md} and .tex ({len(table.rows)} cases)")
                if by:
                    table = report_by.family_table_by(family, rows, by, by_values)
                    stem = f"{file_part(family)}-by-{by}"
                    md, tex = out / "tables" / f"{stem}.md", out / "tables" / f"{stem}.tex"
                    md.write_text(to_markdown(table), encoding="utf-8")
                    tex.write_text(to_latex(table), encoding="utf-8")
                    report.tables.append((f"{family} by {by}", md, tex, table))
                    say(f"{md} and .tex ({len(table.rows)} cases x {len(by_values)} {by} values)")
        env_tables, env_notes = environment_tables(results)
        if by:
            by_env = report_by.environment_by(results, by, by_values)
            if by_env is not None:
                env_tables.insert(1, by_env)
        (out / "environment.md").write_text(
            "# Environment\n\n" + "\n".join(to_markdown(t) for t in env_tables)
            + "".join(f"\n- {markdown_escape(n, None)}" for n in env_notes) + "\n", encoding="utf-8")
        (out / "environment.tex").write_text(
            "% generated by mapbench report\n\\section*{Environment}\n"
            + "\n".join(to_latex(t, "table*") for t in env_tables)
            + "".join(f"\n{latex_escape(n)}\n" for n in env_notes), encoding="utf-8")
        (out / "figures.tex").write_text(figures_tex(report), encoding="utf-8")
        (out / "index.md").write_text(index_markdown(report, results, env_tables, env_notes), encoding="utf-8")
    except OSError as e:
        raise BadInput(f"{show(out)}: cannot write the report: {e.strerror or e}") from None
    say(f"report: {out / 'index.md'} ({len(report.figures)} figures, {len(report.tables)} tables)")
    return 0
