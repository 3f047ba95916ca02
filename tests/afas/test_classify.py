"""Every error shape of afas-api.md §7, in Dutch and English, becomes the right outcome."""

from __future__ import annotations

import base64
import json
import socket
import ssl

import httpx
import pytest

from afas.classify import classify_response, classify_transport_error
from afas.outcomes import OutcomeKind

REF = "3A4C5B6D7E8F90123456789ABCDEF012"


def error_body(message: str, number: int = -2147180996) -> bytes:
    return json.dumps(
        {"externalMessage": message, "errorNumber": number, "profitLogReference": REF}
    ).encode()


def test_ok_with_json_keeps_the_data() -> None:
    outcome = classify_response(200, {"X-Trace-Identifier": "abc"}, b'{"version": "22.22.5"}')
    assert outcome.kind is OutcomeKind.OK
    assert outcome.data == {"version": "22.22.5"}
    assert outcome.trace_id == "abc"


def test_ok_with_an_empty_body_is_ok() -> None:
    assert classify_response(201, {}, b"").kind is OutcomeKind.OK


@pytest.mark.parametrize("body", [b"<html>Service</html>", b'{"rows": [', b"\xff\xfe"])
def test_a_200_that_is_not_json_is_malformed(body: bytes) -> None:
    assert classify_response(200, {}, body).kind is OutcomeKind.MALFORMED_ANSWER


def test_401_on_a_token_call_is_token_rejected() -> None:
    outcome = classify_response(401, {"Content-Length": "0"}, b"")
    assert outcome.kind is OutcomeKind.TOKEN_REJECTED
    assert outcome.status == 401


def test_401_on_a_connector_call_is_connector_not_authorised() -> None:
    outcome = classify_response(401, {}, b"", connector_scoped=True)
    assert outcome.kind is OutcomeKind.CONNECTOR_NOT_AUTHORISED


def test_403_is_ip_not_allowed() -> None:
    assert classify_response(403, {}, b"").kind is OutcomeKind.IP_NOT_ALLOWED


@pytest.mark.parametrize(
    "message",
    [
        "Deze GetConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
        "Deze connector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
        "General message: Deze UpdateConnector wordt niet ondersteund of de gebruiker is niet "
        "geautoriseerd.",
        "GetConnector not supported for this app or the user is not authorized.",
    ],
)
def test_500_not_supported_is_connector_not_authorised(message: str) -> None:
    outcome = classify_response(500, {}, error_body(message))
    assert outcome.kind is OutcomeKind.CONNECTOR_NOT_AUTHORISED
    assert outcome.profit_log_reference == REF
    assert outcome.error_number == -2147180996


@pytest.mark.parametrize(
    "message",
    ["Deze GetConnector (definitie) is geblokkeerd", "This GetConnector (definition) is blocked"],
)
def test_blocked_definition(message: str) -> None:
    outcome = classify_response(500, {}, error_body(message), connector_scoped=True)
    assert outcome.kind is OutcomeKind.DEFINITION_BLOCKED


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "De App connector is geblokkeerd."),
        (500, "The App connector is blocked."),
        (403, "AppConnector geblokkeerd"),
    ],
)
def test_a_blocked_app_connector_is_told_apart_where_afas_says_so(status, message) -> None:
    outcome = classify_response(status, {}, error_body(message))
    assert outcome.kind is OutcomeKind.APP_CONNECTOR_BLOCKED


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("The entered value for 'Employee' does not exist.", -2147220469),
        ("An unexpected error has occurred.", -2147180999),
        ("Connector field 'Foo' not found", -1),
        ("Command timeout expired.", -1),
        ("Deze bestemming is niet geldig voor dit type dossieritem", -2147180996),
        ("Out of String space", -1),
    ],
)
def test_other_500s_are_functional_errors_with_the_log_reference(message, number) -> None:
    outcome = classify_response(500, {}, error_body(message, number))
    assert outcome.kind is OutcomeKind.FUNCTIONAL_ERROR
    assert outcome.message == message
    assert outcome.error_number == number
    assert outcome.profit_log_reference == REF


def test_the_legacy_x_profit_error_header_is_read_when_the_body_is_empty() -> None:
    header = base64.b64encode(b"Deze GetConnector (definitie) is geblokkeerd").decode()
    outcome = classify_response(500, {"X-PROFIT-ERROR": header}, b"")
    assert outcome.kind is OutcomeKind.DEFINITION_BLOCKED


def test_the_message_body_shape_is_read_too() -> None:
    outcome = classify_response(500, {}, b'{"message": "Invalid json"}')
    assert outcome.kind is OutcomeKind.FUNCTIONAL_ERROR
    assert outcome.message == "Invalid json"


def test_a_500_without_any_message_is_malformed() -> None:
    assert classify_response(500, {}, b"").kind is OutcomeKind.MALFORMED_ANSWER


def test_503_maintenance_reads_retry_after_from_the_body() -> None:
    body = json.dumps(
        {
            "error": {
                "code": "503",
                "message": "Service temporarily unavailable due to "
                "scheduled maintenance. Please check afasstatus.nl for details.",
            },
            "retry_after": 7200,
        }
    ).encode()
    outcome = classify_response(503, {}, body)
    assert outcome.kind is OutcomeKind.MAINTENANCE
    assert outcome.retry_after == 7200
    assert "afasstatus.nl" in outcome.message


def test_503_retry_after_header_is_a_fallback() -> None:
    outcome = classify_response(503, {"Retry-After": "30"}, b"")
    assert outcome.kind is OutcomeKind.MAINTENANCE
    assert outcome.retry_after == 30


@pytest.mark.parametrize("status", [404, 400, 413])
def test_other_client_errors(status: int) -> None:
    kind = classify_response(status, {}, b"").kind
    expected = OutcomeKind.NOT_FOUND if status == 404 else OutcomeKind.FUNCTIONAL_ERROR
    assert kind is expected


def test_gateway_errors_are_transport_errors() -> None:
    outcome = classify_response(502, {}, b"<html>bad gateway</html>")
    assert outcome.kind is OutcomeKind.TRANSPORT_ERROR
    assert outcome.reason == "gateway"


def _chained(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            _chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
            "dns",
        ),
        (_chained(httpx.ConnectError("x"), ssl.SSLError(1, "bad handshake")), "tls"),
        (httpx.ConnectError("refused"), "connect"),
        (httpx.ConnectTimeout("slow"), "connect_timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (TimeoutError(), "timeout"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "reset"),
        (httpx.ReadError("reset"), "reset"),
    ],
)
def test_transport_errors_say_what_kind(exc: BaseException, reason: str) -> None:
    outcome = classify_transport_error(exc)
    assert outcome.kind is OutcomeKind.TRANSPORT_ERROR
    assert outcome.reason == reason
    assert outcome.status is None


def test_aiohttp_disconnects_mapped_to_connect_timeout_are_still_resets() -> None:
    import aiohttp

    exc = _chained(httpx.ConnectTimeout("Server disconnected"), aiohttp.ServerDisconnectedError())
    assert classify_transport_error(exc).reason == "reset"
