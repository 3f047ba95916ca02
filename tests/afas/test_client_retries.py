"""The client's retry policy, one loop for every transport: only idempotent requests, only
transport errors and short maintenance, full-jitter exponential backoff with a cap, AFAS's
own ``retry_after`` when it is short enough, at most ``retries + 1`` attempts, each counted.
The waits go through the client's injectable ``sleep``; nothing here really waits."""

from __future__ import annotations

import asyncio
import json

import pytest

from afas.client import AfasClient
from afas.environments import AfasEnvironment, EnvironmentKind
from afas.outcomes import OutcomeKind
from afas.tokens import AfasToken

from .raw_http import RawRequest, RawServer, response

ENV = AfasEnvironment("12345", EnvironmentKind.PRODUCTION)
TOKEN = AfasToken("D00D" * 16)


class Waits:
    """The client's ``sleep``: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def dropped(request: RawRequest) -> None:
    return None


def answering(status: int, body: dict | None = None, **headers: str):
    payload = json.dumps(body).encode() if body is not None else b""

    async def answer(request: RawRequest) -> bytes:
        return response(status, payload, headers=headers)

    return answer


@pytest.mark.parametrize("retries", [0, 1, 3])
async def test_a_failing_request_takes_retries_plus_one_attempts(retries: int) -> None:
    waits = Waits()
    async with (
        RawServer(dropped) as server,
        AfasClient(url_template=server.url_template, retries=retries, sleep=waits) as client,
    ):
        outcome = await client.profit_version(ENV, TOKEN)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.TRANSPORT_ERROR, "reset")
    assert outcome.attempts == retries + 1 == len(server.requests)
    assert len(waits.waits) == retries  # a wait between attempts, none after the last


async def test_the_backoff_is_full_jitter_exponential_and_capped() -> None:
    """Wait n (from 1) is uniform in [0, min(cap, base × 2^(n-1))]: 0.1, 0.2, then the cap."""
    waits = Waits()
    samples = 40
    async with (
        RawServer(dropped) as server,
        AfasClient(
            url_template=server.url_template,
            retries=4,
            backoff_base=0.1,
            backoff_cap=0.25,
            sleep=waits,
        ) as client,
    ):
        for _ in range(samples):
            assert (await client.profit_version(ENV, TOKEN)).attempts == 5
    by_attempt = [waits.waits[n::4] for n in range(4)]
    ceilings = [0.1, 0.2, 0.25, 0.25]
    for waited, ceiling in zip(by_attempt, ceilings, strict=True):
        assert len(waited) == samples
        assert all(0 <= w <= ceiling for w in waited)
        # Jitter, not a fixed delay: the samples spread over the range (a chance of about
        # 1e-9 that 40 uniform draws all stay under 60 % of it).
        assert max(waited) > 0.6 * ceiling
        assert len(set(waited)) > samples // 2


async def test_a_success_after_a_failure_ends_the_retries_and_counts_both() -> None:
    answers = iter([None, response(200, b'{"version": "22.1"}')])

    async def once_dropped(request: RawRequest) -> bytes | None:
        return next(answers)

    waits = Waits()
    async with (
        RawServer(once_dropped) as server,
        AfasClient(url_template=server.url_template, retries=3, sleep=waits) as client,
    ):
        outcome = await client.profit_version(ENV, TOKEN)
    assert outcome.ok and outcome.data == {"version": "22.1"}
    assert outcome.attempts == 2 == len(server.requests)
    assert len(waits.waits) == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, OutcomeKind.TOKEN_REJECTED),
        (403, OutcomeKind.IP_NOT_ALLOWED),
        (404, OutcomeKind.NOT_FOUND),
        (500, OutcomeKind.FUNCTIONAL_ERROR),
        (200, OutcomeKind.MALFORMED_ANSWER),
    ],
)
async def test_answers_that_another_attempt_would_not_change_are_not_retried(
    status: int, kind: OutcomeKind
) -> None:
    async def answer(request: RawRequest) -> bytes:
        body = b"<html>proxy</html>" if status == 200 else b'{"externalMessage": "Nee"}'
        return response(status, body)

    waits = Waits()
    async with (
        RawServer(answer) as server,
        AfasClient(url_template=server.url_template, sleep=waits) as client,
    ):
        outcome = await client.metainfo(ENV, TOKEN)
    assert (outcome.kind, outcome.attempts) == (kind, 1)
    assert len(server.requests) == 1 and waits.waits == []


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_error_is_retried_like_a_dropped_connection(status: int) -> None:
    waits = Waits()
    async with (
        RawServer(answering(status)) as server,
        AfasClient(url_template=server.url_template, retries=2, sleep=waits) as client,
    ):
        outcome = await client.metainfo(ENV, TOKEN)
    assert (outcome.kind, outcome.reason, outcome.attempts) == (
        OutcomeKind.TRANSPORT_ERROR,
        "gateway",
        3,
    )
    assert len(waits.waits) == 2 and all(w <= 0.4 for w in waits.waits)


async def test_maintenance_waits_for_a_short_retry_after_and_gives_up_on_a_long_one() -> None:
    short = answering(503, {"error": {"message": "onderhoud"}, "retry_after": 3})
    long = answering(503, {"error": {"message": "onderhoud"}, "retry_after": 3600})
    unsaid = answering(503, {"error": {"message": "onderhoud"}})
    results = {}
    for name, answer in (("short", short), ("long", long), ("unsaid", unsaid)):
        waits = Waits()
        async with (
            RawServer(answer) as server,
            AfasClient(
                url_template=server.url_template,
                retries=2,
                max_retry_after=10,
                backoff_base=0.1,
                sleep=waits,
            ) as client,
        ):
            outcome = await client.profit_version(ENV, TOKEN)
        assert outcome.kind is OutcomeKind.MAINTENANCE
        results[name] = (outcome.attempts, len(server.requests), waits.waits)
    assert results["short"] == (3, 3, [3.0, 3.0])  # AFAS's own wait wins over the backoff
    assert results["long"] == (1, 1, [])  # an hour is the scheduler's business, not a retry's
    attempts, requests, waited = results["unsaid"]  # no retry_after: the usual backoff
    assert attempts == requests == 3
    assert len(waited) == 2 and waited[0] <= 0.1 and waited[1] <= 0.2


async def test_a_retry_after_in_the_header_counts_too() -> None:
    waits = Waits()
    answer = answering(503, {"error": {"message": "busy"}}, **{"Retry-After": "2"})
    async with (
        RawServer(answer) as server,
        AfasClient(url_template=server.url_template, retries=1, sleep=waits) as client,
    ):
        outcome = await client.profit_version(ENV, TOKEN)
    assert (outcome.attempts, outcome.retry_after, waits.waits) == (2, 2.0, [2.0])


async def test_a_cancelled_request_stops_in_its_wait_and_sends_nothing_more() -> None:
    waiting = asyncio.Event()

    async def forever(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()

    async with (
        RawServer(dropped) as server,
        AfasClient(url_template=server.url_template, retries=5, sleep=forever) as client,
    ):
        task = asyncio.create_task(client.profit_version(ENV, TOKEN))
        await asyncio.wait_for(waiting.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(server.requests) == 1
