"""log_leaves, log_checkpoints, log_cosignatures: the public log of publication events
(app/tlog, docs/transparency-log.md)

Revision ID: 7c4e2a9b1f63
Revises: 8a4c1e7f2b39
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing
from app.models.base import UTCDateTime

revision: str = "7c4e2a9b1f63"
down_revision: str | None = "8a4c1e7f2b39"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_leaves")),
    )
    op.create_index("ix_log_leaves_kind_ref", "log_leaves", ["kind", "ref"])
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_log_checkpoints")),
    )
    op.create_table(
        "log_cosignatures",
        sa.Column("size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", name=op.f("pk_log_cosignatures")),
    )


def downgrade() -> None:
    refuse_losing("公开日志（log_leaves）", "SELECT 1 FROM log_leaves LIMIT 1")
    op.drop_table("log_cosignatures")
    op.drop_table("log_checkpoints")
    op.drop_index("ix_log_leaves_kind_ref", table_name="log_leaves")
    op.drop_table("log_leaves")
