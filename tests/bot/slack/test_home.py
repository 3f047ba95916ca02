"""The App Home tab as the dashboard, end to end: signed events and ``block_actions`` from the
Home view (container ``view``, no response URL) into the real Bolt app, answers through the
Slack Web API fake, checks against the AFAS sandbox, records in the database."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from slack_sdk.models.views import View
from sqlmodel import select

from bot.blocks.home import (
    FILTER_ACTION,
    NEXT_ACTION,
    ORG_MENU_ACTION,
    PREVIOUS_ACTION,
    REGISTER_ACTION,
)
from bot.slack.app import create_slack_app, web_client
from bot.slack.background import Background
from bot.slack.home_refresh import HomeBoard
from bot.slack.listeners.shortcuts import REGISTER_SHORTCUT, REGISTER_SHORTCUT_NAME
from bot.slack.permissions import Roles
from storage.models import AuditEvent, CheckRun
from storage.repository import acknowledge_incident, get_org, mute_org, open_incident
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.requests import signed
from tests.bot.slack.test_afas_command import command_body, dispatch, register, wait_async
from tests.storage.test_dashboard import insert_orgs

_TRIGGERS = itertools.count(1)


def home_event(user: str) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": "home",
                "event_ts": "1700000000.000300",
            },
        }
    )


def home_action_body(
    view: dict, user: str, action: dict, *, trigger_id: str | None = None
) -> tuple[str, str]:
    """A ``block_actions`` payload as Slack sends it from a Home tab: the view it came from,
    a fresh trigger id, no channel and no response URL. Returns the body and the trigger id."""
    trigger_id = trigger_id or f"{next(_TRIGGERS)}.42.home"
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "team"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {"type": "view", "view_id": view.get("id", "V0HOME")},
        "trigger_id": trigger_id,
        "view": {
            "id": view.get("id", "V0HOME"),
            "team_id": "T0TEAM",
            "type": "home",
            "blocks": view.get("blocks", []),
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": view.get("hash", "1700000000.abc"),
        },
        "actions": [{**action, "action_ts": "1700000000.000100"}],
    }
    return urlencode({"payload": json.dumps(payload)}), trigger_id


def button(action_id: str, value: str, block_id: str = "home_paging") -> dict:
    return {"action_id": action_id, "block_id": block_id, "value": value, "type": "button"}


def selected(action_id: str, value: str, block_id: str = "home_org.0.x") -> dict:
    return {
        "action_id": action_id,
        "block_id": block_id,
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
    }


def shortcut_body(user: str) -> tuple[str, str]:
    trigger_id = f"{next(_TRIGGERS)}.42.shortcut"
    payload = {
        "type": "shortcut",
        "callback_id": REGISTER_SHORTCUT,
        "trigger_id": trigger_id,
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "team"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "action_ts": "1700000000.000200",
    }
    return urlencode({"payload": json.dumps(payload)}), trigger_id


class RecordingBackground(Background):
    """The app's Background, which also lets a test run a periodic job itself."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict = {}

    def every(self, seconds, job, *, name):
        self.jobs[name] = (seconds, job)
        super().every(seconds, job, name=name)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def home(runtime, slack) -> AsyncIterator:
    """The real Bolt app with its Home board (the refresh job) on a clock the test turns."""
    client = web_client("xoxb-test", base_url=slack.url)
    background = RecordingBackground()
    async with runtime.afas_client() as afas:
        app = create_slack_app(
            runtime,
            afas,
            client=client,
            signing_secret=SIGNING_SECRET,
            roles=Roles(client, usergroup="S0AGENTS"),
            background=background,
        )
        seconds, board = background.jobs["home-refresh"]
        assert isinstance(board, HomeBoard) and seconds == runtime.settings.home_refresh_seconds
        board.clock = Clock()
        app.board = board
        yield app


async def open_home(app, slack, user: str) -> dict:
    before = len(slack.calls("views.publish"))
    body = home_event(user)
    response = await dispatch(
        app, body, headers={**signed(body), "content-type": "application/json"}
    )
    assert response.status == 200
    return await published(slack, before, user)


