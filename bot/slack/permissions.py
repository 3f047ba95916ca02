"""Who may do what (product.md): everyone checks and sees the status; helpdesk agents (members
of a configured Slack user group, or listed user ids) register orgs; admins (listed user ids)
may do everything. Asked again on every action; fails closed when Slack cannot be asked."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PermissionRefused, Role

log = logging.getLogger(__name__)


def user_ids(text: str) -> frozenset[str]:
    """A comma- or space-separated list of Slack user ids."""
    return frozenset(part for part in text.replace(",", " ").split() if part)


class Roles:
    """A user's role; the user group's members are cached for ``ttl`` seconds."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        usergroup: str | None = None,
        agents: frozenset[str] = frozenset(),
        admins: frozenset[str] = frozenset(),
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client, self._usergroup = client, usergroup
        self._agents, self._admins = agents, admins
        self._ttl, self._clock = ttl, clock
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None

    async def of(self, user_id: str) -> Role:
        if user_id in self._admins:
            return Role.ADMIN
        if user_id in self._agents or user_id in await self._group_members():
            return Role.AGENT
        return Role.EVERYONE

    async def require(self, user_id: str, needed: Role, *, action: str) -> Role:
        """The user's role; ``PermissionRefused`` (naming ``action``, a catalogue key) when
        it is below ``needed``."""
        role = await self.of(user_id)
        if role < needed:
            raise PermissionRefused(needed, action=action)
        return role

    async def _group_members(self) -> frozenset[str]:
        if self._usergroup is None:
            return frozenset()
        now = self._clock()
        if self._fetched_at is not None and now - self._fetched_at < self._ttl:
            return self._members
        try:
            answer = await self._client.usergroups_users_list(usergroup=self._usergroup)
        except SlackApiError as exc:
            log.warning(
                "cannot read user group %s (%s): nobody counts as its member",
                self._usergroup,
                exc.response.get("error"),
            )
            return frozenset()  # fail closed, and ask again next time
        self._members = frozenset(answer.get("users") or [])
        self._fetched_at = now
        return self._members
