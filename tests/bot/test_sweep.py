"""Scheduled checks on SQLite and PostgreSQL, against the sandbox: each due org is checked by
exactly one replica, recorded, and rescheduled on its grid."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bot.schedule import next_check_at
from bot.sweep import sweep
from storage.models import CheckRun, Org
from storage.repository import add_org

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def register(runtime, scenario, names, *, due=NOW) -> None:
    with runtime.session() as session:
        for name in names:
            env = scenario.by_name(name)
            org = add_org(
                session,
                key=name,
                display_name=name,
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
                check_interval_seconds=900,
                now=due,
            ).org
            org.next_check_at = due


def runs(runtime) -> list[CheckRun]:
    with runtime.session() as session:
        return list(session.exec(select(CheckRun).order_by(CheckRun.id)))


def orgs(runtime) -> dict[str, Org]:
    with runtime.session() as session:
        return {o.key: o for o in session.exec(select(Org))}


@given(st.integers(1, 10_000), st.integers(60, 86_400), st.integers(0, 10**9))
def test_next_check_is_in_the_next_interval_on_a_stable_grid(org_id, interval, seconds) -> None:
    now = datetime.fromtimestamp(1_700_000_000 + seconds, tz=UTC)
    first = next_check_at(org_id, interval, now)
    assert now + timedelta(seconds=interval / 2) < first <= now + timedelta(seconds=1.5 * interval)
    assert next_check_at(org_id, interval, first) == first + timedelta(seconds=interval)


def test_orgs_are_spread_over_the_interval() -> None:
    slots = {next_check_at(org_id, 900, NOW) for org_id in range(1, 101)}
    assert len(slots) > 80  # 100 orgs do not all fall due at the same second


async def test_a_sweep_checks_due_orgs_once_and_reschedules_them(runtime, scenario) -> None:
    register(runtime, scenario, ["healthy", "missing-connectors", "revoked-token"])
    async with runtime.afas_client() as client:
        first = await sweep(runtime, client, owner="replica-a", now=NOW)
        again = await sweep(runtime, client, owner="replica-a", now=NOW)
    assert sorted(first.checked) == ["healthy", "missing-connectors", "revoked-token"]
    assert again.checked == ()
    recorded = runs(runtime)
    assert sorted((r.trigger, r.overall_state) for r in recorded) == [
        ("schedule", "failing"),
        ("schedule", "failing"),
        ("schedule", "healthy"),
    ]
    for org in orgs(runtime).values():
        assert org.lease_owner is None and org.lease_until is None
        assert NOW + timedelta(seconds=450) < org.next_check_at <= NOW + timedelta(seconds=1350)
        assert org.current_state in ("healthy", "failing")


async def test_two_replicas_sweeping_at_once_check_each_org_once(runtime, scenario) -> None:
    names = [e.name for e in scenario.environments if e.name not in ("slow", "unreachable")]
    register(runtime, scenario, names)
    async with runtime.afas_client() as a, runtime.afas_client() as b:
        results = await asyncio.gather(
            sweep(runtime, a, owner="replica-a", now=NOW, limit=5),
            sweep(runtime, b, owner="replica-b", now=NOW, limit=5),
            sweep(runtime, a, owner="replica-a", now=NOW, limit=100),
            sweep(runtime, b, owner="replica-b", now=NOW, limit=100),
        )
    checked = [key for result in results for key in result.checked]
    assert sorted(checked) == sorted(names)  # every org once, none twice
    assert len(runs(runtime)) == len(names)


async def test_a_result_after_the_lease_passed_on_is_dropped(runtime, scenario) -> None:
    register(runtime, scenario, ["slow"])  # 1.5 s per AFAS answer
    async with runtime.afas_client() as client:
        slow_replica = asyncio.create_task(
            sweep(runtime, client, owner="replica-a", now=NOW, lease_seconds=1)
        )
        for _ in range(200):  # until replica-a holds the lease (it then waits for AFAS)
            if orgs(runtime)["slow"].lease_owner == "replica-a":
                break
            await asyncio.sleep(0.02)
        later = NOW + timedelta(seconds=2)  # ... past its lease: replica-b takes over
        taken_over = await sweep(runtime, client, owner="replica-b", now=later)
        first = await slow_replica
    assert taken_over.checked == ("slow",)
    assert first.lost == ("slow",) and first.checked == ()
    assert len(runs(runtime)) == 1


async def test_an_org_not_yet_due_is_left_alone(runtime, scenario) -> None:
    register(runtime, scenario, ["healthy"], due=NOW + timedelta(minutes=5))
    async with runtime.afas_client() as client:
        result = await sweep(runtime, client, owner="replica-a", now=NOW)
    assert result.checked == ()
    assert runs(runtime) == []
