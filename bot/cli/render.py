"""Showing a check report in a terminal (rich) or as JSON."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from afas.report import CheckReport, ItemStatus, OverallState

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
    heading = title or f"AFAS environment {report.environment}"
    console.print(
        Text.assemble(
            (f"{heading}: ", "bold"),
            (report.headline.get(language), OVERALL_STYLE[report.overall]),
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
    console.print(" · ".join(facts), style="dim")
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
            item.title.get(language),
            item.guide_section,
            Text(item.found.get(language), style=style if item.status != ItemStatus.OK else ""),
            item.fix.get(language) if item.fix and item.status is not ItemStatus.OK else "",
        )
    if problems_only and len(unknown) > 1:
        icon, style = STATUS_STYLE[ItemStatus.UNKNOWN]
        what = "more requirements" if language == "en" else "andere vereisten"
        table.add_row(
            Text(icon, style=style),
            f"{len(unknown)} {what}",
            "",
            Text(unknown[-1].found.get(language), style=style),
            unknown[-1].fix.get(language) if unknown[-1].fix else "",
        )
    console.print(table)
