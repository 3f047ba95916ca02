"""Publishing each reader's App Home, and refreshing it after a change, debounced.

The board remembers, in memory, who looked at their Home tab, when, on which page and filter,
and a digest of what was last published to them (``bot.blocks.home.home_digest``). Its
periodic job (``deps.background.every(settings.home_refresh_seconds, board, …)``) republishes
only for readers who looked within ``settings.home_viewer_minutes``, and only when their page
now shows something else: a state change, an incident opened or acknowledged, a mute set or
run out. A check that changes nothing a reader sees publishes nothing; many changes within one
interval publish once.

Memory, not the database: a restart forgets who looked (they are refreshed again the next time
they open the tab), and each replica refreshes the readers whose events it received. Publishing
for one reader is serialised (a lock per reader), so a refresh never overwrites a page the
reader just turned to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import PAGE_SIZE, HomePosition, home_digest, home_view
from bot.i18n import t
from bot.runtime import Runtime
from storage.dashboard import DashboardPage, dashboard_page
from storage.datetimes import utcnow

log = logging.getLogger(__name__)

#: How long a reader's page is remembered after they last looked (beyond the refresh window).
REMEMBER = timedelta(days=1)


@dataclass(frozen=True)
class Viewer:
    """One reader's Home tab as last published."""

    position: HomePosition
    language: str
    is_agent: bool
    seen_at: datetime
    digest: str = ""
    generation: int = 0


class HomeBoard:
    """Every reader's Home tab: publish on request, refresh when called (the periodic job)."""

    def __init__(
        self,
        runtime: Runtime,
        client: AsyncWebClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.runtime, self.client = runtime, client
        self.clock = clock
        self.page_size = page_size
        self._viewers: dict[str, Viewer] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def viewer_window(self) -> timedelta:
        return timedelta(minutes=self.runtime.settings.home_viewer_minutes)

    def position_of(self, user: str) -> HomePosition:
        """The page a reader was on (the first page for someone new)."""
        viewer = self._viewers.get(user)
        return viewer.position if viewer else HomePosition()

    async def publish(
        self,
        user: str,
        *,
        language: str,
        is_agent: bool,
        position: HomePosition | None = None,
        notice: str | None = None,
        say_if_moved: bool = False,
    ) -> DashboardPage:
        """Publish ``user``'s Home tab at ``position`` (their remembered one by default) and
        remember it as looked at now. Returns the page shown: a page past the end is the last,
        and with ``say_if_moved`` (a page number from a button) the tab says so."""
        async with self._lock(user):
            now = self.clock()
            wanted = position or self.position_of(user)
            (page,) = await asyncio.to_thread(self._pages, [wanted], now)
            if say_if_moved and notice is None and page.page != wanted.page:
                notice = t("home.page_moved", language, page=page.page + 1, pages=page.page_count)
            previous = self._viewers.get(user)
            generation = previous.generation + 1 if previous else 0
            await self._publish(user, page, language, is_agent, now, notice, generation)
            self._viewers[user] = Viewer(
                position=HomePosition(page.page, page.state),
                language=language,
                is_agent=is_agent,
                seen_at=now,
                digest=home_digest(page, language=language, is_agent=is_agent, now=now),
                generation=generation,
            )
            return page

    async def __call__(self) -> None:
        """The periodic job: republish for recent readers whose page changed."""
        await self.refresh()

    async def refresh(self) -> int:
        """One pass; returns how many Home tabs were republished."""
        now = self.clock()
        self._forget(now)
        recent = {
            user: viewer
            for user, viewer in self._viewers.items()
            if now - viewer.seen_at <= self.viewer_window
        }
        if not recent:
            return 0
        positions = list(dict.fromkeys(viewer.position for viewer in recent.values()))
        found = await asyncio.to_thread(self._pages, positions, now)
        pages = dict(zip(positions, found, strict=True))
        published = 0
        for user in recent:
            try:
                published += await self._refresh_one(user, pages, now)
            except Exception:  # one reader's failure must not stop the others' refresh
                log.exception("could not refresh the Home tab of user %s", user)
        return published

    async def _refresh_one(
        self, user: str, pages: dict[HomePosition, DashboardPage], now: datetime
    ) -> bool:
        async with self._lock(user):
            viewer = self._viewers.get(user)
            page = pages.get(viewer.position) if viewer else None
            if viewer is None or page is None:  # they turned the page meanwhile: done then
                return False
            digest = home_digest(page, language=viewer.language, is_agent=viewer.is_agent, now=now)
            if digest == viewer.digest:
                return False
            generation = viewer.generation + 1
            await self._publish(user, page, viewer.language, viewer.is_agent, now, None, generation)
            self._viewers[user] = replace(
                viewer,
                position=HomePosition(page.page, page.state),
                digest=digest,
                generation=generation,
            )
            return True

    async def _publish(
        self,
        user: str,
        page: DashboardPage,
        language: str,
        is_agent: bool,
        now: datetime,
        notice: str | None,
        generation: int,
    ) -> None:
        view = home_view(
            page,
            language=language,
            now=now,
            is_agent=is_agent,
            notice=notice,
            generation=generation,
        )
        await self.client.views_publish(user_id=user, view=view)

    def _pages(self, positions: list[HomePosition], now: datetime) -> list[DashboardPage]:
        """The pages, read in one session (a consistent snapshot)."""
        with self.runtime.session() as session:
            return [
                dashboard_page(
                    session,
                    page=position.page,
                    page_size=self.page_size,
                    state=position.state,
                    now=now,
                )
                for position in positions
            ]

    def _forget(self, now: datetime) -> None:
        keep = max(self.viewer_window, REMEMBER)
        for user in [u for u, v in self._viewers.items() if now - v.seen_at > keep]:
            del self._viewers[user]
            self._locks.pop(user, None)

    def _lock(self, user: str) -> asyncio.Lock:
        return self._locks.setdefault(user, asyncio.Lock())
