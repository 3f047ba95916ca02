"""A replaced or removed token is destroyed: not only gone from the rows, but from what the
database keeps on disk or hands out.

SQLite: the raw bytes of the database file and its ``-wal`` / ``-journal`` files, read after
the change committed (``secure_delete`` zeroes freed space; the commit's WAL checkpoint copies
the zeroed page over the old one and empties the WAL). PostgreSQL: a ``pg_dump`` of the
database (required when ``AFASBOT_REQUIRE_POSTGRES=1``, as in CI).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url

from afas.tokens import AfasToken
from storage.crypto import TokenCipher
from storage.db import make_session_factory, session_scope
from storage.orgs import add_org, get_org, remove_org, replace_token
from tests.conftest import prerequisite_missing
from tests.storage.helpers import ACTOR, ENV, T0, make_token


def _forms(token: AfasToken) -> list[bytes]:
    """The token as it could sit in a file: its data, its XML, the XML's Base64 form."""
    data = token.reveal_data()
    return [
        form.encode()
        for form in (data, data.lower(), token.xml, base64.b64encode(token.xml.encode()).decode())
    ]


def _sqlite_files(engine: Engine) -> bytes:
    path = Path(make_url(str(engine.url)).database)
    names = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(p.read_bytes() for p in names if p.exists())


def _pg_dump(engine: Engine) -> bytes:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        prerequisite_missing("pg_dump is not on PATH", required_by="AFASBOT_REQUIRE_POSTGRES")
    url = make_url(str(engine.url))
    dump = subprocess.run(
        [pg_dump, "-h", str(url.host), "-p", str(url.port), "-U", "postgres", str(url.database)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert dump.returncode == 0, dump.stderr.decode(errors="replace")
    return dump.stdout


def what_the_database_keeps(backend: str, engine: Engine) -> bytes:
    return _sqlite_files(engine) if backend == "sqlite" else _pg_dump(engine)


def _register(engine: Engine, cipher: TokenCipher, key: str, token: AfasToken) -> bytes:
    with session_scope(engine) as session:
        org = add_org(
            session,
            key=key,
            display_name=f"{key.title()} B.V.",
            environment=ENV,
            token=token,
            cipher=cipher,
            actor=ACTOR,
            now=T0,
        ).org
        return org.token_ciphertext.encode()


def test_after_a_rotation_the_old_token_is_nowhere_in_the_database(
    backend: str, engine: Engine, cipher: TokenCipher
) -> None:
    old, new = make_token("old"), make_token("new")
    old_ciphertext = _register(engine, cipher, "acme", old)
    neighbour = _register(engine, cipher, "bakker", make_token("bakker"))
    assert old_ciphertext in what_the_database_keeps(backend, engine), "the search sees it"

    with session_scope(engine) as session:
        replace_token(session, "acme", token=new, cipher=cipher, actor=ACTOR, now=T0)
    with session_scope(engine) as session:
        new_ciphertext = get_org(session, "acme").token_ciphertext.encode()

    kept = what_the_database_keeps(backend, engine)
    assert new_ciphertext in kept and neighbour in kept
    assert old_ciphertext not in kept
    for form in _forms(old) + _forms(new):
        assert form not in kept  # and never in plaintext, of course


def test_after_a_re_registration_with_replacement_the_old_token_is_gone(
    backend: str, engine: Engine, cipher: TokenCipher
) -> None:
    old_ciphertext = _register(engine, cipher, "acme", make_token("old"))
    with session_scope(engine) as session:
        add_org(
            session,
            key="acme",
            display_name="Acme B.V.",
            environment=ENV,
            token=make_token("new"),
            cipher=cipher,
            actor=ACTOR,
            replace_token=True,
            now=T0,
        )
    assert old_ciphertext not in what_the_database_keeps(backend, engine)


def test_after_a_removal_the_token_is_nowhere_in_the_database(
    backend: str, engine: Engine, cipher: TokenCipher
) -> None:
    token = make_token("acme")
    ciphertext = _register(engine, cipher, "acme", token)
    neighbour = _register(engine, cipher, "bakker", make_token("bakker"))
    assert ciphertext in what_the_database_keeps(backend, engine)

    with session_scope(engine) as session:
        remove_org(session, "acme", actor="U0ADMIN", now=T0)

    kept = what_the_database_keeps(backend, engine)
    assert neighbour in kept
    assert ciphertext not in kept
    for form in _forms(token):
        assert form not in kept


def test_a_rolled_back_rotation_leaves_the_token_and_nothing_marked(
    engine: Engine, cipher: TokenCipher
) -> None:
    """The checkpoint belongs to a commit that destroyed something, not to a later one."""
    ciphertext = _register(engine, cipher, "acme", make_token("old"))
    with make_session_factory(engine)() as session:
        replace_token(session, "acme", token=make_token("new"), cipher=cipher, actor=ACTOR)
        assert session.info != {}
        session.rollback()
        assert session.info == {}
        assert get_org(session, "acme").token_ciphertext.encode() == ciphertext


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_sqlite_wal_is_empty_after_a_destroying_commit(
    backend: str, engine: Engine, cipher: TokenCipher
) -> None:
    _register(engine, cipher, "acme", make_token("acme"))
    path = Path(make_url(str(engine.url)).database)
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    with session_scope(engine) as session:
        remove_org(session, "acme", actor="U0ADMIN", now=T0)
    assert not wal.exists() or wal.stat().st_size == 0
