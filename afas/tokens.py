"""AFAS classic tokens: parsing what a helpdesk agent pastes, and the Authorization header.

AFAS generates a token as XML, ``<token><version>1</version><data>HEX</data></token>``, and
wants it Base64-encoded in ``Authorization: AfasToken <base64>`` (afas-api.md §2.1). Agents paste
the XML, its Base64 form, or just the data string, often with line breaks from e-mail or PDF.
All three normalise to one canonical form: the data string, from which the XML and the header are
built. The data never appears in ``repr``, ``str`` or exception texts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

ACCEPTED_FORMS = (
    "the token XML (<token><version>1</version><data>…</data></token>), "
    "its Base64 form, or the bare data string"
)

_WHITESPACE = re.compile(r"\s+")
_DATA = re.compile(r"[0-9A-Fa-f]{16,1024}")
_XML = re.compile(
    r"(?:<\?xml[^>]*\?>)?<token><version>1</version><data>([^<]*)</data></token>",
    re.IGNORECASE,
)
_HEADER_PREFIX = re.compile(r"^(?:authorization:)?afastoken", re.IGNORECASE)


class TokenFormatError(ValueError):
    """The pasted text is not an AFAS token. The message never repeats the input."""

    def __init__(self, reason: str = "") -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(f"This is not an AFAS token{detail}. Paste {ACCEPTED_FORMS}.")


class AfasToken:
    """An AFAS classic token. Holds the data string; shows only a fingerprint."""

    __slots__ = ("_data",)

    def __init__(self, data: str) -> None:
        if not _DATA.fullmatch(data):
            raise TokenFormatError("the data part must be hexadecimal")
        self._data = data

    @classmethod
    def parse(cls, text: str) -> AfasToken:
        """Accept the XML, its Base64 form or the bare data string, whitespace tolerated."""
        if not isinstance(text, str):
            raise TokenFormatError("expected text")
        compact = _WHITESPACE.sub("", text)
        if not compact:
            raise TokenFormatError("it is empty")
        if compact.startswith("<"):
            return cls._from_xml(compact)
        if _DATA.fullmatch(compact):
            return cls(compact)
        compact = _HEADER_PREFIX.sub("", compact)
        try:
            decoded = base64.b64decode(compact, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise TokenFormatError() from None
        return cls._from_xml(_WHITESPACE.sub("", decoded))

    @classmethod
    def _from_xml(cls, compact_xml: str) -> AfasToken:
        match = _XML.fullmatch(compact_xml)
        if match is None:
            raise TokenFormatError("the XML is not <token><version>1</version><data>…</data>")
        return cls(match.group(1))

    @property
    def xml(self) -> str:
        """The canonical XML form, as AFAS generates it."""
        return f"<token><version>1</version><data>{self._data}</data></token>"

    @property
    def canonical(self) -> str:
        """The canonical stored form (the XML). Handle as a secret."""
        return self.xml

    def authorization_header(self) -> str:
        """The value of the ``Authorization`` header AFAS expects."""
        return "AfasToken " + base64.b64encode(self.xml.encode("utf-8")).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible identifier that is safe to show and log."""
        return hashlib.sha256(self._data.encode("utf-8")).hexdigest()[:10]

    def reveal_data(self) -> str:
        """The data string itself: only for tests and the sandbox's own token files."""
        return self._data

    def __repr__(self) -> str:
        return f"AfasToken(fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AfasToken) and other._data == self._data

    def __hash__(self) -> int:
        return hash(("AfasToken", self._data))

    def __reduce__(self) -> tuple:
        raise TypeError("AfasToken is not picklable")
