"""The AFAS Profit REST client: one shared async HTTP client, bounded, retrying, classifying.

Every call returns an ``AfasOutcome``; nothing raises for an AFAS answer or a network failure.
The token is decrypted by the caller, passed in for one call, and only ever leaves the process
in the ``Authorization`` header of a request to its own environment's URL.

Transport: httpx's API on the ``httpx-aiohttp`` transport by default. httpx's own transport
falls to about 120 requests/s at 32+ concurrent requests on 2 cores (encode/httpx#3215); the
aiohttp transport keeps up (``bench/client_throughput.py`` measures both).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from afas.classify import classify_response, classify_transport_error
from afas.environments import DEFAULT_URL_TEMPLATE, AfasEnvironment, validate_url_template
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.tokens import AfasToken

TransportName = Literal["aiohttp", "httpx"]

#: Connector ids as AFAS names them; anything else never reaches a URL.
CONNECTOR_ID = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
_RETRYABLE = frozenset({OutcomeKind.TRANSPORT_ERROR, OutcomeKind.MAINTENANCE})


class InvalidConnectorId(ValueError):
    """A connector id with characters AFAS does not use (it would otherwise reach a URL)."""


def connector_path(prefix: str, connector_id: str) -> str:
    if not CONNECTOR_ID.fullmatch(connector_id):
        raise InvalidConnectorId(f"Not a connector id: {connector_id[:40]!r}")
    return f"{prefix}/{quote(connector_id, safe='')}"


class AfasClient:
    """Talks to many AFAS environments through one pooled client.

    Limits: at most ``per_environment_limit`` requests in flight per environment (AFAS
    documents 5 to 8 parallel calls) and ``total_limit`` overall.
    """

    def __init__(
        self,
        *,
        url_template: str = DEFAULT_URL_TEMPLATE,
        transport: TransportName = "aiohttp",
        per_environment_limit: int = 4,
        total_limit: int = 64,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        max_retry_after: float = 10.0,
        accept_language: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url_template = validate_url_template(url_template)
        self.per_environment_limit = per_environment_limit
        self.retries = retries
        self.timeout = timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._total = asyncio.Semaphore(total_limit)
        self._per_environment: dict[str, asyncio.Semaphore] = {}
        headers = {"Accept": "application/json", "User-Agent": "afasbot/0.1"}
        if accept_language:
            headers["Accept-Language"] = accept_language
        self._http = _make_http_client(
            transport,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=total_limit, max_keepalive_connections=total_limit),
        )

    async def __aenter__(self) -> AfasClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the endpoints the check and the exports use -------------------------------------

    async def profit_version(self, env: AfasEnvironment, token: AfasToken) -> AfasOutcome:
        return await self.get(env, token, "/profitversion")

    async def metainfo(self, env: AfasEnvironment, token: AfasToken) -> AfasOutcome:
        return await self.get(env, token, "/metainfo")

    async def metainfo_get(
        self, env: AfasEnvironment, token: AfasToken, connector_id: str
    ) -> AfasOutcome:
        path = connector_path("/metainfo/get", connector_id)
        return await self.get(env, token, path, connector_scoped=True)

    async def metainfo_update(
        self, env: AfasEnvironment, token: AfasToken, connector_id: str
    ) -> AfasOutcome:
        path = connector_path("/metainfo/update", connector_id)
        return await self.get(env, token, path, connector_scoped=True)

    async def get_connector(
        self,
        env: AfasEnvironment,
        token: AfasToken,
        connector_id: str,
        *,
        skip: int = 0,
        take: int = 100,
        order_by: str | None = None,
    ) -> AfasOutcome:
        params = {"skip": str(skip), "take": str(take)}
        if order_by:
            params["orderbyfieldids"] = order_by
        path = connector_path("/connectors", connector_id)
        return await self.get(env, token, path, params=params, connector_scoped=True)

    async def probe_special_endpoint(
        self, env: AfasEnvironment, token: AfasToken, path: str
    ) -> AfasOutcome:
        """Call a special connector's endpoint (a fixed path from the profile)."""
        return await self.get(env, token, path, connector_scoped=True)

    # -- the general request --------------------------------------------------------------

    async def get(
        self,
        env: AfasEnvironment,
        token: AfasToken,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        connector_scoped: bool = False,
    ) -> AfasOutcome:
        """A GET: idempotent, so retried on transport errors and short maintenance."""
        return await self.request(
            "GET",
            env,
            token,
            path,
            params=params,
            connector_scoped=connector_scoped,
            idempotent=True,
        )

    async def request(
        self,
        method: str,
        env: AfasEnvironment,
        token: AfasToken,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        connector_scoped: bool = False,
        idempotent: bool = False,
    ) -> AfasOutcome:
        if not path.startswith("/") or ".." in path or "?" in path:
            raise ValueError("path must be an absolute AFAS endpoint path")
        url = env.base_url(self.url_template) + path
        attempts = 0

        async def attempt() -> AfasOutcome:
            nonlocal attempts
            attempts += 1
            return await self._send_once(method, env, url, token, params, json, connector_scoped)

        if not idempotent:
            return await attempt()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            retry=retry_if_result(self._should_retry),
            retry_error_callback=lambda state: state.outcome.result(),
            sleep=self._sleep,
            reraise=True,
        )
        outcome: AfasOutcome = await retrying(attempt)
        return replace(outcome, attempts=attempts)

    async def _send_once(
        self,
        method: str,
        env: AfasEnvironment,
        url: str,
        token: AfasToken,
        params: Mapping[str, str] | None,
        body: Any,
        connector_scoped: bool,
    ) -> AfasOutcome:
        headers = {"Authorization": token.authorization_header()}
        if body is not None:
            headers["Content-Type"] = "application/json;charset=utf-8"
        # The environment's slot first: a request queued behind its own environment must not
        # hold one of the global slots that other environments' requests could use.
        async with self._environment_limit(env), self._total:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self._http.request(
                        method, url, params=params, json=body, headers=headers
                    )
                    content = response.content
            except (httpx.HTTPError, OSError, TimeoutError) as exc:
                elapsed = (time.perf_counter() - started) * 1000
                return classify_transport_error(exc, elapsed_ms=elapsed)
            elapsed = (time.perf_counter() - started) * 1000
        return classify_response(
            response.status_code,
            response.headers,
            content,
            connector_scoped=connector_scoped,
            elapsed_ms=elapsed,
        )

    def _environment_limit(self, env: AfasEnvironment) -> asyncio.Semaphore:
        key = f"{env.kind.host}/{env.number}"
        semaphore = self._per_environment.get(key)
        if semaphore is None:
            semaphore = self._per_environment[key] = asyncio.Semaphore(self.per_environment_limit)
        return semaphore

    def _should_retry(self, outcome: AfasOutcome) -> bool:
        if outcome.kind not in _RETRYABLE:
            return False
        if outcome.kind is OutcomeKind.MAINTENANCE:
            return (outcome.retry_after or 0.0) <= self._max_retry_after
        return True

    def _wait(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff; a short ``retry_after`` from AFAS wins."""
        outcome = state.outcome.result() if state.outcome else None
        if outcome is not None and outcome.retry_after is not None:
            return outcome.retry_after
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)


def _make_http_client(
    transport: TransportName,
    *,
    headers: dict[str, str],
    timeout: httpx.Timeout,
    limits: httpx.Limits,
) -> httpx.AsyncClient:
    if transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return httpx.AsyncClient(
            transport=AiohttpTransport(
                limits=limits, trust_env=False, client=lambda: _aiohttp_session(limits)
            ),
            headers=headers,
            timeout=timeout,
            trust_env=False,
        )
    if transport == "httpx":
        return httpx.AsyncClient(headers=headers, timeout=timeout, limits=limits, trust_env=False)
    raise ValueError(f"unknown transport {transport!r}: use 'aiohttp' or 'httpx'")


def _aiohttp_session(limits: httpx.Limits):
    """An aiohttp session without aiohttp's own silent retry of dropped connections.

    aiohttp resends an idempotent request once when the server drops the connection
    (RFC 9112 allows it). Our retry policy (bounded, jittered, counted in ``attempts``) is
    the only one, so that both transports make the same requests and the counts are true.
    """
    import aiohttp

    connector = aiohttp.TCPConnector(
        limit=limits.max_connections or 0,
        keepalive_timeout=limits.keepalive_expiry,
        ssl=httpx.create_ssl_context(),
    )
    session = aiohttp.ClientSession(connector=connector, trust_env=False)
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session
