"""mapping_structures on the running kernel, at the cheapest VMA count: every row is ok with
the checks it claims (the split made three VMAs and the merge one, the occupied address
failed with EEXIST, the filler was counted), or skipped with its reason (hugetlb without
reserved pages). No timing is looked at."""
import csv


def test_rows_are_checked_or_skipped_with_a_reason(run_mapbench, tmp_path):
    result = run_mapbench("--filter", "^mapping_structures/((split_merge|fixed_noreplace|map_unmap)/.*vmas:1$"
                          "|page_tables/.*hugetlb)", "--out_dir=run")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "run" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    names = {r["name"] for r in rows}
    assert len(names) == 5, names
    for row in rows:
        if "hugetlb" in row["name"]:
            assert row["status"] == "ok" or (row["status"] == "skipped" and "hugetlb pages" in row["message"]), row
            continue
        assert row["status"] == "ok", (row["name"], row["validation"], row["config_note"])
        assert row["config_ok"] == "1" and "1 filler VMAs of 1" in row["config_note"], row["config_note"]
        assert int(float(row["process_vmas"])) > 1
        if "/split_merge/" in row["name"]:
            assert "rw-p r--p rw-p after a split and one rw-p VMA after the merge" in row["validation"]
        if "target:occupied" in row["name"]:
            assert "failed with EEXIST" in row["validation"]
        if "/map_unmap/" in row["name"]:
            assert "the page gets a VMA of its own" in row["config_note"]
