"""The live test export over real HTTP against the sandbox, per built-in environment.

Each test ends by holding the report against the sandbox's own record of what exists: nothing
stays in the customer's AFAS that the report does not list as left behind.
"""

from __future__ import annotations

import pytest

from afas.exports.journal import EntryState
from afas.exports.values import discover_values
from tests.afas.exports.live_helpers import (
    TODAY,
    assert_no_token,
    assert_sandbox_agrees,
    run_live,
    statuses,
    values_for,
)

ALL_WRITTEN = {
    "FiInvoice": ("ok", "written"),
    "FiEntries": ("ok", "written"),
    "KnPurchaseRelationOrg": ("ok", "written"),
    "KnSalesRelationOrg": ("ok", "written"),
    "KnSubject": ("ok", "written"),
}
NOT_AFTER_ENTRY = {
    "FiInvoice": ("unknown", "not_attempted"),
    "KnSubject": ("unknown", "not_attempted"),
}


@pytest.fixture(autouse=True)
def _fresh(sandbox) -> None:
    sandbox.reset()  # each test compares the sandbox's records with its own report


def checks(report) -> dict[str, str]:
    return {c.id: c.status.value for c in report.checks}


async def test_healthy_writes_everything_and_leaves_only_the_blocked_sales_relation(
    client, scenario, sandbox
) -> None:
    report, journal, run_id = await run_live(client, scenario, "healthy")

    assert report.overall.value == "ok" and report.mode.value == "live"
    assert statuses(report) == ALL_WRITTEN
    assert checks(report) == {"token": "ok", "dossier-destination": "ok"}
    assert [(r.connector_id, r.removed) for r in report.created] == [
        ("KnPurchaseRelationOrg", True),
        ("KnSalesRelationOrg", False),
        ("FiEntries", True),
        ("KnSubject", True),
    ]
    [left] = report.left_behind
    assert left.connector_id == "KnSalesRelationOrg" and left.key["DbId"]
    assert "blocked" in left.reason.en and "geblokkeerd" in left.reason.nl
    assert f"AFASBOT TEST {run_id}" in left.reason.en
    assert left.key["DbId"] in left.how_to_remove.en and "CRM" in left.how_to_remove.nl
    assert "stay in AFAS" in report.headline.en
    [sales] = sandbox.app.records("healthy")["KnSalesRelationOrg"]
    assert sales["Bl"] == "1" and sales["Nm"] == f"AFASBOT TEST {run_id}"
    assert_sandbox_agrees(sandbox, "healthy", report)
    # Every POST was sent once, each fact journalled before the next request.
    posts = [c for c in journal.calls if c[0] == "before_write"]
    assert [c[1] for c in posts] == [1, 2, 3, 5]
    assert {e.step: e.state for e in journal.entries()} == {
        1: EntryState.REMOVED,
        2: EntryState.LEFT_BEHIND,
        3: EntryState.REMOVED,
        5: EntryState.REMOVED,
    }
    entry = next(e for e in journal.entries() if e.step == 3)
    assert entry.key.keys() >= {"UnId", "EnNo", "JoCo", "Year", "InId"}
    assert report.facts["values"]["journal"]["value"] == "MEM"
    assert "Precal_Dagboeken" in report.facts["values"]["journal"]["source"]["en"]
    # preflight (1 + 5), five writes, four removals
    assert report.requests == 15
    assert_no_token(report, scenario, "healthy")


@pytest.mark.parametrize(
    ("name", "nl", "en"),
    [
        ("export-unbalanced", "niet in balans", "does not balance"),
        ("export-unknown-account", "Rekeningnummer", "Account Number"),
        ("export-blocked-period", "geblokkeerd", "blocked"),
        ("export-wrong-journal", "Dagboek", "Journal"),
    ],
)
async def test_a_refused_entry_fails_with_afas_message_and_the_rest_is_cleaned_up(
    client, scenario, sandbox, name, nl, en
) -> None:
    report, journal, _ = await run_live(client, scenario, name)

    assert report.overall.value == "failing"
    assert statuses(report) == {
        **ALL_WRITTEN,
        "FiEntries": ("failing", "write_refused"),
        **NOT_AFTER_ENTRY,
    }
    entry = report.connector("FiEntries")
    assert nl in entry.found.nl or en in entry.found.en, entry.found
    assert entry.profit_log_reference and entry.profit_log_reference in entry.found.en
    assert entry.profit_log_reference in entry.fix.en and "--journal" in entry.fix.en
    assert "MEM" in entry.fix.nl
    invoice = report.connector("FiInvoice")
    assert invoice.found.en == "not attempted because step 3 (FiEntries) failed"
    assert invoice.found.nl == "niet geprobeerd omdat stap 3 (FiEntries) mislukte"
    assert checks(report)["dossier-destination"] == "not_checked"
    assert [(r.connector_id, r.removed) for r in report.created] == [
        ("KnPurchaseRelationOrg", True),
        ("KnSalesRelationOrg", False),
    ]
    assert journal.state(3) is EntryState.REMOVED  # refused: AFAS wrote nothing
    assert [c for c in journal.calls if c[1] in (4, 5)] == []
    assert_sandbox_agrees(sandbox, name, report)
    assert_no_token(report, scenario, name)


