"""Fixtures shared by every room: databases on SQLite and PostgreSQL.

PostgreSQL is expected at 127.0.0.1:5432 (user postgres, trust auth). Tests create their own
``afasbot_test_<random>`` databases through the ``postgres`` maintenance database and drop
them afterwards: a fresh, empty one for each migration test, and one migrated database per run
whose tables are emptied before each test (creating a database costs about 0.35 s; emptying
the tables, milliseconds). Without a server the postgres variants are skipped with a line that
says so, unless ``AFASBOT_REQUIRE_POSTGRES=1`` (CI) makes that a failure.

Tests that read ``../shared`` (the project's shared folder beside the repository: Slack's
manifest schema) ask for ``shared_dir``: on a lone clone they are skipped with that reason,
unless ``AFASBOT_REQUIRE_SHARED=1`` (CI) makes it a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

from afas.sandbox.scenario import Scenario, default_scenario
from afas.sandbox.server import SandboxServer
from storage import schema
from storage.models import metadata

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_UNREACHABLE = (
    f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}; "
    "set AFASBOT_REQUIRE_POSTGRES=1 to make this a failure"
)
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


def prerequisite_missing(
    reason: str, *, required_by: str, environ: Mapping[str, str] | None = None
) -> NoReturn:
    """Skip a test whose prerequisite is missing, saying why; fail instead when the variable
    ``required_by`` is 1 (CI), so that CI cannot pass by skipping what it must run."""
    env = os.environ if environ is None else environ
    if env.get(required_by) == "1":
        pytest.fail(f"{reason}, and {required_by}=1", pytrace=False)
    pytest.skip(f"{reason}; set {required_by}=1 to make this a failure")


def require_shared_dir(path: Path = SHARED_DIR, environ: Mapping[str, str] | None = None) -> Path:
    """``path`` (``../shared``) if it is there; else skip, or fail with AFASBOT_REQUIRE_SHARED=1."""
    if not path.is_dir():
        prerequisite_missing(
            f"{path} not found (a lone clone, without ../shared beside it)",
            required_by="AFASBOT_REQUIRE_SHARED",
            environ=environ,
        )
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository; see ``require_shared_dir``."""
    return require_shared_dir()


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user="postgres",
        dbname="postgres",
        autocommit=True,
        connect_timeout=3,
    )


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[psycopg.Connection]:
    """An autocommit connection to the maintenance database, or skip/fail without a server."""
    try:
        connection = _admin_connection()
    except psycopg.OperationalError as exc:
        if os.environ.get("AFASBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} and AFASBOT_REQUIRE_POSTGRES=1: "
                f"{exc}",
                pytrace=False,
            )
        pytest.skip(PG_UNREACHABLE)
    with connection:
        yield connection


@contextmanager
def _postgres_database(admin: psycopg.Connection) -> Iterator[str]:
    """A new, empty database, dropped afterwards; yields its URL."""
    name = f"afasbot_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_migrated(postgres_admin: psycopg.Connection) -> Iterator[str]:
    """One database per run, migrated to head; tests share it with emptied tables."""
    with _postgres_database(postgres_admin) as url:
        schema.upgrade(url)
        yield url


def empty_tables(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user="postgres", dbname=dbname, autocommit=True
    ) as connection:
        # A connection leaked by an earlier test would make this wait: fail instead.
        connection.execute("SET lock_timeout = '5s'")
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of its own (dropped after the test)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'afasbot.sqlite3'}"
        return
    with _postgres_database(request.getfixturevalue("postgres_admin")) as url:
        yield url


@pytest.fixture
def migrated_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database at the head revision with empty tables. Tests that change the
    schema itself use ``database_url`` and migrate it themselves."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'afasbot.sqlite3'}"
        schema.upgrade(url)
        return url
    url = request.getfixturevalue("postgres_migrated")
    empty_tables(url)
    return url


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return default_scenario()


@pytest.fixture(scope="session")
def sandbox(scenario: Scenario) -> Iterator[SandboxServer]:
    """The AFAS sandbox with the built-in scenario, over real HTTP on loopback."""
    with SandboxServer(scenario) as server:
        yield server
