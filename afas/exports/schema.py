"""Holding a payload template against AFAS's ``metainfo/update/{id}``: pure, no I/O.

``parse_update_schema`` reads the metainfo JSON (afas-api.md §4.3: fields with ``fieldId``,
``dataType``, ``length``, ``mandatory``, ``primaryKey``, ``values``; nested ``objects``);
``compare`` walks the payload (placeholders already filled with samples) and returns findings.

Severity follows what AFAS would do with the payload. Failing: a field or nested object AFAS does
not describe, a value of the wrong type, a string longer than the field, a field AFAS marks
mandatory that the payload lacks. Notes only, because AFAS's metainfo is known to be unreliable
there (§4.3: "mandatory" flags; Profit 4 changed reported lengths and types of code-table fields
without changing behaviour; §6.4-§6.6: schema-required fields that AFAS's own minimal examples
omit): a mandatory flag the template lists as unreliable, a mandatory non-key field missing from a
PUT (a PUT sends only the key and the fields it changes, §6.1), type or length of a code-table
field, a literal value not among the listed code values, a data type we do not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from afas.exports.templates import object_entries

_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+([.,]\d+)?")
_BOOLEAN_STRINGS = frozenset({"0", "1", "true", "false", "True", "False"})
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_KNOWN_TYPES = frozenset({"string", "int", "decimal", "date", "boolean", "blob"})


class Severity(StrEnum):
    FAILING = "failing"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class SchemaField:
    id: str
    data_type: str
    mandatory: bool = False
    length: int = 0  # 0: AFAS gives no maximum
    primary_key: bool = False
    values: tuple[str, ...] = ()  # a code table's ids; empty when the field has none


@dataclass(frozen=True, slots=True)
class SchemaObject:
    name: str
    fields: dict[str, SchemaField] = field(default_factory=dict)
    objects: dict[str, SchemaObject] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UpdateSchema:
    connector_id: str | None
    name: str | None  # AFAS's "name"; for most connectors the root element
    root: SchemaObject


@dataclass(frozen=True, slots=True)
class SchemaFinding:
    """One difference between template and metainfo, at a dotted path (root.Object.Field)."""

    code: str
    severity: Severity
    path: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        return self.severity is Severity.FAILING

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "path": self.path,
            "details": self.details,
        }


def parse_update_schema(data: Any, root_name: str) -> UpdateSchema | None:
    """Read ``metainfo/update``; None when the answer does not have AFAS's shape.

    The top level describes the root element (named ``root_name`` in the payload, which for
    FiEntries is FiEntryPar although AFAS's ``name`` may say otherwise).
    """
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        return None
    root = _parse_object(data, root_name)
    if root is None:
        return None
    connector_id = data.get("id") if isinstance(data.get("id"), str) else None
    name = data.get("name") if isinstance(data.get("name"), str) else None
    return UpdateSchema(connector_id, name, root)


def _parse_object(data: Any, name: str) -> SchemaObject | None:
    if not isinstance(data, dict):
        return None
    fields: dict[str, SchemaField] = {}
    for entry in data.get("fields") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("fieldId"), str):
            return None
        values = entry.get("values") if isinstance(entry.get("values"), list) else []
        fields[entry["fieldId"]] = SchemaField(
            id=entry["fieldId"],
            data_type=str(entry.get("dataType") or "").lower(),
            mandatory=entry.get("mandatory") is True,
            length=entry["length"] if isinstance(entry.get("length"), int) else 0,
            primary_key=entry.get("primaryKey") is True,
            values=tuple(str(v["id"]) for v in values if isinstance(v, dict) and "id" in v),
        )
    objects: dict[str, SchemaObject] = {}
    for entry in data.get("objects") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        child = _parse_object(entry, entry["name"])
        if child is None:
            return None
        objects[child.name] = child
    return SchemaObject(name, fields, objects)


def compare(
    payload: dict[str, Any],
    schema: UpdateSchema,
    *,
    method: str,
    root: str,
    connector_id: str,
    mandatory_unreliable: tuple[str, ...] = (),
) -> tuple[SchemaFinding, ...]:
    """Every way the (sample-filled) payload does not fit the metainfo, failing ones first."""
    walker = _Walker(method, frozenset(mandatory_unreliable))
    if schema.name and schema.name not in (root, connector_id):
        walker.add("root_name_differs", Severity.NOTE, root, name=schema.name, root=root)
    node = payload.get(root) if isinstance(payload, dict) else None
    walker.object(node, schema.root, root)
    ordered = sorted(walker.findings, key=lambda f: f.severity is not Severity.FAILING)
    return tuple(ordered)


class _Walker:
    def __init__(self, method: str, unreliable: frozenset[str]) -> None:
        self.method, self.unreliable = method, unreliable
        self.findings: list[SchemaFinding] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, code: str, severity: Severity, path: str, **details: Any) -> None:
        if (code, path) in self._seen:  # one finding per path, however many lines repeat it
            return
        self._seen.add((code, path))
        self.findings.append(SchemaFinding(code, severity, path, details))

    def object(self, node: Any, schema: SchemaObject, path: str) -> None:
        raw = node.get("Element") if isinstance(node, dict) else None
        elements = raw if isinstance(raw, list) else [raw]
        for element in elements:
            if isinstance(element, dict):
                self.element(element, schema, path)

    def element(self, element: dict[str, Any], schema: SchemaObject, path: str) -> None:
        sent: dict[str, Any] = {k[1:]: v for k, v in element.items() if k.startswith("@")}
        fields = element.get("Fields") if isinstance(element.get("Fields"), dict) else {}
        sent.update({k: v for k, v in fields.items() if not k.startswith("@")})
        for field_id, value in sent.items():
            spec = schema.fields.get(field_id)
            if spec is None:
                self.add("field_unknown", Severity.FAILING, f"{path}.{field_id}", field=field_id)
                continue
            self.value(spec, value, f"{path}.{field_id}")
        for spec in schema.fields.values():
            if spec.mandatory and _blank(sent.get(spec.id)):
                self.missing_mandatory(spec, f"{path}.{spec.id}")
        for name, child in object_entries(element.get("Objects")):
            child_schema = schema.objects.get(name)
            if child_schema is None:
                self.add("object_unknown", Severity.FAILING, f"{path}.{name}", object=name)
                continue
            self.object(child, child_schema, f"{path}.{name}")

    def missing_mandatory(self, spec: SchemaField, path: str) -> None:
        if path in self.unreliable:
            self.add("mandatory_flag_unreliable", Severity.NOTE, path, field=spec.id)
        elif self.method == "PUT" and not spec.primary_key:
            self.add("mandatory_not_needed_for_put", Severity.NOTE, path, field=spec.id)
        else:
            self.add("mandatory_missing", Severity.FAILING, path, field=spec.id)

    def value(self, spec: SchemaField, value: Any, path: str) -> None:
        code_table = bool(spec.values)
        severity = Severity.NOTE if code_table else Severity.FAILING
        if spec.data_type not in _KNOWN_TYPES:
            self.add("type_unknown", Severity.NOTE, path, field=spec.id, data_type=spec.data_type)
            return
        if not _fits_type(spec.data_type, value):
            self.add(
                "code_table_type" if code_table else "type_mismatch",
                severity,
                path,
                field=spec.id,
                data_type=spec.data_type,
                value_type=_json_type(value),
            )
            return
        if spec.data_type == "string" and spec.length > 0 and len(str(value)) > spec.length:
            self.add(
                "code_table_length" if code_table else "too_long",
                severity,
                path,
                field=spec.id,
                length=len(str(value)),
                max=spec.length,
            )
        if code_table and not isinstance(value, bool) and str(value) not in spec.values:
            self.add("value_not_listed", Severity.NOTE, path, field=spec.id, value=str(value))


def _fits_type(data_type: str, value: Any) -> bool:
    """Whether AFAS takes this JSON value for a field of this type. AFAS coerces strings such
    as ``"2013"`` and ``"1"`` (afas-api.md §6.1), so those fit numeric and boolean fields."""
    if value is None:
        return True  # null clears a field
    if data_type == "string":
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if data_type == "int":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, str) and bool(_INT.fullmatch(value)))
    if data_type == "decimal":
        if isinstance(value, bool):
            return False
        return isinstance(value, int | float) or (
            isinstance(value, str) and bool(_DECIMAL.fullmatch(value))
        )
    if data_type == "boolean":
        return isinstance(value, bool) or value in (0, 1) or value in _BOOLEAN_STRINGS
    if data_type == "date":
        return isinstance(value, str) and _is_date(value)
    if data_type == "blob":
        return isinstance(value, str) and bool(_BASE64.fullmatch(value)) and len(value) % 4 == 0
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        pass
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        return False


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
