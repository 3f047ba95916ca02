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

from afas.tokens import AfasToken, contains_token

#: Besides the token forms ``afas.tokens`` knows: a Fernet ciphertext (a stored token,
#: encrypted) and a Slack token (the bot's own credentials, pasted in the wrong place).
_OTHER_SECRETS = re.compile(r"gAAAAA[A-Za-z0-9_-]{20,}|\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}")


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` holds a token in any form (``afas.tokens.contains_token``: fingerprints,
    key ids, trace ids and hashes up to 40 hex digits stay allowed), a ciphertext or a Slack
    token."""
    return contains_token(text) or bool(_OTHER_SECRETS.search(text))


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
