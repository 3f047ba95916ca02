"""Check runs and scheduling: recording a check, an org's history, and claiming due checks
across replicas (alerting.md §3.5, §3.6).

A run's items (about 12 KB of JSON) are serialised once, here: that text is both hashed into the
run's ``items_digest`` and, when needed, bound as the column's value as it is. A run whose
items are those of the org's previous run (the usual case: an org's setup rarely changes)
stores only the digest and ``items_shared``; the readers here give it the items of a run of the
same org that holds them (``resolve_items``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, case, exists, func, tuple_, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.expression import bindparam, insert, literal_column
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, col, select

from storage import leases
from storage.datetimes import UTCDateTime, utcnow
from storage.models import CheckRun, CheckTrigger, Org, OrgState, OutboxMessage
from storage.orgs import get_org

log = logging.getLogger(__name__)

#: A run shares its items only with a previous run this recent, so that the run holding them
#: is never older than the shortest retention (one day): ``storage.retention`` then always
#: finds a surviving run to move a compacted holder's items to.
SHARE_WITHIN = timedelta(hours=12)
#: Pairs per ``IN`` list when looking up the runs that hold items.
_LOOKUP_CHUNK = 500


class _SerialisedJSON(TypeDecorator[str]):
    """A JSON value the caller has already serialised: bound as it is (no second ``dumps``)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:  # type: ignore[override]
        return None


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A run just recorded: its id, and whether it shares the items of an earlier run."""

    id: int
    org_id: int
    started_at: datetime
    overall_state: str
    items_digest: str
    items_shared: bool


def items_digest(serialised: str) -> str:
    """The digest of a run's serialised items: 16 hex digits (BLAKE2b, 64 bits). Compared only
    within one org, among a handful of different item sets."""
    return hashlib.blake2b(serialised.encode(), digest_size=8).hexdigest()


def record_check_run(
    session: Session,
    org: Org,
    *,
    trigger: CheckTrigger | str,
    started_at: datetime,
    duration_ms: int,
    overall_state: OrgState | str,
    items: Sequence[dict[str, Any]],
    summary: str = "",
    update_org: bool = True,
) -> RecordedRun:
    """Store one check's result; by default also the org's ``current_state`` and
    ``last_checked_at`` (unless they hold these values already: ``finish_org_check`` can set
    them). ``items`` are the report's items as JSON-ready dicts.

    One ``INSERT``: it stores the items only when the org's latest run (of the last
    ``SHARE_WITHIN``) has other items, else the digest alone. Returns what was stored (not a
    ``CheckRun``: building a table model costs more than the insert)."""
    trigger = CheckTrigger(trigger)
    state = OrgState(overall_state)
    if org.id is None:
        raise ValueError("the org must be stored first")
    item_list = list(items)
    try:  # the one serialisation: the digest's input and, when stored, the column's value
        serialised = json.dumps(item_list, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"check items must be JSON-serialisable: {exc}") from None
    digest = items_digest(serialised)
    run_id, shared = session.execute(
        _INSERT_RUN,
        {
            "org_id": org.id,
            "trigger": trigger.value,
            "started_at": started_at,
            "duration_ms": int(duration_ms),
            "overall_state": state.value,
            "summary": summary,
            "items_digest": digest,
            "share_since": started_at - SHARE_WITHIN,
            "items_json": serialised,
        },
    ).one()
    if update_org and (org.current_state, org.last_checked_at) != (state.value, started_at):
        # Core, not the unit of work (which costs more than the insert); the org object is
        # told the new values as the database's own
        session.execute(
            _UPDATE_ORG, {"id_": org.id, "state": state.value, "checked_at": started_at}
        )
        set_committed_value(org, "current_state", state.value)
        set_committed_value(org, "last_checked_at", started_at)
    return RecordedRun(run_id, org.id, started_at, state.value, digest, bool(shared))


def _insert_run() -> Any:
    """``INSERT INTO check_runs ... SELECT``: the serialised items or JSON ``null``, as the
    org's latest run decides, in the same statement. Built once (building it per run cost
    more than the serialisation it saves)."""
    org_id = bindparam("org_id", type_=Integer)
    digest = bindparam("items_digest", type_=String)
    runs = CheckRun.__table__  # type: ignore[attr-defined]  # Core columns: no ORM path
    previous = (
        select(runs.c.items_digest.label("digest"), runs.c.started_at.label("at"))
        .where(runs.c.org_id == org_id)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc())
        .limit(1)
        .subquery("previous")
    )
    same = exists(
        select(literal_column("1"))
        .select_from(previous)
        .where(
            previous.c.digest == digest,
            previous.c.at >= bindparam("share_since", type_=UTCDateTime()),
        )
    )
    flag = select(same.label("shared")).subquery("flag")
    source = select(
        org_id,
        bindparam("trigger", type_=String),
        bindparam("started_at", type_=UTCDateTime()),
        bindparam("duration_ms", type_=Integer),
        bindparam("overall_state", type_=String),
        bindparam("summary", type_=Text),
        digest,
        flag.c.shared,
        case(
            (flag.c.shared, literal_column("'null'")),
            else_=bindparam("items_json", type_=_SerialisedJSON()),
        ),
    ).select_from(flag)
    columns = (
        "org_id",
        "trigger",
        "started_at",
        "duration_ms",
        "overall_state",
        "summary",
        "items_digest",
        "items_shared",
        "items",
    )
    return (
        insert(runs)  # Core: one row from the SELECT
        .from_select(columns, source)
        .returning(runs.c.id, runs.c.items_shared)
    )


_INSERT_RUN = _insert_run()
_ORGS = Org.__table__  # type: ignore[attr-defined]
_UPDATE_ORG = (
    update(_ORGS)
    .where(_ORGS.c.id == bindparam("id_", type_=Integer))
    .values(
        current_state=bindparam("state", type_=String),
        last_checked_at=bindparam("checked_at", type_=UTCDateTime()),
    )
)


def held_items(
    session: Session, wanted: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """The items of ``(org_id, items_digest)`` pairs, from a run of that org that holds them
    (one run per pair is read, through the index of such runs)."""
    pairs = sorted(set(wanted))
    found: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for start in range(0, len(pairs), _LOOKUP_CHUNK):
        chunk = pairs[start : start + _LOOKUP_CHUNK]
        one_each = (
            select(func.min(CheckRun.id))
            .where(
                col(CheckRun.items_shared).is_(False),
                tuple_(col(CheckRun.org_id), col(CheckRun.items_digest)).in_(chunk),
            )
            .group_by(col(CheckRun.org_id), col(CheckRun.items_digest))
        )
        rows = session.exec(
            select(CheckRun.org_id, CheckRun.items_digest, CheckRun.items).where(
                col(CheckRun.id).in_(one_each)
            )
        ).all()
        for org_id, digest, items in rows:
            found[(org_id, digest)] = items or []
    return found


def resolve_items(session: Session, runs: Iterable[CheckRun]) -> None:
    """Give each shared run among ``runs`` the items of the run holding them, in place and
    without making the run dirty (nothing is written back)."""
    shared = [run for run in runs if run.items_shared]
    if not shared:
        return
    found = held_items(session, ((run.org_id, run.items_digest or "") for run in shared))
    for run in shared:
        items = found.get((run.org_id, run.items_digest or ""))
        if items is None:  # pragma: no cover - retention keeps a holder for every digest
            log.warning(
                "check run %s: no run holds its items (digest %s)", run.id, run.items_digest
            )
        set_committed_value(run, "items", items or [])


def org_history(session: Session, key: str, limit: int = 20) -> list[CheckRun]:
    """An org's latest check runs, newest first, each with its items (``UnknownOrgError`` for
    an unknown key)."""
    org = get_org(session, key)
    query = (
        select(CheckRun)
        .where(CheckRun.org_id == org.id)
        .order_by(col(CheckRun.started_at).desc(), col(CheckRun.id).desc())
        .limit(limit)
    )
    runs = list(session.exec(query).all())
    resolve_items(session, runs)
    return runs


def recent_states(session: Session, org_id: int, *, limit: int) -> tuple[str, ...]:
    """The overall states of an org's latest ``limit`` check runs, newest first."""
    return tuple(session.execute(_RECENT_STATES, {"org_id": org_id, "limit": limit}).scalars())


