"""Test exports of a registered org: a dry run (writes nothing), a live run (creates marked
test records and removes them again), and the clean-up of an interrupted live run.

Both modes first check the org through the one check path (``check_org``, trigger export), so
the history shows why it ran. A live run is recorded in ``export_runs`` before its first write
and every record AFAS returns (or may have created) is written to ``export_records`` before the
next step starts (``DatabaseJournal``), so a crash, a time-out or AFAS going down half-way
leaves a run that ``cleanup_export`` finishes. The token is decrypted for the calls only.
Who may do what is decided by ``export_permission`` (product.md): agents run dry runs anywhere
and live runs on test and acceptance environments; production needs an admin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from afas.client import AfasClient
from afas.environments import EnvironmentKind
from afas.exports.cleanup import cleanup
from afas.exports.dry_run import dry_run
from afas.exports.journal import JournalEntry, new_run_id
from afas.exports.live import live_export
from afas.exports.report import ExportReport
from afas.exports.values import GivenValues, ValuesResult, discover_values
from afas.profile import LocalText
from bot.errors import PermissionRefused, Role, UserError
from bot.runtime import Runtime
from bot.services.checks import check_org
from storage.models import CheckTrigger, ExportRecord, Org
from storage.repository import (
    add_audit_event,
    decrypt_token,
    export_records,
    finish_export_run,
    get_org,
    journal_record,
    start_export_run,
    take_over_export_run,
    unfinished_live_run,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportOutcome:
    org_key: str
    display_name: str
    environment: str
    run_id: str
    report: ExportReport
    values: ValuesResult | None = None  # live: where each value came from


class ValuesNotDetermined(UserError):
    """A live export needs values the bot could not find in the customer's GetConnectors;
    nothing was written. ``refusals`` say which and why; the agent gives them explicitly."""

    key = "export.values_missing"

    def __init__(self, result: ValuesResult) -> None:
        super().__init__(None)
        self.result = result


def export_permission(role: Role, *, live: bool, kind: EnvironmentKind) -> None:
    """``PermissionRefused`` unless ``role`` may run this export (product.md)."""
    if not live:
        needed = Role.AGENT
    else:
        needed = Role.ADMIN if kind is EnvironmentKind.PRODUCTION else Role.AGENT
    if role < needed:
        action = "action.export_live_production" if needed is Role.ADMIN else "action.export"
        raise PermissionRefused(needed, action=action)


async def run_export(
    runtime: Runtime,
    client: AfasClient,
    key: str,
    *,
    live: bool,
    actor: str,
    owner: str,
    given: GivenValues | None = None,
    today: date | None = None,
) -> ExportOutcome:
    """A dry run, or (``live``) a live export. ``UnknownOrgError``, ``ExportBusyError`` (a
    live run of this org is unfinished), ``ValuesNotDetermined`` before anything is written."""
    org = await asyncio.to_thread(_load_org, runtime, key)
    check = await check_org(runtime, client, org, trigger=CheckTrigger.EXPORT, actor=actor)
    cipher = runtime.require_cipher()
    run_id = new_run_id()
    if not live or not check.report.token_accepted:
        # Nothing is written where AFAS does not let us in: the dry run's report says why. (A
        # live export runs the same dry run itself, as its preflight.)
        dry = await dry_run(
            client, org.environment, decrypt_token(org, cipher), runtime.profile, org=org.key
        )
        await asyncio.to_thread(_record_dry_run, runtime, org, run_id, dry, actor, live)
        return ExportOutcome(org.key, org.display_name, org.environment.label, run_id, dry)
    values = await discover_values(
        client,
        org.environment,
        decrypt_token(org, cipher),
        given=given,
        today=today or datetime.now(UTC).date(),
    )
    if values.values is None:
        raise ValuesNotDetermined(values)
    await asyncio.to_thread(_start_live, runtime, org, run_id, actor, owner)
    journal = DatabaseJournal(runtime, run_id, owner)
    try:
        report = await live_export(
            client,
            org.environment,
            decrypt_token(org, cipher),
            runtime.profile,
            values=values.values,
            run_id=run_id,
            journal=journal,
            org=org.key,
        )
    except Exception:
        # The run stays unfinished with what the journal holds: its clean-up finishes it.
        log.exception("live export %s of org %s broke off; clean-up is owed", run_id, org.key)
        raise
    await asyncio.to_thread(_finish_live, runtime, org.key, run_id, report, actor, owner)
    return ExportOutcome(org.key, org.display_name, org.environment.label, run_id, report, values)


async def cleanup_export(
    runtime: Runtime, client: AfasClient, key: str, *, actor: str, owner: str
) -> ExportOutcome:
    """Finish the org's interrupted live export: find what it may have created, remove what
    AFAS allows, list the rest. ``UserError`` when there is nothing to clean up or the run is
    still in progress on another replica."""
    org = await asyncio.to_thread(_load_org, runtime, key)
    run_id, entries = await asyncio.to_thread(_take_over, runtime, org, owner)
    journal = DatabaseJournal(runtime, run_id, owner)
    journal.remember(entries)
    report = await cleanup(
        client,
        org.environment,
        decrypt_token(org, runtime.require_cipher()),
        runtime.profile,
        run_id=run_id,
        entries=entries,
        journal=journal,
        org=org.key,
    )
    await asyncio.to_thread(_finish_live, runtime, org.key, run_id, report, actor, owner)
    return ExportOutcome(org.key, org.display_name, org.environment.label, run_id, report)


class DatabaseJournal:
    """``afas.exports.journal.ExportJournal`` on the database: each fact is committed before
    the call returns, so it is durable before the export's next step."""

    def __init__(self, runtime: Runtime, run_id: str, owner: str) -> None:
        self._runtime, self._run_id, self._owner = runtime, run_id, owner
        self._markers: dict[int, str] = {}

    async def before_write(self, step: int, connector_id: str, marker: str) -> None:
        self._markers[step] = marker
        await self._write(step, connector_id, "pending")

    async def created(self, step: int, connector_id: str, key: dict[str, str]) -> None:
        await self._write(step, connector_id, "created", key=key)

    async def answer_lost(self, step: int, connector_id: str) -> None:
        await self._write(step, connector_id, "unknown")

    async def removed(self, step: int, connector_id: str, key: dict[str, str]) -> None:
        await self._write(step, connector_id, "removed", key=key)

    async def left_behind(
        self,
        step: int,
        connector_id: str,
        key: dict[str, str],
        reason: LocalText,
        how_to_remove: LocalText,
    ) -> None:
        await self._write(
            step,
            connector_id,
            "left_behind",
            key=key,
            reason=reason.model_dump(),
            how_to_remove=how_to_remove.model_dump(),
        )

    def remember(self, entries: Sequence[JournalEntry]) -> None:
        self._markers.update({entry.step: entry.marker for entry in entries})

    async def _write(self, step: int, connector_id: str, state: str, **fields: object) -> None:
        await asyncio.to_thread(
            _journal,
            self._runtime,
            self._run_id,
            self._owner,
            step,
            connector_id,
            state,
            self._markers.get(step, ""),
            fields,
        )


