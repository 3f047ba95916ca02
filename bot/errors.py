"""The bot's error taxonomy: one exception per kind of failure a person is told about.

Listeners and services raise these (or let a storage or AFAS error through); one place per
surface turns them into the reader's language (``bot/slack/errors.py`` for Slack, the CLI's
``user_errors`` for the terminal). No logic reads an exception's text: the attributes carry
the facts (a catalogue key, its values, the org key, the suggestions, the role needed), and
no exception text ever holds a token.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from enum import IntEnum

from storage.errors import (
    DuplicateOrgError,
    InvalidOrgError,
    KeyConfigError,
    StorageError,
    TokenDecryptError,
    UnknownIncidentError,
    UnknownOrgError,
)


class Role(IntEnum):
    """Who may do what (product.md): higher includes lower."""

    EVERYONE = 0
    AGENT = 1
    ADMIN = 2


class BotError(Exception):
    """A failure the person who asked is told about. ``key`` is a catalogue key
    (bot/i18n/catalogue.toml) and ``values`` fill its placeholders."""

    key: str = "error.internal"

    def __init__(self, key: str | None = None, **values: object) -> None:
        self.key = key or type(self).key
        self.values: Mapping[str, object] = values
        super().__init__(self.key)  # the key, never user input or a secret


class UserError(BotError):
    """Bad or out-of-date input: the message says what to do; nothing was changed.

    ``fields`` maps a form's block ids to catalogue keys, for errors shown next to fields.
    """

    key = "error.bad_input"

    def __init__(
        self, key: str | None = None, *, fields: Mapping[str, str] | None = None, **values: object
    ) -> None:
        super().__init__(key, **values)
        self.fields: Mapping[str, str] = dict(fields or {})


class PermissionRefused(BotError):
    """The person's role is below what the action needs."""

    key = "error.not_allowed"

    def __init__(self, needed: Role, *, action: str) -> None:
        super().__init__(None, action=action)
        self.needed = needed
        self.action = action  # a catalogue key naming the action ("action.register")


class UnknownOrg(BotError):
    """No org has this key (any more). ``key_given`` is None when the input was not a key."""

    key = "error.unknown_org"

    def __init__(self, key_given: str | None, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(None)
        self.key_given = key_given
        self.suggestions = suggestions


class AfasProblem(BotError):
    """AFAS could not be asked or refused in a way the person should hear about as such."""

    key = "error.afas"


class ConfigurationProblem(BotError):
    """The bot's own setup is wrong (token keys): an admin must act."""

    key = "error.token_unreadable"


class InternalError(BotError):
    """Anything else: logged with its reference, shown only as the reference."""

    key = "error.internal_ref"

    def __init__(self, reference: str | None = None) -> None:
        self.reference = reference or new_reference()
        super().__init__(None, reference=self.reference)


def new_reference() -> str:
    """A short id that ties a person's "something went wrong" to the log line."""
    return secrets.token_hex(4)


#: Storage's field names as the registration form's block ids.
FORM_FIELDS = {"display_name": "name", "alert_channel": "channel", "cs_owner": "owner"}


def as_bot_error(error: BaseException) -> BotError:
    """Any exception as one of the taxonomy's kinds (the one mapping seam for storage's)."""
    if isinstance(error, BotError):
        return error
    if isinstance(error, UnknownOrgError):
        return UnknownOrg(error.key, tuple(error.suggestions))
    if isinstance(error, InvalidOrgError):
        key = {"secret": "error.invalid_secret", "control": "bad_input.control_characters"}.get(
            error.reason, f"error.invalid_{error.field}"
        )
        return UserError(key, fields={FORM_FIELDS.get(error.field, error.field): key})
    if isinstance(error, DuplicateOrgError):
        return UserError("register.duplicate")
    if isinstance(error, UnknownIncidentError):
        return UserError("error.incident_gone")
    if isinstance(error, TokenDecryptError | KeyConfigError):
        return ConfigurationProblem()
    if isinstance(error, StorageError):
        return InternalError()
    return InternalError()
