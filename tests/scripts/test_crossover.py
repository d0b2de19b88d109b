"""The crossover family's analysis side (scripts/mapbench_cli/{stats,text,figures}/crossover*.py) and
series.csv (runs.load_series): ratios, where the crossover falls, the words, the figures,
and the refusal of malformed series. Run folders are built in code (crossover_fixture.py)
with throughputs chosen so every answer is known in advance, plus one cut from a real
quick run (fixtures/families/crossover). Behaviour only: never a timing."""

import shutil

import numpy as np
import pandas as pd
import pytest

import crossover_fixture as cf
from conftest import FIXTURES, run_launcher
from mapbench_cli import cli
from mapbench_cli.figures import crossover as fx
from mapbench_cli.figures import base as figures
from mapbench_cli.figures import plot
from mapbench_cli.stats import summary as stats
from mapbench_cli.figures import crossover_analysis as xa
from mapbench_cli.stats import crossover as xstats
from mapbench_cli.stats.crossover import MMAP, PREAD, TOO_FEW, UNCLEAR
from mapbench_cli.text import crossover as xtext
from mapbench_cli.data.runs import load_runs

REAL = FIXTURES / "families" / "crossover"


def _context(results):
    return plot.Context(ok=results.ok, run_note=plot._run_note(results), figures=figures, frame=results.frame,
                        series=results.series)


def _analyse(folder):
    results = load_runs([folder], series=True)
    rows = results.ok[results.ok["family"] == "crossover"]
    return results, rows, xa.analyse(rows, _context(results))


def _cell(analysis, pattern="random", advice="none", readers=1, x=1.0):
    return next(c for cells in analysis.cells.values() for c in cells
                if (c.pattern, c.advice, c.readers, c.x) == (pattern, advice, readers, x))


def _finding(analysis, pattern="random", advice="none", readers=1):
    return next(f for f in analysis.findings if (f.pattern, f.advice, f.readers) == (pattern, advice, readers))


def _close(made):
    for _, fig in made:
        figures.plt.close(fig)


# --- the ratio of one cell --------------------------------------------------------------------

def test_ratio_is_the_ratio_of_medians_and_its_interval_holds_it():
    pread = [np.array([100.0, 101, 99, 100, 102])]
    mmap = [np.array([200.0, 198, 203, 201, 199])]
    r = xstats.ratio_of(pread, mmap, "a cell")
    assert r.ratio == pytest.approx(200 / 100) and r.pread_median == 100 and r.mmap_median == 200
    assert r.low <= r.ratio <= r.high and r.low > 1
    assert (r.unit, r.n_pread, r.n_mmap, r.verdict) == (stats.REPETITION, 5, 5, MMAP)
    assert xstats.ratio_of(pread, mmap, "a cell") == r, "seeded: the same input gives the same interval"
    slower = xstats.ratio_of(mmap, pread, "other")
    assert slower.ratio == pytest.approx(100 / 200) and slower.high < 1 and slower.verdict == PREAD


def test_processes_are_the_unit_when_each_side_has_several():
    pread = [np.array([100.0, 100, 100]), np.array([110.0, 110, 110]), np.array([90.0, 90, 90])]
    mmap = [np.array([150.0, 150, 150]), np.array([160.0, 160, 160])]
    r = xstats.ratio_of(pread, mmap, "cell")
    assert (r.unit, r.n_pread, r.n_mmap) == (stats.PROCESS, 3, 2)
    assert r.verdict == TOO_FEW, "two processes on one side: too few units to call a side"


@pytest.mark.parametrize("low, high, n, verdict", [
    (1.1, 1.5, 5, MMAP), (0.5, 0.9, 5, PREAD), (0.9, 1.2, 5, UNCLEAR), (1.0, 1.3, 5, UNCLEAR),
    (1.5, 2.0, 2, TOO_FEW)])
def test_a_side_leads_only_when_the_interval_excludes_one(low, high, n, verdict):
    assert xstats.verdict_of(low, high, n, 5) == verdict


