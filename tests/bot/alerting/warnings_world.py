"""One org (acme) on its own AFAS sandbox, checked on schedule at chosen moments, and the Slack
fake: the world the warning tests (token expiry, drift) drive. The checks go through the one
check path as the sweep calls it (``check_org``, trigger schedule, deep when ``deep_due``);
the warnings are sent by their own senders, called as the outbox's sender calls them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import select

from afas.sandbox.server import SandboxServer
from bot.alerting.drift import (
    DRIFT_CLEARED,
    DRIFT_FOUND,
    DriftCleared,
    DriftFound,
    deep_due,
    send_drift_cleared,
    send_drift_found,
)
from bot.alerting.expiry import TOKEN_EXPIRING, TokenExpiring, send_token_expiring
from bot.services.checks import check_org
from bot.slack.app import web_client
from storage.models import CheckTrigger, ConnectorBaseline, Org, OutboxMessage
from storage.outbox import claim_outbox, mark_outbox_sent
from storage.repository import add_org, mute_org
from tests.fakes.slack import SlackWebApiFake

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CHANNEL = "C0ALERTS"
WARNING_KINDS = (TOKEN_EXPIRING, DRIFT_FOUND, DRIFT_CLEARED)


def add_acme(runtime, sandbox: SandboxServer, *, channel: str | None = CHANNEL) -> None:
    env = sandbox.scenario.by_name("acme")
    with runtime.session() as session:
        add_org(
            session,
            key="acme",
            display_name="Acme BV",
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            alert_channel=channel,
            now=T0,
        )


class Outbox:
    """A replica's view of the outbox."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime

    def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        with self.runtime.session() as session:
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [r for r in rows if kind is None or r.kind == kind]


class World(Outbox):
    def __init__(self, runtime, sandbox: SandboxServer, slack: SlackWebApiFake) -> None:
        self.runtime, self.sandbox, self.slack = runtime, sandbox, slack
        self.client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)

    @property
    def acme(self):
        return self.sandbox.scenario.by_name("acme")

    async def check_at(self, moment: datetime, *, deep: bool | None = None):
        """A scheduled check of acme at ``moment``, deep when it is due (as the sweep asks)."""
        org = self.org()
        if deep is None:
            deep = deep_due(org, moment, self.runtime.settings.drift_check_hours)
        async with self.runtime.afas_client() as afas:
            return await check_org(
                self.runtime, afas, org, trigger=CheckTrigger.SCHEDULE, deep=deep, now=moment
            )

    def org(self) -> Org:
        with self.runtime.session() as session:
            return session.exec(select(Org).where(Org.key == "acme")).one()

    def mute(self, until: datetime, *, now: datetime) -> None:
        with self.runtime.session() as session:
            mute_org(session, "acme", until=until, actor="U0MUTER", now=now)

    def baseline(self) -> ConnectorBaseline | None:
        with self.runtime.session() as session:
            return session.exec(select(ConnectorBaseline)).first()

    async def deliver(self, now: datetime, *, default_channel: str | None = None) -> int:
        """Send the due warnings as the outbox's sender does: returns how many were posted."""
        with self.runtime.session() as session:
            claimed = claim_outbox(session, now=now, owner="tester", lease_seconds=60, limit=50)
        posted = 0
        for row in claimed:
            assert row.kind in WARNING_KINDS, f"an outbox message no warning test expects: {row}"
            if row.kind == TOKEN_EXPIRING:
                message = TokenExpiring.model_validate(row.payload)
                done = await send_token_expiring(
                    self.client,
                    row,
                    message,
                    channel=message.channel or default_channel,
                    language="nl",
                )
            elif row.kind == DRIFT_FOUND:
                found = DriftFound.model_validate(row.payload)
                done = await send_drift_found(
                    self.runtime,
                    self.client,
                    row,
                    found,
                    channel=found.channel or default_channel,
                    language="nl",
                )
            else:
                cleared = DriftCleared.model_validate(row.payload)
                done = await send_drift_cleared(self.client, row, cleared, language="nl")
            with self.runtime.session() as session:
                assert mark_outbox_sent(session, row.id, owner="tester", sent_at=now)
            posted += int(done)
        return posted


def top_level(slack: SlackWebApiFake, channel: str = CHANNEL) -> list[dict]:
    """The channel's messages (thread replies apart), as they are now (edits included)."""
    return [m for m in slack.messages(channel) if m.get("thread_ts") in (None, m["ts"])]


def replies(slack: SlackWebApiFake, root: dict, channel: str = CHANNEL) -> list[dict]:
    return [
        m
        for m in slack.messages(channel)
        if m.get("thread_ts") == root["ts"] and m["ts"] != root["ts"]
    ]


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


def buttons(message: dict) -> dict[str, str]:
    """action_id -> value of the message's buttons."""
    return {
        element["action_id"]: element.get("value", "")
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block["elements"]
    }