async def published(slack, before: int, user: str) -> dict:
    calls = await slack.wait_for_async("views.publish", before + 1)
    call = calls[before]
    assert call.params["user_id"] == user
    return {**call.params["view"], **call.response["view"]}  # the ids Slack gave it too


async def act(app, slack, view: dict, user: str, action: dict) -> str:
    """Dispatch one Home interaction; returns its trigger id."""
    body, trigger_id = home_action_body(view, user, action)
    started = time.monotonic()
    response = await dispatch(app, body)
    assert response.status == 200 and time.monotonic() - started < 3  # acknowledged in time
    return trigger_id


def valid(view: dict) -> dict:
    View(**view).to_dict()  # slack_sdk's own checks of Slack's limits
    assert len(view["blocks"]) <= 100
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")
    return view


def org_keys(view: dict) -> list[str]:
    return [
        b["block_id"].split(".", 2)[2]
        for b in view["blocks"]
        if b.get("block_id", "").startswith("home_org.")
    ]


def element(view: dict, action_id: str) -> dict | None:
    for block in view["blocks"]:
        for candidate in block.get("elements", []):
            if candidate.get("action_id") == action_id:
                return candidate
    return None


def dumped(view: dict) -> str:
    return json.dumps(view, ensure_ascii=False)


async def opened_modal(slack, trigger_id: str, count: int = 1) -> dict:
    for call in await slack.wait_for_async("views.open", count):
        if call.params["trigger_id"] == trigger_id:
            return call.params["view"]
    raise AssertionError(f"no views.open with {trigger_id}")


def runs(runtime) -> list[CheckRun]:
    with runtime.session() as session:
        return list(session.exec(select(CheckRun)).all())


# -- opening and paging ----------------------------------------------------------------------


async def test_opening_home_publishes_the_overview_in_dutch(bolt, slack, runtime, scenario):
    register(runtime, scenario, "healthy", "revoked-token")
    await dispatch(bolt, command_body(slack, "check revoked-token", user="U0GUEST"))
    await wait_async(slack, 2)
    body = home_event("U0AGENT")
    headers = {**signed(body), "content-type": "application/json"}
    response = await dispatch(bolt, body, headers=headers)
    assert response.status == 200
    (published_,) = await slack.wait_for_async("views.publish")
    assert published_.params["user_id"] == "U0AGENT"
    view = published_.params["view"]
    assert view["type"] == "home"
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert text.index("*revoked-token*") < text.index("*healthy*")  # worst first
    assert "Fout" in text  # the Dutch state label


async def test_1500_orgs_every_page_in_limits_every_org_reached_by_next_and_back(
    home, slack, runtime
):
    with runtime.session() as session:
        keys = insert_orgs(session, runtime.require_cipher(), 1500, now=datetime.now(UTC))
    view = valid(await open_home(home, slack, "U0AGENT"))
    counts = [":x: Fout: 215", ":grey_question: Onbereikbaar: 214", "Bijna in orde: 214"]
    counts += [":white_circle: Nooit gecontroleerd: 428", ":white_check_mark: In orde: 429"]
    assert all(count in dumped(view) for count in counts)  # over all 1,500, in Dutch
    forward = [org_keys(view)]
    assert element(view, PREVIOUS_ACTION) is None
    while (next_button := element(view, NEXT_ACTION)) is not None:
        before = len(slack.calls("views.publish"))
        await act(home, slack, view, "U0AGENT", button(NEXT_ACTION, next_button["value"]))
        view = valid(await published(slack, before, "U0AGENT"))
        forward.append(org_keys(view))
    assert len(forward) == 60 and all(len(page) == 25 for page in forward)
    seen = [key for page in forward for key in page]
    assert sorted(seen) == sorted(keys)  # every org, once
    assert "pagina 60 van 60" in dumped(view)
    backward = [org_keys(view)]
    while (previous := element(view, PREVIOUS_ACTION)) is not None:
        before = len(slack.calls("views.publish"))
        await act(home, slack, view, "U0AGENT", button(PREVIOUS_ACTION, previous["value"]))
        view = valid(await published(slack, before, "U0AGENT"))
        backward.append(org_keys(view))
    assert backward == forward[::-1]
    # The page is remembered: opening the tab again shows the page the reader was on.
    await act(
        home, slack, view, "U0AGENT", button(NEXT_ACTION, element(view, NEXT_ACTION)["value"])
    )
    await slack.wait_for_async("views.publish", 120)
    assert org_keys(await open_home(home, slack, "U0AGENT")) == forward[1]


