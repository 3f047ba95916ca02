"""Migration 0007 (retention) on SQLite and PostgreSQL: runs stored before it keep their items
and are read as before; the downgrade gives shared runs their items back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from storage import schema
from storage.checks import org_history, record_check_run
from storage.db import make_engine
from storage.models import Org

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ITEMS = '[{"requirement_id": "token", "status": "ok", "details": {"n": 1}}]'
_ORG = (
    "INSERT INTO orgs (key, display_name, env_number, env_kind, token_ciphertext, token_key_id,"
    " token_fingerprint, notes, check_interval_seconds, created_by, created_at, updated_by,"
    " updated_at) VALUES ('acme', 'Org', '10001', 'production', 'gAAAAAc', 'k1', 'f', '',"
    " NULL, 'test', '2026-12-01 09:00:00+00:00', 'test', '2026-12-01 09:00:00+00:00')"
)
_RUN = (
    "INSERT INTO check_runs (org_id, trigger, started_at, duration_ms, overall_state, items,"
    " summary) SELECT id, 'schedule', '2026-12-01 09:00:00+00:00', 5, 'healthy', :items, 'ok'"
    " FROM orgs"
)


def _run(url: str, statement: str, **values) -> list:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), values)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _downgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = schema.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_runs_from_before_keep_their_items_and_new_runs_share(database_url: str) -> None:
    schema.upgrade(database_url, "0006")
    _run(database_url, _ORG)
    _run(database_url, _RUN, items=ITEMS)
    schema.upgrade(database_url)
    rows = _run(database_url, "SELECT items_digest, items_shared FROM check_runs")
    assert [(digest, bool(shared)) for digest, shared in rows] == [(None, False)]
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            org = session.exec(select(Org)).one()
            for minutes in (15, 30):
                record_check_run(
                    session,
                    org,
                    trigger="schedule",
                    started_at=T0 + timedelta(minutes=minutes),
                    duration_ms=5,
                    overall_state="healthy",
                    items=[{"requirement_id": "token", "status": "ok", "details": {"n": 1}}],
                )
            session.commit()
            history = org_history(session, "acme")
            # the old run has no digest: the first new one holds the items, the next shares
            assert [run.items_shared for run in history] == [True, False, False]
            assert all(run.items == history[-1].items for run in history)
    finally:
        engine.dispose()


def test_the_downgrade_gives_shared_runs_their_items_back(database_url: str) -> None:
    schema.upgrade(database_url)
    _run(database_url, _ORG)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            org = session.exec(select(Org)).one()
            for minutes in (0, 15, 30):
                record_check_run(
                    session,
                    org,
                    trigger="schedule",
                    started_at=T0 + timedelta(minutes=minutes),
                    duration_ms=5,
                    overall_state="healthy",
                    items=[{"requirement_id": "token", "status": "ok"}],
                )
            session.commit()
    finally:
        engine.dispose()
    _downgrade(database_url, "0006")
    assert schema.current_revision(database_url) == "0006"
    items = _run(database_url, "SELECT items FROM check_runs ORDER BY id")
    decoded = [value if isinstance(value, list) else json.loads(value) for (value,) in items]
    assert decoded == [[{"requirement_id": "token", "status": "ok"}]] * 3
    engine = make_engine(database_url)
    try:
        inspector = inspect(engine)
        assert "check_days" not in inspector.get_table_names()
        columns = {c["name"] for c in inspector.get_columns("check_runs")}
        assert not columns & {"items_digest", "items_shared"}
    finally:
        engine.dispose()
    schema.upgrade(database_url)  # and up again
    assert schema.current_revision(database_url) == schema.head_revision()
