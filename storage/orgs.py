"""Orgs: registration (and token replacement), lookup with suggestions, settings, removal.

Style of every repository module: functions take a ``Session`` and work inside its
transaction; they flush (so errors surface here, as domain errors) but do not commit: the
caller's ``session_scope`` commits the change together with its audit event. The exceptions
(``claim_*``, ``rotate_tokens``) say so.

A replaced or removed token is destroyed, not just unlinked: those functions mark the session
(``storage.db.erase_freed_after_commit``) so that, once it commits, the database's files no
longer hold the old ciphertext (SQLite: ``secure_delete`` and a WAL checkpoint).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.tokens import AfasToken
from storage.audit import add_audit_event, normalize_actor
from storage.crypto import TokenCipher
from storage.datetimes import utcnow
from storage.db import erase_freed_after_commit
from storage.errors import DuplicateOrgError, InvalidOrgError, UnknownOrgError
from storage.models import (
    NAME_MAX,
    ORG_KEY_MAX,
    CheckDay,
    CheckRun,
    Incident,
    Org,
    OutboxMessage,
)
from storage.secrecy import looks_like_secret

#: The default check interval when no setting says otherwise (``AFASBOT_CHECK_INTERVAL_SECONDS``
#: is the setting; an org without an interval of its own stores NULL and follows it).
DEFAULT_CHECK_INTERVAL_SECONDS: Final = 900
#: Bounds of an org's own check interval (product: 5 minutes to 1 day). A value stored before
#: the bounds were narrowed stays as it is until someone changes it.
MIN_CHECK_INTERVAL_SECONDS: Final = 5 * 60
MAX_CHECK_INTERVAL_SECONDS: Final = 24 * 3600
NOTES_MAX: Final = 4000

_KEY = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_SLACK_CHANNEL_ID = re.compile(r"[A-Z0-9]{2,64}")
KEY_RULE = (
    f"An org key is 2–{ORG_KEY_MAX} characters: lowercase letters, digits and dashes, "
    "starting and ending with a letter or digit (such as acme-bv)."
)


class DefaultInterval(Protocol):
    """What knows the default interval: the bot's settings (``check_interval_seconds``)."""

    @property
    def check_interval_seconds(self) -> int: ...


def effective_interval(org: Org, default: int | DefaultInterval) -> int:
    """The org's check interval in seconds: its own, or else the default (a number, or the
    settings' ``check_interval_seconds``). Every reader of the interval goes through here."""
    if org.check_interval_seconds is not None:
        return org.check_interval_seconds
    return default if isinstance(default, int) else default.check_interval_seconds


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True)
class OrgRegistration:
    """The result of ``add_org`` / ``replace_token``: ``replaced`` says an existing org's token
    was replaced (rotation); ``previous_fingerprint`` is the old token's fingerprint then."""

    org: Org
    replaced: bool
    previous_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class RemovedOrg:
    key: str
    display_name: str
    token_fingerprint: str
    check_runs_deleted: int
    incidents_deleted: int
    open_incidents_closed: int = 0  # of the incidents deleted, those still open
    messages_dropped: int = 0  # outbox messages about the org not yet sent, now never sent


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One setting changed by ``edit_org``: its storage name, the old and the new value."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class OrgEdit:
    """The result of ``edit_org``: the org as it is now, and what changed (in form order)."""

    org: Org
    changes: tuple[FieldChange, ...]

    @property
    def changed_fields(self) -> list[str]:
        return [change.field for change in self.changes]


# --- validation ---------------------------------------------------------------------------


def normalize_org_key(text: str) -> str:
    """The key as stored: stripped and lowercased; ``InvalidOrgError`` if it is not a key.

    The message never repeats the input (an agent may have pasted something else there).
    """
    key = text.strip().lower() if isinstance(text, str) else ""
    if not (2 <= len(key) <= ORG_KEY_MAX and _KEY.fullmatch(key)):
        raise InvalidOrgError(KEY_RULE, field="key")
    return key


def _display_name(text: str) -> str:
    name = " ".join(_no_control(text or "", "display_name", "The display name holds").split())
    if not name:
        raise InvalidOrgError("Give the org a display name.", field="display_name")
    if len(name) > NAME_MAX:
        raise InvalidOrgError(
            f"The display name is longer than {NAME_MAX} characters.", field="display_name"
        )
    return _no_secret(name, "display_name")


