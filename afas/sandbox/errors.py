"""AFAS-shaped answers for errors: the message texts (NL/EN) and the response builders.

Texts marked "AFAS" are AFAS's own wording (afas-api.md §5.3, §7); the others are ours,
written in the same style where AFAS documents no text.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from .scenario import SandboxEnvironment

UNEXPECTED_ERROR_NUMBER = -2147180999
NOT_AUTHORISED_ERROR_NUMBER = -2147180996
VALIDATION_ERROR_NUMBER = -2147220469

#: Headers AFAS sends on every answer (afas-api.md §3, OAS-spec ``components.responses``).
AFAS_HEADERS = {
    "Cache-Control": "no-store, no-cache",
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "deny",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type, Accept, Authorization, OnlineSessionId, "
    "Accept-Language",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "X-AFAS-Proxy-Version": "4.3.0.0",
}
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

MAINTENANCE_MESSAGE = (
    "Service temporarily unavailable due to scheduled maintenance. "
    "Please check afasstatus.nl for details."
)


@dataclass(frozen=True, slots=True)
class Message:
    nl: str
    en: str
    number: int = UNEXPECTED_ERROR_NUMBER

    def text(self, language: str, **values: str) -> str:
        template = self.en if language == "en" else self.nl
        return template.format(**values)


MESSAGES = {
    # AFAS (EN; the NL text is ours).
    "unexpected": Message(
        "Er is een onverwachte fout opgetreden.", "An unexpected error has occurred."
    ),
    # AFAS (NL from go-afas and the troubleshooting page; EN from AFAS's docs).
    "get_not_authorised": Message(
        "Deze GetConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
        "GetConnector not supported for this app or the user is not authorized.",
        NOT_AUTHORISED_ERROR_NUMBER,
    ),
    "update_not_authorised": Message(
        "Deze UpdateConnector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
        "UpdateConnector not supported for this app or the user is not authorized.",
        NOT_AUTHORISED_ERROR_NUMBER,
    ),
    # AFAS (NL, field notes on metainfo/update); EN is ours in AFAS's pattern.
    "connector_not_authorised": Message(
        "Deze connector wordt niet ondersteund of de gebruiker is niet geautoriseerd.",
        "Connector not supported for this app or the user is not authorized.",
        NOT_AUTHORISED_ERROR_NUMBER,
    ),
    # AFAS (both languages).
    "definition_blocked": Message(
        "Deze GetConnector (definitie) is geblokkeerd",
        "This GetConnector (definition) is blocked",
    ),
    # AFAS (EN); the NL text is our wording.
    "field_not_found": Message(
        "Connectorveld '{field}' niet gevonden", "Connector field '{field}' not found"
    ),
    # Ours: AFAS does not document the blocked App Connector's answer (§13.3).
    "app_connector_blocked": Message(
        "De App connector is geblokkeerd.", "The App connector is blocked."
    ),
    # Ours: Profit 6 notes announce "an error" for a plain-text token (§13.2).
    "token_not_base64": Message(
        "Het token is niet Base64-gecodeerd.", "The token is not Base64 encoded."
    ),
    # AFAS (EN, "Enter a value for 'Account Number'"); NL ours.
    "required": Message(
        "Voer een waarde in voor '{field}'.",
        "Enter a value for '{field}'.",
        VALIDATION_ERROR_NUMBER,
    ),
    # Ours.
    "not_balanced": Message(
        "De boeking is niet in balans: debet {debit}, credit {credit}.",
        "The entry does not balance: debit {debit}, credit {credit}.",
        VALIDATION_ERROR_NUMBER,
    ),
    # AFAS (EN, "Date '1-11-2024' belongs to a blocked period"); NL ours.
    "blocked_period": Message(
        "Periode {period} van het jaar {year} is geblokkeerd voor deze administratie.",
        "For this administration, period {period} of the year {year} is blocked.",
        VALIDATION_ERROR_NUMBER,
    ),
    # AFAS (both; EN current, NL the older text) after the server's 900 s limit.
    "command_timeout": Message(
        "De maximale tijdsduur voor het uitvoeren van de opdracht is verstreken.",
        "Command timeout expired.",
    ),
    # Ours.
    "bad_envelope": Message(
        "Ongeldige invoer: {detail}", "Invalid input: {detail}", VALIDATION_ERROR_NUMBER
    ),
    "action_not_supported": Message(
        "De actie '{action}' wordt niet ondersteund door deze UpdateConnector.",
        "The action '{action}' is not supported by this UpdateConnector.",
    ),
    "record_not_found": Message(
        "Het record dat u wilt verwijderen bestaat niet.",
        "The record to delete does not exist.",
        VALIDATION_ERROR_NUMBER,
    ),
    # Writing against the administration's own data (updateconnector_engine.py).
    # AFAS (EN, "The entered value for 'Account Number' does not exist"); NL ours.
    "unknown_value": Message(
        "De ingevoerde waarde voor '{field_nl}' bestaat niet.",
        "The entered value for '{field_en}' does not exist.",
        VALIDATION_ERROR_NUMBER,
    ),
    # AFAS (NL, §6.8); EN ours.
    "destination_not_allowed": Message(
        "Deze bestemming is niet geldig voor dit type dossieritem",
        "This destination is not valid for this type of dossier item",
        NOT_AUTHORISED_ERROR_NUMBER,
    ),
    # Ours, in AFAS's style, from here on.
    "period_unknown": Message(
        "Periode {period} van het jaar {year} bestaat niet voor deze administratie.",
        "For this administration, period {period} of the year {year} does not exist.",
        VALIDATION_ERROR_NUMBER,
    ),
    "journal_blocked": Message(
        "Dagboek '{journal}' is geblokkeerd.",
        "Journal '{journal}' is blocked.",
        VALIDATION_ERROR_NUMBER,
    ),
    "account_blocked": Message(
        "Rekening '{account}' is geblokkeerd.",
        "Account '{account}' is blocked.",
        VALIDATION_ERROR_NUMBER,
    ),
    "too_long": Message(
        "De waarde voor '{field_nl}' is te lang (maximaal {length} tekens).",
        "The value for '{field_en}' is too long (at most {length} characters).",
        VALIDATION_ERROR_NUMBER,
    ),
    "unknown_field": Message(
        "Het veld '{field}' bestaat niet in '{object}'.",
        "The field '{field}' does not exist in '{object}'.",
        VALIDATION_ERROR_NUMBER,
    ),
    "record_exists": Message(
        "Er bestaat al een record met {field} '{value}'.",
        "A record with {field} '{value}' already exists.",
        VALIDATION_ERROR_NUMBER,
    ),
    "record_to_update_not_found": Message(
        "Het record dat u wilt wijzigen bestaat niet.",
        "The record to update does not exist.",
        VALIDATION_ERROR_NUMBER,
    ),
    "subject_type_not_allowed": Message(
        "Dossieritems van type {type} kunnen niet via een connector worden aangemaakt.",
        "Dossier items of type {type} cannot be created through a connector.",
        VALIDATION_ERROR_NUMBER,
    ),
    "not_base64": Message(
        "De inhoud van '{file}' is niet Base64-gecodeerd.",
        "The content of '{file}' is not Base64 encoded.",
        VALIDATION_ERROR_NUMBER,
    ),
    "delete_refused": Message(
        "Het record kan niet worden verwijderd.",
        "The record cannot be deleted.",
        VALIDATION_ERROR_NUMBER,
    ),
    "relation_in_use": Message(
        "De relatie '{number}' kan niet worden verwijderd: er zijn boekingen op deze relatie.",
        "The relation '{number}' cannot be deleted: there are entries for this relation.",
        VALIDATION_ERROR_NUMBER,
    ),
    "ambiguous_delete": Message(
        "Meer dan één boeking voldoet; geef ook het boekstuknummer (EnNo).",
        "More than one entry matches; also give the entry number (EnNo).",
        VALIDATION_ERROR_NUMBER,
    ),
}


def language_of(env: SandboxEnvironment, accept_language: str | None) -> str:
    """``en`` or ``nl``: the request's Accept-Language if we have texts for it, else the
    environment's language. AFAS also ships fr/de; we answer those in English."""
    for candidate in ((accept_language or "").split(",")[0].strip().lower(), env.language):
        if candidate.startswith("nl"):
            return "nl"
        if candidate.startswith(("en", "fr", "de")):
            return "en"
    return "nl"


