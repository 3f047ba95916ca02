"""Other field ids and English labels for the GetConnectors a live export reads.

The real SmartBooqing GetConnectors are each customer's own (afas-api.md §13.14): a client
must find its columns from ``/metainfo/get/{id}`` (labels, types), not from fixed ids. An
environment with ``column_variant = "english"`` serves the five connectors below with other
field ids, English labels and English descriptions, so a client that hard-codes the
built-in ids fails there. The sandbox itself keeps working with the built-in ids.
"""

from __future__ import annotations

from typing import Any

from .get_connectors import GetConnectorSpec, GetField, Row

#: Per connector: built-in field id -> (field id served, English label).
ENGLISH_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "SBQ_Administratie": {
        "AdminId": ("UnitId", "Administration"),
        "AdminNm": ("UnitName", "Administration name"),
        "AdminCd": ("UnitCode", "Code"),
        "CurrencyId": ("Currency", "Currency"),
        "VatNumber": ("VatNo", "VAT number"),
        "CocNumber": ("CocNo", "Chamber of Commerce number"),
        "Blocked": ("IsBlocked", "Blocked"),
    },
    "CaseWare_Periods": {
        "AdminId": ("Unit", "Administration"),
        "Year": ("FinancialYear", "Financial year"),
        "Period": ("PeriodNo", "Period"),
        "StartDate": ("PeriodStart", "Start date"),
        "EndDate": ("PeriodEnd", "End date"),
        "Blocked": ("Closed", "Blocked"),
    },
    "Precal_Dagboeken": {
        "AdminId": ("Unit", "Administration"),
        "JournalId": ("Code", "Journal"),
        "Description": ("Name", "Description"),
        "JournalType": ("Kind", "Journal type"),
        "AccountNo": ("Account", "Account"),
        "Blocked": ("Inactive", "Blocked"),
    },
    "SBQ_Grootboekrekeningen": {
        "AdminId": ("Unit", "Administration"),
        "AccountNo": ("LedgerAccount", "Account number"),
        "Description": ("Name", "Description"),
        "AccountType": ("Kind", "Account type"),
        "VatCode": ("DefaultVat", "VAT code"),
        "AllocationRequired": ("NeedsAllocation", "Allocation required"),
        "Blocked": ("Inactive", "Blocked"),
    },
    "SBQ_BTW": {
        "AdminId": ("Unit", "Administration"),
        "VatCode": ("Code", "VAT code"),
        "Description": ("Name", "Description"),
        "Percentage": ("Rate", "Percentage"),
        "VatType": ("Kind", "VAT type"),
        "AccountNo": ("LedgerAccount", "VAT account"),
        "Blocked": ("Inactive", "Blocked"),
    },
}

#: Dutch values of the built-in rows and their English form in an English environment.
_ENGLISH_VALUES = {
    "Memoriaal": "Memorial",
    "Inkoop": "Purchase",
    "Inkoopboek": "Purchase journal",
    "Verkoop": "Sales",
    "Verkoopboek": "Sales journal",
    "Kas": "Cash",
    "Balans": "Balance sheet",
    "Winst en verlies": "Profit and loss",
    "Verlegd": "Reverse charge",
}


def _english_value(value: Any) -> Any:
    return _ENGLISH_VALUES.get(value, value) if isinstance(value, str) else value


def with_columns(spec: GetConnectorSpec, variant: str) -> GetConnectorSpec:
    """The spec as served in an environment with this ``column_variant``."""
    renames = ENGLISH_COLUMNS.get(spec.id) if variant == "english" else None
    if not renames:
        return spec
    fields = tuple(
        GetField(renames[f.id][0], f.data_type, renames[f.id][1], f.length, f.decimals)
        if f.id in renames
        else f
        for f in spec.fields
    )
    rows: tuple[Row, ...] = tuple(
        {renames.get(k, (k,))[0]: _english_value(v) for k, v in row.items()} for row in spec.rows
    )
    return GetConnectorSpec(spec.id, spec.description, fields, rows)
