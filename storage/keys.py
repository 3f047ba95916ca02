"""Key operations on stored tokens: the startup check and key rotation (alerting.md §5.4).

Rotation procedure: configure ``new,old``; run ``rotate_tokens`` (idempotent, batch-wise,
resumable); when it reports nothing left on old keys and no failures, configure ``new`` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.audit import add_audit_event
from storage.crypto import TokenCipher
from storage.datetimes import utcnow
from storage.errors import KeyConfigError, TokenDecryptError
from storage.models import Org

log = logging.getLogger(__name__)

#: Rows per committed batch at most: one batch is one transaction (and a database's integer).
MAX_BATCH_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """What the startup check found: orgs per key id, and how many are not on the newest key."""

    orgs_by_key_id: dict[str, int]
    primary_key_id: str

    @property
    def needs_rotation(self) -> int:
        return sum(n for kid, n in self.orgs_by_key_id.items() if kid != self.primary_key_id)


def verify_keys_against_database(
    session: Session, cipher: TokenCipher, *, samples_per_key_id: int = 3
) -> KeyCheck:
    """Startup check: can the configured keys read the stored tokens? Reads only.

    For every distinct ``token_key_id`` it tries to decrypt a few stored tokens (one is enough
    to pass; a few so that one damaged row does not stop the bot). If no sample of some key id
    decrypts, ``KeyConfigError`` names that key id: the bot must not start and then fail on
    every check of those orgs.
    """
    counts = session.exec(select(Org.token_key_id, func.count()).group_by(Org.token_key_id)).all()
    unreadable: list[tuple[str, int]] = []
    for key_id, count in sorted(counts):
        samples = session.exec(
            select(Org.token_ciphertext)
            .where(Org.token_key_id == key_id)
            .order_by(col(Org.id))
            .limit(samples_per_key_id)
        ).all()
        if not any(cipher.can_decrypt(ciphertext) for ciphertext in samples):
            unreadable.append((key_id, count))
    if unreadable:
        which = ", ".join(f"{kid} ({n} org{'s' if n != 1 else ''})" for kid, n in unreadable)
        raise KeyConfigError(
            f"The configured token keys ({', '.join(cipher.key_ids)}) cannot read the tokens "
            f"written with key id {which}. Configure the key that wrote them (after the "
            "newest key), or register those tokens anew."
        )
    return KeyCheck({kid: n for kid, n in counts}, cipher.primary_key_id)


@dataclass(frozen=True, slots=True)
class RotationProgress:
    """Counts so far, passed to ``on_batch`` after each committed batch."""

    rotated: int
    skipped: int
    failed: int
    batches: int


@dataclass(frozen=True, slots=True)
class RotationResult:
    rotated: int  # re-encrypted under the newest key by this run
    skipped: int  # already on the newest key (or replaced by someone else meanwhile)
    failed: int  # not readable with any configured key: left unchanged
    failed_org_keys: tuple[str, ...] = field(default=())
    complete: bool = True  # False when stopped by ``limit``

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.complete


def rotate_tokens(
    session: Session,
    cipher: TokenCipher,
    *,
    actor: str,
    batch_size: int = 100,
    limit: int | None = None,
    on_batch: Callable[[RotationProgress], None] | None = None,
    now: datetime | None = None,
) -> RotationResult:
    """Re-encrypt every token not yet under the newest key. Commits once per batch.

    Rows already on the newest key (by ``token_key_id``) are skipped, so an interrupted run
    can simply be run again. Each row is written with a compare-and-set on its old ciphertext,
    so a token replaced meanwhile is never overwritten with the old one. Rows no configured key
    can read are counted as failed and left as they are. Each batch that rotated a token
    writes one audit event (org keys, never values). ``limit`` stops after that many
    rotations. Callers check the keys first (``verify_keys_against_database``): keys that
    cannot read a key id's tokens at all are a configuration error, not a rotation.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
    primary = cipher.primary_key_id
    skipped = session.exec(
        select(func.count()).select_from(Org).where(Org.token_key_id == primary)
    ).one()
    rotated = failed = batches = 0
    failed_keys: list[str] = []
    last_id = 0
    complete = True
    while True:
        size = batch_size if limit is None else min(batch_size, limit - rotated)
        if size <= 0:
            complete = not _left_to_rotate(session, primary, after_id=last_id)
            break
        rows = session.exec(
            select(Org.id, Org.key, Org.token_ciphertext, Org.token_key_id)
            .where(Org.token_key_id != primary, col(Org.id) > last_id)
            .order_by(col(Org.id))
            .limit(size)
        ).all()
        if not rows:
            break
        done: list[str] = []
        batch_failed: list[str] = []
        for org_id, org_key, ciphertext, stored_key_id in rows:
            last_id = org_id
            try:
                new_ciphertext, new_key_id = cipher.rotate(
                    ciphertext, org_key=org_key, stored_key_id=stored_key_id
                )
            except TokenDecryptError:
                batch_failed.append(org_key)
                continue
            written = session.execute(
                update(Org)
                .where(col(Org.id) == org_id, col(Org.token_ciphertext) == ciphertext)
                .values(token_ciphertext=new_ciphertext, token_key_id=new_key_id)
                .execution_options(synchronize_session=False)
            ).rowcount
            if written == 1:
                done.append(org_key)
            else:
                skipped += 1
        rotated += len(done)
        failed += len(batch_failed)
        failed_keys += batch_failed
        batches += 1
        if done:  # a batch of only unreadable rows changed nothing: no "rotated" event
            add_audit_event(
                session,
                actor=actor,
                action="tokens.rotated",
                org_key=None,
                at=now or utcnow(),
                details={
                    "to_key_id": primary,
                    "rotated": done,
                    "failed": batch_failed,
                },
            )
        session.commit()
        log.info(
            "token rotation batch %d committed: %d rotated, %d failed (to key id %s)",
            batches,
            len(done),
            len(batch_failed),
            primary,
        )
        if batch_failed:
            log.warning("tokens no configured key can read: orgs %s", ", ".join(batch_failed))
        session.expire_all()  # Org objects loaded earlier must not keep the old ciphertext
        if on_batch is not None:
            on_batch(RotationProgress(rotated, skipped, failed, batches))
    return RotationResult(rotated, skipped, failed, tuple(failed_keys), complete)


def _left_to_rotate(session: Session, primary: str, *, after_id: int) -> bool:
    query = select(Org.id).where(Org.token_key_id != primary, col(Org.id) > after_id).limit(1)
    return session.exec(query).first() is not None
