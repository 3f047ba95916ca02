"""A local fake of Slack's Socket Mode server: real websockets (aiohttp) on 127.0.0.1, in a
thread of its own, speaking Slack's envelope protocol.

The flow, as Slack documents it (docs.slack.dev, "Using Socket Mode"): the app calls
``apps.connections.open`` with its app-level token (``xapp-``) and gets a single-use URL
``ws://.../link/?ticket=...``; on connecting it receives ``{"type": "hello", ...}``; events
arrive as envelopes ``{"envelope_id", "type", "payload", "accepts_response_payload"}`` that the
app acknowledges with ``{"envelope_id": ...}`` (and a ``payload`` where one is accepted);
before Slack closes a connection it sends ``{"type": "disconnect", "reason":
"refresh_requested" | "warning"}``, and the app opens a new one with a new URL.

Attach it to the Web API fake, whose ``apps.connections.open`` hands out its URLs::

    with SlackWebApiFake(valid_tokens=("xoxb-test", "xapp-1-test")) as slack, \\
            SocketModeFake() as socket:
        slack.socket_mode = socket
        ...  # start the bot with the app token
        socket.wait_for_connection()
        envelope_id = socket.send_slash_command("check acme", response_url=...)
        ack = socket.wait_for_ack(envelope_id)
        socket.disconnect("refresh_requested")  # then closes; the bot connects again
        socket.wait_for_connection(2)

A test can also close a connection without a ``disconnect`` (``close``), drop it without a
close frame (``drop``: the TCP connection is aborted, as a dying network does) and refuse new
connections for a while (``refuse``). Everything the app sent is recorded (``received``), as
is everything the fake sent (``sent``), with the connection's number and the time.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from aiohttp import WSMsgType, web

from .objects import APP_ID, TEAM_DOMAIN, TEAM_ID

LINK_PATH = "/link/"
_POLL_SECONDS = 0.005
T = TypeVar("T")


@dataclass(frozen=True)
class Frame:
    """One websocket text frame: on which connection (1 = the first), when (monotonic), and
    its JSON (``{"raw": text}`` when it is not a JSON object)."""

    connection: int
    at: float
    data: dict[str, Any]


@dataclass
class Connection:
    """One websocket the app opened. ``closed_by``: "app", "fake" (a close frame, after a
    ``disconnect`` or not) or "dropped" (aborted without a close frame)."""

    number: int
    opened_at: float
    greeted_at: float | None = None  # when its hello was sent
    closed_at: float | None = None
    closed_by: str | None = None
    _socket: web.WebSocketResponse | None = field(default=None, repr=False)
    _request: web.Request | None = field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def slash_command_payload(
    text: str,
    *,
    response_url: str,
    user: str = "U0BOB",
    channel: str = "C0HELPDESK",
    command: str = "/afas",
) -> dict[str, str]:
    """The fields Slack sends for a slash command (all strings, as in the HTTP form body)."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": "helpdesk",
        "user_id": user,
        "user_name": "someone",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{secrets.randbelow(10**12)}.42.{secrets.token_hex(8)}",
    }


