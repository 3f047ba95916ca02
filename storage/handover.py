"""What the handover note reads beyond the repository's other functions: an org's check states
over a window, for its availability and its day strip. Read only."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import CheckRun


def check_states(
    session: Session, org_id: int, *, since: datetime, until: datetime
) -> list[tuple[datetime, str]]:
    """``(started_at, overall_state)`` of the org's check runs started in ``[since, until]``,
    oldest first, preceded by the last run before ``since`` if there is one (its state still
    held when the window opened). Grouping into days is left to the caller: a day is a day in
    the bot's time zone, which SQL cannot be asked portably."""
    order = (col(CheckRun.started_at), col(CheckRun.id))
    inside = session.exec(
        select(CheckRun.started_at, CheckRun.overall_state)
        .where(CheckRun.org_id == org_id)
        .where(col(CheckRun.started_at) >= since, col(CheckRun.started_at) <= until)
        .order_by(*order)
    ).all()
    before = session.exec(
        select(CheckRun.started_at, CheckRun.overall_state)
        .where(CheckRun.org_id == org_id, col(CheckRun.started_at) < since)
        .order_by(col(CheckRun.started_at).desc(), col(CheckRun.id).desc())
        .limit(1)
    ).first()
    rows = [(at, state) for at, state in inside]
    return [(before[0], before[1]), *rows] if before is not None else rows
