"""The App Home dashboard's builders: every page within Slack's limits (checked by slack_sdk's
own models), the reader's menu and language, paging values, and the digest that decides when a
refresh publishes."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.views import View

from bot.blocks.history import CheckLine, IncidentLine
from bot.blocks.home import (
    FILTER_ACTION,
    HOME_MAX_BLOCKS,
    NEXT_ACTION,
    ORG_MENU_ACTION,
    PAGE_SIZE,
    PREVIOUS_ACTION,
    REGISTER_ACTION,
    checking_modal,
    history_modal,
    home_digest,
    home_view,
    notice_modal,
    org_text,
    report_modal,
)
from bot.i18n import LANGUAGES
from storage.dashboard import STATE_ORDER, DashboardCounts, DashboardPage, DashboardRow
from tests.bot.blocks import factories as f

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PASTED = "<token><version>1</version><data>" + "AB" * 32 + "</data></token>"


def row(key: str, state: str | None = "healthy", **kw) -> DashboardRow:
    values = {
        "display_name": key.title(),
        "env_number": "12345",
        "env_kind": "production",
        "state": state,
        "last_checked_at": NOW - timedelta(minutes=5) if state else None,
        "mute_until": None,
        "muted_by": None,
    }
    values.update(kw)
    return DashboardRow(key=key, **values)


def page_of(rows, *, page=0, pages=1, matching=None, state=None, counts=None) -> DashboardPage:
    return DashboardPage(
        rows=rows,
        page=page,
        page_size=PAGE_SIZE,
        page_count=pages,
        matching=len(rows) if matching is None else matching,
        state=state,
        counts=counts
        or DashboardCounts(dict.fromkeys(STATE_ORDER, 300), muted=7, open_incidents=3),
    )


def busy_rows() -> list[DashboardRow]:
    """A full page of the longest rows there can be: every line, long names, odd actors."""
    rows = []
    for n in range(PAGE_SIZE):
        rows.append(
            row(
                f"org-{n:02d}-" + "x" * 30,
                STATE_ORDER[n % 5] if n % 5 != 3 else None,
                display_name=("Very long name & <@U0EVIL> " * 20) + PASTED,
                incident_opened_at=NOW - timedelta(hours=n + 1),
                incident_acknowledged_by="U0AGENT02" if n % 2 else "cli:an operator " * 10,
                mute_until=NOW + timedelta(hours=n + 1),
                muted_by=None if n % 3 == 0 else "U0MUTER",
            )
        )
    return rows


def assert_valid_home(view: dict) -> None:
    """Slack's limits, as slack_sdk's models check them, and the ones we count ourselves."""
    View(**view).to_dict()  # raises on a limit (blocks, texts, options, ids)
    assert view["type"] == "home"
    assert len(view["blocks"]) <= HOME_MAX_BLOCKS
    for block in view["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            accessory = block.get("accessory")
            if accessory and accessory["type"] == "overflow":
                assert len(accessory["options"]) <= 5
        assert len(block.get("block_id", "")) <= 255
    assert len(json.dumps(view)) < 250_000  # views.publish's view_too_large


def org_sections(view: dict) -> list[dict]:
    return [b for b in view["blocks"] if b.get("block_id", "").startswith("home_org.")]


def actions(view: dict) -> dict[str, dict]:
    found = {}
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if "action_id" in element:
                found[element["action_id"]] = element
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("is_agent", [False, True])
def test_a_full_page_of_long_rows_is_within_slacks_limits(language, is_agent, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        view = home_view(
            page_of(busy_rows(), page=1, pages=3, matching=70),
            language=language,
            now=NOW,
            is_agent=is_agent,
            notice="x" * 5000,
        )
    assert caplog.text == ""  # every text is in the catalogue, in both languages
    assert_valid_home(view)
    assert len(org_sections(view)) == PAGE_SIZE
    dumped = json.dumps(view)
    assert "AB" * 32 not in dumped  # a token-shaped display name is redacted
    assert "<@U0EVIL>" not in dumped and "&lt;@U0EVIL&gt;" in dumped  # no mention smuggled in


def test_the_menu_holds_what_the_reader_may_do() -> None:
    for is_agent, choices in (
        (False, ["check", "deep", "history"]),
        (True, ["check", "deep", "history", "handover", "mute", "edit"]),
    ):
        view = home_view(page_of([row("acme")]), language="en", now=NOW, is_agent=is_agent)
        (section,) = org_sections(view)
        menu = section["accessory"]
        assert menu["action_id"] == ORG_MENU_ACTION
        assert [o["value"] for o in menu["options"]] == [f"{c}:acme" for c in choices]
        assert (REGISTER_ACTION in actions(view)) is is_agent  # Register: agents only
    labels = [o["text"]["text"] for o in menu["options"]]
    assert labels == ["Check", "Deep check", "History", "Handover note", "Mute", "Edit"]


def test_counts_filter_and_position_in_dutch() -> None:
    counts = DashboardCounts(
        {"failing": 2, "unreachable": 1, "degraded": 0, "never": 4, "healthy": 1493},
        muted=5,
        open_incidents=2,
    )
    rows = [row(f"o{n}", "failing") for n in range(25)]
    view = home_view(
        page_of(rows, page=1, pages=3, matching=70, state="failing", counts=counts),
        language="nl",
        now=NOW,
        is_agent=True,
    )
    texts = json.dumps(view, ensure_ascii=False)
    assert (
        ":x: Fout: 2  ·  :grey_question: Onbereikbaar: 1  ·  :warning: Bijna in orde: 0  ·  "
        ":white_circle: Nooit gecontroleerd: 4  ·  :white_check_mark: In orde: 1493  ·  "
        ":mute: gedempt: 5  ·  :rotating_light: open storingen: 2"
    ) in texts
    assert "*Fout* · Organisaties 26–50 van 70 · pagina 2 van 3" in texts
    chosen = actions(view)[FILTER_ACTION]
    assert chosen["initial_option"]["value"] == "failing"
    assert [o["value"] for o in chosen["options"]] == ["all", *STATE_ORDER]
    assert actions(view)[REGISTER_ACTION]["text"]["text"] == "Organisatie registreren"


def test_previous_and_next_carry_the_page_and_filter() -> None:
    rows = [row("a")]
    first = actions(
        home_view(page_of(rows, page=0, pages=3), language="en", now=NOW, is_agent=False)
    )
    assert PREVIOUS_ACTION not in first
    assert json.loads(first[NEXT_ACTION]["value"]) == {"page": 1, "state": None}
    middle = actions(
        home_view(
            page_of(rows, page=1, pages=3, state="degraded"), language="en", now=NOW, is_agent=False
        )
    )
    assert json.loads(middle[PREVIOUS_ACTION]["value"]) == {"page": 0, "state": "degraded"}
    assert json.loads(middle[NEXT_ACTION]["value"]) == {"page": 2, "state": "degraded"}
    last = actions(
        home_view(page_of(rows, page=2, pages=3), language="en", now=NOW, is_agent=False)
    )
    assert NEXT_ACTION not in last and PREVIOUS_ACTION in last
    single = actions(home_view(page_of(rows), language="en", now=NOW, is_agent=False))
    assert NEXT_ACTION not in single and PREVIOUS_ACTION not in single


def test_a_row_shows_state_last_check_incident_and_mute() -> None:
    acked = row(
        "acme",
        "failing",
        display_name="Acme B.V.",
        incident_opened_at=NOW - timedelta(hours=3),
        incident_acknowledged_by="U0AGENT02",
        mute_until=NOW + timedelta(hours=2),
        muted_by="U0MUTER",
    )
    epoch = int((NOW - timedelta(hours=3)).timestamp())
    assert org_text(acked, "en", NOW).splitlines() == [
        ":x: *acme* (Acme B.V.) · 12345 (production)",
        "Failing · checked 5 min ago",
        f":rotating_light: incident open since <!date^{epoch}^{{date_short_pretty}} {{time}}"
        "|2026-11-26 09:00 UTC> (3 h) · acknowledged by <@U0AGENT02>",
        f":mute: muted by <@U0MUTER> until <!date^{epoch + 5 * 3600}^{{date_short_pretty}} "
        "{time}|2026-11-26 14:00 UTC>",
    ]
    fresh = row("new", None, incident_opened_at=NOW, mute_until=NOW - timedelta(minutes=1))
    lines = org_text(fresh, "nl", NOW).splitlines()
    assert lines[1] == "Nooit gecontroleerd · nog nooit gecontroleerd"
    assert lines[2].endswith("· nog door niemand opgepakt")
    assert len(lines) == 3  # the mute ran out: not shown
    by_cli = org_text(row("x", muted_by="cli:<ops>", mute_until=NOW + timedelta(days=1)), "en", NOW)
    assert "muted by cli:&lt;ops&gt; until" in by_cli


def test_nothing_registered_and_an_empty_filter_say_so() -> None:
    none = DashboardCounts(dict.fromkeys(STATE_ORDER, 0), muted=0, open_incidents=0)
    view = home_view(page_of([], counts=none), language="en", now=NOW, is_agent=True)
    assert_valid_home(view)
    assert "No orgs are registered yet" in json.dumps(view)
    filtered = home_view(page_of([], state="failing"), language="en", now=NOW, is_agent=False)
    assert "No orgs in this state" in json.dumps(filtered)


def test_each_publish_gives_the_menus_new_block_ids() -> None:
    page = page_of([row("acme")])
    ids = [
        org_sections(home_view(page, language="en", now=NOW, is_agent=True, generation=g))[0][
            "block_id"
        ]
        for g in (1, 2)
    ]
    assert ids[0] != ids[1]


def test_the_digest_ignores_the_clock_and_each_check_but_not_a_change() -> None:
    base = row(
        "acme",
        "failing",
        incident_opened_at=NOW,
        mute_until=NOW + timedelta(hours=1),
        muted_by="U0MUTER",
    )

    def digest(*rows, now=NOW, **kw):
        return home_digest(page_of(list(rows), **kw), language="en", is_agent=True, now=now)

    same = digest(base)
    assert digest(base, now=NOW + timedelta(minutes=20)) == same  # relative times only
    assert digest(replace(base, last_checked_at=NOW)) == same  # checked again, same result
    changes = [
        digest(replace(base, state="healthy")),
        digest(replace(base, incident_acknowledged_by="U0AGENT")),
        digest(replace(base, incident_opened_at=None)),
        digest(replace(base, muted_by="U0OTHER")),
        digest(base, now=NOW + timedelta(hours=2)),  # the mute ran out
        digest(base, page=1, pages=2),
        digest(base, counts=DashboardCounts(dict.fromkeys(STATE_ORDER, 1), 0, 0)),
    ]
    assert same not in changes and len(set(changes)) == len(changes)
    assert home_digest(page_of([base]), language="nl", is_agent=True, now=NOW) != same


def test_a_report_in_a_modal_has_no_buttons_that_need_a_response_url() -> None:
    for report in (f.near_misses(), f.rejected_token(), f.deep_with_fields(400)):
        view = report_modal(report, language="nl", org_key="acme", display_name="Acme")
        View(**view).to_dict()
        assert view["type"] == "modal" and len(view["title"]["text"]) <= 24
        assert not [b for b in view["blocks"] if b["type"] == "actions"]
        assert len(view["blocks"]) <= 50


def test_the_other_modals_are_valid_in_both_languages(caplog) -> None:
    checks = [CheckLine(NOW - timedelta(hours=n), "command", "failing") for n in range(10)]
    incidents = [IncidentLine(NOW - timedelta(days=2), None, "U0AGENT")]
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        for language in LANGUAGES:
            for view in (
                checking_modal("acme", deep=True, language=language),
                checking_modal("acme", deep=False, language=language),
                history_modal("acme", "Acme", checks, incidents, language=language, now=NOW),
                notice_modal(
                    "home.handover_posted",
                    language=language,
                    title_key="home.handover_title",
                    org="<acme>",
                ),
            ):
                View(**view).to_dict()
                assert len(view["title"]["text"]) <= 24
    assert caplog.text == ""
