"""``/afas mute`` and ``/afas unmute`` end to end: signed requests into the real Bolt app,
answers through the Slack Web API fake, the mute in the database with who set it, the note in
the open incident's alert thread, the overview and the alert's Mute button naming who and
until when in the bot's time zone, and the mute modal (opened as the App Home's menu does)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select

from bot.errors import PermissionRefused
from bot.slack.app import create_slack_app, web_client
from bot.slack.listeners import SlackDeps
from bot.slack.listeners.mute import open_mute_modal
from bot.slack.locale import ReaderLanguages
from bot.slack.permissions import Roles
from storage.errors import UnknownOrgError
from storage.models import AuditEvent, Org
from storage.repository import add_org, enqueue_outbox, open_incident, set_incident_message
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.requests import command_body
from tests.bot.slack.test_afas_command import dispatch, wait_async
from tests.bot.slack.test_alert_buttons import button

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
AGENT = "U0AGENT"  # Dutch, in the agents' group
AGENT_EN = "U0AGENTEN"  # English, in the agents' group
GUEST = "U0GUEST"  # English, no role
ADMIN = "U0ADMIN"


@pytest.fixture
async def app(runtime, slack) -> AsyncIterator:
    slack.users[AGENT_EN] = {"id": AGENT_EN, "name": "sam", "locale": "en-GB"}
    slack.users[ADMIN] = {"id": ADMIN, "name": "lead", "locale": "en-GB"}
    slack.usergroups["S0AGENTS"] = [AGENT, AGENT_EN]
    client = web_client("xoxb-test", base_url=slack.url)
    async with runtime.afas_client() as afas:
        yield create_slack_app(
            runtime,
            afas,
            client=client,
            signing_secret=SIGNING_SECRET,
            roles=Roles(client, usergroup="S0AGENTS", admins=(ADMIN,)),
        )


def add(runtime, scenario, key: str = "healthy", **fields) -> None:
    env = scenario.by_name(key)
    with runtime.session() as session:
        add_org(
            session,
            key=key,
            display_name=f"{key.title()} BV",
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            alert_channel="C0ALERTS",
            **fields,
        )


def post_alert(runtime, slack, key: str = "healthy") -> str:
    """An open incident of ``key`` whose alert was posted (and recorded): the alert's ts."""
    ts = slack.handle(
        "chat.postMessage",
        {"channel": "C0ALERTS", "text": f"{key} is broken"},
        {"authorization": "Bearer xoxb-test"},
    )[1]["ts"]
    with runtime.session() as session:
        org = session.exec(select(Org).where(Org.key == key)).one()
        incident, _ = open_incident(session, org, kind="org", opened_at=datetime.now(UTC))
        enqueue_outbox(
            session,
            kind="incident.opened",
            payload=opened_payload(key, incident.opened_at),
            dedup_key=f"incident:{incident.id}:open",
            org_id=org.id,
            incident_id=incident.id,
        )
        set_incident_message(session, incident.id, channel="C0ALERTS", ts=ts)
    return ts


def opened_payload(key: str, opened_at: datetime) -> dict:
    """The alert as the outbox holds it (``IncidentOpened``), so it can be written again."""
    return {
        "org_key": key,
        "display_name": f"{key.title()} BV",
        "environment": "10001 (production)",
        "channel": "C0ALERTS",
        "overall": "failing",
        "headline": {"nl": "Fout", "en": "Failing"},
        "problems": [],
        "opened_at": opened_at.isoformat(),
    }


def org(runtime, key: str = "healthy") -> Org:
    with runtime.session() as session:
        return session.exec(select(Org).where(Org.key == key)).one()


def audit(runtime) -> list[tuple[str, str]]:
    with runtime.session() as session:
        return [
            (a.action, a.actor) for a in session.exec(select(AuditEvent).order_by(AuditEvent.id))
        ]


def thread(slack, ts: str) -> list[str]:
    return [message["text"] for message in slack.messages("C0ALERTS", thread_ts=ts)]


def shown(moment: datetime) -> str:
    return f"{moment.astimezone(AMSTERDAM):%Y-%m-%d %H:%M %Z}"


def dumped(payload) -> str:
    return json.dumps(payload, ensure_ascii=False)


