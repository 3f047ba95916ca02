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
