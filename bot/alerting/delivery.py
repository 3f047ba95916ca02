"""Delivering the outbox to Slack: every message exactly once, paced, in order per incident.

A drain leases the due messages (a lease per message, so two replicas never send the same one
at the same time), groups them by channel and delivers the channels concurrently: one
channel's messages one after the other, oldest first, at Slack's pace of about one post per
second per channel (``slack_post.ChannelPacer``: a post waits for its own channel only). A
message is marked sent only after Slack accepted it.

Exactly once (issue 10 §6): every post goes through ``slack_post.post_once``, which tags it
with its outbox id and, for a message attempted before, first looks for it in Slack; so a
crash (``kill -9``) or a database error between Slack's answer and the commit does not post
it again, and the root found is remembered so that later edits reach it. ``chat.update`` is
idempotent and simply repeated.

In order per incident, across replicas: a message waits (released untried) while an earlier
message of its incident is pending, so an incident's alert, edits and replies reach Slack in
the order they were written. A recovery, a reminder or an acknowledgement waits for the root
message it edits or replies to; if that alert was given up they are given up too: there is
nothing to edit.

Slack's answers decide what comes next: a 429 reschedules the message after ``Retry-After``,
and with it the rest of its channel's claimed messages, untried; a 5xx, a network failure or
another passing error backs off (30 s, doubling, at most an hour); a permanent refusal
(``delivery_notice.PERMANENT_ERRORS``: a channel the bot is not in, an archived one, a revoked
token...) gives the message up, never retried, and the ops channel hears it once a day per
channel and error. Nothing here sleeps except the pacing; a restart leaves a message pending.

An org removed while its incident was open edits that root message and replies in its thread
(the message carries the root itself: the incident is deleted with the org).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerting.acknowledgement import IncidentAcknowledged
from bot.alerting.connectivity import BotOffline, BotOnline, send_self_notice
from bot.alerting.delivery_notice import (
    DELIVERY_FAILED,
    PERMANENT_ERRORS,
    ROOT_GONE_ERRORS,
    TOKEN_ERRORS,
    DeliveryFailed,
    enqueue_delivery_failed,
    is_said_in_ops,
    send_delivery_failed,
)
from bot.alerting.digest import DailyDigest, ops_channel
from bot.alerting.drift import DriftCleared, DriftFound, send_drift_cleared, send_drift_found
from bot.alerting.expiry import TokenExpiring, send_token_expiring
from bot.alerting.incident_updates import (
    send_cause_changed,
    send_hold_ended,
    send_problems_changed,
)
from bot.alerting.messages import (
    OPENED,
    IncidentCauseChanged,
    IncidentHoldEnded,
    IncidentOpened,
    IncidentProblemsChanged,
    IncidentReminder,
    IncidentResolved,
    OrgRemoved,
    PlatformDown,
    PlatformUp,
    UnreadableMessage,
    read_message,
)
from bot.alerting.slack_post import ChannelPacer, pacing, post_once, update_once
from bot.blocks.alert import (
    alert_blocks,
    alert_text,
    platform_text,
    recovery_reply,
    reminder_reply,
    resolved_blocks,
)
from bot.blocks.digest import digest_blocks, digest_text
from bot.blocks.org_admin import org_removed_blocks, org_removed_reply, org_removed_text
from bot.i18n import t
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.settings import Settings
from storage.models import Incident, OutboxMessage
from storage.outbox import (
    claim_outbox_message,
    earlier_pending_message,
    mark_outbox_given_up,
    release_outbox_untried,
)
from storage.repository import (
    claim_outbox,
    get_incident,
    incident_message,
    list_orgs,
    mark_outbox_failed,
    mark_outbox_sent,
    set_incident_message,
)

log = logging.getLogger(__name__)
ROOT_WAIT = timedelta(seconds=5)
#: Slack's answers that say the alert to edit is gone for good (deleted, channel archived).
_ROOT_GONE = frozenset(
    {"message_not_found", "channel_not_found", "is_archived", "cant_update_message"}
)
MAX_BACKOFF = timedelta(hours=1)
#: Kinds posted in the ops channel (their lane, when the message names no channel).
_OPS_KINDS = frozenset(
    {"platform.down", "platform.up", "digest", DELIVERY_FAILED, "bot.offline", "bot.online"}
)
#: Answers of the network below Slack's: the request may not have reached it. Retried.
_UNREACHABLE = (OSError, aiohttp.ClientError)


class RootNotSentYet(Exception):
    """The incident's root message is still pending: this one waits for it."""


