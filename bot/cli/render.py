"""Showing a check report in a terminal (rich) or as JSON."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from afas.environments import EnvironmentKind
from afas.report import CheckReport, ItemStatus, OverallState, ReportItem
from bot.cli.common import printable

STATUS_STYLE = {
    ItemStatus.OK: ("✔", "green"),
    ItemStatus.WARNING: ("!", "yellow"),
    ItemStatus.FAILING: ("✘", "red"),
    ItemStatus.NOT_CHECKABLE: ("–", "dim"),
    ItemStatus.UNKNOWN: ("?", "magenta"),
}
OVERALL_STYLE = {
    OverallState.HEALTHY: "bold green",
    OverallState.DEGRADED: "bold yellow",
    OverallState.FAILING: "bold red",
    OverallState.UNREACHABLE: "bold magenta",
}


#: Item kinds whose finding needs the connector's id to make sense on its own.
_CONNECTOR_KINDS = frozenset({"get_connector", "update_connector", "special_connector"})


def first_problem(report: CheckReport, language: str) -> str:
    """What was found for the first failing item (or warning, or what could not be checked),
    and how many more: the finding, never the requirement's title ("Token is accepted" for a
    revoked token would say the opposite of what is wrong)."""
    for status in (ItemStatus.FAILING, ItemStatus.WARNING, ItemStatus.UNKNOWN):
        items = [item for item in report.items if item.status is status]
        if items:
            # Items not checked share one reason: counting them says nothing more.
            more = (
                f" (+{len(items) - 1})" if len(items) > 1 and status is not status.UNKNOWN else ""
            )
            return finding_text(items[0], language) + more
    return ""


def finding_text(item: ReportItem, language: str) -> str:
    """The item's finding, with the connector's id in front where the finding names none."""
    found = item.found.get(language)
    if item.kind in _CONNECTOR_KINDS:
        connector = item.requirement_id.partition(".")[2] or item.requirement_id
        if connector not in found:
            return f"{connector}: {found}"
    return found


def environment_heading(report: CheckReport, language: str) -> str:
    """``AFAS-omgeving 12345 (productie)`` for Dutch readers, ``AFAS environment 12345
    (production)`` for English ones."""
    try:
        kind = EnvironmentKind(report.env_kind).name_in(language)
    except ValueError:
        kind = report.env_kind
    lead = "AFAS-omgeving" if language == "nl" else "AFAS environment"
    return f"{lead} {report.env_number} ({kind})"


def report_json(report: CheckReport, *, org: str | None = None) -> str:
    data = report.to_dict()
    if org is not None:
        data = {"org": org, **data}
    return json.dumps(data, indent=2, ensure_ascii=False)


def print_report(
    console: Console,
    report: CheckReport,
    *,
    language: str = "en",
    title: str | None = None,
    problems_only: bool = False,
) -> None:
    heading = title or environment_heading(report, language)
    console.print(
        Text.assemble(
            (f"{_shown(heading)}: ", "bold"),
            (_shown(report.headline.get(language)), OVERALL_STYLE[report.overall]),
        )
    )
    facts = [
        f"token {report.token_fingerprint}",
        f"{report.requests} requests",
        f"{report.duration_ms:.0f} ms",
    ]
    if report.facts.get("profit_version"):
        facts.insert(0, f"Profit {report.facts['profit_version']}")
    if report.deep:
        facts.append("deep")
    console.print(Text(_shown(" · ".join(facts)), style="dim"))
    table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
    table.add_column("", width=1)
    table.add_column("requirement" if language == "en" else "vereiste")
    table.add_column("§", no_wrap=True)
    table.add_column("found" if language == "en" else "gevonden")
    table.add_column("fix" if language == "en" else "oplossing")
    # Items not checked for one shared reason (token refused, AFAS down) make one row.
    unknown = [
        item
        for item in report.items
        if item.status is ItemStatus.UNKNOWN and item.finding in ("not_checked", "afas_unavailable")
    ]
    for item in report.items:
        if problems_only and item.status in (ItemStatus.OK, ItemStatus.NOT_CHECKABLE):
            continue
        if problems_only and item in unknown and len(unknown) > 1:
            continue  # summed up in one row below
        icon, style = STATUS_STYLE[item.status]
        table.add_row(
            Text(icon, style=style),
            Text(_shown(item.title.get(language))),
            Text(_shown(item.guide_section)),
            Text(
                _shown(item.found.get(language)),
                style=style if item.status != ItemStatus.OK else "",
            ),
            Text(
                _shown(
                    item.fix.get(language) if item.fix and item.status is not ItemStatus.OK else ""
                )
            ),
        )
    if problems_only and len(unknown) > 1:
        icon, style = STATUS_STYLE[ItemStatus.UNKNOWN]
        what = "more requirements" if language == "en" else "andere vereisten"
        table.add_row(
            Text(icon, style=style),
            f"{len(unknown)} {what}",
            "",
            Text(_shown(unknown[-1].found.get(language)), style=style),
            Text(_shown(unknown[-1].fix.get(language) if unknown[-1].fix else "")),
        )
    console.print(table)


def _shown(text: str) -> str:
    """Text from AFAS or a person, for the terminal: as plain ``Text`` (never rich markup, so
    a ``[/x]`` in an AFAS message neither styles nor breaks the table) with its control
    characters escaped (an escape sequence is shown, never obeyed)."""
    return printable(text)
