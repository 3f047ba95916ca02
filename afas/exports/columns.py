"""Which column of a customer's GetConnector holds what: a pure matcher over ``/metainfo/get``.

The GetConnectors a live export reads its values from (SBQ_Administratie, CaseWare_Periods,
Precal_Dagboeken, SBQ_Grootboekrekeningen, SBQ_BTW) are the vendor's and the customer's own;
their field ids are documented nowhere and may differ per environment (afas-api.md §13.14). What
AFAS does tell us, per field, is an id, a label (in the environment's language, Dutch or English)
and a data type (§4.2). So a column is recognised by its label first and its id second, each
compared as lowercase words without accents or punctuation ("Btw-code", "BTW code", "VatCode"
all read ``btwcode`` / ``vatcode``), and the data type breaks ties or rules a column out.

Also here: reading the values in those columns ("Ja", "true", 1 for a flag; "Winst en verlies"
or "P&L" for an account's kind; "Inkoop" or "Purchase" for a VAT code's direction), since the
vocabulary is the same problem. Everything here is pure: JSON in, answers out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """What a column means, in the words of the export."""

    ADMINISTRATION = "administration"  # the administration's number (FiEntries UnId)
    NAME = "name"  # a name or description, only to show which row was chosen
    BLOCKED = "blocked"  # true = not to be used
    ACTIVE = "active"  # the opposite flag: true = usable
    YEAR = "year"
    PERIOD = "period"
    START_DATE = "start_date"
    END_DATE = "end_date"
    JOURNAL = "journal"  # the journal's code (FiEntries JoCo)
    JOURNAL_TYPE = "journal_type"
    ACCOUNT = "account"  # the ledger account's number (FiEntries AcNr)
    ACCOUNT_KIND = "account_kind"  # balance sheet or profit and loss
    ALLOCATION_REQUIRED = "allocation_required"  # a cost centre must be given on the line
    VAT_CODE = "vat_code"  # FiEntries VaId
    VAT_PERCENTAGE = "vat_percentage"
    VAT_TYPE = "vat_type"  # purchase, sales, reverse charge, ...


@dataclass(frozen=True, slots=True)
class Column:
    """One field of ``/metainfo/get/{id}``: what AFAS says about it."""

    id: str
    label: str
    data_type: str

    def describe(self) -> str:
        """How a person finds it in the connector: ``'AdminId' (Administratie)``."""
        return f"'{self.id}' ({self.label})" if self.label else f"'{self.id}'"


@dataclass(frozen=True, slots=True)
class Shape:
    """The columns one connector must and may have. ``required`` holds alternatives: a
    column for one of the roles in each group is needed (BLOCKED or ACTIVE, for instance)."""

    name: str
    required: tuple[tuple[Role, ...], ...]
    optional: tuple[Role, ...] = ()

    @property
    def roles(self) -> tuple[Role, ...]:
        wanted = [role for group in self.required for role in group]
        return tuple(dict.fromkeys([*wanted, *self.optional]))


ADMINISTRATIONS = Shape(
    "administrations",
    required=((Role.ADMINISTRATION,),),
    optional=(Role.NAME, Role.BLOCKED, Role.ACTIVE),
)
#: A period's flag is required: without it nobody can tell an open period from a blocked one.
PERIODS = Shape(
    "periods",
    required=((Role.YEAR,), (Role.PERIOD,), (Role.BLOCKED, Role.ACTIVE)),
    optional=(Role.ADMINISTRATION, Role.START_DATE, Role.END_DATE),
)
JOURNALS = Shape(
    "journals",
    required=((Role.JOURNAL,),),
    optional=(Role.ADMINISTRATION, Role.JOURNAL_TYPE, Role.NAME, Role.BLOCKED, Role.ACTIVE),
)
LEDGER_ACCOUNTS = Shape(
    "ledger_accounts",
    required=((Role.ACCOUNT,), (Role.ACCOUNT_KIND,)),
    optional=(Role.ADMINISTRATION, Role.NAME, Role.BLOCKED, Role.ACTIVE, Role.ALLOCATION_REQUIRED),
)
VAT_CODES = Shape(
    "vat_codes",
    required=((Role.VAT_CODE,),),
    optional=(
        Role.ADMINISTRATION,
        Role.VAT_PERCENTAGE,
        Role.VAT_TYPE,
        Role.NAME,
        Role.BLOCKED,
        Role.ACTIVE,
    ),
)


# -- words ---------------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+|[&%]")


def words(text: str) -> tuple[str, ...]:
    """Lowercase words without accents: ``"Btw-code"`` -> ``("btw", "code")``,
    ``"AccountNo"`` -> ``("account", "no")``, ``"W&V"`` -> ``("w", "&", "v")``."""
    split = _CAMEL.sub(" ", text)
    plain = unicodedata.normalize("NFKD", split)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return tuple(_WORD.findall(plain.casefold()))


@dataclass(frozen=True, slots=True)
class _Text:
    tokens: frozenset[str]
    joined: str

    @classmethod
    def of(cls, text: str) -> _Text:
        parts = words(text)
        return cls(frozenset(parts), "".join(parts))

    def has(self, keyword: str) -> bool:
        """``=kw`` is a whole word; anything else may sit inside a compound ("boekjaar")."""
        if keyword.startswith("="):
            return keyword[1:] in self.tokens
        return keyword in self.joined


# -- data types ------------------------------------------------------------------------------

_TYPE_FAMILIES = {
    "string": "text",
    "text": "text",
    "char": "text",
    "int": "int",
    "integer": "int",
    "long": "int",
    "smallint": "int",
    "decimal": "number",
    "double": "number",
    "float": "number",
    "number": "number",
    "numeric": "number",
    "date": "date",
    "datetime": "date",
    "time": "date",
    "boolean": "bool",
    "bool": "bool",
}


def type_family(data_type: str) -> str:
    """AFAS's ``dataType`` as text/int/number/date/bool (its vocabulary is unknown, §13.11)."""
    return _TYPE_FAMILIES.get(data_type.strip().casefold(), "other")


