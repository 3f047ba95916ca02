"""Alerts end to end: scheduled checks of an org that breaks and recovers, the outbox, and
the Slack fake; Slack refusing (429) and the bot restarting delay an alert, never lose or
double it. Time is passed in explicitly; nothing sleeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from bot.alerting.delivery import Delivery, drain_outbox
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.models import Incident, Org, OutboxMessage
from storage.repository import add_org, schedule_check
from tests.fakes.slack import SlackWebApiFake

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def acme_sandbox() -> Iterator[SandboxServer]:
    scenario = scenario_from_dict({"environments": [{"name": "acme", "number": 40001}]})
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
def alert_runtime(make_runtime, acme_sandbox):
    runtime = make_runtime(acme_sandbox.url_template)
    env = acme_sandbox.scenario.by_name("acme")
    with runtime.session() as session:
        add_org(
            session,
            key="acme",
            display_name="Acme BV",
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            alert_channel="C0ALERTS",
            now=T0,
        )
    return runtime


@pytest.fixture
def slack() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        yield fake


class Clock:
    """Drives checks and deliveries at chosen moments: the org is made due, then swept."""

    def __init__(self, runtime, slack) -> None:
        self.runtime, self.slack = runtime, slack
        self.client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        self.delivery = Delivery(language="nl", default_channel=None)

    async def check_at(self, moment: datetime):
        with self.runtime.session() as session:
            org = session.exec(select(Org)).one()
            schedule_check(session, org.id, at=moment)
        async with self.runtime.afas_client() as afas:
            return await sweep(self.runtime, afas, owner="replica-a", now=moment)

    async def deliver_at(self, moment: datetime, owner: str = "replica-a"):
        return await drain_outbox(self.runtime, self.client, self.delivery, owner=owner, now=moment)


def break_acme(sandbox: SandboxServer) -> None:
    sandbox.scenario.by_name("acme").app_connector.get_connectors.remove("SBQ_BTW")


def fix_acme(sandbox: SandboxServer) -> None:
    sandbox.scenario.by_name("acme").app_connector.get_connectors.append("SBQ_BTW")


def posted(slack, channel: str = "C0ALERTS") -> list[dict]:
    """The channel's top-level messages (thread replies apart)."""
    return [m for m in slack.messages(channel) if m.get("thread_ts") in (None, m["ts"])]


def replies(slack, root: dict, channel: str = "C0ALERTS") -> list[dict]:
    return [
        m
        for m in slack.messages(channel)
        if m.get("thread_ts") == root["ts"] and m["ts"] != root["ts"]
    ]


def outbox(runtime) -> list[OutboxMessage]:
    with runtime.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_an_org_that_breaks_and_recovers(alert_runtime, acme_sandbox, slack) -> None:
    clock = Clock(alert_runtime, slack)
    await clock.check_at(T0)
    assert outbox(alert_runtime) == []  # healthy: nothing to say

    break_acme(acme_sandbox)
    await clock.check_at(T0 + timedelta(minutes=15))
    assert outbox(alert_runtime) == []  # one failure is not an incident
    await clock.check_at(T0 + timedelta(minutes=30))
    (opened,) = outbox(alert_runtime)
    assert opened.kind == "incident.opened" and opened.sent_at is None

    result = await clock.deliver_at(T0 + timedelta(minutes=30))
    assert result.sent == 1
    (root,) = posted(slack)
    text = json.dumps(root["blocks"], ensure_ascii=False)
    assert "Acme BV (acme) werkt niet meer" in text
    assert "SBQ_BTW" in text and "SBQ_BTW.gcn" in text  # what is wrong, and the fix
    assert {"alert_ack", "recheck", "alert_mute"} <= {
        e["action_id"] for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]
    }

    await clock.check_at(T0 + timedelta(minutes=45))  # still broken: no new message
    await clock.deliver_at(T0 + timedelta(minutes=45))
    assert len(posted(slack)) == 1

    fix_acme(acme_sandbox)
    await clock.check_at(T0 + timedelta(hours=2))
    await clock.deliver_at(T0 + timedelta(hours=2))
    (root,) = posted(slack)  # the root message was edited, not reposted
    assert "werkt weer (storing duurde 2 uur)" in json.dumps(root["blocks"], ensure_ascii=False)
    (reply,) = replies(slack, root)
    assert "Hersteld na 2 uur" in reply["text"]
    with alert_runtime.session() as session:
        (incident,) = session.exec(select(Incident)).all()
    assert incident.closed_at == T0 + timedelta(hours=2)
    assert (incident.slack_channel, incident.slack_ts) == ("C0ALERTS", root["ts"])


