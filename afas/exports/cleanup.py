"""Taking a live test export's records away again, during the run and afterwards.

``remove_newest_first`` is what both the live export and ``cleanup`` end with: every record
the run holds is removed the way its template says (DELETE, trying the documented path forms
in turn, afas-api.md §13.6), newest first, or blocked where AFAS has no DELETE (a sales
relation, §6.6) and listed as left behind with how to remove it by hand.

``cleanup`` finishes a run that did not end normally (a crash, a lost answer, AFAS down), from
the ``JournalEntry`` values its caller persisted. A record that may or may not exist (pending:
the process died around the POST; unknown: the answer was lost) is first looked up by the run's
marker in the GetConnector where AFAS shows such records (the relation by name in
SBQ_Crediteuren / SBQ_Debiteuren, the entry by invoice number in SBQ_Transactie, the dossier item
by subject in Profit_Subjects). Those connectors are the customer's own: their columns are found
from ``/metainfo/get`` (labels and types), never assumed. Running it twice is harmless: what is
removed is not sent again, a DELETE of a record that is gone counts as removed.

After a lost answer AFAS may still be working (it advises waiting at least 15 minutes before
repeating a timed-out request, afas-api.md §7): callers should not offer the cleanup of such a
run sooner, since a record not found yet is then written down as not existing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from afas.client import AfasClient, connector_path
from afas.environments import AfasEnvironment
from afas.exports.columns import (
    Column,
    MetainfoShapeError,
    Role,
    Shape,
    match_columns,
    parse_fields,
    rows_of,
    type_family,
    words,
)
from afas.exports.journal import (
    EntryState,
    ExportJournal,
    JournalEntry,
    run_values,
    values_from_key,
)
from afas.exports.placeholders import render
from afas.exports.report import (
    CreatedRecord,
    ExportFrame,
    ExportMode,
    ExportOverall,
    ExportReport,
    LeftBehind,
)
from afas.exports.templates import ExportTemplate, ExportTemplates, load_templates
from afas.exports.texts import ExportCatalogue, load_export_catalogue
from afas.exports.values import TEXTS as VALUE_TEXTS
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import Catalogue, LocalText, Profile, load_catalogue
from afas.tokens import AfasToken

# -- talking to AFAS -----------------------------------------------------------------------


@dataclass
class ExportSession:
    """One run's connection to one environment, and what it has cost so far."""

    client: AfasClient
    environment: AfasEnvironment
    token: AfasToken
    templates: ExportTemplates
    journal: ExportJournal
    texts: ExportCatalogue = field(default_factory=load_export_catalogue)
    check_texts: Catalogue = field(default_factory=load_catalogue)
    requests: int = 0

    async def send(
        self, method: str, path: str, body: Any = None, *, idempotent: bool
    ) -> AfasOutcome:
        """A write. POST is never idempotent: the client sends it once, whatever happens."""
        outcome = await self.client.request(
            method,
            self.environment,
            self.token,
            path,
            json=body,
            connector_scoped=True,
            idempotent=idempotent,
        )
        self.requests += outcome.attempts
        return outcome

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> AfasOutcome:
        outcome = await self.client.get(
            self.environment, self.token, path, params=params, connector_scoped=True
        )
        self.requests += outcome.attempts
        return outcome

    def reason(self, outcome: AfasOutcome) -> LocalText:
        """Why an answer is no answer, in the check's words (maintenance, reset, ...)."""
        reasons = self.check_texts.reason
        if outcome.kind is OutcomeKind.MAINTENANCE:
            if outcome.retry_after is None:
                return reasons["maintenance_unknown"]
            return reasons["maintenance"].format(minutes=max(1, round(outcome.retry_after / 60)))
        if outcome.kind is OutcomeKind.TRANSPORT_ERROR:
            key = outcome.reason if outcome.reason in reasons else "network"
            return reasons[key].format(status=outcome.status or "")
        if outcome.kind is OutcomeKind.MALFORMED_ANSWER or not outcome.message:
            return reasons["malformed"]
        return reasons["afas_error"].format(message=with_reference(outcome))


