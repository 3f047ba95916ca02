"""The check against the AFAS sandbox over real HTTP: one test per built-in scenario,
asserting the exact diagnosis."""

from __future__ import annotations

import pytest

from afas.check import run_check
from afas.client import AfasClient
from afas.report import CheckReport, ItemStatus, OverallState
from afas.sandbox.scenario import Scenario

SPECIALS_PROBED = 4  # profitversion, metainfo, subjectconnector, reportconnector


async def check(client: AfasClient, scenario: Scenario, name: str, deep=False) -> CheckReport:
    env = scenario.by_name(name)
    return await run_check(client, env.environment(), env.token(), deep=deep)


def problems(report: CheckReport) -> dict[str, tuple[str, str]]:
    """Every item that is not OK or not-checkable-by-nature: id -> (status, finding)."""
    return {
        item.requirement_id: (item.status.value, item.finding)
        for item in report.items
        if item.status is not ItemStatus.OK and item.finding != "not_checkable"
    }


async def test_healthy(client, scenario) -> None:
    report = await check(client, scenario, "healthy")
    assert report.overall is OverallState.HEALTHY
    assert problems(report) == {}
    assert report.requests == SPECIALS_PROBED
    assert report.item("special.AppConnectorSubject").finding == "answers"
    assert report.item("special.GetXMLSchema").status is ItemStatus.NOT_CHECKABLE
    assert report.item("environment").finding == "match"
    assert report.facts["profit_version"]


async def test_healthy_deep_returns_field_lists(client, scenario) -> None:
    report = await check(client, scenario, "healthy", deep=True)
    assert report.overall is OverallState.HEALTHY
    assert problems(report) == {}
    btw = report.item("get.SBQ_BTW")
    assert btw.finding in ("runs", "runs_empty") and btw.details["fields"]
    assert report.item("update.FiEntries").finding == "described"
    assert report.item("update.FiEntries").details["fields"]
    assert report.requests == SPECIALS_PROBED + 15 * 2 + 5


async def test_missing_connectors(client, scenario) -> None:
    report = await check(client, scenario, "missing-connectors")
    assert report.overall is OverallState.FAILING
    assert problems(report) == {
        "get.SBQ_BTW": ("failing", "missing"),
        "get.Profit_Projects": ("failing", "missing"),
        "update.KnSubject": ("failing", "missing"),
        "special.AppConnectorSubject": ("failing", "missing"),
    }
    assert "SBQ_BTW.gcn" in report.item("get.SBQ_BTW").fix.nl


async def test_near_miss(client, scenario) -> None:
    report = await check(client, scenario, "near-miss")
    assert report.overall is OverallState.FAILING
    assert problems(report) == {
        "get.SBQ_Kostenplaasten_All": ("failing", "near_miss"),
        "get.SBQ_Debiteuren": ("failing", "near_miss"),
        "get.DDI_Kosten": ("failing", "near_miss"),
        "update.FiInvoice": ("failing", "near_miss"),
    }
    assert report.item("get.SBQ_Kostenplaasten_All").found.en.startswith(
        "found SBQ_Kostenplaatsen_All, expected SBQ_Kostenplaasten_All"
    )
    assert report.item("get.SBQ_Debiteuren").details["near_miss_reason"] == "case"
    assert report.item("get.DDI_Kosten").details["found_id"] == "DDI_Kosten_Profit"
    assert report.item("update.FiInvoice").details["near_miss_reason"] == "alias"


@pytest.mark.parametrize("name", ["revoked-token", "blocked-app-connector"])
async def test_rejected_token_and_silent_blocked_app_connector(client, scenario, name) -> None:
    report = await check(client, scenario, name)
    assert report.overall is OverallState.FAILING
    assert report.item("token").status is ItemStatus.FAILING
    assert report.item("app-connector-unblocked").finding == "indistinct"
    assert report.item("get.SBQ_BTW").status is ItemStatus.UNKNOWN
    assert report.requests == SPECIALS_PROBED  # 401 is never retried


async def test_blocked_app_connector_with_a_message(client, scenario) -> None:
    report = await check(client, scenario, "blocked-app-connector-message")
    assert report.overall is OverallState.FAILING
    assert report.item("app-connector-unblocked").status is ItemStatus.FAILING
    assert report.item("app-connector-unblocked").finding == "blocked"


async def test_ip_restricted(client, scenario) -> None:
    report = await check(client, scenario, "ip-restricted")
    assert report.overall is OverallState.FAILING
    assert report.item("ip-allowed").status is ItemStatus.FAILING
    assert report.requests == SPECIALS_PROBED  # 403 is never retried


async def test_maintenance_is_unreachable_and_not_waited_for(client, scenario) -> None:
    report = await check(client, scenario, "maintenance")
    assert report.overall is OverallState.UNREACHABLE
    assert report.facts["retry_after"] == 3600
    found = report.item("get.SBQ_BTW").found
    assert found.en == "not checked: AFAS is in maintenance (retry in 60 min)"
    assert found.nl == "niet gecontroleerd: AFAS is in onderhoud (opnieuw proberen over 60 min)"
    assert report.requests == SPECIALS_PROBED  # an hour's retry_after is not waited for in-round


