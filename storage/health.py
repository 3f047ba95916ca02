"""Whether the database answers (``/readyz``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session


def ping(session: Session) -> None:
    """A trivial query; raises what the driver raises when the database does not answer."""
    session.execute(text("SELECT 1"))
