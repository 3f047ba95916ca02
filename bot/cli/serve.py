"""``afasbot serve``: start the bot after its start-up checks (schema, token keys)."""

from __future__ import annotations

import typer

from bot.cli.common import fail, user_errors
from bot.runtime import open_runtime
from bot.settings import get_settings


def serve() -> None:
    """Start the bot. Refuses to start on an outdated schema or unusable token keys."""
    settings = get_settings()
    with user_errors():
        runtime = open_runtime(settings)
    runtime.close()
    fail(
        "the database and the token keys are ready, but the Slack app is not part of this "
        "version yet: use the CLI (afasbot check, afasbot org ...) meanwhile",
        code=1,
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
