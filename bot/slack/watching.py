"""The watch loop (``/afas watch``): re-check one org every ``watch_interval_seconds`` for at
most ``watch_max_minutes``, editing one Slack message in place, until it is healthy, someone
presses Stop, the time is up, or the process stops. A watch survives nothing.

One ``Watcher`` per Slack app (per ``Background``), with one replica id: the lease owner of
its watches (``storage/watches.py``). The database keeps one watch per org across replicas;
the watcher keeps this process's loops, so that Stop and shutdown can end them at once.

Each re-check: the check (``check_org``, trigger watch, which records the run so the org's
state stays right), then the lease renewed (which also tells whether the watch is still
ours: stopped on another replica, taken over after our lease ran out, the org removed), then
the message edited. Nothing in a tick is fatal: AFAS not answering shows in the message and
the watch goes on; the database away is logged and the next tick tries again; the message
deleted (``message_not_found``) ends the watch quietly; Slack's ``ratelimited`` waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from weakref import WeakValueDictionary
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.watch import (
    Progress,
    Trouble,
    WatchPhase,
    WatchView,
    afas_did_not_answer,
    progress_of,
    watch_blocks,
    watch_text,
)
from bot.errors import new_reference
from bot.services.checks import check_org
from bot.slack.background import Background
from bot.slack.listeners.deps import SlackDeps
from storage.errors import UnknownOrgError
from storage.models import CheckTrigger
from storage.watches import (
    Renewal,
    WatchMessage,
    end_expired_watches,
    end_watch,
    find_watch,
    release_watches,
    renew_watch,
    stop_watch,
)

log = logging.getLogger(__name__)

#: Slack's answers to ``chat.update`` after which the message cannot be edited any more.
MESSAGE_GONE = frozenset(
    {"message_not_found", "channel_not_found", "cant_update_message", "is_archived"}
)
#: The lease covers a few intervals besides the longest check, so that one slow check (AFAS
#: timing out with its retries) does not let another replica end a watch that is alive.
LEASE_INTERVALS = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunningWatch:
    """One watch this process runs: its message and what it last showed."""

    watch_id: int
    org_id: int
    org_key: str
    display_name: str
    channel: str
    ts: str
    language: str
    started_by: str
    started_at: datetime
    ends_at: datetime
    progress: Progress | None = None
    last_checked_at: datetime | None = None
    task: asyncio.Task[Any] | None = field(default=None, repr=False)

    def message(self) -> WatchMessage:
        return WatchMessage(
            self.watch_id, self.org_id, self.org_key, self.channel, self.ts, self.language
        )


@dataclass(frozen=True)
class CheckOutcome:
    at: datetime
    trouble: Trouble | None = None
    reference: str | None = None
    org_gone: bool = False


class Watcher:
    """This process's watches. ``interval`` and ``max_duration`` default to the settings
    (``watch_interval_seconds``, ``watch_max_minutes``); tests pass small ones."""

    def __init__(
        self,
        deps: SlackDeps,
        client: AsyncWebClient,
        *,
        owner: str | None = None,
        interval: float | None = None,
        max_duration: timedelta | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        # bot.process imports the Slack app (and so this module): imported when first used.
        from bot.replica import replica_id

        settings = deps.runtime.settings
        self.deps, self.client, self.clock = deps, client, clock
        self.owner = owner or f"watch:{replica_id()}"
        self.interval = interval if interval is not None else settings.watch_interval_seconds
        self.max_duration = max_duration or timedelta(minutes=settings.watch_max_minutes)
        self.tz = ZoneInfo(settings.timezone)
        self.running: dict[int, RunningWatch] = {}

    @property
    def check_timeout(self) -> float:
        """The longest one check may take: every attempt of its slowest request."""
        s = self.deps.runtime.settings
        return s.afas_timeout_seconds * (s.afas_retries + 1) + 5.0

    @property
    def lease_seconds(self) -> float:
        return LEASE_INTERVALS * self.interval + self.check_timeout

    # -- starting, stopping ------------------------------------------------------------------

    def run(self, watch: RunningWatch) -> None:
        """Start the loop of a watch whose message is posted."""
        self.running[watch.watch_id] = watch
        watch.task = self.deps.background.spawn(self._loop(watch), name=f"watch-{watch.org_key}")

    async def stop(self, watch_id: int, *, ts: str, user: str) -> bool:
        """A person's Stop (from any replica): the message says who stopped it. False when no
        watch with this message runs (ended meanwhile, or a forged button)."""
        found = await asyncio.to_thread(self._find, watch_id)
        if found is None or found.ts != ts:
            return False
        local = self.running.get(watch_id)
        if local is not None:
            await self._cancel(local)
        stopped = await asyncio.to_thread(self._stop, watch_id, ts, user)
        if stopped is None:
            return False
        view = (
            self._view(local, WatchPhase.STOPPED, stopped_by=user)
            if local is not None
            else self._bare_view(stopped, WatchPhase.STOPPED, stopped_by=user)
        )
        await self._edit_quietly(stopped, view)
        return True

    async def stop_all(self) -> None:
        """The process is stopping (``Background.on_stop``): every watch of ours says so in its
        message and its row goes, so that nobody waits for the lease to run out."""
        local = list(self.running.values())
        await asyncio.gather(*(self._cancel(watch) for watch in local))
        try:
            released = await asyncio.to_thread(self._release)
        except Exception:
            log.exception("could not end this process's watches in the database")
            released = []
        by_id = {watch.watch_id: watch for watch in local}
        messages = {m.watch_id: m for m in released}
        messages.update({w.watch_id: w.message() for w in local if w.watch_id not in messages})
        edits = []
        for watch_id, message in messages.items():
            watch = by_id.get(watch_id)
            view = (
                self._view(watch, WatchPhase.RESTARTING)
                if watch is not None
                else self._bare_view(message, WatchPhase.RESTARTING)
            )
            edits.append(self._edit_quietly(message, view))
        await asyncio.gather(*edits)

    async def end_expired(self) -> None:
        """The periodic job: end the watches whose process was killed (their lease ran out),
        saying so in their messages."""
        ended = await asyncio.to_thread(self._end_expired)
        for message in ended:
            log.info("watch of org %s ended: its process stopped", message.org_key)
            await self._edit_quietly(message, self._bare_view(message, WatchPhase.RESTARTED))

    async def announce_restarted(self, message: WatchMessage) -> None:
        """A dead watch taken over by a new ``/afas watch``: its old message says it ended."""
        await self._edit_quietly(message, self._bare_view(message, WatchPhase.RESTARTED))

    async def _cancel(self, watch: RunningWatch) -> None:
        task = watch.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.running.pop(watch.watch_id, None)

    # -- the loop ----------------------------------------------------------------------------

    async def _loop(self, watch: RunningWatch) -> None:
        try:
            while True:
                wait = await self._tick(watch)
                if wait is None:
                    return
                left = (watch.ends_at - self.clock()).total_seconds()
                await asyncio.sleep(max(0.0, min(wait, left)))
        except asyncio.CancelledError:
            raise
        except Exception:
            reference = new_reference()
            log.exception("watch of org %s failed (reference %s)", watch.org_key, reference)
            await self._finish(watch, WatchPhase.FAILED, reference=reference)
        finally:
            if self.running.get(watch.watch_id) is watch:
                del self.running[watch.watch_id]

    async def _tick(self, watch: RunningWatch) -> float | None:
        """One re-check; seconds to the next, or None when the watch has ended."""
        if self.clock() >= watch.ends_at:
            await self._finish(watch, WatchPhase.TIME_UP)
            return None
        outcome = await self._check(watch)
        if outcome.org_gone:
            await self._org_removed(watch)
            return None
        try:
            renewal = await asyncio.to_thread(self._renew, watch)
        except Exception:
            log.exception("watch of org %s: the database did not answer; next tick", watch.org_key)
            return self.interval
        if renewal is Renewal.ORG_GONE:
            await self._org_removed(watch)
            return None
        if renewal is Renewal.LOST:
            log.info("watch of org %s was stopped or taken over elsewhere", watch.org_key)
            return None
        if outcome.trouble is None and watch.progress is not None and watch.progress.healthy:
            await self._finish(watch, WatchPhase.HEALTHY)
            return None
        view = replace(
            self._view(watch, WatchPhase.RUNNING),
            trouble=outcome.trouble,
            trouble_at=outcome.at,
            reference=outcome.reference,
        )
        return await self._edit_running(watch, view)

    async def _check(self, watch: RunningWatch) -> CheckOutcome:
        """Check the org. The watch's progress changes only when AFAS answered: a check that
        learned nothing leaves the last progress standing, with a notice."""
        checked_at = self.clock()
        try:
            result = await asyncio.wait_for(
                check_org(
                    self.deps.runtime,
                    self.deps.afas,
                    watch.org_key,
                    trigger=CheckTrigger.WATCH,
                    actor=None,  # the start is audited once, not every re-check
                ),
                self.check_timeout,
            )
        except UnknownOrgError:
            return CheckOutcome(checked_at, org_gone=True)
        except TimeoutError:
            log.warning("watch of org %s: AFAS did not answer in time", watch.org_key)
            return CheckOutcome(checked_at, Trouble.AFAS)
        except Exception:
            reference = new_reference()
            log.exception("watch of org %s: check failed (reference %s)", watch.org_key, reference)
            return CheckOutcome(checked_at, Trouble.CHECK, reference)
        if afas_did_not_answer(result.report):
            return CheckOutcome(checked_at, Trouble.AFAS)
        watch.progress = progress_of(result.report)
        watch.display_name = result.display_name
        watch.last_checked_at = checked_at
        return CheckOutcome(checked_at)

    async def _edit_running(self, watch: RunningWatch, view: WatchView) -> float | None:
        try:
            await self._update(watch.message(), view)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in MESSAGE_GONE:
                log.info("watch of org %s: its message is gone (%s)", watch.org_key, error)
                await asyncio.to_thread(self._end, watch)
                return None
            if error == "ratelimited":
                retry_after = _retry_after(exc, self.interval)
                log.warning("watch of org %s: rate limited for %.0f s", watch.org_key, retry_after)
                return max(self.interval, retry_after)
            log.warning("watch of org %s: chat.update failed (%s)", watch.org_key, error)
        except Exception:
            log.exception("watch of org %s: chat.update failed", watch.org_key)
        return self.interval

    async def _finish(
        self, watch: RunningWatch, phase: WatchPhase, *, reference: str | None = None
    ) -> None:
        """End our watch and say why, only if it was still ours (a Stop elsewhere speaks for
        itself)."""
        try:
            ours = await asyncio.to_thread(self._end, watch)
        except Exception:
            log.exception("watch of org %s: could not end it in the database", watch.org_key)
            ours = True  # its lease runs out; the message should still say it ended
        if ours:
            view = replace(self._view(watch, phase), reference=reference)
            await self._edit_quietly(watch.message(), view)

    async def _org_removed(self, watch: RunningWatch) -> None:
        log.info("watch of org %s ended: the org was removed", watch.org_key)
        await self._edit_quietly(watch.message(), self._view(watch, WatchPhase.ORG_REMOVED))

    # -- the message -------------------------------------------------------------------------

    def _view(self, watch: RunningWatch, phase: WatchPhase, **extra: Any) -> WatchView:
        return WatchView(
            watch_id=watch.watch_id,
            org_key=watch.org_key,
            phase=phase,
            now=self.clock(),
            display_name=watch.display_name,
            progress=watch.progress,
            last_checked_at=watch.last_checked_at,
            started_at=watch.started_at,
            ends_at=watch.ends_at,
            interval_seconds=self.interval,
            started_by=watch.started_by,
            **extra,
        )

    def _bare_view(self, message: WatchMessage, phase: WatchPhase, **extra: Any) -> WatchView:
        """For a watch this process knows only from its row."""
        return WatchView(message.watch_id, message.org_key, phase, now=self.clock(), **extra)

    async def _update(self, message: WatchMessage, view: WatchView) -> None:
        if message.ts is None:
            return
        await self.client.chat_update(
            channel=message.channel,
            ts=message.ts,
            blocks=watch_blocks(view, language=message.language, tz=self.tz),
            text=watch_text(view, language=message.language),
        )

    async def _edit_quietly(self, message: WatchMessage, view: WatchView) -> None:
        """A last edit: its failure is logged (the message may be gone), never raised."""
        try:
            await self._update(message, view)
        except SlackApiError as exc:
            log.info(
                "watch of org %s: last edit failed (%s)", message.org_key, exc.response.get("error")
            )
        except Exception:
            log.exception("watch of org %s: last edit failed", message.org_key)

    # -- the database work, in worker threads ------------------------------------------------

    def _find(self, watch_id: int) -> WatchMessage | None:
        with self.deps.runtime.session() as session:
            return find_watch(session, watch_id)

    def _stop(self, watch_id: int, ts: str, user: str) -> WatchMessage | None:
        with self.deps.runtime.session() as session:
            return stop_watch(session, watch_id, ts=ts, actor=user, now=self.clock())

    def _renew(self, watch: RunningWatch) -> Renewal:
        with self.deps.runtime.session() as session:
            return renew_watch(
                session,
                watch.watch_id,
                watch.org_id,
                owner=self.owner,
                lease_seconds=self.lease_seconds,
                now=self.clock(),
            )

    def _end(self, watch: RunningWatch) -> bool:
        with self.deps.runtime.session() as session:
            return end_watch(session, watch.watch_id, owner=self.owner)

    def _release(self) -> list[WatchMessage]:
        with self.deps.runtime.session() as session:
            return release_watches(session, owner=self.owner)

    def _end_expired(self) -> list[WatchMessage]:
        with self.deps.runtime.session() as session:
            return end_expired_watches(session, now=self.clock())


def _retry_after(exc: SlackApiError, default: float) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in dict(headers).items():
        if name.lower() == "retry-after":
            try:
                return float(value if isinstance(value, str) else value[0])
            except (TypeError, ValueError, IndexError):
                break
    return default


# -- one watcher per Slack app -----------------------------------------------------------------

#: By the Background's id; weak, because the Background (through its jobs) keeps the watcher
#: alive and the watcher its Background: when the app goes, both go.
_WATCHERS: WeakValueDictionary[int, Watcher] = WeakValueDictionary()


def watcher_for(deps: SlackDeps, client: AsyncWebClient) -> Watcher:
    """The app's watcher (made on first use): its expiry job runs every interval once the
    Background is started, and its watches end when the Background stops."""
    watcher = watcher_of(deps.background)
    if watcher is None:
        watcher = Watcher(deps, client)
        _WATCHERS[id(deps.background)] = watcher
        deps.background.every(watcher.interval, watcher.end_expired, name="watch-expiry")
        deps.background.on_stop(watcher.stop_all)
    return watcher


def watcher_of(background: Background) -> Watcher | None:
    """The watcher of a Background, if its app has one (tests shorten its intervals)."""
    watcher = _WATCHERS.get(id(background))
    return watcher if watcher is not None and watcher.deps.background is background else None