class RootGivenUp(Exception):
    """The incident's root message was given up (Slack refused it for good): there is
    nothing to edit or reply to, so this one is given up too."""


@dataclass(frozen=True)
class DrainResult:
    sent: int
    retried: int
    skipped: int  # nowhere to send (no alert channel configured): marked sent, logged
    given_up: int = 0  # Slack refused them for good: never retried


@dataclass(frozen=True)
class Delivery:
    """Where and how alerts are written: one language for a channel (channels have no locale),
    the channels for orgs without one and for the ops notices. The pacer and what was logged
    once belong to the process: keep one ``Delivery`` for all its drains."""

    language: str
    default_channel: str | None
    ops_channel: str | None = None
    pacer: ChannelPacer = field(default_factory=ChannelPacer, compare=False, repr=False)
    logged_once: set[str] = field(default_factory=set, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Delivery:
        return cls(
            language=settings.alert_language,
            default_channel=settings.slack_default_alert_channel,
            ops_channel=ops_channel(settings),
        )


async def drain_outbox(
    runtime: Runtime,
    client: AsyncWebClient,
    delivery: Delivery,
    *,
    owner: str,
    now: datetime,
    limit: int = 20,
    lease_seconds: float = 120.0,
    metrics: Metrics | None = None,
) -> DrainResult:
    """Send the due messages; each one is logged (org key, kind) and, with ``metrics``,
    counted as sent, skipped (nowhere to send), retried or given up. A database error is
    raised once every channel's work is over (the messages it interrupted stay leased and
    are taken up again when their lease runs out)."""
    claimed = await asyncio.to_thread(_claim, runtime, owner, now, limit, lease_seconds)
    drain = _Drain(runtime, client, delivery, owner, now, metrics, lease_seconds)
    return await drain.run(claimed)


async def deliver_now(
    runtime: Runtime,
    client: AsyncWebClient,
    delivery: Delivery,
    message_id: int,
    *,
    owner: str,
    now: datetime,
    lease_seconds: float = 120.0,
    metrics: Metrics | None = None,
) -> DrainResult:
    """Send one message at once (due or not) the way a drain would: after the earlier
    messages of its incident, else it waits for a drain."""
    row = await asyncio.to_thread(_claim_one, runtime, message_id, owner, now, lease_seconds)
    drain = _Drain(runtime, client, delivery, owner, now, metrics, lease_seconds)
    return await drain.run([row] if row is not None else [])


class _Drain:
    """One drain's claimed messages: delivered channel by channel, counted, and the
    permanent refusals said once at the end."""

    def __init__(
        self,
        runtime: Runtime,
        client: AsyncWebClient,
        delivery: Delivery,
        owner: str,
        now: datetime,
        metrics: Metrics | None,
        lease_seconds: float,
    ) -> None:
        self.runtime, self.client, self.delivery = runtime, client, delivery
        self.owner, self.now, self.metrics = owner, now, metrics
        # A channel's messages are tried while their leases have at least half to go.
        self.deadline = time.monotonic() + lease_seconds / 2
        self.counts: dict[str, int] = defaultdict(int)
        self.refusals: dict[tuple[str, str], set[str]] = defaultdict(set)

    async def run(self, claimed: Sequence[OutboxMessage]) -> DrainResult:
        lanes: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in sorted(claimed, key=lambda r: r.id):
            lanes[_lane_of(row, self.delivery)].append(row)
        pace = self.runtime.settings.slack_channel_pace_seconds
        with pacing(self.delivery.pacer, pace):
            done = await asyncio.gather(
                *(self._lane(channel, rows) for channel, rows in lanes.items()),
                return_exceptions=True,
            )
        failures = [outcome for outcome in done if isinstance(outcome, BaseException)]
        if self.refusals:
            try:
                await asyncio.to_thread(self._say_refusals)
            except Exception:
                log.exception("could not write the ops channel's notice of Slack's refusals")
        if failures:
            raise failures[0]
        c = self.counts
        return DrainResult(c["sent"], c["retried"], c["skipped"], c["given_up"])

    async def _lane(self, channel: str, rows: list[OutboxMessage]) -> None:
        """One channel's messages in order; a rate limit leaves the rest for after it."""
        for index, row in enumerate(rows):
            if time.monotonic() > self.deadline:
                await self._release(rows[index:], self.now, "not reached before its lease ran low")
                return
            retry_at = await self._attempt(channel, row)
            if retry_at is not None:
                await self._release(rows[index + 1 :], retry_at, "its channel is rate-limited")
                return

    async def _attempt(self, channel: str, row: OutboxMessage) -> datetime | None:
        """Deliver one message and record what happened; Slack's ``Retry-After`` moment when
        it answered 429 (the channel's later messages wait for it too)."""
        context = _log_context(row)
        try:
            earlier = await asyncio.to_thread(_earlier_pending, self.runtime, row)
            if earlier is not None:
                retry_at = max(self.now + ROOT_WAIT, earlier.not_before)
                note = f"waiting for outbox message {earlier.id} of its incident"
                await self._release([row], retry_at, note, counted=True)
                return None
            delivered = await _deliver(self.runtime, self.client, self.delivery, row, self.now)
        except RootNotSentYet:
            await self._release([row], self.now + ROOT_WAIT, "waiting for the root", counted=True)
            return None
        except RootGivenUp as exc:
            await self._give_up(row, str(exc), channel=None)
            return None
        except SlackApiError as exc:
            return await self._refused(channel, row, exc)
        except _UNREACHABLE as exc:  # Slack unreachable
            retry_at = self.now + _backoff(None, row.attempts)
            log.warning(
                "Slack unreachable for outbox message %s (%s) for org %s (%s): retry at %s",
                row.id,
                row.kind,
                context["org"],
                type(exc).__name__,
                retry_at.isoformat(),
                extra={**context, "outcome": "retried", "error": type(exc).__name__},
            )
            await asyncio.to_thread(
                _failed, self.runtime, row, self.owner, type(exc).__name__, retry_at
            )
            self._count(row, "retried")
            return None
        await asyncio.to_thread(_sent, self.runtime, row, self.owner, self.now)
        outcome = "sent" if delivered else "skipped"
        log.info(
            "delivered outbox message %s (%s) for org %s: %s",
            row.id,
            row.kind,
            context["org"],
            outcome,
            extra={**context, "outcome": outcome},
        )
        self._count(row, outcome)
        return None

    async def _refused(
        self, channel: str, row: OutboxMessage, exc: SlackApiError
    ) -> datetime | None:
        context = _log_context(row)
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if exc.response.status_code != 429 and error in PERMANENT_ERRORS:
            await self._give_up(row, error, channel=_channel_of(exc) or channel)
            return None
        retry_at = self.now + _backoff(exc, row.attempts)
        log.warning(
            "Slack refused outbox message %s (%s) for org %s (%s): retry at %s",
            row.id,
            row.kind,
            context["org"],
            error,
            retry_at.isoformat(),
            extra={**context, "outcome": "retried", "error": error},
        )
        await asyncio.to_thread(_failed, self.runtime, row, self.owner, error, retry_at)
        self._count(row, "retried")
        return retry_at if exc.response.status_code == 429 else None

    async def _give_up(self, row: OutboxMessage, error: str, *, channel: str | None) -> None:
        """Never retried again; a refusal the ops channel should hear is kept for the notice."""
        context = _log_context(row)
        await asyncio.to_thread(_given_up, self.runtime, row, self.owner, error, self.now)
        log.warning(
            "gave up outbox message %s (%s) for org %s: %s",
            row.id,
            row.kind,
            context["org"],
            error,
            extra={**context, "outcome": "given_up", "error": error},
        )
        self._count(row, "given_up")
        if channel is not None:
            self._note_refusal(row, error, channel)

    def _note_refusal(self, row: OutboxMessage, error: str, channel: str) -> None:
        """Keep a refusal for the ops channel's notice, or log it at ERROR once when the
        notice cannot get through either."""
        if error in ROOT_GONE_ERRORS:
            return  # someone deleted the alert: nothing to do about it
        ops = self.delivery.ops_channel
        if error in TOKEN_ERRORS:
            self._error_once(
                error,
                "Slack refuses the bot's token (%s): no alert reaches Slack until "
                "AFASBOT_SLACK_BOT_TOKEN holds a valid token and the bot is restarted",
                error,
            )
        elif row.kind == DELIVERY_FAILED or channel == ops:
            self._error_once(
                f"ops:{error}",
                "the ops channel %s refuses the bot (%s): Slack's refusals are only logged",
                channel,
                error,
            )
        elif ops is None:
            self._error_once(
                f"no-ops:{channel}:{error}",
                "Slack refuses messages for %s (%s) and there is no ops channel to say so "
                "(AFASBOT_SLACK_OPS_CHANNEL)",
                channel,
                error,
            )
        elif is_said_in_ops(error):
            org = _log_context(row)["org"]
            self.refusals[(channel, error)].update([org] if org != "-" else [])

    def _error_once(self, key: str, text: str, *args: object) -> None:
        if key in self.delivery.logged_once:
            return
        self.delivery.logged_once.add(key)
        log.error(text, *args)

    def _say_refusals(self) -> None:
        with self.runtime.session() as session:
            default = self.delivery.default_channel
            using: dict[str, set[str]] = defaultdict(set)
            for org in list_orgs(session):
                target = org.alert_channel or default
                if target is not None:
                    using[target].add(org.key)
            for (channel, error), orgs in self.refusals.items():
                if enqueue_delivery_failed(
                    session,
                    failed_channel=channel,
                    error=error,
                    org_keys=orgs | using.get(channel, set()),
                    ops_channel=self.delivery.ops_channel,
                    now=self.now,
                ):
                    log.info("Slack refuses %s (%s): said in the ops channel", channel, error)

    async def _release(
        self,
        rows: Iterable[OutboxMessage],
        retry_at: datetime,
        note: str,
        *,
        counted: bool = False,
    ) -> None:
        """Give back untried messages, due at ``retry_at``; ``counted``: counted as retried."""
        for row in rows:
            await asyncio.to_thread(_untried, self.runtime, row, self.owner, retry_at, note)
            if counted:
                self._count(row, "retried")

    def _count(self, row: OutboxMessage, outcome: str) -> None:
        self.counts[outcome] += 1
        if self.metrics is not None:
            self.metrics.delivered(row.kind, outcome)


def _lane_of(row: OutboxMessage, delivery: Delivery) -> str:
    """The channel a message goes to, as far as its payload tells (an incident's follow-ups
    carry the org's channel, which is the root's): a drain's unit of order and pacing."""
    payload = row.payload if isinstance(row.payload, dict) else {}
    channel = payload.get("channel")
    if isinstance(channel, str) and channel:
        return channel
    if row.kind in _OPS_KINDS:
        return delivery.ops_channel or delivery.default_channel or "-"
    return delivery.default_channel or "-"


def _channel_of(exc: SlackApiError) -> str | None:
    """The channel of the call Slack refused, from the request the SDK sent."""
    request = getattr(exc.response, "req_args", None) or {}
    for part in ("json", "data", "params"):
        values = request.get(part)
        if isinstance(values, dict) and isinstance(values.get("channel"), str):
            return values["channel"]
    return None


def _log_context(row: OutboxMessage) -> dict[str, object]:
    """What a delivery's log line carries: the org's key ("-" for platform notices, which
    belong to no org), the message's kind and id."""
    org_key = row.payload.get("org_key") if isinstance(row.payload, dict) else None
    return {
        "org": org_key if isinstance(org_key, str) else "-",
        "kind": row.kind,
        "outbox_id": row.id,
    }


# --- what each kind of message does in Slack ---------------------------------------------------


def _zone(runtime: Runtime) -> ZoneInfo | None:
    """The bot's time zone, in which alerts show their times."""
    try:
        return ZoneInfo(runtime.settings.timezone)
    except (ValueError, KeyError):
        return None


def _read(row: OutboxMessage) -> Any:
    """The typed message of a row (``UnreadableMessage`` when no model reads it)."""
    return read_message(row.kind, row.payload)


async def _deliver(
    runtime: Runtime,
    client: AsyncWebClient,
    delivery: Delivery,
    row: OutboxMessage,
    now: datetime,
) -> bool:
    """Post one message; False when there was nowhere to post it (logged)."""
    try:
        message = _read(row)
    except UnreadableMessage:
        log.error("outbox message %s (kind %r) cannot be read: dropped", row.id, row.kind)
        return False
    language = delivery.language
    zone = _zone(runtime)
    if isinstance(message, DailyDigest):
        return await _send_digest(client, row, message, delivery)
    if isinstance(message, BotOffline | BotOnline):
        return await send_self_notice(
            client,
            row,
            message,
            channel=delivery.ops_channel or delivery.default_channel,
            language=language,
            zone=zone,
        )
    if isinstance(message, TokenExpiring):
        return await send_token_expiring(
            client,
            row,
            message,
            channel=message.channel or delivery.default_channel,
            language=language,
        )
    if isinstance(message, DriftFound):
        return await send_drift_found(
            runtime,
            client,
            row,
            message,
            channel=message.channel or delivery.default_channel,
            language=language,
        )
    if isinstance(message, DriftCleared):
        return await send_drift_cleared(client, row, message, language=language)
    if isinstance(message, PlatformDown | PlatformUp):
        return await _send_platform(client, row, message, delivery)
    if isinstance(message, DeliveryFailed):
        return await send_delivery_failed(
            client, row, message, ops_channel=delivery.ops_channel, language=language
        )
    if isinstance(message, IncidentOpened):
        return await _send_opened(runtime, client, row, message, delivery)
    if isinstance(message, OrgRemoved):
        return await _announce_removal(client, row, message, language)
    root = await asyncio.to_thread(_root_of, runtime, row)
    if root is None:
        return False  # its root was never posted (no channel): nothing to edit or reply to
    channel, ts = root
    if isinstance(message, IncidentCauseChanged):
        return await send_cause_changed(
            client, row, message, root=root, language=language, zone=zone
        )
    if isinstance(message, IncidentProblemsChanged):
        return await send_problems_changed(
            client, row, message, root=root, language=language, zone=zone
        )
    if isinstance(message, IncidentHoldEnded):
        return await send_hold_ended(client, row, message, root=root, language=language, zone=zone)
    if isinstance(message, IncidentResolved):
        await update_once(
            client,
            row,
            channel=channel,
            ts=ts,
            part=1,
            blocks=resolved_blocks(message, language=language, zone=zone),
            text=recovery_reply(message, language=language),
        )
        await post_once(
            client,
            row,
            channel=channel,
            thread_ts=ts,
            text=recovery_reply(message, language=language),
        )
        return True
    if isinstance(message, IncidentReminder):
        text = reminder_reply(message, language=language, now=now)
        await post_once(client, row, channel=channel, thread_ts=ts, text=text)
        return True
    if isinstance(message, IncidentAcknowledged):
        return await _send_acknowledged(client, row, message, root, language, zone)
    log.error("outbox message %s (kind %r) has no sender here: dropped", row.id, row.kind)
    return False


async def _send_opened(
    runtime: Runtime,
    client: AsyncWebClient,
    row: OutboxMessage,
    message: IncidentOpened,
    delivery: Delivery,
) -> bool:
    """The root message; its ts is remembered for the edits and replies to come."""
    channel = message.channel or delivery.default_channel
    if channel is None:
        log.warning(
            "org %s has no alert channel and no default is set: alert not posted",
            message.org_key,
        )
        return False
    if row.incident_id is not None and await asyncio.to_thread(_root_known, runtime, row):
        return True  # it is in Slack already (a button on it was pressed)
    language = delivery.language
    posted = await post_once(
        client,
        row,
        channel=channel,
        blocks=alert_blocks(
            message, language=language, incident_id=row.incident_id, zone=_zone(runtime)
        ),
        text=alert_text(message, language=language),
        unfurl_links=False,
    )
    if row.incident_id is not None:  # None: the org was removed while this was sent
        await asyncio.to_thread(
            _remember_root, runtime, row.incident_id, posted["channel"], posted["ts"]
        )
    return True


async def _send_platform(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: PlatformDown | PlatformUp,
    delivery: Delivery,
) -> bool:
    channel = getattr(message, "channel", None) or delivery.ops_channel or delivery.default_channel
    if channel is None:
        log.warning(
            "no AFASBOT_SLACK_OPS_CHANNEL nor default alert channel: platform notice not posted"
        )
        return False
    await post_once(
        client, row, channel=channel, text=platform_text(message, language=delivery.language)
    )
    return True


async def _send_digest(
    client: AsyncWebClient, row: OutboxMessage, message: DailyDigest, delivery: Delivery
) -> bool:
    """As ``digest.send_digest``, through ``post_once``: a quiet day skipped is not posted."""
    if message.skipped:
        return False
    channel = message.channel or delivery.ops_channel or delivery.default_channel
    if channel is None:
        log.warning(
            "no AFASBOT_SLACK_OPS_CHANNEL nor AFASBOT_SLACK_DEFAULT_ALERT_CHANNEL: "
            "the daily digest of %s is not posted",
            message.day,
        )
        return False
    language = delivery.language
    await post_once(
        client,
        row,
        channel=channel,
        blocks=digest_blocks(message, language=language),
        text=digest_text(message, language=language),
        unfurl_links=False,
        unfurl_media=False,
    )
    return True


async def _send_acknowledged(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: IncidentAcknowledged,
    root: tuple[str, str],
    language: str,
    zone: ZoneInfo | None,
) -> bool:
    """The root written again as it stood, with who is on it; the thread hears who."""
    channel, ts = root
    reply = t("alert.acknowledged_reply", language, user=f"<@{message.by}>")
    shown = _root_shown(message)
    if shown is not None and row.incident_id is not None:
        await update_once(
            client,
            row,
            part=1,
            channel=channel,
            ts=ts,
            text=reply,
            blocks=alert_blocks(
                shown,
                language=language,
                incident_id=row.incident_id,
                acknowledged_by=message.by,
                zone=zone,
            ),
        )
    await post_once(client, row, channel=channel, thread_ts=ts, text=reply)
    return True


def _root_shown(message: IncidentAcknowledged) -> Any:
    if message.root_kind is None or message.root is None:
        return None
    try:
        return read_message(message.root_kind, message.root)
    except UnreadableMessage:
        return None


async def _announce_removal(
    client: AsyncWebClient, row: OutboxMessage, message: OrgRemoved, language: str
) -> bool:
    """The alert says who removed the org (its buttons go), and its thread hears it. Both
    calls may be repeated (a retry after the reply failed edits the root once more)."""
    try:
        await update_once(
            client,
            row,
            part=1,
            channel=message.channel,
            ts=message.ts,
            blocks=org_removed_blocks(message, language=language),
            text=org_removed_text(message, language=language),
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in _ROOT_GONE:
            raise
        log.warning(
            "the alert of removed org %s is gone (%s): nothing to edit",
            message.org_key,
            exc.response.get("error"),
        )
        return False
    await post_once(
        client,
        row,
        channel=message.channel,
        thread_ts=message.ts,
        text=org_removed_reply(message, language=language),
    )
    return True


def _backoff(exc: SlackApiError | None, attempts: int) -> timedelta:
    if exc is not None and exc.response.status_code == 429:
        try:
            return timedelta(seconds=float(exc.response.headers.get("Retry-After", 30)))
        except (TypeError, ValueError):
            return timedelta(seconds=30)
    return min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** max(0, attempts - 1)))


