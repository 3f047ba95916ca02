"""The outbox's typed messages: a message written by an older or a newer replica still reads;
one that no model reads is refused by name, never half-read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerting.messages import (
    CURRENT_VERSION,
    HoldNote,
    IncidentCauseChanged,
    IncidentHoldEnded,
    IncidentOpened,
    IncidentProblemsChanged,
    IncidentResolved,
    PlatformDown,
    PlatformUp,
    UnreadableMessage,
    read_message,
    stored,
)
from bot.blocks.alert import (
    alert_blocks,
    cause_changed_reply,
    hold_ended_reply,
    resolved_blocks,
)

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


# --- the messages about a change to an open incident, and their blocks ----------------------

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _changed(**extra) -> IncidentCauseChanged:
    opened = read_message("incident.opened", V1_OPENED)
    fields = opened.model_dump(exclude={"kind", "version", "hold"})
    return IncidentCauseChanged(
        **{**fields, "cause": "token_rejected"}, previous_cause="connectors_missing", **extra
    )


def _text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_the_new_messages_read_back_as_written() -> None:
    changed = _changed(number=2, acknowledged_by="U0SANNE")
    assert read_message(changed.kind, stored(changed)) == changed
    base = changed.model_dump(exclude={"kind", "previous_cause", "number"})
    problems = IncidentProblemsChanged(**base)
    assert read_message(problems.kind, stored(problems)) == problems
    ended = IncidentHoldEnded(**base, hold=HoldNote(reason="muted", by="U0SANNE", until=AT))
    assert read_message(ended.kind, stored(ended)) == ended
    released = IncidentOpened(
        **read_message("incident.opened", V1_OPENED).model_dump(exclude={"kind", "hold"}),
        hold=HoldNote(reason="platform"),
    )
    assert read_message(released.kind, stored(released)) == released


def test_an_older_replicas_messages_have_no_cause_hold_or_channel() -> None:
    opened = read_message("incident.opened", V1_OPENED)
    assert opened.cause is None and opened.hold is None
    down = read_message("platform.down", {"checked": 4, "unreachable": 4, "at": AT.isoformat()})
    assert isinstance(down, PlatformDown) and down.channel is None


@pytest.mark.parametrize(
    ("language", "cause", "todo", "guide"),
    [
        ("nl", "*Oorzaak:* token geweigerd", "AFAS weigert het token", "handleiding §1.2.5"),
        ("en", "*Cause:* token rejected", "AFAS refuses the token", "guide §1.2.5"),
    ],
)
def test_the_root_shows_the_current_cause_what_to_do_and_where(
    language, cause, todo, guide
) -> None:
    text = _text(alert_blocks(_changed(), language=language, incident_id=7))
    assert cause in text and todo in text and guide in text
    assert "connectoren ontbreken" not in text and "connectors missing" not in text
    assert "SBQ_BTW" in text  # and the problems below


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nl",
            "De oorzaak is veranderd: van *connectoren ontbreken* naar *token geweigerd*. "
            "Het blijft dezelfde storing. Wat nu: AFAS weigert het token",
        ),
        (
            "en",
            "The cause changed: from *connectors missing* to *token rejected*. "
            "It is still the same incident. What to do now: AFAS refuses the token",
        ),
    ],
)
def test_the_thread_hears_from_what_to_what_and_what_to_do(language, expected) -> None:
    reply = cause_changed_reply(_changed(), language=language)
    assert expected in reply
    assert reply.endswith("§1.2.5)")


def test_a_cause_change_the_reader_cannot_name_still_reads() -> None:
    reply = cause_changed_reply(_changed().model_copy(update={"cause": "new"}), language="en")
    assert "from *connectors missing* to *unknown*" in reply and "What to do" not in reply


@pytest.mark.parametrize(
    ("language", "muted", "platform"),
    [
        (
            "nl",
            "begonnen 2026-11-26 10:00 CET, terwijl de meldingen gedempt waren door <@U0SANNE>"
            " tot 2026-11-26 13:00 CET",
            "begonnen 2026-11-26 10:00 CET, terwijl AFAS voor veel organisaties onbereikbaar was",
        ),
        (
            "en",
            "opened 2026-11-26 10:00 CET, while alerts were muted by <@U0SANNE>"
            " until 2026-11-26 13:00 CET",
            "opened 2026-11-26 10:00 CET, while AFAS was unreachable for many orgs",
        ),
    ],
)
def test_an_alert_held_until_now_says_when_it_opened_and_why_it_comes_now(
    language, muted, platform
) -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    opened = read_message("incident.opened", {**V1_OPENED, "cause": "connectors_missing"})
    hold = HoldNote(reason="muted", by="U0SANNE", until=AT + timedelta(hours=3))
    by_mute = opened.model_copy(update={"hold": hold})
    assert muted in _text(alert_blocks(by_mute, language=language, incident_id=7, zone=zone))
    by_platform = opened.model_copy(update={"hold": HoldNote(reason="platform")})
    text = _text(alert_blocks(by_platform, language=language, incident_id=7, zone=zone))
    assert platform in text
    assert "10:00 CET" in text and "09:00" not in text  # the bot's zone, not UTC


@pytest.mark.parametrize(
    ("language", "expected", "anonymous"),
    [
        (
            "nl",
            "De demping door <@U0SANNE> (tot 2026-11-26 12:00 UTC) is voorbij, en dit is nog"
            " steeds kapot: open sinds 2026-11-26 09:00 UTC.",
            "De demping (tot 2026-11-26 12:00 UTC) is voorbij",
        ),
        (
            "en",
            "The mute by <@U0SANNE> (until 2026-11-26 12:00 UTC) is over, and this is still"
            " broken: open since 2026-11-26 09:00 UTC.",
            "The mute (until 2026-11-26 12:00 UTC) is over",
        ),
    ],
)
def test_the_end_of_a_mute_says_who_muted_until_when_and_since_when_it_is_open(
    language, expected, anonymous
) -> None:
    base = _changed().model_dump(exclude={"kind", "previous_cause", "number"})
    until = AT + timedelta(hours=3)
    ended = IncidentHoldEnded(**base, hold=HoldNote(reason="muted", by="U0SANNE", until=until))
    assert expected in hold_ended_reply(ended, language=language)
    nobody = ended.model_copy(update={"hold": HoldNote(reason="muted", until=until)})
    assert anonymous in hold_ended_reply(nobody, language=language)
    root = _text(alert_blocks(ended, language=language, incident_id=7, acknowledged_by="U0JAN"))
    assert "<@U0JAN>" in root and "alert_ack" not in root  # acknowledged: no button


def test_a_mute_by_someone_outside_slack_is_shown_as_code() -> None:
    base = _changed().model_dump(exclude={"kind", "previous_cause", "number"})
    ended = IncidentHoldEnded(**base, hold=HoldNote(reason="muted", by="cli:ops <!here>"))
    reply = hold_ended_reply(ended, language="en")
    assert "`cli:ops &lt;!here&gt;`" in reply and "<!here>" not in reply


def test_the_recovery_names_what_the_cause_was() -> None:
    opened = read_message("incident.opened", {**V1_OPENED, "cause": "ip_refused"})
    resolved = IncidentResolved(**opened.model_dump(exclude={"kind"}), duration_seconds=600)
    assert "oorzaak: IP-adres geweigerd" in _text(resolved_blocks(resolved, language="nl"))
    assert "cause: IP address refused" in _text(resolved_blocks(resolved, language="en"))
