"""Logging for the bot's processes, with a last line of defence against secrets in logs.

Tokens never reach a log by design (``AfasToken`` shows only a fingerprint; nothing logs
headers or request bodies). The redaction filter catches slips: any record whose text holds
an AFAS token in any form ``afas.tokens.contains_token`` knows (the XML, its Base64 form, an
``AfasToken`` header, a data string of 48 or more hex digits; split over lines, URL-encoded or
with invisible characters), a Fernet ciphertext or a Slack token has it replaced before any
handler sees it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable
from urllib.parse import unquote_plus

from afas.tokens import redact_tokens

REDACTED = "[redacted]"
#: What is redacted besides the token forms ``afas.tokens`` knows: a Fernet ciphertext (a
#: stored token, encrypted) and Slack tokens (the bot's own credentials).
_OTHER_SECRETS = re.compile(
    r"gAAAAA[A-Za-z0-9_\-=]{20,}"  # a Fernet ciphertext
    r"|\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}"  # a Slack bot, user or app-level token
)
#: Libraries whose INFO/DEBUG lines carry URLs and headers: kept at WARNING.
# slack_bolt and slack_sdk log whole payloads at DEBUG, modal input included (slack.md §4.4).
_CHATTY = ("httpx", "httpcore", "aiohttp", "uvicorn.access", "urllib3", "slack_bolt", "slack_sdk")


#: The process's own secrets, as configured (signing secret, Slack tokens, Fernet keys):
#: redacted wherever they occur, whatever their shape.
_CONFIGURED: set[str] = set()
#: The Slack request a log line belongs to (set by the listeners' wrapper), or "-".
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def register_secrets(values: Iterable[str | None]) -> None:
    """Redact these exact values from every log line from now on (8 characters or more)."""
    _CONFIGURED.update(v for v in values if v and len(v) >= 8)


def _redact_plain(text: str) -> str:
    cleaned = _OTHER_SECRETS.sub(REDACTED, redact_tokens(text, REDACTED))
    for secret in _CONFIGURED:
        if secret in cleaned:
            cleaned = cleaned.replace(secret, REDACTED)
    return cleaned


def _decoded(text: str) -> str:
    """``text`` as a form body or JSON string would decode it (``%2B``, ``+``, ``\\/``,
    ``\\n``): how a token hides in a request body that a library logs whole."""
    return (
        unquote_plus(text)
        .replace("\\/", "/")
        .replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
    )


def redact(text: str) -> str:
    """``text`` without tokens in any form (``afas.tokens.redact_tokens``), ciphertexts, Slack
    tokens or the configured secrets; also when URL-encoded or JSON-escaped, in which case the
    line is given decoded, with the secret redacted."""
    cleaned = _redact_plain(text)
    if any(marker in text for marker in ("%", "+", "\\")):
        decoded = _decoded(cleaned)
        if decoded != cleaned:
            redacted = _redact_plain(decoded)
            if redacted != decoded:
                return redacted
    return cleaned


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (arguments filled in) without anything token-shaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if redact(text) != text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class RequestContext(logging.Filter):
    """Adds ``request_id`` (the Slack request the line belongs to) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (test runners and daemons swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(
    level: str = "WARNING", *, fmt: str = "text", secrets: Iterable[str | None] = ()
) -> None:
    """Root logging for a CLI or server process; idempotent. ``fmt="json"``: one JSON object
    per line (time, level, logger, message, request_id, and any ``extra`` fields)."""
    register_secrets(secrets)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_formatter(fmt))
    handler.addFilter(RedactSecrets())
    handler.addFilter(RequestContext())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def library_logger(name: str = "slack_bolt") -> logging.Logger:
    """The base logger to hand Bolt (``AsyncApp(logger=...)``): Bolt copies its level, handlers
    and filters to every logger it makes, instead of copying the root's level (which would
    let its DEBUG and INFO lines, whole request bodies among them, through)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
    logger.setLevel(max(logging.WARNING, logging.getLogger().level))
    return logger


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
