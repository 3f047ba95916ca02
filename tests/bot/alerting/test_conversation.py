"""The Slack conversation a broken AFAS world produces (issue 10, "Tests and figures"):
integration with a fake clock, asserting the exact Slack calls. A token expiring (14/7/1), a
drift accepted as the new baseline, a platform outage with two orgs still broken after it, the
daily digest, and the bot's own network lost (and back within the platform window).

Driven the way ``afasbot serve`` drives the bot, with the time passed in explicitly: the real
sweep (``bot.sweep.sweep``, with the replica's ``Connectivity``; the orgs made due at the
step's moment), the real outbox sender (``drain_outbox`` with ``Delivery.from_settings``)
against the Slack Web API fake over HTTP (its clock follows the fake time), ``digest_tick``
for the daily digest, the real Bolt app for a button, and the AFAS sandbox, whose environments
a test breaks and mends as AFAS, a customer's administrator or the network would.

After every step the chat.postMessage and chat.update calls Slack received during it are
compared with the expected list exactly: method, channel, whether in a thread, and a piece
of the notification text. Within one step channels are delivered concurrently, so a step's
calls are compared channel by channel (each channel's in the order Slack received them).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import col, select

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer, url_template_for
from bot.alerting.connectivity import Connectivity
from bot.alerting.delivery import Delivery, drain_outbox
from bot.alerting.digest import DIGEST, DailyDigest, digest_tick
from bot.blocks.warnings import ACCEPT_ACTION
from bot.slack.app import create_slack_app, web_client
from bot.sweep import SweepResult, sweep
from storage.models import Incident, Org, OutboxMessage
from storage.repository import add_org, mute_org
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.test_afas_command import dispatch
from tests.fakes.slack import SlackWebApiFake

#: Monday 30 November 2026, 09:00 UTC (10:00 in Amsterdam, the bot's zone).
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
OPS = "C0OPS"  # AFASBOT_SLACK_OPS_CHANNEL
DEFAULT = "C0ALERTS"  # AFASBOT_SLACK_DEFAULT_ALERT_CHANNEL
OWNER = "replica-a"
AGENT = "U0AGENT"
MINUTES = timedelta(minutes=1)
HOURS = timedelta(hours=1)
DAYS = timedelta(days=1)
EXPIRY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def bot_settings(canary_url: str, **extra: Any) -> dict[str, Any]:
    """The settings serve would read for these tests (AFASBOT_…)."""
    return {
        "afas_retries": 0,
        "alert_language": "en",
        "timezone": "Europe/Amsterdam",
        "slack_channel_pace_seconds": 0,
        "slack_default_alert_channel": DEFAULT,
        "slack_ops_channel": OPS,
        "slack_agent_usergroup": "S0AGENTS",
        "digest_hour": 8,
        "drift_check_hours": 1,
        "canary_url": canary_url,
        **extra,
    }


# -- what Slack was told --------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """One chat.postMessage or chat.update as Slack received it."""

    method: str  # "post" or "update"
    channel: str
    threaded: bool
    text: str  # the notification text (the fallback of the blocks)
    blocks: str = ""  # the blocks, as JSON
    error: str | None = None  # Slack's error answer, if it refused the call

    def __str__(self) -> str:
        where = f"{self.channel}{' (thread)' if self.threaded else ''}"
        refused = f" REFUSED {self.error}" if self.error else ""
        return f"{self.method} {where}: {self.text[:110]!r}{refused}"


@dataclass(frozen=True)
class Expected:
    method: str
    channel: str
    signature: str  # a piece of the notification text that says which message it is
    threaded: bool = False

    def matches(self, said: Said) -> bool:
        where = (self.method, self.channel, self.threaded, None)
        return where == (said.method, said.channel, said.threaded, said.error) and (
            self.signature in said.text
        )

    def __str__(self) -> str:
        where = f"{self.channel}{' (thread)' if self.threaded else ''}"
        return f"{self.method} {where}: …{self.signature!r}…"


def post(channel: str, signature: str, *, threaded: bool = False) -> Expected:
    return Expected("post", channel, signature, threaded)


def update(channel: str, signature: str) -> Expected:
    return Expected("update", channel, signature)


def by_channel(calls: list[Any]) -> list[Any]:
    """A step's calls channel by channel (stable: each channel's keep their order)."""
    return sorted(calls, key=lambda call: call.channel)


def assert_said(said: list[Said], expected: list[Expected], what: str) -> None:
    """Exactly the expected calls: as many, in order per channel, each one matching."""
    got, wanted = by_channel(said), by_channel(expected)
    lines = "\n  ".join(str(s) for s in got) or "(nothing)"
    hoped = "\n  ".join(str(e) for e in wanted) or "(nothing)"
    message = f"{what}:\n Slack got\n  {lines}\n expected\n  {hoped}"
    assert len(got) == len(wanted), message
    assert all(e.matches(s) for e, s in zip(wanted, got, strict=True)), message


# -- the bot, driven as serve drives it, at explicit moments --------------------------------------


class Conversation:
    """One replica of the bot (sweep, outbox sender, digest, Bolt app) on its database, the AFAS
    sandbox and the Slack fake, at the time the test says."""

    def __init__(self, runtime, slack: SlackWebApiFake) -> None:
        self.runtime, self.slack = runtime, slack
        self.now = T0
        slack.clock = lambda: self.now.timestamp()  # Slack's timestamps follow the fake time
        settings = runtime.settings
        self.client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        self.delivery = Delivery.from_settings(settings)  # one per process, as serve keeps it
        self.connectivity = Connectivity(  # as BotProcess builds it
            replica=OWNER,
            canary_url=settings.canary_url,
            min_environments=settings.platform_min_orgs,
            url_template=settings.afas_url_template,
        )
        self._seen = 0

    # -- the world ------------------------------------------------------------------------

    def add_org(self, sandbox: SandboxServer, name: str, channel: str | None) -> None:
        env = sandbox.scenario.by_name(name)
        with self.runtime.session() as session:
            add_org(
                session,
                key=name,
                display_name=name.capitalize(),
                environment=env.environment(),
                token=env.token(),
                cipher=self.runtime.require_cipher(),
                actor="test",
                alert_channel=channel,
                now=T0 - DAYS,
            )
        if channel is not None and channel not in self.slack.channels:
            self.slack.add_channel(channel, f"afas-{name}")

    # -- the bot's steps --------------------------------------------------------------------

    async def sweep_at(self, moment: datetime, due: list[str] | None = None) -> SweepResult:
        """A scheduled check at ``moment`` of every org (or of those ``due``: the others are
        due later, as on their grid), then the outbox."""
        self.now = moment
        with self.runtime.session() as session:
            for org in session.exec(select(Org)):
                org.next_check_at = moment if due is None or org.key in due else moment + HOURS
                session.add(org)
        async with self.runtime.afas_client() as afas:
            result = await sweep(
                self.runtime, afas, owner=OWNER, now=moment, connectivity=self.connectivity
            )
        await self.deliver_at(moment)
        return result

    async def deliver_at(self, moment: datetime) -> None:
        self.now = moment
        await drain_outbox(self.runtime, self.client, self.delivery, owner=OWNER, now=moment)
        assert self.undelivered() == [], "the outbox kept messages back after a drain"

    async def digest_at(self, moment: datetime) -> bool:
        """serve's minute tick of the digest: written when due, then delivered."""
        self.now = moment
        written = await digest_tick(self.runtime, now=moment)
        await self.deliver_at(moment)
        return written

    # -- what there is --------------------------------------------------------------------

    def said(self) -> list[Said]:
        """The chat.postMessage and chat.update calls Slack received since the last look
        (refused ones too: no step expects a refusal)."""
        calls = [c for c in self.slack.calls() if c.method in ("chat.postMessage", "chat.update")]
        new, self._seen = calls[self._seen :], len(calls)
        return [
            Said(
                method="post" if c.method == "chat.postMessage" else "update",
                channel=str(c.params.get("channel")),
                threaded=bool(c.params.get("thread_ts")),
                text=str(c.params.get("text") or ""),
                blocks=json.dumps(c.params.get("blocks") or [], ensure_ascii=False),
                error=None if c.response.get("ok") else str(c.response.get("error")),
            )
            for c in new
        ]

    def undelivered(self) -> list[str]:
        with self.runtime.session() as session:
            rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
            return [
                f"{r.kind} ({r.last_error})"
                for r in rows
                if r.sent_at is None and r.given_up_at is None
            ]

    def outbox(self, kind: str) -> list[OutboxMessage]:
        with self.runtime.session() as session:
            rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
            return [r for r in rows if r.kind == kind]

    def incidents(self) -> dict[str, Incident]:
        with self.runtime.session() as session:
            rows = session.exec(
                select(Incident, Org.key)
                .join(Org, col(Org.id) == col(Incident.org_id))
                .order_by(col(Incident.id))
            )
            return {key: incident for incident, key in rows}


