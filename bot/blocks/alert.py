"""Alert messages in an org's alert channel: the incident's root message (edited when it is
acknowledged, when its cause or its problems change, when a mute of it ends, and when it
recovers: the root always shows the current truth) and the replies in its thread. Pure
builders over the typed outbox messages (bot/alerting/messages.py), so a message can be
written again at any time.

The root shows the cause (bot/alerting/causes.py) with what to do and where in the guide,
then the problems; an alert that was held (a mute, AFAS down for many orgs) says when it
really opened and why it comes now, with who muted and until when. Times are shown in
``zone`` (the bot's time zone; UTC when none is handed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.alerting.causes import cause_label, cause_todo, guide_section
from bot.alerting.messages import (
    HELD_PLATFORM,
    HoldNote,
    IncidentCauseChanged,
    IncidentHoldEnded,
    IncidentOpened,
    IncidentReminder,
    IncidentResolved,
    PlatformDown,
    PlatformUp,
    RootMessage,
)
from bot.blocks import (
    BUTTON_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    duration_text,
    escape,
    mt,
    outside_text,
    plain,
    redact,
    to_dicts,
    truncate,
)
from bot.blocks.handover import HANDOVER_ACTION
from bot.blocks.report import RECHECK_ACTION
from bot.blocks.status import who_text
from bot.i18n import normalise_language, t
from bot.slack.durations import local_time_text

ACK_ACTION = "alert_ack"
MUTE_ACTION = "alert_mute"
MUTE_LABELS = {"1h": "alert.mute_1h", "1d": "alert.mute_1d"}
MUTE_CHOICES = tuple(MUTE_LABELS)


def alert_blocks(
    message: RootMessage,
    *,
    language: str,
    incident_id: int,
    acknowledged_by: str | None = None,
    zone: ZoneInfo | None = None,
) -> list[dict]:
    """The root message of an open incident: what is wrong (its cause, what to do, the
    problems), since when, and the buttons. Any message that says what the root shows will
    do: the opening alert, a cause or problems change, the end of a mute."""
    lang = normalise_language(language)
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=plain(f"🚨 {t('alert.title', lang, org=message.org_name)}", HEADER_TEXT_LIMIT)
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=outside_text(message.headline.get(lang), SECTION_TEXT_LIMIT)
            )
        ),
    ]
    if message.cause is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=cause_text(message.cause, lang))))
    for item in message.problems:
        lines = [
            f"*{outside_text(item.title.get(lang), 200)}*"
            f" · {mt('alert.guide', lang, section=item.guide_section)}",
            outside_text(item.found.get(lang), 800),
        ]
        if item.fix is not None:
            lines.append(":wrench: " + outside_text(item.fix.get(lang), 800))
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
    context = [
        mt("alert.environment", lang, environment=message.environment_in(lang)),
        mt("alert.since", lang, time=_when(message.opened_at, zone)),
    ]
    hold = message.hold if isinstance(message, IncidentOpened) else None
    if hold is not None:
        context.append(":mute: " + held_text(hold, message.opened_at, lang, zone))
    if acknowledged_by:
        context.append(
            ":eyes: " + t("alert.acknowledged_by", lang, user=f"<@{escape(acknowledged_by)}>")
        )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]))
    buttons = []
    if not acknowledged_by:
        buttons.append(_button(t("alert.acknowledge", lang), ACK_ACTION, str(incident_id)))
    buttons.append(_button(t("alert.recheck", lang), RECHECK_ACTION, message.org_key))
    for choice in MUTE_CHOICES:
        buttons.append(
            _button(t(MUTE_LABELS[choice], lang), MUTE_ACTION, f"{message.org_key}:{choice}")
        )
    buttons.append(_button(t("handover.button", lang), HANDOVER_ACTION, message.org_key))
    blocks.append(ActionsBlock(block_id="alert_actions", elements=buttons))
    return to_dicts(blocks[:50])


def cause_text(cause: str, language: str) -> str:
    """The cause on the root: its name, what to do and where in the guide (mrkdwn)."""
    lang = normalise_language(language)
    line = t("cause.heading", lang, cause=escape(cause_label(cause, lang)))
    todo = cause_todo(cause, lang)
    if todo is not None:
        line += "\n:point_right: " + todo
        section = guide_section(cause)
        if section:
            line += " · " + mt("alert.guide", lang, section=section)
    return line


def held_text(hold: HoldNote, opened_at: datetime, language: str, zone: ZoneInfo | None) -> str:
    """Why an alert comes only now: opened while muted (by whom, until when) or while AFAS was
    down for many orgs."""
    lang = normalise_language(language)
    opened = _when(opened_at, zone)
    if hold.reason == HELD_PLATFORM:
        return t("alert_update.opened_while_platform", lang, time=opened)
    until = _when(hold.until, zone) if hold.until is not None else "?"
    if hold.by:
        return t(
            "alert_update.opened_while_muted",
            lang,
            time=opened,
            user=who_text(hold.by),
            until=until,
        )
    return t("alert_update.opened_while_muted_anonymous", lang, time=opened, until=until)


def cause_changed_reply(message: IncidentCauseChanged, *, language: str) -> str:
    """The thread hears that the cause changed, from what to what, and what to do now."""
    lang = normalise_language(language)
    text = ":arrows_counterclockwise: " + t(
        "alert_update.cause_changed",
        lang,
        previous=escape(cause_label(message.previous_cause, lang)),
        cause=escape(cause_label(message.cause, lang)),
    )
    todo = cause_todo(message.cause, lang)
    if todo is not None:
        text += " " + t("alert_update.todo", lang, todo=todo)
        section = guide_section(message.cause)
        if section:
            text += " (" + mt("alert.guide", lang, section=section) + ")"
    return text


def hold_ended_reply(
    message: IncidentHoldEnded, *, language: str, zone: ZoneInfo | None = None
) -> str:
    """The thread hears that the hold (a mute) is over and the incident is still open."""
    lang = normalise_language(language)
    since = _when(message.opened_at, zone)
    hold = message.hold
    if hold.reason == HELD_PLATFORM:
        return ":bell: " + t("alert_update.hold_ended_platform", lang, since=since)
    until = _when(hold.until, zone) if hold.until is not None else "?"
    if hold.by:
        return ":bell: " + t(
            "alert_update.hold_ended_muted",
            lang,
            user=who_text(hold.by),
            until=until,
            since=since,
        )
    return ":bell: " + t("alert_update.hold_ended_muted_anonymous", lang, until=until, since=since)


def alert_text(message: RootMessage, *, language: str) -> str:
    """The notification text. Slack reads a message's top-level ``text`` as mrkdwn (mentions
    included), so the org's name, typed by a person, is escaped here as in the blocks."""
    lang = normalise_language(language)
    return truncate(mt("alert.title", lang, org=redact(message.org_name)), 300)


