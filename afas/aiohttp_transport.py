"""aiohttp for ``AfasClient``: the session both aiohttp transports share, and aiohttp alone.

``AiohttpDirect`` sends a request with aiohttp and hands back status, headers and body, with
no httpx layer in between (``bench/afas_client.py`` measures what that layer costs). It keeps
what the httpx transports do, so that an answer or a failure is classified the same on each:
no redirect is followed (httpx's default; a redirect would carry the ``Authorization`` header
to wherever it points), no silent resend of a request on a dropped connection, no cookies kept
between environments, no proxy from the environment, a connect timeout, and the total timeout
left to the client (``asyncio.timeout`` around every request, whichever transport).
Exceptions are aiohttp's own; ``afas.classify.transport_reason`` names them.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from json import dumps
from typing import Any

import aiohttp
from yarl import URL

#: What a failed request can raise here (besides ``TimeoutError`` from the client's timeout).
AIOHTTP_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError, TimeoutError)


def aiohttp_session(
    *,
    max_connections: int,
    keepalive_expiry: float,
    ssl_context: ssl.SSLContext,
    headers: Mapping[str, str] | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
    cookies: bool = True,
) -> aiohttp.ClientSession:
    """An aiohttp session without aiohttp's own silent retry of dropped connections.

    aiohttp resends an idempotent request once when the server drops a kept-alive
    connection (RFC 9112 allows it). Our retry policy (bounded, jittered, counted in
    ``attempts``) is the only one, so that every transport makes the same requests and the
    counts are true. ``tests/afas/test_client_transports.py`` holds this to account: a URL
    that fails its first attempt must take two counted attempts.
    """
    connector = aiohttp.TCPConnector(
        limit=max_connections, keepalive_timeout=keepalive_expiry, ssl=ssl_context
    )
    options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if not cookies:
        options["cookie_jar"] = aiohttp.DummyCookieJar()
    session = aiohttp.ClientSession(
        connector=connector, headers=headers, trust_env=False, **options
    )
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session


class AiohttpDirect:
    """One aiohttp session behind ``AfasClient``: ``send`` answers (status, headers, body)."""

    errors = AIOHTTP_ERRORS

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        connect_timeout: float,
        max_connections: int,
        keepalive_expiry: float,
        ssl_context: ssl.SSLContext,
    ) -> None:
        # The session is made on first use: aiohttp wants a running event loop for it.
        self._make = lambda: aiohttp_session(
            max_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
            ssl_context=ssl_context,
            headers=headers,
            # sock_connect as httpx's connect timeout (TCP and TLS); no read timeout of its
            # own: the client's total timeout is the same for every transport.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout),
            cookies=False,
        )
        self._session: aiohttp.ClientSession | None = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        headers: dict[str, str],
    ) -> tuple[int, Mapping[str, str], bytes]:
        session = self._session
        if session is None:
            session = self._session = self._make()
        data = None
        if body is not None:
            # Byte for byte what httpx sends for ``json=``: compact, UTF-8, no NaN.
            data = dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        # The URL is ours (a validated template and a quoted path): no need to requote it.
        async with session.request(
            method,
            URL(url, encoded=True),
            params=params,
            data=data,
            headers=headers,
            allow_redirects=False,
        ) as response:
            content = await response.read()
            return response.status, response.headers, content

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
