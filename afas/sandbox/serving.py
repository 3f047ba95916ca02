"""One way to serve an ASGI app with uvicorn on loopback: in a background thread
(``ServerThread``: the sandbox in tests and in ``afasbot demo``, the Slack Web API fake) or in
the foreground (``serve_forever``: ``afasbot sandbox``, ``python -m afas.sandbox``, the benches'
sandbox process). Modelled on httpx's one ``serve_in_thread`` test helper.

We bind the socket ourselves and hand it to uvicorn, so that port 0 gives a known free port
before uvicorn starts: a caller can print the URL, or start many servers side by side, without
guessing ports. Readiness is an event set by uvicorn's own startup, not a poll.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any, Self

import uvicorn

ASGIApp = Callable[..., Any]


class ListenError(OSError):
    """host:port cannot be listened on; the message says which and why, in one line (a port
    out of range, an address in use or not of this machine, a host name that does not
    resolve or is not one)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one, read it with getsockname()).
    ``ListenError`` when it cannot be had."""
    where = f"{host!r}:{port}" if not host.isprintable() else f"{host}:{port}"
    if not 0 <= port <= 65535:
        raise ListenError(f"cannot listen on {where}: a port is 0 (any free one) to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError, TypeError, ValueError) as exc:  # UnicodeError: a bad name
        sock.close()
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ListenError(f"cannot listen on {where}: {reason}") from None
    return sock


def http_url(host: str, port: int) -> str:
    """``http://host:port`` with an IPv6 host in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def uvicorn_config(app: ASGIApp, log_level: str) -> uvicorn.Config:
    """The settings every local server here shares."""
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        # Stop promptly even while a request hangs (the sandbox's "timeout" fault does).
        timeout_graceful_shutdown=1,
        # Longer than any client's idle keep-alive (httpx and our aiohttp transport: 5 s,
        # aiohttp's default: 15 s), so the client closes idle connections first: no request
        # ever races a server-side close.
        timeout_keep_alive=75,
    )


def serve_forever(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    on_ready: Callable[[int], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve in this thread until interrupted (uvicorn handles SIGINT/SIGTERM and returns after
    a graceful shutdown). ``on_ready`` gets the bound port once it is listening."""
    sock = bind(host, port)
    if on_ready is not None:
        on_ready(sock.getsockname()[1])
    uvicorn.Server(uvicorn_config(app, log_level)).run(sockets=[sock])


class _Server(uvicorn.Server):
    """uvicorn's server, telling a waiting thread when its startup is over."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()


class ServerThread:
    """An ASGI app served by uvicorn in a daemon thread on host:port; a context manager.

    ``port`` is the bound port while running (0 before ``start`` and after ``stop``)::

        with ServerThread(app) as server:
            httpx.get(server.origin + "/health")
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        name: str = "ASGI server",
    ) -> None:
        self.app = app
        self.host = host
        self.port = 0
        self.name = name
        self._requested_port = port
        self._log_level = log_level
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """``http://host:port`` of the running server."""
        if not self.port:
            raise RuntimeError(f"The {self.name} is not running")
        return http_url(self.host, self.port)

    def start(self, timeout: float = 10.0) -> Self:
        """Bind, start uvicorn in its thread and return once it accepts connections."""
        if self._thread is not None:
            return self
        sock = bind(self.host, self._requested_port)
        ready = threading.Event()
        server = _Server(uvicorn_config(self.app, self._log_level), ready)
        thread = threading.Thread(target=self._run, args=(server, sock, ready), daemon=True)
        thread.name = self.name
        self._server, self._thread = server, thread
        self.port = sock.getsockname()[1]
        thread.start()
        if not ready.wait(timeout) or not server.started:
            self.stop()
            raise RuntimeError(f"The {self.name} did not start")
        return self

    @staticmethod
    def _run(server: _Server, sock: socket.socket, ready: threading.Event) -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
            ready.set()  # a server that died before its startup must not keep start() waiting

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit (open requests get a second) and wait for its thread."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.port = 0
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
