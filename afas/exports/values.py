"""Where a live test export gets its values: the customer's own GetConnectors.

A live export books a real (tiny, removed afterwards) entry, so it needs real keys of this
customer's administration: an administration (SBQ_Administratie), an open period
(CaseWare_Periods), a memorial journal (Precal_Dagboeken), a cost ledger account
(SBQ_Grootboekrekeningen) and a purchase VAT code (SBQ_BTW). Guessed keys would make AFAS refuse
the entry for the wrong reason and hide the setup question the export is meant to answer.

The columns of those connectors are found from ``/metainfo/get/{id}`` (``afas.exports.columns``),
never assumed. Each value says where it came from, in Dutch and English; a value that cannot be
determined is a ``CannotChoose`` naming the connector, what was looked for and why nothing fitted,
so the caller can ask the agent for it. Values the agent gives win, but are still held against the
connectors: a period AFAS reports blocked is refused (the bot never books in a blocked period),
anything else odd about a given value is a warning.

``choose_values`` is pure (AFAS's answers in, the result out); ``discover_values`` makes the reads,
all concurrently.
"""

from __future__ import annotations

import asyncio
import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from afas.client import AfasClient
from afas.environments import AfasEnvironment
from afas.exports.columns import (
    ADMINISTRATIONS,
    JOURNALS,
    LEDGER_ACCOUNTS,
    PERIODS,
    VAT_CODES,
    AccountKind,
    Column,
    ColumnMatch,
    MetainfoShapeError,
    Role,
    Shape,
    VatDirection,
    account_kind,
    flag_column,
    is_blocked,
    match_columns,
    percentage,
    rows_of,
    same_key,
    sounds_like_memorial,
    sounds_like_revenue,
    truth,
    vat_direction,
)
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import LocalText
from afas.tokens import AfasToken

#: Rows read per connector: far below AFAS's rule of thumb of 150,000 cells per call (§5.3).
DEFAULT_TAKE = 1000

Row = Mapping[str, Any]


class ValueName(StrEnum):
    ADMINISTRATION = "administration"
    PERIOD = "period"  # the year and the period, from one row
    JOURNAL = "journal"
    COST_ACCOUNT = "cost_account"
    VAT_CODE = "vat_code"


@dataclass(frozen=True, slots=True)
class ValueConnectors:
    """Which GetConnector each value comes from (the guide's ids; another profile may differ)."""

    administrations: str = "SBQ_Administratie"
    periods: str = "CaseWare_Periods"
    journals: str = "Precal_Dagboeken"
    ledger_accounts: str = "SBQ_Grootboekrekeningen"
    vat_codes: str = "SBQ_BTW"

    def ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(getattr(self, f.name) for f in fields(self)))


# -- the texts -------------------------------------------------------------------------------


def _lt(nl: str, en: str) -> LocalText:
    return LocalText(nl=nl, en=en)


