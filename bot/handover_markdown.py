"""The handover note as a Markdown document (the file attached in Slack, ``afasbot handover``),
and the phrases the Slack message shares with it, so that both say the same in the same words.

Everything that comes from outside (AFAS's texts, the org's notes, names) is cleared of
token-shaped strings and escaped for Markdown; the catalogue's own texts need neither. Times are
in the bot's time zone (setting ``timezone``), with its abbreviation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from afas.environments import EnvironmentKind
from afas.report import ItemStatus
from bot.blocks.common import STATE_LABEL_KEY, redact, state_key, time_ago
from bot.i18n import normalise_language, t
from bot.services.handover import (
    Actor,
    Availability,
    Day,
    ExportSummary,
    GuideSection,
    HandoverNote,
    HelpdeskTask,
    IncidentSpan,
    NoteItem,
    Square,
    TokenExpiry,
)

#: The day strip's squares, as characters (Markdown, the terminal) and as Slack emoji.
SQUARE_CHAR = {
    Square.GOOD: "🟩",
    Square.SOME_BAD: "🟨",
    Square.MOSTLY_BAD: "🟥",
    Square.NO_CHECKS: "⬜",
}
STATUS_CHAR = {
    ItemStatus.OK: "✅",
    ItemStatus.WARNING: "⚠️",
    ItemStatus.FAILING: "❌",
    ItemStatus.UNKNOWN: "❔",
    ItemStatus.NOT_CHECKABLE: "➖",
}
STATUS_KEY = {status: f"handover.status.{status.value}" for status in ItemStatus}
ACTOR_KEY = {actor: f"handover.actor.{actor.value}" for actor in Actor}
#: The guide's section names (seed/afas-connector-setup-guide-nl.txt); others show the number.
SECTION_KEY = {
    "1 (2)": "handover.guide.s1_p2",
    "1.1": "handover.guide.s1_1",
    "1.2": "handover.guide.s1_2",
    "1.2.2": "handover.guide.s1_2_2",
    "1.2.3": "handover.guide.s1_2_3",
    "1.2.4": "handover.guide.s1_2_4",
    "1.2.5": "handover.guide.s1_2_5",
    "1.2.6": "handover.guide.s1_2_6",
    "1.2.7": "handover.guide.s1_2_7",
    "1.2.8": "handover.guide.s1_2_8",
    "1.2.9": "handover.guide.s1_2_9",
}
TASK_KEY = {
    code: f"handover.ours.{code}"
    for code in (
        "token_unreadable",
        "never_checked",
        "stale",
        "alerts_default",
        "no_alert_channel",
        "no_owner",
        "unacknowledged",
    )
}
EXPORT_RESULT_KEY = {
    "ok": "handover.export.result.ok",
    "failing": "handover.export.result.failing",
    "unreachable": "handover.export.result.unreachable",
}
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


# -- phrases (shared with bot/blocks/handover.py) -------------------------------------------


def zone_of(note: HandoverNote) -> ZoneInfo:
    return ZoneInfo(note.timezone)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-26 14:05 CET``: the bot's time zone, with its abbreviation."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def local_date(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()


def duration_words(duration: timedelta, language: str) -> str:
    """Exact to the minute (rounded down): ``2 days 3 h 15 min``, ``45 min``."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return t("handover.duration.under_minute", language)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        key = "handover.duration.days.one" if days == 1 else "handover.duration.days.other"
        parts.append(t(key, language, n=days))
    if hours:
        parts.append(t("handover.duration.hours", language, n=hours))
    if minutes:
        parts.append(t("handover.duration.minutes", language, n=minutes))
    return " ".join(parts)


def percent(ratio: float, language: str) -> str:
    """One decimal, rounded down (99.96 % is not "100 %"): ``97.9%``, Dutch ``97,9%``."""
    value = math.floor(ratio * 1000 + 1e-9) / 10
    text = f"{value:.1f}%"
    return text.replace(".", ",") if language == "nl" else text


def environment_words(note: HandoverNote, language: str) -> str:
    try:
        kind = EnvironmentKind(note.env_kind).name_in(language)
    except ValueError:
        kind = note.env_kind
    return f"{note.env_number} ({kind})"


