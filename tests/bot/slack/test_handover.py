"""``/afas handover <org>`` and the Handover buttons end to end: signed requests into the real
Bolt app, the note posted and its Markdown file uploaded through the Slack fake's three file
calls, with AFAS down (the note asks the database only)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from bot.slack.app import create_slack_app, web_client
from bot.slack.permissions import Roles
from storage.checks import record_check_run
from storage.incidents import open_incident
from storage.orgs import add_org
from tests.bot.blocks import factories as f
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.test_afas_command import dispatch, responses, wait_async
from tests.fakes.slack.files import shared_files, uploads

#: Nothing listens here: every AFAS call would fail (the note must not need one).
AFAS_DOWN = "http://127.0.0.1:9/{host}/{env}/ProfitRestServices"


@pytest.fixture
def afas_down(make_runtime):
    return make_runtime(AFAS_DOWN)


@pytest.fixture
async def app(afas_down, slack) -> AsyncIterator:
    slack.scopes += ",files:write"
    client = web_client("xoxb-test", base_url=slack.url)
    async with afas_down.afas_client() as afas:
        yield create_slack_app(
            afas_down,
            afas,
            client=client,
            signing_secret=SIGNING_SECRET,
            roles=Roles(client, usergroup="S0AGENTS"),
        )


def seed(runtime) -> str:
    """Acme, checked twice (the latest with two connectors missing), one open incident.
    Returns the stored ciphertext (to prove it is nowhere)."""
    now = datetime.now(UTC)
    with runtime.session() as session:
        org = add_org(
            session,
            key="acme",
            display_name="Acme BV",
            environment=f.ENV,
            token=f.TOKEN,
            cipher=runtime.require_cipher(),
            actor="U0AGENT",
            alert_channel="C0ALERTS",
            cs_owner="U0CS",
            now=now - timedelta(days=40),
        ).org
        record_check_run(
            session,
            org,
            trigger="schedule",
            started_at=now - timedelta(hours=2),
            duration_ms=300,
            overall_state="healthy",
            items=[i.to_dict() for i in f.healthy().items],
        )
        record_check_run(
            session,
            org,
            trigger="schedule",
            started_at=now - timedelta(minutes=10),
            duration_ms=300,
            overall_state="failing",
            items=[i.to_dict() for i in f.near_misses().items],
        )
        open_incident(session, org, kind="org", opened_at=now - timedelta(minutes=10))
        return org.token_ciphertext


def command(slack, text: str, *, user: str = "U0AGENT", channel: str = "C0HELPDESK") -> str:
    return urlencode(
        {
            "command": "/afas",
            "text": text,
            "user_id": user,
            "user_name": "someone",
            "team_id": "T0TEAM",
            "channel_id": channel,
            "response_url": slack.response_url("cmd"),
            "trigger_id": "1337.42.abc",
        }
    )


def button(slack, value: str, *, user: str = "U0AGENT", alert_ts: str | None = None) -> str:
    """A Handover press under an alert (``alert_ts``) or under an ephemeral report."""
    container = (
        {"type": "message", "message_ts": alert_ts, "channel_id": "C0ALERTS"}
        if alert_ts
        else {"type": "message", "is_ephemeral": True}
    )
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "team"},
        "api_app_id": "A0APP",
        "container": container,
        "trigger_id": "1337.42.def",
        "channel": {"id": "C0ALERTS" if alert_ts else "C0HELPDESK", "name": "x"},
        "response_url": slack.response_url("action"),
        "actions": [
            {
                "action_id": "handover",
                "block_id": "b",
                "value": value,
                "type": "button",
                "action_ts": "1700000000.000300",
            }
        ],
    }
    if alert_ts:
        payload["message"] = {"ts": alert_ts, "text": "alert"}
    return urlencode({"payload": json.dumps(payload)})


def local_today() -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo("Europe/Amsterdam")).date().isoformat()


async def test_handover_posts_the_note_and_attaches_the_same_note_as_markdown(
    app, slack, afas_down
) -> None:
    ciphertext = seed(afas_down)
    response = await dispatch(app, command(slack, "overdracht acme"))
    assert response.status == 200
    (complete,) = await slack.wait_for_async("files.completeUploadExternal")
    (post,) = slack.calls("chat.postMessage")
    assert post.params["channel"] == "C0HELPDESK" and "thread_ts" not in post.params
    message = json.dumps(post.params["blocks"], ensure_ascii=False)
    assert "Overdracht: Acme BV (acme)" in message  # the requester reads Dutch
    assert "13 van 15 in orde · aan zet: de AFAS-beheerder van de klant" in message
    # the three file calls, in order, about the same bytes
    (ticket,) = slack.calls("files.getUploadURLExternal")
    assert slack.methods().index("files.getUploadURLExternal") > slack.methods().index(
        "chat.postMessage"
    )
    (upload,) = uploads(slack)
    (shared,) = shared_files(slack, "C0HELPDESK")
    assert upload.status == 200 and upload.content == shared["content"]
    assert int(ticket.params["length"]) == len(upload.content)
    assert ticket.params["filename"] == shared["name"] == f"handover-acme-{local_today()}.md"
    assert complete.params["channel_id"] == "C0HELPDESK"
    assert shared["thread_ts"] == post.response["ts"]  # in the note's thread
    assert shared["title"] == "Overdrachtsnotitie Acme BV (acme)"
    markdown = shared["content"].decode("utf-8")
    assert markdown.startswith("# Overdracht: Acme BV (acme)\n")
    # message and file tell the same note
    for phrase in (
        "13 van 15 in orde · aan zet: de AFAS-beheerder van de klant",
        "nog open, al 10 min",
        "vingerafdruk `" + f.TOKEN.fingerprint + "`",
        "De storing van",
    ):
        assert phrase in markdown and phrase in message, phrase
    assert "🟨" in markdown and ":large_yellow_square:" in message  # today: 1 of 2 failing
    for text in (markdown, message, json.dumps(slack.calls()[-1].params)):
        assert f.TOKEN.reveal_data() not in text and ciphertext not in text
    assert responses(slack) == []  # nothing to tell the requester: it all worked


async def test_a_guest_is_refused_and_nothing_is_posted(app, slack, afas_down) -> None:
    seed(afas_down)
    await dispatch(app, command(slack, "handover acme", user="U0GUEST"))
    (refusal,) = await wait_async(slack, 1)
    text = json.dumps(refusal)
    assert "Only helpdesk agents can make handover notes" in text
    assert refusal["response_type"] == "ephemeral"
    assert slack.calls("chat.postMessage") == [] and shared_files(slack) == []
    assert slack.calls("files.getUploadURLExternal") == []


async def test_an_unknown_org_gets_suggestions_and_nothing_is_posted(app, slack, afas_down) -> None:
    seed(afas_down)
    await dispatch(app, command(slack, "handover acm"))
    (answer,) = await wait_async(slack, 1)
    assert "acme" in json.dumps(answer["blocks"])
    assert slack.calls("chat.postMessage") == []


async def test_a_channel_without_the_bot_gets_the_note_in_the_dm(app, slack, afas_down) -> None:
    seed(afas_down)
    slack.add_channel("C0OUTSIDE", "outside", is_member=False)
    await dispatch(app, command(slack, "handover acme", channel="C0OUTSIDE"))
    await slack.wait_for_async("files.completeUploadExternal")
    refused, posted = slack.calls("chat.postMessage")
    assert refused.response["error"] == "not_in_channel"
    assert posted.params["channel"] == "U0AGENT" and posted.response["channel"] == "D0AGENT"
    assert slack.calls("conversations.open") == []  # chat:write is enough for the DM
    assert shared_files(slack, "D0AGENT")[0]["thread_ts"] == posted.response["ts"]
    (notice,) = await wait_async(slack, 1)
    assert notice["response_type"] == "ephemeral" and "not_in_channel" in notice["text"]
    assert "privéberichten" in notice["text"]


async def test_without_files_write_the_message_stays_and_the_user_hears_why(
    app, slack, afas_down
) -> None:
    seed(afas_down)
    slack.scopes = "chat:write,commands,users:read,usergroups:read,im:write"
    await dispatch(app, command(slack, "handover acme", user="U0AGENT"))
    (notice,) = await wait_async(slack, 1)
    assert "missing_scope" in notice["text"] and "files:write" in notice["text"]
    assert notice["replace_original"] is False
    (post,) = slack.calls("chat.postMessage")
    assert post.response["ok"] is True
    assert slack.messages("C0HELPDESK")[0]["ts"] == post.response["ts"]  # still there
    assert shared_files(slack) == []


async def test_the_button_under_an_alert_answers_in_the_alerts_thread(
    app, slack, afas_down
) -> None:
    seed(afas_down)
    alert = slack.handle(
        "chat.postMessage",
        {"channel": "C0ALERTS", "text": "alert"},
        {"authorization": "Bearer xoxb-test"},
    )[1]
    await dispatch(app, button(slack, "acme", user="U0AGENT", alert_ts=alert["ts"]))
    await slack.wait_for_async("files.completeUploadExternal")
    (reply,) = slack.messages("C0ALERTS", thread_ts=alert["ts"])[:1]
    assert "Overdracht: Acme BV (acme)" in json.dumps(reply["blocks"], ensure_ascii=False)
    (shared,) = shared_files(slack, "C0ALERTS")
    assert shared["thread_ts"] == alert["ts"]  # the file too, in the alert's thread


async def test_the_button_under_a_report_posts_in_the_reports_channel(
    app, slack, afas_down
) -> None:
    seed(afas_down)
    await dispatch(app, button(slack, "acme", user="U0AGENT"))
    await slack.wait_for_async("files.completeUploadExternal")
    (post,) = slack.calls("chat.postMessage")
    assert post.params["channel"] == "C0HELPDESK" and "thread_ts" not in post.params


@pytest.mark.parametrize(("value", "user"), [("acme", "U0GUEST"), ("ac me; drop", "U0AGENT")])
async def test_a_button_press_by_a_guest_or_with_a_forged_value_is_answered(
    app, slack, afas_down, value, user
) -> None:
    seed(afas_down)
    await dispatch(app, button(slack, value, user=user))
    (answer,) = await wait_async(slack, 1)
    assert answer["response_type"] == "ephemeral"
    assert slack.calls("chat.postMessage") == []