async def test_the_filter_and_forged_page_values(home, slack, runtime):
    with runtime.session() as session:
        insert_orgs(session, runtime.require_cipher(), 100, now=datetime.now(UTC))
    view = await open_home(home, slack, "U0GUEST")

    async def send(action: dict) -> dict:
        before = len(slack.calls("views.publish"))
        await act(home, slack, view, "U0GUEST", action)
        return valid(await published(slack, before, "U0GUEST"))

    failing = await send(selected(FILTER_ACTION, "failing", "home_toolbar"))
    assert len(org_keys(failing)) == 15 and "*Failing* · Orgs 1–15 of 15" in dumped(failing)
    assert ":x:" in dumped(failing) and ":white_check_mark: *" not in dumped(failing)
    cases = [
        (selected(FILTER_ACTION, "'; drop", "home_toolbar"), "I do not know that filter"),
        (button(NEXT_ACTION, "not json"), "I do not know that page; this is the first page."),
        (button(NEXT_ACTION, '{"page": "2"}'), "I do not know that page"),
        (button(NEXT_ACTION, '{"page": 1, "state": "hacked"}'), "I do not know that filter"),
        (button(NEXT_ACTION, '{"page": 999999999}'), "this is page 4 of 4"),
    ]
    for action, answer in cases:
        shown = await send(action)
        assert answer in dumped(shown), action
    assert "Orgs 76–100 of 100" in dumped(shown)  # the nearest page that exists: the last
    first = await send(button(PREVIOUS_ACTION, '{"page": -5, "state": null}'))
    assert "Orgs 1–25 of 100" in dumped(first)
    assert slack.calls("views.open") == []  # no error needed a modal


# -- the org menu ----------------------------------------------------------------------------


async def test_check_opens_checking_first_then_the_report_without_buttons(
    home, slack, runtime, scenario
):
    register(runtime, scenario, "near-miss")
    view = await open_home(home, slack, "U0AGENT")
    earlier = len(slack.calls())
    trigger = await act(home, slack, view, "U0AGENT", selected(ORG_MENU_ACTION, "check:near-miss"))
    (update,) = await slack.wait_for_async("views.update")
    assert slack.methods()[earlier:][:1] == ["views.open"]  # the trigger id first, then the rest
    opened = await opened_modal(slack, trigger)
    assert "Bezig met controleren van near-miss" in dumped(opened)
    assert update.params["view_id"] == slack.calls("views.open")[0].response["view"]["id"]
    report = valid_modal(update.params["view"])
    assert "SBQ_Kostenplaatsen_All gevonden, verwacht SBQ_Kostenplaasten_All" in dumped(report)
    assert not [b for b in report["blocks"] if b["type"] == "actions"]  # no response URL here
    (run,) = runs(runtime)
    assert run.trigger == "command"
    with runtime.session() as session:
        audits = session.exec(select(AuditEvent).where(AuditEvent.action == "org.checked")).all()
    assert [a.actor for a in audits] == ["U0AGENT"]
    # The Home tab is published again: its menus show their placeholder, the state is new.
    await slack.wait_for_async("views.publish", 2)


async def test_deep_check_and_history_for_everyone(home, slack, runtime, scenario):
    register(runtime, scenario, "healthy")
    view = await open_home(home, slack, "U0GUEST")
    await act(home, slack, view, "U0GUEST", selected(ORG_MENU_ACTION, "deep:healthy"))
    (update,) = await slack.wait_for_async("views.update")
    assert "deep" in dumped(update.params["view"]) and "Running a deep check" in dumped(
        slack.calls("views.open")[0].params["view"]
    )
    trigger = await act(home, slack, view, "U0GUEST", selected(ORG_MENU_ACTION, "history:healthy"))
    history = valid_modal(await opened_modal(slack, trigger, 2))
    assert history["title"]["text"] == "History"
    assert "healthy BV (healthy)" in dumped(history) and "Healthy" in dumped(history)


