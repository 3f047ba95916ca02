"""Storage tests run on SQLite (a file per test) and on PostgreSQL.

PostgreSQL is expected at 127.0.0.1:5432 (user postgres, trust auth). The tests create their
own ``afasbot_test_<random>`` databases through the ``postgres`` maintenance database and drop
them afterwards: a fresh, empty one for each migration test, and one migrated database per run
whose tables are emptied before each test (creating a database costs about 0.35 s; emptying
the tables, milliseconds). Without a server the postgres variants are skipped, unless
``AFASBOT_REQUIRE_POSTGRES=1`` (CI) makes that a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.crypto import TokenCipher, generate_key
from storage.db import make_engine, make_session_factory
from tests.conftest import empty_tables


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture
def new_session(engine: Engine) -> Callable[[], Session]:
    """A factory of further sessions on the same database (another "replica")."""
    return make_session_factory(engine)


@pytest.fixture
def postgres_engine(postgres_admin: psycopg.Connection, postgres_migrated: str) -> Iterator[Engine]:
    """The migrated PostgreSQL database, for behaviour only PostgreSQL has (row locks)."""
    empty_tables(postgres_migrated)
    engine = make_engine(postgres_migrated)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher.from_keys([generate_key()])
