"""What ``/metrics`` reads from the database at scrape time: the orgs per state, the open
incidents, and the outbox's undelivered messages (how many, and since when the oldest waits).

Three aggregate queries (orgs ``GROUP BY`` state, a count of open incidents, a count and a
minimum over the unsent outbox), whatever the number of orgs: a scrape every 15 s costs the
database next to nothing. Only counts and times are read,
never a row's contents. Read-only: nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Incident, Org, OrgState, OutboxMessage

#: The label of orgs that were never checked (``current_state`` is empty).
NEVER_CHECKED: Final = "never"
#: Every state an org is counted in, so that each one is reported, at 0 when no org has it.
ORG_STATES: Final = (*(state.value for state in OrgState), NEVER_CHECKED)


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The database's part of a scrape. ``orgs_by_state`` holds every ``ORG_STATES`` label
    (and any state this version does not know, under its own name)."""

    orgs_by_state: Mapping[str, int]
    open_incidents: int
    outbox_depth: int
    oldest_undelivered_at: datetime | None

    def oldest_undelivered_age(self, now: datetime) -> float:
        """Seconds the oldest undelivered message has waited (0 when none waits)."""
        if self.oldest_undelivered_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_undelivered_at).total_seconds())


def metrics_snapshot(session: Session) -> MetricsSnapshot:
    """Count the orgs per state, the open incidents and the undelivered outbox messages."""
    by_state = dict.fromkeys(ORG_STATES, 0)
    rows = session.exec(select(Org.current_state, func.count()).group_by(Org.current_state))
    for state, count in rows:
        label = state or NEVER_CHECKED
        by_state[label] = by_state.get(label, 0) + count
    open_incidents = session.exec(
        select(func.count()).select_from(Incident).where(col(Incident.closed_at).is_(None))
    ).one()
    depth, oldest = session.exec(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.given_up_at).is_(None)
        )
    ).one()
    return MetricsSnapshot(
        orgs_by_state=by_state,
        open_incidents=open_incidents,
        outbox_depth=depth,
        oldest_undelivered_at=oldest,
    )