@pytest.fixture
def slack() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        fake.add_channel(OPS, "afas-ops")
        fake.users[AGENT] = {"id": AGENT, "name": "sanne", "locale": "en-US"}
        fake.usergroups["S0AGENTS"] = [AGENT]  # the helpdesk agents
        yield fake


def sandbox_of(*environments: dict[str, Any], port: int = 0) -> SandboxServer:
    return SandboxServer(scenario_from_dict({"environments": list(environments)}), port=port)


def canary_of(sandbox: SandboxServer) -> str:
    """A URL that answers whenever the bot has a network (the sandbox answers 404 there)."""
    return f"http://{sandbox.host}:{sandbox.port}/"


# -- 1. a token expiring --------------------------------------------------------------------------

EXPIRES = T0 + timedelta(days=20, hours=3)


@pytest.fixture
def expiring_sandbox() -> Iterator[SandboxServer]:
    with sandbox_of(
        {"name": "acme", "number": 40001, "token_expiry": EXPIRES.strftime(EXPIRY_FORMAT)}
    ) as server:
        yield server


async def test_a_token_expiring_is_warned_at_14_7_and_1_days_and_nothing_else(
    make_runtime, expiring_sandbox, slack
) -> None:
    runtime = make_runtime(
        expiring_sandbox.url_template, **bot_settings(canary_of(expiring_sandbox))
    )
    bot = Conversation(runtime, slack)
    bot.add_org(expiring_sandbox, "acme", "C0ACME")
    day = EXPIRES.date().isoformat()
    steps = [
        (20, []),  # outside the 14 days: nothing (the first deep check takes the baseline)
        (13, [post("C0ACME", f"Acme (acme): the AFAS token expires in 13 days ({day})")]),
        (12, []),  # the 14-day stage was said
        (6, [post("C0ACME", f"Acme (acme): the AFAS token expires in 6 days ({day})")]),
        (5, []),  # the 7-day stage was said
        (0.5, [post("C0ACME", f"Acme (acme): the AFAS token expires within a day ({day})")]),
    ]
    for days, expected in steps:
        await bot.sweep_at(EXPIRES - timedelta(days=days))
        assert_said(bot.said(), expected, f"the scheduled check {days} days before the expiry")
    assert bot.incidents() == {}  # a token about to expire is a warning, not an incident
    # Nothing anywhere else: not in the default channel, not in the ops channel.
    assert [c.params["channel"] for c in slack.calls("chat.postMessage")] == ["C0ACME"] * 3


