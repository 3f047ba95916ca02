"""Events and the App Home: the Home tab is the helpdesk's dashboard (``listeners/home.py``),
refreshed for recent readers after a change (``bot/slack/home_refresh.py``, a periodic job);
the global shortcut "Register an AFAS org" (``listeners/shortcuts.py``)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.home_refresh import HomeBoard
from bot.slack.listeners import SlackDeps, home, shortcuts


def register(app: AsyncApp, deps: SlackDeps, client: AsyncWebClient) -> None:
    """The Home tab's event and actions, the shortcut, and the Home refresh job (which
    publishes with ``client``, the bot's own: Bolt's ``app.client`` holds no token)."""
    board = HomeBoard(deps.runtime, client)
    home.register(app, deps, board)
    shortcuts.register(app, deps, board)
    deps.background.every(deps.runtime.settings.home_refresh_seconds, board, name="home-refresh")
