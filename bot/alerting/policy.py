"""When to open, resolve, remind, hold and release an org's incident. A pure function of the
situation: no database, no Slack, no clock (product.md "Alerting"; alerting.md §1.8).

- An incident opens after ``open_after`` consecutive bad checks (default 2): no flapping.
- It resolves after ``close_after`` consecutive good checks (default 1).
- An open incident nobody acknowledged is reminded every ``remind_every`` (default 24 h),
  counted from when it was announced.
- Mute keeps the record: a muted org still opens and resolves incidents; only the messages
  are held. The same for an unreachable org while AFAS is down for many orgs (the platform
  hold): its incident opens held, and the platform notice speaks for it.
- A held incident that was never announced is released (its opening alert is written) by
  the first bad check that finds the hold over (a good check that does not close it yet
  waits: a release says "still broken"); one that closes while never announced is closed
  without a word. An announced incident whose org is muted is held (no reminders, no cause
  changes) and released with one "mute ended" message. A recovery of an announced incident
  is always announced, muted or not: the channel shows the current truth.
Bad means failing or unreachable; degraded (a warning, such as a token expiring soon) is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

BAD_STATES = frozenset({"failing", "unreachable"})


class Decision(StrEnum):
    NOTHING = "nothing"
    OPEN = "open"  # held or not: ``hold_of`` says
    RESOLVE = "resolve"
    REMIND = "remind"
    HOLD = "hold"  # hold the open incident's messages (for ``hold_of``'s reason)
    RELEASE = "release"  # the hold is over: the opening alert, or "mute ended"


class Hold(StrEnum):
    MUTED = "muted"
    PLATFORM = "platform"


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
    announced_at: datetime | None = None  # None: never announced (held since it opened)
    held: str | None = None  # Hold's value, or None
    #: When the thread last heard it is still broken other than by a reminder (the end of a
    #: mute): the next reminder is a full ``remind_every`` after that.
    last_said_at: datetime | None = None

    @property
    def announced(self) -> bool:
        return self.announced_at is not None


@dataclass(frozen=True)
class Situation:
    recent: tuple[str, ...]  # overall states of the latest checks, newest first
    incident: OpenIncident | None
    muted: bool
    now: datetime
    #: AFAS is down for many orgs and this check could not reach it either.
    platform_down: bool = False


def hold_of(situation: Situation) -> Hold | None:
    """What holds a new incident's messages now: a mute first, then a platform outage."""
    if situation.muted:
        return Hold.MUTED
    if situation.platform_down:
        return Hold.PLATFORM
    return None


def decide(situation: Situation, policy: AlertPolicy = AlertPolicy()) -> Decision:
    recent, incident = situation.recent, situation.incident
    if incident is None:
        streak = recent[: policy.open_after]
        if len(streak) == policy.open_after and all(state in BAD_STATES for state in streak):
            return Decision.OPEN
        return Decision.NOTHING
    streak = recent[: policy.close_after]
    if len(streak) == policy.close_after and all(s not in BAD_STATES for s in streak):
        return Decision.RESOLVE
    broken_now = bool(recent) and recent[0] in BAD_STATES  # a release says "still broken"
    if not incident.announced:
        hold = hold_of(situation)
        if hold is None:
            return Decision.RELEASE if broken_now else Decision.NOTHING
        return Decision.HOLD if hold.value != incident.held else Decision.NOTHING
    # Announced: only a mute holds it (the platform notice comes after its own alert).
    if incident.held is not None:
        return Decision.RELEASE if broken_now and not situation.muted else Decision.NOTHING
    if situation.muted:
        return Decision.HOLD
    if not incident.acknowledged and situation.now - reminder_base(incident) >= policy.remind_every:
        return Decision.REMIND
    return Decision.NOTHING


def reminder_base(incident: OpenIncident) -> datetime:
    """Reminders wait ``remind_every`` from the opening alert, or from the last "still
    broken" the thread heard (an incident held by a mute for a day is not reminded the
    moment it is announced, nor right after the mute's end was said)."""
    base = incident.announced_at or incident.opened_at
    return max(base, incident.last_said_at) if incident.last_said_at else base


def reminder_number(incident: OpenIncident, now: datetime, policy: AlertPolicy) -> int:
    """Which reminder this is (1, 2, …): one per ``remind_every`` since the incident was
    announced, so a reminder is written once however many checks fall in that period (and
    a reminder due after a later ``last_said_at`` gets a number not used before)."""
    return int((now - (incident.announced_at or incident.opened_at)) / policy.remind_every)
