"""Sign-in security: per account-and-source throttle, the sign-in audit, TOTP seeds, demo
accounts, session stages

Revision ID: 5e1c0a7d2b96
Revises: 3f8d2c6a1e47
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing
from app.models.base import UTCDateTime

UTC = UTCDateTime(timezone=True)

revision: str = "5e1c0a7d2b96"
down_revision: str | None = "3f8d2c6a1e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("username", "source"),
    )
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sign_ins_at"), "sign_ins", ["at"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("demo", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(
            sa.Column("stage", sa.String(length=8), server_default="full", nullable=False)
        )
        batch.add_column(sa.Column("pending_totp", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("source", sa.String(length=64), server_default="", nullable=False)
        )


def downgrade() -> None:
    refuse_losing("登录审计记录（sign_ins）", "SELECT 1 FROM sign_ins LIMIT 1")
    refuse_losing("第二因素（users.totp_secret）", "SELECT 1 FROM users WHERE totp_secret IS NOT NULL LIMIT 1")
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("source")
        batch.drop_column("pending_totp")
        batch.drop_column("stage")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("demo")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
    op.drop_index(op.f("ix_sign_ins_at"), table_name="sign_ins")
    op.drop_table("sign_ins")
    op.drop_table("sign_in_throttle")
