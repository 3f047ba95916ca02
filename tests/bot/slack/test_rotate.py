"""``/afas rotate <org>`` end to end: signed requests into the real Bolt app, the modal and its
views through the Slack Web API fake, the new token verified against the AFAS sandbox, and the
database (rows, audit, and the files or dump) asserted afterwards.

Also the helpers ``test_edit`` and ``test_remove`` share: the app with an admin, a submission
of a modal as Slack sends it, registering an org with a token of our choosing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from afas.tokens import AfasToken
from bot.slack.app import create_slack_app, web_client
from bot.slack.permissions import Roles
from storage.models import AuditEvent, CheckRun, Org
from storage.repository import add_org
from tests.bot.slack.requests import command_body, signed
from tests.bot.slack.test_afas_command import dispatch, wait_async
from tests.storage.test_token_destroyed import what_the_database_keeps

ADMIN = "U0ADMIN"  # English (en-GB), configured as admin
AGENT = "U0AGENT"  # Dutch (nl-NL), a member of the agents' user group
GUEST = "U0GUEST"  # English, no role


# -- shared helpers ------------------------------------------------------------------------------


@asynccontextmanager
async def app_with_admin(runtime, slack) -> AsyncIterator:
    """The real Bolt app with an admin configured besides the agents' user group."""
    slack.users[ADMIN] = {"id": ADMIN, "name": "lead", "locale": "en-GB"}
    client = web_client("xoxb-test", base_url=slack.url)
    async with runtime.afas_client() as afas:
        yield create_slack_app(
            runtime,
            afas,
            client=client,
            signing_secret="test-signing-secret",
            roles=Roles(client, usergroup="S0AGENTS", admins=frozenset({ADMIN})),
        )


@pytest.fixture
async def app(runtime, slack) -> AsyncIterator:
    async with app_with_admin(runtime, slack) as bolt:
        yield bolt


def token_of(seed: str) -> AfasToken:
    """A well-formed token no sandbox environment accepts (an old, revoked one)."""
    return AfasToken.parse(hashlib.sha256(seed.encode()).hexdigest().upper())


def register_org(runtime, scenario, name: str, *, token: AfasToken | None = None, **fields) -> Org:
    """Register ``name`` in its sandbox environment, with ``token`` (default: its own)."""
    env = scenario.by_name(name)
    with runtime.session() as session:
        return add_org(
            session,
            key=name,
            display_name=fields.pop("display_name", f"{name} BV"),
            environment=env.environment(),
            token=token or env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            **fields,
        ).org


def stored_org(runtime, key: str) -> Org | None:
    with runtime.session() as session:
        return session.exec(select(Org).where(Org.key == key)).first()


def audit(runtime, key: str) -> list[AuditEvent]:
    with runtime.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.org_key == key)))


def entry(block: str, value) -> dict:
    """One input's state as Slack sends it, by the block ids our modals use."""
    if block == "channel":
        return {"type": "conversations_select", "selected_conversation": value}
    if block == "owner":
        return {"type": "users_select", "selected_user": value}
    if block == "interval":
        return {"type": "static_select", "selected_option": {"value": value} if value else None}
    return {"type": "plain_text_input", "value": value}


