"""An acknowledgement racing a recovery never puts the alert back to "open" (issue 10 §6).

The Acknowledge button's edit goes through the outbox, in order with the incident's other
messages: an acknowledgement written before the recovery is sent before it (the recovery's
edit has the last word, on whichever replica), and one pressed after the recovery was written
is refused (the incident is over). Signed button presses into the real Bolt app, the outbox
delivered to the Slack fake, the database real."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.alerting.delivery import Delivery, drain_outbox
from bot.alerting.messages import IncidentOpened, IncidentResolved, stored
from bot.slack.app import web_client
from storage.models import Incident, OutboxMessage
from storage.repository import add_org, close_incident, enqueue_outbox, open_incident
from tests.bot.slack.test_afas_command import dispatch, wait_async
from tests.bot.slack.test_alert_buttons import button

ABOUT = {
    "org_key": "acme",
    "display_name": "Acme BV",
    "environment": "10002 (production)",
    "channel": "C0ALERTS",
    "overall": "failing",
    "headline": {"nl": "Er ontbreken connectoren", "en": "Connectors are missing"},
}


def seed(runtime, scenario) -> int:
    """An open incident whose alert is in the outbox."""
    env = scenario.by_name("missing-connectors")
    opened_at = datetime.now(UTC) - timedelta(hours=1)
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
        incident, _ = open_incident(session, org, kind="org", opened_at=opened_at)
        enqueue_outbox(
            session,
            kind="incident.opened",
            payload=stored(IncidentOpened(**ABOUT, opened_at=opened_at)),
            dedup_key=f"incident:{incident.id}:open",
            org_id=org.id,
            incident_id=incident.id,
        )
        return incident.id


def recover(runtime, incident_id: int) -> bool:
    """What the alert record does on recovery: close the incident, write the recovery."""
    now = datetime.now(UTC)
    with runtime.session() as session:
        incident = session.get(Incident, incident_id)
        closed = close_incident(session, incident_id, closed_at=now)
        if closed:
            message = IncidentResolved(**ABOUT, opened_at=incident.opened_at, duration_seconds=3600)
            enqueue_outbox(
                session,
                kind=message.kind,
                payload=stored(message),
                dedup_key=f"incident:{incident_id}:resolve",
                org_id=incident.org_id,
                incident_id=incident_id,
                now=now,
            )
        return closed


async def drain(
    runtime, slack, *, at: datetime | None = None, owner: str = "replica-a", limit: int = 20
):
    client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
    return await drain_outbox(
        runtime,
        client,
        Delivery.from_settings(runtime.settings),
        owner=owner,
        now=at or datetime.now(UTC),
        limit=limit,
    )


def rows(runtime) -> list[OutboxMessage]:
    with runtime.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def root_ts(runtime, incident_id: int) -> str | None:
    with runtime.session() as session:
        return session.get(Incident, incident_id).slack_ts


def edits(slack) -> list[str]:
    """What each accepted edit of the alert showed, in order: "acknowledged" or "resolved"."""
    shown = []
    for call in slack.calls("chat.update"):
        if call.response.get("ok") is not True:
            continue
        blocks = json.dumps(call.params.get("blocks"), ensure_ascii=False)
        shown.append("resolved" if "werkt weer" in blocks else "acknowledged")
    return shown


def the_alert(slack, ts: str) -> str:
    (alert,) = [m for m in slack.messages("C0ALERTS") if m["ts"] == ts]
    return json.dumps(alert["blocks"], ensure_ascii=False)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def acknowledgement_settled(runtime) -> bool:
    """The acknowledgement's message is written and no sender holds it."""
    return any(r.kind == "incident.acknowledged" and r.lease_owner is None for r in rows(runtime))


def acknowledgement_sent(runtime) -> bool:
    return any(r.kind == "incident.acknowledged" and r.sent_at is not None for r in rows(runtime))