# -- 2. a drift -----------------------------------------------------------------------------------


@pytest.fixture
def drift_sandbox() -> Iterator[SandboxServer]:
    with sandbox_of({"name": "acme", "number": 40001}) as server:
        yield server


@pytest.fixture
async def bolt(drift_sandbox, slack, make_runtime) -> AsyncIterator[tuple[Any, Conversation]]:
    """The bot and its real Bolt app (roles from the settings, as serve reads them)."""
    runtime = make_runtime(drift_sandbox.url_template, **bot_settings(canary_of(drift_sandbox)))
    bot = Conversation(runtime, slack)
    async with runtime.afas_client() as afas:
        app = create_slack_app(
            runtime,
            afas,
            client=web_client("xoxb-test", base_url=slack.url),
            signing_secret=SIGNING_SECRET,
        )
        yield app, bot


def accept_pressed(slack: SlackWebApiFake, value: str, channel: str, ts: str, user: str) -> str:
    """The signed-request body of a press on "Accept as the new baseline"."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "sanne", "team_id": "T0TEST"},
        "team": {"id": "T0TEST", "domain": "afas-test"},
        "api_app_id": "A0TEST",
        "token": "legacy",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "trigger_id": "1337.42.drift",
        "channel": {"id": channel, "name": "afas-acme"},
        "message": {"ts": ts, "text": "drift"},
        "response_url": slack.response_url("drift"),
        "actions": [
            {
                "action_id": ACCEPT_ACTION,
                "block_id": "drift_actions",
                "value": value,
                "type": "button",
                "action_ts": f"{T0.timestamp():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def buttons(message: dict) -> dict[str, str]:
    return {
        element["action_id"]: element.get("value", "")
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block["elements"]
    }


async def test_a_drift_is_warned_once_and_accepted_as_the_new_baseline(
    bolt, drift_sandbox, slack
) -> None:
    app, bot = bolt
    bot.add_org(drift_sandbox, "acme", "C0ACME")
    acme = drift_sandbox.scenario.by_name("acme")

    await bot.sweep_at(T0)
    assert_said(bot.said(), [], "the first healthy deep check (it takes the baseline)")

    # The customer's AFAS administrator removes one field and renames another.
    acme.edit_field("SBQ_BTW", "AccountNo", remove=True)
    acme.edit_field("SBQ_Debiteuren", "DebtorId", rename_to="DebtorNr")
    await bot.sweep_at(T0 + DAYS)
    said = bot.said()
    assert_said(
        said,
        [post("C0ACME", "Acme (acme): fields of 2 connector(s) changed since the baseline")],
        "the next day's deep check after the edits",
    )
    (warning,) = said
    assert "`AccountNo`" in warning.blocks and "`DebtorId` → `DebtorNr`" in warning.blocks
    (posted,) = slack.messages("C0ACME")
    value = buttons(posted)[ACCEPT_ACTION]
    assert "Accept as the new baseline" in warning.blocks

    await bot.sweep_at(T0 + DAYS + 30 * MINUTES)  # an ordinary check the same day
    assert_said(bot.said(), [], "a check 30 minutes after the warning")
    await bot.sweep_at(T0 + 2 * DAYS)  # the next day's deep check: the same difference
    assert_said(bot.said(), [], "the next day's deep check with the same drift")

    response = await dispatch(app, accept_pressed(slack, value, "C0ACME", posted["ts"], AGENT))
    assert response.status == 200
    await slack.wait_for_async("chat.update")
    assert slack.responses == [], "the press was answered with an error"
    said = bot.said()
    assert_said(
        said,
        [update("C0ACME", f"Acme (acme): new baseline accepted by <@{AGENT}>")],
        "an agent pressing Accept",
    )
    (accepted,) = slack.messages("C0ACME")
    assert accepted["ts"] == posted["ts"], "the warning itself is edited, not a new message"
    assert buttons(accepted) == {}, "the accepted warning has no button left"
    edited = json.dumps(accepted["blocks"], ensure_ascii=False)
    assert f"accepted as the new baseline by <@{AGENT}>" in edited, edited
    assert "`AccountNo`" in edited, "what was accepted stays readable"

    await bot.sweep_at(T0 + 3 * DAYS)
    await bot.sweep_at(T0 + 4 * DAYS)
    assert_said(bot.said(), [], "the deep checks after the new baseline")
    assert [m["ts"] for m in slack.messages("C0ACME")] == [posted["ts"]]


# -- 3. a platform outage, two orgs still broken after it -----------------------------------------

FLEET = [f"org{n}" for n in range(1, 7)]


@pytest.fixture
def fleet_sandbox() -> Iterator[SandboxServer]:
    with sandbox_of(*({"name": name, "number": 50001 + i} for i, name in enumerate(FLEET))) as s:
        yield s


async def test_a_platform_outage_is_one_notice_then_the_orgs_still_broken_alert(
    make_runtime, fleet_sandbox, slack
) -> None:
    runtime = make_runtime(fleet_sandbox.url_template, **bot_settings(canary_of(fleet_sandbox)))
    bot = Conversation(runtime, slack)
    for name in FLEET:
        bot.add_org(fleet_sandbox, name, f"C0{name.upper()}")

    def afas(names: list[str], fault: str) -> None:
        for name in names:
            fleet_sandbox.scenario.by_name(name).fault = fault

    await bot.sweep_at(T0)
    assert_said(bot.said(), [], "every org healthy")

    afas(FLEET, "drop")  # AFAS answers nobody; the bot's own network works (the canary answers)
    await bot.sweep_at(T0 + 15 * MINUTES)
    assert_said(
        bot.said(),
        [post(OPS, "AFAS itself seems unreachable: 6 of 6 orgs get no answer")],
        "the first sweep that finds AFAS unreachable for all",
    )
    for minutes in (30, 45, 60):  # incidents open (two bad checks), held: nothing said
        result = await bot.sweep_at(T0 + minutes * MINUTES)
        assert not result.offline
        assert_said(bot.said(), [], f"AFAS still unreachable, {minutes} minutes in")
    held = bot.incidents()
    assert sorted(held) == FLEET and {i.held for i in held.values()} == {"platform"}

    # AFAS is back. org5's token was revoked meanwhile; org6 stays unreachable.
    afas(FLEET, "none")
    fleet_sandbox.scenario.by_name("org5").token_revoked = True
    afas(["org6"], "drop")
    await bot.sweep_at(T0 + 75 * MINUTES)
    said = bot.said()
    assert_said(
        said,
        [
            post(OPS, "AFAS answers again (the outage lasted 1 h)"),
            post("C0ORG5", "Org5 (org5) is broken"),
        ],
        "the sweep in which AFAS answers again",
    )
    await bot.sweep_at(T0 + 90 * MINUTES)
    said += (more := bot.said())
    assert_said(
        more,
        [post("C0ORG6", "Org6 (org6) is broken")],
        "the first sweep after the platform notice: org6 still unreachable",
    )
    alerts = {s.channel: s.blocks for s in said if s.channel != OPS}
    assert "*Cause:* token rejected" in alerts["C0ORG5"], alerts["C0ORG5"]
    assert "*Cause:* AFAS unreachable" in alerts["C0ORG6"], alerts["C0ORG6"]
    for channel, alert in alerts.items():  # opened when it broke, and says why it is late
        assert (
            "opened 2026-11-30 10:30 CET, while AFAS was unreachable for many orgs; "
            "AFAS answers again, but this org is still broken" in alert
        ), (channel, alert)
    for sweep_at in (105, 120):
        await bot.sweep_at(T0 + sweep_at * MINUTES)
        assert_said(bot.said(), [], f"{sweep_at} minutes in: the four recovered orgs say nothing")
    incidents = bot.incidents()
    assert {k for k, i in incidents.items() if i.closed_at is None} == {"org5", "org6"}
    assert {incidents[k].announced_at for k in FLEET[:4]} == {None}  # closed without a word


# -- 4. the daily digest --------------------------------------------------------------------------

DIGEST_ORGS = ["healthy", "expiring", "drifting", "muted", "broken", "mended"]


@pytest.fixture
def digest_sandbox() -> Iterator[SandboxServer]:
    expiry = (T0 + timedelta(days=10)).strftime(EXPIRY_FORMAT)
    environments = [{"name": n, "number": 60001 + i} for i, n in enumerate(DIGEST_ORGS)]
    environments[1]["token_expiry"] = expiry
    with sandbox_of(*environments) as server:
        yield server


async def test_the_daily_digest_tells_the_day_once_in_the_ops_channel(
    make_runtime, digest_sandbox, slack
) -> None:
    runtime = make_runtime(digest_sandbox.url_template, **bot_settings(canary_of(digest_sandbox)))
    bot = Conversation(runtime, slack)
    for name in DIGEST_ORGS:
        bot.add_org(digest_sandbox, name, f"C0{name.upper()}")
    scenario = digest_sandbox.scenario
    expiry_day = (T0 + timedelta(days=10)).date().isoformat()

    # Monday 10:00 in Amsterdam: the first checks (baselines taken; a token expiring in 10 days).
    await bot.sweep_at(T0)
    assert_said(
        bot.said(),
        [
            post(
                "C0EXPIRING",
                f"Expiring (expiring): the AFAS token expires in 10 days ({expiry_day})",
            )
        ],
        "the first sweep",
    )
    with runtime.session() as session:
        mute_org(session, "muted", until=T0 + 2 * DAYS, actor=AGENT, now=T0)
    scenario.by_name("drifting").edit_field("SBQ_BTW", "AccountNo", remove=True)
    scenario.by_name("broken").token_revoked = True
    later = T0 + 2 * HOURS  # the next deep checks
    await bot.sweep_at(later)
    assert_said(
        bot.said(),
        [post("C0DRIFTING", "Drifting (drifting): fields of 1 connector(s) changed")],
        "the sweep after the edits (one bad check for broken)",
    )
    scenario.by_name("mended").app_connector.get_connectors.remove("SBQ_BTW")
    await bot.sweep_at(later + 15 * MINUTES)
    assert_said(
        bot.said(),
        [post("C0BROKEN", "Broken (broken) is broken")],
        "the second bad check of broken (the first of mended)",
    )
    await bot.sweep_at(later + 30 * MINUTES)
    assert_said(
        bot.said(), [post("C0MENDED", "Mended (mended) is broken")], "mended's second bad check"
    )
    scenario.by_name("mended").app_connector.get_connectors.append("SBQ_BTW")
    await bot.sweep_at(later + 45 * MINUTES)
    assert_said(
        bot.said(),
        [
            update("C0MENDED", "Recovered after 15 min"),
            post("C0MENDED", "Recovered after 15 min", threaded=True),
        ],
        "mended works again",
    )

    # Tuesday: before 08:00 in Amsterdam nothing; at 08:00 the digest, once.
    assert not await bot.digest_at(datetime(2026, 12, 1, 6, 59, tzinfo=UTC))
    assert_said(bot.said(), [], "a minute before the digest's hour")
    assert await bot.digest_at(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    said = bot.said()
    assert_said(
        said,
        [
            post(
                OPS,
                "Daily digest 2026-12-01 — incidents opened: 2, resolved: 1, open now: 1; "
                "muted: 1; tokens expiring soon: 1.",
            )
        ],
        "the digest at 08:00 in the bot's zone",
    )
    (digest,) = said
    (row,) = bot.outbox(DIGEST)
    message = DailyDigest.model_validate(row.payload)
    counted = {state: n for state, n in message.by_state.items() if n}
    assert counted == {"healthy": 4, "degraded": 1, "failing": 1}
    assert [i.org_key for i in message.opened] == ["broken", "mended"]
    assert [i.org_key for i in message.resolved] == ["mended"]
    assert [(m.org_key, m.by) for m in message.muted] == [("muted", AGENT)]
    assert [t.org_key for t in message.expiring] == ["expiring"]
    assert [(d.org_key, d.connector, d.detail) for d in message.drift] == [
        ("drifting", "SBQ_BTW", "-AccountNo")
    ]
    shown = [b["text"]["text"] for b in json.loads(digest.blocks) if b["type"] == "section"]
    assert shown == [
        ":x: Failing: 1  ·  :warning: Degraded: 1  ·  :white_check_mark: Healthy: 4  ·  "
        ":rotating_light: incidents open now: 1",
        "*Opened in the last 24 hours* (2)\n"
        "• *broken* (Broken) · opened 19 h ago · :red_circle: still open\n"
        "• *mended* (Mended) · opened 19 h ago · :white_check_mark: resolved after 15 min",
        "*Resolved in the last 24 hours* (1)\n"
        "• *mended* (Mended) · lasted 15 min, resolved 19 h ago",
        f"*Muted* (1)\n• *muted* (Muted) · until 2026-12-02 10:00 CET, by <@{AGENT}>",
        "*Tokens expiring within 14 days* (1)\n"
        "• *expiring* (Expiring) · expires on 2026-12-10, in 9 days",
        "*Open drift warnings* (1)\n• *drifting* (Drifting) · `SBQ_BTW` · -AccountNo",
    ]

    assert not await bot.digest_at(datetime(2026, 12, 1, 7, 1, tzinfo=UTC))
    assert not await bot.digest_at(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    assert_said(bot.said(), [], "the digest ticks later the same day")


# -- 5. the bot's own network --------------------------------------------------------------------

NETWORK = ["north", "east", "south", "west"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Network:
    """The bot's way out: AFAS (the sandbox) and the canary are on one port, answering only
    while the network is up. AFAS itself keeps its state (``broken``) through an outage."""

    def __init__(self, names: list[str]) -> None:
        self.port = free_port()
        self.environments = [{"name": n, "number": 70001 + i} for i, n in enumerate(names)]
        self.broken: list[str] = []  # environments whose App Connector lacks SBQ_BTW

    @property
    def url_template(self) -> str:
        return url_template_for("127.0.0.1", self.port)

    @property
    def canary(self) -> str:
        return f"http://127.0.0.1:{self.port}/canary"

    def up(self) -> SandboxServer:
        sandbox = sandbox_of(*self.environments, port=self.port)
        for name in self.broken:
            self.break_(sandbox, name)
        return sandbox

    def break_(self, sandbox: SandboxServer, name: str) -> None:
        if name not in self.broken:
            self.broken.append(name)
        sandbox.scenario.by_name(name).app_connector.get_connectors.remove("SBQ_BTW")


async def test_the_bots_own_network_lost_is_said_about_itself_once(make_runtime, slack) -> None:
    network = Network(NETWORK)
    runtime = make_runtime(network.url_template, **bot_settings(network.canary))
    bot = Conversation(runtime, slack)
    with network.up() as sandbox:
        for name in NETWORK:
            bot.add_org(sandbox, name, f"C0{name.upper()}")
        network.break_(sandbox, "south")  # broken since before: its incident is open
        await bot.sweep_at(T0 - 30 * MINUTES)
        await bot.sweep_at(T0 - 15 * MINUTES)
        assert_said(bot.said(), [post("C0SOUTH", "South (south) is broken")], "south breaking")
        network.break_(sandbox, "west")  # west's first bad check comes just before the outage
        await bot.sweep_at(T0)
        assert_said(bot.said(), [], "west's first bad check, south still broken")

    # The network is gone: AFAS and the canary refuse every connection.
    result = await bot.sweep_at(T0 + 15 * MINUTES)
    assert result.offline
    assert_said(
        bot.said(),
        [post(OPS, "The bot itself has no network")],
        "the first sweep without a network (nothing about west nor south)",
    )
    for minutes in (30, 45):
        result = await bot.sweep_at(T0 + minutes * MINUTES)
        assert result.offline and result.checked == ()
        assert_said(bot.said(), [], f"still no network, {minutes} minutes in")

    with network.up():  # the network is back; west and south are still broken
        result = await bot.sweep_at(T0 + 60 * MINUTES)
        assert not result.offline and sorted(result.checked) == sorted(NETWORK)
        said = bot.said()
        assert_said(
            said,
            [
                post(OPS, "The bot has its network back"),
                post("C0WEST", "West (west) is broken"),  # its second bad check
            ],
            "the first sweep with the network back",
        )
        (west,) = [s for s in said if s.channel == "C0WEST"]
        assert "*Cause:* connectors missing" in west.blocks, west.blocks
        assert "AFAS was unreachable" not in west.blocks, "west's alert blames AFAS"
        for minutes in (75, 90):
            await bot.sweep_at(T0 + minutes * MINUTES)
            assert_said(bot.said(), [], f"{minutes} minutes in: nothing more about the orgs")
    incidents = bot.incidents()
    assert sorted(incidents) == ["south", "west"]
    assert {i.cause for i in incidents.values()} == {"connectors_missing"}


async def test_the_network_back_within_the_platform_window_is_no_afas_outage(
    make_runtime, slack
) -> None:
    network = Network(NETWORK)
    runtime = make_runtime(network.url_template, **bot_settings(network.canary))
    bot = Conversation(runtime, slack)
    with network.up() as sandbox:
        for name in NETWORK:
            bot.add_org(sandbox, name, f"C0{name.upper()}")
        await bot.sweep_at(T0)
    result = await bot.sweep_at(T0 + 15 * MINUTES)  # every org was due: none answered
    assert result.offline
    assert_said(bot.said(), [post(OPS, "The bot itself has no network")], "the network lost")
    with network.up():  # ten minutes later it is back; the orgs fall due one after the other
        await bot.sweep_at(T0 + 25 * MINUTES, due=["north"])
        assert_said(
            bot.said(),
            [post(OPS, "The bot has its network back")],
            "the first sweep with the network back (one org due)",
        )
        await bot.sweep_at(T0 + 27 * MINUTES, due=["east", "south", "west"])
        assert_said(bot.said(), [], "the other orgs checked, all healthy")
    assert bot.incidents() == {}
