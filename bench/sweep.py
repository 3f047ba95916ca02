"""The continuous scheduler (``bot/scheduler.py``) against many sandbox environments: checks
per 15 minutes against the interval's need and the concurrency bound, the bot's CPU per check
and peak RSS, a sequential helpdesk script as the baseline, and a person's check while the
sweep saturates AFAS.

One cell per AFAS latency and database: the sandbox (a separate process, so its CPU is not
the bot's) serves ``--orgs`` environments; a fresh database holds one org per environment,
each on its own grid (``bot.schedule.next_check_at``) with its interval written directly and
scaled so that the orgs ask for as many checks per second as 10,000 orgs every 900 s do
(``--interval``; ``--orgs 10000`` is the real thing), and the scheduler runs for a window
(``--seconds``). Figures per 15 minutes are the window's rate times 900 s. Each cell runs in
a child process of its own, so its CPU and peak RSS are its own.
The AFAS limits are the settings' defaults: the scheduler's capacity is (total − people
slots) ÷ per environment.

    python bench/sweep.py                      # 2,000 orgs, 60 s windows, about 6 minutes
    python bench/sweep.py --orgs 10000         # the issue's size
    python -m bench.sweep --quick              # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.table import Table

from bench._common import (
    REPO_ROOT,
    SandboxEntry,
    SandboxProcess,
    apply_defaults,
    default_output,
    int_list,
    machine_facts,
    make_console,
    name_list,
    percentiles,
    write_results,
)

SCRIPT = "sweep"
BACKENDS = ("sqlite", "postgres")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Today's figures (issue 11): CPU per scheduled check and the process's RSS.
OLD_CPU_MS = {"sqlite": 7.5, "postgres": 9.5}  # PostgreSQL: 9–10 ms
OLD_RSS_MB = 160.0
OLD_CHECKS_PER_15_MIN = 3000  # AFASBOT_SWEEP_LIMIT 100 per 30 s tick
PRODUCTION_INTERVAL = 900
#: Not re-measured here: ``bench/storage_growth.py``'s figures as the README gives them.
GROWTH = (
    "about 18 KB per org per day within AFASBOT_RETENTION_DAYS (30), 0.2-0.3 KB per compacted "
    "day after it: about 0.55 MB per org at steady state"
)
TARGET_ORGS = 10_000  # the goal: so many orgs every 900 s
FULL = {
    "orgs": 2000,
    "seconds": 60.0,
    "latencies": [50, 1000],
    "sequential_sample": 10,
    "people_latency_ms": 5000,  # the issue: a sweep saturating AFAS at 5 s per answer
    "people": 5,
    "people_orgs": 400,
}
QUICK = {
    "orgs": 60,
    "seconds": 4.0,
    "latencies": [20],
    "sequential_sample": 3,
    "people_latency_ms": 300,
    "people": 2,
    "people_orgs": 60,
}


# -- one cell, in a child process ---------------------------------------------------------


def _entries_json(entries: Sequence[SandboxEntry]) -> list[dict[str, str]]:
    return [
        {
            "name": e.name,
            "number": e.environment.number,
            "kind": e.environment.kind.value,
            "token": e.token.canonical,
        }
        for e in entries
    ]


def _entries(data: list[dict[str, str]]) -> list[SandboxEntry]:
    from bench._common import _entry

    return [_entry(item) for item in data]


def _database(backend: str, folder: Path) -> tuple[str, Any]:
    """A new, migrated database; returns its URL and a function that drops it."""
    from storage import schema

    if backend == "sqlite":
        url = f"sqlite:///{folder / 'afasbot.sqlite3'}"
        schema.upgrade(url)
        return url, lambda: None
    import psycopg

    name = f"afasbot_bench_sweep_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        schema.upgrade(url)
    except BaseException:
        drop()
        raise
    return url, drop


def _insert_orgs(
    runtime: Any, entries: Sequence[SandboxEntry], *, interval: int, start: datetime, due: str
) -> None:
    """One org per environment in one statement (registering each through AFAS would take
    minutes). ``due="grid"``: each org's first check is its own grid slot at or after
    ``start`` (``bot.schedule.next_check_at``), so the orgs spread over the interval as they
    do in production; ``due="now"``: all overdue (a backlog that keeps the sweep saturated).
    The last deep check is ``start``: the window measures the normal scheduled check (a deep
    one is due once per ``AFASBOT_DRIFT_CHECK_HOURS``)."""
    from sqlalchemy import insert

    from bot.schedule import next_check_at
    from storage.models import Org

    cipher = runtime.require_cipher()
    rows = []
    for index, entry in enumerate(entries, start=1):
        ciphertext, key_id = cipher.encrypt(entry.token)
        if due == "grid":
            # the first slot after start - tiny (next_check_at keeps half an interval away)
            first = next_check_at(index, interval, start - timedelta(seconds=interval / 2 + 1e-3))
        else:
            first = start - timedelta(seconds=1)
        rows.append(
            {
                "id": index,
                "key": entry.name,
                "display_name": f"{entry.name} B.V.",
                "env_number": entry.environment.number,
                "env_kind": entry.environment.kind.value,
                "token_ciphertext": ciphertext,
                "token_key_id": key_id,
                "token_fingerprint": entry.token.fingerprint,
                "check_interval_seconds": interval,
                "next_check_at": first,
                "last_deep_check_at": start,
                "created_by": "bench",
                "created_at": start,
                "updated_by": "bench",
                "updated_at": start,
            }
        )
    with runtime.session() as session:
        for chunk in range(0, len(rows), 1000):
            session.execute(insert(Org), rows[chunk : chunk + 1000])
        session.commit()


def _runtime(url: str, url_template: str) -> Any:
    from bot.runtime import open_runtime
    from bot.settings import Settings
    from storage.crypto import generate_key

    return open_runtime(
        Settings(
            _env_file=None,
            database_url=url,
            encryption_keys=generate_key(),
            encryption_key_file=None,
            afas_url_template=url_template,
        )
    )


def _overdue(runtime: Any) -> int:
    from storage.scheduling import overdue_count

    with runtime.session() as session:
        return overdue_count(session, now=datetime.now(UTC), grace=timedelta(seconds=60))


def _due_by(runtime: Any, until: datetime) -> int:
    """Orgs due by ``until``: what a window ending then must check (the grid's per-org offsets
    are a hash, so a window holds the interval's share only on average)."""
    from sqlalchemy import func, select

    from storage.models import Org

    with runtime.session() as session:
        return session.execute(
            select(func.count()).select_from(Org).where(Org.next_check_at <= until)
        ).scalar_one()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _sweep_window(spec: dict[str, Any], runtime: Any) -> dict[str, Any]:
    """Run the scheduler for the window; CPU and checks counted up to its end."""
    from bot.scheduler import ContinuousScheduler

    paces: list[Any] = []
    due = await asyncio.to_thread(
        _due_by, runtime, datetime.now(UTC) + timedelta(seconds=spec["seconds"])
    )
    async with runtime.afas_client() as client:
        scheduler = ContinuousScheduler(runtime, client, owner="bench", pace=paces.append)
        stop = asyncio.Event()
        peak = 0
        cpu0, wall0 = time.process_time(), time.monotonic()
        task = asyncio.create_task(scheduler.run(stop))
        deadline = wall0 + spec["seconds"]
        while time.monotonic() < deadline and not task.done():
            peak = max(peak, len(scheduler._tasks))
            await asyncio.sleep(0.05)
        checked, cpu, wall = scheduler.checked, time.process_time() - cpu0, time.monotonic() - wall0
        started = len(scheduler.lateness)  # checks started in the window (recorded or not yet)
        overdue = await asyncio.to_thread(_overdue, runtime)
        stop.set()
        await asyncio.wait_for(task, 120)
    durations = sorted(scheduler._durations)
    late = sorted(scheduler.lateness)
    return {
        # how late each check started after its org fell due (the interval kept, per org)
        "late_s_p50": round(late[len(late) // 2], 3) if late else None,
        "late_s_p99": round(late[int(len(late) * 0.99)], 3) if late else None,
        "late_s_max": round(late[-1], 3) if late else None,
        "checks": checked,
        "started": started,
        "due_in_window": due,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 3),
        "capacity": scheduler.capacity,
        "peak_in_flight": peak,
        "seconds_per_check_median": round(statistics.median(durations), 4) if durations else None,
        "overdue_at_end": overdue,
        "behind": sorted({p.behind for p in paces if p.behind}),
    }


async def _people(spec: dict[str, Any], runtime: Any, entries: Sequence[SandboxEntry]) -> Any:
    """With every org overdue, the sweep keeps its capacity busy; meanwhile people check orgs
    one after another (each a different person), from the start of the check to its report."""
    from bot.scheduler import ContinuousScheduler
    from bot.services.checks import check_org
    from storage.models import CheckTrigger

    waits: list[float] = []
    requests: set[int] = set()
    async with runtime.afas_client() as client:
        # idle: the same check with nothing else running, for the bound
        idle = []
        for entry in entries[-2:]:
            started = time.perf_counter()
            result = await check_org(
                runtime, client, entry.name, trigger=CheckTrigger.COMMAND, actor="Uidle"
            )
            idle.append(time.perf_counter() - started)
            requests.add(result.report.requests)
        scheduler = ContinuousScheduler(runtime, client, owner="bench")
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        try:
            deadline = time.monotonic() + 30
            while len(scheduler._tasks) < scheduler.capacity and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            saturated = len(scheduler._tasks)
            # orgs the sweep has not reached yet: a person's check of an org the sweep is
            # checking at that moment shares its environment's slots and waits a round
            people = entries[-2 - spec["people"] : -2]
            for index, entry in enumerate(people):
                started = time.perf_counter()
                result = await check_org(
                    runtime, client, entry.name, trigger=CheckTrigger.COMMAND, actor=f"U{index}"
                )
                waits.append(time.perf_counter() - started)
                requests.add(result.report.requests)
            in_flight_after = len(scheduler._tasks)
        finally:
            stop.set()
            await asyncio.wait_for(task, 120)
    return {
        "sweep_in_flight_at_start": saturated,
        "sweep_in_flight_at_end": in_flight_after,
        "capacity": scheduler.capacity,
        "requests_per_check": sorted(requests),
        "idle_s": [round(v, 3) for v in idle],
        "wait_s": [round(v, 3) for v in waits],
    }


async def _sequential(spec: dict[str, Any], runtime: Any, entries: Sequence[SandboxEntry]) -> Any:
    """A helpdesk script: one org after another, ``run_check`` with no concurrency at all
    (probes one after another too), and with its probes concurrent; nothing recorded."""
    from afas.check import run_check

    out: dict[str, Any] = {}
    async with runtime.afas_client() as client:
        await run_check(client, entries[0].environment, entries[0].token, profile=runtime.profile)
        for variant, sequential in (("script", True), ("script_concurrent_probes", False)):
            started = time.perf_counter()
            for entry in entries[: spec["sequential_sample"]]:
                await run_check(
                    client,
                    entry.environment,
                    entry.token,
                    profile=runtime.profile,
                    sequential=sequential,
                )
            wall = time.perf_counter() - started
            out[variant] = {
                "checks": spec["sequential_sample"],
                "wall_s": round(wall, 3),
                "checks_per_s": round(spec["sequential_sample"] / wall, 3),
            }
    return out


def cell_main(spec_path: Path, out_path: Path) -> int:
    """A child process: one database, one measurement (``spec["kind"]``), JSON out."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    entries = _entries(spec["entries"])
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        url, drop = _database(spec["backend"], Path(folder))
        try:
            runtime = _runtime(url, spec["url_template"])
            try:
                start = datetime.now(UTC) + timedelta(seconds=1)
                interval = spec["interval"]
                _insert_orgs(
                    runtime,
                    entries,
                    interval=interval,
                    start=start,
                    due="grid" if spec["kind"] == "sweep" else "now",
                )
                if spec["kind"] in ("sweep", "saturated"):
                    rss_before = _rss_mb()
                    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
                    result = asyncio.run(_sweep_window(spec, runtime))
                    result |= {"interval_s": interval, "rss_before_mb": round(rss_before, 1)}
                    if spec.get("sequential_sample"):
                        result["sequential"] = asyncio.run(_sequential(spec, runtime, entries))
                else:
                    result = asyncio.run(_people(spec, runtime, entries))
                result["peak_rss_mb"] = round(_rss_mb(), 1)
            finally:
                runtime.close()
        finally:
            drop()
    out_path.write_text(json.dumps(result), encoding="utf-8")
    return 0


# -- the parent: sandboxes, cells, figures ------------------------------------------------


def _run_cell(spec: dict[str, Any], folder: Path, console: Any) -> dict[str, Any]:
    spec_path = folder / f"spec-{uuid.uuid4().hex[:8]}.json"
    out_path = spec_path.with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    timeout = spec["seconds"] * 3 + 300
    done = subprocess.run(
        [sys.executable, "-m", "bench.sweep", "--cell", str(spec_path), str(out_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"PYTHONPATH": str(REPO_ROOT)},
    )
    if done.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"the {spec['kind']} cell failed:\n{done.stderr[-3000:]}")
    return json.loads(out_path.read_text(encoding="utf-8"))


def sweep_row(
    backend: str, latency_ms: int, orgs: int, cell: dict[str, Any], rounds: int
) -> dict[str, Any]:
    """The figures of one window, scaled to production's 15 minutes and 900 s interval."""
    seconds = cell["wall_s"]
    rate = cell["checks"] / seconds
    need_rate = orgs / cell["interval_s"]  # each org once per interval
    check_s = rounds * latency_ms / 1000  # one check: its rounds of AFAS answers
    bound_rate = cell["capacity"] / check_s  # the concurrency bound (capacity / s per check)
    cpu_ms = 1000 * cell["cpu_s"] / max(1, cell["checks"])
    script = cell["sequential"]["script"]["checks_per_s"]
    return {
        "backend": backend,
        "latency_ms": latency_ms,
        "orgs": orgs,
        "window_s": seconds,
        "interval_s": cell["interval_s"],
        "checks": cell["checks"],
        "checks_per_s": round(rate, 2),
        "need_per_s": round(need_rate, 2),
        # the orgs this load stands for at production's 900 s
        "equivalent_orgs_at_900_s": round(need_rate * PRODUCTION_INTERVAL),
        "checks_per_15_min": round(rate * PRODUCTION_INTERVAL),
        "need_per_15_min": round(need_rate * PRODUCTION_INTERVAL),
        "bound_per_s": round(bound_rate, 1),
        "ratio_to_need": round(rate / need_rate, 3),
        # the orgs that fell due by the window's end, against the checks started in it
        "due_in_window": cell["due_in_window"],
        "started": cell["started"],
        "ratio_to_due": round(cell["started"] / max(1, cell["due_in_window"]), 3),
        "ratio_to_bound": round(rate / bound_rate, 3),
        # production: orgs x 900 / interval are needed per 15 minutes; at this rate the
        # process does rate x 900 (if the orgs asked for that many)
        "checks_per_15_min_capacity_cpu": round(1000 / cpu_ms * PRODUCTION_INTERVAL)
        if cpu_ms
        else None,
        "cpu_ms_per_check": round(cpu_ms, 2),
        "cpu_ratio_to_old": round(cpu_ms / OLD_CPU_MS[backend], 2),
        "cpu_share_of_core": round(cell["cpu_s"] / seconds, 2),
        "peak_rss_mb": cell["peak_rss_mb"],
        "rss_ratio_to_old": round(cell["peak_rss_mb"] / OLD_RSS_MB, 2),
        "capacity": cell["capacity"],
        "peak_in_flight": cell["peak_in_flight"],
        "seconds_per_check_median": cell["seconds_per_check_median"],
        "overdue_at_end": cell["overdue_at_end"],
        "late_s_p50": cell["late_s_p50"],
        "late_s_p99": cell["late_s_p99"],
        "late_s_max": cell["late_s_max"],
        "behind": cell["behind"],
        "script_checks_per_s": script,
        "speedup_over_script": round(rate / script, 1),
        "script_concurrent_probes_checks_per_s": cell["sequential"]["script_concurrent_probes"][
            "checks_per_s"
        ],
        # kept: no org late by over a minute at the end, and (nearly) every org that fell due
        # in the window started in it (the last half second's may start just after it)
        "ok": cell["overdue_at_end"] == 0 and cell["started"] >= 0.97 * cell["due_in_window"],
    }


def saturated_row(
    backend: str, latency_ms: int, cell: dict[str, Any], rounds: int
) -> dict[str, Any]:
    """Every org overdue: what one process can do, and the CPU per check at that pace."""
    rate = cell["checks"] / cell["wall_s"]
    bound_rate = cell["capacity"] / (rounds * latency_ms / 1000)
    cpu_ms = 1000 * cell["cpu_s"] / max(1, cell["checks"])
    return {
        "backend": backend,
        "latency_ms": latency_ms,
        "window_s": cell["wall_s"],
        "checks": cell["checks"],
        "checks_per_s": round(rate, 1),
        "checks_per_15_min": round(rate * PRODUCTION_INTERVAL),
        "old_per_15_min": OLD_CHECKS_PER_15_MIN,
        "bound_per_s": round(bound_rate, 1),
        "ratio_to_bound": round(rate / bound_rate, 3),
        "cpu_ms_per_check": round(cpu_ms, 2),
        "cpu_ratio_to_old": round(cpu_ms / OLD_CPU_MS[backend], 2),
        "cpu_share_of_core": round(cell["cpu_s"] / cell["wall_s"], 2),
        "peak_in_flight": cell["peak_in_flight"],
        "capacity": cell["capacity"],
        "peak_rss_mb": cell["peak_rss_mb"],
        "behind": cell["behind"],
    }


def saturated_table(rows: Sequence[dict[str, Any]]) -> Table:
    out = Table(title="Every org overdue: one process's ceiling")
    out.add_column("db")
    names = ("AFAS ms", "checks/s", "per 15 min", "bound/s", "÷ bound", "in flight")
    names += ("CPU ms", "÷ today", "core share", "RSS MB")
    for name in names:
        out.add_column(name, justify="right")
    for r in rows:
        out.add_row(
            r["backend"],
            str(r["latency_ms"]),
            f"{r['checks_per_s']:,.1f}",
            f"{r['checks_per_15_min']:,}",
            f"{r['bound_per_s']:,.0f}",
            f"{r['ratio_to_bound']:.3f}",
            f"{r['peak_in_flight']}/{r['capacity']}",
            f"{r['cpu_ms_per_check']:.2f}",
            f"{r['cpu_ratio_to_old']:.2f}",
            f"{r['cpu_share_of_core']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
        )
    return out


def people_row(latency_ms: int, cell: dict[str, Any], limit: int) -> dict[str, Any]:
    requests = max(cell["requests_per_check"])
    bound = math.ceil(requests / limit) * latency_ms / 1000
    waits = cell["wait_s"]
    p = percentiles(waits)
    return {
        "latency_ms": latency_ms,
        "checks": len(waits),
        "bound_s": bound,
        "idle_s_median": statistics.median(cell["idle_s"]),
        "wait_s_median": round(statistics.median(waits), 3),
        "wait_s_max": max(waits),
        "wait_s_p95": round(p["p95"], 3),
        "ratio_median": round(statistics.median(waits) / bound, 2),
        "ratio_max": round(max(waits) / bound, 2),
        "sweep_in_flight": cell["sweep_in_flight_at_start"],
        "sweep_in_flight_at_end": cell["sweep_in_flight_at_end"],
        "capacity": cell["capacity"],
        "ok": max(waits) / bound <= 1.2,
    }


def measure(args: argparse.Namespace, console: Any, folder: Path) -> dict[str, Any]:
    from bot.settings import Settings

    defaults = Settings(_env_file=None)
    limit = defaults.afas_per_environment_limit
    rounds = 1  # a normal check: 4 requests, at most 4 per environment at once
    rows: list[dict[str, Any]] = []
    saturated: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    for latency in args.latencies:
        with SandboxProcess(args.orgs, latency_ms=latency, start_timeout=120) as sandbox:
            console.print(
                f"[dim]sandbox pid {sandbox.pid}: {args.orgs} environments, {latency} ms[/dim]"
            )
            entries = _entries_json(sandbox.entries)
            script = None
            for backend in args.backends:
                spec = {
                    "kind": "sweep",
                    "backend": backend,
                    "url_template": sandbox.url_template,
                    "entries": entries,
                    "seconds": args.seconds,
                    "interval": args.interval,
                    # the script does not touch the database: once per latency
                    "sequential_sample": 0 if script else args.sequential_sample,
                }
                cell = _run_cell(spec, folder, console)
                script = script or cell.get("sequential")
                cell["sequential"] = script
                raw.append({"backend": backend, "latency_ms": latency, **cell})
                row = sweep_row(backend, latency, args.orgs, cell, rounds)
                rows.append(row)
                console.print(
                    f"[dim]{backend:>8} {latency:>5} ms: {row['checks']} checks, "
                    f"{row['checks_per_s']}/s of {row['need_per_s']}/s needed, "
                    f"{row['cpu_ms_per_check']} ms CPU each[/dim]"
                )
                if args.saturate and latency == args.latencies[0]:
                    spec |= {"kind": "saturated", "sequential_sample": 0}
                    spec["seconds"] = max(1.0, args.seconds / 2)
                    cell = _run_cell(spec, folder, console)
                    raw.append({"kind": "saturated", "backend": backend, "latency_ms": latency})
                    raw[-1] |= cell
                    saturated.append(saturated_row(backend, latency, cell, rounds))
                    console.print(
                        f"[dim]{backend:>8} {latency:>5} ms, all overdue: "
                        f"{saturated[-1]['checks_per_s']} checks/s, "
                        f"{saturated[-1]['cpu_ms_per_check']} ms CPU each[/dim]"
                    )
    people: list[dict[str, Any]] = []
    if args.people:
        latency = args.people_latency_ms
        with SandboxProcess(args.people_orgs, latency_ms=latency, start_timeout=120) as sandbox:
            spec = {
                "kind": "people",
                "backend": args.backends[0],
                "url_template": sandbox.url_template,
                "entries": _entries_json(sandbox.entries),
                "seconds": max(args.seconds, 60.0),
                "interval": args.interval,
                "people": args.people,
            }
            cell = _run_cell(spec, folder, console)
            raw.append({"kind": "people", "latency_ms": latency, **cell})
            people.append(people_row(latency, cell, limit))
    return {
        "rows": rows,
        "saturated": saturated,
        "people": people,
        "cells": raw,
        "settings": {
            "afas_total_limit": defaults.afas_total_limit,
            "afas_people_slots": defaults.afas_people_slots,
            "afas_per_environment_limit": limit,
            "check_interval_seconds": defaults.check_interval_seconds,
        },
    }


def sweep_table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    out = Table(title=title)
    out.add_column("db")
    names = ("AFAS ms", "per 15 min", "need", "÷ need", "÷ due", "÷ bound", "in flight")
    names += ("overdue", "late p99 s")
    names += ("CPU ms", "÷ today", "RSS MB", "÷ 160", "× script")
    for name in names:
        out.add_column(name, justify="right")
    for r in rows:
        out.add_row(
            r["backend"],
            str(r["latency_ms"]),
            f"{r['checks_per_15_min']:,}",
            f"{r['need_per_15_min']:,}",
            f"{r['ratio_to_need']:.2f}",
            f"{r['ratio_to_due']:.2f}",
            f"{r['ratio_to_bound']:.3f}",
            f"{r['peak_in_flight']}/{r['capacity']}",
            str(r["overdue_at_end"]),
            "-" if r["late_s_p99"] is None else f"{r['late_s_p99']:.2f}",
            f"{r['cpu_ms_per_check']:.2f}",
            f"{r['cpu_ratio_to_old']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['rss_ratio_to_old']:.2f}",
            f"{r['speedup_over_script']:,.1f}",
            style=None if r["ok"] else "red",
        )
    return out


def people_table(rows: Sequence[dict[str, Any]]) -> Table:
    out = Table(title="A person's check (people lane) while the sweep saturates its capacity")
    for name in (
        "AFAS ms",
        "checks",
        "bound s",
        "idle s",
        "median s",
        "max s",
        "÷ bound (median)",
        "÷ bound (max)",
        "sweep in flight (cap)",
    ):
        out.add_column(name, justify="right")
    for r in rows:
        out.add_row(
            str(r["latency_ms"]),
            str(r["checks"]),
            f"{r['bound_s']:.2f}",
            f"{r['idle_s_median']:.2f}",
            f"{r['wait_s_median']:.2f}",
            f"{r['wait_s_max']:.2f}",
            f"{r['ratio_median']:.2f}",
            f"{r['ratio_max']:.2f}",
            f"{r['sweep_in_flight']} ({r['capacity']})",
            style=None if r["ok"] else "red",
        )
    return out


def storage_growth_figures() -> dict[str, Any] | None:
    """``bench/storage_growth.py``'s last figures (not re-measured here), if written."""
    path = default_output("storage_growth")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"source": "README (Retention), from bench/storage_growth.py", "note": GROWTH}
    return {"source": str(path.relative_to(REPO_ROOT)), "growth": data.get("growth")}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sweep", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--orgs", type=int, help=f"orgs and environments (default {FULL['orgs']})")
    parser.add_argument(
        "--seconds",
        type=float,
        help="the measured window (default 60)",
    )
    parser.add_argument(
        "--interval",
        type=int,
        help="the orgs' check interval, written directly (default: scaled so that --orgs "
        f"ask for what {TARGET_ORGS:,} orgs at 900 s do, 900 x orgs / {TARGET_ORGS:,})",
    )
    parser.add_argument(
        "--latencies", type=int_list, help="AFAS answer times in ms, comma-separated (50,1000)"
    )
    parser.add_argument("--backends", type=name_list, default=list(BACKENDS))
    parser.add_argument("--sequential-sample", type=int, help="orgs the script checks (10)")
    parser.add_argument(
        "--people", type=int, help="people's checks during a saturated sweep (5; 0: none)"
    )
    parser.add_argument("--people-latency-ms", type=int, help="AFAS ms for those (5000)")
    parser.add_argument("--people-orgs", type=int, help="orgs overdue for that sweep (400)")
    parser.add_argument(
        "--no-saturate",
        dest="saturate",
        action="store_false",
        help="skip the run with every org overdue (at the first latency, half a window)",
    )
    parser.add_argument("--output", type=Path, default=default_output(SCRIPT))
    parser.add_argument("--quick", action="store_true", help="a smoke run: 60 orgs, 4 s")
    parser.add_argument("--cell", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cell:
        return args
    args = apply_defaults(args, FULL, QUICK)
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown or not args.backends:
        parser.error(f"--backends: use sqlite and/or postgres, not {unknown}")
    if args.orgs < 2 or args.seconds < 1 or args.sequential_sample < 1:
        parser.error("--orgs must be at least 2, --seconds and --sequential-sample at least 1")
    args.sequential_sample = min(args.sequential_sample, args.orgs)
    if args.interval is None:
        args.interval = max(1, round(PRODUCTION_INTERVAL * args.orgs / TARGET_ORGS))
    args.people_orgs = max(args.people_orgs, 4 * args.people + 2)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cell:
        return cell_main(*args.cell)
    console = make_console()
    console.print(
        f"[dim]sweep: {args.orgs:,} orgs every {args.interval} s (as {TARGET_ORGS:,} every 900 s "
        f"when scaled), {args.seconds:g} s windows, "
        f"AFAS at {', '.join(map(str, args.latencies))} ms, on {', '.join(args.backends)}; "
        f"people: {args.people} checks at {args.people_latency_ms} ms against "
        f"{args.people_orgs} overdue orgs[/dim]"
    )
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
            figures = measure(args, console, Path(folder))
    except KeyboardInterrupt:
        console.print("[red]interrupted; the sandbox was stopped[/red]")
        return 130
    problems = [
        f"{r['backend']} at {r['latency_ms']} ms: {r['checks_per_s']} checks/s, "
        f"{r['ratio_to_need']:.2f} of the {r['need_per_s']}/s the interval needs, "
        f"{r['started']} of the {r['due_in_window']} orgs due in the window started in it"
        for r in figures["rows"]
        if not r["ok"]
    ] + [
        f"a person's check at {p['latency_ms']} ms took up to {p['ratio_max']:.2f}x its bound"
        for p in figures["people"]
        if not p["ok"]
    ]
    parameters = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    results = {
        "benchmark": SCRIPT,
        "machine": machine_facts(),
        "parameters": parameters,
        "settings": figures["settings"],
        "old": {"cpu_ms": OLD_CPU_MS, "rss_mb": OLD_RSS_MB, "per_15_min": OLD_CHECKS_PER_15_MIN},
        "sweep": figures["rows"],
        "saturated": figures["saturated"],
        "people": figures["people"],
        "cells": figures["cells"],
        "storage_growth": storage_growth_figures(),
        "elapsed_s": round(time.monotonic() - started, 1),
        "problems": problems,
        "ok": not problems,
    }
    path = write_results(args.output, results)
    s = figures["settings"]
    console.print(
        sweep_table(
            figures["rows"],
            f"Continuous scheduler: {args.orgs:,} orgs every {args.interval} s, {args.seconds:g} s "
            "windows "
            f"(AFAS limits {s['afas_total_limit']} total, {s['afas_people_slots']} for people, "
            f"{s['afas_per_environment_limit']} per environment)",
        )
    )
    if figures["saturated"]:
        console.print(saturated_table(figures["saturated"]))
    if figures["people"]:
        console.print(people_table(figures["people"]))
    machine = results["machine"]
    console.print(
        f"{machine['cpus_usable']} CPUs, Python {machine['python']}, {machine['platform']}. "
        "per 15 min = checks/s in the window x 900; need = orgs x 900 ÷ interval; bound = "
        "capacity ÷ one AFAS round; in flight = peak/capacity; overdue = due > 60 s at the end; "
        "late p99 = how late 99 % of the checks started after their org fell due; ÷ due = "
        "checks started over the orgs due by the window's end (per-org offsets are a hash: a "
        "window holds the interval's share only on average); "
        "÷ today: 7.5 ms (SQLite), 9.5 ms (PostgreSQL); × script = checks/s over a script's, one "
        "org after another, probes one after another; CPU and RSS are the bot's process only "
        f"(not the sandbox's, not PostgreSQL's). {results['elapsed_s']} s. Figures: {path}"
    )
    console.print(f"Storage growth (bench/storage_growth.py, not re-measured): {GROWTH}.")
    for problem in problems:
        console.print(f"[bold red]{problem}[/]")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
