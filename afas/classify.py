"""Turning AFAS's answers (or the lack of one) into typed outcomes.

Pure functions: an HTTP status, headers and body in, an ``AfasOutcome`` out. The texts AFAS uses
are recognised in Dutch and English (afas-api.md §7, §9). A 401 means "token rejected" on a call
that only needs the token, and "connector not authorised" on a call for one connector: whether
the token itself is good is decided by the check, from a token-only call.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from afas.outcomes import AfasOutcome, OutcomeKind

_NOT_SUPPORTED = re.compile(
    r"niet ondersteund|not supported|niet geautoriseerd|not authori[sz]ed", re.I
)
_APP_CONNECTOR_BLOCKED = re.compile(r"app[ -]?connector\b.*\b(geblokkeerd|blocked)", re.I | re.S)
_DEFINITION_BLOCKED = re.compile(
    r"get[ -]?connector.*\b(geblokkeerd|blocked)|\(definiti(e|on)\).*(geblokkeerd|blocked)",
    re.I | re.S,
)
_TRACE_HEADER = "x-trace-identifier"
_LEGACY_ERROR_HEADER = "x-profit-error"
_MAX_MESSAGE = 500


def classify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    connector_scoped: bool = False,
    elapsed_ms: float = 0.0,
) -> AfasOutcome:
    """Classify one HTTP answer from AFAS."""
    lower = {k.lower(): v for k, v in headers.items()}
    common: dict[str, Any] = {
        "status": status,
        "trace_id": lower.get(_TRACE_HEADER),
        "elapsed_ms": elapsed_ms,
    }
    if 200 <= status < 300:
        return _success(body, common)
    error = _read_error_body(body, lower)
    common.update(error)
    message = error.get("message") or ""
    if _APP_CONNECTOR_BLOCKED.search(message):
        return AfasOutcome(OutcomeKind.APP_CONNECTOR_BLOCKED, **common)
    if status == 401:
        kind = (
            OutcomeKind.CONNECTOR_NOT_AUTHORISED if connector_scoped else OutcomeKind.TOKEN_REJECTED
        )
        return AfasOutcome(kind, **common)
    if status == 403:
        return AfasOutcome(OutcomeKind.IP_NOT_ALLOWED, **common)
    if status == 404:
        return AfasOutcome(OutcomeKind.NOT_FOUND, **common)
    if status == 503:
        return AfasOutcome(OutcomeKind.MAINTENANCE, retry_after=_retry_after(body, lower), **common)
    if status in (502, 504):
        common["message"] = message or f"AFAS's gateway answered HTTP {status}"
        return AfasOutcome(OutcomeKind.TRANSPORT_ERROR, reason="gateway", **common)
    if 400 <= status < 600:
        if _DEFINITION_BLOCKED.search(message):
            return AfasOutcome(OutcomeKind.DEFINITION_BLOCKED, **common)
        if _NOT_SUPPORTED.search(message):
            return AfasOutcome(OutcomeKind.CONNECTOR_NOT_AUTHORISED, **common)
        if status >= 500 and not message:
            common["message"] = "AFAS answered an error without a message"
            return AfasOutcome(OutcomeKind.MALFORMED_ANSWER, **common)
        return AfasOutcome(OutcomeKind.FUNCTIONAL_ERROR, **common)
    common["message"] = f"unexpected HTTP status {status}"
    return AfasOutcome(OutcomeKind.MALFORMED_ANSWER, **common)


def classify_transport_error(exc: BaseException, *, elapsed_ms: float = 0.0) -> AfasOutcome:
    """A request that got no HTTP answer: say which kind of failure, without echoing details."""
    reason = transport_reason(exc)
    return AfasOutcome(
        OutcomeKind.TRANSPORT_ERROR,
        message=_TRANSPORT_TEXT[reason],
        reason=reason,
        elapsed_ms=elapsed_ms,
    )


_TRANSPORT_TEXT = {
    "dns": "the AFAS host name could not be resolved (DNS)",
    "tls": "the TLS handshake with AFAS failed",
    "reset": "AFAS closed the connection without an answer",
    "timeout": "AFAS did not answer in time",
    "connect_timeout": "connecting to AFAS timed out",
    "connect": "could not connect to AFAS",
    "network": "network error",
}


#: aiohttp's HTTP parser errors (``aiohttp.http_exceptions``): an answer that is not HTTP.
#: httpx says ``RemoteProtocolError`` for the same bytes, so both are a reset.
_AIOHTTP_PROTOCOL_ERROR = "HttpProcessingError"


def transport_reason(exc: BaseException) -> str:
    """Which kind of network failure this was (walks the cause chain). One mapping for the
    three transports: httpx's exceptions, aiohttp's own (the direct transport), and aiohttp's
    as httpx-aiohttp maps them to httpx's, not always to the closest one."""
    chain = list(_cause_chain(exc))
    names = {type(e).__name__ for e in chain}
    if any(_AIOHTTP_PROTOCOL_ERROR in {c.__name__ for c in type(e).__mro__} for e in chain):
        names.add(_AIOHTTP_PROTOCOL_ERROR)
    if any(isinstance(e, socket.gaierror) for e in chain) or "ClientConnectorDNSError" in names:
        return "dns"
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain) or names & {
        "ClientSSLError",
        "ClientConnectorCertificateError",
        "ClientConnectorSSLError",
    }:
        return "tls"
    if names & {
        "ServerDisconnectedError",
        "RemoteProtocolError",
        "ClientPayloadError",
        "ClientOSError",
        _AIOHTTP_PROTOCOL_ERROR,
    } or any(isinstance(e, ConnectionResetError | httpx.ReadError) for e in chain):
        return "reset"
    if any(isinstance(e, ConnectionRefusedError | httpx.ConnectError) for e in chain) or (
        "ClientConnectorError" in names
    ):
        return "connect"
    if "ConnectionTimeoutError" in names or (
        any(isinstance(e, httpx.ConnectTimeout) for e in chain)
        and not names & {"ServerTimeoutError", "SocketTimeoutError"}
    ):
        return "connect_timeout"
    if any(isinstance(e, TimeoutError | httpx.TimeoutException) for e in chain) or names & {
        "ServerTimeoutError",
        "SocketTimeoutError",
    }:
        return "timeout"
    return "network"


