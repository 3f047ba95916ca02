"""An environment's administration as AFAS itself knows it: the GetConnector data plus what
UpdateConnectors created there.

Two uses. Validation of writes reads it (a ledger account must be one
SBQ_Grootboekrekeningen lists for that administration, a creditor one SBQ_Crediteuren
lists or one just created…): AFAS validates against its own tables, whatever GetConnectors
the App Connector holds. And GetConnectors show created records where AFAS would show them:
relations in SBQ_Crediteuren / SBQ_Debiteuren, entry lines in SBQ_Transactie, dossier items
in Profit_Subjects, so a client that lost an answer can find its record.

Rows here use the built-in field ids (get_connectors.py), whatever ``column_variant`` the
environment serves; an environment's ``connector_rows`` must use them too to be validated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .get_connectors import GET_CONNECTORS, Row
from .records import Record, RecordStore
from .scenario import SandboxEnvironment

#: GetConnectors that show records created through an UpdateConnector.
SHOWS_CREATED = {
    "SBQ_Crediteuren": "KnPurchaseRelationOrg",
    "SBQ_Debiteuren": "KnSalesRelationOrg",
    "SBQ_Transactie": "FiEntries",
    "Profit_Subjects": "KnSubject",
}


def _same(value: Any, wanted: str) -> bool:
    """Keys compare as text, numbers without leading zeros ("1" == 1)."""
    if value is None:
        return False
    text = str(value)
    if text == wanted:
        return True
    return text.isdigit() and wanted.isdigit() and int(text) == int(wanted)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def now() -> str:
    """AFAS date-times: local time written with a ``Z`` (§3)."""
    return datetime.now().replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(value: Any) -> str | None:
    return f"{str(value)[:10]}T00:00:00Z" if value else None


def _amount(value: Any) -> float:
    try:
        return round(float(str(value).replace(",", ".")), 2) if value not in (None, "") else 0.0
    except ValueError:
        return 0.0


class Books:
    """A read-only view; build one per request (it reads the store as it is then)."""

    def __init__(self, env: SandboxEnvironment, store: RecordStore) -> None:
        self.env = env
        self.store = store

    # The rows of a GetConnector ------------------------------------------------------------

    def base_rows(self, connector_id: str) -> list[Row]:
        """The environment's own rows or the built-in, before created records."""
        override = self.env.connector_rows.get(connector_id)
        spec = GET_CONNECTORS.get(connector_id)
        rows = [dict(r) for r in (override if override is not None else spec.rows if spec else ())]
        if connector_id == "CaseWare_Periods" and self.env.all_periods_blocked:
            for row in rows:
                row["Blocked"] = True
        return rows

    def rows(self, connector_id: str) -> list[Row]:
        """Every row AFAS would show, created records included (built-in field ids)."""
        rows = self.base_rows(connector_id)
        source = SHOWS_CREATED.get(connector_id)
        if source is None:
            return rows
        with self.store.lock:
            created = [dict(r) for r in self.store.all(source)]
        for record in created:
            rows.extend(_ROW_BUILDERS[connector_id](record))
        return rows

    def changes_rows(self, connector_id: str) -> bool:
        """Whether ``rows`` may differ from the built-in (else the built-in spec serves)."""
        return (
            connector_id in self.env.connector_rows
            or connector_id in SHOWS_CREATED
            or (connector_id == "CaseWare_Periods" and self.env.all_periods_blocked)
        )

    def _first(self, connector_id: str, **wanted: str) -> Row | None:
        for row in self.rows(connector_id):
            if all(_same(row.get(k), v) for k, v in wanted.items()):
                return row
        return None

    # What validation asks ------------------------------------------------------------------

    def administration(self, unid: str) -> Row | None:
        return self._first("SBQ_Administratie", AdminId=unid)

    def journal(self, unid: str, code: str) -> Row | None:
        return self._first("Precal_Dagboeken", AdminId=unid, JournalId=code)

    def account(self, unid: str, number: str) -> Row | None:
        return self._first("SBQ_Grootboekrekeningen", AdminId=unid, AccountNo=number)

    def period(self, unid: str, year: str, period: str) -> Row | None:
        return self._first("CaseWare_Periods", AdminId=unid, Year=year, Period=period)

    def vat_code(self, unid: str, code: str) -> Row | None:
        return self._first("SBQ_BTW", AdminId=unid, VatCode=code)

    def creditor(self, number: str) -> Row | None:
        return self._first("SBQ_Crediteuren", CreditorId=number)

    def debtor(self, number: str) -> Row | None:
        return self._first("SBQ_Debiteuren", DebtorId=number)

    def organisation(self, number: str) -> Row | None:
        return self._first("SBQ_Crediteuren", OrgId=number) or self._first(
            "SBQ_Debiteuren", OrgId=number
        )

    def known(self, connector_id: str, field_id: str, value: str) -> bool:
        """Whether a code table lists the value (countries, currencies, payment terms)."""
        return self._first(connector_id, **{field_id: value}) is not None

    def invoices(self, unid: str, invoice_id: str) -> Iterator[Row]:
        """Invoice lines (SBQ_Transactie) of this administration with this invoice number."""
        for row in self.rows("SBQ_Transactie"):
            if _same(row.get("AdminId"), unid) and _same(row.get("InvoiceId"), invoice_id):
                yield row


