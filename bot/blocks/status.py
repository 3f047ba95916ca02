"""The overview of all orgs (``/afas status``): counts per state, then the orgs worst first.

``status_page_blocks`` shows one page of the dashboard's query (``storage.dashboard``, the one
the App Home pages with): the counts of every org on top, then ``PAGE_SIZE`` orgs worst first,
one mrkdwn line each, grouped by state, and Previous / Next and a filter by state under them.
A page's size is fixed so that every page fits a message whatever the orgs are called: at most
``PAGE_SIZE`` lines of at most ``LINE_LIMIT`` characters leave room for the frame within the
message's text budget, and a page is at most 15 blocks (Slack allows 50). The buttons carry the
page and the filter (``HomePosition``), read back as untrusted input.

``status_blocks`` lays out a given list of orgs in one message, summing up what does not fit in
an "and N more" line. Relative times ("checked 5 min ago") are computed from the ``now`` handed
in, never from the clock. A mute shows until when and who set it; the end is shown in the zone
of the ``muted_until`` handed in (the caller converts it to the bot's time zone; a naive one is
UTC).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from afas.environments import AfasEnvironment, EnvironmentKind
from bot.blocks import (
    BUTTON_TEXT_LIMIT,
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
from bot.blocks.home import ALL_ORGS, FILTERS, HomePosition
from bot.i18n import normalise_language, t
from bot.slack.durations import local_time_text
from storage.dashboard import NEVER_CHECKED, DashboardCounts, DashboardPage, DashboardRow

#: Worst first; None is "never checked" (and any state this version does not know).
GROUP_ORDER: tuple[str | None, ...] = ("failing", "unreachable", "degraded", None, "healthy")
_NAME_LIMIT = 80
_ENVIRONMENT_LIMIT = 60
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_ACTOR_LIMIT = 40

#: Orgs per page (the App Home's 25 too), and the longest line one may take: the longest real
#: one is about 310 characters (a 40-character key, an 80-character name, the environment, a
#: check 9,999 days ago, a mute by a long CLI name). The lines take at most 8,000 of the
#: message's 9,000 characters (``MESSAGE_TEXT_BUDGET``), the frame at most about 850.
PAGE_SIZE = 25
LINE_LIMIT = 320
NOTICE_LIMIT = 300
PREVIOUS_ACTION = "status_previous"
NEXT_ACTION = "status_next"
FILTER_ACTION = "status_filter"
PAGING_BLOCK = "status_paging"
_OPTION_LIMIT = 75


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


def _line(row: OrgStatusRow, lang: str, now: datetime, limit: int = SECTION_TEXT_LIMIT // 4) -> str:
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
    return truncate(" · ".join(parts), limit)


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


# -- one page of every org -------------------------------------------------------------------


def status_row(row: DashboardRow, language: str, zone: tzinfo | None = None) -> OrgStatusRow:
    """A dashboard row as an overview line: its environment in the reader's language, the end
    of its mute in ``zone`` (the bot's time zone; UTC if None)."""
    try:
        environment = AfasEnvironment(row.env_number, EnvironmentKind(row.env_kind))
        shown = environment.label_in(normalise_language(language))
    except ValueError:  # a kind this version does not know: show what is stored
        shown = f"{row.env_number} ({row.env_kind})"
    until = row.mute_until
    if until is not None and zone is not None:
        until = as_utc(until).astimezone(zone)
    return OrgStatusRow(
        key=row.key,
        display_name=row.display_name,
        environment=shown,
        state=row.state,
        last_checked_at=row.last_checked_at,
        muted_until=until,
        muted_by=row.muted_by,
    )


def status_page_blocks(
    page: DashboardPage,
    *,
    language: str,
    now: datetime,
    zone: tzinfo | None = None,
    notice: str | None = None,
) -> list[dict]:
    """One page of ``/afas status``: the counts of every org, where this page is, its orgs
    grouped by state worst first, then Previous / Next and the filter. ``notice`` (a catalogue
    text: a forged button, a page that moved) is shown on top."""
    lang = normalise_language(language)
    blocks: list[Block] = []
    if notice:
        blocks.append(_warning(notice))
    if page.counts.total == 0:
        return to_dicts([*blocks, _text_section(t("status.empty", lang))])
    blocks.insert(
        0,
        HeaderBlock(
            text=PlainTextObject(text=plain(t("status.title", lang), HEADER_TEXT_LIMIT), emoji=True)
        ),
    )
    blocks.append(_text_section(_page_counts(page.counts, lang)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_position(page, lang))]))
    if not page.rows:
        blocks.append(_text_section(t("status.empty_filter", lang)))
    for heading, lines in _page_groups(page, lang, now, zone):
        blocks += [_section(part) for part in _split(heading, lines)]
    blocks.append(_paging(page, lang))
    return to_dicts(blocks)


