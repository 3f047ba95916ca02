"""The bot's own token, checked with ``auth.test`` once, however many requests arrive first.

Bolt's single-workspace authorization asks ``auth.test`` on every request until its first
answer is cached, so a burst of 200 commands right after a start made 200 calls. This
``authorize`` is single-flight: the first request asks, the rest of the burst wait for that
answer; a failure is shared by the waiting burst and not cached (the next request asks again).
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.i18n import t


class BotTokenAuthorization(AsyncAuthorize):
    """Authorizes every request with ``client``'s bot token (one workspace)."""

    def __init__(self, client: AsyncWebClient) -> None:
        super().__init__()
        self._client = client
        self._answer: AsyncSlackResponse | None = None
        self._pending: asyncio.Future[AsyncSlackResponse] | None = None

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult:
        answer = self._answer or await self._auth_test()
        return AuthorizeResult(
            enterprise_id=answer.get("enterprise_id") or enterprise_id,
            team_id=answer.get("team_id") or team_id,
            team=answer.get("team"),
            url=answer.get("url"),
            bot_user_id=answer.get("user_id"),
            bot_id=answer.get("bot_id"),
            bot_token=self._client.token,
            user_id=user_id,
        )

    async def _auth_test(self) -> AsyncSlackResponse:
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._client.auth_test())
            self._pending.add_done_callback(self._settle)
        return await asyncio.shield(self._pending)  # one waiter cancelled cancels no other

    def _settle(self, done: asyncio.Future[AsyncSlackResponse]) -> None:
        self._pending = None
        if not done.cancelled() and done.exception() is None:
            self._answer = done.result()


def tokenless_copy(client: AsyncWebClient) -> AsyncWebClient:
    """``client`` without its token, for Bolt: given a token, Bolt would use its own
    per-request ``auth.test`` instead of ``BotTokenAuthorization`` (it sets the token on each
    request's client copy from the authorization)."""
    return AsyncWebClient(
        token=None,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        trust_env_in_session=client.trust_env_in_session,
        headers=client.headers,
        logger=client.logger,
        retry_handlers=list(client.retry_handlers),
    )


def authorization_failed_text() -> str:
    """What a person sees when the token check failed: in Dutch and English, since their
    locale cannot be looked up without a checked token."""
    return "\n".join(t("slack_auth.unavailable", language) for language in ("nl", "en"))
