"""A test export as Slack blocks: the report (dry run, live, clean-up), the notices around it,
and the confirmation modal of a live export.

Pure builders, like the check report's (bot/blocks/report.py): the report's own texts (findings,
fixes, where each value came from, how to remove what stays) come in both languages with the
report; the frame comes from the catalogue. Everything from AFAS or a person is escaped for
mrkdwn and cleared of token-shaped strings, and every message stays within Slack's limits (50
blocks, 3000 characters a section, the text budget of ``bot.blocks``).

Buttons carry only the org key. A report in a message ends in "Live test export" (a dry run's)
and, when a live run left records in an unknown state, "Clean up"; a modal carries no buttons
(an error from a button in a modal would have no surface to be told on), so there the report
says which command finishes the clean-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.exports.report import (
    CheckStatus,
    ConnectorResult,
    ConnectorStatus,
    ExportCheck,
    ExportMode,
    ExportReport,
)
from afas.exports.templates import ExportTemplate, ExportTemplates
from afas.exports.values import ValueName, ValuesResult
from bot.blocks import (
    BUTTON_TEXT_LIMIT,
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT_LIMIT,
    escape,
    mt,
    outside_text,
    plain,
    to_dicts,
    truncate,
)
from bot.i18n import normalise_language, t

EXPORT_ACTION = "export_dry_run"  # "Test export" under a check report
EXPORT_LIVE_ACTION = "export_live"  # "Live test export": opens the confirmation
CLEANUP_ACTION = "export_cleanup"  # "Clean up": finishes an interrupted live run
CONFIRM_CALLBACK = "export_live_confirm"
ACTION_ID = "value"  # every input's action id; the block ids name the fields
#: The confirmation's optional inputs, by block id (the ``GivenValues`` field each fills).
FIELDS = ("administration", "journal", "cost_account", "vat_code", "period")
MODAL_TEXT_LIMIT = 24  # title, submit and close of a modal
MODAL_BLOCKS = 100

STATUS_EMOJI = {
    "ok": ":white_check_mark:",
    "failing": ":x:",
    "unknown": ":grey_question:",
    "not_checked": ":heavy_minus_sign:",
    "unreachable": ":grey_question:",
}
_VALUE_LABEL = {name: f"export.value.{name.value}" for name in ValueName}
_VERDICT = {"ok": "export.verdict.ok", "failing": "export.verdict.failing"}
_MODE = {ExportMode.DRY_RUN: "export.mode.dry_run", ExportMode.LIVE: "export.mode.live"}
_ENV_KIND_KEY = {kind.value: f"env_kind.{kind.value}" for kind in EnvironmentKind}
# One item's parts are capped so that one long AFAS message cannot crowd out the others.
_PART_LIMIT = 800
_LINE_LIMIT = 400
_KEY_LIMIT = 80
_FIELD_LIMITS = {
    "administration": 9,
    "journal": 40,
    "cost_account": 40,
    "vat_code": 40,
    "period": 20,
}
# Until a run exists, its marker and invoice number are shown by their fixed part.
_NOT_YET = {"marker": "AFASBOT TEST …", "invoice_id": "AFBT-…"}


@dataclass(frozen=True)
class ExportFormValues:
    """What the confirmation shows in its inputs (again, after a refusal)."""

    administration: str = ""
    journal: str = ""
    cost_account: str = ""
    vat_code: str = ""
    period: str = ""

    def get(self, field: str) -> str:
        return str(getattr(self, field, "") or "")


# -- the report ------------------------------------------------------------------------------


def export_blocks(
    report: ExportReport,
    *,
    language: str,
    org_key: str,
    display_name: str | None = None,
    run_id: str | None = None,
    values: ValuesResult | None = None,
    cleanup_owed: bool = False,
    with_actions: bool = True,
) -> list[dict]:
    """The report as message blocks (``with_actions``: its buttons) or, without actions, as
    the body of a modal (then the clean-up is pointed to by its command)."""
    lang = normalise_language(language)
    head: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_header(report, lang, org_key, display_name))),
        SectionBlock(text=MarkdownTextObject(text=outside_text(report.headline.get(lang), 500))),
        ContextBlock(elements=[MarkdownTextObject(text=_facts(report, lang, run_id))]),
    ]
    groups = [
        ("export.connectors", [_connector_row(item, lang) for item in report.connectors]),
        ("export.checks", [_check_row(item, lang) for item in report.checks]),
    ]
    if report.mode is ExportMode.LIVE and values is not None:
        groups.append(("export.values", _value_rows(values, lang)))
    if report.created:
        groups.append(("export.created", _created_rows(report, lang)))
    if report.left_behind:
        groups.append(("export.left_behind", _left_rows(report, lang)))
    tail: list[Block] = []
    if cleanup_owed:
        key = "export.cleanup_owed" if with_actions else "export.cleanup_owed_typed"
        tail.append(
            SectionBlock(text=MarkdownTextObject(text=":broom: " + mt(key, lang, org=org_key)))
        )
    if with_actions:
        buttons = []
        if report.mode is ExportMode.DRY_RUN:
            buttons.append(_button("export.button.live", EXPORT_LIVE_ACTION, org_key, lang))
        if cleanup_owed:
            buttons.append(_button("export.button.cleanup", CLEANUP_ACTION, org_key, lang))
        if buttons:
            tail.append(ActionsBlock(block_id="export_actions", elements=buttons))
    body = _fit(groups, room=MAX_BLOCKS - len(head) - len(tail), language=lang)
    return to_dicts([*head, *body, *tail])


def export_text(report: ExportReport, *, language: str, org_key: str) -> str:
    """The notification and screen-reader text."""
    lang = normalise_language(language)
    text = mt(
        "export.text",
        lang,
        org=org_key,
        mode=t(_MODE[report.mode], lang),
        headline=report.headline.get(lang),
    )
    return f"{STATUS_EMOJI[report.overall.value]} {truncate(text, 1000)}"


def exporting_blocks(
    org_key: str, *, language: str, live: bool = False, cleanup: bool = False
) -> list[dict]:
    """ "Running a test export…" while AFAS is asked."""
    text = exporting_text(org_key, language=language, live=live, cleanup=cleanup)
    return to_dicts([SectionBlock(text=MarkdownTextObject(text=text))])


def exporting_text(
    org_key: str, *, language: str, live: bool = False, cleanup: bool = False
) -> str:
    lang = normalise_language(language)
    key = "export.cleaning" if cleanup else "export.running_live" if live else "export.running"
    return ":hourglass_flowing_sand: " + mt(key, lang, org=_key(org_key))


def busy_blocks(org_key: str, run_id: str, *, language: str) -> list[dict]:
    """A live run of the org is unfinished: say so, with the button that finishes it."""
    lang = normalise_language(language)
    text = ":construction: " + mt("export.busy", lang, org=_key(org_key), run=_key(run_id))
    return to_dicts(
        [
            SectionBlock(text=MarkdownTextObject(text=text)),
            ActionsBlock(
                block_id="export_actions",
                elements=[_button("export.button.cleanup", CLEANUP_ACTION, org_key, lang)],
            ),
        ]
    )


def busy_text(org_key: str, run_id: str, *, language: str) -> str:
    return mt("export.busy", normalise_language(language), org=_key(org_key), run=_key(run_id))


# -- the live export's modal -----------------------------------------------------------------


def confirm_modal(
    *,
    org_key: str,
    display_name: str,
    environment: AfasEnvironment,
    templates: ExportTemplates,
    language: str,
    values: ExportFormValues | None = None,
    notice: Iterable[str] = (),
) -> dict:
    """The confirmation of a live export: which org, which environment and kind, each record
    that will be created and how it is removed, and the values the agent may give. ``notice``:
    lines already in the reader's language (why nothing was written last time)."""
    lang = normalise_language(language)
    values = values or ExportFormValues()
    org = t("report.org", lang, name=display_name, key=org_key) if display_name else org_key
    intro = mt("export.confirm.intro", lang, org=org, environment=environment.label_in(lang))
    blocks: list[Block] = []
    lines = [outside_text(line, _LINE_LIMIT) for line in notice]
    if lines:
        refused = [":warning: " + t("export.confirm.refused", lang)]
        blocks.append(_section("\n".join(refused + [f"• {line}" for line in lines])))
    blocks.append(_section(intro))
    if environment.kind is EnvironmentKind.PRODUCTION:
        blocks.append(_context(t("export.confirm.production", lang)))
    steps = [t("export.confirm.steps", lang)]
    steps += [_step_line(template, lang) for template in templates.templates]
    blocks.append(_section("\n".join(steps)))
    blocks.append(_context(t("export.confirm.values", lang)))
    blocks += [_input(field, lang, values.get(field)) for field in FIELDS]
    return View(
        type="modal",
        callback_id=CONFIRM_CALLBACK,
        title=_modal_text("export.confirm.title", lang),
        submit=_modal_text("export.confirm.submit", lang),
        close=_modal_text("export.confirm.cancel", lang),
        private_metadata=confirm_metadata(org_key, lang),
        blocks=blocks[:MODAL_BLOCKS],
    ).to_dict()


