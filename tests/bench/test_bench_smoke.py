"""The benchmark scripts run end to end (sandbox process, client, table, JSON) on tiny
parameters. A correctness test of the scripts, not a timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

from bench import check_latency, client_throughput, export_latency

MACHINE_KEYS = {"date", "cpu_count", "python", "platform"}


def read_results(path: Path, benchmark: str) -> dict:
    results = json.loads(path.read_text(encoding="utf-8"))
    assert results["benchmark"] == benchmark
    assert results["ok"] is True
    assert results["machine"].keys() >= MACHINE_KEYS
    assert results["machine"]["cpu_count"] > 0
    return results


def test_client_throughput_writes_a_cell_per_transport_with_positive_figures(
    tmp_path: Path,
) -> None:
    output = tmp_path / "client_throughput.json"
    argv = ["--quick", "--requests", "50", "--concurrency", "8", "--latency-ms", "5"]
    argv += ["--environments", "8", "--output", str(output)]

    assert client_throughput.main(argv) == 0

    results = read_results(output, "client_throughput")
    assert results["parameters"]["requests"] == 50
    assert results["parameters"]["concurrency"] == [8]
    cells = results["cells"]
    assert [(c["transport"], c["concurrency"]) for c in cells] == [("aiohttp", 8), ("httpx", 8)]
    for cell in cells:
        assert cell["failures"] == 0
        assert cell["requests"] == 50
        assert cell["req_per_s"] > 0
        assert cell["bound_req_per_s"] == 8 / 0.005
        assert cell["pct_of_bound"] > 0
        latency = cell["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
        # Every request waited for the sandbox's latency (asyncio may wake a timer up to a
        # clock tick early, so allow a millisecond).
        assert latency["min"] >= 4
    assert results["ratio_aiohttp_over_httpx"]["8"] > 0


def test_check_latency_compares_concurrent_and_sequential_checks(tmp_path: Path) -> None:
    output = tmp_path / "check_latency.json"
    argv = ["--quick", "--repeat", "1", "--latency-ms", "5", "--output", str(output)]

    assert check_latency.main(argv) == 0

    results = read_results(output, "check_latency")
    assert results["parameters"]["repeat"] == 1
    assert results["problems"] == []
    modes = {row["mode"]: row for row in results["modes"]}
    assert modes.keys() == {"normal", "deep"}
    assert modes["deep"]["requests"] > modes["normal"]["requests"] > 0
    for row in modes.values():
        assert row["concurrent_median_ms"] > 0
        assert row["sequential_median_ms"] > 0
        assert row["sequential_theory_ms"] == row["requests"] * 5
        assert row["speedup"] > 0
    for variants in results["runs"].values():
        assert {len(records) for records in variants.values()} == {1}


def test_export_latency_compares_concurrent_and_sequential_exports(tmp_path: Path) -> None:
    output = tmp_path / "export_latency.json"
    argv = ["--quick", "--repeat", "1", "--latency-ms", "5", "--output", str(output)]

    assert export_latency.main(argv) == 0

    results = read_results(output, "export_latency")
    assert results["problems"] == []
    modes = {row["mode"]: row for row in results["modes"]}
    assert modes.keys() == {"dry_run", "live"}
    assert modes["dry_run"]["requests"] == 6  # /metainfo and five metainfo/update
    assert modes["live"]["requests"] > modes["dry_run"]["requests"]
    for row in modes.values():
        assert row["concurrent_median_ms"] > 0 and row["sequential_median_ms"] > 0
        assert row["sequential_theory_ms"] == row["requests"] * 5
    for variants in results["runs"].values():
        for records in variants.values():
            [record] = records
            assert record["ok"] is True
