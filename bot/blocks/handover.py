"""The handover note as a Slack message: the same parts as the Markdown file
(bot/handover_markdown.py), in the same words, shortened to Slack's limits (50 blocks, 3000
characters a section, the message's text budget): long lists end in "and N more", and the
attached file has everything. Pure: the note in, blocks out."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from afas.report import ItemStatus
from bot.blocks.common import (
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    STATE_LABEL_KEY,
    escape,
    outside_text,
    plain,
    redact,
    state_key,
    to_dicts,
    truncate,
)
from bot.handover_markdown import (
    STATUS_KEY,
    actors_words,
    availability_meaning,
    availability_words,
    environment_words,
    expiry_words,
    export_words,
    facts_words,
    incident_words,
    is_slack_user,
    item_tail,
    legend,
    local_time,
    section_name,
    section_summary,
    strip_range,
    task_words,
    zone_of,
)
from bot.i18n import normalise_language, t
from bot.services.handover import Actor, HandoverNote, NoteItem, Square

HANDOVER_ACTION = "handover"

SLACK_SQUARE = {
    Square.GOOD: ":large_green_square:",
    Square.SOME_BAD: ":large_yellow_square:",
    Square.MOSTLY_BAD: ":large_red_square:",
    Square.NO_CHECKS: ":white_large_square:",
}
SLACK_STATUS = {
    ItemStatus.OK: ":white_check_mark:",
    ItemStatus.WARNING: ":warning:",
    ItemStatus.FAILING: ":x:",
    ItemStatus.UNKNOWN: ":grey_question:",
    ItemStatus.NOT_CHECKABLE: ":heavy_minus_sign:",
}
# Budgets per part, so that together they stay well within the message's text budget.
_OPEN_ITEMS_LIMIT = 2800
_LIST_LIMIT = 1500
_NOTES_LIMIT = 1000
_PART_LIMIT = 300
_MORE_ROOM = 100
# Matched whole (``fullmatch``): ``$`` alone also matches before a final line break.
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,20}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def handover_blocks(note: HandoverNote, *, language: str) -> list[dict]:
    """The note as at most a dozen blocks, each within Slack's limits."""
    lang = normalise_language(language)
    zone = zone_of(note)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=plain(_title(note, lang), HEADER_TEXT_LIMIT))),
        _section(_org_lines(note, lang, zone)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=truncate(
                        t("handover.generated", lang, time=local_time(note.now, zone))
                        + " "
                        + escape(facts_words(note, lang)),
                        CONTEXT_TEXT_LIMIT,
                    )
                )
            ]
        ),
    ]
    blocks += _setup_blocks(note, lang)
    blocks.append(_section(_ours_text(note, lang, zone)))
    blocks.append(_section(_incidents_text(note, lang, zone)))
    blocks.append(_section(_availability_text(note, lang)))
    blocks.append(_section(_export_text(note, lang, zone)))
    blocks.append(_section(_notes_text(note, lang)))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=t("handover.file_follows", lang))])
    )
    return to_dicts(blocks)


def handover_text(note: HandoverNote, *, language: str) -> str:
    """The notification and screen-reader text: mrkdwn to Slack, so the name is escaped."""
    return truncate(escape(redact(_title(note, normalise_language(language)))), 300)


def slack_person(text: str | None) -> str:
    """A Slack user id as a mention; any other text (a name typed as the owner) escaped."""
    if not text:
        return "?"
    return f"<@{text}>" if is_slack_user(text) and _USER_ID.fullmatch(text) else escape(text)


def slack_channel(text: str | None) -> str:
    """A channel id as a channel link; any other text escaped."""
    if not text:
        return "?"
    return f"<#{text}>" if _CHANNEL_ID.fullmatch(text) else escape(text)


# -- the parts -------------------------------------------------------------------------------


def _title(note: HandoverNote, lang: str) -> str:
    name = f"{note.display_name} ({note.key})" if note.display_name != note.key else note.key
    return t("handover.title", lang, org=name)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))


def _org_lines(note: HandoverNote, lang: str, zone: ZoneInfo) -> str:
    token = t("handover.org.token_facts", lang, fingerprint=f"`{escape(note.token_fingerprint)}`")
    if note.token_replaced_at is not None:
        token += ", " + t(
            "handover.org.token_replaced", lang, time=local_time(note.token_replaced_at, zone)
        )
    if note.token_readable is False:
        token += ", " + t("handover.org.token_unreadable", lang)
    elif note.token_readable is None:
        token += ", " + t("handover.org.token_unverified", lang)
    owner = slack_person(note.cs_owner) if note.cs_owner else t("handover.org.owner_none", lang)
    registered = t(
        "handover.org.registered_by",
        lang,
        user=slack_person(note.created_by),
        time=local_time(note.created_at, zone),
    )
    channel = (
        slack_channel(note.alert_channel)
        if note.alert_channel
        else t("handover.org.alert_channel_none", lang)
    )
    if note.mute is None:
        muted = t("handover.org.mute_none", lang)
    elif note.mute.by:
        muted = t(
            "handover.org.muted_until_by",
            lang,
            time=local_time(note.mute.until, zone),
            user=slack_person(note.mute.by),
        )
    else:
        muted = t("handover.org.muted_until", lang, time=local_time(note.mute.until, zone))
    rows = [
        ("handover.org.key", f"`{escape(note.key)}`"),
        ("handover.org.name", outside_text(note.display_name, _PART_LIMIT)),
        ("handover.org.environment", environment_words(note, lang)),
        ("handover.org.owner", owner),
        ("handover.org.registered", registered),
        ("handover.org.token", token),
        ("handover.org.expiry", expiry_words(note.token_expiry, note.now, zone, lang)),
        ("handover.org.alert_channel", channel),
        ("handover.org.muted", muted),
    ]
    if note.state:
        rows.append(("handover.org.state", t(STATE_LABEL_KEY[state_key(note.state)], lang)))
    return "\n".join(f"*{t(label, lang)}:* {value}" for label, value in rows)


