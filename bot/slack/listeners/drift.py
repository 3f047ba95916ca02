"""The "Accept as the new baseline" button on a drift warning (bot/alerting/drift.py): helpdesk
agents make what the latest deep check found the org's baseline.

Asked again on every press: the role (agents only), then the value (``<org key>:<drift
hash>``, bot/blocks/warnings.py ``accept_value``). A value that does not parse, names another
org's warning than the message pressed, or a difference that changed since (a newer warning
says what differs now) is refused with a clear ephemeral message and changes nothing; so is a
press when there is nothing (left) to accept. An accepted baseline is audited
(``baseline.accepted``) and the warning is rewritten: who accepted it and when, button gone.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerting.drift import DriftFound, drift_message
from bot.blocks.warnings import ACCEPT_ACTION, drift_accepted_text, drift_blocks
from bot.errors import Role, UserError
from bot.runtime import Runtime
from bot.slack.errors import answering_errors
from bot.slack.listeners import SlackDeps
from bot.slack.listeners.mute import bot_zone
from storage.baselines import Acceptance, accept_drift
from storage.repository import get_org

_VALUE = re.compile(r"(?P<key>[a-z0-9][a-z0-9_-]{0,62}):(?P<hash>[0-9a-f]{12})")


@dataclass(frozen=True)
class Accepted:
    outcome: Acceptance
    org_key: str
    warning: DriftFound | None  # the warning as accepted, to write it again


async def accept_pressed(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    await ack()
    user = (body.get("user") or {}).get("id", "")
    await deps.roles.require(user, Role.AGENT, action="action.accept_baseline")
    value = _VALUE.fullmatch(action.get("value") or "")
    if value is None:
        raise UserError("error.stale_button")
    pressed = _pressed_message(body)
    now = datetime.now(UTC)
    result = await asyncio.to_thread(
        _accept, deps.runtime, value["key"], value["hash"], user, pressed, now
    )
    if result.outcome is Acceptance.ELSEWHERE:
        raise UserError("error.stale_button")
    if result.outcome is Acceptance.STALE:
        raise UserError("warning.drift.stale", org=result.org_key)
    if result.outcome is Acceptance.NO_DRIFT:
        raise UserError("warning.drift.no_drift", org=result.org_key)
    if pressed is None or result.warning is None:
        return
    language = deps.runtime.settings.alert_language  # the channel's language, like the warning
    at = now.astimezone(bot_zone(deps.runtime)).strftime("%Y-%m-%d %H:%M %Z")
    channel, ts = pressed
    await client.chat_update(
        channel=channel,
        ts=ts,
        blocks=drift_blocks(result.warning, language=language, accepted_by=user, accepted_at=at),
        text=drift_accepted_text(result.warning, language=language, user=user),
    )


def _pressed_message(body: dict[str, Any]) -> tuple[str, str] | None:
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    return (channel, ts) if channel and ts else None


def _accept(
    runtime: Runtime,
    key: str,
    drift_hash: str,
    user: str,
    pressed: tuple[str, str] | None,
    now: datetime,
) -> Accepted:
    """Accept in one transaction; ``UnknownOrgError`` (answered by the error handler) for an
    org that no longer exists."""
    with runtime.session() as session:
        org = get_org(session, key)
        result = accept_drift(session, org, drift_hash, actor=user, at=now, pressed=pressed)
        warning = None
        if result.outcome is Acceptance.ACCEPTED and result.drift is not None:
            warning = drift_message(
                org,
                result.drift,
                found_at=result.found_at or now,
                baseline_taken_at=result.taken_at,
            )
        return Accepted(result.outcome, org.key, warning)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(ACCEPT_ACTION)
    async def _pressed(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await answering_errors(
            accept_pressed(ack, body, action, respond, client, deps),
            deps.languages,
            body,
            ack,
            client,
            respond,
        )
