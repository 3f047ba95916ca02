"""Events: the App Home tab shows the overview of every org, worst first, in the reader's
language, refreshed each time it is opened."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.status import status_blocks
from bot.slack.errors import answering_errors
from bot.slack.listeners import SlackDeps
from bot.slack.listeners.commands import status_rows

HOME_MAX_BLOCKS = 100  # Slack's limit for a Home tab view


async def home_opened(event: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    if event.get("tab") not in (None, "home"):
        return
    user = event.get("user", "")
    language = await deps.languages.of(user)
    rows = await asyncio.to_thread(status_rows, deps.runtime, language)
    blocks = status_blocks(
        rows, language=language, now=datetime.now(UTC), max_blocks=HOME_MAX_BLOCKS
    )
    await client.views_publish(user_id=user, view={"type": "home", "blocks": blocks})


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.event("app_home_opened")
    async def _home(
        ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answering_errors(home_opened(event, client, deps), deps.languages, body, ack, client)
