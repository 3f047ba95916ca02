"""The dry run against the AFAS sandbox over real HTTP: the exact items per built-in environment.

10028 and 10029 (a removed and a retyped field in metainfo/update) are the sandbox's export
environments; the others are the check's.
"""

from __future__ import annotations

import json

from afas.client import AfasClient
from afas.exports.dry_run import dry_run
from afas.exports.report import ExportReport
from afas.profile import load_profile
from afas.sandbox.scenario import Scenario

UPDATE_CONNECTORS = (
    "FiInvoice",
    "FiEntries",
    "KnPurchaseRelationOrg",
    "KnSalesRelationOrg",
    "KnSubject",
)


async def export(client: AfasClient, scenario: Scenario, number: str) -> ExportReport:
    env = next((e for e in scenario.environments if e.number == number), None)
    assert env is not None, f"the sandbox has no environment {number}"
    return await dry_run(
        client, env.environment(), env.token(), load_profile(), org=f"org-{number}"
    )


def problems(report: ExportReport) -> dict[str, tuple[str, str]]:
    return {
        c.connector_id: (c.status.value, c.finding)
        for c in report.connectors
        if c.status.value != "ok"
    }


def checks(report: ExportReport) -> dict[str, str]:
    return {c.id: c.status.value for c in report.checks}


def assert_no_token(report: ExportReport, scenario: Scenario, number: str) -> None:
    env = next(e for e in scenario.environments if e.number == number)
    text = json.dumps(report.to_dict())
    token = env.token()
    assert token.reveal_data() not in text and token.authorization_header() not in text


async def test_healthy_every_template_fits(client, scenario) -> None:
    report = await export(client, scenario, "10001")
    assert report.overall.value == "ok"
    assert [c.connector_id for c in report.connectors] == list(UPDATE_CONNECTORS)
    assert problems(report) == {}
    assert checks(report) == {"token": "ok", "dossier-destination": "not_checked"}
    assert report.requests == 1 + len(UPDATE_CONNECTORS)
    assert report.to_dict()["mode"] == "dry_run" and report.to_dict()["org"] == "org-10001"
    assert_no_token(report, scenario, "10001")


async def test_missing_knsubject_fails_with_the_fix_of_1_2_4(client, scenario) -> None:
    report = await export(client, scenario, "10002")
    assert report.overall.value == "failing"
    assert problems(report) == {"KnSubject": ("failing", "missing")}
    subject = report.connector("KnSubject")
    assert subject.guide_section == "1.2.4"
    assert "UpdateConnectors tab" in subject.fix.en and "UpdateConnectoren" in subject.fix.nl
    assert "eKnSubject" in subject.fix.en  # the guide's spelling, explained


async def test_fiinvoices_in_the_list_is_named_as_the_guides_spelling(client, scenario) -> None:
    report = await export(client, scenario, "10003")
    assert report.overall.value == "failing"
    assert problems(report) == {"FiInvoice": ("failing", "near_miss")}
    invoice = report.connector("FiInvoice")
    assert invoice.details == {"found_id": "FiInvoices", "near_miss_reason": "alias"}
    assert invoice.found.en == (
        "found FiInvoices, expected FiInvoice (the guide's spelling; AFAS uses FiInvoice)"
    )
    for fix in (invoice.fix.nl, invoice.fix.en):  # the check's near-miss fix, both languages
        assert "FiInvoices" in fix and "FiInvoice " in fix and "1.2.4" in fix


async def test_revoked_token_fails_and_nothing_else_is_determinable(client, scenario) -> None:
    report = await export(client, scenario, "10004")
    assert report.overall.value == "failing"
    assert {c.status.value for c in report.connectors} == {"unknown"}
    assert {c.finding for c in report.connectors} == {"not_checked"}
    assert checks(report) == {"token": "failing", "dossier-destination": "not_checked"}
    assert "1.2.5" in report.check("token").fix.en
    assert_no_token(report, scenario, "10004")


async def test_unreachable_afas_is_unreachable(client, scenario) -> None:
    report = await export(client, scenario, "10016")
    assert report.overall.value == "unreachable"
    assert {c.finding for c in report.connectors} == {"afas_unavailable"}
    assert checks(report) == {"token": "not_checked", "dossier-destination": "not_checked"}
    assert "afasstatus.nl" in report.connector("FiEntries").fix.en


async def test_a_field_removed_from_fientries_lines_fails_fientries(client, scenario) -> None:
    report = await export(client, scenario, "10028")
    assert report.overall.value == "failing"
    assert problems(report) == {"FiEntries": ("failing", "field_unknown")}
    entries = report.connector("FiEntries")
    assert [(p.finding.code, p.finding.path) for p in entries.problems if p.finding.failing] == [
        ("field_unknown", "FiEntryPar.FiEntries.BpDa")
    ]
    assert "FiEntryPar.FiEntries.BpDa" in entries.found.nl and entries.fix is not None


async def test_a_retyped_name_fails_the_purchase_relation(client, scenario) -> None:
    report = await export(client, scenario, "10029")
    assert report.overall.value == "failing"
    assert problems(report) == {"KnPurchaseRelationOrg": ("failing", "type_mismatch")}
    (problem,) = report.connector("KnPurchaseRelationOrg").problems
    assert problem.finding.path == "KnPurchaseRelationOrg.KnOrganisation.Nm"
    assert problem.found.en == (
        "KnPurchaseRelationOrg.KnOrganisation.Nm: AFAS expects int, the export sends a string"
    )
