"""Drift (issue 10 §3): the first healthy deep check stores each connector's fields as the
org's baseline; a later daily deep check that finds a field removed, renamed or retyped posts
the difference once; agents accept it as the new baseline with the warning's button (through
the real Bolt listener, signed requests); guests and stale buttons are refused. Against the
AFAS sandbox, whose connectors a test edits as a customer's AFAS administrator would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from slack_bolt.async_app import AsyncApp
from sqlmodel import select

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from bot.alerting.drift import DRIFT_CLEARED, DRIFT_FOUND, DriftFound, deep_due
from bot.alerting.drift_diff import Drift, compare
from bot.blocks.warnings import ACCEPT_ACTION, drift_blocks
from bot.i18n import t
from bot.slack.app import web_client
from bot.slack.errors import register_error_handler
from bot.slack.listeners import SlackDeps
from bot.slack.listeners import drift as drift_listener
from bot.slack.locale import ReaderLanguages
from bot.slack.permissions import Roles
from storage.models import AuditEvent, Org
from tests.bot.alerting.warnings_world import (
    T0,
    World,
    add_acme,
    buttons,
    replies,
    text_of,
    top_level,
)
from tests.bot.blocks.helpers import assert_within_slack_limits, contexts, header, sections
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.test_afas_command import dispatch, wait_async
from tests.bot.slack.test_alert_buttons import button
from tests.fakes.slack import SlackWebApiFake

DAY = timedelta(hours=24)


# -- the comparison (pure) -------------------------------------------------------------------


def snap(kind: str = "get", **fields: tuple[str, str]) -> dict:
    """A connector's snapshot: field -> (type, label)."""
    return {
        "kind": kind,
        "types": {f: v[0] for f, v in fields.items()},
        "labels": {f: v[1] for f, v in fields.items() if v[1]},
    }


BASE = {
    "SBQ_Debiteuren": snap(
        DebtorId=("string", "Debiteurnummer"),
        Name=("string", "Naam"),
        Percentage=("decimal", "Percentage"),
        Blocked=("boolean", "Geblokkeerd"),
        Amount=("decimal", "Bedrag"),
    ),
    "FiEntries": snap(
        "update", Year=("int", "Boekjaar"), **{"FiEntries.BpDa": ("date", "Boekdatum")}
    ),
}


def test_removed_added_retyped_and_renamed_fields_per_connector() -> None:
    latest = {
        "SBQ_Debiteuren": snap(
            DebtorNr=("string", "Debiteur"),  # a close id, same type: renamed
            Name=("int", "Naam"),  # same id, other type: retyped
            Rate=("decimal", "Percentage"),  # a far id, the same label: renamed
            Notes=("string", "Notities"),  # new, unrelated: added
            AmountText=("string", "Bedrag"),  # same label, other type: not a rename
        ),
        "FiEntries": snap(
            "update", Year=("int", "Boekjaar"), **{"FiEntries.BpDt": ("date", "Boekdatum")}
        ),
    }
    drift = compare(BASE, latest)
    debtors, entries = drift.connectors
    assert debtors.removed == ("Blocked", "Amount")
    assert [(r.old, r.new) for r in debtors.renamed] == [
        ("DebtorId", "DebtorNr"),
        ("Percentage", "Rate"),
    ]
    assert [(r.field, r.old, r.new) for r in debtors.retyped] == [("Name", "string", "int")]
    assert debtors.added == ("Notes", "AmountText")
    assert [(r.old, r.new) for r in entries.renamed] == [("FiEntries.BpDa", "FiEntries.BpDt")]
    assert entries.kind == "update" and debtors.breaking and entries.breaking


def test_a_field_moved_to_another_object_is_not_a_rename() -> None:
    latest = {"FiEntries": snap("update", Year=("int", "Boekjaar"), BpDa=("date", "Boekdatum"))}
    (entries,) = compare({"FiEntries": BASE["FiEntries"]}, latest).connectors
    assert entries.removed == ("FiEntries.BpDa",) and entries.added == ("BpDa",)
    assert entries.renamed == ()


