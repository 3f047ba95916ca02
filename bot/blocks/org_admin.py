"""The modals of ``/afas rotate``, ``/afas edit`` and ``/afas remove``, the views around them,
the edit's confirmation, and the alert of a removed org. Pure builders.

Every modal's ``private_metadata`` holds the org key, the reader's language and the channel
the command came from (for the edit's confirmation); the listener reads it as untrusted. The
token field is never filled in (a form shown again after AFAS refused a token starts empty),
and no view, metadata or message holds a token: only its fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.report import CheckReport, ItemStatus
from bot.alerting.messages import OrgRemoved
from bot.blocks import duration_text, escape, mt, outside_text, plain, to_dicts
from bot.blocks.report import report_blocks
from bot.i18n import normalise_language, t

ROTATE_CALLBACK = "org_admin_rotate"
EDIT_CALLBACK = "org_admin_edit"
REMOVE_CALLBACK = "org_admin_remove"
ACTION_ID = "value"  # every input's action id; the block ids name the fields
#: The edit form's block ids, by storage field name.
EDIT_BLOCKS = {
    "display_name": "name",
    "alert_channel": "channel",
    "cs_owner": "owner",
    "notes": "notes",
    "check_interval_seconds": "interval",
}
#: The edit form's choice "no interval of its own": the default (AFASBOT_CHECK_INTERVAL_SECONDS).
DEFAULT_INTERVAL = "default"
#: The check intervals offered (seconds): 5 minutes to 1 day, as storage bounds them.
INTERVAL_CHOICES: tuple[int, ...] = (
    300,
    600,
    900,
    1800,
    3600,
    2 * 3600,
    4 * 3600,
    6 * 3600,
    12 * 3600,
    24 * 3600,
)
NOTES_MAX = 4000
_MODAL_TEXT = 24
_FIELD_ERROR_LIMIT = 150


@dataclass(frozen=True)
class OrgFacts:
    """What the modals show of an org (never its token: the fingerprint)."""

    key: str
    display_name: str
    environment: AfasEnvironment
    fingerprint: str
    alert_channel: str | None = None
    cs_owner: str | None = None
    notes: str = ""
    check_interval_seconds: int | None = None  # None: the default applies
    default_interval_seconds: int = 900  # the setting, to say what the default is


@dataclass(frozen=True)
class ChangeLine:
    """One changed setting, for the confirmation: values as stored (None: empty)."""

    field: str
    old: object
    new: object


def metadata(key: str, *, language: str, channel: str | None) -> str:
    return json.dumps({"org": key, "language": normalise_language(language), "channel": channel})


# -- shared --------------------------------------------------------------------------------------


def org_line(org: OrgFacts, *, language: str) -> str:
    return mt(
        "org_admin.org",
        language,
        name=org.display_name,
        key=org.key,
        environment=org.environment.label_in(language),
    )


def _modal(
    callback_id: str,
    title: str,
    blocks: Sequence[Block],
    *,
    language: str,
    private_metadata: str | None = None,
    submit: str | None = None,
) -> dict:
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=plain(title, _MODAL_TEXT)),
        submit=PlainTextObject(text=plain(submit, _MODAL_TEXT)) if submit else None,
        close=PlainTextObject(
            text=plain(t("org_admin.cancel" if submit else "org_admin.close", language), 24)
        ),
        private_metadata=private_metadata,
        blocks=list(blocks),
    ).to_dict()


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _notice(text: str) -> SectionBlock:
    return _section(":warning: " + outside_text(text, 2900))


def refusal_reason(report: CheckReport, language: str) -> str:
    """Why AFAS did not let us in: the first failing item, else what could not be checked."""
    for status in (ItemStatus.FAILING, ItemStatus.UNKNOWN):
        for item in report.items:
            if item.status is status:
                return item.found.get(language)
    return report.headline.get(language)


# -- rotate --------------------------------------------------------------------------------------


def rotate_modal(
    org: OrgFacts, *, language: str, channel: str | None = None, notice: str | None = None
) -> dict:
    """The token field only; the org, its environment and its current token's fingerprint
    shown above it."""
    lang = normalise_language(language)
    blocks: list[Block] = []
    if notice:
        blocks.append(_notice(notice))
    blocks += [
        _section(org_line(org, language=lang)),
        _section(mt("org_admin.rotate.intro", lang, fingerprint=org.fingerprint)),
        InputBlock(
            block_id="token",
            label=PlainTextObject(text=t("org_admin.rotate.token", lang)),
            hint=PlainTextObject(text=t("register.token_hint", lang)),
            element=PlainTextInputElement(action_id=ACTION_ID, multiline=True, max_length=3000),
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=":lock: "
                    + mt(
                        "org_admin.rotate.privacy",
                        lang,
                        environment=org.environment.label_in(lang),
                    )
                )
            ]
        ),
    ]
    return _modal(
        ROTATE_CALLBACK,
        t("org_admin.rotate.title", lang),
        blocks,
        language=lang,
        private_metadata=metadata(org.key, language=lang, channel=channel),
        submit=t("org_admin.rotate.submit", lang),
    )


def rotating_view(org: OrgFacts, *, language: str) -> dict:
    lang = normalise_language(language)
    text = ":hourglass_flowing_sand: " + mt(
        "org_admin.rotate.verifying",
        lang,
        org=org.key,
        environment=org.environment.label_in(lang),
    )
    return _modal(
        f"{ROTATE_CALLBACK}_verifying",
        t("org_admin.rotate.title", lang),
        [_section(text)],
        language=lang,
    )


def rotated_view(
    org: OrgFacts, report: CheckReport, *, language: str, fingerprint: str, previous: str
) -> dict:
    """Done: the new token's fingerprint (never the token) and what the check found."""
    lang = normalise_language(language)
    done = ":white_check_mark: " + mt(
        "org_admin.rotate.done", lang, org=org.key, fingerprint=fingerprint, previous=previous
    )
    view = _modal(
        f"{ROTATE_CALLBACK}_done",
        t("org_admin.rotate.title", lang),
        [_section(done), _section(t("org_admin.rotate.found", lang))],
        language=lang,
    )
    view["blocks"] += report_blocks(
        report, language=lang, org_key=org.key, display_name=org.display_name, with_actions=False
    )[:45]
    return view


