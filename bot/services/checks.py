"""The one check path: load the org, decrypt its token for the call only, run the check,
record it. A command, a button, the scheduled sweep and an export all check through
``check_org``; registration (whose org does not exist until AFAS accepts the token) records
through the same ``record_check``.

What a check records depends on why it ran: every check stores a run and the org's current
state; a scheduled check also releases the sweep's lease and applies the alert policy in the
same transaction (an incident change and its outbox message commit with the run, or not at
all), and the warnings before breakage (a token about to expire, drift of a deep check's
connector fields: bot/alerting/expiry.py, drift.py) are written in that transaction too; a
person's check writes an audit event. The database work runs in worker threads and no session
is held across the AFAS calls.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from afas.check import run_check
from afas.client import AfasClient
from afas.lanes import person_lane, sweep_lane
from afas.report import CheckReport, ItemStatus
from bot.alerting.drift import watch_drift
from bot.alerting.expiry import warn_token_expiry
from bot.alerting.platform import PlatformPolicy
from bot.alerting.policy import AlertPolicy
from bot.alerting.record import apply_alerting
from bot.metrics import current as current_metrics
from bot.runtime import Runtime
from bot.settings import Settings
from storage.models import CheckTrigger, Org
from storage.repository import (
    add_audit_event,
    decrypt_token,
    finish_org_check,
    get_org,
    get_org_by_id,
    record_check_run,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrgCheck:
    org_key: str
    display_name: str
    report: CheckReport
    recorded: bool = True  # False: the sweep's lease had passed to another replica


@dataclass(frozen=True)
class SweepLease:
    """The sweep's claim on an org: released with the result, with the next check's time."""

    owner: str
    next_check_at: datetime


async def check_org(
    runtime: Runtime,
    client: AfasClient,
    org: str | Org,
    *,
    trigger: CheckTrigger,
    actor: str | None = None,
    deep: bool = False,
    now: datetime | None = None,
    lease: SweepLease | None = None,
) -> OrgCheck:
    """Check one registered org (by key, or as the sweep claimed it) and record the run.

    ``UnknownOrgError`` for an unknown key. With ``lease`` the run is recorded only while the
    lease is still ours (``recorded`` says whether it was).
    """
    if isinstance(org, str):
        org = await asyncio.to_thread(_load_org, runtime, org)
    report = await run_org_check(
        runtime, client, org, trigger=trigger, actor=actor, deep=deep, now=now
    )
    return await record_org_check(
        runtime, org, report, trigger=trigger, actor=actor, deep=deep, now=now, lease=lease
    )


async def run_org_check(
    runtime: Runtime,
    client: AfasClient,
    org: Org,
    *,
    trigger: CheckTrigger,
    actor: str | None = None,
    deep: bool = False,
    now: datetime | None = None,
) -> CheckReport:
    """The check of ``check_org`` without its record: the sweep records its checks once it
    knows the bot's own network worked (bot/alerting/connectivity.py)."""
    metrics = current_metrics()  # serve's own (bot/metrics.py says why it is not passed in)
    lane = sweep_lane() if trigger is CheckTrigger.SCHEDULE else person_lane(actor)
    with lane:  # people first: a person's check never queues behind the sweep (afas/lanes.py)
        return await run_check(
            metrics.counting_afas(client),  # each AFAS answer counted by its outcome kind
            org.environment,
            decrypt_token(org, runtime.require_cipher()),  # decrypted for this call only
            profile=runtime.profile,
            deep=deep,
            expiry_warning=runtime.expiry_warning,
            now=now,  # the sweep's time: runs, alerts and the platform view agree
        )


async def record_org_check(
    runtime: Runtime,
    org: Org,
    report: CheckReport,
    *,
    trigger: CheckTrigger,
    actor: str | None = None,
    deep: bool = False,
    now: datetime | None = None,
    lease: SweepLease | None = None,
) -> OrgCheck:
    """Record a check ``run_org_check`` ran (see ``check_org``)."""
    current_metrics().checked(trigger, report)
    recorded = await asyncio.to_thread(
        _record, runtime, org.id, report, trigger, actor, deep, lease, now
    )
    log.info(
        "checked org %s (%s): %s",
        org.key,
        trigger.value,
        report.overall.value,
        extra={"org": org.key, "trigger": trigger.value, "state": report.overall.value},
    )
    return OrgCheck(org.key, org.display_name, report, recorded)


