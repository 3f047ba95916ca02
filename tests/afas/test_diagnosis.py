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


# -- one unreadable answer leaves only what depended on it unknown ---------------------------

TRUNCATED = AfasOutcome(OutcomeKind.MALFORMED_ANSWER, status=200, message="cut-off JSON")


def test_a_cut_off_metainfo_leaves_the_special_connectors_their_own_answers() -> None:
    d = run(probes(meta=TRUNCATED))
    assert status_of(d, "token") is ItemStatus.OK
    for rid in SPECIAL_IDS:
        assert status_of(d, rid) is ItemStatus.OK, rid
        assert item(d, rid).finding == "answers"
    btw = item(d, "get.SBQ_BTW")
    assert btw.status is ItemStatus.UNKNOWN
    assert "/metainfo" in btw.found.en and "/metainfo" in btw.found.nl
    assert status_of(d, "environment") is ItemStatus.UNKNOWN
    assert d.overall is OverallState.UNREACHABLE
    assert "/metainfo" in d.headline.en and "/metainfo" in d.headline.nl
    assert d.headline.en.startswith("Unreachable: AFAS accepts the token, but ")
    assert "23 items not checked" in d.headline.en
    assert "23 punten niet gecontroleerd" in d.headline.nl
    assert d.facts["unanswered"] == ["/metainfo"]


def test_a_cut_off_metainfo_still_fails_on_a_missing_special_connector() -> None:
    refused = AfasOutcome(OutcomeKind.CONNECTOR_NOT_AUTHORISED, status=401)
    special = {rid: ok() for rid in SPECIAL_IDS if rid != "special.AppConnectorVersion"}
    special["special.AppConnectorSubject"] = refused
    d = run(probes(meta=TRUNCATED, special=special))
    assert status_of(d, "special.AppConnectorSubject") is ItemStatus.FAILING
    assert status_of(d, "special.AppConnectorReport") is ItemStatus.OK
    assert d.overall is OverallState.FAILING
    assert d.headline.en == (
        "Failing: 1 connector is missing from the App Connector; "
        "AFAS gave an answer to /metainfo that we cannot read: 23 items not checked"
    )


def test_without_any_readable_gate_a_401_on_a_special_connector_is_not_a_verdict() -> None:
    refused = AfasOutcome(OutcomeKind.CONNECTOR_NOT_AUTHORISED, status=401)
    special = {"special.AppConnectorSubject": refused, "special.AppConnectorReport": ok()}
    d = run(probes(meta=TRUNCATED, version=TRUNCATED, special=special))
    assert status_of(d, "special.AppConnectorSubject") is ItemStatus.UNKNOWN
    assert status_of(d, "special.AppConnectorReport") is ItemStatus.OK
    assert status_of(d, "token") is ItemStatus.UNKNOWN
    assert d.overall is OverallState.UNREACHABLE
    assert d.headline.en == (
        "Unreachable: AFAS could not be asked: AFAS gave an answer to /metainfo that we cannot read"
    )


def test_an_unreadable_special_answer_is_named_in_the_headline() -> None:
    special = {rid: ok() for rid in SPECIAL_IDS if rid != "special.AppConnectorVersion"}
    special["special.AppConnectorReport"] = TRUNCATED
    d = run(probes(special=special))
    assert status_of(d, "special.AppConnectorReport") is ItemStatus.UNKNOWN
    assert d.overall is OverallState.DEGRADED
    assert "/reportconnector/" in d.headline.en and "1 item not checked" in d.headline.en
    assert d.headline.nl.startswith("Bijna in orde: het werkt, maar AFAS gaf op /reportconnector/")


def test_a_timeout_on_metainfo_alone_names_the_endpoint() -> None:
    timeout = AfasOutcome(OutcomeKind.TRANSPORT_ERROR, reason="timeout")
    d = run(probes(meta=timeout))
    assert status_of(d, "special.AppConnectorSubject") is ItemStatus.OK
    assert d.overall is OverallState.UNREACHABLE
    assert "no answer from AFAS in time (at /metainfo)" in d.headline.en


