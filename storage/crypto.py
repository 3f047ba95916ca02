"""Token encryption at rest: Fernet keys, newest first, through ``MultiFernet`` (alerting.md §5).

Every ciphertext is stored with the id of the key that wrote it (the first 8 hex characters of
the SHA-256 of the key's 32 bytes), so rotation can tell which rows still need it and a wrong
key is named in the error without the key itself ever being shown. There is no plaintext
fallback anywhere: no keys, no tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from afas.tokens import AfasToken, TokenFormatError
from storage.errors import KeyConfigError, TokenDecryptError

GENERATE_HINT = "Generate a key with `afasbot keys generate`."

# Fernet.generate_key()'s shape. Python's Base64 decoder skips unknown characters, so the shape
# is checked before decoding: a key with a stray character is refused, not silently repaired.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}=")
#: A key file holds a few keys of 44 characters; more is another file.
KEY_FILE_LIMIT = 64 * 1024


def generate_key() -> str:
    """A new random Fernet key (32 bytes, url-safe base64, 44 characters)."""
    return Fernet.generate_key().decode("ascii")


def key_id(key: str) -> str:
    """The public id of a key: the first 8 hex characters of the SHA-256 of its 32 bytes."""
    return hashlib.sha256(_key_bytes(key, where="the key")).hexdigest()[:8]


def load_keys(env_value: str | None, key_file: str | Path | None) -> list[str]:
    """Read the configured keys, newest first, from a comma-separated setting and/or a key file.

    The key file holds one key per line, newest first; blank lines and ``#`` comments are
    ignored. When both are given, the setting's keys come first. Duplicates are dropped (the
    first occurrence wins). Raises ``KeyConfigError`` when there is no key at all or a key is
    malformed; the message says where the bad key is, never what it is.
    """
    found: list[tuple[str, str]] = []  # (key, where)
    if env_value:
        parts = [part.strip() for part in env_value.split(",")]
        found += [(p, f"key {i} of the key setting") for i, p in enumerate(parts, 1) if p]
    if key_file:
        path = Path(key_file)
        try:
            with path.open("rb") as file:  # bounded: /dev/zero or a log is not a key file
                raw = file.read(KEY_FILE_LIMIT + 1)
            if len(raw) > KEY_FILE_LIMIT:
                raise KeyConfigError(
                    f"The token key file {path!r} is larger than {KEY_FILE_LIMIT // 1024} KiB: "
                    "a key file holds one key (44 characters) per line."
                )
            lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise KeyConfigError(f"The token key file {path!r} is not a text file.") from None
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            reason = getattr(exc, "strerror", None) or "not a file name"
            raise KeyConfigError(f"Cannot read the token key file {path!r}: {reason}.") from None
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if text:
                found.append((text, f"line {number} of the key file {path}"))
    if not found:
        raise KeyConfigError(
            "No token encryption key is configured, so tokens can be neither stored nor read. "
            + GENERATE_HINT
        )
    keys: list[str] = []
    for key, where in found:
        _key_bytes(key, where=where)
        if key not in keys:
            keys.append(key)
    return keys


class TokenCipher:
    """Encrypts AFAS tokens with the newest key; decrypts with any configured key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise KeyConfigError("No token encryption key is configured. " + GENERATE_HINT)
        raw = [_key_bytes(k, where=f"key {i}") for i, k in enumerate(keys, 1)]
        self._fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(r)) for r in raw])
        self._key_ids = tuple(hashlib.sha256(r).hexdigest()[:8] for r in raw)

    @classmethod
    def from_keys(cls, keys: Sequence[str]) -> TokenCipher:
        """Keys newest first, as ``load_keys`` returns them."""
        return cls(keys)

    @property
    def primary_key_id(self) -> str:
        """The id of the newest key: the one every encryption uses."""
        return self._key_ids[0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of all configured keys, newest first (safe to show)."""
        return self._key_ids

    def encrypt(self, token: AfasToken) -> tuple[str, str]:
        """Encrypt ``token.canonical``; returns ``(ciphertext, key_id)``."""
        ciphertext = self._fernet.encrypt(token.canonical.encode("utf-8"))
        return ciphertext.decode("ascii"), self.primary_key_id

    def decrypt(
        self, ciphertext: str, *, org_key: str | None = None, stored_key_id: str | None = None
    ) -> AfasToken:
        """Decrypt with whichever configured key wrote it.

        ``org_key`` and ``stored_key_id`` only improve the error message.
        """
        try:
            plaintext = self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
            return AfasToken.parse(plaintext)
        except (InvalidToken, UnicodeError, TokenFormatError):
            raise TokenDecryptError(
                self._decrypt_failure(org_key, stored_key_id), org_key=org_key
            ) from None

    def can_decrypt(self, ciphertext: str) -> bool:
        try:
            self.decrypt(ciphertext)
        except TokenDecryptError:
            return False
        return True

    def rotate(
        self, ciphertext: str, *, org_key: str | None = None, stored_key_id: str | None = None
    ) -> tuple[str, str]:
        """Re-encrypt under the newest key; returns ``(ciphertext, key_id)``.

        Goes through ``decrypt`` so that a ciphertext which decrypts but holds no token is
        refused too (``MultiFernet.rotate`` would happily re-encrypt it).
        """
        return self.encrypt(self.decrypt(ciphertext, org_key=org_key, stored_key_id=stored_key_id))

    def _decrypt_failure(self, org_key: str | None, stored_key_id: str | None) -> str:
        subject = f"The stored token of org {org_key!r}" if org_key else "A stored token"
        configured = ", ".join(self._key_ids)
        if stored_key_id is not None and stored_key_id not in self._key_ids:
            return (
                f"{subject} cannot be decrypted: it was written with key id {stored_key_id}, "
                f"which is not among the configured keys ({configured}). "
                "Configure that key again (after the newest one), or register the token anew."
            )
        return (
            f"{subject} cannot be decrypted with the configured keys ({configured}): "
            "the key is wrong or the stored value was altered. Register the token anew."
        )

    def __repr__(self) -> str:
        return f"TokenCipher(key_ids={self._key_ids!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        raise TypeError("TokenCipher is not picklable")


def _key_bytes(key: str, *, where: str) -> bytes:
    """The 32 raw bytes of a Fernet key, or ``KeyConfigError`` naming ``where`` (not the key)."""
    problem = (
        f"The token key ({where}) is not a valid Fernet key: expected 44 characters of "
        "url-safe Base64 encoding 32 bytes. " + GENERATE_HINT
    )
    if not isinstance(key, str) or not _KEY_SHAPE.fullmatch(key.strip()):
        raise KeyConfigError(problem)
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode("ascii"))
    except (binascii.Error, UnicodeError, ValueError):
        raise KeyConfigError(problem) from None
    if len(raw) != 32:
        raise KeyConfigError(problem)
    return raw
