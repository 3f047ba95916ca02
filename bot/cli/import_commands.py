"""``afasbot org import FILE.csv``: register many orgs from a spreadsheet.

The file is read (``bot/cli/import_file.py``), every row checked, the tokens verified with AFAS
concurrently and each org stored with its first check (``bot/services/bulk_import.py``). What
is printed: a progress bar on stderr while AFAS is asked (on a terminal, without ``--quiet``),
a line per row, the summary; the rejected rows go to a CSV file of their own with the line
number, the key and the reason, never a token. Exit status 0 when every row is registered or
was already, 1 when some were rejected, 2 when the file cannot be read at all (then nothing
was imported).
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.cli.common import fail, operator_name, printable, user_errors
from bot.cli.import_file import ImportFile, ImportFileError, read_import_file, shown_path
from bot.cli.import_file import token_file_reader as file_reader
from bot.i18n import normalise_language, t
from bot.runtime import Runtime, open_runtime
from bot.services.bulk_import import ImportSummary, Outcome, RowResult, import_rows
from bot.settings import get_settings

SOME_REJECTED = 1
INTERRUPTED = 130


def org_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with the columns key,name,env,kind,token and optionally "
            "alert_channel,cs_owner,notes,interval_seconds (token: the token, or @file).",
            show_default=False,
        ),
    ],
    rejected: Annotated[
        Path | None,
        typer.Option(
            "--rejected",
            help="Where the rejected rows go (line, key, reason); "
            "default: NAME.rejected.csv next to the file.",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the summary: no progress bar, no rows.")
    ] = False,
    lang: Annotated[
        str | None, typer.Option("--lang", help="nl or en (default: AFASBOT_LANGUAGE).")
    ] = None,
) -> None:
    """Register orgs from a spreadsheet: every row checked, the tokens verified with AFAS,
    each org stored with its first check. Safe to run again."""
    settings = get_settings()
    language = normalise_language(lang or settings.language)
    target = rejected or file.with_name(f"{file.stem}.rejected.csv")
    if _same_file(target, file):  # before anything is read: the input is never overwritten
        fail(t("bulk_import.file.same_file", language))
    try:
        sheet = read_import_file(file)
    except ImportFileError as problem:
        fail(problem.reason.text(language))
    _check_target(target, language)
    if sheet.encoding == "cp1252" and not quiet:
        typer.echo(t("bulk_import.read_as_cp1252", language, path=shown_path(file)), err=True)
    with user_errors():
        runtime = open_runtime(settings)
    done: list[RowResult] = []
    try:
        with _progress(language, quiet=quiet) as bar:
            summary = asyncio.run(_import(runtime, sheet, language, done, bar))
    except KeyboardInterrupt:
        registered = sum(1 for r in done if r.outcome is Outcome.REGISTERED)
        typer.echo(t("bulk_import.interrupted", language, registered=registered), err=True)
        raise typer.Exit(INTERRUPTED) from None
    finally:
        runtime.close()
    _report(summary, target, sheet, language, quiet=quiet)


async def _import(
    runtime: Runtime,
    sheet: ImportFile,
    language: str,
    done: list[RowResult],
    bar: _Bar | None,
) -> ImportSummary:
    def started(total: int) -> None:
        if bar is not None:
            bar.start(total)

    def finished(result: RowResult) -> None:
        done.append(result)
        if bar is not None:
            bar.advance(result)

    async with runtime.afas_client() as client:
        return await import_rows(
            runtime,
            client,
            sheet.rows,
            read_token_file=file_reader(sheet.path.parent),
            actor=operator_name(),
            concurrency=runtime.settings.check_concurrency,
            language=language,
            on_start=started,
            on_result=finished,
        )


# -- output ---------------------------------------------------------------------------------


def _report(
    summary: ImportSummary, target: Path, sheet: ImportFile, language: str, *, quiet: bool
) -> None:
    if not quiet:
        for result in summary.results:
            typer.echo(printable(row_line(result, language)))
    rejected = summary.rejected
    typer.echo(
        t(
            "bulk_import.summary",
            language,
            registered=summary.registered,
            already=summary.already,
            rejected=len(rejected),
        )
    )
    if not rejected:
        typer.echo(t("bulk_import.all_done", language))
        return
    try:
        write_rejected(target, rejected, language, delimiter=sheet.delimiter)
    except OSError as exc:
        if quiet:  # the reasons were not printed: they must go somewhere
            for result in rejected:
                typer.echo(printable(row_line(result, language)), err=True)
        typer.echo(
            t(
                "bulk_import.rejected_unwritten",
                language,
                rejected=len(rejected),
                path=shown_path(target),
                reason=exc.strerror or type(exc).__name__,
            ),
            err=True,
        )
    else:
        typer.echo(
            t(
                "bulk_import.some_rejected",
                language,
                rejected=len(rejected),
                path=shown_path(target),
            )
        )
    raise typer.Exit(SOME_REJECTED)


def row_line(result: RowResult, language: str) -> str:
    """One row's result as the terminal shows it."""
    key = result.key or t("bulk_import.no_key", language)
    environment = result.environment.label_in(language) if result.environment else "?"
    if result.outcome is Outcome.REGISTERED:
        state = t(f"state.{result.state}", language) if result.state else "?"
        return t(
            "bulk_import.registered_line",
            language,
            line=result.line,
            key=key,
            environment=environment,
            fingerprint=result.fingerprint or "?",
            state=state,
        )
    if result.outcome is Outcome.ALREADY:
        return t(
            "bulk_import.already_line", language, line=result.line, key=key, environment=environment
        )
    reason = result.reason.text(language) if result.reason else "?"
    return t("bulk_import.rejected_line", language, line=result.line, key=key, reason=reason)


