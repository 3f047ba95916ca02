"""The audit log: who did what, when, to which org. Never secrets."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.datetimes import utcnow
from storage.errors import UnsafeAuditDetailsError
from storage.models import ACTOR_MAX, AuditEvent
from storage.secrecy import find_secret


def add_audit_event(
    session: Session,
    *,
    actor: str,
    action: str,
    org_key: str | None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an event to the session's transaction (it commits with the change it records).

    ``details`` must be JSON and must not look like a secret: ``UnsafeAuditDetailsError``
    (naming the offending field, never its value) otherwise, and nothing is written.
    """
    details = dict(details or {})
    where = find_secret(details, "details")
    if where is not None:
        raise UnsafeAuditDetailsError(
            f"Audit event {action!r} was not written: {where} looks like a token or ciphertext."
        )
    try:
        json.dumps(details)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"audit details of {action!r} must be JSON-serialisable: {exc}") from None
    event = AuditEvent(
        actor=normalize_actor(actor),
        action=action,
        org_key=org_key,
        at=at or utcnow(),
        details=details,
    )
    session.add(event)
    session.flush()
    return event


def audit_events(
    session: Session, *, org_key: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The newest events first, optionally of one org key (also of removed orgs)."""
    query = select(AuditEvent)
    if org_key is not None:
        query = query.where(AuditEvent.org_key == org_key)
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
    return list(session.exec(query).all())


def normalize_actor(actor: str) -> str:
    """Who did it: a Slack user id, or ``cli:<user>``; required, trimmed to the column."""
    text = (actor or "").strip()
    if not text:
        raise ValueError("an audited change needs an actor (a Slack user id or 'cli:<user>')")
    return text[:ACTOR_MAX]
