"""The three transports behind ``AfasClient`` (httpx on httpx-aiohttp, httpx alone, aiohttp
alone) are interchangeable: every answer and every failure comes out as the same outcome, the
limits and the timeout hold, no transport resends on its own, follows a redirect, or lets the
token reach a log."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from afas.check import run_check
from afas.client import TRANSPORTS, AfasClient, TransportName
from afas.environments import AfasEnvironment, EnvironmentKind
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.sandbox.scenario import Scenario, default_scenario
from afas.sandbox.server import SandboxServer
from afas.tokens import AfasToken

from .raw_http import RawRequest, RawServer, ThenClose, connecting_hangs, response, unanswered_port

ENV = AfasEnvironment("12345", EnvironmentKind.PRODUCTION)
TOKEN = AfasToken("C0FFEE42" * 8)
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
#: What an outcome says, without what differs between two runs of the same request (AFAS
#: draws a new log reference for every error).
VOLATILE = {"elapsed_ms", "trace_id", "profit_log_reference"}

every_transport = pytest.mark.parametrize("transport", TRANSPORTS)


async def no_sleep(seconds: float) -> None:
    """The retry wait, without waiting (the backoff itself is tested in test_client_retries)."""


def said(outcome: AfasOutcome) -> dict[str, Any]:
    fields = {name: getattr(outcome, name) for name in outcome.__slots__}
    return {k: v for k, v in fields.items() if k not in VOLATILE}


class Recording(AfasClient):
    """The client, keeping each request's outcome (keyed by method, path and query)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: dict[str, dict[str, Any]] = {}

    async def request(self, method: str, env: AfasEnvironment, token: AfasToken, path: str, **kw):
        outcome = await super().request(method, env, token, path, **kw)
        query = sorted((kw.get("params") or {}).items())
        self.seen[f"{method} {env.number} {path} {query}"] = said(outcome)
        return outcome


# -- the sandbox: every environment, a deep check, on each transport -----------------------


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[SandboxServer]:
    """The built-in scenario on a sandbox of this module's own (its flaky counts are ours)."""
    with SandboxServer(default_scenario()) as server:
        yield server


async def deep_checks(server: SandboxServer, transport: TransportName) -> tuple[dict, dict]:
    """A deep check of every environment, one after another (with all at once, httpx's own
    transport lets some requests stall past the timeout, encode/httpx#3215, and the
    comparison would be of luck): the reports, and every outcome."""
    scenario: Scenario = server.scenario
    server.reset()  # flaky environments fail each URL's first attempt again
    # The check's environments (the export ones differ in what writes do); not the slow one:
    # it is only slower, and the limits tests cover it.
    environments = [
        e for e in scenario.environments if e.latency_ms < 1000 and not e.name.startswith("export")
    ]
    async with Recording(
        url_template=server.url_template, transport=transport, timeout=5.0, sleep=no_sleep
    ) as client:
        reports = [
            await run_check(client, e.environment(), e.token(), deep=True, now=NOW)
            for e in environments
        ]
    said_reports = {
        env.name: _without_log_references(
            repr(
                (
                    report.overall,
                    report.headline,
                    [item.to_dict() for item in report.items],
                    report.requests,
                    report.facts,
                )
            )
        )
        for env, report in zip(environments, reports, strict=True)
    }
    return said_reports, client.seen


def _without_log_references(text: str) -> str:
    return re.sub(r"\b[0-9A-Fa-f]{32}\b", "<profitLogReference>", text)


async def test_every_sandbox_answer_is_the_same_outcome_on_every_transport(
    own_sandbox: SandboxServer,
) -> None:
    results = {t: await deep_checks(own_sandbox, t) for t in TRANSPORTS}
    reports, seen = results["aiohttp"]
    assert len(reports) >= 15 and len(seen) > 150  # every check environment, deep
    kinds = {outcome["kind"] for outcome in seen.values()}
    assert kinds >= {
        OutcomeKind.OK,
        OutcomeKind.TOKEN_REJECTED,
        OutcomeKind.IP_NOT_ALLOWED,
        OutcomeKind.MAINTENANCE,
        OutcomeKind.TRANSPORT_ERROR,
        OutcomeKind.MALFORMED_ANSWER,
        OutcomeKind.CONNECTOR_NOT_AUTHORISED,
        OutcomeKind.DEFINITION_BLOCKED,
    }
    assert any(o["attempts"] == 2 and o["kind"] is OutcomeKind.OK for o in seen.values())  # flaky
    for transport in TRANSPORTS[1:]:
        other_reports, other_seen = results[transport]
        assert other_seen.keys() == seen.keys(), transport
        for key, outcome in seen.items():
            assert other_seen[key] == outcome, (transport, key)
        assert other_reports == reports, transport


# -- failures the sandbox cannot make ----------------------------------------------------


async def truncated_body(request: RawRequest) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n"
    return ThenClose(head + b'{"a":')


async def not_http(request: RawRequest) -> bytes:
    return b"NOT HTTP AT ALL\r\n\r\n"


