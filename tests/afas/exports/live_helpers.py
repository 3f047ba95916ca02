"""Running live exports against the sandbox, and holding the report against what the sandbox
itself says exists (``SandboxApp.records``)."""

from __future__ import annotations

import json
from datetime import date

from afas.client import AfasClient
from afas.exports.cleanup import cleanup
from afas.exports.journal import new_run_id
from afas.exports.live import live_export
from afas.exports.report import ExportReport
from afas.exports.values import ExportValues, discover_values
from afas.profile import load_profile
from afas.sandbox.scenario import Scenario
from afas.sandbox.server import SandboxServer
from tests.afas.exports.journal_fake import MemoryJournal

TODAY = date(2024, 9, 15)
#: The field of the sandbox's record that identifies it, per connector.
IDENTITY = {
    "KnPurchaseRelationOrg": "CrId",
    "KnSalesRelationOrg": "DbId",
    "FiEntries": "InId",
    "KnSubject": "SbId",
}


async def values_for(client: AfasClient, scenario: Scenario, name: str) -> ExportValues:
    env = scenario.by_name(name)
    result = await discover_values(client, env.environment(), env.token(), today=TODAY)
    assert result.values is not None, [r.message.en for r in result.refusals]
    return result.values


async def run_live(
    client: AfasClient,
    scenario: Scenario,
    name: str,
    journal: MemoryJournal | None = None,
    *,
    values: ExportValues | None = None,
    run_id: str | None = None,
) -> tuple[ExportReport, MemoryJournal, str]:
    env = scenario.by_name(name)
    journal = journal if journal is not None else MemoryJournal()
    run_id = run_id or new_run_id()
    values = values or await values_for(client, scenario, name)
    report = await live_export(
        client,
        env.environment(),
        env.token(),
        load_profile(),
        values=values,
        run_id=run_id,
        journal=journal,
        org=f"org-{env.number}",
    )
    return report, journal, run_id


async def run_cleanup(
    client: AfasClient, scenario: Scenario, name: str, journal: MemoryJournal, run_id: str
) -> ExportReport:
    env = scenario.by_name(name)
    return await cleanup(
        client,
        env.environment(),
        env.token(),
        load_profile(),
        run_id=run_id,
        entries=journal.entries(),
        journal=journal,
        org=f"org-{env.number}",
    )


def existing(sandbox: SandboxServer, name: str) -> set[tuple[str, str]]:
    """(connector, identity) of every record the sandbox holds, the invoice change aside."""
    return {
        (connector, str(record[IDENTITY[connector]]))
        for connector, records in sandbox.app.records(name).items()
        if connector != "FiInvoice"
        for record in records
    }


def assert_sandbox_agrees(sandbox: SandboxServer, name: str, report: ExportReport) -> None:
    """Nothing exists that the report does not list as left behind, and everything it lists
    as removed is gone. An invoice change (FiInvoice) only stays with its entry."""
    listed = {
        (item.connector_id, item.key[IDENTITY[item.connector_id]]) for item in report.left_behind
    }
    assert existing(sandbox, name) == listed
    for record in report.created:
        identity = (record.connector_id, record.key.get(IDENTITY[record.connector_id]))
        assert (identity in listed) is (not record.removed), record
    for invoice in sandbox.app.records(name).get("FiInvoice", []):
        assert ("FiEntries", invoice["InId"]) in listed


def assert_no_token(report: ExportReport, scenario: Scenario, name: str) -> None:
    token = scenario.by_name(name).token()
    text = json.dumps(report.to_dict())
    header = token.authorization_header()
    for secret in (token.reveal_data(), header, header.split(" ", 1)[1], token.xml):
        assert secret not in text


def statuses(report: ExportReport) -> dict[str, tuple[str, str]]:
    return {c.connector_id: (c.status.value, c.finding) for c in report.connectors}