def test_cells_use_the_steady_state_medians_of_ok_rows(tmp_path):
    rows = cf.make_rows(spread=0.05)
    rows[0]["status"] = "error"                # a pread row at ratio 0.25, 1 reader ...
    rows[0]["steady_bytes_per_second"] = "1"   # ... whose number must not count
    rows[0]["message"] = "case crashed: SIGBUS"
    results, ok, analysis = _analyse(cf.write_run(tmp_path / "run", rows))
    for x in cf.RATIOS:
        for readers in (1, 2):
            part = ok[(ok["file_to_limit"] == x) & (ok["readers"].astype(float) == readers)]
            pread = part.loc[part["method"] == "pread", "steady_bytes_per_second"].median()
            mmap = part.loc[(part["method"] == "mmap") & (part["advice"] == "random"), "steady_bytes_per_second"]
            cell = _cell(analysis, advice="random", readers=readers, x=x)
            assert cell.ratio.ratio == pytest.approx(mmap.median() / pread)
    assert _cell(analysis, x=0.25).ratio.n_pread == 4, "the error row is left out"
    assert analysis.excluded_count == "1 row not plotted (1 error)"
    assert any("case crashed" in n for n in analysis.excluded_notes)
    lines = "\n".join(xa.summary_lines(analysis))
    assert "left out: 1 row not plotted (1 error)" in lines and "case crashed" in lines


def test_not_effective_rows_are_left_out_with_the_failed_claim(tmp_path):
    rows = cf.make_rows()
    bad = [r for r in rows if r["method"] == "mmap" and r["file_to_limit"] == "2" and r["readers"] == 1][:2]
    for r in bad:
        r["status"], r["config_ok"] = "not_effective", 0
        r["config_note"] = r["config_note"].replace("4096 pages evicted", "0 pages evicted")
        r["steady_bytes_per_second"] = "1e12"
    _, _, analysis = _analyse(cf.write_run(tmp_path / "run", rows))
    assert analysis.excluded_count == "2 rows not plotted (2 not_effective)"
    assert any("no eviction although the file is larger than the limit" in n for n in analysis.excluded_notes)
    assert _cell(analysis, x=2.0).ratio.ratio < 1, "the not-effective rows' numbers are not in the ratio"


def test_mmap_and_pread_are_paired_only_within_one_run(tmp_path):
    rows = cf.make_rows(readers=(1,))
    for r in rows:
        if r["method"] == "mmap" and r["file_to_limit"] == "4":
            r["run_id"] = "another-run"
    _, _, analysis = _analyse(cf.write_run(tmp_path / "run", rows))
    cell = _cell(analysis, x=4.0)
    assert cell.ratio is None and cell.missing == "not in one run"
    assert "not in one run" in "\n".join(xa.summary_lines(analysis))


def test_without_steady_state_the_whole_span_is_used_and_said(tmp_path):
    rows = cf.make_rows(readers=(1,))
    header = [c for c in cf.HEADER if c != "steady_bytes_per_second"]
    folder = tmp_path / "run"
    cf.write_run(folder, rows)
    frame = pd.read_csv(folder / "results.csv")[header]
    frame.to_csv(folder / "results.csv", index=False)
    _, _, analysis = _analyse(folder)
    assert analysis.metric == "bytes_per_second"
    assert any("no steady_bytes_per_second" in n for n in analysis.notes)


# --- where the crossover falls ---------------------------------------------------------------

def _points(*verdicts, xs=cf.RATIOS):
    values = {MMAP: (2.0, 1.6, 2.4), PREAD: (0.5, 0.4, 0.6), UNCLEAR: (0.95, 0.8, 1.1), TOO_FEW: (3.0, 3.0, 3.0)}
    out = []
    for x, v in zip(xs, verdicts):
        ratio, low, high = values[v]
        out.append(xstats.Point(x, xstats.Ratio(ratio, low, high, stats.REPETITION, 5, 5, 1.0, ratio, v)))
    return out


def _words(*verdicts):
    crossover = xstats.find_crossover(_points(*verdicts))
    return crossover.kind, xtext.describe(crossover, "mmap with MADV_RANDOM", "random 4 KiB reads", "with 2 readers")


def test_crossover_mmap_then_pread():
    kind, text = _words(MMAP, MMAP, PREAD, PREAD, PREAD)
    assert kind == "crossover"
    assert text == ("mmap with MADV_RANDOM beats pread for random 4 KiB reads up to a file/limit ratio of 0.5 with "
                    "2 readers (ratio 2.00×, 95% CI 1.60–2.40); beyond it pread leads (at 1: ratio 0.50×, "
                    "95% CI 0.40–0.60).")