def write_rejected(
    path: Path, rejected: list[RowResult], language: str, *, delimiter: str = ","
) -> None:
    """The rejected rows as CSV (line, key, reason), in the input's delimiter and with a
    byte-order mark, so that Excel opens it as it opened the input. Written whole or not at
    all (a temporary file renamed over the target)."""
    header = [t(f"bulk_import.rejected_header.{column}", language) for column in _REJECTED_COLUMNS]
    with _replacing(path) as file:
        writer = csv.writer(file, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        for result in rejected:
            reason = result.reason.text(language) if result.reason else ""
            writer.writerow([result.line, result.key, printable(reason)])


_REJECTED_COLUMNS = ("line", "key", "reason")


@contextmanager
def _replacing(path: Path) -> Iterator:
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with open(handle, "w", encoding="utf-8-sig", newline="") as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _same_file(target: Path, source: Path) -> bool:
    try:
        return target.resolve() == source.resolve()
    except OSError:
        return False


def _check_target(target: Path, language: str) -> None:
    """Before anything is imported: the rejected rows' folder takes a new file (so that the
    reasons are not lost at the end)."""
    folder = target.parent if str(target.parent) else Path(".")
    problem = None
    if not folder.is_dir():
        problem = "no such folder"
    elif not os.access(folder, os.W_OK):
        problem = "no permission to write there"
    elif target.is_dir():
        problem = "that is a folder"
    if problem:
        fail(
            t("bulk_import.file.rejected_folder", language, path=shown_path(target), reason=problem)
        )


# -- the progress bar -------------------------------------------------------------------------


class _Bar:
    """The progress of the AFAS verifications (rows settled without AFAS are not counted)."""

    def __init__(self, progress: Progress, language: str) -> None:
        self.progress = progress
        self.task = progress.add_task(t("bulk_import.verifying", language), total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, result: RowResult) -> None:
        self.progress.advance(self.task)


@contextmanager
def _progress(language: str, *, quiet: bool) -> Iterator[_Bar | None]:
    """A bar on stderr, only for a person watching a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        yield _Bar(progress, language)
