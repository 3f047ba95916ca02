"""Block Kit builders: pure functions from data to Slack message blocks (and their fallback text).

Builders never call Slack, a database or a clock; every one takes the reader's ``language``.
This module holds what they share: Slack's limits, mrkdwn escaping, truncation, redaction of
token-shaped strings, the state emoji and relative times.

Slack's limits (shared/slack.md §1.9): 50 blocks per message, 3000 characters of section text,
150 of header text. Slack also refuses a message whose blocks hold too much text in total
(``msg_blocks_too_long``, undocumented, seen from about 11,000 to 13,000 characters:
slackapi/bolt-js#2509 and #2867), so builders keep their text within ``MESSAGE_TEXT_BUDGET``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block

from afas.tokens import redact_tokens
from bot.i18n import t

MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
MESSAGE_TEXT_BUDGET = 9000
ELLIPSIS = "…"

STATE_EMOJI = {
    "healthy": ":white_check_mark:",
    "degraded": ":warning:",
    "failing": ":x:",
    "unreachable": ":grey_question:",
    None: ":white_circle:",  # never checked
}
STATE_LABEL_KEY = {
    "healthy": "state.healthy",
    "degraded": "state.degraded",
    "failing": "state.failing",
    "unreachable": "state.unreachable",
    None: "state.never_checked",
}

_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")
REDACTED = "[…]"


def escape(text: object) -> str:
    """Text for mrkdwn: ``&``, ``<``, ``>`` as entities, so nothing becomes a mention or a link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def redact(text: str) -> str:
    """Token-shaped strings out (the one detector, ``afas.tokens``): AFAS messages are shown
    as they come, and may echo a request."""
    return redact_tokens(text, REDACTED)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in "…" when cut; never cuts an ``&amp;`` in two."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ELLIPSIS))]
    cut = _ENTITY_TAIL.sub("", cut)
    return cut.rstrip() + ELLIPSIS


def outside_text(text: str, limit: int) -> str:
    """Text that comes from outside (AFAS, a user): redacted, escaped for mrkdwn, truncated."""
    return truncate(escape(redact(text)), limit)


def plain(text: str, limit: int) -> str:
    """Text for a plain_text object (a header, a button): redacted and truncated, not escaped."""
    return truncate(redact(text), limit)


def mt(key: str, language: str, /, **values: object) -> str:
    """A catalogue text for mrkdwn, with every value escaped."""
    return t(key, language, **{name: escape(value) for name, value in values.items()})


def state_key(state: object) -> str | None:
    """An overall state (str or OverallState) as its value; anything unknown as never checked."""
    value = str(state) if state is not None else None
    return value if value in STATE_EMOJI else None


def to_dicts(blocks: Iterable[Block]) -> list[dict]:
    """Blocks as the JSON Slack takes; slack_sdk validates the limits on the way."""
    return [block.to_dict() for block in blocks]


def as_utc(moment: datetime) -> datetime:
    """A naive datetime (SQLite gives those) is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def time_ago(then: datetime, *, now: datetime, language: str) -> str:
    """ "5 min ago" / "5 min geleden", from ``now`` (never the clock)."""
    seconds = (as_utc(now) - as_utc(then)).total_seconds()
    if seconds < 60:
        return t("time.just_now", language)
    minutes = int(seconds // 60)
    if minutes < 60:
        return t("time.minutes_ago", language, n=minutes)
    hours = minutes // 60
    if hours < 24:
        return t("time.hours_ago", language, n=hours)
    days = hours // 24
    return t("time.days_ago.one" if days == 1 else "time.days_ago.other", language, n=days)


def duration_text(duration: timedelta, *, language: str) -> str:
    """A length of time, rounded up to whole minutes, hours or days: "45 min", "2 uur"."""
    minutes = max(1, math.ceil(duration.total_seconds() / 60))
    if minutes < 60:
        return t("time.minutes", language, n=minutes)
    hours = round(minutes / 60)
    if hours < 24:
        return t("time.hours", language, n=hours)
    days = round(hours / 24)
    return t("time.days.one" if days == 1 else "time.days.other", language, n=days)