#: Every text of this module, in one place (afas/ cannot use bot's i18n catalogues).
TEXTS: dict[str, LocalText] = {
    "given": _lt("opgegeven door de agent; {check}", "given by the agent; {check}"),
    "checked": _lt("gecontroleerd in {connector}", "checked in {connector}"),
    "not_confirmed": _lt(
        "niet bevestigd door {connector} (zie de waarschuwing)",
        "not confirmed by {connector} (see the warning)",
    ),
    "not_checked": _lt("niet gecontroleerd: {why}", "not checked: {why}"),
    "not_blocked": _lt("niet geblokkeerd ({flag} = {value})", "not blocked ({flag} = {value})"),
    "no_flag": _lt(
        "de connector heeft geen kolom 'geblokkeerd'", "the connector has no 'blocked' column"
    ),
    "src_administration": _lt(
        "{connector}, veld {column} = {value}{name}; {flag}",
        "{connector}, field {column} = {value}{name}; {flag}",
    ),
    "src_period": _lt(
        "{connector}, velden {year_column} = {year} en {period_column} = {period}{dates}; "
        "{flag}; {why}",
        "{connector}, fields {year_column} = {year} and {period_column} = {period}{dates}; "
        "{flag}; {why}",
    ),
    "dates": _lt(" ({start} t/m {end})", " ({start} to {end})"),
    "current": _lt("de huidige periode", "the current period"),
    "nearest": _lt(
        "de open periode die het dichtst bij vandaag ({today}) ligt",
        "the open period nearest to today ({today})",
    ),
    "src_journal": _lt(
        "{connector}, veld {column} = {value}{name}; memoriaal volgens {kind_column} = {kind}; "
        "{flag}",
        "{connector}, field {column} = {value}{name}; memorial according to {kind_column} = "
        "{kind}; {flag}",
    ),
    "src_account": _lt(
        "{connector}, veld {column} = {value}{name}; winst-en-verliesrekening volgens "
        "{kind_column} = {kind}; {flag}",
        "{connector}, field {column} = {value}{name}; profit-and-loss account according to "
        "{kind_column} = {kind}; {flag}",
    ),
    "src_vat": _lt(
        "{connector}, veld {column} = {value}{name}; inkoopcode volgens {kind_column} = {kind}"
        "{rate}; {flag}",
        "{connector}, field {column} = {value}{name}; purchase code according to {kind_column} = "
        "{kind}{rate}; {flag}",
    ),
    "src_no_vat": _lt(
        "{connector} heeft geen inkoop-btw-code{admin} die niet geblokkeerd is: de kostenregel "
        "gaat zonder btw-code",
        "{connector} has no purchase VAT code{admin} that is not blocked: the cost line goes "
        "without a VAT code",
    ),
    "of_admin": _lt(" van administratie {admin}", " of administration {admin}"),
    # what was looked for
    "for_administration": _lt(
        "een administratie die niet geblokkeerd is", "an administration that is not blocked"
    ),
    "for_period": _lt(
        "een open (niet geblokkeerde) periode{admin}, bij voorkeur de huidige",
        "an open (not blocked) period{admin}, preferably the current one",
    ),
    "for_given_period": _lt(
        "periode {year}/{period}{admin}, zoals opgegeven", "period {year}/{period}{admin}, as given"
    ),
    "for_journal": _lt(
        "een memoriaaldagboek{admin} dat niet geblokkeerd is",
        "a memorial journal{admin} that is not blocked",
    ),
    "for_cost_account": _lt(
        "een kostenrekening (winst en verlies){admin} die niet geblokkeerd is",
        "a cost (profit and loss) ledger account{admin} that is not blocked",
    ),
    "for_vat_code": _lt(
        "een inkoop-btw-code{admin}, bij voorkeur van 0%",
        "a purchase VAT code{admin}, preferably of 0%",
    ),
    # why nothing fitted
    "connector_missing": _lt(
        "{connector} staat niet in de App Connector, of de gebruiker van het token mag hem niet "
        "gebruiken ({outcome})",
        "{connector} is not in the App Connector, or the token's user may not use it ({outcome})",
    ),
    "connector_unreadable": _lt(
        "{connector} gaf geen bruikbaar antwoord ({outcome})",
        "{connector} gave no usable answer ({outcome})",
    ),
    "metainfo_shape": _lt(
        "metainfo/get/{connector} beschrijft geen velden",
        "metainfo/get/{connector} describes no fields",
    ),
    "rows_shape": _lt(
        "{connector} antwoordde niet met rijen in de vorm van AFAS",
        "{connector} did not answer with rows in AFAS's shape",
    ),
    "columns": _lt(
        "geen kolom van {connector} is te herkennen als {roles}; velden: {fields}",
        "no column of {connector} is recognisable as {roles}; fields: {fields}",
    ),
    "needs_administration": _lt(
        "{connector} heeft rijen per administratie ({column}) en de administratie is niet bepaald",
        "{connector} lists rows per administration ({column}) and the administration is not "
        "determined",
    ),
    "no_rows": _lt(
        "{connector} gaf geen rijen{admin} (een leeg antwoord kan ook betekenen dat de gebruiker "
        "van het token ze niet mag zien)",
        "{connector} returned no rows{admin} (an empty answer can also mean that the token's user "
        "may not see them)",
    ),
    "all_blocked": _lt(
        "{connector} meldt alle {count} rijen{admin} als geblokkeerd ({flag})",
        "{connector} reports all {count} rows{admin} blocked ({flag})",
    ),
    "all_periods_blocked": _lt(
        "{connector} meldt alle {count} perioden{admin} als geblokkeerd ({flag}); in een "
        "geblokkeerde periode boekt de bot nooit",
        "{connector} reports all {count} periods{admin} blocked ({flag}); the bot never books "
        "in a blocked period",
    ),
    "no_memorial": _lt(
        "{connector} heeft {count} dagboeken{admin} die niet geblokkeerd zijn, geen daarvan een "
        "memoriaal: {seen}",
        "{connector} has {count} journals{admin} that are not blocked, none of them a memorial "
        "journal: {seen}",
    ),
    "no_cost_account": _lt(
        "{connector} heeft {count} rekeningen{admin} die niet geblokkeerd zijn, geen daarvan "
        "een winst-en-verliesrekening (waarden in {kind_column}: {seen})",
        "{connector} has {count} accounts{admin} that are not blocked, none of them a "
        "profit-and-loss account (values in {kind_column}: {seen})",
    ),
    "given_period_blocked": _lt(
        "{connector} meldt periode {year}/{period}{admin} als geblokkeerd ({flag} = {value}); "
        "in een geblokkeerde periode boekt de bot nooit",
        "{connector} reports period {year}/{period}{admin} blocked ({flag} = {value}); the bot "
        "never books in a blocked period",
    ),
    # warnings
    "given_unknown": _lt(
        "{connector} kent {what} {value}{admin} niet; de opgegeven waarde wordt toch gebruikt",
        "{connector} does not list {what} {value}{admin}; the given value is used anyway",
    ),
    "given_blocked": _lt(
        "{connector} meldt {what} {value}{admin} als geblokkeerd ({flag}); AFAS zal de boeking "
        "waarschijnlijk weigeren",
        "{connector} reports {what} {value}{admin} blocked ({flag}); AFAS will probably refuse "
        "the entry",
    ),
    "given_not_memorial": _lt(
        "dagboek {value} is volgens {connector} geen memoriaal ({seen})",
        "journal {value} is not a memorial journal according to {connector} ({seen})",
    ),
    "given_not_cost": _lt(
        "rekening {value} is volgens {connector} geen winst-en-verliesrekening ({seen})",
        "account {value} is not a profit-and-loss account according to {connector} ({seen})",
    ),
    "given_not_purchase": _lt(
        "btw-code {value} is volgens {connector} geen inkoopcode ({seen})",
        "VAT code {value} is not a purchase code according to {connector} ({seen})",
    ),
    "no_purchase_vat_seen": _lt(
        "{connector}: geen btw-code is als inkoopcode te herkennen (waarden: {seen})",
        "{connector}: no VAT code is recognisable as a purchase code (values: {seen})",
    ),
    "truncated": _lt(
        "{connector} gaf {take} rijen, het maximum dat gevraagd wordt; rijen daarna zijn niet "
        "bekeken",
        "{connector} returned {take} rows, the most asked for; rows after those were not looked at",
    ),
    "refusal": _lt(
        "{value}: gezocht in {connector} naar {looked_for}; {why}. Geef de waarde zelf op.",
        "{value}: looked in {connector} for {looked_for}; {why}. Give the value explicitly.",
    ),
    # given values that cannot be read
    "bad_period": _lt(
        "Periode {text!r} is niet te lezen: schrijf jaar en periode als 2026-11, 2026/11 of "
        "11-2026.",
        "Period {text!r} cannot be read: write the year and period as 2026-11, 2026/11 or 11-2026.",
    ),
    "bad_administration": _lt(
        "Administratie {text!r} is geen administratienummer (alleen cijfers).",
        "Administration {text!r} is not an administration number (digits only).",
    ),
    "bad_code": _lt(
        "{what} {text!r} is geen geldige code (1 tot 40 tekens, geen komma's of regeleinden).",
        "{what} {text!r} is not a valid code (1 to 40 characters, no commas or line breaks).",
    ),
}

