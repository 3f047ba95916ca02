from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerting.policy import (
    AlertPolicy,
    Decision,
    Hold,
    OpenIncident,
    Situation,
    decide,
    hold_of,
    reminder_number,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = AlertPolicy()
STATES = st.sampled_from(["healthy", "degraded", "failing", "unreachable"])


def situation(*recent: str, incident=None, muted=False, now=NOW, platform=False) -> Situation:
    return Situation(recent=recent, incident=incident, muted=muted, now=now, platform_down=platform)


def open_since(hours: float, acknowledged=False, held=None) -> OpenIncident:
    """An announced incident (opened and announced ``hours`` ago), held by ``held`` if given."""
    opened = NOW - timedelta(hours=hours)
    return OpenIncident(
        id=7, opened_at=opened, acknowledged=acknowledged, announced_at=opened, held=held
    )


def held_since(hours: float, held: str) -> OpenIncident:
    """An incident that opened held ``hours`` ago and was never announced."""
    return OpenIncident(id=7, opened_at=NOW - timedelta(hours=hours), acknowledged=False, held=held)


@pytest.mark.parametrize(
    ("recent", "decision"),
    [
        (("failing",), Decision.NOTHING),  # one failure is not an incident
        (("failing", "failing"), Decision.OPEN),
        (("unreachable", "failing"), Decision.OPEN),
        (("failing", "healthy"), Decision.NOTHING),
        (("degraded", "degraded"), Decision.NOTHING),  # a warning is not an alert
        ((), Decision.NOTHING),
    ],
)
def test_opening(recent, decision) -> None:
    assert decide(situation(*recent)) is decision


def test_a_muted_org_still_opens_its_incident_held() -> None:
    muted = situation("failing", "failing", muted=True)
    assert decide(muted) is Decision.OPEN
    assert hold_of(muted) is Hold.MUTED
    assert hold_of(situation("failing", "failing")) is None
    assert hold_of(situation("unreachable", "unreachable", platform=True)) is Hold.PLATFORM
    assert hold_of(situation("unreachable", muted=True, platform=True)) is Hold.MUTED


def test_a_held_incident_is_released_when_its_hold_ends() -> None:
    muted = held_since(3, "muted")
    assert decide(situation("failing", incident=muted, muted=True)) is Decision.NOTHING
    assert decide(situation("failing", incident=muted)) is Decision.RELEASE
    # The mute ended while AFAS is down for many orgs: held on, now by the platform.
    assert decide(situation("unreachable", incident=muted, platform=True)) is Decision.HOLD
    platform = held_since(1, "platform")
    assert decide(situation("unreachable", incident=platform, platform=True)) is Decision.NOTHING
    assert decide(situation("unreachable", incident=platform)) is Decision.RELEASE
    assert decide(situation("failing", incident=platform, muted=True)) is Decision.HOLD
    # Good again: closed (the record), whatever the hold.
    assert decide(situation("healthy", incident=platform, platform=True)) is Decision.RESOLVE


def test_an_announced_incident_is_held_by_a_mute_only() -> None:
    assert decide(situation("failing", incident=open_since(2), muted=True)) is Decision.HOLD
    # AFAS going down after the alert was posted holds nothing: the alert is out already.
    assert decide(situation("unreachable", incident=open_since(2), platform=True)) is (
        Decision.NOTHING
    )
    held = open_since(30, held="muted")
    assert decide(situation("failing", incident=held, muted=True)) is Decision.NOTHING  # no remind
    assert decide(situation("failing", incident=held)) is Decision.RELEASE


def test_one_good_check_resolves_even_when_muted() -> None:
    assert decide(situation("healthy", "failing", incident=open_since(1))) is Decision.RESOLVE
    assert decide(situation("degraded", incident=open_since(1), muted=True)) is Decision.RESOLVE


def test_reminders_only_for_unacknowledged_unmuted_incidents_after_a_day() -> None:
    assert decide(situation("failing", incident=open_since(23))) is Decision.NOTHING
    assert decide(situation("failing", incident=open_since(25))) is Decision.REMIND
    assert decide(situation("failing", incident=open_since(25, acknowledged=True))) is (
        Decision.NOTHING
    )
    # Muted: held (no reminder), and held on without one.
    assert decide(situation("failing", incident=open_since(25), muted=True)) is Decision.HOLD
    held = open_since(25, held="muted")
    assert decide(situation("failing", incident=held, muted=True)) is Decision.NOTHING
    assert reminder_number(open_since(25), NOW, POLICY) == 1
    assert reminder_number(open_since(49), NOW, POLICY) == 2


def test_reminders_count_from_the_announcement() -> None:
    late = OpenIncident(
        id=7,
        opened_at=NOW - timedelta(hours=30),
        acknowledged=False,
        announced_at=NOW - timedelta(hours=2),  # held by a mute for 28 hours
    )
    assert decide(situation("failing", incident=late)) is Decision.NOTHING
    assert reminder_number(late, NOW + timedelta(hours=22), POLICY) == 1


@given(st.lists(STATES, max_size=6), st.booleans(), st.booleans(), st.booleans())
def test_never_opens_an_open_incident_or_resolves_a_closed_one(
    states, has_incident, muted, platform
):
    incident = open_since(2) if has_incident else None
    decision = decide(situation(*states, incident=incident, muted=muted, platform=platform))
    if has_incident:
        assert decision is not Decision.OPEN
    else:
        assert decision in (Decision.OPEN, Decision.NOTHING)
    if decision is Decision.OPEN:
        assert states[0] in ("failing", "unreachable") and states[1] in ("failing", "unreachable")


@given(st.integers(1, 4), st.integers(1, 4), st.lists(STATES, max_size=8))
def test_thresholds_are_respected(open_after, close_after, states):
    policy = AlertPolicy(open_after=open_after, close_after=close_after)
    opened = decide(situation(*states), policy) is Decision.OPEN
    assert opened == (
        len(states) >= open_after
        and all(s in ("failing", "unreachable") for s in states[:open_after])
    )
    resolved = decide(situation(*states, incident=open_since(1)), policy) is Decision.RESOLVE
    assert resolved == (
        len(states) >= close_after
        and all(s in ("healthy", "degraded") for s in states[:close_after])
    )


def test_a_reminder_waits_a_full_period_after_the_end_of_a_mute_was_said() -> None:
    said = OpenIncident(
        id=7,
        opened_at=NOW - timedelta(hours=41),
        acknowledged=False,
        announced_at=NOW - timedelta(hours=41),
        last_said_at=NOW - timedelta(hours=1),  # "the mute is over, still broken"
    )
    assert decide(situation("failing", incident=said)) is Decision.NOTHING
    later = NOW + timedelta(hours=23)
    assert decide(situation("failing", incident=said, now=later)) is Decision.REMIND
    assert reminder_number(said, later, POLICY) == 2  # a number not used before


def test_a_release_waits_for_a_bad_check() -> None:
    """With ``close_after`` 2, a good check after the mute does not close the incident yet;
    it does not announce it as broken either."""
    policy = AlertPolicy(close_after=2)
    held = held_since(3, "muted")
    assert decide(situation("healthy", "failing", incident=held), policy) is Decision.NOTHING
    assert decide(situation("failing", "healthy", incident=held), policy) is Decision.RELEASE
    announced = open_since(3, held="muted")
    assert decide(situation("degraded", "failing", incident=announced), policy) is (
        Decision.NOTHING
    )
    assert decide(situation("unreachable", incident=announced), policy) is Decision.RELEASE
