"""Reading the registration form's submission: every field checked, errors by field, in the
reader's language. Pure. The token is parsed here and goes nowhere but into the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from afas.environments import AfasEnvironment, EnvironmentFormatError, EnvironmentKind
from afas.tokens import AfasToken, TokenFormatError
from bot.blocks.register import ACTION_ID, KINDS, FormValues
from bot.i18n import t
from storage.errors import InvalidOrgError
from storage.repository import normalize_org_key


@dataclass(frozen=True)
class SubmittedForm:
    key: str
    name: str
    environment: AfasEnvironment
    token: AfasToken
    replace: bool
    channel: str | None
    owner: str | None
    notes: str

    def __repr__(self) -> str:  # the token's own repr is safe; keep the rest short too
        return f"SubmittedForm(key={self.key!r}, environment={self.environment.label!r})"


def form_values(state: dict[str, Any]) -> FormValues:
    """Everything the form held except the token (to show the form again)."""

    def field(block: str) -> dict[str, Any]:
        return (state.get(block) or {}).get(ACTION_ID) or {}

    kind = (field("kind").get("selected_option") or {}).get("value") or KINDS[0]
    return FormValues(
        key=(field("key").get("value") or "").strip(),
        name=(field("name").get("value") or "").strip(),
        environment=(field("environment").get("value") or "").strip(),
        kind=kind if kind in KINDS else KINDS[0],
        replace=bool(field("replace").get("selected_options")),
        channel=field("channel").get("selected_conversation"),
        owner=field("owner").get("selected_user"),
        notes=(field("notes").get("value") or "").strip(),
    )


def read_submission(
    state: dict[str, Any], *, language: str
) -> tuple[SubmittedForm | None, dict[str, str]]:
    """The registration, or the errors to show next to each field (block id -> message)."""
    values = form_values(state)
    errors: dict[str, str] = {}
    key = environment = token = None
    try:
        key = normalize_org_key(values.key)
    except InvalidOrgError:
        errors["key"] = t("error.invalid_key", language)
    if not values.name:
        errors["name"] = t("register.name_missing", language)
    try:
        environment = AfasEnvironment.parse(values.environment, EnvironmentKind(values.kind))
    except EnvironmentFormatError as exc:
        mismatch = exc.reason == "kind_mismatch"
        errors["environment"] = t(
            "register.kind_mismatch" if mismatch else "register.bad_environment", language
        )
    raw_token = ((state.get("token") or {}).get(ACTION_ID) or {}).get("value") or ""
    try:
        token = AfasToken.parse(raw_token)
    except TokenFormatError:
        errors["token"] = t("register.bad_token", language)
    if errors:
        return None, errors
    return (
        SubmittedForm(
            key=key,
            name=values.name,
            environment=environment,
            token=token,
            replace=values.replace,
            channel=values.channel,
            owner=values.owner,
            notes=values.notes,
        ),
        {},
    )
