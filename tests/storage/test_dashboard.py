"""The App Home dashboard's queries: counts per state, one page of orgs worst first with their
open incident and mute, on SQLite and PostgreSQL, for 1,500 orgs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, insert
from sqlmodel import Session

from storage.crypto import TokenCipher
from storage.dashboard import (
    NEVER_CHECKED,
    STATE_ORDER,
    DashboardPage,
    dashboard_counts,
    dashboard_page,
)
from storage.models import Org
from storage.repository import (
    acknowledge_incident,
    close_incident,
    get_org,
    mute_org,
    open_incident,
)
from tests.storage.helpers import ACTOR, ENV, T0, make_token

#: The states the bulk orgs cycle through; "weird" is a state this version does not know.
CYCLE = ("healthy", "failing", None, "degraded", "unreachable", "healthy", "weird")


def bulk_state(index: int) -> str | None:
    return CYCLE[index % len(CYCLE)]


def insert_orgs(
    session: Session, cipher: TokenCipher, count: int, *, now: datetime = T0
) -> list[str]:
    """``count`` orgs in one statement (registering each through AFAS would take minutes):
    keys ``org-0000``…, states cycling through ``CYCLE``, every tenth muted (every twentieth
    with a mute that ran out). Commits; returns the keys."""
    ciphertext, key_id = cipher.encrypt(make_token("bulk"))
    rows = []
    for index in range(count):
        state = bulk_state(index)
        mute_until = None
        if index % 10 == 0:
            mute_until = now + (timedelta(hours=2) if index % 20 == 0 else -timedelta(hours=1))
        rows.append(
            {
                "key": f"org-{index:04d}",
                "display_name": f"Org {index} B.V.",
                "env_number": ENV.number,
                "env_kind": ENV.kind.value,
                "token_ciphertext": ciphertext,
                "token_key_id": key_id,
                "token_fingerprint": "bulk",
                "check_interval_seconds": 900,
                "next_check_at": now + timedelta(days=1),
                "mute_until": mute_until,
                "muted_by": ACTOR if mute_until else None,
                "current_state": state,
                "last_checked_at": now - timedelta(minutes=index % 60) if state else None,
                "created_by": ACTOR,
                "created_at": now,
                "updated_by": ACTOR,
                "updated_at": now,
            }
        )
    session.execute(insert(Org), rows)
    session.commit()
    return [row["key"] for row in rows]


def rank(state: str | None) -> int:
    return STATE_ORDER.index(state if state in STATE_ORDER else NEVER_CHECKED)


def all_pages(session: Session, *, state: str | None = None, size: int = 25) -> list[DashboardPage]:
    first = dashboard_page(session, page=0, page_size=size, now=T0, state=state)
    return [first] + [
        dashboard_page(session, page=n, page_size=size, now=T0, state=state)
        for n in range(1, first.page_count)
    ]


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session sends meanwhile."""
    seen: list[str] = []
    engine = session.get_bind()

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_1500_orgs_counted_per_state_muted_and_with_incidents(session, cipher) -> None:
    keys = insert_orgs(session, cipher, 1500)
    for key in keys[:3]:
        open_incident(session, get_org(session, key), kind="org", opened_at=T0)
    session.commit()
    counts = dashboard_counts(session, now=T0)
    expected = Counter(
        (bulk_state(i) if bulk_state(i) in STATE_ORDER else NEVER_CHECKED) for i in range(1500)
    )
    assert dict(counts.by_state) == {state: expected[state] for state in STATE_ORDER}
    assert counts.by_state[NEVER_CHECKED] == 428  # None and "weird": 2 in every 7
    assert counts.total == 1500
    assert counts.muted == 75  # every twentieth: the other tenths ran out an hour ago
    assert counts.open_incidents == 3


