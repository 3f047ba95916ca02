"""AFAS misbehaving during scheduled sweeps over 100 orgs: a fifth of them answer with errors,
time out, drop the connection, send garbage or stall for 10 s, with a short AFAS timeout.

No sweep crashes, every org is checked (or left leased, to be retried later), a stall costs its
org the timeout and not the sweep, and a single transient failure alerts nobody: the alert
policy opens an incident after two consecutive bad checks, so one faulty sweep followed by a
good one leaves no incident and no outbox message. The control case shows the same faults
twice in a row do alert, each org once, so the silence above is the policy's and not a
blind spot of the test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from afas.sandbox.scenario import Scenario, generate_environments
from afas.sandbox.server import SandboxServer
from bot.alerting.delivery import Delivery
from bot.process import AlertSender, BotProcess
from bot.slack.app import web_client
from storage.models import CheckRun, Incident, Org, OutboxMessage
from storage.repository import add_org, schedule_check
from tests.reliability.conftest import BOT_TOKEN

ORGS = 100
AFAS_TIMEOUT = 1.0
#: A sweep through every fault must end well before the stalls would: each stalled request
#: costs its org the timeout and its retries, never the 10 s of the stall.
SWEEP_BOUND_SECONDS = 25.0
STALL_SECONDS = 10.0
#: One fifth of the orgs, each given one of these standing faults (in turn).
FAULTS = ("error500", "timeout", "drop", "garbage-html", "garbage-json", "stall")
#: The same orgs failing only on the first attempt of each URL, in these ways.
FLAKY = ("drop", "503", "error500", "garbage")


@pytest.fixture(scope="module")
def many() -> Iterator[SandboxServer]:
    """100 healthy AFAS environments on one sandbox (settings are read per request, so a test
    breaks and mends them while it runs)."""
    scenario = Scenario(environments=generate_environments(ORGS, mix="healthy", start_number=60001))
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
def sandbox_faults(many: SandboxServer) -> Iterator[SandboxServer]:
    mend(many)
    yield many
    mend(many)


def faulty(sandbox: SandboxServer) -> list:
    """Every fifth environment: 20 of 100."""
    return sandbox.scenario.environments[::5]


def mend(sandbox: SandboxServer) -> None:
    for env in sandbox.scenario.environments:
        env.fault, env.latency_ms, env.flaky_first_attempts = "none", 0, 0
        env.timeout_seconds, env.garbage_body = 120.0, "html"
    sandbox.reset()


def break_with_faults(sandbox: SandboxServer) -> dict[str, str]:
    """Standing faults on a fifth of the orgs; which org has which."""
    given = {}
    for i, env in enumerate(faulty(sandbox)):
        kind = FAULTS[i % len(FAULTS)]
        if kind == "stall":
            env.latency_ms = int(STALL_SECONDS * 1000)
        elif kind.startswith("garbage"):
            env.fault, env.garbage_body = (
                "garbage",
                "html" if kind.endswith("html") else ("truncated-json"),
            )
        else:
            env.fault = kind
            env.timeout_seconds = STALL_SECONDS  # "timeout": 10 s of silence, then a 500
        given[env.name] = kind
    return given


def break_flakily(sandbox: SandboxServer) -> dict[str, str]:
    given = {}
    for i, env in enumerate(faulty(sandbox)):
        env.flaky_first_attempts, env.flaky_fault = 1, FLAKY[i % len(FLAKY)]
        given[env.name] = env.flaky_fault
    return given


@pytest.fixture
def bot(make_runtime, sqlite_url, sandbox_faults, slack, logs, secrets):
    """The bot's process (sweep and outbox sender) on 100 registered orgs, each alerting to
    its own channel, with a short AFAS timeout."""
    secrets.add_scenario(sandbox_faults.scenario)
    runtime = make_runtime(
        sqlite_url,
        sandbox_faults.url_template,
        afas_timeout_seconds=AFAS_TIMEOUT,
        check_concurrency=16,
    )
    slack.add_channel("C0ALERTS", "alerts", is_member=True)
    with runtime.session() as session:
        for env in sandbox_faults.scenario.environments:
            add_org(
                session,
                key=env.name,
                display_name=env.name,
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
                alert_channel="C0ALERTS",
            )
    return runtime


class Sweeps:
    """``BotProcess.sweep_once`` as the scheduler fires it (a sweep, then the outbox), each
    bounded in time; between sweeps every org is made due again, as time passing would."""

    def __init__(self, runtime, slack) -> None:
        self.runtime = runtime
        self.alerts = AlertSender(
            web_client(BOT_TOKEN, base_url=slack.url, retry_rate_limits=False),
            Delivery(language="nl", default_channel=None),
        )
        self.durations: list[float] = []

    async def once(self, process: BotProcess) -> None:
        started = time.monotonic()
        await asyncio.wait_for(process.sweep_once(), SWEEP_BOUND_SECONDS)
        self.durations.append(time.monotonic() - started)

    def all_due(self) -> None:
        with self.runtime.session() as session:
            for org in session.exec(select(Org)):
                schedule_check(session, org.id, at=datetime.now(UTC))


def runs(runtime) -> dict[str, list[str]]:
    """Each org's recorded states, oldest first."""
    with runtime.session() as session:
        rows = session.exec(
            select(Org.key, CheckRun.overall_state).join(Org).order_by(CheckRun.id)
        ).all()
        found: dict[str, list[str]] = {o.key: [] for o in session.exec(select(Org))}
    for key, state in rows:
        found[key].append(state)
    return found


