"""What every CLI command shares: one-line errors with exit status 2, the operator's name."""

from __future__ import annotations

import codecs
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
import typer

from afas.tokens import AfasToken, TokenFormatError

USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print one line to stderr and exit (2 = bad input; nothing was changed)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def confirm(question: str) -> bool:
    """Ask on the terminal; with nobody to answer (no terminal, end of input) it is a usage
    error that names ``--yes``, not click's bare "Aborted."."""
    try:
        return typer.confirm(question)
    except (typer.Abort, click.exceptions.Abort):
        fail("nothing was changed: no one could confirm; add --yes to go ahead without asking")


def read_token_file(path: str) -> AfasToken:
    """Read a token from a file (``-`` for stdin); any failure is a one-line usage error."""
    try:
        text = sys.stdin.read() if path == "-" else decode_token_file(Path(path).read_bytes())
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        fail(f"cannot read the token file {path}: {reason}")
    try:
        return AfasToken.parse(text)
    except TokenFormatError as exc:
        fail(f"the token file {path} holds no AFAS token. {exc}")


def decode_token_file(raw: bytes) -> str:
    """A token file's text. Windows tools write a byte-order mark: Notepad's "UTF-8 with BOM"
    and PowerShell 5's ``Out-File -Encoding UTF8`` in UTF-8, ``Out-File`` and ``>`` in UTF-16."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def operator_name() -> str:
    """Who runs the CLI, for the audit log: the operator's login name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the domain errors a person can fix into one line on stderr and exit status 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from afas.environments import EnvironmentFormatError
    from afas.profile import ProfileError
    from bot.errors import BotError
    from bot.i18n import t
    from storage.errors import StorageError

    try:
        yield
    except BotError as exc:  # the same taxonomy Slack answers, in the CLI's English
        fail(t(exc.key, "en", **exc.values).replace("`", ""))
    except (StorageError, EnvironmentFormatError, ProfileError, TokenFormatError) as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"the database (AFASBOT_DATABASE_URL) cannot be used: {database_reason(exc)}")


def database_reason(exc: Exception) -> str:
    """The first line of the driver's own message; never the URL (it may hold a password)."""
    from sqlalchemy.exc import ArgumentError

    if isinstance(exc, ArgumentError):
        return "the URL is not a database URL this bot supports (sqlite:/// or postgresql://)"
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__
