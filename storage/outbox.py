"""The transactional outbox: notifications are written in the transaction that decides them,
and sent later by whichever replica claims them (alerting.md decision 6).

A message is *pending* until it is sent (``sent_at``) or given up (``given_up_at``: Slack
refused it for good, so it is never retried). ``attempts`` counts the claims that may have
reached Slack: a claim counts one, and a message released untried (it waits for an earlier
message of its incident, or its channel is rate-limited) gives it back, so a message with more
than one attempt is one an earlier sender may have posted (the sender then looks for it in
Slack before posting again).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, update
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
    """Lease up to ``limit`` pending messages that are due, oldest first, counting an attempt.
    Commits (``storage.leases``: how this is safe across replicas)."""
    return leases.claim(
        session,
        OutboxMessage,
        due=(*_pending(), col(OutboxMessage.not_before) <= now),
        order_by=(col(OutboxMessage.not_before), col(OutboxMessage.id)),
        owner=owner,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
        also_set={"attempts": OutboxMessage.attempts + 1},
    )


def claim_outbox_message(
    session: Session, message_id: int, *, now: datetime, owner: str, lease_seconds: float
) -> OutboxMessage | None:
    """Lease one pending message now, due or not (to send it at once, as an acknowledgement
    is), counting an attempt; None when it is sent, given up or leased by another. Commits."""
    claimed = leases.claim(
        session,
        OutboxMessage,
        due=(*_pending(), col(OutboxMessage.id) == message_id),
        order_by=(col(OutboxMessage.id),),
        owner=owner,
        now=now,
        lease_seconds=lease_seconds,
        limit=1,
        also_set={"attempts": OutboxMessage.attempts + 1},
    )
    return claimed[0] if claimed else None


def _pending() -> tuple:
    return (col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.given_up_at).is_(None))


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


def release_outbox_untried(
    session: Session, message_id: int, *, owner: str, retry_at: datetime, note: str | None = None
) -> bool:
    """Release a leased message that was not tried (it waits for an earlier one, or its
    channel is rate-limited), giving back the attempt its claim counted; due at ``retry_at``.
    ``note`` (why it waits) replaces ``last_error`` when given."""
    values: dict[str, Any] = {
        "not_before": retry_at,
        "attempts": case((OutboxMessage.attempts > 0, OutboxMessage.attempts - 1), else_=0),
    }
    if note is not None:
        values["last_error"] = note[:LAST_ERROR_MAX]
    return leases.release(session, OutboxMessage, message_id, owner=owner, **values)


def mark_outbox_given_up(
    session: Session, message_id: int, *, owner: str, error: str, at: datetime
) -> bool:
    """Slack refused a leased message for good (a channel the bot is not in, an archived one,
    a revoked token...): it is never claimed again. False when ``owner`` lost the lease."""
    return leases.release(
        session,
        OutboxMessage,
        message_id,
        owner=owner,
        given_up_at=at,
        last_error=error[:LAST_ERROR_MAX],
    )


def mark_outbox_posted(session: Session, message_id: int, *, at: datetime, evidence: str) -> bool:
    """A pending message is known to be in Slack without its sender having said so (a button
    on it was pressed after the sender died before marking it): mark it sent, whoever holds
    its lease (a sender still holding it finds its lease gone, and its post in Slack). True
    when this call marked it."""
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, *_pending())
        .values(
            sent_at=at, last_error=evidence[:LAST_ERROR_MAX], lease_owner=None, lease_until=None
        )
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).rowcount == 1


def earlier_pending_message(session: Session, message: OutboxMessage) -> OutboxMessage | None:
    """The first pending message of ``message``'s incident written before it (a lower id):
    an incident's messages reach Slack in the order they were written, so ``message`` waits
    for it. None for a message of no incident."""
    if message.incident_id is None:
        return None
    return session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.incident_id == message.incident_id,
            col(OutboxMessage.id) < message.id,
            *_pending(),
        )
        .order_by(col(OutboxMessage.id))
    ).first()


def latest_incident_message(
    session: Session, incident_id: int, *, kinds: Sequence[str], before_id: int | None = None
) -> OutboxMessage | None:
    """The incident's newest message of any of ``kinds`` (sent or not), written before message
    ``before_id`` if given."""
    query = select(OutboxMessage).where(
        OutboxMessage.incident_id == incident_id, col(OutboxMessage.kind).in_(tuple(kinds))
    )
    if before_id is not None:
        query = query.where(col(OutboxMessage.id) < before_id)
    return session.exec(query.order_by(col(OutboxMessage.id).desc())).first()


def pending_outbox(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Pending messages, oldest first (for status and tests; senders use ``claim_outbox``)."""
    query = (
        select(OutboxMessage)
        .where(*_pending())
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
