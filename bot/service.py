"""The long-running bot process (``afasbot serve``): the scheduled-check loop on one event loop.

APScheduler's ``AsyncIOScheduler`` fires a sweep every ``scheduler_tick_seconds``
(``max_instances=1``, ``coalesce=True``: a slow sweep is never run twice at once nor caught up
in a burst). Every replica may run this: the database lease decides who checks which org. On
SIGTERM or SIGINT it stops sweeping, waits for the sweep in flight, and releases its leases so
other replicas need not wait for them to expire. The Slack app joins this loop in its own issue.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.runtime import Runtime
from bot.scheduler import sweep
from storage.repository import release_leases

log = logging.getLogger(__name__)


def replica_id() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class CheckService:
    def __init__(self, runtime: Runtime, *, owner: str | None = None) -> None:
        self.runtime = runtime
        self.owner = owner or replica_id()
        self.sweeps = 0
        self._running: set[asyncio.Task] = set()
        self._client = runtime.afas_client()

    async def sweep_once(self) -> None:
        """One sweep; errors are logged, never raised into the scheduler."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            settings = self.runtime.settings
            result = await sweep(
                self.runtime,
                self._client,
                owner=self.owner,
                now=datetime.now(UTC),
                limit=settings.sweep_limit,
                lease_seconds=settings.check_lease_seconds,
            )
            self.sweeps += 1
            if result.checked or result.lost or result.failed:
                log.info(
                    "sweep: %d checked, %d lost to another replica, %d failed",
                    len(result.checked),
                    len(result.lost),
                    len(result.failed),
                )
        except Exception:
            log.exception("sweep failed; the next tick tries again")
        finally:
            if task is not None:
                self._running.discard(task)

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep on every tick until ``stop`` is set; then finish cleanly."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.sweep_once,
            "interval",
            seconds=self.runtime.settings.scheduler_tick_seconds,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id="sweep",
        )
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            released = await asyncio.to_thread(self._release)
            await self._client.aclose()
            log.info("stopped after %d sweeps; %d leases released", self.sweeps, released)

    def _release(self) -> int:
        with self.runtime.session() as session:
            return release_leases(session, owner=self.owner)


async def serve_until_signalled(runtime: Runtime) -> CheckService:
    """Run the service until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    service = CheckService(runtime)
    await service.run(stop)
    return service
