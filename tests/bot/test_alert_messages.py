"""The outbox's typed messages: a message written by an older or a newer replica still reads;
one that no model reads is refused by name, never half-read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.alerting.messages import (
    CURRENT_VERSION,
    IncidentOpened,
    IncidentResolved,
    PlatformUp,
    UnreadableMessage,
    read_message,
    stored,
)
from bot.blocks.alert import alert_blocks

V1_OPENED = {  # exactly what the first version of the alert record wrote
    "org_key": "acme",
    "display_name": "Acme BV",
    "environment": "10002 (production)",
    "channel": "C0ALERTS",
    "overall": "failing",
    "headline": {"nl": "Fout", "en": "Failing"},
    "problems": [
        {
            "requirement_id": "get.SBQ_BTW",
            "kind": "get_connector",
            "status": "failing",
            "finding": "missing",
            "guide_section": "1.1, 1.2.3",
            "title": {"nl": "GetConnector SBQ_BTW", "en": "GetConnector SBQ_BTW"},
            "found": {"nl": "ontbreekt", "en": "is missing"},
            "fix": None,
            "details": {},
        }
    ],
    "opened_at": "2026-11-26T09:00:00+00:00",
}


def test_a_message_an_older_replica_wrote_still_reads_and_renders() -> None:
    message = read_message("incident.opened", V1_OPENED)
    assert isinstance(message, IncidentOpened)
    assert message.version == CURRENT_VERSION and message.problems[0].guide_section == "1.1, 1.2.3"
    assert message.environment_in("nl") == "10002 (production)"  # v1 has only the English label
    assert alert_blocks(message, language="nl", incident_id=7)


def test_a_message_a_newer_replica_wrote_still_reads() -> None:
    newer = {**V1_OPENED, "version": CURRENT_VERSION + 1, "cause": "token_rejected"}
    message = read_message("incident.opened", {**newer, "env_number": "10002", "env_kind": "test"})
    assert message.org_key == "acme" and message.environment_in("nl") == "10002 (test)"


def test_what_is_written_is_what_is_read() -> None:
    opened = read_message("incident.opened", V1_OPENED)
    resolved = IncidentResolved(**opened.model_dump(exclude={"kind"}), duration_seconds=600)
    again = read_message(resolved.kind, stored(resolved))
    assert again == resolved
    up = PlatformUp(checked=5, unreachable=0, at=datetime(2026, 11, 26, tzinfo=UTC))
    assert read_message(up.kind, stored(up)) == up


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("incident.escalated", V1_OPENED),  # a kind no model knows
        ("incident.resolved", V1_OPENED),  # a resolution without its duration
        ("incident.opened", {"org_key": "acme"}),  # cut short
    ],
)
def test_a_message_no_model_reads_is_refused_by_name(kind: str, payload: dict) -> None:
    with pytest.raises(UnreadableMessage):
        read_message(kind, payload)
