"""The command-line twin of the bot: ``afasbot ...``. This file only exports ``app``."""

from bot.cli.app import app, main

__all__ = ["app", "main"]