async def test_forged_and_refused_choices_are_answered_and_change_nothing(
    home, slack, runtime, scenario
):
    register(runtime, scenario, "healthy")
    view = await open_home(home, slack, "U0GUEST")
    cases = [
        ("explode:healthy", "I do not know that choice; nothing was done."),
        ("check", "I do not know that choice"),
        ("check:../../etc/passwd", "not a valid org key"),
        ("handover:healthy", "Only helpdesk agents can make handover notes."),
        ("mute:healthy", "Only helpdesk agents can mute alerts."),
        ("edit:healthy", "Only helpdesk agents can edit orgs."),
    ]
    for count, (value, answer) in enumerate(cases, start=1):
        trigger = await act(home, slack, view, "U0GUEST", selected(ORG_MENU_ACTION, value))
        modal = valid_modal(await opened_modal(slack, trigger, count))
        assert answer in dumped(modal), value
        assert modal["title"]["text"] == "That did not work"
    trigger = await act(home, slack, view, "U0GUEST", button(REGISTER_ACTION, "register", "t"))
    refused = await opened_modal(slack, trigger, len(cases) + 1)
    assert "Only helpdesk agents can register orgs." in dumped(refused)
    assert refused.get("callback_id") != "register_org"
    # A well-formed key that is not registered: "checking…" first, then the suggestions.
    await act(home, slack, view, "U0GUEST", selected(ORG_MENU_ACTION, "check:helthy"))
    (update,) = await slack.wait_for_async("views.update")
    assert "No org is registered as `helthy`" in dumped(update.params["view"])
    assert "`healthy`" in dumped(update.params["view"])
    assert runs(runtime) == []
    with runtime.session() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.actor == "U0GUEST")).all() == []
        assert get_org(session, "healthy").mute_until is None
    assert slack.calls("chat.postMessage") == [] and slack.calls("files.getUploadURLExternal") == []


async def test_register_button_opens_the_registration_form_for_an_agent(home, slack, runtime):
    view = await open_home(home, slack, "U0AGENT")
    assert element(view, REGISTER_ACTION) is not None
    trigger = await act(home, slack, view, "U0AGENT", button(REGISTER_ACTION, "register", "t"))
    form = await opened_modal(slack, trigger)
    assert (
        form["callback_id"] == "register_org" and form["title"]["text"] == "Organisatie registreren"
    )
    guest_view = await open_home(home, slack, "U0GUEST")
    assert element(guest_view, REGISTER_ACTION) is None  # shown to agents only


async def test_the_shortcut_opens_the_form_for_an_agent_and_refuses_a_guest(home, slack):
    assert len(REGISTER_SHORTCUT_NAME) <= 24
    body, trigger = shortcut_body("U0AGENT")
    assert (await dispatch(home, body)).status == 200
    form = await opened_modal(slack, trigger)
    assert form["callback_id"] == "register_org"
    body, trigger = shortcut_body("U0GUEST")
    assert (await dispatch(home, body)).status == 200
    refused = await opened_modal(slack, trigger, 2)
    assert refused.get("callback_id") != "register_org"
    assert "Only helpdesk agents can register orgs." in dumped(refused)


# -- the debounced refresh -------------------------------------------------------------------


