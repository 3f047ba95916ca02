"""The App Home tab as the helpdesk's dashboard, and the modals its menu opens. Pure builders.

The Home tab: the orgs counted per state, a Register button (agents) and a filter by state,
then one page of orgs worst first (state, last check, open incident and who acknowledged it,
mute and who set it until when), each with its menu of actions, and Previous / Next. A page
holds ``PAGE_SIZE`` orgs, one section each: with the frame that is at most 34 blocks, far
inside Slack's 100 per Home view, whatever the number of orgs.

The per-org menu is a select ("Actions"), not an overflow menu: Slack's overflow holds at most
5 options and an agent has 6 (Check, Deep check, History, Handover, Mute, Edit). A select
shows the chosen option until the view is published again, and choosing the shown option
again sends nothing, so each publish gives the org blocks new ids (``generation``).

Absolute times are Slack date tokens (each reader sees their own time zone); "checked 5 min
ago" is computed from the ``now`` handed in. ``home_digest`` sums up what a page shows except
those times, so that a refresh republishes only when something a reader cares about changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.report import CheckReport
from bot.blocks.common import (
    BUTTON_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
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
from bot.blocks.history import CheckLine, IncidentLine, history_blocks
from bot.blocks.messages import checking_blocks
from bot.blocks.report import report_blocks
from bot.i18n import normalise_language, t
from storage.dashboard import NEVER_CHECKED, STATE_ORDER, DashboardPage, DashboardRow

PAGE_SIZE = 25
HOME_MAX_BLOCKS = 100  # Slack's limit for a Home tab view (and a modal)
MODAL_TITLE_LIMIT = 24

REGISTER_ACTION = "home_register"
NEXT_ACTION = "home_next"
PREVIOUS_ACTION = "home_previous"
FILTER_ACTION = "home_filter"
ORG_MENU_ACTION = "home_org_menu"
MODAL_CALLBACK_ID = "home_modal"

#: The menu's choices, in menu order; the last three are for agents.
CHOICES = ("check", "deep", "history", "handover", "mute", "edit")
AGENT_CHOICES = frozenset({"handover", "mute", "edit"})
#: The filter's values: every org, or one state (``NEVER_CHECKED`` for none yet).
ALL_ORGS = "all"
FILTERS = (ALL_ORGS, *STATE_ORDER)

_NAME_LIMIT = 80
_ACTOR_LIMIT = 60
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True)
class HomePosition:
    """Which page of which filter a reader is on (``state`` None: every org)."""

    page: int = 0
    state: str | None = None

    def value(self) -> str:
        """The position as a button's value (read back as untrusted input)."""
        return json.dumps({"page": self.page, "state": self.state}, separators=(",", ":"))


def choice_value(choice: str, key: str) -> str:
    return f"{choice}:{key}"


# -- the Home tab ----------------------------------------------------------------------------


def home_view(
    page: DashboardPage,
    *,
    language: str,
    now: datetime,
    is_agent: bool,
    notice: str | None = None,
    generation: int = 0,
) -> dict:
    """The Home tab for one reader: validated by slack_sdk (blocks, texts, options)."""
    lang = normalise_language(language)
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=plain(t("status.title", lang), HEADER_TEXT_LIMIT), emoji=True)
        )
    ]
    if notice:
        blocks.append(_section(":warning: " + outside_text(notice, SECTION_TEXT_LIMIT - 20)))
    blocks.append(_section(_counts(page, lang)))
    blocks.append(_toolbar(page, lang, is_agent))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_position(page, lang, now))]))
    blocks.append(DividerBlock())
    if not page.rows:
        empty = "home.empty" if page.counts.total == 0 else "home.empty_filter"
        blocks.append(_section(t(empty, lang)))
    for row in page.rows:
        blocks.append(_org_section(row, lang, now, is_agent, generation))
    paging = _paging(page, lang)
    if paging is not None:
        blocks += [DividerBlock(), paging]
    return View(type="home", blocks=blocks).to_dict()


