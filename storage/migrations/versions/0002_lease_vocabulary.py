"""One vocabulary for leases: the outbox's claimed_by/claimed_until become lease_owner and
lease_until, as on orgs (storage/leases.py claims both tables the same way).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("claimed_by", new_column_name="lease_owner")
        batch.alter_column("claimed_until", new_column_name="lease_until")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("lease_owner", new_column_name="claimed_by")
        batch.alter_column("lease_until", new_column_name="claimed_until")
