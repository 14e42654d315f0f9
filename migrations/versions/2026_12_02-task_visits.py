"""tasks.visit: the visit (一次检查) a task belongs to; existing tasks each start their own

Revision ID: 3f8d2c6a1e47
Revises: 3b7d1f2e8a64
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing

revision: str = "3f8d2c6a1e47"
down_revision: str | None = "3b7d1f2e8a64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN in place (no batch copy of tasks: task_members and results refer to it).
    op.add_column("tasks", sa.Column("visit", sa.String(length=80), nullable=True))
    op.create_index(op.f("ix_tasks_visit"), "tasks", ["visit"], unique=False)
    op.execute("UPDATE tasks SET visit = id")


def downgrade() -> None:
    refuse_losing("联合检查记录（加入其他计划检查的任务，tasks.visit）", "SELECT 1 FROM tasks WHERE visit IS NOT NULL AND visit <> id LIMIT 1")
    op.drop_index(op.f("ix_tasks_visit"), table_name="tasks")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tasks DROP COLUMN visit")  # SQLite ≥ 3.35, no rebuild
    else:
        op.drop_column("tasks", "visit")