async def test_an_acknowledgement_sent_before_a_recovery_is_overwritten_by_it(
    bolt, slack, runtime, scenario
) -> None:
    incident_id = seed(runtime, scenario)
    await drain(runtime, slack)
    ts = root_ts(runtime, incident_id)
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0AGENT"))
    await slack.wait_for_async("chat.postMessage", count=2)  # the alert, then "on it"
    assert "opgepakt door <@U0AGENT>" in the_alert(slack, ts)
    # Slack has it; the sender records that a moment later (until then the incident's next
    # message waits its turn, and this drain would send nothing)
    await until(lambda: acknowledgement_sent(runtime))

    assert recover(runtime, incident_id)
    await drain(runtime, slack)
    assert edits(slack) == ["acknowledged", "resolved"]
    assert "werkt weer" in the_alert(slack, ts)
    replies = [m["text"] for m in slack.messages("C0ALERTS", thread_ts=ts)]
    assert replies[0] == "<@U0AGENT> pakt dit op." and "Hersteld" in replies[1]


async def test_an_acknowledgement_slack_refused_at_first_still_goes_before_the_recovery(
    bolt, slack, runtime, scenario
) -> None:
    """The race as it hurt: the acknowledgement's edit fails once (Slack 500), the recovery
    is written meanwhile, and two replicas deliver at once, one message each (the recovery,
    due earlier, is claimed first). Without the order the recovery would go first and the
    acknowledgement's retry would put the alert back to "open"."""
    incident_id = seed(runtime, scenario)
    await drain(runtime, slack)
    ts = root_ts(runtime, incident_id)
    slack.fail("chat.update", error="internal_error", status=500)
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0AGENT"))
    await slack.wait_for_async("chat.update")
    await until(lambda: acknowledgement_settled(runtime))
    assert recover(runtime, incident_id)

    for minutes in (1, 2, 3, 4):  # past the acknowledgement's backoff
        at = datetime.now(UTC) + timedelta(minutes=minutes)
        await asyncio.gather(
            drain(runtime, slack, at=at, owner="replica-a", limit=1),
            drain(runtime, slack, at=at, owner="replica-b", limit=1),
        )
    assert all(r.sent_at is not None for r in rows(runtime))
    assert edits(slack) == ["acknowledged", "resolved"]
    assert "werkt weer" in the_alert(slack, ts) and "opgepakt" not in the_alert(slack, ts)


async def test_an_acknowledgement_pressed_after_the_recovery_was_written_is_refused(
    bolt, slack, runtime, scenario
) -> None:
    incident_id = seed(runtime, scenario)
    await drain(runtime, slack)
    ts = root_ts(runtime, incident_id)
    assert recover(runtime, incident_id)  # written, not yet sent
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "al voorbij" in json.dumps(answer, ensure_ascii=False)
    await drain(runtime, slack)
    assert edits(slack) == ["resolved"]
    assert [r.kind for r in rows(runtime)] == ["incident.opened", "incident.resolved"]


async def test_an_acknowledgement_after_the_recovery_was_sent_changes_nothing(
    bolt, slack, runtime, scenario
) -> None:
    incident_id = seed(runtime, scenario)
    await drain(runtime, slack)
    ts = root_ts(runtime, incident_id)
    assert recover(runtime, incident_id)
    await drain(runtime, slack)
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), ts, "U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "al voorbij" in json.dumps(answer, ensure_ascii=False)
    assert edits(slack) == ["resolved"] and "werkt weer" in the_alert(slack, ts)


async def test_a_press_on_an_alert_whose_sender_died_remembers_it(
    bolt, slack, runtime, scenario
) -> None:
    """The alert reached Slack but its sender died before saying so: the press proves where
    it is, so the acknowledgement edits it and no later drain posts the alert again."""
    incident_id = seed(runtime, scenario)
    posted = slack.handle(
        "chat.postMessage",
        {"channel": "C0ALERTS", "text": "alert"},
        {"authorization": "Bearer xoxb-test"},
    )[1]
    await dispatch(bolt, button(slack, "alert_ack", str(incident_id), posted["ts"], "U0AGENT"))
    await slack.wait_for_async("chat.update")
    assert root_ts(runtime, incident_id) == posted["ts"]
    opened = rows(runtime)[0]
    assert opened.sent_at is not None and "pressed" in (opened.last_error or "")
    await drain(runtime, slack, at=datetime.now(UTC) + timedelta(minutes=5))
    top = [m for m in slack.messages("C0ALERTS") if m.get("thread_ts") in (None, m["ts"])]
    assert len(top) == 1  # not posted again
    assert "opgepakt door <@U0AGENT>" in the_alert(slack, posted["ts"])
