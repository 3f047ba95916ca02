"""Retention: a check run stores its items only when they changed (check_runs.items_digest,
items_shared, and an index of the runs that hold items), and runs past the retention period
are compacted into one row per org per day (check_days).

Both columns are added in place (``ALTER TABLE ... ADD COLUMN``), so no table is rebuilt and
no row rewritten: runs stored before this revision have no digest and hold their own items.

The downgrade gives every shared run its items back (the older version reads each run's own)
and drops ``check_days``: the days compacted so far are lost to the older version.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("check_runs", sa.Column("items_digest", sa.String(length=16), nullable=True))
    op.add_column(
        "check_runs",
        sa.Column("items_shared", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_check_runs_items_held",
        "check_runs",
        ["org_id", "items_digest"],
        sqlite_where=sa.text("items_shared = 0"),
        postgresql_where=sa.text("NOT items_shared"),
    )
    op.create_table(
        "check_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("healthy", sa.Integer(), nullable=False),
        sa.Column("degraded", sa.Integer(), nullable=False),
        sa.Column("failing", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("first_at", TIMESTAMP, nullable=False),
        sa.Column("first_state", sa.String(length=16), nullable=False),
        sa.Column("last_at", TIMESTAMP, nullable=False),
        sa.Column("last_state", sa.String(length=16), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name="fk_check_days_org_id_orgs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_check_days"),
    )
    op.create_index("ix_check_days_org_id_day", "check_days", ["org_id", "day"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_check_days_org_id_day", table_name="check_days")
    op.drop_table("check_days")
    op.execute(
        "UPDATE check_runs SET items = (SELECT held.items FROM check_runs AS held "
        "WHERE held.org_id = check_runs.org_id AND held.items_digest = check_runs.items_digest "
        "AND NOT held.items_shared ORDER BY held.id LIMIT 1) "
        "WHERE items_shared AND EXISTS (SELECT 1 FROM check_runs AS held "
        "WHERE held.org_id = check_runs.org_id AND held.items_digest = check_runs.items_digest "
        "AND NOT held.items_shared)"
    )
    op.drop_index("ix_check_runs_items_held", table_name="check_runs")
    with op.batch_alter_table("check_runs") as batch:
        batch.drop_column("items_shared")
        batch.drop_column("items_digest")
