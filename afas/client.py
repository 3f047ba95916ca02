"""The AFAS Profit REST client: one shared async HTTP client, bounded, retrying, classifying.

Every call returns an ``AfasOutcome``; nothing raises for an AFAS answer or a network failure.
The token is decrypted by the caller, passed in for one call, and only ever leaves the process
in the ``Authorization`` header of a request to its own environment's URL.

Transports: httpx's API on the ``httpx-aiohttp`` transport (``aiohttp``, the default), on its
own (``httpx``: about 120 requests/s at 32+ concurrent requests on 2 cores, encode/httpx#3215),
or aiohttp alone (``aiohttp-direct``, ``afas/aiohttp_transport.py``: about a third of the
first's CPU per request, as ``bench/afas_client.py`` measures). Each hands back status, headers
and body, or raises; the limits, the timeout, the retries and the classification are the
client's, the same for all three (``tests/afas/test_client_transports.py``).

Retries: a loop of our own in ``request``, the policy tenacity's ``AsyncRetrying`` used to
express, without building one (about 55 µs of CPU per request, also from a ``.copy()``-ed
template; the loop costs about 2 µs).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx

from afas.classify import classify_response, classify_transport_error
from afas.environments import DEFAULT_URL_TEMPLATE, AfasEnvironment, validate_url_template
from afas.lanes import Lanes
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.tokens import AfasToken

TransportName = Literal["aiohttp", "httpx", "aiohttp-direct"]
TRANSPORTS: tuple[TransportName, ...] = ("aiohttp", "httpx", "aiohttp-direct")

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
        people_slots: int = 0,
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
        # ``people_slots`` of the total are kept for checks people asked for (afas/lanes.py).
        self._lanes = Lanes(total_limit, people_slots)
        self._per_environment: dict[str, asyncio.Semaphore] = {}
        headers = {"Accept": "application/json", "User-Agent": "afasbot/0.1"}
        if accept_language:
            headers["Accept-Language"] = accept_language
        self._http = _make_transport(
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
        outcome = await self._send_once(method, env, url, token, params, json, connector_scoped)
        if not idempotent:
            return outcome
        # The retry policy: at most ``retries`` more attempts, only for what _should_retry
        # allows, after _backoff's wait; the last outcome stands, with the attempts counted.
        attempts = 1
        while attempts <= self.retries and self._should_retry(outcome):
            await self._sleep(self._backoff(outcome, attempts))
            attempts += 1
            outcome = await self._send_once(method, env, url, token, params, json, connector_scoped)
        return outcome if attempts == 1 else replace(outcome, attempts=attempts)

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
        async with self._environment_limit(env):
            lane = await self._lanes.acquire()
            try:
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(self.timeout):
                        status, answer_headers, content = await self._http.send(
                            method, url, params=params, body=body, headers=headers
                        )
                except self._http.errors as exc:
                    elapsed = (time.perf_counter() - started) * 1000
                    return classify_transport_error(exc, elapsed_ms=elapsed)
                elapsed = (time.perf_counter() - started) * 1000
            finally:
                self._lanes.release(lane)
        return classify_response(
            status,
            answer_headers,
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

    def _backoff(self, outcome: AfasOutcome, attempt: int) -> float:
        """The wait after ``attempt`` (1 for the first): full-jitter exponential backoff
        (AWS's "Full Jitter", as tenacity's ``wait_random_exponential``); a short
        ``retry_after`` from AFAS wins."""
        if outcome.retry_after is not None:
            return outcome.retry_after
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


# -- the transports: status, headers and body, or an exception of ``errors`` ---------------


class HttpTransport(Protocol):
    errors: tuple[type[BaseException], ...]

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        headers: dict[str, str],
    ) -> tuple[int, Mapping[str, str], bytes]: ...

    async def aclose(self) -> None: ...


class _Httpx:
    """httpx's ``AsyncClient``, on its own transport or on httpx-aiohttp's (which lets some
    of aiohttp's exceptions through unmapped: ``extra_errors``)."""

    def __init__(
        self, client: httpx.AsyncClient, extra_errors: tuple[type[BaseException], ...] = ()
    ) -> None:
        self._client = client
        self.errors: tuple[type[BaseException], ...] = (
            httpx.HTTPError,
            OSError,
            TimeoutError,
            *extra_errors,
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        headers: dict[str, str],
    ) -> tuple[int, Mapping[str, str], bytes]:
        response = await self._client.request(
            method, url, params=params, json=body, headers=headers
        )
        return response.status_code, response.headers, response.content

    async def aclose(self) -> None:
        await self._client.aclose()


def _make_transport(
    transport: TransportName,
    *,
    headers: dict[str, str],
    timeout: httpx.Timeout,
    limits: httpx.Limits,
) -> HttpTransport:
    if transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        from afas.aiohttp_transport import AIOHTTP_ERRORS, aiohttp_session

        def session():
            return aiohttp_session(
                max_connections=limits.max_connections or 0,
                keepalive_expiry=limits.keepalive_expiry or 5.0,
                ssl_context=httpx.create_ssl_context(),
            )

        return _Httpx(
            httpx.AsyncClient(
                transport=AiohttpTransport(limits=limits, trust_env=False, client=session),
                headers=headers,
                timeout=timeout,
                trust_env=False,
            ),
            extra_errors=AIOHTTP_ERRORS,
        )
    if transport == "httpx":
        return _Httpx(
            httpx.AsyncClient(headers=headers, timeout=timeout, limits=limits, trust_env=False)
        )
    if transport == "aiohttp-direct":
        from afas.aiohttp_transport import AiohttpDirect

        return AiohttpDirect(
            headers=headers,
            connect_timeout=timeout.connect if timeout.connect is not None else 5.0,
            max_connections=limits.max_connections or 0,
            keepalive_expiry=limits.keepalive_expiry or 5.0,
            ssl_context=httpx.create_ssl_context(),
        )
    raise ValueError(
        f"unknown transport {transport!r}: use one of {', '.join(map(repr, TRANSPORTS))}"
    )
