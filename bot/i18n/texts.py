"""The texts the Slack side shows, in Dutch and English, and the reader's language.

The texts live in ``catalogue.toml`` next to this file (and one file per feature in
``catalogue/``): one entry per key, ``{ nl = "…",
en = "…" }``, keys nested in tables (``[report] guide = …`` is ``report.guide``). The file is
validated when it is first loaded: every key has both languages, non-empty, with the same
``{placeholders}`` (plain names only, no format specs). A broken catalogue fails loudly at
start-up and in the tests; a key the code asks for that the catalogue lacks is logged and
shown as the key itself, never a crash (a test checks every key the builders use).

Catalogue texts may use Slack mrkdwn (``*bold*``, backticks) but never ``<``, ``>`` or ``&``,
so a text is safe both as mrkdwn and as plain text; values filled in are the caller's to escape.
"""

from __future__ import annotations

import logging
import re
import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Literal

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")
DEFAULT_LANGUAGE: Language = "en"

_KEY_PART = re.compile(r"[a-z0-9_]+")

log = logging.getLogger(__name__)


class CatalogueError(ValueError):
    """The catalogue is invalid; the message names the key and what is wrong."""


def language_for_locale(locale: str | None) -> Language:
    """Slack's user locale (``nl-NL``, ``en-GB``…) to a catalogue language; English if unknown."""
    if not locale:
        return DEFAULT_LANGUAGE
    normalised = locale.strip().lower().replace("_", "-")
    if normalised == "nl" or normalised.startswith("nl-"):
        return "nl"
    return DEFAULT_LANGUAGE


def normalise_language(language: str | None) -> Language:
    """A language argument to ``"nl"`` or ``"en"`` (anything that is not Dutch is English)."""
    return language_for_locale(language)


def placeholders(text: str) -> frozenset[str]:
    """The ``{names}`` in a text; CatalogueError for braces that do not parse or format specs."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise CatalogueError(f"unbalanced braces ({exc})") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise CatalogueError(f"placeholder {{{name}}} must be a plain name")
        names.add(name)
    return frozenset(names)


def parse_catalogue(text: str) -> dict[str, dict[Language, str]]:
    """Read and validate a catalogue: flat ``{"report.guide": {"nl": …, "en": …}}``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"the catalogue is not valid TOML: {exc}") from None
    entries: dict[str, dict[Language, str]] = {}
    _collect(data, "", entries)
    if not entries:
        raise CatalogueError("the catalogue is empty")
    return entries


def _collect(table: Mapping[str, object], prefix: str, out: dict[str, dict[Language, str]]) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if not _KEY_PART.fullmatch(name):
            raise CatalogueError(f"{key}: a key part is lower case letters, digits and _ only")
        if not isinstance(value, dict) or not value:
            raise CatalogueError(f"{key}: expected {{ nl = …, en = … }} or a table of such entries")
        if "nl" in value or "en" in value:
            out[key] = _entry(key, value)
        else:
            _collect(value, f"{key}.", out)


def _entry(key: str, value: Mapping[str, object]) -> dict[Language, str]:
    extra = set(value) - set(LANGUAGES)
    if extra:
        raise CatalogueError(f"{key}: unexpected {', '.join(sorted(extra))} (only nl and en)")
    texts: dict[Language, str] = {}
    for language in LANGUAGES:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise CatalogueError(f"{key}: the {language} text is missing or empty")
        texts[language] = text
    try:
        nl, en = placeholders(texts["nl"]), placeholders(texts["en"])
    except CatalogueError as exc:
        raise CatalogueError(f"{key}: {exc}") from None
    if nl != en:
        raise CatalogueError(
            f"{key}: Dutch uses {sorted(nl)} and English {sorted(en)}; they must be the same"
        )
    return texts


@cache
def load_catalogue() -> Mapping[str, Mapping[Language, str]]:
    """The built-in catalogue, read once from the installed package and validated:
    ``catalogue.toml`` and one file per feature in ``catalogue/`` (``catalogue/watch.toml``…).
    A key defined in two files is an error naming both."""
    package = resources.files("bot.i18n")
    files = [package.joinpath("catalogue.toml")]
    folder = package.joinpath("catalogue")
    if folder.is_dir():
        files += sorted(
            (f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name
        )
    merged: dict[str, dict[Language, str]] = {}
    origin: dict[str, str] = {}
    for file in files:
        name = "bot/i18n/" + ("catalogue/" if file != files[0] else "") + file.name
        try:
            entries = parse_catalogue(file.read_text(encoding="utf-8"))
        except CatalogueError as exc:
            raise CatalogueError(f"{name}: {exc}") from None
        for key, texts in entries.items():
            if key in merged:
                raise CatalogueError(f"{name}: {key} is also defined in {origin[key]}")
            merged[key], origin[key] = texts, name
    return merged


def has_key(key: str) -> bool:
    return key in load_catalogue()


def key_placeholders(key: str) -> frozenset[str]:
    """The placeholders of a catalogue entry (the same in both languages)."""
    return placeholders(load_catalogue()[key]["en"])


class _Values(dict):
    """Fills placeholders; a missing value is logged and left visible, never a crash."""

    def __init__(self, key: str, values: Mapping[str, object]) -> None:
        super().__init__(values)
        self.key = key

    def __missing__(self, name: str) -> str:
        log.warning("i18n: no value for {%s} in %r", name, self.key)
        return "{" + name + "}"


def t(key: str, language: str, /, **values: object) -> str:
    """The text for ``key`` in the reader's language, placeholders filled in."""
    entry = load_catalogue().get(key)
    if entry is None:
        log.warning("i18n: no text for key %r", key)
        return key
    return entry[normalise_language(language)].format_map(_Values(key, values))


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "CatalogueError",
    "Language",
    "has_key",
    "key_placeholders",
    "language_for_locale",
    "load_catalogue",
    "normalise_language",
    "parse_catalogue",
    "placeholders",
    "t",
]
