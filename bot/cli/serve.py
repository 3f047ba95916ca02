"""``afasbot serve``: start the bot after its start-up checks (schema, token keys)."""

from __future__ import annotations

import asyncio

import typer

from bot.cli.common import user_errors
from bot.runtime import open_runtime
from bot.service import serve_until_signalled
from bot.settings import get_settings


def serve() -> None:
    """Run the scheduled checks. Refuses to start on an outdated schema or unusable keys.

    Stops on SIGTERM or Ctrl+C, releasing its leases. (The Slack app joins in its own issue.)
    """
    settings = get_settings()
    with user_errors():
        runtime = open_runtime(settings)
    typer.echo(
        f"afasbot serve: checking due orgs every {settings.scheduler_tick_seconds:g} s "
        f"(at most {settings.check_concurrency} at a time). Ctrl+C stops."
    )
    try:
        service = asyncio.run(serve_until_signalled(runtime))
    finally:
        runtime.close()
    typer.echo(f"Stopped after {service.sweeps} sweeps.")


def register(app: typer.Typer) -> None:
    app.command()(serve)
