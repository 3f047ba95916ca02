"""Delivering the outbox to Slack: at least once, in order, never lost.

A sender claims due messages (a lease per message, so two replicas never send the same one at
the same time), posts them, and marks them sent only after Slack accepted them. A failure
(Slack down, 429, a channel the bot is not in) releases the message for a later attempt, after
Slack's ``Retry-After`` or a growing backoff; a restart simply leaves it pending. The one
duplicate possible is a crash between Slack's answer and the commit (alerting.md decision 6).
A recovery waits for its incident's root message, so it can edit it and reply in its thread.
An org removed while its incident was open edits that root message and replies in its thread
(the message carries the root itself: the incident is deleted with the org).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerting.digest import DailyDigest, send_digest
from bot.alerting.messages import (
    OPENED,
    IncidentOpened,
    IncidentResolved,
    OrgRemoved,
    PlatformDown,
    PlatformUp,
    UnreadableMessage,
    read_message,
)
from bot.blocks.alert import (
    alert_blocks,
    alert_text,
    platform_text,
    recovery_reply,
    reminder_reply,
    resolved_blocks,
)
from bot.blocks.org_admin import org_removed_blocks, org_removed_reply, org_removed_text
from bot.metrics import Metrics
from bot.runtime import Runtime
from storage.models import OutboxMessage
from storage.repository import (
    claim_outbox,
    get_incident,
    incident_message,
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


class RootNotSentYet(Exception):
    """The incident's root message is still pending: this one waits for it."""


@dataclass(frozen=True)
class DrainResult:
    sent: int
    retried: int
    skipped: int  # nowhere to send (no alert channel configured): marked sent, logged


@dataclass(frozen=True)
class Delivery:
    """Where and how alerts are written: one language for a channel (channels have no locale)."""

    language: str
    default_channel: str | None


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
    counted as sent, skipped (nowhere to send) or retried."""
    claimed = await asyncio.to_thread(_claim, runtime, owner, now, limit, lease_seconds)
    sent = retried = skipped = 0

    def handled(message: OutboxMessage, outcome: str) -> None:
        if metrics is not None:
            metrics.delivered(message.kind, outcome)

    for message in claimed:
        context = _log_context(message)
        try:
            delivered = await _deliver(runtime, client, delivery, message, now)
        except RootNotSentYet:
            await asyncio.to_thread(
                _failed, runtime, message, owner, "waiting for the root", now + ROOT_WAIT
            )
            handled(message, "retried")
            retried += 1
            continue
        except SlackApiError as exc:
            error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
            retry_at = now + _backoff(exc, message.attempts)
            log.warning(
                "Slack refused outbox message %s (%s) for org %s (%s): retry at %s",
                message.id,
                message.kind,
                context["org"],
                error,
                retry_at.isoformat(),
                extra={**context, "outcome": "retried", "error": str(error)},
            )
            await asyncio.to_thread(_failed, runtime, message, owner, str(error), retry_at)
            handled(message, "retried")
            retried += 1
            continue
        except OSError as exc:  # Slack unreachable
            retry_at = now + _backoff(None, message.attempts)
            log.warning(
                "Slack unreachable for outbox message %s (%s) for org %s (%s): retry at %s",
                message.id,
                message.kind,
                context["org"],
                type(exc).__name__,
                retry_at.isoformat(),
                extra={**context, "outcome": "retried", "error": type(exc).__name__},
            )
            await asyncio.to_thread(_failed, runtime, message, owner, type(exc).__name__, retry_at)
            handled(message, "retried")
            retried += 1
            continue
        await asyncio.to_thread(_sent, runtime, message, owner, now)
        outcome = "sent" if delivered else "skipped"
        log.info(
            "delivered outbox message %s (%s) for org %s: %s",
            message.id,
            message.kind,
            context["org"],
            outcome,
            extra={**context, "outcome": outcome},
        )
        handled(message, outcome)
        if delivered:
            sent += 1
        else:
            skipped += 1
    return DrainResult(sent, retried, skipped)


def _log_context(row: OutboxMessage) -> dict[str, object]:
    """What a delivery's log line carries: the org's key ("-" for platform notices, which
    belong to no org), the message's kind and id."""
    org_key = row.payload.get("org_key") if isinstance(row.payload, dict) else None
    return {
        "org": org_key if isinstance(org_key, str) else "-",
        "kind": row.kind,
        "outbox_id": row.id,
    }


