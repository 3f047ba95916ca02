"""The overview table (``afasbot demo``): its "first problem" column shows what was found."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from rich.console import Console

from afas.outcomes import AfasOutcome, OutcomeKind
from bot.cli.demo import show_overview
from bot.cli.render import first_problem
from tests.bot.blocks import factories as f

REJECTED = AfasOutcome(OutcomeKind.TOKEN_REJECTED, status=401)
BLOCKED = AfasOutcome(
    OutcomeKind.APP_CONNECTOR_BLOCKED, status=500, message="De App connector is geblokkeerd."
)


def expiring():
    expiry = (f.NOW + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = f.metainfo()
    meta.data["info"]["tokenExpiry"] = expiry
    return f.report_from(f.probes(meta=meta))


CASES = {
    "revoked token": (
        lambda: f.rejected_token(),
        "AFAS rejects the token (HTTP 401)",
        "AFAS weigert het token (HTTP 401)",
        "Token is accepted",
    ),
    "blocked app connector": (
        lambda: f.report_from(f.probes(meta=BLOCKED, version=BLOCKED, special={})),
        "AFAS says the App Connector is blocked: De App connector is geblokkeerd.",
        "AFAS meldt dat de App Connector geblokkeerd is: De App connector is geblokkeerd.",
        "App Connector is not blocked",
    ),
    "expiring token": (
        expiring,
        "the token expires on 2026-12-01, in 5 days",
        "het token verloopt op 2026-12-01, over 5 dagen",
        "Token does not expire soon",
    ),
    "missing connectors": (
        lambda: f.near_misses(),
        "SBQ_BTW: is not in the App Connector (+2)",
        "SBQ_BTW: staat niet in de App Connector (+2)",
        "GetConnector SBQ_BTW",
    ),
}


@pytest.mark.parametrize(("make", "en", "nl", "title"), CASES.values(), ids=CASES.keys())
def test_the_first_problem_is_the_finding_not_the_requirement(make, en, nl, title) -> None:
    report = make()
    assert first_problem(report, "en") == en
    assert first_problem(report, "nl") == nl
    assert title not in first_problem(report, "en")


def test_a_healthy_report_has_no_first_problem() -> None:
    assert first_problem(f.healthy(), "en") == ""


def test_the_overview_table_shows_the_findings() -> None:
    results = [SimpleNamespace(org_key=name, report=make()) for name, (make, *_) in CASES.items()]
    console = Console(record=True, width=250)
    show_overview(console, results, "en", 0.5)
    shown = console.export_text()
    assert "AFAS rejects the token (HTTP 401)" in shown
    assert "the token expires on" in shown
    for _make, _en, _nl, title in CASES.values():
        assert title not in shown
