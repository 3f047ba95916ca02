"""Built-in GetConnectors: field lists and a few rows of plausible data.

Field ids and data are ours (afas-api.md §13.14: the real SmartBooqing connectors are
environment-specific); the shapes follow §4.2 and §5.2. Date-times are written the way AFAS
writes them, ``YYYY-MM-DDTHH:MM:SSZ`` (local time despite the ``Z``), empty values are ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: dataType spellings: AFAS shows ``string`` and ``int``; the others are our guess (§13.11).
DATA_TYPES = ("string", "int", "decimal", "date", "boolean")

#: controlType per dataType: illustrative values, AFAS does not document the vocabulary.
_CONTROL_TYPES = {"string": 1, "int": 5, "decimal": 3, "date": 4, "boolean": 7}

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class GetField:
    id: str
    data_type: str
    label: str
    length: int = 0
    decimals: int = 0

    def metainfo(self, index: int) -> dict[str, Any]:
        """The field as ``/metainfo/get/{id}`` describes it (§4.2)."""
        return {
            "id": self.id,
            "fieldId": f"U{index + 1:03d}",
            "dataType": self.data_type,
            "label": self.label,
            "length": self.length,
            "controlType": _CONTROL_TYPES[self.data_type],
            "decimals": self.decimals,
            "decimalsFieldId": "",
        }


@dataclass(frozen=True, slots=True)
class GetConnectorSpec:
    id: str
    description: str
    fields: tuple[GetField, ...]
    rows: tuple[Row, ...] = field(default=())

    def field(self, field_id: str) -> GetField | None:
        """Field ids are case-sensitive, like connector ids (§3)."""
        for candidate in self.fields:
            if candidate.id == field_id:
                return candidate
        return None

    def metainfo(self) -> dict[str, Any]:
        return {
            "name": self.id,
            "description": self.description,
            "fields": [f.metainfo(i) for i, f in enumerate(self.fields)],
        }


def _s(id_: str, label: str, length: int = 50) -> GetField:
    return GetField(id_, "string", label, length)


def _i(id_: str, label: str) -> GetField:
    return GetField(id_, "int", label, 9)


def _d(id_: str, label: str, decimals: int = 2) -> GetField:
    return GetField(id_, "decimal", label, 18, decimals)


def _dt(id_: str, label: str) -> GetField:
    return GetField(id_, "date", label, 0)


def _b(id_: str, label: str) -> GetField:
    return GetField(id_, "boolean", label, 0)


def _rows(fields: tuple[GetField, ...], *values: tuple[Any, ...]) -> tuple[Row, ...]:
    names = [f.id for f in fields]
    return tuple(dict(zip(names, row, strict=True)) for row in values)


def _spec(
    id_: str, description: str, fields: tuple[GetField, ...], *rows: tuple
) -> GetConnectorSpec:
    return GetConnectorSpec(id_, description, fields, _rows(fields, *rows))


_PERIODS = (
    _i("AdminId", "Administratie"),
    _i("Year", "Boekjaar"),
    _i("Period", "Periode"),
    _dt("StartDate", "Begindatum"),
    _dt("EndDate", "Einddatum"),
    _b("Blocked", "Geblokkeerd"),
)
_VALUTA = (
    _s("CurrencyId", "Valuta", 3),
    _s("Description", "Omschrijving"),
    _i("Decimals", "Aantal decimalen"),
    _s("Symbol", "Symbool", 5),
)
_DAGBOEKEN = (
    _i("AdminId", "Administratie"),
    _s("JournalId", "Dagboek", 6),
    _s("Description", "Omschrijving"),
    _s("JournalType", "Type dagboek", 20),
    _s("AccountNo", "Rekening", 16),
    _b("Blocked", "Geblokkeerd"),
)
_LANDEN = (
    _s("CountryId", "Land", 3),
    _s("Description", "Omschrijving"),
    _s("IsoCode", "ISO-code", 3),
    _b("EuMember", "EU-land"),
)
_BETAALVOORWAARDE = (
    _s("PaymentConditionId", "Betalingsvoorwaarde", 6),
    _s("Description", "Omschrijving"),
    _i("Days", "Betalingstermijn (dagen)"),
    _d("DiscountPercentage", "Kortingspercentage"),
    _i("DiscountDays", "Kortingstermijn (dagen)"),
)
_ADMINISTRATIE = (
    _i("AdminId", "Administratie"),
    _s("AdminNm", "Naam administratie", 80),
    _s("AdminCd", "Code", 10),
    _s("CurrencyId", "Valuta", 3),
    _s("VatNumber", "Btw-nummer", 20),
    _s("CocNumber", "KvK-nummer", 20),
    _b("Blocked", "Geblokkeerd"),
)
_BTW = (
    _i("AdminId", "Administratie"),
    _s("VatCode", "Btw-code", 6),
    _s("Description", "Omschrijving"),
    _d("Percentage", "Percentage"),
    _s("VatType", "Btw-type", 20),
    _s("AccountNo", "Btw-rekening", 16),
    _b("Blocked", "Geblokkeerd"),
)
_RELATIE = (
    _s("Name", "Naam", 80),
    _s("SearchName", "Zoeknaam", 20),
    _s("OrgId", "Organisatie", 15),
    _s("VatNumber", "Btw-nummer", 20),
    _s("Iban", "IBAN", 34),
    _s("CountryId", "Land", 3),
    _s("City", "Woonplaats", 50),
    _s("PaymentConditionId", "Betalingsvoorwaarde", 6),
    _s("Email", "E-mail", 255),
    _b("Blocked", "Geblokkeerd"),
    _dt("CreateDate", "Aanmaakdatum"),
    _dt("ModifiedDate", "Gewijzigd op"),
)
_CREDITEUREN = (_s("CreditorId", "Crediteurnummer", 16), *_RELATIE)
_DEBITEUREN = (_s("DebtorId", "Debiteurnummer", 16), *_RELATIE)
_TRANSACTIE = (
    _i("AdminId", "Administratie"),
    _i("EntryNo", "Boekstuknummer"),
    _s("JournalId", "Dagboek", 6),
    _i("Year", "Boekjaar"),
    _i("Period", "Periode"),
    _dt("EntryDate", "Boekdatum"),
    _s("AccountNo", "Rekening", 16),
    _s("Description", "Omschrijving", 255),
    _s("InvoiceId", "Factuurnummer", 12),
    _d("AmountDebit", "Bedrag debet"),
    _d("AmountCredit", "Bedrag credit"),
    _s("VatCode", "Btw-code", 6),
    _s("CreditorId", "Crediteur", 16),
    _s("DebtorId", "Debiteur", 16),
)
_KOSTENPLAATSEN = (
    _i("AdminId", "Administratie"),
    _s("AxisId", "As", 6),
    _s("AxisDescription", "Omschrijving as"),
    _s("CostCentreId", "Kostenplaats", 15),
    _s("Description", "Omschrijving"),
    _b("Blocked", "Geblokkeerd"),
)
_GROOTBOEK = (
    _i("AdminId", "Administratie"),
    _s("AccountNo", "Rekeningnummer", 16),
    _s("Description", "Omschrijving"),
    _s("AccountType", "Rekeningtype", 20),
    _s("VatCode", "Btw-code", 6),
    _b("AllocationRequired", "Toewijzing verplicht"),
    _b("Blocked", "Geblokkeerd"),
)
_SUBJECTS = (
    _i("SubjectId", "Dossieritem"),
    _i("TypeId", "Type dossieritem"),
    _s("Type", "Omschrijving type"),
    _s("Subject", "Onderwerp", 255),
    _dt("DateCreated", "Aanmaakdatum"),
    _s("ToDebtor", "Debiteur", 16),
    _s("ToCreditor", "Crediteur", 16),
    _s("Project", "Project", 15),
    _b("Attachment", "Bijlage"),
)
_KOSTEN = (
    _i("AdminId", "Administratie"),
    _s("CostId", "Kostensoort", 10),
    _s("Description", "Omschrijving"),
    _s("AccountNo", "Rekening", 16),
    _s("VatCode", "Btw-code", 6),
    _d("Amount", "Standaardbedrag"),
)
_PROJECTS = (
    _s("ProjectId", "Project", 15),
    _s("Description", "Omschrijving"),
    _i("UnitId", "Administratie"),
    _s("ProjectGroup", "Projectgroep", 15),
    _s("DebtorId", "Debiteur", 16),
    _dt("StartDate", "Startdatum"),
    _dt("EndDate", "Einddatum"),
    _b("Blocked", "Geblokkeerd"),
)

_T0 = "T00:00:00Z"


def _period_rows() -> list[tuple]:
    rows = []
    last_day = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    for admin in (1, 2):
        for period in range(1, 13):
            rows.append(
                (
                    admin,
                    2024,
                    period,
                    f"2024-{period:02d}-01{_T0}",
                    f"2024-{period:02d}-{last_day[period - 1]:02d}{_T0}",
                    period <= 6,
                )
            )
    return rows


_CREDITORS = (
    (
        "50001",
        "Kantoorvakhandel De Ridder B.V.",
        "RIDDER",
        "1000101",
        "NL812345678B01",
        "NL91ABNA0417164300",
        "NL",
        "Utrecht",
        "30",
        "facturen@deridder.example",
        False,
        "2021-03-04T10:12:00Z",
        "2024-02-01T08:30:00Z",
    ),
    (
        "50002",
        "Energiebedrijf Noord",
        "ENERGIENRD",
        "1000102",
        "NL823456789B01",
        "NL20INGB0001234567",
        "NL",
        "Groningen",
        "14",
        None,
        False,
        "2020-01-15T09:00:00Z",
        "2023-11-20T14:05:00Z",
    ),
    (
        "50003",
        "Schoonmaakdienst Van Dam",
        "VANDAM",
        "1000103",
        None,
        "NL39RABO0300065264",
        "NL",
        "Amersfoort",
        "30",
        "admin@vandam.example",
        False,
        "2022-06-01T11:45:00Z",
        None,
    ),
    (
        "50004",
        "Büro Müller GmbH",
        "MULLER",
        "1000104",
        "DE123456789",
        "DE89370400440532013000",
        "DE",
        "Köln",
        "60",
        "rechnung@mueller.example",
        False,
        "2023-09-12T16:20:00Z",
        "2024-01-08T09:10:00Z",
    ),
    (
        "50005",
        "Oude Leverancier B.V.",
        "OUDELEV",
        "1000105",
        "NL834567890B01",
        None,
        "NL",
        "Zwolle",
        "30",
        None,
        True,
        "2015-05-05T08:00:00Z",
        "2019-12-31T17:00:00Z",
    ),
)
_DEBTORS = (
    (
        "10001",
        "Bakkerij Jansen",
        "JANSEN",
        "1000201",
        "NL845678901B01",
        "NL44RABO0123456789",
        "NL",
        "Leusden",
        "14",
        "info@bakkerijjansen.example",
        False,
        "2019-02-11T10:00:00Z",
        "2024-03-01T12:00:00Z",
    ),
    (
        "10002",
        "Fietsenmaker Smit",
        "SMIT",
        "1000202",
        None,
        "NL02ABNA0123456789",
        "NL",
        "Haarlem",
        "30",
        None,
        False,
        "2021-07-19T13:30:00Z",
        None,
    ),
    (
        "10003",
        "Hotel Zeezicht",
        "ZEEZICHT",
        "1000203",
        "NL856789012B01",
        "NL69INGB0123456789",
        "NL",
        "Zandvoort",
        "30",
        "boekhouding@zeezicht.example",
        False,
        "2018-04-23T09:15:00Z",
        "2023-10-10T10:10:00Z",
    ),
    (
        "10004",
        "Brasserie Anvers",
        "ANVERS",
        "1000204",
        "BE0123456789",
        "BE68539007547034",
        "BE",
        "Antwerpen",
        "30",
        "compta@anvers.example",
        False,
        "2022-12-01T08:45:00Z",
        "2024-01-15T15:00:00Z",
    ),
)


def _transaction_rows(count: int = 150) -> list[tuple]:
    """Deterministic purchase entries: enough rows to exceed the default take of 100."""
    rows = []
    accounts = ("4000", "4100", "4200", "4300", "4500")
    vat = ("H21", "H9", "H0")
    for n in range(count):
        creditor = _CREDITORS[n % 4][0]
        period = n % 12 + 1
        day = n % 28 + 1
        amount = round(50 + (n * 37) % 950 + (n % 100) / 100, 2)
        rows.append(
            (
                1 if n % 5 else 2,
                240001 + n,
                "INK",
                2024,
                period,
                f"2024-{period:02d}-{day:02d}{_T0}",
                accounts[n % len(accounts)],
                f"Inkoopfactuur {creditor} #{n + 1}",
                f"INK{n + 1:05d}",
                amount,
                0.0,
                vat[n % len(vat)],
                creditor,
                None,
            )
        )
    return rows


GET_CONNECTORS: dict[str, GetConnectorSpec] = {
    s.id: s
    for s in (
        _spec(
            "CaseWare_Periods", "Perioden per administratie (CaseWare)", _PERIODS, *_period_rows()
        ),
        _spec(
            "Precal_Valuta",
            "Valuta",
            _VALUTA,
            ("EUR", "Euro", 2, "€"),
            ("USD", "Amerikaanse dollar", 2, "$"),
            ("GBP", "Brits pond", 2, "£"),
            ("CHF", "Zwitserse frank", 2, None),
            ("JPY", "Japanse yen", 0, "¥"),
        ),
        _spec(
            "Precal_Dagboeken",
            "Dagboeken",
            _DAGBOEKEN,
            (1, "INK", "Inkoopboek", "Inkoop", "1600", False),
            (1, "VRK", "Verkoopboek", "Verkoop", "1300", False),
            (1, "MEM", "Memoriaal", "Memoriaal", None, False),
            (1, "BNK", "ABN AMRO zakelijk", "Bank", "1100", False),
            (1, "KAS", "Kas", "Kas", "1000", True),
            (2, "INK", "Inkoopboek", "Inkoop", "1600", False),
            (2, "VRK", "Verkoopboek", "Verkoop", "1300", False),
        ),
        _spec(
            "Precal_Landen",
            "Landen",
            _LANDEN,
            ("NL", "Nederland", "NLD", True),
            ("BE", "België", "BEL", True),
            ("DE", "Duitsland", "DEU", True),
            ("FR", "Frankrijk", "FRA", True),
            ("GB", "Verenigd Koninkrijk", "GBR", False),
            ("US", "Verenigde Staten", "USA", False),
            ("CH", "Zwitserland", "CHE", False),
        ),
        _spec(
            "Precal_Betaalvoorwaarde",
            "Betalingsvoorwaarden",
            _BETAALVOORWAARDE,
            ("14", "14 dagen netto", 14, 0.0, None),
            ("30", "30 dagen netto", 30, 0.0, None),
            ("60", "60 dagen netto", 60, 0.0, None),
            ("8K2", "8 dagen 2% korting, 30 dagen netto", 30, 2.0, 8),
            ("DIR", "Direct", 0, None, None),
        ),
        _spec(
            "SBQ_Administratie",
            "Administraties (SmartBooqing)",
            _ADMINISTRATIE,
            (1, "Voorbeeld Holding B.V.", "VBH", "EUR", "NL001234567B01", "12345678", False),
            (
                2,
                "Voorbeeld Werkmaatschappij B.V.",
                "VBW",
                "EUR",
                "NL002345678B01",
                "23456789",
                False,
            ),
            (3, "Voorbeeld Oud B.V.", "VBO", "EUR", None, None, True),
        ),
        _spec(
            "SBQ_BTW",
            "Btw-codes (SmartBooqing)",
            _BTW,
            (1, "H21", "Btw hoog 21%", 21.0, "Inkoop", "1520", False),
            (1, "H9", "Btw laag 9%", 9.0, "Inkoop", "1521", False),
            (1, "H0", "Btw 0%", 0.0, "Inkoop", None, False),
            (1, "V21", "Btw hoog 21% verkoop", 21.0, "Verkoop", "1500", False),
            (1, "V9", "Btw laag 9% verkoop", 9.0, "Verkoop", "1501", False),
            (1, "VEU", "Verlegd binnen EU", 0.0, "Verlegd", None, False),
            (1, "H6", "Btw laag 6% (oud)", 6.0, "Inkoop", "1522", True),
        ),
        _spec("SBQ_Crediteuren", "Crediteuren (SmartBooqing)", _CREDITEUREN, *_CREDITORS),
        _spec("SBQ_Debiteuren", "Debiteuren (SmartBooqing)", _DEBITEUREN, *_DEBTORS),
        _spec(
            "SBQ_Transactie",
            "Factuurgeschiedenis (SmartBooqing)",
            _TRANSACTIE,
            *_transaction_rows(),
        ),
        _spec(
            "SBQ_Kostenplaasten_All",
            "Kostenplaatsen (SmartBooqing)",
            _KOSTENPLAATSEN,
            (1, "01", "Kostenplaats", "100", "Directie", False),
            (1, "01", "Kostenplaats", "200", "Verkoop", False),
            (1, "01", "Kostenplaats", "300", "Productie", False),
            (1, "02", "Kostendrager", "P01", "Product A", False),
            (1, "02", "Kostendrager", "P99", "Uitgefaseerd", True),
            (2, "01", "Kostenplaats", "100", "Algemeen", False),
        ),
        _spec(
            "SBQ_Grootboekrekeningen",
            "Grootboekrekeningen (SmartBooqing)",
            _GROOTBOEK,
            (1, "0100", "Gebouwen", "Balans", None, False, False),
            (1, "1000", "Kas", "Balans", None, False, False),
            (1, "1100", "Bank", "Balans", None, False, False),
            (1, "1300", "Debiteuren", "Balans", None, False, False),
            (1, "1520", "Te vorderen btw hoog", "Balans", None, False, False),
            (1, "1600", "Crediteuren", "Balans", None, False, False),
            (1, "4000", "Kantoorkosten", "Winst en verlies", "H21", True, False),
            (1, "4100", "Energiekosten", "Winst en verlies", "H21", False, False),
            (1, "4200", "Schoonmaakkosten", "Winst en verlies", "H21", False, False),
            (1, "4300", "Reiskosten", "Winst en verlies", "H9", False, False),
            (1, "4500", "Advieskosten", "Winst en verlies", "H21", True, False),
            (1, "8000", "Omzet hoog", "Winst en verlies", "V21", False, False),
            (1, "8074", "Omzet diversen", "Winst en verlies", None, True, True),
        ),
        _spec(
            "Profit_Subjects",
            "Dossieritems",
            _SUBJECTS,
            (
                1001,
                -5,
                "Inkoopfactuur",
                "Inkoopfactuur INK00001",
                "2024-01-05T09:12:00Z",
                None,
                "50001",
                None,
                True,
            ),
            (
                1002,
                5,
                "Verkoopfactuur",
                "Verkoopfactuur 2024-001",
                "2024-01-09T14:30:00Z",
                "10001",
                None,
                None,
                True,
            ),
            (
                1003,
                4,
                "Notitie",
                "Telefoonnotitie",
                "2024-02-02T11:00:00Z",
                "10002",
                None,
                "PRJ-001",
                False,
            ),
        ),
        _spec(
            "DDI_Kosten",
            "Kostensoorten (DDI)",
            _KOSTEN,
            (1, "KANT", "Kantoorartikelen", "4000", "H21", None),
            (1, "ENER", "Energie", "4100", "H21", 150.0),
            (1, "REIS", "Reiskosten", "4300", "H9", 0.19),
            (1, "ADV", "Advies", "4500", "H21", None),
        ),
        _spec(
            "Profit_Projects",
            "Projecten",
            _PROJECTS,
            (
                "PRJ-001",
                "Implementatie boekhouding",
                1,
                "INT",
                "10002",
                "2024-01-01T00:00:00Z",
                None,
                False,
            ),
            (
                "PRJ-002",
                "Verbouwing hotel",
                1,
                "EXT",
                "10003",
                "2023-09-01T00:00:00Z",
                "2024-06-30T00:00:00Z",
                False,
            ),
            (
                "PRJ-003",
                "Afgerond project",
                2,
                "EXT",
                "10001",
                "2022-01-01T00:00:00Z",
                "2022-12-31T00:00:00Z",
                True,
            ),
        ),
    )
}

#: The guide's 15 GetConnectors (product.md), in the guide's order and spelling.
REQUIRED_GET_CONNECTORS: tuple[str, ...] = (
    "CaseWare_Periods",
    "Precal_Valuta",
    "Precal_Dagboeken",
    "Precal_Landen",
    "Precal_Betaalvoorwaarde",
    "SBQ_Administratie",
    "SBQ_BTW",
    "SBQ_Crediteuren",
    "SBQ_Debiteuren",
    "SBQ_Transactie",
    "SBQ_Kostenplaasten_All",
    "SBQ_Grootboekrekeningen",
    "Profit_Subjects",
    "DDI_Kosten",
    "Profit_Projects",
)

_GENERIC_FIELDS = (
    _i("Id", "Nummer"),
    _s("Description", "Omschrijving"),
    _dt("ModifiedDate", "Gewijzigd op"),
)


def get_connector_spec(connector_id: str) -> GetConnectorSpec:
    """The spec from the connector specs, or a generic one for an id the specs do not know."""
    spec = GET_CONNECTORS.get(connector_id)
    if spec is not None:
        return spec
    return GetConnectorSpec(
        connector_id,
        connector_id,
        _GENERIC_FIELDS,
        _rows(
            _GENERIC_FIELDS,
            (1, "Eerste regel", "2024-01-01T00:00:00Z"),
            (2, "Tweede regel", None),
        ),
    )
