"""Check runs and scheduling: recording a check, an org's history, and claiming due checks
across replicas (alerting.md §3.5, §3.6)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage import leases
from storage.datetimes import utcnow
from storage.models import CheckRun, CheckTrigger, Org, OrgState, OutboxMessage
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


def recent_states(session: Session, org_id: int, *, limit: int) -> tuple[str, ...]:
    """The overall states of an org's latest ``limit`` check runs, newest first."""
    return tuple(
        session.exec(
            select(CheckRun.overall_state)
            .where(CheckRun.org_id == org_id)
            .order_by(col(CheckRun.started_at).desc(), col(CheckRun.id).desc())
            .limit(limit)
        ).all()
    )


def latest_states_since(session: Session, since: datetime) -> dict[str, str]:
    """Every org's latest check state among the runs started at ``since`` or later, by org key
    (orgs without such a run are left out)."""
    latest = (
        select(CheckRun.org_id, func.max(CheckRun.started_at).label("at"))
        .where(col(CheckRun.started_at) >= since)
        .group_by(CheckRun.org_id)
        .subquery()
    )
    rows = session.exec(
        select(Org.key, CheckRun.overall_state)
        .join(latest, (CheckRun.org_id == latest.c.org_id) & (CheckRun.started_at == latest.c.at))
        .join(Org, Org.id == CheckRun.org_id)
        .order_by(Org.key)
    ).all()
    return {key: state for key, state in rows}


def claim_due_orgs(
    session: Session,
    *,
    now: datetime,
    owner: str,
    lease_seconds: float,
    limit: int,
) -> list[Org]:
    """Lease up to ``limit`` orgs whose check is due, for ``owner`` (a replica id), soonest
    due first. Commits, so that other replicas see the lease before the (slow) check starts
    (``storage.leases``: how this is safe across replicas)."""
    return leases.claim(
        session,
        Org,
        **_due_orgs(now),
        owner=owner,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
    )


def _claim_due_org_ids(
    session: Session, *, now: datetime, owner: str, lease_seconds: float, limit: int
) -> list[int]:
    """The claiming statement, without the commit (tests hold it open to race a second one)."""
    return leases.claim_ids(
        session,
        Org,
        **_due_orgs(now),
        owner=owner,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
    )


def _due_orgs(now: datetime) -> dict[str, Any]:
    return {
        "due": (col(Org.next_check_at) <= now,),
        "order_by": (col(Org.next_check_at), col(Org.id)),
    }


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
    return leases.release(session, Org, org_id, owner=owner, next_check_at=next_check_at)


def release_leases(session: Session, *, owner: str) -> int:
    """Drop every lease ``owner`` holds, on orgs and outbox messages (on shutdown), so other
    replicas need not wait for them to expire. Returns how many were held. Does not commit."""
    return leases.release_all(session, Org, owner=owner) + leases.release_all(
        session, OutboxMessage, owner=owner
    )


def schedule_check(session: Session, org_id: int, *, at: datetime | None = None) -> None:
    """Make an org due at ``at`` (now by default), such as for "Re-check now"."""
    session.execute(
        update(Org)
        .where(col(Org.id) == org_id)
        .values(next_check_at=at or utcnow())
        .execution_options(synchronize_session="fetch")
    )
