"""Short notices: "checking…", an error, an unknown org, how to use ``/afas``.

Each ``*_blocks`` builder has a ``*_text`` twin for the message's fallback ``text``.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks import (
    SECTION_TEXT_LIMIT,
    escape,
    mt,
    outside_text,
    plain,
    redact,
    to_dicts,
    truncate,
)
from bot.blocks.help import EVERYONE, command_code
from bot.i18n import normalise_language, t

MAX_SUGGESTIONS = 3
_KEY_LIMIT = 80


def checking_blocks(org_key: str, *, language: str, deep: bool = False) -> list[dict]:
    return to_dicts([_section(checking_text(org_key, language=language, deep=deep))])


def checking_text(org_key: str, *, language: str, deep: bool = False) -> str:
    lang = normalise_language(language)
    key = "message.checking_deep" if deep else "message.checking"
    return ":hourglass_flowing_sand: " + mt(key, lang, org=_key(org_key))


def error_blocks(message: str, *, language: str) -> list[dict]:
    """``message`` is already in the reader's language (the error taxonomy picks it)."""
    return to_dicts([_section(error_text(message, language=language))])


def error_text(message: str, *, language: str) -> str:
    return ":warning: " + outside_text(message, SECTION_TEXT_LIMIT - 20)


def modal_notice_view(message: str, *, language: str) -> dict:
    """A modal that only tells something (an error after the form was accepted)."""
    lang = normalise_language(language)
    return View(
        type="modal",
        title=PlainTextObject(text=plain(t("error.title", lang), 24)),
        close=PlainTextObject(text=plain(t("register.close", lang), 24)),
        blocks=[_section(error_text(message, language=lang))],
    ).to_dict()


def unknown_org_blocks(key: str, suggestions: list[str], *, language: str) -> list[dict]:
    lang = normalise_language(language)
    blocks: list[Block] = [_section(unknown_org_text(key, suggestions, language=lang))]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t("message.see_status", lang))]))
    return to_dicts(blocks)


def unknown_org_text(key: str, suggestions: list[str], *, language: str) -> str:
    lang = normalise_language(language)
    text = ":mag: " + mt("message.unknown_org", lang, key=_key(key))
    names = [f"`{escape(_key(s))}`" for s in dict.fromkeys(suggestions) if s][:MAX_SUGGESTIONS]
    if names:
        listed = names[0]
        if len(names) > 1:
            listed = f"{', '.join(names[:-1])} {t('common.or', lang)} {names[-1]}"
        text += " " + t("message.did_you_mean", lang, suggestions=listed)
    return text


def usage_blocks(
    *, language: str, subcommand: str | None = None, suggestion: str | None = None
) -> list[dict]:
    """How to use ``/afas``; with ``subcommand``, first that it is not known (and, with
    ``suggestion``, the nearest one that is)."""
    lang = normalise_language(language)
    blocks: list[Block] = [
        _section(usage_text(language=lang, subcommand=subcommand, suggestion=suggestion))
    ]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t("message.usage_more", lang))]))
    return to_dicts(blocks)


def usage_text(
    *, language: str, subcommand: str | None = None, suggestion: str | None = None
) -> str:
    lang = normalise_language(language)
    commands = ", ".join(command_code(syntax) for syntax, _ in EVERYONE)
    text = t("message.usage", lang, commands=commands)
    if subcommand:
        unknown = mt("message.unknown_subcommand", lang, subcommand=_key(subcommand))
        if suggestion:
            unknown += " " + t(
                "message.did_you_mean", lang, suggestions=f"`{escape(_key(suggestion))}`"
            )
        text = f"{unknown}\n{text}"
    return text


def _key(value: str) -> str:
    """An org key or a word as typed: short, one line (and escaped by the caller)."""
    return truncate(redact(" ".join(str(value).split())), _KEY_LIMIT)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))
