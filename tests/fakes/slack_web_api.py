"""A local fake of the Slack Web API, speaking real HTTP on 127.0.0.1 (a free port).

Point the real SDK clients at it and assert on what they sent::

    with SlackWebApiFake() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.url)
        client.chat_postMessage(channel="C0ALERTS", text="hi")
        assert fake.messages("C0ALERTS")[0]["text"] == "hi"
        assert fake.calls("chat.postMessage")[0].params["channel"] == "C0ALERTS"

``async with SlackWebApiFake() as fake:`` works the same from async tests (``AsyncWebClient``).

Answers use Slack's shapes: HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``;
rate limits are HTTP 429 with ``Retry-After`` (see ``rate_limit`` and ``fail``). Every request is
recorded as a ``RecordedCall`` with the parsed parameters (query string, form or JSON body, JSON
strings in ``blocks``/``view``/``attachments``/... decoded) and the lower-cased headers.

State is guarded by one lock: the server runs in its own thread. Accessors return copies.
Configuration (``valid_tokens``, ``users``, ``channels``, ``usergroups``, ``expired_trigger_ids``,
``identity``) are plain attributes: change them before the calls that should see the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.parser
import email.policy
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["RecordedCall", "SlackWebApiFake"]

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T0TEST"
APP_ID = "A0TEST"
TEAM_DOMAIN = "afas-test"

# Parameters the SDK sends as JSON strings in form bodies; decoded in records and handlers.
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata", "private_metadata_json"})
_TS_RE = re.compile(r"^\d{10}\.\d{6}$")
_TS_BASE_MICROS = 1_700_000_000_000_000
_RESPONSE_PREFIX = "__response__/"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


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
class _Fault:
    times: int
    status: int
    error: str
    retry_after: int | None = None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _decode_json_params(params: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_PARAMS & params.keys():
        value = params[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # left as sent when it is not JSON; the handler will complain if it matters
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _pairs_to_dict(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs to a dict; a repeated name becomes a list (``a=1&a=2``)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    pairs: list[tuple[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            pairs.append((str(name), payload.decode("utf-8", "replace")))
        else:
            pairs.append((str(name), payload))
    return _pairs_to_dict(pairs)


def parse_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Query string + form / JSON / multipart body, as the Web API would read them."""
    params = _pairs_to_dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.lower()
    if body:
        if "json" in ctype or (not ctype and body.lstrip()[:1] == b"{"):
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict):
                params.update(decoded)
            else:
                params["__invalid_json__"] = body.decode("utf-8", "replace")
        elif ctype.startswith("multipart/"):
            params.update(_parse_multipart(content_type, body))
        else:
            text = body.decode("utf-8", "replace")
            params.update(_pairs_to_dict(parse_qsl(text, keep_blank_values=True)))
    return _decode_json_params(params)


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _bind(host: str, port: int) -> socket.socket:
    """Bind and listen ourselves, so port 0 gives a known free port before uvicorn starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def default_users() -> dict[str, dict[str, Any]]:
    return {
        "U0ALICE": make_user(
            "U0ALICE", "alice", "Alice Jansen", locale="nl-NL", email="alice@example.com"
        ),
        "U0BOB": make_user("U0BOB", "bob", "Bob Smith", locale="en-US", email="bob@example.com"),
        BOT_USER_ID: make_user(BOT_USER_ID, "afasbot", "AFAS bot", locale="en-US", is_bot=True),
    }


def default_channels() -> dict[str, dict[str, Any]]:
    return {
        "C0ALERTS": make_channel("C0ALERTS", "afas-alerts"),
        "C0HELPDESK": make_channel("C0HELPDESK", "helpdesk"),
        "C0GENERAL": make_channel("C0GENERAL", "general"),
    }


def default_usergroups() -> dict[str, list[str]]:
    return {"S0HELPDESK": ["U0ALICE", "U0BOB"], "S0EMPTY": []}


def make_user(
    user_id: str,
    name: str,
    real_name: str | None = None,
    *,
    locale: str = "en-US",
    tz: str = "Europe/Amsterdam",
    tz_offset: int = 3600,
    is_bot: bool = False,
    email: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A ``users.info`` user object (``locale`` is stripped unless ``include_locale``)."""
    real = real_name if real_name is not None else name
    profile: dict[str, Any] = {"real_name": real, "display_name": name}
    if email is not None:
        profile["email"] = email
    user = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": real,
        "deleted": False,
        "locale": locale,
        "tz": tz,
        "tz_offset": tz_offset,
        "is_bot": is_bot,
        "is_admin": False,
        "profile": profile,
    }
    user.update(extra)
    return user


