"""Posting an outbox message to Slack exactly once (issue 10 §6), at Slack's pace.

Slack has no idempotency key, so every message the outbox posts carries its outbox id (and a
part number, for a row that posts more than one message, and the second the row was written,
so that another database's row of the same id is not taken for it) in Slack's message
metadata. A row that was attempted before may have been posted already (a crash, or a
database error, after Slack accepted it): before posting it again, the channel (or the thread)
is read back from a little before the row was written, and the message found is used instead.

Reading back needs ``channels:history`` / ``groups:history``. When Slack will not let the bot
read (a missing scope: an installation from before those were in the manifest; a channel given
by name), the message is posted anyway and a warning says once what to do: the old
at-least-once rule, never a lost alert. A read that fails for a while (429, 5xx, no network)
raises, so the row is retried later and reads again.

Pacing: Slack takes about one message per second per channel. While a drain delivers, a
``ChannelPacer`` (``pacing``) spaces this process's posts per channel; each post waits only for
its own channel's turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage.models import OutboxMessage

log = logging.getLogger(__name__)

METADATA_EVENT = "afasbot_outbox"
#: How far before the row was written the read-back starts: the clocks of the writing replica
#: and of Slack differ by seconds, not minutes.
LOOKUP_MARGIN = timedelta(minutes=10)
LOOKUP_PAGE_SIZE = 200
#: A channel this busy since the row was written is read no further (then: posted).
LOOKUP_MAX_PAGES = 20
_warned: set[str] = set()


def outbox_metadata(row: OutboxMessage, part: int = 0) -> dict[str, Any]:
    """The metadata that tags a message as part ``part`` of outbox row ``row``."""
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {"outbox_id": row.id, "part": part, "written": _written(row)},
    }


def is_part_of(message: dict[str, Any], row: OutboxMessage, part: int = 0) -> bool:
    """Whether a Slack message (as conversations.history returns it with all metadata) is
    part ``part`` of ``row``."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (
        metadata.get("event_type") == METADATA_EVENT
        and payload.get("outbox_id") == row.id
        and payload.get("part") == part
        and payload.get("written") == _written(row)
    )


def _written(row: OutboxMessage) -> int:
    return int(row.created_at.timestamp())


# --- pacing ------------------------------------------------------------------------------------


class ChannelPacer:
    """At most one post per ``pace`` seconds per channel, in this process. A post reserves its
    channel's next turn before it waits (no lock: the event loop runs one reservation at a
    time), so concurrent posts to one channel line up and other channels never wait."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._next_turn: dict[str, float] = {}

    async def wait_turn(self, channel: str, pace: float) -> None:
        now = self._clock()
        turn = max(now, self._next_turn.get(channel, now))
        self._next_turn[channel] = turn + pace
        if turn > now:
            await self._sleep(turn - now)


@dataclass(frozen=True)
class _Pacing:
    pacer: ChannelPacer
    pace: float


_pacing: ContextVar[_Pacing | None] = ContextVar("afasbot_slack_pacing", default=None)


@contextmanager
def pacing(pacer: ChannelPacer, pace: float) -> Iterator[None]:
    """Within this block (and the tasks started in it) ``post_once`` keeps ``pacer``'s pace."""
    token = _pacing.set(_Pacing(pacer, pace))
    try:
        yield
    finally:
        _pacing.reset(token)


# --- posting once -----------------------------------------------------------------------------


async def post_once(
    client: AsyncWebClient,
    row: OutboxMessage,
    *,
    channel: str,
    thread_ts: str | None = None,
    part: int = 0,
    **fields: Any,
) -> dict[str, Any]:
    """``chat.postMessage`` for part ``part`` of ``row``, unless an earlier attempt posted it:
    returns ``{"channel": ..., "ts": ...}`` of the message in Slack either way (``"found":
    True`` when it was found rather than posted). Slack's errors are raised."""
    if row.attempts > 1:  # an earlier claim may have reached Slack
        found = await find_posted(client, row, channel=channel, thread_ts=thread_ts, part=part)
        if found is not None:
            log.info(
                "outbox message %s (part %d) was posted before (ts %s): not posted again",
                row.id,
                part,
                found["ts"],
                extra={"outbox_id": row.id, "kind": row.kind},
            )
            return found
    paced = _pacing.get()
    if paced is not None:
        await paced.pacer.wait_turn(channel, paced.pace)
    answer = await client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        metadata=outbox_metadata(row, part),
        **fields,
    )
    return {"channel": answer["channel"], "ts": answer["ts"]}


