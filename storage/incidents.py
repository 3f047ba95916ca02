"""Incidents: an org's alert episodes and the Slack message that announced each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from storage.audit import add_audit_event
from storage.datetimes import utcnow
from storage.db import insert_for
from storage.errors import UnknownIncidentError
from storage.models import AuditEvent, Incident, Org, OutboxMessage
from storage.orgs import get_org


def open_incident(
    session: Session,
    org: Org,
    *,
    kind: str,
    opened_at: datetime,
    cause: str | None = None,
    held: str | None = None,
) -> tuple[Incident, bool]:
    """Open an incident of ``kind`` for ``org``, or return the one already open.

    Returns ``(incident, created)``. A partial unique index allows one open incident per org
    and kind, and the insert is ``ON CONFLICT DO NOTHING``, so two replicas opening the same
    incident at once end up with one. ``held``: why its messages are held ("muted",
    "platform"); an incident opened without a hold is announced as it opens (``announced_at``
    is ``opened_at``: the caller writes its opening message in the same transaction).
    """
    if org.id is None:
        raise ValueError("the org must be stored first")
    statement = (
        insert_for(session, Incident)
        .values(
            org_id=org.id,
            kind=kind,
            opened_at=opened_at,
            cause=cause,
            held=held,
            announced_at=opened_at if held is None else None,
        )
        .on_conflict_do_nothing(
            index_elements=["org_id", "kind"],
            index_where=col(Incident.closed_at).is_(None),
        )
        .returning(Incident.id)
    )
    new_id = session.execute(statement).scalar_one_or_none()
    incident = session.exec(
        select(Incident)
        .where(Incident.org_id == org.id, Incident.kind == kind, col(Incident.closed_at).is_(None))
        .execution_options(populate_existing=True)
    ).one()
    return incident, new_id is not None


def open_incident_of(session: Session, org_id: int, *, kind: str) -> Incident | None:
    """The org's open incident of ``kind``, if any."""
    return session.exec(_OPEN_INCIDENT_OF, params={"org_id": org_id, "kind": kind}).first()


# Built once: every scheduled check asks it.
_OPEN_INCIDENT_OF = select(Incident).where(
    col(Incident.org_id) == bindparam("org_id"),
    col(Incident.kind) == bindparam("kind"),
    col(Incident.closed_at).is_(None),
)


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id, populate_existing=True)
    if incident is None:
        raise UnknownIncidentError(incident_id)
    return incident


def close_incident(session: Session, incident_id: int, *, closed_at: datetime) -> bool:
    """Close an open incident. True when this call closed it, False when it was closed
    already (so exactly one caller goes on to announce the recovery)."""
    get_incident(session, incident_id)
    statement = (
        update(Incident)
        .where(col(Incident.id) == incident_id, col(Incident.closed_at).is_(None))
        .values(closed_at=closed_at)
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount == 1


def set_incident_cause(session: Session, incident_id: int, cause: str | None) -> None:
    """Keep an open incident's cause current (what the root shows)."""
    _update_open(session, incident_id, cause=cause)


def hold_incident(session: Session, incident_id: int, held: str | None) -> None:
    """Hold an open incident's messages (``held``: "muted", "platform"), or stop holding them
    (None) without announcing anything."""
    _update_open(session, incident_id, held=held)


def announce_incident(session: Session, incident_id: int, *, at: datetime) -> bool:
    """Mark a held, never announced incident as announced now (its hold is over and its
    opening message is written in this transaction). True when this call did (so exactly one
    caller writes the opening message), False when it was announced or closed already."""
    statement = (
        update(Incident)
        .where(
            col(Incident.id) == incident_id,
            col(Incident.announced_at).is_(None),
            col(Incident.closed_at).is_(None),
        )
        .values(announced_at=at, held=None)
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount == 1


def _update_open(session: Session, incident_id: int, **values: object) -> None:
    session.execute(
        update(Incident)
        .where(col(Incident.id) == incident_id, col(Incident.closed_at).is_(None))
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )


def incident_messages_of(
    session: Session, incident_id: int, *, kinds: tuple[str, ...]
) -> list[OutboxMessage]:
    """The incident's outbox messages of any of ``kinds``, oldest first (sent or not)."""
    return list(
        session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.incident_id == incident_id,
                col(OutboxMessage.kind).in_(kinds),
            )
            .order_by(col(OutboxMessage.id))
        ).all()
    )


def last_mute(
    session: Session, org_key: str, *, at: datetime
) -> tuple[str, datetime | None] | None:
    """Who muted the org last (at or before ``at``) and until when, from the audit log: what
    an alert held by a mute says once the mute is over (an unmute clears the org's columns)."""
    event = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.org_key == org_key,
            AuditEvent.action == "org.muted",
            col(AuditEvent.at) <= at,
        )
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    ).first()
    if event is None:
        return None
    until = (event.details or {}).get("until")
    try:
        return event.actor, datetime.fromisoformat(until) if isinstance(until, str) else None
    except ValueError:
        return event.actor, None


def acknowledge_incident(
    session: Session, incident_id: int, *, actor: str, at: datetime | None = None
) -> bool:
    """Record who acknowledged an open incident. True when this call did; False when it was
    acknowledged before or is closed. Writes an audit event when it did."""
    at = at or utcnow()
    incident = get_incident(session, incident_id)
    statement = (
        update(Incident)
        .where(
            col(Incident.id) == incident_id,
            col(Incident.acknowledged_at).is_(None),
            col(Incident.closed_at).is_(None),
        )
        .values(acknowledged_by=actor, acknowledged_at=at)
        .execution_options(synchronize_session="fetch")
    )
    if session.execute(statement).rowcount != 1:
        return False
    org = session.get(Org, incident.org_id)
    add_audit_event(
        session,
        actor=actor,
        action="incident.acknowledged",
        org_key=org.key if org is not None else None,
        at=at,
        details={"incident_id": incident_id, "kind": incident.kind},
    )
    return True


def set_incident_message(session: Session, incident_id: int, *, channel: str, ts: str) -> Incident:
    """Remember the Slack message that announced the incident (for edits and thread replies)."""
    incident = get_incident(session, incident_id)
    incident.slack_channel = channel
    incident.slack_ts = ts
    session.add(incident)
    session.flush()
    return incident


def open_incidents(session: Session, *, org_id: int | None = None) -> list[Incident]:
    """Every open incident (of one org if given), oldest first."""
    query = select(Incident).where(col(Incident.closed_at).is_(None))
    if org_id is not None:
        query = query.where(Incident.org_id == org_id)
    return list(session.exec(query.order_by(col(Incident.opened_at), col(Incident.id))).all())


def org_incidents(session: Session, key: str, *, since: datetime) -> list[Incident]:
    """An org's incidents open at any time since ``since`` (for the handover note), oldest
    first. ``UnknownOrgError`` for an unknown key."""
    org = get_org(session, key)
    query = (
        select(Incident)
        .where(Incident.org_id == org.id)
        .where((col(Incident.closed_at).is_(None)) | (col(Incident.closed_at) >= since))
        .order_by(col(Incident.opened_at), col(Incident.id))
    )
    return list(session.exec(query).all())