# --- the database work, in worker threads -----------------------------------------------------


def _claim(
    runtime: Runtime, owner: str, now: datetime, limit: int, lease_seconds: float
) -> list[OutboxMessage]:
    with runtime.session() as session:
        return claim_outbox(session, now=now, owner=owner, lease_seconds=lease_seconds, limit=limit)


def _claim_one(
    runtime: Runtime, message_id: int, owner: str, now: datetime, lease_seconds: float
) -> OutboxMessage | None:
    with runtime.session() as session:
        return claim_outbox_message(
            session, message_id, now=now, owner=owner, lease_seconds=lease_seconds
        )


def _earlier_pending(runtime: Runtime, row: OutboxMessage) -> OutboxMessage | None:
    with runtime.session() as session:
        return earlier_pending_message(session, row)


def _sent(runtime: Runtime, message: OutboxMessage, owner: str, now: datetime) -> None:
    with runtime.session() as session:
        mark_outbox_sent(session, message.id, owner=owner, sent_at=now)


def _failed(
    runtime: Runtime, message: OutboxMessage, owner: str, error: str, retry_at: datetime
) -> None:
    with runtime.session() as session:
        mark_outbox_failed(session, message.id, owner=owner, error=error, retry_at=retry_at)


def _untried(
    runtime: Runtime, message: OutboxMessage, owner: str, retry_at: datetime, note: str
) -> None:
    with runtime.session() as session:
        release_outbox_untried(session, message.id, owner=owner, retry_at=retry_at, note=note)


