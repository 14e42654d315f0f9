"""results lifecycle

Revision ID: 6443c0e836e0
Revises: ff6c3f045974
Create Date: 2026-11-24 01:33:59.254882
"""
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import refuse_losing
from alembic.operations import BatchOperations

import app.models.base

revision: str = '6443c0e836e0'
down_revision: str | None = 'ff6c3f045974'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_tasks(alter: Callable[[BatchOperations], None]) -> None:
    """Alters `tasks`; SQLite rebuilds it (copy, drop, rename) around its task_members rows.

    SQLite's DROP TABLE deletes the rows first and the foreign key from task_members refuses
    that (deferring does not help: the rebuilt table never clears the violation count), so
    the member rows step aside into a temporary table while the table is rebuilt.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE _keep_task_members AS SELECT * FROM task_members")
        op.execute("DELETE FROM task_members")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        alter(batch_op)
    if sqlite:
        op.execute(
            "INSERT INTO task_members (task_id, badge, role)"
            " SELECT task_id, badge, role FROM _keep_task_members"
        )
        op.execute("DROP TABLE _keep_task_members")


def _follow_up_columns(batch_op: BatchOperations) -> None:
    batch_op.add_column(sa.Column("parent_task_id", sa.String(length=80), nullable=True))
    batch_op.alter_column("draw_id", existing_type=sa.VARCHAR(length=64), nullable=True)
    batch_op.create_index(batch_op.f("ix_tasks_parent_task_id"), ["parent_task_id"], unique=False)
    batch_op.create_foreign_key(
        batch_op.f("fk_tasks_parent_task_id_tasks"), "tasks", ["parent_task_id"], ["id"]
    )


def _drop_follow_up_columns(batch_op: BatchOperations) -> None:
    batch_op.drop_constraint(batch_op.f("fk_tasks_parent_task_id_tasks"), type_="foreignkey")
    batch_op.drop_index(batch_op.f("ix_tasks_parent_task_id"))
    batch_op.alter_column("draw_id", existing_type=sa.VARCHAR(length=64), nullable=False)
    batch_op.drop_column("parent_task_id")


def upgrade() -> None:
    op.create_table('evidence',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.String(length=80), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_evidence_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence')),
    sa.UniqueConstraint('task_id', 'sha256', name=op.f('uq_evidence_task_id'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_task_id'), ['task_id'], unique=False)

    op.create_table('result_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('recovered_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('fine_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('entered_by', sa.String(length=100), nullable=False),
    sa.Column('entered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('approved_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_result_versions_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_versions')),
    sa.UniqueConstraint('task_id', 'version', name=op.f('uq_result_versions_task_id'))
    )
    with op.batch_alter_table('result_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_versions_task_id'), ['task_id'], unique=False)

    op.create_table('results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('recovered_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('fine_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('entered_by', sa.String(length=100), nullable=False),
    sa.Column('entered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=False),
    sa.Column('approved_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_results_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results')),
    sa.UniqueConstraint('task_id', name=op.f('uq_results_task_id'))
    )
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_results_approved_at'), ['approved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_results_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_results_outcome'), ['outcome'], unique=False)

    op.create_table('task_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_events_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_events'))
    )
    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.create_index('ix_task_events_task_at', ['task_id', 'id'], unique=False)

    _rebuild_tasks(_follow_up_columns)


def downgrade() -> None:
    refuse_losing("检查结果（results）", "SELECT 1 FROM results LIMIT 1")
    refuse_losing("结果版本（result_versions）", "SELECT 1 FROM result_versions LIMIT 1")
    refuse_losing("证据材料（evidence）", "SELECT 1 FROM evidence LIMIT 1")
    refuse_losing("任务事件（task_events）", "SELECT 1 FROM task_events LIMIT 1")
    refuse_losing("后续处理任务（tasks.parent_task_id）", "SELECT 1 FROM tasks WHERE parent_task_id IS NOT NULL LIMIT 1")
    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.drop_index('ix_task_events_task_at')

    op.drop_table('task_events')
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_results_outcome'))
        batch_op.drop_index(batch_op.f('ix_results_decided_on'))
        batch_op.drop_index(batch_op.f('ix_results_approved_at'))

    op.drop_table('results')
    with op.batch_alter_table('result_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_versions_task_id'))

    op.drop_table('result_versions')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_task_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_sha256'))

    op.drop_table('evidence')
    # Follow-up tasks belong to no draw; the old schema cannot hold them.
    op.execute(
        "DELETE FROM task_members WHERE task_id IN"
        " (SELECT id FROM tasks WHERE parent_task_id IS NOT NULL)"
    )
    op.execute("DELETE FROM tasks WHERE parent_task_id IS NOT NULL")
    _rebuild_tasks(_drop_follow_up_columns)
