from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

import storage.orgs as orgs_module
from afas.environments import AfasEnvironment, EnvironmentKind
from storage import schema
from storage.crypto import TokenCipher
from storage.db import make_engine, session_scope
from storage.errors import DuplicateOrgError, InvalidOrgError, UnknownOrgError
from storage.models import AuditEvent, CheckRun, Incident, Org, OutboxMessage
from storage.orgs import FieldChange, edit_org, validate_settings
from storage.repository import (
    add_org,
    audit_events,
    decrypt_token,
    enqueue_outbox,
    find_org,
    get_org,
    list_orgs,
    mute_org,
    open_incident,
    record_check_run,
    remove_org,
    replace_token,
    update_org,
)
from tests.storage.helpers import ACTOR, ENV, T0, make_token, register


def test_registered_org_keeps_its_fields_and_only_an_encrypted_token(
    session: Session, cipher: TokenCipher
) -> None:
    token = make_token("acme")
    result = add_org(
        session,
        key="  Acme-BV ",
        display_name=" Acme   B.V. ",
        environment=AfasEnvironment("54321", EnvironmentKind.PRODUCTION),
        token=token,
        cipher=cipher,
        actor=ACTOR,
        alert_channel="C0123456789",
        cs_owner="U0CSOWNER",
        notes="VIP",
        now=T0,
    )
    session.commit()
    org = result.org
    assert not result.replaced and result.previous_fingerprint is None
    assert org.key == "acme-bv" and org.display_name == "Acme B.V."
    assert org.environment == AfasEnvironment("54321", EnvironmentKind.PRODUCTION)
    assert org.token_fingerprint == token.fingerprint
    assert org.token_key_id == cipher.primary_key_id
    assert token.reveal_data() not in org.token_ciphertext
    assert decrypt_token(org, cipher) == token
    assert org.next_check_at == T0, "a new org is due for a check at once"
    assert (org.created_by, org.created_at, org.updated_by) == (ACTOR, T0, ACTOR)
    assert "gAAAA" not in repr(org), "the ciphertext stays out of reprs"


def test_registration_is_audited_without_secrets(session: Session, cipher: TokenCipher) -> None:
    register(session, cipher, "acme")
    [event] = audit_events(session, org_key="acme")
    assert (event.actor, event.action) == (ACTOR, "org.registered")
    assert event.details["fingerprint"] == make_token("acme").fingerprint
    assert event.details["environment"] == "12345 (test)"


def test_a_duplicate_key_is_refused(session: Session, cipher: TokenCipher) -> None:
    register(session, cipher, "acme")
    with pytest.raises(DuplicateOrgError, match="'acme' is already registered"):
        register(session, cipher, "ACME", token=make_token("other"))
    session.rollback()
    assert decrypt_token(get_org(session, "acme"), cipher) == make_token("acme")


def test_registering_again_with_replacement_rotates_the_token_and_says_so(
    session: Session, cipher: TokenCipher
) -> None:
    register(session, cipher, "acme", alert_channel="C0AAAAAAAA")
    later = T0 + timedelta(days=3)
    result = add_org(
        session,
        key="acme",
        display_name="Acme Holding",
        environment=ENV,
        token=make_token("acme-2"),
        cipher=cipher,
        actor="U0LEAD",
        alert_channel="C0AAAAAAAA",
        replace_token=True,
        now=later,
    )
    session.commit()
    assert result.replaced
    assert result.previous_fingerprint == make_token("acme").fingerprint
    org = get_org(session, "acme")
    assert decrypt_token(org, cipher) == make_token("acme-2")
    assert org.token_fingerprint == make_token("acme-2").fingerprint
    assert (org.display_name, org.updated_by, org.updated_at) == ("Acme Holding", "U0LEAD", later)
    assert (org.created_by, org.created_at) == (ACTOR, T0)
    assert session.exec(select(func.count()).select_from(Org)).one() == 1
    event = audit_events(session, org_key="acme")[0]
    assert event.action == "org.token_replaced"
    assert event.details["changed_fields"] == ["display_name"]


