"""plan_team_frames, plan_versions.team_frame_sha256 and .frame_changes, draw_populations.team_frame_gz:
the frozen inspector frame of a spotcheck-draw/3 plan version (docs/draw-spec-teams.md §12) and
the listed changes a re-draw makes to the original frames

Revision ID: 3d9f5b2e7a41
Revises: 7c4e2a9b1f63
Create Date: 2026-12-12 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing
from app.models.base import UTCDateTime

revision: str = "3d9f5b2e7a41"
down_revision: str | None = "7c4e2a9b1f63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_team_frames",
        sa.Column("plan_code", sa.String(40), sa.ForeignKey("plans.code"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("lines_gz", sa.LargeBinary(), nullable=False),
        sa.Column("recusals", sa.JSON(), nullable=False),
        sa.Column("captured_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.add_column("plan_versions", sa.Column("team_frame_sha256", sa.String(64), nullable=True))
    op.add_column("plan_versions", sa.Column("frame_changes", sa.JSON(), nullable=True))
    op.add_column("draw_populations", sa.Column("team_frame_gz", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    refuse_losing(
        "冻结的执法人员名录（plan_team_frames）", "SELECT 1 FROM plan_team_frames LIMIT 1"
    )
    refuse_losing(
        "执法人员名录哈希（plan_versions.team_frame_sha256）",
        "SELECT 1 FROM plan_versions WHERE team_frame_sha256 IS NOT NULL LIMIT 1",
    )
    refuse_losing(
        "抽取的执法人员名录文件（draw_populations.team_frame_gz）",
        "SELECT 1 FROM draw_populations WHERE team_frame_gz IS NOT NULL LIMIT 1",
    )
    refuse_losing(
        "重新抽取对抽样框的调整（plan_versions.frame_changes）",
        "SELECT 1 FROM plan_versions WHERE frame_changes IS NOT NULL LIMIT 1",
    )
    for table, column in (
        ("draw_populations", "team_frame_gz"),
        ("plan_versions", "frame_changes"),
        ("plan_versions", "team_frame_sha256"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # SQLite ≥ 3.35
        else:
            op.drop_column(table, column)
    op.drop_table("plan_team_frames")
