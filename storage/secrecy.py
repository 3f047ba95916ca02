"""A last line of defence: refuse to write text that looks like a token or a ciphertext into
plain columns (audit details, an org's free-text fields).

Tokens reach the database only encrypted, through ``storage.crypto``; this guard catches the
slips around it, such as an agent pasting a token into the notes field, or a caller putting a
token object or its header into audit details.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from afas.tokens import AfasToken

# AFAS token data is a long hex string (64 characters in practice). Shorter hex values such as
# fingerprints (10), key ids (8), trace ids and hashes up to 40 characters stay allowed.
_LONG_HEX = re.compile(r"[0-9A-Fa-f]{48,}")
_MARKERS = (
    re.compile(r"<\s*token\s*>", re.IGNORECASE),  # the token XML
    re.compile(r"PHRva2Vu"),  # Base64 of "<token", the start of the token's Base64 form
    re.compile(r"AfasToken\s+\S", re.IGNORECASE),  # an Authorization header value
    re.compile(r"gAAAAA[A-Za-z0-9_-]{20,}"),  # a Fernet ciphertext
)


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` contains something shaped like a token, its header or a ciphertext."""
    return bool(_LONG_HEX.search(text)) or any(m.search(text) for m in _MARKERS)


def find_secret(value: Any, path: str = "") -> str | None:
    """The path (such as ``details.token``) of the first secret-looking part of a JSON-like
    value, or None. Token objects count as secrets whatever their shape."""
    if isinstance(value, AfasToken):
        return path or "value"
    if isinstance(value, str):
        return (path or "value") if looks_like_secret(value) else None
    if isinstance(value, bytes):
        return path or "value"  # not JSON anyway; refuse rather than guess
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and looks_like_secret(key):
                return f"{path}.<a key>" if path else "<a key>"  # the path must not leak it
            where = f"{path}.{key}" if path else str(key)
            found = find_secret(item, where)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            found = find_secret(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