# -- edit ----------------------------------------------------------------------------------------


def is_user_id(value: str | None) -> bool:
    """Whether a stored owner is a Slack user id (a users_select can show it)."""
    return bool(value) and value[0] in "UW" and value.isalnum() and value.isupper()


def interval_choices(current: int | None) -> list[int]:
    """The offered intervals of its own, with the stored one among them even when it is not
    one of ours (besides these the form offers ``DEFAULT_INTERVAL``)."""
    return sorted({*INTERVAL_CHOICES, *([] if current is None else [current])})


def interval_label(seconds: int, language: str) -> str:
    return duration_text(timedelta(seconds=seconds), language=language)


def default_interval_label(default_seconds: int, language: str) -> str:
    """What an org without an interval of its own shows: "the default (15 minutes)"."""
    return t("interval.default", language, duration=interval_label(default_seconds, language))


def edit_modal(org: OrgFacts, *, language: str, channel: str | None = None) -> dict:
    """Every setting, prefilled with the stored value."""
    lang = normalise_language(language)
    owner_is_user = is_user_id(org.cs_owner)
    options: dict[int | None, Option] = {
        None: Option(
            value=DEFAULT_INTERVAL,
            text=PlainTextObject(
                text=plain(default_interval_label(org.default_interval_seconds, lang), 75)
            ),
        )
    }
    options.update(
        (
            seconds,
            Option(value=str(seconds), text=PlainTextObject(text=interval_label(seconds, lang))),
        )
        for seconds in interval_choices(org.check_interval_seconds)
    )
    blocks: list[Block] = [
        _section(org_line(org, language=lang)),
        ContextBlock(
            elements=[MarkdownTextObject(text=mt("org_admin.edit.intro", lang, key=org.key))]
        ),
        InputBlock(
            block_id="name",
            label=PlainTextObject(text=t("org_admin.edit.name", lang)),
            element=PlainTextInputElement(
                action_id=ACTION_ID, initial_value=org.display_name or None, max_length=200
            ),
        ),
        InputBlock(
            block_id="channel",
            optional=True,
            label=PlainTextObject(text=t("org_admin.edit.channel", lang)),
            element=ConversationSelectElement(
                action_id=ACTION_ID,
                initial_conversation=org.alert_channel,
                filter={"include": ["public", "private"], "exclude_bot_users": True},
            ),
        ),
        InputBlock(
            block_id="owner",
            optional=True,
            label=PlainTextObject(text=t("org_admin.edit.owner", lang)),
            element=UserSelectElement(
                action_id=ACTION_ID, initial_user=org.cs_owner if owner_is_user else None
            ),
        ),
    ]
    if org.cs_owner and not owner_is_user:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=mt("org_admin.edit.owner_text", lang, owner=org.cs_owner)
                    )
                ]
            )
        )
    blocks += [
        InputBlock(
            block_id="notes",
            optional=True,
            label=PlainTextObject(text=t("org_admin.edit.notes", lang)),
            hint=PlainTextObject(text=t("org_admin.edit.notes_hint", lang)),
            element=PlainTextInputElement(
                action_id=ACTION_ID,
                initial_value=org.notes or None,
                multiline=True,
                max_length=NOTES_MAX,
            ),
        ),
        InputBlock(
            block_id="interval",
            label=PlainTextObject(text=t("org_admin.edit.interval", lang)),
            hint=PlainTextObject(text=t("org_admin.edit.interval_hint", lang)),
            element=StaticSelectElement(
                action_id=ACTION_ID,
                options=list(options.values()),
                initial_option=options[org.check_interval_seconds],
            ),
        ),
    ]
    return _modal(
        EDIT_CALLBACK,
        t("org_admin.edit.title", lang),
        blocks,
        language=lang,
        private_metadata=metadata(org.key, language=lang, channel=channel),
        submit=t("org_admin.edit.submit", lang),
    )


