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

from sqlmodel import Session

from afas.report import OverallState
from bot.alerting.messages import (
    PLATFORM_DOWN,
    PLATFORM_KINDS,
    PlatformDown,
    PlatformUp,
    read_message,
    stored,
)
from storage.models import OutboxMessage
from storage.repository import enqueue_outbox, latest_outbox_message, latest_states_since

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
    states = latest_states_since(session, now - policy.window)
    return PlatformView(
        checked=len(states),
        unreachable=tuple(
            key for key, state in states.items() if state == OverallState.UNREACHABLE
        ),
    )


def _was_down(last: OutboxMessage | None) -> bool:
    return last is not None and last.kind == PLATFORM_DOWN


def update_platform(session: Session, *, now: datetime, policy: PlatformPolicy) -> str | None:
    """Write a platform message when the verdict changes; returns its kind, or None."""
    view = platform_view(session, now=now, policy=policy)
    last = latest_outbox_message(session, kinds=PLATFORM_KINDS)
    is_down = view.down(policy)
    if is_down == _was_down(last):
        return None
    counts = {
        "checked": view.checked,
        "unreachable": len(view.unreachable),
        "examples": view.unreachable[:EXAMPLES],
        "at": now,
    }
    if is_down:
        message: PlatformDown | PlatformUp = PlatformDown(**counts)
        dedup_key = f"platform:down:{now.isoformat()}"
    else:
        went_down = read_message(last.kind, last.payload)
        message = PlatformUp(**counts, down_since=getattr(went_down, "at", None))
        dedup_key = f"platform:up:{last.id}"
    enqueue_outbox(
        session, kind=message.kind, payload=stored(message), dedup_key=dedup_key, now=now
    )
    return message.kind