def unclaim_org(session: Session, org: Org, lease: SweepLease) -> None:
    """Drop the sweep's lease on ``org`` without a result (in the caller's transaction): it
    stays due, to be checked as soon as the bot can reach AFAS again."""
    finish_org_check(session, org.id, owner=lease.owner, next_check_at=org.next_check_at)


async def check_orgs(
    runtime: Runtime,
    keys: list[str],
    *,
    trigger: CheckTrigger,
    actor: str | None = None,
    deep: bool = False,
) -> list[OrgCheck]:
    """Check several orgs concurrently (at most ``check_concurrency`` at a time)."""
    limit = asyncio.Semaphore(runtime.settings.check_concurrency)
    async with runtime.afas_client() as client:

        async def one(key: str) -> OrgCheck:
            async with limit:
                return await check_org(
                    runtime, client, key, trigger=trigger, actor=actor, deep=deep
                )

        return list(await asyncio.gather(*(one(key) for key in keys)))


def record_check(
    session: Session,
    org: Org,
    report: CheckReport,
    trigger: CheckTrigger,
    *,
    alerting: AlertPolicy | None = None,
    platform: PlatformPolicy | None = None,
    now: datetime | None = None,
) -> None:
    """Store a check report as a run (and the org's current state); with ``alerting``, apply
    the alert policy in the same transaction (``platform``: when AFAS counts as down)."""
    record_check_run(
        session,
        org,
        trigger=trigger,
        started_at=report.started_at,
        duration_ms=int(report.duration_ms),
        overall_state=report.overall,
        items=[item.to_dict() for item in report.items],
        summary=summary_line(report),
    )
    if alerting is not None:
        apply_alerting(
            session,
            org,
            report,
            now=now or report.started_at,
            policy=alerting,
            platform=platform,
        )


def alert_policy(settings: Settings) -> AlertPolicy:
    return AlertPolicy(
        open_after=settings.alert_open_after,
        close_after=settings.alert_close_after,
        remind_every=timedelta(hours=settings.alert_remind_hours),
    )


def summary_line(report: CheckReport) -> str:
    """A short English summary for the check run row (no secrets: counts and ids only)."""
    counts = report.counts()
    failing = [i.requirement_id for i in report.items if i.status is ItemStatus.FAILING]
    text = f"{report.overall.value}: {counts['failing']} failing, {counts['warning']} warnings"
    if failing:
        text += " (" + ", ".join(failing[:5]) + ("…" if len(failing) > 5 else "") + ")"
    return text


# --- the database work, in worker threads -----------------------------------------------------


def _load_org(runtime: Runtime, key: str) -> Org:
    with runtime.session() as session:
        return get_org(session, key)


def _record(
    runtime: Runtime,
    org_id: int,
    report: CheckReport,
    trigger: CheckTrigger,
    actor: str | None,
    deep: bool,
    lease: SweepLease | None,
    now: datetime | None,
) -> bool:
    with runtime.session() as session:
        if lease is not None and not finish_org_check(
            session,
            org_id,
            owner=lease.owner,
            next_check_at=lease.next_check_at,
            state=report.overall,
            checked_at=report.started_at,
        ):
            session.rollback()
            log.warning("lease on org %s passed to another replica; result dropped", org_id)
            return False
        org = get_org_by_id(session, org_id)
        scheduled = trigger is CheckTrigger.SCHEDULE
        record_check(
            session,
            org,
            report,
            trigger,
            alerting=alert_policy(runtime.settings) if scheduled else None,
            platform=PlatformPolicy.from_settings(runtime.settings) if scheduled else None,
            now=now,
        )
        when = now or report.started_at
        if scheduled and deep:  # a person's deep check compares nothing: it must not postpone
            org.last_deep_check_at = when
        if scheduled:  # warnings before breakage, in the same transaction as the alerts
            warn_token_expiry(session, org, report, now=when, within=runtime.expiry_warning)
            watch_drift(session, org, report, now=when)
        if actor is not None:
            add_audit_event(
                session,
                actor=actor,
                action="org.checked",
                org_key=org.key,
                details={"trigger": trigger.value, "deep": deep, "state": report.overall.value},
            )
        return True
