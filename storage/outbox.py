"""The transactional outbox: notifications are written in the transaction that decides them,
and sent later by whichever replica claims them (alerting.md decision 6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

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
    """Claim up to ``limit`` unsent messages that are due, oldest first, counting an attempt.
    Commits (see ``claim_due_orgs`` for why and how this is safe across replicas)."""
    if limit <= 0:
        return []
    due = (
        col(OutboxMessage.sent_at).is_(None),
        col(OutboxMessage.not_before) <= now,
        or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) <= now),
    )
    candidates = (
        select(OutboxMessage.id)
        .where(*due)
        .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due_messages")
    )
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(select(candidates.c.id)), *due)
        .values(
            claimed_by=owner,
            claimed_until=now + timedelta(seconds=lease_seconds),
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(col(OutboxMessage.id))
        .execution_options(synchronize_session=False)
    )
    ids = list(session.execute(statement).scalars().all())
    messages: list[OutboxMessage] = []
    if ids:
        messages = list(
            session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
                .execution_options(populate_existing=True)
            ).all()
        )
    session.commit()
    return messages


def mark_outbox_sent(
    session: Session, message_id: int, *, owner: str, sent_at: datetime | None = None
) -> bool:
    """Mark a claimed message sent (after Slack accepted it). False when ``owner`` no longer
    holds the claim: then another replica may have sent it too."""
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.claimed_by) == owner)
        .values(sent_at=sent_at or utcnow(), claimed_by=None, claimed_until=None, last_error=None)
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount == 1


def mark_outbox_failed(
    session: Session, message_id: int, *, owner: str, error: str, retry_at: datetime
) -> bool:
    """Release a claimed message after a failed attempt, to be retried at ``retry_at``."""
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.claimed_by) == owner)
        .values(
            not_before=retry_at,
            claimed_by=None,
            claimed_until=None,
            last_error=error[:LAST_ERROR_MAX],
        )
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount == 1


def pending_outbox(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Unsent messages, oldest first (for status and tests; senders use ``claim_outbox``)."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.sent_at).is_(None))
        .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(query).all())
