"""An in-memory ``ExportJournal`` for the tests: the facts in order, and the entries they make.

``crash_on`` makes one call raise (once), to stand in for the process dying there: with
``persist_first`` the fact was written before the crash (it died just after), without it the
fact is lost (it died just before the write reached the database).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from afas.exports.journal import EntryState, JournalEntry
from afas.profile import LocalText


class ProcessDied(RuntimeError):
    """The simulated crash."""


@dataclass
class MemoryJournal:
    crash_on: tuple[str, int] | None = None  # (method, step)
    persist_first: bool = True
    calls: list[tuple[str, int, str]] = field(default_factory=list)
    _entries: dict[tuple[int, str], JournalEntry] = field(default_factory=dict)

    def entries(self) -> list[JournalEntry]:
        return sorted(self._entries.values(), key=lambda e: e.step)

    def state(self, step: int) -> EntryState | None:
        entry = next((e for e in self._entries.values() if e.step == step), None)
        return entry.state if entry else None

    def _record(
        self, method: str, step: int, connector_id: str, state: EntryState, **changes
    ) -> None:
        crash = self.crash_on == (method, step)
        if crash:
            self.crash_on = None  # a process dies once; the restarted one carries on
        if crash and not self.persist_first:
            raise ProcessDied(f"died before persisting {method} of step {step}")
        self.calls.append((method, step, connector_id))
        old = self._entries.get((step, connector_id))
        marker = changes.pop("marker", old.marker if old else "")
        key = changes.pop("key", old.key if old else {})
        self._entries[(step, connector_id)] = JournalEntry(step, connector_id, state, key, marker)
        if crash:
            raise ProcessDied(f"died after persisting {method} of step {step}")

    async def before_write(self, step: int, connector_id: str, marker: str) -> None:
        self._record("before_write", step, connector_id, EntryState.PENDING, marker=marker)

    async def created(self, step: int, connector_id: str, key: dict[str, str]) -> None:
        self._record("created", step, connector_id, EntryState.CREATED, key=key)

    async def answer_lost(self, step: int, connector_id: str) -> None:
        self._record("answer_lost", step, connector_id, EntryState.UNKNOWN)

    async def removed(self, step: int, connector_id: str, key: dict[str, str]) -> None:
        self._record("removed", step, connector_id, EntryState.REMOVED, key=key or {})

    async def left_behind(
        self,
        step: int,
        connector_id: str,
        key: dict[str, str],
        reason: LocalText,
        how_to_remove: LocalText,
    ) -> None:
        assert reason.nl and reason.en and how_to_remove.nl and how_to_remove.en
        self._record("left_behind", step, connector_id, EntryState.LEFT_BEHIND, key=key)
