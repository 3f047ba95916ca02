"""The reader's language: Dutch or English, from the Slack user's locale (English if unknown)."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import language_for_locale

log = logging.getLogger(__name__)


class ReaderLanguages:
    """Looks up and caches each user's locale (``users.info`` with ``include_locale``).

    Single-flight: a burst of requests from one user before the first answer shares one
    lookup (200 commands at once made 191 ``users.info`` calls for 20 users without it)."""

    def __init__(self, client: AsyncWebClient, *, timeout: float = 2.0) -> None:
        self._client = client
        self._timeout = timeout
        self._cache: dict[str, str] = {}
        self._pending: dict[str, asyncio.Future[str]] = {}

    async def of(self, user_id: str) -> str:
        if user_id in self._cache:
            return self._cache[user_id]
        pending = self._pending.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(user_id))
            self._pending[user_id] = pending
            pending.add_done_callback(lambda _done: self._pending.pop(user_id, None))
        return await asyncio.shield(pending)  # one waiter cancelled never cancels the rest

    async def _lookup(self, user_id: str) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._client.users_info(user=user_id, include_locale=True)
            locale = (answer.get("user") or {}).get("locale")
        except (SlackApiError, TimeoutError, OSError) as exc:
            log.warning(
                "locale of user %s unknown (%s); answering in English", user_id, type(exc).__name__
            )
            return "en"  # not cached: the next message tries again
        language = self._cache[user_id] = language_for_locale(locale)
        return language
