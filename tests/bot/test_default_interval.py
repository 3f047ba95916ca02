"""The default check interval (``AFASBOT_CHECK_INTERVAL_SECONDS``) wherever the interval is
read: the sweep's rescheduling, the handover note's "checks stopped", and the import's
progress bar (only on a terminal)."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.cli.import_commands import _progress
from bot.services.bulk_import import Outcome, RowResult
from bot.services.handover import helpdesk_tasks
from bot.sweep import sweep
from storage.models import CheckRun, Org
from storage.repository import add_org

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def test_the_sweep_reschedules_on_the_default_or_the_orgs_own_interval(
    make_runtime, sandbox, scenario
) -> None:
    runtime = make_runtime(sandbox.url_template, check_interval_seconds=7200)
    with runtime.session() as session:
        for name, interval in (("healthy", None), ("near-miss", 600)):
            env = scenario.by_name(name)
            org = add_org(
                session,
                key=name,
                display_name=name,
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
                check_interval_seconds=interval,
                now=NOW,
            ).org
            org.next_check_at = NOW
    async with runtime.afas_client() as client:
        result = await sweep(runtime, client, owner="replica-a", now=NOW)
    assert sorted(result.checked) == ["healthy", "near-miss"]
    with runtime.session() as session:
        due = {o.key: _aware(o.next_check_at) for o in session.exec(select(Org))}
    assert NOW + timedelta(seconds=3600) < due["healthy"] <= NOW + timedelta(seconds=10800)
    assert NOW + timedelta(seconds=300) < due["near-miss"] <= NOW + timedelta(seconds=900)


def _org(interval: int | None) -> Org:
    return Org(
        key="x",
        display_name="X",
        env_number="1",
        env_kind="test",
        token_ciphertext="c",
        token_key_id="k",
        token_fingerprint="f",
        check_interval_seconds=interval,
        alert_channel="C0A",
        cs_owner="U0CS",
        created_by="a",
        created_at=NOW,
        updated_by="a",
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("interval", "default", "stale"),
    [(None, 900, True), (None, 7200, False), (7200, 900, False), (900, 7200, True)],
)
def test_the_handover_note_judges_stale_checks_by_the_effective_interval(
    interval, default, stale
) -> None:
    """A check two hours old is stale at 15 minutes (3 intervals, at least an hour), not at 2
    hours: the org's own interval when it has one, else the default."""
    latest = CheckRun(
        org_id=1,
        trigger="schedule",
        started_at=NOW - timedelta(hours=2),
        duration_ms=1,
        overall_state="healthy",
    )
    tasks = helpdesk_tasks(
        _org(interval),
        latest=latest,
        token_readable=None,
        incidents=(),
        default_alert_channel=None,
        now=NOW,
        default_interval_seconds=default,
    )
    assert ("stale" in [task.code for task in tasks]) is stale


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_only_on_a_terminal_and_not_when_quiet(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with _progress("en", quiet=False) as bar:
        assert bar is None  # not a terminal
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _progress("en", quiet=True) as bar:
        assert bar is None
    with _progress("nl", quiet=False) as bar:
        assert bar is not None
        bar.start(2)
        for line in (2, 3):
            bar.advance(RowResult(line, f"org-{line}", Outcome.REGISTERED))
        bar.progress.refresh()
    shown = terminal.getvalue()
    assert "Tokens testen bij AFAS" in shown and "2/2" in shown
