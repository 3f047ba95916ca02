"""Payload templates: what the bookkeeping product sends to each UpdateConnector, as data.

The templates file sits beside the profile (``exports = "..."`` in the profile) and is validated
when loaded: the JSON envelope of afas-api.md §6.1, the root element AFAS expects (``FiEntries``
has root ``FiEntryPar``), a method AFAS offers for that connector (``FiInvoice`` is PUT only,
``KnSalesRelationOrg`` has no DELETE), every placeholder known and available at its step (a key
from an earlier step's answer, never a later one), and every UpdateConnector of the profile
covered, no more.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from afas.client import CONNECTOR_ID
from afas.exports.placeholders import (
    PLACEHOLDERS,
    PlaceholderSource,
    placeholders_in,
    render,
    stray_braces,
)
from afas.profile import LocalText, Profile, ProfileError, RequirementKind

#: Root elements that differ from the connector id (afas-api.md §6.1, §6.4).
ROOT_ELEMENTS: dict[str, str] = {"FiEntries": "FiEntryPar"}

#: The methods AFAS documents per connector (afas-api.md §6.4-§6.8); unknown connectors: any.
KNOWN_METHODS: dict[str, frozenset[str]] = {
    "FiEntries": frozenset({"POST", "DELETE"}),
    "FiInvoice": frozenset({"PUT"}),
    "KnSalesRelationOrg": frozenset({"POST", "PUT"}),
    "KnPurchaseRelationOrg": frozenset({"POST", "PUT", "DELETE"}),
    "KnSubject": frozenset({"POST", "PUT", "DELETE"}),
}

_FIELD_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
_ELEMENT_KEYS = frozenset({"Fields", "Objects"})


class ExportTemplateError(ProfileError):
    """The templates file is missing or invalid; the message says which template and why."""


class Removal(BaseModel):
    """How the live export takes its record away again (or why it cannot)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    method: Literal["DELETE", "PUT"]
    #: DELETE: the documented path forms, tried in order until one works (§13.6).
    paths: tuple[str, ...] = ()
    #: PUT: what to send instead of deleting (a sales relation is blocked, §6.6).
    payload: dict[str, Any] | None = None
    #: The record stays after removal (blocked, not deleted) and is listed as left behind.
    leaves_behind: bool = False
    how_to_remove: LocalText

    @field_validator("payload", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return _parse_json(value)

    @model_validator(mode="after")
    def _consistent(self) -> Removal:
        if self.method == "DELETE" and (not self.paths or self.payload is not None):
            raise ValueError("a DELETE removal needs `paths` and no `payload`")
        if self.method == "PUT" and (self.payload is None or self.paths):
            raise ValueError("a PUT removal needs a `payload` and no `paths`")
        return self


class ExportTemplate(BaseModel):
    """One step of the export: a connector, its method and the payload with placeholders."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    connector: Annotated[str, Field(pattern=CONNECTOR_ID.pattern)]
    step: Annotated[int, Field(ge=1, le=99)]
    method: Literal["POST", "PUT"]
    root: Annotated[str, Field(pattern=_FIELD_ID.pattern)]
    title: LocalText
    payload: dict[str, Any]
    #: Keys AFAS returns in ``results.<root>`` (§6.2), and which of them later steps use.
    result_keys: tuple[str, ...] = ()
    provides: dict[str, str] = {}
    #: Dotted paths (root.Object.Field) whose "mandatory" flag AFAS's own examples contradict.
    mandatory_unreliable: tuple[str, ...] = ()
    removal: Removal | None = None

    @field_validator("payload", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return _parse_json(value)

    @model_validator(mode="after")
    def _consistent(self) -> ExportTemplate:
        expected_root = ROOT_ELEMENTS.get(self.connector, self.connector)
        if self.connector in KNOWN_METHODS and self.root != expected_root:
            raise ValueError(f"the root element of {self.connector} is {expected_root!r}")
        _check_envelope(self.payload, self.root, "payload")
        allowed = KNOWN_METHODS.get(self.connector)
        if allowed is not None and self.method not in allowed:
            raise ValueError(
                f"{self.connector} has no {self.method} (AFAS offers {', '.join(sorted(allowed))})"
            )
        if self.removal is not None:
            removal = self.removal
            if allowed is not None and removal.method not in allowed:
                raise ValueError(f"{self.connector} has no {removal.method}: removal cannot use it")
            for path in removal.paths:
                if not path.startswith(f"/connectors/{self.connector}/") or ".." in path:
                    raise ValueError(
                        f"removal path {path!r} is not under /connectors/{self.connector}/"
                    )
                if "?" in path or stray_braces(path):
                    raise ValueError(f"removal path {path!r} has a query or a stray brace")
            if removal.payload is not None:
                _check_envelope(removal.payload, self.root, "removal.payload")
        for key, name in self.provides.items():
            if key not in self.result_keys:
                raise ValueError(f"provides {key!r}, which is not one of `result_keys`")
            placeholder = PLACEHOLDERS.get(name)
            if placeholder is None or placeholder.source is not PlaceholderSource.ANSWER:
                raise ValueError(f"provides {name!r}, which is not an answer placeholder")
        for path in self.mandatory_unreliable:
            if path.split(".")[0] != self.root or len(path.split(".")) < 2:
                raise ValueError(f"mandatory_unreliable {path!r} must start with {self.root}.")
        return self

    def placeholders(self) -> dict[str, set[str]]:
        """Placeholders per part: the step itself, and its removal (which runs later)."""
        step = placeholders_in(self.payload) | _text_placeholders(self.title)
        later: set[str] = set()
        if self.removal is not None:
            later = (
                placeholders_in(list(self.removal.paths))
                | placeholders_in(self.removal.payload)
                | _text_placeholders(self.removal.how_to_remove)
            )
        return {"step": step, "removal": later}

    def rendered(self, values: dict[str, Any]) -> dict[str, Any]:
        return render(self.payload, values)


class DestinationCheck(BaseModel):
    """The live-only check of guide §1.2.9: which step shows it and by which AFAS message."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,80}$")]
    requirement: str
    connector: str
    guide_section: str
    error_pattern: str

    @field_validator("error_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"error_pattern is not a regular expression: {exc}") from None
        return value


class ExportTemplates(BaseModel):
    """Every step of one integration's export, in step order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    profile: str
    destination_check: DestinationCheck | None = None
    templates: Annotated[tuple[ExportTemplate, ...], Field(alias="template", min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> ExportTemplates:
        connectors = [t.connector for t in self.templates]
        steps = [t.step for t in self.templates]
        for label, values in (("connector", connectors), ("step", steps)):
            twice = {v for v in values if values.count(v) > 1}
            if twice:
                raise ValueError(f"{label} {sorted(twice)[0]!r} appears in two templates")
        ordered = sorted(self.templates, key=lambda t: t.step)
        object.__setattr__(self, "templates", tuple(ordered))
        available = {n for n, p in PLACEHOLDERS.items() if p.source is not PlaceholderSource.ANSWER}
        provided_by_all = available | {n for t in ordered for n in t.provides.values()}
        for template in ordered:
            used = template.placeholders()
            for part, names, known in (
                ("payload", used["step"], available),
                ("removal", used["removal"], provided_by_all),
            ):
                for name in sorted(names):
                    if name not in PLACEHOLDERS:
                        raise ValueError(f"{template.connector}: unknown placeholder {{{name}}}")
                    if name not in known:
                        raise ValueError(
                            f"{template.connector}: {part} uses {{{name}}}, which no earlier "
                            "step's answer provides"
                        )
            available = available | set(template.provides.values())
        if self.destination_check and self.destination_check.connector not in connectors:
            raise ValueError("destination_check names a connector without a template")
        return self

    def for_connector(self, connector_id: str) -> ExportTemplate:
        for template in self.templates:
            if template.connector == connector_id:
                return template
        raise KeyError(connector_id)


def _text_placeholders(text: LocalText) -> set[str]:
    return placeholders_in(text.nl) | placeholders_in(text.en)


def _parse_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    return value


def _check_envelope(payload: Any, root: str, where: str) -> None:
    """``{"<Root>": {"Element": {...} | [{...}]}}`` with Fields and Objects below (§6.1)."""
    if not isinstance(payload, dict) or list(payload) != [root]:
        raise ValueError(f"{where} must be one object keyed by the root element {root!r}")
    _check_object(payload[root], f"{where}.{root}")


def _check_object(node: Any, where: str) -> None:
    if not isinstance(node, dict) or list(node) != ["Element"]:
        raise ValueError(f'{where} must be {{"Element": ...}}')
    elements = node["Element"] if isinstance(node["Element"], list) else [node["Element"]]
    if not elements:
        raise ValueError(f"{where}.Element is empty")
    for element in elements:
        if not isinstance(element, dict):
            raise ValueError(f"{where}.Element must be an object or a list of objects")
        for key, value in element.items():
            if key.startswith("@"):
                if not _FIELD_ID.fullmatch(key[1:]) or isinstance(value, dict | list):
                    raise ValueError(f"{where}: {key!r} is not a key field with a value")
            elif key not in _ELEMENT_KEYS:
                raise ValueError(f"{where}: unexpected {key!r} (only Fields, Objects, @Key)")
        fields = element.get("Fields", {})
        if not isinstance(fields, dict):
            raise ValueError(f"{where}.Fields must be an object")
        for field_id, value in fields.items():
            if not _FIELD_ID.fullmatch(field_id.lstrip("@")) or isinstance(value, dict | list):
                raise ValueError(f"{where}.Fields.{field_id} must be a field id with a value")
            if isinstance(value, str) and stray_braces(value):
                raise ValueError(f"{where}.Fields.{field_id} has a stray brace")
        for name, child in object_entries(element.get("Objects"), where):
            if not _FIELD_ID.fullmatch(name):
                raise ValueError(f"{where}.Objects: {name!r} is not an object name")
            _check_object(child, f"{where}.{name}")


def object_entries(objects: Any, where: str = "Objects") -> list[tuple[str, Any]]:
    """``Objects`` as (name, node) pairs: AFAS accepts a list of one-key objects or one object
    keyed by name (afas-api.md §6.1)."""
    if objects is None:
        return []
    if isinstance(objects, dict):
        return list(objects.items())
    if isinstance(objects, list):
        pairs: list[tuple[str, Any]] = []
        for entry in objects:
            if not isinstance(entry, dict) or len(entry) != 1:
                raise ValueError(f"{where}: each entry of an Objects list has exactly one key")
            pairs.extend(entry.items())
        return pairs
    raise ValueError(f"{where} must be an object or a list")


def load_templates(profile: Profile) -> ExportTemplates:
    """The profile's templates, validated against the profile's UpdateConnectors."""
    if not profile.exports:
        raise ExportTemplateError(f"The profile {profile.name} names no export templates file")
    directory = profile.source_directory
    if directory is None:
        raw, origin = _builtin(profile.exports), f"built-in {profile.exports}"
    else:
        path = Path(directory) / profile.exports
        try:
            raw, origin = path.read_bytes(), str(path)
        except OSError as exc:
            raise ExportTemplateError(
                f"Cannot read the export templates {path}: {exc.strerror}"
            ) from None
    templates = parse_templates(raw, origin)
    check_coverage(templates, profile, origin)
    return templates


@cache
def _builtin(name: str) -> bytes:
    try:
        return resources.files("afas.profiles").joinpath(name).read_bytes()
    except OSError as exc:
        raise ExportTemplateError(f"Cannot read the export templates {name}: {exc}") from None


def parse_templates(raw: bytes | str, origin: str = "(given text)") -> ExportTemplates:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    data: dict[str, Any] = {}
    try:
        data = tomllib.loads(text)
        return ExportTemplates.model_validate(data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExportTemplateError(
            f"The export templates {origin} are not valid TOML: {exc}"
        ) from None
    except ValidationError as exc:
        raise ExportTemplateError(
            f"The export templates {origin} are invalid: {_first_error(exc, data)}"
        ) from None


def check_coverage(
    templates: ExportTemplates, profile: Profile, origin: str = "(given text)"
) -> None:
    """Every UpdateConnector the profile requires has a template, and nothing else does."""
    required = [r.connector for r in profile.of_kind(RequirementKind.UPDATE_CONNECTOR)]
    have = {t.connector for t in templates.templates}
    missing = [c for c in required if c not in have]
    extra = sorted(have - set(required))
    if templates.profile != profile.name:
        raise ExportTemplateError(
            f"The export templates {origin} are for profile {templates.profile!r}, "
            f"not {profile.name!r}"
        )
    if missing:
        raise ExportTemplateError(
            f"The export templates {origin} have no template for {', '.join(missing)}"
        )
    if extra:
        raise ExportTemplateError(
            f"The export templates {origin} have templates for {', '.join(extra)}, "
            "which the profile does not require"
        )
    check = templates.destination_check
    if check is not None:
        try:
            profile.by_id(check.requirement)
        except KeyError:
            raise ExportTemplateError(
                f"The export templates {origin}: destination_check names requirement "
                f"{check.requirement!r}, which the profile does not have"
            ) from None


def _first_error(exc: ValidationError, data: dict[str, Any]) -> str:
    error = exc.errors()[0]
    location = list(error["loc"])
    where = ".".join(str(part) for part in location)
    if len(location) >= 2 and location[0] == "template" and isinstance(location[1], int):
        entries = data.get("template", [])
        if location[1] < len(entries):
            where = f"template {entries[location[1]].get('connector', location[1])!r}"
            where += "".join(f".{part}" for part in location[2:])
    return f"{where}: {error['msg']}" if where else error["msg"]
