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
        ({"AFASBOT_DATABASE_URL": "foo://bar"}, "AFASBOT_DATABASE_URL is invalid: 'foo' is not a"),
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


# -- issue 9: no traceback for any input, and nothing changed -------------------------------

ESCAPE = "\x1b[2J\x1b]0;pwned\x07"


def no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_a_batch_size_of_30_digits_is_refused(cli, migrated_url, registered) -> None:
    before = snapshot(migrated_url)
    result = cli("keys", "rotate", "--batch-size", "9" * 30)
    assert result.exit_code == 2
    no_traceback(result)
    assert "--batch-size" in result.stderr
    assert snapshot(migrated_url) == before


def test_keys_rotate_with_a_wrong_key_stops_before_touching_anything(
    cli, migrated_url, registered
) -> None:
    from storage.crypto import generate_key

    before = snapshot(migrated_url)
    result = cli("keys", "rotate", env={"AFASBOT_ENCRYPTION_KEYS": generate_key()})
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "cannot read the tokens written with key id" in line
    assert snapshot(migrated_url) == before  # no "tokens.rotated" audit event either


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://afas:s3cret@db/afas", "'mysql' is not a database afasbot supports"),
        ("postgresql+asyncpg://afas:s3cret@db/afas", "is not a database afasbot supports"),
        ("postgresql://u:s3cret@[::1", "not a URL that can be read"),
        ("postgresql://u:s3cret@db:99999/afas", "the port 99999 is not a TCP port"),
        ("sqlite://host/afas.db", "a SQLite URL names a file"),
        ("", "not a URL that can be read"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_one_line(cli, url, message) -> None:
    for command in (("org", "list"), ("db", "upgrade"), ("keys", "rotate")):
        result = cli(*command, env={"AFASBOT_DATABASE_URL": url})
        assert result.exit_code == 2
        line = one_line_error(result)
        assert "AFASBOT_DATABASE_URL" in line and message in line
        assert "s3cret" not in result.output


@pytest.fixture
def taken_port():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "a port is 0 (any free one) to 65535"),
        (["--port", "-1"], "a port is 0 (any free one) to 65535"),
        (["--port", "9" * 30], "a port is 0 (any free one) to 65535"),
        (["--host", "8.8.8.8", "--port", "0"], "Cannot assign requested address"),
        (["--host", "no-such-host.invalid", "--port", "0"], "cannot listen on"),
        (["--host", "[::1", "--port", "0"], "cannot listen on"),
        (["--host", "127.0.0.1\x00", "--port", "0"], "cannot listen on"),
        (["--host", ESCAPE, "--port", "0"], "cannot listen on"),
    ],
)
def test_sandbox_on_an_address_it_cannot_use_is_one_line(cli, args, message) -> None:
    result = cli("sandbox", *args, "--token-dir", str(cli.tmp_path / "tokens"))
    assert result.exit_code == 2
    line = one_line_error(result)
    assert message in line
    assert "\x1b" not in result.output
    assert not (cli.tmp_path / "tokens").exists()  # nothing written for a server never up


def test_sandbox_on_a_port_in_use_is_one_line(cli, taken_port) -> None:
    result = cli("sandbox", "--port", str(taken_port))
    assert result.exit_code == 2
    assert "Address already in use" in one_line_error(result)


def test_python_m_afas_sandbox_on_a_bad_port_is_one_line() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "afas.sandbox", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "cannot listen on 127.0.0.1:70000: a port is 0 (any free one) to 65535"
    ]


def test_serve_on_a_port_in_use_is_one_line(cli, migrated_url, taken_port) -> None:
    before = snapshot(migrated_url)
    result = cli("serve", "--host", "127.0.0.1", "--port", str(taken_port))
    assert result.exit_code == 2
    assert "cannot listen on 127.0.0.1" in one_line_error(result)
    assert snapshot(migrated_url) == before


