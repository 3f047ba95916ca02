"""``/afas remove <org>`` end to end (admins only): the confirmation naming the org and its
environment, the submission checked again, the org, its history and its token gone (from the
database's files or dump too), the audit log kept, and an open incident's alert in Slack,
posted by the real alert path, edited through the outbox to say who removed the org."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from bot.alerting.delivery import Delivery, drain_outbox
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.models import CheckRun, Incident, OutboxMessage
from storage.repository import schedule_check
from tests.bot.slack.requests import command_body
from tests.bot.slack.test_afas_command import dispatch, wait_async
from tests.bot.slack.test_rotate import (
    ADMIN,
    AGENT,
    GUEST,
    app_with_admin,
    audit,
    dumped,
    open_modal,
    register_org,
    stored_org,
    submit,
)
from tests.storage.test_token_destroyed import what_the_database_keeps

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
async def app(runtime, slack) -> AsyncIterator:
    async with app_with_admin(runtime, slack) as bolt:
        yield bolt


def count(runtime, table) -> int:
    with runtime.session() as session:
        return session.exec(select(func.count()).select_from(table)).one()


def outbox(runtime) -> list[OutboxMessage]:
    with runtime.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


async def sweep_at(runtime, org_id: int, moment: datetime) -> None:
    with runtime.session() as session:
        schedule_check(session, org_id, at=moment)
    async with runtime.afas_client() as afas:
        await sweep(runtime, afas, owner="replica-a", now=moment)


async def deliver_at(runtime, slack, moment: datetime):
    client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
    delivery = Delivery(language="nl", default_channel=None)
    return await drain_outbox(runtime, client, delivery, owner="replica-a", now=moment)


# -- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "who"), [(AGENT, "Alleen beheerders"), (GUEST, "Only admins")])
async def test_only_admins_get_the_confirmation(app, slack, runtime, scenario, user, who) -> None:
    register_org(runtime, scenario, "healthy")
    await dispatch(app, command_body(slack, "remove healthy", user=user))
    (refusal,) = await wait_async(slack, 1)
    assert who in dumped(refusal["blocks"])
    assert slack.calls("views.open") == []
    assert stored_org(runtime, "healthy") is not None


async def test_the_confirmation_names_the_org_its_environment_and_what_will_happen(
    app, slack, runtime, scenario
) -> None:
    register_org(runtime, scenario, "healthy", display_name="Acme BV")
    view = await open_modal(app, slack, "remove healthy", user=ADMIN)
    assert view["callback_id"] == "org_admin_remove"
    assert view["submit"]["text"] == "Remove"
    text = dumped(view)
    assert "*Acme BV* (`healthy`), AFAS environment *10001 (production)*" in text
    assert "This is a *production* environment" in text
    fingerprint = scenario.by_name("healthy").token().fingerprint
    assert f"the token (`{fingerprint}`) is destroyed, also from the database's files" in text
    assert "the check history and the incidents are deleted" in text
    assert "open incidents are closed" in text
    assert "the audit log is kept" in text
    assert [b for b in view["blocks"] if b["type"] == "input"] == []


@pytest.mark.parametrize(
    ("user", "who"),
    [
        (AGENT, "Alleen beheerders kunnen organisaties verwijderen"),
        (GUEST, "Only admins can remove orgs"),
    ],
)
async def test_a_forged_submission_by_a_non_admin_is_refused_and_removes_nothing(
    app, slack, runtime, scenario, user, who
) -> None:
    register_org(runtime, scenario, "healthy")
    view = await open_modal(app, slack, "remove healthy", user=ADMIN)
    answer = await submit(app, view, {}, user=user)
    assert answer["response_action"] == "update"
    assert who in dumped(answer["view"])
    assert stored_org(runtime, "healthy") is not None
    assert [e.action for e in audit(runtime, "healthy")] == ["org.registered"]


# -- the removal ---------------------------------------------------------------------------------


async def test_removing_destroys_the_token_deletes_the_history_and_keeps_the_audit_log(
    app, slack, runtime, scenario, backend
) -> None:
    org = register_org(runtime, scenario, "healthy", display_name="Acme BV")
    other = register_org(runtime, scenario, "near-miss")
    await sweep_at(runtime, org.id, T0)  # some history
    assert count(runtime, CheckRun) >= 1
    view = await open_modal(app, slack, "remove healthy", user=ADMIN)

    answer = await submit(app, view, {}, user=ADMIN)
    assert answer["response_action"] == "update"
    assert "Removing healthy" in dumped(answer["view"])
    (updated,) = await slack.wait_for_async("views.update", timeout=15)
    done = dumped(updated.params["view"])
    assert f"healthy was removed. The token (`{org.token_fingerprint}`) is destroyed" in done
    assert "its history is deleted (1 check, 0 incidents)" in done

    assert stored_org(runtime, "healthy") is None
    assert stored_org(runtime, "near-miss") is not None
    with runtime.session() as session:
        runs = session.exec(select(func.count()).select_from(CheckRun)).one()
    assert runs == 0
    events = audit(runtime, "healthy")
    assert [e.action for e in events] == ["org.registered", "org.removed"]
    assert events[-1].actor == ADMIN
    kept = what_the_database_keeps(backend, runtime.engine)
    assert org.token_ciphertext.encode() not in kept
    assert other.token_ciphertext.encode() in kept


async def test_an_open_incidents_alert_says_who_removed_the_org(
    app, slack, runtime, scenario
) -> None:
    """The alert posted by the real path (two failing sweeps, the outbox, Slack); a reminder
    written but not yet sent; then the removal: the alert is edited, its thread told, and the
    reminder about an org that is gone is never sent."""
    org = register_org(runtime, scenario, "missing-connectors", alert_channel="C0ALERTS")
    await sweep_at(runtime, org.id, T0)
    await sweep_at(runtime, org.id, T0 + timedelta(minutes=15))
    assert (await deliver_at(runtime, slack, T0 + timedelta(minutes=15))).sent == 1
    (root,) = slack.messages("C0ALERTS")
    assert any(b["type"] == "actions" for b in root["blocks"])  # the alert's buttons
    await sweep_at(runtime, org.id, T0 + timedelta(hours=25))  # a reminder is due, not sent
    assert [m.kind for m in outbox(runtime) if m.sent_at is None] == ["incident.reminder"]

    view = await open_modal(app, slack, "remove missing-connectors", user=ADMIN)
    await submit(app, view, {}, user=ADMIN)
    (updated,) = await slack.wait_for_async("views.update", timeout=15)
    assert "The open alert in Slack is being updated" in dumped(updated.params["view"])
    assert count(runtime, Incident) == 0
    (removal,) = [m for m in outbox(runtime) if m.kind == "org.removed"]
    assert removal.sent_at is None

    result = await deliver_at(runtime, slack, datetime.now(UTC))  # the removal's own time
    assert (result.sent, result.retried) == (1, 0)
    edited = next(m for m in slack.messages("C0ALERTS") if m["ts"] == root["ts"])
    text = dumped(edited["blocks"])
    assert "missing-connectors BV (missing-connectors) is verwijderd door <@U0ADMIN>" in text
    assert not any(b["type"] == "actions" for b in edited["blocks"])  # nothing left to press
    (reply,) = slack.messages("C0ALERTS", thread_ts=root["ts"])
    assert "<@U0ADMIN> heeft missing-connectors BV (missing-connectors) verwijderd" in reply["text"]
    reminder = next(m for m in outbox(runtime) if m.kind == "incident.reminder")
    assert reminder.last_error == "dropped: the org was removed"
    assert "Nog steeds kapot" not in dumped(slack.messages("C0ALERTS"))
    assert [e.action for e in audit(runtime, "missing-connectors")][-1] == "org.removed"
    removed = audit(runtime, "missing-connectors")[-1].details
    assert (removed["open_incidents_closed"], removed["messages_dropped"]) == (1, 1)


async def test_an_alert_deleted_in_slack_meanwhile_is_left_alone(
    app, slack, runtime, scenario
) -> None:
    org = register_org(runtime, scenario, "missing-connectors", alert_channel="C0ALERTS")
    await sweep_at(runtime, org.id, T0)
    await sweep_at(runtime, org.id, T0 + timedelta(minutes=15))
    await deliver_at(runtime, slack, T0 + timedelta(minutes=15))
    (root,) = slack.messages("C0ALERTS")
    web = web_client("xoxb-test", base_url=slack.url)
    await web.chat_delete(channel="C0ALERTS", ts=root["ts"])
    view = await open_modal(app, slack, "remove missing-connectors", user=ADMIN)
    await submit(app, view, {}, user=ADMIN)
    await slack.wait_for_async("views.update", timeout=15)
    result = await deliver_at(runtime, slack, datetime.now(UTC))
    assert (result.sent, result.retried, result.skipped) == (0, 0, 1)  # not retried forever
    assert slack.messages("C0ALERTS") == []


async def test_a_second_submission_for_an_org_already_removed_gets_a_clear_answer(
    app, slack, runtime, scenario
) -> None:
    register_org(runtime, scenario, "healthy")
    view = await open_modal(app, slack, "remove healthy", user=ADMIN)
    await submit(app, view, {}, user=ADMIN)
    await slack.wait_for_async("views.update", timeout=15)
    again = await submit(app, view, {}, user=ADMIN)  # a double click, or a forged replay
    assert again["response_action"] == "update"
    assert "There is no org `healthy` (any more)" in dumped(again["view"])
    assert [e.action for e in audit(runtime, "healthy")] == ["org.registered", "org.removed"]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("", "This form is damaged or out of date"),
        (json.dumps({"org": "ghost", "language": "en"}), "There is no org `ghost` (any more)"),
    ],
)
async def test_broken_or_forged_metadata_removes_nothing(
    app, slack, runtime, scenario, metadata, expected
) -> None:
    register_org(runtime, scenario, "healthy")
    view = await open_modal(app, slack, "remove healthy", user=ADMIN)
    answer = await submit(app, view, {}, user=ADMIN, metadata=metadata)
    assert expected in dumped(answer["view"])
    assert stored_org(runtime, "healthy") is not None


async def test_metadata_forged_to_name_another_org_removes_that_one_for_an_admin_only(
    app, slack, runtime, scenario
) -> None:
    """The org in the metadata is the one removed; the role check is the same for it."""
    register_org(runtime, scenario, "healthy")
    register_org(runtime, scenario, "near-miss")
    view = await open_modal(app, slack, "remove healthy", user=ADMIN)
    forged = json.dumps({"org": "near-miss", "language": "en"})
    refused = await submit(app, view, {}, user=AGENT, metadata=forged)
    assert "Alleen beheerders" in dumped(refused["view"])
    assert stored_org(runtime, "near-miss") is not None
    await submit(app, view, {}, user=ADMIN, metadata=forged)
    await slack.wait_for_async("views.update", timeout=15)
    assert stored_org(runtime, "near-miss") is None
    assert stored_org(runtime, "healthy") is not None