# -- /afas mute ---------------------------------------------------------------------------------


async def test_mute_for_two_hours_says_until_when_and_who_and_remembers_both(
    app, slack, runtime, scenario
) -> None:
    add(runtime, scenario)
    before = datetime.now(UTC)
    await dispatch(app, command_body(slack, "demp healthy 2u", user=AGENT))
    (answer,) = await wait_async(slack, 1)
    muted = org(runtime)
    assert timedelta(hours=2) <= muted.mute_until - before < timedelta(hours=2, seconds=10)
    assert muted.muted_by == AGENT
    assert answer["response_type"] == "ephemeral"
    assert (
        f"Meldingen van *Healthy BV* (`healthy`) zijn gedempt tot {shown(muted.mute_until)}, "
        f"door <@{AGENT}>. De controles gaan door." in answer["text"]
    )
    assert " CET" in answer["text"] or " CEST" in answer["text"]  # the bot's zone, named
    assert ("org.muted", AGENT) in audit(runtime)


async def test_mute_until_a_moment_in_english(app, slack, runtime, scenario) -> None:
    add(runtime, scenario)
    day = (datetime.now(AMSTERDAM) + timedelta(days=2)).date()
    await dispatch(
        app, command_body(slack, f"mute healthy until {day:%Y-%m-%d} 18:00", user=AGENT_EN)
    )
    (answer,) = await wait_async(slack, 1)
    expected = datetime(day.year, day.month, day.day, 18, 0, tzinfo=AMSTERDAM)
    assert org(runtime).mute_until == expected.astimezone(UTC)
    assert (
        f"Alerts for *Healthy BV* (`healthy`) are muted until {day:%Y-%m-%d} 18:00 C"
        in (answer["text"])
    )


async def test_the_dutch_date_form_and_a_whole_day(app, slack, runtime, scenario) -> None:
    add(runtime, scenario)
    day = (datetime.now(AMSTERDAM) + timedelta(days=3)).date()
    await dispatch(app, command_body(slack, f"demp healthy tot {day.day}-{day.month}-{day.year}"))
    await wait_async(slack, 1)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=AMSTERDAM)
    assert org(runtime).mute_until == end.astimezone(UTC)


async def test_muting_an_org_with_an_open_alert_says_so_in_its_thread(
    app, slack, runtime, scenario
) -> None:
    add(runtime, scenario)
    ts = post_alert(runtime, slack)
    await dispatch(app, command_body(slack, "mute healthy 30m", user=AGENT_EN))
    await wait_async(slack, 1)
    _alert, note = await slack.wait_for_async("chat.postMessage", count=2)
    until = shown(org(runtime).mute_until)
    # the alert channel's language (AFASBOT_ALERT_LANGUAGE, Dutch by default), not the reader's
    assert thread(slack, ts) == [f"<@{AGENT_EN}> heeft meldingen gedempt tot {until}."]
    assert note.params["thread_ts"] == ts


async def test_an_alert_thread_that_cannot_be_written_leaves_the_mute_in_place(
    app, slack, runtime, scenario, caplog
) -> None:
    add(runtime, scenario)
    ts = post_alert(runtime, slack)
    slack.fail("chat.postMessage", "channel_not_found")
    await dispatch(app, command_body(slack, "mute healthy 30m", user=AGENT_EN))
    (answer,) = await wait_async(slack, 1)
    assert "are muted until" in answer["text"]  # the mute is made: the answer says so
    logged = f"could not note the mute of healthy in the alert thread C0ALERTS/{ts}"
    for _ in range(200):  # the warning follows Slack's answer
        if logged in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert logged in caplog.text
    assert org(runtime).muted_by == AGENT_EN
    assert thread(slack, ts) == []


