"""Work the Slack app does beside its requests: tasks a listener starts that outlive the
request (a watch re-checking every half minute), and periodic jobs (the App Home refresh).

Started and stopped with the server (``bot.serving.Server``). On stop, the stop callbacks run
first (a watch says in its message that it ended), then what is still running is cancelled;
the whole stop takes a few seconds at most, so SIGTERM stays quick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._jobs: list[tuple[str, float, Job]] = []
        self._stoppers: list[Job] = []
        self._started = False
        self._stopping = False

    @property
    def stopping(self) -> bool:
        return self._stopping

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run ``work`` beside the request; its exception is logged, never lost silently."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def every(self, seconds: float, job: Job, *, name: str) -> None:
        """Run ``job`` every ``seconds`` once started (a slow run delays the next, never
        overlaps it); an error is logged and the next run tries again."""
        self._jobs.append((name, seconds, job))
        if self._started:
            self.spawn(self._repeat(name, seconds, job), name=name)

    def on_stop(self, callback: Job) -> None:
        self._stoppers.append(callback)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for name, seconds, job in self._jobs:
            self.spawn(self._repeat(name, seconds, job), name=name)

    async def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        for callback in self._stoppers:
            try:
                await asyncio.wait_for(callback(), timeout)
            except Exception:
                log.exception("a stop callback failed")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def _repeat(self, name: str, seconds: float, job: Job) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s failed; it runs again in %.0f s", name, seconds)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())