def _setup_blocks(note: HandoverNote, lang: str) -> list[Block]:
    heading = f"*{t('handover.setup.heading', lang)}*"
    if not note.sections:
        return [_section(f"{heading}\n{t('handover.facts_none', lang)}")]
    lines = [
        f"{SLACK_STATUS[s.status]} *{escape(section_name(s.section, lang))}*: "
        f"{escape(section_summary(s, lang))}"
        for s in note.sections
    ]
    blocks = [_section(heading + "\n" + _within(lines, SECTION_TEXT_LIMIT - len(heading), lang))]
    # what nobody can see and nobody must act on is not "missing": the file lists it
    items = [
        item
        for section in note.sections
        for item in section.open_items
        if not (item.status is ItemStatus.NOT_CHECKABLE and item.actor is Actor.NOBODY)
    ]
    if items:
        details = [_item_line(item, lang) for item in items]
        title = f"*{t('handover.setup.open_heading', lang)}*"
        blocks.append(_section(title + "\n" + _within(details, _OPEN_ITEMS_LIMIT, lang)))
    else:
        blocks.append(_section(t("handover.setup.none_open", lang)))
    return blocks


def _item_line(item: NoteItem, lang: str) -> str:
    text = (
        f"{SLACK_STATUS[item.status]} *{outside_text(item.title.get(lang), 200)}* "
        f"({t(STATUS_KEY[item.status], lang)}): {outside_text(item.found.get(lang), _PART_LIMIT)}"
    )
    return text + item_tail(item, lang, lambda fix: outside_text(fix, 500))


def _ours_text(note: HandoverNote, lang: str, zone: ZoneInfo) -> str:
    heading = f"*{t('handover.ours.heading', lang)}*"
    if not note.tasks:
        return f"{heading}\n{t('handover.ours.none', lang)}"
    lines = [
        "• "
        + task_words(task, zone, lang, channel=slack_channel(str(task.values.get("channel", ""))))
        for task in note.tasks
    ]
    return heading + "\n" + _within(lines, _LIST_LIMIT, lang)


def _incidents_text(note: HandoverNote, lang: str, zone: ZoneInfo) -> str:
    heading = f"*{t('handover.incidents.heading', lang)}*"
    if not note.incidents:
        return f"{heading}\n{t('handover.incidents.none', lang)}"
    lines = []
    for span in note.incidents:
        text = ("🔴 " if span.is_open else "• ") + incident_words(span, zone, lang)
        if span.acknowledged_by:
            text += " · " + t(
                "handover.incidents.acknowledged", lang, user=slack_person(span.acknowledged_by)
            )
        lines.append(text)
    return heading + "\n" + _within(lines, _LIST_LIMIT, lang)


def _availability_text(note: HandoverNote, lang: str) -> str:
    value = note.availability
    strip = "".join(SLACK_SQUARE[day.square] for day in note.days)
    return "\n".join(
        [
            f"*{t('handover.availability.heading', lang)}*",
            f"*{availability_words(value, lang)}*. {availability_meaning(value, lang)}",
            strip_range(note.days, lang),
            strip,
            legend(SLACK_SQUARE, lang),
        ]
    )


def _export_text(note: HandoverNote, lang: str, zone: ZoneInfo) -> str:
    heading = f"*{t('handover.export.heading', lang)}*"
    if note.export is None:
        return f"{heading}\n{t('handover.export.none', lang)}"
    export = note.export
    text = export_words(export, zone, lang, user=slack_person(export.requested_by))
    if export.headline is not None:
        text += "\n" + outside_text(export.headline.get(lang), 500)
    return f"{heading}\n{text}"


def _notes_text(note: HandoverNote, lang: str) -> str:
    heading = f"*{t('handover.notes.heading', lang)}*"
    if not note.notes.strip():
        return f"{heading}\n{t('handover.notes.none', lang)}"
    quoted = "\n".join(f"> {outside_text(line, _NOTES_LIMIT)}" for line in note.notes.splitlines())
    return f"{heading}\n{truncate(quoted, _NOTES_LIMIT)}"


def _within(lines: list[str], limit: int, lang: str) -> str:
    """As many whole lines as fit in ``limit`` characters, then "and N more: the file has
    everything" (room for that line is kept while more lines follow)."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        cost = len(line) + 1
        room = limit if index == len(lines) - 1 else limit - _MORE_ROOM
        if used + cost > room:
            more = t("handover.more", lang, count=len(lines) - index)
            return "\n".join([*shown, f"_{more}_"])
        shown.append(line)
        used += cost
    return "\n".join(shown)


__all__ = [
    "HANDOVER_ACTION",
    "SLACK_SQUARE",
    "SLACK_STATUS",
    "actors_words",
    "handover_blocks",
    "handover_text",
    "slack_channel",
    "slack_person",
]