async def test_muting_again_replaces_the_mute_and_says_whose_it_replaced(
    app, slack, runtime, scenario
) -> None:
    add(runtime, scenario)
    await dispatch(app, command_body(slack, "mute healthy 1d", user=AGENT_EN))
    await wait_async(slack, 1)
    first = org(runtime).mute_until
    await dispatch(app, command_body(slack, "mute healthy 1h", user=ADMIN))  # admins may too
    _first, answer = await wait_async(slack, 2)
    assert org(runtime).muted_by == ADMIN
    assert f"This replaces the mute until {shown(first)} by <@{AGENT_EN}>." in answer["text"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("soon", "I did not understand that duration"),
        ("91d", "A mute lasts at most 90 days"),
        ("until 2020-01-01 10:00", "has passed already"),
        ("until 2026-02-30 10:00", "That date or time does not exist"),
    ],
)
async def test_a_duration_that_cannot_be_is_answered_and_changes_nothing(
    app, slack, runtime, scenario, typed, expected
) -> None:
    add(runtime, scenario)
    await dispatch(app, command_body(slack, f"mute healthy {typed}", user=AGENT_EN))
    (answer,) = await wait_async(slack, 1)
    text = dumped(answer)
    assert expected in text and "`until " in text  # an example of what works
    assert answer["response_type"] == "ephemeral"
    assert org(runtime).mute_until is None
    assert [a for a in audit(runtime) if a[0].startswith("org.mute")] == []


async def test_muting_an_unknown_org_names_the_nearest_and_changes_nothing(
    app, slack, runtime, scenario
) -> None:
    add(runtime, scenario)
    await dispatch(app, command_body(slack, "mute helthy 2h", user=AGENT_EN))
    (answer,) = await wait_async(slack, 1)
    assert "`healthy`" in dumped(answer)
    assert org(runtime).mute_until is None
    assert [a for a in audit(runtime) if a[0].startswith("org.mute")] == []


async def test_a_guest_may_not_mute_and_is_told_who_can(app, slack, runtime, scenario) -> None:
    add(runtime, scenario)
    await dispatch(app, command_body(slack, "mute healthy 2h", user=GUEST))
    (answer,) = await wait_async(slack, 1)
    assert "Only helpdesk agents can mute alerts" in dumped(answer)
    assert org(runtime).mute_until is None
    assert slack.calls("chat.postMessage") == []


# -- /afas unmute -------------------------------------------------------------------------------


async def test_unmute_turns_the_alerts_back_on_and_says_so_in_the_thread(
    app, slack, runtime, scenario
) -> None:
    add(runtime, scenario)
    ts = post_alert(runtime, slack)
    await dispatch(app, command_body(slack, "mute healthy 4h", user=AGENT))
    await wait_async(slack, 1)
    await slack.wait_for_async("chat.postMessage", count=2)
    until = shown(org(runtime).mute_until)
    await dispatch(app, command_body(slack, "unmute healthy", user=AGENT_EN))
    _muted, answer = await wait_async(slack, 2)
    await slack.wait_for_async("chat.postMessage", count=3)
    assert (
        f"Alerts for *Healthy BV* (`healthy`) are on again (unmuted by <@{AGENT_EN}>; "
        f"the mute ran until {until})." in answer["text"]
    )
    assert (org(runtime).mute_until, org(runtime).muted_by) == (None, None)
    assert thread(slack, ts)[-1] == f"<@{AGENT_EN}> heeft de meldingen weer aangezet."
    assert ("org.unmuted", AGENT_EN) in audit(runtime)


async def test_unmuting_an_org_that_is_not_muted_changes_nothing(
    app, slack, runtime, scenario
) -> None:
    add(runtime, scenario)
    ts = post_alert(runtime, slack)
    events = audit(runtime)
    await dispatch(app, command_body(slack, "ontdemp healthy", user=AGENT))
    (answer,) = await wait_async(slack, 1)
    assert "*Healthy BV* (`healthy`) is niet gedempt; er is niets veranderd." in answer["text"]
    assert audit(runtime) == events  # no audit event
    assert thread(slack, ts) == []


async def test_a_guest_may_not_unmute(app, slack, runtime, scenario) -> None:
    add(runtime, scenario)
    await dispatch(app, command_body(slack, "mute healthy 4h", user=AGENT))
    await wait_async(slack, 1)
    await dispatch(app, command_body(slack, "unmute healthy", user=GUEST))
    _muted, answer = await wait_async(slack, 2)
    assert "Only helpdesk agents can unmute alerts" in dumped(answer)
    assert org(runtime).muted_by == AGENT


