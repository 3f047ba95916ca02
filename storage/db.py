"""Engines and sessions for SQLite (the default, one file) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from storage.errors import StorageError

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///afasbot.sqlite3"

#: How long a SQLite writer waits for another one before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000


def default_database_url() -> str:
    """The default: a SQLite file ``afasbot.sqlite3`` in the working directory."""
    return DEFAULT_DATABASE_URL


class DatabaseUrlError(StorageError, ValueError):
    """The database URL is malformed or names a database afasbot cannot use. The message
    never repeats the URL: it may hold a password."""


#: The drivers afasbot ships with, by the names a URL may give them.
_SUPPORTED_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
SUPPORTED_URLS = "sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


def normalize_database_url(database_url: str | URL) -> URL:
    """The URL afasbot connects with, or ``DatabaseUrlError``: ``postgres://`` and
    ``postgresql://`` (as hosting platforms hand them out) map to psycopg 3, the only
    PostgreSQL driver afasbot ships with; SQLite's own driver for ``sqlite://``. Anything else
    (``mysql://``, another driver, a URL that does not parse) is refused here, in one line,
    rather than as an import error or a traceback from the first connection."""
    try:
        url = make_url(database_url)
        port = url.port
    except (ArgumentError, ValueError, TypeError):
        raise DatabaseUrlError(f"not a URL that can be read (expected {SUPPORTED_URLS})") from None
    driver = _SUPPORTED_DRIVERS.get(url.drivername.lower())
    if driver is None:
        raise DatabaseUrlError(
            f"{_shown(url.drivername)} is not a database afasbot supports (use {SUPPORTED_URLS})"
        )
    if driver == "sqlite" and (url.host or url.username or url.password or port):
        raise DatabaseUrlError(
            "a SQLite URL names a file, not a server: sqlite:///relative/path or "
            "sqlite:////absolute/path"
        )
    if port is not None and not 0 < port <= 65535:
        raise DatabaseUrlError(f"the port {port} is not a TCP port (1 to 65535)")
    return url.set(drivername=driver)


def _shown(scheme: str) -> str:
    """A scheme as an error may show it: short and printable (it comes from the operator)."""
    clean = "".join(c for c in scheme if c.isalnum() or c in "+-.")[:30]
    return repr(clean or "?")


def make_engine(database_url: str | URL, *, echo: bool = False) -> Engine:
    """An engine with afasbot's connection settings.

    SQLite: WAL (readers do not block the writer) with ``synchronous=NORMAL`` (SQLite's advice
    for WAL: no fsync per commit, which was a fifth of a scheduled check's CPU; a killed process
    loses nothing committed, a power cut may lose the last commits, never the file's
    consistency), foreign keys on (SQLite's default is off),
    a busy timeout (writers wait instead of failing), and ``secure_delete`` so that a removed
    org's ciphertext is overwritten in the file rather than left in a free page.
    PostgreSQL: psycopg 3 with pre-ping, so a replica survives a database restart.

    SQLite keeps the driver's own transaction handling on purpose: a transaction begins at the
    first write, so a read-then-write session never holds a stale read snapshot that would make
    its write fail at once with "database is locked" (it waits on the busy timeout instead).
    The price is that SAVEPOINTs are unreliable, so the repository never uses them (it uses
    ``INSERT ... ON CONFLICT DO NOTHING`` instead).
    """
    url = normalize_database_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                # Sessions are used from the scheduler's and Bolt's threads; each session
                # holds its own connection, never shared between threads at once.
                "check_same_thread": False,
            },
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


# --- making the files forget a destroyed token ----------------------------------------------

_ERASE_FREED = "afasbot.erase_freed_pages"


def erase_freed_after_commit(session: Session) -> None:
    """Mark ``session``: it overwrites or deletes a secret (a token replaced, an org removed),
    so once it commits the database's files must forget the old bytes (``erase_freed_pages``).

    Done on commit, not here, because until then the old row is still the committed truth; a
    rollback clears the mark. Every caller of the repository gets this, the CLI too.
    """
    session.info[_ERASE_FREED] = True


def erase_freed_pages(engine: Engine) -> bool:
    """Make a committed delete or overwrite final in the database's files; True when done.

    SQLite: every connection has ``secure_delete`` on, so a freed cell or page is zeroed when
    it is written; but the write goes to the write-ahead log first, and the WAL (and the main
    file, until a checkpoint copies the new page over it) still holds the old page.
    ``wal_checkpoint(TRUNCATE)`` copies every committed page into the main file and empties the
    WAL. It waits for readers (the busy timeout); when one still holds an old snapshot it
    reports busy, and the old page stays in the WAL until the next checkpoint: logged.

    PostgreSQL: nothing here. A dump (``pg_dump``) holds only live rows; the dead row stays in
    the table's files until autovacuum reuses its space, and in the server's WAL and base
    backups for as long as the operator keeps them.
    """
    if engine.dialect.name != "sqlite":
        return True
    try:
        with engine.connect() as connection:
            busy, _frames, _copied = connection.exec_driver_sql(
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).one()
    except DBAPIError as exc:
        log.warning("could not checkpoint the SQLite write-ahead log: %s", type(exc).__name__)
        return False
    if busy:
        log.warning(
            "the SQLite write-ahead log could not be emptied (a reader is busy): the replaced "
            "or removed token's old page stays in it until the next checkpoint"
        )
        return False
    return True


@event.listens_for(OrmSession, "after_commit")
def _erase_after_commit(session: OrmSession) -> None:
    if session.info.pop(_ERASE_FREED, False):
        erase_freed_pages(session.get_bind().engine)


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_after_rollback(session: OrmSession, _previous: Any) -> None:
    session.info.pop(_ERASE_FREED, None)


def insert_for(session: Session, table: Any) -> Any:
    """An ``INSERT`` that supports ``ON CONFLICT DO NOTHING`` on the session's database."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"afasbot supports SQLite and PostgreSQL, not {name}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (``expire_on_commit=False``), so that
    repository results can be used after the session is closed."""
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    with make_session_factory(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
