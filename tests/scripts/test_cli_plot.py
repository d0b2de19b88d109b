"""`mapbench plot` end to end, through the scripts/mapbench launcher (subprocess)."""

import shutil

import pytest

from conftest import FIXTURES, run_launcher


def _copy(name, tmp_path):
    run = tmp_path / name
    shutil.copytree(FIXTURES / name, run)
    return run


def _written(stdout):
    return [line for line in stdout.splitlines() if line.endswith((".png", ".svg"))]


@pytest.fixture(scope="module")
def good_plot(tmp_path_factory):
    """The good fixture plotted once with the default output folder: (run folder, result)."""
    run = tmp_path_factory.mktemp("plot") / "good"
    shutil.copytree(FIXTURES / "good", run)
    return run, run_launcher("plot", run)


def test_plot_good_run_writes_png_and_svg(good_plot):
    run, result = good_plot
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    plots = run / "plots"  # default: RUN_DIR/plots
    written = _written(result.stdout)
    for stem in ("ceiling", "read_vs_mmap-file_mib_64", "read_vs_mmap-advice-file_mib_64", "populate"):
        png, svg = plots / f"{stem}.png", plots / f"{stem}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in svg.read_bytes()[:2000]
        assert str(png) in written and str(svg) in written
    assert len(written) == len(list(plots.iterdir())) == 8


def test_plot_prints_one_summary_line_per_family(good_plot):
    _, result = good_plot
    summaries = [line for line in result.stdout.splitlines() if not line.endswith((".png", ".svg"))]
    families = [line.split(":", 1)[0] for line in summaries]
    assert sorted(families) == ["ceiling", "populate", "read_vs_mmap"]
    by_family = dict(line.split(": ", 1) for line in summaries)
    assert "1 row not plotted (1 invalid)" in by_family["read_vs_mmap"]
    assert "1 row not plotted (1 skipped)" in by_family["populate"]
    assert "3 repetitions per case" in by_family["ceiling"]
    assert by_family["read_vs_mmap"].startswith("20 cases from 60 ok rows")


def test_plot_is_reproducible(good_plot, tmp_path):
    """The same input gives byte-identical SVGs (stable ids, no dates)."""
    run, _ = good_plot
    result = run_launcher("plot", run, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    for svg in sorted((run / "plots").glob("*.svg")):
        assert (tmp_path / svg.name).read_bytes() == svg.read_bytes(), svg.name


def test_plot_out_option_and_any_cwd(tmp_path):
    out = tmp_path / "figs" / "nested"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_launcher("plot", FIXTURES / "good", "--out", out, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (out / "ceiling.png").is_file()
    assert not (FIXTURES / "good" / "plots").exists()


def test_plot_accepts_a_relative_csv_path_from_any_cwd(tmp_path):
    run = _copy("good", tmp_path)
    result = run_launcher("plot", "good/results.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (run / "plots" / "read_vs_mmap-file_mib_64.svg").is_file()


def test_plot_concatenates_several_runs(tmp_path):
    out = tmp_path / "out"
    result = run_launcher("plot", FIXTURES / "good", FIXTURES / "good_second", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "2 runs concatenated" in result.stdout
    # The second run has file_mib 16: its read_vs_mmap figure appears beside the 64 MiB one.
    assert (out / "read_vs_mmap-file_mib_16.png").is_file()
    assert (out / "read_vs_mmap-file_mib_64.png").is_file()


def test_formula_cells_in_text_columns_are_plotted_as_text(tmp_path):
    out = tmp_path / "out"
    result = run_launcher("plot", FIXTURES / "formula_text", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "lifecycle.png").is_file() and (out / "lifecycle.svg").is_file()
    # The case name holds `$\\undefinedmacro{$`: drawn as mathtext it would abort the
    # figure, so a written figure proves cell text is drawn literally.
    assert "lifecycle: 1 case from 3 ok rows" in result.stdout


def test_every_status_other_than_ok_is_excluded(tmp_path):
    run = _copy("good", tmp_path)
    csv = run / "results.csv"
    lines = csv.read_text().splitlines(keepends=True)
    # Turn every populate row into not_effective: the family is then reported, not drawn.
    header = lines[0].split(",")
    status = header.index("status")
    rows = []
    for line in lines[1:]:
        cells = line.split(",")
        if cells[2] == "populate":
            cells[status] = "not_effective"
        rows.append(",".join(cells))
    csv.write_text(lines[0] + "".join(rows))
    result = run_launcher("plot", run)
    assert result.returncode == 0, result.stderr
    assert not (run / "plots" / "populate.png").exists()
    assert any(line.startswith("populate: nothing plotted") and "not_effective" in line
               for line in result.stdout.splitlines())


BAD = ["empty.csv", "blank_lines.csv", "header_only.csv", "missing_columns.csv", "schema_v2.csv",
       "unknown_status.csv", "ns_nan.csv", "ns_empty.csv", "ns_negative.csv", "ns_zero.csv", "ns_text.csv",
       "formula_in_numeric.csv", "formula_in_parameter.csv", "truncated.csv", "truncated_no_newline.csv",
       "ragged.csv", "duplicate_column.csv", "binary.csv"]


def _assert_refused(result, *, mentions=""):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mapbench plot: ")
    assert mentions in lines[0]
    assert not _written(result.stdout)


@pytest.mark.parametrize("name", BAD)
def test_bad_csv_is_refused_with_one_line(tmp_path, name):
    out = tmp_path / "out"
    result = run_launcher("plot", FIXTURES / "bad" / name, "--out", out)
    _assert_refused(result, mentions=name)
    assert not out.exists()  # nothing is written for bad input


@pytest.mark.parametrize("name", ["schema_v2.csv", "ns_negative.csv", "truncated.csv"])
def test_bad_run_among_good_ones_is_refused(tmp_path, name):
    result = run_launcher("plot", FIXTURES / "good", FIXTURES / "bad" / name, "--out", tmp_path / "out")
    _assert_refused(result, mentions=name)


def test_missing_folder_is_refused(tmp_path):
    _assert_refused(run_launcher("plot", tmp_path / "no-such-run"), mentions="no such file or folder")


def test_folder_without_results_is_refused(tmp_path):
    _assert_refused(run_launcher("plot", FIXTURES / "no_csv", "--out", tmp_path / "o"), mentions="no results.csv")


def test_usage_errors_exit_2_without_traceback():
    for args in ([], ["plot"], ["frobnicate"]):
        result = run_launcher(*args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and "usage: mapbench" in result.stderr


def test_help_lists_plot():
    result = run_launcher("--help")
    assert result.returncode == 0 and "plot" in result.stdout
    result = run_launcher("plot", "--help")
    assert result.returncode == 0 and "RUN_DIR" in result.stdout and "--out" in result.stdout


def test_run_with_no_ok_row_is_refused_with_one_line(tmp_path):
    lines = (FIXTURES / "good" / "results.csv").read_text().splitlines(keepends=True)
    (tmp_path / "results.csv").write_text(lines[0] + "".join(l for l in lines[1:] if ",skipped," in l))
    # No environment.json either: its warning must not make the refusal two lines.
    _assert_refused(run_launcher("plot", tmp_path), mentions="no row has status ok")


def test_out_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    _assert_refused(run_launcher("plot", FIXTURES / "good", "--out", target), mentions="not a folder")
