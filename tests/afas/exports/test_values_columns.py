"""The column matcher: which field of a customer's GetConnector holds what, from metainfo alone.

The customer's connectors name their fields as they like (afas-api.md §13.14), in Dutch or
English; a wrong match would book on the wrong key, a missed one would make the export ask the
agent for values AFAS could have told.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afas.exports.columns import (
    ADMINISTRATIONS,
    JOURNALS,
    LEDGER_ACCOUNTS,
    PERIODS,
    VAT_CODES,
    AccountKind,
    MetainfoShapeError,
    Role,
    Shape,
    VatDirection,
    account_kind,
    match_columns,
    percentage,
    sounds_like_memorial,
    truth,
    vat_direction,
    words,
)
from afas.sandbox.get_connectors import GET_CONNECTORS


def metainfo(*fields: tuple[str, str, str]) -> dict:
    """``/metainfo/get`` with (id, label, dataType) fields, shaped as in afas-api.md §4.2."""
    return {
        "name": "X",
        "description": "X",
        "fields": [
            {"id": i, "fieldId": f"U{n:03d}", "dataType": t, "label": label, "length": 0}
            for n, (i, label, t) in enumerate(fields)
        ],
    }


def matched(meta: dict, shape: Shape) -> dict[Role, str]:
    return {role: column.id for role, column in match_columns(meta, shape).columns.items()}


# -- the connectors as the sandbox serves them today (Dutch labels) --------------------------

SANDBOX_EXPECTED = {
    ("SBQ_Administratie", ADMINISTRATIONS): {
        Role.ADMINISTRATION: "AdminId",
        Role.NAME: "AdminNm",
        Role.BLOCKED: "Blocked",
    },
    ("CaseWare_Periods", PERIODS): {
        Role.ADMINISTRATION: "AdminId",
        Role.YEAR: "Year",
        Role.PERIOD: "Period",
        Role.BLOCKED: "Blocked",
        Role.START_DATE: "StartDate",
        Role.END_DATE: "EndDate",
    },
    ("Precal_Dagboeken", JOURNALS): {
        Role.ADMINISTRATION: "AdminId",
        Role.JOURNAL: "JournalId",
        Role.JOURNAL_TYPE: "JournalType",
        Role.NAME: "Description",
        Role.BLOCKED: "Blocked",
    },
    ("SBQ_Grootboekrekeningen", LEDGER_ACCOUNTS): {
        Role.ADMINISTRATION: "AdminId",
        Role.ACCOUNT: "AccountNo",
        Role.ACCOUNT_KIND: "AccountType",
        Role.NAME: "Description",
        Role.BLOCKED: "Blocked",
        Role.ALLOCATION_REQUIRED: "AllocationRequired",
    },
    ("SBQ_BTW", VAT_CODES): {
        Role.ADMINISTRATION: "AdminId",
        Role.VAT_CODE: "VatCode",
        Role.VAT_PERCENTAGE: "Percentage",
        Role.VAT_TYPE: "VatType",
        Role.NAME: "Description",
        Role.BLOCKED: "Blocked",
    },
}


@pytest.mark.parametrize(("key", "expected"), SANDBOX_EXPECTED.items(), ids=lambda k: str(k)[:30])
def test_the_sandbox_connectors_with_dutch_labels_are_recognised(key, expected) -> None:
    connector, shape = key
    match = match_columns(GET_CONNECTORS[connector].metainfo(), shape)
    assert match.ok
    assert {role: c.id for role, c in match.columns.items()} == expected


def test_with_labels_alone_the_ids_do_not_matter() -> None:
    """Ids that say nothing (AFAS's own U001 style): the Dutch labels carry the match."""
    meta = metainfo(
        ("U001", "Administratie", "int"),
        ("U002", "Boekjaar", "int"),
        ("U003", "Periode", "int"),
        ("U004", "Begindatum", "date"),
        ("U005", "Einddatum", "date"),
        ("U006", "Geblokkeerd", "boolean"),
    )
    assert matched(meta, PERIODS) == {
        Role.YEAR: "U002",
        Role.PERIOD: "U003",
        Role.BLOCKED: "U006",
        Role.ADMINISTRATION: "U001",
        Role.START_DATE: "U004",
        Role.END_DATE: "U005",
    }


# -- English labels and other ids ------------------------------------------------------------

ENGLISH = [
    (
        ADMINISTRATIONS,
        [
            ("UnitId", "Administration", "int"),
            ("UnitName", "Administration name", "string"),
            ("UnitCode", "Code", "string"),
            ("VatNo", "VAT number", "string"),
            ("IsBlocked", "Blocked", "boolean"),
        ],
        {Role.ADMINISTRATION: "UnitId", Role.NAME: "UnitName", Role.BLOCKED: "IsBlocked"},
    ),
    (
        PERIODS,
        [
            ("Unit", "Company", "int"),
            ("FinancialYear", "Financial year", "int"),
            ("PeriodNo", "Period", "int"),
            ("PeriodStart", "Start date", "date"),
            ("PeriodEnd", "End date", "date"),
            ("Closed", "Closed", "boolean"),
        ],
        {
            Role.YEAR: "FinancialYear",
            Role.PERIOD: "PeriodNo",
            Role.BLOCKED: "Closed",
            Role.ADMINISTRATION: "Unit",
            Role.START_DATE: "PeriodStart",
            Role.END_DATE: "PeriodEnd",
        },
    ),
    (
        JOURNALS,
        [
            ("Unit", "Administration", "int"),
            ("Code", "Journal code", "string"),
            ("Name", "Description", "string"),
            ("Kind", "Journal type", "string"),
            ("Account", "Account", "string"),
            ("Active", "Active", "boolean"),
        ],
        {
            Role.JOURNAL: "Code",
            Role.ADMINISTRATION: "Unit",
            Role.JOURNAL_TYPE: "Kind",
            Role.NAME: "Name",
            Role.ACTIVE: "Active",
        },
    ),
    (
        LEDGER_ACCOUNTS,
        [
            ("Unit", "Administration", "int"),
            ("LedgerAccount", "Account number", "string"),
            ("Name", "Description", "string"),
            ("Kind", "Balance / P&L", "string"),
            ("DefaultVat", "VAT code", "string"),
            ("NeedsAllocation", "Allocation required", "boolean"),
            ("Inactive", "Inactive", "boolean"),
        ],
        {
            Role.ACCOUNT: "LedgerAccount",
            Role.ACCOUNT_KIND: "Kind",
            Role.ADMINISTRATION: "Unit",
            Role.NAME: "Name",
            Role.BLOCKED: "Inactive",
            Role.ALLOCATION_REQUIRED: "NeedsAllocation",
        },
    ),
    (
        VAT_CODES,
        [
            ("Unit", "Administration", "int"),
            ("Code", "VAT code", "string"),
            ("Name", "Description", "string"),
            ("Rate", "VAT rate", "decimal"),
            ("Kind", "VAT type", "string"),
            ("LedgerAccount", "VAT account", "string"),
            ("Inactive", "Blocked", "boolean"),
        ],
        {
            Role.VAT_CODE: "Code",
            Role.ADMINISTRATION: "Unit",
            Role.VAT_PERCENTAGE: "Rate",
            Role.VAT_TYPE: "Kind",
            Role.NAME: "Name",
            Role.BLOCKED: "Inactive",
        },
    ),
]


@pytest.mark.parametrize(
    ("shape", "fields", "expected"), ENGLISH, ids=lambda x: getattr(x, "name", "")
)
def test_english_labels_and_other_ids_are_recognised(shape, fields, expected) -> None:
    match = match_columns(metainfo(*fields), shape)
    assert match.ok
    assert {role: c.id for role, c in match.columns.items()} == expected


def test_a_name_column_is_never_taken_for_the_administration_number() -> None:
    """ "Naam administratie" mentions the administration, but it is a name: booking on it fails."""
    meta = metainfo(("AdminNm", "Naam administratie", "string"), ("Nr", "Administratie", "int"))
    assert matched(meta, ADMINISTRATIONS) == {Role.ADMINISTRATION: "Nr", Role.NAME: "AdminNm"}


def test_the_journal_type_column_is_not_taken_for_the_journal_code() -> None:
    meta = metainfo(("T", "Type dagboek", "string"), ("D", "Dagboek", "string"))
    assert matched(meta, JOURNALS) == {Role.JOURNAL: "D", Role.JOURNAL_TYPE: "T"}


def test_a_date_typed_field_is_not_a_period_number() -> None:
    meta = metainfo(("P", "Periode", "date"), ("J", "Jaar", "int"), ("B", "Blocked", "boolean"))
    match = match_columns(meta, PERIODS)
    assert not match.ok and match.missing == ((Role.PERIOD,),)


# -- unknown columns -------------------------------------------------------------------------


def test_unknown_columns_leave_the_required_roles_missing() -> None:
    meta = metainfo(("Foo", "Veld 1", "string"), ("Bar", "Something", "int"))
    match = match_columns(meta, PERIODS)
    assert not match.ok
    assert match.missing == ((Role.YEAR,), (Role.PERIOD,), (Role.BLOCKED, Role.ACTIVE))
    assert match.columns == {}


def test_a_period_connector_without_a_blocked_flag_is_not_usable() -> None:
    """Without the flag nobody can tell an open period from a blocked one."""
    meta = metainfo(("Y", "Boekjaar", "int"), ("P", "Periode", "int"))
    assert match_columns(meta, PERIODS).missing == ((Role.BLOCKED, Role.ACTIVE),)


def test_an_answer_without_fields_is_not_metainfo() -> None:
    with pytest.raises(MetainfoShapeError):
        match_columns({"rows": []}, PERIODS)
    with pytest.raises(MetainfoShapeError):
        match_columns("<html>", PERIODS)


def test_odd_field_entries_are_skipped() -> None:
    meta = {"fields": [None, {"label": "no id"}, {"id": "Y", "label": "Jaar", "dataType": "int"}]}
    assert [c.id for c in match_columns(meta, PERIODS).fields] == ["Y"]


# -- label variants (property) -------------------------------------------------------------

_DUTCH_AND_ENGLISH = {
    Role.YEAR: ["Boekjaar", "Jaar", "Year", "Fiscal year", "Financial year"],
    Role.PERIOD: ["Periode", "Period", "Periodenummer", "Period number", "Boekperiode"],
    Role.BLOCKED: ["Geblokkeerd", "Blocked", "Inactief", "Inactive", "Closed"],
    Role.START_DATE: ["Begindatum", "Startdatum", "Start date", "Begin date"],
}


def _styled(text: str, style: int) -> str:
    """The same label written another way: case, separators, accents, camelCase."""
    if style == 0:
        return text.upper()
    if style == 1:
        return text.lower().replace(" ", "-")
    if style == 2:
        return "".join(part.capitalize() for part in text.split())
    if style == 3:
        return f"  {text.replace(' ', '_')}  "
    return text.replace("e", "é", 1)


@given(
    year=st.sampled_from(_DUTCH_AND_ENGLISH[Role.YEAR]),
    period=st.sampled_from(_DUTCH_AND_ENGLISH[Role.PERIOD]),
    blocked=st.sampled_from(_DUTCH_AND_ENGLISH[Role.BLOCKED]),
    start=st.sampled_from(_DUTCH_AND_ENGLISH[Role.START_DATE]),
    style=st.integers(min_value=0, max_value=4),
    order=st.permutations(range(4)),
)
def test_label_variants_in_any_order_and_spelling_are_recognised(
    year, period, blocked, start, style, order
) -> None:
    fields = [
        ("F_Y", _styled(year, style), "int"),
        ("F_P", _styled(period, style), "int"),
        ("F_B", _styled(blocked, style), "boolean"),
        ("F_S", _styled(start, style), "date"),
    ]
    meta = metainfo(*(fields[i] for i in order))
    assert matched(meta, PERIODS) == {
        Role.YEAR: "F_Y",
        Role.PERIOD: "F_P",
        Role.BLOCKED: "F_B",
        Role.START_DATE: "F_S",
    }


@given(st.text(max_size=30))
def test_any_label_is_matched_without_error(label: str) -> None:
    match_columns(metainfo(("X", label, "string"), ("Y", label, "boolean")), LEDGER_ACCOUNTS)


def test_words_splits_compounds_the_way_labels_are_written() -> None:
    assert words("Btw-code") == ("btw", "code")
    assert words("AccountNo") == ("account", "no")
    assert words("W&V") == ("w", "&", "v")
    assert words("Geëxporteerd") == ("geexporteerd",)


# -- reading values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Winst en verlies", AccountKind.PROFIT_AND_LOSS),
        ("W&V", AccountKind.PROFIT_AND_LOSS),
        ("Profit and loss", AccountKind.PROFIT_AND_LOSS),
        ("P&L", AccountKind.PROFIT_AND_LOSS),
        ("Resultaat", AccountKind.PROFIT_AND_LOSS),
        ("Balans", AccountKind.BALANCE),
        ("Balance sheet", AccountKind.BALANCE),
        ("B", AccountKind.BALANCE),
        ("3", None),
        (None, None),
    ],
)
def test_account_kinds_in_dutch_and_english(value, kind) -> None:
    assert account_kind(value) == kind


