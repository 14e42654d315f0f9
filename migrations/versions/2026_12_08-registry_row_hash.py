"""items, targets, inspectors: row_hash, row_hash_version — the hash of the file row an import
made the current version from (app/registries/rowhash.py), so a re-import skips unchanged rows

Revision ID: 5e1a7c3b9d20
Revises: 6f2d8b3c1a57
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1a7c3b9d20"
down_revision: str | None = "6f2d8b3c1a57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("items", "targets", "inspectors")


def upgrade() -> None:
    # Plain nullable ADD COLUMNs: no table rebuild, no rewrite of existing rows (their hash is
    # NULL until an import writes them again; until then a re-import compares them in full).
    for table in TABLES:
        op.add_column(table, sa.Column("row_hash", sa.String(32), nullable=True))
        op.add_column(table, sa.Column("row_hash_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        for column in ("row_hash_version", "row_hash"):
            if op.get_bind().dialect.name == "sqlite":
                op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # SQLite ≥ 3.35
            else:
                op.drop_column(table, column)
