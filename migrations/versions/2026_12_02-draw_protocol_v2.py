"""draw protocol v2: frozen frames, secret nonces, bound plan versions, failed draws, credit feed release

Revision ID: 7c2e5a91d0b4
Revises: c0n5013a0001
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing

from app.models.base import UTCDateTime

revision: str = "7c2e5a91d0b4"
down_revision: str | None = "c0n5013a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("secret_nonce", sa.String(32), nullable=True))
    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("algorithm", sa.String(32), nullable=True))
        batch.add_column(sa.Column("frame_sha256", sa.String(64), nullable=True))
    with op.batch_alter_table("draws") as batch:
        batch.add_column(sa.Column("error", sa.JSON(), nullable=True))
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("feed_at", UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_results_feed_at", ["feed_at"])
    op.execute(sa.text("UPDATE results SET feed_at = approved_at"))
    op.create_table(
        "plan_frames",
        sa.Column("plan_code", sa.String(40), sa.ForeignKey("plans.code"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("lines_gz", sa.LargeBinary(), nullable=False),
        sa.Column("captured_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("depends_on", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    refuse_losing("冻结的抽查名录（plan_frames）", "SELECT 1 FROM plan_frames LIMIT 1")
    refuse_losing("计划承诺值（plans.secret_nonce）", "SELECT 1 FROM plans WHERE secret_nonce IS NOT NULL LIMIT 1")
    refuse_losing("计划版本的名录哈希与算法（plan_versions）", "SELECT 1 FROM plan_versions WHERE frame_sha256 IS NOT NULL LIMIT 1")
    refuse_losing("信用结果推送位置（results.feed_at）", "SELECT 1 FROM results WHERE feed_at IS NOT NULL LIMIT 1")
    refuse_losing("抽取失败记录（draws.error）", "SELECT 1 FROM draws WHERE error IS NOT NULL LIMIT 1")
    op.drop_table("plan_frames")
    with op.batch_alter_table("results") as batch:
        batch.drop_index("ix_results_feed_at")
        batch.drop_column("feed_at")
    with op.batch_alter_table("draws") as batch:
        batch.drop_column("error")
    with op.batch_alter_table("plan_versions") as batch:
        batch.drop_column("frame_sha256")
        batch.drop_column("algorithm")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("secret_nonce")
