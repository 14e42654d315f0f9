"""draw_replacements: the published, deterministic replacement steps of drawn teams
(docs/draw-spec-teams.md §14), append-only; plan_versions.frozen_items: the plan's items as the
registry read them at the publication (§12.10); draw_seals.team_frame_file(_sha256): a withheld
/3 draw's inspector frame sealed with its record

Revision ID: 5e8a1c3f9b27
Revises: 8b1c6d2f4e90
Create Date: 2026-12-13 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing
from app.models.base import UTCDateTime

revision: str = "5e8a1c3f9b27"
down_revision: str | None = "8b1c6d2f4e90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draw_replacements",
        sa.Column("draw_id", sa.String(64), sa.ForeignKey("draws.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.String(80), sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("badge", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("replacement", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recused", sa.JSON(), nullable=False),
        sa.Column("openings", sa.JSON(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
    )
    op.create_index("ix_draw_replacements_task_id", "draw_replacements", ["task_id"])
    op.add_column("plan_versions", sa.Column("frozen_items", sa.JSON(), nullable=True))
    op.add_column("draw_seals", sa.Column("team_frame_file_sha256", sa.String(64), nullable=True))
    op.add_column("draw_seals", sa.Column("team_frame_file", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    refuse_losing("检查组替换记录（draw_replacements）", "SELECT 1 FROM draw_replacements LIMIT 1")
    refuse_losing(
        "冻结的检查事项（plan_versions.frozen_items）",
        "SELECT 1 FROM plan_versions WHERE frozen_items IS NOT NULL LIMIT 1",
    )
    refuse_losing(
        "封存的执法人员名录（draw_seals.team_frame_file）",
        "SELECT 1 FROM draw_seals WHERE team_frame_file IS NOT NULL LIMIT 1",
    )
    for table, column in (
        ("plan_versions", "frozen_items"),
        ("draw_seals", "team_frame_file_sha256"),
        ("draw_seals", "team_frame_file"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # SQLite ≥ 3.35
        else:
            op.drop_column(table, column)
    op.drop_index("ix_draw_replacements_task_id", table_name="draw_replacements")
    op.drop_table("draw_replacements")