async def test_a_state_change_republishes_once_for_a_recent_viewer_only(
    home, slack, runtime, scenario
):
    board: HomeBoard = home.board
    register(runtime, scenario, "healthy", "revoked-token")
    await open_home(home, slack, "U0GUEST")  # looks, then goes away for two hours
    board.clock.now += timedelta(hours=2)
    await open_home(home, slack, "U0AGENT")
    slack.clear()
    assert await board.refresh() == 0  # nothing changed since
    await dispatch(home, command_body(slack, "check revoked-token", user="U0GUEST"))
    await wait_async(slack, 2)  # the report: the org is failing now
    await dispatch(home, command_body(slack, "check revoked-token", user="U0GUEST"))
    await wait_async(slack, 4)  # and again: still failing
    before = len(slack.calls("views.publish"))
    assert before == 0  # a check alone publishes nothing
    assert await board.refresh() == 1
    (call,) = slack.calls("views.publish")
    assert call.params["user_id"] == "U0AGENT"
    assert ":x: Fout: 1" in dumped(call.params["view"])
    assert await board.refresh() == 0  # nothing new: no republish
    await dispatch(home, command_body(slack, "check revoked-token", user="U0GUEST"))
    await wait_async(slack, 6)  # checked once more, same state: still nothing to publish
    assert await board.refresh() == 0
    with runtime.session() as session:  # an incident acknowledged and a mute do change the page
        org = get_org(session, "revoked-token")
        incident, _ = open_incident(session, org, kind="org", opened_at=board.clock.now)
        acknowledge_incident(session, incident.id, actor="U0AGENT")
        mute_org(session, "healthy", until=board.clock.now + timedelta(hours=1), actor="U0AGENT")
    assert await board.refresh() == 1
    latest = slack.calls("views.publish")[-1].params["view"]
    assert "opgepakt door <@U0AGENT>" in dumped(latest) and "gedempt door <@U0AGENT>" in dumped(
        latest
    )
    board.clock.now += timedelta(hours=1, minutes=1)  # the mute runs out: the page changes
    assert await board.refresh() == 0  # ...but the agent has not looked for 61 minutes
    assert [c.params["user_id"] for c in slack.calls("views.publish")] == ["U0AGENT", "U0AGENT"]


def valid_modal(view: dict) -> dict:
    View(**view).to_dict()
    assert view["type"] == "modal" and len(view["blocks"]) <= 100
    return view


# -- the choices other modules answer (handover, mute, edit) -------------------------------


async def test_handover_posts_the_note_in_the_agents_messages_with_the_app(
    home, slack, runtime, scenario
):
    register(runtime, scenario, "healthy")
    view = await open_home(home, slack, "U0AGENT")
    trigger = await act(home, slack, view, "U0AGENT", selected(ORG_MENU_ACTION, "handover:healthy"))
    pending = valid_modal(await opened_modal(slack, trigger))
    assert "De overdrachtsnotitie voor healthy wordt gemaakt" in dumped(pending)
    (done,) = await slack.wait_for_async("views.update", timeout=10)
    assert "staat in je berichten met de app" in dumped(done.params["view"])
    (note, *_) = slack.messages("U0AGENT")  # the DM with the app
    assert "healthy" in dumped(note)
    secret = scenario.by_name("healthy").token().reveal_data()
    assert all(secret not in json.dumps(call.params) for call in slack.calls())  # no token


async def test_mute_opens_the_mute_form_with_the_actions_trigger(home, slack, runtime, scenario):
    register(runtime, scenario, "healthy")
    view = await open_home(home, slack, "U0AGENT")
    trigger = await act(home, slack, view, "U0AGENT", selected(ORG_MENU_ACTION, "mute:healthy"))
    form = await opened_modal(slack, trigger)
    assert form["callback_id"] == "mute_org" and "healthy" in dumped(form)
    with runtime.session() as session:
        assert get_org(session, "healthy").mute_until is None  # only the form, nothing yet
    # An org that does not exist (any more): answered in a modal, nothing opened for it.
    trigger = await act(home, slack, view, "U0AGENT", selected(ORG_MENU_ACTION, "mute:gone-bv"))
    answer = await opened_modal(slack, trigger, 2)
    assert "Er is geen organisatie geregistreerd als `gone-bv`" in dumped(answer)


async def test_edit_opens_the_edit_form_with_the_actions_trigger(home, slack, runtime, scenario):
    register(runtime, scenario, "healthy")
    view = await open_home(home, slack, "U0AGENT")
    trigger = await act(home, slack, view, "U0AGENT", selected(ORG_MENU_ACTION, "edit:healthy"))
    form = await opened_modal(slack, trigger)
    assert form["callback_id"] == "org_admin_edit" and "healthy BV" in dumped(form)
    with runtime.session() as session:
        assert (
            session.exec(select(AuditEvent).where(AuditEvent.action == "org.updated")).all() == []
        )