def _given_up(
    runtime: Runtime, message: OutboxMessage, owner: str, error: str, now: datetime
) -> None:
    with runtime.session() as session:
        mark_outbox_given_up(session, message.id, owner=owner, error=error, at=now)


def _remember_root(runtime: Runtime, incident_id: int, channel: str, ts: str) -> None:
    with runtime.session() as session:
        set_incident_message(session, incident_id, channel=channel, ts=ts)


def _root_known(runtime: Runtime, row: OutboxMessage) -> bool:
    with runtime.session() as session:
        incident = get_incident(session, row.incident_id)
        return bool(incident.slack_ts and incident.slack_channel)


def _root_of(runtime: Runtime, row: OutboxMessage) -> tuple[str, str] | None:
    """The incident's root message, None if it will never exist; ``RootNotSentYet`` if the
    opening message is still in the outbox, ``RootGivenUp`` if Slack refused it for good."""
    with runtime.session() as session:
        incident: Incident = get_incident(session, row.incident_id)
        if incident.slack_ts and incident.slack_channel:
            return incident.slack_channel, incident.slack_ts
        opened = incident_message(session, incident.id, kind=OPENED)
    if opened is None or opened.sent_at is not None:
        return None
    if opened.given_up_at is not None:
        raise RootGivenUp(f"its alert was given up: {opened.last_error or 'refused by Slack'}")
    raise RootNotSentYet
