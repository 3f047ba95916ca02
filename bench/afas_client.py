"""The bot's CPU per AFAS request and per check, for each way ``AfasClient`` can talk HTTP.

The sandbox (a separate process, so its CPU is not counted) answers every call after
``--latency-ms``. Each variant gets a fresh client and, after a warm-up, two phases measured
with ``time.process_time`` (this process's CPU, all threads): ``--requests`` calls of
``/profitversion`` by ``--concurrency`` workers round-robin over the environments, then
``--checks`` normal checks (``run_check``: the probe ladder and the diagnosis) the same way.
Variants run in turn, ``--repeat`` times, so that drift on the machine hits all alike; the
table shows medians and the ratio to the baseline.

The baseline is the client as it was: httpx on the ``httpx-aiohttp`` transport with a tenacity
``AsyncRetrying`` built for every request (kept here, and only here, as ``TenacityClient``).
``tenacity-copy`` reuses one tenacity template through ``.copy()``; the other variants are the
client's own retry loop on each transport.

    python bench/afas_client.py                  # 3 repeats of 5 variants, about 3 minutes
    python -m bench.afas_client --quick          # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from afas.check import run_check
from afas.client import AfasClient
from afas.environments import AfasEnvironment, EnvironmentKind
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import load_catalogue, load_profile
from afas.tokens import AfasToken
from bench._common import (
    SandboxEntry,
    SandboxProcess,
    apply_defaults,
    default_output,
    machine_facts,
    make_console,
    name_list,
    run,
    write_results,
)

SCRIPT = "afas_client"
FULL = {
    "requests": 1000,
    "checks": 500,
    "concurrency": 16,
    "latency_ms": 50,
    "environments": 64,
    "repeat": 3,
    "retrier_calls": 20000,
}
QUICK = {
    "requests": 100,
    "checks": 40,
    "concurrency": 8,
    "latency_ms": 20,
    "environments": 8,
    "repeat": 1,
    "retrier_calls": 1000,
}


# -- the retriers compared ---------------------------------------------------------------


class TenacityClient(AfasClient):
    """The client's request as it was before the retry loop: a tenacity ``AsyncRetrying``
    built for every idempotent request (``template=True``: one built in ``__init__`` and
    ``.copy()``-ed per request). Same semantics as the client's loop; bench only."""

    def __init__(self, *, template: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._template = self._retrying() if template else None

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._tenacity_wait,
            retry=retry_if_result(self._should_retry),
            retry_error_callback=lambda state: state.outcome.result(),
            sleep=self._sleep,
            reraise=True,
        )

    async def request(
        self,
        method: str,
        env: AfasEnvironment,
        token: AfasToken,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        connector_scoped: bool = False,
        idempotent: bool = False,
    ) -> AfasOutcome:
        if not path.startswith("/") or ".." in path or "?" in path:
            raise ValueError("path must be an absolute AFAS endpoint path")
        url = env.base_url(self.url_template) + path
        attempts = 0

        async def attempt() -> AfasOutcome:
            nonlocal attempts
            attempts += 1
            return await self._send_once(method, env, url, token, params, json, connector_scoped)

        if not idempotent:
            return await attempt()
        retrying = self._template.copy() if self._template is not None else self._retrying()
        outcome: AfasOutcome = await retrying(attempt)
        return replace(outcome, attempts=attempts)

    def _tenacity_wait(self, state: RetryCallState) -> float:
        outcome = state.outcome.result() if state.outcome else None
        if outcome is not None and outcome.retry_after is not None:
            return outcome.retry_after
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)


@dataclass(frozen=True)
class Variant:
    name: str
    transport: str
    make: Callable[..., AfasClient]
    what: str