def test_a_connector_not_described_now_and_fields_only_added_are_no_drift() -> None:
    added = {
        "FiEntries": snap(
            "update",
            Year=("int", "Boekjaar"),
            Extra=("string", "Extra"),
            **{"FiEntries.BpDa": ("date", "Boekdatum")},
        )
    }
    drift = compare(BASE, added)  # SBQ_Debiteuren missing: a setup failure, not drift
    assert [c.connector for c in drift.connectors] == ["FiEntries"]
    assert drift.breaking == ()


def test_the_same_change_has_the_same_hash_whatever_was_added() -> None:
    one = {"SBQ_Debiteuren": snap(Name=("string", "Naam"))}
    two = {"SBQ_Debiteuren": snap(Name=("string", "Naam"), New=("int", "Nieuw"))}
    other = {"SBQ_Debiteuren": snap(DebtorId=("string", "Debiteurnummer"))}
    base = {"SBQ_Debiteuren": snap(DebtorId=("string", "x"), Name=("string", "Naam"))}
    assert compare(base, one).hash == compare(base, two).hash
    assert compare(base, one).hash != compare(base, other).hash
    assert Drift.read(compare(base, one).stored()).hash == compare(base, one).hash


def test_a_drift_of_every_field_fits_slacks_limits_in_both_languages() -> None:
    many = {f"Field_{n:03d}_<b>&": ("string", f"Label {n}") for n in range(120)}
    base = {f"Connector_{c:02d}": snap(**many) for c in range(30)}
    latest = {name: snap(**{f"Other_{n}": ("int", "x") for n in range(120)}) for name in base}
    drift = compare(base, latest)
    message = DriftFound(
        org_key="acme",
        display_name="<!channel> " + "x" * 300,
        drift_hash=drift.hash,
        connectors=drift.connectors,
        found_at=T0,
    )
    for language in ("nl", "en"):
        blocks = drift_blocks(message, language=language)
        assert_within_slack_limits(blocks)
        mrkdwn = json.dumps(sections(blocks) + contexts(blocks), ensure_ascii=False)
        assert "<" not in mrkdwn and "&lt;b&gt;&amp;" in mrkdwn  # escaped, never a mention
        assert len(header(blocks)) <= 150  # plain text: Slack shows it as it is
        assert ("… en nog" if language == "nl" else "… and") in mrkdwn  # cut, and says so
        assert buttons({"blocks": blocks})[ACCEPT_ACTION] == f"acme:{drift.hash}"


@pytest.mark.parametrize(
    ("last", "hours", "due"),
    [
        (None, 24, True),  # never deep-checked
        (T0 - timedelta(hours=23), 24, False),
        (T0 - DAY, 24, True),
        (T0 - timedelta(hours=2), 1, True),
        (None, 0, False),  # drift checks off
    ],
)
def test_the_daily_deep_check_is_due(last, hours, due) -> None:
    org = Org(key="acme", display_name="Acme", last_deep_check_at=last)
    assert deep_due(org, T0, hours) is due


# -- against the sandbox -----------------------------------------------------------------------


@pytest.fixture
def acme_sandbox() -> Iterator[SandboxServer]:
    scenario = scenario_from_dict({"environments": [{"name": "acme", "number": 40001}]})
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
def slack() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        fake.users["U0AGENT"] = {"id": "U0AGENT", "name": "sanne", "locale": "nl-NL"}
        fake.users["U0GUEST"] = {"id": "U0GUEST", "name": "guest", "locale": "en-US"}
        fake.usergroups["S0AGENTS"] = ["U0AGENT"]
        yield fake


@pytest.fixture
def world(make_runtime, acme_sandbox, slack) -> World:
    runtime = make_runtime(acme_sandbox.url_template, afas_retries=0, timezone="Europe/Amsterdam")
    add_acme(runtime, acme_sandbox)
    return World(runtime, acme_sandbox, slack)


