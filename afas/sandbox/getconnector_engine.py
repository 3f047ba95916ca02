"""The GetConnector engine: paging, sorting and filtering of rows (afas-api.md §5).

Pure: a spec, its rows and the query parameters in, the answer body out. Errors are raised
as ``QueryError`` carrying the message key of ``errors.MESSAGES``; the app turns them into
AFAS's 500 answers.

Choices where AFAS documents nothing (ours, kept simple and stated here):
- Text comparisons are case-insensitive, as in SQL Server's default collation.
- ``%`` is the only wildcard; for "contains" (6, 11, 15) a value without ``%`` is wrapped in
  ``%…%``, for "starts with" (10, 12) ``%`` is appended, for "ends with" (13, 14) prepended
  (§13.10: whether REST adds them itself is unknown, so both forms work).
- Empty values (null) sort first ascending, last descending; they never match ``=``, ``<``,
  ``>``, "contains", "starts with", "ends with", and always match ``!=`` and the negations.
- ``filterjson`` wins over ``filterfieldids`` when both are sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .get_connectors import GetConnectorSpec, GetField, Row, get_connector_spec

DEFAULT_SKIP = 0
DEFAULT_TAKE = 100


class QueryError(Exception):
    """A query AFAS would refuse with a 500; ``key`` names the message in errors.MESSAGES."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class Condition:
    field: GetField
    operator: int
    value: str


def spec_for(connector_id: str, rows_override: Sequence[Row] | None) -> GetConnectorSpec:
    """The connector's spec with the environment's own rows, if the scenario gives any."""
    spec = get_connector_spec(connector_id)
    if rows_override is None:
        return spec
    rows = tuple(dict(r) for r in rows_override)
    fields = spec.fields
    if spec.description == connector_id and rows:  # generic spec: describe the given rows
        fields = tuple(GetField(k, _infer_type(v), k) for k, v in rows[0].items())
    return GetConnectorSpec(spec.id, spec.description, fields, rows)


def _infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "decimal"
    return "string"


def run_query(spec: GetConnectorSpec, params: Mapping[str, str]) -> dict[str, Any]:
    """Answer ``GET /connectors/{id}`` for lower-cased query parameters ``params``."""
    skip, take = _paging(params)
    groups = _filters(spec, params)
    order = _ordering(spec, params)
    rows = [r for r in spec.rows if _row_matches(r, groups)]
    for field, descending in reversed(order):
        rows.sort(key=_sort_key(field, descending), reverse=descending)
    if take != -1:
        rows = rows[skip : skip + take]
    return {"skip": skip, "take": take, "rows": [_output(spec, r) for r in rows]}


def _output(spec: GetConnectorSpec, row: Row) -> Row:
    return {f.id: row.get(f.id) for f in spec.fields}


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise QueryError("unexpected") from None


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    skip = _int_param(params, "skip", DEFAULT_SKIP)
    take = _int_param(params, "take", DEFAULT_TAKE)
    if (skip, take) == (-1, -1) or (skip >= 0 and take >= 1):
        return skip, take
    raise QueryError("unexpected")  # e.g. skip=2&take=-1 (§5.3)


def _field(spec: GetConnectorSpec, field_id: str) -> GetField:
    field = spec.field(field_id)
    if field is None:
        raise QueryError("field_not_found", field=field_id)
    return field


def _operator(text: str) -> int:
    try:
        operator = int(text.strip() or "1")
    except ValueError:
        raise QueryError("unexpected") from None
    if not 1 <= operator <= 15:
        raise QueryError("unexpected")
    return operator


