"""Latency, maintenance and network faults: what a client sees on the wire."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import httpx_aiohttp
import pytest

from afas.sandbox.scenario import Scenario
from afas.sandbox.server import SandboxServer

from .helpers import Afas, assert_afas_error, custom_afas

MAINTENANCE = {
    "error": {
        "code": "503",
        "message": "Service temporarily unavailable due to scheduled maintenance. "
        "Please check afasstatus.nl for details.",
    },
    "retry_after": 3600,
}


def test_maintenance_is_503_with_retry_after(afas: Afas) -> None:
    response = afas.get("maintenance", "/profitversion")
    assert response.status_code == 503
    assert response.json() == MAINTENANCE
    # The proxy answers before the token is even looked at.
    assert afas.get("maintenance", "/metainfo", authorised=False).status_code == 503


def test_drop_resets_the_connection(afas: Afas) -> None:
    with pytest.raises(httpx.ReadError, match="reset"):
        afas.get("unreachable", "/profitversion")
    with pytest.raises(httpx.TransportError):
        afas.get("unreachable", "/connectors/SBQ_BTW")


async def test_drop_is_a_transport_error_for_the_aiohttp_transport(afas: Afas) -> None:
    # httpx-aiohttp maps every aiohttp connection error, a reset included, to ConnectTimeout.
    async with httpx_aiohttp.HttpxAiohttpClient(timeout=5) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(afas.url("unreachable", "/metainfo"), headers=afas.auth("unreachable"))


def test_garbage_on_metainfo_and_profitversion_only(afas: Afas) -> None:
    for path in ("/metainfo", "/profitversion", "/MetaInfo/get/SBQ_BTW"):
        response = afas.get("garbage", path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        with pytest.raises(ValueError):
            response.json()
    assert afas.get("garbage", "/connectors/SBQ_BTW").json()["take"] == 100


def test_flaky_fails_the_first_attempt_of_each_url_then_succeeds(afas: Afas) -> None:
    path = "/connectors/SBQ_BTW?take=3"
    with pytest.raises(httpx.TransportError):
        afas.get("flaky", path)
    assert afas.get("flaky", path).json()["take"] == 3
    assert afas.get("flaky", path).status_code == 200
    with pytest.raises(httpx.TransportError):  # another query string is another URL
        afas.get("flaky", "/connectors/SBQ_BTW?take=4")


@pytest.fixture(scope="module")
def faulty() -> Iterator[Afas]:
    environments = [
        {"name": "lag", "number": 1, "latency_ms": 200},
        {"name": "hang", "number": 2, "fault": "timeout", "timeout_seconds": 60},
        {"name": "hang-short", "number": 3, "fault": "timeout", "timeout_seconds": 0.2},
        {
            "name": "truncated",
            "number": 4,
            "fault": "garbage",
            "garbage_body": "truncated-json",
            "fault_paths": ["/connectors"],
        },
        {"name": "error", "number": 5, "fault": "error500", "language": "en-us"},
        {"name": "flaky-503", "number": 6, "flaky_first_attempts": 2, "flaky_fault": "503"},
        {"name": "drop-metainfo", "number": 7, "fault": "drop", "fault_paths": ["/metainfo"]},
        {
            "name": "flaky-truncated",
            "number": 8,
            "flaky_first_attempts": 1,
            "flaky_fault": "garbage",
            "garbage_body": "truncated-json",
        },
    ]
    with custom_afas(environments) as afas:
        yield afas


def test_latency_delays_every_answer(faulty: Afas) -> None:
    started = time.monotonic()
    assert faulty.get("lag", "/profitversion").status_code == 200
    assert time.monotonic() - started >= 0.19  # timers may wake a tick early


def test_timeout_fault_hangs_past_the_client_timeout(faulty: Afas) -> None:
    with pytest.raises(httpx.ReadTimeout):
        faulty.get("hang", "/metainfo", timeout=0.3)
    assert faulty.get("lag", "/profitversion").status_code == 200  # the loop is not blocked


def test_timeout_fault_ends_in_command_timeout_expired(faulty: Afas) -> None:
    response = faulty.get("hang-short", "/metainfo", headers={"Accept-Language": "en-us"})
    assert_afas_error(response, 500, "Command timeout expired.")


def test_truncated_json_garbage(faulty: Afas) -> None:
    response = faulty.get("truncated", "/connectors/SBQ_BTW")
    assert response.status_code == 200
    assert response.text.startswith('{"skip":0')
    with pytest.raises(ValueError):
        response.json()
    assert faulty.get("truncated", "/metainfo").json()["info"]


def test_error500_fault(faulty: Afas) -> None:
    response = faulty.get("error", "/profitversion")
    assert_afas_error(response, 500, "An unexpected error has occurred.")
    assert "x-trace-identifier" in response.headers


def test_flaky_503_then_success(faulty: Afas) -> None:
    first, second = (faulty.get("flaky-503", "/metainfo") for _ in range(2))
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json()["retry_after"] == 60
    assert faulty.get("flaky-503", "/metainfo").status_code == 200


def test_flaky_truncated_json_then_success(faulty: Afas) -> None:
    first = faulty.get("flaky-truncated", "/profitversion")
    assert first.status_code == 200
    with pytest.raises(ValueError):
        first.json()
    assert faulty.get("flaky-truncated", "/profitversion").json()["version"]


def test_fault_paths_restrict_faults(faulty: Afas) -> None:
    assert faulty.get("drop-metainfo", "/profitversion").status_code == 200
    assert faulty.get("drop-metainfo", "/connectors/SBQ_BTW").status_code == 200
    for path in ("/metainfo", "/METAINFO/update/KnSubject"):
        with pytest.raises(httpx.TransportError):
            faulty.get("drop-metainfo", path)


def test_server_stops_promptly_while_a_request_hangs() -> None:
    scenario = Scenario.model_validate(
        {"environments": [{"name": "hang", "number": 1, "fault": "timeout"}]}
    )
    server = SandboxServer(scenario).start()
    env = scenario.by_name("hang")
    with httpx.Client(timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.get(env.base_url(server.url_template) + "/metainfo")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3


def test_reset_forgets_flaky_attempts(sandbox: SandboxServer, afas: Afas) -> None:
    path = "/connectors/SBQ_BTW?take=7"
    with pytest.raises(httpx.TransportError):
        afas.get("flaky", path)
    assert afas.get("flaky", path).status_code == 200
    sandbox.reset()
    with pytest.raises(httpx.TransportError):
        afas.get("flaky", path)
