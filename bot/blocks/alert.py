"""Alert messages in an org's alert channel: the incident's root message (edited when it is
acknowledged and when it recovers) and the replies in its thread. Pure builders over the
typed outbox messages (bot/alerting/messages.py), so a message can be written again at any time."""

from __future__ import annotations

from datetime import datetime, timedelta

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

from bot.alerting.messages import (
    IncidentOpened,
    IncidentReminder,
    IncidentResolved,
    PlatformDown,
    PlatformUp,
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
from bot.i18n import normalise_language, t

ACK_ACTION = "alert_ack"
MUTE_ACTION = "alert_mute"
MUTE_LABELS = {"1h": "alert.mute_1h", "1d": "alert.mute_1d"}
MUTE_CHOICES = tuple(MUTE_LABELS)


def alert_blocks(
    message: IncidentOpened,
    *,
    language: str,
    incident_id: int,
    acknowledged_by: str | None = None,
) -> list[dict]:
    """The root message of an open incident: what is wrong, the fix, and the buttons."""
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
        mt("alert.since", lang, time=_when(message.opened_at)),
    ]
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


def alert_text(message: IncidentOpened, *, language: str) -> str:
    """The notification text. Slack reads a message's top-level ``text`` as mrkdwn (mentions
    included), so the org's name, typed by a person, is escaped here as in the blocks."""
    lang = normalise_language(language)
    return truncate(mt("alert.title", lang, org=redact(message.org_name)), 300)


def resolved_blocks(message: IncidentResolved, *, language: str) -> list[dict]:
    """The root message after recovery: the channel shows the current truth."""
    lang = normalise_language(language)
    lasted = duration_text(timedelta(seconds=message.duration_seconds), language=lang)
    text = ":white_check_mark: " + t(
        "alert.resolved", lang, org=escape(message.org_name), duration=lasted
    )
    return to_dicts(
        [
            SectionBlock(text=MarkdownTextObject(text=text)),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=mt("alert.environment", lang, environment=message.environment_in(lang))
                        + " · "
                        + mt("alert.since", lang, time=_when(message.opened_at))
                    )
                ]
            ),
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


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _button(text: str, action_id: str, value: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=plain(text, BUTTON_TEXT_LIMIT)),
        action_id=action_id,
        value=value,
    )
