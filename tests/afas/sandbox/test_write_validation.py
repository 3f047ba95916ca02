"""Writes are checked against the environment's own data before anything is written, over
HTTP: each refusal is AFAS's 500 in the request's language, and the store is unchanged."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import export_payloads as payloads
from .helpers import Afas, assert_afas_error, assert_empty, custom_afas

EN = {"Accept-Language": "en-us"}
ENV = "books"


@pytest.fixture(scope="module")
def books() -> Iterator[Afas]:
    environments = [
        {"name": ENV, "number": 1, "blocked_periods": [[2024, 11]]},
        {
            "name": "lenient",
            "number": 2,
            "too_long_values": "accept",
            "relation_with_entries_deletable": True,
            "entry_answer_has_invoice_id": False,
            "put_status": 201,
        },
        {
            "name": "own-books",
            "number": 3,
            "connector_rows": {
                "SBQ_Grootboekrekeningen": [
                    {
                        "AdminId": 1,
                        "AccountNo": "7777",
                        "Description": "Eigen kosten",
                        "AccountType": "Winst en verlies",
                        "VatCode": None,
                        "AllocationRequired": False,
                        "Blocked": False,
                    }
                ]
            },
        },
    ]
    with custom_afas(environments) as afas:
        yield afas


@pytest.fixture(autouse=True)
def _fresh(books: Afas) -> Iterator[None]:
    books.server.reset()
    yield


def post(afas: Afas, connector: str, body: Any, env: str = ENV, lang: str = "nl") -> Any:
    headers = EN if lang == "en" else {}
    return afas.request("POST", env, f"/connectors/{connector}", json=body, headers=headers)


def creditor(afas: Afas, env: str = ENV) -> str:
    body = payloads.relation("KnPurchaseRelationOrg")
    return post(afas, "KnPurchaseRelationOrg", body, env).json()["results"][
        "KnPurchaseRelationOrg"
    ]["CrId"]


def line(body: dict[str, Any], index: int) -> dict[str, Any]:
    return body["FiEntryPar"]["Element"]["Objects"][0]["FiEntries"]["Element"][index]["Fields"]


def _entry_case(change: Callable[[dict[str, Any]], None]) -> Callable[[str], dict[str, Any]]:
    def build(creditor_id: str) -> dict[str, Any]:
        body = payloads.entry(creditor_id)
        change(body)
        return body

    return build


ENTRY_CASES = [
    (  # a ledger account SBQ_Grootboekrekeningen does not list
        lambda c: payloads.entry(c, account="0200"),
        "The entered value for 'Account Number' does not exist.",
    ),
    (  # one it lists for administration 1 only
        lambda c: payloads.entry(c, unit=2, journal="INK"),
        "The entered value for 'Account Number' does not exist.",
    ),
    (lambda c: payloads.entry(c, account="8074"), "Account '8074' is blocked."),
    (lambda c: payloads.entry(c, journal="80"), "The entered value for 'Journal' does not exist."),
    (lambda c: payloads.entry(c, journal="KAS"), "Journal 'KAS' is blocked."),
    (  # CaseWare_Periods shows 2024/3 blocked
        lambda c: payloads.entry(c, period=3),
        "For this administration, period 3 of the year 2024 is blocked.",
    ),
    (  # the extra setting blocks 2024/11
        lambda c: payloads.entry(c, period=11),
        "For this administration, period 11 of the year 2024 is blocked.",
    ),
    (
        lambda c: payloads.entry(c, year=2031),
        "For this administration, period 7 of the year 2031 does not exist.",
    ),
    (
        lambda c: payloads.entry(c, unit=9),
        "The entered value for 'Administration' does not exist.",
    ),
    (lambda c: payloads.entry(c, vat="X99"), "The entered value for 'VAT code' does not exist."),
    (  # a creditor that neither exists nor was created
        lambda c: payloads.entry("59999"),
        "The entered value for 'Account Number' does not exist.",
    ),
    (
        _entry_case(lambda b: line(b, 1).update(AmDe="0.02")),
        "The entry does not balance: debit 0.02, credit 0.01.",
    ),
    (
        _entry_case(lambda b: line(b, 0).update(InId="AB3f9a1c-too-long")),
        "The value for 'Factuurnummer' is too long (at most 12 characters).",
    ),
]


@pytest.mark.parametrize(("build", "message"), ENTRY_CASES)
def test_entry_refused_against_the_administration(
    books: Afas, build: Callable[[str], dict[str, Any]], message: str
) -> None:
    body = build(creditor(books))
    assert_afas_error(post(books, "FiEntries", body, lang="en"), 500, message)
    assert "FiEntries" not in books.server.app.records(ENV)


def test_dutch_messages(books: Afas) -> None:
    response = post(books, "FiEntries", payloads.entry(creditor(books), account="0200"))
    assert_afas_error(response, 500, "De ingevoerde waarde voor 'Rekeningnummer' bestaat niet.")


def test_a_catalogue_creditor_and_the_environments_own_accounts(books: Afas) -> None:
    assert post(books, "FiEntries", payloads.entry("50001")).status_code == 201
    own = payloads.entry("50001", account="7777")
    assert post(books, "FiEntries", own, env="own-books").status_code == 201
    assert post(books, "FiEntries", payloads.entry("50001"), env="own-books").status_code == 500


def test_one_bad_element_writes_none_of_the_request(books: Afas) -> None:
    good = payloads.entry(creditor(books))
    bad = payloads.entry("59999")
    body = {
        "FiEntryPar": {"Element": [good["FiEntryPar"]["Element"], bad["FiEntryPar"]["Element"]]}
    }
    assert post(books, "FiEntries", body).status_code == 500
    assert "FiEntries" not in books.server.app.records(ENV)


def test_invoice_must_exist_and_belong_to_the_relation(books: Afas) -> None:
    crid = creditor(books)
    unknown = books.request(
        "PUT", ENV, "/connectors/FiInvoice", json=payloads.block_invoice(crid), headers=EN
    )
    assert_afas_error(unknown, 500, "The entered value for 'Invoice number' does not exist.")
    assert post(books, "FiEntries", payloads.entry(crid)).status_code == 201
    other = books.request(
        "PUT", ENV, "/connectors/FiInvoice", json=payloads.block_invoice("50001"), headers=EN
    )
    assert_afas_error(other, 500, "The entered value for 'Debtor/creditor' does not exist.")
    assert "FiInvoice" not in books.server.app.records(ENV)
    assert_empty(
        books.request("PUT", ENV, "/connectors/FiInvoice", json=payloads.block_invoice(crid)), 200
    )


def _relation(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = payloads.relation("KnPurchaseRelationOrg")
    change(body["KnPurchaseRelationOrg"]["Element"])
    return body


def _organisation(element: dict[str, Any]) -> dict[str, Any]:
    return element["Objects"]["KnOrganisation"]["Element"]


def _address(element: dict[str, Any]) -> dict[str, Any]:
    return _organisation(element)["Objects"]["KnBasicAddressAdr"]["Element"]["Fields"]


RELATION_CASES = [
    (
        _relation(lambda e: e.update({"@CrId": "50001"})),
        "A record with CrId '50001' already exists.",
    ),
    (_relation(lambda e: _address(e).pop("CoId")), "Enter a value for 'Land'."),
    (
        _relation(lambda e: _address(e).update(CoId="XX")),
        "The entered value for 'Country' does not exist.",
    ),
    (
        _relation(lambda e: e["Fields"].update(CuId="XYZ")),
        "The entered value for 'Currency' does not exist.",
    ),
    (_relation(lambda e: _organisation(e)["Fields"].pop("Nm")), "Enter a value for 'Naam'."),
    (
        _relation(lambda e: _organisation(e)["Fields"].update(MatchOga="0", BcCo="9999999")),
        "The entered value for 'Number' does not exist.",
    ),
    (_relation(lambda e: e.pop("Objects")), "Enter a value for 'Organisatie'."),
    (
        _relation(lambda e: _organisation(e)["Fields"].update(SeNm="AFASBOT TEST")),
        "The value for 'Zoeknaam' is too long (at most 10 characters).",
    ),
]


@pytest.mark.parametrize(("body", "message"), RELATION_CASES)
def test_relation_refused(books: Afas, body: dict[str, Any], message: str) -> None:
    response = post(books, "KnPurchaseRelationOrg", copy.deepcopy(body), lang="en")
    assert_afas_error(response, 500, message)
    assert books.server.app.records(ENV) == {}


def test_relation_linked_to_an_existing_organisation_and_too_long_accepted(books: Afas) -> None:
    linked = _relation(lambda e: _organisation(e)["Fields"].update(MatchOga="0", BcCo="1000101"))
    keys = post(books, "KnPurchaseRelationOrg", linked).json()["results"]["KnPurchaseRelationOrg"]
    assert keys["BcCo"] == "1000101"
    long_name = _relation(lambda e: _organisation(e)["Fields"].update(SeNm="AFASBOT TEST"))
    assert post(books, "KnPurchaseRelationOrg", long_name, env="lenient").status_code == 201


def test_put_names_an_existing_relation(books: Afas) -> None:
    response = books.request(
        "PUT",
        ENV,
        "/connectors/KnSalesRelationOrg",
        json=payloads.block_relation("29999"),
        headers=EN,
    )
    assert_afas_error(response, 500, "The record to update does not exist.")
    catalogue = payloads.block_relation("10001")
    assert_empty(books.request("PUT", ENV, "/connectors/KnSalesRelationOrg", json=catalogue), 200)


def _subject(afas: Afas, **link: Any) -> dict[str, Any]:
    crid = creditor(afas)
    assert post(afas, "FiEntries", payloads.entry(crid)).status_code == 201
    return payloads.subject(crid, **link)


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ({"SfId": "59999"}, "The entered value for 'Destination' does not exist."),
        ({"PiId": "NOPE"}, "The entered value for 'Purchase invoice' does not exist."),
        ({"PiUn": "2"}, "The entered value for 'Purchase invoice' does not exist."),
    ],
)
def test_subject_links_must_exist(books: Afas, link: dict[str, Any], message: str) -> None:
    response = post(books, "KnSubject", _subject(books, **link), lang="en")
    assert_afas_error(response, 500, message)
    assert "KnSubject" not in books.server.app.records(ENV)


def test_subject_attachment_must_be_base64_and_type_a_user_type(books: Afas) -> None:
    body = _subject(books)
    body["KnSubject"]["Element"]["Objects"][1]["KnSubjectAttachment"]["Element"][0]["Fields"][
        "FileStream"
    ] = "not base64!"
    response = post(books, "KnSubject", body, lang="en")
    assert_afas_error(response, 500, "The content of 'afasbot-test.pdf' is not Base64 encoded.")
    system_type = {"KnSubject": {"Element": {"Fields": {"StId": "-3", "Ds": "x"}}}}
    response = post(books, "KnSubject", system_type, lang="en")
    assert_afas_error(
        response, 500, "Dossier items of type -3 cannot be created through a connector."
    )


def test_attachment_added_to_an_existing_item_only(books: Afas) -> None:
    keys = post(books, "KnSubject", _subject(books)).json()["results"]["KnSubject"]
    extra = {
        "KnSubject": {
            "Element": {
                "@SbId": keys["SbId"],
                "Objects": {
                    "KnSubjectAttachment": {
                        "Element": {"Fields": {"FileName": "b.pdf", "FileStream": payloads.PDF}}
                    }
                },
            }
        }
    }
    assert post(books, "KnSubject/KnSubjectAttachment", extra).status_code == 201
    (item,) = books.server.app.records(ENV)["KnSubject"]
    assert [a["FileName"] for a in item["attachments"]] == ["afasbot-test.pdf", "b.pdf"]
    extra["KnSubject"]["Element"]["@SbId"] = "4"
    missing = post(books, "KnSubject/KnSubjectAttachment", extra, lang="en")
    assert_afas_error(missing, 500, "The record to update does not exist.")


def test_lenient_settings(books: Afas) -> None:
    crid = creditor(books, "lenient")
    answer = post(books, "FiEntries", payloads.entry(crid), env="lenient").json()
    assert set(answer["results"]["FiEntryPar"]) == {"UnId", "EnNo"}
    put = books.request(
        "PUT", "lenient", "/connectors/FiInvoice", json=payloads.block_invoice(crid)
    )
    assert put.status_code == 201
    assert put.json() == {"results": {"FiInvoice": {"UnId": "1", "InId": payloads.INVOICE}}}
    path = f"/connectors/KnPurchaseRelationOrg/KnPurchaseRelationOrg/@CrId/{crid}"
    assert_empty(books.request("DELETE", "lenient", path), 200)
