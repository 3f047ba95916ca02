"""A customer's AFAS administrator editing a connector after the fact: a field removed, renamed
or given another data type, in a GetConnector or an UpdateConnector.

This is how an export breaks silently (issue 10 §3, drift): the connector is still there and
still answers, but a field a client relies on is gone or means something else. An environment's
``field_changes`` are applied, in order, to what it serves: ``/metainfo/get/{id}`` and the
GetConnector's rows (a renamed field's values move to the new id, a removed field's values
go), ``/metainfo/update/{id}`` and the update engine (which then refuses or ignores the old
field id as it does any unknown field). A test edits a running sandbox with
``SandboxEnvironment.edit_field``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, model_validator

from .columns import with_columns
from .get_connectors import DATA_TYPES, GET_CONNECTORS, GetConnectorSpec, GetField
from .update_connectors import UPDATE_CONNECTORS, UpdateConnectorSpec, UpdateObject


class FieldChange(BaseModel):
    """One edit: ``field`` is a GetConnector's field id (``VatCode``), or an UpdateConnector's
    field path below its root element (``Year``, ``FiEntries.BpDa``). Exactly one of
    ``remove``, ``rename_to``, ``retype_to`` (renaming keeps the field's label and type, as
    changing a field's id in AFAS's connector definition does)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connector: str
    field: str
    remove: bool = False
    rename_to: str | None = None
    retype_to: str | None = None

    @model_validator(mode="after")
    def _one_edit(self) -> FieldChange:
        edits = [self.remove, self.rename_to is not None, self.retype_to is not None]
        if sum(edits) != 1:
            raise ValueError("a field change is exactly one of remove, rename_to, retype_to")
        if self.retype_to is not None and self.retype_to not in DATA_TYPES:
            raise ValueError(f"retype_to must be one of {', '.join(DATA_TYPES)}")
        if self.rename_to is not None and not self.rename_to.strip():
            raise ValueError("rename_to must be a field id")
        return self


class FieldChangeError(ValueError):
    """A change that names a connector or field the environment does not serve."""


def check_changes(changes: Iterable[FieldChange], *, column_variant: str = "standard") -> None:
    """Raise ``FieldChangeError`` unless every change, applied in order, finds its field."""
    changes = list(changes)
    for connector_id in dict.fromkeys(c.connector for c in changes):
        mine = [c for c in changes if c.connector == connector_id]
        if connector_id in GET_CONNECTORS:
            edit_get_spec(with_columns(GET_CONNECTORS[connector_id], column_variant), mine)
        elif connector_id in UPDATE_CONNECTORS:
            edit_update_spec(UPDATE_CONNECTORS[connector_id], mine)
        else:
            raise FieldChangeError(f"field_changes: {connector_id!r} is not a known connector")


def edit_get_spec(spec: GetConnectorSpec, changes: Iterable[FieldChange]) -> GetConnectorSpec:
    """The GetConnector after the changes meant for it (others are left out): its fields as
    metainfo describes them and its rows under the new field ids."""
    fields = list(spec.fields)
    rows = [dict(row) for row in spec.rows]
    for change in changes:
        if change.connector != spec.id:
            continue
        index = next((i for i, f in enumerate(fields) if f.id == change.field), None)
        if index is None:
            raise FieldChangeError(f"field_changes: {spec.id} has no field {change.field!r}")
        if change.remove:
            del fields[index]
            for row in rows:
                row.pop(change.field, None)
        elif change.rename_to is not None:
            _refuse_duplicate(spec.id, change.rename_to, [f.id for f in fields])
            fields[index] = replace(fields[index], id=change.rename_to)
            for row in rows:
                if change.field in row:
                    row[change.rename_to] = row.pop(change.field)
        else:
            fields[index] = _retyped(fields[index], change.retype_to or "string")
    return GetConnectorSpec(spec.id, spec.description, tuple(fields), tuple(rows))


def edit_update_spec(
    spec: UpdateConnectorSpec, changes: Iterable[FieldChange]
) -> UpdateConnectorSpec:
    """The UpdateConnector after the changes meant for it: as ``/metainfo/update`` describes
    it and as the update engine validates writes."""
    root = spec.root
    for change in changes:
        if change.connector != spec.id:
            continue
        root = _edit_object(root, change.field.split("."), change, spec.id)
    return replace(spec, root=root) if root is not spec.root else spec


def _edit_object(
    obj: UpdateObject, path: list[str], change: FieldChange, connector_id: str
) -> UpdateObject:
    head, *rest = path
    if rest:
        inner = obj.object(head)
        if inner is None:
            raise FieldChangeError(f"field_changes: {connector_id} has no field {change.field!r}")
        edited = _edit_object(inner, rest, change, connector_id)
        return replace(obj, objects=tuple(edited if o is inner else o for o in obj.objects))
    found = obj.field(head)
    if found is None:
        raise FieldChangeError(f"field_changes: {connector_id} has no field {change.field!r}")
    if change.remove:
        fields = tuple(f for f in obj.fields if f is not found)
    elif change.rename_to is not None:
        _refuse_duplicate(connector_id, change.rename_to, [f.id for f in obj.fields])
        fields = tuple(replace(f, id=change.rename_to) if f is found else f for f in obj.fields)
    else:
        new_type = change.retype_to or "string"
        fields = tuple(replace(f, data_type=new_type) if f is found else f for f in obj.fields)
    return replace(obj, fields=fields)


def _retyped(field: GetField, data_type: str) -> GetField:
    length = {"string": max(field.length, 50), "int": 9, "decimal": 18}.get(data_type, 0)
    return replace(field, data_type=data_type, length=length)


def _refuse_duplicate(connector_id: str, new_id: str, ids: list[str]) -> None:
    if new_id in ids:
        raise FieldChangeError(f"field_changes: {connector_id} already has a field {new_id!r}")
