"""publication due (publish_requests), builds (publish_builds), periodic job claims (job_runs)

Revision ID: 9c4e2a7b5d13
Revises: 7c2e5a91d0b4
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing

from app.models.base import UTCDateTime

revision: str = "9c4e2a7b5d13"
down_revision: str | None = "7c2e5a91d0b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "publish_requests",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_requests")),
    )
    op.create_table(
        "publish_builds",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("built_for", UTCDateTime(), nullable=False),
        sa.Column("generation", sa.String(length=200), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("files_written", sa.Integer(), nullable=False),
        sa.Column("files_linked", sa.Integer(), nullable=False),
        sa.Column("bytes_written", sa.BigInteger(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_builds")),
    )
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    refuse_losing("待发布请求（publish_requests）", "SELECT 1 FROM publish_requests LIMIT 1")
    op.drop_table("job_runs")
    op.drop_table("publish_builds")
    op.drop_table("publish_requests")
