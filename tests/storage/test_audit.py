from __future__ import annotations

import base64

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from storage.crypto import TokenCipher
from storage.errors import UnsafeAuditDetailsError
from storage.models import AuditEvent
from storage.repository import add_audit_event, audit_events
from tests.storage.helpers import T0, make_token

TOKEN = make_token("audit")


@pytest.mark.parametrize(
    "details",
    [
        {"token": TOKEN},
        {"pasted": TOKEN.xml},
        {"pasted": TOKEN.reveal_data()},
        {"pasted": base64.b64encode(TOKEN.xml.encode()).decode()},
        {"header": TOKEN.authorization_header()},
        {"nested": {"list": ["ok", {"deep": TOKEN.xml}]}},
        {TOKEN.reveal_data(): "as a key"},
    ],
    ids=["object", "xml", "data", "base64", "header", "nested", "dict-key"],
)
def test_details_that_look_like_a_token_are_refused_and_nothing_is_written(
    session: Session, details: dict
) -> None:
    with pytest.raises(UnsafeAuditDetailsError) as raised:
        add_audit_event(session, actor="U1", action="org.x", org_key="acme", details=details)
    message = str(raised.value)
    assert TOKEN.reveal_data() not in message and "<token>" not in message
    assert "looks like a token" in message
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 0


def test_a_ciphertext_in_details_is_refused(session: Session, cipher: TokenCipher) -> None:
    ciphertext, _ = cipher.encrypt(TOKEN)
    with pytest.raises(UnsafeAuditDetailsError, match=r"details\.old"):
        add_audit_event(session, actor="U1", action="x", org_key=None, details={"old": ciphertext})


def test_fingerprints_key_ids_and_short_ids_are_fine(session: Session, cipher: TokenCipher) -> None:
    details = {
        "fingerprint": TOKEN.fingerprint,
        "key_id": cipher.primary_key_id,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "slack_ts": "1712345678.000100",
    }
    event = add_audit_event(
        session, actor="U1", action="org.x", org_key="acme", details=details, at=T0
    )
    session.commit()
    assert audit_events(session, org_key="acme")[0].details == details == event.details


def test_an_audit_event_needs_an_actor(session: Session) -> None:
    with pytest.raises(ValueError, match="actor"):
        add_audit_event(session, actor="  ", action="org.x", org_key=None)


def test_events_come_newest_first_and_filter_by_org(session: Session) -> None:
    for minutes, key in ((0, "acme"), (1, "bakker"), (2, "acme")):
        add_audit_event(
            session, actor="U1", action=f"a{minutes}", org_key=key, at=T0.replace(minute=minutes)
        )
    session.commit()
    assert [e.action for e in audit_events(session)] == ["a2", "a1", "a0"]
    assert [e.action for e in audit_events(session, org_key="acme", limit=1)] == ["a2"]
