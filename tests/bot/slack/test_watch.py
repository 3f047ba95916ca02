"""``/afas watch`` end to end: signed commands and button clicks into the real Bolt app, the
watch message posted and edited in the Slack Web API fake, re-checks against an AFAS sandbox
whose environment a test changes while it is watched, the watch's row in the database.

The interval and the maximum are settings (``watch_interval_seconds`` >= 5 s for people);
these tests run the app on a copy of the settings with a fraction of a second, so the loop
really sleeps and re-checks, only faster.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlmodel import select

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from bot.blocks.watch import (
    STOP_ACTION,
    Trouble,
    WatchPhase,
    WatchView,
    progress_of,
    watch_blocks,
    watch_text,
)
from bot.slack.app import create_slack_app, web_client
from bot.slack.background import Background
from bot.slack.permissions import Roles
from bot.slack.watching import Watcher, watcher_of
from storage.db import make_engine
from storage.models import AuditEvent, CheckRun, Watch
from storage.repository import add_org, get_org, remove_org
from storage.watches import set_watch_message, start_watch
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.requests import command_body, signed

CHANNEL = "C0HELPDESK"
INTERVAL = 0.2


@pytest.fixture
def watch_sandbox() -> Iterator[SandboxServer]:
    """acme misses one GetConnector (the customer is adding it while on the phone)."""
    scenario = scenario_from_dict(
        {
            "environments": [
                {"name": "acme", "number": 40101, "app_connector": {"without": ["SBQ_BTW"]}},
            ]
        }
    )
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
def watch_runtime(make_runtime, watch_sandbox):
    runtime = make_runtime(watch_sandbox.url_template, afas_retries=0, afas_timeout_seconds=2)
    runtime.settings = runtime.settings.model_copy(update={"watch_interval_seconds": INTERVAL})
    env = watch_sandbox.scenario.by_name("acme")
    with runtime.session() as session:
        add_org(
            session,
            key="acme",
            display_name="Acme BV",
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
        )
    return runtime


@dataclass
class Harness:
    bolt: Any
    background: Background
    watcher: Watcher
    runtime: Any
    sandbox: SandboxServer
    slack: Any

    async def command(self, text: str, user: str = "U0AGENT") -> None:
        body = command_body(self.slack, text, user=user)
        response = await self.bolt.async_dispatch(AsyncBoltRequest(body=body, headers=signed(body)))
        assert response.status == 200

    async def click(self, value: str, *, ts: str, user: str = "U0AGENT") -> None:
        body = stop_click(self.slack, value, ts=ts, user=user)
        response = await self.bolt.async_dispatch(AsyncBoltRequest(body=body, headers=signed(body)))
        assert response.status == 200

    def message(self, channel: str = CHANNEL) -> dict | None:
        found = self.slack.messages(channel)
        return found[-1] if found else None

    def rows(self) -> list[Watch]:
        with self.runtime.session() as session:
            return list(session.exec(select(Watch)))

    def env(self):
        return self.sandbox.scenario.by_name("acme")


@pytest.fixture
async def watching(watch_runtime, watch_sandbox, slack) -> AsyncIterator[Harness]:
    slack.users["U0PIM"] = {"id": "U0PIM", "name": "pim", "locale": "en-GB"}
    slack.usergroups["S0AGENTS"] = ["U0AGENT", "U0PIM"]
    background = Background()
    client = web_client("xoxb-test", base_url=slack.url)
    async with watch_runtime.afas_client() as afas:
        bolt = create_slack_app(
            watch_runtime,
            afas,
            client=client,
            signing_secret=SIGNING_SECRET,
            roles=Roles(client, usergroup="S0AGENTS"),
            background=background,
        )
        watcher = watcher_of(background)
        assert watcher is not None and watcher.interval == INTERVAL
        try:
            yield Harness(bolt, background, watcher, watch_runtime, watch_sandbox, slack)
        finally:
            await background.stop()


def stop_click(slack, value: str, *, ts: str, user: str) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "team"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
        },
        "trigger_id": "1337.42.def",
        "channel": {"id": CHANNEL, "name": "helpdesk"},
        "message": {"ts": ts, "type": "message"},
        "response_url": slack.response_url("action"),
        "actions": [
            {
                "action_id": STOP_ACTION,
                "block_id": "watch_actions",
                "value": value,
                "type": "button",
                "action_ts": "1700000000.000100",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what or predicate}")
        await asyncio.sleep(0.02)


def dumped(message: dict | None) -> str:
    return json.dumps(message or {}, ensure_ascii=False)


def has_stop_button(message: dict | None) -> bool:
    return any(b.get("type") == "actions" for b in (message or {}).get("blocks", []))


def says(harness: Harness, text: str, channel: str = CHANNEL) -> Callable[[], bool]:
    return lambda: text in dumped(harness.message(channel))


def answers(slack) -> list[dict]:
    return [payload for _label, payload in slack.responses]


# -- a watch from start to celebration --------------------------------------------------------


async def test_the_message_turns_green_and_celebrates_when_the_org_is_healthy(watching) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"), what="the first progress")
    message = watching.message()
    text = dumped(message)
    assert "Nog niet in orde" in text and "SBQ_BTW" in text and "§1.1, 1.2.3" in text
    assert has_stop_button(message) and "laatst gecontroleerd" in text
    assert "gestart door <@U0AGENT>" in text
    [row] = watching.rows()
    owner = watching.watcher.owner
    assert (row.channel, row.ts, row.lease_owner) == (CHANNEL, message["ts"], owner)

    # The customer adds the GetConnector; the next re-check sees it.
    watching.env().app_connector.get_connectors.append("SBQ_BTW")
    await until(says(watching, ":tada:"), what="the celebration")
    final = watching.message()
    assert "Alle 28 vereisten in orde" in dumped(final) and not has_stop_button(final)
    assert len(watching.slack.messages(CHANNEL)) == 1  # one message, edited in place
    assert len(watching.slack.calls("chat.update")) >= 2
    await until(lambda: not watching.watcher.running, what="the loop to end")
    assert watching.rows() == []
    with watching.runtime.session() as session:
        triggers = {run.trigger for run in session.exec(select(CheckRun))}
        org = get_org(session, "acme")
        started = session.exec(select(AuditEvent).where(AuditEvent.action == "watch.started"))
        assert [event.actor for event in started] == ["U0AGENT"]
    assert triggers == {"watch"} and org.current_state == "healthy"  # the org's state is right
    token = watching.env().token_data
    for call in watching.slack.calls():
        assert token not in json.dumps(call.params)


async def test_afas_not_answering_shows_in_the_message_and_the_watch_goes_on(watching) -> None:
    watching.env().fault = "drop"
    await watching.command("watch acme")
    await until(says(watching, "AFAS antwoordde niet"), what="the AFAS notice")
    assert has_stop_button(watching.message()) and len(watching.rows()) == 1
    watching.env().fault = "none"
    await until(says(watching, "27 van 28"), what="progress after AFAS came back")
    assert "AFAS antwoordde niet" not in dumped(watching.message())


# -- Stop ----------------------------------------------------------------------------------


async def test_an_agent_stops_the_watch_and_the_message_says_who(watching) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"))
    message = watching.message()
    [row] = watching.rows()
    await watching.click(str(row.id), ts=message["ts"], user="U0PIM")
    await until(says(watching, "Gestopt door <@U0PIM>"), what="the stop")
    final = watching.message()
    assert not has_stop_button(final) and "27 van 28" in dumped(final)  # the last progress stays
    assert watching.rows() == [] and not watching.watcher.running
    updates = len(watching.slack.calls("chat.update"))
    await asyncio.sleep(3 * INTERVAL)
    assert len(watching.slack.calls("chat.update")) == updates  # nothing edits it afterwards
    with watching.runtime.session() as session:
        stopped = session.exec(select(AuditEvent).where(AuditEvent.action == "watch.stopped"))
        assert [event.actor for event in stopped] == ["U0PIM"]


async def test_stop_is_refused_for_a_guest_and_for_forged_values(watching) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"))
    ts = watching.message()["ts"]
    [row] = watching.rows()
    watching.slack.clear()  # forget the command's answers; the messages stay recorded below
    await watching.click(str(row.id), ts=ts, user="U0GUEST")
    await watching.click("'; drop table watches", ts=ts)
    await watching.click("99999", ts=ts)
    await watching.click(str(row.id), ts="1.000001")  # not the watch's message
    refusals = await until(lambda: len(answers(watching.slack)) >= 4 and answers(watching.slack))
    texts = [dumped(answer) for answer in refusals]  # the answers may arrive in any order
    assert sum("Only helpdesk agents can watch orgs live" in x for x in texts) == 1  # English
    assert sum("oud bericht" in x for x in texts) == 1
    assert sum("al gestopt" in x for x in texts) == 2
    assert all(answer.get("replace_original") is not True for answer in refusals)
    assert len(watching.rows()) == 1 and watching.watcher.running  # still watching


# -- one watch per org ---------------------------------------------------------------------


async def test_a_second_watch_of_the_same_org_is_refused_and_nothing_posted(watching) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"))
    watching.slack.clear()
    await watching.command("watch acme", user="U0PIM")
    [answer] = await until(lambda: answers(watching.slack), what="the refusal")
    assert answer["response_type"] == "ephemeral"
    assert "already being watched by <@U0AGENT> since <!date^" in dumped(answer)
    assert watching.slack.calls("chat.postMessage") == []
    [row] = watching.rows()
    assert row.started_by == "U0AGENT"


def dead_watch(harness: Harness, ts: str, *, died_ago: timedelta) -> int:
    """A watch row as a killed process leaves it: its lease ran out ``died_ago``."""
    started = datetime.now(UTC) - died_ago - timedelta(seconds=60)
    with harness.runtime.session() as session:
        org = get_org(session, "acme")
        start = start_watch(
            session,
            org,
            channel=CHANNEL,
            language="en",
            started_by="U0PIM",
            owner="killed-replica",
            duration=timedelta(minutes=20),
            lease_seconds=60,
            now=started,
        )
        set_watch_message(session, start.watch.id, owner="killed-replica", channel=CHANNEL, ts=ts)
        return start.watch.id


async def old_message(harness: Harness) -> str:
    client = web_client("xoxb-test", base_url=harness.slack.url)
    answer = await client.chat_postMessage(channel=CHANNEL, text="Watching acme live")
    return answer["ts"]


async def test_a_dead_watch_is_taken_over_and_its_message_says_it_ended(watching) -> None:
    old_ts = await old_message(watching)
    dead_watch(watching, old_ts, died_ago=timedelta(seconds=5))
    await watching.command("watch acme")
    await until(lambda: len(watching.slack.messages(CHANNEL)) == 2, what="the new message")
    old, new = watching.slack.messages(CHANNEL)
    assert old["ts"] == old_ts and "the bot restarted" in dumped(old)
    assert "/afas watch acme" in dumped(old) and not has_stop_button(old)
    await until(says(watching, "27 van 28"))
    [row] = watching.rows()
    owner = watching.watcher.owner
    assert (row.ts, row.lease_owner, row.started_by) == (new["ts"], owner, "U0AGENT")


async def test_the_periodic_job_ends_a_killed_process_watch(watching) -> None:
    old_ts = await old_message(watching)
    dead_watch(watching, old_ts, died_ago=timedelta(seconds=5))
    await watching.background.start()  # the job runs every interval
    await until(says(watching, "the bot restarted"), what="the expiry job")
    assert watching.rows() == []


# -- a watch survives nothing ---------------------------------------------------------------


async def test_stopping_the_app_ends_the_watch_saying_so(watching) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"))
    await watching.background.stop()
    final = watching.message()
    assert "de bot wordt herstart" in dumped(final) and "/afas volg acme" in dumped(final)
    assert not has_stop_button(final)
    assert watching.rows() == [] and not watching.watcher.running


async def test_the_org_removed_meanwhile_ends_the_watch_saying_so(watching) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"))
    with watching.runtime.session() as session:
        remove_org(session, "acme", actor="U0ADMIN")
    await until(says(watching, "is verwijderd"), what="the org-removed notice")
    assert not has_stop_button(watching.message())
    await until(lambda: not watching.watcher.running)


async def test_a_deleted_message_ends_the_watch_quietly(watching) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"))
    client = web_client("xoxb-test", base_url=watching.slack.url)
    await client.chat_delete(channel=CHANNEL, ts=watching.message()["ts"])
    await until(lambda: not watching.watcher.running, what="the loop to end")
    assert watching.rows() == [] and watching.slack.messages(CHANNEL) == []
    assert watching.slack.calls("chat.postMessage")[1:] == []  # nothing new posted


async def test_time_up_stops_the_watch_with_what_is_still_missing(watching) -> None:
    watching.watcher.max_duration = timedelta(seconds=4 * INTERVAL)
    await watching.command("watch acme")
    await until(says(watching, "Gestopt na"), what="time up")
    final = watching.message()
    assert "SBQ_BTW" in dumped(final) and "Nog niet in orde" in dumped(final)
    assert not has_stop_button(final) and watching.rows() == []


async def test_a_rate_limited_edit_waits_and_the_watch_goes_on(watching) -> None:
    watching.slack.rate_limit("chat.update", times=1, retry_after=1)
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"), timeout=15)
    assert watching.slack.calls("chat.update")[0].status == 429
    assert watching.watcher.running


async def test_the_database_away_for_a_while_is_logged_and_the_watch_goes_on(
    watching, tmp_path, caplog
) -> None:
    await watching.command("watch acme")
    await until(says(watching, "27 van 28"))
    engine = watching.runtime.engine
    watching.runtime.engine = make_engine(f"sqlite:///{tmp_path}/no/such/dir/x.sqlite3")
    try:
        with caplog.at_level(logging.WARNING, logger="bot.slack.watching"):
            await until(lambda: "the database did not answer" in caplog.text, what="the log")
        updates = len(watching.slack.calls("chat.update"))
        await asyncio.sleep(3 * INTERVAL)
        assert len(watching.slack.calls("chat.update")) == updates  # nothing said meanwhile
        assert watching.watcher.running
    finally:
        watching.runtime.engine.dispose()
        watching.runtime.engine = engine
    watching.env().app_connector.get_connectors.append("SBQ_BTW")
    await until(says(watching, ":tada:"), what="the celebration once the database is back")
    assert watching.rows() == []


# -- who may, and where ----------------------------------------------------------------------


async def test_a_guest_may_not_watch(watching) -> None:
    await watching.command("watch acme", user="U0GUEST")
    [answer] = await until(lambda: answers(watching.slack), what="the refusal")
    assert "Only helpdesk agents can watch orgs live" in dumped(answer)
    assert watching.slack.calls("chat.postMessage") == [] and watching.rows() == []


async def test_a_channel_without_the_bot_gets_the_watch_in_the_dm(watching) -> None:
    watching.slack.add_channel(CHANNEL, "helpdesk", is_member=False)
    await watching.command("watch acme")
    await until(says(watching, "27 van 28", channel="D0AGENT"), what="the DM watch")
    [answer] = answers(watching.slack)
    assert answer["response_type"] == "ephemeral" and "geen lid van dit kanaal" in dumped(answer)
    [row] = watching.rows()
    assert row.channel == "D0AGENT"


async def test_an_unknown_org_gets_suggestions_and_no_watch(watching) -> None:
    await watching.command("watch acne")
    [answer] = await until(lambda: answers(watching.slack))
    assert "acme" in dumped(answer)
    assert watching.slack.calls("chat.postMessage") == [] and watching.rows() == []


# -- the message itself (pure) ---------------------------------------------------------------


def test_every_phase_renders_in_both_languages_within_slacks_limits(caplog) -> None:
    from tests.bot.blocks import factories as f

    now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    many = f.artificial([f.failing_item(n, length=300) for n in range(40)])
    reports = [f.healthy(), f.near_misses(), f.rejected_token(), many]
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        for language in ("nl", "en"):
            for report in reports:
                for phase in WatchPhase:
                    for trouble in (None, *Trouble):
                        view = WatchView(
                            7,
                            "acme",
                            phase,
                            now,
                            display_name="Acme BV",
                            progress=progress_of(report),
                            last_checked_at=now,
                            started_at=now - timedelta(minutes=3),
                            ends_at=now + timedelta(minutes=17),
                            started_by="U0AGENT",
                            stopped_by="U0PIM",
                            trouble=trouble,
                            reference="ab12cd34",
                        )
                        blocks = watch_blocks(view, language=language)
                        assert len(blocks) <= 50
                        assert len(json.dumps(blocks)) < 12_000
                        assert watch_text(view, language=language)
    assert caplog.text == ""
    missing = progress_of(many)
    assert (missing.met, missing.total, len(missing.missing)) == (0, 40, 40)
    view = WatchView(7, "acme", WatchPhase.RUNNING, now, progress=missing)
    assert "… and 28 more" in dumped({"b": watch_blocks(view, language="en")})
    near = WatchView(7, "acme", WatchPhase.RUNNING, now, progress=progress_of(f.near_misses()))
    text = dumped({"b": watch_blocks(near, language="nl")})
    assert "25 van 28" in text and "SBQ_Kostenplaatsen_All gevonden" in text  # the near miss
