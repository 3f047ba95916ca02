"""``/afas`` end to end: signed requests into the real Bolt app, answers through the Slack Web
API fake, checks against the AFAS sandbox, records in the database."""

from __future__ import annotations

import json
import time

import httpx
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlmodel import select

from bot.health import Readiness
from bot.serving import Server
from storage.models import AuditEvent, CheckRun
from storage.repository import add_org
from tests.bot.slack.requests import action_body, command_body, signed


async def dispatch(bolt, body: str, headers: dict[str, str] | None = None):
    request = AsyncBoltRequest(body=body, headers=headers or signed(body))
    return await bolt.async_dispatch(request)


def register(runtime, scenario, *names: str) -> None:
    with runtime.session() as session:
        for name in names:
            env = scenario.by_name(name)
            add_org(
                session,
                key=name,
                display_name=f"{name} BV",
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
            )


def responses(slack) -> list[dict]:
    return [payload for _label, payload in slack.responses]


def wait_responses(slack, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(slack.responses) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(slack.responses) >= count, responses(slack)
    return responses(slack)


async def wait_async(slack, count: int, timeout: float = 10.0) -> list[dict]:
    import asyncio

    deadline = time.monotonic() + timeout
    while len(slack.responses) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert len(slack.responses) >= count, responses(slack)
    return responses(slack)


async def test_check_acks_at_once_then_answers_with_the_report_in_dutch(
    bolt, slack, runtime, scenario
) -> None:
    register(runtime, scenario, "near-miss")
    started = time.monotonic()
    response = await dispatch(bolt, command_body(slack, "check near-miss"))
    assert response.status == 200
    assert time.monotonic() - started < 3  # acknowledged within Slack's 3 seconds
    checking, report = await wait_async(slack, 2)
    assert checking["response_type"] == "ephemeral"
    assert report["replace_original"] is True
    dumped = json.dumps(report["blocks"], ensure_ascii=False)
    assert "SBQ_Kostenplaatsen_All gevonden, verwacht SBQ_Kostenplaasten_All" in dumped
    with runtime.session() as session:
        runs = session.exec(select(CheckRun)).all()
        audits = session.exec(select(AuditEvent).where(AuditEvent.action == "org.checked")).all()
    assert [r.trigger for r in runs] == ["command"]
    assert [a.actor for a in audits] == ["U0AGENT"]


async def test_an_english_reader_gets_english(bolt, slack, runtime, scenario) -> None:
    register(runtime, scenario, "missing-connectors")
    await dispatch(bolt, command_body(slack, "check missing-connectors", user="U0GUEST"))
    _checking, report = await wait_async(slack, 2)
    dumped = json.dumps(report["blocks"])
    assert "is not in the App Connector" in dumped and "SBQ_BTW.gcn" in dumped


async def test_an_unknown_org_gets_suggestions(bolt, slack, runtime, scenario) -> None:
    register(runtime, scenario, "healthy")
    await dispatch(bolt, command_body(slack, "check helthy", user="U0GUEST"))
    answers = await wait_async(slack, 2)
    assert "healthy" in json.dumps(answers[-1]["blocks"])
    with runtime.session() as session:
        assert session.exec(select(CheckRun)).all() == []


async def test_status_lists_orgs_worst_first(bolt, slack, runtime, scenario) -> None:
    register(runtime, scenario, "healthy", "revoked-token")
    await dispatch(bolt, command_body(slack, "check revoked-token", user="U0GUEST"))
    await wait_async(slack, 2)
    slack.clear()
    await dispatch(bolt, command_body(slack, "status", user="U0GUEST"))
    (status,) = await wait_async(slack, 1)
    dumped = json.dumps(status["blocks"])
    assert "*revoked-token*" in dumped and "*healthy*" in dumped
    assert dumped.index("*revoked-token*") < dumped.index("*healthy*")  # failing first


async def test_help_and_bad_input(bolt, slack, runtime, scenario) -> None:
    await dispatch(bolt, command_body(slack, "help", user="U0GUEST"))
    (help_answer,) = await wait_async(slack, 1)
    assert "/afas check" in json.dumps(help_answer["blocks"])
    slack.clear()
    pasted = "<token><version>1</version><data>" + "AB" * 32 + "</data></token>"
    await dispatch(bolt, command_body(slack, f"check {pasted}", user="U0GUEST"))
    (error,) = await wait_async(slack, 1)
    assert "AB" * 32 not in json.dumps(error)  # never echoes what was typed


async def test_a_bad_signature_is_refused(bolt, slack) -> None:
    body = command_body(slack, "status")
    response = await dispatch(bolt, body, headers=signed(body, secret="wrong"))
    assert response.status == 401
    stale = await dispatch(bolt, body, headers=signed(body, age=600))
    assert stale.status == 401
    assert slack.responses == []


async def test_http_mode_serves_signed_requests_on_loopback(bolt, slack, runtime, scenario):
    register(runtime, scenario, "healthy")
    runner = Server(
        Readiness(runtime, tick_seconds=30), host="127.0.0.1", port=0, app=bolt, mode="http"
    )
    await runner.start()
    try:
        body = command_body(slack, "check healthy", user="U0GUEST")
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"http://127.0.0.1:{runner.port}/slack/events", content=body, headers=signed(body)
            )
            refused = await http.post(
                f"http://127.0.0.1:{runner.port}/slack/events",
                content=body,
                headers=signed(body, secret="wrong"),
            )
        assert answer.status_code == 200 and refused.status_code == 401
        _checking, report = await wait_async(slack, 2)
        assert "healthy" in json.dumps(report["blocks"])
    finally:
        await runner.stop()


