"""Export runs and their records on SQLite and PostgreSQL: one unfinished live run per org
(across replicas), every record durable before the next step, clean-up only of a run nobody
is writing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from storage.crypto import TokenCipher
from storage.errors import ExportBusyError, UnsafeAuditDetailsError
from storage.repository import (
    export_records,
    finish_export_run,
    journal_record,
    latest_export_run,
    remove_org,
    start_export_run,
    take_over_export_run,
    unfinished_live_run,
)
from tests.storage.helpers import T0, register

LEASE = 600


def start(session: Session, org, run_id: str, mode: str = "live", owner: str = "r1", now=T0):
    return start_export_run(
        session,
        org,
        run_id=run_id,
        mode=mode,
        actor="sanne",
        owner=owner,
        lease_seconds=LEASE,
        now=now,
    )


def test_a_second_live_run_of_the_same_org_is_refused_by_another_replica(
    session: Session, new_session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    session.commit()
    start(session, org, "run-a")
    with new_session() as other:
        with pytest.raises(ExportBusyError) as busy:
            start(other, org, "run-b", owner="r2")
        assert busy.value.run_id == "run-a" and busy.value.requested_by == "sanne"
        start(other, org, "dry-1", mode="dry_run")  # a dry run writes nothing: never blocked
        other.commit()


def test_a_finished_live_run_no_longer_blocks_the_next(session: Session, cipher) -> None:
    org = register(session, cipher, "acme")
    start(session, org, "run-a")
    finish_export_run(session, "run-a", overall="ok", report={"overall": "ok"}, owner="r1")
    session.commit()
    assert unfinished_live_run(session, org.id) is None
    start(session, org, "run-b")
    assert latest_export_run(session, "acme").run_id in ("run-a", "run-b")


def test_records_move_through_their_states_and_keep_their_key(session, cipher) -> None:
    org = register(session, cipher, "acme")
    start(session, org, "run-a")
    journal_record(
        session,
        "run-a",
        step=1,
        connector_id="KnPurchaseRelationOrg",
        state="pending",
        marker="AFASBOT TEST run-a",
        owner="r1",
        now=T0,
    )
    journal_record(
        session,
        "run-a",
        step=1,
        connector_id="KnPurchaseRelationOrg",
        state="created",
        marker="AFASBOT TEST run-a",
        key={"CrId": "60001"},
        owner="r1",
        now=T0 + timedelta(seconds=1),
    )
    journal_record(
        session,
        "run-a",
        step=1,
        connector_id="KnPurchaseRelationOrg",
        state="removed",
        marker="AFASBOT TEST run-a",
        owner="r1",
        now=T0 + timedelta(seconds=2),
    )
    session.commit()
    (record,) = export_records(session, "run-a")
    assert (record.state, record.key) == ("removed", {"CrId": "60001"})


def test_clean_up_waits_while_the_writer_holds_its_lease(session, new_session, cipher) -> None:
    org = register(session, cipher, "acme")
    start(session, org, "run-a", owner="r1")
    with new_session() as other:
        assert not take_over_export_run(
            other, "run-a", owner="r2", lease_seconds=LEASE, now=T0 + timedelta(seconds=10)
        )
        assert take_over_export_run(
            other, "run-a", owner="r2", lease_seconds=LEASE, now=T0 + timedelta(seconds=LEASE + 1)
        )


def test_a_token_shaped_value_never_reaches_an_export_record(session, cipher) -> None:
    org = register(session, cipher, "acme")
    start(session, org, "run-a")
    with pytest.raises(UnsafeAuditDetailsError):
        journal_record(
            session,
            "run-a",
            step=1,
            connector_id="KnSubject",
            state="created",
            marker="m",
            key={"SbId": "<token><version>1</version></token>"},
        )


def test_a_run_outlives_its_org_with_what_it_left_behind(session, cipher) -> None:
    org = register(session, cipher, "acme")
    start(session, org, "run-a")
    journal_record(
        session,
        "run-a",
        step=2,
        connector_id="KnSalesRelationOrg",
        state="left_behind",
        marker="m",
        key={"DbId": "20001"},
        reason={"nl": "geen DELETE", "en": "no DELETE"},
        how_to_remove={"nl": "met de hand", "en": "by hand"},
    )
    finish_export_run(session, "run-a", overall="ok", report={}, owner="r1")
    session.commit()
    remove_org(session, "acme", actor="sanne")
    session.commit()
    (record,) = export_records(session, "run-a")
    assert record.state == "left_behind" and record.key == {"DbId": "20001"}
