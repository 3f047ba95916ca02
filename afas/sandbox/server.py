"""Serving the sandbox over HTTP on loopback: in a background thread (tests, demo) or in
the foreground (``afasbot sandbox``, ``python -m afas.sandbox``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .app import SandboxApp, create_app
from .scenario import SandboxEnvironment, Scenario, default_scenario
from .serving import ServerThread, http_url
from .serving import serve_forever as serve_app_forever


def url_template_for(host: str, port: int) -> str:
    """The client's URL template for a sandbox at host:port ({host} and {env} stay open)."""
    return f"{http_url(host, port)}/{{host}}/{{env}}/ProfitRestServices"


class SandboxServer(ServerThread):
    """The sandbox on 127.0.0.1 in a background thread; a context manager.

    >>> with SandboxServer() as sandbox:
    ...     env = sandbox.scenario.by_name("healthy")
    ...     url = env.base_url(sandbox.url_template)
    """

    app: SandboxApp

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.scenario = scenario if scenario is not None else default_scenario()
        super().__init__(
            create_app(self.scenario),
            host=host,
            port=port,
            log_level=log_level,
            name="AFAS sandbox",
        )

    @property
    def url_template(self) -> str:
        """``http://127.0.0.1:PORT/{host}/{env}/ProfitRestServices``."""
        if not self.port:
            raise RuntimeError("The AFAS sandbox is not running")
        return url_template_for(self.host, self.port)

    def base_url(self, name: str) -> str:
        """The ProfitRestServices URL of the scenario's environment ``name``."""
        return self.scenario.by_name(name).base_url(self.url_template)

    def reset(self) -> None:
        """Forget flaky-attempt counts and records created through UpdateConnectors."""
        self.app.reset()


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

    def ready(bound_port: int) -> None:
        if on_ready is not None:
            on_ready(url_template_for(host, bound_port))

    serve_app_forever(create_app(scenario), host, port, on_ready=ready, log_level=log_level)


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