# -- who muted, everywhere ----------------------------------------------------------------------


async def test_the_overview_shows_until_when_and_who(app, slack, runtime, scenario) -> None:
    add(runtime, scenario)
    await dispatch(app, command_body(slack, "mute healthy 3h", user=AGENT))
    await wait_async(slack, 1)
    slack.clear()
    await dispatch(app, command_body(slack, "status", user=GUEST))
    (status,) = await wait_async(slack, 1)
    until = shown(org(runtime).mute_until)
    assert f":mute: muted for 3 h (until {until}, by <@{AGENT}>)" in dumped(status["blocks"])


async def test_the_alerts_mute_button_names_who_and_until_in_the_bots_zone(
    app, slack, runtime, scenario
) -> None:
    add(runtime, scenario)
    ts = post_alert(runtime, slack)
    await dispatch(app, button(slack, "alert_mute", "healthy:1h", ts, AGENT))
    await slack.wait_for_async("chat.postMessage", count=2)
    muted = org(runtime)
    assert muted.muted_by == AGENT
    assert thread(slack, ts) == [
        f"<@{AGENT}> heeft meldingen gedempt tot {shown(muted.mute_until)}."
    ]


# -- the modal ----------------------------------------------------------------------------------


@pytest.fixture
async def home(runtime, slack) -> AsyncIterator[tuple[AsyncWebClient, SlackDeps]]:
    """What the App Home's listener has when it calls ``open_mute_modal``: a client and the
    listeners' deps, with the same roles as the app's."""
    client = web_client("xoxb-test", base_url=slack.url)
    async with runtime.afas_client() as afas:
        yield (
            client,
            SlackDeps(
                runtime=runtime,
                afas=afas,
                languages=ReaderLanguages(client),
                roles=Roles(client, usergroup="S0AGENTS", admins=(ADMIN,)),
            ),
        )


def submission(
    view_id: str,
    *,
    user: str,
    choice: str | None = "1h",
    date: str | None = None,
    time: str | None = None,
    metadata: str | None = None,
) -> str:
    state: dict = {
        "mute_for": {"value": {"type": "radio_buttons", "selected_option": None}},
        "mute_date": {"value": {"type": "datepicker", "selected_date": date}},
        "mute_time": {"value": {"type": "timepicker", "selected_time": time}},
    }
    if choice is not None:
        state["mute_for"]["value"]["selected_option"] = {"value": choice}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM", "domain": "team"},
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": "1337.42.mno",
        "view": {
            "id": view_id,
            "team_id": "T0TEAM",
            "type": "modal",
            "callback_id": "mute_org",
            "private_metadata": metadata
            if metadata is not None
            else json.dumps({"org": "healthy", "language": "en"}),
            "state": {"values": state},
            "hash": "1700000000.abc",
        },
    }
    return urlencode({"payload": json.dumps(payload)})


async def submit(app, body: str) -> dict:
    response = await dispatch(app, body)
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


async def open_modal(slack, home, *, user: str = AGENT_EN, language: str = "en") -> dict:
    client, deps = home
    await open_mute_modal(
        client, deps, trigger_id="1337.42.home", user=user, language=language, key="healthy"
    )
    (opened,) = await slack.wait_for_async("views.open")
    return opened.response["view"]


async def test_the_modal_offers_an_hour_four_a_day_or_a_moment_in_the_bots_zone(
    app, slack, runtime, scenario, home
) -> None:
    add(runtime, scenario)
    view = await open_modal(slack, home)
    assert view["callback_id"] == "mute_org"
    assert json.loads(view["private_metadata"]) == {"org": "healthy", "language": "en"}
    (choices,) = [b for b in view["blocks"] if b.get("block_id") == "mute_for"]
    assert [o["value"] for o in choices["element"]["options"]] == ["1h", "4h", "1d", "until"]
    (clock,) = [b for b in view["blocks"] if b.get("block_id") == "mute_time"]
    assert clock["element"]["type"] == "timepicker"
    assert clock["element"]["timezone"] == "Europe/Amsterdam"
    assert "Mute the alerts for *Healthy BV* (`healthy`)" in dumped(view)


