"""The incident state machine over many steps (hypothesis): real reports from the AFAS
sandbox, recorded by the real ``record_check`` (which applies the alert policy) on a real
SQLite database, with mutes, unmutes, acknowledgements, the clock moving and AFAS going down
for several orgs at once and coming back.

What must hold after every step, whatever came before:
- no incident without ``open_after`` consecutive bad checks, and no bad streak without one
  (a mute, a platform outage never lose the record);
- at most one open incident per org; a change of cause never opens a second one;
- alternating results never open an incident (no flapping);
- nothing is said about an incident while its org is muted, except its recovery;
- a never announced incident has no message at all; an announced one's messages are in
  order: the opening first, once; the recovery last, once, and always (muted or not);
- when a mute ends with its incident open, the next bad check says so with one message.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, event
from sqlmodel import col, select

from afas.check import run_check
from afas.client import AfasClient
from afas.environments import AfasEnvironment, EnvironmentKind
from afas.report import CheckReport, OverallState
from afas.sandbox.server import SandboxServer
from afas.tokens import AfasToken
from bot.alerting.causes import cause_of
from bot.alerting.messages import (
    CAUSE_CHANGED,
    HOLD_ENDED,
    OPENED,
    PROBLEMS_CHANGED,
    REMINDER,
    RESOLVED,
)
from bot.alerting.platform import PlatformPolicy, platform_down, update_platform
from bot.alerting.policy import AlertPolicy
from bot.blocks import as_utc
from bot.services.checks import record_check
from storage import schema
from storage.crypto import TokenCipher, generate_key
from storage.db import make_engine, session_scope
from storage.incidents import acknowledge_incident
from storage.models import CheckRun, CheckTrigger, Incident, Org, OutboxMessage, metadata
from storage.repository import add_org, mute_org

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
#: The thresholds an example runs with (2 and 1 are the defaults).
POLICIES = [
    AlertPolicy(open_after=2, close_after=1),
    AlertPolicy(open_after=2, close_after=2),
    AlertPolicy(open_after=3, close_after=1),
]
PLATFORM = PlatformPolicy()
ORGS = ("o1", "o2", "o3", "o4")
BAD = frozenset({OverallState.FAILING.value, OverallState.UNREACHABLE.value})
#: What a check can find: a real report of the sandbox environment that breaks that way.
SCENARIOS = {
    "healthy": "healthy",
    "degraded": "token-expiring",
    "token_rejected": "revoked-token",
    "app_connector_blocked": "blocked-app-connector-message",
    "ip_refused": "ip-restricted",
    "connectors_missing": "missing-connectors",
    "near_miss": "near-miss",
    "environment_mismatch": "test-token-as-production",
    "maintenance": "maintenance",
    "garbage": "garbage",
    "unreachable": "unreachable",
}
BAD_KINDS = sorted(set(SCENARIOS) - {"healthy", "degraded"})
#: What is never said while the org is muted (its recovery is).
SAYS_WHILE_OPEN = (OPENED, CAUSE_CHANGED, PROBLEMS_CHANGED, HOLD_ENDED, REMINDER)


@pytest.fixture(scope="module")
def reports(sandbox: SandboxServer) -> dict[str, CheckReport]:
    async def check_all() -> dict[str, CheckReport]:
        async with AfasClient(url_template=sandbox.url_template, retries=0) as client:
            found = {}
            for kind, name in SCENARIOS.items():
                env = sandbox.scenario.by_name(name)
                found[kind] = await run_check(client, env.environment(), env.token())
            return found

    return asyncio.run(check_all())


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Iterator[str]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('machine')) / 'alerts.sqlite3'}"
    schema.upgrade(url)
    yield url


def _no_fsync(dbapi_connection, _record) -> None:
    """The machine's database needs no durability across a power cut: commits without fsync
    (milliseconds each otherwise, thousands of them)."""
    dbapi_connection.execute("PRAGMA synchronous=OFF")


class IncidentMachine(RuleBasedStateMachine):
    reports: ClassVar[dict[str, CheckReport]] = {}
    url: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.engine = make_engine(self.url)
        event.listen(self.engine, "connect", _no_fsync)
        self.now = T0
        self.cipher = TokenCipher.from_keys([generate_key()])

    def teardown(self) -> None:
        self.engine.dispose()

    @initialize(policy=st.sampled_from(POLICIES))
    def fresh_database(self, policy: AlertPolicy) -> None:
        self.policy = policy
        with session_scope(self.engine) as session:
            for table in reversed(metadata.sorted_tables):
                session.execute(delete(table))
            for number, key in enumerate(ORGS, start=1):
                add_org(
                    session,
                    key=key,
                    display_name=key.upper(),
                    environment=AfasEnvironment(str(60000 + number), EnvironmentKind.PRODUCTION),
                    token=AfasToken(f"{number:02d}" * 16),
                    cipher=self.cipher,
                    actor="test",
                    alert_channel="C0ALERTS",
                    now=self.now,
                )

    # -- the world ---------------------------------------------------------------------------

    def _record(self, key: str, kind: str) -> list[OutboxMessage]:
        """One scheduled check of ``key`` finding ``kind``; returns the messages it wrote,
        having asserted what one check may and may not do."""
        self.now += timedelta(minutes=1)
        report = replace(self.reports[kind], started_at=self.now)
        with session_scope(self.engine) as session:
            org = self._org(session, key)
            muted = org.is_muted(self.now)
            before = self._open(session, org)
            held_before = before.held if before is not None else None
            announced_before = before is not None and before.announced_at is not None
            last_id = self._last_outbox_id(session)
            trigger = CheckTrigger.SCHEDULE
            record_check(session, org, report, trigger, alerting=self.policy, now=self.now)
            written = list(
                session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.id) > last_id)
                    .order_by(col(OutboxMessage.id))
                )
            )
            after = self._open(session, org)
            down_now = platform_down(session, now=self.now, policy=PLATFORM)
        bad = report.overall.value in BAD
        if before is not None and bad:  # a bad check, a cause change or not: the same one
            assert after is not None and after.id == before.id
            assert after.cause == cause_of(report).value
        if muted:
            assert not [m for m in written if m.kind in SAYS_WHILE_OPEN], written
        platform_holds = report.overall is OverallState.UNREACHABLE and down_now
        released = (
            before is not None
            and held_before is not None
            and bad
            and not muted
            and (announced_before or not platform_holds)  # the platform holds unannounced ones
        )
        if released:  # the hold is over: exactly one message says so
            kinds = [m.kind for m in written]
            assert kinds == [HOLD_ENDED if announced_before else OPENED], kinds
            assert after.held is None and after.announced_at is not None
        elif before is not None and held_before is not None and bad:
            assert written == [], "a held incident spoke"
        return written

    def _org(self, session, key: str) -> Org:
        return session.exec(select(Org).where(Org.key == key)).one()

    def _open(self, session, org: Org) -> Incident | None:
        rows = session.exec(
            select(Incident).where(Incident.org_id == org.id, col(Incident.closed_at).is_(None))
        ).all()
        assert len(rows) <= 1, "two open incidents for one org"
        return rows[0] if rows else None

    def _last_outbox_id(self, session) -> int:
        last = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())).first()
        return last.id if last is not None else 0

    # -- the rules -----------------------------------------------------------------------------

    @rule(key=st.sampled_from(ORGS), kind=st.sampled_from(sorted(SCENARIOS)))
    def check(self, key: str, kind: str) -> None:
        self._record(key, kind)

    @rule(key=st.sampled_from(ORGS), bad=st.sampled_from(BAD_KINDS), n=st.integers(2, 6))
    def flap(self, key: str, bad: str, n: int) -> None:
        """Alternating results (starting good): never an incident of its own."""
        with session_scope(self.engine) as session:
            had = self._open(session, self._org(session, key)) is not None
        if had:
            return
        for step in range(n):
            self._record(key, bad if step % 2 else "healthy")
        with session_scope(self.engine) as session:
            assert self._open(session, self._org(session, key)) is None, "flapping opened one"

    @rule(
        kind=st.sampled_from(["unreachable", "maintenance", "garbage"]),
        others=st.sampled_from(["unreachable", "healthy", "connectors_missing"]),
    )
    def afas_down_for_many(self, kind: str, others: str) -> None:
        """Three orgs (or all four) cannot reach AFAS in one sweep, then the verdict."""
        for key in ORGS[:3]:
            self._record(key, kind)
        self._record(ORGS[3], others)
        self.platform_verdict()

    @rule()
    def afas_back_for_all(self) -> None:
        for key in ORGS:
            self._record(key, "healthy")
        self.platform_verdict()

    @rule()
    def platform_verdict(self) -> None:
        """The end of a sweep: the platform notice, if the verdict changed."""
        with session_scope(self.engine) as session:
            update_platform(session, now=self.now, policy=PLATFORM)

    @rule(key=st.sampled_from(ORGS), minutes=st.sampled_from([5, 30, 90, 60 * 30]))
    def mute(self, key: str, minutes: int) -> None:
        with session_scope(self.engine) as session:
            mute_org(
                session,
                key,
                until=self.now + timedelta(minutes=minutes),
                actor="U0SANNE",
                now=self.now,
            )

    @rule(key=st.sampled_from(ORGS))
    def unmute(self, key: str) -> None:
        with session_scope(self.engine) as session:
            mute_org(session, key, until=None, actor="U0JAN", now=self.now)

    @rule(key=st.sampled_from(ORGS))
    def acknowledge(self, key: str) -> None:
        with session_scope(self.engine) as session:
            incident = self._open(session, self._org(session, key))
            if incident is not None:
                acknowledge_incident(session, incident.id, actor="U0JAN", at=self.now)

    @rule(minutes=st.sampled_from([1, 10, 45, 60 * 6, 60 * 25]))
    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    # -- what must hold ------------------------------------------------------------------------

    @invariant()
    def incidents_match_the_checks_and_their_messages_are_in_order(self) -> None:
        with session_scope(self.engine) as session:
            runs: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
            for org_id, started_at, state in session.exec(
                select(CheckRun.org_id, CheckRun.started_at, CheckRun.overall_state).order_by(
                    col(CheckRun.started_at).desc(), col(CheckRun.id).desc()
                )
            ):
                runs[org_id].append((as_utc(started_at), state))
            said: dict[int, list[str]] = defaultdict(list)
            for incident_id, kind in session.exec(
                select(OutboxMessage.incident_id, OutboxMessage.kind).order_by(
                    col(OutboxMessage.id)
                )
            ):
                said[incident_id].append(kind)
            incidents = list(session.exec(select(Incident)))
        open_orgs = [i.org_id for i in incidents if i.closed_at is None]
        assert len(open_orgs) == len(set(open_orgs)), "two open incidents for one org"
        for org_id, history in runs.items():
            streak = [state for _, state in history[: self.policy.open_after]]
            if len(streak) == self.policy.open_after and all(s in BAD for s in streak):
                assert org_id in open_orgs, f"org {org_id}: a bad streak without an incident"
        for incident in incidents:
            opened_at = as_utc(incident.opened_at)
            before = [state for at, state in runs[incident.org_id] if at <= opened_at]
            streak = before[: self.policy.open_after]
            assert len(streak) == self.policy.open_after and all(s in BAD for s in streak), (
                f"incident {incident.id} opened after {streak}"
            )
            kinds = said.get(incident.id, [])
            if incident.announced_at is None:
                assert kinds == [], f"never announced incident {incident.id} said {kinds}"
                continue
            assert kinds[:1] == [OPENED] and kinds.count(OPENED) == 1, kinds
            assert kinds.count(RESOLVED) <= 1, kinds
            if RESOLVED in kinds:
                assert kinds[-1] == RESOLVED and incident.closed_at is not None, kinds
            if incident.closed_at is not None:  # announced: its recovery is, muted or not
                assert kinds[-1:] == [RESOLVED], f"incident {incident.id} closed silently"


def test_the_incident_state_machine(reports, database) -> None:
    IncidentMachine.reports = reports
    IncidentMachine.url = database
    run_state_machine_as_test(
        IncidentMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
