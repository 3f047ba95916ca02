"""``/afas``: ``check <org> [deep]``, ``status``, ``help`` for everyone who can see the app;
``register`` (opens the registration form) for helpdesk agents (product.md, "Who may do what").

Acknowledge first, within Slack's 3 seconds, with nothing; then answer through the command's
``response_url``: a "checking" notice, replaced by the report when AFAS has answered.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.help import help_blocks
from bot.blocks.messages import checking_blocks, checking_text, error_blocks
from bot.blocks.register import register_modal
from bot.blocks.report import report_blocks, report_text
from bot.blocks.status import OrgStatusRow, status_blocks
from bot.i18n import t
from bot.runtime import Runtime
from bot.services.org_checks import check_org
from bot.slack.commands import (
    CheckCommand,
    CommandError,
    HelpCommand,
    RegisterCommand,
    StatusCommand,
    parse_command,
)
from bot.slack.errors import friendly_blocks
from bot.slack.listeners import SlackDeps
from bot.slack.permissions import Role
from storage.errors import StorageError
from storage.models import CheckTrigger
from storage.repository import list_orgs

log = logging.getLogger(__name__)


async def afas_command(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    await ack()
    user = command.get("user_id", "")
    language = await deps.languages.of(user)
    parsed = parse_command(command.get("text"))
    try:
        match parsed:
            case HelpCommand():
                role = await deps.roles.of(user)
                await respond(
                    blocks=help_blocks(
                        language=language,
                        is_agent=role >= Role.AGENT,
                        is_admin=role >= Role.ADMIN,
                    ),
                    text=t("help.title", language),
                    response_type="ephemeral",
                )
            case RegisterCommand():
                await open_registration_form(respond, client, deps, command, user, language)
            case StatusCommand():
                rows = await asyncio.to_thread(status_rows, deps.runtime)
                await respond(
                    blocks=status_blocks(rows, language=language, now=datetime.now(UTC)),
                    text=t("status.title", language),
                    response_type="ephemeral",
                )
            case CheckCommand(key=key, deep=deep):
                await run_check_command(respond, deps, user, key, deep, language)
            case CommandError(reason=reason):
                await respond(
                    blocks=error_blocks(t(reason, language), language=language),
                    text=t(reason, language),
                    response_type="ephemeral",
                )
    except Exception as error:
        await answer_error(respond, error, language, user=user)


async def open_registration_form(
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: SlackDeps,
    command: dict[str, Any],
    user: str,
    language: str,
) -> None:
    """Helpdesk agents get the form; the trigger id lives 3 seconds, so this comes first."""
    if await deps.roles.of(user) < Role.AGENT:
        message = (
            t("register.not_allowed", language) + " " + t("register.not_allowed_hint", language)
        )
        await respond(
            blocks=error_blocks(message, language=language),
            text=message,
            response_type="ephemeral",
        )
        return
    await client.views_open(
        trigger_id=command.get("trigger_id", ""), view=register_modal(language=language)
    )


async def run_check_command(
    respond: AsyncRespond,
    deps: SlackDeps,
    user: str,
    key: str,
    deep: bool,
    language: str,
    *,
    replace: bool = True,
) -> None:
    """ "Checking…", then the report in its place. ``replace=False`` under a message that must
    stay (an alert in a channel): then both are new messages, only for the reader."""
    await respond(
        blocks=checking_blocks(key, language=language, deep=deep),
        text=checking_text(key, language=language, deep=deep),
        response_type="ephemeral",
        replace_original=replace,
    )
    result = await check_org(
        deps.runtime, deps.afas, key, trigger=CheckTrigger.COMMAND, actor=user, deep=deep
    )
    await respond(
        blocks=report_blocks(
            result.report,
            language=language,
            org_key=result.org_key,
            display_name=result.display_name,
        ),
        text=report_text(result.report, language=language, org_key=result.org_key),
        response_type="ephemeral",
        replace_original=replace,
    )


async def answer_error(
    respond: AsyncRespond, error: Exception, language: str, *, user: str
) -> None:
    if not isinstance(error, StorageError):
        log.exception("/afas failed for user %s", user)
    blocks = friendly_blocks(error, language=language)
    await respond(
        blocks=blocks,
        text=t("error.title", language),
        response_type="ephemeral",
        replace_original=True,
    )


def status_rows(runtime: Runtime) -> list[OrgStatusRow]:
    with runtime.session() as session:
        return [
            OrgStatusRow(
                key=org.key,
                display_name=org.display_name,
                environment=org.environment.label,
                state=org.current_state,
                last_checked_at=org.last_checked_at,
                muted_until=org.mute_until,
            )
            for org in list_orgs(session)
        ]


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.command("/afas")
    async def _afas(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await afas_command(ack, command, respond, client, deps)
