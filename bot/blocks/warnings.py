"""Warnings before breakage in an org's alert channel (issue 10 §3): a token about to expire,
and drift (connector fields changed since the baseline), with its "Accept as the new baseline"
button and the forms the drift warning takes later (accepted, back to the baseline).

Pure builders over the typed messages (``bot/alerting/expiry.py``, ``drift.py``), so a
message can be written again at any time; times come from the message, never the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

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

from bot.blocks import (
    BUTTON_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT_LIMIT,
    as_utc,
    escape,
    mt,
    plain,
    redact,
    to_dicts,
    truncate,
)
from bot.i18n import normalise_language, t

if TYPE_CHECKING:  # the messages import these builders to send themselves
    from bot.alerting.drift import DriftCleared, DriftFound
    from bot.alerting.drift_diff import ConnectorDrift
    from bot.alerting.expiry import TokenExpiring

ACCEPT_ACTION = "drift_accept"
#: How many connectors a drift warning lists, and fields per list (then "and N more").
MAX_CONNECTORS = 20
MAX_FIELDS = 25
_FIELD_LIMIT = 80
#: What a drift warning holds besides its connectors: header, why, fix, context, button.
_FRAME = 2000
_KIND_NAME = {"get": "GetConnector", "update": "UpdateConnector"}


def accept_value(org_key: str, drift_hash: str) -> str:
    """The button's value: which org, and which difference (so a stale button is refused)."""
    return f"{org_key}:{drift_hash}"


# -- a token about to expire -------------------------------------------------------------------


def token_expiring_blocks(message: TokenExpiring, *, language: str) -> list[dict]:
    lang = normalise_language(language)
    date = _day(message.expires_at)
    environment = message.environment_in(lang)
    body = mt("warning.expiry.body", lang, date=date)
    fix = ":wrench: " + mt(
        "warning.expiry.fix", lang, section=message.guide_section or "1.2.5", key=message.org_key
    )
    context = [mt("warning.expiry.checked", lang, time=_when(message.checked_at))]
    if environment:
        context.insert(0, mt("alert.environment", lang, environment=environment))
    if message.token_fingerprint:
        context.append(mt("warning.expiry.token", lang, fingerprint=message.token_fingerprint))
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=plain(_expiry_title(message, lang), HEADER_TEXT_LIMIT))
        ),
        SectionBlock(text=MarkdownTextObject(text=truncate(body, SECTION_TEXT_LIMIT))),
        SectionBlock(text=MarkdownTextObject(text=truncate(fix, SECTION_TEXT_LIMIT))),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]),
    ]
    return to_dicts(blocks)


def token_expiring_text(message: TokenExpiring, *, language: str) -> str:
    """The notification text (Slack reads it as mrkdwn: the org's name is escaped)."""
    lang = normalise_language(language)
    return truncate(escape(_expiry_title(message, lang)), 300)


def _expiry_title(message: TokenExpiring, lang: str) -> str:
    org, date = redact(message.org_name), _day(message.expires_at)
    if message.days_left < 1:
        return "🔑 " + t("warning.expiry.title_today", lang, org=org, date=date)
    key = "warning.expiry.title.one" if message.days_left == 1 else "warning.expiry.title.other"
    return "🔑 " + t(key, lang, org=org, days=message.days_left, date=date)


# -- drift ---------------------------------------------------------------------------------------