def _tenacity(template: bool) -> Callable[..., AfasClient]:
    return lambda **kwargs: TenacityClient(template=template, **kwargs)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "baseline",
            "aiohttp",
            _tenacity(False),
            "httpx-aiohttp, tenacity/request",
        ),
        Variant(
            "tenacity-copy",
            "aiohttp",
            _tenacity(True),
            "httpx-aiohttp, tenacity .copy()",
        ),
        Variant("aiohttp", "aiohttp", AfasClient, "httpx-aiohttp, retry loop"),
        Variant("httpx", "httpx", AfasClient, "httpx-httpcore, retry loop"),
        Variant("aiohttp-direct", "aiohttp-direct", AfasClient, "aiohttp, retry loop"),
    )
}
BASELINE = "baseline"


# -- driving the client ------------------------------------------------------------------


@dataclass
class Phase:
    """What one batch of calls came to: wall and CPU time, requests made, failures."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    units: int = 0
    requests: int = 0
    failures: Counter[str] = field(default_factory=Counter)


async def _drive(
    total: int, concurrency: int, one: Callable[[int], Awaitable[tuple[int, str | None]]]
) -> Phase:
    """``total`` calls of ``one(i)`` by ``concurrency`` workers sharing one counter;
    ``one`` answers (requests made, failure label or None)."""
    phase = Phase(units=total)
    next_unit = 0

    async def worker() -> None:
        nonlocal next_unit
        while next_unit < total:
            unit = next_unit
            next_unit += 1
            try:
                requests, failure = await one(unit)
            except Exception as exc:  # the client promises not to raise: count it if it does
                phase.failures[f"raised {type(exc).__name__}"] += 1
                continue
            phase.requests += requests
            if failure:
                phase.failures[failure] += 1

    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.cpu_s = time.process_time() - cpu
    phase.wall_s = time.perf_counter() - wall
    return phase


def _label(outcome: AfasOutcome) -> str | None:
    if outcome.ok:
        return None
    status = f" HTTP {outcome.status}" if outcome.status else ""
    reason = f" ({outcome.reason})" if outcome.reason else ""
    return f"{outcome.kind.value}{status}{reason}"


async def measure_variant(
    args: argparse.Namespace,
    url_template: str,
    entries: Sequence[SandboxEntry],
    variant: Variant,
) -> dict[str, Any]:
    profile, catalogue = load_profile(), load_catalogue()
    # A fresh client per run, so that none inherits another's pool; the limits as in
    # production (4 per environment, the concurrency's worth of requests overall).
    client = variant.make(
        url_template=url_template,
        transport=variant.transport,
        per_environment_limit=4,
        total_limit=max(64, args.concurrency * 4),
    )

    async def request(i: int) -> tuple[int, str | None]:
        entry = entries[i % len(entries)]
        outcome = await client.profit_version(entry.environment, entry.token)
        return outcome.attempts, _label(outcome)

    async def check(i: int) -> tuple[int, str | None]:
        entry = entries[i % len(entries)]
        report = await run_check(
            client, entry.environment, entry.token, profile=profile, catalogue=catalogue
        )
        return report.requests, None if report.healthy else f"report {report.overall.value}"

    async with client:
        warmup = await _drive(args.concurrency * 2, args.concurrency, check)
        requests = await _drive(args.requests, args.concurrency, request)
        checks = await _drive(args.checks, args.concurrency, check)
    failures = warmup.failures + requests.failures + checks.failures
    return {
        "variant": variant.name,
        "transport": variant.transport,
        "requests_phase": _phase_figures(requests),
        "checks_phase": _phase_figures(checks),
        "cpu_ms_per_request": round(1000 * requests.cpu_s / requests.requests, 4),
        "cpu_ms_per_check": round(1000 * checks.cpu_s / checks.units, 4),
        "cpu_ms_per_check_request": round(1000 * checks.cpu_s / checks.requests, 4),
        "requests_per_check": round(checks.requests / checks.units, 2),
        "failures": sum(failures.values()),
        "failure_kinds": dict(failures),
    }


def _phase_figures(phase: Phase) -> dict[str, Any]:
    return {
        "units": phase.units,
        "requests": phase.requests,
        "wall_s": round(phase.wall_s, 4),
        "cpu_s": round(phase.cpu_s, 4),
        "cpu_share_of_wall": round(phase.cpu_s / phase.wall_s, 3) if phase.wall_s else None,
        "failures": sum(phase.failures.values()),
    }


async def retrier_cost(calls: int) -> dict[str, float]:
    """Microseconds of CPU per request in the request path alone (the retrier and the
    wrapper around it), with ``_send_once`` answering at once: no network, no noise from it."""
    answer = AfasOutcome(OutcomeKind.OK)
    env, token = AfasEnvironment("1", EnvironmentKind.PRODUCTION), AfasToken("0" * 64)
    makers: dict[str, Callable[[], AfasClient]] = {
        "tenacity per request": lambda: TenacityClient(template=False),
        "tenacity .copy()": lambda: TenacityClient(template=True),
        "retry loop": AfasClient,
    }
    costs: dict[str, float] = {}
    for name, make in makers.items():
        client = make()

        async def at_once(*args: Any) -> AfasOutcome:
            return answer

        client._send_once = at_once  # type: ignore[method-assign]
        for _ in range(calls // 10):  # warm-up
            await client.profit_version(env, token)
        cpu = time.process_time()
        for _ in range(calls):
            await client.profit_version(env, token)
        costs[name] = round(1e6 * (time.process_time() - cpu) / calls, 2)
        await client.aclose()
    return costs


async def measure(args: argparse.Namespace, console: Console) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    with SandboxProcess(args.environments, latency_ms=args.latency_ms) as sandbox:
        console.print(
            f"[dim]sandbox pid {sandbox.pid}: {len(sandbox.entries)} environments, "
            f"{args.latency_ms} ms per call[/dim]"
        )
        for repeat in range(args.repeat):
            for name in args.variants:
                figures = await measure_variant(
                    args, sandbox.url_template, sandbox.entries, VARIANTS[name]
                )
                figures["repeat"] = repeat
                console.print(
                    f"[dim]{name:>14} #{repeat + 1}: "
                    f"{figures['cpu_ms_per_request']:.3f} ms/request, "
                    f"{figures['cpu_ms_per_check']:.3f} ms/check, "
                    f"{figures['failures']} failures[/dim]"
                )
                runs.append(figures)
    return runs


def summarise(runs: Sequence[dict[str, Any]], variants: Sequence[str]) -> list[dict[str, Any]]:
    """Per variant: the medians over the repeats, and their ratio to the baseline's."""
    rows: list[dict[str, Any]] = []
    for name in variants:
        mine = [r for r in runs if r["variant"] == name]
        rows.append(
            {
                "variant": name,
                "transport": VARIANTS[name].transport,
                "what": VARIANTS[name].what,
                "repeats": len(mine),
                "cpu_ms_per_request": _median(mine, "cpu_ms_per_request"),
                "cpu_ms_per_check": _median(mine, "cpu_ms_per_check"),
                "cpu_ms_per_check_request": _median(mine, "cpu_ms_per_check_request"),
                "requests_per_check": _median(mine, "requests_per_check"),
                "requests_per_s": round(
                    statistics.median(
                        r["requests_phase"]["requests"] / r["requests_phase"]["wall_s"]
                        for r in mine
                    ),
                    1,
                ),
                "failures": sum(r["failures"] for r in mine),
            }
        )
    base = next((row for row in rows if row["variant"] == BASELINE), None)
    for row in rows:
        for key in ("cpu_ms_per_request", "cpu_ms_per_check"):
            row[f"{key}_ratio"] = round(row[key] / base[key], 3) if base else None
    return rows


