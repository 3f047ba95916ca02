"""The whole live export of the contract against 10001 healthy, and its removal, over HTTP:
the answers AFAS gives, where the records show up, and the sandbox's own record of what
exists (``SandboxApp.records``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from afas.sandbox.server import SandboxServer

from . import export_payloads as payloads
from .helpers import Afas, assert_afas_error, assert_empty

ENV = "healthy"


@pytest.fixture(autouse=True)
def _fresh(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.reset()
    yield
    sandbox.reset()


def post(afas: Afas, connector: str, body: Any, env: str = ENV) -> httpx.Response:
    return afas.request("POST", env, f"/connectors/{connector}", json=body)


def rows(afas: Afas, connector: str, env: str = ENV, **filters: str) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"skip": -1, "take": -1}
    if filters:
        params |= {
            "filterfieldids": ",".join(filters),
            "filtervalues": ",".join(filters.values()),
            "operatortypes": ",".join("1" for _ in filters),
        }
    response = afas.get(env, f"/connectors/{connector}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def create_all(afas: Afas, env: str = ENV) -> dict[str, dict[str, str]]:
    """Steps 1 to 5 of the export; each answer's keys."""
    keys: dict[str, dict[str, str]] = {}
    for connector in ("KnPurchaseRelationOrg", "KnSalesRelationOrg"):
        response = post(afas, connector, payloads.relation(connector), env)
        assert response.status_code == 201, response.text
        keys[connector] = response.json()["results"][connector]
    creditor = keys["KnPurchaseRelationOrg"]["CrId"]
    response = post(afas, "FiEntries", payloads.entry(creditor), env)
    assert response.status_code == 201, response.text
    keys["FiEntries"] = response.json()["results"]["FiEntryPar"]
    put = afas.request("PUT", env, "/connectors/FiInvoice", json=payloads.block_invoice(creditor))
    assert_empty(put, 200)
    response = post(afas, "KnSubject", payloads.subject(creditor), env)
    assert response.status_code == 201, response.text
    keys["KnSubject"] = response.json()["results"]["KnSubject"]
    return keys


def test_every_create_answers_201_with_its_keys_as_strings(afas: Afas) -> None:
    keys = create_all(afas)
    assert set(keys["KnPurchaseRelationOrg"]) == {"CrId", "BcCo"}
    assert set(keys["KnSalesRelationOrg"]) == {"DbId", "BcCo"}
    assert keys["FiEntries"]["UnId"] == "1"
    assert keys["FiEntries"]["InId"] == payloads.INVOICE
    assert set(keys["FiEntries"]) == {"UnId", "EnNo", "InId"}
    assert set(keys["KnSubject"]) == {"SbId"}
    for found in keys.values():
        assert all(isinstance(v, str) and v for v in found.values())
    # New numbers never collide with the administration's own relations and entries.
    assert keys["KnPurchaseRelationOrg"]["CrId"] not in {
        r["CreditorId"] for r in rows(afas, "SBQ_Crediteuren")[:5]
    }


def test_created_records_show_where_afas_shows_them(afas: Afas) -> None:
    keys = create_all(afas)
    creditor = keys["KnPurchaseRelationOrg"]["CrId"]
    (shown,) = rows(afas, "SBQ_Crediteuren", CreditorId=creditor)
    assert shown["Name"] == payloads.MARKER
    assert shown["OrgId"] == keys["KnPurchaseRelationOrg"]["BcCo"]
    assert shown["CountryId"] == "NL" and shown["Blocked"] is False
    (debtor,) = rows(afas, "SBQ_Debiteuren", DebtorId=keys["KnSalesRelationOrg"]["DbId"])
    assert debtor["Name"] == payloads.MARKER
    lines = rows(afas, "SBQ_Transactie", InvoiceId=payloads.INVOICE)
    assert {line["EntryNo"] for line in lines} == {int(keys["FiEntries"]["EnNo"])}
    assert sorted((line["AmountDebit"], line["AmountCredit"]) for line in lines) == [
        (0.0, 0.01),
        (0.01, 0.0),
    ]
    assert all(line["CreditorId"] == creditor for line in lines)
    assert rows(afas, "SBQ_Transactie", Description=payloads.MARKER)
    (item,) = rows(afas, "Profit_Subjects", SubjectId=keys["KnSubject"]["SbId"])
    assert item["ToCreditor"] == creditor and item["Attachment"] is True