def test_replace_token_changes_only_the_token(session: Session, cipher: TokenCipher) -> None:
    register(session, cipher, "acme", notes="keep me")
    result = replace_token(
        session, "acme", token=make_token("new"), cipher=cipher, actor=ACTOR, now=T0
    )
    session.commit()
    assert result.replaced and result.org.notes == "keep me"
    assert decrypt_token(get_org(session, "acme"), cipher) == make_token("new")


def test_unknown_key_suggests_the_nearest_known_keys(session: Session, cipher: TokenCipher) -> None:
    for key in ("acme", "acme-test", "bakker", "zeeman"):
        register(session, cipher, key)
    with pytest.raises(UnknownOrgError) as raised:
        get_org(session, "acne")
    assert raised.value.suggestions[0] == "acme"
    assert "Did you mean 'acme'" in str(raised.value)
    assert "zeeman" not in raised.value.suggestions
    with pytest.raises(UnknownOrgError) as raised:
        get_org(session, "bakkr")
    assert raised.value.suggestions == ("bakker",)


def test_unknown_key_on_an_empty_database_says_none_are_registered(session: Session) -> None:
    with pytest.raises(UnknownOrgError, match="No orgs are registered yet"):
        get_org(session, "acme")


def test_input_that_is_not_a_key_is_not_repeated_in_the_error(
    session: Session, cipher: TokenCipher
) -> None:
    register(session, cipher, "acme")
    pasted = make_token("pasted").xml
    with pytest.raises(UnknownOrgError) as raised:
        get_org(session, pasted)
    assert pasted not in str(raised.value) and "<token>" not in str(raised.value)
    assert find_org(session, pasted) is None


@pytest.mark.parametrize("key", ["a", "-acme", "acme-", "acme_bv", "acme bv", "x" * 41, "", "ácme"])
def test_invalid_keys_are_refused_with_the_rule(
    key: str, session: Session, cipher: TokenCipher
) -> None:
    with pytest.raises(InvalidOrgError, match="2–40 characters") as raised:
        register(session, cipher, key)
    assert raised.value.field == "key"


@pytest.mark.parametrize("key", ["ab", "acme-bv", "a1-b2-c3", "x" * 40, "123"])
def test_valid_keys_are_accepted(key: str, session: Session, cipher: TokenCipher) -> None:
    assert register(session, cipher, key).key == key


@pytest.mark.parametrize("field", ["notes", "display_name", "cs_owner"])
def test_a_token_pasted_into_a_free_text_field_is_refused(
    field: str, session: Session, cipher: TokenCipher
) -> None:
    with pytest.raises(InvalidOrgError) as raised:
        register(session, cipher, "acme", **{field: "token: " + make_token("x").reveal_data()})
    assert raised.value.field == field
    assert make_token("x").reveal_data() not in str(raised.value)


def test_alert_channel_must_be_a_channel_id(session: Session, cipher: TokenCipher) -> None:
    with pytest.raises(InvalidOrgError) as raised:
        register(session, cipher, "acme", alert_channel="#alerts")
    assert raised.value.field == "alert_channel"


def test_list_orgs_is_sorted_by_key(session: Session, cipher: TokenCipher) -> None:
    for key in ("zeeman", "acme", "bakker"):
        register(session, cipher, key)
    assert [org.key for org in list_orgs(session)] == ["acme", "bakker", "zeeman"]


