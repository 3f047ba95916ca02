"""``/afas edit <org>`` end to end: the prefilled modal, the submission checked again (role,
org, every field through storage's validation), only what changed written and audited field
by field, the modal closed and the user told what changed (ephemeral where the command was
typed, else a direct message)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.listeners.deps import SlackDeps
from bot.slack.listeners.org_admin import open_edit_modal
from bot.slack.locale import ReaderLanguages
from bot.slack.permissions import Roles
from tests.bot.slack.requests import command_body
from tests.bot.slack.test_afas_command import dispatch, wait_async
from tests.bot.slack.test_rotate import (
    ADMIN,
    AGENT,
    GUEST,
    app_with_admin,
    audit,
    dumped,
    forms,
    open_modal,
    register_org,
    stored_org,
    submit,
    token_of,
)


@pytest.fixture
async def app(runtime, slack) -> AsyncIterator:
    async with app_with_admin(runtime, slack) as bolt:
        yield bolt


def acme(runtime, scenario, **fields):
    return register_org(
        runtime,
        scenario,
        "healthy",
        display_name="Acme BV",
        alert_channel="C0ALERTS",
        cs_owner="U0AGENT",
        notes="Contact: Jan",
        **{"check_interval_seconds": 900, **fields},  # its own interval, not the default
    )


def unchanged_values(**overrides) -> dict:
    values = {
        "name": "Acme BV",
        "channel": "C0ALERTS",
        "owner": "U0AGENT",
        "notes": "Contact: Jan",
        "interval": "900",
    }
    return {**values, **overrides}


def inputs(view: dict) -> dict[str, dict]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def updates(runtime) -> list[dict]:
    return sorted(
        (e.details for e in audit(runtime, "healthy") if e.action == "org.updated"),
        key=lambda d: d["field"],
    )


# -- the form ------------------------------------------------------------------------------------


async def test_the_form_is_prefilled_with_the_current_values(app, slack, runtime, scenario) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    assert view["callback_id"] == "org_admin_edit"
    fields = inputs(view)
    assert list(fields) == ["name", "channel", "owner", "notes", "interval"]
    assert fields["name"]["element"]["initial_value"] == "Acme BV"
    assert fields["channel"]["element"]["type"] == "conversations_select"
    assert fields["channel"]["element"]["initial_conversation"] == "C0ALERTS"
    assert fields["owner"]["element"]["type"] == "users_select"
    assert fields["owner"]["element"]["initial_user"] == "U0AGENT"
    assert fields["notes"]["element"]["multiline"] is True
    assert fields["notes"]["element"]["initial_value"] == "Contact: Jan"
    interval = fields["interval"]["element"]
    assert interval["type"] == "static_select"
    assert [o["value"] for o in interval["options"]] == ["default"] + [
        str(s) for s in (300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400)
    ]
    assert interval["initial_option"]["value"] == "900"
    assert interval["initial_option"]["text"]["text"] == "15 min"
    assert "AFAS-omgeving *10001 (productie)*" in dumped(view)


async def test_a_stored_interval_that_is_not_offered_is_offered_and_chosen(
    app, slack, runtime, scenario
) -> None:
    org = acme(runtime, scenario)
    with runtime.session() as session:
        session.get(type(org), org.id).check_interval_seconds = 60  # from before the bounds
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    interval = inputs(view)["interval"]["element"]
    assert interval["options"][1]["value"] == "60"
    assert interval["initial_option"]["value"] == "60"
    # Kept as it is while something else changes (it is not validated again).
    answer = await submit(app, view, unchanged_values(name="Acme", interval="60"), user=AGENT)
    assert answer == {}
    assert stored_org(runtime, "healthy").check_interval_seconds == 60


async def test_a_guest_is_refused_and_no_form_opens(app, slack, runtime, scenario) -> None:
    acme(runtime, scenario)
    await dispatch(app, command_body(slack, "edit healthy", user=GUEST))
    (refusal,) = await wait_async(slack, 1)
    assert "Only helpdesk agents can edit orgs" in dumped(refusal["blocks"])
    assert slack.calls("views.open") == []


# -- the submission ------------------------------------------------------------------------------


async def test_only_what_changed_is_written_audited_field_by_field_and_confirmed(
    app, slack, runtime, scenario
) -> None:
    org = acme(runtime, scenario)
    with runtime.session() as session:
        session.get(type(org), org.id).next_check_at = datetime.now(UTC) + timedelta(hours=2)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    before = datetime.now(UTC)
    answer = await submit(
        app,
        view,
        unchanged_values(
            name="Acme Holding BV",
            channel="C0GENERAL",
            notes="Contact: Jan (new number)",
            interval="300",
        ),
        user=AGENT,
    )
    assert answer == {}  # acknowledged plainly: the modal closes

    stored = stored_org(runtime, "healthy")
    assert (stored.display_name, stored.alert_channel, stored.cs_owner, stored.notes) == (
        "Acme Holding BV",
        "C0GENERAL",
        "U0AGENT",
        "Contact: Jan (new number)",
    )
    assert stored.check_interval_seconds == 300
    assert stored.next_check_at <= before + timedelta(minutes=5, seconds=5)  # brought forward
    assert updates(runtime) == [
        {"field": "alert_channel", "old": "C0ALERTS", "new": "C0GENERAL"},
        {"field": "check_interval_seconds", "old": 900, "new": 300},
        {"field": "display_name", "old": "Acme BV", "new": "Acme Holding BV"},
        {"field": "notes", "changed": True},  # never the text
    ]
    assert {e.actor for e in audit(runtime, "healthy") if e.action == "org.updated"} == {AGENT}

    (told,) = await slack.wait_for_async("chat.postEphemeral")
    assert (told.params["channel"], told.params["user"]) == ("C0HELPDESK", AGENT)
    text = dumped(told.params["blocks"])
    assert "healthy is gewijzigd" in text
    assert "naam: Acme BV → Acme Holding BV" in text
    assert "meldingskanaal: <#C0ALERTS> → <#C0GENERAL>" in text
    assert "controle-interval: 15 min → 5 min" in text
    assert "notities gewijzigd" in text and "new number" not in text
    assert "customer-success-eigenaar" not in text  # unchanged


async def test_an_admin_may_edit_too_and_reads_the_answer_in_english(
    app, slack, runtime, scenario
) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=ADMIN)
    await submit(app, view, unchanged_values(owner=ADMIN), user=ADMIN)
    (told,) = await slack.wait_for_async("chat.postEphemeral")
    assert "customer-success owner: <@U0AGENT> → <@U0ADMIN>" in dumped(told.params["blocks"])
    assert stored_org(runtime, "healthy").cs_owner == ADMIN


async def test_nothing_changed_writes_nothing_and_says_so(app, slack, runtime, scenario) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    assert await submit(app, view, unchanged_values(name="  Acme   BV "), user=AGENT) == {}
    assert updates(runtime) == []
    (told,) = await slack.wait_for_async("chat.postEphemeral")
    assert "Er is niets gewijzigd aan healthy" in dumped(told.params["blocks"])


async def test_clearing_the_owner_and_channel_is_a_change_too(
    app, slack, runtime, scenario
) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    await submit(app, view, unchanged_values(owner=None, channel=None), user=AGENT)
    stored = stored_org(runtime, "healthy")
    assert (stored.alert_channel, stored.cs_owner) == (None, None)
    assert updates(runtime) == [
        {"field": "alert_channel", "old": "C0ALERTS", "new": None},
        {"field": "cs_owner", "old": "U0AGENT", "new": None},
    ]


async def test_an_owner_that_is_not_a_slack_user_is_shown_and_kept_when_left_empty(
    app, slack, runtime, scenario
) -> None:
    register_org(runtime, scenario, "healthy", display_name="Acme BV", cs_owner="Marieke (CS)")
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    assert "initial_user" not in inputs(view)["owner"]["element"]
    assert "Marieke (CS)" in dumped(view)
    await submit(app, view, {"name": "Acme BV", "interval": "900", "owner": None}, user=AGENT)
    assert stored_org(runtime, "healthy").cs_owner == "Marieke (CS)"


async def test_a_token_pasted_into_the_notes_is_refused_inline_and_not_echoed(
    app, slack, runtime, scenario, caplog
) -> None:
    acme(runtime, scenario)
    pasted = token_of("pasted")
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    answer = await submit(
        app, view, unchanged_values(name="Renamed", notes=f"token: {pasted.xml}"), user=AGENT
    )
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"notes"}
    assert "lijkt een token" in answer["errors"]["notes"]
    assert stored_org(runtime, "healthy").display_name == "Acme BV"  # nothing changed at all
    assert updates(runtime) == []
    sent = dumped(answer) + dumped([c.params for c in slack.calls()]) + caplog.text
    for secret in forms(pasted):
        assert secret not in sent


@pytest.mark.parametrize("forged", ["10", "31536000", "soon", None])
async def test_an_interval_not_offered_is_refused_next_to_its_field(
    app, slack, runtime, scenario, forged
) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    answer = await submit(app, view, unchanged_values(interval=forged), user=AGENT)
    assert answer["response_action"] == "errors"
    assert "Kies een controle-interval uit de lijst" in answer["errors"]["interval"]
    assert stored_org(runtime, "healthy").check_interval_seconds == 900


async def test_a_guests_forged_submission_is_refused_and_changes_nothing(
    app, slack, runtime, scenario
) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    answer = await submit(app, view, unchanged_values(name="Hijacked"), user=GUEST)
    assert answer["response_action"] == "errors"
    assert "Only helpdesk agents can edit orgs" in answer["errors"]["name"]
    assert stored_org(runtime, "healthy").display_name == "Acme BV"
    assert updates(runtime) == []


async def test_a_submission_for_an_org_removed_meanwhile_gets_a_clear_answer(
    app, slack, runtime, scenario
) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    forged = json.dumps({"org": "ghost", "language": "nl", "channel": "C0HELPDESK"})
    answer = await submit(app, view, unchanged_values(name="X"), user=AGENT, metadata=forged)
    assert "Er is geen organisatie `ghost` (meer)" in answer["errors"]["name"]
    assert stored_org(runtime, "healthy").display_name == "Acme BV"


async def test_without_a_channel_or_where_the_bot_may_not_post_the_answer_is_a_dm(
    app, slack, runtime, scenario
) -> None:
    acme(runtime, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    slack.channels["C0HELPDESK"]["is_member"] = False  # ephemeral refused: not_in_channel
    await submit(app, view, unchanged_values(name="Acme 2"), user=AGENT)
    (dm,) = await slack.wait_for_async("chat.postMessage")
    assert dm.params["channel"] == AGENT
    assert "naam: Acme BV → Acme 2" in dumped(dm.params["blocks"])


async def test_the_app_home_opens_the_same_form_and_gets_its_answer_as_a_dm(
    slack, runtime, scenario
) -> None:
    """``open_edit_modal`` as the App Home's menu calls it: no channel to answer in."""
    from bot.slack.app import web_client

    acme(runtime, scenario)
    client = web_client("xoxb-test", base_url=slack.url)
    async with app_with_admin(runtime, slack) as app, runtime.afas_client() as afas:
        deps = SlackDeps(
            runtime=runtime,
            afas=afas,
            languages=ReaderLanguages(client),
            roles=Roles(client, usergroup="S0AGENTS"),
        )
        await open_edit_modal(
            client, deps, trigger_id="1337.9.home", user=AGENT, language="en", key="healthy"
        )
        (opened,) = slack.calls("views.open")
        view = opened.response["view"]
        assert json.loads(view["private_metadata"])["channel"] is None
        assert "AFAS environment *10001 (production)*" in dumped(view)
        await submit(app, view, unchanged_values(notes=""), user=AGENT)
    (dm,) = await slack.wait_for_async("chat.postMessage")
    assert dm.params["channel"] == AGENT
    assert "notes changed" in dumped(dm.params["blocks"])
    assert slack.calls("chat.postEphemeral") == []
