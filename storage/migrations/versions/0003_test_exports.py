"""Test exports: export_runs (one per export, its report and, while live, its lease) and
export_records (every record a live export created or may have created, before its next step).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
LIVE_UNFINISHED = "mode = 'live' AND finished_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "export_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("org_key", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("overall", sa.String(length=16), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name="fk_export_runs_org_id_orgs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_export_runs"),
        sa.UniqueConstraint("run_id", name="uq_export_runs_run_id"),
    )
    op.create_index(
        "ix_export_runs_live_unfinished",
        "export_runs",
        ["org_id"],
        unique=True,
        sqlite_where=sa.text(LIVE_UNFINISHED),
        postgresql_where=sa.text(LIVE_UNFINISHED),
    )
    op.create_index("ix_export_runs_org_key_started_at", "export_runs", ["org_key", "started_at"])
    op.create_table(
        "export_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("marker", sa.String(length=200), nullable=False),
        sa.Column("key", sa.JSON(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("how_to_remove", sa.JSON(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_pk"],
            ["export_runs.id"],
            name="fk_export_records_run_pk_export_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_export_records"),
    )
    op.create_index("ix_export_records_run_step", "export_records", ["run_pk", "step"], unique=True)


def downgrade() -> None:
    op.drop_table("export_records")
    op.drop_table("export_runs")
