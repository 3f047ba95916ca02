"""The registration form (a modal) and the views around it: verifying, done.

Pure builders. The token field is never filled in again (a form shown a second time, after
AFAS refused the token, keeps every other value); the token appears in no view, no metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
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

from afas.environments import EnvironmentKind
from afas.report import CheckReport
from bot.blocks import escape, plain
from bot.blocks.report import report_blocks
from bot.i18n import normalise_language, t

CALLBACK_ID = "register_org"
KINDS = tuple(kind.value for kind in EnvironmentKind)  # production first: the default
ACTION_ID = "value"  # every input's action id; the block ids name the fields


@dataclass(frozen=True)
class FormValues:
    """What the form shows again after a refusal: everything but the token."""

    key: str = ""
    name: str = ""
    environment: str = ""
    kind: str = EnvironmentKind.PRODUCTION.value
    replace: bool = False
    channel: str | None = None
    owner: str | None = None
    notes: str = ""


def register_modal(
    *, language: str, values: FormValues | None = None, notice: str | None = None
) -> dict:
    lang = normalise_language(language)
    values = values or FormValues()
    blocks: list[Block] = []
    if notice:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=":warning: " + escape(notice))))
    blocks += [
        _text_input("key", lang, values.key, max_length=40),
        _text_input("name", lang, values.name, max_length=120),
        _text_input("environment", lang, values.environment, max_length=12),
        InputBlock(
            block_id="kind",
            label=PlainTextObject(text=t("register.kind", lang)),
            element=StaticSelectElement(
                action_id="value",
                options=[_kind_option(kind, lang) for kind in KINDS],
                initial_option=_kind_option(
                    values.kind if values.kind in KINDS else KINDS[0], lang
                ),
            ),
        ),
        InputBlock(
            block_id="token",
            label=PlainTextObject(text=t("register.token", lang)),
            hint=PlainTextObject(text=t("register.token_hint", lang)),
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=3000),
        ),
        InputBlock(
            block_id="replace",
            optional=True,
            label=PlainTextObject(text=t("register.replace_label", lang)),
            element=CheckboxesElement(
                action_id="value",
                options=[_replace_option(lang)],
                initial_options=[_replace_option(lang)] if values.replace else None,
            ),
        ),
        InputBlock(
            block_id="channel",
            optional=True,
            label=PlainTextObject(text=t("register.channel", lang)),
            element=ConversationSelectElement(
                action_id="value",
                initial_conversation=values.channel,
                filter={"include": ["public", "private"], "exclude_bot_users": True},
            ),
        ),
        InputBlock(
            block_id="owner",
            optional=True,
            label=PlainTextObject(text=t("register.owner", lang)),
            element=UserSelectElement(action_id="value", initial_user=values.owner),
        ),
        _text_input("notes", lang, values.notes, max_length=4000, multiline=True, optional=True),
        ContextBlock(elements=[MarkdownTextObject(text=":lock: " + t("register.privacy", lang))]),
    ]
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=PlainTextObject(text=plain(t("register.title", lang), 24)),
        submit=PlainTextObject(text=plain(t("register.submit", lang), 24)),
        close=PlainTextObject(text=plain(t("register.cancel", lang), 24)),
        private_metadata=json.dumps({"language": lang}),
        blocks=blocks,
    ).to_dict()


def verifying_view(key: str, *, language: str) -> dict:
    lang = normalise_language(language)
    return View(
        type="modal",
        callback_id=f"{CALLBACK_ID}_verifying",
        title=PlainTextObject(text=plain(t("register.title", lang), 24)),
        close=PlainTextObject(text=plain(t("register.close", lang), 24)),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=":hourglass_flowing_sand: "
                    + t("register.verifying", lang, org=escape(key))
                )
            )
        ],
    ).to_dict()


def registered_view(
    key: str, report: CheckReport, *, language: str, replaced: bool, fingerprint: str
) -> dict:
    """Done: what was stored (never the token: its fingerprint) and what the setup lacks."""
    lang = normalise_language(language)
    done = t(
        "register.replaced" if replaced else "register.registered",
        lang,
        org=escape(key),
        fingerprint=escape(fingerprint),
    )
    blocks = [SectionBlock(text=MarkdownTextObject(text=":white_check_mark: " + done)).to_dict()]
    blocks += report_blocks(report, language=lang, org_key=key, with_actions=False)[:45]
    return {
        "type": "modal",
        "callback_id": f"{CALLBACK_ID}_done",
        "title": PlainTextObject(text=plain(t("register.title", lang), 24)).to_dict(),
        "close": PlainTextObject(text=plain(t("register.close", lang), 24)).to_dict(),
        "blocks": blocks,
    }


def _text_input(
    block_id: str,
    lang: str,
    initial: str,
    *,
    max_length: int,
    multiline: bool = False,
    optional: bool = False,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        optional=optional,
        label=PlainTextObject(text=t(f"register.{block_id}", lang)),
        hint=PlainTextObject(text=t(f"register.{block_id}_hint", lang)),
        element=PlainTextInputElement(
            action_id="value",
            initial_value=initial or None,
            multiline=multiline,
            max_length=max_length,
        ),
    )


def _kind_option(kind: str, lang: str) -> Option:
    return Option(value=kind, text=PlainTextObject(text=t(f"env_kind.{kind}", lang)))


def _replace_option(lang: str) -> Option:
    return Option(value="replace", text=PlainTextObject(text=t("register.replace", lang)))
