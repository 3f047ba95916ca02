"""The watch message (``/afas watch``): one message, edited in place at every re-check, that
turns green item by item. Pure: a ``WatchView`` in, blocks out.

While running it shows the progress ("12 of 24 requirements met"), what is still missing with
the guide section of each, when it was last checked, the time left and a Stop button; when it
ends it says why (healthy, with a short celebration; stopped by someone; time up, with what is
still missing; the bot restarting; the org removed) and the button goes. Times are Slack date
tokens, so that every reader sees their own time zone; the fallback (notifications, old
clients) is in the bot's time zone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

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

from afas.report import CheckReport, ItemStatus, ReportItem
from bot.blocks.common import (
    BUTTON_TEXT_LIMIT,
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    as_utc,
    duration_text,
    escape,
    mt,
    outside_text,
    plain,
    to_dicts,
    truncate,
)
from bot.i18n import normalise_language, t

STOP_ACTION = "watch_stop"
#: Missing items listed one by one; the rest as "… and N more" (the message stays short).
MAX_MISSING_LINES = 12
BAR_SQUARES = 10
_TITLE_LIMIT = 120
NEAR_MISS = "near_miss"
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_MISSING_ORDER = {ItemStatus.FAILING: 0, ItemStatus.WARNING: 1, ItemStatus.UNKNOWN: 2}
_MISSING_EMOJI = {
    ItemStatus.FAILING: ":x:",
    ItemStatus.WARNING: ":warning:",
    ItemStatus.UNKNOWN: ":grey_question:",
}


class WatchPhase(StrEnum):
    RUNNING = "running"
    HEALTHY = "healthy"  # every checkable requirement met: the watch ends by itself
    STOPPED = "stopped"  # someone pressed Stop
    TIME_UP = "time_up"
    RESTARTING = "restarting"  # this process is stopping
    RESTARTED = "restarted"  # its process died; found by another (or the next) process
    ORG_REMOVED = "org_removed"
    FAILED = "failed"  # the watch itself broke (logged with the reference)


class Trouble(StrEnum):
    """Why the latest check shows no new progress (the watch goes on)."""

    AFAS = "afas"  # AFAS did not answer (unreachable, timed out)
    CHECK = "check"  # the check failed here (database away, a bug): logged with a reference


@dataclass(frozen=True)
class Progress:
    """The report as the watch counts it: requirements met of those the API can show (the
    not-checkable ones never count), and what is still missing, worst first."""

    met: int
    total: int
    missing: tuple[ReportItem, ...]
    healthy: bool


def progress_of(report: CheckReport) -> Progress:
    checkable = [i for i in report.items if i.status is not ItemStatus.NOT_CHECKABLE]
    missing = sorted(
        (i for i in checkable if i.status in _MISSING_ORDER), key=lambda i: _MISSING_ORDER[i.status]
    )
    met = sum(i.status is ItemStatus.OK for i in checkable)
    return Progress(met, len(checkable), tuple(missing), report.healthy)


def afas_did_not_answer(report: CheckReport) -> bool:
    """AFAS could not be asked this time: nothing learned, the last progress stands."""
    return report.overall.value == "unreachable"


@dataclass(frozen=True)
class WatchView:
    watch_id: int
    org_key: str
    phase: WatchPhase
    now: datetime
    display_name: str | None = None
    progress: Progress | None = None
    last_checked_at: datetime | None = None
    started_at: datetime | None = None
    ends_at: datetime | None = None
    interval_seconds: float = 30.0
    started_by: str | None = None
    stopped_by: str | None = None
    trouble: Trouble | None = None
    trouble_at: datetime | None = None
    reference: str | None = None


def watch_blocks(view: WatchView, *, language: str, tz: tzinfo = UTC) -> list[dict]:
    lang = normalise_language(language)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_header(view, lang), emoji=True)),
    ]
    for text in _body(view, lang, tz):
        section = MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT))
        blocks.append(SectionBlock(text=section))
    context = _context(view, lang, tz)
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    if view.phase is WatchPhase.RUNNING:
        blocks.append(_stop_button(view, lang))
    return to_dicts(blocks)


def watch_text(view: WatchView, *, language: str) -> str:
    """The notification and screen-reader text."""
    lang = normalise_language(language)
    org = _org_name(view)
    progress = view.progress
    if view.phase is WatchPhase.HEALTHY and progress is not None:
        return ":tada: " + mt("watch.text.healthy", lang, org=org, total=progress.total)
    if view.phase is not WatchPhase.RUNNING:
        return mt("watch.text.ended", lang, org=org)
    if progress is None:
        return mt("watch.text.checking", lang, org=org)
    return mt("watch.text.progress", lang, org=org, met=progress.met, total=progress.total)


def busy_text(
    org_key: str, started_by: str, since: datetime, *, language: str, tz: tzinfo = UTC
) -> str:
    """ "Already being watched by @x since …" (ephemeral, to the second agent)."""
    lang = normalise_language(language)
    return ":eyes: " + t(
        "watch.busy",
        lang,
        org=f"*{escape(org_key)}*",
        user=mention(started_by),
        since=slack_time(since, tz, with_seconds=False),
    )


def busy_blocks(
    org_key: str, started_by: str, since: datetime, *, language: str, tz: tzinfo = UTC
) -> list[dict]:
    text = busy_text(org_key, started_by, since, language=language, tz=tz)
    return to_dicts([SectionBlock(text=MarkdownTextObject(text=text))])


def mention(user: str | None) -> str:
    """A Slack mention for a user id; anything else escaped as text."""
    if user and _SLACK_ID.fullmatch(user):
        return f"<@{user}>"
    return escape(user or "?")


def slack_time(moment: datetime, tz: tzinfo = UTC, *, with_seconds: bool = True) -> str:
    """A Slack date token (each reader's own time zone), with a fallback in ``tz``."""
    moment = as_utc(moment)
    token = "{time_secs}" if with_seconds else "{time}"
    fallback = moment.astimezone(tz).strftime("%H:%M:%S" if with_seconds else "%H:%M")
    return f"<!date^{int(moment.timestamp())}^{token}|{fallback}>"


# -- the parts -------------------------------------------------------------------------------


def _org_name(view: WatchView) -> str:
    if view.display_name and view.display_name != view.org_key:
        return f"{view.display_name} ({view.org_key})"
    return view.org_key


def _header(view: WatchView, lang: str) -> str:
    org = _org_name(view)
    if view.phase is WatchPhase.RUNNING:
        return plain(":eyes: " + t("watch.header.running", lang, org=org), HEADER_TEXT_LIMIT)
    if view.phase is WatchPhase.HEALTHY:
        return plain(":tada: " + t("watch.header.healthy", lang, org=org), HEADER_TEXT_LIMIT)
    return plain(":white_circle: " + t("watch.header.ended", lang, org=org), HEADER_TEXT_LIMIT)


def _body(view: WatchView, lang: str, tz: tzinfo) -> list[str]:
    key = escape(view.org_key)
    progress = view.progress
    match view.phase:
        case WatchPhase.HEALTHY:
            total = progress.total if progress else 0
            return [
                ":tada: " + t("watch.celebration", lang, total=total, duration=_watched(view, lang))
            ]
        case WatchPhase.STOPPED:
            head = ":raised_hand: " + t("watch.stopped_by", lang, user=mention(view.stopped_by))
            return [head, *_progress_parts(progress, lang)]
        case WatchPhase.TIME_UP:
            head = ":hourglass: " + t("watch.time_up", lang, duration=_watched(view, lang))
            again = t("watch.again", lang, org=key)
            return [head, *_progress_parts(progress, lang), again]
        case WatchPhase.RESTARTING:
            return [":arrows_counterclockwise: " + t("watch.ended_restarting", lang, org=key)]
        case WatchPhase.RESTARTED:
            return [":arrows_counterclockwise: " + t("watch.ended_restarted", lang, org=key)]
        case WatchPhase.ORG_REMOVED:
            return [":wastebasket: " + t("watch.ended_org_removed", lang, org=f"*{key}*")]
        case WatchPhase.FAILED:
            text = t("watch.ended_error", lang, org=key, reference=escape(view.reference or "?"))
            return [":warning: " + text]
    parts = _progress_parts(progress, lang) or [
        ":hourglass_flowing_sand: " + t("watch.first_check", lang)
    ]
    if view.trouble is not None:
        when = slack_time(view.trouble_at or view.now, tz)
        if view.trouble is Trouble.AFAS:
            notice = t("watch.afas_trouble", lang, time=when)
        else:
            reference = escape(view.reference or "?")
            notice = t("watch.check_failed", lang, time=when, reference=reference)
        parts.append(":hourglass: " + notice)
    return parts


def _progress_parts(progress: Progress | None, lang: str) -> list[str]:
    if progress is None:
        return []
    line = f"{_bar(progress)}  " + t("watch.progress", lang, met=progress.met, total=progress.total)
    parts = [line]
    if progress.missing:
        parts.append(_missing(progress, lang))
    return parts


def _bar(progress: Progress) -> str:
    if progress.total <= 0:
        return ""
    filled = math.floor(BAR_SQUARES * progress.met / progress.total)
    if progress.met < progress.total:
        filled = min(filled, BAR_SQUARES - 1)
    return ":large_green_square:" * filled + ":white_large_square:" * (BAR_SQUARES - filled)


def _missing(progress: Progress, lang: str) -> str:
    """Failing and warning items one by one with their guide section; the undetermined ones
    too when nothing else is missing, else counted (they depend on what is wrong above)."""
    known = [i for i in progress.missing if i.status is not ItemStatus.UNKNOWN]
    unknown = [i for i in progress.missing if i.status is ItemStatus.UNKNOWN]
    listed = known or unknown
    lines = [t("watch.missing", lang)]
    for item in listed[:MAX_MISSING_LINES]:
        title = outside_text(item.title.get(lang), _TITLE_LIMIT)
        line = f"{_MISSING_EMOJI[item.status]} {title}"
        if item.guide_section:
            line += " · " + mt("report.guide", lang, section=item.guide_section)
        if item.finding == NEAR_MISS:  # the commonest real mistake: say what is there
            line += " · _" + outside_text(item.found.get(lang), _TITLE_LIMIT) + "_"
        lines.append(line)
    if len(listed) > MAX_MISSING_LINES:
        lines.append(t("watch.missing_more", lang, count=len(listed) - MAX_MISSING_LINES))
    if known and unknown:
        count = len(unknown)
        key = "watch.unknown_more.one" if count == 1 else "watch.unknown_more.other"
        lines.append(f"{_MISSING_EMOJI[ItemStatus.UNKNOWN]} " + t(key, lang, count=count))
    return "\n".join(lines)


def _watched(view: WatchView, lang: str) -> str:
    started = view.started_at or view.now
    return duration_text(as_utc(view.now) - as_utc(started), language=lang)


def _context(view: WatchView, lang: str, tz: tzinfo) -> str:
    parts: list[str] = []
    if view.last_checked_at is not None:
        parts.append(t("watch.last_checked", lang, time=slack_time(view.last_checked_at, tz)))
    if view.phase is WatchPhase.RUNNING:
        if view.ends_at is not None:
            left = max(timedelta(0), as_utc(view.ends_at) - as_utc(view.now))
            parts.append(t("watch.time_left", lang, duration=duration_text(left, language=lang)))
        seconds = round(view.interval_seconds)
        parts.append(t("watch.every", lang, seconds=seconds))
    if view.started_by:
        parts.append(t("watch.started_by", lang, user=mention(view.started_by)))
    return truncate(" · ".join(parts), CONTEXT_TEXT_LIMIT)


def _stop_button(view: WatchView, lang: str) -> ActionsBlock:
    return ActionsBlock(
        block_id="watch_actions",
        elements=[
            ButtonElement(
                text=PlainTextObject(
                    text=plain(":octagonal_sign: " + t("watch.stop", lang), BUTTON_TEXT_LIMIT),
                    emoji=True,
                ),
                action_id=STOP_ACTION,
                value=str(view.watch_id),
                style="danger",
            )
        ],
    )
