"""Test exports from Slack end to end: signed requests into the real Bolt app, answers through
the Slack Web API fake, exports against the AFAS sandbox, runs recorded in the database.

The sandbox's own record of what exists (``sandbox.app.records``) is compared with what the
report in Slack lists as left behind: nothing may stay in AFAS that the report does not name.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.slack.app import create_slack_app, web_client
from bot.slack.permissions import Roles
from storage.models import AuditEvent, ExportRun
from tests.bot.slack.requests import action_body, command_body, signed
from tests.bot.slack.test_afas_command import dispatch, register, wait_async

ADMIN = "U0ADMIN"
AGENT = "U0AGENT"  # Dutch (nl-NL), a member of the agents' user group
GUEST = "U0GUEST"  # English, no role


@pytest.fixture(autouse=True)
def clean_sandbox(sandbox):
    """Records written by a live export persist in the sandbox: start and end empty."""
    sandbox.reset()
    yield
    sandbox.reset()


@pytest.fixture
async def app(runtime, slack) -> AsyncIterator:
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


# -- helpers -----------------------------------------------------------------------------------


def dumped(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def buttons(blocks: list[dict]) -> dict[str, str]:
    """action_id -> value of every button in the blocks."""
    return {
        element["action_id"]: element.get("value", "")
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


def what_exists(sandbox, name: str) -> dict[str, int]:
    return {connector: len(rows) for connector, rows in sandbox.app.records(name).items()}


def export_runs(runtime) -> list[ExportRun]:
    with runtime.session() as session:
        return list(session.exec(select(ExportRun).order_by(ExportRun.id)))


def press(slack, action_id: str, value: str, *, user: str, trigger: str = "1337.42.def") -> str:
    body = action_body(slack, action_id, value, user=user)
    return body.replace("1337.42.def", trigger)


def submission(
    view_id: str,
    values: dict[str, str] | None = None,
    *,
    user: str,
    metadata: str | None = None,
    org: str = "healthy",
) -> str:
    """A ``view_submission`` of the live export's confirmation."""
    state = {
        field: {"value": {"type": "plain_text_input", "value": value}}
        for field, value in (values or {}).items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM", "domain": "team"},
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": "1337.42.ghi",
        "view": {
            "id": view_id,
            "team_id": "T0TEAM",
            "type": "modal",
            "callback_id": "export_live_confirm",
            "private_metadata": metadata
            if metadata is not None
            else json.dumps({"org": org, "language": "en"}),
            "state": {"values": state},
            "hash": "1700000000.abc",
        },
    }
    return urlencode({"payload": json.dumps(payload)})


async def submit(app, body: str) -> dict:
    response = await dispatch(app, body, headers=signed(body))
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


async def open_confirmation(app, slack, org: str, *, user: str = ADMIN) -> dict:
    """``/afas export <org> live`` until the modal is open; the opened view."""
    await dispatch(app, command_body(slack, f"export {org} live", user=user))
    (opened,) = await slack.wait_for_async("views.open")
    return opened.response["view"]


async def run_live(app, slack, org: str, *, user: str = ADMIN, values=None) -> dict:
    """Open the confirmation, submit it, wait for the report; the report's view."""
    view = await open_confirmation(app, slack, org, user=user)
    answer = await submit(app, submission(view["id"], values, user=user, org=org))
    assert answer["response_action"] == "update"
    assert "Running the live test export" in dumped(answer["view"])
    (updated,) = await slack.wait_for_async("views.update", timeout=20)
    return updated.params["view"]


def left_behind_in(view_or_blocks) -> dict[str, int]:
    """What the report lists under "Left behind", per connector (one line per record)."""
    blocks = view_or_blocks["blocks"] if isinstance(view_or_blocks, dict) else view_or_blocks
    counts: dict[str, int] = {}
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if "Left behind in AFAS" not in text and "Achtergebleven in AFAS" not in text:
            continue
        for line in text.splitlines():
            if line.startswith(":warning: *"):
                connector = line.removeprefix(":warning: *").split("*", 1)[0]
                counts[connector] = counts.get(connector, 0) + 1
    return counts