VALUE_LABELS: dict[ValueName, LocalText] = {
    ValueName.ADMINISTRATION: _lt("administratie", "administration"),
    ValueName.PERIOD: _lt("periode", "period"),
    ValueName.JOURNAL: _lt("dagboek", "journal"),
    ValueName.COST_ACCOUNT: _lt("kostenrekening", "cost account"),
    ValueName.VAT_CODE: _lt("btw-code", "VAT code"),
}

ROLE_LABELS: dict[Role, LocalText] = {
    Role.ADMINISTRATION: _lt("administratienummer", "administration number"),
    Role.BLOCKED: _lt("'geblokkeerd'", "'blocked'"),
    Role.ACTIVE: _lt("'actief'", "'active'"),
    Role.YEAR: _lt("boekjaar", "year"),
    Role.PERIOD: _lt("periodenummer", "period number"),
    Role.JOURNAL: _lt("dagboekcode", "journal code"),
    Role.ACCOUNT: _lt("rekeningnummer", "account number"),
    Role.ACCOUNT_KIND: _lt("soort rekening (balans / winst en verlies)", "account kind"),
    Role.VAT_CODE: _lt("btw-code", "VAT code"),
}


def _t(key: str, **values: object) -> LocalText:
    return TEXTS[key].format(**values)


def _join(texts: Sequence[LocalText], nl: str = " of ", en: str = " or ") -> LocalText:
    return LocalText(nl=nl.join(t.nl for t in texts), en=en.join(t.en for t in texts))


# -- what the agent gives ------------------------------------------------------------------


class GivenValueError(ValueError):
    """A value the agent gave that cannot be read; ``text`` says so in Dutch and English."""

    def __init__(self, text: LocalText) -> None:
        super().__init__(text.en)
        self.text = text


_PERIOD_FORMS = (
    (re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})"), 0),  # 2026-11, 2026/11
    (re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{4})"), 1),  # 11-2026, 11/2026
)
_CODE = re.compile(r"[^\s,;][^,;\r\n\t]{0,39}")


def parse_period(text: str) -> tuple[int, int]:
    """``"2026-11"``, ``"2026/11"``, ``"11-2026"`` (and ``"11/2026"``) -> ``(2026, 11)``."""
    stripped = text.strip()
    for pattern, year_last in _PERIOD_FORMS:
        found = pattern.fullmatch(stripped)
        if found:
            first, second = (int(g) for g in found.groups())
            year, period = (second, first) if year_last else (first, second)
            if 1900 <= year <= 2999 and 1 <= period <= 99:
                return year, period
    raise GivenValueError(_t("bad_period", text=stripped[:20]))


def _code(text: str | None, what: ValueName) -> str | None:
    if text is None or not text.strip():
        return None
    stripped = text.strip()
    if not _CODE.fullmatch(stripped):
        raise GivenValueError(_t("bad_code", what=VALUE_LABELS[what], text=stripped[:40]))
    return stripped


@dataclass(frozen=True, slots=True)
class GivenValues:
    """Values the agent gave (``--administration``, ``--period``, ``--journal``, ``--accounts``)."""

    administration: int | None = None
    period: tuple[int, int] | None = None  # (year, period)
    journal: str | None = None
    cost_account: str | None = None
    vat_code: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        administration: str | int | None = None,
        period: str | None = None,
        journal: str | None = None,
        accounts: str | None = None,
        vat_code: str | None = None,
    ) -> GivenValues:
        """Read the options as typed; raises ``GivenValueError`` (nl and en) for bad input.
        ``accounts`` is the cost ledger account: the only account the entry takes from the
        ledger (the other line is the creditor of the new purchase relation)."""
        admin: int | None = None
        if isinstance(administration, int) and not isinstance(administration, bool):
            admin = administration
        elif isinstance(administration, str) and administration.strip():
            if not re.fullmatch(r"\d{1,9}", administration.strip()):
                raise GivenValueError(_t("bad_administration", text=administration.strip()[:20]))
            admin = int(administration.strip())
        return cls(
            administration=admin,
            period=parse_period(period) if period and period.strip() else None,
            journal=_code(journal, ValueName.JOURNAL),
            cost_account=_code(accounts, ValueName.COST_ACCOUNT),
            vat_code=_code(vat_code, ValueName.VAT_CODE),
        )


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueSource:
    """Where one value came from: the text for people, and the connector behind it."""

    text: LocalText
    connector: str | None = None  # None: given by the agent and not checked
    given: bool = False


@dataclass(frozen=True, slots=True)
class Determined:
    name: ValueName
    value: Any
    source: ValueSource
    entry_date: date | None = None  # only for the period: a day inside it, nearest to today


class CannotChooseReason(StrEnum):
    CONNECTOR_MISSING = "connector_missing"  # not in the App Connector, or not authorised
    CONNECTOR_UNREADABLE = "connector_unreadable"  # AFAS answered with an error, or nothing
    COLUMNS_NOT_RECOGNISED = "columns_not_recognised"
    NEEDS_ADMINISTRATION = "needs_administration"
    NO_SUITABLE_ROW = "no_suitable_row"
    GIVEN_VALUE_REFUSED = "given_value_refused"  # a given period AFAS reports blocked


