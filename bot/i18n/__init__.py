"""The texts the Slack side shows, in Dutch and English, and the reader's language. This file
only exports ``texts``."""

from bot.i18n.texts import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    CatalogueError,
    Language,
    has_key,
    key_placeholders,
    language_for_locale,
    load_catalogue,
    normalise_language,
    parse_catalogue,
    placeholders,
    t,
)

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
