"""``afasbot export KEY [--live] [--yes] [--cleanup] [--json] [--lang nl|en]``: a test export
of a registered org. A dry run by default (writes nothing); ``--live`` creates marked test
records in the customer's AFAS and removes them again, after a confirmation (``--yes`` when no
terminal can confirm); ``--cleanup`` finishes an interrupted live export.

Exit status: 0 when the verdict is ok, 1 otherwise, 2 for bad input (nothing was changed).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from afas.exports.report import ExportReport
from afas.exports.values import GivenValueError, GivenValues
from bot.cli.common import confirm, fail, operator_name, printable, user_errors
from bot.replica import replica_id
from bot.runtime import Runtime, open_runtime
from bot.services.exports import (
    ExportOutcome,
    ValuesNotDetermined,
    cleanup_export,
    run_export,
)
from bot.settings import get_settings
from storage.errors import ExportBusyError
from storage.repository import get_org

_STATUS_STYLE = {"ok": "green", "failing": "red", "unknown": "yellow", "not_checked": "dim"}
_OVERALL_STYLE = {"ok": "green", "failing": "red", "unreachable": "magenta"}
# The words of the terminal, in both languages (the report's own texts come with it).
_WORDS = {
    "confirm": {
        "nl": "Live testexport naar {org} (omgeving {env}): testrecords aanmaken en weer "
        "verwijderen. Doorgaan?",
        "en": "Live test export to {org} (environment {env}): create test records and remove "
        "them again. Go ahead?",
    },
    "created": {"nl": "Aangemaakt", "en": "Created"},
    "left_behind": {
        "nl": "Achtergebleven (met de hand verwijderen)",
        "en": "Left behind (remove by hand)",
    },
    "values": {"nl": "Gebruikte waarden", "en": "Values used"},
    "removed": {"nl": "verwijderd", "en": "removed"},
    "kept": {"nl": "staat er nog", "en": "still there"},
}


def export(
    key: Annotated[str, typer.Argument(help="A registered org's key.")],
    live: Annotated[
        bool, typer.Option("--live", help="Create test records (and remove them) for real.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Finish an interrupted live export.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    lang: Annotated[str | None, typer.Option(help="nl or en.")] = None,
    administration: Annotated[
        str | None, typer.Option(help="Live: the administration to book in.")
    ] = None,
    journal: Annotated[str | None, typer.Option(help="Live: the memorial journal.")] = None,
    accounts: Annotated[str | None, typer.Option(help="Live: the cost ledger account.")] = None,
    vat_code: Annotated[
        str | None, typer.Option("--vat-code", help="Live: a purchase VAT code.")
    ] = None,
    period: Annotated[str | None, typer.Option(help="Live: the period, such as 2026-11.")] = None,
) -> None:
    """A test export of a registered org: dry run by default, live with --live."""
    settings = get_settings()
    language = lang or settings.language
    if language not in ("nl", "en"):
        fail("--lang must be nl or en")
    if cleanup and live:
        fail("give either --live or --cleanup, not both")
    given_any = any(v is not None for v in (administration, journal, accounts, vat_code, period))
    if given_any and not live:
        fail("--administration, --journal, --accounts, --vat-code and --period go with --live")
    try:
        given = (
            GivenValues.parse(
                administration=administration,
                journal=journal,
                accounts=accounts,
                vat_code=vat_code,
                period=period,
            )
            if given_any
            else None
        )
    except GivenValueError as exc:
        fail(exc.text.get("en"))
    with user_errors():
        runtime = open_runtime(settings)
    try:
        with user_errors():
            env_label = _environment(runtime, key)
        if (live or cleanup) and not yes:
            question = _WORDS["confirm"][language].format(org=key, env=env_label)
            if not confirm(question):
                fail("nothing was changed")
        with user_errors():
            try:
                outcome = asyncio.run(_run(runtime, key, live, cleanup, given))
            except ExportBusyError as busy:
                fail(
                    f"a live export of {busy.org_key} (run {busy.run_id}, by "
                    f"{busy.requested_by}) is unfinished: run `afasbot export {busy.org_key} "
                    "--cleanup` first"
                )
            except ValuesNotDetermined as missing:
                reasons = "; ".join(r.message.get("en") for r in missing.result.refusals)
                fail(f"nothing was written: {reasons}")
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(_json(outcome), ensure_ascii=False, indent=2))
    else:
        print_export(Console(), outcome, language=language)
    raise typer.Exit(0 if outcome.report.ok else 1)


async def _run(
    runtime: Runtime, key: str, live: bool, cleanup: bool, given: GivenValues | None
) -> ExportOutcome:
    async with runtime.afas_client() as client:
        if cleanup:
            return await cleanup_export(
                runtime, client, key, actor=operator_name(), owner=replica_id()
            )
        return await run_export(
            runtime,
            client,
            key,
            live=live,
            actor=operator_name(),
            owner=replica_id(),
            given=given,
        )


def _environment(runtime: Runtime, key: str) -> str:
    with runtime.session() as session:
        return get_org(session, key).environment.label


def _json(outcome: ExportOutcome) -> dict:
    body = outcome.report.to_dict()
    body["run_id"] = outcome.run_id
    if outcome.values is not None and outcome.values.values is not None:
        body["values"] = {
            name.value: {
                "value": str(found.value),
                "source": outcome.values.values.source(name).text.model_dump(),
            }
            for name, found in outcome.values.found.items()
        }
    return body


def print_export(console: Console, outcome: ExportOutcome, *, language: str) -> None:
    report: ExportReport = outcome.report
    overall = report.overall.value
    console.print(
        f"[bold]{_m(outcome.display_name)} ({_m(outcome.org_key)})[/bold] · "
        f"{_m(outcome.environment)} · {report.mode.value} · run {outcome.run_id}: "
        f"[{_OVERALL_STYLE.get(overall, 'white')}]{_m(report.headline.get(language))}[/]"
    )
    table = Table("connector", "status", "found", "fix")
    for item in report.connectors:
        table.add_row(
            Text(printable(item.connector_id)),
            f"[{_STATUS_STYLE.get(item.status.value, 'white')}]{item.status.value}[/]",
            Text(printable(item.found.get(language))),
            Text(printable(item.fix.get(language) if item.fix else "")),
        )
    for check in report.checks:
        table.add_row(
            Text(printable(f"§{check.guide_section} {check.id}")),
            f"[{_STATUS_STYLE.get(check.status.value, 'white')}]{check.status.value}[/]",
            Text(printable(check.found.get(language))),
            Text(printable(check.fix.get(language) if check.fix else "")),
        )
    console.print(table)
    if outcome.values is not None and outcome.values.values is not None:
        console.print(f"[bold]{_WORDS['values'][language]}[/bold]")
        for name, found in outcome.values.found.items():
            source = outcome.values.values.source(name).text.get(language)
            console.print(f"  {_m(name.value)}: {_m(found.value)} — {_m(source)}")
    if report.created:
        console.print(f"[bold]{_WORDS['created'][language]}[/bold]")
        for record in report.created:
            state = _WORDS["removed" if record.removed else "kept"][language]
            console.print(f"  {_m(record.connector_id)} {_m(record.key)}: {state}")
    if report.left_behind:
        console.print(f"[bold red]{_WORDS['left_behind'][language]}[/bold red]")
        for left in report.left_behind:
            console.print(
                f"  {_m(left.connector_id)} {_m(left.key)}: {_m(left.reason.get(language))} "
                f"{_m(left.how_to_remove.get(language))}"
            )


def _m(value: object) -> str:
    """A value from AFAS or a person inside rich markup: shown as it is, never as markup or
    as a terminal escape sequence."""
    return escape(printable(value))


def register(app: typer.Typer) -> None:
    app.command()(export)
