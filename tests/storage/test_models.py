"""Every table survives a round trip on both databases: aware datetimes, JSON, NULLs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import Session, select

from storage.models import AuditEvent, CheckRun, Incident, Org, OutboxMessage
from tests.storage.helpers import T0

AMSTERDAM_SUMMER = timezone(timedelta(hours=2))


def _org(**overrides: object) -> Org:
    fields: dict[str, object] = {
        "key": "acme",
        "display_name": "Acme B.V. — Bakkerij ‘t Hoekje",
        "env_number": "12345",
        "env_kind": "test",
        "token_ciphertext": "gAAAAA-not-really",
        "token_key_id": "0a1b2c3d",
        "token_fingerprint": "abcdef0123",
        "created_by": "U1",
        "created_at": T0,
        "updated_by": "U1",
        "updated_at": T0,
    }
    fields.update(overrides)
    return Org(**fields)  # type: ignore[arg-type]


def _reload(new_session: Callable[[], Session], model: type, row_id: int):
    with new_session() as other:
        return other.get(model, row_id)


def test_org_round_trip(session: Session, new_session: Callable[[], Session]) -> None:
    org = _org(
        alert_channel="C0123456789",
        cs_owner="Inge (CS)",
        notes="Belt liever dan mailt.\nTweede regel.",
        next_check_at=T0 + timedelta(minutes=15),
        lease_owner="replica-1",
        lease_until=T0 + timedelta(minutes=3),
        mute_until=T0 + timedelta(days=1),
        current_state="degraded",
        last_checked_at=T0,
    )
    session.add(org)
    session.commit()
    back = _reload(new_session, Org, org.id)
    for name in Org.model_fields:
        assert getattr(back, name) == getattr(org, name), name
    assert back.check_interval_seconds is None  # no interval of its own: the default applies
    assert back.environment.label == "12345 (test)"


def test_nullable_org_fields_come_back_as_none(
    session: Session, new_session: Callable[[], Session]
) -> None:
    org = _org()
    session.add(org)
    session.commit()
    back = _reload(new_session, Org, org.id)
    assert back.alert_channel is None and back.next_check_at is None
    assert back.lease_until is None and back.current_state is None
    assert back.notes == ""


def test_datetimes_come_back_aware_in_utc(
    session: Session, new_session: Callable[[], Session]
) -> None:
    local = datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=AMSTERDAM_SUMMER)
    event = AuditEvent(actor="U1", action="test", org_key=None, at=local, details={})
    session.add(event)
    session.commit()
    back = _reload(new_session, AuditEvent, event.id)
    assert back.at.tzinfo is not None
    assert back.at.utcoffset() == timedelta(0)
    assert back.at == local
    assert back.at == datetime(2026, 7, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_a_naive_datetime_is_refused(session: Session) -> None:
    session.add(
        AuditEvent(actor="U1", action="t", org_key=None, at=datetime(2026, 1, 1), details={})
    )
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()
    session.rollback()


def test_datetime_comparisons_in_sql_follow_time_not_text(session: Session) -> None:
    """Values given in other offsets are compared as instants (stored as UTC)."""
    early = datetime(2026, 7, 1, 13, 0, tzinfo=AMSTERDAM_SUMMER)  # 11:00 UTC
    late = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    for at, action in ((early, "early"), (late, "late")):
        session.add(AuditEvent(actor="U1", action=action, org_key=None, at=at, details={}))
    session.commit()
    cutoff = datetime(2026, 7, 1, 13, 30, tzinfo=AMSTERDAM_SUMMER)  # 11:30 UTC
    rows = session.exec(select(AuditEvent.action).where(AuditEvent.at > cutoff)).all()
    assert rows == ["late"]


ITEMS = [
    {
        "requirement": "getconnector:SBQ_Kostenplaasten_All",
        "status": "failing",
        "guide_section": "1.2.3",
        "found": None,
        "expected": ["SBQ_Kostenplaasten_All"],
        "detail": {"near_miss": "SBQ_Kostenplaatsen_All", "score": 0.96, "n": 3, "ok": False},
        "message_nl": "Koppeling ontbreekt: ‘SBQ_Kostenplaasten_All’ — zie § 1.2.3",
    },
    {"requirement": "token", "status": "ok"},
]


def test_check_run_round_trip_with_json_items(
    session: Session, new_session: Callable[[], Session]
) -> None:
    org = _org()
    session.add(org)
    session.commit()
    run = CheckRun(
        org_id=org.id,
        trigger="schedule",
        started_at=T0,
        duration_ms=812,
        overall_state="failing",
        items=ITEMS,
        summary="1 failing",
    )
    session.add(run)
    session.commit()
    back = _reload(new_session, CheckRun, run.id)
    assert back.items == ITEMS
    assert (back.org_id, back.trigger, back.started_at, back.duration_ms) == (
        org.id,
        "schedule",
        T0,
        812,
    )
    assert (back.overall_state, back.summary) == ("failing", "1 failing")


def test_incident_round_trip(session: Session, new_session: Callable[[], Session]) -> None:
    org = _org()
    session.add(org)
    session.commit()
    incident = Incident(
        org_id=org.id,
        kind="org",
        opened_at=T0,
        acknowledged_by="U2",
        acknowledged_at=T0 + timedelta(minutes=5),
        closed_at=T0 + timedelta(hours=2),
        slack_channel="C0123456789",
        slack_ts="1712345678.000100",
    )
    session.add(incident)
    session.commit()
    back = _reload(new_session, Incident, incident.id)
    for name in Incident.model_fields:
        assert getattr(back, name) == getattr(incident, name), name
    assert not back.is_open


def test_audit_event_round_trip(session: Session, new_session: Callable[[], Session]) -> None:
    details = {"fingerprint": "abcdef0123", "changed_fields": ["notes"], "n": 2, "x": None}
    event = AuditEvent(actor="U1", action="org.updated", org_key="acme", at=T0, details=details)
    session.add(event)
    session.commit()
    back = _reload(new_session, AuditEvent, event.id)
    assert (back.actor, back.action, back.org_key, back.at, back.details) == (
        "U1",
        "org.updated",
        "acme",
        T0,
        details,
    )


def test_outbox_round_trip(session: Session, new_session: Callable[[], Session]) -> None:
    org = _org()
    session.add(org)
    session.commit()
    payload = {"channel": "C0123456789", "blocks": [{"type": "section", "text": "é ✓"}]}
    message = OutboxMessage(
        org_id=org.id,
        kind="alert.trigger",
        payload=payload,
        dedup_key="incident:1:trigger",
        created_at=T0,
        not_before=T0 + timedelta(seconds=30),
        attempts=2,
        lease_owner="replica-2",
        lease_until=T0 + timedelta(minutes=1),
        sent_at=T0 + timedelta(minutes=2),
        last_error="ratelimited",
    )
    session.add(message)
    session.commit()
    back = _reload(new_session, OutboxMessage, message.id)
    for name in OutboxMessage.model_fields:
        assert getattr(back, name) == getattr(message, name), name