@pytest.fixture
async def bolt(world: World, slack) -> AsyncIterator[AsyncApp]:
    """The real Bolt app with the drift listener, as ``create_slack_app`` registers it."""
    client = web_client("xoxb-test", base_url=slack.url)
    app = AsyncApp(
        client=client, signing_secret=SIGNING_SECRET, raise_error_for_unhandled_request=False
    )
    async with world.runtime.afas_client() as afas:
        deps = SlackDeps(
            runtime=world.runtime,
            afas=afas,
            languages=ReaderLanguages(client),
            roles=Roles(client, usergroup="S0AGENTS"),
        )
        drift_listener.register(app, deps)
        register_error_handler(app, deps.languages)
        yield app


def edit_acme(world: World) -> None:
    """The customer's AFAS administrator edits four connectors."""
    acme = world.acme
    acme.edit_field("SBQ_BTW", "AccountNo", remove=True)
    acme.edit_field("SBQ_BTW", "Percentage", retype_to="string")
    acme.edit_field("SBQ_Debiteuren", "DebtorId", rename_to="DebtorNr")
    acme.edit_field("KnSubject", "KnSubjectLink.SfTp", rename_to="SfType")


async def drifted(world: World) -> dict:
    """Baseline at T0, the edits, the daily deep check finds them and the warning is posted."""
    await world.check_at(T0)
    edit_acme(world)
    await world.check_at(T0 + DAY)
    assert await world.deliver(T0 + DAY) == 1
    (warning,) = top_level(world.slack)
    return warning


async def test_the_first_healthy_deep_check_takes_the_baseline(world: World) -> None:
    result = await world.check_at(T0)
    assert result.report.deep and result.report.healthy
    baseline = world.baseline()
    assert baseline.taken_by == "bot" and baseline.taken_at == T0
    assert baseline.fields["SBQ_BTW"]["types"]["VatCode"] == "string"
    assert baseline.fields["SBQ_BTW"]["labels"]["VatCode"] == "Btw-code"
    assert baseline.fields["KnSubject"]["types"]["KnSubjectLink.SfTp"] == "int"
    assert len(baseline.fields) == 20  # 15 GetConnectors, 5 UpdateConnectors
    assert baseline.drift is None and world.outbox() == []
    assert world.org().last_deep_check_at == T0
    # The checks in between are not deep; the next day's is.
    assert not (await world.check_at(T0 + timedelta(minutes=15))).report.deep
    assert (await world.check_at(T0 + DAY)).report.deep
    assert world.org().last_deep_check_at == T0 + DAY


