"""The UpdateConnector engine: POST, PUT and DELETE the way AFAS answers them (afas-api.md §6).

Order of a write: method allowed for the connector, the envelope (``update_envelope``), the
fields against the connector's metainfo (mandatory on POST, keys on PUT, lengths, unknown
field ids per the environment's setting), then the connector's own rules against the
administration's data (``write_rules``). Only when every element passed is anything written
(one transaction). POST answers 201 ``{"results": {"<Root>": {<keys as strings>}}}``; PUT 200
without a body or 201 with one (``put_status``, §13.5); DELETE 200 without a body.

Choices where AFAS documents nothing (ours): with several top-level elements the answer
carries the keys of the last one; UpdateConnectors outside the guide's five keep the simple
behaviour (keys from the request, else a new number; no data rules); a DELETE whose path
names more levels than one is decided by its last element/keys triple (FiEntries excepted,
see ``_delete_entry``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .books import Books
from .records import Record, RecordStore
from .scenario import SandboxEnvironment
from .update_connectors import UpdateConnectorSpec, UpdateObject
from .update_envelope import (
    Element,
    UpdateError,
    blank,
    elements,
    fields,
    key_value,
    objects,
    scalar,
    scalars,
    string,
    text,
)
from .write_rules import RULES, Write, WriteContext

__all__ = ["RecordStore", "UpdateAnswer", "UpdateError", "UpdateRequest", "handle_update"]


@dataclass(slots=True)
class UpdateAnswer:
    status: int
    body: Any = None  # None: no body


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    method: str
    sub_path: tuple[str, ...]  # path segments after /connectors/{id}
    body: bytes


def handle_update(
    spec: UpdateConnectorSpec,
    request: UpdateRequest,
    store: RecordStore,
    env: SandboxEnvironment,
) -> UpdateAnswer:
    """Answer ``POST|PUT|DELETE /connectors/{id}[/...]``; raises UpdateError for a 500."""
    method = request.method
    if method not in spec.methods:
        raise UpdateError("action_not_supported", action=method.lower())
    books = Books(env, store)
    if method == "DELETE":
        return _delete(spec, request.sub_path, store, env, books)
    if request.sub_path and (
        len(request.sub_path) != 1 or request.sub_path[0] not in spec.sub_objects
    ):
        return UpdateAnswer(404)
    try:
        document = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return UpdateAnswer(400, {"message": "Invalid json"})
    context = WriteContext(env, store, books, method, request.sub_path)
    with store.lock:
        writes = []
        for element in elements(spec.root_name, document):
            if method == "POST" and not request.sub_path:
                _check_mandatory(spec.root, element)
            else:
                _check_keys(spec, element)
            _check_values(spec.root, element, env)
            rule = RULES.get(spec.id)
            writes.append(rule(context, element) if rule else _generic(spec, element, store))
        for write in writes:  # nothing is written before every element passed
            write.apply(store)
    body = {"results": {spec.root_name: writes[-1].keys}}
    if method == "POST":
        return UpdateAnswer(201, body)
    return UpdateAnswer(201, body) if env.put_status == 201 else UpdateAnswer(200)


# Fields against the metainfo ----------------------------------------------------------------


def _check_mandatory(obj: UpdateObject, element: Element) -> None:
    values = fields(element)
    if str(values.get("@Action", "")).lower() == "delete":
        return
    for spec_field in obj.fields:
        if spec_field.mandatory and blank(values.get(spec_field.id)):
            raise UpdateError("required", field=spec_field.label)
    for name, sub_elements in objects(element):
        known = obj.object(name)
        if known is not None:
            for sub in sub_elements:
                _check_mandatory(known, sub)


def _check_keys(spec: UpdateConnectorSpec, element: Element) -> None:
    """PUT and sub-object POST identify an existing record by its primary key(s)."""
    for spec_field in spec.root.fields:
        if spec_field.primary_key and not key_value(element, spec_field.id):
            raise UpdateError("required", field=spec_field.label)


def _check_values(obj: UpdateObject, element: Element, env: SandboxEnvironment) -> None:
    """Lengths from the metainfo; field ids and sub-objects the connector lacks."""
    for field_id, value in fields(element).items():
        if field_id.startswith("@"):
            continue
        spec_field = obj.field(field_id)
        if spec_field is None:
            if env.unknown_fields == "refuse":
                raise UpdateError("unknown_field", field=field_id, object=obj.name)
            continue
        too_long = (
            spec_field.data_type == "string"
            and spec_field.length
            and scalar(value)
            and len(string(value)) > spec_field.length
        )
        if too_long and env.too_long_values == "refuse":
            raise UpdateError(
                "too_long",
                field_nl=spec_field.label,
                field_en=spec_field.label,
                length=str(spec_field.length),
            )
    for name, sub_elements in objects(element):
        known = obj.object(name)
        if known is None:
            if env.unknown_fields == "refuse":
                raise UpdateError("unknown_field", field=name, object=obj.name)
            continue
        for sub in sub_elements:
            _check_values(known, sub, env)


def _generic(spec: UpdateConnectorSpec, element: Element, store: RecordStore) -> Write:
    """An UpdateConnector outside the guide's five: keys as sent, else new numbers."""
    keys = {k: key_value(element, k) or store.next_number(k) for k in spec.result_keys}
    with store.lock:
        target = next(
            (r for r in store.all(spec.id) if all(r.get(k) == v for k, v in keys.items())),
            None,
        )
    return Write(spec.id, keys, {**scalars(element), **keys}, target)