# -- dry run -----------------------------------------------------------------------------------


async def test_an_agents_dry_run_says_running_then_ok_and_writes_nothing(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "healthy")
    response = await dispatch(app, command_body(slack, "export healthy", user=AGENT))
    assert response.status == 200
    running, report = await wait_async(slack, 2)
    assert "Bezig met een testexport (proefrun) van healthy" in dumped(running)
    assert report["response_type"] == "ephemeral" and report["replace_original"] is True
    text = dumped(report["blocks"])
    assert "Testexport healthy BV (healthy) (proefrun): in orde" in text
    for connector in ("FiEntries", "FiInvoice", "KnSubject", "KnSalesRelationOrg"):
        assert f":white_check_mark: *{connector}*" in text
    assert "Handleiding §1.2.9" in text  # the dossier destination check, not checked
    assert buttons(report["blocks"]) == {"export_live": "healthy"}  # nothing to clean up
    assert what_exists(sandbox, "healthy") == {}
    (run,) = export_runs(runtime)
    assert (run.mode, run.overall, run.requested_by) == ("dry_run", "ok", AGENT)


async def test_a_dry_run_names_the_missing_kn_subject(app, slack, runtime, scenario) -> None:
    register(runtime, scenario, "missing-connectors")
    await dispatch(app, command_body(slack, "exporteer missing-connectors", user=AGENT))
    _running, report = await wait_async(slack, 2)
    text = dumped(report["blocks"])
    assert "(proefrun): fout" in text
    assert ":x: *KnSubject*" in text and "Handleiding §1.2.4" in text


async def test_a_guests_dry_run_is_refused_naming_who_can(app, slack, runtime, scenario) -> None:
    register(runtime, scenario, "healthy")
    await dispatch(app, command_body(slack, "export healthy", user=GUEST))
    (refusal,) = await wait_async(slack, 1)
    assert "Only helpdesk agents can run test exports" in dumped(refusal)
    assert export_runs(runtime) == []


async def test_the_test_export_button_on_a_check_report(app, slack, runtime, scenario) -> None:
    register(runtime, scenario, "healthy")
    await dispatch(app, command_body(slack, "check healthy", user=GUEST))
    _checking, check = await wait_async(slack, 2)
    assert buttons(check["blocks"])["export_dry_run"] == "healthy"
    slack.clear()
    await dispatch(app, press(slack, "export_dry_run", "healthy", user=GUEST))
    (refusal,) = await wait_async(slack, 1)
    assert "Only helpdesk agents can run test exports" in dumped(refusal)
    slack.clear()
    await dispatch(app, press(slack, "export_dry_run", "healthy", user=AGENT))
    _running, report = await wait_async(slack, 2)
    assert report["replace_original"] is False  # the check report stays
    assert "(proefrun): in orde" in dumped(report["blocks"])


async def test_a_forged_button_value_is_answered(app, slack, runtime) -> None:
    await dispatch(app, press(slack, "export_dry_run", "not a key!", user=AGENT))
    (answer,) = await wait_async(slack, 1)
    assert "oud bericht" in dumped(answer)
    assert export_runs(runtime) == []


# -- live: who may -----------------------------------------------------------------------------


async def test_an_agents_live_export_on_production_is_refused_naming_admins(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "healthy")  # 10001 is a production environment
    await dispatch(app, command_body(slack, "export healthy live", user=AGENT))
    (refusal,) = await wait_async(slack, 1)
    assert "Alleen beheerders kunnen live testexports op productieomgevingen uitvoeren" in dumped(
        refusal
    )
    assert slack.calls("views.open") == []
    assert what_exists(sandbox, "healthy") == {} and export_runs(runtime) == []