@dataclass(frozen=True, slots=True)
class CannotChoose:
    """A value that could not be determined: ask the agent to give it (``given_field``)."""

    value: ValueName
    connector: str
    reason: CannotChooseReason
    looked_for: LocalText
    why: LocalText

    @property
    def given_field(self) -> str:
        """The ``GivenValues`` field that supplies it (the same name)."""
        return self.value.value

    @property
    def message(self) -> LocalText:
        return _t(
            "refusal",
            value=VALUE_LABELS[self.value],
            connector=self.connector,
            looked_for=self.looked_for,
            why=self.why,
        )


@dataclass(frozen=True)
class ExportValues:
    """The values a live export books with, each with where it came from."""

    administration: int | str
    year: int
    period: int
    journal: str
    cost_account: str
    vat_code: str | None  # None: the connector has no purchase VAT code (the source says so)
    entry_date: date | None  # a day inside the period, nearest to today; None if not known
    sources: Mapping[ValueName, ValueSource]
    warnings: tuple[LocalText, ...] = ()

    def source(self, name: ValueName) -> ValueSource:
        return self.sources[name]

    def placeholders(self) -> dict[str, Any]:
        """The export contract's placeholders these values fill, typed as the templates use
        them (``afas.exports.placeholders``: administration, year and period are numbers).
        ``vat_code`` is None when there is no purchase VAT code: leave VaId out then.
        ``entry_date`` (YYYY-MM-DD) is a day inside the period, for the run to use."""
        values: dict[str, Any] = {
            "administration": self.administration,
            "year": self.year,
            "period": self.period,
            "journal": self.journal,
            "cost_account": self.cost_account,
            "vat_code": self.vat_code,
        }
        if self.entry_date is not None:
            values["entry_date"] = self.entry_date.isoformat()
        return values


@dataclass(frozen=True)
class ValuesResult:
    """Every value determined (``values``), or what was found and what was not."""

    found: Mapping[ValueName, Determined]
    refusals: tuple[CannotChoose, ...]
    warnings: tuple[LocalText, ...]

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def values(self) -> ExportValues | None:
        if self.refusals:
            return None
        period = self.found[ValueName.PERIOD]
        year, number = period.value
        return ExportValues(
            administration=self.found[ValueName.ADMINISTRATION].value,
            year=year,
            period=number,
            journal=str(self.found[ValueName.JOURNAL].value),
            cost_account=str(self.found[ValueName.COST_ACCOUNT].value),
            vat_code=_optional_str(self.found[ValueName.VAT_CODE].value),
            entry_date=period.entry_date,
            sources=MappingProxyType({name: d.source for name, d in self.found.items()}),
            warnings=self.warnings,
        )

    def refusal(self, name: ValueName) -> CannotChoose | None:
        return next((r for r in self.refusals if r.value is name), None)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


# -- reading the connectors ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorReading:
    """AFAS's two answers about one GetConnector: its fields and its first rows."""

    connector: str
    metainfo: AfasOutcome
    rows: AfasOutcome
    take: int = DEFAULT_TAKE


async def discover_values(
    client: AfasClient,
    environment: AfasEnvironment,
    token: AfasToken,
    *,
    given: GivenValues | None = None,
    today: date,
    connectors: ValueConnectors | None = None,
    take: int = DEFAULT_TAKE,
) -> ValuesResult:
    """Read the five GetConnectors (fields and rows, all at once) and choose the values.

    Ten requests, concurrent; the client's per-environment limit keeps AFAS's parallel-call
    limit (§5.3). Rows are read in one page of ``take``: enough for these small lists.
    """
    connectors = connectors or ValueConnectors()
    ids = connectors.ids()
    calls = []
    for connector_id in ids:
        calls.append(client.metainfo_get(environment, token, connector_id))
        calls.append(client.get_connector(environment, token, connector_id, skip=0, take=take))
    outcomes = await asyncio.gather(*calls)
    readings = {
        connector_id: ConnectorReading(
            connector_id, outcomes[2 * i], outcomes[2 * i + 1], take=take
        )
        for i, connector_id in enumerate(ids)
    }
    return choose_values(readings, given=given, today=today, connectors=connectors)


# -- choosing (pure) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Problem:
    reason: CannotChooseReason
    why: LocalText


@dataclass(frozen=True, slots=True)
class _Table:
    """A connector whose columns were recognised and whose rows were read."""

    connector: str
    match: ColumnMatch
    rows: Sequence[Row]

    def column(self, role: Role) -> Column | None:
        return self.match.get(role)

    def value(self, row: Row, role: Role) -> Any:
        column = self.match.get(role)
        return None if column is None else row.get(column.id)

    def flag_text(self, row: Row | None = None) -> LocalText:
        flag = flag_column(self.match)
        if flag is None:
            return TEXTS["no_flag"]
        shown = _shown(row.get(flag.id)) if row is not None else "…"
        return _t("not_blocked", flag=flag.describe(), value=shown)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _prepare(reading: ConnectorReading | None, shape: Shape, connector: str) -> _Table | _Problem:
    if reading is None:  # the caller handed in no answers for it
        return _unreadable(connector, AfasOutcome(OutcomeKind.MALFORMED_ANSWER, message="not read"))
    for outcome in (reading.metainfo, reading.rows):
        if outcome.kind is OutcomeKind.CONNECTOR_NOT_AUTHORISED:
            why = _t("connector_missing", connector=connector, outcome=outcome.summary())
            return _Problem(CannotChooseReason.CONNECTOR_MISSING, why)
    if not reading.metainfo.ok:
        return _unreadable(connector, reading.metainfo)
    try:
        match = match_columns(reading.metainfo.data, shape)
    except MetainfoShapeError:
        return _Problem(
            CannotChooseReason.CONNECTOR_UNREADABLE, _t("metainfo_shape", connector=connector)
        )
    if not match.ok:
        groups = [_join([ROLE_LABELS[r] for r in group]) for group in match.missing]
        roles = _join(groups, " en ", " and ")
        seen = ", ".join(c.describe() for c in match.fields) or "-"
        why = _t("columns", connector=connector, roles=roles, fields=seen)
        return _Problem(CannotChooseReason.COLUMNS_NOT_RECOGNISED, why)
    if not reading.rows.ok:
        return _unreadable(connector, reading.rows)
    rows = rows_of(reading.rows.data)
    if rows is None:
        return _Problem(
            CannotChooseReason.CONNECTOR_UNREADABLE, _t("rows_shape", connector=connector)
        )
    return _Table(connector, match, rows)