def _cause_chain(exc: BaseException):
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _success(body: bytes, common: dict[str, Any]) -> AfasOutcome:
    if not body.strip():
        return AfasOutcome(OutcomeKind.OK, data=None, **common)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return AfasOutcome(
            OutcomeKind.MALFORMED_ANSWER,
            message="AFAS answered with something that is not JSON",
            **common,
        )
    return AfasOutcome(OutcomeKind.OK, data=data, **common)


def _read_error_body(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Read ``{externalMessage, errorNumber, profitLogReference}`` or ``{message}``."""
    found: dict[str, Any] = {}
    parsed: Any = None
    if body.strip():
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
    if isinstance(parsed, dict):
        message = parsed.get("externalMessage") or parsed.get("message")
        if isinstance(parsed.get("error"), dict):
            message = message or parsed["error"].get("message")
        if isinstance(message, str):
            found["message"] = _clip(message)
        number = parsed.get("errorNumber")
        if isinstance(number, int) or (isinstance(number, str) and re.fullmatch(r"-?\d+", number)):
            found["error_number"] = int(number)
        reference = parsed.get("profitLogReference")
        if isinstance(reference, str) and re.fullmatch(r"[0-9A-Za-z-]{1,64}", reference):
            found["profit_log_reference"] = reference
    if "message" not in found and _LEGACY_ERROR_HEADER in headers:
        legacy = _decode_legacy_header(headers[_LEGACY_ERROR_HEADER])
        if legacy:
            found["message"] = _clip(legacy)
    return found


def _decode_legacy_header(value: str) -> str | None:
    """``X-PROFIT-ERROR`` carries the message in Base64 (obsolete, but still sent)."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8").strip() or None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value.strip() or None


def _retry_after(body: bytes, headers: Mapping[str, str]) -> float | None:
    try:
        parsed = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        parsed = None
    candidates = [parsed.get("retry_after") if isinstance(parsed, dict) else None]
    candidates.append(headers.get("retry-after"))
    for value in candidates:
        try:
            if value is not None and float(value) >= 0:
                return float(value)
        except (TypeError, ValueError):
            continue
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
