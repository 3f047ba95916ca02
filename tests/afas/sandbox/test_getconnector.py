"""The GetConnector engine over HTTP: paging, sorting, filters and its errors (§5)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from .helpers import Afas, assert_afas_error, assert_empty, custom_afas


def rows(afas: Afas, connector: str, name: str = "healthy", **params: Any) -> list[dict]:
    response = afas.get(name, f"/connectors/{connector}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def creditors(afas: Afas, **params: Any) -> list[str]:
    return [r["CreditorId"] for r in rows(afas, "SBQ_Crediteuren", **params)]


def test_default_paging_is_skip_0_take_100_and_echoed(afas: Afas) -> None:
    body = afas.get("healthy", "/connectors/SBQ_Transactie").json()
    assert (body["skip"], body["take"]) == (0, 100)
    assert len(body["rows"]) == 100  # the silent 100-row cap (150 rows exist)


def test_skip_and_take_page_through_and_are_echoed(afas: Afas) -> None:
    params = {"skip": 140, "take": 20, "orderbyfieldids": "EntryNo"}
    body = afas.get("healthy", "/connectors/SBQ_Transactie", params=params).json()
    assert (body["skip"], body["take"]) == (140, 20)
    assert [r["EntryNo"] for r in body["rows"]] == list(range(240141, 240151))


def test_minus_one_minus_one_returns_everything(afas: Afas) -> None:
    body = afas.get("healthy", "/connectors/SBQ_Transactie", params={"skip": -1, "take": -1})
    assert body.json()["skip"] == -1 and body.json()["take"] == -1
    assert len(body.json()["rows"]) == 150


@pytest.mark.parametrize(
    ("skip", "take"), [(2, -1), (-1, 10), (0, 0), (-5, 10), (0, -2), ("a", 1), (0, "1.5")]
)
def test_invalid_skip_take_combination_is_500(afas: Afas, skip: object, take: object) -> None:
    response = afas.get("healthy", "/connectors/SBQ_BTW", params={"skip": skip, "take": take})
    body = assert_afas_error(response, 500, "Er is een onverwachte fout opgetreden.")
    assert body["errorNumber"] == -2147180999
    english = afas.get(
        "healthy",
        "/connectors/SBQ_BTW",
        params={"skip": skip, "take": take},
        headers={"Accept-Language": "en-us"},
    )
    assert_afas_error(english, 500, "An unexpected error has occurred.")


def test_empty_values_are_json_null_and_every_field_is_present(afas: Afas) -> None:
    response = afas.get("healthy", "/connectors/SBQ_Crediteuren")
    assert '"Email":null' in response.text  # one-line JSON, nulls written out
    by_id = {r["CreditorId"]: r for r in response.json()["rows"]}
    assert by_id["50002"]["Email"] is None
    assert all(set(r) == set(by_id["50001"]) for r in by_id.values())


def test_date_times_are_written_like_afas(afas: Afas) -> None:
    for row in rows(afas, "SBQ_Crediteuren"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["CreateDate"])


def test_order_ascending_and_descending(afas: Afas) -> None:
    cities = [r["City"] for r in rows(afas, "SBQ_Crediteuren", orderbyfieldids="-City")]
    assert cities == ["Zwolle", "Utrecht", "Köln", "Groningen", "Amersfoort"]
    percentages = [r["Percentage"] for r in rows(afas, "SBQ_BTW", orderbyfieldids="Percentage")]
    assert percentages == sorted(percentages)


def test_order_puts_nulls_first_and_supports_several_fields(afas: Afas) -> None:
    assert creditors(afas, orderbyfieldids="Email,CreditorId")[:2] == ["50002", "50005"]
    assert creditors(afas, orderbyfieldids="-Email,CreditorId")[-2:] == ["50002", "50005"]
    assert creditors(afas, orderbyfieldids="-Blocked,-CreditorId") == [
        "50005",
        "50004",
        "50003",
        "50002",
        "50001",
    ]


def f(field: str, operator: int, value: str) -> dict[str, Any]:
    return {"filterfieldids": field, "operatortypes": str(operator), "filtervalues": value}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (f("Name", 1, "energiebedrijf noord"), ["50002"]),  # case-insensitive
        (f("CreditorId", 2, "50004"), ["50004", "50005"]),
        (f("CreditorId", 3, "50002"), ["50001", "50002"]),
        (f("CreditorId", 4, "50003"), ["50004", "50005"]),
        (f("CreditorId", 5, "50002"), ["50001"]),
        (f("City", 6, "ol"), ["50005"]),
        (f("City", 6, "%oo%"), ["50003"]),  # with the XML docs' wildcards
        (f("City", 7, "Utrecht"), ["50002", "50003", "50004", "50005"]),
        (f("Email", 8, ""), ["50002", "50005"]),
        (f("Email", 9, ""), ["50001", "50003", "50004"]),
        (f("Name", 10, "Kantoor"), ["50001"]),
        (f("Name", 11, "B.V."), ["50002", "50003", "50004"]),
        (f("City", 12, "Gro"), ["50001", "50003", "50004", "50005"]),
        (f("Name", 13, "GmbH"), ["50004"]),
        (f("Name", 14, "%B.V."), ["50002", "50003", "50004"]),
        (f("Name", 15, "dam"), ["50003"]),  # quick filter behaves like contains
        (f("ModifiedDate", 2, "2024-01-01"), ["50001", "50004"]),  # null never matches >=
        (f("Blocked", 1, "1"), ["50005"]),
        (f("Blocked", 1, "false"), ["50001", "50002", "50003", "50004"]),
    ],
)
def test_each_operator(afas: Afas, params: dict[str, Any], expected: list[str]) -> None:
    assert creditors(afas, **params) == expected


def test_numeric_filters_compare_as_numbers(afas: Afas) -> None:
    high = rows(afas, "SBQ_BTW", **f("Percentage", 4, "9"))
    assert [r["VatCode"] for r in high] == ["H21", "V21"]
    one = rows(afas, "SBQ_Transactie", **f("EntryNo", 1, "240010"))
    assert [r["EntryNo"] for r in one] == [240010]


def test_comma_is_and_semicolon_is_or(afas: Afas) -> None:
    params = {
        "filterfieldids": "CountryId,Blocked;City",
        "filtervalues": "NL,0;Köln",
        "operatortypes": "1,1;1",
    }
    assert creditors(afas, **params) == ["50001", "50002", "50003", "50004"]
    params = {
        "filterfieldids": "CountryId,City",
        "filtervalues": "NL,Zwolle",
        "operatortypes": "1,1",
    }
    assert creditors(afas, **params) == ["50005"]


def test_operator_defaults_to_equals_without_operatortypes(afas: Afas) -> None:
    assert creditors(afas, filterfieldids="City", filtervalues="Utrecht") == ["50001"]


def test_filterjson_and_or(afas: Afas) -> None:
    document = {
        "Filters": {
            "Filter": [
                {
                    "@FilterId": "Filter 1",
                    "Field": [
                        {"@FieldId": "CountryId", "@OperatorType": "1", "#text": "NL"},
                        {"@FieldId": "Name", "@OperatorType": "6", "#text": "B.V."},
                    ],
                },
                {
                    "@FilterId": "Filter 2",
                    "Field": {"@FieldId": "City", "@OperatorType": "1", "#text": "Köln"},
                },
            ]
        }
    }
    assert creditors(afas, filterjson=json.dumps(document)) == ["50001", "50004", "50005"]


def test_filterjson_value_may_hold_commas(afas: Afas) -> None:
    document = {
        "Filters": {
            "Filter": {
                "Field": {"@FieldId": "Description", "@OperatorType": "6", "#text": "korting, 30"}
            }
        }
    }
    result = rows(afas, "Precal_Betaalvoorwaarde", filterjson=json.dumps(document))
    assert [r["PaymentConditionId"] for r in result] == ["8K2"]


@pytest.mark.parametrize(
    "params",
    [
        f("Nope", 1, "x"),
        {"orderbyfieldids": "CreditorId,-Nope"},
        {"filterjson": json.dumps({"Filters": {"Filter": {"Field": {"@FieldId": "Nope"}}}})},
        f("creditorid", 1, "50001"),  # field ids are case-sensitive
    ],
)
def test_unknown_field_is_500_connector_field_not_found(afas: Afas, params: dict[str, Any]) -> None:
    field = params.get("filterfieldids") or "Nope"
    response = afas.get("healthy", "/connectors/SBQ_Crediteuren", params=params)
    assert_afas_error(response, 500, f"Connectorveld '{field}' niet gevonden")
    english = afas.get(
        "healthy",
        "/connectors/SBQ_Crediteuren",
        params=params,
        headers={"Accept-Language": "en-us"},
    )
    assert_afas_error(english, 500, f"Connector field '{field}' not found")


@pytest.mark.parametrize(
    "params",
    [
        {"filterfieldids": "City,Name", "filtervalues": "x", "operatortypes": "1,1"},
        {"filterfieldids": "City", "filtervalues": "x;y", "operatortypes": "1"},
        f("City", 16, "x"),
        f("Blocked", 1, "maybe"),
        f("ModifiedDate", 2, "yesterday"),
        {"filterjson": "{not json"},
    ],
)
def test_malformed_filters_are_500(afas: Afas, params: dict[str, Any]) -> None:
    response = afas.get("healthy", "/connectors/SBQ_Crediteuren", params=params)
    assert_afas_error(response, 500, "Er is een onverwachte fout opgetreden.")


def test_query_string_longer_than_2049_characters_is_404(afas: Afas) -> None:
    prefix = "filterfieldids=City&operatortypes=6&filtervalues="
    at_limit = prefix + "x" * (2048 - len(prefix))  # "?" + 2048 = 2049
    url = afas.url("healthy", "/connectors/SBQ_Crediteuren")
    ok = afas.client.get(url + "?" + at_limit, headers=afas.auth("healthy"))
    assert ok.status_code == 200
    too_long = afas.client.get(url + "?" + at_limit + "x", headers=afas.auth("healthy"))
    assert too_long.status_code == 404


def test_connector_not_in_app_connector_401(afas: Afas) -> None:
    assert_empty(afas.get("missing-connectors", "/connectors/SBQ_BTW"), 401)
    assert_empty(afas.get("healthy", "/connectors/sbq_btw"), 401)  # ids are case-sensitive


def test_connector_not_in_app_connector_500_dutch_with_legacy_header(afas: Afas) -> None:
    response = afas.get("not-supported-500", "/connectors/Precal_Landen")
    message = "Deze GetConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd."
    body = assert_afas_error(response, 500, message)
    assert body["errorNumber"] == -2147180996
    assert base64.b64decode(response.headers["X-PROFIT-ERROR"]).decode() == message


def test_connector_not_in_app_connector_500_english(afas: Afas) -> None:
    response = afas.get("english", "/connectors/CaseWare_Periods")
    message = "GetConnector not supported for this app or the user is not authorized."
    assert_afas_error(response, 500, message)
    dutch = afas.get(
        "english", "/connectors/CaseWare_Periods", headers={"Accept-Language": "nl-nl"}
    )
    assert_afas_error(
        dutch,
        500,
        "Deze GetConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
    )


def test_blocked_definition_is_500_geblokkeerd(afas: Afas) -> None:
    response = afas.get("broken-definition", "/connectors/SBQ_Transactie", params={"take": 1})
    assert_afas_error(response, 500, "Deze GetConnector (definitie) is geblokkeerd")
    english = afas.get(
        "broken-definition", "/connectors/SBQ_Transactie", headers={"Accept-Language": "en-us"}
    )
    assert_afas_error(english, 500, "This GetConnector (definition) is blocked")
    ids = [c["id"] for c in afas.get("broken-definition", "/metainfo").json()["getConnectors"]]
    assert "SBQ_Transactie" in ids


def test_unknown_connector_in_app_connector_gets_generic_rows(afas: Afas) -> None:
    result = rows(afas, "SBQ_Kostenplaatsen_All", name="near-miss")
    assert result[0] == {
        "Id": 1,
        "Description": "Eerste regel",
        "ModifiedDate": "2024-01-01T00:00:00Z",
    }


def test_scenario_can_replace_rows() -> None:
    environments = [
        {
            "name": "own-rows",
            "number": 1,
            "connector_rows": {"SBQ_BTW": [{"VatCode": "X1", "Percentage": 1.5}]},
        }
    ]
    with custom_afas(environments) as afas:
        (row,) = rows(afas, "SBQ_BTW", name="own-rows")
        assert row["VatCode"] == "X1"
        assert row["Description"] is None  # missing fields are null
