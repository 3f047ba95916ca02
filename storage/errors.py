"""Domain errors of the storage layer.

One base, ``StorageError``; every message is one friendly line in English and never holds a
token, a ciphertext or key material. The attributes carry the facts (org key, suggestions,
key ids) so that the bot can render its own, translated text.
"""

from __future__ import annotations

from collections.abc import Sequence


class StorageError(Exception):
    """Base of every error the storage layer raises on purpose."""


# --- configuration and schema -------------------------------------------------------------


class KeyConfigError(StorageError):
    """The token encryption keys are missing, malformed, or cannot read the stored tokens."""


class SchemaError(StorageError):
    """The database schema does not match this version of afasbot."""


class SchemaOutdatedError(SchemaError):
    """The database is empty or behind: ``afasbot db upgrade`` fixes it."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer afasbot than this one."""


# --- tokens -------------------------------------------------------------------------------


class TokenDecryptError(StorageError):
    """A stored token cannot be decrypted: wrong key, or the stored value was altered."""

    def __init__(self, message: str, *, org_key: str | None = None) -> None:
        super().__init__(message)
        self.org_key = org_key


# --- orgs ---------------------------------------------------------------------------------


class InvalidOrgError(StorageError):
    """An org's field does not have an accepted shape. ``field`` names it; ``reason`` is
    ``"shape"``, or ``"secret"`` when the field seems to hold a token."""

    def __init__(self, message: str, *, field: str, reason: str = "shape") -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


class DuplicateOrgError(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"An org with key {key!r} is already registered; "
            "register it again with token replacement to rotate its token."
        )
        self.key = key


class UnknownOrgError(StorageError):
    """No org has this key. ``suggestions`` holds the nearest known keys."""

    def __init__(self, key: str | None, suggestions: Sequence[str], *, known: int) -> None:
        # ``key`` is None when the input did not even look like a key: then it is not repeated
        # (an agent may have pasted something else, such as a token, into the key field).
        subject = f"with key {key!r}" if key is not None else "with that key"
        if suggestions:
            hint = " Did you mean " + _or_list(suggestions) + "?"
        elif known == 0:
            hint = " No orgs are registered yet."
        else:
            hint = ""
        super().__init__(f"No org is registered {subject}.{hint}")
        self.key = key
        self.suggestions = tuple(suggestions)


# --- incidents and outbox -----------------------------------------------------------------


class UnknownIncidentError(StorageError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"Incident {incident_id} does not exist.")
        self.incident_id = incident_id


class ExportBusyError(StorageError):
    """A live export of this org is unfinished (running, or interrupted and waiting for its
    cleanup); ``run_id``, ``requested_by`` and ``started_at`` say which."""

    def __init__(self, org_key: str, run_id: str, requested_by: str, started_at: object) -> None:
        super().__init__(
            f"A live test export of {org_key!r} (run {run_id}) is unfinished: "
            "finish it with the clean-up first."
        )
        self.org_key, self.run_id = org_key, run_id
        self.requested_by, self.started_at = requested_by, started_at


class UnknownExportRunError(StorageError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"Export run {run_id!r} does not exist.")
        self.run_id = run_id


class UnsafeAuditDetailsError(StorageError):
    """Audit details held something that looks like a secret; nothing was written."""


def _or_list(items: Sequence[str]) -> str:
    quoted = [repr(item) for item in items]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
