"""Two lanes to AFAS (issue 11 §2): people first.

Requests for a check a person asked for (a command, a button, a watch, a registration, an
export, the CLI) must not queue behind the scheduled sweep, which may keep every slot busy.
The client keeps ``people_slots`` of its total free of the sweep (which gets at most the
rest), and people may use every free slot. Among people the slots go round-robin per person,
so one person's burst of checks does not starve another's single one.

The lane is a context variable: everything is a person's unless it runs inside
``sweep_lane()`` (the scheduler's checks), and ``person_lane(user)`` names the person.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class Lanes:
    """The client's total slots, shared with the sweep on people's terms.

    A person's request takes any free slot; the sweep's at most ``total - people`` at once,
    so ``people`` slots are always free of the sweep (a person's check starts at once while
    the sweep is saturating), and a burst of people's checks with the sweep idle has every
    slot (capping people at their reserve made 200 commands take four times as long). A
    freed slot goes to a waiting person first, round-robin per person (one person's burst
    does not starve another's single check), then to the sweep."""

    def __init__(self, total: int, people: int) -> None:
        if total < 1:
            raise ValueError("total must be at least 1")
        self.total = total
        self.people_slots = max(0, min(people, total - 1))
        self.sweep_limit = total - self.people_slots
        self._in_use = 0
        self._sweep_in_use = 0
        self._people: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._sweep: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        return self.total - self._in_use

    async def acquire(self) -> str:
        """A slot for the current lane; returns the lane (pass it to ``release``)."""
        lane = current_lane()
        if self._may_take(lane):
            self._take(lane)
            return lane
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if lane == SWEEP:
            self._sweep.append(granted)
        else:
            self._people.setdefault(lane, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release(lane)  # it was handed a slot as it was cancelled: pass it on
            else:
                self._forget(lane, granted)
            raise
        return lane

    def release(self, lane: str) -> None:
        self._in_use -= 1
        if lane == SWEEP:
            self._sweep_in_use -= 1
        self._hand_out()

    def _may_take(self, lane: str) -> bool:
        if self._in_use >= self.total or self._people:
            return False  # full, or people waiting: they go first
        return lane != SWEEP or (not self._sweep and self._sweep_in_use < self.sweep_limit)

    def _take(self, lane: str) -> None:
        self._in_use += 1
        if lane == SWEEP:
            self._sweep_in_use += 1

    def _hand_out(self) -> None:
        while self._in_use < self.total:
            person = self._next_person()
            if person is not None:
                who, granted = person
                self._take(who)
                granted.set_result(None)
                continue
            while self._sweep and self._sweep[0].done():
                self._sweep.popleft()  # cancelled while waiting
            if not self._sweep or self._sweep_in_use >= self.sweep_limit:
                return
            self._take(SWEEP)
            self._sweep.popleft().set_result(None)

    def _next_person(self) -> tuple[str, asyncio.Future[None]] | None:
        """The next waiting person's oldest request, that person to the back of the round."""
        while self._people:
            who, queue = next(iter(self._people.items()))
            granted = queue.popleft()
            del self._people[who]
            if queue:
                self._people[who] = queue
            if not granted.done():
                return who, granted
        return None

    def _forget(self, lane: str, granted: asyncio.Future[None]) -> None:
        if lane == SWEEP:
            with contextlib.suppress(ValueError):
                self._sweep.remove(granted)
            return
        queue = self._people.get(lane)
        if queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(granted)
        if not queue:
            del self._people[lane]