def _median(runs: Sequence[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 4)


def table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    out = Table(title=title)
    out.add_column("variant", no_wrap=True)
    out.add_column("HTTP stack, retrier", no_wrap=True)
    for name in ("CPU ms/req", "× base", "CPU ms/check", "× base", "req/check", "req/s"):
        out.add_column(name, justify="right")
    out.add_column("failures", justify="right")
    for row in rows:
        ok = row["failures"] == 0
        out.add_row(
            row["variant"],
            row["what"],
            f"{row['cpu_ms_per_request']:.3f}",
            _ratio(row["cpu_ms_per_request_ratio"]),
            f"{row['cpu_ms_per_check']:.3f}",
            _ratio(row["cpu_ms_per_check_ratio"]),
            f"{row['requests_per_check']:.1f}",
            f"{row['requests_per_s']:,.0f}",
            "0" if ok else f"[bold red]✗ {row['failures']}[/bold red]",
            style=None if ok else "red",
        )
    return out


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else ""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.afas_client", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, help=f"per run (default {FULL['requests']})")
    parser.add_argument("--checks", type=int, help=f"per run (default {FULL['checks']})")
    parser.add_argument("--concurrency", type=int, help="workers (default 16)")
    parser.add_argument("--latency-ms", type=int, help="the sandbox's answer time (default 50)")
    parser.add_argument("--environments", type=int, help="sandbox environments (default 64)")
    parser.add_argument("--repeat", type=int, help="runs per variant (default 3)")
    parser.add_argument(
        "--retrier-calls", type=int, help="calls per retrier, without network (default 20000)"
    )
    parser.add_argument(
        "--variants",
        type=name_list,
        default=list(VARIANTS),
        help=f"comma-separated, of {', '.join(VARIANTS)} (default all)",
    )
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--output", type=Path, default=default_output(SCRIPT))
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny N at 20 ms")
    args = apply_defaults(parser.parse_args(argv), FULL, QUICK)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown or not args.variants:
        parser.error(f"--variants: use {', '.join(VARIANTS)}, not {unknown}")
    counts = ("requests", "checks", "concurrency", "latency_ms", "environments", "repeat")
    counts += ("retrier_calls",)
    if min(getattr(args, name) for name in counts) < 1:
        parser.error("every count (--requests, --checks, --repeat, ...) must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    load_before = os.getloadavg()
    try:
        runs = run(measure(args, console), args.loop)
    except KeyboardInterrupt:
        console.print("[red]interrupted; the sandbox was stopped[/red]")
        return 130
    rows = summarise(runs, args.variants)
    retriers = run(retrier_cost(args.retrier_calls), args.loop)
    failures = sum(row["failures"] for row in rows)
    parameters = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    results = {
        "benchmark": SCRIPT,
        "machine": machine_facts(),
        # Other work on the machine makes CPU figures noisier (the ratios, from variants
        # run in turn, less so): the 1-minute load average before and after.
        "load_average": {"before": load_before[0], "after": os.getloadavg()[0]},
        "parameters": parameters,
        "baseline": BASELINE if BASELINE in args.variants else None,
        "variants": rows,
        "retrier_us_per_request": retriers,
        "runs": runs,
        "failures": failures,
        "ok": failures == 0,
    }
    path = write_results(args.output, results)
    console.print(
        table(
            rows,
            f"AfasClient CPU: {args.requests} × /profitversion and {args.checks} normal checks "
            f"per run, {args.concurrency} at a time, sandbox {args.latency_ms} ms, "
            f"{args.environments} environments, median of {args.repeat}",
        )
    )
    console.print(
        "Retrier alone, µs of CPU per request (no network): "
        + ", ".join(f"{name} {us:.1f}" for name, us in retriers.items())
    )
    machine = results["machine"]
    console.print(
        f"{machine['cpus_usable']} CPUs, Python {machine['python']}, {machine['platform']}, "
        f"client loop {args.loop}; CPU = time.process_time of this process (the sandbox is "
        f"another). Figures: {path}"
    )
    load = max(results["load_average"].values())
    if load > (machine["cpus_usable"] or 1):
        console.print(f"[yellow]load average {load:.1f}: other work shared the CPUs[/yellow]")
    if failures:
        console.print(f"[bold red]{failures} calls failed: see failure_kinds in {path}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
