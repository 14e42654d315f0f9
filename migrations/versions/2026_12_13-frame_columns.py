"""plan_frames.frame_columns: the frozen frame's units in binary columns (app/draw/columns.py),
so that the draw reads the frame back without re-parsing its text

A cache of the published file, bound to its gzip: frames captured before this migration have
none and the draw parses their file, as before (nothing to convert, nothing lost on downgrade).

Revision ID: 8b1c6d2f4e90
Revises: 3d9f5b2e7a41
Create Date: 2026-12-13 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b1c6d2f4e90"
down_revision: str | None = "3d9f5b2e7a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("plan_frames", sa.Column("frame_columns", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # derived from plan_frames.lines_gz (kept): dropping it loses nothing
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE plan_frames DROP COLUMN frame_columns")  # SQLite ≥ 3.35
    else:
        op.drop_column("plan_frames", "frame_columns")
