"""Logging for the bot's processes, with a last line of defence against secrets in logs.

Tokens never reach a log by design (``AfasToken`` shows only a fingerprint; nothing logs
headers or request bodies). The redaction filter catches slips: any record whose text holds
an AFAS token in any form ``afas.tokens.contains_token`` knows (the XML, its Base64 form, an
``AfasToken`` header, a data string of 48 or more hex digits; split over lines, URL-encoded or
with invisible characters), a Fernet ciphertext or a Slack token has it replaced before any
handler sees it.
"""

from __future__ import annotations

import logging
import re
import sys

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


def redact(text: str) -> str:
    """``text`` without tokens in any form (``afas.tokens.redact_tokens``) or ciphertexts."""
    return _OTHER_SECRETS.sub(REDACTED, redact_tokens(text, REDACTED))


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


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (test runners and daemons swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str = "WARNING") -> None:
    """Root logging for a CLI or server process; idempotent."""
    root = logging.getLogger()
    if not any(isinstance(f, RedactSecrets) for h in root.handlers for f in h.filters):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactSecrets())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
