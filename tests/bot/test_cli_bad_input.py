"""Bad input to every CLI command: one line on stderr, exit status 2, nothing changed."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import AuditEvent, CheckRun, Org


def snapshot(url: str) -> tuple:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            orgs = [
                (o.key, o.token_ciphertext, o.updated_at, o.current_state)
                for o in session.exec(select(Org).order_by(Org.key))
            ]
            audits = len(session.exec(select(AuditEvent)).all())
            runs = len(session.exec(select(CheckRun)).all())
            return orgs, audits, runs
    finally:
        engine.dispose()


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def registered(cli) -> None:
    assert cli.add("healthy").exit_code == 0


def garbage_file(cli, text: str) -> str:
    path = cli.tmp_path / "garbage.token"
    path.write_text(text)
    return str(path)


CASES = {
    "unknown org (check)": (["check", "helthy"], "Did you mean 'healthy'"),
    "unknown org (show)": (["org", "show", "nobody"], "No org is registered with key 'nobody'"),
    "unknown org (remove)": (["org", "remove", "nobody", "--yes"], "No org is registered"),
    "unknown org (history)": (["history", "nobody"], "No org is registered"),
    "bad environment": (
        ["org", "add", "acme", "--env", "12a45", "--kind", "production", "--token-file", "x"],
        "number such as 12345",
    ),
    "environment code contradicts kind": (
        ["org", "add", "acme", "--env", "T12345AA", "--kind", "production", "--token-file", "x"],
        "is a test environment, not production",
    ),
    "bad kind": (
        ["check", "--env", "12345", "--kind", "staging", "--token-file", "x"],
        "Unknown environment kind",
    ),
    "unreadable token file": (
        [
            "org",
            "add",
            "acme",
            "--env",
            "10001",
            "--kind",
            "production",
            "--token-file",
            "/nonexistent/token.txt",
        ],
        "cannot read the token file /nonexistent/token.txt",
    ),
    "check without token file": (["check", "--env", "10001"], "give an org key, or --env"),
    "check with both forms": (
        ["check", "healthy", "--env", "10001"],
        "either an org key or --env",
    ),
    "bad language": (["check", "healthy", "--lang", "fr"], "--lang must be nl or en"),
    "bad profile": (
        ["check", "healthy", "--profile", "/nonexistent.toml"],
        "Cannot read the profile",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_and_exit_2_and_changes_nothing(
    cli, migrated_url, registered, case
) -> None:
    args, message = CASES[case]
    before = snapshot(migrated_url)
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in one_line_error(result)
    assert snapshot(migrated_url) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "it is empty"),
        ("hello world", "Paste the token XML"),
        ("<token><version>2</version><data>AB</data></token>", "holds no AFAS token"),
    ],
)
def test_a_token_file_without_a_token(cli, migrated_url, registered, content, message) -> None:
    before = snapshot(migrated_url)
    result = cli(
        "org",
        "add",
        "acme",
        "--env",
        "10001",
        "--kind",
        "production",
        "--token-file",
        garbage_file(cli, content),
    )
    assert result.exit_code == 2
    line = one_line_error(result)
    assert message in line
    assert content.strip() == "" or content not in line  # never echoes what was pasted
    assert snapshot(migrated_url) == before


def test_a_duplicate_key(cli, migrated_url, registered) -> None:
    before = snapshot(migrated_url)
    result = cli.add("healthy")
    assert result.exit_code == 2
    assert "already registered" in one_line_error(result)
    assert snapshot(migrated_url) == before


@pytest.mark.parametrize("org_key", ["Bad Key!", "x", "trailing-", "a" * 41])
def test_an_invalid_org_key(cli, migrated_url, registered, org_key) -> None:
    before = snapshot(migrated_url)
    result = cli(
        "org",
        "add",
        org_key,
        "--env",
        "10001",
        "--kind",
        "production",
        "--token-file",
        cli.token_file("healthy"),
    )
    assert result.exit_code == 2
    assert "An org key is 2–" in one_line_error(result)
    assert snapshot(migrated_url) == before


def test_an_invalid_alert_channel(cli, migrated_url, registered) -> None:
    before = snapshot(migrated_url)
    result = cli(
        "org",
        "add",
        "acme",
        "--env",
        "10001",
        "--kind",
        "production",
        "--token-file",
        cli.token_file("healthy"),
        "--alert-channel",
        "#alerts",
    )
    assert result.exit_code == 2
    assert "Slack channel id" in one_line_error(result)
    assert snapshot(migrated_url) == before


def test_no_encryption_key_configured(cli, migrated_url, registered) -> None:
    before = snapshot(migrated_url)
    result = cli(
        "org",
        "add",
        "acme",
        "--env",
        "10001",
        "--kind",
        "production",
        "--token-file",
        cli.token_file("healthy"),
        env={"AFASBOT_ENCRYPTION_KEYS": ""},
    )
    assert result.exit_code == 2
    assert "afasbot keys generate" in one_line_error(result)
    assert snapshot(migrated_url) == before


def test_a_malformed_encryption_key(cli, migrated_url, registered) -> None:
    result = cli("check", "healthy", env={"AFASBOT_ENCRYPTION_KEYS": "not-a-key"})
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "not-a-key" not in line


def test_remove_asks_for_confirmation(cli, migrated_url, registered) -> None:
    before = snapshot(migrated_url)
    result = cli("org", "remove", "healthy", input="n\n")
    assert result.exit_code == 2
    assert snapshot(migrated_url) == before


def test_remove_with_nobody_to_confirm_is_one_line_naming_yes(cli, migrated_url, registered):
    before = snapshot(migrated_url)
    result = cli("org", "remove", "healthy", input="")  # no terminal, end of input at once
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "--yes" in line and "Aborted" not in result.output
    assert snapshot(migrated_url) == before


def test_replace_for_an_unknown_key_registers_nothing_and_says_so(cli, migrated_url):
    before = snapshot(migrated_url)
    result = cli.add("healthy", "--replace")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "no org with key 'healthy'" in line and "leave out --replace" in line
    assert snapshot(migrated_url) == before


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AFASBOT_DATABASE_URL": "foo://bar"}, "not a database URL this bot supports"),
        (
            {"AFASBOT_DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:9/x"},
            "cannot be used: connection failed",
        ),
        ({"AFASBOT_AFAS_URL_TEMPLATE": "ftp://x"}, "AFASBOT_AFAS_URL_TEMPLATE is invalid"),
        ({"AFASBOT_AFAS_PER_ENVIRONMENT_LIMIT": "99"}, "PER_ENVIRONMENT_LIMIT is invalid"),
    ],
)
def test_bad_settings_give_one_line(cli, env, message) -> None:
    result = cli("org", "list", env=env)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert message in line
    assert "s3cret" not in line
