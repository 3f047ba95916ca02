"""What the handover note reads beyond the repository's other functions: an org's check states
over a window, for its availability and its day strip, from the runs kept in full and from the
days compacted past the retention period (``storage.retention``). Read only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from storage.models import CheckDay, CheckRun, OrgState
from storage.retention import Span, decode_spans


def check_states(
    session: Session, org_id: int, *, since: datetime, until: datetime
) -> list[tuple[datetime, str]]:
    """``(started_at, overall_state)`` of the org's check runs started in ``[since, until]``,
    oldest first, preceded by the last run before ``since`` if there is one (its state still
    held when the window opened). Grouping into days is left to the caller: a day is a day in
    the bot's time zone, which SQL cannot be asked portably.

    Only the runs kept in full: the compacted ones are in ``compacted_history``. They never
    overlap: an org's compacted runs are all older than its oldest run kept, and each compacted
    span ends where the next run started."""
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


@dataclass(frozen=True)
class CompactedDay:
    """One compacted day: how many checks it had, by state (``OrgState`` values)."""

    day: date
    checks: int
    by_state: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CompactedHistory:
    """An org's compacted checks near a window: the time they covered with each state
    (``(start, end, state)``, oldest first) and their days (in the zone compaction ran with,
    the bot's), oldest first."""

    spans: tuple[Span, ...] = ()
    days: tuple[CompactedDay, ...] = ()


def compacted_history(
    session: Session, org_id: int, *, since: datetime, until: datetime
) -> CompactedHistory:
    """The org's compacted days that matter to ``[since, until]``: those in it, and the few
    before it whose spans may reach into it (a span lasts at most two check intervals, a
    day at most). Spans are returned whole: the caller clips them to its window."""
    first = (since - timedelta(days=3)).date()
    last = (until + timedelta(days=1)).date()
    rows = session.exec(
        select(CheckDay)
        .where(CheckDay.org_id == org_id, col(CheckDay.day) >= first, col(CheckDay.day) <= last)
        .order_by(col(CheckDay.day))
    ).all()
    spans = [span for row in rows for span in decode_spans(row.spans)]
    days = [
        CompactedDay(
            row.day, row.checks, {state.value: getattr(row, state.value) for state in OrgState}
        )
        for row in rows
    ]
    return CompactedHistory(tuple(sorted(spans)), tuple(days))
