"""The fake's workspace: its configuration (tokens, users, channels, user groups...), what it
recorded (calls, messages, views...) and the read-outs tests assert on.

State is guarded by one lock: the server runs in its own thread. Read-outs return copies.
Configuration attributes are plain: change them before the calls that should see the change.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .objects import (
    SCOPES,
    default_channels,
    default_identity,
    default_usergroups,
    default_users,
    dm_channel_id,
    make_channel,
    make_user,
)

#: The least step between two message timestamps (Slack's are microseconds).
_TS_STEP_MICROS = 100


@dataclass(frozen=True)
class RecordedCall:
    """One Web API request as the fake received it.

    ``params``: query string and body merged (body wins), JSON-string params decoded.
    ``headers``: lower-cased names. ``at``: ``time.monotonic()`` on arrival.
    ``status`` and ``response``: what the fake answered.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        token = self.params.get("token")
        return str(token) if token is not None else None


@dataclass
class Fault:
    """The next ``times`` calls of a method (to ``channel`` only, if set) answer ``error``
    with HTTP ``status``."""

    times: int
    status: int
    error: str
    retry_after: int | None = None
    channel: str | None = None


@dataclass
class Recorded:
    """What the workspace was asked and holds now; changed only under the workspace's lock."""

    calls: list[RecordedCall] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    responses: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # url, label
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    home_view_ids: dict[str, str] = field(default_factory=dict)
    used_trigger_ids: set[str] = field(default_factory=set)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _last_ts_micros: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _response_urls: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_ts(self, now: float | None = None) -> str:
        """A message timestamp in Slack's shape: the time ``now`` (seconds since the epoch;
        the wall clock if None), and later than every earlier one, as Slack's are."""
        wanted = int((time.time() if now is None else now) * 1_000_000)
        micros = max(wanted, self._last_ts_micros + _TS_STEP_MICROS)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):05d}"

    def next_hash(self) -> str:
        """A view's hash, new on every store (``views.update`` checks it)."""
        n = next(self._ids)
        return f"{1_700_000_000 + n}.{n:08x}"

    def next_response_number(self) -> int:
        return next(self._response_urls)


