"""Which Slack settings ``serve`` runs with: the credentials under our names or Slack's own
(``SLACK_BOT_TOKEN``…), and the mode that follows from them.

The mode: ``AFASBOT_SLACK_MODE`` when set; otherwise an app token means Socket Mode and a
signing secret alone means HTTP mode. Every contradiction is an error at start that names the
variables involved, never their values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.settings import Settings

#: Our name and Slack's conventional name of each credential.
SLACK_NAMES = {
    "AFASBOT_SLACK_BOT_TOKEN": "SLACK_BOT_TOKEN",
    "AFASBOT_SLACK_SIGNING_SECRET": "SLACK_SIGNING_SECRET",
    "AFASBOT_SLACK_APP_TOKEN": "SLACK_APP_TOKEN",
    "AFASBOT_SLACK_API_URL": "SLACK_API_URL",
}


class SlackSettingsError(ValueError):
    """The Slack settings contradict each other or lack something; names variables only."""


def contradictions(environ: Mapping[str, str]) -> list[str]:
    """A line for each credential set under both names with different values."""
    return [
        f"{ours} and {theirs} are both set, to different values: set one of them"
        for ours, theirs in SLACK_NAMES.items()
        if environ.get(ours) and environ.get(theirs) and environ[ours] != environ[theirs]
    ]


def slack_mode(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """``socket`` or ``http``; ``SlackSettingsError`` naming every problem at once."""
    environ = os.environ if environ is None else environ
    problems = contradictions(environ)
    app_token, secret = settings.slack_app_token, settings.slack_signing_secret
    mode = settings.slack_mode
    if mode is None:
        if app_token is not None:
            mode = "socket"
        elif secret is not None:
            mode = "http"
        else:
            problems.append(
                "the Slack app needs SLACK_APP_TOKEN (xapp-…, Socket Mode) or "
                "SLACK_SIGNING_SECRET (HTTP mode) beside the bot token "
                "(or the AFASBOT_SLACK_… names)"
            )
    elif mode == "socket" and app_token is None:
        problems.append(
            "AFASBOT_SLACK_MODE=socket, but Socket Mode needs AFASBOT_SLACK_APP_TOKEN or "
            "SLACK_APP_TOKEN (xapp-…)"
        )
    elif mode == "http" and secret is None:
        problems.append(
            "AFASBOT_SLACK_MODE=http, but HTTP mode needs AFASBOT_SLACK_SIGNING_SECRET or "
            "SLACK_SIGNING_SECRET"
        )
    if app_token is not None and not app_token.get_secret_value().startswith("xapp-"):
        problems.append("the app token (SLACK_APP_TOKEN) must start with xapp-")
    bot_token = settings.slack_bot_token
    if bot_token is not None and not bot_token.get_secret_value().startswith("xox"):
        problems.append("the bot token (SLACK_BOT_TOKEN) must start with xoxb-")
    if problems:
        raise SlackSettingsError("; ".join(problems))
    assert mode is not None
    return mode