# DELETE -------------------------------------------------------------------------------------


def _pairs(names: str, values: str) -> dict[str, str] | None:
    keys = [n.strip().lstrip("@") for n in names.split(",")]
    parts = values.split(",")
    return dict(zip(keys, parts, strict=True)) if len(keys) == len(parts) else None


def _delete(
    spec: UpdateConnectorSpec,
    sub_path: tuple[str, ...],
    store: RecordStore,
    env: SandboxEnvironment,
    books: Books,
) -> UpdateAnswer:
    """``/{Element}/@{Key}/{value}``, composite ``/@A,@B/{a},{b}`` (§6.1)."""
    if spec.id == "FiEntries":
        return _delete_entry(sub_path, store, env)
    if len(sub_path) < 3 or len(sub_path) % 3:
        return UpdateAnswer(404)
    element_name, names, values = sub_path[-3:]
    wanted = _pairs(names, values)
    if wanted is None or (len(sub_path) == 3 and element_name != spec.root_name):
        return UpdateAnswer(404)
    if env.refuse_deletes:
        raise UpdateError("delete_refused")
    with store.lock:
        found = [r for r in store.all(spec.id) if all(r.get(k) == v for k, v in wanted.items())]
        if not found:
            raise UpdateError("record_not_found")
        record = found[0]
        if spec.id == "KnPurchaseRelationOrg" and not env.relation_with_entries_deletable:
            _refuse_if_booked(store, "3", record.get("CrId", ""))
        store.remove(spec.id, record)
    return UpdateAnswer(200)


def _refuse_if_booked(store: RecordStore, kind: str, number: str) -> None:
    """Ours: AFAS keeps a relation that has entries (they would lose their relation)."""
    for entry in store.all("FiEntries"):
        for line in entry.get("lines", []):
            if line.get("VaAs") == kind and line.get("AcNr") == number:
                raise UpdateError("relation_in_use", number=number)


def _entry_matches(record: Record, wanted: dict[str, str]) -> bool:
    for key, value in wanted.items():
        if key == "InId":
            if value != record.get("InId") and all(
                value != line.get("InId") for line in record.get("lines", [])
            ):
                return False
        elif text(record.get(key)) != value.strip():
            return False
    return True


def _delete_entry(
    sub_path: tuple[str, ...], store: RecordStore, env: SandboxEnvironment
) -> UpdateAnswer:
    """The two documented forms (§13.6): ``nested``
    ``/FiEntryPar/UnId,JoCo/{u},{j}/FiEntries/@EnNo/{n}`` (or ``@InId/{i}``) and ``element``
    ``/FiEntryPar/@Year,…/{year},…`` with keys on the entry itself. Several entries matching
    an ``element`` path is refused rather than guessed."""
    if len(sub_path) == 6 and sub_path[0] == "FiEntryPar" and sub_path[3] == "FiEntries":
        form = "nested"
        outer, inner = _pairs(sub_path[1], sub_path[2]), _pairs(sub_path[4], sub_path[5])
        wanted = None if outer is None or inner is None else {**outer, **inner}
    elif len(sub_path) == 3 and sub_path[0] == "FiEntryPar":
        form = "element"
        wanted = _pairs(sub_path[1], sub_path[2])
    else:
        return UpdateAnswer(404)
    if wanted is None:
        return UpdateAnswer(404)
    if form not in env.entry_delete_forms:
        raise UpdateError("action_not_supported", action="delete")
    if env.refuse_deletes:
        raise UpdateError("delete_refused")
    with store.lock:
        found = [r for r in store.all("FiEntries") if _entry_matches(r, wanted)]
        if not found:
            raise UpdateError("record_not_found")
        if len(found) > 1:
            raise UpdateError("ambiguous_delete")
        (entry,) = found
        store.remove("FiEntries", entry)
        # The entry's invoice goes with it, and with it any change made through FiInvoice.
        for invoice in store.find(
            "FiInvoice", lambda r: r.get("UnId") == entry["UnId"] and r.get("InId") == entry["InId"]
        ):
            store.remove("FiInvoice", invoice)
    return UpdateAnswer(200)
