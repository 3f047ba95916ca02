"""Network-level misbehaviour: latency, hanging requests, dropped connections, garbage.

These are the answers no AFAS documentation describes but every client meets: a slow or
hanging server, a connection reset, a proxy's HTML page where JSON was expected.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import Response

from .errors import AFAS_HEADERS, JSON_CONTENT_TYPE

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

GARBAGE_HTML = (
    b"<!DOCTYPE html>\r\n<html><head><title>502 - Web server received an invalid response"
    b"</title></head>\r\n<body><h1>Server Error</h1><h2>502 - Web server received an invalid "
    b"response while acting as a gateway or proxy server.</h2></body></html>\r\n"
)


class ConnectionDropRequested(Exception):
    """Raised when the server gives no way to reset the connection (not uvicorn)."""


class DisconnectWatch:
    """Notices when the client goes away, so waits end early and nothing is left sleeping.

    Must only be used once the request body has been read: it consumes ``receive``.
    """

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.gone = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.gone.set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``; True if the client disconnected meanwhile."""
        self.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.gone.wait(), timeout=seconds)
        return self.gone.is_set()

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


async def drop_connection(send: Send, watch: DisconnectWatch) -> None:
    """Reset the TCP connection without an HTTP answer.

    uvicorn hands the app its ``RequestResponseCycle.send``; the cycle holds the asyncio
    transport. With ``SO_LINGER`` set to 0, aborting it sends a TCP RST, so the client sees
    "connection reset by peer" (httpx: ``ReadError``) instead of an answer. We then wait for
    uvicorn to notice the disconnect, so it does not try to send its own 500.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropRequested("this server gives no access to the connection")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await watch.sleep(2.0)


def garbage_html() -> Response:
    """A proxy error page with status 200, where the client expects JSON."""
    return Response(
        GARBAGE_HTML, 200, headers={**AFAS_HEADERS, "Content-Type": "text/html; charset=utf-8"}
    )


def truncated(response: Response) -> Response:
    """The real answer, cut in half, still labelled JSON."""
    body = bytes(response.body)
    cut = body[: max(1, len(body) // 2)] if body else b'{"rows":['
    return Response(cut, 200, headers={**AFAS_HEADERS, "Content-Type": JSON_CONTENT_TYPE})
