"""Who may do what (product.md): everyone checks and sees the status; helpdesk agents (members
of any of one or more configured Slack user groups, or listed user ids) register, mute,
acknowledge, export; admins (listed user ids, or members of an admin user group) may do
everything agents may, and more.

Asked again on every action (a button's value or a submission can be forged). Each group's
members are cached for ``ttl`` seconds; when Slack cannot be asked, nobody counts as a member
of that group (fail closed) and the next request asks again. A refusal names the admins
configured by user id (up to ``NAMED_ADMINS``), so that it says who can do it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PermissionRefused, Role

log = logging.getLogger(__name__)

NAMED_ADMINS = 3


def user_ids(text: str | None) -> tuple[str, ...]:
    """A comma- or space-separated list of Slack ids (users or user groups), in the order
    given, each once."""
    return tuple(dict.fromkeys(part for part in (text or "").replace(",", " ").split() if part))


class Roles:
    """A user's role, from the configured ids and user groups (``usergroup`` and
    ``admin_usergroup`` each hold one or more group ids, comma- or space-separated)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        usergroup: str | None = None,
        agents: Iterable[str] = (),
        admins: Iterable[str] = (),
        admin_usergroup: str | None = None,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._agent_groups = user_ids(usergroup)
        self._admin_groups = user_ids(admin_usergroup)
        self._agents = frozenset(agents)
        # Named in a refusal in the order configured (a set has none: then sorted).
        ordered = sorted(admins) if isinstance(admins, set | frozenset) else list(admins)
        self._admin_order = tuple(dict.fromkeys(ordered))
        self._admins = frozenset(self._admin_order)
        self._ttl, self._clock = ttl, clock
        self._members: dict[str, tuple[frozenset[str], float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def of(self, user_id: str) -> Role:
        if user_id in self._admins or await self._in_any(user_id, self._admin_groups):
            return Role.ADMIN
        if user_id in self._agents or await self._in_any(user_id, self._agent_groups):
            return Role.AGENT
        return Role.EVERYONE

    async def require(self, user_id: str, needed: Role, *, action: str) -> Role:
        """The user's role; ``PermissionRefused`` (naming ``action``, a catalogue key, and the
        admins) when it is below ``needed``."""
        role = await self.of(user_id)
        if role < needed:
            raise self.refusal(needed, action=action)
        return role

    def refusal(self, needed: Role, *, action: str) -> PermissionRefused:
        """The refusal of ``action`` for want of ``needed``, with ``admins`` among its values
        (Slack mentions) when admins are configured by user id."""
        refused = PermissionRefused(needed, action=action)
        if self._admin_order:
            refused.values = {**refused.values, "admins": self.named_admins()}
        return refused

    def named_admins(self) -> str:
        """Up to ``NAMED_ADMINS`` admins configured by user id, as mentions; "" if none."""
        return ", ".join(f"<@{user}>" for user in self._admin_order[:NAMED_ADMINS])

    async def _in_any(self, user_id: str, groups: tuple[str, ...]) -> bool:
        for group in groups:
            if user_id in await self._group_members(group):
                return True
        return False

    async def _group_members(self, group: str) -> frozenset[str]:
        cached = self._members.get(group)
        if cached is not None and self._clock() - cached[1] < self._ttl:
            return cached[0]
        # One request per group at a time: a burst of presses asks Slack once.
        async with self._locks.setdefault(group, asyncio.Lock()):
            cached = self._members.get(group)
            now = self._clock()
            if cached is not None and now - cached[1] < self._ttl:
                return cached[0]
            try:
                answer = await self._client.usergroups_users_list(usergroup=group)
            except SlackApiError as exc:
                log.warning(
                    "cannot read user group %s (%s): nobody counts as its member",
                    group,
                    exc.response.get("error"),
                )
                return frozenset()  # fail closed, and ask again next time
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning(
                    "cannot reach Slack for user group %s (%s): nobody counts as its member",
                    group,
                    type(exc).__name__,
                )
                return frozenset()
            members = frozenset(answer.get("users") or [])
            self._members[group] = (members, now)
            return members