async def find_posted(
    client: AsyncWebClient,
    row: OutboxMessage,
    *,
    channel: str,
    thread_ts: str | None = None,
    part: int = 0,
) -> dict[str, Any] | None:
    """The message in Slack that is part ``part`` of ``row``, read back from the channel (or
    the thread); None when there is none, or when Slack will not let the bot read it (warned).
    Slack's 429 and 5xx, and a network failure, are raised: read again later."""
    oldest = f"{(row.created_at - LOOKUP_MARGIN).timestamp():.6f}"
    cursor: str | None = None
    try:
        for _page in range(LOOKUP_MAX_PAGES):
            if thread_ts is None:
                answer = await client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=LOOKUP_PAGE_SIZE,
                    cursor=cursor,
                )
            else:
                answer = await client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=LOOKUP_PAGE_SIZE,
                    cursor=cursor,
                )
            for message in answer.get("messages") or []:
                if is_part_of(message, row, part):
                    return {"channel": channel, "ts": message["ts"], "found": True}
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            raise
        _warn_unreadable(row, channel, str(exc.response.get("error") or f"HTTP {status}"))
        return None
    _warn_once(
        "pages",
        "outbox message %s: %s holds more than %d messages since it was written; not found "
        "in them, it is posted",
        row.id,
        channel,
        LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE,
    )
    return None


def _warn_unreadable(row: OutboxMessage, channel: str, error: str) -> None:
    if error == "missing_scope":
        _warn_once(
            error,
            "Slack lets the bot not read %s back (missing_scope): add channels:history and "
            "groups:history to the app (app-manifest.yml) and reinstall it. Until then a "
            "message a crash interrupted may be posted twice (outbox message %s).",
            channel,
            row.id,
        )
        return
    _warn_once(
        f"{channel}:{error}",
        "cannot read %s back (%s) to look for outbox message %s: it is posted again; use "
        "channel ids, not names, for alert channels",
        channel,
        error,
        row.id,
    )


def _warn_once(key: str, text: str, *args: object) -> None:
    """A warning a process gives once per ``key``: it is about the set-up, not the message."""
    if key in _warned:
        return
    _warned.add(key)
    log.warning(text, *args)


async def update_once(
    client: AsyncWebClient,
    row: OutboxMessage,
    *,
    channel: str,
    ts: str,
    part: int = 0,
    **fields: Any,
) -> bool:
    """``chat.update`` of the message at ``ts`` for part ``part`` of ``row``, tagged with the
    row like a post, unless an earlier attempt made that edit already: on a retry the message
    is read back first and left alone when it carries the tag (True: edited now). An edit is
    harmless twice, but the conversation should show each change once (issue 10 §6). Slack's
    errors are raised; a message that cannot be read back is edited again (warned once)."""
    if row.attempts > 1 and await _carries(client, row, channel=channel, ts=ts, part=part):
        log.info(
            "outbox message %s (part %d) edited %s before: not edited again",
            row.id,
            part,
            ts,
            extra={"outbox_id": row.id, "kind": row.kind},
        )
        return False
    await client.chat_update(channel=channel, ts=ts, metadata=outbox_metadata(row, part), **fields)
    return True


async def _carries(
    client: AsyncWebClient, row: OutboxMessage, *, channel: str, ts: str, part: int
) -> bool:
    try:
        answer = await client.conversations_history(
            channel=channel, latest=ts, inclusive=True, limit=1, include_all_metadata=True
        )
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            raise
        _warn_unreadable(row, channel, str(exc.response.get("error") or f"HTTP {status}"))
        return False
    return any(
        message.get("ts") == ts and is_part_of(message, row, part)
        for message in answer.get("messages") or []
    )
