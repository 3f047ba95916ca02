from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import pytest

from afas.tokens import AfasToken
from bot.logging_setup import REDACTED, RedactSecrets, configure_logging, redact

DATA = "949C1A9CD9AE4797950D94F55A7A4D056770472D4963CB9A8D3800BEE0CCE6A2"
TOKEN = AfasToken(DATA)


@pytest.mark.parametrize(
    "slip",
    [
        TOKEN.authorization_header(),
        TOKEN.xml,
        base64.b64encode(TOKEN.xml.encode()).decode(),
        DATA,
        "gAAAAABnX3q9" + "A" * 60,
        # Forms the old rules let through: split, URL-encoded, with invisible characters.
        DATA[:32] + "\n" + DATA[32:],
        quote(TOKEN.authorization_header(), safe=""),
        quote(TOKEN.xml, safe=""),
        "\ufeff" + DATA[:20] + "\u200b" + DATA[20:],
        base64.b64encode(TOKEN.xml.encode()).decode()[:40]
        + "\r\n"
        + base64.b64encode(TOKEN.xml.encode()).decode()[40:],
        "xoxb-" + "1234567890-" * 3 + "abcdef",
    ],
)
def test_token_shaped_text_is_redacted(slip: str) -> None:
    cleaned = redact(f"calling AFAS with {slip} now")
    assert REDACTED in cleaned
    assert DATA not in cleaned and slip not in cleaned
    assert DATA[:32] not in cleaned and DATA[32:] not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "checked org acme: failing (profitLogReference B8213AF1C3C54E579686406A8DE71C6C)",
        f"token {TOKEN.fingerprint}, key id 1a2b3c4d, trace 4f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "release 3f786850e387550fdab836ed7e6dc881de23001b (40-character hash)",
        "GET https://12345.rest.afas.online/ProfitRestServices/metainfo -> 200",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


def test_the_filter_cleans_arguments_and_exceptions() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "header %s", (TOKEN.xml,), None)
    try:
        raise RuntimeError(f"boom {TOKEN.authorization_header()}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecrets().filter(record)
    assert DATA not in record.getMessage()
    assert record.exc_info is None and DATA not in (record.exc_text or "")
    assert "boom" in record.exc_text


def test_configure_logging_quietens_http_libraries() -> None:
    configure_logging("DEBUG")
    try:
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("httpcore").level == logging.WARNING
    finally:
        configure_logging("WARNING")
