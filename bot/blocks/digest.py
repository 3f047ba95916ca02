"""The daily digest in the ops channel (bot/alerting/digest.py): the orgs per state, then one
section per list that has something in it (incidents opened, resolved, mutes, tokens about to
expire, drift), each cut off with "and N more" within Slack's limits.

Pure: the message holds every fact and the moment it was written, so times ("opened 5 h ago",
"until 2026-12-02 18:00 CET") come from it, never from the clock. The lists share the
message's text budget: a list that needs less leaves the rest to the lists after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.blocks import (
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT_LIMIT,
    STATE_EMOJI,
    STATE_LABEL_KEY,
    as_utc,
    duration_text,
    escape,
    outside_text,
    plain,
    time_ago,
    to_dicts,
    truncate,
)
from bot.blocks.status import who_text
from bot.i18n import normalise_language, t
from bot.slack.durations import local_time_text

if TYPE_CHECKING:  # the model imports these builders to send itself
    from bot.alerting.digest import (
        DailyDigest,
        DigestDrift,
        DigestIncident,
        DigestMute,
        DigestToken,
    )

#: The states as counted (``storage.dashboard.STATE_ORDER``), worst first; "never" has no
#: check yet and shows as never checked.
STATE_ORDER = ("failing", "unreachable", "degraded", "never", "healthy")
_NAME_LIMIT = 80
_DETAIL_LIMIT = 200
#: Room kept for the header, the counts and the closing context line.
_FRAME = 800


def digest_blocks(message: DailyDigest, *, language: str) -> list[dict]:
    lang = normalise_language(language)
    zone = message.zone
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=plain(t("digest.title", lang, day=message.day.isoformat()), HEADER_TEXT_LIMIT)
            )
        ),
        SectionBlock(text=MarkdownTextObject(text=_counts(message, lang))),
    ]
    lists = [
        (
            t("digest.opened.heading", lang, count=message.opened_total),
            [_opened(i, message.at, lang) for i in message.opened],
            message.opened_total,
        ),
        (
            t("digest.resolved.heading", lang, count=message.resolved_total),
            [_resolved(i, message.at, lang) for i in message.resolved],
            message.resolved_total,
        ),
        (
            t("digest.muted.heading", lang, count=message.muted_total),
            [_muted(m, zone, lang) for m in message.muted],
            message.muted_total,
        ),
        (
            t(
                "digest.expiring.heading",
                lang,
                days=message.expiry_warning_days,
                count=message.expiring_total,
            ),
            [_expiring(token, message.at, zone, lang) for token in message.expiring],
            message.expiring_total,
        ),
        (
            t("digest.drift.heading", lang, count=message.drift_total),
            [_drift(d) for d in message.drift],
            message.drift_total,
        ),
    ]
    shown = [entry for entry in lists if entry[2] > 0]  # an empty list shows no line at all
    budget = MESSAGE_TEXT_BUDGET - _FRAME
    for index, (heading, lines, total) in enumerate(shown):
        share = min(SECTION_TEXT_LIMIT, budget // (len(shown) - index))
        text = _fit(heading, lines, total, share, lang)
        budget -= len(text)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    if message.quiet:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t("digest.quiet", lang))))
    window = t(
        "digest.window",
        lang,
        since=local_time_text(message.since, zone),
        until=local_time_text(message.at, zone),
    )
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=truncate(window, CONTEXT_TEXT_LIMIT))])
    )
    return to_dicts(blocks)


def digest_text(message: DailyDigest, *, language: str) -> str:
    """The notification's text: how many of each, no names."""
    lang = normalise_language(language)
    day = message.day.isoformat()
    if message.quiet:
        return t("digest.text_quiet", lang, day=day)
    return t(
        "digest.text",
        lang,
        day=day,
        opened=message.opened_total,
        resolved=message.resolved_total,
        open=message.open_incidents,
        muted=message.muted_total,
        expiring=message.expiring_total,
    )


# -- pieces ------------------------------------------------------------------------------------


