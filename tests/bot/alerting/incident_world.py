"""One org (acme) on the AFAS sandbox, swept at chosen moments, and the Slack fake: the world
the incident tests drive. The opening alerts and recoveries go through ``drain_outbox``; the
changes to an open incident (cause, problems, end of a mute) through their own senders
(``bot/alerting/incident_updates.py``), called as delivery calls them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from afas.sandbox.server import SandboxServer
from bot.alerting.delivery import Delivery, drain_outbox
from bot.alerting.incident_updates import (
    send_cause_changed,
    send_hold_ended,
    send_problems_changed,
)
from bot.alerting.messages import (
    CAUSE_CHANGED,
    HOLD_ENDED,
    PROBLEMS_CHANGED,
    IncidentCauseChanged,
    IncidentHoldEnded,
    read_message,
)
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.models import Incident, Org, OutboxMessage
from storage.repository import add_org, mute_org, schedule_check
from tests.fakes.slack import SlackWebApiFake

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CHANNEL = "C0ALERTS"
UPDATE_KINDS = (CAUSE_CHANGED, PROBLEMS_CHANGED, HOLD_ENDED)


def add_acme(runtime, sandbox: SandboxServer) -> None:
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
            alert_channel=CHANNEL,
            now=T0,
        )


class World:
    def __init__(self, runtime, sandbox: SandboxServer, slack: SlackWebApiFake) -> None:
        self.runtime, self.sandbox, self.slack = runtime, sandbox, slack
        self.client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        self.delivery = Delivery(language="nl", default_channel=None)

    @property
    def acme(self):
        return self.sandbox.scenario.by_name("acme")

    # -- AFAS breaking and mending ---------------------------------------------------------

    def remove_connector(self, connector: str) -> None:
        self.acme.app_connector.get_connectors.remove(connector)

    def add_connector(self, connector: str) -> None:
        self.acme.app_connector.get_connectors.append(connector)

    def revoke_token(self, revoked: bool = True) -> None:
        self.acme.token_revoked = revoked

    # -- the bot -----------------------------------------------------------------------------

    async def check_at(self, moment: datetime) -> None:
        with self.runtime.session() as session:
            org = session.exec(select(Org)).one()
            schedule_check(session, org.id, at=moment)
        async with self.runtime.afas_client() as afas:
            await sweep(self.runtime, afas, owner="replica-a", now=moment)

    def mute(self, until: datetime | None, *, now: datetime, actor: str = "U0SANNE") -> None:
        with self.runtime.session() as session:
            mute_org(session, "acme", until=until, actor=actor, now=now)

    async def deliver_at(self, moment: datetime) -> None:
        """Send what is due: the changes to an open incident through their senders, the rest
        through ``drain_outbox``."""
        await self.send_updates(moment)
        await drain_outbox(self.runtime, self.client, self.delivery, owner="a", now=moment)

    async def send_updates(self, moment: datetime) -> int:
        sent = 0
        for row in self.pending(UPDATE_KINDS):
            incident = self.incident()
            root = (incident.slack_channel, incident.slack_ts)
            message = read_message(row.kind, row.payload)
            if isinstance(message, IncidentCauseChanged):
                send = send_cause_changed
            elif isinstance(message, IncidentHoldEnded):
                send = send_hold_ended
            else:
                send = send_problems_changed
            assert await send(
                self.client,
                row,
                message,
                root=root,
                language="nl",
                acknowledged_by=incident.acknowledged_by,
            )
            with self.runtime.session() as session:
                session.get(OutboxMessage, row.id).sent_at = moment
            sent += 1
        return sent

    # -- what there is -------------------------------------------------------------------------

    def outbox(self) -> list[OutboxMessage]:
        with self.runtime.session() as session:
            rows = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
            for row in rows:
                session.expunge(row)
            return rows

    def kinds(self) -> list[str]:
        return [row.kind for row in self.outbox()]

    def pending(self, kinds: tuple[str, ...]) -> list[OutboxMessage]:
        return [row for row in self.outbox() if row.sent_at is None and row.kind in kinds]

    def incidents(self) -> list[Incident]:
        with self.runtime.session() as session:
            rows = list(session.exec(select(Incident).order_by(col(Incident.id))))
            for row in rows:
                session.expunge(row)
            return rows

    def incident(self) -> Incident:
        (incident,) = [i for i in self.incidents() if i.closed_at is None]
        return incident

    def roots(self) -> list[dict]:
        """The channel's top-level messages (thread replies apart)."""
        return [m for m in self.slack.messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]

    def replies(self) -> list[dict]:
        (root,) = self.roots()
        return [
            m
            for m in self.slack.messages(CHANNEL)
            if m.get("thread_ts") == root["ts"] and m["ts"] != root["ts"]
        ]
