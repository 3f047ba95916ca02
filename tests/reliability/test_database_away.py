"""PostgreSQL going away under the bot: its connections terminated (as a restart or a failover
does) while a sweep records its checks and while the outbox is delivered, or the database
refusing connections for a while.

The bot recovers by itself (the next sweep or drain works, nobody restarts it), loses nothing
(every due org is checked, every alert is delivered) and sends nothing twice (the Slack fake
sees each alert posted once), also when the database goes away right after Slack accepted an
alert: the resend finds the alert in Slack by its outbox id (message metadata) and remembers
its ts instead of posting it again (issue 10 §6).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.alerting.delivery import Delivery, drain_outbox
from bot.health import Readiness
from bot.process import AlertSender, BotProcess
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.models import CheckRun, Incident, Org, OutboxMessage
from storage.repository import add_org, schedule_check
from tests.fakes.slack import http_app
from tests.reliability.conftest import BOT_TOKEN, CASE_SECONDS, PostgresDatabase

pytestmark = pytest.mark.postgres

#: Orgs whose check fails (an incident opens on the second bad check) and orgs that pass.
BROKEN = ("missing-connectors", "near-miss", "revoked-token", "english", "test-token-as-production")
FINE = ("healthy", "token-expiring", "broken-definition")
LEASE_SECONDS = 60.0
T0 = datetime.now(UTC).replace(microsecond=0)
DELIVERY = Delivery(language="nl", default_channel=None)
#: Where the test's clock stands while it delivers: Slack's timestamps agree with it, so that a
#: resend reading the channel back from a little before the alert was written finds it.
DELIVERED_AT = T0 + timedelta(minutes=15)


@dataclass
class Outage:
    """Takes the test's database away and gives it back, from separate admin connections."""

    db: PostgresDatabase
    maintenance: psycopg.Connection  # to the ``postgres`` database

    def __post_init__(self) -> None:
        self.admin = self.db.connect()  # opened now: it outlives the refusal of new ones

    def cut(self) -> int:
        """End every connection the bot holds; new ones still work."""
        return self.db.terminate_others(self.admin)

    def away(self) -> None:
        """Refuse new connections, then end the existing ones."""
        self.maintenance.execute(f'ALTER DATABASE "{self.db.name}" WITH ALLOW_CONNECTIONS false')
        self.cut()

    def back(self) -> None:
        self.maintenance.execute(f'ALTER DATABASE "{self.db.name}" WITH ALLOW_CONNECTIONS true')

    def waiting_on_locks(self) -> int:
        return self.admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()[0]

    def close(self) -> None:
        self.back()
        self.admin.close()


@pytest.fixture
def outage(postgres_db, postgres_admin) -> Iterator[Outage]:
    taken = Outage(postgres_db, postgres_admin)
    yield taken
    taken.close()


@pytest.fixture
def runtime(make_runtime, postgres_db, sandbox, slack, logs):
    """The bot on its own PostgreSQL database, 8 orgs registered (5 failing, 3 passing) and
    due, each alerting to the alerts channel."""
    runtime = make_runtime(
        postgres_db.url,
        sandbox.url_template,
        check_lease_seconds=LEASE_SECONDS,
        slack_channel_pace_seconds=0,
    )
    slack.add_channel("C0ALERTS", "alerts", is_member=True)
    offset = DELIVERED_AT.timestamp() - time.time()
    slack.clock = lambda: time.time() + offset
    with runtime.session() as session:
        for name in (*BROKEN, *FINE):
            env = sandbox.scenario.by_name(name)
            org = add_org(
                session,
                key=name,
                display_name=f"{name} BV",
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
                alert_channel="C0ALERTS",
                now=T0,
            ).org
            org.next_check_at = T0
    return runtime


def alert_client(slack):
    return web_client(BOT_TOKEN, base_url=slack.url, retry_rate_limits=False)


async def sweep_at(runtime, moment: datetime, *, all_due: bool = True):
    if all_due:
        with runtime.session() as session:
            for org in session.exec(select(Org)):
                schedule_check(session, org.id, at=moment)
    async with runtime.afas_client() as client:
        return await asyncio.wait_for(
            sweep(runtime, client, owner="replica-a", now=moment, lease_seconds=LEASE_SECONDS),
            CASE_SECONDS,
        )


