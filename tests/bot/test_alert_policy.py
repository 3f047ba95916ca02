from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerting.policy import (
    AlertPolicy,
    Decision,
    OpenIncident,
    Situation,
    decide,
    reminder_number,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = AlertPolicy()
STATES = st.sampled_from(["healthy", "degraded", "failing", "unreachable"])


def situation(*recent: str, incident=None, muted=False, now=NOW) -> Situation:
    return Situation(recent=recent, incident=incident, muted=muted, now=now)


def open_since(hours: float, acknowledged=False) -> OpenIncident:
    return OpenIncident(id=7, opened_at=NOW - timedelta(hours=hours), acknowledged=acknowledged)


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


def test_a_muted_org_opens_nothing_until_the_mute_ends() -> None:
    assert decide(situation("failing", "failing", muted=True)) is Decision.NOTHING
    assert decide(situation("failing", "failing", "failing")) is Decision.OPEN


def test_one_good_check_resolves_even_when_muted() -> None:
    assert decide(situation("healthy", "failing", incident=open_since(1))) is Decision.RESOLVE
    assert decide(situation("degraded", incident=open_since(1), muted=True)) is Decision.RESOLVE


def test_reminders_only_for_unacknowledged_unmuted_incidents_after_a_day() -> None:
    assert decide(situation("failing", incident=open_since(23))) is Decision.NOTHING
    assert decide(situation("failing", incident=open_since(25))) is Decision.REMIND
    assert decide(situation("failing", incident=open_since(25, acknowledged=True))) is (
        Decision.NOTHING
    )
    assert decide(situation("failing", incident=open_since(25), muted=True)) is Decision.NOTHING
    assert reminder_number(open_since(25), NOW, POLICY) == 1
    assert reminder_number(open_since(49), NOW, POLICY) == 2


@given(st.lists(STATES, max_size=6), st.booleans(), st.booleans())
def test_never_opens_an_open_incident_or_resolves_a_closed_one(states, has_incident, muted):
    incident = open_since(2) if has_incident else None
    decision = decide(situation(*states, incident=incident, muted=muted))
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
