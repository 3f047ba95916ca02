"""What the daily digest reads: one function, ``digest_facts``, returning a typed summary of the
last day (the orgs per state, incidents opened and resolved, mutes, tokens about to expire,
drift), and ``outbox_has``, which tells whether a day's digest was written already.

Every list is read with a ``LIMIT`` and counted apart, so a day with 1,500 muted orgs reads 50
of them and says how many more there are. Only the columns shown are read, never a token's
ciphertext. Read-only: nothing here writes (the digest itself goes to the outbox,
``storage.outbox.enqueue_outbox``, whose unique ``dedup_key`` makes it once a day across
replicas).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.baselines import open_drifts
from storage.checks import held_items
from storage.dashboard import DashboardCounts, dashboard_counts
from storage.models import CheckRun, Incident, Org, OutboxMessage

DEFAULT_LIMIT = 50
#: The check item that carries the token's expiry (``afas/diagnosis.py`` ``token_expiry``:
#: ``details.expires_at``, ISO 8601, when AFAS reported a readable date).
TOKEN_EXPIRY_KIND = "token_expiry"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """The first ``limit`` of a list, and how long the whole list is."""

    items: tuple[T, ...]
    total: int

    def __bool__(self) -> bool:
        return self.total > 0


@dataclass(frozen=True, slots=True)
class DigestIncidentRow:
    org_key: str
    display_name: str
    opened_at: datetime
    closed_at: datetime | None  # None: still open


@dataclass(frozen=True, slots=True)
class DigestMuteRow:
    org_key: str
    display_name: str
    until: datetime
    by: str | None


@dataclass(frozen=True, slots=True)
class DigestTokenRow:
    org_key: str
    display_name: str
    expires_at: datetime  # may be in the past: an expired token is listed too
    checked_at: datetime  # the check that read it


@dataclass(frozen=True, slots=True)
class DigestDriftRow:
    """An open drift warning (issue 10 §3): a connector's fields changed since the baseline."""

    org_key: str
    display_name: str
    connector: str
    detail: str
    since: datetime | None = None  # when the drift was first found


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """The last day (``since`` to ``until``) as the digest tells it."""

    since: datetime
    until: datetime
    counts: DashboardCounts  # every org per state, and how many have an open incident now
    opened: Listing[DigestIncidentRow]  # opened in the window, oldest first
    resolved: Listing[DigestIncidentRow]  # closed in the window, oldest first
    muted: Listing[DigestMuteRow]  # muted at ``until``, the first mute to end first
    expiring: Listing[DigestTokenRow]  # expiring by ``until + expiry_warning``, soonest first
    drift: Listing[DigestDriftRow]

    @property
    def quiet(self) -> bool:
        """Nothing to tell: no incident opened, resolved or open, no mute, no token expiring,
        no drift. The counts per state alone are not news."""
        return not (
            self.opened
            or self.resolved
            or self.counts.open_incidents
            or self.muted
            or self.expiring
            or self.drift
        )


def digest_facts(
    session: Session,
    *,
    now: datetime,
    window: timedelta = timedelta(hours=24),
    expiry_warning: timedelta = timedelta(days=14),
    limit: int = DEFAULT_LIMIT,
) -> DigestFacts:
    """The digest's facts at ``now``, over the ``window`` before it."""
    since = now - window
    return DigestFacts(
        since=since,
        until=now,
        counts=dashboard_counts(session, now=now),
        opened=_incidents(session, col(Incident.opened_at), since, now, limit),
        resolved=_incidents(session, col(Incident.closed_at), since, now, limit),
        muted=_mutes(session, now, limit),
        expiring=_expiring(session, now + expiry_warning, limit),
        drift=open_drift_warnings(session, limit=limit),
    )


def outbox_has(session: Session, dedup_key: str) -> bool:
    """Whether a message with ``dedup_key`` was written (sent or not)."""
    found = session.exec(
        select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key).limit(1)
    ).first()
    return found is not None


def open_drift_warnings(session: Session, *, limit: int = DEFAULT_LIMIT) -> Listing[DigestDriftRow]:
    """The open drift warnings (issue 10 §3), one row per connector whose fields were removed,
    renamed or retyped since the org's baseline: the oldest drift first, then by org and
    connector. ``detail`` is language-free: ``-Field`` removed, ``Old→New`` renamed,
    ``Field: int→string`` retyped (the shape of ``connector_baselines.drift``:
    bot/alerting/drift_diff.py). Drifts are few: every open one is read and counted here."""
    rows: list[DigestDriftRow] = []
    for drift in open_drifts(session):
        for connector in drift.drift.get("connectors") or []:
            detail = _drift_detail(connector) if isinstance(connector, Mapping) else ""
            if detail:
                rows.append(
                    DigestDriftRow(
                        drift.org_key,
                        drift.display_name,
                        str(connector.get("connector") or "?"),
                        detail,
                        drift.found_at,
                    )
                )
    return Listing(tuple(rows[:limit]), len(rows))