def _alert_channel(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    channel = text.strip()
    if not _SLACK_CHANNEL_ID.fullmatch(channel):
        raise InvalidOrgError(
            "The alert channel must be a Slack channel id, such as C0123456789.",
            field="alert_channel",
        )
    return channel


def _cs_owner(text: str | None) -> str | None:
    if text is None:
        return None
    owner = " ".join(_no_control(text, "cs_owner", "The customer-success owner holds").split())
    if not owner:
        return None
    if len(owner) > NAME_MAX:
        raise InvalidOrgError(
            f"The customer-success owner is longer than {NAME_MAX} characters.", field="cs_owner"
        )
    return _no_secret(owner, "cs_owner")


def _notes(text: str | None) -> str:
    notes = _no_control(
        (text or "").replace("\r\n", "\n").replace("\r", "\n"),
        "notes",
        "The notes hold",
        lines=True,
    ).strip()
    if len(notes) > NOTES_MAX:
        raise InvalidOrgError(f"The notes are longer than {NOTES_MAX} characters.", field="notes")
    return _no_secret(notes, "notes")


def _interval(seconds: int | None) -> int | None:
    """An org's own interval, bounded; None (or an empty text) is "no interval of its own"."""
    if seconds is None or (isinstance(seconds, str) and not seconds.strip()):
        return None
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        value = -1
    if not (MIN_CHECK_INTERVAL_SECONDS <= value <= MAX_CHECK_INTERVAL_SECONDS):
        raise InvalidOrgError(
            f"The check interval must be between {MIN_CHECK_INTERVAL_SECONDS // 60} minutes "
            f"and {MAX_CHECK_INTERVAL_SECONDS // 3600} hours.",
            field="check_interval_seconds",
        )
    return value


def _no_control(text: str, field: str, what: str, *, lines: bool = False) -> str:
    """``text``, or ``InvalidOrgError`` (reason ``control``) when it holds a control character:
    NUL, BEL, ESC (a terminal escape sequence), any other C0 or C1 character or DEL, or a
    bidirectional override (which shows a name other than the one stored). Notes may hold
    line breaks and tabs; a name is one line (its line breaks and tabs become spaces)."""
    allowed = "\t\n" if lines else "\t\n\r\x0b\x0c"
    if any(c not in allowed and (unicodedata.category(c) == "Cc" or c in _BIDI) for c in text):
        raise InvalidOrgError(
            f"{what} a control character (such as an escape sequence or a NUL); "
            "type it again without one.",
            field=field,
            reason="control",
        )
    return text


#: Unicode's bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _no_secret(text: str, field: str) -> str:
    if looks_like_secret(text):
        raise InvalidOrgError(
            "This field looks like it holds a token. A token goes only in the token field, "
            "where it is stored encrypted.",
            field=field,
            reason="secret",
        )
    return text


# --- registration -------------------------------------------------------------------------


def add_org(
    session: Session,
    *,
    key: str,
    display_name: str,
    environment: AfasEnvironment,
    token: AfasToken,
    cipher: TokenCipher,
    actor: str,
    alert_channel: str | None = None,
    cs_owner: str | None = None,
    notes: str = "",
    check_interval_seconds: int | None = None,
    replace_token: bool = False,
    now: datetime | None = None,
) -> OrgRegistration:
    """Register an org with its token, encrypted. The org is due for a check at once.
    Without ``check_interval_seconds`` it has no interval of its own (the default applies).

    An existing key raises ``DuplicateOrgError``, unless ``replace_token``: then this is a
    re-registration: the token is replaced (rotation) and the other given fields overwrite the
    stored ones; the result says ``replaced=True``. Writes an audit event.
    """
    now = now or utcnow()
    actor = normalize_actor(actor)
    key = normalize_org_key(key)
    fields: dict[str, Any] = {
        "display_name": _display_name(display_name),
        "env_number": environment.number,
        "env_kind": environment.kind.value,
        "alert_channel": _alert_channel(alert_channel),
        "cs_owner": _cs_owner(cs_owner),
        "notes": _notes(notes),
        "check_interval_seconds": _interval(check_interval_seconds),
    }
    existing = find_org(session, key)
    if existing is not None:
        if not replace_token:
            raise DuplicateOrgError(key)
        previous = existing.token_fingerprint
        changed = sorted(name for name, value in fields.items() if getattr(existing, name) != value)
        for name, value in fields.items():
            setattr(existing, name, value)
        _store_token(existing, token, cipher)
        existing.next_check_at = now
        _touch(existing, actor, now)
        session.flush()
        erase_freed_after_commit(session)
        add_audit_event(
            session,
            actor=actor,
            action="org.token_replaced",
            org_key=key,
            at=now,
            details={
                "previous_fingerprint": previous,
                "fingerprint": existing.token_fingerprint,
                "key_id": existing.token_key_id,
                "changed_fields": changed,
                "environment": environment.label,
            },
        )
        return OrgRegistration(existing, replaced=True, previous_fingerprint=previous)

    org = Org(key=key, **fields, created_by=actor, created_at=now, next_check_at=now)
    _store_token(org, token, cipher)
    _touch(org, actor, now)
    session.add(org)
    try:
        session.flush()
    except IntegrityError:
        # Another session registered the same key between our lookup and our insert. The
        # transaction is unusable now (PostgreSQL aborts it), so it is rolled back.
        session.rollback()
        raise DuplicateOrgError(key) from None
    add_audit_event(
        session,
        actor=actor,
        action="org.registered",
        org_key=key,
        at=now,
        details={
            "display_name": org.display_name,
            "environment": environment.label,
            "fingerprint": org.token_fingerprint,
            "key_id": org.token_key_id,
            "alert_channel": org.alert_channel,
            "cs_owner": org.cs_owner,
            "has_notes": bool(org.notes),
        },
    )
    return OrgRegistration(org, replaced=False)


def replace_token(
    session: Session,
    key: str,
    *,
    token: AfasToken,
    cipher: TokenCipher,
    actor: str,
    now: datetime | None = None,
) -> OrgRegistration:
    """Replace only the token of an existing org (the customer generated a new one). The old
    ciphertext is destroyed once the caller commits (see the module docstring)."""
    now = now or utcnow()
    org = get_org(session, key)
    previous = org.token_fingerprint
    _store_token(org, token, cipher)
    org.next_check_at = now
    _touch(org, actor, now)
    session.flush()
    erase_freed_after_commit(session)
    add_audit_event(
        session,
        actor=actor,
        action="org.token_replaced",
        org_key=org.key,
        at=now,
        details={
            "previous_fingerprint": previous,
            "fingerprint": org.token_fingerprint,
            "key_id": org.token_key_id,
            "changed_fields": [],
        },
    )
    return OrgRegistration(org, replaced=True, previous_fingerprint=previous)


def decrypt_token(org: Org, cipher: TokenCipher) -> AfasToken:
    """The org's token, decrypted: the only way to get a token back out of storage.

    ``TokenDecryptError`` (naming the org and the key id, never the value) when the configured
    keys cannot read it or the stored value was altered.
    """
    return cipher.decrypt(org.token_ciphertext, org_key=org.key, stored_key_id=org.token_key_id)


def _store_token(org: Org, token: AfasToken, cipher: TokenCipher) -> None:
    org.token_ciphertext, org.token_key_id = cipher.encrypt(token)
    org.token_fingerprint = token.fingerprint


def _touch(org: Org, actor: str, now: datetime) -> None:
    org.updated_by = normalize_actor(actor)
    org.updated_at = now


# --- lookup -------------------------------------------------------------------------------


def find_org(session: Session, key: str) -> Org | None:
    """The org with this key, or None (also for input that is not a key at all)."""
    try:
        key = normalize_org_key(key)
    except InvalidOrgError:
        return None
    return session.exec(select(Org).where(Org.key == key)).first()


def get_org_by_id(session: Session, org_id: int) -> Org:
    """The org with this id, freshly read (``UnknownOrgError`` when it was removed)."""
    org = session.get(Org, org_id, populate_existing=True)
    if org is None:
        raise UnknownOrgError(None, [], known=-1)
    return org


def get_org(session: Session, key: str) -> Org:
    """The org with this key, or ``UnknownOrgError`` listing the nearest known keys."""
    org = find_org(session, key)
    if org is not None:
        return org
    known = list(session.exec(select(Org.key).order_by(Org.key)).all())
    try:
        shown: str | None = normalize_org_key(key)
    except InvalidOrgError:
        shown = None
    probe = shown if shown is not None else (key or "").strip().lower()[:ORG_KEY_MAX]
    raise UnknownOrgError(shown, suggest_keys(probe, known), known=len(known))


def suggest_keys(key: str, known: list[str], limit: int = 3) -> list[str]:
    """Known keys near ``key``: close spellings first, then keys that contain it."""
    if not key:
        return []
    found = difflib.get_close_matches(key, known, n=limit, cutoff=0.6)
    if len(key) >= 2:
        found += [k for k in known if (key in k or k in key) and k not in found]
    return found[:limit]


def list_orgs(session: Session) -> list[Org]:
    """Every org, by key."""
    return list(session.exec(select(Org).order_by(Org.key)).all())


# --- settings -----------------------------------------------------------------------------


_SETTINGS: dict[str, Any] = {
    "display_name": _display_name,
    "alert_channel": _alert_channel,
    "cs_owner": _cs_owner,
    "notes": _notes,
    "check_interval_seconds": _interval,
}


def validate_settings(**given: Any) -> dict[str, InvalidOrgError]:
    """Every given setting's error, by storage field name (empty: all valid). So that a form
    can show all its errors at once, not one per submission. Nothing is read or written."""
    errors: dict[str, InvalidOrgError] = {}
    for name, value in given.items():
        try:
            _SETTINGS[name](value)
        except InvalidOrgError as error:
            errors[name] = error
    return errors


def edit_org(
    session: Session,
    key: str,
    *,
    actor: str,
    display_name: str | _Unset = UNSET,
    alert_channel: str | _Unset | None = UNSET,
    cs_owner: str | _Unset | None = UNSET,
    notes: str | _Unset = UNSET,
    check_interval_seconds: int | _Unset | None = UNSET,
    default_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS,
    now: datetime | None = None,
) -> OrgEdit:
    """Change an org's settings: the arguments given, and of those only what differs from the
    stored value. A value equal to the stored one is not validated again (an interval stored
    before the bounds were narrowed may be kept). ``InvalidOrgError`` for the first invalid
    value, before anything changes.

    Audited field by field: one ``org.updated`` event per changed field with its old and new
    value, except the notes (``changed: true`` only: free text is not copied into the log).
    A shorter interval brings the next check forward to at most one new interval from now;
    ``check_interval_seconds=None`` goes back to the default, ``default_interval_seconds``
    (the setting) for that.
    """
    now = now or utcnow()
    org = get_org(session, key)
    given = {
        "display_name": display_name,
        "alert_channel": alert_channel,
        "cs_owner": cs_owner,
        "notes": notes,
        "check_interval_seconds": check_interval_seconds,
    }
    changes: list[FieldChange] = []
    for name, value in given.items():
        if isinstance(value, _Unset):
            continue
        current = getattr(org, name)
        if value == current:
            continue
        cleaned = _SETTINGS[name](value)
        if cleaned != current:
            changes.append(FieldChange(name, current, cleaned))
    if not changes:
        return OrgEdit(org, ())
    for change in changes:
        setattr(org, change.field, change.new)
        if change.field == "check_interval_seconds":
            seconds = default_interval_seconds if change.new is None else change.new
            soonest = now + timedelta(seconds=seconds)
            current_next = org.next_check_at
            org.next_check_at = soonest if current_next is None else min(current_next, soonest)
    _touch(org, actor, now)
    session.flush()
    for change in changes:
        details: dict[str, Any] = {"field": change.field}
        if change.field == "notes":
            details["changed"] = True
        else:
            details.update(old=change.old, new=change.new)
        add_audit_event(
            session, actor=actor, action="org.updated", org_key=org.key, at=now, details=details
        )
    return OrgEdit(org, tuple(changes))


def update_org(
    session: Session,
    key: str,
    *,
    actor: str,
    display_name: str | _Unset = UNSET,
    alert_channel: str | _Unset | None = UNSET,
    cs_owner: str | _Unset | None = UNSET,
    notes: str | _Unset = UNSET,
    check_interval_seconds: int | _Unset | None = UNSET,
    default_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS,
    now: datetime | None = None,
) -> Org:
    """``edit_org``, for callers that need only the org."""
    return edit_org(
        session,
        key,
        actor=actor,
        display_name=display_name,
        alert_channel=alert_channel,
        cs_owner=cs_owner,
        notes=notes,
        check_interval_seconds=check_interval_seconds,
        default_interval_seconds=default_interval_seconds,
        now=now,
    ).org


def mute_org(
    session: Session,
    key: str,
    *,
    until: datetime | None,
    actor: str,
    now: datetime | None = None,
) -> Org:
    """Mute an org's alerts until ``until`` (None unmutes), remembering who did. Checks keep
    running."""
    now = now or utcnow()
    org = get_org(session, key)
    org.mute_until = until
    org.muted_by = normalize_actor(actor) if until is not None else None
    _touch(org, actor, now)
    session.flush()
    add_audit_event(
        session,
        actor=actor,
        action="org.muted" if until is not None else "org.unmuted",
        org_key=org.key,
        at=now,
        details={"until": until.isoformat() if until is not None else None},
    )
    return org


# --- removal ------------------------------------------------------------------------------


def remove_org(
    session: Session, key: str, *, actor: str, now: datetime | None = None
) -> RemovedOrg:
    """Delete an org, its token ciphertext, its check runs and its incidents (open ones too:
    the caller announces their closing first, if it posts anything).

    Audit events stay (they hold the org key as text). Outbox messages stay, unlinked
    (``org_id``/``incident_id`` set to NULL): their payloads are self-contained; those not yet
    sent are dropped (marked done, ``last_error`` says why), since an alert, reminder or
    recovery of an org that is gone, with no incident to thread under, helps nobody.
    Children are deleted explicitly rather than by relying on ``ON DELETE`` alone, so the
    result is the same on a SQLite connection without foreign keys enabled. The ciphertext is
    destroyed in the database's files once the caller commits (see the module docstring).
    """
    now = now or utcnow()
    org = get_org(session, key)
    org_id = org.id
    runs = session.execute(delete(CheckRun).where(col(CheckRun.org_id) == org_id))
    session.execute(delete(CheckDay).where(col(CheckDay.org_id) == org_id))
    incident_ids = select(Incident.id).where(Incident.org_id == org_id).scalar_subquery()
    still_open = session.exec(
        select(func.count())
        .select_from(Incident)
        .where(Incident.org_id == org_id, col(Incident.closed_at).is_(None))
    ).one()
    dropped = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.sent_at).is_(None),
            (col(OutboxMessage.org_id) == org_id)
            | col(OutboxMessage.incident_id).in_(incident_ids),
        )
        .values(
            sent_at=now,
            last_error="dropped: the org was removed",
            lease_owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.incident_id).in_(incident_ids))
        .values(incident_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.org_id) == org_id)
        .values(org_id=None)
        .execution_options(synchronize_session=False)
    )
    incidents = session.execute(delete(Incident).where(col(Incident.org_id) == org_id))
    removed = RemovedOrg(
        key=org.key,
        display_name=org.display_name,
        token_fingerprint=org.token_fingerprint,
        check_runs_deleted=_rowcount(runs),
        incidents_deleted=_rowcount(incidents),
        open_incidents_closed=int(still_open),
        messages_dropped=_rowcount(dropped),
    )
    session.delete(org)
    session.flush()
    erase_freed_after_commit(session)
    add_audit_event(
        session,
        actor=actor,
        action="org.removed",
        org_key=removed.key,
        at=now,
        details={
            "display_name": removed.display_name,
            "fingerprint": removed.token_fingerprint,
            "check_runs_deleted": removed.check_runs_deleted,
            "incidents_deleted": removed.incidents_deleted,
            "open_incidents_closed": removed.open_incidents_closed,
            "messages_dropped": removed.messages_dropped,
        },
    )
    return removed


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


_ENVIRONMENT_LOOKUP_CHUNK = 500


def registered_environments(session: Session, keys: Sequence[str]) -> dict[str, AfasEnvironment]:
    """The environments of those of ``keys`` that are registered (for a bulk import)."""
    found: dict[str, AfasEnvironment] = {}
    for start in range(0, len(keys), _ENVIRONMENT_LOOKUP_CHUNK):
        chunk = list(keys[start : start + _ENVIRONMENT_LOOKUP_CHUNK])
        rows = session.exec(
            select(Org.key, Org.env_number, Org.env_kind).where(col(Org.key).in_(chunk))
        ).all()
        for key, number, kind in rows:
            found[key] = AfasEnvironment(number, EnvironmentKind(kind))
    return found
