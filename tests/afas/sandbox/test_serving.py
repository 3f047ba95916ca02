"""The one uvicorn-in-a-thread helper that the sandbox, the Slack fake and the benches' sandbox
process share: a known free port before uvicorn starts, ready when ``start`` returns, and the
port released by ``stop``."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from afas.sandbox.serving import ServerThread, bind, http_url


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Any ASGI app: the helper knows nothing about the sandbox."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def test_serves_any_asgi_app_on_a_free_port_as_soon_as_start_returns() -> None:
    with ServerThread(hello) as server:
        assert server.port > 0
        response = httpx.get(f"{server.origin}/ping", timeout=5)
    assert response.status_code == 200
    assert response.text == "/ping"


def test_two_servers_side_by_side_get_their_own_ports() -> None:
    with ServerThread(hello) as first, ServerThread(hello) as second:
        assert first.port != second.port
        assert httpx.get(f"{second.origin}/b", timeout=5).text == "/b"


def test_stop_releases_the_port_and_says_so() -> None:
    server = ServerThread(hello, name="test server").start()
    port = server.port
    server.stop()
    assert server.port == 0
    with pytest.raises(RuntimeError, match="The test server is not running"):
        _ = server.origin
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_a_port_in_use_fails_at_start_without_leaving_a_thread() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = ServerThread(hello, port=taken.getsockname()[1])
        with pytest.raises(OSError):
            server.start()
        assert server.port == 0


def test_start_twice_keeps_the_one_server() -> None:
    with ServerThread(hello) as server:
        port = server.port
        assert server.start() is server
        assert server.port == port


def test_bind_with_port_zero_gives_the_port_before_anything_serves() -> None:
    with bind("127.0.0.1", 0) as sock:
        assert sock.getsockname()[1] > 0


def test_an_ipv6_host_is_bracketed_in_the_url() -> None:
    assert http_url("::1", 8765) == "http://[::1]:8765"
    assert http_url("127.0.0.1", 8765) == "http://127.0.0.1:8765"
