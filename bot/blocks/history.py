"""An org's history as a Slack message: its latest checks (when, why, state) and the
incidents of the last 30 days with how long each lasted. Pure: rows in, blocks out."""

from __future__ import annotations

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

from bot.blocks.common import (
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    STATE_EMOJI,
    STATE_LABEL_KEY,
    as_utc,
    duration_text,
    escape,
    plain,
    state_key,
    time_ago,
    to_dicts,
    truncate,
)
from bot.i18n import normalise_language, t

TRIGGER_KEYS = {
    "schedule": "history.trigger.schedule",
    "command": "history.trigger.command",
    "registration": "history.trigger.registration",
    "export": "history.trigger.export",
    "cli": "history.trigger.cli",
    "watch": "history.trigger.watch",
}


@dataclass(frozen=True)
class CheckLine:
    started_at: datetime
    trigger: str
    state: str


@dataclass(frozen=True)
class IncidentLine:
    opened_at: datetime
    closed_at: datetime | None
    acknowledged_by: str | None


def history_blocks(
    key: str,
    display_name: str,
    checks: list[CheckLine],
    incidents: list[IncidentLine],
    *,
    language: str,
    now: datetime,
) -> list[dict]:
    lang = normalise_language(language)
    name = f"{display_name} ({key})" if display_name != key else key
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=plain(t("history.title", lang, org=name), HEADER_TEXT_LIMIT))
        )
    ]
    if checks:
        lines = [_check_line(line, lang, now) for line in checks]
        text = f"*{t('history.checks', lang)}*\n" + "\n".join(lines)
    else:
        text = t("history.no_checks", lang)
    blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT))))
    if incidents:
        lines = [_incident_line(line, lang, now) for line in incidents]
        text = f"*{t('history.incidents', lang)}*\n" + "\n".join(lines)
    else:
        text = t("history.no_incidents", lang)
    blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t("history.window", lang))]))
    return to_dicts(blocks)


def history_text(key: str, *, language: str) -> str:
    return t("history.title", normalise_language(language), org=key)


def _check_line(line: CheckLine, lang: str, now: datetime) -> str:
    state = state_key(line.state)
    trigger = TRIGGER_KEYS.get(line.trigger)
    why = t(trigger, lang) if trigger else escape(line.trigger)
    when = as_utc(line.started_at).strftime("%Y-%m-%d %H:%M UTC")
    ago = time_ago(line.started_at, now=now, language=lang)
    return f"{STATE_EMOJI[state]} {when} ({ago}) · {why} · {t(STATE_LABEL_KEY[state], lang)}"


def _incident_line(line: IncidentLine, lang: str, now: datetime) -> str:
    opened = as_utc(line.opened_at)
    end = as_utc(line.closed_at) if line.closed_at else now
    lasted = duration_text(end - opened, language=lang)
    key = "history.incident_closed" if line.closed_at else "history.incident_open"
    text = t(key, lang, opened=opened.strftime("%Y-%m-%d %H:%M UTC"), duration=lasted)
    if line.acknowledged_by:
        text += " · " + t("alert.acknowledged_by", lang, user=f"<@{escape(line.acknowledged_by)}>")
    return text