# -- the rules -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    exact: tuple[str, ...]  # joined forms that are this role beyond doubt
    any_of: tuple[str, ...]  # one of these must occur
    none_of: tuple[str, ...] = ()  # any of these rules the column out
    prefer: tuple[str, ...] = ()  # type families that fit best
    allow: tuple[str, ...] = ("text", "int", "number", "date", "bool", "other")  # the others fail


_NAMEISH = ("naam", "name", "=nm", "omschrijving", "descr", "=oms")
_FLAGGISH = ("geblokkeerd", "blokkeer", "blocked", "=block", "inactief", "inactive", "actief")

RULES: dict[Role, _Rule] = {
    Role.ADMINISTRATION: _Rule(
        exact=(
            "administratie",
            "administratienummer",
            "administratienr",
            "nummeradministratie",
            "administration",
            "administrationnumber",
            "administrationno",
            "administrationid",
            "adminid",
            "admin",
            "unit",
            "unitid",
            "unid",
            "company",
            "companyid",
            "companynumber",
        ),
        any_of=("administrati", "administration", "=admin", "=unit", "=unid", "company"),
        none_of=(*_NAMEISH, "valuta", "currency", "btw", "vat", "kvk", "coc", "code", "type"),
        prefer=("int",),
        allow=("int", "text", "number"),
    ),
    Role.NAME: _Rule(
        exact=(
            "omschrijving",
            "description",
            "naam",
            "name",
            "naamadministratie",
            "administratienaam",
            "administrationname",
            "companyname",
        ),
        any_of=_NAMEISH,
        none_of=("type", "soort", "kind"),
        prefer=("text",),
        allow=("text",),
    ),
    Role.BLOCKED: _Rule(
        exact=("geblokkeerd", "blocked", "blokkeren", "inactief", "inactive", "isblocked"),
        any_of=(
            "geblokkeerd",
            "blokkeer",
            "blocked",
            "=block",
            "inactief",
            "inactive",
            "vervallen",
            "expired",
            "disabled",
            "uitgeschakeld",
            "gesloten",
            "closed",
            "locked",
            "=dicht",
        ),
        prefer=("bool",),
        allow=("bool", "int", "text"),
    ),
    Role.ACTIVE: _Rule(
        exact=("actief", "active", "open", "isactive", "enabled"),
        any_of=("actief", "active", "=open", "enabled"),
        none_of=("inactief", "inactive", "=niet", "=not", "=non"),
        prefer=("bool",),
        allow=("bool", "int", "text"),
    ),
    Role.YEAR: _Rule(
        exact=("boekjaar", "jaar", "year", "fiscalyear", "financialyear", "bookyear", "yearno"),
        any_of=("jaar", "year"),
        none_of=("datum", "date", "=dag", "=day"),
        prefer=("int",),
        allow=("int", "text", "number"),
    ),
    Role.PERIOD: _Rule(
        exact=(
            "periode",
            "period",
            "periodenummer",
            "periodenr",
            "periodnumber",
            "periodno",
            "periodnr",
            "boekperiode",
            "fiscalperiod",
        ),
        any_of=("periode", "period"),
        none_of=(
            "jaar",
            "year",
            "datum",
            "date",
            "begin",
            "eind",
            "start",
            "=end",
            "=van",
            "=tot",
            "from",
            "until",
            *_NAMEISH,
            *_FLAGGISH,
            "status",
        ),
        prefer=("int",),
        allow=("int", "text", "number"),
    ),
    Role.START_DATE: _Rule(
        exact=("begindatum", "startdatum", "startdate", "begindate", "datefrom", "fromdate"),
        any_of=(
            "begindatum",
            "startdatum",
            "startdate",
            "begindate",
            "datumvan",
            "datefrom",
            "fromdate",
            "vanafdatum",
            "periodstart",
            "periodebegin",
            "validfrom",
            "geldigvan",
            "=van",
            "=vanaf",
            "=from",
            "=begin",
            "=start",
        ),
        prefer=("date",),
        allow=("date", "text"),
    ),
    Role.END_DATE: _Rule(
        exact=("einddatum", "enddate", "dateto", "todate", "datetill"),
        any_of=(
            "einddatum",
            "enddate",
            "datumtot",
            "dateto",
            "todate",
            "totdatum",
            "periodend",
            "periodeeinde",
            "validto",
            "validuntil",
            "geldigtot",
            "=tot",
            "=to",
            "=until",
            "=eind",
            "=end",
        ),
        prefer=("date",),
        allow=("date", "text"),
    ),
    Role.JOURNAL: _Rule(
        exact=(
            "dagboek",
            "dagboekcode",
            "codedagboek",
            "dagboeknummer",
            "journal",
            "journalcode",
            "journalid",
            "journalno",
            "joco",
        ),
        any_of=("dagboek", "journal", "=joco"),
        none_of=(
            "type",
            "soort",
            "kind",
            *_NAMEISH,
            "rekening",
            "account",
            *_FLAGGISH,
            "admin",
        ),
        prefer=("text",),
        allow=("text", "int"),
    ),
    Role.JOURNAL_TYPE: _Rule(
        exact=(
            "typedagboek",
            "dagboektype",
            "soortdagboek",
            "dagboeksoort",
            "journaltype",
            "journalkind",
            "type",
        ),
        any_of=(
            "dagboektype",
            "typedagboek",
            "dagboeksoort",
            "soortdagboek",
            "journaltype",
            "journalkind",
            "=type",
            "=soort",
            "=kind",
            "category",
            "categorie",
        ),
        none_of=(*_NAMEISH, "rekening", "account"),
        prefer=("text",),
        allow=("text", "int"),
    ),
    Role.ACCOUNT: _Rule(
        exact=(
            "rekeningnummer",
            "rekeningnr",
            "rekening",
            "grootboekrekening",
            "grootboekrekeningnummer",
            "grootboeknummer",
            "accountnumber",
            "accountno",
            "accountnr",
            "account",
            "accountid",
            "ledgeraccount",
            "ledgeraccountnumber",
            "glaccount",
            "acnr",
        ),
        any_of=("rekening", "account", "grootboek", "ledger", "=gl", "=acnr"),
        none_of=(
            "type",
            "soort",
            "kind",
            "kenmerk",
            *_NAMEISH,
            "btw",
            "vat",
            "=tax",
            *_FLAGGISH,
            "toewijzing",
            "allocation",
            "balans",
            "balance",
            "verlies",
            "loss",
            "admin",
            "categor",
        ),
        prefer=("text",),
        allow=("text", "int"),
    ),
    Role.ACCOUNT_KIND: _Rule(
        exact=(
            "rekeningtype",
            "typerekening",
            "soortrekening",
            "rekeningsoort",
            "kenmerkrekening",
            "accounttype",
            "accountkind",
            "balanswinstenverlies",
            "balancepl",
            "balancep&l",
            "balanceprofitandloss",
            "balanceorprofitandloss",
        ),
        any_of=(
            "rekeningtype",
            "typerekening",
            "soortrekening",
            "rekeningsoort",
            "kenmerk",
            "accounttype",
            "accountkind",
            "balans",
            "balance",
            "winstenverlies",
            "profitandloss",
            "=type",
            "=soort",
            "=kind",
            "category",
            "categorie",
        ),
        none_of=(*_NAMEISH, "btw", "vat", "=tax"),
        prefer=("text",),
        allow=("text", "int"),
    ),
    Role.ALLOCATION_REQUIRED: _Rule(
        exact=("toewijzingverplicht", "allocationrequired", "kostenplaatsverplicht"),
        any_of=("toewijzing", "allocation", "kostenplaatsverplicht", "costcent"),
        prefer=("bool",),
        allow=("bool", "int", "text"),
    ),
    Role.VAT_CODE: _Rule(
        exact=("btwcode", "btw", "vatcode", "vat", "taxcode", "vaid", "btwtariefcode"),
        any_of=("btw", "vat", "=tax", "taxcode", "=vaid"),
        none_of=(
            "percentage",
            "perc",
            "tarief",
            "rate",
            "type",
            "soort",
            "kind",
            "rekening",
            "account",
            *_NAMEISH,
            *_FLAGGISH,
            "nummer",
            "number",
            "admin",
        ),
        prefer=("text",),
        allow=("text", "int"),
    ),
    Role.VAT_PERCENTAGE: _Rule(
        exact=("percentage", "btwpercentage", "vatpercentage", "vatrate", "rate", "taxrate", "%"),
        any_of=("percentage", "perc", "tarief", "rate", "=pct", "%"),
        none_of=("type", "soort", "rekening", "account", "korting", "discount"),
        prefer=("number", "int"),
        allow=("number", "int", "text"),
    ),
    Role.VAT_TYPE: _Rule(
        exact=(
            "btwtype",
            "typebtw",
            "soortbtw",
            "btwsoort",
            "vattype",
            "typevat",
            "taxtype",
            "type",
            "soort",
        ),
        any_of=(
            "btwtype",
            "typebtw",
            "soortbtw",
            "btwsoort",
            "vattype",
            "taxtype",
            "typevat",
            "=type",
            "=soort",
            "=kind",
            "inkoopverkoop",
            "purchasesales",
            "richting",
            "direction",
        ),
        none_of=(*_NAMEISH, "rekening", "account"),
        prefer=("text",),
        allow=("text", "int"),
    ),
}