async def no_answer(request: RawRequest) -> None:
    return None


@every_transport
@pytest.mark.parametrize(
    ("answer", "reason"),
    [(truncated_body, "reset"), (not_http, "reset"), (no_answer, "reset")],
    ids=["truncated-body", "not-http", "closed-without-answer"],
)
async def test_a_broken_answer_is_the_same_transport_error(
    transport: TransportName, answer, reason: str
) -> None:
    async with (
        RawServer(answer) as server,
        AfasClient(url_template=server.url_template, transport=transport, retries=0) as client,
    ):
        outcome = await client.metainfo(ENV, TOKEN)
    assert (outcome.kind, outcome.reason, outcome.status) == (
        OutcomeKind.TRANSPORT_ERROR,
        reason,
        None,
    )
    assert len(server.requests) == 1


@every_transport
async def test_refused_dns_and_tls_failures_say_which(
    transport: TransportName, own_sandbox: SandboxServer
) -> None:
    templates = {
        "connect": "http://127.0.0.1:9/{host}/{env}/ProfitRestServices",
        "dns": "http://afasbot-{env}.invalid/{host}/ProfitRestServices",
        # TLS spoken to a server that answers plain HTTP: the handshake fails.
        "tls": own_sandbox.url_template.replace("http://", "https://"),
    }
    for reason, template in templates.items():
        async with AfasClient(
            url_template=template, transport=transport, retries=0, timeout=10
        ) as client:
            outcome = await client.profit_version(ENV, TOKEN)
        assert (outcome.kind, outcome.reason) == (OutcomeKind.TRANSPORT_ERROR, reason), reason
        assert outcome.message and "C0FFEE42" not in outcome.message


@every_transport
async def test_a_connect_that_hangs_is_a_connect_timeout(transport: TransportName) -> None:
    with unanswered_port() as port:
        if not connecting_hangs(port):
            pytest.skip("this system completes connections to a full accept queue")
        template = f"http://127.0.0.1:{port}/{{host}}/{{env}}/ProfitRestServices"
        async with AfasClient(
            url_template=template, transport=transport, retries=0, connect_timeout=0.3, timeout=5
        ) as client:
            started = asyncio.get_running_loop().time()
            outcome = await client.profit_version(ENV, TOKEN)
            waited = asyncio.get_running_loop().time() - started
    assert (outcome.kind, outcome.reason) == (OutcomeKind.TRANSPORT_ERROR, "connect_timeout")
    assert waited < 3  # the connect timeout, not the total one


@every_transport
async def test_an_answer_that_does_not_come_is_a_timeout_after_the_total_timeout(
    transport: TransportName,
) -> None:
    async def never(request: RawRequest) -> bytes:
        await asyncio.sleep(30)
        return response(200)

    async with (
        RawServer(never) as server,
        AfasClient(
            url_template=server.url_template,
            transport=transport,
            retries=1,
            timeout=0.3,
            sleep=no_sleep,
        ) as client,
    ):
        started = asyncio.get_running_loop().time()
        outcome = await client.metainfo(ENV, TOKEN)
        waited = asyncio.get_running_loop().time() - started
    assert (outcome.kind, outcome.reason, outcome.attempts) == (
        OutcomeKind.TRANSPORT_ERROR,
        "timeout",
        2,
    )
    assert 0.55 <= waited < 2.5  # two attempts of 0.3 s each
    assert len(server.requests) == 2


# -- what each transport sends -------------------------------------------------------------


