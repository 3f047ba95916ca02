"""The Slack side's texts: both languages for every key, the same placeholders, the right reader.

A key the code uses that the catalogue lacks would show the key itself to a user; these tests
find it first, by reading the code (every ``t("…")`` / ``mt("…")`` call and every literal that
looks like a catalogue key) and by rendering every builder in both languages.
"""

from __future__ import annotations

import ast
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot
from bot.i18n import (
    LANGUAGES,
    CatalogueError,
    key_placeholders,
    language_for_locale,
    load_catalogue,
    parse_catalogue,
    placeholders,
    t,
)

BOT = Path(bot.__file__).parent
CATALOGUE = load_catalogue()
SECTIONS = {key.split(".")[0] for key in CATALOGUE}
_KEYISH = re.compile(r"[a-z_]+(?:\.[a-z0-9_]+)+")


# -- the catalogue --------------------------------------------------------------------------


def test_the_built_in_catalogue_has_both_languages_for_every_key() -> None:
    assert len(CATALOGUE) > 50
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES), key
        assert placeholders(texts["nl"]) == placeholders(texts["en"]), key


def test_catalogue_texts_are_safe_as_mrkdwn_and_as_plain_text() -> None:
    for key, texts in CATALOGUE.items():
        for language, text in texts.items():
            assert not set(text) & set("<>&"), f"{key}.{language}: no <, > or & in a text"
            assert text == text.strip(), f"{key}.{language}: no leading or trailing space"


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('a = { nl = "Hallo" }', "a: the en text is missing"),
        ('a = { nl = "Hallo", en = "  " }', "a: the en text is missing or empty"),
        ('a = { nl = "Hallo {name}", en = "Hello" }', "a: Dutch uses ['name'] and English []"),
        ('[x]\nb = { nl = "{n} dag", en = "{m} day" }', "x.b: Dutch uses ['n'] and English ['m']"),
        ('a = { nl = "{n:d}", en = "{n:d}" }', "a: placeholder {n} must be a plain name"),
        ('a = { nl = "{0}", en = "{0}" }', "a: placeholder {0} must be a plain name"),
        ('a = { nl = "{n", en = "{n" }', "a: unbalanced braces"),
        ('a = { nl = "x", en = "x", de = "x" }', "a: unexpected de"),
        ('A = { nl = "x", en = "x" }', "A: a key part is lower case"),
        ('a = "x"', "a: expected { nl = …, en = … }"),
        ("[a]", "a: expected"),
        ("a = {", "not valid TOML"),
        ("", "the catalogue is empty"),
    ],
)
def test_an_invalid_catalogue_is_refused_with_the_key_and_the_reason(toml, problem) -> None:
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(toml)
    assert problem in str(caught.value)


def test_a_valid_catalogue_nests_keys() -> None:
    parsed = parse_catalogue(
        '[time]\ndays.one = { nl = "{n} dag", en = "{n} day" }\n'
        'x = { nl = "{{letterlijk}}", en = "{{literal}}" }'
    )
    assert parsed == {
        "time.days.one": {"nl": "{n} dag", "en": "{n} day"},
        "time.x": {"nl": "{{letterlijk}}", "en": "{{literal}}"},
    }


# -- t() ------------------------------------------------------------------------------------


def test_t_fills_in_the_readers_language() -> None:
    assert t("message.checking", "nl", org="acme") == "Bezig met controleren van acme…"
    assert t("message.checking", "en", org="acme") == "Checking acme…"
    assert t("message.checking", "fr", org="acme") == "Checking acme…"  # unknown: English
    assert t("report.org", "en", name="Acme", key="acme") == "Acme (acme)"  # "key" is a value


