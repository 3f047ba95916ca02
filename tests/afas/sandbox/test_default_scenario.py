"""Each of the 18 built-in environments answers as the scenario promises."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from afas.sandbox.get_connectors import REQUIRED_GET_CONNECTORS
from afas.sandbox.update_connectors import REQUIRED_UPDATE_CONNECTORS

from .helpers import Afas, assert_afas_error, assert_empty


def listed(afas: Afas, name: str) -> tuple[list[str], list[str]]:
    body = afas.get(name, "/metainfo").json()
    return [c["id"] for c in body["getConnectors"]], [c["id"] for c in body["updateConnectors"]]


@pytest.mark.parametrize("connector", REQUIRED_GET_CONNECTORS)
def test_healthy_answers_every_get_connector(afas: Afas, connector: str) -> None:
    response = afas.get("healthy", f"/connectors/{connector}", params={"skip": 0, "take": 1})
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 1


def test_healthy_is_complete(afas: Afas) -> None:
    get_ids, update_ids = listed(afas, "healthy")
    assert get_ids == list(REQUIRED_GET_CONNECTORS)
    assert update_ids == list(REQUIRED_UPDATE_CONNECTORS)
    assert afas.get("healthy", "/profitversion").status_code == 200


def test_missing_connectors(afas: Afas) -> None:
    get_ids, update_ids = listed(afas, "missing-connectors")
    assert set(REQUIRED_GET_CONNECTORS) - set(get_ids) == {"SBQ_BTW", "Profit_Projects"}
    assert set(REQUIRED_UPDATE_CONNECTORS) - set(update_ids) == {"KnSubject"}
    assert_empty(afas.get("missing-connectors", "/connectors/Profit_Projects"), 401)
    assert_empty(afas.get("missing-connectors", "/subjectconnector/1/2"), 401)
    assert afas.get("missing-connectors", "/connectors/SBQ_Debiteuren").status_code == 200


def test_near_miss(afas: Afas) -> None:
    get_ids, update_ids = listed(afas, "near-miss")
    missing = set(REQUIRED_GET_CONNECTORS) - set(get_ids)
    assert missing == {"SBQ_Kostenplaasten_All", "SBQ_Debiteuren", "DDI_Kosten"}
    assert {"SBQ_Kostenplaatsen_All", "sbq_debiteuren", "DDI_Kosten_Profit"} <= set(get_ids)
    assert "FiInvoices" in update_ids and "FiInvoice" not in update_ids
    assert afas.get("near-miss", "/connectors/sbq_debiteuren").status_code == 200
    assert_empty(afas.get("near-miss", "/connectors/SBQ_Debiteuren"), 401)
    assert_empty(afas.get("near-miss", "/metainfo/update/FiInvoice"), 401)


@pytest.mark.parametrize("name", ["revoked-token", "blocked-app-connector"])
def test_token_refused_with_empty_401(afas: Afas, name: str) -> None:
    for path in ("/profitversion", "/metainfo", "/connectors/SBQ_BTW"):
        assert_empty(afas.get(name, path), 401)


def test_blocked_app_connector_message(afas: Afas) -> None:
    response = afas.get("blocked-app-connector-message", "/metainfo")
    assert_afas_error(response, 500, "De App connector is geblokkeerd.")


def test_ip_restricted(afas: Afas) -> None:
    assert afas.get("ip-restricted", "/metainfo").status_code == 403


def test_maintenance(afas: Afas) -> None:
    response = afas.get("maintenance", "/metainfo")
    assert response.status_code == 503
    assert response.json()["retry_after"] == 3600


def test_slow_takes_a_second_and_a_half(afas: Afas) -> None:
    started = time.monotonic()
    assert afas.get("slow", "/profitversion").status_code == 200
    assert time.monotonic() - started >= 1.45  # timers may wake a tick early


def test_flaky(afas: Afas) -> None:
    with pytest.raises(httpx.TransportError):
        afas.get("flaky", "/metainfo/get/SBQ_BTW")
    assert afas.get("flaky", "/metainfo/get/SBQ_BTW").status_code == 200


def test_broken_definition(afas: Afas) -> None:
    assert "SBQ_Transactie" in listed(afas, "broken-definition")[0]
    response = afas.get("broken-definition", "/connectors/SBQ_Transactie")
    assert_afas_error(response, 500, "Deze GetConnector (definitie) is geblokkeerd")
    assert afas.get("broken-definition", "/connectors/SBQ_BTW").status_code == 200


def test_not_supported_500(afas: Afas) -> None:
    assert "Precal_Landen" not in listed(afas, "not-supported-500")[0]
    response = afas.get("not-supported-500", "/connectors/Precal_Landen")
    assert_afas_error(
        response,
        500,
        "Deze GetConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
    )
    assert afas.get("not-supported-500", "/profitversion").status_code == 500


def test_test_token_as_production(afas: Afas) -> None:
    envid = afas.get("test-token-as-production", "/metainfo").json()["info"]["envid"]
    assert envid == "T10013AA"
    assert afas.env("test-token-as-production").environment().matches_envid(envid) is False


def test_token_expiring_in_five_days(afas: Afas) -> None:
    expiry = afas.get("token-expiring", "/metainfo").json()["info"]["tokenExpiry"]
    moment = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(moment - datetime.now(UTC) - timedelta(days=5)) < timedelta(minutes=5)


def test_garbage(afas: Afas) -> None:
    response = afas.get("garbage", "/metainfo")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_unreachable(afas: Afas) -> None:
    with pytest.raises(httpx.TransportError):
        afas.get("unreachable", "/metainfo")


def test_english(afas: Afas) -> None:
    get_ids, update_ids = listed(afas, "english")
    assert "CaseWare_Periods" not in get_ids and "FiEntries" not in update_ids
    response = afas.get("english", "/metainfo/update/FiEntries")
    assert_afas_error(
        response, 500, "UpdateConnector not supported for this app or the user is not authorized."
    )


def test_test_environment_is_served_under_resttest_only(afas: Afas) -> None:
    url = afas.url("test-environment", "/metainfo")
    assert "/resttest/10018/" in url
    response = afas.get("test-environment", "/metainfo")
    assert response.json()["info"]["envid"] == "T10018AA"
    wrong_host = afas.client.get(
        url.replace("/resttest/", "/rest/"), headers=afas.auth("test-environment")
    )
    assert wrong_host.status_code == 401  # afas-api.md §1: the wrong host is an auth failure