def test_update_org_changes_given_fields_and_audits_each_one(
    session: Session, cipher: TokenCipher
) -> None:
    register(session, cipher, "acme", notes="old")
    org = update_org(
        session, "acme", actor="U0LEAD", alert_channel="C0NEW00001", notes="new", now=T0
    )
    session.commit()
    assert (org.alert_channel, org.notes, org.display_name) == ("C0NEW00001", "new", "Acme B.V.")
    events = [e for e in audit_events(session, org_key="acme") if e.action == "org.updated"]
    assert sorted((e.actor, tuple(sorted(e.details.items()))) for e in events) == [
        ("U0LEAD", (("changed", True), ("field", "notes"))),  # never the notes' text
        ("U0LEAD", (("field", "alert_channel"), ("new", "C0NEW00001"), ("old", None))),
    ]


def test_edit_org_changes_and_audits_only_what_differs(
    session: Session, cipher: TokenCipher
) -> None:
    register(session, cipher, "acme", alert_channel="C0OLD00001")
    edit = edit_org(
        session,
        "acme",
        actor="U0LEAD",
        display_name="  Acme   B.V. ",  # the same once normalised
        alert_channel="C0OLD00001",
        cs_owner=None,
        now=T0,
    )
    session.commit()
    assert edit.changes == ()
    assert [e.action for e in audit_events(session, org_key="acme")] == ["org.registered"]


