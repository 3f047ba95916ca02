"""AFAS itself down: one platform alert instead of one alert per org (product.md "Alerting").

The verdict looks at every org's latest check within a window (checks are spread over the
interval, so one sweep sees only a few orgs): when at least ``min_orgs`` of them, and at least
``share`` of those checked, could not reach AFAS (unreachable: network failures, 5xx,
maintenance, unreadable answers, never 401 or 403), AFAS is taken to be down. While it is, an
unreachable org opens no incident of its own; one platform message says so, and one more when
AFAS answers again. Token and setup failures are per-customer facts and always alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import CheckRun, Org, OutboxMessage
from storage.repository import enqueue_outbox

UNREACHABLE = "unreachable"
PLATFORM_DOWN = "platform.down"
PLATFORM_UP = "platform.up"
EXAMPLES = 5


@dataclass(frozen=True)
class PlatformPolicy:
    min_orgs: int = 3
    share: float = 0.5
    window: timedelta = timedelta(minutes=20)


@dataclass(frozen=True)
class PlatformView:
    checked: int
    unreachable: tuple[str, ...]  # org keys

    def down(self, policy: PlatformPolicy) -> bool:
        count = len(self.unreachable)
        return count >= policy.min_orgs and count >= policy.share * self.checked


def platform_view(session: Session, *, now: datetime, policy: PlatformPolicy) -> PlatformView:
    """Every org's latest check since ``now - window``."""
    latest = (
        select(CheckRun.org_id, func.max(CheckRun.started_at).label("at"))
        .where(col(CheckRun.started_at) >= now - policy.window)
        .group_by(CheckRun.org_id)
        .subquery()
    )
    rows = session.exec(
        select(Org.key, CheckRun.overall_state)
        .join(latest, (CheckRun.org_id == latest.c.org_id) & (CheckRun.started_at == latest.c.at))
        .join(Org, Org.id == CheckRun.org_id)
        .order_by(Org.key)
    ).all()
    states = {key: state for key, state in rows}
    return PlatformView(
        checked=len(states),
        unreachable=tuple(key for key, state in states.items() if state == UNREACHABLE),
    )


def platform_is_down(session: Session) -> bool:
    """Whether the last platform message said AFAS is down (and no recovery followed)."""
    last = _last_platform_message(session)
    return last is not None and last.kind == PLATFORM_DOWN


def update_platform(session: Session, *, now: datetime, policy: PlatformPolicy) -> str | None:
    """Write a platform message when the verdict changes; returns its kind, or None."""
    view = platform_view(session, now=now, policy=policy)
    last = _last_platform_message(session)
    was_down = last is not None and last.kind == PLATFORM_DOWN
    is_down = view.down(policy)
    if is_down == was_down:
        return None
    payload: dict[str, Any] = {
        "checked": view.checked,
        "unreachable": len(view.unreachable),
        "examples": list(view.unreachable[:EXAMPLES]),
        "at": now.isoformat(),
    }
    if is_down:
        enqueue_outbox(
            session,
            kind=PLATFORM_DOWN,
            payload=payload,
            dedup_key=f"platform:down:{now.isoformat()}",
            now=now,
        )
        return PLATFORM_DOWN
    payload["down_since"] = last.payload.get("at")
    enqueue_outbox(
        session, kind=PLATFORM_UP, payload=payload, dedup_key=f"platform:up:{last.id}", now=now
    )
    return PLATFORM_UP


def _last_platform_message(session: Session) -> OutboxMessage | None:
    return session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.kind).in_((PLATFORM_DOWN, PLATFORM_UP)))
        .order_by(col(OutboxMessage.id).desc())
    ).first()