def test_serve_on_a_host_with_an_escape_sequence_prints_none(cli, migrated_url) -> None:
    result = cli("serve", "--host", ESCAPE, "--port", "0")
    assert result.exit_code == 2
    assert "cannot listen on" in one_line_error(result)
    assert "\x1b" not in result.output and "\x07" not in result.output


@pytest.mark.parametrize("command", ["check", "org add"])
def test_a_token_file_that_never_ends_is_refused_quickly(cli, migrated_url, command) -> None:
    import time

    before = snapshot(migrated_url)
    args = ["--env", "10001", "--kind", "production", "--token-file", "/dev/zero"]
    started = time.monotonic()
    result = cli(*command.split(), *(["acme"] if command == "org add" else []), *args)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert "is larger than 64 KiB" in one_line_error(result)
    assert snapshot(migrated_url) == before


def test_a_huge_token_on_stdin_is_refused(cli) -> None:
    args = ["check", "--env", "10001", "--kind", "production", "--token-file", "-"]
    result = cli(*args, input="A" * 200_000)
    assert result.exit_code == 2
    assert "is larger than 64 KiB" in one_line_error(result)


def test_a_token_file_name_with_an_escape_sequence_is_shown_not_obeyed(cli) -> None:
    args = ["--env", "10001", "--kind", "production", "--token-file", f"/nonexistent/{ESCAPE}"]
    result = cli("check", *args)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "\\x1b[2J" in line and "\x1b" not in line and "\x07" not in line


@pytest.mark.parametrize("option", ["--name", "--notes", "--cs-owner"])
@pytest.mark.parametrize(
    "text", ["Acme\x00BV", "Acme\x07", f"Acme {ESCAPE}", "Acme\u202eVB", "\x85"]
)
def test_control_characters_in_names_and_notes_are_refused(
    cli, migrated_url, registered, option, text
) -> None:
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
        option,
        text,
    )
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "control character" in line
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert snapshot(migrated_url) == before


def _store_as_before_the_refusal(url: str, key: str, **values: str) -> None:
    """A row written before control characters were refused (or by hand in the database)."""
    from sqlalchemy import update

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            session.execute(update(Org).where(Org.key == key).values(**values))
            session.commit()
    finally:
        engine.dispose()


def test_org_show_and_list_print_no_stored_escape_sequence(cli, migrated_url, registered) -> None:
    _store_as_before_the_refusal(
        migrated_url,
        "healthy",
        display_name=f"Evil {ESCAPE} [/bold] BV",
        notes=f"line one\nline two {ESCAPE}",
        cs_owner="owner\x9b31m",
    )
    for command in (("org", "show", "healthy"), ("org", "list"), ("handover", "healthy")):
        result = cli(*command)
        assert result.exit_code == 0, result.output
        for control in ("\x1b", "\x07", "\x9b"):
            assert control not in result.output, (command, result.output)
        assert "\\x1b" in result.output  # shown as an escape (Markdown adds its own)
    shown = cli("org", "show", "healthy").stdout
    assert "line one\n" in shown  # notes keep their lines


def test_org_list_shows_brackets_as_typed(cli, migrated_url, registered) -> None:
    _store_as_before_the_refusal(migrated_url, "healthy", display_name="[/x] [bold]Evil[/bold]")
    result = cli("org", "list")
    assert result.exit_code == 0, result.output
    assert "[/x] [bold]Evil[/bold]" in result.stdout


# -- a table of odd values over every command ---------------------------------------------

ODD = [
    "",
    " ",
    "-",
    "-1",
    "0x10",
    "9" * 30,
    "1e308",
    "nan",
    "\x00",
    ESCAPE,
    "\u202e",
    "a" * 5000,
    "../../../etc/passwd",
    "<!channel>",
    "[/bold]",
    "%s%n{0}",
    "é\n",
]


