"""Alerts to the monitors' standard: an incident's cause, hold and announcement
(incidents.cause, held, announced_at), outbox messages Slack refused for good
(outbox.given_up_at), the daily deep check (orgs.last_deep_check_at) and each org's connector
baseline for drift (connector_baselines).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("cause", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("held", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("announced_at", TIMESTAMP, nullable=True))
    # Incidents opened before this revision were announced when they opened.
    op.execute("UPDATE incidents SET announced_at = opened_at")
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("given_up_at", TIMESTAMP, nullable=True))
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(sa.Column("last_deep_check_at", TIMESTAMP, nullable=True))
    op.create_table(
        "connector_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("taken_at", TIMESTAMP, nullable=False),
        sa.Column("taken_by", sa.String(length=200), nullable=False),
        sa.Column("latest", sa.JSON(), nullable=True),
        sa.Column("drift", sa.JSON(), nullable=True),
        sa.Column("drift_found_at", TIMESTAMP, nullable=True),
        sa.Column("drift_channel", sa.String(length=64), nullable=True),
        sa.Column("drift_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name="fk_connector_baselines_org_id_orgs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_connector_baselines"),
        sa.UniqueConstraint("org_id", name="uq_connector_baselines_org_id"),
    )


def downgrade() -> None:
    op.drop_table("connector_baselines")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("last_deep_check_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("given_up_at")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("announced_at")
        batch.drop_column("held")
        batch.drop_column("cause")
