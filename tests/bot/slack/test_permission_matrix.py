"""Who may do what (product.md), as a table: every action that exists × guest / agent / admin,
end to end (signed requests through the real Bolt app, the Slack Web API fake, the AFAS
sandbox, the database), with the roles read from the settings as ``afasbot serve`` reads them.

A refusal is an ephemeral answer (or the modal's own answer) that names the action and who may
take it, and nothing changes: no org's mute, no incident's acknowledgement, no audit event, no
check or export run, no message posted or edited, no modal opened. An allowed action happens,
seen in the Slack calls and the database. A forged value (another org's key, another alert's
incident, a key that does not exist) is refused to everyone, and changes nothing either.

To add an action: one ``Row`` in ``ROWS`` (its request, the least role, what a refusal names
and what shows that it happened).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.errors import Role
from bot.i18n import t
from bot.slack.app import create_slack_app, web_client
from storage.baselines import record_drift, set_drift_message, take_baseline
from storage.models import AuditEvent, CheckRun, ExportRun, Incident, Org
from storage.repository import (
    add_org,
    enqueue_outbox,
    mute_org,
    open_incident,
    set_incident_message,
)
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.requests import action_body, command_body
from tests.bot.slack.test_afas_command import dispatch, responses, wait_async
from tests.bot.slack.test_alert_buttons import button
from tests.bot.slack.test_mute import opened_payload, submission
from tests.bot.slack.test_status_pages import choose_status, press_status

GUEST, AGENT, ADMIN = "U0GUEST", "U0AGENT", "U0ADMIN"
NIGHT, LEAD = "U0NIGHT", "U0LEAD"  # in a second agents' group; in the admins' group
LANGUAGE = {GUEST: "en", AGENT: "nl", ADMIN: "en", NIGHT: "en", LEAD: "nl"}
ROLE = {GUEST: Role.EVERYONE, AGENT: Role.AGENT, ADMIN: Role.ADMIN}
ROLE |= {NIGHT: Role.AGENT, LEAD: Role.ADMIN}
WHO_MAY = {
    Role.AGENT: {"en": "Only helpdesk agents can", "nl": "Alleen helpdeskmedewerkers kunnen"},
    Role.ADMIN: {"en": "Only admins can", "nl": "Alleen beheerders kunnen"},
}
#: What Slack was asked to change or show; a refusal asks none of them.
EFFECTS = ("chat.postMessage", "chat.update", "chat.delete", "views.open", "views.update")


@dataclass
class World:
    """The Bolt app and what it was seeded with: ``healthy`` (production) and
    ``revoked-token`` with a posted alert each, ``test-environment`` muted by someone."""

    bolt: Any
    slack: Any
    runtime: Any
    alert_ts: dict[str, str] = field(default_factory=dict)
    incident: dict[str, int] = field(default_factory=dict)

    async def command(self, text: str, user: str) -> Any:
        return await dispatch(self.bolt, command_body(self.slack, text, user=user))

    async def press_alert(self, action_id: str, value: str, user: str, *, on: str = "healthy"):
        body = button(self.slack, action_id, value, self.alert_ts[on], user)
        return await dispatch(self.bolt, body)

    async def press_report(self, action_id: str, value: str, user: str) -> Any:
        return await dispatch(self.bolt, action_body(self.slack, action_id, value, user=user))

    async def submit_mute(self, user: str, org: str = "healthy") -> Any:
        metadata = json.dumps({"org": org, "language": LANGUAGE[user]})
        return await dispatch(self.bolt, submission("V0MUTE", user=user, metadata=metadata))

    def org(self, key: str) -> Org:
        with self.runtime.session() as session:
            return session.exec(select(Org).where(Org.key == key)).one()

    def audit(self) -> list[tuple[str, str | None, str]]:
        with self.runtime.session() as session:
            events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
            return [(e.action, e.org_key, e.actor) for e in events]

    def snapshot(self) -> dict[str, Any]:
        """Everything a refused action must leave as it was."""
        with self.runtime.session() as session:
            return {
                "orgs": [
                    (o.key, o.mute_until, o.muted_by, o.updated_by)
                    for o in session.exec(select(Org).order_by(Org.key))
                ],
                "incidents": [
                    (i.id, i.acknowledged_by, i.closed_at)
                    for i in session.exec(select(Incident).order_by(Incident.id))
                ],
                "audit": len(session.exec(select(AuditEvent)).all()),
                "checks": len(session.exec(select(CheckRun)).all()),
                "exports": len(session.exec(select(ExportRun)).all()),
            }

    def effects(self) -> dict[str, int]:
        return {method: len(self.slack.calls(method)) for method in EFFECTS}


Send = Callable[[World, str], Awaitable[Any]]
Check = Callable[[World, str], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    """One action: how it is asked, the least role that may, the catalogue key a refusal
    names (per role refused, when it differs), what shows it happened, and for a forged
    value the answer everyone whose role passes gets instead."""

    name: str
    send: Send
    needs: Role
    happened: Check | None = None
    action: str | dict[Role, str] = ""
    forged: Callable[[str], str] | None = None

    def refusal_action(self, role: Role) -> str:
        return self.action if isinstance(self.action, str) else self.action[role]


# -- what shows that an action happened ----------------------------------------------------------


def answered(*needles: str, count: int = 1) -> Check:
    async def check(world: World, user: str) -> None:
        found = await wait_async(world.slack, count)
        text = dumped(found)
        for needle in needles:
            assert needle in text

    return check


def modal_opened(callback_id: str) -> Check:
    async def check(world: World, user: str) -> None:
        (opened,) = await world.slack.wait_for_async("views.open")
        assert opened.params["view"]["callback_id"] == callback_id

    return check


async def checked(world: World, user: str) -> None:
    await wait_async(world.slack, 2)
    with world.runtime.session() as session:
        runs = session.exec(select(CheckRun)).all()
    assert [run.trigger for run in runs] == ["command"]
    assert ("org.checked", "healthy", user) in world.audit()


async def dry_run(world: World, user: str) -> None:
    _running, report = await wait_async(world.slack, 2)
    assert "dry run" in dumped(report) or "proefrun" in dumped(report)
    with world.runtime.session() as session:
        (run,) = session.exec(select(ExportRun)).all()
    assert (run.mode, run.requested_by) == ("dry_run", user)


def muted(key: str, *, answers: int = 0, thread: bool = True) -> Check:
    async def check(world: World, user: str) -> None:
        if answers:
            await wait_async(world.slack, answers)
        if thread:  # the seeded alerts, then the note in the thread
            await world.slack.wait_for_async("chat.postMessage", count=3)
        org = world.org(key)
        assert org.muted_by == user and org.mute_until > datetime.now(UTC)
        assert ("org.muted", key, user) in world.audit()

    return check


async def unmuted(world: World, user: str) -> None:
    await wait_async(world.slack, 1)
    org = world.org("test-environment")
    assert (org.mute_until, org.muted_by) == (None, None)
    assert ("org.unmuted", "test-environment", user) in world.audit()


async def baseline_accepted(world: World, user: str) -> None:
    await world.slack.wait_for_async("chat.update")
    assert ("baseline.accepted", "healthy", user) in world.audit()


async def acknowledged(world: World, user: str) -> None:
    await world.slack.wait_for_async("chat.update")
    with world.runtime.session() as session:
        incident = session.get(Incident, world.incident["healthy"])
    assert incident.acknowledged_by == user


async def modal_closed(world: World, user: str) -> None:
    org = world.org("healthy")
    assert org.muted_by == user
    assert ("org.muted", "healthy", user) in world.audit()


async def handed_over(world: World, user: str) -> None:
    (completed,) = await world.slack.wait_for_async("files.completeUploadExternal")
    assert completed.params["channel_id"]


def stale(language: str) -> str:
    return t("error.stale_button", language)


def unknown(key: str) -> Callable[[str], str]:
    return lambda language: f"`{key}`"


# -- the table -----------------------------------------------------------------------------------

DRIFT_HASH = "a1b2c3d4e5f6"
ROWS = [
    Row(
        "accept drift baseline",
        lambda w, u: w.press_alert("drift_accept", f"healthy:{DRIFT_HASH}", u),
        Role.AGENT,
        baseline_accepted,
        action="action.accept_baseline",
    ),
    Row(
        "accept drift baseline, forged: an org without drift",
        lambda w, u: w.press_alert("drift_accept", f"revoked-token:{DRIFT_HASH}", u),
        Role.AGENT,
        action="action.accept_baseline",
        forged=lambda lang: t("warning.drift.no_drift", lang, org="revoked-token"),
    ),
    Row("help", lambda w, u: w.command("help", u), Role.EVERYONE, answered("/afas check")),
    Row("status", lambda w, u: w.command("status", u), Role.EVERYONE, answered("*healthy*")),
    Row("check", lambda w, u: w.command("check healthy", u), Role.EVERYONE, checked),
    Row(
        "history",
        lambda w, u: w.command("history healthy", u),
        Role.EVERYONE,
        answered("healthy"),
    ),
    Row(
        "recheck button",
        lambda w, u: w.press_report("recheck", "healthy", u),
        Role.EVERYONE,
        answered("healthy", count=2),
    ),
    Row(
        "status next / previous button",
        lambda w, u: press_status(w, "status_next", '{"page":0,"state":null}', u),
        Role.EVERYONE,
        answered("*healthy*", "status_filter"),
    ),
    Row(
        "status filter",
        lambda w, u: choose_status(w, "never", u),
        Role.EVERYONE,
        answered("*revoked-token*", "*test-environment*"),
    ),
    Row(
        "status button, forged: a value that is not ours",
        lambda w, u: press_status(w, "status_previous", '{"page":"1; drop"}', u),
        Role.EVERYONE,
        forged=lambda language: t("home.bad_page", language),
    ),
    Row(
        "register (opens the form)",
        lambda w, u: w.command("register", u),
        Role.AGENT,
        modal_opened("register_org"),
        action="action.register",
    ),
    Row(
        "export dry run",
        lambda w, u: w.command("export healthy", u),
        Role.AGENT,
        dry_run,
        action="action.export",
    ),
    Row(
        "export live, test environment",
        lambda w, u: w.command("export test-environment live", u),
        Role.AGENT,
        modal_opened("export_live_confirm"),
        action="action.export",
    ),
    Row(
        "export live, production",
        lambda w, u: w.command("export healthy live", u),
        Role.ADMIN,
        modal_opened("export_live_confirm"),
        action={Role.EVERYONE: "action.export", Role.AGENT: "action.export_live_production"},
    ),
    Row(
        "mute",
        lambda w, u: w.command("mute healthy 2h", u),
        Role.AGENT,
        muted("healthy", answers=1),
        action="action.mute",
    ),
    Row(
        "unmute",
        lambda w, u: w.command("unmute test-environment", u),
        Role.AGENT,
        unmuted,
        action="action.unmute",
    ),
    Row(
        "mute modal submission",
        lambda w, u: w.submit_mute(u),
        Role.AGENT,
        modal_closed,
        action="action.mute",
    ),
    Row(
        "acknowledge button",
        lambda w, u: w.press_alert("alert_ack", str(w.incident["healthy"]), u),
        Role.AGENT,
        acknowledged,
        action="action.acknowledge",
    ),
    Row(
        "mute button",
        lambda w, u: w.press_alert("alert_mute", "healthy:1h", u),
        Role.AGENT,
        muted("healthy"),
        action="action.mute",
    ),
    Row(
        "mute button, forged: another org's key",
        lambda w, u: w.press_alert("alert_mute", "revoked-token:1d", u),
        Role.AGENT,
        action="action.mute",
        forged=stale,
    ),
    Row(
        "mute button, forged: a key that does not exist",
        lambda w, u: w.press_alert("alert_mute", "nobody:1h", u),
        Role.AGENT,
        action="action.mute",
        forged=unknown("nobody"),
    ),
    Row(
        "acknowledge button, forged: another alert's incident",
        lambda w, u: w.press_alert("alert_ack", str(w.incident["revoked-token"]), u),
        Role.AGENT,
        action="action.acknowledge",
        forged=stale,
    ),
    Row(
        "rotate (opens the token form)",
        lambda w, u: w.command("rotate healthy", u),
        Role.AGENT,
        modal_opened("org_admin_rotate"),
        action="action.rotate",
    ),
    Row(
        "edit (opens the form)",
        lambda w, u: w.command("edit healthy", u),
        Role.AGENT,
        modal_opened("org_admin_edit"),
        action="action.edit",
    ),
    Row(
        "remove (opens the confirmation)",
        lambda w, u: w.command("remove healthy", u),
        Role.ADMIN,
        modal_opened("org_admin_remove"),
        action="action.remove",
    ),
    Row(
        "handover",
        lambda w, u: w.command("handover healthy", u),
        Role.AGENT,
        handed_over,
        action="action.handover",
    ),
    Row(
        "mute modal, forged: a key that does not exist",
        lambda w, u: w.submit_mute(u, org="nobody"),
        Role.AGENT,
        action="action.mute",
        forged=lambda language: t("error.unknown_org", language),
    ),
]


# -- the world -----------------------------------------------------------------------------------


@pytest.fixture
async def world(make_runtime, sandbox, slack, scenario) -> AsyncIterator[World]:
    runtime = make_runtime(
        sandbox.url_template,
        slack_agent_usergroup="S0AGENTS, S0NIGHT",
        slack_admin_user_ids=ADMIN,
        slack_admin_usergroup="S0LEADS",
    )
    slack.users[ADMIN] = {"id": ADMIN, "name": "boss", "locale": "en-GB"}
    slack.users[NIGHT] = {"id": NIGHT, "name": "owl", "locale": "en-US"}
    slack.users[LEAD] = {"id": LEAD, "name": "lead", "locale": "nl-NL"}
    slack.usergroups |= {"S0NIGHT": [NIGHT], "S0LEADS": [LEAD]}
    client = web_client("xoxb-test", base_url=slack.url)
    async with runtime.afas_client() as afas:
        bolt = create_slack_app(runtime, afas, client=client, signing_secret=SIGNING_SECRET)
        world = World(bolt, slack, runtime)
        seed(world, scenario)
        yield world


def seed(world: World, scenario) -> None:
    now = datetime.now(UTC)
    with world.runtime.session() as session:
        for key in ("healthy", "revoked-token", "test-environment"):
            env = scenario.by_name(key)
            org = add_org(
                session,
                key=key,
                display_name=f"{key} BV",
                environment=env.environment(),
                token=env.token(),
                cipher=world.runtime.require_cipher(),
                actor="test",
                alert_channel="C0ALERTS",
            ).org
            if key == "test-environment":
                mute_org(session, key, until=now + timedelta(days=1), actor="U0OTHER", now=now)
                continue
            ts = world.slack.handle(
                "chat.postMessage",
                {"channel": "C0ALERTS", "text": f"{key} is broken"},
                {"authorization": "Bearer xoxb-test"},
            )[1]["ts"]
            incident, _ = open_incident(session, org, kind="org", opened_at=now)
            enqueue_outbox(
                session,
                kind="incident.opened",
                payload=opened_payload(key, now),
                dedup_key=f"incident:{incident.id}:open",
                org_id=org.id,
                incident_id=incident.id,
            )
            set_incident_message(session, incident.id, channel="C0ALERTS", ts=ts)
            world.alert_ts[key], world.incident[key] = ts, incident.id
            if key == "healthy":  # an open drift warning, posted as the alert is
                baseline = take_baseline(
                    session,
                    org.id,
                    {"SBQ_BTW": {"kind": "get", "types": {"AccountNo": "string"}, "labels": {}}},
                    at=now,
                    by="bot",
                )
                record_drift(
                    session,
                    baseline,
                    latest={"SBQ_BTW": {"kind": "get", "types": {}, "labels": {}}},
                    drift={
                        "hash": DRIFT_HASH,
                        "connectors": [
                            {"connector": "SBQ_BTW", "kind": "get", "removed": ["AccountNo"]}
                        ],
                    },
                    found_at=now,
                )
                set_drift_message(session, org.id, DRIFT_HASH, channel="C0ALERTS", ts=ts)


def dumped(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


async def answers(world: World, response: Any) -> str:
    """What the person was told: the answers through the response URL, or the modal's own."""
    body = json.loads(response.body) if response.body else None
    if body is None:
        await wait_async(world.slack, 1)
    found = responses(world.slack)
    for answer in found:
        assert answer.get("response_type") == "ephemeral"  # only for the one who asked
    return dumped([*found, body])


