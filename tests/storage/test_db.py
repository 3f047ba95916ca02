from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from storage.db import (
    default_database_url,
    make_engine,
    normalize_database_url,
    session_scope,
)
from storage.models import AuditEvent
from tests.storage.helpers import T0


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u:p@db.example:5432/afas", "postgresql+psycopg"),
        ("postgresql://u:p@db.example/afas", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db.example/afas", "postgresql+psycopg"),
        ("sqlite:///afasbot.sqlite3", "sqlite"),
    ],
)
def test_postgres_urls_from_hosting_platforms_use_psycopg3(given: str, driver: str) -> None:
    url = normalize_database_url(given)
    assert url.drivername == driver
    assert url.database in ("afas", "afasbot.sqlite3")


def test_default_database_is_a_sqlite_file_in_the_working_directory() -> None:
    assert default_database_url() == "sqlite:///afasbot.sqlite3"


def test_sqlite_connections_use_wal_foreign_keys_busy_timeout_and_secure_delete(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") >= 5000
            assert pragma("secure_delete") == 1
    finally:
        engine.dispose()


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(AuditEvent(actor="a", action="kept", org_key=None, at=T0, details={}))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(AuditEvent(actor="a", action="dropped", org_key=None, at=T0, details={}))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        actions = session.execute(text("SELECT action FROM audit_events")).scalars().all()
    assert actions == ["kept"]


def test_objects_stay_readable_after_the_scope_closes(engine: Engine) -> None:
    with session_scope(engine) as session:
        event = AuditEvent(actor="a", action="kept", org_key=None, at=T0, details={"n": 1})
        session.add(event)
    assert event.id is not None and event.details == {"n": 1} and event.at == T0
