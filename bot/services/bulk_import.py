"""Registering many orgs at once, from the rows of a spreadsheet (``afasbot org import``).

Three steps, so that a row is refused for everything a person can fix before AFAS is asked:

1. ``check_rows``: every row against the rules of ``org add`` and the registration form (the
   key, the environment, the token's shape, storage's validators for the other fields); a key
   seen earlier in the file is refused on its later lines.
2. ``sort_out_registered``: a key that is registered already with the same environment is
   "already registered", not an error, and not changed (a rotation is ``org add --replace``);
   with another environment it is refused, saying which.
3. ``register_rows``: the rest, concurrently through one AFAS client (its limits per
   environment and overall hold) and at most ``concurrency`` at a time, each through
   ``bot.services.registration.register_org``: stored in one transaction with its first
   check, and only once AFAS accepted its token. Nothing is half-stored; running the same file
   again registers what is missing and finds the rest already registered.

A reason never holds a token, nor any cell a token could have strayed into (a key that is not
a key is not repeated); as a last guard every reason's text is passed through the token
detector (``afas.tokens.redact_tokens``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from afas.client import AfasClient
from afas.environments import AfasEnvironment, EnvironmentFormatError, EnvironmentKind
from afas.report import Access, CheckReport, ItemStatus
from afas.tokens import AfasToken, TokenFormatError, redact_tokens
from bot.i18n import t
from bot.runtime import Runtime
from bot.services.registration import NewOrg, TokenNotVerified, register_org
from storage.errors import DuplicateOrgError, InvalidOrgError, StorageError
from storage.orgs import normalize_org_key, registered_environments, validate_settings

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("key", "name", "env", "kind", "token")
OPTIONAL_COLUMNS = ("alert_channel", "cs_owner", "notes", "interval_seconds")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: The most rows one file may hold: a helpdesk moves hundreds of customers; a file of more is
#: split (each part is safe to run again like the whole).
MAX_ROWS = 10_000
#: How many keys one lookup asks for (SQLite's older limit on bound parameters is 999).
_LOOKUP_CHUNK = 500
#: Storage's columns for the form's fields, as the file calls them.
_COLUMN_OF = {
    "display_name": "name",
    "alert_channel": "alert_channel",
    "cs_owner": "cs_owner",
    "notes": "notes",
    "check_interval_seconds": "interval_seconds",
}
_FIELD_REASON = {
    "display_name": "bulk_import.reason.name_long",
    "alert_channel": "bulk_import.reason.alert_channel",
    "cs_owner": "bulk_import.reason.cs_owner_long",
    "notes": "bulk_import.reason.notes_long",
    "check_interval_seconds": "bulk_import.reason.interval",
}


@dataclass(frozen=True)
class Reason:
    """Why a row (or a file) was not registered: a catalogue key and its values, none of them
    a token; a value may itself be a ``Reason`` or ``Listed``, rendered in the same language."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)

    def text(self, language: str) -> str:
        values = {name: _rendered(value, language) for name, value in self.values.items()}
        return redact_tokens(t(self.key, language, **values), "[token]")


@dataclass(frozen=True)
class Listed:
    """Values shown one after another (column names; a header's problems)."""

    items: tuple[object, ...]
    separator: str = ", "


def _rendered(value: object, language: str) -> object:
    if isinstance(value, Reason):
        return value.text(language)
    if isinstance(value, Listed):
        return value.separator.join(str(_rendered(item, language)) for item in value.items)
    return value


class RowRejected(Exception):
    """A row cannot be registered; ``reason`` says why (the message is the key only)."""

    def __init__(self, key: str, /, **values: object) -> None:
        self.reason = Reason(key, values)
        super().__init__(key)


@dataclass(frozen=True)
class SheetRow:
    """One row as read from the file: its first line's number and its cells by column;
    ``problem`` when the file's reader already knows it cannot be registered."""

    line: int
    cells: Mapping[str, str]
    problem: Reason | None = None

    def __repr__(self) -> str:  # the cells may hold a token
        return f"SheetRow(line={self.line})"


class Outcome(StrEnum):
    REGISTERED = "registered"
    ALREADY = "already registered"
    REJECTED = "rejected"


