"""The AFAS client against the sandbox: outcomes, retries, limits, languages."""

from __future__ import annotations

import asyncio
import time

import pytest

from afas.client import TRANSPORTS, AfasClient, InvalidConnectorId
from afas.outcomes import OutcomeKind
from afas.sandbox.scenario import Scenario


def env_and_token(scenario: Scenario, name: str):
    env = scenario.by_name(name)
    return env.environment(), env.token()


async def test_metainfo_lists_connectors(client, scenario) -> None:
    outcome = await client.metainfo(*env_and_token(scenario, "healthy"))
    assert outcome.kind is OutcomeKind.OK
    ids = {c["id"] for c in outcome.data["getConnectors"]}
    assert "SBQ_Kostenplaasten_All" in ids
    assert outcome.attempts == 1


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("not-supported-500", "niet ondersteund"), ("english", "not supported")],
)
async def test_a_missing_connector_in_dutch_and_english(client, scenario, name, fragment) -> None:
    env, token = env_and_token(scenario, name)
    missing = "Precal_Landen" if name == "not-supported-500" else "CaseWare_Periods"
    outcome = await client.get_connector(env, token, missing, take=1)
    assert outcome.kind is OutcomeKind.CONNECTOR_NOT_AUTHORISED
    assert fragment in outcome.message
    assert outcome.profit_log_reference
    assert outcome.attempts == 1


async def test_a_missing_connector_401_variant(client, scenario) -> None:
    env, token = env_and_token(scenario, "missing-connectors")
    outcome = await client.get_connector(env, token, "SBQ_BTW", take=1)
    assert outcome.kind is OutcomeKind.CONNECTOR_NOT_AUTHORISED
    assert outcome.status == 401


async def test_blocked_definition_keeps_the_log_reference(client, scenario) -> None:
    env, token = env_and_token(scenario, "broken-definition")
    outcome = await client.get_connector(env, token, "SBQ_Transactie", take=1)
    assert outcome.kind is OutcomeKind.DEFINITION_BLOCKED
    assert outcome.profit_log_reference and len(outcome.profit_log_reference) == 32


async def test_accept_language_english_gets_english_texts(sandbox, scenario) -> None:
    env, token = env_and_token(scenario, "not-supported-500")
    async with AfasClient(url_template=sandbox.url_template, accept_language="en-us") as c:
        outcome = await c.get_connector(env, token, "Precal_Landen")
    assert outcome.kind is OutcomeKind.CONNECTOR_NOT_AUTHORISED
    assert "not supported" in outcome.message


async def test_401_and_403_are_never_retried(client, scenario) -> None:
    for name in ("revoked-token", "ip-restricted"):
        outcome = await client.metainfo(*env_and_token(scenario, name))
        assert outcome.attempts == 1
        assert outcome.kind in (OutcomeKind.TOKEN_REJECTED, OutcomeKind.IP_NOT_ALLOWED)


async def test_dropped_connections_are_retried_then_reported(client, scenario) -> None:
    outcome = await client.metainfo(*env_and_token(scenario, "unreachable"))
    assert outcome.kind is OutcomeKind.TRANSPORT_ERROR
    assert outcome.reason == "reset"
    assert outcome.attempts == 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_every_transport_classifies_the_same(sandbox, scenario, transport) -> None:
    async with AfasClient(url_template=sandbox.url_template, transport=transport) as c:
        ok = await c.metainfo(*env_and_token(scenario, "healthy"))
        dropped = await c.metainfo(*env_and_token(scenario, "unreachable"))
        garbage = await c.metainfo(*env_and_token(scenario, "garbage"))
    assert ok.kind is OutcomeKind.OK
    assert (dropped.kind, dropped.reason) == (OutcomeKind.TRANSPORT_ERROR, "reset")
    assert garbage.kind is OutcomeKind.MALFORMED_ANSWER


async def test_a_connection_refused_is_a_transport_error() -> None:
    template = "http://127.0.0.1:9/{host}/{env}/ProfitRestServices"
    from afas.environments import AfasEnvironment, EnvironmentKind
    from afas.tokens import AfasToken

    async with AfasClient(url_template=template, retries=0) as c:
        outcome = await c.metainfo(
            AfasEnvironment("1", EnvironmentKind.PRODUCTION), AfasToken("A" * 64)
        )
    assert (outcome.kind, outcome.reason) == (OutcomeKind.TRANSPORT_ERROR, "connect")


