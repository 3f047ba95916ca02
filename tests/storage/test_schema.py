from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage import schema
from storage.db import make_engine
from storage.errors import SchemaOutdatedError, SchemaTooNewError
from storage.models import metadata

TABLES = {"orgs", "check_runs", "incidents", "audit_events", "outbox"}


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_from_an_empty_database(database_url: str) -> None:
    assert schema.current_revision(database_url) is None
    schema.upgrade(database_url)
    assert schema.current_revision(database_url) == schema.head_revision() == "0007"
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    schema.upgrade(database_url)
    schema.upgrade(database_url)
    assert schema.current_revision(database_url) == schema.head_revision()


def test_migrated_schema_matches_the_models_exactly(database_url: str) -> None:
    schema.upgrade(database_url)
    assert _diff(database_url) == []


def test_the_drift_comparison_does_notice_a_difference(database_url: str) -> None:
    """Guards the test above: an index missing from the database is reported."""
    schema.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_orgs_next_check_at"))
    finally:
        engine.dispose()
    diff = _diff(database_url)
    assert [entry[0] for entry in diff] == ["add_index"]


def test_ensure_current_refuses_an_empty_database_and_names_the_command(
    database_url: str,
) -> None:
    with pytest.raises(SchemaOutdatedError, match=r"`afasbot db upgrade`"):
        schema.ensure_current(database_url)


def test_ensure_current_refuses_an_outdated_database_and_names_the_command(
    database_url: str,
) -> None:
    schema.upgrade(database_url, "0001")
    with pytest.raises(SchemaOutdatedError) as raised:
        schema.ensure_current(database_url)
    message = str(raised.value)
    assert "0001" in message and "0007" in message and "`afasbot db upgrade`" in message


def test_ensure_current_passes_at_head(migrated_url: str) -> None:
    schema.ensure_current(migrated_url)


def test_ensure_current_refuses_a_database_migrated_by_a_newer_version(
    database_url: str,
) -> None:
    schema.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaTooNewError, match="newer afasbot"):
        schema.ensure_current(database_url)


def test_alembic_does_not_depend_on_the_working_directory(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert schema.head_revision() == "0007"
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    schema.upgrade(url)
    assert schema.current_revision(url) == "0007"


def test_upgrading_keeps_a_leased_outbox_message_leased(database_url: str) -> None:
    """0002 renames the outbox's lease columns; a message claimed before the upgrade keeps its
    lease (and its payload), so a rolling upgrade sends nothing twice."""
    schema.upgrade(database_url, "0001")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO outbox (kind, payload, dedup_key, created_at, not_before,"
                    " attempts, claimed_by, claimed_until) VALUES ('k', '{}', 'd',"
                    " '2026-12-01 10:00:00+00:00', '2026-12-01 10:00:00+00:00', 1, 'r1',"
                    " '2026-12-01 10:05:00+00:00')"
                )
            )
        schema.upgrade(database_url)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT lease_owner, attempts FROM outbox")).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("r1", 1)
