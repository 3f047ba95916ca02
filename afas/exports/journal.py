"""What a live test export tells its caller to write down, so that nothing stays behind unknown.

A live export creates records in a customer's AFAS one step at a time. If the process dies, the
network drops or AFAS goes down half-way, the records already made must still be findable and
removable later (``afas.exports.cleanup``). So the export calls the caller's ``ExportJournal``
at every fact, and waits for it: the caller persists the fact (a database row) before the
export sends its next request. The caller hands the facts back as ``JournalEntry`` values to
finish the run later.

The states of one step's record, in the order they can happen::

    pending      before_write: about to create it (a crash now leaves a "maybe created")
    created      created: AFAS answered with its key
    unknown      answer_lost: sent, but no answer (time-out, dropped connection): it may exist
    removed      removed: deleted again (an empty key: looked up by its marker and not found,
                 or never sent: it does not exist)
    left_behind  left_behind: it stays (blocked, or AFAS refused the DELETE), with how to
                 remove it by hand

The journal never sees the token: only connector ids, keys and the run's marker.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from afas.exports.placeholders import PLACEHOLDERS, TEST_PDF, PlaceholderSource
from afas.exports.templates import ExportTemplate
from afas.profile import LocalText


class EntryState(StrEnum):
    PENDING = "pending"
    CREATED = "created"
    UNKNOWN = "unknown"
    REMOVED = "removed"
    LEFT_BEHIND = "left_behind"


@dataclass(frozen=True)
class JournalEntry:
    """One step's record as the caller last persisted it; given back to ``cleanup``.

    ``key`` identifies the record in AFAS: the keys AFAS answered (``CrId``, ``UnId``/``EnNo``…)
    plus the customer's values its removal needs, under their AFAS field ids (``JoCo``,
    ``Year``…), so that a cleanup needs nothing but these entries and the run id.
    """

    step: int
    connector_id: str
    state: EntryState
    key: Mapping[str, str] = field(default_factory=dict)
    marker: str = ""

    def __post_init__(self) -> None:
        # Callers load these from storage, where the state is text.
        object.__setattr__(self, "state", EntryState(self.state))
        object.__setattr__(self, "key", {str(k): str(v) for k, v in self.key.items()})


class ExportJournal(Protocol):
    """Implemented by the caller (storage). Every method must have persisted the fact when it
    returns: the export sends nothing further before that. An exception stops the export at
    once (nothing more is sent, no cleanup is attempted): finish such a run with ``cleanup``."""

    async def before_write(self, step: int, connector_id: str, marker: str) -> None: ...

    async def created(self, step: int, connector_id: str, key: dict[str, str]) -> None: ...

    async def answer_lost(self, step: int, connector_id: str) -> None: ...

    async def removed(self, step: int, connector_id: str, key: dict[str, str]) -> None: ...

    async def left_behind(
        self,
        step: int,
        connector_id: str,
        key: dict[str, str],
        reason: LocalText,
        how_to_remove: LocalText,
    ) -> None: ...


# -- the run's own values ------------------------------------------------------------------

#: InId holds at most 12 characters (afas-api.md §6.4): "AFBT-" and at most 7 of the run id.
_RUN_ID = re.compile(r"[0-9a-z]{4,7}")


def new_run_id() -> str:
    """Six hex digits: short enough for an invoice number, unlikely to repeat."""
    return secrets.token_hex(3)


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError("a run id is 4 to 7 lowercase letters or digits (it goes into InId)")
    return run_id


def marker_for(run_id: str) -> str:
    """What every record of the run is named or described with: nobody mistakes it."""
    return f"AFASBOT TEST {check_run_id(run_id)}"


def run_values(run_id: str) -> dict[str, str]:
    """The ``run`` placeholders a run makes up itself (``entry_date`` comes from the period).
    A cleanup recomputes them from the run id alone."""
    check_run_id(run_id)
    return {
        "run_id": run_id,
        "marker": marker_for(run_id),
        "invoice_id": f"AFBT-{run_id}",
        "attachment_name": f"afasbot-test-{run_id}.pdf",
        "attachment_base64": base64.b64encode(TEST_PDF).decode("ascii"),
    }


# -- keys and the placeholders they stand for ------------------------------------------------


#: Run placeholders the marker already stands for: not repeated in a key.
_SELF_EVIDENT = frozenset({"marker", "run_id", "attachment_name", "attachment_base64"})


def identity_fields(template: ExportTemplate) -> dict[str, str]:
    """placeholder -> AFAS field id, for the values the removal of this step needs besides
    AFAS's answer (``journal`` -> ``JoCo``, ``invoice_id`` -> ``InId``): they are kept in the
    record's key, so that a person can find it and a cleanup can remove it. The field is where the
    payload sends exactly that placeholder (the first such place: root fields come first)."""
    removal = template.placeholders()["removal"]
    wanted = {
        name
        for name in removal
        if PLACEHOLDERS[name].source is not PlaceholderSource.ANSWER and name not in _SELF_EVIDENT
    }
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            fields = node.get("Fields")
            if isinstance(fields, dict):
                for field_id, value in fields.items():
                    name = _whole_placeholder(value)
                    if name in wanted and name not in found:
                        found[name] = field_id
            for key, value in node.items():
                if key != "Fields":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template.payload)
    return found


def record_key(
    template: ExportTemplate, answered: Mapping[str, str], values: Mapping[str, Any]
) -> dict[str, str]:
    """The key to persist for a created record: AFAS's answer plus the identity fields."""
    key = {k: str(v) for k, v in answered.items()}
    for name, field_id in identity_fields(template).items():
        if values.get(name) is not None:
            key.setdefault(field_id, str(values[name]))
    return key


def values_from_key(template: ExportTemplate, key: Mapping[str, str]) -> dict[str, str]:
    """The placeholders a persisted key fills: answer ones (``EnNo`` -> ``entry_number``) and
    the identity fields (``JoCo`` -> ``journal``). The inverse of ``record_key``."""
    values: dict[str, str] = {}
    for answer_key, name in template.provides.items():
        if answer_key in key:
            values[name] = key[answer_key]
    for name, field_id in identity_fields(template).items():
        if field_id in key:
            values[name] = key[field_id]
    return values


def _whole_placeholder(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        inner = value[1:-1]
        if inner.isidentifier():
            return inner
    return None
