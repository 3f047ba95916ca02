"""The error taxonomy, turned into one friendly message each, in one place.

User errors (bad input, an unknown org) say what to do; configuration errors tell the reader
to ask an admin; anything else is an internal error, logged with context, shown without
details. No message carries a token, a ciphertext or an exception's text.
"""

from __future__ import annotations

from bot.blocks.messages import error_blocks, unknown_org_blocks
from bot.i18n import t
from storage.errors import InvalidOrgError, KeyConfigError, TokenDecryptError, UnknownOrgError


def friendly_blocks(error: Exception, *, language: str) -> list[dict]:
    if isinstance(error, UnknownOrgError):
        return unknown_org_blocks(error.key or "?", list(error.suggestions), language=language)
    if isinstance(error, InvalidOrgError):
        return error_blocks(t("error.invalid_key", language), language=language)
    if isinstance(error, TokenDecryptError | KeyConfigError):
        return error_blocks(t("error.token_unreadable", language), language=language)
    return error_blocks(t("error.internal", language), language=language)
