"""``/afas status``: every org at a glance, worst first, times relative to the reader's now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.status import OrgStatusRow, status_blocks, status_text, who_text
from tests.bot.blocks.helpers import assert_within_slack_limits, contexts, header, sections, types

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def row(key: str, state: str | None, ago: timedelta | None = timedelta(minutes=5), **kw):
    return OrgStatusRow(
        key=key,
        display_name=kw.pop("display_name", key.title()),
        environment=kw.pop("environment", "12345 (production)"),
        state=state,
        last_checked_at=NOW - ago if ago is not None else None,
        **kw,
    )


def order_of(blocks: list[dict], keys: list[str]) -> list[str]:
    text = "\n".join(sections(blocks)[1:])
    return sorted(keys, key=lambda key: text.index(f"*{key}*"))


def test_orgs_are_grouped_worst_first_with_counts_on_top() -> None:
    rows = [
        row("zeta", "healthy"),
        row("alpha", "healthy"),
        row("new", None, ago=None),
        row("slow", "degraded"),
        row("down", "unreachable"),
        row("broken", "failing"),
        row("bad", "failing"),
    ]
    blocks = status_blocks(rows, language="en", now=NOW)
    assert types(blocks)[:2] == ["header", "section"]
    assert header(blocks) == "AFAS orgs"
    assert sections(blocks)[0] == (
        ":x: Failing: 2  ·  :grey_question: Unreachable: 1  ·  :warning: Degraded: 1  ·  "
        ":white_circle: Never checked: 1  ·  :white_check_mark: Healthy: 2"
    )
    keys = [r.key for r in rows]
    assert order_of(blocks, keys) == ["bad", "broken", "down", "slow", "new", "alpha", "zeta"]
    failing = sections(blocks)[1]
    assert failing.splitlines() == [
        "*Failing* (2)",
        ":x: *bad* (Bad) · 12345 (production) · checked 5 min ago",
        ":x: *broken* (Broken) · 12345 (production) · checked 5 min ago",
    ]
    assert ":white_circle: *new* (New) · 12345 (production) · never checked" in sections(blocks)[4]
    assert_within_slack_limits(blocks)


@pytest.mark.parametrize(
    ("ago", "english", "dutch"),
    [
        (timedelta(seconds=20), "checked just now", "gecontroleerd zojuist"),
        (timedelta(seconds=-30), "checked just now", "gecontroleerd zojuist"),  # clock skew
        (timedelta(minutes=5, seconds=59), "checked 5 min ago", "gecontroleerd 5 min geleden"),
        (timedelta(hours=3, minutes=59), "checked 3 h ago", "gecontroleerd 3 uur geleden"),
        (timedelta(days=1, hours=2), "checked 1 day ago", "gecontroleerd 1 dag geleden"),
        (timedelta(days=9), "checked 9 days ago", "gecontroleerd 9 dagen geleden"),
    ],
)
def test_last_checked_reads_relative_in_the_readers_language(ago, english, dutch) -> None:
    rows = [row("acme", "healthy", ago=ago)]
    assert english in sections(status_blocks(rows, language="en", now=NOW))[1]
    assert dutch in sections(status_blocks(rows, language="nl", now=NOW))[1]


def test_dutch_overview() -> None:
    rows = [row("acme", "failing"), row("beta", None, ago=None)]
    blocks = status_blocks(rows, language="nl", now=NOW)
    assert header(blocks) == "AFAS-organisaties"
    assert sections(blocks)[0] == ":x: Fout: 1  ·  :white_circle: Nooit gecontroleerd: 1"
    assert sections(blocks)[1].startswith("*Fout* (1)\n:x: *acme* (Acme)")
    assert "nog nooit gecontroleerd" in sections(blocks)[2]


def test_naive_times_from_the_database_count_as_utc() -> None:
    naive = OrgStatusRow("acme", "Acme", "1 (test)", "healthy", NOW.replace(tzinfo=None))
    assert "checked just now" in sections(status_blocks([naive], language="en", now=NOW))[1]


def test_muted_orgs_are_marked_until_the_mute_ends() -> None:
    rows = [
        row("quiet", "failing", muted_until=NOW + timedelta(minutes=44, seconds=30)),
        row("day", "failing", muted_until=(NOW + timedelta(hours=20)).replace(tzinfo=None)),
        row("over", "failing", muted_until=NOW - timedelta(minutes=1)),
    ]
    english = "\n".join(sections(status_blocks(rows, language="en", now=NOW)))
    assert (
        ":x: *quiet* (Quiet) · 12345 (production) · checked 5 min ago · :mute: muted for 45 min"
        in english
    )
    assert ":mute: muted for 20 h" in english
    assert "*over* (Over) · 12345 (production) · checked 5 min ago\n" in english + "\n"
    assert english.startswith(":x: Failing: 3  ·  :mute: muted: 2")
    dutch = "\n".join(sections(status_blocks(rows, language="nl", now=NOW)))
    assert ":mute: gedempt, nog 45 min" in dutch and ":mute: gedempt, nog 20 uur" in dutch


def test_a_mute_says_until_when_in_the_zone_given_and_who() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    until = (NOW + timedelta(hours=6)).astimezone(amsterdam)  # 19:00 in Amsterdam
    rows = [
        row("agent", "failing", muted_until=until, muted_by="U0SANNE"),
        row("shell", "failing", muted_until=until, muted_by="cli:ops<&>`x`"),
        row("old", "failing", muted_until=NOW + timedelta(hours=6)),  # from before muted_by
    ]
    english = "\n".join(sections(status_blocks(rows, language="en", now=NOW)))
    assert ":mute: muted for 6 h (until 2026-11-26 19:00 CET, by <@U0SANNE>)" in english
    assert "(until 2026-11-26 19:00 CET, by `cli:ops&lt;&amp;&gt;'x'`)" in english
    assert ":mute: muted for 6 h (until 2026-11-26 18:00 UTC)" in english  # a UTC moment
    dutch = "\n".join(sections(status_blocks(rows, language="nl", now=NOW)))
    assert ":mute: gedempt, nog 6 uur (tot 2026-11-26 19:00 CET, door <@U0SANNE>)" in dutch
    assert "<&>" not in english


def test_who_is_a_mention_only_for_a_slack_user() -> None:
    assert who_text("U0SANNE") == "<@U0SANNE>"
    assert who_text("W0ENTERPRISE") == "<@W0ENTERPRISE>"
    assert who_text("cli:root") == "`cli:root`"
    assert who_text("<!channel>") == "`&lt;!channel&gt;`"
    assert who_text("u0lower") == "`u0lower`"


def test_names_are_escaped() -> None:
    rows = [row("acme", "healthy", display_name="<!channel> & <@U1>", environment="<b>")]
    text = sections(status_blocks(rows, language="en", now=NOW))[1]
    assert "(&lt;!channel&gt; &amp; &lt;@U1&gt;) · &lt;b&gt;" in text
    assert "<!channel>" not in text


def test_an_unknown_state_counts_as_never_checked() -> None:
    blocks = status_blocks([row("acme", "paused")], language="en", now=NOW)
    assert sections(blocks)[0] == ":white_circle: Never checked: 1"


@pytest.mark.parametrize("language", ["nl", "en"])
def test_thousands_of_orgs_stay_within_the_limits_worst_first(language) -> None:
    rows = [row(f"org-{n:04d}", "healthy", display_name="X" * 70) for n in range(2000)]
    rows += [row(f"bad-{n}", "failing") for n in range(10)]
    blocks = status_blocks(rows, language=language, now=NOW)
    assert_within_slack_limits(blocks)
    listed = "\n".join(sections(blocks)[1:])
    assert all(f"*bad-{n}*" in listed for n in range(10))
    shown = sum(line.startswith(":") for line in listed.splitlines())
    more = contexts(blocks)[-1]
    left = 2010 - shown
    assert more == (
        f"… and {left} more orgs" if language == "en" else f"… en nog {left} organisaties"
    )


def test_many_short_lines_stop_at_the_block_limit() -> None:
    # one org per group section: a new section per state, repeated states make no new sections
    rows = [row(f"o{n}", state) for n in range(5) for state in ("failing", "healthy")]
    assert len(status_blocks(rows, language="en", now=NOW)) == 4
    tiny = status_blocks(rows, language="en", now=NOW, max_blocks=3)
    assert len(tiny) == 3 and contexts(tiny) == ["… and 10 more orgs"]
    home = status_blocks(
        [row(f"o{n}", "healthy", display_name="Y" * 70) for n in range(3000)],
        language="en",
        now=NOW,
        max_blocks=100,
    )
    assert len(home) <= 100


def test_no_orgs_yet_says_how_to_register_one() -> None:
    english = status_blocks([], language="en", now=NOW)
    assert sections(english) == ["No orgs are registered yet; register one with `/afas register`."]
    dutch = status_blocks([], language="nl", now=NOW)
    assert (
        "`/afas register`" in sections(dutch)[0] and "nog geen organisaties" in sections(dutch)[0]
    )
    assert status_text([], language="en", now=NOW).startswith("No orgs are registered yet")


def test_status_text_sums_up_the_states() -> None:
    rows = [row("a", "failing"), row("b", "healthy"), row("c", "healthy")]
    assert status_text(rows, language="en", now=NOW) == "AFAS orgs — Failing: 1, Healthy: 2"
    assert status_text(rows, language="nl", now=NOW) == "AFAS-organisaties — Fout: 1, In orde: 2"
