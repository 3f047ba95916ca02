"""Retention (storage/retention.py) on SQLite and PostgreSQL: runs past the retention period
become one row per org per day, and what the handover note computes from them (availability
over any window, the day strip, the incidents) is what it computed from the runs.

The history is simulated with bulk inserts: 60 days of checks every 15 minutes (with jitter,
failing episodes, a five-hour gap, a daylight saving change, an org checked hourly, one no
longer checked), shaped as ``record_check_run`` stores it (items held at a change, shared
otherwise)."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, insert
from sqlmodel import Session, col, select

from bot.services.handover import availability, day_strip, incident_spans
from storage.checks import SHARE_WITHIN, items_digest, org_history
from storage.crypto import TokenCipher
from storage.handover import check_states, compacted_history
from storage.incidents import org_incidents
from storage.models import CheckDay, CheckRun, Org
from storage.repository import close_incident, open_incident
from storage.retention import (
    HOLD_INTERVALS,
    MAX_RETENTION_DAYS,
    compact_old_runs,
    retention_cutoff,
)
from tests.storage.helpers import register

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 2, 14, 23, 0, tzinfo=UTC)  # midnight in Amsterdam; DST starts 29 March
DAYS = 60
NOW = START + timedelta(days=DAYS)
RETENTION = 30


@dataclass(frozen=True)
class Simulated:
    orgs: dict[str, Org]
    runs: int
    # (org id, started_at, state) of every run
    rows: list[tuple[int, datetime, str]]


def simulate(session: Session, cipher: TokenCipher, *, seed: int = 7) -> Simulated:
    """Four orgs: steady; flapping (failing episodes); hourly (a 1-hour interval, a gap);
    stopped (its checks ended 50 days ago)."""
    rng = random.Random(seed)
    orgs = {
        "steady": register(session, cipher, "steady"),
        "flapping": register(session, cipher, "flapping"),
        "hourly": register(session, cipher, "hourly", check_interval_seconds=3600),
        "stopped": register(session, cipher, "stopped"),
    }
    rows: list[tuple[int, datetime, str]] = []
    for key, org in orgs.items():
        step = timedelta(hours=1) if key == "hourly" else timedelta(minutes=15)
        end = START + timedelta(days=10) if key == "stopped" else NOW - timedelta(minutes=1)
        at, state = START + timedelta(seconds=rng.randint(0, 600)), "healthy"
        while at < end:
            if key == "flapping" and rng.random() < 0.02:
                state = rng.choice(["failing", "unreachable", "degraded", "healthy"])
            elif key != "flapping" and rng.random() < 0.002:
                state = "degraded" if state == "healthy" else "healthy"
            rows.append((org.id, at, state))
            at += step + timedelta(
                seconds=rng.randint(-40, 40), microseconds=rng.randint(0, 999_999)
            )
            if key == "hourly" and START + timedelta(days=20) <= at < START + timedelta(
                days=20, hours=5
            ):
                at += timedelta(hours=5)  # the bot was down
    _bulk_insert(session, rows)
    return Simulated(orgs, len(rows), rows)


def _bulk_insert(session: Session, rows: list[tuple[int, datetime, str]]) -> None:
    """As ``record_check_run`` would store them: items held when they change (the state
    decides them here) or when the previous run is older than SHARE_WITHIN."""
    values = []
    previous: dict[int, tuple[str, datetime]] = {}
    for org_id, at, state in sorted(rows, key=lambda row: row[1]):
        items = [{"requirement_id": "token", "status": state, "padding": "x" * 400}]
        digest = items_digest(json.dumps(items, separators=(",", ":")))
        last = previous.get(org_id)
        shared = last is not None and last[0] == digest and last[1] >= at - SHARE_WITHIN
        previous[org_id] = (digest, at)
        values.append(
            {
                "org_id": org_id,
                "trigger": "schedule",
                "started_at": at,
                "duration_ms": 100,
                "overall_state": state,
                "items": None if shared else items,
                "summary": state,
                "items_digest": digest,
                "items_shared": shared,
            }
        )
    for start in range(0, len(values), 2000):
        session.execute(insert(CheckRun.__table__), values[start : start + 2000])
    session.commit()


@dataclass(frozen=True)
class NoteFacts:
    availability: dict[str, tuple[timedelta, timedelta]]
    days: tuple
    incidents: tuple


WINDOWS = {
    "90 days": (NOW - timedelta(days=90), NOW),
    "30 days": (NOW - timedelta(days=30), NOW),
    "7 days": (NOW - timedelta(days=7), NOW),
    "across the cutoff": (NOW - timedelta(days=33, hours=5), NOW - timedelta(days=28, hours=2)),
    "inside the compacted part": (START + timedelta(days=12, hours=7), START + timedelta(days=19)),
    "the gap": (START + timedelta(days=20), START + timedelta(days=20, hours=8)),
}


def note_facts(session: Session, org: Org) -> NoteFacts:
    """What the handover note computes for ``org`` (bot/services/handover.py), over several
    windows, from the runs kept and the days compacted."""
    hold = HOLD_INTERVALS * timedelta(seconds=org.check_interval_seconds or 900)
    found = {}
    for name, (since, until) in WINDOWS.items():
        states = check_states(session, org.id, since=since, until=until)
        compacted = compacted_history(session, org.id, since=since, until=until)
        result = availability(states, since=since, until=until, hold=hold, spans=compacted.spans)
        found[name] = (result.available, result.covered)
    since = NOW - timedelta(days=90)
    states = check_states(session, org.id, since=since, until=NOW)
    compacted = compacted_history(session, org.id, since=since, until=NOW)
    days = day_strip(states, until=NOW, zone=ZONE, days=90, compacted=compacted.days)
    incidents = incident_spans(org_incidents(session, org.key, since=since), now=NOW)
    return NoteFacts(found, days, incidents)


def assert_same_facts(before: NoteFacts, after: NoteFacts) -> None:
    assert after.days == before.days
    assert after.incidents == before.incidents
    for name, (available, covered) in before.availability.items():
        got_available, got_covered = after.availability[name]
        # spans are stored to the millisecond: a millisecond per span at most
        assert abs(got_covered - covered) < timedelta(seconds=1), name
        assert abs(got_available - available) < timedelta(seconds=1), name
        if covered:
            assert abs(got_available / got_covered - available / covered) < 1e-6, name


def compact(session: Session, *, batch: int = 1000, **kw) -> int:
    return compact_old_runs(
        session,
        older_than=retention_cutoff(NOW, RETENTION, ZONE),
        batch=batch,
        zone=ZONE,
        **kw,
    )


def counts(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def day_rows(session: Session) -> list[tuple]:
    return [
        (d.org_id, d.day, d.checks, d.healthy, d.degraded, d.failing, d.unreachable,
         d.first_at, d.first_state, d.last_at, d.last_state, d.spans)
        for d in session.exec(select(CheckDay).order_by(CheckDay.org_id, CheckDay.day))
    ]  # fmt: skip


# -- the tests -------------------------------------------------------------------------------


def test_the_cutoff_keeps_whole_days_in_the_bots_zone_and_bounds_the_days() -> None:
    now = datetime(2026, 7, 10, 21, 30, tzinfo=UTC)  # 23:30 in Amsterdam
    assert retention_cutoff(now, 30, ZONE) == datetime(2026, 6, 9, 22, 0, tzinfo=UTC)
    assert retention_cutoff(now, 1, UTC) == datetime(2026, 7, 9, tzinfo=UTC)
    assert retention_cutoff(now, MAX_RETENTION_DAYS, UTC) < now
    for days in (0, -1, MAX_RETENTION_DAYS + 1):
        with pytest.raises(ValueError, match="1 to 3650 days"):
            retention_cutoff(now, days, UTC)


def test_compaction_keeps_30_days_of_runs_one_row_per_day_and_what_the_note_says(
    session: Session, cipher: TokenCipher
) -> None:
    sim = simulate(session, cipher)
    flapping = sim.orgs["flapping"]
    opened, _ = open_incident(session, flapping, kind="org", opened_at=START + timedelta(days=3))
    close_incident(session, opened.id, closed_at=START + timedelta(days=3, hours=2))
    session.commit()
    before = {key: note_facts(session, org) for key, org in sim.orgs.items()}
    cutoff = retention_cutoff(NOW, RETENTION, ZONE)
    old = [row for row in sim.rows if row[1] < cutoff]
    latest_per_org: dict[int, datetime] = {}
    for org_id, at, _ in sim.rows:
        latest_per_org[org_id] = max(at, latest_per_org.get(org_id, at))
    kept_latest = [row for row in old if row[1] == latest_per_org[row[0]]]

    compacted = compact(session)

    assert compacted == len(old) - len(kept_latest) and len(kept_latest) == 1  # "stopped"
    assert counts(session, CheckRun) == sim.runs - compacted
    gone = [row for row in old if row not in kept_latest]
    org_days = {(org_id, at.astimezone(ZONE).date()) for org_id, at, _ in gone}
    rows = session.exec(select(CheckDay)).all()
    assert {(row.org_id, row.day) for row in rows} == org_days
    assert sum(row.checks for row in rows) == compacted
    expected = Counter((o, at.astimezone(ZONE).date(), state) for o, at, state in gone)
    for row in rows:
        for state in ("healthy", "degraded", "failing", "unreachable"):
            assert getattr(row, state) == expected[(row.org_id, row.day, state)]
    # bounded: a row per org per compacted day, the runs of the last 30 days, the latest runs
    recent = sum(1 for _, at, _ in sim.rows if at >= cutoff)
    assert counts(session, CheckDay) + counts(session, CheckRun) <= len(org_days) + recent + len(
        sim.orgs
    )

    for key, org in sim.orgs.items():
        assert_same_facts(before[key], note_facts(session, org))
    assert compact(session) == 0  # again: nothing to do
    # the stopped org still has its last run, with its items, for the note and the digest
    (last,) = org_history(session, "stopped", limit=5)
    assert last.started_at == latest_per_org[sim.orgs["stopped"].id] and last.items


def test_small_batches_and_a_cutoff_inside_a_day_give_the_same_days(
    session: Session, cipher: TokenCipher
) -> None:
    """Partial days (a cutoff at noon, batches of 50 runs of 96-run days) are merged into the
    same rows."""
    sim = simulate(session, cipher)
    before = {key: note_facts(session, org) for key, org in sim.orgs.items()}
    noon = retention_cutoff(NOW, RETENTION + 5, ZONE) + timedelta(hours=12)
    step = compact_old_runs(session, older_than=noon, batch=50, zone=ZONE, max_batches=10)
    assert step == 50 * 10  # max_batches stops it; the next call goes on
    compact_old_runs(session, older_than=noon, batch=50, zone=ZONE)
    compact(session, batch=50)
    small = day_rows(session)

    session.exec(delete(CheckDay))  # type: ignore[call-overload]
    session.exec(delete(CheckRun))  # type: ignore[call-overload]
    session.commit()
    _bulk_insert(session, sim.rows)
    compact(session, batch=100_000)
    one_go = day_rows(session)

    assert [row[:11] for row in small] == [row[:11] for row in one_go]
    for a, b in zip(small, one_go, strict=True):
        assert [s[2] for s in a[11]] == [s[2] for s in b[11]]
        for x, y in zip(a[11], b[11], strict=True):
            assert abs(x[0] - y[0]) < 0.002 and abs(x[1] - y[1]) < 0.002
    for key, org in sim.orgs.items():
        assert_same_facts(before[key], note_facts(session, org))


def test_two_replicas_compacting_at_once_count_every_run_once(
    session: Session, new_session: Callable[[], Session], cipher: TokenCipher
) -> None:
    sim = simulate(session, cipher)
    before = {key: note_facts(session, org) for key, org in sim.orgs.items()}
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def replica() -> None:
        try:
            with new_session() as own:
                start.wait()
                results.append(compact(own, batch=50))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    cutoff = retention_cutoff(NOW, RETENTION, ZONE)
    expected = sum(1 for _, at, _ in sim.rows if at < cutoff) - 1  # "stopped"'s latest stays
    assert sum(results) == expected
    session.expire_all()
    assert session.exec(select(func.sum(CheckDay.checks))).one() == expected
    assert counts(session, CheckRun) == sim.runs - expected
    for key, org in sim.orgs.items():
        assert_same_facts(before[key], note_facts(session, org))


def test_items_held_by_a_compacted_run_move_to_a_run_that_shares_them(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    rows = [(org.id, START + timedelta(minutes=15 * n), "healthy") for n in range(96 * 40)]
    _bulk_insert(session, rows)  # unchanged items for 40 days: one run holds them
    runs_holding = select(func.count()).where(
        CheckRun.org_id == org.id, col(CheckRun.items_shared).is_(False)
    )
    assert session.exec(runs_holding).one() == 1
    compact(session)
    assert session.exec(runs_holding).one() == 1
    history = org_history(session, "acme", limit=96 * 40)
    assert history and all(run.items == history[0].items for run in history)
    assert history[0].items[0]["status"] == "healthy"
    (holder,) = session.exec(
        select(CheckRun).where(CheckRun.org_id == org.id, col(CheckRun.items_shared).is_(False))
    ).all()
    assert holder.started_at == min(run.started_at for run in history)


def test_removing_an_org_removes_its_compacted_days(session: Session, cipher: TokenCipher) -> None:
    org = register(session, cipher, "acme")
    _bulk_insert(session, [(org.id, START + timedelta(hours=n), "healthy") for n in range(24 * 40)])
    compact(session)
    assert counts(session, CheckDay) > 0
    session.exec(delete(Org).where(Org.id == org.id))  # type: ignore[call-overload]
    session.commit()
    assert counts(session, CheckDay) == 0
