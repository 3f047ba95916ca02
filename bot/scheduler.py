"""Scheduled checks: every replica sweeps; each due org is checked by exactly one of them.

A sweep claims due orgs with a lease (``storage.claim_due_orgs``: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, compare-and-set on SQLite), checks them with bounded concurrency, and in one
transaction per org records the run and schedules the next check, releasing the lease. A
replica that dies mid-check loses nothing: its leases expire and another replica takes the
orgs. APScheduler only drives the sweep (``afasbot serve``); the schedule itself lives in the
database (alerting.md, decisions 1 and 2). The same transaction applies the alert policy
(bot/alerting): an incident change and its outbox message commit with the check run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from afas.check import run_check
from afas.client import AfasClient
from afas.report import CheckReport
from bot.alerting.platform import PlatformPolicy, update_platform
from bot.alerting.policy import AlertPolicy
from bot.alerting.record import apply_alerting
from bot.runtime import Runtime
from bot.services.org_checks import record_report
from storage.models import CheckTrigger, Org
from storage.repository import claim_due_orgs, decrypt_token, finish_org_check

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    checked: tuple[str, ...]  # org keys checked and recorded by this replica
    lost: tuple[str, ...]  # checked, but the lease had passed to another replica: not recorded
    failed: tuple[str, ...]  # the check itself crashed: the lease will expire, another try then


def next_check_at(org_id: int, interval_seconds: int, now: datetime) -> datetime:
    """The next check time on a fixed grid with a stable offset per org, half an interval to
    one and a half intervals from now.

    Prometheus-style: ``offset = hash(org) % interval``, aligned to absolute time, so checks
    of many orgs spread over the interval and a restart does not make them all due at once.
    """
    interval = max(1, interval_seconds)
    digest = hashlib.sha256(f"org:{org_id}".encode()).digest()
    offset = int.from_bytes(digest[:8], "big") % interval
    now_s = now.timestamp()
    slot = math.floor((now_s - offset) / interval) * interval + offset
    # At least half an interval away: an org checked off its grid (just registered, or
    # re-checked on request) is not checked again moments later; on the grid, exactly one
    # interval later.
    while slot <= now_s + interval / 2:
        slot += interval
    return datetime.fromtimestamp(slot, tz=UTC)


async def sweep(
    runtime: Runtime,
    client: AfasClient,
    *,
    owner: str,
    now: datetime | None = None,
    limit: int = 100,
    lease_seconds: float = 300.0,
) -> SweepResult:
    """Claim up to ``limit`` due orgs for ``owner``, check them, record and reschedule them."""
    now = now or datetime.now(UTC)
    cipher = runtime.require_cipher()
    claimed = await asyncio.to_thread(_claim, runtime, owner, now, limit, lease_seconds)
    gate = asyncio.Semaphore(runtime.settings.check_concurrency)
    checked: list[str] = []
    lost: list[str] = []
    failed: list[str] = []

    async def one(org: Org) -> None:
        async with gate:
            try:
                report = await run_check(
                    client,
                    org.environment,
                    decrypt_token(org, cipher),  # decrypted for this call only
                    profile=runtime.profile,
                    expiry_warning=runtime.expiry_warning,
                    now=now,  # the sweep's time: runs, alerts and the platform view agree
                )
            except Exception:
                log.exception("scheduled check of org %s crashed", org.key)
                failed.append(org.key)
                return
        next_at = next_check_at(org.id, org.check_interval_seconds, now)
        finished = await asyncio.to_thread(_finish, runtime, org.id, owner, now, next_at, report)
        if not finished:
            log.warning("lease on org %s passed to another replica; result dropped", org.key)
            lost.append(org.key)
            return
        checked.append(org.key)

    await asyncio.gather(*(one(org) for org in claimed))
    if checked:
        await asyncio.to_thread(_update_platform, runtime, now)
    return SweepResult(tuple(checked), tuple(lost), tuple(failed))


# The database work, run in a worker thread so that the event loop never waits on it.


def _claim(
    runtime: Runtime, owner: str, now: datetime, limit: int, lease_seconds: float
) -> list[Org]:
    with runtime.session() as session:
        return claim_due_orgs(
            session, now=now, owner=owner, lease_seconds=lease_seconds, limit=limit
        )


def _finish(
    runtime: Runtime,
    org_id: int,
    owner: str,
    now: datetime,
    next_at: datetime,
    report: CheckReport,
) -> bool:
    """Record the run, decide on alerts (incident and outbox message) and reschedule, in one
    transaction, only while the lease is ours."""
    with runtime.session() as session:
        if not finish_org_check(session, org_id, owner=owner, next_check_at=next_at):
            session.rollback()
            return False
        org = session.get(Org, org_id)
        record_report(session, org, report, CheckTrigger.SCHEDULE)
        apply_alerting(session, org, report, now=now, policy=alert_policy(runtime))
        return True


def _update_platform(runtime: Runtime, now: datetime) -> None:
    with runtime.session() as session:
        update_platform(session, now=now, policy=PlatformPolicy())


def alert_policy(runtime: Runtime) -> AlertPolicy:
    s = runtime.settings
    return AlertPolicy(
        open_after=s.alert_open_after,
        close_after=s.alert_close_after,
        remind_every=timedelta(hours=s.alert_remind_hours),
    )
