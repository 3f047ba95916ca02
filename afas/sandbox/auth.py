"""The AFAS token check of every request (afas-api.md §2, §7, §10).

AFAS wants ``Authorization: AfasToken <base64 of the token XML>``, the XML being
``<token><version>1</version><data>…</data></token>``.
Everything that is not a valid, current token of *this* environment is a 401 with an empty
body; the variants AFAS leaves open (§13.2, §13.3) follow the environment's settings.
"""

from __future__ import annotations

import base64
import binascii
import re

from starlette.responses import Response

from .errors import empty_response, profit_error
from .scenario import SandboxEnvironment

_SCHEME = re.compile(r"\s*AfasToken\s+(.*)", re.IGNORECASE | re.DOTALL)
_TOKEN_XML = re.compile(
    r"\s*(?:<\?xml[^>]*\?>)?\s*<token>\s*<version>\s*1\s*</version>\s*"
    r"<data>\s*([^<\s]+)\s*</data>\s*</token>\s*",
    re.DOTALL,
)
_WHITESPACE = re.compile(r"\s+")


def _decode(value: str) -> str | None:
    try:
        return base64.b64decode(_WHITESPACE.sub("", value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def authenticate(
    env: SandboxEnvironment, authorization: str | None, language: str
) -> Response | None:
    """None when the request may go on, otherwise the answer AFAS would give."""
    scheme = _SCHEME.fullmatch(authorization or "")
    if scheme is None:
        return empty_response(401)
    value = scheme.group(1)
    decoded = _decode(value)
    if decoded is None:
        if "<token" in value.lower():  # the XML itself, not Base64 (required from Profit 7)
            if env.plain_token_status == 500:
                return profit_error(env, language, "token_not_base64")
            return empty_response(401)
        return empty_response(401)
    token = _TOKEN_XML.fullmatch(decoded)
    if token is None or not env.accepts_token(token.group(1)):
        return empty_response(401)  # malformed, unknown, revoked, or another environment's
    connector = env.app_connector
    if connector.blocked:
        match env.blocked_app_connector_response:
            case "401-message":
                return profit_error(env, language, "app_connector_blocked", status=401)
            case "500-message":
                return profit_error(env, language, "app_connector_blocked")
            case _:
                return empty_response(401)
    if connector.user_blocked:
        return empty_response(401)
    if connector.ip_restricted:
        return empty_response(403)
    return None
