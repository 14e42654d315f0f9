"""targets.fixmedins_code: 定点医药机构编码 beside the USCC

Revision ID: 6f2d8b3c1a57
Revises: 5e1c0a7d2b96
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing

revision: str = "6f2d8b3c1a57"
down_revision: str | None = "5e1c0a7d2b96"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN in place (no batch copy of targets: tasks and history refer to it).
    op.add_column("targets", sa.Column("fixmedins_code", sa.String(length=12), nullable=True))
    op.create_index(op.f("ix_targets_fixmedins_code"), "targets", ["fixmedins_code"], unique=False)


def downgrade() -> None:
    refuse_losing(
        "定点医药机构编码（targets.fixmedins_code）",
        "SELECT 1 FROM targets WHERE fixmedins_code IS NOT NULL LIMIT 1",
    )
    op.drop_index(op.f("ix_targets_fixmedins_code"), table_name="targets")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE targets DROP COLUMN fixmedins_code")
    else:
        op.drop_column("targets", "fixmedins_code")