def test_crossover_with_no_clear_winner_at_the_switch():
    kind, text = _words(MMAP, MMAP, UNCLEAR, PREAD, PREAD)
    assert kind == "crossover"
    assert "up to a file/limit ratio of 0.5" in text
    assert "no clear winner at 1; from 2 on pread leads (ratio 0.50×, 95% CI 0.40–0.60)" in text


def test_mmap_always_ahead():
    kind, text = _words(MMAP, MMAP, MMAP, MMAP, MMAP)
    assert kind == "mmap_always"
    assert text.startswith("mmap with MADV_RANDOM beats pread for random 4 KiB reads with 2 readers at every "
                           "file/limit ratio measured (0.25–4)")
    assert "pread leads" not in text


def test_pread_always_ahead():
    kind, text = _words(PREAD, PREAD, PREAD, PREAD, PREAD)
    assert kind == "pread_always"
    assert text.startswith("pread beats mmap with MADV_RANDOM for random 4 KiB reads with 2 readers at every")


def test_interval_straddling_one_everywhere_is_no_clear_winner():
    kind, text = _words(UNCLEAR, UNCLEAR, UNCLEAR, UNCLEAR, UNCLEAR)
    assert kind == "unclear"
    assert text.startswith("No clear winner between mmap with MADV_RANDOM and pread") and "includes 1" in text
    kind, text = _words(TOO_FEW, TOO_FEW, TOO_FEW, TOO_FEW, TOO_FEW)
    assert kind == "unclear" and "fewer than 3 samples per side" in text


def test_a_lead_then_no_clear_winner_is_partial():
    kind, text = _words(MMAP, MMAP, UNCLEAR, UNCLEAR, UNCLEAR)
    assert kind == "partial"
    assert "mmap leads up to a file/limit ratio of 0.5" in text and "no clear winner from 1 on" in text
    assert "pread leads" not in text


def test_pread_first_then_mmap_is_a_reverse_crossover():
    kind, text = _words(PREAD, PREAD, MMAP, MMAP, MMAP)
    assert kind == "reverse"
    assert text.startswith("pread beats mmap with MADV_RANDOM for random 4 KiB reads up to a file/limit ratio of 0.5")
    assert "beyond it mmap leads" in text


def test_a_lead_that_changes_twice_is_no_single_crossover():
    kind, text = _words(MMAP, PREAD, MMAP, MMAP, MMAP)
    assert kind == "mixed" and "no single crossover" in text


def test_the_crossover_found_in_a_run(tmp_path):
    """The default model: MADV_RANDOM holds on up to 1, no hint only up to 0.5; at ratio 1 a
    no-hint cell is made noisy enough that its interval includes 1."""
    def model(method, advice, pattern, ratio, readers):
        return cf.default_model(method, advice, pattern, ratio, readers)

    rows = cf.make_rows(model, readers=(1, 2))
    # No hint at ratio 1 with 2 readers: throughputs spread across pread's.
    noisy = [r for r in rows if (r["method"], r["advice"], r["file_to_limit"], r["readers"]) == ("mmap", "none", "1", 2)]
    for r, v in zip(noisy, (1.0e9, 3.5e9, 1.2e9, 3.0e9, 2.0e9)):
        r["steady_bytes_per_second"] = f"{v:g}"
    _, _, analysis = _analyse(cf.write_run(tmp_path / "run", rows))
    assert _finding(analysis, advice="random", readers=1).crossover.kind == "crossover"
    assert "up to a file/limit ratio of 1 with 1 reader" in _finding(analysis, advice="random", readers=1).sentence
    assert "up to a file/limit ratio of 0.5 with 1 reader" in _finding(analysis, advice="none", readers=1).sentence
    noisy_cell = _cell(analysis, advice="none", readers=2, x=1.0)
    assert noisy_cell.ratio.low < 1 < noisy_cell.ratio.high and noisy_cell.ratio.verdict == UNCLEAR
    assert "no clear winner at 1" in _finding(analysis, advice="none", readers=2).sentence
    # The condensed lines: readers with the same crossover share one sentence.
    lines = xa.summary_lines(analysis)
    assert any("MADV_RANDOM beats pread for random 4 KiB reads up to a file/limit ratio of 1 with 1 and 2 readers"
               in line for line in lines)
    markdown = xa.summary_markdown(analysis)
    assert "Per reader count:" in markdown and "| random | 2 | 1 | 128 MiB | no hint |" in markdown