def confirm_metadata(org_key: str, language: str) -> str:
    """What the submission needs back: the org key and the reader's language (nothing secret;
    the listener parses it again as untrusted input)."""
    return json.dumps({"org": org_key, "language": normalise_language(language)})


def running_view(org_key: str, *, language: str) -> dict:
    """The modal while the live export runs (the submission's acknowledgement)."""
    lang = normalise_language(language)
    text = exporting_text(org_key, language=lang, live=True)
    return _notice_view(lang, [SectionBlock(text=MarkdownTextObject(text=text))])


def result_view(
    report: ExportReport,
    *,
    language: str,
    org_key: str,
    display_name: str | None = None,
    run_id: str | None = None,
    values: ValuesResult | None = None,
    cleanup_owed: bool = False,
) -> dict:
    """The modal with the live export's report (no buttons: see the module docstring)."""
    lang = normalise_language(language)
    blocks = export_blocks(
        report,
        language=lang,
        org_key=org_key,
        display_name=display_name,
        run_id=run_id,
        values=values,
        cleanup_owed=cleanup_owed,
        with_actions=False,
    )
    return {
        "type": "modal",
        "callback_id": f"{CONFIRM_CALLBACK}_done",
        "title": _modal_text("export.confirm.title", lang).to_dict(),
        "close": _modal_text("export.confirm.close", lang).to_dict(),
        "blocks": blocks,
    }