def with_reference(outcome: AfasOutcome) -> str:
    """AFAS's message with its profitLogReference, for texts people pass on to AFAS admins."""
    message = outcome.message or f"HTTP {outcome.status}"
    if outcome.profit_log_reference:
        return f"{message} (profitLogReference {outcome.profit_log_reference})"
    return message


class _Missing(dict):
    """Placeholder values for a text about a record whose keys are not (all) known."""

    def __missing__(self, key: str) -> str:
        return "?"


def fill(text: LocalText, values: Mapping[str, Any]) -> LocalText:
    """A template text (``how_to_remove``) with the run's values; unknown ones as ``?``."""
    known = _Missing({k: v for k, v in values.items() if v is not None})
    return LocalText(nl=str(render(text.nl, known)), en=str(render(text.en, known)))


# -- removing ------------------------------------------------------------------------------


@dataclass
class Held:
    """A record the run knows to exist: its step, template, key and the values that fill
    its removal (the run's own, the customer's, AFAS's answers)."""

    step: int
    template: ExportTemplate
    key: dict[str, str]
    values: dict[str, Any]


@dataclass(frozen=True)
class Removed:
    """What became of one held record."""

    record: CreatedRecord
    left: LeftBehind | None = None
    by_design: bool = False  # left behind because AFAS offers no DELETE (blocked instead)
    no_answer: bool = False  # AFAS did not answer: it may or may not still be there


#: AFAS's "the record to delete does not exist": already gone, so removed (a second cleanup).
_ALREADY_GONE = re.compile(
    r"record dat u wilt verwijderen bestaat niet|record to delete does not exist", re.I
)
#: Answers that say this path form is not how this environment deletes (try the next one).
_FORM_UNSUPPORTED = frozenset({OutcomeKind.NOT_FOUND, OutcomeKind.CONNECTOR_NOT_AUTHORISED})


async def remove_newest_first(session: ExportSession, held: Sequence[Held]) -> list[Removed]:
    """Remove every held record, the newest (highest step) first, journalling each result
    before the next request. Results come back in step order."""
    results: list[Removed] = []
    for item in sorted(held, key=lambda h: h.step, reverse=True):
        results.append(await _remove(session, item))
    return sorted(results, key=lambda r: r.record.step or 0)


async def _remove(session: ExportSession, item: Held) -> Removed:
    template, journal = item.template, session.journal
    connector = template.connector
    removal = template.removal
    how = fill(removal.how_to_remove, item.values) if removal else how_to_find(session, item.values)
    if removal is None:  # a template that creates but cannot be taken away: say so
        reason = session.texts.found["left_delete_unsupported"].format(
            connector=connector, message="-"
        )
        return await _left(session, item, reason, how)
    if removal.method == "PUT":
        body = render(removal.payload, item.values)
        outcome = await session.send("PUT", f"/connectors/{connector}", body, idempotent=True)
        texts = session.texts.found
        if outcome.ok:
            reason = texts["left_blocked"].format(
                connector=connector, marker=item.values.get("marker", "")
            )
        else:
            reason = texts["left_block_failed"].format(
                connector=connector, message=session.reason(outcome)
            )
        return await _left(
            session, item, reason, how, by_design=removal.leaves_behind and outcome.ok
        )
    unsupported: AfasOutcome | None = None
    for path in removal.paths:
        quoted = {k: quote(str(v), safe="") for k, v in item.values.items() if v is not None}
        outcome = await session.send("DELETE", render(path, _Missing(quoted)), idempotent=True)
        if outcome.ok or (
            outcome.kind is OutcomeKind.FUNCTIONAL_ERROR
            and _ALREADY_GONE.search(outcome.message or "")
        ):
            await journal.removed(item.step, connector, dict(item.key))
            return Removed(CreatedRecord(connector, dict(item.key), True, item.step))
        if outcome.kind in _FORM_UNSUPPORTED or outcome.status == 405:
            unsupported = outcome
            continue
        if outcome.afas_side:
            reason = session.texts.found["left_no_answer"].format(reason=session.reason(outcome))
            return await _left(session, item, reason, how, no_answer=True)
        reason = session.texts.found["left_delete_refused"].format(message=with_reference(outcome))
        return await _left(session, item, reason, how)
    message = with_reference(unsupported) if unsupported else "-"
    reason = session.texts.found["left_delete_unsupported"].format(
        connector=connector, message=message
    )
    return await _left(session, item, reason, how)


