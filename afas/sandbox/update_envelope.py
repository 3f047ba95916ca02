"""Reading an UpdateConnector request body the way AFAS accepts it (afas-api.md §6.1).

``Element`` is an object or an array; ``Objects`` is an array of single-key objects or one
object keyed by sub-object name; keys are ``@Key`` on the element or plain fields; values
are strings, numbers or booleans that AFAS coerces ("1" for true, "2024" for 2024).
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation
from typing import Any

Element = dict[str, Any]


class UpdateError(Exception):
    """An update AFAS would refuse; ``key`` names the message in errors.MESSAGES."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def elements(root: str, document: Any) -> list[Element]:
    """The top-level elements of ``{"<root>": {"Element": … }}``, shapes checked."""
    if not isinstance(document, dict) or set(document) != {root}:
        raise UpdateError("bad_envelope", detail=f"root element '{root}' expected")
    container = document[root]
    if not isinstance(container, dict) or "Element" not in container:
        raise UpdateError("bad_envelope", detail=f"'{root}' must hold an 'Element'")
    found = as_list(container["Element"])
    if not found:
        raise UpdateError("bad_envelope", detail=f"'{root}' has no elements")
    for element in found:
        _check_shape(element, root)
    return found


def _check_shape(element: Any, name: str) -> None:
    if not isinstance(element, dict):
        raise UpdateError("bad_envelope", detail=f"an element of '{name}' is not an object")
    if not isinstance(element.get("Fields", {}), dict):
        raise UpdateError("bad_envelope", detail=f"'Fields' of '{name}' must be an object")
    for sub_name, sub_elements in objects(element):
        for sub in sub_elements:
            _check_shape(sub, sub_name)


def objects(element: Element) -> list[tuple[str, list[Any]]]:
    """Sub-objects, from ``Objects`` as an array of single-key objects or as one object."""
    found = element.get("Objects")
    if found is None:
        return []
    entries = found if isinstance(found, list) else [found]
    result = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise UpdateError("bad_envelope", detail="'Objects' entries must be objects")
        for name, content in entry.items():
            if not isinstance(content, dict) or "Element" not in content:
                raise UpdateError("bad_envelope", detail=f"'{name}' must hold an 'Element'")
            result.append((name, as_list(content["Element"])))
    return result


def sub_elements(element: Element, name: str) -> list[Element]:
    """Every element of the sub-object ``name`` (all ``Objects`` entries of that name)."""
    return [sub for found, subs in objects(element) if found == name for sub in subs]


def fields(element: Element) -> dict[str, Any]:
    return element.get("Fields") or {}


def scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def string(value: Any) -> str:
    """AFAS's text form of a value: booleans as "1"/"0", numbers without a trailing ".0"."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text(value: Any) -> str:
    """A value as trimmed text, "" when empty."""
    return "" if value is None or not scalar(value) else string(value).strip()


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def truthy(value: Any) -> bool:
    return value is True or text(value).lower() in ("1", "true")


def scalars(element: Element) -> dict[str, str]:
    """The element's own scalar fields as text (``@Action`` left out)."""
    return {k: string(v) for k, v in fields(element).items() if scalar(v) and k != "@Action"}


def key_value(element: Element, key: str) -> str:
    """A key given as ``@Key`` on the element or as a field; "" when absent."""
    for candidate in (element.get(f"@{key}"), fields(element).get(key)):
        if not blank(candidate) and scalar(candidate):
            return string(candidate).strip()
    return ""


def amount(value: Any) -> Decimal:
    if blank(value):
        return Decimal(0)
    try:
        return Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        raise UpdateError("bad_envelope", detail=f"'{value}' is not an amount") from None


def number(value: Any, name: str) -> int:
    try:
        return int(text(value))
    except ValueError:
        raise UpdateError("bad_envelope", detail=f"'{name}' must be a number") from None


def is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
