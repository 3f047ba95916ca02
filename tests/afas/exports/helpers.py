"""A metainfo/update answer that fits a template exactly, to be broken one way per test.

Built from the template itself (not from the sandbox), so the pure tests say what the
comparison does whatever the sandbox's catalogue holds.
"""

from __future__ import annotations

import copy
from typing import Any

from afas.exports.placeholders import render, samples
from afas.exports.templates import ExportTemplate, object_entries


def fitting_metainfo(template: ExportTemplate) -> dict[str, Any]:
    """The §4.3 shape describing every field and object the template sends, nothing mandatory."""
    root = _describe(render(template.payload, samples())[template.root], template.root)
    if template.removal is not None and template.removal.payload is not None:
        extra = _describe(render(template.removal.payload, samples())[template.root], "")
        known = {f["fieldId"] for f in root["fields"]}
        root["fields"] += [f for f in extra["fields"] if f["fieldId"] not in known]
    return {"id": template.connector, "description": template.connector, **root}


def _describe(node: dict[str, Any], name: str) -> dict[str, Any]:
    fields: dict[str, dict[str, Any]] = {}
    objects: dict[str, dict[str, Any]] = {}
    elements = node["Element"] if isinstance(node["Element"], list) else [node["Element"]]
    for element in elements:
        for key, value in element.items():
            if key.startswith("@"):
                fields[key[1:]] = _field(key[1:], value, primary_key=True)
        for field_id, value in element.get("Fields", {}).items():
            described = _field(field_id, value)
            if field_id in fields and described["dataType"] == "decimal":  # 0 on one line, 0.01
                fields[field_id]["dataType"] = "decimal"
            fields.setdefault(field_id, described)
        for child_name, child in object_entries(element.get("Objects")):
            objects[child_name] = _describe(child, child_name)
    return {"name": name, "fields": list(fields.values()), "objects": list(objects.values())}


def _field(field_id: str, value: Any, primary_key: bool = False) -> dict[str, Any]:
    if isinstance(value, bool):
        data_type = "boolean"
    elif isinstance(value, int):
        data_type = "int"
    elif isinstance(value, float):
        data_type = "decimal"
    elif isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        data_type = "date"
    else:
        data_type = "string"
    return {
        "fieldId": field_id,
        "primaryKey": primary_key,
        "dataType": data_type,
        "label": field_id,
        "mandatory": False,
        "length": 0,
        "decimals": 0,
        "decimalFieldId": "",
        "notzero": False,
        "controlType": 1,
        "values": [],
    }


def at(metainfo: dict[str, Any], path: str) -> dict[str, Any]:
    """The object description at a dotted path below the root (``"KnOrganisation"``)."""
    node = metainfo
    for name in [p for p in path.split(".") if p]:
        node = next(o for o in node["objects"] if o["name"] == name)
    return node


def field_at(metainfo: dict[str, Any], path: str) -> dict[str, Any]:
    where, _, field_id = path.rpartition(".")
    return next(f for f in at(metainfo, where)["fields"] if f["fieldId"] == field_id)


def broken(metainfo: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(metainfo)
