"""The continuous scheduler (issue 11 §1): every org checked at its interval, whatever the
number of orgs and the AFAS latency, within the AFAS limits.

``serve`` used to sweep at most ``AFASBOT_SWEEP_LIMIT`` orgs per 30 s tick, which silently
stretched every interval once there were more orgs than that. Instead, this loop claims due orgs
in small batches whenever a check slot is free, so the number of checks in flight follows the
due work (Little's law: checks per second times the time a check takes) up to the capacity
the AFAS limits allow. Leases of checks still running are renewed, so a slow check never loses
its org to another replica. Every ``PACE_SECONDS`` it measures whether the interval can be kept
and says so in the log and the metrics when it cannot, and why: the AFAS limits (more checks
in flight needed than the limits allow) or the CPU (the process is busy all the time).

The database keeps the schedule (``next_check_at``, leases): any number of replicas run this
loop; each due org is claimed by one of them (``storage.leases``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from afas.client import AfasClient
from afas.environments import AfasEnvironment
from afas.report import CheckReport
from bot.alerting.connectivity import Connectivity
from bot.alerting.drift import deep_due
from bot.runtime import Runtime
from bot.schedule import next_check_at
from bot.services.checks import SweepLease, record_org_check, run_org_check, unclaim_org
from bot.sweep import _any_environment, _came_back, _update_platform, _went_offline
from storage.models import CheckTrigger, Org
from storage.orgs import effective_interval
from storage.repository import claim_due_orgs
from storage.scheduling import checks_per_second, overdue_count, renew_leases

log = logging.getLogger(__name__)

PACE_SECONDS = 30.0  # how often the pace is measured and, when behind, said
PLATFORM_SECONDS = 5.0  # how often the platform verdict is updated while checks complete
OVERDUE_GRACE = timedelta(seconds=60)
MAX_IDLE_SECONDS = 1.0  # the longest the loop sleeps without looking for due orgs
ROUND_SECONDS = 0.5  # between looks while slots are free: an org starts at most this late
REFILL_SECONDS = 0.05  # with every slot taken, how long to gather finished checks to refill
BUSY_CPU_SHARE = 0.9  # a process using this share of a core all the time is CPU-bound


@dataclass(frozen=True)
class Pace:
    """Whether the interval can be kept, as measured over the last pace window."""

    in_flight: int
    capacity: int
    needed: float  # checks in flight the orgs' intervals need (rate x seconds per check)
    overdue: int  # orgs due for over a minute and not being checked
    seconds_per_check: float
    cpu_share: float  # of one core, over the window
    behind: str | None  # None, "afas_limits" or "cpu"
    late_seconds: float = 0.0  # how late the recent checks started after falling due (p95)


def scheduled_capacity(
    total_limit: int, per_environment_limit: int, people_reserve: int = 0
) -> int:
    """How many scheduled checks may run at once: a check uses at most its environment's
    slots, so the AFAS total (less what is kept for people) over that is what fits."""
    return max(1, (total_limit - people_reserve) // max(1, per_environment_limit))


class ContinuousScheduler:
    """One replica's scheduled checks, claimed as they fall due."""

    def __init__(
        self,
        runtime: Runtime,
        client: AfasClient,
        *,
        owner: str,
        connectivity: Connectivity | None = None,
        on_progress: Callable[[], Awaitable[None]] | None = None,
        tick: Callable[[], None] | None = None,
        pace: Callable[[Pace], None] | None = None,
        capacity: int | None = None,
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.client = client
        self.owner = owner
        self.connectivity = connectivity
        self.capacity = capacity or scheduled_capacity(
            settings.afas_total_limit,
            settings.afas_per_environment_limit,
            settings.afas_people_slots,
        )
        self.batch = max(1, min(settings.sweep_limit, self.capacity))
        self.lease_seconds = settings.check_lease_seconds
        self.idle_seconds = min(MAX_IDLE_SECONDS, settings.scheduler_tick_seconds)
        self.round_seconds = min(ROUND_SECONDS, self.idle_seconds)
        self.refill = max(1, self.capacity // 4)  # free slots worth a claim while saturated
        self.checked = 0  # checks recorded by this replica
        self.claims = 0  # claiming rounds that found work
        self._on_progress = on_progress
        self._tick = tick
        self._pace = pace
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._recent: deque[tuple[AfasEnvironment, CheckReport]] = deque(maxlen=32)
        self._durations: deque[float] = deque(maxlen=256)
        self.lateness: deque[float] = deque(maxlen=4096)  # s from due to start, recent checks
        self._completed_since_platform = 0
        self._progress: asyncio.Task[None] | None = None

    # -- the loop -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Check due orgs until ``stop`` is set; then wait for the checks in flight. A fault
        (the database gone for a moment) is logged and the loop goes on a moment later: it
        never ends the scheduler."""
        self.runtime.require_cipher()
        self._last_renew = self._last_platform = self._last_pace = time.monotonic()
        self._cpu_mark = (time.monotonic(), time.process_time())
        try:
            while not stop.is_set():
                if self._tick is not None:
                    self._tick()
                now = datetime.now(UTC)
                try:
                    again = await self._round(now, stop)
                except Exception:
                    log.exception("scheduling checks failed; trying again in a moment")
                    again = False
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.idle_seconds)
                    continue
                if not again:
                    await self._wait(now, stop)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            try:
                if self._completed_since_platform:
                    await self._after_checks(datetime.now(UTC))
                if self._progress is not None:
                    await asyncio.gather(self._progress, return_exceptions=True)
            except Exception:
                log.exception("the last platform update failed; the next replica does it")

    async def _round(self, now: datetime, stop: asyncio.Event) -> bool:
        """One look for work; True when more may be due at once (claim again before waiting)."""
        if self.connectivity is not None and self.connectivity.offline:
            await self._while_offline(now, stop)
            return True
        claimed = await self._claim(now)
        mono = time.monotonic()
        if mono - self._last_renew >= self.lease_seconds / 3:
            await asyncio.to_thread(self._renew, now)
            self._last_renew = mono
        if self._completed_since_platform and mono - self._last_platform >= PLATFORM_SECONDS:
            self._last_platform = mono
            await self._after_checks(now)
        if mono - self._last_pace >= PACE_SECONDS:
            self._last_pace = mono
            self._cpu_mark = await self._measure(now, self._cpu_mark)
        return bool(claimed) and len(self._tasks) < self.capacity

    async def _claim(self, now: datetime) -> int:
        free = self.capacity - len(self._tasks)
        if free <= 0:
            return 0
        orgs = await asyncio.to_thread(self._claim_orgs, now, min(free, self.batch))
        for org in orgs:
            self._tasks[org.id] = asyncio.create_task(self._check(org), name=f"check {org.key}")
        if orgs:
            self.claims += 1
        return len(orgs)

    async def _check(self, org: Org) -> None:
        now = datetime.now(UTC)
        if org.next_check_at is not None:
            self.lateness.append(max(0.0, (now - org.next_check_at).total_seconds()))
        interval = _interval(org, self.runtime)
        lease = SweepLease(self.owner, next_check_at(org.id, interval, now))
        deep = deep_due(org, now, self.runtime.settings.drift_check_hours)
        started = time.monotonic()
        try:
            report = await run_org_check(
                self.runtime, self.client, org, trigger=CheckTrigger.SCHEDULE, now=now, deep=deep
            )
            if self.connectivity is not None and await self.connectivity.no_network(report):
                await self._no_network(org, lease, now)  # about the bot: nothing recorded
                return
            result = await record_org_check(
                self.runtime,
                org,
                report,
                trigger=CheckTrigger.SCHEDULE,
                now=now,
                lease=lease,
                deep=deep,
            )
        except Exception:
            log.exception("scheduled check of org %s crashed", org.key)
            return
        finally:
            self._tasks.pop(org.id, None)
            self._durations.append(time.monotonic() - started)
        if result.recorded:
            self.checked += 1
            self._completed_since_platform += 1
        self._recent.append((org.environment, result.report))

    async def _no_network(self, org: Org, lease: SweepLease, now: datetime) -> None:
        """A check that the bot's own network failed: the org stays due; the first such
        check says so (once: the loop checks nothing more until the network is back)."""
        first = not self.connectivity.offline
        if first:
            self.connectivity.offline_since = now  # at once, on the loop: said once
        await asyncio.to_thread(self._unclaim_and_say, org, lease, now, first)

    def _unclaim_and_say(self, org: Org, lease: SweepLease, now: datetime, first: bool) -> None:
        with self.runtime.session() as session:
            unclaim_org(session, org, lease)
            if first:
                self.connectivity.went_offline(session, now=now, environments=1)

    async def _wait(self, now: datetime, stop: asyncio.Event) -> None:
        """Until the next look for due orgs. With every slot taken: until checks finish, a
        few at once (``REFILL_SECONDS``: claiming costs more than recording one check, so
        one claim per finished check would cost more than the checks). Otherwise everything
        due is claimed: a round's time (``ROUND_SECONDS``), so that an org falls due at most
        that late and the database is asked a few times a second, not once per org."""
        stopped = asyncio.ensure_future(stop.wait())
        try:
            if len(self._tasks) < self.capacity:
                await asyncio.wait({stopped}, timeout=self.round_seconds)
                return
            await asyncio.wait(
                {stopped, *self._tasks.values()},
                timeout=self.idle_seconds,
                return_when="FIRST_COMPLETED",
            )
            deadline = time.monotonic() + REFILL_SECONDS
            while (
                self._tasks
                and not stop.is_set()
                and self.capacity - len(self._tasks) < self.refill
                and (left := deadline - time.monotonic()) > 0
            ):
                await asyncio.wait(
                    {stopped, *self._tasks.values()}, timeout=left, return_when="FIRST_COMPLETED"
                )
        finally:
            stopped.cancel()

    async def _while_offline(self, now: datetime, stop: asyncio.Event) -> None:
        """No network: ask the canary (or an environment) every second until it answers."""
        sample = await asyncio.to_thread(_any_environment, self.runtime)
        if await self.connectivity.back_online(sample):
            await asyncio.to_thread(_came_back, self.runtime, self.connectivity, now)
            self._recent.clear()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.idle_seconds)

    async def _after_checks(self, now: datetime) -> None:
        """After some checks completed: the bot's own network, the platform verdict, and
        the outbox (new alerts go out at once, not a tick later)."""
        self._completed_since_platform = 0
        if self.connectivity is not None and len(self._recent) >= 1:
            offline, environments = await self.connectivity.looks_offline(list(self._recent))
            if offline:
                await asyncio.to_thread(
                    _went_offline, self.runtime, self.connectivity, now, environments
                )
                return
        await asyncio.to_thread(_update_platform, self.runtime, now)
        if self._on_progress is not None and (self._progress is None or self._progress.done()):
            # In the background: delivery keeps Slack's pace (a second per post per channel),
            # which must not hold up the checks.
            self._progress = asyncio.create_task(self._on_progress(), name="deliver")

    # -- pace ---------------------------------------------------------------------------

    async def _measure(self, now: datetime, mark: tuple[float, float]) -> tuple[float, float]:
        wall, cpu = time.monotonic(), time.process_time()
        share = (cpu - mark[1]) / max(1e-6, wall - mark[0])
        rate, overdue = await asyncio.to_thread(self._load, now)
        seconds = sorted(self._durations)[len(self._durations) // 2] if self._durations else 0.0
        needed = rate * seconds
        behind = None
        if overdue or needed > self.capacity:
            behind = "cpu" if share >= BUSY_CPU_SHARE else "afas_limits"
        late = sorted(self.lateness)[int(len(self.lateness) * 0.95)] if self.lateness else 0.0
        pace = Pace(len(self._tasks), self.capacity, needed, overdue, seconds, share, behind, late)
        if behind is not None:
            log.warning(
                "the check interval cannot be kept: %d orgs overdue; %.1f checks in flight "
                "needed (%.2f/s x %.2f s), %d allowed; cause: %s",
                overdue,
                needed,
                rate,
                seconds,
                self.capacity,
                "the CPU (the process is busy all the time)"
                if behind == "cpu"
                else "the AFAS limits (raise AFASBOT_AFAS_TOTAL_LIMIT, or add replicas)",
                extra={"overdue": overdue, "behind": behind},
            )
        if self._pace is not None:
            self._pace(pace)
        return wall, cpu

    # -- the database work, in worker threads ----------------------------------------------

    def _claim_orgs(self, now: datetime, limit: int) -> list[Org]:
        with self.runtime.session() as session:
            return claim_due_orgs(
                session, now=now, owner=self.owner, lease_seconds=self.lease_seconds, limit=limit
            )

    def _renew(self, now: datetime) -> None:
        ids = list(self._tasks)
        if not ids:
            return
        with self.runtime.session() as session:
            renew_leases(
                session,
                ids,
                owner=self.owner,
                until=now + timedelta(seconds=self.lease_seconds),
            )

    def _load(self, now: datetime) -> tuple[float, int]:
        with self.runtime.session() as session:
            rate = checks_per_second(session, default_interval=_default_interval(self.runtime))
            return rate, overdue_count(session, now=now, grace=OVERDUE_GRACE)


def _default_interval(runtime: Runtime) -> int:
    return runtime.settings.check_interval_seconds


def _interval(org: Org, runtime: Runtime) -> int:
    return effective_interval(org, runtime.settings)