def home_digest(page: DashboardPage, *, language: str, is_agent: bool, now: datetime) -> str:
    """What ``home_view`` shows, as a hash, except what changes only with the clock or with
    every check (relative times, the time of the last check): equal digests, nothing new to
    publish. A mute that ran out does change it (the row loses its mute)."""
    content = {
        "language": normalise_language(language),
        "agent": is_agent,
        "page": [page.page, page.page_count, page.page_size, page.matching, page.state],
        "counts": [page.counts.by_state, page.counts.muted, page.counts.open_incidents],
        "rows": [_row_content(row, now) for row in page.rows],
    }
    encoded = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _row_content(row: DashboardRow, now: datetime) -> list[object]:
    muted = row.muted(now)
    return [
        row.key,
        row.display_name,
        row.env_number,
        row.env_kind,
        row.state,
        row.last_checked_at is None,
        [row.mute_until, row.muted_by] if muted else None,
        [row.incident_opened_at, row.incident_acknowledged_by],
    ]


def _counts(page: DashboardPage, lang: str) -> str:
    counts = page.counts
    parts = [
        f"{STATE_EMOJI[_emoji_state(state)]} "
        + t("status.count", lang, label=_state_label(state, lang), count=counts.by_state[state])
        for state in STATE_ORDER
    ]
    parts.append(":mute: " + t("status.muted_count", lang, count=counts.muted))
    parts.append(":rotating_light: " + t("home.incident_count", lang, count=counts.open_incidents))
    return "  ·  ".join(parts)


def _toolbar(page: DashboardPage, lang: str, is_agent: bool) -> ActionsBlock:
    elements: list = []
    if is_agent:
        elements.append(
            ButtonElement(
                text=_button_text(t("home.register", lang)),
                action_id=REGISTER_ACTION,
                value="register",
                style="primary",
            )
        )
    options = [_filter_option(value, lang) for value in FILTERS]
    current = page.state if page.state in STATE_ORDER else ALL_ORGS
    elements.append(
        StaticSelectElement(
            action_id=FILTER_ACTION,
            placeholder=PlainTextObject(text=t("home.filter_placeholder", lang)),
            options=options,
            initial_option=_filter_option(current, lang),
        )
    )
    return ActionsBlock(block_id="home_toolbar", elements=elements)


def _filter_option(value: str, lang: str) -> Option:
    label = t("home.filter_all", lang) if value == ALL_ORGS else _state_label(value, lang)
    return Option(value=value, text=PlainTextObject(text=truncate(label, 75)))


def _position(page: DashboardPage, lang: str, now: datetime) -> str:
    if page.matching == 0:
        text = t("home.position_none", lang)
    else:
        text = t(
            "home.position",
            lang,
            first=page.first_index + 1,
            last=page.first_index + len(page.rows),
            total=page.matching,
            page=page.page + 1,
            pages=page.page_count,
        )
    if page.state is not None:
        text = f"*{_state_label(page.state, lang)}* · {text}"
    return f"{text} · {t('home.updated', lang, time=slack_date(now))}"


def _paging(page: DashboardPage, lang: str) -> ActionsBlock | None:
    buttons = []
    if page.page > 0:
        buttons.append(
            ButtonElement(
                text=_button_text(t("home.previous", lang)),
                action_id=PREVIOUS_ACTION,
                value=HomePosition(page.page - 1, page.state).value(),
            )
        )
    if page.page + 1 < page.page_count:
        buttons.append(
            ButtonElement(
                text=_button_text(t("home.next", lang)),
                action_id=NEXT_ACTION,
                value=HomePosition(page.page + 1, page.state).value(),
            )
        )
    return ActionsBlock(block_id="home_paging", elements=buttons) if buttons else None


def _org_section(
    row: DashboardRow, lang: str, now: datetime, is_agent: bool, generation: int
) -> SectionBlock:
    choices = [c for c in CHOICES if is_agent or c not in AGENT_CHOICES]
    menu = StaticSelectElement(
        action_id=ORG_MENU_ACTION,
        placeholder=PlainTextObject(text=t("home.menu_placeholder", lang)),
        options=[
            Option(value=choice_value(choice, row.key), text=_option_text(choice, lang))
            for choice in choices
        ],
    )
    return SectionBlock(
        block_id=f"home_org.{generation}.{row.key}",
        text=MarkdownTextObject(text=org_text(row, lang, now)),
        accessory=menu,
    )


