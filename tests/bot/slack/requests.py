"""Building the requests Slack sends: signed slash commands and button clicks."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.bot.slack.conftest import SIGNING_SECRET


def signed(body: str, *, secret: str = SIGNING_SECRET, age: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


def command_body(slack, text: str, user: str = "U0AGENT") -> str:
    return urlencode(
        {
            "command": "/afas",
            "text": text,
            "user_id": user,
            "user_name": "someone",
            "team_id": "T0TEAM",
            "channel_id": "C0HELPDESK",
            "response_url": slack.response_url("cmd"),
            "trigger_id": "1337.42.abc",
        }
    )


def action_body(slack, action_id: str, value: str, user: str = "U0GUEST") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "team"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {"type": "message", "is_ephemeral": True},
        "trigger_id": "1337.42.def",
        "channel": {"id": "C0HELPDESK", "name": "helpdesk"},
        "response_url": slack.response_url("action"),
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "type": "button",
                "action_ts": "1700000000.000100",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def submission_body(
    view_id: str, fields: dict[str, str | bool | None], *, user: str, language: str = "nl"
) -> str:
    """A ``view_submission`` of the registration form with these field values."""
    state: dict[str, dict] = {}
    for block, value in fields.items():
        if block == "kind":
            entry = {"type": "static_select", "selected_option": {"value": value}}
        elif block == "replace":
            options = [{"value": "replace"}] if value else []
            entry = {"type": "checkboxes", "selected_options": options}
        elif block == "channel":
            entry = {"type": "conversations_select", "selected_conversation": value}
        elif block == "owner":
            entry = {"type": "users_select", "selected_user": value}
        else:
            entry = {"type": "plain_text_input", "value": value}
        state[block] = {"value": entry}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM", "domain": "team"},
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": "1337.42.ghi",
        "view": {
            "id": view_id,
            "team_id": "T0TEAM",
            "type": "modal",
            "callback_id": "register_org",
            "private_metadata": json.dumps({"language": language}),
            "state": {"values": state},
            "hash": "1700000000.abc",
        },
    }
    return urlencode({"payload": json.dumps(payload)})
