"""The built-in export environments 10020 to 10031, each over HTTP: the failure it promises,
in AFAS's shape, and nothing written where AFAS would write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from afas.sandbox.server import SandboxServer

from . import export_payloads as payloads
from .helpers import Afas, assert_afas_error, assert_empty
from .test_export_healthy import create_all, post, rows

EN = {"Accept-Language": "en-us"}


@pytest.fixture(autouse=True)
def _fresh(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.reset()
    yield
    sandbox.reset()


def new_creditor(afas: Afas, env: str) -> str:
    response = post(afas, "KnPurchaseRelationOrg", payloads.relation("KnPurchaseRelationOrg"), env)
    assert response.status_code == 201, response.text
    return response.json()["results"]["KnPurchaseRelationOrg"]["CrId"]


def post_entry(afas: Afas, env: str, **kw: Any) -> httpx.Response:
    body = payloads.entry(new_creditor(afas, env), **kw)
    return afas.request("POST", env, "/connectors/FiEntries", json=body, headers=EN)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("export-unbalanced", "The entry does not balance: debit 0.01, credit 0.01."),
        ("export-unknown-account", "The entered value for 'Account Number' does not exist."),
        ("export-blocked-period", "For this administration, period 7 of the year 2024 is blocked."),
        ("export-wrong-journal", "The entered value for 'Journal' does not exist."),
    ],
)
def test_fientries_refuses_and_writes_nothing(
    afas: Afas, sandbox: SandboxServer, env: str, message: str
) -> None:
    assert_afas_error(post_entry(afas, env), 500, message)
    assert "FiEntries" not in sandbox.app.records(env)
    assert rows(afas, "SBQ_Transactie", env, InvoiceId=payloads.INVOICE) == []


def test_the_refusing_environments_still_list_the_data_as_usable(afas: Afas) -> None:
    accounts = rows(afas, "SBQ_Grootboekrekeningen", "export-unknown-account", AccountNo="4100")
    assert accounts and accounts[0]["Blocked"] is False
    periods = rows(afas, "CaseWare_Periods", "export-blocked-period", Year="2024", Period="7")
    assert all(p["Blocked"] is False for p in periods)
    journals = rows(afas, "Precal_Dagboeken", "export-wrong-journal", JournalId="MEM")
    assert journals and journals[0]["Blocked"] is False


def test_all_periods_blocked(afas: Afas) -> None:
    env = "export-all-periods-blocked"
    periods = rows(afas, "CaseWare_Periods", env)
    assert periods and all(p["Blocked"] is True for p in periods)
    response = post_entry(afas, env, period=9)
    assert_afas_error(
        response, 500, "For this administration, period 9 of the year 2024 is blocked."
    )


def test_destination_not_allowed(afas: Afas, sandbox: SandboxServer) -> None:
    env = "export-destination-not-allowed"
    creditor = new_creditor(afas, env)
    assert post(afas, "FiEntries", payloads.entry(creditor), env).status_code == 201
    response = post(afas, "KnSubject", payloads.subject(creditor), env)
    body = assert_afas_error(
        response, 500, "Deze bestemming is niet geldig voor dit type dossieritem"
    )
    assert body["errorNumber"] == -2147180996
    assert "KnSubject" not in sandbox.app.records(env)
    # A dossier item for the relation alone (another destination) is allowed.
    alone = payloads.subject(creditor, PiId="", PiUn="", PiTp="")
    assert post(afas, "KnSubject", alone, env).status_code == 201


def test_every_delete_refused(afas: Afas, sandbox: SandboxServer) -> None:
    env = "export-delete-refused"
    keys = create_all(afas, env)
    for path in (
        f"/connectors/KnSubject/KnSubject/@SbId/{keys['KnSubject']['SbId']}",
        f"/connectors/FiEntries/FiEntryPar/UnId,JoCo/1,MEM/FiEntries/@EnNo/{keys['FiEntries']['EnNo']}",
        f"/connectors/FiEntries/FiEntryPar/@Year,@EnNo/2024,{keys['FiEntries']['EnNo']}",
        f"/connectors/KnPurchaseRelationOrg/KnPurchaseRelationOrg/@CrId/{keys['KnPurchaseRelationOrg']['CrId']}",
    ):
        response = afas.request("DELETE", env, path, headers=EN)
        assert_afas_error(response, 500, "The record cannot be deleted.")
    held = sandbox.app.records(env)
    assert {len(held[c]) for c in ("KnSubject", "FiEntries", "KnPurchaseRelationOrg")} == {1}


def test_timeout_after_write_keeps_the_entry_findable(afas: Afas, sandbox: SandboxServer) -> None:
    env = "export-timeout-after-write"
    creditor = new_creditor(afas, env)
    with pytest.raises(httpx.TransportError):
        post(afas, "FiEntries", payloads.entry(creditor), env)
    (entry,) = sandbox.app.records(env)["FiEntries"]
    found = rows(afas, "SBQ_Transactie", env, InvoiceId=payloads.INVOICE)
    assert {r["EntryNo"] for r in found} == {int(entry["EnNo"])}
    assert rows(afas, "SBQ_Transactie", env, Description=payloads.MARKER)
    # The client that lost the answer can remove what it finds.
    path = f"/connectors/FiEntries/FiEntryPar/UnId,JoCo/1,MEM/FiEntries/@InId/{payloads.INVOICE}"
    assert_empty(afas.request("DELETE", env, path), 200)
    assert "FiEntries" not in sandbox.app.records(env)


def _fields(afas: Afas, env: str, connector: str) -> dict[str, Any]:
    body = afas.get(env, f"/metainfo/update/{connector}").json()
    found = {f["fieldId"]: f for f in body["fields"]}
    for obj in body["objects"]:
        found |= {f"{obj['name']}.{f['fieldId']}": f for f in obj["fields"]}
        for inner in obj["objects"]:
            found |= {f"{obj['name']}.{inner['name']}.{f['fieldId']}": f for f in inner["fields"]}
    return found


def test_schema_removed_field(afas: Afas) -> None:
    env = "export-schema-removed-field"
    assert "FiEntries.BpDa" in _fields(afas, "healthy", "FiEntries")
    fields = _fields(afas, env, "FiEntries")
    assert "FiEntries.BpDa" not in fields and "FiEntries.EnDa" in fields
    response = post_entry(afas, env)
    assert_afas_error(response, 500, "The field 'BpDa' does not exist in 'FiEntries'.")


def test_schema_retyped_field(afas: Afas) -> None:
    env = "export-schema-retyped-field"
    assert (
        _fields(afas, "healthy", "KnPurchaseRelationOrg")["KnOrganisation.Nm"]["dataType"]
        == "string"
    )
    assert _fields(afas, env, "KnPurchaseRelationOrg")["KnOrganisation.Nm"]["dataType"] == "int"
    # Only the description is wrong: AFAS still takes the name as text.
    assert new_creditor(afas, env).isdigit()


ENGLISH_CONNECTORS = (
    "SBQ_Administratie",
    "CaseWare_Periods",
    "Precal_Dagboeken",
    "SBQ_Grootboekrekeningen",
    "SBQ_BTW",
)


@pytest.mark.parametrize("connector", ENGLISH_CONNECTORS)
def test_english_columns(afas: Afas, connector: str) -> None:
    env = "export-english-columns"
    standard = afas.get("healthy", f"/metainfo/get/{connector}").json()["fields"]
    english = afas.get(env, f"/metainfo/get/{connector}").json()["fields"]
    assert len(english) == len(standard)
    assert not {f["id"] for f in english} & {f["id"] for f in standard}
    same_in_both_languages = {"Code", "Percentage"}
    assert {f["label"] for f in english} & {f["label"] for f in standard} <= same_in_both_languages
    assert "Administration" in {f["label"] for f in english}
    row = afas.get(env, f"/connectors/{connector}", params={"take": 1}).json()["rows"][0]
    assert set(row) == {f["id"] for f in english}


def test_english_columns_export_works_with_the_values_they_show(
    afas: Afas, sandbox: SandboxServer
) -> None:
    env = "export-english-columns"
    journals = rows(afas, "Precal_Dagboeken", env, Unit="1", Kind="Memorial")
    assert [j["Code"] for j in journals] == ["MEM"]
    create_all(afas, env)
    assert len(sandbox.app.records(env)) == 5


def test_entry_not_deletable_in_either_form(afas: Afas, sandbox: SandboxServer) -> None:
    env = "export-entry-not-deletable"
    keys = create_all(afas, env)
    number = keys["FiEntries"]["EnNo"]
    for path in (
        f"/connectors/FiEntries/FiEntryPar/UnId,JoCo/1,MEM/FiEntries/@EnNo/{number}",
        f"/connectors/FiEntries/FiEntryPar/@Year,@UnId,@EnNo/2024,1,{number}",
    ):
        response = afas.request("DELETE", env, path, headers=EN)
        assert_afas_error(
            response, 500, "The action 'delete' is not supported by this UpdateConnector."
        )
    subject = f"/connectors/KnSubject/KnSubject/@SbId/{keys['KnSubject']['SbId']}"
    assert_empty(afas.request("DELETE", env, subject), 200)
    # The entry stays, and with it the relation it is booked on.
    creditor = keys["KnPurchaseRelationOrg"]["CrId"]
    relation = f"/connectors/KnPurchaseRelationOrg/KnPurchaseRelationOrg/@CrId/{creditor}"
    assert afas.request("DELETE", env, relation).status_code == 500
    held = sandbox.app.records(env)
    assert len(held["FiEntries"]) == 1 and len(held["KnPurchaseRelationOrg"]) == 1
