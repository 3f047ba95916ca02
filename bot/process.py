"""The long-running bot process (``afasbot serve``): the scheduled-check loop on one event loop.

APScheduler's ``AsyncIOScheduler`` fires a sweep every ``scheduler_tick_seconds``
(``max_instances=1``, ``coalesce=True``: a slow sweep is never run twice at once nor caught up
in a burst). Every replica may run this: the database lease decides who checks which org. On
SIGTERM or SIGINT it stops sweeping, waits for the sweep in flight, and releases its leases so
other replicas need not wait for them to expire. The Slack app, when configured, runs on the
same loop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient

from afas.client import AfasClient
from bot.alerting.connectivity import Connectivity
from bot.alerting.delivery import Delivery, drain_outbox
from bot.alerting.digest import digest_tick
from bot.health import Readiness
from bot.metrics import Metrics, installed
from bot.replica import replica_id
from bot.runtime import Runtime
from bot.scheduler import ContinuousScheduler
from bot.services.retention import JOB_MAX_BATCHES, Compaction, compact_history
from bot.serving import Server
from bot.settings import Settings
from bot.slack.app import create_slack_app, web_client
from bot.slack.background import Background
from bot.slack.config import SlackSettingsError, contradictions, slack_mode
from bot.sweep import sweep
from storage.repository import release_leases

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertSender:
    """Where the outbox goes: the Slack client and how alerts are written."""

    client: AsyncWebClient
    delivery: Delivery


class BotProcess:
    """The scheduled sweep and the outbox sender of one replica, driven by APScheduler."""

    def __init__(
        self,
        runtime: Runtime,
        client: AfasClient,
        *,
        owner: str | None = None,
        alerts: AlertSender | None = None,
        readiness: Readiness | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.runtime = runtime
        self.readiness = readiness
        self.metrics = metrics
        self.owner = owner or replica_id()
        self.sweeps = 0
        self.delivered = 0
        self._running: set[asyncio.Task] = set()
        self._client = client
        self._alerts = alerts
        self._draining = asyncio.Lock()
        settings = runtime.settings
        self.connectivity = Connectivity(
            replica=self.owner,
            canary_url=settings.canary_url,
            min_environments=settings.platform_min_orgs,
            url_template=settings.afas_url_template,
        )

    async def compact_once(self) -> None:
        """Compact check runs past the retention (AFASBOT_RETENTION_DAYS); safe on every
        replica, in bounded batches."""
        try:
            done = await asyncio.to_thread(self._compact)
            if done.runs:
                log.info("retention: %d check runs compacted", done.runs)
        except Exception:
            log.exception("compacting old check runs failed; the next run tries again")

    def _compact(self) -> Compaction:
        with self.runtime.session() as session:
            return compact_history(session, self.runtime.settings, max_batches=JOB_MAX_BATCHES)

    def _ticked(self) -> None:
        self.sweeps += 1
        if self.readiness is not None:
            self.readiness.ticked()

    async def sweep_once(self) -> None:
        """One sweep; errors are logged, never raised into the scheduler."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        if self.readiness is not None:
            self.readiness.ticked()
        try:
            settings = self.runtime.settings
            result = await sweep(
                self.runtime,
                self._client,
                owner=self.owner,
                now=datetime.now(UTC),
                limit=settings.sweep_limit,
                lease_seconds=settings.check_lease_seconds,
                connectivity=self.connectivity,
            )
            self.sweeps += 1
            if result.checked or result.lost or result.failed:
                log.info(
                    "sweep: %d checked, %d lost to another replica, %d failed",
                    len(result.checked),
                    len(result.lost),
                    len(result.failed),
                )
            await self.drain_once()  # new alerts go out at once, not a tick later
        except Exception:
            log.exception("sweep failed; the next tick tries again")
        finally:
            if task is not None:
                self._running.discard(task)

    async def digest_once(self) -> None:
        """Write today's digest to the outbox when due (once across replicas), and send it."""
        try:
            if await digest_tick(self.runtime):
                await self.drain_once()
        except Exception:
            log.exception("the daily digest failed; the next minute tries again")

    async def drain_once(self) -> None:
        """Send what the outbox holds (alerts; retries of earlier failures)."""
        if self._alerts is None:
            return
        async with self._draining:
            try:
                result = await drain_outbox(
                    self.runtime,
                    self._alerts.client,
                    self._alerts.delivery,
                    owner=self.owner,
                    now=datetime.now(UTC),
                    metrics=self.metrics,
                )
            except Exception:
                log.exception("sending alerts failed; the outbox keeps them for the next tick")
                return
            self.delivered += result.sent

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep on every tick until ``stop`` is set; then finish cleanly."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        checks = ContinuousScheduler(
            self.runtime,
            self._client,
            owner=self.owner,
            connectivity=self.connectivity,
            on_progress=self.drain_once,
            tick=self._ticked,
            pace=self.metrics.scheduler_pace if self.metrics is not None else None,
        )
        self.scheduler = checks
        checking = asyncio.create_task(checks.run(stop), name="scheduled checks")
        if self._alerts is not None:
            scheduler.add_job(
                self.drain_once,
                "interval",
                seconds=self.runtime.settings.outbox_tick_seconds,
                max_instances=1,
                coalesce=True,
                id="outbox",
            )
        if self._alerts is not None and self.runtime.settings.digest_hour is not None:
            scheduler.add_job(
                self.digest_once,
                "interval",
                seconds=60,
                next_run_time=datetime.now(UTC),
                max_instances=1,
                coalesce=True,
                id="digest",
            )
        scheduler.add_job(
            self.compact_once,
            "interval",
            hours=1,
            next_run_time=datetime.now(UTC) + timedelta(minutes=5),
            max_instances=1,
            coalesce=True,
            id="retention",
        )
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.gather(checking, return_exceptions=True)
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            released = await asyncio.to_thread(self._release)
            log.info("stopped after %d sweeps; %d leases released", self.sweeps, released)

    def _release(self) -> int:
        with self.runtime.session() as session:
            return release_leases(session, owner=self.owner)


