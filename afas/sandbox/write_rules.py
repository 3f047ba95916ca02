"""What each UpdateConnector of the guide checks against the administration, and what it
writes. Every rule only reads (the books, the store) and returns a ``Write``; the engine
applies the writes once every element of the request passed (AFAS: one transaction,
validation before anything is written, afas-api.md §6.1). One message per refusal (§6.3).

Rules are ours where AFAS documents none; each says so. The environment's failure settings
(``entry_refusal``, ``subject_destinations_not_allowed``…) take effect here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .books import Books, now
from .records import Record, RecordStore
from .scenario import SandboxEnvironment
from .update_envelope import (
    Element,
    UpdateError,
    amount,
    fields,
    is_base64,
    key_value,
    number,
    scalars,
    sub_elements,
    text,
    truthy,
)

#: Labels in AFAS's two languages for the fields messages name (AFAS: "Account Number").
LABELS = {
    "UnId": ("Administratie", "Administration"),
    "JoCo": ("Dagboek", "Journal"),
    "AcNr": ("Rekeningnummer", "Account Number"),
    "VaAs": ("Kenmerk rekening", "Account type"),
    "VaId": ("Btw-code", "VAT code"),
    "InId": ("Factuurnummer", "Invoice number"),
    "DcNr": ("Debiteur/crediteur", "Debtor/creditor"),
    "CoId": ("Land", "Country"),
    "CuId": ("Valuta", "Currency"),
    "PaCd": ("Betalingsvoorwaarde", "Payment condition"),
    "BcCo": ("Nummer", "Number"),
    "Nm": ("Naam", "Name"),
    "KnOrganisation": ("Organisatie", "Organisation"),
    "SfId": ("Bestemming", "Destination"),
    "PiId": ("Inkoopfactuur", "Purchase invoice"),
    "SiId": ("Verkoopfactuur", "Sales invoice"),
    "FileName": ("Bestandsnaam", "File name"),
}


def _labels(field_id: str) -> dict[str, str]:
    nl, en = LABELS.get(field_id, (field_id, field_id))
    return {"field": nl, "field_nl": nl, "field_en": en}


def unknown(field_id: str) -> UpdateError:
    return UpdateError("unknown_value", **_labels(field_id))


def required(field_id: str) -> UpdateError:
    return UpdateError("required", **_labels(field_id))


@dataclass
class Write:
    """One record to insert (``target`` None) or to change; ``keys`` go into the answer."""

    connector_id: str
    keys: dict[str, str]
    record: Record
    target: Record | None = None
    #: Extra changes (e.g. attachments to append), applied after ``record``.
    attachments: list[dict[str, str]] = field(default_factory=list)

    def apply(self, store: RecordStore) -> None:
        if self.target is None:
            self.record["_created"] = now()
            if self.attachments:
                self.record["attachments"] = self.attachments
            store.insert(self.connector_id, self.record)
            return
        with store.lock:
            self.target.update(self.record)
            self.target["_modified"] = now()
            self.target.setdefault("attachments", []).extend(self.attachments)
            if not self.target["attachments"]:
                del self.target["attachments"]


@dataclass(frozen=True)
class WriteContext:
    env: SandboxEnvironment
    store: RecordStore
    books: Books
    method: str  # POST or PUT
    sub_path: tuple[str, ...]  # () or (sub-object,) for POST /connectors/{id}/{sub}


Rule = Callable[[WriteContext, Element], Write]


# FiEntries ---------------------------------------------------------------------------------


def entry(ctx: WriteContext, element: Element) -> Write:
    """A journal entry: administration, journal, open period, known accounts, balanced."""
    env, books = ctx.env, ctx.books
    root = fields(element)
    unid = text(root.get("UnId")) or "1"  # AFAS: the user's last-used administration
    year, period = number(root.get("Year"), "Year"), number(root.get("Peri"), "Peri")
    journal_code = text(root.get("JoCo"))
    lines = [fields(line) for line in sub_elements(element, "FiEntries")]
    if not lines:
        raise required("AcNr")
    if books.administration(unid) is None:
        raise unknown("UnId")
    journal = books.journal(unid, journal_code)
    if env.entry_refusal == "wrong-journal" or journal is None:
        raise unknown("JoCo")
    if truthy(journal.get("Blocked")):
        raise UpdateError("journal_blocked", journal=journal_code)
    known_period = books.period(unid, str(year), str(period))
    if (
        env.entry_refusal == "blocked-period"
        or (year, period) in {tuple(p) for p in env.blocked_periods}
        or (known_period is not None and truthy(known_period.get("Blocked")))
    ):
        raise UpdateError("blocked_period", year=str(year), period=str(period))
    if known_period is None:
        raise UpdateError("period_unknown", year=str(year), period=str(period))
    debit = credit = Decimal(0)
    for line in lines:
        _check_line(ctx, unid, line)
        debit += amount(line.get("AmDe"))
        credit += amount(line.get("AmCr"))
    if env.entry_refusal == "not-balanced" or debit != credit:
        raise UpdateError("not_balanced", debit=f"{debit:.2f}", credit=f"{credit:.2f}")
    invoice = next((text(line.get("InId")) for line in lines if text(line.get("InId"))), "")
    with ctx.store.lock:
        taken = [r.get("EnNo", "") for r in ctx.store.all("FiEntries")]
    entry_number = ctx.store.next_number("EnNo", taken)
    keys = {"UnId": unid, "EnNo": entry_number}
    if invoice and env.entry_answer_has_invoice_id:
        keys["InId"] = invoice
    record = {
        **scalars(element),
        "UnId": unid,
        "EnNo": entry_number,
        "Year": str(year),
        "Peri": str(period),
        "InId": invoice,
        "lines": [{k: v for k, v in scalars({"Fields": line}).items()} for line in lines],
    }
    return Write("FiEntries", keys, record)


def _check_line(ctx: WriteContext, unid: str, line: dict[str, object]) -> None:
    books = ctx.books
    kind = text(line.get("VaAs")) or "1"
    account_number = text(line.get("AcNr"))
    if kind == "1":
        account = books.account(unid, account_number)
        if ctx.env.entry_refusal == "unknown-account" or account is None:
            raise unknown("AcNr")
        if truthy(account.get("Blocked")):
            raise UpdateError("account_blocked", account=account_number)
    elif kind == "2":
        if books.debtor(account_number) is None:
            raise unknown("AcNr")
    elif kind == "3":
        if books.creditor(account_number) is None:
            raise unknown("AcNr")
    else:
        raise unknown("VaAs")
    vat = text(line.get("VaId"))
    if vat and books.vat_code(unid, vat) is None:
        raise unknown("VaId")


# FiInvoice (PUT only) ------------------------------------------------------------------------


def invoice(ctx: WriteContext, element: Element) -> Write:
    """Changes an invoice an entry created (blocking it for payment, say); it must exist."""
    unid = key_value(element, "UnId") or "1"
    invoice_id = key_value(element, "InId")
    rows = list(ctx.books.invoices(unid, invoice_id))
    if not invoice_id or not rows:
        raise unknown("InId")
    party = key_value(element, "DcNr")
    if party:
        column = "DebtorId" if key_value(element, "VaAd") == "2" else "CreditorId"
        if not any(text(r.get(column)) == party for r in rows):
            raise unknown("DcNr")
    keys = {"UnId": unid, "InId": invoice_id}
    record = {**scalars(element), **keys}
    with ctx.store.lock:
        target = next(
            (
                r
                for r in ctx.store.all("FiInvoice")
                if r.get("UnId") == unid and r.get("InId") == invoice_id
            ),
            None,
        )
    return Write("FiInvoice", keys, record, target)


# KnPurchaseRelationOrg / KnSalesRelationOrg --------------------------------------------------


def purchase_relation(ctx: WriteContext, element: Element) -> Write:
    return _relation(ctx, element, "KnPurchaseRelationOrg", "CrId", ctx.books.creditor)


def sales_relation(ctx: WriteContext, element: Element) -> Write:
    return _relation(ctx, element, "KnSalesRelationOrg", "DbId", ctx.books.debtor)


def _relation(
    ctx: WriteContext,
    element: Element,
    connector_id: str,
    key: str,
    lookup: Callable[[str], dict[str, object] | None],
) -> Write:
    """A relation with its organisation and addresses (§6.6, §6.7)."""
    books, store = ctx.books, ctx.store
    given = key_value(element, key)
    root = fields(element)
    _check_code(books, "Precal_Valuta", "CurrencyId", root, "CuId")
    _check_code(books, "Precal_Betaalvoorwaarde", "PaymentConditionId", root, "PaCd")
    organisations = sub_elements(element, "KnOrganisation")
    flat: dict[str, str] = {}
    for organisation in organisations[:1]:
        flat.update(scalars(organisation))
        for kind in ("KnBasicAddressAdr", "KnBasicAddressPad"):
            for address in sub_elements(organisation, kind):
                country = text(fields(address).get("CoId"))
                if not country:  # AFAS: an address needs a country (§6.1)
                    raise required("CoId")
                if not books.known("Precal_Landen", "CountryId", country):
                    raise unknown("CoId")
                if kind == "KnBasicAddressAdr":
                    flat.update(scalars(address))
        for account in sub_elements(organisation, "KnBankAccount")[:1]:
            flat.update({k: v for k, v in scalars(account).items() if k in ("Iban", "Bic")})
    flat.update(scalars(element))
    with store.lock:
        created = {r.get(key): r for r in store.all(connector_id)}
    if ctx.method == "PUT":
        existing = created.get(given)
        builtin = lookup(given) if given else None
        if existing is None and builtin is None:
            raise UpdateError("record_to_update_not_found")
        org = (existing or {}).get("BcCo") or text((builtin or {}).get("OrgId"))
        keys = {key: given, "BcCo": org}
        # Changes to the built-in relations are accepted but not kept (ours).
        target = existing if existing is not None else {}
        return Write(connector_id, keys, {**flat, key: given}, target)
    if not organisations:  # required in practice (§6.6)
        raise required("KnOrganisation")
    if given and lookup(given) is not None:
        raise UpdateError("record_exists", field=key, value=given)
    match = text(flat.get("MatchOga")) or "6"
    organisation_number = flat.get("BcCo", "")
    if match == "0":
        if not organisation_number or books.organisation(organisation_number) is None:
            raise unknown("BcCo")
    elif not text(flat.get("Nm")):
        raise required("Nm")
    else:
        taken = [text(r.get("OrgId")) for r in books.rows("SBQ_Crediteuren")]
        taken += [text(r.get("OrgId")) for r in books.rows("SBQ_Debiteuren")]
        organisation_number = store.next_number("BcCo", taken)
    if not given:
        id_column = "CreditorId" if key == "CrId" else "DebtorId"
        source = "SBQ_Crediteuren" if key == "CrId" else "SBQ_Debiteuren"
        given = store.next_number(key, [text(r.get(id_column)) for r in books.rows(source)])
    keys = {key: given, "BcCo": organisation_number}
    return Write(connector_id, keys, {**flat, **keys})


def _check_code(
    books: Books, connector_id: str, column: str, values: dict[str, object], field_id: str
) -> None:
    code = text(values.get(field_id))
    if code and not books.known(connector_id, column, code):
        raise unknown(field_id)


# KnSubject ---------------------------------------------------------------------------------

_TYPE_DESTINATIONS = {"ToEm": 2, "ToBC": 3, "ToSR": 4, "ToPR": 11}


def destination(link: dict[str, object]) -> int:
    """The how-to's destination id of a KnSubjectLink (ours: SfTp, or 12/13 when a purchase
    or sales invoice is named with its relation)."""
    kind = text(link.get("SfTp"))
    if not kind:
        kind = next((str(v) for k, v in _TYPE_DESTINATIONS.items() if truthy(link.get(k))), "1")
    if kind == "11" and text(link.get("PiId")):
        return 12
    if kind == "4" and text(link.get("SiId")):
        return 13
    return int(kind) if kind.isdigit() else 1


def subject(ctx: WriteContext, element: Element) -> Write:
    """A dossier item: its type, its destination (the environment's setting), its links
    to existing relations and invoices, its attachments (Base64)."""
    store = ctx.store
    attachments = _attachments(element)
    root = fields(element)
    if root.get("FileStream") is not None and not is_base64(root.get("FileStream")):
        raise UpdateError("not_base64", file=text(root.get("FileId")) or "FileStream")
    record = {k: v for k, v in scalars(element).items() if k != "FileStream"}
    if ctx.method == "PUT" or ctx.sub_path:
        subject_id = key_value(element, "SbId")
        with store.lock:
            target = next((r for r in store.all("KnSubject") if r.get("SbId") == subject_id), None)
        if target is None:
            raise UpdateError("record_to_update_not_found")
        return Write("KnSubject", {"SbId": subject_id}, record, target, attachments)
    kind = text(root.get("StId"))
    if kind.startswith("-") and kind != "-5":  # only user types and -5 (§6.8)
        raise UpdateError("subject_type_not_allowed", type=kind)
    links = [fields(link) for link in sub_elements(element, "KnSubjectLink")]
    for link in links or [{}]:
        if destination(link) in ctx.env.subject_destinations_not_allowed:
            raise UpdateError("destination_not_allowed")
    for link in links:
        _check_link(ctx.books, link)
        record.update(scalars({"Fields": link}))
    with store.lock:
        taken = [r.get("SbId", "") for r in store.all("KnSubject")]
    taken += [text(r.get("SubjectId")) for r in ctx.books.base_rows("Profit_Subjects")]
    subject_id = store.next_number("SbId", taken)
    record["SbId"] = subject_id
    return Write("KnSubject", {"SbId": subject_id}, record, None, attachments)


def _check_link(books: Books, link: dict[str, object]) -> None:
    kind, target = text(link.get("SfTp")), text(link.get("SfId"))
    if kind == "11" and target and books.creditor(target) is None:
        raise unknown("SfId")
    if kind == "4" and target and books.debtor(target) is None:
        raise unknown("SfId")
    for unit, invoice_id in (("PiUn", "PiId"), ("SiUn", "SiId")):
        number_ = text(link.get(invoice_id))
        if number_ and not any(books.invoices(text(link.get(unit)) or "1", number_)):
            raise unknown(invoice_id)


def _attachments(element: Element) -> list[dict[str, str]]:
    found = []
    for attachment in sub_elements(element, "KnSubjectAttachment"):
        values = fields(attachment)
        name = text(values.get("FileName"))
        stream = values.get("FileStream")
        if stream is not None:
            if not name:
                raise required("FileName")
            if not is_base64(stream):
                raise UpdateError("not_base64", file=name)
        found.append({"FileName": name, "FileId": text(values.get("FileId"))})
    return found


RULES: dict[str, Rule] = {
    "FiEntries": entry,
    "FiInvoice": invoice,
    "KnPurchaseRelationOrg": purchase_relation,
    "KnSalesRelationOrg": sales_relation,
    "KnSubject": subject,
}