def actors_words(actors: tuple[Actor, ...], language: str) -> str:
    names = [t(ACTOR_KEY[actor], language) for actor in actors] or [
        t(ACTOR_KEY[Actor.NOBODY], language)
    ]
    if len(names) == 1:
        return names[0]
    return t("handover.actor.both", language, first=names[0], second=names[1])


def section_name(section: str, language: str) -> str:
    key = SECTION_KEY.get(section)
    name = t(key, language) if key else ""
    return t("handover.setup.section", language, section=section, name=name).strip()


def section_summary(section: GuideSection, language: str) -> str:
    """``13 of 15 in order · to act: the customer's AFAS administrator``; what the API cannot
    show is counted apart (it is not missing, nobody can see it)."""
    hidden = sum(item.status is ItemStatus.NOT_CHECKABLE for item in section.items)
    visible = len(section.items) - hidden
    if visible == 0:
        text = t(STATUS_KEY[ItemStatus.NOT_CHECKABLE], language)
    else:
        text = t("handover.setup.summary", language, ok=section.ok, total=visible)
        if hidden:
            text += ", " + t("handover.setup.not_visible", language, count=hidden)
    if any(item.from_export for item in section.items):
        text += " " + t("handover.setup.from_export", language)
    if section.actors:
        who = actors_words(section.actors, language)
        text += " · " + t("handover.setup.to_act", language, who=who)
    return text


def expiry_words(expiry: TokenExpiry, now: datetime, zone: ZoneInfo, language: str) -> str:
    if expiry.kind == "none":
        return t("handover.org.expiry_none", language)
    if expiry.kind != "date" or expiry.at is None:
        return t("handover.org.expiry_unknown", language)
    day = local_date(expiry.at, zone)
    if expiry.at <= now:
        return t("handover.org.expiry_past", language, date=day)
    days = (expiry.at - now).days
    key = "handover.org.expiry_on.one" if days == 1 else "handover.org.expiry_on.other"
    return t(key, language, date=day, days=days)


def facts_words(note: HandoverNote, language: str) -> str:
    """How old the facts are (and that AFAS was not asked)."""
    if note.checked_at is None:
        return t("handover.facts_none", language)
    return t(
        "handover.facts_from",
        language,
        time=local_time(note.checked_at, zone_of(note)),
        ago=time_ago(note.checked_at, now=note.now, language=language),
    )


def task_words(task: HelpdeskTask, zone: ZoneInfo, language: str, *, channel: str) -> str:
    """One helpdesk task; ``channel`` is the channel as the surface shows it."""
    values = dict(task.values)
    if isinstance(values.get("since"), datetime):
        values["time"] = local_time(values.pop("since"), zone)
    if "channel" in values:
        values["channel"] = channel
    return t(TASK_KEY.get(task.code, "handover.ours.unknown"), language, **values)


def incident_words(span: IncidentSpan, zone: ZoneInfo, language: str) -> str:
    opened = local_time(span.opened_at, zone)
    lasted = duration_words(span.duration, language)
    if span.closed_at is None:
        return t("handover.incidents.open", language, opened=opened, duration=lasted)
    return t(
        "handover.incidents.closed",
        language,
        opened=opened,
        closed=local_time(span.closed_at, zone),
        duration=lasted,
    )


def availability_words(value: Availability, language: str) -> str:
    ratio = value.ratio
    if ratio is None:
        return t("handover.availability.none", language)
    return t("handover.availability.value", language, percent=percent(ratio, language))


def availability_meaning(value: Availability, language: str) -> str:
    return t(
        "handover.availability.meaning",
        language,
        hold=duration_words(value.hold, language),
        covered=duration_words(value.covered, language),
        window=duration_words(value.window, language),
    )


def strip_range(days: tuple[Day, ...], language: str) -> str:
    return t(
        "handover.availability.strip_range",
        language,
        first=days[0].day.isoformat(),
        last=days[-1].day.isoformat(),
    )


