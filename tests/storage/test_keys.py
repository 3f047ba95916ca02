"""Key rotation (k1 → k2 → k3, interrupted and resumed) and the startup key check."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from storage.crypto import TokenCipher, generate_key, key_id
from storage.errors import KeyConfigError
from storage.models import AuditEvent, Org
from storage.repository import (
    RotationProgress,
    audit_events,
    decrypt_token,
    get_org,
    replace_token,
    rotate_tokens,
    verify_keys_against_database,
)
from tests.storage.helpers import ACTOR, T0, make_token, register

KEYS = [f"org-{n}" for n in range(7)]


class Interrupted(Exception):
    pass


def _key_ids(session: Session) -> dict[str, str]:
    session.expire_all()
    return dict(session.exec(select(Org.key, Org.token_key_id)).all())


def _rows(session: Session) -> list[tuple]:
    session.expire_all()
    return [
        tuple(row)
        for row in session.exec(
            select(Org.key, Org.token_ciphertext, Org.token_key_id, Org.updated_at)
        ).all()
    ]


def _stop_after_first_batch(progress: RotationProgress) -> None:
    raise Interrupted(f"stopped after {progress.rotated}")


def test_rotation_k1_k2_k3_interrupted_and_resumed(session: Session) -> None:
    k1, k2, k3 = generate_key(), generate_key(), generate_key()
    for key in KEYS:
        register(session, TokenCipher.from_keys([k1]), key)
    assert set(_key_ids(session).values()) == {key_id(k1)}

    # k1 -> k2, interrupted by a crash after the first batch (3 rows) was committed.
    k2_k1 = TokenCipher.from_keys([k2, k1])
    with pytest.raises(Interrupted):
        rotate_tokens(session, k2_k1, actor=ACTOR, batch_size=3, on_batch=_stop_after_first_batch)
    session.rollback()
    ids = _key_ids(session)
    assert sorted(ids.values()).count(key_id(k2)) == 3
    for key in KEYS:  # mixed state: every token still readable with both keys configured
        assert decrypt_token(get_org(session, key), k2_k1) == make_token(key)

    # Resumed: the 3 rotated rows are skipped, the rest rotated.
    result = rotate_tokens(session, k2_k1, actor=ACTOR, batch_size=3)
    assert (result.rotated, result.skipped, result.failed, result.ok) == (4, 3, 0, True)
    assert set(_key_ids(session).values()) == {key_id(k2)}
    again = rotate_tokens(session, k2_k1, actor=ACTOR)
    assert (again.rotated, again.skipped) == (0, 7), "a second run changes nothing"

    # k1 dropped; k2 -> k3, stopped half-way by a limit, then resumed.
    k3_k2 = TokenCipher.from_keys([k3, k2])
    partial = rotate_tokens(session, k3_k2, actor=ACTOR, batch_size=2, limit=4)
    assert (partial.rotated, partial.complete, partial.ok) == (4, False, False)
    assert sorted(_key_ids(session).values()).count(key_id(k3)) == 4
    rest = rotate_tokens(session, k3_k2, actor=ACTOR, batch_size=2)
    assert (rest.rotated, rest.skipped, rest.complete) == (3, 4, True)

    # Only the newest key is left, and it reads everything.
    only_k3 = TokenCipher.from_keys([k3])
    verify_keys_against_database(session, only_k3)
    for key in KEYS:
        assert decrypt_token(get_org(session, key), only_k3) == make_token(key)


def test_rotation_audits_each_batch_with_org_keys_only(session: Session) -> None:
    k1, k2 = generate_key(), generate_key()
    for key in KEYS[:3]:
        register(session, TokenCipher.from_keys([k1]), key)
    rotate_tokens(session, TokenCipher.from_keys([k2, k1]), actor="cli:ops", batch_size=2)
    events = [e for e in audit_events(session) if e.action == "tokens.rotated"]
    assert [e.actor for e in events] == ["cli:ops", "cli:ops"]
    assert sorted(k for e in events for k in e.details["rotated"]) == KEYS[:3]
    assert all(e.details["to_key_id"] == key_id(k2) for e in events)


def test_a_crash_inside_a_batch_keeps_every_row_consistent(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    k1, k2 = generate_key(), generate_key()
    for key in KEYS:
        register(session, TokenCipher.from_keys([k1]), key)
    cipher = TokenCipher.from_keys([k2, k1])
    real_rotate = cipher.rotate
    calls = iter(range(100))

    def flaky_rotate(*args: object, **kwargs: object) -> tuple[str, str]:
        if next(calls) == 4:  # the second row of the second batch
            raise Interrupted("crash")
        return real_rotate(*args, **kwargs)

    monkeypatch.setattr(cipher, "rotate", flaky_rotate)
    with pytest.raises(Interrupted):
        rotate_tokens(session, cipher, actor=ACTOR, batch_size=3)
    session.rollback()
    assert sorted(_key_ids(session).values()).count(key_id(k2)) == 3, "first batch kept"
    # Every row's key id says which key wrote its ciphertext.
    for key in KEYS:
        org = get_org(session, key)
        writer = TokenCipher.from_keys([k2 if org.token_key_id == key_id(k2) else k1])
        assert decrypt_token(org, writer) == make_token(key)
    monkeypatch.undo()
    assert rotate_tokens(session, cipher, actor=ACTOR).rotated == 4


def test_unreadable_tokens_are_counted_as_failed_and_left_alone(session: Session) -> None:
    k1, k2, lost = generate_key(), generate_key(), generate_key()
    register(session, TokenCipher.from_keys([k1]), "acme")
    register(session, TokenCipher.from_keys([lost]), "ghost")
    before = get_org(session, "ghost").token_ciphertext
    result = rotate_tokens(session, TokenCipher.from_keys([k2, k1]), actor=ACTOR)
    assert (result.rotated, result.failed, result.failed_org_keys) == (1, 1, ("ghost",))
    assert not result.ok
    session.expire_all()
    assert get_org(session, "ghost").token_ciphertext == before


def test_a_token_replaced_during_rotation_is_not_overwritten(
    session: Session, new_session: Callable[[], Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    k1, k2 = generate_key(), generate_key()
    register(session, TokenCipher.from_keys([k1]), "acme")
    cipher = TokenCipher.from_keys([k2, k1])
    real_rotate = cipher.rotate

    def rotate_while_an_agent_replaces_the_token(*args: object, **kwargs: object):
        rotated = real_rotate(*args, **kwargs)
        with new_session() as agent:
            replace_token(agent, "acme", token=make_token("fresh"), cipher=cipher, actor="U2")
            agent.commit()
        return rotated

    monkeypatch.setattr(cipher, "rotate", rotate_while_an_agent_replaces_the_token)
    result = rotate_tokens(session, cipher, actor=ACTOR)
    assert (result.rotated, result.skipped) == (0, 1)
    session.expire_all()
    assert decrypt_token(get_org(session, "acme"), cipher) == make_token("fresh")


def test_startup_check_passes_on_an_empty_database(session: Session, cipher: TokenCipher) -> None:
    check = verify_keys_against_database(session, cipher)
    assert check.orgs_by_key_id == {} and check.needs_rotation == 0


def test_startup_check_counts_tokens_still_on_older_keys(session: Session) -> None:
    k1, k2 = generate_key(), generate_key()
    for key in KEYS[:3]:
        register(session, TokenCipher.from_keys([k1]), key)
    check = verify_keys_against_database(session, TokenCipher.from_keys([k2, k1]))
    assert check.orgs_by_key_id == {key_id(k1): 3}
    assert check.needs_rotation == 3


def test_startup_check_detects_a_wrong_key_and_changes_nothing(session: Session) -> None:
    k1, wrong = generate_key(), generate_key()
    for key in KEYS[:3]:
        register(session, TokenCipher.from_keys([k1]), key)
    before = _rows(session)
    events_before = len(session.exec(select(AuditEvent)).all())
    with pytest.raises(KeyConfigError) as raised:
        verify_keys_against_database(session, TokenCipher.from_keys([wrong]))
    message = str(raised.value)
    assert f"key id {key_id(k1)} (3 orgs)" in message
    assert k1 not in message and wrong not in message
    session.rollback()
    assert _rows(session) == before
    assert len(session.exec(select(AuditEvent)).all()) == events_before


def test_startup_check_tolerates_one_damaged_row_but_not_a_wrong_key(session: Session) -> None:
    k1 = generate_key()
    cipher = TokenCipher.from_keys([k1])
    for key in KEYS[:3]:
        register(session, cipher, key)
    first = get_org(session, KEYS[0])
    session.execute(update(Org).where(Org.id == first.id).values(token_ciphertext="gAAAAAdamaged"))
    session.commit()
    verify_keys_against_database(session, cipher)
    session.execute(update(Org).values(token_ciphertext="gAAAAAdamaged"))
    session.commit()
    with pytest.raises(KeyConfigError, match=key_id(k1)):
        verify_keys_against_database(session, cipher)


def test_registration_time_is_kept_by_rotation(session: Session) -> None:
    k1, k2 = generate_key(), generate_key()
    register(session, TokenCipher.from_keys([k1]), "acme", now=T0)
    rotate_tokens(session, TokenCipher.from_keys([k2, k1]), actor=ACTOR)
    session.expire_all()
    org = get_org(session, "acme")
    assert (org.updated_at, org.updated_by, org.token_key_id) == (T0, ACTOR, key_id(k2))