def _relation_row(id_field: str, id_key: str) -> Any:
    def build(record: Record) -> list[Row]:
        return [
            {
                id_field: record.get(id_key),
                "Name": record.get("Nm"),
                "SearchName": record.get("SeNm"),
                "OrgId": record.get("BcCo"),
                "VatNumber": record.get("VaId"),
                "Iban": record.get("Iban"),
                "CountryId": record.get("CoId"),
                "City": record.get("Rs"),
                "PaymentConditionId": record.get("PaCd"),
                "Email": record.get("EmAd"),
                "Blocked": _truthy(record.get("Bl")),
                "CreateDate": record.get("_created"),
                "ModifiedDate": record.get("_modified"),
            }
        ]

    return build


def _entry_rows(record: Record) -> list[Row]:
    lines = record.get("lines", [])
    creditor = next((ln.get("AcNr") for ln in lines if ln.get("VaAs") == "3"), None)
    debtor = next((ln.get("AcNr") for ln in lines if ln.get("VaAs") == "2"), None)
    return [
        {
            "AdminId": int(record["UnId"]) if str(record.get("UnId", "")).isdigit() else None,
            "EntryNo": int(record["EnNo"]),
            "JournalId": record.get("JoCo"),
            "Year": int(record["Year"]),
            "Period": int(record["Peri"]),
            "EntryDate": _date(line.get("EnDa")),
            "AccountNo": line.get("AcNr") if line.get("VaAs", "1") == "1" else None,
            "Description": line.get("Ds"),
            "InvoiceId": line.get("InId") or record.get("InId") or None,
            "AmountDebit": _amount(line.get("AmDe")),
            "AmountCredit": _amount(line.get("AmCr")),
            "VatCode": line.get("VaId"),
            "CreditorId": creditor,
            "DebtorId": debtor,
        }
        for line in lines
    ]


def _subject_rows(record: Record) -> list[Row]:
    kind = record.get("SfTp")
    return [
        {
            "SubjectId": int(record["SbId"]),
            "TypeId": int(record["StId"]) if record.get("StId") else None,
            "Type": "Inkoopfactuur" if record.get("StId") == "-5" else None,
            "Subject": record.get("Ds"),
            "DateCreated": record.get("_created"),
            "ToDebtor": record.get("SfId") if kind == "4" else None,
            "ToCreditor": record.get("SfId") if kind == "11" else None,
            "Project": record.get("PjId"),
            "Attachment": bool(record.get("attachments")) or bool(record.get("FileStream")),
        }
    ]


_ROW_BUILDERS = {
    "SBQ_Crediteuren": _relation_row("CreditorId", "CrId"),
    "SBQ_Debiteuren": _relation_row("DebtorId", "DbId"),
    "SBQ_Transactie": _entry_rows,
    "Profit_Subjects": _subject_rows,
}
