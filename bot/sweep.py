"""The scheduled sweep: every replica sweeps; each due org is checked by exactly one of them.

A sweep claims due orgs with a lease (``storage.claim_due_orgs``, see ``storage/leases.py``),
checks them through the one check path (``bot.services.checks.check_org``) with bounded
concurrency, and records each in one transaction that also schedules its next check and
releases the lease. A replica that dies mid-check loses nothing: its leases expire and another
replica takes the orgs. APScheduler only drives the sweep (``bot/process.py``); the schedule
itself lives in the database (alerting.md, decisions 1 and 2).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from afas.client import AfasClient
from afas.environments import AfasEnvironment
from afas.report import CheckReport
from bot.alerting.connectivity import Connectivity
from bot.alerting.digest import ops_channel
from bot.alerting.drift import deep_due
from bot.alerting.platform import PlatformPolicy, update_platform
from bot.runtime import Runtime
from bot.schedule import next_check_at
from bot.services.checks import SweepLease, record_org_check, run_org_check, unclaim_org
from storage.models import CheckTrigger, Org
from storage.orgs import effective_interval
from storage.repository import claim_due_orgs
from storage.scheduling import any_environment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    checked: tuple[str, ...]  # org keys checked and recorded by this replica
    lost: tuple[str, ...]  # checked, but the lease had passed to another replica: not recorded
    failed: tuple[str, ...]  # the check itself crashed: the lease will expire, another try then
    offline: bool = False  # this replica has no network: nothing was checked (connectivity.py)


async def sweep(
    runtime: Runtime,
    client: AfasClient,
    *,
    owner: str,
    now: datetime | None = None,
    limit: int = 100,
    lease_seconds: float = 300.0,
    connectivity: Connectivity | None = None,
) -> SweepResult:
    """Claim up to ``limit`` due orgs for ``owner``, check them, record and reschedule them.

    With ``connectivity``, a replica that has lost its own network says so once and checks
    nothing until it is back (``bot/alerting/connectivity.py``)."""
    now = now or datetime.now(UTC)
    runtime.require_cipher()
    if connectivity is not None and connectivity.offline:
        sample = await asyncio.to_thread(_any_environment, runtime)
        if not await connectivity.back_online(sample):
            return SweepResult((), (), (), offline=True)
        await asyncio.to_thread(_came_back, runtime, connectivity, now)
    claimed = await asyncio.to_thread(_claim, runtime, owner, now, limit, lease_seconds)
    gate = asyncio.Semaphore(runtime.settings.check_concurrency)
    checked: list[str] = []
    lost: list[str] = []
    failed: list[str] = []
    ran: list[tuple[Org, SweepLease, bool, CheckReport]] = []

    async def one(org: Org) -> None:
        lease = SweepLease(
            owner, next_check_at(org.id, effective_interval(org, runtime.settings), now)
        )
        deep = deep_due(org, now, runtime.settings.drift_check_hours)
        async with gate:
            try:
                report = await run_org_check(
                    runtime, client, org, trigger=CheckTrigger.SCHEDULE, now=now, deep=deep
                )
            except Exception:
                log.exception("scheduled check of org %s crashed", org.key)
                failed.append(org.key)
                return
        ran.append((org, lease, deep, report))

    await asyncio.gather(*(one(org) for org in claimed))
    if connectivity is not None:
        offline, environments = await connectivity.looks_offline(
            (org.environment, report) for org, _, _, report in ran
        )
        if offline:  # about the bot itself, not about AFAS nor the orgs: nothing recorded
            leases = tuple((org, lease) for org, lease, _, _ in ran)
            await asyncio.to_thread(_went_offline, runtime, connectivity, now, environments, leases)
            return SweepResult((), (), tuple(failed), offline=True)

    async def record(org: Org, lease: SweepLease, deep: bool, report: CheckReport) -> None:
        try:
            result = await record_org_check(
                runtime,
                org,
                report,
                trigger=CheckTrigger.SCHEDULE,
                now=now,
                lease=lease,
                deep=deep,
            )
        except Exception:
            log.exception("recording the scheduled check of org %s failed", org.key)
            failed.append(org.key)
            return
        (checked if result.recorded else lost).append(org.key)

    await asyncio.gather(*(record(*one_ran) for one_ran in ran))
    if checked:
        await asyncio.to_thread(_update_platform, runtime, now)
    return SweepResult(tuple(checked), tuple(lost), tuple(failed))


def _claim(
    runtime: Runtime, owner: str, now: datetime, limit: int, lease_seconds: float
) -> list[Org]:
    with runtime.session() as session:
        return claim_due_orgs(
            session, now=now, owner=owner, lease_seconds=lease_seconds, limit=limit
        )


def _update_platform(runtime: Runtime, now: datetime) -> None:
    settings = runtime.settings
    with runtime.session() as session:
        update_platform(
            session,
            now=now,
            policy=PlatformPolicy.from_settings(settings),
            channel=ops_channel(settings),
        )


def _any_environment(runtime: Runtime) -> AfasEnvironment | None:
    with runtime.session() as session:
        return any_environment(session)


def _went_offline(
    runtime: Runtime,
    connectivity: Connectivity,
    now: datetime,
    environments: int,
    leases: tuple[tuple[Org, SweepLease], ...] = (),
) -> None:
    with runtime.session() as session:
        for org, lease in leases:
            unclaim_org(session, org, lease)
        connectivity.went_offline(session, now=now, environments=environments)


def _came_back(runtime: Runtime, connectivity: Connectivity, now: datetime) -> None:
    with runtime.session() as session:
        connectivity.came_back(session, now=now)