def submission(view: dict, values: dict, *, user: str, metadata: str | None = None) -> str:
    """A ``view_submission`` of ``view`` (as Slack stored it) with these input values."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM", "domain": "team"},
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": "1337.42.ghi",
        "view": {
            "id": view["id"],
            "team_id": "T0TEAM",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"] if metadata is None else metadata,
            "blocks": view["blocks"],
            "state": {"values": {block: {"value": entry(block, v)} for block, v in values.items()}},
            "hash": view["hash"],
        },
    }
    return urlencode({"payload": json.dumps(payload)})


async def submit(app, view: dict, values: dict, *, user: str, metadata: str | None = None):
    body = submission(view, values, user=user, metadata=metadata)
    response = await dispatch(app, body, headers=signed(body))
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


async def open_modal(app, slack, text: str, *, user: str) -> dict:
    """``/afas <text>`` until its modal is open: the view as Slack stored it."""
    before = len(slack.calls("views.open"))
    body = command_body(slack, text, user=user).replace("1337.42.abc", f"1337.{before}.abc")
    await dispatch(app, body)
    opened = await slack.wait_for_async("views.open", count=before + 1)
    return opened[-1].response["view"]


def dumped(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def forms(token: AfasToken) -> list[str]:
    data = token.reveal_data()
    return [data, data.lower(), token.xml, base64.b64encode(token.xml.encode()).decode()]


# -- opening the form ----------------------------------------------------------------------------


async def test_an_agent_gets_the_token_field_only_with_the_org_and_its_environment(
    app, slack, runtime, scenario
) -> None:
    old = token_of("old")
    register_org(runtime, scenario, "healthy", token=old)
    view = await open_modal(app, slack, "rotate healthy", user=AGENT)
    assert view["callback_id"] == "org_admin_rotate"
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["token"]
    assert "initial_value" not in inputs[0]["element"]
    text = dumped(view)
    assert "*healthy BV* (`healthy`), AFAS-omgeving *10001 (productie)*" in text  # Dutch reader
    assert old.fingerprint in text  # the current token, by its fingerprint only
    assert json.loads(view["private_metadata"]) == {
        "org": "healthy",
        "language": "nl",
        "channel": "C0HELPDESK",
    }


async def test_an_admin_may_rotate_too(app, slack, runtime, scenario) -> None:
    register_org(runtime, scenario, "healthy", token=token_of("old"))
    view = await open_modal(app, slack, "rotate healthy", user=ADMIN)
    new = scenario.by_name("healthy").token()
    await submit(app, view, {"token": new.reveal_data()}, user=ADMIN)  # the bare data form
    (updated,) = await slack.wait_for_async("views.update", timeout=15)
    assert f"new token `{new.fingerprint}`" in dumped(updated.params["view"])
    assert stored_org(runtime, "healthy").token_fingerprint == new.fingerprint


async def test_a_guest_is_refused_naming_who_may_and_no_form_opens(
    app, slack, runtime, scenario
) -> None:
    register_org(runtime, scenario, "healthy")
    await dispatch(app, command_body(slack, "rotate healthy", user=GUEST))
    (refusal,) = await wait_async(slack, 1)
    assert "Only helpdesk agents can replace tokens" in dumped(refusal["blocks"])
    assert slack.calls("views.open") == []


async def test_an_unknown_org_names_the_nearest_keys(app, slack, runtime, scenario) -> None:
    register_org(runtime, scenario, "healthy")
    await dispatch(app, command_body(slack, "rotate healty", user=AGENT))
    (answer,) = await wait_async(slack, 1)
    assert "`healthy`" in dumped(answer["blocks"])
    assert slack.calls("views.open") == []


# -- the submission ------------------------------------------------------------------------------


async def test_a_verified_token_replaces_the_old_one_which_is_destroyed(
    app, slack, runtime, scenario, backend, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    old = token_of("old")
    old_ciphertext = register_org(runtime, scenario, "healthy", token=old).token_ciphertext
    new = scenario.by_name("healthy").token()
    view = await open_modal(app, slack, "rotate healthy", user=AGENT)
    # Pasted as its Base64 form: the registration's token forms are accepted here too.
    pasted = base64.b64encode(new.xml.encode()).decode()
    answer = await submit(app, view, {"token": pasted}, user=AGENT)

    assert answer["response_action"] == "update"
    assert "wordt bij AFAS-omgeving 10001 (productie) getest" in dumped(answer["view"])
    (updated,) = await slack.wait_for_async("views.update", timeout=15)
    done = dumped(updated.params["view"])
    assert f"nieuw token `{new.fingerprint}`" in done
    assert f"Het oude token (`{old.fingerprint}`) is vernietigd" in done
    assert "Wat de controle met het nieuwe token vond" in done

    org = stored_org(runtime, "healthy")
    assert org.token_fingerprint == new.fingerprint
    assert org.token_ciphertext != old_ciphertext
    (event,) = [e for e in audit(runtime, "healthy") if e.action == "org.token_replaced"]
    assert event.actor == AGENT
    assert (event.details["previous_fingerprint"], event.details["fingerprint"]) == (
        old.fingerprint,
        new.fingerprint,
    )
    with runtime.session() as session:
        runs = list(session.exec(select(CheckRun).where(CheckRun.org_id == org.id)))
    assert [r.trigger for r in runs] == ["registration"]

    kept = what_the_database_keeps(backend, runtime.engine)
    assert org.token_ciphertext.encode() in kept
    assert old_ciphertext.encode() not in kept
    sent = dumped([c.params for c in slack.calls()]) + dumped(slack.responses) + caplog.text
    for secret in forms(new) + forms(old):
        assert secret not in sent


@pytest.mark.parametrize("name", ["revoked-token", "near-miss"])
async def test_a_token_afas_refuses_shows_the_form_again_and_keeps_the_current_one(
    app, slack, runtime, scenario, name
) -> None:
    current = register_org(runtime, scenario, "healthy")
    refused = scenario.by_name(name).token()  # revoked, or another environment's
    view = await open_modal(app, slack, "rotate healthy", user=AGENT)
    answer = await submit(app, view, {"token": refused.xml}, user=AGENT)
    assert answer["response_action"] == "update"
    (updated,) = await slack.wait_for_async("views.update", timeout=15)
    again = updated.params["view"]
    text = dumped(again)
    assert again["callback_id"] == "org_admin_rotate"
    assert "AFAS accepteerde dit token niet; het huidige token blijft in gebruik" in text
    (token_input,) = [b for b in again["blocks"] if b["type"] == "input"]
    assert "initial_value" not in token_input["element"]
    for secret in forms(refused):
        assert secret not in text
    org = stored_org(runtime, "healthy")
    assert org.token_ciphertext == current.token_ciphertext
    assert [e.action for e in audit(runtime, "healthy")] == ["org.registered"]


async def test_something_that_is_not_a_token_is_refused_next_to_the_field(
    app, slack, runtime, scenario
) -> None:
    current = register_org(runtime, scenario, "healthy")
    view = await open_modal(app, slack, "rotate healthy", user=AGENT)
    pasted = "my password is hunter2 " + "AB" * 8
    answer = await submit(app, view, {"token": pasted}, user=AGENT)
    assert answer == {"response_action": "errors", "errors": {"token": answer["errors"]["token"]}}
    assert "Dit is geen AFAS-token" in answer["errors"]["token"]
    assert pasted not in dumped(answer)
    assert stored_org(runtime, "healthy").token_ciphertext == current.token_ciphertext
    assert slack.calls("views.update") == []


async def test_a_guests_forged_submission_is_refused_and_changes_nothing(
    app, slack, runtime, scenario
) -> None:
    current = register_org(runtime, scenario, "healthy", token=token_of("old"))
    view = await open_modal(app, slack, "rotate healthy", user=AGENT)
    new = scenario.by_name("healthy").token()
    answer = await submit(app, view, {"token": new.xml}, user=GUEST)
    assert answer["response_action"] == "errors"
    assert "Only helpdesk agents can replace tokens" in answer["errors"]["token"]
    assert stored_org(runtime, "healthy").token_ciphertext == current.token_ciphertext
    assert [e.action for e in audit(runtime, "healthy")] == ["org.registered"]


async def test_metadata_forged_to_name_another_org_rotates_that_one_only_if_afas_agrees(
    app, slack, runtime, scenario
) -> None:
    """The metadata's org is the one rotated: its own environment decides, so a token for one
    org cannot be planted in another."""
    healthy = register_org(runtime, scenario, "healthy", token=token_of("old"))
    other = register_org(runtime, scenario, "near-miss")
    view = await open_modal(app, slack, "rotate healthy", user=AGENT)
    forged = json.dumps({"org": "near-miss", "language": "en", "channel": "C0HELPDESK"})
    answer = await submit(
        app, view, {"token": scenario.by_name("healthy").token().xml}, user=AGENT, metadata=forged
    )
    assert "environment 10003" in dumped(answer["view"])  # near-miss's own environment
    (updated,) = await slack.wait_for_async("views.update", timeout=15)
    assert "AFAS did not accept this token" in dumped(updated.params["view"])
    assert stored_org(runtime, "near-miss").token_ciphertext == other.token_ciphertext
    assert stored_org(runtime, "healthy").token_ciphertext == healthy.token_ciphertext


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("{not json", "This form is damaged or out of date"),
        (json.dumps(["healthy"]), "This form is damaged or out of date"),
        (json.dumps({"org": "../../etc", "language": "en"}), "This form is damaged or out of date"),
        (json.dumps({"org": "ghost", "language": "en"}), "There is no org `ghost` (any more)"),
    ],
)
async def test_broken_or_forged_metadata_gets_a_clear_answer_and_changes_nothing(
    app, slack, runtime, scenario, metadata, expected
) -> None:
    slack.users[AGENT]["locale"] = "en-US"
    current = register_org(runtime, scenario, "healthy", token=token_of("old"))
    view = await open_modal(app, slack, "rotate healthy", user=AGENT)
    new = scenario.by_name("healthy").token()
    answer = await submit(app, view, {"token": new.xml}, user=AGENT, metadata=metadata)
    assert answer["response_action"] == "errors"
    assert expected in answer["errors"]["token"]
    assert stored_org(runtime, "healthy").token_ciphertext == current.token_ciphertext
    assert slack.calls("views.update") == []
