"""Buttons on an alert: Acknowledge and Mute (helpdesk agents), in the alert's thread.
("Re-check now" is the report's re-check button: bot/slack/listeners/actions.py.)

Every press gets an answer: a value that does not parse (forged or from an old message), a
value naming another alert's incident or org than the message pressed (forged), an incident
that is over or was acknowledged by someone else, an org that no longer exists each get a
clear ephemeral message and change nothing; only a press that changed something writes in the
thread. A mute says who and until when, in the bot's time zone (as ``/afas mute`` does)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerting.messages import OPENED, IncidentOpened, read_message
from bot.blocks.alert import ACK_ACTION, MUTE_ACTION, MUTE_CHOICES, alert_blocks
from bot.errors import Role, UserError
from bot.i18n import t
from bot.runtime import Runtime
from bot.slack.durations import parse_until
from bot.slack.errors import answering_errors
from bot.slack.listeners import SlackDeps
from bot.slack.listeners.mute import Alert, announce, apply_mute, bot_zone
from storage.repository import (
    acknowledge_incident,
    get_incident,
    get_org_by_id,
    incident_message,
)

_INCIDENT_ID = re.compile(r"[1-9][0-9]{0,17}")


@dataclass(frozen=True)
class Acknowledged:
    done: bool  # this press acknowledged it
    by: str | None  # who had acknowledged it, when it was someone before
    closed: bool
    org_key: str
    opened: IncidentOpened | None  # the alert as posted, to write it again


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
    if action.get("action_id") == ACK_ACTION:
        await deps.roles.require(user, Role.AGENT, action="action.acknowledge")
        await _acknowledge_pressed(body, action, respond, client, deps, user)
    else:
        await deps.roles.require(user, Role.AGENT, action="action.mute")
        await _mute_pressed(body, action, client, deps, user)


async def _acknowledge_pressed(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: SlackDeps,
    user: str,
) -> None:
    value = action.get("value") or ""
    if not _INCIDENT_ID.fullmatch(value):
        raise UserError("error.stale_button")
    incident_id = int(value)
    result = await asyncio.to_thread(
        _acknowledge, deps.runtime, incident_id, user, _pressed_message(body)
    )
    if not result.done:
        reader = await deps.languages.of(user)
        if result.closed:
            message = t("error.already_closed", reader, org=result.org_key)
        else:
            message = t("error.already_acknowledged", reader, user=f"<@{result.by}>")
        await respond(text=message, response_type="ephemeral", replace_original=False)
        return
    language = deps.runtime.settings.alert_language  # the channel's language, like the alert
    pressed = _pressed_message(body)
    if pressed is None:
        return
    channel, ts = pressed
    reply = t("alert.acknowledged_reply", language, user=f"<@{user}>")
    if result.opened is not None:
        await client.chat_update(
            channel=channel,
            ts=ts,
            text=reply,
            blocks=alert_blocks(
                result.opened, language=language, incident_id=incident_id, acknowledged_by=user
            ),
        )
    await client.chat_postMessage(channel=channel, thread_ts=ts, text=reply)


async def _mute_pressed(
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
    user: str,
) -> None:
    key, _, choice = (action.get("value") or "").partition(":")
    if choice not in MUTE_CHOICES or not key:
        raise UserError("error.stale_button")
    now = datetime.now(UTC)
    until = parse_until((choice,), now=now, zone=bot_zone(deps.runtime))
    pressed = _pressed_message(body)
    change = await asyncio.to_thread(
        apply_mute, deps.runtime, key, until=until, actor=user, now=now, pressed=pressed
    )
    await announce(client, deps, change, user=user, also=pressed)


def _pressed_message(body: dict[str, Any]) -> Alert | None:
    """The message whose button was pressed: (channel, ts), if Slack said."""
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    return (channel, ts) if channel and ts else None


def _acknowledge(
    runtime: Runtime, incident_id: int, user: str, pressed: Alert | None
) -> Acknowledged:
    """Acknowledge; also the alert as posted, so the root message can be written again. A
    press on another incident's alert (a forged value) is refused and changes nothing."""
    with runtime.session() as session:
        incident = get_incident(session, incident_id)
        posted = (incident.slack_channel, incident.slack_ts)
        if pressed is not None and incident.slack_ts and posted != pressed:
            raise UserError("error.stale_button")
        done = acknowledge_incident(session, incident.id, actor=user, at=datetime.now(UTC))
        incident = get_incident(session, incident_id)
        org = get_org_by_id(session, incident.org_id)
        row = incident_message(session, incident.id, kind=OPENED)
        opened = read_message(row.kind, row.payload) if row is not None else None
        return Acknowledged(
            done=done,
            by=incident.acknowledged_by,
            closed=not incident.is_open,
            org_key=org.key,
            opened=opened if isinstance(opened, IncidentOpened) else None,
        )


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
            await answering_errors(
                alert_button(ack, body, action, respond, client, deps),
                deps.languages,
                body,
                ack,
                client,
                respond,
            )