@dataclass(frozen=True)
class RowResult:
    """What became of one row. ``key`` is the normalised key, or "" when the row had none
    that is valid; ``state`` the first check's overall state (registered rows)."""

    line: int
    key: str
    outcome: Outcome
    reason: Reason | None = None
    environment: AfasEnvironment | None = None
    fingerprint: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A row that passed every check: the org to register (the token only in ``org``)."""

    line: int
    org: NewOrg


@dataclass
class ImportSummary:
    results: list[RowResult]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def registered(self) -> int:
        return self.count(Outcome.REGISTERED)

    @property
    def already(self) -> int:
        return self.count(Outcome.ALREADY)

    @property
    def rejected(self) -> list[RowResult]:
        return [r for r in self.results if r.outcome is Outcome.REJECTED]


# -- 1. every row against the rules -----------------------------------------------------------


TokenFileReader = Callable[[str], AfasToken]


def check_rows(
    rows: Iterable[SheetRow], *, read_token_file: TokenFileReader
) -> tuple[list[Candidate], list[RowResult]]:
    """The rows that can be registered, and the rejections (a later duplicate key among them).
    ``read_token_file`` reads an ``@path`` token cell's file (the text after the ``@``),
    raising ``RowRejected`` with the reason when it cannot."""
    candidates: list[Candidate] = []
    rejected: list[RowResult] = []
    first_line: dict[str, int] = {}
    for row in rows:
        key = _key_of(row)
        try:
            if row.problem is not None:
                raise RowRejected(row.problem.key, **row.problem.values)
            if key is None:
                raise RowRejected(_key_problem(row))
            if key in first_line:
                raise RowRejected("bulk_import.reason.duplicate", key=key, line=first_line[key])
            first_line[key] = row.line
            candidates.append(Candidate(row.line, _new_org(row, key, read_token_file)))
        except RowRejected as refusal:
            rejected.append(RowResult(row.line, key or "", Outcome.REJECTED, refusal.reason))
    return candidates, rejected


def _key_of(row: SheetRow) -> str | None:
    try:
        return normalize_org_key(row.cells.get("key", ""))
    except InvalidOrgError:
        return None


def _key_problem(row: SheetRow) -> str:
    if not row.cells.get("key", "").strip():
        return "bulk_import.reason.key_missing"
    return "bulk_import.reason.key_invalid"


def _new_org(row: SheetRow, key: str, read_token_file: TokenFileReader) -> NewOrg:
    cells = row.cells
    environment = _environment(cells.get("env", ""), cells.get("kind", ""))
    settings = {
        "display_name": cells.get("name", "").strip() or key,  # as `org add`: the key
        "alert_channel": cells.get("alert_channel", "").strip() or None,
        "cs_owner": cells.get("cs_owner", "").strip() or None,
        "notes": cells.get("notes", ""),
        "check_interval_seconds": _interval(cells.get("interval_seconds", "")),
    }
    problems = validate_settings(**settings)
    for name in _COLUMN_OF:  # in the file's column order: the first problem is named
        if name in problems:
            raise _refusal(problems[name])
    token = _token(cells.get("token", ""), read_token_file)
    return NewOrg(
        key=key,
        display_name=settings["display_name"],
        environment=environment,
        token=token,
        alert_channel=settings["alert_channel"],
        cs_owner=settings["cs_owner"],
        notes=settings["notes"].strip(),
        check_interval_seconds=settings["check_interval_seconds"],
    )


def _environment(env: str, kind: str) -> AfasEnvironment:
    """The environment, or the reason in our words: the parser's messages may repeat what was
    in the cell, and a cell of a shifted row may hold a token."""
    if not env.strip():
        raise RowRejected("bulk_import.reason.env_missing")
    try:
        given = EnvironmentKind.parse(kind) if kind.strip() else None
    except EnvironmentFormatError:
        raise RowRejected("bulk_import.reason.kind_unknown") from None
    try:
        return AfasEnvironment.parse(env, given)
    except EnvironmentFormatError as exc:
        reason = {"kind_missing": "kind_missing", "kind_mismatch": "kind_mismatch"}
        raise RowRejected("bulk_import.reason." + reason.get(exc.reason, "env_shape")) from None


def _interval(text: str) -> int | None:
    """Whole seconds, or None for an empty cell (the default); anything else is refused here
    (storage bounds the number)."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise RowRejected("bulk_import.reason.interval")
    return int(text)


def _token(cell: str, read_token_file: TokenFileReader) -> AfasToken:
    text = cell.strip()
    if not text:
        raise RowRejected("bulk_import.reason.token_missing")
    if text.startswith("@"):
        name = text[1:].strip()
        if not name:
            raise RowRejected("bulk_import.reason.token_file_name")
        return read_token_file(name)
    try:
        return AfasToken.parse(text)
    except TokenFormatError:
        raise RowRejected("bulk_import.reason.token_shape") from None


def _refusal(error: InvalidOrgError) -> RowRejected:
    column = _COLUMN_OF.get(error.field or "", error.field or "")
    if error.reason == "control":
        return RowRejected("bulk_import.reason.control", column=column)
    if error.reason == "secret":
        return RowRejected("bulk_import.reason.secret", column=column)
    return RowRejected(_FIELD_REASON.get(error.field or "", "bulk_import.reason.key_invalid"))


# -- 2. what is registered already ------------------------------------------------------------


def sort_out_registered(
    runtime: Runtime, candidates: Sequence[Candidate]
) -> tuple[list[Candidate], list[RowResult]]:
    """The candidates still to register, and the results of those whose key is registered:
    with the same environment "already registered" (nothing changes), else rejected."""
    registered = _registered_environments(runtime, [c.org.key for c in candidates])
    remaining: list[Candidate] = []
    results: list[RowResult] = []
    for candidate in candidates:
        stored = registered.get(candidate.org.key)
        if stored is None:
            remaining.append(candidate)
        else:
            results.append(_known(candidate, stored))
    return remaining, results


