"""``afasbot serve``: start the bot after its start-up checks (schema, token keys, the Slack
settings), listening on ``--host``/``--port`` (the settings' defaults) for ``/healthz``,
``/readyz`` and, in HTTP mode, Slack's requests."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli.common import fail, user_errors
from bot.process import SlackConfig, serve_until_signalled
from bot.runtime import open_runtime
from bot.scheduler import scheduled_capacity
from bot.serving import ServeError, Server
from bot.settings import get_settings


def serve(
    port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Port to listen on (default: AFASBOT_PORT or PORT, 3000)."
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: AFASBOT_HOST, 0.0.0.0).")
    ] = None,
) -> None:
    """Run the scheduled checks, /healthz and /readyz, and, with a Slack bot token set
    (SLACK_BOT_TOKEN or AFASBOT_SLACK_BOT_TOKEN), the Slack app.

    Refuses to start on an outdated schema, unusable keys or contradicting Slack settings.
    Stops on SIGTERM or Ctrl+C, releasing its leases.
    """
    settings = get_settings()
    try:
        slack = SlackConfig.from_settings(settings)
    except ValueError as exc:
        fail(str(exc))
    with user_errors():
        runtime = open_runtime(settings)

    capacity = scheduled_capacity(
        settings.afas_total_limit, settings.afas_per_environment_limit, settings.afas_people_slots
    )

    def started(server: Server) -> None:
        typer.echo(
            f"afasbot serve: listening on {server.host}:{server.port} (/healthz, /readyz"
            + (", /slack/events" if slack and slack.mode == "http" else "")
            + "); checking each org as it falls due "
            f"(at most {capacity} at a time); Slack app: "
            + (f"{slack.mode} mode" if slack else "off (no SLACK_BOT_TOKEN)")
            + ". Ctrl+C stops.",
        )

    try:
        service = asyncio.run(
            serve_until_signalled(runtime, slack, host=host, port=port, started=started)
        )
    except ServeError as exc:
        fail(str(exc))
    finally:
        runtime.close()
    typer.echo(f"Stopped after {service.sweeps} sweeps.")


def register(app: typer.Typer) -> None:
    app.command()(serve)
