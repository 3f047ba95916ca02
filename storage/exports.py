"""Test export runs and the records they create, written before each next step (issue 7 §4):
a crash, a time-out or AFAS going down half-way leaves a run that its clean-up finishes.

A live run is leased (``storage.leases``) by the replica writing it and renewed at each step;
one unfinished live run per org is enforced by a partial unique index, so two replicas (or two
agents) never write test records for the same org at once. Clean-up takes over a run only when
its lease is free: a live run in progress elsewhere is never cleaned up under its feet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import leases
from storage.datetimes import utcnow
from storage.db import insert_for
from storage.errors import ExportBusyError, UnknownExportRunError, UnsafeAuditDetailsError
from storage.models import ExportRecord, ExportRun, Org
from storage.secrecy import find_secret

LIVE = "live"
DRY_RUN = "dry_run"
RECORD_STATES = frozenset({"pending", "created", "unknown", "removed", "left_behind"})


def start_export_run(
    session: Session,
    org: Org,
    *,
    run_id: str,
    mode: str,
    actor: str,
    owner: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> ExportRun:
    """Record the start of an export. A live one is leased to ``owner`` and committed at once
    (other replicas must see it before the first write); ``ExportBusyError`` when a live run
    of this org is unfinished."""
    now = now or utcnow()
    if mode not in (LIVE, DRY_RUN):
        raise ValueError(f"unknown export mode {mode!r}")
    live = mode == LIVE
    run = ExportRun(
        run_id=run_id,
        org_id=org.id,
        org_key=org.key,
        mode=mode,
        requested_by=actor,
        started_at=now,
        lease_owner=owner if live else None,
        lease_until=now + timedelta(seconds=lease_seconds) if live else None,
    )
    if live:
        busy = unfinished_live_run(session, org.id)
        if busy is not None:
            raise _busy(org.key, busy)
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # another replica started one between our look and our insert
        busy = unfinished_live_run(session, org.id)
        if busy is None:  # pragma: no cover - the index says there is one
            raise
        raise _busy(org.key, busy) from None
    if live:
        session.commit()
    return run


def _busy(org_key: str, run: ExportRun) -> ExportBusyError:
    return ExportBusyError(org_key, run.run_id, run.requested_by, run.started_at)


def unfinished_live_run(session: Session, org_id: int | None) -> ExportRun | None:
    """The org's unfinished live run (running, or interrupted), if any."""
    return session.exec(
        select(ExportRun)
        .where(
            ExportRun.org_id == org_id,
            ExportRun.mode == LIVE,
            col(ExportRun.finished_at).is_(None),
        )
        .execution_options(populate_existing=True)
    ).first()


def get_export_run(session: Session, run_id: str) -> ExportRun:
    run = session.exec(
        select(ExportRun)
        .where(ExportRun.run_id == run_id)
        .execution_options(populate_existing=True)
    ).first()
    if run is None:
        raise UnknownExportRunError(run_id)
    return run


def take_over_export_run(
    session: Session, run_id: str, *, owner: str, lease_seconds: float, now: datetime
) -> bool:
    """Lease an unfinished live run for its clean-up; False while another owner's lease is
    still running (the run is in progress elsewhere). Commits."""
    run = get_export_run(session, run_id)
    statement = (
        update(ExportRun)
        .where(
            col(ExportRun.id) == run.id,
            col(ExportRun.finished_at).is_(None),
            leases.lease_is_free(ExportRun, now) | (col(ExportRun.lease_owner) == owner),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session="fetch")
    )
    taken = session.execute(statement).rowcount == 1
    session.commit()
    return taken


def journal_record(
    session: Session,
    run_id: str,
    *,
    step: int,
    connector_id: str,
    state: str,
    marker: str,
    key: Mapping[str, Any] | None = None,
    reason: Mapping[str, str] | None = None,
    how_to_remove: Mapping[str, str] | None = None,
    owner: str | None = None,
    lease_seconds: float = 600.0,
    now: datetime | None = None,
) -> ExportRecord:
    """Write (or move on) the record of one step, and renew the run's lease. The caller
    commits before the export's next step starts."""
    now = now or utcnow()
    if state not in RECORD_STATES:
        raise ValueError(f"unknown export record state {state!r}")
    values = {"key": dict(key or {}), "reason": reason, "how_to_remove": how_to_remove}
    where = find_secret(values)
    if where is not None:
        raise UnsafeAuditDetailsError(f"an export record's {where} looks like a secret")
    run = get_export_run(session, run_id)
    statement = (
        insert_for(session, ExportRecord)
        .values(
            run_pk=run.id,
            step=step,
            connector_id=connector_id,
            state=state,
            marker=marker,
            updated_at=now,
            **values,
        )
        .on_conflict_do_update(
            index_elements=["run_pk", "step"],
            set_={"state": state, "updated_at": now, **_kept(values)},
        )
    )
    session.execute(statement)
    if owner is not None:
        session.execute(
            update(ExportRun)
            .where(col(ExportRun.id) == run.id, col(ExportRun.lease_owner) == owner)
            .values(lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return session.exec(
        select(ExportRecord)
        .where(ExportRecord.run_pk == run.id, ExportRecord.step == step)
        .execution_options(populate_existing=True)
    ).one()


def _kept(values: dict[str, Any]) -> dict[str, Any]:
    """On a later state, keep what an earlier one knew unless this one knows more."""
    kept = {name: value for name, value in values.items() if value}
    return kept


def export_records(session: Session, run_id: str) -> list[ExportRecord]:
    """A run's records, by step."""
    run = get_export_run(session, run_id)
    return list(
        session.exec(
            select(ExportRecord)
            .where(ExportRecord.run_pk == run.id)
            .order_by(col(ExportRecord.step))
            .execution_options(populate_existing=True)
        ).all()
    )


def finish_export_run(
    session: Session,
    run_id: str,
    *,
    overall: str,
    report: Mapping[str, Any],
    owner: str | None = None,
    finished: bool = True,
    now: datetime | None = None,
) -> ExportRun:
    """Store the report; with ``finished`` the run ends (a live one releases its lease and no
    longer blocks the next). A live run that left records in an unknown state is stored with
    ``finished=False``: its clean-up is still owed."""
    now = now or utcnow()
    where = find_secret(dict(report))
    if where is not None:
        raise UnsafeAuditDetailsError(f"the export report's {where} looks like a secret")
    run = get_export_run(session, run_id)
    run.report = dict(report)
    run.overall = overall
    if finished:
        run.finished_at = now
    if owner is None or run.lease_owner == owner:
        run.lease_owner = None
        run.lease_until = None
    session.add(run)
    session.flush()
    return run


def latest_export_run(session: Session, org_key: str) -> ExportRun | None:
    """The org's latest export (for the handover note and status)."""
    return session.exec(
        select(ExportRun)
        .where(ExportRun.org_key == org_key)
        .order_by(col(ExportRun.started_at).desc(), col(ExportRun.id).desc())
    ).first()