async def test_an_unhealthy_first_deep_check_takes_no_baseline(world: World) -> None:
    world.acme.token_expiry = (T0 + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = await world.check_at(T0)
    assert result.report.deep and result.report.overall.value == "degraded"
    assert world.baseline() is None
    world.acme.token_expiry = "0"
    await world.check_at(T0 + DAY)
    assert world.baseline().taken_at == T0 + DAY


async def test_removed_renamed_and_retyped_fields_are_posted_once(world: World) -> None:
    await world.check_at(T0)
    edit_acme(world)
    await world.check_at(T0 + timedelta(hours=1))  # not a deep check: compares nothing
    assert world.outbox() == [] and world.baseline().drift is None
    await world.check_at(T0 + DAY)
    (row,) = world.outbox(DRIFT_FOUND)
    found = DriftFound.model_validate(row.payload)
    assert row.dedup_key == f"drift:{world.org().id}:{found.drift_hash}"
    assert [c.connector for c in found.connectors] == ["SBQ_BTW", "SBQ_Debiteuren", "KnSubject"]

    assert await world.deliver(T0 + DAY) == 1
    (warning,) = top_level(world.slack)
    text = text_of(warning)
    assert "Acme BV (acme): connectorvelden gewijzigd sinds de basislijn" in text
    assert "*GetConnector `SBQ_BTW`*" in text
    assert "verwijderd: `AccountNo`" in text
    assert "ander type: `Percentage` (decimal → string)" in text
    assert "hernoemd: `DebtorId` → `DebtorNr`" in text
    assert "*UpdateConnector `KnSubject`*" in text
    assert "hernoemd: `KnSubjectLink.SfTp` → `KnSubjectLink.SfType`" in text
    assert "stilletjes breken" in text  # why it matters
    assert buttons(warning) == {ACCEPT_ACTION: f"acme:{found.drift_hash}"}
    baseline = world.baseline()
    assert (baseline.drift_channel, baseline.drift_ts) == ("C0ALERTS", warning["ts"])
    assert baseline.drift_found_at == T0 + DAY
    assert "AccountNo" not in baseline.latest["SBQ_BTW"]["types"]
    assert "AccountNo" in baseline.fields["SBQ_BTW"]["types"]  # the baseline stays

    for day in (2, 3):  # the same difference, every day: said once
        await world.check_at(T0 + day * DAY)
        await world.check_at(T0 + day * DAY + timedelta(minutes=15))
    assert len(world.outbox(DRIFT_FOUND)) == 1
    assert await world.deliver(T0 + 3 * DAY) == 0

    world.acme.edit_field("SBQ_BTW", "VatType", remove=True)  # a further change: a new warning
    await world.check_at(T0 + 4 * DAY)
    first, second = world.outbox(DRIFT_FOUND)
    assert first.dedup_key != second.dedup_key
    assert world.baseline().drift_found_at == T0 + DAY  # open since the first difference
    assert await world.deliver(T0 + 4 * DAY) == 1
    assert "`VatType`" in text_of(top_level(world.slack)[-1])


async def test_a_connector_that_disappeared_is_a_failure_not_drift(world: World) -> None:
    await world.check_at(T0)
    world.acme.app_connector.get_connectors.remove("SBQ_BTW")
    result = await world.check_at(T0 + DAY)
    assert result.report.overall.value == "failing"  # the check says so itself
    assert world.baseline().drift is None and world.outbox(DRIFT_FOUND) == []


async def test_a_muted_orgs_drift_is_held_until_the_mute_ends(world: World) -> None:
    await world.check_at(T0)
    world.mute(T0 + DAY + timedelta(hours=2), now=T0)
    edit_acme(world)
    await world.check_at(T0 + DAY)
    assert world.baseline().drift is not None  # recorded
    assert world.outbox(DRIFT_FOUND) == []  # not said while muted
    await world.check_at(T0 + DAY + timedelta(hours=3))  # an ordinary check after the mute
    assert len(world.outbox(DRIFT_FOUND)) == 1


async def test_back_to_the_baseline_rewrites_the_warning(world: World) -> None:
    warning = await drifted(world)
    world.acme.field_changes = []  # the administrator puts the fields back
    await world.check_at(T0 + 2 * DAY)
    assert world.baseline().drift is None and world.baseline().drift_ts is None
    assert len(world.outbox(DRIFT_CLEARED)) == 1
    assert await world.deliver(T0 + 2 * DAY) == 1
    (root,) = top_level(world.slack)
    assert root["ts"] == warning["ts"]  # edited, not posted again
    assert "komen weer overeen met de basislijn" in text_of(root)
    assert buttons(root) == {}
    (reply,) = replies(world.slack, root)
    assert "Terug bij de basislijn" in reply["text"]
    await world.check_at(T0 + 3 * DAY)
    assert len(world.outbox(DRIFT_CLEARED)) == 1 and len(world.outbox(DRIFT_FOUND)) == 1


async def test_a_warning_whose_drift_ended_before_it_was_sent_is_not_posted(world) -> None:
    await world.check_at(T0)
    edit_acme(world)
    await world.check_at(T0 + DAY)
    world.acme.field_changes = []
    await world.check_at(T0 + 2 * DAY)
    assert world.outbox(DRIFT_CLEARED) == []  # nothing was posted: nothing to rewrite
    assert await world.deliver(T0 + 2 * DAY) == 0
    assert top_level(world.slack) == []


# -- the button --------------------------------------------------------------------------------


def press(slack, value: str, ts: str, user: str) -> str:
    return button(slack, ACCEPT_ACTION, value, ts, user)


def audit(world: World) -> list[tuple[str, str | None, str]]:
    with world.runtime.session() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(e.action, e.org_key, e.actor) for e in events]


