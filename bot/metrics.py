"""What ``/metrics`` shows (Prometheus text, prometheus-client), and where each figure is counted.

One ``Metrics`` object per process, with a ``CollectorRegistry`` of its own (never the library's
global default registry), so that tests can run many apps in one process and read each one's
figures apart. ``afasbot serve`` (``bot/process.py``) makes it and hands it on explicitly:

- to the ``Server``, which answers ``GET /metrics`` on the host:port of ``/healthz`` (both modes);
- to the ``BotProcess``, whose outbox sender counts deliveries (``drain_outbox(metrics=...)``);
- to the Slack app: ``web_client(metrics=...)`` puts an observer first among the client's retry
  handlers (it never retries, it sees every answer: Slack's errors by method and ``error``, and
  each 429 even when a retry then succeeds; Bolt copies the retry handlers into the client it
  makes for every request, so the listeners' calls are counted too), and
  ``create_slack_app(metrics=...)`` times each request from Bolt's ``before_authorize`` hook (the
  first point after the signature check; an unsigned request is never timed) to ``ack()``.

The one check path, ``check_org``, is called from a dozen places (commands, buttons, the Home
tab, watches, exports, the sweep) that do not carry this object; rather than thread it through
all of them, ``check_org`` counts into ``current()``, a module-level ``Metrics`` that
``serve`` replaces for its run with ``installed(metrics)`` and restores afterwards. Outside
``serve`` (CLI commands, tests that do not install one) checks count into a default object
that nobody scrapes. AFAS answers are counted by kind as the check receives them
(``counting_afas``: the client as ``run_check`` sees it), so ``afas/`` knows nothing of
metrics.

The database figures (orgs per state, open incidents, outbox depth and the age of its oldest
undelivered message) are read at scrape time by a custom collector through
``storage.metrics.metrics_snapshot`` (three aggregate queries), in a worker thread so the event
loop never waits for the database. Labels are bounded vocabularies (enums, Slack method and
error names, checked against a pattern): no org key, no user, no token ever becomes a label.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from afas.client import AfasClient
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.report import CheckReport, OverallState
from bot.alerting.messages import (
    OPENED,
    ORG_REMOVED,
    PLATFORM_DOWN,
    PLATFORM_UP,
    REMINDER,
    RESOLVED,
)
from bot.runtime import Runtime
from storage.metrics import metrics_snapshot
from storage.models import CheckTrigger

if TYPE_CHECKING:
    from bot.scheduler import Pace

log = logging.getLogger(__name__)

#: The text format ``generate_latest`` writes (Prometheus 2 and 3 read it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SCRAPE_TIMEOUT_SECONDS = 10.0
CHECK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: Slack wants the acknowledgement within 3 s: the buckets are fine below it.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
OUTBOX_KINDS = (
    OPENED,
    RESOLVED,
    REMINDER,
    PLATFORM_DOWN,
    PLATFORM_UP,
    ORG_REMOVED,
    "incident.acknowledged",
    "delivery.failed",
)
DELIVERY_OUTCOMES = ("sent", "skipped", "retried", "given_up")
REQUEST_KINDS = (
    "command",
    "block_actions",
    "block_suggestion",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "event_callback",
)
OTHER = "other"
#: What may become a label from Slack's side (its method names and error codes).
_SLACK_METHOD = re.compile(r"[A-Za-z0-9_.]{1,64}")
SCHEDULER_CAUSES = ("afas_limits", "cpu")
_SLACK_ERROR = re.compile(r"[a-z0-9_]{1,64}")


class Metrics:
    """The process's figures, in a registry of its own. With ``runtime``, a scrape also reads
    the database's figures (``DatabaseCollector``)."""

    def __init__(
        self, runtime: Runtime | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self._counting: _CountingAfas | None = None  # the last client's (``counting_afas``)
        r = self.registry
        self.checks = Counter(
            "afasbot_checks",
            "Checks run, by why they ran and the state found.",
            ["trigger", "state"],
            registry=r,
        )
        self.check_duration = Histogram(
            "afasbot_check_duration_seconds",
            "How long a check took (its AFAS requests).",
            ["trigger"],
            buckets=CHECK_BUCKETS,
            registry=r,
        )
        self.afas_outcomes = Counter(
            "afasbot_afas_outcomes",
            "AFAS answers to checks, by outcome kind (after retries).",
            ["kind"],
            registry=r,
        )
        self.slack_api_errors = Counter(
            "afasbot_slack_api_errors",
            "Slack Web API error answers, by method and error.",
            ["method", "error"],
            registry=r,
        )
        self.slack_rate_limited = Counter(
            "afasbot_slack_rate_limited",
            "HTTP 429 answers from the Slack Web API, by method.",
            ["method"],
            registry=r,
        )
        self.ack_latency = Histogram(
            "afasbot_slack_ack_latency_seconds",
            "From a Slack request passing its signature check to its ack(), by request kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "afasbot_outbox_deliveries",
            "Outbox messages handled, by kind and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.scheduler_in_flight = Gauge(
            "afasbot_scheduler_checks_in_flight", "Scheduled checks running now.", registry=r
        )
        self.scheduler_capacity = Gauge(
            "afasbot_scheduler_capacity",
            "Scheduled checks allowed at once (from the AFAS limits).",
            registry=r,
        )
        self.scheduler_needed = Gauge(
            "afasbot_scheduler_needed_concurrency",
            "Checks in flight the orgs' intervals need: checks per second x seconds per check.",
            registry=r,
        )
        self.scheduler_overdue = Gauge(
            "afasbot_scheduler_overdue_orgs",
            "Orgs due for over a minute and not being checked.",
            registry=r,
        )
        self.scheduler_late = Gauge(
            "afasbot_scheduler_late_seconds",
            "How late recent scheduled checks started after their org fell due (95th percentile).",
            registry=r,
        )
        self.scheduler_behind = Gauge(
            "afasbot_scheduler_behind",
            "1 when the check interval cannot be kept, by cause (afas_limits, cpu).",
            ["cause"],
            registry=r,
        )
        self._initialise_labels()
        if runtime is not None:
            self.registry.register(DatabaseCollector(runtime, clock=clock))

    def scheduler_pace(self, pace: Pace) -> None:
        """What the continuous scheduler measured (``bot/scheduler.py``)."""
        self.scheduler_in_flight.set(pace.in_flight)
        self.scheduler_capacity.set(pace.capacity)
        self.scheduler_needed.set(pace.needed)
        self.scheduler_overdue.set(pace.overdue)
        self.scheduler_late.set(pace.late_seconds)
        for cause in SCHEDULER_CAUSES:
            self.scheduler_behind.labels(cause).set(1 if pace.behind == cause else 0)

    def _initialise_labels(self) -> None:
        """Every known series from 0, so a rate over a fresh process is 0, not absent."""
        for cause in SCHEDULER_CAUSES:
            self.scheduler_behind.labels(cause)
        for trigger in CheckTrigger:
            if trigger is CheckTrigger.REGISTRATION:
                continue  # registration verifies the token; it does not run ``check_org``
            self.check_duration.labels(trigger.value)
            for state in OverallState:
                self.checks.labels(trigger.value, state.value)
        for kind in OutcomeKind:
            self.afas_outcomes.labels(kind.value)
        for request in REQUEST_KINDS:
            self.ack_latency.labels(request)
        for message_kind in OUTBOX_KINDS:
            for outcome in DELIVERY_OUTCOMES:
                self.deliveries.labels(message_kind, outcome)

    # -- counting ---------------------------------------------------------------------------

    def checked(self, trigger: CheckTrigger, report: CheckReport) -> None:
        self.checks.labels(trigger.value, report.overall.value).inc()
        self.check_duration.labels(trigger.value).observe(report.duration_ms / 1000)

    def counting_afas(self, client: AfasClient) -> AfasClient:
        """``client`` as a check should use it: every answer's kind is counted. One wrapper
        per client (every check asks for it; wrapping its methods anew cost more than
        counting)."""
        wrapper = self._counting
        if wrapper is None or wrapper._client is not client:
            wrapper = self._counting = _CountingAfas(client, self.afas_outcomes)
        return cast(AfasClient, wrapper)

    def delivered(self, kind: str, outcome: str) -> None:
        self.deliveries.labels(kind if kind in OUTBOX_KINDS else OTHER, outcome).inc()

    def slack_observer(self) -> AsyncRetryHandler:
        """A retry handler that retries nothing and counts Slack's error answers."""
        return _SlackAnswers(self)

    def slack_answer(
        self, url: str, response: HttpResponse | None, error: Exception | None
    ) -> None:
        method = _slack_method(url)
        if response is None:
            if error is not None:
                self.slack_api_errors.labels(method, "transport_error").inc()
            return
        body = response.body if isinstance(response.body, dict) else {}
        if response.status_code == 429:
            self.slack_rate_limited.labels(method).inc()
        if body.get("ok") is False:
            self.slack_api_errors.labels(method, _slack_error(body.get("error"))).inc()
        elif response.status_code >= 400:
            self.slack_api_errors.labels(method, f"http_{response.status_code}").inc()

    def ack_timer(self) -> Callable[..., Awaitable[None]]:
        """A Bolt middleware (for ``before_authorize``): the request's ``ack`` is timed."""
        latency = self.ack_latency

        async def time_the_ack(
            context: AsyncBoltContext, body: dict[str, Any], next_: Callable[[], Awaitable[None]]
        ) -> None:
            context["ack"] = TimedAck(latency.labels(request_kind(body)).observe)
            await next_()

        return time_the_ack

    # -- exposing ---------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text (runs the database queries: call it off the event loop)."""
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """The figures that live in the database, read when Prometheus scrapes.

    ``afasbot_database_up`` says whether they could be read; when not, they are left out of
    that scrape (an absent series, not a false 0) and the error's type is logged, never its
    text (a driver's message may hold the database URL)."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self.clock = clock or (lambda: datetime.now(UTC))

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "afasbot_database_up", "1 if the database answered this scrape's queries."
        )
        try:
            with self.runtime.session() as session:
                snapshot = metrics_snapshot(session)
        except Exception as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        orgs = GaugeMetricFamily(
            "afasbot_orgs", "Registered orgs by their last check's state.", labels=["state"]
        )
        for state, count in sorted(snapshot.orgs_by_state.items()):
            orgs.add_metric([state], count)
        yield orgs
        yield GaugeMetricFamily(
            "afasbot_open_incidents", "Incidents open now.", value=snapshot.open_incidents
        )
        yield GaugeMetricFamily(
            "afasbot_outbox_depth",
            "Outbox messages not yet delivered to Slack.",
            value=snapshot.outbox_depth,
        )
        yield GaugeMetricFamily(
            "afasbot_outbox_oldest_undelivered_age_seconds",
            "How long the oldest undelivered outbox message has waited (0: none waits).",
            value=snapshot.oldest_undelivered_age(self.clock()),
        )


class TimedAck(AsyncAck):
    """Bolt's ``ack``, reporting the seconds since it was made at its first call."""

    def __init__(self, observe: Callable[[float], None]) -> None:
        super().__init__()
        self._observe: Callable[[float], None] | None = observe
        self._started = time.perf_counter()

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        if self._observe is not None:
            self._observe(time.perf_counter() - self._started)
            self._observe = None
        return await super().__call__(*args, **kwargs)


def request_kind(body: dict[str, Any]) -> str:
    """What a Slack request is (a bounded label): a slash command, or its payload's type."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    return kind if kind in REQUEST_KINDS else OTHER


def metrics_routes(metrics: Metrics) -> list[web.RouteDef]:
    """``GET /metrics``: the Prometheus text; 503 when it cannot be made in time."""

    async def scrape(_request: web.Request) -> web.Response:
        try:
            body = await asyncio.wait_for(asyncio.to_thread(metrics.render), SCRAPE_TIMEOUT_SECONDS)
        except TimeoutError:
            return web.Response(status=503, text="metrics not ready in time\n")
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return [web.get("/metrics", scrape)]


# -- the process's current Metrics, for the check path -------------------------------------

_current = Metrics()  # counted into, scraped by nobody: until ``serve`` installs its own


def current() -> Metrics:
    """Where ``check_org`` counts: the ``Metrics`` that ``serve`` installed, else a default."""
    return _current


@contextmanager
def installed(metrics: Metrics) -> Iterator[Metrics]:
    """Make ``metrics`` the current one for the duration (``serve``; tests), then restore."""
    global _current
    previous, _current = _current, metrics
    try:
        yield metrics
    finally:
        _current = previous


# -- the pieces ----------------------------------------------------------------------------


class _CountingAfas:
    """The AFAS client as ``run_check`` sees it: each coroutine method's ``AfasOutcome`` is
    counted by kind on its way back. Everything else is the client itself."""

    def __init__(self, client: AfasClient, counter: Counter) -> None:
        self._client = client
        self._by_kind = {kind: counter.labels(kind.value) for kind in OutcomeKind}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        by_kind = self._by_kind

        async def counted(*args: Any, **kwargs: Any) -> Any:
            answer = await attribute(*args, **kwargs)
            if isinstance(answer, AfasOutcome):
                by_kind[answer.kind].inc()
            return answer

        setattr(self, name, counted)  # found as an attribute from now on
        return counted


class _SlackAnswers(AsyncRetryHandler):
    """Sees every Slack Web API answer (the SDK asks each retry handler about each one) and
    retries none, so the handlers after it decide as before."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self._metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        self._metrics.slack_answer(request.url, response, error)
        return False

    async def _can_retry_async(self, **_kwargs: Any) -> bool:  # pragma: no cover - never asked
        return False


def _slack_method(url: str) -> str:
    method = urlsplit(url).path.rsplit("/", 1)[-1]
    return method if _SLACK_METHOD.fullmatch(method) else OTHER


def _slack_error(error: object) -> str:
    return error if isinstance(error, str) and _SLACK_ERROR.fullmatch(error) else OTHER