# -- the frame -------------------------------------------------------------------------------


def _header(report: ExportReport, lang: str, org_key: str, display_name: str | None) -> str:
    org = t("report.org", lang, name=display_name, key=org_key) if display_name else org_key
    overall = report.overall.value
    verdict = t(_VERDICT.get(overall, "export.verdict.unreachable"), lang)
    text = t("export.header", lang, org=org, mode=t(_MODE[report.mode], lang), verdict=verdict)
    return plain(f"{STATUS_EMOJI[overall]} {text}", HEADER_TEXT_LIMIT)


def _facts(report: ExportReport, lang: str, run_id: str | None) -> str:
    kind_key = _ENV_KIND_KEY.get(report.env_kind)
    kind = t(kind_key, lang) if kind_key else report.env_kind
    environment = t("report.environment_label", lang, number=report.env_number, kind=kind)
    facts = [mt("report.context.environment", lang, environment=environment)]
    facts.append(mt("report.context.token", lang, fingerprint=report.token_fingerprint))
    if run_id:
        facts.append(mt("export.context.run", lang, run=_key(run_id)))
    requests_key = (
        "report.context.requests.one" if report.requests == 1 else "report.context.requests.other"
    )
    facts.append(t(requests_key, lang, count=report.requests))
    ms = round(report.duration_ms)
    if ms < 10_000:
        facts.append(t("report.context.duration_ms", lang, ms=ms))
    else:
        facts.append(t("report.context.duration_s", lang, seconds=round(ms / 1000)))
    return truncate(" · ".join(facts), CONTEXT_TEXT_LIMIT)


def _button(text_key: str, action_id: str, org_key: str, lang: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=plain(t(text_key, lang), BUTTON_TEXT_LIMIT), emoji=True),
        action_id=action_id,
        value=org_key,
    )


def _modal_text(key: str, lang: str) -> PlainTextObject:
    return PlainTextObject(text=plain(t(key, lang), MODAL_TEXT_LIMIT))


def _notice_view(lang: str, blocks: list[Block]) -> dict:
    return View(
        type="modal",
        callback_id=f"{CONFIRM_CALLBACK}_running",
        title=_modal_text("export.confirm.title", lang),
        close=_modal_text("export.confirm.close", lang),
        blocks=blocks,
    ).to_dict()


def _key(value: str) -> str:
    return truncate(" ".join(str(value).split()), _KEY_LIMIT)


# -- the items -------------------------------------------------------------------------------


def _guide(section: str, lang: str) -> str:
    return " · " + mt("report.guide", lang, section=section) if section else ""


def _connector_row(item: ConnectorResult, lang: str) -> str:
    name = f"*{escape(item.connector_id)}* ({escape(item.method)})"
    first = f"{STATUS_EMOJI[item.status.value]} {name}{_guide(item.guide_section, lang)}"
    found = outside_text(item.found.get(lang), _PART_LIMIT)
    lines = [f"{first}: {found}" if item.status is ConnectorStatus.OK else first]
    if item.status is not ConnectorStatus.OK:
        lines.append(found)
        if item.fix is not None:
            lines.append(":wrench: " + outside_text(item.fix.get(lang), _PART_LIMIT))
    if item.profit_log_reference:
        reference = outside_text(item.profit_log_reference, _KEY_LIMIT)
        lines.append(t("export.log_reference", lang, reference=reference))
    return truncate("\n".join(lines), SECTION_TEXT_LIMIT)


