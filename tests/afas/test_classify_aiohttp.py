"""aiohttp's own exceptions (the direct transport hands them over unmapped) get the reasons
httpx's exceptions get for the same failure."""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest
from aiohttp import http_exceptions
from aiohttp.client_reqrep import ConnectionKey

from afas.classify import classify_transport_error

KEY = ConnectionKey("afas.example", 443, True, True, None, None, None)


def _caused(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (aiohttp.ClientConnectorDNSError(KEY, socket.gaierror(-2, "Name unknown")), "dns"),
        (aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")), "connect"),
        (aiohttp.ClientConnectorSSLError(KEY, ssl.SSLError(1, "bad handshake")), "tls"),
        (aiohttp.ServerDisconnectedError(), "reset"),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), "reset"),
        (aiohttp.ClientPayloadError("Response payload is not completed"), "reset"),
        (aiohttp.ConnectionTimeoutError("Connection timeout to host"), "connect_timeout"),
        (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), "timeout"),
        (TimeoutError(), "timeout"),
        (
            _caused(
                aiohttp.ClientResponseError(None, (), status=400, message="Bad status line"),  # type: ignore[arg-type]
                http_exceptions.BadStatusLine(b"NOT HTTP"),
            ),
            "reset",  # what httpx calls a RemoteProtocolError
        ),
    ],
)
def test_aiohttp_failures_have_httpx_reasons(exc: BaseException, reason: str) -> None:
    outcome = classify_transport_error(exc)
    assert outcome.reason == reason
    assert outcome.status is None and outcome.message
