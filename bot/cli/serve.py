"""``afasbot serve``: start the bot after its start-up checks (schema, token keys)."""

from __future__ import annotations

import asyncio

import typer

from bot.cli.common import fail, user_errors
from bot.process import SlackConfig, serve_until_signalled
from bot.runtime import open_runtime
from bot.settings import get_settings


def serve() -> None:
    """Run the scheduled checks and, with AFASBOT_SLACK_BOT_TOKEN set, the Slack app.

    Refuses to start on an outdated schema or unusable keys. Stops on SIGTERM or Ctrl+C,
    releasing its leases.
    """
    settings = get_settings()
    try:
        slack = SlackConfig.from_settings(settings)
    except ValueError as exc:
        fail(str(exc))
    with user_errors():
        runtime = open_runtime(settings)
    typer.echo(
        f"afasbot serve: checking due orgs every {settings.scheduler_tick_seconds:g} s "
        f"(at most {settings.check_concurrency} at a time); Slack app: "
        + (f"{slack.mode} mode" if slack else "off (no AFASBOT_SLACK_BOT_TOKEN)")
        + ". Ctrl+C stops."
    )
    try:
        service = asyncio.run(serve_until_signalled(runtime, slack))
    finally:
        runtime.close()
    typer.echo(f"Stopped after {service.sweeps} sweeps.")


def register(app: typer.Typer) -> None:
    app.command()(serve)