def _unreadable(connector: str, outcome: AfasOutcome) -> _Problem:
    why = _t("connector_unreadable", connector=connector, outcome=outcome.summary())
    return _Problem(CannotChooseReason.CONNECTOR_UNREADABLE, why)


class _Chooser:
    """One run of choosing: the prepared tables, the given values, the warnings so far."""

    def __init__(
        self,
        readings: Mapping[str, ConnectorReading],
        connectors: ValueConnectors,
        given: GivenValues,
        today: date,
    ) -> None:
        self.given, self.today = given, today
        self.warnings: list[LocalText] = []
        self.tables: dict[ValueName, _Table | _Problem] = {}
        self.connectors: dict[ValueName, str] = {}
        for name, connector, shape in (
            (ValueName.ADMINISTRATION, connectors.administrations, ADMINISTRATIONS),
            (ValueName.PERIOD, connectors.periods, PERIODS),
            (ValueName.JOURNAL, connectors.journals, JOURNALS),
            (ValueName.COST_ACCOUNT, connectors.ledger_accounts, LEDGER_ACCOUNTS),
            (ValueName.VAT_CODE, connectors.vat_codes, VAT_CODES),
        ):
            reading = readings.get(connector)
            table = _prepare(reading, shape, connector)
            self.tables[name], self.connectors[name] = table, connector
            if isinstance(table, _Table) and reading and len(table.rows) >= reading.take:
                self.warnings.append(_t("truncated", connector=connector, take=reading.take))

    # -- the common steps --------------------------------------------------------------------

    def refuse(
        self, name: ValueName, reason: CannotChooseReason, looked_for: LocalText, why: LocalText
    ) -> CannotChoose:
        return CannotChoose(name, self.connectors[name], reason, looked_for, why)

    def given_unchecked(self, name: ValueName, value: Any, problem: _Problem) -> Determined:
        text = _t("given", check=_t("not_checked", why=problem.why))
        return Determined(name, value, ValueSource(text, None, given=True))

    def given_checked(self, name: ValueName, value: Any, confirmed: bool) -> Determined:
        connector = self.connectors[name]
        check = _t("checked" if confirmed else "not_confirmed", connector=connector)
        return Determined(name, value, ValueSource(_t("given", check=check), connector, given=True))

    def rows_for(self, table: _Table, admin: Determined | CannotChoose) -> Sequence[Row] | _Problem:
        """The table's rows of the chosen administration; all rows if it has no such column."""
        column = table.column(Role.ADMINISTRATION)
        if column is None:
            return table.rows
        if isinstance(admin, CannotChoose):
            why = _t("needs_administration", connector=table.connector, column=column.describe())
            return _Problem(CannotChooseReason.NEEDS_ADMINISTRATION, why)
        return [r for r in table.rows if same_key(r.get(column.id), admin.value)]

    def of_admin(self, table: _Table | _Problem, admin: Determined | CannotChoose) -> LocalText:
        """The suffix " of administration 1", where the table is per administration (or
        could not be read, so may be)."""
        per_admin = isinstance(table, _Problem) or table.column(Role.ADMINISTRATION) is not None
        if per_admin and isinstance(admin, Determined):
            return _t("of_admin", admin=admin.value)
        return _EMPTY

    def warn_given(
        self, name: ValueName, table: _Table, row: Row | None, value: Any, admin: LocalText
    ) -> bool:
        """Warn when the table does not list a given value or reports it blocked."""
        what = VALUE_LABELS[name]
        if row is None:
            self.warnings.append(
                _t("given_unknown", connector=table.connector, what=what, value=value, admin=admin)
            )
            return False
        if is_blocked(row, table.match) is not False:
            flag = _flag_value(table, row)
            self.warnings.append(
                _t(
                    "given_blocked",
                    connector=table.connector,
                    what=what,
                    value=value,
                    admin=admin,
                    flag=flag,
                )
            )
            return False
        return True


def _flag_value(table: _Table, row: Row) -> str:
    """``'Blocked' (Geblokkeerd) = true``: the flag as the row shows it."""
    flag = flag_column(table.match)
    return "-" if flag is None else f"{flag.describe()} = {_shown(row.get(flag.id))}"


#: An empty suffix; LocalText itself insists on text, which is right everywhere else.
_EMPTY = LocalText.model_construct(nl="", en="")


def choose_values(
    readings: Mapping[str, ConnectorReading],
    *,
    given: GivenValues | None = None,
    today: date,
    connectors: ValueConnectors | None = None,
) -> ValuesResult:
    """Choose every value from AFAS's answers; pure, so every rule is tested without HTTP."""
    chooser = _Chooser(readings, connectors or ValueConnectors(), given or GivenValues(), today)
    admin = _administration(chooser)
    results: list[Determined | CannotChoose] = [
        admin,
        _period(chooser, admin),
        _journal(chooser, admin),
        _cost_account(chooser, admin),
        _vat_code(chooser, admin),
    ]
    found = {r.name: r for r in results if isinstance(r, Determined)}
    refusals = tuple(r for r in results if isinstance(r, CannotChoose))
    return ValuesResult(found, refusals, tuple(chooser.warnings))


# -- the five values -----------------------------------------------------------------------


def _unavailable(
    c: _Chooser, name: ValueName, problem: _Problem, given: Any, looked_for: LocalText
) -> Determined | CannotChoose:
    """A connector that cannot be used: a given value stands (unchecked), else a refusal."""
    if given is not None:
        return c.given_unchecked(name, given, problem)
    return c.refuse(name, problem.reason, looked_for, problem.why)