def legend(squares: dict[Square, str], language: str) -> str:
    return t(
        "handover.availability.legend",
        language,
        good=squares[Square.GOOD],
        some=squares[Square.SOME_BAD],
        mostly=squares[Square.MOSTLY_BAD],
        none=squares[Square.NO_CHECKS],
    )


def export_words(export: ExportSummary, zone: ZoneInfo, language: str, *, user: str) -> str:
    mode = t(
        "handover.export.mode.live" if export.mode == "live" else "handover.export.mode.dry_run",
        language,
    )
    if export.finished_at is None:
        result = t("handover.export.result.unfinished", language)
    else:
        result = t(
            EXPORT_RESULT_KEY.get(export.overall or "", "handover.export.result.unknown"), language
        )
    return t(
        "handover.export.line",
        language,
        mode=mode,
        time=local_time(export.started_at, zone),
        user=user,
        result=result,
    )


def is_slack_user(text: str | None) -> bool:
    return bool(text and _SLACK_ID.match(text))


# -- the document --------------------------------------------------------------------------


def md(text: object) -> str:
    """Text from outside for Markdown: token-shaped strings out, Markdown's marks escaped,
    one line."""
    cleaned = redact(str(text)).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", cleaned)


def person(text: str | None) -> str:
    """A Slack user id as ``@U0123`` (a file cannot mention), anything else as text."""
    if not text:
        return "?"
    return f"@{text}" if is_slack_user(text) else md(text)


def handover_markdown(note: HandoverNote, *, language: str) -> str:
    """The whole note: nothing is left out (the Slack message shortens, this does not)."""
    lang = normalise_language(language)
    zone = zone_of(note)
    name = f"{note.display_name} ({note.key})" if note.display_name != note.key else note.key
    lines = [
        f"# {t('handover.title', lang, org=md(name))}",
        "",
        f"_{t('handover.generated', lang, time=local_time(note.now, zone))} "
        f"{facts_words(note, lang)}_",
        "",
    ]
    lines += _org_part(note, lang, zone)
    lines += _setup_part(note, lang)
    lines += _ours_part(note, lang, zone)
    lines += _incidents_part(note, lang, zone)
    lines += _availability_part(note, lang)
    lines += _export_part(note, lang, zone)
    lines += [f"## {t('handover.notes.heading', lang)}", ""]
    if note.notes.strip():
        lines += [f"> {md(line)}" if line.strip() else ">" for line in note.notes.splitlines()]
    else:
        lines.append(t("handover.notes.none", lang))
    return "\n".join(lines).rstrip() + "\n"


def _org_part(note: HandoverNote, lang: str, zone: ZoneInfo) -> list[str]:
    token = t("handover.org.token_facts", lang, fingerprint=f"`{md(note.token_fingerprint)}`")
    if note.token_replaced_at is not None:
        token += ", " + t(
            "handover.org.token_replaced", lang, time=local_time(note.token_replaced_at, zone)
        )
    if note.token_readable is False:
        token += ", " + t("handover.org.token_unreadable", lang)
    elif note.token_readable is None:
        token += ", " + t("handover.org.token_unverified", lang)
    rows = [
        ("handover.org.key", f"`{md(note.key)}`"),
        ("handover.org.name", md(note.display_name)),
        ("handover.org.environment", environment_words(note, lang)),
        (
            "handover.org.owner",
            person(note.cs_owner) if note.cs_owner else t("handover.org.owner_none", lang),
        ),
        (
            "handover.org.registered",
            t(
                "handover.org.registered_by",
                lang,
                user=person(note.created_by),
                time=local_time(note.created_at, zone),
            ),
        ),
        ("handover.org.token", token),
        ("handover.org.expiry", expiry_words(note.token_expiry, note.now, zone, lang)),
        (
            "handover.org.alert_channel",
            md(note.alert_channel)
            if note.alert_channel
            else t("handover.org.alert_channel_none", lang),
        ),
        ("handover.org.muted", _mute_words(note, lang, zone, user=person)),
    ]
    if note.state:
        rows.append(("handover.org.state", t(STATE_LABEL_KEY[state_key(note.state)], lang)))
    lines = [f"## {t('handover.org.heading', lang)}", ""]
    lines += [f"- **{t(label, lang)}:** {value}" for label, value in rows]
    return [*lines, ""]