async def test_the_deep_check_button_replaces_the_report(bolt, slack, runtime, scenario) -> None:
    register(runtime, scenario, "broken-definition")
    response = await dispatch(bolt, action_body(slack, "recheck_deep", "broken-definition"))
    assert response.status == 200
    _checking, report = await wait_async(slack, 2)
    assert report["replace_original"] is True
    assert "SBQ_Transactie" in json.dumps(report["blocks"])  # the blocked definition, deep only
    with runtime.session() as session:
        assert [r.overall_state for r in session.exec(select(CheckRun))] == ["failing"]


async def test_no_token_reaches_slack(bolt, slack, runtime, scenario, caplog) -> None:
    import base64
    import logging

    caplog.set_level(logging.DEBUG)
    register(runtime, scenario, "healthy", "near-miss")
    for text in ("check healthy", "check near-miss deep", "status"):
        before = len(slack.responses)
        await dispatch(bolt, command_body(slack, text, user="U0GUEST"))
        await wait_async(slack, before + (1 if text == "status" else 2))
    sent = json.dumps(
        [payload for _label, payload in slack.responses] + [call.params for call in slack.calls()]
    )
    for name in ("healthy", "near-miss"):
        token = scenario.by_name(name).token()
        for secret in (
            token.reveal_data(),
            token.xml,
            base64.b64encode(token.xml.encode()).decode(),
        ):
            assert secret not in sent
            assert secret not in caplog.text


async def test_an_unknown_subcommand_gets_the_closest_one_and_the_usage(bolt, slack) -> None:
    await dispatch(bolt, command_body(slack, "stauts", user="U0GUEST"))
    (answer,) = await wait_async(slack, 1)
    text = json.dumps(answer["blocks"])
    assert "`stauts`" in text and "Did you mean `status`?" in text
    assert "`/afas check" in text  # the usage follows


async def test_a_pasted_token_as_a_subcommand_is_neither_echoed_nor_suggested(
    bolt, slack, scenario
) -> None:
    token = scenario.by_name("healthy").token()
    await dispatch(bolt, command_body(slack, token.reveal_data(), user="U0GUEST"))
    (answer,) = await wait_async(slack, 1)
    text = json.dumps(answer)
    assert token.reveal_data()[:16] not in text and "rotate" in text


async def test_history_lists_the_latest_checks_and_the_incidents_of_30_days(
    bolt, slack, runtime, scenario
) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.repository import close_incident, get_org, open_incident

    register(runtime, scenario, "revoked-token")
    await dispatch(bolt, command_body(slack, "check revoked-token", user="U0GUEST"))
    await wait_async(slack, 2)
    now = datetime.now(UTC)
    with runtime.session() as session:
        org = get_org(session, "revoked-token")
        old, _ = open_incident(session, org, kind="old", opened_at=now - timedelta(days=40))
        close_incident(session, old.id, closed_at=now - timedelta(days=39))
        done, _ = open_incident(session, org, kind="org", opened_at=now - timedelta(hours=5))
        close_incident(session, done.id, closed_at=now - timedelta(hours=3))
        open_incident(session, org, kind="org", opened_at=now - timedelta(minutes=30))
    slack.clear()
    await dispatch(bolt, command_body(slack, "history revoked-token", user="U0GUEST"))
    (answer,) = await wait_async(slack, 1)
    text = json.dumps(answer["blocks"])
    assert "on request" in text and "Failing" in text  # the check: why and its state
    assert "lasted 2 h" in text and "still open" in text
    assert text.count("UTC") == 3  # one check and two incidents; the 40-day-old one is left out


async def test_history_of_an_unknown_org_names_the_known_ones(bolt, slack, runtime, scenario):
    register(runtime, scenario, "healthy")
    await dispatch(bolt, command_body(slack, "geschiedenis helthy", user="U0AGENT"))
    (answer,) = await wait_async(slack, 1)
    assert "healthy" in json.dumps(answer["blocks"])
