"""`mapbench report`: paper figures, tables, environment appendix, index; and its bad input."""

import json
import re
import shutil

import pytest

from conftest import FIXTURES, run_launcher
from mapbench_cli import cli
from mapbench_cli.data import environment
from mapbench_cli.figures import base as figures
from mapbench_cli.figures import charts
from mapbench_cli.text import tables


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "paper"
    code = cli.main(["report", str(FIXTURES / "good"), "--out", str(out)])
    assert code == 0
    return out


def _pdf_size_in(path):
    box = re.search(rb"/MediaBox \[ *0 0 ([\d.]+) ([\d.]+) *\]", path.read_bytes())
    return float(box.group(1)) / 72, float(box.group(2)) / 72


def test_every_figure_in_three_formats_at_paper_widths(report):
    stems = sorted(p.stem for p in (report / "figures").glob("*.pdf"))
    assert stems == ["ceiling", "populate", "read_vs_mmap-advice-file_mib_64", "read_vs_mmap-file_mib_64"]
    for stem in stems:
        png, svg, pdf = (report / "figures" / f"{stem}.{ext}" for ext in ("png", "svg", "pdf"))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in svg.read_bytes()[:2000]
        assert pdf.read_bytes()[:5] == b"%PDF-"
        width, height = _pdf_size_in(pdf)
        assert width == pytest.approx(3.5) or width == pytest.approx(7.0), (stem, width)
        assert height < 9.5
    assert _pdf_size_in(report / "figures" / "ceiling.pdf")[0] == pytest.approx(3.5)
    assert _pdf_size_in(report / "figures" / "read_vs_mmap-file_mib_64.pdf")[0] == pytest.approx(7.0)


def test_tables_in_markdown_and_latex(report):
    for family in ("ceiling", "populate", "read_vs_mmap"):
        md = (report / "tables" / f"{family}.md").read_text()
        tex = (report / "tables" / f"{family}.tex").read_text()
        assert "95% CI" in md and "| n |" in md.replace("---:", "")
        assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex and "booktabs" in tex
        assert tex.count("\\begin{tabular}") == 1
    ceiling = (report / "tables" / "ceiling.tex").read_text()
    assert "block\\_kib" in ceiling and "95\\% CI" in ceiling
    assert "{[}" in ceiling  # interval brackets cannot become \\\\[...] arguments
    assert "every row: file\\_mib=64" in ceiling


def test_index_links_exist(report):
    index = (report / "index.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", index)
    assert targets and all((report / t).is_file() for t in targets), targets
    assert "figures.tex" in targets and "environment.md" in targets and "tables/read_vs_mmap.tex" in targets
    assert "error bars: 95% CI of the median" in index  # captions carry what the figures no longer print


def test_environment_appendix_for_one_run_lists_key_settings(report):
    text = (report / "environment.md").read_text()
    assert "Key settings" in text and "thp.enabled | madvise" in text and "kernel.release" in text
    assert "(the same in every run)" not in text


def test_environment_appendix_lists_what_differs(tmp_path):
    second = tmp_path / "second"
    shutil.copytree(FIXTURES / "good", second)
    env = json.loads((second / "environment.json").read_text())
    env["thp"]["enabled"] = "always"
    env["run"]["run_id"] = "another"
    (second / "environment.json").write_text(json.dumps(env))
    out = tmp_path / "r"
    assert cli.main(["report", str(FIXTURES / "good"), str(second), "--out", str(out)]) == 0
    text = (out / "environment.md").read_text()
    assert "Settings that differ between the runs" in text
    assert re.search(r"\| thp\.enabled \| madvise \| always \|", text)
    assert "run\\_id" not in text.split("Key settings")[0].split("Settings that differ")[1]  # volatile keys left out
    assert "the runs differ in thp.enabled" in (out / "index.md").read_text()


def test_paper_layout_keeps_text_at_7pt_or_more():
    spec = charts.HorizontalBars(title="t", xlabel="x", labels=["family/" + "k:v/" * 20, "b"],
                                  values=[figures.Value(1, 0.5, 2), figures.Value(3, 2, 4)], colours=["r", "b"],
                                  legend={"a": "r", "b": "b"}, notes=["a note"])
    with figures.use_layout(figures.PAPER):
        fig = charts.horizontal_bars(spec)
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text()]
    assert sizes and min(sizes) >= 7.0
    assert fig.get_figwidth() in (3.5, 7.0)
    assert fig.mapbench_notes == ["a note"]   # kept for the caption, not drawn
    figures.plt.close(fig)


@pytest.mark.parametrize("raw, latex", [
    ("a_b & 50% $x$ #1 {y} ~ ^", r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{} \textasciicircum{}"),
    ("\\input{/etc/passwd}", r"\textbackslash{}input\{/etc/passwd\}"),
    ("[0.9, 1.1]", "{[}0.9, 1.1{]}"),
    ("line\nbreak", "line?break"),
])
def test_latex_escaping(raw, latex):
    assert tables.latex_escape(raw) == latex


def test_markdown_escaping_and_long_cells():
    assert tables.markdown_escape("a|b <script>*x*") == "a\\|b &lt;script&gt;\\*x\\*"
    assert len(tables.markdown_escape("x" * 5000)) == tables.MAX_CELL


def test_number_format():
    assert [tables.number(v) for v in (12345.6, 1.2345, 0.012345, 0.0)] == ["12346", "1.23", "0.0123", "0"]


def test_environment_flatten_drops_volatile_settings():
    env = {"run": {"run_id": "x", "start_time": "t", "suite": "quick", "command_line": ["m", "--benchmark_repetitions=7"]},
           "tunings_applied": [{"knob": "thp.enabled", "before": "madvise", "after": "always"}],
           "perf": {"mode": "software", "counters": [{"column": "minor_faults", "available": True}]}}
    flat = environment.flatten(env)
    assert flat == {"run.suite": "quick", "run.repetitions": "7", "perf.mode": "software",
                    "perf.counters_available": "minor_faults", "tunings_applied": "thp.enabled=always (was madvise)"}


BAD = ["empty.csv", "schema_v2.csv", "ns_nan.csv", "ns_negative.csv", "formula_in_numeric.csv", "long_field.csv",
       "mixed_units.csv"]


@pytest.mark.parametrize("name", BAD)
def test_report_refuses_bad_input_with_one_line(capsys, tmp_path, name):
    out = tmp_path / "r"
    code = cli.main(["report", str(FIXTURES / "bad" / name), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("mapbench report: ") and name in err
    assert not out.exists()


def test_report_missing_run_and_out_that_is_a_file(capsys, tmp_path):
    assert cli.main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    target = tmp_path / "file"
    target.write_text("")
    assert cli.main(["report", str(FIXTURES / "good"), "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no such file or folder" in err[0] and "not a folder" in err[1]


@pytest.mark.parametrize("name", ["long_field.csv", "mixed_units.csv"])
def test_plot_refuses_the_new_bad_inputs_too(capsys, tmp_path, name):
    assert cli.main(["plot", str(FIXTURES / "bad" / name), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("mapbench plot: ")


def test_report_through_the_launcher_needs_out(tmp_path):
    result = run_launcher("report", FIXTURES / "good")
    assert result.returncode == 2 and "--out" in result.stderr
