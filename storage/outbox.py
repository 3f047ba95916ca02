"""The transactional outbox: notifications are written in the transaction that decides them,
and sent later by whichever replica claims them (alerting.md decision 6)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage import leases
from storage.datetimes import utcnow
from storage.db import insert_for
from storage.models import OutboxMessage

LAST_ERROR_MAX = 1000


@dataclass(frozen=True, slots=True)
class OutboxEnqueued:
    message: OutboxMessage
    created: bool  # False: a message with this dedup_key existed already (left unchanged)


def enqueue_outbox(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    dedup_key: str,
    org_id: int | None = None,
    incident_id: int | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
) -> OutboxEnqueued:
    """Add a message unless one with ``dedup_key`` exists (``INSERT ... ON CONFLICT DO
    NOTHING``: idempotent, also between replicas, and it never aborts the transaction)."""
    now = now or utcnow()
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"outbox payload must be JSON-serialisable: {exc}") from None
    statement = (
        insert_for(session, OutboxMessage)
        .values(
            kind=kind,
            payload=payload,
            dedup_key=dedup_key,
            org_id=org_id,
            incident_id=incident_id,
            created_at=now,
            not_before=not_before or now,
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(OutboxMessage.id)
    )
    new_id = session.execute(statement).scalar_one_or_none()
    message = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.dedup_key == dedup_key)
        .execution_options(populate_existing=True)
    ).one()
    return OutboxEnqueued(message, created=new_id is not None)


def claim_outbox(
    session: Session, *, now: datetime, owner: str, lease_seconds: float, limit: int
) -> list[OutboxMessage]:
    """Lease up to ``limit`` unsent messages that are due, oldest first, counting an attempt.
    Commits (``storage.leases``: how this is safe across replicas)."""
    return leases.claim(
        session,
        OutboxMessage,
        due=(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.not_before) <= now),
        order_by=(col(OutboxMessage.not_before), col(OutboxMessage.id)),
        owner=owner,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
        also_set={"attempts": OutboxMessage.attempts + 1},
    )


def mark_outbox_sent(
    session: Session, message_id: int, *, owner: str, sent_at: datetime | None = None
) -> bool:
    """Mark a leased message sent (after Slack accepted it). False when ``owner`` no longer
    holds the lease: then another replica may have sent it too."""
    return leases.release(
        session,
        OutboxMessage,
        message_id,
        owner=owner,
        sent_at=sent_at or utcnow(),
        last_error=None,
    )


def mark_outbox_failed(
    session: Session, message_id: int, *, owner: str, error: str, retry_at: datetime
) -> bool:
    """Release a leased message after a failed attempt, to be retried at ``retry_at``."""
    return leases.release(
        session,
        OutboxMessage,
        message_id,
        owner=owner,
        not_before=retry_at,
        last_error=error[:LAST_ERROR_MAX],
    )


def pending_outbox(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Unsent messages, oldest first (for status and tests; senders use ``claim_outbox``)."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.sent_at).is_(None))
        .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def latest_outbox_message(session: Session, *, kinds: Sequence[str]) -> OutboxMessage | None:
    """The newest message of any of ``kinds`` (sent or not)."""
    return session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.kind).in_(tuple(kinds)))
        .order_by(col(OutboxMessage.id).desc())
    ).first()


def incident_message(
    session: Session, incident_id: int, *, kind: str, unsent_only: bool = False
) -> OutboxMessage | None:
    """The incident's (first) message of ``kind``; with ``unsent_only`` only if still unsent."""
    query = select(OutboxMessage).where(
        OutboxMessage.incident_id == incident_id, OutboxMessage.kind == kind
    )
    if unsent_only:
        query = query.where(col(OutboxMessage.sent_at).is_(None))
    return session.exec(query.order_by(col(OutboxMessage.id))).first()