def _find(table: _Table, rows: Sequence[Row], role: Role, value: Any) -> Row | None:
    column = table.column(role)
    if column is None:
        return None
    return next((r for r in rows if same_key(r.get(column.id), value)), None)


def _usable(table: _Table, rows: Sequence[Row]) -> list[Row]:
    """Rows the connector does not report blocked; an unreadable flag counts as blocked."""
    return [r for r in rows if is_blocked(r, table.match) is False]


def _name(table: _Table, row: Row) -> str:
    value = table.value(row, Role.NAME)
    return f" ({value})" if value not in (None, "") else ""


def _nothing_usable(table: _Table, rows: Sequence[Row], admin: LocalText) -> LocalText:
    if not rows:
        return _t("no_rows", connector=table.connector, admin=admin)
    flag = flag_column(table.match)
    return _t(
        "all_blocked",
        connector=table.connector,
        count=len(rows),
        admin=admin,
        flag=flag.describe() if flag else "-",
    )


def _key_value(value: Any) -> Any:
    """An administration number as a number where AFAS sends it as digits."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _administration(c: _Chooser) -> Determined | CannotChoose:
    name = ValueName.ADMINISTRATION
    table, given = c.tables[name], c.given.administration
    looked_for = TEXTS["for_administration"]
    if isinstance(table, _Problem):
        return _unavailable(c, name, table, given, looked_for)
    if given is not None:
        row = _find(table, table.rows, Role.ADMINISTRATION, given)
        return c.given_checked(name, given, c.warn_given(name, table, row, given, _EMPTY))
    usable = [r for r in _usable(table, table.rows) if table.value(r, Role.ADMINISTRATION)]
    if not usable:
        why = _nothing_usable(table, table.rows, _EMPTY)
        return c.refuse(name, CannotChooseReason.NO_SUITABLE_ROW, looked_for, why)
    row = usable[0]
    value = _key_value(table.value(row, Role.ADMINISTRATION))
    text = _t(
        "src_administration",
        connector=table.connector,
        column=_describe(table, Role.ADMINISTRATION),
        value=value,
        name=_name(table, row),
        flag=table.flag_text(row),
    )
    return Determined(name, value, ValueSource(text, table.connector))


def _describe(table: _Table, role: Role) -> str:
    column = table.column(role)
    return column.describe() if column else "-"


# -- the period ----------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _date(value: Any) -> date | None:
    """AFAS's ``2024-09-01T00:00:00Z`` (local time despite the Z, §3): only the day counts."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _month(year: int, period: int) -> tuple[date, date] | None:
    """Periods 1 to 12 read as months when the connector gives no dates (the usual set-up)."""
    if not 1 <= period <= 12:
        return None
    return date(year, period, 1), date(year, period, calendar.monthrange(year, period)[1])


@dataclass(frozen=True, slots=True)
class _PeriodRow:
    row: Row
    year: int
    period: int
    span: tuple[date, date] | None
    span_from_columns: bool

    def distance(self, today: date) -> int:
        """Days from today to the period (0 inside it)."""
        if self.span is None:
            return abs(self.year - today.year) * 366 + self.period
        start, end = self.span
        if today < start:
            return (start - today).days
        if today > end:
            return (today - end).days
        return 0

    def entry_date(self, today: date) -> date | None:
        if self.span is None:
            return None
        start, end = self.span
        return min(max(today, start), end)


def _period_rows(table: _Table, rows: Sequence[Row]) -> list[_PeriodRow]:
    result = []
    for row in rows:
        year, period = _int(table.value(row, Role.YEAR)), _int(table.value(row, Role.PERIOD))
        if year is None or period is None:
            continue
        start = _date(table.value(row, Role.START_DATE))
        end = _date(table.value(row, Role.END_DATE))
        if start and end and start <= end:
            result.append(_PeriodRow(row, year, period, (start, end), True))
        else:
            result.append(_PeriodRow(row, year, period, _month(year, period), False))
    return result


def _period(c: _Chooser, admin: Determined | CannotChoose) -> Determined | CannotChoose:
    name = ValueName.PERIOD
    table, given = c.tables[name], c.given.period
    suffix = c.of_admin(table, admin)
    looked_for = _t("for_period", admin=suffix)
    if isinstance(table, _Problem):
        return _given_period_unchecked(c, table, given, looked_for)
    rows = c.rows_for(table, admin)
    if isinstance(rows, _Problem):
        return _given_period_unchecked(c, rows, given, looked_for)
    periods = _period_rows(table, rows)
    if given is not None:
        return _given_period(c, table, periods, given, suffix)
    open_periods = [p for p in periods if is_blocked(p.row, table.match) is False]
    if not open_periods:
        why = (
            _t("no_rows", connector=table.connector, admin=suffix)
            if not periods
            else _t(
                "all_periods_blocked",
                connector=table.connector,
                count=len(periods),
                admin=suffix,
                flag=flag_column(table.match).describe(),  # PERIODS requires a flag column
            )
        )
        return c.refuse(name, CannotChooseReason.NO_SUITABLE_ROW, looked_for, why)
    best = min(open_periods, key=lambda p: (p.distance(c.today), p.year, p.period))
    why = (
        TEXTS["current"]
        if best.distance(c.today) == 0
        else _t("nearest", today=c.today.isoformat())
    )
    dates = (
        _t("dates", start=best.span[0].isoformat(), end=best.span[1].isoformat())
        if best.span and best.span_from_columns
        else _EMPTY
    )
    text = _t(
        "src_period",
        connector=table.connector,
        year_column=_describe(table, Role.YEAR),
        year=best.year,
        period_column=_describe(table, Role.PERIOD),
        period=best.period,
        dates=dates,
        flag=table.flag_text(best.row),
        why=why,
    )
    source = ValueSource(text, table.connector)
    return Determined(name, (best.year, best.period), source, best.entry_date(c.today))


