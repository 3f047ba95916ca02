"""Live watches (``/afas watch``): one per org, across replicas, and none that outlives its
process.

A watch is a row of ``watches`` (unique ``org_id``) leased by the replica running it, in the
vocabulary of ``storage.leases``: ``lease_owner`` and ``lease_until``, renewed at every
re-check. A second watch of the same org finds the row and is refused while its lease runs;
a row whose lease ran out belongs to a process that stopped (a watch survives nothing), so it
is taken over by the next ``/afas watch`` of that org, or ended by whichever replica's periodic
job finds it first. Taking over and ending are compare-and-set statements on the lease, so two
replicas never both end, or both take over, the same watch.

Functions flush and do not commit: the caller commits at once (other replicas must see a new
watch before its message is posted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage import leases
from storage.audit import add_audit_event
from storage.datetimes import utcnow
from storage.db import insert_for
from storage.models import Org, Watch


@dataclass(frozen=True)
class WatchMessage:
    """Where a watch's Slack message is (``ts`` None until posted), to edit it when the watch
    ends without its own process (a restart, a kill)."""

    watch_id: int
    org_id: int
    org_key: str
    channel: str
    ts: str | None
    language: str


@dataclass(frozen=True)
class WatchStart:
    """What ``start_watch`` found: the new watch, or the live one that refuses it (``busy``).
    ``replaced`` is the message of a dead watch taken over (to say that it ended)."""

    watch: Watch | None = None
    busy: Watch | None = None
    replaced: WatchMessage | None = None


class Renewal(StrEnum):
    RENEWED = "renewed"
    LOST = "lost"  # stopped elsewhere, or ended and taken over after the lease ran out
    ORG_GONE = "org_gone"  # the org was removed (its watch went with it)


def start_watch(
    session: Session,
    org: Org,
    *,
    channel: str,
    language: str,
    started_by: str,
    owner: str,
    duration: timedelta,
    lease_seconds: float,
    now: datetime | None = None,
) -> WatchStart:
    """Start watching ``org`` for ``owner``: a new row, or the row of a dead watch taken over;
    ``busy`` when a watch of the org is alive. Audited (``watch.started``)."""
    now = now or utcnow()
    values = {
        "channel": channel,
        "ts": None,
        "language": language,
        "started_by": started_by,
        "started_at": now,
        "ends_at": now + duration,
        "lease_owner": owner,
        "lease_until": now + timedelta(seconds=lease_seconds),
    }
    for _attempt in range(3):  # a row may come and go between the statements
        inserted = session.execute(
            insert_for(session, Watch)
            .values(org_id=org.id, **values)
            .on_conflict_do_nothing(index_elements=["org_id"])
            .returning(col(Watch.id))
        ).scalar_one_or_none()
        if inserted is not None:
            _audit_start(session, org, started_by, now, values["ends_at"], took_over=False)
            return WatchStart(watch=_fresh(session, inserted))
        existing = _watch_of(session, org.id)
        if existing is None:
            continue
        if existing.lease_until is not None and existing.lease_until > now:
            return WatchStart(busy=existing)
        replaced = WatchMessage(
            existing.id, org.id, org.key, existing.channel, existing.ts, existing.language
        )
        taken = session.execute(
            update(Watch)
            .where(col(Watch.id) == existing.id, leases.lease_is_free(Watch, now))  # type: ignore[arg-type]
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            _audit_start(session, org, started_by, now, values["ends_at"], took_over=True)
            return WatchStart(watch=_fresh(session, existing.id), replaced=replaced)
    busy = _watch_of(session, org.id)
    if busy is None:  # pragma: no cover - three rows came and went in between
        raise RuntimeError(f"could not start a watch of org {org.key}")
    return WatchStart(busy=busy)


def _audit_start(
    session: Session, org: Org, actor: str, now: datetime, ends_at: datetime, *, took_over: bool
) -> None:
    add_audit_event(
        session,
        actor=actor,
        action="watch.started",
        org_key=org.key,
        at=now,
        details={"until": ends_at.isoformat(), "took_over": took_over},
    )


def set_watch_message(
    session: Session, watch_id: int, *, owner: str, channel: str, ts: str
) -> bool:
    """Remember where the watch's message was posted; False when ``owner`` lost the watch."""
    statement = (
        update(Watch)
        .where(col(Watch.id) == watch_id, col(Watch.lease_owner) == owner)
        .values(channel=channel, ts=ts)
        .execution_options(synchronize_session=False)
    )
    changed = session.execute(statement).rowcount == 1
    session.flush()
    return changed


