"""``/afas help``: the subcommands the reader may use, and only those.

Roles (product.md, "Who may do what"): everyone may check and see the status; helpdesk agents
also register, run test exports (live ones on test and acceptance environments), mute, see
history and write handover notes; admins also remove and run live exports on production. An
admin is shown the agents' commands too.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.blocks import HEADER_TEXT_LIMIT, escape, plain, to_dicts
from bot.i18n import normalise_language, t

COMMAND = "/afas"
# (syntax, catalogue key of the description); the syntax is what the parser takes, not prose.
EVERYONE = (
    ("check <org>", "help.cmd.check"),
    ("check <org> deep", "help.cmd.check_deep"),
    ("history <org>", "help.cmd.history"),
    ("status", "help.cmd.status"),
    ("help", "help.cmd.help"),
)
AGENTS = (
    ("register", "help.cmd.register"),
    ("rotate <org>", "help.cmd.rotate"),
    ("edit <org>", "help.cmd.edit"),
    ("mute <org> 2h", "help.cmd.mute"),
    ("unmute <org>", "help.cmd.unmute"),
    ("watch <org>", "help.cmd.watch"),
    ("handover <org>", "help.cmd.handover"),
    ("export <org>", "help.cmd.export"),
    ("export <org> live", "help.cmd.export_live"),
    ("export <org> cleanup", "help.cmd.export_cleanup"),
)
ADMINS: tuple[tuple[str, str], ...] = (("remove <org>", "help.cmd.remove"),)


def help_blocks(*, language: str, is_agent: bool = False, is_admin: bool = False) -> list[dict]:
    lang = normalise_language(language)
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=plain(t("help.title", lang), HEADER_TEXT_LIMIT), emoji=True)
        ),
        SectionBlock(text=MarkdownTextObject(text=t("help.intro", lang))),
        _commands("help.everyone", EVERYONE, lang),
    ]
    if is_agent or is_admin:
        blocks.append(_commands("help.agents", AGENTS, lang))
    if is_admin and ADMINS:
        blocks.append(_commands("help.admins", ADMINS, lang))
    notes = [t("help.language_note", lang)]
    if is_agent or is_admin:
        notes.insert(0, ":lock: " + t("help.token_note", lang))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note) for note in notes]))
    return to_dicts(blocks)


def help_text(*, language: str) -> str:
    return t("help.title", normalise_language(language))


def command_code(syntax: str) -> str:
    """The command as mrkdwn code: `/afas check &lt;org&gt;`."""
    return f"`{escape(f'{COMMAND} {syntax}')}`"


def command_line(syntax: str, description: str) -> str:
    """One mrkdwn line: the command in code, then what it does."""
    return f"{command_code(syntax)}: {description}"


def _commands(heading_key: str, commands: tuple[tuple[str, str], ...], lang: str) -> SectionBlock:
    lines = [f"*{t(heading_key, lang)}*"]
    lines += [command_line(syntax, t(key, lang)) for syntax, key in commands]
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))