def test_a_missing_key_or_value_is_logged_and_shown_not_raised(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        assert t("no.such.key", "nl") == "no.such.key"
        assert t("message.checking", "en") == "Checking {org}…"
    assert "no text for key 'no.such.key'" in caplog.text
    assert "no value for {org} in 'message.checking'" in caplog.text


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("nl-NL", "nl"),
        ("nl-BE", "nl"),
        ("nl", "nl"),
        ("NL_nl", "nl"),
        (" nl-NL ", "nl"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("de-DE", "en"),
        ("fr-BE", "en"),
        ("nld", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_follows_the_slack_locale(locale, language) -> None:
    assert language_for_locale(locale) == language


# -- every key the code uses exists ---------------------------------------------------------


Call = tuple[str, frozenset[str] | None, int]


def _uses(path: Path) -> tuple[list[Call], list[tuple[str, int]]]:
    """``t``/``mt`` calls with a literal key (and their keyword names, None if ``**``), and
    every other string literal that looks like a catalogue key."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls: list[Call] = []
    literals: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("t", "mt", "UserError", "BotError")
            and node.args
        ):
            names = [kw.arg for kw in node.keywords if kw.arg != "fields"]
            keywords = None if None in names else frozenset(names)
            first = node.args[0]
            options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            for option in options:
                if isinstance(option, ast.Constant) and isinstance(option.value, str):
                    calls.append((option.value, keywords, node.lineno))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if _KEYISH.fullmatch(value) and value.split(".")[0] in SECTIONS:
                literals.append((value, node.lineno))
    return calls, literals


def _check(paths: list[Path]) -> list[str]:
    problems: set[tuple[str, int, str]] = set()
    for path in paths:
        calls, literals = _uses(path)
        where = str(path.relative_to(BOT.parent) if BOT.parent in path.parents else path.name)
        for key, line in literals:
            if key not in CATALOGUE:
                problems.add((where, line, f"{key!r} is not in the catalogue"))
        for key, keywords, line in calls:
            if key not in CATALOGUE:
                problems.add((where, line, f"{key!r} is not in the catalogue"))
            elif keywords is not None and keywords != key_placeholders(key):
                wanted, given = sorted(key_placeholders(key)), sorted(keywords)
                problems.add((where, line, f"{key!r} takes {wanted}, given {given}"))
    return [f"{where}:{line}: {problem}" for where, line, problem in sorted(problems)]


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_key_the_block_builders_use_exists_with_its_placeholders() -> None:
    modules = _modules(BOT / "blocks")
    assert len(modules) >= 5
    assert _check(modules) == []


def test_every_key_the_rest_of_the_bot_uses_exists() -> None:
    modules = [
        p
        for p in _modules(BOT)
        if (BOT / "blocks") not in p.parents
        and any(f"from bot.{m} import" in p.read_text("utf-8") for m in ("i18n", "errors"))
    ]
    assert _check(modules) == []


def test_the_key_scan_finds_a_missing_key_and_a_wrong_placeholder(tmp_path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from bot.i18n import t\n"
        "A = 'report.no_such_text'\n"
        "t('message.checking', 'nl', organisation='x')\n"
        "t('status.never_checked' if A else 'time.nope', 'en')\n"
        "t('message.checking', 'nl', **{'org': 'x'})\n"
    )
    assert _check([probe]) == [
        "probe.py:2: 'report.no_such_text' is not in the catalogue",
        "probe.py:3: 'message.checking' takes ['org'], given ['organisation']",
        "probe.py:4: 'time.nope' is not in the catalogue",
    ]


def test_rendering_every_builder_in_both_languages_misses_no_text(caplog) -> None:
    from bot.blocks.help import help_blocks
    from bot.blocks.messages import (
        checking_blocks,
        error_blocks,
        unknown_org_blocks,
        usage_blocks,
    )
    from bot.blocks.report import report_blocks, report_text
    from bot.blocks.status import OrgStatusRow, status_blocks, status_text
    from tests.bot.blocks import factories as f

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    rows = [
        OrgStatusRow(f"o{n}", "O", "1 (test)", state, now - timedelta(days=n), now)
        for n, state in enumerate(["failing", "unreachable", "degraded", None, "healthy"])
    ]
    rows.append(OrgStatusRow("m", "M", "1 (test)", "healthy", None, now + timedelta(days=2)))
    reports = [f.healthy(), f.near_misses(), f.rejected_token(), f.unreachable()]
    reports += [f.deep_with_fields(3), f.afas_message("boom")]
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        for language in LANGUAGES:
            for report in reports:
                for problems_only in (True, False):
                    report_blocks(
                        report, language=language, org_key="a", problems_only=problems_only
                    )
                report_text(report, language=language)
            status_blocks(rows, language=language, now=now)
            status_blocks([], language=language, now=now)
            status_text(rows, language=language, now=now)
            help_blocks(language=language, is_admin=True)
            checking_blocks("a", language=language)
            checking_blocks("a", language=language, deep=True)
            error_blocks("x", language=language)
            unknown_org_blocks("a", ["b", "c"], language=language)
            usage_blocks(language=language, subcommand="x")
    assert caplog.text == ""