def org_text(row: DashboardRow, language: str, now: datetime) -> str:
    """One org's lines: who and where; state and last check; open incident; mute."""
    lang = normalise_language(language)
    state = row.state if row.state in STATE_LABEL_KEY else None
    name = f"{STATE_EMOJI[state]} *{escape(row.key)}*"
    if row.display_name and row.display_name != row.key:
        name += f" ({outside_text(row.display_name, _NAME_LIMIT)})"
    lines = [f"{name} · {escape(_environment(row, lang))}"]
    if row.last_checked_at is None:
        checked = t("status.never_checked", lang)
    else:
        when = time_ago(row.last_checked_at, now=now, language=lang)
        checked = t("status.checked", lang, when=when)
    lines.append(f"{t(STATE_LABEL_KEY[state], lang)} · {checked}")
    if row.incident_opened_at is not None:
        opened = row.incident_opened_at
        line = t(
            "home.incident",
            lang,
            since=slack_date(opened),
            duration=duration_text(as_utc(now) - as_utc(opened), language=lang),
        )
        if row.incident_acknowledged_by:
            who = person(row.incident_acknowledged_by)
            line += " · " + t("home.acknowledged_by", lang, user=who)
        else:
            line += " · " + t("home.not_acknowledged", lang)
        lines.append(line)
    if row.muted(now):
        until = slack_date(row.mute_until)  # type: ignore[arg-type]  # muted() saw it
        if row.muted_by:
            lines.append(t("home.muted", lang, user=person(row.muted_by), until=until))
        else:
            lines.append(t("home.muted_until", lang, until=until))
    return "\n".join(lines)


def _environment(row: DashboardRow, lang: str) -> str:
    try:
        return AfasEnvironment(row.env_number, EnvironmentKind(row.env_kind)).label_in(lang)
    except ValueError:  # a kind this version does not know: show what is stored
        return f"{row.env_number} ({row.env_kind})"


def slack_date(moment: datetime) -> str:
    """A Slack date token: shown in each reader's own time zone, UTC where it cannot be."""
    moment = as_utc(moment)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def person(actor: str) -> str:
    """Who did it: a Slack user as a mention, anyone else (the CLI) as plain text."""
    if _SLACK_USER.fullmatch(actor):
        return f"<@{actor}>"
    return outside_text(actor, _ACTOR_LIMIT)


def _emoji_state(state: str) -> str | None:
    return None if state == NEVER_CHECKED else state


def _state_label(state: str, lang: str) -> str:
    return t(STATE_LABEL_KEY[_emoji_state(state)], lang)


def _option_text(choice: str, lang: str) -> PlainTextObject:
    return PlainTextObject(text=truncate(t(f"home.choice.{choice}", lang), 75))


def _button_text(text: str) -> PlainTextObject:
    return PlainTextObject(text=plain(text, BUTTON_TEXT_LIMIT), emoji=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))


# -- the modals the menu opens ---------------------------------------------------------------


def home_modal(title: str, blocks: list[dict], *, language: str) -> dict:
    """A modal that only shows something (a report, a history, a notice), with Close."""
    lang = normalise_language(language)
    return View(
        type="modal",
        callback_id=MODAL_CALLBACK_ID,
        title=PlainTextObject(text=plain(title, MODAL_TITLE_LIMIT)),
        close=PlainTextObject(text=plain(t("register.close", lang), MODAL_TITLE_LIMIT)),
        blocks=blocks,
    ).to_dict()


def checking_modal(key: str, *, deep: bool, language: str) -> dict:
    """What opens at once (the trigger id lives 3 seconds); the report replaces it."""
    blocks = checking_blocks(key, language=language, deep=deep)
    return home_modal(t("home.check_title", language), blocks, language=language)


def report_modal(
    report: CheckReport, *, language: str, org_key: str, display_name: str | None
) -> dict:
    """The check report without its buttons: those answer through a message's response URL,
    which a modal does not have (the Home menu is where to check again)."""
    blocks = report_blocks(
        report, language=language, org_key=org_key, display_name=display_name, with_actions=False
    )
    return home_modal(t("home.check_title", language), blocks, language=language)


def history_modal(
    key: str,
    display_name: str,
    checks: list[CheckLine],
    incidents: list[IncidentLine],
    *,
    language: str,
    now: datetime,
) -> dict:
    blocks = history_blocks(key, display_name, checks, incidents, language=language, now=now)
    return home_modal(t("home.history_title", language), blocks, language=language)


def notice_modal(text_key: str, *, language: str, title_key: str, **values: object) -> dict:
    """A one-line modal from the catalogue (values escaped)."""
    text = t(text_key, language, **{name: escape(value) for name, value in values.items()})
    return home_modal(t(title_key, language), to_dicts([_section(text)]), language=language)


def error_modal(blocks: list[dict], *, language: str) -> dict:
    """An error (the taxonomy's blocks, already in the reader's language) as a modal."""
    return home_modal(t("error.title", language), blocks, language=language)
