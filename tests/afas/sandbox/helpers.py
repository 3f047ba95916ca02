"""Helpers for the sandbox tests: a plain-httpx AFAS caller and assertions on AFAS answers."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from afas.sandbox.scenario import SandboxEnvironment, Scenario
from afas.sandbox.server import SandboxServer


class Afas:
    """Calls one sandbox as an AFAS client would, with plain httpx."""

    def __init__(self, server: SandboxServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client

    def env(self, name: str) -> SandboxEnvironment:
        return self.server.scenario.by_name(name)

    def url(self, name: str, path: str = "") -> str:
        return self.server.base_url(name) + path

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": self.env(name).token().authorization_header()}

    def request(
        self,
        method: str,
        name: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        authorised: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        all_headers = {**(self.auth(name) if authorised else {}), **(headers or {})}
        return self.client.request(method, self.url(name, path), headers=all_headers, **kwargs)

    def get(self, name: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", name, path, **kwargs)


def token_header(data: str) -> str:
    xml = f"<token><version>1</version><data>{data}</data></token>"
    return "AfasToken " + base64.b64encode(xml.encode()).decode()


def assert_afas_error(response: httpx.Response, status: int, message: str) -> dict[str, Any]:
    """An AFAS error body: externalMessage, errorNumber, a 32-hex profitLogReference."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"externalMessage", "errorNumber", "profitLogReference"}
    assert body["externalMessage"] == message, body
    assert isinstance(body["errorNumber"], int)
    reference = body["profitLogReference"]
    assert len(reference) == 32 and reference == reference.upper()
    int(reference, 16)
    return body


def assert_empty(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.content == b""
    assert response.headers["content-length"] == "0"


@contextmanager
def custom_afas(environments: list[dict[str, Any]], timeout: float = 10) -> Iterator[Afas]:
    """A sandbox with its own small scenario, and a client for it."""
    scenario = Scenario.model_validate({"environments": environments})
    with SandboxServer(scenario) as server, httpx.Client(timeout=timeout) as client:
        yield Afas(server, client)
