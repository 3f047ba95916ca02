"""``/afas status``, paged: the first page (every org, or one state: ``/afas status failing``),
then Previous / Next and the filter under it, each answer replacing the ephemeral message in
place (``replace_original`` through the response URL). Everyone may look (product.md: the
status is for everyone), so no role is asked.

The command and the buttons answer through ``listeners.commands.show_status``: the App Home's
query (``storage.dashboard.dashboard_page``) at the status' own page size. The buttons' values
are the App Home's too (``HomePosition``: page and filter) and are read back with its parser,
as untrusted input: a value that is not ours shows the first page and says so; a page past the
end shows the last one and says so; nothing raises for a value.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.status import FILTER_ACTION, NEXT_ACTION, PREVIOUS_ACTION
from bot.i18n import t
from bot.slack.errors import answering_errors
from bot.slack.listeners.commands import show_status
from bot.slack.listeners.deps import SlackDeps
from bot.slack.listeners.home import parse_filter, parse_position

#: The actions this module answers: the status message's Previous, Next and filter.
ACTIONS = (PREVIOUS_ACTION, NEXT_ACTION, FILTER_ACTION)


async def status_turned(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    deps: SlackDeps,
) -> None:
    """Previous, Next or the filter under a status page: the page asked for, in place."""
    await ack()
    user = (body.get("user") or {}).get("id", "")
    language = await deps.languages.of(user)
    if action.get("action_id") == FILTER_ACTION:
        chosen = (action.get("selected_option") or {}).get("value")
        position, problem = parse_filter(chosen)
        say_if_moved = False
    else:
        position, problem = parse_position(action.get("value"))
        say_if_moved = True
    await show_status(
        respond,
        deps,
        language,
        position,
        notice=t(problem, language) if problem else None,
        say_if_moved=say_if_moved,
        replace=True,
    )


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The status message's buttons and filter (``bot/slack/app.py`` calls this)."""
    for action_id in ACTIONS:

        @app.action(action_id)
        async def _turned(
            ack: AsyncAck,
            body: dict[str, Any],
            action: dict[str, Any],
            respond: AsyncRespond,
            client: AsyncWebClient,
        ) -> None:
            await answering_errors(
                status_turned(ack, body, action, respond, deps),
                deps.languages,
                body,
                ack,
                client,
                respond,
            )
