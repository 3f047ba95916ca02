"""AFAS itself down: one platform alert instead of one alert per org (product.md "Alerting").

The verdict looks at every org's latest check within a window (checks are spread over the
interval, so one sweep sees only a few orgs): when at least ``min_orgs`` of them, and at least
``share`` of those checked, could not reach AFAS (unreachable: network failures, 5xx,
maintenance, unreadable answers, never 401 or 403), AFAS is taken to be down. The thresholds
are settings (``AFASBOT_PLATFORM_MIN_ORGS``, ``_SHARE``, ``_WINDOW_MINUTES``).

While it is down, an unreachable org's incident opens *held*: recorded, but not announced; one
platform message (in the ops channel) says so, and one more when AFAS answers again. The org's
first check after that releases its incident: still broken, it alerts as usual (its opening
time the true one); working again, it is closed without a word (bot/alerting/record.py). Token
and setup failures are per-customer facts and always alert.

The platform incident is one across replicas: its messages' dedup keys name the message they
follow (``platform:down:after:<id of the last platform.up, or 0>``, ``platform:up:<id of the
platform.down>``), so two replicas that see the same change at once write one message.
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
from bot.settings import Settings
from storage.models import OutboxMessage
from storage.repository import checked_since, enqueue_outbox, latest_outbox_message

EXAMPLES = 5


@dataclass(frozen=True)
class PlatformPolicy:
    min_orgs: int = 3
    share: float = 0.5
    window: timedelta = timedelta(minutes=20)

    @classmethod
    def from_settings(cls, settings: Settings) -> PlatformPolicy:
        return cls(
            min_orgs=settings.platform_min_orgs,
            share=settings.platform_share,
            window=timedelta(minutes=settings.platform_window_minutes),
        )


@dataclass(frozen=True)
class PlatformView:
    checked: int
    unreachable: tuple[str, ...]  # org keys

    def down(self, policy: PlatformPolicy) -> bool:
        count = len(self.unreachable)
        return count >= policy.min_orgs and count >= policy.share * self.checked


def platform_view(session: Session, *, now: datetime, policy: PlatformPolicy) -> PlatformView:
    """Every org's latest check since ``now - window``."""
    checked, unreachable = checked_since(
        session, now - policy.window, state=OverallState.UNREACHABLE.value
    )
    return PlatformView(checked=checked, unreachable=tuple(unreachable))


def _was_down(last: OutboxMessage | None) -> bool:
    return last is not None and last.kind == PLATFORM_DOWN


def platform_down(session: Session, *, now: datetime, policy: PlatformPolicy) -> bool:
    """Whether AFAS counts as down for holding an org's alert: the verdict says so now, or the
    last platform notice said it went down and none has said it answers again (so an org is
    released only after the platform incident is over)."""
    if platform_view(session, now=now, policy=policy).down(policy):
        return True
    return _was_down(latest_outbox_message(session, kinds=PLATFORM_KINDS))


def update_platform(
    session: Session, *, now: datetime, policy: PlatformPolicy, channel: str | None = None
) -> str | None:
    """Write a platform message (to ``channel``, the ops channel) when the verdict changes;
    returns its kind, or None (no change, or another replica wrote it already)."""
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
        "channel": channel,
    }
    if is_down:
        message: PlatformDown | PlatformUp = PlatformDown(**counts)
        dedup_key = f"platform:down:after:{last.id if last is not None else 0}"
    else:
        went_down = read_message(last.kind, last.payload)
        message = PlatformUp(**counts, down_since=getattr(went_down, "at", None))
        dedup_key = f"platform:up:{last.id}"
    enqueued = enqueue_outbox(
        session, kind=message.kind, payload=stored(message), dedup_key=dedup_key, now=now
    )
    return message.kind if enqueued.created else None