def _filters(spec: GetConnectorSpec, params: Mapping[str, str]) -> list[list[Condition]]:
    """OR-groups of AND-ed conditions."""
    if params.get("filterjson", "").strip():
        return _json_filters(spec, params["filterjson"])
    ids_text = params.get("filterfieldids", "")
    if not ids_text.strip():
        return []
    id_groups = ids_text.split(";")
    value_groups = params.get("filtervalues", "").split(";")
    operator_text = params.get("operatortypes")
    operator_groups = (
        operator_text.split(";")
        if operator_text is not None
        else [",".join("1" for _ in g.split(",")) for g in id_groups]
    )
    if not len(id_groups) == len(value_groups) == len(operator_groups):
        raise QueryError("unexpected")
    groups = []
    for ids, values, operators in zip(id_groups, value_groups, operator_groups, strict=True):
        id_list, value_list, op_list = ids.split(","), values.split(","), operators.split(",")
        if not len(id_list) == len(value_list) == len(op_list):
            raise QueryError("unexpected")
        groups.append(
            [
                Condition(_field(spec, i.strip()), _operator(o), v)
                for i, v, o in zip(id_list, value_list, op_list, strict=True)
            ]
        )
    return groups


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _json_filters(spec: GetConnectorSpec, text: str) -> list[list[Condition]]:
    """``{"Filters":{"Filter":[{"@FilterId":..,"Field":[{"@FieldId","@OperatorType","#text"}]}]}}``."""
    try:
        document = json.loads(text)
        filters = _as_list(document["Filters"]["Filter"])
        groups = []
        for entry in filters:
            conditions = []
            for item in _as_list(entry["Field"]):
                field = _field(spec, str(item["@FieldId"]))
                value = item.get("#text")
                conditions.append(
                    Condition(
                        field,
                        _operator(str(item.get("@OperatorType", "1"))),
                        "" if value is None else str(value),
                    )
                )
            groups.append(conditions)
        return groups
    except QueryError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise QueryError("unexpected") from None


def _ordering(spec: GetConnectorSpec, params: Mapping[str, str]) -> list[tuple[GetField, bool]]:
    text = params.get("orderbyfieldids", "")
    order = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        descending = name.startswith("-")
        order.append((_field(spec, name.lstrip("-+")), descending))
    return order


def _sort_key(field: GetField, descending: bool) -> Callable[[Row], tuple[bool, Any]]:
    def key(row: Row) -> tuple[bool, Any]:
        value = row.get(field.id)
        if value is None:
            return (False, 0)
        return (True, value.casefold() if isinstance(value, str) else value)

    return key


def _row_matches(row: Row, groups: list[list[Condition]]) -> bool:
    if not groups:
        return True
    return any(all(_condition_holds(row, c) for c in group) for group in groups)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _like(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(p) for p in pattern.split("%"))
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


_TEXT_PATTERNS: dict[int, tuple[Callable[[str], str], bool]] = {
    6: (lambda v: v if "%" in v else f"%{v}%", False),
    11: (lambda v: v if "%" in v else f"%{v}%", True),
    15: (lambda v: v if "%" in v else f"%{v}%", False),
    10: (lambda v: v if v.endswith("%") else v + "%", False),
    12: (lambda v: v if v.endswith("%") else v + "%", True),
    13: (lambda v: v if v.startswith("%") else "%" + v, False),
    14: (lambda v: v if v.startswith("%") else "%" + v, True),
}


def _condition_holds(row: Row, condition: Condition) -> bool:
    value = row.get(condition.field.id)
    operator = condition.operator
    if operator in (8, 9):
        empty = value is None or value == ""
        return empty if operator == 8 else not empty
    if operator in _TEXT_PATTERNS:
        make, negate = _TEXT_PATTERNS[operator]
        if value is None:
            return negate
        found = _like(make(condition.value)).fullmatch(_text(value)) is not None
        return found != negate
    wanted = _coerce(condition.field, condition.value)
    if value is None:
        return operator == 7
    have = value.casefold() if isinstance(value, str) else value
    if isinstance(wanted, str):
        wanted = wanted.casefold()
    try:
        return {
            1: have == wanted,
            2: have >= wanted,
            3: have <= wanted,
            4: have > wanted,
            5: have < wanted,
            7: have != wanted,
        }[operator]
    except TypeError:
        raise QueryError("unexpected") from None


_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def _coerce(field: GetField, text: str) -> Any:
    """The filter value as the field's type; AFAS answers 500 to a value it cannot convert."""
    value = text.strip()
    try:
        if field.data_type == "int":
            return int(value)
        if field.data_type == "decimal":
            return float(value)
        if field.data_type == "boolean":
            return {"1": True, "true": True, "0": False, "false": False}[value.lower()]
        if field.data_type == "date":
            for fmt in _DATE_FORMATS:
                try:
                    return datetime.strptime(value, fmt).strftime("%Y-%m-%dT%H:%M:%SZ")
                except ValueError:
                    continue
            raise ValueError(value)
    except (ValueError, KeyError):
        raise QueryError("unexpected") from None
    return text
