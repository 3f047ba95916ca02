"""``SlackWebApiFake``: the fake's workspace served over real HTTP on 127.0.0.1 (a free port)
by the one uvicorn-in-a-thread helper, with waits for calls that arrive from other threads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self

from afas.sandbox.serving import ServerThread

from .dispatch import Answer, handle
from .http_app import RESPONSE_PREFIX, create_app
from .workspace import RecordedCall, SlackWorkspace

if TYPE_CHECKING:
    from .socket_mode import SocketModeFake

# The calls come from another thread: polling is the simplest wait that cannot miss one.
_POLL_SECONDS = 0.005


class SlackWebApiFake(SlackWorkspace):
    """A stateful Slack Web API on ``http://127.0.0.1:<port>/api/``; see the package docstring.

    A context manager, also ``async with`` (the server starts in a worker thread then).
    """

    def __init__(
        self,
        *,
        valid_tokens: Iterable[str] = ("xoxb-test",),
        host: str = "127.0.0.1",
        log_level: str = "warning",
    ) -> None:
        super().__init__(valid_tokens=valid_tokens)
        # Where ``apps.connections.open`` points the app (set it to a running SocketModeFake).
        self.socket_mode: SocketModeFake | None = None
        self.app = create_app(self, lambda: self.url)
        self._server = ServerThread(
            self.app, host=host, log_level=log_level, name="Slack Web API fake"
        )

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        """The bound port while running, else 0."""
        return self._server.port

    @property
    def url(self) -> str:
        """The base URL for the SDK clients: ``http://127.0.0.1:<port>/api/`` (ends with /)."""
        return f"{self._server.origin}/api/"

    def response_url(self, label: str = "cmd") -> str:
        """A fresh response URL on the fake: ``{url}__response__/<label>-<n>``."""
        with self.lock:
            n = self.recorded.next_response_number()
        return f"{self.url}{RESPONSE_PREFIX}{label}-{n}"

    def handle(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> Answer:
        """Answer one Web API call (already parsed) and record it: ``(status, body, headers)``.
        Order: fault injection (429 / ``fail``), auth, unknown method, the method itself."""
        return handle(self, method, params, headers)

    # ------------------------------------------------------------------ waiting

    def _calls_when_enough(
        self, method: str, count: int, deadline: float, timeout: float
    ) -> list[RecordedCall] | None:
        """The method's calls once there are ``count``; None to wait on; past the deadline,
        an AssertionError that lists what was called instead."""
        found = self.calls(method)
        if len(found) >= count:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"expected {count} call(s) of {method} within {timeout:g} s, got {len(found)}; "
                f"calls seen: {self.methods()}"
            )
        return None

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Poll until ``count`` calls of ``method`` were recorded; return that method's calls.

        Blocks the calling thread: from async tests whose code under test runs on the test's
        own event loop use ``await fake.wait_for_async(...)``."""
        deadline = time.monotonic() + timeout
        while (found := self._calls_when_enough(method, count, deadline, timeout)) is None:
            time.sleep(_POLL_SECONDS)
        return found

    async def wait_for_async(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedCall]:
        """``wait_for`` that yields to the event loop while polling."""
        deadline = time.monotonic() + timeout
        while (found := self._calls_when_enough(method, count, deadline, timeout)) is None:
            await asyncio.sleep(_POLL_SECONDS)
        return found

    # ------------------------------------------------------------------ server lifecycle

    def start(self, timeout: float = 10.0) -> Self:
        self._server.start(timeout)
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)