def alerts(runtime) -> tuple[list[Incident], list[OutboxMessage]]:
    with runtime.session() as session:
        return list(session.exec(select(Incident))), list(session.exec(select(OutboxMessage)))


def leased(runtime) -> list[str]:
    with runtime.session() as session:
        return [o.key for o in session.exec(select(Org)) if o.lease_owner is not None]


async def run_two_sweeps(runtime, slack, breaker, *, mend_between: bool):
    """Sweep with faults, then again (mended, or not); what each org recorded."""
    sweeps = Sweeps(runtime, slack)
    async with runtime.afas_client() as client:
        process = BotProcess(runtime, client, owner="replica-a", alerts=sweeps.alerts)
        await sweeps.once(process)
        first = runs(runtime)
        if mend_between:
            mend(breaker)
        sweeps.all_due()
        await sweeps.once(process)
    return sweeps, first, runs(runtime)


async def test_one_sweep_through_every_fault_crashes_nothing_and_alerts_nobody(
    bot, sandbox_faults, slack, logs
) -> None:
    given = break_with_faults(sandbox_faults)
    sweeps, first, second = await run_two_sweeps(bot, slack, sandbox_faults, mend_between=True)

    # Every org was checked in the faulty sweep, the faulty ones recorded as such.
    assert all(len(states) == 1 for states in first.values()), first
    for key, states in first.items():
        if key in given:
            assert states[0] in ("unreachable", "failing"), (key, given[key], states)
        else:
            assert states == ["healthy"], (key, states)
    # The stalls cost their orgs the timeout, never the sweep the 10 s.
    assert sweeps.durations[0] < STALL_SECONDS, sweeps.durations
    # Then every org again, healthy, and nobody was alerted by a fault that did not repeat.
    assert all(states[1:] == ["healthy"] for states in second.values()), second
    assert alerts(bot) == ([], [])
    assert slack.calls("chat.postMessage") == []
    assert leased(bot) == []
    assert logs.at_least("ERROR") == []  # nothing crashed, nothing was logged as crashing


async def test_faults_on_first_attempts_are_retried_or_recorded_and_alert_nobody(
    bot, sandbox_faults, slack, logs
) -> None:
    given = break_flakily(sandbox_faults)
    _sweeps, first, second = await run_two_sweeps(bot, slack, sandbox_faults, mend_between=False)
    assert all(len(states) == 1 for states in first.values())
    for key, fault in given.items():  # a dropped connection is retried: nobody notices
        if fault == "drop":
            assert first[key] == ["healthy"], (key, first[key])
    assert all(states[-1] == "healthy" for states in second.values()), second
    assert alerts(bot) == ([], [])
    assert slack.calls("chat.postMessage") == []
    assert logs.at_least("ERROR") == []


async def test_the_same_faults_twice_in_a_row_alert_each_org_once(
    bot, sandbox_faults, slack, logs
) -> None:
    """The control: two bad checks in a row open one incident per faulty org, posted once."""
    given = break_with_faults(sandbox_faults)
    _sweeps, _first, second = await run_two_sweeps(bot, slack, sandbox_faults, mend_between=False)
    incidents, outbox = alerts(bot)
    with bot.session() as session:
        opened_for = sorted(session.get(Org, i.org_id).key for i in incidents)
    assert opened_for == sorted(given)
    assert sorted(m.kind for m in outbox) == ["incident.opened"] * len(given)
    assert all(m.sent_at is not None for m in outbox)
    posted = slack.calls("chat.postMessage")
    assert len(posted) == len(given)  # one alert per org, none twice
    assert all(states == ["healthy", "healthy"] for k, states in second.items() if k not in given)
