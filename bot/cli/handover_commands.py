"""``afasbot handover KEY [--lang nl|en] [--out FILE]``: the customer-success handover note of
a registered org as Markdown, the same document Slack attaches. From the database only (AFAS
is not asked); printed, or written to FILE.

The token keys are used when they are configured, to say whether the bot can decrypt the
stored token; without them the note says that this was not verified. Exit status 0, or 2 for
bad input (an unknown key, an unwritable file).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail, printable, user_errors
from bot.handover_markdown import handover_markdown
from bot.i18n import t
from bot.runtime import Runtime, open_runtime
from bot.services.handover import load_note
from bot.settings import Settings, get_settings
from storage.errors import KeyConfigError


def handover(
    key: Annotated[str, typer.Argument(help="A registered org's key.")],
    lang: Annotated[str | None, typer.Option(help="nl or en.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the Markdown to this file.")
    ] = None,
) -> None:
    """The customer-success handover note of an org, as Markdown."""
    settings = get_settings()
    language = lang or settings.language
    if language not in ("nl", "en"):
        fail("--lang must be nl or en")
    runtime = _open(settings)
    try:
        with user_errors():
            note = load_note(runtime, key, now=datetime.now(UTC))
    finally:
        runtime.close()
    # Names and notes stored before control characters were refused are shown, not obeyed.
    text = printable(handover_markdown(note, language=language), lines=True)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or type(exc).__name__}")
    typer.echo(t("handover.written", language, org=note.key, path=str(out)))


def _open(settings: Settings) -> Runtime:
    """With the token keys if they are configured and readable; else without (the note then
    says the token was not verified). Any other problem is the usual one-line error."""
    with user_errors():
        try:
            return open_runtime(settings)
        except KeyConfigError:
            return open_runtime(settings, keys=False)


def register(app: typer.Typer) -> None:
    app.command()(handover)
