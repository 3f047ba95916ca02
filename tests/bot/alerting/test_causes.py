"""What broke, from real reports: each cause from the sandbox scenario that breaks an AFAS
setup that way (checked over real HTTP), and each cause's label and what to do in both
languages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from afas.check import run_check
from afas.client import AfasClient
from afas.report import CheckReport, ItemStatus, OverallState
from afas.sandbox.scenario import Scenario, scenario_from_dict
from afas.sandbox.server import SandboxServer
from bot.alerting.causes import GUIDE_SECTION, Cause, cause_label, cause_of, cause_todo
from bot.i18n import has_key, t


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AfasClient]:
    async with AfasClient(url_template=sandbox.url_template, timeout=10.0, retries=0) as afas:
        yield afas


async def check(client: AfasClient, scenario: Scenario, name: str, deep=False) -> CheckReport:
    env = scenario.by_name(name)
    return await run_check(client, env.environment(), env.token(), deep=deep)


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("healthy", None),
        ("token-expiring", None),  # degraded: a warning, not an incident
        ("revoked-token", Cause.TOKEN_REJECTED),
        # A blocked App Connector that answers 401 without a word is a refused token to AFAS
        # (the diagnosis cannot tell them apart); one that says so is blocked.
        ("blocked-app-connector", Cause.TOKEN_REJECTED),
        ("blocked-app-connector-message", Cause.APP_CONNECTOR_BLOCKED),
        ("ip-restricted", Cause.IP_REFUSED),
        ("missing-connectors", Cause.CONNECTORS_MISSING),
        ("near-miss", Cause.CONNECTORS_MISSING),  # misspelled is missing, for the helpdesk
        ("test-token-as-production", Cause.ENVIRONMENT_MISMATCH),
        ("maintenance", Cause.MAINTENANCE),
        ("garbage", Cause.AFAS_UNREACHABLE),
        ("unreachable", Cause.AFAS_UNREACHABLE),
    ],
)
async def test_the_cause_of_each_broken_setup(client, scenario, name, cause) -> None:
    assert cause_of(await check(client, scenario, name)) is cause


async def test_a_blocked_definition_is_a_setup_failure(client, scenario) -> None:
    report = await check(client, scenario, "broken-definition", deep=True)
    assert report.overall is OverallState.FAILING
    assert cause_of(report) is Cause.SETUP_FAILING


async def test_an_expired_token_that_still_answers() -> None:
    expired = scenario_from_dict(
        {"environments": [{"name": "late", "number": 40010, "token_expiry": "now-1d"}]}
    )
    with SandboxServer(expired) as server:
        async with AfasClient(url_template=server.url_template, timeout=10.0) as afas:
            report = await check(afas, expired, "late")
    assert report.item("token-expiry").finding == "expired"
    assert cause_of(report) is Cause.TOKEN_EXPIRED


async def test_the_wrong_environment_explains_the_rest(client, scenario) -> None:
    """A token of another environment also finds connectors missing: the environment is the
    cause, since fixing it is what to do first."""
    report = await check(client, scenario, "test-token-as-production")
    missing = replace(report.item("get.SBQ_BTW"), status=ItemStatus.FAILING, finding="missing")
    items = tuple(missing if i.requirement_id == "get.SBQ_BTW" else i for i in report.items)
    assert cause_of(replace(report, items=items)) is Cause.ENVIRONMENT_MISMATCH


def test_a_report_without_the_gate_still_has_a_cause(scenario) -> None:
    """A report of another shape (no facts): the overall state decides."""
    from datetime import UTC, datetime

    from afas.profile import LocalText

    bare = CheckReport(
        environment="1 (production)",
        env_number="1",
        env_kind="production",
        token_fingerprint="-",
        profile="-",
        deep=False,
        started_at=datetime(2026, 11, 26, tzinfo=UTC),
        duration_ms=1,
        overall=OverallState.UNREACHABLE,
        headline=LocalText(nl="x", en="x"),
        items=(),
        requests=0,
    )
    assert cause_of(bare) is Cause.AFAS_UNREACHABLE
    assert cause_of(replace(bare, overall=OverallState.FAILING)) is Cause.SETUP_FAILING
    assert cause_of(replace(bare, overall=OverallState.DEGRADED)) is None


@pytest.mark.parametrize("cause", list(Cause))
def test_every_cause_has_a_label_and_what_to_do_in_both_languages(cause: Cause) -> None:
    for part in ("label", "todo"):
        assert has_key(f"cause.{cause.value}.{part}")
        assert t(f"cause.{cause.value}.{part}", "nl") != t(f"cause.{cause.value}.{part}", "en")
    assert cause_label(cause.value, "nl") == t(f"cause.{cause.value}.label", "nl")
    assert cause_todo(cause.value, "en") == t(f"cause.{cause.value}.todo", "en")
    assert cause in GUIDE_SECTION


def test_a_cause_this_version_does_not_know_is_shown_as_unknown() -> None:
    assert cause_label("dns_poisoned", "nl") == "onbekend"
    assert cause_label(None, "en") == "unknown"
    assert cause_todo("dns_poisoned", "en") is None