class SocketModeFake:
    """Slack's Socket Mode endpoint on ``ws://127.0.0.1:<port>/link/``; see the module docstring.

    A context manager, also ``async with``. State is guarded by one lock: the server runs on its
    own event loop in its own thread, and the methods may be called from any thread.
    """

    def __init__(self, *, host: str = "127.0.0.1", app_id: str = APP_ID) -> None:
        self.host = host
        self.port = 0
        self.app_id = app_id
        self.lock = threading.Lock()
        self.connections: list[Connection] = []
        self.received: list[Frame] = []
        self.sent: list[Frame] = []
        self.refused = 0  # connection attempts answered with an HTTP error
        self._tickets: set[str] = set()
        self._refusing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ the protocol

    def issue_url(self) -> str:
        """A new single-use URL, as ``apps.connections.open`` answers it."""
        ticket = uuid.uuid4().hex
        with self.lock:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    def hello(self, number: int) -> dict[str, Any]:
        with self.lock:
            open_now = sum(1 for c in self.connections if c.is_open)
        return {
            "type": "hello",
            "num_connections": open_now,
            "debug_info": {
                "host": f"applink-fake-{number}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self.lock:
            refusal = None
            if self._refusing:
                refusal = (503, "refusing connections")
            elif ticket not in self._tickets:
                refusal = (401, "unknown or used ticket")
            if refusal is not None:
                self.refused += 1
            else:
                self._tickets.discard(ticket)
                connection = Connection(len(self.connections) + 1, time.monotonic())
                connection._request = request
                self.connections.append(connection)
        if refusal is not None:
            return web.Response(status=refusal[0], text=refusal[1])
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection._socket = ws
        try:
            await self._send(connection, self.hello(connection.number))
            with self.lock:
                connection.greeted_at = time.monotonic()
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._record_received(connection.number, message.data)
        finally:
            with self.lock:
                if connection.closed_at is None:
                    connection.closed_at = time.monotonic()
                    connection.closed_by = connection.closed_by or "app"
        return ws

    def _record_received(self, number: int, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            data = {"raw": text}
        with self.lock:
            self.received.append(Frame(number, time.monotonic(), data))

    async def _send(self, connection: Connection, data: dict[str, Any]) -> None:
        assert connection._socket is not None
        with self.lock:
            self.sent.append(Frame(connection.number, time.monotonic(), data))
        await connection._socket.send_str(json.dumps(data))

    async def _close(self, connection: Connection, code: int) -> None:
        with self.lock:
            if not connection.is_open or connection.closed_by is not None:
                return
            connection.closed_by = "fake"
        if connection._socket is not None:
            await connection._socket.close(code=code)

    def _drop(self, connection: Connection) -> None:
        with self.lock:
            if not connection.is_open:
                return
            connection.closed_by = "dropped"
        if connection._request is not None and connection._request.transport is not None:
            connection._request.transport.abort()

    # ------------------------------------------------------------------ what a test does

    def current(self) -> Connection:
        """The newest open connection (Slack sends each envelope to one of them)."""
        with self.lock:
            for connection in reversed(self.connections):
                if connection.is_open and connection.greeted_at is not None:
                    return connection
        raise AssertionError(f"no open Socket Mode connection; connections: {self.connections}")

    def send(self, data: dict[str, Any], connection: Connection | None = None) -> None:
        """Send one frame on ``connection`` (default: the newest open one)."""
        self._call(self._send(connection or self.current(), data))

    def send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        connection: Connection | None = None,
    ) -> str:
        """Send an envelope (``slash_commands``, ``interactive``, ``events_api``); its id."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        self.send(envelope, connection)
        return envelope_id

    def send_slash_command(
        self, text: str, *, response_url: str, connection: Connection | None = None, **fields: str
    ) -> str:
        """Send ``/afas <text>`` as Slack does in Socket Mode; the envelope's id."""
        payload = slash_command_payload(text, response_url=response_url, **fields)
        return self.send_envelope(
            "slash_commands", payload, accepts_response_payload=True, connection=connection
        )

    def disconnect(
        self,
        reason: str = "refresh_requested",
        *,
        close_after: float | None = 1.0,
        connection: Connection | None = None,
    ) -> Connection:
        """Send ``{"type": "disconnect", "reason": ...}``; after ``close_after`` seconds close
        the connection if the app has not (None: leave it open). The connection told."""
        target = connection or self.current()
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": f"applink-fake-{target.number}"},
        }
        self._call(self._send(target, message))
        if close_after is not None:
            loop = self._require_loop()

            def close_later() -> None:
                loop.create_task(self._close(target, 1000))

            loop.call_soon_threadsafe(loop.call_later, close_after, close_later)
        return target

    def close(self, code: int = 1001, connection: Connection | None = None) -> Connection:
        """Close with a close frame but no ``disconnect`` message before it."""
        target = connection or self.current()
        self._call(self._close(target, code))
        return target

    def drop(self, connection: Connection | None = None) -> Connection:
        """Abort the TCP connection: no ``disconnect``, no close frame."""
        target = connection or self.current()
        loop = self._require_loop()
        loop.call_soon_threadsafe(self._drop, target)
        return target

    def refuse(self, refusing: bool = True) -> None:
        """Answer new connection attempts with HTTP 503 (True) or accept them again (False)."""
        with self.lock:
            self._refusing = refusing

    # ------------------------------------------------------------------ read-outs and waits

    def acks(self) -> list[Frame]:
        """The acknowledgements received: frames with an ``envelope_id``."""
        with self.lock:
            return [f for f in self.received if "envelope_id" in f.data]

    def sent_envelope(self, envelope_id: str) -> Frame:
        with self.lock:
            for frame in self.sent:
                if frame.data.get("envelope_id") == envelope_id:
                    return frame
        raise AssertionError(f"no envelope {envelope_id} was sent")

    def _connection(self, number: int) -> Connection | None:
        with self.lock:
            if len(self.connections) >= number:
                return self.connections[number - 1]
        return None

    def _greeted(self, number: int) -> Connection | None:
        connection = self._connection(number)
        return connection if connection is not None and connection.greeted_at else None

    def _ack(self, envelope_id: str) -> Frame | None:
        return next((f for f in self.acks() if f.data["envelope_id"] == envelope_id), None)

    def _closed(self, number: int) -> Connection | None:
        connection = self._connection(number)
        return connection if connection is not None and not connection.is_open else None

    def wait_for_connection(self, number: int = 1, timeout: float = 10.0) -> Connection:
        """Wait until the ``number``-th connection was opened (and greeted with hello)."""
        return _wait(lambda: self._greeted(number), timeout, f"connection {number}", self)

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Frame:
        return _wait(lambda: self._ack(envelope_id), timeout, f"the ack of {envelope_id}", self)

    def wait_for_close(self, number: int, timeout: float = 10.0) -> Connection:
        return _wait(lambda: self._closed(number), timeout, f"connection {number} closed", self)

    async def wait_for_connection_async(self, number: int = 1, timeout: float = 10.0) -> Connection:
        return await _wait_async(
            lambda: self._greeted(number), timeout, f"connection {number}", self
        )

    async def wait_for_ack_async(self, envelope_id: str, timeout: float = 5.0) -> Frame:
        return await _wait_async(
            lambda: self._ack(envelope_id), timeout, f"the ack of {envelope_id}", self
        )

    async def wait_for_close_async(self, number: int, timeout: float = 10.0) -> Connection:
        return await _wait_async(
            lambda: self._closed(number), timeout, f"connection {number} closed", self
        )

    # ------------------------------------------------------------------ server lifecycle

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the Socket Mode fake is not running")
        return self._loop

    def _call(self, coroutine: Any, timeout: float = 5.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._require_loop()).result(timeout)

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="Slack Socket Mode fake", daemon=True
        )
        self._thread.start()
        self._call(self._serve(), timeout)
        return self

    async def _serve(self) -> None:
        application = web.Application()
        application.router.add_get(LINK_PATH, self._link)
        self._runner = web.AppRunner(application, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        for connection in list(self.connections):
            if connection.is_open and connection._socket is not None:
                await self._close(connection, 1001)
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        try:
            self._call(self._shutdown(), 10.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10.0)
            self._loop.close()
            self._loop, self._thread, self.port = None, None, 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)


