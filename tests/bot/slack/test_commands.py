from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afas.tokens import AfasToken
from bot.slack.commands import (
    CheckCommand,
    CommandError,
    EditCommand,
    ExportCleanupCommand,
    ExportCommand,
    HandoverCommand,
    HelpCommand,
    MuteCommand,
    RegisterCommand,
    RemoveCommand,
    RotateCommand,
    StatusCommand,
    UnmuteCommand,
    WatchCommand,
    closest_verb,
    parse_command,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", HelpCommand()),
        ("  help ", HelpCommand()),
        ("status", StatusCommand()),
        ("check acme", CheckCommand("acme")),
        ("CHECK Acme-BV deep", CheckCommand("acme-bv", deep=True)),
        ("check acme diep", CheckCommand("acme", deep=True)),
        ("check", CommandError("usage.check_needs_key")),
        ("check acme now", CommandError("usage.check_options")),
        ("check acme deep please", CommandError("usage.check_options")),
        ("check <token><version>1</version></token>", CommandError("usage.token_pasted")),
        ("status acme", CommandError("usage.status_state")),
        ("register", RegisterCommand()),
        ("register acme 949C1A9CD9AE4797", CommandError("usage.register_no_args")),
        ("frobnicate", CommandError("usage.unknown")),
    ],
)
def test_parse(text: str, expected) -> None:
    assert parse_command(text) == expected


@given(st.text(max_size=80))
def test_any_text_parses_to_a_command_and_errors_never_carry_input(text: str) -> None:
    command = parse_command(text)
    assert isinstance(
        command,
        CheckCommand
        | StatusCommand
        | HelpCommand
        | RegisterCommand
        | ExportCommand
        | ExportCleanupCommand
        | CommandError,
    )
    if isinstance(command, CommandError):
        assert command.reason.startswith("usage.")
    if isinstance(command, CheckCommand):
        assert command.key == command.key.lower() and " " not in command.key


DATA = "949C1A9CD9AE4797950D94F55A7A4D056770472D4963CB9A8D3800BEE0CCE6A2"
TOKEN = AfasToken(DATA)
B64 = TOKEN.authorization_header().removeprefix("AfasToken ")


@pytest.mark.parametrize(
    "text",
    [
        TOKEN.xml,
        # Slack escapes <, > and & in command text.
        TOKEN.xml.replace("<", "&lt;").replace(">", "&gt;"),
        B64,
        DATA,
        f"check acme {DATA}",
        f"register acme {B64}",
        f"check {TOKEN.authorization_header()}",
        "\ufeff" + DATA,
        DATA[:32] + "\n" + DATA[32:],
        f"help {TOKEN.xml}",
    ],
)
def test_a_pasted_token_is_refused_with_its_own_reason(text: str) -> None:
    assert parse_command(text) == CommandError("usage.token_pasted")


def test_the_token_pasted_reason_tells_the_agent_to_rotate_in_both_languages() -> None:
    from bot.i18n import t

    assert "`/afas rotate`" in t("usage.token_pasted", "en")
    assert "`/afas vervang`" in t("usage.token_pasted", "nl")


@given(
    st.text(alphabet="0123456789ABCDEF", min_size=48, max_size=128).filter(
        lambda d: any(c.isdigit() for c in d) and any(not c.isdigit() for c in d)
    ),
    st.text(max_size=20),
)
def test_any_bare_data_string_in_a_command_is_refused(data: str, noise: str) -> None:
    assert parse_command(f"check {data} {noise}") == CommandError("usage.token_pasted")


@pytest.mark.parametrize(
    ("typed", "closest"),
    [("stauts", "status"), ("chek", "check"), ("exprot", "export"), ("regsiter", "register")],
)
def test_a_mistyped_subcommand_has_a_closest_one(typed: str, closest: str) -> None:
    from bot.slack.commands import closest_verb

    assert closest_verb(typed) == closest


def test_a_word_like_no_subcommand_has_none() -> None:
    from bot.slack.commands import closest_verb

    assert closest_verb("frobnicate") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("history acme", "HistoryCommand"),
        ("GESCHIEDENIS Acme", "HistoryCommand"),
        ("history", "usage.history_needs_key"),
        ("history acme now", "usage.history_needs_key"),
        ("history Acme_BV!", "usage.bad_key"),
    ],
)
def test_history_takes_one_org_key(text: str, expected: str) -> None:
    parsed = parse_command(text)
    name = type(parsed).__name__
    assert (parsed.reason if name == "CommandError" else name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mute ACME 2h", MuteCommand("acme", ("2h",))),
        ("demp acme tot 2026-12-24 18:00", MuteCommand("acme", ("tot", "2026-12-24", "18:00"))),
        ("unmute acme", UnmuteCommand("acme")),
        ("ontdemp acme", UnmuteCommand("acme")),
        ("rotate acme", RotateCommand("acme")),
        ("vervang acme", RotateCommand("acme")),
        ("edit acme", EditCommand("acme")),
        ("wijzig acme", EditCommand("acme")),
        ("remove acme", RemoveCommand("acme")),
        ("verwijder acme", RemoveCommand("acme")),
        ("watch acme", WatchCommand("acme")),
        ("volg acme", WatchCommand("acme")),
        ("handover acme", HandoverCommand("acme")),
        ("overdracht Acme", HandoverCommand("acme")),
        ("mute acme", CommandError("usage.mute_needs_duration")),
        ("mute ac_me 2h", CommandError("usage.bad_key")),
        ("rotate", CommandError("usage.rotate_needs_key")),
        ("remove acme now", CommandError("usage.remove_needs_key")),
        ("watch -x", CommandError("usage.bad_key")),
        ("handover", CommandError("usage.handover_needs_key")),
    ],
)
def test_the_org_subcommands_parse_in_both_languages(text: str, expected) -> None:
    assert parse_command(text) == expected


def test_a_typo_of_a_new_subcommand_gets_the_closest_one() -> None:
    assert closest_verb("handovr") == "handover"
    assert closest_verb("unmtue") == "unmute"
