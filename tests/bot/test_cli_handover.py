"""``afasbot handover KEY [--lang nl|en] [--out FILE]``: the same Markdown note as Slack attaches,
printed or written, from the database only."""

from __future__ import annotations

from tests.bot.conftest import Cli


def test_handover_prints_the_markdown_note_in_the_language_asked(cli: Cli) -> None:
    assert cli.add("missing-connectors", "--name", "Acme BV").exit_code == 0
    assert cli("check", "missing-connectors").exit_code in (0, 1)
    result = cli("handover", "missing-connectors", "--lang", "nl")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("# Overdracht: Acme BV (missing-connectors)\n")
    assert "## Inrichting per hoofdstuk van de handleiding" in out
    assert "aan zet: de AFAS-beheerder van de klant" in out
    assert "## Beschikbaarheid, laatste 30 dagen" in out
    token = cli.scenario.by_name("missing-connectors").token()
    assert token.reveal_data() not in out and token.fingerprint in out
    english = cli("handover", "missing-connectors", "--lang", "en").output
    assert english.startswith("# Handover: Acme BV (missing-connectors)\n")
    assert "to act: the customer's AFAS administrator" in english


def test_handover_writes_the_file_and_says_where(cli: Cli) -> None:
    assert cli.add("healthy").exit_code == 0
    target = cli.tmp_path / "notes" / "healthy.md"
    target.parent.mkdir()
    result = cli("handover", "healthy", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Wrote the handover note of healthy to {target}."
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Handover: healthy\n")
    assert "The facts come from the latest check" in text  # the registration's own check
    assert "§1.2.3 GetConnectors — 15 of 15 in order" in text


def test_an_unknown_key_is_one_clear_line_without_a_traceback(cli: Cli) -> None:
    assert cli.add("healthy").exit_code == 0
    result = cli("handover", "helthy")
    assert result.exit_code == 2
    assert "error:" in result.output and "healthy" in result.output
    assert "Traceback" not in result.output


def test_a_bad_language_or_an_unwritable_file_is_a_usage_error(cli: Cli) -> None:
    assert cli.add("healthy").exit_code == 0
    assert cli("handover", "healthy", "--lang", "de").exit_code == 2
    result = cli("handover", "healthy", "--out", str(cli.tmp_path / "no" / "such" / "dir.md"))
    assert result.exit_code == 2 and "cannot write" in result.output
    assert "Traceback" not in result.output


def test_the_note_works_without_the_token_keys(cli: Cli) -> None:
    assert cli.add("healthy").exit_code == 0
    result = cli("handover", "healthy", env={"AFASBOT_ENCRYPTION_KEYS": ""})
    assert result.exit_code == 0, result.output
    assert "# Handover: healthy" in result.output
    assert "not verified here whether the bot can decrypt it (no token keys)" in result.output
