"""Parsing ``/afas`` command text into a typed command. Pure; never echoes what was typed
beyond an org key, because an agent may paste a token in the wrong place. A pasted token, in
any form ``afas.tokens`` recognises, is refused first with its own reason: it has been in a
Slack message box now and must be rotated."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from afas.tokens import contains_token

_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,38}[a-z0-9]|[a-z0-9]")
_DEEP = {"deep", "diep", "--deep"}
_LIVE = {"live", "--live"}
_CLEANUP = {"cleanup", "opruimen", "--cleanup"}


@dataclass(frozen=True, slots=True)
class CheckCommand:
    key: str
    deep: bool = False


@dataclass(frozen=True, slots=True)
class StatusCommand:
    pass


@dataclass(frozen=True, slots=True)
class HistoryCommand:
    key: str


@dataclass(frozen=True, slots=True)
class HelpCommand:
    pass


@dataclass(frozen=True, slots=True)
class RegisterCommand:
    """Opens the registration form; takes no arguments (a token never goes in a command)."""


@dataclass(frozen=True, slots=True)
class ExportCommand:
    """A test export: a dry run (writes nothing), or ``live`` (asks for confirmation first)."""

    key: str
    live: bool = False


@dataclass(frozen=True, slots=True)
class ExportCleanupCommand:
    """Finish an org's interrupted live test export (the Clean up button, typed)."""

    key: str


@dataclass(frozen=True, slots=True)
class CommandError:
    """Bad input: ``reason`` is a catalogue key (``usage.*``); nothing of the input repeated."""

    reason: str


Command = (
    CheckCommand
    | StatusCommand
    | HelpCommand
    | HistoryCommand
    | RegisterCommand
    | ExportCommand
    | ExportCleanupCommand
    | CommandError
)


#: Every subcommand as typed (English and Dutch), for "did you mean…" on a typo.
VERBS = (
    "help",
    "hulp",
    "status",
    "register",
    "registreer",
    "check",
    "controleer",
    "export",
    "exporteer",
    "history",
    "geschiedenis",
)


def closest_verb(word: str) -> str | None:
    """The known subcommand nearest to a mistyped one (``stauts`` -> ``status``), or None."""
    found = difflib.get_close_matches(word.lower(), VERBS, n=1, cutoff=0.6)
    return found[0] if found else None


def parse_command(text: str | None) -> Command:
    if text and contains_token(text):
        return CommandError("usage.token_pasted")
    words = (text or "").split()
    if not words or words[0].lower() in ("help", "hulp", "?"):
        return HelpCommand()
    verb, rest = words[0].lower(), [w.lower() for w in words[1:]]
    if verb == "status" and not rest:
        return StatusCommand()
    if verb in ("register", "registreer"):
        return RegisterCommand() if not rest else CommandError("usage.register_no_args")
    if verb in ("check", "controleer"):
        if not rest:
            return CommandError("usage.check_needs_key")
        key, options = rest[0], rest[1:]
        if not _KEY.fullmatch(key):
            return CommandError("usage.bad_key")
        if len(options) > 1 or (options and options[0] not in _DEEP):
            return CommandError("usage.check_options")
        return CheckCommand(key, deep=bool(options))
    if verb in ("history", "geschiedenis"):
        if len(rest) != 1:
            return CommandError("usage.history_needs_key")
        return HistoryCommand(rest[0]) if _KEY.fullmatch(rest[0]) else CommandError("usage.bad_key")
    if verb in ("export", "exporteer"):
        return _export(rest)
    return CommandError("usage.unknown")


def _export(rest: list[str]) -> ExportCommand | ExportCleanupCommand | CommandError:
    """``export <org> [live | cleanup]`` (Dutch: ``exporteer <org> [live | opruimen]``)."""
    if not rest:
        return CommandError("usage.export_needs_key")
    key, options = rest[0], rest[1:]
    if not _KEY.fullmatch(key):
        return CommandError("usage.bad_key")
    if not options:
        return ExportCommand(key)
    if len(options) == 1 and options[0] in _LIVE:
        return ExportCommand(key, live=True)
    if len(options) == 1 and options[0] in _CLEANUP:
        return ExportCleanupCommand(key)
    return CommandError("usage.export_options")