def _commands(token: str) -> dict[str, list[str]]:
    """Each command with one slot (``V``) for an odd value; none that could start serving."""
    add = ["org", "add", "acme", "--env", "10001", "--kind", "production", "--token-file", token]
    return {
        "check KEY": ["check", "V"],
        "check --env": ["check", "--env", "V", "--token-file", token],
        "check --kind": ["check", "--env", "10001", "--kind", "V", "--token-file", token],
        "check --token-file": [
            "check",
            "--env",
            "10001",
            "--kind",
            "production",
            "--token-file",
            "V",
        ],
        "check --lang": ["check", "healthy", "--lang", "V"],
        "check --profile": ["check", "healthy", "--profile", "V"],
        "org show": ["org", "show", "V"],
        "org remove": ["org", "remove", "V", "--yes"],
        "org add KEY": ["org", "add", "V", *add[3:]],
        "org add --env": [*add[:4], "V", *add[5:]],
        "org add --name": [*add, "--name", "V"],
        "org add --notes": [*add, "--notes", "V"],
        "org add --cs-owner": [*add, "--cs-owner", "V"],
        "org add --alert-channel": [*add, "--alert-channel", "V"],
        "history KEY": ["history", "V"],
        "history --limit": ["history", "healthy", "--limit", "V"],
        "export KEY": ["export", "V"],
        "export --lang": ["export", "healthy", "--lang", "V"],
        "export --period": ["export", "healthy", "--live", "--yes", "--period", "V"],
        "handover KEY": ["handover", "V"],
        "handover --lang": ["handover", "healthy", "--lang", "V"],
        "keys rotate --batch-size": ["keys", "rotate", "--batch-size", "V"],
        "sandbox --port": ["sandbox", "--port", "V"],
        "serve --port": ["serve", "--port", "V"],
        "demo --lang": ["demo", "--lang", "V"],
        "unknown command": ["V"],
    }


COMMANDS = list(_commands("T"))


@pytest.mark.parametrize("command", COMMANDS)
def test_odd_values_in_every_command_give_an_answer_not_a_traceback(
    cli, migrated_url, registered, command
) -> None:
    template = _commands(cli.token_file("healthy"))[command]
    before = snapshot(migrated_url)
    for value in ODD:
        args = [value if part == "V" else part for part in template]
        result = cli(*args, input="")  # exceptions are raised (catch_exceptions=False)
        no_traceback(result)
        assert result.exit_code in (0, 1, 2), (value, result.output)
        assert "\x1b" not in result.output and "\x07" not in result.output, (value, result.output)
        if result.exit_code == 2:
            assert result.stderr.strip(), (value, result.output)
            assert snapshot(migrated_url) == before, value
        before = snapshot(migrated_url)


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["check", "healthy", "--profile", "/dev/zero"], "is not a regular file"),
        ({}, ["check", "healthy", "--profile", "/"], "is not a regular file"),
        ({"AFASBOT_PROFILE_PATH": "/dev/zero"}, ["org", "list"], "AFASBOT_PROFILE_PATH"),
        (
            {"AFASBOT_ENCRYPTION_KEYS": "", "AFASBOT_ENCRYPTION_KEY_FILE": "/dev/zero"},
            ["check", "healthy"],
            "is larger than 64 KiB",
        ),
        (
            {"AFASBOT_ENCRYPTION_KEYS": "", "AFASBOT_ENCRYPTION_KEY_FILE": "BINARY"},
            ["check", "healthy"],
            "is not a text file",
        ),
    ],
)
def test_a_file_setting_that_is_no_such_file_is_refused_quickly(
    cli, migrated_url, registered, env, args, message
) -> None:
    import time

    binary = cli.tmp_path / "binary.key"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    env = {k: str(binary) if v == "BINARY" else v for k, v in env.items()}
    before = snapshot(migrated_url)
    started = time.monotonic()
    result = cli(*args, env=env)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert message in one_line_error(result)
    assert snapshot(migrated_url) == before
