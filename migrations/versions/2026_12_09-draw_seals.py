"""draw_seals: the timelock seal of a withheld draw — its record and population file encrypted
to the drand round due when its list must be public (docs/drand.md#timelock-encryption-tlock)

Revision ID: 8b4e2f6a1c93
Revises: 5e1a7c3b9d20
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing

revision: str = "8b4e2f6a1c93"
down_revision: str | None = "5e1a7c3b9d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draw_seals",
        sa.Column("draw_id", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("round", sa.BigInteger(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file", sa.LargeBinary(), nullable=False),
        sa.Column("population_file_sha256", sa.String(length=64), nullable=True),
        sa.Column("population_file", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_seals_draw_id_draws")
        ),
        sa.PrimaryKeyConstraint("draw_id", name=op.f("pk_draw_seals")),
    )


def downgrade() -> None:
    refuse_losing("抽取的时间锁密封（draw_seals）", "SELECT 1 FROM draw_seals LIMIT 1")
    op.drop_table("draw_seals")
