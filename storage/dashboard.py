"""The overview's queries (the App Home dashboard, ``/afas status``, ``afasbot org list``): the
orgs counted per state, one page of orgs worst first with their open incident and their mute,
and every org's line for the CLI.

A page costs four statements whatever the number of orgs or the page: the counts (one query
grouped by state, the muted ones summed in it), the count of open incidents, the page, and the
open incidents of just its orgs. The counts say where each state's run of orgs starts, so the
page is read as a slice of each state it overlaps (``WHERE current_state = … ORDER BY key
LIMIT … OFFSET …``, one ``UNION ALL`` statement), never as one sort of every org by a computed
rank: at 10,000 orgs that sort cost 9-12 ms a page, deep pages most; the slices about 2 ms on
any page. Only the columns shown are read: never a token's ciphertext. Read-only: nothing here
writes.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import case, func, literal, union_all
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


def _state_filter(state: str | None) -> Any:
    if state is None:
        return None
    if state == NEVER_CHECKED:
        return col(Org.current_state).is_(None) | col(Org.current_state).not_in(CHECKED_STATES)
    if state in CHECKED_STATES:
        return col(Org.current_state) == state
    raise ValueError("unknown dashboard filter")  # the input is not repeated


def dashboard_counts(session: Session, *, now: datetime) -> DashboardCounts:
    """Every org counted per state and the muted ones (now), in one grouped query; those with
    an open incident in a second."""
    by_state = dict.fromkeys(STATE_ORDER, 0)
    muted_now = func.sum(case((col(Org.mute_until) > now, 1), else_=0))
    grouped = session.exec(
        select(Org.current_state, func.count(), muted_now).group_by(col(Org.current_state))
    ).all()
    muted = 0
    for state, count, muted_in_state in grouped:
        by_state[_known_state(state) or NEVER_CHECKED] += count
        muted += int(muted_in_state or 0)
    incidents = session.exec(
        select(func.count(func.distinct(Incident.org_id))).where(col(Incident.closed_at).is_(None))
    ).one()
    return DashboardCounts(by_state=by_state, muted=muted, open_incidents=int(incidents))


def page_count(matching: int, page_size: int) -> int:
    """Pages for ``matching`` orgs; an empty list is one (empty) page."""
    return max(1, math.ceil(matching / page_size))


@dataclass(frozen=True, slots=True)
class Slice:
    """The part of one state's run of orgs (by key) that a page shows."""

    state: str
    offset: int
    limit: int


def page_slices(
    by_state: Mapping[str, int], *, state: str | None, first: int, size: int
) -> list[Slice]:
    """The slices of each state (worst first) that orgs ``first`` … ``first + size - 1`` of
    the list fall in, from the counts per state. Pure."""
    slices: list[Slice] = []
    start = 0
    for candidate in STATE_ORDER if state is None else (state,):
        count = by_state.get(candidate, 0)
        low, high = max(first, start), min(first + size, start + count)
        if low < high:
            slices.append(Slice(candidate, low - start, high - low))
        start += count
    return slices


_PAGE_COLUMNS = (
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


def _read_slices(session: Session, slices: Sequence[Slice]) -> list[Any]:
    """The slices' orgs, worst first and by key, in one statement (``UNION ALL`` of one
    ``LIMIT``/``OFFSET`` query per state; each ordered by the key's unique index)."""
    if not slices:
        return []
    parts = [
        select(*_PAGE_COLUMNS, literal(STATE_ORDER.index(part.state)).label("rank"))
        .where(_state_filter(part.state))
        .order_by(col(Org.key))
        .offset(part.offset)
        .limit(part.limit)
        for part in slices
    ]
    if len(parts) == 1:
        return list(session.exec(parts[0]).all())
    # SQLite takes no LIMIT inside a compound SELECT's members: each is a subquery.
    members = [select(*part.subquery().c) for part in parts]
    combined = union_all(*members).subquery()
    query = select(*combined.c).order_by(combined.c.rank, combined.c.key)
    return list(session.exec(query).all())  # type: ignore[call-overload]


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
    if state is not None and state not in STATE_ORDER:
        raise ValueError("unknown dashboard filter")  # the input is not repeated
    counts = dashboard_counts(session, now=now)
    matching = counts.total if state is None else counts.by_state[state]
    pages = page_count(matching, page_size)
    page = min(max(0, page), pages - 1)
    slices = page_slices(counts.by_state, state=state, first=page * page_size, size=page_size)
    found = _read_slices(session, slices)
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
            _rank,
        ) in found
    ]
    return DashboardPage(
        rows=rows,
        page=page,
        page_size=page_size,
        page_count=pages,
        matching=matching,
        state=state,
        counts=counts,
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


# -- every org, for the CLI ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrgListing:
    """One org's line in ``afasbot org list``: what identifies it and how it is doing; the
    token only by its fingerprint (``org show`` shows it too). ``state`` as ``DashboardRow``."""

    key: str
    display_name: str
    env_number: str
    env_kind: str
    state: str | None
    last_checked_at: datetime | None
    token_fingerprint: str


def org_listing(session: Session, *, states: Collection[str] = ()) -> list[OrgListing]:
    """Every org by key, or those in ``states`` (values of ``STATE_ORDER``; ``ValueError``
    otherwise): one statement, only these columns, no ORM objects (10,000 orgs in about
    50 ms on SQLite)."""
    unknown = set(states) - set(STATE_ORDER)
    if unknown:
        raise ValueError("unknown state filter")  # the input is not repeated
    query = select(
        Org.key,
        Org.display_name,
        Org.env_number,
        Org.env_kind,
        Org.current_state,
        Org.last_checked_at,
        Org.token_fingerprint,
    )
    if states and set(states) != set(STATE_ORDER):
        wanted = [_state_filter(state) for state in STATE_ORDER if state in states]
        condition = wanted[0]
        for other in wanted[1:]:
            condition = condition | other
        query = query.where(condition)
    return [
        OrgListing(key, name, number, kind, _known_state(state), checked, fingerprint)
        for key, name, number, kind, state, checked, fingerprint in session.exec(
            query.order_by(col(Org.key))
        ).all()
    ]