def _shown(field: str, value: object, language: str, default_interval: int) -> str:
    """A setting's value as the confirmation shows it (a channel and a user as mentions; no
    interval of its own as the default's)."""
    if field == "check_interval_seconds" and value is None:
        return default_interval_label(default_interval, language)
    if value is None or value == "":
        return t("org_admin.none", language)
    if field == "alert_channel":
        return f"<#{escape(value)}>"
    if field == "cs_owner":
        return f"<@{escape(value)}>" if is_user_id(str(value)) else escape(value)
    if field == "check_interval_seconds":
        return interval_label(int(value), language)  # type: ignore[arg-type]
    return escape(value)


def edited_blocks(
    key: str,
    changes: Sequence[ChangeLine],
    *,
    language: str,
    next_check_in: timedelta | None = None,
    default_interval_seconds: int = 900,
) -> list[dict]:
    """The confirmation: what changed, from what to what (the notes: only that they did)."""
    lang = normalise_language(language)
    if not changes:
        return to_dicts(
            [_section(":information_source: " + mt("org_admin.edit.unchanged", lang, org=key))]
        )
    lines = []
    for change in changes:
        if change.field == "notes":
            lines.append("• " + t("org_admin.edit.notes_changed", lang))
            continue
        lines.append(
            "• "
            + t(
                "org_admin.edit.change",
                lang,
                field=t(f"org_admin.edit.field.{change.field}", lang),
                old=_shown(change.field, change.old, lang, default_interval_seconds),
                new=_shown(change.field, change.new, lang, default_interval_seconds),
            )
        )
    blocks: list[Block] = [
        _section(":white_check_mark: " + mt("org_admin.edit.saved", lang, org=key)),
        _section(plain("\n".join(lines), 2900)),
    ]
    if next_check_in is not None:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=t(
                            "org_admin.edit.next_check",
                            lang,
                            duration=duration_text(next_check_in, language=lang),
                        )
                    )
                ]
            )
        )
    return to_dicts(blocks)


def edited_text(key: str, changes: Sequence[ChangeLine], *, language: str) -> str:
    lang = normalise_language(language)
    if not changes:
        return plain(t("org_admin.edit.unchanged", lang, org=key), 300)
    fields = ", ".join(t(f"org_admin.edit.field.{c.field}", lang) for c in changes)
    return plain(f"{t('org_admin.edit.saved', lang, org=key)} {fields}", 300)