async def _deliver(
    runtime: Runtime,
    client: AsyncWebClient,
    delivery: Delivery,
    row: OutboxMessage,
    now: datetime,
) -> bool:
    """Post one message; False when there was nowhere to post it (logged)."""
    try:
        message = read_message(row.kind, row.payload)
    except UnreadableMessage:
        log.error("outbox message %s (kind %r) cannot be read: dropped", row.id, row.kind)
        return False
    language = delivery.language
    if isinstance(message, DailyDigest):
        return await send_digest(
            client, message, channel=message.channel or delivery.default_channel, language=language
        )
    if isinstance(message, PlatformDown | PlatformUp):
        if delivery.default_channel is None:
            log.warning("no AFASBOT_SLACK_DEFAULT_ALERT_CHANNEL: platform notice not posted")
            return False
        await client.chat_postMessage(
            channel=delivery.default_channel, text=platform_text(message, language=language)
        )
        return True
    if isinstance(message, IncidentOpened):
        channel = message.channel or delivery.default_channel
        if channel is None:
            log.warning(
                "org %s has no alert channel and no default is set: alert not posted",
                message.org_key,
            )
            return False
        answer = await client.chat_postMessage(
            channel=channel,
            blocks=alert_blocks(message, language=language, incident_id=row.incident_id),
            text=alert_text(message, language=language),
            unfurl_links=False,
        )
        if row.incident_id is not None:  # None: the org was removed while this was sent
            await asyncio.to_thread(
                _remember_root, runtime, row.incident_id, answer["channel"], answer["ts"]
            )
        return True
    if isinstance(message, OrgRemoved):
        return await _announce_removal(client, message, language)
    root = await asyncio.to_thread(_root_of, runtime, row)
    if root is None:
        return False  # its root was never posted (no channel): nothing to edit or reply to
    channel, ts = root
    if isinstance(message, IncidentResolved):
        await client.chat_update(
            channel=channel,
            ts=ts,
            blocks=resolved_blocks(message, language=language),
            text=recovery_reply(message, language=language),
        )
        await client.chat_postMessage(
            channel=channel, thread_ts=ts, text=recovery_reply(message, language=language)
        )
        return True
    await client.chat_postMessage(
        channel=channel, thread_ts=ts, text=reminder_reply(message, language=language, now=now)
    )
    return True


async def _announce_removal(client: AsyncWebClient, message: OrgRemoved, language: str) -> bool:
    """The alert says who removed the org (its buttons go), and its thread hears it. Both
    calls may be repeated (a retry after the reply failed edits the root once more)."""
    try:
        await client.chat_update(
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
    await client.chat_postMessage(
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


def _sent(runtime: Runtime, message: OutboxMessage, owner: str, now: datetime) -> None:
    with runtime.session() as session:
        mark_outbox_sent(session, message.id, owner=owner, sent_at=now)


def _failed(
    runtime: Runtime, message: OutboxMessage, owner: str, error: str, retry_at: datetime
) -> None:
    with runtime.session() as session:
        mark_outbox_failed(session, message.id, owner=owner, error=error, retry_at=retry_at)


def _remember_root(runtime: Runtime, incident_id: int, channel: str, ts: str) -> None:
    with runtime.session() as session:
        set_incident_message(session, incident_id, channel=channel, ts=ts)


def _root_of(runtime: Runtime, row: OutboxMessage) -> tuple[str, str] | None:
    """The incident's root message, None if it will never exist; ``RootNotSentYet`` if the
    opening message is still in the outbox."""
    with runtime.session() as session:
        incident = get_incident(session, row.incident_id)
        if incident.slack_ts and incident.slack_channel:
            return incident.slack_channel, incident.slack_ts
        pending_open = incident_message(session, incident.id, kind=OPENED, unsent_only=True)
    if pending_open is not None:
        raise RootNotSentYet
    return None