async def echo(request: RawRequest) -> bytes:
    body = {
        "method": request.method,
        "target": request.target,
        "headers": request.headers,
        "body": request.body.decode("utf-8"),
    }
    return response(200, json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def essentials(headers: list[list[str]]) -> dict[str, list[str]]:
    """The headers that must be the same (each transport names its own Accept-Encoding)."""
    wanted = {"accept", "user-agent", "authorization", "accept-language", "content-type"}
    found: dict[str, list[str]] = {}
    for name, value in headers:
        if name in wanted:
            found.setdefault(name, []).append(value)
    return found


async def sent(transport: TransportName, **call: Any) -> dict[str, Any]:
    async with (
        RawServer(echo) as server,
        AfasClient(
            url_template=server.url_template, transport=transport, accept_language="en-us"
        ) as client,
    ):
        outcome = await client.request("POST", ENV, TOKEN, "/connectors/KnSubject", **call)
    assert outcome.ok, outcome
    return outcome.data


async def test_every_transport_sends_the_same_request() -> None:
    payload = {"KnSubject": {"Element": {"Fields": {"Ds": "Déjà vu — 10 €", "StId": 1}}}}
    requests = {
        t: await sent(t, json=payload, params={"take": "1", "orderbyfieldids": "-Id"})
        for t in TRANSPORTS
    }
    first = requests[TRANSPORTS[0]]
    assert first["method"] == "POST"
    assert first["target"].endswith("/connectors/KnSubject?take=1&orderbyfieldids=-Id")
    assert json.loads(first["body"]) == payload
    headers = essentials(first["headers"])
    assert headers["authorization"] == [TOKEN.authorization_header()]
    assert headers["accept"] == ["application/json"]
    assert headers["accept-language"] == ["en-us"]
    assert headers["content-type"] == ["application/json;charset=utf-8"]
    for transport, request in requests.items():
        assert request["target"] == first["target"], transport
        assert request["body"] == first["body"], transport  # byte for byte, as httpx encodes
        assert essentials(request["headers"]) == headers, transport


@every_transport
async def test_a_redirect_is_not_followed_and_takes_the_token_nowhere(
    transport: TransportName,
) -> None:
    async with RawServer(echo) as elsewhere:

        async def redirect(request: RawRequest) -> bytes:
            location = f"http://127.0.0.1:{elsewhere.port}/stolen"
            return response(302, headers={"Location": location})

        async with (
            RawServer(redirect) as server,
            AfasClient(url_template=server.url_template, transport=transport) as client,
        ):
            outcome = await client.profit_version(ENV, TOKEN)
    assert (outcome.kind, outcome.status) == (OutcomeKind.MALFORMED_ANSWER, 302)
    assert outcome.attempts == 1
    assert elsewhere.requests == []


@every_transport
async def test_no_transport_resends_a_dropped_request_on_its_own(transport: TransportName) -> None:
    """The first request on a kept-alive connection succeeds, the second is dropped: aiohttp
    would resend it silently; here the client's own retry does, and counts it."""
    answers = iter([response(200, b"{}"), None, response(200, b'{"version": "1"}')])

    async def scripted(request: RawRequest) -> bytes | None:
        return next(answers)

    async with (
        RawServer(scripted) as server,
        AfasClient(url_template=server.url_template, transport=transport, sleep=no_sleep) as client,
    ):
        assert (await client.profit_version(ENV, TOKEN)).ok
        outcome = await client.profit_version(ENV, TOKEN)
    assert outcome.ok and outcome.data == {"version": "1"}
    assert outcome.attempts == 2
    assert len(server.requests) == 3


@every_transport
async def test_a_write_is_sent_once_even_when_its_connection_drops(
    transport: TransportName,
) -> None:
    async with (
        RawServer(no_answer) as server,
        AfasClient(url_template=server.url_template, transport=transport, sleep=no_sleep) as client,
    ):
        outcome = await client.request(
            "POST", ENV, TOKEN, "/connectors/KnSubject", json={"KnSubject": {}}
        )
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.TRANSPORT_ERROR, 1)
    assert len(server.requests) == 1


# -- limits --------------------------------------------------------------------------------


async def held(request: RawRequest) -> bytes:
    await asyncio.sleep(0.1)
    return response(200, b"{}")


@every_transport
async def test_the_per_environment_and_total_limits_hold(transport: TransportName) -> None:
    async with (
        RawServer(held) as server,
        AfasClient(
            url_template=server.url_template,
            transport=transport,
            per_environment_limit=2,
            total_limit=3,
        ) as client,
    ):
        one_env = await asyncio.gather(*(client.profit_version(ENV, TOKEN) for _ in range(6)))
        peak_one_env, server.peak = server.peak, 0
        envs = [AfasEnvironment(str(n), EnvironmentKind.PRODUCTION) for n in range(1, 9)]
        many = await asyncio.gather(*(client.profit_version(e, TOKEN) for e in envs))
    assert all(o.ok for o in one_env + many)
    assert peak_one_env == 2  # the environment's limit, reached and not passed
    assert server.peak == 3  # the total limit over eight environments


# -- secrets -------------------------------------------------------------------------------


@every_transport
async def test_the_token_reaches_no_log_and_no_outcome(
    transport: TransportName, own_sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    env = own_sandbox.scenario.by_name("healthy")
    token = env.token()
    header = token.authorization_header()
    secrets = (header, header.split()[1], token.xml, env.token_data)
    caplog.set_level(logging.DEBUG)
    outcomes: list[AfasOutcome] = []
    async with RawServer(not_http) as broken:
        for template in (own_sandbox.url_template, broken.url_template):
            async with AfasClient(
                url_template=template, transport=transport, sleep=no_sleep
            ) as client:
                outcomes += await asyncio.gather(
                    client.metainfo(env.environment(), token),
                    client.get_connector(env.environment(), token, "Nope_Not_Listed"),
                    client.probe_special_endpoint(env.environment(), token, "/profitversion"),
                )
    assert {o.kind for o in outcomes} >= {OutcomeKind.OK, OutcomeKind.TRANSPORT_ERROR}
    texts = [record.getMessage() for record in caplog.records]
    texts += [repr(o) for o in outcomes] + [o.summary() for o in outcomes]
    for text in texts:
        for secret in secrets:
            assert secret not in text


async def test_an_unknown_transport_name_is_refused() -> None:
    for transport in TRANSPORTS:
        async with AfasClient(transport=transport):
            pass
    with pytest.raises(ValueError, match="unknown transport"):
        AfasClient(transport="curl")  # type: ignore[arg-type]
