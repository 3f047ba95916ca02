"""Check runs and scheduling: recording a check, an org's history, and claiming due checks
across replicas (alerting.md §3.5, §3.6)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.datetimes import utcnow
from storage.models import CheckRun, CheckTrigger, Org, OrgState
from storage.orgs import get_org


def record_check_run(
    session: Session,
    org: Org,
    *,
    trigger: CheckTrigger | str,
    started_at: datetime,
    duration_ms: int,
    overall_state: OrgState | str,
    items: Sequence[dict[str, Any]],
    summary: str = "",
    update_org: bool = True,
) -> CheckRun:
    """Store one check's result; by default also the org's ``current_state`` and
    ``last_checked_at``. ``items`` are the report's items as JSON-ready dicts."""
    trigger = CheckTrigger(trigger)
    state = OrgState(overall_state)
    item_list = [dict(item) for item in items]
    try:
        json.dumps(item_list)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"check items must be JSON-serialisable: {exc}") from None
    if org.id is None:
        raise ValueError("the org must be stored first")
    run = CheckRun(
        org_id=org.id,
        trigger=trigger.value,
        started_at=started_at,
        duration_ms=int(duration_ms),
        overall_state=state.value,
        items=item_list,
        summary=summary,
    )
    session.add(run)
    if update_org:
        org.current_state = state.value
        org.last_checked_at = started_at
        session.add(org)
    session.flush()
    return run


def org_history(session: Session, key: str, limit: int = 20) -> list[CheckRun]:
    """An org's latest check runs, newest first (``UnknownOrgError`` for an unknown key)."""
    org = get_org(session, key)
    query = (
        select(CheckRun)
        .where(CheckRun.org_id == org.id)
        .order_by(col(CheckRun.started_at).desc(), col(CheckRun.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def claim_due_orgs(
    session: Session,
    *,
    now: datetime,
    owner: str,
    lease_seconds: float,
    limit: int,
) -> list[Org]:
    """Lease up to ``limit`` orgs whose check is due, for ``owner`` (a replica id). Commits.

    One conditional ``UPDATE``: it takes rows that are due and not leased (or whose lease has
    expired) and sets the lease. On PostgreSQL the candidate rows are selected ``FOR UPDATE
    SKIP LOCKED``, so replicas claiming at the same moment take different rows without waiting;
    on SQLite (which has no row locks: SQLAlchemy drops the clause) the statement runs under
    the database's single write lock, and the repeated conditions make it a compare-and-set.
    Either way an org is leased by at most one owner at a time. It commits at once so that
    other replicas see the lease before the (slow) check starts.
    """
    ids = _claim_due_org_ids(
        session, now=now, owner=owner, lease_seconds=lease_seconds, limit=limit
    )
    orgs: list[Org] = []
    if ids:
        query = (
            select(Org)
            .where(col(Org.id).in_(ids))
            .order_by(col(Org.next_check_at), col(Org.id))
            .execution_options(populate_existing=True)
        )
        orgs = list(session.exec(query).all())
    session.commit()
    return orgs


def _claim_due_org_ids(
    session: Session, *, now: datetime, owner: str, lease_seconds: float, limit: int
) -> list[int]:
    """The claiming statement, without the commit (tests hold it open to race a second one)."""
    if limit <= 0:
        return []
    due = (
        col(Org.next_check_at) <= now,
        or_(col(Org.lease_until).is_(None), col(Org.lease_until) <= now),
    )
    candidates = (
        select(Org.id)
        .where(*due)
        .order_by(col(Org.next_check_at), col(Org.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due_orgs")
    )
    statement = (
        update(Org)
        .where(col(Org.id).in_(select(candidates.c.id)), *due)
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(col(Org.id))
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).scalars().all())


def finish_org_check(
    session: Session,
    org_id: int,
    *,
    owner: str,
    next_check_at: datetime,
) -> bool:
    """Schedule the next check and drop ``owner``'s lease, in the caller's transaction (commit
    it together with the check run and any outbox rows). False when ``owner`` no longer holds
    the lease (it expired and another replica took the org): then nothing changes."""
    statement = (
        update(Org)
        .where(col(Org.id) == org_id, col(Org.lease_owner) == owner)
        .values(next_check_at=next_check_at, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount == 1


def release_leases(session: Session, *, owner: str) -> int:
    """Drop every lease ``owner`` holds (on shutdown), so other replicas need not wait for
    them to expire. Returns how many were held. Does not commit."""
    statement = (
        update(Org)
        .where(col(Org.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount


def schedule_check(session: Session, org_id: int, *, at: datetime | None = None) -> None:
    """Make an org due at ``at`` (now by default), such as for "Re-check now"."""
    session.execute(
        update(Org)
        .where(col(Org.id) == org_id)
        .values(next_check_at=at or utcnow())
        .execution_options(synchronize_session="fetch")
    )
