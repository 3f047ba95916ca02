"""The database never holds a token in plaintext: not the data string, not the XML, not its
Base64 form; after registration, replacement, checks, incidents, audit and key rotation."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from afas.tokens import AfasToken, contains_token
from storage.crypto import TokenCipher, generate_key
from storage.repository import (
    acknowledge_incident,
    add_org,
    enqueue_outbox,
    mute_org,
    open_incident,
    record_check_run,
    remove_org,
    rotate_tokens,
    update_org,
)
from storage.secrecy import find_secret, looks_like_secret
from tests.storage.helpers import ACTOR, ENV, T0, make_token, register

DATA = "949C1A9CD9AE4797950D94F55A7A4D056770472D4963CB9A8D3800BEE0CCE6A2"
TOKEN = AfasToken(DATA)


def _forms(token: AfasToken) -> list[bytes]:
    data = token.reveal_data()
    b64 = base64.b64encode(token.xml.encode()).decode()
    return [
        form.encode() for form in (data, data.lower(), token.xml, token.xml.lower(), b64, b64[:40])
    ]


def _exercise_every_write_path(session: Session) -> list[AfasToken]:
    k1, k2 = generate_key(), generate_key()
    old = TokenCipher.from_keys([k1])
    tokens = [make_token(f"secret-{n}") for n in range(4)]
    orgs = [register(session, old, f"org-{n}", token=t) for n, t in enumerate(tokens[:3])]
    add_org(
        session,
        key="org-0",
        display_name="Org Zero",
        environment=ENV,
        token=tokens[3],
        cipher=old,
        actor=ACTOR,
        replace_token=True,
        now=T0,
    )
    update_org(session, "org-1", actor=ACTOR, notes="Contact: Jan", now=T0)
    mute_org(session, "org-1", until=T0, actor=ACTOR, now=T0)
    record_check_run(
        session,
        orgs[1],
        trigger="command",
        started_at=T0,
        duration_ms=10,
        overall_state="healthy",
        items=[{"requirement": "token", "status": "ok"}],
    )
    incident, _ = open_incident(session, orgs[1], kind="org", opened_at=T0)
    acknowledge_incident(session, incident.id, actor=ACTOR, at=T0)
    enqueue_outbox(session, kind="alert", payload={"org": "org-1"}, dedup_key="d1", now=T0)
    session.commit()
    remove_org(session, "org-2", actor=ACTOR, now=T0)
    session.commit()
    rotate_tokens(session, TokenCipher.from_keys([k2, k1]), actor=ACTOR)
    return tokens


def test_the_database_holds_no_plaintext_token(
    backend: str, engine: Engine, session: Session
) -> None:
    tokens = _exercise_every_write_path(session)
    blob = _sqlite_files(engine) if backend == "sqlite" else _postgres_contents(engine)
    assert b"org-1" in blob, "the search does see the data"
    for token in tokens:
        for form in _forms(token):
            assert form not in blob


def _sqlite_files(engine: Engine) -> bytes:
    """The database file and its WAL, as they are on disk."""
    path = Path(make_url(str(engine.url)).database)
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert any(p.name.endswith("-wal") for p in files), "the WAL is searched too"
    return b"".join(p.read_bytes() for p in files)


def _postgres_contents(engine: Engine) -> bytes:
    """Every row of every table as text, plus a pg_dump when one is installed."""
    rows: list[str] = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows += connection.execute(text(f'SELECT t::text FROM "{table}" AS t')).scalars()
    blob = "\n".join(rows).encode()
    pg_dump = shutil.which("pg_dump")
    if pg_dump is not None:
        url = make_url(str(engine.url))
        dump = subprocess.run(
            [
                pg_dump,
                "-h",
                str(url.host),
                "-p",
                str(url.port),
                "-U",
                "postgres",
                str(url.database),
            ],
            capture_output=True,
            check=False,
        )
        if dump.returncode == 0:  # a client older than the server refuses; the SELECT suffices
            blob += dump.stdout
    return blob


@pytest.mark.parametrize(
    "note",
    [
        "token: " + DATA,
        "token: " + DATA[:32] + "\n" + DATA[32:],
        "\ufeff" + TOKEN.xml,
        TOKEN.xml.replace("<", "&lt;").replace(">", "&gt;"),
        quote(TOKEN.authorization_header(), safe=""),
        base64.b64encode(TOKEN.xml.encode()).decode(),
        "gAAAAABnX3q9" + "A" * 60,
    ],
)
def test_the_guard_refuses_every_form_of_a_token(note: str) -> None:
    assert looks_like_secret(note)
    assert find_secret({"details": {"notes": note}}) == "details.notes"


@pytest.mark.parametrize(
    "note",
    [
        "Contact: Jan, ref B8213AF1C3C54E579686406A8DE71C6C",
        f"fingerprint {TOKEN.fingerprint}, key id 1a2b3c4d",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "de AfasToken-header komt uit het formulier",
    ],
)
def test_the_guard_lets_ordinary_notes_through(note: str) -> None:
    assert not looks_like_secret(note)


def test_the_guard_and_the_log_redaction_use_one_detector() -> None:
    """The three places that must recognise a token agree on every form."""
    from bot.logging_setup import REDACTED, redact
    from bot.slack.commands import CommandError, parse_command

    for form in (DATA, TOKEN.xml, TOKEN.authorization_header(), DATA[:30] + "\r\n" + DATA[30:]):
        assert contains_token(form)
        assert looks_like_secret(form)
        assert redact(form) == REDACTED
        assert parse_command(form) == CommandError("usage.token_pasted")
