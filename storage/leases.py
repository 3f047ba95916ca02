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
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, Update, bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ClauseElement
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


def claim_statement(
    model: type[Leased], *, due: Sequence[ColumnElement[bool]], order_by: Sequence[Any]
) -> Update:
    """``claim_ids``'s statement built once, for a caller that claims many times a minute
    (the scheduler): its parameters are ``now_``, ``until_``, ``owner_``, ``limit_`` and those
    of ``due``'s own bind parameters. Returns the claimed ids."""
    table = model.__table__  # type: ignore[attr-defined]
    now = bindparam("now_", type_=table.c.lease_until.type)
    conditions = (*due, or_(table.c.lease_until.is_(None), table.c.lease_until <= now))
    candidates = (
        select(table.c.id)
        .where(*conditions)
        .order_by(*order_by)
        .limit(bindparam("limit_", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte(f"due_{table.name}")
    )
    return (
        update(table)
        .where(table.c.id.in_(select(candidates.c.id)), *conditions)
        .values(
            lease_owner=bindparam("owner_", type_=table.c.lease_owner.type),
            lease_until=bindparam("until_", type_=table.c.lease_until.type),
        )
        .returning(table.c.id)
    )


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
    then nothing changes. Does not commit.

    Plain values go through one statement built once per model and set of columns (every
    scheduled check releases its org: building the ORM statement cost more than running
    it); a row of the session's is told the new values as the database's own. SQL
    expressions among the values take the ORM's path."""
    if any(isinstance(value, ClauseElement) for value in values.values()):
        statement = (
            update(model)
            .where(col(model.id) == row_id, col(model.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None, **values)
            .execution_options(synchronize_session="fetch")
        )
        return session.execute(statement).rowcount == 1
    released = session.execute(
        _release_statement(model, tuple(sorted(values))),
        {"row_id_": row_id, "owner_": owner, **values},
    )
    if released.rowcount != 1:
        return False
    row = session.identity_map.get(session.identity_key(model, row_id))
    if row is not None:
        for name, value in {"lease_owner": None, "lease_until": None, **values}.items():
            set_committed_value(row, name, value)
    return True


@cache
def _release_statement(model: type[Leased], names: tuple[str, ...]) -> Update:
    table = model.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(
            table.c.id == bindparam("row_id_", type_=table.c.id.type),
            table.c.lease_owner == bindparam("owner_", type_=table.c.lease_owner.type),
        )
        .values(
            lease_owner=None,
            lease_until=None,
            **{name: bindparam(name, type_=table.c[name].type) for name in names},
        )
    )


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