def resolved_blocks(
    message: IncidentResolved, *, language: str, zone: ZoneInfo | None = None
) -> list[dict]:
    """The root message after recovery: the channel shows the current truth (and what the
    cause was)."""
    lang = normalise_language(language)
    lasted = duration_text(timedelta(seconds=message.duration_seconds), language=lang)
    text = ":white_check_mark: " + t(
        "alert.resolved", lang, org=escape(message.org_name), duration=lasted
    )
    context = [
        mt("alert.environment", lang, environment=message.environment_in(lang)),
        mt("alert.since", lang, time=_when(message.opened_at, zone)),
    ]
    if message.cause is not None:
        context.append(mt("alert_update.was_cause", lang, cause=cause_label(message.cause, lang)))
    return to_dicts(
        [
            SectionBlock(text=MarkdownTextObject(text=text)),
            ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]),
        ]
    )


def recovery_reply(message: IncidentResolved, *, language: str) -> str:
    lang = normalise_language(language)
    lasted = duration_text(timedelta(seconds=message.duration_seconds), language=lang)
    return ":white_check_mark: " + t("alert.recovered_reply", lang, duration=lasted)


def reminder_reply(message: IncidentReminder, *, language: str, now: datetime) -> str:
    lang = normalise_language(language)
    since = now - message.opened_at
    return ":bell: " + t("alert.reminder", lang, duration=duration_text(since, language=lang))


def platform_text(message: PlatformDown | PlatformUp, *, language: str) -> str:
    """One notice for all: AFAS does not answer for many orgs at once (or answers again)."""
    lang = normalise_language(language)
    if isinstance(message, PlatformDown):
        examples = ", ".join(f"`{escape(key)}`" for key in message.examples)
        return ":rotating_light: " + t(
            "platform.down",
            lang,
            count=message.unreachable,
            checked=message.checked,
            examples=examples,
        )
    lasted = (
        duration_text(message.at - message.down_since, language=lang) if message.down_since else "?"
    )
    return ":white_check_mark: " + t("platform.up", lang, duration=lasted)


def _when(at: datetime, zone: ZoneInfo | None = None) -> str:
    """``2026-11-26 10:00 CET`` in ``zone``; UTC without one."""
    return local_time_text(at, zone or UTC)


def _button(text: str, action_id: str, value: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=plain(text, BUTTON_TEXT_LIMIT)),
        action_id=action_id,
        value=value,
    )