def make_channel(channel_id: str, name: str, **extra: Any) -> dict[str, Any]:
    """A ``conversations.info`` channel object; ``is_member=False`` → ``not_in_channel`` on post,
    ``is_archived=True`` → ``is_archived``."""
    channel = {
        "id": channel_id,
        "name": name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_private": False,
        "is_archived": False,
        "is_member": True,
    }
    channel.update(extra)
    return channel


def dm_channel_id(user_id: str) -> str:
    """The fake's DM channel id with a user: ``U0ALICE`` → ``D0ALICE``."""
    return "D" + user_id[1:]


class SlackWebApiFake:
    """A stateful Slack Web API on ``http://127.0.0.1:<port>/api/``; see the module docstring.

    Public state (read through copies): ``calls()``, ``messages()``, ``ephemerals``,
    ``responses``, ``home_views``, ``views``. Configuration: ``valid_tokens``, ``users``,
    ``channels``, ``usergroups``, ``expired_trigger_ids``, ``identity``, ``scopes``.
    """

    def __init__(
        self,
        *,
        valid_tokens: Iterable[str] = ("xoxb-test",),
        host: str = "127.0.0.1",
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.port = 0
        self._log_level = log_level
        self._lock = threading.RLock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Handler] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }
        self._default_tokens = tuple(valid_tokens)
        self._init_config()
        self._init_state()
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])]
        )

    # ------------------------------------------------------------------ configuration / state

    def _init_config(self) -> None:
        self.valid_tokens: set[str] = set(self._default_tokens)
        self.users: dict[str, dict[str, Any]] = default_users()
        self.channels: dict[str, dict[str, Any]] = default_channels()
        self.usergroups: dict[str, list[str]] = default_usergroups()
        self.expired_trigger_ids: set[str] = set()
        self.scopes = "chat:write,commands,users:read,users:read.email,usergroups:read,im:write"
        self.identity: dict[str, Any] = {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "AFAS Test",
            "user": "afasbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _init_state(self) -> None:
        self._calls: list[RecordedCall] = []
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._responses: list[tuple[str, str, dict[str, Any]]] = []  # (url, label, payload)
        self._views: dict[str, dict[str, Any]] = {}
        self._home_view_ids: dict[str, str] = {}
        self._used_trigger_ids: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._errors: list[str] = []
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._response_counter = itertools.count(1)

    def clear(self) -> None:
        """Forget calls, messages, ephemerals, responses, views, pending faults and used trigger
        ids. Configuration (tokens, users, channels, usergroups, ...) is kept."""
        with self._lock:
            self._init_state()

    def reset(self) -> None:
        """``clear()`` and restore the default configuration (the constructor's tokens)."""
        with self._lock:
            self._init_config()
            self._init_state()

    def add_user(self, user_id: str, name: str, real_name: str | None = None, **kw: Any) -> dict:
        """Register a user (see ``make_user`` for keywords); returns the stored object."""
        with self._lock:
            self.users[user_id] = make_user(user_id, name, real_name, **kw)
            return copy.deepcopy(self.users[user_id])

    def add_channel(self, channel_id: str, name: str, **extra: Any) -> dict:
        """Register a channel (``is_member``, ``is_archived``, ``is_private`` ...)."""
        with self._lock:
            self.channels[channel_id] = make_channel(channel_id, name, **extra)
            return copy.deepcopy(self.channels[channel_id])

    # ------------------------------------------------------------------ faults

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any) answer HTTP 429,
        ``Retry-After: <retry_after>`` and ``{"ok": false, "error": "ratelimited"}``."""
        with self._lock:
            self._faults.setdefault(method, []).append(
                _Fault(times=times, status=429, error="ratelimited", retry_after=retry_after)
            )

    def fail(
        self, method: str, error: str = "internal_error", status: int = 200, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any) answer
        ``{"ok": false, "error": error}`` with HTTP ``status`` (200 for API errors, 5xx)."""
        with self._lock:
            self._faults.setdefault(method, []).append(
                _Fault(times=times, status=status, error=error)
            )

    # ------------------------------------------------------------------ read-outs

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Recorded calls in arrival order, all or those of one method."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def methods(self) -> list[str]:
        """The methods called, in order (handy in assertion messages)."""
        with self._lock:
            return [c.method for c in self._calls]

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Messages posted to a channel (id, ``#name`` or user id → its DM), in posting order,
        thread replies included; with ``thread_ts``, only that thread's replies."""
        with self._lock:
            channel_id = self._resolve_channel(channel) or channel
            found = self._messages.get(channel_id, [])
            if thread_ts is not None:
                found = [
                    m for m in found if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
                ]
            return copy.deepcopy(found)

    def ephemeral_messages(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """``chat.postEphemeral`` messages, optionally filtered by channel and/or user."""
        with self._lock:
            channel_id = (self._resolve_channel(channel) or channel) if channel else None
            return copy.deepcopy(
                [
                    e
                    for e in self._ephemerals
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
        with self._lock:
            return [(label, copy.deepcopy(payload)) for _, label, payload in self._responses]

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        """Payloads POSTed to one response URL."""
        with self._lock:
            return [copy.deepcopy(p) for u, _, p in self._responses if u == url]

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The last published home view per user id."""
        with self._lock:
            return {u: copy.deepcopy(self._views[v]) for u, v in self._home_view_ids.items()}

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened, pushed, updated or published, by view id (current version)."""
        with self._lock:
            return copy.deepcopy(self._views)

    @property
    def errors(self) -> list[str]:
        """Exceptions inside the fake itself (a bug in the fake; answered with HTTP 500)."""
        with self._lock:
            return list(self._errors)

    def response_url(self, label: str = "cmd") -> str:
        """A fresh response URL on the fake: ``{url}__response__/<label>-<n>``."""
        with self._lock:
            n = next(self._response_counter)
        return f"{self.url}{_RESPONSE_PREFIX}{label}-{n}"

    # ------------------------------------------------------------------ waiting

    def _wait_result(self, method: str, count: int) -> list[RecordedCall] | None:
        found = self.calls(method)
        return found if len(found) >= count else None

    def _wait_failure(self, method: str, count: int, timeout: float) -> AssertionError:
        found = self.calls(method)
        return AssertionError(
            f"expected {count} call(s) of {method} within {timeout:g} s, got {len(found)}; "
            f"calls seen: {self.methods()}"
        )

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Poll until ``count`` calls of ``method`` were recorded; return that method's calls.

        Blocks the calling thread: from async tests whose code under test runs on the test's
        own event loop use ``await fake.wait_for_async(...)``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._wait_result(method, count)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise self._wait_failure(method, count, timeout)
            time.sleep(0.005)

    async def wait_for_async(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedCall]:
        """``wait_for`` that yields to the event loop while polling."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._wait_result(method, count)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise self._wait_failure(method, count, timeout)
            await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ server lifecycle

    @property
    def url(self) -> str:
        """The base URL for the SDK clients: ``http://127.0.0.1:<port>/api/`` (ends with /)."""
        if not self.port:
            raise RuntimeError("The Slack Web API fake is not running")
        return f"http://{self.host}:{self.port}/api/"

    def start(self, timeout: float = 10.0) -> SlackWebApiFake:
        if self._thread is not None:
            return self
        sock = _bind(self.host, 0)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="slack-web-api-fake", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The Slack Web API fake did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.port = 0
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> SlackWebApiFake:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SlackWebApiFake:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------------ HTTP

    async def _endpoint(self, request: Request) -> JSONResponse:
        path = request.path_params["path"]
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        content_type = headers.get("content-type", "")
        if path.startswith("api/"):
            path = path[4:]
        if path.startswith(_RESPONSE_PREFIX):
            return self._response_endpoint(path, content_type, body)
        params = parse_params(request.url.query, content_type, body)
        status, payload, extra_headers = self.handle(path, params, headers)
        return JSONResponse(payload, status_code=status, headers=extra_headers)

    def _response_endpoint(self, path: str, content_type: str, body: bytes) -> JSONResponse:
        key = path[len(_RESPONSE_PREFIX) :]
        label = key.rsplit("-", 1)[0] if re.search(r"-\d+$", key) else key
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = parse_params("", content_type, body) if "json" not in content_type else None
        if payload is None:
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        with self._lock:
            self._responses.append((f"{self.url}{path}", label, _decode_json_params(payload)))
        return JSONResponse({"ok": True})

    def handle(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one Web API call (already parsed) and record it: ``(status, body, headers)``.
        Order: fault injection (429 / ``fail``), auth, unknown method, the method itself."""
        with self._lock:
            status, payload, extra = self._answer(method, params, headers)
            self._calls.append(
                RecordedCall(
                    method=method,
                    params=copy.deepcopy(params),
                    headers=dict(headers),
                    at=time.monotonic(),
                    status=status,
                    response=copy.deepcopy(payload),
                )
            )
            return status, payload, extra

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = self._take_fault(method)
        if fault is not None:
            extra = {}
            if fault.retry_after is not None:
                extra["Retry-After"] = str(fault.retry_after)
            return fault.status, {"ok": False, "error": fault.error}, extra
        token = self._token(params, headers)
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token not in self.valid_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if "__invalid_json__" in params:
            return 200, {"ok": False, "error": "invalid_json"}, {}
        try:
            result = handler(params)
        except _ApiError as e:
            return 200, {"ok": False, "error": e.error, **e.extra}, {}
        except Exception as e:  # a bug in the fake: make it loud
            self._errors.append(f"{method}: {e!r}")
            return 500, {"ok": False, "error": "fake_internal_error", "detail": repr(e)}, {}
        return 200, {"ok": True, **result}, {"x-oauth-scopes": self.scopes}

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                return fault
        return None

    @staticmethod
    def _token(params: dict[str, Any], headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and auth[7:].strip():
            return auth[7:].strip()
        token = params.get("token")
        return str(token) if token else None

    # ------------------------------------------------------------------ helpers for handlers

    def _next_ts(self) -> str:
        micros = _TS_BASE_MICROS + 100 * next(self._ts_counter)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._id_counter):05d}"

    def _resolve_channel(self, channel: Any) -> str | None:
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

    def _postable_channel(self, params: dict[str, Any]) -> str:
        channel = params.get("channel")
        if not channel:
            raise _ApiError("channel_not_found")
        channel_id = self._resolve_channel(channel)
        if channel_id is None:
            raise _ApiError("channel_not_found")
        info = self.channels.get(channel_id)
        if info is not None:
            if info.get("is_archived"):
                raise _ApiError("is_archived")
            if not info.get("is_member", True):
                raise _ApiError("not_in_channel")
        return channel_id

    @staticmethod
    def _require(params: dict[str, Any], *names: str) -> None:
        missing = [n for n in names if params.get(n) in (None, "")]
        if missing:
            raise _ApiError(
                "invalid_arguments",
                response_metadata={
                    "messages": [f"[ERROR] missing required field: {n}" for n in missing]
                },
            )

    @staticmethod
    def _json_value(params: dict[str, Any], name: str, kind: type) -> Any:
        value = params.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, kind):
            raise _ApiError(f"invalid_{name}")
        return value

    def _find_message(self, channel_id: str, ts: Any) -> dict[str, Any]:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise _ApiError("message_not_found")

    # ------------------------------------------------------------------ methods

    def _api_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"args": {k: v for k, v in params.items() if k != "token"}}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.identity)

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "user")
        user = self.users.get(params["user"])
        if user is None:
            raise _ApiError("user_not_found")
        user = copy.deepcopy(user)
        if not _truthy(params.get("include_locale", False)):
            user.pop("locale", None)
        return {"user": user}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "usergroup")
        users = self.usergroups.get(params["usergroup"])
        if users is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(users)}

    def _message_content(self, params: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {}
        text = params.get("text")
        blocks = self._json_value(params, "blocks", list)
        attachments = self._json_value(params, "attachments", list)
        if text is not None:
            content["text"] = str(text)
        if blocks is not None:
            content["blocks"] = blocks
        if attachments is not None:
            content["attachments"] = attachments
        metadata = self._json_value(params, "metadata", dict)
        if metadata is not None:
            content["metadata"] = metadata
        return content

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._postable_channel(params)
        content = self._message_content(params)
        if not (content.get("text") or content.get("blocks") or content.get("attachments")):
            raise _ApiError("no_text")
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None and not _TS_RE.match(str(thread_ts)):
            raise _ApiError("invalid_thread_ts")
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.identity["user_id"],
            "bot_id": self.identity["bot_id"],
            "app_id": APP_ID,
            "team": self.identity["team_id"],
            "channel": channel_id,
            "text": content.pop("text", ""),
            "blocks": content.pop("blocks", []),
            "ts": ts,
            **content,
        }
        if thread_ts is not None:
            message["thread_ts"] = str(thread_ts)
            for parent in self._messages.get(channel_id, []):
                if parent["ts"] == thread_ts:
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["latest_reply"] = ts
        self._messages.setdefault(channel_id, []).append(message)
        returned = {k: v for k, v in message.items() if k != "channel"}
        return {"channel": channel_id, "ts": ts, "message": copy.deepcopy(returned)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "ts")
        channel_id = self._resolve_channel(params.get("channel"))
        if channel_id is None:
            raise _ApiError("channel_not_found")
        message = self._find_message(channel_id, params["ts"])
        if message.get("bot_id") != self.identity["bot_id"]:
            raise _ApiError("cant_update_message")
        content = self._message_content(params)
        if not content:
            raise _ApiError("no_text")
        message.update(content)
        message["edited"] = {"user": self.identity["user_id"], "ts": self._next_ts()}
        returned = {k: v for k, v in message.items() if k != "channel"}
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(returned),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "ts")
        channel_id = self._resolve_channel(params.get("channel"))
        if channel_id is None:
            raise _ApiError("channel_not_found")
        message = self._find_message(channel_id, params["ts"])
        self._messages[channel_id].remove(message)
        return {"channel": channel_id, "ts": message["ts"]}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._postable_channel(params)
        self._require(params, "user")
        content = self._message_content(params)
        if not (content.get("text") or content.get("blocks") or content.get("attachments")):
            raise _ApiError("no_text")
        ts = self._next_ts()
        entry: dict[str, Any] = {
            "channel": channel_id,
            "user": params["user"],
            "text": content.pop("text", ""),
            "blocks": content.pop("blocks", []),
            "message_ts": ts,
            **content,
        }
        if params.get("thread_ts"):
            entry["thread_ts"] = str(params["thread_ts"])
        self._ephemerals.append(entry)
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "message_ts")
        channel_id = self._resolve_channel(params.get("channel"))
        if channel_id is None:
            raise _ApiError("channel_not_found")
        message = self._find_message(channel_id, params["message_ts"])
        link = f"{self.identity['url']}archives/{channel_id}/p{message['ts'].replace('.', '')}"
        return {"channel": channel_id, "permalink": link}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        if channel_id is None:
            raise _ApiError("channel_not_found")
        info = self.channels.get(channel_id)
        if info is None:  # a DM
            user = "U" + channel_id[1:]
            info = {"id": channel_id, "is_im": True, "is_channel": False, "user": user}
        return {"channel": copy.deepcopy(info)}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = params.get("users")
        if isinstance(users, list):
            users = ",".join(users)
        ids = [u for u in str(users or "").split(",") if u]
        if len(ids) != 1:
            raise _ApiError("invalid_arguments" if not ids else "not_supported")
        if ids[0] not in self.users:
            raise _ApiError("user_not_found")
        return {"channel": {"id": dm_channel_id(ids[0])}}

    # views

    def _take_trigger(self, params: dict[str, Any]) -> None:
        trigger_id = params.get("trigger_id")
        if not trigger_id:
            raise _ApiError("invalid_arguments")
        if trigger_id in self.expired_trigger_ids:
            raise _ApiError("expired_trigger_id")
        if trigger_id in self._used_trigger_ids:
            raise _ApiError("exchanged_trigger_id")
        self._used_trigger_ids.add(trigger_id)

    def _view_param(self, params: dict[str, Any], kinds: tuple[str, ...]) -> dict[str, Any]:
        view = params.get("view")
        if view in (None, ""):
            raise _ApiError("invalid_arguments")
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        if view.get("type") not in kinds:
            raise _ApiError("invalid_arguments")
        return copy.deepcopy(view)

    def _new_hash(self) -> str:
        n = next(self._id_counter)
        return f"{1_700_000_000 + n}.{n:08x}"

    def _store_view(self, view: dict[str, Any], previous: dict[str, Any] | None) -> dict:
        view_id = previous["id"] if previous else self._next_id("V")
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": self.identity["team_id"],
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "bot_id": self.identity["bot_id"],
            "blocks": [],
        }
        if previous:
            stored["root_view_id"] = previous.get("root_view_id", view_id)
            stored["previous_view_id"] = previous.get("previous_view_id")
            if previous.get("external_id") and not view.get("external_id"):
                stored["external_id"] = previous["external_id"]
        stored.update(view)
        stored["id"] = view_id
        stored["hash"] = self._new_hash()
        external_id = stored.get("external_id")
        if external_id:
            for other in self._views.values():
                if other["id"] != view_id and other.get("external_id") == external_id:
                    raise _ApiError("duplicate_external_id")
        self._views[view_id] = stored
        return copy.deepcopy(stored)

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(params, ("modal",))
        self._take_trigger(params)
        return {"view": self._store_view(view, None)}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(params, ("modal",))
        self._take_trigger(params)
        return {"view": self._store_view(view, None)}

    def _check_hash(self, params: dict[str, Any], current: dict[str, Any]) -> None:
        given = params.get("hash")
        if given not in (None, "") and given != current["hash"]:
            raise _ApiError("hash_conflict")

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(params, ("modal", "home"))
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            raise _ApiError("invalid_arguments")
        current = None
        for candidate in self._views.values():
            if (view_id and candidate["id"] == view_id) or (
                not view_id and external_id and candidate.get("external_id") == external_id
            ):
                current = candidate
                break
        if current is None:
            raise _ApiError("not_found")
        self._check_hash(params, current)
        return {"view": self._store_view(view, current)}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "user_id")
        view = self._view_param(params, ("home",))
        user_id = str(params["user_id"])
        if user_id[:1] not in ("U", "W"):
            raise _ApiError("user_not_found")
        current_id = self._home_view_ids.get(user_id)
        current = self._views.get(current_id) if current_id else None
        if current is not None:
            self._check_hash(params, current)
        stored = self._store_view(view, current)
        self._home_view_ids[user_id] = stored["id"]
        return {"view": stored}
