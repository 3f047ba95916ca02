"""The bot's own network: when no AFAS environment answers at all (and the canary does not
either), the replica says so once, about itself, and checks nothing until it is back; then it
says that once and sweeps again. Nothing about the orgs, no platform notice."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from afas.sandbox.server import SandboxServer, url_template_for
from bot.alerting.connectivity import BOT_OFFLINE, BOT_ONLINE, Connectivity
from bot.sweep import sweep
from storage.models import CheckRun, Incident, Org, OutboxMessage
from storage.repository import add_org

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HEALTHY = ("healthy", "test-environment", "token-expiring")


def free_port() -> int:
    """A port nothing listens on (connections to it are refused: no network to AFAS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def register(runtime, scenario, names) -> None:
    with runtime.session() as session:
        for name in names:
            env = scenario.by_name(name)
            add_org(
                session,
                key=name,
                display_name=name,
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
                now=NOW,
            ).org.next_check_at = NOW


def all_due(runtime, at: datetime) -> None:
    with runtime.session() as session:
        for org in session.exec(select(Org)):
            org.next_check_at = at
            session.add(org)


def outbox(runtime) -> list[str]:
    with runtime.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id))
        return [m.kind for m in rows if not m.kind.startswith("warning.")]  # about the orgs


def count(runtime, table) -> int:
    with runtime.session() as session:
        return len(session.exec(select(table)).all())


def connectivity(runtime, *, canary: str | None = None) -> Connectivity:
    return Connectivity(
        replica="replica-a",
        canary_url=canary,
        min_environments=3,
        url_template=runtime.settings.afas_url_template,
    )


def names_in(scenario) -> tuple[str, ...]:
    return HEALTHY


async def test_no_network_is_said_once_about_the_bot_and_pauses_checks(
    make_runtime, scenario
) -> None:
    port = free_port()
    runtime = make_runtime(url_template_for("127.0.0.1", port), afas_retries=0)
    names = names_in(scenario)
    register(runtime, scenario, names)
    guard = connectivity(runtime)
    async with runtime.afas_client() as client:
        first = await sweep(runtime, client, owner="replica-a", now=NOW, connectivity=guard)
        assert first.offline and guard.offline
        runs_when_found = count(runtime, CheckRun)
        for minutes in (1, 2, 3):  # still no network: nothing checked, nothing said again
            all_due(runtime, NOW)
            later = NOW + timedelta(minutes=minutes)
            result = await sweep(runtime, client, owner="replica-a", now=later, connectivity=guard)
            assert result.offline and result.checked == ()
        assert count(runtime, CheckRun) == runs_when_found
        assert outbox(runtime) == [BOT_OFFLINE]

        with SandboxServer(scenario, port=port):  # the network is back
            all_due(runtime, NOW + timedelta(minutes=5))
            back = await sweep(
                runtime,
                client,
                owner="replica-a",
                now=NOW + timedelta(minutes=5),
                connectivity=guard,
            )
    assert not back.offline and not guard.offline
    assert sorted(back.checked) == sorted(names)
    assert outbox(runtime) == [BOT_OFFLINE, BOT_ONLINE]  # no org alert, no platform notice
    assert count(runtime, Incident) == 0


async def test_with_a_canary_that_answers_it_is_not_the_bots_network(
    make_runtime, scenario, sandbox
) -> None:
    runtime = make_runtime(url_template_for("127.0.0.1", free_port()), afas_retries=0)
    register(runtime, scenario, names_in(scenario))
    guard = connectivity(runtime, canary=sandbox.base_url(names_in(scenario)[0]))
    async with runtime.afas_client() as client:
        result = await sweep(runtime, client, owner="replica-a", now=NOW, connectivity=guard)
    assert not result.offline and not guard.offline
    assert BOT_OFFLINE not in outbox(runtime)


async def test_with_a_dead_canary_one_silent_environment_is_enough(make_runtime, scenario) -> None:
    port = free_port()
    runtime = make_runtime(url_template_for("127.0.0.1", port), afas_retries=0)
    register(runtime, scenario, names_in(scenario)[:1])
    guard = connectivity(runtime, canary=f"http://127.0.0.1:{free_port()}/")
    async with runtime.afas_client() as client:
        result = await sweep(runtime, client, owner="replica-a", now=NOW, connectivity=guard)
    assert result.offline
    assert outbox(runtime) == [BOT_OFFLINE]


async def test_without_a_canary_one_silent_environment_is_that_orgs_problem(
    make_runtime, scenario
) -> None:
    runtime = make_runtime(url_template_for("127.0.0.1", free_port()), afas_retries=0)
    register(runtime, scenario, names_in(scenario)[:1])
    guard = connectivity(runtime)
    async with runtime.afas_client() as client:
        result = await sweep(runtime, client, owner="replica-a", now=NOW, connectivity=guard)
    assert not result.offline and not guard.offline
    assert BOT_OFFLINE not in outbox(runtime)
