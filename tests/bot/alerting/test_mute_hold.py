"""Mute keeps the record: a muted org's incidents open and close as ever, only their messages
are held; when the mute ends with an incident still open, exactly one message says so, with
who muted and until when. Through the AFAS sandbox, the sweep and the Slack fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from tests.bot.alerting.incident_world import T0, World, add_acme
from tests.fakes.slack import SlackWebApiFake


@pytest.fixture
def acme_sandbox() -> Iterator[SandboxServer]:
    scenario = scenario_from_dict({"environments": [{"name": "acme", "number": 40001}]})
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
def world(make_runtime, acme_sandbox) -> Iterator[World]:
    runtime = make_runtime(acme_sandbox.url_template, afas_retries=0)
    add_acme(runtime, acme_sandbox)
    with SlackWebApiFake() as slack:
        yield World(runtime, acme_sandbox, slack)


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


async def test_an_incident_that_opens_and_closes_during_a_mute_is_recorded_and_silent(
    world: World,
) -> None:
    world.mute(at(120), now=T0)
    world.remove_connector("SBQ_BTW")
    await world.check_at(at(0))
    await world.check_at(at(15))
    (incident,) = world.incidents()  # the record: opened while muted
    assert incident.opened_at == at(15) and incident.held == "muted"
    assert incident.announced_at is None and incident.cause == "connectors_missing"
    world.add_connector("SBQ_BTW")
    await world.check_at(at(30))
    (incident,) = world.incidents()
    assert incident.closed_at == at(30)  # closed, and still recorded
    assert world.outbox() == []  # never announced: no message at all
    await world.check_at(at(180))  # the mute is over: nothing is owed
    await world.deliver_at(at(180))
    assert world.outbox() == [] and world.slack.calls("chat.postMessage") == []


async def test_the_mute_ends_with_the_incident_open_one_alert_says_so(world: World) -> None:
    world.mute(at(60), now=T0)
    world.remove_connector("SBQ_BTW")
    await world.check_at(at(0))
    await world.check_at(at(15))
    await world.check_at(at(30))
    assert world.outbox() == []
    await world.check_at(at(75))  # the mute ran out at 60: the next check releases it
    await world.check_at(at(90))
    assert world.kinds() == ["incident.opened"]  # exactly one
    (incident,) = world.incidents()
    assert incident.held is None and incident.announced_at == at(75)
    assert incident.opened_at == at(15)  # the true time
    await world.deliver_at(at(90))
    (root,) = world.roots()
    text = text_of(root)
    assert "Acme BV (acme) werkt niet meer" in text
    assert "terwijl de meldingen gedempt waren door <@U0SANNE> tot 2026-11-26 11:00 CET" in text
    assert "begonnen 2026-11-26 10:15 CET" in text  # when it really opened
    assert world.replies() == []


async def test_an_unmute_shows_who_had_muted_from_the_audit_log(world: World) -> None:
    world.mute(at(240), now=T0)
    world.remove_connector("SBQ_BTW")
    await world.check_at(at(0))
    await world.check_at(at(15))
    world.mute(None, now=at(20), actor="U0JAN")  # unmuted early: the org's columns cleared
    await world.check_at(at(30))
    await world.deliver_at(at(30))
    (root,) = world.roots()
    assert "gedempt waren door <@U0SANNE> tot 2026-11-26 14:00 CET" in text_of(root)


async def test_an_announced_incident_under_a_mute_says_nothing_until_the_mute_ends(
    world: World,
) -> None:
    world.remove_connector("SBQ_BTW")
    await world.check_at(at(0))
    await world.check_at(at(15))
    await world.deliver_at(at(15))
    assert world.kinds() == ["incident.opened"]
    world.mute(at(60 * 40), now=at(20))  # muted for 40 hours, from 09:20
    for hours in (1, 10, 25, 30, 39):  # past the 24 h reminder
        await world.check_at(at(60 * hours))
    world.revoke_token()  # and the cause changes during the mute
    await world.check_at(at(60 * 39.5))
    assert world.kinds() == ["incident.opened"]  # no reminder, no cause message
    incident = world.incident()
    assert incident.held == "muted" and incident.cause == "token_rejected"  # the record

    await world.check_at(at(60 * 41))  # the mute is over, still broken
    await world.check_at(at(60 * 41.5))
    assert world.kinds() == ["incident.opened", "incident.hold_ended"]  # one message
    assert world.outbox()[-1].dedup_key == f"incident:{incident.id}:hold_ended:1"
    assert world.incident().held is None
    await world.deliver_at(at(60 * 41.5))
    (root,) = world.roots()
    assert "*Oorzaak:* token geweigerd" in text_of(root)  # the root shows the current truth
    (reply,) = world.replies()
    assert reply["text"] == (
        ":bell: De demping door <@U0SANNE> (tot 2026-11-28 01:00 UTC) is voorbij, en dit is"
        " nog steeds kapot: open sinds 2026-11-26 09:15 UTC."
    )


async def test_a_recovery_during_a_mute_is_announced(world: World) -> None:
    """The channel shows the current truth: an alert that was posted does not stay red."""
    world.remove_connector("SBQ_BTW")
    await world.check_at(at(0))
    await world.check_at(at(15))
    await world.deliver_at(at(15))
    world.mute(at(600), now=at(20))
    world.add_connector("SBQ_BTW")
    await world.check_at(at(30))
    assert world.kinds() == ["incident.opened", "incident.resolved"]
    await world.deliver_at(at(30))
    (root,) = world.roots()
    assert "werkt weer" in text_of(root)
