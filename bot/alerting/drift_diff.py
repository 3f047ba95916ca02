"""Drift, the comparison (pure): an org's connectors and their fields as a deep check found
them, against the baseline.

A snapshot is, per connector id, its kind (``get`` or ``update``), its fields' data types and
labels, read from the deep check's items (``afas/diagnosis.py``: ``field_types`` and
``field_labels``, or the bare ``fields`` list of a report written before those existed). Per
connector in both: fields **removed**, **added** (informational: an export does not break on
a field it does not know), **retyped** (the same id, another data type) and **renamed**: a
removed and an added field of the same data type below the same object whose labels are the
same or whose ids are close (difflib ratio >= 0.6) are one field renamed. A connector the
latest check did not describe (missing, refused, unreadable this time) is not compared: a
missing connector is a setup failure the check reports itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from typing import Any

from pydantic import BaseModel, ConfigDict

from afas.report import CheckReport, ItemStatus

#: The report item kinds whose fields are compared, and their short kind.
CONNECTOR_KINDS = {"get_connector": "get", "update_connector": "update"}
RENAME_RATIO = 0.6
HASH_LENGTH = 12

#: connector id -> {"kind": "get"|"update", "section": guide section,
#: "types": {field: type}, "labels": {field: label}}
Snapshot = dict[str, dict[str, Any]]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Renamed(_Part):
    old: str
    new: str


class Retyped(_Part):
    field: str
    old: str
    new: str


class ConnectorDrift(_Part):
    connector: str
    kind: str = "get"
    guide_section: str = ""
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    renamed: tuple[Renamed, ...] = ()
    retyped: tuple[Retyped, ...] = ()

    @property
    def breaking(self) -> bool:
        """Whether an export using this connector can break: a field gone or changed."""
        return bool(self.removed or self.renamed or self.retyped)


class Drift(_Part):
    """The difference, per connector that differs, in the profile's order."""

    connectors: tuple[ConnectorDrift, ...] = ()

    @property
    def breaking(self) -> tuple[ConnectorDrift, ...]:
        return tuple(c for c in self.connectors if c.breaking)

    @property
    def hash(self) -> str:
        """A short name of the breaking difference: the same changes, the same hash (fields
        only added do not change it, so they never make a warning of their own)."""
        parts = [
            [
                c.connector,
                sorted(c.removed),
                sorted([r.old, r.new] for r in c.renamed),
                sorted([r.field, r.old, r.new] for r in c.retyped),
            ]
            for c in sorted(self.breaking, key=lambda c: c.connector)
        ]
        digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode("utf-8"))
        return digest.hexdigest()[:HASH_LENGTH]

    def stored(self) -> dict[str, Any]:
        """As ``connector_baselines.drift`` holds it (storage/baselines.py)."""
        return {"hash": self.hash, **self.model_dump(mode="json")}

    @classmethod
    def read(cls, data: Mapping[str, Any] | None) -> Drift:
        return cls.model_validate(dict(data)) if data else cls()


def snapshot_of(report: CheckReport) -> Snapshot:
    """The connectors a deep check described, with their fields; empty for a check that was
    not deep or described none."""
    if not report.deep:
        return {}
    found: Snapshot = {}
    for item in report.items:
        kind = CONNECTOR_KINDS.get(item.kind)
        if kind is None or item.status is not ItemStatus.OK:
            continue
        details = item.details
        types = details.get("field_types")
        if not isinstance(types, dict):  # an older report: the ids alone, types unknown
            ids = details.get("fields")
            if not isinstance(ids, list):
                continue
            types = {str(i): "" for i in ids}
        labels = details.get("field_labels")
        found[_connector_id(item.requirement_id)] = {
            "kind": kind,
            "section": item.guide_section,
            "types": {str(k): str(v) for k, v in types.items()},
            "labels": {str(k): str(v) for k, v in (labels or {}).items()},
        }
    return found


def compare(baseline: Snapshot, latest: Snapshot) -> Drift:
    """The difference per connector described in both, in the latest check's order."""
    connectors = []
    for connector_id, now in latest.items():
        before = baseline.get(connector_id)
        if before is None:
            continue
        drift = _compare_connector(connector_id, before, now)
        if drift.removed or drift.added or drift.renamed or drift.retyped:
            connectors.append(drift)
    return Drift(connectors=tuple(connectors))


def merged(drift: Drift, still_open: Drift, described: Iterable[str]) -> Drift:
    """``drift`` plus the connectors of the open drift ``still_open`` that this check did not
    describe: not seen is not fixed."""
    seen = set(described)
    kept = tuple(c for c in still_open.connectors if c.connector not in seen)
    return Drift(connectors=drift.connectors + kept) if kept else drift


def _compare_connector(
    connector_id: str, before: Mapping[str, Any], now: Mapping[str, Any]
) -> ConnectorDrift:
    old_types: dict[str, str] = dict(before.get("types") or {})
    new_types: dict[str, str] = dict(now.get("types") or {})
    old_labels: dict[str, str] = dict(before.get("labels") or {})
    new_labels: dict[str, str] = dict(now.get("labels") or {})
    removed = [f for f in old_types if f not in new_types]
    added = [f for f in new_types if f not in old_types]
    retyped = [
        Retyped(field=f, old=old_types[f], new=new_types[f])
        for f in old_types
        if f in new_types and old_types[f] and new_types[f] and old_types[f] != new_types[f]
    ]
    renamed = []
    for old, new in _renames(removed, added, old_types, new_types, old_labels, new_labels):
        renamed.append(Renamed(old=old, new=new))
        removed.remove(old)
        added.remove(new)
    return ConnectorDrift(
        connector=connector_id,
        kind=str(now.get("kind") or before.get("kind") or "get"),
        guide_section=str(now.get("section") or before.get("section") or ""),
        removed=tuple(removed),
        added=tuple(added),
        renamed=tuple(renamed),
        retyped=tuple(retyped),
    )


def _renames(
    removed: list[str],
    added: list[str],
    old_types: Mapping[str, str],
    new_types: Mapping[str, str],
    old_labels: Mapping[str, str],
    new_labels: Mapping[str, str],
) -> list[tuple[str, str]]:
    """Pairs (removed, added) taken for one field renamed, the likeliest first: the same
    label before a close id, then the closest ids; each field in one pair at most."""
    candidates = []
    for old in removed:
        parent, name = _split(old)
        for new in added:
            new_parent, new_name = _split(new)
            if parent != new_parent or old_types[old] != new_types[new]:
                continue
            label = old_labels.get(old)
            same_label = bool(label) and label == new_labels.get(new)
            ratio = SequenceMatcher(None, name.lower(), new_name.lower()).ratio()
            if same_label or ratio >= RENAME_RATIO:
                candidates.append((same_label, ratio, old, new))
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for _label, _ratio, old, new in sorted(candidates, key=lambda c: (not c[0], -c[1])):
        if old not in used and new not in used:
            pairs.append((old, new))
            used |= {old, new}
    return sorted(pairs, key=lambda pair: removed.index(pair[0]))


def _split(path: str) -> tuple[str, str]:
    """An UpdateConnector's ``FiEntries.BpDa`` into its object and its field id."""
    parent, _, name = path.rpartition(".")
    return parent, name


def _connector_id(requirement_id: str) -> str:
    """The profile's connector requirement ids are ``get.<id>`` and ``update.<id>``."""
    kind, dot, rest = requirement_id.partition(".")
    return rest if dot and kind in ("get", "update") and rest else requirement_id
