"""`/afas mute <org> <duration>` and `/afas unmute <org>` (agents). STUB: being built."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.errors import UserError
from bot.slack.commands import MuteCommand, UnmuteCommand
from bot.slack.listeners.deps import CommandContext, SlackDeps


async def mute_command(ctx: CommandContext, command: MuteCommand) -> None:
    raise UserError("usage.unknown")


async def unmute_command(ctx: CommandContext, command: UnmuteCommand) -> None:
    raise UserError("usage.unknown")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """Buttons and modals of this feature (none yet)."""
