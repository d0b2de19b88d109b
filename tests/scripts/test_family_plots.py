"""The figures of the workload families (scripts/mapbench_cli/family_*.py), on fixture runs
cut from real quick-suite runs (tests/scripts/fixtures/families/README.md).

They check what each figure shows and says — which rows, which statistics, what stands in
for a row that did not run — never a timing.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES, run_launcher
from mapbench_cli.figures import common as fc
from mapbench_cli.figures import db_commit as family_db_commit
from mapbench_cli.figures import fault_signals as family_fault_signals
from mapbench_cli.figures import lifecycle_ipc as family_lifecycle_ipc
from mapbench_cli.figures import mapping_structures as family_mapping_structures
from mapbench_cli.figures import msync as family_msync
from mapbench_cli.figures import page_size as family_page_size
from mapbench_cli.figures import populate as family_populate
from mapbench_cli.figures import scaling as family_scaling
from mapbench_cli.figures import sharing as family_sharing
from mapbench_cli.figures import base as figures
from mapbench_cli.figures import plot
from mapbench_cli.stats import summary as stats
from mapbench_cli.data.runs import load_runs

FAMILIES = FIXTURES / "families"

STEMS = {
    "populate": ["populate"],
    "page_size": ["page_size-fault", "page_size-access"],
    "sharing": ["sharing", "sharing-fork"],
    "msync": ["msync", "msync-folios"],
    "scaling": ["scaling"],
    "lifecycle_ipc": ["lifecycle_ipc-lifecycle", "lifecycle_ipc-ipc"],
    "mapping_structures": ["mapping_structures-vmas", "mapping_structures-page_tables"],
    "db_commit": ["db_commit"],
    "fault_signals": ["fault_signals"],
}
FUNCTIONS = {
    "populate": family_populate.populate_figures,
    "page_size": family_page_size.page_size_figures,
    "sharing": family_sharing.sharing_figures,
    "msync": family_msync.msync_figures,
    "scaling": family_scaling.scaling_figures,
    "lifecycle_ipc": family_lifecycle_ipc.lifecycle_ipc_figures,
    "mapping_structures": family_mapping_structures.mapping_structures_figures,
    "db_commit": family_db_commit.db_commit_figures,
    "fault_signals": family_fault_signals.fault_signals_figures,
}


@dataclass
class FullContext(plot.Context):
    """plot.Context plus every row of the run (skipped, not_effective ...), as the family
    figures read it when the caller provides it."""
    frame: pd.DataFrame = None


def _load(name):
    results = load_runs([FAMILIES / name])
    return results


def _context(results, with_frame=True):
    args = dict(ok=results.ok, run_note=plot._run_note(results), figures=figures)
    return FullContext(frame=results.frame, **args) if with_frame else plot.Context(**args)


def _figures(name, family=None, with_frame=True):
    results = _load(name)
    family = family or name
    rows = results.ok[results.ok["family"] == family]
    made, covered = FUNCTIONS[family](rows, _context(results, with_frame))
    return results, rows, made, covered


_DRAWN = {}


def _drawn(name):
    """The screen figures of a fixture, drawn once for every test that only looks at them."""
    if name not in _DRAWN:
        _DRAWN[name] = _figures(name)
    return _DRAWN[name]


def _texts(fig):
    """Every text in the axes, a line break after 'status:' read as a space."""
    out = [t.get_text().replace(":\n", ": ") for ax in fig.axes for t in ax.texts]
    out += [ax.get_title() for ax in fig.axes]
    return out


def _close(made):
    for _, fig in made:
        figures.plt.close(fig)


@pytest.mark.parametrize("family", sorted(STEMS))
def test_each_family_writes_its_figures(family, tmp_path):
    results, rows, made, covered = _drawn(family)
    assert [stem for stem, _ in made] == STEMS[family]
    assert set(covered) == set(rows.index), "every ok row is placed in a family figure, none left to the generic one"
    for stem, fig in made:
        written = figures.save(fig, tmp_path, stem)
        png = tmp_path / f"{stem}.png"
        assert png in written and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (tmp_path / f"{stem}.svg").read_bytes()[:2000]
        assert fig.mapbench_title.startswith(family)
        assert any("error bars" in n or "error bar" in n for n in fig.mapbench_notes), stem


@pytest.mark.parametrize("family", sorted(STEMS))
def test_registered_in_plot_and_no_generic_figure_left(family):
    assert plot.SPECIFIC[family] is FUNCTIONS[family]
    results = _load(family)
    rows = results.ok[results.ok["family"] == family]
    made = plot.family_figures(family, rows, _context(results, with_frame=False))
    assert [stem for stem, _ in made] == STEMS[family]
    _close(made)


@pytest.mark.parametrize("family", sorted(STEMS))
def test_paper_layout_fits_the_columns(family):
    with figures.use_layout(figures.PAPER):
        _, _, made, _ = _figures(family)
        for stem, fig in made:
            assert fig.get_figwidth() in (pytest.approx(3.5), pytest.approx(7.0)), stem
            assert fig.get_figheight() < 9.5, stem
            assert fig.mapbench_notes and not any(t.get_text() in fig.mapbench_notes for t in fig.texts)
    _close(made)


def test_skipped_rows_are_counted_in_the_notes_and_stand_in_their_place():
    results, rows, made, _ = _drawn("page_size")
    fault = dict(made)["page_size-fault"]
    notes = " ".join(fault.mapbench_notes)
    skipped = results.frame[(results.frame["status"] == "skipped") & (results.frame["workload"] == "fault")]
    assert len(skipped) > 0
    hugetlb_2m = skipped[skipped["name"].str.contains("page_kib:2048/mechanism:hugetlb")]
    assert f"skipped: 2 cases ({len(hugetlb_2m)} rows), no free 2 MiB hugetlb pages" in notes
    assert "2 MiB hugetlb mmap" in notes and "1 GiB hugetlb memfd" in notes
    # In the place of the bars that did not run: a short reason, never an empty gap.
    texts = _texts(fault)
    assert texts.count("skipped: no hugetlb pages") == 2  # the 2 MiB mmap and memfd slots of the 64 MiB panel
    assert "skipped: THP size off" in texts and "skipped: shmem THP off" in texts
    # The seq_read / chase skips are counted in the access figure, not in the fault one.
    access = dict(made)["page_size-access"]
    assert "seq_read 2 MiB hugetlb mmap" in " ".join(access.mapbench_notes)
    assert "seq_read" not in notes


def test_without_the_full_frame_the_figure_says_rows_were_not_shown():
    _, _, made, _ = _figures("page_size", with_frame=False)
    notes = " ".join(dict(made)["page_size-fault"].mapbench_notes)
    assert "were not passed to this figure" in notes
    assert "no free 2 MiB hugetlb pages" not in notes
    _close(made)


@pytest.mark.parametrize("family", sorted(STEMS))
def test_only_skipped_rows_give_a_clear_note_and_no_crash(family):
    results = _load("page_size_skipped")
    frame = results.frame.assign(family=family)
    rows = frame  # every row skipped: nothing ok
    ctx = FullContext(ok=frame.iloc[0:0], run_note="run: fixture", figures=figures, frame=frame)
    made, covered = FUNCTIONS[family](rows, ctx)
    assert [stem for stem, _ in made] == [family]
    fig = made[0][1]
    assert fig.mapbench_title == f"{family}: nothing measured"
    shown = " ".join(_texts(fig))
    assert f"nothing measured: {len(frame)} rows not plotted ({len(frame)} skipped)" in shown
    assert any("no free 2 MiB hugetlb pages" in n for n in fig.mapbench_notes)
    assert set(covered) == set(rows.index)
    _close(made)


def test_only_skipped_rows_through_the_cli_is_one_line_and_exit_2():
    result = run_launcher("plot", FAMILIES / "page_size_skipped", "--out", FAMILIES / "never-written")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "skipped" in result.stderr
    assert not (FAMILIES / "never-written").exists()


def test_rows_not_backed_as_claimed_are_hatched_with_their_backing():
    results, rows, made, covered = _figures("page_size_not_backed", family="page_size")
    fault = dict(made)["page_size-fault"]
    texts = _texts(fault)
    assert any(t.startswith("62% backed") for t in texts)
    assert any("less than 99% of the region" in n and "not_effective" in n for n in fault.mapbench_notes)
    hatched = [p for ax in fault.axes for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1
    # Without the full frame the not-effective rows cannot be drawn: their bar is absent, never plain.
    _, _, bare, _ = _figures("page_size_not_backed", family="page_size", with_frame=False)
    assert not [p for ax in dict(bare)["page_size-fault"].axes for p in ax.patches if p.get_hatch()]
    _close(made + bare)


def test_populate_stack_is_the_median_total_split_by_phase():
    results, rows, made, _ = _drawn("populate")
    fig = dict(made)["populate"]
    anon = [ax for ax in fig.axes if ax.get_title().startswith("anon")][0]
    fault = rows[(rows["method"] == "fault") & (rows["backing"] == "anon")]
    total = fault[["map_ns_per_op", "touch_ns_per_op", "unmap_ns_per_op"]].sum(axis=1)
    divisor, unit = fc.time_scale([total.median()])
    assert f"({unit})" in anon.get_ylabel()
    x = [t.get_text() for t in anon.get_xticklabels()].index("fault")
    heights = [p.get_height() for p in anon.patches if abs(p.get_x() + p.get_width() / 2 - x) < 1e-9]
    assert len(heights) == 3
    assert sum(heights) == pytest.approx(total.median() / divisor)
    touch = fault["touch_ns_per_op"].median() / (fault[["map_ns_per_op", "touch_ns_per_op", "unmap_ns_per_op"]]
                                                 .median().sum())
    assert heights[1] / sum(heights) == pytest.approx(touch)
    # The touch faults per page above the stack: one per page without populating.
    assert "1" in [t.get_text() for t in anon.texts]


def _faces(ax):
    return {tuple(np.round(figures.mcolors.to_rgba(line.get_markerfacecolor()), 3))
            for line in ax.lines if line.get_marker() == "o"}


WHITE = (1.0, 1.0, 1.0, 1.0)


def test_scaling_ideal_line_is_one_worker_times_workers():
    results, rows, made, _ = _drawn("scaling")
    fig = dict(made)["scaling"]
    ax = [a for a in fig.axes if a.get_title().startswith("churn")][0]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 2  # threads and processes
    for line in dashed:
        xs, ys = line.get_xdata(), line.get_ydata()
        assert xs[0] == 1 and ys[-1] == pytest.approx(ys[0] * xs[-1])
    churn = rows[(rows["workload"] == "churn") & (rows["space"] == "separate") & (rows["workers"] == "1")]
    divisor, _ = fc.rate_scale([churn["ops_per_second"].median()])
    assert any(line.get_ydata()[0] == pytest.approx(churn["ops_per_second"].median() / divisor) for line in dashed)
    assert WHITE not in _faces(ax)  # every row ok: filled markers


def test_scaling_rows_not_effective_are_hollow_and_never_replace_ok_ones():
    results = load_runs([FAMILIES / "scaling", FAMILIES / "scaling_loaded"])
    rows = results.ok[results.ok["family"] == "scaling"]
    made, covered = family_scaling.scaling_figures(rows, _context(results))
    fig = dict(made)["scaling"]
    titles = {ax.get_title(): ax for ax in fig.axes}
    # The cases the quiet run measured are drawn from its ok rows only ...
    assert WHITE not in _faces(titles["churn: 16 KiB region"])
    # ... the ones only the loaded run has are drawn hollow, and the notes say why.
    assert _faces(titles["shootdown: 512 pages"]) == {WHITE}
    assert any("waited for a CPU" in n and "not_effective" in n for n in fig.mapbench_notes)
    assert set(covered) == set(rows.index)
    _close(made)


def test_several_sizes_and_configurations_get_a_figure_each():
    _, _, made, _ = _figures("populate_full", family="populate")
    assert [stem for stem, _ in made] == ["populate-size_mib_2", "populate-size_mib_16", "populate-size_mib_128",
                                          "populate-size_mib_1024", "populate-per_mib"]
    idle = dict(made)["populate-size_mib_128"]
    labels = [t.get_text() for ax in idle.axes for t in ax.get_xticklabels()]
    assert "fault\n(after idle)" in labels and "map_populate\n(after idle)" in labels
    per_mib = dict(made)["populate-per_mib"]
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in per_mib.axes)
    _, _, made2, _ = _figures("msync_full", family="msync")
    assert [stem for stem, _ in made2] == ["msync-256_contiguous_small", "msync-256_contiguous_large", "msync-folios"]
    _close(made + made2)


def test_msync_notes_say_what_ms_async_did():
    _, _, made, _ = _drawn("msync")
    notes = " ".join(dict(made)["msync"].mapbench_notes)
    assert "left every dirtied page dirty (wrote nothing): msync(MS_ASYNC), none" in notes
    assert "left none: msync(MS_SYNC)" in notes


def test_msync_overlap_and_left_dirty_notes_from_summaries():
    summary = pd.DataFrame({
        "method": ["ms_sync"] * 2 + ["fsync"] * 2 + ["ms_async"] * 2,
        "dirty_pages": [1, 16] * 3, "_flag": [False] * 6,
        "median": [3.0, 4.0, 3.3, 4.1, 0.002, 0.003]})
    assert family_msync._overlap_note(summary) == ("lines on top of each other (latency within 20% at every k): "
                                                   "msync(MS_SYNC), fsync")
    left = summary.assign(median=[0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    assert family_msync._left_dirty_note(left) == ("left every dirtied page dirty (wrote nothing): msync(MS_ASYNC); "
                                                   "left none: msync(MS_SYNC), fsync")


def test_db_commit_draws_commit_rows_and_tells_the_crash_check_in_the_notes():
    results, rows, made, covered = _drawn("db_commit")
    fig = dict(made)["db_commit"]
    crash = rows[rows["op"] == "crash"]
    assert not crash.empty and set(crash.index) <= set(covered)  # told in the notes, not drawn
    notes = " ".join(fig.mapbench_notes)
    assert "transactions reported synced was found whole and in order" in notes
    assert "in 1 trial(s) of 1 case(s) (wal_fdatasync 1), every one of the" in notes
    assert "not survival of power loss" in notes
    assert "group commit, time per transaction at group 1 over the largest group" in notes
    titles = [ax.get_title() for ax in fig.axes]
    assert "4 KiB records: time per committed transaction" in titles
    assert "4 KiB records: device cache flushes per transaction" in titles


def test_db_commit_a_failed_crash_check_is_said_in_the_notes():
    results = _load("db_commit")
    frame = results.frame.copy()
    crash = frame["op"] == "crash"
    frame.loc[crash, "status"] = "invalid"
    frame.loc[crash, "valid"] = 0
    frame.loc[crash, "validation"] = "trial 0: 9 transactions reported synced, 8 found intact"
    ok = frame[~crash]
    made, covered = family_db_commit.db_commit_figures(
        ok, FullContext(ok=ok, run_note="run: fixture", figures=figures, frame=frame))
    notes = " ".join(dict(made)["db_commit"].mapbench_notes)
    assert "crash check FAILED in 1 case(s): trial 0" in notes
    assert "found whole and in order" not in notes
    _close(made)


def test_page_size_labels_and_gap_texts():
    assert family_page_size.config_label(2048.0, "hugetlb", "memfd") == "2 MiB hugetlb\nmemfd"
    assert family_page_size.config_label(4.0, "nohugepage", "mmap") == "4 KiB\nbase pages"
    assert family_page_size.config_label(1048576.0, "hugetlb", "mmap") == "1 GiB hugetlb\nmmap"
    row = {"status": "skipped", "message": "no free 2 MiB hugetlb pages (0 available, 32 needed): reserve with ..."}
    assert family_page_size.gap_text(row) == "skipped: no hugetlb pages"
    row = {"status": "error", "message": "mmap(MAP_HUGETLB, len=1): Cannot allocate memory"}
    assert family_page_size.gap_text(row) == "error: mmap(MAP_HUGETLB, len=1)"


def test_short_reason_and_numbers():
    assert fc.short_reason("64 KiB THP not enabled: hugepages-64kB/enabled=never; needs always") == \
        "64 KiB THP not enabled"
    assert fc.short_reason("x (a tuning; not changed by the benchmark)") == "x"
    assert fc.short_reason("") == "no reason given"
    assert fc.short_reason("a" * 200, 10) == "a" * 9 + "…"
    assert [fc.number(v) for v in (0, 0.0075683, 1, 256, 1234.5, 2.5e6)] == ["0", "0.0076", "1", "256", "1234",
                                                                             "2.5e+06"]
    assert fc.rate_scale([2.1e5, 3e5]) == (1e3, "thousands")


def test_split_keeps_flagged_and_left_out_apart_and_covers_only_given_rows():
    results = _load("scaling")
    frame = results.frame
    ok = results.ok
    fr = fc.split(ok, _context(results), "scaling")
    assert len(fr.ok) == len(ok)
    assert set(fr.flagged["status"]) <= {"not_effective"}
    assert len(fr.flagged) == (frame["status"] == "not_effective").sum()
    assert fr.others_known
    covered = fr.covered(ok.index)
    assert set(covered) == set(ok.index)  # never a row plot.py did not pass (it drops them from its rows)
    bare = fc.split(ok, _context(results, with_frame=False), "scaling")
    assert bare.flagged.empty and bare.left_out.empty and not bare.others_known


def test_numeric_parses_columns_the_schema_leaves_as_text():
    frame = pd.DataFrame({"workers": ["1", "2", ""], "space": ["shared", "x", "y"], "pages": ["64", "junk", "1"]})
    out = fc.numeric(frame, ["workers", "pages", "absent"])
    assert out["workers"].tolist()[:2] == [1.0, 2.0] and math.isnan(out["workers"].iloc[2])
    assert math.isnan(out["pages"].iloc[1]) and out["space"].tolist() == ["shared", "x", "y"]


def test_error_bars_are_the_order_statistic_interval_of_the_median():
    results, rows, made, _ = _drawn("lifecycle_ipc")
    fig = dict(made)["lifecycle_ipc-lifecycle"]
    grow = rows[(rows["workload"] == "mremap_growth") & (rows["method"] == "copy")]
    size = grow["size_kib"].max()
    values = grow.loc[grow["size_kib"] == size, "grow_ns_per_op"]
    interval = stats.median_ci(values, fc.CONFIDENCE)
    ax = [a for a in fig.axes if a.get_title().startswith("grow")][0]
    divisor, _ = fc.time_scale(fc.summarize(rows[rows["workload"] == "mremap_growth"].assign(
        _series=rows["method"], _flag=False), ["_series", "size_kib", "_flag"], "grow_ns_per_op")["median"].tolist())
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    expected = (interval.low / divisor, interval.high / divisor)
    assert any(seg[0][0] == pytest.approx(size) and sorted([seg[0][1], seg[1][1]]) == pytest.approx(sorted(expected))
               for seg in segments)


def test_all_families_through_the_cli(tmp_path):
    runs = [FAMILIES / f for f in sorted(STEMS)]
    result = run_launcher("plot", *runs, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for stems in STEMS.values():
        for stem in stems:
            assert (tmp_path / f"{stem}.png").is_file() and (tmp_path / f"{stem}.svg").is_file()
    assert not list(tmp_path.glob("*-other*")), "no row fell through to the generic figure"


def test_mapping_structures_shows_every_vma_count_and_says_why_hugetlb_is_missing():
    results, rows, made, _ = _drawn("mapping_structures")
    vmas, tables = dict(made)["mapping_structures-vmas"], dict(made)["mapping_structures-page_tables"]
    ops, reads = vmas.axes[0], vmas.axes[1]
    # One line per operation / file, each with a point at 1 and at 16k filler VMAs.
    assert len(ops.get_lines()) >= 5 and len(reads.get_lines()) >= 2
    assert [t.get_text() for t in ops.get_xticklabels() if t.get_text()] == ["1", "16k"]
    # The base-page bar is the PTE tables of the region: ~2 MiB per GiB on x86-64.
    assert "2048 KiB" in _texts(tables)
    assert "skipped: no hugetlb pages" in _texts(tables)
    notes = " ".join(tables.mapbench_notes)
    assert "no free 2 MiB hugetlb pages" in notes


def test_fault_signals_bars_say_their_ratio_to_the_plain_fault_and_a_skipped_path_its_reason():
    results = _load("fault_signals")
    frame = results.frame.copy()
    wp = frame["path"] == "uffd_wp"
    frame.loc[wp, "status"] = "skipped"
    frame.loc[wp, "valid"] = float("nan")
    frame.loc[wp, "message"] = "userfaultfd not allowed here: userfaultfd(2): Operation not permitted"
    ok = frame[~wp]
    ctx = FullContext(ok=ok, run_note="run: fixture", figures=figures, frame=frame)
    made, covered = family_fault_signals.fault_signals_figures(frame[frame["family"] == "fault_signals"], ctx)
    fig = dict(made)["fault_signals"]
    texts = _texts(fig)
    segv = ok[ok["path"] == "sigsegv"]
    paired = (segv["fault_ns_per_page"] / segv["plain_fault_ns_per_page"]).median()  # its own process's plain fault
    assert f"×{fc.number(paired)}" in texts
    assert not any(t.startswith("×") and t.endswith("*") for t in texts), "every row here has its pair"
    # A row without the paired baseline falls back to the plain_fault row of its size, marked.
    bare = frame.drop(columns=["plain_fault_ns_per_page"])
    ctx_bare = FullContext(ok=bare[~wp], run_note="run: fixture", figures=figures, frame=bare)
    bare_made, _ = family_fault_signals.fault_signals_figures(bare[bare["family"] == "fault_signals"], ctx_bare)
    plain = ok[ok["path"] == "plain_fault"]["fault_ns_per_page"].median()
    assert f"×{fc.number(segv['fault_ns_per_page'].median() / plain)}*" in _texts(dict(bare_made)["fault_signals"])
    _close(bare_made)
    assert "skipped: userfaultfd not allowed here" in texts
    notes = " ".join(fig.mapbench_notes)
    assert "skipped: 1 case" in notes and "uffd_wp" in notes
    assert set(covered) == set(frame.index)
    _close(made)
