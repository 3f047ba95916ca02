from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from storage.crypto import TokenCipher
from storage.errors import UnknownIncidentError
from storage.repository import (
    acknowledge_incident,
    audit_events,
    close_incident,
    get_incident,
    open_incident,
    open_incidents,
    org_incidents,
    set_incident_message,
)
from tests.storage.helpers import T0, register


def test_opening_an_open_incident_again_returns_the_same_one(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    first, created = open_incident(session, org, kind="org", opened_at=T0)
    again, created_again = open_incident(session, org, kind="org", opened_at=T0 + timedelta(1))
    session.commit()
    assert created and not created_again
    assert again.id == first.id and again.opened_at == T0
    other, created_other = open_incident(session, org, kind="platform-inhibited", opened_at=T0)
    assert created_other and other.id != first.id


def test_after_closing_a_new_incident_can_open(session: Session, cipher: TokenCipher) -> None:
    org = register(session, cipher, "acme")
    first, _ = open_incident(session, org, kind="org", opened_at=T0)
    assert close_incident(session, first.id, closed_at=T0 + timedelta(hours=1))
    second, created = open_incident(session, org, kind="org", opened_at=T0 + timedelta(hours=2))
    session.commit()
    assert created and second.id != first.id
    assert [i.id for i in open_incidents(session)] == [second.id]


def test_closing_is_compare_and_set(session: Session, cipher: TokenCipher) -> None:
    org = register(session, cipher, "acme")
    incident, _ = open_incident(session, org, kind="org", opened_at=T0)
    assert close_incident(session, incident.id, closed_at=T0 + timedelta(minutes=30))
    assert not close_incident(session, incident.id, closed_at=T0 + timedelta(minutes=45))
    session.commit()
    assert get_incident(session, incident.id).closed_at == T0 + timedelta(minutes=30)


def test_acknowledgement_is_recorded_once_and_audited(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    incident, _ = open_incident(session, org, kind="org", opened_at=T0)
    assert acknowledge_incident(session, incident.id, actor="U0AGENT02", at=T0)
    assert not acknowledge_incident(session, incident.id, actor="U0AGENT03", at=T0)
    session.commit()
    incident = get_incident(session, incident.id)
    assert (incident.acknowledged_by, incident.acknowledged_at) == ("U0AGENT02", T0)
    event = audit_events(session, org_key="acme")[0]
    assert (event.action, event.actor) == ("incident.acknowledged", "U0AGENT02")
    assert event.details == {"incident_id": incident.id, "kind": "org"}


def test_a_closed_incident_cannot_be_acknowledged(session: Session, cipher: TokenCipher) -> None:
    org = register(session, cipher, "acme")
    incident, _ = open_incident(session, org, kind="org", opened_at=T0)
    close_incident(session, incident.id, closed_at=T0)
    assert not acknowledge_incident(session, incident.id, actor="U0AGENT02", at=T0)


def test_the_alert_message_reference_is_kept(session: Session, cipher: TokenCipher) -> None:
    org = register(session, cipher, "acme")
    incident, _ = open_incident(session, org, kind="org", opened_at=T0)
    set_incident_message(session, incident.id, channel="C0123456789", ts="1712345678.000100")
    session.commit()
    session.expire_all()
    incident = get_incident(session, incident.id)
    assert (incident.slack_channel, incident.slack_ts) == ("C0123456789", "1712345678.000100")


def test_open_incidents_and_an_orgs_recent_incidents(session: Session, cipher: TokenCipher) -> None:
    acme = register(session, cipher, "acme")
    bakker = register(session, cipher, "bakker")
    old, _ = open_incident(session, acme, kind="org", opened_at=T0 - timedelta(days=40))
    close_incident(session, old.id, closed_at=T0 - timedelta(days=39))
    recent, _ = open_incident(session, acme, kind="org", opened_at=T0 - timedelta(days=3))
    close_incident(session, recent.id, closed_at=T0 - timedelta(days=2))
    current, _ = open_incident(session, acme, kind="org", opened_at=T0 - timedelta(hours=1))
    elsewhere, _ = open_incident(session, bakker, kind="org", opened_at=T0)
    session.commit()
    since = T0 - timedelta(days=30)
    assert [i.id for i in org_incidents(session, "acme", since=since)] == [recent.id, current.id]
    assert [i.id for i in open_incidents(session)] == [current.id, elsewhere.id]
    assert [i.id for i in open_incidents(session, org_id=bakker.id)] == [elsewhere.id]


def test_an_unknown_incident_is_a_clear_error(session: Session) -> None:
    with pytest.raises(UnknownIncidentError, match="Incident 42 does not exist"):
        close_incident(session, 42, closed_at=T0)
