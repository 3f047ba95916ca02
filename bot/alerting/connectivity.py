"""The bot's own network (issue 10 §4; Gatus's connectivity checker, alerting.md §1.7).

When every AFAS environment a sweep asked failed without any HTTP answer (DNS, connect,
TLS, timeout), and the canary URL (``AFASBOT_CANARY_URL``, when set) gets no answer either,
the fault is the bot's, not the customers' nor AFAS's: the replica says so about itself,
once, and stops checking (no run is recorded, no counter moves, no org alert nor platform
notice is written) until the network is back; then it says that once too and sweeps again.
Without a canary it takes at least ``min_environments`` distinct environments, all failing,
to decide (one customer's environment can be unreachable on its own).

The state is per process: it is about this replica's network, and the messages name it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ConfigDict
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from afas.environments import AfasEnvironment
from afas.outcomes import OutcomeKind
from afas.report import CheckReport
from bot.alerting.slack_post import post_once
from bot.blocks.common import duration_text
from bot.i18n.texts import t
from bot.slack.durations import local_time_text
from storage.models import OutboxMessage
from storage.repository import enqueue_outbox

log = logging.getLogger(__name__)

BOT_OFFLINE = "bot.offline"
BOT_ONLINE = "bot.online"
PROBE_TIMEOUT_SECONDS = 5.0
#: How long one canary answer stands for every check that asks (a burst of failures asks once).
PROBE_REUSE_SECONDS = 5.0


class _SelfMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = 1
    replica: str
    channel: str | None = None


class BotOffline(_SelfMessage):
    """This replica lost its network: checks paused."""

    kind: Literal["bot.offline"] = BOT_OFFLINE
    since: datetime
    environments: int  # how many environments failed without an answer
    canary: bool  # whether the canary URL was tried (and failed) too


class BotOnline(_SelfMessage):
    """This replica's network is back: checks resumed."""

    kind: Literal["bot.online"] = BOT_ONLINE
    since: datetime  # when it went offline
    at: datetime


def network_failure(report: CheckReport) -> bool:
    """Whether the check got no HTTP answer at all from its environment."""
    return report.facts.get("afas_outcome") == OutcomeKind.TRANSPORT_ERROR.value


@dataclass
class Connectivity:
    """One replica's view of its own network."""

    replica: str
    canary_url: str | None
    min_environments: int
    url_template: str
    offline_since: datetime | None = None
    _probed: tuple[float, bool] | None = field(default=None, repr=False)
    _probing: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def offline(self) -> bool:
        return self.offline_since is not None

    async def no_network(self, report: CheckReport) -> bool:
        """Whether one check's failure is the bot's own: it got no answer, and the canary
        none either (so the check must not be recorded). Without a canary one check cannot
        tell: the sweep's ``looks_offline`` decides over its checks."""
        if self.canary_url is None or not network_failure(report):
            return False
        async with self._probing:
            if self._probed is None or time.monotonic() - self._probed[0] > PROBE_REUSE_SECONDS:
                self._probed = (time.monotonic(), await answers(self.canary_url))
            return not self._probed[1]

    async def looks_offline(
        self, checked: Iterable[tuple[AfasEnvironment, CheckReport]]
    ) -> tuple[bool, int]:
        """Whether a sweep's results say the bot has no network; and how many environments
        failed. Every check must have failed without an answer; then the canary decides,
        or (without one) the number of distinct environments."""
        checked = list(checked)
        if not checked or not all(network_failure(report) for _, report in checked):
            return False, 0
        environments = len({env.number for env, _ in checked})
        if self.canary_url is not None:
            return not await answers(self.canary_url), environments
        return environments >= self.min_environments, environments

    async def back_online(self, sample: AfasEnvironment | None) -> bool:
        """While offline: does the canary (or, without one, an AFAS environment) answer?"""
        if self.canary_url is not None:
            return await answers(self.canary_url)
        if sample is None:
            return True  # nothing left to ask: no org, nothing to pause for
        return await answers(sample.base_url(self.url_template) + "/profitversion")

    def went_offline(self, session: Session, *, now: datetime, environments: int) -> None:
        """Remember it, and write the one message that says so (in the caller's transaction)."""
        self.offline_since = now
        message = BotOffline(
            replica=self.replica,
            since=now,
            environments=environments,
            canary=self.canary_url is not None,
        )
        enqueue_outbox(
            session,
            kind=message.kind,
            payload=message.model_dump(mode="json"),
            dedup_key=f"self:{self.replica}:offline:{now.isoformat()}",
            now=now,
        )
        log.error(
            "no network: %d AFAS environment(s)%s answered nothing; checks paused",
            environments,
            " and the canary" if self.canary_url else "",
        )

    def came_back(self, session: Session, *, now: datetime) -> None:
        since = self.offline_since or now
        self.offline_since = None
        self._probed = None
        message = BotOnline(replica=self.replica, since=since, at=now)
        enqueue_outbox(
            session,
            kind=message.kind,
            payload=message.model_dump(mode="json"),
            dedup_key=f"self:{self.replica}:online:{since.isoformat()}",
            now=now,
        )
        log.warning("network back after %s; checks resumed", now - since)


async def answers(url: str) -> bool:
    """Whether ``url`` gives any HTTP answer (a 401 or a 500 counts: the network works).
    Nothing is sent but a bare GET: never a token."""
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS, follow_redirects=False) as c:
            await c.get(url)
    except httpx.HTTPError:
        return False
    return True


async def send_self_notice(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: BotOffline | BotOnline,
    *,
    channel: str | None,
    language: str,
    zone: ZoneInfo,
) -> bool:
    """Post the notice in the ops channel; False when there is none (logged)."""
    channel = message.channel or channel
    if channel is None:
        log.warning("no ops or default alert channel: the bot's network notice not posted")
        return False
    await post_once(client, row, channel=channel, text=self_notice_text(message, language, zone))
    return True


def self_notice_text(message: BotOffline | BotOnline, language: str, zone: ZoneInfo) -> str:
    if isinstance(message, BotOffline):
        return t(
            "connectivity.offline",
            language,
            replica=message.replica,
            since=local_time_text(message.since, zone),
            environments=message.environments,
            canary=t("connectivity.offline_canary", language) + " " if message.canary else "",
        )
    return t(
        "connectivity.online",
        language,
        replica=message.replica,
        since=local_time_text(message.since, zone),
        at=local_time_text(message.at, zone),
        duration=duration_text(message.at - message.since, language=language),
    )