def _score(rule: _Rule, column: Column) -> float:
    """How well a column fits a role: 0 = not at all. The label counts more than the id."""
    family = type_family(column.data_type)
    if family not in rule.allow:
        return 0.0
    label = _Text.of(column.label)
    if label.joined and any(label.has(k) for k in rule.none_of):
        return 0.0  # the label says it is something else ("Naam administratie"): believe it
    best = 0.0
    for text, weight in ((column.label, 1.0), (column.id, 0.9)):
        seen = _Text.of(text)
        if not seen.joined:
            continue
        if seen.joined in rule.exact:
            base = 3.0
        elif any(seen.has(k) for k in rule.any_of) and not any(seen.has(k) for k in rule.none_of):
            base = 2.0
        else:
            continue
        best = max(best, base * weight)
    if best and family in rule.prefer:
        best += 0.5
    return best


# -- matching --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnMatch:
    """Which column holds which role, and which required roles found no column."""

    shape: Shape
    fields: tuple[Column, ...]
    columns: Mapping[Role, Column]
    missing: tuple[tuple[Role, ...], ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    def get(self, role: Role) -> Column | None:
        return self.columns.get(role)


class MetainfoShapeError(ValueError):
    """``/metainfo/get`` answered something without AFAS's ``fields`` list (§4.2)."""


def parse_fields(metainfo: Any) -> tuple[Column, ...]:
    """The fields of a ``/metainfo/get/{id}`` answer; unreadable entries are skipped."""
    if not isinstance(metainfo, Mapping) or not isinstance(metainfo.get("fields"), list):
        raise MetainfoShapeError("no 'fields' list")
    columns = []
    for entry in metainfo["fields"]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            continue
        label = entry.get("label")
        data_type = entry.get("dataType")
        columns.append(
            Column(
                id=entry["id"],
                label=label if isinstance(label, str) else "",
                data_type=data_type if isinstance(data_type, str) else "",
            )
        )
    return tuple(columns)


def match_columns(metainfo: Any, shape: Shape) -> ColumnMatch:
    """Give each role of ``shape`` the column that fits it best; each column serves one role.

    Greedy by score (ties: the earlier role in the shape, then the earlier column), which is
    what makes "Type dagboek" the journal's type and "Dagboek" its code rather than the other
    way round. Raises ``MetainfoShapeError`` when the answer has no field list.
    """
    fields = parse_fields(metainfo)
    roles = shape.roles
    candidates: list[tuple[float, int, int, Role, Column]] = []
    for r_index, role in enumerate(roles):
        for c_index, column in enumerate(fields):
            score = _score(RULES[role], column)
            if score > 0:
                candidates.append((-score, r_index, c_index, role, column))
    candidates.sort(key=lambda c: c[:3])
    chosen: dict[Role, Column] = {}
    used: set[str] = set()
    for _, _, _, role, column in candidates:
        if role in chosen or column.id in used:
            continue
        chosen[role] = column
        used.add(column.id)
    if Role.BLOCKED in chosen:  # one flag is enough; the explicit "blocked" one wins
        chosen.pop(Role.ACTIVE, None)
    missing = tuple(group for group in shape.required if not any(r in chosen for r in group))
    ordered = {role: chosen[role] for role in roles if role in chosen}
    return ColumnMatch(shape, fields, ordered, missing)


# -- reading values --------------------------------------------------------------------------

_TRUE = frozenset({"1", "true", "ja", "j", "yes", "y", "waar", "-1", "x"})
_FALSE = frozenset({"0", "false", "nee", "n", "no", "onwaar", ""})


def truth(value: Any) -> bool | None:
    """A flag as AFAS or a connector author may write it; None when it cannot be told."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def is_blocked(row: Mapping[str, Any], match: ColumnMatch) -> bool | None:
    """Whether the row says it is blocked (or not active); None when its flag is unreadable.
    A connector without such a column reports nothing blocked."""
    blocked = match.get(Role.BLOCKED)
    if blocked is not None:
        return truth(row.get(blocked.id))
    active = match.get(Role.ACTIVE)
    if active is not None:
        flag = truth(row.get(active.id))
        return None if flag is None else not flag
    return False


def flag_column(match: ColumnMatch) -> Column | None:
    return match.get(Role.BLOCKED) or match.get(Role.ACTIVE)


class AccountKind(StrEnum):
    BALANCE = "balance"
    PROFIT_AND_LOSS = "profit_and_loss"


_PROFIT_AND_LOSS = (
    "winst",
    "verlies",
    "resultaat",
    "profit",
    "loss",
    "=pl",
    "p&l",
    "=wv",
    "w&v",
    "=vw",
    "v&w",
    "kosten",
    "cost",
    "expense",
    "income",
    "opbrengst",
    "revenue",
    "exploitatie",
)
_BALANCE = ("balans", "balance", "=b", "=bal", "=bs")


def account_kind(value: Any) -> AccountKind | None:
    """ "Winst en verlies", "W&V", "Profit and loss", "P&L" / "Balans", "Balance sheet"."""
    if not isinstance(value, str):
        return None
    seen = _Text.of(value)
    if any(seen.has(k) for k in _PROFIT_AND_LOSS):
        return AccountKind.PROFIT_AND_LOSS
    if any(seen.has(k) for k in _BALANCE):
        return AccountKind.BALANCE
    return None


_REVENUE = ("omzet", "opbrengst", "revenue", "turnover", "=sales", "verkoop", "income")


def sounds_like_revenue(value: Any) -> bool:
    """A profit-and-loss account that earns rather than costs ("Omzet hoog", "Revenue")."""
    return isinstance(value, str) and any(_Text.of(value).has(k) for k in _REVENUE)


class VatDirection(StrEnum):
    PURCHASE = "purchase"
    SALES = "sales"
    OTHER = "other"  # reverse charge, intra-EU, ... : neither for this export


_PURCHASE = ("inkoop", "purchase", "=input", "voorbelasting", "=ink", "=buy")
_SALES = ("verkoop", "=sales", "=sale", "=output", "afdracht", "=vrk", "=sell")
_OTHER_VAT = ("verlegd", "reverse", "=eu", "intracommunautair", "=icp", "export", "import")


def vat_direction(value: Any) -> VatDirection | None:
    """ "Inkoop"/"Purchase" or "Verkoop"/"Sales"; None when the text says neither."""
    if not isinstance(value, str):
        return None
    seen = _Text.of(value)
    if any(seen.has(k) for k in _OTHER_VAT):
        return VatDirection.OTHER
    if any(seen.has(k) for k in _PURCHASE):
        return VatDirection.PURCHASE
    if any(seen.has(k) for k in _SALES):
        return VatDirection.SALES
    return None


_MEMORIAL = ("memoriaal", "memorial", "=memo", "=mem", "general", "algemeen", "journaalpost")


def sounds_like_memorial(value: Any) -> bool:
    """ "Memoriaal", "Memorial", "General journal", "MEM"."""
    return isinstance(value, str) and any(_Text.of(value).has(k) for k in _MEMORIAL)


def percentage(value: Any) -> float | None:
    """21, 21.0, "21", "21,0", "21%"; None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip().replace(",", ".")
        try:
            return float(text)
        except ValueError:
            return None
    return None


def same_key(a: Any, b: Any) -> bool:
    """Keys as people type them: 1 == "1" and "MEM" == "mem" (but "01" != "1": an account
    number is text)."""
    if a is None or b is None:
        return False
    return str(a).strip().casefold() == str(b).strip().casefold()


def rows_of(data: Any) -> Sequence[Mapping[str, Any]] | None:
    """The ``rows`` of a GetConnector answer (§5.2); None when the answer has no such list."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rows"), list):
        return None
    return [row for row in data["rows"] if isinstance(row, Mapping)]
