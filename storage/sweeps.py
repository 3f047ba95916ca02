"""What ``afasbot sweep --once`` needs beside the scheduled sweep's own queries: every org made
due at once (``--all``), and how many messages the outbox still holds for Slack.

``--all`` does not lease orgs itself: it makes every org due now, as "Re-check now" does for one
org (``storage.checks.schedule_check``), and the ordinary sweep then claims them under the usual
leases (``storage.leases``) and puts each back on its grid when its check is recorded. So an org
another replica is checking at that moment is still checked once, by whoever holds its lease.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from storage.models import Org, OutboxMessage


def schedule_every_org(session: Session, *, at: datetime) -> int:
    """Make every org due at ``at`` (``sweep --all``), also one never scheduled; how many
    orgs there are. An org whose next check was already earlier keeps that time. Does not
    commit."""
    session.execute(
        update(Org)
        .where(or_(col(Org.next_check_at).is_(None), col(Org.next_check_at) > at))
        .values(next_check_at=at)
        .execution_options(synchronize_session=False)
    )
    return session.exec(select(func.count()).select_from(Org)).one()


def outbox_waiting(session: Session) -> int:
    """Messages not yet delivered that will still be tried (Slack refusing one for good gives
    it up: ``given_up_at``)."""
    return session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.given_up_at).is_(None))
    ).one()