def status_page_text(page: DashboardPage, *, language: str) -> str:
    """The notification text: the counts per state of every org."""
    lang = normalise_language(language)
    if page.counts.total == 0:
        return t("status.empty", lang)
    summary = ", ".join(
        t("status.count", lang, label=_label(state, lang), count=count)
        for state, count in page.counts.by_state.items()
        if count
    )
    return t("status.text", lang, title=t("status.title", lang), summary=summary)


def _emoji_state(state: str) -> str | None:
    return None if state == NEVER_CHECKED else state


def _label(state: str, lang: str) -> str:
    return t(STATE_LABEL_KEY[_emoji_state(state)], lang)


def _page_counts(counts: DashboardCounts, lang: str) -> str:
    parts = [
        f"{STATE_EMOJI[_emoji_state(state)]} "
        + t("status.count", lang, label=_label(state, lang), count=count)
        for state, count in counts.by_state.items()
        if count
    ]
    if counts.muted:
        parts.append(":mute: " + t("status.muted_count", lang, count=counts.muted))
    return "  ·  ".join(parts)


def _position(page: DashboardPage, lang: str) -> str:
    if page.matching == 0:
        text = t("status.position_none", lang)
    else:
        text = t(
            "status.position",
            lang,
            first=page.first_index + 1,
            last=page.first_index + len(page.rows),
            total=page.matching,
            page=page.page + 1,
            pages=page.page_count,
        )
    if page.state is not None:
        text = f"*{_label(page.state, lang)}* · {text}"
    return text


def _page_groups(
    page: DashboardPage, lang: str, now: datetime, zone: tzinfo | None
) -> list[tuple[str, list[str]]]:
    """The page's rows by state, in the order given (worst first): a heading with the state's
    count among every org, then one line per org."""
    groups: list[tuple[str, list[str]]] = []
    current: str | None = None
    for row in page.rows:
        state = row.state or NEVER_CHECKED
        if state != current:
            count = page.counts.by_state.get(state, 0)
            groups.append((t("status.group", lang, label=_label(state, lang), count=count), []))
            current = state
        groups[-1][1].append(_line(status_row(row, lang, zone), lang, now, LINE_LIMIT))
    return groups


def _split(heading: str, lines: list[str]) -> list[list[str]]:
    """A group's heading and lines in as few sections as Slack's section limit allows."""
    parts: list[list[str]] = [[heading]]
    size = len(heading)
    for line in lines:
        if size + 1 + len(line) > SECTION_TEXT_LIMIT:
            parts.append([])
            size = -1
        parts[-1].append(line)
        size += 1 + len(line)
    return parts


def _paging(page: DashboardPage, lang: str) -> ActionsBlock:
    elements: list = []
    if page.page > 0:
        elements.append(
            _button(
                "status.previous", lang, PREVIOUS_ACTION, HomePosition(page.page - 1, page.state)
            )
        )
    if page.page + 1 < page.page_count:
        elements.append(
            _button("status.next", lang, NEXT_ACTION, HomePosition(page.page + 1, page.state))
        )
    current = page.state if page.state is not None else ALL_ORGS
    options = [_filter_option(value, page.counts, lang) for value in FILTERS]
    elements.append(
        StaticSelectElement(
            action_id=FILTER_ACTION,
            placeholder=PlainTextObject(text=t("status.filter_placeholder", lang)),
            options=options,
            initial_option=options[FILTERS.index(current)],
        )
    )
    return ActionsBlock(block_id=PAGING_BLOCK, elements=elements)


def _button(key: str, lang: str, action_id: str, position: HomePosition) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=plain(t(key, lang), BUTTON_TEXT_LIMIT), emoji=True),
        action_id=action_id,
        value=position.value(),
    )


def _filter_option(value: str, counts: DashboardCounts, lang: str) -> Option:
    if value == ALL_ORGS:
        label = t("status.filter_all", lang, count=counts.total)
    else:
        label = t(
            "status.filter_state", lang, label=_label(value, lang), count=counts.by_state[value]
        )
    return Option(value=value, text=PlainTextObject(text=truncate(label, _OPTION_LIMIT)))


def _warning(notice: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=":warning: " + truncate(notice, NOTICE_LIMIT)))


def _text_section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))
