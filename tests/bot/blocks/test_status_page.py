"""``/afas status``, one page: the counts of every org on top, where the page is, its orgs
grouped worst first, Previous / Next carrying page and filter, and every page within Slack's
limits whatever the orgs are called."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.common import MESSAGE_TEXT_BUDGET
from bot.blocks.status import (
    FILTER_ACTION,
    LINE_LIMIT,
    NEXT_ACTION,
    PAGE_SIZE,
    PREVIOUS_ACTION,
    status_page_blocks,
    status_page_text,
)
from bot.slack.listeners.home import parse_position
from storage.dashboard import (
    NEVER_CHECKED,
    STATE_ORDER,
    DashboardCounts,
    DashboardPage,
    DashboardRow,
)
from tests.bot.blocks.helpers import (
    all_text,
    assert_within_slack_limits,
    contexts,
    dump,
    header,
    sections,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STATES = STATE_ORDER
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def org(key: str, state: str | None, **fields) -> DashboardRow:
    values = {
        "key": key,
        "display_name": f"{key.title()} BV",
        "env_number": "12345",
        "env_kind": "production",
        "state": state,
        "last_checked_at": NOW - timedelta(minutes=5) if state else None,
        "mute_until": None,
        "muted_by": None,
    }
    return DashboardRow(**(values | fields))


def page_of(
    rows: list[DashboardRow],
    *,
    page: int = 0,
    pages: int = 1,
    state: str | None = None,
    by_state: dict[str, int] | None = None,
    muted: int = 0,
) -> DashboardPage:
    counts = by_state or {s: sum((r.state or NEVER_CHECKED) == s for r in rows) for s in STATES}
    counts = {s: counts.get(s, 0) for s in STATE_ORDER}
    matching = sum(counts.values()) if state is None else counts[state]
    return DashboardPage(
        rows=rows,
        page=page,
        page_size=PAGE_SIZE,
        page_count=pages,
        matching=matching,
        state=state,
        counts=DashboardCounts(by_state=counts, muted=muted, open_incidents=0),
    )


def element(blocks: list[dict], action_id: str) -> dict | None:
    for block in blocks:
        for candidate in block.get("elements", []):
            if candidate.get("action_id") == action_id:
                return candidate
    return None


def test_counts_of_every_org_on_top_then_this_pages_orgs_grouped_worst_first() -> None:
    rows = [org("bad", "failing"), org("down", "unreachable"), org("new", None)]
    rows += [org("alpha", "healthy"), org("zeta", "healthy")]
    by_state = {"failing": 3, "unreachable": 1, "degraded": 0, NEVER_CHECKED: 1, "healthy": 40}
    page = page_of(rows, page=0, pages=2, by_state=by_state, muted=2)
    blocks = status_page_blocks(page, language="en", now=NOW)
    assert header(blocks) == "AFAS orgs"
    texts = sections(blocks)
    assert texts[0] == (
        ":x: Failing: 3  ·  :grey_question: Unreachable: 1  ·  :white_circle: Never checked: 1"
        "  ·  :white_check_mark: Healthy: 40  ·  :mute: muted: 2"
    )
    assert contexts(blocks) == ["Orgs 1–5 of 45 · page 1 of 2"]
    assert texts[1].splitlines() == [
        "*Failing* (3)",  # the state's count among every org, not on this page
        ":x: *bad* (Bad BV) · 12345 (production) · checked 5 min ago",
    ]
    assert texts[3].splitlines()[0] == "*Never checked* (1)"
    assert texts[4].splitlines() == [
        "*Healthy* (40)",
        ":white_check_mark: *alpha* (Alpha BV) · 12345 (production) · checked 5 min ago",
        ":white_check_mark: *zeta* (Zeta BV) · 12345 (production) · checked 5 min ago",
    ]
    assert status_page_text(page, language="en") == (
        "AFAS orgs — Failing: 3, Unreachable: 1, Never checked: 1, Healthy: 40"
    )


def test_dutch_page_with_a_filter_and_the_mute_in_the_bots_zone() -> None:
    muted = org(
        "stil", "failing", mute_until=NOW + timedelta(hours=6), muted_by="U0SANNE", env_kind="test"
    )
    page = page_of([muted], state="failing", by_state={"failing": 1, "healthy": 9}, muted=1)
    blocks = status_page_blocks(page, language="nl", now=NOW, zone=AMSTERDAM)
    assert contexts(blocks) == ["*Fout* · Organisaties 1–1 van 1 · pagina 1 van 1"]
    line = sections(blocks)[1].splitlines()[1]
    assert line == (
        ":x: *stil* (Stil BV) · 12345 (test) · gecontroleerd 5 min geleden · "
        ":mute: gedempt, nog 6 uur (tot 2026-11-26 19:00 CET, door <@U0SANNE>)"
    )
    select = element(blocks, FILTER_ACTION)
    assert select["initial_option"]["value"] == "failing"
    assert [o["value"] for o in select["options"]] == ["all", *STATE_ORDER]
    assert [o["text"]["text"] for o in select["options"]][:2] == [
        "Alle organisaties (10)",
        "Fout (1)",
    ]


def test_previous_and_next_carry_the_page_and_the_filter_read_back_by_the_parser() -> None:
    rows = [org(f"o{n}", "healthy") for n in range(PAGE_SIZE)]
    first = status_page_blocks(
        page_of(rows, page=0, pages=3, state="healthy", by_state={"healthy": 60}),
        language="en",
        now=NOW,
    )
    assert element(first, PREVIOUS_ACTION) is None
    position, problem = parse_position(element(first, NEXT_ACTION)["value"])
    assert (position.page, position.state, problem) == (1, "healthy", None)
    middle = status_page_blocks(
        page_of(rows, page=1, pages=3, state="healthy", by_state={"healthy": 60}),
        language="en",
        now=NOW,
    )
    assert parse_position(element(middle, PREVIOUS_ACTION)["value"])[0].page == 0
    assert parse_position(element(middle, NEXT_ACTION)["value"])[0].page == 2
    last = status_page_blocks(
        page_of(rows[:10], page=2, pages=3, state="healthy", by_state={"healthy": 60}),
        language="en",
        now=NOW,
    )
    assert element(last, NEXT_ACTION) is None and element(last, PREVIOUS_ACTION) is not None
    assert contexts(last) == ["*Healthy* · Orgs 51–60 of 60 · page 3 of 3"]


def test_no_orgs_says_how_to_register_and_an_empty_filter_says_how_to_see_all() -> None:
    empty = status_page_blocks(page_of([]), language="en", now=NOW)
    assert sections(empty) == ["No orgs are registered yet; register one with `/afas register`."]
    assert status_page_text(page_of([]), language="nl").startswith("Er zijn nog geen organisaties")
    none = page_of([], state="failing", by_state={"healthy": 3})
    blocks = status_page_blocks(none, language="en", now=NOW)
    assert "No orgs in this state. Choose ‘All orgs’ below" in sections(blocks)[1]
    assert contexts(blocks) == ["*Failing* · No orgs"]
    assert element(blocks, FILTER_ACTION) is not None  # the way out
    assert element(blocks, NEXT_ACTION) is None


def test_a_notice_comes_first() -> None:
    page = page_of([org("a", "healthy")])
    blocks = status_page_blocks(page, language="en", now=NOW, notice="I do not know that page")
    assert sections(blocks)[0] == ":warning: I do not know that page"
    assert status_page_blocks(page_of([]), language="en", now=NOW, notice="x")[0]["type"] == (
        "section"
    )


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_full_page_of_the_longest_orgs_stays_within_slacks_limits(language) -> None:
    """Keys of 40 characters, names of 200 that escaping makes longer still, the longest
    environment, a check 9,999 days ago, a mute by a 200-character CLI name: every page fits,
    and no line loses its end (the mute) to the line limit."""
    states = ["failing", "unreachable", "degraded", None, "healthy"]
    rows = [
        org(
            f"{'k' * 36}{n:04d}",
            states[n * len(states) // PAGE_SIZE],
            display_name="&<>" * 66 + "xx",
            env_number="123456789",
            env_kind="acceptance",
            last_checked_at=NOW - timedelta(days=9999),
            mute_until=NOW + timedelta(days=364, hours=23),
            muted_by="cli:" + "x" * 196,
        )
        for n in range(PAGE_SIZE)
    ]
    by_state = dict.fromkeys(STATE_ORDER, 99_999)
    page = page_of(rows, page=9998, pages=20_000, by_state=by_state, muted=99_999)
    notice = "That page does not exist (any more); this is page 20000 of 20000. " * 5
    blocks = status_page_blocks(page, language=language, now=NOW, zone=AMSTERDAM, notice=notice)
    assert_within_slack_limits(blocks)
    assert all_text(blocks) <= MESSAGE_TEXT_BUDGET
    assert len(blocks) <= 15
    lines = [line for text in sections(blocks)[2:] for line in text.splitlines()]
    orgs = [line for line in lines if line.startswith(":")]
    assert len(orgs) == PAGE_SIZE
    assert all(len(line) <= LINE_LIMIT and line.endswith("…`)") for line in orgs)
    for block in blocks:
        Block.parse(block).validate_json()  # slack_sdk's own checks, once more from JSON
    assert "<>" not in dump(blocks)  # escaped, never a mention or a link