def test_paging_reaches_every_org_once_worst_first(session, cipher) -> None:
    keys = insert_orgs(session, cipher, 1500)
    pages = all_pages(session)
    assert len(pages) == 60 and pages[0].page_count == 60
    assert [p.page for p in pages] == list(range(60))
    assert all(len(p.rows) == 25 for p in pages)
    shown = [row for page in pages for row in page.rows]
    assert sorted(row.key for row in shown) == sorted(keys)  # each once
    ranks = [rank(row.state) for row in shown]
    assert ranks == sorted(ranks)  # worst first across pages
    for group in STATE_ORDER:  # then by key within a state
        in_group = [row.key for row in shown if rank(row.state) == rank(group)]
        assert in_group == sorted(in_group)
    assert shown[0].state == "failing" and shown[-1].state == "healthy"
    assert {row.state for row in shown if row.key == "org-0006"} == {None}  # "weird": unknown


def test_a_filter_pages_through_its_state_only(session, cipher) -> None:
    insert_orgs(session, cipher, 1500)
    for state in STATE_ORDER:
        pages = all_pages(session, state=state, size=100)
        rows = [row for page in pages for row in page.rows]
        expected = sum(1 for i in range(1500) if rank(bulk_state(i)) == rank(state))
        assert len(rows) == len({r.key for r in rows}) == expected == pages[0].matching
        assert {rank(r.state) for r in rows} == {rank(state)}
        assert pages[0].counts.total == 1500  # the counts are never filtered
    with pytest.raises(ValueError):
        dashboard_page(session, page=0, page_size=25, now=T0, state="'; drop table orgs")


def test_a_page_out_of_range_is_the_nearest_page(session, cipher) -> None:
    insert_orgs(session, cipher, 60)
    assert dashboard_page(session, page=-3, page_size=25, now=T0).page == 0
    last = dashboard_page(session, page=10**9, page_size=25, now=T0)
    assert (last.page, last.page_count, len(last.rows), last.first_index) == (2, 3, 10, 50)
    with pytest.raises(ValueError):
        dashboard_page(session, page=0, page_size=1000, now=T0)


def test_no_orgs_is_one_empty_page(session) -> None:
    page = dashboard_page(session, page=4, page_size=25, now=T0)
    assert (page.page, page.page_count, page.matching, list(page.rows)) == (0, 1, 0, [])
    assert page.counts.total == 0 and page.counts.muted == 0


def test_a_page_is_a_few_queries_and_never_reads_a_token(session, cipher) -> None:
    insert_orgs(session, cipher, 1500)
    with statements(session) as seen:
        page = dashboard_page(session, page=30, page_size=25, now=T0)
    assert len(page.rows) == 25
    assert len(seen) <= 6  # count, page, its incidents, three counts: not one per org
    assert any("LIMIT" in s.upper() for s in seen)
    assert not any("token_ciphertext" in s for s in seen)


def test_the_open_incident_its_acknowledgement_and_the_mute_show(session, cipher) -> None:
    insert_orgs(session, cipher, 10)
    acme = get_org(session, "org-0001")  # failing
    incident, _ = open_incident(session, acme, kind="org", opened_at=T0 - timedelta(hours=3))
    acknowledge_incident(session, incident.id, actor="U0AGENT02", at=T0)
    open_incident(session, acme, kind="platform-inhibited", opened_at=T0 - timedelta(hours=1))
    old, _ = open_incident(session, get_org(session, "org-0003"), kind="org", opened_at=T0)
    close_incident(session, old.id, closed_at=T0)
    mute_org(session, "org-0001", until=T0 + timedelta(hours=4), actor="U0MUTER", now=T0)
    session.commit()
    rows = {row.key: row for row in dashboard_page(session, page=0, page_size=25, now=T0).rows}
    assert len(rows) == 10  # two open incidents, one row
    row = rows["org-0001"]
    assert (row.incident_opened_at, row.incident_acknowledged_by) == (
        T0 - timedelta(hours=3),
        "U0AGENT02",
    )
    assert (row.mute_until, row.muted_by, row.muted(T0)) == (
        T0 + timedelta(hours=4),
        "U0MUTER",
        True,
    )
    assert rows["org-0003"].incident_opened_at is None  # closed
    assert rows["org-0002"].incident_opened_at is None
