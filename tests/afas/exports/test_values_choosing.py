"""Choosing the values of a live export from AFAS's answers (pure: no HTTP).

What a user cares about: the export never books in a period AFAS reports blocked, never on a
blocked row, uses what the agent gave, and when it cannot choose it says which connector, what
it looked for and why, in Dutch and English, so the agent can give the value.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afas.exports.values import (
    CannotChooseReason,
    ConnectorReading,
    GivenValueError,
    GivenValues,
    ValueName,
    choose_values,
    parse_period,
)
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.sandbox.get_connectors import GET_CONNECTORS

TODAY = date(2024, 9, 15)
CONNECTORS = (
    "SBQ_Administratie",
    "CaseWare_Periods",
    "Precal_Dagboeken",
    "SBQ_Grootboekrekeningen",
    "SBQ_BTW",
)


def ok(data: Any) -> AfasOutcome:
    return AfasOutcome(OutcomeKind.OK, status=200, data=data)


def reading(connector: str, rows: list[dict] | None = None, meta: dict | None = None):
    spec = GET_CONNECTORS[connector]
    data_rows = [dict(r) for r in spec.rows] if rows is None else rows
    return ConnectorReading(connector, ok(meta or spec.metainfo()), ok({"rows": data_rows}))


def readings(**overrides: ConnectorReading | None) -> dict[str, ConnectorReading]:
    """The sandbox's catalogue as AFAS would answer it, with some connectors replaced or
    (``None``) answered as not in the App Connector."""
    result = {c: reading(c) for c in CONNECTORS}
    for connector, replacement in overrides.items():
        if replacement is None:
            missing = AfasOutcome(OutcomeKind.CONNECTOR_NOT_AUTHORISED, status=401)
            result[connector] = ConnectorReading(connector, missing, missing)
        else:
            result[connector] = replacement
    return result


def periods(*rows: tuple[int, int, int, bool]) -> ConnectorReading:
    return reading(
        "CaseWare_Periods",
        [
            {
                "AdminId": admin,
                "Year": year,
                "Period": period,
                "StartDate": f"{year}-{period:02d}-01T00:00:00Z",
                "EndDate": f"{year}-{period:02d}-28T00:00:00Z",
                "Blocked": blocked,
            }
            for admin, year, period, blocked in rows
        ],
    )


def test_the_sandbox_catalogue_gives_every_value_with_its_source() -> None:
    result = choose_values(readings(), today=TODAY)
    values = result.values
    assert values is not None and result.refusals == () and result.warnings == ()
    assert (values.administration, values.year, values.period) == (1, 2024, 9)
    assert (values.journal, values.cost_account, values.vat_code) == ("MEM", "4100", "H0")
    assert values.entry_date == date(2024, 9, 15)
    admin = values.source(ValueName.ADMINISTRATION)
    assert admin.connector == "SBQ_Administratie" and not admin.given
    assert admin.text.en.startswith("SBQ_Administratie, field 'AdminId' (Administratie) = 1")
    assert admin.text.nl.startswith("SBQ_Administratie, veld 'AdminId' (Administratie) = 1")
    assert "the current period" in values.source(ValueName.PERIOD).text.en
    assert "de huidige periode" in values.source(ValueName.PERIOD).text.nl
    assert values.placeholders() == {
        "administration": 1,
        "year": 2024,
        "period": 9,
        "journal": "MEM",
        "cost_account": "4100",
        "vat_code": "H0",
        "entry_date": "2024-09-15",
    }


# -- blocked rows ----------------------------------------------------------------------------


def test_blocked_rows_are_skipped_everywhere() -> None:
    result = choose_values(
        readings(
            SBQ_Administratie=reading(
                "SBQ_Administratie",
                [
                    {"AdminId": 3, "AdminNm": "Oud", "Blocked": True},
                    {"AdminId": 2, "AdminNm": "Werk", "Blocked": False},
                ],
            ),
            CaseWare_Periods=periods((2, 2024, 9, True), (2, 2024, 10, False)),
            Precal_Dagboeken=reading(
                "Precal_Dagboeken",
                [
                    {"AdminId": 2, "JournalId": "MEM", "JournalType": "Memoriaal", "Blocked": True},
                    {
                        "AdminId": 2,
                        "JournalId": "MM2",
                        "JournalType": "Memoriaal",
                        "Blocked": False,
                    },
                ],
            ),
            SBQ_Grootboekrekeningen=reading(
                "SBQ_Grootboekrekeningen",
                [
                    {"AdminId": 2, "AccountNo": "4000", "AccountType": "W&V", "Blocked": True},
                    {"AdminId": 2, "AccountNo": "4010", "AccountType": "W&V", "Blocked": False},
                ],
            ),
            SBQ_BTW=reading(
                "SBQ_BTW",
                [
                    {"AdminId": 2, "VatCode": "H0", "Percentage": 0, "VatType": "Inkoop"}
                    | {"Blocked": True},
                    {"AdminId": 2, "VatCode": "H9", "Percentage": 9, "VatType": "Inkoop"}
                    | {"Blocked": False},
                ],
            ),
        ),
        today=TODAY,
    )
    values = result.values
    assert values is not None
    assert (values.administration, values.period, values.journal) == (2, 10, "MM2")
    assert (values.cost_account, values.vat_code) == ("4010", "H9")
    assert "nearest to today (2024-09-15)" in values.source(ValueName.PERIOD).text.en


def test_a_flag_that_cannot_be_read_counts_as_blocked() -> None:
    result = choose_values(
        readings(CaseWare_Periods=periods((1, 2024, 9, "misschien"), (1, 2024, 11, False))),
        today=TODAY,
    )
    assert result.found[ValueName.PERIOD].value == (2024, 11)


def test_all_periods_blocked_is_refused_in_both_languages() -> None:
    result = choose_values(
        readings(CaseWare_Periods=periods(*((1, 2024, p, True) for p in range(1, 13)))),
        today=TODAY,
    )
    assert result.values is None
    refusal = result.refusal(ValueName.PERIOD)
    assert refusal is not None
    assert refusal.reason is CannotChooseReason.NO_SUITABLE_ROW
    assert refusal.connector == "CaseWare_Periods"
    assert refusal.given_field == "period"
    assert "open (not blocked) period of administration 1" in refusal.looked_for.en
    assert "all 12 periods of administration 1 blocked" in refusal.why.en
    assert "alle 12 perioden van administratie 1 als geblokkeerd" in refusal.why.nl
    assert refusal.message.nl.endswith("Geef de waarde zelf op.")
    assert set(result.found) == {
        ValueName.ADMINISTRATION,
        ValueName.JOURNAL,
        ValueName.COST_ACCOUNT,
        ValueName.VAT_CODE,
    }


def test_the_current_period_wins_over_nearer_looking_ones() -> None:
    result = choose_values(
        readings(CaseWare_Periods=periods((1, 2024, 8, False), (1, 2024, 9, False))),
        today=date(2024, 9, 2),
    )
    assert result.found[ValueName.PERIOD].value == (2024, 9)


def test_a_current_period_that_is_blocked_is_never_chosen() -> None:
    result = choose_values(
        readings(CaseWare_Periods=periods((1, 2024, 9, True), (1, 2025, 1, False))),
        today=TODAY,
    )
    period = result.found[ValueName.PERIOD]
    assert period.value == (2025, 1)
    assert period.entry_date == date(2025, 1, 1)  # inside the period, nearest to today


def test_cost_accounts_prefer_costs_without_allocation_over_revenue() -> None:
    rows = [
        {"AdminId": 1, "AccountNo": "1600", "AccountType": "Balans", "Blocked": False},
        {"AdminId": 1, "AccountNo": "8000", "Description": "Omzet hoog"}
        | {"AccountType": "Winst en verlies", "Blocked": False},
        {"AdminId": 1, "AccountNo": "4000", "Description": "Kantoorkosten"}
        | {"AccountType": "Winst en verlies", "AllocationRequired": True, "Blocked": False},
        {"AdminId": 1, "AccountNo": "4100", "Description": "Energiekosten"}
        | {"AccountType": "Winst en verlies", "AllocationRequired": False, "Blocked": False},
    ]
    result = choose_values(
        readings(SBQ_Grootboekrekeningen=reading("SBQ_Grootboekrekeningen", rows)), today=TODAY
    )
    assert result.found[ValueName.COST_ACCOUNT].value == "4100"


def test_only_balance_accounts_is_refused_with_the_kinds_seen() -> None:
    rows = [{"AdminId": 1, "AccountNo": "1600", "AccountType": "Balans", "Blocked": False}]
    result = choose_values(
        readings(SBQ_Grootboekrekeningen=reading("SBQ_Grootboekrekeningen", rows)), today=TODAY
    )
    refusal = result.refusal(ValueName.COST_ACCOUNT)
    assert refusal is not None and refusal.reason is CannotChooseReason.NO_SUITABLE_ROW
    assert "'AccountType' (Rekeningtype): Balans" in refusal.why.en


def test_no_memorial_journal_lists_the_journals_there_are() -> None:
    result = choose_values(readings(), given=GivenValues(administration=2), today=TODAY)
    refusal = result.refusal(ValueName.JOURNAL)
    assert refusal is not None and refusal.reason is CannotChooseReason.NO_SUITABLE_ROW
    assert "INK (Inkoop), VRK (Verkoop)" in refusal.why.en
    assert "geen daarvan een memoriaal" in refusal.why.nl


def test_without_a_purchase_vat_code_the_line_goes_without_one() -> None:
    rows = [{"AdminId": 1, "VatCode": "V21", "Percentage": 21, "VatType": "Verkoop"}]
    result = choose_values(readings(SBQ_BTW=reading("SBQ_BTW", rows)), today=TODAY)
    values = result.values
    assert values is not None and values.vat_code is None
    assert "without a VAT code" in values.source(ValueName.VAT_CODE).text.en
    assert values.placeholders()["vat_code"] is None


def test_a_purchase_code_that_is_not_zero_when_no_zero_exists() -> None:
    rows = [
        {"AdminId": 1, "VatCode": "V0", "Percentage": 0, "VatType": "Verkoop"},
        {"AdminId": 1, "VatCode": "H21", "Percentage": 21, "VatType": "Inkoop"},
        {"AdminId": 1, "VatCode": "H9", "Percentage": 9, "VatType": "Inkoop"},
    ]
    result = choose_values(readings(SBQ_BTW=reading("SBQ_BTW", rows)), today=TODAY)
    assert result.found[ValueName.VAT_CODE].value == "H9"


# -- connectors missing, columns not recognised ------------------------------------------------


def test_a_missing_connector_refuses_only_its_own_value() -> None:
    result = choose_values(readings(CaseWare_Periods=None), today=TODAY)
    refusal = result.refusal(ValueName.PERIOD)
    assert refusal is not None and refusal.reason is CannotChooseReason.CONNECTOR_MISSING
    assert "CaseWare_Periods is not in the App Connector" in refusal.why.en
    assert "CaseWare_Periods staat niet in de App Connector" in refusal.why.nl
    assert [r.value for r in result.refusals] == [ValueName.PERIOD]


def test_columns_not_recognised_name_the_fields_that_are_there() -> None:
    meta = {"fields": [{"id": "Foo", "label": "Iets", "dataType": "string"}]}
    result = choose_values(
        readings(Precal_Dagboeken=reading("Precal_Dagboeken", [{"Foo": "x"}], meta)), today=TODAY
    )
    refusal = result.refusal(ValueName.JOURNAL)
    assert refusal is not None and refusal.reason is CannotChooseReason.COLUMNS_NOT_RECOGNISED
    assert "recognisable as journal code" in refusal.why.en
    assert "'Foo' (Iets)" in refusal.why.en


def test_without_an_administration_the_per_administration_values_wait_for_it() -> None:
    result = choose_values(readings(SBQ_Administratie=None), today=TODAY)
    reasons = {r.value: r.reason for r in result.refusals}
    assert reasons == {
        ValueName.ADMINISTRATION: CannotChooseReason.CONNECTOR_MISSING,
        ValueName.PERIOD: CannotChooseReason.NEEDS_ADMINISTRATION,
        ValueName.JOURNAL: CannotChooseReason.NEEDS_ADMINISTRATION,
        ValueName.COST_ACCOUNT: CannotChooseReason.NEEDS_ADMINISTRATION,
        ValueName.VAT_CODE: CannotChooseReason.NEEDS_ADMINISTRATION,
    }


def test_an_afas_error_is_unreadable_with_afas_message() -> None:
    error = AfasOutcome(
        OutcomeKind.DEFINITION_BLOCKED,
        status=500,
        message="Deze GetConnector (definitie) is geblokkeerd",
        profit_log_reference="ABC123",
    )
    meta = ok(GET_CONNECTORS["SBQ_BTW"].metainfo())
    result = choose_values(readings(SBQ_BTW=ConnectorReading("SBQ_BTW", meta, error)), today=TODAY)
    refusal = result.refusal(ValueName.VAT_CODE)
    assert refusal is not None and refusal.reason is CannotChooseReason.CONNECTOR_UNREADABLE
    assert "geblokkeerd" in refusal.why.en and "ABC123" in refusal.why.en


def test_a_full_page_says_rows_after_it_were_not_seen() -> None:
    full = ConnectorReading(
        "SBQ_Administratie",
        ok(GET_CONNECTORS["SBQ_Administratie"].metainfo()),
        ok({"rows": [{"AdminId": 1, "Blocked": False}]}),
        take=1,
    )
    result = choose_values(readings(SBQ_Administratie=full), today=TODAY)
    assert any("returned 1 rows" in w.en for w in result.warnings)


# -- values the agent gives ------------------------------------------------------------------


def test_given_values_win_and_are_checked() -> None:
    given_values = GivenValues.parse(
        administration="1", period="11-2024", journal="mem", accounts="4200", vat_code="H9"
    )
    result = choose_values(readings(), given=given_values, today=TODAY)
    values = result.values
    assert values is not None and result.warnings == ()
    assert (values.year, values.period, values.journal) == (2024, 11, "mem")
    assert (values.cost_account, values.vat_code) == ("4200", "H9")
    assert values.entry_date == date(2024, 11, 1)
    for name in ValueName:
        source = values.source(name)
        assert source.given
        assert source.text.en.startswith("given by the agent; checked in ")
        assert source.text.nl.startswith("opgegeven door de agent; gecontroleerd in ")


def test_a_given_period_that_afas_reports_blocked_is_refused() -> None:
    result = choose_values(readings(), given=GivenValues.parse(period="2024/03"), today=TODAY)
    refusal = result.refusal(ValueName.PERIOD)
    assert result.values is None
    assert refusal is not None and refusal.reason is CannotChooseReason.GIVEN_VALUE_REFUSED
    assert "reports period 2024/3 of administration 1 blocked" in refusal.why.en
    assert "never books in a blocked period" in refusal.why.en
    assert "in een geblokkeerde periode boekt de bot nooit" in refusal.why.nl


def test_a_given_period_the_connector_does_not_list_is_a_warning() -> None:
    result = choose_values(readings(), given=GivenValues.parse(period="2026-11"), today=TODAY)
    assert result.found[ValueName.PERIOD].value == (2026, 11)
    assert [w.en for w in result.warnings] == [
        "CaseWare_Periods does not list period 2026/11 of administration 1; "
        "the given value is used anyway"
    ]


def test_an_unknown_given_journal_is_a_warning() -> None:
    result = choose_values(readings(), given=GivenValues(journal="XYZ"), today=TODAY)
    assert result.values is not None and result.values.journal == "XYZ"
    assert result.warnings[0].nl.startswith("Precal_Dagboeken kent dagboek XYZ van administratie 1")
    assert "not confirmed by Precal_Dagboeken" in result.values.source(ValueName.JOURNAL).text.en


def test_a_given_journal_with_the_connector_missing_is_used_without_a_warning() -> None:
    result = choose_values(
        readings(Precal_Dagboeken=None), given=GivenValues(journal="XYZ"), today=TODAY
    )
    assert result.values is not None and result.warnings == ()
    source = result.values.source(ValueName.JOURNAL)
    assert source.given and source.connector is None
    assert "not checked: Precal_Dagboeken is not in the App Connector" in source.text.en


def test_a_given_period_with_the_connector_missing_is_used_unchecked() -> None:
    result = choose_values(
        readings(CaseWare_Periods=None), given=GivenValues.parse(period="2024-10"), today=TODAY
    )
    assert result.values is not None
    assert (result.values.year, result.values.period) == (2024, 10)
    assert result.values.entry_date == date(2024, 10, 1)


def test_given_values_that_do_not_fit_are_warnings() -> None:
    result = choose_values(
        readings(),
        given=GivenValues(journal="INK", cost_account="1600", vat_code="V21"),
        today=TODAY,
    )
    texts = [w.en for w in result.warnings]
    assert texts == [
        "journal INK is not a memorial journal according to Precal_Dagboeken "
        "('JournalType' (Type dagboek) = Inkoop)",
        "account 1600 is not a profit-and-loss account according to SBQ_Grootboekrekeningen "
        "('AccountType' (Rekeningtype) = Balans)",
        "VAT code V21 is not a purchase code according to SBQ_BTW ('VatType' (Btw-type) = Verkoop)",
    ]


def test_a_given_blocked_account_is_a_warning() -> None:
    result = choose_values(readings(), given=GivenValues(cost_account="8074"), today=TODAY)
    assert "reports cost account 8074 of administration 1 blocked" in result.warnings[0].en


# -- reading what the agent typed --------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-11", "2026/11", "11-2026", "11/2026", " 2026 - 11 "])
def test_periods_are_read_in_the_forms_agents_type(text: str) -> None:
    assert parse_period(text) == (2026, 11)


@pytest.mark.parametrize("text", ["2026", "november", "2026-11-01", "26-11", "2026-0", ""])
def test_unreadable_periods_say_how_to_write_them(text: str) -> None:
    with pytest.raises(GivenValueError) as caught:
        parse_period(text)
    assert "2026-11, 2026/11" in caught.value.text.nl
    assert "2026-11, 2026/11" in caught.value.text.en


@given(year=st.integers(1900, 2999), period=st.integers(1, 99), sep=st.sampled_from("-/."))
def test_a_period_reads_back_whichever_side_the_year_is(year: int, period: int, sep: str) -> None:
    assert parse_period(f"{year}{sep}{period}") == (year, period)
    assert parse_period(f"{period:02d}{sep}{year}") == (year, period)


def test_bad_given_values_are_refused_before_anything_is_read() -> None:
    with pytest.raises(GivenValueError):
        GivenValues.parse(administration="VBH")
    with pytest.raises(GivenValueError):
        GivenValues.parse(accounts="4100,4200")
    assert GivenValues.parse(journal="  ", accounts="") == GivenValues()
