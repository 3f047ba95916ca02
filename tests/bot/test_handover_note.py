"""The handover note of an org with a known history: check runs, incidents, a mute and a live
test export written through the storage functions with explicit times (a fake clock), then the
note gathered from the database, in both languages, as Markdown and as Slack blocks.

The history (times UTC; the bot's time zone is Europe/Amsterdam, CET in November, CEST on
1 October); every check interval is 15 minutes, so a check's state counts for at most 30:

    10-27 11:50 failing      before the window (12:00): counts 12:00-12:20    20 min bad
    10-27 23:30 healthy      10-28 00:30 local: the strip's first day        30 min good
    11-20 09:00 healthy, 09:15 failing, 09:30 failing, 09:45 healthy         45 good of 75
    11-24 10:00 failing, 10:15 unreachable, 10:30 degraded                   30 good of 60
    11-26 11:00 healthy, 11:15 healthy, 11:45 failing (the latest report)    45 good of 60

Covered 245 min, available 150 min: 61.2% (150/245 = 0.6122…, rounded down).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from afas.report import ItemStatus
from bot.blocks.handover import handover_blocks, handover_text
from bot.handover_markdown import duration_words, handover_markdown, percent
from bot.services.handover import (
    Actor,
    HelpdeskTask,
    Square,
    availability,
    build_note,
    day_strip,
    guide_sections,
    helpdesk_tasks,
    load_note,
    note_items,
    section_of,
    who_acts,
)
from storage.checks import record_check_run
from storage.exports import finish_export_run, start_export_run
from storage.incidents import acknowledge_incident, close_incident, open_incident
from storage.models import CheckRun, Org
from storage.orgs import add_org, mute_org
from tests.bot.blocks import factories as f

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=UTC)


def latest_report():
    """What the 11:45 check found: SBQ_BTW and KnSubject missing, a near miss, an expiry."""
    gets = [g for g in f.GETS if g not in ("SBQ_BTW", "SBQ_Kostenplaasten_All")]
    gets.append("SBQ_Kostenplaatsen_All")
    updates = [u for u in f.UPDATES if u != "KnSubject"]
    meta = f.ok(
        {
            "getConnectors": [{"id": g} for g in gets],
            "updateConnectors": [{"id": u} for u in updates],
            "info": {"envid": "O12345AA", "tokenExpiry": "2027-01-15"},
        }
    )
    return f.report_from(f.probes(meta))


RUNS = [
    ("10-27T11:50", "failing"),
    ("10-27T23:30", "healthy"),
    ("11-20T09:00", "healthy"),
    ("11-20T09:15", "failing"),
    ("11-20T09:30", "failing"),
    ("11-20T09:45", "healthy"),
    ("11-24T10:00", "failing"),
    ("11-24T10:15", "unreachable"),
    ("11-24T10:30", "degraded"),
    ("11-26T11:00", "healthy"),
    ("11-26T11:15", "healthy"),
    ("11-26T11:45", "failing"),
]
LIVE_EXPORT = {
    "mode": "live",
    "overall": "ok",
    "headline": {"nl": "De live testexport is gelukt.", "en": "The live test export worked."},
    "checks": [
        {
            "id": "dossier-destination",
            "guide_section": "1.2.9",
            "status": "ok",
            "title": {"nl": "Dossieritemtype", "en": "Dossier item type"},
            "found": {"nl": "bijlage geaccepteerd", "en": "attachment accepted"},
            "fix": None,
        }
    ],
}


def seed(runtime) -> Org:
    """Acme with the history above; and "bare": never checked, no channel, no owner."""
    items = [item.to_dict() for item in latest_report().items]
    cipher = runtime.require_cipher()
    with runtime.session() as session:
        org = add_org(
            session,
            key="acme",
            display_name="Acme BV",
            environment=f.ENV,
            token=f.TOKEN,
            cipher=cipher,
            actor="U0AGENT",
            alert_channel="C0ALERTS",
            cs_owner="U0CS",
            notes="Belt liefst 's ochtends.\nContact: Jan <jan@acme.nl> *niet* op vrijdag",
            now=at("10-01T08:00"),
        ).org
        for when, state in RUNS:
            last = when == RUNS[-1][0]
            record_check_run(
                session,
                org,
                trigger="schedule",
                started_at=at(when),
                duration_ms=400,
                overall_state=state,
                items=items if last else [],
            )
        for opened, closed, acked in [
            ("10-01T09:00", "10-02T09:00", None),  # closed before the window: not in the note
            ("10-20T10:00", "10-28T10:00", None),  # overlaps the window's start: 8 days
            ("11-20T09:15", "11-20T09:45", "U0AGENT"),  # 30 min
            ("11-24T10:00", "11-25T13:45", None),  # 1 day 3 h 45 min
            ("11-26T09:20", None, None),  # open for 2 h 40 min, nobody acknowledged it
        ]:
            incident, _ = open_incident(session, org, kind="org", opened_at=at(opened))
            if acked:
                acknowledge_incident(session, incident.id, actor=acked, at=at(opened))
            if closed:
                close_incident(session, incident.id, closed_at=at(closed))
        mute_org(session, "acme", until=NOW + timedelta(hours=2), actor="U0AGENT", now=NOW)
        add_org(
            session,
            key="bare",
            display_name="bare",
            environment=f.ENV,
            token=f.TOKEN,
            cipher=cipher,
            actor="cli:operator",
            now=at("11-25T08:00"),
        )
        session.commit()
        start_export_run(
            session,
            org,
            run_id="r1",
            mode="live",
            actor="U0ADMIN",
            owner="test",
            lease_seconds=60,
            now=at("11-25T10:00"),
        )
        finish_export_run(session, "r1", overall="ok", report=LIVE_EXPORT, now=at("11-25T10:02"))
        session.refresh(org)
        session.expunge(org)
        return org


@pytest.fixture
def acme(runtime) -> Org:
    return seed(runtime)


def test_incident_durations_are_exact_and_open_ones_run_until_now(runtime, acme) -> None:
    note = load_note(runtime, "acme", now=NOW)
    spans = [(s.opened_at, s.duration, s.is_open) for s in note.incidents]
    assert spans == [
        (at("11-26T09:20"), timedelta(hours=2, minutes=40), True),
        (at("11-24T10:00"), timedelta(days=1, hours=3, minutes=45), False),
        (at("11-20T09:15"), timedelta(minutes=30), False),
        (at("10-20T10:00"), timedelta(days=8), False),
    ]
    assert note.incidents[2].acknowledged_by == "U0AGENT"


def test_availability_is_time_weighted_between_checks(runtime, acme) -> None:
    value = load_note(runtime, "acme", now=NOW).availability
    assert value.covered == timedelta(minutes=245)
    assert value.available == timedelta(minutes=150)
    assert value.hold == timedelta(minutes=30) and value.window == timedelta(days=30)
    assert percent(value.ratio, "en") == "61.2%" and percent(value.ratio, "nl") == "61,2%"


def test_the_strip_has_a_square_for_each_of_the_30_days_in_the_bots_time_zone(
    runtime, acme
) -> None:
    days = load_note(runtime, "acme", now=NOW).days
    assert len(days) == 30
    assert days[0].day.isoformat() == "2026-10-28" and days[-1].day.isoformat() == "2026-11-26"
    squares = {day.day.isoformat(): day.square for day in days if day.checks}
    assert squares == {
        "2026-10-28": Square.GOOD,  # 10-27 23:30 UTC is 00:30 in Amsterdam
        "2026-11-20": Square.SOME_BAD,  # 2 of 4 failing: not more than half
        "2026-11-24": Square.MOSTLY_BAD,  # 2 of 3
        "2026-11-26": Square.SOME_BAD,  # 1 of 3
    }
    assert sum(day.square is Square.NO_CHECKS for day in days) == 26


def test_guide_sections_say_what_is_missing_and_who_must_act(runtime, acme) -> None:
    note = load_note(runtime, "acme", now=NOW)
    summary = {s.section: (s.status, s.ok, len(s.items), s.actors) for s in note.sections}
    customer = (Actor.CUSTOMER,)
    assert summary == {
        "1 (2)": (ItemStatus.NOT_CHECKABLE, 0, 1, ()),
        "1.2": (ItemStatus.OK, 2, 2, ()),
        "1.2.3": (ItemStatus.FAILING, 13, 15, customer),
        "1.2.4": (ItemStatus.FAILING, 4, 5, customer),
        "1.2.5": (ItemStatus.OK, 2, 2, ()),
        "1.2.7": (ItemStatus.NOT_CHECKABLE, 3, 4, ()),
        "1.2.8": (ItemStatus.OK, 1, 1, ()),
        "1.2.9": (ItemStatus.OK, 1, 1, ()),  # settled by the live test export
    }
    assert list(summary) == [s.section for s in note.sections]  # the guide's order
    missing = {i.requirement_id: i.finding for s in note.sections for i in s.open_items}
    assert missing["get.SBQ_BTW"] == "missing"
    assert missing["get.SBQ_Kostenplaasten_All"] == "near_miss"
    assert missing["update.KnSubject"] == "missing"
    dossier = next(i for s in note.sections for i in s.items if i.guide_section == "1.2.9")
    assert dossier.from_export and dossier.actor is Actor.NOBODY


def test_the_facts_of_the_org_token_mute_and_export(runtime, acme) -> None:
    note = load_note(runtime, "acme", now=NOW)
    assert note.checked_at == at("11-26T11:45") and note.state == "failing"
    assert note.token_fingerprint == f.TOKEN.fingerprint and note.token_readable is True
    assert note.token_expiry.kind == "date"
    assert note.token_expiry.at == datetime(2027, 1, 15, tzinfo=UTC)
    assert (note.mute.by, note.mute.until) == ("U0AGENT", NOW + timedelta(hours=2))
    assert (note.export.mode, note.export.overall, note.export.requested_by) == (
        "live",
        "ok",
        "U0ADMIN",
    )
    assert note.tasks == (HelpdeskTask("unacknowledged", {"since": at("11-26T09:20")}),)


def test_an_org_never_checked_has_our_side_to_do(runtime, acme) -> None:
    note = load_note(runtime, "bare", now=NOW)
    assert [task.code for task in note.tasks] == ["never_checked", "no_alert_channel", "no_owner"]
    assert note.sections == () and note.availability.ratio is None
    assert note.token_expiry.kind == "unknown" and note.export is None
    markdown = handover_markdown(note, language="en")
    assert "This org has never been checked" in markdown
    assert "Unknown: no checks in the last 30 days" in markdown
    assert "⬜" * 30 in markdown


ENGLISH = [
    "# Handover: Acme BV (acme)",
    "- **Key:** `acme`",
    "- **AFAS environment:** 12345 (production)",
    "- **Customer-success owner:** @U0CS",
    "- **Registered:** by @U0AGENT on 2026-10-01 10:00 CEST",
    "- **Token expires:** on 2027-01-15 (49 days left)",
    "- **Muted:** until 2026-11-26 15:00 CET, by @U0AGENT",
    "The facts come from the latest check, 2026-11-26 12:45 CET (15 min ago); "
    "AFAS was not asked for this note.",
    "### ❌ §1.2.3 GetConnectors — 13 of 15 in order · to act: the customer's AFAS administrator",
    "### ❌ §1.2.4 UpdateConnectors — 4 of 5 in order · to act: the customer's AFAS administrator",
    "### ✅ §1.2.5 User token — 2 of 2 in order",
    "### ✅ §1.2.9 Attachments (dossier item type) — 1 of 1 in order (from the latest live test "
    "export)",
    "### ➖ §1.2.7 Special connectors — 3 of 3 in order, 1 not visible through the API",
    "- 2026-11-26 10:20 CET: open for 2 h 40 min",
    "- 2026-11-24 11:00 CET to 2026-11-25 14:45 CET: 1 day 3 h 45 min",
    "- 2026-11-20 10:15 CET to 2026-11-20 10:45 CET: 30 min · acknowledged by @U0AGENT",
    "- 2026-10-20 12:00 CEST to 2026-10-28 11:00 CET: 8 days",
    "Nobody has acknowledged the incident of 2026-11-26 10:20 CET yet.",
    "**61.2% available**",
    "at most 30 min; time without a recent check is left out (covered: 4 h 5 min of 30 days)",
    "Per day, from 2026-10-28 to today 2026-11-26:",
    "Live test export on 2026-11-25 11:00 CET by @U0ADMIN: ok",
    "> Contact: Jan \\<jan@acme.nl\\> \\*niet\\* op vrijdag",
]
DUTCH = [
    "# Overdracht: Acme BV (acme)",
    "- **Geregistreerd:** door @U0AGENT op 2026-10-01 10:00 CEST",
    "- **Token verloopt:** op 2027-01-15 (nog 49 dagen)",
    "- **Gedempt:** tot 2026-11-26 15:00 CET, door @U0AGENT",
    "### ❌ §1.2.3 GetConnectoren — 13 van 15 in orde · aan zet: de AFAS-beheerder van de klant",
    "### ➖ §1 (2) Rechten van de gebruikers — niet te zien via de API",
    "- 2026-11-26 10:20 CET: nog open, al 2 u 40 min",
    "- 2026-11-24 11:00 CET tot 2026-11-25 14:45 CET: 1 dag 3 u 45 min",
    "**61,2% beschikbaar**",
    "Live testexport op 2026-11-25 11:00 CET door @U0ADMIN: in orde",
]


@pytest.mark.parametrize(("language", "expected"), [("en", ENGLISH), ("nl", DUTCH)])
def test_the_markdown_note_in_both_languages(runtime, acme, language, expected) -> None:
    markdown = handover_markdown(load_note(runtime, "acme", now=NOW), language=language)
    missing = [line for line in expected if line not in markdown]
    assert missing == [], markdown
    strip = ["⬜"] * 30
    strip[0], strip[23], strip[27], strip[29] = "🟩", "🟨", "🟥", "🟨"
    assert "\n" + "".join(strip) + "\n" in markdown


def test_the_slack_message_says_the_same_within_slacks_limits(runtime, acme) -> None:
    note = load_note(runtime, "acme", now=NOW)
    for language in ("nl", "en"):
        blocks = handover_blocks(note, language=language)
        assert len(blocks) <= 50
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        dumped = json.dumps(blocks, ensure_ascii=False)
        assert sum(len(b.get("text", {}).get("text", "")) for b in blocks) < 9000
        assert "<@U0CS>" in dumped and "<#C0ALERTS>" in dumped
        strip = [":white_large_square:"] * 30
        strip[0], strip[23] = ":large_green_square:", ":large_yellow_square:"
        strip[27], strip[29] = ":large_red_square:", ":large_yellow_square:"
        assert "\n" + "".join(strip) + "\n" in dumped.replace("\\n", "\n")
        assert "&lt;jan@acme.nl&gt;" in dumped  # the notes, escaped for mrkdwn
    english = json.dumps(handover_blocks(note, language="en"), ensure_ascii=False)
    assert "13 of 15 in order · to act: the customer's AFAS administrator" in english
    assert "open for 2 h 40 min" in english and "*61.2% available*" in english
    assert handover_text(note, language="nl") == "Overdracht: Acme BV (acme)"


def test_no_token_and_no_ciphertext_in_the_note(runtime, acme) -> None:
    note = load_note(runtime, "acme", now=NOW)
    secret, ciphertext = f.TOKEN.reveal_data(), acme.token_ciphertext
    assert len(ciphertext) > 40
    for language in ("nl", "en"):
        for text in (
            handover_markdown(note, language=language),
            json.dumps(handover_blocks(note, language=language)),
            repr(note),
        ):
            assert secret not in text and ciphertext not in text
            assert f.TOKEN.fingerprint in text


# -- the pure pieces -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requirement_id", "kind", "status", "finding", "actor"),
    [
        ("get.SBQ_BTW", "get_connector", ItemStatus.OK, "present", Actor.NOBODY),
        ("get.SBQ_BTW", "get_connector", ItemStatus.FAILING, "missing", Actor.CUSTOMER),
        ("get.DDI_Kosten", "get_connector", ItemStatus.FAILING, "near_miss", Actor.CUSTOMER),
        ("token", "token", ItemStatus.FAILING, "rejected", Actor.CUSTOMER),
        ("token-expiry", "token_expiry", ItemStatus.WARNING, "soon", Actor.CUSTOMER),
        ("token-expiry", "token_expiry", ItemStatus.WARNING, "unreadable", Actor.HELPDESK),
        ("environment", "environment_match", ItemStatus.FAILING, "mismatch", Actor.HELPDESK),
        ("get.SBQ_BTW", "get_connector", ItemStatus.UNKNOWN, "not_checked", Actor.CUSTOMER),
        ("get.SBQ_BTW", "get_connector", ItemStatus.UNKNOWN, "afas_unavailable", Actor.HELPDESK),
        ("dossier-item-type", "not_checkable", ItemStatus.NOT_CHECKABLE, "x", Actor.HELPDESK),
        ("user-rights", "not_checkable", ItemStatus.NOT_CHECKABLE, "x", Actor.NOBODY),
    ],
)
def test_who_must_act(requirement_id, kind, status, finding, actor) -> None:
    assert who_acts(requirement_id, kind, status, finding) is actor


def test_without_a_live_export_the_dossier_item_type_is_ours_to_check() -> None:
    items = note_items(item.to_dict() for item in latest_report().items)
    (dossier,) = [s for s in guide_sections(items) if s.section == "1.2.9"]
    assert dossier.status is ItemStatus.NOT_CHECKABLE and dossier.actors == (Actor.HELPDESK,)


@pytest.mark.parametrize(
    ("given", "section"),
    [("1.1, 1.2.3", "1.2.3"), ("1.2.5", "1.2.5"), ("1 (2)", "1 (2)"), ("", "?")],
)
def test_an_item_belongs_to_the_last_section_it_names(given, section) -> None:
    assert section_of(given) == section


def test_availability_counts_a_check_until_the_next_at_most_its_hold() -> None:
    states = [(NOW - timedelta(hours=3), "healthy"), (NOW - timedelta(hours=1), "failing")]
    value = availability(
        states, since=NOW - timedelta(hours=4), until=NOW, hold=timedelta(minutes=30)
    )
    assert (value.available, value.covered) == (timedelta(minutes=30), timedelta(minutes=60))
    empty = availability([], since=NOW - timedelta(days=30), until=NOW, hold=timedelta(1))
    assert empty.ratio is None


def test_a_day_in_the_strip_follows_the_time_zone_across_midnight() -> None:
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # 00:30 on the 26th in Amsterdam
    days = day_strip([(late, "failing")], until=NOW, zone=AMSTERDAM, days=2)
    assert [(d.day.isoformat(), d.square) for d in days] == [
        ("2026-11-25", Square.NO_CHECKS),
        ("2026-11-26", Square.MOSTLY_BAD),
    ]
    utc = day_strip([(late, "failing")], until=NOW, zone=ZoneInfo("UTC"), days=2)
    assert utc[0].square is Square.MOSTLY_BAD


@pytest.mark.parametrize(
    ("duration", "en", "nl"),
    [
        (timedelta(seconds=59), "less than a minute", "minder dan een minuut"),
        (timedelta(minutes=45, seconds=59), "45 min", "45 min"),
        (timedelta(hours=2), "2 h", "2 u"),
        (timedelta(days=1, minutes=5), "1 day 5 min", "1 dag 5 min"),
        (timedelta(days=30), "30 days", "30 dagen"),
    ],
)
def test_durations_are_exact_to_the_minute(duration, en, nl) -> None:
    assert duration_words(duration, "en") == en and duration_words(duration, "nl") == nl


def test_our_side_lists_what_the_helpdesk_must_fix() -> None:
    org = Org(
        key="x",
        display_name="X",
        env_number="1",
        env_kind="test",
        token_ciphertext="c",
        token_key_id="k",
        token_fingerprint="f",
        check_interval_seconds=900,
        created_by="a",
        created_at=NOW,
        updated_by="a",
        updated_at=NOW,
    )
    stale = CheckRun(
        org_id=1,
        trigger="schedule",
        started_at=NOW - timedelta(hours=2),
        duration_ms=1,
        overall_state="healthy",
    )
    tasks = helpdesk_tasks(
        org,
        latest=stale,
        token_readable=False,
        incidents=(),
        default_alert_channel="C0DEF",
        now=NOW,
    )
    assert [t.code for t in tasks] == ["token_unreadable", "stale", "alerts_default", "no_owner"]
    fresh = CheckRun(
        org_id=1,
        trigger="schedule",
        started_at=NOW - timedelta(minutes=44),
        duration_ms=1,
        overall_state="healthy",
    )
    org.alert_channel, org.cs_owner = "C0A", "U0CS"
    assert (
        helpdesk_tasks(
            org,
            latest=fresh,
            token_readable=None,
            incidents=(),
            default_alert_channel=None,
            now=NOW,
        )
        == ()
    )


def test_200_failing_items_stay_within_slacks_limits_and_the_file_has_them_all() -> None:
    items = [f.failing_item(n, length=300).to_dict() for n in range(200)]
    org = Org(
        key="big",
        display_name="B" * 200,
        env_number="12345",
        env_kind="production",
        token_ciphertext="c",
        token_key_id="k",
        token_fingerprint="f",
        notes="n" * 5000,
        check_interval_seconds=900,
        created_by="U0AGENT",
        created_at=NOW,
        updated_by="U0AGENT",
        updated_at=NOW,
    )
    run = CheckRun(
        org_id=1,
        trigger="schedule",
        started_at=NOW,
        duration_ms=1,
        overall_state="failing",
        items=items,
    )
    note = build_note(
        org,
        latest=run,
        states=[(NOW, "failing")],
        incidents=[],
        export=None,
        token_replaced_at=None,
        token_readable=True,
        default_alert_channel=None,
        timezone="Europe/Amsterdam",
        now=NOW,
    )
    for language in ("nl", "en"):
        blocks = handover_blocks(note, language=language)
        assert len(blocks) <= 50
        texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        assert all(len(text) <= 3000 for text in texts)
        assert sum(map(len, texts)) < 9000
        assert any("the file has everything" in t or "het bestand heeft alles" in t for t in texts)
        assert len(blocks[0]["text"]["text"]) <= 150
        markdown = handover_markdown(note, language=language)
        assert all(f"GetConnector C{n} " in markdown for n in range(200))


def test_reports_and_alerts_carry_the_handover_button() -> None:
    from bot.alerting.messages import read_message
    from bot.blocks.alert import alert_blocks
    from bot.blocks.report import report_blocks

    report = report_blocks(f.near_misses(), language="nl", org_key="acme")
    alert = alert_blocks(
        read_message(
            "incident.opened",
            {
                "org_key": "acme",
                "display_name": "Acme BV",
                "environment": "12345 (production)",
                "channel": "C0ALERTS",
                "overall": "failing",
                "headline": {"nl": "Fout", "en": "Failing"},
                "problems": [],
                "opened_at": NOW.isoformat(),
            },
        ),
        language="en",
        incident_id=7,
    )
    for blocks, label in ((report, "Overdracht"), (alert, "Handover")):
        buttons = {e["action_id"]: e for e in blocks[-1]["elements"]}
        assert buttons["handover"]["value"] == "acme"
        assert buttons["handover"]["text"]["text"] == label
