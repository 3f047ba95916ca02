"""What ``serve`` listens on and connects to: one HTTP server on host:port with ``/healthz``,
``/readyz``, ``/metrics`` when given a ``Metrics`` (and, in HTTP mode, Slack's requests on
``/slack/events``); in Socket Mode, the socket to Slack, connected in the background.

Socket Mode never blocks the rest: the first connection is retried with backoff (1 s doubling
to 60 s) while the checks and the outbox run, ``/readyz`` says "not connected" meanwhile, and
stopping cancels the attempt at once. Once connected, slack_sdk's client reconnects by itself.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer

from bot.health import Readiness, health_routes
from bot.metrics import Metrics, metrics_routes
from bot.slack.background import Background
from bot.slack.request_guard import guard_slack_requests

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 1.0, 60.0
CONNECT_SECONDS = 10.0  # one websocket handshake, at most


class ServeError(RuntimeError):
    """``serve`` cannot listen or start; the message says where and why."""


class Server:
    def __init__(
        self,
        readiness: Readiness,
        *,
        host: str,
        port: int,
        app: AsyncApp | None = None,
        mode: str | None = None,
        app_token: str | None = None,
        background: Background | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.readiness, self.host, self.port = readiness, host, port
        self.metrics = metrics
        self.app, self.mode, self.app_token = app, mode, app_token
        self.background = background or Background()
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen (``ServeError`` when the address cannot be used), then start the rest."""
        if self.app is not None and self.mode == "http":
            web_app = AsyncSlackAppServer(port=self.port, path=SLACK_EVENTS_PATH, app=self.app)
            application = web_app.web_app
            guard_slack_requests(application, self.app, path=SLACK_EVENTS_PATH)
        else:
            application = web.Application()
        application.add_routes(health_routes(self.readiness))
        if self.metrics is not None:
            application.add_routes(metrics_routes(self.metrics))
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except (OSError, ValueError) as exc:
            await self._runner.cleanup()
            self._runner = None
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ServeError(f"cannot listen on {self.host}:{self.port}: {reason}") from None
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        await self.background.start()
        if self.app is not None and self.mode == "socket":
            self._socket = AsyncSocketModeHandler(self.app, self.app_token)
            self.readiness.socket = self._socket_connected
            self._connecting = asyncio.get_running_loop().create_task(
                self._connect(), name="slack-socket-connect"
            )

    async def _socket_connected(self) -> bool:
        return self._socket is not None and await self._socket.client.is_connected()

    async def _connect(self) -> None:
        assert self._socket is not None
        client = self._socket.client
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                # The URL first, ourselves: slack_sdk's connect() would otherwise retry a
                # failure by itself every 10 s, forever, a traceback each time, and never reach
                # this backoff (apps.connections.open is rate limited).
                client.wss_uri = await client.issue_new_wss_url()
                await asyncio.wait_for(self._socket.connect_async(), CONNECT_SECONDS)
                log.info("Slack socket connected")
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                client.wss_uri = None  # a new URL next time, never a stale one
                log.warning(
                    "cannot connect to Slack (%s); trying again in %.0f s",
                    type(exc).__name__,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        await self.background.stop()
        if self._socket is not None:
            try:
                await asyncio.wait_for(self._socket.close_async(), 5.0)
            except Exception:
                log.warning("the Slack socket did not close cleanly")
        if self._runner is not None:
            await self._runner.cleanup()
