"""AFAS down for many orgs: one platform notice instead of an alert per org, the orgs'
incidents held (recorded, not announced) and released when AFAS answers again: still broken,
they alert as usual; working again, they close without a word. One org down on its own still
alerts; the platform incident is one across replicas."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from bot.alerting import platform as platform_module
from bot.alerting.delivery import Delivery, drain_outbox
from bot.alerting.messages import PlatformDown, read_message
from bot.alerting.platform import PlatformPolicy, PlatformView, update_platform
from bot.settings import Settings
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.models import Incident, Org, OutboxMessage
from storage.repository import add_org, record_check_run
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


def test_the_thresholds_are_settings() -> None:
    settings = Settings(
        _env_file=None, platform_min_orgs=5, platform_share=0.8, platform_window_minutes=45
    )
    policy = PlatformPolicy.from_settings(settings)
    assert policy == PlatformPolicy(min_orgs=5, share=0.8, window=timedelta(minutes=45))
    view = PlatformView(checked=6, unreachable=("a", "b", "c", "d"))
    assert view.down(PlatformPolicy()) and not view.down(policy)  # 4 < 5 orgs


@pytest.fixture
def fleet() -> Iterator[SandboxServer]:
    environments = [{"name": name, "number": 50001 + i} for i, name in enumerate(NAMES)]
    with SandboxServer(scenario_from_dict({"environments": environments})) as server:
        yield server


@pytest.fixture
def fleet_runtime(make_runtime, fleet):
    runtime = make_runtime(fleet.url_template, afas_retries=0, slack_ops_channel="C0OPS")
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


def incident_rows(runtime) -> dict[str, Incident]:
    """Every incident by its org's key (one each in these tests)."""
    with runtime.session() as session:
        rows = session.exec(select(Incident, Org.key).join(Org, Org.id == Incident.org_id))
        return {key: incident for incident, key in rows}


def drop(fleet: SandboxServer, names: list[str], fault: str = "drop") -> None:
    for name in names:
        fleet.scenario.by_name(name).fault = fault


async def test_afas_down_for_all_is_one_platform_notice(fleet_runtime, fleet) -> None:
    await check_all_at(fleet_runtime, T0)
    drop(fleet, NAMES)
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=15))
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=30))
    assert kinds(fleet_runtime) == ["platform.down"]  # no alert per org
    held = incident_rows(fleet_runtime)
    assert sorted(held) == NAMES  # but each org's incident is recorded, held
    assert {(i.held, i.announced_at, i.cause) for i in held.values()} == {
        ("platform", None, "afas_unreachable")
    }
    with SlackWebApiFake() as slack:
        slack.add_channel("C0OPS", "afas-ops")
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        delivery = Delivery(language="en", default_channel="C0GENERAL")
        await drain_outbox(
            fleet_runtime, client, delivery, owner="a", now=T0 + timedelta(minutes=30)
        )
        (notice,) = slack.messages("C0OPS")  # the ops channel (AFASBOT_SLACK_OPS_CHANNEL)
        assert "AFAS itself seems unreachable: 4 of 4 orgs" in notice["text"]
        assert slack.messages("C0ALERTS") == []
        drop(fleet, NAMES, fault="none")
        await check_all_at(fleet_runtime, T0 + timedelta(minutes=45))
        await drain_outbox(
            fleet_runtime, client, delivery, owner="a", now=T0 + timedelta(minutes=45)
        )
        assert (
            "AFAS answers again (the outage lasted 30 min)" in slack.messages("C0OPS")[-1]["text"]
        )
    assert kinds(fleet_runtime) == ["platform.down", "platform.up"]
    # AFAS answers again and every org works: their incidents closed without a word.
    closed = incident_rows(fleet_runtime)
    assert {i.closed_at for i in closed.values()} == {T0 + timedelta(minutes=45)}
    assert {i.announced_at for i in closed.values()} == {None}


