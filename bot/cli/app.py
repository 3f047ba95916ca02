"""The command-line twin of the bot: ``afasbot ...``."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from bot.cli import afas_commands, db_commands, demo, export_commands, org_commands, serve
from bot.cli.common import fail
from bot.logging_setup import configure_logging
from bot.settings import get_settings

app = typer.Typer(
    name="afasbot",
    help="AFAS helpdesk bot: check customers' AFAS App Connectors, run the AFAS sandbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
afas_commands.register(app)
org_commands.register(app)
export_commands.register(app)
db_commands.register(app)
demo.register(app)
serve.register(app)


@app.callback()
def _setup() -> None:
    """Logging for every command, with secrets redacted (bot/logging_setup.py)."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "AFASBOT_" + "_".join(str(part) for part in error["loc"]).upper()
        fail(f"the setting {name} is invalid: {error['msg'].removeprefix('Value error, ')}")
    configure_logging(settings.log_level)


def main() -> None:
    app()
