"""The daily digest in the ops channel (issue 10 §5): once a day, at ``digest_hour`` in the
bot's time zone, one message with the orgs per state, the incidents opened and resolved in the
last 24 hours, the mutes, the tokens about to expire and the open drift warnings.

Once a day across replicas: every replica calls ``digest_tick`` every minute; once the hour
has come, the first to write ``digest:<local date>`` to the outbox wins (the unique
``dedup_key``, ``INSERT ... ON CONFLICT DO NOTHING``), the others find it written. The outbox's
sender posts it (``send_digest``). A quiet day with ``digest_skip_quiet`` is written too, as
``skipped``, and not posted: the day's decision is taken once, so a day that turns eventful
at 14:00 does not get a "daily" digest at 14:01 (the alerts of that day were posted anyway),
and the replicas do not read the day's facts again every minute until midnight.

The message is typed (pydantic, versioned, tolerant both ways like ``messages.py``) and
self-contained: it holds the facts, not the blocks, so it is rendered in the channel's
language by whichever replica sends it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.digest import digest_blocks, digest_text
from bot.runtime import Runtime
from bot.settings import Settings
from storage.digest import DigestFacts, DigestIncidentRow, Listing, digest_facts, outbox_has
from storage.outbox import enqueue_outbox

log = logging.getLogger(__name__)

#: The outbox kind.
DIGEST = "digest"
DIGEST_VERSION = 1
WINDOW = timedelta(hours=24)
#: How many of each list the message carries (the blocks show what fits, then "and N more").
MAX_LISTED = 50


# -- the message -----------------------------------------------------------------------------


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DigestIncident(_Part):
    org_key: str
    display_name: str
    opened_at: datetime
    closed_at: datetime | None = None  # None: still open when the digest was written


class DigestMute(_Part):
    org_key: str
    display_name: str
    until: datetime
    by: str | None = None


class DigestToken(_Part):
    org_key: str
    display_name: str
    expires_at: datetime


class DigestDrift(_Part):
    org_key: str
    display_name: str
    connector: str
    detail: str = ""


class DailyDigest(_Part):
    """One day's digest as the outbox holds it. ``*_total`` count the whole list; the tuples
    hold at most ``MAX_LISTED`` of it."""

    kind: Literal["digest"] = DIGEST
    version: int = DIGEST_VERSION
    day: date  # the local day it is the digest of
    at: datetime  # when it was written: the end of its 24 hours
    timezone: str = "UTC"  # the bot's zone, in which its times are shown
    channel: str | None = None  # the ops channel when it was written
    by_state: dict[str, int] = {}
    open_incidents: int = 0
    opened: tuple[DigestIncident, ...] = ()
    opened_total: int = 0
    resolved: tuple[DigestIncident, ...] = ()
    resolved_total: int = 0
    muted: tuple[DigestMute, ...] = ()
    muted_total: int = 0
    expiring: tuple[DigestToken, ...] = ()
    expiring_total: int = 0
    expiry_warning_days: int = 14
    drift: tuple[DigestDrift, ...] = ()
    drift_total: int = 0
    skipped: bool = False  # a quiet day with digest_skip_quiet: written, never posted

    @property
    def since(self) -> datetime:
        return self.at - WINDOW

    @property
    def quiet(self) -> bool:
        """Nothing to say (the counts per state alone are not news)."""
        return not (
            self.opened_total
            or self.resolved_total
            or self.open_incidents
            or self.muted_total
            or self.expiring_total
            or self.drift_total
        )

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ValueError, KeyError):  # a zone another replica knows and this one does not
            return ZoneInfo("UTC")


def digest_key(day: date) -> str:
    """The outbox dedup key of a day's digest: one per day, whichever replica writes it."""
    return f"digest:{day.isoformat()}"


# -- the decision (pure) ---------------------------------------------------------------------


def digest_day(now: datetime, *, hour: int | None, zone: ZoneInfo) -> date | None:
    """The local day whose digest may be written at ``now``: today in ``zone`` once its
    ``hour`` has come (at or after it: a replica that was down at the hour still writes it
    later that day), None before the hour or when there is no digest (``hour`` None).

    On the day clocks go forward an hour that does not exist is passed at the next one; on the
    day they go back the repeated hour finds the day written already.
    """
    if hour is None:
        return None
    local = now.astimezone(zone)
    return local.date() if local.hour >= hour else None


def digest_due(now: datetime, *, hour: int | None, zone: ZoneInfo, written: bool) -> bool:
    """Whether to write the digest now: its hour has come and today's is not ``written``
    (whether it is, the outbox's dedup key says: ``storage.digest.outbox_has``)."""
    return digest_day(now, hour=hour, zone=zone) is not None and not written


