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

#: Characters that copy-paste and editors add without a trace: zero-width space, non-joiner and
#: joiner, word joiner, byte-order mark (Notepad's "UTF-8 with BOM", PowerShell 5) and soft
#: hyphen (PDF). Non-breaking spaces (U+00A0, U+202F) are whitespace to ``\s`` already.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_INVISIBLE = re.compile("[" + "".join(sorted(INVISIBLE)) + "]")
_INVISIBLE_BYTES = re.compile("|".join(re.escape(c) for c in sorted(INVISIBLE)).encode("utf-8"))
#: The shortest bare data string that is recognised as a token in free text.
MIN_BARE_DATA = 48
_WHITESPACE = re.compile(r"\s+")
_DATA = re.compile(r"[0-9A-Fa-f]{16,1024}")
_XML = re.compile(
    r"(?:<\?xml[^>]*\?>)?<token><version>1</version><data>([^<]*)</data></token>",
    re.IGNORECASE,
)
_HEADER_PREFIX = re.compile(r"^(?:authorization:)?afastoken", re.IGNORECASE)


def _compact(text: str) -> str:
    """``text`` without whitespace (non-breaking spaces included) and invisible characters."""
    return _WHITESPACE.sub("", _INVISIBLE.sub("", text))


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
        """Accept the XML, its Base64 form or the bare data string; whitespace, line breaks and
        invisible copy-paste characters (``INVISIBLE``, a byte-order mark included) anywhere."""
        if not isinstance(text, str):
            raise TokenFormatError("expected text")
        compact = _compact(text)
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
        return cls._from_xml(_compact(decoded))

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


# -- The shape of a token in free text ------------------------------------------------------
#
# One detector for every place that must recognise a token it was not meant to see: the log
# redaction (bot/logging_setup.py), the storage guard (storage/secrecy.py) and the Slack
# command parser (bot/slack/commands.py). It finds every form a token takes in this product:
# the XML (also HTML-escaped, as Slack sends it, and URL-encoded), its Base64 form (also split
# over lines, URL-encoded, or behind ``AfasToken``), and the bare data string of 48 or more hex
# digits, split over lines or not. Invisible copy-paste characters anywhere are looked through.
# Bare hex shorter than 48 digits is not a token here: fingerprints (10), key ids (8),
# profitLogReferences (32) and 40-character hashes must stay readable in logs and notes.

#: A line break inside a pasted value (e-mail, PDF), with the next line's indentation.
_BREAK = r"(?:\r\n?|\n)[ \t\u00a0\u202f]*"
_TOKEN_XML = re.compile(
    r"(?:<\?xml[^>]{0,200}\?>\s*)?<\s*token\s*>(?:[\s\S]{0,4000}?<\s*/\s*token\s*>|[^\n]*)",
    re.IGNORECASE,
)
_HEADER = re.compile(
    rf"AfasToken[\s+:=]*[A-Za-z0-9+/=](?:(?:{_BREAK})?[A-Za-z0-9+/=]){{19,}}", re.IGNORECASE
)
_BASE64_RUN = re.compile(
    rf"(?<![A-Za-z0-9+/])[A-Za-z0-9+/](?:(?:{_BREAK})?[A-Za-z0-9+/]){{23,}}"
    rf"(?:(?:{_BREAK})?=){{0,2}}"
)
_HEX_RUN = re.compile(
    rf"(?<![0-9A-Za-z])[0-9A-Fa-f](?:(?:{_BREAK})?[0-9A-Fa-f]){{{MIN_BARE_DATA - 1},}}"
    r"(?![0-9A-Za-z])"
)
#: Base64 of "<token" (aligned, as in every Base64 form of the XML) and of "<?xml".
_BASE64_MARKERS = re.compile(r"PHRva2V|PD94bWw")
_XML_IN_BYTES = re.compile(rb"<\s*token\s*>", re.IGNORECASE)
_SEPARATORS = re.compile(r"\s+")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&#60;": "<", "&#62;": ">"}


class _View:
    """``text`` with invisible characters dropped and %XX and HTML entities decoded, and for
    each character the span of the original it came from, so matches map back."""

    __slots__ = ("ends", "starts", "text")

    def __init__(self, original: str) -> None:
        kept = [i for i, char in enumerate(original) if char not in INVISIBLE]
        visible = "".join(original[i] for i in kept)
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        i, n = 0, len(visible)
        while i < n:
            char, width = visible[i], 1
            if char == "%" and (m := _PERCENT.match(visible, i)) is not None:
                char, width = chr(int(m.group(1), 16)), 3
            elif char == "&":
                for entity, value in _ENTITIES.items():
                    if visible.startswith(entity, i):
                        char, width = value, len(entity)
                        break
            chars.append(char)
            starts.append(kept[i])
            ends.append(kept[i + width - 1] + 1)
            i += width
        self.text, self.starts, self.ends = "".join(chars), starts, ends

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]


def _needs_view(text: str) -> bool:
    return "%" in text or "&" in text or any(char in text for char in INVISIBLE)


def _base64_holds_token(run: str) -> bool:
    """Whether a run of Base64 characters is (part of) a token's Base64 form."""
    compact = _SEPARATORS.sub("", run)
    if _BASE64_MARKERS.search(compact) is None and len(compact) < 64:
        return False
    if "PHRva2V" in compact:
        return True
    starts = {0, *(m.start() for m in _BASE64_MARKERS.finditer(compact))}
    for start in starts:
        body = compact[start:].rstrip("=")
        body = body[: len(body) - (len(body) % 4 == 1)]
        try:
            decoded = base64.b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            continue
        if _XML_IN_BYTES.search(_INVISIBLE_BYTES.sub(b"", decoded)):
            return True
    return False


def _mixed_hex(run: str) -> bool:
    """Random token data has digits and letters; a run of only one kind ("AAAA…", a long
    number) is ordinary text (the chance that 48 random hex digits hold no letter, or no
    digit, is below one in ten million)."""
    return any(c.isdigit() for c in run) and any(c in "abcdefABCDEF" for c in run)


def _spans(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` (in ``text``'s own positions) that hold a token, merged."""
    view = _View(text) if _needs_view(text) else None
    seen = view.text if view is not None else text
    found: list[tuple[int, int]] = []
    for pattern in (_TOKEN_XML, _HEADER):
        found.extend(m.span() for m in pattern.finditer(seen))
    found.extend(m.span() for m in _HEX_RUN.finditer(seen) if _mixed_hex(m.group()))
    found.extend(m.span() for m in _BASE64_RUN.finditer(seen) if _base64_holds_token(m.group()))
    found = [(a, b) for a, b in found if b > a]
    if view is not None:
        found = [view.original_span(a, b) for a, b in found]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def contains_token(text: str) -> bool:
    """Whether ``text`` holds an AFAS token in any of its forms (see above)."""
    return bool(_spans(text))


def redact_tokens(text: str, replacement: str) -> str:
    """``text`` with every token in it, in any form, replaced by ``replacement``."""
    spans = _spans(text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], replacement]
        last = end
    parts.append(text[last:])
    return "".join(parts)