async def serve_until_signalled(
    runtime: Runtime,
    slack: SlackConfig | None,
    *,
    host: str | None = None,
    port: int | None = None,
    started: Callable[[Server], None] | None = None,
) -> BotProcess:
    """Run the scheduled checks, the health and metrics endpoints and (when configured) the
    Slack app until SIGTERM or SIGINT. ``ServeError`` when the address cannot be used."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    settings = runtime.settings
    readiness = Readiness(runtime, tick_seconds=settings.scheduler_tick_seconds)
    metrics = Metrics(runtime)  # this process's figures; check_org counts into it while installed
    with installed(metrics):
        return await _serve(runtime, slack, readiness, metrics, stop, host, port, started)


async def _serve(
    runtime: Runtime,
    slack: SlackConfig | None,
    readiness: Readiness,
    metrics: Metrics,
    stop: asyncio.Event,
    host: str | None,
    port: int | None,
    started: Callable[[Server], None] | None,
) -> BotProcess:
    settings = runtime.settings
    async with runtime.afas_client() as client:
        alerts = None
        background = Background()
        app = None
        if slack is not None:
            slack_client = web_client(slack.bot_token, base_url=slack.api_url, metrics=metrics)
            alerts = AlertSender(
                web_client(
                    slack.bot_token,
                    base_url=slack.api_url,
                    retry_rate_limits=False,
                    metrics=metrics,
                ),
                Delivery.from_settings(settings),
            )
            app = create_slack_app(
                runtime,
                client,
                client=slack_client,
                signing_secret=slack.signing_secret or "",
                background=background,
                metrics=metrics,
            )
        service = BotProcess(runtime, client, alerts=alerts, readiness=readiness, metrics=metrics)
        server = Server(
            readiness,
            host=settings.slack_host if host is None else host,
            port=settings.slack_port if port is None else port,
            app=app,
            mode=slack.mode if slack else None,
            app_token=slack.app_token if slack else None,
            background=background,
            metrics=metrics,
        )
        # What start-up built lives as long as the process: moved out of the collector's
        # reach, so a full collection during a burst of requests stays short (140 ms -> 5 ms
        # in bench/ack_latency.py's profile).
        gc.collect()
        gc.freeze()
        await server.start()
        if started is not None:
            started(server)
        log.info("listening on %s:%d; Slack app: %s", server.host, server.port, server.mode)
        try:
            await service.run(stop)
        finally:
            await server.stop()
    return service


@dataclass(frozen=True)
class SlackConfig:
    """The Slack settings ``serve`` needs, checked before anything starts."""

    bot_token: str
    mode: str
    signing_secret: str | None
    app_token: str | None
    host: str
    port: int
    api_url: str | None

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> SlackConfig | None:
        """None when no bot token is set; ``SlackSettingsError`` (a ValueError) naming every
        missing or contradicting variable."""
        if settings.slack_bot_token is None:
            contradictions_only = contradictions(os.environ if environ is None else environ)
            if contradictions_only:
                raise SlackSettingsError("; ".join(contradictions_only))
            return None
        mode = slack_mode(settings, environ)
        secret = settings.slack_signing_secret
        app_token = settings.slack_app_token
        return cls(
            bot_token=settings.slack_bot_token.get_secret_value(),
            mode=mode,
            signing_secret=secret.get_secret_value() if secret else None,
            app_token=app_token.get_secret_value() if app_token else None,
            host=settings.slack_host,
            port=settings.slack_port,
            api_url=settings.slack_api_url,
        )

    def with_address(self, *, host: str | None, port: int | None) -> SlackConfig:
        """The same, listening elsewhere (``serve --host/--port``)."""
        return replace(
            self, host=self.host if host is None else host, port=self.port if port is None else port
        )

    def __repr__(self) -> str:  # the tokens stay out of logs and tracebacks
        return f"SlackConfig(mode={self.mode!r}, port={self.port!r})"
