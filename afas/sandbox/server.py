"""Serving the sandbox over HTTP on loopback: in a background thread (tests, demo) or in
the foreground (``afasbot sandbox``, ``python -m afas.sandbox``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from .app import SandboxApp, create_app
from .scenario import SandboxEnvironment, Scenario, default_scenario


def url_template_for(host: str, port: int) -> str:
    """The client's URL template for a sandbox at host:port ({host} and {env} stay open)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{{host}}/{{env}}/ProfitRestServices"


def _bind(host: str, port: int) -> socket.socket:
    """Bind and listen ourselves, so port 0 gives a known free port before uvicorn starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _config(app: SandboxApp, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=1,
        # Longer than any client's idle keep-alive (httpx and our aiohttp transport: 5 s), so
        # the client closes idle connections first: no request ever races a server-side close.
        timeout_keep_alive=75,
    )


class SandboxServer:
    """The sandbox on 127.0.0.1 in a background thread; a context manager.

    >>> with SandboxServer() as sandbox:
    ...     env = sandbox.scenario.by_name("healthy")
    ...     url = env.base_url(sandbox.url_template)
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.scenario = scenario if scenario is not None else default_scenario()
        self.app = create_app(self.scenario)
        self.host = host
        self._requested_port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url_template(self) -> str:
        """``http://127.0.0.1:PORT/{host}/{env}/ProfitRestServices``."""
        if not self.port:
            raise RuntimeError("The sandbox server is not running")
        return url_template_for(self.host, self.port)

    def base_url(self, name: str) -> str:
        """The ProfitRestServices URL of the scenario's environment ``name``."""
        return self.scenario.by_name(name).base_url(self.url_template)

    def reset(self) -> None:
        """Forget flaky-attempt counts and records created through UpdateConnectors."""
        self.app.reset()

    def start(self, timeout: float = 10.0) -> SandboxServer:
        if self._thread is not None:
            return self
        sock = _bind(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(_config(self.app, self._log_level))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="afas-sandbox", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The AFAS sandbox did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    scenario: Scenario,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM). ``on_ready`` gets the URL template once the
    port is listening (useful with port 0)."""
    sock = _bind(host, port)
    if on_ready is not None:
        on_ready(url_template_for(host, sock.getsockname()[1]))
    uvicorn.Server(_config(create_app(scenario), log_level)).run(sockets=[sock])


def describe_environment(
    env: SandboxEnvironment, url_template: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": env.name,
        "number": env.number,
        "kind": env.kind.value,
        "host": env.kind.host,
        "description": env.description,
        "token": env.token().xml,
    }
    if url_template is not None:
        entry["base_url"] = env.base_url(url_template)
    return entry


def describe(scenario: Scenario, url_template: str | None = None) -> list[dict[str, Any]]:
    """One entry per environment: name, number, kind, host, description, token XML (fake),
    and the base URL when a URL template is given. For the ``afasbot sandbox`` printout."""
    return [describe_environment(env, url_template) for env in scenario.environments]
