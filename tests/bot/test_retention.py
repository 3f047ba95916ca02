"""Retention from the bot's side (bot/services/retention.py, ``afasbot db compact``): the
handover note of an org with a known history (tests/bot/test_handover_note.py) says exactly
the same once nearly all of its runs are compacted, and the command compacts and says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from bot.handover_markdown import handover_markdown
from bot.services.handover import load_note
from bot.services.retention import compact_history, retention_days
from storage.checks import record_check_run
from storage.db import make_engine
from storage.models import CheckDay, CheckRun, Org
from tests.bot.test_handover_note import NOW, seed


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_note_says_the_same_after_its_runs_are_compacted(runtime) -> None:
    seed(runtime)
    before = load_note(runtime, "acme", now=NOW)
    with runtime.session() as session:
        runs = count(session, CheckRun)
        done = compact_history(session, runtime.settings, days=1, now=NOW)
    # one day kept in full: everything before 25 November (Amsterdam) is compacted, the run
    # before the note's window too (its state still held when the window opened)
    assert done.older_than == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert done.runs == 9
    with runtime.session() as session:
        assert count(session, CheckRun) == runs - 9
        assert count(session, CheckDay) == 4  # 27 and 28 Oct (Amsterdam), 20 and 24 Nov
    after = load_note(runtime, "acme", now=NOW)
    assert after.availability == before.availability
    assert after.days == before.days
    assert after.incidents == before.incidents
    assert after.sections == before.sections and after.token_expiry == before.token_expiry
    for language in ("en", "nl"):
        assert handover_markdown(after, language=language) == handover_markdown(
            before, language=language
        )


def test_the_retention_is_the_setting_or_30_days(runtime) -> None:
    assert retention_days(runtime.settings) == getattr(runtime.settings, "retention_days", 30)

    class Custom:
        retention_days = 45

    assert retention_days(Custom()) == 45


def test_db_compact_compacts_what_is_older_than_the_days_given(cli, migrated_url) -> None:
    engine = make_engine(migrated_url)
    now = datetime.now(UTC)
    try:
        with Session(engine) as session:
            registered = cli.add("healthy")
            assert registered.exit_code == 0, registered.output
            org = session.exec(select(Org)).one()
            for hours in range(24 * 12, 0, -1):  # a check every hour for the last 12 days
                record_check_run(
                    session,
                    org,
                    trigger="schedule",
                    started_at=now - timedelta(hours=hours),
                    duration_ms=10,
                    overall_state="healthy",
                    items=[{"requirement_id": "token", "status": "ok"}],
                )
            session.commit()
            total = count(session, CheckRun)

        done = cli("db", "compact", "--days", "7")
        assert done.exit_code == 0, done.output
        assert "Compacted " in done.output and "(7 days are kept in full)" in done.output
        compacted = int(done.output.split("Compacted ", 1)[1].split()[0])
        assert 4 * 24 <= compacted <= 5 * 24 + 1  # 12 days back, 7 kept from a midnight
        with Session(engine) as session:
            assert count(session, CheckRun) == total - compacted
            assert session.exec(select(func.sum(CheckDay.checks))).one() == compacted

        again = cli("db", "compact", "--days", "7")
        assert again.exit_code == 0 and "Compacted 0 check runs" in again.output
        refused = cli("db", "compact", "--days", "0")
        assert refused.exit_code == 2
    finally:
        engine.dispose()