def _check_row(item: ExportCheck, lang: str) -> str:
    title = outside_text(item.title.get(lang), 200)
    first = f"{STATUS_EMOJI[item.status.value]} *{title}*{_guide(item.guide_section, lang)}"
    lines = [first, outside_text(item.found.get(lang), _PART_LIMIT)]
    if item.fix is not None and item.status is CheckStatus.FAILING:
        lines.append(":wrench: " + outside_text(item.fix.get(lang), _PART_LIMIT))
    if item.profit_log_reference:
        reference = outside_text(item.profit_log_reference, _KEY_LIMIT)
        lines.append(t("export.log_reference", lang, reference=reference))
    return truncate("\n".join(lines), SECTION_TEXT_LIMIT)


def _shown_value(name: ValueName, value: object) -> str:
    if name is ValueName.PERIOD and isinstance(value, tuple) and len(value) == 2:
        return f"{value[0]}/{value[1]}"
    return "—" if value is None else str(value)


def _value_rows(values: ValuesResult, lang: str) -> list[str]:
    rows = []
    for name, found in values.found.items():
        label = t(_VALUE_LABEL[name], lang)
        value = outside_text(_shown_value(name, found.value), _KEY_LIMIT)
        source = outside_text(found.source.text.get(lang), _LINE_LIMIT)
        rows.append(f"• {label}: `{value}` — {source}")
    rows += [":warning: " + outside_text(w.get(lang), _LINE_LIMIT) for w in values.warnings]
    return rows


def _record_key(key: Mapping[str, str]) -> str:
    return outside_text(", ".join(f"{name} {value}" for name, value in key.items()), 200)


def _created_rows(report: ExportReport, lang: str) -> list[str]:
    rows = []
    for record in report.created:
        state = t("export.removed" if record.removed else "export.kept", lang)
        emoji = ":wastebasket:" if record.removed else ":pushpin:"
        key = _record_key(record.key)
        rows.append(f"{emoji} *{escape(record.connector_id)}* {key}: {state}")
    return rows


def _left_rows(report: ExportReport, lang: str) -> list[str]:
    rows = []
    for left in report.left_behind:
        lines = [
            f":warning: *{escape(left.connector_id)}* {_record_key(left.key)}",
            outside_text(left.reason.get(lang), _PART_LIMIT),
            ":wrench: " + outside_text(left.how_to_remove.get(lang), _PART_LIMIT),
        ]
        rows.append(truncate("\n".join(lines), SECTION_TEXT_LIMIT))
    return rows


def _fit(groups: list[tuple[str, list[str]]], *, room: int, language: str) -> list[Block]:
    """Each group as sections (its heading first, rows packed within a section's limit), in
    at most ``room`` blocks and the message's text budget; what does not fit is counted in an
    "… and N more" line (which needs a block of the room too)."""
    texts: list[str] = []
    used = shown = 0
    total = sum(len(rows) for _heading, rows in groups)
    full = False
    for heading, rows in groups:
        if not rows:
            continue
        if full or len(texts) >= room - 1:
            break
        title = t(heading, language)
        current = title
        for row in rows:
            separator = "\n\n" if "\n" in row else "\n"
            if used + len(row) > MESSAGE_TEXT_BUDGET:
                full = True
            elif len(current) + len(separator) + len(row) > SECTION_TEXT_LIMIT:
                full = len(texts) + 2 >= room
                if not full:
                    texts.append(current)
                    current = row
            else:
                current += separator + row
            if full:
                break
            used += len(row)
            shown += 1
        if current != title:
            texts.append(current)
    blocks: list[Block] = [_section(text) for text in texts]
    if shown < total:
        more = t("report.more", language, count=total - shown)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return blocks


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, CONTEXT_TEXT_LIMIT))])


def _step_line(template: ExportTemplate, lang: str) -> str:
    title = outside_text(template.title.get(lang).format_map(_Shown(_NOT_YET)), 200)
    removal = template.removal
    if removal is None:
        what = t("export.confirm.removal.none", lang)
    elif removal.leaves_behind:
        what = t("export.confirm.removal.left", lang)
    else:
        what = t("export.confirm.removal.delete", lang)
    connector = f"{escape(template.connector)}, {escape(template.method)}"
    return f"{template.step}. *{title}* ({connector}): {what}"


class _Shown(dict):
    """Placeholders of a title that only a run fills in: shown as "…"."""

    def __missing__(self, name: str) -> str:
        return "…"


def _input(field: str, lang: str, initial: str) -> InputBlock:
    return InputBlock(
        block_id=field,
        optional=True,
        label=PlainTextObject(text=t(f"export.field.{field}", lang)),
        hint=PlainTextObject(text=t(f"export.field.{field}_hint", lang)),
        element=PlainTextInputElement(
            action_id=ACTION_ID,
            initial_value=initial[: _FIELD_LIMITS[field]] or None,
            max_length=_FIELD_LIMITS[field],
        ),
    )