async def drain_at(runtime, slack, moment: datetime):
    return await asyncio.wait_for(
        drain_outbox(runtime, alert_client(slack), DELIVERY, owner="replica-a", now=moment),
        CASE_SECONDS,
    )


def run_counts(runtime) -> dict[str, int]:
    with runtime.session() as session:
        counts = {o.key: 0 for o in session.exec(select(Org))}
        for key in session.exec(select(Org.key).join(CheckRun, CheckRun.org_id == Org.id)):
            counts[key] += 1
    return counts


def incidents_by_org(runtime) -> dict[str, int]:
    with runtime.session() as session:
        keys = [session.get(Org, i.org_id).key for i in session.exec(select(Incident))]
    return {key: keys.count(key) for key in sorted(set(keys))}


def outbox(runtime, kind: str | None = "incident.opened") -> list[OutboxMessage]:
    """The outbox's messages of ``kind`` (None: all), oldest first."""
    with runtime.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id))
        return [m for m in rows if kind is None or m.kind == kind]


def is_warning(text: str) -> bool:
    """A warning before breakage (token-expiring's token expires soon): not an alert."""
    return text.startswith("🔑")


def alerts_posted(slack) -> dict[str, int]:
    """How often each org's alert was posted to the channel (top-level messages)."""
    counts: dict[str, int] = {}
    for call in slack.calls("chat.postMessage"):
        if call.params.get("thread_ts") or call.response.get("ok") is not True:
            continue
        if is_warning(str(call.params.get("text", ""))):
            continue
        text = str(call.params.get("text", ""))
        key = next((k for k in BROKEN if f"({k})" in text), text)
        counts[key] = counts.get(key, 0) + 1
    return counts