def _recent_states() -> Any:
    """Built once: every scheduled check asks it (building it cost four times running it)."""
    runs = CheckRun.__table__  # type: ignore[attr-defined]
    return (
        select(runs.c.overall_state)
        .where(runs.c.org_id == bindparam("org_id", type_=Integer))
        .order_by(runs.c.started_at.desc(), runs.c.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


_RECENT_STATES = _recent_states()


def checked_since(session: Session, since: datetime, *, state: str) -> tuple[int, list[str]]:
    """How many orgs were last checked at ``since`` or later, and the keys (sorted) of those
    whose last check found ``state``. From the orgs' own ``last_checked_at`` and
    ``current_state`` (every recorded run sets them): grouping the runs of the window cost
    30 ms at 10,000 orgs, every few seconds."""
    recent = _ORGS.c.last_checked_at >= since
    checked = session.execute(select(func.count()).select_from(_ORGS).where(recent)).scalar_one()
    keys = session.execute(
        select(_ORGS.c.key).where(recent, _ORGS.c.current_state == state).order_by(_ORGS.c.key)
    ).scalars()
    return int(checked), list(keys)


def claim_due_orgs(
    session: Session,
    *,
    now: datetime,
    owner: str,
    lease_seconds: float,
    limit: int,
) -> list[Org]:
    """Lease up to ``limit`` orgs whose check is due, for ``owner`` (a replica id), soonest
    due first. Commits, so that other replicas see the lease before the (slow) check starts
    (``storage.leases``: how this is safe across replicas)."""
    ids = _claim_due_org_ids(
        session, now=now, owner=owner, lease_seconds=lease_seconds, limit=limit
    )
    orgs = list(session.exec(_CLAIMED_ORGS, params={"ids": ids}).all()) if ids else []
    session.commit()
    return orgs


def _claim_due_org_ids(
    session: Session, *, now: datetime, owner: str, lease_seconds: float, limit: int
) -> list[int]:
    """The claiming statement, without the commit (tests hold it open to race a second one)."""
    if limit <= 0:
        return []
    params = {
        "due_by": now,
        "now_": now,
        "until_": now + timedelta(seconds=lease_seconds),
        "owner_": owner,
        "limit_": limit,
    }
    return list(session.execute(_CLAIM_ORGS, params).scalars())


# Built once: the scheduler claims several times a second (building them cost more than an
# empty claim's query).
# The table's columns (``_ORGS``), not the model's attributes: those would make it an ORM
# statement, which costs more to run.
_CLAIM_ORGS = leases.claim_statement(
    Org,
    due=(_ORGS.c.next_check_at <= bindparam("due_by", type_=UTCDateTime()),),
    order_by=(_ORGS.c.next_check_at, _ORGS.c.id),
)
_CLAIMED_ORGS = (
    select(Org)
    .where(col(Org.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Org.next_check_at), col(Org.id))
    .execution_options(populate_existing=True)
)


def finish_org_check(
    session: Session,
    org_id: int,
    *,
    owner: str,
    next_check_at: datetime,
    state: OrgState | str | None = None,
    checked_at: datetime | None = None,
) -> bool:
    """Schedule the next check and drop ``owner``'s lease, in the caller's transaction (commit
    it together with the check run and any outbox rows). False when ``owner`` no longer holds
    the lease (it expired and another replica took the org): then nothing changes.

    With ``state`` and ``checked_at`` the same statement also sets the org's ``current_state``
    and ``last_checked_at`` (what ``record_check_run`` would otherwise update separately; it
    then finds them set and writes nothing)."""
    values: dict[str, Any] = {"next_check_at": next_check_at}
    if state is not None:
        values["current_state"] = OrgState(state).value
    if checked_at is not None:
        values["last_checked_at"] = checked_at
    return leases.release(session, Org, org_id, owner=owner, **values)


def release_leases(session: Session, *, owner: str) -> int:
    """Drop every lease ``owner`` holds, on orgs and outbox messages (on shutdown), so other
    replicas need not wait for them to expire. Returns how many were held. Does not commit."""
    return leases.release_all(session, Org, owner=owner) + leases.release_all(
        session, OutboxMessage, owner=owner
    )


def schedule_check(session: Session, org_id: int, *, at: datetime | None = None) -> None:
    """Make an org due at ``at`` (now by default), such as for "Re-check now"."""
    session.execute(
        update(Org)
        .where(col(Org.id) == org_id)
        .values(next_check_at=at or utcnow())
        .execution_options(synchronize_session="fetch")
    )
