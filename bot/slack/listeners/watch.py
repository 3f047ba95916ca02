"""``/afas watch <org>``. STUB: being built."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.errors import UserError
from bot.slack.commands import WatchCommand
from bot.slack.listeners.deps import CommandContext, SlackDeps


async def watch_command(ctx: CommandContext, command: WatchCommand) -> None:
    raise UserError("usage.unknown")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The Stop button (none yet)."""
