"""Reading a conversation back: ``conversations.history`` and ``conversations.replies``, as
Slack answers them to a bot token.

- the channel must be a conversation id (no ``#name``), the bot a member of it
  (``not_in_channel``), and the token must hold the conversation type's ``*:history`` scope
  (``missing_scope`` with ``needed`` and ``provided``);
- ``oldest``/``latest`` bound the messages by ts, exclusive unless ``inclusive``;
- ``limit`` defaults to 100 and is at most 999 (history) or 1000 (replies); the next page is
  ``response_metadata.next_cursor`` (an opaque cursor; an unknown one is ``invalid_cursor``);
- history is newest first and holds the top-level messages only (a thread's parent, not its
  replies); replies hold the thread's parent first, then its replies oldest first;
- a message's ``metadata`` is returned only with ``include_all_metadata``.
"""

from __future__ import annotations

import base64
import binascii
import copy
from decimal import Decimal, InvalidOperation
from typing import Any

from .methods import ApiError, require
from .params import truthy
from .workspace import SlackWorkspace

DEFAULT_LIMIT = 100
MAX_HISTORY_LIMIT = 999
MAX_REPLIES_LIMIT = 1000
_CURSOR_PREFIX = "next_ts:"


def _readable_channel(ws: SlackWorkspace, params: dict[str, Any]) -> str:
    """The conversation, by id only, that this bot may read: its ``*:history`` scope, and
    membership (a bot reads only what it is in)."""
    require(params, "channel")
    channel_id = params["channel"]
    if not isinstance(channel_id, str):
        raise ApiError("channel_not_found")
    info = ws.channels.get(channel_id)
    if info is None and not channel_id.startswith("D"):
        raise ApiError("channel_not_found")  # a name, or an id the workspace has not
    needed = _history_scope(info)
    provided = [s for s in ws.scopes.split(",") if s]
    if needed not in provided:
        raise ApiError("missing_scope", needed=needed, provided=",".join(provided))
    if info is not None and not info.get("is_member", True):
        raise ApiError("not_in_channel")
    return channel_id


def _history_scope(info: dict[str, Any] | None) -> str:
    if info is None or info.get("is_im"):
        return "im:history"
    if info.get("is_mpim"):
        return "mpim:history"
    return "groups:history" if info.get("is_private") else "channels:history"


def _ts_bound(params: dict[str, Any], name: str) -> Decimal | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ApiError(f"invalid_ts_{name}") from None


def _within(messages: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    oldest, latest = _ts_bound(params, "oldest"), _ts_bound(params, "latest")
    inclusive = truthy(params.get("inclusive", False))

    def keep(message: dict[str, Any]) -> bool:
        ts = Decimal(message["ts"])
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))

    return [m for m in messages if keep(m)]


def _limit(params: dict[str, Any], maximum: int) -> int:
    value = params.get("limit")
    if value in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise ApiError("invalid_limit") from None
    return DEFAULT_LIMIT if limit <= 0 else min(limit, maximum)


def encode_cursor(ts: str) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{ts}".encode()).decode()


def _cursor_ts(params: dict[str, Any]) -> str | None:
    cursor = params.get("cursor")
    if cursor in (None, ""):
        return None
    try:
        decoded = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError("invalid_cursor") from None
    if not decoded.startswith(_CURSOR_PREFIX):
        raise ApiError("invalid_cursor")
    return decoded.removeprefix(_CURSOR_PREFIX)


def _page(
    ordered: list[dict[str, Any]], params: dict[str, Any], maximum: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``ordered`` from the cursor's message on; the cursor of the next, if any."""
    start = 0
    cursor_ts = _cursor_ts(params)
    if cursor_ts is not None:
        positions = [i for i, m in enumerate(ordered) if m["ts"] == cursor_ts]
        if not positions:
            raise ApiError("invalid_cursor")
        start = positions[0]
    limit = _limit(params, maximum)
    page = ordered[start : start + limit]
    rest = ordered[start + limit :]
    return page, encode_cursor(rest[0]["ts"]) if rest else None


def _as_returned(message: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in message.items() if k != "channel"}
    if not truthy(params.get("include_all_metadata", False)):
        shown.pop("metadata", None)
    return copy.deepcopy(shown)


def _answer(page: list[dict[str, Any]], params: dict[str, Any], next_cursor: str | None) -> dict:
    answer: dict[str, Any] = {
        "messages": [_as_returned(m, params) for m in page],
        "has_more": next_cursor is not None,
    }
    if next_cursor is not None:
        answer["response_metadata"] = {"next_cursor": next_cursor}
    return answer


def _is_top_level(message: dict[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return thread_ts is None or thread_ts == message["ts"]


def conversations_history(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _readable_channel(ws, params)
    stored = ws.recorded.messages.get(channel_id, [])
    top_level = [m for m in stored if _is_top_level(m)]
    newest_first = sorted(_within(top_level, params), key=lambda m: Decimal(m["ts"]), reverse=True)
    page, next_cursor = _page(newest_first, params, MAX_HISTORY_LIMIT)
    return {**_answer(page, params, next_cursor), "pin_count": 0}


def conversations_replies(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _readable_channel(ws, params)
    require(params, "ts")
    stored = ws.recorded.messages.get(channel_id, [])
    asked = next((m for m in stored if m["ts"] == params["ts"]), None)
    if asked is None:
        raise ApiError("thread_not_found")
    parent_ts = asked.get("thread_ts") or asked["ts"]  # a reply's ts names its thread
    parent = next((m for m in stored if m["ts"] == parent_ts), None)
    if parent is None:
        raise ApiError("thread_not_found")
    thread = [m for m in stored if m.get("thread_ts") == parent_ts and m["ts"] != parent_ts]
    replies = sorted(_within(thread, params), key=lambda m: Decimal(m["ts"]))
    ordered = [parent, *replies]
    page, next_cursor = _page(ordered, params, MAX_REPLIES_LIMIT)
    return _answer(page, params, next_cursor)


METHODS = {
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
}