def test_storage_baselines_are_compared_with_pread_and_named_as_leaders(tmp_path):
    """O_DIRECT and io_uring rows (benchmarks/crossover.cc) get cells of their own beside
    mmap's hints, and the words name them, not mmap, when they lead or trail."""
    def model(method, advice, pattern, ratio, readers):
        if method == "odirect_pread":
            return 7e7                         # the device: behind a cached pread, ahead once pread thrashes
        if method == "io_uring_odirect_qd32":
            return None if ratio != 4.0 else 1.1e8
        return cf.default_model(method, advice, pattern, ratio, readers)

    rows = cf.make_rows(model, readers=(1,), baselines=("odirect_pread", "io_uring_odirect_qd32"))
    results, ok, analysis = _analyse(cf.write_run(tmp_path / "run", rows))
    direct = _finding(analysis, advice="odirect_pread")
    assert direct.crossover.kind == "reverse"      # pread ahead while cached, O_DIRECT once the file is 2x+
    assert direct.sentence.startswith("pread beats pread with O_DIRECT for random 4 KiB reads")
    assert "up to a file/limit ratio of 2" in direct.sentence and "beyond it O_DIRECT pread leads" in direct.sentence
    assert "mmap" not in direct.sentence
    qd32 = _cell(analysis, advice="io_uring_odirect_qd32", x=4.0)
    assert qd32.ratio.verdict == MMAP and qd32.ratio.ratio == pytest.approx(1.1e8 / (2e8 / 4), rel=0.05)
    # A baseline not run at a ratio (the quick suite runs them at 4x only) is no "not run" cell.
    assert not [c for cells in analysis.cells.values() for c in cells
                if c.advice == "io_uring_odirect_qd32" and c.x != 4.0]
    assert "not compared" not in "\n".join(xa.summary_lines(analysis))
    lines = "\n".join(xa.summary_lines(analysis))
    assert "io_uring with O_DIRECT at depth 32 beats pread" in lines
    markdown = xa.summary_markdown(analysis)
    assert "| vs pread | ratio to pread |" in markdown
    assert "| random | 1 | 4 | 32 MiB | io_uring O_DIRECT QD32 | 2.20× |" in markdown
    direct_row = next(line for line in markdown.splitlines() if line.startswith("| random | 1 | 4 | 32 MiB | O_DIRECT pread |"))
    assert direct_row.endswith("| O_DIRECT pread |")   # the leader column names it
    made, covered = fx.crossover_figures(ok, _context(results))
    assert len(covered) == len(ok)                 # every row placed, none "unusable"
    titles = [ax.get_title() for _, fig in made for ax in fig.axes]
    assert any("O_DIRECT pread vs pread" in t for t in titles)
    assert any("io_uring O_DIRECT QD32 vs pread" in t for t in titles)
    legend = [t.get_text() for _, fig in made for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    legend += [t.get_text() for _, fig in made for leg in fig.legends for t in leg.get_texts()]
    assert "O_DIRECT pread" in legend       # the time figure's line for it
    _close(made)


def test_groups_follow_the_size_that_stays_fixed(tmp_path):
    """A run with two file sizes (the limit follows the ratio) draws one map per file size."""
    rows = cf.make_rows(readers=(1,)) + cf.make_rows(readers=(1,), file_mib=1024)
    results, ok, analysis = _analyse(cf.write_run(tmp_path / "run", rows, series=False))
    assert [g.label for g in analysis.groups] == [
        "128 MiB file, memory limit 512 MiB … 32 MiB, 4 KiB reads",
        "1 GiB file, memory limit 4 GiB … 256 MiB, 4 KiB reads"]
    made, covered = fx.crossover_figures(ok, _context(results))
    assert [stem for stem, _ in made] == ["crossover-map-block_kib_4-file_mib_128",
                                          "crossover-ratio-block_kib_4-file_mib_128",
                                          "crossover-map-block_kib_4-file_mib_1024",
                                          "crossover-ratio-block_kib_4-file_mib_1024"]
    assert set(covered) == set(ok.index)
    _close(made)


# --- figures ----------------------------------------------------------------------------------

def test_the_map_is_centred_on_one_annotated_and_shows_the_boundary(tmp_path):
    results, ok, analysis = _analyse(cf.write_run(tmp_path / "run", cf.make_rows()))
    made, _ = fx.crossover_figures(ok, _context(results))
    fig = dict(made)["crossover-map"]
    heat = [ax for ax in fig.axes if ax.get_title() == "random reads · mmap MADV_RANDOM vs pread"][0]
    mesh = heat.collections[0]
    assert mesh.norm.vmin * mesh.norm.vmax == pytest.approx(1.0), "diverging scale centred on 1 (log)"
    assert isinstance(mesh.norm, figures.mcolors.LogNorm)
    texts = [t.get_text() for t in heat.texts]
    expected = xtext.times(_cell(analysis, advice="random", readers=2, x=1.0).ratio.ratio)
    assert expected in texts
    # The boundary: MADV_RANDOM leads up to 1 and falls behind at 2: a thick line at x=3 (between columns 2 and 3).
    thick = [line for line in heat.lines if line.get_linewidth() > 2]
    assert thick and all(set(line.get_xdata()) == {3} for line in thick)
    assert heat.get_ylabel() == "reader threads" and "memory limit" in heat.get_xlabel()
    assert fig.mapbench_title.startswith("crossover: is mmap faster than pread?")
    _close(made)


def test_the_ratio_lines_carry_the_intervals_and_hollow_points_where_unclear(tmp_path):
    rows = cf.make_rows(readers=(1,))
    for r, v in zip([r for r in rows if (r["method"], r["advice"], r["file_to_limit"]) == ("mmap", "none", "1")],
                    (1.0e9, 3.5e9, 1.2e9, 3.0e9, 2.0e9)):
        r["steady_bytes_per_second"] = f"{v:g}"
    results, ok, analysis = _analyse(cf.write_run(tmp_path / "run", rows))
    made, _ = fx.crossover_figures(ok, _context(results))
    ax = [a for a in dict(made)["crossover-ratio"].axes if a.get_title() == "random reads · mmap no hint vs pread"][0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    hollow = [line for line in ax.lines if line.get_marker() == "o" and line.get_markerfacecolor() == "white"]
    assert [line.get_xdata()[0] for line in hollow] == [1.0]
    cell = _cell(analysis, x=1.0)
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    assert any(seg[0][0] == 1.0 and sorted([seg[0][1], seg[1][1]]) == pytest.approx([cell.ratio.low, cell.ratio.high])
               for seg in segments)
    _close(made)


def test_time_curves_are_the_median_of_the_repetitions_per_bucket(tmp_path):
    results, ok, analysis = _analyse(cf.write_run(tmp_path / "run", cf.make_rows(readers=(1,))))
    part = analysis.used[(analysis.used["file_to_limit"] == 2) & (analysis.used["readers"] == 1)]
    curves = fx.time_curves(results.series, part)
    pread = curves[curves["method"] == "pread"].sort_values("bucket")
    assert len(pread) == 20 and (pread["n"] == 5).all()
    steady = part.loc[part["method"] == "pread", "steady_bytes_per_second"]
    assert pread["median"].iloc[-1] == pytest.approx(steady.median())
    assert pread["low"].iloc[-1] == pytest.approx(steady.min()) and pread["high"].iloc[-1] == pytest.approx(steady.max())
    made, _ = fx.crossover_figures(ok, _context(results))
    fig = dict(made)["crossover-time-random"]
    titles = sorted(ax.get_title() for ax in fig.axes)
    assert titles == ["file/limit 2 (limit 64 MiB), 1 reader", "file/limit 4 (limit 32 MiB), 1 reader"]
    ax = fig.axes[0]
    marks = {line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"}
    assert marks == {0.3, 0.5}, "eviction start of pread (0.3 s) and of mmap (0.5 s)"
    assert fig.axes[-1].get_xlabel() == "time since reading began (s)" and "(MiB/s)" in ax.get_ylabel()
    _close(made)


def test_no_series_csv_means_no_time_figure_and_nothing_breaks(tmp_path):
    results, ok, analysis = _analyse(cf.write_run(tmp_path / "run", cf.make_rows(readers=(1,)), series=False))
    assert results.series.empty and list(results.series.columns) == ["schema_version", "run_id", "family", "name",
                                                                      "process", "repetition", "t_s", "series",
                                                                      "value"]
    made, _ = fx.crossover_figures(ok, _context(results))
    assert [stem for stem, _ in made] == ["crossover-map", "crossover-ratio"]
    _close(made)


def test_paper_layout_fits_the_columns(tmp_path):
    results, ok, _ = _analyse(cf.write_run(tmp_path / "run", cf.make_rows()))
    with figures.use_layout(figures.PAPER):
        made, _ = fx.crossover_figures(ok, _context(results))
        for stem, fig in made:
            assert fig.get_figwidth() in (pytest.approx(3.5), pytest.approx(7.0)), stem
            assert fig.mapbench_notes and not any(t.get_text() in fig.mapbench_notes for t in fig.texts)
    _close(made)


def test_only_rows_that_are_not_ok_give_a_note_and_no_crash(tmp_path):
    rows = cf.make_rows(readers=(1,))
    for r in rows:
        r.update(status="skipped", valid="", steady_bytes_per_second="", bytes_per_second="",
                 message="making a memory cgroup needs root: mkdir(/sys/fs/cgroup/memory/mapbench-7/case): "
                         "Permission denied")
    results = load_runs([cf.write_run(tmp_path / "run", rows, series=False)], series=True)
    frame = results.frame
    ctx = plot.Context(ok=frame.iloc[0:0], run_note="run: fixture", figures=figures, frame=frame)
    made, covered = fx.crossover_figures(frame, ctx)
    assert [stem for stem, _ in made] == ["crossover"]
    assert made[0][1].mapbench_title == "crossover: nothing measured"
    assert any("needs root" in n for n in made[0][1].mapbench_notes)
    assert set(covered) == set(frame.index)
    _close(made)


# --- the real quick run -----------------------------------------------------------------------

def test_a_real_quick_run_plots_and_summarises(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(REAL, run)
    result = run_launcher("plot", run)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and not result.stderr.strip()
    plots = run / "plots"
    for stem in ("crossover-map", "crossover-ratio", "crossover-time-random"):
        assert (plots / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (plots / f"{stem}.svg").read_bytes()[:2000]
    summary = (plots / "crossover-summary.md").read_text()
    assert summary.startswith("# crossover: is mmap faster than pread?")
    out = result.stdout
    assert str(plots / "crossover-summary.md") in out
    assert "mmap without a hint beats pread for random 4 KiB reads up to a file/limit ratio of 0.5 with 1 reader" in out
    # The rows the harness marked not_effective are left out and counted, with why.
    assert "left out: 3 rows not plotted (3 not_effective)" in out
    assert "no eviction although the file is larger than the limit" in out and "no eviction" in summary
    assert out.rstrip().splitlines()[-1].startswith("crossover: 15 cases from 57 ok rows")


def test_report_includes_the_summary(tmp_path):
    out = tmp_path / "paper"
    assert cli.main(["report", str(REAL), "--out", str(out)]) == 0
    index = (out / "index.md").read_text()
    assert "## Findings" in index and "### crossover: is mmap faster than pread?" in index
    assert "beats pread for random 4 KiB reads up to a file/limit ratio of 0.5" in index
    assert "(crossover-summary.md)" in index and (out / "crossover-summary.md").is_file()
    for stem in ("crossover-map", "crossover-ratio", "crossover-time-random"):
        assert (out / "figures" / f"{stem}.pdf").is_file()


@pytest.mark.parametrize("ratio, note, reason", [
    (2, "0.0% resident after eviction; cgroup v1 limit 64 MiB, 0 MiB in use before the fill; 0 pages evicted "
        "while reading", "no eviction although the file is larger than the limit"),
    (2, "0.0% resident after eviction; cgroup v1 limit 64 MiB, 0 MiB in use before the fill; 12 pages evicted "
        "while reading", "only 12 pages evicted although the file is larger than the limit"),
    (0.25, "0.0% resident after eviction; cgroup v2 limit 512 MiB, 0 MiB in use before the fill; 9000 pages "
           "evicted while reading", "9000 pages evicted although the file fits in half the limit"),
    (2, "37.5% resident after eviction; cgroup v1 limit 64 MiB, 0 MiB in use before the fill; 0 pages evicted "
        "while reading", "the file was not cold at the start"),
    (1, "0.0% resident after eviction; cgroup v1 limit 128 MiB, 0 MiB in use before the fill; 5 pages evicted "
        "while reading; series not written: write(series.csv): No space left on device", "series.csv not written"),
])
def test_why_a_row_is_not_effective(ratio, note, reason):
    assert xa.why_not_effective({"file_to_limit": ratio, "config_note": note}) == reason
