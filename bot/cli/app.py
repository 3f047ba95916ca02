"""The command-line twin of the bot: ``afasbot ...``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import typer
from pydantic import ValidationError

from bot.cli import (
    afas_commands,
    db_commands,
    demo,
    export_commands,
    handover_commands,
    org_commands,
    serve,
    sweep_commands,
)
from bot.cli.common import fail
from bot.logging_setup import configure_logging
from bot.settings import (
    PREFIX,
    Settings,
    environment,
    field_named,
    get_settings,
    unknown_settings,
    variable_for,
)

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
handover_commands.register(app)
db_commands.register(app)
demo.register(app)
serve.register(app)
sweep_commands.register(app)


@app.callback()
def _setup() -> None:
    """Logging for every command, with secrets redacted (bot/logging_setup.py); a warning
    for each ``AFASBOT_`` variable that is no setting (a typo), before anything else."""
    environ = environment()
    warnings = unknown_settings(environ)
    try:
        settings = get_settings()
    except ValidationError as exc:
        _warn(warnings, json_lines=False)
        fail("; ".join(setting_problems(exc, environ)))
    configure_logging(settings.log_level, fmt=settings.log_format, secrets=secret_values(settings))
    _warn(warnings, json_lines=settings.log_format == "json")


def _warn(warnings: list[str], *, json_lines: bool) -> None:
    """One line each on stderr; through the log when it is JSON (one object per line)."""
    for warning in warnings:
        if json_lines:
            logging.getLogger("bot.settings").warning("%s", warning)
        else:
            typer.echo(f"warning: {warning}", err=True)


def setting_problems(exc: ValidationError, environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per wrong setting, all at once, each naming its variable (not its value): the
    one that was set, for a setting read under several names."""
    given = environment() if environ is None else environ
    problems = []
    for error in exc.errors():
        field = field_named(str(error["loc"][0])) if error["loc"] else None
        if field is not None:
            name = variable_for(field, given)
        else:
            name = PREFIX + "_".join(str(part) for part in error["loc"]).upper()
        problems.append(
            f"the setting {name} is invalid: {error['msg'].removeprefix('Value error, ')}"
        )
    return problems


def secret_values(settings: Settings) -> list[str]:
    """The configured secrets, to be redacted from every log line (bot/logging_setup.py)."""
    values: list[str] = []
    for secret in (
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.encryption_keys,
    ):
        if secret is not None:
            text = secret.get_secret_value()
            values += [text, *text.replace(",", " ").replace(":", " ").split()]
    return values


def main() -> None:
    app()