# -- the headline names the class of problem found ---------------------------------------------


@pytest.mark.parametrize(
    ("p", "en", "nl"),
    [
        (
            lambda: probes(metainfo(gets=[g for g in GETS if g not in ("SBQ_BTW", "DDI_Kosten")])),
            "Failing: 2 connectors are missing from the App Connector",
            "Fout: 2 connectoren ontbreken in de App Connector",
        ),
        (
            lambda: probes(
                meta=AfasOutcome(OutcomeKind.TOKEN_REJECTED, status=401),
                version=AfasOutcome(OutcomeKind.TOKEN_REJECTED, status=401),
                special={},
            ),
            "Failing: AFAS rejects the token",
            "Fout: AFAS weigert het token",
        ),
        (
            lambda: probes(
                meta=AfasOutcome(OutcomeKind.APP_CONNECTOR_BLOCKED, status=500, message="x"),
                version=AfasOutcome(OutcomeKind.APP_CONNECTOR_BLOCKED, status=500, message="x"),
                special={},
            ),
            "Failing: the App Connector is blocked",
            "Fout: de App Connector is geblokkeerd",
        ),
        (
            lambda: probes(
                meta=AfasOutcome(OutcomeKind.IP_NOT_ALLOWED, status=403),
                version=AfasOutcome(OutcomeKind.IP_NOT_ALLOWED, status=403),
                special={},
            ),
            "Failing: AFAS refuses our IP address",
            "Fout: AFAS weigert ons IP-adres",
        ),
        (
            lambda: probes(
                metainfo(
                    envid="T12345AA",
                    updates=[u for u in UPDATES if u != "FiInvoice"] + ["FiInvoices"],
                )
            ),
            "Failing: the token belongs to another environment than registered; "
            "1 connector id is misspelled",
            "Fout: het token hoort bij een andere omgeving dan geregistreerd; "
            "1 connector-id is verkeerd gespeld",
        ),
    ],
    ids=["connectors missing", "token", "app connector", "ip", "environment and near miss"],
)
def test_the_failing_headline_names_what_was_found(p, en: str, nl: str) -> None:
    d = run(p())
    assert d.overall is OverallState.FAILING
    assert (d.headline.en, d.headline.nl) == (en, nl)


def test_a_working_token_with_missing_connectors_does_not_blame_the_token() -> None:
    d = run(probes(metainfo(gets=GETS[1:])))
    assert "token" not in d.headline.en.lower() and "token" not in d.headline.nl.lower()


def test_the_registered_environment_is_named_in_the_readers_language() -> None:
    env_item = item(run(probes(metainfo(envid="T12345AA"))), "environment")
    assert "O12345 (productie)" in env_item.found.nl
    assert "production" not in env_item.found.nl
    assert "O12345 (production)" in env_item.found.en


def test_every_fix_is_written_for_the_helpdesk_reading_it() -> None:
    """The reader is the helpdesk: no fix sends them to themselves; actions in the customer's
    AFAS are things to ask the customer's AFAS administrator, with the guide's section."""
    fixes = [*CATALOGUE.fix.values(), *(r.fix for r in PROFILE.requirements if r.fix)]
    for fix in fixes:
        assert "helpdesk" not in fix.en.lower() and "helpdesk" not in fix.nl.lower(), fix.en
    assert "Ask the customer's AFAS administrator" in CATALOGUE.fix["get_connector"].en
    assert "Vraag de AFAS-beheerder van de klant" in CATALOGUE.fix["get_connector"].nl
    d = run(probes(metainfo(gets=[g for g in GETS if g != "CaseWare_Periods"])))
    fix = item(d, "get.CaseWare_Periods").fix
    assert "guide 1.2.3" in fix.en and "handleiding 1.2.3" in fix.nl
