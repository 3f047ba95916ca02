"""The UpdateConnector engine: envelope checks, a few functional rules, an in-memory store.

Follows afas-api.md §6: ``Element`` as object or array, ``Objects`` as array of single-key
objects or as one object, a root element that may differ from the connector id
(``FiEntries`` → ``FiEntryPar``), FiEntries must balance, POST answers 201 with
``{"results": {"<Root>": {<keys as strings>}}}``, DELETE 200 with no body.

Deliberately simple: unknown field ids are accepted (AFAS's reaction is not documented), only
fields the catalogue marks mandatory are required on POST, and with several top-level
elements the answer carries the keys of the last one (AFAS does not document that case).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .catalogue_update import UpdateConnectorSpec, UpdateObject


class UpdateError(Exception):
    """An update AFAS would refuse; ``key`` names the message in errors.MESSAGES."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(slots=True)
class UpdateAnswer:
    status: int
    body: Any = None  # None: no body


@dataclass
class RecordStore:
    """What UpdateConnectors created in one environment, kept for the server's lifetime."""

    records: dict[str, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(50001))

    def next_number(self) -> str:
        return str(next(self._numbers))

    def save(self, connector_id: str, keys: dict[str, str], fields: dict[str, str]) -> None:
        """Insert, or update the record with the same keys (PUT, sub-object POST)."""
        records = self.records[connector_id]
        for record in records:
            if all(record.get(k) == v for k, v in keys.items()):
                record.update(fields)
                record.update(keys)
                return
        records.append({**fields, **keys})


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    method: str
    sub_path: tuple[str, ...]  # path segments after /connectors/{id}
    body: bytes


def handle_update(
    spec: UpdateConnectorSpec,
    request: UpdateRequest,
    store: RecordStore,
    *,
    put_status: int = 200,
    blocked_periods: frozenset[tuple[int, int]] = frozenset(),
) -> UpdateAnswer:
    """Answer ``POST|PUT|DELETE /connectors/{id}[/...]``; raises UpdateError for a 500."""
    method = request.method
    if method not in spec.methods:
        raise UpdateError("action_not_supported", action=method.lower())
    if method == "DELETE":
        return _delete(spec, request.sub_path, store)
    if request.sub_path and (
        len(request.sub_path) != 1 or request.sub_path[0] not in spec.sub_objects
    ):
        return UpdateAnswer(404)
    try:
        document = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return UpdateAnswer(400, {"message": "Invalid json"})
    elements = _elements(spec, document)
    keys: dict[str, str] = {}
    for element in elements:
        if method == "POST" and not request.sub_path:
            _check_mandatory(spec.root, element)
        else:
            _check_keys(spec, element)
        if spec.id == "FiEntries":
            _check_entry(element, blocked_periods)
        keys = _keys(spec, element, store)
        fields = {k: _string(v) for k, v in _fields(element).items() if _scalar(v)}
        store.save(spec.id, keys, fields)
    body = {"results": {spec.root_name: keys}}
    if method == "POST":
        return UpdateAnswer(201, body)
    return UpdateAnswer(201, body) if put_status == 201 else UpdateAnswer(200)


def _elements(spec: UpdateConnectorSpec, document: Any) -> list[dict[str, Any]]:
    root = spec.root_name
    if not isinstance(document, dict) or set(document) != {root}:
        raise UpdateError("bad_envelope", detail=f"root element '{root}' expected")
    container = document[root]
    if not isinstance(container, dict) or "Element" not in container:
        raise UpdateError("bad_envelope", detail=f"'{root}' must hold an 'Element'")
    elements = _as_list(container["Element"])
    if not elements:
        raise UpdateError("bad_envelope", detail=f"'{root}' has no elements")
    for element in elements:
        _check_element_shape(element, root)
    return elements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_element_shape(element: Any, name: str) -> None:
    if not isinstance(element, dict):
        raise UpdateError("bad_envelope", detail=f"an element of '{name}' is not an object")
    if not isinstance(element.get("Fields", {}), dict):
        raise UpdateError("bad_envelope", detail=f"'Fields' of '{name}' must be an object")
    for sub_name, sub_elements in _objects(element):
        for sub in sub_elements:
            _check_element_shape(sub, sub_name)


