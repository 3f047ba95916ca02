from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from storage.models import OutboxMessage
from storage.repository import (
    claim_outbox,
    enqueue_outbox,
    mark_outbox_failed,
    mark_outbox_sent,
    pending_outbox,
)
from tests.storage.helpers import T0


def test_enqueue_is_idempotent_on_the_dedup_key(
    session: Session, new_session: Callable[[], Session]
) -> None:
    first = enqueue_outbox(
        session, kind="alert.trigger", payload={"v": 1}, dedup_key="incident:7:trigger", now=T0
    )
    session.commit()
    with new_session() as other:
        again = enqueue_outbox(
            other, kind="alert.trigger", payload={"v": 2}, dedup_key="incident:7:trigger", now=T0
        )
        other.commit()
    assert first.created and not again.created
    assert again.message.id == first.message.id and again.message.payload == {"v": 1}
    assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 1


def test_enqueue_in_one_transaction_twice_keeps_the_transaction_usable(session: Session) -> None:
    enqueue_outbox(session, kind="k", payload={}, dedup_key="same", now=T0)
    enqueue_outbox(session, kind="k", payload={}, dedup_key="same", now=T0)
    enqueue_outbox(session, kind="k", payload={}, dedup_key="other", now=T0)
    session.commit()
    assert len(pending_outbox(session)) == 2


def test_claimed_messages_are_not_claimed_again_until_the_lease_ends(session: Session) -> None:
    enqueue_outbox(session, kind="k", payload={}, dedup_key="a", now=T0)
    enqueue_outbox(
        session,
        kind="k",
        payload={},
        dedup_key="later",
        now=T0,
        not_before=T0 + timedelta(minutes=5),
    )
    session.commit()
    [message] = claim_outbox(session, now=T0, owner="r1", lease_seconds=30, limit=10)
    assert (message.dedup_key, message.attempts, message.lease_owner) == ("a", 1, "r1")
    assert (
        claim_outbox(
            session, now=T0 + timedelta(seconds=29), owner="r2", lease_seconds=30, limit=10
        )
        == []
    )
    [again] = claim_outbox(
        session, now=T0 + timedelta(seconds=30), owner="r2", lease_seconds=30, limit=1
    )
    assert (again.id, again.attempts, again.lease_owner) == (message.id, 2, "r2")
    assert not mark_outbox_sent(session, message.id, owner="r1", sent_at=T0)
    assert mark_outbox_sent(session, message.id, owner="r2", sent_at=T0 + timedelta(seconds=31))
    session.commit()
    assert (
        claim_outbox(session, now=T0 + timedelta(hours=1), owner="r3", lease_seconds=30, limit=10)[
            0
        ].dedup_key
        == "later"
    )


def test_a_failed_message_is_retried_at_the_given_time(session: Session) -> None:
    enqueue_outbox(session, kind="k", payload={}, dedup_key="a", now=T0)
    session.commit()
    [message] = claim_outbox(session, now=T0, owner="r1", lease_seconds=30, limit=1)
    retry_at = T0 + timedelta(minutes=2)
    assert mark_outbox_failed(
        session, message.id, owner="r1", error="ratelimited " * 200, retry_at=retry_at
    )
    session.commit()
    assert (
        claim_outbox(
            session, now=retry_at - timedelta(seconds=1), owner="r1", lease_seconds=30, limit=1
        )
        == []
    )
    [again] = claim_outbox(session, now=retry_at, owner="r1", lease_seconds=30, limit=1)
    assert again.attempts == 2 and len(again.last_error) == 1000
