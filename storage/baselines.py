"""Connector baselines (issue 10 §3, drift): each org's connectors and their fields as its
first healthy deep check found them, the difference a later deep check found, and the warning
posted about it.

The JSON columns are the bot's (bot/alerting/drift.py gives them their shape); here they are
only stored and handed back. A drift is ``{"hash": ..., "connectors": [...]}``: the hash names
one difference, so a message and a button can say which one they are about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage.audit import add_audit_event
from storage.db import insert_for
from storage.models import ConnectorBaseline, Org

BASELINE_ACCEPTED = "baseline.accepted"


def get_baseline(
    session: Session, org_id: int, *, for_update: bool = False
) -> ConnectorBaseline | None:
    """The org's baseline, if one was taken; ``for_update`` locks its row (PostgreSQL) until
    the transaction ends, so two agents accepting at once are served one after the other."""
    query = _BASELINE_FOR_UPDATE if for_update else _BASELINE
    return session.exec(query, params={"org_id": org_id}).first()


# Built once: every scheduled check reads its org's baseline.
_BASELINE = (
    select(ConnectorBaseline)
    .where(col(ConnectorBaseline.org_id) == bindparam("org_id"))
    .execution_options(populate_existing=True)
)
_BASELINE_FOR_UPDATE = _BASELINE.with_for_update()


def take_baseline(
    session: Session, org_id: int, fields: dict[str, Any], *, at: datetime, by: str
) -> ConnectorBaseline:
    """Store ``fields`` as the org's baseline unless it has one (``ON CONFLICT DO NOTHING``):
    returns the org's baseline either way."""
    session.execute(
        insert_for(session, ConnectorBaseline)
        .values(org_id=org_id, fields=fields, taken_at=at, taken_by=by)
        .on_conflict_do_nothing(index_elements=["org_id"])
    )
    baseline = get_baseline(session, org_id)
    assert baseline is not None  # inserted, or there already
    return baseline


def extend_baseline(session: Session, baseline: ConnectorBaseline, more: dict[str, Any]) -> None:
    """Add connectors the baseline did not have (first seen now) to it."""
    baseline.fields = {**baseline.fields, **more}  # a new dict: JSON columns track assignment
    session.add(baseline)
    session.flush()


def record_drift(
    session: Session,
    baseline: ConnectorBaseline,
    *,
    latest: dict[str, Any],
    drift: dict[str, Any],
    found_at: datetime,
) -> None:
    """A deep check differs from the baseline: what it found and the difference. The moment
    the drift was first found stays while it is open."""
    baseline.latest = latest
    baseline.drift = drift
    baseline.drift_found_at = baseline.drift_found_at or found_at
    session.add(baseline)
    session.flush()


def clear_drift(session: Session, baseline: ConnectorBaseline) -> None:
    """A deep check matches the baseline again (or the difference was accepted)."""
    baseline.latest = None
    baseline.drift = None
    baseline.drift_found_at = None
    baseline.drift_channel = None
    baseline.drift_ts = None
    session.add(baseline)
    session.flush()


def drift_hash(baseline: ConnectorBaseline | None) -> str | None:
    """The hash of the baseline's open drift, None when there is none."""
    if baseline is None or not isinstance(baseline.drift, dict):
        return None
    value = baseline.drift.get("hash")
    return value if isinstance(value, str) else None


def open_drift_hash(session: Session, org_id: int | None) -> str | None:
    """The hash of the org's open drift (None: none, or no such org any more)."""
    if org_id is None:
        return None
    return drift_hash(get_baseline(session, org_id))


def set_drift_message(session: Session, org_id: int, hash_: str, *, channel: str, ts: str) -> bool:
    """Remember the warning posted about drift ``hash_``, if that drift is still open (False:
    it was accepted, cleared or replaced meanwhile; nothing written)."""
    baseline = get_baseline(session, org_id)
    if drift_hash(baseline) != hash_:
        return False
    baseline.drift_channel, baseline.drift_ts = channel, ts
    session.add(baseline)
    session.flush()
    return True


class Acceptance(StrEnum):
    ACCEPTED = "accepted"
    NO_DRIFT = "no_drift"  # nothing to accept: matched again, or accepted already
    STALE = "stale"  # the drift changed since that warning
    ELSEWHERE = "elsewhere"  # the button pressed is not on this org's warning (forged)


@dataclass(frozen=True, slots=True)
class AcceptResult:
    outcome: Acceptance
    drift: dict[str, Any] | None  # the drift accepted (or open), for rewriting the warning
    found_at: datetime | None
    taken_at: datetime | None  # when the baseline replaced had been taken


def accept_drift(
    session: Session,
    org: Org,
    hash_: str,
    *,
    actor: str,
    at: datetime,
    pressed: tuple[str, str] | None = None,
) -> AcceptResult:
    """Make what the latest deep check found the org's baseline, if its open drift is
    ``hash_`` and (when the warning's message is known) ``pressed`` is that message. Audited
    as ``baseline.accepted``."""
    baseline = get_baseline(session, org.id, for_update=True)
    current = drift_hash(baseline)
    if baseline is None or current is None or baseline.latest is None:
        return AcceptResult(Acceptance.NO_DRIFT, None, None, None)
    posted = (baseline.drift_channel, baseline.drift_ts)
    if pressed is not None and baseline.drift_ts and posted != pressed:
        return AcceptResult(Acceptance.ELSEWHERE, None, None, None)
    if current != hash_:
        return AcceptResult(Acceptance.STALE, baseline.drift, baseline.drift_found_at, None)
    drift, found_at, taken_at = baseline.drift, baseline.drift_found_at, baseline.taken_at
    connectors = [
        c.get("connector")
        for c in (drift.get("connectors") or [])
        if isinstance(c, dict) and isinstance(c.get("connector"), str)
    ]
    baseline.fields = {**baseline.fields, **baseline.latest}
    baseline.taken_at, baseline.taken_by = at, actor
    clear_drift(session, baseline)
    add_audit_event(
        session,
        actor=actor,
        action=BASELINE_ACCEPTED,
        org_key=org.key,
        at=at,
        details={"drift": hash_, "connectors": connectors},
    )
    return AcceptResult(Acceptance.ACCEPTED, drift, found_at, taken_at)


@dataclass(frozen=True, slots=True)
class OpenDrift:
    org_key: str
    display_name: str
    found_at: datetime | None
    drift: dict[str, Any]


def open_drifts(session: Session) -> list[OpenDrift]:
    """Every org with an open drift, the oldest drift first. ``drift_found_at`` is set and
    cleared with ``drift`` and, unlike a JSON column (whose None may be stored as JSON
    ``null``), is SQL NULL when there is none: the query reads it."""
    rows = session.exec(
        select(Org.key, Org.display_name, ConnectorBaseline.drift_found_at, ConnectorBaseline.drift)
        .join(Org, col(Org.id) == col(ConnectorBaseline.org_id))
        .where(col(ConnectorBaseline.drift_found_at).is_not(None))
        .order_by(col(ConnectorBaseline.drift_found_at), col(Org.key))
    ).all()
    return [OpenDrift(*row) for row in rows if isinstance(row[3], dict)]
