"""visits, visit_members: the one record of each visit (一次检查), built for every existing
draw and 回头看 by the rule of app/visits/rule.py; results.inspected_on, result_versions.inspected_on;
plan_frames.out_gz (why each unit has π = 0)

Revision ID: 8a4c1e7f2b39
Revises: 8b4e2f6a1c93
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from app.migrate import refuse_losing
from app.models.base import UTCDateTime

revision: str = "8a4c1e7f2b39"
down_revision: str | None = "8b4e2f6a1c93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=True),
        sa.Column("counted_year", sa.Integer(), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("busy", sa.Boolean(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("public_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index(op.f("ix_visits_uscc"), "visits", ["uscc"], unique=False)
    op.create_index(op.f("ix_visits_counted_year"), "visits", ["counted_year"], unique=False)
    op.create_index("ix_visits_state_uscc", "visits", ["state", "uscc"], unique=False)
    op.create_table(
        "visit_members",
        sa.Column("visit_id", sa.String(length=80), nullable=False),
        sa.Column("badge", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_members_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("visit_id", "badge", name=op.f("pk_visit_members")),
    )
    op.create_index(op.f("ix_visit_members_badge"), "visit_members", ["badge"], unique=False)
    # plain nullable ADD COLUMNs: existing results were carried out on their decision day
    op.add_column("results", sa.Column("inspected_on", sa.Date(), nullable=True))
    op.add_column("result_versions", sa.Column("inspected_on", sa.Date(), nullable=True))
    op.add_column("plan_frames", sa.Column("out_gz", sa.LargeBinary(), nullable=True))
    from app.visits.service import build_all

    build_all(Session(bind=op.get_bind()))


def downgrade() -> None:
    refuse_losing(
        "检查实施日期（results.inspected_on）",
        "SELECT 1 FROM result_versions WHERE inspected_on IS NOT NULL"
        " AND inspected_on <> decided_on LIMIT 1",
    )
    refuse_losing(
        "入样概率为 0 的原因（plan_frames.out_gz）",
        "SELECT 1 FROM plan_frames WHERE out_gz IS NOT NULL LIMIT 1",
    )
    # the visits themselves are derived from the tasks and results: rebuilt by the upgrade
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE plan_frames DROP COLUMN out_gz")  # SQLite ≥ 3.35
    else:
        op.drop_column("plan_frames", "out_gz")
    for table in ("results", "result_versions"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN inspected_on")  # SQLite ≥ 3.35
        else:
            op.drop_column(table, "inspected_on")
    op.drop_index(op.f("ix_visit_members_badge"), table_name="visit_members")
    op.drop_table("visit_members")
    op.drop_index("ix_visits_state_uscc", table_name="visits")
    op.drop_index(op.f("ix_visits_counted_year"), table_name="visits")
    op.drop_index(op.f("ix_visits_uscc"), table_name="visits")
    op.drop_table("visits")
