"""What the continuous scheduler asks the database besides claiming (``storage.checks``):
renewing the leases of checks in flight, how many orgs are overdue,
and how much work the registered orgs need per second."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from afas.environments import AfasEnvironment
from storage.leases import lease_is_free
from storage.models import Org


def renew_leases(session: Session, org_ids: Sequence[int], *, owner: str, until: datetime) -> int:
    """Extend ``owner``'s leases on ``org_ids`` (checks still running) to ``until``, so that a
    slow check never loses its org to another replica. Returns how many were still ours."""
    if not org_ids:
        return 0
    statement = (
        update(Org)
        .where(col(Org.id).in_(list(org_ids)), col(Org.lease_owner) == owner)
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0


def overdue_count(session: Session, *, now: datetime, grace: timedelta) -> int:
    """Orgs due for longer than ``grace`` and not being checked: the scheduler is behind."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Org)
            .where(col(Org.next_check_at) <= now - grace, lease_is_free(Org, now))
        ).one()
    )


def checks_per_second(session: Session, *, default_interval: int) -> float:
    """The checks per second every registered org's interval asks for together (an org
    without an interval of its own has ``default_interval``)."""
    rows = session.exec(
        select(Org.check_interval_seconds, func.count()).group_by(Org.check_interval_seconds)
    ).all()
    return sum(count / max(1, interval or default_interval) for interval, count in rows)


def any_environment(session: Session) -> AfasEnvironment | None:
    """One registered org's environment (the first registered), to probe the network with."""
    org = session.exec(select(Org).order_by(col(Org.id)).limit(1)).first()
    return org.environment if org is not None else None