def _counts(message: DailyDigest, lang: str) -> str:
    parts = []
    for state in STATE_ORDER:
        count = message.by_state.get(state, 0)
        if count:
            shown = None if state == "never" else state
            label = t(STATE_LABEL_KEY[shown], lang)
            parts.append(
                f"{STATE_EMOJI[shown]} " + t("status.count", lang, label=label, count=count)
            )
    if not parts:
        parts.append(t("digest.no_orgs", lang))
    if message.open_incidents:
        parts.append(":rotating_light: " + t("digest.open_now", lang, count=message.open_incidents))
    return truncate("  ·  ".join(parts), SECTION_TEXT_LIMIT)


def _org(key: str, name: str) -> str:
    shown = f"*{escape(key)}*"
    if name and name != key:
        shown += f" ({outside_text(name, _NAME_LIMIT)})"
    return shown


def _opened(incident: DigestIncident, at: datetime, lang: str) -> str:
    parts = [
        _org(incident.org_key, incident.display_name),
        t("digest.opened.when", lang, when=time_ago(incident.opened_at, now=at, language=lang)),
    ]
    if incident.closed_at is None:
        parts.append(":red_circle: " + t("digest.opened.still_open", lang))
    else:
        lasted = _lasted(incident.opened_at, incident.closed_at, lang)
        parts.append(
            ":white_check_mark: " + t("digest.opened.resolved_after", lang, duration=lasted)
        )
    return "• " + " · ".join(parts)


def _resolved(incident: DigestIncident, at: datetime, lang: str) -> str:
    closed = incident.closed_at or at
    return "• " + " · ".join(
        [
            _org(incident.org_key, incident.display_name),
            t(
                "digest.resolved.line",
                lang,
                duration=_lasted(incident.opened_at, closed, lang),
                when=time_ago(closed, now=at, language=lang),
            ),
        ]
    )


def _muted(mute: DigestMute, zone: ZoneInfo, lang: str) -> str:
    until = local_time_text(mute.until, zone)
    if mute.by:
        detail = t("digest.muted.until_by", lang, until=until, user=who_text(mute.by))
    else:
        detail = t("digest.muted.until", lang, until=until)
    return "• " + " · ".join([_org(mute.org_key, mute.display_name), detail])


def _expiring(token: DigestToken, at: datetime, zone: ZoneInfo, lang: str) -> str:
    expires = as_utc(token.expires_at)
    date = expires.astimezone(zone).date().isoformat()
    left = expires - as_utc(at)
    if left <= timedelta(0):
        detail = t("digest.expiring.expired", lang, date=date)
    elif left.days == 0:
        detail = t("digest.expiring.today", lang, date=date)
    else:
        key = "digest.expiring.in_days.one" if left.days == 1 else "digest.expiring.in_days.other"
        detail = t(key, lang, date=date, days=left.days)
    return "• " + " · ".join([_org(token.org_key, token.display_name), detail])


def _drift(drift: DigestDrift) -> str:
    parts = [_org(drift.org_key, drift.display_name), f"`{escape(drift.connector)[:64]}`"]
    if drift.detail:
        parts.append(outside_text(drift.detail, _DETAIL_LIMIT))
    return "• " + " · ".join(parts)


def _lasted(opened_at: datetime, closed_at: datetime, lang: str) -> str:
    return duration_text(max(timedelta(0), as_utc(closed_at) - as_utc(opened_at)), language=lang)


def _fit(heading: str, lines: Sequence[str], total: int, limit: int, lang: str) -> str:
    """The heading and as many lines as fit in ``limit`` characters, then "… and N more" for
    the rest of ``total`` (which may exceed the lines the message carries)."""
    reserve = len(t("digest.more", lang, count=total)) + 1
    text = heading
    shown = 0
    for line in lines:
        last = shown + 1 == len(lines) == total
        room = limit if last else limit - reserve
        if len(text) + 1 + len(line) > room:
            break
        text += "\n" + line
        shown += 1
    if shown < total:
        text += "\n" + t("digest.more", lang, count=total - shown)
    return text
