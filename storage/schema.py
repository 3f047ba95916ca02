"""Database schema versions: upgrade to head, read the current revision, refuse to run outdated.

Alembic is configured in code from this package's own files, so nothing depends on the working
directory. Migrations run on afasbot's engine (``storage.db.make_engine``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Engine

from storage.db import make_engine
from storage.errors import SchemaOutdatedError, SchemaTooNewError

_PACKAGE_DIR = Path(__file__).resolve().parent
UPGRADE_COMMAND = "afasbot db upgrade"
# Serialises concurrent `afasbot db upgrade` runs against one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x_AFA5_0001


def alembic_config() -> Config:
    """The alembic configuration of this package (script location set absolutely)."""
    config = Config(str(_PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(_PACKAGE_DIR / "migrations"))
    return config


def head_revision() -> str:
    """The newest revision this version of afasbot knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError("storage/migrations has no revisions")
    return head


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (the newest by default). Safe to run again."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(database_url: str) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    engine = make_engine(database_url)
    try:
        return _current_revision(engine)
    finally:
        engine.dispose()


def ensure_current(database_url: str) -> None:
    """Raise ``SchemaOutdatedError`` unless the database is at this version's head revision.

    Run at startup: afasbot never migrates on its own, so that several replicas (or an older
    one still running during a rollout) never race on the schema.
    """
    current = current_revision(database_url)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaOutdatedError(
            f"The database has no afasbot tables yet. Run `{UPGRADE_COMMAND}` to create them."
        )
    script = ScriptDirectory.from_config(alembic_config())
    if not _known(script, current):
        raise SchemaTooNewError(
            f"The database schema is at revision {current}, which this version of afasbot "
            f"does not know (it needs {head}); it was migrated by a newer afasbot. "
            "Run that version, or upgrade this one."
        )
    raise SchemaOutdatedError(
        f"The database schema is at revision {current}, this version of afasbot needs {head}. "
        f"Run `{UPGRADE_COMMAND}`."
    )


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
