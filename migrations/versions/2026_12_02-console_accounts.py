"""staff console: users, console sessions, token jurisdiction, results sent back

Revision ID: c0n5013a0001
Revises: 3b1f0c2d9a41
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing

import app.models.base

revision: str = "c0n5013a0001"
down_revision: str | None = "3b1f0c2d9a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = app.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("inspector_badge", sa.String(length=32), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("region_prefix", sa.String(length=6), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("disabled_at", UTC, nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("last_login_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_console_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_console_sessions")),
    )
    op.create_index(
        op.f("ix_console_sessions_user_id"), "console_sessions", ["user_id"], unique=False
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("region_prefix", sa.String(length=6), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("department", sa.String(length=100), server_default="", nullable=False)
        )
    with op.batch_alter_table("result_versions") as batch:
        batch.add_column(sa.Column("returned_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("returned_at", UTC, nullable=True))
        batch.add_column(sa.Column("return_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    refuse_losing("控制台账号（users）", "SELECT 1 FROM users LIMIT 1")
    refuse_losing("令牌的辖区（api_tokens.region_prefix/department；删除后令牌将覆盖所有区划）", "SELECT 1 FROM api_tokens WHERE region_prefix <> '' OR department <> '' LIMIT 1")
    refuse_losing("结果退回记录（result_versions.returned_at）", "SELECT 1 FROM result_versions WHERE returned_at IS NOT NULL LIMIT 1")
    with op.batch_alter_table("result_versions") as batch:
        batch.drop_column("return_reason")
        batch.drop_column("returned_at")
        batch.drop_column("returned_by")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("department")
        batch.drop_column("region_prefix")
    op.drop_index(op.f("ix_console_sessions_user_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("users")
