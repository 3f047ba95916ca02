"""Values shared by the storage tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlmodel import Session

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.tokens import AfasToken
from storage.crypto import TokenCipher
from storage.models import Org
from storage.repository import add_org

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ENV = AfasEnvironment("12345", EnvironmentKind.TEST)
ACTOR = "U0AGENT01"


def make_token(seed: str) -> AfasToken:
    """A distinct, valid token per seed (64 hex characters, as AFAS makes them)."""
    return AfasToken.parse(hashlib.sha256(seed.encode()).hexdigest().upper())


def register(
    session: Session,
    cipher: TokenCipher,
    key: str,
    *,
    token: AfasToken | None = None,
    now: datetime = T0,
    **fields: object,
) -> Org:
    """Register and commit an org with sensible defaults."""
    result = add_org(
        session,
        key=key,
        display_name=fields.pop("display_name", f"{key.title()} B.V."),  # type: ignore[arg-type]
        environment=ENV,
        token=token or make_token(key),
        cipher=cipher,
        actor=ACTOR,
        now=now,
        **fields,  # type: ignore[arg-type]
    )
    session.commit()
    return result.org
