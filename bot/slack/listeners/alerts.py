"""Buttons on an alert: Acknowledge and Mute (helpdesk agents), in the alert's thread.
("Re-check now" is the report's re-check button: bot/slack/listeners/actions.py.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select

from bot.alerting.record import OPENED
from bot.blocks.alert import ACK_ACTION, MUTE_ACTION, MUTE_CHOICES, alert_blocks
from bot.blocks.messages import error_blocks
from bot.i18n import t
from bot.runtime import Runtime
from bot.slack.listeners import SlackDeps
from bot.slack.permissions import Role
from storage.models import OutboxMessage
from storage.repository import acknowledge_incident, get_incident, mute_org

MUTE_FOR = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}


async def alert_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    await ack()
    user = (body.get("user") or {}).get("id", "")
    language = deps.runtime.settings.alert_language  # the channel's language, like the alert
    reader = await deps.languages.of(user)
    if await deps.roles.of(user) < Role.AGENT:
        message = t("register.not_allowed_hint", reader)
        await respond(
            blocks=error_blocks(message, language=reader),
            text=message,
            response_type="ephemeral",
            replace_original=False,
        )
        return
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    now = datetime.now(UTC)
    if action.get("action_id") == ACK_ACTION:
        incident_id = int(action.get("value", "0") or 0)
        done, payload = await asyncio.to_thread(_acknowledge, deps.runtime, incident_id, user, now)
        if done and payload is not None and channel and ts:
            await client.chat_update(
                channel=channel,
                ts=ts,
                text=t("alert.acknowledged_reply", language, user=f"<@{user}>"),
                blocks=alert_blocks(
                    payload, language=language, incident_id=incident_id, acknowledged_by=user
                ),
            )
            await client.chat_postMessage(
                channel=channel,
                thread_ts=ts,
                text=t("alert.acknowledged_reply", language, user=f"<@{user}>"),
            )
        return
    key, _, choice = (action.get("value") or "").partition(":")
    if choice not in MUTE_CHOICES:
        return
    until = now + MUTE_FOR[choice]
    await asyncio.to_thread(_mute, deps.runtime, key, until, user, now)
    if channel and ts:
        await client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text=t(
                "alert.muted_reply",
                language,
                user=f"<@{user}>",
                until=until.strftime("%Y-%m-%d %H:%M UTC"),
            ),
        )


def _acknowledge(
    runtime: Runtime, incident_id: int, user: str, now: datetime
) -> tuple[bool, dict | None]:
    """Acknowledge; also return the alert's payload so the root message can be rewritten."""
    with runtime.session() as session:
        incident = get_incident(session, incident_id)
        done = acknowledge_incident(session, incident.id, actor=user, at=now)
        opened = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.incident_id == incident.id, OutboxMessage.kind == OPENED
            )
        ).first()
        return done, (dict(opened.payload) if opened is not None else None)


def _mute(runtime: Runtime, key: str, until: datetime, user: str, now: datetime) -> None:
    with runtime.session() as session:
        mute_org(session, key, until=until, actor=user, now=now)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    for action_id in (ACK_ACTION, MUTE_ACTION):

        @app.action(action_id)
        async def _pressed(
            ack: AsyncAck,
            body: dict[str, Any],
            action: dict[str, Any],
            respond: AsyncRespond,
            client: AsyncWebClient,
        ) -> None:
            await alert_button(ack, body, action, respond, client, deps)
