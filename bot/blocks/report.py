"""A check report as a Slack message: header, headline, facts, one section per problem.

The report's own texts (titles, findings, fixes) come in both languages with the report; the
frame around them comes from the catalogue. Everything from AFAS or a user is escaped for
mrkdwn and cleared of token-shaped strings. Items not checked for one shared reason (the token
was refused, AFAS was down) make one row, as in the terminal (bot/cli/render.py).
"""

from __future__ import annotations

from dataclasses import dataclass

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

from afas.environments import EnvironmentKind
from afas.report import CheckReport, ItemStatus, ReportItem
from bot.blocks import (
    BUTTON_TEXT_LIMIT,
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT_LIMIT,
    STATE_EMOJI,
    STATE_LABEL_KEY,
    mt,
    outside_text,
    plain,
    redact,
    to_dicts,
    truncate,
)
from bot.blocks.export import EXPORT_ACTION
from bot.blocks.handover import HANDOVER_ACTION
from bot.i18n import normalise_language, t

RECHECK_ACTION = "recheck"
RECHECK_DEEP_ACTION = "recheck_deep"

ITEM_EMOJI = {
    ItemStatus.OK: ":white_check_mark:",
    ItemStatus.WARNING: ":warning:",
    ItemStatus.FAILING: ":x:",
    ItemStatus.NOT_CHECKABLE: ":heavy_minus_sign:",
    ItemStatus.UNKNOWN: ":grey_question:",
}
_PROBLEM_ORDER = {ItemStatus.FAILING: 0, ItemStatus.WARNING: 1, ItemStatus.UNKNOWN: 2}
_SHARED_REASON = frozenset({"not_checked", "afas_unavailable"})
_ENV_KIND_KEY = {kind.value: f"env_kind.{kind.value}" for kind in EnvironmentKind}
# One item's parts are capped so that one long AFAS message cannot crowd out the others.
_TITLE_LIMIT = 200
_PART_LIMIT = 800
_LINE_LIMIT = 400


@dataclass(frozen=True)
class _Row:
    """One section of the message and how many requirements it stands for."""

    text: str
    items: int


def report_blocks(
    report: CheckReport,
    *,
    language: str,
    org_key: str | None = None,
    display_name: str | None = None,
    problems_only: bool = True,
    with_actions: bool = True,
) -> list[dict]:
    """The report as blocks: at most 50, each section within Slack's limits.

    ``problems_only`` shows failing, warning and undetermined items and sums up the rest in a
    count; otherwise every item is shown (the OK ones packed a few to a section). With an
    ``org_key`` (and ``with_actions``) the message ends in Re-check, Deep check, Test export
    and Handover buttons.
    """
    lang = normalise_language(language)
    head: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=_header(report, lang, org_key, display_name), emoji=True)
        ),
        SectionBlock(text=MarkdownTextObject(text=outside_text(report.headline.get(lang), 500))),
        ContextBlock(elements=[MarkdownTextObject(text=_facts(report, lang))]),
    ]
    rows = _problem_rows(report, lang)
    if not problems_only:
        rows += _other_rows(report, lang)
    tail: list[Block] = []
    if problems_only and (summary := _summary(report, lang)):
        tail.append(ContextBlock(elements=[MarkdownTextObject(text=summary)]))
    if org_key and with_actions:
        tail.append(_actions(org_key, lang))
    body = _fit(rows, room=MAX_BLOCKS - len(head) - len(tail), language=lang)
    return to_dicts([*head, *body, *tail])


def report_text(report: CheckReport, *, language: str, org_key: str | None = None) -> str:
    """The notification and screen-reader text: org, headline and the number of problems."""
    lang = normalise_language(language)
    org = org_key or _environment_name(report, lang)
    text = mt("report.text", lang, org=org, headline=report.headline.get(lang))
    problems = sum(i.status in (ItemStatus.FAILING, ItemStatus.WARNING) for i in report.items)
    if problems:
        key = "report.text_problems.one" if problems == 1 else "report.text_problems.other"
        text += f" ({t(key, lang, count=problems)})"
    return f"{STATE_EMOJI[report.overall.value]} {truncate(text, 1000)}"


