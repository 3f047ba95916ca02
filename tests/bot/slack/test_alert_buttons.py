"""The buttons on an alert: Acknowledge rewrites the alert and says who; Mute silences the org.
Helpdesk agents only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlmodel import select

from storage.models import AuditEvent, Incident, Org
from storage.repository import add_org, enqueue_outbox, open_incident
from tests.bot.slack.test_afas_command import dispatch, wait_async

OPENED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def seed_alert(runtime, scenario, slack) -> tuple[int, str]:
    """An open incident whose alert was posted: returns its id and the message ts."""
    env = scenario.by_name("missing-connectors")
    with runtime.session() as session:
        org = add_org(
            session,
            key="acme",
            display_name="Acme BV",
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            alert_channel="C0ALERTS",
        ).org
        incident, _ = open_incident(session, org, kind="org", opened_at=OPENED)
        payload = {
            "org_key": "acme",
            "display_name": "Acme BV",
            "environment": "10002 (production)",
            "channel": "C0ALERTS",
            "overall": "failing",
            "headline": {"nl": "Fout", "en": "Failing"},
            "problems": [],
            "opened_at": OPENED.isoformat(),
        }
        enqueue_outbox(
            session,
            kind="incident.opened",
            payload=payload,
            dedup_key=f"incident:{incident.id}:open",
            org_id=org.id,
            incident_id=incident.id,
        )
        incident_id = incident.id
    answer = slack.handle(
        "chat.postMessage",
        {"channel": "C0ALERTS", "text": "alert"},
        {"authorization": "Bearer xoxb-test"},
    )[1]
    return incident_id, answer["ts"]


def button(slack, action_id: str, value: str, ts: str, user: str) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "team"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {"type": "message", "message_ts": ts, "channel_id": "C0ALERTS"},
        "trigger_id": "1337.42.jkl",
        "channel": {"id": "C0ALERTS", "name": "alerts"},
        "message": {"ts": ts, "text": "alert"},
        "response_url": slack.response_url("alert"),
        "actions": [
            {
                "action_id": action_id,
                "block_id": "alert_actions",
                "value": value,
                "type": "button",
                "action_ts": "1700000000.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def test_acknowledge_marks_the_alert_and_says_who(bolt, slack, runtime, scenario) -> None:
    incident_id, ts = seed_alert(runtime, scenario, slack)
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0AGENT"))
    (update,) = await slack.wait_for_async("chat.update")
    assert update.params["ts"] == ts
    blocks = json.dumps(update.params["blocks"], ensure_ascii=False)
    assert "opgepakt door <@U0AGENT>" in blocks
    assert "alert_ack" not in blocks  # the button is gone once acknowledged
    with runtime.session() as session:
        incident = session.get(Incident, incident_id)
        audit = session.exec(select(AuditEvent.action)).all()
    assert incident.acknowledged_by == "U0AGENT"
    assert "incident.acknowledged" in audit


async def test_mute_for_a_day_silences_the_org(bolt, slack, runtime, scenario) -> None:
    _incident_id, ts = seed_alert(runtime, scenario, slack)
    await dispatch(bolt, button(slack, "alert_mute", "acme:1d", ts, "U0AGENT"))
    await slack.wait_for_async("chat.postMessage", count=2)  # the seed, then the thread note
    with runtime.session() as session:
        org = session.exec(select(Org)).one()
    assert org.mute_until is not None
    assert 23.9 * 3600 < (org.mute_until - datetime.now(UTC)).total_seconds() <= 24 * 3600


async def test_only_agents_may_press_them(bolt, slack, runtime, scenario) -> None:
    incident_id, ts = seed_alert(runtime, scenario, slack)
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0GUEST"))
    (refusal,) = await wait_async(slack, 1)
    assert "helpdesk" in json.dumps(refusal)
    with runtime.session() as session:
        assert session.get(Incident, incident_id).acknowledged_by is None
    assert slack.calls("chat.update") == []


async def test_recheck_on_an_alert_keeps_the_alert_and_makes_the_org_due(
    bolt, slack, runtime, scenario
) -> None:
    _incident_id, ts = seed_alert(runtime, scenario, slack)
    with runtime.session() as session:
        org = session.exec(select(Org)).one()
        org.next_check_at = datetime(2030, 1, 1, tzinfo=UTC)
    await dispatch(bolt, button(slack, "recheck", "acme", ts, "U0GUEST"))
    _checking, report = await wait_async(slack, 2)
    assert report["replace_original"] is False  # the alert in the channel stays
    assert report["response_type"] == "ephemeral"
    with runtime.session() as session:
        org = session.exec(select(Org)).one()
    assert org.next_check_at < datetime.now(UTC)  # the next sweep re-evaluates the alert


async def test_a_forged_acknowledge_value_is_answered_and_changes_nothing(
    bolt, slack, runtime, scenario
) -> None:
    incident_id, ts = seed_alert(runtime, scenario, slack)
    await dispatch(bolt, button(slack, "alert_ack", "1; DROP TABLE incidents", ts, "U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "oud bericht" in json.dumps(answer, ensure_ascii=False)  # the agent reads Dutch
    assert answer["replace_original"] is False  # the alert in the channel stays
    with runtime.session() as session:
        assert session.get(Incident, incident_id).acknowledged_by is None


async def test_acknowledging_an_incident_that_is_over_says_so(bolt, slack, runtime, scenario):
    incident_id, ts = seed_alert(runtime, scenario, slack)
    with runtime.session() as session:
        session.get(Incident, incident_id).closed_at = OPENED
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "al voorbij" in json.dumps(answer, ensure_ascii=False)
    assert slack.calls("chat.update") == []


async def test_acknowledging_twice_names_who_was_first(bolt, slack, runtime, scenario) -> None:
    incident_id, ts = seed_alert(runtime, scenario, slack)
    with runtime.session() as session:
        incident = session.get(Incident, incident_id)
        incident.acknowledged_by, incident.acknowledged_at = "U0OTHER", OPENED
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "<@U0OTHER>" in json.dumps(answer)


async def test_an_acknowledge_for_an_incident_that_no_longer_exists(bolt, slack, runtime, scenario):
    _incident_id, ts = seed_alert(runtime, scenario, slack)
    await dispatch(bolt, button(slack, "alert_ack", "999999", ts, "U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "bestaat niet meer" in json.dumps(answer, ensure_ascii=False)


async def test_a_forged_mute_choice_is_answered_and_mutes_nothing(bolt, slack, runtime, scenario):
    _incident_id, ts = seed_alert(runtime, scenario, slack)
    await dispatch(bolt, button(slack, "alert_mute", "acme:1y", ts, "U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "oud bericht" in json.dumps(answer, ensure_ascii=False)
    with runtime.session() as session:
        assert session.exec(select(Org)).one().mute_until is None


async def test_a_recheck_of_an_org_that_was_removed_names_the_known_ones(
    bolt, slack, runtime, scenario
) -> None:
    _incident_id, ts = seed_alert(runtime, scenario, slack)
    await dispatch(bolt, button(slack, "recheck", "acme-old", ts, "U0GUEST"))
    answers = await wait_async(slack, 1)
    text = json.dumps(answers[-1])
    assert "acme-old" in text and "`acme`" in text  # did you mean acme?
    assert answers[-1]["replace_original"] is False
