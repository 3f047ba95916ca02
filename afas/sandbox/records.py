"""What UpdateConnectors created in one environment: the sandbox's own record of what exists.

One store per environment, kept for the server's lifetime (``SandboxApp.reset`` empties it).
Records are plain dicts: the scalar fields sent (keys as strings), plus ``lines`` for an
entry and ``attachments`` for a dossier item. Numbers are handed out per key from ranges
that do not collide with the built-in rows (creditors 5000x, debtors 1000x, entries
24xxxx, organisations 10001xx, dossier items 100x).

The server thread writes while a test thread may read, so every access takes the lock and
readers get copies.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

Record = dict[str, Any]

#: The first number handed out for each key; other keys start at 90001.
FIRST_NUMBERS = {"CrId": 60001, "DbId": 20001, "BcCo": 2000001, "EnNo": 250001, "SbId": 5001}
_OTHER_FIRST_NUMBER = 90001


class RecordStore:
    """Records per connector id, in the order they were created."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._records: dict[str, list[Record]] = defaultdict(list)
        self._next: dict[str, int] = {}

    def next_number(self, key: str, taken: Iterable[str] = ()) -> str:
        """A new number for ``key`` (``CrId``, ``EnNo``…), skipping the ``taken`` ones."""
        busy = set(taken)
        with self.lock:
            number = self._next.get(key, FIRST_NUMBERS.get(key, _OTHER_FIRST_NUMBER))
            while str(number) in busy:
                number += 1
            self._next[key] = number + 1
            return str(number)

    def all(self, connector_id: str) -> list[Record]:
        """The live list (for the engine, under ``lock``)."""
        return self._records[connector_id]

    def find(self, connector_id: str, match: Callable[[Record], bool]) -> list[Record]:
        with self.lock:
            return [r for r in self._records[connector_id] if match(r)]

    def insert(self, connector_id: str, record: Record) -> None:
        with self.lock:
            self._records[connector_id].append(record)

    def remove(self, connector_id: str, record: Record) -> None:
        with self.lock:
            records = self._records[connector_id]
            records[:] = [r for r in records if r is not record]

    def snapshot(self) -> dict[str, list[Record]]:
        """A deep copy of every connector's records; connectors without any are left out."""
        with self.lock:
            return {k: copy.deepcopy(v) for k, v in self._records.items() if v}

    def clear(self) -> None:
        with self.lock:
            self._records.clear()
            self._next.clear()