async def _left(
    session: ExportSession,
    item: Held,
    reason: LocalText,
    how: LocalText,
    *,
    by_design: bool = False,
    no_answer: bool = False,
) -> Removed:
    connector = item.template.connector
    await session.journal.left_behind(item.step, connector, dict(item.key), reason, how)
    return Removed(
        CreatedRecord(connector, dict(item.key), False, item.step),
        LeftBehind(connector, dict(item.key), reason, how),
        by_design=by_design,
        no_answer=no_answer,
    )


def how_to_find(session: ExportSession, values: Mapping[str, Any]) -> LocalText:
    """For a record that may exist but whose key is unknown: search by the marker."""
    return session.texts.found["how_to_find"].format(
        marker=values.get("marker", ""), invoice_id=values.get("invoice_id", "")
    )


# -- looking a record up by its marker -------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """Where AFAS shows a connector's created records, and how to recognise ours there.

    ``searches``: (the run value to look for, words a column's label says it holds it),
    tried in order; ``key``: the AFAS key field and the words of the column holding it.
    """

    get_connector: str
    searches: tuple[tuple[str, tuple[str, ...]], ...]
    key_field: str
    key_words: tuple[str, ...]
    #: The entry also needs its administration, journal, year and period (its DELETE path).
    with_entry_fields: bool = False


_NAME_WORDS = ("naam", "name", "omschrijving", "description", "onderwerp", "subject")
_INVOICE_WORDS = ("factuurnummer", "factuur", "invoicenumber", "invoice")
_NOT_A_NAME = ("zoek", "search", "type", "soort", "kind", "datum", "date", "bedrag", "amount")
_NOT_A_KEY = ("naam", "name", "omschrijving", "descr", "type", "soort", "zoek", "search")

LOOKUPS: dict[str, Lookup] = {
    "KnPurchaseRelationOrg": Lookup(
        "SBQ_Crediteuren",
        (("marker", _NAME_WORDS),),
        "CrId",
        ("crediteurnummer", "crediteur", "creditor", "leverancier", "supplier"),
    ),
    "KnSalesRelationOrg": Lookup(
        "SBQ_Debiteuren",
        (("marker", _NAME_WORDS),),
        "DbId",
        ("debiteurnummer", "debiteur", "debtor", "klant", "customer"),
    ),
    "FiEntries": Lookup(
        "SBQ_Transactie",
        (("invoice_id", _INVOICE_WORDS), ("marker", _NAME_WORDS)),
        "EnNo",
        ("boekstuknummer", "boekstuk", "entryno", "entrynumber", "journaalpost", "mutatienummer"),
        with_entry_fields=True,
    ),
    "KnSubject": Lookup(
        "Profit_Subjects",
        (("marker", _NAME_WORDS),),
        "SbId",
        ("dossieritemnummer", "dossieritem", "subjectid", "subjectnumber", "itemid"),
    ),
}

#: The entry's fields beside its number, by the value matcher's roles (afas/exports/columns.py).
_ENTRY_SHAPE = Shape(
    "entries",
    required=((Role.ADMINISTRATION,), (Role.JOURNAL,), (Role.YEAR,)),
    optional=(Role.PERIOD,),
)
_ENTRY_FIELDS = {Role.ADMINISTRATION: "UnId", Role.JOURNAL: "JoCo", Role.YEAR: "Year"}
_ROWS_TAKE = 100  # ours carry a marker of their own: a handful of rows at most


@dataclass(frozen=True)
class Found:
    """The outcome of a lookup: keys of the records found (none: it does not exist), or why
    it could not be looked up."""

    keys: tuple[dict[str, str], ...] = ()
    failed: LocalText | None = None
    no_answer: bool = False


def find_column(
    fields: Sequence[Column],
    include: Sequence[str],
    exclude: Sequence[str] = (),
    families: Sequence[str] = ("text",),
) -> Column | None:
    """The column whose label (or, without a label, id) says it holds this: an exact word
    first, then one containing it; ``exclude`` rules a column out ("Zoeknaam" is no name)."""
    best: tuple[int, Column] | None = None
    for column in fields:
        if type_family(column.data_type) not in families:
            continue
        joined = "".join(words(column.label or column.id))
        if not joined or any(e in joined for e in exclude):
            continue
        if joined in include:
            score = 2
        elif any(i in joined for i in include):
            score = 1
        else:
            continue
        if best is None or score > best[0]:
            best = (score, column)
    return best[1] if best else None


async def look_up(session: ExportSession, connector_id: str, values: Mapping[str, Any]) -> Found:
    """Find the records carrying this run's marker (or invoice number) for ``connector_id``."""
    lookup = LOOKUPS.get(connector_id)
    if lookup is None:
        why = VALUE_TEXTS["metainfo_shape"].format(connector=connector_id)
        return Found(failed=why)
    get_id = lookup.get_connector
    meta = await session.get(connector_path("/metainfo/get", get_id))
    if not meta.ok:
        return _unreadable(get_id, meta)
    try:
        fields = parse_fields(meta.data)
    except MetainfoShapeError:
        return Found(failed=VALUE_TEXTS["metainfo_shape"].format(connector=get_id))
    key_column = find_column(fields, lookup.key_words, _NOT_A_KEY, ("text", "int", "number"))
    entry_columns: dict[str, Column] = {}
    if lookup.with_entry_fields:
        match = match_columns(meta.data, _ENTRY_SHAPE)
        if match.ok:
            entry_columns = {f: match.columns[r] for r, f in _ENTRY_FIELDS.items()}
            if match.get(Role.PERIOD) is not None:
                entry_columns["Peri"] = match.columns[Role.PERIOD]
    searches = [
        (name, column)
        for name, include in lookup.searches
        if (column := find_column(fields, include, _NOT_A_NAME)) is not None
    ]
    if key_column is None or not searches or (lookup.with_entry_fields and not entry_columns):
        seen = ", ".join(c.describe() for c in fields) or "-"
        roles = session.texts.found["lookup_roles"]
        why = VALUE_TEXTS["columns"].format(connector=get_id, roles=roles, fields=seen)
        return Found(failed=why)
    name, column = searches[0]
    wanted = str(values.get(name, ""))
    params = {
        "filterfieldids": column.id,
        "filtervalues": wanted,
        "operatortypes": "1",
        "skip": "0",
        "take": str(_ROWS_TAKE),
    }
    answer = await session.get(connector_path("/connectors", get_id), params)
    if not answer.ok:
        return _unreadable(get_id, answer)
    rows = rows_of(answer.data)
    if rows is None:
        return Found(failed=VALUE_TEXTS["rows_shape"].format(connector=get_id))
    keys: list[dict[str, str]] = []
    for row in rows:
        # The filter is AFAS's; check it here too (an environment may ignore a filter).
        if _text(row.get(column.id)) != wanted or _text(row.get(key_column.id)) == "":
            continue
        key = {lookup.key_field: _text(row.get(key_column.id))}
        for field_id, entry_column in entry_columns.items():
            key[field_id] = _text(row.get(entry_column.id))
        if connector_id == "FiEntries":
            key["InId"] = str(values.get("invoice_id", ""))
        if key not in keys:
            keys.append(key)
    return Found(keys=tuple(keys))


def _unreadable(connector_id: str, outcome: AfasOutcome) -> Found:
    why = VALUE_TEXTS["connector_unreadable"].format(
        connector=connector_id, outcome=outcome.summary()
    )
    return Found(failed=why, no_answer=outcome.afas_side)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# -- finishing a run -------------------------------------------------------------------------


async def cleanup(
    client: AfasClient,
    environment: AfasEnvironment,
    token: AfasToken,
    profile: Profile,
    *,
    run_id: str,
    entries: Sequence[JournalEntry],
    journal: ExportJournal,
    org: str = "",
    now: datetime | None = None,
    templates: ExportTemplates | None = None,
) -> ExportReport:
    """Finish an interrupted live export from its journal: look up what may exist, then
    remove everything removable, newest first; report the rest as left behind."""
    templates = templates or load_templates(profile)
    frame = ExportFrame.begin(org, ExportMode.LIVE, environment, token, profile, now)
    session = ExportSession(client, environment, token, templates, journal)
    own = run_values(run_id)
    held: list[Held] = []
    done: list[Removed] = []
    not_found: list[dict[str, Any]] = []
    for entry in sorted(entries, key=lambda e: e.step):
        template = _template(templates, entry)
        values = {**own, **values_from_key(template, entry.key)}
        key = dict(entry.key)
        if entry.state is EntryState.REMOVED:
            if key:  # an empty key: it never existed
                done.append(Removed(CreatedRecord(template.connector, key, True, entry.step)))
        elif entry.state is EntryState.LEFT_BEHIND and _final(template):
            # Blocked where AFAS offers no DELETE: nothing more to send.
            reason = session.texts.found["left_blocked"].format(
                connector=template.connector, marker=own["marker"]
            )
            how = fill(template.removal.how_to_remove, values)
            done.append(
                Removed(
                    CreatedRecord(template.connector, key, False, entry.step),
                    LeftBehind(template.connector, key, reason, how),
                    by_design=True,
                )
            )
        elif entry.state in (EntryState.CREATED, EntryState.LEFT_BEHIND):
            held.append(Held(entry.step, template, key, values))
        else:  # pending or unknown: it may exist; look for it
            found = await look_up(session, template.connector, own)
            if found.failed is not None:
                lookup = LOOKUPS.get(template.connector)
                reason = session.texts.found["left_lookup_failed"].format(
                    connector=lookup.get_connector if lookup else template.connector,
                    why=found.failed,
                )
                done.append(
                    Removed(
                        CreatedRecord(template.connector, key, False, entry.step),
                        LeftBehind(template.connector, key, reason, how_to_find(session, own)),
                        no_answer=True,
                    )
                )
                continue
            if not found.keys:
                await journal.removed(entry.step, template.connector, {})
                not_found.append({"step": entry.step, "connector": template.connector})
            for found_key in found.keys:
                await journal.created(entry.step, template.connector, dict(found_key))
                held.append(
                    Held(
                        entry.step,
                        template,
                        dict(found_key),
                        {**own, **values_from_key(template, found_key)},
                    )
                )
    done.extend(await remove_newest_first(session, held))
    done.sort(key=lambda r: r.record.step or 0)
    left = [r for r in done if r.left is not None]
    if any(r.no_answer for r in left):
        overall, key = ExportOverall.UNREACHABLE, "cleanup_unreachable"
    elif any(not r.by_design for r in left):
        overall, key = ExportOverall.FAILING, "cleanup_left"
    else:
        overall, key = ExportOverall.OK, "cleanup_done"
    return frame.report(
        overall=overall,
        headline=session.texts.overall[key].format(count=len(left)),
        connectors=(),
        created=tuple(r.record for r in done),
        left_behind=tuple(r.left for r in left if r.left is not None),
        requests=session.requests,
        facts={"cleanup": True, "run_id": run_id, "looked_up_not_found": not_found},
    )


def _template(templates: ExportTemplates, entry: JournalEntry) -> ExportTemplate:
    try:
        return templates.for_connector(entry.connector_id)
    except KeyError:
        raise ValueError(
            f"journal entry for {entry.connector_id!r}, which has no export template"
        ) from None


def _final(template: ExportTemplate) -> bool:
    """Left behind by design: the template's removal blocks rather than deletes."""
    return template.removal is not None and template.removal.leaves_behind
