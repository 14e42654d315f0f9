"""tasks.despite_cap: a task drawn although its target reached its yearly cap (docs/rules.md#r4-5)

Revision ID: 3b7d1f2e8a64
Revises: 9c4e2a7b5d13
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing

revision: str = "3b7d1f2e8a64"
down_revision: str | None = "9c4e2a7b5d13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild: task_members and results refer to tasks).
    op.add_column(
        "tasks", sa.Column("despite_cap", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    refuse_losing("超出年度上限仍抽中的标记（tasks.despite_cap）", "SELECT 1 FROM tasks WHERE despite_cap = true LIMIT 1")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tasks DROP COLUMN despite_cap")  # SQLite ≥ 3.35, no rebuild
    else:
        op.drop_column("tasks", "despite_cap")