# -- the frame -------------------------------------------------------------------------------


def _header(report: CheckReport, lang: str, org_key: str | None, display_name: str | None) -> str:
    if display_name and org_key and display_name != org_key:
        org = t("report.org", lang, name=display_name, key=org_key)
    else:
        org = display_name or org_key or _environment_name(report, lang)
    state = t(STATE_LABEL_KEY[report.overall.value], lang)
    emoji = STATE_EMOJI[report.overall.value]
    text = t("report.header", lang, org=org, state=state)
    return plain(f"{emoji} {text}", HEADER_TEXT_LIMIT)


def _environment_label(report: CheckReport, lang: str) -> str:
    kind_key = _ENV_KIND_KEY.get(report.env_kind)
    kind = t(kind_key, lang) if kind_key else report.env_kind
    return t("report.environment_label", lang, number=report.env_number, kind=kind)


def _environment_name(report: CheckReport, lang: str) -> str:
    return t("report.environment", lang, environment=_environment_label(report, lang))


def _facts(report: CheckReport, lang: str) -> str:
    facts = [mt("report.context.environment", lang, environment=_environment_label(report, lang))]
    version = report.facts.get("profit_version")
    if version:
        # mt escapes (outside_text would escape twice: "&amp;amp;")
        facts.append(mt("report.context.profit", lang, version=truncate(redact(str(version)), 40)))
    facts.append(mt("report.context.token", lang, fingerprint=report.token_fingerprint))
    requests_key = (
        "report.context.requests.one" if report.requests == 1 else "report.context.requests.other"
    )
    facts.append(t(requests_key, lang, count=report.requests))
    ms = round(report.duration_ms)
    if ms < 10_000:
        facts.append(t("report.context.duration_ms", lang, ms=ms))
    else:
        facts.append(t("report.context.duration_s", lang, seconds=round(ms / 1000)))
    if report.deep:
        facts.append(t("report.context.deep", lang))
    return truncate(" · ".join(facts), CONTEXT_TEXT_LIMIT)


def _summary(report: CheckReport, lang: str) -> str:
    counts = report.counts()
    parts = []
    if counts[ItemStatus.OK.value]:
        parts.append(t("report.summary.ok", lang, count=counts[ItemStatus.OK.value]))
    if counts[ItemStatus.NOT_CHECKABLE.value]:
        parts.append(
            t("report.summary.not_checkable", lang, count=counts[ItemStatus.NOT_CHECKABLE.value])
        )
    return " · ".join(parts)


def _actions(org_key: str, lang: str) -> ActionsBlock:
    return ActionsBlock(
        block_id="report_actions",
        elements=[
            ButtonElement(
                text=PlainTextObject(
                    text=plain(t("report.button.recheck", lang), BUTTON_TEXT_LIMIT), emoji=True
                ),
                action_id=RECHECK_ACTION,
                value=org_key,
            ),
            ButtonElement(
                text=PlainTextObject(
                    text=plain(t("report.button.deep", lang), BUTTON_TEXT_LIMIT), emoji=True
                ),
                action_id=RECHECK_DEEP_ACTION,
                value=org_key,
            ),
            ButtonElement(  # a dry run, agents only (bot/slack/listeners/exports.py)
                text=PlainTextObject(
                    text=plain(t("report.button.export", lang), BUTTON_TEXT_LIMIT), emoji=True
                ),
                action_id=EXPORT_ACTION,
                value=org_key,
            ),
            ButtonElement(  # the handover note, agents only (bot/slack/listeners/handover.py)
                text=PlainTextObject(
                    text=plain(t("handover.button", lang), BUTTON_TEXT_LIMIT), emoji=True
                ),
                action_id=HANDOVER_ACTION,
                value=org_key,
            ),
        ],
    )


# -- the items -------------------------------------------------------------------------------


