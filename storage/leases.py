"""Leases: how replicas share work through the database, without a coordinator.

One vocabulary for every table whose rows are worked on by one replica at a time (orgs to
check, outbox messages to send): a row is *due* by its table's own rule, *free* when it has no
lease or its lease has expired, *claimed* by setting ``lease_owner`` and ``lease_until``, and
*released* by the owner when the work is done (with the row's new values) or on shutdown. A
replica that dies simply lets its leases expire (alerting.md §3.5, §3.6).

Claiming is one conditional ``UPDATE``: on PostgreSQL the candidate rows are selected ``FOR
UPDATE SKIP LOCKED``, so replicas claiming at the same moment take different rows without
waiting; on SQLite (no row locks: SQLAlchemy drops the clause) the statement runs under the
database's single write lock, and the repeated conditions make it a compare-and-set. Either way
a row is leased by at most one owner at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from storage.models import Org, OutboxMessage

Leased = TypeVar("Leased", Org, OutboxMessage)


def lease_is_free(model: type[Leased], now: datetime) -> ColumnElement[bool]:
    """No lease, or an expired one."""
    return or_(col(model.lease_until).is_(None), col(model.lease_until) <= now)


def claim_ids(
    session: Session,
    model: type[Leased],
    *,
    due: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    also_set: Mapping[str, Any] | None = None,
) -> list[int]:
    """Lease up to ``limit`` due, free rows for ``owner``; their ids. Does not commit (the
    caller commits at once so that other replicas see the lease before the slow work)."""
    if limit <= 0:
        return []
    conditions = (*due, lease_is_free(model, now))
    candidates = (
        select(model.id)
        .where(*conditions)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte(f"due_{model.__tablename__}")
    )
    statement = (
        update(model)
        .where(col(model.id).in_(select(candidates.c.id)), *conditions)
        .values(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease_seconds),
            **(also_set or {}),
        )
        .returning(col(model.id))
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).scalars().all())


def claim(
    session: Session,
    model: type[Leased],
    *,
    due: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    also_set: Mapping[str, Any] | None = None,
) -> list[Leased]:
    """``claim_ids``, then the claimed rows in ``order_by`` order. Commits."""
    ids = claim_ids(
        session,
        model,
        due=due,
        order_by=order_by,
        owner=owner,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
        also_set=also_set,
    )
    rows: list[Leased] = []
    if ids:
        rows = list(
            session.exec(
                select(model)
                .where(col(model.id).in_(ids))
                .order_by(*order_by)
                .execution_options(populate_existing=True)
            ).all()
        )
    session.commit()
    return rows


def release(
    session: Session, model: type[Leased], row_id: int, *, owner: str, **values: Any
) -> bool:
    """Drop ``owner``'s lease on one row, setting ``values`` in the same statement. False when
    ``owner`` no longer holds it (it expired and another replica may have taken the row):
    then nothing changes. Does not commit."""
    statement = (
        update(model)
        .where(col(model.id) == row_id, col(model.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None, **values)
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount == 1


def release_all(session: Session, model: type[Leased], *, owner: str) -> int:
    """Drop every lease ``owner`` holds on ``model``'s rows (on shutdown); how many. Does not
    commit."""
    statement = (
        update(model)
        .where(col(model.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount
