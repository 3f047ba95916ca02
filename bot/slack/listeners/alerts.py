"""Buttons on an alert: Acknowledge and Mute (helpdesk agents), in the alert's thread.
("Re-check now" is the report's re-check button: bot/slack/listeners/actions.py.)

Every press gets an answer: a value that does not parse (forged or from an old message), a
value naming another alert's incident or org than the message pressed (forged), an incident
that is over or was acknowledged by someone else, an org that no longer exists each get a
clear ephemeral message and change nothing; only a press that changed something writes in the
thread. A mute says who and until when, in the bot's time zone (as ``/afas mute`` does).

An acknowledgement edits the alert through the outbox (bot/alerting/acknowledgement.py: in
order with the incident's other messages, so a recovery racing it always has the last word),
sent at once from here. The press also proves where the alert is: when the sender that posted
it died before remembering it, the press remembers it (and marks that message sent)."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.alerting.acknowledgement import ACKNOWLEDGED, IncidentAcknowledged, acknowledged_key
from bot.alerting.delivery import Delivery, deliver_now
from bot.alerting.messages import OPENED, ROOT_KINDS
from bot.blocks.alert import ACK_ACTION, MUTE_ACTION, MUTE_CHOICES
from bot.errors import Role, UserError
from bot.i18n import t
from bot.replica import replica_id
from bot.runtime import Runtime
from bot.slack.durations import parse_until
from bot.slack.errors import answering_errors
from bot.slack.listeners import SlackDeps
from bot.slack.listeners.mute import Alert, announce, apply_mute, bot_zone
from storage.models import Incident
from storage.outbox import latest_incident_message, mark_outbox_posted
from storage.repository import (
    acknowledge_incident,
    enqueue_outbox,
    get_incident,
    get_org_by_id,
    incident_message,
    set_incident_message,
)

log = logging.getLogger(__name__)

_INCIDENT_ID = re.compile(r"[1-9][0-9]{0,17}")


@dataclass(frozen=True)
class Acknowledged:
    done: bool  # this press acknowledged it
    by: str | None  # who had acknowledged it, when it was someone before
    closed: bool
    org_key: str
    message_id: int | None = None  # the outbox message that edits the alert and says who


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
    if result.message_id is not None:
        await _send_acknowledgement(deps.runtime, client, result.message_id, incident_id)


async def _send_acknowledgement(
    runtime: Runtime, client: AsyncWebClient, message_id: int, incident_id: int
) -> None:
    """Send the acknowledgement's message now; when that fails it stays in the outbox, whose
    next tick sends it (logged, not raised: the press itself succeeded)."""
    try:
        await deliver_now(
            runtime,
            client,
            Delivery.from_settings(runtime.settings),
            message_id,
            owner=replica_id(),
            now=datetime.now(UTC),
        )
    except Exception:
        log.exception(
            "the acknowledgement of incident %s was not sent now; the outbox sends it later",
            incident_id,
        )


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
    """Acknowledge, and in the same transaction write the message that says so in Slack. A
    press on another incident's alert (a forged value) is refused and changes nothing; so
    is one on an incident that is over (``acknowledge_incident`` refuses a closed one)."""
    now = datetime.now(UTC)
    with runtime.session() as session:
        incident = get_incident(session, incident_id)
        posted = (incident.slack_channel, incident.slack_ts)
        if pressed is not None and incident.slack_ts and posted != pressed:
            raise UserError("error.stale_button")
        done = acknowledge_incident(session, incident.id, actor=user, at=now)
        incident = get_incident(session, incident_id)
        org = get_org_by_id(session, incident.org_id)
        message_id = None
        if done:
            if pressed is not None:
                _remember_pressed_alert(session, incident, pressed, now)
            message_id = _write_acknowledgement(session, incident, org.key, user, now)
        return Acknowledged(
            done=done,
            by=incident.acknowledged_by,
            closed=not incident.is_open,
            org_key=org.key,
            message_id=message_id,
        )


def _remember_pressed_alert(
    session: Session, incident: Incident, pressed: Alert, now: datetime
) -> None:
    """The pressed message carries this incident's buttons, so it is its alert: remember it
    (when its sender died before it could), and its opening message is in Slack (when its
    sender died before saying so), so that the acknowledgement need not wait for it."""
    channel, ts = pressed
    if not incident.slack_ts:
        set_incident_message(session, incident.id, channel=channel, ts=ts)
    opened = incident_message(session, incident.id, kind=OPENED, unsent_only=True)
    if opened is not None:
        mark_outbox_posted(session, opened.id, at=now, evidence=f"in Slack at {ts}: pressed")


def _write_acknowledgement(
    session: Session, incident: Incident, org_key: str, user: str, now: datetime
) -> int:
    """The outbox message that edits the alert (as it stands now) and says who is on it."""
    root = latest_incident_message(session, incident.id, kinds=ROOT_KINDS)
    message = IncidentAcknowledged(
        org_key=org_key,
        by=user,
        at=now,
        channel=incident.slack_channel or (root.payload.get("channel") if root else None),
        root_kind=root.kind if root is not None else None,
        root=dict(root.payload) if root is not None else None,
    )
    return enqueue_outbox(
        session,
        kind=ACKNOWLEDGED,
        payload=message.model_dump(mode="json"),
        dedup_key=acknowledged_key(incident.id),
        org_id=incident.org_id,
        incident_id=incident.id,
        now=now,
    ).message.id


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
