"""AFAS environments: the environment number, its kind, and the base URL built from them.

The environment number is the only part of an AFAS URL that comes from user input, so it is
reduced to digits here and nothing else reaches the URL (afas-api.md §1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_URL_TEMPLATE = "https://{env}.{host}.afas.online/ProfitRestServices"


class EnvironmentFormatError(ValueError):
    """Bad environment number, code or kind: the message says what is accepted; ``reason``
    says which rule it broke (``"shape"``, ``"kind_missing"`` or ``"kind_mismatch"``), so no
    caller reads the message."""

    def __init__(self, message: str, *, reason: str = "shape") -> None:
        super().__init__(message)
        self.reason = reason


class EnvironmentKind(StrEnum):
    PRODUCTION = "production"
    TEST = "test"
    ACCEPTANCE = "acceptance"

    @property
    def host(self) -> str:
        return _HOSTS[self]

    @property
    def letter(self) -> str:
        return _LETTERS[self]

    def name_in(self, language: str = "en") -> str:
        """The kind in the reader's language: productie, test, acceptatie for Dutch readers."""
        return _NAMES["nl" if language == "nl" else "en"][self]

    @classmethod
    def parse(cls, text: str) -> EnvironmentKind:
        kind = _KIND_ALIASES.get(text.strip().lower())
        if kind is None:
            raise EnvironmentFormatError(
                f"Unknown environment kind {text.strip()[:20]!r}: "
                "use production, test or acceptance."
            )
        return kind


_HOSTS = {
    EnvironmentKind.PRODUCTION: "rest",
    EnvironmentKind.TEST: "resttest",
    EnvironmentKind.ACCEPTANCE: "restaccept",
}
_LETTERS = {
    EnvironmentKind.PRODUCTION: "O",
    EnvironmentKind.TEST: "T",
    EnvironmentKind.ACCEPTANCE: "A",
}
_NAMES = {
    "nl": {
        EnvironmentKind.PRODUCTION: "productie",
        EnvironmentKind.TEST: "test",
        EnvironmentKind.ACCEPTANCE: "acceptatie",
    },
    "en": {
        EnvironmentKind.PRODUCTION: "production",
        EnvironmentKind.TEST: "test",
        EnvironmentKind.ACCEPTANCE: "acceptance",
    },
}
_KIND_ALIASES = {
    "production": EnvironmentKind.PRODUCTION,
    "prod": EnvironmentKind.PRODUCTION,
    "productie": EnvironmentKind.PRODUCTION,
    "o": EnvironmentKind.PRODUCTION,
    "rest": EnvironmentKind.PRODUCTION,
    "test": EnvironmentKind.TEST,
    "t": EnvironmentKind.TEST,
    "resttest": EnvironmentKind.TEST,
    "acceptance": EnvironmentKind.ACCEPTANCE,
    "accept": EnvironmentKind.ACCEPTANCE,
    "acceptatie": EnvironmentKind.ACCEPTANCE,
    "a": EnvironmentKind.ACCEPTANCE,
    "restaccept": EnvironmentKind.ACCEPTANCE,
}
_NUMBER = re.compile(r"[0-9]{1,9}")
_CODE = re.compile(r"([OTAota])([0-9]{1,9})([A-Za-z]{2})?")
_KIND_BY_LETTER = {v: k for k, v in _LETTERS.items()}


@dataclass(frozen=True, slots=True)
class AfasEnvironment:
    """One AFAS environment: a number (digits only) and a kind (production, test, acceptance)."""

    number: str
    kind: EnvironmentKind

    def __post_init__(self) -> None:
        if not _NUMBER.fullmatch(self.number):
            raise EnvironmentFormatError(
                "The environment number must be digits only, such as 12345."
            )

    @classmethod
    def parse(cls, env: str, kind: str | EnvironmentKind | None = None) -> AfasEnvironment:
        """Accept ``12345`` (kind required) or an environment code such as ``T12345AA``.

        A code's letter gives the kind; if a kind is also given, the two must agree.
        """
        text = env.strip()
        given = (
            kind
            if isinstance(kind, EnvironmentKind) or kind is None
            else EnvironmentKind.parse(kind)
        )
        if _NUMBER.fullmatch(text):
            if given is None:
                raise EnvironmentFormatError(
                    "Give the environment kind (production, test or acceptance) "
                    "or an environment code such as O12345AA.",
                    reason="kind_missing",
                )
            return cls(text, given)
        code = _CODE.fullmatch(text)
        if code is None:
            raise EnvironmentFormatError(
                "The environment must be a number such as 12345 "
                "or an environment code such as O12345AA, T12345AA or A12345AA."
            )
        from_code = _KIND_BY_LETTER[code.group(1).upper()]
        if given is not None and given is not from_code:
            raise EnvironmentFormatError(
                f"The environment code {text} is a {from_code.value} environment, "
                f"not {given.value}.",
                reason="kind_mismatch",
            )
        return cls(code.group(2), from_code)

    @property
    def label(self) -> str:
        """Short display form in English, such as ``12345 (production)``: logs, the CLI, audit."""
        return self.label_in("en")

    def label_in(self, language: str = "en") -> str:
        """Short display form in the reader's language: ``12345 (productie)`` for Dutch."""
        return f"{self.number} ({self.kind.name_in(language)})"

    def base_url(self, template: str = DEFAULT_URL_TEMPLATE) -> str:
        """The ProfitRestServices base URL, from a template with ``{env}`` and ``{host}``."""
        return template.format(env=self.number, host=self.kind.host).rstrip("/")

    def matches_envid(self, envid: str) -> bool | None:
        """Whether AFAS's ``info.envid`` (such as ``O12345AA``) is this environment.

        None when the envid has a shape we do not recognise (then nothing can be said).
        """
        code = _CODE.fullmatch(envid.strip())
        if code is None:
            return None
        return code.group(2) == self.number and _KIND_BY_LETTER[code.group(1).upper()] is self.kind


def validate_url_template(template: str) -> str:
    """Reject a template without both placeholders or with unknown ones."""
    try:
        url = template.format(env="12345", host="rest")
    except (KeyError, IndexError, ValueError) as exc:
        raise EnvironmentFormatError(
            "AFASBOT_AFAS_URL_TEMPLATE may only use the placeholders {env} and {host}."
        ) from exc
    if "{env}" not in template or "{host}" not in template:
        raise EnvironmentFormatError("AFASBOT_AFAS_URL_TEMPLATE must contain {env} and {host}.")
    if not url.startswith(("http://", "https://")):
        raise EnvironmentFormatError(
            "AFASBOT_AFAS_URL_TEMPLATE must start with http:// or https://."
        )
    return template