def _wait(found: Callable[[], T | None], timeout: float, what: str, fake: SocketModeFake) -> T:
    deadline = time.monotonic() + timeout
    while (value := found()) is None:
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout, fake))
        time.sleep(_POLL_SECONDS)
    return value


async def _wait_async(
    found: Callable[[], T | None], timeout: float, what: str, fake: SocketModeFake
) -> T:
    deadline = time.monotonic() + timeout
    while (value := found()) is None:
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout, fake))
        await asyncio.sleep(_POLL_SECONDS)
    return value


def _timed_out(what: str, timeout: float, fake: SocketModeFake) -> str:
    with fake.lock:
        seen = [(c.number, c.closed_by) for c in fake.connections]
        kinds = [f.data.get("type", "ack") for f in fake.received]
    return (
        f"expected {what} within {timeout:g} s; connections (number, closed by): {seen}; "
        f"received: {kinds}; refused attempts: {fake.refused}"
    )


def apps_connections_open(ws: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``apps.connections.open``: a URL of the attached ``SocketModeFake`` (``ws.socket_mode``).
    The dispatcher has checked the app-level token already."""
    server = getattr(ws, "socket_mode", None)
    if server is None:  # a test that forgot to attach one: make it loud (HTTP 500)
        raise RuntimeError("apps.connections.open needs a SocketModeFake: set fake.socket_mode")
    return {"url": server.issue_url()}


METHODS = {"apps.connections.open": apps_connections_open}
APP_LEVEL_METHODS = frozenset(METHODS)
