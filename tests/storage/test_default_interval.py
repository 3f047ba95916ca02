"""The default check interval as a setting: migration 0006 (orgs.check_interval_seconds may be
NULL; the old built-in default 900 becomes NULL, on SQLite without rebuilding ``orgs``, so
nothing cascades), and "no interval of its own" in the repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import schema
from storage.db import make_engine
from storage.orgs import (
    DEFAULT_CHECK_INTERVAL_SECONDS,
    FieldChange,
    add_org,
    edit_org,
    effective_interval,
    validate_settings,
)
from tests.storage.helpers import ACTOR, ENV, make_token

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
_ORG = (
    "INSERT INTO orgs (key, display_name, env_number, env_kind, token_ciphertext, token_key_id,"
    " token_fingerprint, notes, check_interval_seconds, created_by, created_at, updated_by,"
    " updated_at) VALUES (:key, 'Org', '10001', 'production', 'gAAAAAc', 'k1', 'f', '',"
    " :interval, 'test', '2026-12-01 09:00:00+00:00', 'test', '2026-12-01 09:00:00+00:00')"
)
_RUN = (
    "INSERT INTO check_runs (org_id, trigger, started_at, duration_ms, overall_state, items,"
    " summary) SELECT id, 'schedule', '2026-12-01 09:00:00+00:00', 5, 'healthy', '[]', 'ok'"
    " FROM orgs"
)


def _downgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = schema.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def _intervals(url: str) -> tuple[dict[str, int | None], int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT key, check_interval_seconds FROM orgs")).all()
            runs = connection.execute(text("SELECT count(*) FROM check_runs")).scalar_one()
    finally:
        engine.dispose()
    return dict(rows), runs


def _insert(url: str, statement: str, **values) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), values)
    finally:
        engine.dispose()


@pytest.mark.parametrize("start", ["0004", "0005"])
def test_the_old_default_becomes_null_and_nothing_else_changes(database_url, start) -> None:
    """From 0004 the upgrade runs 0005 first in the same transaction (so foreign keys cannot be
    switched off for 0006): the orgs' check runs must survive either way."""
    schema.upgrade(database_url, start)
    for key, interval in (("old-default", 900), ("own", 300), ("daily", 86400)):
        _insert(database_url, _ORG, key=key, interval=interval)
    _insert(database_url, _RUN)
    schema.upgrade(database_url, "0006")
    assert _intervals(database_url) == ({"old-default": None, "own": 300, "daily": 86400}, 3)
    _insert(database_url, _ORG, key="new", interval=None)  # NULL is allowed now
    assert _intervals(database_url)[0]["new"] is None


def test_the_downgrade_stores_900_again_and_requires_a_value(database_url) -> None:
    schema.upgrade(database_url, "0006")
    _insert(database_url, _ORG, key="follows", interval=None)
    _insert(database_url, _ORG, key="own", interval=600)
    _insert(database_url, _RUN)
    _downgrade(database_url, "0005")
    assert _intervals(database_url) == ({"follows": 900, "own": 600}, 2)
    with pytest.raises(IntegrityError):
        _insert(database_url, _ORG, key="nothing", interval=None)
    schema.upgrade(database_url, "0006")  # and up again
    assert _intervals(database_url) == ({"follows": None, "own": 600}, 2)


def test_the_upgraded_schema_matches_the_models(database_url) -> None:
    from tests.storage.test_schema import _diff

    schema.upgrade(database_url, "0005")
    schema.upgrade(database_url)
    assert _diff(database_url) == []


# -- the repository -------------------------------------------------------------------------


class _Settings:
    check_interval_seconds = 7200


def test_an_org_registered_without_an_interval_follows_the_default(session, cipher) -> None:
    org = add_org(
        session,
        key="acme",
        display_name="Acme",
        environment=ENV,
        token=make_token("acme"),
        cipher=cipher,
        actor=ACTOR,
        now=T0,
    ).org
    assert org.check_interval_seconds is None
    assert effective_interval(org, _Settings()) == 7200
    assert effective_interval(org, 600) == 600
    org.check_interval_seconds = 300
    assert effective_interval(org, _Settings()) == 300


def test_going_back_to_the_default_is_an_audited_edit(session, cipher) -> None:
    add_org(
        session,
        key="acme",
        display_name="Acme",
        environment=ENV,
        token=make_token("acme"),
        cipher=cipher,
        actor=ACTOR,
        check_interval_seconds=86400,
        now=T0,
    )
    edit = edit_org(
        session,
        "acme",
        actor=ACTOR,
        check_interval_seconds=None,
        default_interval_seconds=600,
        now=T0,
    )
    assert edit.changes == (FieldChange("check_interval_seconds", 86400, None),)
    assert edit.org.check_interval_seconds is None
    # The next check comes at most one (default) interval from now, not a day away.
    assert edit.org.next_check_at <= T0 + timedelta(seconds=600)
    assert edit_org(session, "acme", actor=ACTOR, check_interval_seconds=None).changes == ()
    assert validate_settings(check_interval_seconds=None) == {}
    assert DEFAULT_CHECK_INTERVAL_SECONDS == 900
