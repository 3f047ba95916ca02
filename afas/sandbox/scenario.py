"""Sandbox scenarios: which fake AFAS environments exist and how each one behaves.

A scenario is a list of environments, loaded from TOML (``load_scenario``) or built in
(``default_scenario``). Everything has a default, so a minimal environment is a name and a
number. Where AFAS's behaviour is unknown (afas-api.md §13) the environment has a setting
for each variant, so clients can be tested against all of them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.tokens import AfasToken, TokenFormatError

from .field_changes import FieldChange, FieldChangeError, check_changes
from .get_connectors import REQUIRED_GET_CONNECTORS
from .update_connectors import (
    REQUIRED_UPDATE_CONNECTORS,
    SPECIAL_CONNECTORS,
    UPDATE_CONNECTORS,
    UpdateObject,
)

Language = Literal["nl-nl", "nl-be", "en-us", "fr-fr", "de-de"]
Fault = Literal["none", "timeout", "drop", "garbage", "error500"]
FlakyFault = Literal["drop", "503", "error500", "garbage"]
EntryRefusal = Literal["none", "not-balanced", "unknown-account", "blocked-period", "wrong-journal"]
EntryDeleteForm = Literal["nested", "element"]

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_RELATIVE_TIME = re.compile(r"now\s*([+-])\s*(\d+)\s*([dhm])")
_ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the bad field."""


def derive_token_data(name: str) -> str:
    """The fake token data of an environment: deterministic, so tests can rebuild it."""
    return hashlib.sha256(f"afas-sandbox:{name}".encode()).hexdigest()[:64].upper()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoredFile(_Model):
    """A file the sandbox serves; ``content`` is text, ``content_base64`` raw bytes."""

    filename: str
    mimetype: str = "application/pdf"
    content: str = ""
    content_base64: str | None = None

    @field_validator("content_base64")
    @classmethod
    def _is_base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except ValueError as exc:
                raise ValueError("content_base64 is not valid Base64") from exc
        return value

    @property
    def filedata(self) -> str:
        if self.content_base64 is not None:
            return self.content_base64
        return base64.b64encode(self.content.encode("utf-8")).decode("ascii")


class SubjectAttachment(StoredFile):
    """A dossier item's attachment, served by ``/subjectconnector/{subject_id}/{file_id}``."""

    subject_id: int
    file_id: str


class ConnectorFile(StoredFile):
    """A file served by ``/fileconnector/{guid}/{filename}``."""

    guid: str


class Report(_Model):
    """A report served by ``/reportconnector/{guid}``."""

    guid: str
    mimetype: str = "application/pdf"
    content: str = ""

    @property
    def filedata(self) -> str:
        return base64.b64encode(self.content.encode("utf-8")).decode("ascii")


_SAMPLE_PDF = "%PDF-1.4\n% AFAS sandbox sample\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _default_attachments() -> list[SubjectAttachment]:
    return [
        SubjectAttachment(
            subject_id=1001,
            file_id="6A1F3C2E9B8D4E7F8A1B2C3D4E5F6A7B",
            filename="factuur_INK00001.pdf",
            content=_SAMPLE_PDF,
        )
    ]


def _default_files() -> list[ConnectorFile]:
    return [
        ConnectorFile(
            guid="3F2504E0-4F89-11D3-9A0C-0305E82C3301",
            filename="inkoop_factuur.pdf",
            content=_SAMPLE_PDF,
        )
    ]


def _default_reports() -> list[Report]:
    return [Report(guid="B2C3D4E5-F6A7-4B8C-9D0E-1F2A3B4C5D6E", content=_SAMPLE_PDF)]