def _given_period_unchecked(
    c: _Chooser, problem: _Problem, given: tuple[int, int] | None, looked_for: LocalText
) -> Determined | CannotChoose:
    found = _unavailable(c, ValueName.PERIOD, problem, given, looked_for)
    if isinstance(found, Determined) and given is not None:
        span = _month(*given)
        entry = min(max(c.today, span[0]), span[1]) if span else None
        return Determined(found.name, found.value, found.source, entry)
    return found


def _given_period(
    c: _Chooser,
    table: _Table,
    periods: Sequence[_PeriodRow],
    given: tuple[int, int],
    suffix: LocalText,
) -> Determined | CannotChoose:
    """A given period wins, unless the connector reports it blocked: that one is refused."""
    year, number = given
    matching = [p for p in periods if (p.year, p.period) == given]
    blocked = [p for p in matching if is_blocked(p.row, table.match) is not False]
    if blocked:
        looked_for = _t("for_given_period", year=year, period=number, admin=suffix)
        flag = flag_column(table.match)
        why = _t(
            "given_period_blocked",
            connector=table.connector,
            year=year,
            period=number,
            admin=suffix,
            flag=flag.describe() if flag else "-",
            value=_shown(blocked[0].row.get(flag.id)) if flag else "-",
        )
        return c.refuse(ValueName.PERIOD, CannotChooseReason.GIVEN_VALUE_REFUSED, looked_for, why)
    if not matching:
        c.warnings.append(
            _t(
                "given_unknown",
                connector=table.connector,
                what=VALUE_LABELS[ValueName.PERIOD],
                value=f"{year}/{number}",
                admin=suffix,
            )
        )
        span = _month(year, number)
        entry = min(max(c.today, span[0]), span[1]) if span else None
    else:
        entry = matching[0].entry_date(c.today)
    found = c.given_checked(ValueName.PERIOD, given, bool(matching))
    return Determined(found.name, found.value, found.source, entry)


# -- the journal, the cost account, the VAT code ------------------------------------------


def _evidence(
    table: _Table, row: Row, kind_role: Role, reads: Callable[[Any], Any]
) -> tuple[Column, Any, Any] | None:
    """What the row says about its kind: the kind column where it says something readable,
    else the name. Returns (column, its value, what ``reads`` made of it)."""
    for role in (kind_role, Role.NAME):
        column = table.column(role)
        if column is None:
            continue
        value = row.get(column.id)
        meaning = reads(value)
        if meaning is not None and meaning is not False:
            return column, value, meaning
        if role is kind_role and isinstance(value, str) and value.strip() and not value.isdigit():
            return column, value, meaning  # the kind column speaks, even if not what we want
    return None


def _memorial(value: Any) -> bool | None:
    return True if sounds_like_memorial(value) else None


def _seen(table: _Table, row: Row, kind_role: Role) -> str:
    column = table.column(kind_role) or table.column(Role.NAME)
    return "-" if column is None else f"{column.describe()} = {_shown(row.get(column.id))}"


def _journal(c: _Chooser, admin: Determined | CannotChoose) -> Determined | CannotChoose:
    name = ValueName.JOURNAL
    table, given = c.tables[name], c.given.journal
    suffix = c.of_admin(table, admin)
    looked_for = _t("for_journal", admin=suffix)
    if isinstance(table, _Problem):
        return _unavailable(c, name, table, given, looked_for)
    rows = c.rows_for(table, admin)
    if isinstance(rows, _Problem):
        return _unavailable(c, name, rows, given, looked_for)
    if given is not None:
        row = _find(table, rows, Role.JOURNAL, given)
        confirmed = c.warn_given(name, table, row, given, suffix)
        if confirmed and row is not None and not _is_memorial(table, row):
            seen = _seen(table, row, Role.JOURNAL_TYPE)
            c.warnings.append(
                _t("given_not_memorial", connector=table.connector, value=given, seen=seen)
            )
        return c.given_checked(name, given, confirmed)
    usable = _usable(table, rows)
    memorial = [(r, e) for r in usable if (e := _memorial_evidence(table, r))]
    if not memorial:
        why = (
            _nothing_usable(table, rows, suffix)
            if not usable
            else _t(
                "no_memorial",
                connector=table.connector,
                count=len(usable),
                admin=suffix,
                seen=_listing(table, usable, Role.JOURNAL, Role.JOURNAL_TYPE),
            )
        )
        return c.refuse(name, CannotChooseReason.NO_SUITABLE_ROW, looked_for, why)
    row, (column, kind, _) = memorial[0]
    value = str(table.value(row, Role.JOURNAL))
    text = _t(
        "src_journal",
        connector=table.connector,
        column=_describe(table, Role.JOURNAL),
        value=value,
        name=_name(table, row) if column.id != _id(table, Role.NAME) else "",
        kind_column=column.describe(),
        kind=kind,
        flag=table.flag_text(row),
    )
    return Determined(name, value, ValueSource(text, table.connector))


def _id(table: _Table, role: Role) -> str | None:
    column = table.column(role)
    return column.id if column else None


def _memorial_evidence(table: _Table, row: Row) -> tuple[Column, Any, Any] | None:
    found = _evidence(table, row, Role.JOURNAL_TYPE, _memorial)
    if found is not None and found[2]:
        return found
    code = table.column(Role.JOURNAL)
    if found is None and code is not None and sounds_like_memorial(row.get(code.id)):
        return code, row.get(code.id), True  # nothing else to go by: the code itself ("MEM")
    return None


def _is_memorial(table: _Table, row: Row) -> bool:
    return _memorial_evidence(table, row) is not None


