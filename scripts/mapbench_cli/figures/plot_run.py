"""`mapbench plot`'s driver: load the runs, choose each family's figures (figures/plot.py), save
them with the family summaries; an interleaved run's arms apart (data/arms.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from mapbench_cli.data.runs import BadInput, Results, describe_not_plotted, load_runs
from mapbench_cli.figures.plot import Context, _repetitions_text, _run_note, family_figures, family_summary, ordered
from mapbench_cli.text.words import clean, file_part, show


def default_out_dir(paths: Sequence[str]) -> Path:
    first = Path(paths[0])
    folder = first if first.is_dir() else first.parent
    return folder / "plots"


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"{show(out)}: cannot create the output folder: {e.strerror or e}") from None


def _plot_families(results: Results, out: Path, figures, say) -> None:
    """Every family's figures and summary of `results`, into `out`."""
    frame, ok = results.frame, results.ok
    _make_folder(out)
    ctx = Context(ok=ok, run_note=_run_note(results), figures=figures, frame=frame, series=results.series)
    for family in ordered(frame["family"]):
        rows = ok[ok["family"] == family]
        skipped = describe_not_plotted(results.not_plotted(frame[frame["family"] == family]))
        if rows.empty:
            say(f"{clean(family)}: nothing plotted, {skipped}")
            continue
        made = family_figures(family, rows, ctx)
        for stem, fig in made:
            try:
                for path in figures.save(fig, out, stem):
                    say(str(path))
            except OSError as e:
                raise BadInput(f"{show(out)}: cannot write figures: {e.strerror or e}") from None
        summary = family_summary(family, rows, ctx)
        if summary is not None:
            path = out / f"{file_part(summary.stem)}.md"
            try:
                path.write_text(summary.markdown, encoding="utf-8")
            except OSError as e:
                raise BadInput(f"{show(out)}: cannot write {path.name}: {e.strerror or e}") from None
            say(str(path))
            for text in summary.lines:
                say(text)
        cases = rows.groupby(["name", "threads"], dropna=False).ngroups
        line = (f"{clean(family)}: {cases} case{'s' if cases != 1 else ''} from {len(rows)} ok rows "
                f"({_repetitions_text(rows)}), {len(made)} figure{'s' if len(made) != 1 else ''}")
        say(line + (f"; {skipped}" if skipped else ""))


def plot_command(paths: Sequence[str], out_dir: Optional[str], say=print, warn=None) -> int:
    results = load_runs(paths, series=True)
    if results.ok.empty:
        raise BadInput(f"nothing to plot: no row has status ok; {describe_not_plotted(results.not_plotted())}")
    out = Path(out_dir) if out_dir else default_out_dir(paths)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{show(out)}: exists and is not a folder; give --out a folder")
    _make_folder(out)
    for w in results.warnings:  # only once the input is usable: a refusal stays one line
        if warn:
            warn(w)
    if len(results.runs) > 1:
        say(f"{len(results.runs)} runs concatenated: repetitions of the same case are pooled")

    from mapbench_cli.data.arms import by_arm
    from mapbench_cli.figures import base as figures  # late: matplotlib is only needed once the input is good
    parts = by_arm(results)
    if len(parts) > 1:
        say(f"interleaved run: one set of figures per value, in {show(out)}/<arm>/ "
            "(`compare RUN` tests the arms in pairs)")
    for label, part in parts:
        _plot_families(part, out / file_part(label) if label else out, figures, say)
    return 0