async def test_orgs_still_broken_after_the_outage_alert_as_usual(fleet_runtime, fleet) -> None:
    await check_all_at(fleet_runtime, T0)
    drop(fleet, NAMES)
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=15))
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=30))  # incidents open, held
    drop(fleet, ["p1", "p2"], fault="none")  # AFAS is back; p3 and p4 stay broken
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=45))
    assert kinds(fleet_runtime) == ["platform.down", "platform.up"]
    rows = incident_rows(fleet_runtime)
    assert {key for key, i in rows.items() if i.closed_at is None} == {"p3", "p4"}
    assert {rows[key].held for key in ("p3", "p4")} == {"platform"}  # held until AFAS is up
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=60))  # the next check releases
    assert kinds(fleet_runtime) == [
        "platform.down",
        "platform.up",
        "incident.opened",
        "incident.opened",
    ]
    rows = incident_rows(fleet_runtime)
    for key in ("p3", "p4"):
        assert rows[key].held is None
        assert rows[key].announced_at == T0 + timedelta(minutes=60)
        assert rows[key].opened_at == T0 + timedelta(minutes=30)  # the true time
    with SlackWebApiFake() as slack:
        slack.add_channel("C0OPS", "afas-ops")
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        delivery = Delivery(language="en", default_channel="C0GENERAL")
        await drain_outbox(
            fleet_runtime, client, delivery, owner="a", now=T0 + timedelta(minutes=60)
        )
        assert len(slack.messages("C0OPS")) == 2  # down, up
        alerts = slack.messages("C0ALERTS")
        assert len(alerts) == 2  # p3 and p4, nobody else
        for alert in alerts:
            text = json.dumps(alert["blocks"], ensure_ascii=False)
            assert "opened 2026-11-26 10:30 CET, while AFAS was unreachable for many orgs" in text
            assert "since 2026-11-26 10:30 CET" in text
            assert "*Cause:* AFAS unreachable" in text
        assert {"P3 (p3) is broken", "P4 (p4) is broken"} == {a["text"] for a in alerts}


async def test_the_platform_notice_goes_to_the_ops_channel(fleet_runtime, fleet) -> None:
    await check_all_at(fleet_runtime, T0)
    drop(fleet, NAMES)
    await check_all_at(fleet_runtime, T0 + timedelta(minutes=15))
    with fleet_runtime.session() as session:
        (row,) = session.exec(select(OutboxMessage))
        notice = read_message(row.kind, row.payload)
    assert isinstance(notice, PlatformDown) and notice.channel == "C0OPS"  # as it was written
    with SlackWebApiFake() as slack:
        slack.add_channel("C0OPS", "afas-ops")
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        delivery = Delivery(language="nl", default_channel="C0GENERAL")
        await drain_outbox(
            fleet_runtime, client, delivery, owner="a", now=T0 + timedelta(minutes=15)
        )
        (posted,) = slack.messages("C0OPS")
        assert "AFAS lijkt zelf onbereikbaar: 4 van de 4 organisaties" in posted["text"]
        assert slack.messages("C0GENERAL") == []


async def test_two_replicas_that_see_afas_go_down_at_once_write_one_notice(
    fleet_runtime, monkeypatch
) -> None:
    with fleet_runtime.session() as session:
        for org in session.exec(select(Org)):
            record_check_run(
                session,
                org,
                trigger="schedule",
                started_at=T0,
                duration_ms=5,
                overall_state="unreachable",
                items=[],
                summary="unreachable",
            )
    # Both replicas read "no platform notice yet" before either writes its own.
    both_read = threading.Barrier(2, timeout=10)
    read_last = platform_module.latest_outbox_message

    def latest_then_wait(session, **kwargs):
        last = read_last(session, **kwargs)
        both_read.wait()
        return last

    monkeypatch.setattr(platform_module, "latest_outbox_message", latest_then_wait)
    written: list[str | None] = []

    def replica(seconds: int) -> None:  # each sweeps at its own time
        with fleet_runtime.session() as session:
            written.append(
                update_platform(
                    session, now=T0 + timedelta(seconds=seconds), policy=PlatformPolicy()
                )
            )

    threads = [threading.Thread(target=replica, args=(seconds,)) for seconds in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(map(str, written)) == ["None", "platform.down"]  # one wrote, one found it
    assert kinds(fleet_runtime) == ["platform.down"]
    with fleet_runtime.session() as session:
        (row,) = session.exec(select(OutboxMessage))
        assert row.dedup_key == "platform:down:after:0"


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
    rows = incident_rows(fleet_runtime)
    assert rows["p4"].held is None and rows["p4"].cause == "connectors_missing"  # announced
    assert {rows[key].held for key in ("p1", "p2", "p3")} == {"platform"}
