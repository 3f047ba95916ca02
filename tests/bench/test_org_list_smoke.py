"""``bench/org_list.py`` end to end on a small database (bulk insert, the old rich table, the
real ``org list`` text and ``--json`` in-process and as processes, the overview's pages): the
figures present, positive and consistent, every org in every output. A correctness test of the
script, not a timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

from bench import org_list

ORGS = 60


def test_org_list_bench_times_every_variant_against_the_rich_table(tmp_path: Path) -> None:
    output = tmp_path / "org_list.json"
    argv = ["--quick", "--orgs", str(ORGS), "--process-runs", "1", "--output", str(output)]

    assert org_list.main(argv) == 0

    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["benchmark"] == "org_list"
    assert results["ok"] is True and results["problems"] == []
    assert results["machine"]["cpu_count"] > 0
    assert results["parameters"]["orgs"] == ORGS
    variants = {row["variant"]: row for row in results["variants"]}
    assert list(variants) == ["rich table (before)", "org list (text)", "org list --json"]
    assert variants["rich table (before)"]["speedup"] is None  # the baseline
    for name in ("org list (text)", "org list --json"):
        assert variants[name]["speedup"] > 0
        assert variants[name]["lines"] == ORGS + 2  # header and counts; brackets
    for row in variants.values():
        assert 0 < row["min_s"] <= row["median_s"] and len(row["runs"]) == 1
        assert row["bytes"] > 0
    assert [row["variant"] for row in results["processes"]] == [
        "afasbot --help (start-up only)",
        "afasbot org list",
        "afasbot org list --json",
    ]
    assert all(row["median_s"] > 0 for row in results["processes"])
    pages = results["pages"]
    assert [page["page"] for page in pages] == ["first", "middle", "last"]
    assert [page["index"] for page in pages] == [0, 1, 2]  # 60 orgs: 3 pages of 25
    for page in pages:
        assert page["same_orgs"] is True  # the slices show what the old sort showed
        assert page["old_query_ms"] > 0 and page["new_query_ms"] > 0
        assert page["dashboard_page_ms"] > 0