async def test_slow_environment_is_still_healthy(client, scenario) -> None:
    report = await check(client, scenario, "slow")
    assert report.overall is OverallState.HEALTHY


async def test_flaky_environment_recovers_by_retrying(client, scenario) -> None:
    report = await check(client, scenario, "flaky")
    assert report.overall is OverallState.HEALTHY
    assert report.requests == 2 * SPECIALS_PROBED  # every first attempt was dropped


async def test_broken_definition_is_seen_only_in_deep_mode(client, scenario) -> None:
    normal = await check(client, scenario, "broken-definition")
    assert normal.overall is OverallState.HEALTHY
    deep = await check(client, scenario, "broken-definition", deep=True)
    assert deep.overall is OverallState.FAILING
    assert problems(deep) == {"get.SBQ_Transactie": ("failing", "definition_blocked")}


async def test_not_supported_500_variant(client, scenario) -> None:
    report = await check(client, scenario, "not-supported-500")
    assert report.overall is OverallState.FAILING
    assert problems(report) == {
        "special.AppConnectorVersion": ("failing", "missing"),
        "get.Precal_Landen": ("failing", "missing"),
    }
    assert report.item("token").status is ItemStatus.OK


async def test_test_token_registered_as_production(client, scenario) -> None:
    report = await check(client, scenario, "test-token-as-production")
    assert report.overall is OverallState.FAILING
    assert problems(report) == {"environment": ("failing", "mismatch")}
    assert "T10013AA" in report.item("environment").found.en


async def test_token_expiring_soon_is_a_warning(client, scenario) -> None:
    report = await check(client, scenario, "token-expiring")
    assert report.overall is OverallState.DEGRADED
    assert problems(report) == {"token-expiry": ("warning", "soon")}


async def test_garbage_answers_are_unreachable(client, scenario) -> None:
    report = await check(client, scenario, "garbage")
    assert report.overall is OverallState.UNREACHABLE
    assert report.facts["afas_outcome"] == "malformed_answer"


async def test_dropped_connections_are_unreachable_after_retries(client, scenario) -> None:
    report = await check(client, scenario, "unreachable")
    assert report.overall is OverallState.UNREACHABLE
    assert report.item("get.SBQ_BTW").found.en == (
        "not checked: no answer from AFAS: the connection was closed without an answer"
    )
    assert report.requests == 3 * SPECIALS_PROBED  # two retries each


async def test_english_environment(client, scenario) -> None:
    report = await check(client, scenario, "english", deep=True)
    assert report.overall is OverallState.FAILING
    assert problems(report) == {
        "get.CaseWare_Periods": ("failing", "missing"),
        "update.FiEntries": ("failing", "missing"),
    }


async def test_test_environment(client, scenario) -> None:
    env = scenario.by_name("test-environment")
    assert env.environment().kind.value == "test"
    report = await check(client, scenario, "test-environment")
    assert report.overall is OverallState.HEALTHY


async def test_the_sequential_baseline_makes_the_same_diagnosis(client, scenario) -> None:
    env = scenario.by_name("near-miss")
    concurrent = await run_check(client, env.environment(), env.token(), deep=True)
    sequential = await run_check(client, env.environment(), env.token(), deep=True, sequential=True)
    assert [i.to_dict() for i in sequential.items] == [i.to_dict() for i in concurrent.items]
    assert sequential.requests == concurrent.requests


async def test_every_text_of_every_scenario_is_filled_in_and_in_its_own_language(
    client, scenario
) -> None:
    for env in scenario.environments:
        for deep in (False, True):
            report = await run_check(client, env.environment(), env.token(), deep=deep)
            for item in report.items:
                for text in (item.title, item.found, item.fix):
                    if text is None:
                        continue
                    for language, value in (("nl", text.nl), ("en", text.en)):
                        assert "{" not in value and "}" not in value, (env.name, value)
                        assert "nl=" not in value and "en=" not in value, (env.name, value)
                        assert value.strip(), (env.name, item.requirement_id, language)
                if item.status in (ItemStatus.FAILING, ItemStatus.WARNING):
                    assert item.fix is not None, (env.name, item.requirement_id)


async def test_a_test_environment_checked_as_production_is_a_rejected_token(
    client, scenario
) -> None:
    from afas.environments import AfasEnvironment, EnvironmentKind

    env = scenario.by_name("test-environment")
    as_production = AfasEnvironment(env.number, EnvironmentKind.PRODUCTION)
    report = await run_check(client, as_production, env.token())
    assert report.overall is OverallState.FAILING
    assert report.item("token").finding == "rejected"
    assert "production, test or acceptance" in report.item("token").fix.en