def drift_blocks(
    message: DriftFound,
    *,
    language: str,
    accepted_by: str | None = None,
    accepted_at: str | None = None,
) -> list[dict]:
    """The drift warning: what changed per connector, why it matters, what to do, and the
    button; once accepted (``accepted_by``, ``accepted_at`` as shown), who did, no button."""
    lang = normalise_language(language)
    breaking = [c for c in message.connectors if c.breaking]
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=plain(
                    "⚠️ " + t("warning.drift.title", lang, org=message.org_name), HEADER_TEXT_LIMIT
                )
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=mt(
                    "warning.drift.why.one" if len(breaking) == 1 else "warning.drift.why.other",
                    lang,
                    count=len(breaking),
                    since=_day(message.baseline_taken_at or message.found_at),
                )
            )
        ),
    ]
    budget, shown = MESSAGE_TEXT_BUDGET - _FRAME, 0
    for connector in message.connectors[:MAX_CONNECTORS]:
        text = _connector_text(connector, lang)
        if len(text) > budget:
            break  # Slack refuses a message whose blocks hold too much text
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
        budget -= len(text)
        shown += 1
    if len(message.connectors) > shown:
        more = t("warning.more", lang, count=len(message.connectors) - shown)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=more)))
    sections = sorted({c.guide_section for c in breaking if c.guide_section})
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(
                text=":wrench: "
                + mt("warning.drift.fix", lang, sections=", ".join(sections) or "1.2.3")
            )
        )
    )
    context = [mt("warning.drift.found", lang, time=_when(message.found_at))]
    environment = message.environment_in(lang)
    if environment:
        context.insert(0, mt("alert.environment", lang, environment=environment))
    if accepted_by:
        context.append(
            ":white_check_mark: "
            + t(
                "warning.drift.accepted_by",
                lang,
                user=f"<@{escape(accepted_by)}>",
                time=escape(accepted_at or ""),
            )
        )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]))
    if not accepted_by:
        button = ButtonElement(
            text=PlainTextObject(text=plain(t("warning.drift.accept", lang), BUTTON_TEXT_LIMIT)),
            action_id=ACCEPT_ACTION,
            value=accept_value(message.org_key, message.drift_hash),
            style="primary",
        )
        blocks.append(ActionsBlock(block_id="drift_actions", elements=[button]))
    return to_dicts(blocks[:MAX_BLOCKS])


def drift_text(message: DriftFound, *, language: str) -> str:
    lang = normalise_language(language)
    count = sum(1 for c in message.connectors if c.breaking)
    return truncate(mt("warning.drift.text", lang, org=redact(message.org_name), count=count), 300)


def drift_accepted_text(message: DriftFound, *, language: str, user: str) -> str:
    lang = normalise_language(language)
    return t("warning.drift.accepted_text", lang, org=escape(message.org_name), user=f"<@{user}>")


def drift_cleared_blocks(message: DriftCleared, *, language: str) -> list[dict]:
    """The warning once the connectors match the baseline again: the channel shows the truth."""
    lang = normalise_language(language)
    text = ":white_check_mark: " + mt("warning.drift.cleared", lang, org=message.org_name)
    context = mt("warning.drift.cleared_at", lang, time=_when(message.at))
    return to_dicts(
        [
            SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT))),
            ContextBlock(elements=[MarkdownTextObject(text=context)]),
        ]
    )


def drift_cleared_reply(message: DriftCleared, *, language: str) -> str:
    lang = normalise_language(language)
    return ":white_check_mark: " + t("warning.drift.cleared_reply", lang)


def _connector_text(connector: ConnectorDrift, lang: str) -> str:
    name = _KIND_NAME.get(connector.kind, connector.kind)
    lines = [f"*{escape(name)} `{escape(connector.connector)[:64]}`*"]
    lists = [
        ("warning.drift.removed", [_code(f) for f in connector.removed]),
        ("warning.drift.renamed", [f"{_code(r.old)} → {_code(r.new)}" for r in connector.renamed]),
        (
            "warning.drift.retyped",
            [f"{_code(r.field)} ({escape(r.old)} → {escape(r.new)})" for r in connector.retyped],
        ),
        ("warning.drift.added", [_code(f) for f in connector.added]),
    ]
    for key, items in lists:
        if items:
            lines.append("• " + t(key, lang, fields=_listed(items, lang)))
    return truncate("\n".join(lines), SECTION_TEXT_LIMIT)


def _listed(items: Sequence[str], lang: str) -> str:
    shown = ", ".join(items[:MAX_FIELDS])
    if len(items) > MAX_FIELDS:
        shown += " " + t("warning.more", lang, count=len(items) - MAX_FIELDS)
    return shown


def _code(field: str) -> str:
    quoted = escape(field).replace("`", "'")  # a backtick would end the code span
    return f"`{truncate(quoted, _FIELD_LIMIT)}`"


def _day(moment: datetime) -> str:
    return as_utc(moment).date().isoformat()


def _when(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")