def _mute_words(
    note: HandoverNote, lang: str, zone: ZoneInfo, *, user: Callable[[str | None], str]
) -> str:
    if note.mute is None:
        return t("handover.org.mute_none", lang)
    until = local_time(note.mute.until, zone)
    if note.mute.by:
        return t("handover.org.muted_until_by", lang, time=until, user=user(note.mute.by))
    return t("handover.org.muted_until", lang, time=until)


def _setup_part(note: HandoverNote, lang: str) -> list[str]:
    lines = [f"## {t('handover.setup.heading', lang)}", ""]
    if not note.sections:
        return [*lines, t("handover.facts_none", lang), ""]
    for section in note.sections:
        lines.append(
            f"### {STATUS_CHAR[section.status]} {md(section_name(section.section, lang))}"
            f" — {section_summary(section, lang)}"
        )
        lines.append("")
        for item in section.open_items:
            lines.append(f"- {_item_words(item, lang)}")
        if section.open_items:
            lines.append("")
    return lines


def _item_words(item: NoteItem, lang: str) -> str:
    text = (
        f"{STATUS_CHAR[item.status]} **{md(item.title.get(lang))}** "
        f"({t(STATUS_KEY[item.status], lang)}): {md(item.found.get(lang))}"
    )
    return text + item_tail(item, lang, md)


def item_tail(item: NoteItem, lang: str, clean: Callable[[str], str]) -> str:
    """After an item's finding: where it comes from, the fix, and who must act (unless
    nobody); ``clean`` prepares the fix for the surface (Markdown or mrkdwn)."""
    text = ""
    if item.from_export:
        text += " " + t("handover.setup.from_export", lang)
    if item.fix is not None:
        text += " — " + t("handover.setup.fix", lang, fix=clean(item.fix.get(lang)))
    if item.actor is not Actor.NOBODY:
        text += " _" + t("handover.setup.to_act", lang, who=t(ACTOR_KEY[item.actor], lang)) + "_"
    return text


def _ours_part(note: HandoverNote, lang: str, zone: ZoneInfo) -> list[str]:
    lines = [f"## {t('handover.ours.heading', lang)}", ""]
    if not note.tasks:
        return [*lines, t("handover.ours.none", lang), ""]
    for task in note.tasks:
        channel = md(task.values.get("channel", ""))
        lines.append(f"- {task_words(task, zone, lang, channel=channel)}")
    return [*lines, ""]


def _incidents_part(note: HandoverNote, lang: str, zone: ZoneInfo) -> list[str]:
    lines = [f"## {t('handover.incidents.heading', lang)}", ""]
    if not note.incidents:
        return [*lines, t("handover.incidents.none", lang), ""]
    for span in note.incidents:
        text = incident_words(span, zone, lang)
        if span.acknowledged_by:
            text += " · " + t(
                "handover.incidents.acknowledged", lang, user=person(span.acknowledged_by)
            )
        lines.append(f"- {text}")
    return [*lines, ""]


def _availability_part(note: HandoverNote, lang: str) -> list[str]:
    value = note.availability
    strip = "".join(SQUARE_CHAR[day.square] for day in note.days)
    return [
        f"## {t('handover.availability.heading', lang)}",
        "",
        f"**{availability_words(value, lang)}**. {availability_meaning(value, lang)}",
        "",
        strip_range(note.days, lang),
        "",
        strip,
        "",
        legend(SQUARE_CHAR, lang),
        "",
    ]


def _export_part(note: HandoverNote, lang: str, zone: ZoneInfo) -> list[str]:
    lines = [f"## {t('handover.export.heading', lang)}", ""]
    if note.export is None:
        return [*lines, t("handover.export.none", lang), ""]
    export = note.export
    lines.append(export_words(export, zone, lang, user=person(export.requested_by)))
    if export.headline is not None:
        lines += ["", md(export.headline.get(lang))]
    return [*lines, ""]