def ops_channel(settings: Settings) -> str | None:
    """The ops channel: ``AFASBOT_SLACK_OPS_CHANNEL``, else the default alert channel."""
    return settings.slack_ops_channel or settings.slack_default_alert_channel


def digest_message(
    facts: DigestFacts,
    *,
    day: date,
    timezone: str,
    channel: str | None,
    expiry_warning_days: int,
    skip_quiet: bool,
) -> DailyDigest:
    """The outbox message of ``facts`` (pure)."""

    def incidents(rows: Listing[DigestIncidentRow]) -> tuple[DigestIncident, ...]:
        return tuple(
            DigestIncident(
                org_key=r.org_key,
                display_name=r.display_name,
                opened_at=r.opened_at,
                closed_at=r.closed_at,
            )
            for r in rows.items[:MAX_LISTED]
        )

    return DailyDigest(
        day=day,
        at=facts.until,
        timezone=timezone,
        channel=channel,
        by_state=dict(facts.counts.by_state),
        open_incidents=facts.counts.open_incidents,
        opened=incidents(facts.opened),
        opened_total=facts.opened.total,
        resolved=incidents(facts.resolved),
        resolved_total=facts.resolved.total,
        muted=tuple(
            DigestMute(org_key=r.org_key, display_name=r.display_name, until=r.until, by=r.by)
            for r in facts.muted.items[:MAX_LISTED]
        ),
        muted_total=facts.muted.total,
        expiring=tuple(
            DigestToken(org_key=r.org_key, display_name=r.display_name, expires_at=r.expires_at)
            for r in facts.expiring.items[:MAX_LISTED]
        ),
        expiring_total=facts.expiring.total,
        expiry_warning_days=expiry_warning_days,
        drift=tuple(
            DigestDrift(
                org_key=r.org_key,
                display_name=r.display_name,
                connector=r.connector,
                detail=r.detail,
            )
            for r in facts.drift.items[:MAX_LISTED]
        ),
        drift_total=facts.drift.total,
        skipped=skip_quiet and facts.quiet,
    )


# -- writing it (every minute, on every replica) ---------------------------------------------


async def digest_tick(runtime: Runtime, now: datetime | None = None) -> bool:
    """Write today's digest to the outbox if it is due. True when this call wrote it (on a
    quiet day with ``digest_skip_quiet``: wrote it as skipped); False when it was not due or
    another replica (or an earlier tick) had written it."""
    settings = runtime.settings
    now = now or datetime.now(UTC)
    zone = ZoneInfo(settings.timezone)
    day = digest_day(now, hour=settings.digest_hour, zone=zone)
    if day is None:
        return False
    return await asyncio.to_thread(_write, runtime, day, now)


def _write(runtime: Runtime, day: date, now: datetime) -> bool:
    settings = runtime.settings
    key = digest_key(day)
    with runtime.session() as session:
        if outbox_has(session, key):  # the usual case, every minute after the hour: cheap
            return False
        facts = digest_facts(
            session,
            now=now,
            window=WINDOW,
            expiry_warning=runtime.expiry_warning,
            limit=MAX_LISTED,
        )
        message = digest_message(
            facts,
            day=day,
            timezone=settings.timezone,
            channel=ops_channel(settings),
            expiry_warning_days=settings.token_expiry_warning_days,
            skip_quiet=settings.digest_skip_quiet,
        )
        created = enqueue_outbox(
            session,
            kind=DIGEST,
            payload=message.model_dump(mode="json"),
            dedup_key=key,
            now=now,
        ).created
    if created:
        log.info(
            "daily digest of %s written%s",
            day,
            " (a quiet day: not posted)" if message.skipped else "",
        )
    return created


# -- sending it (the outbox's sender calls this for a row of kind ``digest``) ----------------


async def send_digest(
    client: AsyncWebClient,
    message: DailyDigest,
    *,
    channel: str | None,
    language: str,
    metadata: dict[str, Any] | None = None,
) -> bool:
    """Post the digest to ``channel``; False when there is nothing to post (a skipped quiet
    day) or nowhere to post it (no ops or default channel: logged once, as the row is once a
    day). Slack's errors are raised for the sender to retry. ``metadata``: Slack message
    metadata to tag the post with (the sender's outbox id), passed on as is."""
    if message.skipped:
        return False
    if channel is None:
        log.warning(
            "no AFASBOT_SLACK_OPS_CHANNEL nor AFASBOT_SLACK_DEFAULT_ALERT_CHANNEL: "
            "the daily digest of %s is not posted",
            message.day,
        )
        return False
    extra: dict[str, Any] = {"metadata": metadata} if metadata is not None else {}
    await client.chat_postMessage(
        channel=channel,
        blocks=digest_blocks(message, language=language),
        text=digest_text(message, language=language),
        unfurl_links=False,
        unfurl_media=False,
        **extra,
    )
    return True
