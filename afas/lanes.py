"""Two lanes to AFAS (issue 11 §2): people first.

Requests for a check a person asked for (a command, a button, a watch, a registration, an
export, the CLI) must not queue behind the scheduled sweep, which may keep every slot busy.
The client keeps ``people_slots`` of its total for people; the sweep gets the rest. Among
people the slots go round-robin per person, so one person's burst of checks does not starve
another's single one.

The lane is a context variable: everything is a person's unless it runs inside
``sweep_lane()`` (the scheduler's checks), and ``person_lane(user)`` names the person.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SWEEP = "\x00sweep"  # no user id looks like this
ANYONE = "\x00someone"

_lane: ContextVar[str] = ContextVar("afas_lane", default=ANYONE)


def current_lane() -> str:
    """``SWEEP``, or the person (a user id, or ``ANYONE``) the request is for."""
    return _lane.get()


@contextmanager
def sweep_lane() -> Iterator[None]:
    """Requests made within (and in tasks started within) go in the sweep's lane."""
    token = _lane.set(SWEEP)
    try:
        yield
    finally:
        _lane.reset(token)


@contextmanager
def person_lane(who: str | None) -> Iterator[None]:
    """Requests made within are ``who``'s (a user id, an operator's login name)."""
    token = _lane.set(who or ANYONE)
    try:
        yield
    finally:
        _lane.reset(token)


class FairSlots:
    """A semaphore that hands free slots round-robin among the parties waiting for one."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._free = capacity
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def free(self) -> int:
        return self._free

    async def acquire(self, who: str) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(who, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # it was handed a slot as it was cancelled: pass it on
            else:
                self._forget(who, granted)
            raise

    def release(self) -> None:
        """Hand the slot to the next party in turn (each party's own waiters in order)."""
        while self._waiting:
            who, queue = next(iter(self._waiting.items()))
            granted = queue.popleft()
            del self._waiting[who]
            if queue:
                self._waiting[who] = queue  # to the back of the round
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1

    def _forget(self, who: str, granted: asyncio.Future[None]) -> None:
        queue = self._waiting.get(who)
        if queue is None:
            return
        try:
            queue.remove(granted)
        except ValueError:
            return
        if not queue:
            del self._waiting[who]


class Lanes:
    """The client's total slots, split: people's (fair among people) and the sweep's."""

    def __init__(self, total: int, people: int) -> None:
        people = max(0, min(people, total - 1))
        self.people_slots = people
        self._sweep = asyncio.Semaphore(total - people)
        self._people = FairSlots(people) if people else None

    async def acquire(self) -> str:
        """A slot in the current lane; returns which (pass it to ``release``)."""
        lane = current_lane()
        if lane == SWEEP or self._people is None:
            await self._sweep.acquire()
            return SWEEP
        await self._people.acquire(lane)
        return lane

    def release(self, lane: str) -> None:
        if lane == SWEEP:
            self._sweep.release()
        else:
            assert self._people is not None
            self._people.release()
