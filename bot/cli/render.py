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
    for item in report.items:
        if problems_only and item.status in (ItemStatus.OK, ItemStatus.NOT_CHECKABLE):
            continue
        icon, style = STATUS_STYLE[item.status]
        table.add_row(
            Text(icon, style=style),
            item.title.get(language),
            item.guide_section,
            Text(item.found.get(language), style=style if item.status != ItemStatus.OK else ""),
            item.fix.get(language) if item.fix and item.status is not ItemStatus.OK else "",
        )
    console.print(table)
