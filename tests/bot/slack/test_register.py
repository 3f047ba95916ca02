"""Registering an org from Slack: ``/afas register`` opens the form (agents only); the
submission is checked field by field, the token verified live, stored only encrypted."""

from __future__ import annotations

import base64
import json

import pytest
from sqlmodel import select

from storage.models import AuditEvent, Org
from tests.bot.slack.requests import command_body, signed, submission_body
from tests.bot.slack.test_afas_command import dispatch, wait_async


async def open_form(bolt, slack, user: str = "U0AGENT") -> str:
    await dispatch(bolt, command_body(slack, "register", user=user))
    (opened,) = await slack.wait_for_async("views.open")
    return opened.response["view"]["id"]


def fields(scenario, env_name: str, **overrides) -> dict:
    env = scenario.by_name(env_name)
    values = {
        "key": env_name,
        "name": f"{env_name} BV",
        "environment": env.number,
        "kind": env.kind.value,
        "token": env.token().xml,
        "replace": False,
        "channel": "C0ALERTS",
        "owner": "U0AGENT",
        "notes": "registered from Slack",
    }
    return {**values, **overrides}


async def submit(bolt, view_id: str, values: dict, user: str = "U0AGENT"):
    body = submission_body(view_id, values, user=user)
    response = await dispatch(bolt, body, headers=signed(body))
    return response, json.loads(response.body) if response.body else {}


def org_rows(runtime) -> list[Org]:
    with runtime.session() as session:
        return list(session.exec(select(Org)))


async def test_only_agents_may_open_the_form(bolt, slack) -> None:
    response = await dispatch(bolt, command_body(slack, "register", user="U0GUEST"))
    # Acknowledged as such: a refusal raised right after the ack must not make Bolt clear the
    # acknowledgement and answer Slack with an error after 3 seconds.
    assert response.status == 200
    (refusal,) = await wait_async(slack, 1)
    assert "Only helpdesk agents can register orgs" in json.dumps(refusal["blocks"])
    assert slack.calls("views.open") == []


async def test_an_agent_gets_the_form_in_dutch_with_an_empty_token_field(bolt, slack) -> None:
    await open_form(bolt, slack)
    (opened,) = slack.calls("views.open")
    view = opened.params["view"]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert view["callback_id"] == "register_org"
    assert {"key", "name", "environment", "kind", "token", "channel", "owner", "notes"} <= set(
        blocks
    )
    assert blocks["token"]["label"]["text"] == "Token"
    assert "initial_value" not in blocks["token"]["element"]
    assert "Sleutel" in json.dumps(view, ensure_ascii=False)


async def test_bad_fields_are_shown_next_to_each_field_and_nothing_is_stored(
    bolt, slack, runtime, scenario
) -> None:
    view_id = await open_form(bolt, slack)
    pasted = "this is not a token " + "AB" * 10
    response, answer = await submit(
        bolt,
        view_id,
        fields(
            scenario,
            "healthy",
            key="Bad Key!",
            environment="T10001AA",
            kind="production",
            token=pasted,
            name="",
        ),
    )
    assert response.status == 200
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"key", "name", "environment", "token"}
    assert "kies de soort die bij de code past" in answer["errors"]["environment"]
    assert pasted not in json.dumps(answer)
    assert org_rows(runtime) == []


async def test_a_valid_form_is_verified_then_stored_encrypted(
    bolt, slack, runtime, scenario, caplog
) -> None:
    view_id = await open_form(bolt, slack)
    _response, answer = await submit(bolt, view_id, fields(scenario, "missing-connectors"))
    assert answer["response_action"] == "update"
    assert "gecontroleerd" in json.dumps(answer["view"], ensure_ascii=False)
    (updated,) = await slack.wait_for_async("views.update")
    done = json.dumps(updated.params["view"], ensure_ascii=False)
    token = scenario.by_name("missing-connectors").token()
    assert f"missing-connectors is geregistreerd (token {token.fingerprint})" in done
    assert "SBQ_BTW" in done  # what the setup still lacks
    (org,) = org_rows(runtime)
    assert (org.key, org.alert_channel, org.cs_owner) == (
        "missing-connectors",
        "C0ALERTS",
        "U0AGENT",
    )
    assert org.token_ciphertext.startswith("gAAAAA")
    with runtime.session() as session:
        audit = session.exec(select(AuditEvent)).all()
    assert [(a.actor, a.action) for a in audit] == [("U0AGENT", "org.registered")]
    sent = json.dumps([c.params for c in slack.calls()]) + caplog.text
    for secret in (token.reveal_data(), token.xml, base64.b64encode(token.xml.encode()).decode()):
        assert secret not in sent


@pytest.mark.parametrize("name", ["revoked-token", "ip-restricted", "maintenance"])
async def test_a_token_afas_refuses_shows_the_form_again_without_it(
    bolt, slack, runtime, scenario, name
) -> None:
    view_id = await open_form(bolt, slack)
    _response, answer = await submit(bolt, view_id, fields(scenario, name))
    assert answer["response_action"] == "update"
    (updated,) = await slack.wait_for_async("views.update")
    view = updated.params["view"]
    text = json.dumps(view, ensure_ascii=False)
    assert "AFAS accepteerde dit token niet, er is niets opgeslagen" in text
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["key"]["element"]["initial_value"] == name  # the rest is kept
    assert "initial_value" not in blocks["token"]["element"]  # the token is not
    assert scenario.by_name(name).token().reveal_data() not in text
    assert org_rows(runtime) == []


async def test_an_existing_key_needs_the_replace_box(bolt, slack, runtime, scenario) -> None:
    view_id = await open_form(bolt, slack)
    await submit(bolt, view_id, fields(scenario, "healthy"))
    await slack.wait_for_async("views.update")
    again = await open_form_again(bolt, slack)
    _response, answer = await submit(bolt, again, fields(scenario, "healthy"))
    assert answer == {
        "response_action": "errors",
        "errors": {"replace": answer["errors"]["replace"]},
    }
    assert "al geregistreerd" in answer["errors"]["replace"]
    _response, replaced = await submit(bolt, again, fields(scenario, "healthy", replace=True))
    assert replaced["response_action"] == "update"
    updates = await slack.wait_for_async("views.update", count=2)
    assert "Het token van healthy is vervangen" in json.dumps(
        updates[-1].params["view"], ensure_ascii=False
    )
    assert len(org_rows(runtime)) == 1


async def open_form_again(bolt, slack) -> str:
    before = len(slack.calls("views.open"))
    body = command_body(slack, "register", user="U0AGENT")
    body = body.replace("1337.42.abc", "1337.43.abc")  # a fresh trigger id
    await dispatch(bolt, body)
    opened = await slack.wait_for_async("views.open", count=before + 1)
    return opened[-1].response["view"]["id"]


async def test_a_submission_from_someone_not_an_agent_is_refused(
    bolt, slack, runtime, scenario
) -> None:
    view_id = await open_form(bolt, slack)
    _response, answer = await submit(bolt, view_id, fields(scenario, "healthy"), user="U0GUEST")
    assert answer["response_action"] == "errors"
    assert "Only helpdesk agents" in answer["errors"]["key"] or "helpdesk" in json.dumps(answer)
    assert org_rows(runtime) == []
