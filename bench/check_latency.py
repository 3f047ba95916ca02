"""One full check (normal and deep) with its probes concurrent, against the same probes one
after another (``run_check(..., sequential=True)``), in the same run.

The sandbox (a separate process) answers every call after ``--latency-ms``. A sequential
check costs about requests × latency; the concurrent one about one latency per round, where
a round is at most ``per_environment_limit`` requests to the environment (step 1, then the
deep step 2). The table gives medians and minima over ``--repeat`` runs and the speed-up.

    python bench/check_latency.py                # 5 repeats at 100 ms, about 30 seconds
    python -m bench.check_latency --quick        # a smoke run
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from afas.check import run_check
from afas.client import AfasClient
from afas.profile import load_catalogue, load_profile
from bench._common import (
    SandboxEntry,
    latency_args,
    latency_main,
    speedup_row,
)

SCRIPT = "check_latency"
MODES = (("normal", False), ("deep", True))
VARIANTS = (("concurrent", False), ("sequential", True))
FULL = {"repeat": 5, "latency_ms": 100}
QUICK = {"repeat": 1, "latency_ms": 20}


async def measure(
    args: argparse.Namespace, url_template: str, entry: SandboxEntry
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per mode and variant, one record per run: wall time, the report's own figures."""
    profile, catalogue = load_profile(), load_catalogue()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    async with AfasClient(
        url_template=url_template,
        transport=args.transport,
        per_environment_limit=args.per_environment_limit,
    ) as client:

        async def check(deep: bool, sequential: bool) -> dict[str, Any]:
            started = time.perf_counter()
            report = await run_check(
                client,
                entry.environment,
                entry.token,
                profile=profile,
                catalogue=catalogue,
                deep=deep,
                sequential=sequential,
            )
            return {
                "wall_ms": round((time.perf_counter() - started) * 1000, 2),
                "duration_ms": round(report.duration_ms, 2),
                "requests": report.requests,
                "overall": report.overall.value,
                "healthy": report.healthy,
            }

        # Unmeasured: opens the pool's connections and warms the code paths.
        await check(deep=True, sequential=False)
        for mode, deep in MODES:
            runs[mode] = {variant: [] for variant, _ in VARIANTS}
            # Alternate the variants, so that drift on the machine hits both alike.
            for _ in range(args.repeat):
                for variant, sequential in VARIANTS:
                    runs[mode][variant].append(await check(deep, sequential))
    return runs


def summarise(
    runs: dict[str, dict[str, list[dict[str, Any]]]], latency_ms: int, limit: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per mode: medians, minima, the theoretical times and the speed-up; and the problems."""
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    requests_of: dict[str, int] = {}
    for mode, variants in runs.items():
        for variant, records in variants.items():
            for record in records:
                if not record["healthy"]:
                    problems.append(f"{mode} {variant}: report is {record['overall']}, not healthy")
        counts = {r["requests"] for records in variants.values() for r in records}
        if len(counts) != 1:
            problems.append(f"{mode}: concurrent and sequential made {sorted(counts)} requests")
        requests_of[mode] = max(counts)
    for mode, variants in runs.items():
        requests = requests_of[mode]
        # Step 1 is the normal check's probes; deep adds step 2 after it. Each step takes
        # one latency per round of at most ``limit`` requests to the environment.
        step_one = requests_of["normal"]
        rounds = math.ceil(step_one / limit)
        if mode == "deep":
            rounds += math.ceil((requests - step_one) / limit)
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
        "Check latency: concurrent against sequential probes",
    )


if __name__ == "__main__":
    sys.exit(main())