def _problem_rows(report: CheckReport, lang: str) -> list[_Row]:
    problems = [i for i in report.items if i.status in _PROBLEM_ORDER]
    shared: dict[tuple[str, str], list[ReportItem]] = {}
    for item in problems:
        if item.status is ItemStatus.UNKNOWN and item.finding in _SHARED_REASON:
            reason = (item.found.get(lang), item.fix.get(lang) if item.fix else "")
            shared.setdefault(reason, []).append(item)
    collapsed = {id(item) for group in shared.values() if len(group) > 1 for item in group}
    singles = sorted(
        (item for item in problems if id(item) not in collapsed),
        key=lambda item: _PROBLEM_ORDER[item.status],
    )
    rows = [_Row(_item_text(item, lang), 1) for item in singles]
    for group in shared.values():
        if len(group) > 1:
            rows.append(_Row(_collapsed_text(group, lang, others=bool(singles)), len(group)))
    return rows


def _other_rows(report: CheckReport, lang: str) -> list[_Row]:
    """Full mode: the not-checkable items one by one, the OK ones packed into sections."""
    rows = [
        _Row(_item_text(item, lang), 1)
        for item in report.items
        if item.status is ItemStatus.NOT_CHECKABLE
    ]
    lines: list[str] = []
    for item in report.items:
        if item.status is not ItemStatus.OK:
            continue
        title = outside_text(item.title.get(lang), _TITLE_LIMIT)
        found = outside_text(item.found.get(lang), _LINE_LIMIT)
        line = f"{ITEM_EMOJI[ItemStatus.OK]} *{title}*: {found}"
        if lines and len("\n".join([*lines, line])) > SECTION_TEXT_LIMIT:
            rows.append(_Row("\n".join(lines), len(lines)))
            lines = []
        lines.append(line)
    if lines:
        rows.append(_Row("\n".join(lines), len(lines)))
    return rows


def _item_text(item: ReportItem, lang: str) -> str:
    title = outside_text(item.title.get(lang), _TITLE_LIMIT)
    first = f"{ITEM_EMOJI[item.status]} *{title}*"
    if item.guide_section:
        first += " · " + mt("report.guide", lang, section=item.guide_section)
    lines = [first, outside_text(item.found.get(lang), _PART_LIMIT)]
    if item.fix is not None and item.status is not ItemStatus.OK:
        lines.append(":wrench: " + outside_text(item.fix.get(lang), _PART_LIMIT))
    return truncate("\n".join(lines), SECTION_TEXT_LIMIT)


def _collapsed_text(group: list[ReportItem], lang: str, *, others: bool) -> str:
    key = "report.collapsed.other" if others else "report.collapsed.all"
    lines = [
        f"{ITEM_EMOJI[ItemStatus.UNKNOWN]} *{t(key, lang, count=len(group))}*",
        outside_text(group[0].found.get(lang), _PART_LIMIT),
    ]
    if group[0].fix is not None:
        lines.append(":wrench: " + outside_text(group[0].fix.get(lang), _PART_LIMIT))
    return truncate("\n".join(lines), SECTION_TEXT_LIMIT)


def _fit(rows: list[_Row], *, room: int, language: str) -> list[Block]:
    """Sections for the rows that fit in ``room`` blocks and the text budget; "and N more"."""
    total = sum(len(row.text) for row in rows)
    if len(rows) <= room and total <= MESSAGE_TEXT_BUDGET:
        return [SectionBlock(text=MarkdownTextObject(text=row.text)) for row in rows]
    shown: list[Block] = []
    used = 0
    for index, row in enumerate(rows):
        if len(shown) >= room - 1 or used + len(row.text) > MESSAGE_TEXT_BUDGET:
            left = sum(r.items for r in rows[index:])
            more = t("report.more", language, count=left)
            return [*shown, ContextBlock(elements=[MarkdownTextObject(text=more)])]
        shown.append(SectionBlock(text=MarkdownTextObject(text=row.text)))
        used += len(row.text)
    return shown