async def wait_until(condition: Callable[[], bool], timeout: float = CASE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def assert_everything_alerted_once(runtime, slack) -> None:
    assert incidents_by_org(runtime) == dict.fromkeys(sorted(BROKEN), 1)
    assert len(outbox(runtime)) == len(BROKEN)  # one alert per incident (warnings aside)
    assert all(m.sent_at is not None for m in outbox(runtime, kind=None))  # none lost
    assert alerts_posted(slack) == dict.fromkeys(BROKEN, 1)  # none twice
    with runtime.session() as session:  # and each incident knows its alert, for its edits
        roots = {(i.slack_channel, i.slack_ts) for i in session.exec(select(Incident))}
    posted = {
        ("C0ALERTS", m["ts"])
        for m in slack.messages("C0ALERTS")
        if m.get("thread_ts") is None and not is_warning(m.get("text", ""))
    }
    assert roots == posted


async def test_connections_cut_between_every_step_go_unnoticed(runtime, slack, outage) -> None:
    """A restart between two pieces of work: the pool's pre-ping reconnects."""
    assert outage.cut() >= 0
    await sweep_at(runtime, T0)
    outage.cut()
    await sweep_at(runtime, T0 + timedelta(minutes=15))
    outage.cut()
    result = await drain_at(runtime, slack, T0 + timedelta(minutes=15))
    assert result.sent >= len(BROKEN) and result.retried == 0
    assert run_counts(runtime) == dict.fromkeys(run_counts(runtime), 2)
    assert_everything_alerted_once(runtime, slack)


async def test_connections_cut_while_a_sweep_records_lose_no_check(runtime, slack, outage):
    """The records in flight fail (their transactions, incident and outbox message included,
    roll back); their orgs stay leased, and the next sweep after the lease checks them."""
    await sweep_at(runtime, T0)  # one bad check each for the broken orgs
    holder = outage.db.connect()
    holder.autocommit = False
    holder.execute("LOCK TABLE check_runs IN ACCESS EXCLUSIVE MODE")  # records wait on it...
    try:
        sweeping = asyncio.create_task(sweep_at(runtime, T0 + timedelta(minutes=15)))
        await wait_until(lambda: outage.waiting_on_locks() >= 3 or sweeping.done())
        assert outage.cut() >= 3  # ... and their connections are ended mid-transaction
    finally:
        holder.close()
    interrupted = await sweeping
    assert interrupted.failed, "the cut interrupted no record"
    assert sorted(interrupted.checked + interrupted.failed) == sorted((*BROKEN, *FINE))

    await drain_at(runtime, slack, T0 + timedelta(minutes=15))
    # The bot was not restarted: the next sweep, once the leases ran out, takes them up.
    retried = await sweep_at(
        runtime, T0 + timedelta(minutes=15, seconds=LEASE_SECONDS + 1), all_due=False
    )
    assert sorted(retried.checked) == sorted(interrupted.failed) and retried.failed == ()
    await drain_at(runtime, slack, T0 + timedelta(minutes=17))
    assert run_counts(runtime) == dict.fromkeys(run_counts(runtime), 2)  # each sweep once
    assert_everything_alerted_once(runtime, slack)


async def test_a_database_refusing_connections_for_a_while_is_recovered_by_itself(
    runtime, slack, outage
) -> None:
    """``BotProcess`` as ``serve`` runs it: sweeps fail while the database is away (logged,
    never raised into the scheduler), /readyz says so, and the next tick after it is back
    does the work."""
    readiness = Readiness(runtime, tick_seconds=30)
    async with runtime.afas_client() as client:
        process = BotProcess(
            runtime,
            client,
            owner="replica-a",
            alerts=AlertSender(alert_client(slack), DELIVERY),
            readiness=readiness,
        )
        await asyncio.wait_for(process.sweep_once(), CASE_SECONDS)  # first bad checks
        outage.away()
        try:
            await asyncio.wait_for(process.sweep_once(), CASE_SECONDS)
            await asyncio.wait_for(process.drain_once(), CASE_SECONDS)
            ready, checks = await readiness.report()
            assert not ready and checks["database"] != "ok"
        finally:
            outage.back()
        assert process.sweeps == 1  # the sweep in the outage did not count as done
        with runtime.session() as session:
            for org in session.exec(select(Org)):
                schedule_check(session, org.id, at=datetime.now(UTC))
        await asyncio.wait_for(process.sweep_once(), CASE_SECONDS)
        assert (await readiness.report())[0]
    assert process.sweeps == 2
    assert run_counts(runtime) == dict.fromkeys(run_counts(runtime), 2)
    assert_everything_alerted_once(runtime, slack)


def cut_when_slack_is_asked(monkeypatch, outage: Outage, *, refuse: bool) -> list[int]:
    """Fault injection at the Slack fake: when the first alert is posted, the database goes
    away; ``refuse``: Slack refuses that post (HTTP 500), else Slack accepts it."""
    original = http_app.handle
    cuts: list[int] = []

    def handle(ws, method, params, headers):
        if method == "chat.postMessage" and not cuts:
            outage.away()
            cuts.append(1)
            if refuse:
                ws.fail("chat.postMessage", error="internal_error", status=500)
        return original(ws, method, params, headers)

    monkeypatch.setattr(http_app, "handle", handle)
    return cuts


async def two_bad_sweeps(runtime) -> None:
    await sweep_at(runtime, T0)
    await sweep_at(runtime, T0 + timedelta(minutes=15))
    assert len(outbox(runtime)) == len(BROKEN)


async def drain_through_the_outage(runtime, slack, outage, cuts) -> None:
    with pytest.raises(DBAPIError):  # the driver's own error, as SQLAlchemy wraps it
        await drain_at(runtime, slack, T0 + timedelta(minutes=15))
    assert cuts == [1]
    outage.back()
    # Recovery without a restart: the next drains, once the message's lease (120 s) ran out.
    for minutes in (16, 18, 20):
        await drain_at(runtime, slack, T0 + timedelta(minutes=minutes))


async def test_the_database_going_away_before_slack_accepted_an_alert_loses_nothing(
    runtime, slack, outage, monkeypatch
) -> None:
    await two_bad_sweeps(runtime)
    cuts = cut_when_slack_is_asked(monkeypatch, outage, refuse=True)
    await drain_through_the_outage(runtime, slack, outage, cuts)
    assert_everything_alerted_once(runtime, slack)


async def test_the_database_going_away_right_after_slack_accepted_an_alert_sends_it_once(
    runtime, slack, outage, monkeypatch
) -> None:
    """Slack accepted the first alert, then neither its ts nor "sent" could be recorded: the
    resend after the lease reads the channel back, finds it by its outbox id and remembers it;
    the alerts the outage kept from being tried are looked for, not found, and posted."""
    await two_bad_sweeps(runtime)
    cuts = cut_when_slack_is_asked(monkeypatch, outage, refuse=False)
    await drain_through_the_outage(runtime, slack, outage, cuts)
    assert_everything_alerted_once(runtime, slack)
    assert slack.calls("conversations.history")  # it looked before it posted again
