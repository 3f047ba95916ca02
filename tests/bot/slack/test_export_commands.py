"""``/afas export`` parsing, and reading what a confirmation sends back (untrusted input)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afas.sandbox.scenario import default_scenario
from bot.blocks.export import ExportFormValues
from bot.slack.commands import (
    CommandError,
    ExportCleanupCommand,
    ExportCommand,
    parse_command,
)
from bot.slack.listeners.exports import given_values, read_metadata

PASTED = CommandError("usage.token_pasted")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export acme", ExportCommand("acme")),
        ("EXPORTEER Acme-BV", ExportCommand("acme-bv")),
        ("export acme live", ExportCommand("acme", live=True)),
        ("export acme --live", ExportCommand("acme", live=True)),
        ("export acme cleanup", ExportCleanupCommand("acme")),
        ("exporteer acme opruimen", ExportCleanupCommand("acme")),
        ("export", CommandError("usage.export_needs_key")),
        ("export Bad_Key!", CommandError("usage.bad_key")),
        ("export acme live now", CommandError("usage.export_options")),
        ("export acme deep", CommandError("usage.export_options")),
        ("export " + default_scenario().by_name("healthy").token().reveal_data(), PASTED),
    ],
)
def test_parse_export(text: str, expected) -> None:
    assert parse_command(text) == expected


@given(st.text(max_size=60))
def test_any_export_text_parses_and_keys_are_lower_case(text: str) -> None:
    command = parse_command(f"export {text}")
    if isinstance(command, ExportCommand | ExportCleanupCommand):
        assert command.key == command.key.lower() and " " not in command.key
    else:
        assert isinstance(command, CommandError) and command.reason.startswith("usage.")


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (json.dumps({"org": "acme", "language": "nl"}), ("acme", "nl")),
        (json.dumps({"org": "acme", "language": "de"}), ("acme", "en")),
        (json.dumps({"org": "acme live", "language": "nl"}), (None, "nl")),
        (json.dumps({"org": "<b>", "language": 3}), (None, "en")),
        (json.dumps({"org": ["acme"]}), (None, "en")),
        (json.dumps("acme"), (None, "en")),
        ("{", (None, "en")),
        (None, (None, "en")),
    ],
)
def test_metadata_is_read_as_untrusted_input(metadata, expected) -> None:
    assert read_metadata(metadata) == expected


def test_given_values_are_read_field_by_field_in_the_readers_language() -> None:
    given, errors = given_values(ExportFormValues(administration="1", period="2026-11"), "en")
    assert errors == {} and given is not None
    assert (given.administration, given.period) == (1, (2026, 11))
    assert given_values(ExportFormValues(), "en") == (None, {})
    none, errors = given_values(ExportFormValues(administration="x", period="soon"), "nl")
    assert none is None and set(errors) == {"administration", "period"}
    assert all(len(text) <= 150 for text in errors.values())


def test_a_token_pasted_into_a_field_is_refused_without_repeating_it() -> None:
    data = default_scenario().by_name("healthy").token().reveal_data()
    _given, errors = given_values(ExportFormValues(cost_account=data), "en")
    assert "AFAS token" in errors["cost_account"] and data not in json.dumps(errors)
