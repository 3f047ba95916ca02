"""Finishing interrupted live exports from their journal, over real HTTP against the sandbox.

The crashes are a journal that raises (the process dying there): after the fact was persisted,
or before. The cleanup gets only the persisted entries and the run id, as after a restart.
"""

from __future__ import annotations

import pytest

from afas.exports.cleanup import find_column
from afas.exports.columns import Column
from afas.exports.journal import EntryState
from tests.afas.exports.journal_fake import MemoryJournal, ProcessDied
from tests.afas.exports.live_helpers import (
    assert_no_token,
    assert_sandbox_agrees,
    existing,
    run_cleanup,
    run_live,
    values_for,
)


@pytest.fixture(autouse=True)
def _fresh(sandbox) -> None:
    sandbox.reset()


async def crash(client, scenario, name, journal: MemoryJournal) -> str:
    values = await values_for(client, scenario, name)
    run_id = "c0ffee"
    with pytest.raises(ProcessDied):
        await run_live(client, scenario, name, journal, values=values, run_id=run_id)
    return run_id


async def test_crash_after_the_first_record_then_cleanup_removes_it(
    client, scenario, sandbox
) -> None:
    journal = MemoryJournal(crash_on=("created", 1))
    run_id = await crash(client, scenario, "healthy", journal)
    [entry] = journal.entries()
    assert entry.state is EntryState.CREATED and entry.key["CrId"]
    assert existing(sandbox, "healthy") == {("KnPurchaseRelationOrg", entry.key["CrId"])}
    # The process died: nothing was sent after the journal failed.
    assert [c[0] for c in journal.calls] == ["before_write", "created"]

    report = await run_cleanup(client, scenario, "healthy", journal, run_id)

    assert report.overall.value == "ok" and report.left_behind == ()
    assert [(r.connector_id, r.removed) for r in report.created] == [
        ("KnPurchaseRelationOrg", True)
    ]
    assert existing(sandbox, "healthy") == set()
    assert journal.state(1) is EntryState.REMOVED
    assert_no_token(report, scenario, "healthy")


async def test_crash_before_the_entry_was_journalled_then_cleanup_finds_it_by_its_marker(
    client, scenario, sandbox
) -> None:
    journal = MemoryJournal(crash_on=("created", 3), persist_first=False)
    run_id = await crash(client, scenario, "healthy", journal)
    assert journal.state(3) is EntryState.PENDING  # AFAS booked it; we never heard the key
    assert ("FiEntries", f"AFBT-{run_id}") in existing(sandbox, "healthy")

    report = await run_cleanup(client, scenario, "healthy", journal, run_id)

    assert [(r.connector_id, r.removed) for r in report.created] == [
        ("KnPurchaseRelationOrg", True),
        ("KnSalesRelationOrg", False),
        ("FiEntries", True),
    ]
    entry = next(r for r in report.created if r.connector_id == "FiEntries")
    # Found through SBQ_Transactie's columns (metainfo), with what its DELETE path needs.
    assert entry.key == {
        "EnNo": "250001",
        "UnId": "1",
        "JoCo": "MEM",
        "Year": "2024",
        "Peri": "9",
        "InId": f"AFBT-{run_id}",
    }
    assert report.overall.value == "ok"
    assert [item.connector_id for item in report.left_behind] == ["KnSalesRelationOrg"]
    assert_sandbox_agrees(sandbox, "healthy", report)
    assert "FiInvoice" not in sandbox.app.records("healthy")

    again = await run_cleanup(client, scenario, "healthy", journal, run_id)  # harmless
    assert again.requests == 0
    assert [(r.connector_id, r.removed) for r in again.created] == [
        (r.connector_id, r.removed) for r in report.created
    ]
    assert_sandbox_agrees(sandbox, "healthy", again)


async def test_crash_before_anything_was_sent_finds_nothing_and_says_so(
    client, scenario, sandbox
) -> None:
    journal = MemoryJournal(crash_on=("before_write", 1))
    run_id = await crash(client, scenario, "healthy", journal)
    assert journal.state(1) is EntryState.PENDING
    assert existing(sandbox, "healthy") == set()

    report = await run_cleanup(client, scenario, "healthy", journal, run_id)

    assert report.overall.value == "ok" and report.created == () and report.left_behind == ()
    assert report.facts["looked_up_not_found"] == [
        {"step": 1, "connector": "KnPurchaseRelationOrg"}
    ]
    [entry] = journal.entries()
    assert entry.state is EntryState.REMOVED and dict(entry.key) == {}


async def test_lost_answer_then_cleanup_finds_the_entry_and_removes_it_and_its_relation(
    client, scenario, sandbox
) -> None:
    name = "export-timeout-after-write"
    live, journal, run_id = await run_live(client, scenario, name)
    assert journal.state(3) is EntryState.UNKNOWN
    assert len(live.left_behind) == 3

    report = await run_cleanup(client, scenario, name, journal, run_id)

    assert report.overall.value == "ok"
    assert [(r.connector_id, r.removed) for r in report.created] == [
        ("KnPurchaseRelationOrg", True),  # refused while the entry was there; now it goes
        ("KnSalesRelationOrg", False),
        ("FiEntries", True),
    ]
    assert [item.connector_id for item in report.left_behind] == ["KnSalesRelationOrg"]
    assert_sandbox_agrees(sandbox, name, report)
    assert journal.state(3) is EntryState.REMOVED
    assert_no_token(report, scenario, name)


async def test_cleanup_of_a_healthy_run_sends_nothing(client, scenario, sandbox) -> None:
    live, journal, run_id = await run_live(client, scenario, "healthy")
    report = await run_cleanup(client, scenario, "healthy", journal, run_id)
    assert report.requests == 0 and report.overall.value == "ok"
    assert report.left_behind == live.left_behind
    assert_sandbox_agrees(sandbox, "healthy", report)


async def test_what_stays_refused_stays_listed_and_cleanup_says_so(
    client, scenario, sandbox
) -> None:
    name = "export-entry-not-deletable"
    _, journal, run_id = await run_live(client, scenario, name)
    report = await run_cleanup(client, scenario, name, journal, run_id)
    assert report.overall.value == "failing"
    assert "3 record(s) stay" in report.headline.en and "3 record(s)" in report.headline.nl
    assert_sandbox_agrees(sandbox, name, report)


def test_marker_columns_are_recognised_by_label_not_by_a_similar_one() -> None:
    fields = [
        Column("SearchName", "Zoeknaam", "string"),
        Column("Name", "Naam", "string"),
        Column("TypeId", "Type dossieritem", "int"),
        Column("SubjectId", "Dossieritem", "int"),
        Column("Subject", "Onderwerp", "string"),
    ]
    name = find_column(fields, ("naam", "onderwerp"), ("zoek", "type"))
    assert name is not None and name.id == "Name"
    key = find_column(fields, ("dossieritem",), ("type",), ("int",))
    assert key is not None and key.id == "SubjectId"
    assert find_column(fields, ("factuur",)) is None