async def test_the_per_environment_limit_holds(sandbox, scenario) -> None:
    env, token = env_and_token(scenario, "slow")  # 1.5 s per answer
    async with AfasClient(url_template=sandbox.url_template, per_environment_limit=2) as c:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(c.profit_version(env, token) for _ in range(4)))
        elapsed = time.perf_counter() - started
    assert all(o.ok for o in outcomes)
    assert elapsed >= 2 * 1.5 * 0.95  # four calls, two at a time: at least two rounds


async def test_connector_ids_cannot_inject_paths(client, scenario) -> None:
    env, token = env_and_token(scenario, "healthy")
    for bad in ("../metainfo", "SBQ_BTW?take=-1", "a/b", "x" * 101, ""):
        with pytest.raises(InvalidConnectorId):
            await client.get_connector(env, token, bad)


async def test_a_503_is_retried_after_the_retry_after_afas_asks_for(scenario) -> None:
    """The sandbox's flaky 503 asks for retry_after 60: with a fake clock, the client waits
    exactly that long, then succeeds."""
    from afas.sandbox.scenario import scenario_from_dict
    from afas.sandbox.server import SandboxServer

    flaky = scenario_from_dict(
        {
            "environments": [
                {
                    "name": "flaky-503",
                    "number": 30001,
                    "flaky_first_attempts": 1,
                    "flaky_fault": "503",
                }
            ]
        }
    )
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    env = flaky.by_name("flaky-503")
    with SandboxServer(flaky) as server:
        async with AfasClient(
            url_template=server.url_template, sleep=fake_sleep, max_retry_after=120
        ) as c:
            outcome = await c.metainfo(env.environment(), env.token())
        async with AfasClient(url_template=server.url_template, sleep=fake_sleep) as c:
            server.reset()
            impatient = await c.metainfo(env.environment(), env.token())
    assert outcome.ok and outcome.attempts == 2
    assert slept == [60.0]
    assert impatient.kind is OutcomeKind.MAINTENANCE and impatient.attempts == 1


async def test_a_request_that_gets_no_answer_in_time_is_a_timeout() -> None:
    from afas.sandbox.scenario import scenario_from_dict
    from afas.sandbox.server import SandboxServer

    hanging = scenario_from_dict(
        {"environments": [{"name": "hanging", "number": 30002, "fault": "timeout"}]}
    )
    env = hanging.by_name("hanging")
    with SandboxServer(hanging) as server:
        async with AfasClient(
            url_template=server.url_template, timeout=0.3, retries=1, backoff_base=0.01
        ) as c:
            started = time.perf_counter()
            outcome = await c.metainfo(env.environment(), env.token())
            elapsed = time.perf_counter() - started
    assert (outcome.kind, outcome.reason) == (OutcomeKind.TRANSPORT_ERROR, "timeout")
    assert outcome.attempts == 2
    assert elapsed < 5  # the sandbox would hang for 120 s: the client's timeout ended it


async def test_a_busy_environment_does_not_hold_up_the_others(sandbox, scenario) -> None:
    """Requests queued behind their own environment's limit leave the global slots free."""
    slow_env, slow_token = env_and_token(scenario, "slow")  # 1.5 s per answer
    fast_env, fast_token = env_and_token(scenario, "healthy")
    async with AfasClient(
        url_template=sandbox.url_template, per_environment_limit=2, total_limit=4
    ) as c:
        backlog = [asyncio.create_task(c.profit_version(slow_env, slow_token)) for _ in range(8)]
        await asyncio.sleep(0.1)  # the backlog has taken what it can
        started = time.perf_counter()
        fast = await c.profit_version(fast_env, fast_token)
        waited = time.perf_counter() - started
        for task in backlog:
            task.cancel()
        await asyncio.gather(*backlog, return_exceptions=True)
    assert fast.ok
    assert waited < 1.0  # not behind a 1.5 s answer of the busy environment
