"""What every CLI command shares: one-line errors with exit status 2, the operator's name."""

from __future__ import annotations

import codecs
import getpass
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
import typer

from afas.tokens import AfasToken, TokenFormatError

USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print one line to stderr and exit (2 = bad input; nothing was changed). Control
    characters that came with the input (a newline, an escape sequence) are shown escaped, so
    the line stays one line and the terminal is left as it was."""
    typer.echo(f"error: {printable(message)}", err=True)
    raise typer.Exit(code)


def confirm(question: str) -> bool:
    """Ask on the terminal; with nobody to answer (no terminal, end of input) it is a usage
    error that names ``--yes``, not click's bare "Aborted."."""
    try:
        return typer.confirm(question)
    except (typer.Abort, click.exceptions.Abort):
        fail("nothing was changed: no one could confirm; add --yes to go ahead without asking")


#: A token file holds a few hundred bytes (the XML form of a token); more is another file
#: (``/dev/zero``, a log, a disk image) and is not read to its end.
TOKEN_FILE_LIMIT = 64 * 1024


def read_token_file(path: str) -> AfasToken:
    """Read a token from a file (``-`` for stdin); any failure is a one-line usage error."""
    try:
        if path == "-":
            text = sys.stdin.read(TOKEN_FILE_LIMIT + 1)
        else:
            with open(path, "rb") as file:
                text = decode_token_file(file.read(TOKEN_FILE_LIMIT + 1))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            reason = "not a text file"
        elif isinstance(exc, ValueError):  # a NUL in the path
            reason = "not a file name"
        else:
            reason = exc.strerror or type(exc).__name__
        fail(f"cannot read the token file {printable(path)}: {reason}")
    if len(text) > TOKEN_FILE_LIMIT:
        fail(
            f"the token file {printable(path)} is larger than {TOKEN_FILE_LIMIT // 1024} KiB: "
            "a token file holds one token (a few hundred characters)"
        )
    try:
        return AfasToken.parse(text)
    except TokenFormatError as exc:
        fail(f"the token file {printable(path)} holds no AFAS token. {exc}")


def printable(text: object, *, lines: bool = False) -> str:
    """``text`` with every control character (C0, DEL, C1: terminal escape sequences start
    with one) written as a ``\\x..`` escape, so a terminal shows it and never obeys it.
    ``lines`` keeps line breaks and tabs (notes, a Markdown document)."""
    pattern = _CONTROL_BUT_LINES if lines else _CONTROL
    return pattern.sub(_escaped, str(text))


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


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
    from storage.db import DatabaseUrlError
    from storage.errors import StorageError

    try:
        yield
    except BotError as exc:  # the same taxonomy Slack answers, in the CLI's English
        fail(t(exc.key, "en", **exc.values).replace("`", ""))
    except DatabaseUrlError as exc:
        fail(f"the database URL (AFASBOT_DATABASE_URL) cannot be used: {exc}")
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