def test_a_shorter_interval_brings_the_next_check_forward_a_longer_one_does_not(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    org.next_check_at = T0 + timedelta(minutes=10)
    session.commit()
    edit = edit_org(session, "acme", actor=ACTOR, check_interval_seconds=300, now=T0)
    assert edit.changes == (FieldChange("check_interval_seconds", None, 300),)
    assert edit.org.next_check_at == T0 + timedelta(minutes=5)
    edit = edit_org(session, "acme", actor=ACTOR, check_interval_seconds=86400, now=T0)
    assert edit.org.next_check_at == T0 + timedelta(minutes=5)  # not pushed back
    session.commit()


@pytest.mark.parametrize("seconds", [0, 60, 299, 86401, 7 * 86400, "soon"])
def test_the_check_interval_is_bounded_to_five_minutes_to_a_day(
    session: Session, cipher: TokenCipher, seconds
) -> None:
    register(session, cipher, "acme")
    with pytest.raises(InvalidOrgError) as raised:
        edit_org(session, "acme", actor=ACTOR, check_interval_seconds=seconds)
    assert raised.value.field == "check_interval_seconds"
    assert validate_settings(check_interval_seconds=seconds).keys() == {"check_interval_seconds"}


def test_an_interval_stored_out_of_bounds_may_be_kept_while_other_fields_change(
    session: Session, cipher: TokenCipher
) -> None:
    org = register(session, cipher, "acme")
    org.check_interval_seconds = 60  # stored before the bounds were narrowed
    session.commit()
    edit = edit_org(session, "acme", actor=ACTOR, display_name="Acme", check_interval_seconds=60)
    assert edit.changed_fields == ["display_name"]


def test_a_token_pasted_into_the_notes_is_refused_and_nothing_changes(
    session: Session, cipher: TokenCipher
) -> None:
    register(session, cipher, "acme", notes="old")
    pasted = make_token("pasted").xml
    with pytest.raises(InvalidOrgError) as raised:
        edit_org(session, "acme", actor=ACTOR, display_name="New name", notes=pasted)
    assert (raised.value.field, raised.value.reason) == ("notes", "secret")
    assert pasted not in str(raised.value)
    session.rollback()
    assert get_org(session, "acme").display_name == "Acme B.V."
    assert validate_settings(display_name="", notes=pasted).keys() == {"display_name", "notes"}


def test_mute_and_unmute_are_audited(session: Session, cipher: TokenCipher) -> None:
    register(session, cipher, "acme")
    until = T0 + timedelta(hours=1)
    assert mute_org(session, "acme", until=until, actor=ACTOR, now=T0).is_muted(T0)
    assert not mute_org(session, "acme", until=None, actor=ACTOR, now=T0).is_muted(T0)
    session.commit()
    assert [e.action for e in audit_events(session, org_key="acme")][:2] == [
        "org.unmuted",
        "org.muted",
    ]


def test_remove_org_destroys_its_token_and_history_but_keeps_the_audit_log(
    session: Session, cipher: TokenCipher, new_session: Callable[[], Session]
) -> None:
    org = register(session, cipher, "acme")
    other = register(session, cipher, "bakker")
    ciphertext = org.token_ciphertext
    record_check_run(
        session,
        org,
        trigger="schedule",
        started_at=T0,
        duration_ms=5,
        overall_state="failing",
        items=[],
    )
    incident, _ = open_incident(session, org, kind="org", opened_at=T0)
    message = enqueue_outbox(
        session,
        kind="alert.trigger",
        payload={"org": "acme"},
        dedup_key="incident:1:trigger",
        org_id=org.id,
        incident_id=incident.id,
        now=T0,
    ).message
    session.commit()

    removed = remove_org(session, "acme", actor="U0ADMIN", now=T0)
    session.commit()

    assert (removed.key, removed.check_runs_deleted, removed.incidents_deleted) == ("acme", 1, 1)
    assert (removed.open_incidents_closed, removed.messages_dropped) == (1, 1)
    assert removed.token_fingerprint == make_token("acme").fingerprint
    with new_session() as fresh:
        assert find_org(fresh, "acme") is None
        assert fresh.exec(select(func.count()).select_from(CheckRun)).one() == 0
        assert fresh.exec(select(func.count()).select_from(Incident)).one() == 0
        kept = fresh.get(OutboxMessage, message.id)
        assert (kept.org_id, kept.incident_id) == (None, None)
        # Not sent yet: dropped (an alert about an org that is gone), and it says so.
        assert kept.sent_at is not None and kept.last_error == "dropped: the org was removed"
        ciphertexts = fresh.exec(select(Org.token_ciphertext)).all()
        assert ciphertexts == [other.token_ciphertext] and ciphertext not in ciphertexts
        actions = [e.action for e in audit_events(fresh, org_key="acme")]
        assert actions == ["org.removed", "org.registered"]


def test_removed_ciphertext_is_gone_from_the_sqlite_file(
    tmp_path: Path, cipher: TokenCipher
) -> None:
    """secure_delete: the row's bytes are overwritten, not left in a free page."""
    path = tmp_path / "afasbot.sqlite3"
    schema.upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with session_scope(engine) as session:
            ciphertext = register(session, cipher, "acme").token_ciphertext.encode()
            register(session, cipher, "bakker")
        with session_scope(engine) as session:
            session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        assert ciphertext in path.read_bytes()
        with session_scope(engine) as session:
            remove_org(session, "acme", actor="U0ADMIN", now=T0)
        with session_scope(engine) as session:
            session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        assert ciphertext not in path.read_bytes()
    finally:
        engine.dispose()


def test_removing_an_unknown_org_is_an_unknown_org_error(session: Session) -> None:
    with pytest.raises(UnknownOrgError):
        remove_org(session, "ghost", actor=ACTOR)
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 0


def test_a_registration_racing_another_for_the_same_key_is_a_duplicate_error(
    session: Session,
    cipher: TokenCipher,
    new_session: Callable[[], Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other registration commits between our lookup and our insert: the unique
    constraint decides, and the caller sees the same friendly error."""
    register(session, cipher, "acme")
    monkeypatch.setattr(orgs_module, "find_org", lambda *_args: None)
    with new_session() as late, pytest.raises(DuplicateOrgError):
        register(late, cipher, "acme", token=make_token("late"))
    monkeypatch.undo()
    assert decrypt_token(get_org(session, "acme"), cipher) == make_token("acme")


def test_changes_need_an_actor(session: Session, cipher: TokenCipher) -> None:
    with pytest.raises(ValueError, match="actor"):
        add_org(
            session,
            key="acme",
            display_name="Acme",
            environment=ENV,
            token=make_token("acme"),
            cipher=cipher,
            actor=" ",
        )
