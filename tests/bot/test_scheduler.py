"""The continuous scheduler against the sandbox: orgs are checked as they fall due (not a
tick later, no cap per tick), never more at once than its capacity, each once; a check that
outlasts its lease keeps it (renewed), so a second replica does not check the org again; the
pace says when and why the interval cannot be kept."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from afas.sandbox.scenario import Scenario, generate_environments
from afas.sandbox.server import SandboxServer
from bot.scheduler import ContinuousScheduler, Pace, scheduled_capacity
from storage.models import CheckRun, Org
from storage.repository import add_org


def register(runtime, envs, *, due: datetime, interval: int = 900) -> None:
    with runtime.session() as session:
        for env in envs:
            add_org(
                session,
                key=f"o{env.number}",
                display_name=env.name,
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
                check_interval_seconds=interval,
                now=due,
            ).org.next_check_at = due


def checked_per_org(runtime) -> dict[int, int]:
    counts: dict[int, int] = {}
    with runtime.session() as session:
        for run in session.exec(select(CheckRun)):
            counts[run.org_id] = counts.get(run.org_id, 0) + 1
    return counts


async def run_until(scheduler, condition, timeout: float = 20.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    deadline = time.monotonic() + timeout
    try:
        while not condition() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert condition(), "the scheduler did not get there in time"


def test_capacity_follows_the_afas_limits() -> None:
    assert scheduled_capacity(64, 4) == 16
    assert scheduled_capacity(256, 4, people_reserve=16) == 60
    assert scheduled_capacity(2, 4) == 1


async def test_every_due_org_is_checked_once_with_no_cap_per_tick(make_runtime) -> None:
    envs = generate_environments(150, mix="healthy")
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        # a tick of an hour and a sweep limit of 10: the old loop would check 10 orgs an hour
        runtime = make_runtime(sandbox.url_template, scheduler_tick_seconds=3600, sweep_limit=10)
        register(runtime, envs, due=datetime.now(UTC) - timedelta(seconds=1))
        async with runtime.afas_client() as client:
            scheduler = ContinuousScheduler(runtime, client, owner="replica-a", capacity=8)
            await run_until(scheduler, lambda: len(checked_per_org(runtime)) == 150)
    counts = checked_per_org(runtime)
    assert set(counts.values()) == {1}
    with runtime.session() as session:
        orgs = session.exec(select(Org)).all()
    now = datetime.now(UTC)
    assert all(o.lease_owner is None and o.next_check_at > now for o in orgs)


async def test_an_org_is_checked_when_it_falls_due_not_a_tick_later(make_runtime) -> None:
    envs = generate_environments(1, mix="healthy")
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        runtime = make_runtime(sandbox.url_template, scheduler_tick_seconds=3600)
        due = datetime.now(UTC) + timedelta(seconds=1.5)
        register(runtime, envs, due=due)
        async with runtime.afas_client() as client:
            scheduler = ContinuousScheduler(runtime, client, owner="replica-a")
            await run_until(scheduler, lambda: bool(checked_per_org(runtime)), timeout=10)
    with runtime.session() as session:
        run = session.exec(select(CheckRun)).one()
    assert due <= run.started_at < due + timedelta(seconds=2)
    assert len(scheduler.lateness) == 1 and 0 <= scheduler.lateness[0] < 1.0  # one round at most


async def test_never_more_checks_at_once_than_the_capacity(make_runtime) -> None:
    envs = generate_environments(40, mix="healthy", latency_ms=100)
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        runtime = make_runtime(sandbox.url_template)
        register(runtime, envs, due=datetime.now(UTC) - timedelta(seconds=1))
        async with runtime.afas_client() as client:
            scheduler = ContinuousScheduler(runtime, client, owner="replica-a", capacity=5)
            peak = 0

            def busy() -> bool:
                nonlocal peak
                peak = max(peak, len(scheduler._tasks))
                return len(checked_per_org(runtime)) == 40

            await run_until(scheduler, busy)
    assert 1 < peak <= 5


async def test_a_check_longer_than_its_lease_keeps_it(make_runtime) -> None:
    envs = generate_environments(3, mix="healthy", latency_ms=1200)
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        runtime = make_runtime(sandbox.url_template, check_lease_seconds=0.9, afas_retries=0)
        register(runtime, envs, due=datetime.now(UTC) - timedelta(seconds=1))
        async with runtime.afas_client() as client:
            first = ContinuousScheduler(runtime, client, owner="replica-a")
            second = ContinuousScheduler(runtime, client, owner="replica-b")
            stop = asyncio.Event()
            a = asyncio.create_task(first.run(stop))
            await asyncio.sleep(0.3)  # a claimed them all; b starts while a's checks run
            b = asyncio.create_task(second.run(stop))
            deadline = time.monotonic() + 20
            while len(checked_per_org(runtime)) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(a, b)
    assert set(checked_per_org(runtime).values()) == {1}
    assert first.checked == 3 and second.checked == 0


async def test_the_pace_says_the_afas_limits_cannot_keep_the_interval(make_runtime, caplog) -> None:
    envs = generate_environments(30, mix="healthy", latency_ms=150)
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        runtime = make_runtime(sandbox.url_template)
        # 30 orgs every 5 min with one check at a time, each ~0.3 s: 0.03 checks in flight are
        # needed, so the interval holds; then every org overdue at once: behind.
        register(runtime, envs, due=datetime.now(UTC) - timedelta(minutes=5), interval=300)
        paces: list[Pace] = []
        async with runtime.afas_client() as client:
            scheduler = ContinuousScheduler(
                runtime, client, owner="replica-a", capacity=1, pace=paces.append
            )
            import bot.scheduler as module

            original = module.PACE_SECONDS
            module.PACE_SECONDS = 0.3
            try:
                await run_until(scheduler, lambda: len(paces) >= 2, timeout=15)
            finally:
                module.PACE_SECONDS = original
    assert all(p.overdue > 0 and p.behind == "afas_limits" and p.capacity == 1 for p in paces)
    assert paces[-1].needed > 0 and paces[-1].seconds_per_check > 0
    assert 300 <= paces[-1].late_seconds < 330  # they fell due five minutes before the start
    assert "cannot be kept" in caplog.text and "AFASBOT_AFAS_TOTAL_LIMIT" in caplog.text


async def test_a_database_fault_does_not_end_the_scheduler(make_runtime, monkeypatch) -> None:
    import bot.scheduler as module

    envs = generate_environments(3, mix="healthy")
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        runtime = make_runtime(sandbox.url_template)
        register(runtime, envs, due=datetime.now(UTC) - timedelta(seconds=1))
        real = module.claim_due_orgs
        faults = {"left": 3}

        def flaky(session, **kwargs):
            if faults["left"]:
                faults["left"] -= 1
                raise OSError("the database went away")
            return real(session, **kwargs)

        monkeypatch.setattr(module, "claim_due_orgs", flaky)
        async with runtime.afas_client() as client:
            scheduler = ContinuousScheduler(runtime, client, owner="replica-a")
            await run_until(scheduler, lambda: len(checked_per_org(runtime)) == 3)
    assert faults["left"] == 0 and set(checked_per_org(runtime).values()) == {1}
