"""The Slack app manifest is valid against Slack's own schema (../shared/slack-manifest-schema).

The schema tests need ``../shared`` beside the repository: skipped on a lone clone, mandatory
in CI (see ``shared_dir`` in tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path("slack-manifest-schema") / "manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "app-manifest.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema(shared_dir: Path) -> dict:
    """Slack's manifest schema; a shared folder without it is a failure, not a skip."""
    path = shared_dir / SCHEMA
    assert path.exists(), f"Slack's manifest schema is expected at {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_manifest_is_valid_against_slacks_schema(manifest, schema) -> None:
    jsonschema.validate(manifest, schema)


def test_the_manifest_declares_the_afas_command_in_socket_mode(manifest) -> None:
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/afas"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "users:read",
        "usergroups:read",
        "files:write",
        # conversations.history/replies: a resend looks for the message first (exactly once)
        "channels:history",
        "groups:history",
    }


def test_the_manifest_declares_the_registration_shortcut_the_app_handles(manifest) -> None:
    from bot.slack.listeners.shortcuts import REGISTER_SHORTCUT

    (shortcut,) = manifest["features"]["shortcuts"]
    assert shortcut["callback_id"] == REGISTER_SHORTCUT and shortcut["type"] == "global"
    assert len(shortcut["name"]) <= 24


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("display_information", "name", "x" * 36),  # longer than 35
        ("settings", "socket_mode_enabled", "yes"),  # not a boolean
        ("display_information", "background_color", "#1d3f72ff"),  # longer than 7
    ],
)
def test_an_invalid_manifest_is_caught(manifest, schema, section, field, value) -> None:
    broken = json.loads(json.dumps(manifest))
    broken[section][field] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