def edit_field_error(key: str, language: str) -> str:
    return plain(t(key, language), _FIELD_ERROR_LIMIT)


# -- remove --------------------------------------------------------------------------------------


def remove_modal(org: OrgFacts, *, language: str, channel: str | None = None) -> dict:
    """The confirmation: names the org and its environment and says what will happen."""
    lang = normalise_language(language)
    happens = [
        mt("org_admin.remove.token", lang, fingerprint=org.fingerprint),
        t("org_admin.remove.history", lang),
        t("org_admin.remove.incidents", lang),
        t("org_admin.remove.audit", lang),
    ]
    blocks: list[Block] = [
        _section(t("org_admin.remove.intro", lang)),
        _section(org_line(org, language=lang)),
    ]
    if org.environment.kind is EnvironmentKind.PRODUCTION:
        blocks.append(_section(t("org_admin.remove.production", lang)))
    blocks += [
        _section(t("org_admin.remove.what", lang) + "\n" + "\n".join(f"• {x}" for x in happens)),
        ContextBlock(elements=[MarkdownTextObject(text=t("org_admin.remove.undo", lang))]),
    ]
    return _modal(
        REMOVE_CALLBACK,
        t("org_admin.remove.title", lang),
        blocks,
        language=lang,
        private_metadata=metadata(org.key, language=lang, channel=channel),
        submit=t("org_admin.remove.submit", lang),
    )


def removing_view(key: str, *, language: str) -> dict:
    lang = normalise_language(language)
    text = ":hourglass_flowing_sand: " + mt("org_admin.remove.removing", lang, org=key)
    return _modal(
        f"{REMOVE_CALLBACK}_removing",
        t("org_admin.remove.title", lang),
        [_section(text)],
        language=lang,
    )


def removed_view(
    key: str,
    *,
    language: str,
    fingerprint: str,
    checks: int,
    incidents: int,
    alerts: int,
) -> dict:
    lang = normalise_language(language)
    checks_text = t(
        "org_admin.remove.count_checks.one"
        if checks == 1
        else "org_admin.remove.count_checks.other",
        lang,
        count=checks,
    )
    incidents_text = t(
        "org_admin.remove.count_incidents.one"
        if incidents == 1
        else "org_admin.remove.count_incidents.other",
        lang,
        count=incidents,
    )
    done = mt(
        "org_admin.remove.done",
        lang,
        org=key,
        fingerprint=fingerprint,
        checks=checks_text,
        incidents=incidents_text,
    )
    blocks: list[Block] = [_section(":wastebasket: " + done)]
    if alerts:
        alerts_text = (
            t("org_admin.remove.alerts.one", lang)
            if alerts == 1
            else t("org_admin.remove.alerts.other", lang, count=alerts)
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=alerts_text)]))
    return _modal(
        f"{REMOVE_CALLBACK}_done", t("org_admin.remove.title", lang), blocks, language=lang
    )


# -- the alert of a removed org (bot/alerting/delivery.py) ---------------------------------------


def org_removed_blocks(message: OrgRemoved, *, language: str) -> list[dict]:
    """The incident's root message once the org is gone: no buttons (nothing to act on)."""
    lang = normalise_language(language)
    text = ":wastebasket: " + t(
        "org_admin.remove.alert",
        lang,
        org=escape(message.org_name),
        user=f"<@{escape(message.removed_by)}>",
    )
    environment = message.environment_in(lang)
    blocks: list[Block] = [_section(text)]
    if environment:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=mt("alert.environment", lang, environment=environment))
                ]
            )
        )
    return to_dicts(blocks)


def org_removed_text(message: OrgRemoved, *, language: str) -> str:
    lang = normalise_language(language)
    return t(
        "org_admin.remove.alert",
        lang,
        org=escape(message.org_name),
        user=f"<@{escape(message.removed_by)}>",
    )


def org_removed_reply(message: OrgRemoved, *, language: str) -> str:
    lang = normalise_language(language)
    return ":wastebasket: " + t(
        "org_admin.remove.alert_reply",
        lang,
        org=escape(message.org_name),
        user=f"<@{escape(message.removed_by)}>",
    )
