"""The overview of all orgs (``/afas status``): counts per state, then the orgs worst first.

Several orgs share one section (one mrkdwn line each), so a few hundred orgs fit in one
message; beyond Slack's limits the rest is summed up in an "and N more" line. Relative times
("checked 5 min ago") are computed from the ``now`` handed in, never from the clock. A mute
shows until when and who set it; the end is shown in the zone of the ``muted_until`` handed in
(the caller converts it to the bot's time zone; a naive one is UTC).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.blocks import (
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT_LIMIT,
    STATE_EMOJI,
    STATE_LABEL_KEY,
    as_utc,
    duration_text,
    escape,
    outside_text,
    plain,
    state_key,
    time_ago,
    to_dicts,
    truncate,
)
from bot.i18n import normalise_language, t
from bot.slack.durations import local_time_text

#: Worst first; None is "never checked" (and any state this version does not know).
GROUP_ORDER: tuple[str | None, ...] = ("failing", "unreachable", "degraded", None, "healthy")
_NAME_LIMIT = 80
_ENVIRONMENT_LIMIT = 60
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_ACTOR_LIMIT = 40


@dataclass(frozen=True)
class OrgStatusRow:
    key: str
    display_name: str
    environment: str
    state: str | None
    last_checked_at: datetime | None
    muted_until: datetime | None = None
    muted_by: str | None = None  # a Slack user id, or "cli:<user>"

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and as_utc(self.muted_until) > as_utc(now)


def status_blocks(
    rows: Sequence[OrgStatusRow],
    *,
    language: str,
    now: datetime,
    max_blocks: int = MAX_BLOCKS,
) -> list[dict]:
    """Counts per state, then one line per org, grouped worst first.

    ``max_blocks`` is 50 for a message; the App Home tab may pass 100.
    """
    lang = normalise_language(language)
    if not rows:
        return to_dicts([SectionBlock(text=MarkdownTextObject(text=t("status.empty", lang)))])
    groups = _groups(rows)
    head: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=plain(t("status.title", lang), HEADER_TEXT_LIMIT), emoji=True)
        ),
        SectionBlock(text=MarkdownTextObject(text=_counts(groups, rows, lang, now))),
    ]
    entries = [
        (
            t("status.group", lang, label=t(STATE_LABEL_KEY[state], lang), count=len(members)),
            [_line(row, lang, now) for row in members],
        )
        for state, members in groups.items()
        if members
    ]
    room = max_blocks - len(head)
    sections, shown = _layout(entries, max_sections=room)
    body: list[Block] = [_section(lines) for lines in sections]
    if shown < len(rows):
        sections, shown = _layout(entries, max_sections=room - 1)
        more = t("status.more", lang, count=len(rows) - shown)
        body = [_section(lines) for lines in sections]
        body.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return to_dicts([*head, *body])


def status_text(rows: Sequence[OrgStatusRow], *, language: str, now: datetime) -> str:
    """The notification text: the counts per state."""
    lang = normalise_language(language)
    if not rows:
        return t("status.empty", lang)
    groups = _groups(rows)
    summary = ", ".join(
        t("status.count", lang, label=t(STATE_LABEL_KEY[state], lang), count=len(members))
        for state, members in groups.items()
        if members
    )
    return t("status.text", lang, title=t("status.title", lang), summary=summary)


def _groups(rows: Sequence[OrgStatusRow]) -> dict[str | None, list[OrgStatusRow]]:
    groups: dict[str | None, list[OrgStatusRow]] = {state: [] for state in GROUP_ORDER}
    for row in rows:
        groups[state_key(row.state)].append(row)
    for members in groups.values():
        members.sort(key=lambda row: (row.key.casefold(), row.key))
    return groups


def _counts(
    groups: dict[str | None, list[OrgStatusRow]],
    rows: Sequence[OrgStatusRow],
    lang: str,
    now: datetime,
) -> str:
    parts = [
        f"{STATE_EMOJI[state]} "
        + t("status.count", lang, label=t(STATE_LABEL_KEY[state], lang), count=len(members))
        for state, members in groups.items()
        if members
    ]
    muted = sum(row.muted(now) for row in rows)
    if muted:
        parts.append(":mute: " + t("status.muted_count", lang, count=muted))
    return "  ·  ".join(parts)


def _line(row: OrgStatusRow, lang: str, now: datetime) -> str:
    name = f"{STATE_EMOJI[state_key(row.state)]} *{escape(row.key)}*"
    if row.display_name and row.display_name != row.key:
        name += f" ({outside_text(row.display_name, _NAME_LIMIT)})"
    parts = [name]
    if row.environment:
        parts.append(outside_text(row.environment, _ENVIRONMENT_LIMIT))
    if row.last_checked_at is None:
        parts.append(t("status.never_checked", lang))
    else:
        when = time_ago(row.last_checked_at, now=now, language=lang)
        parts.append(t("status.checked", lang, when=when))
    if row.muted_until is not None and row.muted(now):
        remaining = duration_text(as_utc(row.muted_until) - as_utc(now), language=lang)
        detail = _mute_detail(row.muted_until, row.muted_by, lang)
        parts.append(":mute: " + t("status.muted", lang, remaining=remaining) + " " + detail)
    return truncate(" · ".join(parts), SECTION_TEXT_LIMIT // 4)


def who_text(actor: str) -> str:
    """Who did something, for mrkdwn: a Slack user as a mention, anyone else (``cli:ops``) as
    escaped code."""
    if _SLACK_USER.fullmatch(actor):
        return f"<@{actor}>"
    shown = truncate(escape(actor).replace("`", "'"), _ACTOR_LIMIT)
    return f"`{shown}`"


def _mute_detail(until: datetime, by: str | None, lang: str) -> str:
    """ "(until 2026-12-24 18:00 CET, by @sanne)": the end in the zone it was handed in."""
    if by:
        return t("mute.status", lang, until=local_time_text(until), user=who_text(by))
    return t("mute.status_anonymous", lang, until=local_time_text(until))


def _layout(
    entries: list[tuple[str, list[str]]], *, max_sections: int
) -> tuple[list[list[str]], int]:
    """Lines into sections (a new one per group, or when one is full), within the limits.

    Returns the sections and how many org lines they hold; stops at the first line that does
    not fit in ``max_sections`` sections or the message's text budget.
    """
    sections: list[list[str]] = []
    size: list[int] = []
    used = shown = 0
    for heading, lines in entries:
        for index, line in enumerate(lines):
            piece = [heading, line] if index == 0 else [line]
            length = sum(len(part) + 1 for part in piece)
            if used + length > MESSAGE_TEXT_BUDGET:
                return sections, shown
            if index == 0 or size[-1] + length > SECTION_TEXT_LIMIT:
                if len(sections) >= max_sections:
                    return sections, shown
                sections.append([])
                size.append(0)
            sections[-1].extend(piece)
            size[-1] += length
            used += length
            shown += 1
    return sections, shown


def _section(lines: list[str]) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))