async def test_an_agent_accepts_the_new_baseline(world: World, bolt, slack) -> None:
    warning = await drifted(world)
    value = buttons(warning)[ACCEPT_ACTION]
    response = await dispatch(bolt, press(slack, value, warning["ts"], "U0AGENT"))
    assert response.status == 200
    (update,) = await slack.wait_for_async("chat.update")
    assert update.params["ts"] == warning["ts"]
    (root,) = top_level(slack)
    assert "geaccepteerd als nieuwe basislijn door <@U0AGENT> op" in text_of(root)
    assert "verwijderd: `AccountNo`" in text_of(root)  # what was accepted stays readable
    assert buttons(root) == {}
    baseline = world.baseline()
    assert baseline.drift is None and baseline.latest is None and baseline.taken_by == "U0AGENT"
    assert "AccountNo" not in baseline.fields["SBQ_BTW"]["types"]
    assert "DebtorNr" in baseline.fields["SBQ_Debiteuren"]["types"]
    assert ("baseline.accepted", "acme", "U0AGENT") in audit(world)
    await world.check_at(T0 + 2 * DAY)  # the new baseline holds: no warning
    assert len(world.outbox(DRIFT_FOUND)) == 1 and world.baseline().drift is None

    await dispatch(bolt, press(slack, value, warning["ts"], "U0AGENT"))  # pressed again
    (answer,) = await wait_async(slack, 1)
    assert "er valt niets te accepteren" in json.dumps(answer, ensure_ascii=False)
    assert answer["response_type"] == "ephemeral"


async def test_a_guest_is_refused_and_nothing_changes(world: World, bolt, slack) -> None:
    warning = await drifted(world)
    before = world.baseline()
    await dispatch(bolt, press(slack, buttons(warning)[ACCEPT_ACTION], warning["ts"], "U0GUEST"))
    (refusal,) = await wait_async(slack, 1)
    told = json.dumps(refusal, ensure_ascii=False)
    assert "Only helpdesk agents can" in told and t("action.accept_baseline", "en") in told
    assert refusal["response_type"] == "ephemeral"
    after = world.baseline()
    assert (after.fields, after.drift, after.taken_by) == (before.fields, before.drift, "bot")
    assert slack.calls("chat.update") == []
    assert "baseline.accepted" not in [action for action, _, _ in audit(world)]


async def test_a_stale_or_forged_button_is_refused(world: World, bolt, slack) -> None:
    warning = await drifted(world)
    old_value = buttons(warning)[ACCEPT_ACTION]
    world.acme.edit_field("SBQ_BTW", "VatType", remove=True)  # changed again since
    await world.check_at(T0 + 2 * DAY)
    before = world.baseline()
    assert before.drift["hash"] not in old_value

    await dispatch(bolt, press(slack, old_value, warning["ts"], "U0AGENT"))
    (stale,) = await wait_async(slack, 1)
    assert "sinds deze waarschuwing opnieuw gewijzigd" in json.dumps(stale, ensure_ascii=False)
    await dispatch(bolt, press(slack, "acme:<script>", warning["ts"], "U0AGENT"))
    _stale, forged = await wait_async(slack, 2)
    assert t("error.stale_button", "nl") in json.dumps(forged, ensure_ascii=False)
    # The current difference pressed on another message than its warning: refused too.
    current = f"acme:{before.drift['hash']}"
    await dispatch(bolt, press(slack, current, "1700000000.999999", "U0AGENT"))
    *_earlier, elsewhere = await wait_async(slack, 3)
    assert t("error.stale_button", "nl") in json.dumps(elsewhere, ensure_ascii=False)

    after = world.baseline()
    assert (after.fields, after.drift, after.taken_by) == (before.fields, before.drift, "bot")
    assert slack.calls("chat.update") == []
    assert "baseline.accepted" not in [action for action, _, _ in audit(world)]
