from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.commands import (
    CheckCommand,
    CommandError,
    HelpCommand,
    RegisterCommand,
    StatusCommand,
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
        ("check <token><version>1</version></token>", CommandError("usage.bad_key")),
        ("status acme", CommandError("usage.unknown")),
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
        command, CheckCommand | StatusCommand | HelpCommand | RegisterCommand | CommandError
    )
    if isinstance(command, CommandError):
        assert command.reason.startswith("usage.")
    if isinstance(command, CheckCommand):
        assert command.key == command.key.lower() and " " not in command.key
