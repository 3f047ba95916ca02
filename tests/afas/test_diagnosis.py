"""The diagnosis as a pure function: AFAS's answers in, a report out (no HTTP, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from afas.diagnosis import ProbeResults, diagnose
from afas.environments import AfasEnvironment
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import RequirementKind, load_catalogue, load_profile
from afas.report import ItemStatus, OverallState

PROFILE = load_profile()
CATALOGUE = load_catalogue()
ENV = AfasEnvironment.parse("12345", "production")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GETS = [r.connector for r in PROFILE.of_kind(RequirementKind.GET_CONNECTOR)]
UPDATES = [r.connector for r in PROFILE.of_kind(RequirementKind.UPDATE_CONNECTOR)]
SPECIAL_IDS = [r.id for r in PROFILE.of_kind(RequirementKind.SPECIAL_CONNECTOR) if r.endpoint]


def ok(data=None) -> AfasOutcome:
    return AfasOutcome(OutcomeKind.OK, status=200, data=data)


def metainfo(gets=GETS, updates=UPDATES, **info) -> AfasOutcome:
    info = {"envid": "O12345AA", "tokenExpiry": "0", **info}
    return ok(
        {
            "getConnectors": [{"id": g, "description": g} for g in gets],
            "updateConnectors": [{"id": u, "description": u} for u in updates],
            "info": info,
        }
    )


def probes(meta=None, version=None, special=None, **deep) -> ProbeResults:
    version = version or ok({"version": "22.22.5"})
    special = (
        special
        if special is not None
        else {rid: ok() for rid in SPECIAL_IDS if rid != "special.AppConnectorVersion"}
    )
    special.setdefault("special.AppConnectorVersion", version)
    return ProbeResults(
        profit_version=version, metainfo=meta or metainfo(), special=special, **deep
    )


def run(p: ProbeResults, deep: bool = False, now: datetime = NOW):
    return diagnose(PROFILE, CATALOGUE, ENV, p, now=now, deep=deep)


def status_of(diagnosis, requirement_id: str) -> ItemStatus:
    return next(i for i in diagnosis.items if i.requirement_id == requirement_id).status


def item(diagnosis, requirement_id: str):
    return next(i for i in diagnosis.items if i.requirement_id == requirement_id)


def test_a_complete_setup_is_healthy_with_not_checkable_items_named() -> None:
    d = run(probes())
    assert d.overall is OverallState.HEALTHY
    assert status_of(d, "user-rights") is ItemStatus.NOT_CHECKABLE
    assert status_of(d, "dossier-item-type") is ItemStatus.NOT_CHECKABLE
    assert "1.2.9" in item(d, "dossier-item-type").fix.en
    assert status_of(d, "special.GetXMLSchema") is ItemStatus.NOT_CHECKABLE
    assert all(i.status is not ItemStatus.FAILING for i in d.items)


def test_a_missing_getconnector_fails_with_its_section_and_fix() -> None:
    d = run(probes(metainfo(gets=[g for g in GETS if g != "SBQ_BTW"])))
    assert d.overall is OverallState.FAILING
    btw = item(d, "get.SBQ_BTW")
    assert btw.status is ItemStatus.FAILING and btw.finding == "missing"
    assert btw.guide_section == "1.1, 1.2.3"
    assert "SBQ_BTW.gcn" in btw.fix.en and "SBQ_BTW.gcn" in btw.fix.nl


def test_a_near_miss_says_found_x_expected_y() -> None:
    gets = [g for g in GETS if g != "SBQ_Kostenplaasten_All"] + ["SBQ_Kostenplaatsen_All"]
    updates = [u for u in UPDATES if u != "FiInvoice"] + ["FiInvoices"]
    d = run(probes(metainfo(gets=gets, updates=updates)))
    cost = item(d, "get.SBQ_Kostenplaasten_All")
    assert cost.finding == "near_miss"
    assert cost.found.en.startswith("found SBQ_Kostenplaatsen_All, expected SBQ_Kostenplaasten_All")
    assert "SBQ_Kostenplaatsen_All gevonden, verwacht SBQ_Kostenplaasten_All" in cost.found.nl
    invoice = item(d, "update.FiInvoice")
    assert invoice.found.en == (
        "found FiInvoices, expected FiInvoice (the guide's spelling; AFAS uses FiInvoice)"
    )


def test_a_rejected_token_fails_and_leaves_the_rest_unknown() -> None:
    rejected = AfasOutcome(OutcomeKind.TOKEN_REJECTED, status=401)
    d = run(probes(meta=rejected, version=rejected, special={}))
    assert d.overall is OverallState.FAILING
    assert status_of(d, "token") is ItemStatus.FAILING
    assert status_of(d, "app-connector-unblocked") is ItemStatus.UNKNOWN
    assert "1.2.8" in item(d, "app-connector-unblocked").found.en
    assert status_of(d, "get.SBQ_BTW") is ItemStatus.UNKNOWN


def test_a_blocked_app_connector_is_reported_as_such() -> None:
    blocked = AfasOutcome(
        OutcomeKind.APP_CONNECTOR_BLOCKED, status=500, message="De App connector is geblokkeerd."
    )
    d = run(probes(meta=blocked, version=blocked, special={}))
    assert d.overall is OverallState.FAILING
    assert status_of(d, "app-connector-unblocked") is ItemStatus.FAILING
    assert status_of(d, "token") is ItemStatus.UNKNOWN


def test_ip_restriction_fails_the_ip_item() -> None:
    refused = AfasOutcome(OutcomeKind.IP_NOT_ALLOWED, status=403)
    d = run(probes(meta=refused, version=refused, special={}))
    assert d.overall is OverallState.FAILING
    assert status_of(d, "ip-allowed") is ItemStatus.FAILING


@pytest.mark.parametrize(
    ("outcome", "text"),
    [
        (
            AfasOutcome(OutcomeKind.MAINTENANCE, status=503, retry_after=3600),
            "AFAS is in maintenance (retry in 60 min)",
        ),
        (AfasOutcome(OutcomeKind.TRANSPORT_ERROR, reason="dns"), "(DNS)"),
        (AfasOutcome(OutcomeKind.MALFORMED_ANSWER, status=200), "cannot read"),
        (ok("<html>"), "cannot read"),
    ],
)
def test_afas_side_failures_are_unreachable_not_failing(outcome, text) -> None:
    d = run(probes(meta=outcome, version=outcome, special={}))
    assert d.overall is OverallState.UNREACHABLE
    found = item(d, "get.SBQ_BTW").found
    assert found.en.startswith("not checked: ") and text in found.en
    assert found.nl.startswith("niet gecontroleerd: ")
    assert "en=" not in found.nl and "nl=" not in found.en  # each language on its own
    assert "afasstatus.nl" in item(d, "get.SBQ_BTW").fix.en


def test_a_missing_version_connector_shows_as_401_while_metainfo_works() -> None:
    refused = AfasOutcome(OutcomeKind.TOKEN_REJECTED, status=401)
    d = run(probes(version=refused))
    assert d.overall is OverallState.FAILING
    assert status_of(d, "token") is ItemStatus.OK
    assert item(d, "special.AppConnectorVersion").finding == "missing"


def test_a_special_connector_listed_in_metainfo_counts_as_present() -> None:
    refused = AfasOutcome(OutcomeKind.CONNECTOR_NOT_AUTHORISED, status=401)
    special = {rid: refused for rid in SPECIAL_IDS}
    d = run(
        probes(metainfo(gets=[*GETS, "AppConnectorSubject", "AppConnectorReport"]), special=special)
    )
    assert status_of(d, "special.AppConnectorSubject") is ItemStatus.OK
    assert status_of(d, "special.AppConnectorVersion") is ItemStatus.FAILING


def test_a_test_token_registered_as_production_fails_the_environment_item() -> None:
    d = run(probes(metainfo(envid="T12345AA")))
    assert d.overall is OverallState.FAILING
    env_item = item(d, "environment")
    assert env_item.status is ItemStatus.FAILING
    assert "T12345AA" in env_item.found.en and "O12345 (production)" in env_item.found.en


@pytest.mark.parametrize(
    ("expiry", "status", "overall"),
    [
        ("0", ItemStatus.OK, OverallState.HEALTHY),
        (
            (NOW + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ItemStatus.WARNING,
            OverallState.DEGRADED,
        ),
        ((NOW + timedelta(days=60)).date().isoformat(), ItemStatus.OK, OverallState.HEALTHY),
        ((NOW - timedelta(days=1)).isoformat(), ItemStatus.FAILING, OverallState.FAILING),
        ("volgende week", ItemStatus.WARNING, OverallState.DEGRADED),
    ],
)
def test_token_expiry(expiry, status, overall) -> None:
    d = run(probes(metainfo(tokenExpiry=expiry)))
    assert status_of(d, "token-expiry") is status
    assert d.overall is overall


def test_deep_mode_reports_blocked_definitions_and_field_lists() -> None:
    rows = {g: ok({"skip": 0, "take": 1, "rows": [{"A": 1}]}) for g in GETS}
    rows["SBQ_Transactie"] = AfasOutcome(
        OutcomeKind.DEFINITION_BLOCKED,
        status=500,
        message="Deze GetConnector (definitie) is geblokkeerd",
        profit_log_reference="ABC",
    )
    rows["SBQ_BTW"] = ok({"skip": 0, "take": 1, "rows": []})
    get_meta = {g: ok({"fields": [{"id": "A"}, {"id": "B"}]}) for g in GETS}
    update_meta = {
        u: ok({"fields": [{"fieldId": "X"}], "objects": [{"name": "Sub"}]}) for u in UPDATES
    }
    d = run(probes(rows=rows, get_meta=get_meta, update_meta=update_meta), deep=True)
    assert d.overall is OverallState.FAILING
    blocked = item(d, "get.SBQ_Transactie")
    assert blocked.finding == "definition_blocked"
    assert "untick Blocked" in blocked.fix.en
    assert item(d, "get.SBQ_BTW").finding == "runs_empty"
    assert item(d, "get.SBQ_BTW").status is ItemStatus.OK
    assert item(d, "get.SBQ_Debiteuren").details["fields"] == ["A", "B"]
    assert item(d, "update.KnSubject").details == {"fields": ["X"], "objects": ["Sub"]}


def test_deep_mode_suspects_getxmlschema_when_metainfo_update_is_refused() -> None:
    refused = AfasOutcome(
        OutcomeKind.CONNECTOR_NOT_AUTHORISED,
        status=500,
        message="Deze UpdateConnector wordt niet ondersteund",
    )
    d = run(probes(update_meta={u: refused for u in UPDATES}), deep=True)
    assert status_of(d, "special.GetXMLSchema") is ItemStatus.WARNING
    assert status_of(d, "update.FiEntries") is ItemStatus.WARNING
    assert d.overall is OverallState.DEGRADED


def test_deep_functional_errors_keep_the_profit_log_reference() -> None:
    rows = {
        "SBQ_BTW": AfasOutcome(
            OutcomeKind.FUNCTIONAL_ERROR,
            status=500,
            message="Connector field 'Foo' not found",
            profit_log_reference="B8213AF1C3C54E579686406A8DE71C6C",
        )
    }
    d = run(probes(rows=rows), deep=True)
    btw = item(d, "get.SBQ_BTW")
    assert btw.status is ItemStatus.FAILING
    assert "B8213AF1C3C54E579686406A8DE71C6C" in btw.fix.en
    assert btw.details["profit_log_reference"] == "B8213AF1C3C54E579686406A8DE71C6C"
