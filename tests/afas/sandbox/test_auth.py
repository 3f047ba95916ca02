"""The token check: what AFAS answers for good, missing, malformed and foreign tokens."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from afas.sandbox.scenario import derive_token_data

from .helpers import Afas, assert_afas_error, assert_empty, custom_afas, token_header

PLAIN_XML = "<token><version>1</version><data>{}</data></token>"


def test_valid_token_is_accepted(afas: Afas) -> None:
    response = afas.get("healthy", "/profitversion")
    assert response.status_code == 200
    assert response.json() == {"version": afas.env("healthy").profit_version}


def test_missing_header_is_401_empty(afas: Afas) -> None:
    assert_empty(afas.get("healthy", "/metainfo", authorised=False), 401)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "AfasToken",
        "AfasToken "
        + base64.b64encode(b"<token><version>2</version><data>AB</data></token>").decode(),
        "AfasToken " + base64.b64encode(b"not a token at all").decode(),
        "AfasToken " + base64.b64encode(b"\xff\xfe").decode(),
        "AfasToken " + derive_token_data("healthy"),  # the bare data, not Base64 XML
    ],
)
def test_malformed_tokens_are_401_empty(afas: Afas, header: str) -> None:
    assert_empty(afas.get("healthy", "/metainfo", headers={"Authorization": header}), 401)


def test_plain_xml_token_is_401_by_default(afas: Afas) -> None:
    header = "AfasToken " + PLAIN_XML.format(afas.env("healthy").token_data)
    assert_empty(afas.get("healthy", "/metainfo", headers={"Authorization": header}), 401)


def test_base64_with_inner_whitespace_and_scheme_case_is_accepted(afas: Afas) -> None:
    # .NET's Convert.FromBase64String skips whitespace; so does the sandbox.
    encoded = afas.env("healthy").token().authorization_header().split(" ", 1)[1]
    header = "afastoken " + encoded[:40] + " " + encoded[40:]
    assert afas.get("healthy", "/metainfo", headers={"Authorization": header}).status_code == 200


def test_revoked_token_is_401_empty(afas: Afas) -> None:
    assert_empty(afas.get("revoked-token", "/metainfo"), 401)


def test_token_of_another_environment_is_401_empty(afas: Afas) -> None:
    foreign = {"Authorization": afas.env("english").token().authorization_header()}
    assert_empty(afas.get("healthy", "/metainfo", headers=foreign), 401)


def test_ip_restricted_app_connector_is_403(afas: Afas) -> None:
    response = afas.get("ip-restricted", "/profitversion")
    assert response.status_code == 403


@pytest.fixture(scope="module")
def variants() -> Iterator[Afas]:
    extra, revoked = "AB" * 32, "CD" * 32
    environments = [
        {"name": "plain-500", "number": 1, "plain_token_status": 500},
        {"name": "plain-500-en", "number": 2, "plain_token_status": 500, "language": "en-us"},
        {
            "name": "tokens",
            "number": 3,
            "extra_tokens": [extra, revoked],
            "revoked_tokens": [revoked],
        },
        {"name": "user-blocked", "number": 4, "app_connector": {"user_blocked": True}},
        {
            "name": "blocked-401-message",
            "number": 5,
            "app_connector": {"blocked": True},
            "blocked_app_connector_response": "401-message",
        },
        {
            "name": "blocked-500-message",
            "number": 6,
            "app_connector": {"blocked": True},
            "blocked_app_connector_response": "500-message",
            "legacy_error_header": False,
        },
    ]
    with custom_afas(environments) as afas:
        yield afas


def test_plain_xml_token_can_be_configured_as_500(variants: Afas) -> None:
    header = {
        "Authorization": "AfasToken " + PLAIN_XML.format(variants.env("plain-500").token_data)
    }
    response = variants.get("plain-500", "/metainfo", headers=header)
    assert_afas_error(response, 500, "Het token is niet Base64-gecodeerd.")
    header = {
        "Authorization": "AfasToken " + PLAIN_XML.format(variants.env("plain-500-en").token_data)
    }
    response = variants.get("plain-500-en", "/metainfo", headers=header)
    assert_afas_error(response, 500, "The token is not Base64 encoded.")


def test_extra_and_revoked_tokens(variants: Afas) -> None:
    extra = {"Authorization": token_header("AB" * 32)}
    assert variants.get("tokens", "/metainfo", headers=extra).status_code == 200
    revoked = {"Authorization": token_header("CD" * 32)}
    assert_empty(variants.get("tokens", "/metainfo", headers=revoked), 401)
    assert variants.get("tokens", "/metainfo").status_code == 200  # its own token still works


def test_blocked_user_is_401_empty(variants: Afas) -> None:
    assert_empty(variants.get("user-blocked", "/profitversion"), 401)


def test_blocked_app_connector_401_with_message(variants: Afas) -> None:
    response = variants.get("blocked-401-message", "/profitversion")
    assert_afas_error(response, 401, "De App connector is geblokkeerd.")
    english = variants.get(
        "blocked-401-message", "/profitversion", headers={"Accept-Language": "en-us"}
    )
    assert_afas_error(english, 401, "The App connector is blocked.")


def test_blocked_app_connector_500_without_legacy_header(variants: Afas) -> None:
    response = variants.get("blocked-500-message", "/metainfo")
    assert_afas_error(response, 500, "De App connector is geblokkeerd.")
    assert "x-profit-error" not in response.headers
