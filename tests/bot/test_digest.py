"""The daily digest (bot/alerting/digest.py, bot/blocks/digest.py): due at its hour in the bot's
zone, once a day across replicas, with the last day's facts, quiet days skipped if so set,
within Slack's limits in both languages, and posted through the Slack fake. Time is passed in
explicitly; nothing sleeps."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerting.digest import (
    DIGEST,
    DailyDigest,
    DigestDrift,
    DigestIncident,
    DigestMute,
    DigestToken,
    digest_day,
    digest_due,
    digest_key,
    digest_tick,
    send_digest,
)
from bot.blocks.digest import digest_blocks, digest_text
from bot.i18n import LANGUAGES
from bot.slack.app import web_client
from storage.models import OutboxMessage
from storage.outbox import pending_outbox
from storage.repository import close_incident, mute_org, open_incident, record_check_run
from tests.bot.blocks.helpers import assert_within_slack_limits, contexts, header, sections
from tests.fakes.slack import SlackWebApiFake
from tests.storage.helpers import make_token, register

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
#: 2026-12-01 08:00 in Amsterdam (CET, UTC+1).
AT = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def local(year: int, month: int, day: int, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM, fold=fold)


# -- due or not (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "hour", "day"),
    [
        (local(2026, 12, 1, 7, 59), 8, None),  # a minute early
        (local(2026, 12, 1, 8, 0), 8, date(2026, 12, 1)),
        (local(2026, 12, 1, 23, 59), 8, date(2026, 12, 1)),  # down at 08:00: later that day
        (local(2026, 12, 2, 0, 0), 8, None),  # past midnight: tomorrow's not yet
        (local(2026, 12, 1, 23, 30), 23, date(2026, 12, 1)),
        (local(2026, 12, 2, 0, 0), 23, None),
        (local(2026, 12, 2, 0, 0), 0, date(2026, 12, 2)),  # hour 0: at midnight
        (local(2026, 6, 1, 7, 59), 8, None),  # summer time (UTC+2)
        (local(2026, 6, 1, 8, 0), 8, date(2026, 6, 1)),
        # Clocks go forward on 2026-03-29: 02:00 does not exist, 03:00 comes in its place.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), 2, None),  # 01:59 CET
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 2, date(2026, 3, 29)),  # 03:00 CEST
        # Clocks go back on 2026-10-25: 02:00-03:00 comes twice, the same day both times.
        (datetime(2026, 10, 25, 0, 0, tzinfo=UTC), 2, date(2026, 10, 25)),  # 02:00 CEST
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 2, date(2026, 10, 25)),  # 02:00 CET
        (local(2026, 12, 1, 12, 0), None, None),  # no digest hour: no digest
    ],
)
def test_the_digest_is_due_from_its_hour_in_the_bots_zone(now, hour, day) -> None:
    assert digest_day(now.astimezone(UTC), hour=hour, zone=AMSTERDAM) == day
    assert digest_due(now, hour=hour, zone=AMSTERDAM, written=False) is (day is not None)
    assert digest_due(now, hour=hour, zone=AMSTERDAM, written=True) is False


def test_the_day_is_the_bots_not_utcs() -> None:
    # 23:30 UTC on 30 November is 00:30 on 1 December in Amsterdam.
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert digest_day(now, hour=0, zone=AMSTERDAM) == date(2026, 12, 1)
    assert digest_day(now, hour=0, zone=ZoneInfo("UTC")) == date(2026, 11, 30)
    assert digest_key(date(2026, 12, 1)) == "digest:2026-12-01"


# -- writing it: runtime, storage and outbox -----------------------------------------------------


@pytest.fixture
def digest_settings() -> dict:
    return {
        "digest_hour": 8,
        "timezone": "Europe/Amsterdam",
        "slack_ops_channel": "C0OPS",
        "slack_default_alert_channel": "C0ALERTS",
        "token_expiry_warning_days": 14,
    }


@pytest.fixture
def replicas(make_runtime, sandbox, digest_settings):
    """Two runtimes on one database: two replicas of the bot."""
    return [make_runtime(sandbox.url_template, **digest_settings) for _ in range(2)]


def digests(runtime) -> list[OutboxMessage]:
    with runtime.session() as session:
        return [m for m in pending_outbox(session) if m.kind == DIGEST]


def the_digest(runtime) -> DailyDigest:
    (row,) = digests(runtime)
    return DailyDigest.model_validate(row.payload)


def expiry_item(expires_at: datetime) -> dict:
    return {
        "requirement_id": "token-expiry",
        "kind": "token_expiry",
        "status": "warning",
        "finding": "soon",
        "details": {"expires_at": expires_at.isoformat(), "days_left": 5},
    }


def a_busy_day(runtime) -> None:
    """Four orgs, written through the storage functions at explicit times before ``AT``."""
    cipher = runtime.require_cipher()
    with runtime.session() as session:
        acme = register(
            session, cipher, "acme", display_name="Acme B.V.", now=AT - timedelta(days=9)
        )
        beta = register(
            session, cipher, "beta", display_name="<!channel>", now=AT - timedelta(days=9)
        )
        core = register(session, cipher, "core", display_name="Core", now=AT - timedelta(days=9))
        register(session, cipher, "dusk", display_name="Dusk", now=AT - timedelta(days=9))
        for org, state, items in [
            (acme, "degraded", [expiry_item(AT + timedelta(days=5))]),
            (beta, "failing", []),
            (core, "healthy", []),
        ]:
            record_check_run(
                session,
                org,
                trigger="schedule",
                started_at=AT - timedelta(minutes=10),
                duration_ms=80,
                overall_state=state,
                items=items,
            )
        old, _ = open_incident(session, acme, kind="org", opened_at=AT - timedelta(hours=30))
        close_incident(session, old.id, closed_at=AT - timedelta(hours=2))
        open_incident(session, beta, kind="org", opened_at=AT - timedelta(hours=5))
        mute_org(session, "beta", until=AT + timedelta(hours=2), actor="U0ALICE", now=AT)


async def test_written_once_at_its_hour_whatever_the_replicas(replicas) -> None:
    one, two = replicas
    a_busy_day(one)
    assert await digest_tick(one, AT - timedelta(minutes=1)) is False  # 07:59
    assert digests(one) == []
    # Both replicas tick at 08:00 at once, and again a minute later: one digest.
    first = await asyncio.gather(digest_tick(one, AT), digest_tick(two, AT))
    assert sorted(first) == [False, True]
    later = AT + timedelta(minutes=1)
    assert await asyncio.gather(digest_tick(one, later), digest_tick(two, later)) == [False, False]
    (row,) = digests(two)
    assert row.dedup_key == "digest:2026-12-01"
    # The next day: not before 08:00 there, then once more.
    assert await digest_tick(two, AT + timedelta(hours=23, minutes=59)) is False
    assert await digest_tick(two, AT + timedelta(days=1)) is True
    assert [m.dedup_key for m in digests(one)] == ["digest:2026-12-01", "digest:2026-12-02"]


async def test_the_hour_that_comes_twice_when_clocks_go_back_gives_one_digest(
    make_runtime, sandbox, digest_settings
) -> None:
    settings = {**digest_settings, "digest_hour": 2, "digest_skip_quiet": False}
    runtime = make_runtime(sandbox.url_template, **settings)
    assert await digest_tick(runtime, datetime(2026, 10, 25, 0, 0, tzinfo=UTC)) is True  # CEST
    assert await digest_tick(runtime, datetime(2026, 10, 25, 1, 0, tzinfo=UTC)) is False  # CET
    assert [m.dedup_key for m in digests(runtime)] == ["digest:2026-10-25"]


async def test_the_digest_holds_the_last_days_facts(replicas) -> None:
    runtime = replicas[0]
    a_busy_day(runtime)
    assert await digest_tick(runtime, AT) is True
    assert the_digest(runtime) == DailyDigest(
        day=date(2026, 12, 1),
        at=AT,
        timezone="Europe/Amsterdam",
        channel="C0OPS",
        by_state={"failing": 1, "unreachable": 0, "degraded": 1, "never": 1, "healthy": 1},
        open_incidents=1,
        opened=(
            DigestIncident(
                org_key="beta", display_name="<!channel>", opened_at=AT - timedelta(hours=5)
            ),
        ),
        opened_total=1,
        resolved=(
            DigestIncident(
                org_key="acme",
                display_name="Acme B.V.",
                opened_at=AT - timedelta(hours=30),
                closed_at=AT - timedelta(hours=2),
            ),
        ),
        resolved_total=1,
        muted=(
            DigestMute(
                org_key="beta",
                display_name="<!channel>",
                until=AT + timedelta(hours=2),
                by="U0ALICE",
            ),
        ),
        muted_total=1,
        expiring=(
            DigestToken(
                org_key="acme", display_name="Acme B.V.", expires_at=AT + timedelta(days=5)
            ),
        ),
        expiring_total=1,
        expiry_warning_days=14,
        skipped=False,
    )


async def test_a_quiet_day_is_skipped_when_so_set(make_runtime, sandbox, digest_settings) -> None:
    runtime = make_runtime(sandbox.url_template, **digest_settings)
    with runtime.session() as session:  # healthy and failing orgs, but nothing happened
        for key, state in [("acme", "healthy"), ("beta", "failing")]:
            org = register(session, runtime.require_cipher(), key, now=AT - timedelta(days=3))
            record_check_run(
                session,
                org,
                trigger="schedule",
                started_at=AT - timedelta(minutes=5),
                duration_ms=50,
                overall_state=state,
                items=[],
            )
    assert await digest_tick(runtime, AT) is True
    digest = the_digest(runtime)
    assert digest.quiet and digest.skipped  # the day's decision, taken once
    assert await digest_tick(runtime, AT + timedelta(hours=6)) is False  # not re-decided at 14:00
    async with SlackWebApiFake() as slack:
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        assert await send_digest(client, digest, channel="C0GENERAL", language="en") is False
        assert slack.calls("chat.postMessage") == []


async def test_a_quiet_day_is_posted_when_not_skipped(
    make_runtime, sandbox, digest_settings
) -> None:
    runtime = make_runtime(sandbox.url_template, **digest_settings, digest_skip_quiet=False)
    assert await digest_tick(runtime, AT) is True
    digest = the_digest(runtime)
    assert digest.quiet and not digest.skipped
    async with SlackWebApiFake() as slack:
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        assert await send_digest(client, digest, channel="C0GENERAL", language="en") is True
        (posted,) = slack.messages("C0GENERAL")
    assert posted["text"] == "Daily digest 2026-12-01: a quiet day."
    assert sections(posted["blocks"]) == [
        "No orgs registered yet",
        "A quiet day: no incidents, no mutes and no tokens expiring soon.",
    ]


async def test_no_digest_hour_means_no_digest(make_runtime, sandbox, digest_settings) -> None:
    runtime = make_runtime(sandbox.url_template, **{**digest_settings, "digest_hour": None})
    for hours in range(0, 48, 3):
        assert await digest_tick(runtime, AT + timedelta(hours=hours)) is False
    assert digests(runtime) == []


async def test_the_ops_channel_falls_back_to_the_default_alert_channel(
    make_runtime, sandbox, digest_settings, caplog
) -> None:
    settings = {**digest_settings, "slack_ops_channel": None, "digest_skip_quiet": False}
    runtime = make_runtime(sandbox.url_template, **settings)
    await digest_tick(runtime, AT)
    assert the_digest(runtime).channel == "C0ALERTS"
    nowhere = the_digest(runtime).model_copy(update={"channel": None})
    async with SlackWebApiFake() as slack:
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        with caplog.at_level(logging.WARNING, logger="bot.alerting.digest"):
            assert await send_digest(client, nowhere, channel=None, language="en") is False
        assert slack.calls() == []
    assert "the daily digest of 2026-12-01 is not posted" in caplog.text


# -- end to end: the outbox drained to the Slack fake -------------------------------------------


async def drain_digests(runtime, client, *, now: datetime, language: str) -> int:
    """The real sender (``bot.alerting.delivery.drain_outbox``), as ``serve`` runs it."""
    from bot.alerting.delivery import Delivery, drain_outbox

    result = await drain_outbox(
        runtime,
        client,
        Delivery(language=language, default_channel=None),
        owner="replica-a",
        now=now,
    )
    return result.sent


async def test_the_digest_reaches_the_ops_channel_once(replicas) -> None:
    one, two = replicas
    a_busy_day(one)
    async with SlackWebApiFake() as slack:
        slack.add_channel("C0OPS", "afas-ops")
        client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
        for minute in range(3):  # both replicas tick every minute, and send what is due
            now = AT + timedelta(minutes=minute)
            await asyncio.gather(digest_tick(one, now), digest_tick(two, now))
            await drain_digests(one, client, now=now, language="en")
        (posted,) = slack.messages("C0OPS")
        calls = json.dumps([call.params for call in slack.calls()])
    assert slack.messages("C0ALERTS") == []
    assert posted["text"] == (
        "Daily digest 2026-12-01 — incidents opened: 1, resolved: 1, open now: 1; muted: 1; "
        "tokens expiring soon: 1."
    )
    blocks = posted["blocks"]
    assert header(blocks) == "Daily digest 2026-12-01"
    assert sections(blocks) == [
        ":x: Failing: 1  ·  :warning: Degraded: 1  ·  :white_circle: Never checked: 1  ·  "
        ":white_check_mark: Healthy: 1  ·  :rotating_light: incidents open now: 1",
        "*Opened in the last 24 hours* (1)\n"
        "• *beta* (&lt;!channel&gt;) · opened 5 h ago · :red_circle: still open",
        "*Resolved in the last 24 hours* (1)\n"
        "• *acme* (Acme B.V.) · lasted 1 day, resolved 2 h ago",
        "*Muted* (1)\n• *beta* (&lt;!channel&gt;) · until 2026-12-01 10:00 CET, by <@U0ALICE>",
        "*Tokens expiring within 14 days* (1)\n"
        "• *acme* (Acme B.V.) · expires on 2026-12-06, in 5 days",
    ]
    assert contexts(blocks) == [
        "The last 24 hours: from 2026-11-30 08:00 CET to 2026-12-01 08:00 CET."
    ]
    assert "<!channel>" not in calls  # the org's name stays text
    for key in ("acme", "beta", "core", "dusk"):  # the tokens never leave the database
        assert make_token(key).reveal_data() not in calls
    assert digests(one) == []  # sent


# -- the blocks ----------------------------------------------------------------------------------


def message(**fields) -> DailyDigest:
    base = {
        "day": date(2026, 12, 1),
        "at": AT,
        "timezone": "Europe/Amsterdam",
        "channel": "C0OPS",
        "by_state": {"failing": 2, "unreachable": 1, "degraded": 0, "never": 0, "healthy": 40},
    }
    return DailyDigest(**{**base, **fields})


def test_the_dutch_digest() -> None:
    digest = message(
        open_incidents=1,
        opened=(
            DigestIncident(
                org_key="core",
                display_name="Core",
                opened_at=AT - timedelta(hours=3),
                closed_at=AT - timedelta(minutes=90),
            ),
        ),
        opened_total=1,
        muted=(DigestMute(org_key="x", display_name="X", until=AT + timedelta(days=2)),),
        muted_total=1,
        expiring=(
            DigestToken(org_key="old", display_name="Old", expires_at=AT - timedelta(days=1)),
            DigestToken(org_key="d", display_name="D", expires_at=AT + timedelta(hours=5)),
            DigestToken(org_key="e", display_name="E", expires_at=AT + timedelta(days=1, hours=1)),
        ),
        expiring_total=3,
    )
    blocks = digest_blocks(digest, language="nl")
    assert header(blocks) == "Dagoverzicht 2026-12-01"
    assert sections(blocks) == [
        ":x: Fout: 2  ·  :grey_question: Onbereikbaar: 1  ·  :white_check_mark: In orde: 40  ·  "
        ":rotating_light: storingen nu open: 1",
        "*Begonnen in de afgelopen 24 uur* (1)\n"
        "• *core* (Core) · begonnen 3 uur geleden · :white_check_mark: opgelost na 2 uur",
        "*Gedempt* (1)\n• *x* (X) · tot 2026-12-03 08:00 CET",
        "*Tokens die binnen 14 dagen verlopen* (3)\n"
        "• *old* (Old) · is verlopen op 2026-11-30\n"
        "• *d* (D) · verloopt binnen een dag (2026-12-01)\n"
        "• *e* (E) · verloopt op 2026-12-02, over 1 dag",
    ]
    assert contexts(blocks) == [
        "De afgelopen 24 uur: van 2026-11-30 08:00 CET tot 2026-12-01 08:00 CET."
    ]
    assert digest_text(digest, language="nl") == (
        "Dagoverzicht 2026-12-01 — storingen begonnen: 1, opgelost: 0, nu open: 1; gedempt: 1; "
        "tokens die binnenkort verlopen: 3."
    )


def test_drift_shows_only_when_there_is_some() -> None:
    quiet_drift = message(open_incidents=1)
    assert not any(
        "drift" in text.lower() for text in sections(digest_blocks(quiet_drift, language="en"))
    )
    drifted = message(
        drift=(
            DigestDrift(
                org_key="acme",
                display_name="Acme",
                connector="Profit_Debtor",
                detail="field <Bedrag> removed",
            ),
        ),
        drift_total=1,
    )
    blocks = digest_blocks(drifted, language="en")
    assert sections(blocks)[-1] == (
        "*Open drift warnings* (1)\n"
        "• *acme* (Acme) · `Profit_Debtor` · field &lt;Bedrag&gt; removed"
    )
    assert not drifted.quiet


def test_a_week_of_trouble_fits_slacks_limits_in_both_languages() -> None:
    """Hundreds of orgs in every list, names as long as a name may be, mentions and entities
    in them: every list shows what fits and says how many more there are."""
    name = "<!channel> & <@U0EVIL> " + "Groothandel " * 20
    name = name[:200]
    opened = tuple(
        DigestIncident(
            org_key=f"org-{n:04d}",
            display_name=name,
            opened_at=AT - timedelta(hours=20),
            closed_at=None if n % 2 else AT - timedelta(hours=1),
        )
        for n in range(50)
    )
    mutes = tuple(
        DigestMute(
            org_key=f"org-{n:04d}",
            display_name=name,
            until=AT + timedelta(days=1),
            by="cli:" + name,
        )
        for n in range(50)
    )
    tokens = tuple(
        DigestToken(org_key=f"org-{n:04d}", display_name=name, expires_at=AT + timedelta(days=3))
        for n in range(50)
    )
    drift = tuple(
        DigestDrift(org_key=f"org-{n:04d}", display_name=name, connector="X" * 100, detail=name)
        for n in range(50)
    )
    digest = message(
        open_incidents=700,
        opened=opened,
        opened_total=800,
        resolved=opened,
        resolved_total=900,
        muted=mutes,
        muted_total=1000,
        expiring=tokens,
        expiring_total=1100,
        drift=drift,
        drift_total=1200,
    )
    for language in LANGUAGES:
        blocks = digest_blocks(digest, language=language)
        assert_within_slack_limits(blocks)
        texts = sections(blocks)
        assert len(texts) == 6  # the counts and the five lists
        more = "… and {} more" if language == "en" else "… en nog {}"
        for text, total in zip(texts[1:], [800, 900, 1000, 1100, 1200], strict=True):
            shown = sum(line.startswith("• ") for line in text.splitlines())
            assert 3 <= shown < 50
            assert text.splitlines()[-1] == more.format(total - shown)
        dumped = json.dumps(blocks)
        assert "<!channel>" not in dumped and "<@U0EVIL>" not in dumped
        assert "&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;" in dumped
        assert len(digest_text(digest, language=language)) < 300


def test_every_list_shows_everything_when_it_fits() -> None:
    mutes = tuple(
        DigestMute(org_key=f"o{n}", display_name=f"O{n}", until=AT + timedelta(hours=1))
        for n in range(40)
    )
    blocks = digest_blocks(message(muted=mutes, muted_total=40), language="en")
    (muted,) = [text for text in sections(blocks) if text.startswith("*Muted*")]
    assert len(muted.splitlines()) == 41  # the heading and all forty, no "and N more"
    # The message carries 50 of 60: the rest is counted, not lost.
    blocks = digest_blocks(message(muted=mutes[:5], muted_total=60), language="en")
    (muted,) = [text for text in sections(blocks) if text.startswith("*Muted*")]
    assert muted.splitlines()[-1] == "… and 55 more"


def test_a_message_written_by_another_version_still_reads() -> None:
    newer = {**message().model_dump(mode="json"), "version": 2, "a_field_added_later": [1]}
    assert DailyDigest.model_validate(newer).day == date(2026, 12, 1)
    older = {"day": "2026-12-01", "at": AT.isoformat()}  # the fields an early shape had
    read = DailyDigest.model_validate(older)
    assert read.kind == "digest" and read.quiet and read.timezone == "UTC"
    assert digest_blocks(read, language="en")  # renders
    strange_zone = message(timezone="Mars/Olympus_Mons")
    assert "UTC" in contexts(digest_blocks(strange_zone, language="en"))[0]


async def test_open_drift_warnings_are_in_the_digest(make_runtime, sandbox, digest_settings):
    """One line per connector that broke (removed, renamed, retyped), the oldest drift first;
    fields only added, a drift cleared (or accepted) and an org without drift are not listed."""
    from storage.baselines import clear_drift, record_drift, take_baseline
    from storage.digest import open_drift_warnings

    runtime = make_runtime(sandbox.url_template, **digest_settings)
    cipher = runtime.require_cipher()
    drifts = {
        "acme": {
            "hash": "a1b2c3d4e5f6",
            "connectors": [
                {"connector": "SBQ_BTW", "kind": "get", "removed": ["AccountNo"]},
                {"connector": "KnSubject", "kind": "update", "added": ["New"]},  # no harm
                {
                    "connector": "SBQ_Debiteuren",
                    "renamed": [{"old": "DebtorId", "new": "DebtorNr"}],
                    "retyped": [{"field": "Name", "old": "string", "new": "int"}],
                },
            ],
        },
        "beta": {
            "hash": "0123456789ab",
            "connectors": [{"connector": "FiEntries", "removed": ["X"]}],
        },
    }
    with runtime.session() as session:
        for key, found_at in [("acme", AT - timedelta(hours=3)), ("beta", AT - timedelta(days=2))]:
            org = register(session, cipher, key, display_name=key.title())
            baseline = take_baseline(session, org.id, {}, at=AT - timedelta(days=9), by="bot")
            record_drift(session, baseline, latest={}, drift=drifts[key], found_at=found_at)
        quiet = register(session, cipher, "core", display_name="Core")
        take_baseline(session, quiet.id, {}, at=AT - timedelta(days=9), by="bot")
        mended = register(session, cipher, "dusk", display_name="Dusk")
        baseline = take_baseline(session, mended.id, {}, at=AT - timedelta(days=9), by="bot")
        record_drift(session, baseline, latest={}, drift=drifts["beta"], found_at=AT)
        clear_drift(session, baseline)  # back to the baseline (or accepted)
    with runtime.session() as session:
        listing = open_drift_warnings(session)
        first = open_drift_warnings(session, limit=1)
    assert [(r.org_key, r.connector, r.detail, r.since) for r in listing.items] == [
        ("beta", "FiEntries", "-X", AT - timedelta(days=2)),
        ("acme", "SBQ_BTW", "-AccountNo", AT - timedelta(hours=3)),
        ("acme", "SBQ_Debiteuren", "DebtorId→DebtorNr; Name: string→int", AT - timedelta(hours=3)),
    ]
    assert listing.total == 3 and first.total == 3 and len(first.items) == 1

    assert await digest_tick(runtime, AT) is True
    digest = the_digest(runtime)
    assert digest.drift_total == 3 and not digest.quiet
    assert digest.drift[0] == DigestDrift(
        org_key="beta", display_name="Beta", connector="FiEntries", detail="-X"
    )
    assert "`SBQ_Debiteuren`" in sections(digest_blocks(digest, language="nl"))[-1]
