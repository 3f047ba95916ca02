"""Live watches on SQLite and PostgreSQL: one per org across replicas, a dead watch taken over
or ended by exactly one replica, and Stop ending a watch whichever replica runs it."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from storage.audit import audit_events
from storage.crypto import TokenCipher
from storage.repository import remove_org
from storage.watches import (
    Renewal,
    end_expired_watches,
    end_watch,
    find_watch,
    release_watches,
    renew_watch,
    set_watch_message,
    start_watch,
    stop_watch,
    watch_of_org,
)
from tests.storage.helpers import T0, register

LEASE = 120.0
DURATION = timedelta(minutes=20)


def start(session: Session, org, *, owner: str = "r1", now=T0, user: str = "U0SANNE"):
    result = start_watch(
        session,
        org,
        channel="C0HELPDESK",
        language="nl",
        started_by=user,
        owner=owner,
        duration=DURATION,
        lease_seconds=LEASE,
        now=now,
    )
    session.commit()
    return result


def test_a_second_watch_of_the_same_org_is_refused_on_another_replica(
    session: Session, new_session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    first = start(session, org)
    assert first.watch is not None and first.busy is None and first.replaced is None
    assert first.watch.ends_at == T0 + DURATION
    with new_session() as other:
        second = start(other, org, owner="r2", now=T0 + timedelta(seconds=30), user="U0PIM")
    assert second.watch is None
    assert second.busy is not None and second.busy.started_by == "U0SANNE"
    assert second.busy.started_at == T0
    [event] = [e for e in audit_events(session, org_key="acme") if e.action.startswith("watch.")]
    assert (event.action, event.actor, event.details["took_over"]) == (
        "watch.started",
        "U0SANNE",
        False,
    )


def test_a_watch_whose_lease_ran_out_is_taken_over_with_its_old_message(
    session: Session, new_session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    first = start(session, org)
    assert set_watch_message(session, first.watch.id, owner="r1", channel="C0HELPDESK", ts="1.1")
    session.commit()
    later = T0 + timedelta(seconds=LEASE + 1)  # r1 died: its lease ran out
    with new_session() as other:
        taken = start(other, org, owner="r2", now=later, user="U0PIM")
    assert taken.watch is not None and taken.watch.lease_owner == "r2"
    assert taken.watch.started_by == "U0PIM" and taken.watch.ts is None
    assert taken.replaced is not None
    assert (taken.replaced.channel, taken.replaced.ts, taken.replaced.org_key) == (
        "C0HELPDESK",
        "1.1",
        "acme",
    )
    # The dead owner can no longer touch it.
    assert renew_watch(session, first.watch.id, org.id, owner="r1", lease_seconds=LEASE) is (
        Renewal.LOST
    )
    assert not end_watch(session, first.watch.id, owner="r1")
    session.commit()
    assert watch_of_org(session, org.id).lease_owner == "r2"


def test_renewing_tells_a_lost_watch_from_a_removed_org(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    watch = start(session, org).watch
    renewed = renew_watch(
        session, watch.id, org.id, owner="r1", lease_seconds=LEASE, now=T0 + timedelta(minutes=1)
    )
    assert renewed is Renewal.RENEWED
    session.commit()
    assert watch_of_org(session, org.id).lease_until == T0 + timedelta(minutes=1, seconds=LEASE)
    assert renew_watch(session, watch.id, org.id, owner="r2", lease_seconds=LEASE) is Renewal.LOST
    remove_org(session, "acme", actor="U0ADMIN")
    session.commit()
    assert renew_watch(session, watch.id, org.id, owner="r1", lease_seconds=LEASE) is (
        Renewal.ORG_GONE
    )
    assert find_watch(session, watch.id) is None  # the watch went with its org


def test_stop_ends_the_watch_of_that_message_whoever_runs_it(
    session: Session, new_session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    watch = start(session, org).watch
    set_watch_message(session, watch.id, owner="r1", channel="C0HELPDESK", ts="1.1")
    session.commit()
    with new_session() as other:
        assert stop_watch(other, watch.id, ts="9.9", actor="U0PIM") is None  # not its message
        stopped = stop_watch(other, watch.id, ts="1.1", actor="U0PIM")
        other.commit()
    assert stopped is not None and stopped.org_key == "acme" and stopped.language == "nl"
    assert watch_of_org(session, org.id) is None
    assert renew_watch(session, watch.id, org.id, owner="r1", lease_seconds=LEASE) is Renewal.LOST
    assert [e.action for e in audit_events(session, org_key="acme")][:2] == [
        "watch.stopped",
        "watch.started",
    ]
    assert stop_watch(session, watch.id, ts="1.1", actor="U0PIM") is None  # once


def test_expired_watches_are_ended_once_and_live_ones_kept(
    session: Session, new_session, cipher: TokenCipher
) -> None:
    dead = register(session, cipher, "dead")
    alive = register(session, cipher, "alive")
    old = start(session, dead, owner="killed", now=T0).watch
    set_watch_message(session, old.id, owner="killed", channel="C0HELPDESK", ts="1.1")
    start(session, alive, owner="r1", now=T0 + timedelta(seconds=LEASE))
    session.commit()
    moment = T0 + timedelta(seconds=LEASE + 1)
    with new_session() as other:
        ended = end_expired_watches(other, now=moment)
        other.commit()
    assert [(m.org_key, m.ts) for m in ended] == [("dead", "1.1")]
    assert end_expired_watches(session, now=moment) == []  # another replica finds nothing
    assert watch_of_org(session, dead.id) is None
    assert watch_of_org(session, alive.id) is not None


def test_a_stopping_process_releases_only_its_own_watches(
    session: Session, cipher: TokenCipher
) -> None:
    mine = register(session, cipher, "mine")
    theirs = register(session, cipher, "theirs")
    start(session, mine, owner="r1")
    start(session, theirs, owner="r2")
    assert [m.org_key for m in release_watches(session, owner="r1")] == ["mine"]
    session.commit()
    assert watch_of_org(session, mine.id) is None
    assert watch_of_org(session, theirs.id) is not None
    assert not set_watch_message(session, 999, owner="r1", channel="C0X", ts="1.1")