async def test_the_modal_shows_the_current_mute(app, slack, runtime, scenario, home) -> None:
    add(runtime, scenario)
    await dispatch(app, command_body(slack, "mute healthy 1d", user=AGENT))
    await wait_async(slack, 1)
    view = await open_modal(slack, home)
    until = shown(org(runtime).mute_until)
    assert f"Muted now until {until}, by <@{AGENT}>." in dumped(view)


async def test_neither_a_guest_nor_an_unknown_org_gets_the_modal(
    app, slack, runtime, scenario, home
) -> None:
    add(runtime, scenario)
    client, deps = home
    with pytest.raises(PermissionRefused) as refused:
        await open_mute_modal(
            client, deps, trigger_id="t1", user=GUEST, language="en", key="healthy"
        )
    assert refused.value.action == "action.mute"
    with pytest.raises(UnknownOrgError):
        await open_mute_modal(
            client, deps, trigger_id="t2", user=AGENT_EN, language="en", key="helthy"
        )
    assert slack.calls("views.open") == []


async def test_submitting_mutes_like_the_command_and_closes(app, slack, runtime, scenario, home):
    add(runtime, scenario)
    ts = post_alert(runtime, slack)
    view = await open_modal(slack, home)
    before = datetime.now(UTC)
    assert await submit(app, submission(view["id"], user=AGENT_EN, choice="4h")) == {}  # closed
    muted = org(runtime)
    assert timedelta(hours=4) <= muted.mute_until - before < timedelta(hours=4, seconds=10)
    assert muted.muted_by == AGENT_EN
    await slack.wait_for_async("chat.postMessage", count=2)
    assert thread(slack, ts) == [
        f"<@{AGENT_EN}> heeft meldingen gedempt tot {shown(muted.mute_until)}."
    ]
    assert ("org.muted", AGENT_EN) in audit(runtime)


async def test_submitting_a_date_and_time(app, slack, runtime, scenario, home) -> None:
    add(runtime, scenario)
    day = (datetime.now(AMSTERDAM) + timedelta(days=5)).date()
    body = submission("V1", user=AGENT_EN, choice="until", date=f"{day:%Y-%m-%d}", time="07:30")
    assert await submit(app, body) == {}
    moment = datetime(day.year, day.month, day.day, 7, 30, tzinfo=AMSTERDAM)
    assert org(runtime).mute_until == moment.astimezone(UTC)


@pytest.mark.parametrize(
    ("fields", "block", "expected"),
    [
        ({"choice": "until"}, "mute_date", "Choose a date"),
        ({"choice": "until", "date": "2020-01-01"}, "mute_date", "has passed already"),
        ({"choice": "until", "date": "2099-01-01"}, "mute_date", "At most 90 days"),
        ({"choice": "until", "date": "not a date"}, "mute_date", "with the pickers"),
        ({"choice": None}, "mute_for", "Choose for how long"),
        ({"choice": "1y"}, "mute_for", "Choose for how long"),
    ],
)
async def test_bad_values_are_shown_next_to_their_field_and_nothing_changes(
    app, slack, runtime, scenario, fields, block, expected
) -> None:
    add(runtime, scenario)
    answer = await submit(app, submission("V1", user=AGENT_EN, **fields))
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block]
    assert expected in answer["errors"][block]
    assert org(runtime).mute_until is None


@pytest.mark.parametrize(
    ("user", "metadata", "expected"),
    [
        (GUEST, None, "Only helpdesk agents can mute alerts"),
        (AGENT_EN, "not json", "does not (any longer) belong to a valid org"),
        (AGENT_EN, json.dumps({"org": "<script>", "language": "en"}), "does not (any longer)"),
        (AGENT_EN, json.dumps({"org": "nobody", "language": "en"}), "That org does not exist"),
    ],
)
async def test_a_forged_submission_is_answered_in_the_modal_and_changes_nothing(
    app, slack, runtime, scenario, user, metadata, expected
) -> None:
    add(runtime, scenario)
    answer = await submit(app, submission("V1", user=user, metadata=metadata))
    assert answer["response_action"] in ("errors", "update")
    assert expected in dumped(answer)
    assert org(runtime).mute_until is None
    assert [a for a in audit(runtime) if a[0].startswith("org.mute")] == []
