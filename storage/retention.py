"""Retention: check runs older than the retention period are compacted into one ``CheckDay``
per org per day, which keeps what the history, the handover note's day strip and its
availability need: the day's checks by state, its first and last state, and the time its
checks covered with each state (``CheckDay.spans``).

Compaction deletes runs and adds their counts and spans to their day, in batches of committed
transactions. Each run is deleted by exactly one transaction (``DELETE ... RETURNING``: a run
another replica deleted first is not returned), and what a transaction adds to a day is made of
the runs it deleted, so two replicas compacting at once neither lose nor count a run twice, and
running it again does nothing. On PostgreSQL a transaction also takes the org's advisory lock
without waiting, and leaves an org another replica holds to that replica: two replicas never
work on one org at once, so they never wait on each other's rows (nor deadlock).

An org's runs are compacted oldest first, and its latest run is always kept (the note's setup
facts and the digest's token expiry read it). A run that holds items other runs share
(``storage.checks``) hands them to one of those first.

A run's span is the time from its start until the next run of the org started, but at most
``hold`` (``HOLD_INTERVALS`` check intervals): the handover note's availability rule. Days are
days in the zone given (the bot's); a span belongs to the day of the run that started it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, case, delete, func, null, text, update
from sqlmodel import Session, col, select

from storage.db import insert_for
from storage.models import CheckDay, CheckRun, Org, OrgState
from storage.orgs import DEFAULT_CHECK_INTERVAL_SECONDS

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650
#: A check's state counts for at most this many check intervals (the handover note's rule).
HOLD_INTERVALS = 2
#: Runs compacted per committed transaction, by default.
DEFAULT_BATCH = 5000
#: PostgreSQL advisory lock class of "compacting this org" (the second key is the org's id).
_PG_COMPACTING = 0x0AFA0007
_STATES = tuple(state.value for state in OrgState)

Span = tuple[datetime, datetime, str]


def retention_cutoff(now: datetime, days: int, zone: tzinfo = UTC) -> datetime:
    """Where compaction stops: the start (in ``zone``) of the day ``days`` days before
    ``now``'s day, so that at least ``days`` whole days of runs stay in full."""
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise ValueError(
            f"the retention is {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days, not {days}"
        )
    day = now.astimezone(zone).date() - timedelta(days=days)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class _Run:
    id: int
    started_at: datetime
    state: str


def compact_old_runs(
    session: Session,
    *,
    older_than: datetime,
    batch: int = DEFAULT_BATCH,
    zone: tzinfo = UTC,
    hold_intervals: int = HOLD_INTERVALS,
    default_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS,
    max_batches: int | None = None,
) -> int:
    """Compact every org's runs that started before ``older_than`` (except its latest run),
    committing every ``batch`` runs; at most ``max_batches`` transactions when given (the next
    call goes on where this one stopped). Returns how many runs were compacted."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    orgs = session.exec(select(Org.id, Org.check_interval_seconds).order_by(col(Org.id))).all()
    compacted = pending = batches = 0
    for org_id, interval in orgs:
        seconds = interval if interval is not None else default_interval_seconds
        hold = timedelta(seconds=hold_intervals * seconds)
        while True:
            room = batch - pending
            done = _compact_org(
                session, org_id, older_than=older_than, limit=room, hold=hold, zone=zone
            )
            compacted += done
            pending += done
            if pending >= batch:
                session.commit()
                pending = 0
                batches += 1
                if max_batches is not None and batches >= max_batches:
                    return compacted
            if done == 0:
                # Nothing left, or another replica deleted these first: it got some, so it
                # goes on with this org (whoever finds runs to compact tries again).
                break
    session.commit()
    if compacted:
        log.info("compacted %d check runs older than %s", compacted, older_than.isoformat())
    return compacted


def _compact_org(
    session: Session,
    org_id: int,
    *,
    older_than: datetime,
    limit: int,
    hold: timedelta,
    zone: tzinfo,
) -> int:
    """Delete up to ``limit`` of one org's oldest runs before ``older_than`` (never its latest)
    and add them to their days, in the caller's transaction. 0 when there are none, or
    another replica is compacting this org (it goes on with it)."""
    if not _claim_org(session, org_id):
        return 0
    latest = (
        select(func.max(CheckRun.started_at)).where(CheckRun.org_id == org_id).scalar_subquery()
    )
    oldest = (
        select(CheckRun.id)
        .where(
            CheckRun.org_id == org_id,
            col(CheckRun.started_at) < older_than,
            col(CheckRun.started_at) < latest,
        )
        .order_by(col(CheckRun.started_at), col(CheckRun.id))
        .limit(limit)
    )
    holds = and_(col(CheckRun.items_digest).is_not(None), col(CheckRun.items_shared).is_(False))
    table = CheckRun.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        delete(table)
        .where(table.c.id.in_(oldest))
        .returning(
            table.c.id,
            table.c.started_at,
            table.c.overall_state,
            table.c.items_digest,
            case((holds, table.c["items"]), else_=null()).label("held"),
        )
    ).all()
    if not rows:
        return 0
    runs = sorted((_Run(r.id, r.started_at, r.overall_state) for r in rows), key=_order)
    after = session.exec(
        select(func.min(CheckRun.started_at)).where(CheckRun.org_id == org_id)
    ).one()
    _add_to_days(session, org_id, runs, after=after, hold=hold, zone=zone)
    for row in rows:
        if row.held is not None:
            _hand_over_items(session, org_id, row.items_digest, row.held)
    return len(rows)


def _claim_org(session: Session, org_id: int) -> bool:
    """PostgreSQL: hold the org's compaction lock until the transaction ends, or say another
    transaction holds it (never wait: two replicas never work on one org at once, so they
    never wait on each other's rows and cannot deadlock). SQLite has one writer at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:kind, :org)"),
            {"kind": _PG_COMPACTING, "org": org_id},
        ).scalar_one()
    )