async def test_slack_refusing_delays_the_alert_but_never_loses_or_doubles_it(
    alert_runtime, acme_sandbox, slack
) -> None:
    clock = Clock(alert_runtime, slack)
    break_acme(acme_sandbox)
    await clock.check_at(T0)
    await clock.check_at(T0 + timedelta(minutes=15))
    slack.rate_limit("chat.postMessage", times=10, retry_after=30)
    first = await clock.deliver_at(T0 + timedelta(minutes=15))
    assert first.sent == 0 and first.retried == 1
    assert posted(slack) == []
    (pending,) = outbox(alert_runtime)
    assert pending.sent_at is None and pending.not_before == T0 + timedelta(minutes=15, seconds=30)
    # Too early: Slack asked for 30 s.
    early = await clock.deliver_at(T0 + timedelta(minutes=15, seconds=10))
    assert (early.sent, early.retried) == (0, 0)
    # A restart: another replica (another owner) picks the message up later.
    slack.clear()
    later = await clock.deliver_at(T0 + timedelta(minutes=16), owner="replica-b")
    assert later.sent == 1
    assert len(posted(slack)) == 1
    again = await clock.deliver_at(T0 + timedelta(minutes=17), owner="replica-a")
    assert again.sent == 0 and len(posted(slack)) == 1


async def test_a_recovery_waits_for_its_alert_to_be_sent_first(
    alert_runtime, acme_sandbox, slack
) -> None:
    clock = Clock(alert_runtime, slack)
    break_acme(acme_sandbox)
    await clock.check_at(T0)
    await clock.check_at(T0 + timedelta(minutes=15))
    fix_acme(acme_sandbox)
    await clock.check_at(T0 + timedelta(minutes=30))
    assert [m.kind for m in outbox(alert_runtime)] == ["incident.opened", "incident.resolved"]
    slack.fail("chat.postMessage", error="internal_error", times=1)
    await clock.deliver_at(T0 + timedelta(minutes=30))  # open fails, resolve must wait
    assert posted(slack) == []
    await clock.deliver_at(T0 + timedelta(minutes=31))
    await clock.deliver_at(T0 + timedelta(minutes=32))
    (root,) = posted(slack)
    assert "werkt weer" in json.dumps(root["blocks"], ensure_ascii=False)
    assert all(m.sent_at is not None for m in outbox(alert_runtime))


async def test_a_muted_org_keeps_the_record_and_alerts_once_the_mute_ends(
    alert_runtime, acme_sandbox, slack
) -> None:
    from storage.repository import mute_org

    clock = Clock(alert_runtime, slack)
    with alert_runtime.session() as session:
        mute_org(session, "acme", until=T0 + timedelta(hours=1), actor="test", now=T0)
    break_acme(acme_sandbox)
    await clock.check_at(T0)
    await clock.check_at(T0 + timedelta(minutes=15))
    assert outbox(alert_runtime) == []  # muted: nothing said
    with alert_runtime.session() as session:
        (incident,) = session.exec(select(Incident)).all()  # but the incident is recorded
    assert (incident.opened_at, incident.held) == (T0 + timedelta(minutes=15), "muted")
    await clock.check_at(T0 + timedelta(hours=2))  # the mute has ended, still broken
    await clock.check_at(T0 + timedelta(hours=3))
    assert [m.kind for m in outbox(alert_runtime)] == ["incident.opened"]
    await clock.deliver_at(T0 + timedelta(hours=3))
    (root,) = posted(slack)
    text = json.dumps(root["blocks"], ensure_ascii=False)
    assert "terwijl de meldingen gedempt waren door `test` tot 2026-11-26 11:00 CET" in text


async def test_an_unacknowledged_incident_is_reminded_once_a_day(
    alert_runtime, acme_sandbox, slack
) -> None:
    clock = Clock(alert_runtime, slack)
    break_acme(acme_sandbox)
    await clock.check_at(T0)
    await clock.check_at(T0 + timedelta(minutes=15))
    await clock.deliver_at(T0 + timedelta(minutes=15))
    for hours in (20, 25, 26, 30):  # only one reminder in the first day after opening
        await clock.check_at(T0 + timedelta(hours=hours))
        await clock.deliver_at(T0 + timedelta(hours=hours))
    (root,) = posted(slack)
    (reminder,) = replies(slack, root)
    assert "nog niemand heeft het opgepakt" in reminder["text"]