def test_the_sandbox_record_of_what_exists(afas: Afas, sandbox: SandboxServer) -> None:
    keys = create_all(afas)
    held = sandbox.app.records(ENV)
    assert set(held) == {
        "KnPurchaseRelationOrg",
        "KnSalesRelationOrg",
        "FiEntries",
        "FiInvoice",
        "KnSubject",
    }
    (relation,) = held["KnPurchaseRelationOrg"]
    assert relation["CrId"] == keys["KnPurchaseRelationOrg"]["CrId"]
    (entry,) = held["FiEntries"]
    assert entry["EnNo"] == keys["FiEntries"]["EnNo"] and len(entry["lines"]) == 2
    assert held["FiInvoice"][0]["BlPa"] == "1"
    (item,) = held["KnSubject"]
    assert item["attachments"] == [{"FileName": "afasbot-test.pdf", "FileId": ""}]
    assert "FileStream" not in str(item)  # the file itself is not kept
    held["FiEntries"].clear()  # a copy: the sandbox is not changed through it
    assert sandbox.app.records(ENV)["FiEntries"]


def test_removal_newest_first_leaves_only_the_blocked_sales_relation(
    afas: Afas, sandbox: SandboxServer
) -> None:
    keys = create_all(afas)
    subject_id = keys["KnSubject"]["SbId"]
    entry_no, creditor = keys["FiEntries"]["EnNo"], keys["KnPurchaseRelationOrg"]["CrId"]
    debtor = keys["KnSalesRelationOrg"]["DbId"]
    for path in (
        f"/connectors/KnSubject/KnSubject/@SbId/{subject_id}",
        f"/connectors/FiEntries/FiEntryPar/UnId,JoCo/1,MEM/FiEntries/@EnNo/{entry_no}",
        f"/connectors/KnPurchaseRelationOrg/KnPurchaseRelationOrg/@CrId/{creditor}",
    ):
        assert_empty(afas.request("DELETE", ENV, path), 200)
    no_delete = afas.request(
        "DELETE", ENV, f"/connectors/KnSalesRelationOrg/KnSalesRelationOrg/@DbId/{debtor}"
    )
    assert_afas_error(
        no_delete, 500, "De actie 'delete' wordt niet ondersteund door deze UpdateConnector."
    )
    blocked = afas.request(
        "PUT", ENV, "/connectors/KnSalesRelationOrg", json=payloads.block_relation(debtor)
    )
    assert_empty(blocked, 200)
    held = sandbox.app.records(ENV)
    assert set(held) == {"KnSalesRelationOrg"}
    assert held["KnSalesRelationOrg"][0]["Bl"] == "1"
    assert rows(afas, "SBQ_Debiteuren", DebtorId=debtor)[0]["Blocked"] is True
    assert rows(afas, "SBQ_Transactie", InvoiceId=payloads.INVOICE) == []
    assert rows(afas, "SBQ_Crediteuren", CreditorId=creditor) == []


def test_entry_delete_in_the_element_form_and_by_invoice(
    afas: Afas, sandbox: SandboxServer
) -> None:
    first = create_all(afas)["FiEntries"]
    creditor = sandbox.app.records(ENV)["KnPurchaseRelationOrg"][0]["CrId"]
    second = post(afas, "FiEntries", payloads.entry(creditor, invoice="AB2")).json()
    second_keys = second["results"]["FiEntryPar"]
    ambiguous = afas.request("DELETE", ENV, "/connectors/FiEntries/FiEntryPar/@Year/2024")
    assert_afas_error(
        ambiguous, 500, "Meer dan één boeking voldoet; geef ook het boekstuknummer (EnNo)."
    )
    path = f"/connectors/FiEntries/FiEntryPar/@Year,@UnId,@EnNo/2024,1,{first['EnNo']}"
    assert_empty(afas.request("DELETE", ENV, path), 200)
    by_invoice = "/connectors/FiEntries/FiEntryPar/UnId,JoCo/1,MEM/FiEntries/@InId/AB2"
    assert_empty(afas.request("DELETE", ENV, by_invoice), 200)
    assert "FiEntries" not in sandbox.app.records(ENV)
    assert second_keys["EnNo"] != first["EnNo"]
    # The invoice went with its entry: blocking it now names nothing.
    gone = afas.request("PUT", ENV, "/connectors/FiInvoice", json=payloads.block_invoice(creditor))
    assert_afas_error(gone, 500, "De ingevoerde waarde voor 'Factuurnummer' bestaat niet.")


def test_a_relation_with_entries_is_not_deleted(afas: Afas, sandbox: SandboxServer) -> None:
    creditor = create_all(afas)["KnPurchaseRelationOrg"]["CrId"]
    path = f"/connectors/KnPurchaseRelationOrg/KnPurchaseRelationOrg/@CrId/{creditor}"
    response = afas.request("DELETE", ENV, path, headers={"Accept-Language": "en-us"})
    assert_afas_error(
        response,
        500,
        f"The relation '{creditor}' cannot be deleted: there are entries for this relation.",
    )
    assert sandbox.app.records(ENV)["KnPurchaseRelationOrg"]


def test_records_of_an_unknown_environment(sandbox: SandboxServer) -> None:
    with pytest.raises(KeyError):
        sandbox.app.records("nope")
    assert sandbox.app.records("near-miss") == {}
