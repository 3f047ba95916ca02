"""The default check interval is a setting (``AFASBOT_CHECK_INTERVAL_SECONDS``):
orgs.check_interval_seconds may be NULL, meaning "no interval of its own, follow the setting".

Orgs that hold 900 seconds were registered with the old built-in default (every registration
stored it; nobody could choose "the default"), so they become NULL and follow the setting from
now on. An org whose interval someone set to 15 minutes on purpose cannot be told apart from
those: it follows the setting too, which is 15 minutes unless the operator changes it. The
downgrade stores 900 for every NULL again.

SQLite cannot drop a NOT NULL in place, and batch mode's rebuild (create a copy, drop ``orgs``,
rename) would empty every child table: with foreign keys on, ``DROP TABLE orgs`` deletes its
rows first and ``ON DELETE CASCADE`` takes the orgs' check runs, incidents, watches and
baselines with them. Inside the migration's transaction foreign keys cannot be switched off.
So on SQLite the table's stored definition is edited instead, the procedure SQLite documents
for removing a NOT NULL constraint (sqlite.org/lang_altertable.html, "Making Other Kinds Of
Table Schema Changes"): no row is rewritten, nothing cascades.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULT = 900
_COLUMN = re.compile(r"(\bcheck_interval_seconds\s+INTEGER)(\s+NOT\s+NULL)?(?=\s*[,)])", re.I)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_not_null(False)
    else:
        with op.batch_alter_table("orgs") as batch:
            batch.alter_column("check_interval_seconds", existing_type=sa.Integer(), nullable=True)
    op.execute(
        "UPDATE orgs SET check_interval_seconds = NULL "
        f"WHERE check_interval_seconds = {OLD_DEFAULT}"
    )


def downgrade() -> None:
    op.execute(
        f"UPDATE orgs SET check_interval_seconds = {OLD_DEFAULT} "
        "WHERE check_interval_seconds IS NULL"
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_not_null(True)
    else:
        with op.batch_alter_table("orgs") as batch:
            batch.alter_column("check_interval_seconds", existing_type=sa.Integer(), nullable=False)


def _sqlite_not_null(not_null: bool) -> None:
    """Add or drop the column's NOT NULL in ``orgs``'s stored CREATE TABLE, and bump the
    schema version so that every connection reads the definition again."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'orgs'"
    ).scalar_one()
    found = list(_COLUMN.finditer(sql))
    if len(found) != 1:
        raise RuntimeError(
            "orgs.check_interval_seconds is not defined as this migration expects; "
            "nothing was changed"
        )
    changed = _COLUMN.sub(lambda m: m.group(1) + (" NOT NULL" if not_null else ""), sql)
    if changed == sql:
        return
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.execute(
            sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'orgs'"),
            {"sql": changed},
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA quick_check(orgs)").scalars().all()
    if problems != ["ok"]:  # pragma: no cover - SQLite's own guard
        raise RuntimeError("orgs failed SQLite's check after the change: " + "; ".join(problems))
