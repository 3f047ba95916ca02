"""Every alert exactly once (issue 10 §6): the outbox's delivery to the Slack fake when the
sender dies after Slack accepted a message, with two replicas draining at once, under 429s and
500s and Slack's permanent refusals; paced per channel, in order per incident.

The outbox is seeded with typed messages directly (what the alert record writes); the Slack
fake runs over real HTTP, the database is real (SQLite and PostgreSQL). ``now`` is passed in;
nothing sleeps but the pacing under test."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.alerting import delivery, slack_post
from bot.alerting.delivery import Delivery, DrainResult, drain_outbox
from bot.alerting.delivery_notice import CHANNEL_ERRORS, DeliveryFailed, notice_text
from bot.alerting.messages import IncidentOpened, IncidentReminder, IncidentResolved, stored
from bot.metrics import Metrics
from bot.slack.app import web_client
from storage.models import Incident, Org, OutboxMessage
from storage.repository import add_org, enqueue_outbox, open_incident
from tests.fakes.slack import SlackWebApiFake

TEMPLATE = "http://127.0.0.1:9/{host}/{env}/ProfitRestServices"  # AFAS is never asked here
LEASE = timedelta(seconds=120)
AFTER_LEASE = LEASE + timedelta(seconds=1)
T_ANY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class ProcessKilled(BaseException):
    """The process dying as under ``kill -9``: nothing in the sender catches it."""


@pytest.fixture(scope="module")
def slack_server() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        yield fake


@pytest.fixture
def slack(slack_server: SlackWebApiFake) -> SlackWebApiFake:
    slack_server.reset()
    for channel in ("C0OLD", "C0OPS", *(f"C0ORG{i}" for i in range(5))):
        slack_server.add_channel(channel, channel.lower())
    slack_server.channels["C0OLD"]["is_archived"] = True
    return slack_server


@pytest.fixture
def t0() -> datetime:
    """Now: the fake's timestamps follow the wall clock, and read-backs start a little before
    a message was written."""
    return datetime.now(UTC).replace(microsecond=0)


class Outbox:
    """Orgs with an open incident each, their messages in the outbox, and drains."""

    def __init__(self, runtime, slack: SlackWebApiFake, scenario, t0: datetime) -> None:
        self.runtime, self.slack, self.scenario, self.t0 = runtime, slack, scenario, t0
        self.client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        self.delivery = Delivery(language="nl", default_channel=None, ops_channel="C0OPS")

    def incident(self, key: str, channel: str) -> int:
        env = self.scenario.by_name("healthy")
        with self.runtime.session() as session:
            org = add_org(
                session,
                key=key,
                display_name=f"{key} BV",
                environment=env.environment(),
                token=env.token(),
                cipher=self.runtime.require_cipher(),
                actor="test",
                alert_channel=channel,
                now=self.t0,
            ).org
            incident, _ = open_incident(session, org, kind="org", opened_at=self.t0)
            return incident.id

    def write(self, incident_id: int, message, key: str, *, at: datetime | None = None) -> int:
        with self.runtime.session() as session:
            incident = session.get(Incident, incident_id)
            return enqueue_outbox(
                session,
                kind=message.kind,
                payload=stored(message),
                dedup_key=f"incident:{incident_id}:{key}",
                org_id=incident.org_id,
                incident_id=incident_id,
                now=at or self.t0,
            ).message.id

    def about(self, incident_id: int) -> dict:
        with self.runtime.session() as session:
            incident = session.get(Incident, incident_id)
            org = session.get(Org, incident.org_id)
        return {
            "org_key": org.key,
            "display_name": org.display_name,
            "environment": "10001 (productie)",
            "channel": org.alert_channel,
            "overall": "failing",
            "headline": {"nl": "Er ontbreken connectoren", "en": "Connectors are missing"},
            "opened_at": self.t0,
        }

    def opened(self, incident_id: int, **kw) -> int:
        return self.write(incident_id, IncidentOpened(**self.about(incident_id)), "open", **kw)

    def reminder(self, incident_id: int, **kw) -> int:
        message = IncidentReminder(**self.about(incident_id), reminder=1)
        return self.write(incident_id, message, "remind:1", **kw)

    def resolved(self, incident_id: int, **kw) -> int:
        message = IncidentResolved(**self.about(incident_id), duration_seconds=3600)
        return self.write(incident_id, message, "resolve", **kw)

    async def drain(
        self,
        at: datetime,
        *,
        owner: str = "replica-a",
        delivery: Delivery | None = None,
        limit: int = 20,
        client=None,
        metrics: Metrics | None = None,
    ) -> DrainResult:
        return await asyncio.wait_for(
            drain_outbox(
                self.runtime,
                client or self.client,
                delivery or self.delivery,
                owner=owner,
                now=at,
                limit=limit,
                lease_seconds=LEASE.total_seconds(),
                metrics=metrics,
            ),
            30,
        )

    def rows(self, kind: str | None = None) -> list[OutboxMessage]:
        with self.runtime.session() as session:
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [r for r in rows if kind is None or r.kind == kind]

    def root_of(self, incident_id: int) -> tuple[str | None, str | None]:
        with self.runtime.session() as session:
            incident = session.get(Incident, incident_id)
            return incident.slack_channel, incident.slack_ts


@pytest.fixture
def outbox(make_runtime, slack, scenario, t0) -> Outbox:
    return Outbox(make_runtime(TEMPLATE, slack_channel_pace_seconds=0), slack, scenario, t0)


def top_level(slack: SlackWebApiFake, channel: str) -> list[dict]:
    return [m for m in slack.messages(channel) if m.get("thread_ts") in (None, m["ts"])]


def accepted(slack: SlackWebApiFake, method: str, channel: str | None = None) -> list:
    return [
        c
        for c in slack.calls(method)
        if c.response.get("ok") is True and (channel is None or c.params["channel"] == channel)
    ]


def dies_at(monkeypatch, step: str) -> list[int]:
    """The first call of ``delivery.<step>`` (a database write after Slack's answer) kills
    the process; later calls work (the restarted process)."""
    original = getattr(delivery, step)
    died: list[int] = []

    def dying(*args, **kwargs):
        if not died:
            died.append(1)
            raise ProcessKilled
        return original(*args, **kwargs)

    monkeypatch.setattr(delivery, step, dying)
    return died


# --- the two duplicate paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "lookups"),
    [
        ("_remember_root", 1),  # before the root's ts was remembered: found by reading back
        ("_sent", 0),  # after: the remembered ts says it is in Slack
    ],
)
async def test_a_sender_killed_after_slack_accepted_the_alert_posts_it_once(
    outbox, slack, t0, monkeypatch, step, lookups
) -> None:
    incident = outbox.incident("acme", "C0ORG0")
    outbox.opened(incident)
    died = dies_at(monkeypatch, step)
    with pytest.raises(ProcessKilled):
        await outbox.drain(t0)
    assert died == [1] and len(top_level(slack, "C0ORG0")) == 1  # Slack has it
    (row,) = outbox.rows()
    assert row.sent_at is None and row.lease_owner == "replica-a"  # the dead one's lease

    early = await outbox.drain(t0 + timedelta(seconds=60), owner="replica-b")
    assert early == DrainResult(0, 0, 0)  # nobody takes it over while the lease holds
    restarted = Delivery(language="nl", default_channel=None, ops_channel="C0OPS")
    later = await outbox.drain(t0 + AFTER_LEASE, owner="replica-b", delivery=restarted)

    assert later.sent == 1
    (root,) = top_level(slack, "C0ORG0")
    assert len(accepted(slack, "chat.postMessage")) == 1  # posted once, ever
    history = slack.calls("conversations.history")
    assert len(history) == lookups
    assert all(c.params["include_all_metadata"] in (True, "1", "true") for c in history)
    assert outbox.root_of(incident) == ("C0ORG0", root["ts"])
    assert outbox.rows()[0].sent_at is not None

    # The found root is the one later messages edit and reply to.
    outbox.resolved(incident, at=t0 + AFTER_LEASE)
    await outbox.drain(t0 + AFTER_LEASE + timedelta(seconds=1))
    (update,) = accepted(slack, "chat.update")
    assert update.params["ts"] == root["ts"]
    assert [m.get("thread_ts") for m in slack.messages("C0ORG0")] == [root["ts"], root["ts"]]
    assert len(top_level(slack, "C0ORG0")) == 1


async def test_a_thread_reply_whose_sender_died_is_found_in_the_thread(
    outbox, slack, t0, monkeypatch
) -> None:
    incident = outbox.incident("acme", "C0ORG0")
    outbox.opened(incident)
    await outbox.drain(t0)
    outbox.resolved(incident)
    dies_at(monkeypatch, "_sent")
    with pytest.raises(ProcessKilled):
        await outbox.drain(t0 + timedelta(seconds=1))
    await outbox.drain(t0 + AFTER_LEASE + timedelta(seconds=1), owner="replica-b")

    (root,) = top_level(slack, "C0ORG0")
    replies = slack.messages("C0ORG0", thread_ts=root["ts"])
    assert len(replies) == 1 and "Hersteld" in replies[0]["text"]
    assert len(slack.calls("conversations.replies")) == 1  # looked for in its thread
    # The recovery's edit of the root was made before the crash: read back, not made again.
    assert [c.params["ts"] for c in accepted(slack, "chat.update")] == [root["ts"]]
    assert all(r.sent_at is not None for r in outbox.rows())


async def test_a_message_slack_would_not_let_the_bot_read_back_is_posted_and_warned_once(
    outbox, slack, t0, monkeypatch, caplog
) -> None:
    """Without channels:history (an installation from before the manifest asked for it) a
    resend cannot look: it posts again (at least once, never lost) and says what to do."""
    monkeypatch.setattr(slack_post, "_warned", set())
    slack.scopes = "chat:write,commands,users:read,usergroups:read"
    for n, key in enumerate(("acme", "globex")):
        outbox.opened(outbox.incident(key, f"C0ORG{n}"))
    dies_at(monkeypatch, "_remember_root")
    with pytest.raises(ProcessKilled):
        await outbox.drain(t0, limit=1)
    caplog.set_level(logging.WARNING, logger="bot.alerting.slack_post")
    await outbox.drain(t0 + AFTER_LEASE, owner="replica-b")
    assert len(top_level(slack, "C0ORG0")) == 2  # the duplicate this scope would prevent
    warnings = [r for r in caplog.records if "missing_scope" in r.getMessage()]
    assert len(warnings) == 1 and "channels:history" in warnings[0].getMessage()


# --- pacing and order -------------------------------------------------------------------------


async def test_posts_are_paced_per_channel_and_never_hold_up_another(
    make_runtime, slack, scenario, t0
) -> None:
    pace = 0.25
    outbox = Outbox(make_runtime(TEMPLATE, slack_channel_pace_seconds=pace), slack, scenario, t0)
    incidents = [outbox.incident(f"org{n}", "C0ORG0") for n in range(3)]
    other = outbox.incident("other", "C0ORG1")
    for incident in (*incidents, other):
        outbox.opened(incident)

    assert (await outbox.drain(t0)).sent == 4
    same = [c.at for c in accepted(slack, "chat.postMessage", "C0ORG0")]
    (elsewhere,) = [c.at for c in accepted(slack, "chat.postMessage", "C0ORG1")]
    gaps = [b - a for a, b in itertools.pairwise(same)]
    assert len(same) == 3 and min(gaps) >= pace - 0.02, gaps
    assert elsewhere < same[1]  # the other channel went while this one waited its turn

    # The pace holds across drains of one process: a reminder right after waits its turn.
    outbox.reminder(incidents[0])
    await outbox.drain(t0 + timedelta(seconds=5))
    last = accepted(slack, "chat.postMessage", "C0ORG0")
    assert len(last) == 4 and last[-1].at - last[-2].at >= pace - 0.02


async def test_two_replicas_draining_at_once_keep_each_incidents_order(outbox, slack, t0) -> None:
    """Five incidents, each an alert, a reminder and a recovery; two replicas take four
    messages each per round, at the same moment: every message once, each incident's in the
    order written (the root, the reminder in its thread, the edit, the recovery reply)."""
    incidents = [outbox.incident(f"org{n}", f"C0ORG{n}") for n in range(5)]
    for incident in incidents:
        outbox.opened(incident)
    for incident in incidents:
        outbox.reminder(incident)
    for incident in incidents:
        outbox.resolved(incident)
    a = Delivery(language="nl", default_channel=None)
    b = Delivery(language="nl", default_channel=None)
    waited = 0
    for step in range(10):
        at = t0 + timedelta(seconds=10 * step)
        results = await asyncio.gather(
            outbox.drain(at, owner="replica-a", delivery=a, limit=4),
            outbox.drain(at, owner="replica-b", delivery=b, limit=4),
        )
        waited += sum(r.retried for r in results)
        if all(r.sent_at is not None for r in outbox.rows()):
            break
    assert all(r.sent_at is not None for r in outbox.rows()), [r.last_error for r in outbox.rows()]
    assert waited > 0  # a replica did find an incident's earlier message pending

    for n in range(5):
        channel = f"C0ORG{n}"
        calls = [
            c
            for c in slack.calls()
            if c.method in ("chat.postMessage", "chat.update")
            and c.params.get("channel") == channel
            and c.response.get("ok") is True
        ]
        shape = [(c.method, "thread" if c.params.get("thread_ts") else "top") for c in calls]
        assert shape == [
            ("chat.postMessage", "top"),
            ("chat.postMessage", "thread"),  # the reminder
            ("chat.update", "top"),  # the recovery's edit of the root...
            ("chat.postMessage", "thread"),  # ... and its reply
        ], channel
        assert "nog niemand" in calls[1].params["text"] and "Hersteld" in calls[3].params["text"]


# --- Slack refusing for a while ---------------------------------------------------------------


async def test_a_429_for_a_channel_leaves_its_other_messages_untried_until_retry_after(
    outbox, slack, t0
) -> None:
    limited = [outbox.incident(f"org{n}", "C0ORG0") for n in range(3)]
    other = outbox.incident("other", "C0ORG1")
    ids = [outbox.opened(i) for i in (*limited, other)]
    slack.rate_limit("chat.postMessage", retry_after=30, channel="C0ORG0")

    first = await outbox.drain(t0)
    assert (first.sent, first.retried) == (1, 1)
    assert len(slack.calls("chat.postMessage")) == 2  # one per channel: the rest untried
    rows = {r.id: r for r in outbox.rows()}
    retry_at = t0 + timedelta(seconds=30)
    assert [rows[i].not_before for i in ids[:3]] == [retry_at] * 3
    assert [rows[i].attempts for i in ids[:3]] == [1, 0, 0]  # untried: no attempt counted
    assert rows[ids[3]].sent_at is not None

    assert (await outbox.drain(t0 + timedelta(seconds=10))).sent == 0  # not before Retry-After
    later = await outbox.drain(t0 + timedelta(seconds=31))
    assert later.sent == 3 and len(top_level(slack, "C0ORG0")) == 3
    # only the message that had reached Slack (and got its 429) was looked for first
    assert len(slack.calls("conversations.history")) == 1


async def test_a_500_is_retried_after_a_backoff_and_posted_once(outbox, slack, t0) -> None:
    outbox.opened(outbox.incident("acme", "C0ORG0"))
    slack.fail("chat.postMessage", error="internal_error", status=500)
    assert (await outbox.drain(t0)).retried == 1
    (row,) = outbox.rows()
    assert row.not_before == t0 + timedelta(seconds=30) and row.last_error == "internal_error"
    assert (await outbox.drain(t0 + timedelta(seconds=31))).sent == 1
    assert len(top_level(slack, "C0ORG0")) == 1


# --- Slack refusing for good ------------------------------------------------------------------


async def test_a_permanent_refusal_is_given_up_and_said_once_in_the_ops_channel(
    outbox, slack, t0
) -> None:
    metrics = Metrics()
    for key in ("acme", "globex"):
        outbox.opened(outbox.incident(key, "C0OLD"))  # an archived channel
    first = await outbox.drain(t0, metrics=metrics)
    assert (first.given_up, first.sent, first.retried) == (2, 0, 0)
    alerts = outbox.rows("incident.opened")
    assert all(r.given_up_at == t0 and r.last_error == "is_archived" for r in alerts)
    sample = metrics.registry.get_sample_value(
        "afasbot_outbox_deliveries_total", {"kind": "incident.opened", "outcome": "given_up"}
    )
    assert sample == 2

    await outbox.drain(t0 + timedelta(seconds=5))  # the notice
    (notice,) = top_level(slack, "C0OPS")
    text = notice["text"]
    assert "<#C0OLD>" in text and "`acme`" in text and "`globex`" in text
    assert "gearchiveerd" in text and "/afas wijzig" in text and "is_archived" in text

    # Later the same day: another refusal there is given up, and not said again.
    outbox.opened(outbox.incident("initech", "C0OLD"), at=t0 + timedelta(hours=1))
    again = await outbox.drain(t0 + timedelta(hours=1))
    await outbox.drain(t0 + timedelta(hours=1, seconds=5))
    assert again.given_up == 1 and len(top_level(slack, "C0OPS")) == 1
    # Given up is final: no drain tries those messages again.
    before = len(slack.calls())
    assert await outbox.drain(t0 + timedelta(hours=5)) == DrainResult(0, 0, 0)
    assert len(slack.calls()) == before


async def test_messages_waiting_for_a_given_up_alert_are_given_up_too(outbox, slack, t0) -> None:
    incident = outbox.incident("acme", "C0OLD")
    outbox.opened(incident)
    await outbox.drain(t0)
    outbox.reminder(incident)
    outbox.resolved(incident)
    result = await outbox.drain(t0 + timedelta(minutes=5))
    assert result.given_up == 2
    assert slack.calls("chat.update") == []  # nothing to edit
    follow_ups = outbox.rows("incident.reminder") + outbox.rows("incident.resolved")
    assert len(follow_ups) == 2
    assert all(r.last_error == "its alert was given up: is_archived" for r in follow_ups)
    assert len(outbox.rows("delivery.failed")) == 1  # the alert's refusal only


async def test_a_refused_token_is_logged_once_and_never_said_in_slack(
    outbox, slack, t0, caplog
) -> None:
    revoked = web_client("xoxb-revoked", base_url=slack.url, retry_rate_limits=False)
    for n, key in enumerate(("acme", "globex")):
        outbox.opened(outbox.incident(key, f"C0ORG{n}"))
    caplog.set_level(logging.ERROR, logger="bot.alerting.delivery")
    first = await outbox.drain(t0, client=revoked)
    outbox.opened(outbox.incident("initech", "C0ORG2"))
    second = await outbox.drain(t0 + timedelta(minutes=1), client=revoked)
    assert (first.given_up, second.given_up) == (2, 1)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "invalid_auth" in errors[0] and "BOT_TOKEN" in errors[0]
    assert outbox.rows("delivery.failed") == []  # Slack would refuse the notice as well


async def test_an_ops_channel_that_refuses_the_bot_is_logged_once_without_a_loop(
    outbox, slack, t0, caplog
) -> None:
    slack.channels["C0OPS"]["is_member"] = False
    outbox.opened(outbox.incident("acme", "C0OLD"))
    caplog.set_level(logging.ERROR, logger="bot.alerting.delivery")
    for seconds in (0, 5, 10, 15):
        await outbox.drain(t0 + timedelta(seconds=seconds))
    (notice,) = outbox.rows("delivery.failed")
    assert notice.given_up_at is not None and notice.last_error == "not_in_channel"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "C0OPS" in errors[0]
    assert len(slack.calls("chat.postMessage")) == 2  # the alert and the notice, once each


@pytest.mark.parametrize("error", [*sorted(CHANNEL_ERRORS), "msg_too_long"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_refusal_the_ops_channel_hears_is_said_in_plain_words(error, language) -> None:
    one = DeliveryFailed(failed_channel="C0OLD", error=error, org_keys=("acme",), at=T_ANY)
    text = notice_text(one, language=language)
    assert "delivery_failed." not in text  # every text is in the catalogue
    assert "<#C0OLD>" in text and "`acme`" in text and f"`{error}`" in text
    if error in CHANNEL_ERRORS - {"not_in_channel"}:
        assert "acme" in text.split("\n")[2]  # what to do names the org's edit command
    many = DeliveryFailed(failed_channel="#old", error=error, org_keys=("a", "b"), at=T_ANY)
    assert "`#old`" in notice_text(many, language=language)