def renew_watch(
    session: Session,
    watch_id: int,
    org_id: int,
    *,
    owner: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> Renewal:
    """Extend ``owner``'s lease on its watch (at every re-check); why not, when it cannot."""
    now = now or utcnow()
    statement = (
        update(Watch)
        .where(col(Watch.id) == watch_id, col(Watch.lease_owner) == owner)
        .values(lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount == 1:
        session.flush()
        return Renewal.RENEWED
    if session.get(Org, org_id, populate_existing=True) is None:
        return Renewal.ORG_GONE
    return Renewal.LOST


def end_watch(session: Session, watch_id: int, *, owner: str) -> bool:
    """End ``owner``'s watch (healthy, time up, message gone); False when it was no longer
    ``owner``'s (stopped or taken over elsewhere: then its message is not ours to edit)."""
    statement = (
        delete(Watch)
        .where(col(Watch.id) == watch_id, col(Watch.lease_owner) == owner)
        .execution_options(synchronize_session=False)
    )
    ended = session.execute(statement).rowcount == 1
    session.flush()
    return ended


def find_watch(session: Session, watch_id: int) -> WatchMessage | None:
    """A watch by id (the Stop button's value), with its org key and message."""
    return next(iter(_messages(session, [col(Watch.id) == watch_id])), None)


def watch_of_org(session: Session, org_id: int) -> Watch | None:
    return _watch_of(session, org_id)


def stop_watch(
    session: Session, watch_id: int, *, ts: str, actor: str, now: datetime | None = None
) -> WatchMessage | None:
    """A person's Stop: end the watch whose message is ``ts``, whichever replica runs it (its
    loop notices at its next re-check). None when no such watch runs. Audited."""
    found = find_watch(session, watch_id)
    if found is None or found.ts != ts:
        return None
    statement = (
        delete(Watch)
        .where(col(Watch.id) == watch_id, col(Watch.ts) == ts)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        return None
    add_audit_event(
        session,
        actor=actor,
        action="watch.stopped",
        org_key=found.org_key,
        at=now or utcnow(),
        details={},
    )
    return found


def end_expired_watches(session: Session, *, now: datetime | None = None) -> list[WatchMessage]:
    """End every watch whose lease ran out (its process was killed); their messages, to say
    so. Each is ended by one replica only (the delete repeats the lease condition)."""
    now = now or utcnow()
    free = leases.lease_is_free(Watch, now)  # type: ignore[arg-type]
    return _delete_returning(session, _messages(session, [free]), [free])


def release_watches(session: Session, *, owner: str) -> list[WatchMessage]:
    """End every watch ``owner`` runs (its process is stopping); their messages."""
    mine = col(Watch.lease_owner) == owner
    return _delete_returning(session, _messages(session, [mine]), [mine])


# --- helpers ------------------------------------------------------------------------------


def _fresh(session: Session, watch_id: int) -> Watch:
    watch = session.get(Watch, watch_id, populate_existing=True)
    if watch is None:  # pragma: no cover - it was written in this transaction
        raise RuntimeError(f"watch {watch_id} vanished")
    return watch


def _watch_of(session: Session, org_id: int | None) -> Watch | None:
    return session.exec(
        select(Watch).where(Watch.org_id == org_id).execution_options(populate_existing=True)
    ).first()


def _messages(session: Session, conditions: Sequence[object]) -> list[WatchMessage]:
    rows = session.exec(
        select(Watch, Org.key)
        .join(Org, col(Org.id) == col(Watch.org_id))
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(col(Watch.id))
        .execution_options(populate_existing=True)
    ).all()
    return [
        WatchMessage(watch.id, watch.org_id, key, watch.channel, watch.ts, watch.language)
        for watch, key in rows
    ]


def _delete_returning(
    session: Session, found: list[WatchMessage], conditions: Sequence[object]
) -> list[WatchMessage]:
    if not found:
        return []
    statement = (
        delete(Watch)
        .where(col(Watch.id).in_([m.watch_id for m in found]), *conditions)  # type: ignore[arg-type]
        .returning(col(Watch.id))
        .execution_options(synchronize_session=False)
    )
    deleted = set(session.execute(statement).scalars().all())
    session.flush()
    return [message for message in found if message.watch_id in deleted]
