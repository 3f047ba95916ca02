"""A test export's wall time, dry run and live, with its independent requests concurrent,
against the same calls made one after another, in the same run.

The sandbox (a separate process) answers every call after ``--latency-ms``. The sequential
baseline is the same code on a client that lets one request at a time reach the environment
(``per_environment_limit=1``): the same calls, in the same order, one after another.

- dry run: ``/metainfo`` and ``metainfo/update`` for the five UpdateConnectors, all at once.
- live: what a live export costs end to end: reading its values (``metainfo/get`` and rows of
  five GetConnectors, all at once), the preflight dry run, then the writes and removals, which
  depend on each other and go one by one whatever the client allows.

    python bench/export_latency.py              # 5 repeats at 100 ms, about a minute
    python -m bench.export_latency --quick      # a smoke run
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from afas.client import AfasClient
from afas.exports.dry_run import dry_run
from afas.exports.live import live_export
from afas.exports.values import discover_values
from afas.profile import LocalText, load_profile
from bench._common import (
    SandboxEntry,
    latency_args,
    latency_main,
    speedup_row,
)

SCRIPT = "export_latency"
MODES = ("dry_run", "live")
VARIANTS = (("concurrent", None), ("sequential", 1))
FULL = {"repeat": 5, "latency_ms": 100}
QUICK = {"repeat": 1, "latency_ms": 20}
TODAY = date(2024, 9, 15)  # inside the sandbox's open periods (its catalogue data)
VALUE_READS = 10  # metainfo/get and the rows of the five GetConnectors values come from


class NullJournal:
    """Persists nothing: the bench measures AFAS round trips, not the caller's database."""

    async def before_write(self, step: int, connector_id: str, marker: str) -> None:
        return None

    async def created(self, step: int, connector_id: str, key: dict[str, str]) -> None:
        return None

    async def answer_lost(self, step: int, connector_id: str) -> None:
        return None

    async def removed(self, step: int, connector_id: str, key: dict[str, str]) -> None:
        return None

    async def left_behind(
        self,
        step: int,
        connector_id: str,
        key: dict[str, str],
        reason: LocalText,
        how_to_remove: LocalText,
    ) -> None:
        return None


async def measure(
    args: argparse.Namespace, url_template: str, entry: SandboxEntry
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per mode and variant, one record per run: wall time, requests, the verdict."""
    profile = load_profile()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        mode: {variant: [] for variant, _ in VARIANTS} for mode in MODES
    }
    counter = 0
    clients = {
        variant: AfasClient(
            url_template=url_template,
            transport=args.transport,
            per_environment_limit=limit or args.per_environment_limit,
        )
        for variant, limit in VARIANTS
    }

    async def once(mode: str, client: AfasClient) -> dict[str, Any]:
        nonlocal counter
        started = time.perf_counter()
        if mode == "dry_run":
            report = await dry_run(client, entry.environment, entry.token, profile)
            requests = report.requests
        else:
            counter += 1
            found = await discover_values(client, entry.environment, entry.token, today=TODAY)
            if found.values is None:
                return {"wall_ms": 0.0, "requests": 0, "overall": "no values", "ok": False}
            report = await live_export(
                client,
                entry.environment,
                entry.token,
                profile,
                values=found.values,
                run_id=f"b{counter:05x}",
                journal=NullJournal(),
            )
            requests = report.requests + VALUE_READS
        return {
            "wall_ms": round((time.perf_counter() - started) * 1000, 2),
            "requests": requests,
            "overall": report.overall.value,
            "ok": report.overall.value == "ok",
            "left_behind": len(report.left_behind),
        }

    try:
        # Unmeasured: opens the pools' connections and warms the code paths.
        for variant, _ in VARIANTS:
            await once("dry_run", clients[variant])
        for mode in MODES:
            # Alternate the variants, so that drift on the machine hits both alike.
            for _ in range(args.repeat):
                for variant, _ in VARIANTS:
                    runs[mode][variant].append(await once(mode, clients[variant]))
    finally:
        for client in clients.values():
            await client.aclose()
    return runs


def summarise(
    runs: dict[str, dict[str, list[dict[str, Any]]]], latency_ms: int, limit: int
) -> tuple[list[dict[str, Any]], list[str]]:
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    for mode, variants in runs.items():
        for variant, records in variants.items():
            for record in records:
                if not record["ok"]:
                    problems.append(f"{mode} {variant}: report is {record['overall']}, not ok")
        counts = {r["requests"] for records in variants.values() for r in records}
        if len(counts) != 1:
            problems.append(f"{mode}: concurrent and sequential made {sorted(counts)} requests")
        requests = max(counts)
        # Rounds of at most ``limit`` requests: the dry run is one gather of 6; a live run
        # gathers 10 value reads, then the 6 of its preflight, then goes one write at a time.
        if mode == "dry_run":
            rounds = math.ceil(requests / limit)
        else:
            writes = requests - VALUE_READS - 6
            rounds = math.ceil(VALUE_READS / limit) + math.ceil(6 / limit) + writes
        rows.append(speedup_row(mode, requests, rounds, variants, latency_ms))
    return rows, problems


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return latency_args(SCRIPT, __doc__.split("\n")[0], argv, FULL, QUICK)


def main(argv: Sequence[str] | None = None) -> int:
    return latency_main(
        SCRIPT,
        parse_args(argv),
        measure,
        summarise,
        "Export latency: concurrent against sequential calls",
    )


if __name__ == "__main__":
    sys.exit(main())
