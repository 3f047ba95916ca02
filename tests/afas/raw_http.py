"""A tiny HTTP/1.1 server on 127.0.0.1, in the test's own event loop, for what the sandbox
cannot do: answer bytes that are not HTTP, close halfway through a body, redirect, echo the
request it got, count the requests in flight. Each request is answered by ``answer``: bytes
to write (``ThenClose`` bytes: then close the connection), or None to close the connection
without an answer."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]  # as received, in order, names lower-cased
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name.lower()]
        return values[0] if values else None

    def count(self, name: str) -> int:
        return sum(1 for k, _ in self.headers if k == name.lower())


class ThenClose(bytes):
    """An answer after which the server closes the connection."""


Answer = Callable[[RawRequest], Awaitable[bytes | None]]


def response(
    status: int, body: bytes = b"", *, headers: dict[str, str] | None = None, reason: str = "X"
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawServer:
    """``async with RawServer(answer) as server``; ``server.url_template`` for the client."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self.requests: list[RawRequest] = []
        self.in_flight = 0
        self.peak = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{host}}/{{env}}/ProfitRestServices"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests.append(request)
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                try:
                    answer = await self._answer(request)
                finally:
                    self.in_flight -= 1
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if isinstance(answer, ThenClose):
                    return
        except ConnectionError:
            return
        finally:
            self._connections.discard(writer)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> RawRequest:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *lines = head.rstrip("\r\n").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    length = int(dict(headers).get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return RawRequest(method, target, headers, body)


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: a new connection's SYN is dropped, so connecting
    hangs until the client's connect timeout (Linux keeps ``listen(0)`` to one pending)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def connecting_hangs(port: int, seconds: float = 0.3) -> bool:
    """Whether a plain connect to ``port`` really hangs (the premise of a connect-timeout test)."""
    probe = socket.socket()
    probe.settimeout(seconds)
    try:
        probe.connect(("127.0.0.1", port))
    except TimeoutError:
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False
