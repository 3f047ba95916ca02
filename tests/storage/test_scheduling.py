"""Claiming due checks across replicas: each due org goes to one replica at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.checks import _claim_due_org_ids
from storage.crypto import TokenCipher
from storage.db import make_session_factory
from storage.errors import UnknownOrgError
from storage.models import Org
from storage.repository import (
    checked_since,
    claim_due_orgs,
    finish_org_check,
    get_org,
    org_history,
    record_check_run,
    release_leases,
    schedule_check,
)
from tests.storage.helpers import T0, register

LEASE = 180


def _register_many(session: Session, cipher: TokenCipher, count: int) -> list[int]:
    ids = []
    for n in range(count):
        ids.append(register(session, cipher, f"org-{n:03d}", now=T0 + timedelta(seconds=n)).id)
    return ids


def test_due_orgs_are_claimed_oldest_first_and_only_once(
    session: Session, cipher: TokenCipher
) -> None:
    ids = _register_many(session, cipher, 3)
    first = claim_due_orgs(
        session, now=T0 + timedelta(minutes=1), owner="a", lease_seconds=LEASE, limit=2
    )
    assert [org.id for org in first] == ids[:2]
    assert all(org.lease_owner == "a" for org in first)
    assert first[0].lease_until == T0 + timedelta(minutes=1, seconds=LEASE)
    second = claim_due_orgs(
        session, now=T0 + timedelta(minutes=1), owner="b", lease_seconds=LEASE, limit=5
    )
    assert [org.id for org in second] == ids[2:]
    assert (
        claim_due_orgs(
            session, now=T0 + timedelta(minutes=1), owner="c", lease_seconds=LEASE, limit=5
        )
        == []
    )


def test_orgs_not_yet_due_are_not_claimed(session: Session, cipher: TokenCipher) -> None:
    register(session, cipher, "acme", now=T0)
    assert (
        claim_due_orgs(
            session, now=T0 - timedelta(seconds=1), owner="a", lease_seconds=LEASE, limit=5
        )
        == []
    )
    assert len(claim_due_orgs(session, now=T0, owner="a", lease_seconds=LEASE, limit=5)) == 1


def test_an_expired_lease_can_be_claimed_again_and_the_old_owner_loses_it(
    session: Session, cipher: TokenCipher
) -> None:
    org_id = register(session, cipher, "acme").id
    [claimed] = claim_due_orgs(session, now=T0, owner="crashed", lease_seconds=60, limit=1)
    assert claimed.id == org_id
    assert (
        claim_due_orgs(
            session, now=T0 + timedelta(seconds=59), owner="b", lease_seconds=60, limit=1
        )
        == []
    )
    [reclaimed] = claim_due_orgs(
        session, now=T0 + timedelta(seconds=60), owner="b", lease_seconds=60, limit=1
    )
    assert reclaimed.id == org_id and reclaimed.lease_owner == "b"

    assert not finish_org_check(session, org_id, owner="crashed", next_check_at=T0)
    next_at = T0 + timedelta(minutes=15)
    assert finish_org_check(session, org_id, owner="b", next_check_at=next_at)
    session.commit()
    org = get_org(session, "acme")
    assert (org.lease_owner, org.lease_until, org.next_check_at) == (None, None, next_at)
    assert (
        claim_due_orgs(
            session, now=next_at - timedelta(seconds=1), owner="b", lease_seconds=60, limit=1
        )
        == []
    )


def test_a_finished_check_is_seen_in_the_session_and_by_another(
    session: Session, cipher: TokenCipher, new_session: Callable[[], Session]
) -> None:
    """The release is one prebuilt statement: the session's own copy of the org is told the
    new values (no reload), and the database has them for everyone else."""
    register(session, cipher, "acme")
    [org] = claim_due_orgs(session, now=T0, owner="a", lease_seconds=LEASE, limit=1)
    next_at, checked_at = T0 + timedelta(minutes=15), T0 + timedelta(seconds=5)
    assert finish_org_check(
        session, org.id, owner="a", next_check_at=next_at, state="failing", checked_at=checked_at
    )
    seen = (org.lease_owner, org.lease_until, org.next_check_at, org.current_state)
    assert seen == (None, None, next_at, "failing") and org.last_checked_at == checked_at
    session.commit()
    with new_session() as other:
        stored = other.exec(select(Org).where(Org.id == org.id)).one()
        assert (stored.lease_owner, stored.next_check_at, stored.current_state) == (
            None,
            next_at,
            "failing",
        )
        assert stored.last_checked_at == checked_at
    assert not finish_org_check(session, org.id, owner="a", next_check_at=T0)  # released


def test_release_leases_frees_an_owners_orgs(session: Session, cipher: TokenCipher) -> None:
    _register_many(session, cipher, 3)
    claim_due_orgs(session, now=T0 + timedelta(minutes=1), owner="a", lease_seconds=LEASE, limit=2)
    assert release_leases(session, owner="a") == 2
    session.commit()
    again = claim_due_orgs(
        session, now=T0 + timedelta(minutes=1), owner="b", lease_seconds=LEASE, limit=5
    )
    assert len(again) == 3


def test_schedule_check_makes_an_org_due(session: Session, cipher: TokenCipher) -> None:
    org_id = register(session, cipher, "acme").id
    assert len(claim_due_orgs(session, now=T0, owner="a", lease_seconds=1, limit=1)) == 1
    finish_org_check(session, org_id, owner="a", next_check_at=T0 + timedelta(hours=1))
    schedule_check(session, org_id, at=T0 + timedelta(minutes=1))
    session.commit()
    assert (
        len(
            claim_due_orgs(
                session, now=T0 + timedelta(minutes=1), owner="a", lease_seconds=1, limit=1
            )
        )
        == 1
    )


def test_concurrent_replicas_never_claim_the_same_org(
    session: Session, cipher: TokenCipher, new_session: Callable[[], Session]
) -> None:
    ids = set(_register_many(session, cipher, 60))
    now = T0 + timedelta(hours=1)
    replicas = 4
    start = threading.Barrier(replicas)
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def replica(owner: str) -> None:
        mine: list[int] = []
        try:
            with new_session() as own:
                start.wait()
                while batch := claim_due_orgs(
                    own, now=now, owner=owner, lease_seconds=LEASE, limit=3
                ):
                    mine += [org.id for org in batch]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        claimed[owner] = mine

    threads = [threading.Thread(target=replica, args=(f"r{n}",)) for n in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    everything = [org_id for mine in claimed.values() for org_id in mine]
    assert sorted(everything) == sorted(ids), "every due org claimed exactly once"
    session.expire_all()
    owners = dict(session.exec(select(Org.id, Org.lease_owner)).all())
    assert all(owners[org_id] == owner for owner, mine in claimed.items() for org_id in mine)


@pytest.mark.postgres
def test_postgres_claims_skip_rows_another_replica_is_claiming(postgres_engine: Engine) -> None:
    """With FOR UPDATE SKIP LOCKED, a replica whose claim is still open does not make the
    next one wait: the second takes the other due orgs at once."""
    from storage.crypto import generate_key

    factory = make_session_factory(postgres_engine)
    cipher = TokenCipher.from_keys([generate_key()])
    with factory() as setup:
        ids = _register_many(setup, cipher, 4)
    now = T0 + timedelta(hours=1)
    with factory() as slow, factory() as fast:
        held = _claim_due_org_ids(slow, now=now, owner="slow", lease_seconds=LEASE, limit=2)
        assert held == ids[:2]  # not committed yet: the rows stay locked
        fast.execute(text("SET lock_timeout = '2s'"))
        taken = claim_due_orgs(fast, now=now, owner="fast", lease_seconds=LEASE, limit=4)
        assert [org.id for org in taken] == ids[2:]
        slow.commit()


def test_check_runs_update_the_org_and_form_its_history(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    for minutes, state in ((0, "healthy"), (15, "failing"), (30, "degraded")):
        record_check_run(
            session,
            org,
            trigger="schedule",
            started_at=T0 + timedelta(minutes=minutes),
            duration_ms=300 + minutes,
            overall_state=state,
            items=[{"requirement": "token", "status": "ok" if state == "healthy" else "failing"}],
            summary=state,
        )
    session.commit()
    history = org_history(session, "acme", limit=2)
    assert [run.overall_state for run in history] == ["degraded", "failing"]
    org = get_org(session, "acme")
    assert (org.current_state, org.last_checked_at) == ("degraded", T0 + timedelta(minutes=30))
    with pytest.raises(UnknownOrgError):
        org_history(session, "acm")


def test_check_runs_refuse_unknown_triggers_and_states(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    with pytest.raises(ValueError):
        record_check_run(
            session,
            org,
            trigger="cron",
            started_at=T0,
            duration_ms=1,
            overall_state="healthy",
            items=[],
        )
    with pytest.raises(ValueError):
        record_check_run(
            session,
            org,
            trigger="cli",
            started_at=T0,
            duration_ms=1,
            overall_state="fine",
            items=[],
        )


def test_checked_since_counts_the_orgs_last_checked_in_the_window(
    session: Session, cipher: TokenCipher
) -> None:
    """The platform's view: orgs by their latest run (set on the org by every run)."""
    latest = {"b-org": "unreachable", "a-org": "unreachable", "c-org": "healthy", "old": None}
    for key, state in latest.items():
        org = register(session, cipher, key)
        runs = [(0, "unreachable")] if state is None else [(10, "healthy"), (20, state)]
        for minutes, run_state in runs:
            record_check_run(
                session,
                org,
                trigger="schedule",
                started_at=T0 + timedelta(minutes=minutes),
                duration_ms=1,
                overall_state=run_state,
                items=[],
            )
    session.commit()
    since = T0 + timedelta(minutes=5)  # "old" was last checked before it
    assert checked_since(session, since, state="unreachable") == (3, ["a-org", "b-org"])
    assert checked_since(session, since, state="healthy") == (3, ["c-org"])
    assert checked_since(session, T0 + timedelta(hours=1), state="unreachable") == (0, [])
