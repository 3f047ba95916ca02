"""The requirements profile (what the setup guide asks) and the check's message catalogue.

Both are data files shipped in the package (``afas/profiles/``), validated when loaded. Another
profile can be given by path; the catalogue is shared by all profiles.
"""

from __future__ import annotations

import re
import string
import tomllib
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from afas.client import CONNECTOR_ID

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")
DEFAULT_PROFILE = "smartbooqing"
_ENDPOINT = re.compile(r"/[A-Za-z0-9/_\-]{1,200}")


class ProfileError(ValueError):
    """The profile file is missing or invalid; the message says which entry and why."""


class RequirementKind(StrEnum):
    TOKEN = "token"
    APP_CONNECTOR_UNBLOCKED = "app_connector_unblocked"
    IP_ALLOWED = "ip_allowed"
    ENVIRONMENT_MATCH = "environment_match"
    TOKEN_EXPIRY = "token_expiry"
    GET_CONNECTOR = "get_connector"
    UPDATE_CONNECTOR = "update_connector"
    SPECIAL_CONNECTOR = "special_connector"
    NOT_CHECKABLE = "not_checkable"


CONNECTOR_KINDS = frozenset(
    {
        RequirementKind.GET_CONNECTOR,
        RequirementKind.UPDATE_CONNECTOR,
        RequirementKind.SPECIAL_CONNECTOR,
    }
)


class LocalText(BaseModel):
    """One text in Dutch and English."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    nl: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.nl

    def format(self, **values: object) -> LocalText:
        """Fill in placeholders; a ``LocalText`` value is filled in in the same language."""
        nl = {k: v.nl if isinstance(v, LocalText) else v for k, v in values.items()}
        en = {k: v.en if isinstance(v, LocalText) else v for k, v in values.items()}
        # Not validated again: both come from validated templates (a check formats about 30
        # texts, and validating each cost more than formatting it).
        return LocalText.model_construct(nl=self.nl.format(**nl), en=self.en.format(**en))

    def as_dict(self) -> dict[str, str]:
        """``model_dump()``'s result, without its machinery (every run stores ~90 texts)."""
        return {"nl": self.nl, "en": self.en}


class Requirement(BaseModel):
    """One thing the guide asks, with where it asks it and how to fix it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,80}$")]
    kind: RequirementKind
    guide_section: Annotated[str, Field(min_length=1)]
    title: LocalText
    connector: str | None = None
    aliases: tuple[str, ...] = ()
    endpoint: str | None = None
    source_file: str | None = None
    fix: LocalText | None = None
    not_checkable_reason: LocalText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Requirement:
        if self.kind in CONNECTOR_KINDS:
            if not self.connector or not CONNECTOR_ID.fullmatch(self.connector):
                raise ValueError("a connector requirement needs a valid `connector` id")
        elif self.connector:
            raise ValueError(f"a {self.kind.value} requirement has no `connector`")
        if self.endpoint is not None and (
            self.kind is not RequirementKind.SPECIAL_CONNECTOR
            or not _ENDPOINT.fullmatch(self.endpoint)
            or ".." in self.endpoint
        ):
            raise ValueError("`endpoint` is a fixed path such as /profitversion, special only")
        if self.kind is RequirementKind.NOT_CHECKABLE and self.not_checkable_reason is None:
            raise ValueError("a not_checkable requirement needs `not_checkable_reason`")
        if (
            self.kind is RequirementKind.SPECIAL_CONNECTOR
            and self.endpoint is None
            and self.not_checkable_reason is None
        ):
            raise ValueError("a special connector needs an `endpoint` or `not_checkable_reason`")
        if (
            self.kind not in CONNECTOR_KINDS
            and self.kind is not RequirementKind.NOT_CHECKABLE
            and self.fix is None
        ):
            raise ValueError(f"a {self.kind.value} requirement needs a `fix`")
        return self


class Profile(BaseModel):
    """A named list of requirements."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    description: str = ""
    guide: str = ""
    #: The export's payload templates, a file beside the profile (afas/exports/templates.py).
    exports: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,100}\.toml$")] | None = None
    requirements: Annotated[tuple[Requirement, ...], Field(alias="requirement", min_length=1)]
    _source_directory: Path | None = PrivateAttr(default=None)

    @property
    def source_directory(self) -> Path | None:
        """The folder of a profile loaded from a path (None: built in), for its side files."""
        return self._source_directory

    @model_validator(mode="after")
    def _unique(self) -> Profile:
        seen: set[str] = set()
        connectors: set[tuple[str, str]] = set()
        for requirement in self.requirements:
            if requirement.id in seen:
                raise ValueError(f"requirement id {requirement.id!r} appears twice")
            seen.add(requirement.id)
            if requirement.connector:
                key = (requirement.kind.value, requirement.connector)
                if key in connectors:
                    raise ValueError(f"connector {requirement.connector!r} is required twice")
                connectors.add(key)
        for kind in (RequirementKind.TOKEN,):
            if not any(r.kind is kind for r in self.requirements):
                raise ValueError(f"a profile needs a {kind.value} requirement")
        return self

    def of_kind(self, kind: RequirementKind) -> list[Requirement]:
        return [r for r in self.requirements if r.kind is kind]

    def by_id(self, requirement_id: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.id == requirement_id:
                return requirement
        raise KeyError(requirement_id)


class Catalogue(BaseModel):
    """The check's texts: fixes, findings, near-miss reasons, overall states."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    fix: dict[str, LocalText]
    found: dict[str, LocalText]
    reason: dict[str, LocalText]
    overall: dict[str, LocalText]

    @model_validator(mode="after")
    def _same_placeholders(self) -> Catalogue:
        for section, texts in (("fix", self.fix), ("found", self.found), ("reason", self.reason)):
            for key, text in texts.items():
                if _placeholders(text.nl) != _placeholders(text.en):
                    raise ValueError(f"{section}.{key}: Dutch and English use other placeholders")
        return self


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def load_profile(path: str | Path | None = None) -> Profile:
    """The built-in profile, or the one at ``path``."""
    if path is None:
        return _builtin_profile()
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ProfileError(f"Cannot read the profile {path}: {exc.strerror}") from None
    profile = _parse_profile(raw, str(path))
    profile._source_directory = Path(path).parent
    return profile


@cache
def _builtin_profile() -> Profile:
    raw = resources.files("afas.profiles").joinpath(f"{DEFAULT_PROFILE}.toml").read_bytes()
    return _parse_profile(raw, f"built-in profile {DEFAULT_PROFILE}")


def _parse_profile(raw: bytes, origin: str) -> Profile:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return Profile.model_validate(data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"The profile {origin} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise ProfileError(f"The profile {origin} is invalid: {_first_error(exc, data)}") from None


def _first_error(exc: ValidationError, data: dict) -> str:
    error = exc.errors()[0]
    location = list(error["loc"])
    where = ".".join(str(part) for part in location)
    if len(location) >= 2 and location[0] == "requirement" and isinstance(location[1], int):
        entries = data.get("requirement", [])
        if location[1] < len(entries):
            where = f"requirement {entries[location[1]].get('id', location[1])!r}"
            where += "".join(f".{part}" for part in location[2:])
    return f"{where}: {error['msg']}"


@cache
def load_catalogue() -> Catalogue:
    raw = resources.files("afas.profiles").joinpath("messages.toml").read_bytes()
    return Catalogue.model_validate(tomllib.loads(raw.decode("utf-8")))