def _order(run: _Run) -> tuple[datetime, int]:
    return run.started_at, run.id


def run_spans(runs: Sequence[_Run], *, after: datetime | None, hold: timedelta) -> list[Span]:
    """Each run's span (see the module docstring), for runs in time order; ``after`` is when
    the run following the last one started (None: none follows)."""
    spans = []
    for index, run in enumerate(runs):
        following = runs[index + 1].started_at if index + 1 < len(runs) else after
        end = run.started_at + hold
        if following is not None:
            end = min(end, following)
        if end > run.started_at:
            spans.append((run.started_at, end, run.state))
    return spans


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """The spans in time order, touching or overlapping spans of one state made one."""
    merged: list[Span] = []
    for start, end, state in sorted(spans):
        if merged and merged[-1][2] == state and start <= merged[-1][1]:
            previous = merged[-1]
            merged[-1] = (previous[0], max(previous[1], end), state)
        else:
            merged.append((start, end, state))
    return merged


def encode_spans(spans: Iterable[Span]) -> list[list[Any]]:
    """Spans as stored: ``[start, end, state]``, epoch seconds to the millisecond."""
    return [[round(s.timestamp(), 3), round(e.timestamp(), 3), state] for s, e, state in spans]


def decode_spans(stored: Iterable[Sequence[Any]] | None) -> list[Span]:
    """Stored spans as aware UTC datetimes (malformed entries are skipped)."""
    spans = []
    for entry in stored or ():
        try:
            start, end, state = entry
            spans.append(
                (
                    datetime.fromtimestamp(float(start), UTC),
                    datetime.fromtimestamp(float(end), UTC),
                    str(state),
                )
            )
        except (TypeError, ValueError):
            continue
    return spans


def _add_to_days(
    session: Session,
    org_id: int,
    runs: Sequence[_Run],
    *,
    after: datetime | None,
    hold: timedelta,
    zone: tzinfo,
) -> None:
    by_day: dict[date, list[_Run]] = defaultdict(list)
    for run in runs:
        by_day[run.started_at.astimezone(zone).date()].append(run)
    spans_by_day: dict[date, list[Span]] = defaultdict(list)
    for span in run_spans(runs, after=after, hold=hold):
        spans_by_day[span[0].astimezone(zone).date()].append(span)
    for day, day_runs in sorted(by_day.items()):
        counts = {state: 0 for state in _STATES}
        for run in day_runs:
            if run.state in counts:
                counts[run.state] += 1
        first, last = day_runs[0], day_runs[-1]
        values = {
            "org_id": org_id,
            "day": day,
            "checks": len(day_runs),
            **counts,
            "first_at": first.started_at,
            "first_state": first.state,
            "last_at": last.started_at,
            "last_state": last.state,
            "spans": encode_spans(merge_spans(spans_by_day[day])),
        }
        inserted = session.execute(
            insert_for(session, CheckDay.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["org_id", "day"])
            .returning(CheckDay.__table__.c.id)  # type: ignore[attr-defined]
        ).first()
        if inserted is None:  # the day has compacted runs already: add these to them
            _merge_into(session, org_id, day, values)


def _merge_into(session: Session, org_id: int, day: date, values: dict[str, Any]) -> None:
    stored = session.exec(
        select(CheckDay).where(CheckDay.org_id == org_id, CheckDay.day == day).with_for_update()
    ).one()
    stored.checks += values["checks"]
    for state in _STATES:
        setattr(stored, state, getattr(stored, state) + values[state])
    if values["first_at"] < stored.first_at:
        stored.first_at, stored.first_state = values["first_at"], values["first_state"]
    if values["last_at"] >= stored.last_at:
        stored.last_at, stored.last_state = values["last_at"], values["last_state"]
    spans = decode_spans(stored.spans) + decode_spans(values["spans"])
    stored.spans = encode_spans(merge_spans(spans))
    session.add(stored)
    session.flush()


def _hand_over_items(session: Session, org_id: int, digest: str, items: Any) -> None:
    """A deleted run held items: give them to the earliest remaining run that shares them,
    unless another remaining run holds them too."""
    same = (CheckRun.org_id == org_id, CheckRun.items_digest == digest)
    still_held = session.exec(
        select(CheckRun.id).where(*same, col(CheckRun.items_shared).is_(False)).limit(1)
    ).first()
    if still_held is not None:
        return
    earliest_sharing = session.exec(
        select(CheckRun.id)
        .where(*same, col(CheckRun.items_shared))
        .order_by(col(CheckRun.started_at), col(CheckRun.id))
        .limit(1)
    ).first()
    if earliest_sharing is None:  # nothing shares them any more
        return
    session.execute(
        update(CheckRun)
        .where(col(CheckRun.id) == earliest_sharing)
        .values(items=items, items_shared=False)
        .execution_options(synchronize_session=False)
    )