async def test_a_guests_live_export_is_refused_before_the_org_is_looked_up(app, slack) -> None:
    await dispatch(app, command_body(slack, "export nobody live", user=GUEST))
    (refusal,) = await wait_async(slack, 1)
    assert "Only helpdesk agents can run test exports" in dumped(refusal)
    assert slack.calls("views.open") == []


async def test_the_confirmation_names_the_org_its_environment_and_every_record(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "healthy")
    view = await open_confirmation(app, slack, "healthy")
    text = dumped(view)
    assert view["callback_id"] == "export_live_confirm"
    assert "*healthy BV (healthy)*" in text and "*10001 (production)*" in text
    assert "This is a *production* environment" in text
    assert "Purchase relation 'AFASBOT TEST …'* (KnPurchaseRelationOrg, POST)" in text
    assert "(KnSalesRelationOrg, POST): cannot be deleted through the API" in text
    assert "(KnSubject, POST): removed again afterwards" in text
    assert "(FiInvoice, PUT)" in text
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == ["administration", "journal", "cost_account", "vat_code", "period"]
    assert json.loads(view["private_metadata"]) == {"org": "healthy", "language": "en"}
    assert what_exists(sandbox, "healthy") == {}  # nothing before the submission


async def test_an_admins_live_export_runs_on_submission_and_lists_what_it_left(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "healthy")
    report = await run_live(app, slack, "healthy")
    text = dumped(report)
    assert "Test export healthy BV (healthy) (live): OK" in text
    assert "*Values used*" in text and "administration: `1` — SBQ_Administratie" in text
    assert "*Created in AFAS*" in text and "removed again" in text
    left = left_behind_in(report)
    assert left == {"KnSalesRelationOrg": 1}
    assert what_exists(sandbox, "healthy") == left  # nothing the report does not name
    assert not [b for b in report["blocks"] if b["type"] == "actions"]  # no buttons in a modal
    (run,) = export_runs(runtime)
    assert (run.mode, run.requested_by, run.finished_at is not None) == ("live", ADMIN, True)
    with runtime.session() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.org_key == "healthy")).all()
    assert ("org.export_started", ADMIN) in [(a.action, a.actor) for a in audit]


async def test_an_agents_live_export_on_a_test_environment_is_allowed(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "test-environment")  # 10018, kind test
    report = await run_live(app, slack, "test-environment", user=AGENT)
    assert "(live): OK" in dumped(report)  # the metadata says English: the report is too
    assert what_exists(sandbox, "test-environment") == left_behind_in(report)


async def test_a_forged_submission_by_a_guest_is_refused(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "test-environment")
    answer = await submit(app, submission("V0FORGED", user=GUEST, org="test-environment"))
    assert answer["response_action"] in ("errors", "update")
    assert "Only helpdesk agents can run test exports" in dumped(answer)
    assert what_exists(sandbox, "test-environment") == {} and export_runs(runtime) == []


async def test_an_agents_forged_submission_for_production_is_refused(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "healthy")
    answer = await submit(app, submission("V0FORGED", user=AGENT, org="healthy"))
    assert "Alleen beheerders kunnen live testexports op productieomgevingen" in dumped(answer)
    assert what_exists(sandbox, "healthy") == {} and export_runs(runtime) == []


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("not json", "does not (any longer) belong to a valid org"),
        (json.dumps({"org": "<script>", "language": "en"}), "does not (any longer) belong"),
        (json.dumps({"org": "nobody", "language": "en"}), "That org does not exist"),
        (json.dumps(["healthy"]), "does not (any longer) belong"),
    ],
)
async def test_untrusted_metadata_gets_a_clear_answer(
    app, slack, runtime, scenario, sandbox, metadata, expected
) -> None:
    register(runtime, scenario, "healthy")
    body = submission("V0X", {"period": ""}, user=ADMIN, metadata=metadata)
    answer = await submit(app, body)
    assert expected in dumped(answer)
    assert export_runs(runtime) == []