def _objects(element: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """Sub-objects, from ``Objects`` as an array of single-key objects or as one object."""
    objects = element.get("Objects")
    if objects is None:
        return []
    entries = objects if isinstance(objects, list) else [objects]
    result = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise UpdateError("bad_envelope", detail="'Objects' entries must be objects")
        for name, content in entry.items():
            if not isinstance(content, dict) or "Element" not in content:
                raise UpdateError("bad_envelope", detail=f"'{name}' must hold an 'Element'")
            result.append((name, _as_list(content["Element"])))
    return result


def _fields(element: dict[str, Any]) -> dict[str, Any]:
    return element.get("Fields") or {}


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_mandatory(obj: UpdateObject, element: dict[str, Any]) -> None:
    fields = _fields(element)
    if str(fields.get("@Action", "")).lower() == "delete":
        return
    for spec_field in obj.fields:
        if spec_field.mandatory and _blank(fields.get(spec_field.id)):
            raise UpdateError("required", field=spec_field.label)
    known = {o.name: o for o in obj.objects}
    for name, sub_elements in _objects(element):
        if name in known:
            for sub in sub_elements:
                _check_mandatory(known[name], sub)


def _check_keys(spec: UpdateConnectorSpec, element: dict[str, Any]) -> None:
    """PUT and sub-object POST identify an existing record by its primary key(s)."""
    fields = _fields(element)
    for spec_field in spec.root.fields:
        if not spec_field.primary_key:
            continue
        if _blank(element.get(f"@{spec_field.id}")) and _blank(fields.get(spec_field.id)):
            raise UpdateError("required", field=spec_field.label)


def _amount(value: Any) -> Decimal:
    if _blank(value):
        return Decimal(0)
    try:
        return Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        raise UpdateError("bad_envelope", detail=f"'{value}' is not an amount") from None


def _check_entry(element: dict[str, Any], blocked_periods: frozenset[tuple[int, int]]) -> None:
    fields = _fields(element)
    try:
        period = (int(fields.get("Year", 0)), int(fields.get("Peri", 0)))
    except (TypeError, ValueError):
        raise UpdateError("bad_envelope", detail="'Year' and 'Peri' must be numbers") from None
    if period in blocked_periods:
        raise UpdateError("blocked_period", year=str(period[0]), period=str(period[1]))
    debit = credit = Decimal(0)
    for name, lines in _objects(element):
        if name != "FiEntries":
            continue
        for line in lines:
            debit += _amount(_fields(line).get("AmDe"))
            credit += _amount(_fields(line).get("AmCr"))
    if debit != credit:
        raise UpdateError("not_balanced", debit=f"{debit:.2f}", credit=f"{credit:.2f}")


def _find_value(element: dict[str, Any], key: str) -> Any:
    if not _blank(element.get(f"@{key}")):
        return element[f"@{key}"]
    if not _blank(_fields(element).get(key)):
        return _fields(element)[key]
    for _name, sub_elements in _objects(element):
        for sub in sub_elements:
            found = _find_value(sub, key)
            if found is not None:
                return found
    return None


def _keys(spec: UpdateConnectorSpec, element: dict[str, Any], store: RecordStore) -> dict[str, str]:
    keys = {}
    for key in spec.result_keys:
        value = _find_value(element, key)
        if value is None and key == "UnId":
            value = "1"  # AFAS: the user's last-used administration
        keys[key] = _string(value) if value is not None else store.next_number()
    return keys


def _delete(
    spec: UpdateConnectorSpec, sub_path: tuple[str, ...], store: RecordStore
) -> UpdateAnswer:
    """``/{Element}/@{Key}/{value}``, composite ``/@A,@B/{a},{b}``; the last pair decides."""
    if len(sub_path) < 3 or len(sub_path) % 3:
        return UpdateAnswer(404)
    names = [n.strip().lstrip("@") for n in sub_path[-2].split(",")]
    values = sub_path[-1].split(",")
    if len(names) != len(values):
        return UpdateAnswer(404)
    wanted = dict(zip(names, values, strict=True))
    records = store.records[spec.id]
    for index, record in enumerate(records):
        if all(record.get(k) == v for k, v in wanted.items()):
            del records[index]
            return UpdateAnswer(200)
    raise UpdateError("record_not_found")
