"""Showing a check report in a terminal (rich) or as JSON, and the list of orgs as plain
fixed-width text or as JSON.

The list of orgs is not a rich table: laying out 10,000 rows took rich about 8-11 s (it
measures and wraps every cell), while columns sized once from the widest value take about
0.1 s (``bench/org_list.py``). A name wider than ``NAME_WIDTH`` is cut with "…" (``org show``
and ``--json`` give it whole); widths are counted in terminal cells, so wide characters line up.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import click
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.table import Table
from rich.text import Text

from afas.environments import EnvironmentKind
from afas.report import CheckReport, ItemStatus, OverallState, ReportItem
from bot.cli.common import printable
from storage.dashboard import NEVER_CHECKED, STATE_ORDER, OrgListing

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


# -- the list of orgs ------------------------------------------------------------------------

ORG_COLUMNS = ("key", "name", "environment", "state", "last check", "token")
NAME_WIDTH = 40
NOT_CHECKED = "not checked"
_GAP = "  "
#: The states' colours on a terminal, as the check report shows them.
_STATE_COLOURS = {
    "failing": {"fg": "red", "bold": True},
    "unreachable": {"fg": "magenta", "bold": True},
    "degraded": {"fg": "yellow", "bold": True},
    "healthy": {"fg": "green", "bold": True},
    None: {"dim": True},
}
#: What JSON leaves as it is but a terminal obeys: DEL and the C1 controls (CSI is one).
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f]")


def org_table(orgs: Sequence[OrgListing], *, colour: bool = False) -> str:
    """The orgs as fixed-width columns with a header, and a last line counting them per state.
    Names as typed, control characters shown escaped (never obeyed). ``colour``: the state in
    its colour (a terminal)."""
    rows = [
        (
            org.key,
            _cell(printable(org.display_name), NAME_WIDTH),
            printable(f"{org.env_number} ({org.env_kind})"),
            org.state or NOT_CHECKED,
            org.last_checked_at.strftime("%Y-%m-%d %H:%M UTC") if org.last_checked_at else "—",
            printable(org.token_fingerprint),
        )
        for org in orgs
    ]
    widths = [cell_len(name) for name in ORG_COLUMNS]
    for row in rows:
        for index, value in enumerate(row):
            if len(value) > widths[index] or not value.isascii():
                widths[index] = max(widths[index], cell_len(value))
    lines = [_GAP.join(_pad(name, width) for name, width in zip(ORG_COLUMNS, widths, strict=True))]
    state_column = ORG_COLUMNS.index("state")
    for row, org in zip(rows, orgs, strict=True):
        cells = [_pad(value, width) for value, width in zip(row, widths, strict=True)]
        if colour:
            shown = click.style(row[state_column], **_STATE_COLOURS.get(org.state, {}))
            cells[state_column] = shown + cells[state_column][len(row[state_column]) :]
        lines.append(_GAP.join(cells).rstrip())
    lines.append(org_summary(orgs))
    return "\n".join(lines) + "\n"


def org_summary(orgs: Sequence[OrgListing]) -> str:
    """ "10,000 orgs: failing 1,429 · … · never checked 12" (states worst first, none left out
    that has an org)."""
    counts = Counter(org.state or NEVER_CHECKED for org in orgs)
    parts = [
        f"{'never checked' if state == NEVER_CHECKED else state} {counts[state]:,}"
        for state in STATE_ORDER
        if counts[state]
    ]
    total = f"{len(orgs):,} org" + ("" if len(orgs) == 1 else "s")
    return f"{total}: {' · '.join(parts)}" if parts else total


def orgs_json(orgs: Sequence[OrgListing]) -> str:
    """A JSON array, one org per line: key, name, environment number and kind, state (null:
    never checked), ``last_check_at`` (ISO 8601 in UTC, or null) and the token's fingerprint
    (as ``org show`` shows it; never the token)."""
    items = [
        json.dumps(
            {
                "key": org.key,
                "name": org.display_name,
                "env_number": org.env_number,
                "env_kind": org.env_kind,
                "state": org.state,
                "last_check_at": _iso(org.last_checked_at),
                "token_fingerprint": org.token_fingerprint,
            },
            ensure_ascii=False,
        )
        for org in orgs
    ]
    text = "[\n" + ",\n".join(items) + "\n]" if items else "[]"
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _cell(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells, ending in "…" when cut."""
    if len(text) <= width and text.isascii():
        return text
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip() + "…"


def _pad(text: str, width: int) -> str:
    length = len(text) if text.isascii() else cell_len(text)
    return text + " " * (width - length)