def new_log_reference() -> str:
    """A profitLogReference: 32 uppercase hex characters, random per error."""
    return secrets.token_hex(16).upper()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    all_headers = {**AFAS_HEADERS, "Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
    return Response(content, status, headers=all_headers)


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status, headers={**AFAS_HEADERS, **(headers or {})})


def profit_error(
    env: SandboxEnvironment,
    language: str,
    key: str,
    status: int = 500,
    **values: str,
) -> Response:
    """An AFAS error body, with the legacy ``X-PROFIT-ERROR`` header if the env sends it."""
    message = MESSAGES[key]
    text = message.text(language, **values)
    headers = {}
    if env.legacy_error_header:
        headers["X-PROFIT-ERROR"] = base64.b64encode(text.encode("utf-8")).decode("ascii")
    body = {
        "externalMessage": text,
        "errorNumber": message.number,
        "profitLogReference": new_log_reference(),
    }
    return json_response(body, status, headers)


def maintenance_response(retry_after: int) -> Response:
    body = {"error": {"code": "503", "message": MAINTENANCE_MESSAGE}, "retry_after": retry_after}
    return json_response(body, 503)


def not_authorised(env: SandboxEnvironment, language: str, key: str) -> Response:
    """A connector that is not in the App Connector: 401 empty or 500 with a message (§13.1)."""
    if env.unauthorised_connector_status == 401:
        return empty_response(401)
    return profit_error(env, language, key)
