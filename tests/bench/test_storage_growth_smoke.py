"""``bench/storage_growth.py`` end to end on tiny parameters (the sandbox's items, both
databases, bulk inserts, compaction, sizes, table, JSON). A correctness test of the script and
of the direction of its figures, not a timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import storage_growth


@pytest.mark.postgres
def test_storage_growth_measures_both_databases_and_compaction_bounds_the_rows(
    tmp_path: Path, postgres_admin
) -> None:
    output = tmp_path / "storage_growth.json"
    argv = ["--quick", "--orgs", "7", "--days", "5", "--per-day", "24", "--retention", "2"]
    argv += ["--runs", "100", "--output", str(output)]

    assert storage_growth.main(argv) == 0

    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["benchmark"] == "storage_growth" and results["ok"] is True
    assert results["parameters"]["backends"] == ["sqlite", "postgres"]
    cells = {(c["backend"], c["report"], c["variant"]): c for c in results["per_run"]}
    assert len(cells) == 8
    for backend in ("sqlite", "postgresql"):
        for report in ("healthy", "missing-connectors"):
            before, now = cells[(backend, report, "before")], cells[(backend, report, "now")]
            assert now["bytes_per_run"] * 3 < before["bytes_per_run"]  # the items are shared
            assert before["cpu_ms_per_run"] > 0 and now["cpu_ms_per_run"] > 0
    for row in results["growth"]:
        assert row["runs"] == 7 * 5 * 24
        kept_runs = 7 * 2 * 24  # the last two days
        assert row["runs_left"] == kept_runs and row["compacted_runs"] == row["runs"] - kept_runs
        assert row["day_rows"] == 7 * 3  # one per org per compacted day
        assert 0 < row["bytes_per_org_day_compacted"] < row["bytes_per_org_day_full"]
        assert row["bytes_per_org_day_full"] < row["bytes_per_org_day_as_before"]
