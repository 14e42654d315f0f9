"""task states in English; team membership stored once (task_members.position, no tasks.team)

Revision ID: 3b1f0c2d9a41
Revises: 6443c0e836e0
Create Date: 2026-12-01 22:30:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b1f0c2d9a41"
down_revision: str | None = "6443c0e836e0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored task states were the Chinese labels; they are English identifiers now (app/states.py).
STATES = {
    "待检查": "to_inspect",
    "已检查": "inspected",
    "待后续处理": "pending_measures",
    "已办结": "closed",
}
BATCH = 5000


def _rename_states(mapping: dict[str, str]) -> None:
    for old, new in mapping.items():
        params = {"old": old, "new": new}
        op.execute(sa.text("UPDATE tasks SET status = :new WHERE status = :old").bindparams(**params))
        for col in ("from_status", "to_status"):
            op.execute(
                sa.text(f"UPDATE task_events SET {col} = :new WHERE {col} = :old").bindparams(
                    **params
                )
            )


def upgrade() -> None:
    _rename_states(STATES)
    with op.batch_alter_table("task_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("position", sa.Integer(), nullable=False, server_default="0")
        )
    conn = op.get_bind()
    # The order of a team (组长 first) was kept only in tasks.team: carry it over.
    last = ""
    while True:
        rows = conn.execute(
            sa.text("SELECT id, team FROM tasks WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        updates = []
        for task_id, team in rows:
            members = json.loads(team) if isinstance(team, str) else (team or [])
            updates += [
                {"task_id": task_id, "badge": m["badge"], "position": n}
                for n, m in enumerate(members)
            ]
        if updates:
            conn.execute(
                sa.text(
                    "UPDATE task_members SET position = :position"
                    " WHERE task_id = :task_id AND badge = :badge"
                ),
                updates,
            )
        last = rows[-1][0]
    if conn.dialect.name == "sqlite":
        op.execute("ALTER TABLE tasks DROP COLUMN team")  # SQLite ≥ 3.35, no rebuild
    else:
        op.drop_column("tasks", "team")


def downgrade() -> None:
    conn = op.get_bind()
    op.add_column("tasks", sa.Column("team", sa.JSON(), nullable=True))
    teams: dict[str, list[dict[str, str]]] = {}
    for task_id, badge, role in conn.execute(
        sa.text("SELECT task_id, badge, role FROM task_members ORDER BY task_id, position")
    ):
        teams.setdefault(task_id, []).append({"badge": badge, "role": role})
    if teams:
        conn.execute(
            sa.text("UPDATE tasks SET team = :team WHERE id = :id").bindparams(
                sa.bindparam("team", type_=sa.JSON())
            ),
            [{"id": k, "team": v} for k, v in teams.items()],
        )
    conn.execute(sa.text("UPDATE tasks SET team = :e WHERE team IS NULL").bindparams(
        sa.bindparam("e", type_=sa.JSON())), {"e": []})
    with op.batch_alter_table("task_members", schema=None) as batch_op:
        batch_op.drop_column("position")
    _rename_states({new: old for old, new in STATES.items()})