@pytest.mark.parametrize(
    ("value", "direction"),
    [
        ("Inkoop", VatDirection.PURCHASE),
        ("Purchase", VatDirection.PURCHASE),
        ("Voorbelasting", VatDirection.PURCHASE),
        ("Verkoop", VatDirection.SALES),
        ("Sales", VatDirection.SALES),
        ("Verlegd", VatDirection.OTHER),
        ("Reverse charge", VatDirection.OTHER),
        ("Btw hoog 21%", None),
        (7, None),
    ],
)
def test_vat_directions_in_dutch_and_english(value, direction) -> None:
    assert vat_direction(value) == direction


@pytest.mark.parametrize(
    ("value", "memorial"),
    [
        ("Memoriaal", True),
        ("Memorial", True),
        ("General journal", True),
        ("MEM", True),
        ("Inkoopboek", False),
        ("Bank", False),
        (None, False),
    ],
)
def test_memorial_journals_in_dutch_and_english(value, memorial) -> None:
    assert sounds_like_memorial(value) is memorial


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (True, True),
        ("Ja", True),
        ("true", True),
        (1, True),
        (False, False),
        (None, False),
        ("Nee", False),
        (0, False),
        ("misschien", None),
    ],
)
def test_flags_as_connector_authors_write_them(value, flag) -> None:
    assert truth(value) is flag


def test_percentages_as_numbers_or_text() -> None:
    assert [percentage(v) for v in (0, 21.0, "9", "21,0", "0%", "hoog", True)] == [
        0.0,
        21.0,
        9.0,
        21.0,
        0.0,
        None,
        None,
    ]
