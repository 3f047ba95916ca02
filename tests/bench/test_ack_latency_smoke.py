"""``bench/ack_latency.py`` end to end on tiny parameters (sandbox process, the Slack side's
process, the real Bolt app over HTTP, table, JSON): every command acknowledged and answered
with its report, the figures present and consistent. A correctness test of the script, not a
timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

from bench import ack_latency

COMMANDS = 10
LATENCY_MS = 200


def test_ack_latency_acknowledges_and_answers_every_command(tmp_path: Path) -> None:
    output = tmp_path / "ack_latency.json"
    argv = ["--quick", "--commands", str(COMMANDS), "--latency-ms", str(LATENCY_MS)]
    argv += ["--users", "3", "--json", str(output)]

    assert ack_latency.main(argv) == 0

    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["benchmark"] == "ack_latency"
    assert results["ok"] is True and results["problems"] == []
    assert results["machine"]["cpu_count"] > 0
    assert results["parameters"]["commands"] == COMMANDS
    summary = results["summary"]
    assert summary["commands"] == summary["acknowledged"] == summary["reported"] == COMMANDS
    assert len({r["key"] for r in results["burst"]}) == COMMANDS  # one org each
    assert results["single"]["key"] not in {r["key"] for r in results["burst"]}
    for record in [results["single"], *results["burst"]]:
        assert record["status"] == 200
        assert record["posts"] == 2  # the "checking…" notice, then the report
        assert record["report_state"] == "healthy"
        assert record["ack_ms"] > 0
        assert 0 < record["notice_ms"] < record["report_ms"]
        # A report waits for AFAS at least once (a timer may wake a tick early).
        assert record["report_ms"] >= LATENCY_MS - 2
    for name in ("ack_ms", "notice_ms", "report_ms"):
        figures = summary[name]
        assert figures["count"] == COMMANDS
        assert 0 < figures["min"] <= figures["p50"] <= figures["p99"] <= figures["max"]
    bounds = summary["bounds"]
    assert bounds["requests_per_check"] > 0 and bounds["depth"] >= 1
    assert bounds["single_bound_ms"] == bounds["depth"] * LATENCY_MS
    assert bounds["single_bound_ms"] <= bounds["p50_bound_ms"] <= bounds["max_bound_ms"]
    ratios = summary["ratios"]
    for name in ("p50_over_target", "report_p50_over_single", "report_max_over_bound"):
        assert ratios[name] > 0
    assert results["slack_calls"]["auth.test"] >= 1  # Bolt checked the bot token
    for window in results["bot_process"].values():
        assert window.keys() >= {"gc_collections", "gc_pause_max_ms", "samples"}
