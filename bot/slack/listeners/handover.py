"""``/afas handover <org>``. STUB: being built."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.errors import UserError
from bot.slack.commands import HandoverCommand
from bot.slack.listeners.deps import CommandContext, SlackDeps


async def handover_command(ctx: CommandContext, command: HandoverCommand) -> None:
    raise UserError("usage.unknown")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The Handover button (none yet)."""
