"""A change of cause while an incident is open, through the AFAS sandbox and the Slack fake:
one incident, its root edited to show the current cause and problems, one thread reply per
change of cause; another set of problems with the same cause edits the root and says
nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from tests.bot.alerting.incident_world import CHANNEL, T0, World, add_acme
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


def minutes(n: int):
    return T0 + timedelta(minutes=n)


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


async def open_with_missing_connector(world: World) -> None:
    await world.check_at(T0)
    world.remove_connector("SBQ_BTW")
    await world.check_at(minutes(15))
    await world.check_at(minutes(30))
    await world.deliver_at(minutes(30))
    (root,) = world.roots()
    assert "*Oorzaak:* connectoren ontbreken" in text_of(root)


async def test_a_new_cause_edits_the_root_and_says_so_in_the_thread(world: World) -> None:
    await open_with_missing_connector(world)
    world.revoke_token()  # the customer's admin deleted the token too
    await world.check_at(minutes(45))
    assert world.kinds() == ["incident.opened", "incident.cause_changed"]
    (incident,) = world.incidents()  # never a second incident
    assert incident.cause == "token_rejected" and incident.closed_at is None
    assert world.outbox()[-1].dedup_key == f"incident:{incident.id}:cause:1"

    updates = len(world.slack.calls("chat.update"))
    await world.deliver_at(minutes(45))
    (edit,) = world.slack.calls("chat.update")[updates:]
    assert (edit.params["channel"], edit.params["ts"]) == (CHANNEL, incident.slack_ts)
    (root,) = world.roots()  # edited in place
    assert "*Oorzaak:* token geweigerd" in text_of(root)
    assert "connectoren ontbreken" not in text_of(root)
    (reply,) = world.replies()
    assert reply["text"].startswith(
        ":arrows_counterclockwise: De oorzaak is veranderd: van *connectoren ontbreken* naar"
        " *token geweigerd*."
    )
    assert "Wat nu: AFAS weigert het token" in reply["text"]
    assert "handleiding §1.2.5" in reply["text"]

    await world.check_at(minutes(60))  # the same cause again: nothing to say
    assert world.kinds() == ["incident.opened", "incident.cause_changed"]

    world.revoke_token(False)  # a new token, but the connector is still missing
    await world.check_at(minutes(75))
    await world.deliver_at(minutes(75))
    assert world.kinds()[-1] == "incident.cause_changed"
    assert world.outbox()[-1].dedup_key == f"incident:{incident.id}:cause:2"
    (root,) = world.roots()
    assert "*Oorzaak:* connectoren ontbreken" in text_of(root) and "SBQ_BTW" in text_of(root)
    _first, second = world.replies()
    assert "van *token geweigerd* naar *connectoren ontbreken*" in second["text"]

    world.add_connector("SBQ_BTW")
    await world.check_at(minutes(90))
    await world.deliver_at(minutes(90))
    (root,) = world.roots()
    assert "werkt weer" in text_of(root)
    assert "oorzaak: connectoren ontbreken" in text_of(root)  # what it was, last
    assert len(world.incidents()) == 1


async def test_other_problems_with_the_same_cause_edit_the_root_only(world: World) -> None:
    await open_with_missing_connector(world)
    posts = len(world.slack.calls("chat.postMessage"))
    world.remove_connector("SBQ_Crediteuren")  # a second connector goes missing
    await world.check_at(minutes(45))
    assert world.kinds() == ["incident.opened", "incident.problems_changed"]
    (incident,) = world.incidents()
    assert world.outbox()[-1].dedup_key.startswith(f"incident:{incident.id}:problems:1:")
    await world.deliver_at(minutes(45))
    (root,) = world.roots()
    assert "SBQ_BTW" in text_of(root) and "SBQ_Crediteuren" in text_of(root)
    assert world.replies() == []  # nothing said in the thread
    assert len(world.slack.calls("chat.postMessage")) == posts

    await world.check_at(minutes(60))  # the same problems: no edit
    assert world.kinds()[-1] == "incident.problems_changed" and len(world.kinds()) == 2
    world.add_connector("SBQ_Crediteuren")  # back to the first set: shown again
    await world.check_at(minutes(75))
    assert world.kinds()[-1] == "incident.problems_changed" and len(world.kinds()) == 3
    assert world.outbox()[-1].dedup_key.startswith(f"incident:{incident.id}:problems:2:")
    await world.deliver_at(minutes(75))
    (root,) = world.roots()
    assert "SBQ_BTW" in text_of(root) and "SBQ_Crediteuren" not in text_of(root)


async def test_an_acknowledged_incident_stays_acknowledged_on_the_edited_root(
    world: World,
) -> None:
    from storage.repository import acknowledge_incident

    await open_with_missing_connector(world)
    with world.runtime.session() as session:
        acknowledge_incident(session, world.incident().id, actor="U0JAN", at=minutes(31))
    world.revoke_token()
    await world.check_at(minutes(45))
    await world.deliver_at(minutes(45))
    (root,) = world.roots()
    assert "<@U0JAN>" in text_of(root)
    assert "alert_ack" not in text_of(root)  # no Acknowledge button again
