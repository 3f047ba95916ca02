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
#: ``status <state>``: the state as typed, English and Dutch (the labels too), to the filter.
_STATES = {
    "failing": "failing",
    "fout": "failing",
    "unreachable": "unreachable",
    "onbereikbaar": "unreachable",
    "degraded": "degraded",
    "bijna": "degraded",
    "bijna in orde": "degraded",
    "healthy": "healthy",
    "ok": "healthy",
    "in orde": "healthy",
    "never": "never",
    "never checked": "never",
    "nooit": "never",
    "nooit gecontroleerd": "never",
}
_ALL = {"all", "alle"}


@dataclass(frozen=True, slots=True)
class CheckCommand:
    key: str
    deep: bool = False


@dataclass(frozen=True, slots=True)
class StatusCommand:
    """``status [state]``: every org, or those in one state (a value of
    ``storage.dashboard.STATE_ORDER``: ``never`` for never checked)."""

    state: str | None = None


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
class MuteCommand:
    """``mute <org> <duration>``: ``words`` is the duration as typed (lower case), read by
    ``bot.slack.durations``."""

    key: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnmuteCommand:
    key: str


@dataclass(frozen=True, slots=True)
class RotateCommand:
    """Opens the token form for an existing org (the token never goes in a command)."""

    key: str


@dataclass(frozen=True, slots=True)
class EditCommand:
    key: str


@dataclass(frozen=True, slots=True)
class RemoveCommand:
    key: str


@dataclass(frozen=True, slots=True)
class WatchCommand:
    key: str


@dataclass(frozen=True, slots=True)
class HandoverCommand:
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
    | MuteCommand
    | UnmuteCommand
    | RotateCommand
    | EditCommand
    | RemoveCommand
    | WatchCommand
    | HandoverCommand
    | CommandError
)

#: Subcommands that take exactly one org key: verb (English and Dutch) -> command type, and
#: the catalogue key of the usage line shown when the key is missing.
_ONE_KEY: dict[str, tuple[type, str]] = {
    "unmute": (UnmuteCommand, "usage.unmute_needs_key"),
    "ontdemp": (UnmuteCommand, "usage.unmute_needs_key"),
    "rotate": (RotateCommand, "usage.rotate_needs_key"),
    "vervang": (RotateCommand, "usage.rotate_needs_key"),
    "edit": (EditCommand, "usage.edit_needs_key"),
    "wijzig": (EditCommand, "usage.edit_needs_key"),
    "remove": (RemoveCommand, "usage.remove_needs_key"),
    "verwijder": (RemoveCommand, "usage.remove_needs_key"),
    "watch": (WatchCommand, "usage.watch_needs_key"),
    "volg": (WatchCommand, "usage.watch_needs_key"),
    "handover": (HandoverCommand, "usage.handover_needs_key"),
    "overdracht": (HandoverCommand, "usage.handover_needs_key"),
}


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
    "mute",
    "demp",
    *_ONE_KEY,
)


def closest_verb(word: str) -> str | None:
    """The known subcommand nearest to a mistyped one (``stauts`` -> ``status``), or None."""
    found = difflib.get_close_matches(word.lower(), VERBS, n=1, cutoff=0.7)
    return found[0] if found else None


def parse_command(text: str | None) -> Command:
    if text and contains_token(text):
        return CommandError("usage.token_pasted")
    words = (text or "").split()
    if not words or words[0].lower() in ("help", "hulp", "?"):
        return HelpCommand()
    verb, rest = words[0].lower(), [w.lower() for w in words[1:]]
    if verb == "status":
        phrase = " ".join(rest)
        if not rest or phrase in _ALL:
            return StatusCommand()
        state = _STATES.get(phrase)
        return StatusCommand(state) if state else CommandError("usage.status_state")
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
    if verb in ("mute", "demp"):
        if len(rest) < 2:
            return CommandError("usage.mute_needs_duration")
        if not _KEY.fullmatch(rest[0]):
            return CommandError("usage.bad_key")
        return MuteCommand(rest[0], tuple(rest[1:]))
    if verb in _ONE_KEY:
        kind, usage = _ONE_KEY[verb]
        if len(rest) != 1:
            return CommandError(usage)
        return kind(rest[0]) if _KEY.fullmatch(rest[0]) else CommandError("usage.bad_key")
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
