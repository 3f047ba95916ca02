"""AFAS down for many orgs: one platform notice instead of an alert per org; one org down on
its own still alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from bot.alerting.delivery import Delivery, drain_outbox
from bot.alerting.platform import PlatformPolicy, PlatformView
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.models import Incident, Org, OutboxMessage
from storage.repository import add_org
from tests.fakes.slack import SlackWebApiFake

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NAMES = ["p1", "p2", "p3", "p4"]


@pytest.mark.parametrize(
    ("checked", "unreachable", "down"),
    [(4, 3, True), (4, 2, False), (10, 4, False), (2, 2, False), (6, 3, True)],
)
def test_the_verdict(checked, unreachable, down) -> None:
    view = PlatformView(checked=checked, unreachable=tuple(f"o{i}" for i in range(unreachable)))
    assert view.down(PlatformPolicy()) is down


@pytest.fixture
def fleet() -> Iterator[SandboxServer]:
    environments = [{"name": name, "number": 50001 + i} for i, name in enumerate(NAMES)]
    with SandboxServer(scenario_from_dict({"environments": environments})) as server:
        yield server


@pytest.fixture
def fleet_runtime(make_runtime, fleet):
    runtime = make_runtime(fleet.url_template, afas_retries=0)
    with runtime.session() as session:
        for name in NAMES:
            env = fleet.scenario.by_name(name)
            add_org(
                session,
                key=name,
                display_name=name.upper(),
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
                alert_channel="C0ALERTS",
                now=T0,
            )
    return runtime


async def check_all_at(runtime, moment: datetime) -> None:
    with runtime.session() as session:
        for org in session.exec(select(Org)):
            org.next_check_at = moment
    async with runtime.afas_client() as afas:
        await sweep(runtime, afas, owner="replica-a", now=moment)


def kinds(runtime) -> list[str]:
    with runtime.session() as session:
        return [m.kind for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]


def incidents(runtime) -> list[int]:
    with runtime.session() as session:
        return list(session.exec(select(Incident.org_id)))


def drop(fleet: SandboxServer, names: list[str], fault: str = "drop") -> None:
    for name in names:
        fleet.scenario.by_name(name).fault = fault


async def test_afas_down_for_all_is_one_platform_notice(fleet_runtime, fleet) -> None:
    await check_all_at(fleet_runtime, T0)
    drop(fleet, NAMES)
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=15))
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=30))
    assert kinds(fleet_runtime) == ["platform.down"]
    assert incidents(fleet_runtime) == []  # no alert per org
    with SlackWebApiFake() as slack:
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        delivery = Delivery(language="en", default_channel="C0GENERAL")
        await drain_outbox(
            fleet_runtime, client, delivery, owner="a", now=T0 + timedelta(minutes=30)
        )
        (notice,) = slack.messages("C0GENERAL")
        assert "AFAS itself seems unreachable: 4 of 4 orgs" in notice["text"]
        assert slack.messages("C0ALERTS") == []
        drop(fleet, NAMES, fault="none")
        await check_all_at(fleet_runtime, T0 + timedelta(minutes=45))
        await drain_outbox(
            fleet_runtime, client, delivery, owner="a", now=T0 + timedelta(minutes=45)
        )
        assert (
            "AFAS answers again (the outage lasted 30 min)"
            in slack.messages("C0GENERAL")[-1]["text"]
        )
    assert kinds(fleet_runtime) == ["platform.down", "platform.up"]


async def test_one_org_unreachable_on_its_own_still_alerts(fleet_runtime, fleet) -> None:
    await check_all_at(fleet_runtime, T0)
    drop(fleet, ["p2"])
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=15))
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=30))
    assert kinds(fleet_runtime) == ["incident.opened"]
    assert len(incidents(fleet_runtime)) == 1


async def test_setup_failures_alert_even_while_afas_is_down(fleet_runtime, fleet) -> None:
    await check_all_at(fleet_runtime, T0)
    drop(fleet, ["p1", "p2", "p3"])
    fleet.scenario.by_name("p4").app_connector.get_connectors.remove("SBQ_BTW")
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=15))
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=30))
    assert sorted(kinds(fleet_runtime)) == ["incident.opened", "platform.down"]
    with fleet_runtime.session() as session:
        (org_id,) = incidents(fleet_runtime)
        assert session.get(Org, org_id).key == "p4"