async def test_bad_given_values_are_shown_next_to_their_fields_and_nothing_runs(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "healthy")
    view = await open_confirmation(app, slack, "healthy")
    pasted = scenario.by_name("healthy").token().reveal_data()  # a token pasted into a field
    answer = await submit(
        app,
        submission(
            view["id"],
            {"administration": "one", "period": "next month", "journal": pasted},
            user=ADMIN,
        ),
    )
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"administration", "period", "journal"}
    assert "AFAS token" in answer["errors"]["journal"] and pasted not in dumped(answer)
    assert slack.calls("views.update") == []
    assert what_exists(sandbox, "healthy") == {} and export_runs(runtime) == []


async def test_values_the_bot_cannot_determine_bring_the_form_back_saying_which(
    app, slack, runtime, scenario, sandbox
) -> None:
    register(runtime, scenario, "export-all-periods-blocked")
    view = await run_live(app, slack, "export-all-periods-blocked")
    assert view["callback_id"] == "export_live_confirm"  # the form again
    text = dumped(view)
    assert "Nothing was written. Give these values" in text and "CaseWare_Periods" in text
    assert what_exists(sandbox, "export-all-periods-blocked") == {}


# -- clean-up ----------------------------------------------------------------------------------


async def test_the_clean_up_button_finishes_a_run_whose_answer_was_lost(
    app, slack, runtime, scenario, sandbox
) -> None:
    name = "export-timeout-after-write"  # 10027, production
    register(runtime, scenario, name)
    report = await run_live(app, slack, name)
    assert "/afas export export-timeout-after-write cleanup" in dumped(report)
    assert export_runs(runtime)[0].finished_at is None  # the clean-up is owed
    slack.clear()
    # A second live export is not started: the unfinished one is pointed to, with the button.
    await dispatch(app, command_body(slack, f"export {name} live", user=ADMIN))
    (busy,) = await wait_async(slack, 1)
    assert "is unfinished" in dumped(busy) and slack.calls("views.open") == []
    assert buttons(busy["blocks"]) == {"export_cleanup": name}
    slack.clear()
    # An agent may not clean up a production run; the admin may.
    await dispatch(app, press(slack, "export_cleanup", name, user=AGENT))
    (refusal,) = await wait_async(slack, 1)
    assert "Alleen beheerders kunnen live testexports op productieomgevingen opruimen" in dumped(
        refusal
    )
    slack.clear()
    await dispatch(app, press(slack, "export_cleanup", name, user=ADMIN))
    cleaning, cleaned = await wait_async(slack, 2, timeout=20)
    assert "Cleaning up the interrupted live test export" in dumped(cleaning)
    assert what_exists(sandbox, name) == left_behind_in(cleaned["blocks"])
    assert "export_cleanup" not in buttons(cleaned["blocks"])  # nothing owed any more
    assert all(run.finished_at is not None for run in export_runs(runtime))
    slack.clear()
    await dispatch(app, command_body(slack, f"export {name} cleanup", user=ADMIN))
    answers = await wait_async(slack, 2)
    assert "has no interrupted live test export" in dumped(answers[-1])


# -- secrets -----------------------------------------------------------------------------------


async def test_no_token_in_any_slack_call(app, slack, runtime, scenario, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    register(runtime, scenario, "healthy", "test-environment")
    await dispatch(app, command_body(slack, "export healthy", user=AGENT))
    await wait_async(slack, 2)
    await run_live(app, slack, "healthy")
    sent = json.dumps(
        [payload for _label, payload in slack.responses] + [call.params for call in slack.calls()]
    )
    for name in ("healthy", "test-environment"):
        token = scenario.by_name(name).token()
        for secret in (
            token.reveal_data(),
            token.xml,
            base64.b64encode(token.xml.encode()).decode(),
        ):
            assert secret not in sent
            assert secret not in caplog.text
    assert "<token>" not in sent
