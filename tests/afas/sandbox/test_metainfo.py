"""/metainfo, /metainfo/get/{id}, /metainfo/update/{id} and /profitversion."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from afas.sandbox.get_connectors import REQUIRED_GET_CONNECTORS
from afas.sandbox.update_connectors import REQUIRED_UPDATE_CONNECTORS, SPECIAL_CONNECTORS

from .helpers import Afas, assert_afas_error, assert_empty, custom_afas

NOT_SUPPORTED_GET_NL = (
    "Deze GetConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd."
)
NOT_SUPPORTED_UPDATE_NL = (
    "Deze UpdateConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd."
)


def test_metainfo_lists_the_app_connector(afas: Afas) -> None:
    response = afas.get("healthy", "/metainfo")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"updateConnectors", "getConnectors", "info"}
    assert [c["id"] for c in body["getConnectors"]] == list(REQUIRED_GET_CONNECTORS)
    assert [c["id"] for c in body["updateConnectors"]] == list(REQUIRED_UPDATE_CONNECTORS)
    assert all(set(c) == {"id", "description"} for c in body["getConnectors"])
    assert {"id": "KnSubject", "description": "Dossieritem"} in body["updateConnectors"]
    assert body["info"] == {
        "envid": "O10001AA",
        "appName": "SmartBooqing",
        "group": "Alle Profit-gebruikers",
        "tokenExpiry": "0",
    }


def test_metainfo_does_not_list_special_connectors_by_default(afas: Afas) -> None:
    ids = {c["id"] for c in afas.get("healthy", "/metainfo").json()["getConnectors"]}
    assert not ids & set(SPECIAL_CONNECTORS)


def test_metainfo_get_describes_fields(afas: Afas) -> None:
    response = afas.get("healthy", "/metainfo/get/SBQ_BTW")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "SBQ_BTW"
    assert body["description"]
    field = next(f for f in body["fields"] if f["id"] == "VatCode")
    assert set(field) == {
        "id",
        "fieldId",
        "dataType",
        "label",
        "length",
        "controlType",
        "decimals",
        "decimalsFieldId",
    }
    assert field["dataType"] == "string"


def test_metainfo_get_of_unknown_id_in_app_connector_is_generic(afas: Afas) -> None:
    body = afas.get("near-miss", "/metainfo/get/SBQ_Kostenplaatsen_All").json()
    assert body["name"] == "SBQ_Kostenplaatsen_All"
    assert [f["id"] for f in body["fields"]] == ["Id", "Description", "ModifiedDate"]


@pytest.mark.parametrize("connector_id", ["SBQ_Btw", "sbq_btw", "SBQ_BTW_", "Nope"])
def test_metainfo_get_ids_are_case_sensitive_and_exact(afas: Afas, connector_id: str) -> None:
    assert_empty(afas.get("healthy", f"/metainfo/get/{connector_id}"), 401)


def test_metainfo_update_describes_nested_objects(afas: Afas) -> None:
    body = afas.get("healthy", "/metainfo/update/FiEntries").json()
    assert body["id"] == "FiEntries"
    assert body["name"] == "FiEntryPar"  # root element differs from the connector id
    year = next(f for f in body["fields"] if f["fieldId"] == "Year")
    assert year["mandatory"] is True
    assert {"primaryKey", "decimalFieldId", "notzero", "values"} <= set(year)
    lines = body["objects"][0]
    assert lines["name"] == "FiEntries"
    assert {f["fieldId"] for f in lines["fields"]} >= {"VaAs", "AcNr", "AmDe", "AmCr", "VaId"}
    assert {o["name"] for o in lines["objects"]} == {
        "FiDimEntries",
        "FiPrjEntries",
        "FiTransEntries",
    }


@pytest.mark.parametrize("connector_id", REQUIRED_UPDATE_CONNECTORS)
def test_metainfo_update_answers_for_each_required_connector(afas: Afas, connector_id: str) -> None:
    response = afas.get("healthy", f"/metainfo/update/{connector_id}")
    assert response.status_code == 200
    assert response.json()["id"] == connector_id


def test_metainfo_update_not_in_app_connector(afas: Afas) -> None:
    assert_empty(afas.get("missing-connectors", "/metainfo/update/KnSubject"), 401)
    response = afas.get("not-supported-500", "/metainfo/update/FiInvoices")
    assert_afas_error(response, 500, NOT_SUPPORTED_UPDATE_NL)
    assert response.json()["errorNumber"] == -2147180996


def test_metainfo_get_not_in_app_connector_500_variant(afas: Afas) -> None:
    response = afas.get("not-supported-500", "/metainfo/get/Precal_Landen")
    assert_afas_error(response, 500, NOT_SUPPORTED_GET_NL)


def test_profitversion_requires_version_connector(afas: Afas) -> None:
    response = afas.get("not-supported-500", "/profitversion")
    assert_afas_error(
        response,
        500,
        "Deze connector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
    )


@pytest.fixture(scope="module")
def variants() -> Iterator[Afas]:
    environments = [
        {
            "name": "lists-specials",
            "number": 1,
            "list_special_connectors_in_metainfo": True,
            "token_expiry": "2030-01-31T00:00:00Z",
            "envid": "A1BB",
            "app_connector": {"name": "Other app", "group": "ADM"},
        },
        {
            "name": "version-free",
            "number": 2,
            "profitversion_requires_version_connector": False,
            "profit_version": "8.0.1",
            "app_connector": {"without": ["AppConnectorVersion", "GetXMLSchema"]},
        },
        {
            "name": "needs-schema",
            "number": 3,
            "metainfo_update_requires_getxmlschema": True,
            "app_connector": {"without": ["GetXMLSchema", "AppConnectorVersion"]},
        },
    ]
    with custom_afas(environments) as afas:
        yield afas


def test_special_connectors_listed_when_configured(variants: Afas) -> None:
    body = variants.get("lists-specials", "/metainfo").json()
    ids = [c["id"] for c in body["getConnectors"]]
    assert ids[-4:] == list(SPECIAL_CONNECTORS)
    assert body["info"] == {
        "envid": "A1BB",
        "appName": "Other app",
        "group": "ADM",
        "tokenExpiry": "2030-01-31T00:00:00Z",
    }


def test_profitversion_without_version_connector_when_configured(variants: Afas) -> None:
    response = variants.get("version-free", "/profitversion")
    assert response.status_code == 200
    assert response.json() == {"version": "8.0.1"}
    assert_empty(variants.get("needs-schema", "/profitversion"), 401)


def test_metainfo_update_requires_getxmlschema_when_configured(variants: Afas) -> None:
    assert_empty(variants.get("needs-schema", "/metainfo/update/KnSubject"), 401)
    assert variants.get("version-free", "/metainfo/update/KnSubject").status_code == 200
    assert variants.get("needs-schema", "/metainfo/get/SBQ_BTW").status_code == 200
