"""The App Home dashboard's queries: the orgs counted per state, and one page of orgs worst
first with their open incident and their mute.

A page costs three small queries whatever the number of orgs (the count of orgs matching the
filter, the page itself with ``LIMIT``/``OFFSET``, and the open incidents of just those orgs),
so 1,500 orgs are never loaded to show 25. Only the columns shown are read: never a token's
ciphertext. Read-only: nothing here writes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from storage.models import Incident, Org

#: The states a check gives an org, worst first.
CHECKED_STATES: Final = ("failing", "unreachable", "degraded", "healthy")
#: The filter (and count) of orgs with no known state yet.
NEVER_CHECKED: Final = "never"
#: Worst first: never checked sits between degraded and healthy (unknown is worse than fine).
STATE_ORDER: Final = ("failing", "unreachable", "degraded", NEVER_CHECKED, "healthy")
MAX_PAGE_SIZE: Final = 100


@dataclass(frozen=True, slots=True)
class DashboardRow:
    """One org as the dashboard shows it. ``state`` is one of ``CHECKED_STATES`` or None
    (never checked, or a state this version does not know)."""

    key: str
    display_name: str
    env_number: str
    env_kind: str
    state: str | None
    last_checked_at: datetime | None
    mute_until: datetime | None
    muted_by: str | None
    incident_opened_at: datetime | None = None
    incident_acknowledged_by: str | None = None

    def muted(self, now: datetime) -> bool:
        return self.mute_until is not None and self.mute_until > now


@dataclass(frozen=True, slots=True)
class DashboardCounts:
    """Every org counted: per state (``NEVER_CHECKED`` for none), muted, with an open incident."""

    by_state: Mapping[str, int]
    muted: int
    open_incidents: int

    @property
    def total(self) -> int:
        return sum(self.by_state.values())


@dataclass(frozen=True, slots=True)
class DashboardPage:
    """One page of the dashboard. ``page`` is the page actually shown (a page past the end is
    the last one); ``matching`` counts the orgs of the filter (``state``, None for all)."""

    rows: Sequence[DashboardRow]
    page: int
    page_size: int
    page_count: int
    matching: int
    state: str | None
    counts: DashboardCounts

    @property
    def first_index(self) -> int:
        """The 0-based position of the page's first org among the matching ones."""
        return self.page * self.page_size


def _known_state(state: str | None) -> str | None:
    return state if state in CHECKED_STATES else None


def _rank() -> Any:
    """Worst first, as SQL: the position of the org's state in ``STATE_ORDER``."""
    never = STATE_ORDER.index(NEVER_CHECKED)
    return case(
        *[(col(Org.current_state) == state, STATE_ORDER.index(state)) for state in CHECKED_STATES],
        else_=never,
    )


def _state_filter(state: str | None) -> Any:
    if state is None:
        return None
    if state == NEVER_CHECKED:
        return col(Org.current_state).is_(None) | col(Org.current_state).not_in(CHECKED_STATES)
    if state in CHECKED_STATES:
        return col(Org.current_state) == state
    raise ValueError("unknown dashboard filter")  # the input is not repeated


def dashboard_counts(session: Session, *, now: datetime) -> DashboardCounts:
    """Every org counted per state, the muted ones (now) and those with an open incident."""
    by_state = dict.fromkeys(STATE_ORDER, 0)
    grouped = session.exec(
        select(Org.current_state, func.count()).group_by(col(Org.current_state))
    ).all()
    for state, count in grouped:
        by_state[_known_state(state) or NEVER_CHECKED] += count
    muted = session.exec(
        select(func.count()).select_from(Org).where(col(Org.mute_until) > now)
    ).one()
    incidents = session.exec(
        select(func.count(func.distinct(Incident.org_id))).where(col(Incident.closed_at).is_(None))
    ).one()
    return DashboardCounts(by_state=by_state, muted=int(muted), open_incidents=int(incidents))


def page_count(matching: int, page_size: int) -> int:
    """Pages for ``matching`` orgs; an empty list is one (empty) page."""
    return max(1, math.ceil(matching / page_size))


def dashboard_page(
    session: Session,
    *,
    page: int,
    page_size: int,
    now: datetime,
    state: str | None = None,
) -> DashboardPage:
    """Page ``page`` (0-based) of the orgs, worst first and then by key, with the counts.

    ``state`` filters (one of ``STATE_ORDER``, None for all; ``ValueError`` otherwise). A
    page below 0 is the first, one past the end the last: a stale or forged page number
    shows the nearest page that exists.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
    where = _state_filter(state)
    counting = select(func.count()).select_from(Org)
    if where is not None:
        counting = counting.where(where)
    matching = int(session.exec(counting).one())
    pages = page_count(matching, page_size)
    page = min(max(0, page), pages - 1)
    query = select(
        Org.id,
        Org.key,
        Org.display_name,
        Org.env_number,
        Org.env_kind,
        Org.current_state,
        Org.last_checked_at,
        Org.mute_until,
        Org.muted_by,
    )
    if where is not None:
        query = query.where(where)
    found = session.exec(
        query.order_by(_rank(), col(Org.key)).offset(page * page_size).limit(page_size)
    ).all()
    incidents = _open_incidents(session, [row[0] for row in found])
    rows = [
        DashboardRow(
            key=key,
            display_name=display_name,
            env_number=env_number,
            env_kind=env_kind,
            state=_known_state(current_state),
            last_checked_at=last_checked_at,
            mute_until=mute_until,
            muted_by=muted_by,
            incident_opened_at=incidents.get(org_id, (None, None))[0],
            incident_acknowledged_by=incidents.get(org_id, (None, None))[1],
        )
        for (
            org_id,
            key,
            display_name,
            env_number,
            env_kind,
            current_state,
            last_checked_at,
            mute_until,
            muted_by,
        ) in found
    ]
    return DashboardPage(
        rows=rows,
        page=page,
        page_size=page_size,
        page_count=pages,
        matching=matching,
        state=state,
        counts=dashboard_counts(session, now=now),
    )


def _open_incidents(session: Session, org_ids: list[int]) -> dict[int, tuple[datetime, str | None]]:
    """The oldest open incident of each of these orgs: when it opened, who acknowledged it."""
    if not org_ids:
        return {}
    found = session.exec(
        select(Incident.org_id, Incident.opened_at, Incident.acknowledged_by)
        .where(col(Incident.org_id).in_(org_ids), col(Incident.closed_at).is_(None))
        .order_by(col(Incident.opened_at), col(Incident.id))
    ).all()
    incidents: dict[int, tuple[datetime, str | None]] = {}
    for org_id, opened_at, acknowledged_by in found:
        incidents.setdefault(org_id, (opened_at, acknowledged_by))
    return incidents