# -- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize("user", [GUEST, AGENT, ADMIN], ids=["guest", "agent", "admin"])
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_who_may_do_what(world: World, row: Row, user: str) -> None:
    await _exercise(world, row, user)


@pytest.mark.parametrize("user", [NIGHT, LEAD], ids=["second agent group", "admin group"])
@pytest.mark.parametrize(
    "row",
    [r for r in ROWS if r.name in ("mute", "acknowledge button", "export live, production")],
    ids=lambda row: row.name,
)
async def test_every_configured_group_counts(world: World, row: Row, user: str) -> None:
    await _exercise(world, row, user)


async def _exercise(world: World, row: Row, user: str) -> None:
    role, language = ROLE[user], LANGUAGE[user]
    before, effects = world.snapshot(), world.effects()
    response = await row.send(world, user)
    assert response.status == 200
    if role >= row.needs and row.forged is None:
        assert row.happened is not None
        await row.happened(world, user)
        return
    told = await answers(world, response)
    if role < row.needs:
        # An admin-only action says so to everyone; one whose rule depends on the place
        # (a live export) first asks for an agent, then (on production) for an admin.
        stepwise = isinstance(row.action, dict)
        who = Role.AGENT if (role < Role.AGENT and stepwise) else row.needs
        assert WHO_MAY[who][language] in told
        assert t(row.refusal_action(role), language) in told
    else:
        assert row.forged is not None
        assert row.forged(language) in told
    assert world.snapshot() == before, "a refused action changed the database"
    assert world.effects() == effects, "a refused action posted, edited or opened something"


def test_the_table_covers_every_role_boundary() -> None:
    """Each least role appears, and every refusable row names an action the catalogue has."""
    assert {row.needs for row in ROWS} == {Role.EVERYONE, Role.AGENT, Role.ADMIN}
    for row in ROWS:
        if row.needs > Role.EVERYONE:
            for role in (r for r in Role if r < row.needs):
                assert t(row.refusal_action(role), "en") != row.refusal_action(role)


async def test_a_refusal_names_the_admins_configured_by_id(world: World) -> None:
    await world.command("mute healthy 2h", GUEST)
    (refusal,) = await wait_async(world.slack, 1)
    assert f"<@{ADMIN}>" in dumped(refusal)
