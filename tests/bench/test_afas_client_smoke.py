"""``bench/afas_client.py`` end to end on tiny parameters (sandbox process, every variant,
table, JSON): every request and check succeeded, the figures are present, positive and
consistent, and the ratios are against the baseline. A correctness test of the script, not a
timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

from afas.client import TRANSPORTS
from bench import afas_client

REQUESTS, CHECKS = 24, 8


def test_afas_client_measures_cpu_per_request_and_check_for_every_variant(
    tmp_path: Path,
) -> None:
    output = tmp_path / "afas_client.json"
    argv = ["--quick", "--requests", str(REQUESTS), "--checks", str(CHECKS)]
    argv += ["--concurrency", "4", "--latency-ms", "5", "--environments", "4"]
    argv += ["--output", str(output)]

    assert afas_client.main(argv) == 0

    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["benchmark"] == "afas_client"
    assert results["ok"] is True and results["failures"] == 0
    assert results["machine"]["cpu_count"] > 0
    assert results["baseline"] == "baseline"
    rows = {row["variant"]: row for row in results["variants"]}
    assert list(rows) == ["baseline", "tenacity-copy", *TRANSPORTS]
    assert {row["transport"] for row in rows.values()} == set(TRANSPORTS)
    assert rows["baseline"]["cpu_ms_per_request_ratio"] == 1.0
    assert rows["baseline"]["cpu_ms_per_check_ratio"] == 1.0
    for row in rows.values():
        assert row["repeats"] == 1 and row["failures"] == 0
        assert row["cpu_ms_per_request"] > 0 and row["cpu_ms_per_check"] > 0
        assert row["cpu_ms_per_request_ratio"] > 0 and row["cpu_ms_per_check_ratio"] > 0
        assert row["requests_per_check"] >= 3  # /profitversion, /metainfo, the specials
        assert row["requests_per_s"] > 0
    retriers = results["retrier_us_per_request"]
    assert retriers.keys() == {"tenacity per request", "tenacity .copy()", "retry loop"}
    assert all(us > 0 for us in retriers.values())
    for record in results["runs"]:
        requests, checks = record["requests_phase"], record["checks_phase"]
        assert requests["units"] == requests["requests"] == REQUESTS  # one attempt each
        assert checks["units"] == CHECKS
        assert checks["requests"] == CHECKS * record["requests_per_check"]
        assert requests["cpu_s"] > 0 and checks["cpu_s"] > 0
        # The sandbox answers after 5 ms: a phase cannot be faster than its rounds of 4.
        assert requests["wall_s"] >= (REQUESTS / 4) * 0.004
