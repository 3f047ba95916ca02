"""Buttons: "Re-check" and "Deep check" under a report, "Re-check now" on an alert. Everyone
may use them (a check is read-only). Under a report (an ephemeral message) the new report
replaces it; under an alert the report comes as a new message only for the reader, the alert
stays, and the org is made due so the next scheduled check updates the alert. A button whose
value does not parse (a forged or outdated request) is answered, never ignored."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.report import RECHECK_ACTION, RECHECK_DEEP_ACTION
from bot.errors import UserError
from bot.runtime import Runtime
from bot.slack.commands import CheckCommand, parse_command
from bot.slack.errors import answering_errors
from bot.slack.listeners import SlackDeps
from bot.slack.listeners.commands import run_check_command
from storage.repository import get_org, schedule_check


async def recheck(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    deps: SlackDeps,
) -> None:
    await ack()
    user = (body.get("user") or {}).get("id", "")
    language = await deps.languages.of(user)
    deep = action.get("action_id") == RECHECK_DEEP_ACTION
    # The button's value is an org key we put there; parse it like typed input all the same.
    parsed = parse_command(f"check {action.get('value') or ''}")
    if not isinstance(parsed, CheckCommand):
        raise UserError("error.stale_button")
    under_alert = not (body.get("container") or {}).get("is_ephemeral", False)
    if under_alert:  # first, so that the alert is re-evaluated even if this check fails
        await asyncio.to_thread(_due_now, deps.runtime, parsed.key)
    await run_check_command(
        respond, deps, user, parsed.key, deep, language, replace=not under_alert
    )


def _due_now(runtime: Runtime, key: str) -> None:
    with runtime.session() as session:
        schedule_check(session, get_org(session, key).id)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    for action_id in (RECHECK_ACTION, RECHECK_DEEP_ACTION):

        @app.action(action_id)
        async def _recheck(
            ack: AsyncAck,
            body: dict[str, Any],
            action: dict[str, Any],
            respond: AsyncRespond,
            client: AsyncWebClient,
        ) -> None:
            await answering_errors(
                recheck(ack, body, action, respond, deps),
                deps.languages,
                body,
                ack,
                client,
                respond,
            )
