"""When to open, resolve and remind an org's incident. A pure function of the situation:
no database, no Slack, no clock (product.md "Alerting"; alerting.md §1.8).

- An incident opens after ``open_after`` consecutive bad checks (default 2): no flapping.
- It resolves after ``close_after`` consecutive good checks (default 1).
- An open incident nobody acknowledged is reminded every ``remind_every`` (default 24 h).
- A muted org opens no incident and gets no reminder; a recovery is still announced.
Bad means failing or unreachable; degraded (a warning, such as a token expiring soon) is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

BAD_STATES = frozenset({"failing", "unreachable"})


class Decision(StrEnum):
    NOTHING = "nothing"
    OPEN = "open"
    RESOLVE = "resolve"
    REMIND = "remind"


@dataclass(frozen=True)
class AlertPolicy:
    open_after: int = 2
    close_after: int = 1
    remind_every: timedelta = timedelta(hours=24)

    @property
    def history_needed(self) -> int:
        return max(self.open_after, self.close_after)


@dataclass(frozen=True)
class OpenIncident:
    id: int
    opened_at: datetime
    acknowledged: bool


@dataclass(frozen=True)
class Situation:
    recent: tuple[str, ...]  # overall states of the latest checks, newest first
    incident: OpenIncident | None
    muted: bool
    now: datetime


def decide(situation: Situation, policy: AlertPolicy = AlertPolicy()) -> Decision:
    recent, incident = situation.recent, situation.incident
    if incident is None:
        streak = recent[: policy.open_after]
        if (
            not situation.muted
            and len(streak) == policy.open_after
            and all(state in BAD_STATES for state in streak)
        ):
            return Decision.OPEN
        return Decision.NOTHING
    streak = recent[: policy.close_after]
    if len(streak) == policy.close_after and all(s not in BAD_STATES for s in streak):
        return Decision.RESOLVE
    if (
        not incident.acknowledged
        and not situation.muted
        and situation.now - incident.opened_at >= policy.remind_every
    ):
        return Decision.REMIND
    return Decision.NOTHING


def reminder_number(incident: OpenIncident, now: datetime, policy: AlertPolicy) -> int:
    """Which reminder this is (1, 2, …): one per ``remind_every`` since the incident opened,
    so a reminder is written once however many checks fall in that period."""
    return int((now - incident.opened_at) / policy.remind_every)