class SlackWorkspace:
    """Configuration, recorded state and read-outs; see the module docstring.

    Configuration: ``valid_tokens``, ``users``, ``channels``, ``usergroups``,
    ``expired_trigger_ids``, ``identity``, ``scopes``, ``clock`` (seconds since the epoch:
    the time message timestamps are taken from; a test with a fake clock sets it to agree).
    Read-outs (copies): ``calls()``,
    ``messages()``, ``ephemerals``, ``responses``, ``home_views``, ``views``, ``errors``.
    """

    def __init__(self, *, valid_tokens: Iterable[str] = ("xoxb-test",)) -> None:
        self.lock = threading.RLock()
        self._default_tokens = tuple(valid_tokens)
        self._init_config()
        self.recorded = Recorded()

    def _init_config(self) -> None:
        self.valid_tokens: set[str] = set(self._default_tokens)
        self.users: dict[str, dict[str, Any]] = default_users()
        self.channels: dict[str, dict[str, Any]] = default_channels()
        self.usergroups: dict[str, list[str]] = default_usergroups()
        self.expired_trigger_ids: set[str] = set()
        self.scopes = SCOPES
        self.identity: dict[str, Any] = default_identity()
        self.clock: Callable[[], float] = time.time

    # ------------------------------------------------------------------ configuration

    def clear(self) -> None:
        """Forget calls, messages, ephemerals, responses, views, pending faults and used trigger
        ids. Configuration (tokens, users, channels, usergroups, ...) is kept."""
        with self.lock:
            self.recorded = Recorded()

    def reset(self) -> None:
        """``clear()`` and restore the default configuration (the constructor's tokens)."""
        with self.lock:
            self._init_config()
            self.recorded = Recorded()

    def add_user(self, user_id: str, name: str, real_name: str | None = None, **kw: Any) -> dict:
        """Register a user (see ``make_user`` for keywords); returns the stored object."""
        with self.lock:
            self.users[user_id] = make_user(user_id, name, real_name, **kw)
            return copy.deepcopy(self.users[user_id])

    def add_channel(self, channel_id: str, name: str, **extra: Any) -> dict:
        """Register a channel (``is_member``, ``is_archived``, ``is_private`` ...)."""
        with self.lock:
            self.channels[channel_id] = make_channel(channel_id, name, **extra)
            return copy.deepcopy(self.channels[channel_id])

    def next_ts(self) -> str:
        """A new message timestamp at the workspace's ``clock``."""
        return self.recorded.next_ts(self.clock())

    def rate_limit(
        self, method: str, times: int = 1, retry_after: int = 1, *, channel: str | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any; to ``channel`` only, if
        given: Slack limits posts per channel) answer HTTP 429, ``Retry-After: <retry_after>``
        and ``{"ok": false, "error": "ratelimited"}``."""
        fault = Fault(
            times=times, status=429, error="ratelimited", retry_after=retry_after, channel=channel
        )
        with self.lock:
            self.recorded.faults.setdefault(method, []).append(fault)

    def fail(
        self,
        method: str,
        error: str = "internal_error",
        status: int = 200,
        times: int = 1,
        *,
        channel: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any; to ``channel`` only, if
        given) answer ``{"ok": false, "error": error}`` with HTTP ``status`` (200 for API
        errors, 5xx)."""
        with self.lock:
            self.recorded.faults.setdefault(method, []).append(
                Fault(times=times, status=status, error=error, channel=channel)
            )

    def resolve_channel(self, channel: Any) -> str | None:
        """Channel id for an id, a ``#name``/name, or a user id (→ its DM); None if unknown."""
        if not isinstance(channel, str) or not channel:
            return None
        if channel in self.channels or channel.startswith("D"):
            return channel
        if channel[0] in "UW" and channel in self.users:
            return dm_channel_id(channel)
        name = channel.lstrip("#")
        for channel_id, info in self.channels.items():
            if info.get("name") == name:
                return channel_id
        return None

    # ------------------------------------------------------------------ read-outs

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Recorded calls in arrival order, all or those of one method."""
        with self.lock:
            return [c for c in self.recorded.calls if method is None or c.method == method]

    def methods(self) -> list[str]:
        """The methods called, in order (handy in assertion messages)."""
        with self.lock:
            return [c.method for c in self.recorded.calls]

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Messages posted to a channel (id, ``#name`` or user id → its DM), in posting order,
        thread replies included; with ``thread_ts``, only that thread's replies."""
        with self.lock:
            channel_id = self.resolve_channel(channel) or channel
            found = self.recorded.messages.get(channel_id, [])
            if thread_ts is not None:
                found = [
                    m for m in found if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
                ]
            return copy.deepcopy(found)

    def ephemeral_messages(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """``chat.postEphemeral`` messages, optionally filtered by channel and/or user."""
        with self.lock:
            channel_id = (self.resolve_channel(channel) or channel) if channel else None
            return copy.deepcopy(
                [
                    e
                    for e in self.recorded.ephemerals
                    if (channel_id is None or e["channel"] == channel_id)
                    and (user is None or e["user"] == user)
                ]
            )

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """All ephemeral messages: ``{channel, user, text, blocks, message_ts, thread_ts?}``."""
        return self.ephemeral_messages()

    @property
    def responses(self) -> list[tuple[str, dict[str, Any]]]:
        """``(label, payload)`` for every POST to a ``response_url()``, in order."""
        with self.lock:
            return [(label, copy.deepcopy(p)) for _, label, p in self.recorded.responses]

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        """Payloads POSTed to one response URL."""
        with self.lock:
            return [copy.deepcopy(p) for u, _, p in self.recorded.responses if u == url]

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The last published home view per user id."""
        with self.lock:
            views = self.recorded.views
            return {u: copy.deepcopy(views[v]) for u, v in self.recorded.home_view_ids.items()}

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened, pushed, updated or published, by view id (current version)."""
        with self.lock:
            return copy.deepcopy(self.recorded.views)

    @property
    def errors(self) -> list[str]:
        """Exceptions inside the fake itself (a bug in the fake; answered with HTTP 500)."""
        with self.lock:
            return list(self.recorded.errors)
