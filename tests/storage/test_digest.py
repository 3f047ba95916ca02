"""The daily digest's facts (storage/digest.py), on SQLite and PostgreSQL: what the last 24
hours held, read from data written through the storage functions at explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from storage.crypto import TokenCipher
from storage.digest import (
    DigestIncidentRow,
    DigestMuteRow,
    DigestTokenRow,
    Listing,
    digest_facts,
    open_drift_warnings,
    outbox_has,
    token_expires_at,
)
from storage.models import Org
from storage.repository import (
    close_incident,
    enqueue_outbox,
    mute_org,
    open_incident,
    record_check_run,
)
from tests.storage.helpers import register

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam


def expiry_item(expires_at: datetime | None, finding: str = "soon") -> dict:
    """The token expiry item as afas/diagnosis.py stores it (``ReportItem.to_dict``)."""
    details = {"expires_at": expires_at.isoformat()} if expires_at else {}
    return {
        "requirement_id": "token-expiry",
        "kind": "token_expiry",
        "status": "warning" if expires_at else "unknown",
        "finding": finding if expires_at else "unknown",
        "details": details,
    }


def check(session: Session, org: Org, at: datetime, state: str, *items: dict) -> None:
    record_check_run(
        session,
        org,
        trigger="schedule",
        started_at=at,
        duration_ms=100,
        overall_state=state,
        items=list(items),
    )


def incident(session: Session, org: Org, opened: datetime, closed: datetime | None) -> None:
    opened_incident, _ = open_incident(session, org, kind="org", opened_at=opened)
    if closed is not None:
        close_incident(session, opened_incident.id, closed_at=closed)


def test_the_facts_of_the_last_day(session: Session, cipher: TokenCipher) -> None:
    acme = register(session, cipher, "acme", display_name="Acme B.V.")
    beta = register(session, cipher, "beta", display_name="Beta")
    core = register(session, cipher, "core", display_name="Core")
    dusk = register(session, cipher, "dusk", display_name="Dusk")
    register(session, cipher, "eden", display_name="Eden")  # never checked
    # Incidents: acme's began yesterday and ended in the window; beta's is open; core's began
    # and ended in the window; dusk's ended just before it.
    incident(session, acme, NOW - timedelta(hours=30), NOW - timedelta(hours=2))
    incident(session, beta, NOW - timedelta(hours=5), None)
    incident(session, core, NOW - timedelta(hours=3), NOW - timedelta(hours=1))
    incident(session, dusk, NOW - timedelta(hours=26), NOW - timedelta(hours=24, minutes=1))
    # Mutes: beta's runs on, core's ran out an hour ago.
    mute_org(session, "beta", until=NOW + timedelta(hours=2), actor="U0ALICE", now=NOW)
    mute_org(session, "core", until=NOW - timedelta(hours=1), actor="U0BOB", now=NOW)
    # Token expiries as the latest check read them: acme in 5 days; beta's latest check could
    # not read it (an older one had it); core expired yesterday; dusk's is 20 days away.
    check(session, acme, NOW - timedelta(hours=1), "degraded", expiry_item(NOW + timedelta(days=5)))
    check(session, beta, NOW - timedelta(hours=8), "degraded", expiry_item(NOW + timedelta(days=3)))
    check(session, beta, NOW - timedelta(hours=1), "failing", expiry_item(None))
    check(session, core, NOW - timedelta(hours=1), "failing", expiry_item(NOW - timedelta(days=1)))
    check(session, dusk, NOW - timedelta(hours=1), "healthy", expiry_item(NOW + timedelta(days=20)))
    session.commit()

    facts = digest_facts(session, now=NOW, expiry_warning=timedelta(days=14))

    assert facts.since == NOW - timedelta(hours=24)
    assert facts.until == NOW
    assert dict(facts.counts.by_state) == {
        "failing": 2,
        "unreachable": 0,
        "degraded": 1,
        "never": 1,
        "healthy": 1,
    }
    assert facts.counts.open_incidents == 1
    assert facts.opened == Listing(
        (
            DigestIncidentRow("beta", "Beta", NOW - timedelta(hours=5), None),
            DigestIncidentRow("core", "Core", NOW - timedelta(hours=3), NOW - timedelta(hours=1)),
        ),
        2,
    )
    assert facts.resolved == Listing(
        (
            DigestIncidentRow(
                "acme", "Acme B.V.", NOW - timedelta(hours=30), NOW - timedelta(hours=2)
            ),
            DigestIncidentRow("core", "Core", NOW - timedelta(hours=3), NOW - timedelta(hours=1)),
        ),
        2,
    )
    assert facts.muted == Listing(
        (DigestMuteRow("beta", "Beta", NOW + timedelta(hours=2), "U0ALICE"),), 1
    )
    assert facts.expiring == Listing(
        (
            DigestTokenRow("core", "Core", NOW - timedelta(days=1), NOW - timedelta(hours=1)),
            DigestTokenRow("acme", "Acme B.V.", NOW + timedelta(days=5), NOW - timedelta(hours=1)),
        ),
        2,
    )
    assert facts.drift == Listing((), 0)
    assert not facts.quiet


def test_a_day_with_nothing_to_tell_is_quiet_even_with_orgs_in_every_state(
    session: Session, cipher: TokenCipher
) -> None:
    orgs = {key: register(session, cipher, key) for key in ("acme", "beta", "core")}
    for key, state in [("acme", "healthy"), ("beta", "failing"), ("core", "degraded")]:
        check(session, orgs[key], NOW - timedelta(hours=1), state)
    incident(session, orgs["beta"], NOW - timedelta(days=3), NOW - timedelta(days=2))  # long over
    session.commit()
    facts = digest_facts(session, now=NOW)
    assert facts.counts.by_state["failing"] == 1
    assert facts.quiet


def test_an_incident_open_since_last_week_is_news(session: Session, cipher: TokenCipher) -> None:
    incident(session, register(session, cipher, "acme"), NOW - timedelta(days=7), None)
    session.commit()
    facts = digest_facts(session, now=NOW)
    assert not facts.opened and not facts.resolved
    assert facts.counts.open_incidents == 1
    assert not facts.quiet


def test_a_mute_alone_or_a_token_alone_is_news(session: Session, cipher: TokenCipher) -> None:
    acme = register(session, cipher, "acme")
    mute_org(session, "acme", until=NOW + timedelta(minutes=1), actor="U0ALICE", now=NOW)
    session.commit()
    assert not digest_facts(session, now=NOW).quiet
    mute_org(session, "acme", until=None, actor="U0ALICE", now=NOW)
    check(
        session, acme, NOW - timedelta(hours=1), "degraded", expiry_item(NOW + timedelta(days=14))
    )
    session.commit()
    facts = digest_facts(session, now=NOW, expiry_warning=timedelta(days=14))
    assert facts.expiring.total == 1
    assert not facts.quiet
    later = digest_facts(session, now=NOW, expiry_warning=timedelta(days=13))
    assert later.expiring.total == 0 and later.quiet


def test_each_list_reads_at_most_its_limit_and_counts_the_rest(
    session: Session, cipher: TokenCipher
) -> None:
    for n in range(7):
        org = register(session, cipher, f"org{n}")
        incident(session, org, NOW - timedelta(hours=10 - n), NOW - timedelta(hours=1))
        mute_org(session, org.key, until=NOW + timedelta(hours=n + 1), actor="cli:ops", now=NOW)
        check(
            session, org, NOW - timedelta(hours=1), "degraded", expiry_item(NOW + timedelta(days=n))
        )
    session.commit()
    facts = digest_facts(session, now=NOW, limit=3)
    for listing in (facts.opened, facts.resolved, facts.muted, facts.expiring):
        assert listing.total == 7
        assert len(listing.items) == 3
    assert [row.org_key for row in facts.opened.items] == ["org0", "org1", "org2"]
    assert [row.org_key for row in facts.muted.items] == ["org0", "org1", "org2"]
    assert [row.org_key for row in facts.expiring.items] == ["org0", "org1", "org2"]


def test_the_latest_check_decides_the_token_expiry(session: Session, cipher: TokenCipher) -> None:
    acme = register(session, cipher, "acme")
    check(session, acme, NOW - timedelta(days=2), "degraded", expiry_item(NOW + timedelta(days=2)))
    # The token was replaced: the latest check reads a date far away.
    check(
        session, acme, NOW - timedelta(hours=1), "healthy", expiry_item(NOW + timedelta(days=300))
    )
    session.commit()
    assert digest_facts(session, now=NOW).expiring == Listing((), 0)


def test_outbox_has_tells_whether_a_days_digest_was_written(session: Session) -> None:
    assert not outbox_has(session, "digest:2026-12-01")
    enqueue_outbox(session, kind="digest", payload={}, dedup_key="digest:2026-12-01", now=NOW)
    session.commit()
    assert outbox_has(session, "digest:2026-12-01")
    assert not outbox_has(session, "digest:2026-12-02")


def test_the_drift_hook_has_nothing_until_drift_exists(session: Session) -> None:
    assert open_drift_warnings(session) == Listing((), 0)
    assert not open_drift_warnings(session)


def test_token_expires_at_reads_the_stored_item() -> None:
    at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert token_expires_at([{"kind": "ip"}, expiry_item(at)]) == at
    assert token_expires_at(
        [{"kind": "token_expiry", "details": {"expires_at": "2026-12-05"}}]
    ) == (datetime(2026, 12, 5, tzinfo=UTC))  # a date alone, as AFAS may give it: midnight UTC
    assert token_expires_at([expiry_item(None)]) is None
    assert token_expires_at([{"kind": "token_expiry", "details": {"expires_at": "soon"}}]) is None
    assert token_expires_at([{"kind": "token_expiry", "finding": "none", "details": {}}]) is None
    assert token_expires_at([]) is None
    assert token_expires_at(None) is None
