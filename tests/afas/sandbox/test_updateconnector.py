"""UpdateConnectors: envelopes, functional checks, created records and DELETE (§6)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import Afas, assert_afas_error, assert_empty, custom_afas


def entry(debit: float = 100, credit: float = 100, year: int = 2024, period: int = 7) -> dict:
    """A memorial entry on accounts, journal and an open period the catalogue lists."""
    return {
        "FiEntryPar": {
            "Element": {
                "Fields": {"Year": year, "Peri": period, "UnId": 1, "JoCo": "MEM"},
                "Objects": [
                    {
                        "FiEntries": {
                            "Element": [
                                {
                                    "Fields": {
                                        "VaAs": "1",
                                        "AcNr": "1600",
                                        "EnDa": "2024-07-01",
                                        "BpDa": "2024-07-01",
                                        "AmDe": 0,
                                        "AmCr": credit,
                                    }
                                },
                                {
                                    "Fields": {
                                        "VaAs": "1",
                                        "AcNr": "4100",
                                        "EnDa": "2024-07-01",
                                        "BpDa": "2024-07-01",
                                        "AmDe": debit,
                                        "AmCr": 0,
                                    }
                                },
                            ]
                        }
                    }
                ],
            }
        }
    }


@pytest.fixture(scope="module")
def updates() -> Iterator[Afas]:
    environments = [
        {"name": "books", "number": 1, "blocked_periods": [[2024, 8]]},
        {"name": "put-201", "number": 2, "put_status": 201},
        {
            "name": "no-knsubject",
            "number": 3,
            "unauthorised_connector_status": 500,
            "app_connector": {"without": ["KnSubject"]},
        },
    ]
    with custom_afas(environments) as afas:
        yield afas


def post(afas: Afas, connector: str, body: Any, name: str = "books", **kw: Any):
    return afas.request("POST", name, f"/connectors/{connector}", json=body, **kw)


def test_balanced_entry_is_created_under_the_root_element(updates: Afas) -> None:
    response = post(updates, "FiEntries", entry())
    assert response.status_code == 201
    keys = response.json()["results"]["FiEntryPar"]
    assert keys["UnId"] == "1"
    assert keys["EnNo"].isdigit()


def test_unbalanced_entry_is_500(updates: Afas) -> None:
    response = post(updates, "FiEntries", entry(debit=100, credit=99.5))
    assert_afas_error(response, 500, "De boeking is niet in balans: debet 100.00, credit 99.50.")


def test_blocked_period_is_500(updates: Afas) -> None:
    response = post(updates, "FiEntries", entry(period=8), headers={"Accept-Language": "en-us"})
    assert_afas_error(
        response, 500, "For this administration, period 8 of the year 2024 is blocked."
    )


def test_objects_as_plain_object_and_element_as_array(updates: Afas) -> None:
    body = entry()
    element = body["FiEntryPar"]["Element"]
    element["Objects"] = element["Objects"][0]
    body["FiEntryPar"]["Element"] = [element, element]
    assert post(updates, "FiEntries", body).status_code == 201


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"FiEntries": entry()["FiEntryPar"]}, "root element 'FiEntryPar' expected"),
        ({"FiEntryPar": {"Fields": {}}}, "'FiEntryPar' must hold an 'Element'"),
        ({"FiEntryPar": {"Element": []}}, "'FiEntryPar' has no elements"),
        ({"FiEntryPar": {"Element": {"Fields": []}}}, "'Fields' of 'FiEntryPar' must be an object"),
        ([1, 2], "root element 'FiEntryPar' expected"),
    ],
)
def test_malformed_envelope_is_500(updates: Afas, body: Any, detail: str) -> None:
    assert_afas_error(post(updates, "FiEntries", body), 500, f"Ongeldige invoer: {detail}")


def test_invalid_json_is_400(updates: Afas) -> None:
    response = updates.request(
        "POST",
        "books",
        "/connectors/FiEntries",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid json"}


def test_missing_mandatory_field_is_500(updates: Afas) -> None:
    body = {"KnSubject": {"Element": {"Fields": {"StId": 4}}}}
    assert_afas_error(post(updates, "KnSubject", body), 500, "Voer een waarde in voor 'Onderwerp'.")


def test_knsubject_create_attach_and_delete(updates: Afas) -> None:
    body = {"KnSubject": {"Element": {"Fields": {"StId": "-5", "Ds": "Inkoopfactuur"}}}}
    created = post(updates, "KnSubject", body)
    assert created.status_code == 201
    subject_id = created.json()["results"]["KnSubject"]["SbId"]
    attachment = {
        "KnSubject": {
            "Element": {
                "@SbId": subject_id,
                "Objects": [
                    {
                        "KnSubjectAttachment": {
                            "Element": {"Fields": {"FileName": "a.pdf", "FileStream": "JVBERi0="}}
                        }
                    }
                ],
            }
        }
    }
    assert post(updates, "KnSubject/KnSubjectAttachment", attachment).status_code == 201
    path = f"/connectors/KnSubject/KnSubject/@SbId/{subject_id}"
    assert_empty(updates.request("DELETE", "books", path), 200)
    gone = updates.request("DELETE", "books", path)
    assert_afas_error(gone, 500, "Het record dat u wilt verwijderen bestaat niet.")


def test_sub_object_post_needs_the_key(updates: Afas) -> None:
    body = {"KnSubject": {"Element": {"Objects": []}}}
    response = post(updates, "KnSubject/KnSubjectAttachment", body)
    assert_afas_error(response, 500, "Voer een waarde in voor 'Dossieritem'.")


def test_purchase_relation_keeps_given_key_and_deletes_by_composite_key(updates: Afas) -> None:
    body = {
        "KnPurchaseRelationOrg": {
            "Element": {
                "@CrId": "70001",
                "Fields": {"CuId": "EUR", "InPv": "A"},
                "Objects": {
                    "KnOrganisation": {"Element": {"Fields": {"MatchOga": "6", "Nm": "Jansen"}}}
                },
            }
        }
    }
    response = post(updates, "KnPurchaseRelationOrg", body)
    assert response.status_code == 201
    keys = response.json()["results"]["KnPurchaseRelationOrg"]
    assert keys["CrId"] == "70001"
    path = (
        f"/connectors/KnPurchaseRelationOrg/KnPurchaseRelationOrg/@CrId,@BcCo/70001,{keys['BcCo']}"
    )
    assert_empty(updates.request("DELETE", "books", path), 200)


def test_fiinvoice_is_put_only(updates: Afas) -> None:
    body = {
        "FiInvoice": {
            "Element": {
                "Fields": {
                    "UnId": "1",
                    "VaAd": "3",
                    "DcNr": "50002",
                    "InId": "INK00002",
                    "BlPa": "0",
                }
            }
        }
    }
    assert_empty(updates.request("PUT", "books", "/connectors/FiInvoice", json=body), 200)
    response = post(updates, "FiInvoice", body)
    assert_afas_error(
        response, 500, "De actie 'post' wordt niet ondersteund door deze UpdateConnector."
    )
    created = updates.request("PUT", "put-201", "/connectors/FiInvoice", json=body)
    assert created.status_code == 201
    assert created.json() == {"results": {"FiInvoice": {"UnId": "1", "InId": "INK00002"}}}


def test_update_connector_not_in_app_connector(afas: Afas, updates: Afas) -> None:
    body = {"KnSubject": {"Element": {"Fields": {"StId": 4, "Ds": "x"}}}}
    assert_empty(post(afas, "KnSubject", body, name="missing-connectors"), 401)
    assert_afas_error(
        post(updates, "KnSubject", body, name="no-knsubject"),
        500,
        "Deze UpdateConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
    )


def test_unknown_sub_path_is_404(updates: Afas) -> None:
    response = post(updates, "KnSubject/KnNope", {"KnSubject": {"Element": {}}})
    assert response.status_code == 404


def test_entry_can_be_deleted_by_the_documented_nested_path(updates: Afas) -> None:
    keys = post(updates, "FiEntries", entry()).json()["results"]["FiEntryPar"]
    path = (
        f"/connectors/FiEntries/FiEntryPar/UnId,JoCo/{keys['UnId']},MEM"
        f"/FiEntries/@EnNo/{keys['EnNo']}"
    )
    assert_empty(updates.request("DELETE", "books", path), 200)
    assert updates.request("DELETE", "books", path).status_code == 500
    assert updates.request("DELETE", "books", "/connectors/FiEntries/FiEntryPar").status_code == 404