def _listing(table: _Table, rows: Sequence[Row], key: Role, kind: Role, limit: int = 8) -> str:
    """``INK (Inkoop), VRK (Verkoop)``: what the agent can choose from."""
    parts = []
    for row in rows[:limit]:
        kind_value = table.value(row, kind) or table.value(row, Role.NAME)
        shown = _shown(table.value(row, key))
        parts.append(f"{shown} ({kind_value})" if kind_value not in (None, "") else shown)
    more = len(rows) - limit
    return ", ".join(parts) + (f", … (+{more})" if more > 0 else "")


def _cost_account(c: _Chooser, admin: Determined | CannotChoose) -> Determined | CannotChoose:
    name = ValueName.COST_ACCOUNT
    table, given = c.tables[name], c.given.cost_account
    suffix = c.of_admin(table, admin)
    looked_for = _t("for_cost_account", admin=suffix)
    if isinstance(table, _Problem):
        return _unavailable(c, name, table, given, looked_for)
    rows = c.rows_for(table, admin)
    if isinstance(rows, _Problem):
        return _unavailable(c, name, rows, given, looked_for)
    kind_of = lambda row: account_kind(table.value(row, Role.ACCOUNT_KIND))  # noqa: E731
    if given is not None:
        row = _find(table, rows, Role.ACCOUNT, given)
        confirmed = c.warn_given(name, table, row, given, suffix)
        if confirmed and row is not None and kind_of(row) is not AccountKind.PROFIT_AND_LOSS:
            seen = _seen(table, row, Role.ACCOUNT_KIND)
            c.warnings.append(
                _t("given_not_cost", connector=table.connector, value=given, seen=seen)
            )
        return c.given_checked(name, given, confirmed)
    usable = _usable(table, rows)
    costs = [r for r in usable if kind_of(r) is AccountKind.PROFIT_AND_LOSS]
    if not costs:
        kinds = {_shown(table.value(r, Role.ACCOUNT_KIND)) for r in usable}
        why = (
            _nothing_usable(table, rows, suffix)
            if not usable
            else _t(
                "no_cost_account",
                connector=table.connector,
                count=len(usable),
                admin=suffix,
                kind_column=_describe(table, Role.ACCOUNT_KIND),
                seen=", ".join(sorted(kinds)[:8]),
            )
        )
        return c.refuse(name, CannotChooseReason.NO_SUITABLE_ROW, looked_for, why)
    # Costs rather than revenue, and no cost centre needed on the line: the smallest entry.
    row = min(
        costs,
        key=lambda r: (
            sounds_like_revenue(table.value(r, Role.NAME)),
            truth(table.value(r, Role.ALLOCATION_REQUIRED)) is True,
        ),
    )
    value = str(table.value(row, Role.ACCOUNT))
    text = _t(
        "src_account",
        connector=table.connector,
        column=_describe(table, Role.ACCOUNT),
        value=value,
        name=_name(table, row),
        kind_column=_describe(table, Role.ACCOUNT_KIND),
        kind=table.value(row, Role.ACCOUNT_KIND),
        flag=table.flag_text(row),
    )
    return Determined(name, value, ValueSource(text, table.connector))


def _vat_evidence(table: _Table, row: Row) -> tuple[Column, Any, Any] | None:
    return _evidence(table, row, Role.VAT_TYPE, vat_direction)


def _vat_code(c: _Chooser, admin: Determined | CannotChoose) -> Determined | CannotChoose:
    name = ValueName.VAT_CODE
    table, given = c.tables[name], c.given.vat_code
    suffix = c.of_admin(table, admin)
    looked_for = _t("for_vat_code", admin=suffix)
    if isinstance(table, _Problem):
        return _unavailable(c, name, table, given, looked_for)
    rows = c.rows_for(table, admin)
    if isinstance(rows, _Problem):
        return _unavailable(c, name, rows, given, looked_for)
    if given is not None:
        row = _find(table, rows, Role.VAT_CODE, given)
        confirmed = c.warn_given(name, table, row, given, suffix)
        evidence = _vat_evidence(table, row) if confirmed and row is not None else None
        if confirmed and row is not None and (not evidence or evidence[2] != VatDirection.PURCHASE):
            seen = _seen(table, row, Role.VAT_TYPE)
            c.warnings.append(
                _t("given_not_purchase", connector=table.connector, value=given, seen=seen)
            )
        return c.given_checked(name, given, confirmed)
    if not rows:
        why = _t("no_rows", connector=table.connector, admin=suffix)
        return c.refuse(name, CannotChooseReason.NO_SUITABLE_ROW, looked_for, why)
    purchase = []
    for row in _usable(table, rows):
        evidence = _vat_evidence(table, row)
        if evidence and evidence[2] is VatDirection.PURCHASE:
            purchase.append((row, evidence))
    if not purchase:
        if not any((e := _vat_evidence(table, r)) and e[2] is not None for r in rows):
            seen = _listing(table, rows, Role.VAT_CODE, Role.VAT_TYPE)
            c.warnings.append(_t("no_purchase_vat_seen", connector=table.connector, seen=seen))
        text = _t("src_no_vat", connector=table.connector, admin=suffix)
        return Determined(name, None, ValueSource(text, table.connector))

    def preference(item: tuple[Row, Any]) -> tuple[int, float]:
        rate = percentage(table.value(item[0], Role.VAT_PERCENTAGE))
        if rate is None:
            return (2, 0.0)
        return (0 if rate == 0 else 1, rate)

    row, (column, kind, _) = min(purchase, key=preference)
    rate_column = table.column(Role.VAT_PERCENTAGE)
    rate = (
        f", {rate_column.describe()} = {_shown(row.get(rate_column.id))}"
        if rate_column is not None
        else ""
    )
    value = str(table.value(row, Role.VAT_CODE))
    text = _t(
        "src_vat",
        connector=table.connector,
        column=_describe(table, Role.VAT_CODE),
        value=value,
        name=_name(table, row) if column.id != _id(table, Role.NAME) else "",
        kind_column=column.describe(),
        kind=kind,
        rate=rate,
        flag=table.flag_text(row),
    )
    return Determined(name, value, ValueSource(text, table.connector))
