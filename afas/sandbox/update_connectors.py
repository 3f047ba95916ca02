"""Built-in UpdateConnectors: the §4.3 metainfo shape and what the update engine needs.

Field ids and nesting follow afas-api.md §6 (AFAS's specs); labels, lengths and which fields
are marked mandatory are illustrative (§4.3: AFAS's own mandatory flags are unreliable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class UpdateField:
    id: str
    data_type: str
    label: str
    mandatory: bool = False
    length: int = 0
    primary_key: bool = False
    values: tuple[tuple[str, str], ...] = ()

    def metainfo(self) -> dict[str, Any]:
        return {
            "fieldId": self.id,
            "primaryKey": self.primary_key,
            "dataType": self.data_type,
            "label": self.label,
            "mandatory": self.mandatory,
            "length": self.length,
            "decimals": 2 if self.data_type == "decimal" else 0,
            "decimalFieldId": "",
            "notzero": False,
            "controlType": 5 if self.data_type == "int" else 1,
            "values": [{"id": k, "description": v} for k, v in self.values],
        }


@dataclass(frozen=True, slots=True)
class UpdateObject:
    name: str
    fields: tuple[UpdateField, ...]
    objects: tuple[UpdateObject, ...] = ()

    def metainfo(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fields": [f.metainfo() for f in self.fields],
            "objects": [o.metainfo() for o in self.objects],
        }

    def field(self, field_id: str) -> UpdateField | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def object(self, name: str) -> UpdateObject | None:
        return next((o for o in self.objects if o.name == name), None)

    def altered(
        self, removed: frozenset[tuple[str, ...]], retyped: Mapping[tuple[str, ...], str]
    ) -> UpdateObject:
        """This object without the ``removed`` field paths and with ``retyped`` data types
        (paths relative to this object: ``("Nm",)``, ``("KnOrganisation", "Nm")``)."""
        fields = tuple(
            replace(f, data_type=retyped[(f.id,)]) if (f.id,) in retyped else f
            for f in self.fields
            if (f.id,) not in removed
        )
        objects = tuple(
            o.altered(
                frozenset(p[1:] for p in removed if len(p) > 1 and p[0] == o.name),
                {p[1:]: t for p, t in retyped.items() if len(p) > 1 and p[0] == o.name},
            )
            for o in self.objects
        )
        return UpdateObject(self.name, fields, objects)


@dataclass(frozen=True, slots=True)
class UpdateConnectorSpec:
    """One UpdateConnector. ``root`` is the JSON root element, which may differ from the id."""

    id: str
    description: str
    root: UpdateObject
    methods: frozenset[str]
    #: Keys returned in ``results`` after POST, in order; the first is the record's own key.
    result_keys: tuple[str, ...]
    #: Sub-object paths accepted by POST ``/connectors/{id}/{sub}``.
    sub_objects: frozenset[str] = field(default=frozenset())

    @property
    def root_name(self) -> str:
        return self.root.name

    def metainfo(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "name": self.root.name,
            "fields": [f.metainfo() for f in self.root.fields],
            "objects": [o.metainfo() for o in self.root.objects],
        }


def _f(id_: str, data_type: str, label: str, **kw: Any) -> UpdateField:
    return UpdateField(id_, data_type, label, **kw)


_VAAS = (("1", "Grootboekrekening"), ("2", "Debiteur"), ("3", "Crediteur"))
_MATCH_OGA = (
    ("0", "Zoek op BcCo (nummer)"),
    ("1", "Zoek op KvK-nummer"),
    ("2", "Zoek op fiscaal nummer"),
    ("3", "Zoek op naam"),
    ("4", "Zoek op adres"),
    ("5", "Zoek op postadres"),
    ("6", "Altijd nieuw toevoegen"),
    ("9", "Gebruik parent"),
)
_SFTP = (
    ("1", "Geen"),
    ("2", "Medewerker"),
    ("3", "Organisatie/persoon"),
    ("4", "Verkooprelatie"),
    ("11", "Inkooprelatie"),
)

_ADDRESS_FIELDS = (
    _f("CoId", "string", "Land", length=3),
    _f("PbAd", "boolean", "Postbusadres"),
    _f("Ad", "string", "Straat", length=60),
    _f("HmNr", "int", "Huisnummer"),
    _f("HmAd", "string", "Toevoeging aan huisnummer", length=30),
    _f("ZpCd", "string", "Postcode", length=15),
    _f("Rs", "string", "Woonplaats", length=50),
    _f("ResZip", "boolean", "Adres aanvullen met postcodegegevens"),
    _f("BeginDate", "date", "Ingangsdatum adreswijziging"),
)
_KN_ORGANISATION = UpdateObject(
    "KnOrganisation",
    (
        _f("MatchOga", "string", "Organisatie vergelijken op", values=_MATCH_OGA),
        _f("BcId", "int", "Interne id"),
        _f("BcCo", "string", "Nummer", length=15),
        _f("SeNm", "string", "Zoeknaam", length=10),
        _f("Nm", "string", "Naam", length=255),
        _f("CcNr", "string", "KvK-nummer", length=30),
        _f("FiNr", "string", "Fiscaal nummer", length=20),
        _f("EmAd", "string", "E-mail werk", length=255),
        _f("TeNr", "string", "Telefoonnr. werk", length=30),
        _f("PadAdr", "boolean", "Postadres is adres"),
        _f("AutoNum", "boolean", "Autonummering"),
    ),
    (
        UpdateObject("KnBasicAddressAdr", _ADDRESS_FIELDS),
        UpdateObject("KnBasicAddressPad", _ADDRESS_FIELDS),
        UpdateObject(
            "KnBankAccount",
            (
                _f("CoId", "string", "Land van de bank", length=3),
                _f("Iban", "string", "IBAN", length=34),
                _f("Bic", "string", "BIC", length=11),
            ),
        ),
        UpdateObject(
            "KnContact",
            (
                _f("ViKc", "string", "Soort contact", length=3),
                _f("EmAd", "string", "E-mail werk", length=255),
            ),
        ),
    ),
)

_RELATION_FIELDS = (
    _f("CuId", "string", "Valuta", length=3),
    _f("PaCd", "string", "Betalingsvoorwaarde", length=6),
    _f("VaId", "string", "Btw-nummer", length=20),
    _f("ColA", "string", "Verzamelrekening", length=16),
    _f("InPv", "string", "Factuurverzending", length=1),
    _f("Bl", "boolean", "Tijdelijk geblokkeerd"),
)

UPDATE_CONNECTORS: dict[str, UpdateConnectorSpec] = {
    s.id: s
    for s in (
        UpdateConnectorSpec(
            "FiEntries",
            "Financiële mutatie",
            UpdateObject(
                "FiEntryPar",
                (
                    _f("Year", "int", "Boekjaar", mandatory=True),
                    _f("Peri", "int", "Periode", mandatory=True),
                    _f("UnId", "int", "Administratie"),
                    _f("JoCo", "string", "Dagboek", mandatory=True, length=6),
                    _f("AuNu", "boolean", "Autonummering factuur"),
                    _f("AdDc", "boolean", "Afwijkende datum"),
                    _f("AdDa", "date", "Datum"),
                    _f("PrTp", "int", "Type verwerking"),
                ),
                (
                    UpdateObject(
                        "FiEntries",
                        (
                            _f("VaAs", "string", "Kenmerk rekening", mandatory=True, values=_VAAS),
                            _f("AcNr", "string", "Rekeningnummer", mandatory=True, length=16),
                            _f("EnDa", "date", "Datum boeking", mandatory=True),
                            _f("BpDa", "date", "Boekstukdatum", mandatory=True),
                            _f("BpNr", "string", "Boekstuknummer", length=16),
                            _f("InId", "string", "Factuurnummer", length=12),
                            _f("Ds", "string", "Omschrijving boeking", length=255),
                            _f("AmDe", "decimal", "Bedrag debet"),
                            _f("AmCr", "decimal", "Bedrag credit"),
                            _f("VaId", "string", "Btw-code", length=6),
                            _f("DaEx", "date", "Vervaldatum"),
                            _f("CuId", "string", "Valuta", length=3),
                            _f("Rate", "decimal", "Valutakoers"),
                            _f("AmDc", "decimal", "Valutabedrag debet"),
                            _f("AmCc", "decimal", "Valutabedrag credit"),
                            _f("BlPa", "boolean", "Blokkeren voor betaling"),
                            _f("PaCd", "string", "Betalingsvoorwaarde", length=6),
                            _f("PrId", "string", "Project", length=15),
                        ),
                        (
                            UpdateObject(
                                "FiDimEntries",
                                (
                                    *(
                                        _f(f"DiC{n}", "string", f"Code as {n}", length=15)
                                        for n in range(1, 6)
                                    ),
                                    _f("AmDe", "decimal", "Bedrag debet"),
                                    _f("AmCr", "decimal", "Bedrag credit"),
                                ),
                            ),
                            UpdateObject(
                                "FiPrjEntries",
                                (
                                    _f("PrId", "string", "Project", mandatory=True, length=15),
                                    _f("ItCd", "string", "Itemcode", mandatory=True, length=40),
                                ),
                            ),
                            UpdateObject(
                                "FiTransEntries",
                                (
                                    _f("YeSt", "int", "Beginjaar"),
                                    _f("PeSt", "int", "Beginperiode"),
                                    _f("YeEn", "int", "Eindjaar"),
                                    _f("PeEn", "int", "Eindperiode"),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
            methods=frozenset({"POST", "DELETE"}),
            result_keys=("UnId", "EnNo"),
        ),
        UpdateConnectorSpec(
            "FiInvoice",
            "Financiële factuur",
            UpdateObject(
                "FiInvoice",
                (
                    _f("UnId", "int", "Administratie", mandatory=True, primary_key=True),
                    _f("VaAd", "string", "Kenmerk rekening", mandatory=True, values=_VAAS[1:]),
                    _f("DcNr", "string", "Debiteur/crediteur", mandatory=True, length=16),
                    _f("InId", "string", "Factuurnummer", primary_key=True, length=12),
                    _f("ExDa", "date", "Vervaldatum"),
                    _f("Ds", "string", "Omschrijving", length=255),
                    _f("PaId", "string", "Betalingskenmerk", length=40),
                    _f("BlPa", "boolean", "Geblokkeerd voor betaling"),
                    _f("DuLe", "boolean", "Aanmanen"),
                    _f("AuPa", "boolean", "Automatisch betalen"),
                    _f("PaCd", "string", "Betalingsvoorwaarde", length=6),
                    _f("DdId", "string", "Machtiging", length=35),
                ),
            ),
            methods=frozenset({"PUT"}),
            result_keys=("UnId", "InId"),
        ),
        UpdateConnectorSpec(
            "KnPurchaseRelationOrg",
            "Inkooprelatie organisatie",
            UpdateObject(
                "KnPurchaseRelationOrg",
                (
                    _f("CrId", "string", "Nummer crediteur", primary_key=True, length=16),
                    _f("IsCr", "boolean", "Is crediteur"),
                    *_RELATION_FIELDS,
                    _f("AuPa", "boolean", "Automatisch betalen"),
                    _f("PayM", "string", "Betaalwijze", length=3),
                    _f("EnId", "string", "Entiteit", length=15),
                ),
                (_KN_ORGANISATION,),
            ),
            methods=frozenset({"POST", "PUT", "DELETE"}),
            result_keys=("CrId", "BcCo"),
        ),
        UpdateConnectorSpec(
            "KnSalesRelationOrg",
            "Verkooprelatie organisatie",
            UpdateObject(
                "KnSalesRelationOrg",
                (
                    _f("DbId", "string", "Nummer debiteur", primary_key=True, length=16),
                    _f("IsDb", "boolean", "Is debiteur"),
                    *_RELATION_FIELDS,
                ),
                (_KN_ORGANISATION,),
            ),
            methods=frozenset({"POST", "PUT"}),
            result_keys=("DbId", "BcCo"),
        ),
        UpdateConnectorSpec(
            "KnSubject",
            "Dossieritem",
            UpdateObject(
                "KnSubject",
                (
                    _f("SbId", "int", "Dossieritem", primary_key=True),
                    _f("StId", "int", "Type dossieritem", mandatory=True),
                    _f("Ds", "string", "Onderwerp", mandatory=True, length=255),
                    _f("SbTx", "string", "Toelichting"),
                    _f("Da", "date", "Datum"),
                    _f("UsId", "string", "Afzender", length=20),
                    _f("EmId", "string", "Verantwoordelijke", length=15),
                    _f("St", "boolean", "Afgehandeld"),
                    _f("FvF1", "string", "Kenmerk 1", length=10),
                    _f("FvF2", "string", "Kenmerk 2", length=10),
                    _f("FvF3", "string", "Kenmerk 3", length=10),
                    _f("SbPa", "string", "Bijlage (pad)", length=255),
                    _f("FileId", "string", "Bestand-id", length=40),
                    _f("FileStream", "blob", "Bestand"),
                ),
                (
                    UpdateObject(
                        "KnSubjectLink",
                        (
                            _f("DoCRM", "boolean", "Opslaan in CRM"),
                            _f("ToBC", "boolean", "Naar organisatie/persoon"),
                            _f("ToEm", "boolean", "Naar medewerker"),
                            _f("ToSR", "boolean", "Naar verkooprelatie"),
                            _f("ToPR", "boolean", "Naar inkooprelatie"),
                            _f("BcId", "string", "Organisatie/persoon", length=15),
                            _f("CdId", "string", "Contact", length=15),
                            _f("SfTp", "int", "Type bestemming", values=_SFTP),
                            _f("SfId", "string", "Bestemming", length=16),
                            _f("SiUn", "int", "Administratie verkoopfactuur"),
                            _f("SiTp", "int", "Type verkoopfactuur"),
                            _f("SiId", "string", "Verkoopfactuur", length=12),
                            _f("PiUn", "int", "Administratie inkoopfactuur"),
                            _f("PiTp", "int", "Type inkoopfactuur"),
                            _f("PiId", "string", "Inkoopfactuur", length=12),
                            _f("PjId", "string", "Project", length=15),
                        ),
                    ),
                    UpdateObject(
                        "KnSubjectAttachment",
                        (
                            _f("FileName", "string", "Bestandsnaam", length=255),
                            _f("FileStream", "blob", "Bestand"),
                            _f("FileId", "string", "Bestand-id", length=40),
                        ),
                    ),
                ),
            ),
            methods=frozenset({"POST", "PUT", "DELETE"}),
            result_keys=("SbId",),
            sub_objects=frozenset({"KnSubjectAttachment"}),
        ),
    )
}

#: The 5 UpdateConnectors of the guide, by AFAS's real ids (product.md).
REQUIRED_UPDATE_CONNECTORS: tuple[str, ...] = (
    "FiInvoice",
    "FiEntries",
    "KnPurchaseRelationOrg",
    "KnSalesRelationOrg",
    "KnSubject",
)

#: The special ("data") connectors of the guide, §4.5.
SPECIAL_CONNECTORS: tuple[str, ...] = (
    "AppConnectorReport",
    "AppConnectorSubject",
    "AppConnectorVersion",
    "GetXMLSchema",
)


def altered_spec(
    spec: UpdateConnectorSpec,
    removed: Sequence[str] = (),
    retyped: Mapping[str, str] | None = None,
) -> UpdateConnectorSpec:
    """The spec as an environment's ``metainfo/update`` reports it: without the ``removed``
    fields and with the ``retyped`` data types (dotted paths below the root element, such as
    ``FiEntries.BpDa`` or ``KnOrganisation.Nm``)."""
    if not removed and not retyped:
        return spec
    root = spec.root.altered(
        frozenset(tuple(p.split(".")) for p in removed),
        {tuple(p.split(".")): t for p, t in (retyped or {}).items()},
    )
    return replace(spec, root=root)


def update_connector_spec(connector_id: str) -> UpdateConnectorSpec:
    """The spec from the connector specs, or a generic one (root element = id) for an unknown id."""
    spec = UPDATE_CONNECTORS.get(connector_id)
    if spec is not None:
        return spec
    return UpdateConnectorSpec(
        connector_id,
        connector_id,
        UpdateObject(
            connector_id,
            (
                _f("Id", "int", "Nummer", primary_key=True),
                _f("Ds", "string", "Omschrijving", length=255),
            ),
        ),
        methods=frozenset({"POST", "PUT", "DELETE"}),
        result_keys=("Id",),
    )
