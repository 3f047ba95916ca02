"""A check run stores its items only when they changed (storage/checks.py), on SQLite and
PostgreSQL, with the items of real reports: the sandbox's healthy environment and one whose
App Connector lacks connectors (failing)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from afas.check import run_check
from afas.client import AfasClient
from afas.report import CheckReport
from afas.sandbox.scenario import Scenario
from afas.sandbox.server import SandboxServer
from storage.checks import (
    SHARE_WITHIN,
    finish_org_check,
    held_items,
    org_history,
    record_check_run,
)
from storage.crypto import TokenCipher
from storage.leases import claim
from storage.models import CheckRun, Org
from tests.storage.helpers import T0, register


@pytest.fixture(scope="module")
def reports(sandbox: SandboxServer, scenario: Scenario) -> dict[str, CheckReport]:
    async def check(name: str) -> CheckReport:
        env = scenario.by_name(name)
        async with AfasClient(url_template=sandbox.url_template, timeout=10.0) as client:
            return await run_check(client, env.environment(), env.token(), now=T0)

    return {name: asyncio.run(check(name)) for name in ("healthy", "missing-connectors")}


def items_of(report: CheckReport) -> list[dict]:
    return [item.to_dict() for item in report.items]


def record(session: Session, org: Org, at: datetime, report: CheckReport) -> CheckRun:
    run = record_check_run(
        session,
        org,
        trigger="schedule",
        started_at=at,
        duration_ms=120,
        overall_state=report.overall.value,
        items=items_of(report),
        summary=report.overall.value,
    )
    session.commit()
    return run


def stored_bytes(session: Session, run_id: int) -> int:
    """What the run's items take in the database (PostgreSQL: after its own compression)."""
    size = "pg_column_size(items)" if _dialect(session) == "postgresql" else "length(items)"
    return session.execute(
        text(f"SELECT {size} FROM check_runs WHERE id = :id"), {"id": run_id}
    ).scalar_one()


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_an_unchanged_run_stores_the_digest_and_reads_the_items_of_the_run_holding_them(
    session: Session, new_session: Callable[[], Session], cipher: TokenCipher, reports
) -> None:
    org = register(session, cipher, "acme")
    healthy, failing = reports["healthy"], reports["missing-connectors"]
    sequence = [healthy, healthy, healthy, failing, failing, healthy]
    runs = [record(session, org, T0 + timedelta(minutes=15 * n), r) for n, r in enumerate(sequence)]
    assert [run.items_shared for run in runs] == [False, True, True, False, True, False]
    assert runs[0].items_digest == runs[1].items_digest == runs[5].items_digest
    assert runs[0].items_digest != runs[3].items_digest

    with new_session() as reader:
        history = org_history(reader, "acme", limit=10)
        assert [run.items for run in reversed(history)] == [items_of(r) for r in sequence]
        assert not reader.dirty  # the items were filled in, not written back
        sizes = [stored_bytes(reader, run.id) for run in runs]
    full = len(json.dumps(items_of(healthy), separators=(",", ":")))
    print(f"\nitems bytes per run ({_dialect(session)}): {sizes} (healthy serialised: {full})")
    assert all(size <= 8 for size, run in zip(sizes, runs, strict=True) if run.items_shared)
    assert all(size > 1000 for size, run in zip(sizes, runs, strict=True) if not run.items_shared)


def test_a_run_after_a_long_pause_holds_its_items_again(
    session: Session, cipher: TokenCipher, reports
) -> None:
    """Sharing reaches back at most SHARE_WITHIN, so the run holding the items is never one
    that retention could be compacting."""
    org = register(session, cipher, "acme")
    first = record(session, org, T0, reports["healthy"])
    soon = record(session, org, T0 + SHARE_WITHIN - timedelta(seconds=1), reports["healthy"])
    late = record(session, org, T0 + 2 * SHARE_WITHIN, reports["healthy"])
    assert (first.items_shared, soon.items_shared, late.items_shared) == (False, True, False)


def test_runs_share_only_within_their_own_org(
    session: Session, cipher: TokenCipher, reports
) -> None:
    acme, other = register(session, cipher, "acme"), register(session, cipher, "other")
    record(session, acme, T0, reports["healthy"])
    run = record(session, other, T0 + timedelta(minutes=1), reports["healthy"])
    assert run.items_shared is False
    found = held_items(session, [(acme.id, run.items_digest), (other.id, run.items_digest)])
    assert found[(acme.id, run.items_digest)] == found[(other.id, run.items_digest)]


def test_items_that_are_not_json_are_refused_before_anything_is_written(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        record_check_run(
            session,
            org,
            trigger="cli",
            started_at=T0,
            duration_ms=1,
            overall_state="healthy",
            items=[{"at": datetime.now(UTC)}],
        )
    assert session.exec(select(CheckRun)).all() == []


def test_recording_a_run_is_one_insert_and_the_org_update(
    session: Session, engine: Engine, cipher: TokenCipher, reports
) -> None:
    org = register(session, cipher, "acme")
    record(session, org, T0, reports["healthy"])
    with statements(engine) as seen:
        record(session, org, T0 + timedelta(minutes=15), reports["healthy"])
    assert [s for s in seen if s not in ("BEGIN", "COMMIT")] == ["INSERT", "UPDATE"]


def test_the_lease_release_can_set_the_state_so_the_run_is_a_single_insert(
    session: Session, engine: Engine, cipher: TokenCipher, reports
) -> None:
    """What a scheduled check can do: set the state with the release (one UPDATE for both);
    recording then finds the org up to date and writes only the run."""
    org = register(session, cipher, "acme")
    at = T0 + timedelta(minutes=15)
    claimed = claim(
        session,
        Org,
        due=(Org.id == org.id,),
        order_by=(Org.id,),
        owner="replica-a",
        now=at,
        lease_seconds=300,
        limit=1,
    )
    assert [o.id for o in claimed] == [org.id]
    report = reports["missing-connectors"]
    with statements(engine) as seen:
        assert finish_org_check(
            session,
            org.id,
            owner="replica-a",
            next_check_at=at + timedelta(minutes=15),
            state=report.overall.value,
            checked_at=at,
        )
        stored = session.get(Org, org.id)
        record(session, stored, at, report)
    writes = [s for s in seen if s in ("INSERT", "UPDATE", "DELETE")]
    assert writes == ["UPDATE", "INSERT"]
    session.expire_all()
    stored = session.get(Org, org.id)
    assert (stored.current_state, stored.last_checked_at, stored.lease_owner) == (
        "failing",
        at,
        None,
    )