async def test_all_periods_blocked_refuses_before_anything_is_written(
    client, scenario, sandbox
) -> None:
    env = scenario.by_name("export-all-periods-blocked")
    found = await discover_values(client, env.environment(), env.token(), today=TODAY)
    assert found.values is None
    [refusal] = found.refusals
    assert refusal.value.value == "period" and "never books" in refusal.message.en
    assert sandbox.app.records("export-all-periods-blocked") == {}

    # Values from elsewhere still cannot book there: AFAS refuses the period.
    healthy = await values_for(client, scenario, "healthy")
    report, _, _ = await run_live(client, scenario, "export-all-periods-blocked", values=healthy)
    assert report.connector("FiEntries").status.value == "failing"
    assert "geblokkeerd" in report.connector("FiEntries").found.nl
    assert_sandbox_agrees(sandbox, "export-all-periods-blocked", report)


async def test_destination_not_allowed_fails_guide_1_2_9_with_its_fix(
    client, scenario, sandbox
) -> None:
    report, _, _ = await run_live(client, scenario, "export-destination-not-allowed")

    assert report.overall.value == "failing"
    assert statuses(report) == {**ALL_WRITTEN, "KnSubject": ("failing", "destination_not_allowed")}
    subject = report.connector("KnSubject")
    assert subject.guide_section == "1.2.9" and subject.profit_log_reference
    assert "Deze bestemming is niet geldig voor dit type dossieritem" in subject.found.nl
    check = report.check("dossier-destination")
    assert check.status.value == "failing" and check.guide_section == "1.2.9"
    assert "CRM > Dossier > Configuratie > Dossieritemtype" in check.fix.nl
    assert "Optioneel" in check.fix.nl and "Optional" in check.fix.en
    assert [(r.connector_id, r.removed) for r in report.created] == [
        ("KnPurchaseRelationOrg", True),
        ("KnSalesRelationOrg", False),
        ("FiEntries", True),
    ]
    assert_sandbox_agrees(sandbox, "export-destination-not-allowed", report)
    assert_no_token(report, scenario, "export-destination-not-allowed")


async def test_refused_deletes_leave_every_record_listed_with_afas_message(
    client, scenario, sandbox
) -> None:
    report, journal, _ = await run_live(client, scenario, "export-delete-refused")

    assert statuses(report) == ALL_WRITTEN
    assert report.overall.value == "ok"  # the product can write; the leftovers are listed
    left = {item.connector_id: item for item in report.left_behind}
    assert set(left) == {"KnPurchaseRelationOrg", "KnSalesRelationOrg", "FiEntries", "KnSubject"}
    for connector in ("KnPurchaseRelationOrg", "FiEntries", "KnSubject"):
        assert "AFAS refuses the DELETE" in left[connector].reason.en
        assert "kan niet worden verwijderd" in left[connector].reason.nl
    assert left["FiEntries"].key["EnNo"] in left["FiEntries"].how_to_remove.en
    assert "4 record(s) stay" in report.headline.en
    assert {e.state for e in journal.entries()} == {EntryState.LEFT_BEHIND}
    assert_sandbox_agrees(sandbox, "export-delete-refused", report)
    assert_no_token(report, scenario, "export-delete-refused")


async def test_an_entry_no_delete_form_removes_stays_listed_with_its_relation(
    client, scenario, sandbox
) -> None:
    report, _, _ = await run_live(client, scenario, "export-entry-not-deletable")

    assert statuses(report) == ALL_WRITTEN
    left = {item.connector_id: item for item in report.left_behind}
    assert set(left) == {"KnPurchaseRelationOrg", "KnSalesRelationOrg", "FiEntries"}
    assert "none of the documented DELETE forms" in left["FiEntries"].reason.en
    assert "Reverse test entry" in left["FiEntries"].how_to_remove.en
    # AFAS keeps a relation that still has entries: its own message says so.
    assert "boekingen" in left["KnPurchaseRelationOrg"].reason.nl
    # preflight 6, writes 5, removals: dossier item 1, both entry forms 2, sales 1, purchase 1
    assert report.requests == 16
    assert_sandbox_agrees(sandbox, "export-entry-not-deletable", report)


async def test_a_lost_answer_is_not_retried_and_the_entry_is_listed_as_maybe_there(
    client, scenario, sandbox
) -> None:
    report, journal, run_id = await run_live(client, scenario, "export-timeout-after-write")

    assert report.overall.value == "unreachable"
    assert statuses(report) == {
        **ALL_WRITTEN,
        "FiEntries": ("unknown", "answer_lost"),
        **NOT_AFTER_ENTRY,
    }
    assert "quarter of an hour" in report.connector("FiEntries").fix.en
    assert journal.state(3) is EntryState.UNKNOWN
    [entry] = sandbox.app.records("export-timeout-after-write")["FiEntries"]  # sent once
    left = {item.connector_id: item for item in report.left_behind}
    assert left["FiEntries"].key["InId"] == entry["InId"] == f"AFBT-{run_id}"
    assert f"AFASBOT TEST {run_id}" in left["FiEntries"].how_to_remove.en
    assert_sandbox_agrees(sandbox, "export-timeout-after-write", report)
    assert_no_token(report, scenario, "export-timeout-after-write")