def _registered_environments(runtime: Runtime, keys: Sequence[str]) -> dict[str, AfasEnvironment]:
    with runtime.session() as session:
        return registered_environments(session, keys)


def _known(candidate: Candidate, stored: AfasEnvironment) -> RowResult:
    org = candidate.org
    if stored == org.environment:
        return RowResult(candidate.line, org.key, Outcome.ALREADY, environment=stored)
    reason = Reason(
        "bulk_import.reason.other_environment",
        {"key": org.key, "registered": stored.label, "given": org.environment.label},
    )
    return RowResult(candidate.line, org.key, Outcome.REJECTED, reason, environment=stored)


# -- 3. verifying and storing -----------------------------------------------------------------


async def register_rows(
    runtime: Runtime,
    client: AfasClient,
    candidates: Sequence[Candidate],
    *,
    actor: str,
    concurrency: int,
    language: str,
    on_result: Callable[[RowResult], None] | None = None,
) -> list[RowResult]:
    """Register every candidate, at most ``concurrency`` at a time; one result per candidate
    (in the order they finish). ``on_result`` hears of each as it is known (the progress
    bar). A row's failure, expected or not, is that row's result and never stops the rest."""
    gate = asyncio.Semaphore(max(1, concurrency))
    results: list[RowResult] = []

    async def one(candidate: Candidate) -> None:
        async with gate:
            result = await _register(runtime, client, candidate, actor=actor, language=language)
        results.append(result)
        if on_result is not None:
            on_result(result)

    await asyncio.gather(*(one(candidate) for candidate in candidates))
    return results


async def _register(
    runtime: Runtime, client: AfasClient, candidate: Candidate, *, actor: str, language: str
) -> RowResult:
    org, line = candidate.org, candidate.line
    try:
        registration = await register_org(
            runtime,
            client,
            key=org.key,
            display_name=org.display_name,
            environment=org.environment,
            token=org.token,
            actor=actor,
            alert_channel=org.alert_channel,
            cs_owner=org.cs_owner,
            notes=org.notes,
            check_interval_seconds=org.check_interval_seconds,
        )
    except TokenNotVerified as refused:
        wrong_token = refused.access is Access.REJECTED  # 401: not this token
        reason = Reason(
            "bulk_import.reason.refused_token" if wrong_token else "bulk_import.reason.refused",
            {
                "environment": org.environment.label_in(language),
                "reason": refusal_text(refused.report, language).rstrip(". "),
            },
        )
        return RowResult(line, org.key, Outcome.REJECTED, reason, environment=org.environment)
    except DuplicateOrgError:  # registered by someone else meanwhile
        stored = await asyncio.to_thread(_registered_environments, runtime, [org.key])
        if org.key in stored:
            return _known(candidate, stored[org.key])
        reason = Reason("bulk_import.reason.not_stored", {"reason": "duplicate key"})
        return RowResult(line, org.key, Outcome.REJECTED, reason)
    except InvalidOrgError as invalid:  # storage's last word (check_rows came first)
        return RowResult(line, org.key, Outcome.REJECTED, _refusal(invalid).reason)
    except StorageError as error:  # its messages name no secret (storage/errors.py)
        reason = Reason("bulk_import.reason.not_stored", {"reason": str(error)})
        return RowResult(line, org.key, Outcome.REJECTED, reason)
    except Exception as error:  # one row's failure is not the file's: the others go on
        log.exception("org import: line %d (%s) failed", line, org.key)
        reason = Reason("bulk_import.reason.failed", {"error": type(error).__name__})
        return RowResult(line, org.key, Outcome.REJECTED, reason)
    report = registration.report
    return RowResult(
        line,
        org.key,
        Outcome.REGISTERED,
        environment=org.environment,
        fingerprint=org.token.fingerprint,
        state=report.overall.value,
    )


def refusal_text(report: CheckReport, language: str) -> str:
    """Why AFAS did not let us in: the first failing item, else what could not be checked."""
    for status in (ItemStatus.FAILING, ItemStatus.UNKNOWN):
        for item in report.items:
            if item.status is status:
                return item.found.get(language)
    return report.headline.get(language)


# -- all three --------------------------------------------------------------------------------


async def import_rows(
    runtime: Runtime,
    client: AfasClient,
    rows: Sequence[SheetRow],
    *,
    read_token_file: TokenFileReader,
    actor: str,
    concurrency: int,
    language: str,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[RowResult], None] | None = None,
) -> ImportSummary:
    """Check, sort out and register ``rows`` (see the module docstring). ``on_start`` hears
    how many tokens AFAS will be asked about, before the first is."""
    runtime.require_cipher()
    candidates, results = check_rows(rows, read_token_file=read_token_file)
    remaining, known = await asyncio.to_thread(sort_out_registered, runtime, candidates)
    results += known
    if on_start is not None:
        on_start(len(remaining))
    results += await register_rows(
        runtime,
        client,
        remaining,
        actor=actor,
        concurrency=concurrency,
        language=language,
        on_result=on_result,
    )
    return ImportSummary(sorted(results, key=lambda result: result.line))