# --- the database work, in worker threads -----------------------------------------------------


def _load_org(runtime: Runtime, key: str) -> Org:
    with runtime.session() as session:
        return get_org(session, key)


def _record_dry_run(
    runtime: Runtime, org: Org, run_id: str, report: ExportReport, actor: str, asked_live: bool
) -> None:
    with runtime.session() as session:
        start_export_run(
            session,
            org,
            run_id=run_id,
            mode="dry_run",
            actor=actor,
            owner=actor,
            lease_seconds=0,
        )
        finish_export_run(session, run_id, overall=report.overall.value, report=report.to_dict())
        add_audit_event(
            session,
            actor=actor,
            action="org.exported",
            org_key=org.key,
            details={
                "mode": "dry_run",
                "run_id": run_id,
                "overall": report.overall.value,
                "live_asked": asked_live,
            },
        )


def _start_live(runtime: Runtime, org: Org, run_id: str, actor: str, owner: str) -> None:
    with runtime.session() as session:
        start_export_run(
            session,
            org,
            run_id=run_id,
            mode="live",
            actor=actor,
            owner=owner,
            lease_seconds=runtime.settings.export_lease_seconds,
        )
        add_audit_event(
            session,
            actor=actor,
            action="org.export_started",
            org_key=org.key,
            details={"mode": "live", "run_id": run_id},
        )


def _journal(
    runtime: Runtime,
    run_id: str,
    owner: str,
    step: int,
    connector_id: str,
    state: str,
    marker: str,
    fields: dict,
) -> None:
    with runtime.session() as session:
        journal_record(
            session,
            run_id,
            step=step,
            connector_id=connector_id,
            state=state,
            marker=marker,
            owner=owner,
            lease_seconds=runtime.settings.export_lease_seconds,
            **fields,
        )


def _finish_live(
    runtime: Runtime, org_key: str, run_id: str, report: ExportReport, actor: str, owner: str
) -> None:
    with runtime.session() as session:
        unsettled = [
            r for r in export_records(session, run_id) if r.state in ("pending", "unknown")
        ]
        finish_export_run(
            session,
            run_id,
            overall=report.overall.value,
            report=report.to_dict(),
            owner=owner,
            finished=not unsettled,
        )
        add_audit_event(
            session,
            actor=actor,
            action="org.exported",
            org_key=org_key,
            details={
                "mode": "live",
                "run_id": run_id,
                "overall": report.overall.value,
                "left_behind": len(report.left_behind),
                "unsettled": len(unsettled),
            },
        )


def _take_over(runtime: Runtime, org: Org, owner: str) -> tuple[str, list[JournalEntry]]:
    now = datetime.now(UTC)
    with runtime.session() as session:
        run = unfinished_live_run(session, org.id)
        if run is None:
            raise UserError("export.nothing_to_clean", org=org.key)
        if not take_over_export_run(
            session,
            run.run_id,
            owner=owner,
            lease_seconds=runtime.settings.export_lease_seconds,
            now=now,
        ):
            until = (run.lease_until or now).strftime("%H:%M:%S UTC")
            raise UserError("export.still_running", org=org.key, run=run.run_id, until=until)
        return run.run_id, [_entry(record) for record in export_records(session, run.run_id)]


def _entry(record: ExportRecord) -> JournalEntry:
    return JournalEntry(
        step=record.step,
        connector_id=record.connector_id,
        state=record.state,
        key=dict(record.key or {}),
        marker=record.marker,
    )
