"""``/afas``: ``check <org> [deep]``, ``status``, ``help`` for everyone who can see the app;
``register`` (opens the registration form) for helpdesk agents (product.md, "Who may do what").

Acknowledge first, within Slack's 3 seconds, with nothing; then answer through the command's
``response_url``: a "checking" notice, replaced by the report when AFAS has answered.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.help import help_blocks
from bot.blocks.history import CheckLine, IncidentLine, history_blocks, history_text
from bot.blocks.home import HomePosition
from bot.blocks.messages import checking_blocks, checking_text, usage_blocks, usage_text
from bot.blocks.register import register_modal
from bot.blocks.report import report_blocks, report_text
from bot.blocks.status import PAGE_SIZE, status_page_blocks, status_page_text
from bot.errors import Role, UserError
from bot.i18n import t
from bot.runtime import Runtime
from bot.services.checks import check_org
from bot.slack.commands import (
    CheckCommand,
    CommandError,
    EditCommand,
    HandoverCommand,
    HelpCommand,
    HistoryCommand,
    MuteCommand,
    RegisterCommand,
    RemoveCommand,
    RotateCommand,
    StatusCommand,
    UnmuteCommand,
    WatchCommand,
    closest_verb,
    parse_command,
)
from bot.slack.errors import answering_errors
from bot.slack.listeners import SlackDeps, handover, mute, org_admin, watch
from bot.slack.listeners.deps import CommandContext
from storage.dashboard import DashboardPage, dashboard_page
from storage.models import CheckTrigger
from storage.repository import get_org, org_history, org_incidents

log = logging.getLogger(__name__)
_WORD = re.compile(r"[A-Za-z]{1,20}")
HISTORY_WINDOW = timedelta(days=30)


async def afas_command(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    """Errors are raised, not answered here: the app's error handler (bot/slack/errors.py)
    answers each in the reader's language."""
    await ack()
    user = command.get("user_id", "")
    language = await deps.languages.of(user)
    parsed = parse_command(command.get("text"))
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
            await deps.roles.require(user, Role.AGENT, action="action.register")
            # The trigger id lives 3 seconds: the form opens before anything slow.
            await client.views_open(
                trigger_id=command.get("trigger_id", ""), view=register_modal(language=language)
            )
        case StatusCommand():
            # ``state``: the parser's filter (``/afas status failing``), when it gives one.
            await show_status(respond, deps, language, HomePosition(0, parsed.state))
        case HistoryCommand(key=key):
            key_, display_name, checks, incidents = await asyncio.to_thread(
                history_rows, deps.runtime, key, datetime.now(UTC)
            )
            await respond(
                blocks=history_blocks(
                    key_, display_name, checks, incidents, language=language, now=datetime.now(UTC)
                ),
                text=history_text(key_, language=language),
                response_type="ephemeral",
            )
        case CheckCommand(key=key, deep=deep):
            await run_check_command(respond, deps, user, key, deep, language)
        case (
            MuteCommand()
            | UnmuteCommand()
            | RotateCommand()
            | EditCommand()
            | RemoveCommand()
            | WatchCommand()
            | HandoverCommand()
        ):
            ctx = CommandContext(
                user=user,
                language=language,
                channel=command.get("channel_id", ""),
                trigger_id=command.get("trigger_id", ""),
                respond=respond,
                client=client,
                deps=deps,
            )
            await _ORG_COMMANDS[type(parsed)](ctx, parsed)
        case CommandError(reason="usage.unknown"):
            typed = _verb(command.get("text"))
            await respond(
                blocks=usage_blocks(
                    language=language,
                    subcommand=typed,
                    suggestion=closest_verb(typed) if typed else None,
                ),
                text=usage_text(language=language),
                response_type="ephemeral",
            )
        case CommandError(reason=reason):
            raise UserError(reason)


#: The subcommands about one org that live in their own modules, by command type.
_ORG_COMMANDS: dict[type, Any] = {
    MuteCommand: mute.mute_command,
    UnmuteCommand: mute.unmute_command,
    RotateCommand: org_admin.rotate_command,
    EditCommand: org_admin.edit_command,
    RemoveCommand: org_admin.remove_command,
    WatchCommand: watch.watch_command,
    HandoverCommand: handover.handover_command,
}


def _verb(text: str | None) -> str | None:
    """The word typed as a subcommand, repeated only when it is a plain short word (an agent
    may paste anything, a token too, where a subcommand belongs)."""
    words = (text or "").split()
    return words[0] if words and _WORD.fullmatch(words[0]) else None


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


def history_rows(
    runtime: Runtime, key: str, now: datetime
) -> tuple[str, str, list[CheckLine], list[IncidentLine]]:
    """The org's latest 10 checks and its incidents of the last 30 days (``UnknownOrgError``)."""
    with runtime.session() as session:
        org = get_org(session, key)
        checks = [
            CheckLine(run.started_at, run.trigger, run.overall_state)
            for run in org_history(session, org.key, limit=10)
        ]
        incidents = [
            IncidentLine(i.opened_at, i.closed_at, i.acknowledged_by)
            for i in reversed(org_incidents(session, org.key, since=now - HISTORY_WINDOW))
        ]
        return org.key, org.display_name, checks, incidents


def load_status_page(runtime: Runtime, position: HomePosition, now: datetime) -> DashboardPage:
    """One page of ``/afas status`` (the nearest that exists), with the counts of every org:
    the App Home's query at the status' page size."""
    with runtime.session() as session:
        return dashboard_page(
            session, page=position.page, page_size=PAGE_SIZE, now=now, state=position.state
        )


async def show_status(
    respond: AsyncRespond,
    deps: SlackDeps,
    language: str,
    position: HomePosition,
    *,
    notice: str | None = None,
    say_if_moved: bool = False,
    replace: bool = False,
) -> DashboardPage:
    """Answer with the status page at ``position`` (``HomePosition``: page and filter), only
    for the reader; ``replace`` puts it in place of the message a button was pressed in. With
    ``say_if_moved`` (a page number from a button) a page that no longer exists says which is
    shown instead. A mute's end shows in the bot's time zone."""
    from zoneinfo import ZoneInfo  # (the lead may move this to the module's imports)

    now = datetime.now(UTC)
    page = await asyncio.to_thread(load_status_page, deps.runtime, position, now)
    if say_if_moved and notice is None and page.page != position.page:
        notice = t("home.page_moved", language, page=page.page + 1, pages=page.page_count)
    zone = ZoneInfo(deps.runtime.settings.timezone)
    await respond(
        blocks=status_page_blocks(page, language=language, now=now, zone=zone, notice=notice),
        text=status_page_text(page, language=language),
        response_type="ephemeral",
        replace_original=replace,
    )
    return page


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.command("/afas")
    async def _afas(
        ack: AsyncAck,
        body: dict[str, Any],
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await answering_errors(
            afas_command(ack, command, respond, client, deps),
            deps.languages,
            body,
            ack,
            client,
            respond,
        )