def _drift_detail(connector: Mapping[str, Any]) -> str:
    """A connector's breaking changes, language-free; "" when it has none (fields added)."""
    parts = [f"-{name}" for name in connector.get("removed") or []]
    parts += [
        f"{r.get('old')}→{r.get('new')}"
        for r in connector.get("renamed") or []
        if isinstance(r, Mapping)
    ]
    parts += [
        f"{r.get('field')}: {r.get('old')}→{r.get('new')}"
        for r in connector.get("retyped") or []
        if isinstance(r, Mapping)
    ]
    return "; ".join(str(part) for part in parts)


# -- the queries ---------------------------------------------------------------------------


def _incidents(
    session: Session, moment: Any, since: datetime, until: datetime, limit: int
) -> Listing[DigestIncidentRow]:
    """Incidents whose ``moment`` (opened or closed) lies in ``(since, until]``."""
    inside = (moment > since, moment <= until)
    total = session.exec(select(func.count()).select_from(Incident).where(*inside)).one()
    rows = session.exec(
        select(Org.key, Org.display_name, Incident.opened_at, Incident.closed_at)
        .join(Org, col(Org.id) == col(Incident.org_id))
        .where(*inside)
        .order_by(moment, col(Incident.id))
        .limit(limit)
    ).all()
    return Listing(tuple(DigestIncidentRow(*row) for row in rows), int(total))


def _mutes(session: Session, now: datetime, limit: int) -> Listing[DigestMuteRow]:
    muted = col(Org.mute_until) > now
    total = session.exec(select(func.count()).select_from(Org).where(muted)).one()
    rows = session.exec(
        select(Org.key, Org.display_name, Org.mute_until, Org.muted_by)
        .where(muted)
        .order_by(col(Org.mute_until), col(Org.key))
        .limit(limit)
    ).all()
    return Listing(tuple(DigestMuteRow(*row) for row in rows), int(total))


def _expiring(session: Session, by: datetime, limit: int) -> Listing[DigestTokenRow]:
    """Each org's token expiry as its latest check read it, if that is ``by`` or earlier.

    The expiry lives in the check run's JSON items, which SQL cannot read portably: the latest
    run of every org is read (one row per org, once a day) and its items looked through here.
    A latest check that could not read the expiry (AFAS down, token refused) lists nothing.
    """
    latest = (
        select(CheckRun.org_id, func.max(CheckRun.started_at).label("at"))
        .group_by(CheckRun.org_id)
        .subquery()
    )
    rows = session.exec(
        select(Org.key, Org.display_name, CheckRun.id, CheckRun.started_at, CheckRun.items)
        .add_columns(CheckRun.org_id, CheckRun.items_digest, CheckRun.items_shared)
        .join(latest, (CheckRun.org_id == latest.c.org_id) & (CheckRun.started_at == latest.c.at))
        .join(Org, col(Org.id) == col(CheckRun.org_id))
        .order_by(col(Org.key), col(CheckRun.id))
    ).all()
    newest: dict[str, tuple[str, datetime, Any]] = {}
    for key, name, _run_id, started_at, items, org_id, digest, shared in rows:
        # runs at the same moment: the last one; a run that shares its items: where they are
        newest[key] = (name, started_at, (org_id, digest) if shared else items)
    held = held_items(session, (v[2] for v in newest.values() if isinstance(v[2], tuple)))
    found = []
    for key, (name, started_at, items) in newest.items():
        expires = token_expires_at(held.get(items) if isinstance(items, tuple) else items)
        if expires is not None and expires <= by:
            found.append(DigestTokenRow(key, name, expires, started_at))
    found.sort(key=lambda row: (row.expires_at, row.org_key))
    return Listing(tuple(found[:limit]), len(found))


def token_expires_at(items: Iterable[Mapping[str, Any]] | None) -> datetime | None:
    """The expiry in a check run's stored items (``details.expires_at`` of the token expiry
    item); None when there is none or it cannot be read."""
    for item in items or ():
        if not isinstance(item, Mapping) or item.get("kind") != TOKEN_EXPIRY_KIND:
            continue
        details = item.get("details")
        value = details.get("expires_at") if isinstance(details, Mapping) else None
        if not isinstance(value, str):
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None
