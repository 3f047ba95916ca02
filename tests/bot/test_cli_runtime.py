"""The demo, the schema gate of ``serve``, ``db upgrade``, and the token leak test."""

from __future__ import annotations

import base64
import logging
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage.crypto import generate_key
from storage.db import make_engine


def test_the_demo_checks_every_sandbox_environment(cli, scenario) -> None:
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert f"{len(scenario.environments)} orgs checked concurrently" in result.output
    for env in scenario.environments:
        assert env.name in result.output
    assert "17 healthy, 1 degraded, 9 failing, 3 unreachable" in result.output
    # Each org that is not healthy has its report shown, with the fix.
    assert "found SBQ_Kostenplaatsen_All, expected SBQ_Kostenplaasten_All" in result.output
    assert "import SBQ_BTW.gcn" in result.output


def test_serve_refuses_an_empty_or_outdated_schema(cli, tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = cli("serve", env={"AFASBOT_DATABASE_URL": empty})
    assert result.exit_code == 2
    assert "Run `afasbot db upgrade`" in result.stderr


def test_db_upgrade_creates_the_schema_then_says_it_is_current(cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    first = cli("db", "upgrade", env={"AFASBOT_DATABASE_URL": url})
    assert first.exit_code == 0 and "upgraded from empty" in first.output
    second = cli("db", "upgrade", env={"AFASBOT_DATABASE_URL": url})
    assert "up to date" in second.output
    engine = make_engine(url)
    try:
        assert {"orgs", "check_runs", "incidents", "audit_events", "outbox"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
    listed = cli("org", "list", env={"AFASBOT_DATABASE_URL": url})
    assert "No orgs are registered yet" in listed.output


def secret_forms(scenario, names: list[str]) -> list[str]:
    forms = []
    for name in names:
        token = scenario.by_name(name).token()
        forms += [
            token.reveal_data(),
            token.xml,
            base64.b64encode(token.xml.encode()).decode(),
            token.authorization_header(),
        ]
    return forms


def database_text(url: str) -> str:
    """Everything the database holds, as text: the SQLite file's bytes, or every column of
    every table cast to text on PostgreSQL."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        blobs = [path.read_bytes()]
        blobs += [p.read_bytes() for p in path.parent.glob(path.name + "-*")]  # WAL, SHM
        return b"".join(blobs).decode("latin-1")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            parts = []
            for table in inspect(engine).get_table_names():
                for row in connection.execute(text(f'SELECT t::text FROM "{table}" t')):
                    parts.append(row[0])
            return "\n".join(parts)
    finally:
        engine.dispose()


def test_tokens_never_leak(cli, migrated_url, scenario, key, caplog) -> None:
    """Register, check (normal and deep), rotate keys, remove: the plaintext token, its
    XML and Base64 forms appear nowhere in the database, the logs, or the CLI's output."""
    caplog.set_level(logging.DEBUG)
    names = ["healthy", "missing-connectors", "near-miss"]
    outputs = [cli.add(name) for name in names]
    outputs.append(cli("check", "healthy", "--deep"))
    outputs.append(cli("check", "near-miss", "--json"))
    outputs.append(cli("org", "show", "healthy"))
    outputs.append(cli("org", "list"))
    outputs.append(cli("history", "near-miss"))
    new_key = generate_key()
    outputs.append(cli("keys", "rotate", env={"AFASBOT_ENCRYPTION_KEYS": f"{new_key},{key}"}))
    outputs.append(cli("check", "healthy", env={"AFASBOT_ENCRYPTION_KEYS": new_key}))
    outputs.append(
        cli(
            "org", "remove", "missing-connectors", "--yes", env={"AFASBOT_ENCRYPTION_KEYS": new_key}
        )
    )
    assert all(result.exit_code in (0, 1) for result in outputs), [r.output for r in outputs]
    everything = "\n".join(r.output + r.stderr for r in outputs) + caplog.text
    stored = database_text(migrated_url)
    assert "gAAAAA" in stored  # the tokens are there, encrypted
    for secret in secret_forms(scenario, names):
        assert secret not in everything
        assert secret not in stored


def test_the_demo_leaks_no_token_to_its_output(scenario) -> None:
    """The demo as a newcomer runs it: a real process, real stdout and stderr."""
    result = subprocess.run(
        ["afasbot", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": _venv_path(), "COLUMNS": "120", "HOME": "/tmp"},
    )
    assert result.returncode == 0, result.stderr
    for secret in secret_forms(scenario, [e.name for e in scenario.environments]):
        assert secret not in result.stdout + result.stderr


def _venv_path() -> str:
    import os
    import sys

    return os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


@pytest.mark.parametrize("command", [["--help"], ["org", "--help"], ["keys", "--help"]])
def test_help_works(cli, command) -> None:
    assert cli(*command).exit_code == 0
