"""``/afas rotate``, ``/afas edit`` and ``/afas remove``: modals. STUB: being built."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.errors import UserError
from bot.slack.commands import EditCommand, RemoveCommand, RotateCommand
from bot.slack.listeners.deps import CommandContext, SlackDeps


async def rotate_command(ctx: CommandContext, command: RotateCommand) -> None:
    raise UserError("usage.unknown")


async def edit_command(ctx: CommandContext, command: EditCommand) -> None:
    raise UserError("usage.unknown")


async def remove_command(ctx: CommandContext, command: RemoveCommand) -> None:
    raise UserError("usage.unknown")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """Modal submissions and buttons of this feature (none yet)."""
