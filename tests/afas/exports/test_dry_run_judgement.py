"""The dry run's verdicts from AFAS's answers, without HTTP: every kind of answer per connector."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from afas.exports.dry_run import DryRunAnswers, judge_dry_run
from afas.exports.report import (
    Access,
    ConnectorStatus,
    ExportMode,
    ExportOverall,
    ExportReport,
    decide_overall,
    headline,
)
from afas.exports.templates import load_templates
from afas.exports.texts import load_export_catalogue, parse_export_catalogue
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import load_catalogue, load_profile

from .helpers import fitting_metainfo

PROFILE = load_profile()
TEMPLATES = load_templates(PROFILE)
CONNECTORS = [t.connector for t in TEMPLATES.templates]
REFERENCE = "B8213AF1C3C54E579686406A8DE71C6C"


def listing(update_connectors=CONNECTORS) -> AfasOutcome:
    return AfasOutcome(
        OutcomeKind.OK,
        status=200,
        data={
            "updateConnectors": [{"id": c, "description": c} for c in update_connectors],
            "getConnectors": [],
            "info": {"envid": "O10001AA"},
        },
    )


def fitting() -> dict[str, AfasOutcome]:
    return {
        c: AfasOutcome(
            OutcomeKind.OK, status=200, data=fitting_metainfo(TEMPLATES.for_connector(c))
        )
        for c in CONNECTORS
    }


def judge(metainfo: AfasOutcome, **overrides: AfasOutcome):
    answers = DryRunAnswers(metainfo, {**fitting(), **overrides})
    judgement = judge_dry_run(
        PROFILE, TEMPLATES, answers, load_catalogue(), load_export_catalogue()
    )
    overall = decide_overall(judgement.access, judgement.connectors, judgement.checks)
    return judgement, overall


def verdicts(judgement) -> dict[str, tuple[str, str]]:
    return {c.connector_id: (c.status.value, c.finding) for c in judgement.connectors}


def test_everything_fitting_is_ok_with_the_destination_not_checked() -> None:
    judgement, overall = judge(listing())
    assert overall is ExportOverall.OK
    assert set(verdicts(judgement).values()) == {("ok", "fits")}
    destination = next(c for c in judgement.checks if c.id == "dossier-destination")
    assert (destination.status.value, destination.guide_section) == ("not_checked", "1.2.9")
    assert "dry run writes nothing" in destination.found.en
    assert "Bestemming" in destination.fix.nl


def test_fiinvoice_is_judged_as_the_put_it_is() -> None:
    judgement, _ = judge(listing())
    invoice = next(c for c in judgement.connectors if c.connector_id == "FiInvoice")
    assert invoice.method == "PUT"
    assert "PUT only" in invoice.found.en and "alleen PUT" in invoice.found.nl


def test_listed_but_not_authorised_fails_with_the_fix_of_1_2_4() -> None:
    refused = AfasOutcome(
        OutcomeKind.CONNECTOR_NOT_AUTHORISED,
        status=500,
        message="Deze connector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
    )
    judgement, overall = judge(listing(), KnSubject=refused)
    assert overall is ExportOverall.FAILING
    item = next(c for c in judgement.connectors if c.connector_id == "KnSubject")
    assert (item.status, item.finding) == (ConnectorStatus.FAILING, "not_authorised")
    assert "(1.2.4)" in item.fix.en and "(1.2.4)" in item.fix.nl
    assert "niet ondersteund" in item.found.nl


def test_an_afas_error_keeps_its_profit_log_reference() -> None:
    error = AfasOutcome(
        OutcomeKind.FUNCTIONAL_ERROR, status=500, message="Boom", profit_log_reference=REFERENCE
    )
    judgement, overall = judge(listing(), FiEntries=error)
    item = next(c for c in judgement.connectors if c.connector_id == "FiEntries")
    assert (item.status.value, item.finding, item.profit_log_reference) == (
        "failing",
        "afas_error",
        REFERENCE,
    )
    assert item.to_dict()["profitLogReference"] == REFERENCE
    assert REFERENCE in item.fix.en
    assert overall is ExportOverall.FAILING


def test_one_connector_without_an_answer_is_unknown_and_the_run_unreachable() -> None:
    lost = AfasOutcome(OutcomeKind.TRANSPORT_ERROR, reason="reset", message="closed")
    judgement, overall = judge(listing(), KnSalesRelationOrg=lost)
    assert verdicts(judgement)["KnSalesRelationOrg"] == ("unknown", "afas_unavailable")
    assert overall is ExportOverall.UNREACHABLE


def test_a_failing_connector_outweighs_an_unknown_one() -> None:
    lost = AfasOutcome(OutcomeKind.TRANSPORT_ERROR, reason="reset")
    _, overall = judge(listing([c for c in CONNECTORS if c != "KnSubject"]), FiEntries=lost)
    assert overall is ExportOverall.FAILING


def test_a_metainfo_update_we_cannot_read_is_unknown() -> None:
    garbage = AfasOutcome(OutcomeKind.OK, status=200, data={"fields": "nope"})
    judgement, _ = judge(listing(), KnSubject=garbage)
    item = next(c for c in judgement.connectors if c.connector_id == "KnSubject")
    assert (item.status.value, item.finding) == ("unknown", "afas_unavailable")
    assert "cannot read" in item.found.en


@pytest.mark.parametrize(
    ("kind", "check_id", "section"),
    [
        (OutcomeKind.TOKEN_REJECTED, "token", "1.2.5"),
        (OutcomeKind.APP_CONNECTOR_BLOCKED, "app-connector-unblocked", "1.2.8"),
        (OutcomeKind.IP_NOT_ALLOWED, "ip-allowed", "1.2"),
    ],
)
def test_a_refused_token_fails_and_nothing_else_is_determinable(kind, check_id, section) -> None:
    judgement, overall = judge(AfasOutcome(kind, status=401))
    assert overall is ExportOverall.FAILING
    assert set(verdicts(judgement).values()) == {("unknown", "not_checked")}
    access = judgement.checks[0]
    assert (access.id, access.status.value, access.guide_section) == (check_id, "failing", section)
    assert access.fix is not None


def test_an_answer_that_is_not_metainfo_makes_the_run_unreachable() -> None:
    judgement, overall = judge(AfasOutcome(OutcomeKind.OK, status=200, data="<html>"))
    assert judgement.access is Access.AFAS_DOWN
    assert overall is ExportOverall.UNREACHABLE
    assert judgement.checks[0].status.value == "not_checked"


def test_the_json_report_has_the_shape_of_issue_7() -> None:
    judgement, overall = judge(listing(CONNECTORS[:-1]))
    texts = load_export_catalogue()
    report = ExportReport(
        org="acme",
        mode=ExportMode.DRY_RUN,
        env_number="10001",
        env_kind="production",
        token_fingerprint="abc123",
        profile="smartbooqing",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_ms=1.0,
        overall=overall,
        headline=headline(overall, ExportMode.DRY_RUN, texts),
        connectors=judgement.connectors,
        checks=judgement.checks,
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert (data["org"], data["mode"], data["overall"]) == ("acme", "dry_run", "failing")
    assert {c["connector_id"] for c in data["connectors"]} == set(CONNECTORS)
    subject = next(c for c in data["connectors"] if c["connector_id"] == "KnSubject")
    assert {"status", "finding", "guide_section", "found", "fix", "profitLogReference"} <= set(
        subject
    )
    assert set(subject["found"]) == set(subject["fix"]) == {"nl", "en"}
    assert {c["id"]: c["status"] for c in data["checks"]} == {
        "token": "ok",
        "dossier-destination": "not_checked",
    }
    assert data["created"] == [] and data["left_behind"] == []


def test_the_export_catalogue_refuses_a_missing_text_and_unequal_placeholders() -> None:
    with pytest.raises(ValueError, match=r"\[found\] lacks destination_dry_run"):
        parse_export_catalogue("[found]\n[problem]\n[fix]\n[overall]\n")
    from importlib import resources

    text = resources.files("afas.profiles").joinpath("export_messages.toml").read_text()
    broken = text.replace('en = "{path}: AFAS does not describe this field"', 'en = "{field}"')
    with pytest.raises(ValueError, match="field_unknown: Dutch and English"):
        parse_export_catalogue(broken)
