"""``/healthz`` and ``/readyz``: is the process alive, and is it doing its work.

Ready means: the database answers within two seconds, the scheduler ticked recently (three
ticks and a margin), and in Socket Mode the socket to Slack is connected. ``/readyz`` answers
503 with the reason of each failing part, so an orchestrator restarts a bot whose socket died
and an operator sees why.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.runtime import Runtime
from storage.health import ping

SocketState = Callable[[], Awaitable[bool]]


class Readiness:
    def __init__(self, runtime: Runtime, *, tick_seconds: float) -> None:
        self.runtime = runtime
        self.tick_seconds = tick_seconds
        self.started = time.monotonic()
        self.last_tick: float | None = None
        self.socket: SocketState | None = None  # set in Socket Mode

    def ticked(self) -> None:
        self.last_tick = time.monotonic()

    async def report(self) -> tuple[bool, dict[str, str]]:
        checks = {
            "database": await self._database(),
            "scheduler": self._scheduler(),
        }
        if self.socket is not None:
            checks["slack_socket"] = "ok" if await self.socket() else "not connected to Slack"
        return all(value == "ok" for value in checks.values()), checks

    async def _database(self) -> str:
        def query() -> None:
            with self.runtime.session() as session:
                ping(session)

        try:
            await asyncio.wait_for(asyncio.to_thread(query), 2.0)
        except TimeoutError:
            return "the database did not answer within 2 s"
        except Exception as exc:  # the driver's own error type; its text may hold the URL
            return f"the database did not answer ({type(exc).__name__})"
        return "ok"

    def _scheduler(self) -> str:
        allowed = 3 * self.tick_seconds + 10
        last = self.last_tick if self.last_tick is not None else self.started
        age = time.monotonic() - last
        if age <= allowed:
            return "ok"
        return f"no scheduler tick for {age:.0f} s (expected every {self.tick_seconds:g} s)"


def health_routes(readiness: Readiness) -> list[web.RouteDef]:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(_request: web.Request) -> web.Response:
        ready, checks = await readiness.report()
        return web.Response(
            status=200 if ready else 503,
            text=json.dumps({"ready": ready, "checks": checks}),
            content_type="application/json",
        )

    return [web.get("/healthz", healthz), web.get("/readyz", readyz)]
