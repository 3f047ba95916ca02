"""``bench/sweep.py`` end to end on tiny parameters (the sandbox in its own process, a cell per
database in a child process, the scheduler's window, the sequential script, a person's check
while the sweep is saturated, the table, the JSON). A correctness test of the script and of
what its figures must obey, not a timing assertion of the goals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import sweep

LATENCY_MS = 20
PEOPLE_LATENCY_MS = 300


def run_quick(tmp_path: Path, backend: str, *extra: str) -> dict:
    output = tmp_path / "sweep.json"
    argv = ["--quick", "--backends", backend, "--orgs", "40", "--seconds", "5"]
    argv += ["--latencies", str(LATENCY_MS), "--people", "1", "--output", str(output)]
    argv += ["--people-latency-ms", str(PEOPLE_LATENCY_MS), "--people-orgs", "40", *extra]
    code = sweep.main(argv)
    results = json.loads(output.read_text(encoding="utf-8"))
    assert code == (0 if results["ok"] else 1)  # the exit code says whether goals were met
    return results


def check_figures(results: dict, backend: str) -> None:
    assert results["benchmark"] == "sweep"
    assert bool(results["problems"]) is not results["ok"]
    assert results["parameters"]["orgs"] == 40 and results["parameters"]["interval"] == 4
    (row,) = results["sweep"]
    assert row["backend"] == backend and row["latency_ms"] == LATENCY_MS
    # 40 orgs every 4 s: about 10 checks/s needed; the scheduler did a fair share of them (it
    # looks twice a second, so a short window on a busy machine misses up to half a second
    # at each end)
    assert row["need_per_s"] == 10.0 and row["need_per_15_min"] == 9000
    assert 0.4 <= row["ratio_to_need"] <= 1.6, row
    # (an org every 4 s falls due twice in a 5 s window: the due count has each once)
    assert row["due_in_window"] > 0 and 0.4 <= row["ratio_to_due"] <= 2.0, row
    assert row["late_s_p50"] is not None and 0 <= row["late_s_p50"] <= row["late_s_max"]
    assert 0 < row["peak_in_flight"] <= row["capacity"] == 28  # (128 - 16) / 4
    assert row["cpu_ms_per_check"] > 0 and row["peak_rss_mb"] > 20
    # a script checks one org after another, each of its 4 probes a full AFAS answer
    assert 0 < row["script_checks_per_s"] <= 1000 / (4 * LATENCY_MS)
    if results["parameters"]["people"] == 0:
        assert results["people"] == []
        return
    (person,) = results["people"]
    assert person["checks"] == 1 and person["bound_s"] == PEOPLE_LATENCY_MS / 1000
    # nothing beats one AFAS round, and the sweep was busy while the person waited
    assert person["wait_s_median"] >= 0.9 * person["bound_s"]
    assert person["sweep_in_flight"] > 0


def test_sweep_smoke_on_sqlite(tmp_path: Path) -> None:
    results = run_quick(tmp_path, "sqlite")
    check_figures(results, "sqlite")
    # every org overdue: the capacity is full, and nothing beats the concurrency bound
    (ceiling,) = results["saturated"]
    assert ceiling["peak_in_flight"] == ceiling["capacity"] == 28
    assert 0 < ceiling["ratio_to_bound"] <= 1 and ceiling["cpu_ms_per_check"] > 0


@pytest.mark.postgres
def test_sweep_smoke_on_postgres(tmp_path: Path, postgres_admin) -> None:
    results = run_quick(tmp_path, "postgres", "--no-saturate", "--people", "0")
    check_figures(results, "postgres")
    assert results["saturated"] == []
