"""Requests per second through ``AfasClient``: the aiohttp transport against httpx's own.

The sandbox (a separate process) answers every call after ``--latency-ms``; ``concurrency``
worker tasks pull request numbers from one shared counter and call ``/profitversion``
round-robin over many environments, so the client's per-environment limit (4, as in
production) never binds and ``total_limit = concurrency`` is the only bound. The ceiling is
then ``concurrency / latency`` requests per second; the table shows how close each
transport comes to it, with per-request latency percentiles and the aiohttp/httpx ratio.

    python bench/client_throughput.py            # 3,000 requests per cell, about 2 minutes
    python -m bench.client_throughput --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from afas.client import AfasClient, TransportName
from afas.outcomes import AfasOutcome
from bench._common import (
    SandboxEntry,
    SandboxProcess,
    apply_defaults,
    default_output,
    int_list,
    machine_facts,
    make_console,
    name_list,
    percentiles,
    run,
    write_results,
)

SCRIPT = "client_throughput"
TRANSPORTS: tuple[TransportName, ...] = ("aiohttp", "httpx")
FULL = {
    "requests": 3000,
    "concurrency": [8, 32, 64],
    "latency_ms": 50,
    "environments": 64,
    "warmup_rounds": 2,
}
QUICK = {
    "requests": 200,
    "concurrency": [8, 32],
    "latency_ms": 20,
    "environments": 16,
    "warmup_rounds": 1,
}


@dataclass
class Drive:
    """What one batch of requests came to."""

    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)


async def drive(
    client: AfasClient, entries: Sequence[SandboxEntry], concurrency: int, total: int
) -> Drive:
    """``total`` calls by exactly ``concurrency`` workers sharing one counter."""
    result = Drive()
    next_request = 0

    async def worker() -> None:
        nonlocal next_request
        while next_request < total:
            entry = entries[next_request % len(entries)]
            next_request += 1
            started = time.perf_counter()
            try:
                outcome = await client.profit_version(entry.environment, entry.token)
            except Exception as exc:  # the client promises not to raise: count it if it does
                result.failures[f"raised {type(exc).__name__}"] += 1
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            if not outcome.ok:
                result.failures[_failure_label(outcome)] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.wall_s = time.perf_counter() - started
    return result


def _failure_label(outcome: AfasOutcome) -> str:
    status = f" HTTP {outcome.status}" if outcome.status else ""
    reason = f" ({outcome.reason})" if outcome.reason else ""
    return f"{outcome.kind.value}{status}{reason}"


async def measure_cell(
    args: argparse.Namespace,
    url_template: str,
    entries: Sequence[SandboxEntry],
    transport: TransportName,
    concurrency: int,
) -> dict[str, Any]:
    # A fresh client per cell, so that no cell inherits another's pool. No retries: a
    # failed request must show as a failure, not as a slower success.
    async with AfasClient(
        url_template=url_template,
        transport=transport,
        per_environment_limit=args.per_environment_limit,
        total_limit=concurrency,
        retries=0,
    ) as client:
        warmup = await drive(client, entries, concurrency, args.warmup_rounds * concurrency)
        measured = await drive(client, entries, concurrency, args.requests)
    rate = args.requests / measured.wall_s
    bound = concurrency / (args.latency_ms / 1000)
    failures = sum(measured.failures.values())
    return {
        "transport": transport,
        "concurrency": concurrency,
        "requests": args.requests,
        "warmup_requests": args.warmup_rounds * concurrency,
        "warmup_failures": sum(warmup.failures.values()),
        "wall_s": round(measured.wall_s, 4),
        "req_per_s": round(rate, 1),
        "bound_req_per_s": round(bound, 1),
        "pct_of_bound": round(100 * rate / bound, 1),
        "latency_ms": {
            key: round(value, 2) for key, value in percentiles(measured.latencies_ms).items()
        }
        | {
            "min": round(min(measured.latencies_ms, default=float("nan")), 2),
            "max": round(max(measured.latencies_ms, default=float("nan")), 2),
        },
        "failures": failures,
        "failure_kinds": dict(measured.failures),
        "ok": failures == 0,
    }


async def measure(args: argparse.Namespace, console: Console) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = []
    with SandboxProcess(args.environments, latency_ms=args.latency_ms) as sandbox:
        console.print(
            f"[dim]sandbox pid {sandbox.pid}: {len(sandbox.entries)} environments, "
            f"{args.latency_ms} ms per call, {sandbox.url_template}[/dim]"
        )
        # Concurrency outside, transport inside: both transports see the same conditions.
        for concurrency in args.concurrency:
            for transport in args.transports:
                cell = await measure_cell(
                    args, sandbox.url_template, sandbox.entries, transport, concurrency
                )
                console.print(
                    f"[dim]{transport:>7} x {concurrency:<3}: {cell['req_per_s']:8.1f} req/s, "
                    f"{cell['failures']} failures[/dim]"
                )
                cells.append(cell)
    return cells


def ratios(cells: Sequence[dict[str, Any]]) -> dict[str, float]:
    """aiohttp's requests per second over httpx's, per concurrency (where both ran)."""
    rate = {(c["transport"], c["concurrency"]): c["req_per_s"] for c in cells}
    return {
        str(concurrency): round(rate[("aiohttp", concurrency)] / rate[("httpx", concurrency)], 2)
        for (transport, concurrency) in rate
        if transport == "aiohttp" and ("httpx", concurrency) in rate
    }


def table(cells: Sequence[dict[str, Any]], by_concurrency: dict[str, float], title: str) -> Table:
    out = Table(title=title)
    for name in ("transport", "concurrency", "req/s", "bound", "% of bound"):
        out.add_column(name, justify="left" if name == "transport" else "right")
    for name in ("p50 ms", "p95 ms", "p99 ms", "aiohttp/httpx", "failures"):
        out.add_column(name, justify="right")
    for cell in cells:
        latency = cell["latency_ms"]
        ratio = by_concurrency.get(str(cell["concurrency"]))
        if cell["transport"] != "aiohttp":
            ratio = None
        out.add_row(
            cell["transport"],
            str(cell["concurrency"]),
            f"{cell['req_per_s']:,.1f}",
            f"{cell['bound_req_per_s']:,.0f}",
            f"{cell['pct_of_bound']:.1f}%",
            f"{latency['p50']:.1f}",
            f"{latency['p95']:.1f}",
            f"{latency['p99']:.1f}",
            f"{ratio:.2f}x" if ratio is not None else "",
            "0" if cell["ok"] else f"[bold red]✗ {cell['failures']}[/bold red]",
            style=None if cell["ok"] else "red",
        )
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.client_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, help=f"per cell (default {FULL['requests']})")
    parser.add_argument(
        "--concurrency",
        type=int_list,
        help="comma-separated worker counts (default 8,32,64)",
    )
    parser.add_argument(
        "--transports",
        type=name_list,
        default=list(TRANSPORTS),
        help="comma-separated, of aiohttp and httpx (default both)",
    )
    parser.add_argument("--latency-ms", type=int, help="the sandbox's answer time (default 50)")
    parser.add_argument("--environments", type=int, help="sandbox environments (default 64)")
    parser.add_argument(
        "--warmup-rounds",
        type=int,
        help="unmeasured requests per cell, in multiples of the concurrency (default 2)",
    )
    parser.add_argument("--per-environment-limit", type=int, default=4)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--output", type=Path, default=default_output(SCRIPT))
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 200 requests at 8 and 32, 20 ms"
    )
    args = apply_defaults(parser.parse_args(argv), FULL, QUICK)
    unknown = [t for t in args.transports if t not in TRANSPORTS]
    if unknown or not args.transports:
        parser.error(f"--transports: use aiohttp and/or httpx, not {unknown}")
    if args.requests < 1 or args.latency_ms < 1 or args.environments < 1:
        parser.error("--requests, --latency-ms and --environments must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    try:
        cells = run(measure(args, console), args.loop)
    except KeyboardInterrupt:
        console.print("[red]interrupted; the sandbox was stopped[/red]")
        return 130
    by_concurrency = ratios(cells)
    failures = sum(cell["failures"] for cell in cells)
    parameters = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    results = {
        "benchmark": SCRIPT,
        "machine": machine_facts(),
        "parameters": parameters,
        "cells": cells,
        "ratio_aiohttp_over_httpx": by_concurrency,
        "failures": failures,
        "ok": failures == 0,
    }
    path = write_results(args.output, results)
    console.print(
        table(
            cells,
            by_concurrency,
            f"AfasClient throughput: {args.requests} × /profitversion per cell, sandbox "
            f"{args.latency_ms} ms, {args.environments} environments, "
            f"{args.per_environment_limit} per environment",
        )
    )
    machine = results["machine"]
    console.print(
        f"{machine['cpus_usable']} CPUs, Python {machine['python']}, {machine['platform']}, "
        f"client loop {args.loop}; bound = concurrency / latency. Figures: {path}"
    )
    if failures:
        console.print(f"[bold red]{failures} requests failed: see failure_kinds in {path}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