class AppConnector(_Model):
    """The App Connector the environment's token belongs to. Complete unless told otherwise.

    Input-only conveniences, resolved when the scenario is loaded: ``without`` (ids removed
    from whichever list holds them), ``add_get_connectors`` and ``add_update_connectors``.
    """

    name: str = "SmartBooqing"
    group: str = "Alle Profit-gebruikers"
    blocked: bool = False
    ip_restricted: bool = False
    user_blocked: bool = False
    get_connectors: list[str] = Field(default_factory=lambda: list(REQUIRED_GET_CONNECTORS))
    update_connectors: list[str] = Field(default_factory=lambda: list(REQUIRED_UPDATE_CONNECTORS))
    special_connectors: list[str] = Field(default_factory=lambda: list(SPECIAL_CONNECTORS))
    #: GetConnectors whose *definition* is blocked (fair use, §2.2): listed, but answer 500.
    definition_blocked: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _resolve_conveniences(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        without = data.pop("without", [])
        add_get = data.pop("add_get_connectors", [])
        add_update = data.pop("add_update_connectors", [])
        lists = {
            "get_connectors": list(data.get("get_connectors", REQUIRED_GET_CONNECTORS)),
            "update_connectors": list(data.get("update_connectors", REQUIRED_UPDATE_CONNECTORS)),
            "special_connectors": list(data.get("special_connectors", SPECIAL_CONNECTORS)),
        }
        for connector_id in without:
            holders = [ids for ids in lists.values() if connector_id in ids]
            if not holders:
                raise ValueError(f"without: {connector_id!r} is not in the App Connector")
            for ids in holders:
                ids.remove(connector_id)
        lists["get_connectors"] += [c for c in add_get if c not in lists["get_connectors"]]
        lists["update_connectors"] += [c for c in add_update if c not in lists["update_connectors"]]
        data.update(lists)
        return data

    @model_validator(mode="after")
    def _blocked_definitions_exist(self) -> AppConnector:
        for connector_id in self.definition_blocked:
            if connector_id not in self.get_connectors:
                raise ValueError(
                    f"definition_blocked: {connector_id!r} is not one of the GetConnectors"
                )
        return self


class SandboxEnvironment(_Model):
    """One fake AFAS environment: its identity, its token, its App Connector, its behaviour."""

    name: str
    description: str = ""
    number: str
    kind: EnvironmentKind = EnvironmentKind.PRODUCTION
    #: ``info.envid`` in metainfo; default letter + number + "AA", e.g. ``O10001AA``.
    envid: str | None = None
    language: Language = "nl-nl"

    token_data: str
    #: The scenario's own token was deleted from the App Connector.
    token_revoked: bool = False
    extra_tokens: list[str] = Field(default_factory=list)
    revoked_tokens: list[str] = Field(default_factory=list)
    app_connector: AppConnector = Field(default_factory=AppConnector)
    #: ``info.tokenExpiry``; "0" as in AFAS's example, an ISO date-time, or ``now+5d`` in a file.
    token_expiry: str = "0"
    profit_version: str = "7.1.2"

    maintenance_retry_after: int | None = Field(default=None, ge=0)
    latency_ms: int = Field(default=0, ge=0)
    fault: Fault = "none"
    #: Path prefixes below ProfitRestServices (``/metainfo``) the faults apply to; empty = all.
    fault_paths: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=120.0, gt=0)
    garbage_body: Literal["html", "truncated-json"] = "html"
    flaky_first_attempts: int = Field(default=0, ge=0)
    flaky_fault: FlakyFault = "drop"

    plain_token_status: Literal[401, 500] = 401
    blocked_app_connector_response: Literal["401-empty", "401-message", "500-message"] = "401-empty"
    profitversion_requires_version_connector: bool = True
    list_special_connectors_in_metainfo: bool = False
    metainfo_update_requires_getxmlschema: bool = False
    unauthorised_connector_status: Literal[401, 500] = 401
    legacy_error_header: bool = True
    put_status: Literal[200, 201] = 200
    #: ``[year, period]`` pairs in which FiEntries refuses to book, on top of the periods
    #: CaseWare_Periods shows blocked.
    blocked_periods: list[tuple[int, int]] = Field(default_factory=list)

    # Writing (UpdateConnectors). The settings below are the failures a customer's AFAS can
    # give a live export, and the variants AFAS leaves open (afas-api.md §13); the defaults
    # are a well-kept administration. See updateconnector_engine.py for the rules.
    #: FiEntries refuses every entry in this way, whatever the data says.
    entry_refusal: EntryRefusal = "none"
    #: CaseWare_Periods shows every period blocked (and FiEntries refuses them all).
    all_periods_blocked: bool = False
    #: Dossier destinations set to "Not allowed" for every dossier item type (the how-to's
    #: ids: 1 none, 2 employee, 3 organisation/person, 4 sales relation, 11 purchase
    #: relation, 12 purchase relation + purchase invoice, 13 sales relation + sales invoice).
    subject_destinations_not_allowed: list[int] = Field(default_factory=list)
    #: Every DELETE is refused with a 500 and a message.
    refuse_deletes: bool = False
    #: The documented FiEntries DELETE forms (§13.6) this environment supports: ``nested``
    #: ``/FiEntryPar/UnId,JoCo/{u},{j}/FiEntries/@EnNo/{n}`` (or ``@InId``), ``element``
    #: ``/FiEntryPar/@Year,…/{year},…`` (keys on the entry itself, as in the spec).
    entry_delete_forms: list[EntryDeleteForm] = Field(default_factory=lambda: ["nested", "element"])
    #: UpdateConnectors whose POST writes the record and then loses the answer: the
    #: connection is reset, the record exists (a time-out after AFAS wrote).
    answer_lost_after_write: list[str] = Field(default_factory=list)
    #: FiEntries' 201 answer carries the invoice number (``InId``) besides ``UnId``, ``EnNo``
    #: (AFAS's how-to and spec show it, one client's observation does not: §6.2).
    entry_answer_has_invoice_id: bool = True
    #: Whether a relation that still has entries may be deleted (ours: AFAS refuses).
    relation_with_entries_deletable: bool = False
    #: A value longer than metainfo's ``length``: refused (500) or stored (undocumented).
    too_long_values: Literal["refuse", "accept"] = "refuse"
    #: A field id the connector does not have: accepted and ignored, or refused
    #: (undocumented; ``refuse`` is what an environment without that field would do).
    unknown_fields: Literal["accept", "refuse"] = "accept"
    #: ``metainfo/update`` leaves out these fields: connector id -> ``Object.Field`` paths
    #: below the root element (``FiEntries.BpDa``) or root field ids (``Year``).
    update_schema_removed: dict[str, list[str]] = Field(default_factory=dict)
    #: ``metainfo/update`` reports another dataType: connector id -> path -> dataType.
    update_schema_retyped: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: ``english``: the GetConnectors an export reads use other field ids, English labels.
    column_variant: Literal["standard", "english"] = "standard"
    #: An AFAS administrator's edits of connector fields, applied in order to the metainfo,
    #: the rows and the update engine (field_changes.py): drift after a baseline was taken.
    field_changes: list[FieldChange] = Field(default_factory=list)

    #: Replaces the built-in rows of a GetConnector in this environment.
    connector_rows: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    subject_attachments: list[SubjectAttachment] = Field(default_factory=_default_attachments)
    files: list[ConnectorFile] = Field(default_factory=_default_files)
    reports: list[Report] = Field(default_factory=_default_reports)

    @model_validator(mode="before")
    @classmethod
    def _derive_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and "token_data" not in data and "name" in data:
            data = {**data, "token_data": derive_token_data(str(data["name"]))}
        return data

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError("must be a slug: lowercase letters, digits and '-'")
        return value

    @field_validator("number", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> str:
        text = str(value).strip() if isinstance(value, int | str) else ""
        if not re.fullmatch(r"[0-9]{1,9}", text) or isinstance(value, bool):
            raise ValueError("must be an environment number: digits only, such as 12345")
        return text

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> EnvironmentKind:
        if isinstance(value, EnvironmentKind):
            return value
        return EnvironmentKind.parse(str(value))

    @field_validator("token_data", "extra_tokens", "revoked_tokens")
    @classmethod
    def _token_shape(cls, value: str | list[str]) -> str | list[str]:
        for data in [value] if isinstance(value, str) else value:
            try:
                AfasToken(data)
            except TokenFormatError as exc:
                raise ValueError("token data must be 16 to 1024 hexadecimal characters") from exc
        return value

    @field_validator("token_expiry", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> str:
        text = str(value).strip()
        relative = _RELATIVE_TIME.fullmatch(text)
        if relative:
            sign, amount, unit = relative.groups()
            delta = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
            offset = delta[unit] * int(amount) * (-1 if sign == "-" else 1)
            return (datetime.now(UTC).replace(microsecond=0) + offset).strftime(_ISO_UTC)
        return text

    @model_validator(mode="after")
    def _schema_paths_exist(self) -> SandboxEnvironment:
        changed = [(c, p) for c, paths in self.update_schema_removed.items() for p in paths]
        changed += [(c, p) for c, paths in self.update_schema_retyped.items() for p in paths]
        for connector_id, path in changed:
            spec = UPDATE_CONNECTORS.get(connector_id)
            if spec is None:
                raise ValueError(f"update_schema: {connector_id!r} is not a known UpdateConnector")
            *names, field_id = path.split(".")
            obj: UpdateObject | None = spec.root
            for name in names:
                obj = obj.object(name) if obj is not None else None
            if obj is None or obj.field(field_id) is None:
                raise ValueError(f"update_schema: {connector_id} has no field {path!r}")
        return self

    @model_validator(mode="after")
    def _field_changes_apply(self) -> SandboxEnvironment:
        try:
            check_changes(self.field_changes, column_variant=self.column_variant)
        except FieldChangeError as exc:
            raise ValueError(str(exc)) from None
        return self

    def edit_field(
        self,
        connector: str,
        field: str,
        *,
        remove: bool = False,
        rename_to: str | None = None,
        retype_to: str | None = None,
    ) -> FieldChange:
        """Edit a connector field from now on, as the customer's AFAS administrator would:
        the next request sees it. ``FieldChangeError`` (nothing changed) when the connector or
        field is not there."""
        change = FieldChange(
            connector=connector,
            field=field,
            remove=remove,
            rename_to=rename_to,
            retype_to=retype_to,
        )
        changes = [*self.field_changes, change]
        check_changes(changes, column_variant=self.column_variant)  # before: nothing half-done
        self.field_changes = changes
        return change

    @field_validator("fault_paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        return ["/" + p.strip().strip("/").lower() for p in value]

    @property
    def effective_envid(self) -> str:
        return self.envid or f"{self.kind.letter}{self.number}AA"

    @property
    def host(self) -> str:
        """The host segment that serves this environment: rest, resttest or restaccept."""
        return self.kind.host

    def token(self) -> AfasToken:
        """The environment's own token (even when the scenario revoked it)."""
        return AfasToken(self.token_data)

    def environment(self) -> AfasEnvironment:
        return AfasEnvironment(self.number, self.kind)

    def base_url(self, url_template: str) -> str:
        """This environment's ProfitRestServices URL, from a template with {host} and {env}."""
        return self.environment().base_url(url_template)

    def accepts_token(self, data: str) -> bool:
        """Whether a token with this data is valid here (not revoked, not another's)."""
        if data in self.revoked_tokens:
            return False
        if data == self.token_data:
            return not self.token_revoked
        return data in self.extra_tokens


class Scenario(_Model):
    environments: list[SandboxEnvironment]

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        names: set[str] = set()
        addresses: set[tuple[str, str]] = set()
        for env in self.environments:
            if env.name in names:
                raise ValueError(f"two environments are named {env.name!r}")
            address = (env.kind.host, env.number)
            if address in addresses:
                raise ValueError(f"two {env.kind.value} environments have number {env.number}")
            names.add(env.name)
            addresses.add(address)
        return self

    def by_name(self, name: str) -> SandboxEnvironment:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(env.name for env in self.environments)
        raise KeyError(f"No sandbox environment {name!r}; known: {known}")

    def find(self, host: str, number: str) -> SandboxEnvironment | None:
        """The environment served at this host segment and number, if any."""
        for env in self.environments:
            if env.number == number and env.kind.host == host:
                return env
        return None

    def serves_number(self, number: str) -> bool:
        """Whether some environment has this number (under any host segment)."""
        return any(env.number == number for env in self.environments)


def _format_error(error: dict[str, Any], data: Any, source: str) -> str:
    parts: list[str] = []
    node = data
    for item in error["loc"]:
        if isinstance(item, int):
            label = f"[{item}]"
            node = node[item] if isinstance(node, list) and item < len(node) else None
            if isinstance(node, dict) and "name" in node:
                label += f" ({node['name']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    where = "".join(parts) or "(top level)"
    return f"{source}: {where}: {error['msg']}"


def scenario_from_dict(data: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate a parsed scenario; errors name the source and the bad field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [_format_error(e, data, source) for e in exc.errors()]
        raise ScenarioError("\n".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file (top-level ``[[environments]]`` tables)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return scenario_from_dict(data, str(path))


def _default_environment_data() -> list[dict[str, Any]]:
    text = resources.files(__package__).joinpath("default_scenario.toml").read_text("utf-8")
    return tomllib.loads(text)["environments"]


def default_scenario() -> Scenario:
    """The built-in scenario: 10001 to 10018 for checks, 10020 to 10031 for exports."""
    return scenario_from_dict(
        {"environments": _default_environment_data()}, "default_scenario.toml"
    )


_NOT_FOR_BENCHMARKS = frozenset({"slow", "unreachable"})
#: The export environments differ only when writing; the check benchmarks leave them out.
_EXPORT_PREFIX = "export-"


def generate_environments(
    n: int,
    *,
    mix: Literal["healthy", "mixed"],
    latency_ms: int = 0,
    start_number: int = 20001,
) -> list[SandboxEnvironment]:
    """``n`` environments for benchmarks, numbered from ``start_number``.

    ``healthy`` copies the healthy environment; ``mixed`` cycles through the default
    environments except ``slow``, ``unreachable`` and the ``export-…`` ones. Names are
    ``<template>-<number>``.
    """
    if n < 0:
        raise ValueError("n must be zero or more")
    templates = _default_environment_data()
    if mix == "healthy":
        pool = [t for t in templates if t["name"] == "healthy"]
    elif mix == "mixed":
        pool = [
            t
            for t in templates
            if t["name"] not in _NOT_FOR_BENCHMARKS and not t["name"].startswith(_EXPORT_PREFIX)
        ]
    else:
        raise ValueError(f"mix must be 'healthy' or 'mixed', not {mix!r}")
    result = []
    for i in range(n):
        data = copy.deepcopy(pool[i % len(pool)])
        number = start_number + i
        data["name"] = f"{data['name']}-{number}"
        data["number"] = number
        if "envid" in data:
            data["envid"] = f"{data['envid'][0]}{number}AA"
        data["latency_ms"] = data.get("latency_ms", 0) + latency_ms
        result.append(SandboxEnvironment.model_validate(data))
    return result
